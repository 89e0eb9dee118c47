#!/usr/bin/env bash
# Build the Debian package (debian/) of this tree: keepftpd_*.deb in
# OUTDIR (default: build-deb/), then list its contents and run lintian.
#   bash scripts/build-deb.sh [OUTDIR]
# Installs what it needs with apt-get when something is missing (as
# root); builds in a copy of the tree (git's files, committed or not) so
# that dpkg-buildpackage's output lands neither in the tree nor beside it.
# DEB_BUILD_OPTIONS defaults to nocheck (scripts/test.sh runs the tests);
# set DEB_BUILD_OPTIONS= to run them in the package build too.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-$ROOT/build-deb}
export DEB_BUILD_OPTIONS=${DEB_BUILD_OPTIONS-nocheck}

need=(dpkg-dev debhelper lintian)
missing=()
for p in "${need[@]}"; do
	dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed' ||
		missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
	echo "build-deb.sh: installing ${missing[*]}" >&2
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends "${missing[@]}"
fi
if ! (cd "$ROOT" && dpkg-checkbuilddeps >/dev/null 2>&1); then
	echo "build-deb.sh: installing the Build-Depends of debian/control" >&2
	(cd "$ROOT" && DEBIAN_FRONTEND=noninteractive apt-get build-dep -y -qq ./)
fi

version=$(cd "$ROOT" && dpkg-parsechangelog -S Version)
upstream=${version%-*}
work=$(mktemp -d /tmp/keepftpd-deb.XXXXXX)
trap 'rm -rf "$work"' EXIT
src=$work/keepftpd-$upstream
mkdir -p "$src"
if git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard |
		tar --null --ignore-failed-read -T - -cf - 2>/dev/null) |
		tar -xf - -C "$src"
else	# not a git checkout: the tree without build directories
	(cd "$ROOT" && tar --exclude='./build*' --exclude='./obj-*' -cf - .) |
		tar -xf - -C "$src"
fi

(cd "$src" && dpkg-buildpackage -b -us -uc -j"$(nproc)") >"$work/build.log" 2>&1 || {
	tail -n 60 "$work/build.log" >&2
	echo "build-deb.sh: dpkg-buildpackage failed" >&2
	exit 1
}
mkdir -p "$OUT"
rm -f "$OUT"/keepftpd_*.deb "$OUT"/keepftpd-dbgsym_*.deb
cp "$work"/keepftpd_*.deb "$OUT"/
cp "$work"/keepftpd-dbgsym_*.deb "$OUT"/ 2>/dev/null || true
deb=$(ls "$OUT"/keepftpd_*.deb)
echo "built: $deb"
dpkg-deb -c "$deb"
echo "lintian:"
# lintian exits non-zero on errors (tags of severity error) only
lintian --fail-on error "$deb"
echo "build-deb.sh: ok"
