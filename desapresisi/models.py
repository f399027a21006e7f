"""Who may see what, and the trail of who saw and changed what.

Household data is specific personal data under UU PDP 27/2022: access is need-to-know by
role and area, identity numbers are masked by default, and every unmasked view, export
and change is recorded in an append-only audit log and history.
"""

from __future__ import annotations

from django.apps import apps
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models.functions import Now
from django.dispatch import Signal
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    ADMIN = "admin", _("Administrator")
    ANALYST = "analis", _("Analis SKPD")
    OFFICIAL = "pejabat", _("Pejabat (dasbor)")
    OPERATOR = "operator", _("Operator desa")


class AccessProfile(models.Model):
    """A user's role and the areas (Kemendagri codes, each with its subtree) they serve."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="access_profile"
    )
    role = models.CharField(_("peran"), max_length=10, choices=Role.choices)
    areas = ArrayField(
        models.CharField(max_length=13),
        verbose_name=_("wilayah tugas"),
        default=list,
        blank=True,
        help_text=_("Kode wilayah, mis. 64.09 (kabupaten) atau 64.09.01.2001 (desa)."),
    )
    skpd = models.CharField(_("perangkat daerah"), max_length=120, blank=True)
    can_unmask = models.BooleanField(
        _("boleh membuka NIK/KK"),
        default=False,
        help_text=_("Setiap pembukaan dicatat di log audit."),
    )

    class Meta:
        verbose_name = _("profil akses")
        verbose_name_plural = _("profil akses")

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()})"

    def clean(self) -> None:
        # The area tree is the villages app's; the kernel names it only through the app
        # registry, so that it imports no domain app.
        regions = apps.get_model("villages", "Region").objects.filter(code__in=self.areas)
        if self.role != Role.ADMIN and not self.areas:
            raise ValidationError({"areas": _("Peran ini membutuhkan wilayah tugas.")})
        known = {region.code: region for region in regions.only("code", "level")}
        unknown = [code for code in self.areas if code not in known]
        if unknown:
            raise ValidationError(
                {
                    "areas": _("Kode wilayah tidak dikenal: %(codes)s")
                    % {"codes": ", ".join(unknown)}
                }
            )
        if self.role == Role.OPERATOR and (
            len(self.areas) != 1 or not known[self.areas[0]].is_village
        ):
            raise ValidationError(
                {"areas": _("Operator desa bertugas di tepat satu desa/kelurahan.")}
            )
        if self.role == Role.OFFICIAL and self.can_unmask:
            raise ValidationError({"can_unmask": _("Pejabat tidak melihat NIK/KK.")})


class AuditAction(models.TextChoices):
    UNMASK = "unmask", _("Membuka NIK/KK")
    EXPORT = "export", _("Ekspor data bernama")
    IMPORT = "import", _("Impor data")
    VIEW = "view", _("Melihat data bernama")
    LOGIN_FAILED = "login_failed", _("Gagal masuk")
    ACCESS_DENIED = "denied", _("Akses ditolak")
    PURGE = "purge", _("Penghapusan log audit (retensi)")


class AuditEntry(models.Model):
    """Append-only (a database trigger refuses UPDATE and DELETE): enough to tell, after
    a breach, who saw or took which records, when and from where."""

    at = models.DateTimeField(_("waktu"), auto_now_add=True, db_index=True)
    # No database constraint: deleting a user must not rewrite (or lose) their trail.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    username = models.CharField(_("pengguna"), max_length=150, blank=True)
    address = models.GenericIPAddressField(_("alamat IP"), null=True, blank=True)
    action = models.CharField(_("tindakan"), max_length=20, choices=AuditAction.choices)
    path = models.CharField(_("alamat halaman"), max_length=500, blank=True)
    filters = models.JSONField(_("filter"), default=dict, blank=True)
    rows = models.PositiveIntegerField(_("jumlah baris"), default=0)
    detail = models.CharField(_("keterangan"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("catatan audit")
        verbose_name_plural = _("log audit")
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.username} {self.action} ({self.rows})"


class ChangeRecord(models.Model):
    """One change to a household or member row: written by database triggers for every
    writer (API, admin, import, SQL), with the acting user the request set."""

    at = models.DateTimeField(_("waktu"), db_index=True)
    actor = models.CharField(_("pelaku"), max_length=160, blank=True)
    table = models.CharField(_("tabel"), max_length=40)
    row_id = models.BigIntegerField(_("id baris"))
    household_id = models.BigIntegerField(_("id rumah tangga"), db_index=True)
    action = models.CharField(_("tindakan"), max_length=10)
    changes = models.JSONField(_("perubahan"), help_text=_("{kolom: [lama, baru]}"))

    class Meta:
        verbose_name = _("riwayat perubahan")
        verbose_name_plural = _("riwayat perubahan")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor} {self.action} {self.table} {self.row_id}"


class WorkerHeartbeat(models.Model):
    """The background worker's sign of life: each worker process renews its row every
    few seconds (desapresisi.health.Heartbeat), so the health endpoint can tell a stopped
    or hung worker within a minute. No personal data."""

    worker_id = models.CharField(max_length=64, unique=True)
    host = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    seen_at = models.DateTimeField()
    busy_since = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("denyut pekerja latar")
        verbose_name_plural = _("denyut pekerja latar")

    def __str__(self) -> str:
        return f"{self.worker_id} ({self.host}:{self.pid})"


# Sent in the process that bumped a DataVersion, once its transaction committed.
data_version_bumped = Signal()


class DataVersion(models.Model):
    """A counter per kind of published data, bumped in the transaction that changes it:
    `figures` by the indicator rollup (every refresh that recomputed something),
    `regions` by a statement trigger on the area tree, `signoff` by each step of a
    village's sign-off (what approved-only figures depend on), `indicators` by a statement
    trigger on the indicator definitions. HTTP validators (ETag, Last-Modified:
    desapresisi/http_cache.py) and the tile cache are derived from it, so a revisit costs
    a 304 until the data really changed."""

    FIGURES = "figures"
    REGIONS = "regions"
    SIGNOFF = "signoff"
    INDICATORS = "indicators"

    name = models.CharField(max_length=20, primary_key=True)
    version = models.BigIntegerField(default=1)
    changed_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("versi data")
        verbose_name_plural = _("versi data")

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"

    @classmethod
    def bump(cls, name: str) -> None:
        """One more version of `name`, in the caller's transaction: the row stays locked
        until it commits, so a reader that checks the version FOR SHARE (the tile cache)
        waits for the commit and sees the new one."""
        updated = cls.objects.filter(name=name).update(
            version=models.F("version") + 1, changed_at=Now()
        )
        if not updated:
            cls.objects.get_or_create(name=name)
        # This process's readers of the versions (http_cache) forget theirs at once.
        transaction.on_commit(lambda: data_version_bumped.send(sender=cls, name=name))
