from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from leaflet.admin import LeafletGeoAdmin

from .models import Region


@admin.register(Region)
class RegionAdmin(LeafletGeoAdmin):
    list_display = ["code", "name", "level", "kind", "parent", "area_km2", "has_boundary"]
    list_filter = ["level", "kind"]
    search_fields = ["code", "name"]
    ordering = ["code"]
    list_select_related = ["parent"]
    raw_id_fields = ["parent"]
    readonly_fields = ["area_km2", "boundary_source"]
    show_full_result_count = False

    @admin.display(boolean=True, description=_("ada batas"))
    def has_boundary(self, region: Region) -> bool:
        return region.boundary is not None

    def get_queryset(self, request):
        # Listing 83,762 villages must not drag their polygons along.
        queryset = super().get_queryset(request)
        if request.resolver_match and request.resolver_match.url_name.endswith("changelist"):
            return queryset.defer("boundary")
        return queryset
