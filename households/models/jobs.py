"""Census import jobs and named-record export jobs: options, progress and outcome.

An import job is created by the web upload or the API; small files run in the request,
large ones in the background worker (django-tasks, PostgreSQL-backed). An export job is
created when an XLSX export is too large to build in the request. The pages and the API
poll both for progress.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ImportStatus(models.TextChoices):
    QUEUED = "antre", _("Dalam antrean")
    RUNNING = "berjalan", _("Sedang diproses")
    VALIDATED = "tervalidasi", _("Pratinjau siap (belum disimpan)")
    REJECTED = "ditolak", _("Ditolak: ada kesalahan")
    DONE = "selesai", _("Tersimpan")
    FAILED = "gagal", _("Gagal")
    # The upload was deleted after IMPORT_UPLOAD_RETENTION_HOURS: nothing left to commit
    # or retry.
    EXPIRED = "kedaluwarsa", _("Kedaluwarsa (berkas sudah dihapus)")


class JobLease(models.Model):
    """Who runs a job and until when: the running process renews `lease_until`
    (households/jobs.py); a job whose lease lapsed, or whose process is gone from this
    host, is failed by whoever looks next (the worker at start-up, the status endpoints,
    `manage.py clean_exports`)."""

    lease_until = models.DateTimeField(_("sewa berlaku sampai"), null=True, blank=True)
    worker = models.CharField(_("proses"), max_length=100, blank=True)
    attempts = models.PositiveSmallIntegerField(_("percobaan"), default=0)

    class Meta:
        abstract = True


# What an import job sets to let go of its uploads and of the staging rows its dry run
# kept (a trigger then unlinks the large objects).
UPLOAD_RELEASED = {
    "file_oid": None,
    "members_file_oid": None,
    "staged_oid": None,
    "staged_members_oid": None,
}


class ImportJob(JobLease):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("pengguna"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created = models.DateTimeField(_("dibuat"), auto_now_add=True)
    updated = models.DateTimeField(_("diubah"), auto_now=True)
    status = models.CharField(
        _("status"), max_length=12, choices=ImportStatus.choices, default=ImportStatus.QUEUED
    )
    dry_run = models.BooleanField(_("uji coba (tanpa menyimpan)"), default=True)
    options = models.JSONField(_("opsi"), default=dict, blank=True)
    file_name = models.CharField(_("nama berkas"), max_length=255)
    # The upload, kept as PostgreSQL large objects (households/uploads.py) so that a
    # worker on another host can read it and a dry run can be committed later without
    # uploading again; cleared once committed or rejected, and a trigger then unlinks
    # the object (as when the row is deleted).
    file_oid = models.PositiveBigIntegerField(
        _("berkas (objek besar)"), null=True, blank=True, editable=False
    )
    members_file_oid = models.PositiveBigIntegerField(
        _("berkas anggota (objek besar)"), null=True, blank=True, editable=False
    )
    # A validated dry run's staging rows (PostgreSQL's binary COPY of the two staging
    # tables), so that its commit re-checks them against the database as it is then
    # instead of reading and checking the file again; the same lifetime as the upload.
    staged_oid = models.PositiveBigIntegerField(
        _("baris teruji (objek besar)"), null=True, blank=True, editable=False
    )
    staged_members_oid = models.PositiveBigIntegerField(
        _("baris anggota teruji (objek besar)"), null=True, blank=True, editable=False
    )
    # What parsing the upload reads (an XLSX's declared uncompressed size): small jobs
    # run in the request, large ones in the worker.
    work_bytes = models.BigIntegerField(_("ukuran kerja berkas"), default=0, editable=False)
    progress_rows = models.PositiveIntegerField(_("baris diproses"), default=0)
    progress_total = models.PositiveIntegerField(_("jumlah baris"), default=0)
    progress_percent = models.PositiveSmallIntegerField(_("persen"), default=0)
    counts = models.JSONField(_("hitungan"), default=dict, blank=True)
    progress_phase = models.CharField(_("tahap"), max_length=12, blank=True)
    errors = models.JSONField(_("kesalahan"), default=list, blank=True)
    error_count = models.PositiveIntegerField(_("jumlah kesalahan"), default=0)
    # Legitimate but unusual values (a NIK issued in another kecamatan): they do not block
    # the commit, unlike errors.
    warnings = models.JSONField(_("peringatan"), default=list, blank=True)
    warning_count = models.PositiveIntegerField(_("jumlah peringatan"), default=0)
    missing_members = models.JSONField(_("anggota tidak ada di berkas"), default=list, blank=True)
    # Stored as its Indonesian msgid with named parameters and translated when shown
    # (desapresisi/i18n.py), like the messages of `errors` and `warnings`.
    message = models.TextField(_("pesan"), blank=True)
    message_params = models.JSONField(_("parameter pesan"), default=dict, blank=True)
    # The uploader's language: a background import writes its parameters (codebook
    # labels in its messages) in it, as a request would.
    language = models.CharField(_("bahasa"), max_length=8, default="id")
    # When it ended (any outcome): the upload's retention counts from here.
    finished = models.DateTimeField(_("selesai"), null=True, blank=True)

    class Meta:
        verbose_name = _("impor sensus")
        verbose_name_plural = _("impor sensus")
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_status_display()})"


class ExportStatus(models.TextChoices):
    QUEUED = "antre", _("Dalam antrean")
    RUNNING = "berjalan", _("Sedang dibuat")
    DONE = "selesai", _("Siap diunduh")
    FAILED = "gagal", _("Gagal")
    EXPIRED = "kedaluwarsa", _("Kedaluwarsa (berkas sudah dihapus)")


class ExportKind(models.TextChoices):
    HOUSEHOLDS = "rumah-tangga", _("Rumah tangga")
    MEMBERS = "anggota", _("Anggota")


class ExportJob(JobLease):
    """A named-record export built by the background worker.

    The worker re-applies the owner's access scope and disclosure when it runs, never
    those of the moment the job was asked for. The file lives under EXPORT_ROOT, a private
    directory nothing serves: the owner (or an administrator) downloads it through the API,
    until `expires`, after which it is deleted (`manage.py clean_exports`)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("pemilik"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    created = models.DateTimeField(_("dibuat"), auto_now_add=True)
    started = models.DateTimeField(_("mulai"), null=True, blank=True)
    finished = models.DateTimeField(_("selesai"), null=True, blank=True)
    expires = models.DateTimeField(_("kedaluwarsa"), null=True, blank=True)
    kind = models.CharField(_("jenis"), max_length=12, choices=ExportKind.choices)
    format = models.CharField(_("format"), max_length=8, default="xlsx")
    # The list filters as given ({name: [values]}); they are applied again when it runs.
    query = models.JSONField(_("filter"), default=dict, blank=True)
    language = models.CharField(_("bahasa"), max_length=8, default="id")
    unmasked = models.BooleanField(_("NIK/KK lengkap"), default=False)
    status = models.CharField(
        _("status"), max_length=12, choices=ExportStatus.choices, default=ExportStatus.QUEUED
    )
    rows = models.PositiveIntegerField(_("baris"), default=0)
    progress_rows = models.PositiveIntegerField(_("baris diproses"), default=0)
    progress_total = models.PositiveIntegerField(_("jumlah baris"), default=0)
    progress_percent = models.PositiveSmallIntegerField(_("persen"), default=0)
    # Stored as its Indonesian msgid with named parameters, translated when shown.
    error = models.TextField(_("kesalahan"), blank=True)
    error_params = models.JSONField(_("parameter kesalahan"), default=dict, blank=True)
    # Relative to EXPORT_ROOT; empty until the file is complete and after it is deleted.
    file_name = models.CharField(_("nama berkas"), max_length=255, blank=True)
    file_size = models.PositiveBigIntegerField(_("ukuran berkas"), default=0)

    class Meta:
        verbose_name = _("ekspor")
        verbose_name_plural = _("ekspor")
        ordering = ["-created"]
        indexes = [models.Index(fields=["status", "expires"], name="exportjob_status_expires")]

    def __str__(self) -> str:
        return f"{self.kind}.{self.format} #{self.pk} ({self.get_status_display()})"

    @property
    def path(self) -> Path | None:
        return Path(settings.EXPORT_ROOT) / self.file_name if self.file_name else None
