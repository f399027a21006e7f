"""REST endpoints of households, members, indicators and the codebook (under /api/v1/).

Views are thin: they parse input, pass the queryset through the access scope and hand
rows built with `.values()` to the response. Model serializers below only document the
response shapes in the OpenAPI schema; no list serialises rows one by one through them.
"""

from __future__ import annotations

import json

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import get_language
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.filters import OrderingFilter
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from desapresisi.access import households_for, members_for
from desapresisi.api import GeoJSONRenderer, StableCursorPagination

from . import codebook as cb
from .filters import HouseholdFilter, MemberFilter, annotate_age
from .models import Household, Indicator, Member
from .selectors import indicator_values_for
from .tiles import household_tile, tile_is_valid

HOUSEHOLD_FIELDS = [
    "id", "no_kk", "region_id", "dusun", "rw", "rt", "alamat", "lokasi", "tanggal_survei",
    "fasilitas_bab", "jenis_kloset", "pembuangan_tinja", "tangki_septik_disedot",
    "sumber_air_minum", "jarak_sumber_air_tinja", "sumber_air_mandi", "kepemilikan_rumah",
    "lantai", "dinding", "atap", "penerangan", "bahan_bakar_memasak", "desil_kesejahteraan",
    "desil_sumber", "desil_tahun", "penerima_pkh", "penerima_bpnt", "penerima_blt_dd",
    "penerima_pbi_jk", "sumber_data", "tangga_sanitasi", "air_minum_layak",
    "rumah_tidak_layak_huni", "jumlah_anggota", "jumlah_ats",
]  # fmt: skip
MEMBER_FIELDS = [
    "id", "household_id", "nik", "nama", "jenis_kelamin", "tanggal_lahir", "umur",
    "hubungan_keluarga", "partisipasi_sekolah", "jenjang_pendidikan", "ijazah_tertinggi",
    "disabilitas", "pekerjaan",
]  # fmt: skip


class HouseholdDoc(serializers.ModelSerializer):
    region = serializers.CharField(help_text="Kode desa/kelurahan")
    lokasi = serializers.ListField(child=serializers.FloatField(), help_text="[lon, lat]")

    class Meta:
        model = Household
        exclude = ["dibuat", "diubah"]


class MemberDoc(serializers.ModelSerializer):
    household = serializers.IntegerField()
    umur = serializers.IntegerField(help_text="Umur pada tanggal acuan / survei")
    region = serializers.CharField()

    class Meta:
        model = Member
        exclude = ["dibuat", "diubah"]


class HouseholdDetailDoc(HouseholdDoc):
    members = MemberDoc(many=True)


def _household_row(row: dict) -> dict:
    point = row.pop("lokasi")
    row["region"] = row.pop("region_id")
    row["lokasi"] = [round(point.x, 6), round(point.y, 6)] if point else None
    return row


def _member_row(row: dict) -> dict:
    row["household"] = row.pop("household_id")
    row["region"] = row.pop("household__region_id")
    return row


def _feature_collection(rows: list[dict], links: dict) -> str:
    features = [
        {
            "type": "Feature",
            "id": row["id"],
            "geometry": None
            if row["lokasi"] is None
            else {"type": "Point", "coordinates": row["lokasi"]},
            "properties": {key: value for key, value in row.items() if key != "lokasi"},
        }
        for row in rows
    ]
    return json.dumps(
        {"type": "FeatureCollection", "features": features, "links": links},
        default=str,
        ensure_ascii=False,
    )


class HouseholdList(GenericAPIView):
    """Households in the caller's scope, filtered; cursor-paginated; JSON or GeoJSON."""

    filter_backends = [DjangoFilterBackend, OrderingFilter]
    filterset_class = HouseholdFilter
    ordering_fields = [
        "id", "no_kk", "region", "jumlah_anggota", "jumlah_ats", "desil_kesejahteraan",
        "tanggal_survei",
    ]  # fmt: skip
    ordering = ["id"]
    pagination_class = StableCursorPagination
    renderer_classes = [JSONRenderer, GeoJSONRenderer]

    def get_queryset(self):
        return households_for(self.request.user)

    @extend_schema(
        summary="Daftar rumah tangga",
        responses={200: HouseholdDoc(many=True)},
        parameters=[OpenApiParameter("format", str, enum=["json", "geojson"])],
    )
    def get(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset.values(*HOUSEHOLD_FIELDS))
        rows = [_household_row(row) for row in page]
        if request.accepted_renderer.format == "geojson":
            links = {
                "next": self.paginator.get_next_link(),
                "previous": self.paginator.get_previous_link(),
            }
            return HttpResponse(
                _feature_collection(rows, links), content_type="application/geo+json"
            )
        return self.get_paginated_response(rows)


class HouseholdDetail(GenericAPIView):
    """One household with its members."""

    renderer_classes = [JSONRenderer, GeoJSONRenderer]

    def get_queryset(self):
        return households_for(self.request.user)

    @extend_schema(summary="Rincian rumah tangga", responses={200: HouseholdDetailDoc})
    def get(self, request, pk: int, *args, **kwargs):
        row = get_object_or_404(self.get_queryset().values(*HOUSEHOLD_FIELDS), pk=pk)
        household = _household_row(row)
        members = annotate_age(members_for(request.user).filter(household_id=pk), None)
        household["members"] = [
            _member_row(member)
            for member in members.order_by("hubungan_keluarga", "tanggal_lahir").values(
                *MEMBER_FIELDS, "household__region_id"
            )
        ]
        if request.accepted_renderer.format == "geojson":
            feature = json.loads(_feature_collection([household], {}))["features"][0]
            return HttpResponse(
                json.dumps(feature, default=str, ensure_ascii=False),
                content_type="application/geo+json",
            )
        return Response(household)


class MemberList(GenericAPIView):
    """Members in the caller's scope, filtered; cursor-paginated."""

    filter_backends = [DjangoFilterBackend, OrderingFilter]
    filterset_class = MemberFilter
    ordering_fields = ["id", "tanggal_lahir", "nama"]
    ordering = ["id"]
    pagination_class = StableCursorPagination

    def get_queryset(self):
        return members_for(self.request.user)

    @extend_schema(summary="Daftar anggota rumah tangga", responses={200: MemberDoc(many=True)})
    def get(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset.values(*MEMBER_FIELDS, "household__region_id"))
        return self.get_paginated_response([_member_row(row) for row in page])


class MemberDetail(GenericAPIView):
    def get_queryset(self):
        return members_for(self.request.user)

    @extend_schema(
        summary="Rincian anggota",
        responses={200: MemberDoc},
        parameters=[OpenApiParameter("age_at", OpenApiTypes.DATE)],
    )
    def get(self, request, pk: int, *args, **kwargs):
        filterset = MemberFilter(request.query_params, queryset=self.get_queryset())
        if not filterset.is_valid():
            raise serializers.ValidationError(filterset.errors)
        queryset = annotate_age(self.get_queryset(), filterset.form.cleaned_data.get("age_at"))
        row = get_object_or_404(queryset.values(*MEMBER_FIELDS, "household__region_id"), pk=pk)
        return Response(_member_row(row))


INDICATOR_FIELDS = [
    "code", "name_id", "name_en", "description_id", "description_en", "topic", "numerator",
    "denominator", "factor", "unit", "higher_is_better", "sort_order",
]  # fmt: skip


class IndicatorDoc(serializers.ModelSerializer):
    name = serializers.CharField(help_text="Nama dalam bahasa aktif")

    class Meta:
        model = Indicator
        exclude = ["active"]


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

    def validate(self, attrs):
        for key in ("indicator", "area", "period"):
            if attrs.get(key):
                attrs[key] = [part.strip() for part in attrs[key].split(",") if part.strip()]
        unknown = set(attrs["indicator"]) - set(
            Indicator.objects.filter(code__in=attrs["indicator"]).values_list("code", flat=True)
        )
        if unknown:
            raise serializers.ValidationError(
                {"indicator": f"Indikator tidak dikenal / unknown: {sorted(unknown)}"}
            )
        return attrs


class IndicatorValueRowDoc(serializers.Serializer):
    indicator = serializers.CharField()
    area_code = serializers.CharField()
    area_name = serializers.CharField()
    level = serializers.CharField()
    period = serializers.CharField()
    numerator = serializers.FloatField()
    denominator = serializers.FloatField(allow_null=True)
    value = serializers.FloatField(allow_null=True)


class IndicatorValues(GenericAPIView):
    """Precomputed indicator values per area and period, with numerator and denominator."""

    queryset = Indicator.objects.none()

    @extend_schema(
        summary="Nilai indikator per wilayah dan periode",
        parameters=[IndicatorValuesQuery],
        responses={200: IndicatorValueRowDoc(many=True)},
    )
    def get(self, request, *args, **kwargs):
        query = IndicatorValuesQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        rows = indicator_values_for(
            indicators=params["indicator"],
            areas=params.get("area"),
            level=params.get("level"),
            parent=params.get("parent"),
            periods=params.get("period"),
        )
        return Response(rows)


class Codebook(GenericAPIView):
    """Every coded answer with its Indonesian and English labels."""

    permission_classes = [AllowAny]
    queryset = Indicator.objects.none()

    @extend_schema(
        summary="Kode jawaban (codebook)",
        responses={
            200: inline_serializer(
                "Codebook",
                {"variable": serializers.ListField(child=serializers.DictField())},
            )
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


class HouseholdTile(GenericAPIView):
    """Household points (or counted clusters up to zoom 13) as a Mapbox Vector Tile.
    Accepts every filter of the household list."""

    filterset_class = HouseholdFilter
    queryset = Household.objects.none()

    @extend_schema(
        summary="Petak vektor (MVT) rumah tangga",
        responses={(200, "application/vnd.mapbox-vector-tile"): OpenApiTypes.BINARY},
    )
    def get(self, request, z: int, x: int, y: int, *args, **kwargs):
        if not tile_is_valid(z, x, y):
            raise NotFound("Petak di luar jangkauan. / Tile out of range.")
        filterset = HouseholdFilter(request.query_params, queryset=households_for(request.user))
        if not filterset.is_valid():
            raise serializers.ValidationError(filterset.errors)
        tile = household_tile(queryset=filterset.qs, z=z, x=x, y=y)
        response = HttpResponse(tile, content_type="application/vnd.mapbox-vector-tile")
        # Tiles depend on the caller's scope: never shared by a proxy.
        response["Cache-Control"] = "private, max-age=60"
        return response
