#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause
# --user and --group in the real programs (docs/security.md, "Running as
# another user"): after start-up vhost-device-rng runs as nobody/nogroup
# (all four Uid and Gid fields of /proc/PID/status, Groups exactly nogroup),
# its socket file is theirs, a frontend still gets data, SIGTERM ends it
# with status 0 -- and a socket it can no longer remove is a warning, not
# a failure.  A numeric uid works; --group alone changes only the group;
# an unknown user or group exits 1 naming it, before any socket exists.
# The socket files a device makes at start-up are the target's too
# (vhd_startup_path in src/vhost-device.h): vhost-device-vsock's uds-path
# sockets (flags and --vm) and vhost-device-gpio's simulator control
# sockets -- owned by nobody/nogroup, and a process running as nobody
# connects to them -- and vhost-device-console's pseudo-terminals (nobody
# opens them).
# Needs root (CI runs as root): otherwise skipped.
set -u
B=${VHD_BUILDDIR:-.}
RNG=$B/vhost-device-rng
VSOCK=$B/vhost-device-vsock
GPIO=$B/vhost-device-gpio
CONSOLE=$B/vhost-device-console
FE=$B/tools/vhost-user-frontend
pass=0
fail=0
pid=""

if [ "$(id -u)" -ne 0 ]; then
	echo "1..0 # SKIP changing the user needs root"
	exit 77
fi
U=$(id -u nobody 2>/dev/null) || U=""
UG=$(id -g nobody 2>/dev/null) || UG=""
G=$(getent group nogroup | cut -d: -f3)
if [ -z "$U" ] || [ -z "$UG" ] || [ -z "$G" ]; then
	echo "1..0 # SKIP no user nobody or group nogroup here"
	exit 77
fi

T=$(mktemp -d /tmp/vhd-privdrop.XXXXXX)
# nobody may pass through $T; $T/ro stays root's (nobody cannot remove
# what is in it), $T/rw is writable by everyone (sticky, like /tmp).
chmod 755 "$T"
mkdir "$T/ro" "$T/rw"
chmod 1777 "$T/rw"
cleanup() {
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

ok() { pass=$((pass + 1)); echo "ok - $1"; }
bad() { fail=$((fail + 1)); echo "not ok - $1"; }

# start SOCKET PROG ARGS...: run it with -v; wait for the socket file and
# for the line logged once the workers run (after the drop): the events.
# 30 s is only the failure bound.
start() {
	sock=$1
	shift
	"$@" -v >"$T/log" 2>&1 &
	pid=$!
	i=0
	while ! { [ -S "$sock" ] && grep -q "worker threads" "$T/log"; }; do
		if ! kill -0 "$pid" 2>/dev/null || [ $i -ge 300 ]; then
			return 1
		fi
		i=$((i + 1))
		sleep 0.1
	done
}

stop() {
	kill "$pid" 2>/dev/null
	wait "$pid"
	st=$?
	pid=""
	return $st
}

# ids FIELD: the four ids of a /proc/PID/status line, space-separated.
ids() {
	awk -v f="$1:" '$1 == f { $1 = ""; sub(/^ +/, ""); sub(/ +$/, ""); print }' "/proc/$pid/status"
}

# expect_ids DESCRIPTION UID GID
expect_ids() {
	d=$1
	want_u="$2 $2 $2 $2"
	want_g="$3 $3 $3 $3"
	got=$(ids Uid)
	[ "$got" = "$want_u" ] && ok "$d: Uid $got" || bad "$d: Uid '$got', expected '$want_u'"
	got=$(ids Gid)
	[ "$got" = "$want_g" ] && ok "$d: Gid $got" || bad "$d: Gid '$got', expected '$want_g'"
	got=$(ids Groups)
	[ "$got" = "$3" ] && ok "$d: Groups $got" || bad "$d: Groups '$got', expected exactly '$3'"
}

# The frontend reads 4096 bytes of entropy through the backend.
expect_data() {
	if "$FE" rng "$1" --bytes 4096 --out "$T/data" >"$T/fe" 2>&1 &&
	   [ "$(wc -c <"$T/data")" -eq 4096 ]; then
		ok "$2: the frontend reads 4096 bytes"
	else
		bad "$2: the frontend reads 4096 bytes ($(head -c 400 "$T/fe"))"
	fi
	rm -f "$T/data"
}

# -- nobody/nogroup, socket in a directory nobody may write --------------------
d="--user nobody --group nogroup"
if start "$T/rw/r0" "$RNG" -s "$T/rw/r" --user nobody --group nogroup; then
	expect_ids "$d" "$U" "$G"
	grep -q "running as user nobody ($U), group nogroup ($G)" "$T/log" &&
		ok "$d: says whom it runs as" || bad "$d: says whom it runs as ($(head -c 400 "$T/log"))"
	owner=$(stat -c %u:%g "$T/rw/r0")
	[ "$owner" = "$U:$G" ] && ok "$d: the socket file is $owner" ||
		bad "$d: the socket file is $owner, expected $U:$G"
	expect_data "$T/rw/r0" "$d"
	if stop; then ok "$d: SIGTERM ends it with status 0"; else bad "$d: SIGTERM ends it with status 0 (got $st; $(head -c 400 "$T/log"))"; fi
	[ ! -e "$T/rw/r0" ] && ok "$d: the socket file is removed at exit" ||
		bad "$d: the socket file is removed at exit"
else
	bad "$d: the backend runs ($(head -c 400 "$T/log"))"
	stop
fi

# -- a numeric uid (its primary group), socket in root's directory -------------
d="--user $U"
if start "$T/ro/r0" "$RNG" -s "$T/ro/r" --user "$U"; then
	expect_ids "$d" "$U" "$UG"
	expect_data "$T/ro/r0" "$d"
	if stop; then ok "$d: SIGTERM ends it with status 0 though the socket cannot be removed"; else bad "$d: SIGTERM ends it with status 0 (got $st; $(head -c 400 "$T/log"))"; fi
	grep -q "cannot remove the socket file" "$T/log" &&
		ok "$d: warns that the socket file stays" ||
		bad "$d: warns that the socket file stays ($(head -c 400 "$T/log"))"
	rm -f "$T/ro/r0"
else
	bad "$d: the backend runs ($(head -c 400 "$T/log"))"
	stop
fi

# -- --group alone: the user stays root -----------------------------------------
d="--group nogroup"
if start "$T/ro/r0" "$RNG" -s "$T/ro/r" --group nogroup; then
	expect_ids "$d" 0 "$G"
	expect_data "$T/ro/r0" "$d"
	if stop; then ok "$d: SIGTERM ends it with status 0"; else bad "$d: SIGTERM ends it with status 0 (got $st)"; fi
	[ ! -e "$T/ro/r0" ] && ok "$d: the socket file is removed at exit" ||
		bad "$d: the socket file is removed at exit"
else
	bad "$d: the backend runs ($(head -c 400 "$T/log"))"
	stop
fi

# -- socket files the devices make at start-up --------------------------------
# A python3 that nobody may run (a pyenv shim under /root is not one).
PY=""
for p in /usr/bin/python3 "$(command -v python3)"; do
	if [ -n "$p" ] && setpriv --reuid="$U" --regid="$G" --clear-groups "$p" -c pass 2>/dev/null; then
		PY=$p
		break
	fi
done

# owned_and_reachable DESCRIPTION PATH...: each file is a socket owned by
# nobody:nogroup, and a process running as nobody connects to it
# (connect(2) on a Unix socket needs write permission on the file).
owned_and_reachable() {
	d=$1
	shift
	for f in "$@"; do
		owner=$(stat -c %u:%g "$f" 2>/dev/null)
		[ -S "$f" ] && [ "$owner" = "$U:$G" ] && ok "$d: $f is a socket owned by $owner" ||
			bad "$d: $f is a socket owned by $owner, expected $U:$G"
		if [ -z "$PY" ]; then
			ok "$d: connecting to $f as nobody # SKIP no python3 that nobody may run"
			continue
		fi
		if setpriv --reuid="$U" --regid="$G" --clear-groups "$PY" -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET if sys.argv[1].endswith("_seqpacket") else socket.SOCK_STREAM)
s.connect(sys.argv[1])
' "$f" >"$T/py" 2>&1; then
			ok "$d: a process running as nobody connects to $f"
		else
			bad "$d: a process running as nobody connects to $f ($(tail -n 1 "$T/py"))"
		fi
	done
}

# stop_clean DESCRIPTION PATH...: SIGTERM ends it with status 0 and the
# files, now nobody's in a sticky directory, are removed.
stop_clean() {
	d=$1
	shift
	if stop; then ok "$d: SIGTERM ends it with status 0"; else bad "$d: SIGTERM ends it with status 0 (got $st; $(head -c 400 "$T/log"))"; fi
	for f in "$@"; do
		[ ! -e "$f" ] && ok "$d: $f is removed at exit" || bad "$d: $f is removed at exit"
	done
}

d="vhost-device-vsock --uds-path --user nobody"
if start "$T/rw/v.sock" "$VSOCK" --socket "$T/rw/v.sock" --uds-path "$T/rw/u" --guest-cid 3 \
	--user nobody --group nogroup; then
	expect_ids "$d" "$U" "$G"
	owned_and_reachable "$d" "$T/rw/v.sock" "$T/rw/u" "$T/rw/u_seqpacket"
	stop_clean "$d" "$T/rw/u" "$T/rw/u_seqpacket"
else
	bad "$d: the backend runs ($(head -c 400 "$T/log"))"
	stop
fi

d="vhost-device-vsock two --vm --user nobody"
if start "$T/rw/b.sock" "$VSOCK" --vm "socket=$T/rw/a.sock,uds-path=$T/rw/ua,guest-cid=3" \
	--vm "socket=$T/rw/b.sock,uds-path=$T/rw/ub,guest-cid=4" --user nobody; then
	owned_and_reachable "$d" "$T/rw/ua" "$T/rw/ub" "$T/rw/ub_seqpacket"
	stop_clean "$d" "$T/rw/ua" "$T/rw/ub"
else
	bad "$d: the backend runs ($(head -c 400 "$T/log"))"
	stop
fi

d="vhost-device-gpio --sim-socket --user nobody"
if start "$T/rw/g0" "$GPIO" -s "$T/rw/g" -l s8 --sim-socket "$T/rw/gc" --user nobody; then
	owned_and_reachable "$d" "$T/rw/g0" "$T/rw/gc0"
	stop_clean "$d" "$T/rw/gc0"
else
	bad "$d: the backend runs ($(head -c 400 "$T/log"))"
	stop
fi

# The pty path is in the log: "console0: pty /dev/pts/N (LINK)".
d="vhost-device-console --backend pty --user nobody"
if start "$T/rw/c0" "$CONSOLE" -s "$T/rw/c" --backend pty --user nobody; then
	pty=$(sed -n 's/.*console0: pty \(\/dev\/pts\/[0-9]*\).*/\1/p' "$T/log" | head -n 1)
	owner=$(stat -c %u:%g "$pty" 2>/dev/null)
	[ -n "$pty" ] && [ -c "$pty" ] && [ "$owner" = "$U:$UG" ] &&
		ok "$d: the pty $pty is owned by $owner" ||
		bad "$d: the pty '$pty' is owned by '$owner', expected $U:$UG ($(head -c 400 "$T/log"))"
	if [ -z "$PY" ]; then
		ok "$d: opening the pty as nobody # SKIP no python3 that nobody may run"
	elif [ -n "$pty" ] && setpriv --reuid="$U" --regid="$UG" --clear-groups "$PY" -c '
import os, sys
os.close(os.open(sys.argv[1], os.O_RDWR | os.O_NOCTTY))
' "$pty" >"$T/py" 2>&1; then
		ok "$d: a process running as nobody opens the pty"
	else
		bad "$d: a process running as nobody opens the pty '$pty' ($(tail -n 1 "$T/py"))"
	fi
	stop_clean "$d" "$T/rw/c0"
else
	bad "$d: the backend runs ($(head -c 400 "$T/log"))"
	stop
fi

# Without --user the uds-path socket stays root's: the check above could fail.
d="vhost-device-vsock without --user"
if start "$T/rw/v.sock" "$VSOCK" --socket "$T/rw/v.sock" --uds-path "$T/rw/u" --guest-cid 3; then
	owner=$(stat -c %u:%g "$T/rw/u")
	[ "$owner" = "0:0" ] && ok "$d: $T/rw/u stays 0:0" || bad "$d: $T/rw/u is $owner, expected 0:0"
	stop_clean "$d" "$T/rw/u"
else
	bad "$d: the backend runs ($(head -c 400 "$T/log"))"
	stop
fi

# -- errors: exit 1 naming the name, before any socket ---------------------------
# refuse DESCRIPTION PATTERN ARGS...
refuse() {
	d=$1 pat=$2
	shift 2
	"$RNG" -s "$T/rw/bad" "$@" >"$T/out" 2>&1
	st=$?
	if [ $st -eq 1 ] && grep -q -- "$pat" "$T/out" && ! ls "$T"/rw/bad* >/dev/null 2>&1; then
		ok "$d exits 1 before any socket, saying '$pat'"
	else
		bad "$d exits 1 before any socket, saying '$pat' (status $st: $(cat "$T/out"))"
	fi
}
refuse "an unknown user" "'vhd-no-such-user': no such user" --user vhd-no-such-user
refuse "an unknown group" "'vhd-no-such-group': no such group" --user nobody --group vhd-no-such-group
refuse "an unknown group alone" "'vhd-no-such-group': no such group" --group vhd-no-such-group
refuse "a uid out of range" "expected a user name or a uid" --user 4294967295

echo "1..$((pass + fail))"
[ "$fail" -eq 0 ]
