/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Unit tests of vhost-device-vsock's command line (vsock-config.c) and
 * YAML configuration (vsock-yaml.c): the Rust backend's forms accepted
 * unchanged (its own test inputs), both key spellings, defaults, and each
 * error: unknown keys, bad values, missing socket/backend, exclusive
 * forms, duplicate CIDs/sockets/uds paths, malformed YAML.
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "devices/vsock/vsock-config.h"

static char err[512];

/* Run options (key, value pairs) through a fresh CLI state and finish. */
static int run_cli(struct vsock_vm **vms, unsigned *n, ...)
{
	struct vsock_cli s;
	va_list ap;
	int key, r = 0;

	vsock_cli_init(&s);
	err[0] = 0;
	va_start(ap, n);
	while ((key = va_arg(ap, int)) != 0) {
		const char *val = va_arg(ap, const char *);
		if (vsock_cli_option(&s, key, val, err, sizeof(err)) < 0) {
			r = -1;
			break;
		}
	}
	va_end(ap);
	if (r == 0)
		r = vsock_cli_finish(&s, vms, n, err, sizeof(err));
	vsock_cli_free(&s);
	return r;
}

static void test_standalone_defaults(void **state)
{
	struct vsock_vm *v;
	unsigned n;

	assert_int_equal(run_cli(&v, &n, VSOCK_OPT_SOCKET, "/tmp/vhost4.socket",
				 VSOCK_OPT_UDS_PATH, "/tmp/vm4.vsock", 0), 0);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].guest_cid, 3);
	assert_string_equal(v[0].socket, "/tmp/vhost4.socket");
	assert_string_equal(v[0].uds_path, "/tmp/vm4.vsock");
	assert_int_equal(v[0].tx_buffer_size, 65536);
	assert_int_equal(v[0].queue_size, 1024);
	assert_int_equal(v[0].n_groups, 1);
	assert_string_equal(v[0].groups[0], "default");
	assert_false(v[0].has_forward_cid);
	vsock_vms_free(v, n);
}

static void test_standalone_all_flags(void **state)
{
	struct vsock_vm *v;
	unsigned n;

	assert_int_equal(run_cli(&v, &n, VSOCK_OPT_GUEST_CID, "4",
				 VSOCK_OPT_SOCKET, "/s", VSOCK_OPT_UDS_PATH, "/u",
				 VSOCK_OPT_TX_BUFFER_SIZE, "32768", VSOCK_OPT_QUEUE_SIZE, "256",
				 VSOCK_OPT_GROUPS, "group1+group2", 0), 0);
	assert_int_equal(v[0].guest_cid, 4);
	assert_int_equal(v[0].tx_buffer_size, 32768);
	assert_int_equal(v[0].queue_size, 256);
	assert_int_equal(v[0].n_groups, 2);
	assert_string_equal(v[0].groups[0], "group1");
	assert_string_equal(v[0].groups[1], "group2");
	vsock_vms_free(v, n);
}

static void test_standalone_forward(void **state)
{
	struct vsock_vm *v;
	unsigned n;

	assert_int_equal(run_cli(&v, &n, VSOCK_OPT_SOCKET, "/s", VSOCK_OPT_FORWARD_CID, "1",
				 VSOCK_OPT_FORWARD_LISTEN, "9001+9002", 0), 0);
	assert_true(v[0].has_forward_cid);
	assert_int_equal(v[0].forward_cid, 1);
	assert_int_equal(v[0].n_listen, 2);
	assert_int_equal(v[0].listen_ports[0], 9001);
	assert_int_equal(v[0].listen_ports[1], 9002);
	assert_null(v[0].uds_path);
	vsock_vms_free(v, n);
}

static void test_standalone_errors(void **state)
{
	struct vsock_vm *v = NULL;
	unsigned n = 0;

	/* Nothing at all. */
	assert_int_equal(run_cli(&v, &n, 0), -1);
	assert_non_null(strstr(err, "nothing to serve"));
	/* No backend. */
	assert_int_equal(run_cli(&v, &n, VSOCK_OPT_SOCKET, "/s", 0), -1);
	assert_non_null(strstr(err, "--uds-path"));
	/* --forward-listen alone. */
	assert_int_equal(run_cli(&v, &n, VSOCK_OPT_SOCKET, "/s",
				 VSOCK_OPT_FORWARD_LISTEN, "9000", 0), -1);
	assert_non_null(strstr(err, "--forward-listen needs --forward-cid"));
	/* Both backends. */
	assert_int_equal(run_cli(&v, &n, VSOCK_OPT_SOCKET, "/s", VSOCK_OPT_UDS_PATH, "/u",
				 VSOCK_OPT_FORWARD_CID, "1", 0), -1);
	assert_non_null(strstr(err, "exclude each other"));
	/* Repeated flag. */
	assert_int_equal(run_cli(&v, &n, VSOCK_OPT_SOCKET, "/s", VSOCK_OPT_SOCKET, "/t", 0), -1);
	assert_non_null(strstr(err, "--socket given twice"));
	/* Values out of range. */
	assert_int_equal(run_cli(&v, &n, VSOCK_OPT_GUEST_CID, "2", 0), -1);
	assert_non_null(strstr(err, "--guest-cid '2'"));
	assert_int_equal(run_cli(&v, &n, VSOCK_OPT_GUEST_CID, "4294967295", 0), -1);
	assert_int_equal(run_cli(&v, &n, VSOCK_OPT_GUEST_CID, "-3", 0), -1);
	assert_int_equal(run_cli(&v, &n, VSOCK_OPT_GUEST_CID, "3x", 0), -1);
	assert_int_equal(run_cli(&v, &n, VSOCK_OPT_TX_BUFFER_SIZE, "0", 0), -1);
	assert_non_null(strstr(err, "--tx-buffer-size '0'"));
	assert_int_equal(run_cli(&v, &n, VSOCK_OPT_TX_BUFFER_SIZE, "1073741825", 0), -1);
	assert_int_equal(run_cli(&v, &n, VSOCK_OPT_QUEUE_SIZE, "0", 0), -1);
	assert_int_equal(run_cli(&v, &n, VSOCK_OPT_QUEUE_SIZE, "32769", 0), -1);
	assert_int_equal(run_cli(&v, &n, VSOCK_OPT_GROUPS, "a++b", 0), -1);
	assert_non_null(strstr(err, "--groups 'a++b'"));
	assert_int_equal(run_cli(&v, &n, VSOCK_OPT_GROUPS, "", 0), -1);
	assert_int_equal(run_cli(&v, &n, VSOCK_OPT_FORWARD_LISTEN, "9001+", 0), -1);
	assert_int_equal(run_cli(&v, &n, VSOCK_OPT_FORWARD_LISTEN, "4294967296", 0), -1);
	assert_int_equal(run_cli(&v, &n, VSOCK_OPT_SOCKET, "", 0), -1);
	assert_non_null(strstr(err, "empty path"));
}

/* --socket is optional in the standalone form (the core's --fd can give
 * the socket instead); the device asks for it when it needs the paths. */
static void test_standalone_no_socket(void **state)
{
	struct vsock_vm *v;
	unsigned n;

	assert_int_equal(run_cli(&v, &n, VSOCK_OPT_UDS_PATH, "/u", 0), 0);
	assert_null(v[0].socket);
	vsock_vms_free(v, n);
}

/* The Rust backend's own --vm test input, accepted unchanged. */
static void test_vm_rust_example(void **state)
{
	struct vsock_vm *v;
	unsigned n;

	assert_int_equal(run_cli(&v, &n,
		VSOCK_OPT_VM, "socket=/tmp/vhost3.socket,uds_path=/tmp/vm3.vsock",
		VSOCK_OPT_VM, "socket=/tmp/vhost4.socket,uds-path=/tmp/vm4.vsock,guest-cid=4,tx_buffer_size=65536,groups=group1",
		VSOCK_OPT_VM, "groups=group2+group3,guest-cid=5,socket=/tmp/vhost5.socket,uds_path=/tmp/vm5.vsock,tx-buffer-size=32768,queue-size=512",
		0), 0);
	assert_int_equal(n, 3);
	assert_int_equal(v[0].guest_cid, 3);
	assert_string_equal(v[0].groups[0], "default");
	assert_int_equal(v[1].guest_cid, 4);
	assert_string_equal(v[1].uds_path, "/tmp/vm4.vsock");
	assert_string_equal(v[1].groups[0], "group1");
	assert_int_equal(v[2].guest_cid, 5);
	assert_int_equal(v[2].tx_buffer_size, 32768);
	assert_int_equal(v[2].queue_size, 512);
	assert_int_equal(v[2].n_groups, 2);
	assert_string_equal(v[2].groups[1], "group3");
	assert_false(vsock_vms_share_group(&v[0], &v[1]));
	assert_false(vsock_vms_share_group(&v[1], &v[2]));
	vsock_vms_free(v, n);
}

static void test_vm_forward(void **state)
{
	struct vsock_vm *v;
	unsigned n;

	assert_int_equal(run_cli(&v, &n,
		VSOCK_OPT_VM, "guest-cid=3,socket=/tmp/vhost3.socket,forward-cid=1,forward-listen=9001+9002,queue-size=1024",
		VSOCK_OPT_VM, "guest_cid=4,socket=/tmp/vhost4.socket,forward_cid=1,forward_listen=9003",
		0), 0);
	assert_int_equal(n, 2);
	assert_true(v[0].has_forward_cid);
	assert_int_equal(v[0].n_listen, 2);
	assert_int_equal(v[1].listen_ports[0], 9003);
	vsock_vms_free(v, n);
}

static void test_vm_errors(void **state)
{
	struct vsock_vm *v;
	unsigned n;

	assert_int_equal(run_cli(&v, &n, VSOCK_OPT_VM, "socket=/s,uds_path=/u,group=g", 0), -1);
	assert_non_null(strstr(err, "unknown key 'group'"));
	assert_int_equal(run_cli(&v, &n, VSOCK_OPT_VM, "socket=/s,uds_path=/u,guest-cid=1", 0), -1);
	assert_non_null(strstr(err, "guest-cid '1'"));
	assert_int_equal(run_cli(&v, &n, VSOCK_OPT_VM, "uds_path=/u", 0), -1);
	assert_non_null(strstr(err, "socket is missing"));
	assert_int_equal(run_cli(&v, &n, VSOCK_OPT_VM, "socket=/s", 0), -1);
	assert_non_null(strstr(err, "backend is missing"));
	assert_int_equal(run_cli(&v, &n, VSOCK_OPT_VM, "socket=/s,uds_path=/u,forward_cid=1", 0), -1);
	assert_non_null(strstr(err, "exclude each other"));
	assert_int_equal(run_cli(&v, &n, VSOCK_OPT_VM, "socket=/s,uds_path=/u,", 0), -1);
	assert_non_null(strstr(err, "not key=value"));
	assert_int_equal(run_cli(&v, &n, VSOCK_OPT_VM, "socket=/s,,uds_path=/u", 0), -1);
	assert_int_equal(run_cli(&v, &n, VSOCK_OPT_VM, "socket", 0), -1);
	assert_int_equal(run_cli(&v, &n, VSOCK_OPT_VM, "=x", 0), -1);
	assert_int_equal(run_cli(&v, &n, VSOCK_OPT_VM, "", 0), -1);
	assert_non_null(strstr(err, "empty value"));
	assert_int_equal(run_cli(&v, &n, VSOCK_OPT_VM, "socket=/s,uds_path=/u,uds-path=/v", 0), -1);
	assert_non_null(strstr(err, "given twice"));
	/* Duplicates across VMs. */
	assert_int_equal(run_cli(&v, &n, VSOCK_OPT_VM, "socket=/s1,uds_path=/u1,guest_cid=7",
				 VSOCK_OPT_VM, "socket=/s2,uds_path=/u2,guest_cid=7", 0), -1);
	assert_non_null(strstr(err, "guest CID 7 is used by two VMs"));
	assert_int_equal(run_cli(&v, &n, VSOCK_OPT_VM, "socket=/s1,uds_path=/u1",
				 VSOCK_OPT_VM, "socket=/s2,uds_path=/u2", 0), -1);
	assert_non_null(strstr(err, "guest CID 3"));
	assert_int_equal(run_cli(&v, &n, VSOCK_OPT_VM, "socket=/s,uds_path=/u1,guest_cid=3",
				 VSOCK_OPT_VM, "socket=/s,uds_path=/u2,guest_cid=4", 0), -1);
	assert_non_null(strstr(err, "socket /s is used by two VMs"));
	assert_int_equal(run_cli(&v, &n, VSOCK_OPT_VM, "socket=/s1,uds_path=/u,guest_cid=3",
				 VSOCK_OPT_VM, "socket=/s2,uds_path=/u,guest_cid=4", 0), -1);
	assert_non_null(strstr(err, "uds_path /u is used by two VMs"));
}

static void test_exclusive_forms(void **state)
{
	struct vsock_vm *v;
	unsigned n;

	assert_int_equal(run_cli(&v, &n, VSOCK_OPT_VM, "socket=/s,uds_path=/u",
				 VSOCK_OPT_CONFIG, "/nonexistent.yaml", 0), -1);
	assert_non_null(strstr(err, "--config and --vm exclude each other"));
	assert_int_equal(run_cli(&v, &n, VSOCK_OPT_GUEST_CID, "5",
				 VSOCK_OPT_VM, "socket=/s,uds_path=/u", 0), -1);
	assert_non_null(strstr(err, "--guest-cid configures a single VM and excludes --vm"));
	assert_int_equal(run_cli(&v, &n, VSOCK_OPT_CONFIG, "/nonexistent.yaml",
				 VSOCK_OPT_UDS_PATH, "/u", 0), -1);
	assert_non_null(strstr(err, "--uds-path configures a single VM and excludes --config"));
	assert_int_equal(run_cli(&v, &n, VSOCK_OPT_CONFIG, "/a.yaml", VSOCK_OPT_CONFIG, "/b.yaml", 0), -1);
	assert_non_null(strstr(err, "--config given twice"));
}

/* ---- YAML --------------------------------------------------------------- */

static char yaml_path[64];

static int load_yaml(const char *text, struct vsock_vm **v, unsigned *n)
{
	FILE *f;

	snprintf(yaml_path, sizeof(yaml_path), "/tmp/vhd-vsock-cfg.%d.yaml", (int)getpid());
	f = fopen(yaml_path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	err[0] = 0;
	return run_cli(v, n, VSOCK_OPT_CONFIG, yaml_path, 0);
}

static int yaml_teardown(void **state)
{
	unlink(yaml_path);
	return 0;
}

#ifdef HAVE_LIBYAML
/* The Rust backend's own config test input. */
static void test_yaml_rust_example(void **state)
{
	struct vsock_vm *v;
	unsigned n;

	assert_int_equal(load_yaml("vms:\n"
				   "    - guest_cid: 4\n"
				   "      socket: /tmp/vhost4.socket\n"
				   "      uds_path: /tmp/vm4.vsock\n"
				   "      tx_buffer_size: 32768\n"
				   "      queue_size: 256\n"
				   "      groups: group1+group2\n", &v, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].guest_cid, 4);
	assert_string_equal(v[0].socket, "/tmp/vhost4.socket");
	assert_string_equal(v[0].uds_path, "/tmp/vm4.vsock");
	assert_int_equal(v[0].tx_buffer_size, 32768);
	assert_int_equal(v[0].queue_size, 256);
	assert_int_equal(v[0].n_groups, 2);
	assert_string_equal(v[0].groups[1], "group2");
	vsock_vms_free(v, n);
}

static void test_yaml_spellings_and_lists(void **state)
{
	struct vsock_vm *v;
	unsigned n;

	assert_int_equal(load_yaml("vms:\n"
				   "  - guest-cid: 5\n"
				   "    socket: \"/tmp/vhost5.socket\"\n"
				   "    uds-path: /tmp/vm5.vsock\n"
				   "    groups: [a, b, c]\n"
				   "  - guest_cid: 6\n"
				   "    socket: /tmp/vhost6.socket\n"
				   "    forward-cid: 1\n"
				   "    forward-listen: 9001\n"
				   "  - {guest_cid: 7, socket: /tmp/vhost7.socket, forward_cid: 1,\n"
				   "     forward_listen: [9002, 9003]}\n", &v, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(v[0].guest_cid, 5);
	assert_int_equal(v[0].n_groups, 3);
	assert_string_equal(v[0].groups[2], "c");
	assert_int_equal(v[0].tx_buffer_size, 65536);
	assert_int_equal(v[1].n_listen, 1);
	assert_int_equal(v[1].listen_ports[0], 9001);
	assert_string_equal(v[1].groups[0], "default");
	assert_int_equal(v[2].n_listen, 2);
	assert_int_equal(v[2].listen_ports[1], 9003);
	vsock_vms_free(v, n);
}

static void test_yaml_errors(void **state)
{
	struct vsock_vm *v;
	unsigned n;

	assert_int_equal(load_yaml("", &v, &n), -1);
	assert_non_null(strstr(err, "empty file"));
	assert_int_equal(load_yaml("vms: []\n", &v, &n), -1);
	assert_non_null(strstr(err, "non-empty list"));
	assert_int_equal(load_yaml("vm:\n  - socket: /s\n", &v, &n), -1);
	assert_non_null(strstr(err, "unknown top-level key"));
	assert_int_equal(load_yaml("- socket: /s\n", &v, &n), -1);
	assert_non_null(strstr(err, "expected a mapping"));
	assert_int_equal(load_yaml("vms:\n  - socket: /s\n    uds_path: /u\n    colour: blue\n", &v, &n), -1);
	assert_non_null(strstr(err, ":4: unknown key 'colour'"));
	assert_int_equal(load_yaml("vms:\n  - socket: /s\n    uds_path: /u\n    guest_cid: 0\n", &v, &n), -1);
	assert_non_null(strstr(err, ":4: guest_cid '0'"));
	assert_int_equal(load_yaml("vms:\n  - socket: /s\n    uds_path: /u\n    uds-path: /v\n", &v, &n), -1);
	assert_non_null(strstr(err, "given twice"));
	assert_int_equal(load_yaml("vms:\n  - socket: /s\n", &v, &n), -1);
	assert_non_null(strstr(err, "backend is missing"));
	assert_int_equal(load_yaml("vms:\n  - uds_path: /u\n", &v, &n), -1);
	assert_non_null(strstr(err, "socket is missing"));
	assert_int_equal(load_yaml("vms:\n  - socket: {a: 1}\n    uds_path: /u\n", &v, &n), -1);
	assert_non_null(strstr(err, "expected a value"));
	assert_int_equal(load_yaml("vms:\n  - socket: /s\n   uds_path: [\n", &v, &n), -1);
	assert_non_null(strstr(err, "YAML error"));
	assert_int_equal(load_yaml("vms:\n  - socket: /s1\n    uds_path: /u1\n"
				   "  - socket: /s2\n    uds_path: /u2\n", &v, &n), -1);
	assert_non_null(strstr(err, "guest CID 3 is used by two VMs"));
	assert_int_equal(run_cli(&v, &n, VSOCK_OPT_CONFIG, "/nonexistent/x.yaml", 0), -1);
	assert_non_null(strstr(err, "No such file"));
}
#else
static void test_yaml_missing(void **state)
{
	struct vsock_vm *v;
	unsigned n;

	assert_int_equal(load_yaml("vms:\n  - socket: /s\n    uds_path: /u\n", &v, &n), -1);
	assert_non_null(strstr(err, "no YAML support"));
}
#endif

/* --groups and --forward-listen share one '+'-list splitter: the same
 * elements and the same refusals. */
static void test_plus_lists(void **state)
{
	static const char *const bad[] = { "", "+", "a++b", "+a", "a+", "++" };
	char **names;
	uint32_t *ports;
	unsigned n;

	(void)state;
	assert_int_equal(vsock_parse_groups("a+bb+ccc", &names, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(names[0], "a");
	assert_string_equal(names[1], "bb");
	assert_string_equal(names[2], "ccc");
	for (unsigned i = 0; i < n; i++)
		free(names[i]);
	free(names);
	assert_int_equal(vsock_parse_ports("0+9001+4294967295", &ports, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(ports[0], 0);
	assert_int_equal(ports[1], 9001);
	assert_int_equal(ports[2], 4294967295u);
	free(ports);
	assert_int_equal(vsock_parse_ports("7", &ports, &n), 0);
	assert_int_equal(n, 1);
	free(ports);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(vsock_parse_groups(bad[i], &names, &n), -EINVAL);
		assert_int_equal(vsock_parse_ports(bad[i], &ports, &n), -EINVAL);
	}
	assert_int_equal(vsock_parse_groups(NULL, &names, &n), -EINVAL);
	assert_int_equal(vsock_parse_ports(NULL, &ports, &n), -EINVAL);
	/* Elements a port cannot be. */
	assert_int_equal(vsock_parse_ports("1+4294967296", &ports, &n), -EINVAL);
	assert_int_equal(vsock_parse_ports("1+x", &ports, &n), -EINVAL);
	assert_int_equal(vsock_parse_ports("1+-2", &ports, &n), -EINVAL);
	assert_int_equal(vsock_parse_ports("12345678901234567890", &ports, &n), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_standalone_defaults),
		cmocka_unit_test(test_standalone_all_flags),
		cmocka_unit_test(test_standalone_forward),
		cmocka_unit_test(test_standalone_errors),
		cmocka_unit_test(test_standalone_no_socket),
		cmocka_unit_test(test_vm_rust_example),
		cmocka_unit_test(test_vm_forward),
		cmocka_unit_test(test_vm_errors),
		cmocka_unit_test(test_exclusive_forms),
		cmocka_unit_test(test_plus_lists),
#ifdef HAVE_LIBYAML
		cmocka_unit_test_teardown(test_yaml_rust_example, yaml_teardown),
		cmocka_unit_test_teardown(test_yaml_spellings_and_lists, yaml_teardown),
		cmocka_unit_test_teardown(test_yaml_errors, yaml_teardown),
#else
		cmocka_unit_test_teardown(test_yaml_missing, yaml_teardown),
#endif
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
