/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Unit tests of held requests (vhost-device.h, "Held requests"): a device
 * keeps popped elements and completes them in any order; whenever a queue
 * stops (SET_VRING_ENABLE 0, GET_VRING_BASE, RESET_DEVICE, disconnect)
 * the core gives back the held suffix of the popped sequence and
 * completes the rest through elem_cancel.  A real struct vu_dev on one end
 * of a socketpair, the test playing the frontend and the driver (rings in
 * a memfd shared through SET_MEM_TABLE) on the other.  Every test checks
 * the used ring, the base the backend reports, and that each request the
 * driver made is completed exactly once in the end.
 */
#include "config.h"

#include <endian.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "vhost-user/msg.h"
#include "vhost-user/vu-dev.h"
#include "vq/vring.h"

#define MEM_SIZE   (1u << 20)
#define QSIZE      16u
#define RING_GPA(q) ((uint64_t)(q) * 0x4000u)
#define DATA_GPA(q, h) (0x10000u + (uint64_t)(q) * 0x8000u + (uint64_t)(h) * 0x100u)
#define BUF_LEN    16u
#define CANCELLED  0xeeu    /* the test device's "cancelled" status byte */

/* ---- the test device: holds everything it pops ------------------------ */

struct held_dev {
	struct vq_elem *held[2][QSIZE * 2];
	unsigned nheld[2];
	unsigned connected, resets, stops;
	unsigned cancel_back, cancel_done;
};

static struct held_dev hd;

static void hold_all(struct vu_dev *dev, unsigned qi)
{
	struct virtqueue *q = vu_dev_queue(dev, qi);
	struct vq_elem *e;

	while (vq_pop(q, &e) == 0)
		hd.held[qi][hd.nheld[qi]++] = e;
}

/* The device forgets e (the core releases it). */
static void forget(unsigned qi, struct vq_elem *e)
{
	for (unsigned i = 0; i < hd.nheld[qi]; i++)
		if (hd.held[qi][i] == e) {
			memmove(&hd.held[qi][i], &hd.held[qi][i + 1],
				(hd.nheld[qi] - i - 1) * sizeof(e));
			hd.nheld[qi]--;
			return;
		}
	fail_msg("elem_cancel for an element the device does not hold");
}

/* Push the device's held element with this head. */
static void push_head(struct vu_dev *dev, unsigned qi, uint16_t head, uint32_t len)
{
	for (unsigned i = 0; i < hd.nheld[qi]; i++)
		if (hd.held[qi][i]->head == head) {
			struct vq_elem *e = hd.held[qi][i];

			forget(qi, e);
			vq_push(vu_dev_queue(dev, qi), e, len);
			return;
		}
	fail_msg("head %u is not held", head);
}

static void d_kick(struct vu_dev *dev, unsigned q) { hold_all(dev, q); }
static void d_stop(struct vu_dev *dev, unsigned q) { hd.stops++; }
static void d_connected(struct vu_dev *dev) { hd.connected++; }
static void d_reset(struct vu_dev *dev)
{
	/* The core released every held element before reset. */
	assert_int_equal(hd.nheld[0] + hd.nheld[1], 0);
	hd.resets++;
}

static uint32_t d_cancel(struct vu_dev *dev, unsigned q, struct vq_elem *e, bool back)
{
	uint8_t st = CANCELLED;

	forget(q, e);
	if (back) {
		hd.cancel_back++;
		return 0;
	}
	hd.cancel_done++;
	return (uint32_t)iov_from_buf(e->wr, e->n_wr, 0, &st, 1);
}

static const struct vu_device_ops held_ops = {
	.name = "held", .summary = "test", .num_queues = 2, .max_queue_size = 256,
	.connected = d_connected, .reset = d_reset, .queue_kick = d_kick,
	.queue_stop = d_stop, .elem_cancel = d_cancel,
};

/* The same without elem_cancel: the core completes with 0 bytes. */
static const struct vu_device_ops plain_ops = {
	.name = "held", .summary = "test", .num_queues = 2, .max_queue_size = 256,
	.connected = d_connected, .reset = d_reset, .queue_kick = d_kick,
};

/* ---- frontend and driver ------------------------------------------------ */

struct fx {
	int fe, be, memfd;
	uint8_t *g;                 /* guest memory, gpa 0; also its uva */
	struct vhd_loop *loop;
	struct vu_dev *dev;
	struct vu_msg msg;
	uint16_t avail_idx[2];
	uint16_t used_seen[2];      /* used entries already collected */
	unsigned done[2][QSIZE];    /* completions per head */
	uint32_t last_len[2][QSIZE];
};

static struct vring_avail *avail(struct fx *f, unsigned q)
{
	return (struct vring_avail *)(f->g + RING_GPA(q) + vring_desc_size(QSIZE));
}

static struct vring_used *used(struct fx *f, unsigned q)
{
	return (struct vring_used *)(f->g + RING_GPA(q) + 0x1000);
}

static uint16_t used_idx(struct fx *f, unsigned q)
{
	return le16toh(__atomic_load_n(&used(f, q)->idx, __ATOMIC_ACQUIRE));
}

static void send_msg(struct fx *f, uint32_t req, const void *payload, uint32_t size,
		     const int *fds, unsigned nfds)
{
	struct vhu_hdr h = { .request = req, .flags = VHU_VERSION, .size = size };

	assert_int_equal(vu_msg_send(f->fe, &h, payload, fds, nfds), 0);
	assert_int_equal(vu_msg_recv(f->be, &f->msg), 0);
	assert_int_equal(vu_dev_handle_message(f->dev, &f->msg), 0);
}

static void set_state(struct fx *f, uint32_t req, unsigned q, unsigned num)
{
	struct vhu_vring_state st = { q, num };

	send_msg(f, req, &st, sizeof(st), NULL, 0);
}

static void set_fd(struct fx *f, uint32_t req, unsigned q)
{
	uint64_t v = q;
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	assert_true(fd >= 0);
	send_msg(f, req, &v, sizeof(v), &fd, 1);
	close(fd);
}

/* GET_VRING_BASE: the reply's next avail index. */
static uint16_t get_base(struct fx *f, unsigned q)
{
	struct vhu_vring_state st = { q, 0 };
	struct vhu_hdr h;

	send_msg(f, VHU_GET_VRING_BASE, &st, sizeof(st), NULL, 0);
	assert_int_equal(recv(f->fe, &h, sizeof(h), MSG_DONTWAIT), sizeof(h));
	assert_int_equal(h.size, sizeof(st));
	assert_int_equal(recv(f->fe, &st, sizeof(st), MSG_DONTWAIT), sizeof(st));
	assert_int_equal(st.index, q);
	return (uint16_t)st.num;
}

/* Connection set-up as QEMU does it, rings not started yet. */
static void fx_connect(struct fx *f, const struct vu_device_ops *ops)
{
	int sv[2];
	uint64_t feat = VHD_BIT(VIRTIO_F_VERSION_1) | VHD_BIT(VHOST_USER_F_PROTOCOL_FEATURES);
	uint64_t prot = VHD_BIT(VHU_PF_RESET_DEVICE);
	struct {
		struct vhu_mem_table_hdr h;
		struct vhu_mem_region r;
	} __attribute__((packed)) mt = {
		{ 1, 0 }, { 0, MEM_SIZE, (uintptr_t)f->g, 0 },
	};
	int mfd = dup(f->memfd);

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	f->fe = sv[0];
	f->be = sv[1];
	f->dev = vu_dev_new(ops, &hd, "held.sock", f->be, f->loop, 0);
	assert_non_null(f->dev);
	send_msg(f, VHU_SET_FEATURES, &feat, 8, NULL, 0);
	send_msg(f, VHU_SET_PROTOCOL_FEATURES, &prot, 8, NULL, 0);
	send_msg(f, VHU_SET_MEM_TABLE, &mt, sizeof(mt), &mfd, 1);
	close(mfd);
}

static void fx_disconnect(struct fx *f)
{
	vu_dev_destroy(f->dev);
	f->dev = NULL;
	close(f->fe);
	close(f->be);
}

/* Start ring q with next avail index `base` (QEMU's order). */
static void ring_start(struct fx *f, unsigned q, uint16_t base)
{
	struct vhu_vring_addr a = {
		.index = q,
		.desc_uaddr = (uintptr_t)f->g + RING_GPA(q),
		.avail_uaddr = (uintptr_t)avail(f, q),
		.used_uaddr = (uintptr_t)used(f, q),
	};

	set_fd(f, VHU_SET_VRING_CALL, q);
	set_state(f, VHU_SET_VRING_NUM, q, QSIZE);
	set_state(f, VHU_SET_VRING_BASE, q, base);
	send_msg(f, VHU_SET_VRING_ADDR, &a, sizeof(a), NULL, 0);
	set_fd(f, VHU_SET_VRING_KICK, q);
	set_state(f, VHU_SET_VRING_ENABLE, q, 1);
	assert_true(vu_queue_processable(f->dev, q));
}

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	memset(&hd, 0, sizeof(hd));
	f->memfd = memfd_create("held", MFD_CLOEXEC);
	assert_true(f->memfd >= 0);
	assert_int_equal(ftruncate(f->memfd, MEM_SIZE), 0);
	f->g = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, f->memfd, 0);
	assert_true(f->g != MAP_FAILED);
	f->loop = vhd_loop_new();
	assert_non_null(f->loop);
	fx_connect(f, &held_ops);
	ring_start(f, 0, 0);
	ring_start(f, 1, 0);
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	if (f->dev)
		fx_disconnect(f);
	vhd_loop_free(f->loop);
	munmap(f->g, MEM_SIZE);
	close(f->memfd);
	free(f);
	return 0;
}

/* The driver offers request `head` of queue q: one writable buffer. */
static void offer(struct fx *f, unsigned q, uint16_t head)
{
	struct vring_desc *d = (struct vring_desc *)(f->g + RING_GPA(q)) + head;
	struct vring_avail *a = avail(f, q);

	d->addr = htole64(DATA_GPA(q, head));
	d->len = htole32(BUF_LEN);
	d->flags = htole16(VRING_DESC_F_WRITE);
	d->next = 0;
	memset(f->g + DATA_GPA(q, head), 0, BUF_LEN);
	a->ring[f->avail_idx[q] % QSIZE] = htole16(head);
	f->avail_idx[q]++;
	__atomic_store_n(&a->idx, htole16(f->avail_idx[q]), __ATOMIC_RELEASE);
}

/* Collect new used entries of queue q; returns how many. */
static unsigned collect(struct fx *f, unsigned q)
{
	unsigned n = 0;

	while (f->used_seen[q] != used_idx(f, q)) {
		struct vring_used_elem *u = &used(f, q)->ring[f->used_seen[q] % QSIZE];
		uint32_t id = le32toh(u->id);

		assert_true(id < QSIZE);
		f->done[q][id]++;
		f->last_len[q][id] = le32toh(u->len);
		f->used_seen[q]++;
		n++;
	}
	return n;
}

/* Used entry k (absolute index) of queue q. */
static void assert_used(struct fx *f, unsigned q, uint16_t k, uint32_t id, uint32_t len)
{
	struct vring_used_elem *u = &used(f, q)->ring[k % QSIZE];

	assert_int_equal(le32toh(u->id), id);
	assert_int_equal(le32toh(u->len), len);
}

/* Every head in heads[] was completed exactly once, nothing else. */
static void assert_each_once(struct fx *f, unsigned q, const uint16_t *heads, unsigned n)
{
	unsigned want[QSIZE] = { 0 };

	for (unsigned i = 0; i < n; i++)
		want[heads[i]]++;
	for (unsigned h = 0; h < QSIZE; h++)
		if (f->done[q][h] != want[h])
			fail_msg("queue %u head %u completed %u times, expected %u",
				 q, h, f->done[q][h], want[h]);
}

static uint16_t held_head(unsigned q, unsigned i)
{
	assert_true(i < hd.nheld[q]);
	return hd.held[q][i]->head;
}

/* ---- out-of-order completion ------------------------------------------ */

static void t_out_of_order(void **state)
{
	struct fx *f = *state;
	struct virtqueue *q = vu_dev_queue(f->dev, 0);
	static const uint16_t heads[] = { 0, 1, 2, 3, 4, 5 };
	static const uint16_t order[] = { 3, 0, 5, 1, 4, 2 };

	for (unsigned i = 0; i < 6; i++)
		offer(f, 0, heads[i]);
	hold_all(f->dev, 0);
	assert_int_equal(hd.nheld[0], 6);
	assert_int_equal(q->inflight, 6);
	for (unsigned i = 0; i < 6; i++) {
		push_head(f->dev, 0, order[i], 10 + order[i]);
		assert_int_equal(used_idx(f, 0), i + 1);
		assert_used(f, 0, (uint16_t)i, order[i], 10 + order[i]);
		assert_int_equal(q->inflight, 5 - i);
	}
	collect(f, 0);
	assert_each_once(f, 0, heads, 6);
	/* Nothing held: a stop gives nothing back, the base is all pops. */
	assert_int_equal(get_base(f, 0), 6);
	assert_int_equal(hd.cancel_back + hd.cancel_done, 0);
}

/* The ring index space wraps while requests are held across the wrap. */
static void t_out_of_order_wrap(void **state)
{
	struct fx *f = *state;
	unsigned total = 0;

	/* Restart queue 0 near the end of the index space. */
	assert_int_equal(get_base(f, 0), 0);
	used(f, 0)->idx = htole16(65530);
	f->used_seen[0] = 65530;
	avail(f, 0)->idx = htole16(65530);
	f->avail_idx[0] = 65530;
	ring_start(f, 0, 65530);
	for (unsigned round = 0; round < 4; round++) {
		for (uint16_t h = 0; h < 4; h++)
			offer(f, 0, h);
		hold_all(f->dev, 0);
		assert_int_equal(hd.nheld[0], 4);
		push_head(f->dev, 0, 2, 1);
		push_head(f->dev, 0, 0, 1);
		push_head(f->dev, 0, 3, 1);
		push_head(f->dev, 0, 1, 1);
		total += collect(f, 0);
	}
	assert_int_equal(total, 16);
	assert_int_equal(used_idx(f, 0), (uint16_t)(65530 + 16));
	for (uint16_t h = 0; h < 4; h++)
		assert_int_equal(f->done[0][h], 4);
	assert_int_equal(get_base(f, 0), (uint16_t)(65530 + 16));
}

/* ---- misuse is caught --------------------------------------------------- */

static void t_push_to_wrong_queue(void **state)
{
	struct fx *f = *state;
	struct vq_elem *e;

	offer(f, 0, 7);
	hold_all(f->dev, 0);
	e = hd.held[0][0];
	vq_push(vu_dev_queue(f->dev, 1), e, 3);     /* refused */
	assert_int_equal(used_idx(f, 1), 0);
	assert_int_equal(used_idx(f, 0), 0);
	assert_int_equal(vu_dev_queue(f->dev, 0)->inflight, 1);
	push_head(f->dev, 0, 7, 3);
	assert_int_equal(used_idx(f, 0), 1);
	assert_used(f, 0, 0, 7, 3);
}

/* A second push of the same element is refused without reading it (it
 * was freed by the first: under ASan a read would be reported). */
static void t_push_twice(void **state)
{
	struct fx *f = *state;
	struct virtqueue *q = vu_dev_queue(f->dev, 0);
	struct vq_elem *e0, *e1;

	offer(f, 0, 4);
	offer(f, 0, 6);
	hold_all(f->dev, 0);
	e0 = hd.held[0][0];
	e1 = hd.held[0][1];
	hd.nheld[0] = 0;
	vq_push(q, e1, 2);
	vq_push(q, e1, 2);          /* twice */
	assert_int_equal(used_idx(f, 0), 1);
	assert_int_equal(q->inflight, 1);
	vq_unpop(q, e1);            /* and given back after its push */
	assert_int_equal(vq_get_base(q), 2);
	vq_push(q, e0, 3);
	vq_push(q, e0, 3);
	assert_int_equal(used_idx(f, 0), 2);
	assert_used(f, 0, 0, 6, 2);
	assert_used(f, 0, 1, 4, 3);
	assert_int_equal(q->inflight, 0);
}

/* An element popped before the ring was reset publishes nothing. */
static void t_push_after_reset(void **state)
{
	struct fx *f = *state;
	struct virtqueue *q = vu_dev_queue(f->dev, 0);
	struct vq_elem *e;

	offer(f, 0, 1);
	hold_all(f->dev, 0);
	e = hd.held[0][0];
	hd.nheld[0] = 0;
	vq_reset(q);                /* a direct caller: the core releases first */
	assert_int_equal(q->inflight, 0);
	vq_push(q, e, 1);           /* freed, nothing published */
	assert_int_equal(used_idx(f, 0), 0);
}

/* A released element (the core completed or gave it back at a stop)
 * cannot be pushed by a device that kept its pointer. */
static void t_push_after_release(void **state)
{
	struct fx *f = *state;
	struct vq_elem *e;

	fx_disconnect(f);
	fx_connect(f, &plain_ops);   /* no elem_cancel: the device keeps it */
	ring_start(f, 0, 0);
	offer(f, 0, 3);
	hold_all(f->dev, 0);
	e = hd.held[0][0];
	hd.nheld[0] = 0;
	assert_int_equal(get_base(f, 0), 0);   /* given back */
	vq_push(vu_dev_queue(f->dev, 0), e, 1);
	assert_int_equal(used_idx(f, 0), 0);
}

/* vq_unpop of an element that is not the latest pop cannot rewind. */
static void t_unpop_not_last(void **state)
{
	struct fx *f = *state;
	struct virtqueue *q = vu_dev_queue(f->dev, 0);
	struct vq_elem *e0;

	offer(f, 0, 0);
	offer(f, 0, 1);
	hold_all(f->dev, 0);
	e0 = hd.held[0][0];
	forget(0, e0);
	vq_unpop(q, e0);            /* head 1 was popped after it */
	assert_int_equal(vq_get_base(q), 2);
	assert_int_equal(used_idx(f, 0), 1);
	assert_used(f, 0, 0, 0, 0);
	/* The latest pop can be given back. */
	e0 = hd.held[0][0];
	forget(0, e0);
	vq_unpop(q, e0);
	assert_int_equal(vq_get_base(q), 1);
	assert_int_equal(q->inflight, 0);
	hold_all(f->dev, 0);
	assert_int_equal(held_head(0, 0), 1);
}

/* ---- vq_release_held on its own ----------------------------------------- */

static void t_release_suffix_and_cancel(void **state)
{
	struct fx *f = *state;
	struct virtqueue *q = vu_dev_queue(f->dev, 0);
	unsigned back = 99, done;
	static const uint16_t all[] = { 0, 1, 2, 3, 4 };

	for (uint16_t h = 0; h < 5; h++)
		offer(f, 0, h);
	hold_all(f->dev, 0);
	push_head(f->dev, 0, 1, 5);
	/* Held: 0 (before the pushed 1), 2 3 4 (the suffix). */
	done = vq_release_held(q, NULL, NULL, &back);
	/* The device did not get to forget them: do it for the test. */
	hd.nheld[0] = 0;
	assert_int_equal(done, 1);
	assert_int_equal(back, 3);
	assert_int_equal(vq_get_base(q), 2);
	assert_int_equal(q->inflight, 0);
	assert_int_equal(used_idx(f, 0), 2);
	assert_used(f, 0, 0, 1, 5);
	assert_used(f, 0, 1, 0, 0);     /* cancelled, 0 bytes by default */
	/* used idx and the base moved together: the driver continues. */
	assert_int_equal(used_idx(f, 0), vq_get_base(q));
	hold_all(f->dev, 0);
	assert_int_equal(hd.nheld[0], 3);
	assert_int_equal(held_head(0, 0), 2);
	assert_int_equal(held_head(0, 1), 3);
	assert_int_equal(held_head(0, 2), 4);
	push_head(f->dev, 0, 4, 1);
	push_head(f->dev, 0, 2, 1);
	push_head(f->dev, 0, 3, 1);
	collect(f, 0);
	assert_each_once(f, 0, all, 5);
}

/* ---- transitions with held elements ------------------------------------- */

/*
 * The common scenario: heads 0..5 offered and popped, 1 and 3 completed.
 * Held: 0 and 2 (before a completed one: completed as cancelled), 4 and 5
 * (the suffix: given back).  Returns with the transition's effects
 * checked up to the used ring; base = 4 afterwards.
 */
static void hold_scenario(struct fx *f)
{
	for (uint16_t h = 0; h < 6; h++)
		offer(f, 0, h);
	hold_all(f->dev, 0);
	push_head(f->dev, 0, 3, 7);
	push_head(f->dev, 0, 1, 7);
	assert_int_equal(hd.nheld[0], 4);
}

static void assert_released(struct fx *f, bool with_cancel)
{
	assert_int_equal(hd.nheld[0], 0);
	assert_int_equal(used_idx(f, 0), 4);
	assert_used(f, 0, 0, 3, 7);
	assert_used(f, 0, 1, 1, 7);
	/* Completed oldest first, with the device's status. */
	assert_used(f, 0, 2, 0, with_cancel ? 1 : 0);
	assert_used(f, 0, 3, 2, with_cancel ? 1 : 0);
	if (with_cancel) {
		assert_int_equal(f->g[DATA_GPA(0, 0)], CANCELLED);
		assert_int_equal(f->g[DATA_GPA(0, 2)], CANCELLED);
		assert_int_equal(hd.cancel_back, 2);
		assert_int_equal(hd.cancel_done, 2);
	}
	/* The given-back requests were not touched. */
	assert_int_equal(f->g[DATA_GPA(0, 4)], 0);
	assert_int_equal(f->g[DATA_GPA(0, 5)], 0);
}

/* After the restart the given-back requests come again, in order; then
 * every request of the scenario was completed exactly once. */
static void finish_scenario(struct fx *f)
{
	static const uint16_t all[] = { 0, 1, 2, 3, 4, 5 };

	hold_all(f->dev, 0);
	assert_int_equal(hd.nheld[0], 2);
	assert_int_equal(held_head(0, 0), 4);
	assert_int_equal(held_head(0, 1), 5);
	push_head(f->dev, 0, 5, 2);
	push_head(f->dev, 0, 4, 2);
	collect(f, 0);
	assert_each_once(f, 0, all, 6);
	assert_int_equal(used_idx(f, 0), 6);
	assert_int_equal(vq_get_base(vu_dev_queue(f->dev, 0)), 6);
}

static void t_stop_by_disable(void **state)
{
	struct fx *f = *state;

	hold_scenario(f);
	set_state(f, VHU_SET_VRING_ENABLE, 0, 0);
	assert_false(vu_queue_processable(f->dev, 0));
	assert_int_equal(hd.stops, 1);
	assert_released(f, true);
	assert_int_equal(vq_get_base(vu_dev_queue(f->dev, 0)), 4);
	/* The other queue is not affected. */
	assert_true(vu_queue_processable(f->dev, 1));
	set_state(f, VHU_SET_VRING_ENABLE, 0, 1);
	finish_scenario(f);
}

static void t_get_vring_base(void **state)
{
	struct fx *f = *state;

	hold_scenario(f);
	assert_int_equal(get_base(f, 0), 4);
	assert_released(f, true);
	/* The frontend restarts the ring with the base it was given. */
	ring_start(f, 0, 4);
	finish_scenario(f);
}

/* Without elem_cancel: the same rule, 0-byte completions. */
static void t_get_vring_base_no_cancel(void **state)
{
	struct fx *f = *state;

	fx_disconnect(f);
	fx_connect(f, &plain_ops);
	ring_start(f, 0, 0);
	hold_scenario(f);
	assert_int_equal(get_base(f, 0), 4);
	/* The device was not told: drop its stale pointers. */
	hd.nheld[0] = 0;
	assert_released(f, false);
	ring_start(f, 0, 4);
	finish_scenario(f);
}

static void t_reset_device(void **state)
{
	struct fx *f = *state;
	struct virtqueue *q;

	assert_int_equal(hd.connected, 1);
	hold_scenario(f);
	send_msg(f, VHU_RESET_DEVICE, NULL, 0, NULL, 0);
	assert_released(f, true);
	assert_int_equal(hd.resets, 1);
	/* The device sees a new connection. */
	assert_int_equal(hd.connected, 2);
	assert_false(vu_queue_processable(f->dev, 0));
	assert_false(vu_queue_processable(f->dev, 1));
	q = vu_dev_queue(f->dev, 0);
	assert_int_equal(q->num, 0);
	assert_int_equal(q->inflight, 0);
	assert_int_equal(q->call_fd, -1);
	assert_int_equal(vq_get_base(q), 0);
	/* QEMU starts the device again: the base is its own last avail
	 * index, which after a reset of the virtio device is what the guest
	 * driver set up again; here the driver continues with the same
	 * rings, so the given-back requests are offered from index 4. */
	ring_start(f, 0, 4);
	finish_scenario(f);
}

/* Disconnect: the frontend cannot ask GET_VRING_BASE; QEMU restarts
 * from used->idx.  The released completions make that index right. */
static void t_reconnect(void **state)
{
	struct fx *f = *state;
	uint16_t restart;

	hold_scenario(f);
	fx_disconnect(f);
	assert_int_equal(hd.resets, 1);
	assert_released(f, true);
	restart = used_idx(f, 0);
	assert_int_equal(restart, 4);
	fx_connect(f, &held_ops);
	assert_int_equal(hd.connected, 2);
	ring_start(f, 0, restart);
	finish_scenario(f);
}

/* Held on both queues; stopping one leaves the other's held elements. */
static void t_queues_independent(void **state)
{
	struct fx *f = *state;
	static const uint16_t q1heads[] = { 2, 9 };

	offer(f, 1, 2);
	offer(f, 1, 9);
	hold_all(f->dev, 1);
	hold_scenario(f);
	assert_int_equal(get_base(f, 0), 4);
	assert_int_equal(hd.nheld[1], 2);
	assert_int_equal(vu_dev_queue(f->dev, 1)->inflight, 2);
	push_head(f->dev, 1, 9, 1);
	push_head(f->dev, 1, 2, 1);
	collect(f, 1);
	assert_each_once(f, 1, q1heads, 2);
	ring_start(f, 0, 4);
	finish_scenario(f);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(t_out_of_order),
		T(t_out_of_order_wrap),
		T(t_push_to_wrong_queue),
		T(t_unpop_not_last),
		T(t_push_twice),
		T(t_push_after_reset),
		T(t_push_after_release),
		T(t_release_suffix_and_cancel),
		T(t_stop_by_disable),
		T(t_get_vring_base),
		T(t_get_vring_base_no_cancel),
		T(t_reset_device),
		T(t_reconnect),
		T(t_queues_independent),
	};

	vhd_log_set_level(VHD_LOG_ERROR);
	return cmocka_run_group_tests_name("unit: held requests", tests, NULL, NULL);
}
