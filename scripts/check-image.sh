#!/usr/bin/env bash
# Image drill: builds the container image from the Dockerfile with Debian's
# docker.io and runs it the way production does — read-only root filesystem,
# UID/GID 65532, no capabilities, no-new-privileges — against a database on
# loopback (--network host; dockerd runs with --bridge=none --iptables=false).
# Checks:
#   - the container process: uid/gid 65532, no capabilities, NoNewPrivs,
#     read-only root filesystem
#   - GET /v1/healthz -> 200 with status, version and database.status only;
#     the admin listener's /v1/healthz has the details, its /metrics is served
#   - the image's own HEALTHCHECK (as the image defines it) reaches "healthy"
#   - the image ships no development configuration (config/local.toml,
#     config/test.toml) and refuses a development JWT secret
#   - a configuration mistake (no JWT secret in production) exits non-zero
#     with a clear message
#   - `docker stop` while bcrypt-heavy registrations are in flight: all of
#     them complete (201), exit code 0, within the grace period
#   - nothing is written to the filesystem: the same traffic against a
#     container whose root filesystem is writable leaves `docker diff` empty
# and reports the image size (target: under 40 MB) and the idle RSS.
#
#   bash scripts/check-image.sh          (as root: it installs docker.io)
#
# Registries are out of reach, so the base images are stand-ins made from
# Debian packages (scripts/lib/docker.sh): the runtime base is a distroless
# cc-debian12 look-alike (passed as RUNTIME_IMAGE), and the binary is the
# release binary built on this host, passed in with the Dockerfile's
# documented BINARY=prebuilt (no Rust toolchain image needed). The runtime
# stage is the Dockerfile's own. BuildKit would fetch the `# syntax=`
# frontend image from Docker Hub, so the Dockerfile is fed to the daemon's
# built-in frontend without that one comment line (checked to be the only
# difference).
#
# Environment (all optional):
#   CARGO_TARGET_DIR         where cargo builds (default target/), as for cargo
#   CHECK_IMAGE_SKIP_BUILD=1 use the existing release binary as is
#   IMAGE_CONCURRENCY        registrations in flight at docker stop (default 10)
#   IMAGE_GRACE              APP__SERVER__SHUTDOWN_GRACE_SECONDS (default 30)
#   IMAGE_SIZE_LIMIT_MB      image size target (default 40)
#   CHECK_IMAGE_KEEP=1       keep the temp dir (logs)
#   SPLITLYR_DRILLS_CACHE, DEBIAN_MIRROR: see scripts/lib/docker.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${ROOT}"
LOG_TAG=image
# shellcheck source=scripts/lib/common.sh
. "${ROOT}/scripts/lib/common.sh"
# shellcheck source=scripts/lib/docker.sh
. "${ROOT}/scripts/lib/docker.sh"

START="$(now)"
CONCURRENCY="${IMAGE_CONCURRENCY:-10}"
GRACE="${IMAGE_GRACE:-30}"
SIZE_LIMIT_MB="${IMAGE_SIZE_LIMIT_MB:-40}"
IMAGE="splitlyr-drill/app:latest"
NAME="splitlyr-drill-$$"
RESULTS=()

fail() {
  printf '[image] FAIL: %s\n' "$*" >&2
  local c
  for c in "${NAME}" "${NAME}-rw"; do
    if timeout 10 "${DOCKER}" container inspect "${c}" >/dev/null 2>&1; then
      printf '[image] last log lines of %s:\n' "${c}" >&2
      timeout 10 "${DOCKER}" logs --tail 30 "${c}" >&2 2>&1 || true
    fi
  done
  exit 1
}
ok() {
  log "ok: $*"
  RESULTS+=("$*")
}

[ "$(id -u)" -eq 0 ] || fail "run as root (docker.io is installed and dockerd started here)"
apt_install curl python3 iproute2 binutils
docker_install

WORK="$(mktemp -d "${TMPDIR:-/tmp}/splitlyr-check-image.XXXXXX")"
DB_STARTED=0
PREBUILT="${ROOT}/target/prebuilt/splitlyr"
cleanup() {
  local rc=$?
  set +e
  timeout 30 "${DOCKER}" rm -f "${NAME}" "${NAME}-rw" "${NAME}-nojwt" "${NAME}-devjwt" "${NAME}-files" >/dev/null 2>&1
  [ "${DB_STARTED}" -eq 1 ] && scripts/db.sh stop >/dev/null 2>&1
  rm -f "${PREBUILT}"
  rmdir "$(dirname "${PREBUILT}")" 2>/dev/null
  docker_stop_daemon
  keep_or_remove_work "${WORK}" "${CHECK_IMAGE_KEEP:-0}" "${rc}"
}
trap cleanup EXIT
# A signal (timeout, Ctrl-C) goes through the cleanup too.
trap 'exit 143' TERM INT

# ---------------------------------------------------------------------------
# binary, daemon, base image stand-in
# ---------------------------------------------------------------------------
RELEASE_BIN="$(release_binary "${CHECK_IMAGE_SKIP_BUILD:-0}")"
# The runtime base is bookworm: the binary must not need a newer glibc.
max_glibc="$(objdump -T "${RELEASE_BIN}" 2>/dev/null | grep -o 'GLIBC_[0-9.]*' | sort -Vu | tail -n1 || true)"
if [ -n "${max_glibc}" ] &&
  [ "$(printf '%s\nGLIBC_2.36\n' "${max_glibc}" | sort -V | tail -n1)" != "GLIBC_2.36" ]; then
  fail "${RELEASE_BIN} needs ${max_glibc}, newer than bookworm's 2.36"
fi

docker_start "${WORK}/dockerd.log"
t0="$(now)"
RUNTIME_BASE="$(runtime_standin)"
log "runtime base stand-in: ${RUNTIME_BASE} ($(seconds_since "${t0}")s)"

# ---------------------------------------------------------------------------
# build: the Dockerfile's own stages, binary from the host
# ---------------------------------------------------------------------------
sed '/^# syntax=/d' Dockerfile >"${WORK}/Dockerfile"
removed="$(diff Dockerfile "${WORK}/Dockerfile" | grep -c '^<' || true)"
if [ "${removed}" -gt 1 ] || diff Dockerfile "${WORK}/Dockerfile" | grep -q '^>'; then
  fail "the Dockerfile fed to docker differs from Dockerfile by more than its syntax line"
fi
install -D -m 0755 "${RELEASE_BIN}" "${PREBUILT}"
old_id="$(timeout 10 "${DOCKER}" image inspect -f '{{.Id}}' "${IMAGE}" 2>/dev/null || true)"
t0="$(now)"
log "docker build --build-arg BINARY=prebuilt --build-arg RUNTIME_IMAGE=${RUNTIME_BASE}"
# --network host like every container here (the build runs no step that
# needs one; this keeps it off any bridge all the same).
if ! DOCKER_BUILDKIT=1 timeout 600 "${DOCKER}" build --progress=plain --network host \
  --build-arg BINARY=prebuilt --build-arg RUNTIME_IMAGE="${RUNTIME_BASE}" \
  -f - -t "${IMAGE}" . <"${WORK}/Dockerfile" >"${WORK}/build.log" 2>&1; then
  tail -n 30 "${WORK}/build.log" >&2
  fail "docker build failed"
fi
rm -f "${PREBUILT}"
new_id="$(timeout 10 "${DOCKER}" image inspect -f '{{.Id}}' "${IMAGE}")"
if [ -n "${old_id}" ] && [ "${old_id}" != "${new_id}" ]; then
  timeout 30 "${DOCKER}" rmi "${old_id}" >/dev/null 2>&1 || true
fi
ok "image built in $(seconds_since "${t0}")s"

# What the image declares (from the Dockerfile's runtime stage).
python3 - "${WORK}" <<'PY' || fail "image configuration is not what the Dockerfile's runtime stage declares"
import json, subprocess, sys
cfg = json.loads(subprocess.check_output(["/usr/bin/docker", "image", "inspect", "splitlyr-drill/app:latest"]))[0]["Config"]
want = {
    "User": "65532:65532",
    "Entrypoint": ["/usr/local/bin/splitlyr"],
    "StopSignal": "SIGTERM",
}
bad = [f"{k}={cfg.get(k)!r} (want {v!r})" for k, v in want.items() if cfg.get(k) != v]
env = dict(e.split("=", 1) for e in cfg.get("Env") or [])
for k, v in {"APP_ENVIRONMENT": "production", "APP_CONFIG_DIR": "/etc/splitlyr"}.items():
    if env.get(k) != v:
        bad.append(f"env {k}={env.get(k)!r}")
hc = cfg.get("Healthcheck") or {}
if hc.get("Test") != ["CMD", "/usr/local/bin/splitlyr", "healthcheck"]:
    bad.append(f"Healthcheck={hc!r}")
if bad:
    sys.exit("image config: " + "; ".join(bad))
open(f"{sys.argv[1]}/healthcheck.json", "w").write(json.dumps(hc))
PY
ok "image config: USER 65532:65532, ENTRYPOINT splitlyr, STOPSIGNAL SIGTERM, HEALTHCHECK splitlyr healthcheck"

# The files of /etc/splitlyr: production's configuration, nothing of
# development (its secrets are in the repository).
timeout 60 "${DOCKER}" create --network host --name "${NAME}-files" "${IMAGE}" >/dev/null || fail "cannot create a container of the image"
timeout 120 "${DOCKER}" export "${NAME}-files" | tar -tf - | grep '^etc/splitlyr/' | sort >"${WORK}/config-files.txt" ||
  fail "cannot list the image's files"
timeout 30 "${DOCKER}" rm -f "${NAME}-files" >/dev/null 2>&1 || true
if grep -Eq '(local|test)\.toml$' "${WORK}/config-files.txt"; then
  fail "the image ships development configuration: $(tr '\n' ' ' <"${WORK}/config-files.txt")"
fi
for f in default.toml production.toml; do
  grep -qx "etc/splitlyr/${f}" "${WORK}/config-files.txt" ||
    fail "the image lacks /etc/splitlyr/${f}: $(tr '\n' ' ' <"${WORK}/config-files.txt")"
done
ok "/etc/splitlyr holds $(grep -c '\.toml$' "${WORK}/config-files.txt") files: $(grep '\.toml$' "${WORK}/config-files.txt" | xargs -n1 basename | tr '\n' ' ')(no local.toml, no test.toml)"

size="$(timeout 10 "${DOCKER}" image inspect -f '{{.Size}}' "${IMAGE}")"
base_size="$(timeout 10 "${DOCKER}" image inspect -f '{{.Size}}' "${RUNTIME_BASE}")"
SIZE_MB="$(python3 -c "print(f'{$size / 1e6:.1f}')")"
BASE_MB="$(python3 -c "print(f'{$base_size / 1e6:.1f}')")"
log "image size ${SIZE_MB} MB (runtime base stand-in ${BASE_MB} MB, binary + config $(python3 -c "print(f'{($size - $base_size) / 1e6:.1f}')") MB)"
python3 -c "import sys; sys.exit(0 if $size < ${SIZE_LIMIT_MB} * 1e6 else 1)" ||
  fail "image is ${SIZE_MB} MB, over the ${SIZE_LIMIT_MB} MB target"
ok "image size ${SIZE_MB} MB < ${SIZE_LIMIT_MB} MB"

# ---------------------------------------------------------------------------
# database on loopback
# ---------------------------------------------------------------------------
DB_PORT="$(free_port)"
export DB_PORT DB_PATH=":memory:"
log "starting the database on 127.0.0.1:${DB_PORT} (scripts/db.sh)"
DB_STARTED=1
scripts/db.sh start
wait_tcp "${DB_PORT}" 30 || fail "database not reachable on ${DB_PORT}"

JWT_SECRET="$(random_secret)"
export JWT_SECRET
MONGO_URL="mongodb://127.0.0.1:${DB_PORT}/?directConnection=true"
export MONGO_URL
RUN_FLAGS=(--network host --user 65532:65532 --cap-drop ALL --security-opt no-new-privileges
  -e MONGO_URL -e "APP__DATABASE__NAME=splitlyr_image_drill"
  -e "APP__SERVER__SHUTDOWN_GRACE_SECONDS=${GRACE}"
  -e "APP__RATE_LIMIT__AUTH_BURST=$((CONCURRENCY + 10))")

# ---------------------------------------------------------------------------
# a configuration mistake: production without a JWT secret
# ---------------------------------------------------------------------------
port="$(free_port)"
nojwt_rc=0
timeout 60 "${DOCKER}" run --name "${NAME}-nojwt" --read-only "${RUN_FLAGS[@]}" -e "PORT=${port}" \
  "${IMAGE}" >"${WORK}/nojwt.log" 2>&1 || nojwt_rc=$?
timeout 30 "${DOCKER}" rm -f "${NAME}-nojwt" >/dev/null 2>&1 || true
[ "${nojwt_rc}" -ne 0 ] || fail "the server started without a JWT secret in production"
[ "${nojwt_rc}" -ne 124 ] || fail "the server without a JWT secret neither started nor exited within 60s"
grep -q 'No JWT secret configured' "${WORK}/nojwt.log" ||
  { cat "${WORK}/nojwt.log" >&2; fail "no clear message when the JWT secret is missing"; }
ok "no JWT secret: exit ${nojwt_rc}, \"$(grep -o 'No JWT secret configured[^"]*' "${WORK}/nojwt.log" | head -n1)\""

# ... and a development JWT secret (config/test.toml's, 40 bytes: long enough
# otherwise) is refused too.
dev_secret="$(sed -n 's/^secret *= *"\(.*\)"$/\1/p' config/test.toml)"
port="$(free_port)"
devjwt_rc=0
timeout 60 "${DOCKER}" run --name "${NAME}-devjwt" --read-only "${RUN_FLAGS[@]}" -e "PORT=${port}" \
  -e "APP__SERVER__ADMIN_PORT=$(free_port)" -e "JWT_SECRET=${dev_secret}" \
  "${IMAGE}" >"${WORK}/devjwt.log" 2>&1 || devjwt_rc=$?
timeout 30 "${DOCKER}" rm -f "${NAME}-devjwt" >/dev/null 2>&1 || true
[ "${devjwt_rc}" -ne 0 ] && [ "${devjwt_rc}" -ne 124 ] || fail "the server did not refuse a development JWT secret (exit ${devjwt_rc})"
grep -q 'development secret' "${WORK}/devjwt.log" ||
  { cat "${WORK}/devjwt.log" >&2; fail "no clear message for a development JWT secret"; }
ok "development JWT secret: exit ${devjwt_rc}, refused with a message"

# ---------------------------------------------------------------------------
# the production-like container
# ---------------------------------------------------------------------------
PORT="$(free_port)"
BASE="http://127.0.0.1:${PORT}"
ADMIN_PORT="$(free_port)"
ADMIN="http://127.0.0.1:${ADMIN_PORT}"
run_started="$(now)"
timeout 60 "${DOCKER}" run -d --name "${NAME}" --read-only "${RUN_FLAGS[@]}" -e JWT_SECRET -e "PORT=${PORT}" \
  -e "APP__SERVER__ADMIN_PORT=${ADMIN_PORT}" "${IMAGE}" >/dev/null || fail "docker run failed"

ready=0
for _ in $(seq 1 120); do
  [ "$(timeout 10 "${DOCKER}" inspect -f '{{.State.Running}}' "${NAME}")" = "true" ] || fail "container exited during startup"
  if [ "$(http_code "${BASE}/v1/healthz")" = "200" ]; then ready=1; break; fi
  sleep 0.25
done
[ "${ready}" -eq 1 ] || fail "/v1/healthz did not return 200 within 30s"
ok "GET /v1/healthz -> 200 ($(seconds_since "${run_started}")s after docker run)"

# The process as the kernel sees it.
CPID="$(timeout 10 "${DOCKER}" inspect -f '{{.State.Pid}}' "${NAME}")"
python3 - "${CPID}" <<'PY' || fail "the container process is not confined as required"
import sys
status = dict(l.split(":", 1) for l in open(f"/proc/{sys.argv[1]}/status") if ":" in l)
status = {k: v.strip() for k, v in status.items()}
bad = []
if set(status["Uid"].split()) != {"65532"}: bad.append(f"Uid {status['Uid']}")
if set(status["Gid"].split()) != {"65532"}: bad.append(f"Gid {status['Gid']}")
for cap in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
    if int(status[cap], 16) != 0: bad.append(f"{cap} {status[cap]}")
if status.get("NoNewPrivs") != "1": bad.append(f"NoNewPrivs {status.get('NoNewPrivs')}")
if bad:
    sys.exit("process: " + ", ".join(bad))
PY
[ "$(timeout 10 "${DOCKER}" inspect -f '{{.HostConfig.ReadonlyRootfs}}' "${NAME}")" = "true" ] || fail "root filesystem is not read-only"
grep -Eq '^\S+ / \S+ ro[ ,]' "/proc/${CPID}/mounts" || fail "/ is not mounted read-only inside the container"
ok "process ${CPID}: uid/gid 65532, no capabilities (all sets 0), NoNewPrivs 1, / mounted ro"

# Public healthz: readiness only; the admin listener (loopback: the host's,
# with --network host) has the details.
curl -fsS --max-time 5 "${BASE}/v1/healthz" >"${WORK}/healthz.json" || fail "GET /v1/healthz failed"
curl -fsS --max-time 5 "${ADMIN}/v1/healthz" >"${WORK}/healthz-admin.json" || fail "GET ${ADMIN}/v1/healthz failed"
python3 - "${WORK}" <<'PY' || fail "healthz contents"
import json, sys
public = json.load(open(f"{sys.argv[1]}/healthz.json"))["data"]
admin = json.load(open(f"{sys.argv[1]}/healthz-admin.json"))["data"]
assert sorted(public) == ["database", "status", "version"] and sorted(public["database"]) == ["status"], public
assert admin["database"]["name"] == "splitlyr_image_drill" and admin["environment"] == "production", admin
PY
ok "public /v1/healthz: status, version, database.status only; admin /v1/healthz: database name, environment, memory"

curl -fsS --max-time 5 "${ADMIN}/metrics" >"${WORK}/metrics.txt" || fail "GET ${ADMIN}/metrics failed"
for m in http_requests_total http_request_duration_seconds_bucket http_requests_in_flight process_resident_memory_bytes; do
  grep -q "^${m}" "${WORK}/metrics.txt" || fail "/metrics lacks ${m}"
done
# Read whole, then searched: `curl | grep -q` fails when grep stops reading
# before curl has written everything (curl exits 23 under pipefail).
curl -fsS --max-time 5 "${BASE}/metrics" >"${WORK}/public-metrics.txt" || fail "GET ${BASE}/metrics failed"
grep -q '^http_requests_total' "${WORK}/public-metrics.txt" || fail "public /metrics (on by default) failed"
ok "/metrics served on the admin listener ($(grep -c '^[a-z]' "${WORK}/metrics.txt") samples) and, by default, the public port"

# The image's own HEALTHCHECK, with the timings the image declares: the first
# probe runs one interval after the start.
hc_deadline="$(python3 -c "
import json; hc = json.load(open('${WORK}/healthcheck.json'))
print(int((hc.get('Interval', 30e9) + hc.get('Timeout', 30e9) + hc.get('StartPeriod', 0)) / 1e9) + 15)")"
health=""
until [ "${health}" = "healthy" ]; do
  health="$(timeout 10 "${DOCKER}" inspect -f '{{.State.Health.Status}}' "${NAME}")"
  [ "${health}" != "unhealthy" ] || fail "HEALTHCHECK reports unhealthy: $(timeout 10 "${DOCKER}" inspect -f '{{json .State.Health.Log}}' "${NAME}")"
  python3 -c "import sys; sys.exit(0 if float('$(seconds_since "${run_started}")') < ${hc_deadline} else 1)" ||
    fail "HEALTHCHECK did not reach healthy within ${hc_deadline}s (status: ${health})"
  [ "${health}" = "healthy" ] || sleep 0.5
done
ok "image HEALTHCHECK -> healthy $(seconds_since "${run_started}")s after docker run (interval $(python3 -c "import json; print(int(json.load(open('${WORK}/healthcheck.json'))['Interval'] / 1e9))")s, as the image declares)"

# Idle: only the health checks have run for a while.
sleep 2
RSS_KB="$(awk '/^VmRSS:/ {print $2}' "/proc/${CPID}/status")"
STATS_MEM="$(timeout 30 "${DOCKER}" stats --no-stream --format '{{.MemUsage}}' "${NAME}" 2>/dev/null || echo n/a)"
IDLE_RSS_MB="$(python3 -c "print(f'{${RSS_KB} / 1024:.1f}')")"
ok "idle RSS ${IDLE_RSS_MB} MiB (VmRSS of the server process; docker stats: ${STATS_MEM})"

# ---------------------------------------------------------------------------
# docker stop with requests in flight
# ---------------------------------------------------------------------------
STOP_TIMEOUT=$((GRACE + 10))
log "firing ${CONCURRENCY} concurrent POST /v1/auth/register, then docker stop -t ${STOP_TIMEOUT}"
fire_registrations "${BASE}" "${CONCURRENCY}" "${WORK}" $((GRACE + 15))
log "$(wait_established "${PORT}" "${CONCURRENCY}") connections established to the server"
sleep 0.05
stop_at="$(now)"
timeout $((STOP_TIMEOUT + 20)) "${DOCKER}" stop -t "${STOP_TIMEOUT}" "${NAME}" >/dev/null || fail "docker stop failed"
stopped_at="$(now)"
drain_verdict "${WORK}" "${CONCURRENCY}" "${stop_at}"
exit_code="$(timeout 10 "${DOCKER}" inspect -f '{{.State.ExitCode}}' "${NAME}")"
oom="$(timeout 10 "${DOCKER}" inspect -f '{{.State.OOMKilled}}' "${NAME}")"
stop_s="$(seconds_since "${stop_at}" "${stopped_at}")"
log "${DRAIN_OK}/${CONCURRENCY} registrations got 201; ${DRAIN_AFTER_STOP} completed after docker stop; exit code ${exit_code} after ${stop_s}s"
[ "${DRAIN_OK}" -eq "${CONCURRENCY}" ] || fail "in-flight requests were dropped during docker stop"
[ "${DRAIN_AFTER_STOP}" -ge 1 ] || fail "no request was still in flight at docker stop (raise IMAGE_CONCURRENCY); drain not exercised"
[ "${exit_code}" = "0" ] && [ "${oom}" = "false" ] || fail "container exited with ${exit_code} (OOMKilled ${oom}) after docker stop (want 0)"
python3 -c "import sys; sys.exit(0 if float('${stop_s}') < ${GRACE} else 1)" || fail "docker stop took ${stop_s}s, not within the ${GRACE}s grace period"
ok "docker stop with ${CONCURRENCY} requests in flight: all 201, exit 0 in ${stop_s}s (grace ${GRACE}s)"
[ -z "$(timeout 30 "${DOCKER}" diff "${NAME}")" ] || fail "docker diff of the read-only container is not empty"

# ---------------------------------------------------------------------------
# nothing written: the same image with a writable root filesystem
# ---------------------------------------------------------------------------
PORT="$(free_port)"
BASE="http://127.0.0.1:${PORT}"
ADMIN_PORT="$(free_port)"
timeout 60 "${DOCKER}" run -d --name "${NAME}-rw" "${RUN_FLAGS[@]}" -e JWT_SECRET -e "PORT=${PORT}" \
  -e "APP__SERVER__ADMIN_PORT=${ADMIN_PORT}" "${IMAGE}" >/dev/null || fail "docker run (writable) failed"
ready=0
for _ in $(seq 1 120); do
  if [ "$(http_code "${BASE}/v1/healthz")" = "200" ]; then ready=1; break; fi
  sleep 0.25
done
[ "${ready}" -eq 1 ] || fail "writable container: /v1/healthz did not return 200 within 30s"
fire_registrations "${BASE}" 3 "${WORK}" 30
drain_verdict "${WORK}" 3 "$(now)"
[ "${DRAIN_OK}" -eq 3 ] || fail "writable container: registrations failed"
email="$(grep -o '"email":"[^"]*"' "${WORK}/register-1.body" | head -n1 | cut -d'"' -f4)"
code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -H 'Content-Type: application/json' -X POST \
  --data "{\"email\":\"${email}\",\"password\":\"wrong-password\"}" "${BASE}/v1/auth/login")"
[ "${code}" = "401" ] || fail "writable container: login with a wrong password -> ${code} (want 401)"
[ "$(http_code "${BASE}/v1/no-such-route")" = "404" ] || fail "writable container: unknown route not 404"
curl -fsS --max-time 5 "${BASE}/metrics" >/dev/null || fail "writable container: /metrics failed"
curl -fsS --max-time 5 "http://127.0.0.1:${ADMIN_PORT}/v1/healthz" >/dev/null ||
  fail "writable container: the admin listener's /v1/healthz failed"
timeout 30 "${DOCKER}" exec "${NAME}-rw" /usr/local/bin/splitlyr healthcheck >/dev/null ||
  fail "writable container: splitlyr healthcheck failed"
timeout 60 "${DOCKER}" stop -t 20 "${NAME}-rw" >/dev/null || fail "docker stop (writable) failed"
written="$(timeout 30 "${DOCKER}" diff "${NAME}-rw")"
[ -z "${written}" ] || fail "the server wrote to its filesystem: ${written}"
ok "nothing written: docker diff empty after healthz (public and admin), registrations, a failed login, a 404, /metrics, healthcheck and stop on a writable root filesystem"

log "---------------------------------------------------------------"
printf '[image]   %s\n' "${RESULTS[@]}"
log "PASS in $(seconds_since "${START}")s: image ${SIZE_MB} MB, idle RSS ${IDLE_RSS_MB} MiB"
