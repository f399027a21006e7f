import json

import pytest

from demo.bench import PEAK_HEAP, PEAK_RSS, _copy_in_rolled_back, run_bench
from households.exports import rows
from households.models import DataSource, Household

pytestmark = pytest.mark.django_db


def test_quick_benchmark_measures_every_operation_against_its_baseline(tmp_path):
    output = tmp_path / "bench.json"
    result = run_bench(
        region="64.09", households=300, seed=3, quick=True, output=output, progress=lambda _: None
    )
    names = [measure.name for measure in result.measures]
    assert any(name.startswith("rollup: incremental") for name in names)
    assert any(name.startswith("MVT tiles") for name in names)
    programme = _measure(result, "programme page")
    assert programme.extra["interventions"] > 0 and programme.baseline_seconds > 0
    # Survey rounds: the trend and the change map with two rounds, against the rollup.
    for name in ("trend API", "change map API"):
        measure = _measure(result, name)
        assert measure.extra["status"] == 200 and measure.baseline_seconds > 0
    assert _measure(result, "rounds: close").extra["observations"] > 0
    with_baseline = [m for m in result.measures if m.baseline]
    assert len(with_baseline) >= 7
    assert all(m.baseline_seconds and m.baseline_seconds > 0 for m in with_baseline)
    # Peak memory of every operation, as the process's RSS where /proc allows it.
    assert result.peak_memory in (PEAK_RSS, PEAK_HEAP)
    assert all(m.peak_mb is not None and m.peak_mb > 0 for m in result.measures)
    if result.peak_memory == PEAK_RSS:
        assert all(20 < m.peak_mb < 4000 for m in result.measures)
    data = json.loads(output.read_text())
    assert data["households"] == 300
    assert data["peak_memory"] == result.peak_memory
    assert "operation" in result.table()

    # Import against \copy, on rows that were exported, deleted and imported back: the
    # dataset stays as generated (300 + the 200 of the incremental refresh).
    total = Household.objects.filter(region__code__startswith="64.09.").count()
    assert total == 500
    assert not Household.objects.exclude(sumber_data=DataSource.SYNTHETIC).exists()
    imported = _measure(result, "import census CSV")
    assert imported.extra["households"] == 100
    assert imported.extra["members"] > imported.extra["households"]
    assert imported.extra["rows"] == imported.extra["households"] + imported.extra["members"]
    assert imported.extra["throughput_ratio"] == pytest.approx(1 / imported.ratio)
    assert set(imported.extra["phases"]) == {
        "read", "validate", "stage", "upsert households", "upsert members", "commit and audit"
    }  # fmt: skip
    assert imported.extra["indicator_refresh_seconds"] > 0

    csv_export = _measure(result, "CSV export")
    assert csv_export.extra["rows"] == csv_export.extra["baseline_rows"] == total
    assert csv_export.extra["bytes"] > csv_export.extra["baseline_bytes"] > 0
    assert csv_export.extra["throughput_ratio"] == pytest.approx(1 / csv_export.ratio)

    xlsx = _measure(result, "XLSX export")
    assert xlsx.extra["households"] == 300
    assert xlsx.extra["members"] > 300
    assert xlsx.extra["bytes"] > 10_000
    assert xlsx.seconds > 0
    # Per row written in every sheet, beside the peer's 4.7 s for 33,020 families.
    codebook = sum(1 for _ in rows.codebook_rows())
    summary = 8  # service.export_summary's lines
    assert xlsx.extra["rows_written"] == summary + 3 + 300 + xlsx.extra["members"] + codebook
    assert xlsx.extra["ms_per_row"] == pytest.approx(
        xlsx.seconds * 1000 / xlsx.extra["rows_written"]
    )
    assert xlsx.extra["peer_ms_per_row"] == pytest.approx(0.1423, abs=1e-4)
    assert xlsx.extra["target_ms_per_row"] == pytest.approx(0.2135, abs=1e-4)
    assert "ms per row written" in xlsx.note and xlsx.baseline.startswith("peer")


def _measure(result, prefix):
    return next(m for m in result.measures if m.name.startswith(prefix))


def test_the_copy_baseline_runs_the_real_psql_with_the_project_settings(tmp_path):
    """Inside a test's transaction the benchmark cannot use psql (it would not see the
    test's rows), so the psql path is checked here on its own: an empty COPY."""
    data = tmp_path / "empty.csv"
    data.write_text("")
    seconds, how = _copy_in_rolled_back([("households_household", ["no_kk"], data)], use_psql=True)
    assert seconds > 0
    assert how.startswith("psql")
