"""Household vector tiles (points, and counted clusters at low zoom)."""

from __future__ import annotations

import functools
import hashlib
import json

from django.http import HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import IsAuthenticated

from desapresisi.access import PRECISE_DECIMALS, disclosure_for
from desapresisi.api import HasPortalRole
from desapresisi.http_cache import etag_for, etag_matches, not_modified, scope_key, with_validators
from desapresisi.models import DataVersion
from villages.codes import is_area_code

from ..filters import HouseholdFilter, household_region_q, region_q
from ..indicators.criteria import map_criteria, map_criteria_conditions
from ..models import Household
from ..selectors import households_for, tile_cells_for
from ..tiles import (
    CLUSTER_MAX_ZOOM,
    KEPT_TILES,
    TILE_FORMAT,
    Rendered,
    cluster_tile_rendered,
    household_tile,
    household_tile_rendered,
    kept_tile_key,
    kept_tiles_state,
    tile_cache_etag,
    tile_cache_get,
    tile_cache_put,
    tile_etag,
    tile_is_valid,
)


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


def _cells_tile(user, region: str | None, z: int, x: int, y: int) -> Rendered:
    cells = tile_cells_for(user)
    if region:
        cells = cells.filter(region_q(region, field="region__code"))
    codes = [criterion.code for criterion in map_criteria()]
    return cluster_tile_rendered(
        cells=cells, codes=codes, z=z, x=x, y=y, snap_decimals=_snap_decimals(user)
    )


def _variant(user, region: str | None) -> str:
    """The tile cache's key for an area-only tile: everything but (z, x, y) that changes
    the answer: the caller's role, areas and disclosure (http_cache.scope_key), the area
    asked for, the map criteria with their definitions, and how tiles are drawn."""
    criteria = [(c.code, c.numerator) for c in map_criteria()]
    parts = [TILE_FORMAT, scope_key(user), region or "", criteria]
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _tile_response(request, tile: bytes, etag: str):
    if etag_matches(request, etag):
        return not_modified(etag=etag)
    response = HttpResponse(tile, content_type="application/vnd.mapbox-vector-tile")
    # Tiles depend on the caller's scope: never shared by a proxy (private), revalidated
    # on every use (a 304 while the tile is unchanged).
    return with_validators(response, etag=etag)


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
        if set(request.query_params) <= {"region"}:
            # The map's usual request: its area and nothing else. Building the whole
            # household filter would cost more than the tile itself.
            return self._cached(request, request.query_params.get("region"), z, x, y)
        filterset = HouseholdFilter(
            request.query_params, queryset=households_for(request.user), request=request
        )
        if not filterset.is_valid():
            raise serializers.ValidationError(filterset.errors)
        cleaned = filterset.form.cleaned_data
        if _area_only(cleaned):
            return self._cached(request, cleaned.get("region"), z, x, y)
        # Any other filter: rendered for this request only (too many combinations to keep).
        tile = household_tile(
            queryset=filterset.qs,
            criteria=map_criteria_conditions(),
            z=z,
            x=x,
            y=y,
            snap_decimals=_snap_decimals(request.user),
        )
        variant = etag_for(scope_key(request.user), sorted(request.query_params.lists()))
        return _tile_response(request, tile, tile_etag(variant, tile))

    def _cached(self, request, region: str | None, z: int, x: int, y: int):
        """An area-only tile kept in the process, else from the tile cache, else
        rendered and put in the cache."""
        user = request.user
        if region:
            region_q(region)  # the filter's check: a 400 naming the field for a bad code
        variant = _variant(user, region)
        state = kept_tiles_state()
        kept_key = None
        if state is not None:
            kept_key = kept_tile_key(variant=variant, z=z, x=x, y=y, state=state)
            kept = KEPT_TILES.get(kept_key)
            if kept is not None:
                return _tile_response(request, *kept)
        if request.headers.get("If-None-Match"):
            etag = tile_cache_etag(variant=variant, z=z, x=x, y=y)
            if etag is not None and etag_matches(request, etag):
                return not_modified(etag=etag)
        cached = tile_cache_get(variant=variant, z=z, x=x, y=y)
        if cached is not None:
            if kept_key is not None:
                KEPT_TILES.put(kept_key, *cached)
            return _tile_response(request, *cached)
        version = (
            DataVersion.objects.filter(name=DataVersion.FIGURES)
            .values_list("version", flat=True)
            .first()
        )
        if z <= CLUSTER_MAX_ZOOM:
            rendered = _cells_tile(user, region, z, x, y)
        else:
            queryset = households_for(user)
            if region:
                queryset = queryset.filter(household_region_q(region))
            rendered = household_tile_rendered(
                queryset=queryset,
                criteria=map_criteria_conditions(),
                z=z,
                x=x,
                y=y,
                snap_decimals=_snap_decimals(user),
            )
        etag = tile_cache_put(
            variant=variant, z=z, x=x, y=y, rendered=rendered, version=version or 0
        )
        return _tile_response(request, rendered.tile, etag)


_tile_view = HouseholdTile.as_view()


@csrf_exempt  # as DRF's own view: the session's CSRF rule is DRF's (tiles are GET-only)
@functools.wraps(_tile_view)  # keeps `cls`: the schema and the permission matrix see the DRF view
def household_tile_view(request, z: int, x: int, y: int, *args, **kwargs):
    """The map's own request (a signed-in session, its area and nothing else) for a tile
    this process keeps (`KEPT_TILES`), answered before DRF's dispatch (content
    negotiation, authenticators, permission and throttle objects: most of a kept tile's
    cost over a plain view). The same checks as the view's (`IsAuthenticated`,
    `HasPortalRole`), the same key (`_variant`: the caller's scope); everything else, and
    every miss, goes to `HouseholdTile`."""
    user = request.user
    region = request.GET.get("region")
    if (
        request.method == "GET"
        and "HTTP_AUTHORIZATION" not in request.META  # a token names the caller: DRF's
        and set(request.GET) <= {"region"}
        and user.is_authenticated
        and HasPortalRole().has_permission(request, None)
        and tile_is_valid(z, x, y)
        and (region is None or is_area_code(region))
    ):
        state = kept_tiles_state()
        if state is not None:
            key = kept_tile_key(variant=_variant(user, region), z=z, x=x, y=y, state=state)
            kept = KEPT_TILES.get(key)
            if kept is not None:
                return _tile_response(request, *kept)
    return _tile_view(request, z, x, y, *args, **kwargs)
