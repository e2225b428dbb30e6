/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Unit tests of xen-vhost-frontend's parsers (tools/xenfe/xfe-conf.h):
 * the device table, -d specifications (each error names what was wrong),
 * the xenstore values libxl writes, watch paths, socket names and the
 * guest RAM layout.
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "xfe-conf.h"

static void test_types(void **state)
{
	(void)state;
	assert_int_equal(xfe_type_by_name("rng")->id, 4);
	assert_int_equal(xfe_type_by_name("vsock")->id, 19);
	assert_int_equal(xfe_type_by_name("i2c")->id, 34);    /* virtio,device22 */
	assert_int_equal(xfe_type_by_name("gpio")->id, 41);   /* virtio,device29 */
	assert_int_equal(xfe_type_by_name("scmi")->id, 32);
	assert_int_equal(xfe_type_by_name("sound")->id, 25);
	assert_int_equal(xfe_type_by_name("input")->id, 18);
	assert_int_equal(xfe_type_by_name("console")->id, 3);
	assert_int_equal(xfe_type_by_name("can")->id, 36);
	assert_int_equal(xfe_type_by_name("scsi")->id, 8);
	assert_int_equal(xfe_type_by_name("fs")->id, 26);
	assert_string_equal(xfe_type_by_name("19")->name, "vsock");
	assert_string_equal(xfe_type_by_name("virtio,device22")->name, "i2c");
	assert_string_equal(xfe_type_by_name("virtio,device29")->name, "gpio");
	assert_string_equal(xfe_type_by_name("virtio,device13")->name, "vsock");
	assert_null(xfe_type_by_name("virtio,device2"));    /* blk: not ours */
	assert_null(xfe_type_by_name("rngx"));
	assert_null(xfe_type_by_name(""));
	assert_int_equal(xfe_type_by_id(19)->nqueues, 3);
}

static void test_compatible(void **state)
{
	uint32_t id;

	(void)state;
	assert_int_equal(xfe_parse_compatible("virtio,device4", &id), 0);
	assert_int_equal(id, 4);
	assert_int_equal(xfe_parse_compatible("virtio,device1a", &id), 0);
	assert_int_equal(id, 26);
	assert_int_equal(xfe_parse_compatible("virtio,device13", &id), 0);
	assert_int_equal(id, 19);
	assert_int_equal(xfe_parse_compatible("virtio,device22", &id), 0);
	assert_int_equal(id, 34);
	assert_int_equal(xfe_parse_compatible("virtio,device", &id), -EINVAL);
	assert_int_equal(xfe_parse_compatible("virtio,device-1", &id), -EINVAL);
	assert_int_equal(xfe_parse_compatible("virtio,device4 ", &id), -EINVAL);
	assert_int_equal(xfe_parse_compatible("virtio,devicezz", &id), -EINVAL);
	assert_int_equal(xfe_parse_compatible("virtio,device100000", &id), -EINVAL);
	assert_int_equal(xfe_parse_compatible("virtio,mmio", &id), -EINVAL);
}

static void test_numbers(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(xfe_parse_u64("0x2000000", &v), 0);
	assert_int_equal(v, 0x2000000);
	assert_int_equal(xfe_parse_u64("33554432", &v), 0);       /* 4.17: decimal */
	assert_int_equal(v, 0x2000000);
	assert_int_equal(xfe_parse_u64("", &v), -EINVAL);
	assert_int_equal(xfe_parse_u64("-1", &v), -EINVAL);
	assert_int_equal(xfe_parse_u64("12abc", &v), -EINVAL);
	assert_int_equal(xfe_parse_u64("0x1ffffffffffffffff", &v), -EINVAL);
	assert_int_equal(xfe_parse_size("512M", &v), 0);
	assert_int_equal(v, 512ull << 20);
	assert_int_equal(xfe_parse_size("4g", &v), 0);
	assert_int_equal(v, 4ull << 30);
	assert_int_equal(xfe_parse_size("65536", &v), 0);
	assert_int_equal(v, 65536);
	assert_int_equal(xfe_parse_size("M", &v), -EINVAL);
	assert_int_equal(xfe_parse_size("99999999999999999G", &v), -EINVAL);
}

static void test_devspec(void **state)
{
	struct xfe_devspec d;
	char err[256];

	(void)state;
	assert_int_equal(xfe_parse_devspec("domid=5,type=rng,base=0x2000000,irq=33", &d, err,
					   sizeof(err)), 0);
	assert_int_equal(d.domid, 5);
	assert_string_equal(d.type->name, "rng");
	assert_int_equal(d.base, 0x2000000);
	assert_int_equal(d.irq, 33);
	assert_int_equal(d.grant, -1);
	assert_int_equal(d.ram, 0);
	assert_string_equal(d.socket, "");
	assert_int_equal(xfe_parse_devspec("domid=1,type=19,base=0x2000100,irq=34,foreign,"
					   "socket=/run/v.sock,ram=512M,queue-size=64", &d,
					   err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "base"));   /* not a multiple of 0x200 */
	/* libxl's second device: 0x200 after the first. */
	assert_int_equal(xfe_parse_devspec("domid=1,type=19,base=0x2000200,irq=34,foreign,"
					   "socket=/run/v.sock,ram=512M,queue-size=64", &d,
					   err, sizeof(err)), 0);
	assert_int_equal(d.grant, 0);
	assert_string_equal(d.socket, "/run/v.sock");
	assert_int_equal(d.ram, 512ull << 20);
	assert_int_equal(d.queue_size, 64);
	assert_int_equal(xfe_parse_devspec("domid=1,type=virtio,device4,base=4096,irq=40,grant",
					   &d, err, sizeof(err)), -EINVAL);
	assert_int_equal(xfe_parse_devspec("domid=1,type=4,base=4096,irq=40,grant", &d, err,
					   sizeof(err)), 0);
	assert_int_equal(d.grant, 1);

	static const struct { const char *spec, *says; } bad[] = {
		{ "type=rng,base=0x1000,irq=33", "domid=" },
		{ "domid=1,base=0x1000,irq=33", "type=" },
		{ "domid=1,type=rng,irq=33", "base=" },
		{ "domid=1,type=rng,base=0x1000", "irq=" },
		{ "domid=0,type=rng,base=0x1000,irq=33", "domid" },
		{ "domid=32752,type=rng,base=0x1000,irq=33", "domid" },
		{ "domid=1,type=blk,base=0x1000,irq=33", "unknown device type" },
		{ "domid=1,type=rng,base=0x1000,irq=2000", "irq" },
		{ "domid=1,type=rng,base=0x1000,irq=33,ram=12", "ram" },
		{ "domid=1,type=rng,base=0x1000,irq=33,queue-size=100", "power of two" },
		{ "domid=1,type=rng,base=0x1000,irq=33,colour=red", "unknown key" },
		{ "domid=1,type=rng,base=0x1000,irq=33,frob", "not key=value" },
		{ "", "lacks" },
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(xfe_parse_devspec(bad[i].spec, &d, err, sizeof(err)), -EINVAL);
		if (!strstr(err, bad[i].says))
			fail_msg("'%s': '%s' does not say '%s'", bad[i].spec, err, bad[i].says);
	}
}

static void test_backend_path(void **state)
{
	const char *root = "/local/domain/0/backend/virtio";
	uint32_t fe = 0, dev = 0;

	(void)state;
	assert_int_equal(xfe_parse_backend_path(root, root, &fe, &dev), 0);
	assert_int_equal(xfe_parse_backend_path(root, "/local/domain/0/backend/virtio/7", &fe,
						&dev), 1);
	assert_int_equal(fe, 7);
	assert_int_equal(xfe_parse_backend_path(root, "/local/domain/0/backend/virtio/7/3", &fe,
						&dev), 2);
	assert_int_equal(dev, 3);
	assert_int_equal(xfe_parse_backend_path(root, "/local/domain/0/backend/virtio/7/3/state",
						&fe, &dev), 2);
	assert_int_equal(xfe_parse_backend_path(root, "/local/domain/0/backend/virtiofoo", &fe,
						&dev), -EINVAL);
	assert_int_equal(xfe_parse_backend_path(root, "/local/domain/0/backend/virtio/x/3", &fe,
						&dev), -EINVAL);
	assert_int_equal(xfe_parse_backend_path(root, "/local/domain/0/backend/virtio//3", &fe,
						&dev), -EINVAL);
	assert_int_equal(xfe_parse_backend_path(root, "/local/domain/1/backend/virtio/7", &fe,
						&dev), -EINVAL);
	assert_int_equal(xfe_parse_backend_path(root,
						"/local/domain/0/backend/virtio/99999999999/1",
						&fe, &dev), -EINVAL);
}

static void test_socket_name(void **state)
{
	char buf[108];

	(void)state;
	assert_int_equal(xfe_socket_name(buf, sizeof(buf), "/root/", xfe_type_by_name("i2c"), 0), 0);
	assert_string_equal(buf, "/root/i2c.sock0");
	assert_int_equal(xfe_socket_name(buf, sizeof(buf), "/run/x-", xfe_type_by_name("vsock"), 12), 0);
	assert_string_equal(buf, "/run/x-vsock.sock12");
	assert_int_equal(xfe_socket_name(buf, 10, "/root/", xfe_type_by_name("i2c"), 0), -ENAMETOOLONG);
}

static void test_ram_layout(void **state)
{
	struct xfe_ram r;

	(void)state;
	xfe_ram_layout(XFE_ARCH_ARM, 512ull << 20, &r);
	assert_int_equal(r.nbanks, 1);
	assert_int_equal(r.base[0], 0x40000000);
	assert_int_equal(r.size[0], 512ull << 20);
	xfe_ram_layout(XFE_ARCH_ARM, 4ull << 30, &r);
	assert_int_equal(r.nbanks, 2);
	assert_int_equal(r.size[0], 3ull << 30);
	assert_int_equal(r.base[1], 0x200000000ull);
	assert_int_equal(r.size[1], 1ull << 30);
	xfe_ram_layout(XFE_ARCH_X86, 64ull << 20, &r);
	assert_int_equal(r.nbanks, 1);
	assert_int_equal(r.base[0], 0);
	xfe_ram_layout(XFE_ARCH_X86, 5ull << 30, &r);
	assert_int_equal(r.nbanks, 2);
	assert_int_equal(r.size[0], 0xf0000000ull);
	assert_int_equal(r.base[1], 1ull << 32);
	assert_int_equal(r.size[1], (5ull << 30) - 0xf0000000ull);
	xfe_ram_layout(XFE_ARCH_X86, 0, &r);
	assert_int_equal(r.nbanks, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_compatible),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_devspec),
		cmocka_unit_test(test_backend_path),
		cmocka_unit_test(test_socket_name),
		cmocka_unit_test(test_ram_layout),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
