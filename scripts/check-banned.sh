#!/bin/sh
# Fails when a banned function appears in src/: unbounded copies, format
# strings built at run time, shells and number parsers that accept junk.
root=${1:-.}
banned='strcpy|strcat|sprintf|vsprintf|gets|strtok|atoi|atol|atoll|sscanf|alloca|system|popen|strncpy|strncat|tmpnam|mktemp'
hits=$(grep -rnE "(^|[^a-z_0-9.>])($banned)[[:space:]]*\(" "$root/src" --include='*.c' --include='*.h' | grep -vE '(snprintf|vsnprintf)' )
if [ -n "$hits" ]; then
	echo "banned functions used:"
	echo "$hits"
	exit 1
fi
echo "no banned functions"
