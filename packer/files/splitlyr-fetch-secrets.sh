#!/usr/bin/env bash
# ExecStartPre of splitlyr.service: fetch the Splitlyr secrets from Google
# Secret Manager using the instance's service account (token from the GCE
# metadata server) and write them as a systemd EnvironmentFile.
#
# Which secrets to read is set by instance metadata (terraform/gce sets it):
#   splitlyr-jwt-secret-id     projects/P/secrets/NAME (or just NAME)
#   splitlyr-mongo-uri-secret-id
# Optional non-secret metadata passed through as configuration:
#   splitlyr-database-name     -> APP__DATABASE__NAME
#   splitlyr-cors-origins      -> APP__CORS__ALLOWED_ORIGINS
#   splitlyr-trusted-proxies   -> APP__RATE_LIMIT__TRUSTED_PROXIES (comma-separated
#                                 addresses and CIDR ranges; terraform/gce sets the
#                                 Google Front End ranges and the LB's address)
#
# Usage: splitlyr-fetch-secrets.sh OUTPUT_FILE
set -euo pipefail
umask 077

out="${1:?usage: splitlyr-fetch-secrets.sh OUTPUT_FILE}"
md="${GCE_METADATA_URL:-http://metadata.google.internal/computeMetadata/v1}"
sm="${SECRET_MANAGER_URL:-https://secretmanager.googleapis.com/v1}"

log() { printf 'splitlyr-fetch-secrets: %s\n' "$*" >&2; }

curl_md() {
  curl --silent --show-error --fail --max-time 5 \
    --retry 10 --retry-delay 1 --retry-connrefused \
    -H 'Metadata-Flavor: Google' "${md}/$1"
}

# Optional attribute: prints nothing (and succeeds) if absent.
attr() {
  curl --silent --fail --max-time 5 --retry 3 --retry-connrefused \
    -H 'Metadata-Flavor: Google' "${md}/instance/attributes/$1" || true
}

project="$(curl_md project/project-id)"
token="$(curl_md instance/service-accounts/default/token | jq -er .access_token)"

access_secret() {
  local id="$1" name payload
  case "${id}" in
    projects/*) name="${id}" ;;
    *) name="projects/${project}/secrets/${id}" ;;
  esac
  # The token goes to curl on stdin (not argv) so it never shows in `ps`.
  payload="$(printf 'header = "Authorization: Bearer %s"\n' "${token}" |
    curl --silent --show-error --fail --max-time 10 \
      --retry 5 --retry-delay 2 --retry-all-errors \
      --config - "${sm}/${name}/versions/latest:access")"
  printf '%s' "${payload}" | jq -er .payload.data | base64 --decode
}

# Emit KEY='value' for systemd. Single quotes keep the value literal; values
# that cannot be represented that way are rejected rather than mangled.
emit() {
  local key="$1" value="$2"
  case "${value}" in
    *"'"* | *$'\n'* | *\\*)
      log "value for ${key} contains a quote, backslash or newline; refusing"
      return 1
      ;;
  esac
  printf "%s='%s'\n" "${key}" "${value}"
}

jwt_id="$(attr splitlyr-jwt-secret-id)"
mongo_id="$(attr splitlyr-mongo-uri-secret-id)"
jwt_id="${jwt_id:-splitlyr-jwt-secret}"
mongo_id="${mongo_id:-splitlyr-mongo-uri}"

jwt="$(access_secret "${jwt_id}")"
mongo="$(access_secret "${mongo_id}")"

if [ "${#jwt}" -lt 32 ]; then
  log "JWT secret ${jwt_id} is shorter than 32 bytes; refusing to start"
  exit 1
fi

tmp="$(mktemp "${out}.XXXXXX")"
trap 'rm -f "${tmp}"' EXIT
{
  emit APP__JWT__SECRET "${jwt}"
  emit APP__DATABASE__URI "${mongo}"
  db_name="$(attr splitlyr-database-name)"
  [ -z "${db_name}" ] || emit APP__DATABASE__NAME "${db_name}"
  cors="$(attr splitlyr-cors-origins)"
  [ -z "${cors}" ] || emit APP__CORS__ALLOWED_ORIGINS "${cors}"
  proxies="$(attr splitlyr-trusted-proxies)"
  [ -z "${proxies}" ] || emit APP__RATE_LIMIT__TRUSTED_PROXIES "${proxies}"
} >"${tmp}"
chmod 0600 "${tmp}"
mv -f "${tmp}" "${out}"
trap - EXIT
log "wrote $(wc -l <"${out}") settings to ${out} (secrets: ${jwt_id}, ${mongo_id})"
