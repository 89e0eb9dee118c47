#!/usr/bin/env bash
# Install the Debian 12 packages needed to build and test keepftpd.
# Idempotent: does nothing when every package is already installed.
set -euo pipefail

PKGS=(
  build-essential meson ninja-build pkg-config
  libssl-dev libsodium-dev libcap-dev libseccomp-dev libpam0g-dev libcrypt-dev zlib1g-dev
  libpq-dev postgresql
  libsystemd-dev systemd
  libcmocka-dev python3-pytest clang clang-format clang-tidy
  curl lftp tnftp ncftp wget
  procps iproute2 openssl util-linux passwd libpam-modules
  fail2ban haproxy
  mandoc groff-base man-db dpkg-dev debhelper lintian
)
# installed without its recommendations (prometheus-node-exporter)
NORECS=(prometheus)
# libsystemd-dev: sd_notify and socket activation (meson -Dsystemd=auto);
# systemd: systemd-socket-activate and systemd-analyze (tests/e2e/test_systemd.py).
# mandoc, groff-base, man-db: the man page lint (tests/e2e/test_install.py);
# dpkg-dev, debhelper, lintian: the Debian package (scripts/build-deb.sh).
# libpq-dev: kf-pgauth (users_backend = postgresql, keepftpd-pgauth);
# postgresql: a real database for tests/e2e/test_pgusers.py (initdb and
# pg_ctl in a temp dir as uid 65534); its service must not start.
# haproxy: a real PROXY protocol v2 sender (tests/e2e/test_proxy.py, the
# 3-node test tests/e2e/test_cluster.py, bench/cluster.sh), run
# by the test in a temp dir; its service must not start either.
# fail2ban is needed for fail2ban-regex only (tests/e2e/test_fail2ban.py):
# its service must not start. prometheus is needed for promtool only
# (`promtool check metrics`, tests/e2e/test_metrics.py; no smaller
# Debian 12 package ships it: 19 MB to download, about 10 s to install):
# its service must not start either. Without a policy-rc.d (Docker
# images have one), one that says "no" is put in place for the install
# and removed.

missing=()
for p in "${PKGS[@]}" "${NORECS[@]}"; do
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
policy=/usr/sbin/policy-rc.d
own_policy=no
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  own_policy=yes
  trap 'rm -f "$policy"' EXIT
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${PKGS[@]}"
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  "${NORECS[@]}"
if [ "$own_policy" = yes ]; then
  rm -f "$policy"
fi
# the service, if the package enabled it: stopped, never left running
if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
  systemctl disable --now fail2ban prometheus haproxy postgresql >/dev/null 2>&1 || true
fi
