#!/usr/bin/env bash
# Install the Debian 12 packages needed to build and test keepftpd.
# Idempotent: does nothing when every package is already installed.
set -euo pipefail

PKGS=(
  build-essential meson ninja-build pkg-config
  libssl-dev libsodium-dev libcap-dev libseccomp-dev libpam0g-dev libcrypt-dev zlib1g-dev
  libcmocka-dev python3-pytest clang
  curl lftp tnftp ncftp wget
  procps iproute2 openssl util-linux passwd libpam-modules
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed'; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "deps.sh: missing packages: ${missing[*]} (run as root to install)" >&2
  exit 1
fi

echo "deps.sh: installing: ${missing[*]}" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${PKGS[@]}"
