import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from ...bench import SECTIONS, run_bench


class Command(BaseCommand):
    help = (
        "Benchmark the portal against raw baselines on one synthetic dataset (default: "
        "1,000,000 households over all 1,038 villages of Kalimantan Timur): generation and "
        "rollup in this process, then what users get, over HTTP from a gunicorn and a "
        "db_worker the benchmark starts: indicator values, tiles by density, lists, pages "
        "against the framework floor and their SQL (EXPLAIN ANALYZE); the dashboard in "
        "Chromium; a 50-client load test; CSV export, XLSX export job and census import "
        "(upload to job done) against COPY / psql \\copy; peak RSS of the processes doing "
        "the work. REPLACES the synthetic households of the region: run it on its own "
        "database (scripts/bench). --quick is the smoke test of the test suite."
    )

    def add_arguments(self, parser):
        parser.add_argument("--region", default="64")
        parser.add_argument("--households", type=int, default=1_000_000)
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--quick", action="store_true")
        parser.add_argument("--output", type=Path, default=None, help="write figures as JSON")
        parser.add_argument(
            "--reuse",
            action="store_true",
            help="keep the households already in the region when it holds at least "
            "--households of them (a census generated beforehand); else generate",
        )
        parser.add_argument(
            "--dashboard-baseline",
            default=None,
            metavar="DATABASE",
            help="another database on the same server (a smaller census, set up as this one): "
            "the dashboard's first view is measured on both, alternately, in this run",
        )
        parser.add_argument(
            "--only",
            default=None,
            metavar="SECTIONS",
            help="comma-separated sections to run (the census and its full rollup always "
            f"run): {', '.join(SECTIONS)}; e.g. --only values,tiles",
        )
        parser.add_argument(
            "--import-households",
            type=int,
            default=None,
            help="households in the census import (default 100,000; 100 with --quick)",
        )
        parser.add_argument(
            "--xlsx-households",
            type=int,
            default=None,
            help="households in the XLSX export (default 100,000; 300 with --quick)",
        )

    def handle(self, *args, region, households, seed, quick, output, **options):
        if quick:
            region, households = "64.09", min(households, 3_000)
        only = None
        if options["only"]:
            only = {name.strip() for name in options["only"].split(",") if name.strip()}
            unknown = only - set(SECTIONS)
            if unknown:
                raise CommandError(f"unknown --only sections: {', '.join(sorted(unknown))}")
        # A census reused from an older checkout: its schema must be this code's (a missing
        # table would fail inside the served requests and skew what they cost).
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if pending:
            names = ", ".join(f"{m.app_label}.{m.name}" for m, _backwards in pending[:5])
            raise CommandError(f"the database lacks migrations ({names}): run manage.py migrate")
        started = time.monotonic()
        result = run_bench(
            region=region,
            households=households,
            seed=seed,
            quick=quick,
            output=output,
            progress=lambda message: self.stderr.write(
                f"  [{time.monotonic() - started:7.1f} s] {message}"
            ),
            import_households=options["import_households"],
            xlsx_households=options["xlsx_households"],
            reuse=options["reuse"],
            dashboard_baseline=options["dashboard_baseline"],
            only=only,
        )
        self.stdout.write(f"Benchmark {result.started} on {result.machine}")
        self.stdout.write(f"{result.households:,} synthetic households in {result.region}\n")
        self.stdout.write(result.table())
