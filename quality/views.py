"""The quality pages: the officials' overview (/kualitas/) and a village's quality page
(/kualitas/desa/<code>/) with its flags, acceptances and sign-off. Thin: selectors read,
services write."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from desapresisi.access import (
    can_accept_flags,
    can_submit_village,
    can_verify_village,
    can_view_names,
    can_view_quality,
)
from desapresisi.errors import DomainError, InvalidInput, NotAllowed
from villages.models import Level, Region

from .models import TRANSITIONS, SignOffAction
from .selectors import (
    flags_for,
    rule_counts,
    signoff_of,
    village_score,
    village_visible,
    villages_quality,
)
from .services import flag_accept, open_round, signoff_step

FLAGS_SHOWN_PER_RULE = 100


def _village_or_404(user, code: str) -> Region:
    region = Region.objects.filter(code=code, level=Level.DESA).select_related("parent").first()
    if region is None or not village_visible(user, code):
        raise Http404
    return region


@login_required
def quality_overview(request: HttpRequest) -> HttpResponse:
    if not can_view_quality(request.user):
        raise Http404  # an account without a role, as on the other named pages
    rows = villages_quality(request.user, parent=request.GET.get("wilayah") or "64.09")
    return render(
        request,
        "quality/overview.html",
        {"rows": rows, "shares_url": reverse("api:quality-villages", kwargs={"version": "v1"})},
    )


def _record_link(flag) -> str | None:
    if flag.member_id:
        return reverse(
            "household-member-edit", kwargs={"pk": flag.household_id, "mid": flag.member_id}
        )
    if flag.household_id:
        return reverse("household-edit", kwargs={"pk": flag.household_id})
    return None


@login_required
def quality_village(request: HttpRequest, code: str) -> HttpResponse:
    region = _village_or_404(request.user, code)
    names = can_view_names(request.user)
    counts = rule_counts(region_code=code)
    sections = []
    for row in counts:
        flags = []
        if names and row["flags"]:
            queryset = (
                flags_for(request.user)
                .filter(region_id=code, rule_id=row["code"])
                .select_related("household", "member", "indicator")
                .order_by("pk")[:FLAGS_SHOWN_PER_RULE]
            )
            flags = [{"flag": flag, "link": _record_link(flag)} for flag in queryset]
        sections.append({**row, "items": flags})
    signoff = signoff_of(region_code=code)
    status = signoff.status if signoff else None
    actions = [
        action
        for action, (starts, _target) in TRANSITIONS.items()
        if status in starts
        and (
            can_submit_village(request.user, code)
            if action == SignOffAction.SUBMIT
            else can_verify_village(request.user, code)
        )
    ]
    return render(
        request,
        "quality/village.html",
        {
            "region": region,
            "sections": sections,
            "score": village_score(region_code=code),
            "names": names,
            "can_accept": can_accept_flags(request.user, code),
            "signoff": signoff,
            "survey_round": open_round(),
            "actions": [(a, SignOffAction(a).label) for a in actions],
            "events": list(signoff.events.select_related("actor")) if signoff else [],
        },
    )


@login_required
@require_POST
def quality_signoff(request: HttpRequest, code: str) -> HttpResponse:
    region = _village_or_404(request.user, code)
    try:
        signoff_step(
            user=request.user,
            region_code=region.code,
            action=request.POST.get("action", ""),
            note=request.POST.get("note", ""),
        )
    except InvalidInput as exc:
        messages.error(request, " ".join(str(v) for v in exc.fields.values()))
    except NotAllowed as exc:
        raise PermissionDenied(exc.message) from None
    except DomainError as exc:
        messages.error(request, getattr(exc, "message", str(exc)))
    else:
        messages.success(request, _("Status verifikasi diperbarui."))
    return redirect("quality-village-page", code=region.code)


@login_required
@require_POST
def quality_accept(request: HttpRequest, pk: int) -> HttpResponse:
    flag = get_object_or_404(flags_for(request.user), pk=pk)
    try:
        flag_accept(user=request.user, flag=flag, note=request.POST.get("note", ""))
    except NotAllowed as exc:
        raise PermissionDenied(exc.message) from None
    except InvalidInput as exc:
        messages.error(request, " ".join(str(v) for v in exc.fields.values()))
    else:
        messages.success(request, _("Temuan ditandai bukan masalah."))
    return redirect("quality-village-page", code=flag.region_id)
