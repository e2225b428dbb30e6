/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Unit tests of the packed virtqueue (src/vq/packed.c, virtio 1.2, 2.8):
 * the test plays the driver on a packed ring in a memfd that the device
 * side reaches through a real guest-memory table (two adjacent 1 MiB
 * regions), as test-virtqueue.c does for the split ring.  Good paths
 * (lists, indirect tables, wrap counters, out-of-order completion, held
 * requests given back, the SET/GET_VRING_BASE encoding, both event
 * suppression structures) and the packed twin of each item of the ring
 * validation list (virtqueue.h, docs/architecture.md "Ring walker"): each
 * must break only its queue, stickily, with one err-fd signal.
 */
#include "config.h"

#include <endian.h>
#include <errno.h>
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
#define MEM_SIZE   (2 * MIB)
#define UVA0       0x7f1200000000ull
#define UVA(gpa)   (UVA0 + (gpa))

#define RING_A     0x0000ull
#define RING_B     0x8000ull
#define IND_GPA    0x20000ull
#define DATA_GPA   0x40000ull
#define DATA_STEP  0x1000ull

#define F_INDIRECT (1ull << VIRTIO_RING_F_INDIRECT_DESC)
#define F_EVENT    (1ull << VIRTIO_RING_F_EVENT_IDX)
#define F_EMPTY    (1ull << VIRTIO_F_NOTIFY_ON_EMPTY)
#define F_PACKED   (1ull << VIRTIO_F_RING_PACKED)

#define FRESH      0x80008000u  /* positions 0, both wrap counters 1 */

/* ---- the driver side ---------------------------------------------------- */

struct pdrv {
	uint8_t *g;
	unsigned num;
	uint64_t desc_gpa, drv_gpa, dev_gpa;
	struct vring_packed_desc *desc;
	struct vring_packed_event *drv_ev;  /* driver area: the test writes */
	struct vring_packed_event *dev_ev;  /* device area: the device writes */
	uint16_t next;          /* next slot to fill */
	bool wrap;              /* driver ring wrap counter */
	uint16_t used_next;     /* next slot to look for a used descriptor */
	bool used_wrap;
	uint16_t ndesc[64];     /* per buffer ID: descriptors of its list */
};

static void pdrv_init(struct pdrv *d, uint8_t *g, uint64_t base, unsigned num)
{
	d->g = g;
	d->num = num;
	d->desc_gpa = base;
	d->drv_gpa = base + (uint64_t)16 * num;
	d->dev_gpa = d->drv_gpa + 4;
	memset(g + base, 0, (size_t)16 * num + 8);
	d->desc = (struct vring_packed_desc *)(g + d->desc_gpa);
	d->drv_ev = (struct vring_packed_event *)(g + d->drv_gpa);
	d->dev_ev = (struct vring_packed_event *)(g + d->dev_gpa);
	d->next = 0;
	d->wrap = true;
	d->used_next = 0;
	d->used_wrap = true;
	memset(d->ndesc, 0, sizeof(d->ndesc));
}

static uint16_t avail_bits(bool wrap)
{
	return wrap ? VRING_PACKED_DESC_F_AVAIL : VRING_PACKED_DESC_F_USED;
}

/* Write one descriptor; its flags (with the AVAIL/USED bits for `wrap`)
 * are stored last, with release, when `publish`. */
static void put_pdesc(struct vring_packed_desc *t, unsigned i, uint64_t addr,
		      uint32_t len, uint16_t id, uint16_t flags)
{
	t[i].addr = htole64(addr);
	t[i].len = htole32(len);
	t[i].id = htole16(id);
	__atomic_store_n(&t[i].flags, htole16(flags), __ATOMIC_RELEASE);
}

struct pbuf {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;         /* WRITE / INDIRECT; NEXT added between */
};

/* Make a list of n descriptors available (head last), ID in each. */
static uint16_t pdrv_add(struct pdrv *d, const struct pbuf *b, unsigned n,
			 uint16_t id)
{
	uint16_t head = d->next, pos = d->next;
	bool head_wrap = d->wrap, wrap = d->wrap;

	for (unsigned i = 0; i < n; i++) {
		uint16_t fl = (uint16_t)(b[i].flags | avail_bits(wrap) |
					 (i + 1 < n ? VRING_DESC_F_NEXT : 0));

		if (i > 0)
			put_pdesc(d->desc, pos, b[i].addr, b[i].len, id, fl);
		if (++pos == d->num) {
			pos = 0;
			wrap = !wrap;
		}
	}
	/* The head last (2.8.6: the device never sees a partial list). */
	d->desc[head].addr = htole64(b[0].addr);
	d->desc[head].len = htole32(b[0].len);
	d->desc[head].id = htole16(id);
	__atomic_store_n(&d->desc[head].flags,
			 htole16((uint16_t)(b[0].flags | avail_bits(head_wrap) |
					    (n > 1 ? VRING_DESC_F_NEXT : 0))),
			 __ATOMIC_RELEASE);
	d->next = pos;
	d->wrap = wrap;
	if (id < 64)
		d->ndesc[id] = (uint16_t)n;
	return head;
}

static uint16_t pdrv_add1(struct pdrv *d, uint64_t addr, uint32_t len,
			  uint16_t flags, uint16_t id)
{
	struct pbuf b = { addr, len, flags };

	return pdrv_add(d, &b, 1, id);
}

/* The next used descriptor: 1 and its ID and length, 0 if none yet. */
static int pdrv_get_used(struct pdrv *d, uint16_t *id, uint32_t *len)
{
	struct vring_packed_desc *u = &d->desc[d->used_next];
	uint16_t fl = le16toh(__atomic_load_n(&u->flags, __ATOMIC_ACQUIRE));
	bool a = fl & VRING_PACKED_DESC_F_AVAIL, us = fl & VRING_PACKED_DESC_F_USED;
	unsigned n;

	if (a != us || us != d->used_wrap)
		return 0;
	*id = le16toh(u->id);
	*len = le32toh(u->len);
	assert_true(*id < 64 && d->ndesc[*id]);
	n = d->used_next + d->ndesc[*id];
	if (n >= d->num) {
		n -= d->num;
		d->used_wrap = !d->used_wrap;
	}
	d->used_next = (uint16_t)n;
	return 1;
}

static void expect_used(struct pdrv *d, uint16_t id, uint32_t len)
{
	uint16_t i = 0xffff;
	uint32_t l = 0;

	assert_int_equal(pdrv_get_used(d, &i, &l), 1);
	assert_int_equal(i, id);
	assert_int_equal(l, len);
}

static void expect_no_used(struct pdrv *d)
{
	uint16_t i;
	uint32_t l;

	assert_int_equal(pdrv_get_used(d, &i, &l), 0);
}

static void set_driver_event(struct pdrv *d, uint16_t flags, uint16_t off,
			     bool wrap)
{
	d->drv_ev->off_wrap = htole16((uint16_t)(off | (wrap ? VRING_PACKED_EVENT_WRAP : 0)));
	d->drv_ev->flags = htole16(flags);
}

static uint16_t dev_event_flags(const struct pdrv *d)
{
	return le16toh(d->dev_ev->flags);
}

static uint16_t dev_event_off_wrap(const struct pdrv *d)
{
	return le16toh(d->dev_ev->off_wrap);
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
	struct pdrv a, b;
	struct virtqueue qa, qb;
	uint64_t features_a;
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

static void q_attach(struct fx *f, struct virtqueue *q, struct pdrv *d)
{
	assert_int_equal(vq_set_addr(q, UVA(d->desc_gpa), UVA(d->drv_gpa),
				     UVA(d->dev_gpa)), 0);
	assert_int_equal(vq_attach_mem(q, f->t), 0);
	assert_true(vq_ready(q));
}

static void q_setup(struct fx *f, struct virtqueue *q, struct pdrv *d,
		    unsigned index, const char *name, uint64_t features)
{
	vq_init(q, index, name);
	vq_set_features(q, features | F_PACKED);
	assert_int_equal(vq_set_num(q, d->num, VQ_MAX_SIZE), 0);
	vq_set_base(q, FRESH);
	q_attach(f, q, d);
	vq_set_call_fd(q, new_efd());
	vq_set_err_fd(q, new_efd());
}

static void fx_requeue_a(struct fx *f, unsigned num, uint64_t features)
{
	vq_destroy(&f->qa);
	pdrv_init(&f->a, f->g, RING_A, num);
	f->features_a = features;
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
	f->memfd = memfd_create("test-virtqueue-packed", MFD_CLOEXEC);
	assert_true(f->memfd >= 0);
	assert_int_equal(ftruncate(f->memfd, MEM_SIZE), 0);
	f->g = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		    f->memfd, 0);
	assert_true(f->g != MAP_FAILED);
	fds[0] = dup(f->memfd);
	fds[1] = dup(f->memfd);
	assert_int_equal(gm_table_set(NULL, r, fds, 2, &f->t), 0);

	pdrv_init(&f->a, f->g, RING_A, 8);
	pdrv_init(&f->b, f->g, RING_B, 8);
	f->features_a = F_INDIRECT;
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

static struct vq_elem *pop_ok(struct virtqueue *q)
{
	struct vq_elem *e = NULL;

	assert_int_equal(vq_pop(q, &e), 0);
	assert_non_null(e);
	return e;
}

/* ---- control side ------------------------------------------------------- */

static void t_set_num_any_size(void **state)
{
	struct fx *f = *state;

	/* 2.8: the queue size need not be a power of two. */
	fx_requeue_a(f, 6, F_INDIRECT);
	assert_int_equal(f->qa.num, 6);
	for (unsigned k = 0; k < 10; k++) {
		struct pbuf b[2] = { { data_gpa(0), 8, 0 },
				     { data_gpa(1), 8, VRING_DESC_F_WRITE } };
		struct vq_elem *e;

		pdrv_add(&f->a, b, 2, (uint16_t)k);
		e = pop_ok(&f->qa);
		assert_int_equal(e->head, k);
		vq_push(&f->qa, e, 4);
		expect_used(&f->a, (uint16_t)k, 4);
	}
	/* 20 descriptors on a ring of 6: position 2, wrap counters flipped
	 * three times (1 -> 0). */
	assert_int_equal(vq_get_base(&f->qa), 2u | 2u << 16);
	assert_int_equal(vq_set_num(&f->qa, 0, VQ_MAX_SIZE), -EINVAL);
	assert_int_equal(vq_set_num(&f->qa, 32769, VQ_MAX_SIZE), -EINVAL);
}

static void t_set_addr_alignment(void **state)
{
	struct fx *f = *state;

	/* Event structures are 4-aligned (2.8.10.1); the split avail ring
	 * only 2. */
	assert_int_equal(vq_set_addr(&f->qa, UVA(0), UVA(0x102), UVA(0x108)), -EINVAL);
	assert_int_equal(vq_set_addr(&f->qa, UVA(0), UVA(0x104), UVA(0x10a)), -EINVAL);
	assert_int_equal(vq_set_addr(&f->qa, UVA(8), UVA(0x104), UVA(0x108)), -EINVAL);
	assert_int_equal(vq_set_addr(&f->qa, UVA(0), UVA(0x104), UVA(0x108)), 0);
}

static void t_base_encoding(void **state)
{
	struct fx *f = *state;
	struct virtqueue q;

	/* Fresh: positions 0, wrap counters 1, even without SET_VRING_BASE. */
	vq_init(&q, 0, "test q");
	vq_set_features(&q, F_PACKED);
	assert_int_equal(vq_get_base(&q), FRESH);
	vq_set_base(&q, 5u | 0u << 15 | 3u << 16 | 1u << 31);
	assert_int_equal(q.last_avail_idx, 5);
	assert_false(q.avail_wrap);
	assert_int_equal(q.used_idx, 3);
	assert_true(q.used_wrap);
	assert_int_equal(vq_get_base(&q), 5u | 3u << 16 | 1u << 31);
	/* The base is decoded for the format negotiated: a split ring
	 * reads bits 0-15 of the same value. */
	vq_set_features(&q, 0);
	assert_int_equal(vq_get_base(&q), 5);
	vq_set_features(&q, F_PACKED);
	assert_int_equal(vq_get_base(&q), 5u | 3u << 16 | 1u << 31);
	vq_destroy(&q);
	(void)f;
}

/* A ring translated for one format is not used for the other. */
static void t_format_change_drops_rings(void **state)
{
	struct fx *f = *state;

	assert_true(vq_ready(&f->qa));
	vq_set_features(&f->qa, F_INDIRECT);
	assert_false(vq_ready(&f->qa));
	vq_set_features(&f->qa, F_INDIRECT | F_PACKED);
	assert_false(vq_ready(&f->qa));
	q_attach(f, &f->qa, &f->a);
	/* A size only a packed ring may have is forgotten for split. */
	fx_requeue_a(f, 6, F_INDIRECT);
	vq_set_features(&f->qa, F_INDIRECT);
	assert_int_equal(f->qa.num, 0);
	assert_int_equal(vq_attach_mem(&f->qa, f->t), -EINVAL);
}

/* ---- good paths --------------------------------------------------------- */

static void t_empty(void **state)
{
	struct fx *f = *state;
	struct vq_elem *e = (struct vq_elem *)&e;

	assert_int_equal(vq_pop(&f->qa, &e), -EAGAIN);
	assert_null(e);
	/* A used-looking or zeroed descriptor is not available. */
	put_pdesc(f->a.desc, 0, data_gpa(0), 16, 0,
		  VRING_PACKED_DESC_F_AVAIL | VRING_PACKED_DESC_F_USED);
	assert_int_equal(vq_pop(&f->qa, &e), -EAGAIN);
}

static void t_single_buffer(void **state)
{
	struct fx *f = *state;
	struct vq_elem *e, *none;

	pdrv_add1(&f->a, data_gpa(0), 64, VRING_DESC_F_WRITE, 17);
	e = pop_ok(&f->qa);
	assert_int_equal(e->head, 17);
	assert_int_equal(e->n_rd, 0);
	assert_int_equal(e->n_wr, 1);
	assert_int_equal(e->wr_len, 64);
	memset(e->wr[0].iov_base, 0x5a, 64);
	assert_int_equal(f->g[data_gpa(0) + 63], 0x5a);
	assert_int_equal(vq_pop(&f->qa, &none), -EAGAIN);
	vq_push(&f->qa, e, 100);        /* clamped to 64 */
	expect_used(&f->a, 17, 64);
	/* Used: AVAIL and USED equal the device wrap counter (1), and
	 * WRITE since bytes were written (2.8.3). */
	assert_int_equal(le16toh(f->a.desc[0].flags),
			 VRING_PACKED_DESC_F_AVAIL | VRING_PACKED_DESC_F_USED |
			 VRING_DESC_F_WRITE);
	assert_int_equal(vq_get_base(&f->qa), 1u | 1u << 15 | 1u << 16 | 1u << 31);
}

static void t_chain(void **state)
{
	struct fx *f = *state;
	struct pbuf b[3] = {
		{ data_gpa(0), 16, 0 },
		{ data_gpa(1), 32, 0 },
		{ data_gpa(2), 8, VRING_DESC_F_WRITE },
	};
	uint8_t buf[48], expect[48];
	struct vq_elem *e;

	fill_pattern(f->g + data_gpa(0), 16, 1);
	fill_pattern(f->g + data_gpa(1), 32, 2);
	/* The ID counts in the last descriptor (2.8.6): give the others
	 * another one. */
	pdrv_add(&f->a, b, 3, 5);
	f->a.desc[0].id = htole16(40);
	e = pop_ok(&f->qa);
	assert_int_equal(e->head, 5);
	assert_int_equal(e->n_rd, 2);
	assert_int_equal(e->n_wr, 1);
	assert_int_equal(e->rd_len, 48);
	assert_int_equal(e->wr_len, 8);
	memcpy(expect, f->g + data_gpa(0), 16);
	memcpy(expect + 16, f->g + data_gpa(1), 32);
	assert_int_equal(iov_to_buf(e->rd, e->n_rd, 0, buf, sizeof(buf)), 48);
	assert_memory_equal(buf, expect, 48);
	assert_int_equal(f->qa.last_avail_idx, 3);
	vq_push(&f->qa, e, 0);
	expect_used(&f->a, 5, 0);
	/* No WRITE flag on a used descriptor with nothing written. */
	assert_false(le16toh(f->a.desc[0].flags) & VRING_DESC_F_WRITE);
	assert_int_equal(f->qa.used_idx, 3);    /* skipped the whole list */
}

static void t_indirect(void **state)
{
	struct fx *f = *state;
	struct vring_packed_desc *t = (struct vring_packed_desc *)(f->g + IND_GPA);
	struct vq_elem *e;

	/* In a table only WRITE counts: NEXT, INDIRECT and the ID are
	 * ignored (2.8.7), so entries are taken in table order. */
	put_pdesc(t, 0, data_gpa(0), 16, 99, VRING_DESC_F_NEXT);
	put_pdesc(t, 1, data_gpa(1), 24, 0, VRING_DESC_F_INDIRECT);
	put_pdesc(t, 2, data_gpa(2), 8, 0, VRING_DESC_F_WRITE);
	/* WRITE on the descriptor naming the table is ignored. */
	pdrv_add1(&f->a, IND_GPA, 3 * 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_WRITE, 3);
	e = pop_ok(&f->qa);
	assert_int_equal(e->head, 3);
	assert_int_equal(e->n_rd, 2);
	assert_int_equal(e->n_wr, 1);
	assert_int_equal(e->rd_len, 40);
	assert_int_equal(e->wr_len, 8);
	assert_int_equal(f->qa.last_avail_idx, 1);  /* one ring slot */
	vq_push(&f->qa, e, 8);
	expect_used(&f->a, 3, 8);
}

static void t_span_regions(void **state)
{
	struct fx *f = *state;
	struct vq_elem *e;

	pdrv_add1(&f->a, MIB - 16, 48, VRING_DESC_F_WRITE, 0);
	e = pop_ok(&f->qa);
	assert_int_equal(e->n_wr, 2);
	assert_int_equal(e->wr[0].iov_len, 16);
	assert_int_equal(e->wr[1].iov_len, 32);
	vq_push(&f->qa, e, 48);
	expect_used(&f->a, 0, 48);
}

/* Lists that cross the end of the ring, both wrap counters flipping,
 * many laps. */
static void t_wrap(void **state)
{
	struct fx *f = *state;

	fx_requeue_a(f, 4, F_INDIRECT);
	for (unsigned k = 0; k < 20; k++) {
		struct pbuf b[3] = {
			{ data_gpa(0), 16, 0 },
			{ data_gpa(1), 16, VRING_DESC_F_WRITE },
			{ data_gpa(2), 16, VRING_DESC_F_WRITE },
		};
		struct vq_elem *e, *none;

		pdrv_add(&f->a, b, 3, (uint16_t)(k % 8));
		e = pop_ok(&f->qa);
		assert_int_equal(e->head, k % 8);
		assert_int_equal(e->n_rd, 1);
		assert_int_equal(e->n_wr, 2);
		assert_int_equal(vq_pop(&f->qa, &none), -EAGAIN);
		vq_push(&f->qa, e, 32);
		expect_used(&f->a, (uint16_t)(k % 8), 32);
		expect_no_used(&f->a);
	}
	/* 60 descriptors on a ring of 4: position 0, 15 laps: wrap 0. */
	assert_int_equal(vq_get_base(&f->qa), 0);
}

/* Held requests completed out of order: used descriptors are written in
 * completion order, each skipping its own list's length (2.8.6). */
static void t_out_of_order(void **state)
{
	struct fx *f = *state;
	struct pbuf two[2] = { { data_gpa(0), 8, 0 }, { data_gpa(1), 8, VRING_DESC_F_WRITE } };
	struct vq_elem *e[3];

	pdrv_add(&f->a, two, 2, 10);                         /* slots 0-1 */
	pdrv_add1(&f->a, data_gpa(2), 8, VRING_DESC_F_WRITE, 11); /* slot 2 */
	pdrv_add(&f->a, two, 2, 12);                         /* slots 3-4 */
	for (unsigned i = 0; i < 3; i++)
		e[i] = pop_ok(&f->qa);
	assert_int_equal(f->qa.inflight, 3);
	assert_int_equal(f->qa.inflight_descs, 5);
	vq_push(&f->qa, e[2], 1);
	vq_push(&f->qa, e[0], 2);
	vq_push(&f->qa, e[1], 3);
	assert_int_equal(f->qa.inflight_descs, 0);
	/* The driver walks the used descriptors by the ID's list length. */
	expect_used(&f->a, 12, 1);
	expect_used(&f->a, 10, 2);
	expect_used(&f->a, 11, 3);
	expect_no_used(&f->a);
	assert_int_equal(f->qa.used_idx, 5);
	/* Pushing one twice publishes nothing. */
	vq_push(&f->qa, e[1], 3);
	expect_no_used(&f->a);
}

/* Given back: the ring position and wrap counter rewind. */
static void t_unpop_across_wrap(void **state)
{
	struct fx *f = *state;
	struct pbuf three[3] = { { data_gpa(0), 8, 0 }, { data_gpa(1), 8, 0 },
				 { data_gpa(2), 8, VRING_DESC_F_WRITE } };
	struct vq_elem *e;

	/* Move to slot 6, then a list over the end of the ring. */
	for (unsigned k = 0; k < 3; k++) {
		pdrv_add(&f->a, three, 2, (uint16_t)k);
		e = pop_ok(&f->qa);
		vq_push(&f->qa, e, 0);
		expect_used(&f->a, (uint16_t)k, 0);
	}
	pdrv_add(&f->a, three, 3, 7);
	e = pop_ok(&f->qa);
	assert_int_equal(f->qa.last_avail_idx, 1);
	assert_false(f->qa.avail_wrap);
	vq_unpop(&f->qa, e);
	assert_int_equal(f->qa.last_avail_idx, 6);
	assert_true(f->qa.avail_wrap);
	assert_int_equal(f->qa.inflight_descs, 0);
	e = pop_ok(&f->qa);
	assert_int_equal(e->head, 7);
	vq_push(&f->qa, e, 8);
	expect_used(&f->a, 7, 8);
	assert_int_equal(vq_get_base(&f->qa), 1u | 1u << 16);
}

static uint32_t cancel_write(struct vq_elem *e, bool give_back, void *opaque)
{
	(void)opaque;
	return give_back ? 0 : e->wr_len;
}

/* A stop: the suffix after the last push is given back, the rest is
 * completed; used then meets avail, so the base lets a restarted ring
 * go on without losing or repeating a request. */
static void t_release_held(void **state)
{
	struct fx *f = *state;
	struct pbuf two[2] = { { data_gpa(0), 8, 0 }, { data_gpa(1), 8, VRING_DESC_F_WRITE } };
	struct vq_elem *e[4];
	unsigned back = 99, done;

	for (unsigned i = 0; i < 4; i++)
		pdrv_add(&f->a, two, 2, (uint16_t)i);   /* fills the ring */
	for (unsigned i = 0; i < 4; i++)
		e[i] = pop_ok(&f->qa);
	assert_int_equal(f->qa.inflight_descs, 8);
	vq_push(&f->qa, e[1], 0);
	done = vq_release_held(&f->qa, cancel_write, NULL, &back);
	assert_int_equal(done, 1);              /* e[0] */
	assert_int_equal(back, 2);              /* e[3], e[2] */
	expect_used(&f->a, 1, 0);
	expect_used(&f->a, 0, 8);
	expect_no_used(&f->a);
	/* Avail rewound to slot 4 (wrap 1), used at slot 4 (wrap 1). */
	assert_int_equal(vq_get_base(&f->qa), 4u | 1u << 15 | 4u << 16 | 1u << 31);
	/* Restart from that base: the given-back lists come again. */
	vq_reset(&f->qa);
	vq_set_base(&f->qa, 4u | 1u << 15 | 4u << 16 | 1u << 31);
	q_attach(f, &f->qa, &f->a);
	e[2] = pop_ok(&f->qa);
	e[3] = pop_ok(&f->qa);
	assert_int_equal(e[2]->head, 2);
	assert_int_equal(e[3]->head, 3);
	vq_push(&f->qa, e[3], 0);
	vq_push(&f->qa, e[2], 0);
	expect_used(&f->a, 3, 0);
	expect_used(&f->a, 2, 0);
	assert_int_equal(vq_get_base(&f->qa), 0u | 0u << 15 | 0u << 16 | 0u << 31);
}

/* ---- notification suppression ----------------------------------------- */

static void t_driver_event_flags(void **state)
{
	struct fx *f = *state;
	struct vq_elem *e;

	/* ENABLE (0): a call per batch. */
	pdrv_add1(&f->a, data_gpa(0), 8, 0, 0);
	vq_push(&f->qa, pop_ok(&f->qa), 0);
	vq_notify(&f->qa);
	assert_int_equal(efd_take(f->qa.call_fd), 1);
	vq_notify(&f->qa);                      /* nothing new */
	assert_int_equal(efd_take(f->qa.call_fd), 0);
	/* DISABLE. */
	set_driver_event(&f->a, VRING_PACKED_EVENT_F_DISABLE, 0, false);
	pdrv_add1(&f->a, data_gpa(0), 8, 0, 1);
	vq_push(&f->qa, pop_ok(&f->qa), 0);
	vq_notify(&f->qa);
	assert_int_equal(efd_take(f->qa.call_fd), 0);
	/* DESC without EVENT_IDX negotiated: treated as ENABLE. */
	set_driver_event(&f->a, VRING_PACKED_EVENT_F_DESC, 7, false);
	pdrv_add1(&f->a, data_gpa(0), 8, 0, 2);
	e = pop_ok(&f->qa);
	vq_push(&f->qa, e, 0);
	vq_notify(&f->qa);
	assert_int_equal(efd_take(f->qa.call_fd), 1);
}

/* EVENT_IDX: a call only when the used position passes off_wrap, also
 * across the end of the ring. */
static void t_driver_event_idx(void **state)
{
	struct fx *f = *state;

	fx_requeue_a(f, 8, F_EVENT);
	/* First decision always calls (nothing signalled yet). */
	pdrv_add1(&f->a, data_gpa(0), 8, 0, 0);
	vq_push(&f->qa, pop_ok(&f->qa), 0);
	vq_notify(&f->qa);
	assert_int_equal(efd_take(f->qa.call_fd), 1);
	/* Event at slot 3 (wrap 1): used moves 1 -> 2, no call; 2 -> 4, call. */
	set_driver_event(&f->a, VRING_PACKED_EVENT_F_DESC, 3, true);
	pdrv_add1(&f->a, data_gpa(0), 8, 0, 1);
	vq_push(&f->qa, pop_ok(&f->qa), 0);
	vq_notify(&f->qa);
	assert_int_equal(efd_take(f->qa.call_fd), 0);
	for (unsigned i = 0; i < 2; i++) {
		pdrv_add1(&f->a, data_gpa(0), 8, 0, (uint16_t)(2 + i));
		vq_push(&f->qa, pop_ok(&f->qa), 0);
	}
	vq_notify(&f->qa);
	assert_int_equal(efd_take(f->qa.call_fd), 1);
	/* Event at slot 0 of the next lap (wrap 0): used moves 4 -> 7 (no),
	 * then 7 -> 1 across the end, using slots 7 and 0 (wrap now 0): call. */
	set_driver_event(&f->a, VRING_PACKED_EVENT_F_DESC, 0, false);
	for (unsigned i = 0; i < 3; i++) {
		pdrv_add1(&f->a, data_gpa(0), 8, 0, (uint16_t)(4 + i));
		vq_push(&f->qa, pop_ok(&f->qa), 0);
	}
	vq_notify(&f->qa);
	assert_int_equal(efd_take(f->qa.call_fd), 0);
	for (unsigned i = 0; i < 2; i++) {
		pdrv_add1(&f->a, data_gpa(0), 8, 0, (uint16_t)(7 + i));
		vq_push(&f->qa, pop_ok(&f->qa), 0);
	}
	assert_int_equal(f->qa.used_idx, 1);
	assert_false(f->qa.used_wrap);
	vq_notify(&f->qa);
	assert_int_equal(efd_take(f->qa.call_fd), 1);
	/* The same event, now behind: no call. */
	set_driver_event(&f->a, VRING_PACKED_EVENT_F_DESC, 0, false);
	pdrv_add1(&f->a, data_gpa(0), 8, 0, 9);
	vq_push(&f->qa, pop_ok(&f->qa), 0);
	vq_notify(&f->qa);
	assert_int_equal(efd_take(f->qa.call_fd), 0);
}

static void t_need_event_math(void **state)
{
	(void)state;
	/* num 8; event slot 3 wrap 1; used went 1 -> 4 in the same lap. */
	assert_true(vring_packed_need_event(3 | VRING_PACKED_EVENT_WRAP, true, 4, 1, 8));
	assert_false(vring_packed_need_event(3 | VRING_PACKED_EVENT_WRAP, true, 3, 1, 8));
	/* 6 -> 2 across the end (wrap now 0): event slot 0 wrap 0 passed,
	 * event slot 7 wrap 1 (previous lap) passed, slot 2 wrap 0 not. */
	assert_true(vring_packed_need_event(0, false, 2, 6, 8));
	assert_true(vring_packed_need_event(7 | VRING_PACKED_EVENT_WRAP, false, 2, 6, 8));
	assert_false(vring_packed_need_event(2, false, 2, 6, 8));
	assert_false(vring_packed_need_event(5 | VRING_PACKED_EVENT_WRAP, false, 2, 6, 8));
}

static void t_notify_on_empty(void **state)
{
	struct fx *f = *state;

	fx_requeue_a(f, 8, F_EMPTY);
	set_driver_event(&f->a, VRING_PACKED_EVENT_F_DISABLE, 0, false);
	pdrv_add1(&f->a, data_gpa(0), 8, 0, 0);
	pdrv_add1(&f->a, data_gpa(0), 8, 0, 1);
	vq_push(&f->qa, pop_ok(&f->qa), 0);
	vq_notify(&f->qa);                      /* one still available */
	assert_int_equal(efd_take(f->qa.call_fd), 0);
	vq_push(&f->qa, pop_ok(&f->qa), 0);
	vq_notify(&f->qa);                      /* ran out: call anyway */
	assert_int_equal(efd_take(f->qa.call_fd), 1);
}

/* The device area: our wish for kicks. */
static void t_device_event(void **state)
{
	struct fx *f = *state;
	struct vq_elem *e;

	vq_disable_notify(&f->qa);
	assert_int_equal(dev_event_flags(&f->a), VRING_PACKED_EVENT_F_DISABLE);
	assert_false(vq_enable_notify(&f->qa));
	assert_int_equal(dev_event_flags(&f->a), VRING_PACKED_EVENT_F_ENABLE);
	/* Buffers that came while kicks were off are reported. */
	vq_disable_notify(&f->qa);
	pdrv_add1(&f->a, data_gpa(0), 8, 0, 0);
	assert_true(vq_enable_notify(&f->qa));
	e = pop_ok(&f->qa);
	vq_push(&f->qa, e, 0);

	/* EVENT_IDX: DESC with the next position to read, following pops
	 * while kicks are on, across the end of the ring. */
	fx_requeue_a(f, 4, F_EVENT);
	assert_false(vq_enable_notify(&f->qa));
	assert_int_equal(dev_event_flags(&f->a), VRING_PACKED_EVENT_F_DESC);
	assert_int_equal(dev_event_off_wrap(&f->a), 0 | VRING_PACKED_EVENT_WRAP);
	for (unsigned i = 0; i < 5; i++) {
		pdrv_add1(&f->a, data_gpa(0), 8, 0, (uint16_t)i);
		e = pop_ok(&f->qa);
		vq_push(&f->qa, e, 0);
	}
	assert_int_equal(dev_event_off_wrap(&f->a), 1);   /* slot 1, wrap 0 */
	vq_disable_notify(&f->qa);
	assert_int_equal(dev_event_flags(&f->a), VRING_PACKED_EVENT_F_DISABLE);
	pdrv_add1(&f->a, data_gpa(0), 8, 0, 5);
	assert_true(vq_enable_notify(&f->qa));
	assert_int_equal(dev_event_flags(&f->a), VRING_PACKED_EVENT_F_DESC);
	assert_int_equal(dev_event_off_wrap(&f->a), 1);
}

/* ---- validation list (virtqueue.h): the packed twin of each item ------ */

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

/* After a violation on queue A: -EIO for the expected reason, sticky,
 * one err signal, nothing consumed or used, queue B unaffected, and a new
 * set-up recovers A. */
static void expect_broken(struct fx *f, const char *why)
{
	struct vq_elem *e = (struct vq_elem *)&e;
	uint32_t base = vq_get_base(&f->qa);
	char log[1024];

	assert_int_equal(pop_logged(&f->qa, &e, log, sizeof(log)), -EIO);
	assert_null(e);
	if (why && !strstr(log, why))
		fail_msg("expected \"%s\" in the log, got: %s", why, log);
	assert_true(vq_broken(&f->qa));
	assert_int_equal(efd_take(f->qa.err_fd), 1);
	assert_int_equal(vq_get_base(&f->qa), base);

	/* Sticky, even for a good descriptor; no second signal. */
	pdrv_init(&f->a, f->g, RING_A, f->a.num);
	pdrv_add1(&f->a, data_gpa(0), 8, 0, 0);
	assert_int_equal(vq_pop(&f->qa, &e), -EIO);
	assert_false(vq_enable_notify(&f->qa));
	assert_int_equal(efd_take(f->qa.err_fd), 0);

	/* The other queue goes on. */
	pdrv_add1(&f->b, data_gpa(9), 32, VRING_DESC_F_WRITE, 2);
	e = pop_ok(&f->qb);
	assert_int_equal(e->head, 2);
	vq_push(&f->qb, e, 32);
	expect_used(&f->b, 2, 32);
	assert_false(vq_broken(&f->qb));

	/* Set up again: usable. */
	vq_reset(&f->qa);
	assert_false(vq_broken(&f->qa));
	vq_set_base(&f->qa, FRESH);
	q_attach(f, &f->qa, &f->a);
	e = pop_ok(&f->qa);
	assert_int_equal(e->head, 0);
	vq_push(&f->qa, e, 0);
	expect_used(&f->a, 0, 0);
	assert_int_equal(efd_take(f->qa.err_fd), 0);
}

/* 1. (split: avail idx jump / head out of range) Ring state from
 * SET_VRING_BASE outside the ring. */
static void t_bad_avail_pos(void **state)
{
	struct fx *f = *state;

	vq_set_base(&f->qa, 8u | 1u << 15 | 0u << 16 | 1u << 31);   /* num 8 */
	expect_broken(f, "outside the ring of 8");
}

static void t_bad_used_pos(void **state)
{
	struct fx *f = *state;

	pdrv_add1(&f->a, data_gpa(0), 8, 0, 0);
	vq_set_base(&f->qa, 0u | 1u << 15 | 0x7fffu << 16 | 1u << 31);
	expect_broken(f, "next used 32767");
}

/* 2. (split: loop) A list whose NEXT runs all the way round the ring. */
static void t_bad_loop(void **state)
{
	struct fx *f = *state;

	for (unsigned i = 0; i < 8; i++)
		put_pdesc(f->a.desc, i, data_gpa(i), 16, 0,
			  (uint16_t)(VRING_DESC_F_NEXT | avail_bits(true)));
	expect_broken(f, "list runs over 8 descriptors");
}

/* The limit itself: a list of all 8 descriptors of an empty ring is
 * accepted (and crosses the end of the ring from slot 3). */
static void t_list_at_limit(void **state)
{
	struct fx *f = *state;
	struct pbuf b[8];
	struct vq_elem *e;

	for (unsigned k = 0; k < 3; k++) {
		pdrv_add1(&f->a, data_gpa(k), 8, 0, (uint16_t)k);
		vq_push(&f->qa, pop_ok(&f->qa), 0);
		expect_used(&f->a, (uint16_t)k, 0);
	}
	for (unsigned i = 0; i < 8; i++)
		b[i] = (struct pbuf){ data_gpa(i), 8, i < 4 ? 0 : VRING_DESC_F_WRITE };
	pdrv_add(&f->a, b, 8, 9);
	e = pop_ok(&f->qa);
	assert_int_equal(e->head, 9);
	assert_int_equal(e->n_rd, 4);
	assert_int_equal(e->n_wr, 4);
	assert_int_equal(f->qa.inflight_descs, 8);
	vq_push(&f->qa, e, 32);
	expect_used(&f->a, 9, 32);
	assert_false(vq_broken(&f->qa));
}

/* 3. (split: too many in flight) A list longer than the free part of the
 * ring: the driver reused descriptors we still hold. */
static void t_bad_list_over_inflight(void **state)
{
	struct fx *f = *state;
	struct pbuf two[2] = { { data_gpa(0), 8, 0 }, { data_gpa(1), 8, 0 } };
	struct vq_elem *e[3];

	for (unsigned i = 0; i < 3; i++) {
		pdrv_add(&f->a, two, 2, (uint16_t)i);
		e[i] = pop_ok(&f->qa);
	}
	/* Slots 6, 7 and (wrapping) 0, still in flight. */
	put_pdesc(f->a.desc, 7, data_gpa(7), 8, 0,
		  (uint16_t)(VRING_DESC_F_NEXT | avail_bits(true)));
	put_pdesc(f->a.desc, 0, data_gpa(0), 8, 0,
		  (uint16_t)(VRING_DESC_F_NEXT | avail_bits(false)));
	put_pdesc(f->a.desc, 6, data_gpa(6), 8, 0,
		  (uint16_t)(VRING_DESC_F_NEXT | avail_bits(true)));
	expect_broken(f, "besides the 6 in flight");
	for (unsigned i = 0; i < 3; i++)
		vq_push(&f->qa, e[i], 0);       /* stale: dropped, safe */
}

static void t_bad_all_in_flight(void **state)
{
	struct fx *f = *state;
	struct vq_elem *e[8];

	for (unsigned i = 0; i < 8; i++) {
		pdrv_add1(&f->a, data_gpa(i), 8, 0, (uint16_t)i);
		e[i] = pop_ok(&f->qa);
	}
	/* The driver makes slot 0 available again (next lap) although we
	 * have not used it. */
	pdrv_add1(&f->a, data_gpa(0), 8, 0, 0);
	expect_broken(f, "while all 8 descriptors are in flight");
	for (unsigned i = 0; i < 8; i++)
		vq_push(&f->qa, e[i], 0);
}

/* 4. Indirect rules. */
static void t_bad_indirect_with_next(void **state)
{
	struct fx *f = *state;
	struct pbuf b[2] = { { IND_GPA, 32, VRING_DESC_F_INDIRECT }, { data_gpa(0), 8, 0 } };

	pdrv_add(&f->a, b, 2, 0);
	expect_broken(f, "both INDIRECT and NEXT");
}

static void t_bad_indirect_after_chain(void **state)
{
	struct fx *f = *state;
	struct pbuf b[2] = { { data_gpa(0), 8, 0 }, { IND_GPA, 32, VRING_DESC_F_INDIRECT } };
	struct vring_packed_desc *t = (struct vring_packed_desc *)(f->g + IND_GPA);

	put_pdesc(t, 0, data_gpa(1), 8, 0, 0);
	put_pdesc(t, 1, data_gpa(2), 8, 0, 0);
	pdrv_add(&f->a, b, 2, 0);
	expect_broken(f, "INDIRECT after chained descriptors");
}

static void t_bad_indirect_len0(void **state)
{
	struct fx *f = *state;

	pdrv_add1(&f->a, IND_GPA, 0, VRING_DESC_F_INDIRECT, 0);
	expect_broken(f, "indirect table length 0");
}

static void t_bad_indirect_len_odd(void **state)
{
	struct fx *f = *state;

	pdrv_add1(&f->a, IND_GPA, 24, VRING_DESC_F_INDIRECT, 0);
	expect_broken(f, "indirect table length 24");
}

static void t_bad_indirect_too_large(void **state)
{
	struct fx *f = *state;

	pdrv_add1(&f->a, IND_GPA, (f->qa.chain_cap + 1) * 16, VRING_DESC_F_INDIRECT, 0);
	expect_broken(f, "exceeds the limit");
}

static void t_bad_indirect_outside(void **state)
{
	struct fx *f = *state;

	pdrv_add1(&f->a, MEM_SIZE - 16, 32, VRING_DESC_F_INDIRECT, 0);
	expect_broken(f, "is outside guest memory");
}

static void t_bad_indirect_not_negotiated(void **state)
{
	struct fx *f = *state;
	struct vring_packed_desc *t = (struct vring_packed_desc *)(f->g + IND_GPA);

	fx_requeue_a(f, 8, 0);
	put_pdesc(t, 0, data_gpa(1), 8, 0, 0);
	pdrv_add1(&f->a, IND_GPA, 16, VRING_DESC_F_INDIRECT, 0);
	expect_broken(f, "INDIRECT_DESC was not negotiated");
}

/* 5. Buffers. */
static void t_bad_readable_after_writable(void **state)
{
	struct fx *f = *state;
	struct pbuf b[2] = { { data_gpa(0), 8, VRING_DESC_F_WRITE }, { data_gpa(1), 8, 0 } };

	pdrv_add(&f->a, b, 2, 0);
	expect_broken(f, "device-readable after a device-writable");
}

static void t_bad_readable_after_writable_indirect(void **state)
{
	struct fx *f = *state;
	struct vring_packed_desc *t = (struct vring_packed_desc *)(f->g + IND_GPA);

	put_pdesc(t, 0, data_gpa(0), 8, 0, VRING_DESC_F_WRITE);
	put_pdesc(t, 1, data_gpa(1), 8, 0, 0);
	pdrv_add1(&f->a, IND_GPA, 32, VRING_DESC_F_INDIRECT, 0);
	expect_broken(f, "indirect descriptor 1 is device-readable after");
}

static void t_bad_zero_len(void **state)
{
	struct fx *f = *state;

	pdrv_add1(&f->a, data_gpa(0), 0, 0, 0);
	expect_broken(f, "zero-length buffer");
}

static void t_bad_zero_len_indirect(void **state)
{
	struct fx *f = *state;
	struct vring_packed_desc *t = (struct vring_packed_desc *)(f->g + IND_GPA);

	put_pdesc(t, 0, data_gpa(0), 8, 0, 0);
	put_pdesc(t, 1, data_gpa(1), 0, 0, 0);
	pdrv_add1(&f->a, IND_GPA, 32, VRING_DESC_F_INDIRECT, 0);
	expect_broken(f, "indirect descriptor 1 has a zero-length buffer");
}

static void t_bad_outside_memory(void **state)
{
	struct fx *f = *state;

	pdrv_add1(&f->a, MEM_SIZE + 0x1000, 16, 0, 0);
	expect_broken(f, "outside guest memory");
}

static void t_bad_partly_outside_memory(void **state)
{
	struct fx *f = *state;

	pdrv_add1(&f->a, MEM_SIZE - 8, 16, VRING_DESC_F_WRITE, 0);
	expect_broken(f, "outside guest memory");
}

static void t_bad_addr_overflow(void **state)
{
	struct fx *f = *state;

	pdrv_add1(&f->a, UINT64_MAX - 7, 16, 0, 0);
	expect_broken(f, "overflows");
}

static void t_bad_total_over_u32(void **state)
{
	struct fx *f = *state;
	struct pbuf b[2] = { { data_gpa(0), 0xfffffff0u, 0 },
			     { data_gpa(1), 0x20, VRING_DESC_F_WRITE } };

	pdrv_add(&f->a, b, 2, 0);
	expect_broken(f, "longer than 4 GiB");
}

/* Completing elements popped before a break stays safe and publishes. */
static void t_mark_broken(void **state)
{
	struct fx *f = *state;
	struct vq_elem *e;

	pdrv_add1(&f->a, data_gpa(0), 8, 0, 4);
	e = pop_ok(&f->qa);
	vq_mark_broken(&f->qa, "test: malformed request header");
	assert_int_equal(efd_take(f->qa.err_fd), 1);
	vq_push(&f->qa, e, 0);
	expect_used(&f->a, 4, 0);
	pdrv_add1(&f->a, data_gpa(0), 8, 0, 5);
	assert_int_equal(vq_pop(&f->qa, &e), -EIO);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(t_set_num_any_size),
		T(t_set_addr_alignment),
		T(t_base_encoding),
		T(t_format_change_drops_rings),
		T(t_empty),
		T(t_single_buffer),
		T(t_chain),
		T(t_indirect),
		T(t_span_regions),
		T(t_wrap),
		T(t_out_of_order),
		T(t_unpop_across_wrap),
		T(t_release_held),
		T(t_driver_event_flags),
		T(t_driver_event_idx),
		cmocka_unit_test(t_need_event_math),
		T(t_notify_on_empty),
		T(t_device_event),
		T(t_bad_avail_pos),
		T(t_bad_used_pos),
		T(t_bad_loop),
		T(t_list_at_limit),
		T(t_bad_list_over_inflight),
		T(t_bad_all_in_flight),
		T(t_bad_indirect_with_next),
		T(t_bad_indirect_after_chain),
		T(t_bad_indirect_len0),
		T(t_bad_indirect_len_odd),
		T(t_bad_indirect_too_large),
		T(t_bad_indirect_outside),
		T(t_bad_indirect_not_negotiated),
		T(t_bad_readable_after_writable),
		T(t_bad_readable_after_writable_indirect),
		T(t_bad_zero_len),
		T(t_bad_zero_len_indirect),
		T(t_bad_outside_memory),
		T(t_bad_partly_outside_memory),
		T(t_bad_addr_overflow),
		T(t_bad_total_over_u32),
		T(t_mark_broken),
	};

	vhd_log_set_program("test-virtqueue-packed");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
