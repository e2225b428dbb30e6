/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Unit tests of xen-vhost-frontend's virtio-mmio register file
 * (tools/xenfe/xfe-mmio.h): every register, the probe and start sequence
 * of Linux's virtio_mmio driver, feature negotiation, status rules,
 * queue set-up, config forwarding decisions, interrupts, reset, and a
 * hostile guest writing every offset with every size.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "xfe-mmio.h"

#define B(n) (1ull << (n))
#define BACKEND_F (B(0) | B(28) | B(29) | B(30) | B(32) | B(26) | B(40) | B(38) | B(34))

static struct xfe_mmio M;
static struct xfe_mmio_result R;

static uint32_t rd(uint32_t off)
{
	return (uint32_t)xfe_mmio_read(&M, off, 4, &R);
}

static uint32_t wr(uint32_t off, uint32_t v)
{
	xfe_mmio_write(&M, off, 4, v, &R);
	return R.act;
}

static int setup_grant(void **state)
{
	(void)state;
	xfe_mmio_init(&M, 4, BACKEND_F, 2, 256, true);
	return 0;
}

static int setup_foreign(void **state)
{
	(void)state;
	xfe_mmio_init(&M, 19, BACKEND_F, 3, 128, false);
	return 0;
}

static void negotiate(uint64_t f)
{
	wr(XFE_REG_STATUS, XFE_ST_ACKNOWLEDGE);
	wr(XFE_REG_STATUS, XFE_ST_ACKNOWLEDGE | XFE_ST_DRIVER);
	wr(XFE_REG_DRIVER_FEATURES_SEL, 0);
	wr(XFE_REG_DRIVER_FEATURES, (uint32_t)f);
	wr(XFE_REG_DRIVER_FEATURES_SEL, 1);
	wr(XFE_REG_DRIVER_FEATURES, (uint32_t)(f >> 32));
}

static void setup_queue(unsigned q, uint32_t num, uint64_t base)
{
	wr(XFE_REG_QUEUE_SEL, q);
	wr(XFE_REG_QUEUE_NUM, num);
	wr(XFE_REG_QUEUE_DESC_LOW, (uint32_t)base);
	wr(XFE_REG_QUEUE_DESC_HIGH, (uint32_t)(base >> 32));
	wr(XFE_REG_QUEUE_DRIVER_LOW, (uint32_t)(base + 0x1000));
	wr(XFE_REG_QUEUE_DRIVER_HIGH, (uint32_t)((base + 0x1000) >> 32));
	wr(XFE_REG_QUEUE_DEVICE_LOW, (uint32_t)(base + 0x2000));
	wr(XFE_REG_QUEUE_DEVICE_HIGH, (uint32_t)((base + 0x2000) >> 32));
}

/* Linux virtio_mmio probe: magic, version, device and vendor ids. */
static void test_identity(void **state)
{
	(void)state;
	assert_int_equal(rd(XFE_REG_MAGIC), 0x74726976);
	assert_int_equal(rd(XFE_REG_VERSION), 2);
	assert_int_equal(rd(XFE_REG_DEVICE_ID), 4);
	assert_int_equal(rd(XFE_REG_VENDOR_ID), XFE_MMIO_VENDOR);
	assert_int_equal(rd(XFE_REG_CONFIG_GENERATION), 0);
	assert_int_equal(rd(XFE_REG_INTERRUPT_STATUS), 0);
	assert_int_equal(rd(XFE_REG_STATUS), 0);
	assert_null(R.log);
}

static void test_features_offered(void **state)
{
	uint64_t f;

	(void)state;
	wr(XFE_REG_DEVICE_FEATURES_SEL, 0);
	f = rd(XFE_REG_DEVICE_FEATURES);
	wr(XFE_REG_DEVICE_FEATURES_SEL, 1);
	f |= (uint64_t)rd(XFE_REG_DEVICE_FEATURES) << 32;
	/* Device bit 0, INDIRECT, EVENT_IDX kept; PROTOCOL_FEATURES, LOG_ALL,
	 * NOTIFICATION_DATA, RING_RESET and RING_PACKED dropped; VERSION_1 and
	 * ACCESS_PLATFORM added. */
	assert_int_equal(f, B(0) | B(28) | B(29) | B(32) | B(33));
	wr(XFE_REG_DEVICE_FEATURES_SEL, 2);
	assert_int_equal(rd(XFE_REG_DEVICE_FEATURES), 0);
	assert_int_equal(xfe_mmio_offer(BACKEND_F, false), B(0) | B(28) | B(29) | B(32) | B(33));
}

static void test_negotiation_ok(void **state)
{
	(void)state;
	negotiate(B(0) | B(29) | B(32) | B(33));
	assert_int_equal(wr(XFE_REG_STATUS, 0xb), XFE_ACT_FEATURES);
	assert_int_equal(M.driver_features, B(0) | B(29) | B(32) | B(33));
	xfe_mmio_features_done(&M, true);
	assert_int_equal(rd(XFE_REG_STATUS), 0xb);
	/* Features are frozen after FEATURES_OK (3.1.1). */
	wr(XFE_REG_DRIVER_FEATURES_SEL, 0);
	assert_int_equal(wr(XFE_REG_DRIVER_FEATURES, 0), 0);
	assert_non_null(R.log);
	assert_int_equal(M.driver_features, B(0) | B(29) | B(32) | B(33));
}

static void test_negotiation_backend_refuses(void **state)
{
	(void)state;
	negotiate(B(32) | B(33));
	assert_int_equal(wr(XFE_REG_STATUS, 0xb), XFE_ACT_FEATURES);
	xfe_mmio_features_done(&M, false);
	assert_int_equal(rd(XFE_REG_STATUS), 0x3);
	/* DRIVER_OK cannot follow a refused FEATURES_OK. */
	assert_int_equal(wr(XFE_REG_STATUS, 0x7), 0);
	assert_int_equal(rd(XFE_REG_STATUS), 0x3);
}

static void test_negotiation_bad_features(void **state)
{
	(void)state;
	/* Not offered (bit 1), no VERSION_1, no ACCESS_PLATFORM in grant
	 * mode, a bit beyond 63: each refuses FEATURES_OK without asking
	 * the backend. */
	static const uint64_t bad[] = { B(1) | B(32) | B(33), B(33), B(32) };

	for (unsigned i = 0; i < 3; i++) {
		wr(XFE_REG_STATUS, 0);
		negotiate(bad[i]);
		assert_int_equal(wr(XFE_REG_STATUS, 0xb), 0);
		assert_int_equal(rd(XFE_REG_STATUS), 0x3);
	}
	wr(XFE_REG_STATUS, 0);
	negotiate(B(32) | B(33));
	wr(XFE_REG_DRIVER_FEATURES_SEL, 2);
	wr(XFE_REG_DRIVER_FEATURES, 1);
	assert_int_equal(wr(XFE_REG_STATUS, 0xb), 0);
	assert_int_equal(rd(XFE_REG_STATUS), 0x3);
}

static void test_foreign_needs_no_access_platform(void **state)
{
	(void)state;
	negotiate(B(32));
	assert_int_equal(wr(XFE_REG_STATUS, 0xb), XFE_ACT_FEATURES);
	wr(XFE_REG_STATUS, 0);
	negotiate(B(32) | B(33));
	assert_int_equal(wr(XFE_REG_STATUS, 0xb), XFE_ACT_FEATURES);
}

static void test_status_rules(void **state)
{
	(void)state;
	/* DRIVER without ACKNOWLEDGE, FEATURES_OK without DRIVER, reserved
	 * bits, NEEDS_RESET from the driver: all ignored. */
	assert_int_equal(wr(XFE_REG_STATUS, XFE_ST_DRIVER), 0);
	assert_int_equal(rd(XFE_REG_STATUS), 0);
	assert_int_equal(wr(XFE_REG_STATUS, XFE_ST_ACKNOWLEDGE | XFE_ST_FEATURES_OK), 0);
	assert_int_equal(rd(XFE_REG_STATUS), 0);
	assert_int_equal(wr(XFE_REG_STATUS, 0x11), 0);
	assert_int_equal(wr(XFE_REG_STATUS, 0x41), 0);
	assert_int_equal(rd(XFE_REG_STATUS), 0);
	wr(XFE_REG_STATUS, XFE_ST_ACKNOWLEDGE | XFE_ST_DRIVER);
	/* Clearing a bit other than by reset. */
	assert_int_equal(wr(XFE_REG_STATUS, XFE_ST_ACKNOWLEDGE), 0);
	assert_int_equal(rd(XFE_REG_STATUS), 3);
	/* DRIVER_OK without FEATURES_OK. */
	assert_int_equal(wr(XFE_REG_STATUS, 0x7), 0);
	assert_int_equal(rd(XFE_REG_STATUS), 3);
	/* FAILED is always accepted. */
	assert_int_equal(wr(XFE_REG_STATUS, 0x83), 0);
	assert_int_equal(rd(XFE_REG_STATUS), 0x83);
}

static void test_queue_setup_and_start(void **state)
{
	(void)state;
	negotiate(B(32) | B(33));
	wr(XFE_REG_STATUS, 0xb);
	xfe_mmio_features_done(&M, true);
	wr(XFE_REG_QUEUE_SEL, 0);
	assert_int_equal(rd(XFE_REG_QUEUE_NUM_MAX), 256);
	assert_int_equal(rd(XFE_REG_QUEUE_READY), 0);
	setup_queue(0, 64, B(63) | 0x10000);
	assert_int_equal(M.q[0].num, 64);
	assert_int_equal(M.q[0].desc, B(63) | 0x10000);
	assert_int_equal(M.q[0].driver, B(63) | 0x11000);
	assert_int_equal(M.q[0].device, B(63) | 0x12000);
	assert_int_equal(wr(XFE_REG_QUEUE_READY, 1), 0);
	assert_int_equal(rd(XFE_REG_QUEUE_READY), 1);
	/* A ready queue's registers are frozen. */
	assert_int_equal(wr(XFE_REG_QUEUE_NUM, 32), 0);
	assert_non_null(R.log);
	assert_int_equal(M.q[0].num, 64);
	/* QueueNotify before DRIVER_OK: nothing to kick. */
	assert_int_equal(wr(XFE_REG_QUEUE_NOTIFY, 0), 0);
	assert_int_equal(wr(XFE_REG_STATUS, 0xf), XFE_ACT_START);
	assert_true(xfe_mmio_running(&M));
	assert_int_equal(wr(XFE_REG_QUEUE_NOTIFY, 0), XFE_ACT_NOTIFY);
	assert_int_equal(R.queue, 0);
	/* Queue 1 is not ready; queue 7 does not exist. */
	assert_int_equal(wr(XFE_REG_QUEUE_NOTIFY, 1), 0);
	assert_int_equal(wr(XFE_REG_QUEUE_NOTIFY, 7), 0);
	assert_int_equal(wr(XFE_REG_QUEUE_NOTIFY, 0xffffffff), 0);
	/* A queue made ready after DRIVER_OK is started alone. */
	setup_queue(1, 256, B(63) | 0x20000);
	assert_int_equal(wr(XFE_REG_QUEUE_READY, 1), XFE_ACT_QUEUE_START);
	assert_int_equal(R.queue, 1);
	/* Clearing QueueReady while running is refused. */
	assert_int_equal(wr(XFE_REG_QUEUE_READY, 0), 0);
	assert_int_equal(rd(XFE_REG_QUEUE_READY), 1);
}

static void test_queue_num_rules(void **state)
{
	static const uint32_t bad[] = { 0, 3, 100, 512, 0x10000, 0xffffffff };

	(void)state;
	wr(XFE_REG_QUEUE_SEL, 1);
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		wr(XFE_REG_QUEUE_NUM, bad[i]);
		assert_int_equal(M.q[1].num, 256);
	}
	wr(XFE_REG_QUEUE_NUM, 1);
	assert_int_equal(M.q[1].num, 1);
	/* A queue the device does not have: 0 and nothing written. */
	wr(XFE_REG_QUEUE_SEL, 2);
	assert_int_equal(rd(XFE_REG_QUEUE_NUM_MAX), 0);
	assert_int_equal(rd(XFE_REG_QUEUE_READY), 0);
	assert_int_equal(wr(XFE_REG_QUEUE_READY, 1), 0);
	wr(XFE_REG_QUEUE_SEL, 0xffffffff);
	assert_int_equal(wr(XFE_REG_QUEUE_DESC_LOW, 5), 0);
	for (unsigned q = 0; q < XFE_MAX_QUEUES; q++)
		assert_int_equal(M.q[q].desc, 0);
}

static void test_interrupts(void **state)
{
	(void)state;
	assert_false(xfe_mmio_irq_pending(&M));
	assert_true(xfe_mmio_raise(&M, XFE_INT_VRING));
	assert_false(xfe_mmio_raise(&M, XFE_INT_VRING));
	assert_true(xfe_mmio_irq_pending(&M));
	assert_int_equal(rd(XFE_REG_INTERRUPT_STATUS), 1);
	assert_true(xfe_mmio_raise(&M, XFE_INT_CONFIG));
	assert_int_equal(rd(XFE_REG_CONFIG_GENERATION), 1);
	assert_int_equal(rd(XFE_REG_INTERRUPT_STATUS), 3);
	/* ACK of a bit not set changes nothing; of one set, updates. */
	assert_int_equal(wr(XFE_REG_INTERRUPT_ACK, 4), 0);
	assert_int_equal(wr(XFE_REG_INTERRUPT_ACK, 1), XFE_ACT_IRQ_UPDATE);
	assert_true(xfe_mmio_irq_pending(&M));
	assert_int_equal(wr(XFE_REG_INTERRUPT_ACK, 0xffffffff), XFE_ACT_IRQ_UPDATE);
	assert_false(xfe_mmio_irq_pending(&M));
	assert_int_equal(rd(XFE_REG_INTERRUPT_STATUS), 0);
	/* InterruptStatus is read-only. */
	assert_int_equal(wr(XFE_REG_INTERRUPT_STATUS, 3), 0);
	assert_int_equal(rd(XFE_REG_INTERRUPT_STATUS), 0);
}

static void test_reset(void **state)
{
	(void)state;
	negotiate(B(32) | B(33));
	wr(XFE_REG_STATUS, 0xb);
	setup_queue(0, 64, B(63));
	wr(XFE_REG_QUEUE_READY, 1);
	wr(XFE_REG_STATUS, 0xf);
	xfe_mmio_raise(&M, XFE_INT_VRING | XFE_INT_CONFIG);
	assert_int_equal(wr(XFE_REG_STATUS, 0), XFE_ACT_RESET | XFE_ACT_IRQ_UPDATE);
	assert_int_equal(rd(XFE_REG_STATUS), 0);
	assert_int_equal(rd(XFE_REG_INTERRUPT_STATUS), 0);
	assert_int_equal(rd(XFE_REG_QUEUE_READY), 0);
	assert_int_equal(M.q[0].num, 256);
	assert_int_equal(M.q[0].desc, 0);
	assert_int_equal(M.driver_features, 0);
	/* The generation only grows (the driver may be comparing it). */
	assert_int_equal(rd(XFE_REG_CONFIG_GENERATION), 1);
	assert_int_equal(rd(XFE_REG_DEVICE_ID), 4);
	/* A reset of a reset device is still a reset (no interrupt change). */
	assert_int_equal(wr(XFE_REG_STATUS, 0), XFE_ACT_RESET);
}

static void test_needs_reset(void **state)
{
	(void)state;
	/* Before DRIVER_OK: no interrupt. */
	assert_false(xfe_mmio_needs_reset(&M));
	assert_int_equal(rd(XFE_REG_STATUS) & XFE_ST_NEEDS_RESET, XFE_ST_NEEDS_RESET);
	wr(XFE_REG_STATUS, 0);
	negotiate(B(32) | B(33));
	wr(XFE_REG_STATUS, 0xb);
	wr(XFE_REG_STATUS, 0xf);
	assert_true(xfe_mmio_needs_reset(&M));
	assert_int_equal(rd(XFE_REG_INTERRUPT_STATUS), XFE_INT_CONFIG);
	assert_false(xfe_mmio_running(&M));
	/* The driver echoing NEEDS_RESET back with FAILED is accepted. */
	assert_int_equal(wr(XFE_REG_STATUS, 0xcf), 0);
	assert_int_equal(rd(XFE_REG_STATUS), 0xcf);
	wr(XFE_REG_STATUS, 0);
	assert_int_equal(rd(XFE_REG_STATUS), 0);
}

static void test_config_forwarding(void **state)
{
	(void)state;
	xfe_mmio_read(&M, 0x100, 1, &R);
	assert_int_equal(R.act, XFE_ACT_CONFIG_READ);
	assert_int_equal(R.cfg_off, 0);
	assert_int_equal(R.cfg_size, 1);
	xfe_mmio_read(&M, 0x106, 2, &R);
	assert_int_equal(R.act, XFE_ACT_CONFIG_READ);
	assert_int_equal(R.cfg_off, 6);
	xfe_mmio_read(&M, 0x1f8, 8, &R);
	assert_int_equal(R.act, XFE_ACT_CONFIG_READ);
	assert_int_equal(R.cfg_off, 0xf8);
	assert_int_equal(R.cfg_size, 8);
	xfe_mmio_write(&M, 0x104, 4, 0xaabbccddeeull, &R);
	assert_int_equal(R.act, XFE_ACT_CONFIG_WRITE);
	assert_int_equal(R.cfg_off, 4);
	assert_int_equal(R.value, 0xbbccddee);
	xfe_mmio_write(&M, 0x101, 1, 0x1ff, &R);
	assert_int_equal(R.value, 0xff);
	/* Unaligned or odd sizes: answered 0, not forwarded. */
	static const struct { uint32_t off; unsigned size; } bad[] = {
		{ 0x101, 2 }, { 0x102, 4 }, { 0x104, 8 }, { 0x100, 3 }, { 0x100, 0 },
		{ 0x100, 16 }, { 0x1ff, 2 }, { 0x200, 1 }, { 0xffffffff, 4 },
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(xfe_mmio_read(&M, bad[i].off, bad[i].size, &R), 0);
		assert_int_equal(R.act, 0);
		xfe_mmio_write(&M, bad[i].off, bad[i].size, 1, &R);
		assert_int_equal(R.act, 0);
	}
}

static void test_control_register_sizes(void **state)
{
	(void)state;
	/* 1, 2, 8 bytes and unaligned 4 on control registers read 0. */
	assert_int_equal(xfe_mmio_read(&M, XFE_REG_MAGIC, 1, &R), 0);
	assert_non_null(R.log);
	assert_int_equal(xfe_mmio_read(&M, XFE_REG_MAGIC, 2, &R), 0);
	assert_null(R.log);             /* logged once per device */
	assert_int_equal(xfe_mmio_read(&M, XFE_REG_MAGIC, 8, &R), 0);
	assert_int_equal(xfe_mmio_read(&M, XFE_REG_MAGIC + 1, 4, &R), 0);
	xfe_mmio_write(&M, XFE_REG_STATUS, 1, 1, &R);
	assert_int_equal(R.act, 0);
	assert_int_equal(rd(XFE_REG_STATUS), 0);
}

static void test_shm_and_write_only(void **state)
{
	(void)state;
	wr(XFE_REG_SHM_SEL, 0);
	assert_int_equal(rd(XFE_REG_SHM_LEN_LOW), 0xffffffff);
	assert_int_equal(rd(XFE_REG_SHM_LEN_HIGH), 0xffffffff);
	assert_int_equal(rd(XFE_REG_SHM_BASE_LOW), 0xffffffff);
	assert_int_equal(rd(XFE_REG_QUEUE_RESET), 0);
	assert_int_equal(wr(XFE_REG_QUEUE_RESET, 1), 0);
	static const uint32_t wo[] = {
		XFE_REG_DEVICE_FEATURES_SEL, XFE_REG_DRIVER_FEATURES, XFE_REG_DRIVER_FEATURES_SEL,
		XFE_REG_QUEUE_SEL, XFE_REG_QUEUE_NUM, XFE_REG_QUEUE_NOTIFY, XFE_REG_INTERRUPT_ACK,
		XFE_REG_QUEUE_DESC_LOW, XFE_REG_QUEUE_DEVICE_HIGH, XFE_REG_SHM_SEL, 0x018, 0x0f8,
	};
	for (unsigned i = 0; i < sizeof(wo) / sizeof(wo[0]); i++)
		assert_int_equal(rd(wo[i]), 0);
	/* Read-only registers ignore writes. */
	wr(XFE_REG_MAGIC, 0);
	wr(XFE_REG_DEVICE_ID, 7);
	wr(XFE_REG_QUEUE_NUM_MAX, 1);
	wr(XFE_REG_CONFIG_GENERATION, 9);
	assert_int_equal(rd(XFE_REG_MAGIC), 0x74726976);
	assert_int_equal(rd(XFE_REG_DEVICE_ID), 19);
	assert_int_equal(rd(XFE_REG_QUEUE_NUM_MAX), 128);
	assert_int_equal(rd(XFE_REG_CONFIG_GENERATION), 0);
}

/* A hostile guest: every offset of the window (and beyond), every size,
 * several values, in random order.  Nothing may break the invariants. */
static void test_hostile(void **state)
{
	static const uint64_t vals[] = { 0, 1, 2, 0xf, 0xff, 0x7fffffff, 0xffffffff,
					 0x8000000000000000ull, ~0ull, 0x40, 0xcf };
	uint32_t seed = 12345;

	(void)state;
	for (unsigned iter = 0; iter < 200000; iter++) {
		uint32_t off, size;
		uint64_t v;

		seed = seed * 1103515245u + 12345u;
		off = (seed >> 8) % 0x240;
		size = 1u << ((seed >> 4) % 4);
		if ((seed & 7) == 0)
			size = (seed >> 3) % 17;
		v = vals[(seed >> 20) % (sizeof(vals) / sizeof(vals[0]))];
		if (seed & 1)
			xfe_mmio_write(&M, off, size, v, &R);
		else
			xfe_mmio_read(&M, off, size, &R);
		if (R.act & (XFE_ACT_NOTIFY | XFE_ACT_QUEUE_START))
			assert_true(R.queue < M.nqueues);
		if (R.act & XFE_ACT_FEATURES)
			xfe_mmio_features_done(&M, (seed >> 12) & 1);
		if (R.act & (XFE_ACT_CONFIG_READ | XFE_ACT_CONFIG_WRITE))
			assert_true(R.cfg_off + R.cfg_size <= 0x100);
		assert_true(M.queue_num_max == 128);
		for (unsigned q = 0; q < XFE_MAX_QUEUES; q++) {
			if (q >= M.nqueues) {
				assert_int_equal(M.q[q].num, 0);
				assert_false(M.q[q].ready);
			} else {
				assert_true(M.q[q].num >= 1 && M.q[q].num <= 128);
				assert_int_equal(M.q[q].num & (M.q[q].num - 1), 0);
			}
		}
		if (M.status & XFE_ST_DRIVER_OK)
			assert_true(M.status & XFE_ST_FEATURES_OK);
		assert_int_equal(M.status & 0x30, 0);
		assert_int_equal(M.interrupt_status & ~3u, 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_identity, setup_grant),
		cmocka_unit_test_setup(test_features_offered, setup_grant),
		cmocka_unit_test_setup(test_negotiation_ok, setup_grant),
		cmocka_unit_test_setup(test_negotiation_backend_refuses, setup_grant),
		cmocka_unit_test_setup(test_negotiation_bad_features, setup_grant),
		cmocka_unit_test_setup(test_foreign_needs_no_access_platform, setup_foreign),
		cmocka_unit_test_setup(test_status_rules, setup_grant),
		cmocka_unit_test_setup(test_queue_setup_and_start, setup_grant),
		cmocka_unit_test_setup(test_queue_num_rules, setup_grant),
		cmocka_unit_test_setup(test_interrupts, setup_grant),
		cmocka_unit_test_setup(test_reset, setup_grant),
		cmocka_unit_test_setup(test_needs_reset, setup_grant),
		cmocka_unit_test_setup(test_config_forwarding, setup_grant),
		cmocka_unit_test_setup(test_control_register_sizes, setup_grant),
		cmocka_unit_test_setup(test_shm_and_write_only, setup_foreign),
		cmocka_unit_test_setup(test_hostile, setup_foreign),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
