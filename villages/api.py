"""Region API: the public area tree as JSON (cursor pages) or GeoJSON (built in SQL).

Views parse the query, ask one selector and hand its answer back. The serializers here
validate query parameters and describe responses in the OpenAPI schema; rows themselves
come from `.values()` and SQL, never through a serializer.
"""

from __future__ import annotations

import math

from django.http import HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.decorators import api_view, permission_classes, renderer_classes
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

from desapresisi.api import GeoJSONRenderer, StableCursorPagination
from desapresisi.http_cache import conditional
from desapresisi.models import DataVersion
from desapresisi.openapi import Error

from .models import CODE_PATTERN, Kind, Level
from .selectors import (
    DEFAULT_TOLERANCE,
    GEOJSON_MAX_FEATURES,
    MAX_TOLERANCE,
    RegionFilter,
    RegionLimitExceeded,
    region_detail,
    region_geojson,
    regions_geojson,
    regions_list,
)

# JSON (plus the browsable API when DEBUG) stays the default; `?format=geojson` or
# `Accept: application/geo+json` selects GeoJSON.
RENDERERS = [*api_settings.DEFAULT_RENDERER_CLASSES, GeoJSONRenderer]

_CODE_ERRORS = {"invalid": gettext_lazy("Kode wilayah tidak valid (contoh: 64.09, 64.09.01.2001).")}


class RegionCursorPagination(StableCursorPagination):
    ordering = "code"


class RegionFilterParams(serializers.Serializer):
    level = serializers.ChoiceField(
        choices=Level.choices,
        required=False,
        allow_blank=True,
        help_text="Only areas of this level.",
    )
    kind = serializers.ChoiceField(
        choices=Kind.choices,
        required=False,
        allow_blank=True,
        help_text="Only areas of this kind (kota, kelurahan, desa_adat, ...).",
    )
    parent = serializers.RegexField(
        CODE_PATTERN,
        required=False,
        allow_blank=True,
        error_messages=_CODE_ERRORS,
        help_text="Direct children of the area with this Kemendagri code, e.g. `64.09`.",
    )
    within = serializers.RegexField(
        CODE_PATTERN,
        required=False,
        allow_blank=True,
        error_messages=_CODE_ERRORS,
        help_text="Every area below this code at any depth (the area itself excluded), "
        "e.g. `within=64.09&level=desa` for all villages of a kabupaten.",
    )
    q = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=100,
        help_text="Name contains this text (case-insensitive), or code starts with it.",
    )
    has_boundary = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=None,
        help_text="`true`: only areas with a boundary polygon; `false`: only without.",
    )


class GeoJSONParams(serializers.Serializer):
    tolerance = serializers.FloatField(
        required=False,
        default=DEFAULT_TOLERANCE,
        min_value=0,
        max_value=MAX_TOLERANCE,
        help_text=f"GeoJSON only: simplification tolerance in degrees, 0 to {MAX_TOLERANCE} "
        f"(default {DEFAULT_TOLERANCE}, about 50 m; 0 keeps every vertex).",
    )

    def validate_tolerance(self, value: float) -> float:
        # NaN passes min/max checks because every comparison with it is false.
        if not math.isfinite(value):
            raise ValidationError(_("Harus berupa angka yang sah."))
        return value


# Response schemas for the OpenAPI document only: rows come from `.values()`.
class RegionSerializer(serializers.Serializer):
    """One area of the Kemendagri tree."""

    code = serializers.CharField(help_text="Kemendagri code, e.g. `64.09.01.2001`.")
    name = serializers.CharField()
    level = serializers.ChoiceField(choices=Level.choices)
    kind = serializers.ChoiceField(choices=Kind.choices)
    parent = serializers.CharField(allow_null=True, help_text="Code of the parent area.")
    area_km2 = serializers.FloatField(allow_null=True)
    bps_code = serializers.CharField(help_text="BPS code where known, else empty.")
    code_version = serializers.CharField()
    has_boundary = serializers.BooleanField()
    bbox = serializers.ListField(
        child=serializers.FloatField(),
        min_length=4,
        max_length=4,
        allow_null=True,
        help_text="[minx, miny, maxx, maxy] in degrees (WGS 84), rounded outward to "
        "6 decimals; null without a boundary.",
    )
    centroid = serializers.ListField(
        child=serializers.FloatField(),
        min_length=2,
        max_length=2,
        allow_null=True,
        help_text="[lon, lat] of a point inside the area (ST_PointOnSurface); "
        "null without a boundary.",
    )


class RegionDetailSerializer(RegionSerializer):
    """One area with its number of direct children and the source of its boundary."""

    children_count = serializers.IntegerField()
    boundary_source = serializers.CharField()


_REGION_PAGE = inline_serializer(
    "PaginatedRegionList",
    {
        "next": serializers.URLField(allow_null=True),
        "previous": serializers.URLField(allow_null=True),
        "results": RegionSerializer(many=True),
    },
)

_GEOJSON_PROPERTIES = {
    "type": "object",
    "properties": {
        "code": {"type": "string"},
        "name": {"type": "string"},
        "level": {"type": "string"},
        "kind": {"type": "string"},
        "parent": {"type": "string", "nullable": True},
        "area_km2": {"type": "number", "nullable": True},
    },
}
_GEOJSON_FEATURE = {
    "type": "object",
    "properties": {
        "type": {"type": "string", "enum": ["Feature"]},
        "id": {"type": "string"},
        "geometry": {
            "type": "object",
            "nullable": True,
            "description": "MultiPolygon (RFC 7946), null for an area without a boundary.",
        },
        "properties": _GEOJSON_PROPERTIES,
    },
}
_GEOJSON_COLLECTION = {
    "type": "object",
    "properties": {
        "type": {"type": "string", "enum": ["FeatureCollection"]},
        "features": {"type": "array", "items": _GEOJSON_FEATURE},
    },
}

_FORMAT = OpenApiParameter(
    "format",
    OpenApiTypes.STR,
    enum=["json", "geojson"],
    description="`geojson` answers `application/geo+json` (not paginated); default JSON.",
)


def _parse(params: type[serializers.Serializer], request: Request) -> dict:
    serializer = params(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _wants_geojson(request: Request) -> bool:
    return request.accepted_renderer.format == GeoJSONRenderer.format


def _geojson_response(text: str) -> HttpResponse:
    return HttpResponse(text, content_type=GeoJSONRenderer.media_type)


@extend_schema(
    operation_id="regions_list",
    summary="List areas",
    description="Areas of the Kemendagri tree (province > kabupaten/kota > kecamatan > "
    "desa/kelurahan), ordered by code. JSON is cursor-paginated (follow `next`). "
    f"With `format=geojson` the answer is one FeatureCollection of at most "
    f"{GEOJSON_MAX_FEATURES} areas; wider filters answer 400.",
    parameters=[
        RegionFilterParams,
        GeoJSONParams,
        _FORMAT,
        OpenApiParameter("cursor", OpenApiTypes.STR, description="Page cursor from `next`."),
        OpenApiParameter(
            "page_size",
            OpenApiTypes.INT,
            description=f"Rows per JSON page (default {RegionCursorPagination.page_size}, "
            f"at most {RegionCursorPagination.max_page_size}).",
        ),
    ],
    responses={
        (200, "application/json"): OpenApiResponse(
            _REGION_PAGE, description="One page of areas; follow `next` for more."
        ),
        (200, GeoJSONRenderer.media_type): OpenApiResponse(
            _GEOJSON_COLLECTION, description="GeoJSON FeatureCollection, ordered by code."
        ),
        400: OpenApiResponse(Error, description="Invalid parameter, or too many areas."),
    },
)
@api_view(["GET"])
@permission_classes([AllowAny])
@renderer_classes(RENDERERS)
def region_list(request: Request, version: str) -> Response | HttpResponse:
    # The area tree alone: validators follow its version (a trigger bumps it).
    return conditional(
        request,
        (DataVersion.REGIONS,),
        lambda: _region_list(request),
        representation=request.accepted_renderer.format,
    )


def _region_list(request: Request) -> Response | HttpResponse:
    filters = RegionFilter(**_parse(RegionFilterParams, request))
    if _wants_geojson(request):
        tolerance = _parse(GeoJSONParams, request)["tolerance"]
        try:
            return _geojson_response(regions_geojson(filters=filters, tolerance=tolerance))
        except RegionLimitExceeded as exc:
            raise ValidationError(
                _("Lebih dari %(limit)s wilayah; persempit dengan level, parent atau within.")
                % {"limit": exc.limit}
            ) from exc
    paginator = RegionCursorPagination()
    page = paginator.paginate_queryset(regions_list(filters=filters), request)
    return paginator.get_paginated_response(page)


@extend_schema(
    operation_id="regions_retrieve",
    summary="One area",
    description="One area with its child count. With `format=geojson`, a GeoJSON Feature.",
    parameters=[
        OpenApiParameter(
            "code",
            OpenApiTypes.STR,
            OpenApiParameter.PATH,
            description="Kemendagri code, e.g. `64.09.01.2001`.",
        ),
        GeoJSONParams,
        _FORMAT,
    ],
    responses={
        (200, "application/json"): OpenApiResponse(RegionDetailSerializer, description="The area."),
        (200, GeoJSONRenderer.media_type): OpenApiResponse(
            _GEOJSON_FEATURE, description="GeoJSON Feature."
        ),
        400: OpenApiResponse(Error, description="Invalid tolerance."),
        404: OpenApiResponse(Error, description="No area has this code."),
    },
)
@api_view(["GET"])
@permission_classes([AllowAny])
@renderer_classes(RENDERERS)
def region_retrieve(request: Request, version: str, code: str) -> Response | HttpResponse:
    return conditional(
        request,
        (DataVersion.REGIONS,),
        lambda: _region_retrieve(request, code),
        representation=request.accepted_renderer.format,
    )


def _region_retrieve(request: Request, code: str) -> Response | HttpResponse:
    if _wants_geojson(request):
        tolerance = _parse(GeoJSONParams, request)["tolerance"]
        feature = region_geojson(code=code, tolerance=tolerance)
        if feature is None:
            raise NotFound()
        return _geojson_response(feature)
    region = region_detail(code=code)
    if region is None:
        raise NotFound()
    return Response(region)
