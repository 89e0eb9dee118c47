#!/bin/sh
# Every bound in src/common/limits.h is documented in docs/LIMITS.md, and
# the value written there is the value in the header.
root=${1:-.}
hdr="$root/src/common/limits.h"
doc="$root/docs/LIMITS.md"
status=0
for name in $(sed -n 's/^#define \(KF_[A-Z0-9_]*\)[[:space:]].*/\1/p' "$hdr"); do
	case $name in KF_LIMITS_*) continue ;; esac
	value=$(sed -n "s/^#define $name[[:space:]][[:space:]]*\([^/]*[^/[:space:]]\).*/\1/p" "$hdr")
	row=$(grep -F "| \`$name\` |" "$doc")
	if [ -z "$row" ]; then
		echo "$name ($value) is not in docs/LIMITS.md"
		status=1
	elif ! printf '%s\n' "$row" | grep -qF "| \`$value\` |"; then
		echo "$name: docs/LIMITS.md does not give its value $value"
		status=1
	fi
done
[ $status -eq 0 ] && echo "every limit is documented"
exit $status
