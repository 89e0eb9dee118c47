#!/bin/sh
# run.sh - build the libFuzzer targets into a build directory and run
# each one briefly on a scratch copy of its committed corpus (new
# inputs never land in the repository), one per core at a time.
# scripts/test.sh runs it (10 s a target) into build-fuzz.
#
# usage: tests/fuzz/run.sh [seconds] [builddir]
#   seconds   per target (default 10)
#   builddir  default /tmp/build-fuzz (set up with clang when missing)
# Exit status: 0 when no target found anything; crashes are kept in
# $builddir/fuzz-out/<target>/ (crash-*, leak-*, timeout-*, oom-*).
set -eu

secs=${1:-10}
build=${2:-/tmp/build-fuzz}
src=$(cd "$(dirname "$0")/../.." && pwd)
targets="command conf ipc path users glob ascii args ctrl http proxy logrec hash_rec"

if [ ! -f "$build/build.ninja" ]; then
	CC=clang meson setup "$build" "$src" -Dfuzz=true -Db_lundef=false
fi
# only the fuzz targets: the rest of the tree is built and tested by gcc
names=""
for t in $targets; do
	names="$names tests/fuzz/fuzz_$t"
done
# shellcheck disable=SC2086
ninja -C "$build" $names

# One target on its scratch corpus; its verdict goes to $out/status.
run_one() {
	out="$build/fuzz-out/$1"
	rm -rf "$out"
	mkdir -p "$out/corpus"
	cp "$src/tests/fuzz/corpus/$1/"* "$out/corpus/"
	if "$build/tests/fuzz/fuzz_$1" -max_total_time="$secs" \
	    -artifact_prefix="$out/" "$out/corpus" >"$out/log" 2>&1; then
		echo ok >"$out/status"
	else
		echo FAILED >"$out/status"
	fi
}

# As many targets at once as there are cores (each one runs on one),
# then the reports in the targets' order.
jobs=$(nproc 2>/dev/null || echo 1)
running=0
for t in $targets; do
	run_one "$t" &
	running=$((running + 1))
	if [ "$running" -ge "$jobs" ]; then
		wait
		running=0
	fi
done
wait

failed=""
for t in $targets; do
	out="$build/fuzz-out/$t"
	echo "== fuzz_$t: $secs s"
	if [ "$(cat "$out/status" 2>/dev/null)" != ok ]; then
		failed="$failed $t"
		tail -n 40 "$out/log"
		echo "fuzz_$t: FAILED"
	else
		echo "fuzz_$t: ok"
	fi
	grep -E '^Done [0-9]+ runs' "$out/log" || true
done

if [ -n "$failed" ]; then
	echo "fuzz: FAILED:$failed (reproducers in $build/fuzz-out/)"
	exit 1
fi
echo "fuzz: all targets ran $secs s without a finding"
