"""Report exports over the API: named-record lists (CSV, XLSX, GeoJSON), indicator
tables, the village profile PDF and export jobs.

Thin views: they check the caller's rights, pass querysets through the access scope
(`households_for` / `members_for`) and the list filters, and hand the rows to
`households.exports` (rows, csv_sql, pdf, service). An XLSX export too large for the
request becomes an export job (202), which its owner follows and downloads under
/api/v1/exports/jobs/ or on the page /ekspor/.
"""

from __future__ import annotations

from django.http import FileResponse, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import APIException, NotFound
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny, BasePermission, IsAuthenticated
from rest_framework.response import Response

from desapresisi.access import (
    can_export_named,
    can_use_imports,
    role_of,
    suppression_for,
)
from desapresisi.i18n import shown
from desapresisi.models import Role
from villages.models import Level, Region

from ..exports.csv_sql import household_csv, member_csv
from ..exports.jobs import (
    export_file_delete,
    export_is_expired,
    export_job_file,
    export_job_retry,
    named_export_begin,
)
from ..exports.pdf import village_profile_pdf
from ..exports.rows import (
    csv_stream,
    geojson_stream,
    household_headers,
    household_rows,
    member_headers,
    member_rows,
    workbook_write,
)
from ..exports.service import (
    INDICATOR_HEADERS,
    NO_FILTER,
    indicator_rows,
    named_workbook_write,
)
from ..filters import HouseholdFilter, MemberFilter
from ..jobs import export_job_check
from ..models import ExportJob, ExportKind, ExportStatus, Household, Indicator
from .households import DisclosureMixin
from .indicators import IndicatorValuesQuery, indicator_values_for_request

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
NAMED_FORMATS = {"csv": "text/csv", "xlsx": XLSX, "geojson": "application/geo+json"}
TABLE_FORMATS = {"csv": "text/csv", "xlsx": XLSX}


class PayloadTooLarge(APIException):
    status_code = 413
    default_code = "too_large"


class CanExportNamed(BasePermission):
    message = gettext_lazy("Ekspor data bernama hanya untuk administrator dan analis SKPD.")

    def has_permission(self, request, view) -> bool:
        return can_export_named(request.user)


class CanImport(BasePermission):
    message = gettext_lazy("Impor hanya untuk administrator dan operator desa.")

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
    handle, _counts = named_workbook_write(
        kind=kind,
        user=request.user,
        queryset=queryset,
        disclosure=disclosure,
        language=language,
        query_string=request.META.get("QUERY_STRING", ""),
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
        # The stream runs after the view returns, when the request's language is reset.
        language = get_language() or "id"
        queryset, _count, job = named_export_begin(
            kind=self.kind,
            fmt=fmt,
            user=request.user,
            query=request.query_params,
            disclosure=disclosure,
            language=language,
            request=request,
        )
        if job is not None:
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
            stream = household_csv(queryset=queryset, disclosure=disclosure, language=language)
            return StreamingHttpResponse(stream, content_type="text/csv; charset=utf-8")
        rows = household_rows(queryset=queryset, disclosure=disclosure, language=language)
        stream = geojson_stream(rows=rows, headers=household_headers())
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
            stream = member_csv(queryset=queryset, disclosure=disclosure, language=language)
            return StreamingHttpResponse(stream, content_type="text/csv; charset=utf-8")
        rows = member_rows(
            queryset=queryset, disclosure=disclosure, language=language, with_location=True
        )
        headers = [*member_headers(), "lintang", "bujur"]
        stream = geojson_stream(rows=rows, headers=headers)
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
    if export_is_expired(job=job):
        export_file_delete(job=job)
    row = {field: getattr(job, field) for field in EXPORT_JOB_FIELDS}
    row["status_label"] = str(job.get_status_display())
    # Stored as its Indonesian msgid and parameters, shown in the reader's language.
    row["error"] = shown(job.error, job.error_params)
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
        handle = export_job_file(job=job, user=request.user, request=request)
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
        job = export_job_retry(job=job, user=request.user, request=request)
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
        rows = indicator_rows(rows=values, names=names)
        name = _file_name("indikator", fmt)
        if fmt == "csv":
            body = "".join(csv_stream(headers=INDICATOR_HEADERS, rows=rows))
            return _attachment(HttpResponse(body, content_type="text/csv; charset=utf-8"), name)
        handle = workbook_write(
            summary=[
                ("Desa Presisi", _("nilai indikator")),
                (_("filter"), request.META.get("QUERY_STRING", "") or _(NO_FILTER)),
                (_("baris"), len(rows)),
            ],
            sheets=[("indikator", INDICATOR_HEADERS, rows)],
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
            raise NotFound(_("Desa/kelurahan tidak ditemukan."))
        pdf = village_profile_pdf(
            region=region,
            suppress_up_to=suppression_for(request.user),
            language=get_language() or "id",
        )
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="profil-{code}.pdf"'
        return response
