"""Indicators, their values and the codebook."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.utils.translation import get_language
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from desapresisi.access import suppression_for
from desapresisi.http_cache import conditional
from desapresisi.models import DataVersion
from villages.models import Level, Region

from .. import codebook as cb
from ..models import Indicator
from ..selectors import indicator_values_for, unit_indicator_values_for, village_units_for

INDICATOR_FIELDS = [
    "code", "name_id", "name_en", "description_id", "description_en", "topic", "numerator",
    "denominator", "factor", "unit", "higher_is_better", "sort_order",
]  # fmt: skip


class IndicatorDoc(serializers.ModelSerializer):
    name = serializers.CharField(help_text="Nama dalam bahasa aktif")

    class Meta:
        model = Indicator
        exclude = ["active", "map_criterion"]  # neither is in the responses (INDICATOR_FIELDS)


def _indicator_row(row: dict, language: str) -> dict:
    row["name"] = row["name_en"] if language.startswith("en") else row["name_id"]
    return row


class IndicatorList(GenericAPIView):
    """Indicator definitions (public metadata)."""

    permission_classes = [AllowAny]
    queryset = Indicator.objects.none()

    @extend_schema(summary="Definisi indikator", responses={200: IndicatorDoc(many=True)})
    def get(self, request, *args, **kwargs):
        language = get_language() or "id"
        rows = Indicator.objects.filter(active=True).values(*INDICATOR_FIELDS)
        return Response([_indicator_row(row, language) for row in rows])


class IndicatorDetail(GenericAPIView):
    permission_classes = [AllowAny]
    queryset = Indicator.objects.none()

    @extend_schema(summary="Definisi satu indikator", responses={200: IndicatorDoc})
    def get(self, request, code: str, *args, **kwargs):
        row = get_object_or_404(
            Indicator.objects.filter(active=True).values(*INDICATOR_FIELDS), code=code
        )
        return Response(_indicator_row(row, get_language() or "id"))


class IndicatorValuesQuery(serializers.Serializer):
    indicator = serializers.CharField(help_text="Satu atau lebih kode, dipisah koma.")
    area = serializers.CharField(required=False, help_text="Kode wilayah, dipisah koma.")
    level = serializers.ChoiceField(
        choices=["province", "kabupaten", "kecamatan", "desa"], required=False
    )
    parent = serializers.CharField(
        required=False, help_text="Kode wilayah induk: semua wilayah di bawahnya."
    )
    period = serializers.CharField(required=False, help_text="Periode (tahun), dipisah koma.")
    approved = serializers.BooleanField(
        required=False,
        default=False,
        help_text="1: hanya desa yang datanya untuk putaran itu disetujui verifikator; "
        "wilayah di atas desa: jumlah desa yang disetujui, dengan villages dan "
        "approved_villages.",
    )

    def validate(self, attrs):
        for key in ("indicator", "area", "period"):
            if attrs.get(key):
                attrs[key] = [part.strip() for part in attrs[key].split(",") if part.strip()]
        # Unknown codes are reported by the selector, which learns them from its one query.
        return attrs


def indicator_values_for_request(request) -> list[dict]:
    """The rows a request for indicator values gets: the one place that parses the query
    and decides who sees suppressed cells (the API and the table exports both use it)."""
    query = IndicatorValuesQuery(data=request.query_params)
    query.is_valid(raise_exception=True)
    params = query.validated_data
    return indicator_values_for(
        indicators=params["indicator"],
        areas=params.get("area"),
        level=params.get("level"),
        parent=params.get("parent"),
        periods=params.get("period"),
        suppress_up_to=suppression_for(request.user),
        approved_only=params["approved"],
    )


class IndicatorValueRowDoc(serializers.Serializer):
    indicator = serializers.CharField()
    area_code = serializers.CharField()
    area_name = serializers.CharField()
    level = serializers.CharField()
    period = serializers.CharField()
    numerator = serializers.FloatField()
    denominator = serializers.FloatField(allow_null=True)
    value = serializers.FloatField(allow_null=True)
    suppressed = serializers.BooleanField()
    suppression_reason = serializers.ChoiceField(
        choices=["primary", "secondary"],
        allow_null=True,
        help_text="primary: hitungan sel ini 1 s.d. ambang; secondary: sel ini akan "
        "membuka sel kecil saudaranya lewat pengurangan dari total induknya.",
    )
    suppression_threshold = serializers.IntegerField(
        allow_null=True, help_text="Hitungan 1 s.d. angka ini disembunyikan (publik)."
    )
    villages = serializers.IntegerField(
        required=False, help_text="Hanya dengan approved=1: desa dengan data di wilayah ini."
    )
    approved_villages = serializers.IntegerField(
        required=False, help_text="Hanya dengan approved=1: desa yang datanya disetujui."
    )


class IndicatorValues(GenericAPIView):
    """Precomputed indicator values per area and period, with numerator and denominator.

    Public: for visitors without a role, counts from 1 to the small-cell threshold (and
    the cells that would reveal them) are suppressed: numerator, denominator and value
    are null and `suppressed` is true."""

    # Open to everyone, as `access.can_view_indicator_values` says (the dashboard asks it).
    permission_classes = [AllowAny]
    queryset = Indicator.objects.none()

    @extend_schema(
        summary="Nilai indikator per wilayah dan periode",
        parameters=[IndicatorValuesQuery],
        responses={200: IndicatorValueRowDoc(many=True)},
    )
    def get(self, request, *args, **kwargs):
        # Built from the rollup and the area names only: its validators follow their
        # versions, so a revisit costs a 304 until a refresh or a boundary load.
        # Approved-only figures also follow the sign-offs.
        names = (DataVersion.FIGURES, DataVersion.REGIONS)
        if request.query_params.get("approved", "").lower() in ("1", "true", "yes", "on"):
            names += (DataVersion.SIGNOFF,)
        return conditional(
            request,
            names,
            lambda: Response(indicator_values_for_request(request)),
            representation=request.accepted_renderer.format,
        )


class UnitValuesQuery(serializers.Serializer):
    indicator = serializers.CharField(
        required=False, help_text="Satu atau lebih kode, dipisah koma (bawaan: semua)."
    )
    period = serializers.CharField(required=False, help_text="Periode (tahun), dipisah koma.")

    def validate(self, attrs):
        for key in ("indicator", "period"):
            if attrs.get(key):
                attrs[key] = [part.strip() for part in attrs[key].split(",") if part.strip()]
        return attrs


class UnitDoc(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=["dusun", "rw", "rt"])
    name = serializers.CharField()
    parent = serializers.IntegerField(allow_null=True, help_text="Id unit induk; null: desa.")
    path = serializers.CharField(help_text="Nama dari dusun ke bawah, dipisah ' / '.")
    depth = serializers.IntegerField(help_text="0 dusun (atau RW/RT langsung di bawah desa).")
    kepala = serializers.CharField(
        allow_null=True,
        help_text="Nama ketua/kepala: hanya untuk peran yang melihat nama di desa ini.",
    )


class UnitValueRowDoc(serializers.Serializer):
    indicator = serializers.CharField()
    unit = serializers.IntegerField()
    period = serializers.CharField()
    numerator = serializers.FloatField(allow_null=True)
    denominator = serializers.FloatField(allow_null=True)
    value = serializers.FloatField(allow_null=True)
    suppressed = serializers.BooleanField()
    suppression_reason = serializers.ChoiceField(choices=["primary", "secondary"], allow_null=True)
    suppression_threshold = serializers.IntegerField(allow_null=True)


class UnitValuesDoc(serializers.Serializer):
    village = serializers.CharField()
    village_name = serializers.CharField()
    units = UnitDoc(many=True)
    values = UnitValueRowDoc(many=True)


class UnitValues(GenericAPIView):
    """Every indicator (or the chosen ones) per dusun, RW and RT of one village, read
    from the rollup. Open to everyone like the village figures: for visitors without a
    role, small cells (and the cells that would reveal them by subtraction from the
    village or unit total) are suppressed. 404 for a code that is not a village."""

    permission_classes = [AllowAny]
    queryset = Indicator.objects.none()

    @extend_schema(
        summary="Nilai indikator per dusun, RW dan RT satu desa/kelurahan",
        operation_id="indicators_unit_values",
        parameters=[UnitValuesQuery],
        responses={200: UnitValuesDoc},
    )
    def get(self, request, code: str, *args, **kwargs):
        query = UnitValuesQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        village = get_object_or_404(Region.objects.filter(level=Level.DESA), code=code)
        units = village_units_for(user=request.user, code=code) or []
        values = unit_indicator_values_for(
            code=code,
            units=units,
            indicators=params.get("indicator"),
            periods=params.get("period"),
            suppress_up_to=suppression_for(request.user),
        )
        return Response(
            {"village": village.code, "village_name": village.name, "units": units,
             "values": values}
        )  # fmt: skip


class Codebook(GenericAPIView):
    """Every coded answer with its Indonesian and English labels."""

    permission_classes = [AllowAny]
    queryset = Indicator.objects.none()

    @extend_schema(
        summary="Kode jawaban (codebook)",
        responses={
            # A raw schema: one key per variable (fasilitas_bab, ...), not a fixed field.
            200: {
                "type": "object",
                "description": "Per variabel (mis. fasilitas_bab), kode-kodenya dengan labelnya.",
                "additionalProperties": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["code", "label_id", "label_en", "source"],
                        "properties": {
                            "code": {"type": "integer"},
                            "label_id": {"type": "string"},
                            "label_en": {"type": "string"},
                            "source": {"type": "string"},
                        },
                    },
                },
            }
        },
    )
    def get(self, request, *args, **kwargs):
        return Response(
            {
                variable: [
                    {
                        "code": entry.code,
                        "label_id": entry.label_id,
                        "label_en": entry.label_en,
                        "source": entry.source,
                    }
                    for entry in entries
                ]
                for variable, entries in cb.codebook().items()
            }
        )
