"""The restore drill, small: a real cluster archiving WAL to pgBackRest, a full backup,
upkeep, a mistaken DELETE, then a restore to the latest point and one to the moment
before the DELETE, the portal started on each, the counts compared. The full-size run is
scripts/restore-drill (docs/operations.md has its figures)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from deploy.restore_drill import Drill, Restore

pytestmark = pytest.mark.skipif(
    shutil.which("pgbackrest") is None, reason="pgbackrest is installed by scripts/setup"
)


@pytest.fixture
def scratch():
    # Not pytest's tmp_path: its parents are private to root, and PostgreSQL runs as postgres.
    path = Path(tempfile.mkdtemp(prefix="restore-drill-", dir="/tmp"))
    path.chmod(0o755)
    yield path / "drill"
    shutil.rmtree(path, ignore_errors=True)


def test_the_backup_restores_to_the_latest_point_and_to_before_a_mistaken_delete(scratch):
    report = Drill(scratch, households=150, fast=True).run()
    latest, before = report.restores
    assert report.deleted_households > 0
    # The latest point has the mistake too; the point in time before it has every household.
    assert (
        latest.found["households"]
        == latest.expected["households"]
        == (before.found["households"] - report.deleted_households)
    )
    assert before.found["households"] == 150
    # Upkeep after the base backup came back from the archived WAL, with its history.
    assert before.found["change_history"] > 0
    assert latest.found == latest.expected and before.found == before.expected
    assert all(r.portal["regions"] == 54 for r in report.restores)  # PPU's 54 villages
    assert report.ok
    assert report.seconds_backup > 0 and all(r.seconds_to_portal > 0 for r in report.restores)


def test_a_restore_that_lost_anything_fails_the_drill():
    whole = {"households": 10, "members": 40, "change_history": 3}
    assert Restore(target="latest", expected=whole, found=whole, portal={"regions": 54}).ok
    short = {**whole, "change_history": 2}
    assert not Restore(target="latest", expected=whole, found=short, portal={"regions": 54}).ok
    assert not Restore(target="latest", expected=whole, found=whole, portal={"regions": 0}).ok


def test_the_drill_on_an_installations_own_backups(scratch):
    """--pgbackrest-config: the live cluster (here a drill source standing in for the
    production one) restored from its stanza's backups and WAL up to a restore point
    made now, the portal started on the copy, the counts compared with the live ones."""
    live = Drill(scratch, households=120, fast=True)
    live._prepare()
    try:
        live.fill()
        live.backup()
        live.work_then_mistake()  # writes after the backup: only the WAL has them
        copy = Drill(
            scratch.parent / "copy", households=0, conf=live.conf, stanza="drill",
            source_port=live.source_port,
        )  # fmt: skip
        report = copy.run()
    finally:
        live.stop_all()
    (restore,) = report.restores
    assert restore.target.startswith("drill-") and report.ok
    assert restore.found["households"] == 120 - live.report.deleted_households
    assert restore.portal["regions"] == 54
