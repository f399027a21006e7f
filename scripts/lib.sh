# shellcheck shell=bash
# Shared helpers for scripts/setup, scripts/run and scripts/test.
# Sourced, never executed: callers set `set -euo pipefail` and cd to the
# project root before sourcing, so every relative path here is rooted there.

PROJECT_ROOT="$(pwd -P)"
PG_BIN=/usr/lib/postgresql/15/bin
LOCAL_DIR="$PROJECT_ROOT/.local"
VENV_DIR="$PROJECT_ROOT/.venv"

# Packages every entry point needs. The test suite's own (a browser, PDF and
# message-catalogue tools) are kept apart: only it needs them, and they are large.
SYSTEM_PACKAGES=(
    postgresql-15
    postgresql-15-postgis-3
    gdal-bin
    libgdal32
    libgeos-c1v5
    libproj25
    python3-venv
    # WAL archiving, base backups and point-in-time restores (deploy/, scripts/restore-drill).
    pgbackrest
    # Connection pooling in transaction mode (docs/operations.md; tests/desapresisi).
    pgbouncer
)
BROWSER_PACKAGES=(
    chromium
    chromium-driver
    fonts-dejavu-core
    # pdftotext/pdfinfo: the tests read the PDFs the portal writes.
    poppler-utils
    # xgettext: the i18n test extracts every msgid with makemessages.
    gettext
    # java: the field collection tests run ODK Validate (JavaRosa, ODK Collect's form
    # engine, shipped with pyxform) on the generated XLSForms.
    openjdk-17-jre-headless
)

log() {
    printf '==> %s\n' "$*" >&2
}

warn() {
    printf 'warning: %s\n' "$*" >&2
}

die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

is_root() {
    [[ "$(id -u)" -eq 0 ]]
}

# Runs a command with root privileges; on a developer machine that means sudo.
as_root() {
    if is_root; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "root privileges are needed to run '$*', but you are not root and sudo is not installed"
    fi
}

package_installed() {
    [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" == "install ok installed" ]]
}

# ensure_system_packages [--browser]
# shellcheck disable=SC2120  # scripts/test passes --browser
ensure_system_packages() {
    local wanted=("${SYSTEM_PACKAGES[@]}")
    if [[ "${1:-}" == "--browser" ]]; then
        wanted+=("${BROWSER_PACKAGES[@]}")
    elif [[ $# -gt 0 ]]; then
        die "ensure_system_packages: unknown argument '$1'"
    fi

    local missing=() pkg
    for pkg in "${wanted[@]}"; do
        package_installed "$pkg" || missing+=("$pkg")
    done
    if [[ ${#missing[@]} -eq 0 ]]; then
        return 0
    fi

    log "installing system packages: ${missing[*]}"
    # `env` carries DEBIAN_FRONTEND through sudo, which would otherwise drop it.
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends "${missing[@]}"
}

requirements_hash() {
    cat requirements.txt requirements-dev.txt | sha256sum | cut -d' ' -f1
}

ensure_venv() {
    local python="${PYTHON:-python3}"
    local stamp="$VENV_DIR/.req-stamp"

    # A venv whose interpreter no longer runs (moved tree, removed Python)
    # cannot be repaired in place; rebuilding it is cheap next to debugging it.
    if [[ -d "$VENV_DIR" ]] && ! "$VENV_DIR/bin/python" -c 'import sys' >/dev/null 2>&1; then
        log "virtualenv at .venv is broken, recreating it"
        rm -rf "$VENV_DIR"
    fi
    if [[ ! -x "$VENV_DIR/bin/python" ]]; then
        log "creating virtualenv .venv with $python"
        "$python" -m venv "$VENV_DIR"
    fi

    local want have=""
    want="$(requirements_hash)"
    [[ -f "$stamp" ]] && have="$(<"$stamp")"
    if [[ "$want" == "$have" ]]; then
        return 0
    fi

    log "installing Python requirements into .venv"
    PIP_DISABLE_PIP_VERSION_CHECK=1 "$VENV_DIR/bin/pip" install -q -r requirements-dev.txt
    # Written only after a successful install so that a failed one is retried.
    printf '%s\n' "$want" >"$stamp"
}

# --- PostgreSQL ------------------------------------------------------------

# Quiet psql: the IF NOT EXISTS statements would otherwise print a NOTICE on
# every run.
quiet_psql() {
    PGOPTIONS="-c client_min_messages=warning ${PGOPTIONS:-}" \
        "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"
}

# psql against the local cluster as its superuser.
local_psql() {
    local db="$1"
    shift
    quiet_psql -h 127.0.0.1 -p "$PG_LOCAL_PORT" -U postgres -d "$db" "$@"
}

# Runs a PostgreSQL server binary as the cluster owner. The server refuses to
# run as root, so root hands over to the `postgres` system user.
pg_as_owner() {
    if is_root; then
        # cd first: the postgres user may not be able to read the caller's cwd.
        (cd "$PG_BASE" && LC_ALL=C.UTF-8 runuser -u postgres -- "$@")
    else
        (cd "$PG_BASE" && LC_ALL=C.UTF-8 "$@")
    fi
}

# Chooses where the cluster lives. Sets PG_BASE (socket dir, log) and PGDATA.
pg_choose_location() {
    PG_BASE="$LOCAL_DIR"
    if is_root; then
        mkdir -p "$LOCAL_DIR"
        if ! runuser -u postgres -- test -x "$PROJECT_ROOT" 2>/dev/null; then
            local short
            short="$(printf '%s' "$PROJECT_ROOT" | sha1sum | cut -c1-8)"
            PG_BASE="/var/tmp/desapresisi-$short"
            warn "user postgres cannot reach $PROJECT_ROOT; keeping the database cluster in $PG_BASE"
            mkdir -p "$PG_BASE"
            chown postgres:postgres "$PG_BASE"
            chmod 700 "$PG_BASE"
        else
            # The server writes its socket and log next to the data dir, but
            # .local also holds root's secret key: group write plus the sticky
            # bit lets postgres create files without touching root's.
            chgrp postgres "$LOCAL_DIR"
            chmod 1770 "$LOCAL_DIR"
        fi
    else
        mkdir -p "$LOCAL_DIR"
        chmod 700 "$LOCAL_DIR"
    fi
    PGDATA="$PG_BASE/pgdata"
    PG_LOG="$PG_BASE/postgresql.log"
}

pg_init_cluster() {
    if [[ -f "$PGDATA/PG_VERSION" ]]; then
        local version
        version="$(<"$PGDATA/PG_VERSION")"
        [[ "$version" == "15" ]] \
            || die "$PGDATA holds a PostgreSQL $version cluster, expected 15; move it away and rerun"
        return 0
    fi
    # No PG_VERSION means an interrupted initdb; the dir is ours alone.
    rm -rf "$PGDATA"

    log "creating local PostgreSQL 15 cluster in $PGDATA"
    mkdir -p "$PGDATA"
    chmod 700 "$PGDATA"
    is_root && chown postgres:postgres "$PGDATA"
    # trust auth: this is a throwaway dev/test cluster bound to 127.0.0.1 and
    # a private socket dir, never a production database.
    pg_as_owner "$PG_BIN/initdb" -D "$PGDATA" --username=postgres \
        --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$PG_BASE/initdb.log" 2>&1 \
        || { cat "$PG_BASE/initdb.log" >&2; die "initdb failed"; }
    printf "\ninclude_if_exists = 'desapresisi.conf'\n" >>"$PGDATA/postgresql.conf"
}

# Rewritten on every start so a change of port or location takes effect.
pg_write_conf() {
    local port="$1" sockdir="${PG_BASE//\'/\'\'}"
    cat >"$PGDATA/desapresisi.conf" <<EOF
# Managed by scripts/lib.sh; edits are overwritten.
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$sockdir'
EOF
    is_root && chown postgres:postgres "$PGDATA/desapresisi.conf"
    return 0
}

# Prints the port of our running postmaster and succeeds, or fails if it is
# not running. pg_ctl status alone trusts any live PID in postmaster.pid, and
# after a reboot that PID may belong to an unrelated process (even another
# postgres), so the process's working directory must also be our data dir.
pg_running_port() {
    local pidfile="$PGDATA/postmaster.pid" pid cwd
    [[ -f "$pidfile" ]] || return 1
    pg_as_owner "$PG_BIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1 || return 1
    pid="$(sed -n 1p "$pidfile")"
    cwd="$(readlink "/proc/$pid/cwd" 2>/dev/null || true)"
    [[ -n "$cwd" && "$cwd" -ef "$PGDATA" ]] || return 1
    sed -n 4p "$pidfile"
}

port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

pg_start_cluster() {
    local port="$1"
    if [[ -f "$PGDATA/postmaster.pid" ]]; then
        warn "removing stale $PGDATA/postmaster.pid"
        rm -f "$PGDATA/postmaster.pid"
    fi
    rm -f "$PG_BASE/.s.PGSQL.$port" "$PG_BASE/.s.PGSQL.$port.lock"
    pg_write_conf "$port"
    log "starting local PostgreSQL on 127.0.0.1:$port (log: $PG_LOG)"
    if ! pg_as_owner "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$PG_LOG" -w -t 60 start >/dev/null; then
        tail -n 30 "$PG_LOG" >&2 || true
        die "could not start PostgreSQL in $PGDATA"
    fi
}

# Brings up the project-local cluster; sets PG_LOCAL_PORT.
pg_ensure_cluster() {
    pg_choose_location
    pg_init_cluster

    local running port="${PGPORT_LOCAL:-5433}"
    if running="$(pg_running_port)"; then
        if [[ -z "${PGPORT_LOCAL:-}" || "$running" == "$PGPORT_LOCAL" ]]; then
            PG_LOCAL_PORT="$running"
            return 0
        fi
        # Checked before stopping, so a bad choice leaves the cluster running.
        port_in_use "$PGPORT_LOCAL" \
            && die "port $PGPORT_LOCAL (PGPORT_LOCAL) is already used by another program"
        log "local PostgreSQL runs on port $running, restarting it on $PGPORT_LOCAL"
        pg_as_owner "$PG_BIN/pg_ctl" -D "$PGDATA" -w -m fast stop >/dev/null
    fi

    if port_in_use "$port"; then
        [[ -z "${PGPORT_LOCAL:-}" ]] \
            || die "port $port (PGPORT_LOCAL) is already used by another program"
        # Another program (often a cluster left over from another checkout)
        # holds the default port; a neighbour keeps CI on a fresh clone going.
        local candidate
        for candidate in $(seq 5434 5460); do
            if ! port_in_use "$candidate"; then
                warn "port $port is in use, using $candidate instead (set PGPORT_LOCAL to choose)"
                port="$candidate"
                break
            fi
        done
        port_in_use "$port" && die "no free port found for the local PostgreSQL; set PGPORT_LOCAL"
    fi
    pg_start_cluster "$port"
    PG_LOCAL_PORT="$port"
}

# ensure_database NAME
ensure_database() {
    local name="${1:?ensure_database needs a database name}"

    if [[ -n "${DATABASE_URL:-}" ]]; then
        # libpq knows only postgres(ql)://; Django's dj-database-url also
        # accepts postgis://, which points at the same server.
        local url="$DATABASE_URL"
        url="${url/#postgis:\/\//postgresql://}"
        url="${url/#pgsql:\/\//postgresql://}"
        log "checking database from DATABASE_URL"
        quiet_psql "$url" -Atc 'select 1' >/dev/null \
            || die "cannot connect to DATABASE_URL"
        quiet_psql "$url" -c 'CREATE EXTENSION IF NOT EXISTS postgis' >/dev/null \
            || die "cannot enable PostGIS in the DATABASE_URL database"
        return 0
    fi

    pg_ensure_cluster

    # template1 first: databases created from it afterwards, including the
    # test databases pytest-django makes, come with PostGIS already.
    local_psql template1 -c 'CREATE EXTENSION IF NOT EXISTS postgis' >/dev/null
    # psql interpolates :'name' only in scripts, not in -c, hence stdin.
    local_psql postgres -v name="$name" >/dev/null <<'SQL'
SELECT format('CREATE DATABASE %I', :'name')
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'name')
\gexec
SQL
    local_psql "$name" -c 'CREATE EXTENSION IF NOT EXISTS postgis' >/dev/null

    export DATABASE_URL="postgis://postgres@127.0.0.1:$PG_LOCAL_PORT/$name"
    log "database ready: $DATABASE_URL"
}

# --- Django ----------------------------------------------------------------

manage() {
    "$VENV_DIR/bin/python" manage.py "$@"
}

# Keeps a generated key across runs so that sessions and signed data survive
# restarts; an explicit SECRET_KEY in the environment always wins.
ensure_secret_key() {
    if [[ -n "${SECRET_KEY:-}" ]]; then
        export SECRET_KEY
        return 0
    fi
    local keyfile="$LOCAL_DIR/secret_key"
    mkdir -p "$LOCAL_DIR"
    if [[ ! -s "$keyfile" ]]; then
        log "generating a secret key in .local/secret_key"
        (
            umask 077
            "$VENV_DIR/bin/python" -c 'import secrets; print(secrets.token_urlsafe(50))' >"$keyfile.tmp"
            mv "$keyfile.tmp" "$keyfile"
        )
    fi
    chmod 600 "$keyfile"
    SECRET_KEY="$(<"$keyfile")"
    export SECRET_KEY
}

# Environment for serving the portal (and for setup, which runs the same
# settings): production-like unless the caller says otherwise.
export_runtime_env() {
    export DEBUG="${DEBUG:-0}"
    export ALLOWED_HOSTS="${ALLOWED_HOSTS:-127.0.0.1,localhost}"
    ensure_secret_key
}

# Everything scripts/setup does; scripts/run builds on it.
setup_project() {
    # shellcheck disable=SC2119  # no browser needed to serve the portal
    ensure_system_packages
    ensure_venv
    ensure_database desapresisi
    export_runtime_env
    log "applying migrations"
    manage migrate --noinput
    manage createcachetable
    log "collecting static files"
    manage collectstatic --noinput
}
