"""Writes of the quality app: loading the rules, refreshing flags, accepting a flag, and
the steps of a village's sign-off."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_noop
from django_tasks import task

from desapresisi.access import can_accept_flags, can_submit_village, can_verify_village
from desapresisi.errors import InvalidInput, NotAllowed, NotReady
from desapresisi.i18n import Message
from desapresisi.models import DataVersion
from households.models import RoundStatus, SurveyRound
from villages.codes import subtree_q

from .checks import AREA_CHECKS, CHECKS, FLAG_COLUMNS, planned, previous_periods
from .models import (
    NOTE_REQUIRED,
    TRANSITIONS,
    Acceptance,
    Flag,
    Rule,
    SignOff,
    SignOffAction,
    SignOffEvent,
    SignOffStatus,
)

logger = logging.getLogger(__name__)

DATA_FILE = Path(__file__).resolve().parent / "rules.json"


def rules_load(*, update: bool = False) -> tuple[int, int]:
    """Create the rules of quality/rules.json that are missing; with `update`, overwrite
    existing ones too (edits made in the admin are otherwise kept). Returns (created,
    updated)."""
    with DATA_FILE.open(encoding="utf-8") as handle:
        definitions = json.load(handle)["rules"]
    created = updated = 0
    for definition in definitions:
        if definition["code"] not in CHECKS:
            raise ValueError(f"rule {definition['code']} has no check in quality/checks.py")
        values = {key: value for key, value in definition.items() if key != "code"}
        rule = Rule.objects.filter(code=definition["code"]).first()
        if rule is None:
            Rule.objects.create(code=definition["code"], **values)
            created += 1
        elif update:
            for key, value in values.items():
                setattr(rule, key, value)
            rule.save()
            updated += 1
    return created, updated


@dataclass
class FlagRefreshResult:
    villages: int | None  # None: all
    flags: int
    seconds: float


def _check_sql(rule: Rule, *, villages: list[str] | None, kecamatan: list[str] | None):
    sql, params = CHECKS[rule.code](rule.parameters or {})
    params = {**params, "villages": villages, "kecamatan": kecamatan}
    if rule.code == "lonjakan_putaran":
        with connection.cursor() as cursor:
            cursor.execute("SELECT DISTINCT period FROM households_indicatorvalue")
            periods = [row[0] for row in cursor.fetchall()]
        rounds = dict(SurveyRound.objects.values_list("code", "reference_date"))
        pairs = previous_periods(periods, rounds)
        params["periods"], params["previous"] = list(pairs), list(pairs.values())
    return sql, params


@task()
def flags_refresh_task(villages: list[str] | None = None) -> None:
    """`flags_refresh` in the background worker (queued after a large import's refresh)."""
    result = flags_refresh(villages=villages)
    logger.info("quality flags: %s flags in %.2f s", result.flags, result.seconds)


def flags_refresh(*, villages: list[str] | None = None) -> FlagRefreshResult:
    """Rewrite the flags of `villages` (None: everywhere): each active rule's one SQL
    check, minus what was accepted. Record rules look at the villages themselves; area
    rules (outliers among sibling villages, jumps between periods) at every village of
    their kecamatan, whose median a changed village moves. Runs after each committed
    rollup refresh (apps.py), for the villages the refresh recomputed."""
    started = time.perf_counter()
    kecamatan = None if villages is None else sorted({code[:8] for code in villages})
    total = 0
    columns = ", ".join(FLAG_COLUMNS)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('quality_flags_refresh'))")
        for rule in Rule.objects.all():
            area = rule.code in AREA_CHECKS
            stale = Flag.objects.filter(rule=rule)
            if villages is not None:
                stale = stale.filter(
                    subtree_q(kecamatan, "region__code") if area else Q(region_id__in=villages)
                )
            stale.delete()  # one DELETE: nothing refers to a flag
            if not rule.active:
                continue
            sql, params = _check_sql(rule, villages=villages, kecamatan=kecamatan)
            with planned(cursor, rule.code):
                cursor.execute(
                    f"""
                INSERT INTO quality_flag (rule_id, {columns}, found_at)
                SELECT %(rule)s, f.*, now() FROM ({sql}) AS f({columns})
                WHERE NOT EXISTS (SELECT 1 FROM quality_acceptance a
                                  WHERE a.rule_id = %(rule)s AND a.record_key = f.record_key)
                """,  # noqa: S608 - the rules' own SQL, no input
                    {**params, "rule": rule.code},
                )
                # Before the block restores the planner: its statement resets rowcount.
                total += cursor.rowcount
    return FlagRefreshResult(
        villages=None if villages is None else len(villages),
        flags=total,
        seconds=time.perf_counter() - started,
    )


def flag_accept(*, user, flag: Flag, note: str) -> Acceptance:
    """ "Bukan masalah": the village's operator (or an administrator) accepts the flag with
    a note; the acceptance is the audit (who, when, why) and keeps the flag from coming
    back at the next refresh."""
    if not can_accept_flags(user, flag.region_id):
        raise NotAllowed(
            str(Message(gettext_noop("Hanya operator desa ini yang dapat menerima temuan.")))
        )
    note = (note or "").strip()
    if not note:
        raise InvalidInput(
            {"note": str(Message(gettext_noop("Tulis alasan temuan ini bukan masalah.")))}
        )
    with transaction.atomic():
        acceptance, _created = Acceptance.objects.get_or_create(
            rule_id=flag.rule_id,
            record_key=flag.record_key,
            defaults={"region_id": flag.region_id, "note": note, "accepted_by": user},
        )
        flag.delete()
    return acceptance


# --- Village sign-off ---------------------------------------------------------------------


def open_round() -> SurveyRound | None:
    """The round edits and imports belong to (at most one is open)."""
    return SurveyRound.objects.filter(status=RoundStatus.OPEN).first()


def signoff_step(
    *, user, region_code: str, action: str, note: str = "", survey_round: SurveyRound | None = None
) -> SignOff:
    """One step of a village's sign-off for `survey_round` (default: the open round), by
    the state machine (models.TRANSITIONS) and who may take it: the village's operator
    submits; a verifier at kecamatan or kabupaten level approves, returns or reopens (the
    last two with a note). Every step is kept in SignOffEvent."""
    if action not in TRANSITIONS:
        raise InvalidInput({"action": str(Message(gettext_noop("Langkah tidak dikenal.")))})
    survey_round = survey_round or open_round()
    if survey_round is None:
        raise NotReady(str(Message(gettext_noop("Tidak ada putaran pendataan yang terbuka."))))
    allowed = (
        can_submit_village(user, region_code)
        if action == SignOffAction.SUBMIT
        else can_verify_village(user, region_code)
    )
    if not allowed:
        raise NotAllowed(str(Message(gettext_noop("Anda tidak berwenang mengambil langkah ini."))))
    note = (note or "").strip()
    if action in NOTE_REQUIRED and not note:
        raise InvalidInput({"note": str(Message(gettext_noop("Langkah ini memerlukan catatan.")))})
    starts, target = TRANSITIONS[action]
    with transaction.atomic():
        signoff = (
            SignOff.objects.select_for_update()
            .filter(region_id=region_code, survey_round=survey_round)
            .first()
        )
        current = signoff.status if signoff else None
        if current not in starts:
            raise NotReady(
                str(
                    Message(
                        gettext_noop("Langkah ini tidak dapat diambil dari status %(status)s."),
                        status=SignOffStatus(current).label if current else "-",
                    )
                )
            )
        if signoff is None:
            signoff = SignOff(region_id=region_code, survey_round=survey_round)
        now = timezone.now()
        signoff.status = target
        signoff.note = note
        if action == SignOffAction.SUBMIT:
            signoff.submitted_by, signoff.submitted_at = user, now
        if action == SignOffAction.APPROVE:
            signoff.approved_by, signoff.approved_at = user, now
        elif action == SignOffAction.REOPEN:
            signoff.approved_by, signoff.approved_at = None, None
        signoff.save()
        # Approved-only figures read the sign-offs: their validators move with them.
        DataVersion.bump(DataVersion.SIGNOFF)
        SignOffEvent.objects.create(
            signoff=signoff,
            action=action,
            from_status=current or "",
            to_status=target,
            actor=user,
            note=note,
        )
    return signoff


def village_lock_problem(*, region_code: str) -> Message | None:
    """Why village `region_code`'s records may not change: its data for the open round
    was approved (changes only after a verifier reopens it)."""
    approved = (
        SignOff.objects.filter(
            region_id=region_code,
            survey_round__status=RoundStatus.OPEN,
            status=SignOffStatus.APPROVED,
        )
        .select_related("survey_round", "region")
        .first()
    )
    if approved is None:
        return None
    return Message(
        gettext_noop(
            "Data desa %(village)s (%(code)s) untuk putaran %(round)s sudah disetujui: "
            "perubahan hanya setelah dibuka kembali oleh verifikator."
        ),
        village=approved.region.name,
        code=region_code,
        round=approved.survey_round.code,
    )
