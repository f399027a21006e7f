"""`{% quality_badge code %}`: the quality score and the open round's sign-off beside a
village's figures (the village page). A template tag, so the households templates show it
without the households app importing this one. The score (a count of flagged
households) is for roles with an account; the public sees the sign-off only."""

from django import template
from django.template.loader import render_to_string

from desapresisi.access import can_view_quality

from ..selectors import area_flags, signoff_of, village_score

register = template.Library()


@register.simple_tag(takes_context=True)
def quality_badge(context, code: str) -> str:
    if len(code or "") != 13:
        return ""
    request = context.get("request")
    user = getattr(request, "user", None)
    allowed = can_view_quality(user)
    score = village_score(region_code=code) if allowed else None
    # Outliers carry exact values: for roles with an account, as the score.
    outliers = area_flags(region_codes=[code])[code] if allowed else []
    return render_to_string(
        "quality/_badge.html",
        {
            "code": code,
            "score": score,
            "signoff": signoff_of(region_code=code),
            "outliers": outliers,
        },
    )
