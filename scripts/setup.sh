#!/usr/bin/env bash
# Set up everything smb_journey needs on a fresh machine, then run the demo:
# Odoo 19 serving on http://127.0.0.1:8069 with smb_journey installed on a
# demo database whose customers, carts and orders went through the journeys.
#
# Idempotent: run it again at will (the demo database is recreated).
#
# Environment (all optional):
#   ODOO_SRC=/path       Odoo 19 source tree (git checkout or unpacked source
#                        tarball). Default: /opt/odoo19 if present, else the
#                        Odoo 19 Python already imports, else Odoo's official
#                        nightly source tarball is downloaded into the cache.
#   SMBJ_DB=name         demo database (default smb_journey_demo); DROPPED and recreated.
#   SMBJ_PORT=8069       HTTP port of the demo server.
#   SMBJ_NO_SERVE=1      stop after installing the demo (CI, tests).
#   SMBJ_SEND_MAIL=1     leave Odoo's mail queue cron active in the demo database
#                        (by default it is paused so the journey emails stay
#                        visible in the queue instead of failing on a missing
#                        SMTP server).
#   SMBJ_DB_HOST/PORT/USER/PASSWORD, SMBJ_PG_SUPERUSER, SMBJ_CACHE_DIR, PYTHON.
set -euo pipefail
# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

ODOO_TARBALL_URL="${SMBJ_ODOO_TARBALL_URL:-https://nightly.odoo.com/19.0/nightly/src/odoo_19.0.latest.tar.gz}"
DEMO_DB="${SMBJ_DB:-smb_journey_demo}"
HTTP_PORT="${SMBJ_PORT:-8069}"
EXTRA_PY_DEPS=(scikit-learn websocket-client phonenumbers pytest)

is_root() { [ "$(id -u)" = 0 ]; }
have() { command -v "$1" >/dev/null 2>&1; }

apt_install() {
    # Debian/Ubuntu packages, only as root and only when apt is there; never fatal.
    if ! is_root || ! have apt-get; then
        warn "cannot install Debian packages ($*): not root or no apt-get; install them yourself"
        return 1
    fi
    log "apt-get install $*"
    if [ -z "${_APT_UPDATED:-}" ]; then
        apt-get update -qq || warn "apt-get update failed"
        _APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" \
        || { warn "apt-get install $* failed"; return 1; }
}

[[ "$DB_USER" =~ ^[a-z_][a-z0-9_]*$ ]] || die "SMBJ_DB_USER must be a plain lower-case role name"
[[ "$DEMO_DB" =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]*$ ]] || die "SMBJ_DB must be a plain database name"

# ---------------------------------------------------------------------------
# 1. PostgreSQL and the `odoo` role (Odoo refuses to connect as `postgres`)
# ---------------------------------------------------------------------------
setup_postgres() {
    if ! have psql; then
        apt_install postgresql postgresql-client || die "PostgreSQL client (psql) is missing"
        if have service; then service postgresql start || true; fi
    fi
    if psql_odoo -tAc "SELECT 1" >/dev/null 2>&1; then
        log "PostgreSQL role '$DB_USER' ready on $DB_HOST:$DB_PORT"
        return
    fi
    log "Creating PostgreSQL superuser role '$DB_USER'"
    local sql="DO \$\$ BEGIN
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$DB_USER') THEN
            CREATE ROLE $DB_USER LOGIN SUPERUSER PASSWORD '$DB_PASSWORD';
        END IF; END \$\$;"
    # over TCP as the postgres superuser (trust / password in PGPASSWORD), else
    # through the local socket as the postgres system user (peer auth, fresh Debian)
    if ! psql -X -q -v ON_ERROR_STOP=1 -h "$DB_HOST" -p "$DB_PORT" -U "$PG_SUPERUSER" -d postgres -c "$sql" 2>/dev/null; then
        if is_root && id postgres >/dev/null 2>&1; then
            su postgres -c "psql -X -q -v ON_ERROR_STOP=1 -p '$DB_PORT' -d postgres" <<<"$sql" \
                || die "could not create the PostgreSQL role '$DB_USER'"
        else
            die "could not create the PostgreSQL role '$DB_USER': run as root, or create it yourself:
    createuser -h $DB_HOST -p $DB_PORT -U $PG_SUPERUSER --superuser --pwprompt $DB_USER"
        fi
    fi
    psql_odoo -tAc "SELECT 1" >/dev/null \
        || die "role '$DB_USER' exists but cannot log in on $DB_HOST:$DB_PORT (check pg_hba.conf / SMBJ_DB_PASSWORD)"
}

# ---------------------------------------------------------------------------
# 2. Chromium, for Odoo's browser tests (tours)
# ---------------------------------------------------------------------------
setup_chromium() {
    if have chromium || have chromium-browser || have google-chrome || have google-chrome-stable; then
        return
    fi
    apt_install chromium || warn "no Chromium/Chrome: the browser tests (tours) of scripts/test.sh will fail"
}

# ---------------------------------------------------------------------------
# 3. Python (a venv only when the system Python is "externally managed")
# ---------------------------------------------------------------------------
setup_python() {
    have "$PYTHON" || [ -x "$PYTHON" ] || die "no Python interpreter ($PYTHON); install python3 (>= 3.10)"
    "$PYTHON" -c 'import sys; assert sys.version_info >= (3, 10)' \
        || die "Odoo 19 needs Python >= 3.10 ($PYTHON is $("$PYTHON" -V 2>&1))"
    local managed
    managed="$("$PYTHON" -c 'import os, sys, sysconfig
venv = sys.prefix != sys.base_prefix
print(int(not venv and os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED"))))')"
    if [ "$managed" = 1 ]; then
        log "System Python is externally managed (PEP 668): using a virtualenv in $REPO_ROOT/.venv"
        if [ ! -x "$REPO_ROOT/.venv/bin/python" ]; then
            "$PYTHON" -m venv "$REPO_ROOT/.venv" || {
                apt_install python3-venv && "$PYTHON" -m venv "$REPO_ROOT/.venv"
            } || die "could not create $REPO_ROOT/.venv"
        fi
        PYTHON="$REPO_ROOT/.venv/bin/python"
    fi
    if ! "$PYTHON" -m pip --version >/dev/null 2>&1; then
        "$PYTHON" -m ensurepip --upgrade >/dev/null 2>&1 || apt_install python3-pip \
            || die "pip is missing for $PYTHON"
    fi
    log "Python: $("$PYTHON" -c 'import sys; print(sys.executable, sys.version.split()[0])')"
}

# ---------------------------------------------------------------------------
# 4. Odoo 19 source: ODOO_SRC, /opt/odoo19, the importable one, or the official tarball
# ---------------------------------------------------------------------------
download_odoo() {
    local dest="$CACHE_DIR/odoo-19.0" tarball="$CACHE_DIR/odoo_19.0.latest.tar.gz"
    if is_odoo19_tree "$dest"; then
        echo "$dest"
        return
    fi
    mkdir -p "$CACHE_DIR"
    if [ ! -s "$tarball" ]; then
        log "Downloading Odoo 19 source from $ODOO_TARBALL_URL" >&2
        if have curl; then
            curl -fL --retry 3 --connect-timeout 30 -o "$tarball.part" "$ODOO_TARBALL_URL"
        elif have wget; then
            wget -q -O "$tarball.part" "$ODOO_TARBALL_URL"
        else
            "$PYTHON" -c 'import sys, urllib.request; urllib.request.urlretrieve(sys.argv[1], sys.argv[2])' \
                "$ODOO_TARBALL_URL" "$tarball.part"
        fi || { rm -f "$tarball.part"; die "could not download $ODOO_TARBALL_URL; set ODOO_SRC to an Odoo 19 source tree"; }
        mv "$tarball.part" "$tarball"
    fi
    log "Unpacking $tarball into $dest" >&2
    rm -rf "$dest.part" && mkdir -p "$dest.part"
    tar -xzf "$tarball" -C "$dest.part" --strip-components=1 \
        || { rm -rf "$dest.part" "$tarball"; die "corrupt download $tarball (removed; run again)"; }
    is_odoo19_tree "$dest.part" || { rm -rf "$dest.part"; die "$tarball does not hold an Odoo 19 source tree"; }
    rm -rf "$dest" && mv "$dest.part" "$dest"
    echo "$dest"
}

# ---------------------------------------------------------------------------
# 5. Odoo's Python requirements + ours, and Odoo importable through a .pth
# ---------------------------------------------------------------------------
install_python_deps() {
    local src="$1" reqs stamp
    mkdir -p "$CACHE_DIR"
    "$PYTHON" -c 'import packaging.requirements' 2>/dev/null \
        || PIP_ROOT_USER_ACTION=ignore "$PYTHON" -m pip install -q packaging
    # Odoo pins per Python version; its pins for Python < 3.12 do not build on
    # current systems, the >= 3.12 ones install fine on 3.10/3.11: evaluate
    # the markers as Python max(3.12, ours). python-ldap (LDAP login, needs
    # system headers) is left out.
    reqs="$CACHE_DIR/odoo-requirements.txt"
    "$PYTHON" - "$src/requirements.txt" >"$reqs" <<'PY'
import sys
from packaging.markers import default_environment
from packaging.requirements import Requirement

env = default_environment()
if sys.version_info < (3, 12):
    env.update(python_version="3.12", python_full_version="3.12.0")
for raw in open(sys.argv[1], encoding="utf-8"):
    line = raw.split("#", 1)[0].strip()
    if not line:
        continue
    req = Requirement(line)
    if req.name.lower() == "python-ldap":
        continue
    if req.marker is None or req.marker.evaluate(env):
        req.marker = None
        print(req)
PY
    printf '%s\n' "${EXTRA_PY_DEPS[@]}" >>"$reqs"
    stamp="$CACHE_DIR/pip-$("$PYTHON" -c 'import hashlib, sys
print(hashlib.sha256(open(sys.argv[1], "rb").read() + sys.executable.encode()).hexdigest()[:16])' "$reqs").ok"
    if [ -f "$stamp" ] && "$PYTHON" -c 'import psycopg2, lxml, jinja2, requests, sklearn, websocket, phonenumbers, pytest' 2>/dev/null; then
        log "Python requirements already installed ($(wc -l <"$reqs") packages)"
        return
    fi
    if ! "$PYTHON" -c 'import psycopg2' 2>/dev/null && ! have pg_config; then
        # psycopg2 is built from source: it needs libpq's headers and a compiler
        apt_install libpq-dev gcc python3-dev || true
    fi
    log "Installing Python requirements ($(wc -l <"$reqs") packages)"
    PIP_ROOT_USER_ACTION=ignore "$PYTHON" -m pip install -q -r "$reqs" || die "pip install failed (see above)"
    touch "$stamp"
}

make_odoo_importable() {
    local src="$1" site pth current
    site="$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
    pth="$site/odoo19-src.pth"
    current="$(importable_odoo19_tree || true)"
    if [ "$current" != "$src" ]; then
        log "Making Odoo importable: $pth -> $src"
        echo "$src" >"$pth" || die "cannot write $pth"
        current="$(importable_odoo19_tree || true)"
        [ "$current" = "$src" ] \
            || die "Python imports Odoo from '${current:-nowhere}' instead of $src (another odoo package installed?)"
    fi
}

# ---------------------------------------------------------------------------
# 6. The main job: demo database, smb_journey with demo data, then serve
# ---------------------------------------------------------------------------
install_demo() {
    local src="$1" logfile="$CACHE_DIR/setup-install.log"
    set_odoo_args "$src"
    log "Recreating database '$DEMO_DB'"
    psql_odoo -c "DROP DATABASE IF EXISTS \"$DEMO_DB\" WITH (FORCE)"
    rm -rf "$HOME/.local/share/Odoo/filestore/$DEMO_DB"
    log "Installing smb_journey, its Inventory bridge smb_journey_stock and SMS bridge smb_journey_sms with demo data (a few minutes; log: $logfile)"
    local rc
    set +e
    "$PYTHON" "$(odoo_bin "$src")" "${ODOO_ARGS[@]}" -d "$DEMO_DB" -i smb_journey,smb_journey_stock,smb_journey_sms --with-demo \
        --stop-after-init --no-http --log-level=info 2>&1 | tee "$logfile" \
        | grep --line-buffered -E " (WARNING|ERROR|CRITICAL) |Loading module |modules loaded|Modules loaded|smb_journey/"
    rc="${PIPESTATUS[0]}"
    set -e
    if [ "$rc" != 0 ] || grep -Eq " (ERROR|CRITICAL) " "$logfile"; then
        echo "--- first error in $logfile:" >&2
        grep -m1 -A25 -E " (ERROR|CRITICAL) " "$logfile" >&2 || tail -n 25 "$logfile" >&2
        die "installing smb_journey, smb_journey_stock, smb_journey_sms on '$DEMO_DB' failed (exit $rc); full log: $logfile"
    fi
    if [ -z "${SMBJ_SEND_MAIL:-}" ]; then
        # No SMTP server on a fresh machine: keep the journey emails in the queue
        # for the admin to read instead of letting the mail cron fail them.
        psql_odoo -d "$DEMO_DB" -c "UPDATE ir_cron SET active = false WHERE id = (
            SELECT res_id FROM ir_model_data WHERE module = 'mail' AND name = 'ir_cron_mail_scheduler_action')"
    fi
    log "Demo database '$DEMO_DB':"
    psql_odoo -d "$DEMO_DB" -P footer=off -c "
        SELECT j.name->>'en_US' AS journey, j.state,
               (SELECT count(*) FROM smb_journey_enrollment e WHERE e.journey_id = j.id) AS enrollments,
               (SELECT count(*) FROM smb_journey_log l JOIN smb_journey_enrollment e ON e.id = l.enrollment_id
                 WHERE e.journey_id = j.id) AS step_logs
          FROM smb_journey j ORDER BY j.sequence, j.id" \
        -c "SELECT CASE WHEN s.id IS NULL THEN 'other emails' ELSE 'journey emails' END AS emails,
                   m.state, count(*)
              FROM mail_mail m LEFT JOIN smb_journey_step s ON s.mailing_id = m.mailing_id
             GROUP BY 1, 2 ORDER BY 1, 2" \
        -c "SELECT t.name->>'en_US' AS loyalty_tier, count(p.id) AS customers
              FROM smb_loyalty_tier t
              LEFT JOIN res_partner p ON (p.smb_tier_id->>t.company_id::text)::int = t.id
                                     AND p.id = p.commercial_partner_id
             GROUP BY t.id, t.name ORDER BY t.min_spend" \
        -c "SELECT r.date AS churn_scored_on, r.model_kind, r.customer_count AS customers, r.high_count AS high_risk,
                   r.medium_count AS medium_risk FROM smb_churn_run r ORDER BY r.id DESC LIMIT 1"
}

serve() {
    local src="$1"
    set_odoo_args "$src"
    cat <<EOF

  smb_journey demo is ready.
    URL:       http://127.0.0.1:$HTTP_PORT/odoo   (database '$DEMO_DB')
    Login:     admin / admin
    Journeys:  main menu > Journeys (enrollments and their step logs under Journeys > Enrollments)
    Emails:    Settings > Technical > Emails (activate the developer mode first: Settings > Developer Tools)
EOF
    if [ -z "${SMBJ_SEND_MAIL:-}" ]; then
        cat <<EOF
               The mail queue cron ("Mail: Email Queue Manager") is paused in this demo
               database, so the journey emails wait there, unsent. To really send them,
               configure an outgoing mail server and re-activate that scheduled action.
EOF
    fi
    echo
    if [ -n "${SMBJ_NO_SERVE:-}" ]; then
        log "SMBJ_NO_SERVE set: not starting the server. Start it with:"
        echo "  $PYTHON $(odoo_bin "$src") ${ODOO_ARGS[*]} -d $DEMO_DB --db-filter='^$DEMO_DB\$' --http-interface=127.0.0.1 --http-port=$HTTP_PORT"
        return
    fi
    log "Serving Odoo on http://127.0.0.1:$HTTP_PORT (Ctrl+C to stop)"
    exec "$PYTHON" "$(odoo_bin "$src")" "${ODOO_ARGS[@]}" -d "$DEMO_DB" --db-filter="^$DEMO_DB\$" \
        --http-interface=127.0.0.1 --http-port="$HTTP_PORT"
}

main() {
    setup_postgres
    setup_chromium
    setup_python
    local src
    src="$(resolve_odoo_src)"
    if [ -z "$src" ]; then
        src="$(download_odoo)"
    fi
    log "Odoo 19 source: $src"
    install_python_deps "$src"
    make_odoo_importable "$src"
    install_demo "$src"
    serve "$src"
}

main "$@"
