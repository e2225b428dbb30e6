#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause
# vhost-device-vsock as a program: argument errors exit 1 with a message
# and create no file; the three forms (flags, --vm, --config) start the
# sockets they name; SIGTERM removes every socket the process created
# (vhost-user sockets, uds_path, uds_path_seqpacket); a stale uds socket is
# replaced, a regular file in its place refused.
set -u
# shellcheck source-path=SCRIPTDIR source=../cli/lib.sh
. "$(dirname "$0")/../cli/lib.sh"
P=vhost-device-vsock
VS=$B/$P

expect_exit $P 0 "--vm KEY=VALUE" --help
expect_exit $P 0 "--forward-listen" --help
expect_exit $P 0 '"type": "vsock"' --print-capabilities
expect_exit $P 1 "nothing to serve"
expect_exit $P 1 "missing --uds-path" --socket "$S/v.sock"
expect_exit $P 1 "missing --socket" --uds-path "$S/u"
expect_exit $P 1 "exclude each other" --socket "$S/v.sock" --uds-path "$S/u" --forward-cid 1
expect_exit $P 1 "excludes --vm" --guest-cid 4 --vm "socket=$S/v.sock,uds-path=$S/u"
expect_exit $P 1 "--config and --vm exclude each other" --vm "socket=$S/v.sock,uds-path=$S/u" --config "$S/c.yaml"
expect_exit $P 1 "guest CID 3 is used by two VMs" \
	--vm "socket=$S/a.sock,uds-path=$S/ua" --vm "socket=$S/b.sock,uds-path=$S/ub"
expect_exit $P 1 "unknown key 'group'" --vm "socket=$S/a.sock,uds-path=$S/ua,group=x"
expect_exit $P 1 "--guest-cid '2'" --socket "$S/v.sock" --uds-path "$S/u" --guest-cid 2
expect_exit $P 1 "--tx-buffer-size '0'" --socket "$S/v.sock" --uds-path "$S/u" --tx-buffer-size 0
expect_exit $P 1 "not --socket-path" -s "$S/v.sock" --uds-path "$S/u"
expect_exit $P 1 "--socket given twice" --socket "$S/v.sock" --socket "$S/w.sock" --uds-path "$S/u"

# The three forms.
run_and_stop $P "standalone flags" "$T/v.sock $T/u $T/u_seqpacket" \
	--socket "$T/v.sock" --uds-path "$T/u" --guest-cid 7 --groups a+b
run_and_stop $P "two --vm" "$T/a.sock $T/b.sock $T/ua $T/ub" \
	--vm "guest-cid=3,socket=$T/a.sock,uds-path=$T/ua" \
	--vm "guest_cid=4,socket=$T/b.sock,uds_path=$T/ub,tx_buffer_size=32768,queue_size=256"
if "$VS" --help | grep -q "YAML"; then
	cat >"$T/c.yaml" <<EOF
vms:
  - guest_cid: 5
    socket: $T/c5.sock
    uds_path: $T/u5
  - guest-cid: 6
    socket: $T/c6.sock
    uds-path: $T/u6
    groups: [g1, g2]
EOF
	out=$("$VS" --config "$T/c.yaml" --vm "socket=$T/z.sock,uds-path=$T/z" 2>&1)
	case $out in *"exclude"*) ok "--config with --vm refused" ;; *) bad "--config with --vm: $out" ;; esac
	if "$VS" --config /dev/null 2>&1 | grep -q "no YAML support"; then
		ok "--config refused: this build has no libyaml"
	else
		run_and_stop $P "--config" "$T/c5.sock $T/c6.sock $T/u5 $T/u6" --config "$T/c.yaml"
	fi
fi

# A stale uds socket is replaced; a regular file is refused.
python3 -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])" "$T/stale" 2>/dev/null
if [ -S "$T/stale" ]; then
	run_and_stop $P "stale uds socket replaced" "$T/v2.sock $T/stale" --socket "$T/v2.sock" --uds-path "$T/stale"
fi
mkdir -p "$T/s"
: >"$T/s/file"
"$VS" --socket "$T/s/v.sock" --uds-path "$T/s/file" >"$T/out" 2>&1
st=$?
if [ $st -eq 1 ] && grep -q "is not a socket" "$T/out" && [ ! -e "$T/s/v.sock" ]; then
	ok "a regular file at uds_path is refused, no socket left"
else
	bad "regular file at uds_path: status $st, $(head -c 300 "$T/out")"
fi

finish
