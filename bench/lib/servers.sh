# shellcheck shell=bash
# bench/lib/servers.sh - ports, configurations, start/stop of the three
# servers (and rawsend), each in its own cgroup when possible;
# process trees, CPU and PSS readings.
# Sourced by bench/run.sh; globals: W, DATA, KF_BIN, VS_BIN, PF_BIN,
# SERVERS, PORT[], PASV[], SPID[], CGDIR[], CG_OK (0: none, 1: v1
# cpuacct, 2: v2), RAW_PORT, RAW_PID.

declare -A PORT=() PASV=() SPID=() CGDIR=()
CG_V1=/sys/fs/cgroup/cpuacct
CG_V2=/sys/fs/cgroup
CLK_TCK=$(getconf CLK_TCK)
USED_PORTS=" "

port_busy() {
	ss -Htan | awk -v p="$1" '{n = split($4, a, ":"); if (a[n] == p) f = 1}
		END {exit f ? 0 : 1}'
}

# Sets PICKED to a free port in 20000-29999.
pick_port() {
	local p i
	for ((i = 0; i < 500; i++)); do
		p=$((20000 + RANDOM % 10000))
		case "$USED_PORTS" in *" $p "*) continue ;; esac
		port_busy "$p" && continue
		USED_PORTS+="$p "
		PICKED=$p
		return 0
	done
	die "no free port found"
}

# pick_pasv WIDTH LO HI: a passive range of WIDTH ports inside LO..HI
# where nothing listens, disjoint from the ones already picked.
# Sets PICKED to "MIN MAX".
pick_pasv() {
	local width=$1 lo=$2 hi=$3 base i busy slots
	slots=$(((hi - lo + 1) / width))
	[ "$slots" -gt 0 ] || die "passive range $lo-$hi narrower than $width"
	for ((i = 0; i < 200; i++)); do
		base=$((lo + width * (RANDOM % slots)))
		case "$USED_PORTS" in *" r$base "*) continue ;; esac
		busy=$(ss -Htln | awk -v lo="$base" -v hi="$((base + width - 1))" \
			'{n = split($4, a, ":"); if (a[n] >= lo && a[n] <= hi) c++}
			 END {print c + 0}')
		[ "$busy" -eq 0 ] || continue
		USED_PORTS+="r$base "
		PICKED="$base $((base + width - 1))"
		return 0
	done
	die "no free passive port range of $width in $lo-$hi"
}

pick_ports() {
	local s
	for s in "${SERVERS[@]}"; do
		pick_port
		PORT[$s]=$PICKED
	done
	# Above the ephemeral range (32768-60999 by default).
	pick_pasv 200 61000 65399
	PASV[keepftpd]=$PICKED
	pick_pasv 200 61000 65399
	PASV[vsftpd]=$PICKED
	if [ -n "${KF_BASE_BIN:-}" ]; then
		pick_pasv 200 61000 65399
		PASV[kf-base]=$PICKED
	fi
	# pure-ftpd lowers its client limit (-c) to half the number of its
	# passive ports: 10000 ports keep -c 5000.
	pick_pasv 10000 40000 59999
	PASV[pure-ftpd]=$PICKED
	pick_port
	RAW_PORT=$PICKED
}

write_configs() {
	local kmin kmax vmin vmax pmin pmax
	read -r kmin kmax <<<"${PASV[keepftpd]}"
	read -r vmin vmax <<<"${PASV[vsftpd]}"
	read -r pmin pmax <<<"${PASV[pure-ftpd]}"
	cat >"$W/keepftpd.conf" <<CONF
listen = 127.0.0.1:${PORT[keepftpd]}
users_file = $W/keepftpd.users
anonymous_enable = yes
anon_root = $DATA
tls_cert = $W/cert.pem
tls_key = $W/key.pem
tls_required_users = no
max_clients = 5000
max_per_ip = 5000
log_level = warning
pasv_min_port = $kmin
pasv_max_port = $kmax
empty_dir = $W/kf-empty
admin_socket = $W/kf-admin.sock
CONF
	mkdir -p "$W/vsftpd-empty"
	chmod 755 "$W/vsftpd-empty"
	# vsftpd: its defaults (privilege separation, seccomp sandbox,
	# sendfile) plus what the bench needs.
	cat >"$W/vsftpd.conf" <<CONF
listen=YES
listen_address=127.0.0.1
listen_port=${PORT[vsftpd]}
background=NO
local_enable=YES
write_enable=YES
chroot_local_user=YES
allow_writeable_chroot=YES
pam_service_name=kfbench-vsftpd
anonymous_enable=YES
anon_root=$DATA
no_anon_password=YES
max_clients=0
max_per_ip=0
ssl_enable=YES
allow_anon_ssl=YES
force_local_data_ssl=NO
force_local_logins_ssl=NO
rsa_cert_file=$W/cert.pem
rsa_private_key_file=$W/key.pem
ssl_ciphers=HIGH
require_ssl_reuse=$VS_SSL_REUSE
secure_chroot_dir=$W/vsftpd-empty
pasv_min_port=$vmin
pasv_max_port=$vmax
xferlog_enable=NO
CONF
	chmod 600 "$W/vsftpd.conf"
	cat >/etc/pam.d/kfbench-vsftpd <<PAM
# keepftpd bench (bench/run.sh): vsftpd checks kfbench's shadow hash.
auth	required	pam_unix.so
account	required	pam_unix.so
PAM
	# shellcheck disable=SC2034 # read by cleanup() in run.sh
	PAM_CREATED=1
	PF_ARGS=(-S "127.0.0.1,${PORT[pure-ftpd]}" -l unix -p "$pmin:$pmax"
		 -c 5000 -C 5000 -H -A -Y 1 -2 "$W/cert.pem,$W/key.pem")
	# pure-ftpd lists at most 10000 entries by default, counting MLSD's
	# "." and "..": a larger directory gets a larger limit (depth 5 as
	# by default) so that every server lists all of it.
	if [ $((ENTRIES + 2)) -gt 10000 ]; then
		PF_ARGS+=(-L "$((ENTRIES + 2)):5")
	fi
	"$KF_BIN" -t -c "$W/keepftpd.conf" >"$W/keepftpd-check.log" 2>&1 ||
		{ cat "$W/keepftpd-check.log" >&2; die "keepftpd -t rejects the config"; }
	[ -z "${KF_BASE_BIN:-}" ] || write_base_config
}

# kf-base: keepftpd's configuration with its own port, passive range and
# admin socket; an option the base revision does not know is left out
# (named in the notes) when -t refuses it.
write_base_config() {
	local bmin bmax opt
	read -r bmin bmax <<<"${PASV[kf-base]}"
	sed -e "s/^listen = .*/listen = 127.0.0.1:${PORT[kf-base]}/" \
		-e "s/^pasv_min_port = .*/pasv_min_port = $bmin/" \
		-e "s/^pasv_max_port = .*/pasv_max_port = $bmax/" \
		-e "s#^admin_socket = .*#admin_socket = $W/kf-base-admin.sock#" \
		"$W/keepftpd.conf" >"$W/kf-base.conf"
	chmod 600 "$W/kf-base.conf"
	for opt in tls_required_users admin_socket empty_dir; do
		"$KF_BASE_BIN" -t -c "$W/kf-base.conf" >"$W/kf-base-check.log" 2>&1 && return 0
		grep -q "$opt" "$W/kf-base-check.log" || break
		sed -i "/^$opt = /d" "$W/kf-base.conf"
		note "kf-base: option $opt left out (unknown to $KF_BASE_DESC)"
	done
	"$KF_BASE_BIN" -t -c "$W/kf-base.conf" >"$W/kf-base-check.log" 2>&1 ||
		{ cat "$W/kf-base-check.log" >&2; die "kf-base -t rejects the config"; }
}

# One cgroup per server that its children inherit: cgroup v1 cpuacct
# (cpuacct.usage), else cgroup v2 (cpu.stat usage_usec, always there),
# else none (the main process's /proc/PID/stat).
cg_setup() {
	local s base=
	CG_OK=0
	if [ -d "$CG_V1" ] && mkdir -p "$CG_V1/kfbench-probe" 2>/dev/null; then
		rmdir "$CG_V1/kfbench-probe"
		CG_OK=1
		base=$CG_V1
	elif [ "$(stat -fc %T "$CG_V2" 2>/dev/null)" = cgroup2fs ] &&
		mkdir -p "$CG_V2/kfbench-probe" 2>/dev/null; then
		rmdir "$CG_V2/kfbench-probe"
		CG_OK=2
		base=$CG_V2
	fi
	if [ "$CG_OK" -eq 0 ]; then
		log "server CPU: /proc/PID/stat of the main process (no writable cgroup)"
		return 0
	fi
	for s in "${SERVERS[@]}"; do
		CGDIR[$s]="$base/kfbench-$s"
		mkdir -p "${CGDIR[$s]}"
		# a group left by a killed run must be empty: its processes
		# are not this run's, so they are neither counted nor stopped
		if [ -n "$(cat "${CGDIR[$s]}/cgroup.procs")" ]; then
			CGDIR[$s]=
			die "processes left in $base/kfbench-$s by an earlier run: stop them (cat its cgroup.procs) and run again"
		fi
	done
	log "server CPU: cgroup v$CG_OK ($base/kfbench-*)"
}

wait_listen() {
	local name=$1 port=$2 pid=$3 i
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || { cat "$W/$name.log" >&2; die "$name exited at start"; }
		if ss -Htln | awk -v p="$port" '{n = split($4, a, ":"); if (a[n] == p) f = 1}
			END {exit f ? 0 : 1}'; then
			return 0
		fi
		sleep 0.1
	done
	cat "$W/$name.log" >&2
	die "$name does not listen on $port"
}

# start_one NAME CMD... : the server starts inside its cgroup (its
# children inherit it), output to $W/NAME.log.
start_one() {
	local name=$1
	shift
	local cg=${CGDIR[$name]:-}
	(
		if [ -n "$cg" ]; then echo "$BASHPID" >"$cg/cgroup.procs"; fi
		exec "$@"
	) >"$W/$name.log" 2>&1 </dev/null &
	SPID[$name]=$!
	wait_listen "$name" "${PORT[$name]}" "${SPID[$name]}"
	log "$name pid ${SPID[$name]} on 127.0.0.1:${PORT[$name]} (pasv ${PASV[$name]/ /-})"
}

start_servers() {
	start_one keepftpd "$KF_BIN" -c "$W/keepftpd.conf"
	[ -z "${KF_BASE_BIN:-}" ] || start_one kf-base "$KF_BASE_BIN" -c "$W/kf-base.conf"
	start_one vsftpd "$VS_BIN" "$W/vsftpd.conf"
	start_one pure-ftpd "$PF_BIN" "${PF_ARGS[@]}"
}

start_rawsend() {
	"$W/rawsend" -h 127.0.0.1 "$RAW_PORT" "$DATA/big.bin" >"$W/rawsend.out" \
		2>"$W/rawsend.log" </dev/null &
	RAW_PID=$!
	local i
	for ((i = 0; i < 100; i++)); do
		grep -q '^ready' "$W/rawsend.out" 2>/dev/null && return 0
		kill -0 "$RAW_PID" 2>/dev/null || break
		sleep 0.1
	done
	cat "$W/rawsend.log" >&2
	die "rawsend did not start"
}

# Every descendant of PID, PID first (from the ppid links of ps, which
# reads /proc/*/stat).
tree_pids() {
	ps -e -o pid=,ppid= | awk -v r="$1" '
		{par[$1] = $2}
		END {
			print r
			for (p in par) {
				q = p
				for (d = 0; d < 64 && q > 1; d++) {
					q = par[q]
					if (q == r) { print p; break }
				}
			}
		}'
}

# Sum of Pss (KiB) over the server's process tree.
pss_tree() {
	local p files=()
	for p in $(tree_pids "$1"); do files+=("/proc/$p/smaps_rollup"); done
	cat "${files[@]}" 2>/dev/null | awk '/^Pss:/ {s += $2} END {print s + 0}'
}

nprocs_tree() { tree_pids "$1" | wc -l; }

# Server CPU time in ns: the cgroup's usage, or the main pid's
# utime+stime+cutime+cstime (reaped descendants).
cpu_ns() {
	local name=$1
	if [ "$CG_OK" -eq 1 ]; then
		cat "${CGDIR[$name]}/cpuacct.usage"
	elif [ "$CG_OK" -eq 2 ]; then
		awk '$1 == "usage_usec" {printf "%.0f\n", $2 * 1000}' "${CGDIR[$name]}/cpu.stat"
	else
		sed 's/.*) //' "/proc/${SPID[$name]}/stat" |
			awk -v hz="$CLK_TCK" '{printf "%.0f\n", ($12 + $13 + $14 + $15) * 1e9 / hz}'
	fi
}

# Stop one server: its whole tree (sessions of vsftpd and pure-ftpd
# outlive their listener) and what is left in its cgroup; only PIDs that
# descend from the server this script started.
stop_one() {
	local name=$1 pid=${SPID[$1]:-} pids i
	[ -n "$pid" ] || return 0
	pids=$(tree_pids "$pid")
	if [ "$CG_OK" -ne 0 ] && [ -f "${CGDIR[$name]:-}/cgroup.procs" ]; then
		pids+=" $(cat "${CGDIR[$name]}/cgroup.procs")"
	fi
	# shellcheck disable=SC2086
	kill -TERM $pids 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	# shellcheck disable=SC2086
	kill -KILL $pids 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	SPID[$name]=
}

stop_all() {
	local s i
	for s in "${SERVERS[@]}"; do stop_one "$s"; done
	if [ -n "${RAW_PID:-}" ]; then
		kill -TERM "$RAW_PID" 2>/dev/null || true
		wait "$RAW_PID" 2>/dev/null || true
		RAW_PID=
	fi
	if [ "${CG_OK:-0}" -ne 0 ]; then
		for s in "${SERVERS[@]}"; do
			for ((i = 0; i < 20; i++)); do
				[ -n "${CGDIR[$s]:-}" ] || break
				rmdir "${CGDIR[$s]}" 2>/dev/null && break
				sleep 0.1
			done
		done
	fi
}

# verify_server NAME: user login + RETR + STOR, anonymous login, FTPS
# (curl), before anything is measured.
verify_server() {
	local name=$1 port=${PORT[$1]} u="kfbench:$KFB_PW" got
	got=$(curl -sS --max-time 20 -u "$u" "ftp://127.0.0.1:$port/hello.txt") ||
		die "$name: curl user RETR failed"
	[ "$got" = "keepftpd bench $RUN_ID" ] || die "$name: hello.txt has '$got'"
	curl -sS --max-time 20 -u "$u" -T "$DATA/hello.txt" \
		"ftp://127.0.0.1:$port/up/verify.txt" || die "$name: curl user STOR failed"
	cmp -s "$DATA/hello.txt" "$DATA/up/verify.txt" || die "$name: STOR content differs"
	rm -f "$DATA/up/verify.txt"
	curl -sS --max-time 20 -o /dev/null "ftp://127.0.0.1:$port/" ||
		die "$name: curl anonymous LIST failed"
	got=$(curl -sS --max-time 20 --ssl-reqd -k -u "$u" \
		"ftp://127.0.0.1:$port/hello.txt") || die "$name: curl FTPS RETR failed"
	[ "$got" = "keepftpd bench $RUN_ID" ] || die "$name: FTPS hello.txt has '$got'"
	log "$name verified with curl: user RETR/STOR, anonymous, FTPS"
}
