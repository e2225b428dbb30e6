#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause
# --user and --group in the real programs (docs/security.md, "Running as
# another user"): after start-up vhost-device-rng runs as nobody/nogroup
# (all four Uid and Gid fields of /proc/PID/status, Groups exactly nogroup),
# its socket file is theirs, a frontend still gets data, SIGTERM ends it
# with status 0 -- and a socket it can no longer remove is a warning, not
# a failure.  A numeric uid works; --group alone changes only the group;
# an unknown user or group exits 1 naming it, before any socket exists.
# Needs root (CI runs as root): otherwise skipped.
set -u
B=${VHD_BUILDDIR:-.}
RNG=$B/vhost-device-rng
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
