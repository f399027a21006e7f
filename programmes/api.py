"""REST endpoints of programmes, target lists, interventions, their events and photos
(under /api/v1/). Thin: parse input, find the object within the caller's scope (outside
it: 404), call one selector or service. The serializers document shapes; rows are built
from `.values()`."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response

from desapresisi import audit
from desapresisi.access import (
    can_manage_programmes,
    can_view_interventions,
    can_work_interventions,
    disclose_household,
    disclosure_for,
)
from desapresisi.api import HasPortalRole, StableCursorPagination
from desapresisi.models import AuditAction
from desapresisi.openapi import Error
from households.models import Indicator
from villages.models import Region

from .models import (
    EvidencePhoto,
    FundingSource,
    Intervention,
    Programme,
    Skpd,
    Status,
    TargetList,
    Unit,
)
from .selectors import (
    COVERAGE_LEVELS,
    can_manage,
    coverage_for,
    double_aid_overlaps,
    households_selected,
    intervention_events_for,
    interventions_for,
    programme_outcomes,
    programme_progress,
    programmes_for,
    skpd_of,
)
from .services import (
    evidence_photo_add,
    intervention_transition,
    interventions_bulk_transition,
    interventions_status_import,
    programme_create,
    target_list_freeze,
)

PROGRAMME_VALUES = (
    "id", "code", "name", "skpd__code", "skpd__name", "year", "funding_sources", "unit",
    "indicator_id", "area_id", "target_count", "unit_cost", "synthetic",
)  # fmt: skip


def programme_row(row: dict) -> dict:
    return {
        "id": row["id"],
        "code": row["code"],
        "name": row["name"],
        "skpd": {"code": row["skpd__code"], "name": row["skpd__name"]},
        "year": row["year"],
        "funding_sources": row["funding_sources"],
        "unit": row["unit"],
        "indicator": row["indicator_id"],
        "area": row["area_id"],
        "target_count": row["target_count"],
        "unit_cost": int(row["unit_cost"]) if row["unit_cost"] is not None else None,
        "synthetic": row["synthetic"],
    }


class ProgrammeSkpdDoc(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class ProgrammeDoc(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    skpd = ProgrammeSkpdDoc()
    year = serializers.IntegerField()
    funding_sources = serializers.ListField(child=serializers.CharField())
    unit = serializers.ChoiceField(choices=Unit.choices)
    indicator = serializers.CharField()
    area = serializers.CharField()
    target_count = serializers.IntegerField()
    unit_cost = serializers.IntegerField(allow_null=True)
    synthetic = serializers.BooleanField(help_text="Program demo sintetis")


class ProgrammeDetailDoc(ProgrammeDoc):
    can_manage = serializers.BooleanField()
    progress = serializers.DictField(
        help_text="Per desa dan total: sasaran, intervensi per status, anggaran (rollup)"
    )


class ProgrammeQuery(serializers.Serializer):
    year = serializers.IntegerField(required=False, min_value=2000, max_value=2100)
    skpd = serializers.SlugField(required=False)
    indicator = serializers.SlugField(required=False)


class ProgrammeInput(serializers.Serializer):
    code = serializers.SlugField(max_length=40)
    name = serializers.CharField(max_length=200)
    skpd = serializers.SlugRelatedField(
        slug_field="code", queryset=Skpd.objects.all(), required=False, allow_null=True
    )
    year = serializers.IntegerField(min_value=2000, max_value=2100)
    funding_sources = serializers.ListField(
        child=serializers.ChoiceField(choices=FundingSource.choices), allow_empty=True
    )
    unit = serializers.ChoiceField(choices=Unit.choices)
    indicator = serializers.SlugRelatedField(
        slug_field="code", queryset=Indicator.objects.filter(active=True)
    )
    area = serializers.SlugRelatedField(slug_field="code", queryset=Region.objects.all())
    target_count = serializers.IntegerField(min_value=0, max_value=10_000_000)
    unit_cost = serializers.IntegerField(
        min_value=0, max_value=10**13, required=False, allow_null=True
    )

    def validate_code(self, value):
        if Programme.objects.filter(code=value).exists():
            raise serializers.ValidationError(_("Kode program sudah dipakai."))
        return value


class ProgrammeList(GenericAPIView):
    """Every programme (planning information, open to all: seeing each other's
    programmes is how double aid is avoided). POST: an SKPD analyst creates one for
    their SKPD."""

    queryset = Programme.objects.none()  # for the schema; rows come from selectors

    pagination_class = StableCursorPagination

    def get_permissions(self):
        if self.request.method == "POST":
            return [IsAuthenticated(), HasPortalRole()]
        return [AllowAny()]

    @extend_schema(
        summary="Daftar program",
        parameters=[ProgrammeQuery],
        responses={200: ProgrammeDoc(many=True)},
    )
    def get(self, request, *args, **kwargs):
        query = ProgrammeQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        queryset = programmes_for(request.user)
        params = query.validated_data
        if "year" in params:
            queryset = queryset.filter(year=params["year"])
        if "skpd" in params:
            queryset = queryset.filter(skpd__code=params["skpd"])
        if "indicator" in params:
            queryset = queryset.filter(indicator_id=params["indicator"])
        page = self.paginate_queryset(queryset.values(*PROGRAMME_VALUES))
        return self.get_paginated_response([programme_row(row) for row in page])

    @extend_schema(
        summary="Buat program (analis SKPD)",
        request=ProgrammeInput,
        responses={201: ProgrammeDoc},
    )
    def post(self, request, *args, **kwargs):
        if not can_manage_programmes(request.user):
            raise PermissionDenied(_("Hanya analis SKPD yang dapat membuat program."))
        data = ProgrammeInput(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        skpd = fields.pop("skpd", None)
        programme = programme_create(actor=request.user, skpd=skpd, **fields)
        row = Programme.objects.filter(pk=programme.pk).values(*PROGRAMME_VALUES).get()
        return Response(programme_row(row), status=201)


class ProgrammeDetail(GenericAPIView):
    """One programme with its figures per village (the rollup rows; for the public,
    small counts are suppressed)."""

    queryset = Programme.objects.none()  # for the schema; rows come from selectors

    permission_classes = [AllowAny]

    @extend_schema(summary="Rincian program", responses={200: ProgrammeDetailDoc})
    def get(self, request, pk: int, *args, **kwargs):
        programme = get_object_or_404(programmes_for(request.user), pk=pk)
        row = Programme.objects.filter(pk=pk).values(*PROGRAMME_VALUES).get()
        return Response(
            {
                **programme_row(row),
                "can_manage": can_manage(request.user, programme),
                "progress": programme_progress(request.user, programme),
            }
        )


class OutcomeQuery(serializers.Serializer):
    pass


OutcomeQuery._declared_fields["from"] = serializers.CharField(
    required=False, help_text="Kode putaran sebelum (bawaan: putaran kedua terakhir)."
)
OutcomeQuery._declared_fields["to"] = serializers.CharField(
    required=False, help_text="Kode putaran sesudah (bawaan: putaran terakhir)."
)


class OutcomeCellDoc(serializers.Serializer):
    households = serializers.IntegerField(allow_null=True)
    before = serializers.FloatField(allow_null=True, help_text="Nilai indikator sebelum.")
    after = serializers.FloatField(allow_null=True, help_text="Nilai indikator sesudah.")
    change = serializers.FloatField(allow_null=True)
    suppressed = serializers.BooleanField()


class OutcomeVillageDoc(serializers.Serializer):
    region = serializers.CharField()
    name = serializers.CharField()
    treated = OutcomeCellDoc(allow_null=True, help_text="Intervensi selesai/terverifikasi.")
    not_yet = OutcomeCellDoc(allow_null=True, help_text="Sasaran yang belum ditangani.")


class OutcomeTotalsDoc(serializers.Serializer):
    treated = OutcomeCellDoc(allow_null=True)
    not_yet = OutcomeCellDoc(allow_null=True)


class OutcomesDoc(serializers.Serializer):
    indicator = serializers.CharField(required=False)
    higher_is_better = serializers.BooleanField(required=False)
    from_period = serializers.CharField(allow_null=True)
    to_period = serializers.CharField(allow_null=True)
    villages = OutcomeVillageDoc(many=True)
    totals = OutcomeTotalsDoc(allow_null=True)


class ProgrammeOutcomes(GenericAPIView):
    """Outcomes of a programme between two survey rounds: its indicator among the
    households of its target lists, treated against targeted but not yet treated, per
    village and in total. Aggregates; for the public, small cells are suppressed."""

    queryset = Programme.objects.none()
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Hasil program antara dua putaran",
        parameters=[OutcomeQuery],
        responses={200: OutcomesDoc},
    )
    def get(self, request, pk: int, *args, **kwargs):
        programme = get_object_or_404(programmes_for(request.user), pk=pk)
        query = OutcomeQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        return Response(
            programme_outcomes(
                request.user,
                programme,
                from_period=params.get("from"),
                to_period=params.get("to"),
            )
        )


class TargetListDoc(serializers.Serializer):
    id = serializers.IntegerField()
    programme = serializers.IntegerField()
    version = serializers.IntegerField()
    criteria = serializers.DictField()
    indicator = serializers.CharField()
    data_version = serializers.DictField()
    frozen_at = serializers.DateTimeField()
    frozen_by = serializers.CharField()
    size = serializers.IntegerField(help_text="Sasaran di seluruh wilayah saat dibekukan")


class FreezeInput(serializers.Serializer):
    criteria = serializers.DictField(
        child=serializers.CharField(allow_blank=True),
        required=False,
        help_text="Filter daftar rumah tangga (seperti GET /households/), mis. region, "
        "desil_kesejahteraan__lte",
    )
    exclude_other_programmes = serializers.BooleanField(
        default=False,
        help_text="Lewati rumah tangga yang sudah di program lain untuk indikator dan tahun sama",
    )


class FreezeDoc(TargetListDoc):
    interventions = serializers.IntegerField()
    warnings = serializers.ListField(
        child=serializers.DictField(),
        help_text="Bantuan ganda: rumah tangga yang sudah di program lain (program, SKPD)",
    )


TARGET_LIST_VALUES = (
    "id", "programme_id", "version", "criteria", "indicator_code", "data_version",
    "frozen_at", "frozen_by__username", "size",
)  # fmt: skip


def target_list_row(row: dict) -> dict:
    return {
        "id": row["id"],
        "programme": row["programme_id"],
        "version": row["version"],
        "criteria": row["criteria"],
        "indicator": row["indicator_code"],
        "data_version": row["data_version"],
        "frozen_at": row["frozen_at"],
        "frozen_by": row["frozen_by__username"],
        "size": row["size"],
    }


class ProgrammeTargetLists(GenericAPIView):
    """A programme's frozen target lists (who froze which criteria, when, on which data).
    POST freezes a new one from household filters and proposes its interventions, in
    one transaction."""

    queryset = TargetList.objects.none()  # for the schema; rows come from selectors

    permission_classes = [IsAuthenticated, HasPortalRole]
    pagination_class = StableCursorPagination

    @extend_schema(summary="Daftar sasaran program", responses={200: TargetListDoc(many=True)})
    def get(self, request, pk: int, *args, **kwargs):
        programme = get_object_or_404(programmes_for(request.user), pk=pk)
        if not can_view_interventions(request.user):
            raise PermissionDenied(_("Peran ini hanya melihat angka agregat."))
        page = self.paginate_queryset(
            programme.target_lists.values(*TARGET_LIST_VALUES).order_by("id")
        )
        return self.get_paginated_response([target_list_row(row) for row in page])

    @extend_schema(
        summary="Bekukan daftar sasaran (buat daftar sasaran)",
        request=FreezeInput,
        responses={201: FreezeDoc},
    )
    def post(self, request, pk: int, *args, **kwargs):
        programme = get_object_or_404(programmes_for(request.user), pk=pk)
        data = FreezeInput(data=request.data)
        data.is_valid(raise_exception=True)
        criteria = data.validated_data.get("criteria", {})
        households = households_selected(request.user, criteria)
        result = target_list_freeze(
            actor=request.user,
            programme=programme,
            households=households,
            criteria=criteria,
            exclude_other_programmes=data.validated_data["exclude_other_programmes"],
        )
        row = TargetList.objects.filter(pk=result.target_list.pk).values(*TARGET_LIST_VALUES)
        return Response(
            {
                **target_list_row(row.get()),
                "interventions": result.interventions,
                "warnings": [
                    {"household": household, "programmes": programmes}
                    for household, programmes in sorted(result.warnings.items())
                ],
            },
            status=201,
        )


INTERVENTION_VALUES = (
    "id", "programme_id", "programme__code", "household_id", "member_id",
    "household__region_id", "household__no_kk", "household__alamat", "household__rw",
    "household__rt", "household__dusun", "status", "progress", "planned_amount",
    "realised_amount", "done_by__username", "verified_by__username", "confirmed_by_data_at",
    "updated_at",
)  # fmt: skip


def intervention_row(row: dict, disclosure) -> dict:
    household = disclose_household(
        {
            "no_kk": row["household__no_kk"],
            "alamat": row["household__alamat"],
            "rw": row["household__rw"],
            "rt": row["household__rt"],
        },
        disclosure,
    )
    amount = row["planned_amount"]
    realised = row["realised_amount"]
    return {
        "id": row["id"],
        "programme": row["programme_id"],
        "programme_code": row["programme__code"],
        "household": row["household_id"],
        "member": row["member_id"],
        "region": row["household__region_id"],
        "dusun": row["household__dusun"],
        **household,
        "status": row["status"],
        "progress": row["progress"],
        "planned_amount": int(amount) if amount is not None else None,
        "realised_amount": int(realised) if realised is not None else None,
        "done_by": row["done_by__username"],
        "verified_by": row["verified_by__username"],
        "confirmed_by_data_at": row["confirmed_by_data_at"],
        "updated_at": row["updated_at"],
    }


class InterventionDoc(serializers.Serializer):
    id = serializers.IntegerField()
    programme = serializers.IntegerField()
    programme_code = serializers.CharField()
    household = serializers.IntegerField()
    member = serializers.IntegerField(allow_null=True)
    region = serializers.CharField()
    dusun = serializers.CharField()
    no_kk = serializers.CharField(help_text="Tersamar / masked")
    alamat = serializers.CharField()
    rw = serializers.CharField()
    rt = serializers.CharField()
    status = serializers.ChoiceField(choices=Status.choices)
    progress = serializers.IntegerField()
    planned_amount = serializers.IntegerField(allow_null=True)
    realised_amount = serializers.IntegerField(allow_null=True)
    done_by = serializers.CharField(allow_null=True)
    verified_by = serializers.CharField(allow_null=True)
    confirmed_by_data_at = serializers.DateTimeField(allow_null=True)
    updated_at = serializers.DateTimeField()


class InterventionEventDoc(serializers.Serializer):
    at = serializers.DateTimeField()
    actor = serializers.CharField()
    from_status = serializers.CharField()
    to_status = serializers.CharField()
    progress = serializers.IntegerField()
    note = serializers.CharField()


class EvidencePhotoDoc(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.CharField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    lokasi = serializers.ListField(child=serializers.FloatField(), allow_null=True)
    uploaded_by = serializers.CharField()
    uploaded_at = serializers.DateTimeField()


class InterventionDetailDoc(InterventionDoc):
    events = InterventionEventDoc(many=True)
    photos = EvidencePhotoDoc(many=True)


class InterventionQuery(serializers.Serializer):
    programme = serializers.IntegerField(required=False, min_value=1)
    status = serializers.ChoiceField(choices=Status.choices, required=False)
    region = serializers.RegexField(r"^\d{2}(\.\d{2}(\.\d{2}(\.\d{4})?)?)?$", required=False)


def _disclosure(request):
    return disclosure_for(request.user, unmask_requested=False)


class NamedRecords:
    """Interventions name households: roles with names only (officials see figures)."""

    permission_classes = [IsAuthenticated, HasPortalRole]

    def check_names(self, request) -> None:
        if not can_view_interventions(request.user):
            raise PermissionDenied(_("Peran ini hanya melihat angka agregat."))


class InterventionList(NamedRecords, GenericAPIView):
    """Interventions within the caller's areas, filtered; cursor-paginated."""

    queryset = Intervention.objects.none()  # for the schema; rows come from selectors

    pagination_class = StableCursorPagination

    @extend_schema(
        summary="Daftar intervensi",
        parameters=[InterventionQuery],
        responses={200: InterventionDoc(many=True)},
    )
    def get(self, request, *args, **kwargs):
        self.check_names(request)
        query = InterventionQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        queryset = interventions_for(request.user)
        if "programme" in params:
            queryset = queryset.filter(programme_id=params["programme"])
        if "status" in params:
            queryset = queryset.filter(status=params["status"])
        if "region" in params:
            code = params["region"]
            queryset = queryset.filter(household__region__code__startswith=code)
        disclosure = _disclosure(request)
        page = self.paginate_queryset(queryset.values(*INTERVENTION_VALUES))
        if page:  # households named: who saw them, for the data protection officer
            audit.record(action=AuditAction.VIEW, request=request, rows=len(page))
        return self.get_paginated_response([intervention_row(row, disclosure) for row in page])


def photo_rows(request, intervention: Intervention) -> list[dict]:
    return [
        {
            "id": photo["id"],
            "url": request.build_absolute_uri(f"/api/v1/programmes/photos/{photo['id']}.jpg"),
            "width": photo["width"],
            "height": photo["height"],
            "lokasi": [round(photo["lokasi"].x, 6), round(photo["lokasi"].y, 6)]
            if photo["lokasi"]
            else None,
            "uploaded_by": photo["uploaded_by__username"],
            "uploaded_at": photo["uploaded_at"],
        }
        for photo in intervention.photos.values(
            "id", "width", "height", "lokasi", "uploaded_by__username", "uploaded_at"
        )
    ]


def intervention_detail(request, intervention: Intervention) -> dict:
    row = Intervention.objects.filter(pk=intervention.pk).values(*INTERVENTION_VALUES).get()
    events = intervention_events_for(request.user, intervention).values(
        "at", "actor__username", "from_status", "to_status", "progress", "note"
    )
    return {
        **intervention_row(row, _disclosure(request)),
        "events": [
            {
                "at": event["at"],
                "actor": event["actor__username"],
                "from_status": event["from_status"],
                "to_status": event["to_status"],
                "progress": event["progress"],
                "note": event["note"],
            }
            for event in events
        ],
        "photos": photo_rows(request, intervention),
    }


class InterventionDetail(NamedRecords, GenericAPIView):
    """One intervention with its events and photos."""

    queryset = Intervention.objects.none()  # for the schema; rows come from selectors

    @extend_schema(summary="Rincian intervensi", responses={200: InterventionDetailDoc})
    def get(self, request, pk: int, *args, **kwargs):
        self.check_names(request)
        intervention = get_object_or_404(interventions_for(request.user), pk=pk)
        audit.record(action=AuditAction.VIEW, request=request, rows=1)
        return Response(intervention_detail(request, intervention))


class TransitionInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=Status.choices)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    progress = serializers.IntegerField(min_value=0, max_value=100, required=False, allow_null=True)
    realised_amount = serializers.IntegerField(
        min_value=0, max_value=10**13, required=False, allow_null=True
    )


class InterventionTransition(NamedRecords, GenericAPIView):
    """Move an intervention along its status machine: approve and reject, cancel and
    verify are the programme's SKPD's; start, progress and done the village operator's
    too. Four eyes: who marked it done cannot verify it (403)."""

    queryset = Intervention.objects.none()  # for the schema; rows come from selectors

    @extend_schema(
        summary="Ubah status intervensi",
        request=TransitionInput,
        responses={200: InterventionDetailDoc},
    )
    def post(self, request, pk: int, *args, **kwargs):
        self.check_names(request)
        intervention = get_object_or_404(
            interventions_for(request.user).select_related("programme"), pk=pk
        )
        if not can_work_interventions(request.user):
            raise PermissionDenied(
                _("Hanya SKPD pemilik program yang dapat mengelola program ini.")
            )
        data = TransitionInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        intervention_transition(
            actor=request.user,
            intervention=intervention,
            to_status=values["status"],
            note=values.get("note", ""),
            progress=values.get("progress"),
            realised_amount=values.get("realised_amount"),
        )
        return Response(intervention_detail(request, intervention))


class BulkTransitionInput(serializers.Serializer):
    ids = serializers.ListField(child=serializers.IntegerField(min_value=1), max_length=1000)
    status = serializers.ChoiceField(choices=Status.choices)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class BulkTransitionDoc(serializers.Serializer):
    changed = serializers.IntegerField()


class InterventionBulkTransition(NamedRecords, GenericAPIView):
    """Change the status of several interventions: all or none; a refusal names the
    item (`ids[i]`)."""

    queryset = Intervention.objects.none()  # for the schema; rows come from selectors

    @extend_schema(
        summary="Ubah status banyak intervensi",
        request=BulkTransitionInput,
        responses={200: BulkTransitionDoc},
    )
    def post(self, request, *args, **kwargs):
        self.check_names(request)
        if not can_work_interventions(request.user):
            raise PermissionDenied(
                _("Hanya SKPD pemilik program yang dapat mengelola program ini.")
            )
        data = BulkTransitionInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        changed = interventions_bulk_transition(
            actor=request.user, ids=values["ids"], to_status=values["status"], note=values["note"]
        )
        return Response({"changed": changed})


class EvidencePhotoInput(serializers.Serializer):
    photo = serializers.FileField(
        help_text="JPEG, PNG atau WebP; metadata dibuang, titik GPS disimpan"
    )


class InterventionPhotos(NamedRecords, GenericAPIView):
    """Add an evidence photo (multipart `photo`)."""

    queryset = EvidencePhoto.objects.none()  # for the schema; rows come from selectors

    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        summary="Unggah foto bukti",
        request={"multipart/form-data": EvidencePhotoInput},
        responses={
            201: EvidencePhotoDoc,
            409: OpenApiResponse(Error, description="Intervensi ditutup"),
        },
    )
    def post(self, request, pk: int, *args, **kwargs):
        self.check_names(request)
        intervention = get_object_or_404(
            interventions_for(request.user).select_related("programme"), pk=pk
        )
        if not can_work_interventions(request.user):
            raise PermissionDenied(
                _("Hanya SKPD pemilik program yang dapat mengelola program ini.")
            )
        upload = request.FILES.get("photo")
        if upload is None:
            raise serializers.ValidationError({"photo": [_("Wajib diisi.")]})
        photo = evidence_photo_add(actor=request.user, intervention=intervention, upload=upload)
        row = next(item for item in photo_rows(request, intervention) if item["id"] == photo.pk)
        return Response(row, status=201)


class PhotoFile(NamedRecords, GenericAPIView):
    """The stored (metadata-free) JPEG of an evidence photo."""

    queryset = EvidencePhoto.objects.none()  # for the schema; rows come from selectors

    @extend_schema(
        summary="Berkas foto bukti",
        responses={(200, "image/jpeg"): OpenApiResponse(OpenApiTypes.BINARY)},
    )
    def get(self, request, pk: int, *args, **kwargs):
        self.check_names(request)
        photo = get_object_or_404(
            EvidencePhoto.objects.filter(intervention__in=interventions_for(request.user)), pk=pk
        )
        response = HttpResponse(bytes(photo.image), content_type=photo.content_type)
        response["Cache-Control"] = "private, max-age=3600"
        return response


class DoubleAidDoc(serializers.Serializer):
    household = serializers.IntegerField()
    indicator = serializers.CharField()
    year = serializers.IntegerField()
    programmes = serializers.ListField(child=serializers.DictField())


class DoubleAidReport(NamedRecords, GenericAPIView):
    """Households in the caller's areas with active interventions of two or more
    programmes for the same indicator and year."""

    queryset = Intervention.objects.none()  # for the schema; rows come from selectors

    @extend_schema(
        summary="Laporan bantuan ganda",
        parameters=[OpenApiParameter("year", int, required=False)],
        responses={200: DoubleAidDoc(many=True)},
    )
    def get(self, request, *args, **kwargs):
        self.check_names(request)
        query = ProgrammeQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        return Response(double_aid_overlaps(request.user, year=query.validated_data.get("year")))


class SkpdListDoc(ProgrammeSkpdDoc):
    mine = serializers.BooleanField(help_text="SKPD pemanggil")


class CoverageQuery(serializers.Serializer):
    indicator = serializers.SlugField()
    year = serializers.IntegerField(min_value=2000, max_value=2100)
    parent = serializers.RegexField(r"^\d{2}(\.\d{2}(\.\d{2})?)?$", default="64.09")
    level = serializers.ChoiceField(
        choices=COVERAGE_LEVELS,
        default="desa",
        help_text="Tingkat wilayah baris jawaban: desa (bawaan), kecamatan atau kabupaten.",
    )


class CoverageDoc(serializers.Serializer):
    region = serializers.CharField()
    name = serializers.CharField()
    counted = serializers.IntegerField(allow_null=True, help_text="Dihitung indikator")
    reached = serializers.IntegerField(allow_null=True, help_text="Dengan intervensi aktif")
    untouched = serializers.IntegerField(allow_null=True, help_text="Belum tersentuh program")


class Coverage(GenericAPIView):
    """The coverage gap per village: households the indicator counts (the rollup) and
    those with an active intervention of a programme of that year addressing it. For the
    public, small counts are suppressed (null)."""

    queryset = Programme.objects.none()  # for the schema; rows come from selectors

    permission_classes = [AllowAny]

    @extend_schema(
        summary="Cakupan program per desa (belum tersentuh program)",
        parameters=[CoverageQuery],
        responses={200: CoverageDoc(many=True)},
    )
    def get(self, request, *args, **kwargs):
        query = CoverageQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        if not Indicator.objects.filter(code=params["indicator"], active=True).exists():
            raise serializers.ValidationError({"indicator": [_("Indikator tidak dikenal.")]})
        return Response(
            coverage_for(
                request.user,
                indicator=params["indicator"],
                year=params["year"],
                parent_code=params["parent"],
                level=params["level"],
            )
        )


class SkpdList(GenericAPIView):
    """The regional work units (SKPD); `mine` is the caller's own."""

    queryset = Skpd.objects.none()  # for the schema; rows come from selectors

    permission_classes = [AllowAny]

    @extend_schema(summary="Daftar SKPD", responses={200: SkpdListDoc(many=True)})
    def get(self, request, *args, **kwargs):
        own = skpd_of(request.user)
        return Response(
            [
                {
                    "code": skpd.code,
                    "name": skpd.name,
                    "mine": own is not None and own.pk == skpd.pk,
                }
                for skpd in Skpd.objects.all()
            ]
        )


class StatusImportInput(serializers.Serializer):
    file = serializers.FileField(
        help_text="XLSX: kolom id, status, kemajuan, realisasi, catatan (baris 1 = judul)"
    )


class InterventionStatusImport(NamedRecords, GenericAPIView):
    """Status changes from an XLSX sheet: all rows or none; a refused row is named
    (`baris N, kolom`)."""

    queryset = Intervention.objects.none()  # for the schema; rows come from selectors
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        summary="Impor status intervensi (XLSX)",
        request={"multipart/form-data": StatusImportInput},
        responses={200: BulkTransitionDoc},
    )
    def post(self, request, *args, **kwargs):
        self.check_names(request)
        if not can_work_interventions(request.user):
            raise PermissionDenied(
                _("Hanya SKPD pemilik program yang dapat mengelola program ini.")
            )
        upload = request.FILES.get("file")
        if upload is None:
            raise serializers.ValidationError({"file": [_("Wajib diisi.")]})
        return Response({"changed": interventions_status_import(actor=request.user, upload=upload)})
