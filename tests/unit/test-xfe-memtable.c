/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Unit tests of the memory table xen-vhost-frontend sends
 * (tools/xenfe/xfe-memtable.h): grant regions byte-exact around the rings
 * with 0xA gaps covering the rest of the grant space, merged overlapping
 * rings, refusals (a ring without the grant bit, a wrapping ring, more than
 * 32 regions), foreign regions per RAM bank, identity userspace addresses.
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "xfe-memtable.h"

#define G XFE_GRANT_ADDR

static struct xfe_mmio M;
static struct vhu_mem_region_xen R[VHU_MAX_TABLE_REGIONS];
static unsigned N;
static char why[256];

static void queue(unsigned q, uint16_t num, uint64_t desc, uint64_t avail, uint64_t used)
{
	M.q[q] = (struct xfe_queue){ .num = num, .ready = true, .desc = desc, .driver = avail,
				     .device = used };
}

/* The table covers [G, G + span) without holes or overlaps, in order,
 * and every region has the identity address and the domid. */
static void check_cover(uint64_t span)
{
	uint64_t pos = G;

	for (unsigned i = 0; i < N; i++) {
		assert_int_equal(R[i].guest_phys_addr, pos);
		assert_int_equal(R[i].userspace_addr, R[i].guest_phys_addr);
		assert_int_equal(R[i].mmap_offset, 0);
		assert_int_equal(R[i].domid, 7);
		assert_true(R[i].memory_size > 0);
		assert_true(R[i].xen_mmap_flags == 0x2 || R[i].xen_mmap_flags == 0xA);
		pos += R[i].memory_size;
	}
	assert_int_equal(pos, G + span);
}

static void test_one_split_queue(void **state)
{
	(void)state;
	xfe_mmio_init(&M, 4, 0, 1, 256, true);
	queue(0, 256, G | 0x10000, G | 0x11000, G | 0x12000);
	assert_int_equal(xfe_memtable_grant(&M, 7, 64ull << 20, R, &N, why, sizeof(why)), 0);
	/* gap, desc (ends where avail starts: no gap), avail, gap, used, gap */
	assert_int_equal(N, 6);
	check_cover(XFE_GRANT_SPAN_MIN);        /* 64 MiB RAM: the 128 MiB minimum */
	assert_int_equal(R[0].xen_mmap_flags, 0xA);
	assert_int_equal(R[0].memory_size, 0x10000);
	assert_int_equal(R[1].xen_mmap_flags, 0x2);
	assert_int_equal(R[1].memory_size, 16 * 256);
	assert_int_equal(R[2].xen_mmap_flags, 0x2);
	assert_int_equal(R[2].guest_phys_addr, G | 0x11000);
	assert_int_equal(R[2].memory_size, 6 + 2 * 256);
	assert_int_equal(R[3].xen_mmap_flags, 0xA);
	assert_int_equal(R[4].guest_phys_addr, G | 0x12000);
	assert_int_equal(R[4].memory_size, 6 + 8 * 256);
	assert_int_equal(R[4].xen_mmap_flags, 0x2);
	assert_int_equal(R[5].xen_mmap_flags, 0xA);
}

static void test_adjacent_and_overlapping(void **state)
{
	(void)state;
	/* Queue 0's areas touch (no gap between them), queue 1's used ring
	 * overlaps queue 0's descriptors: merged into one region. */
	xfe_mmio_init(&M, 19, 0, 2, 256, true);
	queue(0, 16, G | 0x1000, G | 0x1100, G | 0x1200);
	queue(1, 16, G | 0x3000, G | 0x3100, G | 0x1080);
	assert_int_equal(xfe_memtable_grant(&M, 7, 256ull << 20, R, &N, why, sizeof(why)), 0);
	check_cover(256ull << 20);
	for (unsigned i = 0; i < N; i++)
		if (R[i].guest_phys_addr == (G | 0x1000)) {
			assert_int_equal(R[i].xen_mmap_flags, 0x2);
			/* desc 0x1000-0x1100, queue 1's used 0x1080-0x1106 and
			 * queue 0's avail 0x1100-0x1126 overlap in a chain:
			 * one region */
			assert_int_equal(R[i].memory_size, 0x126);
		}
}

static void test_not_ready_queue_ignored(void **state)
{
	(void)state;
	xfe_mmio_init(&M, 19, 0, 3, 256, true);
	queue(0, 64, G | 0x1000, G | 0x2000, G | 0x3000);
	M.q[1] = (struct xfe_queue){ .num = 64, .desc = 5 };    /* not ready, no bit 63 */
	assert_int_equal(xfe_memtable_grant(&M, 7, 0, R, &N, why, sizeof(why)), 0);
	assert_int_equal(N, 7);
}

static void test_refusals(void **state)
{
	(void)state;
	xfe_mmio_init(&M, 4, 0, 1, 256, true);
	queue(0, 256, 0x10000, G | 0x11000, G | 0x12000);
	assert_int_equal(xfe_memtable_grant(&M, 7, 0, R, &N, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "grant_usage"));
	queue(0, 256, ~0ull - 100, G | 0x11000, G | 0x12000);
	assert_int_equal(xfe_memtable_grant(&M, 7, 0, R, &N, why, sizeof(why)), -EINVAL);
	/* 16 queues scattered: 48 ring regions and their gaps > 32. */
	xfe_mmio_init(&M, 4, 0, 16, 256, true);
	for (unsigned q = 0; q < 16; q++)
		queue(q, 4, G | (0x100000ull * q + 0x1000), G | (0x100000ull * q + 0x3000),
		      G | (0x100000ull * q + 0x5000));
	assert_int_equal(xfe_memtable_grant(&M, 7, 0, R, &N, why, sizeof(why)), -E2BIG);
	assert_non_null(strstr(why, "32"));
	/* 5 queues always fit. */
	xfe_mmio_init(&M, 4, 0, 5, 256, true);
	for (unsigned q = 0; q < 5; q++)
		queue(q, 4, G | (0x100000ull * q + 0x1000), G | (0x100000ull * q + 0x3000),
		      G | (0x100000ull * q + 0x5000));
	assert_int_equal(xfe_memtable_grant(&M, 7, 0, R, &N, why, sizeof(why)), 0);
	assert_int_equal(N, 31);
	check_cover(XFE_GRANT_SPAN_MIN);
}

static void test_ring_beyond_span(void **state)
{
	(void)state;
	/* A ring above the described span still gets its region; the gap
	 * stops at the span. */
	xfe_mmio_init(&M, 4, 0, 1, 256, true);
	queue(0, 16, G | (1ull << 30), G | ((1ull << 30) + 0x1000), G | ((1ull << 30) + 0x2000));
	assert_int_equal(xfe_memtable_grant(&M, 7, 0, R, &N, why, sizeof(why)), 0);
	assert_int_equal(N, 4);
	assert_int_equal(R[0].memory_size, XFE_GRANT_SPAN_MIN);
	assert_int_equal(R[1].guest_phys_addr, G | (1ull << 30));
}

static void test_foreign(void **state)
{
	(void)state;
	assert_int_equal(xfe_memtable_foreign(XFE_ARCH_ARM, 7, 0, R, &N, why, sizeof(why)),
			 -EINVAL);
	assert_non_null(strstr(why, "ram="));
	assert_int_equal(xfe_memtable_foreign(XFE_ARCH_ARM, 7, 512ull << 20, R, &N, why,
					      sizeof(why)), 0);
	assert_int_equal(N, 1);
	assert_int_equal(R[0].guest_phys_addr, 0x40000000);
	assert_int_equal(R[0].userspace_addr, 0x40000000);
	assert_int_equal(R[0].memory_size, 512ull << 20);
	assert_int_equal(R[0].xen_mmap_flags, 0x1);
	assert_int_equal(R[0].domid, 7);
	assert_int_equal(xfe_memtable_foreign(XFE_ARCH_X86, 7, 6ull << 30, R, &N, why,
					      sizeof(why)), 0);
	assert_int_equal(N, 2);
	assert_int_equal(R[1].guest_phys_addr, 1ull << 32);
	assert_int_equal(R[1].userspace_addr, 1ull << 32);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_split_queue),
		cmocka_unit_test(test_adjacent_and_overlapping),
		cmocka_unit_test(test_not_ready_queue_ignored),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_ring_beyond_span),
		cmocka_unit_test(test_foreign),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
