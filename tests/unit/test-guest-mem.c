/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Unit tests of guest memory (src/mem/): tables, validation, translation,
 * request mappings and their lifetime, with real memfds.  A fake deferred
 * region kind (installed through the test override of mem-backend.h)
 * drives the per-request mapping path Xen grants will use.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "unit-util.h"

#include "log.h"
#include "mem/guest-mem.h"
#include "mem/mem-backend.h"
#include "mem/mem-sigbus.h"

#define PG 4096u

/* ---- helpers ---------------------------------------------------------- */


static int make_memfd(size_t size)
{
	int fd = memfd_create("test-guest-mem", MFD_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	return fd;
}

/* Our own view of a memfd, independent of the table's mapping. */
static uint8_t *view(int fd, size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	assert_true(p != MAP_FAILED);
	return p;
}

/* True if the page holding p is mapped in this process. */
static bool is_mapped(const void *p)
{
	unsigned char vec;
	uintptr_t a = (uintptr_t)p & ~(uintptr_t)(PG - 1);

	if (mincore((void *)a, PG, &vec) == 0)
		return true;
	assert_int_equal(errno, ENOMEM);
	return false;
}

static struct gm_region_desc rdesc(uint64_t gpa, uint64_t size, uint64_t uva,
				   uint64_t off)
{
	return (struct gm_region_desc){
		.gpa = gpa, .size = size, .uva = uva, .mmap_offset = off,
	};
}

/* Two 16 KiB regions, gpa-adjacent at 0x10000, uva-adjacent too; their
 * memfds stay open in *fd0 and *fd1 (the table gets duplicates). */
static struct gm_table *two_regions(int *fd0, int *fd1)
{
	struct gm_region_desc d[2] = {
		rdesc(0x10000, 4 * PG, 0x7000000000, 0),
		rdesc(0x14000, 4 * PG, 0x7000004000, 0),
	};
	struct gm_table *t;
	int fds[2];

	*fd0 = make_memfd(4 * PG);
	*fd1 = make_memfd(4 * PG);
	fds[0] = dup(*fd0);
	fds[1] = dup(*fd1);
	assert_int_equal(gm_table_set(NULL, d, fds, 2, &t), 0);
	assert_int_equal(gm_table_nregions(t), 2);
	return t;
}

/* Runs gm_table_set on n regions built from d (one fresh memfd of
 * file_size bytes each) and asserts the errno, no table and no fd leak. */
static void expect_set_fails(const struct gm_region_desc *d, unsigned n,
			     size_t file_size, int bad_fd_index, int err)
{
	int fds[GM_MAX_REGIONS + 4];
	struct gm_table *t = (void *)1;
	int before = count_fds();

	assert_true(n <= GM_MAX_REGIONS + 4);
	for (unsigned i = 0; i < n; i++)
		fds[i] = (int)i == bad_fd_index ? -1 : make_memfd(file_size);
	assert_int_equal(gm_table_set(NULL, d, fds, n, &t), err);
	assert_null(t);
	for (unsigned i = 0; i < n; i++)
		if (fds[i] >= 0)
			assert_false(fd_is_open(fds[i]));
	assert_int_equal(count_fds(), before);
}

/* ---- tables ----------------------------------------------------------- */

static void test_empty(void **state)
{
	struct gm_table *t = gm_table_new_empty();
	struct gm_buf b = { .addr = 0, .len = 1 };
	struct gm_mapping m;
	struct iovec iov[2];
	unsigned nr, nw;
	char c;

	assert_non_null(t);
	assert_int_equal(gm_table_nregions(t), 0);
	assert_int_equal(gm_table_nregions(NULL), 0);
	assert_null(gm_uva_to_ptr(t, 0, 0));
	assert_int_equal(gm_map_chain(t, &b, 1, NULL, 0, iov, 2, &nr, &nw, &m),
			 -EFAULT);
	assert_int_equal(gm_read(t, 0, &c, 1), -EFAULT);
	gm_table_unref(t);
	gm_table_unref(NULL);
}

static void test_set_maps_and_consumes_fds(void **state)
{
	int before = count_fds();
	struct gm_region_desc d[2] = {
		rdesc(0, 0xa0000, 0x7f0000000000, 0),
		rdesc(0xc0000, 0x40000, 0x7f00000c0000, 0xc0000),
	};
	int mfd = make_memfd(0x100000);
	int fds[2] = { dup(mfd), dup(mfd) };
	uint8_t *v = view(mfd, 0x100000);
	struct gm_table *t;
	uint8_t *p;

	assert_int_equal(gm_table_set(NULL, d, fds, 2, &t), 0);
	/* Both fds closed: the mapping does not need them. */
	assert_false(fd_is_open(fds[0]));
	assert_false(fd_is_open(fds[1]));
	assert_int_equal(gm_table_nregions(t), 2);

	/* The QEMU layout: the second region starts at file offset 0xc0000. */
	p = gm_uva_to_ptr(t, 0x7f00000c0010, 4);
	assert_non_null(p);
	memcpy(p, "abcd", 4);
	assert_memory_equal(v + 0xc0010, "abcd", 4);
	p = gm_uva_to_ptr(t, 0x7f0000000100, 1);
	assert_non_null(p);
	*p = 'x';
	assert_int_equal(v[0x100], 'x');
	/* Nothing between the regions. */
	assert_null(gm_uva_to_ptr(t, 0x7f00000a0000, 0));

	gm_table_unref(t);
	munmap(v, 0x100000);
	close(mfd);
	assert_int_equal(count_fds(), before);
}

static void test_set_zero_regions(void **state)
{
	struct gm_table *t;

	assert_int_equal(gm_table_set(NULL, NULL, NULL, 0, &t), 0);
	assert_int_equal(gm_table_nregions(t), 0);
	gm_table_unref(t);
}

static void test_add_remove(void **state)
{
	int before = count_fds();
	struct gm_region_desc a = rdesc(0x0, 2 * PG, 0x100000, 0);
	struct gm_region_desc b = rdesc(0x10000, 2 * PG, 0x200000, PG);
	struct gm_region_desc rm;
	struct gm_table *t1, *t2, *t3, *t4;
	int fa = make_memfd(2 * PG), fb = make_memfd(3 * PG);
	uint8_t *pa, *pb;
	char c;

	assert_int_equal(gm_table_add(NULL, &a, fa, &t1), 0);
	assert_false(fd_is_open(fa));
	assert_int_equal(gm_table_nregions(t1), 1);
	assert_int_equal(gm_table_add(t1, &b, fb, &t2), 0);
	assert_false(fd_is_open(fb));
	assert_int_equal(gm_table_nregions(t1), 1);     /* old unchanged */
	assert_int_equal(gm_table_nregions(t2), 2);

	/* The region shared by t1 and t2 is mapped once. */
	pa = gm_uva_to_ptr(t1, 0x100000, 1);
	assert_non_null(pa);
	assert_ptr_equal(gm_uva_to_ptr(t2, 0x100000, 1), pa);
	pb = gm_uva_to_ptr(t2, 0x200000, 1);
	assert_non_null(pb);
	assert_null(gm_uva_to_ptr(t1, 0x200000, 1));

	/* REM_MEM_REG ignores mmap_offset. */
	rm = b;
	rm.mmap_offset = 12345;
	assert_int_equal(gm_table_remove(t2, &rm, &t3), 0);
	assert_int_equal(gm_table_nregions(t3), 1);
	assert_ptr_equal(gm_uva_to_ptr(t3, 0x100000, 1), pa);
	assert_null(gm_uva_to_ptr(t3, 0x200000, 1));
	assert_int_equal(gm_read(t3, 0x10000, &c, 1), -EFAULT);

	/* No match: gpa, size or uva differ. */
	rm = a;
	rm.size = PG;
	t4 = (void *)1;
	assert_int_equal(gm_table_remove(t3, &rm, &t4), -ENOENT);
	assert_null(t4);
	rm = a;
	rm.uva += PG;
	assert_int_equal(gm_table_remove(t3, &rm, &t4), -ENOENT);
	assert_int_equal(gm_table_remove(NULL, &a, &t4), -ENOENT);

	/* b lives on in t2 until t2 goes. */
	assert_true(is_mapped(pb));
	gm_table_unref(t2);
	assert_false(is_mapped(pb));
	assert_true(is_mapped(pa));

	assert_int_equal(gm_table_remove(t3, &a, &t4), 0);
	assert_int_equal(gm_table_nregions(t4), 0);
	gm_table_unref(t3);
	assert_true(is_mapped(pa));     /* t1 still holds it */
	gm_table_unref(t1);
	assert_false(is_mapped(pa));
	gm_table_unref(t4);
	assert_int_equal(count_fds(), before);
}

static void test_set_reuses_identical_region(void **state)
{
	struct gm_region_desc d = rdesc(0x1000, 4 * PG, 0x300000, 0);
	int mfd = make_memfd(4 * PG), other = make_memfd(4 * PG);
	int before = count_fds();
	struct gm_table *t1, *t2, *t3;
	int fd;
	uint8_t *p1;

	fd = dup(mfd);
	assert_int_equal(gm_table_set(NULL, &d, &fd, 1, &t1), 0);
	p1 = gm_uva_to_ptr(t1, 0x300000, 1);
	assert_non_null(p1);

	/* Same description, another fd of the same memfd: shared. */
	fd = dup(mfd);
	assert_int_equal(gm_table_set(t1, &d, &fd, 1, &t2), 0);
	assert_false(fd_is_open(fd));
	assert_ptr_equal(gm_uva_to_ptr(t2, 0x300000, 1), p1);

	/* Same description, a different file: mapped anew. */
	fd = dup(other);
	assert_int_equal(gm_table_set(t2, &d, &fd, 1, &t3), 0);
	assert_ptr_not_equal(gm_uva_to_ptr(t3, 0x300000, 1), p1);

	gm_table_unref(t1);
	assert_true(is_mapped(p1));     /* t2 shares it */
	gm_table_unref(t2);
	assert_false(is_mapped(p1));
	gm_table_unref(t3);
	assert_int_equal(count_fds(), before);
	close(mfd);
	close(other);
}

/* ---- validation ------------------------------------------------------- */

static void test_err_too_many(void **state)
{
	struct gm_region_desc d[GM_MAX_REGIONS + 1];

	for (unsigned i = 0; i <= GM_MAX_REGIONS; i++)
		d[i] = rdesc(i * 0x10000ull, PG, 0x1000000 + i * 0x10000ull, 0);
	expect_set_fails(d, GM_MAX_REGIONS + 1, PG, -1, -E2BIG);
}

static void test_max_regions_then_add_too_many(void **state)
{
	struct gm_region_desc d[GM_MAX_REGIONS], extra;
	int fds[GM_MAX_REGIONS], before = count_fds(), fd;
	struct gm_table *t, *t2 = (void *)1;

	for (unsigned i = 0; i < GM_MAX_REGIONS; i++) {
		d[i] = rdesc(i * 0x10000ull, PG, 0x1000000 + i * 0x10000ull, 0);
		fds[i] = make_memfd(PG);
	}
	assert_int_equal(gm_table_set(NULL, d, fds, GM_MAX_REGIONS, &t), 0);
	assert_int_equal(gm_table_nregions(t), GM_MAX_REGIONS);
	extra = rdesc(0x1000000, PG, 0x9000000, 0);
	fd = make_memfd(PG);
	assert_int_equal(gm_table_add(t, &extra, fd, &t2), -E2BIG);
	assert_null(t2);
	assert_false(fd_is_open(fd));
	gm_table_unref(t);
	assert_int_equal(count_fds(), before);
}

static void test_err_zero_size(void **state)
{
	struct gm_region_desc d[2] = {
		rdesc(0, PG, 0x100000, 0),
		rdesc(0x10000, 0, 0x200000, 0),
	};

	expect_set_fails(d, 2, PG, -1, -EINVAL);
}

static void test_err_gpa_overflow(void **state)
{
	struct gm_region_desc d[1] = {
		rdesc(UINT64_MAX - PG + 2, PG, 0x100000, 0),
	};

	expect_set_fails(d, 1, PG, -1, -EINVAL);
	/* Ending exactly at 2^64 wraps the end to 0: rejected as well. */
	d[0].gpa = UINT64_MAX - PG + 1;
	expect_set_fails(d, 1, PG, -1, -EINVAL);
}

static void test_err_uva_overflow(void **state)
{
	struct gm_region_desc d[1] = { rdesc(0, PG, UINT64_MAX - 10, 0) };

	expect_set_fails(d, 1, PG, -1, -EINVAL);
}

static void test_err_offset_overflow(void **state)
{
	struct gm_region_desc d[1] = { rdesc(0, PG, 0x100000, UINT64_MAX - 10) };

	expect_set_fails(d, 1, PG, -1, -EINVAL);
}

static void test_err_gpa_overlap(void **state)
{
	struct gm_region_desc d[3] = {
		rdesc(0x0, 2 * PG, 0x100000, 0),
		rdesc(0x20000, 2 * PG, 0x300000, 0),
		rdesc(0x21fff, 2 * PG, 0x200000, 0),  /* last byte of [1] */
	};

	expect_set_fails(d, 3, 2 * PG, -1, -EINVAL);
}

static void test_err_uva_overlap(void **state)
{
	struct gm_region_desc d[2] = {
		rdesc(0x0, 2 * PG, 0x100000, 0),
		rdesc(0x10000, 2 * PG, 0x0ff001, 0),
	};

	expect_set_fails(d, 2, 2 * PG, -1, -EINVAL);
}

static void test_err_bad_fd(void **state)
{
	struct gm_region_desc d[3] = {
		rdesc(0x0, PG, 0x100000, 0),
		rdesc(0x10000, PG, 0x200000, 0),
		rdesc(0x20000, PG, 0x300000, 0),
	};
	struct gm_region_desc a = rdesc(0x0, PG, 0x100000, 0);
	struct gm_table *t = (void *)1;

	expect_set_fails(d, 3, PG, 1, -EBADF);
	assert_int_equal(gm_table_add(NULL, &a, -1, &t), -EBADF);
	assert_null(t);
}

static void test_err_not_a_file(void **state)
{
	struct gm_region_desc d = rdesc(0, PG, 0x100000, 0);
	int before = count_fds(), p[2];
	struct gm_table *t;

	assert_int_equal(pipe(p), 0);
	close(p[1]);
	assert_int_equal(gm_table_set(NULL, &d, &p[0], 1, &t), -EINVAL);
	assert_false(fd_is_open(p[0]));
	assert_int_equal(count_fds(), before);
}

static void test_err_xen_flags(void **state)
{
	struct gm_region_desc d[2] = {
		rdesc(0x0, PG, 0x100000, 0),
		rdesc(0x10000, PG, 0x200000, 0),
	};

	d[1].xen_flags = 0x1;
	d[1].domid = 1;
#ifdef HAVE_XEN
	(void)d;
	skip();
#else
	expect_set_fails(d, 2, PG, -1, -EOPNOTSUPP);
#endif
}

static void test_err_file_too_small(void **state)
{
	struct gm_region_desc d[1] = { rdesc(0, 4 * PG, 0x100000, 0) };

	/* One byte short of size... */
	expect_set_fails(d, 1, 4 * PG - 1, -1, -EINVAL);
	/* ...and big enough for size but not for mmap_offset + size. */
	d[0].mmap_offset = 100;
	expect_set_fails(d, 1, 4 * PG, -1, -EINVAL);
}

/* ---- a frontend that shrinks its file after we mapped it ---------------- */

/* The guard itself: pages past the new end read as zeros and take writes;
 * the count of replaced pages comes back. */
static void test_sigbus_guard_replaces_lost_pages(void **state)
{
	int fd = make_memfd(3 * PG);
	volatile uint8_t *p = view(fd, 3 * PG);
	struct gm_sigbus_guard *g;

	p[0] = 7;
	p[PG] = 8;
	g = gm_sigbus_guard_add((void *)p, 3 * PG, PG);
	assert_non_null(g);
	assert_int_equal(ftruncate(fd, PG), 0);
	assert_int_equal(p[0], 7);              /* still in the file */
	p[PG] = 0x5a;                           /* lost: a zero page takes it */
	assert_int_equal(p[PG], 0x5a);
	assert_int_equal(p[2 * PG], 0);         /* lost: reads zero */
	assert_int_equal(gm_sigbus_guard_del(g), 2);
	assert_int_equal(gm_sigbus_guard_del(NULL), 0);
	munmap((void *)p, 3 * PG);
	close(fd);
}

/* Through the table: a region whose file shrinks stays usable, and the
 * process survives. */
static void test_region_file_shrunk_after_map(void **state)
{
	struct gm_region_desc d = rdesc(0x10000, 4 * PG, 0x7000000000, 0);
	struct gm_table *t;
	int fd = make_memfd(4 * PG), kept = dup(fd);
	volatile uint8_t *p;

	assert_int_equal(gm_table_set(NULL, &d, &fd, 1, &t), 0);
	p = gm_uva_to_ptr(t, 0x7000000000, 4 * PG);
	assert_non_null((void *)p);
	assert_int_equal(ftruncate(kept, PG), 0);
	p[3 * PG + 1] = 1;
	assert_int_equal(p[3 * PG + 1], 1);
	assert_int_equal(p[2 * PG], 0);
	gm_table_unref(t);      /* logs the two lost pages */
	close(kept);
}

/* A SIGBUS outside every guarded range still ends the process: the guard
 * must not hide real bugs.  In a child whose SIGBUS action was the default
 * before the guard (cmocka's and a sanitizer's handlers are put aside, so
 * that the outcome is the same in every build). */
static void test_sigbus_outside_guard_still_fatal(void **state)
{
	int fd = make_memfd(2 * PG), st;
	volatile uint8_t *p = view(fd, 2 * PG);
	pid_t pid;

	assert_int_equal(ftruncate(fd, 0), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		static uint8_t other[PG] __attribute__((aligned(PG)));

		signal(SIGBUS, SIG_DFL);
		if (!gm_sigbus_guard_add(other, PG, PG))
			_exit(3);
		p[PG] = 1;
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGBUS);
	munmap((void *)p, 2 * PG);
	close(fd);
}

static void test_err_add_overlap(void **state)
{
	int fd0, fd1, before, fd;
	struct gm_table *t = two_regions(&fd0, &fd1), *t2 = (void *)1;
	struct gm_region_desc gpa_ov = rdesc(0x17fff, PG, 0x100000, 0);
	struct gm_region_desc uva_ov = rdesc(0x100000, PG, 0x7000003000, 0);
	struct gm_region_desc zero = rdesc(0x100000, 0, 0x100000, 0);

	before = count_fds();
	fd = make_memfd(PG);
	assert_int_equal(gm_table_add(t, &gpa_ov, fd, &t2), -EINVAL);
	assert_null(t2);
	fd = make_memfd(PG);
	assert_int_equal(gm_table_add(t, &uva_ov, fd, &t2), -EINVAL);
	fd = make_memfd(PG);
	assert_int_equal(gm_table_add(t, &zero, fd, &t2), -EINVAL);
	assert_int_equal(count_fds(), before);
	assert_int_equal(gm_table_nregions(t), 2);
	gm_table_unref(t);
	close(fd0);
	close(fd1);
}

/* No mapping of any test memfd is left in this process. */
static void assert_no_test_mappings(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		assert_null(strstr(line, "memfd:test-guest-mem"));
	fclose(f);
}

/* A failure after some regions were mapped unmaps them again. */
static void test_err_late_failure_unmaps(void **state)
{
	struct gm_region_desc d[2] = {
		rdesc(0x0, PG, 0x100000, 0),
		rdesc(0x10000, 4 * PG, 0x200000, 0),
	};
	int before = count_fds();
	int fds[2] = { make_memfd(PG), make_memfd(PG) };  /* 2nd too small */
	struct gm_table *t = (void *)1;

	assert_no_test_mappings();
	assert_int_equal(gm_table_set(NULL, d, fds, 2, &t), -EINVAL);
	assert_null(t);
	assert_int_equal(count_fds(), before);
	assert_no_test_mappings();
}

/* ---- uva translation -------------------------------------------------- */

static void test_uva_to_ptr(void **state)
{
	int fd0, fd1;
	struct gm_table *t = two_regions(&fd0, &fd1);
	const uint64_t u0 = 0x7000000000, u1 = 0x7000004000, sz = 4 * PG;
	uint8_t *p0 = gm_uva_to_ptr(t, u0, sz);
	uint8_t *p1 = gm_uva_to_ptr(t, u1, sz);

	assert_non_null(p0);
	assert_non_null(p1);
	assert_ptr_equal(gm_uva_to_ptr(t, u0 + 100, 8), p0 + 100);
	assert_ptr_equal(gm_uva_to_ptr(t, u0 + sz - 1, 1), p0 + sz - 1);
	assert_ptr_equal(gm_uva_to_ptr(t, u0 + sz - 1, 0), p0 + sz - 1);
	assert_ptr_equal(gm_uva_to_ptr(t, u1 + sz - 8, 8), p1 + sz - 8);
	/* Crossing a region's end, even into an adjacent region: NULL. */
	assert_null(gm_uva_to_ptr(t, u0 + sz - 8, 9));
	assert_null(gm_uva_to_ptr(t, u1 + sz - 8, 9));
	assert_null(gm_uva_to_ptr(t, u0, sz + 1));
	/* Outside. */
	assert_null(gm_uva_to_ptr(t, u0 - 1, 1));
	assert_null(gm_uva_to_ptr(t, u0 - 1, 0));
	assert_null(gm_uva_to_ptr(t, u1 + sz, 0));
	assert_null(gm_uva_to_ptr(t, u1 + sz, 1));
	assert_null(gm_uva_to_ptr(t, 0, 0));
	/* Length overflow. */
	assert_null(gm_uva_to_ptr(t, u0 + 1, UINT64_MAX));
	/* The guest-physical address is not a frontend address. */
	assert_null(gm_uva_to_ptr(t, 0x10000, 1));
	assert_null(gm_uva_to_ptr(NULL, u0, 1));
	gm_table_unref(t);
	close(fd0);
	close(fd1);
}

/* ---- gm_map_chain ----------------------------------------------------- */

static void test_map_chain_rd_wr(void **state)
{
	int fd0, fd1;
	struct gm_table *t = two_regions(&fd0, &fd1);
	uint8_t *v0 = view(fd0, 4 * PG), *v1 = view(fd1, 4 * PG);
	struct gm_buf rd[2] = { { 0x10010, 16 }, { 0x14020, 32 } };
	struct gm_buf wr[1] = { { 0x10100, 64 } };
	struct iovec iov[8];
	struct gm_mapping m;
	unsigned nr = 99, nw = 99;

	memcpy(v0 + 0x10, "readable-buffer!", 16);
	memcpy(v1 + 0x20, "second readable buffer, region 1", 32);
	assert_int_equal(gm_map_chain(t, rd, 2, wr, 1, iov, 8, &nr, &nw, &m), 0);
	assert_int_equal(nr, 2);
	assert_int_equal(nw, 1);
	assert_ptr_equal(m.table, t);
	assert_null(m.priv);
	assert_int_equal(iov[0].iov_len, 16);
	assert_memory_equal(iov[0].iov_base, "readable-buffer!", 16);
	assert_int_equal(iov[1].iov_len, 32);
	assert_memory_equal(iov[1].iov_base, "second readable buffer, region 1", 32);
	assert_int_equal(iov[2].iov_len, 64);
	memset(iov[2].iov_base, 0xab, 64);
	assert_int_equal(v0[0x100], 0xab);
	assert_int_equal(v0[0x13f], 0xab);
	assert_int_equal(v0[0x140], 0);
	gm_unmap_chain(&m);
	assert_null(m.table);

	/* Empty lists are fine. */
	assert_int_equal(gm_map_chain(t, NULL, 0, wr, 1, iov, 1, &nr, &nw, &m), 0);
	assert_int_equal(nr, 0);
	assert_int_equal(nw, 1);
	gm_unmap_chain(&m);

	munmap(v0, 4 * PG);
	munmap(v1, 4 * PG);
	gm_table_unref(t);
	close(fd0);
	close(fd1);
}

static void test_map_chain_spanning(void **state)
{
	int fd0, fd1;
	struct gm_table *t = two_regions(&fd0, &fd1);
	uint8_t *v0 = view(fd0, 4 * PG), *v1 = view(fd1, 4 * PG);
	/* 100 bytes before the boundary at 0x14000, 200 after. */
	struct gm_buf wr = { 0x14000 - 100, 300 };
	struct gm_buf rd = { 0x10000, 8 * PG };  /* both regions whole */
	struct iovec iov[4];
	struct gm_mapping m;
	unsigned nr, nw;
	uint8_t *p0 = gm_uva_to_ptr(t, 0x7000000000, 1);
	uint8_t *p1 = gm_uva_to_ptr(t, 0x7000004000, 1);

	assert_int_equal(gm_map_chain(t, NULL, 0, &wr, 1, iov, 4, &nr, &nw, &m), 0);
	assert_int_equal(nr, 0);
	assert_int_equal(nw, 2);
	assert_ptr_equal(iov[0].iov_base, p0 + 4 * PG - 100);
	assert_int_equal(iov[0].iov_len, 100);
	assert_ptr_equal(iov[1].iov_base, p1);
	assert_int_equal(iov[1].iov_len, 200);
	memset(iov[0].iov_base, 0x11, iov[0].iov_len);
	memset(iov[1].iov_base, 0x22, iov[1].iov_len);
	gm_unmap_chain(&m);
	/* Same memory as the memfds, seen through our own mappings. */
	assert_int_equal(v0[4 * PG - 101], 0);
	assert_int_equal(v0[4 * PG - 100], 0x11);
	assert_int_equal(v0[4 * PG - 1], 0x11);
	assert_int_equal(v1[0], 0x22);
	assert_int_equal(v1[199], 0x22);
	assert_int_equal(v1[200], 0);

	assert_int_equal(gm_map_chain(t, &rd, 1, NULL, 0, iov, 4, &nr, &nw, &m), 0);
	assert_int_equal(nr, 2);
	assert_int_equal(iov[0].iov_len, 4 * PG);
	assert_int_equal(iov[1].iov_len, 4 * PG);
	gm_unmap_chain(&m);

	munmap(v0, 4 * PG);
	munmap(v1, 4 * PG);
	gm_table_unref(t);
	close(fd0);
	close(fd1);
}

static void expect_map_fails(struct gm_table *t, const struct gm_buf *rd,
			     unsigned n_rd, const struct gm_buf *wr,
			     unsigned n_wr, unsigned cap, int err)
{
	struct iovec iov[8];
	struct gm_mapping m = { (void *)1, (void *)1 };
	unsigned nr, nw;

	assert_int_equal(gm_map_chain(t, rd, n_rd, wr, n_wr, iov, cap, &nr, &nw,
				      &m), err);
	assert_null(m.table);
	assert_null(m.priv);
	gm_unmap_chain(&m);     /* harmless after failure */
}

static void test_map_chain_efault(void **state)
{
	int fd0, fd1, fd2;
	struct gm_table *t = two_regions(&fd0, &fd1), *t2;
	/* A third region, not adjacent: gap [0x18000, 0x20000). */
	struct gm_region_desc d = rdesc(0x20000, PG, 0x7100000000, 0);
	struct gm_buf ok = { 0x10000, 1 };
	struct gm_buf zero = { 0x10000, 0 };
	struct gm_buf gap = { 0x18000 - 1, 2 };
	struct gm_buf in_gap = { 0x19000, 1 };
	struct gm_buf beyond = { 0x20000 + PG - 1, 2 };
	struct gm_buf past = { 0x21000, 1 };
	struct gm_buf below = { 0xffff, 2 };
	struct gm_buf wrap = { UINT64_MAX - 10, 100 };
	struct gm_buf top = { UINT64_MAX, 1 };

	fd2 = make_memfd(PG);
	assert_int_equal(gm_table_add(t, &d, fd2, &t2), 0);
	gm_table_unref(t);
	t = t2;

	expect_map_fails(t, &zero, 1, NULL, 0, 8, -EFAULT);
	expect_map_fails(t, NULL, 0, &zero, 1, 8, -EFAULT);
	expect_map_fails(t, &gap, 1, NULL, 0, 8, -EFAULT);
	expect_map_fails(t, &in_gap, 1, NULL, 0, 8, -EFAULT);
	expect_map_fails(t, &beyond, 1, NULL, 0, 8, -EFAULT);
	expect_map_fails(t, &past, 1, NULL, 0, 8, -EFAULT);
	expect_map_fails(t, &below, 1, NULL, 0, 8, -EFAULT);
	expect_map_fails(t, &wrap, 1, NULL, 0, 8, -EFAULT);
	expect_map_fails(t, NULL, 0, &top, 1, 8, -EFAULT);
	/* A bad writable buffer after good readable ones. */
	expect_map_fails(t, &ok, 1, &wrap, 1, 8, -EFAULT);
	expect_map_fails(NULL, &ok, 1, NULL, 0, 8, -EFAULT);

	/* The failed calls left no reference behind: the last unref unmaps. */
	{
		uint8_t *p = gm_uva_to_ptr(t, 0x7100000000, 1);

		assert_true(is_mapped(p));
		gm_table_unref(t);
		assert_false(is_mapped(p));
	}
	close(fd0);
	close(fd1);
}

/* A region ending at the top of the address space (gpa + size ==
 * UINT64_MAX, the highest end that does not wrap): buffers touching
 * its last byte work, one more byte or a wrap-around does not. */
static void test_top_of_address_space(void **state)
{
	const uint64_t gpa = UINT64_MAX - 4 * PG;
	struct gm_region_desc d = rdesc(gpa, 4 * PG, 0x600000, 0);
	int fd = make_memfd(4 * PG);
	struct gm_buf last = { UINT64_MAX - 10, 10 };
	struct gm_buf one_more = { UINT64_MAX - 10, 11 };
	struct gm_buf wrap = { UINT64_MAX - 10, 100 };
	struct gm_buf huge = { gpa, UINT32_MAX };
	struct gm_table *t;
	struct iovec iov[2];
	struct gm_mapping m;
	unsigned nr, nw;
	uint8_t buf[16], *p;

	assert_int_equal(gm_table_set(NULL, &d, &fd, 1, &t), 0);
	p = gm_uva_to_ptr(t, 0x600000, 4 * PG);
	assert_non_null(p);
	memcpy(p + 4 * PG - 10, "top-bytes!", 10);
	assert_int_equal(gm_map_chain(t, &last, 1, NULL, 0, iov, 2, &nr, &nw, &m), 0);
	assert_ptr_equal(iov[0].iov_base, p + 4 * PG - 10);
	assert_int_equal(iov[0].iov_len, 10);
	gm_unmap_chain(&m);
	expect_map_fails(t, &one_more, 1, NULL, 0, 2, -EFAULT);
	expect_map_fails(t, &wrap, 1, NULL, 0, 2, -EFAULT);
	expect_map_fails(t, NULL, 0, &huge, 1, 2, -EFAULT);
	assert_int_equal(gm_read(t, UINT64_MAX - 10, buf, 10), 0);
	assert_memory_equal(buf, "top-bytes!", 10);
	assert_int_equal(gm_read(t, UINT64_MAX - 10, buf, 11), -EFAULT);
	assert_int_equal(gm_read(t, UINT64_MAX - 10, buf, 16), -EFAULT);
	gm_table_unref(t);
}

static void test_map_chain_enobufs(void **state)
{
	int fd0, fd1;
	struct gm_table *t = two_regions(&fd0, &fd1);
	struct gm_buf span = { 0x13fff, 2 };  /* needs 2 iovecs */
	struct gm_buf one = { 0x10000, 1 };
	struct gm_buf three[3] = { { 0x10000, 1 }, { 0x10001, 1 }, { 0x10002, 1 } };
	struct iovec iov[3];
	struct gm_mapping m;
	unsigned nr, nw;

	expect_map_fails(t, &span, 1, NULL, 0, 1, -ENOBUFS);
	expect_map_fails(t, &one, 1, &one, 1, 1, -ENOBUFS);
	expect_map_fails(t, three, 3, NULL, 0, 2, -ENOBUFS);
	expect_map_fails(t, &one, 1, NULL, 0, 0, -ENOBUFS);
	/* Exactly enough. */
	assert_int_equal(gm_map_chain(t, &span, 1, &one, 1, iov, 3, &nr, &nw, &m), 0);
	assert_int_equal(nr, 2);
	assert_int_equal(nw, 1);
	gm_unmap_chain(&m);
	gm_table_unref(t);
	close(fd0);
	close(fd1);
}

/* The frontend replaces the table while a request holds its buffers. */
static void test_mapping_outlives_table(void **state)
{
	int fd0, fd1, fdn, fds[1];
	struct gm_table *t = two_regions(&fd0, &fd1), *t2;
	struct gm_region_desc nd = rdesc(0x10000, 4 * PG, 0x7200000000, 0);
	struct gm_buf wr = { 0x14010, 16 };
	uint8_t *v1 = view(fd1, 4 * PG);
	struct iovec iov[2];
	struct gm_mapping m;
	unsigned nr, nw;
	uint8_t *p;

	assert_int_equal(gm_map_chain(t, NULL, 0, &wr, 1, iov, 2, &nr, &nw, &m), 0);
	p = iov[0].iov_base;

	/* SET_MEM_TABLE with entirely different memory, old table dropped. */
	fdn = make_memfd(4 * PG);
	fds[0] = fdn;
	assert_int_equal(gm_table_set(t, &nd, fds, 1, &t2), 0);
	gm_table_unref(t);
	assert_null(gm_uva_to_ptr(t2, 0x7000004000, 1));

	/* Still mapped, still the same memory. */
	assert_true(is_mapped(p));
	memcpy(p, "still-writable!!", 16);
	assert_memory_equal(v1 + 0x10, "still-writable!!", 16);
	assert_memory_equal(p, "still-writable!!", 16);

	gm_unmap_chain(&m);
	assert_false(is_mapped(p));     /* the last reference unmapped it */
	gm_unmap_chain(&m);             /* idempotent */

	munmap(v1, 4 * PG);
	gm_table_unref(t2);
	close(fd0);
	close(fd1);
}

static void test_unmap_chain_idempotent(void **state)
{
	int fd0, fd1;
	struct gm_table *t = two_regions(&fd0, &fd1);
	struct gm_mapping zeroed = { 0 }, m;
	struct gm_buf b = { 0x10000, 8 };
	struct iovec iov[1];
	unsigned nr, nw;
	uint8_t *p;

	gm_unmap_chain(&zeroed);
	gm_unmap_chain(&zeroed);
	gm_unmap_chain(NULL);
	assert_int_equal(gm_map_chain(t, &b, 1, NULL, 0, iov, 1, &nr, &nw, &m), 0);
	p = iov[0].iov_base;
	gm_table_unref(t);              /* m holds the only reference now */
	assert_true(is_mapped(p));
	gm_unmap_chain(&m);
	assert_false(is_mapped(p));
	/* A second unmap must not drop a reference it no longer holds
	 * (ASan would report the double free). */
	gm_unmap_chain(&m);
	assert_null(m.table);
	close(fd0);
	close(fd1);
}

/* ---- gm_read and offsets ---------------------------------------------- */

static void test_read_across_regions(void **state)
{
	int fd0, fd1;
	struct gm_table *t = two_regions(&fd0, &fd1);
	uint8_t *v0 = view(fd0, 4 * PG), *v1 = view(fd1, 4 * PG);
	uint8_t buf[64];

	memcpy(v0 + 4 * PG - 5, "HELLO", 5);
	memcpy(v1, "world", 5);
	assert_int_equal(gm_read(t, 0x14000 - 5, buf, 10), 0);
	assert_memory_equal(buf, "HELLOworld", 10);
	assert_int_equal(gm_read(t, 0x10000 + 4 * PG - 5, buf, 1), 0);
	assert_int_equal(buf[0], 'H');
	assert_int_equal(gm_read(t, 0x10000, buf, 0), 0);
	assert_int_equal(gm_read(t, 0x18000 - 4, buf, 8), -EFAULT);
	assert_int_equal(gm_read(t, 0xfff0, buf, 32), -EFAULT);
	assert_int_equal(gm_read(t, UINT64_MAX - 3, buf, 8), -EFAULT);
	assert_int_equal(gm_read(NULL, 0x10000, buf, 8), -EFAULT);
	munmap(v0, 4 * PG);
	munmap(v1, 4 * PG);
	gm_table_unref(t);
	close(fd0);
	close(fd1);
}

static void test_unaligned_mmap_offset(void **state)
{
	const uint64_t off = 100, size = 5000;
	struct gm_region_desc d = rdesc(0x100000, size, 0x400000, off);
	int mfd = make_memfd(off + size);      /* exactly big enough */
	int fd = dup(mfd);
	uint8_t *v = view(mfd, off + size);
	struct gm_table *t;
	struct gm_buf b = { 0x100000 + size - 4, 4 };
	struct iovec iov[1];
	struct gm_mapping m;
	unsigned nr, nw;
	uint8_t buf[4], *p;

	for (unsigned i = 0; i < off + size; i++)
		v[i] = (uint8_t)(i * 7);
	assert_int_equal(gm_table_set(NULL, &d, &fd, 1, &t), 0);
	p = gm_uva_to_ptr(t, 0x400000, size);
	assert_non_null(p);
	assert_int_equal(p[0], (uint8_t)(off * 7));
	assert_int_equal(p[size - 1], (uint8_t)((off + size - 1) * 7));
	assert_int_equal(gm_read(t, 0x100000 + 1, buf, 1), 0);
	assert_int_equal(buf[0], (uint8_t)((off + 1) * 7));
	assert_int_equal(gm_map_chain(t, &b, 1, NULL, 0, iov, 1, &nr, &nw, &m), 0);
	assert_ptr_equal(iov[0].iov_base, p + size - 4);
	gm_unmap_chain(&m);
	/* One byte past the region: out. */
	assert_int_equal(gm_read(t, 0x100000 + size - 1, buf, 2), -EFAULT);
	p[0] = 0x5a;
	assert_int_equal(v[off], 0x5a);
	munmap(v, off + size);
	gm_table_unref(t);
	close(mfd);
}

/* ---- deferred kinds (the Xen grant path, with a fake kind) ------------- */

#define FK_CALLS 8
#define FK_SEGS 8

/* What one map_segs() call was asked for. */
struct fake_call {
	unsigned n;
	bool writable;
	uint32_t domid;
	uint64_t rep_gpa;               /* gpa of the representative region */
	uint64_t gpa[FK_SEGS];          /* the segments, in the order given */
};

struct fake_stats {
	unsigned maps, unmaps, seg_maps, seg_unmaps, fail_at;
	struct fake_call call[FK_CALLS];
	int live;
};

/* One per live segment mapping: unmap_segs() must get back the region
 * map_segs() was called with (ASan: exactly once). */
struct fake_cookie {
	struct gm_region *r;
};

static struct fake_stats fk;

static int fake_check(const struct gm_region_desc *d)
{
	return d->mmap_offset ? -EINVAL : 0;
}

static int fake_map(struct gm_region *r, int fd)
{
	/* Stands for "record the domid and fd" of a no-advance region;
	 * the buffer is the region's memory the segments point into. */
	r->priv = calloc(1, r->desc.size);
	if (!r->priv)
		return -ENOMEM;
	fk.maps++;
	return 0;
}

static void fake_unmap(struct gm_region *r)
{
	free(r->priv);
	fk.unmaps++;
}

static int fake_map_segs(struct gm_region *r, struct gm_seg *segs, unsigned n,
			 bool writable, void **cookie)
{
	unsigned call = fk.seg_maps;
	struct fake_cookie *c;

	/* The contract of mem-backend.h: r is the first segment's region,
	 * every segment's region has r's kind and domid, and each segment
	 * lies inside its own region. */
	assert_true(n > 0);
	assert_ptr_equal(segs[0].r, r);
	for (unsigned i = 0; i < n; i++) {
		const struct gm_region *sr = segs[i].r;

		assert_ptr_equal(sr->kind, r->kind);
		assert_int_equal(sr->desc.domid, r->desc.domid);
		assert_true(segs[i].gpa >= sr->desc.gpa);
		assert_true(segs[i].gpa - sr->desc.gpa + segs[i].iov->iov_len <=
			    sr->desc.size);
		assert_null(segs[i].iov->iov_base);
	}
	if (fk.fail_at && fk.fail_at == call + 1)
		return -EIO;
	for (unsigned i = 0; i < n; i++)
		segs[i].iov->iov_base = (uint8_t *)segs[i].r->priv +
					(segs[i].gpa - segs[i].r->desc.gpa);
	if (call < FK_CALLS) {
		fk.call[call].n = n;
		fk.call[call].writable = writable;
		fk.call[call].domid = r->desc.domid;
		fk.call[call].rep_gpa = r->desc.gpa;
		for (unsigned i = 0; i < n && i < FK_SEGS; i++)
			fk.call[call].gpa[i] = segs[i].gpa;
	}
	c = malloc(sizeof(*c));
	assert_non_null(c);
	c->r = r;
	fk.seg_maps++;
	fk.live++;
	*cookie = c;
	return 0;
}

static void fake_unmap_segs(struct gm_region *r, void *cookie)
{
	struct fake_cookie *c = cookie;

	assert_non_null(c);
	assert_ptr_equal(c->r, r);
	free(c);
	fk.seg_unmaps++;
	fk.live--;
}

static const struct gm_kind fake_kind = {
	.name = "fake-deferred",
	.deferred = true,
	.check = fake_check,
	.map = fake_map,
	.unmap = fake_unmap,
	.map_segs = fake_map_segs,
	.unmap_segs = fake_unmap_segs,
};

static int setup_fake(void **state)
{
	memset(&fk, 0, sizeof(fk));
	gm_kind_set_test_override(&fake_kind);
	return 0;
}

static int teardown_fake(void **state)
{
	gm_kind_set_test_override(NULL);
	return 0;
}

/* A direct region [0x1000, +16K) and two deferred ones adjacent to each
 * other at [1<<63, +8K) and [1<<63 + 8K, +8K), both with uva 0. */
static struct gm_table *mixed_table(int *mfd)
{
	const uint64_t g = 1ull << 63;
	struct gm_region_desc d[3] = {
		rdesc(0x1000, 4 * PG, 0x500000, 0),
		rdesc(g, 2 * PG, 0, 0),
		rdesc(g + 2 * PG, 2 * PG, 0, 0),
	};
	int fds[3];
	struct gm_table *t;

	d[1].xen_flags = d[2].xen_flags = 0xa;
	*mfd = make_memfd(4 * PG);
	fds[0] = dup(*mfd);
	fds[1] = make_memfd(PG);        /* e.g. a gntdev fd: only closed */
	fds[2] = make_memfd(PG);
	assert_int_equal(gm_table_set(NULL, d, fds, 3, &t), 0);
	assert_int_equal(fk.maps, 2);
	return t;
}

static void test_deferred_map_chain(void **state)
{
	const uint64_t g = 1ull << 63;
	int before = count_fds(), mfd;
	struct gm_table *t = mixed_table(&mfd);
	struct gm_buf rd[3] = { { g + 16, 8 }, { 0x1000, 4 }, { g + 100, 4 } };
	struct gm_buf wr[1] = { { g + 2 * PG - 10, 20 } };   /* spans both */
	struct iovec iov[8];
	struct gm_mapping m;
	unsigned nr, nw;
	uint8_t buf[20];

	/* Deferred regions are not reachable by frontend address. */
	assert_null(gm_uva_to_ptr(t, 0, 0));
	assert_non_null(gm_uva_to_ptr(t, 0x500000, 1));

	assert_int_equal(gm_map_chain(t, rd, 3, wr, 1, iov, 8, &nr, &nw, &m), 0);
	assert_int_equal(nr, 3);
	assert_int_equal(nw, 2);
	assert_non_null(m.priv);
	/* One call per direction: both deferred regions have domid 0, so
	 * the writable buffer's two pieces (one in each region) go into
	 * one call.  The direct buffer is in neither. */
	assert_int_equal(fk.seg_maps, 2);
	assert_int_equal(fk.call[0].n, 2);
	assert_false(fk.call[0].writable);
	assert_true(fk.call[0].gpa[0] == g + 16 && fk.call[0].gpa[1] == g + 100);
	assert_int_equal(fk.call[1].n, 2);
	assert_true(fk.call[1].writable);
	assert_true(fk.call[1].gpa[0] == g + 2 * PG - 10);
	assert_true(fk.call[1].gpa[1] == g + 2 * PG);
	assert_true(fk.call[1].rep_gpa == g);
	assert_int_equal(iov[0].iov_len, 8);
	assert_int_equal(iov[1].iov_len, 4);
	assert_ptr_equal(iov[1].iov_base, gm_uva_to_ptr(t, 0x500000, 1));
	assert_int_equal(iov[2].iov_len, 4);
	assert_ptr_equal((uint8_t *)iov[2].iov_base - 84, iov[0].iov_base);
	assert_int_equal(iov[3].iov_len, 10);
	assert_int_equal(iov[4].iov_len, 10);
	memset(iov[3].iov_base, 'a', 10);
	memset(iov[4].iov_base, 'b', 10);
	gm_unmap_chain(&m);
	assert_int_equal(fk.seg_unmaps, 2);
	assert_int_equal(fk.live, 0);
	assert_null(m.priv);

	/* gm_read goes through the kind too, read-only, one call for the
	 * two regions; each piece came from its own region's memory. */
	assert_int_equal(gm_read(t, g + 2 * PG - 10, buf, 20), 0);
	assert_memory_equal(buf, "aaaaaaaaaabbbbbbbbbb", 20);
	assert_int_equal(fk.live, 0);
	assert_int_equal(fk.seg_maps, 3);
	assert_int_equal(fk.call[2].n, 2);
	assert_false(fk.call[2].writable);

	/* Errors: gaps are still gaps; a kind failure unmaps what was mapped. */
	expect_map_fails(t, NULL, 0, &(struct gm_buf){ g + 4 * PG, 1 }, 1, 8,
			 -EFAULT);
	fk.seg_maps = fk.seg_unmaps = 0;
	fk.fail_at = 2;         /* the writable part fails */
	expect_map_fails(t, rd, 3, wr, 1, 8, -EIO);
	assert_int_equal(fk.seg_unmaps, 1);
	assert_int_equal(fk.live, 0);
	fk.fail_at = 0;
	expect_map_fails(t, rd, 3, wr, 1, 4, -ENOBUFS);
	assert_int_equal(fk.live, 0);

	gm_table_unref(t);
	assert_int_equal(fk.unmaps, 2);
	close(mfd);
	assert_int_equal(count_fds(), before);
}

/*
 * A direct region and three deferred ones: A [g, +8K) and B [g+8K, +8K)
 * adjacent, C [g+32K, +8K) apart, with the given domids.
 */
static struct gm_table *three_deferred(uint32_t dom_a, uint32_t dom_b,
				       uint32_t dom_c, int *mfd)
{
	const uint64_t g = 1ull << 63;
	struct gm_region_desc d[4] = {
		rdesc(0x1000, 4 * PG, 0x500000, 0),
		rdesc(g, 2 * PG, 0, 0),
		rdesc(g + 2 * PG, 2 * PG, 0, 0),
		rdesc(g + 8 * PG, 2 * PG, 0, 0),
	};
	int fds[4];
	struct gm_table *t;

	d[1].domid = dom_a;
	d[2].domid = dom_b;
	d[3].domid = dom_c;
	d[1].xen_flags = d[2].xen_flags = d[3].xen_flags = 0xa;
	*mfd = make_memfd(4 * PG);
	fds[0] = dup(*mfd);
	for (unsigned i = 1; i < 4; i++)
		fds[i] = make_memfd(PG);
	assert_int_equal(gm_table_set(NULL, d, fds, 4, &t), 0);
	return t;
}

struct want_call {
	bool writable;
	uint32_t domid;
	uint64_t rep_gpa;
	unsigned n;
	uint64_t gpa[FK_SEGS];
};

static void assert_calls(const struct want_call *w, unsigned n)
{
	assert_int_equal(fk.seg_maps, n);
	for (unsigned c = 0; c < n; c++) {
		assert_int_equal(fk.call[c].writable, w[c].writable);
		assert_int_equal(fk.call[c].domid, w[c].domid);
		assert_true(fk.call[c].rep_gpa == w[c].rep_gpa);
		assert_int_equal(fk.call[c].n, w[c].n);
		for (unsigned i = 0; i < w[c].n; i++)
			assert_true(fk.call[c].gpa[i] == w[c].gpa[i]);
	}
}

/*
 * The chain of both cases below: readable buffers in B, the direct
 * region, A, C and one across A|B; writable ones in C, across A|B and in
 * B.  Maps it, writes through the writable iovecs, unmaps and reads the
 * bytes back with gm_read.
 */
static void run_grouped_chain(struct gm_table *t, const struct want_call *w,
			      unsigned nw_calls)
{
	const uint64_t g = 1ull << 63, a = g, b = g + 2 * PG, c = g + 8 * PG;
	struct gm_buf rd[5] = {
		{ b + 8, 4 }, { 0x1000, 4 }, { a + 16, 4 }, { c + 4, 4 },
		{ b - 2, 4 },
	};
	struct gm_buf wr[3] = { { c + 100, 8 }, { b - 3, 6 }, { b + 100, 8 } };
	struct iovec iov[16];
	struct gm_mapping m;
	unsigned nr, nw;
	uint8_t buf[8];

	memset(&fk.call, 0, sizeof(fk.call));
	fk.seg_maps = fk.seg_unmaps = 0;
	assert_int_equal(gm_map_chain(t, rd, 5, wr, 3, iov, 16, &nr, &nw, &m), 0);
	assert_int_equal(nr, 6);        /* the A|B buffer is two iovecs */
	assert_int_equal(nw, 4);
	assert_calls(w, nw_calls);
	assert_int_equal(fk.live, (int)nw_calls);
	for (unsigned i = 0; i < nr + nw; i++)
		assert_non_null(iov[i].iov_base);
	assert_ptr_equal(iov[1].iov_base, gm_uva_to_ptr(t, 0x500000, 1));
	assert_int_equal(iov[4].iov_len, 2);
	assert_int_equal(iov[5].iov_len, 2);
	memcpy(iov[6].iov_base, "C-bytes!", 8);
	assert_int_equal(iov[7].iov_len, 3);
	assert_int_equal(iov[8].iov_len, 3);
	memcpy(iov[7].iov_base, "ab|", 3);
	memcpy(iov[8].iov_base, "|AB", 3);
	memcpy(iov[9].iov_base, "B-bytes!", 8);
	gm_unmap_chain(&m);
	assert_int_equal(fk.seg_unmaps, nw_calls);
	assert_int_equal(fk.live, 0);

	/* Each piece landed in the memory of the region holding it. */
	assert_int_equal(gm_read(t, c + 100, buf, 8), 0);
	assert_memory_equal(buf, "C-bytes!", 8);
	assert_int_equal(gm_read(t, b + 100, buf, 8), 0);
	assert_memory_equal(buf, "B-bytes!", 8);
	assert_int_equal(gm_read(t, b - 3, buf, 6), 0);
	assert_memory_equal(buf, "ab||AB", 6);
	assert_int_equal(fk.live, 0);
}

/* Deferred segments are grouped by (kind, domid), not by region: one call
 * per direction however many regions of one domid a chain touches,
 * segments in chain order, groups in the order of their first segment. */
static void test_deferred_grouping(void **state)
{
	const uint64_t g = 1ull << 63, a = g, b = g + 2 * PG, c = g + 8 * PG;
	const struct want_call same[2] = {
		{ false, 1, b, 5, { b + 8, a + 16, c + 4, b - 2, b } },
		{ true, 1, c, 4, { c + 100, b - 3, b, b + 100 } },
	};
	/* B in another domain: two groups per direction. */
	const struct want_call two[4] = {
		{ false, 2, b, 2, { b + 8, b } },
		{ false, 1, a, 3, { a + 16, c + 4, b - 2 } },
		{ true, 1, c, 2, { c + 100, b - 3 } },
		{ true, 2, b, 2, { b, b + 100 } },
	};
	int before = count_fds(), mfd;
	struct gm_table *t;
	uint8_t buf[4];

	t = three_deferred(1, 1, 1, &mfd);
	run_grouped_chain(t, same, 2);
	/* A read across A|B of one domain: one call too. */
	fk.seg_maps = 0;
	assert_int_equal(gm_read(t, b - 2, buf, 4), 0);
	assert_int_equal(fk.seg_maps, 1);
	assert_int_equal(fk.call[0].n, 2);
	gm_table_unref(t);
	close(mfd);

	t = three_deferred(1, 2, 1, &mfd);
	run_grouped_chain(t, two, 4);
	fk.seg_maps = 0;
	assert_int_equal(gm_read(t, b - 2, buf, 4), 0);
	assert_int_equal(fk.seg_maps, 2);
	assert_int_equal(fk.live, 0);

	/* The second readable group fails: the first is unmapped again and
	 * the writable part never tried. */
	fk.seg_maps = fk.seg_unmaps = 0;
	fk.fail_at = 2;
	expect_map_fails(t, (struct gm_buf[]){ { b + 8, 4 }, { a, 4 } }, 2,
			 &(struct gm_buf){ c, 4 }, 1, 8, -EIO);
	assert_int_equal(fk.seg_maps, 1);
	assert_int_equal(fk.seg_unmaps, 1);
	assert_int_equal(fk.live, 0);
	/* ...and a failing gm_read group likewise. */
	fk.seg_maps = fk.seg_unmaps = 0;
	assert_int_equal(gm_read(t, b - 2, buf, 4), -EFAULT);
	assert_int_equal(fk.seg_unmaps, 1);
	assert_int_equal(fk.live, 0);
	fk.fail_at = 0;

	gm_table_unref(t);
	close(mfd);
	assert_int_equal(fk.unmaps, 6);
	assert_int_equal(count_fds(), before);
}

static void test_deferred_check_and_overlap(void **state)
{
	const uint64_t g = 1ull << 63;
	struct gm_region_desc d[2] = {
		rdesc(g, PG, 0, 0),
		rdesc(g + PG, PG, 0, 0),
	};

	d[0].xen_flags = d[1].xen_flags = 0xa;
	/* The kind's own check (Xen: mmap_offset must be 0). */
	d[1].mmap_offset = PG;
	expect_set_fails(d, 2, PG, -1, -EINVAL);
	/* Overlapping gpa is still rejected for deferred regions. */
	d[1].mmap_offset = 0;
	d[1].gpa = g + PG - 1;
	expect_set_fails(d, 2, PG, -1, -EINVAL);
	assert_int_equal(fk.maps, 0);
}

/* ---- concurrency ------------------------------------------------------ */

struct race {
	pthread_mutex_t lock;   /* protects cur, as the device lock would */
	struct gm_table *cur;
	atomic_bool stop;
	unsigned long ok;
};

static void *race_worker(void *arg)
{
	struct race *rc = arg;
	struct gm_buf b = { 0x10000, 64 };
	struct iovec iov[2];
	struct gm_mapping m;
	unsigned nr, nw;

	while (!atomic_load(&rc->stop)) {
		struct gm_table *t;

		pthread_mutex_lock(&rc->lock);
		t = gm_table_ref(rc->cur);
		pthread_mutex_unlock(&rc->lock);
		if (gm_map_chain(t, NULL, 0, &b, 1, iov, 2, &nr, &nw, &m) == 0) {
			/* Drop the table first: the mapping alone keeps
			 * the memory while the main thread replaces it. */
			gm_table_unref(t);
			memset(iov[0].iov_base, 0x5a, iov[0].iov_len);
			sched_yield();
			memset(iov[0].iov_base, 0xa5, iov[0].iov_len);
			gm_unmap_chain(&m);
			rc->ok++;
		} else {
			gm_table_unref(t);
		}
	}
	return NULL;
}

/* Tables replaced (each time with a new memfd, so a real munmap follows)
 * while a worker maps and writes buffers: no write after munmap
 * (SIGSEGV) and no use after free (ASan); atomic reference counts. */
static void test_concurrent_replace(void **state)
{
	struct gm_region_desc d = rdesc(0x10000, 4 * PG, 0x7000000000, 0);
	struct race rc = { .lock = PTHREAD_MUTEX_INITIALIZER };
	pthread_t th;
	int fd = make_memfd(4 * PG), before;

	assert_int_equal(gm_table_set(NULL, &d, &fd, 1, &rc.cur), 0);
	before = count_fds();
	assert_int_equal(pthread_create(&th, NULL, race_worker, &rc), 0);
	for (unsigned i = 0; i < 2000; i++) {
		struct gm_table *n, *old;

		fd = make_memfd(4 * PG);
		assert_int_equal(gm_table_set(rc.cur, &d, &fd, 1, &n), 0);
		pthread_mutex_lock(&rc.lock);
		old = rc.cur;
		rc.cur = n;
		pthread_mutex_unlock(&rc.lock);
		gm_table_unref(old);
		if (i % 64 == 0)
			sched_yield();
	}
	atomic_store(&rc.stop, true);
	pthread_join(th, NULL);
	gm_table_unref(rc.cur);
	assert_true(rc.ok > 0);
	assert_int_equal(count_fds(), before);
	assert_no_test_mappings();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_set_maps_and_consumes_fds),
		cmocka_unit_test(test_set_zero_regions),
		cmocka_unit_test(test_add_remove),
		cmocka_unit_test(test_set_reuses_identical_region),
		cmocka_unit_test(test_err_too_many),
		cmocka_unit_test(test_max_regions_then_add_too_many),
		cmocka_unit_test(test_err_zero_size),
		cmocka_unit_test(test_err_gpa_overflow),
		cmocka_unit_test(test_err_uva_overflow),
		cmocka_unit_test(test_err_offset_overflow),
		cmocka_unit_test(test_err_gpa_overlap),
		cmocka_unit_test(test_err_uva_overlap),
		cmocka_unit_test(test_err_bad_fd),
		cmocka_unit_test(test_err_not_a_file),
		cmocka_unit_test(test_err_xen_flags),
		cmocka_unit_test(test_err_file_too_small),
		cmocka_unit_test(test_sigbus_guard_replaces_lost_pages),
		cmocka_unit_test(test_region_file_shrunk_after_map),
		cmocka_unit_test(test_sigbus_outside_guard_still_fatal),
		cmocka_unit_test(test_err_add_overlap),
		cmocka_unit_test(test_err_late_failure_unmaps),
		cmocka_unit_test(test_uva_to_ptr),
		cmocka_unit_test(test_map_chain_rd_wr),
		cmocka_unit_test(test_map_chain_spanning),
		cmocka_unit_test(test_map_chain_efault),
		cmocka_unit_test(test_map_chain_enobufs),
		cmocka_unit_test(test_top_of_address_space),
		cmocka_unit_test(test_mapping_outlives_table),
		cmocka_unit_test(test_unmap_chain_idempotent),
		cmocka_unit_test(test_read_across_regions),
		cmocka_unit_test(test_unaligned_mmap_offset),
		cmocka_unit_test_setup_teardown(test_deferred_map_chain,
						setup_fake, teardown_fake),
		cmocka_unit_test_setup_teardown(test_deferred_grouping,
						setup_fake, teardown_fake),
		cmocka_unit_test_setup_teardown(test_deferred_check_and_overlap,
						setup_fake, teardown_fake),
		cmocka_unit_test(test_concurrent_replace),
	};

	vhd_log_set_program("test-guest-mem");
	vhd_log_set_level(VHD_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
