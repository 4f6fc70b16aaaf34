#!/usr/bin/env bash
# Artifact smoke test: builds the release binary and runs it the way it runs
# in production (unprivileged user, read-only config dir holding what the
# images ship: default.toml and production.toml, production environment,
# secrets from env), then checks health (minimal on the public port,
# detailed on the admin listener), metrics (admin listener and, by default,
# the public port), the `healthcheck` subcommand, that a development JWT
# secret is refused, and graceful shutdown under load: SIGTERM while
# bcrypt-heavy registrations are in flight must let every one of them finish
# (201) and the process must exit 0 within the grace period.
#
#   bash scripts/smoke.sh
#
# Environment (all optional):
#   DB_PORT                    database port for scripts/db.sh (default: a free
#                              port, so a developer's database is left alone)
#   DB_PATH                    database storage for scripts/db.sh (default :memory:)
#   SMOKE_CONCURRENCY          concurrent registrations during SIGTERM (default 10)
#   SMOKE_SIGTERM_DELAY        seconds between firing them and SIGTERM (default 0.05)
#   SMOKE_SKIP_BUILD=1         use the existing release binary
#   CARGO_TARGET_DIR           where cargo builds (default target/), as for cargo
#   SMOKE_KEEP=1               keep the temp dir (logs) for inspection
#   APP__SERVER__SHUTDOWN_GRACE_SECONDS  drain budget (default 30)
#   APP__*                     any other APP__ variable is passed to the server.
#                              APP__RATE_LIMIT__AUTH_BURST defaults to
#                              SMOKE_CONCURRENCY + 5 so the burst of registrations
#                              is not rate limited (production default: 30).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${ROOT}"
LOG_TAG=smoke
# shellcheck source=scripts/lib/common.sh
. "${ROOT}/scripts/lib/common.sh"

DB_PORT="${DB_PORT:-$(free_port)}"
DB_PATH="${DB_PATH:-:memory:}"
export DB_PORT DB_PATH
CONCURRENCY="${SMOKE_CONCURRENCY:-10}"
SIGTERM_DELAY="${SMOKE_SIGTERM_DELAY:-0.05}"
GRACE="${APP__SERVER__SHUTDOWN_GRACE_SECONDS:-30}"
SMOKE_USER="splitlyr-smoke"

fail() {
  printf '[smoke] FAIL: %s\n' "$*" >&2
  if [ -f "${WORK:-/nonexistent}/server.log" ]; then
    printf '[smoke] last server log lines:\n' >&2
    tail -n 40 "${WORK}/server.log" >&2 || true
  fi
  exit 1
}

for tool in cargo curl python3; do
  command -v "${tool}" >/dev/null 2>&1 || fail "${tool} is required"
done

# --------------------------------------------------------------------------
# build
# --------------------------------------------------------------------------
if [ "${SMOKE_SKIP_BUILD:-0}" != "1" ]; then
  log "cargo build --release --locked"
  cargo build --release --locked --bin splitlyr
fi
RELEASE_BIN="${CARGO_TARGET_DIR:-target}/release/splitlyr"
[ -x "$RELEASE_BIN" ] || fail "$RELEASE_BIN not found"

# --------------------------------------------------------------------------
# scratch area, cleanup
# --------------------------------------------------------------------------
WORK="$(mktemp -d "${TMPDIR:-/tmp}/splitlyr-smoke.XXXXXX")"
chmod 0755 "${WORK}"
SERVER_PID=""
DB_STARTED=0
cleanup() {
  local rc=$?
  if [ -n "${SERVER_PID}" ] && kill -0 "${SERVER_PID}" 2>/dev/null; then
    kill -KILL "${SERVER_PID}" 2>/dev/null || true
  fi
  if [ "${DB_STARTED}" -eq 1 ]; then
    scripts/db.sh stop >/dev/null 2>&1 || true
  fi
  if [ "${SMOKE_KEEP:-0}" = "1" ] || [ "${rc}" -ne 0 ]; then
    log "logs kept in ${WORK}"
  else
    chmod -R u+w "${WORK}" 2>/dev/null || true
    rm -rf "${WORK}"
  fi
  exit "${rc}"
}
trap cleanup EXIT

# --------------------------------------------------------------------------
# unprivileged user
# --------------------------------------------------------------------------
RUN_AS=()
if [ "$(id -u)" -eq 0 ]; then
  if ! id "${SMOKE_USER}" >/dev/null 2>&1; then
    log "creating system user ${SMOKE_USER}"
    useradd --system --user-group --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin "${SMOKE_USER}"
  fi
  command -v setpriv >/dev/null 2>&1 || fail "setpriv (util-linux) is required when running as root"
  # setpriv execs in place (same PID), so SIGTERM reaches the server itself.
  RUN_AS=(setpriv --reuid="${SMOKE_USER}" --regid="${SMOKE_USER}" --init-groups --no-new-privs)
  log "server runs as ${SMOKE_USER} (uid $(id -u "${SMOKE_USER}"))"
else
  log "not root: server runs as $(id -un)"
fi

# Binary and config copied into the scratch dir, owned by root (or the
# caller) and not writable by the server user.
install -d -m 0755 "${WORK}/bin"
install -m 0555 "$RELEASE_BIN" "${WORK}/bin/splitlyr"
BIN="${WORK}/bin/splitlyr"
# What the images ship (Dockerfile, packer/): production's files only.
install -d -m 0755 "${WORK}/config"
install -m 0644 config/default.toml config/production.toml "${WORK}/config/"
chmod -R a-w "${WORK}/config"
# shellcheck disable=SC2016 # $1 is expanded by the inner sh, on purpose.
if "${RUN_AS[@]}" sh -c ': > "$1/probe"' _ "${WORK}/config" 2>/dev/null; then
  fail "config dir is writable by the server user"
fi
log "read-only config dir: ${WORK}/config"

# --------------------------------------------------------------------------
# database
# --------------------------------------------------------------------------
if scripts/db.sh status >/dev/null 2>&1; then
  log "using the database already running on 127.0.0.1:${DB_PORT} (left running)"
else
  log "starting the database on 127.0.0.1:${DB_PORT} (scripts/db.sh start, DB_PATH=${DB_PATH})"
  DB_STARTED=1
  scripts/db.sh start
fi
for _ in $(seq 1 60); do
  if (exec 3<>"/dev/tcp/127.0.0.1/${DB_PORT}") 2>/dev/null; then break; fi
  sleep 0.5
done
(exec 3<>"/dev/tcp/127.0.0.1/${DB_PORT}") 2>/dev/null || fail "database not reachable on ${DB_PORT}"

# --------------------------------------------------------------------------
# server
# --------------------------------------------------------------------------
PORT="$(free_port)"
ADMIN_PORT="$(free_port)"
JWT_SECRET="$(random_secret)"
BASE="http://127.0.0.1:${PORT}"
ADMIN="http://127.0.0.1:${ADMIN_PORT}"

SERVER_ENV=(
  "PATH=/usr/local/bin:/usr/bin:/bin"
  "HOME=/nonexistent"
  "APP_ENVIRONMENT=production"
  "APP_CONFIG_DIR=${WORK}/config"
  "JWT_SECRET=${JWT_SECRET}"
  "MONGO_URL=mongodb://127.0.0.1:${DB_PORT}/?directConnection=true"
  "PORT=${PORT}"
  "APP__SERVER__ADMIN_PORT=${ADMIN_PORT}"
  "APP__SERVER__SHUTDOWN_GRACE_SECONDS=${GRACE}"
  "APP__DATABASE__NAME=${APP__DATABASE__NAME:-splitlyr_smoke}"
  "APP__RATE_LIMIT__AUTH_BURST=${APP__RATE_LIMIT__AUTH_BURST:-$((CONCURRENCY + 5))}"
  "RUST_LOG=${RUST_LOG:-info}"
)
# Forward any other APP__* settings from the caller.
while IFS='=' read -r name _; do
  case "${name}" in
    APP__SERVER__SHUTDOWN_GRACE_SECONDS | APP__DATABASE__NAME | APP__RATE_LIMIT__AUTH_BURST | APP__SERVER__ADMIN_PORT) ;;
    APP__*) SERVER_ENV+=("${name}=${!name}") ;;
  esac
done < <(env)

# A development JWT secret (config/test.toml's, which the images do not even
# ship) is refused in production with a clear message.
dev_secret="$(sed -n 's/^secret *= *"\(.*\)"$/\1/p' config/test.toml)"
[ -n "${dev_secret}" ] || fail "config/test.toml has no JWT secret to try"
dev_rc=0
(cd / && exec timeout 20 env -i "${SERVER_ENV[@]}" "JWT_SECRET=${dev_secret}" "${RUN_AS[@]}" "${BIN}") \
  >"${WORK}/devsecret.log" 2>&1 || dev_rc=$?
[ "${dev_rc}" -ne 0 ] || fail "production started with a development JWT secret"
grep -q 'development secret' "${WORK}/devsecret.log" ||
  { cat "${WORK}/devsecret.log" >&2; fail "no clear message for a development JWT secret"; }
log "ok: a development JWT secret is refused in production (exit ${dev_rc})"

touch "${WORK}/started-marker"
log "starting splitlyr on port ${PORT} (APP_ENVIRONMENT=production)"
(cd / && exec env -i "${SERVER_ENV[@]}" "${RUN_AS[@]}" "${BIN}") >"${WORK}/server.log" 2>&1 &
SERVER_PID=$!

ready=0
for _ in $(seq 1 120); do
  kill -0 "${SERVER_PID}" 2>/dev/null || fail "server exited during startup"
  if [ "$(curl -s -o /dev/null -w '%{http_code}' "${BASE}/v1/healthz" || true)" = "200" ]; then
    ready=1
    break
  fi
  sleep 0.25
done
[ "${ready}" -eq 1 ] || fail "/v1/healthz did not return 200 within 30s"
log "ok: GET /v1/healthz -> 200"

# The public healthz says whether the service is ready, nothing more; the
# admin listener's has the details.
curl -fsS "${BASE}/v1/healthz" >"${WORK}/healthz.json" || fail "GET /v1/healthz failed"
curl -fsS "${ADMIN}/v1/healthz" >"${WORK}/healthz-admin.json" || fail "GET ${ADMIN}/v1/healthz failed"
python3 - "${WORK}" <<'PY' || fail "healthz contents"
import json, sys
public = json.load(open(f"{sys.argv[1]}/healthz.json"))["data"]
admin = json.load(open(f"{sys.argv[1]}/healthz-admin.json"))["data"]
assert sorted(public) == ["database", "status", "version"], public
assert sorted(public["database"]) == ["status"], public
assert admin["database"]["name"] and admin["environment"] == "production" and admin["memory"]["rss"] > 0, admin
PY
log "ok: public /v1/healthz has status, version and database.status only; the admin listener's has the details"

code="$(curl -s -o /dev/null -w '%{http_code}' "${BASE}/v1/livez")"
[ "${code}" = "200" ] || fail "GET /v1/livez -> ${code}"
log "ok: GET /v1/livez -> 200"

curl -fsS "${ADMIN}/metrics" >"${WORK}/metrics.txt" || fail "GET ${ADMIN}/metrics failed"
grep -q '^http_requests_total' "${WORK}/metrics.txt" || fail "/metrics lacks http_requests_total"
curl -fsS "${BASE}/metrics" >"${WORK}/public-metrics.txt" || fail "GET ${BASE}/metrics failed"
grep -q '^http_requests_total' "${WORK}/public-metrics.txt" ||
  fail "the public /metrics (server.public_metrics, on by default) lacks http_requests_total"
log "ok: /metrics exposes http_requests_total on the admin listener (and the public port, by default)"

# Logs must be JSON lines on stdout.
if head -n 1 "${WORK}/server.log" | python3 -c 'import json,sys; json.loads(sys.stdin.readline())' 2>/dev/null; then
  log "ok: logs are JSON"
else
  log "warn: first log line is not JSON: $(head -c 200 "${WORK}/server.log")"
fi

# `splitlyr healthcheck` uses the same config (same env) and must exit 0 ...
if env -i "${SERVER_ENV[@]}" "${RUN_AS[@]}" "${BIN}" healthcheck >"${WORK}/healthcheck.log" 2>&1; then
  log "ok: splitlyr healthcheck -> exit 0"
else
  cat "${WORK}/healthcheck.log" >&2
  fail "splitlyr healthcheck exited non-zero against a healthy server"
fi
# ... and non-zero when nothing listens on the configured port.
dead_port="$(free_port)"
if env -i "${SERVER_ENV[@]}" "PORT=${dead_port}" "${RUN_AS[@]}" "${BIN}" healthcheck >/dev/null 2>&1; then
  fail "splitlyr healthcheck exited 0 although nothing listens on port ${dead_port}"
fi
log "ok: splitlyr healthcheck -> non-zero when the server is down"

# --------------------------------------------------------------------------
# graceful shutdown under load
# --------------------------------------------------------------------------
log "firing ${CONCURRENCY} concurrent POST /v1/auth/register, SIGTERM after ${SIGTERM_DELAY}s"
fire_registrations "${BASE}" "${CONCURRENCY}" "${WORK}" $((GRACE + 15))
# Make sure the requests really are in flight (TCP connections established to
# the server) before the signal; a request whose connection was never opened
# is not "in flight" and would make the check flaky.
log "$(wait_established "${PORT}" "${CONCURRENCY}") connections established to the server"
sleep "${SIGTERM_DELAY}"
term_at="$(now)"
kill -TERM "${SERVER_PID}"
log "SIGTERM sent to pid ${SERVER_PID}"

# The process must exit by itself within the grace period (+2s slack).
deadline=$(($(date +%s) + GRACE + 2))
while kill -0 "${SERVER_PID}" 2>/dev/null; do
  if [ "$(date +%s)" -gt "${deadline}" ]; then
    fail "server still running ${GRACE}s after SIGTERM"
  fi
  sleep 0.1
done
server_rc=0
wait "${SERVER_PID}" || server_rc=$?
exited_at="$(now)"
SERVER_PID=""
drain_verdict "${WORK}" "${CONCURRENCY}" "${term_at}"
ok="${DRAIN_OK}"
after_term="${DRAIN_AFTER_STOP}"
drain="$(seconds_since "${term_at}" "${exited_at}")"
log "${ok}/${CONCURRENCY} registrations got 201; ${after_term} completed after SIGTERM; exit code ${server_rc} after ${drain}s"

[ "${ok}" -eq "${CONCURRENCY}" ] || fail "in-flight requests were dropped during shutdown"
[ "${after_term}" -ge 1 ] || fail "no request was still in flight at SIGTERM (raise SMOKE_CONCURRENCY or lower SMOKE_SIGTERM_DELAY); drain not exercised"
[ "${server_rc}" -eq 0 ] || fail "server exited with ${server_rc} after SIGTERM (want 0)"

# The server must not have written anything to disk.
if [ "${#RUN_AS[@]}" -gt 0 ]; then
  written="$(find /tmp /var/tmp /dev/shm "${ROOT}" -xdev -user "${SMOKE_USER}" -newer "${WORK}/started-marker" 2>/dev/null | head -n 5)"
  [ -z "${written}" ] || fail "server wrote files: ${written}"
  log "ok: the server user wrote no files"
fi

log "PASS: build, read-only config, dev secret refused, healthz (public and admin), metrics, healthcheck, graceful drain"
