"""Pages of programmes: the list, a programme (progress per village, coverage map, target
lists, its interventions for roles with names) and the field form of one intervention.
They work without JavaScript; the map is the one enhancement (static/js/programme.js)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from desapresisi import audit
from desapresisi.access import (
    area_codes_for,
    can_view_interventions,
    disclose_household,
    disclosure_for,
    role_of,
)
from desapresisi.errors import InvalidInput, NotAllowed, NotReady
from desapresisi.models import AuditAction, Role
from households.models import Indicator
from villages.codes import subtree_q
from villages.models import Region

from .forms import BulkForm, FreezeForm, InterventionForm, ProgrammeForm
from .models import FundingSource, Skpd, Status
from .reports import programme_list_pdf, programme_list_xlsx
from .selectors import (
    can_manage,
    freeze_areas,
    households_selected,
    intervention_events_for,
    interventions_for,
    interventions_needing_revisit,
    programme_areas,
    programme_outcomes,
    programme_progress,
    programme_summaries,
    programme_timeline,
    programmes_for,
    resolved_without_intervention,
    skpd_of,
)
from .services import (
    evidence_photo_add,
    intervention_transition,
    interventions_bulk_transition,
    programme_create,
    target_list_freeze,
)

PAGE_ROWS = 200


def programme_index(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "programmes/index.html",
        {
            "rows": programme_summaries(request.user),
            "demo_label": settings.DEMO_DATA_LABEL,
            "can_create": _creator_skpds(request.user) is not None,
        },
    )


def _creator_skpds(user) -> list[Skpd] | None:
    """The SKPDs this user may create a programme for: any for administrators, their own
    for an SKPD's analyst; None for everyone else (for whom the page does not exist)."""
    if role_of(user) == Role.ADMIN:
        return list(Skpd.objects.order_by("name"))
    own = skpd_of(user)
    if own is not None and role_of(user) == Role.ANALYST:
        return [own]
    return None


@login_required
def programme_new(request: HttpRequest) -> HttpResponse:
    """A new programme (GET: the form, POST: save) for an SKPD's analysts and for
    administrators; `programme_create` decides, its verdicts are shown next to the fields."""
    skpds = _creator_skpds(request.user)
    if skpds is None:
        raise Http404
    indicators = Indicator.objects.filter(active=True).order_by("sort_order", "code")
    form = ProgrammeForm(
        request.POST or None,
        initial={"year": timezone.localdate().year, "unit": "household"},
        skpds=[(skpd.code, skpd.name) for skpd in skpds],
        indicators=[(indicator.code, indicator.name()) for indicator in indicators],
        areas=programme_areas(request.user),
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            programme = programme_create(
                actor=request.user,
                skpd=next(skpd for skpd in skpds if skpd.code == data["skpd"]),
                code=data["code"],
                name=data["name"],
                year=data["year"],
                funding_sources=data["funding_sources"],
                unit=data["unit"],
                indicator_id=data["indicator"],
                area_id=data["area"],
                target_count=data["target_count"],
                unit_cost=data["unit_cost"],
            )
        except NotAllowed:
            raise PermissionDenied from None
        except InvalidInput as exc:
            for field, problems in exc.fields.items():
                name = field.removesuffix("_id")
                form.add_error(name if name in form.fields else None, problems)
        else:
            messages.success(request, _("Program dibuat. Buat daftar sasarannya di bawah."))
            return redirect("programme-page", pk=programme.pk)
    return render(
        request,
        "programmes/programme_new.html",
        {"form": form},
        status=400 if form.is_bound and form.errors else 200,
    )


def _can_propose(user, programme) -> bool:
    return can_manage(user, programme) or role_of(user) == Role.OPERATOR


def _intervention_rows(user, programme, disclosure) -> list[dict]:
    rows = []
    queryset = (
        interventions_for(user)
        .filter(programme=programme)
        .select_related("household", "household__region")
        .order_by("household__region_id", "id")[:PAGE_ROWS]
    )
    for item in queryset:
        household = disclose_household(
            {"no_kk": item.household.no_kk, "alamat": item.household.alamat}, disclosure
        )
        rows.append({"item": item, **household, "village": item.household.region.name})
    return rows


def _freeze_initial(request) -> dict:
    """The freeze form filled from the address (?region=...&desil_max=...&more=...), so
    that a filtered household list can link to "buat daftar sasaran" with its filters."""
    return {name: request.GET[name] for name in FreezeForm.base_fields if name in request.GET}


def _programme_context(request, programme, *, freeze_form=None, bulk_form=None) -> dict:
    user = request.user
    named = can_view_interventions(user)
    disclosure = disclosure_for(user, unmask_requested=False)
    rows = _intervention_rows(user, programme, disclosure) if named else []
    if rows and request.method == "GET":  # households named on the page: audited views
        audit.record(action=AuditAction.VIEW, request=request, rows=len(rows))
    proposable = _can_propose(user, programme)
    areas = freeze_areas(user, programme) if proposable else []
    progress = programme_progress(user, programme)
    codes = area_codes_for(user)
    for row in progress["villages"]:
        row["status_counts"] = [row["counts"][code] for code in Status.values]
        # The village's own list (for its meeting), where the caller may read names there.
        row["own_list"] = named and (
            codes is None
            or any(row["region"] == c or row["region"].startswith(c + ".") for c in codes)
        )
    sources = dict(FundingSource.choices)
    return {
        "programme": programme,
        "progress": progress,
        "outcomes": programme_outcomes(user, programme, closed_only=True),
        "timeline": programme_timeline(user, programme),
        "statuses": Status.choices,
        "status_totals": [
            (code, label, progress["totals"]["counts"][code]) for code, label in Status.choices
        ],
        "funding": [str(sources.get(code, code)) for code in programme.funding_sources],
        "can_manage": can_manage(user, programme),
        "named": named,
        "rows": rows,
        "more_rows": named and len(rows) == PAGE_ROWS,
        "target_lists": programme.target_lists.select_related("frozen_by").order_by("version")
        if named
        else [],
        "freeze_form": freeze_form
        or (
            FreezeForm(areas=areas, initial=_freeze_initial(request))
            if proposable and areas
            else None
        ),
        "bulk_form": bulk_form,
        "revisit": interventions_needing_revisit(user, programme).count() if named else None,
        "resolved": resolved_without_intervention(user, programme).count() if named else None,
        "demo_label": settings.DEMO_DATA_LABEL,
        "map_config": {
            "coverage": reverse("api:programme-coverage", kwargs={"version": "v1"}),
            "regions": reverse("api:region-list", kwargs={"version": "v1"}),
            "indicator": programme.indicator_id,
            "year": programme.year,
            "area": programme.area_id,
            "strings": {
                "counted": _("Dihitung indikator"),
                "reached": _("Dengan intervensi"),
                "untouched": _("Belum tersentuh program"),
                "hidden": _("disembunyikan"),
            },
        },
    }


def programme_page(request: HttpRequest, pk: int) -> HttpResponse:
    programme = get_object_or_404(programmes_for(request.user), pk=pk)
    return render(request, "programmes/programme.html", _programme_context(request, programme))


@login_required
@require_POST
def programme_freeze(request: HttpRequest, pk: int) -> HttpResponse:
    """ "Buat daftar sasaran": freeze the households of the chosen area (and desil) that
    meet the programme's indicator; the result and any double-aid warning are shown."""
    programme = get_object_or_404(programmes_for(request.user), pk=pk)
    if not _can_propose(request.user, programme):
        raise PermissionDenied
    form = FreezeForm(request.POST, areas=freeze_areas(request.user, programme))
    if form.is_valid():
        criteria = form.criteria()
        try:
            result = target_list_freeze(
                actor=request.user,
                programme=programme,
                households=households_selected(request.user, criteria),
                criteria=criteria,
                exclude_other_programmes=form.cleaned_data["exclude_other_programmes"],
            )
        except NotAllowed:
            raise PermissionDenied from None
        except InvalidInput as exc:
            _freeze_errors(form, exc)
        else:
            messages.success(
                request,
                _("Daftar sasaran versi %(version)s dibekukan: %(count)s rumah tangga.")
                % {"version": result.target_list.version, "count": result.target_list.size},
            )
            for household, programmes in sorted(result.warnings.items()):
                names = ", ".join(f"{row['name']} ({row['skpd']})" for row in programmes)
                messages.warning(
                    request,
                    _("Bantuan ganda: rumah tangga %(id)s sudah di program %(programmes)s.")
                    % {"id": household, "programmes": names},
                )
            return redirect("programme-page", pk=pk)
    context = _programme_context(request, programme, freeze_form=form)
    return render(request, "programmes/programme.html", context, status=400)


def _freeze_errors(form: FreezeForm, exc: InvalidInput) -> None:
    """The selection's verdicts next to what caused them: a filter typed into "Filter
    lain" under that field, named; the rest above the form."""
    typed = set(form.cleaned_data.get("more") or {})
    for key, errors in exc.fields.items():
        name = key.removeprefix("criteria.")
        for message in errors:
            if name in typed:
                form.add_error("more", f"{name}: {message}")
            else:
                form.add_error(None, message)


@login_required
@require_POST
def programme_bulk(request: HttpRequest, pk: int) -> HttpResponse:
    """Approve (reject, cancel) the ticked interventions: all or none."""
    programme = get_object_or_404(programmes_for(request.user), pk=pk)
    if not can_view_interventions(request.user):
        raise Http404
    if not can_manage(request.user, programme):
        raise PermissionDenied
    ids = list(
        interventions_for(request.user).filter(programme=programme).values_list("pk", flat=True)
    )
    form = BulkForm(request.POST, ids=ids)
    if form.is_valid():
        try:
            changed = interventions_bulk_transition(
                actor=request.user,
                ids=form.cleaned_data["ids"],
                to_status=form.cleaned_data["status"],
            )
        except NotAllowed:
            raise PermissionDenied from None
        except InvalidInput as exc:
            form.add_error(None, [message for value in exc.fields.values() for message in value])
        else:
            messages.success(request, _("%(count)s intervensi diubah.") % {"count": changed})
            return redirect("programme-page", pk=pk)
    context = _programme_context(request, programme, bulk_form=form)
    return render(request, "programmes/programme.html", context, status=400)


def _save_intervention(request, intervention, data) -> None:
    if data.get("photo"):
        evidence_photo_add(actor=request.user, intervention=intervention, upload=data["photo"])
    if data.get("status"):
        intervention_transition(
            actor=request.user,
            intervention=intervention,
            to_status=data["status"],
            note=data.get("note") or "",
            progress=data.get("progress"),
            realised_amount=data.get("realised_amount"),
        )


@login_required
def intervention_page(request: HttpRequest, pk: int) -> HttpResponse:
    """The field form of one intervention (360 px, no JavaScript): a new status with its
    progress, amount and note, and an evidence photo. Outside the caller's areas, and
    for roles without names, it does not exist."""
    intervention = (
        interventions_for(request.user)
        .select_related("programme", "programme__skpd", "household", "household__region")
        .filter(pk=pk)
        .first()
    )
    if intervention is None:
        raise Http404
    status = 200
    if request.method == "POST":
        form = InterventionForm(request.POST, request.FILES, current=intervention.status)
        if form.is_valid():
            data = form.cleaned_data
            try:
                # The photo and the status change together, or neither.
                with transaction.atomic():
                    _save_intervention(request, intervention, data)
            except InvalidInput as exc:
                for name, errors in exc.fields.items():
                    form.add_error(name if name in form.fields else None, errors)
            except NotAllowed as exc:
                form.add_error(None, exc.message)
                status = 403
            except NotReady as exc:
                form.add_error(None, exc.message)
                status = 409
            else:
                messages.success(request, _("Intervensi disimpan."))
                return redirect("intervention-page", pk=pk)
        status = 400 if status == 200 else status
    else:
        form = InterventionForm(current=intervention.status)
    disclosure = disclosure_for(request.user, unmask_requested=False)
    if request.method == "GET":  # one named household shown: an audited view
        audit.record(action=AuditAction.VIEW, request=request, rows=1)
    household = disclose_household(
        {
            "no_kk": intervention.household.no_kk,
            "alamat": intervention.household.alamat,
            "rw": intervention.household.rw,
            "rt": intervention.household.rt,
        },
        disclosure,
    )
    return render(
        request,
        "programmes/intervention.html",
        {
            "intervention": intervention,
            "household": household,
            "events": intervention_events_for(request.user, intervention),
            "photos": intervention.photos.only("id", "width", "height", "lokasi", "uploaded_at"),
            "form": form,
            "demo_label": settings.DEMO_DATA_LABEL,
        },
        status=status,
    )


@login_required
def programme_report(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    """The by-name-by-address list of the programme's interventions in the caller's areas
    (XLSX with a summary per kecamatan, or PDF), masked per role and written to the audit
    log as an export of named records. Roles without names: it does not exist."""
    programme = get_object_or_404(programmes_for(request.user), pk=pk)
    if fmt not in ("xlsx", "pdf") or not can_view_interventions(request.user):
        raise Http404
    village = None
    if request.GET.get("desa"):
        # One village of the caller's areas (the list its meeting signs); any other code
        # is a list that does not exist for them.
        codes = area_codes_for(request.user)
        villages = Region.objects.filter(code=request.GET["desa"], level="desa")
        if codes is not None:
            villages = villages.filter(subtree_q(codes, "code"))
        village = villages.first()
        if village is None:
            raise Http404
    disclosure = disclosure_for(request.user, unmask_requested=False)
    writer = programme_list_xlsx if fmt == "xlsx" else programme_list_pdf
    content, rows = writer(
        user=request.user,
        programme=programme,
        disclosure=disclosure,
        language=get_language(),
        village=village,
    )
    audit.record(
        action=AuditAction.EXPORT,
        request=request,
        rows=rows,
        detail=f"programme {programme.code} {fmt}" + (f" {village.code}" if village else ""),
    )
    content_type = (
        "application/pdf"
        if fmt == "pdf"
        else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response = HttpResponse(content, content_type=content_type)
    name = f"program-{programme.code}" + (f"-{village.code}" if village else "")
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response
