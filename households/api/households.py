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
from rest_framework.reverse import reverse

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
from ..models import EventKind, Household, Member
from ..selectors import (
    LIFE_EVENT_VALUES,
    can_edit_household,
    households_editable_by,
    households_for,
    life_event_rows,
    life_events_for,
    members_for,
)
from ..services import (
    CHILD,
    MEMBER_EVENTS,
    StaleEdit,
    head_change_record,
    household_editable,
    household_kk_replace,
    household_split_record,
    household_update,
    member_birth_record,
    member_editable,
    member_event_record,
    member_move_in_record,
    member_nik_replace,
    member_transfer_record,
    member_update,
)


def household_fields() -> list[str]:
    """`.values()` of a household in the API (households.schema: the catalogue)."""
    return schema.api_values(schema.HOUSEHOLD)


def member_fields() -> list[str]:
    return schema.api_values(schema.MEMBER)


# The longest NIK or No. KK text read (a mangled "6409010903850001.0" included).
IDENTITY_INPUT_MAX = 40


class HouseholdDoc(serializers.ModelSerializer):
    region = serializers.CharField(help_text="Kode desa/kelurahan")
    lokasi = serializers.ListField(child=serializers.FloatField(), help_text="[lon, lat]")

    class Meta:
        model = Household
        # survey_round: bookkeeping of the rounds, not in the rows (households.schema)
        exclude = ["dibuat", "diubah", "survey_round"]
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

    def audit_disclosed(self, request, disclosure, rows: int) -> None:
        """Every answer with named records is in the audit log: unmasked NIK/KK as such,
        names (masked numbers) as a view, so the data protection officer's report
        (`manage.py audit_report`) says who saw which records. Nothing named, no entry."""
        if disclosure.unmasked:
            audit.record(action=AuditAction.UNMASK, request=request, rows=rows)
        elif disclosure.names and rows:
            audit.record(action=AuditAction.VIEW, request=request, rows=rows)


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
        self.audit_disclosed(request, disclosure, len(rows))
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
        self.audit_disclosed(request, disclosure, 1 + len(household["members"]))
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
        self.audit_disclosed(request, disclosure, len(rows))
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
        self.audit_disclosed(request, disclosure, 1)
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
NIK_REPLACEMENT = "ganti_nik"


class MemberEventInput(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=sorted([*MEMBER_EVENTS, TRANSFER, NIK_REPLACEMENT]),
        help_text="meninggal (kematian), pindah_keluar (pindah keluar), pindah_kk (pindah ke "
        "rumah tangga lain di portal, NIK tetap) atau ganti_nik (NIK sementara diganti NIK "
        "terbitan Dukcapil)",
    )
    tanggal = serializers.DateField(
        required=False,
        help_text="Tanggal peristiwa (tidak di masa depan); wajib untuk meninggal dan "
        "pindah_keluar; pindah_kk: bawaan hari ini.",
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
    nik = serializers.CharField(
        required=False,
        allow_blank=True,
        # Longer text is read so that the shared rules (households.rules) name what is
        # wrong with it, as the form and the import do; the bound keeps input small.
        max_length=IDENTITY_INPUT_MAX,
        help_text="ganti_nik: NIK terbitan (16 digit); hanya NIK sementara (berawalan 0) "
        "yang diganti",
    )
    versi = serializers.IntegerField(
        required=False, help_text="Versi anggota yang dibaca (atau If-Match)"
    )

    FIELDS = {
        "meninggal": {"tanggal"},
        "pindah_keluar": {"tanggal", "tujuan_pindah"},
        TRANSFER: {"tanggal", "rumah_tangga_tujuan", "hubungan_keluarga"},
        NIK_REPLACEMENT: {"nik"},
    }

    def validate(self, attrs):
        kind = attrs["kind"]
        wrong = sorted(set(attrs) - self.FIELDS[kind] - {"kind", "versi"})
        if wrong:
            message = _("Tidak dipakai oleh peristiwa %(kind)s.") % {"kind": kind}
            raise serializers.ValidationError(dict.fromkeys(wrong, message))
        if kind in MEMBER_EVENTS and "tanggal" not in attrs:
            raise serializers.ValidationError({"tanggal": _("Wajib diisi.")})
        return attrs


_EVENT_RESPONSES = {
    400: OpenApiResponse(description="Kolom yang salah disebut / the field is named"),
    404: OpenApiResponse(description="Di luar wilayah / outside the caller's areas"),
    409: OpenApiResponse(description="Versi usang / stale version (current versi)"),
}


class MemberEvent(DisclosureMixin, GenericAPIView):
    """A life event of one member (issue 13): death or moving out (the member stays on
    record with its status and date and stops counting in the household and indicators),
    a transfer to another household of the portal (the row moves, NIK and history kept;
    both households must be editable by the caller), or the replacement of a temporary
    NIK by the issued one. Each event (not the NIK replacement, which the history keeps)
    is a row of the register, GET /api/v1/events/."""

    permission_classes = [IsAuthenticated, HasPortalRole]

    def get_queryset(self):
        return members_for(self.request.user)

    @extend_schema(
        summary="Catat peristiwa anggota: meninggal, pindah keluar, pindah KK atau ganti NIK "
        "sementara (operator desa)",
        request=MemberEventInput,
        responses={200: MemberDoc, **_EVENT_RESPONSES},
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
                    date=data.get("tanggal"),
                    expected_version=expected,
                )
            elif data["kind"] == NIK_REPLACEMENT:
                member_nik_replace(
                    queryset=self.get_queryset(),
                    pk=pk,
                    expected_version=expected,
                    nik=data.get("nik", ""),
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
        self.audit_disclosed(request, disclosure, 1)
        response = Response(disclose_member(_member_row(row), disclosure))
        response["ETag"] = f'"{response.data["versi"]}"'
        return response


HOUSEHOLD_EVENTS = ("ganti_kepala", "ganti_kk", "lahir", "pecah_kk", "pindah_masuk")
SPLIT = "pecah_kk"


class SplitMemberInput(serializers.Serializer):
    id = serializers.IntegerField(help_text="Id anggota saat ini yang ikut pindah")
    hubungan_keluarga = serializers.IntegerField(
        required=False,
        help_text="Hubungan dengan kepala keluarga KK baru (bawaan: tetap; kepala baru: 1)",
    )


class HouseholdEventInput(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=HOUSEHOLD_EVENTS,
        help_text="lahir (kelahiran: anggota baru), ganti_kepala (ganti kepala keluarga), "
        "pindah_masuk (orang dari luar, atau dari desa lain yang mencatatnya pindah keluar: "
        "NIK dan riwayat tetap), pecah_kk (anggota membentuk rumah tangga baru) atau "
        "ganti_kk (No. KK sementara diganti No. KK terbitan)",
    )
    versi = serializers.IntegerField(
        required=False, help_text="Versi rumah tangga yang dibaca (atau If-Match)"
    )
    tanggal = serializers.DateField(
        required=False,
        help_text="Tanggal peristiwa, tidak di masa depan. lahir: tanggal lahir (tidak "
        "sebelum tanggal survei); pindah_masuk, pecah_kk: wajib (tidak sebelum tanggal "
        "survei); ganti_kepala: bawaan hari ini",
    )
    # lahir, pindah_masuk
    nama = serializers.CharField(required=False, allow_blank=True, max_length=120)
    jenis_kelamin = serializers.IntegerField(required=False, help_text="1 L, 2 P")
    hubungan_keluarga = serializers.IntegerField(
        required=False,
        help_text=f"lahir: hubungan dengan kepala keluarga (bawaan {CHILD}, anak; atau 6, 9, "
        "11); pindah_masuk: wajib, bukan 1 (kepala)",
    )
    nik = serializers.CharField(
        required=False,
        allow_blank=True,
        # Longer text is read so that the shared rules (households.rules) name what is
        # wrong with it, as the form and the import do; the bound keeps input small.
        max_length=IDENTITY_INPUT_MAX,
        help_text="lahir: NIK bila sudah terbit; tanpa NIK anak mendapat NIK sementara "
        "(16 digit berawalan 0). pindah_masuk: wajib, NIK terbitan",
    )
    disabilitas = serializers.BooleanField(required=False)
    tanggal_lahir = serializers.DateField(required=False, help_text="pindah_masuk: wajib")
    asal_pindah = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=200,
        help_text="pindah_masuk: asal bila diketahui (teks)",
    )
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
    # pecah_kk
    anggota_pecah = SplitMemberInput(
        many=True, required=False, help_text="pecah_kk: anggota yang membentuk KK baru"
    )
    kepala_baru = serializers.IntegerField(
        required=False,
        help_text="pecah_kk: id anggota (di antara anggota_pecah) yang menjadi kepala",
    )
    no_kk = serializers.CharField(
        required=False,
        allow_blank=True,
        # Longer text is read so that the shared rules (households.rules) name what is
        # wrong with it, as the form and the import do; the bound keeps input small.
        max_length=IDENTITY_INPUT_MAX,
        help_text="pecah_kk: No. KK baru (kosong: No. KK sementara berawalan 0); "
        "ganti_kk: No. KK terbitan yang menggantikan No. KK sementara",
    )
    dusun = serializers.CharField(
        required=False, allow_blank=True, max_length=60, help_text="pecah_kk (bawaan: disalin)"
    )
    rw = serializers.CharField(required=False, allow_blank=True, max_length=3)
    rt = serializers.CharField(required=False, allow_blank=True, max_length=3)
    alamat = serializers.CharField(required=False, allow_blank=True, max_length=200)
    lokasi = serializers.ListField(
        child=serializers.FloatField(),
        min_length=2,
        max_length=2,
        required=False,
        help_text="pecah_kk: [bujur, lintang] (bawaan: titik rumah tangga asal)",
    )

    FIELDS = {
        "lahir": {"tanggal", "nama", "jenis_kelamin", "hubungan_keluarga", "nik", "disabilitas"},
        "ganti_kepala": {"anggota", "hubungan_kepala_lama", "tanggal"},
        "pindah_masuk": {
            "tanggal", "nik", "nama", "jenis_kelamin", "tanggal_lahir", "hubungan_keluarga",
            "asal_pindah",
        },
        SPLIT: {
            "tanggal", "anggota_pecah", "kepala_baru", "no_kk", "dusun", "rw", "rt", "alamat",
            "lokasi",
        },
        "ganti_kk": {"no_kk"},
    }  # fmt: skip

    def validate(self, attrs):
        allowed = self.FIELDS[attrs["kind"]] | {"kind", "versi"}
        wrong = sorted(set(attrs) - allowed)
        if wrong:
            message = _("Tidak dipakai oleh peristiwa %(kind)s.") % {"kind": attrs["kind"]}
            raise serializers.ValidationError(dict.fromkeys(wrong, message))
        return attrs


class HouseholdEvent(DisclosureMixin, GenericAPIView):
    """A life event of one household (issue 13): a birth (a new current member), a change
    of head, a move in (a new member, or a member who moved out elsewhere taken over with
    NIK and history), a split (members form a new household: answered with it, 201), or
    the replacement of a temporary No. KK. The household's `versi` is the lock and rises
    with the event. Each event (not the No. KK replacement) is a row of the register."""

    permission_classes = [IsAuthenticated, HasPortalRole]

    def get_queryset(self):
        return households_for(self.request.user)

    @extend_schema(
        summary="Catat peristiwa rumah tangga: lahir, ganti kepala keluarga, pindah masuk, "
        "pecah KK atau ganti No. KK sementara (operator desa)",
        request=HouseholdEventInput,
        responses={
            200: HouseholdDetailDoc,
            201: OpenApiResponse(
                HouseholdDetailDoc, description="pecah_kk: rumah tangga baru / the new household"
            ),
            **_EVENT_RESPONSES,
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
            answered = self.record(data, pk=pk, expected=expected)
        except StaleEdit as stale:
            raise Conflict(current={"versi": stale.current_version}) from None
        except DjangoValidationError as exc:
            raise _edit_errors(exc) from None
        detail = HouseholdDetail(request=request, kwargs={"pk": answered}, format_kwarg=None)
        disclosure = self.disclosure(request)
        body = detail.household(request, answered, disclosure)
        self.audit_disclosed(request, disclosure, 1 + len(body["members"]))
        created = data["kind"] == SPLIT
        response = Response(body, status=201 if created else 200)
        response["ETag"] = f'"{body["versi"]}"'
        if created:
            response["Location"] = reverse(
                "api:household-detail", kwargs={"version": "v1", "pk": answered}
            )
        return response

    def record(self, data: dict, *, pk: int, expected: int) -> int:
        """Calls the kind's service; returns the household the answer shows."""
        common = {
            "household_queryset": self.get_queryset(),
            "household_pk": pk,
            "expected_version": expected,
        }
        kind = data["kind"]
        if kind == "lahir":
            member_birth_record(
                **common,
                name=data.get("nama", ""),
                sex=data.get("jenis_kelamin"),
                date=data.get("tanggal"),
                relationship=data.get("hubungan_keluarga"),
                nik=data.get("nik", ""),
                disability=data.get("disabilitas", False),
            )
        elif kind == "ganti_kepala":
            head_change_record(
                **common,
                new_head_pk=data.get("anggota"),
                former_head_relationship_code=data.get("hubungan_kepala_lama"),
                date=data.get("tanggal"),
            )
        elif kind == "pindah_masuk":
            member_move_in_record(
                **common,
                nik=data.get("nik", ""),
                name=data.get("nama", ""),
                sex=data.get("jenis_kelamin"),
                birth_date=data.get("tanggal_lahir"),
                relationship=data.get("hubungan_keluarga"),
                date=data.get("tanggal"),
                origin=data.get("asal_pindah", ""),
            )
        elif kind == SPLIT:
            moving = data.get("anggota_pecah", [])
            result = household_split_record(
                **common,
                member_pks=[item["id"] for item in moving],
                head_pk=data.get("kepala_baru"),
                relationships={
                    item["id"]: item["hubungan_keluarga"]
                    for item in moving
                    if "hubungan_keluarga" in item
                },
                date=data.get("tanggal"),
                no_kk=data.get("no_kk", ""),
                dusun=data.get("dusun"),
                rw=data.get("rw"),
                rt=data.get("rt"),
                alamat=data.get("alamat"),
                location=data.get("lokasi"),
            )
            return result.new_household.pk
        else:
            household_kk_replace(**common, no_kk=data.get("no_kk", ""))
        return pk


class EventQuery(serializers.Serializer):
    region = serializers.CharField(
        required=False, help_text="Kode wilayah; seluruh subpohon (64.09.01 = kecamatan)."
    )
    kind = serializers.CharField(
        required=False,
        help_text="Jenis peristiwa, dipisah koma: " + ", ".join(EventKind.values),
    )
    household = serializers.IntegerField(
        required=False, help_text="Id rumah tangga (tempat peristiwa atau rumah tangga lainnya)"
    )
    bulan = serializers.CharField(required=False, help_text="YYYY-MM")
    tanggal_dari = serializers.DateField(
        required=False, help_text="Sejak tanggal ini (peran yang melihat nama)"
    )
    tanggal_sampai = serializers.DateField(
        required=False, help_text="Sampai tanggal ini (peran yang melihat nama)"
    )
    unmask = serializers.BooleanField(
        required=False, help_text="NIK utuh (peran yang berhak; dicatat di log audit)"
    )


class EventDoc(serializers.Serializer):
    """A row of the register of life events as the caller may see it."""

    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=EventKind.choices)
    tanggal = serializers.DateField(
        allow_null=True, help_text="null untuk peran tanpa nama (lihat bulan)"
    )
    bulan = serializers.CharField(help_text="YYYY-MM")
    member = serializers.IntegerField(
        allow_null=True, help_text="Id anggota bila kini di wilayah Anda"
    )
    nik = serializers.CharField(allow_null=True, help_text="Tersamar kecuali unmask")
    nama = serializers.CharField(allow_null=True, allow_blank=True)
    jenis_kelamin = serializers.IntegerField(allow_null=True)
    household = serializers.IntegerField(
        allow_null=True, help_text="Rumah tangga tempat peristiwa (null: di luar wilayah Anda)"
    )
    region = serializers.CharField(allow_null=True)
    dusun = serializers.CharField(allow_null=True, allow_blank=True)
    rw = serializers.CharField(allow_null=True, allow_blank=True)
    rt = serializers.CharField(allow_null=True, allow_blank=True)
    other_household = serializers.IntegerField(
        allow_null=True,
        help_text="Pindah KK: tujuan; pecah KK: rumah tangga baru (null: tidak ada atau di "
        "luar wilayah Anda)",
    )
    other_region = serializers.CharField(allow_null=True)
    other_dusun = serializers.CharField(allow_null=True, allow_blank=True)
    other_rw = serializers.CharField(allow_null=True, allow_blank=True)
    other_rt = serializers.CharField(allow_null=True, allow_blank=True)
    asal_tujuan = serializers.CharField(
        allow_null=True,
        allow_blank=True,
        help_text="Tujuan (pindah keluar) atau asal (pindah masuk)",
    )
    actor = serializers.CharField(help_text="Nama pengguna yang mencatat")
    dicatat = serializers.DateTimeField()


class NewestFirst(StableCursorPagination):
    ordering = "-id"


class EventList(DisclosureMixin, GenericAPIView):
    """The register of life events the caller may see (an event with a side in the
    caller's areas), newest first; cursor-paginated. A side outside the caller's areas
    is empty; names and NIK per the disclosure policy."""

    permission_classes = [IsAuthenticated, HasPortalRole]
    pagination_class = NewestFirst

    def get_queryset(self):
        return life_events_for(self.request.user)

    @extend_schema(
        summary="Daftar peristiwa kependudukan",
        parameters=[EventQuery],
        responses={200: EventDoc(many=True)},
    )
    def get(self, request, *args, **kwargs):
        query = EventQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        disclosure = self.disclosure(request)
        kinds = [part.strip() for part in params.get("kind", "").split(",") if part.strip()]
        queryset = life_events_for(
            request.user,
            region=params.get("region"),
            kinds=kinds,
            month=params.get("bulan"),
            date_from=params.get("tanggal_dari"),
            date_to=params.get("tanggal_sampai"),
            household=params.get("household"),
        )
        page = self.paginate_queryset(queryset.values(*LIFE_EVENT_VALUES))
        rows = life_event_rows(page, disclosure)
        self.audit_disclosed(request, disclosure, len(rows))
        return self.get_paginated_response(rows)
