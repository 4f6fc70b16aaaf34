#!/usr/bin/env bash
# Runs the server locally. Without MONGO_URL / APP__DATABASE__URI it starts a
# local SecantusDB (scripts/db.sh) on port 27017 and uses it. A debug build by
# default (quick to compile); RELEASE=1 for the optimised build.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
if [ -z "${MONGO_URL:-}" ] && [ -z "${APP__DATABASE__URI:-}" ]; then
  DB_PORT="${DB_PORT:-27017}" scripts/db.sh start
  export APP__DATABASE__URI="mongodb://127.0.0.1:${DB_PORT:-27017}/?directConnection=true"
fi
export APP_ENVIRONMENT="${APP_ENVIRONMENT:-local}"
exec cargo run ${RELEASE:+--release} --bin splitlyr -- "$@"
