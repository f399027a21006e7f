"""The census and the follow-up visit as XLSForms, generated from the field catalogue.

Every question is a projection of `households.schema` (the import sheets' columns), every
choice list one of the codebook's variables, and every skip rule one the importer checks
(`rules.skip_rules`, read from the models' check constraints). A field added to the model
reaches the form with no other edit; a form is never kept by hand.

Labels come in two languages: Indonesian (the default, `label::Indonesian (id)`) and English
(`label::English (en)`), from the same msgids the portal translates.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable
from dataclasses import dataclass

from django.utils.text import capfirst
from django.utils.translation import gettext, gettext_noop, override
from openpyxl import Workbook

from desapresisi.errors import NotAllowed
from villages.models import Level, Region

from .. import codebook as cb
from .. import rules, schema
from ..census_import.columns import HOUSEHOLD_SHEET, MEMBER_SHEET
from ..census_import.validate import import_scope
from ..models import Household, Member
from ..schema import Column

LANGUAGES = (("Indonesian (id)", "id"), ("English (en)", "en"))
DEFAULT_LANGUAGE = LANGUAGES[0][0]

CENSUS_FORM_ID = "desapresisi_sensus"
VISIT_FORM_ID = "desapresisi_kunjungan"
# The follow-up visit's entity list (ODK Entities) and the question choosing its entity.
ENTITY_LIST = "rumah_tangga"
ENTITY_QUESTION = "rt_dikunjungi"
# The version of the household the visit started from (the optimistic lock).
VISIT_VERSION = "versi_awal"
# The one question that replaces the import sheet's `lintang` and `bujur`.
GEOPOINT = "lokasi"
# capture-accuracy: Collect records the point by itself once it is this good (metres);
# warning-accuracy: worse than this, it warns the enumerator.
GEOPOINT_PARAMETERS = "capture-accuracy=10 warning-accuracy=25"
YES_NO = "ya_tidak"
VILLAGES = "desa"

_SURVEY_HEADERS = [
    "type",
    "name",
    *(f"label::{language}" for language, _code in LANGUAGES),
    *(f"hint::{language}" for language, _code in LANGUAGES),
    "required",
    *(f"required_message::{language}" for language, _code in LANGUAGES),
    "relevant",
    "constraint",
    *(f"constraint_message::{language}" for language, _code in LANGUAGES),
    "calculation",
    "trigger",
    "default",
    "parameters",
    "read_only",
    "appearance",
]
_CHOICE_HEADERS = ["list_name", "name", *(f"label::{language}" for language, _code in LANGUAGES)]

# Messages of the form, as msgids: translated into each language of the form.
REQUIRED = rules.REQUIRED
IDENTITY_SHAPE = gettext_noop("Harus 16 digit angka.")
TOO_LONG = gettext_noop("Terlalu panjang (maks. %(limit)s karakter).")
SURVEY_DATE = gettext_noop("Tanggal survei tidak masuk akal (2000 s.d. hari ini).")
BIRTH_DATE = gettext_noop("Tanggal lahir tidak masuk akal (1900 s.d. tanggal survei).")
INTEGER_RANGE = gettext_noop("Angka di luar rentang yang mungkin.")
ONE_HEAD = gettext_noop("Rumah tangga hanya boleh punya satu kepala keluarga.")
DECILE_SOURCE = gettext_noop("Desil butuh sumbernya (mis. DTSEN).")


@dataclass(frozen=True)
class Text:
    """A text of the form: a msgid (with its parameters), or a function of the language."""

    msgid: str = ""
    params: tuple = ()
    of: Callable[[], str] | None = None

    def shown(self, language: str) -> str:
        with override(language):
            if self.of is not None:
                return str(self.of())
            text = gettext(self.msgid)
            return text % dict(self.params) if self.params else text


def _verbose(model, name: str) -> Text:
    return Text(of=lambda: capfirst(model._meta.get_field(name).verbose_name))


def _row(kind: str, name: str, label: Text | None = None, **cells) -> dict:
    row = {"type": kind, "name": name}
    for language, code in LANGUAGES:
        if label is not None:
            row[f"label::{language}"] = label.shown(code)
        for key in ("hint", "required_message", "constraint_message"):
            text = cells.get(key)
            if text is not None:
                row[f"{key}::{language}"] = text.shown(code)
    for key in ("required", "relevant", "constraint", "calculation", "trigger", "default"):
        if cells.get(key):
            row[key] = cells[key]
    for key in ("parameters", "read_only", "appearance"):
        if cells.get(key):
            row[key] = cells[key]
    return row


def list_name(column: Column) -> str:
    """The choice list of a coded column: its codebook variable, narrowed when the column
    excludes codes (`jenjang_pendidikan` without 23 for item 413)."""
    if not column.exclude:
        return column.variable
    return f"{column.variable}_tanpa_{'_'.join(map(str, column.exclude))}"


def _relevant(model, name: str) -> str:
    rule = rules.skip_rules(model).get(name)
    if rule is None:
        return ""
    question, codes = rule
    return " or ".join(f"selected(${{{question}}}, '{code}')" for code in codes)


def _question(model, column: Column, *, survey_date: str = "${tanggal_survei}") -> dict:
    """One question for one import column (the coordinates excepted: see GEOPOINT)."""
    label = _verbose(model, column.name if column.kind != "region" else "region")
    required = "yes" if column.required else ""
    cells: dict = {"required": required}
    if required:
        cells["required_message"] = Text(REQUIRED)
    cells["relevant"] = _relevant(model, column.name)
    if column.help_id:
        cells["hint"] = Text(column.help_id)
    kind = column.kind
    if kind == "region":
        return _row(f"select_one {VILLAGES}", column.name, label, **cells)
    if kind in ("kk", "nik"):
        return _row(
            "text",
            column.name,
            label,
            constraint="regex(., '^[0-9]{16}$')",
            constraint_message=Text(IDENTITY_SHAPE),
            appearance="numbers",
            **cells,
        )
    if kind == "text":
        return _row(
            "text",
            column.name,
            label,
            constraint=f"string-length(.) <= {column.max_length}",
            constraint_message=Text(TOO_LONG, (("limit", column.max_length),)),
            **cells,
        )
    if kind == "date":
        if column.name == "tanggal_survei":
            return _row(
                "date",
                column.name,
                label,
                constraint=f". >= date('{rules.EARLIEST_SURVEY.isoformat()}') and . <= today()",
                constraint_message=Text(SURVEY_DATE),
                default="today()",
                **cells,
            )
        if column.name == "tanggal_lahir":
            return _row(
                "date",
                column.name,
                label,
                constraint=f". >= date('{rules.EARLIEST_BIRTH.isoformat()}') and . <= "
                f"{survey_date}",
                constraint_message=Text(BIRTH_DATE),
                **cells,
            )
        return _row("date", column.name, label, **cells)
    if kind == "coded":
        return _row(f"select_one {list_name(column)}", column.name, label, **cells)
    if kind in ("bool", "bool_null"):
        return _row(f"select_one {YES_NO}", column.name, label, **cells)
    if kind == "int":
        return _row(
            "integer",
            column.name,
            label,
            constraint=". >= -32768 and . <= 32767",
            constraint_message=Text(INTEGER_RANGE),
            **cells,
        )
    raise AssertionError(kind)


def _geopoint(model) -> dict:
    return _row(
        "geopoint",
        GEOPOINT,
        _verbose(model, "lokasi"),
        parameters=GEOPOINT_PARAMETERS,
        hint=Text(gettext_noop("Tunggu sampai akurasi di bawah 10 m, lalu simpan.")),
    )


def _household_questions() -> list[dict]:
    rows = []
    for column in schema.sheet_columns(schema.HOUSEHOLD):
        if column.kind == "coord":
            if column.name == "lintang":
                rows.append(_geopoint(Household))
            continue
        row = _question(Household, column)
        if column.name == "desil_sumber":
            row["required"] = "${desil_kesejahteraan} != ''"
            for language, code in LANGUAGES:
                row[f"required_message::{language}"] = Text(DECILE_SOURCE).shown(code)
        rows.append(row)
    return rows


def _member_questions() -> list[dict]:
    rows = []
    for column in schema.sheet_columns(schema.MEMBER):
        if column.name == "no_kk":  # the household the repeat sits in
            continue
        row = _question(Member, column)
        if column.name == "hubungan_keluarga":
            row["constraint"] = (
                f". != '1' or count(../../{MEMBER_SHEET}[hubungan_keluarga = '1']) <= 1"
            )
            for language, code in LANGUAGES:
                row[f"constraint_message::{language}"] = Text(ONE_HEAD).shown(code)
        rows.append(row)
    return rows


def _coded_columns() -> list[Column]:
    return [
        column
        for unit in (schema.HOUSEHOLD, schema.MEMBER)
        for column in schema.sheet_columns(unit)
        if column.kind == "coded"
    ]


def _choices(villages: list[Region]) -> list[dict]:
    rows: list[dict] = []
    done = set()
    for column in _coded_columns():
        name = list_name(column)
        if name in done:
            continue
        done.add(name)
        for entry in cb.codebook()[column.variable]:
            if entry.code in column.exclude:
                continue
            rows.append(
                {
                    "list_name": name,
                    "name": str(entry.code),
                    **{f"label::{language}": entry.label(code) for language, code in LANGUAGES},
                }
            )
    for value, msgid in (("1", gettext_noop("Ya")), ("0", gettext_noop("Tidak"))):
        rows.append(
            {
                "list_name": YES_NO,
                "name": value,
                **{f"label::{lang}": Text(msgid).shown(code) for lang, code in LANGUAGES},
            }
        )
    for village in villages:
        label = f"{village.name} ({village.code})"
        rows.append(
            {
                "list_name": VILLAGES,
                "name": village.code,
                **{f"label::{language}": label for language, _code in LANGUAGES},
            }
        )
    return rows


def villages_of(user) -> list[Region]:
    """The villages the caller may import into (the import's scope): the form's list."""
    villages = Region.objects.filter(level=Level.DESA).order_by("code")
    scope = import_scope(user)
    return list(villages if scope is None else villages.filter(code__in=scope))


def _group(kind: str, name: str, label: Text, rows: list[dict], **cells) -> list[dict]:
    return [_row(f"begin {kind}", name, label, **cells), *rows, {"type": f"end {kind}"}]


def _version(survey: list[dict], choices: list[dict], extra: list | None = None) -> str:
    """The form's version: a digest of its content, so that the same catalogue, codebook
    and village list give the same version, and any change a new one (ODK Central
    requires a new version for every changed form)."""
    content = json.dumps([survey, choices, extra or []], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(content.encode()).hexdigest()[:12]


NO_VILLAGE = gettext_noop("Akun ini tidak punya desa untuk diimpor: formulir tidak dapat dibuat.")


def census_form_rows(user) -> dict[str, list[dict]]:
    """The census form's sheets as rows (survey, choices, settings): a household group
    and a repeat of its members."""
    villages = villages_of(user)
    if not villages:
        # A select with no choices: ODK Central and KoboToolbox would refuse the form.
        raise NotAllowed(gettext(NO_VILLAGE))
    survey = [
        *_group(
            "group",
            HOUSEHOLD_SHEET,
            Text(gettext_noop("Rumah tangga")),
            _household_questions(),
        ),
        *_group(
            "repeat",
            MEMBER_SHEET,
            Text(gettext_noop("Anggota rumah tangga")),
            _member_questions(),
        ),
    ]
    choices = _choices(villages)
    settings_row = {
        "form_title": Text(gettext_noop("Sensus rumah tangga Desa Presisi")).shown("id"),
        "form_id": CENSUS_FORM_ID,
        "version": _version(survey, choices),
        "default_language": DEFAULT_LANGUAGE,
        "instance_name": "concat(${no_kk}, ' ', ${kode_desa})",
    }
    return {"survey": survey, "choices": choices, "settings": [settings_row]}


# --- the follow-up visit ---------------------------------------------------------------

# What the visit does not ask again: who the household is and where it is registered
# (they come from the entity), and what only an import may set.
_VISIT_FIXED = {"no_kk", "kode_desa"}


def visit_columns() -> list[Column]:
    """The household answers a follow-up visit asks again (pre-filled from the entity)."""
    return [c for c in schema.sheet_columns(schema.HOUSEHOLD) if c.name not in _VISIT_FIXED]


def _lookup(prop: str) -> str:
    return f"instance('{ENTITY_LIST}')/root/item[name=${{{ENTITY_QUESTION}}}]/{prop}"


def visit_form_rows(user, *, entities: bool = True) -> dict[str, list[dict]]:
    """The follow-up visit: choose a household of the entity list, see its answers filled
    in from the list, change what changed. Its submission updates that household (and the
    entity, in ODK Central) with the version the visit started from.

    `entities=False` leaves out the `entities` sheet (ODK Entities, which KoboToolbox does
    not support): the list is then the form's media file `rumah_tangga.csv`."""
    questions = []
    for column in visit_columns():
        if column.kind == "coord":
            if column.name == "lintang":
                row = _geopoint(Household)
                # The stored point as a geopoint ("lat lon altitude accuracy").
                row["trigger"] = f"${{{ENTITY_QUESTION}}}"
                row["calculation"] = (
                    f"if({_lookup('lintang')} != '', concat({_lookup('lintang')}, ' ', "
                    f"{_lookup('bujur')}, ' 0 0'), '')"
                )
                questions.append(row)
            continue
        row = _question(Household, column, survey_date="today()")
        if column.name == "desil_sumber":
            row["required"] = "${desil_kesejahteraan} != ''"
            for language, code in LANGUAGES:
                row[f"required_message::{language}"] = Text(DECILE_SOURCE).shown(code)
        if column.name == "tanggal_survei":
            # A visit is a new survey: today, not the stored date.
            row["default"] = "today()"
        else:
            row["trigger"] = f"${{{ENTITY_QUESTION}}}"
            row["calculation"] = _lookup(column.name)
        questions.append(row)
    survey = [
        _row(
            f"select_one_from_file {ENTITY_LIST}.csv",
            ENTITY_QUESTION,
            Text(gettext_noop("Rumah tangga yang dikunjungi")),
            required="yes",
            required_message=Text(REQUIRED),
            appearance="search",
        ),
        _row("calculate", VISIT_VERSION, calculation=_lookup("versi")),
        _row("calculate", "no_kk", calculation=_lookup("no_kk")),
        _row("calculate", "kode_desa", calculation=_lookup("kode_desa")),
        *_group(
            "group",
            HOUSEHOLD_SHEET,
            Text(gettext_noop("Jawaban rumah tangga (isian lama sudah terisi)")),
            questions,
        ),
    ]
    choices = _choices([])
    entity_rows = [
        {
            "list_name": ENTITY_LIST,
            "entity_id": f"${{{ENTITY_QUESTION}}}",
            "label": f"{_lookup('label')}",
        }
    ]
    settings_row = {
        "form_title": Text(gettext_noop("Kunjungan ulang rumah tangga Desa Presisi")).shown("id"),
        "form_id": VISIT_FORM_ID,
        "version": _version(survey, choices, entity_rows if entities else None),
        "default_language": DEFAULT_LANGUAGE,
        "instance_name": f"concat('{ENTITY_LIST} ', ${{{ENTITY_QUESTION}}})",
    }
    del user  # the visit form names no village: the entity list is the caller's area
    sheets = {"survey": survey, "choices": choices, "settings": [settings_row]}
    return {**sheets, "entities": entity_rows} if entities else sheets


def workbook_bytes(sheets: dict[str, list[dict]]) -> bytes:
    """An XLSForm workbook (XLSX) of the sheets' rows."""
    book = Workbook()
    book.remove(book.active)
    headers = {"survey": _SURVEY_HEADERS, "choices": _CHOICE_HEADERS}
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        columns = headers.get(name) or list(dict.fromkeys(key for row in rows for key in row))
        used = [c for c in columns if any(row.get(c) not in (None, "") for row in rows)]
        sheet.append(used)
        for row in rows:
            sheet.append([row.get(column, "") for column in used])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def census_xlsform(user) -> bytes:
    return workbook_bytes(census_form_rows(user))


def visit_xlsform(user, *, entities: bool = True) -> bytes:
    return workbook_bytes(visit_form_rows(user, entities=entities))
