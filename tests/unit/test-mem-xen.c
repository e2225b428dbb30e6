/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Unit tests of the Xen guest-memory kinds (src/mem/mem-xen.c), built only
 * with --enable-xen.  The libxen calls are replaced at link time
 * (-Wl,--wrap=xengnttab_..., xenforeignmemory_...; see src/mem/mem.am) by
 * the __wrap_ functions below.  They assert, through cmocka expectations,
 * the refs, gfns, counts, domid and prot the code asks for, and really map
 * the pages they name from a memfd standing for the guest's RAM (grant ref
 * r = RAM page r, gfn FGN_BASE + i = RAM page i), so data the backend
 * writes lands where the guest would see it, a read-only grant refuses a
 * writable map, and every unmap must name exactly a live mapping.
 *
 * The host page size is replaced too (-Wl,--wrap=sysconf: X.page), so the
 * mapping logic runs as on an arm64 kernel with 16 KiB or 64 KiB pages.
 * The fake then behaves as Linux gntdev there: each grant lands at the
 * start of a kernel page of its own (the rest of that page PROT_NONE, so
 * a read past the grant's 4 KiB faults), and a map of more than one grant
 * fails with EINVAL (libxengnttab mmaps count * 4 KiB, gntdev wants one
 * kernel page per grant).  Foreign maps stay dense, as privcmd packs the
 * 4 KiB gfns into the kernel pages.
 */
#include "config.h"

#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "unit-util.h"

#include <xenforeignmemory.h>
#include <xengnttab.h>

#include "mem/guest-mem.h"
#include "mem/mem-backend.h"
#include "mem/mem-xen.h"
#include "vq/virtqueue.h"
#include "vq/vring.h"

#define PG 4096u
#define RAM_PAGES 1024u                 /* 4 MiB of "guest RAM" */
#define FGN_BASE 0x40000ull             /* gfn of RAM page 0 */
#define G GM_XEN_GRANT_ADDR_OFF
#define DOM 7u
#define RW (PROT_READ | PROT_WRITE)
#define GA(ref, off) (G | ((uint64_t)(ref) << 12) | (off))

/* ---- the fake libxen ---------------------------------------------------- */

struct live_map {
	void *addr;
	uint32_t count;
	int prot;
	bool grant;
	size_t stride;                  /* bytes per mapped 4 KiB page */
};

static struct {
	int ram_fd;
	uint8_t *ram;                   /* our own view of the guest RAM */
	bool ro[RAM_PAGES];             /* grant ref i is granted read-only */
	char gnt_tag, fm_tag;           /* the handles' addresses */
	unsigned gnt_opens, gnt_closes, fm_opens, fm_closes;
	int open_errno;                 /* next open fails with this */
	unsigned maps, unmaps;
	struct live_map live[64];
	unsigned nlive;
	uint64_t bad_gfn;               /* foreign map reports err for it */
	/* Called at each per-request unmap (count != vring count). */
	void (*unmap_hook)(void *addr, uint32_t count);
	long page;                      /* sysconf(_SC_PAGESIZE); 0: real */
} X;

long __real_sysconf(int name);
long __wrap_sysconf(int name);

long __wrap_sysconf(int name)
{
	if (name == _SC_PAGESIZE && X.page)
		return X.page;
	return __real_sysconf(name);
}

/* gntdev's distance between two grants of one mapping. */
static size_t grant_stride(void)
{
	return X.page > (long)PG ? (size_t)X.page : PG;
}

#define GNT_HANDLE ((xengnttab_handle *)&X.gnt_tag)
#define FM_HANDLE ((xenforeignmemory_handle *)&X.fm_tag)

/* Map RAM pages page[0..n) at one fresh address with prot, page i at
 * offset i * stride (the rest of each stride PROT_NONE). */
static void *map_pages(const uint64_t *page, uint32_t n, int prot, size_t stride)
{
	uint8_t *base = mmap(NULL, (size_t)n * stride, PROT_NONE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	assert_true(base != MAP_FAILED);
	for (uint32_t i = 0; i < n; i++) {
		void *p;

		assert_true(page[i] < RAM_PAGES);
		p = mmap(base + (size_t)i * stride, PG, prot, MAP_SHARED | MAP_FIXED,
			 X.ram_fd, (off_t)(page[i] * PG));
		assert_ptr_equal(p, base + (size_t)i * stride);
	}
	return base;
}

static void add_live(void *addr, uint32_t count, int prot, bool grant,
		     size_t stride)
{
	assert_true(X.nlive < 64);
	X.live[X.nlive++] = (struct live_map){ addr, count, prot, grant, stride };
	X.maps++;
}

static int drop_live(void *addr, uint32_t count, bool grant)
{
	for (unsigned i = 0; i < X.nlive; i++) {
		if (X.live[i].addr != addr || X.live[i].grant != grant)
			continue;
		/* Like libxengnttab's GET_OFFSET_FOR_VADDR check. */
		assert_int_equal(X.live[i].count, count);
		munmap(addr, (size_t)count * X.live[i].stride);
		X.live[i] = X.live[--X.nlive];
		X.unmaps++;
		return 0;
	}
	fail_msg("unmap of %p (%u pages): no such mapping", addr, count);
	return -1;
}

xengnttab_handle *__wrap_xengnttab_open(struct xentoollog_logger *lg,
					unsigned flags);
int __wrap_xengnttab_close(xengnttab_handle *h);
void *__wrap_xengnttab_map_domain_grant_refs(xengnttab_handle *xgt,
					     uint32_t count, uint32_t domid,
					     uint32_t *refs, int prot);
int __wrap_xengnttab_unmap(xengnttab_handle *xgt, void *addr, uint32_t count);
xenforeignmemory_handle *__wrap_xenforeignmemory_open(struct xentoollog_logger *lg,
						      unsigned flags);
int __wrap_xenforeignmemory_close(xenforeignmemory_handle *h);
void *__wrap_xenforeignmemory_map(xenforeignmemory_handle *h, uint32_t dom,
				  int prot, size_t pages,
				  const xen_pfn_t arr[], int err[]);
int __wrap_xenforeignmemory_unmap(xenforeignmemory_handle *h, void *addr,
				  size_t pages);

xengnttab_handle *__wrap_xengnttab_open(struct xentoollog_logger *lg,
					unsigned flags)
{
	assert_non_null(lg);            /* libxen logs through our log */
	if (X.open_errno) {
		errno = X.open_errno;
		X.open_errno = 0;
		return NULL;
	}
	X.gnt_opens++;
	assert_int_equal(X.gnt_opens, X.gnt_closes + 1);
	return GNT_HANDLE;
}

int __wrap_xengnttab_close(xengnttab_handle *h)
{
	assert_ptr_equal(h, GNT_HANDLE);
	X.gnt_closes++;
	return 0;
}

void *__wrap_xengnttab_map_domain_grant_refs(xengnttab_handle *xgt,
					     uint32_t count, uint32_t domid,
					     uint32_t *refs, int prot)
{
	uint64_t page[64];
	int fail;

	assert_ptr_equal(xgt, GNT_HANDLE);
	check_expected(count);
	check_expected(domid);
	check_expected(prot);
	check_expected_ptr(refs);
	fail = mock_type(int);
	if (fail) {
		errno = fail;
		return NULL;
	}
	assert_true(count > 0 && count <= 64);
	/* Larger kernel pages: gntdev refuses an mmap of count * 4 KiB
	 * unless that is one kernel page per grant, i.e. count == 1. */
	if (grant_stride() > PG && count > 1) {
		errno = EINVAL;
		return NULL;
	}
	for (uint32_t i = 0; i < count; i++) {
		if ((prot & PROT_WRITE) && refs[i] < RAM_PAGES && X.ro[refs[i]]) {
			errno = EPERM;  /* GNTST_permission_denied */
			return NULL;
		}
		page[i] = refs[i];
	}
	void *p = map_pages(page, count, prot, grant_stride());
	add_live(p, count, prot, true, grant_stride());
	return p;
}

int __wrap_xengnttab_unmap(xengnttab_handle *xgt, void *addr, uint32_t count)
{
	assert_ptr_equal(xgt, GNT_HANDLE);
	if (X.unmap_hook)
		X.unmap_hook(addr, count);
	return drop_live(addr, count, true);
}

xenforeignmemory_handle *__wrap_xenforeignmemory_open(struct xentoollog_logger *lg,
						      unsigned flags)
{
	assert_non_null(lg);
	if (X.open_errno) {
		errno = X.open_errno;
		X.open_errno = 0;
		return NULL;
	}
	X.fm_opens++;
	assert_int_equal(X.fm_opens, X.fm_closes + 1);
	return FM_HANDLE;
}

int __wrap_xenforeignmemory_close(xenforeignmemory_handle *h)
{
	assert_ptr_equal(h, FM_HANDLE);
	X.fm_closes++;
	return 0;
}

void *__wrap_xenforeignmemory_map(xenforeignmemory_handle *h, uint32_t dom,
				  int prot, size_t pages,
				  const xen_pfn_t arr[], int err[])
{
	uint64_t page[64];
	xen_pfn_t first;
	void *p;

	assert_ptr_equal(h, FM_HANDLE);
	check_expected(dom);
	check_expected(prot);
	check_expected(pages);
	first = arr[0];
	check_expected(first);
	assert_non_null(err);
	assert_true(pages > 0 && pages <= 64);
	for (size_t i = 0; i < pages; i++) {
		assert_int_equal(arr[i], first + i);    /* consecutive gfns */
		err[i] = arr[i] == X.bad_gfn ? -ENOENT : 0;
		page[i] = arr[i] == X.bad_gfn ? 0 : arr[i] - FGN_BASE;
	}
	p = map_pages(page, (uint32_t)pages, prot, PG);
	add_live(p, (uint32_t)pages, prot, false, PG);
	return p;
}

int __wrap_xenforeignmemory_unmap(xenforeignmemory_handle *h, void *addr,
				  size_t pages)
{
	assert_ptr_equal(h, FM_HANDLE);
	return drop_live(addr, (uint32_t)pages, false);
}

static void expect_gnt_map_dom(uint32_t domid, uint32_t count, int prot,
			       const uint32_t *refs, int fail)
{
	expect_value(__wrap_xengnttab_map_domain_grant_refs, count, count);
	expect_value(__wrap_xengnttab_map_domain_grant_refs, domid, domid);
	expect_value(__wrap_xengnttab_map_domain_grant_refs, prot, prot);
	expect_memory(__wrap_xengnttab_map_domain_grant_refs, refs, refs,
		      count * sizeof(uint32_t));
	will_return(__wrap_xengnttab_map_domain_grant_refs, fail);
}

static void expect_gnt_map(uint32_t count, int prot, const uint32_t *refs,
			   int fail)
{
	expect_gnt_map_dom(DOM, count, prot, refs, fail);
}

static void expect_fm_map(size_t pages, xen_pfn_t first)
{
	expect_value(__wrap_xenforeignmemory_map, dom, DOM);
	expect_value(__wrap_xenforeignmemory_map, prot, RW);
	expect_value(__wrap_xenforeignmemory_map, pages, pages);
	expect_value(__wrap_xenforeignmemory_map, first, first);
}

/* ---- helpers ------------------------------------------------------------ */


/* The fd a frontend sends with a Xen region (a gntdev or privcmd fd): the
 * backend only closes it. */
static int region_fd(void)
{
	int fd = memfd_create("xen-region-fd", MFD_CLOEXEC);

	assert_true(fd >= 0);
	return fd;
}

static struct gm_region_desc xdesc(uint64_t gpa, uint64_t size, uint64_t uva,
				   uint32_t flags)
{
	return (struct gm_region_desc){
		.gpa = gpa, .size = size, .uva = uva, .xen_flags = flags,
		.domid = DOM,
	};
}

static struct gm_table *set_table(const struct gm_region_desc *d, unsigned n)
{
	int fds[GM_MAX_REGIONS] = { 0 };
	struct gm_table *t = NULL;

	assert_true(n <= GM_MAX_REGIONS);
	for (unsigned i = 0; i < n; i++)
		fds[i] = region_fd();
	assert_int_equal(gm_table_set(NULL, d, fds, n, &t), 0);
	for (unsigned i = 0; i < n; i++)
		assert_false(fd_is_open(fds[i]));
	return t;
}

static void expect_set_fails(const struct gm_region_desc *d, unsigned n,
			     int err)
{
	int fds[GM_MAX_REGIONS + 1] = { 0 };
	struct gm_table *t = (void *)1;
	int before = count_fds();

	for (unsigned i = 0; i < n; i++)
		fds[i] = region_fd();
	assert_int_equal(gm_table_set(NULL, d, fds, n, &t), err);
	assert_null(t);
	for (unsigned i = 0; i < n; i++)
		assert_false(fd_is_open(fds[i]));
	assert_int_equal(count_fds(), before);
}

/* The pattern byte the guest RAM holds at page p, offset o. */
static uint8_t pat(uint64_t p, unsigned o)
{
	return (uint8_t)(p * 31 + o * 7 + 1);
}

static int setup(void **state)
{
	memset(&X, 0, sizeof(X));
	X.bad_gfn = UINT64_MAX;
	X.ram_fd = memfd_create("guest-ram", MFD_CLOEXEC);
	assert_true(X.ram_fd >= 0);
	assert_int_equal(ftruncate(X.ram_fd, (off_t)RAM_PAGES * PG), 0);
	X.ram = mmap(NULL, (size_t)RAM_PAGES * PG, RW, MAP_SHARED, X.ram_fd, 0);
	assert_true(X.ram != MAP_FAILED);
	for (uint64_t p = 0; p < RAM_PAGES; p++)
		for (unsigned o = 0; o < PG; o++)
			X.ram[p * PG + o] = pat(p, o);
	return 0;
}

static int teardown(void **state)
{
	/* Every test leaves nothing mapped and every handle closed. */
	assert_int_equal(X.nlive, 0);
	assert_int_equal(X.maps, X.unmaps);
	assert_int_equal(X.gnt_opens, X.gnt_closes);
	assert_int_equal(X.fm_opens, X.fm_closes);
	munmap(X.ram, (size_t)RAM_PAGES * PG);
	close(X.ram_fd);
	return 0;
}

/* ---- flags and validation ------------------------------------------------ */

static void test_flag_combinations(void **state)
{
	static const uint32_t bad[] = {
		0x3, 0x4, 0x8, 0x9, 0xb, 0xc, 0xe, 0xf, 0x10, 0x100, 0x102,
		0x108, 0x10a, 0x80000002, 0xffffffff,
	};
	struct gm_region_desc d;

	assert_non_null(gm_xen_kind(0x1));
	assert_false(gm_xen_kind(0x1)->deferred);
	assert_non_null(gm_xen_kind(0x2));
	assert_false(gm_xen_kind(0x2)->deferred);
	assert_non_null(gm_xen_kind(0xa));
	assert_true(gm_xen_kind(0xa)->deferred);
	assert_true(gm_xen_kind(0x1) != gm_xen_kind(0x2));
	/* 0 belongs to the unix kind, never to a Xen one. */
	assert_null(gm_xen_kind(0x0));
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_null(gm_xen_kind(bad[i]));
		/* ...and the table refuses them without calling libxen. */
		d = xdesc(GA(16, 0), PG, 0, bad[i]);
		expect_set_fails(&d, 1, -EINVAL);
	}
	assert_int_equal(X.gnt_opens + X.fm_opens, 0);
}

static void test_invalid_descriptions(void **state)
{
	struct gm_region_desc d;
	const uint32_t flags[] = { 0x1, 0x2, 0xa };

	for (unsigned i = 0; i < 3; i++) {
		uint64_t gpa = flags[i] == 0x1 ? FGN_BASE << 12 : GA(16, 0);

		/* mmap_offset must be 0. */
		d = xdesc(gpa, PG, 0x1000000, flags[i]);
		d.mmap_offset = PG;
		expect_set_fails(&d, 1, -EINVAL);
		/* Reserved domain ids (DOMID_SELF, DOMID_IO, ...). */
		d = xdesc(gpa, PG, 0x1000000, flags[i]);
		d.domid = GM_XEN_DOMID_LIMIT;
		expect_set_fails(&d, 1, -EINVAL);
		d.domid = UINT32_MAX;
		expect_set_fails(&d, 1, -EINVAL);
	}
	/* Grant refs are 32 bits. */
	d = xdesc(G | (1ull << 44), PG, 0, 0xa);
	expect_set_fails(&d, 1, -EINVAL);
	d = xdesc(GA(0xffffffffull, 0), 2 * PG, 0, 0xa);
	expect_set_fails(&d, 1, -EINVAL);
	d = xdesc(GA(0xfffffffeull, 0), 2 * PG, 0x1000000, 0x2);
	d.size = 3 * PG;
	expect_set_fails(&d, 1, -EINVAL);
	/* A region mapped in advance may not exceed one map call. */
	d = xdesc(GA(0, 0), ((uint64_t)GM_XEN_MAX_MAP_PAGES + 1) * PG,
		  0x1000000, 0x2);
	expect_set_fails(&d, 1, -EINVAL);
	/* Foreign: a grant address (or anything past 2^52) is no gfn. */
	d = xdesc(GA(16, 0), PG, 0x1000000, 0x1);
	expect_set_fails(&d, 1, -EINVAL);
	assert_int_equal(X.gnt_opens + X.fm_opens, 0);

	/* The last ref there is, 0xffffffff, is fine. */
	struct gm_table *t;

	d = xdesc(GA(0xffffffffull, 0), PG, 0, 0xa);
	t = set_table(&d, 1);
	assert_int_equal(X.gnt_opens, 1);
	gm_table_unref(t);
	assert_int_equal(X.gnt_closes, 1);
}

/* ---- foreign (0x1) ---------------------------------------------------- */

static void test_foreign(void **state)
{
	/* A page-aligned region of 2 pages and one at a sub-page offset
	 * whose PG+100 bytes straddle 2 pages. */
	struct gm_region_desc d[2] = {
		xdesc(FGN_BASE << 12, 2 * PG, 0x10000000, 0x1),
		xdesc(((FGN_BASE + 0x10) << 12) + 0x234, PG + 100, 0x20000000, 0x1),
	};
	struct gm_buf b = { ((FGN_BASE + 0x10) << 12) + 0x234 + PG - 8, 16 };
	struct gm_table *t, *t2;
	struct gm_mapping m;
	struct iovec iov[2];
	unsigned nr, nw;
	int before = count_fds();
	uint8_t *p;

	expect_fm_map(2, FGN_BASE);
	expect_fm_map(2, FGN_BASE + 0x10);
	t = set_table(d, 2);
	assert_int_equal(X.fm_opens, 1);        /* one handle for both */
	assert_int_equal(X.nlive, 2);
	assert_int_equal(X.gnt_opens, 0);

	/* Frontend addresses translate to the right page and offset. */
	p = gm_uva_to_ptr(t, 0x20000000, PG + 100);
	assert_non_null(p);
	assert_int_equal(p[0], pat(0x10, 0x234));
	assert_int_equal(p[PG + 99], pat(0x11, 0x234 + 99));
	assert_null(gm_uva_to_ptr(t, 0x20000000, PG + 101));
	p = gm_uva_to_ptr(t, 0x10000000 + PG, 1);
	assert_int_equal(*p, pat(1, 0));

	/* Foreign is direct: a request costs no map call (no expectation
	 * is set, so one would fail the test), and writes land in RAM. */
	assert_int_equal(gm_map_chain(t, NULL, 0, &b, 1, iov, 2, &nr, &nw, &m), 0);
	assert_int_equal(nw, 1);
	memset(iov[0].iov_base, 0xee, 16);
	gm_unmap_chain(&m);
	assert_int_equal(X.ram[0x10 * PG + 0x234 + PG - 8], 0xee);
	assert_int_equal(X.ram[0x11 * PG + 0x234 + 7], 0xee);
	assert_int_equal(X.ram[0x11 * PG + 0x234 + 8], pat(0x11, 0x234 + 8));
	assert_int_equal(X.maps, 2);

	/* The same table sent again reuses the mappings (no map call). */
	int fds[2] = { region_fd(), region_fd() };

	assert_int_equal(gm_table_set(t, d, fds, 2, &t2), 0);
	assert_int_equal(X.maps, 2);
	gm_table_unref(t);
	assert_int_equal(X.unmaps, 0);
	gm_table_unref(t2);
	assert_int_equal(X.unmaps, 2);
	assert_int_equal(X.fm_closes, 1);
	assert_int_equal(count_fds(), before);
}

static void test_foreign_page_error(void **state)
{
	struct gm_region_desc d = xdesc(FGN_BASE << 12, 4 * PG, 0x10000000, 0x1);

	/* One gfn of four cannot be mapped: the whole region is refused
	 * (a hole would fault on first touch) and nothing stays mapped. */
	X.bad_gfn = FGN_BASE + 2;
	expect_fm_map(4, FGN_BASE);
	expect_set_fails(&d, 1, -ENOENT);
	assert_int_equal(X.maps, 1);
	assert_int_equal(X.unmaps, 1);
	assert_int_equal(X.fm_closes, 1);
}

/* ---- grant in advance (0x2) -------------------------------------------- */

static void test_grant_in_advance(void **state)
{
	/* Starts 0x80 into ref 5: 3 pages of data need refs 5..8. */
	struct gm_region_desc d = xdesc(GA(5, 0x80), 3 * PG, 0x7f0000000080, 0x2);
	const uint32_t refs[] = { 5, 6, 7, 8 };
	struct gm_table *t;
	uint8_t *p;

	expect_gnt_map(4, RW, refs, 0);
	t = set_table(&d, 1);
	assert_int_equal(X.gnt_opens, 1);
	p = gm_uva_to_ptr(t, 0x7f0000000080, 3 * PG);
	assert_non_null(p);
	assert_int_equal(p[0], pat(5, 0x80));
	assert_int_equal(p[PG - 0x80], pat(6, 0));
	assert_int_equal(p[3 * PG - 1], pat(8, 0x7f));
	/* Read-write: the vrings are written by the device. */
	p[PG - 0x80] = 0x42;
	assert_int_equal(X.ram[6 * PG], 0x42);
	/* Descriptor addresses in it translate without a map call. */
	uint8_t buf[4];

	assert_int_equal(gm_read(t, GA(7, 0x10), buf, 4), 0);
	assert_int_equal(buf[0], pat(7, 0x10));
	assert_int_equal(X.maps, 1);
	gm_table_unref(t);
	assert_int_equal(X.unmaps, 1);
	assert_int_equal(X.gnt_closes, 1);
}

static void test_grant_in_advance_failure(void **state)
{
	struct gm_region_desc d = xdesc(GA(5, 0), PG, 0x7f0000000000, 0x2);
	const uint32_t refs[] = { 5 };

	expect_gnt_map(1, RW, refs, EINVAL);
	expect_set_fails(&d, 1, -EINVAL);
	assert_int_equal(X.gnt_closes, 1);
	/* A read-only grant cannot hold a vring. */
	X.ro[5] = true;
	expect_gnt_map(1, RW, refs, 0);
	expect_set_fails(&d, 1, -EPERM);
}

/* ---- grant, mapped per request (0xA) ----------------------------------- */

/* Vrings at ref 1..3 (in advance), everything from ref 16 on per request. */
static struct gm_table *grant_table(void)
{
	struct gm_region_desc d[2] = {
		xdesc(GA(1, 0), 3 * PG, 0x7f0000001000, 0x2),
		xdesc(GA(16, 0), (RAM_PAGES - 16) * PG, 0, 0xa),
	};
	const uint32_t refs[] = { 1, 2, 3 };

	expect_gnt_map(3, RW, refs, 0);
	return set_table(d, 2);
}

static void test_grant_chain_mixed(void **state)
{
	struct gm_table *t = grant_table();
	/* Readable: 32 bytes inside ref 20, 32 bytes straddling refs 30/31.
	 * Writable: 3 whole pages at refs 40..42, 16 bytes inside ref 50. */
	struct gm_buf rd[2] = { { GA(20, 0x10), 32 }, { GA(30, 0xff0), 0x20 } };
	struct gm_buf wr[2] = { { GA(40, 0), 3 * PG }, { GA(50, 0x800), 16 } };
	const uint32_t rrefs[] = { 20, 30, 31 };
	const uint32_t wrefs[] = { 40, 41, 42, 50 };
	struct gm_mapping m;
	struct iovec iov[4];
	unsigned nr, nw;
	uint8_t *b;

	assert_int_equal(X.nlive, 1);
	/* One call per direction: readable PROT_READ, writable RW. */
	expect_gnt_map(3, PROT_READ, rrefs, 0);
	expect_gnt_map(4, RW, wrefs, 0);
	assert_int_equal(gm_map_chain(t, rd, 2, wr, 2, iov, 4, &nr, &nw, &m), 0);
	assert_int_equal(nr, 2);
	assert_int_equal(nw, 2);
	assert_int_equal(X.nlive, 3);
	assert_int_equal(X.live[1].prot, PROT_READ);
	assert_int_equal(X.live[2].prot, RW);

	/* In-page offsets kept; each buffer starts on its own page. */
	b = iov[0].iov_base;
	assert_int_equal((uintptr_t)b & 0xfff, 0x10);
	assert_int_equal(iov[0].iov_len, 32);
	for (unsigned i = 0; i < 32; i++)
		assert_int_equal(b[i], pat(20, 0x10 + i));
	b = iov[1].iov_base;
	assert_ptr_equal(b, (uint8_t *)iov[0].iov_base - 0x10 + PG + 0xff0);
	for (unsigned i = 0; i < 0x20; i++)
		assert_int_equal(b[i], i < 0x10 ? pat(30, 0xff0 + i)
						: pat(31, i - 0x10));
	/* Writes through the writable mapping reach the guest's pages. */
	assert_int_equal((uintptr_t)iov[2].iov_base & 0xfff, 0);
	assert_int_equal(iov[2].iov_len, 3 * PG);
	memset(iov[2].iov_base, 'W', 3 * PG);
	assert_ptr_equal(iov[3].iov_base, (uint8_t *)iov[2].iov_base + 3 * PG + 0x800);
	memset(iov[3].iov_base, 'w', 16);
	assert_int_equal(X.ram[40 * PG], 'W');
	assert_int_equal(X.ram[43 * PG - 1], 'W');
	assert_int_equal(X.ram[43 * PG], pat(43, 0));
	assert_int_equal(X.ram[50 * PG + 0x800], 'w');
	assert_int_equal(X.ram[50 * PG + 0x80f], 'w');
	assert_int_equal(X.ram[50 * PG + 0x810], pat(50, 0x810));

	gm_unmap_chain(&m);
	assert_int_equal(X.nlive, 1);           /* the vrings only */
	assert_int_equal(X.unmaps, 2);
	gm_unmap_chain(&m);                     /* idempotent */
	assert_int_equal(X.unmaps, 2);

	/* A chain of one direction costs one call. */
	expect_gnt_map(1, RW, &wrefs[3], 0);
	assert_int_equal(gm_map_chain(t, NULL, 0, &wr[1], 1, iov, 4, &nr, &nw, &m), 0);
	gm_unmap_chain(&m);
	expect_gnt_map(1, PROT_READ, rrefs, 0);
	assert_int_equal(gm_map_chain(t, rd, 1, NULL, 0, iov, 4, &nr, &nw, &m), 0);
	gm_unmap_chain(&m);
	assert_int_equal(X.nlive, 1);

	gm_table_unref(t);
	assert_int_equal(X.gnt_closes, 1);
}

static void test_grant_read_only(void **state)
{
	struct gm_table *t = grant_table();
	struct gm_buf rd = { GA(60, 0), 8 }, wr = { GA(61, 4), 8 };
	const uint32_t r60[] = { 60 }, r61[] = { 61 };
	struct gm_mapping m;
	struct iovec iov[2];
	unsigned nr, nw;
	uint8_t buf[8];

	X.ro[60] = X.ro[61] = true;
	/* Read-only grants map fine for readable buffers... */
	expect_gnt_map(1, PROT_READ, r60, 0);
	assert_int_equal(gm_map_chain(t, &rd, 1, NULL, 0, iov, 2, &nr, &nw, &m), 0);
	assert_int_equal(((uint8_t *)iov[0].iov_base)[0], pat(60, 0));
	gm_unmap_chain(&m);
	/* ...and gm_read maps read-only too. */
	expect_gnt_map(1, PROT_READ, r61, 0);
	assert_int_equal(gm_read(t, GA(61, 4), buf, 8), 0);
	assert_int_equal(buf[7], pat(61, 11));
	/* A writable buffer on a read-only grant fails the request and
	 * undoes the readable part. */
	expect_gnt_map(1, PROT_READ, r60, 0);
	expect_gnt_map(1, RW, r61, 0);
	assert_int_equal(gm_map_chain(t, &rd, 1, &wr, 1, iov, 2, &nr, &nw, &m),
			 -EPERM);
	assert_null(m.table);
	assert_int_equal(X.nlive, 1);
	gm_table_unref(t);
}

static void test_grant_map_errors(void **state)
{
	struct gm_table *t = grant_table();
	struct gm_buf rd = { GA(20, 0), 8 }, wr = { GA(21, 0), 8 };
	struct gm_buf big = { GA(16, 0), (GM_XEN_MAX_MAP_PAGES + 1) * PG };
	const uint32_t r20[] = { 20 }, r21[] = { 21 };
	struct gm_mapping m;
	struct iovec iov[2];
	unsigned nr, nw;
	uint8_t buf[8];

	/* The hypervisor refuses the writable part (e.g. a stale grant). */
	expect_gnt_map(1, PROT_READ, r20, 0);
	expect_gnt_map(1, RW, r21, EINVAL);
	assert_int_equal(gm_map_chain(t, &rd, 1, &wr, 1, iov, 2, &nr, &nw, &m),
			 -EINVAL);
	assert_int_equal(X.nlive, 1);
	/* Or the readable one: the writable part is never tried. */
	expect_gnt_map(1, PROT_READ, r20, ENOENT);
	assert_int_equal(gm_map_chain(t, &rd, 1, &wr, 1, iov, 2, &nr, &nw, &m),
			 -ENOENT);
	expect_gnt_map(1, PROT_READ, r20, EINVAL);
	assert_int_equal(gm_read(t, GA(20, 0), buf, 8), -EFAULT);
	assert_int_equal(X.nlive, 1);
	/* More pages than one map call may take: refused before libxen.
	 * (The region is only 1008 pages: use a bigger one.) */
	gm_table_unref(t);
	struct gm_region_desc d = xdesc(G, (uint64_t)(GM_XEN_MAX_MAP_PAGES + 32) * PG,
					0, 0xa);

	t = set_table(&d, 1);
	assert_int_equal(gm_map_chain(t, NULL, 0, &big, 1, iov, 2, &nr, &nw, &m),
			 -E2BIG);
	/* Buffers outside every region are not mapped at all. */
	big.addr = G + (uint64_t)(GM_XEN_MAX_MAP_PAGES + 32) * PG;
	big.len = 1;
	assert_int_equal(gm_map_chain(t, NULL, 0, &big, 1, iov, 2, &nr, &nw, &m),
			 -EFAULT);
	gm_table_unref(t);
}

static void test_grant_read_multi_page(void **state)
{
	struct gm_table *t = grant_table();
	const uint32_t refs[] = { 100, 101, 102 };
	uint8_t buf[2 * PG];

	/* 2 pages of data at offset 0x123 span 3 refs: one read-only map. */
	expect_gnt_map(3, PROT_READ, refs, 0);
	assert_int_equal(gm_read(t, GA(100, 0x123), buf, sizeof(buf)), 0);
	assert_int_equal(buf[0], pat(100, 0x123));
	assert_int_equal(buf[PG - 0x123], pat(101, 0));
	assert_int_equal(buf[2 * PG - 1], pat(102, 0x122));
	assert_int_equal(X.nlive, 1);
	gm_table_unref(t);
}

/*
 * The grant space cut into no-advance pieces, as xen-vhost-frontend does
 * around the vrings: vrings at refs 1..3 (in advance), then A [16, 100)
 * and B [100, 300) adjacent, C [400, 600) and D [600, 1000) adjacent.
 * C is in domain dom_c, the rest in DOM.
 */
static struct gm_table *gap_table(uint32_t dom_c)
{
	struct gm_region_desc d[5] = {
		xdesc(GA(1, 0), 3 * PG, 0x7f0000001000, 0x2),
		xdesc(GA(16, 0), 84 * PG, 0, 0xa),
		xdesc(GA(100, 0), 200 * PG, 0, 0xa),
		xdesc(GA(400, 0), 200 * PG, 0, 0xa),
		xdesc(GA(600, 0), 400 * PG, 0, 0xa),
	};
	const uint32_t refs[] = { 1, 2, 3 };

	d[3].domid = dom_c;
	expect_gnt_map(3, RW, refs, 0);
	return set_table(d, 5);
}

/* Buffers in several no-advance regions of one domain still cost one
 * call per direction, with every ref in chain order. */
static void test_grant_chain_across_regions(void **state)
{
	struct gm_table *t = gap_table(DOM);
	/* Readable: in B, in A, in C straddling refs 450/451, and across
	 * the A|B boundary (8 bytes in ref 99, 8 in ref 100). */
	struct gm_buf rd[4] = {
		{ GA(120, 0x10), 32 }, { GA(20, 0x40), 16 },
		{ GA(450, 0xff0), 0x20 }, { GA(99, 0xff8), 16 },
	};
	/* Writable: two pages in B, one page across C|D, 8 bytes in A. */
	struct gm_buf wr[3] = {
		{ GA(250, 0), 2 * PG }, { GA(599, 0x800), PG }, { GA(30, 4), 8 },
	};
	const uint32_t rrefs[] = { 120, 20, 450, 451, 99, 100 };
	const uint32_t wrefs[] = { 250, 251, 599, 600, 30 };
	const uint32_t ab[] = { 99, 100 };
	struct gm_mapping m;
	struct iovec iov[12];
	unsigned nr, nw;
	uint8_t *b, *base, buf[0x20];

	/* Exactly one PROT_READ and one RW call (an extra call would find
	 * no expectation, a missing one leave one unused). */
	expect_gnt_map(6, PROT_READ, rrefs, 0);
	expect_gnt_map(5, RW, wrefs, 0);
	assert_int_equal(gm_map_chain(t, rd, 4, wr, 3, iov, 12, &nr, &nw, &m), 0);
	assert_int_equal(nr, 5);        /* the A|B buffer is two iovecs */
	assert_int_equal(nw, 4);        /* so is the C|D one */
	assert_int_equal(X.nlive, 3);
	assert_int_equal(X.live[1].prot, PROT_READ);
	assert_int_equal(X.live[2].prot, RW);

	/* Readable: each segment on its own page of the one mapping, in
	 * chain order, at its in-page offset, showing the guest's bytes. */
	base = (uint8_t *)iov[0].iov_base - 0x10;
	assert_int_equal((uintptr_t)base & 0xfff, 0);
	for (unsigned i = 0; i < 32; i++)
		assert_int_equal(((uint8_t *)iov[0].iov_base)[i], pat(120, 0x10 + i));
	assert_ptr_equal(iov[1].iov_base, base + PG + 0x40);
	assert_int_equal(((uint8_t *)iov[1].iov_base)[15], pat(20, 0x40 + 15));
	assert_ptr_equal(iov[2].iov_base, base + 2 * PG + 0xff0);
	b = iov[2].iov_base;
	for (unsigned i = 0; i < 0x20; i++)
		assert_int_equal(b[i], i < 0x10 ? pat(450, 0xff0 + i)
						: pat(451, i - 0x10));
	assert_ptr_equal(iov[3].iov_base, base + 4 * PG + 0xff8);
	assert_int_equal(iov[3].iov_len, 8);
	assert_ptr_equal(iov[4].iov_base, base + 5 * PG);
	assert_int_equal(iov[4].iov_len, 8);
	assert_int_equal(((uint8_t *)iov[3].iov_base)[7], pat(99, 0xfff));
	assert_int_equal(((uint8_t *)iov[4].iov_base)[0], pat(100, 0));

	/* Writable: the same layout; writes land in the guest's pages. */
	base = iov[5].iov_base;
	assert_int_equal((uintptr_t)base & 0xfff, 0);
	assert_int_equal(iov[5].iov_len, 2 * PG);
	assert_ptr_equal(iov[6].iov_base, base + 2 * PG + 0x800);
	assert_int_equal(iov[6].iov_len, 0x800);
	assert_ptr_equal(iov[7].iov_base, base + 3 * PG);
	assert_int_equal(iov[7].iov_len, 0x800);
	assert_ptr_equal(iov[8].iov_base, base + 4 * PG + 4);
	memset(iov[5].iov_base, 'B', 2 * PG);
	memset(iov[6].iov_base, 'c', 0x800);
	memset(iov[7].iov_base, 'd', 0x800);
	memcpy(iov[8].iov_base, "A-bytes!", 8);
	assert_int_equal(X.ram[250 * PG], 'B');
	assert_int_equal(X.ram[252 * PG - 1], 'B');
	assert_int_equal(X.ram[252 * PG], pat(252, 0));
	assert_int_equal(X.ram[599 * PG + 0x7ff], pat(599, 0x7ff));
	assert_int_equal(X.ram[599 * PG + 0x800], 'c');
	assert_int_equal(X.ram[600 * PG - 1], 'c');
	assert_int_equal(X.ram[600 * PG], 'd');
	assert_int_equal(X.ram[600 * PG + 0x7ff], 'd');
	assert_int_equal(X.ram[600 * PG + 0x800], pat(600, 0x800));
	assert_memory_equal(&X.ram[30 * PG + 4], "A-bytes!", 8);

	/* Both unmapped with their exact counts (6 and 5 pages). */
	gm_unmap_chain(&m);
	assert_int_equal(X.nlive, 1);
	assert_int_equal(X.unmaps, 2);

	/* An indirect table across A|B is one read-only map as well. */
	expect_gnt_map(2, PROT_READ, ab, 0);
	assert_int_equal(gm_read(t, GA(99, 0xff0), buf, sizeof(buf)), 0);
	assert_int_equal(buf[0], pat(99, 0xff0));
	assert_int_equal(buf[0x10], pat(100, 0));
	assert_int_equal(X.nlive, 1);
	gm_table_unref(t);
}

/* Regions of different domains cannot share a map call: one call per
 * domain and direction, in the order of each domain's first buffer. */
static void test_grant_chain_two_domains(void **state)
{
	const uint32_t dom2 = DOM + 1;
	struct gm_table *t = gap_table(dom2);
	struct gm_buf rd[3] = {
		{ GA(450, 0), 8 }, { GA(20, 0), 8 }, { GA(120, 0), 8 },
	};
	struct gm_buf wr[2] = { { GA(250, 0), 8 }, { GA(500, 0), 8 } };
	const uint32_t r450[] = { 450 }, r20_120[] = { 20, 120 };
	const uint32_t r250[] = { 250 }, r500[] = { 500 };
	struct gm_mapping m;
	struct iovec iov[5];
	unsigned nr, nw;

	expect_gnt_map_dom(dom2, 1, PROT_READ, r450, 0);
	expect_gnt_map_dom(DOM, 2, PROT_READ, r20_120, 0);
	expect_gnt_map_dom(DOM, 1, RW, r250, 0);
	expect_gnt_map_dom(dom2, 1, RW, r500, 0);
	assert_int_equal(gm_map_chain(t, rd, 3, wr, 2, iov, 5, &nr, &nw, &m), 0);
	assert_int_equal(X.nlive, 5);
	assert_int_equal(((uint8_t *)iov[0].iov_base)[0], pat(450, 0));
	assert_int_equal(((uint8_t *)iov[2].iov_base)[0], pat(120, 0));
	memcpy(iov[4].iov_base, "dom-two!", 8);
	gm_unmap_chain(&m);
	assert_int_equal(X.nlive, 1);
	assert_memory_equal(&X.ram[500 * PG], "dom-two!", 8);

	/* The second domain's readable map fails: the first is undone and
	 * the writable part never tried. */
	expect_gnt_map_dom(dom2, 1, PROT_READ, r450, 0);
	expect_gnt_map_dom(DOM, 2, PROT_READ, r20_120, EINVAL);
	assert_int_equal(gm_map_chain(t, rd, 3, wr, 2, iov, 5, &nr, &nw, &m),
			 -EINVAL);
	assert_null(m.table);
	assert_int_equal(X.nlive, 1);
	gm_table_unref(t);
}

/* A request mapped from a table outlives it; the handle stays open until
 * the last mapping is gone. */
static void test_mapping_outlives_table(void **state)
{
	struct gm_table *t = grant_table();
	struct gm_buf wr = { GA(200, 0), 8 };
	const uint32_t refs[] = { 200 };
	struct gm_mapping m;
	struct iovec iov[1];
	unsigned nr, nw;

	expect_gnt_map(1, RW, refs, 0);
	assert_int_equal(gm_map_chain(t, NULL, 0, &wr, 1, iov, 1, &nr, &nw, &m), 0);
	gm_table_unref(t);
	/* The mapping holds the table: nothing unmapped, handle open. */
	assert_int_equal(X.unmaps, 0);
	assert_int_equal(X.gnt_closes, 0);
	memcpy(iov[0].iov_base, "late-ok!", 8);
	gm_unmap_chain(&m);
	assert_int_equal(X.unmaps, 2);          /* the buffer, the vrings */
	assert_int_equal(X.gnt_closes, 1);
	assert_memory_equal(&X.ram[200 * PG], "late-ok!", 8);
}

/* ---- handles, region counts, ADD/REM ------------------------------------ */

static void test_open_failure(void **state)
{
	struct gm_region_desc g = xdesc(GA(16, 0), PG, 0, 0xa);
	struct gm_region_desc f = xdesc(FGN_BASE << 12, PG, 0x1000, 0x1);

	/* Not on Xen: the device node is missing. */
	X.open_errno = ENOENT;
	expect_set_fails(&g, 1, -ENOENT);
	X.open_errno = EACCES;
	expect_set_fails(&f, 1, -EACCES);
	assert_int_equal(X.gnt_opens + X.fm_opens, 0);
}

static void test_32_regions_add_remove(void **state)
{
	struct gm_region_desc d[GM_MAX_REGIONS + 1];
	struct gm_table *t, *t2, *t3;
	const uint32_t r500[] = { 500, 501 };
	struct gm_region_desc add;
	int before = count_fds();

	/* 32 regions (xen-vhost-frontend's gap regions), one handle. */
	for (unsigned i = 0; i <= GM_MAX_REGIONS; i++)
		d[i] = xdesc(GA(16 + 2 * i, 0), PG, 0, 0xa);
	expect_set_fails(d, GM_MAX_REGIONS + 1, -E2BIG);
	t = set_table(d, GM_MAX_REGIONS);
	assert_int_equal(gm_table_nregions(t), 32);
	assert_int_equal(X.gnt_opens, 1);
	gm_table_unref(t);
	assert_int_equal(X.gnt_closes, 1);

	/* ADD_MEM_REG of a vring region maps it; REM_MEM_REG unmaps it. */
	t = set_table(d, 2);
	add = xdesc(GA(500, 0), 2 * PG, 0x7f0000000000, 0x2);
	expect_gnt_map(2, RW, r500, 0);
	assert_int_equal(gm_table_add(t, &add, region_fd(), &t2), 0);
	assert_int_equal(X.nlive, 1);
	assert_non_null(gm_uva_to_ptr(t2, 0x7f0000000000, 2 * PG));
	assert_int_equal(gm_table_remove(t2, &add, &t3), 0);
	assert_null(gm_uva_to_ptr(t3, 0x7f0000000000, 1));
	gm_table_unref(t2);
	assert_int_equal(X.nlive, 0);
	assert_int_equal(X.unmaps, 1);
	gm_table_unref(t);
	assert_int_equal(X.gnt_closes, 1);      /* t3 still holds 2 regions */
	gm_table_unref(t3);
	assert_int_equal(X.gnt_closes, 2);
	assert_int_equal(count_fds(), before);
}

/* Xen and memfd regions side by side in one table. */
static void test_mixed_with_unix(void **state)
{
	struct gm_region_desc d[2] = {
		{ .gpa = 0x100000, .size = PG, .uva = 0x5000000 },
		xdesc(GA(16, 0), 16 * PG, 0, 0xa),
	};
	int fds[2];
	struct gm_table *t;
	struct gm_buf wr[2] = { { 0x100000, 8 }, { GA(17, 8), 8 } };
	const uint32_t refs[] = { 17 };
	struct gm_mapping m;
	struct iovec iov[2];
	unsigned nr, nw;

	fds[0] = memfd_create("unix-region", MFD_CLOEXEC);
	assert_int_equal(ftruncate(fds[0], PG), 0);
	fds[1] = region_fd();
	assert_int_equal(gm_table_set(NULL, d, fds, 2, &t), 0);
	/* Only the grant buffer costs a map call. */
	expect_gnt_map(1, RW, refs, 0);
	assert_int_equal(gm_map_chain(t, NULL, 0, wr, 2, iov, 2, &nr, &nw, &m), 0);
	assert_int_equal(nw, 2);
	assert_ptr_equal(iov[0].iov_base, gm_uva_to_ptr(t, 0x5000000, 8));
	gm_unmap_chain(&m);
	gm_table_unref(t);
}

/* ---- unmap before the used entry is published (through the virtqueue) -- */

static struct vring_used *hook_used;
static unsigned hook_calls;

static void check_not_published(void *addr, uint32_t count)
{
	hook_calls++;
	/* The used index the guest sees has not moved yet. */
	assert_int_equal(le16toh(__atomic_load_n(&hook_used->idx, __ATOMIC_SEQ_CST)), 0);
}

static void test_unmap_before_used_published(void **state)
{
	const unsigned num = 16;
	struct gm_table *t = grant_table();     /* rings in refs 1..3 */
	struct vring_desc *desc = (void *)&X.ram[1 * PG];
	struct vring_avail *avail = (void *)&X.ram[2 * PG];
	struct vring_used *used = (void *)&X.ram[3 * PG];
	const uint32_t rrefs[] = { 20 }, wrefs[] = { 40, 41 };
	struct virtqueue q;
	struct vq_elem *e;

	memset(&X.ram[PG], 0, 3 * PG);
	/* head 0: 64 readable bytes at ref 20, then 5000 writable bytes
	 * at ref 40 + 0x100 (refs 40 and 41). */
	desc[0] = (struct vring_desc){ htole64(GA(20, 0)), htole32(64),
				       htole16(VRING_DESC_F_NEXT), htole16(1) };
	desc[1] = (struct vring_desc){ htole64(GA(40, 0x100)), htole32(5000),
				       htole16(VRING_DESC_F_WRITE), 0 };
	avail->ring[0] = 0;
	avail->idx = htole16(1);

	vq_init(&q, 0, "xen-test q0");
	assert_int_equal(vq_set_num(&q, num, 1024), 0);
	assert_int_equal(vq_set_addr(&q, 0x7f0000001000, 0x7f0000002000,
				     0x7f0000003000), 0);
	assert_int_equal(vq_attach_mem(&q, t), 0);
	assert_true(vq_ready(&q));

	expect_gnt_map(1, PROT_READ, rrefs, 0);
	expect_gnt_map(2, RW, wrefs, 0);
	assert_int_equal(vq_pop(&q, &e), 0);
	assert_int_equal(e->n_rd, 1);
	assert_int_equal(e->n_wr, 1);
	assert_int_equal(e->wr_len, 5000);
	assert_int_equal(((uint8_t *)e->rd[0].iov_base)[0], pat(20, 0));
	memset(e->wr[0].iov_base, 0x77, 5000);
	assert_int_equal(X.nlive, 3);

	hook_used = used;
	hook_calls = 0;
	X.unmap_hook = check_not_published;
	vq_push(&q, e, 5000);
	X.unmap_hook = NULL;
	assert_int_equal(hook_calls, 2);
	assert_int_equal(X.nlive, 1);
	assert_int_equal(le16toh(used->idx), 1);
	assert_int_equal(le32toh(used->ring[0].id), 0);
	assert_int_equal(le32toh(used->ring[0].len), 5000);
	assert_int_equal(X.ram[40 * PG + 0x100], 0x77);
	assert_int_equal(X.ram[41 * PG + 0x100 + 5000 - PG - 1], 0x77);
	assert_int_equal(X.ram[41 * PG + 0x100 + 5000 - PG], pat(41, 0x100 + 5000 - PG));

	vq_destroy(&q);
	gm_table_unref(t);
}

/* ---- kernel page sizes ---------------------------------------------------- */

static const long page_sizes[] = { 4096, 16384, 65536 };

/* The guest's bytes from grant address a on, len of them, against what
 * iov[0..n) hold; returns the bytes compared. */
static size_t check_iov_pattern(uint64_t a, const struct iovec *iov, unsigned n)
{
	size_t done = 0;

	for (unsigned i = 0; i < n; i++) {
		const uint8_t *p = iov[i].iov_base;

		for (size_t j = 0; j < iov[i].iov_len; j++, done++) {
			uint64_t g = (a & ~G) + done;

			assert_int_equal(p[j], pat(g >> 12, (unsigned)(g & 0xfff)));
		}
	}
	return done;
}

/*
 * Per-request buffers under each page size.  With 4 KiB pages: one call
 * per direction, one iovec per buffer.  With 16/64 KiB pages gntdev maps
 * one grant per call and per kernel page: each buffer is cut at every
 * 4 KiB grant boundary into its own iovec, each piece mapped alone --
 * and the fake refuses any map of more than one grant, and faults on a
 * read past a grant's 4 KiB.
 */
static void test_page_sizes_requests(void **state)
{
	for (unsigned ps = 0; ps < 3; ps++) {
		/* Readable: 0x800 into ref 10, 2 pages + 0x100: refs 10..12.
		 * Writable: 0x200 bytes from 0xf00 into ref 20: refs 20, 21. */
		struct gm_region_desc d = xdesc(GA(0, 0), 64 * PG, 0, 0xa);
		struct gm_buf rd = { GA(10, 0x800), 2 * PG + 0x100 };
		struct gm_buf wr = { GA(20, 0xf00), 0x200 };
		const uint32_t r3[] = { 10, 11, 12 }, w2[] = { 20, 21 };
		bool big = page_sizes[ps] > (long)PG;
		struct gm_mapping m;
		struct iovec iov[8];
		unsigned nr, nw;
		uint8_t buf[3 * PG];
		struct gm_table *t;

		X.page = page_sizes[ps];
		t = set_table(&d, 1);
		if (!big) {
			expect_gnt_map(3, PROT_READ, r3, 0);
			expect_gnt_map(2, RW, w2, 0);
		} else {
			for (unsigned i = 0; i < 3; i++)
				expect_gnt_map(1, PROT_READ, &r3[i], 0);
			for (unsigned i = 0; i < 2; i++)
				expect_gnt_map(1, RW, &w2[i], 0);
		}
		assert_int_equal(gm_map_chain(t, &rd, 1, &wr, 1, iov, 8, &nr, &nw, &m), 0);
		assert_int_equal(nr, big ? 3 : 1);
		assert_int_equal(nw, big ? 2 : 1);
		assert_int_equal(X.nlive, big ? 5 : 2);
		if (big) {
			/* Pieces end at the grant boundaries. */
			assert_int_equal(iov[0].iov_len, PG - 0x800);
			assert_int_equal(iov[1].iov_len, PG);
			assert_int_equal(iov[2].iov_len, 0x900);
			assert_int_equal(iov[3].iov_len, 0x100);
			assert_int_equal(iov[4].iov_len, 0x100);
		}
		assert_int_equal(check_iov_pattern(rd.addr, iov, nr), rd.len);
		/* The device writes: it lands in the guest's pages 20, 21. */
		for (unsigned i = nr; i < nr + nw; i++)
			memset(iov[i].iov_base, 0xa5, iov[i].iov_len);
		gm_unmap_chain(&m);
		assert_int_equal(X.nlive, 0);
		for (unsigned o = 0xf00; o < 0x1100; o++)
			assert_int_equal(X.ram[20 * PG + o], 0xa5);
		assert_int_equal(X.ram[20 * PG + 0xeff], pat(20, 0xeff));
		assert_int_equal(X.ram[21 * PG + 0x100], pat(21, 0x100));
		for (unsigned o = 0; o < 2 * PG; o++)
			X.ram[20 * PG + o] = pat(20 + o / PG, o % PG);

		/* gm_read (indirect tables) across 4 grants: 0xff0 into ref
		 * 30, 3 pages: refs 30..33. */
		if (!big) {
			const uint32_t r4[] = { 30, 31, 32, 33 };

			expect_gnt_map(4, PROT_READ, r4, 0);
		} else {
			for (uint32_t ref = 30; ref < 34; ref++)
				expect_gnt_map(1, PROT_READ, &ref, 0);
		}
		assert_int_equal(gm_read(t, GA(30, 0xff0), buf, sizeof(buf)), 0);
		for (unsigned o = 0; o < sizeof(buf); o++)
			assert_int_equal(buf[o], pat(30 + (0xff0 + o) / PG, (0xff0 + o) % PG));
		assert_int_equal(X.nlive, 0);
		gm_table_unref(t);
		assert_int_equal(X.gnt_closes, ps + 1);
	}
	X.page = 0;
}

/* A failed piece (the guest revoked one grant of three) under 64 KiB
 * pages: the request fails and the pieces mapped before are unmapped. */
static void test_page_sizes_piece_fails(void **state)
{
	struct gm_region_desc d = xdesc(GA(0, 0), 64 * PG, 0, 0xa);
	struct gm_buf rd = { GA(10, 0), 3 * PG };
	const uint32_t r3[] = { 10, 11, 12 };
	struct gm_mapping m;
	struct iovec iov[8];
	unsigned nr, nw;
	struct gm_table *t;

	X.page = 65536;
	t = set_table(&d, 1);
	expect_gnt_map(1, PROT_READ, &r3[0], 0);
	expect_gnt_map(1, PROT_READ, &r3[1], 0);
	expect_gnt_map(1, PROT_READ, &r3[2], EINVAL);
	assert_int_equal(gm_map_chain(t, &rd, 1, NULL, 0, iov, 8, &nr, &nw, &m), -EINVAL);
	assert_int_equal(X.nlive, 0);
	assert_int_equal(X.maps, X.unmaps);
	gm_table_unref(t);
	X.page = 0;
}

/*
 * Grant regions mapped in advance (vrings): inside one grant they work
 * under every page size; spanning grants they work with 4 KiB pages and
 * are refused with larger ones (they cannot be contiguous), before any
 * libxen call.  Foreign regions are dense under every page size: the
 * same single call, the same addresses.
 */
static void test_page_sizes_in_advance_and_foreign(void **state)
{
	for (unsigned ps = 0; ps < 3; ps++) {
		struct gm_region_desc one = xdesc(GA(40, 0x100), 0x800, 0x7f0000000100, 0x2);
		struct gm_region_desc two = xdesc(GA(40, 0x100), PG, 0x7f0000000100, 0x2);
		struct gm_region_desc fm = xdesc(((FGN_BASE + 4) << 12) + 0x234, 2 * PG,
						 0x10000234, 0x1);
		const uint32_t r1[] = { 40 }, r2[] = { 40, 41 };
		bool big = page_sizes[ps] > (long)PG;
		struct gm_table *t;
		uint8_t *p;

		X.page = page_sizes[ps];
		expect_gnt_map(1, RW, r1, 0);
		t = set_table(&one, 1);
		p = gm_uva_to_ptr(t, 0x7f0000000100, 0x800);
		assert_non_null(p);
		assert_int_equal(p[0], pat(40, 0x100));
		assert_int_equal(p[0x7ff], pat(40, 0x8ff));
		gm_table_unref(t);

		if (!big) {
			expect_gnt_map(2, RW, r2, 0);
			t = set_table(&two, 1);
			p = gm_uva_to_ptr(t, 0x7f0000000100, PG);
			assert_int_equal(p[PG - 1], pat(41, 0xff));
			gm_table_unref(t);
		} else {
			unsigned maps = X.maps;

			expect_set_fails(&two, 1, -EINVAL);
			assert_int_equal(X.maps, maps);
		}

		expect_fm_map(3, FGN_BASE + 4);
		t = set_table(&fm, 1);
		p = gm_uva_to_ptr(t, 0x10000234, 2 * PG);
		assert_non_null(p);
		assert_int_equal(p[0], pat(4, 0x234));
		assert_int_equal(p[PG], pat(5, 0x234));
		assert_int_equal(p[2 * PG - 1], pat(6, 0x233));
		gm_table_unref(t);
	}
	X.page = 0;
}

/* A page size the code does not know how to serve: the first map
 * refuses, naming it, before libxen is opened. */
static void test_page_size_unsupported(void **state)
{
	struct gm_region_desc d = xdesc(GA(0, 0), 64 * PG, 0, 0xa);

	X.page = 8192 + 4096;
	expect_set_fails(&d, 1, -EOPNOTSUPP);
	assert_int_equal(X.gnt_opens, 0);
	X.page = 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_flag_combinations, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invalid_descriptions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreign, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreign_page_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_grant_in_advance, setup, teardown),
		cmocka_unit_test_setup_teardown(test_grant_in_advance_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_grant_chain_mixed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_grant_chain_across_regions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_grant_chain_two_domains, setup, teardown),
		cmocka_unit_test_setup_teardown(test_grant_read_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_grant_map_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_grant_read_multi_page, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mapping_outlives_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_32_regions_add_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mixed_with_unix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unmap_before_used_published, setup, teardown),
		cmocka_unit_test_setup_teardown(test_page_sizes_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_page_sizes_piece_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_page_sizes_in_advance_and_foreign, setup, teardown),
		cmocka_unit_test_setup_teardown(test_page_size_unsupported, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
