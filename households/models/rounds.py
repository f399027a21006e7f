"""Survey rounds: each time the households of an area are observed (a census, a yearly
update, an external list's refresh). Every import and every edit belongs to the round
that is open; a closed round's figures and answers are frozen (see docs/architecture.md,
"Rounds").

At most one round is open at a time, for the whole installation: a kabupaten runs one
pendataan at a time, and "which round does this edit belong to" must have one answer.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class RoundStatus(models.TextChoices):
    OPEN = "terbuka", _("Terbuka")
    CLOSED = "ditutup", _("Ditutup")


class RoundSource(models.TextChoices):
    """Where a round's answers come from: our own door-to-door census or update, or a
    national list the portal receives (its welfare decile is BPS's, never ours)."""

    CENSUS = "pendataan", _("Pendataan (sensus rumah tangga)")
    UPDATE = "pemutakhiran", _("Pemutakhiran data")
    REGSOSEK = "regsosek", _("Regsosek (BPS)")
    DTSEN = "dtsen", _("DTSEN (BPS)")


class SurveyRound(models.Model):
    code = models.SlugField(
        _("kode"),
        max_length=40,
        unique=True,
        help_text=_("Singkat dan tetap, mis. 2024-pendataan; dipakai di URL dan API."),
    )
    name = models.CharField(_("nama"), max_length=150)
    source = models.CharField(_("sumber"), max_length=20, choices=RoundSource.choices)
    reference_date = models.DateField(
        _("tanggal acuan"), help_text=_("Tanggal yang digambarkan oleh data putaran ini.")
    )
    # The fieldwork window: survey dates outside it are flagged by the data-quality rules.
    fieldwork_start = models.DateField(_("awal pendataan"), null=True, blank=True)
    fieldwork_end = models.DateField(_("akhir pendataan"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=RoundStatus.choices, default=RoundStatus.OPEN
    )
    opened_at = models.DateTimeField(_("dibuka"), auto_now_add=True)
    closed_at = models.DateTimeField(_("ditutup"), null=True, blank=True)
    # The welfare decile is BPS's (Regsosek/DTSEN ranking), never the portal's: which list
    # and which vintage of it the households' deciles of this round come from.
    decile_source = models.CharField(
        _("sumber desil"),
        max_length=20,
        blank=True,
        help_text=_("Daftar BPS asal desil kesejahteraan putaran ini, mis. DTSEN."),
    )
    decile_vintage = models.CharField(
        _("versi desil"),
        max_length=40,
        blank=True,
        help_text=_("Pemutakhiran daftar itu, mis. 2025-T1 (triwulan pertama 2025)."),
    )
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("ditutup oleh"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("putaran pendataan")
        verbose_name_plural = _("putaran pendataan")
        ordering = ["reference_date", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["status"],
                condition=Q(status="terbuka"),
                name="survey_round_one_open",
                violation_error_message=_("Hanya satu putaran pendataan yang boleh terbuka."),
            ),
            models.CheckConstraint(
                condition=Q(fieldwork_start__isnull=True)
                | Q(fieldwork_end__isnull=True)
                | Q(fieldwork_start__lte=models.F("fieldwork_end")),
                name="survey_round_fieldwork_ordered",
                violation_error_message=_("Akhir pendataan tidak boleh sebelum awalnya."),
            ),
            models.CheckConstraint(
                condition=Q(status="terbuka", closed_at__isnull=True)
                | Q(status="ditutup", closed_at__isnull=False),
                name="survey_round_closed_has_date",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_open(self) -> bool:
        return self.status == RoundStatus.OPEN


class HouseholdObservation(models.Model):
    """The panel: what one household answered at one round, written for every household
    when the round closes (households/rounds.py `round_close`, one INSERT ... SELECT), so
    the live record can move on while a closed round stays readable household by
    household. Why a table written at closing rather than versioned rows or partitions:
    docs/architecture.md, "Rounds"."""

    survey_round = models.ForeignKey(
        SurveyRound, verbose_name=_("putaran"), on_delete=models.PROTECT, related_name="+"
    )
    # No database constraint: the panel outlives a household record deleted later.
    household = models.ForeignKey(
        "households.Household",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="observations",
    )
    # The household's village at that round (a move changes it in the live record).
    region = models.ForeignKey(
        "villages.Region", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    # The catalogue's coded answers, the decile with its source and vintage, and the
    # members' summary, as they were when the round closed.
    answers = models.JSONField(_("jawaban"))
    # {indicator code: [numerator, denominator]} of this household at that round: what the
    # rollup summed (a village's frozen value is the sum over its observations).
    indicators = models.JSONField(_("indikator"))

    class Meta:
        verbose_name = _("pengamatan rumah tangga")
        verbose_name_plural = _("pengamatan rumah tangga")
        constraints = [
            models.UniqueConstraint(
                fields=["survey_round", "household"], name="household_observation_unique"
            )
        ]
        indexes = [models.Index(fields=["survey_round", "region"], name="observation_round_region")]

    def __str__(self) -> str:
        return f"{self.survey_round_id}:{self.household_id}"
