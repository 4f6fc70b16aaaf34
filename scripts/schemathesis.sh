#!/usr/bin/env bash
# Property-based test of the API against its own description: starts the
# server on a throwaway database, registers a user, and runs Schemathesis
# (PyPI, pinned, installed into .venv next to SecantusDB) from
# /v1/openapi.json with a bounded number of examples per operation. It fails
# on any 5xx and on any response that does not match its schema.
#
#   bash scripts/schemathesis.sh [EXTRA SCHEMATHESIS RUN ARGS, e.g. --report har]
#
# Environment (all optional):
#   SPLITLYR_TEST_DB_URI    a database to use (scripts/test.sh sets it); without
#                           it a SecantusDB is started on a free port (:memory:)
#   SCHEMATHESIS_EXAMPLES   examples per operation (default 20)
#   SCHEMATHESIS_SEED       Hypothesis seed (default fixed, so CI is repeatable;
#                           `random` for a new one each run)
#   SCHEMATHESIS_BIN        the server binary (default: cargo build, debug)
#   SCHEMATHESIS_KEEP=1     keep the work dir (server log, report)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${ROOT}"
LOG_TAG=schemathesis
# shellcheck source=scripts/lib/common.sh
. "${ROOT}/scripts/lib/common.sh"

SCHEMATHESIS_VERSION="4.32.5"
VENV="${ROOT}/.venv"
EXAMPLES="${SCHEMATHESIS_EXAMPLES:-20}"
SEED="${SCHEMATHESIS_SEED:-20260101}"

fail() {
  log "FAIL: $*" >&2
  if [ -f "${WORK:-/nonexistent}/server.log" ]; then
    log "last server log lines:" >&2
    tail -n 40 "${WORK}/server.log" >&2 || true
  fi
  exit 1
}

# ---------------------------------------------------------------------------
# install (once; a marker records the version, as scripts/db.sh does)
# ---------------------------------------------------------------------------
scripts/db.sh install
if [ "$(cat "${VENV}/.schemathesis-version" 2>/dev/null)" != "${SCHEMATHESIS_VERSION}" ] ||
  [ ! -x "${VENV}/bin/schemathesis" ]; then
  log "installing schemathesis ${SCHEMATHESIS_VERSION} into ${VENV}"
  "${VENV}/bin/pip" install --quiet --disable-pip-version-check "schemathesis==${SCHEMATHESIS_VERSION}"
  echo "${SCHEMATHESIS_VERSION}" >"${VENV}/.schemathesis-version"
fi

# ---------------------------------------------------------------------------
# database, server
# ---------------------------------------------------------------------------
WORK="$(mktemp -d "${TMPDIR:-/tmp}/splitlyr-schemathesis.XXXXXX")"
SERVER_PID=""
DB_STARTED=0
cleanup() {
  local rc=$?
  if [ -n "${SERVER_PID}" ] && kill -0 "${SERVER_PID}" 2>/dev/null; then
    kill "${SERVER_PID}" 2>/dev/null || true
    wait "${SERVER_PID}" 2>/dev/null || true
  fi
  if [ "${DB_STARTED}" -eq 1 ]; then
    scripts/db.sh stop >/dev/null 2>&1 || true
  fi
  keep_or_remove_work "${WORK}" "${SCHEMATHESIS_KEEP:-0}" "${rc}"
}
trap cleanup EXIT

DB_URI="${SPLITLYR_TEST_DB_URI:-}"
if [ -z "${DB_URI}" ]; then
  export DB_PORT="${DB_PORT:-$(free_port)}" DB_PATH=":memory:"
  scripts/db.sh start
  DB_STARTED=1
  DB_URI="mongodb://127.0.0.1:${DB_PORT}/?directConnection=true"
fi

BIN="${SCHEMATHESIS_BIN:-}"
if [ -z "${BIN}" ]; then
  log "cargo build --bin splitlyr (no-op when up to date)"
  cargo build --quiet --bin splitlyr
  BIN="${CARGO_TARGET_DIR:-target}/debug/splitlyr"
fi
[ -x "${BIN}" ] || fail "${BIN} not found"

PORT="$(free_port)"
BASE="http://127.0.0.1:${PORT}"
# The test environment (cheap bcrypt), its own database, every rate limit
# off: the run sends thousands of requests from one address.
APP_ENVIRONMENT=test \
  APP__DATABASE__URI="${DB_URI}" \
  APP__DATABASE__NAME="schemathesis_$(date +%s)_$$" \
  APP__SERVER__HOST=127.0.0.1 \
  APP__SERVER__PORT="${PORT}" \
  APP__SERVER__ADMIN_PORT=0 \
  APP__RATE_LIMIT__ENABLED=false \
  "${BIN}" >"${WORK}/server.log" 2>&1 &
SERVER_PID=$!
deadline=$(($(date +%s) + 60))
until [ "$(http_code "${BASE}/v1/healthz")" = "200" ]; do
  kill -0 "${SERVER_PID}" 2>/dev/null || fail "the server exited"
  [ "$(date +%s)" -lt "${deadline}" ] || fail "the server was not healthy within 60s"
  sleep 0.3
done

# Users, friends, groups, expenses, payments and a receipt, and the
# configuration that points each path parameter at one of them; the token of
# the user the run acts as.
TOKEN="$(python3 scripts/lib/schemathesis_seed.py "${BASE}" "${WORK}/schemathesis.toml")" ||
  fail "could not seed the database"

# ---------------------------------------------------------------------------
# the runs: everything but what ends the session or the account, then those
# ---------------------------------------------------------------------------
ENDINGS=(auth.logout auth.logout_all users.deactivate)
seed_args=()
[ "${SEED}" = "random" ] || seed_args=(--seed "${SEED}")
run() {
  # From the work dir: Schemathesis keeps its cache in the current directory.
  (cd "${WORK}" && "${VENV}/bin/schemathesis" --no-color --config-file "${WORK}/schemathesis.toml" \
    run "${BASE}/v1/openapi.json" \
    --checks not_a_server_error,response_schema_conformance \
    "${seed_args[@]}" \
    --header "Authorization: Bearer ${TOKEN}" \
    --request-timeout 30 \
    --generation-database :memory: \
    "$@")
}
log "schemathesis ${SCHEMATHESIS_VERSION}: ${EXAMPLES} examples per operation against ${BASE}"
started="$(now)"
status=0
exclude=()
for id in "${ENDINGS[@]}"; do exclude+=(--exclude-operation-id "${id}"); done
run --max-examples "${EXAMPLES}" "${exclude[@]}" --report-dir "${WORK}/report" "$@" || status=$?
include=()
for id in "${ENDINGS[@]}"; do include+=(--include-operation-id "${id}"); done
if [ "${status}" -eq 0 ] && [ "${#include[@]}" -gt 0 ]; then
  run --max-examples 5 "${include[@]}" || status=$?
fi
log "finished in $(seconds_since "${started}")s"
grep -E '"level":"ERROR"|panicked' "${WORK}/server.log" | grep -v '"status":503' | tail -n 20 >&2 || true
[ "${status}" -eq 0 ] || fail "schemathesis found problems (exit ${status}); server log in ${WORK}"
log "OK"
