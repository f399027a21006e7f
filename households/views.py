from django.conf import settings
from django.shortcuts import render

from villages.models import Region

from .selectors import area_summaries

HOME_KABUPATEN = "64.09"


def home(request):
    kabupaten = Region.objects.filter(code=HOME_KABUPATEN).only("code", "name").first()
    summaries = area_summaries(parent_code=HOME_KABUPATEN) if kabupaten else []
    return render(
        request,
        "households/home.html",
        {
            "kabupaten": kabupaten,
            "summaries": summaries,
            "total_households": sum(row["households"] for row in summaries),
            "total_members": sum(row["members"] for row in summaries),
            "has_synthetic": any(row["synthetic"] for row in summaries),
            "demo_label": settings.DEMO_DATA_LABEL,
        },
    )
