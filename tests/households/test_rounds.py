"""Survey rounds (issue 15): closing a round freezes its figures and writes the panel, an
edit after closing lands in the open round, the change between rounds is a plain recount
from the panel, and changes are suppressed like the values."""

from __future__ import annotations

import datetime as dt
import io
from collections import defaultdict

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from desapresisi.errors import InvalidInput, NotAllowed, NotReady
from households.indicators.rollup import indicators_refresh
from households.indicators.trends import current_periods, trend_periods
from households.models import (
    Household,
    HouseholdObservation,
    IndicatorValue,
    RoundSource,
    SurveyRound,
)
from households.rounds import import_round, round_close, round_open
from households.selectors import area_summaries, latest_period
from households.services import household_update
from households.trends import area_changes_for, household_changes_for
from tests.factories import BABULU_DESA, PENAJAM_KELURAHAN, HouseholdFactory
from tests.households.census_import import test_import as files

pytestmark = pytest.mark.django_db

NO_LATRINE = {"fasilitas_bab": 6, "jenis_kloset": None, "pembuangan_tinja": None}
LATRINE = {"fasilitas_bab": 1, "jenis_kloset": 1, "pembuangan_tinja": 1}


def open_2024() -> SurveyRound:
    return round_open(
        code="2024-pendataan",
        name="Pendataan Desa Presisi 2024",
        source=RoundSource.CENSUS,
        reference_date=dt.date(2024, 6, 30),
        decile_source="DTSEN",
        decile_vintage="2024-T2",
    )


def open_2025() -> SurveyRound:
    return round_open(
        code="2025-pemutakhiran",
        name="Pemutakhiran 2025",
        source=RoundSource.UPDATE,
        reference_date=dt.date(2025, 6, 30),
    )


def value(code: str, region: str, period: str) -> tuple[float, float | None]:
    row = IndicatorValue.objects.get(indicator_id=code, region_id=region, period=period)
    return (row.numerator, row.denominator)


def set_latrine(household: Household, answers: dict) -> None:
    household.refresh_from_db()
    household_update(
        queryset=Household.objects.all(),
        pk=household.pk,
        changes=dict(answers),
        expected_version=household.versi,
    )


def test_closing_a_round_freezes_its_values_and_later_edits_do_not_move_them():
    first = open_2024()
    households = HouseholdFactory.create_batch(4, **NO_LATRINE) + HouseholdFactory.create_batch(
        2, **LATRINE
    )
    indicators_refresh()
    assert value("tanpa_jamban", PENAJAM_KELURAHAN, first.code) == (4, 6)
    observed = round_close(survey_round=first)
    assert observed == 6
    assert first.status == "ditutup" and first.closed_at is not None

    second = open_2025()
    # The new round starts from the current households: the same figures.
    assert value("tanpa_jamban", PENAJAM_KELURAHAN, second.code) == (4, 6)
    set_latrine(households[0], LATRINE)
    set_latrine(households[1], LATRINE)
    indicators_refresh()
    indicators_refresh(full=True)  # a full recount must not touch a closed round either
    assert value("tanpa_jamban", PENAJAM_KELURAHAN, first.code) == (4, 6)
    assert value("tanpa_jamban", "64.09", first.code) == (4, 6)
    assert value("tanpa_jamban", PENAJAM_KELURAHAN, second.code) == (2, 6)
    assert value("tanpa_jamban", "64.09", second.code) == (2, 6)
    # The panel keeps the household as it was.
    observation = HouseholdObservation.objects.get(survey_round=first, household=households[0])
    assert observation.answers["fasilitas_bab"] == 6
    assert observation.answers["desil_sumber"] == "DTSEN"
    assert observation.indicators["tanpa_jamban"] == [1.0, 1.0]
    # Periods run by reference date; the home totals read the latest round only.
    assert [p["code"] for p in trend_periods()] == [first.code, second.code]
    assert latest_period() == current_periods()[0] == second.code
    summary = {row["code"]: row for row in area_summaries(parent_code="64.09.01")}
    assert summary[PENAJAM_KELURAHAN[:13]]["households"] == 6


def test_an_edit_after_closing_lands_in_the_open_round():
    first = open_2024()
    household = HouseholdFactory(**NO_LATRINE)
    household.refresh_from_db()
    assert household.survey_round_id == first.pk
    round_close(survey_round=first)
    second = open_2025()
    set_latrine(household, LATRINE)
    household.refresh_from_db()
    assert household.survey_round_id == second.pk
    assert household.versi == 2  # the stamp is not an edit of its own
    # An import declares its round: by default the open one; a closed one is refused.
    assert import_round(code="") == second
    with pytest.raises(InvalidInput) as refused:
        import_round(code=first.code)
    assert "survey_round" in refused.value.fields
    with pytest.raises(NotReady):
        round_close(survey_round=first)


def test_no_open_round_is_an_error_naming_the_field_and_a_second_open_round_is_refused():
    first = open_2024()
    with pytest.raises(NotReady):
        open_2025()
    round_close(survey_round=first)
    with pytest.raises(InvalidInput) as refused:
        import_round(code="")
    assert "survey_round" in refused.value.fields
    with pytest.raises(InvalidInput) as unknown:
        import_round(code="2030-tidak-ada")
    assert "survey_round" in unknown.value.fields


def recount(survey_round: SurveyRound, code: str) -> dict[str, tuple[float, float]]:
    """Per village and kecamatan: numerator and denominator summed from the panel."""
    sums: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for obs in HouseholdObservation.objects.filter(survey_round=survey_round):
        numerator, denominator = obs.indicators[code]
        for area in (obs.region_id, obs.region_id[:8]):
            sums[area][0] += numerator
            sums[area][1] += denominator or 0
    return {area: (num, den) for area, (num, den) in sums.items()}


def test_the_change_map_matches_a_plain_recount_from_the_panel():
    first = open_2024()
    penajam = HouseholdFactory.create_batch(6, **NO_LATRINE) + HouseholdFactory.create_batch(
        4, **LATRINE
    )
    babulu = HouseholdFactory.create_batch(
        5, region_id=BABULU_DESA, **NO_LATRINE
    ) + HouseholdFactory.create_batch(5, region_id=BABULU_DESA, **LATRINE)
    round_close(survey_round=first)
    second = open_2025()
    for each in penajam[:4]:
        set_latrine(each, LATRINE)
    set_latrine(babulu[7], NO_LATRINE)  # backsliding
    HouseholdFactory.create_batch(3, region_id=BABULU_DESA, **NO_LATRINE)
    round_close(survey_round=second)

    before, after = recount(first, "tanpa_jamban"), recount(second, "tanpa_jamban")
    for level, parent in (("desa", "64.09"), ("kecamatan", "64.09")):
        changes = area_changes_for(
            indicator="tanpa_jamban",
            from_period=first.code,
            to_period=second.code,
            parent=parent,
            level=level,
        )
        with_households = [c for c in changes if c["area_code"] in after]
        assert {c["area_code"] for c in with_households} == {
            a for a in after if len(a) == (13 if level == "desa" else 8)
        }
        for change in with_households:
            num_a, den_a = before[change["area_code"]]
            num_b, den_b = after[change["area_code"]]
            assert (change["from_numerator"], change["from_denominator"]) == (num_a, den_a)
            assert (change["to_numerator"], change["to_denominator"]) == (num_b, den_b)
            assert change["change"] == pytest.approx(num_b / den_b * 100 - num_a / den_a * 100)
    penajam_change = next(
        c
        for c in area_changes_for(
            indicator="tanpa_jamban",
            from_period=first.code,
            to_period=second.code,
            areas=[PENAJAM_KELURAHAN],
        )
    )
    assert penajam_change["direction"] == "membaik"  # fewer without a latrine: better


def test_a_change_is_suppressed_when_either_round_is_suppressed_for_the_public(settings):
    settings.SMALL_CELL_THRESHOLD = 3
    first = open_2024()
    # Round 1: Babulu has 2 households without a latrine (a small cell, hidden).
    HouseholdFactory.create_batch(2, region_id=BABULU_DESA, **NO_LATRINE)
    HouseholdFactory.create_batch(20, region_id=BABULU_DESA, **LATRINE)
    HouseholdFactory.create_batch(10, **NO_LATRINE)
    HouseholdFactory.create_batch(10, **LATRINE)
    round_close(survey_round=first)
    open_2025()
    # Round 2: Babulu grows to 10 without a latrine: published on its own.
    HouseholdFactory.create_batch(8, region_id=BABULU_DESA, **NO_LATRINE)
    indicators_refresh()
    second = SurveyRound.objects.get(status="terbuka")
    public = {
        c["area_code"]: c
        for c in area_changes_for(
            indicator="tanpa_jamban",
            from_period=first.code,
            to_period=second.code,
            areas=[BABULU_DESA, PENAJAM_KELURAHAN],
            suppress_up_to=3,
        )
    }
    babulu = public[BABULU_DESA]
    assert babulu["suppressed"] is True
    assert babulu["change"] is None
    assert babulu["to_numerator"] is None and babulu["from_numerator"] is None
    assert public[PENAJAM_KELURAHAN]["suppressed"] is False
    assert public[PENAJAM_KELURAHAN]["change"] == pytest.approx(0)
    # Figures for a role: exact.
    exact = area_changes_for(
        indicator="tanpa_jamban",
        from_period=first.code,
        to_period=second.code,
        areas=[BABULU_DESA],
    )[0]
    assert (exact["from_numerator"], exact["to_numerator"]) == (2, 10)


def test_household_changes_list_improved_worsened_and_new_for_named_roles_only(personas):
    first = open_2024()
    improves, worsens, stays = (
        HouseholdFactory(**NO_LATRINE),
        HouseholdFactory(**LATRINE),
        HouseholdFactory(**NO_LATRINE),
    )
    HouseholdFactory(region_id=BABULU_DESA, **NO_LATRINE)
    round_close(survey_round=first)
    second = open_2025()
    set_latrine(improves, LATRINE)
    set_latrine(worsens, NO_LATRINE)
    newcomer = HouseholdFactory(**NO_LATRINE)
    answer = household_changes_for(
        user=personas["operator_a"],
        village=PENAJAM_KELURAHAN,
        indicator="tanpa_jamban",
        from_period=first.code,
        to_period=second.code,
    )
    status = {row["household_id"]: row["status"] for row in answer["households"]}
    assert status == {
        improves.pk: "membaik",
        worsens.pk: "memburuk",
        stays.pk: "tetap",
        newcomer.pk: "masuk",
    }
    assert answer["counts"]["membaik"] == 1
    assert all("*" in row["no_kk"] for row in answer["households"])  # masked
    # Another village's operator sees nothing of this village; an official no names.
    other = household_changes_for(
        user=personas["operator_b"],
        village=PENAJAM_KELURAHAN,
        indicator="tanpa_jamban",
        from_period=first.code,
        to_period=second.code,
    )
    assert other["households"] == [] and sum(other["counts"].values()) == 0
    with pytest.raises(NotAllowed):
        household_changes_for(
            user=personas["official"],
            village=PENAJAM_KELURAHAN,
            indicator="tanpa_jamban",
            from_period=first.code,
            to_period=second.code,
        )


def test_an_import_declares_its_round_and_a_closed_one_writes_nothing(as_user, personas):
    first = open_2024()
    round_close(survey_round=first)
    client = as_user(personas["operator_a"])
    data = files.xlsx([files.household()], [files.member()])
    # No round open: the file is refused, naming the field.
    job = files.upload(client, data, dry_run="false").json()
    assert job["status"] == "ditolak"
    assert [e["column"] for e in job["errors"]] == ["survey_round"]
    second = open_2025()
    refused = files.upload(client, data, dry_run="false", survey_round=first.code).json()
    assert refused["status"] == "ditolak"
    assert refused["errors"][0]["column"] == "survey_round"
    assert first.code in refused["errors"][0]["message"]
    assert not Household.objects.exists()
    accepted = files.upload(client, data, dry_run="false", survey_round=second.code).json()
    assert accepted["status"] == "selesai", accepted
    assert Household.objects.get().survey_round_id == second.pk


def test_the_api_and_pages_over_rounds(client, as_user, personas, settings):
    settings.SMALL_CELL_THRESHOLD = 3
    first = open_2024()
    households = HouseholdFactory.create_batch(6, **NO_LATRINE) + HouseholdFactory.create_batch(
        6, **LATRINE
    )
    round_close(survey_round=first)
    second = open_2025()
    set_latrine(households[0], LATRINE)
    indicators_refresh()
    rounds = client.get("/api/v1/rounds/").json()
    assert [r["code"] for r in rounds] == [first.code, second.code]
    assert rounds[0]["decile_source"] == "DTSEN" and rounds[0]["decile_vintage"] == "2024-T2"
    values = client.get(
        f"/api/v1/indicators/values/?indicator=tanpa_jamban&area={PENAJAM_KELURAHAN}"
        f"&period={first.code}"
    ).json()
    assert [(v["period"], v["numerator"]) for v in values] == [(first.code, 6)]
    trend = client.get(
        f"/api/v1/indicators/trend/?indicator=tanpa_jamban&area={PENAJAM_KELURAHAN}"
    ).json()
    assert [row["numerator"] for row in trend["rows"]] == [6, 5]
    changes = client.get(
        "/api/v1/indicators/changes/?indicator=tanpa_jamban&level=desa&parent=64.09.01"
        f"&from={first.code}&to={second.code}"
    )
    assert changes.status_code == 200
    row = next(c for c in changes.json() if c["area_code"] == PENAJAM_KELURAHAN)
    assert row["direction"] == "membaik" and row["change"] == pytest.approx(500 / 12 - 50)
    unknown = client.get(
        "/api/v1/indicators/changes/?indicator=tanpa_jamban&from=2030-x&to=" + second.code
    )
    assert unknown.status_code == 400 and "from" in unknown.json()["error"]["fields"]
    query = (
        f"?village={PENAJAM_KELURAHAN}&indicator=tanpa_jamban&from={first.code}&to={second.code}"
    )
    assert client.get("/api/v1/households/changes/" + query).status_code in (401, 403)
    official = as_user(personas["official"])
    assert official.get("/api/v1/households/changes/" + query).status_code == 403
    operator = as_user(personas["operator_a"])
    answer = operator.get("/api/v1/households/changes/" + query).json()
    assert answer["counts"]["membaik"] == 1 and answer["counts"]["tetap"] == 11
    # The village page shows each indicator's trend (from the rollup); the change list
    # links every household to its page.
    page = operator.get(f"/desa/{PENAJAM_KELURAHAN}/")
    assert b'id="village-trend-table"' in page.content
    assert b'data-indicator="tanpa_jamban"' in page.content
    listing = operator.get(
        f"/desa/{PENAJAM_KELURAHAN}/perubahan/?indikator=tanpa_jamban"
        f"&dari={first.code}&ke={second.code}"
    )
    assert listing.status_code == 200
    assert f'href="/rumah-tangga/{households[0].pk}/"'.encode() in listing.content
    assert (
        as_user(personas["official"]).get(f"/desa/{PENAJAM_KELURAHAN}/perubahan/").status_code
        == 404
    )
    assert (
        as_user(personas["operator_b"]).get(f"/desa/{PENAJAM_KELURAHAN}/perubahan/").status_code
        == 404
    )
    assert client.get("/tren/").status_code == 200


def test_the_command_opens_lists_and_closes_rounds():
    out = io.StringIO()
    call_command(
        "survey_round", "open", "2024-uji", "--source", "pendataan",
        "--reference-date", "2024-06-30", stdout=out,
    )  # fmt: skip
    HouseholdFactory.create_batch(2, **NO_LATRINE)
    call_command("survey_round", "close", "2024-uji", stdout=out)
    call_command("survey_round", "list", stdout=out)
    assert "2 households observed" in out.getvalue()
    assert "2024-uji\t2024-06-30\tditutup" in out.getvalue()
    with pytest.raises(CommandError, match="sudah ditutup"):
        call_command("survey_round", "close", "2024-uji", stdout=out)
