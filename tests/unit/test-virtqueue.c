/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Unit tests of the split virtqueue (src/vq/): the test plays the driver,
 * building rings in a memfd that the device side reaches through a real
 * guest-memory table (two adjacent 1 MiB regions of the same memfd).
 * Good paths, notification suppression, index wrap-around, and one
 * failing test per item of the ring validation list (virtqueue.h,
 * docs/architecture.md "Ring walker"):
 * each must break only its queue, stickily, with one err-fd signal.
 */
#include "config.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "mem/guest-mem.h"
#include "vq/virtqueue.h"
#include "vq/vring.h"

#define MIB        (1024u * 1024u)
#define MEM_SIZE   (2 * MIB)            /* two regions of 1 MiB */
#define UVA0       0x7f1200000000ull    /* frontend address of gpa 0 */
#define UVA(gpa)   (UVA0 + (gpa))

/* Guest physical layout used by the tests. */
#define RING_A     0x0000ull            /* queue A's rings */
#define RING_B     0x8000ull            /* queue B's rings */
#define IND_GPA    0x20000ull           /* indirect tables */
#define IND2_GPA   0x30000ull
#define DATA_GPA   0x40000ull           /* data buffers */
#define DATA_STEP  0x1000ull

#define F_INDIRECT (1ull << VIRTIO_RING_F_INDIRECT_DESC)
#define F_EVENT    (1ull << VIRTIO_RING_F_EVENT_IDX)
#define F_EMPTY    (1ull << VIRTIO_F_NOTIFY_ON_EMPTY)

/* ---- the driver side ---------------------------------------------------- */

struct drv {
	uint8_t *g;             /* test's view of gpa 0 */
	unsigned num;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t avail_idx;
};

static void drv_init(struct drv *d, uint8_t *g, uint64_t base, unsigned num)
{
	uint64_t end;

	d->g = g;
	d->num = num;
	d->desc_gpa = base;
	d->avail_gpa = base + vring_desc_size(num);
	d->used_gpa = (d->avail_gpa + vring_avail_size(num) + 3) & ~3ull;
	end = d->used_gpa + vring_used_size(num);
	memset(g + base, 0, end - base);
	d->desc = (struct vring_desc *)(g + d->desc_gpa);
	d->avail = (struct vring_avail *)(g + d->avail_gpa);
	d->used = (struct vring_used *)(g + d->used_gpa);
	d->avail_idx = 0;
}

static void put_desc(struct vring_desc *tab, unsigned i, uint64_t addr,
		     uint32_t len, uint16_t flags, uint16_t next)
{
	tab[i].addr = htole64(addr);
	tab[i].len = htole32(len);
	tab[i].flags = htole16(flags);
	tab[i].next = htole16(next);
}

static void drv_desc(struct drv *d, unsigned i, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	put_desc(d->desc, i, addr, len, flags, next);
}

/* An indirect table at gpa in the test's view. */
static struct vring_desc *ind_table(struct drv *d, uint64_t gpa)
{
	return (struct vring_desc *)(d->g + gpa);
}

static void drv_set_avail_idx(struct drv *d, uint16_t idx)
{
	d->avail_idx = idx;
	__atomic_store_n(&d->avail->idx, htole16(idx), __ATOMIC_RELEASE);
}

static void drv_publish(struct drv *d, uint16_t head)
{
	d->avail->ring[d->avail_idx % d->num] = htole16(head);
	drv_set_avail_idx(d, (uint16_t)(d->avail_idx + 1));
}

static uint16_t used_idx(const struct drv *d)
{
	return le16toh(__atomic_load_n(&d->used->idx, __ATOMIC_ACQUIRE));
}

static uint32_t used_id(const struct drv *d, uint16_t k)
{
	return le32toh(d->used->ring[k % d->num].id);
}

static uint32_t used_len(const struct drv *d, uint16_t k)
{
	return le32toh(d->used->ring[k % d->num].len);
}

static void set_used_event(struct drv *d, uint16_t v)
{
	*vring_used_event(d->avail, d->num) = htole16(v);
}

static uint16_t get_avail_event(struct drv *d)
{
	return le16toh(*vring_avail_event(d->used, d->num));
}

static uint64_t data_gpa(unsigned k)
{
	return DATA_GPA + k * DATA_STEP;
}

/* ---- fixture ------------------------------------------------------------ */

struct fx {
	int memfd;
	uint8_t *g;
	struct gm_table *t;
	struct drv a, b;
	struct virtqueue qa, qb;
};

static uint64_t efd_take(int fd)
{
	uint64_t v = 0;

	assert_true(fd >= 0);
	if (read(fd, &v, sizeof(v)) != sizeof(v)) {
		assert_int_equal(errno, EAGAIN);
		return 0;
	}
	return v;
}

static int new_efd(void)
{
	int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

	assert_true(fd >= 0);
	return fd;
}

static void q_attach(struct fx *f, struct virtqueue *q, struct drv *d)
{
	assert_int_equal(vq_set_addr(q, UVA(d->desc_gpa), UVA(d->avail_gpa),
				     UVA(d->used_gpa)), 0);
	assert_int_equal(vq_attach_mem(q, f->t), 0);
	assert_true(vq_ready(q));
}

static void q_setup(struct fx *f, struct virtqueue *q, struct drv *d,
		    unsigned index, const char *name, uint64_t features)
{
	vq_init(q, index, name);
	assert_int_equal(vq_set_num(q, d->num, VQ_MAX_SIZE), 0);
	vq_set_features(q, features);
	q_attach(f, q, d);
	vq_set_call_fd(q, new_efd());
	vq_set_err_fd(q, new_efd());
}

/* Set queue A up again with another size or features. */
static void fx_requeue_a(struct fx *f, unsigned num, uint64_t features)
{
	vq_destroy(&f->qa);
	drv_init(&f->a, f->g, RING_A, num);
	q_setup(f, &f->qa, &f->a, 0, "test qa", features);
}

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct gm_region_desc r[2] = {
		{ .gpa = 0, .size = MIB, .uva = UVA0, .mmap_offset = 0 },
		{ .gpa = MIB, .size = MIB, .uva = UVA0 + MIB, .mmap_offset = MIB },
	};
	int fds[2];

	assert_non_null(f);
	f->memfd = memfd_create("test-virtqueue", MFD_CLOEXEC);
	assert_true(f->memfd >= 0);
	assert_int_equal(ftruncate(f->memfd, MEM_SIZE), 0);
	f->g = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		    f->memfd, 0);
	assert_true(f->g != MAP_FAILED);
	fds[0] = dup(f->memfd);
	fds[1] = dup(f->memfd);
	assert_int_equal(gm_table_set(NULL, r, fds, 2, &f->t), 0);

	drv_init(&f->a, f->g, RING_A, 8);
	drv_init(&f->b, f->g, RING_B, 8);
	q_setup(f, &f->qa, &f->a, 0, "test qa", F_INDIRECT);
	q_setup(f, &f->qb, &f->b, 1, "test qb", F_INDIRECT);
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	vq_destroy(&f->qa);
	vq_destroy(&f->qb);
	gm_table_unref(f->t);
	munmap(f->g, MEM_SIZE);
	close(f->memfd);
	free(f);
	return 0;
}

static void fill_pattern(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 7);
}

/* Pop the next element of q, which must exist. */
static struct vq_elem *pop_ok(struct virtqueue *q)
{
	struct vq_elem *e = NULL;

	assert_int_equal(vq_pop(q, &e), 0);
	assert_non_null(e);
	return e;
}

/* ---- control side ------------------------------------------------------- */

static void t_set_num(void **state)
{
	struct fx *f = *state;
	struct virtqueue q;
	struct vq_elem *e;

	vq_init(&q, 5, "test num");
	assert_int_equal(vq_set_num(&q, 0, 1024), -EINVAL);
	assert_int_equal(vq_set_num(&q, 3, 1024), -EINVAL);
	assert_int_equal(vq_set_num(&q, 6, 1024), -EINVAL);
	assert_int_equal(vq_set_num(&q, 2048, 1024), -EINVAL);
	assert_int_equal(vq_set_num(&q, 65536, VQ_MAX_SIZE), -EINVAL);
	assert_int_equal(vq_set_num(&q, 65535, VQ_MAX_SIZE), -EINVAL);
	assert_int_equal(q.num, 0);
	assert_int_equal(vq_set_num(&q, 1, 1024), 0);
	assert_int_equal(q.chain_cap, VQ_MIN_CHAIN_CAP);
	assert_int_equal(vq_set_num(&q, 1024, 1024), 0);
	assert_int_equal(vq_set_num(&q, VQ_MAX_SIZE, VQ_MAX_SIZE), 0);
	assert_int_equal(q.num, VQ_MAX_SIZE);
	assert_int_equal(q.chain_cap, VQ_MAX_SIZE);
	vq_destroy(&q);

	/* Not while requests are in flight. */
	drv_desc(&f->a, 0, data_gpa(0), 16, 0, 0);
	drv_publish(&f->a, 0);
	e = pop_ok(&f->qa);
	assert_int_equal(vq_set_num(&f->qa, 16, VQ_MAX_SIZE), -EBUSY);
	assert_int_equal(f->qa.num, 8);
	vq_push(&f->qa, e, 0);
	assert_int_equal(vq_set_num(&f->qa, 16, VQ_MAX_SIZE), 0);
	/* A new size needs a new translation. */
	assert_false(vq_ready(&f->qa));
}

static void t_set_addr_misaligned(void **state)
{
	struct fx *f = *state;
	struct virtqueue *q = &f->qa;
	struct drv *d = &f->a;
	struct vq_elem *e = NULL;

	vq_reset(q);
	assert_int_equal(vq_set_addr(q, UVA(d->desc_gpa) + 8, UVA(d->avail_gpa),
				     UVA(d->used_gpa)), -EINVAL);
	assert_int_equal(vq_set_addr(q, UVA(d->desc_gpa), UVA(d->avail_gpa) + 1,
				     UVA(d->used_gpa)), -EINVAL);
	assert_int_equal(vq_set_addr(q, UVA(d->desc_gpa), UVA(d->avail_gpa),
				     UVA(d->used_gpa) + 2), -EINVAL);
	assert_false(q->addr_set);
	assert_int_equal(vq_attach_mem(q, f->t), -EINVAL);
	assert_false(vq_ready(q));
	assert_int_equal(vq_pop(q, &e), -EAGAIN);
	/* Smallest legal alignments are accepted. */
	assert_int_equal(vq_set_addr(q, UVA(d->desc_gpa), UVA(d->avail_gpa) + 2,
				     UVA(d->used_gpa) + 4), 0);
}

static void t_attach_unset(void **state)
{
	struct fx *f = *state;
	struct virtqueue q;

	vq_init(&q, 7, "test unset");
	assert_int_equal(vq_set_addr(&q, UVA(RING_A), UVA(RING_A + 0x1000),
				     UVA(RING_A + 0x2000)), 0);
	assert_int_equal(vq_attach_mem(&q, f->t), -EINVAL);  /* no num */
	vq_destroy(&q);

	vq_init(&q, 7, "test unset");
	assert_int_equal(vq_set_num(&q, 8, 256), 0);
	assert_int_equal(vq_attach_mem(&q, f->t), -EINVAL);  /* no addr */
	assert_false(vq_ready(&q));
	vq_destroy(&q);
}

/* Try rings at desc/avail/used gpa: the expected result of attach. */
static void try_rings(struct fx *f, unsigned num, uint64_t dg, uint64_t ag,
		      uint64_t ug, int expect)
{
	struct virtqueue q;
	struct vq_elem *e = NULL;

	vq_init(&q, 9, "test rings");
	assert_int_equal(vq_set_num(&q, num, VQ_MAX_SIZE), 0);
	assert_int_equal(vq_set_addr(&q, UVA(dg), UVA(ag), UVA(ug)), 0);
	assert_int_equal(vq_attach_mem(&q, f->t), expect);
	assert_int_equal(vq_ready(&q), expect == 0);
	if (expect)
		assert_int_equal(vq_pop(&q, &e), -EAGAIN);
	vq_destroy(&q);
}

static void t_attach_rings_inside_one_region(void **state)
{
	struct fx *f = *state;
	const unsigned n = 64;
	const uint64_t ok_d = 0x10000, ok_a = 0x11000, ok_u = 0x12000;
	uint64_t dsz = vring_desc_size(n), asz = vring_avail_size(n),
		 usz = vring_used_size(n);

	try_rings(f, n, ok_d, ok_a, ok_u, 0);
	/* Each ring ending exactly at the region boundary is fine... */
	try_rings(f, n, MIB - dsz, ok_a, ok_u, 0);
	try_rings(f, n, ok_d, MIB - asz, ok_u, 0);
	/* (6 + 8n is never a multiple of 4: the used ring can end at most
	 * 2 bytes before the boundary.) */
	try_rings(f, n, ok_d, ok_a, MIB - usz - 2, 0);
	/* ...one alignment unit later it crosses into the next region (the
	 * last bytes are used_event / avail_event: the full size counts). */
	try_rings(f, n, MIB - dsz + 16, ok_a, ok_u, -EFAULT);
	try_rings(f, n, ok_d, MIB - asz + 2, ok_u, -EFAULT);
	try_rings(f, n, ok_d, ok_a, MIB - usz + 2, -EFAULT);
	/* Wholly in the second region is fine; past the end is not. */
	try_rings(f, n, MIB + ok_d, MIB + ok_a, MIB + ok_u, 0);
	try_rings(f, n, MEM_SIZE - dsz + 16, ok_a, ok_u, -EFAULT);
	try_rings(f, n, ok_d, ok_a, MEM_SIZE + 0x1000, -EFAULT);
	try_rings(f, n, ok_d, MEM_SIZE - 2, ok_u, -EFAULT);
}

static void t_attach_no_memory(void **state)
{
	struct fx *f = *state;
	struct gm_table *empty = gm_table_new_empty();

	assert_non_null(empty);
	assert_int_equal(vq_attach_mem(&f->qa, empty), -EFAULT);
	assert_false(vq_ready(&f->qa));
	assert_int_equal(vq_attach_mem(&f->qa, NULL), -EFAULT);
	gm_table_unref(empty);
	/* And back. */
	assert_int_equal(vq_attach_mem(&f->qa, f->t), 0);
	assert_true(vq_ready(&f->qa));
}

static void t_not_ready_pop(void **state)
{
	struct fx *f = *state;
	struct vq_elem *e = NULL;

	drv_desc(&f->a, 0, data_gpa(0), 16, 0, 0);
	drv_publish(&f->a, 0);
	vq_reset(&f->qa);
	assert_false(vq_ready(&f->qa));
	assert_int_equal(vq_pop(&f->qa, &e), -EAGAIN);
	assert_null(e);
	assert_false(vq_broken(&f->qa));
	q_attach(f, &f->qa, &f->a);
	e = pop_ok(&f->qa);
	vq_push(&f->qa, e, 0);
}

/* ---- good paths --------------------------------------------------------- */

static void t_empty(void **state)
{
	struct fx *f = *state;
	struct vq_elem *e = NULL;

	assert_int_equal(vq_pop(&f->qa, &e), -EAGAIN);
	assert_null(e);
	assert_false(vq_broken(&f->qa));
}

static void t_single_buffer(void **state)
{
	struct fx *f = *state;
	struct vq_elem *e;
	uint8_t buf[64];

	fill_pattern(f->g + data_gpa(0), 64, 1);
	drv_desc(&f->a, 5, data_gpa(0), 64, 0, 0);
	drv_publish(&f->a, 5);

	e = pop_ok(&f->qa);
	assert_int_equal(e->head, 5);
	assert_int_equal(e->n_rd, 1);
	assert_int_equal(e->n_wr, 0);
	assert_int_equal(e->rd_len, 64);
	assert_int_equal(e->wr_len, 0);
	assert_int_equal(e->rd[0].iov_len, 64);
	assert_int_equal(iov_to_buf(e->rd, e->n_rd, 0, buf, sizeof(buf)), 64);
	assert_memory_equal(buf, f->g + data_gpa(0), 64);
	assert_int_equal(f->qa.inflight, 1);
	assert_int_equal(vq_get_base(&f->qa), 1);
	vq_push(&f->qa, e, 0);
	assert_int_equal(f->qa.inflight, 0);
	assert_int_equal(used_idx(&f->a), 1);
	assert_int_equal(used_id(&f->a, 0), 5);
	assert_int_equal(used_len(&f->a, 0), 0);
	assert_int_equal(vq_pop(&f->qa, &e), -EAGAIN);
}

static void t_rd_wr_chain(void **state)
{
	struct fx *f = *state;
	struct vq_elem *e;
	uint8_t in[30], out[70], expect[30];

	fill_pattern(f->g + data_gpa(0), 10, 10);
	fill_pattern(f->g + data_gpa(1), 20, 20);
	memset(f->g + data_gpa(2), 0, 30);
	memset(f->g + data_gpa(3), 0, 40);
	drv_desc(&f->a, 3, data_gpa(0), 10, VRING_DESC_F_NEXT, 5);
	drv_desc(&f->a, 5, data_gpa(1), 20, VRING_DESC_F_NEXT, 1);
	drv_desc(&f->a, 1, data_gpa(2), 30, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 6);
	drv_desc(&f->a, 6, data_gpa(3), 40, VRING_DESC_F_WRITE, 0);
	drv_publish(&f->a, 3);

	e = pop_ok(&f->qa);
	assert_int_equal(e->head, 3);
	assert_int_equal(e->n_rd, 2);
	assert_int_equal(e->n_wr, 2);
	assert_int_equal(e->rd_len, 30);
	assert_int_equal(e->wr_len, 70);
	assert_int_equal(e->wr[0].iov_len, 30);
	assert_int_equal(e->wr[1].iov_len, 40);
	/* The readable bytes, concatenated. */
	memcpy(expect, f->g + data_gpa(0), 10);
	memcpy(expect + 10, f->g + data_gpa(1), 20);
	assert_int_equal(iov_to_buf(e->rd, e->n_rd, 0, in, sizeof(in)), 30);
	assert_memory_equal(in, expect, 30);
	assert_int_equal(iov_to_buf(e->rd, e->n_rd, 25, in, sizeof(in)), 5);
	assert_memory_equal(in, expect + 25, 5);
	/* Writable: 70 bytes land in the driver's two buffers. */
	fill_pattern(out, sizeof(out), 99);
	assert_int_equal(iov_from_buf(e->wr, e->n_wr, 0, out, 100), 70);
	assert_memory_equal(f->g + data_gpa(2), out, 30);
	assert_memory_equal(f->g + data_gpa(3), out + 30, 40);
	vq_push(&f->qa, e, 70);
	assert_int_equal(used_idx(&f->a), 1);
	assert_int_equal(used_id(&f->a, 0), 3);
	assert_int_equal(used_len(&f->a, 0), 70);
}

static void t_used_len_clamped(void **state)
{
	struct fx *f = *state;
	struct vq_elem *e1, *e2;

	drv_desc(&f->a, 0, data_gpa(0), 16, VRING_DESC_F_WRITE, 0);
	drv_desc(&f->a, 1, data_gpa(1), 16, 0, 0);
	drv_publish(&f->a, 0);
	drv_publish(&f->a, 1);
	e1 = pop_ok(&f->qa);
	e2 = pop_ok(&f->qa);
	assert_int_equal(f->qa.inflight, 2);
	/* Completed out of order; lengths clamped to the writable size. */
	vq_push(&f->qa, e2, 5);
	vq_push(&f->qa, e1, 100000);
	assert_int_equal(used_idx(&f->a), 2);
	assert_int_equal(used_id(&f->a, 0), 1);
	assert_int_equal(used_len(&f->a, 0), 0);
	assert_int_equal(used_id(&f->a, 1), 0);
	assert_int_equal(used_len(&f->a, 1), 16);
}

static void t_chain_then_indirect(void **state)
{
	struct fx *f = *state;
	struct vring_desc *t = ind_table(&f->a, IND_GPA);
	struct vq_elem *e;
	uint8_t buf[48], expect[48];

	fill_pattern(f->g + data_gpa(0), 16, 1);
	fill_pattern(f->g + data_gpa(1), 32, 2);
	drv_desc(&f->a, 0, data_gpa(0), 16, VRING_DESC_F_NEXT, 2);
	/* WRITE on the descriptor naming the table is ignored (spec). */
	drv_desc(&f->a, 2, IND_GPA, 3 * 16,
		 VRING_DESC_F_INDIRECT | VRING_DESC_F_WRITE, 0);
	put_desc(t, 0, data_gpa(1), 32, VRING_DESC_F_NEXT, 2);
	put_desc(t, 2, data_gpa(2), 8, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	put_desc(t, 1, data_gpa(3), 24, VRING_DESC_F_WRITE, 0);
	drv_publish(&f->a, 0);

	e = pop_ok(&f->qa);
	assert_int_equal(e->head, 0);
	assert_int_equal(e->n_rd, 2);
	assert_int_equal(e->n_wr, 2);
	assert_int_equal(e->rd_len, 48);
	assert_int_equal(e->wr_len, 32);
	memcpy(expect, f->g + data_gpa(0), 16);
	memcpy(expect + 16, f->g + data_gpa(1), 32);
	assert_int_equal(iov_to_buf(e->rd, e->n_rd, 0, buf, sizeof(buf)), 48);
	assert_memory_equal(buf, expect, 48);
	assert_int_equal(e->wr[0].iov_len, 8);
	assert_int_equal(e->wr[1].iov_len, 24);
	/* Writable entries in chain order: table entry 2, then 1. */
	fill_pattern(buf, 32, 50);
	assert_int_equal(iov_from_buf(e->wr, e->n_wr, 0, buf, 32), 32);
	assert_memory_equal(f->g + data_gpa(2), buf, 8);
	assert_memory_equal(f->g + data_gpa(3), buf + 8, 24);
	vq_push(&f->qa, e, 32);
	assert_int_equal(used_id(&f->a, 0), 0);
	assert_int_equal(used_len(&f->a, 0), 32);
}

static void t_indirect_only(void **state)
{
	struct fx *f = *state;
	struct vring_desc *t = ind_table(&f->a, IND_GPA);
	struct vq_elem *e;
	const uint8_t msg[] = "hello, driver";

	memset(f->g + data_gpa(0), 0, 64);
	drv_desc(&f->a, 7, IND_GPA, 16, VRING_DESC_F_INDIRECT, 0);
	put_desc(t, 0, data_gpa(0), 64, VRING_DESC_F_WRITE, 0);
	drv_publish(&f->a, 7);
	/* The table is copied at pop: changing it afterwards has no effect. */
	e = pop_ok(&f->qa);
	put_desc(t, 0, data_gpa(5), 1, 0, 0);
	assert_int_equal(e->head, 7);
	assert_int_equal(e->n_rd, 0);
	assert_int_equal(e->n_wr, 1);
	assert_int_equal(e->wr_len, 64);
	assert_int_equal(iov_from_buf(e->wr, e->n_wr, 4, msg, sizeof(msg)), sizeof(msg));
	assert_memory_equal(f->g + data_gpa(0) + 4, msg, sizeof(msg));
	vq_push(&f->qa, e, 4 + sizeof(msg));
	assert_int_equal(used_len(&f->a, 0), 4 + sizeof(msg));
}

static void t_span_regions(void **state)
{
	struct fx *f = *state;
	struct vring_desc *t;
	struct vq_elem *e;
	uint8_t out[200], in[100];
	const uint64_t wr_gpa = MIB - 100, rd_gpa = MIB - 40;

	/* A readable buffer and a writable one, each across the boundary of
	 * the two regions: two iovecs each. */
	fill_pattern(f->g + rd_gpa, 100, 3);
	drv_desc(&f->a, 0, rd_gpa, 100, VRING_DESC_F_NEXT, 1);
	drv_desc(&f->a, 1, wr_gpa, 200, VRING_DESC_F_WRITE, 0);
	drv_publish(&f->a, 0);
	e = pop_ok(&f->qa);
	assert_int_equal(e->n_rd, 2);
	assert_int_equal(e->n_wr, 2);
	assert_int_equal(e->rd[0].iov_len, 40);
	assert_int_equal(e->rd[1].iov_len, 60);
	assert_int_equal(e->wr[0].iov_len, 100);
	assert_int_equal(e->wr[1].iov_len, 100);
	assert_int_equal(e->rd_len, 100);
	assert_int_equal(e->wr_len, 200);
	assert_int_equal(iov_to_buf(e->rd, e->n_rd, 0, in, sizeof(in)), 100);
	assert_memory_equal(in, f->g + rd_gpa, 100);
	/* Written through the device's two mappings, seen contiguous by
	 * the driver (same memfd). */
	fill_pattern(out, sizeof(out), 77);
	assert_int_equal(iov_from_buf(e->wr, e->n_wr, 0, out, sizeof(out)), 200);
	assert_memory_equal(f->g + wr_gpa, out, 200);
	vq_push(&f->qa, e, 200);

	/* An indirect table across the boundary is copied out whole. */
	t = ind_table(&f->a, MIB - 16);
	put_desc(t, 0, data_gpa(0), 8, VRING_DESC_F_NEXT, 1);
	put_desc(t, 1, data_gpa(1), 8, VRING_DESC_F_WRITE, 0);
	drv_desc(&f->a, 2, MIB - 16, 32, VRING_DESC_F_INDIRECT, 0);
	drv_publish(&f->a, 2);
	fill_pattern(f->g + data_gpa(0), 8, 4);
	e = pop_ok(&f->qa);
	assert_int_equal(e->n_rd, 1);
	assert_int_equal(e->n_wr, 1);
	assert_int_equal(e->rd_len, 8);
	assert_int_equal(e->wr_len, 8);
	assert_int_equal(iov_to_buf(e->rd, e->n_rd, 0, in, 8), 8);
	assert_memory_equal(in, f->g + data_gpa(0), 8);
	vq_push(&f->qa, e, 8);
}

/* More region splits than the first iovec guess (n + slack): the element
 * is mapped with a bigger array on the second try. */
static void t_many_region_splits(void **state)
{
	struct fx *f = *state;
	const unsigned n = 12;
	struct vring_desc *t = ind_table(&f->a, IND_GPA);
	struct vq_elem *e;
	uint8_t out[64];

	fx_requeue_a(f, 16, F_INDIRECT);
	for (unsigned i = 0; i < n; i++)
		put_desc(t, i, MIB - 32, 64, VRING_DESC_F_WRITE |
			 (i + 1 < n ? VRING_DESC_F_NEXT : 0), (uint16_t)(i + 1));
	drv_desc(&f->a, 0, IND_GPA, n * 16, VRING_DESC_F_INDIRECT, 0);
	drv_publish(&f->a, 0);
	e = pop_ok(&f->qa);
	assert_int_equal(e->n_rd, 0);
	assert_int_equal(e->n_wr, 2 * n);
	assert_int_equal(e->wr_len, 64 * n);
	for (unsigned i = 0; i < 2 * n; i++)
		assert_int_equal(e->wr[i].iov_len, 32);
	/* The last buffer's two pieces are the same 64 guest bytes. */
	fill_pattern(out, sizeof(out), 5);
	assert_int_equal(iov_from_buf(e->wr, e->n_wr, 64 * (n - 1), out, 64), 64);
	assert_memory_equal(f->g + MIB - 32, out, 64);
	vq_push(&f->qa, e, 64 * n);
	assert_int_equal(used_len(&f->a, 0), 64 * n);
}

/* Call and err fds are owned: replaced ones and the last one are closed. */
static void t_fd_ownership(void **state)
{
	struct fx *f = *state;
	int old_call = f->qa.call_fd, old_err = f->qa.err_fd;
	int c = new_efd(), e = new_efd();

	vq_set_call_fd(&f->qa, c);
	vq_set_err_fd(&f->qa, e);
	assert_int_equal(fcntl(old_call, F_GETFD), -1);
	assert_int_equal(fcntl(old_err, F_GETFD), -1);
	vq_set_call_fd(&f->qa, c);       /* same fd again: kept open */
	assert_true(fcntl(c, F_GETFD) >= 0);
	vq_reset(&f->qa);                /* reset keeps them */
	assert_true(fcntl(c, F_GETFD) >= 0);
	assert_true(fcntl(e, F_GETFD) >= 0);
	vq_set_call_fd(&f->qa, -1);
	assert_int_equal(fcntl(c, F_GETFD), -1);
	assert_int_equal(f->qa.call_fd, -1);
	vq_destroy(&f->qa);
	assert_int_equal(fcntl(e, F_GETFD), -1);
	assert_int_equal(f->qa.err_fd, -1);
	/* The fixture's teardown destroys it again: must be harmless. */
}

static void t_unpop(void **state)
{
	struct fx *f = *state;
	struct vq_elem *e1, *e2;

	drv_desc(&f->a, 3, data_gpa(0), 16, 0, 0);
	drv_desc(&f->a, 5, data_gpa(1), 16, 0, 0);
	drv_publish(&f->a, 3);
	drv_publish(&f->a, 5);
	e1 = pop_ok(&f->qa);
	e2 = pop_ok(&f->qa);
	assert_int_equal(e1->head, 3);
	assert_int_equal(e2->head, 5);
	assert_int_equal(vq_get_base(&f->qa), 2);
	vq_unpop(&f->qa, e2);
	vq_unpop(&f->qa, e1);
	assert_int_equal(vq_get_base(&f->qa), 0);
	assert_int_equal(f->qa.inflight, 0);
	assert_int_equal(used_idx(&f->a), 0);
	e1 = pop_ok(&f->qa);
	e2 = pop_ok(&f->qa);
	assert_int_equal(e1->head, 3);
	assert_int_equal(e2->head, 5);
	vq_push(&f->qa, e1, 0);
	vq_push(&f->qa, e2, 0);
	assert_int_equal(used_idx(&f->a), 2);
}

/* avail and used indices run through 65535 -> 0. */
static void t_wrap_indices(void **state)
{
	struct fx *f = *state;
	const uint16_t start = 65533;
	unsigned done = 0;

	fx_requeue_a(f, 4, F_INDIRECT);
	/* A ring restarted near the end of the index space. */
	vq_reset(&f->qa);
	f->a.used->idx = htole16(start);
	drv_set_avail_idx(&f->a, start);
	vq_set_base(&f->qa, start);
	q_attach(f, &f->qa, &f->a);
	assert_int_equal(f->qa.used_idx, start);

	for (unsigned i = 0; i < 4; i++)
		drv_desc(&f->a, i, data_gpa(i), 16, VRING_DESC_F_WRITE, 0);
	for (unsigned round = 0; round < 3; round++) {
		struct vq_elem *e[4];

		for (unsigned i = 0; i < 3; i++)
			drv_publish(&f->a, (uint16_t)((done + i) % 4));
		for (unsigned i = 0; i < 3; i++) {
			e[i] = pop_ok(&f->qa);
			assert_int_equal(e[i]->head, (done + i) % 4);
		}
		assert_int_equal(vq_pop(&f->qa, &e[3]), -EAGAIN);
		for (unsigned i = 0; i < 3; i++)
			vq_push(&f->qa, e[i], (uint32_t)(done + i));
		done += 3;
	}
	assert_int_equal(vq_get_base(&f->qa), (uint16_t)(start + 9));
	assert_int_equal(used_idx(&f->a), (uint16_t)(start + 9));
	assert_int_equal(used_idx(&f->a), 6);
	/* Used entry k sits at slot (start + k) % num. */
	for (unsigned k = 0; k < 4; k++) {
		uint16_t pos = (uint16_t)(start + 5 + k);

		assert_int_equal(used_id(&f->a, pos), (5 + k) % 4);
		assert_int_equal(used_len(&f->a, pos), 5 + k);
	}
}

static void t_reset_drops_stale_element(void **state)
{
	struct fx *f = *state;
	struct vq_elem *e, *e2;

	drv_desc(&f->a, 0, data_gpa(0), 16, VRING_DESC_F_WRITE, 0);
	drv_publish(&f->a, 0);
	e = pop_ok(&f->qa);
	/* Ring stopped and set up again while e was in flight. */
	vq_reset(&f->qa);
	assert_int_equal(f->qa.inflight, 0);
	q_attach(f, &f->qa, &f->a);
	vq_push(&f->qa, e, 16);        /* belongs to the old ring: dropped */
	assert_int_equal(used_idx(&f->a), 0);
	assert_int_equal(f->qa.inflight, 0);
	drv_publish(&f->a, 0);
	e2 = pop_ok(&f->qa);
	vq_push(&f->qa, e2, 16);
	assert_int_equal(used_idx(&f->a), 1);
}

/* ---- notifications ------------------------------------------------------ */

/* Publish, pop and push one writable buffer. */
static void one_request(struct fx *f)
{
	struct vq_elem *e;

	drv_desc(&f->a, 0, data_gpa(0), 16, VRING_DESC_F_WRITE, 0);
	drv_publish(&f->a, 0);
	e = pop_ok(&f->qa);
	vq_push(&f->qa, e, 1);
}

static void t_need_event_math(void **state)
{
	(void)state;
	assert_true(vring_need_event(0, 1, 0));
	assert_false(vring_need_event(1, 1, 0));
	assert_false(vring_need_event(5, 5, 5));         /* no movement */
	assert_true(vring_need_event(3, 10, 2));
	assert_false(vring_need_event(10, 10, 2));
	assert_false(vring_need_event(1, 10, 2));
	/* Across 65535 -> 0. */
	assert_true(vring_need_event(65535, 0, 65535));
	assert_true(vring_need_event(65535, 1, 65534));
	assert_true(vring_need_event(0, 1, 65535));
	assert_false(vring_need_event(0, 0, 65535));
	assert_false(vring_need_event(2, 1, 65535));
	assert_false(vring_need_event(65534, 1, 65535));
	assert_true(vring_need_event(65000, 100, 64000));
}

static void t_event_idx_suppression(void **state)
{
	struct fx *f = *state;
	int call;

	fx_requeue_a(f, 8, F_INDIRECT | F_EVENT);
	call = f->qa.call_fd;
	/* NO_INTERRUPT must be ignored with EVENT_IDX. */
	f->a.avail->flags = htole16(VRING_AVAIL_F_NO_INTERRUPT);
	set_used_event(&f->a, 0);
	one_request(f);                  /* used 0 -> 1 crosses 0 */
	vq_notify(&f->qa);
	assert_int_equal(efd_take(call), 1);
	vq_notify(&f->qa);               /* nothing new */
	assert_int_equal(efd_take(call), 0);
	one_request(f);                  /* 1 -> 2, event still 0 */
	vq_notify(&f->qa);
	assert_int_equal(efd_take(call), 0);
	set_used_event(&f->a, 3);
	one_request(f);                  /* 2 -> 3: not yet */
	vq_notify(&f->qa);
	assert_int_equal(efd_take(call), 0);
	one_request(f);                  /* 3 -> 4: yes */
	vq_notify(&f->qa);
	assert_int_equal(efd_take(call), 1);
	/* A batch crossing the event: one call. */
	set_used_event(&f->a, 5);
	one_request(f);
	one_request(f);
	one_request(f);                  /* 4 -> 7 */
	vq_notify(&f->qa);
	assert_int_equal(efd_take(call), 1);
}

static void t_event_idx_wrap(void **state)
{
	struct fx *f = *state;
	const uint16_t start = 65534;
	int call;

	fx_requeue_a(f, 8, F_EVENT);
	call = f->qa.call_fd;
	vq_reset(&f->qa);
	f->a.used->idx = htole16(start);
	drv_set_avail_idx(&f->a, start);
	vq_set_base(&f->qa, start);
	q_attach(f, &f->qa, &f->a);
	set_used_event(&f->a, 0);        /* interrupt after entry 0 is used */

	one_request(f);                  /* 65534 -> 65535; first decision */
	vq_notify(&f->qa);
	assert_int_equal(efd_take(call), 1);
	one_request(f);                  /* 65535 -> 0 */
	vq_notify(&f->qa);
	assert_int_equal(efd_take(call), 0);
	one_request(f);                  /* 0 -> 1 crosses event 0 */
	vq_notify(&f->qa);
	assert_int_equal(efd_take(call), 1);
	assert_int_equal(used_idx(&f->a), 1);
}

static void t_no_interrupt(void **state)
{
	struct fx *f = *state;
	int call = f->qa.call_fd;

	f->a.avail->flags = htole16(VRING_AVAIL_F_NO_INTERRUPT);
	one_request(f);
	vq_notify(&f->qa);
	assert_int_equal(efd_take(call), 0);
	f->a.avail->flags = 0;
	one_request(f);
	vq_notify(&f->qa);
	assert_int_equal(efd_take(call), 1);
	/* Nothing published since: no call. */
	vq_notify(&f->qa);
	assert_int_equal(efd_take(call), 0);
	/* used_event is ignored without EVENT_IDX. */
	set_used_event(&f->a, 1000);
	one_request(f);
	vq_notify(&f->qa);
	assert_int_equal(efd_take(call), 1);
}

static void t_notify_on_empty(void **state)
{
	struct fx *f = *state;
	struct vq_elem *e1, *e2;
	int call;

	fx_requeue_a(f, 8, F_EMPTY);
	call = f->qa.call_fd;
	f->a.avail->flags = htole16(VRING_AVAIL_F_NO_INTERRUPT);
	drv_desc(&f->a, 0, data_gpa(0), 16, 0, 0);
	drv_desc(&f->a, 1, data_gpa(1), 16, 0, 0);
	drv_publish(&f->a, 0);
	drv_publish(&f->a, 1);
	e1 = pop_ok(&f->qa);
	e2 = pop_ok(&f->qa);
	vq_push(&f->qa, e1, 0);
	vq_notify(&f->qa);               /* one still in flight */
	assert_int_equal(efd_take(call), 0);
	vq_push(&f->qa, e2, 0);
	vq_notify(&f->qa);               /* ran out: notify despite flag */
	assert_int_equal(efd_take(call), 1);
}

static void t_enable_notify_plain(void **state)
{
	struct fx *f = *state;
	struct vq_elem *e;

	vq_disable_notify(&f->qa);
	assert_true(le16toh(f->a.used->flags) & VRING_USED_F_NO_NOTIFY);
	assert_false(vq_enable_notify(&f->qa));
	assert_false(le16toh(f->a.used->flags) & VRING_USED_F_NO_NOTIFY);

	vq_disable_notify(&f->qa);
	drv_desc(&f->a, 0, data_gpa(0), 16, 0, 0);
	drv_publish(&f->a, 0);            /* arrives while we poll */
	assert_true(vq_enable_notify(&f->qa));
	e = pop_ok(&f->qa);
	vq_push(&f->qa, e, 0);
	assert_false(vq_enable_notify(&f->qa));
}

static void t_enable_notify_event_idx(void **state)
{
	struct fx *f = *state;
	struct vq_elem *e;

	fx_requeue_a(f, 8, F_EVENT);
	drv_desc(&f->a, 0, data_gpa(0), 16, 0, 0);
	drv_desc(&f->a, 1, data_gpa(1), 16, 0, 0);
	/* Kicks on: avail_event follows our pops. */
	drv_publish(&f->a, 0);
	e = pop_ok(&f->qa);
	vq_push(&f->qa, e, 0);
	assert_int_equal(get_avail_event(&f->a), 1);
	assert_int_equal(le16toh(f->a.used->flags), 0);
	/* Polling: avail_event stays where it was. */
	vq_disable_notify(&f->qa);
	drv_publish(&f->a, 1);
	drv_publish(&f->a, 0);
	e = pop_ok(&f->qa);
	vq_push(&f->qa, e, 0);
	assert_int_equal(get_avail_event(&f->a), 1);
	/* One left: enable reports it and asks for a kick at 2. */
	assert_true(vq_enable_notify(&f->qa));
	assert_int_equal(get_avail_event(&f->a), 2);
	e = pop_ok(&f->qa);
	vq_push(&f->qa, e, 0);
	assert_int_equal(get_avail_event(&f->a), 3);
	assert_false(vq_enable_notify(&f->qa));
	assert_int_equal(get_avail_event(&f->a), 3);
}

/* ---- validation list (virtqueue.h): one failing test per item -------- */

/* Make queue A's ring valid again: every descriptor a good readable
 * buffer, one new entry after where the device stopped. */
static void drv_fix(struct fx *f)
{
	struct drv *d = &f->a;

	for (unsigned i = 0; i < d->num; i++)
		drv_desc(d, i, data_gpa(i), 16, 0, 0);
	for (unsigned i = 0; i < d->num; i++)
		d->avail->ring[i] = 0;
	drv_set_avail_idx(d, (uint16_t)(f->qa.last_avail_idx + 1));
}

/* Pop from q with stderr captured: the result, and the log text. */
static int pop_logged(struct virtqueue *q, struct vq_elem **e, char *log,
		      size_t size)
{
	int cap = memfd_create("test-virtqueue-log", MFD_CLOEXEC);
	int saved = dup(STDERR_FILENO);
	ssize_t n;
	int r;

	assert_true(cap >= 0 && saved >= 0);
	assert_true(dup2(cap, STDERR_FILENO) >= 0);
	r = vq_pop(q, e);
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	n = pread(cap, log, size - 1, 0);
	assert_true(n >= 0);
	log[n] = '\0';
	close(cap);
	fputs(log, stderr);
	return r;
}

/* After a violation on queue A: -EIO for the expected reason (`why` in
 * the log line; NULL: the queue broke earlier and logs nothing), sticky,
 * one err signal, queue B on the same memory unaffected, and vq_reset +
 * set-up recovers A. */
static void expect_broken(struct fx *f, const char *why)
{
	struct vq_elem *e = (struct vq_elem *)&e;
	uint16_t base = f->qa.last_avail_idx;
	uint16_t used_before = used_idx(&f->a);
	char log[1024];

	assert_int_equal(pop_logged(&f->qa, &e, log, sizeof(log)), -EIO);
	assert_null(e);
	if (why && !strstr(log, why))
		fail_msg("expected \"%s\" in the log, got: %s", why, log);
	assert_true(vq_broken(&f->qa));
	assert_int_equal(efd_take(f->qa.err_fd), 1);
	/* Nothing consumed, nothing published. */
	assert_int_equal(f->qa.last_avail_idx, base);
	assert_int_equal(used_idx(&f->a), used_before);

	/* Sticky even once the ring is fixed; no second signal. */
	drv_fix(f);
	assert_int_equal(vq_pop(&f->qa, &e), -EIO);
	assert_int_equal(vq_pop(&f->qa, &e), -EIO);
	assert_false(vq_enable_notify(&f->qa));
	assert_int_equal(efd_take(f->qa.err_fd), 0);

	/* The other queue goes on. */
	fill_pattern(f->g + data_gpa(9), 32, 9);
	drv_desc(&f->b, 2, data_gpa(9), 32, VRING_DESC_F_WRITE, 0);
	drv_publish(&f->b, 2);
	e = pop_ok(&f->qb);
	assert_int_equal(e->head, 2);
	assert_int_equal(e->wr_len, 32);
	vq_push(&f->qb, e, 32);
	assert_int_equal(used_idx(&f->b), 1);
	assert_false(vq_broken(&f->qb));
	assert_int_equal(efd_take(f->qb.err_fd), 0);

	/* Set up again: usable. */
	vq_reset(&f->qa);
	assert_false(vq_broken(&f->qa));
	q_attach(f, &f->qa, &f->a);
	e = pop_ok(&f->qa);
	assert_int_equal(e->head, 0);
	vq_push(&f->qa, e, 0);
	assert_int_equal(efd_take(f->qa.err_fd), 0);
}

/* 1. avail idx moved by more than the queue size. */
static void t_bad_avail_idx_jump(void **state)
{
	struct fx *f = *state;

	drv_desc(&f->a, 0, data_gpa(0), 16, 0, 0);
	drv_set_avail_idx(&f->a, 9);     /* num is 8 */
	expect_broken(f, "avail idx moved from 0 to 9");
}

/* 2. head index >= queue size. */
static void t_bad_head(void **state)
{
	struct fx *f = *state;

	drv_publish(&f->a, 8);
	expect_broken(f, "head 8 out of range");
}

/* 4. next index >= queue size. */
static void t_bad_next(void **state)
{
	struct fx *f = *state;

	drv_desc(&f->a, 0, data_gpa(0), 16, VRING_DESC_F_NEXT, 8);
	drv_publish(&f->a, 0);
	expect_broken(f, "next 8 is out of range");
}

/* 4. next index >= the indirect table's length. */
static void t_bad_next_indirect(void **state)
{
	struct fx *f = *state;
	struct vring_desc *t = ind_table(&f->a, IND_GPA);

	put_desc(t, 0, data_gpa(0), 16, VRING_DESC_F_NEXT, 1);
	put_desc(t, 1, data_gpa(1), 16, VRING_DESC_F_NEXT, 2);
	put_desc(t, 2, data_gpa(2), 16, 0, 0);   /* present, but not in len */
	drv_desc(&f->a, 0, IND_GPA, 32, VRING_DESC_F_INDIRECT, 0);
	drv_publish(&f->a, 0);
	expect_broken(f, "indirect descriptor 1: next 2 is out of range");
}

/* 5. A loop in the descriptor table. */
static void t_bad_loop(void **state)
{
	struct fx *f = *state;

	drv_desc(&f->a, 0, data_gpa(0), 16, VRING_DESC_F_NEXT, 1);
	drv_desc(&f->a, 1, data_gpa(1), 16, VRING_DESC_F_NEXT, 2);
	drv_desc(&f->a, 2, data_gpa(2), 16, VRING_DESC_F_NEXT, 0);
	drv_publish(&f->a, 0);
	expect_broken(f, "descriptor loop");
}

/* 5. A loop inside an indirect table. */
static void t_bad_loop_indirect(void **state)
{
	struct fx *f = *state;
	struct vring_desc *t = ind_table(&f->a, IND_GPA);

	put_desc(t, 0, data_gpa(0), 16, VRING_DESC_F_NEXT, 1);
	put_desc(t, 1, data_gpa(1), 16, VRING_DESC_F_NEXT, 0);
	drv_desc(&f->a, 0, IND_GPA, 32, VRING_DESC_F_INDIRECT, 0);
	drv_publish(&f->a, 0);
	expect_broken(f, "in the indirect table");
}

/* 5. A chain longer than the limit (chained + a full indirect table). */
static void t_bad_chain_too_long(void **state)
{
	struct fx *f = *state;
	const unsigned cap = f->qa.chain_cap;
	struct vring_desc *t = ind_table(&f->a, IND_GPA);

	assert_int_equal(cap, VQ_MIN_CHAIN_CAP);
	for (unsigned i = 0; i < cap; i++)
		put_desc(t, i, data_gpa(0), 16,
			 i + 1 < cap ? VRING_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	drv_desc(&f->a, 0, data_gpa(0), 16, VRING_DESC_F_NEXT, 1);
	drv_desc(&f->a, 1, IND_GPA, cap * 16, VRING_DESC_F_INDIRECT, 0);
	drv_publish(&f->a, 0);
	expect_broken(f, "more than 515 buffers");
}

/* The same table alone is within the limit (control for the above). */
static void t_chain_at_limit(void **state)
{
	struct fx *f = *state;
	const unsigned cap = f->qa.chain_cap;
	struct vring_desc *t = ind_table(&f->a, IND_GPA);
	struct vq_elem *e;

	for (unsigned i = 0; i < cap; i++)
		put_desc(t, i, data_gpa(0), 16,
			 i + 1 < cap ? VRING_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	drv_desc(&f->a, 1, IND_GPA, cap * 16, VRING_DESC_F_INDIRECT, 0);
	drv_publish(&f->a, 1);
	e = pop_ok(&f->qa);
	assert_int_equal(e->n_rd, cap);
	assert_int_equal(e->rd_len, cap * 16);
	vq_push(&f->qa, e, 0);
}

/* 3. INDIRECT together with NEXT. */
static void t_bad_indirect_with_next(void **state)
{
	struct fx *f = *state;
	struct vring_desc *t = ind_table(&f->a, IND_GPA);

	put_desc(t, 0, data_gpa(0), 16, 0, 0);
	drv_desc(&f->a, 0, IND_GPA, 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
	drv_desc(&f->a, 1, data_gpa(1), 16, 0, 0);
	drv_publish(&f->a, 0);
	expect_broken(f, "both INDIRECT and NEXT");
}

/* 3. An indirect descriptor inside an indirect table. */
static void t_bad_nested_indirect(void **state)
{
	struct fx *f = *state;
	struct vring_desc *t = ind_table(&f->a, IND_GPA);
	struct vring_desc *t2 = ind_table(&f->a, IND2_GPA);

	put_desc(t2, 0, data_gpa(0), 16, 0, 0);
	put_desc(t, 0, data_gpa(1), 16, VRING_DESC_F_NEXT, 1);
	put_desc(t, 1, IND2_GPA, 16, VRING_DESC_F_INDIRECT, 0);
	drv_desc(&f->a, 0, IND_GPA, 32, VRING_DESC_F_INDIRECT, 0);
	drv_publish(&f->a, 0);
	expect_broken(f, "nested indirect");
}

/* 3. Indirect table length 0. */
static void t_bad_indirect_len0(void **state)
{
	struct fx *f = *state;

	drv_desc(&f->a, 0, IND_GPA, 0, VRING_DESC_F_INDIRECT, 0);
	drv_publish(&f->a, 0);
	expect_broken(f, "indirect table length 0");
}

/* 3. Indirect table length not a multiple of 16. */
static void t_bad_indirect_len_odd(void **state)
{
	struct fx *f = *state;
	struct vring_desc *t = ind_table(&f->a, IND_GPA);

	put_desc(t, 0, data_gpa(0), 16, 0, 0);
	put_desc(t, 1, data_gpa(0), 16, 0, 0);
	drv_desc(&f->a, 0, IND_GPA, 24, VRING_DESC_F_INDIRECT, 0);
	drv_publish(&f->a, 0);
	expect_broken(f, "indirect table length 24");
}

/* 3. Indirect table larger than the chain limit. */
static void t_bad_indirect_too_large(void **state)
{
	struct fx *f = *state;
	struct vring_desc *t = ind_table(&f->a, IND_GPA);

	put_desc(t, 0, data_gpa(0), 16, 0, 0);
	drv_desc(&f->a, 0, IND_GPA, (f->qa.chain_cap + 1) * 16,
		 VRING_DESC_F_INDIRECT, 0);
	drv_publish(&f->a, 0);
	expect_broken(f, "indirect table of 516 descriptors");
}

/* 3. Indirect table (partly) outside guest memory. */
static void t_bad_indirect_outside(void **state)
{
	struct fx *f = *state;

	drv_desc(&f->a, 0, MEM_SIZE - 16, 32, VRING_DESC_F_INDIRECT, 0);
	drv_publish(&f->a, 0);
	expect_broken(f, "indirect table at 0x1ffff0");
}

/* 3. INDIRECT when INDIRECT_DESC was not negotiated: rejected (policy). */
static void t_bad_indirect_not_negotiated(void **state)
{
	struct fx *f = *state;
	struct vring_desc *t = ind_table(&f->a, IND_GPA);

	vq_set_features(&f->qa, 0);
	put_desc(t, 0, data_gpa(0), 16, 0, 0);
	drv_desc(&f->a, 0, IND_GPA, 16, VRING_DESC_F_INDIRECT, 0);
	drv_publish(&f->a, 0);
	expect_broken(f, "not negotiated");
}

/* 6. Device-readable after device-writable. */
static void t_bad_readable_after_writable(void **state)
{
	struct fx *f = *state;

	drv_desc(&f->a, 0, data_gpa(0), 16, VRING_DESC_F_NEXT, 1);
	drv_desc(&f->a, 1, data_gpa(1), 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 2);
	drv_desc(&f->a, 2, data_gpa(2), 16, 0, 0);
	drv_publish(&f->a, 0);
	expect_broken(f, "descriptor 2 is device-readable after");
}

/* 6. The same, across the main chain and its indirect table. */
static void t_bad_readable_after_writable_indirect(void **state)
{
	struct fx *f = *state;
	struct vring_desc *t = ind_table(&f->a, IND_GPA);

	put_desc(t, 0, data_gpa(1), 16, 0, 0);
	drv_desc(&f->a, 0, data_gpa(0), 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	drv_desc(&f->a, 1, IND_GPA, 16, VRING_DESC_F_INDIRECT, 0);
	drv_publish(&f->a, 0);
	expect_broken(f, "indirect descriptor 0 is device-readable after");
}

/* 7. Zero-length buffer. */
static void t_bad_zero_len(void **state)
{
	struct fx *f = *state;

	drv_desc(&f->a, 0, data_gpa(0), 16, VRING_DESC_F_NEXT, 1);
	drv_desc(&f->a, 1, data_gpa(1), 0, VRING_DESC_F_WRITE, 0);
	drv_publish(&f->a, 0);
	expect_broken(f, "zero-length");
}

/* 7. Buffer outside guest memory. */
static void t_bad_outside_memory(void **state)
{
	struct fx *f = *state;

	drv_desc(&f->a, 0, data_gpa(0), 16, VRING_DESC_F_NEXT, 1);
	drv_desc(&f->a, 1, MEM_SIZE + 0x1000, 16, VRING_DESC_F_WRITE, 0);
	drv_publish(&f->a, 0);
	expect_broken(f, "buffer 1 of 2 (0x201000");
}

/* 7. Buffer that starts inside guest memory and ends outside. */
static void t_bad_partly_outside_memory(void **state)
{
	struct fx *f = *state;

	drv_desc(&f->a, 0, MEM_SIZE - 8, 16, 0, 0);
	drv_publish(&f->a, 0);
	expect_broken(f, "buffer 0 of 1 (0x1ffff8");
}

/* 7. addr + len overflows u64. */
static void t_bad_addr_overflow(void **state)
{
	struct fx *f = *state;

	drv_desc(&f->a, 0, UINT64_MAX - 7, 16, 0, 0);
	drv_publish(&f->a, 0);
	expect_broken(f, "overflows");
}

/* 8. Total chain length above u32. */
static void t_bad_total_over_u32(void **state)
{
	struct fx *f = *state;

	drv_desc(&f->a, 0, data_gpa(0), 0xfffffff0u, VRING_DESC_F_NEXT, 1);
	drv_desc(&f->a, 1, data_gpa(1), 0x20, VRING_DESC_F_WRITE, 0);
	drv_publish(&f->a, 0);
	expect_broken(f, "longer than 4 GiB");
}

/* 9. More requests in flight than the queue size (driver reused a head). */
static void t_bad_inflight(void **state)
{
	struct fx *f = *state;
	struct vq_elem *e[8];

	for (unsigned i = 0; i < 8; i++) {
		drv_desc(&f->a, i, data_gpa(i), 16, 0, 0);
		drv_publish(&f->a, (uint16_t)i);
	}
	for (unsigned i = 0; i < 8; i++)
		e[i] = pop_ok(&f->qa);
	assert_int_equal(f->qa.inflight, 8);
	drv_publish(&f->a, 0);           /* head 0 is still in flight */
	{
		struct vq_elem *x = NULL;
		char log[1024];

		assert_int_equal(pop_logged(&f->qa, &x, log, sizeof(log)), -EIO);
		assert_null(x);
		assert_non_null(strstr(log, "more than queue size 8 requests in flight"));
	}
	/* Requests popped before the break complete normally. */
	for (unsigned i = 0; i < 8; i++)
		vq_push(&f->qa, e[i], 0);
	assert_int_equal(used_idx(&f->a), 8);
	assert_int_equal(f->qa.inflight, 0);
	/* expect_broken re-checks -EIO; the err fd was signalled once. */
	{
		uint64_t n = efd_take(f->qa.err_fd);

		assert_int_equal(n, 1);
		/* Put the signal back for expect_broken's own count. */
		assert_int_equal(write(f->qa.err_fd, &n, sizeof(n)), sizeof(n));
	}
	expect_broken(f, NULL);
}

/* A device can break a queue itself; the signal is sent once. */
static void t_mark_broken(void **state)
{
	struct fx *f = *state;
	struct vq_elem *e;

	drv_desc(&f->a, 0, data_gpa(0), 16, 0, 0);
	drv_publish(&f->a, 0);
	e = pop_ok(&f->qa);
	vq_mark_broken(&f->qa, "test: malformed request header");
	vq_mark_broken(&f->qa, "test: again");
	assert_true(vq_broken(&f->qa));
	assert_int_equal(efd_take(f->qa.err_fd), 1);
	/* Completing the element popped before stays safe. */
	vq_push(&f->qa, e, 0);
	assert_int_equal(used_idx(&f->a), 1);
	drv_publish(&f->a, 0);
	assert_int_equal(vq_pop(&f->qa, &e), -EIO);
	assert_int_equal(efd_take(f->qa.err_fd), 0);
}

/* ---- iovec helpers ------------------------------------------------------ */

static void t_iov_helpers(void **state)
{
	uint8_t a[3] = { 1, 2, 3 }, b[1] = { 9 }, c[5] = { 4, 5, 6, 7, 8 };
	struct iovec iov[3] = {
		{ .iov_base = a, .iov_len = 3 },
		{ .iov_base = b, .iov_len = 0 },
		{ .iov_base = c, .iov_len = 5 },
	};
	uint8_t buf[16];
	const uint8_t in[4] = { 40, 41, 42, 43 };

	(void)state;
	memset(buf, 0, sizeof(buf));
	assert_int_equal(iov_to_buf(iov, 3, 0, buf, sizeof(buf)), 8);
	assert_memory_equal(buf, ((uint8_t[]){ 1, 2, 3, 4, 5, 6, 7, 8 }), 8);
	assert_int_equal(iov_to_buf(iov, 3, 2, buf, 3), 3);
	assert_memory_equal(buf, ((uint8_t[]){ 3, 4, 5 }), 3);
	assert_int_equal(iov_to_buf(iov, 3, 8, buf, 4), 0);
	assert_int_equal(iov_to_buf(iov, 3, 100, buf, 4), 0);
	assert_int_equal(iov_to_buf(iov, 0, 0, buf, 4), 0);
	assert_int_equal(iov_from_buf(iov, 3, 1, in, 4), 4);
	assert_memory_equal(a, ((uint8_t[]){ 1, 40, 41 }), 3);
	assert_memory_equal(c, ((uint8_t[]){ 42, 43, 6, 7, 8 }), 5);
	assert_int_equal(b[0], 9);
	assert_int_equal(iov_from_buf(iov, 3, 6, in, 4), 2);
	assert_memory_equal(c, ((uint8_t[]){ 42, 43, 6, 40, 41 }), 5);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(t_set_num),
		T(t_set_addr_misaligned),
		T(t_attach_unset),
		T(t_attach_rings_inside_one_region),
		T(t_attach_no_memory),
		T(t_not_ready_pop),
		T(t_empty),
		T(t_single_buffer),
		T(t_rd_wr_chain),
		T(t_used_len_clamped),
		T(t_chain_then_indirect),
		T(t_indirect_only),
		T(t_span_regions),
		T(t_many_region_splits),
		T(t_fd_ownership),
		T(t_unpop),
		T(t_wrap_indices),
		T(t_reset_drops_stale_element),
		cmocka_unit_test(t_need_event_math),
		T(t_event_idx_suppression),
		T(t_event_idx_wrap),
		T(t_no_interrupt),
		T(t_notify_on_empty),
		T(t_enable_notify_plain),
		T(t_enable_notify_event_idx),
		T(t_bad_avail_idx_jump),
		T(t_bad_head),
		T(t_bad_next),
		T(t_bad_next_indirect),
		T(t_bad_loop),
		T(t_bad_loop_indirect),
		T(t_bad_chain_too_long),
		T(t_chain_at_limit),
		T(t_bad_indirect_with_next),
		T(t_bad_nested_indirect),
		T(t_bad_indirect_len0),
		T(t_bad_indirect_len_odd),
		T(t_bad_indirect_too_large),
		T(t_bad_indirect_outside),
		T(t_bad_indirect_not_negotiated),
		T(t_bad_readable_after_writable),
		T(t_bad_readable_after_writable_indirect),
		T(t_bad_zero_len),
		T(t_bad_outside_memory),
		T(t_bad_partly_outside_memory),
		T(t_bad_addr_overflow),
		T(t_bad_total_over_u32),
		T(t_bad_inflight),
		T(t_mark_broken),
		cmocka_unit_test(t_iov_helpers),
	};

	vhd_log_set_program("test-virtqueue");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
