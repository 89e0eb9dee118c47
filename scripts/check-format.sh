#!/bin/sh
# Fails when a C file is not as clang-format writes it with the tree's
# .clang-format: src/, tests/unit/, tests/fuzz/ and bench/*.c.
#   scripts/check-format.sh [ROOT]        check; list the files and a diff
#   scripts/check-format.sh --fix [ROOT]  rewrite them in place
# Exit 77 (a skip for meson) when clang-format is not installed.
fix=0
if [ "${1:-}" = "--fix" ]; then
	fix=1
	shift
fi
root=${1:-.}
cd "$root" || exit 1
cf=
for c in clang-format-14 clang-format; do
	if command -v "$c" >/dev/null 2>&1; then
		cf=$c
		break
	fi
done
if [ -z "$cf" ]; then
	echo "clang-format not found (apt-get install clang-format)"
	exit 77
fi
files=$(find src tests/unit tests/fuzz bench -maxdepth 3 -type f \
    \( -name '*.c' -o -name '*.h' \) | sort)
files=$(printf '%s\n' $files | grep -vE '^bench/.+/')
if [ "$fix" -eq 1 ]; then
	# shellcheck disable=SC2086
	exec "$cf" -i --style=file $files
fi
bad=0
for f in $files; do
	if ! "$cf" --style=file "$f" | cmp -s "$f" -; then
		echo "not formatted: $f"
		"$cf" --style=file "$f" | diff -u "$f" - | head -n 20
		bad=$((bad + 1))
	fi
done
if [ "$bad" -ne 0 ]; then
	echo "$bad file(s) not formatted; scripts/check-format.sh --fix rewrites them"
	exit 1
fi
echo "$(printf '%s\n' $files | wc -l) files formatted"
