"""Survey rounds, an indicator's trend over them, the change between two rounds per area
and per household. Figures are open to everyone with the public's small-cell suppression
(like households/api/indicators.py); household changes only for roles that see names."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from desapresisi import audit
from desapresisi.access import suppression_for
from desapresisi.api import HasPortalRole
from desapresisi.models import AuditAction

from ..models import SurveyRound
from ..trends import STATUSES, area_changes_for, household_changes_for, trend_for

CHANGE_PAGE_SIZE, CHANGE_MAX_PAGE_SIZE = 100, 1000

ROUND_FIELDS = [
    "code", "name", "source", "reference_date", "fieldwork_start", "fieldwork_end", "status",
    "decile_source", "decile_vintage", "closed_at",
]  # fmt: skip


class RoundDoc(serializers.ModelSerializer):
    class Meta:
        model = SurveyRound
        fields = ROUND_FIELDS


class RoundList(GenericAPIView):
    """Survey rounds, oldest first (by reference date): what `period` means in the
    indicator values. The welfare decile of a round is BPS's, with its source and vintage."""

    permission_classes = [AllowAny]
    queryset = SurveyRound.objects.none()

    @extend_schema(summary="Putaran pendataan", responses={200: RoundDoc(many=True)})
    def get(self, request, *args, **kwargs):
        rows = SurveyRound.objects.order_by("reference_date", "code").values(*ROUND_FIELDS)
        return Response(list(rows))


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


class AreaQuery(serializers.Serializer):
    indicator = serializers.SlugField(help_text="Kode indikator.")
    area = serializers.CharField(required=False, help_text="Kode wilayah, dipisah koma.")
    level = serializers.ChoiceField(
        choices=["province", "kabupaten", "kecamatan", "desa"], required=False
    )
    parent = serializers.CharField(
        required=False, help_text="Kode wilayah induk: semua wilayah di bawahnya."
    )

    def validate(self, attrs):
        if attrs.get("area"):
            attrs["area"] = _split(attrs["area"])
        return attrs


class ChangeQuery(AreaQuery):
    # `from` is a Python keyword: the fields are declared under their query names below.
    pass


ChangeQuery._declared_fields["from"] = serializers.CharField(help_text="Kode putaran asal.")
ChangeQuery._declared_fields["to"] = serializers.CharField(help_text="Kode putaran tujuan.")


class PeriodDoc(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    reference_date = serializers.DateField(allow_null=True)
    status = serializers.CharField(allow_null=True)
    source = serializers.CharField(allow_null=True)


class TrendRowDoc(serializers.Serializer):
    indicator = serializers.CharField()
    area_code = serializers.CharField()
    area_name = serializers.CharField()
    level = serializers.CharField()
    period = serializers.CharField()
    numerator = serializers.FloatField(allow_null=True)
    denominator = serializers.FloatField(allow_null=True)
    value = serializers.FloatField(allow_null=True)
    suppressed = serializers.BooleanField()
    suppression_reason = serializers.CharField(allow_null=True)
    suppression_threshold = serializers.IntegerField(allow_null=True)


class TrendDoc(serializers.Serializer):
    periods = PeriodDoc(many=True)
    rows = TrendRowDoc(many=True)


class IndicatorTrend(GenericAPIView):
    """One indicator per area over every round (rows in period order per area), read from
    the rollup; suppressed for the public like the values."""

    permission_classes = [AllowAny]
    queryset = SurveyRound.objects.none()

    @extend_schema(
        summary="Tren indikator per wilayah antarputaran",
        parameters=[AreaQuery],
        responses={200: TrendDoc},
    )
    def get(self, request, *args, **kwargs):
        query = AreaQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        return Response(
            trend_for(
                indicator=params["indicator"],
                areas=params.get("area"),
                level=params.get("level"),
                parent=params.get("parent"),
                suppress_up_to=suppression_for(request.user),
            )
        )


class AreaChangeDoc(serializers.Serializer):
    area_code = serializers.CharField()
    area_name = serializers.CharField()
    level = serializers.CharField()
    from_period = serializers.CharField()
    to_period = serializers.CharField()
    from_numerator = serializers.FloatField(allow_null=True)
    from_denominator = serializers.FloatField(allow_null=True)
    from_value = serializers.FloatField(allow_null=True)
    to_numerator = serializers.FloatField(allow_null=True)
    to_denominator = serializers.FloatField(allow_null=True)
    to_value = serializers.FloatField(allow_null=True)
    change = serializers.FloatField(allow_null=True, help_text="Nilai tujuan dikurangi asal.")
    direction = serializers.ChoiceField(choices=["membaik", "memburuk", "tetap"], allow_null=True)
    suppressed = serializers.BooleanField(
        help_text="Tersembunyi bila nilai salah satu putaran disembunyikan untuk publik."
    )


class IndicatorChanges(GenericAPIView):
    """The change of one indicator between two rounds per area. For the public a change is
    hidden whenever either round's figure is hidden (no small cell by difference)."""

    permission_classes = [AllowAny]
    queryset = SurveyRound.objects.none()

    @extend_schema(
        summary="Perubahan indikator per wilayah antara dua putaran",
        parameters=[ChangeQuery],
        responses={200: AreaChangeDoc(many=True)},
    )
    def get(self, request, *args, **kwargs):
        query = ChangeQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        return Response(
            area_changes_for(
                indicator=params["indicator"],
                from_period=params["from"],
                to_period=params["to"],
                areas=params.get("area"),
                level=params.get("level"),
                parent=params.get("parent"),
                suppress_up_to=suppression_for(request.user),
            )
        )


class HouseholdChangeQuery(serializers.Serializer):
    village = serializers.CharField(help_text="Kode desa/kelurahan.")
    indicator = serializers.SlugField()
    status = serializers.MultipleChoiceField(
        choices=list(STATUSES),
        required=False,
        help_text="Hanya status ini (boleh diulang: status=memburuk&status=membaik); "
        "tanpa ini semua status.",
    )
    page = serializers.IntegerField(min_value=1, default=1)
    page_size = serializers.IntegerField(
        min_value=1, max_value=CHANGE_MAX_PAGE_SIZE, default=CHANGE_PAGE_SIZE
    )


HouseholdChangeQuery._declared_fields["from"] = serializers.CharField()
HouseholdChangeQuery._declared_fields["to"] = serializers.CharField()


class HouseholdChangeRowDoc(serializers.Serializer):
    household_id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=list(STATUSES))
    no_kk = serializers.CharField(help_text="Disamarkan kecuali boleh dan diminta dibuka.")
    region_id = serializers.CharField()
    dusun = serializers.CharField()
    rw = serializers.CharField()
    rt = serializers.CharField()
    from_numerator = serializers.FloatField(allow_null=True)
    from_denominator = serializers.FloatField(allow_null=True)
    to_numerator = serializers.FloatField(allow_null=True)
    to_denominator = serializers.FloatField(allow_null=True)


class HouseholdChangesDoc(serializers.Serializer):
    village = serializers.CharField()
    indicator = serializers.CharField()
    higher_is_better = serializers.BooleanField()
    from_period = serializers.CharField()
    to_period = serializers.CharField()
    counts = serializers.DictField(
        child=serializers.IntegerField(), help_text="Per status, semua rumah tangga desa."
    )
    total = serializers.IntegerField(help_text="Rumah tangga dengan status yang diminta.")
    page = serializers.IntegerField()
    page_size = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    households = HouseholdChangeRowDoc(
        many=True,
        help_text="Satu halaman: memburuk, membaik, masuk, keluar, lalu tetap; "
        "dalam status menurut dusun, RW, RT dan No. KK.",
    )


class HouseholdChanges(GenericAPIView):
    """The households of one village that improved, worsened, stayed, came in or left
    between two rounds for one indicator. Roles that see named records only; households
    in the caller's areas only."""

    permission_classes = [HasPortalRole]
    queryset = SurveyRound.objects.none()

    @extend_schema(
        summary="Perubahan per rumah tangga antara dua putaran",
        parameters=[HouseholdChangeQuery],
        responses={200: HouseholdChangesDoc},
    )
    def get(self, request, *args, **kwargs):
        query = HouseholdChangeQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        page, size = params["page"], params["page_size"]
        answer = household_changes_for(
            user=request.user,
            village=params["village"],
            indicator=params["indicator"],
            from_period=params["from"],
            to_period=params["to"],
            statuses=sorted(params.get("status") or ()) or None,
            offset=(page - 1) * size,
            limit=size,
        )
        pages = max(1, -(-answer["total"] // size))
        if page > pages:
            raise ValidationError(
                {
                    "page": [
                        _("Halaman %(page)s melewati halaman terakhir (%(pages)s).")
                        % {"page": page, "pages": pages}
                    ]
                }
            )
        audit.record(action=AuditAction.VIEW, request=request, rows=len(answer["households"]))
        url = request.build_absolute_uri()
        answer.pop("offset")
        answer.update(
            page=page,
            page_size=size,
            next=replace_query_param(url, "page", page + 1) if page < pages else None,
            previous=replace_query_param(url, "page", page - 1) if page > 1 else None,
        )
        return Response(answer)
