# shellcheck shell=bash
# bench/lib/report.sh - medians of the per-round CSV, the markdown table
# (stdout and --out), the README block.
# Sourced by bench/run.sh; globals: CSV, OUT, SERVERS, ROUNDS, SIZE_MIB,
# PAR_MIB, ENTRIES, SESS_SECONDS, IDLE_LIST, VS_VER, PF_VER, NOTES, ROOT.

declare -A MED=()

# Median of every (test, server, metric) over the rounds; values that are
# not numbers ("fail", "n/a") are left out; none left: "n/a" when the
# server lacks the command, "fail" otherwise.
load_medians() {
	local key val
	while IFS=' ' read -r key val; do
		MED[$key]=$val
	done < <(awk -F, '
		NR == 1 {next}
		{k = $2 "|" $3 "|" $4}
		$5 ~ /^[0-9.eE+-]+$/ {v[k, ++n[k]] = $5 + 0; seen[k] = 1; next}
		{seen[k] = 1; if ($5 == "n/a") na[k] = 1}
		END {
			for (k in seen) {
				c = n[k] + 0
				if (c == 0) { print k, (na[k] ? "n/a" : "fail"); continue }
				for (i = 1; i <= c; i++) a[i] = v[k, i]
				for (i = 2; i <= c; i++) {
					x = a[i]
					for (j = i - 1; j >= 1 && a[j] > x; j--) a[j + 1] = a[j]
					a[j + 1] = x
				}
				if (c % 2) m = a[(c + 1) / 2]
				else m = (a[c / 2] + a[c / 2 + 1]) / 2
				printf "%s %.6f\n", k, m
			}
		}' "$CSV")
}

isnum() { [[ "$1" =~ ^[0-9]+(\.[0-9]+)?$ ]]; }

# fmt VALUE DECIMALS [SCALE]
fmt() {
	if isnum "$1"; then
		awk -v v="$1" -v d="$2" -v k="${3:-1}" 'BEGIN {printf "%.*f\n", d, v * k}'
	else
		printf '%s\n' "${1:-n/a}"
	fi
}

ratio() {
	if isnum "$1" && isnum "$2" && awk -v b="$2" 'BEGIN {exit !(b > 0)}'; then
		awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2fx\n", a / b}'
	else
		printf '—\n'
	fi
}

# best_peer TEST METRIC higher|lower: the best vsftpd/pure-ftpd median.
best_peer() {
	local v best=
	for v in "${MED[$1|vsftpd|$2]:-}" "${MED[$1|pure-ftpd|$2]:-}"; do
		isnum "$v" || continue
		if [ -z "$best" ]; then
			best=$v
		elif [ "$3" = higher ]; then
			best=$(awk -v a="$best" -v b="$v" 'BEGIN {print (b > a) ? b : a}')
		else
			best=$(awk -v a="$best" -v b="$v" 'BEGIN {print (b < a) ? b : a}')
		fi
	done
	printf '%s\n' "${best:-n/a}"
}

# row LABEL UNIT TEST METRIC DEC SCALE higher|lower TARGET_KIND FACTOR
#   TARGET_KIND: raw (keepftpd >= FACTOR x raw), peer (>= or <= FACTOR x
#   best peer, by the direction), none.
row() {
	local label=$1 unit=$2 t=$3 m=$4 dec=$5 k=$6 dir=$7 kind=$8 f=$9
	local kf vs pf raw best target met="—" cmp
	kf=${MED[$t|keepftpd|$m]:-n/a}
	vs=${MED[$t|vsftpd|$m]:-n/a}
	pf=${MED[$t|pure-ftpd|$m]:-n/a}
	raw="—"
	best=$(best_peer "$t" "$m" "$dir")
	case "$kind" in
	raw)
		raw=${MED[raw|raw|MBps]:-n/a}
		target="≥${f}x raw ($(ratio "$kf" "$raw"))"
		cmp=$raw ;;
	peer)
		if [ "$dir" = higher ]; then target="≥${f}x best peer"; else target="≤${f}x best peer"; fi
		cmp=$best ;;
	*) target="—"; cmp= ;;
	esac
	if [ -n "$cmp" ]; then
		if isnum "$kf" && isnum "$cmp"; then
			if awk -v a="$kf" -v b="$cmp" -v f="$f" -v d="$dir" \
				'BEGIN {exit !(d == "higher" ? a >= f * b : a <= f * b)}'; then
				met=yes
			else
				met=no
			fi
		else
			met=no
		fi
	fi
	[ "$raw" = "—" ] || raw=$(fmt "$raw" "$dec" "$k")
	printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$label" "$unit" \
		"$(fmt "$kf" "$dec" "$k")" "$(fmt "$vs" "$dec" "$k")" "$(fmt "$pf" "$dec" "$k")" \
		"$raw" \
		"$(ratio "$kf" "$vs")" "$(ratio "$kf" "$best")" "$target" "$met"
}

idle_rows() {
	local n s line
	IFS=, read -r -a IDLE_NS <<<"$IDLE_LIST"
	for n in "${IDLE_NS[@]}"; do
		line="| $n"
		for s in "${PEERS_AND_KF[@]}"; do
			line+=" | $(fmt "${MED[idle_$n|$s|pss_kib_per_session]:-n/a}" 0)"
		done
		for s in "${PEERS_AND_KF[@]}"; do
			line+=" | $(fmt "${MED[idle_$n|$s|pss_anon_kib_per_session]:-n/a}" 0)"
		done
		for s in "${PEERS_AND_KF[@]}"; do
			line+=" | $(fmt "${MED[idle_$n|$s|rate_while_held]:-n/a}" 0)"
		done
		for s in "${PEERS_AND_KF[@]}"; do
			line+=" | $(fmt "${MED[idle_$n|$s|login_seconds]:-n/a}" 1)"
		done
		printf '%s |\n' "$line"
	done
}

# The idle session count of the main table: 1000 (the issue's figure)
# when measured, else the largest one.
main_idle_n() {
	local n best=0
	IFS=, read -r -a IDLE_NS <<<"$IDLE_LIST"
	for n in "${IDLE_NS[@]}"; do
		[ "$n" -eq 1000 ] && { echo 1000; return 0; }
		[ "$n" -gt "$best" ] && best=$n
	done
	echo "$best"
}

kf_version() {
	local v c
	v=$("$KF_BIN" --version 2>/dev/null | head -1) || v=unknown
	v=${v#keepftpd }
	c=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null) || c=unknown
	if [ -n "$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
		c+="+changes"
	fi
	printf '%s (commit %s)\n' "$v" "$c"
}

render() {
	local ni cpu_how note
	ni=$(main_idle_n)
	if [ "$CG_OK" -eq 1 ]; then
		cpu_how="cgroup v1 cpuacct, the server's whole process tree"
	elif [ "$CG_OK" -eq 2 ]; then
		cpu_how="cgroup v2 cpu.stat, the server's whole process tree"
	else
		cpu_how="utime+stime+cutime+cstime of the server's main process"
	fi
	cat <<HDR
### keepftpd vs vsftpd vs pure-ftpd (bench/run.sh)

- date: $(date -u '+%Y-%m-%d %H:%M UTC'); kernel $(uname -r); CPU: $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo) × $(nproc)
- keepftpd $(kf_version); vsftpd $VS_VER; pure-ftpd $PF_VER (Debian packages, unpacked); $(openssl version | cut -d' ' -f1-2)
- medians of $ROUNDS interleaved rounds; RETR/STOR/FTPS ${SIZE_MIB} MiB, 8 × ${PAR_MIB} MiB parallel RETR, LIST/MLSD of ${ENTRIES} entries, sessions: $SESS_CLIENTS clients × ${SESS_SECONDS} s; one user kfbench with one sha512-crypt hash; loopback
- server CPU: $cpu_how; MB = 10^6 bytes

| metric | unit | keepftpd | vsftpd | pure-ftpd | raw | keepftpd/vsftpd | keepftpd/best peer | target | met |
|---|---|---|---|---|---|---|---|---|---|
HDR
	row "RETR ${SIZE_MIB} MiB" MB/s retr MBps 0 1 higher raw 0.95
	row "STOR ${SIZE_MIB} MiB" MB/s stor MBps 0 1 higher peer 2
	row "8 parallel RETR × ${PAR_MIB} MiB" MB/s pretr MBps 0 1 higher none 1
	row "FTPS (PROT P) RETR ${SIZE_MIB} MiB" MB/s ftps MBps 0 1 higher peer 1.5
	row "LIST ${ENTRIES} entries" ms list seconds 1 1000 lower peer 0.5
	row "MLSD ${ENTRIES} entries" ms mlsd seconds 1 1000 lower peer 0.5
	row "sessions/s, password user" 1/s sess_user rate 0 1 higher peer 2
	row "sessions/s, anonymous" 1/s sess_anon rate 0 1 higher peer 2
	row "p99 session latency, password user" ms sess_user p99ms 1 1 lower none 1
	row "p99 session latency, anonymous" ms sess_anon p99ms 1 1 lower none 1
	row "server CPU per session, password user" ms sess_user cpu_ms_per_session 2 1 lower peer 0.5
	row "server CPU per session, anonymous" ms sess_anon cpu_ms_per_session 2 1 lower peer 0.5
	row "server CPU per GiB, RETR" s/GiB retr cpu_s_per_gib 3 1 lower none 1
	row "server CPU per GiB, STOR" s/GiB stor cpu_s_per_gib 3 1 lower none 1
	row "server CPU per GiB, FTPS RETR" s/GiB ftps cpu_s_per_gib 3 1 lower none 1
	row "idle PSS per logged-in session, password user ($ni sessions)" KiB "idle_$ni" pss_kib_per_session 0 1 lower peer 0.5
	row "idle PSS per logged-in session, anonymous ($ni sessions)" KiB "idle_$ni" pss_anon_kib_per_session 0 1 lower peer 0.5
	cat <<HDR

Idle logged-in sessions: PSS per session of the password user (kfbench) and of anonymous sessions; with N password-user sessions held, the sessions/s of $SESS_CLIENTS more clients (password user) and the time it took to log the N in:

| sessions | PSS KiB user keepftpd | vsftpd | pure-ftpd | PSS KiB anon keepftpd | vsftpd | pure-ftpd | sessions/s held keepftpd | vsftpd | pure-ftpd | login s keepftpd | vsftpd | pure-ftpd |
|---|---|---|---|---|---|---|---|---|---|---|---|---|
HDR
	idle_rows
	[ -z "${KF_BASE_BIN:-}" ] || base_table
	if [ "${#NOTES[@]}" -gt 0 ]; then
		printf '\nNotes:\n'
		for note in "${NOTES[@]}"; do printf -- '- %s\n' "$note"; done
	fi
	printf '\nPer-round figures: %s\n' "$(basename "${OUT%.md}.csv")"
}

# base_row LABEL UNIT TEST METRIC DEC higher|lower: keepftpd against
# kf-base (--base), "as good" meaning >= (higher) or <= (lower).
base_row() {
	local kf bs ok=no
	kf=${MED[$3|keepftpd|$4]:-n/a}
	bs=${MED[$3|kf-base|$4]:-n/a}
	if isnum "$kf" && isnum "$bs" && awk -v a="$kf" -v b="$bs" -v d="$6" \
		'BEGIN {exit !(d == "higher" ? a >= b : a <= b)}'; then
		ok=yes
	fi
	printf '| %s | %s | %s | %s | %s | %s |\n' "$1" "$2" "$(fmt "$kf" "$5")" \
		"$(fmt "$bs" "$5")" "$(ratio "$kf" "$bs")" "$ok"
}

base_table() {
	local ni n
	ni=$(main_idle_n)
	cat <<HDR

keepftpd against kf-base, keepftpd built at $KF_BASE_DESC (--base), in the same rounds:

| metric | unit | keepftpd | kf-base | keepftpd/kf-base | as good |
|---|---|---|---|---|---|
HDR
	base_row "sessions/s, password user" 1/s sess_user rate 0 higher
	base_row "sessions/s, anonymous" 1/s sess_anon rate 0 higher
	base_row "p99 session latency, password user" ms sess_user p99ms 1 lower
	base_row "p99 session latency, anonymous" ms sess_anon p99ms 1 lower
	base_row "server CPU per session, password user" ms sess_user cpu_ms_per_session 2 lower
	base_row "server CPU per session, anonymous" ms sess_anon cpu_ms_per_session 2 lower
	IFS=, read -r -a IDLE_NS <<<"$IDLE_LIST"
	for n in "${IDLE_NS[@]}"; do
		base_row "idle PSS per session, password user ($n)" KiB "idle_$n" pss_kib_per_session 0 lower
		base_row "idle PSS per session, anonymous ($n)" KiB "idle_$n" pss_anon_kib_per_session 0 lower
	done
}

update_readme() {
	local readme="$ROOT/docs/PERFORMANCE.md"	# the README links to it
	if ! grep -q '^<!-- bench:begin -->$' "$readme" ||
		! grep -q '^<!-- bench:end -->$' "$readme"; then
		die "docs/PERFORMANCE.md has no <!-- bench:begin --> / <!-- bench:end --> markers"
	fi
	awk -v f="$OUT" '
		/^<!-- bench:begin -->$/ {print; while ((getline l < f) > 0) print l; skip = 1; next}
		/^<!-- bench:end -->$/ {skip = 0}
		!skip {print}' "$readme" >"$W/README.new"
	cat "$W/README.new" >"$readme"
	log "docs/PERFORMANCE.md: table updated"
}

write_report() {
	load_medians
	mkdir -p "$(dirname "$OUT")"
	render >"$W/report.md"
	cp "$W/report.md" "$OUT"
	cp "$CSV" "${OUT%.md}.csv"
	cat "$OUT"
	log "written: $OUT and ${OUT%.md}.csv"
	[ "$UPDATE_README" -eq 0 ] || update_readme
}
