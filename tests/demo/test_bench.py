import json

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.urls import Resolver404, resolve

from demo.bench import PEAK_HEAP, PEAK_RSS, _copy_in_rolled_back, _import_phases, run_bench
from demo.bench_http import Floor
from households.models import DataSource, Household


# The benchmark measures over HTTP against a gunicorn it starts: that server sees only
# committed rows, so this test runs on the transactional database.
@pytest.mark.django_db(transaction=True)
def test_quick_benchmark_measures_every_operation_against_its_baseline(tmp_path):
    output = tmp_path / "bench.json"
    result = run_bench(
        region="64.09",
        households=300,
        seed=3,
        quick=True,
        output=output,
        progress=lambda _: None,
        # The dashboard against a second server: here on the same database.
        dashboard_baseline=connection.settings_dict["NAME"],
    )
    names = [measure.name for measure in result.measures]
    assert any(name.startswith("rollup: incremental") for name in names)
    assert any(name.startswith("quality flags: incremental") for name in names)
    programme = _measure(result, "programme page")
    assert programme.extra["interventions"] > 0 and programme.baseline_seconds > 0
    # Survey rounds over HTTP: the trend and the change map with two rounds, each against
    # its floor, its own SQL and the raw recount from the panel and the live households.
    for name in ("trend API", "change map API"):
        measure = _measure(result, name)
        assert measure.baseline.startswith("framework floor") and measure.baseline_seconds > 0
        assert measure.extra["sql_seconds"] > 0 and measure.extra["raw_recount_seconds"] > 0
    for name in ("trend page", "village change list", "household changes API"):
        assert _measure(result, name).baseline_seconds > 0
    assert _measure(result, "rounds: close").extra["observations"] > 0
    with_baseline = [m for m in result.measures if m.baseline]
    assert len(with_baseline) >= 10
    assert all(m.baseline_seconds and m.baseline_seconds > 0 for m in with_baseline)
    # Peak memory of every operation, as the RSS of the process that did the work.
    assert result.peak_memory in (PEAK_RSS, PEAK_HEAP)
    assert all(m.peak_mb is not None and m.peak_mb > 0 for m in result.measures)
    if result.peak_memory == PEAK_RSS:
        assert all(20 < m.peak_mb < 4000 for m in result.measures)
    data = json.loads(output.read_text())
    assert data["households"] == 300
    assert data["peak_memory"] == result.peak_memory
    assert "operation" in result.table()

    # Over HTTP, against the floor (the same bytes) and the endpoint's own SQL.
    values = [m for m in result.measures if m.name.startswith("indicator values API")]
    assert {m.name.rsplit(", ", 1)[1] for m in values} == {"anonymous", "token"}
    for measure in values:
        assert measure.baseline.startswith("framework floor")
        assert measure.extra["sql_seconds"] > 0 and measure.extra["sql_queries"] >= 1
        assert measure.extra["ratio_to_floor"] == pytest.approx(measure.ratio)
        assert measure.extra["met"] == (measure.ratio <= 1.5)

    tiles = _measure(result, "MVT tiles")
    rows = tiles.extra["tiles"]
    assert {row["z"] for row in rows} == set(range(8, 17))
    assert {row["density"] for row in rows} >= {"sparse", "densest"}
    assert all(row["bytes"] > 0 and row["sql"] > 0 and row["floor"] > 0 for row in rows)
    for z in range(8, 17):
        counts = {row["density"]: row["households"] for row in rows if row["z"] == z}
        assert counts["sparse"] <= counts.get("median", counts["sparse"]) <= counts["densest"]

    dashboard = _measure(result, "dashboard first view")
    assert dashboard.seconds > 0 and dashboard.extra["requests"] > 3
    assert "54 polygons" in dashboard.note
    assert dashboard.baseline_seconds > 0 and dashboard.extra["baseline_requests"] > 3
    for name in ("load: framework floor", "load: dashboard page", "load: tiles"):
        load = _measure(result, name)
        assert load.extra["errors"] == 0 and load.extra["requests_per_second"] > 0

    # Import against \copy, on rows that were exported, deleted and imported back over
    # HTTP: the dataset stays as generated (300 + the 200 of the incremental refresh).
    total = Household.objects.filter(region__code__startswith="64.09.").count()
    assert total == 500
    assert not Household.objects.exclude(sumber_data=DataSource.SYNTHETIC).exists()
    imported = _measure(result, "import census CSV")
    assert imported.extra["households"] == 100
    assert imported.extra["members"] > imported.extra["households"]
    assert imported.extra["rows"] == imported.extra["households"] + imported.extra["members"]
    assert imported.extra["throughput_ratio"] == pytest.approx(1 / imported.ratio)
    phases = imported.extra["phases"]
    assert next(iter(phases)) == "upload"
    assert {"dry run queued", "commit request", "commit queued"} <= set(phases)
    assert sum(phases.values()) == pytest.approx(imported.seconds)
    assert imported.extra["worker_peak_mb"] > 0 and imported.extra["web_peak_mb"] > 0

    csv_export = _measure(result, "CSV export")
    assert csv_export.extra["rows"] == csv_export.extra["baseline_rows"] == total
    assert csv_export.extra["bytes"] > csv_export.extra["baseline_bytes"] > 0
    assert csv_export.extra["throughput_ratio"] == pytest.approx(1 / csv_export.ratio)

    xlsx = _measure(result, "XLSX export job")
    assert xlsx.extra["households"] > 0
    assert xlsx.extra["members"] > xlsx.extra["households"]
    assert xlsx.extra["rows"] == xlsx.extra["households"] + xlsx.extra["members"]
    assert xlsx.extra["bytes"] > 10_000
    assert xlsx.extra["job_done_seconds"] <= xlsx.seconds
    assert xlsx.extra["ms_per_row"] == pytest.approx(xlsx.seconds * 1000 / xlsx.extra["rows"])
    assert xlsx.extra["peer_ms_per_row"] == pytest.approx(0.1423, abs=1e-4)
    assert xlsx.extra["target_ms_per_row"] == pytest.approx(0.2135, abs=1e-4)
    assert xlsx.baseline.startswith("peer")


def _measure(result, prefix):
    return next(m for m in result.measures if m.name.startswith(prefix))


@pytest.mark.django_db
def test_the_copy_baseline_runs_the_real_psql_with_the_project_settings(tmp_path):
    """Inside a test's transaction the benchmark cannot use psql (it would not see the
    test's rows), so the psql path is checked here on its own: an empty COPY."""
    data = tmp_path / "empty.csv"
    data.write_text("")
    seconds, how = _copy_in_rolled_back([("households_household", ["no_kk"], data)], use_psql=True)
    assert seconds > 0
    assert how.startswith("psql")


def test_the_floor_view_is_only_in_the_benchmarks_urlconf(tmp_path, settings):
    """The floor answers the stored bytes under demo.bench_urls; the portal's own URLconf
    (production) has no such URL."""
    floor = Floor()
    try:
        path = floor.put("probe", b'{"a": 1}', "json")
        with pytest.raises(Resolver404):
            resolve(path)
        settings.ROOT_URLCONF = "demo.bench_urls"
        response = Client(HTTP_HOST="127.0.0.1").get(path)
        assert response.status_code == 200
        assert response.content == b'{"a": 1}'
        assert response["Content-Type"] == "application/json"
        missing = path.replace("probe", "absent")
        assert Client(HTTP_HOST="127.0.0.1").get(missing).status_code == 404
    finally:
        floor.close()
    assert not floor.directory.exists()


def test_import_phases_add_up_to_the_whole_import():
    marks = {"dry run queued": 1.0, "dry run validate": 1.5, "commit request": 4.0}
    phases = _import_phases(0.5, marks, 6.0)
    assert phases == {
        "upload": 0.5, "dry run queued": 0.5, "dry run validate": 2.5, "commit request": 2.0
    }  # fmt: skip


def test_only_names_known_sections():
    with pytest.raises(CommandError, match="unknown --only sections: tile"):
        call_command("bench", "--only", "values,tile")


@pytest.mark.django_db(transaction=True)
def test_only_runs_the_named_sections_after_the_census_and_its_rollup(tmp_path):
    result = run_bench(
        region="64.09",
        households=300,
        seed=3,
        quick=True,
        output=None,
        progress=lambda _: None,
        only={"values"},
    )
    names = [measure.name for measure in result.measures]
    assert names[:2] == ["generate census (COPY)", "rollup: full refresh"]
    assert names[2:] and all(name.startswith("indicator values API") for name in names[2:])
    assert all(measure.extra["sql_queries"] >= 1 for measure in result.measures[2:])
