# shellcheck shell=bash disable=SC2034  # variables are used by the scripts that source this file
# Shared settings of scripts/setup.sh and scripts/test.sh (sourced, not run).
# Every value can be overridden from the environment.

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# PostgreSQL: Odoo refuses to run as the `postgres` role, setup.sh creates `odoo`.
DB_HOST="${SMBJ_DB_HOST:-127.0.0.1}"
DB_PORT="${SMBJ_DB_PORT:-5432}"
DB_USER="${SMBJ_DB_USER:-odoo}"
DB_PASSWORD="${SMBJ_DB_PASSWORD:-odoo}"
PG_SUPERUSER="${SMBJ_PG_SUPERUSER:-postgres}"

CACHE_DIR="${SMBJ_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/smb_journey}"

# The Python that runs Odoo: $PYTHON, else the repository's .venv (created by
# setup.sh when the system Python is "externally managed"), else python3.
if [ -z "${PYTHON:-}" ]; then
    if [ -x "$REPO_ROOT/.venv/bin/python" ]; then
        PYTHON="$REPO_ROOT/.venv/bin/python"
    else
        PYTHON="python3"
    fi
fi

log() { printf '\033[1m==> %s\033[0m\n' "$*"; }
warn() { printf '\033[33mWARNING: %s\033[0m\n' "$*" >&2; }
die() { printf '\033[31mERROR: %s\033[0m\n' "$*" >&2; exit 1; }

# Run psql as the `odoo` role against the maintenance database.
psql_odoo() {
    PGPASSWORD="$DB_PASSWORD" PGOPTIONS="--client-min-messages=warning" psql -X -q -v ON_ERROR_STOP=1 -h "$DB_HOST" -p "$DB_PORT" -U "$DB_USER" -d postgres "$@"
}

# True when $1 is an Odoo 19 source tree: a git checkout (odoo-bin, addons/)
# or Odoo's source tarball (setup/odoo, addons moved into odoo/addons/).
is_odoo19_tree() {
    [ -f "$1/odoo/release.py" ] && { [ -f "$1/odoo-bin" ] || [ -f "$1/setup/odoo" ]; } \
        && grep -Eq "^version_info = \(19," "$1/odoo/release.py"
}

# Odoo's launcher script in source tree $1.
odoo_bin() {
    if [ -f "$1/odoo-bin" ]; then echo "$1/odoo-bin"; else echo "$1/setup/odoo"; fi
}

# The source tree of the Odoo 19 that $PYTHON imports, or nothing.
importable_odoo19_tree() {
    "$PYTHON" - <<'PY' 2>/dev/null
import os
import odoo.release as r
assert r.version_info[0] == 19
print(os.path.dirname(os.path.dirname(os.path.abspath(r.__file__))))
PY
}

# Where Odoo 19's source is: $ODOO_SRC, /opt/odoo19, else the importable one.
resolve_odoo_src() {
    if [ -n "${ODOO_SRC:-}" ]; then
        is_odoo19_tree "$ODOO_SRC" || die "ODOO_SRC=$ODOO_SRC is not an Odoo 19 source tree (no odoo-bin / odoo/release.py with version 19)"
        (cd "$ODOO_SRC" && pwd)
    elif is_odoo19_tree /opt/odoo19; then
        echo /opt/odoo19
    else
        local tree
        tree="$(importable_odoo19_tree)"
        if [ -n "$tree" ] && is_odoo19_tree "$tree"; then
            echo "$tree"
        fi
    fi
}

# Odoo's command line shared by both scripts (database and addons path), set
# in the array ODOO_ARGS.
set_odoo_args() {
    local src="$1" addons="$REPO_ROOT"
    # a git checkout keeps the standard addons in addons/; the tarball in
    # odoo/addons/, which Odoo always searches
    [ -d "$src/addons" ] && addons="$src/addons,$addons"
    ODOO_ARGS=(
        "--db_host=$DB_HOST" "--db_port=$DB_PORT"
        "--db_user=$DB_USER" "--db_password=$DB_PASSWORD"
        "--addons-path=$addons"
    )
}

# A free TCP port on 127.0.0.1 (tests must not collide with a running demo server).
free_port() {
    "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}
