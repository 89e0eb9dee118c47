#!/usr/bin/env bash
# bench/logcost.sh - the cost of logging (issue 16): one keepftpd binary
# under four log set-ups, measured in turns, round by round:
#   warn   log_level = warning, stderr (next to nothing is logged)
#   stderr log_level = info to stderr (a file): how it was before
#   text   log_file (text) and xferlog_file, written by kf-log
#   json   log_file (json) and xferlog_file, written by kf-log
#   metrics log_level = warning and metrics_listen, scraped once a second
# Sessions per second (kfload sessions: login, PWD, QUIT; C clients for
# S seconds) and single-stream RETR of a SIZE_MIB file (MB/s), anonymous.
# Prints one CSV line per round, set-up and measure, then the medians.
#
#   bash bench/logcost.sh BIN [ROUNDS [SIZE_MIB [CLIENTS [SECONDS]]]]
#
# Stops only what it started (by PID); removes its work directory.
set -euo pipefail

BIN=$1 ROUNDS=${2:-3} SIZE_MIB=${3:-512} C=${4:-8} S=${5:-5}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
W=$(mktemp -d /var/tmp/kflog.XXXXXX)
NAMES=(warn stderr text json metrics)
declare -A PID=() PORT=()

cleanup() {
	local n
	for n in "${!PID[@]}"; do
		kill "${PID[$n]}" 2>/dev/null || true
		wait "${PID[$n]}" 2>/dev/null || true
	done
	rm -rf "$W"
}
trap cleanup EXIT

cc -O2 -o "$W/kfload" "$ROOT/bench/kfload.c" -lssl -lcrypto -lpthread
mkdir -p "$W/data" "$W/empty" "$W/logs"
chmod 755 "$W" "$W/data"
head -c "$((SIZE_MIB * 1048576))" /dev/urandom >"$W/data/big.bin"
chmod 644 "$W/data/big.bin"

port=$((20000 + RANDOM % 9000))
pasv=$((61000 + RANDOM % 20 * 200))
for n in "${NAMES[@]}"; do
	PORT[$n]=$port
	port=$((port + 1))
	{
		cat <<CONF
listen = 127.0.0.1:${PORT[$n]}
anonymous_enable = yes
anon_root = $W/data
pasv_min_port = $pasv
pasv_max_port = $((pasv + 49))
empty_dir = $W/empty
admin_socket = $W/$n.sock
max_clients = 1000
max_per_ip = 1000
max_prelogin = 1000
CONF
		case $n in
		warn) echo "log_level = warning" ;;
		stderr) echo "log_level = info" ;;
		text | json)
			echo "log_level = info"
			echo "log_file = $W/logs/$n.log"
			echo "log_format = $n"
			echo "xferlog_file = $W/logs/$n.xferlog"
			;;
		metrics)
			echo "log_level = warning"
			echo "metrics_listen = 127.0.0.1:$((PORT[$n] + 500))"
			;;
		esac
	} >"$W/$n.conf"
	pasv=$((pasv + 50))
	"$BIN" -c "$W/$n.conf" >"$W/$n.stderr" 2>&1 </dev/null &
	PID[$n]=$!
	for _ in $(seq 50); do
		"$W/kfload" -p "${PORT[$n]}" list / >/dev/null 2>&1 && break
		sleep 0.1
	done
done
cat "$W/data/big.bin" >/dev/null
# Prometheus' way: one scrape a second for the whole run
(
	while sleep 1; do
		curl -s -o /dev/null "http://127.0.0.1:$((PORT[metrics] + 500))/metrics" || true
	done
) &
PID[scraper]=$!

echo "round,setup,sessions_per_s,retr_MBps"
for ((r = 0; r < ROUNDS; r++)); do
	k=${#NAMES[@]}
	for ((i = 0; i < k; i++)); do
		n=${NAMES[$(((i + r) % k))]}
		s=$("$W/kfload" -p "${PORT[$n]}" sessions "$C" "$S" |
			tr ' ' '\n' | sed -n 's/^rate=//p')
		mb=$("$W/kfload" -p "${PORT[$n]}" retr big.bin | tr ' ' '\n' |
			sed -n 's/^MBps=//p')
		echo "$r,$n,$s,$mb"
	done
done | tee "$W/lc.csv"
for n in "${NAMES[@]}"; do
	for col in 3 4; do
		awk -F, -v n="$n" -v c="$col" '$2 == n {print $c}' "$W/lc.csv" |
			sort -g | awk '{v[NR] = $1}
			END {
				if (NR % 2) m = v[(NR + 1) / 2]
				else m = (v[NR / 2] + v[NR / 2 + 1]) / 2
				printf "%s ", m
			}'
	done | awk -v n="$n" '{printf "median %s: %s sessions/s, %s MB/s RETR\n", n, $1, $2}'
done
wc -l "$W"/logs/* "$W"/*.stderr | sed 's|'"$W"'/||'
