"""The register of life events (issue 13): what happened to whom, when, where, by whom.

A member's status says only where they are now; the register keeps every birth, death,
move and split with its date, so that a village's monthly report (births, deaths, moves
in and out, by sex, per dusun) is a count of rows. Each row is written by the service
that records the event (households.services), in the same transaction as the change it
records, and keeps a snapshot of what a report needs at that moment: the village, the
household's dusun/RW/RT, the member's sex, and the name and NIK as they were (a member
who later moved to another village is shown to the origin village as it knew them; see
selectors.life_events_for).

Deleting a member or a household (a member entered by mistake, a census import that
removes members with plain SQL) keeps its events: the references become NULL, the
snapshots stay. The database's foreign keys say so (ON DELETE SET NULL, created by
migration 0019, which Django 5.2 cannot declare: the fields are `db_constraint=False` for
Django and SET_NULL for the ORM's own deletes).
"""

from __future__ import annotations

from django.contrib.gis.db import models
from django.db.models import Func, Q
from django.utils.translation import gettext_lazy as _

from villages.models import Level

from .households import Household, Member, coded


class EventKind(models.TextChoices):
    BIRTH = "lahir", _("Lahir")
    DEATH = "meninggal", _("Meninggal")
    MOVED_OUT = "pindah_keluar", _("Pindah keluar")
    MOVED_IN = "pindah_masuk", _("Pindah masuk")
    # Between two households of the portal, the member row (NIK, history) kept.
    TRANSFER = "pindah_kk", _("Pindah KK")
    SPLIT = "pecah_kk", _("Pecah KK")
    HEAD_CHANGE = "ganti_kepala", _("Ganti kepala keluarga")


# Kinds with a second household (from/to): the transfer's destination, the split's new one.
TWO_HOUSEHOLD_KINDS = (EventKind.TRANSFER, EventKind.SPLIT)
# Kinds with a place outside the portal (where to, where from), when known.
PLACE_KINDS = (EventKind.MOVED_OUT, EventKind.MOVED_IN)


class CurrentActor(Func):
    """The acting user as the change history has it (`<id>:<username>@<address>`, the
    setting `desapresisi.actor` that the request or the service sets), read by the
    database when the row is written, like the history triggers read it."""

    template = "coalesce(current_setting('desapresisi.actor', true), '')"
    output_field = models.CharField()

    def __init__(self):
        super().__init__()


class LifeEvent(models.Model):
    kind = models.CharField(_("jenis peristiwa"), max_length=15, choices=EventKind.choices)
    tanggal = models.DateField(_("tanggal peristiwa"))
    member = models.ForeignKey(
        Member,
        db_constraint=False,  # ON DELETE SET NULL in the database (migration 0019)
        verbose_name=_("anggota"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="life_events",
    )
    household = models.ForeignKey(
        Household,
        db_constraint=False,  # ON DELETE SET NULL in the database (migration 0019)
        verbose_name=_("rumah tangga"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="life_events",
        help_text=_("Tempat peristiwa; untuk pindah KK dan pecah KK: rumah tangga asal."),
    )
    other_household = models.ForeignKey(
        Household,
        db_constraint=False,  # ON DELETE SET NULL in the database (migration 0019)
        verbose_name=_("rumah tangga lain"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="life_events_as_other",
        help_text=_("Pindah KK: rumah tangga tujuan; pecah KK: rumah tangga baru."),
    )
    # Snapshots at the moment of the event (they stay when the household or member changes).
    region = models.ForeignKey(
        "villages.Region",
        verbose_name=_("desa/kelurahan"),
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"level": Level.DESA},
    )
    dusun = models.CharField(_("dusun/lingkungan"), max_length=60, blank=True)
    rw = models.CharField(_("RW"), max_length=3, blank=True)
    rt = models.CharField(_("RT"), max_length=3, blank=True)
    other_region = models.ForeignKey(
        "villages.Region",
        verbose_name=_("desa/kelurahan lain"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        limit_choices_to={"level": Level.DESA},
    )
    other_dusun = models.CharField(_("dusun/lingkungan lain"), max_length=60, blank=True)
    other_rw = models.CharField(_("RW lain"), max_length=3, blank=True)
    other_rt = models.CharField(_("RT lain"), max_length=3, blank=True)
    jenis_kelamin = coded("jenis_kelamin", _("jenis kelamin"))
    nama = models.CharField(_("nama"), max_length=120, blank=True)
    nik = models.CharField(_("NIK"), max_length=16, blank=True)
    asal_tujuan = models.CharField(
        _("asal/tujuan di luar portal"),
        max_length=200,
        blank=True,
        help_text=_("Pindah keluar: tujuan; pindah masuk: asal (bila diketahui)."),
    )
    actor = models.CharField(_("pelaku"), max_length=160, blank=True, db_default=CurrentActor())
    dicatat = models.DateTimeField(_("dicatat"), auto_now_add=True)

    class Meta:
        verbose_name = _("peristiwa kependudukan")
        verbose_name_plural = _("peristiwa kependudukan")
        ordering = ["-tanggal", "-id"]
        indexes = [
            # Reports per village and period, for either side of a move.
            models.Index(fields=["region", "tanggal"], name="lifeevent_region_date_idx"),
            models.Index(
                fields=["other_region", "tanggal"],
                name="lifeevent_other_date_idx",
                condition=Q(other_region__isnull=False),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(tanggal__gte="1900-01-01"), name="lifeevent_date_plausible"
            ),
            models.CheckConstraint(
                condition=Q(other_region__isnull=True) | Q(kind__in=TWO_HOUSEHOLD_KINDS),
                name="lifeevent_other_household_only_for_moves_between",
            ),
            models.CheckConstraint(
                condition=Q(asal_tujuan="") | Q(kind__in=PLACE_KINDS),
                name="lifeevent_place_only_for_moves_out_or_in",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.tanggal:%Y-%m-%d}"


class TemporarySerial(models.Model):
    """The last serial handed out per kind of temporary number and village (`nik:` or
    `kk:` and the number's prefix, '0' + the village's digits): a temporary NIK or No. KK
    that was replaced by the issued one is never handed out again (the history and the
    register still name it)."""

    key = models.CharField(max_length=24, primary_key=True)
    last = models.PositiveIntegerField()

    class Meta:
        verbose_name = _("nomor urut sementara")
        verbose_name_plural = _("nomor urut sementara")
