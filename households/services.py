"""Writes of single households and members (village operators' edits).

Edits use optimistic locking: the caller sends the `versi` it read; if the row has moved
on, nothing is written and the caller learns the current version (HTTP 409). The database
raises `versi` on every real change and keeps the history (see migration 0006).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.contrib.gis.geos import Point
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from desapresisi.i18n import Message

from . import schema
from .indicators.rollup import indicators_refresh_task
from .models import Household, Member, MemberStatus

# Coordinates may lie this far outside the village polygon (simplified boundaries, GPS
# error at the edge of a village) before an edit is refused.
LOCATION_TOLERANCE_M = 250


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


def household_update(
    *, queryset: QuerySet, pk: int, changes: dict[str, Any], expected_version: int
) -> EditResult:
    """Edit one household of `queryset` (already narrowed to what the caller may edit)."""
    with transaction.atomic():
        household = queryset.select_for_update().get(pk=pk)
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
        return _apply(
            instance=member,
            changes=changes,
            editable=member_editable(),
            expected_version=expected_version,
        )


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
    part 2)."""
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
        if member.versi != expected_version:
            raise StaleEdit(member.versi)
        if member.status_anggota == MemberStatus.DIED:
            raise ValidationError({"kind": _("Anggota ini sudah tercatat meninggal.")})
        if member.status_anggota == MemberStatus.MOVED_OUT:
            raise ValidationError({"kind": _("Anggota ini sudah tercatat pindah keluar.")})
        if date > timezone.localdate():
            raise ValidationError({"tanggal": _("Tanggal peristiwa tidak boleh di masa depan.")})
        if date < member.tanggal_lahir:
            raise ValidationError(
                {"tanggal": _("Tanggal peristiwa tidak boleh sebelum tanggal lahir.")}
            )
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

# Prefix digit of a temporary NIK (no province code starts with 0): a birth recorded before
# Dukcapil issued the child's NIK.
TEMPORARY_NIK_PREFIX = "0"


def _temporary_nik(region_code: str) -> str:
    """'0', the village code's 10 digits and a 5-digit serial per village: 16 digits like a
    NIK, never a real one. Serialised per village by a transaction-level advisory lock."""
    prefix = TEMPORARY_NIK_PREFIX + region_code.replace(".", "")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"nik-sementara:{prefix}"])
        cursor.execute("SELECT max(nik) FROM households_member WHERE nik LIKE %s", [prefix + "%"])
        (last,) = cursor.fetchone()
    serial = int(last[len(prefix) :]) + 1 if last else 1
    return f"{prefix}{serial:05d}"


def nik_birth_mismatch(nik: str, birth: dt.date, sex: int | None) -> tuple[str, Message] | None:
    """The one rule of a NIK against its holder: digits 7-12 state the birth date (DDMMYY,
    +40 on the day for women). Returns the answer that contradicts the NIK
    ("tanggal_lahir" or "jenis_kelamin") and why, or None. Used by imports and births."""
    day = int(nik[6:8])
    female = day > 40
    day -= 40 if female else 0
    if (day, int(nik[8:10]), int(nik[10:12])) != (birth.day, birth.month, birth.year % 100):
        return "tanggal_lahir", Message(
            gettext_noop(
                "Tanggal lahir tidak cocok dengan NIK (digit 7-12 menyatakan %(digits)s: "
                "DDMMYY, +40 pada tanggal untuk perempuan)."
            ),
            digits=nik[6:12],
        )
    if sex is not None and female != (sex == 2):
        return "jenis_kelamin", Message(
            gettext_noop("Jenis kelamin tidak cocok dengan NIK (tanggal +40 berarti perempuan).")
        )
    return None


def nik_birth_problem(nik: str, birth: dt.date, sex: int | None) -> dict[str, str]:
    """`nik_birth_mismatch` as a birth's form errors: a wrong date is the NIK's field."""
    mismatch = nik_birth_mismatch(nik, birth, sex)
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
    elif date > timezone.localdate():
        errors["tanggal"] = _("Tanggal peristiwa tidak boleh di masa depan.")
    if relationship is None:
        relationship = CHILD
    if relationship not in BIRTH_RELATIONSHIPS:
        errors["hubungan_keluarga"] = _(
            "Anggota yang lahir tercatat sebagai anak, cucu, famili lain atau lainnya."
        )
    with transaction.atomic():
        household = household_queryset.select_for_update().get(pk=household_pk)
        if household.versi != expected_version:
            raise StaleEdit(household.versi)
        if date is not None and "tanggal" not in errors and date < household.tanggal_survei:
            errors["tanggal"] = _(
                "Tanggal lahir tidak boleh sebelum tanggal survei rumah tangga (%(date)s): "
                "anggota yang lahir sebelumnya dicatat dengan mengubah data."
            ) % {"date": household.tanggal_survei.isoformat()}
        if nik and not (nik.isdigit() and len(nik) == 16):
            errors.setdefault("nik", _("%(label)s harus 16 digit angka.") % {"label": "NIK"})
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
    actor: str | None = None,
) -> EditResult:
    """Change of head (`ganti_kepala`) of a household of `household_queryset`: a current
    member of the same household becomes head (SHDK 1); the former head (whatever their
    status: a head who died or moved out is replaced this way) gets
    `former_head_relationship_code`, or `former_head_relationship`'s default. Both
    updates run in one transaction, the former head first (the partial unique index
    allows one head at a time), so the deferred one-head rule holds at commit. The other
    members' codes stay as they are (an edit changes them). Errors are named by the
    request's fields: anggota, hubungan_kepala_lama."""
    if new_head_pk is None:
        raise ValidationError({"anggota": _("Wajib: anggota yang menjadi kepala keluarga.")})
    if former_head_relationship_code == HEAD:
        raise ValidationError(
            {"hubungan_kepala_lama": _("Kepala keluarga lama tidak boleh tetap kepala.")}
        )
    with transaction.atomic():
        household = household_queryset.select_for_update().get(pk=household_pk)
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
    actor: str | None = None,
) -> EditResult:
    """Move a current member of `queryset` to another household of `target_queryset`
    (`pindah_kk`; both already narrowed to what the caller may edit), keeping the row, its
    NIK and history: `household_id` changes, the triggers recount both households and
    write the change (with the actor). `relationship` is the member's code in the new
    household (default: unchanged). A head cannot move: a change of head comes first.
    Errors are named by the request's fields: rumah_tangga_tujuan, hubungan_keluarga,
    kind."""
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
        target = target_queryset.select_for_update().filter(pk=target_pk).first()
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
        transaction.on_commit(indicators_refresh_task.enqueue)
    return EditResult(member.pk, member.versi, changed)


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
    try:
        lon, lat = (float(part) for part in value)
    except (TypeError, ValueError):
        raise ValidationError({"lokasi": _("Format: [bujur, lintang].")}) from None
    problems = locations_check(
        points=[PointToCheck(key="lokasi", village=household.region_id, lon=lon, lat=lat)]
    )
    if problems:
        raise ValidationError({key: str(message) for key, message in problems.items()})
    return Point(lon, lat, srid=4326)


__all__ = [
    "Member",
    "StaleEdit",
    "head_change_record",
    "household_update",
    "member_birth_record",
    "member_event_record",
    "member_transfer_record",
    "member_update",
]
