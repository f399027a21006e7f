"""Filters of the household and member lists. The same filter sets serve the JSON and
GeoJSON lists, the vector tiles and the exports, so a filter means the same everywhere."""

from __future__ import annotations

import datetime as dt

import django_filters as filters
from django.contrib.gis.geos import Polygon
from django.contrib.postgres.fields import ArrayField
from django.db.models import BigIntegerField, DateField, F, Q, QuerySet, Value
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext as _

from desapresisi.access import COARSE_DECIMALS, area_codes_for, hidden_fields_for
from desapresisi.errors import InvalidInput
from villages.codes import area_q, is_area_code, subtree_q
from villages.models import UnitKind, VillageUnit

from . import codebook as cb
from . import schema
from .indicators.queries import spec_queryset
from .indicators.spec import AgeAt, spec_q
from .models import CURRENT_MEMBER, Household, Indicator, Member

# Coded answers filter on one code or a list; the welfare decile also on ranges (below).
CODED_HOUSEHOLD_FIELDS = [
    name for name in schema.coded(schema.HOUSEHOLD) if name != "desil_kesejahteraan"
]


def region_q(code: str, field: str = "region__code") -> Q:
    """The area with this code and its whole subtree, by code prefix (index-served)."""
    if not is_area_code(code):
        raise InvalidInput(
            {"region": _("Kode wilayah tidak valid: %(code)s") % {"code": repr(code)}}
        )
    return subtree_q(code, field)


def household_region_q(code: str) -> Q:
    """`region_q` for households: as equalities their per-level indexes serve in id order
    (`villages.codes.area_q`)."""
    region_q(code)  # the same check, the same 400
    return area_q(code, "region_id")


def in_unit(queryset: QuerySet, unit_id: int) -> QuerySet:
    """The households of `queryset` whose dusun/RW/RT resolve to this unit or a unit below
    it (the database's rule, households_unit_resolve)."""
    chain = RawSQL(
        "(households_unit_resolve(households_household.region_id, households_household.dusun,"
        " households_household.rw, households_household.rt)).chain",
        [],
        output_field=ArrayField(BigIntegerField()),
    )
    return queryset.alias(unit_chain=chain).filter(unit_chain__contains=[int(unit_id)])


def unit_in_areas(user, unit_id) -> VillageUnit | None:
    """The unit if it lies in a village within the caller's areas (the area rule)."""
    try:
        pk = int(unit_id)
    except (TypeError, ValueError):
        return None
    codes = area_codes_for(user)
    units = VillageUnit.objects.filter(pk=pk)
    if codes is not None:
        units = units.filter(subtree_q(codes, "region__code"))
    return units.first()


def indicator_for(code: str, unit: str) -> Indicator:
    indicator = Indicator.objects.filter(code=code, active=True).first()
    if indicator is None:
        raise InvalidInput(
            {"indicator": _("Indikator tidak dikenal: %(code)s") % {"code": repr(code)}}
        )
    if indicator.numerator["unit"] != unit:
        other = "members" if unit == "household" else "households"
        raise InvalidInput(
            {
                "indicator": _("Indikator %(code)s menghitung %(unit)s; gunakan daftar %(list)s.")
                % {"code": repr(code), "unit": indicator.numerator["unit"], "list": other}
            }
        )
    return indicator


class NumberInFilter(filters.BaseInFilter, filters.NumberFilter):
    """Comma-separated numbers: `?tangga_sanitasi__in=0,1`."""


class ScopedFilterSet(filters.FilterSet):
    """A filter set that refuses filters and orderings on fields the caller may not see
    (desapresisi.access.hidden_fields_for): 400 naming the parameter, never an answer
    that would confirm a hidden value. The caller is `user`, or the request's user; with
    neither, every named field counts as hidden."""

    def __init__(self, data=None, queryset=None, *, request=None, user=None, **kwargs):
        super().__init__(data, queryset, request=request, **kwargs)
        self.user = user if user is not None else getattr(request, "user", None)

    @property
    def hidden_fields(self) -> frozenset[str]:
        return hidden_fields_for(self.user)

    def is_valid(self) -> bool:
        hidden = self.hidden_fields
        if hidden and self.data:
            refused = self._refused_parameters(hidden)
            if refused:
                raise InvalidInput(
                    {
                        name: [
                            _("Anda tidak berhak menyaring atau mengurutkan menurut %(field)s.")
                            % {"field": field}
                        ]
                        for name, field in refused.items()
                    }
                )
        unreadable = self._unreadable_booleans()
        if unreadable:
            raise InvalidInput({name: [_("Isi dengan true atau false.")] for name in unreadable})
        return super().is_valid()

    def _unreadable_booleans(self) -> list[str]:
        """Yes/no parameters whose value is neither yes nor no: django-filter would drop
        the filter silently and answer as if it had not been asked."""
        if not self.data:
            return []
        return [
            name
            for name, filter_ in self.filters.items()
            if isinstance(filter_, filters.BooleanFilter)
            and str(self.data.get(name) or "").strip()
            and filter_.field.widget.value_from_datadict(self.data, {}, name) is None
        ]

    def _refused_parameters(self, hidden: frozenset[str]) -> dict[str, str]:
        refused = {}
        for name, filter_ in self.filters.items():
            if name in self.data and filter_.field_name.split("__")[-1] in hidden:
                refused[name] = filter_.field_name
        for term in self.data.getlist("ordering") if hasattr(self.data, "getlist") else []:
            for field in term.split(","):
                field = field.strip().lstrip("-")
                if field in hidden:
                    refused["ordering"] = field
        return refused


class HouseholdFilter(ScopedFilterSet):
    region = filters.CharFilter(
        method="filter_region", help_text="Kode wilayah; seluruh subpohon (64.09.01 = kecamatan)."
    )
    indicator = filters.CharFilter(
        method="filter_indicator",
        help_text="Kode indikator berbasis rumah tangga: rumah tangga yang dihitung pembilangnya.",
    )
    unit = filters.NumberFilter(
        method="filter_unit",
        help_text=(
            "Id dusun/RW/RT (GET /api/v1/indicators/unit-values/<kode>/): rumah tangga di"
            " wilayah itu dan di bawahnya. RW/RT hanya untuk peran yang melihat nama."
        ),
    )
    has_ats = filters.BooleanFilter(
        method="filter_has_ats", help_text="Ada anak 7-18 tahun tidak sekolah."
    )
    bbox = filters.CharFilter(
        method="filter_bbox", help_text="minLon,minLat,maxLon,maxLat (WGS84)."
    )
    # Generated columns: declared explicitly, django-filter does not derive them.
    tangga_sanitasi = filters.NumberFilter(
        help_text="0 BABS, 1 belum layak, 2 layak bersama, 3 layak sendiri, 4 aman"
    )
    tangga_sanitasi__in = NumberInFilter(field_name="tangga_sanitasi", lookup_expr="in")
    tangga_sanitasi__lte = filters.NumberFilter(field_name="tangga_sanitasi", lookup_expr="lte")
    tangga_sanitasi__gte = filters.NumberFilter(field_name="tangga_sanitasi", lookup_expr="gte")
    air_minum_layak = filters.BooleanFilter()
    rumah_tidak_layak_huni = filters.BooleanFilter()
    has_location = filters.BooleanFilter(field_name="lokasi", lookup_expr="isnull", exclude=True)
    survey_from = filters.DateFilter(field_name="tanggal_survei", lookup_expr="gte")
    survey_to = filters.DateFilter(field_name="tanggal_survei", lookup_expr="lte")
    ordering = filters.OrderingFilter(
        fields=[
            ("id", "id"),
            ("no_kk", "no_kk"),
            ("region", "region"),
            ("jumlah_anggota", "jumlah_anggota"),
            ("jumlah_ats", "jumlah_ats"),
            ("desil_kesejahteraan", "desil_kesejahteraan"),
            ("tanggal_survei", "tanggal_survei"),
        ]
    )

    class Meta:
        model = Household
        fields = {
            **{name: ["exact", "in"] for name in CODED_HOUSEHOLD_FIELDS},
            "tangki_septik_disedot": ["exact"],
            "desil_kesejahteraan": ["exact", "in", "lte", "gte", "isnull"],
            "jumlah_anggota": ["exact", "lte", "gte"],
            "jumlah_ats": ["exact", "gte"],
            "penerima_pkh": ["exact"],
            "penerima_bpnt": ["exact"],
            "penerima_blt_dd": ["exact"],
            "penerima_pbi_jk": ["exact"],
            "sumber_data": ["exact"],
            "dusun": ["exact"],
            "rw": ["exact"],
            "rt": ["exact"],
            "no_kk": ["exact"],
        }

    def filter_region(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(household_region_q(value))

    def filter_indicator(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(spec_q(indicator_for(value, "household").numerator))

    def filter_unit(self, queryset: QuerySet, name: str, value) -> QuerySet:
        # The same answer for a unit that does not exist and one outside the caller's
        # areas: nothing about another village's units leaks through the message.
        unit = unit_in_areas(self.user, value)
        if unit is None:
            raise InvalidInput({name: [_("Dusun/RW/RT tidak dikenal: %(id)s.") % {"id": value}]})
        if unit.kind != UnitKind.DUSUN and "rw" in self.hidden_fields:
            # An RW or RT is a few dozen households: named, like the household's RW/RT.
            raise InvalidInput(
                {
                    name: [
                        _("Anda tidak berhak menyaring atau mengurutkan menurut %(field)s.")
                        % {"field": unit.kind}
                    ]
                }
            )
        return in_unit(queryset.filter(region_id=unit.region_id), unit.pk)

    def filter_has_ats(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        return queryset.filter(jumlah_ats__gt=0) if value else queryset.filter(jumlah_ats=0)

    def filter_bbox(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        # A caller who sees points rounded may not narrow a box below that rounding, or
        # a run of ever smaller boxes would find the exact point.
        snap = COARSE_DECIMALS if self.hidden_fields else None
        return queryset.filter(lokasi__contained=parse_bbox(value, snap_decimals=snap))


def parse_bbox(value: str, *, snap_decimals: int | None = None) -> Polygon:
    """The box of `?bbox=`; with `snap_decimals`, widened outwards to that grid."""
    try:
        min_x, min_y, max_x, max_y = (float(part) for part in value.split(","))
    except ValueError:
        raise InvalidInput(
            {"bbox": _("Format: minLon,minLat,maxLon,maxLat (empat angka).")}
        ) from None
    if not (-180 <= min_x < max_x <= 180 and -90 <= min_y < max_y <= 90):
        raise InvalidInput({"bbox": _("Batas tidak valid (min < max, WGS84).")})
    if snap_decimals is not None:
        # The union of whole rounding cells: which households fall in the box then
        # depends only on their rounded points, which such a caller sees anyway.
        half = 10**-snap_decimals / 2
        min_x, min_y = round(min_x, snap_decimals) - half, round(min_y, snap_decimals) - half
        max_x, max_y = round(max_x, snap_decimals) + half, round(max_y, snap_decimals) + half
    return Polygon.from_bbox((min_x, min_y, max_x, max_y))


class MemberFilter(ScopedFilterSet):
    region = filters.CharFilter(method="filter_region", help_text="Kode wilayah (subpohon).")
    indicator = filters.CharFilter(
        method="filter_indicator",
        help_text="Kode indikator berbasis anggota: anggota yang dihitung pembilangnya.",
    )
    age_min = filters.NumberFilter(method="filter_age", help_text="Umur minimum (tahun).")
    age_max = filters.NumberFilter(method="filter_age", help_text="Umur maksimum (tahun).")
    age_at = filters.DateFilter(
        method="filter_noop",
        help_text="Tanggal acuan umur (bawaan: tanggal survei rumah tangganya).",
    )
    household = filters.NumberFilter(field_name="household_id")
    nik = filters.CharFilter(field_name="nik")
    status_anggota = filters.CharFilter(
        method="filter_status",
        help_text=(
            "Status anggota, kode dipisah koma (1 ada, 2 meninggal, 3 pindah keluar) atau"
            " `semua`. Bawaan: 1, anggota saat ini."
        ),
    )

    class Meta:
        model = Member
        fields = {
            "jenis_kelamin": ["exact"],
            "hubungan_keluarga": ["exact", "in"],
            "partisipasi_sekolah": ["exact", "in", "isnull"],
            "jenjang_pendidikan": ["exact", "in"],
            "ijazah_tertinggi": ["exact", "in"],
            "disabilitas": ["exact"],
        }

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        # Age is computed at the chosen reference date, not "today" (BPS practice).
        reference = self.form.cleaned_data.get("age_at")
        queryset = annotate_age(queryset, reference)
        if not self.form.cleaned_data.get("status_anggota"):
            # Lists show the current members unless the caller asks for the others; the
            # history and the household's record keep everyone.
            queryset = queryset.filter(CURRENT_MEMBER)
        return super().filter_queryset(queryset)

    def filter_status(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value.strip().lower() == "semua":
            return queryset
        try:
            codes = {int(part) for part in value.split(",") if part.strip()}
        except ValueError:
            codes = {0}
        if not codes or codes - set(cb.codes("status_anggota")):
            raise InvalidInput(
                {name: [_("Kode status tidak dikenal: %(value)s.") % {"value": value}]}
            )
        return queryset.filter(status_anggota__in=sorted(codes))

    def filter_region(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(region_q(value, field="household__region__code"))

    def filter_indicator(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        indicator = indicator_for(value, "member")
        # Indicator ages are always at the survey date, whatever age_at says.
        return queryset.filter(pk__in=spec_queryset(indicator.numerator).values("pk"))

    def filter_age(self, queryset: QuerySet, name: str, value) -> QuerySet:
        lookup = "umur__gte" if name == "age_min" else "umur__lte"
        return queryset.filter(**{lookup: int(value)})

    def filter_noop(self, queryset: QuerySet, name: str, value) -> QuerySet:
        return queryset


def annotate_age(queryset: QuerySet, reference: dt.date | None) -> QuerySet:
    """`umur`: age at `reference`, or at the household's survey date when None."""
    if reference is None:
        reference_expr = F("household__tanggal_survei")
    else:
        reference_expr = Value(reference, output_field=DateField())
    return queryset.annotate(umur=AgeAt(reference_expr, F("tanggal_lahir")))
