from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from leaflet.admin import LeafletGeoAdmin

from desapresisi import audit
from desapresisi.errors import InvalidInput, NotReady
from desapresisi.masking import mask_number
from desapresisi.models import AuditAction
from villages.models import Region

from . import schema
from .indicators.rollup import indicators_refresh
from .models import (
    Household,
    HouseholdObservation,
    Indicator,
    Member,
    RoundStatus,
    SurveyRound,
)
from .rounds import open_round, round_close, round_open
from .selectors import households_for, members_for
from .services import village_write_problem


class RefreshIndicatorsMixin:
    """After an edit commits, bring the rollup up to date: the database triggers have
    already marked the touched villages stale, so the refresh recomputes only those."""

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        transaction.on_commit(indicators_refresh)

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        transaction.on_commit(indicators_refresh)

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        transaction.on_commit(indicators_refresh)


class ScopedAdminMixin:
    """The admin passes through the same access scope as every other path, masks identity
    numbers in lists and records each opened household or member in the audit log."""

    scope = staticmethod(households_for)

    def get_queryset(self, request):
        return self.scope(request.user, super().get_queryset(request))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        if request.method == "GET" and getattr(response, "status_code", 200) == 200:
            audit.record(
                action=AuditAction.VIEW,
                request=request,
                rows=1,
                detail=f"admin {self.model._meta.model_name} {object_id}",
            )
        return response


class VillageLockMixin:
    """Admin saves and deletes pass the same lock as the write services
    (`village_write_check`: a village whose data for the open round was approved changes
    only once a verifier reopens it). A save is refused by the form, naming the village
    and round, for the village the record is in and the one it moves to; a delete is
    shown as protected with the same message. `villages_of(record)` names a saved record's village,
    `villages_of_cleaned(cleaned_data)` the one the form would put it in."""

    def villages_of(self, obj) -> set[str]:
        raise NotImplementedError

    def villages_of_cleaned(self, cleaned_data) -> set[str]:
        raise NotImplementedError

    def lock_problem(self, codes) -> str | None:
        for code in sorted(code for code in codes if code):
            problem = village_write_problem(region_code=code)
            if problem is not None:
                return str(problem)
        return None

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        model_admin = self

        class LockedForm(form):
            def clean(self):
                cleaned_data = super().clean()
                # Before _post_clean: self.instance still holds the saved values.
                codes = model_admin.villages_of_cleaned(cleaned_data)
                if self.instance.pk is not None:
                    codes |= model_admin.villages_of(self.instance)
                problem = model_admin.lock_problem(codes)
                if problem:
                    raise ValidationError(problem)
                return cleaned_data

        LockedForm.__name__ = form.__name__
        return LockedForm

    def get_deleted_objects(self, objs, request):
        """A record of a locked village is shown as protected on the delete confirmation
        (one and bulk alike), which then deletes nothing."""
        deleted, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        codes = set()
        for obj in objs:
            codes |= self.villages_of(obj)
        problem = self.lock_problem(codes)
        if problem:
            protected = [*protected, problem]
        return deleted, model_count, perms_needed, protected


class VillageWithHouseholdsFilter(admin.SimpleListFilter):
    """Only villages that have households: the full code list has 83,762 villages."""

    title = _("desa/kelurahan")
    parameter_name = "region"

    def lookups(self, request, model_admin):
        codes = Household.objects.order_by().values_list("region_id", flat=True).distinct()
        return [
            (region.code, f"{region.name} ({region.code})")
            for region in Region.objects.filter(code__in=codes).only("code", "name")
        ]

    def queryset(self, request, queryset):
        return queryset.filter(region_id=self.value()) if self.value() else queryset


class MemberInline(admin.TabularInline):
    model = Member
    extra = 0

    def get_fields(self, request, obj=None):
        # The member's importable fields but its household (the inline's parent).
        return [n for n in schema.names(schema.MEMBER, importable=True) if n != "household"]


@admin.register(Household)
class HouseholdAdmin(ScopedAdminMixin, VillageLockMixin, RefreshIndicatorsMixin, LeafletGeoAdmin):
    list_display = [
        "kk_masked",
        "region",
        "dusun",
        "rt",
        "jumlah_anggota",
        "tangga_sanitasi",
        "air_minum_layak",
        "jumlah_ats",
        "desil_kesejahteraan",
        "sumber_data",
    ]
    list_filter = [
        VillageWithHouseholdsFilter,
        "sumber_data",
        "tangga_sanitasi",
        "fasilitas_bab",
        "air_minum_layak",
        "sumber_air_minum",
        "rumah_tidak_layak_huni",
        "desil_kesejahteraan",
        "penerima_pkh",
    ]
    search_fields = ["no_kk", "=members__nik", "members__nama"]
    list_select_related = ["region"]
    autocomplete_fields = ["region"]
    inlines = [MemberInline]
    show_full_result_count = False

    def villages_of(self, obj) -> set[str]:
        return {obj.region_id}

    def villages_of_cleaned(self, cleaned_data) -> set[str]:
        # The members inline is saved with its household: this form guards both.
        region = cleaned_data.get("region")
        return {region.code} if region else set()

    def get_readonly_fields(self, request, obj=None):
        """What the database keeps (derived values) and the timestamps Django sets."""
        return [*schema.derived(schema.HOUSEHOLD), *schema.stamps(schema.HOUSEHOLD)]

    @admin.display(description=_("No. KK"), ordering="no_kk")
    def kk_masked(self, household: Household) -> str:
        return mask_number(household.no_kk)

    fieldsets = [
        (None, {"fields": ["no_kk", "region", "dusun", "rw", "rt", "alamat", "lokasi"]}),
        (_("Survei"), {"fields": ["tanggal_survei", "sumber_data"]}),
        (
            _("Sanitasi dan air minum"),
            {
                "fields": [
                    "fasilitas_bab",
                    "jenis_kloset",
                    "pembuangan_tinja",
                    "tangki_septik_disedot",
                    "sumber_air_minum",
                    "jarak_sumber_air_tinja",
                    "sumber_air_mandi",
                ]
            },
        ),
        (
            _("Rumah"),
            {
                "fields": [
                    "kepemilikan_rumah",
                    "lantai",
                    "dinding",
                    "atap",
                    "penerangan",
                    "bahan_bakar_memasak",
                ]
            },
        ),
        (
            _("Kesejahteraan dan bantuan sosial"),
            {
                "fields": [
                    "desil_kesejahteraan",
                    "desil_sumber",
                    "desil_tahun",
                    "penerima_pkh",
                    "penerima_bpnt",
                    "penerima_blt_dd",
                    "penerima_pbi_jk",
                ]
            },
        ),
    ]

    def get_fieldsets(self, request, obj=None):
        """The sections above, then any other field of the catalogue an operator enters (a
        new question), then the values the database keeps."""
        placed = {name for _title, options in self.fieldsets for name in options["fields"]}
        others = [n for n in schema.names(schema.HOUSEHOLD, importable=True) if n not in placed]
        return [
            *self.fieldsets,
            *([(None, {"fields": others})] if others else []),
            (
                _("Turunan (dihitung oleh basis data)"),
                {"fields": self.get_readonly_fields(request, obj)},
            ),
        ]


@admin.register(Member)
class MemberAdmin(ScopedAdminMixin, VillageLockMixin, RefreshIndicatorsMixin, admin.ModelAdmin):
    scope = staticmethod(members_for)

    def villages_of(self, obj) -> set[str]:
        return {obj.household.region_id}

    def villages_of_cleaned(self, cleaned_data) -> set[str]:
        # A member moved to a household of another village touches both.
        household = cleaned_data.get("household")
        return {household.region_id} if household else set()

    list_display = [
        "nama",
        "nik_masked",
        "jenis_kelamin",
        "tanggal_lahir",
        "hubungan_keluarga",
        "partisipasi_sekolah",
        "household",
    ]
    list_filter = ["jenis_kelamin", "hubungan_keluarga", "partisipasi_sekolah", "disabilitas"]
    search_fields = ["=nik", "nama", "=household__no_kk"]
    list_select_related = ["household"]
    raw_id_fields = ["household"]
    show_full_result_count = False

    @admin.display(description=_("NIK"), ordering="nik")
    def nik_masked(self, member: Member) -> str:
        return mask_number(member.nik)


@admin.register(Indicator)
class IndicatorAdmin(admin.ModelAdmin):
    list_display = [
        "code", "name_id", "topic", "unit", "factor", "higher_is_better", "map_criterion",
        "active",
    ]  # fmt: skip
    list_filter = ["topic", "map_criterion", "active"]
    search_fields = ["code", "name_id", "name_en"]

    def save_model(self, request, obj, form, change):
        obj.full_clean()
        super().save_model(request, obj, form, change)
        # A changed definition changes every value: recompute all of them.
        transaction.on_commit(lambda: indicators_refresh(full=True))


class SurveyRoundForm(forms.ModelForm):
    """Opening a round: the same checks as `round_open`, shown on the form."""

    class Meta:
        model = SurveyRound
        fields = [
            "code",
            "name",
            "source",
            "reference_date",
            "fieldwork_start",
            "fieldwork_end",
            "decile_source",
            "decile_vintage",
        ]

    def clean(self):
        cleaned_data = super().clean()
        current = open_round() if self.instance.pk is None else None
        if current is not None:
            raise ValidationError(
                _("Putaran %(code)s masih terbuka: tutup dulu sebelum membuka putaran baru."),
                params={"code": current.code},
            )
        return cleaned_data


@admin.register(SurveyRound)
class SurveyRoundAdmin(admin.ModelAdmin):
    """Survey rounds for the kabupaten administrator: open a new one (the add form), close
    the open one (the action, after a confirmation that says what closing does). A round
    is never edited or deleted here: its code and dates are what its frozen figures and
    panel are filed under."""

    form = SurveyRoundForm
    list_display = [
        "code",
        "name",
        "source",
        "reference_date",
        "fieldwork_start",
        "fieldwork_end",
        "status",
        "observations",
        "opened_at",
        "closed_at",
        "closed_by",
    ]
    list_filter = ["status", "source"]
    ordering = ["-reference_date", "code"]
    actions = ["close_round"]

    def get_queryset(self, request):
        observed = (
            HouseholdObservation.objects.filter(survey_round=OuterRef("pk"))
            .order_by()
            .values("survey_round")
            .annotate(count=Count("*"))
            .values("count")
        )
        return super().get_queryset(request).annotate(observed=Coalesce(Subquery(observed), 0))

    @admin.display(description=_("rumah tangga teramati"), ordering="observed")
    def observations(self, obj) -> int:
        return obj.observed

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return [*SurveyRoundForm.Meta.fields, "status", "opened_at", "closed_at", "closed_by"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change):
        if change:
            return  # every field is read-only once open
        data = {name: form.cleaned_data.get(name) for name in SurveyRoundForm.Meta.fields}
        data = {
            key: ("" if value is None and key.startswith("decile") else value)
            for key, value in data.items()
        }
        try:
            opened = round_open(**data)
        except (InvalidInput, NotReady) as error:
            # A round opened by someone else between the form's check and now.
            raise PermissionDenied(str(getattr(error, "message", error))) from error
        obj.pk = opened.pk
        obj.refresh_from_db()

    @admin.action(description=_("Tutup putaran terpilih (membekukan angka, menulis panel)"))
    def close_round(self, request, queryset):
        rounds = list(queryset.filter(status=RoundStatus.OPEN))
        if len(rounds) != 1 or queryset.count() != 1:
            self.message_user(
                request,
                _("Pilih tepat satu putaran yang terbuka untuk ditutup."),
                messages.ERROR,
            )
            return None
        survey_round = rounds[0]
        if request.POST.get("confirm") != survey_round.code:
            return TemplateResponse(
                request,
                "admin/households/surveyround/close_confirm.html",
                {
                    **self.admin_site.each_context(request),
                    "title": _("Tutup putaran %(code)s?") % {"code": survey_round.code},
                    "survey_round": survey_round,
                    "households": Household.objects.count(),
                    "opts": self.model._meta,
                    "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
                },
            )
        try:
            observed = round_close(survey_round=survey_round, user=request.user)
        except NotReady as error:
            self.message_user(request, error.message, messages.ERROR)
            return None
        self.message_user(
            request,
            _("Putaran %(code)s ditutup: %(count)s rumah tangga teramati, angkanya dibekukan.")
            % {"code": survey_round.code, "count": f"{observed:,}".replace(",", ".")},
            messages.SUCCESS,
        )
        return None
