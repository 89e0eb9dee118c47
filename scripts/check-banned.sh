#!/bin/sh
# Fails when a banned function appears in src/: unbounded copies, format
# strings built at run time, shells and number parsers that accept junk.
# The strto* family (signs, leading space, silent wrap, errno-only
# overflow) is allowed only in the cursor module, src/common/cursor.c;
# everything else parses numbers with cursor_u64() and friends.
root=${1:-.}
banned='strcpy|strcat|sprintf|vsprintf|gets|strtok|atoi|atol|atoll|sscanf|alloca|system|popen|strncpy|strncat|tmpnam|mktemp'
strto='strtol|strtoul|strtoll|strtoull|strtoimax|strtoumax'
hits=$(grep -rnE "(^|[^a-z_0-9.>])($banned)[[:space:]]*\(" "$root/src" --include='*.c' --include='*.h' | grep -vE '(snprintf|vsnprintf)' )
hits2=$(grep -rnE "(^|[^a-z_0-9.>])($strto)[[:space:]]*\(" "$root/src" --include='*.c' --include='*.h' | grep -vE "^$root/src/common/cursor\.c:")
if [ -n "$hits$hits2" ]; then
	echo "banned functions used:"
	[ -n "$hits" ] && echo "$hits"
	[ -n "$hits2" ] && echo "$hits2 (strto*: use the cursor parser, src/common/cursor.h)"
	exit 1
fi
echo "no banned functions"
