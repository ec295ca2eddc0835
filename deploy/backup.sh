#!/usr/bin/env bash
# Back up and restore a PiPo instance: its PostgreSQL database and DATA_DIR.
#
#   deploy/backup.sh [--env FILE] backup DIRECTORY
#       writes DIRECTORY/pipo-<UTC time>/ with database.dump (pg_dump custom
#       format), data.tar.gz (DATA_DIR, without the regenerable static/) and
#       SHA256SUMS; prints that directory. Safe while PiPo runs: the dump is
#       one consistent snapshot, taken before the files, so every file the
#       database knows is in the archive.
#
#   deploy/backup.sh [--env FILE] restore BACKUP
#       checks SHA256SUMS, then restores into an EMPTY database (no table in
#       its public schema) and an EMPTY DATA_DIR (it refuses anything else);
#       run `deploy/manage.sh migrate` and `collectstatic` afterwards, then
#       start the workers.
#
# DATABASE_URL and DATA_DIR come from FILE (e.g. /etc/pipo/pipo.env, read the
# way systemd reads it) or else from the environment. Run it as the user that
# owns them: sudo -u pipo /opt/pipo/deploy/backup.sh --env /etc/pipo/pipo.env ...
# The archive holds DATA_DIR/secret_key: keep backups as private as the
# server. The messages and files in them are end-to-end encrypted; the
# people's key backups in the database are wrapped by their passwords.
set -euo pipefail
umask 077

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=deploy/env.sh
. "$here/env.sh"

die() {
  echo "backup.sh: $*" >&2
  exit 1
}

usage() {
  sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

if [ "${1:-}" = "--env" ]; then
  [ $# -ge 2 ] || usage
  pipo_load_env "$2"
  shift 2
fi
[ $# -eq 2 ] || usage
command="$1"
target="$2"
[ -n "${DATABASE_URL:-}" ] || die "DATABASE_URL is not set"
[ -n "${DATA_DIR:-}" ] || die "DATA_DIR is not set"
case "$DATABASE_URL" in
  postgres://* | postgresql://*) ;;
  *) die "DATABASE_URL must be a PostgreSQL URL (postgres://...)" ;;
esac

backup() {
  local directory="$1" stamp destination status=0
  [ -d "$DATA_DIR" ] || die "DATA_DIR $DATA_DIR does not exist"
  stamp="$(date -u +%Y%m%dT%H%M%SZ)"
  destination="$directory/pipo-$stamp"
  mkdir -p "$destination"
  pg_dump --format=custom --compress=6 --file="$destination/database.dump" --dbname="$DATABASE_URL"
  # Uploads in progress may grow or vanish while tar reads them (exit 1,
  # "file changed as we read it"): that is fine, they resume or expire.
  tar --create --gzip --file="$destination/data.tar.gz" --directory="$DATA_DIR" \
    --exclude=./static --warning=no-file-changed --warning=no-file-removed . || status=$?
  [ "$status" -le 1 ] || die "tar failed ($status)"
  (cd "$destination" && sha256sum database.dump data.tar.gz >SHA256SUMS)
  echo "$destination"
}

public_tables() {
  psql --dbname="$DATABASE_URL" --no-psqlrc --tuples-only --no-align --quiet \
    --command="SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = 'public'"
}

restore() {
  local source="$1" tables entries
  [ -f "$source/SHA256SUMS" ] || die "$source has no SHA256SUMS: not a PiPo backup"
  (cd "$source" && sha256sum --check --quiet SHA256SUMS) || die "$source is damaged"
  tables="$(public_tables)" || die "cannot reach the database"
  [ "$tables" = "0" ] || die "the database is not empty ($tables tables): restore into a new one"
  if [ -d "$DATA_DIR" ]; then
    entries="$(find "$DATA_DIR" -mindepth 1 -maxdepth 1 ! -name static | head -n 1)"
    [ -z "$entries" ] || die "DATA_DIR $DATA_DIR is not empty: restore into an empty one"
  fi
  pg_restore --no-owner --no-privileges --exit-on-error --single-transaction \
    --dbname="$DATABASE_URL" "$source/database.dump"
  # The modes as they were: files 0640 and directories 0750, so that nginx
  # (in the pipo group) can send files; the secret key stays 0600.
  umask 027
  mkdir -p "$DATA_DIR"
  tar --extract --gzip --file="$source/data.tar.gz" --directory="$DATA_DIR" \
    --same-permissions --no-same-owner
  echo "restored $source into the database and $DATA_DIR"
  echo "next: deploy/manage.sh migrate && deploy/manage.sh collectstatic --no-input, then start the workers"
}

case "$command" in
  backup) backup "$target" ;;
  restore) restore "$target" ;;
  *) usage ;;
esac
