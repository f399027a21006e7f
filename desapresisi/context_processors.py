from django.conf import settings

from .access import can_export_named, can_use_imports


def portal(request) -> dict:
    """Template context every page needs: the CSP nonce (django-leaflet's map tags read
    `csp_nonce`), the basemap settings, which are optional on an intranet, and which menu
    entries the user can use (a menu entry nobody may follow only confuses)."""
    user = getattr(request, "user", None)
    return {
        "menu_imports": can_use_imports(user),
        "menu_exports": can_export_named(user),
        "csp_nonce": getattr(request, "csp_nonce", ""),
        "BASEMAP_URL": settings.BASEMAP_URL,
        "BASEMAP_ATTRIBUTION": settings.BASEMAP_ATTRIBUTION,
    }
