# shellcheck shell=bash
# Helpers shared by scripts/smoke.sh, scripts/check-image.sh and
# scripts/check-monitoring.sh. Source it after setting LOG_TAG.

log() { printf '[%s] %s\n' "${LOG_TAG:-splitlyr}" "$*"; }

# keep_or_remove_work DIR KEEP RC: the end of a script's cleanup: keeps DIR
# (its logs) when KEEP is 1 or the script failed, removes it otherwise, and
# exits with RC.
keep_or_remove_work() {
  if [ "$2" = "1" ] || [ "$3" -ne 0 ]; then
    log "logs kept in $1"
  else
    rm -rf "$1"
  fi
  exit "$3"
}

# release_binary SKIP: builds the release binary (a no-op when it is up to
# date) unless SKIP is 1, checks it is there and prints its absolute path.
release_binary() {
  if [ "$1" != "1" ]; then
    command -v cargo >/dev/null 2>&1 || fail "cargo is required to build the release binary"
    log "cargo build --release --locked --bin splitlyr (no-op when up to date)" >&2
    cargo build --release --locked --bin splitlyr >&2
  fi
  local bin="${CARGO_TARGET_DIR:-target}/release/splitlyr"
  [ -x "${bin}" ] || fail "${bin} not found"
  echo "$(cd "$(dirname "${bin}")" && pwd)/splitlyr"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# A JWT secret as production wants it: 48 random bytes, base64.
random_secret() {
  python3 -c 'import base64, os; print(base64.b64encode(os.urandom(48)).decode())'
}

now() { date +%s.%N; }
# seconds_since T0 [T1]: T1 (default now) - T0, two decimals.
seconds_since() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$1" "${2:-$(now)}"; }

tcp_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_tcp PORT SECONDS
wait_tcp() {
  local deadline=$(($(date +%s) + $2))
  until tcp_open "$1"; do
    [ "$(date +%s)" -lt "${deadline}" ] || return 1
    sleep 0.2
  done
}

http_code() { curl -s -o /dev/null -w '%{http_code}' --max-time "${2:-5}" "$1" || true; }

# apt_install PKG...: installs the Debian packages that are missing; exits
# loudly when one cannot be installed (a fresh machine runs only the scripts).
apt_install() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "${p}" 2>/dev/null | grep -q 'install ok installed' || missing+=("${p}")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  [ "$(id -u)" -eq 0 ] || { log "FAIL: need root to apt-get install ${missing[*]}" >&2; exit 1; }
  log "apt-get install ${missing[*]}"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" ||
      { log "FAIL: cannot install Debian package(s) ${missing[*]} (apt-get install failed; see above)" >&2; exit 1; }
  fi
}

# ---------------------------------------------------------------------------
# Graceful shutdown under load: bcrypt-heavy registrations in flight when the
# server is told to stop must all complete (201). Used by smoke.sh (SIGTERM to
# the process) and check-image.sh (docker stop).
# ---------------------------------------------------------------------------

# fire_registrations BASE_URL COUNT DIR MAX_TIME: starts COUNT concurrent
# POST /v1/auth/register in the background; their pids go to DRAIN_PIDS.
fire_registrations() {
  local base="$1" count="$2" dir="$3" max_time="$4" run_id i
  run_id="$(date +%s)-$$-${RANDOM}"
  DRAIN_PIDS=()
  for i in $(seq 1 "${count}"); do
    (
      body="$(printf '{"name":"Drain %s","email":"drain-%s-%s@example.com","password":"Drain-Password-%s-%s!"}' \
        "${i}" "${run_id}" "${i}" "${run_id}" "${i}")"
      curl_rc=0
      code="$(curl -s -o "${dir}/register-${i}.body" -w '%{http_code}' --max-time "${max_time}" \
        -H 'Content-Type: application/json' -X POST --data "${body}" "${base}/v1/auth/register")" || curl_rc=$?
      printf '%s %s %s\n' "${code:-000}" "$(date +%s.%N)" "${curl_rc}" >"${dir}/register-${i}.status"
    ) &
    DRAIN_PIDS+=("$!")
  done
}

# wait_established PORT COUNT: until COUNT TCP connections to PORT are
# established (requests really in flight), at most 2 s. Prints the count.
wait_established() {
  local n=0
  command -v ss >/dev/null 2>&1 || { echo "?"; return 0; }
  for _ in $(seq 1 100); do
    n="$(ss -Htn state established "( sport = :$1 )" 2>/dev/null | wc -l)"
    [ "${n}" -ge "$2" ] && break
    sleep 0.02
  done
  echo "${n}"
}

# drain_verdict DIR COUNT STOP_AT: waits for the requests, then sets
# DRAIN_OK (answered 201) and DRAIN_AFTER_STOP (completed after STOP_AT).
drain_verdict() {
  local dir="$1" count="$2" stop_at="$3" p i code done_at curl_rc
  for p in "${DRAIN_PIDS[@]}"; do wait "${p}" || true; done
  DRAIN_OK=0
  DRAIN_AFTER_STOP=0
  for i in $(seq 1 "${count}"); do
    read -r code done_at curl_rc <"${dir}/register-${i}.status"
    if [ "${code}" = "201" ]; then
      DRAIN_OK=$((DRAIN_OK + 1))
    else
      log "request ${i}: HTTP ${code} (curl exit ${curl_rc}) $(head -c 200 "${dir}/register-${i}.body" 2>/dev/null)"
    fi
    if python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) > float(sys.argv[2]) else 1)" "${done_at}" "${stop_at}"; then
      DRAIN_AFTER_STOP=$((DRAIN_AFTER_STOP + 1))
    fi
  done
}
