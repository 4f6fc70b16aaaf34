#!/usr/bin/env bash
# The whole test suite: installs and starts a throwaway SecantusDB, then runs
# unit, property and integration tests against it. Extra args go to cargo test.
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
cargo test --all-targets "$@"
