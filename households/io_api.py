"""Endpoints of census imports and report exports, and the import page.

Thin views: they check the caller's rights, pass querysets through the access scope
(`households_for` / `members_for`) and the list filters, and hand the rows to the
streams in `exports.py`, the PDF in `profile_pdf.py` or the import service in `imports.py`.
An XLSX export too large for the request becomes an export job (202), which its owner
follows and downloads under /api/v1/exports/jobs/ or on the page /ekspor/.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import APIException, NotFound, PermissionDenied
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny, BasePermission, IsAuthenticated
from rest_framework.response import Response

from desapresisi import audit
from desapresisi.access import (
    can_export_named,
    can_unmask,
    can_use_imports,
    role_of,
    suppression_for,
)
from desapresisi.api import HasPortalRole
from desapresisi.models import AuditAction, Role
from villages.models import Level, Region

from . import csv_sql, exports
from .api import DisclosureMixin, IndicatorValuesQuery, indicator_values_for_request
from .filters import HouseholdFilter, MemberFilter
from .imports import (
    KEEP,
    REMOVE,
    import_job_create,
    import_job_start,
)
from .io_models import ExportJob, ExportKind, ExportStatus, ImportJob, ImportStatus
from .jobs import UPLOAD_EXPIRED, export_job_check, import_job_check
from .models import Household, Indicator
from .profile_pdf import village_profile_pdf

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
NAMED_FORMATS = {"csv": "text/csv", "xlsx": XLSX, "geojson": "application/geo+json"}
TABLE_FORMATS = {"csv": "text/csv", "xlsx": XLSX}


class PayloadTooLarge(APIException):
    status_code = 413
    default_code = "too_large"


class NotReady(APIException):
    status_code = 409
    default_code = "not_ready"


class Gone(APIException):
    status_code = 410
    default_code = "gone"


class CanExportNamed(BasePermission):
    message = (
        "Ekspor data bernama hanya untuk administrator dan analis SKPD. / "
        "Named-record exports are for administrators and SKPD analysts only."
    )

    def has_permission(self, request, view) -> bool:
        return can_export_named(request.user)


class CanImport(BasePermission):
    message = (
        "Impor hanya untuk administrator dan operator desa. / "
        "Imports are for administrators and village operators only."
    )

    def has_permission(self, request, view) -> bool:
        if request.method == "GET":
            return True
        return can_use_imports(request.user)


def _file_name(stem: str, fmt: str) -> str:
    return f"{stem}-{timezone.localdate().isoformat()}.{fmt}"


def _attachment(response, name: str):
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "private, no-store"
    return response


def _xlsx_response(request, kind: str, queryset, disclosure, language: str):
    """A named-record workbook built in the request (small exports)."""
    sheets, counts = exports.named_sheets(
        kind=kind,
        user=request.user,
        queryset=queryset,
        disclosure=disclosure,
        language=language,
    )
    handle = exports.workbook_write(
        summary=exports.export_summary(
            kind=kind,
            username=request.user.get_username(),
            query_string=request.META.get("QUERY_STRING", ""),
            disclosure=disclosure,
            counts=counts,
        ),
        sheets=sheets,
    )
    return FileResponse(handle, content_type=XLSX)


def _wants_page(request) -> bool:
    """A browser following a link (not a script) asked: it gets a page, not JSON."""
    return "text/html" in request.META.get("HTTP_ACCEPT", "")


class _NamedExport(DisclosureMixin, GenericAPIView):
    permission_classes = [IsAuthenticated, CanExportNamed]
    throttle_scopes = {"GET": "exports"}
    queryset = Household.objects.none()
    kind = ""

    def export(self, request, fmt: str):
        if fmt not in NAMED_FORMATS:
            raise NotFound("Format: csv, xlsx, geojson.")
        disclosure = self.disclosure(request)
        queryset = exports.export_queryset(
            kind=self.kind, user=request.user, query=request.query_params
        )
        count = queryset.count()
        # The stream runs after the view returns, when the request's language is reset.
        language = get_language() or "id"
        job = None
        if fmt == "xlsx" and (
            exports.named_rows_written(kind=self.kind, user=request.user, queryset=queryset)
            > settings.EXPORT_XLSX_SYNC_MAX_ROWS
        ):
            job = exports.export_job_create(
                user=request.user,
                kind=self.kind,
                query=request.query_params,
                unmasked=disclosure.unmasked,
                language=language,
                rows=count,
            )
        audit.record(
            action=AuditAction.EXPORT,
            request=request,
            rows=count,
            detail=f"{self.kind}.{fmt}" + (f" (job {job.pk})" if job else ""),
        )
        self.audit_unmasked(request, disclosure, count)
        if job is not None:
            exports.export_job_start(job=job)
            job.refresh_from_db()
            if _wants_page(request):
                return HttpResponseRedirect(f"{reverse('export-page')}?job={job.pk}", status=303)
            response = Response(_export_row(job), status=202)
            response["Location"] = _export_urls(job)["url"]
            return response
        name = _file_name(self.kind, fmt)
        return _attachment(self.build(request, fmt, queryset, disclosure, language), name)


EXPORT_RESPONSES = {
    (200, "application/octet-stream"): OpenApiTypes.BINARY,
    202: OpenApiResponse(description="XLSX besar: pekerjaan ekspor dibuat / export job created"),
}


class ExportHouseholds(_NamedExport):
    """Households for any filter of the household list, as CSV, XLSX or GeoJSON. An XLSX
    of more than EXPORT_XLSX_SYNC_MAX_ROWS households answers 202 with an export job."""

    kind = ExportKind.HOUSEHOLDS
    filterset_class = HouseholdFilter

    def build(self, request, fmt, queryset, disclosure, language):
        if fmt == "xlsx":
            return _xlsx_response(request, self.kind, queryset, disclosure, language)
        if fmt == "csv":
            stream = csv_sql.household_csv(
                queryset=queryset, disclosure=disclosure, language=language
            )
            return StreamingHttpResponse(stream, content_type="text/csv; charset=utf-8")
        rows = exports.household_rows(queryset=queryset, disclosure=disclosure, language=language)
        stream = exports.geojson_stream(rows=rows, headers=exports.HOUSEHOLD_HEADERS)
        return StreamingHttpResponse(stream, content_type="application/geo+json")

    @extend_schema(
        summary="Ekspor rumah tangga (CSV, XLSX, GeoJSON)",
        operation_id="exports_households",
        parameters=[OpenApiParameter("unmask", bool)],
        responses=EXPORT_RESPONSES,
    )
    def get(self, request, fmt: str, *args, **kwargs):
        return self.export(request, fmt)


class ExportMembers(_NamedExport):
    """Members for any filter of the member list, as CSV, XLSX (with their households) or
    GeoJSON (household point). A large XLSX answers 202 with an export job."""

    kind = ExportKind.MEMBERS
    filterset_class = MemberFilter

    def build(self, request, fmt, queryset, disclosure, language):
        if fmt == "xlsx":
            return _xlsx_response(request, self.kind, queryset, disclosure, language)
        if fmt == "csv":
            stream = csv_sql.member_csv(queryset=queryset, disclosure=disclosure, language=language)
            return StreamingHttpResponse(stream, content_type="text/csv; charset=utf-8")
        rows = exports.member_rows(
            queryset=queryset, disclosure=disclosure, language=language, with_location=True
        )
        headers = [*exports.MEMBER_HEADERS, "lintang", "bujur"]
        stream = exports.geojson_stream(rows=rows, headers=headers)
        return StreamingHttpResponse(stream, content_type="application/geo+json")

    @extend_schema(
        summary="Ekspor anggota (CSV, XLSX, GeoJSON)",
        operation_id="exports_members",
        parameters=[OpenApiParameter("unmask", bool)],
        responses=EXPORT_RESPONSES,
    )
    def get(self, request, fmt: str, *args, **kwargs):
        return self.export(request, fmt)


EXPORT_JOB_FIELDS = [
    "id", "kind", "format", "status", "query", "unmasked", "rows", "progress_rows",
    "progress_total", "progress_percent", "error", "file_size", "created", "started",
    "finished", "expires",
]  # fmt: skip


class ExportJobDoc(serializers.ModelSerializer):
    status_label = serializers.CharField()
    url = serializers.CharField()
    download_url = serializers.CharField(allow_null=True)
    retry_url = serializers.CharField(allow_null=True)

    class Meta:
        model = ExportJob
        fields = [*EXPORT_JOB_FIELDS, "status_label", "url", "download_url", "retry_url"]


def _export_urls(job: ExportJob) -> dict[str, str | None]:
    kwargs = {"version": "v1", "pk": job.pk}
    done = job.status == ExportStatus.DONE
    failed = job.status == ExportStatus.FAILED
    return {
        "url": reverse("api:export-job-detail", kwargs=kwargs),
        "download_url": reverse("api:export-job-download", kwargs=kwargs) if done else None,
        "retry_url": reverse("api:export-job-retry", kwargs=kwargs) if failed else None,
    }


def _export_row(job: ExportJob) -> dict:
    export_job_check(job=job)
    if exports.export_is_expired(job=job):
        exports.export_file_delete(job=job)
    row = {field: getattr(job, field) for field in EXPORT_JOB_FIELDS}
    row["status_label"] = str(job.get_status_display())
    # Messages written by the worker are stored as their Indonesian msgid.
    row["error"] = _(job.error) if job.error else ""
    return {**row, **_export_urls(job)}


def _export_jobs_of(user):
    jobs = ExportJob.objects.all()
    return jobs if role_of(user) == Role.ADMIN else jobs.filter(user=user)


class ExportJobList(GenericAPIView):
    """The caller's export jobs (administrators: everyone's), newest first."""

    permission_classes = [IsAuthenticated, CanExportNamed]
    queryset = ExportJob.objects.none()

    @extend_schema(summary="Daftar ekspor saya", responses={200: ExportJobDoc(many=True)})
    def get(self, request, *args, **kwargs):
        return Response([_export_row(job) for job in _export_jobs_of(request.user)[:50]])


class ExportJobDetail(GenericAPIView):
    """One export job: status, progress in rows and percent, and its download link."""

    permission_classes = [IsAuthenticated, CanExportNamed]
    queryset = ExportJob.objects.none()

    @extend_schema(summary="Status ekspor", responses={200: ExportJobDoc})
    def get(self, request, pk: int, *args, **kwargs):
        return Response(_export_row(get_object_or_404(_export_jobs_of(request.user), pk=pk)))


class ExportJobDownload(GenericAPIView):
    """The finished workbook of an export job, for its owner or an administrator, until it
    expires. Unmasked files need the right to unmask now, not only when they were asked
    for. Every download is written to the audit log."""

    permission_classes = [IsAuthenticated, CanExportNamed]
    queryset = ExportJob.objects.none()

    @extend_schema(
        summary="Unduh hasil ekspor (XLSX)",
        operation_id="exports_job_download",
        responses={
            (200, XLSX): OpenApiTypes.BINARY,
            409: OpenApiResponse(),
            410: OpenApiResponse(),
        },
    )
    def get(self, request, pk: int, *args, **kwargs):
        job = get_object_or_404(_export_jobs_of(request.user), pk=pk)
        if exports.export_is_expired(job=job):
            exports.export_file_delete(job=job)
            raise Gone(
                "Berkas ekspor sudah kedaluwarsa dan dihapus; minta ekspor lagi. / "
                "The export file has expired and was deleted; ask for the export again."
            )
        if job.status != ExportStatus.DONE:
            raise NotReady(
                f"Ekspor belum siap ({job.get_status_display()}, {job.progress_percent}%). / "
                "The export is not ready yet."
            )
        if job.unmasked and not can_unmask(request.user):
            audit.record(action=AuditAction.ACCESS_DENIED, request=request, detail="unmask")
            raise PermissionDenied("Anda tidak berhak membuka NIK/KK. / You may not unmask NIK/KK.")
        try:
            handle = job.path.open("rb")
        except FileNotFoundError:  # removed by the cleaner since the check above
            exports.export_file_delete(job=job)
            raise Gone("Berkas ekspor sudah dihapus. / The export file was deleted.") from None
        filters = {**job.query, "job": [str(job.pk)]}
        detail = f"{job.kind}.{job.format} (job {job.pk}, unduh / download)"
        audit.record(
            action=AuditAction.EXPORT,
            request=request,
            rows=job.rows,
            filters=filters,
            detail=detail,
        )
        if job.unmasked:
            audit.record(action=AuditAction.UNMASK, request=request, rows=job.rows, filters=filters)
        name = f"{job.kind}-{timezone.localtime(job.finished).date().isoformat()}.{job.format}"
        return _attachment(FileResponse(handle, content_type=XLSX), name)


class ExportJobRetry(GenericAPIView):
    """Run a failed export job again (its owner or an administrator), with the owner's
    rights of now. 409 unless the job failed."""

    permission_classes = [IsAuthenticated, CanExportNamed]
    queryset = ExportJob.objects.none()

    @extend_schema(
        summary="Coba lagi ekspor yang gagal",
        operation_id="exports_job_retry",
        request=None,
        responses={202: ExportJobDoc, 409: OpenApiResponse()},
    )
    def post(self, request, pk: int, *args, **kwargs):
        job = export_job_check(job=get_object_or_404(_export_jobs_of(request.user), pk=pk))
        retried = ExportJob.objects.filter(pk=job.pk, status=ExportStatus.FAILED).update(
            status=ExportStatus.QUEUED,
            error="",
            started=None,
            finished=None,
            progress_rows=0,
            progress_percent=0,
        )
        if not retried:
            raise NotReady(_("Hanya pekerjaan yang gagal yang dapat dicoba lagi."))
        audit.record(
            action=AuditAction.EXPORT,
            request=request,
            rows=job.rows,
            filters={**job.query, "job": [str(job.pk)]},
            detail=f"{job.kind}.{job.format} (job {job.pk}, coba lagi / retry)",
        )
        exports.export_job_start(job=job)
        job.refresh_from_db()
        response = Response(_export_row(job), status=202)
        response["Location"] = _export_urls(job)["url"]
        return response


class ExportIndicators(GenericAPIView):
    """Indicator values per area as CSV or XLSX: the parameters and the small-cell
    suppression of /indicators/values/."""

    permission_classes = [AllowAny]
    queryset = Indicator.objects.none()

    @extend_schema(
        summary="Ekspor nilai indikator (CSV, XLSX)",
        operation_id="exports_indicators",
        parameters=[IndicatorValuesQuery],
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY},
    )
    def get(self, request, fmt: str, *args, **kwargs):
        if fmt not in TABLE_FORMATS:
            raise NotFound("Format: csv, xlsx.")
        values = indicator_values_for_request(request)
        language = get_language() or "id"
        names = {
            indicator.code: indicator.name(language)
            for indicator in Indicator.objects.filter(code__in={row["indicator"] for row in values})
        }
        rows = exports.indicator_rows(rows=values, names=names)
        name = _file_name("indikator", fmt)
        if fmt == "csv":
            body = "".join(exports.csv_stream(headers=exports.INDICATOR_HEADERS, rows=rows))
            return _attachment(HttpResponse(body, content_type="text/csv; charset=utf-8"), name)
        handle = exports.workbook_write(
            summary=[
                ("Desa Presisi", "nilai indikator / indicator values"),
                ("filter", request.META.get("QUERY_STRING", "") or exports.NO_FILTER),
                ("baris / rows", len(rows)),
            ],
            sheets=[("indikator", exports.INDICATOR_HEADERS, rows)],
            with_codebook=False,
        )
        return _attachment(FileResponse(handle, content_type=XLSX), name)


class VillageProfile(GenericAPIView):
    """A one-page printable PDF profile of a village (aggregates only)."""

    permission_classes = [AllowAny]
    queryset = Indicator.objects.none()

    @extend_schema(
        summary="Profil desa (PDF satu halaman)",
        operation_id="exports_village_profile",
        responses={(200, "application/pdf"): OpenApiTypes.BINARY},
    )
    def get(self, request, code: str, *args, **kwargs):
        region = Region.objects.filter(code=code, level=Level.DESA).first()
        if region is None:
            raise NotFound("Desa/kelurahan tidak ditemukan. / Village not found.")
        pdf = village_profile_pdf(
            region=region,
            suppress_up_to=suppression_for(request.user),
            language=get_language() or "id",
        )
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="profil-{code}.pdf"'
        return response


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
        response = HttpResponse(exports.template_workbook(), content_type=XLSX)
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


def _job_row(request, job: ImportJob) -> dict:
    import_job_check(job=job)
    row = {field: getattr(job, field) for field in JOB_FIELDS}
    row["status_label"] = str(job.get_status_display())
    # Messages written by the worker are stored as their Indonesian msgid.
    row["message"] = _(job.message) if job.message else ""
    kwargs = {"version": "v1", "pk": job.pk}
    row["url"] = reverse("api:import-detail", kwargs=kwargs)
    # A failed job keeps its upload until it expires (then its status is "expired").
    failed = job.status == ImportStatus.FAILED
    row["retry_url"] = reverse("api:import-retry", kwargs=kwargs) if failed else None
    return row


def _jobs_of(user):
    jobs = ImportJob.objects.defer("file_data", "members_file_data")
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
    megabytes = limit / 1024 / 1024
    return (
        f"Berkas terlalu besar (maks. {megabytes:.0f} MB); pecah per desa. / "
        f"File too large (max. {megabytes:.0f} MB); split it by village."
    )


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
            data=data["file"].read(),
            members_data=data["members_file"].read() if data.get("members_file") else None,
            dry_run=data["dry_run"],
            missing_members=data["missing_members"],
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
            raise PermissionDenied("Hanya pengunggahnya. / Only the uploader.")
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
                {
                    "action": "Hanya uji coba tanpa kesalahan yang dapat disimpan. / "
                    "Only a dry run without errors can be committed."
                }
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
            pk=job.pk, status=ImportStatus.FAILED, file_data__isnull=False
        ).update(
            status=ImportStatus.QUEUED,
            message="",
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


@login_required
def import_page(request):
    """Upload a census file, see the dry-run preview, commit it, follow the progress."""
    config = {
        "upload_url": reverse("api:import-list", kwargs={"version": "v1"}),
        "template_url": reverse("api:import-template", kwargs={"version": "v1"}),
        "max_bytes": settings.IMPORT_MAX_BYTES,
        # The preview's counts, named in the page's language.
        "count_labels": {
            "households": _("Rumah tangga"),
            "members": _("Anggota"),
            "total": _("baris"),
            "new": _("baru"),
            "updated": _("diubah"),
            "unchanged": _("tetap"),
            "rejected": _("ditolak"),
            "warnings": _("peringatan"),
            "missing": _("tidak ada di berkas"),
            "removed": _("dihapus"),
        },
    }
    return render(
        request,
        "imports/import.html",
        {
            "config": config,
            "can_import": can_use_imports(request.user),
            "max_megabytes": settings.IMPORT_MAX_BYTES // (1024 * 1024),
        },
    )


@login_required
def export_page(request):
    """The caller's export jobs with their progress and download links."""
    config = {"jobs_url": reverse("api:export-job-list", kwargs={"version": "v1"})}
    return render(
        request,
        "exports/jobs.html",
        {
            "config": config,
            "can_export": can_export_named(request.user),
            "retention_hours": settings.EXPORT_RETENTION_HOURS,
            "sync_max_rows": settings.EXPORT_XLSX_SYNC_MAX_ROWS,
        },
    )
