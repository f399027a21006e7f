"""scripts/bench --help prints the help and nothing else: no set-up, no database, no file
left in docs/benchmarks/."""

from __future__ import annotations

import os
import subprocess

from django.conf import settings


def test_bench_help_only_prints_help():
    benchmarks = settings.BASE_DIR / "docs" / "benchmarks"
    before = sorted(benchmarks.iterdir())
    # A database nobody listens on: were the set-up to run, it could touch no database.
    env = {**os.environ, "DATABASE_URL": "postgis://nobody@127.0.0.1:9/none"}
    result = subprocess.run(
        ["scripts/bench", "--help"],  # noqa: S607 - the project's own script
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "usage: manage.py bench" in result.stdout and "--households" in result.stdout
    assert "migrat" not in result.stdout + result.stderr
    assert sorted(benchmarks.iterdir()) == before
