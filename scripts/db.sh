#!/usr/bin/env bash
# Installs (once) and runs SecantusDB, a MongoDB-wire-compatible server from
# PyPI, for development, tests and benchmarks.
#   scripts/db.sh install        create .venv with SecantusDB
#   scripts/db.sh start          start on 127.0.0.1:$DB_PORT (default 27017), data in $DB_PATH
#   scripts/db.sh stop | status
# DB_PATH defaults to .data/db; DB_PATH=:memory: keeps nothing.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.venv"
port="${DB_PORT:-27017}"
data="${DB_PATH:-$root/.data/db}"
run="$root/.data/run"
pidfile="$run/secantus-$port.pid"
logfile="$run/secantus-$port.log"
SECANTUS_VERSION="0.7.0b3"

install() {
  # A marker written after a successful install: cheap, and exact about the version.
  if [ -x "$venv/bin/secantusd-py" ] && [ "$(cat "$venv/.secantus-version" 2>/dev/null)" = "$SECANTUS_VERSION" ]; then
    return 0
  fi
  echo "db.sh: installing SecantusDB $SECANTUS_VERSION into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "SecantusDB==$SECANTUS_VERSION"
  echo "$SECANTUS_VERSION" >"$venv/.secantus-version"
}

listening() {
  python3 - "$port" <<'PY'
import socket, sys
s = socket.socket()
s.settimeout(0.5)
sys.exit(0 if s.connect_ex(("127.0.0.1", int(sys.argv[1]))) == 0 else 1)
PY
}

start() {
  install
  mkdir -p "$run"
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    echo "db.sh: already running on port $port (pid $(cat "$pidfile"))" >&2
    return 0
  fi
  if listening; then
    echo "db.sh: port $port is taken by another process" >&2
    return 1
  fi
  [ "$data" = ":memory:" ] || mkdir -p "$data"
  nohup "$venv/bin/secantusd-py" --host 127.0.0.1 --port "$port" --storage-path "$data" \
    --log-level WARNING >"$logfile" 2>&1 &
  echo $! >"$pidfile"
  for _ in $(seq 1 150); do
    if listening; then
      echo "db.sh: SecantusDB ready on 127.0.0.1:$port" >&2
      return 0
    fi
    kill -0 "$(cat "$pidfile")" 2>/dev/null || break
    sleep 0.2
  done
  echo "db.sh: SecantusDB did not start; log follows" >&2
  cat "$logfile" >&2
  return 1
}

stop() {
  if [ -f "$pidfile" ]; then
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$pidfile"
  fi
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  status) if listening; then echo "running on $port"; else echo "not running on $port"; exit 1; fi ;;
  *) echo "usage: $0 install|start|stop|status" >&2; exit 2 ;;
esac
