#!/usr/bin/env bash
# bench/cluster.sh - keepftpd behind HAProxy against keepftpd direct, in
# the same run (issue 17, item 6). As root, on Debian 12 with haproxy:
#
#   bash bench/cluster.sh [--rounds N] [--seconds S] [--clients C]
#                         [--size-mib N] [--bin KEEPFTPD]
#
# Three keepftpd nodes share one data directory; node n1 has a direct
# listener beside its proxy listener. haproxy (send-proxy-v2) serves two
# front ends: one to n1 alone, one balancing n1, n2, n3 (round robin);
# their passive connections go straight to the node (topology (a) of
# docs/SCALE-OUT.md). A fourth node, n4 on 127.0.0.14 with pasv_proxy,
# has a third front end and its passive range forwarded by haproxy
# (topology (b)): data through haproxy too.
# For each of the four paths, interleaved round by round: anonymous logins per second
# (kfload sessions: C clients, login + QUIT in a loop, S seconds) and
# the RETR throughput of one --size-mib file as a user. Prints a markdown
# table: the median of the rounds, min-max in brackets. Bounded: rounds
# <= 10, seconds <= 60, clients <= 256, size <= 4096 MiB, and every
# kfload run under `timeout`. Not run by the test suite.
# --bin: that keepftpd (default: build-bench/, the release build of
# bench/run.sh, built when needed). KEEP_WORKDIR=1 keeps the work
# directory (configurations, logs). Only processes this script starts
# are stopped, by PID.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
ROUNDS=5
SECONDS_RUN=5
CLIENTS=16
SIZE_MIB=256
KF_BIN=
HAPROXY=$(command -v haproxy || echo /usr/sbin/haproxy)

usage() {
	awk 'NR > 1 && /^#/ {sub(/^# ?/, ""); print; next} NR > 1 {exit}' "$0"
	exit "${1:-2}"
}

# need_num NAME VALUE MAX
need_num() {
	case "$2" in
	'' | *[!0-9]*) printf 'cluster: %s needs a number, got "%s"\n' "$1" "$2" >&2; exit 2 ;;
	esac
	if [ "$2" -lt 1 ] || [ "$2" -gt "$3" ]; then
		printf 'cluster: %s must be 1 to %s\n' "$1" "$3" >&2
		exit 2
	fi
}

while [ $# -gt 0 ]; do
	case "$1" in
	--rounds) need_num "$1" "${2:-}" 10; ROUNDS=$2; shift 2 ;;
	--seconds) need_num "$1" "${2:-}" 60; SECONDS_RUN=$2; shift 2 ;;
	--clients) need_num "$1" "${2:-}" 256; CLIENTS=$2; shift 2 ;;
	--size-mib) need_num "$1" "${2:-}" 4096; SIZE_MIB=$2; shift 2 ;;
	--bin)
		[ -x "${2:-}" ] || { echo "cluster: --bin needs an executable" >&2; exit 2; }
		KF_BIN=$(cd "$(dirname "$2")" && pwd)/$(basename "$2"); shift 2 ;;
	-h | --help) usage 0 ;;
	*) printf 'cluster: unknown argument "%s"\n' "$1" >&2; usage 2 ;;
	esac
done
[ "$(id -u)" -eq 0 ] || { echo "cluster: run as root (privilege-separated nodes)" >&2; exit 2; }
[ -x "$HAPROXY" ] || { echo "cluster: haproxy is not installed (apt-get install haproxy)" >&2; exit 2; }

# shellcheck source=bench/lib/setup.sh
. "$ROOT/bench/lib/setup.sh"	# log, die, build_keepftpd, build_loadgen, make_random

W=$(mktemp -d /tmp/kf-cluster-bench.XXXXXX)
chmod 755 "$W"
PIDS=()

cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
	done
	for p in "${PIDS[@]}"; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null || true
	done
	if [ "${KEEP_WORKDIR:-0}" = 1 ]; then
		log "work directory kept: $W"
	else
		rm -rf "$W"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A free TCP port on 127.0.0.1 (the kernel's pick), not handed out twice.
USED=" "
free_port() {
	local p
	while :; do
		p=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
		case "$USED" in *" $p "*) continue ;; esac
		USED="$USED$p "
		echo "$p"
		return
	done
}

# wait_port PORT: until something accepts on 127.0.0.1:PORT (10 s).
wait_port() {
	local i
	for i in $(seq 100); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
		sleep 0.1
	done
	return 1
}

if [ -z "$KF_BIN" ]; then
	build_keepftpd
fi
build_loadgen
log "keepftpd: $KF_BIN"

# -- files, user ---------------------------------------------------------
DATA=$W/data
mkdir -p "$DATA"
chmod 755 "$DATA"
make_random "$DATA/big.bin" "$SIZE_MIB"
echo "keepftpd cluster bench" >"$DATA/hello.txt"
chmod 644 "$DATA/hello.txt"
chown -R 65534:65534 "$DATA"
PW=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
printf '%s\n' "$PW" | "$KF_BIN" user -f "$W/users" add bench --home "$DATA" \
	--uid 65534 --gid 65534 >/dev/null 2>"$W/useradd.err" ||
	{ cat "$W/useradd.err" >&2; die "keepftpd user add failed"; }
chmod 644 "$W/users"

# -- nodes ---------------------------------------------------------------
# Passive ranges below the kernel's ephemeral ports, one per node.
PASV_LO=$((21000 + $$ % 40 * 200))
DIRECT=$(free_port)
declare -a NPORT
for i in 1 2 3; do
	NPORT[i]=$(free_port)
	lo=$((PASV_LO + (i - 1) * 60))
	{
		echo "listen = 127.0.0.1:${NPORT[$i]} proxy"
		[ "$i" -ne 1 ] || echo "listen = 127.0.0.1:$DIRECT"
		cat <<CONF
proxy_from = 127.0.0.1
pasv_min_port = $lo
pasv_max_port = $((lo + 59))
users_file = $W/users
anonymous_enable = yes
anon_root = $DATA
max_clients = 5000
max_per_ip = 5000
log = stderr
log_level = warning
admin_socket = $W/n$i/admin.sock
CONF
	} >"$W/n$i.conf"
	mkdir -p "$W/n$i"
	chmod 700 "$W/n$i"
	"$KF_BIN" -t -c "$W/n$i.conf" >"$W/n$i.check" 2>&1 ||
		{ cat "$W/n$i.check" >&2; die "keepftpd -t rejects n$i.conf"; }
	"$KF_BIN" -c "$W/n$i.conf" </dev/null >"$W/n$i.out" 2>"$W/n$i.log" &
	PIDS+=($!)
done
# n4: topology (b), its own address (haproxy binds its passive range on
# 127.0.0.1, where the client connects: PASV and EPSV name the balancer)
N4PORT=$(free_port)
N4LO=$((PASV_LO + 3 * 60))
cat >"$W/n4.conf" <<CONF
listen = 127.0.0.14:$N4PORT proxy
proxy_from = 127.0.0.1
pasv_proxy = yes
pasv_address = 127.0.0.1
pasv_min_port = $N4LO
pasv_max_port = $((N4LO + 59))
users_file = $W/users
anonymous_enable = yes
anon_root = $DATA
max_clients = 5000
max_per_ip = 5000
log = stderr
log_level = warning
admin_socket = $W/n4/admin.sock
CONF
mkdir -p "$W/n4"
chmod 700 "$W/n4"
"$KF_BIN" -t -c "$W/n4.conf" >"$W/n4.check" 2>&1 ||
	{ cat "$W/n4.check" >&2; die "keepftpd -t rejects n4.conf"; }
"$KF_BIN" -c "$W/n4.conf" </dev/null >"$W/n4.out" 2>"$W/n4.log" &
PIDS+=($!)
wait_port "$DIRECT" || die "node n1 does not listen: $(tail -5 "$W/n1.log")"
# ready: each node answers on its admin socket
for i in 1 2 3 4; do
	for _ in $(seq 100); do
		"$KF_BIN" who -s "$W/n$i/admin.sock" >/dev/null 2>&1 && continue 2
		sleep 0.1
	done
	die "node n$i does not answer: $(tail -5 "$W/n$i.log")"
done

# -- haproxy -------------------------------------------------------------
LB1=$(free_port)
LB3=$(free_port)
LB4=$(free_port)
cat >"$W/haproxy.cfg" <<CFG
global
    maxconn 4096
defaults
    mode tcp
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    default-server send-proxy-v2 check check-send-proxy inter 2s
listen one
    bind 127.0.0.1:$LB1
    server n1 127.0.0.1:${NPORT[1]}
listen three
    bind 127.0.0.1:$LB3
    balance roundrobin
    server n1 127.0.0.1:${NPORT[1]}
    server n2 127.0.0.1:${NPORT[2]}
    server n3 127.0.0.1:${NPORT[3]}
listen four
    bind 127.0.0.1:$LB4
    server n4 127.0.0.14:$N4PORT source 127.0.0.1
listen four-pasv
    bind 127.0.0.1:$N4LO-$((N4LO + 59))
    server n4 127.0.0.14 send-proxy-v2 source 127.0.0.1 no-check
CFG
"$HAPROXY" -db -f "$W/haproxy.cfg" </dev/null >"$W/haproxy.log" 2>&1 &
PIDS+=($!)
wait_port "$LB3" || die "haproxy does not listen: $(tail -5 "$W/haproxy.log")"
HA_VER=$("$HAPROXY" -v | awk 'NR == 1 {print $3}')

# -- measurements ----------------------------------------------------------
PATHS=(direct lb1 lb3 lb4)
declare -A PORT_OF=([direct]=$DIRECT [lb1]=$LB1 [lb3]=$LB3 [lb4]=$LB4)
declare -A LABEL=([direct]="direct to n1" [lb1]="haproxy -> n1"
	[lb3]="haproxy -> n1, n2, n3" [lb4]="haproxy -> n4, data too (pasv_proxy)")
declare -A SESS XFER

kv() { printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

kfl() {
	timeout $((SECONDS_RUN + 120)) "$W/kfload" -h 127.0.0.1 "$@" 2>"$W/kfload.err" ||
		die "kfload $* failed: $(head -c 300 "$W/kfload.err")"
}

# a first pass checks every path (and warms the page cache)
for p in "${PATHS[@]}"; do
	line=$(kfl -p "${PORT_OF[$p]}" retr hello.txt)
	[ "$(kv "$line" bytes)" = 23 ] || die "$p: hello.txt: $line"
	kfl -p "${PORT_OF[$p]}" -u bench -w "$PW" retr big.bin >/dev/null
done

for r in $(seq "$ROUNDS"); do
	for p in "${PATHS[@]}"; do
		line=$(kfl -p "${PORT_OF[$p]}" sessions "$CLIENTS" "$SECONDS_RUN")
		[ "$(kv "$line" failed)" = 0 ] || log "$p: $(kv "$line" failed) failed sessions (round $r)"
		SESS[$p]="${SESS[$p]:-} $(kv "$line" rate)"
		line=$(kfl -p "${PORT_OF[$p]}" -u bench -w "$PW" retr big.bin)
		[ "$(kv "$line" bytes)" = $((SIZE_MIB * 1048576)) ] ||
			die "$p: big.bin came short: $line"
		XFER[$p]="${XFER[$p]:-} $(kv "$line" MBps)"
		log "round $r $p: sessions/s$(echo "${SESS[$p]}" | awk '{print " " $NF}'), RETR MB/s$(echo "${XFER[$p]}" | awk '{print " " $NF}')"
	done
done

# median [min-max] of a list
stat() {
	echo "$1" | tr ' ' '\n' | awk 'NF' | sort -g | awk '{v[NR] = $1}
		END {m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
		printf "%.1f [%.1f-%.1f]", m, v[1], v[NR]}'
}

printf '\nkeepftpd cluster bench: %s, haproxy %s, %s rounds, %s CPUs, %s\n\n' \
	"$("$KF_BIN" --version 2>/dev/null | awk 'NR == 1')" "$HA_VER" \
	"$ROUNDS" "$(nproc)" "$(date -u +%Y-%m-%dT%H:%MZ)"
printf '| path | logins/s (anonymous, %s clients, %s s) | RETR MB/s (%s MiB) |\n' \
	"$CLIENTS" "$SECONDS_RUN" "$SIZE_MIB"
printf '|---|---|---|\n'
for p in "${PATHS[@]}"; do
	printf '| %s | %s | %s |\n' "${LABEL[$p]}" "$(stat "${SESS[$p]}")" "$(stat "${XFER[$p]}")"
done
printf '\nMB = 10^6 bytes; median of the rounds [min-max]; all on loopback, one machine.\n'
printf 'Data connections go straight to the node (PASV: its own address) but for n4, whose\n'
printf 'passive range haproxy forwards with a PROXY v2 header (pasv_proxy).\n'
