#!/usr/bin/env bash
# Write costs of two server binaries, measured alternately on one database:
#
#   scripts/bench/ab.sh OLD NEW [ROUNDS] [SECONDS]
#
# Seeds the quick benchmark's database once (1,000 users, 10,000 expenses)
# into a fresh SecantusDB (the Rust build bench.sh installs), then for each
# round starts OLD, then NEW, each running the create and edit scenarios of
# scripts/bench/scenario.lua for SECONDS (default 5) after the server is
# idle, and records per request the database commands (the
# server's mongodb_commands_total) and the database's CPU. Alternating
# rounds (default 3) spreads the machine's other load over both binaries: a
# difference of 10–20% in database CPU per request, below what two separate
# bench.sh runs can tell apart, shows up as the same sign in every round.
# Prints one line per measurement and a summary (medians); the release
# binaries of this checkout (splitlyr-bench, wrk) must be built: run
# scripts/bench.sh once first.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
old=${1:?usage: ab.sh OLD NEW [ROUNDS] [SECONDS]}
new=${2:?usage: ab.sh OLD NEW [ROUNDS] [SECONDS]}
rounds=${3:-3}
seconds=${4:-5}
bench_bin="$root/target/release/splitlyr-bench"
secantus="$root/.bench/secantus/bin/secantusd-rs"
[ -x "$bench_bin" ] && [ -x "$secantus" ] || { echo "ab.sh: run scripts/bench.sh once first" >&2; exit 1; }
run="$root/.bench/ab-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$run"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
commands() { curl -fsS -m 10 "$1/metrics" | awk '/^mongodb_commands_total/ { s += $2 } END { print s + 0 }'; }

"$secantus" --host 127.0.0.1 --port 0 --storage-path "$run/db" --log-level WARNING >"$run/db.log" 2>&1 &
db_pid=$!
pids+=("$db_pid")
for _ in $(seq 1 100); do
  db_port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$run/db.log" | head -n1)
  [ -z "$db_port" ] || break
  sleep 0.2
done
[ -n "${db_port:-}" ] || { cat "$run/db.log" >&2; exit 1; }
unset RUST_LOG APP__JWT__SECRET APP__DATABASE__URI APP__DATABASE__NAME APP__SERVER__PORT
export APP_ENVIRONMENT=production APP_CONFIG_DIR=config APP__RATE_LIMIT__ENABLED=false
export APP__LOG__LEVEL=warn APP__SERVER__HOST=127.0.0.1
JWT_SECRET=$(head -c 36 /dev/urandom | base64 | tr -d '\n')
export JWT_SECRET MONGO_URL="mongodb://127.0.0.1:$db_port/?directConnection=true"
"$bench_bin" seed --db-uri "$MONGO_URL" --db-name splitlyr_ab --users 1000 --friends 20 \
  --groups 200 --expenses 10000 --focus-users 20 --focus-groups 10 --out "$run/seed" \
  --jwt-secret "$JWT_SECRET" --drop >"$run/seed.log" 2>&1 || { cat "$run/seed.log" >&2; exit 1; }

# measure LABEL BINARY: one server process, the two write scenarios that can
# run again and again (a split is settled once, so settle is left out).
measure() {
  local label=$1 bin=$2 port admin base admin_base pid mode before_c after_c before_t after_t rps
  port=$("$bench_bin" free-port)
  admin=$("$bench_bin" free-port)
  base="http://127.0.0.1:$port"
  admin_base="http://127.0.0.1:$admin"
  PORT=$port APP__SERVER__ADMIN_PORT=$admin APP__DATABASE__NAME=splitlyr_ab "$bin" \
    >>"$run/server-$label.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 600); do
    curl -fsS -m 2 -o /dev/null "$base/v1/healthz" 2>/dev/null && break
    sleep 0.5
  done
  sleep 3
  for mode in create edit; do
    before_c=$(commands "$admin_base" 2>/dev/null || commands "$base")
    before_t=$(cpu_ticks "$db_pid")
    wrk -t2 -c32 -d"${seconds}s" --timeout 30s -s scripts/bench/scenario.lua "$base" -- \
      "$mode" "$run/seed/users.lua" 2 >"$run/wrk-$label-$mode.txt" 2>&1
    after_t=$(cpu_ticks "$db_pid")
    after_c=$(commands "$admin_base" 2>/dev/null || commands "$base")
    rps=$(sed -n 's/^BENCH_JSON .*"requests":\([0-9]*\).*/\1/p' "$run/wrk-$label-$mode.txt")
    python3 -c 'import sys
l, m, n, c, t, tck = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
print(f"{l}\t{m}\t{n}\t{c / n:.3f}\t{t * 1000 / tck / n:.3f}")' \
      "$label" "$mode" "$rps" "$((after_c - before_c))" "$((after_t - before_t))" "$(getconf CLK_TCK)" |
      tee -a "$run/results.tsv"
  done
  kill "$pid"
  wait "$pid" 2>/dev/null || true
}

printf 'binary\tscenario\trequests\tdb cmds/req\tdb CPU ms/req\n'
for _ in $(seq 1 "$rounds"); do
  measure old "$old"
  measure new "$new"
done
python3 - "$run/results.tsv" <<'PY'
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
print("\nmedians (db cmds/req, db CPU ms/req):")
for mode in ("create", "edit"):
    cells = []
    for label in ("old", "new"):
        mine = [r for r in rows if r[0] == label and r[1] == mode]
        cells.append(f"{label} {statistics.median(float(r[3]) for r in mine):.2f} / "
                     f"{statistics.median(float(r[4]) for r in mine):.3f}")
    print(f"  {mode}: " + "; ".join(cells))
PY
