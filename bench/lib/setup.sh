# shellcheck shell=bash
# bench/lib/setup.sh - dependencies, the keepftpd build, the unpacked peers,
# the kfbench account, the data files and the certificate.
# Sourced by bench/run.sh (set -euo pipefail there); uses its globals:
# ROOT, W, DATA, CACHE, and fills in KF_BIN, VS_BIN, PF_BIN, VS_VER, PF_VER,
# KFB_UID, KFB_GID, KFB_PW, KFB_HASH, CREATED_USERS.

log() { printf '[bench %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

# Debian packages the bench needs beside the build dependencies.
BENCH_PKGS=(curl openssl procps iproute2 coreutils passwd
	    libpam-modules libpam-runtime libssl-dev build-essential)

install_deps() {
	log "dependencies: scripts/deps.sh and ${BENCH_PKGS[*]}"
	bash "$ROOT/scripts/deps.sh"
	local missing=() p
	for p in "${BENCH_PKGS[@]}"; do
		dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed' ||
			missing+=("$p")
	done
	if [ "${#missing[@]}" -gt 0 ]; then
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" \
			>"$W/apt.log" 2>&1 || { cat "$W/apt.log" >&2; die "apt-get install failed"; }
	fi
}

build_keepftpd() {
	# The release build (-O3 and the project's hardening flags), kept in
	# its own directory so that it never mixes with a debug build.
	local b="$ROOT/build-bench"
	if [ ! -f "$b/build.ninja" ]; then
		log "meson setup build-bench --buildtype=release"
		meson setup "$b" "$ROOT" --buildtype=release >"$W/meson.log" 2>&1 ||
			{ cat "$W/meson.log" >&2; die "meson setup failed"; }
	else
		meson configure "$b" -Dbuildtype=release >"$W/meson.log" 2>&1 ||
			{ cat "$W/meson.log" >&2; die "meson configure failed"; }
	fi
	log "ninja -C build-bench keepftpd keepftpd-worker"
	ninja -C "$b" keepftpd keepftpd-worker >"$W/ninja.log" 2>&1 ||
		{ tail -40 "$W/ninja.log" >&2; die "keepftpd build failed"; }
	KF_BIN="$b/keepftpd"
	[ -x "$KF_BIN" ] || die "no $KF_BIN after the build"
}

# build_base REV: keepftpd at git revision REV, from a clean export of
# that revision (never the work tree), release build like build-bench.
# Sets KF_BASE_BIN and KF_BASE_DESC.
build_base() {
	local rev=$1 b="$ROOT/build-bench-base" src commit
	commit=$(git -C "$ROOT" rev-parse --verify "$rev^{commit}") ||
		die "--base: no such revision: $rev"
	src="$b/src-$commit"
	if [ ! -f "$b/build-$commit/build.ninja" ]; then
		rm -rf "$b"
		mkdir -p "$src"
		git -C "$ROOT" archive "$commit" | tar -x -C "$src" ||
			die "--base: git archive $rev failed"
		log "meson setup build-bench-base ($rev = ${commit:0:7})"
		meson setup "$b/build-$commit" "$src" --buildtype=release \
			>"$W/meson-base.log" 2>&1 ||
			{ cat "$W/meson-base.log" >&2; die "meson setup (base) failed"; }
	fi
	log "ninja (base ${commit:0:7})"
	ninja -C "$b/build-$commit" >"$W/ninja-base.log" 2>&1 ||
		{ tail -40 "$W/ninja-base.log" >&2; die "keepftpd build (base) failed"; }
	KF_BASE_BIN="$b/build-$commit/keepftpd"
	[ -x "$KF_BASE_BIN" ] || die "no $KF_BASE_BIN after the build"
	# shellcheck disable=SC2034 # read by report.sh
	KF_BASE_DESC="$rev (commit ${commit:0:7})"
}

build_loadgen() {
	[ -f "$ROOT/bench/kfload.c" ] || die "bench/kfload.c missing"
	[ -f "$ROOT/bench/rawsend.c" ] || die "bench/rawsend.c missing"
	cc -O2 -Wall -Wextra -o "$W/kfload" "$ROOT/bench/kfload.c" \
		-lssl -lcrypto -lpthread || die "kfload build failed"
	cc -O2 -o "$W/rawsend" "$ROOT/bench/rawsend.c" || die "rawsend build failed"
}

# apt-get download PKG into $CACHE unless a .deb of it is there already.
fetch_deb() {
	local pkg=$1 deb
	deb=$(find "$CACHE" -maxdepth 1 -name "${pkg}_*.deb" -print -quit)
	if [ -z "$deb" ]; then
		log "apt-get download $pkg"
		if ! (cd "$CACHE" && apt-get download "$pkg" >/dev/null 2>&1); then
			apt-get update -qq
			(cd "$CACHE" && apt-get download "$pkg" >/dev/null 2>&1) ||
				die "apt-get download $pkg failed"
		fi
		deb=$(find "$CACHE" -maxdepth 1 -name "${pkg}_*.deb" -print -quit)
	fi
	[ -n "$deb" ] || die "no .deb for $pkg in $CACHE"
	printf '%s\n' "$deb"
}

# Install the library packages (lib*) a .deb depends on: libraries do not
# conflict, the servers themselves are never installed.
install_lib_deps() {
	local deb=$1 dep missing=()
	while read -r dep; do
		case "$dep" in
		lib*) dpkg -s "$dep" 2>/dev/null |
			grep -q '^Status: install ok installed' || missing+=("$dep") ;;
		esac
	done < <(dpkg-deb -f "$deb" Depends | tr ',|' '\n\n' |
		 sed -e 's/(.*)//' -e 's/:any//' -e 's/^ *//' -e 's/ *$//' | grep -v '^$')
	if [ "${#missing[@]}" -gt 0 ]; then
		log "library packages for $(basename "$deb"): ${missing[*]}"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" \
			>>"$W/apt.log" 2>&1 || { cat "$W/apt.log" >&2; die "apt-get install failed"; }
	fi
}

# unpack_peer PKG BINPATH -> prints the unpacked binary's path
unpack_peer() {
	local pkg=$1 rel=$2 deb dir ver
	deb=$(fetch_deb "$pkg")
	ver=$(dpkg-deb -f "$deb" Version)
	dir="$CACHE/$pkg-$ver"
	if [ ! -x "$dir/$rel" ]; then
		rm -rf "$dir"
		mkdir -p "$dir"
		dpkg -x "$deb" "$dir"
	fi
	install_lib_deps "$deb"
	if ldd "$dir/$rel" | grep -q 'not found'; then
		ldd "$dir/$rel" >&2
		die "$pkg: libraries missing for $dir/$rel"
	fi
	printf '%s %s\n' "$dir/$rel" "$ver"
}

unpack_peers() {
	mkdir -p "$CACHE"
	local r
	r=$(unpack_peer vsftpd usr/sbin/vsftpd)
	VS_BIN=${r% *}; VS_VER=${r#* }
	r=$(unpack_peer pure-ftpd usr/sbin/pure-ftpd)
	PF_BIN=${r% *}; PF_VER=${r#* }
	log "vsftpd $VS_VER: $VS_BIN"
	log "pure-ftpd $PF_VER: $PF_BIN"
}

# The bench account: same name, same sha512-crypt hash for all three.
setup_accounts() {
	if ! getent passwd kfbench >/dev/null; then
		useradd --system --no-create-home --home-dir "$DATA" \
			--shell /usr/sbin/nologin kfbench
		CREATED_USERS+=(kfbench)
	else
		usermod -d "$DATA" kfbench
	fi
	KFB_PW=$(openssl rand -hex 16)
	KFB_HASH=$(printf '%s\n' "$KFB_PW" | openssl passwd -6 -stdin)
	usermod -p "$KFB_HASH" kfbench
	# pure-ftpd's unix login wants the account's shell in /etc/shells
	# (getusershell); add nologin for the run, removed at exit.
	if ! grep -qx /usr/sbin/nologin /etc/shells; then
		echo /usr/sbin/nologin >>/etc/shells
		SHELLS_ADDED=1
	fi
	KFB_UID=$(id -u kfbench)
	KFB_GID=$(id -g kfbench)
	# pure-ftpd serves anonymous sessions in the home of `ftp`; vsftpd
	# runs them as ftp_username (ftp). Any existing home will do.
	if ! getent passwd ftp >/dev/null; then
		mkdir -p "$W/anon"
		useradd --system --no-create-home --home-dir "$W/anon" \
			--shell /usr/sbin/nologin ftp
		CREATED_USERS+=(ftp)
	fi
	local fh
	fh=$(getent passwd ftp | cut -d: -f6)
	[ -d "$fh" ] || mkdir -p "$fh"
	printf 'kfbench:%s:%s:%s:%s:write\n' "$KFB_HASH" "$KFB_UID" "$KFB_GID" \
		"$DATA" >"$W/keepftpd.users"
	chmod 600 "$W/keepftpd.users"
}

# make_random FILE MIB
make_random() {
	head -c "$(($2 * 1048576))" /dev/urandom >"$1"
	chmod 644 "$1"
}

setup_files() {
	log "data: big.bin ${SIZE_MIB} MiB, p0..p7.bin ${PAR_MIB} MiB, dir10k/ ${ENTRIES} entries"
	mkdir -p "$DATA/dir10k" "$DATA/up"
	chmod 755 "$DATA" "$DATA/dir10k"
	chown kfbench:"$KFB_GID" "$DATA/up"
	chmod 755 "$DATA/up"
	printf 'keepftpd bench %s\n' "$RUN_ID" >"$DATA/hello.txt"
	chmod 644 "$DATA/hello.txt"
	make_random "$DATA/big.bin" "$SIZE_MIB"
	local i sz name
	for i in 0 1 2 3 4 5 6 7; do
		make_random "$DATA/p$i.bin" "$PAR_MIB"
	done
	# Varied names (lengths, digits, dots) and sizes (0 B .. ~8 KiB).
	for ((i = 0; i < ENTRIES; i++)); do
		case $((i % 4)) in
		0) printf -v name 'f%05d.txt' "$i" ;;
		1) printf -v name 'report-%d-final.pdf' "$i" ;;
		2) printf -v name 'IMG_%06d.JPG' "$((i * 7))" ;;
		*) printf -v name 'data.%d.backup.tar.gz' "$i" ;;
		esac
		sz=$(((i * 2654435761) % 8192 * (i % 3) / 2))
		printf '%*s' "$sz" '' >"$DATA/dir10k/$name"
	done
}

setup_cert() {
	openssl req -x509 -nodes -days 2 -newkey rsa:2048 \
		-keyout "$W/key.pem" -out "$W/cert.pem" -subj /CN=localhost \
		>/dev/null 2>&1 || die "openssl req failed"
	chmod 600 "$W/key.pem"
	chmod 644 "$W/cert.pem"
}

# Undo what setup_accounts changed in /etc/shells.
restore_shells() {
	if [ "${SHELLS_ADDED:-0}" -eq 1 ]; then
		sed -i '\|^/usr/sbin/nologin$|d' /etc/shells
		SHELLS_ADDED=0
	fi
}
