"""Real servers for the tests that need more than one: a scratch primary holding a copy of
the test database, its streaming replica made by scripts/replica, PgBouncer in
transaction mode, and the portal under gunicorn on top (a real HTTP server, real
connections, separate processes: what the router and the actor setting meet in
production). The shared test cluster is never stopped: a test that stops "the primary"
stops its own scratch copy."""

from __future__ import annotations

import http.cookiejar
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import contextmanager, suppress
from pathlib import Path

from django.conf import settings

PROJECT = Path(__file__).resolve().parents[2]
PG_BIN = Path("/usr/lib/postgresql/15/bin")
PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"


def binaries_present() -> bool:
    return (PG_BIN / "pg_basebackup").exists() and (PG_BIN / "initdb").exists()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def as_owner(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    """PostgreSQL and PgBouncer refuse to run as root: as root, run as `postgres`."""
    if os.geteuid() == 0:
        args = ["runuser", "-u", "postgres", "--", *args]
    kwargs.setdefault("check", True)
    kwargs.setdefault("capture_output", True)
    kwargs.setdefault("text", True)
    return subprocess.run(args, **kwargs)  # noqa: S603 (fixed programs, own arguments)


def scratch_dir(prefix: str) -> Path:
    # Not pytest's tmp_path: its parents are private to root, and the servers run as postgres.
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/var/tmp"))
    path.chmod(0o755)
    if os.geteuid() == 0:
        shutil.chown(path, "postgres", "postgres")
    return path


def psql(port: int, sql: str, database: str = "postgres") -> str:
    result = subprocess.run(  # noqa: S603
        [str(PG_BIN / "psql"), "-X", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres",
         "-d", database, "-v", "ON_ERROR_STOP=1", "-Atc", sql],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return result.stdout.strip()


def source_database() -> dict:
    return settings.DATABASES["default"]


class Cluster:
    """A scratch primary with a copy of the test database, and its replica."""

    def __init__(self) -> None:
        self.work = scratch_dir("desapresisi-replica-")
        self.primary = self.work / "primary"
        self.primary_port = free_port()
        self.replica = self.work / "replica"
        self.replica_url: str | None = None
        self.database = source_database()["NAME"]

    @property
    def primary_url(self) -> str:
        return f"postgis://postgres@127.0.0.1:{self.primary_port}/{self.database}"

    def start_primary(self) -> None:
        as_owner([str(PG_BIN / "initdb"), "-D", str(self.primary), "-U", "postgres",
                  "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8"])  # fmt: skip
        with (self.primary / "postgresql.conf").open("a") as conf:
            conf.write(
                f"port = {self.primary_port}\nlisten_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.work}'\n"
                # The default is replica already; said here because the replica needs it.
                "wal_level = replica\nmax_wal_senders = 4\n"
                "fsync = off\nfull_page_writes = off\n"
            )
        self._pg_ctl(self.primary, "start")

    def _pg_ctl(self, data: Path, action: str) -> None:
        args = [str(PG_BIN / "pg_ctl"), "-D", str(data), "-w", "-t", "120"]
        if action == "start":
            args += ["-l", str(data / "server.log")]
        else:
            args += ["-m", "fast"]
        as_owner([*args, action], cwd=self.work)

    def copy_test_database(self) -> None:
        """What the test wrote into its (committed) test database, onto the scratch primary."""
        source = source_database()
        psql(self.primary_port, f'CREATE DATABASE "{self.database}"')
        dump = subprocess.Popen(  # noqa: S603
            [str(PG_BIN / "pg_dump"), "-Fc", "-h", source["HOST"], "-p", str(source["PORT"]),
             "-U", source["USER"], "-d", source["NAME"]],
            stdout=subprocess.PIPE,
        )  # fmt: skip
        subprocess.run(  # noqa: S603
            [str(PG_BIN / "pg_restore"), "--no-owner", "--exit-on-error", "-h", "127.0.0.1",
             "-p", str(self.primary_port), "-U", "postgres", "-d", self.database],
            stdin=dump.stdout, check=True, capture_output=True,
        )  # fmt: skip
        assert dump.wait() == 0

    def start_replica(self) -> str:
        """scripts/replica, as an operator runs it; the URL is its last line."""
        env = {**os.environ, "PRIMARY_URL": self.primary_url}
        result = subprocess.run(  # noqa: S603
            [str(PROJECT / "scripts" / "replica"), "start", "--dir", str(self.replica)],
            cwd=PROJECT, env=env, check=False, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        self.replica_url = result.stdout.strip().splitlines()[-1]
        return self.replica_url

    def replica_script(self, *args: str) -> subprocess.CompletedProcess:
        env = {**os.environ, "PRIMARY_URL": self.primary_url}
        return subprocess.run(  # noqa: S603
            [str(PROJECT / "scripts" / "replica"), *args, "--dir", str(self.replica)],
            cwd=PROJECT, env=env, check=False, capture_output=True, text=True, timeout=300,
        )  # fmt: skip

    @property
    def replica_port(self) -> int:
        assert self.replica_url
        return int(self.replica_url.rsplit(":", 1)[1].split("/")[0])

    def on_primary(self, sql: str) -> str:
        return psql(self.primary_port, sql, self.database)

    def on_replica(self, sql: str) -> str:
        return psql(self.replica_port, sql, self.database)

    def caught_up(self, timeout: float = 30) -> None:
        target = self.on_primary("SELECT pg_current_wal_lsn()")
        deadline = time.monotonic() + timeout
        while self.on_replica(f"SELECT pg_last_wal_replay_lsn() >= '{target}'") != "t":
            assert time.monotonic() < deadline, "the replica did not catch up"
            time.sleep(0.05)

    def stop_primary(self) -> None:
        self._pg_ctl(self.primary, "stop")

    def close(self) -> None:
        with suppress(Exception):
            self.replica_script("stop")
        with suppress(Exception):
            self.stop_primary()
        shutil.rmtree(self.work, ignore_errors=True)


@contextmanager
def pgbouncer(*, port: int, database: str, pool_size: int = 1):
    """PgBouncer in transaction mode in front of PostgreSQL on `port`; yields its port. One
    server connection by default, so that every client's transactions take turns on it."""
    work = scratch_dir("desapresisi-pgbouncer-")
    listen = free_port()
    (work / "userlist.txt").write_text('"postgres" ""\n')
    (work / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"{database} = host=127.0.0.1 port={port} dbname={database}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {listen}\nunix_socket_dir =\n"
        "auth_type = trust\n"
        f"auth_file = {work / 'userlist.txt'}\n"
        "pool_mode = transaction\n"
        f"default_pool_size = {pool_size}\nmin_pool_size = 0\nreserve_pool_size = 0\n"
        "max_client_conn = 100\n"
        # Django sets these when it connects; PgBouncer keeps them per client.
        "ignore_startup_parameters = extra_float_digits,options\n"
        f"logfile = {work / 'pgbouncer.log'}\npidfile = {work / 'pgbouncer.pid'}\n"
    )
    if os.geteuid() == 0:
        for path in work.iterdir():
            shutil.chown(path, "postgres", "postgres")
    args = [PGBOUNCER, str(work / "pgbouncer.ini")]
    if os.geteuid() == 0:
        args = ["runuser", "-u", "postgres", "--", *args]
    server = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # noqa: S603
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", listen), timeout=1):
                    break
            except OSError:
                assert server.poll() is None, server.stderr.read()
                assert time.monotonic() < deadline, "pgbouncer did not start"
                time.sleep(0.1)
        yield listen
    finally:
        server.terminate()
        server.wait(30)
        shutil.rmtree(work, ignore_errors=True)


@contextmanager
def portal(*, database_url: str, replica_url: str = "", workers: int = 1, **env_extra: str):
    """The portal under gunicorn on a free port; yields its base URL."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DATABASE_REPLICA_URL": replica_url,
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECRET_KEY": os.environ.get("SECRET_KEY", "replica-tests-only"),
        "DB_CONN_MAX_AGE": "60",
        **env_extra,
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    gunicorn = Path(sys.executable).with_name("gunicorn")
    log = tempfile.TemporaryFile()  # noqa: SIM115 (read back on failure, closed below)
    server = subprocess.Popen(  # noqa: S603
        [str(gunicorn), "desapresisi.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", str(workers), "--log-level", "warning"],
        cwd=PROJECT, env=env, stdout=log, stderr=log,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{base}/health/live/", timeout=5):  # noqa: S310
                    break
            except OSError as exc:
                if server.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise AssertionError(f"the portal did not start: {log.read()!r}") from exc
                time.sleep(0.2)
        yield base
    except BaseException:
        # What the server said is the best clue to a failed assertion about its answers.
        log.seek(0)
        sys.stderr.write(log.read().decode(errors="replace")[-20000:])
        raise
    finally:
        server.terminate()
        server.wait(30)
        log.close()


class Caller:
    """One user of the API: a token, and a cookie jar as a browser or requests.Session has."""

    def __init__(self, base: str, token: str | None = None) -> None:
        self.base = base
        self.token = token
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Token {self.token}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(  # noqa: S310 (http to the test's own server)
            self.base + path, data=data, method=method, headers=headers
        )
        try:
            with self.opener.open(request, timeout=60) as answer:
                return answer.status, json.loads(answer.read() or b"{}")
        except urllib.error.HTTPError as exc:
            text = exc.read()
            try:
                return exc.code, json.loads(text)
            except ValueError:
                return exc.code, {"body": text.decode(errors="replace")[:2000]}

    def has_cookie(self, name: str) -> bool:
        return any(cookie.name == name for cookie in self.cookies)
