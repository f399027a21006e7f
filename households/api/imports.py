"""Census imports over the API: the template, uploads, dry runs, commits and retries."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response

from desapresisi.access import role_of
from desapresisi.api import HasPortalRole
from desapresisi.errors import NotReady
from desapresisi.i18n import shown
from desapresisi.models import Role

from ..census_import.columns import KEEP, REMOVE, shown_dict
from ..census_import.jobs import import_job_create, import_job_start
from ..exports.service import template_workbook
from ..jobs import UPLOAD_EXPIRED, import_job_check
from ..models import ImportJob, ImportStatus, Indicator
from .exports import XLSX, CanImport, PayloadTooLarge


class ImportTemplate(GenericAPIView):
    """The XLSX import template: both sheets, instructions and the codebook."""

    permission_classes = [AllowAny]
    queryset = Indicator.objects.none()

    @extend_schema(
        summary="Templat impor sensus (XLSX)",
        operation_id="imports_template",
        responses={(200, XLSX): OpenApiTypes.BINARY},
    )
    def get(self, request, *args, **kwargs):
        response = HttpResponse(template_workbook(), content_type=XLSX)
        response["Content-Disposition"] = 'attachment; filename="templat-impor-sensus.xlsx"'
        return response


JOB_FIELDS = [
    "id", "status", "dry_run", "options", "file_name", "created", "updated", "progress_rows",
    "progress_total", "progress_percent", "progress_phase", "counts", "errors", "error_count",
    "warnings", "warning_count", "missing_members", "message",
]  # fmt: skip


class ImportJobDoc(serializers.ModelSerializer):
    status_label = serializers.CharField()
    url = serializers.CharField()
    retry_url = serializers.CharField(allow_null=True)

    class Meta:
        model = ImportJob
        fields = [*JOB_FIELDS, "status_label", "url", "retry_url"]


class ImportUpload(serializers.Serializer):
    file = serializers.FileField(help_text="XLSX (lembar rumah_tangga + anggota) atau CSV")
    members_file = serializers.FileField(required=False, help_text="CSV anggota (untuk CSV)")
    dry_run = serializers.BooleanField(default=True)
    missing_members = serializers.ChoiceField(choices=[KEEP, REMOVE], default=KEEP)
    survey_round = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="Kode putaran pendataan file ini (kosong: putaran yang terbuka).",
    )


def _job_row(request, job: ImportJob) -> dict:
    import_job_check(job=job)
    row = {field: getattr(job, field) for field in JOB_FIELDS}
    row["status_label"] = str(job.get_status_display())
    # Messages are stored as their Indonesian msgid and parameters, shown in the reader's
    # language (desapresisi/i18n.py).
    row["message"] = shown(job.message, job.message_params)
    row["errors"] = [shown_dict(error) for error in job.errors]
    row["warnings"] = [shown_dict(warning) for warning in job.warnings]
    kwargs = {"version": "v1", "pk": job.pk}
    row["url"] = reverse("api:import-detail", kwargs=kwargs)
    # A failed job keeps its upload until it expires (then its status is "expired").
    failed = job.status == ImportStatus.FAILED
    row["retry_url"] = reverse("api:import-retry", kwargs=kwargs) if failed else None
    return row


def _jobs_of(user):
    jobs = ImportJob.objects.all()
    return jobs if role_of(user) == Role.ADMIN else jobs.filter(user=user)


def _check_size(request) -> None:
    limit = settings.IMPORT_MAX_BYTES
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit + 1024 * 1024:
        raise PayloadTooLarge(_too_large(limit))


def _too_large(limit: int) -> str:
    return _("Berkas terlalu besar (maks. %(megabytes)s MB); pecah per desa.") % {
        "megabytes": f"{limit / 1024 / 1024:.0f}"
    }


class ImportList(GenericAPIView):
    """GET: the caller's import jobs. POST: upload a census file (dry run by default)."""

    permission_classes = [IsAuthenticated, HasPortalRole, CanImport]
    # Uploads and commits, not the polling of a job's progress.
    throttle_scopes = {"POST": "imports"}
    parser_classes = [MultiPartParser, FormParser, JSONParser]
    queryset = ImportJob.objects.none()
    serializer_class = ImportUpload

    @extend_schema(summary="Daftar impor saya", responses={200: ImportJobDoc(many=True)})
    def get(self, request, *args, **kwargs):
        jobs = _jobs_of(request.user)[:50]
        return Response([_job_row(request, job) for job in jobs])

    @extend_schema(
        summary="Unggah berkas sensus (uji coba atau simpan)",
        request={"multipart/form-data": ImportUpload},
        responses={201: ImportJobDoc, 202: ImportJobDoc, 413: OpenApiResponse()},
    )
    def post(self, request, *args, **kwargs):
        _check_size(request)
        upload = ImportUpload(data=request.data)
        upload.is_valid(raise_exception=True)
        data = upload.validated_data
        files = [data["file"], *([data["members_file"]] if data.get("members_file") else [])]
        if sum(item.size for item in files) > settings.IMPORT_MAX_BYTES:
            raise PayloadTooLarge(_too_large(settings.IMPORT_MAX_BYTES))
        job = import_job_create(
            user=request.user,
            file_name=data["file"].name,
            # The uploaded files as Django spooled them (to disk past 2.5 MB), copied
            # into the database a chunk at a time: never one `bytes` of the whole.
            data=data["file"],
            members_data=data.get("members_file"),
            dry_run=data["dry_run"],
            missing_members=data["missing_members"],
            language=get_language() or settings.LANGUAGE_CODE,
            options={"survey_round": data["survey_round"]} if data["survey_round"] else None,
        )
        queued = import_job_start(job=job)
        job.refresh_from_db()
        return Response(_job_row(request, job), status=202 if queued else 201)


class ImportAction(serializers.Serializer):
    action = serializers.ChoiceField(choices=["commit"])


class ImportDetail(GenericAPIView):
    """One import job: status, progress, counts and errors. POST {"action": "commit"}
    saves a validated dry run (re-checked against the database as it is now)."""

    permission_classes = [IsAuthenticated, HasPortalRole, CanImport]
    # Uploads and commits, not the polling of a job's progress.
    throttle_scopes = {"POST": "imports"}
    parser_classes = [JSONParser, FormParser]
    queryset = ImportJob.objects.none()
    serializer_class = ImportAction

    def job(self, request, pk: int) -> ImportJob:
        return get_object_or_404(_jobs_of(request.user), pk=pk)

    @extend_schema(summary="Status impor", responses={200: ImportJobDoc})
    def get(self, request, pk: int, *args, **kwargs):
        return Response(_job_row(request, self.job(request, pk)))

    @extend_schema(
        summary="Simpan hasil uji coba",
        operation_id="imports_commit",
        request=ImportAction,
        responses=ImportJobDoc,
    )
    def post(self, request, pk: int, *args, **kwargs):
        action = ImportAction(data=request.data)
        action.is_valid(raise_exception=True)
        job = self.job(request, pk)
        if job.user_id != request.user.pk:
            raise PermissionDenied(_("Hanya pengunggahnya."))
        # One conditional UPDATE decides: PostgreSQL re-checks the WHERE on the row a
        # concurrent commit has just changed, so of two simultaneous commits one wins and
        # the other sees 0 rows (a read-then-write let both through and run it twice).
        claimed = ImportJob.objects.filter(
            pk=job.pk, user=request.user, status=ImportStatus.VALIDATED, dry_run=True
        ).update(dry_run=False, status=ImportStatus.QUEUED, progress_percent=0)
        job.refresh_from_db()
        if not claimed and not job.dry_run:
            raise NotReady(_("Uji coba ini sudah disimpan atau sedang disimpan."))
        if not claimed:
            raise serializers.ValidationError(
                {"action": _("Hanya uji coba tanpa kesalahan yang dapat disimpan.")}
            )
        queued = import_job_start(job=job)
        job.refresh_from_db()
        return Response(_job_row(request, job), status=202 if queued else 200)


class ImportRetry(GenericAPIView):
    """Run a failed import job again from its stored upload (its owner or an
    administrator; the job runs with its owner's rights). A failed run saved nothing, so
    running it again is safe. 409 unless the job failed and its upload is still kept."""

    permission_classes = [IsAuthenticated, HasPortalRole, CanImport]
    queryset = ImportJob.objects.none()

    @extend_schema(
        summary="Coba lagi impor yang gagal",
        operation_id="imports_retry",
        request=None,
        responses={200: ImportJobDoc, 202: ImportJobDoc, 409: OpenApiResponse()},
    )
    def post(self, request, pk: int, *args, **kwargs):
        job = import_job_check(job=get_object_or_404(_jobs_of(request.user), pk=pk))
        retried = ImportJob.objects.filter(
            pk=job.pk, status=ImportStatus.FAILED, file_oid__isnull=False
        ).update(
            status=ImportStatus.QUEUED,
            message="",
            message_params={},
            finished=None,
            progress_rows=0,
            progress_percent=0,
            progress_phase="",
        )
        if not retried:
            if job.status in (ImportStatus.EXPIRED, ImportStatus.FAILED):
                raise NotReady(_(UPLOAD_EXPIRED))
            raise NotReady(_("Hanya pekerjaan yang gagal yang dapat dicoba lagi."))
        job.refresh_from_db()
        queued = import_job_start(job=job)
        job.refresh_from_db()
        return Response(_job_row(request, job), status=202 if queued else 200)
