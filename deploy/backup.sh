#!/bin/sh
# Nightly backup (desapresisi-backup.timer, as the postgres user): full on Sunday,
# differential on the other days; retention is in /etc/pgbackrest/pgbackrest.conf. After a
# good backup the status file is touched: /health/ reports its age (BACKUP_STATUS_FILE).
set -eu
stanza="${PGBACKREST_STANZA:-desapresisi}"
status="${BACKUP_STATUS_FILE:-/var/lib/desapresisi-backup/last-success}"
if [ "$(date +%u)" = 7 ]; then type=full; else type=diff; fi
pgbackrest --stanza="$stanza" --type="$type" backup
pgbackrest --stanza="$stanza" check
touch "$status"
