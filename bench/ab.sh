#!/usr/bin/env bash
# bench/ab.sh - A/B of single-stream RETR on loopback: two keepftpd
# binaries (say the main branch's and a change's), and pure-ftpd when
# PF_BIN names an unpacked one (bench/run.sh puts it under
# /var/cache/keepftpd-bench/), interleaved round by round in a rotated
# order, anonymous, one file. Each server runs in its own cgroup v1
# cpuacct group, so the CPU counted is its whole process tree's.
# Prints one CSV line per round and server (round,server,MBps,cpu_s_per_GiB)
# and the medians.
#
#   bash bench/ab.sh OLD_BIN NEW_BIN [ROUNDS [SIZE_MIB]]
#   PF_BIN=/var/cache/keepftpd-bench/pure-ftpd-*/usr/sbin/pure-ftpd bash bench/ab.sh ...
#
# Stops only what it started (by PID), removes its groups, its work
# directory and the `ftp` account if it created it (pure-ftpd's
# anonymous root is the home of `ftp`).
set -euo pipefail

OLD=$1 NEW=$2 ROUNDS=${3:-10} SIZE_MIB=${4:-1024}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
W=$(mktemp -d /var/tmp/kfab.XXXXXX)
CG=/sys/fs/cgroup/cpuacct
declare -A PID=() PORT=()
NAMES=(old new)
[ -n "${PF_BIN:-}" ] && NAMES+=(pure)
MADE_FTP=0

cleanup() {
	local n
	for n in "${!PID[@]}"; do
		kill "${PID[$n]}" 2>/dev/null || true
		wait "${PID[$n]}" 2>/dev/null || true
		if [ -d "$CG/kfab-$n" ]; then
			while read -r p; do kill "$p" 2>/dev/null || true; done \
				<"$CG/kfab-$n/cgroup.procs"
			sleep 0.2
			rmdir "$CG/kfab-$n" 2>/dev/null || true
		fi
	done
	[ "$MADE_FTP" = 1 ] && userdel ftp 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT

cc -O2 -o "$W/kfload" "$ROOT/bench/kfload.c" -lssl -lcrypto -lpthread
mkdir -p "$W/data" "$W/empty"
chmod 755 "$W" "$W/data"
head -c "$((SIZE_MIB * 1048576))" /dev/urandom >"$W/data/big.bin"
chmod 644 "$W/data/big.bin"

port=$((20000 + RANDOM % 9000))
for n in "${NAMES[@]}"; do
	PORT[$n]=$port
	port=$((port + 1))
done
pasv=$((61000 + RANDOM % 20 * 200))

kfconf() {
	cat >"$W/$1.conf" <<CONF
listen = 127.0.0.1:${PORT[$1]}
anonymous_enable = yes
anon_root = $W/data
log_level = warning
pasv_min_port = $2
pasv_max_port = $(($2 + 99))
empty_dir = $W/empty
admin_socket = $W/$1.sock
CONF
}

start() {
	local n=$1
	shift
	mkdir -p "$CG/kfab-$n"
	( echo "$BASHPID" >"$CG/kfab-$n/cgroup.procs"; exec "$@" ) \
		>"$W/$n.log" 2>&1 </dev/null &
	PID[$n]=$!
	for _ in $(seq 50); do
		"$W/kfload" -p "${PORT[$n]}" list / >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	cat "$W/$n.log" >&2
	echo "$n did not start" >&2
	exit 1
}

kfconf old "$pasv"
kfconf new "$((pasv + 100))"
start old "$OLD" -c "$W/old.conf"
start new "$NEW" -c "$W/new.conf"
if [ -n "${PF_BIN:-}" ]; then
	if ! getent passwd ftp >/dev/null; then
		useradd -r -d "$W/data" -s /usr/sbin/nologin ftp
		MADE_FTP=1
	fi
	[ "$(getent passwd ftp | cut -d: -f6)" = "$W/data" ] ||
		{ echo "ftp's home is not $W/data" >&2; exit 1; }
	start pure "$PF_BIN" -S "127.0.0.1,${PORT[pure]}" -e -p 40000:40199 -H -A
fi
cat "$W/data/big.bin" >/dev/null

echo "round,server,MBps,cpu_s_per_GiB"
for ((r = 0; r < ROUNDS; r++)); do
	k=${#NAMES[@]}
	for ((i = 0; i < k; i++)); do
		n=${NAMES[$(((i + r) % k))]}
		c0=$(cat "$CG/kfab-$n/cpuacct.usage")
		out=$("$W/kfload" -p "${PORT[$n]}" retr big.bin)
		c1=$(cat "$CG/kfab-$n/cpuacct.usage")
		mb=$(tr ' ' '\n' <<<"$out" | sed -n 's/^MBps=//p')
		echo "$r,$n,$mb,$(awk -v a="$c0" -v b="$c1" -v s="$SIZE_MIB" \
			'BEGIN {printf "%.3f", (b - a) / 1e9 * 1024 / s}')"
	done
done | tee "$W/ab.csv"
for n in "${NAMES[@]}"; do
	for col in 3 4; do
		awk -F, -v n="$n" -v c="$col" '$2 == n {print $c}' "$W/ab.csv" |
			sort -g | awk '{v[NR] = $1}
			END {
				if (NR % 2) m = v[(NR + 1) / 2]
				else m = (v[NR / 2] + v[NR / 2 + 1]) / 2
				printf "%s ", m
			}'
	done | awk -v n="$n" '{printf "median %s: %s MB/s, %s s CPU/GiB\n", n, $1, $2}'
done
