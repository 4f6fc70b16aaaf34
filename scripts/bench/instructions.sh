#!/usr/bin/env bash
# Instructions per request: runs a server binary under callgrind (valgrind)
# with one worker, on a small seeded database (the Rust SecantusDB that
# scripts/bench.sh installs under .bench/), drives one wrk scenario of
# scripts/bench/scenario.lua at it and prints the user-space instructions the
# server executed per request. Unlike req/s and CPU time on this shared
# 2-core machine, the count hardly moves between runs of one binary, so it
# shows a per-request cost of a few percent between two builds.
#
#   scripts/bench/instructions.sh BINARY MODE [SECONDS]
#
# MODE: a scenario of scenario.lua (healthz, profile, balances, ...);
# SECONDS: the measured window (default 10), after a 5 s warm-up. Run
# scripts/bench.sh once first (it builds splitlyr-bench and installs the
# database). The count includes what the server's threads do while waiting
# (a few percent for healthz; more for slower requests, where fewer requests
# share the window): compare binaries at similar req/s, and repeat.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
bin=$(realpath "${1:?usage: instructions.sh BINARY MODE [SECONDS]}")
mode=${2:?usage: instructions.sh BINARY MODE [SECONDS]}
seconds=${3:-10}
secantus=.bench/secantus/bin/secantusd-rs
bench_bin=${CARGO_TARGET_DIR:-target}/release/splitlyr-bench
[ -x "$secantus" ] && [ -x "$bench_bin" ] || { echo "run scripts/bench.sh once first" >&2; exit 1; }
if ! command -v valgrind >/dev/null || ! command -v wrk >/dev/null; then
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get install -y -qq valgrind wrk >/dev/null
fi

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

"$secantus" --host 127.0.0.1 --port 0 --storage-path "$work/db" --log-level WARNING >"$work/db.log" 2>&1 &
pids+=($!)
db_port=""
for _ in $(seq 1 100); do
  db_port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/db.log" | head -n1)
  [ -z "$db_port" ] || break
  sleep 0.2
done
[ -n "$db_port" ] || { cat "$work/db.log" >&2; exit 1; }

unset RUST_LOG APP__JWT__SECRET APP__DATABASE__URI APP__SERVER__PORT APP__AUTH__BCRYPT_COST APP__LOG__FORMAT
export APP_ENVIRONMENT=production APP_CONFIG_DIR=config APP__RATE_LIMIT__ENABLED=false \
  APP__LOG__LEVEL=warn APP__SERVER__HOST=127.0.0.1 APP__SERVER__WORKERS=1 APP__DATABASE__NAME=instructions
JWT_SECRET=$(head -c 36 /dev/urandom | base64 | tr -d '\n')
MONGO_URL="mongodb://127.0.0.1:$db_port/?directConnection=true"
export JWT_SECRET MONGO_URL
"$bench_bin" seed --db-uri "$MONGO_URL" --db-name instructions --users 1000 --friends 20 --groups 200 \
  --expenses 1000 --focus-users 20 --focus-groups 10 --concentrate --out "$work/seed" \
  --jwt-secret "$JWT_SECRET" --drop >"$work/seed.log" 2>&1 || { cat "$work/seed.log" >&2; exit 1; }

port=$("$bench_bin" free-port)
admin_port=$("$bench_bin" free-port)
PORT=$port APP__SERVER__ADMIN_PORT=$admin_port valgrind --tool=callgrind \
  --callgrind-out-file="$work/callgrind.out" "$bin" >"$work/server.log" 2>&1 &
server=$!
pids+=("$server")
for _ in $(seq 1 300); do
  curl -fsS -o /dev/null "http://127.0.0.1:$port/v1/healthz" 2>/dev/null && break
  kill -0 "$server" || { cat "$work/server.log" >&2; exit 1; }
  sleep 0.5
done

drive() { # seconds out-file
  wrk -t1 -c4 -d"$1s" --timeout 30s -s scripts/bench/scenario.lua "http://127.0.0.1:$port" \
    -- "$mode" "$work/seed/users.lua" 1 >"$2"
}
drive 5 "$work/warmup.txt"
callgrind_control --zero "$server" >/dev/null 2>&1
drive "$seconds" "$work/wrk.txt"
callgrind_control --dump "$server" >/dev/null 2>&1
sleep 1
requests=$(awk '/requests in/ { print $1 }' "$work/wrk.txt")
instructions=$(cat "$work"/callgrind.out* | awk '/^summary:/ { s += $2 } END { print s }')
[ "${requests:-0}" -gt 0 ] || { cat "$work/wrk.txt" >&2; exit 1; }
printf '%s %s: %s requests, %s instructions per request\n' "$(basename "$bin")" "$mode" \
  "$requests" "$((instructions / requests))"
