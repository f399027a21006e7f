"""The forms of the village operator's list of dusun, RW and RT (/desa/<code>/wilayah/).
They only read what was typed; the verdicts are the services' (villages.services), shown
next to the field they concern."""

from __future__ import annotations

import json

from django import forms
from django.contrib.gis.geos import GEOSException, GEOSGeometry, MultiPolygon, Polygon
from django.utils.translation import gettext_lazy as _

from .models import UnitKind, VillageUnit

OUTLINE_HELP = _("Opsional: GeoJSON Polygon atau MultiPolygon (WGS84), mis. dari aplikasi peta.")


def _outline(text: str):
    """The outline typed as GeoJSON, as a MultiPolygon; None when empty."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        data = json.loads(text)
        if isinstance(data, dict) and data.get("type") == "Feature":
            data = data.get("geometry")
        geometry = GEOSGeometry(json.dumps(data), srid=4326)
    except (ValueError, TypeError, GEOSException):
        raise forms.ValidationError(_("Bukan GeoJSON yang dapat dibaca.")) from None
    if isinstance(geometry, Polygon):
        geometry = MultiPolygon(geometry, srid=4326)
    if not isinstance(geometry, MultiPolygon):
        raise forms.ValidationError(_("Batas harus Polygon atau MultiPolygon."))
    if not geometry.valid:
        raise forms.ValidationError(_("Batas tidak sah (garis batas berpotongan)."))
    return geometry


class _Described(forms.Form):
    def describe_errors(self) -> _Described:
        """aria-invalid and aria-describedby (help text, error) on every input."""
        for name, field in self.fields.items():
            bound = self[name]
            described = [f"{bound.auto_id}-help"] if field.help_text else []
            if bound.errors:
                described.append(f"{bound.auto_id}-error")
                field.widget.attrs["aria-invalid"] = "true"
            if described:
                field.widget.attrs["aria-describedby"] = " ".join(described)
        return self

    def add_service_errors(self, errors: dict) -> None:
        """The service's verdicts next to their fields (others above the form)."""
        for name, messages in errors.items():
            self.add_error(name if name in self.fields else None, messages)


class UnitAddForm(_Described):
    kind = forms.ChoiceField(label=_("Jenis"), choices=UnitKind.choices)
    parent = forms.TypedChoiceField(
        label=_("Di bawah"), required=False, coerce=int, empty_value=None
    )
    name = forms.CharField(label=_("Nama"), max_length=60)
    kepala = forms.CharField(
        label=_("Nama ketua/kepala (opsional)"), max_length=100, required=False
    )

    def __init__(self, *args, units: list[dict], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["parent"].choices = [("", _("Langsung di bawah desa/kelurahan"))] + [
            (unit["id"], f"{unit['path']}") for unit in units if unit["kind"] != UnitKind.RT
        ]


class UnitEditForm(_Described):
    name = forms.CharField(label=_("Nama"), max_length=60)
    kepala = forms.CharField(
        label=_("Nama ketua/kepala (opsional)"), max_length=100, required=False
    )
    batas = forms.CharField(
        label=_("Batas wilayah (opsional)"),
        required=False,
        help_text=OUTLINE_HELP,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
    )

    def clean_batas(self):
        return _outline(self.cleaned_data.get("batas", ""))

    @classmethod
    def for_unit(cls, unit: VillageUnit) -> UnitEditForm:
        return cls(
            initial={
                "name": unit.name,
                "kepala": unit.kepala,
                "batas": unit.batas.geojson if unit.batas else "",
            }
        )
