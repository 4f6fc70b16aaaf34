#!/usr/bin/env bash
# Monitoring drill: Debian's Prometheus and Alertmanager, as plain processes on
# loopback, scrape the release server and evaluate the shipped rules on live
# data; the alerts go to a webhook receiver this script serves on loopback.
#
#   bash scripts/check-monitoring.sh      (as root: it apt-get installs what it needs)
#
# Set-up (nothing downloaded but Debian packages):
#   - the server runs as in production (APP_ENVIRONMENT=production, secrets
#     from the environment) against scripts/db.sh's database on loopback
#   - Prometheus scrapes its admin listener like the shipped ServiceMonitor
#     (the admin port, path, labels job, namespace, service, pod, container,
#     endpoint), every 1 s, with /metrics off the public port as in
#     k8s/base/config.env, and evaluates
#     the shipped PrometheusRule's groups every 1 s; the drill's shorter
#     `for:` come from scripts/drills/rules-overlay.yaml, never from editing the
#     shipped rules (`promtool check rules` checks the result)
#   - Alertmanager routes every alert to the webhook receiver
#   - a mixed API load runs throughout, with a readiness prober that plays the
#     kubelet (GET /v1/healthz every second)
# Phases (scripts/drills/monitoring.py drill):
#   baseline  target up, no drill alert pending or firing, p95 < 500 ms, and a
#             login burst that gets 429s
#   (d)       SIGSTOP/SIGCONT cycles of the database under load: the p95
#             latency alert fires and reaches the webhook
#   (b)+(c)   the database is stopped under load: SplitlyrNotReady fires and
#             reaches the webhook within its for: plus two evaluation
#             intervals of its condition holding, and so does the 5xx alert;
#             the database comes back and the "resolved" arrives
#   (a)       every query of dashboard.json (template variables resolved as
#             Grafana would) and of the rules returns data, and every metric
#             they select has data with the labels they use, except the
#             kube-state-metrics ones named in monitoring.py (reported)
#   (e)       the server stops: SplitlyrTargetsDown fires
# Every wait has a deadline; the timings are printed.
#
# Environment (all optional):
#   CARGO_TARGET_DIR               where cargo builds (default target/), as for cargo
#   CHECK_MONITORING_SKIP_BUILD=1  use the existing release binary as is
#   CHECK_MONITORING_KEEP=1        keep the temp dir (configs, logs, webhook payloads)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${ROOT}"
LOG_TAG=monitoring
# shellcheck source=scripts/lib/common.sh
. "${ROOT}/scripts/lib/common.sh"

START="$(now)"
PY=/usr/bin/python3
DRILL="${ROOT}/scripts/drills/monitoring.py"
HEALTH_TIMEOUT_MS=1000

fail() {
  printf '[monitoring] FAIL: %s\n' "$*" >&2
  local f
  for f in server.log prometheus.log alertmanager.log; do
    if [ -s "${WORK:-/nonexistent}/${f}" ]; then
      printf '[monitoring] last lines of %s:\n' "${f}" >&2
      tail -n 15 "${WORK}/${f}" >&2
    fi
  done
  exit 1
}

[ "$(id -u)" -eq 0 ] || fail "run as root (Debian packages are installed here)"
apt_install prometheus prometheus-alertmanager python3 python3-yaml curl
for tool in prometheus promtool prometheus-alertmanager amtool; do
  command -v "${tool}" >/dev/null 2>&1 || fail "${tool} missing although its Debian package is installed"
done
"${PY}" -c 'import yaml' 2>/dev/null || fail "python3-yaml is installed but ${PY} cannot import yaml"

BIN="$(release_binary "${CHECK_MONITORING_SKIP_BUILD:-0}")"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/splitlyr-check-monitoring.XXXXXX")"
PIDS=()
SERVER_PID=""
DB_STARTED=0
cleanup() {
  local rc=$? p
  set +e
  touch "${WORK}/stop"
  [ -n "${SERVER_PID}" ] && kill -TERM "${SERVER_PID}" 2>/dev/null
  for p in "${PIDS[@]}"; do kill -TERM "${p}" 2>/dev/null; done
  for p in "${PIDS[@]}" ${SERVER_PID}; do
    for _ in $(seq 1 50); do kill -0 "${p}" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "${p}" 2>/dev/null
    wait "${p}" 2>/dev/null
  done
  if [ "${DB_STARTED}" -eq 1 ]; then
    [ -n "${DB_PORT:-}" ] && kill -CONT "$(cat "${ROOT}/.data/run/secantus-${DB_PORT}.pid" 2>/dev/null)" 2>/dev/null
    scripts/db.sh stop >/dev/null 2>&1
  fi
  keep_or_remove_work "${WORK}" "${CHECK_MONITORING_KEEP:-0}" "${rc}"
}
trap cleanup EXIT
# A signal (timeout, Ctrl-C) goes through the cleanup too.
trap 'exit 143' TERM INT

# wait_http URL SECONDS WHAT
wait_http() {
  local deadline=$(($(date +%s) + $2))
  until [ "$(http_code "$1" 2)" = "200" ]; do
    [ "$(date +%s)" -lt "${deadline}" ] || fail "$3 not ready within $2s ($1)"
    sleep 0.25
  done
}

# ---------------------------------------------------------------------------
# database and server
# ---------------------------------------------------------------------------
DB_PORT="$(free_port)"
# On disk, so the data survives the outage of the drill.
DB_PATH="${WORK}/db"
export DB_PORT DB_PATH
log "starting the database on 127.0.0.1:${DB_PORT} (scripts/db.sh, DB_PATH=${DB_PATH})"
DB_STARTED=1
scripts/db.sh start
wait_tcp "${DB_PORT}" 30 || fail "database not reachable on ${DB_PORT}"

PORT="$(free_port)"
BASE="http://127.0.0.1:${PORT}"
ADMIN_PORT="$(free_port)"
ADMIN="http://127.0.0.1:${ADMIN_PORT}"
SERVER_ENV=(
  "PATH=/usr/local/bin:/usr/bin:/bin"
  "HOME=/nonexistent"
  "APP_ENVIRONMENT=production"
  "APP_CONFIG_DIR=${ROOT}/config"
  "JWT_SECRET=$(random_secret)"
  "MONGO_URL=mongodb://127.0.0.1:${DB_PORT}/?directConnection=true"
  "PORT=${PORT}"
  # As in k8s/base/config.env: /metrics on the admin listener only.
  "APP__SERVER__ADMIN_PORT=${ADMIN_PORT}"
  "APP__SERVER__PUBLIC_METRICS=false"
  "APP__DATABASE__NAME=splitlyr_monitoring_drill"
  "APP__DATABASE__HEALTH_TIMEOUT_MS=${HEALTH_TIMEOUT_MS}"
  # Requests fail with 503 after 1 s without a database (default 5 s), so the
  # outage makes its 5xx within the drill's seconds.
  "APP__DATABASE__SERVER_SELECTION_TIMEOUT_MS=1000"
  # All the load comes from 127.0.0.1: the per-client API limit would turn
  # it into 429s. Scrapes come every second (production: 30 s).
  "APP__RATE_LIMIT__GENERAL_BURST=100000"
  "APP__RATE_LIMIT__GENERAL_PERIOD_MS=1"
  "APP__RATE_LIMIT__OTHER_PERIOD_MS=100"
  # Small enough that the drill's login burst gets 429s.
  "APP__RATE_LIMIT__AUTH_BURST=10"
  "APP__AUTH__BCRYPT_COST=10"
  "RUST_LOG=${RUST_LOG:-warn}"
)
log "starting splitlyr on ${BASE} (APP_ENVIRONMENT=production)"
(cd / && exec env -i "${SERVER_ENV[@]}" "${BIN}") >"${WORK}/server.log" 2>&1 &
SERVER_PID=$!
wait_http "${BASE}/v1/healthz" 30 "splitlyr"
# Read whole, then searched (`curl | grep -q` fails with curl's exit 23
# when grep stops reading first).
curl -fsS --max-time 5 "${ADMIN}/metrics" >"${WORK}/admin-metrics.txt" ||
  fail "GET ${ADMIN}/metrics failed"
grep -q '^splitlyr_ready ' "${WORK}/admin-metrics.txt" ||
  fail "the admin listener's /metrics lacks splitlyr_ready (is ${BIN} older than the sources? run cargo build --release)"
[ "$(http_code "${BASE}/metrics")" = "404" ] || fail "/metrics is still served on the public port"
log "metrics on the admin listener ${ADMIN}; the public port has none"

# ---------------------------------------------------------------------------
# rules, webhook, Alertmanager, Prometheus
# ---------------------------------------------------------------------------
PROM_PORT="$(free_port)"
AM_PORT="$(free_port)"
HOOK_PORT="$(free_port)"
"${PY}" "${DRILL}" rules k8s/components/monitoring/prometheusrule.yaml scripts/drills/rules-overlay.yaml "${WORK}/rules.yml"
promtool check rules "${WORK}/rules.yml" >"${WORK}/promtool.log" 2>&1 || { cat "${WORK}/promtool.log" >&2; fail "promtool check rules"; }
log "promtool check rules: $(grep -o 'SUCCESS: [0-9]* rules found' "${WORK}/promtool.log")"

"${PY}" "${DRILL}" webhook "${HOOK_PORT}" "${WORK}/webhook.jsonl" >"${WORK}/webhook.log" 2>&1 &
PIDS+=("$!")
wait_tcp "${HOOK_PORT}" 10 || fail "webhook receiver did not start"

"${PY}" "${DRILL}" am-config "${WORK}/alertmanager.yml" --webhook "http://127.0.0.1:${HOOK_PORT}/alerts"
amtool check-config "${WORK}/alertmanager.yml" >"${WORK}/amtool.log" 2>&1 || { cat "${WORK}/amtool.log" >&2; fail "amtool check-config"; }
# --cluster.listen-address= : no gossip port (it would listen on every address).
prometheus-alertmanager --config.file="${WORK}/alertmanager.yml" --storage.path="${WORK}/alertmanager" \
  --web.listen-address="127.0.0.1:${AM_PORT}" --cluster.listen-address= >"${WORK}/alertmanager.log" 2>&1 &
PIDS+=("$!")
wait_http "http://127.0.0.1:${AM_PORT}/-/ready" 30 "Alertmanager"
log "Alertmanager $(prometheus-alertmanager --version 2>&1 | head -n1 | awk '{print $3}') on 127.0.0.1:${AM_PORT}, webhook receiver on 127.0.0.1:${HOOK_PORT}"

"${PY}" "${DRILL}" prom-config "${WORK}/prometheus.yml" --target "127.0.0.1:${ADMIN_PORT}" \
  --alertmanager "127.0.0.1:${AM_PORT}" --rules "${WORK}/rules.yml" --interval 1s
promtool check config "${WORK}/prometheus.yml" >"${WORK}/promtool-config.log" 2>&1 ||
  { cat "${WORK}/promtool-config.log" >&2; fail "promtool check config"; }
prometheus --config.file="${WORK}/prometheus.yml" --storage.tsdb.path="${WORK}/prometheus" \
  --web.listen-address="127.0.0.1:${PROM_PORT}" --storage.tsdb.retention.time=1h >"${WORK}/prometheus.log" 2>&1 &
PIDS+=("$!")
wait_http "http://127.0.0.1:${PROM_PORT}/-/ready" 60 "Prometheus"
log "Prometheus $(prometheus --version 2>&1 | head -n1 | awk '{print $3}') on 127.0.0.1:${PROM_PORT}"

# ---------------------------------------------------------------------------
# load and the drill
# ---------------------------------------------------------------------------
"${PY}" "${DRILL}" load "${BASE}" "${WORK}" --stop "${WORK}/stop" --max-seconds 600 >"${WORK}/load.log" 2>&1 &
PIDS+=("$!")
deadline=$(($(date +%s) + 60))
until [ -f "${WORK}/load.ready" ]; do
  kill -0 "${PIDS[-1]}" 2>/dev/null || { cat "${WORK}/load.log" >&2; fail "load generator exited during set-up"; }
  [ "$(date +%s)" -lt "${deadline}" ] || fail "load generator not ready within 60s"
  sleep 0.25
done
log "set-up done in $(seconds_since "${START}")s; load running"

drill_rc=0
"${PY}" "${DRILL}" drill --prom "http://127.0.0.1:${PROM_PORT}" --base "${BASE}" --rules "${WORK}/rules.yml" \
  --webhook-file "${WORK}/webhook.jsonl" --db-sh "${ROOT}/scripts/db.sh" \
  --db-pidfile "${ROOT}/.data/run/secantus-${DB_PORT}.pid" --server-pid "${SERVER_PID}" \
  --stop-file "${WORK}/stop" --health-timeout "$(python3 -c "print(${HEALTH_TIMEOUT_MS} / 1000)")" || drill_rc=$?
log "load: $(cat "${WORK}/load.json" 2>/dev/null)"
log "webhook notifications: $(wc -l <"${WORK}/webhook.jsonl" 2>/dev/null || echo 0)"
[ "${drill_rc}" -eq 0 ] || fail "monitoring drill failed (see above)"
log "PASS in $(seconds_since "${START}")s"
