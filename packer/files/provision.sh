#!/usr/bin/env bash
# Runs as root on the Packer build VM. Installs the Splitlyr release binary,
# its configuration, a dedicated system user and the hardened systemd unit.
# Usage: provision.sh STAGING_DIR
set -euo pipefail

staging="${1:?usage: provision.sh STAGING_DIR}"
export DEBIAN_FRONTEND=noninteractive

# curl + jq: used by splitlyr-fetch-secrets.sh (metadata server, Secret Manager).
apt-get update -q
apt-get install -y -q --no-install-recommends ca-certificates curl jq
apt-get -y -q upgrade
apt-get clean
rm -rf /var/lib/apt/lists/*

# Dedicated system user: no login shell, no home directory.
if ! getent passwd splitlyr >/dev/null; then
  useradd --system --user-group --no-create-home \
    --home-dir /nonexistent --shell /usr/sbin/nologin splitlyr
fi

install -o root -g root -m 0755 "${staging}/splitlyr" /usr/local/bin/splitlyr
install -d -o root -g root -m 0755 /usr/local/libexec/splitlyr
install -o root -g root -m 0755 "${staging}/splitlyr-fetch-secrets.sh" \
  /usr/local/libexec/splitlyr/splitlyr-fetch-secrets.sh

# Config is root-owned and world-readable (it holds no secret); the service
# user cannot change it. Production's files only: the development ones
# (local.toml, test.toml) carry secrets that are in the repository.
for dev in local.toml test.toml; do
  if [ -e "${staging}/config/${dev}" ]; then
    echo "refusing to install config/${dev}: it holds development secrets" >&2
    exit 1
  fi
done
rm -rf /etc/splitlyr
install -d -o root -g root -m 0755 /etc/splitlyr
install -o root -g root -m 0644 "${staging}/config/default.toml" "${staging}/config/production.toml" \
  /etc/splitlyr/
chown -R root:root /etc/splitlyr
find /etc/splitlyr -type d -exec chmod 0755 {} +
find /etc/splitlyr -type f -exec chmod 0644 {} +

install -o root -g root -m 0644 "${staging}/splitlyr.service" \
  /etc/systemd/system/splitlyr.service
systemctl daemon-reload
systemctl enable splitlyr.service
# Not started here: the build VM has no secrets. It starts on first boot of
# an instance created from the image.

# Sanity checks on what was installed.
/usr/local/bin/splitlyr --version >/dev/null 2>&1 || file /usr/local/bin/splitlyr || true
systemd-analyze verify /etc/systemd/system/splitlyr.service

rm -rf "${staging}"
echo "splitlyr installed"
