/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * libvhu-frontend itself, against a scripted fake backend on a
 * socketpair (a thread of this test): the exact QEMU 7.2 message order
 * and payloads it sends, the strictness of its reply checks, guest memory
 * layout, and the driver side of the ring (descriptor layout, kick
 * suppression, used collection, waiting), with this test playing the
 * device on the shared memory.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "it-util.h"

/* ---- the fake backend ------------------------------------------------------ */

enum mischief {
	M_NONE, M_FLAGS_1, M_FLAGS_D, M_WRONG_REQ, M_SHORT, M_SILENT, M_CLOSE,
	M_NACK, M_EMPTY_CONFIG,
};

#define LOG_MAX 64

struct fake {
	int fd;
	pthread_t thread;
	uint64_t features, protocol;
	uint32_t bad_req;               /* request whose reply misbehaves */
	enum mischief what;
	/* What was received. */
	unsigned n;
	uint32_t req[LOG_MAX], flags[LOG_MAX], nfds[LOG_MAX];
	uint64_t u64[LOG_MAX];
	uint8_t last_table[8 + 8 * 32];
	struct vhu_vring_addr addr;
	bool flip_features;             /* change features after the first GET */
	unsigned send_errors;
};

static int read_msg(int fd, struct vhu_hdr *h, uint8_t *payload, unsigned *nfds)
{
	union {
		char buf[CMSG_SPACE(64 * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { h, sizeof(*h) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };
	ssize_t r = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | MSG_WAITALL);

	*nfds = 0;
	if (r != sizeof(*h))
		return -1;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int f;
			memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(f));
			close(f);
			(*nfds)++;
		}
	}
	if (h->size > 4096)
		return -1;
	if (h->size && recv(fd, payload, h->size, MSG_WAITALL) != (ssize_t)h->size)
		return -1;
	return 0;
}

static void reply(struct fake *fk, uint32_t req, const void *p, uint32_t size)
{
	uint8_t buf[12 + 4096];
	struct vhu_hdr h = { req, VHU_VERSION | VHU_FLAG_REPLY, size };

	if (req == fk->bad_req) {
		switch (fk->what) {
		case M_FLAGS_1: h.flags = 0x1; break;
		case M_FLAGS_D: h.flags = 0xd; break;
		case M_WRONG_REQ: h.request = req + 1; break;
		case M_SHORT: h.size = size - 4; break;
		case M_SILENT: return;
		case M_CLOSE: shutdown(fk->fd, SHUT_RDWR); return;
		default: break;
		}
	}
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), p, h.size);
	/* No cmocka assertion in this thread; a failed send shows up as a
	 * missing reply on the frontend side. */
	if (send(fk->fd, buf, sizeof(h) + h.size, MSG_NOSIGNAL) < 0)
		fk->send_errors++;
}

static void *fake_main(void *arg)
{
	struct fake *fk = arg;
	uint8_t p[4096];
	struct vhu_hdr h;
	unsigned nfds;

	while (read_msg(fk->fd, &h, p, &nfds) == 0) {
		uint64_t v = 0;
		bool has_reply = true;

		if (fk->n < LOG_MAX) {
			fk->req[fk->n] = h.request;
			fk->flags[fk->n] = h.flags;
			fk->nfds[fk->n] = nfds;
			memcpy(&fk->u64[fk->n], p, h.size >= 8 ? 8 : 0);
			fk->n++;
		}
		switch (h.request) {
		case VHU_GET_FEATURES:
			v = fk->features;
			if (fk->flip_features)
				fk->features ^= VHD_BIT(3);
			break;
		case VHU_GET_PROTOCOL_FEATURES: v = fk->protocol; break;
		case VHU_GET_QUEUE_NUM: v = 1; break;
		case VHU_GET_MAX_MEM_SLOTS: v = 16; break;
		case VHU_GET_STATUS: v = 0; break;
		case VHU_GET_VRING_BASE: {
			struct vhu_vring_state s;
			memcpy(&s, p, sizeof(s));
			s.num = 7;
			reply(fk, h.request, &s, sizeof(s));
			continue;
		}
		case VHU_GET_CONFIG: {
			struct vhu_config_hdr c;
			memcpy(&c, p, sizeof(c));
			for (uint32_t i = 0; i < c.size && i < 256; i++)
				p[sizeof(c) + i] = (uint8_t)(c.offset + i);
			if (fk->bad_req == VHU_GET_CONFIG && fk->what == M_EMPTY_CONFIG) {
				c.size = 0;
				reply(fk, h.request, &c, sizeof(c));
			} else {
				reply(fk, h.request, p, h.size);
			}
			continue;
		}
		case VHU_SET_MEM_TABLE:
			memcpy(fk->last_table, p, h.size < sizeof(fk->last_table) ?
			       h.size : sizeof(fk->last_table));
			has_reply = false;
			break;
		case VHU_SET_VRING_ADDR:
			memcpy(&fk->addr, p, sizeof(fk->addr));
			has_reply = false;
			break;
		default:
			has_reply = false;
			break;
		}
		if (has_reply) {
			reply(fk, h.request, &v, sizeof(v));
		} else if (h.flags & VHU_FLAG_NEED_REPLY) {
			v = (fk->bad_req == h.request && fk->what == M_NACK) ? 1 : 0;
			reply(fk, h.request, &v, sizeof(v));
		}
	}
	return NULL;
}

static const uint64_t FAKE_FEATURES = VHD_BIT(VIRTIO_F_VERSION_1) |
	VHD_BIT(VIRTIO_RING_F_INDIRECT_DESC) | VHD_BIT(VIRTIO_RING_F_EVENT_IDX) |
	VHD_BIT(VHOST_USER_F_PROTOCOL_FEATURES) | VHD_BIT(3) /* a device bit */;
static const uint64_t FAKE_PROTOCOL = VHD_BIT(VHU_PF_MQ) | VHD_BIT(VHU_PF_REPLY_ACK) |
	VHD_BIT(VHU_PF_BACKEND_REQ) | VHD_BIT(VHU_PF_CONFIG) |
	VHD_BIT(VHU_PF_CONFIGURE_MEM_SLOTS) | VHD_BIT(VHU_PF_STATUS) |
	VHD_BIT(VHU_PF_LOG_SHMFD) | VHD_BIT(VHU_PF_INFLIGHT_SHMFD);

/* Start a fake; the frontend side is returned connected. */
static struct vhu_conn *fake_start(struct fake *fk, uint32_t bad_req, enum mischief what)
{
	struct vhu_conn *c;
	int sv[2];

	memset(fk, 0, sizeof(*fk));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	fk->fd = sv[1];
	fk->features = FAKE_FEATURES;
	fk->protocol = FAKE_PROTOCOL;
	fk->bad_req = bad_req;
	fk->what = what;
	assert_int_equal(pthread_create(&fk->thread, NULL, fake_main, fk), 0);
	assert_int_equal(vhu_adopt(sv[0], &c), 0);
	/* A short reply timeout only where the fake never answers (the
	 * timeout is what is tested); elsewhere it is a failure bound, and a
	 * fake thread that is not scheduled for a while must not fail. */
	vhu_conn_set_timeout(c, what == M_SILENT ? 300 : 30000);
	return c;
}

static void fake_stop(struct fake *fk, struct vhu_conn *c)
{
	vhu_close(c);       /* EOF ends the thread */
	pthread_join(fk->thread, NULL);
	close(fk->fd);
}

/* ---- message order ---------------------------------------------------------- */

static void test_qemu_sequence(void **state)
{
	static const uint32_t expect[] = {
		VHU_GET_FEATURES, VHU_GET_PROTOCOL_FEATURES, VHU_SET_PROTOCOL_FEATURES,
		VHU_GET_QUEUE_NUM, VHU_GET_MAX_MEM_SLOTS, VHU_SET_BACKEND_REQ_FD,
		VHU_SET_OWNER, VHU_GET_FEATURES,
		VHU_SET_FEATURES, VHU_GET_STATUS, VHU_SET_STATUS,
		VHU_SET_MEM_TABLE,
		VHU_SET_VRING_CALL, VHU_SET_VRING_ERR, VHU_SET_VRING_NUM, VHU_SET_VRING_BASE,
		VHU_SET_VRING_ADDR, VHU_SET_VRING_KICK, VHU_SET_VRING_ENABLE, VHU_SET_VRING_CALL,
		VHU_SET_VRING_ENABLE, VHU_GET_VRING_BASE,
	};
	struct vhu_vq_opts vo = { .num = 32, .err_fd = true };
	struct fake fk;
	struct vhu_conn *c = fake_start(&fk, 0, M_NONE);
	struct vhu_mem *m;
	struct vhu_vq *q;
	struct vhu_mem_region r[2];
	uint16_t base = 0;
	uintptr_t lo, hi;

	assert_int_equal(vhu_negotiate(c, VHD_BIT(VIRTIO_F_VERSION_1) |
				       VHD_BIT(VIRTIO_RING_F_EVENT_IDX) | VHD_BIT(40),
				       ~VHD_BIT(VHU_PF_CONFIG)), 0);
	assert_true(vhu_backend_channel(c) >= 0);
	assert_int_equal(vhu_mem_create(2u << 20, 1u << 20, 1u << 30, &m), 0);
	assert_int_equal(vhu_send_mem(c, m, false), 0);
	assert_int_equal(vhu_vq_create(c, m, 0, &vo, &q), 0);
	assert_int_equal(vhu_vq_start(q), 0);
	assert_int_equal(vhu_vq_stop(q, &base), 0);
	assert_int_equal(base, 7);
	assert_int_equal(vhu_ping(c), 0);       /* everything handled */

	assert_int_equal(fk.n, sizeof(expect) / sizeof(expect[0]) + 1);
	for (unsigned i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
		if (fk.req[i] != expect[i])
			fail_msg("message %u is %s, expected %s", i, vhu_request_name(fk.req[i]),
				 vhu_request_name(expect[i]));
	}
	/* Values and flags QEMU uses. */
	assert_int_equal(fk.u64[2], FAKE_PROTOCOL & VHU_FRONTEND_PROTOCOL & ~VHD_BIT(VHU_PF_CONFIG));
	assert_int_equal(fk.flags[5], 0x9);     /* SET_BACKEND_REQ_FD, NEED_REPLY */
	assert_int_equal(fk.nfds[5], 1);
	assert_int_equal(fk.u64[8], VHD_BIT(VIRTIO_F_VERSION_1) | VHD_BIT(VIRTIO_RING_F_EVENT_IDX) |
			 VHD_BIT(VHOST_USER_F_PROTOCOL_FEATURES));
	assert_int_equal(fk.u64[10], VIRTIO_STATUS_FEATURES_OK);
	assert_int_equal(fk.flags[11], 0x9);    /* SET_MEM_TABLE, NEED_REPLY */
	assert_int_equal(fk.nfds[11], 2);
	for (unsigned i = 0; i < 22; i++)
		if (i != 5 && i != 11)
			assert_int_equal(fk.flags[i], 0x1);
	assert_int_equal(fk.nfds[12], 1);
	assert_int_equal(fk.nfds[13], 1);
	assert_int_equal(fk.nfds[17], 1);
	assert_int_equal(fk.u64[14] >> 32, 32);         /* NUM: {0, 32} */
	assert_int_equal(fk.u64[18] >> 32, 1);          /* ENABLE 1 */
	assert_int_equal(fk.u64[20] >> 32, 0);          /* ENABLE 0 */

	/* The table: 2 regions, QEMU layout (second at mmap_offset split). */
	assert_int_equal(((uint32_t *)fk.last_table)[0], 2);
	memcpy(r, fk.last_table + 8, sizeof(r));
	assert_int_equal(r[0].guest_phys_addr, 0);
	assert_int_equal(r[0].memory_size, 1u << 20);
	assert_int_equal(r[0].userspace_addr, (uintptr_t)vhu_mem_base(m));
	assert_int_equal(r[0].mmap_offset, 0);
	assert_int_equal(r[1].guest_phys_addr, (1u << 20) + (1u << 30));
	assert_int_equal(r[1].memory_size, 1u << 20);
	assert_int_equal(r[1].userspace_addr, (uintptr_t)vhu_mem_base(m) + (1u << 20));
	assert_int_equal(r[1].mmap_offset, 1u << 20);

	/* Ring addresses: our VAs, aligned, inside the mapping. */
	lo = (uintptr_t)vhu_mem_base(m);
	hi = lo + vhu_mem_size(m);
	assert_int_equal(fk.addr.desc_uaddr, (uintptr_t)vhu_vq_desc(q));
	assert_int_equal(fk.addr.avail_uaddr, (uintptr_t)vhu_vq_avail(q));
	assert_int_equal(fk.addr.used_uaddr, (uintptr_t)vhu_vq_used(q));
	assert_int_equal(fk.addr.desc_uaddr % 16, 0);
	assert_int_equal(fk.addr.avail_uaddr % 2, 0);
	assert_int_equal(fk.addr.used_uaddr % 4, 0);
	assert_true(fk.addr.desc_uaddr >= lo && fk.addr.used_uaddr + vring_used_size(32) <= hi);
	assert_int_equal(fk.addr.flags, 0);

	fake_stop(&fk, c);
	vhu_vq_destroy(q);
	vhu_mem_destroy(m);
}

/* ADD_MEM_REG: one per region, 1 fd each, NEED_REPLY; refused without
 * CONFIGURE_MEM_SLOTS. */
static void test_add_mem_reg(void **state)
{
	struct fake fk;
	struct vhu_conn *c = fake_start(&fk, 0, M_NONE);
	struct vhu_mem *m;

	assert_int_equal(vhu_mem_create(2u << 20, 1u << 20, 0, &m), 0);
	assert_int_equal(vhu_negotiate(c, ~0ull, ~VHD_BIT(VHU_PF_CONFIGURE_MEM_SLOTS)), 0);
	assert_int_equal(vhu_send_mem(c, m, true), -ENOTSUP);
	fake_stop(&fk, c);

	c = fake_start(&fk, 0, M_NONE);
	assert_int_equal(vhu_negotiate(c, ~0ull, ~0ull), 0);
	assert_int_equal(vhu_send_mem(c, m, true), 0);
	assert_int_equal(vhu_ping(c), 0);
	assert_int_equal(fk.req[fk.n - 3], VHU_ADD_MEM_REG);
	assert_int_equal(fk.req[fk.n - 2], VHU_ADD_MEM_REG);
	assert_int_equal(fk.flags[fk.n - 2], 0x9);
	assert_int_equal(fk.nfds[fk.n - 3], 1);
	assert_int_equal(fk.nfds[fk.n - 2], 1);
	fake_stop(&fk, c);
	vhu_mem_destroy(m);
}

/* ---- strict replies ------------------------------------------------------------ */

static void expect_get_features(enum mischief what, int err)
{
	struct fake fk;
	struct vhu_conn *c = fake_start(&fk, VHU_GET_FEATURES, what);
	uint64_t v;

	assert_int_equal(vhu_get_u64(c, VHU_GET_FEATURES, &v), err);
	/* A failure comes with a sentence for the user. */
	assert_true(err == 0 || vhu_conn_error(c)[0] != '\0');
	fake_stop(&fk, c);
}

static void test_strict_replies(void **state)
{
	struct fake fk;
	struct vhu_conn *c;
	struct vhu_mem *m;
	uint8_t cfg[8];

	expect_get_features(M_FLAGS_1, -EPROTO);    /* REPLY bit missing */
	expect_get_features(M_FLAGS_D, -EPROTO);    /* NEED_REPLY echoed */
	expect_get_features(M_WRONG_REQ, -EPROTO);
	expect_get_features(M_SHORT, -EPROTO);
	expect_get_features(M_SILENT, -ETIMEDOUT);
	expect_get_features(M_CLOSE, -ECONNRESET);
	expect_get_features(M_NONE, 0);

	/* REPLY_ACK non-zero. */
	assert_int_equal(vhu_mem_create(1u << 20, 0, 0, &m), 0);
	c = fake_start(&fk, VHU_SET_MEM_TABLE, M_NACK);
	assert_int_equal(vhu_negotiate(c, ~0ull, ~0ull), 0);
	assert_int_equal(vhu_send_mem(c, m, false), -EIO);
	fake_stop(&fk, c);
	/* ack_all: every request waits for its ack. */
	c = fake_start(&fk, VHU_SET_OWNER, M_NACK);
	vhu_conn_set_ack_all(c, true);
	assert_int_equal(vhu_negotiate(c, ~0ull, ~0ull), -EIO);
	fake_stop(&fk, c);
	vhu_mem_destroy(m);

	/* GET_CONFIG: the data; an empty config is a refusal; a short one a
	 * protocol error. */
	c = fake_start(&fk, 0, M_NONE);
	assert_int_equal(vhu_get_config(c, 4, 4, cfg), 0);
	assert_int_equal(cfg[0], 4);
	assert_int_equal(cfg[3], 7);
	assert_int_equal(vhu_get_config(c, 0, 0, cfg), -EINVAL);
	assert_int_equal(vhu_get_config(c, 0, 257, cfg), -EINVAL);
	fake_stop(&fk, c);
	c = fake_start(&fk, VHU_GET_CONFIG, M_EMPTY_CONFIG);
	assert_int_equal(vhu_get_config(c, 0, 8, cfg), -EIO);
	fake_stop(&fk, c);
	c = fake_start(&fk, VHU_GET_CONFIG, M_SHORT);
	assert_int_equal(vhu_get_config(c, 0, 8, cfg), -EPROTO);
	fake_stop(&fk, c);

	/* Features that change between the two GET_FEATURES of realize. */
	c = fake_start(&fk, 0, M_NONE);
	assert_int_equal(vhu_init(c, 0), 0);
	fake_stop(&fk, c);
	c = fake_start(&fk, 0, M_NONE);
	fk.flip_features = true;
	assert_int_equal(vhu_init(c, 0), -EPROTO);
	fake_stop(&fk, c);
}

/* A backend that is not there yet: connect retries, then gives up.  (A
 * lower bound on the time only: a busy machine makes everything later,
 * never earlier.  With 0 it does not retry forever: the test ends.) */
static void test_connect_retry(void **state)
{
	struct vhu_conn *c = NULL;
	int64_t t0 = it_now_ms();

	assert_int_equal(vhu_connect("/nonexistent/vhu-test.sock", 200, &c), -ENOENT);
	assert_null(c);
	assert_true(it_now_ms() - t0 >= 190);
	assert_int_equal(vhu_connect("/nonexistent/vhu-test.sock", 0, &c), -ENOENT);
	assert_null(c);
}

/* ---- guest memory ---------------------------------------------------------------- */

static void test_mem_layout(void **state)
{
	const size_t mib = 1u << 20;
	struct vhu_mem *m;
	uint8_t *a, *b, *c;

	assert_int_equal(vhu_mem_create(2 * mib, 100, 0, &m), -EINVAL);   /* unaligned */
	assert_int_equal(vhu_mem_create(2 * mib, 0, 4096, &m), -EINVAL);  /* hole, 1 region */
	assert_int_equal(vhu_mem_create(2 * mib, 2 * mib, 0, &m), -EINVAL);
	assert_int_equal(vhu_mem_create(0, 0, 0, &m), -EINVAL);

	assert_int_equal(vhu_mem_create(2 * mib, mib, 1ull << 32, &m), 0);
	assert_int_equal(vhu_mem_nregions(m), 2);
	a = vhu_mem_alloc(m, mib - 100, 64);
	b = vhu_mem_alloc(m, 200, 64);          /* would straddle: moved up */
	c = vhu_mem_alloc(m, 10, 4096);
	assert_non_null(a);
	assert_non_null(b);
	assert_ptr_equal(b, (uint8_t *)vhu_mem_base(m) + mib);
	assert_int_equal((uintptr_t)c % 4096, 0);
	assert_int_equal(vhu_mem_gpa(m, a), 0);
	assert_int_equal(vhu_mem_gpa(m, b), mib + (1ull << 32));
	assert_ptr_equal(vhu_mem_ptr(m, vhu_mem_gpa(m, b) + 5, 10), b + 5);
	assert_null(vhu_mem_ptr(m, mib, 1));                  /* in the hole */
	assert_null(vhu_mem_ptr(m, mib - 10, 20));            /* past region 0 */
	assert_null(vhu_mem_ptr(m, (1ull << 32) + 2 * mib, 1));
	assert_int_equal(vhu_mem_gpa(m, (uint8_t *)vhu_mem_base(m) + 2 * mib), UINT64_MAX);
	assert_null(vhu_mem_alloc(m, mib, 1));                /* full */
	assert_null(vhu_mem_alloc(m, 10, 3));                 /* bad alignment */
	/* Memory is shared: what we write is in the memfd. */
	memset(b, 0xab, 16);
	uint8_t chk[16];
	assert_int_equal(pread(vhu_mem_fd(m), chk, 16, (off_t)mib), 16);
	assert_int_equal(chk[15], 0xab);
	vhu_mem_destroy(m);
}

/* ---- ring driver ------------------------------------------------------------------ */

struct ring_fixture {
	struct fake fk;
	struct vhu_conn *c;
	struct vhu_mem *m;
	struct vhu_vq *q;
};

static void ring_open(struct ring_fixture *rf, bool event_idx)
{
	struct vhu_vq_opts vo = { .num = 8, .max_indirect = 4 };
	uint64_t want = VHD_BIT(VIRTIO_F_VERSION_1) | VHD_BIT(VIRTIO_RING_F_INDIRECT_DESC) |
			(event_idx ? VHD_BIT(VIRTIO_RING_F_EVENT_IDX) : 0);

	rf->c = fake_start(&rf->fk, 0, M_NONE);
	assert_int_equal(vhu_negotiate(rf->c, want, ~0ull), 0);
	assert_int_equal(vhu_mem_create(1u << 20, 0, 0, &rf->m), 0);
	assert_int_equal(vhu_send_mem(rf->c, rf->m, false), 0);
	assert_int_equal(vhu_vq_create(rf->c, rf->m, 0, &vo, &rf->q), 0);
	assert_int_equal(vhu_vq_start(rf->q), 0);
}

static void ring_close(struct ring_fixture *rf)
{
	fake_stop(&rf->fk, rf->c);
	vhu_vq_destroy(rf->q);
	vhu_mem_destroy(rf->m);
}

static uint64_t kicks_pending(struct vhu_vq *q)
{
	uint64_t v = 0;

	if (read(vhu_vq_kick_fd(q), &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

/* Play the device: complete head with len. */
static void device_push(struct vhu_vq *q, uint16_t head, uint32_t len)
{
	struct vring_used *u = vhu_vq_used(q);
	uint16_t idx = le16toh(u->idx);

	u->ring[idx % vhu_vq_num(q)].id = htole32(head);
	u->ring[idx % vhu_vq_num(q)].len = htole32(len);
	__atomic_store_n(&u->idx, htole16((uint16_t)(idx + 1)), __ATOMIC_RELEASE);
}

static void test_ring_layout(void **state)
{
	struct ring_fixture rf;
	uint8_t *buf;
	struct vhu_sg out[2], in[1];
	struct vring_desc *d;
	struct vring_avail *a;
	int head, h2;
	uint32_t len;
	void *tok;

	ring_open(&rf, true);
	d = vhu_vq_desc(rf.q);
	a = vhu_vq_avail(rf.q);
	buf = vhu_mem_alloc(rf.m, 300, 64);
	out[0] = (struct vhu_sg){ vhu_mem_gpa(rf.m, buf), 100 };
	out[1] = (struct vhu_sg){ vhu_mem_gpa(rf.m, buf + 100), 100 };
	in[0] = (struct vhu_sg){ vhu_mem_gpa(rf.m, buf + 200), 100 };

	assert_int_equal(vhu_vq_add(rf.q, out, 0, in, 0, NULL, false), -EINVAL);
	head = vhu_vq_add(rf.q, out, 2, in, 1, buf, false);
	assert_true(head >= 0 && head < 8);
	assert_int_equal(vhu_vq_num_free(rf.q), 5);
	/* Chain: R -> R -> W, linked by next. */
	uint16_t i0 = (uint16_t)head, i1 = le16toh(d[i0].next), i2 = le16toh(d[i1].next);
	assert_int_equal(le64toh(d[i0].addr), out[0].gpa);
	assert_int_equal(le32toh(d[i0].len), 100);
	assert_int_equal(le16toh(d[i0].flags), VRING_DESC_F_NEXT);
	assert_int_equal(le16toh(d[i1].flags), VRING_DESC_F_NEXT);
	assert_int_equal(le64toh(d[i2].addr), in[0].gpa);
	assert_int_equal(le16toh(d[i2].flags), VRING_DESC_F_WRITE);
	/* Not visible before publish. */
	assert_int_equal(le16toh(a->idx), 0);
	assert_int_equal(le16toh(a->ring[0]), head);
	/* First publish: avail_event is 0, so the device wants a kick. */
	assert_int_equal(vhu_vq_publish_kick(rf.q, false), 1);
	assert_int_equal(le16toh(a->idx), 1);
	assert_int_equal(kicks_pending(rf.q), 1);

	/* Indirect: one slot, a table of 3. */
	h2 = vhu_vq_add(rf.q, out, 2, in, 1, buf + 1, true);
	assert_true(h2 >= 0);
	assert_int_equal(vhu_vq_num_free(rf.q), 4);
	assert_int_equal(le16toh(d[h2].flags), VRING_DESC_F_INDIRECT);
	assert_int_equal(le32toh(d[h2].len), 3 * 16);
	struct vring_desc *t = vhu_mem_ptr(rf.m, le64toh(d[h2].addr), 48);
	assert_non_null(t);
	assert_int_equal(le16toh(t[0].flags), VRING_DESC_F_NEXT);
	assert_int_equal(le16toh(t[0].next), 1);
	assert_int_equal(le16toh(t[2].flags), VRING_DESC_F_WRITE);
	assert_int_equal(le64toh(t[2].addr), in[0].gpa);
	assert_int_equal(vhu_vq_add(rf.q, out, 2, in, 3, NULL, true), -EINVAL); /* > 4 */

	/* The device asks for a kick only at avail idx 5: none now. */
	*vring_avail_event(vhu_vq_used(rf.q), 8) = htole16(5);
	assert_int_equal(vhu_vq_publish_kick(rf.q, false), 0);
	assert_int_equal(kicks_pending(rf.q), 0);
	assert_int_equal(vhu_vq_stats(rf.q)->kicks_suppressed, 1);

	/* Completions, in any order; descriptors come back. */
	assert_int_equal(vhu_vq_get_used(rf.q, &len, &tok), 0);
	device_push(rf.q, (uint16_t)h2, 7);
	device_push(rf.q, (uint16_t)head, 100);
	assert_true(vhu_vq_has_used(rf.q));
	assert_int_equal(vhu_vq_get_used(rf.q, &len, &tok), 1);
	assert_int_equal(len, 7);
	assert_ptr_equal(tok, buf + 1);
	assert_int_equal(vhu_vq_get_used(rf.q, &len, &tok), 1);
	assert_int_equal(len, 100);
	assert_ptr_equal(tok, buf);
	assert_int_equal(vhu_vq_num_free(rf.q), 8);
	assert_int_equal(vhu_vq_in_flight(rf.q), 0);

	/* A full ring; a used id that is not in flight. */
	for (unsigned k = 0; k < 8; k++)
		assert_true(vhu_vq_add(rf.q, NULL, 0, in, 1, NULL, false) >= 0);
	assert_int_equal(vhu_vq_add(rf.q, NULL, 0, in, 1, NULL, false), -ENOSPC);
	assert_int_equal(vhu_vq_add(rf.q, NULL, 0, in, 1, NULL, true), -ENOSPC);
	vhu_vq_publish(rf.q);
	device_push(rf.q, 9, 1);
	assert_int_equal(vhu_vq_get_used(rf.q, &len, &tok), -EPROTO);
	ring_close(&rf);
}

/* Without EVENT_IDX: kicks follow VRING_USED_F_NO_NOTIFY; interrupts are
 * off (VRING_AVAIL_F_NO_INTERRUPT) except while waiting. */
static void test_ring_flags(void **state)
{
	struct ring_fixture rf;
	uint8_t *buf;
	struct vhu_sg in;

	ring_open(&rf, false);
	buf = vhu_mem_alloc(rf.m, 64, 64);
	in = (struct vhu_sg){ vhu_mem_gpa(rf.m, buf), 64 };
	assert_int_equal(le16toh(vhu_vq_avail(rf.q)->flags), VRING_AVAIL_F_NO_INTERRUPT);
	vhu_vq_used(rf.q)->flags = htole16(VRING_USED_F_NO_NOTIFY);
	assert_true(vhu_vq_add(rf.q, NULL, 0, &in, 1, NULL, false) >= 0);
	assert_int_equal(vhu_vq_publish_kick(rf.q, false), 0);
	vhu_vq_used(rf.q)->flags = 0;
	assert_true(vhu_vq_add(rf.q, NULL, 0, &in, 1, NULL, false) >= 0);
	assert_int_equal(vhu_vq_publish_kick(rf.q, false), 1);
	assert_int_equal(kicks_pending(rf.q), 1);
	/* Nothing new published: no kick even if wanted. */
	assert_int_equal(vhu_vq_kick(rf.q), 0);
	ring_close(&rf);
}

struct late_device {
	struct vhu_vq *q;
	uint16_t head;
	pid_t waiter;               /* the thread in vhu_vq_wait */
	bool saw_enabled;
	bool event_idx;
};

static bool interrupts_enabled(const struct late_device *ld)
{
	if (ld->event_idx)
		return le16toh(*vring_used_event(vhu_vq_avail(ld->q), 8)) ==
		       le16toh(vhu_vq_used(ld->q)->idx);
	return !(le16toh(vhu_vq_avail(ld->q)->flags) & VRING_AVAIL_F_NO_INTERRUPT);
}

/* The scheduler state of a thread of ours ('S': sleeping, here in poll). */
static char thread_state(pid_t tid)
{
	char p[64], buf[512], *s;
	size_t n;
	FILE *f;

	snprintf(p, sizeof(p), "/proc/self/task/%d/stat", (int)tid);
	f = fopen(p, "r");
	if (!f)
		return '?';
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	s = strrchr(buf, ')');
	return s && s[1] == ' ' ? s[2] : '?';
}

/* Complete the request once the driver sleeps in vhu_vq_wait: it has
 * asked for an interrupt and its thread is asleep (the events; a fixed
 * delay can end before the driver even got there on a busy machine).
 * 30 s is only the failure bound. */
static void *late_push(void *arg)
{
	struct late_device *ld = arg;
	int64_t t0 = it_now_ms();
	uint64_t one = 1;

	while (!(interrupts_enabled(ld) && thread_state(ld->waiter) == 'S') &&
	       it_now_ms() - t0 < 30000)
		it_sleep_ms(1);
	ld->saw_enabled = interrupts_enabled(ld);
	device_push(ld->q, ld->head, 1);
	if (write(vhu_vq_call_fd(ld->q), &one, sizeof(one)) != sizeof(one))
		ld->saw_enabled = false;
	return NULL;
}

static void run_wait(bool event_idx)
{
	struct ring_fixture rf;
	struct late_device ld = { .event_idx = event_idx };
	struct vhu_sg in;
	uint8_t *buf;
	pthread_t t;
	int64_t t0;

	ring_open(&rf, event_idx);
	buf = vhu_mem_alloc(rf.m, 64, 64);
	in = (struct vhu_sg){ vhu_mem_gpa(rf.m, buf), 64 };
	ld.q = rf.q;
	ld.head = (uint16_t)vhu_vq_add(rf.q, NULL, 0, &in, 1, buf, false);
	vhu_vq_publish(rf.q);
	/* Timeout first: nothing arrives. */
	t0 = it_now_ms();
	assert_int_equal(vhu_vq_wait(rf.q, 100, 1000), 0);
	assert_true(it_now_ms() - t0 >= 95);
	/* Then a completion while the driver sleeps, signalled on the call
	 * fd. */
	ld.waiter = (pid_t)syscall(SYS_gettid);
	assert_int_equal(pthread_create(&t, NULL, late_push, &ld), 0);
	assert_int_equal(vhu_vq_wait(rf.q, 60000, 0), 1);
	pthread_join(t, NULL);
	assert_true(ld.saw_enabled);
	assert_int_equal(vhu_vq_stats(rf.q)->calls, 1);
	/* Interrupts suppressed again afterwards. */
	if (event_idx)
		assert_int_not_equal(le16toh(*vring_used_event(vhu_vq_avail(rf.q), 8)), 0);
	else
		assert_int_equal(le16toh(vhu_vq_avail(rf.q)->flags), VRING_AVAIL_F_NO_INTERRUPT);
	assert_int_equal(vhu_vq_get_used(rf.q, NULL, NULL), 1);
	ring_close(&rf);
}

static void test_wait_event_idx(void **state) { run_wait(true); }
static void test_wait_flags(void **state) { run_wait(false); }

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qemu_sequence),
		cmocka_unit_test(test_add_mem_reg),
		cmocka_unit_test(test_strict_replies),
		cmocka_unit_test(test_connect_retry),
		cmocka_unit_test(test_mem_layout),
		cmocka_unit_test(test_ring_layout),
		cmocka_unit_test(test_ring_flags),
		cmocka_unit_test(test_wait_event_idx),
		cmocka_unit_test(test_wait_flags),
	};

	return cmocka_run_group_tests_name("libvhu-frontend", tests, NULL, NULL);
}
