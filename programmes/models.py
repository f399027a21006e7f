"""Programmes of the SKPD (regional work units) and their interventions per household.

A programme addresses one indicator (households/data/indicators.json). Its target lists are
frozen: who was in them, and why, at the moment of freezing; the database refuses to change
or delete a target row or a target list afterwards (migration 0002). Each target becomes an
intervention whose every status change is an event row, append-only too.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.fields import ArrayField
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Skpd(models.Model):
    """A regional work unit (Dinas Kesehatan, Dinas PUPR/Perkim, Bappeda...)."""

    code = models.SlugField(_("kode"), max_length=30, unique=True)
    name = models.CharField(_("nama"), max_length=150)

    class Meta:
        verbose_name = _("perangkat daerah")
        verbose_name_plural = _("perangkat daerah")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SkpdMember(models.Model):
    """An analyst belongs to one SKPD; the programmes of that SKPD are theirs to manage."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="skpd_membership"
    )
    skpd = models.ForeignKey(Skpd, on_delete=models.CASCADE, related_name="members")

    class Meta:
        verbose_name = _("anggota perangkat daerah")
        verbose_name_plural = _("anggota perangkat daerah")

    def __str__(self) -> str:
        return f"{self.user} ({self.skpd})"


class FundingSource(models.TextChoices):
    APBN = "apbn", _("APBN")
    DAK = "dak", _("DAK")
    APBD_PROVINSI = "apbd_provinsi", _("APBD provinsi")
    APBD_KABUPATEN = "apbd_kabupaten", _("APBD kabupaten")
    DANA_DESA = "dana_desa", _("Dana Desa")
    CSR = "csr", _("CSR")
    SWADAYA = "swadaya", _("Swadaya")


class Unit(models.TextChoices):
    HOUSEHOLD = "household", _("rumah tangga")
    MEMBER = "member", _("anggota rumah tangga")


class Programme(models.Model):
    code = models.SlugField(_("kode"), max_length=40, unique=True)
    name = models.CharField(_("nama program"), max_length=200)
    skpd = models.ForeignKey(
        Skpd, on_delete=models.PROTECT, related_name="programmes", verbose_name=_("SKPD pemilik")
    )
    year = models.PositiveSmallIntegerField(_("tahun"))
    funding_sources = ArrayField(
        models.CharField(max_length=20, choices=FundingSource.choices),
        verbose_name=_("sumber dana"),
        default=list,
        blank=True,
    )
    unit = models.CharField(_("satuan sasaran"), max_length=10, choices=Unit.choices)
    indicator = models.ForeignKey(
        "households.Indicator",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("indikator sasaran"),
    )
    area = models.ForeignKey(
        "villages.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("wilayah")
    )
    target_count = models.PositiveIntegerField(_("target jumlah sasaran"), default=0)
    unit_cost = models.DecimalField(
        _("biaya satuan"), max_digits=14, decimal_places=0, null=True, blank=True
    )
    # Demo programmes are written by demo/generator.py only; pages label them synthetic.
    synthetic = models.BooleanField(_("data sintetis"), default=False)
    created_at = models.DateTimeField(_("dibuat"), auto_now_add=True)

    class Meta:
        verbose_name = _("program")
        verbose_name_plural = _("program")
        ordering = ["-year", "code"]

    def __str__(self) -> str:
        return f"{self.code}: {self.name}"


class TargetList(models.Model):
    """A frozen list of targets: the households the criteria selected at `frozen_at`,
    within the area the freezer could see. Never changes afterwards (a trigger refuses)."""

    programme = models.ForeignKey(Programme, on_delete=models.PROTECT, related_name="target_lists")
    version = models.PositiveIntegerField(_("versi"))
    criteria = models.JSONField(_("kriteria"), default=dict)
    indicator_code = models.CharField(_("indikator"), max_length=40)
    # The data version: the newest household version and change time among the targets,
    # and the latest rollup period, so anyone can tell which state of the data it saw.
    data_version = models.JSONField(_("versi data"), default=dict)
    frozen_at = models.DateTimeField(_("dibekukan"), auto_now_add=True)
    frozen_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    size = models.PositiveIntegerField(_("jumlah sasaran"))

    class Meta:
        verbose_name = _("daftar sasaran")
        verbose_name_plural = _("daftar sasaran")
        ordering = ["programme", "version"]
        constraints = [
            models.UniqueConstraint(fields=["programme", "version"], name="target_list_version")
        ]


class Target(models.Model):
    """One household of a frozen list, as it was: its village, version and why it was in."""

    target_list = models.ForeignKey(TargetList, on_delete=models.PROTECT, related_name="targets")
    # No database constraint: the frozen list outlives the household record.
    household = models.ForeignKey(
        "households.Household",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    region_code = models.CharField(_("kode desa"), max_length=13)
    household_version = models.PositiveIntegerField(_("versi rumah tangga"))
    reason = models.JSONField(_("alasan"), default=dict)

    class Meta:
        verbose_name = _("sasaran")
        verbose_name_plural = _("sasaran")
        constraints = [
            models.UniqueConstraint(fields=["target_list", "household"], name="target_unique")
        ]


class Status(models.TextChoices):
    PROPOSED = "diusulkan", _("diusulkan")
    APPROVED = "disetujui", _("disetujui")
    IN_PROGRESS = "dikerjakan", _("dikerjakan")
    DONE = "selesai", _("selesai")
    VERIFIED = "terverifikasi", _("terverifikasi")
    REJECTED = "ditolak", _("ditolak")
    CANCELLED = "batal", _("batal")


# The status machine: from each status, where an intervention may go. `dikerjakan` to
# itself records progress.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    Status.PROPOSED: (Status.APPROVED, Status.REJECTED, Status.CANCELLED),
    Status.APPROVED: (Status.IN_PROGRESS, Status.DONE, Status.CANCELLED),
    Status.IN_PROGRESS: (Status.IN_PROGRESS, Status.DONE, Status.CANCELLED),
    Status.DONE: (Status.VERIFIED, Status.IN_PROGRESS),
    Status.VERIFIED: (),
    Status.REJECTED: (),
    Status.CANCELLED: (),
}
# Statuses that count as an intervention reaching the household (coverage, double aid).
ACTIVE_STATUSES = (
    Status.PROPOSED,
    Status.APPROVED,
    Status.IN_PROGRESS,
    Status.DONE,
    Status.VERIFIED,
)


class Intervention(models.Model):
    """One unit (a household, or a member for member programmes) of one programme."""

    programme = models.ForeignKey(Programme, on_delete=models.PROTECT, related_name="interventions")
    household = models.ForeignKey(
        "households.Household", on_delete=models.PROTECT, related_name="interventions"
    )
    member = models.ForeignKey(
        "households.Member",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="interventions",
    )
    target = models.ForeignKey(
        Target, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    status = models.CharField(
        _("status"), max_length=15, choices=Status.choices, default=Status.PROPOSED
    )
    progress = models.PositiveSmallIntegerField(_("kemajuan (%)"), default=0)
    planned_amount = models.DecimalField(
        _("anggaran rencana"), max_digits=14, decimal_places=0, null=True, blank=True
    )
    realised_amount = models.DecimalField(
        _("anggaran realisasi"), max_digits=14, decimal_places=0, null=True, blank=True
    )
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    # Verification by data: a later record of the household no longer meets the indicator.
    confirmed_by_data_at = models.DateTimeField(_("terkonfirmasi data"), null=True, blank=True)
    updated_at = models.DateTimeField(_("diubah"), auto_now=True)

    class Meta:
        verbose_name = _("intervensi")
        verbose_name_plural = _("intervensi")
        constraints = [
            models.UniqueConstraint(
                fields=["programme", "household"],
                condition=Q(member__isnull=True),
                name="intervention_one_per_household",
            ),
            models.UniqueConstraint(
                fields=["programme", "member"],
                condition=Q(member__isnull=False),
                name="intervention_one_per_member",
            ),
            models.CheckConstraint(
                condition=Q(progress__lte=100), name="intervention_progress_percent"
            ),
            models.CheckConstraint(
                condition=Q(verified_by__isnull=True)
                | Q(done_by__isnull=True)
                | ~Q(verified_by=models.F("done_by")),
                name="intervention_four_eyes",
            ),
        ]
        indexes = [models.Index(fields=["household", "status"])]

    def __str__(self) -> str:
        return f"{self.programme.code} #{self.household_id} ({self.status})"


class InterventionEvent(models.Model):
    """One transition of an intervention (append-only: a trigger refuses changes)."""

    intervention = models.ForeignKey(Intervention, on_delete=models.PROTECT, related_name="events")
    at = models.DateTimeField(_("waktu"), auto_now_add=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    from_status = models.CharField(_("dari"), max_length=15, blank=True)
    to_status = models.CharField(_("menjadi"), max_length=15)
    progress = models.PositiveSmallIntegerField(_("kemajuan (%)"), default=0)
    note = models.CharField(_("catatan"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("riwayat intervensi")
        verbose_name_plural = _("riwayat intervensi")
        ordering = ["at", "id"]


class EvidencePhoto(models.Model):
    """A photo of the work, re-encoded without its metadata; only its GPS point is kept."""

    intervention = models.ForeignKey(Intervention, on_delete=models.PROTECT, related_name="photos")
    image = models.BinaryField(_("foto"))
    content_type = models.CharField(max_length=30, default="image/jpeg")
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    lokasi = models.PointField(_("lokasi foto"), srid=4326, null=True, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("diunggah"), auto_now_add=True)

    class Meta:
        verbose_name = _("foto bukti")
        verbose_name_plural = _("foto bukti")
        ordering = ["uploaded_at", "id"]


class ProgrammeVillageStat(models.Model):
    """The programme's rollup per village, kept by the services in the transaction of
    every write (so pages read it, never GROUP BY interventions per request)."""

    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="stats")
    region = models.ForeignKey("villages.Region", on_delete=models.CASCADE, related_name="+")
    targets = models.PositiveIntegerField(default=0)
    counts = models.JSONField(default=dict)  # {status: interventions}
    confirmed_by_data = models.PositiveIntegerField(default=0)
    planned = models.DecimalField(max_digits=16, decimal_places=0, default=0)
    realised = models.DecimalField(max_digits=16, decimal_places=0, default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["programme", "region"], name="programme_stat_unique")
        ]


class CoverageCell(models.Model):
    """Per indicator, year and village: the households with an active intervention of any
    programme addressing the indicator (the coverage gap's reached part). Kept like
    ProgrammeVillageStat."""

    indicator = models.ForeignKey(
        "households.Indicator", on_delete=models.CASCADE, related_name="+"
    )
    year = models.PositiveSmallIntegerField()
    region = models.ForeignKey("villages.Region", on_delete=models.CASCADE, related_name="+")
    reached = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["indicator", "year", "region"], name="coverage_cell_unique"
            )
        ]


class ProgrammeMonthStat(models.Model):
    """Progress over time: how many interventions of the programme reached each status in
    each month (local time), counted by the services as the events are written."""

    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="months")
    month = models.CharField(max_length=7)  # YYYY-MM
    status = models.CharField(max_length=15, choices=Status.choices)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["programme", "month", "status"], name="programme_month_unique"
            )
        ]
