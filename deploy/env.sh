# shellcheck shell=bash
# pipo_load_env FILE: export every NAME=value of a PiPo environment file
# (deploy/systemd/pipo.env.example) the way systemd's EnvironmentFile= and
# deploy/render.py read it: blank lines and # comments skipped, one pair of
# surrounding quotes removed. Nothing in the file is executed.
pipo_load_env() {
  local file="$1" line name value
  [ -r "$file" ] || { echo "cannot read $file" >&2; return 1; }
  while IFS= read -r line || [ -n "$line" ]; do
    line="${line#"${line%%[![:space:]]*}"}"
    line="${line%"${line##*[![:space:]]}"}"
    case "$line" in "" | "#"* | ";"*) continue ;; esac
    name="${line%%=*}"
    value="${line#*=}"
    name="${name%"${name##*[![:space:]]}"}"
    value="${value#"${value%%[![:space:]]*}"}"
    if [[ "$line" != *=* || ! "$name" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]]; then
      echo "$file: expected NAME=value, got: $line" >&2
      return 1
    fi
    if [ "${#value}" -ge 2 ]; then
      case "$value" in \"*\" | \'*\') value="${value:1:${#value}-2}" ;; esac
    fi
    export "$name=$value"
  done <"$file"
}
