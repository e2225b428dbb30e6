/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Unit tests of the start-up check of a device's ops table
 * (vhd_ops_check, src/daemon/ops-check.c): one test per rule, each taking
 * a valid table, breaking one thing and asserting the fault is found and
 * named; and vhd_main() refusing a faulty table with exit status 1 before
 * it calls the device or creates its socket.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "vhost-device.h"
#include "daemon/cli.h"

static void t_kick(struct vu_dev *dev, unsigned q) { (void)dev; (void)q; }
static int t_get_config(struct vu_dev *dev, uint8_t *buf) { (void)dev; (void)buf; return 0; }
static int t_set_config(struct vu_dev *dev, const uint8_t *d, uint32_t o, uint32_t s)
{
	(void)dev; (void)d; (void)o; (void)s;
	return 0;
}

static unsigned parse_calls, instance_calls;

static int t_parse(void *ctx, int key, const char *arg)
{
	(void)ctx; (void)key; (void)arg;
	parse_calls++;
	return 0;
}

static int t_instance_new(void *ctx, unsigned index, unsigned count, void **priv)
{
	(void)ctx; (void)index; (void)count;
	instance_calls++;
	*priv = NULL;
	return 0;
}

enum { OPT_LONG_ONLY = 0x2000 };

static const struct option good_options[] = {
	{ "period", required_argument, NULL, 'p' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "maybe", optional_argument, NULL, 'm' },
	{ "long-only", required_argument, NULL, OPT_LONG_ONLY },
	{ NULL, 0, NULL, 0 },
};

/* A valid table with every kind of option; each test breaks one thing. */
static const struct vu_device_ops good = {
	.name = "good",
	.summary = "a valid device",
	.num_queues = 2,
	.max_queue_size = 1024,
	.config_size = 8,
	.socket_naming = VU_SOCKETS_EXACT,
	.options = good_options,
	.short_options = "p:qm::",
	.options_help = "  -p N\n",
	.parse_option = t_parse,
	.instance_new = t_instance_new,
	.queue_kick = t_kick,
	.get_config = t_get_config,
	.set_config = t_set_config,
};

static char err[512];

static void expect_ok(const struct vu_device_ops *ops)
{
	err[0] = 0;
	if (vhd_ops_check(ops, err, sizeof(err)) != 0)
		fail_msg("valid table refused: %s", err);
}

/* The table is refused, and the message names the device and the fault. */
static void expect_fault(const struct vu_device_ops *ops, const char *what)
{
	char dev[64];

	err[0] = 0;
	assert_int_equal(vhd_ops_check(ops, err, sizeof(err)), -1);
	snprintf(dev, sizeof(dev), "device '%s': ",
		 ops && ops->name && *ops->name ? ops->name : "(unnamed)");
	if (strncmp(err, dev, strlen(dev)) != 0 || !strstr(err, what))
		fail_msg("expected \"%s...%s\", got \"%s\"", dev, what, err);
}

static void test_valid_tables(void **state)
{
	struct vu_device_ops o = good;

	(void)state;
	expect_ok(&good);
	/* The smallest device: a name, a summary, one queue, queue_kick. */
	o = (struct vu_device_ops){ .name = "min", .summary = "", .num_queues = 1,
				    .max_queue_size = 1, .queue_kick = t_kick };
	expect_ok(&o);
	/* The limits themselves are allowed. */
	o = good;
	o.num_queues = VHD_MAX_QUEUES;
	o.max_queue_size = VQ_MAX_SIZE;
	o.config_size = VHU_CONFIG_MAX_SIZE;
	expect_ok(&o);
	/* get_config without set_config: a read-only config space. */
	o = good;
	o.set_config = NULL;
	expect_ok(&o);
}

static void test_identity(void **state)
{
	struct vu_device_ops o;

	(void)state;
	assert_int_equal(vhd_ops_check(NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no ops table"));
	o = good;
	o.name = NULL;
	expect_fault(&o, "no name");
	o.name = "";
	expect_fault(&o, "no name");
	o = good;
	o.summary = NULL;
	expect_fault(&o, "no summary");
	o = good;
	o.socket_naming = (enum vu_socket_naming)7;
	expect_fault(&o, "socket_naming 7");
}

static void test_queue_kick_required(void **state)
{
	struct vu_device_ops o = good;

	(void)state;
	o.queue_kick = NULL;
	expect_fault(&o, "no queue_kick");
}

static unsigned t_socket_count(void *ctx)
{
	(void)ctx;
	return 2;
}

static int t_socket_paths(void *ctx, char ***paths, unsigned *count)
{
	(void)ctx;
	(void)paths;
	(void)count;
	return -1;
}

/* A device names its sockets one way: its own list, or its own count. */
static void test_socket_hooks(void **state)
{
	struct vu_device_ops o = good;

	(void)state;
	o.socket_count = t_socket_count;
	expect_ok(&o);
	o.socket_paths = t_socket_paths;
	expect_fault(&o, "socket_count and socket_paths exclude each other");
}

static void test_config_space(void **state)
{
	struct vu_device_ops o = good;

	(void)state;
	o.get_config = NULL;
	o.set_config = NULL;
	expect_fault(&o, "config_size 8 without get_config");
	o = good;
	o.config_size = 0;
	o.set_config = NULL;
	expect_fault(&o, "get_config without config_size");
	o = good;
	o.config_size = 0;
	o.get_config = NULL;
	expect_fault(&o, "set_config without config_size");
	o = good;
	o.config_size = VHU_CONFIG_MAX_SIZE + 1;
	expect_fault(&o, "config_size 257: at most 256");
}

static void test_num_queues(void **state)
{
	struct vu_device_ops o = good;

	(void)state;
	o.num_queues = 0;
	expect_fault(&o, "num_queues 0");
	o.num_queues = VHD_MAX_QUEUES + 1;
	expect_fault(&o, "num_queues 1025");
}

static void test_max_queue_size(void **state)
{
	static const unsigned bad[] = { 0, 3, 1000, 1025, VQ_MAX_SIZE * 2, 0x80000000u, 0xffffffffu };
	struct vu_device_ops o = good;
	char what[64];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		o.max_queue_size = bad[i];
		snprintf(what, sizeof(what), "max_queue_size %u: expected a power of two", bad[i]);
		expect_fault(&o, what);
	}
}

/* Every common long option name is taken. */
static void test_long_name_clash(void **state)
{
	size_t n;
	const struct option *core = vhd_cli_core_options(&n);
	struct option opts[] = { { NULL, no_argument, NULL, OPT_LONG_ONLY }, { NULL, 0, NULL, 0 } };
	struct vu_device_ops o = good;
	char what[96];

	(void)state;
	o.options = opts;
	o.short_options = "";
	assert_true(n >= 9);
	for (size_t i = 0; i < n; i++) {
		opts[0].name = core[i].name;
		snprintf(what, sizeof(what), "option --%s clashes with the common option --%s",
			 core[i].name, core[i].name);
		expect_fault(&o, what);
	}
	/* The documented ones are among them. */
	for (const char *const *name = (const char *const[]){ "socket-path", "socket-count", "fd",
			"print-capabilities", "verbose", "log-level", "help", "version", "xen", NULL };
	     *name; name++) {
		opts[0].name = *name;
		expect_fault(&o, "clashes with the common option");
	}
}

/* A device key equal to a common option's key would be taken by the core. */
static void test_long_key_clash(void **state)
{
	size_t n;
	const struct option *core = vhd_cli_core_options(&n);
	struct option opts[] = { { "mine", no_argument, NULL, 0 }, { NULL, 0, NULL, 0 } };
	struct vu_device_ops o = good;

	(void)state;
	o.options = opts;
	o.short_options = "";
	for (size_t i = 0; i < n; i++) {
		opts[0].val = core[i].val;
		expect_fault(&o, "is the key of the common option");
	}
}

static void test_short_letter_clash(void **state)
{
	static const char *const letters[] = { "s", "c", "v", "h", "V" };
	struct option opts[] = { { "mine", no_argument, NULL, 0 }, { NULL, 0, NULL, 0 } };
	struct vu_device_ops o = good;
	char what[64];

	(void)state;
	o.options = opts;
	for (size_t i = 0; i < 5; i++) {
		o.short_options = letters[i];
		opts[0].val = 'x';      /* the long entry itself is fine */
		snprintf(what, sizeof(what), "short option -%s clashes with a common option",
			 letters[i]);
		expect_fault(&o, what);
	}
}

static void test_short_without_long(void **state)
{
	struct vu_device_ops o = good;

	(void)state;
	o.short_options = "p:qm::z";
	expect_fault(&o, "short option -z has no long option entry with val 'z'");
	/* A short letter but no long table at all. */
	o.options = NULL;
	o.options_help = NULL;
	o.short_options = "p:";
	expect_fault(&o, "short option -p has no long option entry");
}

static void test_short_argument_disagrees(void **state)
{
	struct vu_device_ops o = good;

	(void)state;
	o.short_options = "pqm::";      /* --period takes an argument */
	expect_fault(&o, "short option -p and --period disagree");
	o.short_options = "p:q:m::";    /* --quiet takes none */
	expect_fault(&o, "short option -q and --quiet disagree");
	o.short_options = "p:qm:";      /* --maybe's is optional */
	expect_fault(&o, "short option -m and --maybe disagree");
}

static void test_short_syntax(void **state)
{
	static const char *const bad[] = { ":p:", "+p:", "-p:", "p:-", "q;", "p: q" };
	char big[200];
	struct vu_device_ops o = good;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		o.short_options = bad[i];
		expect_fault(&o, "is not an option letter");
	}
	o.short_options = "p:qp:";
	expect_fault(&o, "short option -p is listed twice");
	memset(big, 'q', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	o.short_options = big;
	expect_fault(&o, "short_options longer than");
}

static void test_long_entries(void **state)
{
	static int flag;
	struct option opts[] = {
		{ "one", no_argument, NULL, OPT_LONG_ONLY },
		{ "two", no_argument, NULL, OPT_LONG_ONLY + 1 },
		{ NULL, 0, NULL, 0 },
	};
	struct vu_device_ops o = good;

	(void)state;
	o.options = opts;
	o.short_options = "";
	expect_ok(&o);
	opts[1].name = "one";
	expect_fault(&o, "option --one is listed twice");
	opts[1].name = "";
	expect_fault(&o, "option entry 1 has an empty name");
	opts[1].name = "two";
	opts[1].flag = &flag;
	expect_fault(&o, "option --two sets a flag");
	opts[1].flag = NULL;
	opts[1].has_arg = 3;
	expect_fault(&o, "option --two: has_arg 3");
	opts[1].has_arg = no_argument;
	opts[1].val = 0;
	expect_fault(&o, "val 0x0 is reserved by getopt");
	opts[1].val = '?';
	expect_fault(&o, "val '?' is reserved by getopt");
	opts[1].val = ':';
	expect_fault(&o, "val ':' is reserved by getopt");
}

static void test_options_need_callbacks(void **state)
{
	struct vu_device_ops o = good;

	(void)state;
	o.parse_option = NULL;
	expect_fault(&o, "options without parse_option");
	o = good;
	o.options = NULL;
	o.options_help = NULL;
	o.short_options = "";
	o.parse_option = NULL;
	expect_ok(&o);              /* no options at all: nothing to parse */
	o = good;
	o.options_help = NULL;
	expect_fault(&o, "options without options_help");
}

/* vhd_main() refuses the table first: exit status 1, the message on
 * stderr, no device callback, no socket file. */
static void test_vhd_main_refuses(void **state)
{
	char dir[] = "/tmp/vhd-ops-check.XXXXXX";
	char sock[64], out[1024];
	struct vu_device_ops o = good;
	struct stat st;
	int saved, fd, r;
	ssize_t n;
	FILE *tmp;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(sock, sizeof(sock), "%s/sock", dir);
	char *argv[] = { "vhost-device-good", "-s", sock, "-p", "1", NULL };

	o.queue_kick = NULL;
	parse_calls = instance_calls = 0;
	tmp = tmpfile();
	assert_non_null(tmp);
	fflush(stderr);
	saved = dup(2);
	assert_true(saved >= 0);
	assert_int_equal(dup2(fileno(tmp), 2), 2);
	/* Failure bound only: a vhd_main() that took the table would serve
	 * until a signal; SIGALRM ends the test as a failure. */
	alarm(60);
	r = vhd_main(&o, NULL, 5, argv);
	alarm(0);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);

	assert_int_equal(r, 1);
	assert_int_equal(parse_calls, 0);
	assert_int_equal(instance_calls, 0);
	assert_int_equal(stat(sock, &st), -1);
	assert_int_equal(errno, ENOENT);
	fd = fileno(tmp);
	n = pread(fd, out, sizeof(out) - 1, 0);
	assert_true(n > 0);
	out[n] = 0;
	if (!strstr(out, "vhost-device-good: device 'good': no queue_kick"))
		fail_msg("stderr: %s", out);
	fclose(tmp);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_tables),
		cmocka_unit_test(test_identity),
		cmocka_unit_test(test_queue_kick_required),
		cmocka_unit_test(test_socket_hooks),
		cmocka_unit_test(test_config_space),
		cmocka_unit_test(test_num_queues),
		cmocka_unit_test(test_max_queue_size),
		cmocka_unit_test(test_long_name_clash),
		cmocka_unit_test(test_long_key_clash),
		cmocka_unit_test(test_short_letter_clash),
		cmocka_unit_test(test_short_without_long),
		cmocka_unit_test(test_short_argument_disagrees),
		cmocka_unit_test(test_short_syntax),
		cmocka_unit_test(test_long_entries),
		cmocka_unit_test(test_options_need_callbacks),
		cmocka_unit_test(test_vhd_main_refuses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
