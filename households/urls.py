"""API routes of households, members, indicators and tiles, mounted under /api/v1/."""

from django.urls import path

from . import api, io_urls

api_urlpatterns = [
    path("households/", api.HouseholdList.as_view(), name="household-list"),
    path("households/<int:pk>/", api.HouseholdDetail.as_view(), name="household-detail"),
    path("members/", api.MemberList.as_view(), name="member-list"),
    path("members/<int:pk>/", api.MemberDetail.as_view(), name="member-detail"),
    path("indicators/", api.IndicatorList.as_view(), name="indicator-list"),
    path("indicators/values/", api.IndicatorValues.as_view(), name="indicator-values"),
    path("indicators/<slug:code>/", api.IndicatorDetail.as_view(), name="indicator-detail"),
    path("codebook/", api.Codebook.as_view(), name="codebook"),
    path(
        "tiles/households/<int:z>/<int:x>/<int:y>.pbf",
        api.HouseholdTile.as_view(),
        name="household-tiles",
    ),
]
api_urlpatterns += io_urls.api_urlpatterns
