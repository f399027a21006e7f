from django.conf import settings


def portal(request) -> dict:
    """Template context every page needs: the CSP nonce (django-leaflet's map tags read
    `csp_nonce`) and the basemap settings, which are optional on an intranet."""
    return {
        "csp_nonce": getattr(request, "csp_nonce", ""),
        "BASEMAP_URL": settings.BASEMAP_URL,
        "BASEMAP_ATTRIBUTION": settings.BASEMAP_ATTRIBUTION,
    }
