"""Household vector tiles (points, and counted clusters at low zoom)."""

from __future__ import annotations

from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import IsAuthenticated

from desapresisi.access import PRECISE_DECIMALS, disclosure_for
from desapresisi.api import HasPortalRole

from ..filters import HouseholdFilter, region_q
from ..indicators.criteria import map_criteria, map_criteria_conditions
from ..models import Household
from ..selectors import households_for, tile_cells_for
from ..tiles import CLUSTER_MAX_ZOOM, cluster_tile, household_tile, tile_is_valid


def _area_only(cleaned: dict) -> bool:
    """Whether a household filter narrows by area alone (what the cluster cells answer)."""
    return not any(
        value not in (None, "", [])
        for name, value in cleaned.items()
        if name not in ("region", "ordering")
    )


def _snap_decimals(user) -> int | None:
    """Symbols of the caller's tiles at the precision it may see points at."""
    decimals = disclosure_for(user, unmask_requested=False).coordinate_decimals
    return None if decimals == PRECISE_DECIMALS else decimals


def _cells_tile(user, region: str | None, z: int, x: int, y: int) -> bytes:
    cells = tile_cells_for(user)
    if region:
        cells = cells.filter(region_q(region, field="region__code"))
    codes = [criterion.code for criterion in map_criteria()]
    return cluster_tile(cells=cells, codes=codes, z=z, x=x, y=y, snap_decimals=_snap_decimals(user))


class HouseholdTile(GenericAPIView):
    """Household points (or counted clusters up to zoom 13) as a Mapbox Vector Tile.
    Accepts every filter of the household list."""

    permission_classes = [IsAuthenticated, HasPortalRole]
    # A map asks for tiles by the dozen; they hold no names (desapresisi/throttling.py).
    throttle_scopes = {"*": None}

    filterset_class = HouseholdFilter
    queryset = Household.objects.none()

    @extend_schema(
        summary="Petak vektor (MVT) rumah tangga",
        responses={(200, "application/vnd.mapbox-vector-tile"): OpenApiTypes.BINARY},
    )
    def get(self, request, z: int, x: int, y: int, *args, **kwargs):
        if not tile_is_valid(z, x, y):
            raise NotFound(_("Petak di luar jangkauan."))
        if z <= CLUSTER_MAX_ZOOM and set(request.query_params) <= {"region"}:
            # The map's usual request: its area and nothing else. Building the whole
            # household filter would cost more than the tile itself.
            tile = _cells_tile(request.user, request.query_params.get("region"), z, x, y)
        else:
            filterset = HouseholdFilter(
                request.query_params, queryset=households_for(request.user), request=request
            )
            if not filterset.is_valid():
                raise serializers.ValidationError(filterset.errors)
            cleaned = filterset.form.cleaned_data
            if z <= CLUSTER_MAX_ZOOM and _area_only(cleaned):
                tile = _cells_tile(request.user, cleaned.get("region"), z, x, y)
            else:
                tile = household_tile(
                    queryset=filterset.qs,
                    criteria=map_criteria_conditions(),
                    z=z,
                    x=x,
                    y=y,
                    snap_decimals=_snap_decimals(request.user),
                )
        response = HttpResponse(tile, content_type="application/vnd.mapbox-vector-tile")
        # Tiles depend on the caller's scope: never shared by a proxy.
        response["Cache-Control"] = "private, max-age=60"
        return response
