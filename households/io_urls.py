"""Routes of census imports and report exports: `api_urlpatterns` are mounted under
/api/v1/ (households/urls.py), `page_urlpatterns` at the site root (desapresisi/urls.py)."""

from django.urls import path

from . import io_api

api_urlpatterns: list = [
    path(
        "exports/households.<str:fmt>",
        io_api.ExportHouseholds.as_view(),
        name="export-households",
    ),
    path("exports/members.<str:fmt>", io_api.ExportMembers.as_view(), name="export-members"),
    path(
        "exports/indicators.<str:fmt>",
        io_api.ExportIndicators.as_view(),
        name="export-indicators",
    ),
    path(
        "exports/village-profile/<str:code>.pdf",
        io_api.VillageProfile.as_view(),
        name="export-village-profile",
    ),
    path("exports/jobs/", io_api.ExportJobList.as_view(), name="export-job-list"),
    path("exports/jobs/<int:pk>/", io_api.ExportJobDetail.as_view(), name="export-job-detail"),
    path(
        "exports/jobs/<int:pk>/download/",
        io_api.ExportJobDownload.as_view(),
        name="export-job-download",
    ),
    path("exports/jobs/<int:pk>/retry/", io_api.ExportJobRetry.as_view(), name="export-job-retry"),
    path("imports/template.xlsx", io_api.ImportTemplate.as_view(), name="import-template"),
    path("imports/", io_api.ImportList.as_view(), name="import-list"),
    path("imports/<int:pk>/", io_api.ImportDetail.as_view(), name="import-detail"),
    path("imports/<int:pk>/retry/", io_api.ImportRetry.as_view(), name="import-retry"),
]
page_urlpatterns: list = [
    path("impor/", io_api.import_page, name="import-page"),
    path("ekspor/", io_api.export_page, name="export-page"),
]
