import json

import pytest

from households.bench import run_bench

pytestmark = pytest.mark.django_db


def test_quick_benchmark_measures_every_operation_against_its_baseline(tmp_path):
    output = tmp_path / "bench.json"
    result = run_bench(
        region="64.09", households=300, seed=3, quick=True, output=output, progress=lambda _: None
    )
    names = [measure.name for measure in result.measures]
    assert any(name.startswith("rollup: incremental") for name in names)
    assert any(name.startswith("MVT tiles") for name in names)
    with_baseline = [m for m in result.measures if m.baseline]
    assert len(with_baseline) >= 5
    assert all(m.baseline_seconds and m.baseline_seconds > 0 for m in with_baseline)
    data = json.loads(output.read_text())
    assert data["households"] == 300
    assert "operation" in result.table()
