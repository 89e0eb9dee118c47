#!/bin/sh
# clang-tidy over every src/ file of the compile database meson writes
# (BUILDDIR/compile_commands.json), with the checks of .clang-tidy.
# Fails on any warning (WarningsAsErrors) or when clang-tidy fails.
#   scripts/check-tidy.sh [ROOT [BUILDDIR]]    BUILDDIR defaults to ROOT/build
# Exit 77 (a skip) when clang-tidy is not installed.
root=$(cd "${1:-.}" && pwd) || exit 1
build=${2:-$root/build}
db=$build/compile_commands.json
ct=
for c in clang-tidy-14 clang-tidy; do
	if command -v "$c" >/dev/null 2>&1; then
		ct=$c
		break
	fi
done
if [ -z "$ct" ]; then
	echo "clang-tidy not found (apt-get install clang-tidy)"
	exit 77
fi
if [ ! -f "$db" ]; then
	echo "no $db: run meson setup first"
	exit 1
fi
files=$(python3 -c '
import json, os, sys
root = sys.argv[2]
seen = set()
for e in json.load(open(sys.argv[1])):
    f = os.path.normpath(os.path.join(e["directory"], e["file"]))
    if f.startswith(root + "/src/") and f not in seen:
        seen.add(f)
        print(f)
' "$db" "$root") || exit 1
if [ -z "$files" ]; then
	echo "no src/ file in $db"
	exit 1
fi
tmp=$(mktemp -d /tmp/keepftpd-tidy.XXXXXX) || exit 1
log=$tmp/log
# The database as clang sees it: gcc-only flags out (clang 14 refuses
# -fzero-call-used-regs and wants a warning flag with
# -ftrivial-auto-var-init=zero), and one entry per file: a file built
# into both images (src/common/, ...) has two, and clang-tidy 14 then
# analyses it twice in one process, which makes its va_list checker
# report every va_list as uninitialized.
python3 -c '
import json, os, shlex, sys
gcc_only = ("-fzero-call-used-regs=", "-ftrivial-auto-var-init=")
db, seen = [], set()
for e in json.load(open(sys.argv[1])):
    f = os.path.normpath(os.path.join(e["directory"], e["file"]))
    if f in seen:
        continue
    seen.add(f)
    args = e.pop("arguments", None) or shlex.split(e["command"])
    e["command"] = shlex.join(a for a in args if not a.startswith(gcc_only))
    db.append(e)
json.dump(db, open(sys.argv[2], "w"), indent=1)
' "$db" "$tmp/compile_commands.json" || exit 1
jobs=$(nproc 2>/dev/null || echo 2)
# one clang-tidy per file, in parallel; each prints only its findings
printf '%s\n' $files | xargs -P "$jobs" -n 1 "$ct" -p "$tmp" --quiet \
    >"$log" 2>&1
rc=$?
n=$(grep -cE '(warning|error): ' "$log")
if [ "$rc" -ne 0 ] || [ "$n" -ne 0 ]; then
	grep -E '(warning|error): ' -A3 "$log" | head -n 200
	echo "clang-tidy: $n finding(s) in $(printf '%s\n' $files | wc -l) files (exit $rc)"
	rm -rf "$tmp"
	exit 1
fi
rm -rf "$tmp"
echo "clang-tidy: $(printf '%s\n' $files | wc -l) files clean"
