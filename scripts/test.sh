#!/usr/bin/env bash
# The one test command: dependencies, the format check,
# release + ASan/UBSan builds, clang-tidy, unit tests (meson) on both,
# fuzz targets, end-to-end tests (pytest) against both binaries.
# Keeps going after a failing step; the very last line is "N passed, M failed".
# Exit status is non-zero if anything failed, errored, or if nothing ran.
set -u
cd "$(dirname "$0")/.." || exit 1
ROOT=$(pwd)

PASSED=0
FAILED=0
LOGDIR=$(mktemp -d /tmp/keepftpd-test.XXXXXX)

step() { printf '\n=== %s\n' "$*"; }

# A step that produces no test counts: a failure counts as one failed test.
run_plain() {
  local name=$1; shift
  step "$name"
  if "$@"; then
    return 0
  fi
  echo "*** step failed: $name" >&2
  FAILED=$((FAILED + 1))
  return 1
}

setup_dir() {
  local dir=$1; shift
  if [ -f "$dir/meson-private/coredata.dat" ]; then
    meson setup --reconfigure "$dir" "$@" ||
      meson setup --wipe "$dir" "$@"
  else
    rm -rf "$dir"
    meson setup "$dir" "$@"
  fi
}

# meson test summary: "Ok: N", "Fail: N", "Unexpected Pass: N", "Timeout: N".
run_meson_test() {
  local dir=$1 log="$LOGDIR/meson-test-$1.log" rc ok fail
  step "unit tests ($dir)"
  if [ ! -f "$dir/build.ninja" ]; then
    echo "*** no build in $dir" >&2
    FAILED=$((FAILED + 1))
    return
  fi
  meson test -C "$dir" --print-errorlogs 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  ok=$(sed -n 's/^Ok:[[:space:]]*\([0-9][0-9]*\).*/\1/p' "$log" | tail -n1)
  fail=0
  for key in 'Fail' 'Unexpected Pass' 'Timeout'; do
    n=$(sed -n "s/^${key}:[[:space:]]*\([0-9][0-9]*\).*/\1/p" "$log" | tail -n1)
    fail=$((fail + ${n:-0}))
  done
  if [ -z "$ok" ]; then
    echo "*** could not read meson test summary ($dir)" >&2
    fail=$((fail + 1))
    ok=0
  elif [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then
    fail=1
  fi
  PASSED=$((PASSED + ok))
  FAILED=$((FAILED + fail))
}

# pytest summary line: "3 failed, 10 passed, 2 skipped, 1 error in 12.3s".
run_pytest() {
  local bin=$1 tag=$2 log="$LOGDIR/pytest-$2.log" rc summary p f e
  step "e2e tests (KEEPFTPD=$bin)"
  if [ ! -x "$bin" ]; then
    echo "*** $bin not built" >&2
    FAILED=$((FAILED + 1))
    return
  fi
  KEEPFTPD="$ROOT/$bin" \
  ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1 \
    /usr/bin/python3 -m pytest -q -rfE -p no:cacheprovider tests/e2e 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  summary=$(grep -E '[0-9]+ (passed|failed|errors?|skipped|deselected)|no tests ran' "$log" | tail -n1)
  p=$(grep -oE '[0-9]+ passed' <<<"$summary" | grep -oE '[0-9]+' | head -n1)
  f=$(grep -oE '[0-9]+ failed' <<<"$summary" | grep -oE '[0-9]+' | head -n1)
  e=$(grep -oE '[0-9]+ errors?' <<<"$summary" | grep -oE '[0-9]+' | head -n1)
  p=${p:-0}; f=${f:-0}; e=${e:-0}
  if [ "$rc" -eq 5 ] || [ $((p + f + e)) -eq 0 ]; then
    echo "*** pytest ran no tests (exit $rc)" >&2
    f=$((f + 1))
  elif [ "$rc" -ne 0 ] && [ $((f + e)) -eq 0 ]; then
    echo "*** pytest exited $rc" >&2
    f=$((f + 1))
  fi
  PASSED=$((PASSED + p))
  FAILED=$((FAILED + f + e))
}

run_plain "dependencies" bash scripts/deps.sh

# A step that is one test: passed or failed (a skip, exit 77, counts as
# failed here: the dependencies step installs the tools).
run_check() {
  local name=$1; shift
  step "$name"
  if "$@"; then
    PASSED=$((PASSED + 1))
  else
    echo "*** check failed: $name" >&2
    FAILED=$((FAILED + 1))
  fi
}

run_check "format (scripts/check-format.sh)" sh scripts/check-format.sh .

if run_plain "configure build" setup_dir build; then
  run_plain "compile build" ninja -C build
fi
if run_plain "configure build-asan" setup_dir build-asan \
    -Db_sanitize=address,undefined -Db_lundef=false; then
  run_plain "compile build-asan" ninja -C build-asan
fi

# clang-tidy (.clang-tidy) over src/ with build/compile_commands.json
if [ -f build/compile_commands.json ]; then
  run_check "clang-tidy (scripts/check-tidy.sh)" sh scripts/check-tidy.sh . build
else
  echo "*** no build/compile_commands.json for clang-tidy" >&2
  FAILED=$((FAILED + 1))
fi

run_meson_test build
run_meson_test build-asan

# The Debian package (issue 15): built (about a minute, tests off: they
# run above), its contents listed, lintian without errors; one test.
run_deb() {
  step "Debian package (scripts/build-deb.sh)"
  if bash scripts/build-deb.sh "$ROOT/build-deb"; then
    PASSED=$((PASSED + 1))
  else
    echo "*** step failed: Debian package" >&2
    FAILED=$((FAILED + 1))
  fi
}
run_deb

# libFuzzer targets (clang), 10 s each; each target is one test
run_fuzz() {
  local log="$LOGDIR/fuzz.log" ok fail rc
  step "fuzz targets (tests/fuzz/run.sh, 10 s each)"
  bash tests/fuzz/run.sh 10 "$ROOT/build-fuzz" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  ok=$(grep -cE '^fuzz_[a-z_]+: ok$' "$log")
  fail=$(grep -cE '^fuzz_[a-z_]+: FAILED$' "$log")
  if [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then
    fail=1
  fi
  if [ "$ok" -eq 0 ] && [ "$fail" -eq 0 ]; then
    echo "*** no fuzz target ran" >&2
    fail=1
  fi
  PASSED=$((PASSED + ok))
  FAILED=$((FAILED + fail))
}
run_fuzz

run_pytest build/keepftpd release
run_pytest build-asan/keepftpd asan

rm -rf "$LOGDIR"
echo
TOTAL=$((PASSED + FAILED))
echo "$PASSED passed, $FAILED failed"
if [ "$FAILED" -ne 0 ] || [ "$TOTAL" -eq 0 ]; then
  exit 1
fi
exit 0
