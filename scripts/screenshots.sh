#!/usr/bin/env bash
# Regenerate the README's screenshots (docs/screenshots/*.png): a fresh demo
# database (./scripts/setup.sh without serving), then the tours of
# smb_journey/tests/test_screenshots.py in headless Chromium at 1440x900.
#
#   ./scripts/screenshots.sh                 # every screenshot
#   ./scripts/screenshots.sh journey_diagram # one (the test method test_<name>)
#
# Environment: SMBJ_DB (default smbj_screenshots, DROPPED and recreated),
# SMBJ_KEEP_DB=1 to reuse it when it exists, SMBJ_SCREENSHOTS_DIR, ODOO_SRC,
# SMBJ_PORT (default 8079).
set -euo pipefail
# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$REPO_ROOT"

DB="${SMBJ_DB:-smbj_screenshots}"
PORT="${SMBJ_PORT:-8079}"
SRC="$(resolve_odoo_src)"
TAGS="smb_journey_screenshots/smb_journey:TestReadmeScreenshots${1:+.test_$1}"

if [ -z "${SMBJ_KEEP_DB:-}" ] || ! psql_odoo -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1; then
    SMBJ_DB="$DB" SMBJ_NO_SERVE=1 ./scripts/setup.sh
fi
log "Taking the screenshots ($TAGS) on $DB"
"$PYTHON" "$(odoo_bin "$SRC")" --db_host="$DB_HOST" --db_port="$DB_PORT" --db_user="$DB_USER" \
    --db_password="$DB_PASSWORD" --addons-path="$SRC/addons,$REPO_ROOT" -d "$DB" \
    -u smb_journey --test-tags="$TAGS" --stop-after-init \
    --http-port="$PORT" --log-level=test --max-cron-threads=0
ls -l docs/screenshots
