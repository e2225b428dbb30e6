/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Dropping to another user and group once start-up is over (--user,
 * --group; docs/security.md, "Running as another user").
 *
 * vhd_cli_parse() resolves the names (vhd_privdrop_resolve_*) and checks
 * that the change is possible (vhd_privdrop_check); vhd_main() calls
 * vhd_privdrop_apply() after the sockets listen and the instances hold
 * their host resources, before the sandbox and before the worker threads.
 *
 * Promises:
 *  - The resolvers take a name (getpwnam_r/getgrnam_r) or a decimal id
 *    (0..4294967294; an id needs no passwd/group entry, except that --user
 *    without --group takes the primary group from the user's entry).  They
 *    return 0, or -1 with a message naming the option and the value in err.
 *  - vhd_privdrop_apply() with nothing asked does nothing.  Otherwise, as
 *    root: chowns the given socket files and those the devices recorded
 *    with vhd_startup_path() (vhost-device.h) to the target (only a socket
 *    -- or, recorded, a pty slave -- never through a symlink or a file put
 *    in its place), then setgroups(exactly the
 *    target group), setresgid, setresuid, in that order, each checked; then
 *    checks that root cannot be regained (setresuid(0,0,0) fails) when the
 *    target user is not root.  Returns 0 (and logs "running as user U
 *    (uid), group G (gid)" at info), or -1 with what failed printed; the
 *    caller must then exit.  Not root: only the ids it runs as already are
 *    accepted (vhd_privdrop_check refused anything else at parse time).
 *  - Whatever the outcome, vhd_privdrop_apply() ends start-up for
 *    vhd_startup_path(): the recorded paths are freed, later calls do
 *    nothing.  It runs once per process.
 *  - No thread but the caller's may run the core yet (glibc's set*id
 *    broadcast reaches a device's own threads, started in instance_new;
 *    the sandbox is not installed yet, so no filter needs set*id calls).
 */
#ifndef VHD_PRIVDROP_H
#define VHD_PRIVDROP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct vhd_privdrop {
	bool user_given;        /* --user */
	bool group_given;       /* --group, or the primary group of --user */
	uid_t uid;
	gid_t gid;
	char user[64];          /* name (or the number) for the log */
	char group[64];
};

/* --user NAME|UID: sets uid, user, user_given and, when the user has a
 * passwd entry, *primary (its primary group; *has_primary says whether). */
int vhd_privdrop_resolve_user(struct vhd_privdrop *p, const char *arg, gid_t *primary,
			      bool *has_primary, char *err, size_t errlen);
/* --group NAME|GID: sets gid, group, group_given. */
int vhd_privdrop_resolve_group(struct vhd_privdrop *p, const char *arg, char *err,
			       size_t errlen);
/* After both options: --user without --group takes the user's primary
 * group; refuses a change a process that is not root cannot make. */
int vhd_privdrop_finish(struct vhd_privdrop *p, bool has_primary, gid_t primary, char *err,
			size_t errlen);

/* Chown sockets[0..n-1] (NULL: none) and change the ids; see above. */
int vhd_privdrop_apply(const struct vhd_privdrop *p, const char *prog,
		       char *const *sockets, unsigned n);

#endif
