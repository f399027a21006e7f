"""REST endpoints of data quality (under /api/v1/quality/): the rules, the flags and a
village's summary within the caller's areas, accepting a flag, and the sign-off steps.
Thin: parse input, find the object within the caller's scope (outside it: 404), call one
selector or service."""

from __future__ import annotations

import json

from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from desapresisi.api import HasPortalRole, StableCursorPagination
from desapresisi.openapi import Error
from households.models import SurveyRound
from villages.codes import subtree_q
from villages.models import Level, Region

from .models import Flag, Rule, SignOffAction
from .selectors import (
    flags_for,
    rule_counts,
    signoff_of,
    signoff_row,
    village_score,
    village_visible,
    villages_quality,
)
from .services import flag_accept, signoff_step


class RuleDoc(serializers.Serializer):
    code = serializers.CharField()
    scope = serializers.CharField()
    severity = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    parameters = serializers.DictField()


def rule_row(rule: Rule) -> dict:
    return {
        "code": rule.code,
        "scope": rule.scope,
        "severity": rule.severity,
        "name": rule.name(),
        "description": rule.description(),
        "parameters": rule.parameters,
    }


class RuleList(GenericAPIView):
    """The active quality rules (definitions only: no record, open to all)."""

    permission_classes = [AllowAny]
    queryset = Rule.objects.none()
    pagination_class = None

    @extend_schema(summary="Aturan kualitas data", responses={200: RuleDoc(many=True)})
    def get(self, request, *args, **kwargs):
        return Response([rule_row(rule) for rule in Rule.objects.filter(active=True)])


FLAG_VALUES = ("id", "rule_id", "region_id", "household_id", "member_id", "indicator_id",
               "period", "details", "found_at")  # fmt: skip


class FlagDoc(serializers.Serializer):
    id = serializers.IntegerField()
    rule = serializers.CharField()
    region = serializers.CharField()
    household = serializers.IntegerField(allow_null=True)
    member = serializers.IntegerField(allow_null=True)
    indicator = serializers.CharField(allow_null=True)
    period = serializers.CharField()
    details = serializers.DictField()
    found_at = serializers.DateTimeField()


def flag_row(row: dict) -> dict:
    return {
        "id": row["id"],
        "rule": row["rule_id"],
        "region": row["region_id"],
        "household": row["household_id"],
        "member": row["member_id"],
        "indicator": row["indicator_id"],
        "period": row["period"],
        "details": row["details"],
        "found_at": row["found_at"],
    }


class FlagList(GenericAPIView):
    """Flags within the caller's areas, optionally of one area's subtree and one rule."""

    permission_classes = [HasPortalRole]
    queryset = Flag.objects.none()
    pagination_class = StableCursorPagination

    @extend_schema(
        summary="Temuan kualitas data",
        parameters=[
            OpenApiParameter("region", OpenApiTypes.STR, description="Kode wilayah (subpohon)"),
            OpenApiParameter("rule", OpenApiTypes.STR, description="Kode aturan"),
        ],
        responses={200: FlagDoc(many=True)},
    )
    def get(self, request, *args, **kwargs):
        flags = flags_for(request.user)
        region = request.query_params.get("region")
        if region:
            flags = flags.filter(subtree_q(region, "region__code"))
        rule = request.query_params.get("rule")
        if rule:
            flags = flags.filter(rule_id=rule)
        page = self.paginate_queryset(flags.values(*FLAG_VALUES).order_by("id"))
        return self.get_paginated_response([flag_row(row) for row in page])


class AcceptInput(serializers.Serializer):
    note = serializers.CharField(max_length=1000)


class FlagAccept(GenericAPIView):
    """ "Bukan masalah": the village's operator accepts a flag with a note (audited); the
    flag does not come back."""

    permission_classes = [HasPortalRole]
    queryset = Flag.objects.none()

    @extend_schema(
        summary="Terima temuan (bukan masalah)",
        request=AcceptInput,
        responses={200: FlagDoc},
    )
    def post(self, request, pk: int, *args, **kwargs):
        flag = get_object_or_404(flags_for(request.user), pk=pk)
        data = AcceptInput(data=request.data)
        data.is_valid(raise_exception=True)
        row = flag_row(Flag.objects.filter(pk=flag.pk).values(*FLAG_VALUES).get())
        flag_accept(user=request.user, flag=flag, note=data.validated_data["note"])
        return Response(row)


class VillageQualityDoc(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    households = serializers.IntegerField()
    flagged = serializers.IntegerField()
    share = serializers.FloatField(allow_null=True)
    score = serializers.FloatField(allow_null=True)
    rules = serializers.ListField(child=serializers.DictField())
    signoff = serializers.DictField(allow_null=True)


def _village_or_404(user, code: str) -> Region:
    region = Region.objects.filter(code=code, level=Level.DESA).first()
    if region is None or not village_visible(user, code):
        raise Http404
    return region


def village_quality_row(region: Region) -> dict:
    return {
        "code": region.code,
        "name": region.name,
        **village_score(region_code=region.code),
        "rules": [
            {"rule": row["code"], "flags": row["flags"], "accepted": row["accepted"]}
            for row in rule_counts(region_code=region.code)
        ],
        "signoff": signoff_row(signoff_of(region_code=region.code)),
    }


class VillageQuality(GenericAPIView):
    """A village's quality: flags per rule, the score and the open round's sign-off."""

    permission_classes = [HasPortalRole]
    queryset = Flag.objects.none()

    @extend_schema(summary="Kualitas data satu desa", responses={200: VillageQualityDoc})
    def get(self, request, code: str, *args, **kwargs):
        return Response(village_quality_row(_village_or_404(request.user, code)))


class VillageShareDoc(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    households = serializers.IntegerField()
    flagged = serializers.IntegerField()
    share = serializers.FloatField(allow_null=True)
    signoff = serializers.CharField(allow_null=True)
    outliers = serializers.ListField(
        child=serializers.DictField(),
        help_text="Temuan wilayah (pencilan, lonjakan): rule, rule_name, indicator, "
        "indicator_name, period, details.",
    )


class VillageShares(GenericAPIView):
    """Per village under `parent` (default the kabupaten), the share of households
    flagged and the sign-off status: the officials' choropleth, as GeoJSON features."""

    permission_classes = [HasPortalRole]
    queryset = Flag.objects.none()

    @extend_schema(
        summary="Persentase temuan per desa (GeoJSON)",
        operation_id="quality_villages_list",
        parameters=[OpenApiParameter("parent", OpenApiTypes.STR, description="Kode wilayah")],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request, *args, **kwargs):
        parent = request.query_params.get("parent") or "64.09"
        rows = villages_quality(request.user, parent=parent)
        return Response(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "id": row["code"],
                        # ST_AsGeoJSON's text, parsed once per village (about 50).
                        "geometry": json.loads(row["geometry"]) if row["geometry"] else None,
                        "properties": {k: v for k, v in row.items() if k != "geometry"},
                    }
                    for row in rows
                ],
            }
        )


class SignOffInput(serializers.Serializer):
    action = serializers.ChoiceField(choices=SignOffAction.choices)
    note = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")
    round = serializers.SlugField(
        max_length=40, required=False, help_text="Kode putaran; bawaan: putaran yang terbuka"
    )


class VillageSignOff(GenericAPIView):
    """One step of the village's sign-off for the open round: `ajukan` (the village's
    operator), `setujui`, `kembalikan` or `buka_kembali` (a verifier at kecamatan or
    kabupaten level; the last two need a note). 409 when the step does not follow."""

    permission_classes = [HasPortalRole]
    queryset = Flag.objects.none()

    @extend_schema(
        summary="Langkah verifikasi desa",
        request=SignOffInput,
        responses={200: VillageQualityDoc, 409: Error},
    )
    def post(self, request, code: str, *args, **kwargs):
        region = _village_or_404(request.user, code)
        data = SignOffInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        survey_round = None
        if values.get("round"):
            survey_round = SurveyRound.objects.filter(code=values["round"]).first()
            if survey_round is None:
                raise serializers.ValidationError({"round": _("Putaran tidak dikenal.")})
        signoff_step(
            user=request.user,
            region_code=region.code,
            action=values["action"],
            note=values["note"],
            survey_round=survey_round,
        )
        return Response(village_quality_row(region))
