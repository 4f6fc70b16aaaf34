# shellcheck shell=bash
# Docker for the drills: Debian's docker.io, its daemon started here with no
# bridge and no iptables (every container uses --network host, loopback
# only), and the stand-ins of the Dockerfile's base images, built from Debian
# packages since registries are out of reach. Source after scripts/lib/common.sh.
#
#   SPLITLYR_DRILLS_CACHE  where the debootstrap rootfs is kept between runs
#                          (default /var/cache/splitlyr-drills); the stand-in
#                          images stay in the daemon's own store (/var/lib/docker)
#   DEBIAN_MIRROR          mirror for debootstrap (default: apt's bookworm source)

# Debian's client, not whatever else is first on PATH.
DOCKER=/usr/bin/docker
DRILLS_CACHE="${SPLITLYR_DRILLS_CACHE:-/var/cache/splitlyr-drills}"
DOCKERD_PID=""

docker_install() {
  apt_install docker.io debootstrap ca-certificates
  if [ ! -x "${DOCKER}" ] || ! command -v dockerd >/dev/null 2>&1; then
    log "FAIL: docker.io is installed but ${DOCKER} / dockerd are missing" >&2
    exit 1
  fi
}

# docker_start LOGFILE: uses a daemon that already answers, else starts one
# (stopped again by docker_stop_daemon).
docker_start() {
  if timeout 10 "${DOCKER}" info >/dev/null 2>&1; then
    log "using the Docker daemon already running ($(timeout 10 "${DOCKER}" version -f '{{.Server.Version}}'))"
    return 0
  fi
  log "starting dockerd --bridge=none --iptables=false (log: $1)"
  dockerd --bridge=none --iptables=false --ip-forward=false --ip-masq=false >"$1" 2>&1 &
  DOCKERD_PID=$!
  local deadline=$(($(date +%s) + 60))
  until timeout 5 "${DOCKER}" info >/dev/null 2>&1; do
    if ! kill -0 "${DOCKERD_PID}" 2>/dev/null || [ "$(date +%s)" -gt "${deadline}" ]; then
      tail -n 20 "$1" >&2
      log "FAIL: dockerd did not come up within 60s" >&2
      exit 1
    fi
    sleep 0.5
  done
  log "dockerd $(timeout 10 "${DOCKER}" version -f '{{.Server.Version}}') up (pid ${DOCKERD_PID})"
}

docker_stop_daemon() {
  [ -n "${DOCKERD_PID}" ] || return 0
  kill -TERM "${DOCKERD_PID}" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "${DOCKERD_PID}" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "${DOCKERD_PID}" 2>/dev/null || true
  wait "${DOCKERD_PID}" 2>/dev/null || true
  DOCKERD_PID=""
}

# The bookworm mirror apt uses (deb822 .sources or one-line lists).
debian_mirror() {
  if [ -n "${DEBIAN_MIRROR:-}" ]; then echo "${DEBIAN_MIRROR}"; return 0; fi
  python3 - <<'PY'
import glob, re, sys
for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
    for stanza in open(path, encoding="utf-8").read().split("\n\n"):
        fields = dict(re.findall(r"^(\w[\w-]*):\s*(.*)$", stanza, re.M))
        if "bookworm" in fields.get("Suites", "").split() and "main" in fields.get("Components", "").split():
            print(fields["URIs"].split()[0]); sys.exit(0)
for path in ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list")):
    try:
        lines = open(path, encoding="utf-8").read().splitlines()
    except OSError:
        continue
    for line in lines:
        m = re.match(r"^deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+bookworm\s+.*\bmain\b", line)
        if m:
            print(m.group(1)); sys.exit(0)
sys.exit("no bookworm main source in /etc/apt")
PY
}

# bookworm_rootfs PACKAGES: prints the path of a cached debootstrap
# --variant=minbase rootfs with PACKAGES (comma-separated) included.
bookworm_rootfs() {
  local include="$1" key dir mirror
  key="$(printf 'minbase bookworm %s' "${include}" | sha256sum | cut -c1-12)"
  dir="${DRILLS_CACHE}/bookworm-minbase-${key}"
  if [ ! -f "${dir}/.complete" ]; then
    mirror="$(debian_mirror)" || { log "FAIL: cannot find the Debian mirror in /etc/apt" >&2; exit 1; }
    log "debootstrap --variant=minbase --include=${include} bookworm from ${mirror} (cached in ${dir})" >&2
    rm -rf "${dir}"
    mkdir -p "${DRILLS_CACHE}"
    if ! timeout 900 debootstrap --variant=minbase --include="${include}" bookworm "${dir}/rootfs" "${mirror}" \
      >"${DRILLS_CACHE}/debootstrap-${key}.log" 2>&1; then
      tail -n 20 "${DRILLS_CACHE}/debootstrap-${key}.log" >&2
      log "FAIL: debootstrap failed (log: ${DRILLS_CACHE}/debootstrap-${key}.log)" >&2
      exit 1
    fi
    touch "${dir}/.complete"
  fi
  echo "${dir}/rootfs"
}

# runtime_standin: prints the tag of the local stand-in of
# gcr.io/distroless/cc-debian12:nonroot, building it if needed. The tag
# hashes the recipe, so a change to it makes a new image.
runtime_standin() {
  local here key tag rootfs tar
  here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  key="$(cat "${here}/drills/runtime-standin.py" "${BASH_SOURCE[0]}" | sha256sum | cut -c1-12)"
  tag="splitlyr-drill/distroless-cc-debian12:${key}"
  if ! timeout 30 "${DOCKER}" image inspect "${tag}" >/dev/null 2>&1; then
    rootfs="$(bookworm_rootfs ca-certificates,tzdata,netbase,libgomp1,libssl3)"
    tar="${DRILLS_CACHE}/runtime-standin-${key}.tar"
    python3 "${here}/drills/runtime-standin.py" "${rootfs}" "${tar}" >&2
    # The config distroless' nonroot variant has.
    timeout 120 "${DOCKER}" import \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
      --change 'USER 65532' --change 'WORKDIR /home/nonroot' \
      "${tar}" "${tag}" >/dev/null
    rm -f "${tar}"
    log "built ${tag}" >&2
  fi
  echo "${tag}"
}
