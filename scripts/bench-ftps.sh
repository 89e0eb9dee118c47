#!/usr/bin/env bash
# PROT P download throughput, keepftpd against vsftpd, same machine, same
# run: a SIZE_MIB file (default 1024) fetched over loopback by curl
# (--ssl-reqd, TLS 1.3, AES-256-GCM on both servers) RUNS times each;
# prints each run and the median in MB/s. Needs root (vsftpd) and
# /usr/sbin/vsftpd; keepftpd from $KEEPFTPD or build/keepftpd.
# Only the processes this script starts are stopped, by PID.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${KEEPFTPD:-$ROOT/build/keepftpd}
SIZE_MIB=${SIZE_MIB:-1024}
RUNS=${RUNS:-3}
VSFTPD=${VSFTPD:-/usr/sbin/vsftpd}
[ -x "$VSFTPD" ] || { echo "bench-ftps: $VSFTPD not found (apt-get install vsftpd)" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "bench-ftps: run as root (vsftpd)" >&2; exit 2; }

W=$(mktemp -d /tmp/kf-bench-XXXXXX)
chmod 755 "$W"
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	rm -rf "$W"
}
trap cleanup EXIT

mkdir -p "$W/pub" /var/run/vsftpd/empty
openssl req -x509 -nodes -days 1 -newkey rsa:2048 -keyout "$W/key.pem" \
    -out "$W/cert.pem" -subj /CN=localhost >/dev/null 2>&1
head -c $((SIZE_MIB * 1024 * 1024)) /dev/urandom > "$W/pub/big.bin"
chmod 644 "$W/pub/big.bin"

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
KP=$(port); VP=$(port)

cat > "$W/keepftpd.conf" <<CONF
listen = 127.0.0.1:$KP
anonymous_enable = yes
anon_root = $W/pub
tls_cert = $W/cert.pem
tls_key = $W/key.pem
pasv_min_port = 45000
pasv_max_port = 45099
log_level = warning
CONF
cat > "$W/vsftpd.conf" <<CONF
listen=YES
listen_address=127.0.0.1
listen_port=$VP
background=NO
anonymous_enable=YES
anon_root=$W/pub
no_anon_password=YES
local_enable=NO
write_enable=NO
pasv_min_port=45100
pasv_max_port=45199
ssl_enable=YES
allow_anon_ssl=YES
force_anon_data_ssl=YES
force_anon_logins_ssl=YES
rsa_cert_file=$W/cert.pem
rsa_private_key_file=$W/key.pem
require_ssl_reuse=NO
ssl_ciphers=HIGH
seccomp_sandbox=NO
secure_chroot_dir=/var/run/vsftpd/empty
xferlog_enable=NO
CONF

"$BIN" -c "$W/keepftpd.conf" 2>"$W/keepftpd.log" & pids+=($!)
"$VSFTPD" "$W/vsftpd.conf" 2>"$W/vsftpd.log" & pids+=($!)
sleep 1

fetch() {
	curl -sS --ssl-reqd -k --tlsv1.3 -o /dev/null -w '%{speed_download}\n' \
	    "ftp://anonymous:x@127.0.0.1:$1/big.bin"
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

for name in keepftpd vsftpd; do
	p=$KP; [ "$name" = vsftpd ] && p=$VP
	speeds=()
	for i in $(seq "$RUNS"); do
		s=$(fetch "$p")
		speeds+=("$s")
		printf '%s run %d: %.0f MB/s\n' "$name" "$i" "$(echo "$s / 1000000" | bc -l)"
	done
	m=$(printf '%s\n' "${speeds[@]}" | median)
	printf '%s median: %.0f MB/s (%d MiB PROT P RETR, TLS 1.3)\n' "$name" \
	    "$(echo "$m / 1000000" | bc -l)" "$SIZE_MIB"
done
