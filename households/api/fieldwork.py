"""Field collection over the API: the XLSForms, the entity list, uploads of ODK Central
and KoboToolbox exports (import jobs like a census file) and the pull from ODK Central."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse
from django.utils.translation import get_language, gettext, gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response

from desapresisi.access import can_use_imports
from desapresisi.api import HasPortalRole
from desapresisi.errors import NotReady

from ..census_import.jobs import import_job_start
from ..fieldwork import jobs as fieldwork_jobs
from ..fieldwork.entities import entity_list_csv
from ..fieldwork.xlsform import CENSUS_FORM_ID, VISIT_FORM_ID, census_xlsform, visit_xlsform
from ..models import ImportJob
from .exports import XLSX, PayloadTooLarge
from .imports import ImportJobDoc, _check_size, _job_row, _too_large


class CanCollect(BasePermission):
    """The field forms name the caller's villages and the entity list their households:
    for those who may import (administrators, village operators), reads included."""

    message = gettext_lazy("Impor hanya untuk administrator dan operator desa.")

    def has_permission(self, request, view) -> bool:
        return can_use_imports(request.user)


def _attachment(content: bytes, content_type: str, name: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "private, no-store"
    return response


class CensusForm(GenericAPIView):
    """The census as an XLSForm (household group, repeat of members, the caller's
    villages), for ODK Central, KoboToolbox or ODK Collect."""

    permission_classes = [IsAuthenticated, HasPortalRole, CanCollect]
    queryset = ImportJob.objects.none()

    @extend_schema(
        summary="Formulir sensus XLSForm (ODK/Kobo)",
        operation_id="fieldwork_census_form",
        responses={(200, XLSX): OpenApiTypes.BINARY},
    )
    def get(self, request, *args, **kwargs):
        return _attachment(census_xlsform(request.user), XLSX, f"{CENSUS_FORM_ID}.xlsx")


class VisitForm(GenericAPIView):
    """The follow-up visit as an XLSForm: chooses a household of the entity list
    `rumah_tangga`, pre-fills its answers, updates it."""

    permission_classes = [IsAuthenticated, HasPortalRole, CanCollect]
    queryset = ImportJob.objects.none()

    @extend_schema(
        summary="Formulir kunjungan ulang XLSForm (ODK Entities)",
        operation_id="fieldwork_visit_form",
        parameters=[
            OpenApiParameter(
                "tool",
                str,
                enum=["odk", "kobo"],
                description="kobo: tanpa lembar entities (daftar sebagai media rumah_tangga.csv)",
            )
        ],
        responses={(200, XLSX): OpenApiTypes.BINARY},
    )
    def get(self, request, *args, **kwargs):
        kobo = request.query_params.get("tool") == "kobo"
        content = visit_xlsform(request.user, entities=not kobo)
        suffix = "-kobo" if kobo else ""
        return _attachment(content, XLSX, f"{VISIT_FORM_ID}{suffix}.xlsx")


class EntityList(GenericAPIView):
    """The caller's households as an ODK Entity list (CSV: name, label, properties with
    `versi`), to upload to ODK Central as the list `rumah_tangga` or attach to the visit
    form as `rumah_tangga.csv`. A named-record export: audited."""

    permission_classes = [IsAuthenticated, HasPortalRole, CanCollect]
    queryset = ImportJob.objects.none()

    @extend_schema(
        summary="Daftar entitas rumah tangga (CSV ODK Entities)",
        operation_id="fieldwork_entities",
        responses={(200, "text/csv"): OpenApiTypes.BINARY},
    )
    def get(self, request, *args, **kwargs):
        content = entity_list_csv(user=request.user, request=request)
        return _attachment(content, "text/csv; charset=utf-8", "rumah_tangga.csv")


class SubmissionsUpload(serializers.Serializer):
    file = serializers.FileField(
        help_text="ZIP ekspor ODK Central (CSV), atau XLSX/CSV ekspor KoboToolbox"
    )
    members_file = serializers.FileField(
        required=False, help_text="CSV anggota (repeat) ekspor CSV KoboToolbox"
    )
    dry_run = serializers.BooleanField(default=True)
    include_unreviewed = serializers.BooleanField(
        default=False,
        help_text="Impor juga kiriman yang belum ditinjau atau ada masalah (yang ditolak tidak "
        "pernah)",
    )


class SubmissionsList(GenericAPIView):
    """POST: upload an export of ODK Central or KoboToolbox; it becomes an import job (a
    dry run by default), committed, polled and retried as a census import is, at
    /api/v1/imports/{id}/."""

    permission_classes = [IsAuthenticated, HasPortalRole, CanCollect]
    throttle_scopes = {"POST": "imports"}
    parser_classes = [MultiPartParser, FormParser]
    queryset = ImportJob.objects.none()
    serializer_class = SubmissionsUpload

    @extend_schema(
        summary="Unggah kiriman ODK Central / KoboToolbox (uji coba atau simpan)",
        operation_id="fieldwork_submissions_upload",
        request={"multipart/form-data": SubmissionsUpload},
        responses={201: ImportJobDoc, 202: ImportJobDoc, 413: OpenApiResponse()},
    )
    def post(self, request, *args, **kwargs):
        _check_size(request)
        upload = SubmissionsUpload(data=request.data)
        upload.is_valid(raise_exception=True)
        data = upload.validated_data
        members = data.get("members_file")
        if data["file"].size + (members.size if members else 0) > settings.IMPORT_MAX_BYTES:
            raise PayloadTooLarge(_too_large(settings.IMPORT_MAX_BYTES))
        job = fieldwork_jobs.submissions_job_create(
            user=request.user,
            file_name=data["file"].name,
            data=data["file"],
            members_data=members,
            members_name=members.name if members else "",
            dry_run=data["dry_run"],
            include_unreviewed=data["include_unreviewed"],
            language=get_language() or settings.LANGUAGE_CODE,
        )
        queued = import_job_start(job=job)
        job.refresh_from_db()
        return Response(_job_row(request, job), status=202 if queued else 201)


class CentralPull(serializers.Serializer):
    commit = serializers.BooleanField(
        default=True, help_text="Simpan langsung (bawaan) atau hanya uji coba"
    )


class CentralPullStart(GenericAPIView):
    """Queue a pull of the configured forms' submissions from ODK Central (pyodk), run by
    the background worker with the caller's rights. 409 when no server is configured."""

    permission_classes = [IsAuthenticated, HasPortalRole, CanCollect]
    throttle_scopes = {"POST": "imports"}
    parser_classes = [JSONParser, FormParser]
    queryset = ImportJob.objects.none()
    serializer_class = CentralPull

    @extend_schema(
        summary="Tarik kiriman baru dari ODK Central (pekerjaan latar)",
        operation_id="fieldwork_central_pull",
        request=CentralPull,
        responses={202: OpenApiResponse(description="Queued"), 409: OpenApiResponse()},
    )
    def post(self, request, *args, **kwargs):
        body = CentralPull(data=request.data)
        body.is_valid(raise_exception=True)
        if not fieldwork_jobs.central_configured():
            raise NotReady(gettext(fieldwork_jobs.NOT_CONFIGURED))
        fieldwork_jobs.central_pull_task.enqueue(
            user_id=request.user.pk, commit=body.validated_data["commit"]
        )
        return Response({"queued": True, "forms": settings.ODK_CENTRAL_FORMS}, status=202)
