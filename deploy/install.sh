#!/usr/bin/env bash
# Production install of the Desa Presisi portal on Debian 12, as root, from a checkout:
#   sudo SERVER_NAME=desapresisi.ppukab.go.id deploy/install.sh
# Safe to run again (an upgrade runs deploy/upgrade.sh). Steps, in order (docs/deploy.md):
#  1 Debian packages   2 system user and folders   3 code and virtualenv
#  4 secrets and settings   5 database, roles and grants   6 schema, static files, geography
#  7 WAL archiving and the first backup (pgBackRest)   8 systemd units and timers
#  9 nginx with TLS   10 check through the proxy
# Settings (environment):
#   SERVER_NAME   host name of the portal (default: this machine's name)
#   TLS_CERT, TLS_KEY   certificate and key; default: Debian's self-signed snakeoil pair,
#                 for a first test only (docs/deploy.md says how to put a real one)
#   DB_PORT       port of the PostgreSQL cluster (default 5432)
#   WEB_WORKERS   gunicorn workers (default: 2 x cores + 1)
set -euo pipefail

SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
APP_USER=desapresisi
PREFIX=/opt/desapresisi
APP="$PREFIX/app"
VENV="$PREFIX/venv"
ETC=/etc/desapresisi
DATA=/var/lib/desapresisi
PG_VERSION=15
PG_CLUSTER_DIR="/var/lib/postgresql/$PG_VERSION/main"
STANZA=desapresisi
SERVER_NAME="${SERVER_NAME:-$(hostname -f 2>/dev/null || hostname)}"
TLS_CERT="${TLS_CERT:-/etc/ssl/certs/ssl-cert-snakeoil.pem}"
TLS_KEY="${TLS_KEY:-/etc/ssl/private/ssl-cert-snakeoil.key}"
DB_PORT="${DB_PORT:-5432}"
WEB_WORKERS="${WEB_WORKERS:-$(($(nproc) * 2 + 1))}"

step() { printf '\n==> [%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
as_postgres() { (cd / && runuser -u postgres -- "$@"); }
psql_admin() { as_postgres psql -p "$DB_PORT" -v ON_ERROR_STOP=1 -qAt "$@"; }

[[ $EUID -eq 0 ]] || die "run as root"
grep -q '^12\.' /etc/debian_version 2>/dev/null || die "this script is for Debian 12"

step "1 Debian packages"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends \
    "postgresql-$PG_VERSION" "postgresql-$PG_VERSION-postgis-3" gdal-bin libgdal32 \
    libgeos-c1v5 libproj25 python3-venv python3-pip nginx pgbackrest ssl-cert rsync \
    ca-certificates curl openssl
if [[ "$(pg_conftool -s "$PG_VERSION" main show port 2>/dev/null || true)" != "$DB_PORT" ]]; then
    pg_conftool "$PG_VERSION" main set port "$DB_PORT"
fi
pg_conftool "$PG_VERSION" main set listen_addresses 'localhost'
systemctl enable --now "postgresql@$PG_VERSION-main"
systemctl restart "postgresql@$PG_VERSION-main"

step "2 system user and folders"
id -u "$APP_USER" >/dev/null 2>&1 \
    || useradd --system --home-dir "$DATA" --shell /usr/sbin/nologin "$APP_USER"
install -d -m 0755 -o root -g root "$PREFIX"
install -d -m 0750 -o root -g "$APP_USER" "$ETC"
install -d -m 0750 -o "$APP_USER" -g "$APP_USER" "$DATA" "$DATA/exports"
# Written by the backup job (postgres), read by the health check (desapresisi).
install -d -m 0750 -o postgres -g "$APP_USER" "$DATA-backup"

step "3 code and virtualenv"
rsync -a --delete --exclude .git --exclude .venv --exclude .local --exclude staticfiles \
    --exclude __pycache__ --exclude node_modules "$SRC/" "$APP/"
chown -R root:root "$APP"
[[ -x "$VENV/bin/python" ]] || python3 -m venv "$VENV"
"$VENV/bin/pip" install -q --upgrade pip
"$VENV/bin/pip" install -q -r "$APP/requirements.txt"

step "4 secrets and settings"
new_secret() { # new_secret FILE GROUP: a random secret, once; readable by root and GROUP only
    [[ -s "$1" ]] || (umask 0037 && openssl rand -base64 48 | tr -d '\n=+/' >"$1")
    chown root:"$2" "$1"
    chmod 0640 "$1"
}
new_secret "$ETC/secret_key" "$APP_USER"
new_secret "$ETC/owner_password" root
chmod 0600 "$ETC/owner_password"
OWNER_URL="postgis://desapresisi_owner:$(cat "$ETC/owner_password")@127.0.0.1:$DB_PORT/desapresisi"
# For the maintenance jobs run as root (audit retention): the owner's URL, root only.
(umask 0077 && printf '%s\n' "$OWNER_URL" >"$ETC/owner_database_url")
# The web role logs in over the local socket as its own system user (peer): no password.
WEB_URL="postgis://$APP_USER@%2Fvar%2Frun%2Fpostgresql:$DB_PORT/desapresisi"
if [[ ! -f "$ETC/desapresisi.env" ]]; then
    cat >"$ETC/desapresisi.env" <<ENV
# Settings of the portal (.env.example lists them all). No secret here: the secrets are
# the files named by *_FILE, readable only by root and the service.
PRODUCTION=1
DEBUG=0
SECRET_KEY_FILE=$ETC/secret_key
DATABASE_URL=$WEB_URL
ALLOWED_HOSTS=$SERVER_NAME,localhost,127.0.0.1
CSRF_TRUSTED_ORIGINS=https://$SERVER_NAME
TRUSTED_PROXY_COUNT=1
EXPORT_ROOT=$DATA/exports
BACKUP_STATUS_FILE=$DATA-backup/last-success
LOG_FORMAT=json
WEB_WORKERS=$WEB_WORKERS
TIME_ZONE=Asia/Makassar
ENV
fi
chown root:"$APP_USER" "$ETC/desapresisi.env"
chmod 0640 "$ETC/desapresisi.env"

step "5 database, roles and grants (docs/database.md)"
psql_admin -d postgres <<SQL
SELECT 'CREATE ROLE desapresisi_owner LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE'
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'desapresisi_owner') \gexec
SELECT 'CREATE ROLE $APP_USER LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS'
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$APP_USER') \gexec
SELECT 'CREATE DATABASE desapresisi OWNER desapresisi_owner'
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'desapresisi') \gexec
SQL
# The password from its file, never on a command line.
psql_admin -d postgres -v pw="$(cat "$ETC/owner_password")" \
    <<<"ALTER ROLE desapresisi_owner PASSWORD :'pw';"
psql_admin -d desapresisi <<'SQL'
CREATE EXTENSION IF NOT EXISTS postgis;
ALTER SCHEMA public OWNER TO desapresisi_owner;
SQL

manage_as_owner() {
    (cd "$APP" && env $(grep -v '^#' "$ETC/desapresisi.env" | xargs) \
        DATABASE_URL="$OWNER_URL" "$VENV/bin/python" manage.py "$@")
}

step "6 schema, static files, real geography"
manage_as_owner migrate --noinput
manage_as_owner createcachetable
manage_as_owner collectstatic --noinput -v0
manage_as_owner load_regions --scope ppu
psql_admin -d desapresisi <<SQL
GRANT CONNECT ON DATABASE desapresisi TO $APP_USER;
GRANT USAGE ON SCHEMA public TO $APP_USER;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO $APP_USER;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO $APP_USER;
ALTER DEFAULT PRIVILEGES FOR ROLE desapresisi_owner IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO $APP_USER;
ALTER DEFAULT PRIVILEGES FOR ROLE desapresisi_owner IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO $APP_USER;
SQL

step "7 WAL archiving and the first backup (pgBackRest)"
install -d -m 0750 -o postgres -g postgres /var/lib/pgbackrest /var/log/pgbackrest
cat >/etc/pgbackrest.conf <<CONF
[global]
repo1-path=/var/lib/pgbackrest
# Two full backups (a week each) with their differentials and the WAL between them:
# any moment of the last 7-14 days can be restored.
repo1-retention-full=2
repo1-retention-diff=6
compress-type=lz4
process-max=2
start-fast=y
log-level-file=info

[$STANZA]
pg1-path=$PG_CLUSTER_DIR
pg1-port=$DB_PORT
CONF
chmod 0640 /etc/pgbackrest.conf
chown root:postgres /etc/pgbackrest.conf
cat >"/etc/postgresql/$PG_VERSION/main/conf.d/desapresisi-archive.conf" <<CONF
# WAL archiving for point-in-time recovery (deploy/install.sh).
wal_level = replica
archive_mode = on
archive_command = 'pgbackrest --stanza=$STANZA archive-push %p'
archive_timeout = 300
CONF
systemctl restart "postgresql@$PG_VERSION-main"
as_postgres pgbackrest --stanza="$STANZA" stanza-create
as_postgres pgbackrest --stanza="$STANZA" check
if ! as_postgres pgbackrest --stanza="$STANZA" info --output=json | grep -q '"label"'; then
    as_postgres pgbackrest --stanza="$STANZA" --type=full backup
fi
as_postgres touch "$DATA-backup/last-success"

step "8 systemd units and timers"
install -m 0644 "$APP"/deploy/systemd/*.service "$APP"/deploy/systemd/*.timer /etc/systemd/system/
systemctl daemon-reload
systemctl enable --now desapresisi-web.service desapresisi-worker.service
systemctl enable --now desapresisi-clean.timer desapresisi-backup.timer \
    desapresisi-audit-retention.timer
systemctl restart desapresisi-web.service desapresisi-worker.service

step "9 nginx with TLS"
upload_limit=$(("$(cd "$APP" && env $(grep -v '^#' "$ETC/desapresisi.env" | xargs) \
    "$VENV/bin/python" -c 'import django, os; os.environ.setdefault("DJANGO_SETTINGS_MODULE",
"desapresisi.settings"); django.setup(); from django.conf import settings;
print(settings.IMPORT_MAX_BYTES)')" / 1024 / 1024 + 1))m
sed -e "s|@SERVER_NAME@|$SERVER_NAME|g" -e "s|@TLS_CERT@|$TLS_CERT|g" \
    -e "s|@TLS_KEY@|$TLS_KEY|g" -e "s|@UPLOAD_LIMIT@|$upload_limit|g" \
    "$APP/deploy/nginx/desapresisi.conf" >/etc/nginx/sites-available/desapresisi
ln -sf /etc/nginx/sites-available/desapresisi /etc/nginx/sites-enabled/desapresisi
rm -f /etc/nginx/sites-enabled/default
nginx -t
systemctl enable nginx
systemctl reload-or-restart nginx

step "10 check through the proxy"
for _ in $(seq 60); do
    if curl -fsk --resolve "$SERVER_NAME:443:127.0.0.1" "https://$SERVER_NAME/health/live/" \
        >/dev/null; then
        break
    fi
    sleep 1
done
curl -fsk --resolve "$SERVER_NAME:443:127.0.0.1" "https://$SERVER_NAME/health/live/" >/dev/null \
    || die "the portal does not answer through nginx"
for _ in $(seq 60); do
    if curl -fs -H "Host: $SERVER_NAME" http://127.0.0.1/health/ >/dev/null; then break; fi
    sleep 1
done
curl -s -H "Host: $SERVER_NAME" http://127.0.0.1/health/
echo
systemctl --no-pager --plain list-timers 'desapresisi-*'
printf '\nThe portal answers at https://%s/ . Next: create the first administrator:\n' "$SERVER_NAME"
printf '  cd %s && sudo -u %s env $(grep -v "^#" %s/desapresisi.env | xargs) %s/bin/python manage.py createsuperuser\n' \
    "$APP" "$APP_USER" "$ETC" "$VENV"
