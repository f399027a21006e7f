"""Restore drill: proves that the backups restore, and says how long it takes.

The drill brings up a source PostgreSQL cluster of its own in a scratch folder, with WAL
archiving to a pgBackRest repository as deploy/pgbackrest.conf sets up in production,
fills it with the portal's schema and a synthetic census of N households, takes a full
backup, keeps working on it (upkeep writes, which the change history records), notes the
time, then makes the classic mistake: a DELETE of a whole village's households. It then
restores twice into fresh clusters:

1. to the latest point (everything, the mistake included), and
2. to the time noted just before the mistake (point-in-time recovery),

starts the portal (gunicorn) on each restored cluster, asks it for its health and its
regions over HTTP, and compares the counts of households, members, life events, indicator
values and change-history rows with the source at those two moments. The recovery time
is from the start of `pgbackrest restore` to the portal's first answer.

Run it with scripts/restore-drill (any size); the test suite runs it with a few hundred
households (tests/deploy/test_restore_drill.py). Nothing here touches a production
cluster: every cluster, repository and port is the drill's own.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
STANZA = "drill"
DATABASE = "desapresisi"
# What must come back: the register, its history and the figures computed from it.
COUNTED = {
    "households": "households_household",
    "members": "households_member",
    "life_events": "households_lifeevent",
    "indicator_values": "households_indicatorvalue",
    "change_history": "desapresisi_changerecord",
}


# The test suite's small drill: durability is not what it tests.
FAST = "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"


class DrillFailed(RuntimeError):
    pass


@dataclass
class Restore:
    target: str
    seconds_restore: float = 0.0
    seconds_to_portal: float = 0.0
    expected: dict = field(default_factory=dict)
    found: dict = field(default_factory=dict)
    portal: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.expected == self.found and self.portal.get("regions", 0) > 0


@dataclass
class DrillReport:
    households: int
    seconds_fill: float = 0.0
    seconds_backup: float = 0.0
    backup_bytes: int = 0
    database_bytes: int = 0
    deleted_households: int = 0
    restores: list[Restore] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.restores) and all(r.ok for r in self.restores)

    def as_dict(self) -> dict:
        answer = asdict(self)
        answer["ok"] = self.ok
        for restore, data in zip(self.restores, answer["restores"], strict=True):
            data["ok"] = restore.ok
        return answer


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_owner(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    """PostgreSQL and pgBackRest refuse to run as root: as root, run as `postgres`."""
    if os.geteuid() == 0:
        args = ["runuser", "-u", "postgres", "--", *args]
    kwargs.setdefault("check", True)
    kwargs.setdefault("capture_output", True)
    kwargs.setdefault("text", True)
    try:
        return subprocess.run(args, **kwargs)  # noqa: S603 (fixed programs, own arguments)
    except subprocess.CalledProcessError as exc:
        raise DrillFailed(f"{' '.join(args)} failed:\n{exc.stdout}\n{exc.stderr}") from exc


class Drill:
    def __init__(
        self,
        work: Path,
        *,
        households: int,
        fast: bool = False,
        conf: Path | None = None,
        stanza: str = STANZA,
        source_port: int | None = None,
        source_host: str = "127.0.0.1",
    ) -> None:
        self.work = work.resolve()
        self.households = households
        self.fast = fast  # fsync off: for the test suite's small drill only
        # Given a configuration, the drill restores that (production) stanza's backups.
        self.existing = conf is not None
        self.conf = conf or self.work / "pgbackrest.conf"
        self.stanza = stanza
        self.source = self.work / "source"
        self.source_port = source_port or _free_port()
        self.source_host = source_host
        self.report = DrillReport(households=households)
        self._running: list[Path] = []

    # --- clusters ----------------------------------------------------------------

    def _prepare(self) -> None:
        if self.work.exists():
            shutil.rmtree(self.work)
        self.work.mkdir(parents=True)
        if self.existing:
            if os.geteuid() == 0:
                shutil.chown(self.work, "postgres", "postgres")
            return
        for sub in ("repo", "log", "lock"):
            (self.work / sub).mkdir(parents=True)
        self.conf.write_text(
            "[global]\n"
            f"repo1-path={self.work / 'repo'}\n"
            "repo1-retention-full=2\n"
            "compress-type=lz4\n"
            "process-max=2\n"
            "start-fast=y\n"
            f"log-path={self.work / 'log'}\n"
            f"lock-path={self.work / 'lock'}\n"
            "log-level-console=warn\n"
            "log-level-file=info\n"
            f"\n[{self.stanza}]\n"
            f"pg1-path={self.source}\n"
            f"pg1-port={self.source_port}\n"
            f"pg1-socket-path={self.work}\n"
        )
        if os.geteuid() == 0:
            shutil.chown(self.work, "postgres", "postgres")
            for path in self.work.rglob("*"):
                shutil.chown(path, "postgres", "postgres")

    def _settings(self, port: int) -> str:
        return (
            f"port = {port}\n"
            "listen_addresses = '127.0.0.1'\n"
            f"unix_socket_directories = '{self.work}'\n"
            "wal_level = replica\n"
            "archive_mode = on\n"
            f"archive_command = 'pgbackrest --config={self.conf} --stanza={self.stanza} "
            "archive-push %p'\n"
            "archive_timeout = 60\n"
            "max_wal_senders = 3\n"
            "shared_buffers = 256MB\n"
            "max_wal_size = 4GB\n"
            + (
                "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
                if self.fast
                else ""
            )
        )

    def _start(self, data: Path, port: int) -> None:
        _as_owner(
            [str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(data / "server.log"), "-w",
             "-t", "600", "-o", f"-p {port}", "start"]
        )  # fmt: skip
        self._running.append(data)

    def _stop(self, data: Path) -> None:
        if data in self._running:
            _as_owner([str(PG_BIN / "pg_ctl"), "-D", str(data), "-w", "-m", "fast", "stop"])
            self._running.remove(data)

    def stop_all(self) -> None:
        for data in list(self._running):
            with suppress(DrillFailed):
                self._stop(data)

    def _psql(self, port: int, sql: str, database: str = DATABASE) -> str:
        # A production source is reached over its socket (peer authentication as postgres).
        host = self.source_host if port == self.source_port else "127.0.0.1"
        result = _as_owner(
            [str(PG_BIN / "psql"), "-h", host, "-p", str(port), "-U", "postgres",
             "-d", database, "-v", "ON_ERROR_STOP=1", "-Atc", sql]
        )  # fmt: skip
        return result.stdout.strip()

    def _url(self, port: int) -> str:
        return f"postgis://postgres@127.0.0.1:{port}/{DATABASE}"

    def _manage(self, port: int, *args: str) -> None:
        env = {**os.environ, "DATABASE_URL": self._url(port), "DEBUG": "0"}
        env.setdefault("SECRET_KEY", "restore-drill-only")
        env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        try:
            subprocess.run(  # noqa: S603
                [sys.executable, "manage.py", *args], cwd=PROJECT, env=env, check=True,
                capture_output=True, text=True,
            )  # fmt: skip
        except subprocess.CalledProcessError as exc:
            raise DrillFailed(f"manage.py {' '.join(args)}:\n{exc.stdout}\n{exc.stderr}") from exc

    def counts(self, port: int) -> dict[str, int]:
        sql = " UNION ALL ".join(
            f"SELECT '{name}', count(*) FROM {table}"  # noqa: S608 (names from COUNTED)
            for name, table in COUNTED.items()
        )
        rows = self._psql(port, sql).splitlines()
        return {name: int(value) for name, value in (row.split("|") for row in rows)}

    # --- the drill ---------------------------------------------------------------

    def fill(self) -> None:
        started = time.monotonic()
        _as_owner([str(PG_BIN / "initdb"), "-D", str(self.source), "-U", "postgres", "-A", "trust",
                   "-E", "UTF8", "--locale=C.UTF-8"])  # fmt: skip
        with (self.source / "postgresql.conf").open("a") as conf:
            conf.write(self._settings(self.source_port))
        self._start(self.source, self.source_port)
        self._psql(self.source_port, f"CREATE DATABASE {DATABASE}", database="postgres")
        self._psql(self.source_port, "CREATE EXTENSION postgis")
        _as_owner(
            ["pgbackrest", f"--config={self.conf}", f"--stanza={self.stanza}", "stanza-create"]
        )
        self._manage(self.source_port, "migrate", "--verbosity", "0")
        self._manage(self.source_port, "createcachetable")
        self._manage(self.source_port, "load_regions", "--scope", "ppu", "--verbosity", "0")
        self._manage(
            self.source_port, "generate_households", "--region", "64.09",
            "--households", str(self.households), "--seed", "7",
        )  # fmt: skip
        self._manage(self.source_port, "refresh_indicators", "--full")
        self.report.seconds_fill = round(time.monotonic() - started, 1)
        self.report.database_bytes = int(
            self._psql(self.source_port, f"SELECT pg_database_size('{DATABASE}')")
        )

    def backup(self) -> None:
        started = time.monotonic()
        _as_owner(["pgbackrest", f"--config={self.conf}", f"--stanza={self.stanza}", "--type=full",
                   "backup"])  # fmt: skip
        self.report.seconds_backup = round(time.monotonic() - started, 1)
        info = json.loads(
            _as_owner(["pgbackrest", f"--config={self.conf}", "--output=json", "info"]).stdout
        )
        self.report.backup_bytes = info[0]["backup"][-1]["info"]["repository"]["delta"]

    def work_then_mistake(self) -> tuple[dict, str, dict]:
        """Upkeep after the backup (it must come back from the WAL), the time noted, then
        the mistaken delete. Returns (counts before, time before, counts after)."""
        self._psql(
            self.source_port,
            "UPDATE households_household SET fasilitas_bab = 1, jenis_kloset = 1 "
            "WHERE id IN (SELECT id FROM households_household ORDER BY id LIMIT 25)",
        )
        self._manage(self.source_port, "refresh_indicators")
        before = self.counts(self.source_port)
        # Force the WAL of the work so far into the archive, then note the time: the
        # point-in-time restore must stop after this and before the mistake.
        self._psql(self.source_port, "SELECT pg_switch_wal()")
        time.sleep(1.1)
        noted = self._psql(
            self.source_port, "SELECT to_char(clock_timestamp(), 'YYYY-MM-DD HH24:MI:SS.USOF')"
        )
        time.sleep(1.1)
        village = self._psql(
            self.source_port,
            "SELECT region_id FROM households_household GROUP BY region_id "
            "ORDER BY count(*) DESC LIMIT 1",
        )
        # The code comes from the drill's own database (a Kemendagri code, digits and dots).
        in_village = f"SELECT id FROM households_household WHERE region_id = '{village}'"  # noqa: S608
        self._psql(
            self.source_port,
            "BEGIN; "  # noqa: S608
            f"DELETE FROM households_member WHERE household_id IN ({in_village}); "
            f"DELETE FROM households_household WHERE region_id = '{village}'; "
            "COMMIT;",
        )
        after = self.counts(self.source_port)
        self.report.deleted_households = before["households"] - after["households"]
        self._psql(self.source_port, "SELECT pg_switch_wal()")
        _as_owner(["pgbackrest", f"--config={self.conf}", f"--stanza={self.stanza}", "check"])
        return before, noted, after

    def restore(
        self,
        name: str,
        expected: dict,
        *,
        target_time: str | None = None,
        target_name: str | None = None,
    ) -> Restore:
        data, port = self.work / f"restore-{name}", _free_port()
        result = Restore(target=target_time or target_name or "latest", expected=expected)
        started = time.monotonic()
        args = ["pgbackrest", f"--config={self.conf}", f"--stanza={self.stanza}",
                f"--pg1-path={data}", "--archive-mode=off"]  # fmt: skip
        if target_time:
            args += ["--type=time", f"--target={target_time}", "--target-action=promote"]
        elif target_name:
            args += ["--type=name", f"--target={target_name}", "--target-action=promote"]
        _as_owner([*args, "restore"])
        if not (data / "postgresql.conf").exists():
            # A Debian cluster keeps its configuration in /etc/postgresql: the restored copy
            # gets a minimal one of its own, reachable on loopback only, on its own port.
            (data / "postgresql.conf").write_text("listen_addresses = '127.0.0.1'\n")
            (data / "pg_hba.conf").write_text(
                "local all postgres peer\nhost all postgres 127.0.0.1/32 trust\n"
            )
            if os.geteuid() == 0:
                for path in ("postgresql.conf", "pg_hba.conf"):
                    shutil.chown(data / path, "postgres", "postgres")
        with (data / "postgresql.auto.conf").open("a") as conf:
            conf.write(
                f"port = {port}\nunix_socket_directories = '{self.work}'\n"
                "archive_mode = off\nlisten_addresses = '127.0.0.1'\n"
            )
        self._start(data, port)
        # The cluster accepts connections once consistent; wait until recovery ended.
        deadline = time.monotonic() + 3600
        while self._psql(port, "SELECT pg_is_in_recovery()", database="postgres") == "t":
            if time.monotonic() > deadline:
                raise DrillFailed(f"restore {name}: recovery did not end")
            time.sleep(0.2)
        result.seconds_restore = round(time.monotonic() - started, 2)
        with self._portal(port) as base:
            result.portal = self._ask_portal(base)
        result.seconds_to_portal = round(time.monotonic() - started, 2)
        result.found = self.counts(port)
        self._stop(data)
        return result

    @contextmanager
    def _portal(self, port: int):
        http = _free_port()
        env = {**os.environ, "DATABASE_URL": self._url(port), "DEBUG": "0",
               "ALLOWED_HOSTS": "127.0.0.1", "SECRET_KEY": "restore-drill-only"}  # fmt: skip
        env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        gunicorn = Path(sys.executable).with_name("gunicorn")
        server = subprocess.Popen(  # noqa: S603
            [str(gunicorn), "desapresisi.wsgi:application", "--bind", f"127.0.0.1:{http}",
             "--workers", "1", "--log-level", "warning"],
            cwd=PROJECT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        try:
            base = f"http://127.0.0.1:{http}"
            deadline = time.monotonic() + 120
            while True:
                try:
                    with urllib.request.urlopen(f"{base}/health/live/", timeout=5):  # noqa: S310
                        break
                except OSError as exc:
                    if server.poll() is not None or time.monotonic() > deadline:
                        raise DrillFailed(
                            f"the portal did not start: {server.stderr.read()}"
                        ) from exc
                    time.sleep(0.2)
            yield base
        finally:
            server.terminate()
            server.wait(30)

    def _ask_portal(self, base: str) -> dict:
        url = f"{base}/api/v1/regions/?level=desa&within=64.09"
        with urllib.request.urlopen(url, timeout=30) as answer:  # noqa: S310 (http only)
            regions = json.load(answer)
        try:
            urllib.request.urlopen(f"{base}/health/", timeout=30)  # noqa: S310
            health = 200
        except urllib.error.HTTPError as exc:  # 503: no worker runs on a drill cluster
            health = exc.code
        listed = regions.get("results", regions) if isinstance(regions, dict) else regions
        return {"regions": len(listed), "health_status": health}

    def run_existing(self) -> DrillReport:
        """The drill on a real installation: its stanza's backups and archived WAL restored
        into a scratch cluster up to a restore point made now, the portal started on it,
        the counts compared with the live database at that point. Writes nothing to the
        live cluster but the restore point; best run at a quiet hour (a write between the
        count and the point would show as a difference)."""
        self._prepare()
        try:
            before = self.counts(self.source_port)
            point = f"drill-{time.strftime('%Y%m%dT%H%M%S')}"
            self._psql(self.source_port, f"SELECT pg_create_restore_point('{point}')")
            self._psql(self.source_port, "SELECT pg_switch_wal()")
            _as_owner(["pgbackrest", f"--config={self.conf}", f"--stanza={self.stanza}", "check"])
            self.report.households = before["households"]
            self.report.restores.append(self.restore("existing", before, target_name=point))
        finally:
            self.stop_all()
        return self.report

    def run(self) -> DrillReport:
        if self.existing:
            return self.run_existing()
        self._prepare()
        try:
            self.fill()
            self.backup()
            before, noted, after = self.work_then_mistake()
            self._stop(self.source)  # the disk is gone: only the repository is left
            self.report.restores.append(self.restore("latest", after))
            self.report.restores.append(self.restore("before-delete", before, target_time=noted))
        finally:
            self.stop_all()
        return self.report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--households", type=int, default=33_000)
    parser.add_argument("--work", type=Path, default=PROJECT / ".local" / "restore-drill")
    parser.add_argument("--fast", action="store_true", help="fsync off (small drills only)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    parser.add_argument("--json", type=Path, help="write the report here too")
    existing = parser.add_argument_group(
        "drill on an installation's own backups (deploy/install.sh's names by default)"
    )
    existing.add_argument("--pgbackrest-config", type=Path, help="e.g. /etc/pgbackrest.conf")
    existing.add_argument("--stanza", default="desapresisi")
    existing.add_argument("--source-port", type=int, default=5432)
    existing.add_argument("--source-socket", default="/var/run/postgresql")
    args = parser.parse_args(argv)
    if args.pgbackrest_config:
        drill = Drill(
            args.work, households=0, conf=args.pgbackrest_config, stanza=args.stanza,
            source_port=args.source_port, source_host=args.source_socket,
        )  # fmt: skip
    else:
        drill = Drill(args.work, households=args.households, fast=args.fast)
    try:
        report = drill.run()
    finally:
        if not args.keep:
            shutil.rmtree(args.work, ignore_errors=True)
    text = json.dumps(report.as_dict(), indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
