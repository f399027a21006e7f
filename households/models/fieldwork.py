"""Submissions from the field tools (ODK Central, KoboToolbox) the portal has imported:
one row per instance ID, so that importing the same export again changes nothing."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ReviewState(models.TextChoices):
    """A submission's review on the collection server (ODK Central's ReviewState,
    KoboToolbox's _validation_status), in one vocabulary."""

    RECEIVED = "received", _("Belum ditinjau")
    APPROVED = "approved", _("Disetujui")
    HAS_ISSUES = "has_issues", _("Ada masalah")
    REJECTED = "rejected", _("Ditolak")


class SubmissionKind(models.TextChoices):
    CENSUS = "sensus", _("Sensus rumah tangga")
    VISIT = "kunjungan", _("Kunjungan ulang")


class FieldSubmission(models.Model):
    instance_id = models.CharField(_("ID kiriman"), max_length=100, unique=True)
    kind = models.CharField(_("jenis"), max_length=10, choices=SubmissionKind.choices)
    source = models.CharField(_("sumber"), max_length=20)  # odk_central, kobo
    review_state = models.CharField(
        _("status tinjauan"), max_length=12, choices=ReviewState.choices
    )
    # The household it wrote (kept when the household is later removed, for the record).
    household = models.ForeignKey(
        "households.Household",
        verbose_name=_("rumah tangga"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="field_submissions",
    )
    # The village, so that "already imported" is answered within the caller's scope only.
    region = models.ForeignKey(
        "villages.Region", on_delete=models.PROTECT, related_name="+", null=True
    )
    job = models.ForeignKey(
        "households.ImportJob", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    imported_at = models.DateTimeField(_("diimpor"), auto_now_add=True)

    class Meta:
        verbose_name = _("kiriman lapangan")
        verbose_name_plural = _("kiriman lapangan")
        ordering = ["-imported_at"]

    def __str__(self) -> str:
        return self.instance_id
