#!/usr/bin/env bash
# The benchmark suite. Builds the release binaries, starts SecantusDB (the Rust
# build, as a separate process) on a free loopback port with a fresh store under
# .bench/, seeds data straight into it with `splitlyr-bench seed`, runs the
# server with production settings and drives it with wrk, then writes
# bench-results/latest.json and bench-results/latest.md.
#
#   scripts/bench.sh            10 s per scenario, 100,000 expenses
#   scripts/bench.sh --quick    3 s per scenario, 10,000 expenses
#
# Options: --expenses N, --duration S, --warmup S, --connections C,
# --login-connections C (logins in flight, default 4), --export-rows N (the
# export scenario's group, default 100000), --focus-users N and
# --focus-groups N (default 20 and 10), --keep (keep the database files of the
# run), --server PATH (measure that server binary, e.g. an earlier release,
# with this benchmark). Every scenario is a throughput test, so the server
# runs with rate limiting off (APP__RATE_LIMIT__ENABLED=false), which also
# lifts the per-user upload limit of pictures.
#
# Balances at 1,000 vs N expenses compare like with like: the 1,000 expenses
# are concentrated on the focus users and groups (so they have about as many
# non-zero balances as with the long history), and both balance scenarios
# rotate over those same users and groups.
#
# The export: a database of its own with one group of 8 people and
# --export-rows expenses and payments (100,000, also with --quick), seeded in
# batches of 5,000 (`splitlyr-bench export-seed`), served by a process of
# its own; `splitlyr-bench export` downloads the group's export.csv 3 times,
# timing the headers, the first byte of the file and the whole, counting
# bytes and rows, with the server's VmRSS sampled every 20 ms. Then, on the
# same process, a Splitwise import of 10,000 rows into that group
# (`splitlyr-bench splitwise-file`): POSTed once, followed until done, timed,
# with the server's VmRSS sampled every 50 ms (bounded memory). Then the
# recurring scheduler on that process: --recurring-series (10,000) active
# monthly series written into its database (`splitlyr-bench recurring-seed`),
# none due for a day, and the database commands and CPU of 10 s of the idle
# server (the scheduler polls every second); then --recurring-due (1,000)
# more that are due at once, timed until the scheduler created each one's
# occurrence, with commands and CPU per occurrence.
#
# Before seeding, the settle-up solver is timed in-process on fixed instances
# of 20 balances (`splitlyr-bench settle-solver`, under a second; target 8).
#
# Pictures, last, on a server process of their own (large database): uploads
# of a generated 300 KB JPEG as profile photos (`splitlyr-bench picture`; each
# upload a different picture, so each one is stored) with --upload-connections
# uploads in flight (default 8), the server's VmRSS sampled every 50 ms
# meanwhile (target 9); then GETs of the focus users' photos, plain (200) and
# with their ETag in If-None-Match (304); and 12 uploads of 10 MiB stalled
# after 5 MiB each (`splitlyr-bench stalled-bodies`, 12 users, the app's
# data-URI PATCH and the raw PUT in turn), with the server's VmRSS sampled
# every 10 ms until each is answered (target 10). --pictures-only seeds the
# large database and runs only these (the other targets then lack data and
# fail).
#
# Exit status: 0 when the measurement completed, even if targets FAIL (they
# are reported); non-zero when the benchmark itself broke.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

SECANTUS_VERSION="0.5.3-beta.196"
mode=default
duration=10
warmup=2
connections=32
# bcrypt (cost 12) takes ~130 ms of a core per login: 4 logins in flight keep
# both cores busy with a queue while each one finishes well inside a scenario.
login_connections=4
wrk_threads=2
expenses=100000
legacy_expenses=20000
bcrypt_seconds=5
focus_users=20
focus_groups=10
keep=false
other_server=""
# Decoding runs 2 at a time (images.decode_concurrency): 8 uploads in flight
# keep both busy with a queue.
upload_connections=8
pictures_only=false
export_rows=100000
export_members=8
import_rows=10000
recurring_series=10000
recurring_due=1000

usage() { sed -n '2,48p' "$0" | sed 's/^# \{0,1\}//' >&2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --quick) mode=quick; duration=3; warmup=1; expenses=10000; bcrypt_seconds=2 ;;
    --expenses) expenses=${2:?--expenses needs a number}; shift ;;
    --duration) duration=${2:?--duration needs seconds}; shift ;;
    --warmup) warmup=${2:?--warmup needs seconds}; shift ;;
    --connections) connections=${2:?--connections needs a number}; shift ;;
    --login-connections) login_connections=${2:?--login-connections needs a number}; shift ;;
    --focus-users) focus_users=${2:?--focus-users needs a number}; shift ;;
    --focus-groups) focus_groups=${2:?--focus-groups needs a number}; shift ;;
    --upload-connections) upload_connections=${2:?--upload-connections needs a number}; shift ;;
    --pictures-only) pictures_only=true ;;
    --export-rows) export_rows=${2:?--export-rows needs a number}; shift ;;
    --recurring-series) recurring_series=${2:?--recurring-series needs a number}; shift ;;
    --recurring-due) recurring_due=${2:?--recurring-due needs a number}; shift ;;
    --keep) keep=true ;;
    --server) other_server=${2:?--server needs a path}; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "bench.sh: unknown option $1" >&2; usage; exit 2 ;;
  esac
  shift
done

started=$(date +%s)
log() { printf '[bench %4ds] %s\n' "$(($(date +%s) - started))" "$*" >&2; }
# Milliseconds since the epoch, and seconds elapsed since such a time.
now_ms() { local t=${EPOCHREALTIME/[.,]/}; echo $((t / 1000)); }
since() { local d=$(($(now_ms) - $1)); printf '%d.%03d' $((d / 1000)) $((d % 1000)); }
die() { log "FAILED: $*"; exit 1; }

# ---------- tools ----------

apt_install() {
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  log "installing $* from Debian"
  "${sudo[@]}" apt-get install -y -qq "$@" >/dev/null 2>&1 || {
    "${sudo[@]}" apt-get update -qq >/dev/null
    "${sudo[@]}" apt-get install -y -qq "$@" >/dev/null
  }
}

for tool in wrk curl; do
  command -v "$tool" >/dev/null || apt_install "$tool"
done

secantus_root="$root/.bench/secantus"
secantus="$secantus_root/bin/secantusd-rs"
if ! "$secantus" --version 2>/dev/null | grep -qF "$SECANTUS_VERSION"; then
  command -v cmake >/dev/null || apt_install cmake
  log "installing secantus-mdb $SECANTUS_VERSION into .bench/secantus (one-off, several minutes)"
  cargo install secantus-mdb --version "$SECANTUS_VERSION" --locked --ignore-rust-version \
    --root "$secantus_root" >&2
fi

log "building release binaries"
build_started=$(now_ms)
cargo build --release --bins >&2
build_s=$(since "$build_started")
target_dir="${CARGO_TARGET_DIR:-$root/target}"
server_bin="${other_server:-$target_dir/release/splitlyr}"
bench_bin="$target_dir/release/splitlyr-bench"
if [ ! -x "$server_bin" ] || [ ! -x "$bench_bin" ]; then
  die "release binaries not found in $target_dir/release"
fi

# ---------- run directory, processes, cleanup ----------

run="$root/.bench/runs/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$run"
# Keep the five most recent runs' logs and raw results.
find "$root/.bench/runs" -mindepth 1 -maxdepth 1 -type d | sort | head -n -5 | xargs -r rm -rf
db_pid=""
server_pid=""

stop_pid() {
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for i in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    [ "$i" -lt 100 ] || kill -KILL "$pid" 2>/dev/null || true
    sleep 0.2
  done
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  [ -z "$server_pid" ] || stop_pid "$server_pid"
  [ -z "$db_pid" ] || stop_pid "$db_pid"
  [ "$keep" = true ] || rm -rf "$run/db"
}
trap cleanup EXIT

meta() { printf '%s=%s\n' "$1" "$2" >>"$run/meta.env"; }

# /proc/<pid>/status field in kB.
proc_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }

# CPU ticks (user + system) a process has used so far.
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }

# Waits until the server and the database are idle (under 10% of a core for
# two consecutive seconds), e.g. after index builds or the ledger rebuild.
wait_quiet() {
  local quiet=0 before after i
  for i in $(seq 1 120); do
    before=$(($(cpu_ticks "$server_pid") + $(cpu_ticks "$db_pid")))
    sleep 1
    after=$(($(cpu_ticks "$server_pid") + $(cpu_ticks "$db_pid")))
    if [ $((after - before)) -lt 10 ]; then
      quiet=$((quiet + 1))
      [ "$quiet" -lt 2 ] || return 0
    else
      quiet=0
    fi
  done
  log "warning: server or database still busy after ${i}s; measuring anyway"
}

# CPU ticks so far: server, database, this shell's waited-for children (wrk),
# and the whole machine (busy time of all cores); then the time in ms.
cpu_snapshot() {
  printf '%s %s %s %s %s\n' "$(cpu_ticks "$server_pid")" "$(cpu_ticks "$db_pid")" \
    "$(sed 's/^.*) //' "/proc/$$/stat" | awk '{ print $14 + $15 }')" \
    "$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat)" "$(now_ms)"
}

# ---------- machine and settings ----------

: >"$run/meta.env"
: >"$run/rss.env"
: >"$run/scenarios.tsv"
meta mode "$mode"
meta duration "$duration"
meta warmup "$warmup"
meta concurrency "$connections"
meta login_concurrency "$login_connections"
meta wrk_threads "$wrk_threads"
meta expenses "$expenses"
meta legacy_expenses "$legacy_expenses"
meta focus_users "$focus_users"
meta focus_groups "$focus_groups"
meta upload_concurrency "$upload_connections"
meta pictures_only "$pictures_only"
meta export_rows "$export_rows"
meta export_members "$export_members"
meta import_rows "$import_rows"
meta recurring_series "$recurring_series"
meta recurring_due "$recurring_due"
meta nproc "$(nproc)"
meta cpu_model "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
meta mem_total_mb "$(free -m | awk '/^Mem:/ { print $2 }')"
meta mem_available_mb "$(free -m | awk '/^Mem:/ { print $7 }')"
meta kernel "$(uname -r)"
meta clk_tck "$(getconf CLK_TCK)"
meta loadavg_start "$(cut -d' ' -f1-3 /proc/loadavg)"
meta git_commit "$(git rev-parse HEAD 2>/dev/null || echo unknown)"
# The results of the previous run (bench-results/) do not make the code dirty.
meta git_dirty "$([ -z "$(git status --porcelain --untracked-files=no -- . ':!bench-results' 2>/dev/null)" ] && echo false || echo true)"
meta build_s "$build_s"
meta server_settings "APP_ENVIRONMENT=production (bcrypt cost from config/production.toml), APP__RATE_LIMIT__ENABLED=false, log level warn, workers = one per core, 127.0.0.1"
meta database "secantus-mdb $SECANTUS_VERSION (secantusd-rs, WiredTiger, fresh store under .bench/), same machine"

# ---------- database ----------

log "starting secantusd-rs"
"$secantus" --host 127.0.0.1 --port 0 --storage-path "$run/db" --log-level WARNING \
  >"$run/secantus.log" 2>&1 &
db_pid=$!
db_port=""
for _ in $(seq 1 150); do
  db_port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$run/secantus.log" | head -n1)
  [ -z "$db_port" ] || break
  kill -0 "$db_pid" 2>/dev/null || break
  sleep 0.2
done
[ -n "$db_port" ] || { cat "$run/secantus.log" >&2; die "secantusd-rs did not start"; }
log "secantusd-rs listening on 127.0.0.1:$db_port"

# The server's environment (also read by splitlyr-bench for the bcrypt cost).
unset RUST_LOG APP__JWT__SECRET APP__DATABASE__URI APP__DATABASE__NAME APP__SERVER__PORT \
  APP__AUTH__BCRYPT_COST APP__LOG__FORMAT
export APP_ENVIRONMENT=production
export APP_CONFIG_DIR=config
JWT_SECRET=$(head -c 36 /dev/urandom | base64 | tr -d '\n') # 48 bytes
export JWT_SECRET
export MONGO_URL="mongodb://127.0.0.1:$db_port/?directConnection=true"
export APP__RATE_LIMIT__ENABLED=false
export APP__LOG__LEVEL=warn
export APP__SERVER__HOST=127.0.0.1

# ---------- raw bcrypt rate (before anything else loads the CPU) ----------

log "measuring the raw bcrypt verify rate (${bcrypt_seconds}s)"
"$bench_bin" bcrypt-rate --seconds "$bcrypt_seconds" --json >"$run/bcrypt.json"
log "bcrypt: $(cat "$run/bcrypt.json")"

# ---------- settle-up solver (in-process, no database) ----------

log "timing the settle-up solver on 20 balances"
"$bench_bin" settle-solver --json >"$run/settle.json"
log "settle-up solver: $(cat "$run/settle.json")"

# ---------- the photo the picture scenarios upload ----------

log "generating the 300 KB JPEG of the picture scenarios"
"$bench_bin" picture --out "$run/picture" --copies "$focus_users" --json >"$run/picture.json" ||
  die "generating the photo failed"
log "photo: $(cat "$run/picture.json")"
photo_kb=$(sed -n 's/.*"kb":\([0-9]*\).*/\1/p' "$run/picture.json")

# ---------- seeding ----------

seed() { # name expenses [--concentrate]
  local t0
  t0=$(now_ms)
  local how=""
  case "${3:-}" in
    --concentrate) how=" (concentrated on $focus_users focus users and $focus_groups focus groups)" ;;
    --legacy) how=" (written as the old Node server stored them)" ;;
  esac
  log "seeding splitlyr_bench_$1: 1000 users, 20 friends each, 200 groups, $2 expenses$how"
  "$bench_bin" seed --db-uri "$MONGO_URL" --db-name "splitlyr_bench_$1" \
    --users 1000 --friends 20 --groups 200 --expenses "$2" \
    --focus-users "$focus_users" --focus-groups "$focus_groups" ${3:+"$3"} \
    --out "$run/seed-$1" --jwt-secret "$JWT_SECRET" --drop >"$run/seed-$1.log" 2>&1 ||
    { cat "$run/seed-$1.log" >&2; die "seeding $1 failed"; }
  meta "seed_$1_s" "$(since "$t0")"
}
# The 1,000 expenses all involve a focus user or group; the large history is
# spread over everyone as usual (the focus users and groups are in it too).
if [ "$pictures_only" = false ]; then
  seed small 1000 --concentrate
fi
seed large "$expenses"
# The old server's database taken over: 20,000 expenses in its format.
if [ "$pictures_only" = false ]; then
  seed legacy "$legacy_expenses" --legacy
fi

# A group of $export_members people with $export_rows expenses and payments.
if [ "$pictures_only" = false ]; then
  t0=$(now_ms)
  log "seeding splitlyr_bench_export: one group of $export_members people, $export_rows expenses"
  "$bench_bin" export-seed --db-uri "$MONGO_URL" --db-name splitlyr_bench_export \
    --rows "$export_rows" --members "$export_members" --out "$run/seed-export" \
    --jwt-secret "$JWT_SECRET" >"$run/seed-export.log" 2>&1 ||
    { cat "$run/seed-export.log" >&2; die "seeding export failed"; }
  meta seed_export_s "$(since "$t0")"
fi

# ---------- server ----------

server_name=""
server_tag=""
base=""
admin_base=""
# start_server NAME first|serve: "first" is the first start on a freshly seeded
# database (it builds the indexes and the balance ledger from the expenses);
# "serve" is the restarted process that the scenarios measure.
start_server() {
  local port admin_port t0 i
  server_name=$1
  server_tag="$2_$1"
  port=$("$bench_bin" free-port)
  admin_port=$("$bench_bin" free-port)
  base="http://127.0.0.1:$port"
  admin_base="http://127.0.0.1:$admin_port"
  t0=$(now_ms)
  log "starting the server ($2 start) on splitlyr_bench_$1 (port $port, admin $admin_port)"
  PORT=$port APP__SERVER__ADMIN_PORT=$admin_port APP__DATABASE__NAME="splitlyr_bench_$1" \
    "$server_bin" >"$run/server-$server_tag.log" 2>&1 &
  server_pid=$!
  # Generous: the first start builds indexes and the balance ledger from the expenses.
  for i in $(seq 1 1200); do
    if curl -fsS -m 2 -o /dev/null "$base/v1/healthz" 2>/dev/null; then
      break
    fi
    kill -0 "$server_pid" 2>/dev/null || { cat "$run/server-$server_tag.log" >&2; die "the server exited"; }
    [ "$i" -lt 1200 ] || die "the server did not become healthy in 10 minutes"
    sleep 0.5
  done
  meta "start_${server_tag}_s" "$(since "$t0")"
  wait_quiet
  printf 'idle_kb_%s=%s\n' "$server_tag" "$(proc_kb "$server_pid" VmRSS)" >>"$run/rss.env"
  log "server healthy and idle after $(since "$t0")s; idle VmRSS $(proc_kb "$server_pid" VmRSS) kB"
}

stop_server() {
  printf 'peak_kb_%s=%s\n' "$server_tag" "$(proc_kb "$server_pid" VmHWM)" >>"$run/rss.env"
  stop_pid "$server_pid"
  server_pid=""
}

# Prepares a database with a first server start, then restarts for measuring.
serve() {
  start_server "$1" first
  stop_server
  start_server "$1" serve
}

# A number from the BENCH_JSON line of a wrk output.
field() { sed -n 's/^BENCH_JSON .*"'"$1"'":\([0-9.]*\).*/\1/p' "$2"; }

# The admin listener's /metrics (an older --server has none there: the public one).
scrape() {
  curl -fsS -m 10 "$admin_base/metrics" >"$1" 2>/dev/null || curl -fsS -m 10 "$base/metrics" >"$1" ||
    die "cannot read $admin_base/metrics"
}

wrk_run() { # out-file connections threads seconds mode data [pictures]
  wrk -t"$3" -c"$2" -d"$4s" --timeout 30s -s scripts/bench/scenario.lua "$base" -- "$5" "$6" "$3" "${7:-}" \
    >"$1" 2>&1 || { cat "$1" >&2; die "wrk failed ($5)"; }
  grep -q '^BENCH_JSON ' "$1" || { cat "$1" >&2; die "wrk printed no result ($5)"; }
}

# scenario NAME LABEL MODE EXPENSES [CONNECTIONS [warmup|nowarmup [PICTURES]]]
scenario() {
  local name=$1 label=$2 mode=$3 n=$4 conns=${5:-$connections} data="$run/seed-$server_name/users.lua" entries
  local pictures=${7:-}
  if [ "${6:-warmup}" = warmup ] && [ "$warmup" != 0 ]; then
    wrk_run "$run/$name.warmup.txt" "$conns" "$wrk_threads" "$warmup" "$mode" "$data" "$pictures"
  fi
  scrape "$run/$name.metrics.before"
  cpu_snapshot >"$run/$name.cpu"
  wrk_run "$run/$name.wrk.txt" "$conns" "$wrk_threads" "$duration" "$mode" "$data" "$pictures"
  cpu_snapshot >>"$run/$name.cpu"
  scrape "$run/$name.metrics.after"
  kill -0 "$server_pid" 2>/dev/null || die "the server died during $name"
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$label" "$n" "$conns" "$duration" "$name" \
    >>"$run/scenarios.tsv"
  entries=$(field entries_per_response "$run/$name.wrk.txt")
  log "$label: $(field requests "$run/$name.wrk.txt") requests, $(field rps "$run/$name.wrk.txt") req/s, p99 $(field p99 "$run/$name.wrk.txt") ms, $(field non2xx "$run/$name.wrk.txt") non-2xx, $(field unexpected "$run/$name.wrk.txt") unexpected${entries:+, $entries non-zero balances/response}"
}

# Login saturation with a second, light wrk probing healthz at the same time.
login_with_probe() {
  local data="$run/seed-$server_name/users.lua" login_pid
  scrape "$run/login_pair.metrics.before"
  cpu_snapshot >"$run/login_pair.cpu"
  wrk -t"$wrk_threads" -c"$login_connections" -d"${duration}s" --timeout 30s -s scripts/bench/scenario.lua \
    "$base" -- login "$data" >"$run/login_saturation.wrk.txt" 2>&1 &
  login_pid=$!
  sleep 0.5
  wrk_run "$run/healthz_under_login.wrk.txt" 2 1 "$duration" healthz ""
  wait "$login_pid" || { cat "$run/login_saturation.wrk.txt" >&2; die "wrk failed (login saturation)"; }
  grep -q '^BENCH_JSON ' "$run/login_saturation.wrk.txt" || die "wrk printed no result (login saturation)"
  cpu_snapshot >>"$run/login_pair.cpu"
  scrape "$run/login_pair.metrics.after"
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' \
    login_saturation "POST /v1/auth/login (with healthz probe)" "$expenses" "$login_connections" "$duration" login_pair \
    healthz_under_login "GET /v1/healthz during login saturation" "$expenses" 2 "$duration" login_pair \
    >>"$run/scenarios.tsv"
  log "login under probe: $(field rps "$run/login_saturation.wrk.txt") req/s; healthz probe: p99 $(field p99 "$run/healthz_under_login.wrk.txt") ms"
}

# Photos for the focus users (distinct pictures, uploaded one at a time), and
# pictures.lua for the GET scenarios: each photo's URL (profileImage of the
# upload's answer) and its ETag (from a GET, which must then answer 304 to it).
prepare_pictures() {
  local data="$run/seed-$server_name/users.lua" out="$run/picture/pictures.lua" i=0 token answer url etag code
  printf -- "-- The focus users' photos: URL and ETag.\nreturn {\n" >"$out"
  while read -r token; do
    i=$((i + 1))
    answer=$(curl -sS -m 60 -X PUT -H "Authorization: Bearer $token" -H 'Content-Type: image/jpeg' \
      --data-binary @"$run/picture/photo-$(printf %02d "$i").jpg" -w '\n%{http_code}' \
      "$base/v1/users/profile/image") || die "uploading focus user $i's photo failed"
    code=${answer##*$'\n'}
    [ "$code" = 200 ] || die "uploading focus user $i's photo: HTTP $code ${answer%$'\n'*}"
    url=$(sed -n 's/.*"profileImage":"\([^"]*\)".*/\1/p' <<<"$answer")
    [[ "$url" =~ ^/v1/images/[0-9a-f]{32}$ ]] || die "focus user $i's photo: unexpected profileImage '$url'"
    etag=$(curl -fsS -m 10 -D - -o /dev/null "$base$url" | tr -d '\r' | sed -n 's/^[Ee][Tt][Aa][Gg]: *//p')
    [[ "$etag" =~ ^\"[0-9a-f]+\"$ ]] || die "GET $url: unexpected ETag '$etag'"
    code=$(curl -sS -m 10 -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$base$url")
    [ "$code" = 304 ] || die "GET $url with If-None-Match: HTTP $code, not 304"
    printf "{url=\"%s\",etag='%s'},\n" "$url" "$etag" >>"$out"
  done < <(sed -n 's/^{id="[^"]*",token="\([^"]*\)".*/\1/p' "$data" | head -n "$focus_users")
  printf '}\n' >>"$out"
  [ "$i" -gt 0 ] || die "no focus users in $data"
  log "uploaded $i photos for the focus users; URLs and ETags in ${out#"$root"/}"
}

# refresh_sessions N OUT: logs N seeded users in (one session each) and writes
# their refresh tokens as a Lua list for the refresh scenario.
refresh_sessions() {
  local data="$run/seed-$server_name/users.lua" out=$2 i=0 email answer token password
  password=$(sed -n 's/^ *password *= *"\([^"]*\)".*/\1/p' "$data" | head -n1)
  [ -n "$password" ] || password=$(sed -n 's/.*password="\([^"]*\)".*/\1/p' "$data" | head -n1)
  printf 'return {\n' >"$out"
  while read -r email; do
    answer=$(curl -fsS -m 60 -H 'Content-Type: application/json' -H 'User-Agent: splitlyr-bench' \
      -d "{\"email\":\"$email\",\"password\":\"$password\"}" "$base/v1/auth/login") \
      || die "login of $email for the refresh scenario failed"
    token=$(sed -n 's/.*"refreshToken":"\([^"]*\)".*/\1/p' <<<"$answer")
    [ -n "$token" ] || die "login of $email returned no refresh token"
    printf '"%s",\n' "$token" >>"$out"
    i=$((i + 1))
  done < <(sed -n 's/.*email="\([^"]*\)".*/\1/p' "$data" | head -n "$1")
  printf '}\n' >>"$out"
  [ "$i" -eq "$1" ] || die "only $i of $1 users logged in for the refresh scenario"
  log "logged in $i users for the refresh scenario"
}

# Uploads with the server's VmRSS sampled every 50 ms, warm-up included.
upload_scenario() {
  local stop="$run/image_upload.rss.stop" watch_pid
  rm -f "$stop"
  "$bench_bin" rss-watch --pid "$server_pid" --interval-ms 50 --stop-file "$stop" \
    --out "$run/image_upload.rss.json" --series "$run/image_upload.rss.tsv" &
  watch_pid=$!
  scenario image_upload "PUT /v1/users/profile/image ($photo_kb KB JPEG)" imageupload "$expenses" \
    "$upload_connections" warmup "$run/picture/upload.lua"
  touch "$stop"
  wait "$watch_pid" || die "rss-watch failed"
  log "server VmRSS during the uploads: $(cat "$run/image_upload.rss.json")"
}

# Large uploads that stall half-way (target 10): 12 users who are not focus
# users, one connection each, answered within the server's own limits
# (server.large_body_wait_ms, then server.body_read_timeout_ms).
stalled_scenario() {
  local data="$run/seed-$server_name/users.lua" tokens="$run/stalled-tokens.txt"
  sed -n 's/^{id="[^"]*",token="\([^"]*\)".*/\1/p' "$data" | sed -n '201,212p' >"$tokens"
  [ "$(wc -l <"$tokens")" -eq 12 ] || die "fewer than 212 users in $data"
  log "12 uploads of 10 MiB stalled after 5 MiB each (answers within the read timeout, 30 s)"
  "$bench_bin" stalled-bodies --base "$base" --pid "$server_pid" --tokens "$tokens" \
    --out "$run/stalled_bodies.json" --hold-seconds 45 >"$run/stalled_bodies.log" 2>&1 ||
    { cat "$run/stalled_bodies.log" >&2; die "stalled-bodies failed"; }
  kill -0 "$server_pid" 2>/dev/null || die "the server died during the stalled uploads"
  log "stalled uploads: $(cat "$run/stalled_bodies.json")"
}

# Commands and CPU of 10 s of the idle server (after it has been quiet).
idle_window() {
  wait_quiet
  scrape "$run/$1.metrics.before"
  cpu_snapshot >"$run/$1.cpu"
  sleep 10
  cpu_snapshot >>"$run/$1.cpu"
  scrape "$run/$1.metrics.after"
}

# The recurring scheduler with --recurring-series active series: the idle
# server's database commands and CPU over 10 s without and with them, then
# --recurring-due series due at once, until each has its occurrence.
recurring_scenario() {
  local seed=("$bench_bin" recurring-seed --db-uri "$MONGO_URL" --db-name splitlyr_bench_export)
  idle_window recurring_idle0
  log "writing $recurring_series active recurring series (none due for a day)"
  "${seed[@]}" --series "$recurring_series" >"$run/recurring-seed.json" ||
    die "recurring-seed failed"
  idle_window recurring_idle
  log "writing $recurring_due more series, due at once, and waiting for their occurrences"
  scrape "$run/recurring_due.metrics.before"
  cpu_snapshot >"$run/recurring_due.cpu"
  "${seed[@]}" --series "$recurring_due" --due --wait >"$run/recurring-due.json" ||
    die "the scheduler did not create the due occurrences"
  cpu_snapshot >>"$run/recurring_due.cpu"
  scrape "$run/recurring_due.metrics.after"
  kill -0 "$server_pid" 2>/dev/null || die "the server died during the recurring scenario"
  python3 - "$run" "$recurring_series" "$(getconf CLK_TCK)" <<'PY' >"$run/recurring.json"
import json, sys
run, series, tck = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def commands(name):
    total = 0.0
    for line in open(f"{run}/{name}"):
        if line.startswith("mongodb_commands_total"):
            total += float(line.rsplit(" ", 1)[1])
    return total
def window(name):
    a, b = [list(map(int, l.split())) for l in open(f"{run}/{name}.cpu")]
    cmds = commands(f"{name}.metrics.after") - commands(f"{name}.metrics.before")
    ms = b[4] - a[4]
    return {"ms": ms, "commands": cmds, "server_cpu_ms": (b[0] - a[0]) * 1000 / tck,
            "db_cpu_ms": (b[1] - a[1]) * 1000 / tck}
idle0, idle, due = window("recurring_idle0"), window("recurring_idle"), window("recurring_due")
made = json.loads(open(f"{run}/recurring-due.json").read().strip().splitlines()[-1])
n = made["created"] or 1
def rates(w):
    per_s = 1000 / w["ms"]
    return {"seconds": w["ms"] / 1000, "db_commands_per_s": round(w["commands"] * per_s, 2),
            "db_cpu_ms_per_s": round(w["db_cpu_ms"] * per_s, 2),
            "server_cpu_ms_per_s": round(w["server_cpu_ms"] * per_s, 2)}
print(json.dumps({
    "series": series,
    "idle_without": rates(idle0),
    "idle": rates(idle),
    "due": {"series": made["series"], "created": made["created"], "seconds": made["seconds"],
            "per_s": made["per_s"], "db_commands_per_occurrence": round(due["commands"] / n, 2),
            "db_cpu_ms_per_occurrence": round(due["db_cpu_ms"] / n, 3),
            "server_cpu_ms_per_occurrence": round(due["server_cpu_ms"] / n, 3)},
}))
PY
  log "recurring: $(cat "$run/recurring.json")"
}

# Whether the server's API description lacks this path (an earlier release
# given with --server that does not have the route).
lacks_route() {
  curl -s "$base/v1/openapi.json" |
    python3 -c 'import json, sys; sys.exit(sys.argv[1] in json.load(sys.stdin)["paths"])' "$1"
}

# Downloads of the export of the group with $export_rows expenses.
export_scenario() {
  log "downloading the export.csv of a group with $export_rows expenses, 3 times"
  "$bench_bin" export --base "$base" --pid "$server_pid" --data "$run/seed-export/export.json" \
    --runs 3 --out "$run/export.json" >"$run/export.log" 2>&1 ||
    { cat "$run/export.log" >&2; die "the export downloads failed"; }
  kill -0 "$server_pid" 2>/dev/null || die "the server died during the export"
  log "export: $(cat "$run/export.json")"
}

# A Splitwise import of $import_rows rows into the export group: POSTed,
# followed (202 → GET /v1/imports/:id) until done, with VmRSS sampled.
import_scenario() {
  local data="$run/seed-export/export.json" stop="$run/import.rss.stop" watch_pid t0 code loc state="" group token
  group=$(sed -n 's/.*"group":"\([0-9a-f]*\)".*/\1/p' "$data")
  token=$(sed -n 's/.*"token":"\([^"]*\)".*/\1/p' "$data")
  "$bench_bin" splitwise-file --data "$data" --rows "$import_rows" --out "$run/import-body.json" \
    >"$run/import-file.json" || die "splitwise-file failed"
  log "importing a Splitwise file of $import_rows rows ($(cat "$run/import-file.json"))"
  rm -f "$stop"
  "$bench_bin" rss-watch --pid "$server_pid" --interval-ms 50 --stop-file "$stop" \
    --max-seconds 900 --out "$run/import.rss.json" &
  watch_pid=$!
  t0=$(now_ms)
  code=$(curl -sS -m 120 -o "$run/import-answer.json" -D "$run/import-headers.txt" -w '%{http_code}' \
    -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    --data-binary @"$run/import-body.json" "$base/v1/groups/$group/import/splitwise") ||
    die "the import request failed"
  case "$code" in
    201) state="done" ;;
    202)
      loc=$(tr -d '\r' <"$run/import-headers.txt" | sed -n 's/^[Ll]ocation: *//p')
      for _ in $(seq 1 2400); do
        sleep 0.25
        curl -fsS -m 10 -H "Authorization: Bearer $token" "$base$loc" >"$run/import-answer.json" ||
          die "GET $loc failed"
        state=$(sed -n 's/.*"state":"\([a-z-]*\)".*/\1/p' "$run/import-answer.json")
        [ "$state" = running ] || break
      done ;;
    *) cat "$run/import-answer.json" >&2; die "the import answered $code" ;;
  esac
  local took
  took=$(since "$t0")
  touch "$stop"
  wait "$watch_pid" || die "rss-watch failed"
  [ "$state" = "done" ] || { cat "$run/import-answer.json" >&2; die "the import ended $state"; }
  python3 - "$run" "$import_rows" "$took" "$code" <<'PY' >"$run/import.json"
import json, sys
run, rows, took, code = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
answer = json.load(open(f"{run}/import-answer.json"))["data"]
rss = json.loads(open(f"{run}/import.rss.json").read().strip().splitlines()[-1])
print(json.dumps({"rows": rows, "first_status": code, "seconds": took,
                  "rows_per_s": round(rows / took, 1) if took else None,
                  "expenses": answer["expenses"], "payments": answer["payments"],
                  "body_bytes": json.load(open(f"{run}/import-file.json"))["bytes"], "rss": rss}))
PY
  kill -0 "$server_pid" 2>/dev/null || die "the server died during the import"
  log "import: $(cat "$run/import.json")"
}

if [ "$pictures_only" = false ]; then
  # Balances at 1,000 expenses, concentrated on the focus users and groups that
  # the balance scenarios of both databases rotate over.
  serve small
  scenario balances_small "GET /v1/users/balances @1k (focus users)" balances 1000
  scenario group_balance_small "GET /v1/expenses/group/:id/balance @1k (focus groups)" groupbalance 1000
  scenario group_settle_up_small "GET /v1/groups/:id/settle-up @1k (focus groups)" settleup 1000
  stop_server

  # The first start on the old server's documents upgrades them (schema 0 -> 1)
  # and builds the ledger: its time to healthy and its peak RSS are target 7.
  start_server legacy first
  stop_server

  serve large
  scenario healthz "GET /v1/healthz" healthz "$expenses"
  scenario profile "GET /v1/users/profile" profile "$expenses"
  scenario expenses_page1 "GET /v1/expenses?page=1" expenses1 "$expenses"
  scenario expenses_page50 "GET /v1/expenses?page=50" expenses50 "$expenses"
  scenario activity "GET /v1/activity (20 items)" activity "$expenses"
  scenario sync_snapshot "GET /v1/sync (snapshot, first 100)" syncsnap "$expenses"
  scenario sync_changes "GET /v1/sync?since= (100 changes)" syncchanges "$expenses"
  scenario balances_large "GET /v1/users/balances (focus users)" balances "$expenses"
  scenario group_balance_large "GET /v1/expenses/group/:id/balance (focus groups)" groupbalance "$expenses"
  scenario group_settle_up_large "GET /v1/groups/:id/settle-up (focus groups)" settleup "$expenses"
  scenario login "POST /v1/auth/login" login "$expenses" "$login_connections" nowarmup
  login_with_probe
  # Each refresh rotates its session's token; 48 sessions for 16 connections.
  refresh_sessions 48 "$run/refresh-tokens.lua"
  scenario auth_refresh "POST /v1/auth/refresh (rotation)" refresh "$expenses" 16 nowarmup \
    "$run/refresh-tokens.lua"
  scenario create_expense "POST /v1/expenses (friend)" create "$expenses"
  scenario mixed "mixed 80% reads / 20% writes" mixed "$expenses"
  scenario edit_expense "PUT /v1/expenses/:id (one field)" edit "$expenses"
  # Each split is settled once, so no warm-up (it would use up the splits).
  scenario settle_split "PATCH /v1/expenses/:id/settle" settle "$expenses" "$connections" nowarmup
  stop_server

  # The export, on a process of its own, so its peak RSS is the export's.
  serve export
  if lacks_route "/v1/groups/{id}/export.csv"; then
    log "the server has no export route (an earlier release): export and import not measured"
  else
    export_scenario
    import_scenario
  fi
  if lacks_route "/v1/recurring"; then
    log "the server has no recurring series (an earlier release): the scheduler not measured"
  else
    recurring_scenario
  fi
  stop_server
else
  # The large database's first start (indexes, ledger) before measuring.
  start_server large first
  stop_server
fi

# Pictures on a process of their own, so its VmHWM covers only them (and its
# start): stalled large uploads, uploads, then reads of the focus users' photos.
start_server large pictures
# On the idle process first, so nothing earlier left memory it could reuse.
stalled_scenario
upload_scenario
prepare_pictures
scenario image_get_200 "GET /v1/images/:id (avatar, 200)" image200 "$expenses" "$connections" warmup \
  "$run/picture/pictures.lua"
scenario image_get_304 "GET /v1/images/:id with If-None-Match (304 expected)" image304 "$expenses" \
  "$connections" warmup "$run/picture/pictures.lua"
stop_server

# ---------- report ----------

meta finished_at "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
meta loadavg_end "$(cut -d' ' -f1-3 /proc/loadavg)"
meta total_s "$(($(date +%s) - started))"
mkdir -p bench-results
"$bench_bin" report --run "$run" --out bench-results
log "done in $(($(date +%s) - started))s; results in bench-results/latest.{json,md}, raw data in ${run#"$root"/}"
