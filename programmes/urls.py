"""Routes of the programmes app: `api_urlpatterns` under /api/v1/, `page_urlpatterns` at
the site root (desapresisi/urls.py)."""

from django.urls import path

from . import api, views

api_urlpatterns = [
    path("skpd/", api.SkpdList.as_view(), name="skpd-list"),
    path("programmes/", api.ProgrammeList.as_view(), name="programme-list"),
    path("programmes/coverage/", api.Coverage.as_view(), name="programme-coverage"),
    path("programmes/overlaps/", api.DoubleAidReport.as_view(), name="programme-overlaps"),
    path("programmes/<int:pk>/", api.ProgrammeDetail.as_view(), name="programme-detail"),
    path(
        "programmes/<int:pk>/outcomes/",
        api.ProgrammeOutcomes.as_view(),
        name="programme-outcomes",
    ),
    path(
        "programmes/<int:pk>/target-lists/",
        api.ProgrammeTargetLists.as_view(),
        name="programme-target-lists",
    ),
    path("programmes/photos/<int:pk>.jpg", api.PhotoFile.as_view(), name="programme-photo-file"),
    path("interventions/", api.InterventionList.as_view(), name="intervention-list"),
    path(
        "interventions/bulk-transition/",
        api.InterventionBulkTransition.as_view(),
        name="intervention-bulk-transition",
    ),
    path(
        "interventions/import/",
        api.InterventionStatusImport.as_view(),
        name="intervention-import",
    ),
    path("interventions/<int:pk>/", api.InterventionDetail.as_view(), name="intervention-detail"),
    path(
        "interventions/<int:pk>/transition/",
        api.InterventionTransition.as_view(),
        name="intervention-transition",
    ),
    path(
        "interventions/<int:pk>/photos/",
        api.InterventionPhotos.as_view(),
        name="intervention-photos",
    ),
]
page_urlpatterns = [
    path("program/", views.programme_index, name="programme-index"),
    path("program/baru/", views.programme_new, name="programme-new"),
    path("program/<int:pk>/", views.programme_page, name="programme-page"),
    path("program/<int:pk>/sasaran/", views.programme_freeze, name="programme-freeze"),
    path("program/<int:pk>/ubah-status/", views.programme_bulk, name="programme-bulk"),
    path("program/<int:pk>/daftar.<str:fmt>", views.programme_report, name="programme-report"),
    path("intervensi/<int:pk>/", views.intervention_page, name="intervention-page"),
]
