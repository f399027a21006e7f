"""The operator's edit form of one household, built from the field catalogue.

Every editable household field of `households.schema` becomes a form field through its
model field's own `formfield()` (coded answers: the codebook's choices with their labels),
with phone-friendly widgets: dates as date inputs, booleans as yes/no radios, the point as
two numbers (lintang, bujur). The form only reads what the operator typed; the verdicts
on the values (the location rule, the model's checks) are the write service's
(`households.services.household_update`), shown next to the field they concern.

The form carries the values it was opened with (`dasar`, beside `versi`), so that a save
sends only what the operator changed, and a save over a newer version can tell what the
other person changed and apply the operator's changes on top.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib.gis.db import models
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from . import codebook as cb
from . import rules as rules_module
from . import schema
from .models import CURRENT_MEMBER, Household, Member
from .selectors import village_units_for
from .services import BIRTH_RELATIONSHIPS, HEAD

LOCATION = "lokasi"
LATITUDE, LONGITUDE = "lintang", "bujur"
BASE = "dasar"
OPENED = "dibuka"
# The form's own bookkeeping, not answers.
NOT_ANSWERS = ("versi", BASE, OPENED)
YES_NO = [("true", _("Ya")), ("false", _("Tidak"))]
UNKNOWN = ("", _("Tidak diketahui"))
EMPTY_CHOICE = ("", _("- pilih -"))


def skip_rules(model=Household) -> dict[str, tuple[str, tuple[int, ...]]]:
    """The questionnaire's skip rules of `model` (the shared rules read them from its
    check constraints)."""
    return rules_module.skip_rules(model)


def _label(entry: schema.CatalogueField) -> str:
    return capfirst(str(entry.field.verbose_name))


def _form_field(entry: schema.CatalogueField) -> forms.Field:
    field = entry.field
    label = _label(entry)
    help_text = field.help_text or ""
    if isinstance(field, models.BooleanField):
        choices = [UNKNOWN, *YES_NO] if field.null else YES_NO
        return forms.TypedChoiceField(
            label=label,
            help_text=help_text,
            choices=choices,
            coerce=lambda value: value == "true",
            empty_value=None,
            required=not field.null,
            widget=forms.RadioSelect,
            # A new record starts from the model's default (an edit from the stored value).
            initial={True: "true", False: "false"}.get(field.default),
        )
    if entry.category == schema.CODED:
        return forms.TypedChoiceField(
            label=label,
            help_text=help_text,
            choices=[EMPTY_CHOICE, *cb.choices(entry.variable, exclude=entry.exclude)],
            coerce=int,
            empty_value=None,
            required=not field.blank,
        )
    form_field = field.formfield(label=label, help_text=help_text)
    if isinstance(field, models.DateField):
        form_field.widget = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    elif isinstance(field, models.IntegerField):
        form_field.widget.attrs["inputmode"] = "numeric"
    return form_field


def _editable_entries(unit: str = schema.HOUSEHOLD) -> list[schema.CatalogueField]:
    editable = schema.editable(unit)
    return [entry for entry in schema.catalogue(unit) if entry.name in editable]


def _add_answer(
    form: forms.Form,
    entry: schema.CatalogueField,
    rules: dict[str, tuple[str, tuple[int, ...]]],
    prefix: str = "",
) -> str:
    """The catalogue field `entry` as the form's field `prefix` + its name, tied to the
    question that asks it (for the script that shows it only when it is asked)."""
    name = prefix + entry.name
    form.fields[name] = _form_field(entry)
    rule = rules.get(entry.name)
    if rule:
        form.fields[name].widget.attrs.update(
            {"data-asked-when": prefix + rule[0], "data-asked-codes": " ".join(map(str, rule[1]))}
        )
    return name


def _check_skip_rules(form: forms.Form, model, prefix: str = "") -> None:
    """An answer of `model` given where the questionnaire skips it is refused next to it,
    in the words of the shared rule (the API and the import say the same)."""
    values = {
        name.removeprefix(prefix): value
        for name, value in form.cleaned_data.items()
        if name.startswith(prefix)
    }
    for answer, message in rules_module.skipped_answer_problems(model, values).items():
        if prefix + answer in form.fields:
            form.add_error(prefix + answer, str(message))


def _coordinate(label: str, low: int, high: int) -> forms.FloatField:
    return forms.FloatField(
        label=label,
        required=False,
        min_value=low,
        max_value=high,
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
    )


class HouseholdForm(forms.Form):
    """The editable answers of one household (the catalogue's, in the model's order)."""

    versi = forms.IntegerField(widget=forms.HiddenInput)
    dasar = forms.CharField(widget=forms.HiddenInput, required=False)
    # When the form was opened: a conflict names who changed the household since.
    dibuka = forms.DateTimeField(widget=forms.HiddenInput, required=False)  # OPENED

    def __init__(self, *args, region_code: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.rules = skip_rules()
        self.answers: list[str] = []
        for entry in _editable_entries():
            if entry.name == LOCATION:
                self.fields[LATITUDE] = _coordinate(_("Lintang"), -90, 90)
                self.fields[LONGITUDE] = _coordinate(_("Bujur"), -180, 180)
                self.answers += [LATITUDE, LONGITUDE]
                continue
            self.answers.append(_add_answer(self, entry, self.rules))
        if region_code:
            unit_fields(self, region_code)

    # --- values -------------------------------------------------------------------------

    def clean(self):
        cleaned = super().clean()
        latitude, longitude = cleaned.get(LATITUDE), cleaned.get(LONGITUDE)
        if (latitude is None) != (longitude is None) and not (
            self.has_error(LATITUDE) or self.has_error(LONGITUDE)
        ):
            self.add_error(LATITUDE, _("Lintang dan bujur diisi berdua atau dikosongkan berdua."))
        _check_skip_rules(self, Household)
        return cleaned

    def code_label(self, name: str, code) -> str:
        return str(dict(self.fields[name].choices).get(code, code))

    def values(self) -> dict[str, Any]:
        """The submitted answers as the model stores them, `lokasi` as (lat, lon)."""
        return _values(self.cleaned_data, self.fields)

    def base_values(self) -> dict[str, Any] | None:
        """The values the form was opened with (None when `dasar` cannot be read)."""
        try:
            data = json.loads(self.cleaned_data.get(BASE) or "")
        except ValueError:
            return None
        if not isinstance(data, dict):
            return None
        base = HouseholdForm(data={**data, "versi": self.cleaned_data.get("versi", 0)})
        return base.values() if base.is_valid() else None

    # --- errors next to their fields ------------------------------------------------------

    def add_service_errors(self, errors: dict[str, list[str]]) -> None:
        """The write service's verdicts, keyed by model field, placed on the form field."""
        for name, messages in errors.items():
            target = LATITUDE if name == LOCATION else name
            for message in messages:
                self.add_error(target if target in self.fields else None, message)

    def describe_errors(self) -> None:
        """aria-invalid and aria-describedby (help text, error) on every input."""
        for name in self.answers:
            bound = self[name]
            described = []
            if self.fields[name].help_text:
                described.append(f"{bound.auto_id}-help")
            if name in (LATITUDE, LONGITUDE):
                if self.has_error(LATITUDE) or self.has_error(LONGITUDE):
                    described.append("id_lokasi-error")
                    self.fields[name].widget.attrs["aria-invalid"] = "true"
            elif bound.errors:
                described.append(f"{bound.auto_id}-error")
                self.fields[name].widget.attrs["aria-invalid"] = "true"
            if described:
                self.fields[name].widget.attrs["aria-describedby"] = " ".join(described)

    @property
    def location_label(self) -> str:
        return capfirst(str(Household._meta.get_field(LOCATION).verbose_name))

    def answer_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.answers]


def _values(cleaned: dict, fields: dict) -> dict[str, Any]:
    values = {
        name: cleaned.get(name)
        for name in fields
        if name not in (*NOT_ANSWERS, LATITUDE, LONGITUDE)
    }
    latitude, longitude = cleaned.get(LATITUDE), cleaned.get(LONGITUDE)
    values[LOCATION] = (latitude, longitude) if latitude is not None else None
    return values


def household_values(household: Household) -> dict[str, Any]:
    """A household's editable answers as the form compares them."""
    values = {}
    for entry in _editable_entries():
        value = getattr(household, entry.name)
        if entry.name == LOCATION:
            value = (value.y, value.x) if value is not None else None
        values[entry.name] = value
    return values


def form_data(values: dict[str, Any]) -> dict[str, str]:
    """Values (as `household_values` gives them) as the form posts them."""
    data = {}
    for name, value in values.items():
        if name == LOCATION:
            latitude, longitude = value if value is not None else (None, None)
            data[LATITUDE] = "" if latitude is None else repr(latitude)
            data[LONGITUDE] = "" if longitude is None else repr(longitude)
        elif value is None:
            data[name] = ""
        elif isinstance(value, bool):
            data[name] = "true" if value else "false"
        elif hasattr(value, "isoformat"):
            data[name] = value.isoformat()
        else:
            data[name] = str(value)
    return data


NOT_GIVEN = ("", _("- tidak diisi -"))
TOP_LEVEL = _("Langsung di bawah desa/kelurahan")


def unit_fields(form: forms.Form, region_code: str) -> None:
    """The dusun, RW and RT of a village with units: selects of its units' names, RWs
    grouped under their dusun and RTs under their RW (or dusun), the groups labelled with
    the parent's path, which static/js/unit-select.js reads to offer only the units of
    the chosen dusun and RW; without the script every unit stays choosable, and the
    service names a pair that does not belong together. Villages without units keep
    the census's free text."""
    units = village_units_for(user=None, code=region_code) or []
    if not units:
        return
    by_id = {unit["id"]: unit for unit in units}

    def grouped(kind: str) -> list:
        groups: dict[str, list[tuple[str, str]]] = {}
        for unit in units:
            if unit["kind"] != kind:
                continue
            parent = by_id.get(unit["parent"])
            label = parent["path"] if parent else str(TOP_LEVEL)
            groups.setdefault(label, []).append((unit["name"], unit["name"]))
        return [NOT_GIVEN, *groups.items()]

    choices = {
        "dusun": [NOT_GIVEN, *((u["name"], u["name"]) for u in units if u["kind"] == "dusun")],
        "rw": grouped("rw"),
        "rt": grouped("rt"),
    }
    for name, options in choices.items():
        if name not in form.fields:
            continue
        # A stored name that is not (or no longer) a unit stays on screen as it is, so
        # that saving other answers does not blank it; the service refuses it if sent.
        known = {u["name"] for u in units if u["kind"] == name}
        kept = {form.initial.get(name) or "", form.data.get(name) or "" if form.is_bound else ""}
        for value in sorted(kept - known - {""}):
            options.append((value, _("%(name)s (tidak terdaftar)") % {"name": value}))
        old = form.fields[name]
        form.fields[name] = forms.ChoiceField(
            label=old.label, help_text=old.help_text, required=False, choices=options
        )
        form.fields[name].widget.attrs.update(
            {"data-unit-select": name, "data-top-label": str(TOP_LEVEL)}
        )


def form_for(household: Household, *, values: dict[str, Any] | None = None) -> HouseholdForm:
    """An unbound form opened on `household` (or on `values` over its current version)."""
    current = household_values(household)
    data = form_data(values if values is not None else current)
    initial = {
        **data,
        "versi": household.versi,
        BASE: json.dumps(form_data(current)),
        OPENED: timezone.now().isoformat(),
    }
    return HouseholdForm(initial=initial, region_code=household.region_id)


def same(name: str, a, b) -> bool:
    if name == LOCATION and a is not None and b is not None:
        return all(abs(x - y) < 1e-9 for x, y in zip(a, b, strict=True))
    return a == b


def differences(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Names whose value differs, in the form's order."""
    return [name for name in after if name in before and not same(name, before[name], after[name])]


def service_changes(values: dict[str, Any], names: list[str]) -> dict[str, Any]:
    """What `household_update` receives: the point as [bujur, lintang]."""
    changes = {}
    for name in names:
        value = values[name]
        if name == LOCATION and value is not None:
            value = [value[1], value[0]]
        changes[name] = value
    return changes


def shown(form: HouseholdForm, name: str, value) -> str:
    """A value as the conflict panel names it: a code by its label, yes/no, a point."""
    if value is None or value == "":
        return "\u2013"  # an en dash, as the household page shows an empty answer
    if name == LOCATION:
        return f"{value[0]}, {value[1]}"
    field = form.fields.get(name)
    if isinstance(value, bool):
        return str(_("Ya") if value else _("Tidak"))
    if isinstance(field, forms.TypedChoiceField):
        return form.code_label(name, value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def label_of(form: HouseholdForm, name: str) -> str:
    if name == LOCATION:
        return form.location_label
    return str(form.fields[name].label)


# --- A new household with its head ----------------------------------------------------------

HEAD_PREFIX = "kepala_"
NO_KK, NIK = "no_kk", "nik"
NIK_HELP = _("16 digit. Kosongkan bila belum diketahui: portal memberi NIK sementara.")


def _identity_field(label: str, help_text: str) -> forms.CharField:
    # Free text up to a generous length: the shared rules (households.rules) judge the
    # number and name what is wrong with it, as the API and the import do.
    return forms.CharField(
        label=label,
        required=False,
        max_length=40,
        help_text=help_text,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )


class HouseholdCreateForm(HouseholdForm):
    """A new household: the No. KK, the household form's answers (the same fields, built
    the same way) and its head of household's member fields (`kepala_` + the field).
    Nothing was read before, so there is no version to lock."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in NOT_ANSWERS:
            del self.fields[name]
        answers = dict(self.fields)
        self.fields.clear()
        self.fields[NO_KK] = _identity_field(
            _("No. KK"), _("16 digit. Kosongkan bila belum terbit: portal memberi nomor sementara.")
        )
        self.fields.update(answers)
        self.member_rules = skip_rules(Member)
        self.fields[HEAD_PREFIX + NIK] = _identity_field(_("NIK kepala keluarga"), NIK_HELP)
        self.head_answers = [HEAD_PREFIX + NIK]
        for entry in _editable_entries(schema.MEMBER):
            if entry.name == "hubungan_keluarga":
                continue  # the head's is 1 (kepala keluarga), set by the service
            self.head_answers.append(_add_answer(self, entry, self.member_rules, HEAD_PREFIX))

    def clean(self):
        cleaned = super().clean()
        _check_skip_rules(self, Member, HEAD_PREFIX)
        return cleaned

    def values(self) -> dict[str, Any]:
        """The household's answers as the model stores them, `lokasi` as (lat, lon)."""
        names = [name for name in self.answers if name not in (LATITUDE, LONGITUDE)]
        return _values(self.cleaned_data, dict.fromkeys(names))

    def head_values(self) -> dict[str, Any]:
        """The head's member fields, without the prefix (the NIK apart)."""
        return {
            name.removeprefix(HEAD_PREFIX): self.cleaned_data.get(name)
            for name in self.head_answers
            if name != HEAD_PREFIX + NIK
        }

    def add_service_errors(self, errors: dict[str, list[str]]) -> None:
        for name, messages in errors.items():
            target = LATITUDE if name == LOCATION else name
            for message in messages:
                self.add_error(target if target in self.fields else None, message)

    def describe_errors(self) -> None:
        super().describe_errors()
        _describe(self, [NO_KK, *self.head_answers])

    def head_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.head_answers]


def _describe(form: forms.Form, names: list[str]) -> None:
    """aria-invalid and aria-describedby (help text, error) on the inputs `names`."""
    for name in names:
        bound = form[name]
        described = []
        if form.fields[name].help_text:
            described.append(f"{bound.auto_id}-help")
        if bound.errors:
            described.append(f"{bound.auto_id}-error")
            form.fields[name].widget.attrs["aria-invalid"] = "true"
        if described:
            form.fields[name].widget.attrs["aria-describedby"] = " ".join(described)


# --- One member ---------------------------------------------------------------------------


class MemberForm(forms.Form):
    """The editable fields of one member (the catalogue's, in the model's order), with the
    skip rules of the member's check constraints; a new member also gets the NIK. Like
    the household form it carries the version and the values it was opened with."""

    versi = forms.IntegerField(widget=forms.HiddenInput)
    dasar = forms.CharField(widget=forms.HiddenInput, required=False)
    dibuka = forms.DateTimeField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, with_nik: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.with_nik = with_nik
        self.rules = skip_rules(Member)
        self.answers: list[str] = []
        if with_nik:
            self.fields[NIK] = _identity_field(_("NIK"), NIK_HELP)
            self.answers.append(NIK)
        for entry in _editable_entries(schema.MEMBER):
            self.answers.append(_add_answer(self, entry, self.rules))

    def clean(self):
        cleaned = super().clean()
        _check_skip_rules(self, Member)
        return cleaned

    def code_label(self, name: str, code) -> str:
        return str(dict(self.fields[name].choices).get(code, code))

    def values(self) -> dict[str, Any]:
        return {name: self.cleaned_data.get(name) for name in self.answers if name != NIK}

    def base_values(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.cleaned_data.get(BASE) or "")
        except ValueError:
            return None
        if not isinstance(data, dict):
            return None
        base = MemberForm(data={**data, "versi": self.cleaned_data.get("versi", 0)})
        return base.values() if base.is_valid() else None

    def add_service_errors(self, errors: dict[str, list[str]]) -> None:
        for name, messages in errors.items():
            for message in messages:
                self.add_error(name if name in self.fields else None, message)

    def describe_errors(self) -> None:
        _describe(self, self.answers)

    def answer_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.answers]


def member_values(member: Member) -> dict[str, Any]:
    """A member's editable fields as the form compares them."""
    return {entry.name: getattr(member, entry.name) for entry in _editable_entries(schema.MEMBER)}


def member_form_for(member: Member, *, values: dict[str, Any] | None = None) -> MemberForm:
    """An unbound form opened on `member` (or on `values` over its current version)."""
    current = member_values(member)
    data = form_data(values if values is not None else current)
    initial = {
        **data,
        "versi": member.versi,
        BASE: json.dumps(form_data(current)),
        OPENED: timezone.now().isoformat(),
    }
    return MemberForm(initial=initial)


# --- Life events ------------------------------------------------------------------------------
# One small form per kind. Each carries the version of the record it changes (the household
# for births, moves in, splits and changes of head; the member for deaths, moves out and
# transfers) and when it was opened; the services (households.services) judge the values
# and their verdicts are shown next to the field they name.

FROM_OUTSIDE, FROM_PORTAL = "1", "2"


def _coded_choice(variable: str, label, *, required: bool, only=None, exclude=()) -> forms.Field:
    choices = [
        (code, text)
        for code, text in cb.choices(variable, exclude=tuple(exclude))
        if only is None or code in only
    ]
    return forms.TypedChoiceField(
        label=label, choices=[EMPTY_CHOICE, *choices], coerce=int, empty_value=None,
        required=required,
    )  # fmt: skip


def _date_field(label) -> forms.DateField:
    return forms.DateField(
        label=label, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )


def _label_of(name: str):
    """A member field's own label (lazy: translated when shown)."""
    return capfirst(Member._meta.get_field(name).verbose_name)


def _member_label(member: Member) -> str:
    relationship = dict(cb.choices("hubungan_keluarga")).get(member.hubungan_keluarga, "")
    return f"{member.nama} ({relationship})"


class EventForm(forms.Form):
    """The shared part of every life-event form: the version locked and when it was
    opened (a conflict names who saved since)."""

    versi = forms.IntegerField(widget=forms.HiddenInput)
    dibuka = forms.DateTimeField(widget=forms.HiddenInput, required=False)  # OPENED
    # The fields a script may hide until they are asked, {field: (question, values)}.
    asked_when: dict[str, tuple[str, tuple[str, ...]]] = {}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, (question, values) in self.asked_when.items():
            self.fields[name].widget.attrs.update(
                {"data-asked-when": question, "data-asked-codes": " ".join(values)}
            )

    def answer_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if name not in ("versi", OPENED)]

    def add_service_errors(self, errors: dict[str, list[str]]) -> None:
        for name, messages in errors.items():
            for message in messages:
                self.add_error(name if name in self.fields else None, message)

    def describe_errors(self) -> None:
        _describe(self, [name for name in self.fields if name not in ("versi", OPENED)])


class BirthForm(EventForm):
    nama = forms.CharField(label=_label_of("nama"), max_length=120, required=False)
    jenis_kelamin = _coded_choice("jenis_kelamin", _label_of("jenis_kelamin"), required=False)
    tanggal = _date_field(_label_of("tanggal_lahir"))
    hubungan_keluarga = _coded_choice(
        "hubungan_keluarga", _label_of("hubungan_keluarga"), required=False,
        only=BIRTH_RELATIONSHIPS,  # the services' rule
    )  # fmt: skip
    nik = _identity_field(_("NIK"), NIK_HELP)
    disabilitas = forms.TypedChoiceField(
        label=_label_of("disabilitas"), choices=YES_NO, coerce=lambda v: v == "true",
        initial="false", widget=forms.RadioSelect,
    )  # fmt: skip


class DeathForm(EventForm):
    tanggal = _date_field(_("Tanggal meninggal"))


class MoveOutForm(EventForm):
    tanggal = _date_field(_("Tanggal pindah"))
    tujuan_pindah = forms.CharField(
        label=_label_of("tujuan_pindah"), max_length=200, required=False,
        help_text=_("Bila diketahui: desa/kelurahan, kabupaten."),
    )  # fmt: skip


class TransferForm(EventForm):
    """Moves a member to another household of the portal (NIK and history kept)."""

    rumah_tangga_tujuan = forms.CharField(
        label=_("No. KK rumah tangga tujuan"), max_length=40, required=False,
        help_text=_("Rumah tangga di wilayah Anda; anggota pindah dengan NIK dan riwayatnya."),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )  # fmt: skip
    hubungan_keluarga = _coded_choice(
        "hubungan_keluarga", _("Hubungan dengan kepala keluarga tujuan"), required=False,
        exclude=(HEAD,),
    )  # fmt: skip
    tanggal = _date_field(_("Tanggal pindah"))


class MoveInForm(EventForm):
    """A person who moves in: from outside the portal (the person's data), or a member of
    another household of the portal, found by the NIK (moved with the NIK kept)."""

    asal = forms.ChoiceField(
        label=_("Datang dari"),
        choices=[
            (FROM_OUTSIDE, _("Luar portal (desa/kabupaten lain)")),
            (FROM_PORTAL, _("Rumah tangga lain di portal (wilayah Anda)")),
        ],
        initial=FROM_OUTSIDE,
    )
    nik = _identity_field(_("NIK"), _("16 digit, NIK terbitan Dukcapil."))
    nama = forms.CharField(label=_label_of("nama"), max_length=120, required=False)
    jenis_kelamin = _coded_choice("jenis_kelamin", _label_of("jenis_kelamin"), required=False)
    tanggal_lahir = forms.DateField(
        label=_label_of("tanggal_lahir"), required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )  # fmt: skip
    hubungan_keluarga = _coded_choice(
        "hubungan_keluarga", _label_of("hubungan_keluarga"), required=False,
        exclude=(HEAD,),
    )  # fmt: skip
    asal_pindah = forms.CharField(
        label=_("Asal pindah"), max_length=200, required=False,
        help_text=_("Bila diketahui: desa/kelurahan, kabupaten."),
    )  # fmt: skip
    tanggal = _date_field(_("Tanggal pindah masuk"))
    # Asked only of a person from outside (the portal knows a member's data).
    asked_when = dict.fromkeys(
        ("nama", "jenis_kelamin", "tanggal_lahir", "asal_pindah"), ("asal", (FROM_OUTSIDE,))
    )


class SplitForm(EventForm):
    """Pecah KK: current members (not the head) form a new household."""

    anggota_pecah = forms.TypedMultipleChoiceField(
        label=_("Anggota yang membentuk KK baru"), coerce=int, required=False,
        widget=forms.CheckboxSelectMultiple,
    )  # fmt: skip
    kepala_baru = forms.TypedChoiceField(
        label=_("Kepala keluarga KK baru"), coerce=int, empty_value=None, required=False,
        widget=forms.RadioSelect,
    )  # fmt: skip
    no_kk = _identity_field(
        _("No. KK baru"),
        _("16 digit. Kosongkan bila belum terbit: portal memberi nomor sementara."),
    )
    tanggal = _date_field(_("Tanggal pecah KK"))
    # Where the new household lives, when not with the household it split from (copied
    # otherwise); the point is checked by the import's location rule.
    alamat = forms.CharField(
        label=capfirst(Household._meta.get_field("alamat").verbose_name), max_length=200,
        required=False, help_text=_("Kosongkan bila sama dengan rumah tangga asal."),
    )  # fmt: skip
    lintang = _coordinate(_("Lintang"), -90, 90)
    bujur = _coordinate(_("Bujur"), -180, 180)

    def __init__(self, *args, household: Household, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lintang"].help_text = _(
            "Titik rumah tangga baru (derajat desimal); kosongkan bila sama dengan asal."
        )
        choices = [
            (m.pk, _member_label(m))
            for m in household.members.filter(CURRENT_MEMBER).exclude(hubungan_keluarga=HEAD)
        ]
        self.fields["anggota_pecah"].choices = choices
        self.fields["kepala_baru"].choices = choices

    def clean(self):
        cleaned = super().clean()
        if (cleaned.get("lintang") is None) != (cleaned.get("bujur") is None) and not (
            self.has_error("lintang") or self.has_error("bujur")
        ):
            self.add_error("lintang", _("Lintang dan bujur diisi berdua atau dikosongkan berdua."))
        return cleaned

    def add_service_errors(self, errors: dict[str, list[str]]) -> None:
        super().add_service_errors(
            {("lintang" if name == LOCATION else name): found for name, found in errors.items()}
        )


class HeadChangeForm(EventForm):
    anggota = forms.TypedChoiceField(
        label=_("Kepala keluarga baru"), coerce=int, empty_value=None, required=False,
        widget=forms.RadioSelect,
    )  # fmt: skip
    hubungan_kepala_lama = _coded_choice(
        "hubungan_keluarga", _("Hubungan kepala keluarga lama dengan kepala baru"),
        required=False, exclude=(HEAD,),
    )  # fmt: skip
    tanggal = _date_field(_("Tanggal ganti kepala"))

    def __init__(self, *args, household: Household, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["anggota"].choices = [
            (m.pk, _member_label(m))
            for m in household.members.filter(CURRENT_MEMBER).exclude(hubungan_keluarga=HEAD)
        ]
        self.fields["hubungan_kepala_lama"].help_text = _(
            "Kosongkan untuk bawaan: dibaca dari hubungan kepala baru (mis. anak menjadi "
            "kepala: kepala lama menjadi orang tua)."
        )
