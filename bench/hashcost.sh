#!/usr/bin/env bash
# bench/hashcost.sh - the upload cost of hash_store (issue 18 item 5):
# one keepftpd binary, one server per set-up, measured in turns, round
# by round, each a single-stream STOR of SIZE_MIB over loopback (kfload
# stor, plain FTP, a users-file account writing to local disk):
#   off      hash_store = off (the default: the upload as before)
#   sha256   hash_store = xattr, hash_store_algos = sha256 (its default)
#   sha1     hash_store = xattr, hash_store_algos = sha1
#   three    hash_store = xattr, hash_store_algos = sha256,sha1,md5
# Prints one CSV line per round and set-up: MB/s, and the server's CPU
# seconds per GiB (the user + system time of the processes the session
# ran in, counted once they are reaped: tree_ticks); then the
# medians and the stored attribute of the last upload of each.
#
#   bash bench/hashcost.sh BIN [ROUNDS [SIZE_MIB]]
#
# Run as root (the account is nobody) or as any user (rootless). Stops
# only what it started (by PID); removes its work directory.
set -euo pipefail

BIN=$1 ROUNDS=${2:-5} SIZE_MIB=${3:-1024}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
W=$(mktemp -d /var/tmp/kfhash.XXXXXX)
NAMES=(off sha256 sha1 three)
declare -A PID=() PORT=() ALGOS=([sha256]=sha256 [sha1]=sha1 [three]="sha256,sha1,md5")

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
mkdir -p "$W/empty"
chmod 755 "$W"
ids=()
[ "$(id -u)" = 0 ] && ids=(--uid 65534 --gid 65534)
port=$((20000 + RANDOM % 9000))
pasv=$((61000 + RANDOM % 20 * 200))
for n in "${NAMES[@]}"; do
	PORT[$n]=$port
	port=$((port + 1))
	mkdir -p "$W/$n"
	[ "$(id -u)" = 0 ] && chown 65534:65534 "$W/$n"
	echo bench | "$BIN" user -f "$W/$n.users" add bench --home "$W/$n" \
		--opslimit 1 --memlimit-kib 8192 --write "${ids[@]}" >/dev/null
	{
		cat <<CONF
listen = 127.0.0.1:${PORT[$n]}
users_file = $W/$n.users
pasv_min_port = $pasv
pasv_max_port = $((pasv + 49))
empty_dir = $W/empty
admin_socket = $W/$n.sock
log_level = warning
CONF
		if [ "$n" = off ]; then
			echo "hash_store = off"
		else
			echo "hash_store = xattr"
			echo "hash_store_algos = ${ALGOS[$n]}"
		fi
	} >"$W/$n.conf"
	pasv=$((pasv + 50))
	"$BIN" -c "$W/$n.conf" >"$W/$n.stderr" 2>&1 </dev/null &
	PID[$n]=$!
	for _ in $(seq 50); do
		"$W/kfload" -p "${PORT[$n]}" -u bench -w bench list / >/dev/null 2>&1 && break
		sleep 0.1
	done
done

# Clock ticks of the dead processes under pid $1: the sum of cutime +
# cstime over it and its living descendants (a session's worker is
# reaped by its spawner, a monitor by the listener; each dead process
# is counted by the one living ancestor that reaped it, or reaped its
# reaper).
tree_ticks() {
	python3 - "$1" <<'PY'
import os, sys
kids = {}
for p in os.listdir("/proc"):
    if p.isdigit():
        try:
            f = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        kids.setdefault(int(f[1]), []).append(int(p))
todo, total = [int(sys.argv[1])], 0
while todo:
    p = todo.pop()
    try:
        f = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()
    except OSError:
        continue
    total += int(f[13]) + int(f[14])
    todo += kids.get(p, [])
print(total)
PY
}

echo "round,setup,stor_MBps,cpu_s_per_GiB"
for ((r = 0; r < ROUNDS; r++)); do
	k=${#NAMES[@]}
	for ((i = 0; i < k; i++)); do
		n=${NAMES[$(((i + r) % k))]}
		t0=$(tree_ticks "${PID[$n]}")
		mb=$("$W/kfload" -p "${PORT[$n]}" -u bench -w bench stor up.bin \
			"$((SIZE_MIB * 1048576))" | tr ' ' '\n' | sed -n 's/^MBps=//p')
		sleep 0.5 # the session's monitor reaped
		t1=$(tree_ticks "${PID[$n]}")
		cpu=$(awk -v d="$((t1 - t0))" -v hz="$(getconf CLK_TCK)" \
			-v m="$SIZE_MIB" 'BEGIN {printf "%.3f", d / hz / (m / 1024)}')
		echo "$r,$n,$mb,$cpu"
	done
done | tee "$W/hc.csv"
median() {
	sort -g | awk '{v[NR] = $1}
		END {
			if (NR % 2) m = v[(NR + 1) / 2]
			else m = (v[NR / 2] + v[NR / 2 + 1]) / 2
			printf "%s (%s..%s)", m, v[1], v[NR]
		}'
}
for n in "${NAMES[@]}"; do
	printf 'median %s: %s MB/s STOR, %s CPU s/GiB\n' "$n" \
		"$(awk -F, -v n="$n" '$2 == n {print $3}' "$W/hc.csv" | median)" \
		"$(awk -F, -v n="$n" '$2 == n {print $4}' "$W/hc.csv" | median)"
	printf '  %s: ' "$n"
	python3 -c 'import os, sys
try:
    print(os.getxattr(sys.argv[1], "user.keepftpd.hash").hex()[:60])
except OSError as e:
    print("no record:", e.strerror)' "$W/$n/up.bin"
done
