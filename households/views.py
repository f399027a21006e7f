"""Pages of the portal: the map dashboard (home), the village page and the household page.

Thin views: they ask `households.selectors` for the little the page carries itself and
hand the browser the API addresses it reads the rest from (values, boundaries, tiles).
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from desapresisi import audit
from desapresisi.access import (
    can_export_named,
    can_manage_units,
    can_unmask,
    can_use_imports,
    can_view_household_points,
    can_view_indicator_values,
    can_view_names,
    disclosure_for,
    suppression_for,
)
from desapresisi.errors import InvalidInput
from desapresisi.models import AuditAction
from villages import forms as unit_forms
from villages.models import Kind, VillageUnit
from villages.services import unit_create, unit_delete, unit_update

from . import forms
from .exports.population import column_groups as population_columns
from .exports.population import (
    dusun_label,
    month_label,
    population_report_pdf,
    population_report_xlsx,
    report_notes,
    unknown_sex_note,
)
from .filters import unit_in_areas
from .indicators.rollup import indicators_refresh_task
from .indicators.trends import trend_periods
from .models import SanitationLevel, Topic
from .population import (
    MonthNotReportable,
    population_report,
    report_month,
    village_holds_synthetic,
)
from .selectors import (
    can_edit_household,
    counting_indicator_codes,
    editable_household_by_kk,
    editable_village_for,
    home_area_for,
    household_editors_since,
    household_page_data,
    households_editable_by,
    households_for,
    indicator_catalogue,
    kabupaten_overview,
    latest_period,
    map_criteria_catalogue,
    members_for,
    named_household_visible,
    named_village_for,
    village_breakdown,
    village_overview,
    village_units_for,
)
from .services import (
    StaleEdit,
    head_change_record,
    household_create,
    household_split_record,
    household_update,
    member_birth_record,
    member_create,
    member_event_record,
    member_move_in_record,
    member_removal_problem,
    member_remove,
    member_transfer_in_record,
    member_transfer_record,
    member_update,
)
from .trends import (
    CHANGED,
    LIST_ORDER,
    STATUSES,
    household_changes_for,
    village_trend_table,
)

DEFAULT_INDICATOR = "tanpa_jamban"
# The village change list: households per page, and its two filters besides one status.
CHANGE_PAGE_SIZE = 100
CHANGED_FILTER, ALL_FILTER = "berubah", "semua"
# Charts of the home page: the sanitation ladder (worst rung first) and out-of-school
# children per age band.
LADDER = [
    "babs", "sanitasi_belum_layak", "sanitasi_layak_bersama", "sanitasi_layak_sendiri",
    "sanitasi_aman",
]  # fmt: skip
OUT_OF_SCHOOL = ["ats_7_12", "ats_13_15", "ats_16_18"]

# Text the scripts show, translated here like any template text.
UI_STRINGS = {
    "value": _("Nilai"),
    "numerator": _("Pembilang"),
    "denominator": _("Penyebut"),
    "rank": _("Peringkat"),
    "village": _("Desa/kelurahan"),
    "kecamatan": _("Kecamatan"),
    "kabupaten": _("Kabupaten"),
    "suppressed": _("Data disembunyikan"),
    "suppressed_hint": _("Disembunyikan untuk melindungi privasi (sel kecil)."),
    "no_data": _("Tidak ada data"),
    "loading": _("Memuat..."),
    "load_failed": _("Data gagal dimuat. Coba muat ulang halaman."),
    "login_for_values": _("Masuk untuk melihat nilai indikator per wilayah."),
    "legend_quantile": _("Kelas kuantil dari nilai wilayah"),
    "darker_worse": _("Warna lebih gelap = kondisi lebih buruk"),
    "darker_more": _("Warna lebih gelap = nilai lebih tinggi"),
    "worst": _("Terburuk"),
    "vs_kabupaten": _("Kabupaten"),
    "click_village": _("Klik desa untuk membuka halaman desa"),
    "click_kecamatan": _("Klik kecamatan untuk melihat desanya"),
    "ats_7_12": _("7-12 tahun"),
    "ats_13_15": _("13-15 tahun"),
    "ats_16_18": _("16-18 tahun"),
    "share_households": _("Rumah tangga (%)"),
    "share_children": _("Anak pada kelompok umur (%)"),
    "household_points": _("Titik rumah tangga"),
    "matches": _("Memenuhi kriteria"),
    "others": _("Lainnya"),
    "cluster_share": _("Kelompok: bagian yang memenuhi kriteria"),
    "cluster_size": _("Ukuran lingkaran = jumlah rumah tangga"),
    "cluster_hint": _("Perbesar peta untuk melihat tiap rumah tangga"),
    "head": _("Kepala rumah tangga"),
    "members": _("Anggota"),
    "coordinates": _("Koordinat"),
    "no_kk": _("No. KK"),
    "address": _("Alamat"),
    "rt_rw": _("RT/RW"),
    "dusun": _("Dusun/lingkungan"),
    "ats": _("Anak tidak sekolah"),
    "desil": _("Desil"),
    "sanitation": _("Sanitasi"),
    "water": _("Air minum layak"),
    "yes": _("Ya"),
    "no": _("Tidak"),
    "open_admin": _("Buka di admin"),
    "open_household": _("Buka rumah tangga"),
    "open_village": _("Halaman desa"),
    "show_on_map": _("Peta"),
    "hidden": _("(tidak ditampilkan)"),
    "no_households": _("Tidak ada rumah tangga pada daftar ini."),
    "worse_than_kabupaten": _("lebih buruk dari kabupaten"),
    "better_than_kabupaten": _("lebih baik dari kabupaten"),
    "sort_by": _("Urutkan menurut"),
    "coverage": _("Belum tersentuh program"),
    "coverage_untouched": _("Belum tersentuh"),
    "coverage_counted": _("Dihitung indikator"),
    "coverage_detail": _(
        "%(untouched)s dari %(counted)s belum tersentuh; %(reached)s dengan intervensi"
    ),
    "coverage_note": _(
        "Bagian yang dihitung indikator tanpa intervensi aktif program tahun %(year)s"
    ),
    # The approved-only view: placeholders filled by the script.
    "approved_count": _("%(approved)s dari %(villages)s desa disetujui"),
    "none_approved": _("Belum ada desa yang datanya disetujui untuk periode ini."),
}


def _url_template(name: str, placeholder: str, **kwargs) -> str:
    """A reversed API address with `{placeholder}` in place of its last numeric part."""
    url = reverse(f"api:{name}", kwargs={"version": "v1", **kwargs})
    return url.replace("/0/", "/{" + placeholder + "}/")


def _page_config(request: HttpRequest) -> dict:
    """What every dashboard page hands its script: addresses, indicators and labels."""
    show_points = can_view_household_points(request.user)
    tiles = reverse("api:household-tiles", kwargs={"version": "v1", "z": 0, "x": 0, "y": 0})
    return {
        "language": get_language() or settings.LANGUAGE_CODE,
        "indicators": indicator_catalogue(language=get_language() or settings.LANGUAGE_CODE),
        "topics": {code: str(label) for code, label in Topic.choices},
        "period": latest_period(),
        "valuesAllowed": can_view_indicator_values(request.user),
        "basemap": {"url": settings.BASEMAP_URL, "attribution": settings.BASEMAP_ATTRIBUTION},
        "urls": {
            "regions": reverse("api:region-list", kwargs={"version": "v1"}),
            "region": reverse("api:region-detail", kwargs={"version": "v1", "code": "CODE"}),
            "values": reverse("api:indicator-values", kwargs={"version": "v1"}),
            "village": reverse("village", kwargs={"code": "CODE"}),
            "home": reverse("home"),
        },
        "households": {
            "allowed": show_points,
            "tiles": tiles.replace("/0/0/0.pbf", "/{z}/{x}/{y}.pbf") if show_points else "",
            "list": reverse("api:household-list", kwargs={"version": "v1"}) if show_points else "",
            "detail": _url_template("household-detail", "id", pk=0) if show_points else "",
            "admin": (
                reverse("admin:households_household_change", args=[0]).replace("/0/", "/{id}/")
                if show_points and request.user.is_staff
                else ""
            ),
            # The household page, for the roles that may open named records.
            "page": (
                reverse("household-page", args=[0]).replace("/0/", "/{id}/")
                if can_view_names(request.user)
                else ""
            ),
        },
        "sanitationLevels": {str(value): str(label) for value, label in SanitationLevel.choices},
        # Household points are coloured by one of these (indicators flagged map_criterion).
        "criteria": map_criteria_catalogue(language=get_language() or settings.LANGUAGE_CODE)
        if show_points
        else [],
        "strings": {key: str(text) for key, text in UI_STRINGS.items()},
    }


def _coverage_config() -> dict | None:
    """The "belum tersentuh program" layer: the coverage API of the programmes app (an
    address, not an import: households know nothing of programmes) and the indicators it
    makes sense for, those that count households or members. None when the programmes
    app is not installed."""
    try:
        url = reverse("api:programme-coverage", kwargs={"version": "v1"})
    except NoReverseMatch:
        return None
    return {
        "url": url,
        "year": timezone.localdate().year,
        "indicators": counting_indicator_codes(),
    }


def home(request: HttpRequest) -> HttpResponse:
    # The caller's own area: an operator's village has its page, everyone else a kabupaten.
    kind, code = home_area_for(user=request.user, default=settings.HOME_KABUPATEN)
    if kind == "village":
        return redirect("village", code=code)
    overview = kabupaten_overview(code=code)
    config = _page_config(request)
    config.update(
        {
            "kabupaten": {"code": overview["code"], "name": overview["name"]} if overview else None,
            "kecamatan": overview["kecamatan"] if overview else [],
            "totals": (
                {"households": overview["households"], "members": overview["members"]}
                if overview
                else {"households": 0, "members": 0}
            ),
            "defaultIndicator": DEFAULT_INDICATOR,
            "ladder": LADDER,
            "outOfSchool": OUT_OF_SCHOOL,
            "coverage": _coverage_config(),
            # "Only approved villages" (?disetujui=1): for the roles that sign off or
            # read the sign-offs (the quality badges beside it need an account).
            "approvedAllowed": bool(
                request.user.is_authenticated and can_view_indicator_values(request.user)
            ),
        }
    )
    return render(
        request,
        "dashboard/home.html",
        {
            "overview": overview,
            "config": config,
            "show_points": config["households"]["allowed"],
            "map_criteria": config["criteria"],
            "demo_label": settings.DEMO_DATA_LABEL,
        },
    )


def village(request: HttpRequest, code: str) -> HttpResponse:
    overview = village_overview(code=code)
    if overview is None:
        raise Http404("Bukan kode desa/kelurahan yang dikenal.")
    config = _page_config(request)
    config["village"] = {
        key: overview[key] for key in ("code", "name", "kind", "kecamatan", "kabupaten")
    }
    kind_label = Kind(overview["kind"]).label if overview["kind"] in Kind.values else ""
    named = named_village_for(user=request.user, code=code) is not None
    chosen = request.GET.get("indikator", "")
    breakdown = village_breakdown(
        user=request.user,
        code=code,
        indicator=None if chosen == ALL_INDICATORS else (chosen or DEFAULT_BREAKDOWN),
        language=get_language() or "id",
        suppress_up_to=suppression_for(request.user),
    )
    # The target list of one unit (?unit=, from the breakdown's links): roles with names.
    unit = unit_in_areas(request.user, request.GET.get("unit")) if named else None
    if unit is not None and unit.region_id != code:
        unit = None
    if unit is not None:
        config["households"]["unit"] = unit.pk
    return render(
        request,
        "dashboard/village.html",
        {
            "breakdown": breakdown,
            "breakdown_links": named,
            "all_indicators": ALL_INDICATORS,
            "unit_filter": next(
                (u for u in breakdown["units"] if unit and u["id"] == unit.pk), None
            ),
            "can_manage_units": can_manage_units(request.user, code),
            "village": overview,
            "trend": village_trend_table(
                code=code,
                language=get_language() or "id",
                suppress_up_to=suppression_for(request.user),
            ),
            "trend_url": reverse("trend-page"),
            "changes_url": reverse("village-changes", kwargs={"code": code}) if named else "",
            "kind_label": kind_label,
            "config": config,
            "show_points": config["households"]["allowed"],
            "map_criteria": config["criteria"],
            "show_exports": can_export_named(request.user),
            "show_population_report": named_village_for(user=request.user, code=code) is not None,
            "can_add_household": editable_village_for(user=request.user, code=code) is not None,
            "demo_label": settings.DEMO_DATA_LABEL,
        },
    )


# The page's own strings (its script shows them).
HOUSEHOLD_PAGE_STRINGS = {
    "point": _("Lokasi rumah tangga"),
    "no_point": _("Rumah tangga ini belum punya titik GPS."),
    "load_failed": _("Batas desa gagal dimuat."),
}


def _unmask_requested(request: HttpRequest) -> bool:
    """`?unmask=1` (or true/yes), as the API reads it."""
    return request.GET.get("unmask", "").lower() in ("1", "true", "yes")


# The village page's breakdown: `?indikator=semua` for every indicator, else one of them.
ALL_INDICATORS = "semua"
DEFAULT_BREAKDOWN = "tanpa_jamban"


@login_required
def household_page(request: HttpRequest, pk: int) -> HttpResponse:
    """One household as a page, for the roles that may see its named record (within
    their areas). For every other caller the page does not exist (404, never a 403 that
    would tell it does). Unmasking is the API's: refused and audited without the right,
    audited with it."""
    try:
        disclosure = disclosure_for(request.user, unmask_requested=_unmask_requested(request))
    except PermissionError:
        audit.record(action=AuditAction.ACCESS_DENIED, request=request, detail="unmask")
        if not named_household_visible(user=request.user, pk=pk):
            raise Http404 from None
        raise PermissionDenied from None
    household = household_page_data(user=request.user, pk=pk, disclosure=disclosure)
    if household is None:
        raise Http404
    # Who saw this named record, for the data protection officer's report.
    audit.record(
        action=AuditAction.UNMASK if disclosure.unmasked else AuditAction.VIEW,
        request=request,
        rows=1 + len(household["members"]),
    )
    household_obj = households_for(request.user).get(pk=pk)
    village = household["village"]
    outline = reverse("api:region-detail", kwargs={"version": "v1", "code": village["code"]})
    config = {
        "point": household["point"],
        "outline": f"{outline}?format=geojson&tolerance=0.0001",
        "strings": {key: str(text) for key, text in HOUSEHOLD_PAGE_STRINGS.items()},
    }
    return render(
        request,
        "households/household.html",
        {
            "household": household,
            "village": village,
            "kind_label": Kind(village["kind"]).label if village["kind"] in Kind.values else "",
            "config": config,
            "can_unmask": can_unmask(request.user),
            "can_edit": can_edit_household(request.user, household_obj),
            "unmasked": disclosure.unmasked,
            "demo_label": settings.DEMO_DATA_LABEL,
        },
    )


def _editable_household(request: HttpRequest, pk: int):
    """The household, if the caller may edit it; for everyone else it does not exist."""
    household = households_for(request.user).filter(pk=pk).first()
    if household is None or not can_edit_household(request.user, household):
        raise Http404
    return household


@login_required
def household_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """The operator's form of one household's answers (GET: the form, POST: save). A save
    sends only what the operator changed to `household_update`; its verdicts are shown
    next to their fields. A save over a newer version shows what the other person changed
    and offers the operator's changes again, on top of the newer version."""
    household = _editable_household(request, pk)
    conflict = None
    if request.method == "POST":
        form = forms.HouseholdForm(data=request.POST, region_code=household.region_id)
        if form.is_valid():
            submitted = form.values()
            base = form.base_values() or forms.household_values(household)
            own = forms.differences(base, submitted)
            try:
                household_update(
                    queryset=households_for(request.user),
                    pk=pk,
                    changes=forms.service_changes(submitted, own),
                    expected_version=form.cleaned_data["versi"],
                )
            except StaleEdit:
                household.refresh_from_db()
                current = forms.household_values(household)
                theirs = forms.differences(base, current)
                conflict = {
                    "by": household_editors_since(pk=pk, since=form.cleaned_data.get(forms.OPENED)),
                    "theirs": [
                        {
                            "label": forms.label_of(form, name),
                            "old": forms.shown(form, name, base[name]),
                            "new": forms.shown(form, name, current[name]),
                            "also_mine": name in own,
                        }
                        for name in theirs
                    ],
                    "mine": [
                        {
                            "label": forms.label_of(form, name),
                            "new": forms.shown(form, name, submitted[name]),
                        }
                        for name in own
                    ],
                }
                merged = {**current, **{name: submitted[name] for name in own}}
                form = forms.form_for(household, values=merged)
            except ValidationError as exc:
                form.add_service_errors(
                    exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
                )
            else:
                messages.success(request, _("Perubahan disimpan."))
                return redirect("household-page", pk=pk)
    else:
        form = forms.form_for(household)
    form.describe_errors()
    village = village_overview(code=household.region_id)
    return render(
        request,
        "households/household_form.html",
        {
            "form": form,
            "household_id": pk,
            "no_kk": str(household).removeprefix("KK "),
            "village": village,
            "kind_label": Kind(village["kind"]).label if village["kind"] in Kind.values else "",
            "conflict": conflict,
            "location_error_id": "id_lokasi-error",
            "location_config": _location_config(household.region_id),
        },
        status=409 if conflict else (400 if form.is_bound and form.errors else 200),
    )


def _errors_of(exc: ValidationError) -> dict[str, list[str]]:
    return exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}


# The location picker (static/js/location-picker.js): a device's fix coarser than WARN is
# used with a warning, one coarser than REFUSE is not used (a house is ~10-20 m across).
LOCATION_WARN_ABOVE_M = 30
LOCATION_REFUSE_ABOVE_M = 100
LOCATION_PICKER_STRINGS = {
    "marker": _("Titik rumah tangga (geser untuk memindahkan)"),
    "moved": _("Titik dipindahkan; koordinat di bawah diperbarui."),
    "locating": _("Mencari lokasi perangkat..."),
    "accuracy": _("Lokasi perangkat dipakai (akurasi sekitar %(metres)s m)."),
    "poor": _(
        "Akurasi lokasi kurang baik (sekitar %(metres)s m): periksa titiknya di peta dan geser "
        "bila perlu."
    ),
    "refused": _(
        "Akurasi lokasi terlalu rendah (sekitar %(metres)s m, batas %(limit)s m): titik tidak "
        "diubah. Coba lagi di luar ruangan atau pilih di peta."
    ),
    "denied": _("Izin lokasi ditolak: pilih titik di peta atau isi koordinat."),
    "failed": _("Lokasi perangkat tidak didapat: pilih titik di peta atau isi koordinat."),
    "load_failed": _("Batas desa gagal dimuat."),
}


def _location_config(code: str) -> dict:
    outline = reverse("api:region-detail", kwargs={"version": "v1", "code": code})
    return {
        "outline": f"{outline}?format=geojson&tolerance=0.0001",
        "warnAboveM": LOCATION_WARN_ABOVE_M,
        "refuseAboveM": LOCATION_REFUSE_ABOVE_M,
        "strings": {key: str(text) for key, text in LOCATION_PICKER_STRINGS.items()},
    }


def _village_context(code: str) -> dict:
    village = village_overview(code=code)
    return {
        "village": village,
        "kind_label": Kind(village["kind"]).label if village["kind"] in Kind.values else "",
    }


def _status(form, conflict) -> int:
    return 409 if conflict else (400 if form.is_bound and form.errors else 200)


@login_required
def household_new(request: HttpRequest, code: str) -> HttpResponse:
    """Add a household to a village with its head of household (GET: the form, POST:
    save), for the village's operators and administrators; for everyone else the page
    does not exist (404). The verdicts of `household_create` are shown next to their
    fields."""
    region = editable_village_for(user=request.user, code=code)
    if region is None:
        raise Http404
    if request.method == "POST":
        form = forms.HouseholdCreateForm(data=request.POST, region_code=region.code)
        if form.is_valid():
            answers = form.values()
            try:
                result = household_create(
                    household_queryset=households_for(request.user),
                    village_code=region.code,
                    no_kk=form.cleaned_data[forms.NO_KK],
                    answers=forms.service_changes(answers, list(answers)),
                    head=form.head_values(),
                    head_nik=form.cleaned_data[forms.HEAD_PREFIX + forms.NIK],
                )
            except ValidationError as exc:
                form.add_service_errors(_errors_of(exc))
            else:
                messages.success(request, _("Rumah tangga ditambahkan."))
                return redirect("household-page", pk=result.pk)
    else:
        form = forms.HouseholdCreateForm(
            initial={"tanggal_survei": timezone.localdate()}, region_code=region.code
        )
    form.describe_errors()
    return render(
        request,
        "households/household_new.html",
        {
            "form": form,
            **_village_context(region.code),
            "location_error_id": "id_lokasi-error",
            "location_config": _location_config(region.code),
        },
        status=_status(form, None),
    )


def _editable_member(request: HttpRequest, pk: int, mid: int):
    """The household and its member `mid`, if the caller may edit them; else 404."""
    household = _editable_household(request, pk)
    member = members_for(request.user).filter(pk=mid, household_id=household.pk).first()
    if member is None:
        raise Http404
    return household, member


def _member_page(request, template: str, household, context: dict, status: int) -> HttpResponse:
    return render(
        request,
        template,
        {
            "household_id": household.pk,
            "no_kk": str(household).removeprefix("KK "),
            **_village_context(household.region_id),
            **context,
        },
        status=status,
    )


@login_required
def member_new(request: HttpRequest, pk: int) -> HttpResponse:
    """Add a member left out at the survey (data entry; births and moves in are their own
    forms). A save over a newer version of the household says who changed it and offers
    the operator's member again on top of it."""
    household = _editable_household(request, pk)
    conflict = None
    if request.method == "POST":
        form = forms.MemberForm(data=request.POST, with_nik=True)
        if form.is_valid():
            try:
                member_create(
                    household_queryset=households_for(request.user),
                    household_pk=pk,
                    expected_version=form.cleaned_data["versi"],
                    values=form.values(),
                    nik=form.cleaned_data[forms.NIK],
                )
            except StaleEdit as stale:
                conflict = {
                    "by": household_editors_since(pk=pk, since=form.cleaned_data.get(forms.OPENED))
                }
                data = request.POST.copy()
                data["versi"] = str(stale.current_version)
                data[forms.OPENED] = timezone.now().isoformat()
                form = forms.MemberForm(initial=data.dict(), with_nik=True)
            except ValidationError as exc:
                form.add_service_errors(_errors_of(exc))
            else:
                messages.success(request, _("Anggota ditambahkan."))
                return redirect("household-page", pk=pk)
    else:
        form = forms.MemberForm(
            initial={"versi": household.versi, forms.OPENED: timezone.now().isoformat()},
            with_nik=True,
        )
    form.describe_errors()
    return _member_page(
        request,
        "households/member_form.html",
        household,
        {"form": form, "conflict": conflict, "member": None},
        _status(form, conflict),
    )


def _conflict(form, *, base: dict, current: dict, submitted: dict, own: list[str], by) -> dict:
    """What the other person changed since the form was opened, and the operator's own
    changes (the panel a save over a newer version shows)."""
    return {
        "by": by,
        "theirs": [
            {
                "label": forms.label_of(form, name),
                "old": forms.shown(form, name, base[name]),
                "new": forms.shown(form, name, current[name]),
                "also_mine": name in own,
            }
            for name in forms.differences(base, current)
        ],
        "mine": [
            {"label": forms.label_of(form, name), "new": forms.shown(form, name, submitted[name])}
            for name in own
        ],
    }


@login_required
def member_edit(request: HttpRequest, pk: int, mid: int) -> HttpResponse:
    """The form of one member's editable fields; sends only what the operator changed to
    `member_update`, and a save over a newer version shows what the other person changed
    and offers the operator's changes again, on top of it."""
    household, member = _editable_member(request, pk, mid)
    conflict = None
    if request.method == "POST":
        form = forms.MemberForm(data=request.POST)
        if form.is_valid():
            submitted = form.values()
            base = form.base_values() or forms.member_values(member)
            own = forms.differences(base, submitted)
            try:
                member_update(
                    queryset=members_for(request.user).filter(household_id=pk),
                    pk=mid,
                    changes={name: submitted[name] for name in own},
                    expected_version=form.cleaned_data["versi"],
                )
            except StaleEdit:
                member.refresh_from_db()
                current = forms.member_values(member)
                conflict = _conflict(
                    form,
                    base=base,
                    current=current,
                    submitted=submitted,
                    own=own,
                    by=household_editors_since(pk=pk, since=form.cleaned_data.get(forms.OPENED)),
                )
                merged = {**current, **{name: submitted[name] for name in own}}
                form = forms.member_form_for(member, values=merged)
            except ValidationError as exc:
                form.add_service_errors(_errors_of(exc))
            else:
                messages.success(request, _("Perubahan anggota disimpan."))
                return redirect("household-page", pk=pk)
    else:
        form = forms.member_form_for(member)
    form.describe_errors()
    return _member_page(
        request,
        "households/member_form.html",
        household,
        {"form": form, "conflict": conflict, "member": member},
        _status(form, conflict),
    )


@login_required
def member_delete(request: HttpRequest, pk: int, mid: int) -> HttpResponse:
    """Remove a member entered by mistake: GET asks for confirmation (and says at once
    when removal is refused: the head, a member with life events), POST removes."""
    household, member = _editable_member(request, pk, mid)
    error, status, versi = "", 200, member.versi
    if request.method == "POST":
        try:
            expected = int(request.POST.get("versi", ""))
        except ValueError:
            expected = -1
        try:
            member_remove(
                queryset=members_for(request.user).filter(household_id=pk),
                pk=mid,
                expected_version=expected,
            )
        except StaleEdit as stale:
            error, status, versi = (
                _(
                    "Data anggota ini diubah orang lain sejak halaman ini dibuka. Periksa lagi, "
                    "lalu konfirmasi bila tetap ingin menghapus."
                ),
                409,
                stale.current_version,
            )
        except ValidationError as exc:
            error, status = " ".join(m for ms in _errors_of(exc).values() for m in ms), 400
        else:
            messages.success(request, _("Anggota dihapus."))
            return redirect("household-page", pk=pk)
    refusal = member_removal_problem(member) or ""
    return _member_page(
        request,
        "households/member_remove.html",
        household,
        {
            "member": member,
            "versi": versi,
            "error": error,
            "refusal": "" if error else refusal,
        },
        status,
    )


# --- Life events on pages ------------------------------------------------------------------

# Each kind's page: its title and what it records (shown above the form).
EVENT_PAGES = {
    "lahir": (
        _("Tambah kelahiran"),
        _("Bayi yang lahir setelah tanggal survei menjadi anggota baru."),
    ),
    "meninggal": (
        _("Catat meninggal"),
        _("Anggota tetap tercatat dengan status dan tanggalnya, dan tidak lagi dihitung."),
    ),
    "pindah_keluar": (
        _("Catat pindah keluar"),
        _("Anggota tetap tercatat dengan status, tanggal dan tujuannya, dan tidak lagi dihitung."),
    ),
    "pindah_kk": (
        _("Pindahkan ke rumah tangga lain"),
        _("Anggota pindah ke rumah tangga lain di portal dengan NIK dan riwayatnya."),
    ),
    "pindah_masuk": (
        _("Pindah masuk"),
        _(
            "Orang yang datang dari luar portal, atau anggota rumah tangga lain di wilayah Anda "
            "(dicari dengan NIK; NIK dan riwayatnya tetap)."
        ),
    ),
    "pecah_kk": (
        _("Pecah KK"),
        _(
            "Anggota yang dipilih membentuk rumah tangga baru di desa yang sama; jawaban survei "
            "disalin dan dapat diubah sesudahnya. Kepala keluarga tidak ikut pecah."
        ),
    ),
    "ganti_kepala": (
        _("Ganti kepala keluarga"),
        _("Anggota saat ini menjadi kepala keluarga; kepala lama tetap tercatat."),
    ),
}
EVENT_SAVED = _("Peristiwa dicatat.")


def _event(request, household, member, form_class, save, *, kind: str, form_kwargs=None):
    """One life-event form (GET: the form, POST: record it with `save(cleaned_data)`).
    The services' verdicts are shown next to their fields; a save over a newer version
    names who saved since and offers the operator's values again on the newer version.
    `save` returns where to go after recording."""
    locked = member or household
    conflict = None
    opened = timezone.now().isoformat()
    form_kwargs = form_kwargs or {}
    if request.method == "POST":
        form = form_class(data=request.POST, **form_kwargs)
        if form.is_valid():
            try:
                target = save(form.cleaned_data)
            except StaleEdit as stale:
                conflict = {
                    "by": household_editors_since(
                        pk=household.pk, since=form.cleaned_data.get(forms.OPENED)
                    )
                }
                data = request.POST.copy()
                data["versi"], data[forms.OPENED] = str(stale.current_version), opened
                form = form_class(data=data, **form_kwargs)
                form.is_valid()
            except ValidationError as exc:
                form.add_service_errors(_errors_of(exc))
            else:
                messages.success(request, EVENT_SAVED)
                return redirect("household-page", pk=target)
    else:
        initial = {"versi": locked.versi, forms.OPENED: opened, "tanggal": timezone.localdate()}
        form = form_class(initial=initial, **form_kwargs)
    form.describe_errors()
    title, intro = EVENT_PAGES[kind]
    return _member_page(
        request,
        "households/event_form.html",
        household,
        {
            "form": form,
            "conflict": conflict,
            "member": member,
            "kind": kind,
            "title": title,
            "intro": intro,
            "action": request.path,
        },
        _status(form, conflict),
    )


@login_required
def birth_new(request: HttpRequest, pk: int) -> HttpResponse:
    household = _editable_household(request, pk)

    def save(data):
        member_birth_record(
            household_queryset=households_for(request.user),
            household_pk=pk,
            expected_version=data["versi"],
            name=data["nama"],
            sex=data["jenis_kelamin"],
            date=data["tanggal"],
            relationship=data["hubungan_keluarga"],
            nik=data["nik"],
            disability=data["disabilitas"],
        )
        return pk

    return _event(request, household, None, forms.BirthForm, save, kind="lahir")


def _member_event(request, pk: int, mid: int, kind: str, form_class):
    household, member = _editable_member(request, pk, mid)

    def save(data):
        member_event_record(
            queryset=members_for(request.user).filter(household_id=pk),
            pk=mid,
            kind=kind,
            date=data["tanggal"],
            expected_version=data["versi"],
            destination=data.get("tujuan_pindah", ""),
        )
        return pk

    return _event(request, household, member, form_class, save, kind=kind)


@login_required
def death_new(request: HttpRequest, pk: int, mid: int) -> HttpResponse:
    return _member_event(request, pk, mid, "meninggal", forms.DeathForm)


@login_required
def move_out_new(request: HttpRequest, pk: int, mid: int) -> HttpResponse:
    return _member_event(request, pk, mid, "pindah_keluar", forms.MoveOutForm)


@login_required
def transfer_new(request: HttpRequest, pk: int, mid: int) -> HttpResponse:
    household, member = _editable_member(request, pk, mid)

    def save(data):
        typed = data["rumah_tangga_tujuan"].strip()
        target = editable_household_by_kk(user=request.user, no_kk=typed)
        member_transfer_record(
            queryset=members_for(request.user).filter(household_id=pk),
            pk=mid,
            target_queryset=households_editable_by(request.user),
            # A number typed but not found among the caller's households reads as not found.
            target_pk=target if target is not None else (0 if typed else None),
            expected_version=data["versi"],
            relationship=data["hubungan_keluarga"],
            date=data["tanggal"],
        )
        return pk

    return _event(request, household, member, forms.TransferForm, save, kind="pindah_kk")


@login_required
def move_in_new(request: HttpRequest, pk: int) -> HttpResponse:
    household = _editable_household(request, pk)

    def save(data):
        if data["asal"] == forms.FROM_PORTAL:
            editable = households_editable_by(request.user)
            member_transfer_in_record(
                queryset=members_for(request.user).filter(household__in=editable),
                nik=data["nik"],
                target_queryset=editable,
                target_pk=pk,
                target_expected_version=data["versi"],
                relationship=data["hubungan_keluarga"],
                date=data["tanggal"],
            )
        else:
            member_move_in_record(
                household_queryset=households_for(request.user),
                household_pk=pk,
                expected_version=data["versi"],
                nik=data["nik"],
                name=data["nama"],
                sex=data["jenis_kelamin"],
                birth_date=data["tanggal_lahir"],
                relationship=data["hubungan_keluarga"],
                date=data["tanggal"],
                origin=data["asal_pindah"],
            )
        return pk

    return _event(request, household, None, forms.MoveInForm, save, kind="pindah_masuk")


@login_required
def split_new(request: HttpRequest, pk: int) -> HttpResponse:
    household = _editable_household(request, pk)

    def save(data):
        result = household_split_record(
            household_queryset=households_for(request.user),
            household_pk=pk,
            expected_version=data["versi"],
            member_pks=data["anggota_pecah"],
            head_pk=data["kepala_baru"],
            date=data["tanggal"],
            no_kk=data["no_kk"],
            alamat=data["alamat"] or None,
            location=[data["bujur"], data["lintang"]] if data["lintang"] is not None else None,
        )
        return result.new_household.pk

    return _event(
        request, household, None, forms.SplitForm, save, kind="pecah_kk",
        form_kwargs={"household": household},
    )  # fmt: skip


@login_required
def head_change_new(request: HttpRequest, pk: int) -> HttpResponse:
    household = _editable_household(request, pk)

    def save(data):
        head_change_record(
            household_queryset=households_for(request.user),
            household_pk=pk,
            expected_version=data["versi"],
            new_head_pk=data["anggota"],
            former_head_relationship_code=data["hubungan_kepala_lama"],
            date=data["tanggal"],
        )
        return pk

    return _event(
        request, household, None, forms.HeadChangeForm, save, kind="ganti_kepala",
        form_kwargs={"household": household},
    )  # fmt: skip


@login_required
def import_page(request):
    """Upload a census file, see the dry-run preview, commit it, follow the progress."""
    config = {
        "upload_url": reverse("api:import-list", kwargs={"version": "v1"}),
        "template_url": reverse("api:import-template", kwargs={"version": "v1"}),
        "max_bytes": settings.IMPORT_MAX_BYTES,
        # Field collection (ODK Collect / Central, KoboToolbox): docs/lapangan.md.
        "fieldwork": {
            name.replace("-", "_"): reverse(f"api:fieldwork-{name}", kwargs={"version": "v1"})
            for name in ("census-form", "visit-form", "entities", "submissions")
        },
        # The preview's counts, named in the page's language.
        "count_labels": {
            "households": _("Rumah tangga"),
            "members": _("Anggota"),
            "units": _("Dusun/RW/RT dibuat dari berkas"),
            "total": _("baris"),
            "new": _("baru"),
            "updated": _("diubah"),
            "unchanged": _("tetap"),
            "rejected": _("ditolak"),
            "warnings": _("peringatan"),
            "missing": _("tidak ada di berkas"),
            "removed": _("dihapus"),
            "submissions": _("Kiriman"),
            "in_file": _("di berkas"),
            "selected": _("dipilih"),
            "approved": _("disetujui"),
            "has_issues": _("ada masalah"),
            "received": _("belum ditinjau"),
            "duplicate": _("ganda"),
            "already_imported": _("sudah diimpor"),
            "conflicts": _("konflik versi"),
        },
    }
    return render(
        request,
        "imports/import.html",
        {
            "config": config,
            "can_import": can_use_imports(request.user),
            "max_megabytes": settings.IMPORT_MAX_BYTES // (1024 * 1024),
        },
    )


@login_required
def export_page(request):
    """The caller's export jobs with their progress and download links."""
    config = {"jobs_url": reverse("api:export-job-list", kwargs={"version": "v1"})}
    return render(
        request,
        "exports/jobs.html",
        {
            "config": config,
            "can_export": can_export_named(request.user),
            "retention_hours": settings.EXPORT_RETENTION_HOURS,
            "sync_max_rows": settings.EXPORT_XLSX_SYNC_MAX_ROWS,
        },
    )


@login_required
def population_report_page(request: HttpRequest, code: str, fmt: str = "html") -> HttpResponse:
    """The village's monthly population report (?bulan=YYYY-MM; this month by default) as
    a page, XLSX or PDF, for the roles that see the village's named records; for everyone
    else it does not exist (404)."""
    region = named_village_for(user=request.user, code=code)
    if region is None or fmt not in ("html", "xlsx", "pdf"):
        raise Http404
    chosen = request.GET.get("bulan")
    try:
        year, month = report_month(chosen)
        error = ""
    except MonthNotReportable:
        year, month = report_month(None)
        error = _(
            "Bulan tidak valid: %(value)s. Tulis TTTT-BB (misalnya 2026-11), tidak di masa depan."
        ) % {"value": chosen}
        if fmt != "html":
            return render(
                request,
                "households/population_report.html",
                {"error": error, "village": village_overview(code=code)},
                status=400,
            )
    report = population_report(village_code=code, year=year, month=month)
    synthetic = village_holds_synthetic(village_code=code)
    if fmt in ("xlsx", "pdf"):
        writer = population_report_xlsx if fmt == "xlsx" else population_report_pdf
        content = writer(
            report=report, village_name=region.name, synthetic=synthetic, language=get_language()
        )
        content_type = (
            "application/pdf"
            if fmt == "pdf"
            else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        response = HttpResponse(content, content_type=content_type)
        filename = f"laporan-penduduk-{code}-{report.period}.{fmt}"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
    village = village_overview(code=code)
    return render(
        request,
        "households/population_report.html",
        {
            "village": village,
            "kind_label": Kind(village["kind"]).label if village["kind"] in Kind.values else "",
            "report": report,
            "rows": [(dusun_label(row.dusun), row.cells()) for row in report.rows],
            "total": report.total.cells(),
            "groups": population_columns(),
            "notes": report_notes(),
            "unknown_sex": unknown_sex_note(report) if report.unknown_sex else "",
            "month_label": month_label(report),
            "error": error,
            "synthetic": synthetic,
            "demo_label": settings.DEMO_DATA_LABEL,
            "current_month": report_month(None),
        },
        status=400 if error else 200,
    )


# --- The village's dusun, RW and RT (/desa/<code>/wilayah/) ---------------------------------


def _managed_village(request: HttpRequest, code: str) -> dict:
    """The village whose units the caller keeps (its operator, administrators); for
    everyone else with an account the page does not exist (404)."""
    village = village_overview(code=code)
    if village is None or not can_manage_units(request.user, code):
        raise Http404
    return village


def _units_changed() -> None:
    # Triggers marked the village stale; its figures per unit follow in the worker.
    transaction.on_commit(indicators_refresh_task.enqueue)


@login_required
def village_units(request: HttpRequest, code: str) -> HttpResponse:
    """The list of a village's units, and the form that adds one (GET/POST)."""
    village = _managed_village(request, code)
    units = village_units_for(user=request.user, code=code) or []
    form = unit_forms.UnitAddForm(units=units)
    status = 200
    if request.method == "POST":
        form = unit_forms.UnitAddForm(data=request.POST, units=units)
        if form.is_valid():
            data = form.cleaned_data
            parent = None
            if data["parent"] is not None:
                parent = VillageUnit.objects.filter(pk=data["parent"], region_id=code).first()
            try:
                with transaction.atomic():
                    unit = unit_create(
                        region_code=code,
                        kind=data["kind"],
                        name=data["name"],
                        parent=parent,
                        kepala=data["kepala"],
                    )
            except InvalidInput as exc:
                form.add_service_errors(exc.fields)
            else:
                _units_changed()
                messages.success(request, _("%(unit)s ditambahkan.") % {"unit": unit})
                return redirect("village-units", code=code)
        status = 400
    return render(
        request,
        "villages/units.html",
        {
            "village": village,
            "kind_label": _kind_label(village),
            "units": units,
            "form": form.describe_errors(),
        },
        status=status,
    )


def _kind_label(village: dict) -> str:
    return Kind(village["kind"]).label if village["kind"] in Kind.values else ""


@login_required
def village_unit_edit(request: HttpRequest, code: str, pk: int) -> HttpResponse:
    """Rename a unit, set its head or its outline (GET: the form, POST: save)."""
    village = _managed_village(request, code)
    unit = VillageUnit.objects.filter(pk=pk, region_id=code).first()
    if unit is None:
        raise Http404
    form = unit_forms.UnitEditForm.for_unit(unit)
    status = 200
    if request.method == "POST":
        form = unit_forms.UnitEditForm(data=request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                with transaction.atomic():
                    unit_update(
                        unit=unit, name=data["name"], kepala=data["kepala"], batas=data["batas"]
                    )
            except InvalidInput as exc:
                form.add_service_errors(exc.fields)
            else:
                _units_changed()
                messages.success(request, _("Perubahan disimpan."))
                return redirect("village-units", code=code)
        status = 400
    return render(
        request,
        "villages/unit_form.html",
        {
            "village": village,
            "kind_label": _kind_label(village),
            "unit": unit,
            "form": form.describe_errors(),
        },
        status=status,
    )


@login_required
@require_POST
def village_unit_delete(request: HttpRequest, code: str, pk: int) -> HttpResponse:
    """Delete a unit; one in use (or with units under it) stays, and the list says why."""
    _managed_village(request, code)
    unit = VillageUnit.objects.filter(pk=pk, region_id=code).first()
    if unit is None:
        raise Http404
    label = str(unit)
    try:
        unit_delete(unit=unit)
    except InvalidInput as exc:
        for message in exc.fields.get("__all__", []):
            messages.error(request, message)
    else:
        _units_changed()
        messages.success(request, _("%(unit)s dihapus.") % {"unit": label})
    return redirect("village-units", code=code)


# --- Trends over survey rounds (issue 15) ------------------------------------------------

TREND_STRINGS = {
    "kabupaten": _("Kabupaten"),
    "kecamatan": _("Kecamatan"),
    "suppressed": _("Disembunyikan (sel kecil)"),
    "no_data": _("Tidak ada data"),
    "better": _("Membaik"),
    "worse": _("Memburuk"),
    "same": _("Tetap"),
    "up": _("Naik"),
    "down": _("Turun"),
    "count": _("Indikator ini hitungan, bukan penilaian: naik atau turun saja."),
    "change": _("Perubahan"),
    "lower_is_better": _("Untuk indikator ini, makin rendah makin baik."),
    "higher_is_better": _("Untuk indikator ini, makin tinggi makin baik."),
    "pick_two": _("Pilih dua putaran yang berbeda untuk melihat perubahan."),
    "load_failed": _("Data gagal dimuat."),
    "village_line": _("Klik desa di peta untuk menampilkan garisnya."),
    "changes_link": _("Daftar rumah tangga"),
    "points": _("poin persentase"),
}


def trend_page(request: HttpRequest) -> HttpResponse:
    """An indicator over survey rounds: a line per area, small multiples of a kecamatan's
    villages, the change map between two rounds. Figures only (the rollup), suppressed
    for the public like the dashboard; the state lives in the query string."""
    # The caller's kabupaten, as on the home page (an operator: their village's).
    _, code = home_area_for(user=request.user, default=settings.HOME_KABUPATEN)
    overview = kabupaten_overview(code=code[:5])
    language = get_language() or settings.LANGUAGE_CODE
    periods = [
        {"code": p["code"], "name": p["name"], "status": p["status"]} for p in trend_periods()
    ]
    config = {
        "language": language,
        "indicators": indicator_catalogue(language=language),
        "periods": periods,
        "defaultIndicator": DEFAULT_INDICATOR,
        "kabupaten": {"code": overview["code"], "name": overview["name"]} if overview else None,
        "kecamatan": [{"code": k["code"], "name": k["name"]} for k in overview["kecamatan"]]
        if overview
        else [],
        "urls": {
            "regions": reverse("api:region-list", kwargs={"version": "v1"}),
            "trend": reverse("api:indicator-trend", kwargs={"version": "v1"}),
            "changes": reverse("api:indicator-changes", kwargs={"version": "v1"}),
            "village": reverse("village", kwargs={"code": "CODE"}),
            # The change list names households: only for roles that may see names.
            "villageChanges": reverse("village-changes", kwargs={"code": "CODE"})
            if can_view_names(request.user)
            else "",
        },
        "strings": {key: str(text) for key, text in TREND_STRINGS.items()},
    }
    return render(
        request,
        "dashboard/trend.html",
        {"config": config, "overview": overview, "periods": periods},
    )


@login_required
def village_changes(request: HttpRequest, code: str) -> HttpResponse:
    """The households of a village that improved, worsened, stayed, came in or left
    between two rounds for one indicator (?indikator=&dari=&ke=), linked to their pages:
    for roles that see the village's named records; for everyone else it does not exist."""
    region = named_village_for(user=request.user, code=code)
    if region is None:
        raise Http404
    language = get_language() or "id"
    rounds = [p for p in trend_periods() if p["status"] is not None]
    catalogue = indicator_catalogue(language=language)
    indicator = request.GET.get("indikator") or DEFAULT_INDICATOR
    default_from = rounds[-2]["code"] if len(rounds) > 1 else ""
    default_to = rounds[-1]["code"] if rounds else ""
    chosen = {
        "indikator": indicator,
        "dari": request.GET.get("dari") or default_from,
        "ke": request.GET.get("ke") or default_to,
    }
    labels = {
        "membaik": _("Membaik"),
        "memburuk": _("Memburuk"),
        "tetap": _("Tetap"),
        "masuk": _("Masuk (baru dihitung)"),
        "keluar": _("Keluar (tidak lagi dihitung)"),
    }
    # ?status= one status, "berubah" (every household whose state changed: the default)
    # or "semua"; ?halaman= the page, CHANGE_PAGE_SIZE households each.
    shown = request.GET.get("status") or CHANGED_FILTER
    chosen["status"] = shown
    answer, error, status, paging = None, "", 200, None
    try:
        page_number = int(request.GET.get("halaman") or 1)
        if page_number < 1:
            raise ValueError
    except ValueError:
        page_number, error, status = 1, _("halaman: harus bilangan bulat positif."), 400
    if shown not in (CHANGED_FILTER, ALL_FILTER, *STATUSES):
        error, status = _("status: tidak dikenal: %(code)s") % {"code": shown}, 400
    if status == 400:
        pass
    elif len(rounds) < 2:
        error = _("Perubahan memerlukan sedikitnya dua putaran pendataan.")
    else:
        selection = {CHANGED_FILTER: CHANGED, ALL_FILTER: None}.get(shown, (shown,))
        try:
            answer = household_changes_for(
                user=request.user,
                village=code,
                indicator=chosen["indikator"],
                from_period=chosen["dari"],
                to_period=chosen["ke"],
                statuses=selection,
                offset=(page_number - 1) * CHANGE_PAGE_SIZE,
                limit=CHANGE_PAGE_SIZE,
            )
        except InvalidInput as problem:
            error = "; ".join(
                f"{field}: {message}" for field, message in sorted(problem.fields.items())
            )
            status = 400
        else:
            audit.record(action=AuditAction.VIEW, request=request, rows=len(answer["households"]))
            pages = max(1, -(-answer["total"] // CHANGE_PAGE_SIZE))
            if page_number > pages:
                raise Http404
            query = {k: v for k, v in chosen.items() if v}

            def link(number: int) -> str:
                return "?" + urlencode({**query, "halaman": number})

            paging = {
                "number": page_number,
                "pages": pages,
                "first": answer["offset"] + 1 if answer["households"] else 0,
                "last": answer["offset"] + len(answer["households"]),
                "previous": link(page_number - 1) if page_number > 1 else "",
                "next": link(page_number + 1) if page_number < pages else "",
            }
            filters = [
                (
                    key,
                    label,
                    n,
                    "?" + urlencode({**query, "status": key}),
                )
                for key, label, n in (
                    (
                        CHANGED_FILTER,
                        _("Semua yang berubah"),
                        sum(answer["counts"][k] for k in CHANGED),
                    ),
                    *((k, labels[k], answer["counts"][k]) for k in LIST_ORDER),
                    (ALL_FILTER, _("Semua"), sum(answer["counts"].values())),
                )
            ]
            answer["filters"] = filters
    return render(
        request,
        "households/village_changes.html",
        {
            "village": village_overview(code=code),
            "rounds": rounds,
            "indicators": catalogue,
            "chosen": chosen,
            "answer": answer,
            "error": error,
            "statuses": [(key, labels[key]) for key in STATUSES],
            "paging": paging,
            "demo_label": settings.DEMO_DATA_LABEL,
        },
        status=status,
    )
