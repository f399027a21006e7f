"""Routes of the households app: `api_urlpatterns` are mounted under /api/v1/ and
`page_urlpatterns` at the site root (desapresisi/urls.py)."""

from django.urls import path

from . import views
from .api import exports, fieldwork, households, imports, indicators, rounds, tiles

api_urlpatterns = [
    # The map's and the dashboard's requests first: Django tries the patterns in order, and
    # these come by the dozen per view (about 0.1 ms each saved; docs/benchmark.md).
    path(
        "tiles/households/<int:z>/<int:x>/<int:y>.pbf",
        tiles.household_tile_view,
        name="household-tiles",
    ),
    path("indicators/values/", indicators.IndicatorValues.as_view(), name="indicator-values"),
    path("households/", households.HouseholdList.as_view(), name="household-list"),
    path("households/<int:pk>/", households.HouseholdDetail.as_view(), name="household-detail"),
    path(
        "households/<int:pk>/events/",
        households.HouseholdEvent.as_view(),
        name="household-event",
    ),
    path("members/", households.MemberList.as_view(), name="member-list"),
    path("members/<int:pk>/", households.MemberDetail.as_view(), name="member-detail"),
    path("members/<int:pk>/events/", households.MemberEvent.as_view(), name="member-event"),
    path("events/", households.EventList.as_view(), name="event-list"),
    path("households/changes/", rounds.HouseholdChanges.as_view(), name="household-changes"),
    path("rounds/", rounds.RoundList.as_view(), name="round-list"),
    path("indicators/trend/", rounds.IndicatorTrend.as_view(), name="indicator-trend"),
    path("indicators/changes/", rounds.IndicatorChanges.as_view(), name="indicator-changes"),
    path("indicators/", indicators.IndicatorList.as_view(), name="indicator-list"),
    path(
        "indicators/unit-values/<str:code>/",
        indicators.UnitValues.as_view(),
        name="indicator-unit-values",
    ),
    path("indicators/<slug:code>/", indicators.IndicatorDetail.as_view(), name="indicator-detail"),
    path("codebook/", indicators.Codebook.as_view(), name="codebook"),
    path(
        "exports/households.<str:fmt>",
        exports.ExportHouseholds.as_view(),
        name="export-households",
    ),
    path("exports/members.<str:fmt>", exports.ExportMembers.as_view(), name="export-members"),
    path(
        "exports/indicators.<str:fmt>",
        exports.ExportIndicators.as_view(),
        name="export-indicators",
    ),
    path(
        "exports/village-profile/<str:code>.pdf",
        exports.VillageProfile.as_view(),
        name="export-village-profile",
    ),
    path("exports/jobs/", exports.ExportJobList.as_view(), name="export-job-list"),
    path("exports/jobs/<int:pk>/", exports.ExportJobDetail.as_view(), name="export-job-detail"),
    path(
        "exports/jobs/<int:pk>/download/",
        exports.ExportJobDownload.as_view(),
        name="export-job-download",
    ),
    path("exports/jobs/<int:pk>/retry/", exports.ExportJobRetry.as_view(), name="export-job-retry"),
    path("imports/template.xlsx", imports.ImportTemplate.as_view(), name="import-template"),
    path("imports/", imports.ImportList.as_view(), name="import-list"),
    path("imports/<int:pk>/", imports.ImportDetail.as_view(), name="import-detail"),
    path("imports/<int:pk>/retry/", imports.ImportRetry.as_view(), name="import-retry"),
    path(
        "fieldwork/census-form.xlsx", fieldwork.CensusForm.as_view(), name="fieldwork-census-form"
    ),
    path("fieldwork/visit-form.xlsx", fieldwork.VisitForm.as_view(), name="fieldwork-visit-form"),
    path("fieldwork/entities.csv", fieldwork.EntityList.as_view(), name="fieldwork-entities"),
    path(
        "fieldwork/submissions/",
        fieldwork.SubmissionsList.as_view(),
        name="fieldwork-submissions",
    ),
    path(
        "fieldwork/central-pull/",
        fieldwork.CentralPullStart.as_view(),
        name="fieldwork-central-pull",
    ),
]

page_urlpatterns = [
    path("", views.home, name="home"),
    path("desa/<str:code>/", views.village, name="village"),
    path(
        "desa/<str:code>/laporan-penduduk/",
        views.population_report_page,
        name="population-report",
    ),
    path(
        "desa/<str:code>/laporan-penduduk.<str:fmt>",
        views.population_report_page,
        name="population-report-file",
    ),
    path("desa/<str:code>/wilayah/", views.village_units, name="village-units"),
    path("desa/<str:code>/perubahan/", views.village_changes, name="village-changes"),
    path("tren/", views.trend_page, name="trend-page"),
    path("desa/<str:code>/wilayah/<int:pk>/", views.village_unit_edit, name="village-unit-edit"),
    path(
        "desa/<str:code>/wilayah/<int:pk>/hapus/",
        views.village_unit_delete,
        name="village-unit-delete",
    ),
    path("rumah-tangga/<int:pk>/", views.household_page, name="household-page"),
    path("rumah-tangga/<int:pk>/ubah/", views.household_edit, name="household-edit"),
    path("desa/<str:code>/rumah-tangga/baru/", views.household_new, name="household-new"),
    path("rumah-tangga/<int:pk>/anggota/baru/", views.member_new, name="household-member-new"),
    path(
        "rumah-tangga/<int:pk>/anggota/<int:mid>/ubah/",
        views.member_edit,
        name="household-member-edit",
    ),
    path(
        "rumah-tangga/<int:pk>/anggota/<int:mid>/hapus/",
        views.member_delete,
        name="household-member-remove",
    ),
    # Life events, one form per kind (issue 13).
    path("rumah-tangga/<int:pk>/lahir/", views.birth_new, name="household-birth"),
    path("rumah-tangga/<int:pk>/pindah-masuk/", views.move_in_new, name="household-move-in"),
    path("rumah-tangga/<int:pk>/pecah-kk/", views.split_new, name="household-split"),
    path(
        "rumah-tangga/<int:pk>/ganti-kepala/", views.head_change_new, name="household-head-change"
    ),
    path(
        "rumah-tangga/<int:pk>/anggota/<int:mid>/meninggal/",
        views.death_new,
        name="household-member-death",
    ),
    path(
        "rumah-tangga/<int:pk>/anggota/<int:mid>/pindah-keluar/",
        views.move_out_new,
        name="household-member-move-out",
    ),
    path(
        "rumah-tangga/<int:pk>/anggota/<int:mid>/pindahkan/",
        views.transfer_new,
        name="household-member-transfer",
    ),
    path("impor/", views.import_page, name="import-page"),
    path("ekspor/", views.export_page, name="export-page"),
]
