"""REST endpoints of households, members, indicators and the codebook (under /api/v1/).

Views are thin: they parse input, pass the queryset through the access scope and hand
rows built with `.values()` to the response. Model serializers below only document the
response shapes in the OpenAPI schema; no list serialises rows one by one through them.
"""

from __future__ import annotations

import json

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.filters import OrderingFilter
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from desapresisi import audit
from desapresisi.access import (
    HOUSEHOLD_NAMED_FIELDS,
    MEMBER_NAMED_FIELDS,
    disclose_household,
    disclose_member,
    disclosure_for,
)
from desapresisi.api import Conflict, GeoJSONRenderer, HasPortalRole, StableCursorPagination
from desapresisi.models import AuditAction

from .. import schema
from ..filters import HouseholdFilter, MemberFilter, annotate_age
from ..models import Household, Member
from ..selectors import can_edit_household, households_editable_by, households_for, members_for
from ..services import (
    CHILD,
    MEMBER_EVENTS,
    StaleEdit,
    head_change_record,
    household_editable,
    household_update,
    member_birth_record,
    member_editable,
    member_event_record,
    member_transfer_record,
    member_update,
)


def household_fields() -> list[str]:
    """`.values()` of a household in the API (households.schema: the catalogue)."""
    return schema.api_values(schema.HOUSEHOLD)


def member_fields() -> list[str]:
    return schema.api_values(schema.MEMBER)


class HouseholdDoc(serializers.ModelSerializer):
    region = serializers.CharField(help_text="Kode desa/kelurahan")
    lokasi = serializers.ListField(child=serializers.FloatField(), help_text="[lon, lat]")

    class Meta:
        model = Household
        exclude = ["dibuat", "diubah"]
        # null for callers who may not see them (desapresisi.access, the disclosure policy)
        extra_kwargs = {name: {"allow_null": True} for name in HOUSEHOLD_NAMED_FIELDS}


class MemberDoc(serializers.ModelSerializer):
    household = serializers.IntegerField()
    umur = serializers.IntegerField(help_text="Umur pada tanggal acuan / survei")
    region = serializers.CharField()

    class Meta:
        model = Member
        exclude = ["dibuat", "diubah"]
        extra_kwargs = {name: {"allow_null": True} for name in MEMBER_NAMED_FIELDS}


class HouseholdDetailDoc(HouseholdDoc):
    members = MemberDoc(many=True)


class DisclosureMixin:
    """Names and identity numbers per role; full NIK/KK only with `?unmask=true`, for
    roles allowed to, and always written to the audit log."""

    def disclosure(self, request):
        requested = request.query_params.get("unmask", "").lower() in ("1", "true", "yes")
        try:
            return disclosure_for(request.user, unmask_requested=requested)
        except PermissionError:
            audit.record(action=AuditAction.ACCESS_DENIED, request=request, detail="unmask")
            raise PermissionDenied(_("Anda tidak berhak membuka NIK/KK.")) from None

    def audit_unmasked(self, request, disclosure, rows: int) -> None:
        if disclosure.unmasked:
            audit.record(action=AuditAction.UNMASK, request=request, rows=rows)


def _expected_version(request) -> int:
    raw = request.data.get("versi", request.headers.get("If-Match", ""))
    try:
        return int(str(raw).strip().removeprefix("W/").strip('"'))
    except ValueError:
        raise serializers.ValidationError(
            {"versi": _("Wajib: versi yang dibaca (atau header If-Match).")}
        ) from None


def _reject_unknown_fields(data, edit_form) -> None:
    """Fields an edit may not touch (No. KK, NIK, the village, derived values) are named
    in a 400 instead of being ignored silently."""
    unknown = sorted(set(data) - set(edit_form.field_names()))
    if unknown:
        raise serializers.ValidationError(
            {field: [_("Kolom ini tidak dapat diubah di sini.")] for field in unknown}
        )


def _edit_errors(exc: DjangoValidationError) -> serializers.ValidationError:
    return serializers.ValidationError(
        exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
    )


def _edit(request, *, instance, household, form_class, service, queryset) -> None:
    """What every edit shares: the caller's right to edit this household, the version it
    read, only known and valid fields, then the write service; a stale version is 409."""
    if not can_edit_household(request.user, household):
        raise PermissionDenied(_("Hanya operator desa ini."))
    expected = _expected_version(request)
    _reject_unknown_fields(request.data, form_class)
    form = form_class(instance, data=request.data, partial=True)
    form.is_valid(raise_exception=True)
    changes = {key: value for key, value in form.validated_data.items() if key != "versi"}
    try:
        service(queryset=queryset, pk=instance.pk, changes=changes, expected_version=expected)
    except StaleEdit as stale:
        raise Conflict(current={"versi": stale.current_version}) from None
    except DjangoValidationError as exc:
        raise _edit_errors(exc) from None


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


class HouseholdList(DisclosureMixin, GenericAPIView):
    """Households in the caller's scope, filtered; cursor-paginated; JSON or GeoJSON."""

    permission_classes = [IsAuthenticated, HasPortalRole]

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
        disclosure = self.disclosure(request)
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset.values(*household_fields()))
        rows = [disclose_household(_household_row(row), disclosure) for row in page]
        self.audit_unmasked(request, disclosure, len(rows))
        if request.accepted_renderer.format == "geojson":
            links = {
                "next": self.paginator.get_next_link(),
                "previous": self.paginator.get_previous_link(),
            }
            return HttpResponse(
                _feature_collection(rows, links), content_type="application/geo+json"
            )
        return self.get_paginated_response(rows)


class HouseholdEdit(serializers.ModelSerializer):
    lokasi = serializers.ListField(
        child=serializers.FloatField(), min_length=2, max_length=2, required=False
    )
    versi = serializers.IntegerField(required=False, help_text="Versi yang dibaca (atau If-Match)")

    class Meta:
        model = Household
        fields = ()  # field_names(): the catalogue's editable fields when the form is built

    @staticmethod
    def field_names() -> list[str]:
        return [*sorted(household_editable() - {"lokasi"}), "lokasi", schema.LOCK]

    def get_field_names(self, declared_fields, info):
        return self.field_names()


class HouseholdDetail(DisclosureMixin, GenericAPIView):
    """One household with its members; village operators edit it with PATCH."""

    permission_classes = [IsAuthenticated, HasPortalRole]

    renderer_classes = [JSONRenderer, GeoJSONRenderer]

    def get_queryset(self):
        return households_for(self.request.user)

    def household(self, request, pk: int, disclosure) -> dict:
        row = get_object_or_404(self.get_queryset().values(*household_fields()), pk=pk)
        household = disclose_household(_household_row(row), disclosure)
        members = annotate_age(members_for(request.user).filter(household_id=pk), None)
        household["members"] = [
            disclose_member(_member_row(member), disclosure)
            for member in members.order_by("hubungan_keluarga", "tanggal_lahir").values(
                *member_fields(), "household__region_id"
            )
        ]
        return household

    @extend_schema(summary="Rincian rumah tangga", responses={200: HouseholdDetailDoc})
    def get(self, request, pk: int, *args, **kwargs):
        disclosure = self.disclosure(request)
        household = self.household(request, pk, disclosure)
        self.audit_unmasked(request, disclosure, 1 + len(household["members"]))
        if request.accepted_renderer.format == "geojson":
            feature = json.loads(_feature_collection([household], {}))["features"][0]
            return HttpResponse(
                json.dumps(feature, default=str, ensure_ascii=False),
                content_type="application/geo+json",
            )
        response = Response(household)
        response["ETag"] = f'"{household["versi"]}"'
        return response

    @extend_schema(
        summary="Ubah rumah tangga (operator desa)",
        request=HouseholdEdit,
        responses={200: HouseholdDetailDoc},
    )
    def patch(self, request, pk: int, *args, **kwargs):
        household = get_object_or_404(self.get_queryset(), pk=pk)
        _edit(
            request,
            instance=household,
            household=household,
            form_class=HouseholdEdit,
            service=household_update,
            queryset=self.get_queryset(),
        )
        response = Response(self.household(request, pk, self.disclosure(request)))
        response["ETag"] = f'"{response.data["versi"]}"'
        return response


class MemberList(DisclosureMixin, GenericAPIView):
    """Members in the caller's scope, filtered; cursor-paginated."""

    permission_classes = [IsAuthenticated, HasPortalRole]

    filter_backends = [DjangoFilterBackend, OrderingFilter]
    filterset_class = MemberFilter
    ordering_fields = ["id", "tanggal_lahir", "nama"]
    ordering = ["id"]
    pagination_class = StableCursorPagination

    def get_queryset(self):
        return members_for(self.request.user)

    @extend_schema(summary="Daftar anggota rumah tangga", responses={200: MemberDoc(many=True)})
    def get(self, request, *args, **kwargs):
        disclosure = self.disclosure(request)
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset.values(*member_fields(), "household__region_id"))
        rows = [disclose_member(_member_row(row), disclosure) for row in page]
        self.audit_unmasked(request, disclosure, len(rows))
        return self.get_paginated_response(rows)


class MemberEdit(serializers.ModelSerializer):
    versi = serializers.IntegerField(required=False)

    class Meta:
        model = Member
        fields = ()  # field_names(), as HouseholdEdit

    @staticmethod
    def field_names() -> list[str]:
        return [*sorted(member_editable()), schema.LOCK]

    def get_field_names(self, declared_fields, info):
        return self.field_names()


class MemberDetail(DisclosureMixin, GenericAPIView):
    permission_classes = [IsAuthenticated, HasPortalRole]

    def get_queryset(self):
        return members_for(self.request.user)

    def member(self, request, pk: int, disclosure) -> dict:
        filterset = MemberFilter(
            request.query_params, queryset=self.get_queryset(), request=request
        )
        if not filterset.is_valid():
            raise serializers.ValidationError(filterset.errors)
        queryset = annotate_age(self.get_queryset(), filterset.form.cleaned_data.get("age_at"))
        row = get_object_or_404(queryset.values(*member_fields(), "household__region_id"), pk=pk)
        return disclose_member(_member_row(row), disclosure)

    @extend_schema(
        summary="Rincian anggota",
        responses={200: MemberDoc},
        parameters=[OpenApiParameter("age_at", OpenApiTypes.DATE)],
    )
    def get(self, request, pk: int, *args, **kwargs):
        disclosure = self.disclosure(request)
        member = self.member(request, pk, disclosure)
        self.audit_unmasked(request, disclosure, 1)
        response = Response(member)
        response["ETag"] = f'"{member["versi"]}"'
        return response

    @extend_schema(
        summary="Ubah anggota (operator desa)", request=MemberEdit, responses={200: MemberDoc}
    )
    def patch(self, request, pk: int, *args, **kwargs):
        member = get_object_or_404(self.get_queryset().select_related("household"), pk=pk)
        _edit(
            request,
            instance=member,
            household=member.household,
            form_class=MemberEdit,
            service=member_update,
            queryset=self.get_queryset(),
        )
        return Response(self.member(request, pk, self.disclosure(request)))


TRANSFER = "pindah_kk"


class MemberEventInput(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=sorted([*MEMBER_EVENTS, TRANSFER]),
        help_text="meninggal (kematian), pindah_keluar (pindah keluar) atau pindah_kk "
        "(pindah ke rumah tangga lain di portal, NIK tetap)",
    )
    tanggal = serializers.DateField(
        required=False,
        help_text="Tanggal peristiwa (tidak di masa depan); wajib untuk meninggal dan "
        "pindah_keluar. pindah_kk tidak mencatat tanggal: waktunya tersimpan di riwayat.",
    )
    tujuan_pindah = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=200,
        help_text="Tujuan pindah bila diketahui (hanya pindah_keluar)",
    )
    rumah_tangga_tujuan = serializers.IntegerField(
        required=False,
        help_text="pindah_kk: id rumah tangga tujuan (yang juga dapat Anda ubah)",
    )
    hubungan_keluarga = serializers.IntegerField(
        required=False,
        help_text="pindah_kk: hubungan dengan kepala keluarga di rumah tangga tujuan "
        "(bawaan: tetap). Kepala keluarga tidak dapat dipindahkan sebelum ganti kepala.",
    )
    versi = serializers.IntegerField(
        required=False, help_text="Versi anggota yang dibaca (atau If-Match)"
    )

    def validate(self, attrs):
        kind = attrs["kind"]
        if kind == TRANSFER:
            if "tanggal" in attrs:
                raise serializers.ValidationError(
                    {"tanggal": _("Pindah antar rumah tangga tidak mencatat tanggal.")}
                )
        else:
            if "tanggal" not in attrs:
                raise serializers.ValidationError({"tanggal": _("Wajib diisi.")})
            for name in ("rumah_tangga_tujuan", "hubungan_keluarga"):
                if name in attrs:
                    raise serializers.ValidationError({name: _("Hanya untuk peristiwa pindah_kk.")})
        return attrs


class MemberEvent(DisclosureMixin, GenericAPIView):
    """A life event of one member (issue 13): death or moving out (the member stays on
    record with its status and date and stops counting in the household and indicators),
    or a transfer to another household of the portal (the row moves, NIK and history
    kept; both households must be editable by the caller)."""

    permission_classes = [IsAuthenticated, HasPortalRole]

    def get_queryset(self):
        return members_for(self.request.user)

    @extend_schema(
        summary="Catat peristiwa anggota: meninggal, pindah keluar atau pindah KK (operator desa)",
        request=MemberEventInput,
        responses={
            200: MemberDoc,
            400: OpenApiResponse(description="Kolom yang salah disebut / the field is named"),
            404: OpenApiResponse(description="Di luar wilayah / outside the caller's areas"),
            409: OpenApiResponse(description="Versi usang / stale version (current versi)"),
        },
    )
    def post(self, request, pk: int, *args, **kwargs):
        disclosure = self.disclosure(request)
        member = get_object_or_404(self.get_queryset().select_related("household"), pk=pk)
        if not can_edit_household(request.user, member.household):
            raise PermissionDenied(_("Hanya operator desa ini."))
        expected = _expected_version(request)
        form = MemberEventInput(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        try:
            if data["kind"] == TRANSFER:
                member_transfer_record(
                    queryset=self.get_queryset(),
                    pk=pk,
                    target_queryset=households_editable_by(request.user),
                    target_pk=data.get("rumah_tangga_tujuan"),
                    relationship=data.get("hubungan_keluarga"),
                    expected_version=expected,
                )
            else:
                member_event_record(
                    queryset=self.get_queryset(),
                    pk=pk,
                    kind=data["kind"],
                    date=data["tanggal"],
                    destination=data.get("tujuan_pindah", ""),
                    expected_version=expected,
                )
        except StaleEdit as stale:
            raise Conflict(current={"versi": stale.current_version}) from None
        except DjangoValidationError as exc:
            raise _edit_errors(exc) from None
        row = get_object_or_404(
            annotate_age(self.get_queryset(), None).values(
                *member_fields(), "household__region_id"
            ),
            pk=pk,
        )
        self.audit_unmasked(request, disclosure, 1)
        response = Response(disclose_member(_member_row(row), disclosure))
        response["ETag"] = f'"{response.data["versi"]}"'
        return response


HOUSEHOLD_EVENTS = ("ganti_kepala", "lahir")


class HouseholdEventInput(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=HOUSEHOLD_EVENTS,
        help_text="lahir (kelahiran: anggota baru) atau ganti_kepala (ganti kepala keluarga)",
    )
    versi = serializers.IntegerField(
        required=False, help_text="Versi rumah tangga yang dibaca (atau If-Match)"
    )
    # lahir
    tanggal = serializers.DateField(
        required=False,
        help_text="lahir: tanggal lahir (tidak di masa depan, tidak sebelum tanggal survei)",
    )
    nama = serializers.CharField(required=False, allow_blank=True, max_length=120)
    jenis_kelamin = serializers.IntegerField(required=False, help_text="lahir: 1 L, 2 P")
    hubungan_keluarga = serializers.IntegerField(
        required=False,
        help_text=f"lahir: hubungan dengan kepala keluarga (bawaan {CHILD}, anak; atau 6, 9, 11)",
    )
    nik = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=16,
        help_text="lahir: NIK bila sudah terbit; tanpa NIK anak mendapat NIK sementara "
        "(16 digit berawalan 0)",
    )
    disabilitas = serializers.BooleanField(required=False)
    # ganti_kepala
    anggota = serializers.IntegerField(
        required=False, help_text="ganti_kepala: id anggota saat ini yang menjadi kepala"
    )
    hubungan_kepala_lama = serializers.IntegerField(
        required=False,
        help_text="ganti_kepala: kode hubungan kepala lama (bawaan: dari kode kepala baru; "
        "pasangan -> suami/istri, anak -> orang tua, menantu -> mertua, orang tua -> anak, "
        "mertua -> menantu, lainnya -> famili lain)",
    )

    FIELDS = {
        "lahir": {"tanggal", "nama", "jenis_kelamin", "hubungan_keluarga", "nik", "disabilitas"},
        "ganti_kepala": {"anggota", "hubungan_kepala_lama"},
    }

    def validate(self, attrs):
        allowed = self.FIELDS[attrs["kind"]] | {"kind", "versi"}
        wrong = sorted(set(attrs) - allowed)
        if wrong:
            message = _("Tidak dipakai oleh peristiwa %(kind)s.") % {"kind": attrs["kind"]}
            raise serializers.ValidationError(dict.fromkeys(wrong, message))
        return attrs


class HouseholdEvent(DisclosureMixin, GenericAPIView):
    """A life event of one household (issue 13): a birth (a new current member) or a
    change of head. The household's `versi` is the lock and rises with the event."""

    permission_classes = [IsAuthenticated, HasPortalRole]

    def get_queryset(self):
        return households_for(self.request.user)

    @extend_schema(
        summary="Catat peristiwa rumah tangga: lahir atau ganti kepala keluarga (operator desa)",
        request=HouseholdEventInput,
        responses={
            200: HouseholdDetailDoc,
            400: OpenApiResponse(description="Kolom yang salah disebut / the field is named"),
            404: OpenApiResponse(description="Di luar wilayah / outside the caller's areas"),
            409: OpenApiResponse(description="Versi usang / stale version (current versi)"),
        },
    )
    def post(self, request, pk: int, *args, **kwargs):
        household = get_object_or_404(self.get_queryset(), pk=pk)
        if not can_edit_household(request.user, household):
            raise PermissionDenied(_("Hanya operator desa ini."))
        expected = _expected_version(request)
        form = HouseholdEventInput(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        try:
            if data["kind"] == "lahir":
                member_birth_record(
                    household_queryset=self.get_queryset(),
                    household_pk=pk,
                    expected_version=expected,
                    name=data.get("nama", ""),
                    sex=data.get("jenis_kelamin"),
                    date=data.get("tanggal"),
                    relationship=data.get("hubungan_keluarga"),
                    nik=data.get("nik", ""),
                    disability=data.get("disabilitas", False),
                )
            else:
                head_change_record(
                    household_queryset=self.get_queryset(),
                    household_pk=pk,
                    expected_version=expected,
                    new_head_pk=data.get("anggota"),
                    former_head_relationship_code=data.get("hubungan_kepala_lama"),
                )
        except StaleEdit as stale:
            raise Conflict(current={"versi": stale.current_version}) from None
        except DjangoValidationError as exc:
            raise _edit_errors(exc) from None
        detail = HouseholdDetail(request=request, kwargs={"pk": pk}, format_kwarg=None)
        disclosure = self.disclosure(request)
        body = detail.household(request, pk, disclosure)
        self.audit_unmasked(request, disclosure, 1 + len(body["members"]))
        response = Response(body)
        response["ETag"] = f'"{body["versi"]}"'
        return response
