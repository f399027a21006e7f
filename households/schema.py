"""THE field catalogue of households and members: every list of fields is a projection of it.

The catalogue is derived from the models (`Household._meta`, `Member._meta`): each field
gets one category, inferred where the model says it and declared in `_DECLARED` for the
rest:

- identity: the identity number (No. KK, NIK): the first of the kernel's named fields
  (desapresisi.access, the disclosure policy, which stays there);
- named: what identifies a person besides it (names, address, RW/RT, birth date): the
  other named fields of the same policy;
- coded: an answer with a codebook variable (the `coded(...)` helper of the models);
- answer: a plain answer (dates, numbers, booleans, free text, the point, the dusun);
- derived: kept by the database (generated columns, trigger-kept counts) or computed on
  reading (`umur`);
- bookkeeping: keys, the village, the data source, timestamps and the row version.

Flags (in the API, exported, importable, editable, kept in the history, usable in indicator
specs) follow from the category and the field's type; `_DECLARED` overrides them where they
do not. The projections below (API values, sheet columns of the import template and the
exports, staging columns, editable fields, spec fields...) are computed from the models'
current `_meta` whenever it changed, so a field added to a model reaches every path with
no other edit. Their order is the model's field order.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.gis.db import models
from django.core import checks
from django.db import connection
from django.utils.translation import gettext_noop

from desapresisi.access import HOUSEHOLD_NAMED_FIELDS, MEMBER_NAMED_FIELDS
from villages.models import Region

from .models.households import Household, Member

IDENTITY = "identity"
NAMED = "named"
CODED = "coded"
ANSWER = "answer"
DERIVED = "derived"
BOOKKEEPING = "bookkeeping"
CATEGORIES = (IDENTITY, NAMED, CODED, ANSWER, DERIVED, BOOKKEEPING)

HOUSEHOLD, MEMBER = "household", "member"
MODELS = {HOUSEHOLD: Household, MEMBER: Member}
# The disclosure policy (kernel): identity number first, then the other named fields.
_NAMED_POLICY = {HOUSEHOLD: HOUSEHOLD_NAMED_FIELDS, MEMBER: MEMBER_NAMED_FIELDS}
# Each row's optimistic lock: raised by a trigger, sent back by edits (last in the API).
LOCK = "versi"

# What the models cannot say: the category of the fields below, and flags that do not
# follow from it. Every other field's category is inferred (see `_infer`).
_DECLARED: dict[tuple[str, str], tuple[str, dict]] = {
    (HOUSEHOLD, "region"): (BOOKKEEPING, {"importable": True}),
    (HOUSEHOLD, "dusun"): (ANSWER, {}),
    (HOUSEHOLD, "lokasi"): (ANSWER, {}),
    (HOUSEHOLD, "tanggal_survei"): (ANSWER, {}),
    (HOUSEHOLD, "tangki_septik_disedot"): (ANSWER, {}),
    (HOUSEHOLD, "desil_sumber"): (ANSWER, {}),
    (HOUSEHOLD, "desil_tahun"): (ANSWER, {}),
    (HOUSEHOLD, "penerima_pkh"): (ANSWER, {}),
    (HOUSEHOLD, "penerima_bpnt"): (ANSWER, {}),
    (HOUSEHOLD, "penerima_blt_dd"): (ANSWER, {}),
    (HOUSEHOLD, "penerima_pbi_jk"): (ANSWER, {}),
    (HOUSEHOLD, "sumber_data"): (BOOKKEEPING, {"in_specs": True}),
    # Stamped by a trigger (households/sql/households_round_stamp.sql), never written.
    (HOUSEHOLD, "survey_round"): (BOOKKEEPING, {"exported": False, "in_api": False}),
    (HOUSEHOLD, LOCK): (BOOKKEEPING, {"exported": False, "history": False}),
    # Kept by the member triggers (migration 0002).
    (HOUSEHOLD, "jumlah_anggota"): (DERIVED, {}),
    (HOUSEHOLD, "jumlah_ats"): (DERIVED, {}),
    (MEMBER, "household"): (BOOKKEEPING, {"importable": True}),
    (MEMBER, "disabilitas"): (ANSWER, {}),
    (MEMBER, "pekerjaan"): (ANSWER, {}),
    (MEMBER, LOCK): (BOOKKEEPING, {"exported": False, "history": False}),
    # Life events: written only by households.services.member_event_record (with its
    # checks and the date), never by a plain edit or an import.
    (MEMBER, "status_anggota"): (CODED, {"editable": False, "importable": False}),
    (MEMBER, "tanggal_status"): (ANSWER, {"editable": False, "importable": False}),
    (MEMBER, "tujuan_pindah"): (ANSWER, {"editable": False, "importable": False}),
}

# Values that are no model field: computed when reading (name, placed after, category).
_VIRTUAL = {MEMBER: [("umur", "tanggal_lahir", DERIVED)]}

# Exported bookkeeping at the end of an export sheet, in this order, after the derived
# values (any other exported bookkeeping field follows them). `kode_desa` of a member is
# its household's village.
EXPORT_TAIL = {HOUSEHOLD: ("sumber_data", "id"), MEMBER: ("kode_desa", "id", "household_id")}

# The identity number's kind in a sheet (how it is checked, labelled and masked).
_IDENTITY_KIND = {HOUSEHOLD: "kk", MEMBER: "nik"}

# Hints in the import template (sheet "petunjuk"), by sheet column; dates and identity
# numbers get theirs from their kind.
# Notes of the import template, as msgids: translated when the template is written.
_HELP = {
    (HOUSEHOLD, "kode_desa"): gettext_noop("mis. 64.09.01.2001"),
    (HOUSEHOLD, "lintang"): gettext_noop("latitude WGS84, mis. -1.25"),
    (HOUSEHOLD, "bujur"): gettext_noop("longitude WGS84, mis. 116.7"),
    (MEMBER, "no_kk"): gettext_noop("KK rumah tangganya"),
}
_KIND_HELP = {
    "kk": gettext_noop("16 digit, sebagai teks"),
    "nik": gettext_noop("16 digit, sebagai teks"),
    "date": "YYYY-MM-DD",
}


@dataclass(frozen=True)
class CatalogueField:
    unit: str
    name: str  # the model field's name (or the virtual value's)
    column: str  # its database column and `.values()` name (`region_id`)
    category: str | None  # None: not categorised (a test and a system check fail)
    field: models.Field | None  # None for a virtual value
    variable: str = ""  # the codebook variable of a coded answer
    exclude: tuple[int, ...] = ()  # codes of the variable this answer may not take
    in_api: bool = False
    exported: bool = False
    importable: bool = False
    editable: bool = False
    history: bool = False
    in_specs: bool = False

    @property
    def stored(self) -> bool:
        return self.field is not None

    @property
    def generated(self) -> bool:
        return self.field is not None and self.field.generated

    @property
    def choices(self) -> list | None:
        """Choices of a non-coded field (derived ladders, the data source)."""
        if self.field is None:
            return None
        return getattr(self.field, "output_field", self.field).choices or None


@dataclass(frozen=True)
class Column:
    """A column of an import sheet (and of the export sheets, which import back)."""

    name: str
    kind: str  # kk, nik, region, text, date, coded, bool, bool_null, int, coord
    variable: str = ""
    exclude: tuple[int, ...] = ()
    max_length: int = 0
    required: bool = False
    help_id: str = ""


def _is_stamp(field: models.Field) -> bool:
    return bool(getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False))


def _infer(unit: str, field: models.Field) -> str | None:
    named = _NAMED_POLICY[unit]
    if field.name == named[0]:
        return IDENTITY
    if field.name in named:
        return NAMED
    if getattr(field, "codebook_variable", None):
        return CODED
    if field.generated:
        return DERIVED
    if isinstance(field, models.AutoField) or _is_stamp(field):
        return BOOKKEEPING
    declared = _DECLARED.get((unit, field.name))
    return declared[0] if declared else None


def _scalar(field: models.Field | None) -> bool:
    """A value an indicator spec may compare: a number, code, boolean or date; not free
    text, not a point."""
    if field is None:
        return True
    if isinstance(field, models.GeometryField):
        return False
    return not (isinstance(field, models.CharField) and not field.choices)


def _flags(unit: str, name: str, category: str | None, field: models.Field | None) -> dict:
    if category is None:
        return {}
    stamp = field is not None and _is_stamp(field)
    flags = {
        "in_api": not stamp,
        "exported": not stamp,
        "importable": category in (IDENTITY, NAMED, CODED, ANSWER),
        "editable": category in (NAMED, CODED, ANSWER),
        "history": field is not None and not stamp and category != DERIVED,
        "in_specs": category in (CODED, ANSWER, DERIVED) and _scalar(field),
    }
    declared = _DECLARED.get((unit, name))
    if declared:
        flags.update(declared[1])
    return flags


def _entry(unit: str, field: models.Field) -> CatalogueField:
    category = _infer(unit, field)
    return CatalogueField(
        unit=unit,
        name=field.name,
        column=field.attname,
        category=category,
        field=field,
        variable=getattr(field, "codebook_variable", ""),
        exclude=getattr(field, "codebook_exclude", ()),
        **_flags(unit, field.name, category, field),
    )


def _build(unit: str) -> tuple[CatalogueField, ...]:
    entries = [_entry(unit, field) for field in MODELS[unit]._meta.concrete_fields]
    for name, after, category in _VIRTUAL.get(unit, []):
        position = next(i for i, e in enumerate(entries) if e.name == after) + 1
        virtual = CatalogueField(
            unit, name, name, category, None, **_flags(unit, name, category, None)
        )
        entries.insert(position, virtual)
    return tuple(entries)


_cache: dict[str, tuple[tuple, tuple[CatalogueField, ...]]] = {}


def catalogue(unit: str) -> tuple[CatalogueField, ...]:
    """Every field of a household or a member, in the model's order. Rebuilt whenever the
    model's field list changed (Django replaces `_meta.concrete_fields` then), so the
    projections need no reload and no explicit clearing."""
    fields = MODELS[unit]._meta.concrete_fields
    cached = _cache.get(unit)
    if cached is None or cached[0] is not fields:
        _cache[unit] = cached = (fields, _build(unit))
    return cached[1]


def uncategorised() -> list[str]:
    """`unit.field` of each model field without a category: add it to `_DECLARED`."""
    return [
        f"{entry.unit}.{entry.name}"
        for unit in MODELS
        for entry in catalogue(unit)
        if entry.category not in CATEGORIES
    ]


def field(unit: str, name: str) -> CatalogueField:
    return next(entry for entry in catalogue(unit) if entry.name == name)


def names(unit: str, *, category: str | None = None, **flags: bool) -> list[str]:
    """Names of the fields of `unit` of this category and with these flags, in order."""
    return [
        entry.name
        for entry in catalogue(unit)
        if entry.category is not None
        and (category is None or entry.category == category)
        and all(getattr(entry, flag) == value for flag, value in flags.items())
    ]


# --- Projections ---------------------------------------------------------------------------


def api_values(unit: str) -> list[str]:
    """`.values()` names of the API's household and member rows; the lock last."""
    values = [e.column for e in catalogue(unit) if e.category and e.in_api and e.name != LOCK]
    return [*values, LOCK]


def export_values(unit: str) -> list[str]:
    """`.values()` names of the export rows (the point as one value, `lokasi`)."""
    return [e.column for e in catalogue(unit) if e.category and e.exported]


def editable(unit: str) -> set[str]:
    """Fields a village operator's edit may change."""
    return set(names(unit, editable=True))


def coded(unit: str) -> list[str]:
    return names(unit, category=CODED)


def spec_fields(unit: str) -> set[str]:
    """Fields an indicator spec may filter on (`household__<field>` for members' specs)."""
    return set(names(unit, in_specs=True))


def summable(unit: str) -> set[str]:
    """Stored derived counts a spec may add up (`aggregate: sum`)."""
    return {
        e.name
        for e in catalogue(unit)
        if e.category == DERIVED
        and e.stored
        and isinstance(e.field, models.IntegerField)
        and not e.choices
    }


def derived(unit: str, *, stored: bool = True) -> list[str]:
    return [e.name for e in catalogue(unit) if e.category == DERIVED and (e.stored or not stored)]


def stamps(unit: str) -> list[str]:
    """Timestamps Django sets itself (created, changed)."""
    return [e.name for e in catalogue(unit) if e.field is not None and _is_stamp(e.field)]


def history_excluded(unit: str) -> set[str]:
    """Columns the history triggers leave out of a change record."""
    return {e.column for e in catalogue(unit) if e.stored and not e.history}


def _fk_target(entry: CatalogueField):
    return entry.field.related_model if isinstance(entry.field, models.ForeignKey) else None


def _sheet_columns_of(entry: CatalogueField) -> list[Column]:
    field = entry.field
    target = _fk_target(entry)
    required = not field.blank

    def column(name: str, kind: str, **extra) -> Column:
        help_id = _HELP.get((entry.unit, name), _KIND_HELP.get(kind, ""))
        return Column(name, kind, help_id=help_id, **extra)

    if target is Region:
        return [column("kode_desa", "region", required=required)]
    if target is Household:
        return [column("no_kk", _IDENTITY_KIND[HOUSEHOLD], required=required)]
    if entry.category == IDENTITY:
        return [column(entry.name, _IDENTITY_KIND[entry.unit], required=required)]
    if isinstance(field, models.PointField):
        return [column("lintang", "coord"), column("bujur", "coord")]
    if entry.category == CODED:
        return [
            column(
                entry.name, "coded", variable=entry.variable, exclude=entry.exclude,
                required=required,
            )
        ]  # fmt: skip
    if isinstance(field, models.DateField):
        return [column(entry.name, "date", required=required)]
    if isinstance(field, models.BooleanField):
        return [column(entry.name, "bool_null" if field.null else "bool")]
    if isinstance(field, models.CharField):
        return [column(entry.name, "text", max_length=field.max_length, required=required)]
    if isinstance(field, models.IntegerField):
        return [column(entry.name, "int")]
    raise TypeError(f"No sheet column for {entry.unit}.{entry.name} ({type(field).__name__})")


def sheet_columns(unit: str) -> list[Column]:
    """The columns of the import sheet of `unit`, in order (the template's headers)."""
    return [
        column
        for entry in catalogue(unit)
        if entry.category and entry.importable
        for column in _sheet_columns_of(entry)
    ]


def staging_columns(unit: str) -> list[tuple[str, str]]:
    """(column, SQL type) of an import's staging table, in order: the table's own columns,
    the member's household as its No. KK."""
    columns = []
    for entry in catalogue(unit):
        if not (entry.category and entry.importable):
            continue
        if _fk_target(entry) is Household:
            identity = field(HOUSEHOLD, _NAMED_POLICY[HOUSEHOLD][0])
            columns.append((identity.column, identity.field.db_type(connection)))
        else:
            columns.append((entry.column, entry.field.db_type(connection)))
    return columns


@dataclass(frozen=True)
class TailColumn:
    """An export column after the sheet columns: a derived or bookkeeping value.
    kind: label (the label of `source`'s choices), bool, text or raw."""

    name: str
    source: str
    kind: str
    choices: tuple = ()


def _tail_kind(entry: CatalogueField) -> str:
    field = entry.field
    if field is not None:
        field = getattr(field, "output_field", field)
    if isinstance(field, models.BooleanField):
        return "bool"
    if isinstance(field, models.CharField):
        return "text"
    return "raw"


def export_tail(unit: str) -> list[TailColumn]:
    """The export columns after the sheet's: derived values and answers kept by a service
    (with the label of their choices beside them), then the exported bookkeeping
    (`EXPORT_TAIL` first)."""
    tail = []
    for entry in catalogue(unit):
        # Answers only a service writes (a member's status after a life event): exported,
        # never imported, so they follow the sheet's columns here.
        kept_by_service = entry.category in (CODED, ANSWER, NAMED) and not entry.importable
        if (entry.category == DERIVED or kept_by_service) and entry.exported:
            tail.append(TailColumn(entry.name, entry.column, _tail_kind(entry)))
            if entry.choices:
                choices = tuple(entry.choices)
                tail.append(TailColumn(f"{entry.name}_label", entry.column, "label", choices))
    bookkeeping = {
        e.column: e
        for e in catalogue(unit)
        if e.category == BOOKKEEPING and e.exported and not e.importable
    }
    for name in EXPORT_TAIL[unit]:
        entry = bookkeeping.pop(name, None)
        tail.append(TailColumn(name, name, _tail_kind(entry) if entry else "raw"))
    tail.extend(TailColumn(e.column, e.column, _tail_kind(e)) for e in bookkeeping.values())
    return tail


def export_headers(unit: str) -> list[str]:
    """Headers of the household or member export sheets: the import sheet's columns, a
    `<column>_label` beside each coded one, then `export_tail`."""
    headers = []
    for column in sheet_columns(unit):
        headers.append(column.name)
        if column.kind == "coded":
            headers.append(f"{column.name}_label")
    return headers + [column.name for column in export_tail(unit)]


def catalogue_check(app_configs=None, **kwargs) -> list:
    """System check (`manage.py check`, run by runserver and migrate): every model field of
    households and members has a category."""
    return [
        checks.Error(
            f"{name} has no category in the field catalogue.",
            hint="Declare it in households.schema._DECLARED.",
            id="households.E001",
        )
        for name in uncategorised()
    ]
