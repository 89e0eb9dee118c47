# shellcheck shell=bash
# bench/lib/measure.sh - the measurements, through kfload and rawsend only
# (CLI of bench/README.md "kfload and rawsend").
# Sourced by bench/run.sh; globals: W, DATA, SERVERS, PORT[], SPID[],
# KFB_PW, ROUNDS, SIZE_MIB, PAR_MIB, SESS_SECONDS, IDLE_LIST, CSV, NOTES.
# Every figure goes to $CSV as round,test,server,metric,value.

declare -A MLSD_OK=() FTPS_OK=() BASE_NPROCS=()
SESS_CLIENTS=16

# kv LINE KEY: the value of KEY in a kfload result line.
kv() {
	local w
	for w in $1; do
		if [ "${w%%=*}" = "$2" ]; then
			printf '%s\n' "${w#*=}"
			return 0
		fi
	done
	return 1
}

record() { printf '%s,%s,%s,%s,%s\n' "$1" "$2" "$3" "$4" "$5" >>"$CSV"; }

note() {
	local n
	for n in "${NOTES[@]}"; do [ "$n" = "$1" ] && return 0; done
	NOTES+=("$1")
	log "note: $1"
}

# kfl SERVER AUTH MODE ARGS... : run kfload against SERVER as AUTH (user:
# kfbench with its password, anon: anonymous, tls: kfbench over FTPS);
# prints the result line; on failure logs kfload's stderr, returns 1.
kfl() {
	local s=$1 auth=$2 out
	shift 2
	local args=(-h 127.0.0.1 -p "${PORT[$s]}")
	case "$auth" in
	user) args+=(-u kfbench -w "$KFB_PW") ;;
	tls) args+=(-u kfbench -w "$KFB_PW" --tls) ;;
	anon) ;;
	*) die "kfl: auth $auth" ;;
	esac
	if out=$("$W/kfload" "${args[@]}" "$@" 2>"$W/kfload.err"); then
		printf '%s\n' "$out"
		return 0
	fi
	log "$s: kfload $auth $* failed: $(head -c 300 "$W/kfload.err" | tr '\n' ' ')"
	return 1
}

# cpu_per NAME CPU0 DIVISOR SCALE: (cpu_ns now - CPU0) * SCALE / DIVISOR
cpu_per() {
	local now
	now=$(cpu_ns "$1")
	awk -v a="$2" -v b="$now" -v d="$3" -v k="$4" \
		'BEGIN {if (d > 0) printf "%.6f\n", (b - a) * k / d; else print "fail"}'
}

# Sessions of earlier tests may still be ending: wait until the server's
# process tree is back to what it was when idle.
settle() {
	local s=$1 i
	for ((i = 0; i < 300; i++)); do
		[ "$(nprocs_tree "${SPID[$s]}")" -le "${BASE_NPROCS[$s]}" ] && return 0
		sleep 0.1
	done
	log "$s: $(nprocs_tree "${SPID[$s]}") processes still there after 30 s"
}

# Check the load generator against every server before measuring: user
# RETR, anonymous session, FTPS with session reuse (vsftpd falls back to
# require_ssl_reuse=NO if that fails), and whether MLSD is there.
verify_kfload() {
	local s line
	for s in "${SERVERS[@]}"; do
		BASE_NPROCS[$s]=$(nprocs_tree "${SPID[$s]}")
		line=$(kfl "$s" user retr hello.txt) || die "$s: kfload retr failed"
		[ "$(kv "$line" bytes)" = "$(stat -c %s "$DATA/hello.txt")" ] ||
			die "$s: kfload retr hello.txt: $line"
		kfl "$s" anon sessions 1 1 >/dev/null || die "$s: kfload anonymous session failed"
		FTPS_OK[$s]=1
		if kfl "$s" tls retr hello.txt >/dev/null; then
			# kfload warns when the server gives no session to
			# resume (its data connections then do full handshakes)
			if grep -q 'warning' "$W/kfload.err"; then
				note "$s: $(grep -m1 'warning' "$W/kfload.err" | sed 's/^kfload: warning: //')"
			fi
		else
			[ "$s" != keepftpd ] || die "keepftpd: kfload --tls retr failed"
			if [ "$s" = vsftpd ] && [ "$VS_SSL_REUSE" = YES ]; then
				note "vsftpd: FTPS with require_ssl_reuse=YES failed with kfload; measured with require_ssl_reuse=NO"
				VS_SSL_REUSE=NO
				stop_one vsftpd
				write_configs
				start_one vsftpd "$VS_BIN" "$W/vsftpd.conf"
			fi
			if ! kfl "$s" tls retr hello.txt >/dev/null; then
				FTPS_OK[$s]=0
				note "$s: FTPS not measured: kfload --tls: $(head -c 200 "$W/kfload.err" | tr '\n' ' ')"
			fi
		fi
		line=$(kfl "$s" user list dir10k) || die "$s: kfload list failed"
		[ "$(kv "$line" lines)" -ge "$ENTRIES" ] ||
			note "$s: LIST of dir10k gave $(kv "$line" lines) lines for $ENTRIES entries"
		if line=$(kfl "$s" user mlsd dir10k 2>/dev/null); then
			MLSD_OK[$s]=1
			[ "$(kv "$line" lines)" -ge "$ENTRIES" ] ||
				note "$s: MLSD of dir10k gave $(kv "$line" lines) lines for $ENTRIES entries"
		else
			MLSD_OK[$s]=0
			note "$s: no MLSD (shown as n/a)"
		fi
		settle "$s"
		BASE_NPROCS[$s]=$(nprocs_tree "${SPID[$s]}")
	done
	log "kfload verified against all three (user, anonymous, FTPS)"
}

# big.bin downloaded once: MB/s and the server's CPU per GiB.
# download TEST ROUND SERVER KIND (kfl's kind: user or tls)
download() {
	local test=$1 r=$2 s=$3 kind=$4 c0 line
	c0=$(cpu_ns "$s")
	if line=$(kfl "$s" "$kind" retr big.bin); then
		record "$r" "$test" "$s" MBps "$(kv "$line" MBps)"
		record "$r" "$test" "$s" cpu_s_per_gib "$(cpu_per "$s" "$c0" "$(kv "$line" bytes)" 1.073741824)"
	else
		record "$r" "$test" "$s" MBps fail
	fi
}

# One measurement: t_NAME ROUND SERVER
t_retr() {
	local r=$1 s=$2 line
	if [ "$s" = raw ]; then
		line=$("$W/kfload" -h 127.0.0.1 raw "$RAW_PORT" 2>"$W/kfload.err") ||
			{ log "raw: $(head -c 300 "$W/kfload.err")"; record "$r" raw raw MBps fail; return 0; }
		record "$r" raw raw MBps "$(kv "$line" MBps)"
		return 0
	fi
	download retr "$r" "$s" user
}

# STOR: three uploads back to back, each removed (and written out) right
# after; the round's figure is the fastest of the three, with that
# upload's server CPU. On a VM that hands freed memory back to its host
# (free page reporting), the first page-cache fill after that costs up to
# 8x more than a fill of recently freed pages, whichever server does it:
# the fastest of three is the server's own cost (bench/README.md).
t_stor() {
	local r=$1 s=$2 c0 c1 line i best="" best_cpu="" mbps bytes=$((SIZE_MIB * 1048576))
	for i in 1 2 3; do
		c0=$(cpu_ns "$s")
		if line=$(kfl "$s" user stor up/x.bin "$bytes"); then
			mbps=$(kv "$line" MBps)
			c1=$(cpu_per "$s" "$c0" "$(kv "$line" bytes)" 1.073741824)
			if [ -z "$best" ] || awk -v a="$mbps" -v b="$best" 'BEGIN {exit !(a > b)}'; then
				best=$mbps
				best_cpu=$c1
			fi
		fi
		# The upload is not kept; its dirty pages are written out before
		# the next one so that no upload pays for another's writeback.
		rm -f "$DATA/up/x.bin"
		find "$DATA/up" -mindepth 1 -maxdepth 1 -name '*x.bin*' -delete
		sync
	done
	if [ -n "$best" ]; then
		record "$r" stor "$s" MBps "$best"
		record "$r" stor "$s" cpu_s_per_gib "$best_cpu"
	else
		record "$r" stor "$s" MBps fail
	fi
}

t_pretr() {
	local r=$1 s=$2 line
	if line=$(kfl "$s" user pretr 8 'p%d.bin'); then
		record "$r" pretr "$s" MBps "$(kv "$line" MBps)"
	else
		record "$r" pretr "$s" MBps fail
	fi
}

t_ftps() {
	local r=$1 s=$2
	if [ "${FTPS_OK[$s]}" -ne 1 ]; then
		record "$r" ftps "$s" MBps fail
		return 0
	fi
	download ftps "$r" "$s" tls
}

t_list() {
	local r=$1 s=$2 line
	if line=$(kfl "$s" user list -n 1 dir10k); then
		record "$r" list "$s" seconds "$(kv "$line" seconds)"
		record "$r" list "$s" lines "$(kv "$line" lines)"
	else
		record "$r" list "$s" seconds fail
	fi
}

t_mlsd() {
	local r=$1 s=$2 line
	if [ "${MLSD_OK[$s]}" -ne 1 ]; then
		record "$r" mlsd "$s" seconds n/a
		return 0
	fi
	if line=$(kfl "$s" user mlsd -n 1 dir10k); then
		record "$r" mlsd "$s" seconds "$(kv "$line" seconds)"
		record "$r" mlsd "$s" lines "$(kv "$line" lines)"
	else
		record "$r" mlsd "$s" seconds fail
	fi
}

# sess_run ROUND TEST SERVER AUTH
sess_run() {
	local r=$1 t=$2 s=$3 auth=$4 c0 line n
	settle "$s"
	c0=$(cpu_ns "$s")
	if line=$(kfl "$s" "$auth" sessions "$SESS_CLIENTS" "$SESS_SECONDS"); then
		n=$(kv "$line" sessions)
		record "$r" "$t" "$s" rate "$(kv "$line" rate)"
		record "$r" "$t" "$s" failed "$(kv "$line" failed)"
		record "$r" "$t" "$s" p99ms "$(kv "$line" p99ms)"
		record "$r" "$t" "$s" cpu_ms_per_session "$(cpu_per "$s" "$c0" "$n" 1e-6)"
		[ "$(kv "$line" failed)" = 0 ] ||
			note "$s: $(kv "$line" failed) failed sessions in a $t run (round $r)"
	else
		record "$r" "$t" "$s" rate fail
	fi
}

t_sess_user() { sess_run "$1" sess_user "$2" user; }
t_sess_anon() { sess_run "$1" sess_anon "$2" anon; }

TESTS=(retr stor pretr ftps list mlsd sess_user sess_anon)

# Round r runs every test; within a test the participants go in an order
# rotated by r (raw joins the RETR test as a fourth participant).
run_measurements() {
	local r t i n who s
	# kf-base (--base) takes part in the session and idle tests only
	PEERS_AND_KF=()
	for s in "${SERVERS[@]}"; do
		[ "$s" = kf-base ] || PEERS_AND_KF+=("$s")
	done
	for ((r = 1; r <= ROUNDS; r++)); do
		for t in "${TESTS[@]}"; do
			who=("${SERVERS[@]}")
			case "$t" in
			sess_*) ;;
			*) who=("${PEERS_AND_KF[@]}") ;;
			esac
			[ "$t" = retr ] && who+=(raw)
			n=${#who[@]}
			for ((i = 0; i < n; i++)); do
				"t_$t" "$r" "${who[$(((i + r - 1) % n))]}"
			done
		done
		log "round $r/$ROUNDS done"
	done
	run_idle
}

# PSS per idle logged-in session: `kfload hold N` (stdin: a fifo closed to
# end it); the server tree's PSS with N sessions minus with none, / N.
# hold_start SERVER N user|anon
hold_start() {
	local s=$1 n=$2 auth=$3 i limit
	local args=(-h 127.0.0.1 -p "${PORT[$s]}")
	[ "$auth" = anon ] || args+=(-u kfbench -w "$KFB_PW")
	limit=$((120 + n / 5))
	rm -f "$W/hold.fifo" "$W/hold.out"
	mkfifo "$W/hold.fifo"
	"$W/kfload" "${args[@]}" hold "$n" \
		<"$W/hold.fifo" >"$W/hold.out" 2>"$W/hold.err" &
	HOLD_PID=$!
	exec 9>"$W/hold.fifo"
	for ((i = 0; i < limit * 5; i++)); do
		grep -q '^held=' "$W/hold.out" 2>/dev/null && return 0
		kill -0 "$HOLD_PID" 2>/dev/null || break
		sleep 0.2
	done
	log "$s: kfload hold $n ($auth): $(head -c 300 "$W/hold.err" | tr '\n' ' ')"
	stop_hold
	return 1
}

stop_hold() {
	local i
	[ -n "${HOLD_PID:-}" ] || return 0
	exec 9>&-
	for ((i = 0; i < 600; i++)); do
		kill -0 "$HOLD_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -TERM "$HOLD_PID" 2>/dev/null || true
	wait "$HOLD_PID" 2>/dev/null || true
	HOLD_PID=
}

# idle_one SERVER N user|anon: PSS per session (metric pss_kib_per_session
# or pss_anon_kib_per_session); with the password user also the login
# time and sessions/s while the N are held.
idle_one() {
	local s=$1 n=$2 auth=$3 p0 p1 np line m=pss_kib_per_session
	[ "$auth" = user ] || m=pss_anon_kib_per_session
	settle "$s"
	p0=$(pss_tree "${SPID[$s]}")
	if ! hold_start "$s" "$n" "$auth"; then
		record 1 "idle_$n" "$s" "$m" fail
		note "$s: could not hold $n logged-in sessions ($auth)"
		return 0
	fi
	line=$(grep '^held=' "$W/hold.out")
	sleep 1
	p1=$(pss_tree "${SPID[$s]}")
	np=$(nprocs_tree "${SPID[$s]}")
	record 1 "idle_$n" "$s" "$m" \
		"$(awk -v a="$p0" -v b="$p1" -v n="$n" 'BEGIN {printf "%.1f\n", (b - a) / n}')"
	log "$s: $n idle sessions ($auth): $((p1 - p0)) KiB PSS, $np processes"
	if [ "$auth" = user ]; then
		record 1 "idle_$n" "$s" login_seconds "$(kv "$line" seconds)"
		record 1 "idle_$n" "$s" processes "$np"
		if line=$(kfl "$s" user sessions "$SESS_CLIENTS" "$SESS_SECONDS"); then
			record 1 "idle_$n" "$s" rate_while_held "$(kv "$line" rate)"
		else
			record 1 "idle_$n" "$s" rate_while_held fail
		fi
	fi
	stop_hold
	grep -q '^closed=' "$W/hold.out" ||
		log "$s: kfload hold did not print closed="
	# the next hold starts on a quiet machine
	settle "$s"
}

run_idle() {
	local n s i k
	IFS=, read -r -a IDLE_NS <<<"$IDLE_LIST"
	k=0
	for n in "${IDLE_NS[@]}"; do
		for ((i = 0; i < ${#SERVERS[@]}; i++)); do
			s=${SERVERS[$(((i + k) % ${#SERVERS[@]}))]}
			idle_one "$s" "$n" user
			idle_one "$s" "$n" anon
		done
		k=$((k + 1))
	done
}
