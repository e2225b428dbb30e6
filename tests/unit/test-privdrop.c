/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Unit tests of the --user/--group parsing (src/daemon/privdrop.c): names
 * and decimal ids resolved, malformed and unknown values refused with a
 * message naming them, --user without --group taking the primary group,
 * and a process that is not root refused any change but accepted when it
 * asks for the ids it has (in a child that drops first, when run as root).
 * The socket files devices record at start-up (vhd_startup_path): a
 * bounded count, nothing recorded once start-up is over, and -- as root --
 * given to the target only when the path is a socket, never through a
 * symlink or to another kind of file (a pty slave is accepted).
 * The drop itself runs in tests/cli/test-privdrop.sh.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "daemon/privdrop.h"
#include "vhost-device.h"

static void t_user_name(void **state)
{
	struct vhd_privdrop p = { 0 };
	char err[256] = "";
	bool has = false;
	gid_t prim = 99;

	(void)state;
	assert_int_equal(vhd_privdrop_resolve_user(&p, "root", &prim, &has, err, sizeof(err)), 0);
	assert_true(p.user_given);
	assert_int_equal(p.uid, 0);
	assert_true(has);
	assert_int_equal(prim, 0);
	assert_string_equal(p.user, "root");
	assert_false(p.group_given);
	/* No --group: the primary group, named (and refused unless root:
	 * t_not_root). */
	assert_int_equal(vhd_privdrop_finish(&p, has, prim, err, sizeof(err)),
			 geteuid() == 0 ? 0 : -1);
	assert_true(p.group_given);
	assert_int_equal(p.gid, 0);
	assert_string_equal(p.group, "root");
}

static void t_user_id(void **state)
{
	struct vhd_privdrop p = { 0 };
	char err[256] = "";
	bool has = false;
	gid_t prim = 99;

	(void)state;
	/* An id with an entry: its name for the log, its primary group. */
	assert_int_equal(vhd_privdrop_resolve_user(&p, "0", &prim, &has, err, sizeof(err)), 0);
	assert_int_equal(p.uid, 0);
	assert_true(has);
	assert_string_equal(p.user, "root");

	/* An id without an entry: fine with --group, refused without. */
	memset(&p, 0, sizeof(p));
	assert_int_equal(vhd_privdrop_resolve_user(&p, "4000000000", &prim, &has, err, sizeof(err)), 0);
	assert_int_equal(p.uid, 4000000000u);
	assert_false(has);
	assert_string_equal(p.user, "4000000000");
	assert_int_equal(vhd_privdrop_finish(&p, has, prim, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "give --group"));
}

static void t_user_bad(void **state)
{
	static const char *const bad[] = {
		"", "-1", "+5", "12x", "4294967295", "99999999999999999999", " 5", NULL
	};
	struct vhd_privdrop p = { 0 };
	char err[256];
	bool has;
	gid_t prim;

	(void)state;
	for (unsigned i = 0; bad[i]; i++) {
		err[0] = 0;
		assert_int_equal(vhd_privdrop_resolve_user(&p, bad[i], &prim, &has, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "--user"));
		assert_false(p.user_given);
	}
	assert_int_equal(vhd_privdrop_resolve_user(&p, "vhd-no-such-user", &prim, &has, err,
						   sizeof(err)), -1);
	assert_string_equal(err, "--user 'vhd-no-such-user': no such user");
	assert_false(p.user_given);
}

static void t_group(void **state)
{
	static const char *const bad[] = { "", "-1", "7y", "4294967295", NULL };
	struct vhd_privdrop p = { 0 };
	char err[256] = "";

	(void)state;
	assert_int_equal(vhd_privdrop_resolve_group(&p, "root", err, sizeof(err)), 0);
	assert_true(p.group_given);
	assert_int_equal(p.gid, 0);
	assert_string_equal(p.group, "root");
	assert_int_equal(vhd_privdrop_resolve_group(&p, "4000000000", err, sizeof(err)), 0);
	assert_int_equal(p.gid, 4000000000u);
	assert_string_equal(p.group, "4000000000");

	memset(&p, 0, sizeof(p));
	for (unsigned i = 0; bad[i]; i++) {
		assert_int_equal(vhd_privdrop_resolve_group(&p, bad[i], err, sizeof(err)), -1);
		assert_non_null(strstr(err, "--group"));
	}
	assert_int_equal(vhd_privdrop_resolve_group(&p, "vhd-no-such-group", err, sizeof(err)), -1);
	assert_string_equal(err, "--group 'vhd-no-such-group': no such group");
	assert_false(p.group_given);
}

/* The start-up paths are process state that vhd_privdrop_apply() ends:
 * each case runs in a child forked before any apply in this process (the
 * cases below come first in main), and reports which check failed. */
static int run_child(int (*fn)(void *), void *arg)
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return -1;
	if (pid == 0)
		_exit(fn(arg));
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/* VHD_STARTUP_PATHS_MAX paths are recorded, one more is refused; once
 * apply ran, a call does nothing and succeeds. */
static int bound_checks(void *arg)
{
	struct vhd_privdrop p = { 0 };
	char path[32];

	(void)arg;
	for (unsigned i = 0; i < VHD_STARTUP_PATHS_MAX; i++) {
		snprintf(path, sizeof(path), "/nonexistent/s%u", i);
		if (vhd_startup_path(path) != 0)
			return 1;
	}
	if (vhd_startup_path("/nonexistent/one-more") != -1)
		return 2;
	/* Nothing asked: nothing chowned (the paths do not exist). */
	if (vhd_privdrop_apply(&p, "test", NULL, 0) != 0)
		return 3;
	if (vhd_startup_path("/nonexistent/late") != 0)
		return 4;
	return 0;
}

static void t_startup_bound(void **state)
{
	(void)state;
	assert_int_equal(run_child(bound_checks, NULL), 0);
}

struct give_case {
	const char *record;     /* the path recorded */
	const char *watch;      /* the file whose owner is checked */
	int apply;              /* what vhd_privdrop_apply returns */
	bool given;             /* whether watch ends up nobody's */
	uid_t uid;
	gid_t gid;
};

static int give_checks(void *arg)
{
	const struct give_case *c = arg;
	struct vhd_privdrop p = { .user_given = true, .group_given = true,
				  .uid = c->uid, .gid = c->gid, .user = "nobody",
				  .group = "nogroup" };
	struct stat st;

	if (vhd_startup_path(c->record) != 0)
		return 1;
	if (vhd_privdrop_apply(&p, "test", NULL, 0) != c->apply)
		return 2;
	if (lstat(c->watch, &st) < 0)
		return 3;
	if (c->given != (st.st_uid == c->uid && st.st_gid == c->gid))
		return 4;
	if (!c->given && (st.st_uid != 0 || st.st_gid != 0))
		return 5;
	return 0;
}

static void bind_at(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_true(strlen(path) < sizeof(sa.sun_path));
	strcpy(sa.sun_path, path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);      /* the file stays */
}

static void t_startup_give(void **state)
{
	char dir[] = "/tmp/vhd-privdrop-unit.XXXXXX";
	char sock[64], other[64], link[64], file[64], pts[64];
	struct passwd *pw = NULL;
	int ptm;
	struct group *gr = NULL;
	FILE *f;

	(void)state;
	if (geteuid() == 0) {
		pw = getpwnam("nobody");
		gr = getgrnam("nogroup");
	}
	/* skip() does not return; the compiler cannot tell at -O1. */
	if (!pw || !gr) {
		skip();
		return;
	}
	assert_non_null(mkdtemp(dir));
	/* nobody, once dropped, still looks at the files (lstat). */
	assert_int_equal(chmod(dir, 0755), 0);
	snprintf(sock, sizeof(sock), "%s/s", dir);
	snprintf(other, sizeof(other), "%s/t", dir);
	snprintf(link, sizeof(link), "%s/l", dir);
	snprintf(file, sizeof(file), "%s/f", dir);
	bind_at(sock);
	bind_at(other);
	assert_int_equal(symlink(other, link), 0);
	f = fopen(file, "w");
	assert_non_null(f);
	fclose(f);
	ptm = posix_openpt(O_RDWR | O_NOCTTY);
	assert_true(ptm >= 0);
	assert_int_equal(grantpt(ptm), 0);
	assert_non_null(ptsname(ptm));
	snprintf(pts, sizeof(pts), "%s", ptsname(ptm));

	{
		const struct give_case cases[] = {
			/* A socket: given. */
			{ sock, sock, 0, true, pw->pw_uid, gr->gr_gid },
			/* A pty slave (console's pty backend): given. */
			{ pts, pts, 0, true, pw->pw_uid, gr->gr_gid },
			/* A symlink to a socket: refused, the socket stays root's. */
			{ link, other, -1, false, pw->pw_uid, gr->gr_gid },
			/* A regular file: refused, stays root's. */
			{ file, file, -1, false, pw->pw_uid, gr->gr_gid },
		};

		for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			print_message("case %u: %s\n", i, cases[i].record);
			assert_int_equal(run_child(give_checks, (void *)&cases[i]), 0);
		}
	}
	unlink(sock);
	unlink(other);
	unlink(link);
	unlink(file);
	rmdir(dir);
	close(ptm);
}

/* Nothing asked: nothing checked, nothing changed. */
static void t_nothing(void **state)
{
	struct vhd_privdrop p = { 0 };
	char err[256] = "";

	(void)state;
	assert_int_equal(vhd_privdrop_finish(&p, false, 0, err, sizeof(err)), 0);
	assert_false(p.user_given);
	assert_false(p.group_given);
	assert_int_equal(vhd_privdrop_apply(&p, "test", NULL, 0), 0);
}

/* What a process that is not root may ask: only what it is.  Returns 0
 * when every expectation holds. */
static int not_root_checks(uid_t uid, gid_t gid)
{
	struct vhd_privdrop p = { 0 };
	char err[256] = "";
	char id[32];
	gid_t prim = 0;
	bool has = false;

	/* Its own ids: accepted (the drop is then only the log line). */
	p.user_given = p.group_given = true;
	p.uid = uid;
	p.gid = gid;
	if (vhd_privdrop_finish(&p, true, gid, err, sizeof(err)) != 0)
		return 1;
	/* Another uid: refused, saying why. */
	memset(&p, 0, sizeof(p));
	snprintf(id, sizeof(id), "%lu", (unsigned long)uid + 1);
	if (vhd_privdrop_resolve_user(&p, id, &prim, &has, err, sizeof(err)) != 0 ||
	    vhd_privdrop_resolve_group(&p, "0", err, sizeof(err)) != 0 ||
	    vhd_privdrop_finish(&p, false, 0, err, sizeof(err)) != -1 ||
	    !strstr(err, "changing the user needs root"))
		return 2;
	/* Another group alone: refused too. */
	memset(&p, 0, sizeof(p));
	snprintf(id, sizeof(id), "%lu", (unsigned long)gid + 1);
	if (vhd_privdrop_resolve_group(&p, id, err, sizeof(err)) != 0 ||
	    vhd_privdrop_finish(&p, false, 0, err, sizeof(err)) != -1 ||
	    !strstr(err, "changing the group needs root"))
		return 3;
	return 0;
}

static void t_not_root(void **state)
{
	const uid_t uid = 65534;
	const gid_t gid = 65534;
	pid_t pid;
	int st;

	(void)state;
	if (geteuid() != 0) {
		gid_t g[2];
		int n = getgroups(2, g);

		/* Its own ids are accepted only with no other supplementary
		 * group; another uid is refused regardless. */
		if (n == 0 || (n == 1 && g[0] == getegid()))
			assert_int_equal(not_root_checks(geteuid(), getegid()), 0);
		else
			skip();
		return;
	}
	/* Root: become someone else in a child, then ask. */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (setgroups(1, &gid) < 0 || setresgid(gid, gid, gid) < 0 ||
		    setresuid(uid, uid, uid) < 0)
			_exit(10);
		_exit(not_root_checks(uid, gid));
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		/* First: before t_nothing ends start-up in this process. */
		cmocka_unit_test(t_startup_bound),
		cmocka_unit_test(t_startup_give),
		cmocka_unit_test(t_user_name),
		cmocka_unit_test(t_user_id),
		cmocka_unit_test(t_user_bad),
		cmocka_unit_test(t_group),
		cmocka_unit_test(t_nothing),
		cmocka_unit_test(t_not_root),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
