#!/usr/bin/env bash
# The whole test suite: installs and starts a throwaway SecantusDB, then runs
# unit, property and integration tests against it (`cargo test --all-targets`),
# then the drills (tests/drills/: extra processes, crashes and restarts; not
# part of a plain `cargo test`), then Schemathesis against the API description
# (scripts/schemathesis.sh; unless filtered, or SPLITLYR_SCHEMATHESIS=0).
#   scripts/test.sh                      everything, as CI runs it
#   scripts/test.sh -- FILTER            both runs, filtered
#   scripts/test.sh --test api -- FILTER one target (api, drills, ...): that run only
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# A free port unless one is given, so a database already running elsewhere never clashes.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
export DB_PORT="${TEST_DB_PORT:-$(free_port)}"
export DB_PATH=":memory:"
scripts/db.sh start
trap 'DB_PORT=$DB_PORT scripts/db.sh stop' EXIT
# A missing or changed snapshot (tests/api/snapshots/) fails instead of being
# written: review a deliberate change with INSTA_UPDATE=always, then commit it.
export INSTA_UPDATE="${INSTA_UPDATE:-no}"
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
    echo "installing nginx-light (for tests/drills/replicas.rs)" >&2
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get install -y -qq nginx-light >/dev/null 2>&1 \
      || { $sudo apt-get update -qq >/dev/null && $sudo apt-get install -y -qq nginx-light >/dev/null; }
    nginx=/usr/sbin/nginx
  fi
  export SPLITLYR_NGINX="$nginx"
}
ensure_nginx
# The rolling-deploy drill runs the release before the journal next to this
# one: built once into target/previous/ (a few minutes the first time).
previous_release() {
  export SPLITLYR_PREVIOUS_BINARY="${SPLITLYR_PREVIOUS_BINARY:-$(scripts/previous-release.sh)}"
}
# Arguments that choose targets make one run of exactly those.
for arg in "$@"; do
  case "$arg" in
    --) break ;;
    --test | --test=* | --lib | --bin | --bin=* | --bins | --tests | --all-targets | --doc | --example* | --bench*)
      case " $* " in *" drills "* | *"--test=drills"*) previous_release ;; esac
      cargo test "$@"
      exit 0 ;;
  esac
done
cargo test --all-targets "$@"
echo "== drills (tests/drills/)"
previous_release
cargo test --test drills "$@"
if [ "$#" -eq 0 ] && [ "${SPLITLYR_SCHEMATHESIS:-1}" != "0" ]; then
  echo "== schemathesis (scripts/schemathesis.sh)"
  bash scripts/schemathesis.sh
fi
