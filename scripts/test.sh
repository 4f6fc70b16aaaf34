#!/usr/bin/env bash
# The whole test suite: installs and starts a throwaway SecantusDB, then runs
# unit, property and integration tests against it, then Schemathesis against
# the API description (scripts/schemathesis.sh). Extra args go to cargo test
# (and skip Schemathesis, as does SPLITLYR_SCHEMATHESIS=0).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# A free port unless one is given, so a database already running elsewhere never clashes.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
export DB_PORT="${TEST_DB_PORT:-$(free_port)}"
export DB_PATH=":memory:"
scripts/db.sh start
trap 'DB_PORT=$DB_PORT scripts/db.sh stop' EXIT
export SPLITLYR_TEST_DB_URI="mongodb://127.0.0.1:${DB_PORT}/?directConnection=true"
# Tests that stop and restart their own database need the server binary.
export SPLITLYR_SECANTUSD="$root/.venv/bin/secantusd-py"
# The replica tests put three servers behind nginx (Debian's nginx-light).
ensure_nginx() {
  local nginx
  nginx=$(command -v nginx || true)
  [ -n "$nginx" ] || { [ -x /usr/sbin/nginx ] && nginx=/usr/sbin/nginx; }
  if [ -z "$nginx" ]; then
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "installing nginx-light (for tests/api/replicas.rs)" >&2
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get install -y -qq nginx-light >/dev/null 2>&1 \
      || { $sudo apt-get update -qq >/dev/null && $sudo apt-get install -y -qq nginx-light >/dev/null; }
    nginx=/usr/sbin/nginx
  fi
  export SPLITLYR_NGINX="$nginx"
}
ensure_nginx
cargo test --all-targets "$@"
if [ "$#" -eq 0 ] && [ "${SPLITLYR_SCHEMATHESIS:-1}" != "0" ]; then
  bash scripts/schemathesis.sh
fi
