/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/* --user and --group: resolved at parse time, applied after start-up
 * (privdrop.h, docs/security.md "Running as another user"). */
#include "config.h"
#include "daemon/privdrop.h"
#include "log.h"
#include "vhost-device.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* A decimal id, digits only; (uid_t)-1 means "unchanged" to the set*id
 * calls, so it is no id. */
static int parse_id(const char *s, unsigned long *out)
{
	unsigned long long v;
	char *end;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v >= 0xffffffffull)
		return -1;
	*out = (unsigned long)v;
	return 0;
}

/* One getpw*_r/getgr*_r call into buf[len]: *found is set to the entry
 * (NULL when there is none); returns 0 or an error number (ERANGE: a
 * bigger buffer is needed). */
typedef int (*lookup_fn)(const void *key, void *ent, char *buf, size_t len, void **found);

static int pw_by_name(const void *key, void *ent, char *buf, size_t len, void **found)
{
	struct passwd *res = NULL;
	int r = getpwnam_r(key, ent, buf, len, &res);

	*found = res;
	return r;
}

static int pw_by_uid(const void *key, void *ent, char *buf, size_t len, void **found)
{
	struct passwd *res = NULL;
	int r = getpwuid_r(*(const uid_t *)key, ent, buf, len, &res);

	*found = res;
	return r;
}

static int gr_by_name(const void *key, void *ent, char *buf, size_t len, void **found)
{
	struct group *res = NULL;
	int r = getgrnam_r(key, ent, buf, len, &res);

	*found = res;
	return r;
}

static int gr_by_gid(const void *key, void *ent, char *buf, size_t len, void **found)
{
	struct group *res = NULL;
	int r = getgrgid_r(*(const gid_t *)key, ent, buf, len, &res);

	*found = res;
	return r;
}

/* fn with a buffer (*buf, reallocated; the caller frees it) that grows on
 * ERANGE up to 1 MiB.  Returns 0 (found: *ent filled), 1 (no such entry)
 * or -errno. */
static int lookup(lookup_fn fn, const void *key, void *ent, char **buf)
{
	size_t len = 1024;
	void *res = NULL;
	int r;

	for (;;) {
		char *b = realloc(*buf, len);

		if (!b)
			return -ENOMEM;
		*buf = b;
		res = NULL;
		r = fn(key, ent, b, len, &res);
		if (r != ERANGE || len >= (1u << 20))
			break;
		len *= 2;
	}
	/* getpwnam(3), getgrnam(3): ENOENT, ESRCH, EBADF, EPERM may all mean
	 * "not found". */
	if (r == 0 || r == ENOENT || r == ESRCH || r == EBADF || r == EPERM)
		return res ? 0 : 1;
	return -r;
}

int vhd_privdrop_resolve_user(struct vhd_privdrop *p, const char *arg, gid_t *primary,
			      bool *has_primary, char *err, size_t errlen)
{
	struct passwd pw;
	char *buf = NULL;
	unsigned long id;
	uid_t uid = 0;
	int r;

	/* A name of digits only is taken as an id (useradd refuses such
	 * names; systemd's User= reads them the same way). */
	if (parse_id(arg, &id) == 0) {
		uid = (uid_t)id;
		r = lookup(pw_by_uid, &uid, &pw, &buf);
	} else if (!*arg || isdigit((unsigned char)*arg) || *arg == '-' || *arg == '+') {
		snprintf(err, errlen, "--user '%s': expected a user name or a uid from 0 to 4294967294",
			 arg);
		return -1;
	} else {
		r = lookup(pw_by_name, arg, &pw, &buf);
		if (r == 1) {
			snprintf(err, errlen, "--user '%s': no such user", arg);
			free(buf);
			return -1;
		}
		if (r == 0)
			uid = pw.pw_uid;
	}
	if (r < 0) {
		snprintf(err, errlen, "--user '%s': cannot look the user up: %s", arg, strerror(-r));
		free(buf);
		return -1;
	}
	p->user_given = true;
	p->uid = uid;
	*has_primary = r == 0;
	if (r == 0)
		*primary = pw.pw_gid;
	snprintf(p->user, sizeof(p->user), "%s", r == 0 ? pw.pw_name : arg);
	free(buf);
	return 0;
}

int vhd_privdrop_resolve_group(struct vhd_privdrop *p, const char *arg, char *err,
			       size_t errlen)
{
	struct group gr;
	char *buf = NULL;
	unsigned long id;
	int r;

	if (parse_id(arg, &id) == 0) {
		p->gid = (gid_t)id;
		snprintf(p->group, sizeof(p->group), "%s", arg);
	} else if (!*arg || isdigit((unsigned char)*arg) || *arg == '-' || *arg == '+') {
		snprintf(err, errlen, "--group '%s': expected a group name or a gid from 0 to 4294967294",
			 arg);
		return -1;
	} else {
		r = lookup(gr_by_name, arg, &gr, &buf);
		if (r != 0) {
			if (r == 1)
				snprintf(err, errlen, "--group '%s': no such group", arg);
			else
				snprintf(err, errlen, "--group '%s': cannot look the group up: %s", arg,
					 strerror(-r));
			free(buf);
			return -1;
		}
		p->gid = gr.gr_gid;
		snprintf(p->group, sizeof(p->group), "%s", gr.gr_name);
		free(buf);
	}
	p->group_given = true;
	return 0;
}

/* Whether the process runs with exactly these ids already (a process that
 * is not root can change nothing, so only that is accepted from it). */
static bool ids_are(const struct vhd_privdrop *p)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg, groups[2];
	int n;

	if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0)
		return false;
	if (p->user_given && (ru != p->uid || eu != p->uid || su != p->uid))
		return false;
	if (!p->group_given)
		return true;
	if (rg != p->gid || eg != p->gid || sg != p->gid)
		return false;
	/* Supplementary groups: none, or exactly the group. */
	n = getgroups(2, groups);
	return n == 0 || (n == 1 && groups[0] == p->gid);
}

int vhd_privdrop_finish(struct vhd_privdrop *p, bool has_primary, gid_t primary, char *err,
			size_t errlen)
{
	struct group gr;
	struct passwd pw;
	char *buf = NULL;
	uid_t me = geteuid();

	if (p->user_given && !p->group_given) {
		if (!has_primary) {
			snprintf(err, errlen,
				 "--user %s: uid %lu has no passwd entry to take a group from; give --group",
				 p->user, (unsigned long)p->uid);
			return -1;
		}
		p->gid = primary;
		p->group_given = true;
		if (lookup(gr_by_gid, &primary, &gr, &buf) == 0)
			snprintf(p->group, sizeof(p->group), "%s", gr.gr_name);
		else
			snprintf(p->group, sizeof(p->group), "%lu", (unsigned long)primary);
	}
	/* --group alone: the user stays; its name is for the log line. */
	if (!p->user_given && p->group_given) {
		if (lookup(pw_by_uid, &me, &pw, &buf) == 0)
			snprintf(p->user, sizeof(p->user), "%s", pw.pw_name);
		else
			snprintf(p->user, sizeof(p->user), "%lu", (unsigned long)me);
	}
	free(buf);
	if ((p->user_given || p->group_given) && me != 0 && !ids_are(p)) {
		if (p->user_given)
			snprintf(err, errlen,
				 "--user %s (uid %lu): changing the user needs root; running as uid %lu",
				 p->user, (unsigned long)p->uid, (unsigned long)me);
		else
			snprintf(err, errlen,
				 "--group %s (gid %lu): changing the group needs root; running as uid %lu",
				 p->group, (unsigned long)p->gid, (unsigned long)me);
		return -1;
	}
	return 0;
}

/* A Unix98 pseudo-terminal slave (devices.txt: majors 136-143): made by
 * devpts for our posix_openpt(), never by a user. */
static bool is_pty_slave(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && major(st->st_rdev) >= 136 && major(st->st_rdev) <= 143;
}

/* Connecting to a Unix socket needs write permission on its file: a
 * frontend running as the target user (a QEMU started by libvirt as that
 * user) can connect once the file is the user's.  Whoever may write the
 * directory could put something else at the path since we bound it: so
 * the path is opened without following a symlink (O_PATH) and only a
 * socket is given away -- never a file hard-linked in its place.  pty:
 * a device's pseudo-terminal slave is accepted too (vhd_startup_path). */
static int give_file(const char *path, uid_t uid, gid_t gid, bool pty)
{
	struct stat st;
	int fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC), r = -1;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0)
		goto out;
	if (!S_ISSOCK(st.st_mode) && !(pty && is_pty_slave(&st))) {
		errno = EEXIST;         /* "File exists": not ours any more */
		goto out;
	}
	r = fchownat(fd, "", uid, gid, AT_EMPTY_PATH);
out:
	if (r < 0) {
		int e = errno;
		close(fd);
		errno = e;
	} else {
		close(fd);
	}
	return r;
}

/* The files the devices made at start-up (vhd_startup_path in
 * vhost-device.h); main thread only.  closed: start-up is over, what is
 * made now is the target's already. */
static struct {
	char **paths;
	unsigned n, cap;
	bool closed;
} startup;

int vhd_startup_path(const char *path)
{
	char *copy;

	if (startup.closed)
		return 0;
	if (startup.n >= VHD_STARTUP_PATHS_MAX) {
		fprintf(stderr, "%s: %s: more than %u files made at start-up for --user/--group\n",
			program_invocation_short_name, path, VHD_STARTUP_PATHS_MAX);
		return -1;
	}
	if (startup.n == startup.cap) {
		unsigned cap = startup.cap ? startup.cap * 2 : 16;
		char **a = realloc(startup.paths, cap * sizeof(*a));

		if (!a)
			goto nomem;
		startup.paths = a;
		startup.cap = cap;
	}
	copy = strdup(path);
	if (!copy)
		goto nomem;
	startup.paths[startup.n++] = copy;
	return 0;
nomem:
	fprintf(stderr, "%s: %s: out of memory\n", program_invocation_short_name, path);
	return -1;
}

static void startup_close(void)
{
	for (unsigned i = 0; i < startup.n; i++)
		free(startup.paths[i]);
	free(startup.paths);
	startup.paths = NULL;
	startup.n = startup.cap = 0;
	startup.closed = true;
}

/* give_file() over a list, saying which file failed. */
static int give_files(const struct vhd_privdrop *p, const char *prog, const char *what,
			char *const *paths, unsigned n, bool pty)
{
	uid_t uid = p->user_given ? p->uid : (uid_t)-1;

	for (unsigned i = 0; paths && i < n; i++)
		if (give_file(paths[i], uid, p->gid, pty) < 0) {
			fprintf(stderr, "%s: cannot give the %s %s to user %s, group %s: %s\n",
				prog, what, paths[i], p->user, p->group, strerror(errno));
			return -1;
		}
	return 0;
}

static int apply(const struct vhd_privdrop *p, const char *prog, char *const *sockets,
		 unsigned n)
{
	if (!p->user_given && !p->group_given)
		return 0;
	if (geteuid() != 0)
		goto done;      /* the ids asked for already (vhd_privdrop_finish) */
	if (give_files(p, prog, "socket", sockets, n, false) < 0 ||
	    give_files(p, prog, "file made at start-up", startup.paths, startup.n, true) < 0)
		return -1;
	/* Groups first: once the uid is not 0, setgroups and setresgid are
	 * refused (no CAP_SETGID).  Supplementary groups: exactly the target
	 * group, so that none of root's stays. */
	if (setgroups(1, &p->gid) < 0) {
		fprintf(stderr, "%s: setgroups([%lu]) failed: %s\n", prog,
			(unsigned long)p->gid, strerror(errno));
		return -1;
	}
	if (setresgid(p->gid, p->gid, p->gid) < 0) {
		fprintf(stderr, "%s: setresgid(%lu) failed: %s\n", prog, (unsigned long)p->gid,
			strerror(errno));
		return -1;
	}
	if (p->user_given && setresuid(p->uid, p->uid, p->uid) < 0) {
		fprintf(stderr, "%s: setresuid(%lu) failed: %s\n", prog, (unsigned long)p->uid,
			strerror(errno));
		return -1;
	}
	/* It must not be undone: with real, effective and saved uid not 0 and
	 * the capabilities gone (setresuid from root clears them), the way
	 * back to root is refused. */
	if (p->user_given && p->uid != 0 && setresuid(0, 0, 0) == 0) {
		fprintf(stderr, "%s: after dropping to uid %lu, setresuid(0, 0, 0) still succeeds; refusing to run\n",
			prog, (unsigned long)p->uid);
		return -1;
	}
	if (p->user_given && p->uid != 0 && p->gid != 0 && setresgid(0, 0, 0) == 0) {
		fprintf(stderr, "%s: after dropping to gid %lu, setresgid(0, 0, 0) still succeeds; refusing to run\n",
			prog, (unsigned long)p->gid);
		return -1;
	}
	if (!ids_are(p)) {
		fprintf(stderr, "%s: after the change the process does not run as uid %lu, gid %lu\n",
			prog, (unsigned long)(p->user_given ? p->uid : geteuid()),
			(unsigned long)p->gid);
		return -1;
	}
done:
	LOG_INFO("running as user %s (%lu), group %s (%lu)", p->user,
		 (unsigned long)geteuid(), p->group, (unsigned long)p->gid);
	return 0;
}

int vhd_privdrop_apply(const struct vhd_privdrop *p, const char *prog,
		       char *const *sockets, unsigned n)
{
	int r = apply(p, prog, sockets, n);

	startup_close();
	return r;
}
