"""Who may see which households: the one place that decides.

Every queryset of households or members passes through `households_for` / `members_for`:
the API, the dashboard, tiles, exports, imports and the admin. There is no second path.
The map's cluster cells (counts of households per village and grid cell) pass through
`tile_cells_for`, which applies the same area rule.

Roles (see `Role`):
- administrator: everything, everywhere;
- SKPD analyst: named records (masked by default) and exports within their areas;
- official: dashboards and household points within their areas, never names or numbers;
- village operator: reads and edits the households of their one village;
- anonymous public: aggregate indicators per village with small-cell suppression only.
An account without a profile (and not a superuser) sees no named record.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from .masking import mask_number
from .models import AccessProfile, Role


def profile_of(user) -> AccessProfile | None:
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    cached = getattr(user, "_access_profile_cache", False)
    if cached is False:
        cached = AccessProfile.objects.filter(user=user).first()
        user._access_profile_cache = cached
    return cached


def role_of(user) -> str | None:
    """The user's role; None for the anonymous public and accounts with no role."""
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    if user.is_superuser:
        return Role.ADMIN
    profile = profile_of(user)
    return profile.role if profile else None


def areas_of(user) -> list[str] | None:
    """Area codes the user serves; None means every area (administrators)."""
    role = role_of(user)
    if role == Role.ADMIN:
        return None
    profile = profile_of(user)
    return list(profile.areas) if profile else []


def area_codes_for(user) -> list[str] | None:
    """The area rule: the codes whose subtrees this caller may see records of. None means
    every area (administrators); an empty list, none (the public, accounts without a role
    or without areas). Selectors turn it into a filter with `villages.codes.subtree_q`."""
    if role_of(user) is None:
        return []
    return areas_of(user)


def can_view_indicator_values(user) -> bool:
    """Indicator values per area are aggregates, open to everyone: the public's figures
    are small-cell suppressed (`suppression_for`), so no household can be picked out."""
    return True


def can_view_household_points(user) -> bool:
    """Whether the map may show this user individual household points (vector tiles)."""
    return role_of(user) is not None


def can_view_names(user) -> bool:
    """Names, addresses and (masked) identity numbers: not for officials or the public."""
    return role_of(user) in (Role.ADMIN, Role.ANALYST, Role.OPERATOR)


def can_unmask(user) -> bool:
    role = role_of(user)
    if role == Role.ADMIN:
        return True
    profile = profile_of(user)
    return bool(profile and profile.can_unmask and role in (Role.ANALYST, Role.OPERATOR))


def can_export_named(user) -> bool:
    return role_of(user) in (Role.ADMIN, Role.ANALYST)


def can_use_imports(user) -> bool:
    """Whether the import page and uploads are for this user at all (into which villages
    is `can_import`'s question)."""
    return role_of(user) in (Role.ADMIN, Role.OPERATOR)


def can_import(user, region_code: str) -> bool:
    """Administrators anywhere; operators into their own village only."""
    role = role_of(user)
    if role == Role.ADMIN:
        return True
    return role == Role.OPERATOR and areas_of(user) == [region_code]


def can_manage_units(user, region_code: str) -> bool:
    """Who keeps a village's list of dusun, RW and RT: administrators, and the village's
    own operator."""
    return can_import(user, region_code)


def small_cell_threshold() -> int:
    return settings.SMALL_CELL_THRESHOLD


def suppression_for(user) -> int | None:
    """Up to which count public statistics are hidden for this caller: None (exact figures)
    for every role, the small-cell threshold for the public."""
    return None if role_of(user) else small_cell_threshold()


# --- The disclosure policy: what of a named record each caller may see, filter or sort on --
#
# Roles with names (administrator, SKPD analyst, village operator) see every field, NIK and
# No. KK masked unless they may unmask and ask to. Roles without names (the official) see
# the coded answers, derived fields, the dusun (a planning unit of hundreds of people) and
# the point rounded to COARSE_DECIMALS (about 110 m), enough to plan where work is
# needed; never a name, an identity number, an address, the RW/RT (a few dozen households:
# with a point, an address), a birth date (with sex and place, it identifies) or a
# full-precision point. The public gets no household at all (see households_for).
#
# A caller may filter or sort only on fields it may see: a filter on a hidden field would
# answer "does this NIK live here?" one query at a time.

COARSE_DECIMALS = 3
PRECISE_DECIMALS = 6

# What a caller without names (`Disclosure.names` false) never gets: identity number first.
HOUSEHOLD_NAMED_FIELDS = ("no_kk", "alamat", "rw", "rt")
# A moved-out member's destination is free text about a named person: named too.
MEMBER_NAMED_FIELDS = ("nik", "nama", "tanggal_lahir", "tujuan_pindah")


@dataclass(frozen=True)
class Disclosure:
    """What a response may reveal of named records to this caller.

    names: names, addresses, RW/RT, birth dates, (masked) identity numbers and
    full-precision points; unmasked: full NIK and KK."""

    names: bool
    unmasked: bool

    @property
    def coordinate_decimals(self) -> int:
        return PRECISE_DECIMALS if self.names else COARSE_DECIMALS


def disclosure_for(user, *, unmask_requested: bool) -> Disclosure:
    """Raises PermissionError when unmasking is asked for without the right to it."""
    if unmask_requested and not can_unmask(user):
        raise PermissionError("unmask")
    return Disclosure(names=can_view_names(user), unmasked=unmask_requested)


def hidden_fields_for(user) -> frozenset[str]:
    """Household and member fields this caller may neither see nor filter or sort on."""
    if can_view_names(user):
        return frozenset()
    return frozenset(HOUSEHOLD_NAMED_FIELDS + MEMBER_NAMED_FIELDS)


def _disclose(row: dict, disclosure: Disclosure, named: tuple[str, ...]) -> dict:
    identity = named[0]
    if not disclosure.names:
        for field in named:
            if field in row:
                row[field] = None
    elif not disclosure.unmasked:
        row[identity] = mask_number(row.get(identity))
    return row


def disclose_household(row: dict, disclosure: Disclosure) -> dict:
    """`row["lokasi"]`, when present, is [lon, lat]: rounded to what the caller may see."""
    point = row.get("lokasi")
    if point:
        row["lokasi"] = [round(value, disclosure.coordinate_decimals) for value in point]
    return _disclose(row, disclosure, HOUSEHOLD_NAMED_FIELDS)


def disclose_member(row: dict, disclosure: Disclosure) -> dict:
    return _disclose(row, disclosure, MEMBER_NAMED_FIELDS)


# A row of the register of life events (households.LifeEvent) names a person too: their
# number and name, the event's date (a birth's is a birth date: with sex and place, it
# identifies; roles without names get the month), a place outside the portal, and the
# RW/RT of either household. Identity number first.
EVENT_NAMED_FIELDS = ("nik", "nama", "tanggal", "asal_tujuan", "rw", "rt", "other_rw", "other_rt")


def disclose_event(row: dict, disclosure: Disclosure) -> dict:
    return _disclose(row, disclosure, EVENT_NAMED_FIELDS)


# A unit below the village (dusun, RW, RT) is an area, open like the village's figures; its
# head's name (`kepala`) is a person's: only for a caller who may see the named records
# of that village (`households.selectors.named_village_for` answers that).
UNIT_NAMED_FIELDS = ("kepala",)


def disclose_unit(row: dict, *, names: bool) -> dict:
    if not names:
        for field in UNIT_NAMED_FIELDS:
            if field in row:
                row[field] = None
    return row


# --- Programmes and interventions (the programmes app) ------------------------------------
#
# A programme and its figures per village are aggregates: everyone may read them (the
# public's small cells suppressed, `suppression_for`). Its interventions name households:
# roles with names, within their areas. Who manages a programme is its SKPD's analysts
# (and administrators): the programmes app answers that, the SKPD being its record.


def can_view_interventions(user) -> bool:
    return can_view_names(user)


def can_manage_programmes(user) -> bool:
    """Whether this role may own programmes at all (which ones: its SKPD's)."""
    return role_of(user) in (Role.ADMIN, Role.ANALYST)


def can_work_interventions(user) -> bool:
    """Field work on interventions (start, progress, done, photos): the programme's
    managers, and village operators in their village."""
    return role_of(user) in (Role.ADMIN, Role.ANALYST, Role.OPERATOR)


# --- Data quality and village sign-off (the quality app) ----------------------------------
#
# Flags name records (by link only; the record itself passes the disclosure policy when
# opened): for every role with an account, within its areas; never for the public. A
# village's operator (and administrators) accept flags ("bukan masalah") and submit the
# village's data for a round; a verifier at kecamatan or kabupaten level (an official
# serving that area, or an administrator) approves, returns or reopens it.

_VERIFIER_AREA_LENGTHS = (5, 8)  # kabupaten, kecamatan


def can_view_quality(user) -> bool:
    return role_of(user) is not None


def can_accept_flags(user, region_code: str) -> bool:
    return can_import(user, region_code)


def can_submit_village(user, region_code: str) -> bool:
    return can_import(user, region_code)


def can_verify_village(user, region_code: str) -> bool:
    role = role_of(user)
    if role == Role.ADMIN:
        return True
    if role != Role.OFFICIAL:
        return False
    return any(
        len(area) in _VERIFIER_AREA_LENGTHS and region_code.startswith(area + ".")
        for area in areas_of(user) or []
    )
