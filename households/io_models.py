"""Census import jobs: the uploaded file, its options, progress and outcome.

A job is created by the web upload, the API or `manage.py import_census`; small files run
in the request, large ones in the background worker (django-tasks, PostgreSQL-backed).
The page and the API poll it for progress.
"""

from __future__ import annotations

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


class ImportJob(models.Model):
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
    # The upload is kept in the row so that a worker on another host can read it and a
    # dry run can be committed later without uploading again; cleared once committed.
    file_data = models.BinaryField(_("isi berkas"), null=True, blank=True)
    members_file_data = models.BinaryField(_("isi berkas anggota"), null=True, blank=True)
    progress_rows = models.PositiveIntegerField(_("baris diproses"), default=0)
    progress_total = models.PositiveIntegerField(_("jumlah baris"), default=0)
    progress_percent = models.PositiveSmallIntegerField(_("persen"), default=0)
    counts = models.JSONField(_("hitungan"), default=dict, blank=True)
    errors = models.JSONField(_("kesalahan"), default=list, blank=True)
    error_count = models.PositiveIntegerField(_("jumlah kesalahan"), default=0)
    missing_members = models.JSONField(_("anggota tidak ada di berkas"), default=list, blank=True)
    message = models.TextField(_("pesan"), blank=True)

    class Meta:
        verbose_name = _("impor sensus")
        verbose_name_plural = _("impor sensus")
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_status_display()})"
