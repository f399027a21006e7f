"""Writes of programmes: freezing target lists, the intervention status machine, evidence
photos, verification by data, and the rollup rows the pages read.

Every write runs in one transaction and refreshes the rollup rows of the villages it
touched (`stats_refresh`) in the same transaction, so the figures are never behind.
Services raise the kernel's domain errors; they know nothing of HTTP.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.contrib.gis.geos import Point
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F, Max, OuterRef, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import load_workbook
from PIL import Image, ImageOps, UnidentifiedImageError

from desapresisi.access import can_manage_programmes, can_work_interventions, role_of
from desapresisi.errors import InvalidInput, NotAllowed, NotReady
from desapresisi.models import Role
from households.indicators.queries import members_with_age
from households.indicators.spec import spec_q
from households.models import Household
from households.selectors import households_for, latest_period

from .models import (
    ACTIVE_STATUSES,
    TRANSITIONS,
    EvidencePhoto,
    Intervention,
    InterventionEvent,
    Programme,
    Skpd,
    Status,
    Target,
    TargetList,
    Unit,
)
from .selectors import (
    can_manage,
    double_aid_for,
    interventions_for,
    needs_condition,
    skpd_of,
)

# Transitions only the programme's managers (its SKPD, administrators) may make; the
# others (start, progress, done) are field work, open to the village's operator too.
MANAGER_ONLY = {Status.APPROVED, Status.REJECTED, Status.CANCELLED, Status.VERIFIED}


@dataclass
class FreezeResult:
    target_list: TargetList
    interventions: int
    # {household id: [{"programme", "name", "skpd"}]}: already in another programme for
    # the same indicator and year (double aid).
    warnings: dict[int, list[dict]] = field(default_factory=dict)


def _spec_fields(spec: dict) -> list[str]:
    """The fields a spec's conditions name (what the reason of a target records)."""
    names: list[str] = []
    for key in ("where", "exclude"):
        for lookup in spec.get(key, {}) or {}:
            name = lookup.split("__")[0]
            if name not in names:
                names.append(name)
    for condition in spec.get("any", []) or []:
        names += [name for name in _spec_fields(condition) if name not in names]
    return names


def _check_can_propose(actor, programme: Programme) -> None:
    if can_manage(actor, programme) or role_of(actor) == Role.OPERATOR:
        return
    raise NotAllowed(_("Hanya SKPD pemilik program yang dapat mengelola program ini."))


def target_list_freeze(
    *,
    actor,
    programme: Programme,
    households: QuerySet,
    criteria: dict,
    exclude_other_programmes: bool = False,
) -> FreezeResult:
    """Freeze the households of `households` (already filtered by the caller's criteria)
    that the actor may see and that meet the programme's indicator, as a new version of
    the programme's target list, and propose one intervention per unit, in one
    transaction. Households already in the programme are left out; with
    `exclude_other_programmes`, so are those in another programme for the same indicator
    and year. Raises InvalidInput when nothing is left to freeze."""
    _check_can_propose(actor, programme)
    indicator = programme.indicator
    selected = households_for(actor, households).filter(needs_condition(programme))
    selected = selected.exclude(
        pk__in=Intervention.objects.filter(programme=programme).values("household_id")
    )
    if exclude_other_programmes:
        selected = selected.exclude(
            pk__in=Intervention.objects.filter(
                programme__indicator_id=programme.indicator_id,
                programme__year=programme.year,
                status__in=ACTIVE_STATUSES,
            ).values("household_id")
        )
    fields = [name for name in _spec_fields(indicator.numerator) if "__" not in name]
    if programme.unit == Unit.HOUSEHOLD:
        fields = [name for name in fields if hasattr(Household, name)]
    else:
        fields = []
    with transaction.atomic():
        Programme.objects.select_for_update().filter(pk=programme.pk).first()
        rows = list(selected.order_by("pk").values("pk", "region_id", "versi", "diubah", *fields))
        if not rows:
            raise InvalidInput(
                {"criteria": [_("Tidak ada rumah tangga yang memenuhi kriteria dan indikator.")]}
            )
        members: dict[int, list[int]] = {}
        if programme.unit == Unit.MEMBER:
            for pk, household_id in (
                members_with_age()
                .filter(household_id__in=[row["pk"] for row in rows])
                .filter(spec_q(indicator.numerator))
                .values_list("pk", "household_id")
            ):
                members.setdefault(household_id, []).append(pk)
        version = (programme.target_lists.aggregate(last=Max("version"))["last"] or 0) + 1
        target_list = TargetList.objects.create(
            programme=programme,
            version=version,
            criteria=criteria,
            indicator_code=indicator.code,
            data_version={
                "household_version_max": max(row["versi"] for row in rows),
                "household_changed_max": max(row["diubah"] for row in rows).isoformat(),
                "indicator_period": latest_period(),
            },
            frozen_by=actor,
            size=len(rows),
        )
        targets = Target.objects.bulk_create(
            Target(
                target_list=target_list,
                household_id=row["pk"],
                region_code=row["region_id"],
                household_version=row["versi"],
                reason={
                    "indicator": indicator.code,
                    "values": {name: row[name] for name in fields},
                    **({"members": members.get(row["pk"], [])} if members else {}),
                },
            )
            for row in rows
        )
        interventions = []
        for target, row in zip(targets, rows, strict=True):
            units = members.get(row["pk"], [None]) if programme.unit == Unit.MEMBER else [None]
            interventions += [
                Intervention(
                    programme=programme,
                    household_id=row["pk"],
                    member_id=member,
                    target=target,
                    planned_amount=programme.unit_cost,
                )
                for member in units
            ]
        created = Intervention.objects.bulk_create(interventions)
        InterventionEvent.objects.bulk_create(
            InterventionEvent(
                intervention=item,
                actor=actor,
                from_status="",
                to_status=Status.PROPOSED,
                note=_("Daftar sasaran versi %(version)s") % {"version": version},
            )
            for item in created
        )
        month_count(programme_id=programme.pk, status=Status.PROPOSED, count=len(created))
        warnings = double_aid_for(
            actor, household_ids=[row["pk"] for row in rows], programme=programme
        )
        stats_refresh(programme_ids=[programme.pk], regions={row["region_id"] for row in rows})
    return FreezeResult(target_list=target_list, interventions=len(created), warnings=warnings)


def _amount(value, name: str) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise InvalidInput({name: [_("Isi dengan angka rupiah.")]}) from None
    if amount < 0 or amount != amount.to_integral_value() or amount >= 10**14:
        raise InvalidInput({name: [_("Isi dengan angka rupiah bulat, tidak negatif.")]})
    return amount


def _progress(value) -> int | None:
    if value in (None, ""):
        return None
    try:
        progress = int(value)
    except (TypeError, ValueError):
        progress = -1
    if not 0 <= progress <= 100:
        raise InvalidInput({"progress": [_("Kemajuan adalah bilangan bulat 0-100.")]})
    return progress


def transition_problem(actor, intervention: Intervention, to_status: str) -> str | None:
    """Why `actor` may not move `intervention` to `to_status` (None: they may). The
    caller has already found the intervention within the actor's areas."""
    if to_status not in Status.values:
        return _("Status tidak dikenal: %(status)s.") % {"status": to_status}
    if to_status not in TRANSITIONS[intervention.status]:
        return _("Status %(current)s tidak dapat diubah menjadi %(status)s.") % {
            "current": intervention.status,
            "status": to_status,
        }
    return None


def _check_allowed(actor, intervention: Intervention, to_status: str) -> None:
    manager = can_manage(actor, intervention.programme)
    if to_status in MANAGER_ONLY and not manager:
        raise NotAllowed(_("Hanya SKPD pemilik program yang dapat mengubah status ini."))
    if not manager and not (can_work_interventions(actor) and role_of(actor) == Role.OPERATOR):
        raise NotAllowed(_("Hanya SKPD pemilik program yang dapat mengelola program ini."))
    if to_status == Status.VERIFIED and intervention.done_by_id == actor.pk:
        raise NotAllowed(
            _("Empat mata: yang menandai selesai tidak dapat memverifikasi intervensi yang sama.")
        )


def intervention_transition(
    *,
    actor,
    intervention: Intervention,
    to_status: str,
    note: str = "",
    progress=None,
    realised_amount=None,
) -> Intervention:
    """Move one intervention along the status machine (models.TRANSITIONS), writing its
    event row. Refusals: InvalidInput naming `status`, `progress`, `realised_amount` or
    `note`; NotAllowed for a role or SKPD that may not, and for the four-eyes rule (who
    marked it done cannot verify it). The caller passes an intervention it found within
    the actor's areas (interventions_for)."""
    with transaction.atomic():
        locked = (
            Intervention.objects.select_for_update()
            .select_related("programme", "household")
            .get(pk=intervention.pk)
        )
        problem = transition_problem(actor, locked, to_status)
        if problem:
            raise InvalidInput({"status": [problem]})
        _check_allowed(actor, locked, to_status)
        if len(note or "") > 500:
            raise InvalidInput({"note": [_("Catatan paling banyak 500 karakter.")]})
        progress_value = _progress(progress)
        amount = _amount(realised_amount, "realised_amount")
        if to_status == Status.DONE:
            locked.done_by = actor
            locked.progress = 100
        elif to_status == Status.IN_PROGRESS:
            if locked.status == Status.DONE:
                locked.done_by = None
            if progress_value is not None:
                locked.progress = min(progress_value, 99)
        elif to_status == Status.VERIFIED:
            locked.verified_by = actor
        if amount is not None:
            locked.realised_amount = amount
        InterventionEvent.objects.create(
            intervention=locked,
            actor=actor,
            from_status=locked.status,
            to_status=to_status,
            progress=locked.progress,
            note=note or "",
        )
        locked.status = to_status
        locked.save()
        month_count(programme_id=locked.programme_id, status=to_status)
        stats_refresh(programme_ids=[locked.programme_id], regions={locked.household.region_id})
    return locked


def interventions_bulk_transition(*, actor, ids: list[int], to_status: str, note: str = "") -> int:
    """Move several interventions at once: all or none. A refusal names the item
    (`items[i]`) and why; an id outside the actor's areas reads as unknown."""
    if not ids:
        raise InvalidInput({"ids": [_("Pilih minimal satu intervensi.")]})
    if len(ids) > 1000:
        raise InvalidInput({"ids": [_("Paling banyak 1000 intervensi sekaligus.")]})
    visible = {item.pk: item for item in interventions_for(actor).filter(pk__in=ids)}
    with transaction.atomic():
        for index, pk in enumerate(ids):
            item = visible.get(pk)
            if item is None:
                raise InvalidInput(
                    {f"ids[{index}]": [_("Intervensi %(id)s tidak ditemukan.") % {"id": pk}]}
                )
            try:
                intervention_transition(
                    actor=actor, intervention=item, to_status=to_status, note=note
                )
            except InvalidInput as exc:
                messages = [message for value in exc.fields.values() for message in value]
                raise InvalidInput({f"ids[{index}]": messages}) from None
            except NotAllowed as exc:
                raise NotAllowed(f"{pk}: {exc.message}") from None
    return len(ids)


# --- Evidence photos -----------------------------------------------------------------------

PHOTO_FORMATS = {"JPEG", "PNG", "WEBP"}
PHOTO_MAX_SIDE = 1600
PHOTO_MAX_PIXELS = 40_000_000
GPS_IFD = 0x8825


def _dms(value) -> float:
    degrees, minutes, seconds = (float(part) for part in value)
    return degrees + minutes / 60 + seconds / 3600


def photo_point(image: Image.Image) -> Point | None:
    """The GPS point in the photo's EXIF, or None (absent or unreadable)."""
    try:
        gps = image.getexif().get_ifd(GPS_IFD)
        lat, lon = _dms(gps[2]), _dms(gps[4])
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None
    if gps.get(1) == "S":
        lat = -lat
    if gps.get(3) == "W":
        lon = -lon
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return Point(lon, lat, srid=4326)


def evidence_photo_add(*, actor, intervention: Intervention, upload) -> EvidencePhoto:
    """Store a photo of the work: images only (JPEG, PNG, WebP), at most
    PROGRAMME_PHOTO_MAX_BYTES, re-encoded as JPEG from its pixels alone (no EXIF, XMP, ICC
    or comment survives); its GPS point is kept as a field. InvalidInput names `photo`."""
    if not (can_manage(actor, intervention.programme) or role_of(actor) == Role.OPERATOR):
        raise NotAllowed(_("Hanya SKPD pemilik program yang dapat mengelola program ini."))
    if intervention.status in (Status.VERIFIED, Status.REJECTED, Status.CANCELLED):
        raise NotReady(_("Intervensi ini sudah ditutup."))
    limit = settings.PROGRAMME_PHOTO_MAX_BYTES
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise InvalidInput(
            {"photo": [_("Foto terlalu besar (maksimal %(mb)s MB).") % {"mb": limit // 2**20}]}
        )
    try:
        image = Image.open(io.BytesIO(data))
        if image.format not in PHOTO_FORMATS:
            raise UnidentifiedImageError(image.format)
        if image.width * image.height > PHOTO_MAX_PIXELS:
            raise InvalidInput({"photo": [_("Resolusi foto terlalu besar.")]})
        point = photo_point(image)
        image = ImageOps.exif_transpose(image)
        image.thumbnail((PHOTO_MAX_SIDE, PHOTO_MAX_SIDE))
        pixels = image.convert("RGB")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise InvalidInput(
            {"photo": [_("Berkas bukan foto JPEG, PNG atau WebP yang terbaca.")]}
        ) from None
    # A new image from the pixels: nothing of the original's metadata comes along.
    clean = Image.new("RGB", pixels.size)
    clean.paste(pixels)
    out = io.BytesIO()
    clean.save(out, format="JPEG", quality=85)
    return EvidencePhoto.objects.create(
        intervention=intervention,
        image=out.getvalue(),
        width=clean.width,
        height=clean.height,
        lokasi=point,
        uploaded_by=actor,
    )


# --- Verification by data --------------------------------------------------------------------


def interventions_confirm_by_data(*, programme_ids: list[int] | None = None) -> int:
    """Mark done or verified interventions whose household's record, changed after the
    work was marked done, no longer meets the programme's indicator ("confirmed by
    data"). Run after a re-survey or import (`manage.py confirm_interventions`)."""
    now = timezone.now()
    programmes = Programme.objects.select_related("indicator")
    if programme_ids is not None:
        programmes = programmes.filter(pk__in=programme_ids)
    confirmed = 0
    with transaction.atomic():
        for programme in programmes:
            candidates = Intervention.objects.filter(
                programme=programme,
                status__in=(Status.DONE, Status.VERIFIED),
                confirmed_by_data_at__isnull=True,
            )
            done_at = (
                InterventionEvent.objects.filter(intervention=OuterRef("pk"), to_status=Status.DONE)
                .order_by("-at")
                .values("at")[:1]
            )
            resolved = (
                candidates.annotate(done_at=Subquery(done_at))
                .filter(household__diubah__gt=F("done_at"))
                .exclude(household__in=Household.objects.filter(needs_condition(programme)))
            )
            rows = list(resolved.values_list("pk", "household__region_id"))
            if not rows:
                continue
            Intervention.objects.filter(pk__in=[pk for pk, _region in rows]).update(
                confirmed_by_data_at=now
            )
            confirmed += len(rows)
            stats_refresh(programme_ids=[programme.pk], regions={region for _pk, region in rows})
    return confirmed


# --- The rollup rows the pages read ---------------------------------------------------------

STATS_SQL = """
WITH scope AS (
    SELECT p.id AS programme_id, r.code AS region_id
    FROM programmes_programme p CROSS JOIN unnest(%(regions)s::varchar[]) AS r(code)
    WHERE p.id = ANY(%(programmes)s)
),
targets AS (
    SELECT tl.programme_id, t.region_code AS region_id, count(DISTINCT t.household_id) AS n
    FROM programmes_target t JOIN programmes_targetlist tl ON tl.id = t.target_list_id
    JOIN scope s ON s.programme_id = tl.programme_id AND s.region_id = t.region_code
    GROUP BY 1, 2
),
items AS (
    SELECT i.programme_id, h.region_id, i.status, count(*) AS n,
           count(*) FILTER (WHERE i.confirmed_by_data_at IS NOT NULL) AS confirmed,
           coalesce(sum(i.planned_amount)
                    FILTER (WHERE i.status NOT IN ('ditolak', 'batal')), 0) AS planned,
           coalesce(sum(i.realised_amount), 0) AS realised
    FROM programmes_intervention i JOIN households_household h ON h.id = i.household_id
    JOIN scope s ON s.programme_id = i.programme_id AND s.region_id = h.region_id
    GROUP BY 1, 2, 3
),
per_village AS (
    SELECT programme_id, region_id, jsonb_object_agg(status, n) AS counts,
           sum(confirmed) AS confirmed, sum(planned) AS planned, sum(realised) AS realised
    FROM items GROUP BY 1, 2
),
merged AS (
    SELECT s.programme_id, s.region_id, coalesce(t.n, 0) AS targets,
           coalesce(v.counts, '{}'::jsonb) AS counts, coalesce(v.confirmed, 0) AS confirmed,
           coalesce(v.planned, 0) AS planned, coalesce(v.realised, 0) AS realised
    FROM scope s LEFT JOIN targets t USING (programme_id, region_id)
    LEFT JOIN per_village v USING (programme_id, region_id)
),
deleted AS (
    DELETE FROM programmes_programmevillagestat st USING merged m
    WHERE st.programme_id = m.programme_id AND st.region_id = m.region_id
      AND m.targets = 0 AND m.counts = '{}'::jsonb
)
INSERT INTO programmes_programmevillagestat
    (programme_id, region_id, targets, counts, confirmed_by_data, planned, realised)
SELECT programme_id, region_id, targets, counts, confirmed, planned, realised
FROM merged WHERE targets > 0 OR counts <> '{}'::jsonb
ON CONFLICT (programme_id, region_id) DO UPDATE SET
    targets = excluded.targets, counts = excluded.counts,
    confirmed_by_data = excluded.confirmed_by_data,
    planned = excluded.planned, realised = excluded.realised
"""

COVERAGE_SQL = """
WITH scope AS (
    SELECT DISTINCT p.indicator_id, p.year, r.code AS region_id
    FROM programmes_programme p CROSS JOIN unnest(%(regions)s::varchar[]) AS r(code)
    WHERE p.id = ANY(%(programmes)s)
),
reached AS (
    SELECT s.indicator_id, s.year, s.region_id, count(DISTINCT i.household_id) AS n
    FROM scope s
    JOIN programmes_programme p ON p.indicator_id = s.indicator_id AND p.year = s.year
    JOIN programmes_intervention i ON i.programme_id = p.id
    JOIN households_household h ON h.id = i.household_id AND h.region_id = s.region_id
    WHERE i.status = ANY(%(active)s)
    GROUP BY 1, 2, 3
)
INSERT INTO programmes_coveragecell (indicator_id, year, region_id, reached)
SELECT s.indicator_id, s.year, s.region_id, coalesce(r.n, 0)
FROM scope s LEFT JOIN reached r USING (indicator_id, year, region_id)
ON CONFLICT (indicator_id, year, region_id) DO UPDATE SET reached = excluded.reached
"""


def month_count(*, programme_id: int, status: str, count: int = 1) -> None:
    """Add `count` events reaching `status` to the programme's current month."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO programmes_programmemonthstat (programme_id, month, status, count)
            VALUES (%s, %s, %s, %s)
            ON CONFLICT (programme_id, month, status)
            DO UPDATE SET count = programmes_programmemonthstat.count + excluded.count
            """,
            [programme_id, timezone.localdate().strftime("%Y-%m"), status, count],
        )


def stats_refresh(*, programme_ids: list[int], regions: set[str]) -> None:
    """Recompute the rollup rows of these programmes in these villages, and the coverage
    of their indicators there: a few rows, set-based, in the caller's transaction."""
    if not programme_ids or not regions:
        return
    params = {
        "programmes": list(programme_ids),
        "regions": sorted(regions),
        "active": [str(status) for status in ACTIVE_STATUSES],
    }
    with connection.cursor() as cursor:
        cursor.execute(STATS_SQL, params)
        cursor.execute(COVERAGE_SQL, params)


def stats_rebuild() -> None:
    """Every programme in every village it touched (after a bulk change or a migration)."""
    for programme in Programme.objects.all():
        regions = set(
            Intervention.objects.filter(programme=programme).values_list(
                "household__region_id", flat=True
            )
        ) | set(
            Target.objects.filter(target_list__programme=programme).values_list(
                "region_code", flat=True
            )
        )
        stats_refresh(programme_ids=[programme.pk], regions=regions)


# --- Programmes ------------------------------------------------------------------------------


def programme_create(*, actor, skpd: Skpd | None, **fields) -> Programme:
    """A new programme of `skpd` (an analyst's own SKPD when None). Administrators create
    for any SKPD; analysts for their own only. The indicator's unit is the programme's
    unit. Model validation errors come back as InvalidInput naming the fields."""
    own = skpd_of(actor)
    if role_of(actor) == Role.ADMIN:
        if skpd is None:
            raise InvalidInput({"skpd": [_("Wajib diisi.")]})
    elif not can_manage_programmes(actor) or own is None:
        raise NotAllowed(_("Hanya analis SKPD yang dapat membuat program."))
    elif skpd is not None and skpd.pk != own.pk:
        raise NotAllowed(_("Hanya SKPD pemilik program yang dapat mengelola program ini."))
    programme = Programme(skpd=skpd or own, **fields)
    indicator = programme.indicator if programme.indicator_id else None
    if indicator is not None and indicator.numerator.get("unit") != programme.unit:
        raise InvalidInput(
            {
                "unit": [
                    _("Indikator %(code)s menghitung %(unit)s.")
                    % {"code": indicator.code, "unit": indicator.numerator.get("unit")}
                ]
            }
        )
    try:
        programme.full_clean()
    except ValidationError as exc:
        raise InvalidInput(exc.message_dict) from None
    programme.save()
    return programme


# --- Status import (XLSX) ------------------------------------------------------------------

IMPORT_COLUMNS = ("id", "status", "kemajuan", "realisasi", "catatan")
IMPORT_MAX_ROWS = 5000
IMPORT_MAX_BYTES = 2 * 1024 * 1024
IMPORT_MAX_UNCOMPRESSED = 32 * 1024 * 1024


def _import_rows(data: bytes) -> list[tuple[int, dict]]:
    """(row number, {column: text}) of the first sheet, headers in row 1."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if sum(info.file_size for info in archive.infolist()) > IMPORT_MAX_UNCOMPRESSED:
                raise InvalidInput({"file": [_("Berkas terlalu besar setelah dibuka.")]})
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        raise InvalidInput({"file": [_("Berkas bukan XLSX yang terbaca.")]}) from None
    sheet = book.worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    header = [str(cell or "").strip().lower() for cell in next(rows, ())]
    missing = [name for name in ("id", "status") if name not in header]
    if missing:
        raise InvalidInput(
            {"file": [_("Kolom wajib tidak ada: %(columns)s.") % {"columns": ", ".join(missing)}]}
        )
    unknown = [name for name in header if name and name not in IMPORT_COLUMNS]
    if unknown:
        raise InvalidInput(
            {"file": [_("Kolom tidak dikenal: %(columns)s.") % {"columns": ", ".join(unknown)}]}
        )
    found = []
    for number, values in enumerate(rows, start=2):
        if number - 1 > IMPORT_MAX_ROWS:
            raise InvalidInput(
                {"file": [_("Paling banyak %(rows)s baris.") % {"rows": IMPORT_MAX_ROWS}]}
            )
        cells = {
            name: ("" if value is None else str(value).strip())
            for name, value in zip(header, values, strict=False)
            if name
        }
        if any(cells.values()):
            found.append((number, cells))
    return found


def interventions_status_import(*, actor, upload) -> int:
    """Status changes from an XLSX sheet (columns id, status, and optionally kemajuan,
    realisasi, catatan): every row is checked and applied in one transaction; any
    refused row refuses the file (InvalidInput naming `baris N` and the column), nothing
    is written. An id outside the actor's areas reads as unknown."""
    data = upload.read(IMPORT_MAX_BYTES + 1)
    if len(data) > IMPORT_MAX_BYTES:
        raise InvalidInput({"file": [_("Berkas terlalu besar (maksimal 2 MB).")]})
    rows = _import_rows(data)
    if not rows:
        raise InvalidInput({"file": [_("Tidak ada baris data.")]})
    ids = {}
    errors: dict[str, list[str]] = {}
    for number, cells in rows:
        try:
            ids[number] = int(float(cells.get("id", "")))
        except ValueError:
            errors[f"baris {number}, id"] = [_("Isi dengan nomor intervensi.")]
    visible = {
        item.pk: item
        for item in interventions_for(actor)
        .select_related("programme")
        .filter(pk__in=list(ids.values()))
    }
    seen: set[int] = set()
    with transaction.atomic():
        for number, cells in rows:
            pk = ids.get(number)
            if pk is None:
                continue
            if pk not in visible:
                errors[f"baris {number}, id"] = [
                    _("Intervensi %(id)s tidak ditemukan.") % {"id": pk}
                ]
                continue
            if pk in seen:
                errors[f"baris {number}, id"] = [_("Intervensi ini sudah ada di baris lain.")]
                continue
            seen.add(pk)
            try:
                with transaction.atomic():
                    intervention_transition(
                        actor=actor,
                        intervention=visible[pk],
                        to_status=cells.get("status", ""),
                        note=cells.get("catatan", ""),
                        progress=cells.get("kemajuan") or None,
                        realised_amount=cells.get("realisasi") or None,
                    )
            except InvalidInput as exc:
                renamed = {
                    "progress": "kemajuan",
                    "realised_amount": "realisasi",
                    "note": "catatan",
                }
                for name, messages in exc.fields.items():
                    errors[f"baris {number}, {renamed.get(name, name)}"] = list(messages)
            except NotAllowed as exc:
                errors[f"baris {number}, status"] = [exc.message]
        if errors:
            transaction.set_rollback(True)
    if errors:
        raise InvalidInput(errors)
    return len(rows)
