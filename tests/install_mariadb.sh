#!/usr/bin/env bash
# Installs Debian's mariadb-server for the ML Metadata tests (pipeline/metadata_test.py starts its own server from
# it, in a temporary folder). Needs root and Debian's package mirrors; does nothing if mariadbd is already there.
set -euo pipefail
if command -v mariadbd >/dev/null || [[ -x /usr/sbin/mariadbd ]]; then
  exit 0
fi
if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
  echo "note: no MariaDB server and no root/apt-get to install one: the ML Metadata MySQL test will be skipped" >&2
  exit 0
fi
# The package would start the system service; without systemd that fails noisily. Services are started by tests.
[[ -e /usr/sbin/policy-rc.d ]] || { printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; }
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mariadb-server >/dev/null
echo "installed $(/usr/sbin/mariadbd --version)"
