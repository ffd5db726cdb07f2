#!/usr/bin/env bash
# Run smb_journey's tests:
#   (a) the ORM-free pytest tests in tests/ (no Odoo, no database needed);
#   (b) the Odoo suite (smb_journey/tests, tours included, smb_journey_stock/tests and smb_journey_sms/tests) on a fresh,
#       throw-away database, when Odoo 19 is importable.
# Ends with one line "N passed, N failed" (both suites summed); exits non-zero
# on any failure, error, or ERROR/CRITICAL line in Odoo's log.
#
# Environment (all optional):
#   SMBJ_SKIP_ODOO=1      run only the pytest tests.
#   SMBJ_TEST_TAGS=...    Odoo --test-tags (default /smb_journey,/smb_journey_stock,/smb_journey_sms; e.g. /smb_journey:TestEngine).
#   SMBJ_ALLOW_SKIPPED_TOURS=1   do not fail when browser tests are skipped (no Chrome).
#   SMBJ_TEST_DB=name     the throw-away database's name (default smbj_test_<pid>);
#                         it must not exist yet, and is dropped at the end.
#   ODOO_SRC=/path        Odoo 19 source tree (default: the one Python imports).
#   SMBJ_DB_HOST/PORT/USER/PASSWORD, PYTHON.
set -uo pipefail
# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$REPO_ROOT" || exit 1

TMP_DIR="$(mktemp -d "${TMPDIR:-/tmp}/smbj_test.XXXXXX")"
TEST_DB="${SMBJ_TEST_DB:-smbj_test_$$}"
DB_CREATED=""
KEEP_TMP=""

cleanup() {
    if [ -n "$DB_CREATED" ]; then
        psql_odoo -c "DROP DATABASE IF EXISTS \"$TEST_DB\" WITH (FORCE)" >/dev/null 2>&1 \
            || warn "could not drop the test database $TEST_DB"
    fi
    if [ -n "$KEEP_TMP" ]; then
        rm -rf "$TMP_DIR/data"
    else
        rm -rf "$TMP_DIR"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

banner() {
    local line="################################################################################"
    printf '\n\033[1;31m%s\n' "$line"
    printf '#  %s\n' "$@"
    printf '%s\033[0m\n\n' "$line"
}

PASSED=0
FAILED=0
SKIPPED=0
STATUS=0

# ---------------------------------------------------------------------------
# (a) ORM-free tests
# ---------------------------------------------------------------------------
run_pytest() {
    log "ORM-free tests (pytest tests/)"
    if ! "$PYTHON" -c 'import pytest' 2>/dev/null; then
        echo "pytest is not installed for $PYTHON: $PYTHON -m pip install pytest" >&2
        FAILED=$((FAILED + 1))
        STATUS=1
        return
    fi
    local junit="$TMP_DIR/pytest.xml" rc
    "$PYTHON" -m pytest -p no:cacheprovider -q --junitxml="$junit" tests
    rc=$?
    if [ "$rc" = 5 ]; then
        echo "pytest collected no test in tests/: that is a failure (the ORM-free tests are missing)" >&2
        FAILED=$((FAILED + 1))
        STATUS=1
        return
    fi
    if [ ! -s "$junit" ]; then
        echo "pytest did not run (exit $rc)" >&2
        FAILED=$((FAILED + 1))
        STATUS=1
        return
    fi
    local counts
    # tests failures errors skipped, summed over the test suites of the report
    counts="$("$PYTHON" - "$junit" <<'PY'
import sys
import xml.etree.ElementTree as ET

root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
total = [sum(int(s.get(k, 0)) for s in suites) for k in ("tests", "failures", "errors", "skipped")]
print(*total)
PY
)"
    local tests failures errors skipped
    read -r tests failures errors skipped <<<"$counts"
    PASSED=$((PASSED + tests - failures - errors - skipped))
    FAILED=$((FAILED + failures + errors))
    SKIPPED=$((SKIPPED + skipped))
    if [ "$rc" != 0 ]; then
        STATUS=1
    fi
}

# ---------------------------------------------------------------------------
# (b) Odoo tests
# ---------------------------------------------------------------------------
run_odoo() {
    local src
    if [ -n "${ODOO_SRC:-}" ]; then
        if ! is_odoo19_tree "$ODOO_SRC"; then
            banner "ODOO SUITE SKIPPED: ODOO_SRC=$ODOO_SRC is not an Odoo 19 source tree." \
                   "Only the ORM-free pytest tests ran. See DEVELOPERS.md."
            STATUS=1
            return
        fi
        src="$(cd "$ODOO_SRC" && pwd)"
    else
        src="$(importable_odoo19_tree)"
        if [ -z "$src" ] || ! is_odoo19_tree "$src"; then
            local why
            why="$("$PYTHON" -c 'import odoo.release as r; print("Odoo", r.version)' 2>&1 | tail -n 1)"
            banner "ODOO SUITE SKIPPED: Odoo 19 is not importable by $PYTHON" \
                   "(${why:-no odoo package})." \
                   "Only the ORM-free pytest tests ran; the Odoo tests (smb_journey/tests) did NOT." \
                   "Run ./scripts/setup.sh (or see DEVELOPERS.md) to make Odoo 19 importable."
            return
        fi
    fi

    # Browser tests (tours) need websocket-client and Chrome/Chromium: Odoo
    # skips them quietly otherwise, which this script turns into a failure.
    local tour_blockers=()
    "$PYTHON" -c 'import websocket' 2>/dev/null || tour_blockers+=("websocket-client is not installed ($PYTHON -m pip install websocket-client)")
    if ! command -v google-chrome >/dev/null && ! command -v chromium >/dev/null \
        && ! command -v chromium-browser >/dev/null && ! command -v google-chrome-stable >/dev/null; then
        tour_blockers+=("no Chrome/Chromium in PATH (apt-get install chromium)")
    fi
    if [ "${#tour_blockers[@]}" -gt 0 ]; then
        banner "BROWSER TESTS (TOURS) CANNOT RUN:" "${tour_blockers[@]}"
    fi

    if ! psql_odoo -tAc "SELECT 1" >/dev/null 2>&1; then
        banner "ODOO SUITE NOT RUN: cannot connect to PostgreSQL as '$DB_USER' on $DB_HOST:$DB_PORT." \
               "Run ./scripts/setup.sh once (it creates the role)."
        FAILED=$((FAILED + 1))
        STATUS=1
        return
    fi

    if [ -n "$(psql_odoo -tAc "SELECT 1 FROM pg_database WHERE datname = '$TEST_DB'" 2>/dev/null)" ]; then
        banner "ODOO SUITE NOT RUN: the test database $TEST_DB already exists (it would be dropped)."
        FAILED=$((FAILED + 1))
        STATUS=1
        return
    fi

    local logfile="$TMP_DIR/odoo-test.log" port rc tags="${SMBJ_TEST_TAGS:-/smb_journey,/smb_journey_stock,/smb_journey_sms}"
    port="$(free_port)"
    set_odoo_args "$src"
    log "Odoo tests ($tags) on a fresh database $TEST_DB, Odoo from $src"
    DB_CREATED=1  # odoo-bin creates it; the trap drops it
    "$PYTHON" "$(odoo_bin "$src")" "${ODOO_ARGS[@]}" -d "$TEST_DB" --data-dir="$TMP_DIR/data" \
        -i smb_journey,smb_journey_stock,smb_journey_sms --test-enable --test-tags="$tags" --stop-after-init --log-level=test \
        --http-interface=127.0.0.1 --http-port="$port" --max-cron-threads=0 2>&1 | tee "$logfile"
    rc="${PIPESTATUS[0]}"

    # Odoo's closing summary, e.g.
    #   ... odoo.tests.result: 0 failed, 0 error(s) of 45 tests when loading database 'x'
    local summary failed=0 errors=0 total=0 skipped=0 problems=()
    summary="$(grep -Eo '[0-9]+ failed, [0-9]+ error\(s\) of [0-9]+ tests when loading database' "$logfile" | tail -n 1)"
    if [ -n "$summary" ]; then
        read -r failed errors total <<<"$(sed -E 's/([0-9]+) failed, ([0-9]+) error\(s\) of ([0-9]+) tests.*/\1 \2 \3/' <<<"$summary")"
    else
        problems+=("Odoo did not print its test summary (it crashed or no test ran)")
    fi
    skipped="$(grep -Ec ' odoo\.addons\.[^ ]+: skipped ' "$logfile")"
    [ "$rc" = 0 ] || problems+=("odoo-bin exited with status $rc")
    [ "$total" -gt 0 ] || problems+=("Odoo ran no test (test tags: $tags)")
    [ $((failed + errors)) = 0 ] || problems+=("$failed failed, $errors error(s) in the Odoo tests")
    local bad_lines
    bad_lines="$(grep -E ' (ERROR|CRITICAL) |FAIL:' "$logfile" | grep -Ev ' of [0-9]+ tests when loading database' || true)"
    if [ -n "$bad_lines" ]; then
        problems+=("ERROR/CRITICAL/FAIL lines in Odoo's log:")
        while IFS= read -r line; do problems+=("  ${line:0:200}"); done <<<"$(head -n 20 <<<"$bad_lines")"
    fi
    local tour_skips
    tour_skips="$(grep -E 'websocket-client module is not installed|Chrome executable not found|: skipped .*(Chrome|chrome|websocket)' "$logfile" || true)"
    if [ -n "$tour_skips" ] && [ -z "${SMBJ_ALLOW_SKIPPED_TOURS:-}" ]; then
        problems+=("browser tests were skipped (set SMBJ_ALLOW_SKIPPED_TOURS=1 to accept):")
        while IFS= read -r line; do problems+=("  ${line:0:200}"); done <<<"$(head -n 5 <<<"$tour_skips")"
    fi

    PASSED=$((PASSED + total - failed - errors - skipped))
    FAILED=$((FAILED + failed + errors))
    SKIPPED=$((SKIPPED + skipped))
    if [ "${#problems[@]}" -gt 0 ]; then
        STATUS=1
        KEEP_TMP=1
        if [ $((failed + errors)) = 0 ]; then
            # no test failed, yet the run is bad: count the suite as one failure
            FAILED=$((FAILED + 1))
            problems+=("(no test failed: the Odoo suite itself counts as 1 failure below)")
        fi
        banner "ODOO SUITE FAILED" "${problems[@]}" "Full log: $logfile"
    else
        log "Odoo suite: $summary"
    fi
}

run_pytest
if [ -n "${SMBJ_SKIP_ODOO:-}" ]; then
    banner "ODOO SUITE SKIPPED: SMBJ_SKIP_ODOO is set. Only the ORM-free pytest tests ran."
else
    run_odoo
fi

[ "$SKIPPED" = 0 ] || echo "($SKIPPED skipped)"
echo "$PASSED passed, $FAILED failed"
[ "$STATUS" = 0 ] && [ "$FAILED" = 0 ]
