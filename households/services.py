"""Writes of single households and members (village operators' edits).

Edits use optimistic locking: the caller sends the `versi` it read; if the row has moved
on, nothing is written and the caller learns the current version (HTTP 409). The database
raises `versi` on every real change and keeps the history (see migration 0006).

Every life event (birth, death, moves, a split, a change of head) also writes its dated
row of the register (`LifeEvent`, `_life_event_record`) in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.contrib.gis.geos import Point
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from desapresisi.i18n import Message
from desapresisi.masking import mask_number

from . import codebook as cb
from . import rules, schema
from .indicators.rollup import indicators_refresh_task
from .models import DataSource, EventKind, Household, LifeEvent, Member, MemberStatus

# Coordinates may lie this far outside the village polygon (simplified boundaries, GPS
# error at the edge of a village) before an edit is refused.
LOCATION_TOLERANCE_M = 250

# Asked before every write to a village's records, with `region_code`: a receiver answers
# a Message when that village's records may not change now (the quality app: a village
# whose data for the open round was approved changes only once reopened). Households do
# not know who answers; the census import asks too (`village_write_problem`).
village_write_check = Signal()


def village_write_problem(*, region_code: str) -> Message | None:
    """Why village `region_code`'s records may not be written now, or None."""
    for _receiver, answer in village_write_check.send(sender=Household, region_code=region_code):
        if answer is not None:
            return answer
    return None


def _village_writable(*region_codes: str) -> None:
    """Refuse the write (a ValidationError naming the village, shown by forms and the
    API alike) when a village of the records it touches is locked."""
    for code in sorted(set(region_codes)):
        problem = village_write_problem(region_code=code)
        if problem is not None:
            raise ValidationError(str(problem))


def household_editable() -> set[str]:
    """What an edit may change (the catalogue's editable household fields)."""
    return schema.editable(schema.HOUSEHOLD)


def member_editable() -> set[str]:
    return schema.editable(schema.MEMBER)


class StaleEdit(Exception):
    def __init__(self, current_version: int):
        super().__init__(current_version)
        self.current_version = current_version


@dataclass
class EditResult:
    pk: int
    versi: int
    changed: list[str]


def _apply(
    *, instance, changes: dict[str, Any], editable: set[str], expected_version: int
) -> EditResult:
    unknown = sorted(set(changes) - editable)
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, _("Kolom ini tidak dapat diubah.")))
    if instance.versi != expected_version:
        raise StaleEdit(instance.versi)
    changed = [name for name, value in changes.items() if getattr(instance, name) != value]
    for name in changed:
        setattr(instance, name, changes[name])
    if not changed:
        return EditResult(instance.pk, instance.versi, [])
    instance.full_clean(exclude=["household", "region"])
    try:
        with transaction.atomic():
            instance.save(update_fields=[*changed, "diubah"])
    except IntegrityError as exc:
        raise ValidationError(str(exc).split("\n")[0]) from exc
    instance.refresh_from_db(fields=["versi"])
    # Triggers marked the village stale; the worker brings its figures and map cells up to
    # date once this edit is committed, without holding up the request.
    transaction.on_commit(indicators_refresh_task.enqueue)
    return EditResult(instance.pk, instance.versi, changed)


def _answer_problems(instance, changes: dict[str, Any]) -> None:
    """The shared rules on a record's answers as they would be after `changes`: no answer
    where the questionnaire skips it, a decile with its source. Refused by answer (a stored
    row already satisfies them: the database's check constraints say the same)."""
    after = {
        name: changes.get(name, getattr(instance, name))
        for name in schema.editable(
            schema.HOUSEHOLD if isinstance(instance, Household) else schema.MEMBER
        )
        if name != "lokasi"
    }
    problems = rules.skipped_answer_problems(type(instance), after)
    if isinstance(instance, Household):
        decile = rules.decile_source_problem(after["desil_kesejahteraan"], after["desil_sumber"])
        if decile:
            problems["desil_sumber"] = decile
    if problems:
        raise ValidationError({name: str(message) for name, message in problems.items()})


def household_update(
    *, queryset: QuerySet, pk: int, changes: dict[str, Any], expected_version: int
) -> EditResult:
    """Edit one household of `queryset` (already narrowed to what the caller may edit)."""
    survey = changes.get("tanggal_survei")
    if survey is not None and rules.survey_date_problem(survey):
        raise ValidationError({"tanggal_survei": str(rules.survey_date_problem(survey))})
    with transaction.atomic():
        household = queryset.select_for_update().get(pk=pk)
        _village_writable(household.region_id)
        _answer_problems(household, changes)
        location = changes.get("lokasi")
        if location is not None:
            changes["lokasi"] = _checked_location(household, location)
        return _apply(
            instance=household,
            changes=changes,
            editable=household_editable(),
            expected_version=expected_version,
        )


def member_update(
    *, queryset: QuerySet, pk: int, changes: dict[str, Any], expected_version: int
) -> EditResult:
    with transaction.atomic():
        member = queryset.select_for_update(of=("self",)).get(pk=pk)
        _village_writable(member.household.region_id)
        _answer_problems(member, changes)
        relationship = changes.get("hubungan_keluarga", member.hubungan_keluarga)
        if (relationship == HEAD) != member.is_head:
            # One head per household, changed only as its own event (both rows at once).
            raise ValidationError(
                {
                    "hubungan_keluarga": _(
                        "Kepala keluarga diganti dengan peristiwa ganti kepala keluarga, "
                        "bukan dengan mengubah data anggota."
                    )
                }
            )
        if {"tanggal_lahir", "jenis_kelamin"} & set(changes):
            # The shared rules on the member as it would be: a plausible birth date that
            # agrees with the NIK (digits 7-12), as the import and a birth check them.
            problems = rules.member_identity_problems(
                nik=member.nik,
                birth=changes.get("tanggal_lahir", member.tanggal_lahir),
                sex=changes.get("jenis_kelamin", member.jenis_kelamin),
            )
            if problems:
                raise ValidationError({key: str(value) for key, value in problems.items()})
        return _apply(
            instance=member,
            changes=changes,
            editable=member_editable(),
            expected_version=expected_version,
        )


# --- Data entry: a household with its head, members added and removed (issue 13) ----------

# A NIK taken by another save between the check and the write (the unique index).
NIK_TAKEN = gettext_noop("NIK ini baru saja dipakai anggota lain; periksa lagi.")
# The head's answers a new household needs besides the household's own.
HEAD_REQUIRED = ("nama", "jenis_kelamin", "tanggal_lahir")


def _person_problems(
    *,
    values: dict[str, Any],
    nik: str,
    visible: QuerySet,
    survey: dt.date | None,
    prefix: str = "",
) -> dict[str, str]:
    """What is wrong with a person entered by hand (the shared rules, then the NIK held by
    someone else: within the caller's areas named by the masked No. KK, elsewhere by
    nothing). `visible`: the households the caller may see. Errors keyed by `prefix` +
    the member field."""
    errors: dict[str, str] = {}
    for name in HEAD_REQUIRED:
        if values.get(name) in (None, ""):
            errors[prefix + name] = str(Message(rules.REQUIRED))
    birth, sex = values.get("tanggal_lahir"), values.get("jenis_kelamin")
    if birth is not None:
        problem = rules.birth_date_problem(birth, latest=survey)
        if problem:
            errors[prefix + "tanggal_lahir"] = str(problem)
    if nik:
        problem = rules.identity_problem(nik, "NIK")
        if problem:
            errors[prefix + "nik"] = str(problem)
        elif birth is not None:
            mismatch = rules.nik_birth_mismatch(nik, birth, sex)
            if mismatch:
                errors.setdefault(prefix + mismatch[0], str(mismatch[1]))
    if nik and prefix + "nik" not in errors:
        holder = Member.objects.filter(nik=nik).select_related("household").first()
        if holder is not None:
            errors[prefix + "nik"] = (
                _("NIK ini sudah dipakai anggota lain (KK %(kk)s).")
                % {"kk": mask_number(holder.household.no_kk)}
                if visible.filter(pk=holder.household_id).exists()
                else str(Message(ELSEWHERE))
            )
    return errors


def _unknown_fields(values: dict[str, Any], editable: set[str], prefix: str = "") -> None:
    unknown = sorted(set(values) - editable)
    if unknown:
        raise ValidationError(
            {prefix + name: _("Kolom ini tidak dapat diubah.") for name in unknown}
        )


def household_create(
    *,
    household_queryset: QuerySet,
    village_code: str,
    no_kk: str,
    answers: dict[str, Any],
    head: dict[str, Any],
    head_nik: str = "",
    actor: str | None = None,
) -> EditResult:
    """Add a household to village `village_code` (the caller checked it may) with its head
    of household, in one transaction: `answers` are the catalogue's editable household
    fields (`lokasi` as [bujur, lintang], checked by the one location rule), `head` the
    head's editable member fields (SHDK 1 is set here). Without a No. KK or a NIK (not yet
    issued) the portal gives a temporary one, as at a birth or a split. The source is
    manual entry; the triggers count the head, write the history (with the actor) and
    mark the village stale. `household_queryset`: the households the caller may see
    (whom a number already in use may be named to). Errors are keyed by the household
    field, `no_kk`, and `kepala_` + the member field."""
    _unknown_fields(answers, household_editable())
    _unknown_fields(head, member_editable() - {"hubungan_keluarga"}, "kepala_")
    answers, head = dict(answers), dict(head)
    no_kk, head_nik = (no_kk or "").strip(), (head_nik or "").strip()
    errors: dict[str, str] = {}
    if no_kk:
        problem = rules.identity_problem(no_kk, "No. KK")
        if problem:
            errors["no_kk"] = str(problem)
        else:
            holder = Household.objects.filter(no_kk=no_kk).values_list("pk", flat=True).first()
            if holder is not None:
                errors["no_kk"] = (
                    _("No. KK ini sudah dipakai rumah tangga lain.")
                    if household_queryset.filter(pk=holder).exists()
                    else str(Message(ELSEWHERE))
                )
    survey = answers.get("tanggal_survei")
    if survey is None:
        errors["tanggal_survei"] = str(Message(rules.REQUIRED))
    elif rules.survey_date_problem(survey):
        errors["tanggal_survei"] = str(rules.survey_date_problem(survey))
    errors.update(
        _person_problems(
            values=head, nik=head_nik, visible=household_queryset, survey=survey, prefix="kepala_"
        )
    )
    for name, message in rules.skipped_answer_problems(Household, answers).items():
        errors.setdefault(name, str(message))
    decile = rules.decile_source_problem(
        answers.get("desil_kesejahteraan"), answers.get("desil_sumber", "")
    )
    if decile:
        errors.setdefault("desil_sumber", str(decile))
    for name, message in rules.skipped_answer_problems(Member, head).items():
        errors.setdefault(f"kepala_{name}", str(message))
    location = answers.get("lokasi")
    if location is not None:
        try:
            answers["lokasi"] = _checked_point(village_code, location)
        except ValidationError as exc:
            errors.update({key: value[0] for key, value in exc.message_dict.items()})
    if errors:
        raise ValidationError(errors)
    _village_writable(village_code)
    with transaction.atomic():
        household = Household(
            no_kk=no_kk or _temporary_number("kk", village_code),
            region_id=village_code,
            sumber_data=DataSource.MANUAL,
            **answers,
        )
        try:
            household.full_clean(exclude=["region"])
        except ValidationError as exc:
            raise _model_errors(exc, {}) from None
        _set_actor(actor)
        try:
            with transaction.atomic():
                household.save()
        except IntegrityError:
            # Another save took the number between the check above and this one.
            raise ValidationError(
                {"no_kk": _("No. KK ini sudah dipakai rumah tangga lain.")}
            ) from None
        member = Member(
            household=household,
            nik=head_nik or _temporary_nik(village_code),
            hubungan_keluarga=HEAD,
            **head,
        )
        try:
            member.full_clean(exclude=["household"])
        except ValidationError as exc:
            found = _model_errors(exc, {}).message_dict
            raise ValidationError({f"kepala_{k}": v for k, v in found.items()}) from None
        try:
            with transaction.atomic():
                member.save()
        except IntegrityError:
            raise ValidationError({"kepala_nik": _(NIK_TAKEN)}) from None
        household.refresh_from_db(fields=["versi"])
        transaction.on_commit(indicators_refresh_task.enqueue)
    return EditResult(household.pk, household.versi, ["members"])


def member_create(
    *,
    household_queryset: QuerySet,
    household_pk: int,
    expected_version: int,
    values: dict[str, Any],
    nik: str = "",
    actor: str | None = None,
) -> EditResult:
    """Add a member who belonged to a household of `household_queryset` at its survey but
    was left out (data entry, not a life event: a birth or a move in after the survey is
    recorded as one). `values`: the member's editable fields; not a second head. Without
    a NIK the member gets a temporary one. The household's `versi` rises. Errors are keyed
    by the member field."""
    _unknown_fields(values, member_editable())
    values = dict(values)
    nik = (nik or "").strip()
    with transaction.atomic():
        household = household_queryset.select_for_update().get(pk=household_pk)
        _village_writable(household.region_id)
        if household.versi != expected_version:
            raise StaleEdit(household.versi)
        errors = _person_problems(
            values=values, nik=nik, visible=household_queryset, survey=household.tanggal_survei
        )
        for name, message in rules.skipped_answer_problems(Member, values).items():
            errors.setdefault(name, str(message))
        if values.get("hubungan_keluarga") is None:
            errors["hubungan_keluarga"] = str(Message(rules.REQUIRED))
        elif values["hubungan_keluarga"] == HEAD:
            errors["hubungan_keluarga"] = _(
                "Rumah tangga ini sudah punya kepala keluarga: catat ganti kepala keluarga "
                "setelah anggota ditambahkan."
            )
        if errors:
            raise ValidationError(errors)
        member = Member(household=household, nik=nik or _temporary_nik(household.region_id))
        for name, value in values.items():
            setattr(member, name, value)
        try:
            member.full_clean(exclude=["household"])
        except ValidationError as exc:
            raise _model_errors(exc, {}) from None
        _set_actor(actor)
        try:
            with transaction.atomic():
                member.save()
        except IntegrityError:
            raise ValidationError({"nik": _(NIK_TAKEN)}) from None
        versi = _bump_household_version(household.pk)
        transaction.on_commit(indicators_refresh_task.enqueue)
    return EditResult(member.pk, versi, ["members"])


def member_removal_problem(member: Member) -> str | None:
    """Why `member` cannot be removed as a data-entry mistake, or None: the head of
    household (a change of head comes first), a member with life events in the register
    (their record is history)."""
    if member.is_head:
        return _("Kepala keluarga tidak dapat dihapus: catat dulu ganti kepala keluarga.")
    if LifeEvent.objects.filter(member=member).exists():
        return _(
            "Anggota ini punya peristiwa kependudukan tercatat dan tidak dapat dihapus; hapus "
            "hanya untuk salah entri."
        )
    return None


def member_remove(
    *, queryset: QuerySet, pk: int, expected_version: int, actor: str | None = None
) -> int:
    """Remove a member of `queryset` entered by mistake (data entry, not a life event: a
    death or a move out is recorded as one and keeps the member). Refused for the head of
    household (a change of head comes first) and for a member with life events in the
    register (their record is history). The history keeps the deleted row; the
    household's `versi` rises and is returned. Errors are keyed `anggota`."""
    with transaction.atomic():
        member = queryset.select_for_update(of=("self",)).get(pk=pk)
        _village_writable(member.household.region_id)
        if member.versi != expected_version:
            raise StaleEdit(member.versi)
        problem = member_removal_problem(member)
        if problem:
            raise ValidationError({"anggota": problem})
        household_pk = member.household_id
        _set_actor(actor)
        member.delete()
        versi = _bump_household_version(household_pk)
        transaction.on_commit(indicators_refresh_task.enqueue)
    return versi


# Life events that end a membership: kind (the API's word) -> the status it records.
MEMBER_EVENTS = {"meninggal": MemberStatus.DIED, "pindah_keluar": MemberStatus.MOVED_OUT}


def member_event_record(
    *,
    queryset: QuerySet,
    pk: int,
    kind: str,
    date: dt.date,
    expected_version: int,
    destination: str = "",
    actor: str | None = None,
) -> EditResult:
    """Record that a member of `queryset` (already narrowed to what the caller may edit)
    died (`meninggal`) or moved out (`pindah_keluar`, with its destination if known) on
    `date`. The member stays, with its status and date; the triggers recount the
    household (only current members count), raise `versi`, write the change history
    (with the actor the request set, or `actor`) and mark the village stale.

    The head of household keeps SHDK 1 after either event: the family card still names
    them until Dukcapil issues a new one, and the one-head rule (a deferred trigger on
    `hubungan_keluarga`) is untouched. A change of head is its own event (issue 13,
    part 2). The register gets the event with the destination (`LifeEvent.asal_tujuan`)."""
    status = MEMBER_EVENTS.get(kind)
    if status is None:
        raise ValidationError(
            {"kind": _("Jenis peristiwa tidak dikenal: %(kind)s.") % {"kind": kind}}
        )
    destination = (destination or "").strip()
    if destination and status != MemberStatus.MOVED_OUT:
        raise ValidationError(
            {"tujuan_pindah": _("Tujuan pindah hanya untuk peristiwa pindah keluar.")}
        )
    with transaction.atomic():
        member = queryset.select_for_update(of=("self",)).get(pk=pk)
        _village_writable(member.household.region_id)
        if member.versi != expected_version:
            raise StaleEdit(member.versi)
        if member.status_anggota == MemberStatus.DIED:
            raise ValidationError({"kind": _("Anggota ini sudah tercatat meninggal.")})
        if member.status_anggota == MemberStatus.MOVED_OUT:
            raise ValidationError({"kind": _("Anggota ini sudah tercatat pindah keluar.")})
        problem = rules.event_date_problem(date, birth=member.tanggal_lahir)
        if problem:
            raise ValidationError({"tanggal": str(problem)})
        member.status_anggota = status
        member.tanggal_status = date
        member.tujuan_pindah = destination
        try:
            member.full_clean(exclude=["household"])
        except ValidationError as exc:
            # The one model field the caller named differently: the event's date.
            errors = exc.message_dict
            if "tanggal_status" in errors:
                errors["tanggal"] = errors.pop("tanggal_status")
            raise ValidationError(errors) from None
        _set_actor(actor)
        member.save(update_fields=["status_anggota", "tanggal_status", "tujuan_pindah", "diubah"])
        member.refresh_from_db(fields=["versi"])
        _life_event_record(
            kind=kind, date=date, household=member.household, member=member, place=destination
        )
        # As edits: the worker brings the village's figures and map cells up to date.
        transaction.on_commit(indicators_refresh_task.enqueue)
    return EditResult(
        member.pk, member.versi, ["status_anggota", "tanggal_status", "tujuan_pindah"]
    )


def _set_actor(actor: str | None) -> None:
    if actor is not None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('desapresisi.actor', %s, true)", [actor])


def _bump_household_version(pk: int) -> int:
    """Household events change the household (its members) without changing a column of
    its row, and the member-count updates do not raise `versi`: raise it here, so that an
    edit or event made on the version read before this one is stale (409)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE households_household SET versi = versi + 1, diubah = now() "
            "WHERE id = %s RETURNING versi",
            [pk],
        )
        return cursor.fetchone()[0]


def _model_errors(exc: ValidationError, renamed: dict[str, str]) -> ValidationError:
    errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
    for model_name, api_name in renamed.items():
        if model_name in errors:
            errors[api_name] = errors.pop(model_name)
    return ValidationError(errors)


HEAD = 1
# A member of a household's own generation or below: relationship codes a newborn may have.
CHILD = 4
GRANDCHILD = 6
BIRTH_RELATIONSHIPS = (CHILD, GRANDCHILD, 9, 11)  # anak, cucu, famili lain, lainnya

# Prefix digit of a temporary NIK or No. KK (the rules' `TEMPORARY_PREFIX`).
TEMPORARY_NIK_PREFIX = rules.TEMPORARY_PREFIX


# The next serial of a temporary number: the counter row (households_temporaryserial) is
# locked by the upsert until commit, which serialises writers per village and kind; the
# stored numbers with the prefix are a floor (numbers written before the counter existed).
_NEXT_TEMPORARY_NIK = """
INSERT INTO households_temporaryserial AS s (key, last)
SELECT %(key)s, coalesce(max(right(nik, 5)::integer), 0) + 1
FROM households_member WHERE nik LIKE %(pattern)s
ON CONFLICT (key) DO UPDATE SET last = greatest(s.last + 1, EXCLUDED.last)
RETURNING last
"""
_NEXT_TEMPORARY_KK = """
INSERT INTO households_temporaryserial AS s (key, last)
SELECT %(key)s, coalesce(max(right(no_kk, 5)::integer), 0) + 1
FROM households_household WHERE no_kk LIKE %(pattern)s
ON CONFLICT (key) DO UPDATE SET last = greatest(s.last + 1, EXCLUDED.last)
RETURNING last
"""


def _temporary_number(kind: str, region_code: str) -> str:
    """'0', the village code's 10 digits and a 5-digit serial per village and kind ("nik"
    or "kk"): 16 digits like a NIK or No. KK, never a real one (no province code starts
    with 0), and never handed out twice, even after it was replaced by the issued one."""
    prefix = TEMPORARY_NIK_PREFIX + region_code.replace(".", "")
    sql = _NEXT_TEMPORARY_NIK if kind == "nik" else _NEXT_TEMPORARY_KK
    with connection.cursor() as cursor:
        cursor.execute(sql, {"key": f"{kind}:{prefix}", "pattern": prefix + "_____"})
        (serial,) = cursor.fetchone()
    return f"{prefix}{serial:05d}"


def _temporary_nik(region_code: str) -> str:
    return _temporary_number("nik", region_code)


def nik_birth_problem(nik: str, birth: dt.date, sex: int | None) -> dict[str, str]:
    """`rules.nik_birth_mismatch` as a birth's form errors: a wrong date is the NIK's field."""
    mismatch = rules.nik_birth_mismatch(nik, birth, sex)
    if mismatch is None:
        return {}
    answer, message = mismatch
    return {"nik" if answer == "tanggal_lahir" else answer: str(message)}


def member_birth_record(
    *,
    household_queryset: QuerySet,
    household_pk: int,
    expected_version: int,
    name: str,
    sex: int | None,
    date: dt.date | None,
    relationship: int | None = CHILD,
    nik: str = "",
    disability: bool = False,
    actor: str | None = None,
) -> EditResult:
    """Record a birth (`lahir`) in a household of `household_queryset` (already narrowed
    to what the caller may edit): a new current member born on `date`. The date is not in
    the future and not before the household's survey date (someone born before it is part
    of the household's record: an edit, not a birth). Without a NIK (not yet issued) the
    child gets a temporary one (`_temporary_nik`). The triggers count the child in the
    household and write the history (with the actor); the household's `versi` rises.
    Errors are named by the request's fields: nama, jenis_kelamin, tanggal,
    hubungan_keluarga, nik."""
    errors: dict[str, str] = {}
    name = (name or "").strip()
    nik = (nik or "").strip()
    if not name:
        errors["nama"] = _("Wajib diisi.")
    if sex is None:
        errors["jenis_kelamin"] = _("Wajib diisi.")
    if date is None:
        errors["tanggal"] = _("Wajib: tanggal lahir.")
    elif rules.event_date_problem(date):
        errors["tanggal"] = str(rules.event_date_problem(date))
    if relationship is None:
        relationship = CHILD
    if relationship not in BIRTH_RELATIONSHIPS:
        errors["hubungan_keluarga"] = _(
            "Anggota yang lahir tercatat sebagai anak, cucu, famili lain atau lainnya."
        )
    with transaction.atomic():
        household = household_queryset.select_for_update().get(pk=household_pk)
        _village_writable(household.region_id)
        if household.versi != expected_version:
            raise StaleEdit(household.versi)
        if date is not None and "tanggal" not in errors and date < household.tanggal_survei:
            errors["tanggal"] = _(
                "Tanggal lahir tidak boleh sebelum tanggal survei rumah tangga (%(date)s): "
                "anggota yang lahir sebelumnya dicatat dengan mengubah data."
            ) % {"date": household.tanggal_survei.isoformat()}
        shape = rules.identity_problem(nik, "NIK") if nik else None
        if shape:
            errors.setdefault("nik", str(shape))
        elif nik and date is not None and sex is not None:
            errors = {**nik_birth_problem(nik, date, sex), **errors}
        if errors:
            raise ValidationError(errors)
        member = Member(
            household=household,
            nik=nik or _temporary_nik(household.region_id),
            nama=name,
            jenis_kelamin=sex,
            tanggal_lahir=date,
            hubungan_keluarga=relationship,
            disabilitas=bool(disability),
        )
        try:
            member.full_clean(exclude=["household"])
        except ValidationError as exc:
            raise _model_errors(exc, {"tanggal_lahir": "tanggal"}) from None
        _set_actor(actor)
        member.save()
        _life_event_record(kind=EventKind.BIRTH, date=date, household=household, member=member)
        versi = _bump_household_version(household.pk)
        transaction.on_commit(indicators_refresh_task.enqueue)
    return EditResult(household.pk, versi, ["members"])


def former_head_relationship(*, new_head: Member, former_head: Member) -> int:
    """The default relationship code of the former head after a change of head, read from
    the new head's code: the spouse takes over -> the former head is husband (2) or wife
    (3) by sex; a child -> parent (7); a child-in-law -> parent-in-law (8); a parent ->
    child (4); a parent-in-law -> child-in-law (5); anyone else -> other relative (9)."""
    code = new_head.hubungan_keluarga
    if code in (2, 3):
        return 2 if former_head.jenis_kelamin == 1 else 3
    return {4: 7, 5: 8, 7: 4, 8: 5}.get(code, 9)


def head_change_record(
    *,
    household_queryset: QuerySet,
    household_pk: int,
    expected_version: int,
    new_head_pk: int | None,
    former_head_relationship_code: int | None = None,
    date: dt.date | None = None,
    actor: str | None = None,
) -> EditResult:
    """Change of head (`ganti_kepala`) of a household of `household_queryset`: a current
    member of the same household becomes head (SHDK 1); the former head (whatever their
    status: a head who died or moved out is replaced this way) gets
    `former_head_relationship_code`, or `former_head_relationship`'s default. Both
    updates run in one transaction, the former head first (the partial unique index
    allows one head at a time), so the deferred one-head rule holds at commit. The other
    members' codes stay as they are (an edit changes them). The register gets the event
    on `date` (default today, not in the future), with the new head as its member. Errors
    are named by the request's fields: anggota, hubungan_kepala_lama, tanggal."""
    date = _event_date(date)
    if new_head_pk is None:
        raise ValidationError({"anggota": _("Wajib: anggota yang menjadi kepala keluarga.")})
    if former_head_relationship_code == HEAD:
        raise ValidationError(
            {"hubungan_kepala_lama": _("Kepala keluarga lama tidak boleh tetap kepala.")}
        )
    with transaction.atomic():
        household = household_queryset.select_for_update().get(pk=household_pk)
        _village_writable(household.region_id)
        if household.versi != expected_version:
            raise StaleEdit(household.versi)
        members = {m.pk: m for m in household.members.select_for_update()}
        new_head = members.get(new_head_pk)
        if new_head is None:
            raise ValidationError({"anggota": _("Bukan anggota rumah tangga ini.")})
        if new_head.hubungan_keluarga == HEAD:
            raise ValidationError({"anggota": _("Anggota ini sudah kepala keluarga.")})
        if not new_head.is_current:
            raise ValidationError(
                {"anggota": _("Hanya anggota saat ini (bukan yang meninggal atau pindah).")}
            )
        former = next(m for m in members.values() if m.hubungan_keluarga == HEAD)
        code = former_head_relationship_code or former_head_relationship(
            new_head=new_head, former_head=former
        )
        former.hubungan_keluarga = code
        try:
            former.full_clean(exclude=["household"], validate_constraints=False)
        except ValidationError as exc:
            raise _model_errors(exc, {"hubungan_keluarga": "hubungan_kepala_lama"}) from None
        _set_actor(actor)
        former.save(update_fields=["hubungan_keluarga", "diubah"])
        new_head.hubungan_keluarga = HEAD
        new_head.save(update_fields=["hubungan_keluarga", "diubah"])
        _life_event_record(
            kind=EventKind.HEAD_CHANGE, date=date, household=household, member=new_head
        )
        versi = _bump_household_version(household.pk)
        transaction.on_commit(indicators_refresh_task.enqueue)
    return EditResult(household.pk, versi, ["members"])


def member_transfer_record(
    *,
    queryset: QuerySet,
    pk: int,
    target_queryset: QuerySet,
    target_pk: int | None,
    expected_version: int,
    relationship: int | None = None,
    date: dt.date | None = None,
    actor: str | None = None,
) -> EditResult:
    """Move a current member of `queryset` to another household of `target_queryset`
    (`pindah_kk`; both already narrowed to what the caller may edit), keeping the row, its
    NIK and history: `household_id` changes, the triggers recount both households and
    write the change (with the actor). `relationship` is the member's code in the new
    household (default: unchanged). A head cannot move: a change of head comes first.
    The register gets ONE event on `date` (default today; not in the future, not before
    birth) with both households (`household` the origin, `other_household` the
    destination), shown on both households' pages. Errors are named by the request's
    fields: rumah_tangga_tujuan, hubungan_keluarga, kind, tanggal."""
    date = _event_date(date)
    if target_pk is None:
        raise ValidationError({"rumah_tangga_tujuan": _("Wajib: rumah tangga tujuan.")})
    if relationship == HEAD:
        raise ValidationError(
            {
                "hubungan_keluarga": _(
                    "Anggota pindahan tidak dapat langsung menjadi kepala keluarga: catat "
                    "ganti kepala keluarga setelah pindah."
                )
            }
        )
    with transaction.atomic():
        member = queryset.select_for_update(of=("self",)).get(pk=pk)
        _village_writable(member.household.region_id)
        if member.versi != expected_version:
            raise StaleEdit(member.versi)
        if not member.is_current:
            raise ValidationError(
                {"kind": _("Hanya anggota saat ini (bukan yang meninggal atau pindah).")}
            )
        if member.hubungan_keluarga == HEAD:
            raise ValidationError(
                {
                    "hubungan_keluarga": _(
                        "Kepala keluarga tidak dapat dipindahkan: catat dulu ganti kepala "
                        "keluarga di rumah tangga asalnya."
                    )
                }
            )
        if target_pk == member.household_id:
            raise ValidationError(
                {"rumah_tangga_tujuan": _("Rumah tangga tujuan sama dengan asalnya.")}
            )
        problem = rules.event_date_problem(date, birth=member.tanggal_lahir)
        if problem:
            raise ValidationError({"tanggal": str(problem)})
        origin = member.household
        target = target_queryset.select_for_update().filter(pk=target_pk).first()
        if target is not None:
            _village_writable(target.region_id)
        if target is None:
            # Not found and not editable by the caller read alike (no hint of what exists).
            raise ValidationError(
                {"rumah_tangga_tujuan": _("Rumah tangga tujuan tidak ditemukan di wilayah Anda.")}
            )
        member.household = target
        changed = ["household"]
        if relationship is not None and relationship != member.hubungan_keluarga:
            member.hubungan_keluarga = relationship
            changed.append("hubungan_keluarga")
        try:
            member.full_clean(exclude=["household"])
        except ValidationError as exc:
            raise _model_errors(exc, {}) from None
        _set_actor(actor)
        member.save(update_fields=[*changed, "diubah"])
        member.refresh_from_db(fields=["versi"])
        _life_event_record(
            kind=EventKind.TRANSFER, date=date, household=origin, member=member, other=target
        )
        transaction.on_commit(indicators_refresh_task.enqueue)
    return EditResult(member.pk, member.versi, changed)


def member_transfer_in_record(
    *,
    queryset: QuerySet,
    nik: str,
    target_queryset: QuerySet,
    target_pk: int,
    target_expected_version: int,
    relationship: int | None = None,
    date: dt.date | None = None,
    actor: str | None = None,
) -> EditResult:
    """A move in from another household of the portal, seen from the household the member
    joins (`target_pk` of `target_queryset`, at `target_expected_version`): the current
    member of `queryset` (what the caller may edit) holding `nik` moves here with
    `member_transfer_record` (NIK, row and history kept). A NIK the caller may not edit
    reads as not found (nothing about other areas is told). The joining household's
    `versi` rises. Errors are named by the form's fields: nik, hubungan_keluarga,
    tanggal."""
    nik = (nik or "").strip()
    with transaction.atomic():
        target = target_queryset.select_for_update().get(pk=target_pk)
        _village_writable(target.region_id)
        if target.versi != target_expected_version:
            raise StaleEdit(target.versi)
        problem = rules.identity_problem(nik, "NIK") if nik else Message(rules.REQUIRED)
        if problem:
            raise ValidationError({"nik": str(problem)})
        member = queryset.filter(nik=nik).first()
        if member is None:
            raise ValidationError(
                {"nik": _("NIK ini tidak ditemukan di rumah tangga wilayah Anda.")}
            )
        if member.household_id == target.pk:
            raise ValidationError({"nik": _("NIK ini sudah tercatat di rumah tangga ini.")})
        try:
            member_transfer_record(
                queryset=queryset,
                pk=member.pk,
                target_queryset=target_queryset,
                target_pk=target.pk,
                expected_version=member.versi,
                relationship=relationship,
                date=date,
                actor=actor,
            )
        except ValidationError as exc:
            errors = _model_errors(exc, {}).message_dict
            # The member's own refusals (a head, not current) are about the NIK chosen.
            for key in ("kind", "rumah_tangga_tujuan"):
                if key in errors:
                    errors.setdefault("nik", []).extend(errors.pop(key))
            raise ValidationError(errors) from None
        versi = _bump_household_version(target.pk)
    return EditResult(target.pk, versi, ["members"])


# --- The register of life events, moves in, splits and temporary numbers (issue 13) ------


def _event_date(date: dt.date | None, *, required: bool = False) -> dt.date:
    """The date of an event: given (required for most kinds) or today, never in the
    future. Refused as the request's field `tanggal`."""
    if date is None:
        if required:
            raise ValidationError({"tanggal": _("Wajib diisi.")})
        return timezone.localdate()
    problem = rules.event_date_problem(date)
    if problem:
        raise ValidationError({"tanggal": str(problem)})
    return date


def _life_event_record(
    *,
    kind: str,
    date: dt.date,
    household: Household,
    member: Member | None = None,
    other: Household | None = None,
    place: str = "",
) -> LifeEvent:
    """The event's row in the register, in the caller's transaction: the households (the
    one it happened in; for a transfer or split also the other), and what a report needs
    as it was at that moment (village, dusun/RW/RT of each, the member's sex, name and
    NIK). The actor is the history's (`desapresisi.actor`), read by the database."""
    return LifeEvent.objects.create(
        kind=kind,
        tanggal=date,
        member=member,
        household=household,
        region_id=household.region_id,
        dusun=household.dusun,
        rw=household.rw,
        rt=household.rt,
        other_household=other,
        other_region_id=other.region_id if other else None,
        other_dusun=other.dusun if other else "",
        other_rw=other.rw if other else "",
        other_rt=other.rt if other else "",
        jenis_kelamin=member.jenis_kelamin if member else None,
        nama=member.nama if member else "",
        nik=member.nik if member else "",
        asal_tujuan=place,
    )


# A number held by a record outside the caller's areas: one answer that names no place and
# no record (the census import's words, households.census_import.validate).
ELSEWHERE = gettext_noop("Nomor ini sudah terdaftar di wilayah lain; hubungi admin kabupaten.")
# The same for a move in: the person is recorded elsewhere (alive, or dead: not told apart).
MOVE_IN_ELSEWHERE = gettext_noop(
    "NIK ini sudah terdaftar di wilayah lain. Pindah masuk dapat dicatat setelah operator "
    "desa asalnya mencatat pindah keluar; bila perlu, hubungi admin kabupaten."
)


def _identity_problem(number: str, label: str) -> str | None:
    """What is wrong with an issued NIK or No. KK as typed (the shared rule), as text."""
    problem = rules.issued_identity_problem(number, label)
    return str(problem) if problem else None


def member_move_in_record(
    *,
    household_queryset: QuerySet,
    household_pk: int,
    expected_version: int,
    nik: str,
    name: str,
    sex: int | None,
    birth_date: dt.date | None,
    relationship: int | None,
    date: dt.date | None,
    origin: str = "",
    actor: str | None = None,
) -> EditResult:
    """Record a move in (`pindah_masuk`) on `date` into a household of
    `household_queryset` (the households the caller may see; the caller checked it may
    edit this one): a person with an issued NIK, checked against the birth date and sex
    (`rules.nik_birth_mismatch`), joins it as a current member with `relationship` (not head).

    A NIK already in the portal:
    - a member who moved out (`pindah_keluar`, from any household, any village): that row
      is taken over, so NIK, id and history stay with the person: it moves to this
      household, becomes current (status, date and destination cleared), and takes the
      name, sex, birth date and relationship given here. This is how a move between two
      villages with different operators works: the origin's operator records the move
      out, the destination's the move in. A moved-out head still heads their old
      household (the family card names them): the origin records a change of head first.
    - a current or dead member: refused. Within the caller's areas the message names the
      household (masked No. KK); elsewhere it names nothing (not the village, household,
      name or status), like the census import's answer.

    The register gets the event with `origin` (free text, where from). The household's
    `versi` rises. Errors are named by the request's fields: nik, nama, jenis_kelamin,
    tanggal_lahir, hubungan_keluarga, asal_pindah, tanggal."""
    errors: dict[str, str] = {}
    nik, name, origin = ((value or "").strip() for value in (nik, name, origin))
    if not name:
        errors["nama"] = _("Wajib diisi.")
    if sex is None:
        errors["jenis_kelamin"] = _("Wajib diisi.")
    if birth_date is None:
        errors["tanggal_lahir"] = _("Wajib diisi.")
    if relationship is None:
        errors["hubungan_keluarga"] = _("Wajib diisi.")
    elif relationship == HEAD:
        errors["hubungan_keluarga"] = _(
            "Anggota pindahan tidak dapat langsung menjadi kepala keluarga: catat ganti "
            "kepala keluarga setelah pindah."
        )
    if len(origin) > 200:
        errors["asal_pindah"] = _("Paling banyak %(count)s karakter.") % {"count": 200}
    try:
        date = _event_date(date, required=True)
    except ValidationError as exc:
        errors.update({key: value[0] for key, value in exc.message_dict.items()})
        date = None
    if date is not None and birth_date is not None and date < birth_date:
        errors["tanggal"] = str(rules.event_date_problem(date, birth=birth_date))
    problem = _identity_problem(nik, "NIK")
    if problem:
        errors["nik"] = problem
    elif birth_date is not None and sex is not None:
        mismatch = rules.nik_birth_mismatch(nik, birth_date, sex)
        if mismatch:
            errors.setdefault(mismatch[0], str(mismatch[1]))
    with transaction.atomic():
        household = household_queryset.select_for_update().get(pk=household_pk)
        _village_writable(household.region_id)
        if household.versi != expected_version:
            raise StaleEdit(household.versi)
        if date is not None and "tanggal" not in errors and date < household.tanggal_survei:
            errors["tanggal"] = _(
                "Tanggal pindah masuk tidak boleh sebelum tanggal survei rumah tangga "
                "(%(date)s): anggota yang sudah ada saat survei dicatat dengan mengubah data."
            ) % {"date": household.tanggal_survei.isoformat()}
        holder = None
        if "nik" not in errors:
            holder = (
                Member.objects.select_for_update(of=("self",))
                .select_related("household")
                .filter(nik=nik)
                .first()
            )
            refusal = holder and _move_in_refusal(holder, household, household_queryset)
            if not refusal and holder is not None:
                # Taking the row over writes the household it moved out of: its village
                # must be writable too (named only when the caller may see it).
                refusal = _origin_lock_refusal(holder, household_queryset)
            if refusal:
                errors["nik"] = refusal
            elif holder and date is not None and date < holder.tanggal_status:
                errors.setdefault(
                    "tanggal",
                    _("Tanggal pindah masuk tidak boleh sebelum tanggal pindah keluarnya."),
                )
        if errors:
            raise ValidationError(errors)
        member = holder or Member(nik=nik)
        member.household = household
        member.nama, member.jenis_kelamin, member.tanggal_lahir = name, sex, birth_date
        member.hubungan_keluarga = relationship
        member.status_anggota, member.tanggal_status, member.tujuan_pindah = (
            MemberStatus.CURRENT,
            None,
            "",
        )
        try:
            member.full_clean(exclude=["household"])
        except ValidationError as exc:
            raise _model_errors(exc, {}) from None
        _set_actor(actor)
        member.save()
        _life_event_record(
            kind=EventKind.MOVED_IN, date=date, household=household, member=member, place=origin
        )
        versi = _bump_household_version(household.pk)
        transaction.on_commit(indicators_refresh_task.enqueue)
    return EditResult(household.pk, versi, ["members"])


# The origin of a move in is locked (approved) but outside the caller's areas: no place named.
MOVE_IN_ORIGIN_LOCKED = gettext_noop(
    "Data asal NIK ini sudah disetujui dan dikunci untuk putaran ini: pindah masuk dapat "
    "dicatat setelah dibuka kembali oleh verifikator; bila perlu, hubungi admin kabupaten."
)


def _origin_lock_refusal(holder: Member, visible: QuerySet) -> str | None:
    """Why the moved-out row cannot be taken over because its village is locked, or None.
    The village is named (the lock's message) only when the caller may see its household."""
    problem = village_write_problem(region_code=holder.household.region_id)
    if problem is None:
        return None
    if visible.filter(pk=holder.household_id).exists():
        return str(problem)
    return str(Message(MOVE_IN_ORIGIN_LOCKED))


def _move_in_refusal(holder: Member, household: Household, visible: QuerySet) -> str | None:
    """Why the member row holding the NIK cannot move in here, or None (it moved out and
    may be taken over). Outside the caller's areas nothing about it is told."""
    in_area = visible.filter(pk=holder.household_id).exists()
    moved_out = holder.status_anggota == MemberStatus.MOVED_OUT
    if moved_out and not holder.is_head:
        return None
    if not in_area:
        if moved_out:
            return _(
                "NIK ini masih tercatat sebagai kepala keluarga di desa asalnya: operator desa "
                "asal harus mencatat ganti kepala keluarga lebih dulu."
            )
        return str(Message(MOVE_IN_ELSEWHERE))
    kk = mask_number(holder.household.no_kk)
    if moved_out:
        return _(
            "NIK ini masih kepala keluarga KK %(kk)s (pindah keluar): catat dulu ganti kepala "
            "keluarga di sana."
        ) % {"kk": kk}
    if holder.household_id == household.pk:
        return _("NIK ini sudah tercatat di rumah tangga ini.")
    if holder.status_anggota == MemberStatus.DIED:
        return _("NIK ini tercatat meninggal di KK %(kk)s.") % {"kk": kk}
    return _(
        "NIK ini sudah terdaftar di KK lain (%(kk)s); bila ia pindah antar rumah tangga, "
        "catat pindah KK."
    ) % {"kk": kk}


@dataclass
class SplitResult:
    household: EditResult  # the household split from, with its new version
    new_household: EditResult  # the household formed


# What a split gives the new household itself (or copies when not given); every other
# editable answer of the catalogue is copied from the household split from.
SPLIT_GIVEN = ("dusun", "rw", "rt", "alamat", "lokasi")


def household_split_record(
    *,
    household_queryset: QuerySet,
    household_pk: int,
    expected_version: int,
    member_pks: list[int],
    head_pk: int | None,
    date: dt.date | None,
    relationships: dict[int, int] | None = None,
    no_kk: str = "",
    dusun: str | None = None,
    rw: str | None = None,
    rt: str | None = None,
    alamat: str | None = None,
    location: Any = None,
    actor: str | None = None,
) -> SplitResult:
    """Split a household (`pecah_kk`) of `household_queryset` (the households the caller
    may see; the caller checked it may edit this one) on `date`: the current members
    `member_pks` (not the head, who stays) form a new household in the same village, with
    `head_pk` (one of them) as its head (SHDK 1) and the others' codes from
    `relationships` ({member id: code}) or kept.

    The new household gets `no_kk` (16 digits, unique) or, when Dukcapil has not issued
    it yet, a temporary one ('0' + the village's digits + a serial, as temporary NIKs;
    `household_kk_replace` puts the issued one in later); dusun, RW, RT, address and
    location (`[lon, lat]`, checked by the one location rule) given or copied; and every
    other editable answer of the catalogue copied from the origin (sanitation, water,
    house, welfare, assistance): the family lived there at the split; the operator edits
    them later. Its `tanggal_survei` is the origin's: those answers are that survey's,
    and the figures count the people in the same period as before the split (the date
    of the split is the event's). `sumber_data` is manual.

    One transaction: the new household, the members' moves and codes (the deferred
    one-head rule holds for both households at commit), one register event per member
    who moved (a report counts people), the origin's `versi` raised. Errors are named by
    the request's fields: anggota_pecah, kepala_baru, no_kk, dusun, rw, rt, alamat,
    lokasi, tanggal."""
    errors: dict[str, str] = {}
    member_pks = list(dict.fromkeys(member_pks or []))
    relationships = dict(relationships or {})
    no_kk = (no_kk or "").strip()
    if not member_pks:
        errors["anggota_pecah"] = _("Wajib: anggota yang membentuk KK baru.")
    if head_pk is None:
        errors["kepala_baru"] = _("Wajib: kepala keluarga KK baru.")
    elif member_pks and head_pk not in member_pks:
        errors["kepala_baru"] = _("Kepala keluarga KK baru harus salah satu anggota yang pindah.")
    elif relationships.get(head_pk, HEAD) != HEAD:
        errors["kepala_baru"] = _("Kepala keluarga KK baru tercatat dengan hubungan 1 (kepala).")
    strays = sorted(set(relationships) - set(member_pks))
    if strays:
        errors["anggota_pecah"] = _(
            "Hubungan keluarga diberikan untuk anggota yang tidak ikut pindah: %(ids)s."
        ) % {"ids": ", ".join(map(str, strays))}
    second_heads = sorted(
        pk for pk, code in relationships.items() if code == HEAD and pk != head_pk
    )
    unknown = sorted(
        pk for pk, code in relationships.items() if code not in cb.codes("hubungan_keluarga")
    )
    if unknown:
        errors["anggota_pecah"] = _(
            "Kode hubungan keluarga tidak dikenal untuk anggota %(ids)s."
        ) % {"ids": ", ".join(map(str, unknown))}
    if second_heads:
        errors["anggota_pecah"] = _(
            "Hanya kepala keluarga baru yang berhubungan 1 (kepala): anggota %(ids)s."
        ) % {"ids": ", ".join(map(str, second_heads))}
    if no_kk:
        problem = _identity_problem(no_kk, "No. KK")
        if problem:
            errors["no_kk"] = problem
    try:
        date = _event_date(date, required=True)
    except ValidationError as exc:
        errors.update({key: value[0] for key, value in exc.message_dict.items()})
        date = None
    with transaction.atomic():
        household = household_queryset.select_for_update().get(pk=household_pk)
        _village_writable(household.region_id)
        if household.versi != expected_version:
            raise StaleEdit(household.versi)
        if date is not None and date < household.tanggal_survei:
            errors["tanggal"] = _(
                "Tanggal pecah KK tidak boleh sebelum tanggal survei rumah tangga (%(date)s)."
            ) % {"date": household.tanggal_survei.isoformat()}
        members = {m.pk: m for m in household.members.select_for_update()}
        moving = [members.get(pk) for pk in member_pks]
        problem = _split_member_problem(member_pks, moving)
        if problem:
            errors.setdefault("anggota_pecah", problem)
        if no_kk and "no_kk" not in errors:
            holder = Household.objects.filter(no_kk=no_kk).values_list("pk", flat=True).first()
            if holder is not None:
                in_area = household_queryset.filter(pk=holder).exists()
                errors["no_kk"] = (
                    _("No. KK ini sudah dipakai rumah tangga lain.")
                    if in_area
                    else str(Message(ELSEWHERE))
                )
        point = household.lokasi
        if location is not None:
            try:
                point = _checked_location(household, location)
            except ValidationError as exc:
                errors.update({key: value[0] for key, value in exc.message_dict.items()})
        if errors:
            raise ValidationError(errors)
        given = {"dusun": dusun, "rw": rw, "rt": rt, "alamat": alamat}
        new = Household(
            no_kk=no_kk or _temporary_number("kk", household.region_id),
            region_id=household.region_id,
            lokasi=point,
            sumber_data=DataSource.MANUAL,
            **{
                name: getattr(household, name) if value is None else value.strip()
                for name, value in given.items()
            },
            **{
                name: getattr(household, name)
                for name in sorted(household_editable() - set(SPLIT_GIVEN))
            },
        )
        try:
            new.full_clean(exclude=["region"])
        except ValidationError as exc:
            raise _model_errors(exc, {}) from None
        _set_actor(actor)
        new.save()
        # The head first: the partial unique index allows one head per household at once.
        for member in sorted(moving, key=lambda m: m.pk != head_pk):
            member.household = new
            member.hubungan_keluarga = (
                HEAD
                if member.pk == head_pk
                else relationships.get(member.pk, member.hubungan_keluarga)
            )
            try:
                member.full_clean(exclude=["household"])
            except ValidationError as exc:
                raise ValidationError({"anggota_pecah": _model_errors(exc, {}).messages}) from None
            member.save(update_fields=["household", "hubungan_keluarga", "diubah"])
        for member in moving:
            _life_event_record(
                kind=EventKind.SPLIT, date=date, household=household, member=member, other=new
            )
        versi = _bump_household_version(household.pk)
        new.refresh_from_db(fields=["versi"])
        transaction.on_commit(indicators_refresh_task.enqueue)
    return SplitResult(
        household=EditResult(household.pk, versi, ["members"]),
        new_household=EditResult(new.pk, new.versi, ["members"]),
    )


def _split_member_problem(member_pks: list[int], moving: list[Member | None]) -> str | None:
    for pk, member in zip(member_pks, moving, strict=True):
        if member is None:
            return _("Bukan anggota rumah tangga ini: %(id)s.") % {"id": pk}
        if not member.is_current:
            return _("Hanya anggota saat ini (bukan yang meninggal atau pindah): %(name)s.") % {
                "name": member.nama
            }
        if member.is_head:
            return _(
                "Kepala keluarga tidak ikut pecah KK: catat dulu ganti kepala keluarga bila ia "
                "yang pindah."
            )
    return None


def member_nik_replace(
    *,
    queryset: QuerySet,
    pk: int,
    expected_version: int,
    nik: str,
    actor: str | None = None,
) -> EditResult:
    """Replace a member's temporary NIK (prefix 0, given at a birth before Dukcapil issued
    one) with the issued one: 16 digits, agreeing with the member's birth date and sex
    (`rules.nik_birth_mismatch`), held by nobody else (within the caller's areas the holder's
    household is named, masked; elsewhere nothing). An issued NIK is never replaced
    here. The history records the change (old -> new); the register keeps the NIK each
    event was recorded with. `queryset`: the members the caller may see (the caller
    checked it may edit this one). Errors are named by the request's field: nik."""
    nik = (nik or "").strip()
    with transaction.atomic():
        member = queryset.select_for_update(of=("self",)).get(pk=pk)
        _village_writable(member.household.region_id)
        if member.versi != expected_version:
            raise StaleEdit(member.versi)
        if not member.nik.startswith(TEMPORARY_NIK_PREFIX):
            raise ValidationError(
                {"nik": _("Hanya NIK sementara (berawalan 0) yang diganti dengan NIK terbitan.")}
            )
        problem = _identity_problem(nik, "NIK")
        if problem is None:
            mismatch = rules.nik_birth_mismatch(nik, member.tanggal_lahir, member.jenis_kelamin)
            problem = str(mismatch[1]) if mismatch else None
        if problem is None:
            holder = Member.objects.filter(nik=nik).select_related("household").first()
            if holder is not None:
                problem = (
                    _("NIK ini sudah dipakai anggota lain (KK %(kk)s).")
                    % {"kk": mask_number(holder.household.no_kk)}
                    if queryset.filter(pk=holder.pk).exists()
                    else str(Message(ELSEWHERE))
                )
        if problem:
            raise ValidationError({"nik": problem})
        member.nik = nik
        _set_actor(actor)
        member.save(update_fields=["nik", "diubah"])
        member.refresh_from_db(fields=["versi"])
    return EditResult(member.pk, member.versi, ["nik"])


def household_kk_replace(
    *,
    household_queryset: QuerySet,
    household_pk: int,
    expected_version: int,
    no_kk: str,
    actor: str | None = None,
) -> EditResult:
    """Replace a household's temporary No. KK (prefix 0, given at a split before Dukcapil
    issued one) with the issued one: 16 digits, held by no other household (within the
    caller's areas it says so; elsewhere it names nothing). The history records it.
    Errors are named by the request's field: no_kk."""
    no_kk = (no_kk or "").strip()
    with transaction.atomic():
        household = household_queryset.select_for_update().get(pk=household_pk)
        _village_writable(household.region_id)
        if household.versi != expected_version:
            raise StaleEdit(household.versi)
        if not household.no_kk.startswith(TEMPORARY_NIK_PREFIX):
            raise ValidationError(
                {
                    "no_kk": _(
                        "Hanya No. KK sementara (berawalan 0) yang diganti dengan No. KK terbitan."
                    )
                }
            )
        problem = _identity_problem(no_kk, "No. KK")
        if problem is None:
            holder = Household.objects.filter(no_kk=no_kk).values_list("pk", flat=True).first()
            if holder is not None:
                problem = (
                    _("No. KK ini sudah dipakai rumah tangga lain.")
                    if household_queryset.filter(pk=holder).exists()
                    else str(Message(ELSEWHERE))
                )
        if problem:
            raise ValidationError({"no_kk": problem})
        household.no_kk = no_kk
        _set_actor(actor)
        household.save(update_fields=["no_kk", "diubah"])
        household.refresh_from_db(fields=["versi"])
    return EditResult(household.pk, household.versi, ["no_kk"])


@dataclass(frozen=True)
class PointToCheck:
    key: Any  # the caller's handle on the point (a row number, a household)
    village: str
    lon: float
    lat: float


OUT_OF_RANGE = gettext_noop(
    "Koordinat di luar jangkauan: lintang -90 s.d. 90, bujur -180 s.d. 180."
)


def locations_check(*, points: list[PointToCheck]) -> dict[Any, Message]:
    """The one location rule, for imports and edits alike: what is wrong with each point,
    by key (points with nothing wrong are left out). A point must lie in its village or
    within LOCATION_TOLERANCE_M of its boundary (boundaries are simplified, GPS errs at a
    village's edge); one that lies there with latitude and longitude exchanged is named
    as swapped. A village whose boundary is not loaded cannot be checked: its points pass,
    whoever sends them. One query for every point. The problems are messages kept as
    msgids (an import stores them and shows them in the reader's language)."""
    problems: dict[Any, Message] = {}
    checks = []
    for point in points:
        in_range = -180 <= point.lon <= 180 and -90 <= point.lat <= 90
        swapped_in_range = -180 <= point.lat <= 180 and -90 <= point.lon <= 90
        if not in_range and not swapped_in_range:
            problems[point.key] = Message(OUT_OF_RANGE)
            continue
        checks.append((point, in_range, swapped_in_range))
    if not checks:
        return problems
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT t.i,
                   r.boundary IS NULL,
                   t.x IS NOT NULL AND (ST_Intersects(r.boundary, g.p)
                       OR ST_DWithin(r.boundary::geography, g.p::geography, %(tolerance)s)),
                   t.sx IS NOT NULL AND (ST_Intersects(r.boundary, s.p)
                       OR ST_DWithin(r.boundary::geography, s.p::geography, %(tolerance)s))
            FROM unnest(%(i)s::int[], %(code)s::text[], %(x)s::float8[], %(y)s::float8[],
                        %(sx)s::float8[], %(sy)s::float8[]) AS t(i, code, x, y, sx, sy)
            JOIN villages_region r ON r.code = t.code
            CROSS JOIN LATERAL (SELECT ST_SetSRID(ST_MakePoint(t.x, t.y), 4326) AS p) g
            CROSS JOIN LATERAL (SELECT ST_SetSRID(ST_MakePoint(t.sx, t.sy), 4326) AS p) s
            """,
            {
                "tolerance": LOCATION_TOLERANCE_M,
                "i": list(range(len(checks))),
                "code": [point.village for point, _, _ in checks],
                # Out-of-range values would make the geography cast fail: NULL instead.
                "x": [point.lon if ok else None for point, ok, _ in checks],
                "y": [point.lat if ok else None for point, ok, _ in checks],
                "sx": [point.lat if ok else None for point, _, ok in checks],
                "sy": [point.lon if ok else None for point, _, ok in checks],
            },
        )
        results = cursor.fetchall()
    for index, no_boundary, near, swapped_near in results:
        point, in_range, _swapped = checks[index]
        if no_boundary or near:
            continue
        if swapped_near:
            problems[point.key] = Message(
                gettext_noop(
                    "Lintang dan bujur tertukar: titik ini berada di desanya bila keduanya ditukar."
                )
            )
        elif not in_range:
            problems[point.key] = Message(OUT_OF_RANGE)
        else:
            problems[point.key] = Message(
                gettext_noop("Titik berada di luar desa/kelurahannya (lebih dari %(meters)s m)."),
                meters=LOCATION_TOLERANCE_M,
            )
    return problems


def _checked_location(household: Household, value) -> Point:
    return _checked_point(household.region_id, value)


def _checked_point(village_code: str, value) -> Point:
    """`value` ([bujur, lintang]) as a point of village `village_code`, or the location
    rule's verdict as the error of `lokasi`."""
    try:
        lon, lat = (float(part) for part in value)
    except (TypeError, ValueError):
        raise ValidationError({"lokasi": _("Format: [bujur, lintang].")}) from None
    problems = locations_check(
        points=[PointToCheck(key="lokasi", village=village_code, lon=lon, lat=lat)]
    )
    if problems:
        raise ValidationError({key: str(message) for key, message in problems.items()})
    return Point(lon, lat, srid=4326)


__all__ = [
    "Member",
    "SplitResult",
    "StaleEdit",
    "head_change_record",
    "household_create",
    "household_kk_replace",
    "household_split_record",
    "household_update",
    "member_birth_record",
    "member_create",
    "member_event_record",
    "member_move_in_record",
    "member_nik_replace",
    "member_remove",
    "member_transfer_in_record",
    "member_transfer_record",
    "member_update",
]
