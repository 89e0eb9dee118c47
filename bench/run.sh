#!/usr/bin/env bash
# bench/run.sh - keepftpd, vsftpd and pure-ftpd side by side on loopback
# (issue 6). One command on a fresh Debian 12, as root:
#
#   bash bench/run.sh [--rounds N] [--size-mib N] [--par-mib N] [--entries N]
#                     [--sess-seconds S] [--idle N,N,N] [--quick]
#                     [--out FILE] [--update-readme] [--base REV]
#
# Installs what it needs (apt), builds keepftpd (build-bench/) and the load
# generator, unpacks vsftpd and pure-ftpd from their Debian packages without
# installing them, gives all three the same account, hash, files and
# certificate, measures interleaved rounds and prints a markdown table
# (also written to --out, with the per-round CSV beside it).
# --base REV also builds keepftpd at git revision REV (build-bench-base/)
# and runs it as a fourth server "kf-base" in the session and idle tests,
# so a change's session cost is measured against REV in the same run.
# See bench/README.md. Only the processes this script starts are stopped.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
ROUNDS=5
SIZE_MIB=1024
PAR_MIB=128
ENTRIES=10000
SESS_SECONDS=5
IDLE_LIST=100,1000,2000
OUT="$ROOT/bench/results/latest.md"
UPDATE_README=0
BASE_REV=
CACHE=/var/cache/keepftpd-bench
SERVERS=(keepftpd vsftpd pure-ftpd)

usage() {
	awk 'NR > 1 && /^#/ {sub(/^# ?/, ""); print; next} NR > 1 {exit}' "$0"
	exit "${1:-2}"
}

need_num() {
	case "$2" in
	'' | *[!0-9]*) printf 'bench: %s needs a number, got "%s"\n' "$1" "$2" >&2; exit 2 ;;
	esac
	[ "$2" -gt 0 ] || { printf 'bench: %s must be > 0\n' "$1" >&2; exit 2; }
}

while [ $# -gt 0 ]; do
	case "$1" in
	--rounds) need_num "$1" "${2:-}"; ROUNDS=$2; shift 2 ;;
	--size-mib) need_num "$1" "${2:-}"; SIZE_MIB=$2; shift 2 ;;
	--par-mib) need_num "$1" "${2:-}"; PAR_MIB=$2; shift 2 ;;
	--entries) need_num "$1" "${2:-}"; ENTRIES=$2; shift 2 ;;
	--sess-seconds) need_num "$1" "${2:-}"; SESS_SECONDS=$2; shift 2 ;;
	--idle)
		case "${2:-}" in
		'' | *[!0-9,]* | ,* | *, | *,,*) echo "bench: --idle needs N,N,..." >&2; exit 2 ;;
		esac
		IDLE_LIST=$2; shift 2 ;;
	--quick)
		ROUNDS=2 SIZE_MIB=128 PAR_MIB=16 ENTRIES=2000 SESS_SECONDS=2 IDLE_LIST=100
		shift ;;
	--out)
		[ -n "${2:-}" ] || { echo "bench: --out needs a file" >&2; exit 2; }
		OUT=$2; shift 2 ;;
	--update-readme) UPDATE_README=1; shift ;;
	--base)
		[ -n "${2:-}" ] || { echo "bench: --base needs a git revision" >&2; exit 2; }
		BASE_REV=$2; shift 2 ;;
	-h | --help) usage 0 ;;
	*) printf 'bench: unknown argument "%s"\n' "$1" >&2; usage 2 ;;
	esac
done
case "$OUT" in /*) ;; *) OUT="$PWD/$OUT" ;; esac
[ "$(id -u)" -eq 0 ] || { echo "bench: run as root (accounts, PAM, peers)" >&2; exit 2; }

# shellcheck source=bench/lib/setup.sh
. "$ROOT/bench/lib/setup.sh"
# shellcheck source=bench/lib/servers.sh
. "$ROOT/bench/lib/servers.sh"
# shellcheck source=bench/lib/measure.sh
. "$ROOT/bench/lib/measure.sh"
# shellcheck source=bench/lib/report.sh
. "$ROOT/bench/lib/report.sh"

CREATED_USERS=()
PAM_CREATED=0
CG_OK=0
RAW_PID=
HOLD_PID=
VS_SSL_REUSE=YES
NOTES=()
RUN_ID=$(date -u +%Y%m%dT%H%M%SZ)

W=$(mktemp -d /var/tmp/kfbench.XXXXXX)
chmod 755 "$W"
DATA="$W/data"
mkdir -p "$DATA"
CSV="$W/rounds.csv"
echo "round,test,server,metric,value" >"$CSV"
SHELLS_ADDED=0

cleanup() {
	local rc=$? u
	trap - EXIT INT TERM
	stop_hold
	stop_all
	[ "$PAM_CREATED" -eq 1 ] && rm -f /etc/pam.d/kfbench-vsftpd
	for u in "${CREATED_USERS[@]}"; do userdel "$u" 2>/dev/null || true; done
	restore_shells
	if [ "${KEEP_WORKDIR:-0}" = 1 ]; then
		log "work dir kept: $W"
	else
		rm -rf "$W"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

install_deps
build_keepftpd
if [ -n "$BASE_REV" ]; then
	build_base "$BASE_REV"
	SERVERS=(keepftpd kf-base vsftpd pure-ftpd)
fi
build_loadgen
unpack_peers
setup_accounts
setup_files
setup_cert
pick_ports
cg_setup
write_configs
start_servers
start_rawsend
for s in "${SERVERS[@]}"; do verify_server "$s"; done
verify_kfload
run_measurements
write_report
