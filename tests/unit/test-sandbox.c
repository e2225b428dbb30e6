/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Unit tests of the sandbox (src/daemon/sandbox.h): each case runs in a
 * child process that installs the real filter (the core's list plus a
 * device hook) and then makes one call; the parent reads the child's exit
 * status and its stderr.  A call outside the list must end the process
 * with status 159 and one line naming the call; the calls the list allows
 * (core and device, narrowed by argument) must work, on any thread.
 *
 * Where seccomp filters cannot be installed (the arm64 pass runs this
 * under qemu-user, which refuses them) the cases that need a filter are
 * skipped, and what is checked is the behaviour there: --sandbox auto
 * goes on with a warning, --sandbox on refuses.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/input.h>
#include <cmocka.h>

#include "vhost-device.h"
#include "daemon/sandbox.h"

#define SKIP_STATUS 77

static void t_kick(struct vu_dev *dev, unsigned q) { (void)dev; (void)q; }

/* A device that adds terminal ioctls and Unix sockets, nothing else. */
static int t_sandbox(void *ctx, struct vhd_sandbox *sb)
{
	(void)ctx;
	if (vhd_sandbox_allow_ioctl(sb, 'T') < 0 || vhd_sandbox_allow_socket(sb, AF_UNIX) < 0)
		return -1;
	return 0;
}

static const struct vu_device_ops ops = {
	.name = "sbtest", .summary = "sandbox test", .virtio_id = 4, .num_queues = 1,
	.max_queue_size = 256, .queue_kick = t_kick, .sandbox = t_sandbox,
};

/* A hook that names a system call that does not exist. */
static int bad_sandbox(void *ctx, struct vhd_sandbox *sb)
{
	static const char *const calls[] = { "no_such_syscall", NULL };

	(void)ctx;
	return vhd_sandbox_allow(sb, calls);
}

struct result {
	int status;         /* exit status, or 128 + signal */
	char err[4096];     /* the child's stderr */
};

/* Run fn in a child with its stderr in res->err. */
static void run_child(void (*fn)(void), struct result *res)
{
	int p[2], st;
	size_t got = 0;
	ssize_t n;
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		dup2(p[1], STDERR_FILENO);
		fn();
		_exit(0);
	}
	close(p[1]);
	while ((n = read(p[0], res->err + got, sizeof(res->err) - 1 - got)) > 0)
		got += (size_t)n;
	res->err[got] = 0;
	close(p[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	res->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* In the child: the filter, or exit SKIP_STATUS where none can be loaded. */
static void install_or_skip(void)
{
	if (vhd_sandbox_install(VHD_SANDBOX_ON, "test-sandbox", &ops, NULL, false) < 0)
		_exit(SKIP_STATUS);
}

static bool filters_supported(void)
{
	static int known = -1;
	struct result r;

	if (known < 0) {
		run_child(install_or_skip, &r);
		known = r.status == 0;
	}
	return known;
}

#define NEED_FILTERS() do { if (!filters_supported()) skip(); } while (0)

static void expect_killed(void (*fn)(void), const char *call)
{
	struct result r;
	char want[96];

	run_child(fn, &r);
	snprintf(want, sizeof(want), "test-sandbox: error: sandbox: system call %s (", call);
	if (r.status != VHD_SANDBOX_EXIT_STATUS || !strstr(r.err, want))
		fail_msg("expected status %d and '%s...', got status %d and stderr:\n%s",
			 VHD_SANDBOX_EXIT_STATUS, want, r.status, r.err);
	assert_non_null(strstr(r.err, "is not allowed"));
}

/* ---- children ---------------------------------------------------------- */

static void child_chroot(void)
{
	install_or_skip();
	syscall(SYS_chroot, "/nonexistent-vhd-sandbox-test");
	_exit(1);       /* not reached */
}

static void child_socket_inet(void)
{
	install_or_skip();
	socket(AF_INET, SOCK_STREAM, 0);
	_exit(1);
}

static void child_ioctl_other_type(void)
{
	int v;

	install_or_skip();
	ioctl(STDIN_FILENO, EVIOCGVERSION, &v);
	_exit(1);
}

#if !defined(__SANITIZE_ADDRESS__)
static void child_fork(void)
{
	install_or_skip();
	if (fork() == 0)
		_exit(0);
	_exit(1);
}
#endif

static void *thread_chroot(void *arg)
{
	sigset_t all;

	(void)arg;
	/* As the core's threads do: everything blocked but the faults and
	 * SIGSYS (vu-qthread.c). */
	sigfillset(&all);
	sigdelset(&all, SIGSYS);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	syscall(SYS_chroot, "/nonexistent-vhd-sandbox-test");
	return NULL;
}

static void child_thread_chroot(void)
{
	pthread_t t;

	install_or_skip();
	if (pthread_create(&t, NULL, thread_chroot, NULL) != 0)
		_exit(2);
	pthread_join(t, NULL);
	_exit(1);
}

static void *thread_nop(void *arg)
{
	return arg;
}

/* Everything here is allowed: core calls, the device's narrowed ones. */
static void child_allowed(void)
{
	int fd, v;
	pthread_t t;
	void *ret;
	char buf[512];
	FILE *f;

	/* Read before the filter: opening by path is not allowed after. */
	f = fopen("/proc/self/status", "re");
	install_or_skip();
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0)
		_exit(10);
	close(fd);
	/* A terminal ioctl on a pipe: refused by the kernel, not by us. */
	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &v) == 0 || errno != ENOTTY)
		_exit(12);
	if (pthread_create(&t, NULL, thread_nop, &v) != 0 || pthread_join(t, &ret) != 0 ||
	    ret != &v)
		_exit(13);
	/* The kernel's view of this process: one filter. */
	if (!f)
		_exit(14);
	v = -1;
	while (fgets(buf, sizeof(buf), f))
		if (!strncmp(buf, "Seccomp:", 8))
			v = atoi(buf + 8);
	if (v != 2)
		_exit(15);
	_exit(0);
}

static void child_off(void)
{
	if (vhd_sandbox_install(VHD_SANDBOX_OFF, "test-sandbox", &ops, NULL, false) < 0)
		_exit(2);
	if (syscall(SYS_chroot, "/nonexistent-vhd-sandbox-test") == 0 || errno != ENOENT)
		_exit(3);
	_exit(0);
}

static void child_auto(void)
{
	_exit(vhd_sandbox_install(VHD_SANDBOX_AUTO, "test-sandbox", &ops, NULL, false) < 0);
}

static void child_bad_hook(void)
{
	struct vu_device_ops bad = ops;

	bad.sandbox = bad_sandbox;
	_exit(vhd_sandbox_install(VHD_SANDBOX_ON, "test-sandbox", &bad, NULL, false) < 0 ? 3 : 0);
}

/* ---- tests ------------------------------------------------------------- */

static void test_forbidden_call_named(void **state)
{
	(void)state;
	NEED_FILTERS();
	expect_killed(child_chroot, "chroot");
}

static void test_socket_family_narrowed(void **state)
{
	(void)state;
	NEED_FILTERS();
	expect_killed(child_socket_inet, "socket");
}

static void test_ioctl_type_narrowed(void **state)
{
	(void)state;
	NEED_FILTERS();
	expect_killed(child_ioctl_other_type, "ioctl");
}

static void test_no_fork(void **state)
{
	(void)state;
	NEED_FILTERS();
#if defined(__SANITIZE_ADDRESS__)
	skip();         /* sanitizer builds allow clone for LeakSanitizer */
#else
	expect_killed(child_fork, "clone");
#endif
}

static void test_other_thread(void **state)
{
	(void)state;
	NEED_FILTERS();
	expect_killed(child_thread_chroot, "chroot");
}

static void test_allowed_calls_work(void **state)
{
	struct result r;

	(void)state;
	NEED_FILTERS();
	run_child(child_allowed, &r);
	if (r.status != 0)
		fail_msg("status %d, stderr:\n%s", r.status, r.err);
}

static void test_off_installs_nothing(void **state)
{
	struct result r;

	(void)state;
	run_child(child_off, &r);
	assert_int_equal(r.status, 0);
	assert_null(strstr(r.err, "sandbox: system call"));
}

static void test_auto_where_unsupported(void **state)
{
	struct result r;

	(void)state;
	run_child(child_auto, &r);
	assert_int_equal(r.status, 0);
	if (filters_supported())
		assert_null(strstr(r.err, "WITHOUT the sandbox"));
	else
		assert_non_null(strstr(r.err, "running WITHOUT the sandbox"));
}

static void test_on_where_unsupported(void **state)
{
	struct result r;

	(void)state;
	if (filters_supported())
		skip();
	run_child(install_or_skip, &r);
	assert_int_equal(r.status, SKIP_STATUS);
	assert_non_null(strstr(r.err, "cannot install the seccomp filter"));
}

static void test_unknown_name_refused(void **state)
{
	struct result r;

	(void)state;
	run_child(child_bad_hook, &r);
	assert_int_equal(r.status, 3);
	assert_non_null(strstr(r.err, "device 'sbtest': unknown system call 'no_such_syscall'"));
}

static void test_parse_mode(void **state)
{
	enum vhd_sandbox_mode m;

	(void)state;
	assert_int_equal(vhd_sandbox_parse_mode("auto", &m), 0);
	assert_int_equal(m, VHD_SANDBOX_AUTO);
	assert_int_equal(vhd_sandbox_parse_mode("on", &m), 0);
	assert_int_equal(m, VHD_SANDBOX_ON);
	assert_int_equal(vhd_sandbox_parse_mode("off", &m), 0);
	assert_int_equal(m, VHD_SANDBOX_OFF);
	assert_int_equal(vhd_sandbox_parse_mode("yes", &m), -1);
	assert_int_equal(vhd_sandbox_parse_mode("", &m), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forbidden_call_named),
		cmocka_unit_test(test_socket_family_narrowed),
		cmocka_unit_test(test_ioctl_type_narrowed),
		cmocka_unit_test(test_no_fork),
		cmocka_unit_test(test_other_thread),
		cmocka_unit_test(test_allowed_calls_work),
		cmocka_unit_test(test_off_installs_nothing),
		cmocka_unit_test(test_auto_where_unsupported),
		cmocka_unit_test(test_on_where_unsupported),
		cmocka_unit_test(test_unknown_name_refused),
		cmocka_unit_test(test_parse_mode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
