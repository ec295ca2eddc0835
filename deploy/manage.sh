#!/usr/bin/env bash
# manage.py with the production settings of /etc/pipo/pipo.env (or
# $PIPO_ENV_FILE), as the user who runs it:
#   sudo -u pipo /opt/pipo/deploy/manage.sh migrate
#   sudo -u pipo /opt/pipo/deploy/manage.sh create_tenant acme --name "Acme" --policy approval
set -euo pipefail
home="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=deploy/env.sh
. "$home/deploy/env.sh"
pipo_load_env "${PIPO_ENV_FILE:-/etc/pipo/pipo.env}"
cd "$home"
exec "$home/.venv/bin/python" manage.py "$@"
