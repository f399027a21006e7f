"""Who may see which households: the one function every household/member queryset
passes through (API, dashboard, tiles, exports, imports, admin). There is no second path.

Until roles and area assignments exist, named records are for staff accounts only;
everyone else gets an empty queryset, never an unfiltered one.
"""

from __future__ import annotations

from django.db.models import QuerySet

from households.models import Household, Member


def households_for(user, queryset: QuerySet | None = None) -> QuerySet:
    queryset = Household.objects.all() if queryset is None else queryset
    if user is not None and user.is_active and user.is_staff:
        return queryset
    return queryset.none()


def members_for(user, queryset: QuerySet | None = None) -> QuerySet:
    queryset = Member.objects.all() if queryset is None else queryset
    if user is not None and user.is_active and user.is_staff:
        return queryset
    return queryset.none()


def can_view_household_points(user) -> bool:
    """Whether the map may show this user individual household points (vector tiles)."""
    return bool(user is not None and user.is_active and user.is_staff)
