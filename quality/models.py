"""Quality rules (data), the flags they raise, accepted flags, and village sign-off."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


class RuleScope(models.TextChoices):
    HOUSEHOLD = "rumah_tangga", _("Rumah tangga")
    MEMBER = "anggota", _("Anggota keluarga")
    AREA = "wilayah", _("Wilayah")


class Severity(models.TextChoices):
    ERROR = "kesalahan", _("Kesalahan")
    WARNING = "peringatan", _("Peringatan")


class Rule(models.Model):
    """A quality rule as data (quality/rules.json, editable in the admin). Its `code`
    names the set-based check in quality/checks.py; `parameters` tune it (bounds,
    distances, thresholds). Its texts are data, in both languages, like an indicator's."""

    code = models.SlugField(_("kode"), max_length=40, primary_key=True)
    scope = models.CharField(_("cakupan"), max_length=15, choices=RuleScope.choices)
    severity = models.CharField(_("tingkat"), max_length=12, choices=Severity.choices)
    name_id = models.CharField(_("nama (Indonesia)"), max_length=150)
    name_en = models.CharField(_("nama (Inggris)"), max_length=150)
    description_id = models.TextField(_("uraian (Indonesia)"), blank=True)
    description_en = models.TextField(_("uraian (Inggris)"), blank=True)
    parameters = models.JSONField(_("parameter"), default=dict, blank=True)
    sort_order = models.PositiveSmallIntegerField(_("urutan"), default=100)
    active = models.BooleanField(_("aktif"), default=True)

    class Meta:
        verbose_name = _("aturan kualitas data")
        verbose_name_plural = _("aturan kualitas data")
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        return f"{self.code}: {self.name_id}"

    def name(self, language: str | None = None) -> str:
        language = language or get_language() or "id"
        return self.name_en if language.startswith("en") and self.name_en else self.name_id

    def description(self, language: str | None = None) -> str:
        language = language or get_language() or "id"
        if language.startswith("en") and self.description_en:
            return self.description_en
        return self.description_id


class Flag(models.Model):
    """One record (a household, a member, or an area's indicator value) that breaks one
    rule, as found by the last refresh of its village. Rewritten per village by
    `services.flags_refresh`; never edited by hand."""

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="flags")
    # The village the record belongs to (for area rules: the area itself).
    region = models.ForeignKey(
        "villages.Region", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    # No database constraint on household, member and indicator: a flag is derived data,
    # and the import's set-based upsert and other raw writers delete households and
    # members in SQL; the village is then marked stale and its flags rewritten by the
    # refresh that follows.
    household = models.ForeignKey(
        "households.Household",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
    )
    member = models.ForeignKey(
        "households.Member",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
    )
    # For area rules: the indicator and period of the value.
    indicator = models.ForeignKey(
        "households.Indicator",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
    )
    period = models.CharField(_("periode"), max_length=40, blank=True)
    # "household:<pk>", "member:<pk>" or "area:<code>:<indicator>:<period>": what an
    # acceptance ("bukan masalah") is kept against, so the flag does not come back.
    record_key = models.CharField(max_length=120)
    details = models.JSONField(default=dict, blank=True)
    found_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("temuan kualitas data")
        verbose_name_plural = _("temuan kualitas data")
        ordering = ["region_id", "rule__sort_order", "record_key"]
        indexes = [models.Index(fields=["region", "rule"], name="quality_flag_region_rule")]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "record_key"], name="quality_flag_one_per_rule_record"
            )
        ]

    def __str__(self) -> str:
        return f"{self.rule_id} {self.record_key}"


class Acceptance(models.Model):
    """ "Bukan masalah": a flag someone looked at and accepted, with a note. Kept by rule
    and record key, so the next refresh does not raise it again; append-only (an
    acceptance is withdrawn by deleting it in the admin, which the audit log keeps)."""

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="+")
    record_key = models.CharField(max_length=120)
    region = models.ForeignKey("villages.Region", on_delete=models.CASCADE, related_name="+")
    note = models.TextField(_("catatan"))
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    accepted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("temuan diterima")
        verbose_name_plural = _("temuan diterima")
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "record_key"], name="quality_acceptance_one_per_rule_record"
            ),
            models.CheckConstraint(condition=~Q(note=""), name="quality_acceptance_has_note"),
        ]

    def __str__(self) -> str:
        return f"{self.rule_id} {self.record_key}"


class SignOffStatus(models.TextChoices):
    SUBMITTED = "diajukan", _("Siap diverifikasi")
    APPROVED = "disetujui", _("Disetujui")
    RETURNED = "dikembalikan", _("Dikembalikan")
    REOPENED = "dibuka_kembali", _("Dibuka kembali")


class SignOffAction(models.TextChoices):
    SUBMIT = "ajukan", _("Ajukan")
    APPROVE = "setujui", _("Setujui")
    RETURN = "kembalikan", _("Kembalikan")
    REOPEN = "buka_kembali", _("Buka kembali")


# The state machine: action -> (states it may start from, state it leads to). None as a
# start is a village never submitted for the round (no row yet).
TRANSITIONS: dict[str, tuple[tuple[str | None, ...], str]] = {
    SignOffAction.SUBMIT: (
        (None, SignOffStatus.RETURNED, SignOffStatus.REOPENED),
        SignOffStatus.SUBMITTED,
    ),
    SignOffAction.APPROVE: ((SignOffStatus.SUBMITTED,), SignOffStatus.APPROVED),
    SignOffAction.RETURN: ((SignOffStatus.SUBMITTED,), SignOffStatus.RETURNED),
    SignOffAction.REOPEN: ((SignOffStatus.APPROVED,), SignOffStatus.REOPENED),
}
# Actions that must say why.
NOTE_REQUIRED = {SignOffAction.RETURN, SignOffAction.REOPEN}


class SignOff(models.Model):
    """A village's data for one survey round, on its way to approval."""

    region = models.ForeignKey("villages.Region", on_delete=models.CASCADE, related_name="+")
    survey_round = models.ForeignKey(
        "households.SurveyRound", on_delete=models.CASCADE, related_name="+"
    )
    status = models.CharField(_("status"), max_length=15, choices=SignOffStatus.choices)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_at = models.DateTimeField(null=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField(null=True)
    note = models.TextField(_("catatan"), blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("verifikasi desa")
        verbose_name_plural = _("verifikasi desa")
        constraints = [
            models.UniqueConstraint(
                fields=["region", "survey_round"], name="quality_signoff_one_per_round"
            ),
            models.CheckConstraint(
                condition=~Q(status="disetujui") | Q(approved_at__isnull=False),
                name="quality_signoff_approved_has_date",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.region_id} {self.survey_round_id}: {self.status}"


class SignOffEvent(models.Model):
    """The audit trail of a sign-off: every step, who took it, and the note."""

    signoff = models.ForeignKey(SignOff, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=15, choices=SignOffAction.choices)
    from_status = models.CharField(max_length=15, blank=True)
    to_status = models.CharField(max_length=15)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    note = models.TextField(blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.action} {self.at:%Y-%m-%d %H:%M}"
