#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause
# The include rules of docs/architecture.md ("Layers"), checked on the
# source tree:
#  1. A file under src/devices/<name>/ includes, of the project's headers,
#     only the public core header "vhost-device.h", the generated
#     "config.h" and headers of its own device (src/devices/<name>/).
#     Whatever vhost-device.h includes is the core's business.
#  2. A core file includes only headers of its own layer or of the layers
#     below it: log < util < mem < vq < vhost-user < daemon.  The public
#     header vhost-device.h is the core's contract with devices; only the
#     vhost-user and daemon layers, which implement it, include it.
# Every violation is printed as FILE:LINE: what is wrong; exit 1 if any.
set -u
S=${VHD_SRCDIR:-$(dirname "$0")/..}
cd "$S" || exit 99
[ -f src/vhost-device.h ] || { echo "src/vhost-device.h not found under $S"; exit 99; }

out=$(mktemp /tmp/vhd-includes.XXXXXX) || exit 99
trap 'rm -f "$out"' EXIT

# Layer rank of a core path (src/...), or of an included header.
rank() {
	case $1 in
	log.h|src/log.[ch]) echo 0 ;;
	util/*|src/util/*) echo 1 ;;
	mem/*|src/mem/*) echo 2 ;;
	vq/*|src/vq/*) echo 3 ;;
	vhost-user/*|src/vhost-user/*) echo 4 ;;
	daemon/*|src/daemon/*) echo 5 ;;
	*) echo "" ;;
	esac
}

# Rule 1: devices.
for f in $(find src/devices -name '*.[ch]' | sort); do
	dev=${f#src/devices/}; dev=${dev%%/*}
	dir=$(dirname "$f")
	grep -n '^[[:space:]]*#[[:space:]]*include' "$f" | while IFS= read -r l; do
		n=${l%%:*}
		h=$(printf '%s\n' "$l" | sed -n 's/.*#[[:space:]]*include[[:space:]]*["<]\([^">]*\)[">].*/\1/p')
		case $h in
		vhost-device.h|config.h) continue ;;
		devices/"$dev"/*) continue ;;
		esac
		# A header next to the file ("vsock-pkt.h") is the device's own.
		if [ -f "$dir/$h" ]; then continue; fi
		if [ -f "src/$h" ]; then
			echo "$f:$n: includes core header $h; a device includes only vhost-device.h (and its own headers)"
		fi
	done
done >"$out"

# Rule 2: core layers.
for f in $(find src -path src/devices -prune -o -name '*.[ch]' -print | sort); do
	[ "$f" = src/vhost-device.h ] && continue
	fr=$(rank "$f")
	[ -n "$fr" ] || { echo "$f: not in any layer of docs/architecture.md; add it to tests/check-includes.sh"; continue; }
	grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" | while IFS= read -r l; do
		n=${l%%:*}
		h=$(printf '%s\n' "$l" | sed -n 's/.*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p')
		case $h in
		config.h) continue ;;
		vhost-device.h)
			[ "$fr" -ge 4 ] || echo "$f:$n: includes the public header vhost-device.h from below the vhost-user layer"
			continue ;;
		devices/*)
			echo "$f:$n: the core includes device header $h"; continue ;;
		esac
		hr=$(rank "$h")
		if [ -z "$hr" ]; then
			[ -f "src/$h" ] && echo "$f:$n: includes $h, which is in no layer"
			continue
		fi
		[ "$hr" -le "$fr" ] || echo "$f:$n: includes $h from a layer above its own"
	done
done >>"$out"

if [ -s "$out" ]; then
	cat "$out"
	echo "FAIL: $(wc -l <"$out") include rule violation(s) (docs/architecture.md, \"Layers\")"
	exit 1
fi
echo "ok: devices include only vhost-device.h and their own headers; core layers include downwards only"
exit 0
