#!/bin/sh
# meson install script: install data/keepftpd.conf as DIR/keepftpd.conf
# only when that file does not exist yet, so that `meson install` never
# overwrites an administrator's configuration (install_data would).
# Usage: install-conf.sh SOURCE DIR   (DIR absolute; DESTDIR honoured)
set -eu
src=$1
dir=${DESTDIR:-}$2
dst=$dir/keepftpd.conf
if [ -e "$dst" ] || [ -L "$dst" ]; then
	echo "Keeping existing $dst (the default is $src)"
	exit 0
fi
[ -d "$dir" ] || mkdir -p -m 0755 "$dir"
# a temporary name, then rename: never a half-written configuration
install -m 0644 "$src" "$dst.tmp.$$"
mv -f "$dst.tmp.$$" "$dst"
echo "Installing $src to $dst"
