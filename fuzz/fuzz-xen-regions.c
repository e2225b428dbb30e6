/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Fuzz target: Xen memory region tables (QEMU's vhost-user spec,
 * "Memory region description" with VHOST_USER_PROTOCOL_F_XEN_MMAP: the
 * xen_mmap_flags and domid of each region) fed to the core's memory layer
 * (src/mem/: mem-table.c, and mem-xen.c in an --enable-xen build) as
 * SET_MEM_TABLE, ADD_MEM_REG and REM_MEM_REG build them, then used as a
 * device uses them: request chains mapped (gm_map_chain: one grant map per
 * direction and group, readable buffers read-only), headers read
 * (gm_read), ring addresses translated (gm_uva_to_ptr).
 *
 * libxengnttab and libxenforeignmemory are the fake of the Xen tests
 * (tests/xen/fakexen.c, linked into this binary so its definitions come
 * first): guest RAM is a 256 KiB memfd, grant ref r (r < 64) grants page
 * r, every fourth one read-only, domain 5 the only guest.  Without
 * --enable-xen the same input exercises the table code's refusal of Xen
 * flags and its plain memfd regions.
 *
 * Input: records of one op byte and its operands:
 *   op % 6 == 0  SET_MEM_TABLE of (byte % 5) regions;
 *   1            ADD_MEM_REG of one region;   2  REM_MEM_REG of one;
 *   3            a chain: a byte (n_rd % 4, n_wr % 4 in its nibbles), then
 *                per buffer an address and a le16 length;
 *   4            gm_read of an address and a length byte;
 *   5            gm_uva_to_ptr of a le32 uva and a le16 length.
 * A region: a mode byte (bit 0: grant address space, bits 1..4: the Xen
 * flags, bit 5: another domain, bit 6: mmap_offset 4096), a le32 page
 * number and a le16 in-page offset (the gpa), a le32 size (modulo 4 MiB +
 * 1), a le32 uva.
 * An address: a bit-63 byte, a le32 page number and a le16 offset.
 * Checks: what maps can be touched (readable buffers read, writable ones
 * written, within their iovec); after each input nothing is mapped any
 * more (the fake's live counters at zero) and no unmap ever named a
 * mapping the fake did not make.
 */
#include "config.h"
#include "fuzz/fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "log.h"
#include "mem/guest-mem.h"
#ifdef HAVE_XEN
#include "tests/xen/fakexen.h"
#endif

#define PG 4096u
#define RAM_PAGES 64u
#define MAX_REGIONS 4u
#define IOV_CAP 16u

static int ram_fd = -1;
#ifdef HAVE_XEN
static struct fakexen_stats *st;
#endif

static int memfd_path(const char *name, size_t size, char *path, size_t len)
{
	int fd = memfd_create(name, 0);

	if (fd < 0 || ftruncate(fd, (off_t)size) < 0)
		abort();
	snprintf(path, len, "/proc/self/fd/%d", fd);
	return fd;
}

/* The guest RAM, the grant table and the fake's counters, once. */
static void setup(void)
{
	char path[64];

	if (ram_fd >= 0)
		return;
	ram_fd = memfd_path("fuzz-xen-ram", RAM_PAGES * PG, path, sizeof(path));
#ifdef HAVE_XEN
	struct fakexen_grant g[RAM_PAGES];
	int fd;

	setenv("FAKEXEN_RAM", path, 1);
	setenv("FAKEXEN_DOMID", "5", 1);
	fd = memfd_path("fuzz-xen-gnttab", sizeof(g), path, sizeof(path));
	for (unsigned r = 0; r < RAM_PAGES; r++)
		g[r] = (struct fakexen_grant){
			FAKEXEN_GRANT_VALID | (r % 4 == 3 ? FAKEXEN_GRANT_READONLY : 0), 0, r };
	if (pwrite(fd, g, sizeof(g), 0) != (ssize_t)sizeof(g))
		abort();
	setenv("FAKEXEN_GNTTAB", path, 1);
	fd = memfd_path("fuzz-xen-stats", sizeof(*st), path, sizeof(path));
	st = mmap(NULL, sizeof(*st), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (st == MAP_FAILED)
		abort();
	setenv("FAKEXEN_STATS", path, 1);
#endif
}

static uint64_t address(struct fuzz_in *in, bool grant)
{
	uint64_t page = fuzz_u32(in), off = fuzz_u16(in);

	return (grant ? 1ull << 63 : 0) | ((page << 12) + off);
}

static void region(struct fuzz_in *in, struct gm_region_desc *d)
{
	uint8_t mode = fuzz_u8(in);

	d->gpa = address(in, mode & 1);
	/* At most 4 MiB: the fake maps a foreign region page by page, and
	 * larger sizes only cost time (RAM is 256 KiB, so 4 MiB already asks
	 * for pages that do not exist). */
	d->size = fuzz_u32(in) % ((4u << 20) + 1);
	d->uva = fuzz_u32(in);
	d->mmap_offset = mode & 0x40 ? PG : 0;
	d->xen_flags = (mode >> 1) & 0xf;
	d->domid = mode & 0x20 ? 7 : 5;
}

/* Set, add or remove; the new table replaces *t on success. */
static void table_op(struct gm_table **t, uint8_t op, struct fuzz_in *in)
{
	struct gm_region_desc d[MAX_REGIONS];
	int fds[MAX_REGIONS];
	struct gm_table *nt = NULL;
	unsigned n = 1;
	int r;

	if (op == 0)
		n = fuzz_u8(in) % (MAX_REGIONS + 1);
	for (unsigned i = 0; i < n; i++) {
		region(in, &d[i]);
		fds[i] = dup(ram_fd);
		if (fds[i] < 0)
			abort();
	}
	if (op == 0) {
		r = gm_table_set(*t, d, fds, n, &nt);
	} else if (op == 1) {
		r = gm_table_add(*t, &d[0], fds[0], &nt);
	} else {
		close(fds[0]);
		r = gm_table_remove(*t, &d[0], &nt);
	}
	if (r == 0) {
		gm_table_unref(*t);
		*t = nt;
	} else if (nt) {
		abort();        /* a failure that made a table */
	}
}

static void chain(struct gm_table *t, struct fuzz_in *in)
{
	uint8_t shape = fuzz_u8(in);
	unsigned n_rd = shape % 4, n_wr = (shape >> 4) % 4, n_rd_iov, n_wr_iov;
	struct gm_buf rd[3], wr[3];
	struct iovec iov[IOV_CAP];
	struct gm_mapping m = { 0 };
	volatile uint8_t sink = 0;

	for (unsigned i = 0; i < n_rd + n_wr; i++) {
		struct gm_buf *b = i < n_rd ? &rd[i] : &wr[i - n_rd];

		b->addr = address(in, fuzz_u8(in) & 1);
		b->len = fuzz_u16(in);
	}
	if (gm_map_chain(t, rd, n_rd, wr, n_wr, iov, IOV_CAP, &n_rd_iov, &n_wr_iov, &m) != 0)
		return;
	if (n_rd_iov + n_wr_iov > IOV_CAP)
		abort();
	for (unsigned i = 0; i < n_rd_iov; i++) {
		const uint8_t *p = iov[i].iov_base;

		if (iov[i].iov_len)
			sink ^= p[0] ^ p[iov[i].iov_len - 1];
	}
	for (unsigned i = n_rd_iov; i < n_rd_iov + n_wr_iov; i++) {
		uint8_t *p = iov[i].iov_base;

		if (iov[i].iov_len) {
			p[0] = 0x5a;
			p[iov[i].iov_len - 1] = 0xa5;
		}
	}
	(void)sink;
	gm_unmap_chain(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct gm_table *t;
	uint8_t buf[256];

	vhd_log_set_level(VHD_LOG_ERROR);
	setup();
	t = gm_table_new_empty();
	if (!t)
		abort();
	while (in.left) {
		uint8_t op = fuzz_u8(&in) % 6;

		if (op <= 2) {
			table_op(&t, op, &in);
		} else if (op == 3) {
			chain(t, &in);
		} else if (op == 4) {
			uint64_t a = address(&in, fuzz_u8(&in) & 1);

			(void)gm_read(t, a, buf, fuzz_u8(&in));
		} else {
			uint64_t uva = fuzz_u32(&in);
			uint16_t len = fuzz_u16(&in);
			volatile uint8_t *p = gm_uva_to_ptr(t, uva, len);

			if (p && len)
				(void)p[len - 1];
		}
	}
	gm_table_unref(t);
#ifdef HAVE_XEN
	/* Every region's mapping went with its last table, every request's
	 * with its unmap; no unmap named a mapping that does not exist. */
	if (st->gnt_live || st->fm_live || st->bad_unmaps || st->leaked)
		abort();
#endif
	return 0;
}
