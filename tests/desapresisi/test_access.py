"""Access control: a permission matrix generated from the URLconf, personal data kept
from the public, area scopes, masking, audit, history and optimistic locking.

The matrix walks every URL pattern of the project. A pattern without a rule in RULES (or,
for the Django admin, without the admin namespace rule) fails the suite: a new endpoint
cannot ship without deciding who may call it.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
import secrets
import subprocess
import sys
import uuid
from dataclasses import dataclass

import mapbox_vector_tile
import pytest
from django.contrib.admin.sites import site
from django.contrib.gis.geos import Point
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.db import connection as db
from django.db.utils import DatabaseError
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from rest_framework.authtoken.models import Token

from demo.generator import households_generate
from desapresisi import audit
from desapresisi.masking import mask_number, mask_sql
from desapresisi.models import AuditAction, AuditEntry, ChangeRecord
from households.forms import HouseholdCreateForm, member_form_for
from households.forms import form_for as household_form_for
from households.indicators.rollup import indicators_refresh
from households.models import DataSource, Household, IndicatorValue, Member, SurveyRound, TileCell
from households.models import Household as Model
from households.tiles import tile_bounds
from programmes.models import EvidencePhoto, Intervention, SkpdMember
from programmes.services import target_list_freeze
from quality.models import Flag as QualityFlag
from quality.models import SignOff as QualitySignOff
from quality.services import flags_refresh, signoff_step
from tests.factories import (
    BABULU_DESA,
    PENAJAM_KELURAHAN,
    HouseholdFactory,
    MemberFactory,
    ProgrammeFactory,
    SkpdFactory,
    nik_for,
    village_units,
)
from tests.households.census_import.test_import import household, member, upload, xlsx
from tests.households.fieldwork.exports import central_zip
from tests.programmes.test_import import status_sheet
from tests.programmes.test_services import jpeg_with_exif
from villages.models import VillageUnit

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "norole", "official", "analyst", "analyst_waru", "operator_a",
         "operator_b", "admin"]  # fmt: skip
# Which of the two test villages each role serves.
SERVES = {
    "official": {"a", "b"},
    "analyst": {"a", "b"},
    "analyst_waru": set(),
    "operator_a": {"a"},
    "operator_b": {"b"},
    "admin": {"a", "b"},
}


@dataclass(frozen=True)
class Target:
    """Which village's object the URL is called with ('a', 'b' or None), and how."""

    village: str | None
    method: str = "GET"


# Expected outcomes
OK, DENIED, HIDDEN, LOGIN = "ok", "denied", "hidden", "login"


def public(role, target):
    return OK


def any_role(role, target):
    """Lists and tiles: every role gets an answer (already narrowed to its areas)."""
    return DENIED if role in ("anonymous", "norole") else OK


def scoped(role, target):
    """Single named records: outside the caller's areas they do not exist (404)."""
    if role in ("anonymous", "norole"):
        return DENIED
    return OK if target.village in SERVES[role] else HIDDEN


def editor_scoped(role, target):
    """Writes to one named record: the village's operators and administrators. Outside
    the caller's areas the record does not exist (404); inside them, other roles are
    refused (403)."""
    if role in ("anonymous", "norole"):
        return DENIED
    if target.village not in SERVES[role]:
        return HIDDEN
    return OK if role in ("operator_a", "operator_b", "admin") else DENIED


def admin_site(role, target):
    """The Django admin: administrators only; everyone else is sent to its login."""
    return OK if role == "admin" else LOGIN


def logged_in_page(role, target):
    return LOGIN if role == "anonymous" else OK


def named_page(role, target):
    """A page of one named record: roles with names within their areas; for everyone
    else with an account it does not exist (404). Visitors are redirected to /masuk/,
    which the matrix counts as an answer (as for import-page); the household page's own
    tests check that redirect."""
    if role == "anonymous":
        return OK
    with_names = role in ("analyst", "analyst_waru", "operator_a", "operator_b", "admin")
    return OK if with_names and target.village in SERVES[role] else HIDDEN


def editor_page(role, target):
    """A page that edits one named record: the village's operators and administrators;
    for everyone else with an account it does not exist (404, analysts included).
    Visitors are redirected to /masuk/ (counted as an answer, as for named_page)."""
    if role == "anonymous":
        return OK
    editors = {"operator_a": {"a"}, "operator_b": {"b"}, "admin": {"a", "b"}}
    return OK if target.village in editors.get(role, set()) else HIDDEN


def monitor(role, target):
    """Health: anyone (no personal data in it); 200 or 503 by the state of the portal
    (tests/desapresisi/test_health.py checks which)."""
    return (OK, "status 503")


def on_this_machine(role, target):
    """Metrics: a direct call from this machine (the test client's 127.0.0.1) or the
    scraper's token; from anywhere else the URL does not exist (test_health.py)."""
    return OK


RULES = {
    "health": monitor,
    "health-live": public,
    "metrics": on_this_machine,
    "home": public,
    "village": public,  # aggregates for all; its household lists follow the API's scope
    "household-page": named_page,
    # The village's list of dusun, RW and RT: its operator and administrators (POST too).
    "village-units": editor_page,
    "village-unit-edit": editor_page,
    "village-unit-delete": editor_page,  # POST only: test_post_permission_matrix
    "household-edit": editor_page,  # GET the form; POST: test_post_permission_matrix
    # Data entry (GET the form; POST: test_post_permission_matrix): a new household of
    # the village, a member added, edited, removed (a confirmation page, then POST).
    "household-new": editor_page,
    "household-member-new": editor_page,
    "household-member-edit": editor_page,
    "household-member-remove": editor_page,
    # Life events on pages, one form per kind (GET the form; POST: the post matrix).
    "household-birth": editor_page,
    "household-move-in": editor_page,
    "household-split": editor_page,
    "household-head-change": editor_page,
    "household-member-death": editor_page,
    "household-member-move-out": editor_page,
    "household-member-transfer": editor_page,
    # The village's monthly population report: small counts of people, for roles with names.
    "population-report": named_page,
    "population-report-file": named_page,
    "login": public,
    "logout": public,
    "set_language": public,
    "api-schema": public,
    "api-docs": public,
    "api:root": public,
    "api:token": public,
    "api:region-list": public,
    "api:region-detail": public,
    "api:indicator-list": public,
    "api:indicator-detail": public,
    "api:indicator-values": public,
    # Aggregates per dusun/RW/RT, suppressed for visitors; heads' names only with names.
    "api:indicator-unit-values": public,
    "api:codebook": public,
    # Survey rounds and figures over them: aggregates, suppressed for visitors like values.
    "api:round-list": public,
    "api:indicator-trend": public,
    "api:indicator-changes": public,
    # Household-level changes: roles with names only (others 403 before anything is read);
    # the matrix world counts by survey year, not by round: a 400 naming the period. Who
    # sees which household: tests/households/test_rounds.py.
    "api:household-changes": lambda role, target: "status 400" if role in NAMED_ROLES else DENIED,
    "trend-page": public,
    # The change list of a village names households: roles with names, within their areas.
    "village-changes": named_page,
    "api:household-list": any_role,
    "api:member-list": any_role,
    "api:event-list": any_role,  # the register, narrowed to the caller's areas
    "api:household-tiles": any_role,
    "api:household-detail": scoped,
    "api:member-detail": scoped,
    # POST only (GET is 405 past the permission check): test_post_permission_matrix.
    "api:member-event": editor_scoped,
    "api:household-event": editor_scoped,
    # Named-record exports: administrators and SKPD analysts only (within their areas).
    "api:export-households": lambda role, target: (
        OK if role in ("analyst", "analyst_waru", "admin") else DENIED
    ),
    "api:export-members": lambda role, target: (
        OK if role in ("analyst", "analyst_waru", "admin") else DENIED
    ),
    "api:export-indicators": public,  # suppressed for visitors without a role
    # Export jobs: for those who may export, their own only (administrators: all); none
    # exists with the test's id.
    "api:export-job-list": lambda role, target: (
        OK if role in ("analyst", "analyst_waru", "admin") else DENIED
    ),
    "api:export-job-detail": lambda role, target: (
        HIDDEN if role in ("analyst", "analyst_waru", "admin") else DENIED
    ),
    "api:export-job-download": lambda role, target: (
        HIDDEN if role in ("analyst", "analyst_waru", "admin") else DENIED
    ),
    # POST only (GET answers 405 past the permission check); who may retry which job is
    # tested in tests/households/test_jobs.py.
    "api:export-job-retry": lambda role, target: (
        HIDDEN if role in ("analyst", "analyst_waru", "admin") else DENIED
    ),
    "api:export-village-profile": public,  # aggregates only, suppressed likewise
    "api:import-template": public,
    "api:import-list": any_role,  # GET lists the caller's own jobs
    # Jobs are the uploader's (administrators see all); none exists with the test's id.
    "api:import-detail": lambda role, target: DENIED if role in ("anonymous", "norole") else HIDDEN,
    "api:import-retry": lambda role, target: DENIED if role in ("anonymous", "norole") else HIDDEN,
    # Anonymous visitors are redirected to /masuk/ (the matrix counts any 302 outside an
    # URL containing "login" as an answer); test_imports checks the redirect itself.
    "import-page": public,
    # Field collection: the forms name the caller's villages, the entity list their
    # households; uploads and the pull are imports. Only for those who may import.
    "api:fieldwork-census-form": lambda role, target: (
        OK if role in ("operator_a", "operator_b", "admin") else DENIED
    ),
    "api:fieldwork-visit-form": lambda role, target: (
        OK if role in ("operator_a", "operator_b", "admin") else DENIED
    ),
    "api:fieldwork-entities": lambda role, target: (
        OK if role in ("operator_a", "operator_b", "admin") else DENIED
    ),
    # POST only; an upload is a dry-run job of the caller's own (test_post_permission_matrix).
    "api:fieldwork-submissions": lambda role, target: (
        OK if role in ("operator_a", "operator_b", "admin") else DENIED
    ),
    # POST only; 409 without a configured server (tests/households/fieldwork/test_api.py).
    "api:fieldwork-central-pull": lambda role, target: (
        OK if role in ("operator_a", "operator_b", "admin") else DENIED
    ),
    "export-page": public,  # likewise; it tells roles that may not export so
    # Programmes and their figures are planning information, open to all (the public's
    # small cells suppressed); interventions, target lists and photos name households.
    "api:skpd-list": public,
    "api:programme-list": public,
    "api:programme-detail": public,
    "api:programme-coverage": public,
    "api:programme-outcomes": public,  # aggregates between rounds, suppressed likewise
    "api:programme-overlaps": lambda role, target: OK if role in NAMED_ROLES else DENIED,
    # GET the frozen lists (roles with names); POST freezes one: test_post_permission_matrix.
    "api:programme-target-lists": lambda role, target: (
        programme_freeze(role, target)
        if target.method == "POST"
        else OK
        if role in NAMED_ROLES
        else DENIED
    ),
    "api:intervention-list": lambda role, target: OK if role in NAMED_ROLES else DENIED,
    "api:intervention-detail": lambda role, target: intervention_scoped(role, target),
    "api:programme-photo-file": lambda role, target: intervention_scoped(role, target),
    # POST only; the body approves (the owner SKPD's and administrators' only).
    "api:intervention-transition": lambda role, target: intervention_managed(role, target),
    # POST only, multipart: field work, the village's operator too.
    "api:intervention-photos": lambda role, target: intervention_worked(role, target),
    # POST only: approve village a's intervention; an id the caller cannot see is a 400
    # naming the item, as an unknown one.
    # POST only: an XLSX sheet approving village b's proposal; a row the caller may not
    # see or change is a 400 naming the row, as an unknown id.
    "api:intervention-import": lambda role, target: (
        DENIED
        if role in ("anonymous", "norole", "official")
        else OK
        if role in MANAGERS
        else "status 400"
    ),
    "programme-index": public,
    # A new programme: an SKPD's analysts and administrators (visitors to /masuk/); POST in
    # tests/programmes/test_pages.py.
    "programme-new": lambda role, target: OK if role == "anonymous" or role in MANAGERS else HIDDEN,
    # The by-name list of a programme (no village in its address): roles with names get
    # their areas' rows; for everyone else with an account it does not exist.
    "programme-report": lambda role, target: (
        OK if role == "anonymous" or role in NAMED_ROLES else HIDDEN
    ),
    "programme-page": public,
    # POST only (GET: visitors to /masuk/, everyone else 405): freeze one village.
    "programme-freeze": lambda role, target: (
        programme_freeze(role, target, page=True) if target.method == "POST" else OK
    ),
    # POST only: approve the ticked interventions (the owner SKPD and administrators).
    "programme-bulk": lambda role, target: programme_bulk(role, target),
    # The field form of one intervention; its POST approves (managers only).
    "intervention-page": lambda role, target: intervention_page(role, target),
    "api:intervention-bulk-transition": lambda role, target: (
        DENIED
        if role in ("anonymous", "norole", "official")
        else "status 400"
        if "a" not in SERVES[role]
        else OK
        if role in MANAGERS
        else DENIED
    ),
    # Data quality (quality/): rules are definitions, open to all; flags and village
    # summaries for every role with an account, within its areas (the public: none).
    "api:quality-rules": public,
    "api:quality-flags": any_role,
    "api:quality-villages": any_role,
    "api:quality-village": scoped,
    # POST only: accepting a flag ("bukan masalah"): the village's operator and
    # administrators; the sign-off's approval: verifiers (the official of PPU, admins).
    "api:quality-flag-accept": lambda role, target: quality_step(role, target, EDITORS),
    "api:quality-signoff": lambda role, target: quality_step(role, target, VERIFIERS),
    "quality-overview": lambda role, target: HIDDEN if role == "norole" else OK,
    "quality-village-page": lambda role, target: quality_page(role, target),
    # POST only (GET: visitors to /masuk/, everyone else 405): submitting the village for
    # verification (its operator, admins); accepting a flag (likewise).
    "quality-signoff-page": lambda role, target: quality_step(role, target, EDITORS, page=True),
    "quality-accept-page": lambda role, target: quality_step(role, target, EDITORS, page=True),
}

EDITORS = {"operator_a": {"a"}, "operator_b": {"b"}, "admin": {"a", "b"}}
VERIFIERS = {"official": {"a", "b"}, "admin": {"a", "b"}}


def quality_page(role, target):
    if role == "anonymous":
        return OK  # to /masuk/
    if role == "norole":
        return HIDDEN
    return OK if target.village in SERVES[role] else HIDDEN


def quality_step(role, target, allowed, *, page=False):
    """A step of the quality workflow on one village's object: outside the caller's areas
    it does not exist (404); inside them, only `allowed` may take it (403)."""
    if role == "anonymous":
        return OK if page else DENIED
    if page and target.method == "GET":
        return OK  # 405
    if role == "norole":
        return HIDDEN if page else DENIED
    if target.village not in SERVES[role]:
        return HIDDEN
    return OK if target.village in allowed.get(role, set()) else DENIED


# Roles that see named records; the analyst (all of PPU) is in the SKPD owning the
# world's programmes (Dinas Kesehatan), analyst_waru in none.
NAMED_ROLES = {"analyst", "analyst_waru", "operator_a", "operator_b", "admin"}
MANAGERS = {"analyst", "admin"}


def intervention_scoped(role, target):
    if role not in NAMED_ROLES:
        return DENIED
    return OK if target.village in SERVES[role] else HIDDEN


def intervention_managed(role, target):
    found = intervention_scoped(role, target)
    return found if found != OK else OK if role in MANAGERS else DENIED


def intervention_worked(role, target):
    found = intervention_scoped(role, target)
    return (
        found if found != OK else OK if role in MANAGERS | {"operator_a", "operator_b"} else DENIED
    )


def programme_freeze(role, target, *, page=False):
    """Freezing the households of one village: the owner SKPD and administrators, and a
    village operator for their own village (elsewhere they see no household: nothing to
    freeze, a 400 naming the criteria). The page sends visitors to /masuk/ (an answer)."""
    if role == "anonymous":
        return OK if page else DENIED
    if role == "norole":
        return DENIED
    if role in MANAGERS:
        return OK
    if role in ("operator_a", "operator_b"):
        return OK if target.village in SERVES[role] else "status 400"
    return DENIED


def programme_bulk(role, target):
    if role == "anonymous" or target.method == "GET":
        return OK  # visitors to /masuk/; GET is 405 for everyone else
    if role not in NAMED_ROLES:
        return HIDDEN
    return OK if role in MANAGERS else DENIED


def intervention_page(role, target):
    if role == "anonymous":
        return OK  # to /masuk/
    if role not in NAMED_ROLES:
        return HIDDEN
    if target.method == "POST":
        return intervention_managed(role, target)
    return intervention_scoped(role, target)


def next_status(pk: int) -> str:
    """A manager's next step for this intervention: approve, or cancel an approved one."""
    return "disetujui" if Intervention.objects.get(pk=pk).status == "diusulkan" else "batal"


# Query strings a route needs to answer at all.
QUERIES = {
    "api:indicator-values": "?indicator=babs&level=desa&parent=64.09",
    "api:indicator-trend": "?indicator=tanpa_jamban&level=desa&parent=64.09",
    "api:indicator-changes": "?indicator=tanpa_jamban&level=desa&parent=64.09&from=2025&to=2025",
    "api:household-changes": "?village=64.09.01.1001&indicator=tanpa_jamban&from=2025&to=2025",
    "api:export-indicators": "?indicator=babs&level=desa&parent=64.09",
    "api:programme-coverage": "?indicator=jumlah_rumah_tangga&year=2026",
}


def walk(patterns, prefix="", namespace=""):
    """(name, route) of every pattern; unnamed ones inside a namespace are named
    `<namespace>:` so that the namespace's rule covers them."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}:{pattern.namespace}" if namespace else (pattern.namespace or "")
            yield from walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}:{pattern.name or ''}" if namespace else pattern.name
            yield name, prefix + str(pattern.pattern)


ALL_URLS = sorted(set(walk(get_resolver().url_patterns)), key=lambda item: (item[0] or "", item[1]))


def rule_for(name: str | None):
    if name in ("admin:login", "admin:logout"):
        return public  # the login form itself; logging out harms nobody
    if name and name.startswith("admin:"):
        return admin_site
    return RULES.get(name)


def test_every_url_has_an_access_rule():
    missing = [(name, route) for name, route in ALL_URLS if rule_for(name) is None]
    assert missing == [], (
        f"URLs without an access rule in tests/desapresisi/test_access.py: {missing}"
    )


@pytest.fixture
def world(personas):
    household_a = HouseholdFactory(region_id=PENAJAM_KELURAHAN, head__nama="Zulkarnain Rahasia")
    household_b = HouseholdFactory(region_id=BABULU_DESA, head__nama="Marlina Rahasia")
    member_a = MemberFactory(household=household_a, nama="Anak Rahasia Satu")
    member_b = MemberFactory(household=household_b, nama="Anak Rahasia Dua")
    indicators_refresh(full=True)
    skpd = SkpdFactory(code="dinkes", name="Dinas Kesehatan")
    SkpdMember.objects.create(user=personas["analyst"], skpd=skpd)
    programme = ProgrammeFactory(skpd=skpd, indicator_id="jumlah_rumah_tangga")
    fresh = ProgrammeFactory(skpd=skpd, indicator_id="jumlah_rumah_tangga")
    page_fresh = ProgrammeFactory(skpd=skpd, indicator_id="jumlah_rumah_tangga")
    # One programme per kind of write, so that each POST of the matrix meets a proposal.
    others = {
        name: ProgrammeFactory(skpd=skpd, indicator_id="jumlah_rumah_tangga")
        for name in ("api_bulk", "page_bulk", "page_form")
    }
    everyone = Household.objects.all()
    for each in (programme, *others.values()):
        target_list_freeze(
            actor=personas["admin"], programme=each, households=everyone, criteria={}
        )
    world = {
        "personas": personas,
        "programme": programme,
        "fresh_programme": fresh,
        "page_fresh_programme": page_fresh,
        **others,
    }
    for village, house, person, code in (
        ("a", household_a, member_a, PENAJAM_KELURAHAN),
        ("b", household_b, member_b, BABULU_DESA),
    ):
        intervention = Intervention.objects.get(programme=programme, household=house)
        photo = EvidencePhoto.objects.create(
            intervention=intervention, image=b"x", width=1, height=1, uploaded_by=personas["admin"]
        )
        world[village] = {
            "household": house,
            "member": person,
            "code": code,
            "intervention": intervention,
            **{
                name: Intervention.objects.get(programme=each, household=house)
                for name, each in others.items()
            },
            "photo": photo,
        }
    return world


@pytest.fixture
def unit_world(world):
    """The world with each village's units (the factory's names: the unit edit page is
    called with its RT) and one unit no household uses (the delete is called with it)."""
    for village in ("a", "b"):
        code = world[village]["code"]
        units = village_units(code, {"Lingkungan I": {"001": ["002"]}})
        world[village]["rt"] = units["Lingkungan I/001/002"]
        world[village]["unit"] = VillageUnit.objects.create(
            region_id=code, kind="dusun", name="Cadangan"
        )
    return world


def tile_of(point, z=16):
    n = 2**z
    x = int((point.x + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(point.y))) / math.pi) / 2 * n)
    return z, x, y


def fill(route: str, name: str | None, world, village: str | None) -> str:
    """A concrete path for a route, pointing at village `village`'s objects."""
    objects = world[village or "a"]
    household, member = objects["household"], objects["member"]
    z, x, y = tile_of(household.lokasi)
    if name == "village-unit-edit":
        pk = getattr(objects.get("rt"), "pk", 0)
    elif name == "village-unit-delete":
        pk = getattr(objects.get("unit"), "pk", 0)
    elif name in ("api:programme-detail", "api:programme-outcomes", "programme-page"):
        pk = world["programme"].pk
    elif name == "api:programme-target-lists":
        pk = world["fresh_programme"].pk
    elif name == "programme-freeze":
        pk = world["page_fresh_programme"].pk
    elif name == "programme-report":
        pk = world["programme"].pk
    elif name == "programme-bulk":
        pk = world["page_bulk"].pk
    elif name == "intervention-page":
        pk = objects["page_form"].pk
    elif name and name.startswith("api:intervention-"):
        pk = objects["intervention"].pk
    elif name == "api:programme-photo-file":
        pk = objects["photo"].pk
    else:
        # Member pages are /rumah-tangga/<pk>/anggota/<mid>/...: pk is the household.
        pk = member.pk if name and name.startswith("api:member") else household.pk
    values = {
        "version": "v1",
        "pk": pk,
        "mid": member.pk,
        "object_id": household.pk,
        "code": "babs" if name == "api:indicator-detail" else objects["code"],
        "z": z,
        "x": x,
        "y": y,
        "app_label": "households",
        "content_type_id": "1",
        "fmt": "xlsx" if name in ("population-report-file", "programme-report") else "csv",
        "url": "",
    }

    def replace(match):
        return str(values.get(match.group("name"), "1"))

    # Regex groups first, `(?P<version>v1)`, then path converters, `<int:pk>`.
    path = re.sub(r"\(\?P<(?P<name>\w+)>[^)]*\)", replace, route)
    path = re.sub(r"<(?:(?P<conv>[^>:]+):)?(?P<name>[^>]+)>", replace, path)
    path = path.replace("^", "").replace("$", "").replace("\\Z", "").replace("\\", "")
    return "/" + path.lstrip("/")


def classify(response) -> str:
    status = response.status_code
    if status in (401, 403):
        return DENIED
    if status == 404:
        return HIDDEN
    if status in (301, 302) and "login" in response.get("Location", ""):
        return LOGIN
    if status < 400:
        return OK
    return f"status {status}"


def targets_for(route: str):
    has_object = any(key in route for key in ("<int:pk>", "<str:code>", "object_id", "<int:z>"))
    return [Target("a"), Target("b")] if has_object else [Target(None)]


@pytest.mark.parametrize("role", ROLES)
def test_permission_matrix(role, unit_world, client):
    world = unit_world
    failures = []
    user = None if role == "anonymous" else world["personas"][role]
    for name, route in ALL_URLS:
        rule = rule_for(name)
        for target in targets_for(route):
            client.logout()
            if user is not None:
                client.force_login(user)
            path = fill(route, name, world, target.village) + QUERIES.get(name, "")
            response = client.get(path)
            expected = rule(role, target)
            got = classify(response)
            # A route with GET not allowed (POST-only) must still never leak: 405 is fine.
            if response.status_code == 405:
                continue
            # Administrators may meet a 403/404 inside the admin (a model that cannot be added,
            # an id of another model); what matters there is that nobody else gets in.
            if (
                name
                and name.startswith("admin:")
                and role == "admin"
                and got in (OK, HIDDEN, DENIED)
            ):
                continue
            if got not in (expected if isinstance(expected, tuple) else (expected,)):
                failures.append(f"{role} GET {path} ({name}): expected {expected}, got {got}")
    assert failures == []


# POST-only URLs and a body that succeeds for a caller who may write: every role posts
# to the object of its own and of the other village.
POST_BODIES = {
    # A multipart upload (FORM_POSTS): an ODK Central export of one family, as a dry run.
    "api:fieldwork-submissions": lambda world, village: {
        "file": SimpleUploadedFile("sensus.zip", fieldwork_export(), "application/zip"),
        "dry_run": "true",
    },
    "api:member-event": lambda world, village: {
        "kind": "meninggal",
        "tanggal": "2025-12-01",
        "versi": world[village]["member"].versi,
    },
    # A form post (not JSON): the household's own answers with one changed.
    "household-edit": lambda world, village: {
        **household_form_post(world[village]["household"]),
        "lantai": "8",
    },
    "api:household-event": lambda world, village: {
        "kind": "lahir",
        "nama": "Bayi Matriks",
        "jenis_kelamin": 1,
        "tanggal": "2025-12-01",
        "versi": world[village]["household"].versi,
    },
    "village-units": lambda world, village: {"kind": "rw", "name": "009", "parent": ""},
    "village-unit-edit": lambda world, village: {"name": "002", "kepala": "Ketua Matriks"},
    "village-unit-delete": lambda world, village: {},
    "household-new": lambda world, village: new_household_post(),
    "household-member-new": lambda world, village: {
        **member_form_post(world[village]["household"]),
        "nama": "Anggota Matriks",
        "jenis_kelamin": "2",
        "tanggal_lahir": "1990-01-01",
        "hubungan_keluarga": "9",
        "disabilitas": "false",
    },
    "household-member-edit": lambda world, village: {
        **member_form_post(world[village]["member"]),
        "pekerjaan": "Nelayan",
    },
    "household-birth": lambda world, village: {
        **event_form_post(world[village]["household"]),
        "nama": "Bayi Halaman",
        "jenis_kelamin": "2",
        "disabilitas": "false",
    },
    "household-move-in": lambda world, village: {
        **event_form_post(world[village]["household"]),
        "asal": "1",
        "nik": nik_for(world[village]["code"], dt.date(1995, 4, 4), 1, 7000),
        "nama": "Pendatang Matriks",
        "jenis_kelamin": "1",
        "tanggal_lahir": "1995-04-04",
        "hubungan_keluarga": "9",
    },
    # Manager-only either way: approve, or cancel when the bulk change approved it already.
    "api:intervention-transition": lambda world, village: {
        "status": next_status(world[village]["intervention"].pk)
    },
    "api:intervention-bulk-transition": lambda world, village: {
        "ids": [world["a"]["api_bulk"].pk],
        "status": "disetujui",
    },
    "programme-freeze": lambda world, village: {"region": world[village]["code"]},
    "api:intervention-import": lambda world, village: {
        "file": status_sheet([["id", "status"], [world["b"]["api_bulk"].pk, "disetujui"]])
    },
    "programme-bulk": lambda world, village: {
        "ids": [str(world[village]["page_bulk"].pk)],
        "status": "disetujui",
    },
    "intervention-page": lambda world, village: {"status": "disetujui", "note": "matriks"},
    "api:intervention-photos": lambda world, village: {
        "photo": SimpleUploadedFile("bukti.jpg", jpeg_with_exif(), content_type="image/jpeg")
    },
    "api:programme-target-lists": lambda world, village: {
        "criteria": {"region": world[village]["code"]}
    },
}
# Sent as a browser sends a form, not as JSON.
FORM_POSTS = {
    "api:fieldwork-submissions",
    "household-edit",
    "api:intervention-photos",
    "programme-freeze",
    "programme-bulk",
    "intervention-page",
    "api:intervention-import",
    "village-units",
    "village-unit-edit",
    "village-unit-delete",
    "household-new",
    "household-member-new",
    "household-member-edit",
    "household-member-remove",
}
# POSTs whose object is made for the post: a member entered by mistake (no life events),
# which the other posts (a death) would otherwise have given history.
POST_PATHS = {
    "household-member-remove": lambda world, village: (
        f"/rumah-tangga/{world[village]['household'].pk}/anggota/"
        f"{MemberFactory(household=world[village]['household']).pk}/hapus/"
    ),
}
# POSTs that need their own current member (the matrix's member died in an earlier post):
# (path, body), made for the post.
POST_SETUPS = {
    "household-member-death": lambda world, village: member_event_setup(
        world, village, "meninggal"
    ),
    "household-member-move-out": lambda world, village: member_event_setup(
        world, village, "pindah-keluar", tujuan_pindah="Balikpapan"
    ),
    "household-member-transfer": lambda world, village: member_event_setup(
        world,
        village,
        "pindahkan",
        rumah_tangga_tujuan=HouseholdFactory(region_id=world[village]["code"]).no_kk,
    ),
    "household-split": lambda world, village: household_event_setup(
        world, village, "pecah-kk", lambda m: {"anggota_pecah": [m.pk], "kepala_baru": m.pk}
    ),
    "household-head-change": lambda world, village: household_event_setup(
        world, village, "ganti-kepala", lambda m: {"anggota": m.pk}
    ),
}
FORM_POSTS |= set(POST_SETUPS) | {"household-birth", "household-move-in"}


def quality_round(*, closed: bool = False) -> SurveyRound:
    """The matrix's open round (submitting needs one), or a closed one: approving a closed
    round's data locks nothing, so the posts after it still write."""
    code = "2024-matriks" if closed else "2025-matriks"
    found = SurveyRound.objects.filter(code=code).first()
    return found or SurveyRound.objects.create(
        code=code,
        name="Putaran matriks",
        source="pendataan",
        reference_date=dt.date(2024 if closed else 2025, 10, 1),
        status="ditutup" if closed else "terbuka",
        closed_at=timezone.now() if closed else None,
    )


def quality_flag_path(world, village, page=False):
    """A fresh flag (a decile-1 household with no aid) in the village, to accept."""
    code = world[village]["code"]
    house = HouseholdFactory(region_id=code, desil_kesejahteraan=1)
    flags_refresh(villages=[code])
    pk = QualityFlag.objects.get(household=house, rule_id="desil_bawah_tanpa_bansos").pk
    if page:
        return f"/kualitas/temuan/{pk}/terima/", {"note": "Matriks"}
    return f"/api/v1/quality/flags/{pk}/accept/", {"note": "Matriks"}


def quality_approval_path(world, village):
    """The village submitted (by an administrator), for the caller to approve."""
    code, closed = world[village]["code"], quality_round(closed=True)
    signoff = QualitySignOff.objects.filter(region_id=code, survey_round=closed).first()
    if signoff is None or signoff.status != "diajukan":
        signoff_step(
            user=world["personas"]["admin"], region_code=code, action="ajukan", survey_round=closed
        )
    body = {"action": "setujui", "round": closed.code}
    return f"/api/v1/quality/villages/{code}/signoff/", body


def quality_submit_path(world, village):
    quality_round()
    code = world[village]["code"]
    QualitySignOff.objects.filter(region_id=code, survey_round__status="terbuka").delete()
    return f"/kualitas/desa/{code}/verifikasi/", {"action": "ajukan"}


POST_SETUPS.update(
    {
        "api:quality-flag-accept": lambda world, village: quality_flag_path(world, village),
        "quality-accept-page": lambda world, village: quality_flag_path(world, village, True),
        "api:quality-signoff": quality_approval_path,
        "quality-signoff-page": quality_submit_path,
    }
)
FORM_POSTS |= {"quality-accept-page", "quality-signoff-page"}


def fieldwork_export() -> bytes:
    """An ODK Central export of one approved family (a new No. KK in desa A)."""
    kk = "6409010101259901"
    return central_zip(
        [
            {
                "instance": "uuid:99999999-1111-4222-8333-444455556666",
                "review": "approved",
                "household": household(kk),
                "members": [member(kk, 9901)],
            }
        ]
    )


def event_form_post(obj) -> dict:
    """A life-event form's bookkeeping and date: the version of `obj` (household or
    member) and a date after the factories' survey date."""
    obj.refresh_from_db()
    return {"versi": obj.versi, "tanggal": "2025-12-01"}


def member_event_setup(world, village, slug, **data):
    household = world[village]["household"]
    fresh = MemberFactory(household=household)
    path = f"/rumah-tangga/{household.pk}/anggota/{fresh.pk}/{slug}/"
    return path, {**event_form_post(fresh), **data}


def household_event_setup(world, village, slug, fields):
    household = world[village]["household"]
    fresh = MemberFactory(household=household)
    return f"/rumah-tangga/{household.pk}/{slug}/", {**event_form_post(household), **fields(fresh)}


def new_household_post() -> dict:
    """A new household's form, answered: the survey date and the head's name, sex and
    birth date (No. KK and NIK left for the portal's temporary numbers)."""
    form = HouseholdCreateForm()
    data = dict.fromkeys(form.fields, "")
    for name, field in form.fields.items():
        if getattr(field, "choices", None) and getattr(field.widget, "input_type", "") == "radio":
            data[name] = "false" if field.required else ""
    data.update(
        {
            "tanggal_survei": "2025-06-01",
            "kepala_nama": "Kepala Matriks",
            "kepala_jenis_kelamin": "1",
            "kepala_tanggal_lahir": "1980-02-02",
        }
    )
    return data


def member_form_post(obj) -> dict:
    """What a member form posts unchanged: a member's own data, or (for a household)
    an empty new member with the household's version."""
    obj.refresh_from_db()
    if isinstance(obj, Member):
        form = member_form_for(obj)
        return {name: form.initial.get(name, "") for name in form.fields}
    return {"versi": obj.versi, "nik": ""}


def household_form_post(household) -> dict:
    """What the edit form of `household` posts unchanged (its own initial data)."""
    household.refresh_from_db()
    form = household_form_for(household)
    return {name: form.initial.get(name, "") for name in form.fields}


@pytest.mark.parametrize("role", ROLES)
def test_post_permission_matrix(role, unit_world, client):
    world = unit_world
    failures = []
    user = None if role == "anonymous" else world["personas"][role]
    for name, route in ALL_URLS:
        if name not in POST_BODIES and name not in POST_SETUPS:
            continue
        for target in targets_for(route):
            client.logout()
            if user is not None:
                client.force_login(user)
            if name in POST_SETUPS:
                path, body = POST_SETUPS[name](world, target.village)
            elif name in POST_PATHS:
                body = POST_BODIES[name](world, target.village)
                path = POST_PATHS[name](world, target.village)
            else:
                body = POST_BODIES[name](world, target.village)
                path = fill(route, name, world, target.village)
            if name in FORM_POSTS:
                response = client.post(path, body)
            else:
                response = client.post(path, body, content_type="application/json")
            posted = Target(target.village, method="POST")
            expected, got = rule_for(name)(role, posted), classify(response)
            if got != expected:
                failures.append(f"{role} POST {path} ({name}): expected {expected}, got {got}")
    assert failures == []


SECRETS_PATTERN = re.compile(r"\b64090[13]\d{10}\b|64090[13]\*+\d{4}|64090[13]\*[A-Z]{4}\*\d{4}")


def test_anonymous_responses_carry_no_personal_data(world, client):
    names = ["Zulkarnain Rahasia", "Marlina Rahasia", "Anak Rahasia Satu", "Anak Rahasia Dua"]
    coordinates = []
    for village in ("a", "b"):
        point = world[village]["household"].lokasi
        # As pairs: one number alone may equal a vertex of a public boundary by chance.
        coordinates += [
            f"{point.x:.6f},{point.y:.6f}",
            f"{point.x:.6f}, {point.y:.6f}",
            f"{point.x!r},{point.y!r}",
            f"{point.x!r}, {point.y!r}",
        ]
    checked = 0
    for name, route in ALL_URLS:
        for target in targets_for(route):
            path = fill(route, name, world, target.village)
            for query in ("", "?format=geojson", "?unmask=true"):
                response = client.get(path + query)
                if response.status_code >= 300 or response.get("Content-Type", "").startswith(
                    "image/"
                ):
                    continue
                body = response.content.decode("utf-8", errors="ignore")
                checked += 1
                assert not SECRETS_PATTERN.search(body), f"identity number in {path}{query}"
                for secret in names + coordinates:
                    assert secret not in body, f"{secret!r} in anonymous response {path}{query}"
    assert checked > 10


# --- area scope ---------------------------------------------------------------------------


def test_operator_cannot_read_other_village_by_id(world, as_user):
    client = as_user(world["personas"]["operator_a"])
    other = world["b"]
    assert client.get(f"/api/v1/households/{other['household'].pk}/").status_code == 404
    assert client.get(f"/api/v1/members/{other['member'].pk}/").status_code == 404
    own = client.get(f"/api/v1/households/{world['a']['household'].pk}/")
    assert own.status_code == 200


def test_operator_cannot_change_other_village_by_id(world, as_user):
    client = as_user(world["personas"]["operator_a"])
    other = world["b"]["household"]
    response = client.patch(
        f"/api/v1/households/{other.pk}/",
        {"fasilitas_bab": 6, "jenis_kloset": None, "versi": 1},
        content_type="application/json",
    )
    assert response.status_code == 404
    other.refresh_from_db()
    assert other.fasilitas_bab == 1


def test_operator_lists_and_tiles_hold_only_their_village(world, as_user):
    client = as_user(world["personas"]["operator_a"])
    rows = client.get("/api/v1/households/?page_size=1000").json()["results"]
    assert {row["region"] for row in rows} == {PENAJAM_KELURAHAN}
    members = client.get("/api/v1/members/?page_size=1000").json()["results"]
    assert {row["region"] for row in members} == {PENAJAM_KELURAHAN}
    z, x, y = tile_of(world["b"]["household"].lokasi)
    tile = client.get(f"/api/v1/tiles/households/{z}/{x}/{y}.pbf")
    assert tile.status_code == 200 and tile.content == b""


def test_operator_is_kept_out_of_the_admin(world, as_user):
    client = as_user(world["personas"]["operator_a"])
    url = f"/admin/households/household/{world['b']['household'].pk}/change/"
    assert classify(client.get(url)) == LOGIN


def test_admin_querysets_pass_through_the_scope(world, rf):
    model_admin = site._registry[Model]
    request = rf.get("/admin/households/household/")
    request.user = world["personas"]["analyst_waru"]
    assert model_admin.get_queryset(request).count() == 0
    request.user = world["personas"]["admin"]
    assert model_admin.get_queryset(request).count() == 2


# --- masking, names and the audit log -------------------------------------------------------


def test_identity_numbers_are_masked_by_default(world, as_user):
    client = as_user(world["personas"]["analyst"])
    household = world["a"]["household"]
    body = client.get(f"/api/v1/households/{household.pk}/").json()
    assert body["no_kk"] == mask_number(household.no_kk)
    assert re.fullmatch(r"640901\*[A-Z]{4}\*\d{4}", body["no_kk"])
    nik = body["members"][0]["nik"]
    assert re.fullmatch(r"\d{6}\*[A-Z]{4}\*\d{4}", nik)
    assert AuditEntry.objects.filter(action=AuditAction.UNMASK).count() == 0


def test_unmasking_shows_full_numbers_and_is_audited(world, as_user):
    client = as_user(world["personas"]["analyst"])
    household = world["a"]["household"]
    body = client.get(
        f"/api/v1/households/?unmask=true&region={PENAJAM_KELURAHAN}", REMOTE_ADDR="10.1.2.3"
    ).json()
    assert body["results"][0]["no_kk"] == household.no_kk
    entry = AuditEntry.objects.get(action=AuditAction.UNMASK)
    assert entry.username == "analis-uji"
    assert entry.address == "10.1.2.3"
    assert entry.rows == 1
    assert entry.filters == {"unmask": ["true"], "region": [PENAJAM_KELURAHAN]}


def test_unmasking_without_the_right_is_refused_and_audited(world, as_user):
    client = as_user(world["personas"]["operator_a"])
    response = client.get(f"/api/v1/households/{world['a']['household'].pk}/?unmask=true")
    assert response.status_code == 403
    assert AuditEntry.objects.filter(action=AuditAction.ACCESS_DENIED).exists()


def test_official_sees_points_but_no_names_or_numbers(world, as_user):
    client = as_user(world["personas"]["official"])
    body = client.get(f"/api/v1/households/{world['a']['household'].pk}/").json()
    assert body["no_kk"] is None and body["alamat"] is None
    assert all(member["nik"] is None and member["nama"] is None for member in body["members"])
    assert body["lokasi"] is not None
    assert (
        client.get(f"/api/v1/households/{world['a']['household'].pk}/?unmask=true").status_code
        == 403
    )


def test_admin_list_masks_and_opening_a_household_is_audited(world, as_user):
    client = as_user(world["personas"]["admin"])
    household = world["a"]["household"]
    listing = client.get("/admin/households/household/").content.decode()
    assert household.no_kk not in listing
    assert mask_number(household.no_kk) in listing
    client.get(f"/admin/households/household/{household.pk}/change/")
    assert AuditEntry.objects.filter(
        action=AuditAction.VIEW, detail__contains=str(household.pk)
    ).exists()


def test_audit_log_and_history_are_append_only(world):
    entry = audit.record(action=AuditAction.EXPORT, user=world["personas"]["admin"], rows=3)
    for statement in (
        "UPDATE desapresisi_auditentry SET rows = 0 WHERE id = %s",
        "DELETE FROM desapresisi_auditentry WHERE id = %s",
    ):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, [entry.pk])
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM desapresisi_changerecord")


def _role(cursor, *, execute_pause: bool = False) -> str:
    """A role like a production web role (or, with `execute_pause`, a maintenance role
    that is granted the pause): no superuser, not the tables' owner, the privileges the web
    app needs on every table. Created inside the test's transaction, so it is rolled back."""
    name = f"uji_{uuid.uuid4().hex[:12]}"
    cursor.execute(f"CREATE ROLE {name} NOLOGIN NOSUPERUSER NOCREATEROLE NOBYPASSRLS")
    cursor.execute(f"GRANT USAGE ON SCHEMA public TO {name}")
    cursor.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {name}")
    cursor.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {name}")
    if execute_pause:
        cursor.execute(
            f"GRANT EXECUTE ON FUNCTION desapresisi_maintenance.history_pause(text) TO {name}"
        )
    return name


def _history_of(cursor, household_id: int) -> list[tuple[str, str]]:
    cursor.execute(
        'SELECT "table", action FROM desapresisi_changerecord WHERE household_id = %s ORDER BY id',
        [household_id],
    )
    return cursor.fetchall()


def test_web_role_cannot_switch_the_history_off(world):
    household = world["a"]["household"]
    before = ChangeRecord.objects.filter(household_id=household.pk).count()
    attempts = {
        "set_config": "SELECT set_config('desapresisi.history', 'off', true)",
        "set local": "SET LOCAL desapresisi.history = 'off'",
        "pause function": "SELECT desapresisi_maintenance.history_pause('web')",
        "pause table": "INSERT INTO desapresisi_maintenance.history_pause (txid, reason) "
        "VALUES (txid_current(), 'web')",
        "disable triggers": "ALTER TABLE households_household DISABLE TRIGGER USER",
        "replica role": "SET LOCAL session_replication_role = replica",
    }
    refused = []
    with connection.cursor() as cursor:
        web = _role(cursor)
        cursor.execute(f"SET LOCAL ROLE {web}")
        for number, (way, sql) in enumerate(attempts.items(), start=1):
            try:
                with transaction.atomic():
                    cursor.execute(sql)
            except DatabaseError:
                refused.append(way)
            cursor.execute(
                "UPDATE households_household SET rt = %s WHERE id = %s",
                [f"{number:03d}", household.pk],
            )
        # The member count the database keeps (as the owner, without a history diff)
        # leaves no record; the member does.
        MemberFactory(household=household, nama="Anak Uji")
        recorded = _history_of(cursor, household.pk)[before:]
        cursor.execute("RESET ROLE")
        assert recorded == [("household", "update")] * len(attempts) + [("member", "insert")]
        assert refused == ["pause function", "pause table", "disable triggers", "replica role"]
        cursor.execute("SELECT count(*) FROM desapresisi_maintenance.history_pause")
        assert cursor.fetchone()[0] == 0
    household.refresh_from_db()
    assert household.jumlah_anggota == 3  # the count was kept all the same


def test_maintenance_role_pauses_the_history_for_its_transaction_only(world):
    household = world["a"]["household"]
    with connection.cursor() as cursor:
        maintenance = _role(cursor, execute_pause=True)
        cursor.execute(f"SET LOCAL ROLE {maintenance}")
        with transaction.atomic():
            cursor.execute("SELECT desapresisi_maintenance.history_pause('uji pemeliharaan')")
            cursor.execute(
                "UPDATE households_household SET rt = '009' WHERE id = %s", [household.pk]
            )
            paused = _history_of(cursor, household.pk)
            cursor.execute("RESET ROLE")
            cursor.execute("SELECT db_role, reason FROM desapresisi_maintenance.history_pause")
            who = cursor.fetchall()
            cursor.execute(f"SET LOCAL ROLE {maintenance}")
            transaction.set_rollback(True)
        # The pause was rolled back with its (sub)transaction: history is on again.
        cursor.execute("UPDATE households_household SET rt = '010' WHERE id = %s", [household.pk])
        after = _history_of(cursor, household.pk)
        cursor.execute("RESET ROLE")
    assert paused == [("household", "insert"), ("member", "insert"), ("member", "insert")]
    assert who == [(connection.settings_dict["USER"], "uji pemeliharaan")]
    assert after == [*paused, ("household", "update")]


def test_demo_generator_pauses_the_history_through_the_maintenance_function(db):
    households_generate(region_code="64.09.01", households=12, seed=5)
    synthetic = Household.objects.filter(sumber_data=DataSource.SYNTHETIC).values("pk")
    assert synthetic.count() == 12
    assert not ChangeRecord.objects.filter(household_id__in=synthetic).exists()
    with connection.cursor() as cursor:
        cursor.execute("SELECT reason FROM desapresisi_maintenance.history_pause")
        assert cursor.fetchall() == [("synthetic demo census",)]


def test_audit_log_is_for_administrators_only(world, as_user):
    assert (
        as_user(world["personas"]["admin"]).get("/admin/desapresisi/auditentry/").status_code == 200
    )
    analyst = as_user(world["personas"]["analyst"])
    assert classify(analyst.get("/admin/desapresisi/auditentry/")) == LOGIN


# --- edits: optimistic locking and history --------------------------------------------------


def patch(client, url, data, **headers):
    return client.patch(url, data, content_type="application/json", **headers)


def test_operator_edits_own_household_and_history_keeps_old_and_new(world, as_user):
    client = as_user(world["personas"]["operator_a"])
    household = world["a"]["household"]
    url = f"/api/v1/households/{household.pk}/"
    version = client.get(url).json()["versi"]
    response = patch(client, url, {"fasilitas_bab": 6, "jenis_kloset": None, "versi": version})
    assert response.status_code == 200, response.json()
    assert response.json()["versi"] == version + 1
    assert response.json()["tangga_sanitasi"] == 0
    record = ChangeRecord.objects.get(table="household", row_id=household.pk, action="update")
    assert record.changes == {"fasilitas_bab": [1, 6], "jenis_kloset": [1, None]}
    assert record.actor.startswith(f"{world['personas']['operator_a'].pk}:operator-a@")


def test_an_edit_brings_figures_and_map_cells_up_to_date_after_commit(
    world, as_user, settings, django_capture_on_commit_callbacks
):

    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    household = world["a"]["household"]
    indicators_refresh(full=True)

    def no_latrine():
        return IndicatorValue.objects.get(
            indicator_id="tanpa_jamban", region_id=household.region_id
        ).numerator

    before = no_latrine()
    client = as_user(world["personas"]["operator_a"])
    url = f"/api/v1/households/{household.pk}/"
    version = client.get(url).json()["versi"]
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = patch(client, url, {"fasilitas_bab": 6, "jenis_kloset": None, "versi": version})
    # One refresh queued by the edit (the refresh then announces itself: another callback).
    queued = [c for c in callbacks if getattr(c, "__name__", "") == "enqueue"]
    assert response.status_code == 200 and len(queued) == 1
    assert no_latrine() == before + 1
    cell = TileCell.objects.get(region_id=household.region_id, z=0)
    assert cell.criteria["tanpa_jamban"] == before + 1


def test_stale_edit_gets_409_and_nothing_is_lost(world, as_user):
    client = as_user(world["personas"]["operator_a"])
    household = world["a"]["household"]
    url = f"/api/v1/households/{household.pk}/"
    version = client.get(url).json()["versi"]
    first = patch(client, url, {"lantai": 8, "versi": version})
    assert first.status_code == 200
    stale = patch(client, url, {"atap": 7, "versi": version})
    assert stale.status_code == 409
    assert stale.json()["error"]["current"] == {"versi": version + 1}
    household.refresh_from_db()
    assert (household.lantai, household.atap) == (
        8,
        3,
    )  # the first edit kept, the stale not applied


def test_if_match_header_carries_the_version(world, as_user):
    client = as_user(world["personas"]["operator_a"])
    url = f"/api/v1/households/{world['a']['household'].pk}/"
    etag = client.get(url)["ETag"]
    assert patch(client, url, {"lantai": 5}, HTTP_IF_MATCH=etag).status_code == 200
    assert patch(client, url, {"lantai": 6}, HTTP_IF_MATCH=etag).status_code == 409


def test_edit_without_version_is_400(world, as_user):
    client = as_user(world["personas"]["operator_a"])
    url = f"/api/v1/households/{world['a']['household'].pk}/"
    response = patch(client, url, {"lantai": 5})
    assert response.status_code == 400
    assert "versi" in response.json()["error"]["fields"]


def test_edits_are_validated_before_writing(world, as_user):
    client = as_user(world["personas"]["operator_a"])
    household = world["a"]["household"]
    url = f"/api/v1/households/{household.pk}/"
    bad_code = patch(client, url, {"lantai": 99, "versi": 1})
    assert bad_code.status_code == 400 and "lantai" in bad_code.json()["error"]["fields"]
    skip_rule = patch(client, url, {"fasilitas_bab": 6, "versi": 1})  # toilet type still set
    assert skip_rule.status_code == 400
    point = household.lokasi
    swapped = patch(client, url, {"lokasi": [point.y, point.x], "versi": 1})
    assert swapped.status_code == 400
    assert "tertukar" in str(swapped.json()["error"]["fields"]["lokasi"])
    not_editable = patch(client, url, {"no_kk": "6409019999990001", "versi": 1})
    assert not_editable.status_code == 400
    household.refresh_from_db()
    assert household.versi == 1


def test_member_edit_uses_its_own_version(world, as_user):
    client = as_user(world["personas"]["operator_a"])
    member = world["a"]["member"]
    url = f"/api/v1/members/{member.pk}/"
    assert patch(client, url, {"pekerjaan": "Nelayan", "versi": 1}).status_code == 200
    assert patch(client, url, {"pekerjaan": "Petani", "versi": 1}).status_code == 409
    assert Member.objects.get(pk=member.pk).pekerjaan == "Nelayan"


@pytest.mark.parametrize("role", ["analyst", "official", "norole"])
def test_only_operators_and_administrators_edit(world, as_user, role):
    client = as_user(world["personas"][role])
    url = f"/api/v1/households/{world['a']['household'].pk}/"
    assert patch(client, url, {"lantai": 5, "versi": 1}).status_code in (403, 404)
    assert Household.objects.get(pk=world["a"]["household"].pk).lantai == 2


# --- public statistics ------------------------------------------------------------------------


def test_public_values_hide_small_cells(world, client):
    url = "/api/v1/indicators/values/?indicator=jumlah_rumah_tangga&level=desa&parent=64.09"
    rows = client.get(url).json()
    assert {row["area_code"] for row in rows} == {PENAJAM_KELURAHAN, BABULU_DESA}
    assert all(
        row["suppressed"] and row["numerator"] is None and row["value"] is None for row in rows
    )


def test_secondary_suppression_protects_a_lone_small_cell(personas, client):
    HouseholdFactory.create_batch(5, region_id=PENAJAM_KELURAHAN)
    HouseholdFactory.create_batch(6, region_id="64.09.01.1002")
    HouseholdFactory(region_id="64.09.01.1003")  # alone: 1 household
    indicators_refresh(full=True)
    url = "/api/v1/indicators/values/?indicator=jumlah_rumah_tangga&level=desa&parent=64.09.01"
    rows = {row["area_code"]: row for row in client.get(url).json()}
    assert rows["64.09.01.1003"]["suppressed"]
    # Otherwise 1003 = kecamatan total - the others; the smallest other is hidden too.
    assert rows[PENAJAM_KELURAHAN]["suppressed"]
    assert not rows["64.09.01.1002"]["suppressed"]
    assert rows["64.09.01.1002"]["numerator"] == 6
    # Each gap says why, so that an integration can explain it.
    reasons = {
        code: (row["suppression_reason"], row["suppression_threshold"])
        for code, row in rows.items()
        if code in ("64.09.01.1003", PENAJAM_KELURAHAN, "64.09.01.1002")
    }
    assert reasons == {
        "64.09.01.1003": ("primary", 3),
        PENAJAM_KELURAHAN: ("secondary", 3),
        "64.09.01.1002": (None, None),
    }


def test_suppression_threshold_is_configurable(personas, client, settings):
    HouseholdFactory.create_batch(2, region_id=PENAJAM_KELURAHAN)
    HouseholdFactory.create_batch(2, region_id="64.09.01.1002")
    indicators_refresh(full=True)
    settings.SMALL_CELL_THRESHOLD = 1
    url = "/api/v1/indicators/values/?indicator=jumlah_rumah_tangga&level=desa&parent=64.09.01"
    rows = client.get(url).json()
    assert not any(row["suppressed"] for row in rows)


def test_roles_see_exact_counts(world, as_user):
    client = as_user(world["personas"]["official"])
    url = "/api/v1/indicators/values/?indicator=jumlah_rumah_tangga&level=desa&parent=64.09"
    rows = client.get(url).json()
    assert not any(row["suppressed"] for row in rows)
    assert sorted(row["numerator"] for row in rows) == [1, 1]


# --- hardening --------------------------------------------------------------------------------


def test_login_is_rate_limited(personas, client, settings):
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(3):
        client.post("/masuk/", {"username": "analis-uji", "password": "salah"})
    locked = client.post("/masuk/", {"username": "analis-uji", "password": "x-test-pass-1"})
    assert locked.status_code == 429
    token = client.post(
        "/api/v1/auth/token/", {"username": "analis-uji", "password": "x-test-pass-1"}
    )
    assert token.status_code == 429  # refused even with the right password
    assert token.json()["error"]["code"] == "locked_out"


def test_token_endpoint_answers_429_in_the_error_format_under_lockout(personas, client, settings):
    settings.AXES_FAILURE_LIMIT = 3
    url = "/api/v1/auth/token/"
    wrong = {"username": "analis-uji", "password": "salah"}
    first = client.post(url, wrong)
    assert first.status_code == 400 and first.json()["error"]["code"] == "invalid"
    client.post(url, wrong)
    client.post(url, wrong)  # the third failure locks the account, through the API alone
    for password in ("salah", "x-test-pass-1"):
        locked = client.post(url, {"username": "analis-uji", "password": password})
        assert locked.status_code == 429
        error = locked.json()["error"]
        assert error["status"] == 429 and error["code"] == "locked_out"
        assert "dikunci sementara" in error["message"] and "token" not in locked.json()
        assert int(locked["Retry-After"]) == int(settings.AXES_COOLOFF_TIME.total_seconds())
    # Another account from the same address is not locked out by this one.
    other = client.post(url, {"username": "pejabat-uji", "password": "x-test-pass-1"})
    assert other.status_code == 200 and other.json()["token"]


def test_login_page_signs_in_a_role_user(personas, client):
    response = client.post("/masuk/", {"username": "pejabat-uji", "password": "x-test-pass-1"})
    assert response.status_code == 302
    assert client.get("/api/v1/households/").status_code == 200


def test_pages_carry_a_content_security_policy_without_inline_handlers(client):
    response = client.get("/")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    body = response.content.decode()
    assert not re.search(r"\son[a-z]+=\"", body), "inline event handler"
    for tag in re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", body):
        assert "nonce=" in tag or 'type="application/json"' in tag, tag


def test_forms_carry_csrf_tokens(client):
    body = client.get("/masuk/").content.decode()
    assert "csrfmiddlewaretoken" in body


def test_no_secret_or_token_is_rendered_into_a_page(personas, as_user, settings):
    settings.SECRET_KEY = secrets.token_urlsafe(50)
    token = Token.objects.create(user=personas["analyst"])
    client = as_user(personas["analyst"])
    for path in ("/", "/masuk/", "/api/docs/"):
        body = client.get(path).content.decode()
        assert token.key not in body
        assert settings.SECRET_KEY not in body


def test_upload_size_is_limited(settings):
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE <= 10 * 1024 * 1024
    assert settings.IMPORT_MAX_BYTES <= 100 * 1024 * 1024


def test_check_deploy_is_clean_in_production_mode(tmp_path):
    # Browser tests in this process allow async-unsafe ORM calls; a deployment never does.
    inherited = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {
        **inherited,
        "PRODUCTION": "1",
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "desapresisi.example.go.id",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


# --- the disclosure policy: hidden fields are neither shown nor filterable ------------------

from desapresisi.access import COARSE_DECIMALS, HOUSEHOLD_NAMED_FIELDS, MEMBER_NAMED_FIELDS  # noqa: E402
from households.filters import HouseholdFilter, MemberFilter  # noqa: E402

HIDDEN = set(HOUSEHOLD_NAMED_FIELDS + MEMBER_NAMED_FIELDS)


def hidden_parameters(filterset_class, ordering_fields):
    """Every filter of the set on a field the official may not see, and an ordering on
    each such field: taken from the filter set, so a new filter is covered by itself."""
    params = [
        name
        for name, filter_ in filterset_class.base_filters.items()
        if filter_.field_name.split("__")[-1] in HIDDEN
    ]
    return params + [f"ordering=-{field}" for field in ordering_fields if field in HIDDEN]


LIST_ROUTES = {
    # route: (filter set, fields it may sort on, who may call it at all)
    "/api/v1/households/": (HouseholdFilter, ["no_kk", "id"], "any"),
    "/api/v1/members/": (MemberFilter, ["nama", "tanggal_lahir", "id"], "any"),
    "/api/v1/exports/households.csv": (HouseholdFilter, ["no_kk"], "export"),
    "/api/v1/exports/members.csv": (MemberFilter, ["nama"], "export"),
}
TILE_ROUTES = ["/api/v1/tiles/households/16/{x}/{y}.pbf", "/api/v1/tiles/households/10/{x}/{y}.pbf"]


def _values_of(world):
    household, member = world["a"]["household"], world["a"]["member"]
    return {
        "no_kk": household.no_kk,
        "alamat": household.alamat or "x",
        "rw": household.rw or "001",
        "rt": household.rt or "001",
        "nik": member.nik,
        "nama": member.nama,
        "tanggal_lahir": member.tanggal_lahir.isoformat(),
    }


def _expected_for_hidden_filter(role: str, who: str) -> str:
    if role in ("anonymous", "norole"):
        return DENIED
    if who == "export" and role not in ("analyst", "analyst_waru", "admin"):
        return DENIED
    return "refused" if role == "official" else OK


@pytest.mark.parametrize("role", ROLES)
def test_permission_matrix_of_filters_on_hidden_fields(role, world, client):
    """Filters and orderings on a field are for callers who may see it; others get 400
    naming the parameter, for every list, tile and export route."""
    user = None if role == "anonymous" else world["personas"][role]
    if user is not None:
        client.force_login(user)
    values = _values_of(world)
    _z, x, y = tile_of(world["a"]["household"].lokasi)
    cases = []
    for route, (filterset_class, ordering, who) in LIST_ROUTES.items():
        for param in hidden_parameters(filterset_class, ordering):
            cases.append((route, param, who))
    for route in TILE_ROUTES:
        z = int(route.split("/")[5])
        _z, x, y = tile_of(world["a"]["household"].lokasi, z)
        for param in hidden_parameters(HouseholdFilter, ["no_kk"]):
            cases.append((route.format(x=x, y=y), param, "any"))
    assert len(cases) >= 12
    failures = []
    for route, param, who in cases:
        if "=" in param:
            query = param
        else:
            field = HouseholdFilter.base_filters.get(param) or MemberFilter.base_filters[param]
            query = f"{param}={values[field.field_name.split('__')[-1]]}"
        response = client.get(f"{route}?{query}")
        expected = _expected_for_hidden_filter(role, who)
        if expected == "refused":
            name = query.split("=")[0]
            ok = response.status_code == 400 and name in response.json()["error"]["fields"]
            got = "refused" if ok else f"status {response.status_code}"
        else:
            got = classify(response)
        if got != expected:
            failures.append(f"{role} GET {route}?{query}: expected {expected}, got {got}")
    assert failures == []


def test_official_gets_no_rt_rw_birth_date_or_precise_point(world, as_user):
    household = world["a"]["household"]
    Household.objects.filter(pk=household.pk).update(rw="004", rt="012")
    client = as_user(world["personas"]["official"])
    body = client.get(f"/api/v1/households/{household.pk}/").json()
    assert body["rw"] is None and body["rt"] is None and body["dusun"] == household.dusun
    assert all(m["tanggal_lahir"] is None and m["umur"] is not None for m in body["members"])
    lon, lat = body["lokasi"]
    assert (lon, lat) == (
        round(household.lokasi.x, COARSE_DECIMALS),
        round(household.lokasi.y, COARSE_DECIMALS),
    )
    listed = client.get("/api/v1/households/?format=geojson").json()["features"]
    assert all(
        len(str(c).split(".")[-1]) <= COARSE_DECIMALS
        for f in listed
        for c in f["geometry"]["coordinates"]
    )
    members = client.get("/api/v1/members/").json()["results"]
    assert members and all(m["tanggal_lahir"] is None for m in members)
    # Roles with names see it all.
    client = as_user(world["personas"]["analyst"])
    body = client.get(f"/api/v1/households/{household.pk}/").json()
    assert (body["rw"], body["rt"]) == ("004", "012")
    assert body["lokasi"] == [round(household.lokasi.x, 6), round(household.lokasi.y, 6)]


def test_official_bbox_answers_no_finer_than_the_rounded_point(world, as_user):
    """A tiny box around the exact point finds the household exactly when a box around
    its rounding cell would: shrinking boxes cannot locate it more precisely."""
    point = world["a"]["household"].lokasi
    client = as_user(world["personas"]["official"])

    def found(min_x, min_y, max_x, max_y):
        response = client.get(f"/api/v1/households/?bbox={min_x},{min_y},{max_x},{max_y}")
        assert response.status_code == 200
        return {row["id"] for row in response.json()["results"]}

    tiny = 1e-6
    household = world["a"]["household"].pk
    assert household in found(point.x - tiny, point.y - tiny, point.x + tiny, point.y + tiny)
    # A tiny box elsewhere in the same rounding cell finds it too.
    cx, cy = round(point.x, COARSE_DECIMALS), round(point.y, COARSE_DECIMALS)
    assert household in found(cx - tiny, cy - tiny, cx + tiny, cy + tiny)
    # The analyst's boxes are exact.
    client = as_user(world["personas"]["analyst"])
    at_the_centre = abs(point.x - cx) < tiny and abs(point.y - cy) < tiny
    assert (household in found(cx - tiny, cy - tiny, cx + tiny, cy + tiny)) == at_the_centre


def test_official_tile_points_sit_on_the_coarse_grid(world, as_user):
    point = world["a"]["household"].lokasi
    snapped = Point(round(point.x, COARSE_DECIMALS), round(point.y, COARSE_DECIMALS))

    def position(persona, where):
        # The tile in which this caller sees the point: the rounded one may lie in a
        # neighbour of the exact one's tile.
        z, x, y = tile_of(where, 16)
        west, south, east, north = tile_bounds(z, x, y)
        client = as_user(world["personas"][persona])
        content = client.get(f"/api/v1/tiles/households/{z}/{x}/{y}.pbf").content
        (feature,) = mapbox_vector_tile.decode(content)["households"]["features"]
        px, py = feature["geometry"]["coordinates"]
        # Back to degrees (linear within one z16 tile is precise to centimetres).
        degrees = (west + (east - west) * px / 4096, south + (north - south) * py / 4096)
        return degrees, (east - west) / 4096 * 2  # and two tile pixels, in degrees

    official, step = position("official", snapped)
    analyst, _step = position("analyst", point)
    assert abs(official[0] - snapped.x) < step and abs(official[1] - snapped.y) < step
    assert abs(analyst[0] - point.x) < step and abs(analyst[1] - point.y) < step


def test_masks_tell_numbers_with_the_same_ends_apart_and_the_sql_mask_agrees():
    """`640901******0001` for every family card of a kecamatan issued on its day's first
    serial told nobody which row was which; the keyed tag does, without the digits."""

    numbers = [f"6409010{day:02d}1250001" for day in range(1, 29)]
    masks = [mask_number(number) for number in numbers]
    assert len(set(masks)) == len(numbers)
    assert all(re.fullmatch(r"640901\*[BCDFGHJKLMNPQRST]{4}\*0001", mask) for mask in masks)
    assert mask_number(numbers[0]) == masks[0]  # stable: the same number, the same mask
    with db.cursor() as cursor:
        cursor.execute(
            f"SELECT {mask_sql('n')} FROM unnest(%s::text[]) WITH ORDINALITY AS t(n, i) "  # noqa: S608
            "ORDER BY i",
            [numbers],
        )
        assert [row[0] for row in cursor.fetchall()] == masks


@pytest.mark.parametrize(
    ("role", "imports", "exports"),
    [
        ("official", False, False),
        ("analyst", False, True),
        ("operator_a", True, False),
        ("admin", True, True),
        ("norole", False, False),
    ],
)
def test_menu_shows_import_and_export_only_to_roles_that_can_use_them(
    personas, as_user, role, imports, exports
):
    page = as_user(personas[role]).get("/", follow=True).content.decode()
    assert ('href="/impor/"' in page) == imports
    assert ('href="/ekspor/"' in page) == exports


def test_admin_sections_are_named_in_indonesian(personas, as_user):
    page = as_user(personas["admin"]).get("/admin/").content.decode()
    sections = re.findall(r"<caption>\s*<a[^>]*>([^<]+)</a>", page)
    assert "Penguncian login" in sections and "Pekerjaan latar belakang" in sections
    assert not {"Axes", "Tasks Database Backend"} & set(sections)


# --- import answers across villages, per role ----------------------------------------------

NEUTRAL_ELSEWHERE = "Nomor ini sudah terdaftar di wilayah lain; hubungi admin kabupaten."


@pytest.mark.parametrize("role", ROLES)
def test_permission_matrix_of_import_answers_naming_records_of_village_b(role, world, client):
    """A file declaring desa B's stored No. KK as a household of desa A: callers with rights
    over B see B's stored members; the operator of A gets the neutral message and nothing
    of B; roles that may not import get no answer at all."""

    stored = world["b"]["household"]
    file_bytes = xlsx([household(stored.no_kk)], [member(stored.no_kk, 40)])
    client.logout()
    if role != "anonymous":
        client.force_login(world["personas"][role])
    response = upload(client, file_bytes)
    if role not in ("operator_a", "operator_b", "admin"):
        assert response.status_code in (401, 403), (role, response.status_code)
        return
    assert response.status_code == 201, response.content
    text = response.content.decode()
    b_names = [m.nama for m in Member.objects.filter(household=stored)]
    if role in ("admin", "operator_b"):
        # Rights over desa B: its stored members missing from the file are listed.
        assert all(name in text for name in b_names), (role, text)
        return
    # The operator of A: nothing stored in B (the kecamatan that issued the number, read
    # from its first digits in the public code list, is not about a stored record).
    for secret in (BABULU_DESA, *b_names):
        assert secret not in text, (role, secret)
    assert NEUTRAL_ELSEWHERE in text
