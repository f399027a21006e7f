"""Routes of the quality app: `api_urlpatterns` under /api/v1/, `page_urlpatterns` at the
site root (desapresisi/urls.py)."""

from django.urls import path

from . import api, views

api_urlpatterns = [
    path("quality/rules/", api.RuleList.as_view(), name="quality-rules"),
    path("quality/flags/", api.FlagList.as_view(), name="quality-flags"),
    path("quality/flags/<int:pk>/accept/", api.FlagAccept.as_view(), name="quality-flag-accept"),
    path("quality/villages/", api.VillageShares.as_view(), name="quality-villages"),
    path("quality/villages/<str:code>/", api.VillageQuality.as_view(), name="quality-village"),
    path(
        "quality/villages/<str:code>/signoff/",
        api.VillageSignOff.as_view(),
        name="quality-signoff",
    ),
]
page_urlpatterns = [
    path("kualitas/", views.quality_overview, name="quality-overview"),
    path("kualitas/desa/<str:code>/", views.quality_village, name="quality-village-page"),
    path(
        "kualitas/desa/<str:code>/verifikasi/",
        views.quality_signoff,
        name="quality-signoff-page",
    ),
    path("kualitas/temuan/<int:pk>/terima/", views.quality_accept, name="quality-accept-page"),
]
