/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Unit tests of the vhost-user message layer and the request handlers:
 * a real struct vu_dev on one end of a socketpair, the test playing the
 * frontend on the other.  Each malformed case the request table of
 * vu-handlers.c guards against (docs/architecture.md, "The connection
 * state machine") is fed in and the test asserts the answer (or its
 * absence), that received fds are closed, and that the connection keeps
 * working afterwards.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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

#include "unit-util.h"
#include "../ctrunc-probe.h"

#include "vhost-user/msg.h"
#include "vhost-user/vu-dev.h"

/* ---- a minimal device ------------------------------------------------ */

static unsigned kicks, starts, stops, resets;
static uint8_t config_bytes[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

static void t_kick(struct vu_dev *dev, unsigned q) { kicks++; }
static void t_start(struct vu_dev *dev, unsigned q) { starts++; }
static void t_stop(struct vu_dev *dev, unsigned q) { stops++; }
static void t_reset(struct vu_dev *dev) { resets++; }
static int t_get_config(struct vu_dev *dev, uint8_t *buf)
{
	memcpy(buf, config_bytes, sizeof(config_bytes));
	return 0;
}

static const struct vu_device_ops dev_plain = {
	.name = "test", .summary = "test", .num_queues = 2, .max_queue_size = 256,
	.queue_kick = t_kick, .queue_start = t_start, .queue_stop = t_stop,
	.reset = t_reset,
};

static const struct vu_device_ops dev_config = {
	.name = "testcfg", .summary = "test", .num_queues = 1, .max_queue_size = 256,
	.config_size = 8, .queue_kick = t_kick, .get_config = t_get_config,
};

struct fixture {
	int fe;                 /* our (frontend) end */
	int be;                 /* backend end */
	struct vhd_loop *loop;
	struct vu_dev *dev;
	struct vu_msg msg;
};


static int setup_dev(void **state, const struct vu_device_ops *ops)
{
	struct fixture *f = calloc(1, sizeof(*f));
	int sv[2];

	assert_non_null(f);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	f->fe = sv[0];
	f->be = sv[1];
	f->loop = vhd_loop_new();
	assert_non_null(f->loop);
	f->dev = vu_dev_new(ops, NULL, "test.sock", f->be, f->loop, 0);
	assert_non_null(f->dev);
	kicks = starts = stops = resets = 0;
	*state = f;
	return 0;
}

static int setup_plain(void **state) { return setup_dev(state, &dev_plain); }
static int setup_config(void **state) { return setup_dev(state, &dev_config); }

static int teardown(void **state)
{
	struct fixture *f = *state;

	vu_dev_destroy(f->dev);
	vhd_loop_free(f->loop);
	close(f->fe);
	close(f->be);
	free(f);
	return 0;
}

/* Send one message from the frontend side. */
static void send_msg(struct fixture *f, uint32_t req, uint32_t flags,
		     const void *payload, uint32_t size, const int *fds, unsigned nfds)
{
	struct vhu_hdr h = { .request = req, .flags = flags, .size = size };
	assert_int_equal(vu_msg_send(f->fe, &h, payload, fds, nfds), 0);
}

/* Let the backend read and handle one message; returns handle's result. */
static int backend_step(struct fixture *f)
{
	int r = vu_msg_recv(f->be, &f->msg);
	if (r < 0)
		return r;
	return vu_dev_handle_message(f->dev, &f->msg);
}

/* Read a reply if one is there (non-blocking); returns payload size or -1. */
static int read_reply(struct fixture *f, struct vhu_hdr *h, void *payload, size_t cap)
{
	ssize_t r = recv(f->fe, h, sizeof(*h), MSG_DONTWAIT);
	if (r < 0)
		return -1;
	assert_int_equal(r, sizeof(*h));
	assert_true(h->size <= cap);
	if (h->size)
		assert_int_equal(recv(f->fe, payload, h->size, MSG_WAITALL), h->size);
	return (int)h->size;
}

/* A request with NEED_REPLY; returns the u64 ack value, asserting the
 * reply's shape (exactly 0x5 flags, same request, 8 bytes). */
static uint64_t request_ack(struct fixture *f, uint32_t req, const void *payload,
			    uint32_t size, const int *fds, unsigned nfds)
{
	struct vhu_hdr h;
	uint64_t v = 0xdead;

	send_msg(f, req, VHU_VERSION | VHU_FLAG_NEED_REPLY, payload, size, fds, nfds);
	assert_int_equal(backend_step(f), 0);
	assert_int_equal(read_reply(f, &h, &v, sizeof(v)), 8);
	assert_int_equal(h.request, req);
	assert_int_equal(h.flags, VHU_VERSION | VHU_FLAG_REPLY);
	return v;
}

static uint64_t request_u64(struct fixture *f, uint32_t req)
{
	struct vhu_hdr h;
	uint64_t v = 0;

	send_msg(f, req, VHU_VERSION, NULL, 0, NULL, 0);
	assert_int_equal(backend_step(f), 0);
	assert_int_equal(read_reply(f, &h, &v, sizeof(v)), 8);
	assert_int_equal(h.flags, VHU_VERSION | VHU_FLAG_REPLY);
	assert_int_equal(h.request, req);
	return v;
}

static void assert_no_reply(struct fixture *f)
{
	char c;
	assert_int_equal(recv(f->fe, &c, 1, MSG_DONTWAIT), -1);
	assert_int_equal(errno, EAGAIN);
}

static int make_memfd(size_t size)
{
	int fd = memfd_create("guest", MFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	return fd;
}

/* ---- good paths ------------------------------------------------------- */

static void test_features(void **state)
{
	struct fixture *f = *state;
	uint64_t feat = request_u64(f, VHU_GET_FEATURES);
	uint64_t pf;

	assert_true(feat & VHD_BIT(VHOST_USER_F_PROTOCOL_FEATURES));
	assert_true(feat & VHD_BIT(VIRTIO_F_VERSION_1));
	assert_true(feat & VHD_BIT(VIRTIO_RING_F_INDIRECT_DESC));
	assert_true(feat & VHD_BIT(VIRTIO_RING_F_EVENT_IDX));
	/* The core serves packed rings for every device. */
	assert_true(feat & VHD_BIT(VIRTIO_F_RING_PACKED));
	pf = request_u64(f, VHU_GET_PROTOCOL_FEATURES);
	assert_true(pf & VHD_BIT(VHU_PF_REPLY_ACK));
	assert_true(pf & VHD_BIT(VHU_PF_MQ));
	/* No config space: F_CONFIG must not be offered (QEMU 7.2.0-7.2.2
	 * crash on rng/i2c/scsi backends that offer it). */
	assert_false(pf & VHD_BIT(VHU_PF_CONFIG));
	assert_false(pf & VHD_BIT(VHU_PF_INBAND_NOTIFICATIONS));
	assert_false(pf & VHD_BIT(VHU_PF_XEN_MMAP));
	assert_int_equal(request_u64(f, VHU_GET_QUEUE_NUM), 2);
	assert_int_equal(request_u64(f, VHU_GET_MAX_MEM_SLOTS), VHU_MAX_MEM_SLOTS);
}

static void test_reply_ack_only_when_asked(void **state)
{
	struct fixture *f = *state;
	uint64_t pf = VHD_BIT(VHU_PF_REPLY_ACK) | VHD_BIT(VHU_PF_MQ);

	/* Without NEED_REPLY: no reply at all. */
	send_msg(f, VHU_SET_PROTOCOL_FEATURES, VHU_VERSION, &pf, 8, NULL, 0);
	assert_int_equal(backend_step(f), 0);
	assert_no_reply(f);
	send_msg(f, VHU_SET_OWNER, VHU_VERSION, NULL, 0, NULL, 0);
	assert_int_equal(backend_step(f), 0);
	assert_no_reply(f);
	/* With NEED_REPLY: u64 0, NEED_REPLY not echoed (checked inside). */
	assert_int_equal(request_ack(f, VHU_SET_OWNER, NULL, 0, NULL, 0), 0);
	/* A GET_* with NEED_REPLY gets its normal reply only, once. */
	struct vhu_hdr h;
	uint64_t v;
	send_msg(f, VHU_GET_QUEUE_NUM, VHU_VERSION | VHU_FLAG_NEED_REPLY, NULL, 0, NULL, 0);
	assert_int_equal(backend_step(f), 0);
	assert_int_equal(read_reply(f, &h, &v, 8), 8);
	assert_int_equal(v, 2);
	assert_no_reply(f);
}

static void test_config(void **state)
{
	struct fixture *f = *state;
	struct {
		struct vhu_config_hdr h;
		uint8_t data[8];
	} __attribute__((packed)) c, r;
	struct vhu_hdr h;

	memset(&c, 0, sizeof(c));
	c.h.offset = 2;
	c.h.size = 4;
	assert_true(request_u64(f, VHU_GET_PROTOCOL_FEATURES) & VHD_BIT(VHU_PF_CONFIG));
	send_msg(f, VHU_GET_CONFIG, VHU_VERSION, &c, 12 + 4, NULL, 0);
	assert_int_equal(backend_step(f), 0);
	assert_int_equal(read_reply(f, &h, &r, sizeof(r)), 16);
	assert_int_equal(r.h.offset, 2);
	assert_int_equal(r.h.size, 4);
	assert_memory_equal(r.data, config_bytes + 2, 4);

	/* Beyond the config space: the protocol's error answer, size 0. */
	c.h.offset = 6;
	c.h.size = 4;
	send_msg(f, VHU_GET_CONFIG, VHU_VERSION, &c, 12 + 4, NULL, 0);
	assert_int_equal(backend_step(f), 0);
	assert_int_equal(read_reply(f, &h, &r, sizeof(r)), 12);
	assert_int_equal(r.h.size, 0);
	/* Size field disagreeing with the message length. */
	c.h.offset = 0;
	c.h.size = 8;
	send_msg(f, VHU_GET_CONFIG, VHU_VERSION, &c, 12 + 4, NULL, 0);
	assert_int_equal(backend_step(f), 0);
	assert_int_equal(read_reply(f, &h, &r, sizeof(r)), 12);
	assert_int_equal(r.h.size, 0);
	/* Read-only config: SET_CONFIG fails. */
	c.h.size = 4;
	assert_int_not_equal(request_ack(f, VHU_SET_CONFIG, &c, 16, NULL, 0), 0);
}

static void test_get_config_without_config(void **state)
{
	struct fixture *f = *state;
	struct vhu_config_hdr c = { .offset = 0, .size = 0 }, r;
	uint8_t payload[12 + 8] = { 0 };
	struct vhu_hdr h;

	c.size = 8;
	memcpy(payload, &c, sizeof(c));
	send_msg(f, VHU_GET_CONFIG, VHU_VERSION, payload, sizeof(payload), NULL, 0);
	assert_int_equal(backend_step(f), 0);
	assert_int_equal(read_reply(f, &h, &r, sizeof(payload)), 12);
	assert_int_equal(r.size, 0);
}

/* ---- ring state --------------------------------------------------------- */

/* Send fd with a vring-file message; our copy is closed, so only the
 * backend's (if it keeps it) stays open. */
static void set_u64_fd(struct fixture *f, uint32_t req, unsigned idx, int fd)
{
	uint64_t v = idx;
	send_msg(f, req, VHU_VERSION, &v, 8, &fd, 1);
	close(fd);
	assert_int_equal(backend_step(f), 0);
}

static void test_ring_lifecycle(void **state)
{
	struct fixture *f = *state;
	size_t size = 1 << 20;
	int mfd = make_memfd(size);
	void *base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	struct {
		struct vhu_mem_table_hdr h;
		struct vhu_mem_region r;
	} __attribute__((packed)) mt = { { 1, 0 }, { 0, size, (uintptr_t)base, 0 } };
	struct vhu_vring_state st = { 0, 64 };
	struct vhu_vring_addr a = {
		.index = 0,
		.desc_uaddr = (uintptr_t)base,
		.avail_uaddr = (uintptr_t)base + 64 * 16,
		.used_uaddr = (uintptr_t)base + 8192,
	};
	uint64_t feat = VHD_BIT(VIRTIO_F_VERSION_1) | VHD_BIT(VHOST_USER_F_PROTOCOL_FEATURES);
	struct vhu_hdr h;

	assert_ptr_not_equal(base, MAP_FAILED);
	send_msg(f, VHU_SET_FEATURES, VHU_VERSION, &feat, 8, NULL, 0);
	assert_int_equal(backend_step(f), 0);
	assert_int_equal(request_ack(f, VHU_SET_MEM_TABLE, &mt, sizeof(mt), &mfd, 1), 0);
	assert_int_equal(request_ack(f, VHU_SET_VRING_NUM, &st, 8, NULL, 0), 0);
	st.num = 7;
	assert_int_equal(request_ack(f, VHU_SET_VRING_BASE, &st, 8, NULL, 0), 0);
	assert_int_equal(request_ack(f, VHU_SET_VRING_ADDR, &a, sizeof(a), NULL, 0), 0);
	set_u64_fd(f, VHU_SET_VRING_KICK, 0, eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
	/* Started but not enabled (bit 30 negotiated): not running. */
	assert_int_equal(starts, 0);
	st.num = 1;
	assert_int_equal(request_ack(f, VHU_SET_VRING_ENABLE, &st, 8, NULL, 0), 0);
	assert_int_equal(starts, 1);
	/* Changing size or base of a running ring is refused. */
	st.num = 128;
	assert_int_not_equal(request_ack(f, VHU_SET_VRING_NUM, &st, 8, NULL, 0), 0);
	assert_int_not_equal(request_ack(f, VHU_SET_VRING_BASE, &st, 8, NULL, 0), 0);

	/* GET_VRING_BASE stops the ring and reports the index we were given. */
	st.num = 0;
	send_msg(f, VHU_GET_VRING_BASE, VHU_VERSION, &st, 8, NULL, 0);
	assert_int_equal(backend_step(f), 0);
	assert_int_equal(read_reply(f, &h, &st, 8), 8);
	assert_int_equal(st.index, 0);
	assert_int_equal(st.num, 7);
	assert_int_equal(stops, 1);

	/* A ring outside guest memory is refused and does not run. */
	st.num = 64;
	assert_int_equal(request_ack(f, VHU_SET_VRING_NUM, &st, 8, NULL, 0), 0);
	a.used_uaddr = (uintptr_t)base + size - 8;
	assert_int_not_equal(request_ack(f, VHU_SET_VRING_ADDR, &a, sizeof(a), NULL, 0), 0);
	set_u64_fd(f, VHU_SET_VRING_KICK, 0, eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
	assert_int_equal(starts, 1);
	assert_false(vu_queue_processable(f->dev, 0));

	munmap(base, size);
}

static void test_features_without_bit30_enable_rings(void **state)
{
	struct fixture *f = *state;
	uint64_t feat = VHD_BIT(VIRTIO_F_VERSION_1);

	send_msg(f, VHU_SET_FEATURES, VHU_VERSION, &feat, 8, NULL, 0);
	assert_int_equal(backend_step(f), 0);
	assert_true(f->dev->qs[0].enabled);
	assert_true(f->dev->qs[1].enabled);
	/* ...and with bit 30 they stay as SET_VRING_ENABLE leaves them. */
	assert_int_equal(resets, 0);
	assert_int_equal(request_ack(f, VHU_RESET_OWNER, NULL, 0, NULL, 0), 0);
	assert_int_equal(resets, 1);
	assert_false(f->dev->qs[0].enabled);
	feat |= VHD_BIT(VHOST_USER_F_PROTOCOL_FEATURES);
	send_msg(f, VHU_SET_FEATURES, VHU_VERSION, &feat, 8, NULL, 0);
	assert_int_equal(backend_step(f), 0);
	assert_false(f->dev->qs[0].enabled);
}

static void test_call_fd_replaced_and_nofd(void **state)
{
	struct fixture *f = *state;
	int before = count_fds();
	uint64_t v = 1 | VHU_VRING_NOFD_MASK;

	for (int i = 0; i < 5; i++)
		set_u64_fd(f, VHU_SET_VRING_CALL, 1, eventfd(0, EFD_CLOEXEC));
	/* One call fd kept, the four replaced ones closed. */
	assert_int_equal(count_fds(), before + 1);
	send_msg(f, VHU_SET_VRING_CALL, VHU_VERSION, &v, 8, NULL, 0);
	assert_int_equal(backend_step(f), 0);
	assert_int_equal(count_fds(), before);
	set_u64_fd(f, VHU_SET_VRING_ERR, 0, eventfd(0, EFD_CLOEXEC));
	assert_int_equal(count_fds(), before + 1);
}

/* ---- malformed messages ------------------------------------------------ */

static void test_bad_version(void **state)
{
	struct fixture *f = *state;
	send_msg(f, VHU_GET_FEATURES, 0x2, NULL, 0, NULL, 0);
	assert_int_equal(backend_step(f), -EPROTO);
}

static void test_oversized(void **state)
{
	struct fixture *f = *state;
	struct vhu_hdr h = { VHU_SET_FEATURES, VHU_VERSION, VHU_MAX_PAYLOAD + 1 };

	assert_int_equal(write(f->fe, &h, sizeof(h)), sizeof(h));
	assert_int_equal(backend_step(f), -EMSGSIZE);
}

static void test_truncated_payload(void **state)
{
	struct fixture *f = *state;
	struct vhu_hdr h = { VHU_SET_FEATURES, VHU_VERSION, 8 };
	uint32_t half = 0;

	assert_int_equal(write(f->fe, &h, sizeof(h)), sizeof(h));
	assert_int_equal(write(f->fe, &half, sizeof(half)), sizeof(half));
	shutdown(f->fe, SHUT_WR);
	assert_int_equal(backend_step(f), -ECONNRESET);
}

static void test_truncated_header(void **state)
{
	struct fixture *f = *state;
	uint32_t part[2] = { VHU_GET_FEATURES, VHU_VERSION };

	assert_int_equal(write(f->fe, part, sizeof(part)), sizeof(part));
	shutdown(f->fe, SHUT_WR);
	assert_int_equal(backend_step(f), -ECONNRESET);
}

static void test_eof(void **state)
{
	struct fixture *f = *state;
	shutdown(f->fe, SHUT_WR);
	assert_int_equal(backend_step(f), -ECONNRESET);
}

static void test_too_many_fds_closed(void **state)
{
	struct fixture *f = *state;
	int fds[VHU_MAX_FDS + 8];
	int before = count_fds();
	struct vhu_hdr h = { VHU_SET_OWNER, VHU_VERSION, 0 };
	union {
		char buf[CMSG_SPACE(sizeof(fds))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { &h, sizeof(h) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

	/* The backend can only see the cut through the flag. */
	if (!tests_ctrunc_reported()) {
		print_message("SKIP: recvmsg here does not report MSG_CTRUNC for fds that did not fit (QEMU user-mode emulation?): a cut cannot be detected; this test runs on the native build\n");
		skip();
	}
	for (unsigned i = 0; i < VHU_MAX_FDS + 8; i++)
		fds[i] = eventfd(0, EFD_CLOEXEC);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(c), fds, sizeof(fds));
	assert_int_equal(sendmsg(f->fe, &mh, 0), sizeof(h));
	for (unsigned i = 0; i < VHU_MAX_FDS + 8; i++)
		close(fds[i]);
	assert_int_equal(backend_step(f), -EBADMSG);
	assert_int_equal(count_fds(), before);
}

static void test_unexpected_fds_closed(void **state)
{
	struct fixture *f = *state;
	int before = count_fds();
	int fds[3] = { eventfd(0, EFD_CLOEXEC), eventfd(0, EFD_CLOEXEC), eventfd(0, EFD_CLOEXEC) };
	struct vhu_hdr h;
	uint64_t v;

	/* GET_FEATURES carries no fds: they are closed, and since a reply
	 * is owed but the request is malformed the connection must end. */
	send_msg(f, VHU_GET_FEATURES, VHU_VERSION, NULL, 0, fds, 3);
	for (int i = 0; i < 3; i++)
		close(fds[i]);
	assert_int_equal(backend_step(f), -EPROTO);
	assert_int_equal(count_fds(), before);
	(void)h;
	(void)v;
	/* SET_OWNER with an fd and NEED_REPLY: failure reply, fd closed. */
	fds[0] = eventfd(0, EFD_CLOEXEC);
	assert_int_not_equal(request_ack(f, VHU_SET_OWNER, NULL, 0, fds, 1), 0);
	close(fds[0]);
	assert_int_equal(count_fds(), before);
}

static void test_unknown_request(void **state)
{
	struct fixture *f = *state;
	uint64_t v = 0;

	/* With NEED_REPLY: a failure answer; without: silence; either way
	 * the connection goes on. */
	assert_int_not_equal(request_ack(f, 99, &v, 8, NULL, 0), 0);
	send_msg(f, 99, VHU_VERSION, &v, 8, NULL, 0);
	assert_int_equal(backend_step(f), 0);
	assert_no_reply(f);
	/* Known but not offered (IOTLB, inflight, log): same. */
	assert_int_not_equal(request_ack(f, VHU_SET_INFLIGHT_FD, &v, 8, NULL, 0), 0);
	assert_int_equal(request_u64(f, VHU_GET_QUEUE_NUM), 2);
}

static void test_bad_queue_index(void **state)
{
	struct fixture *f = *state;
	struct vhu_vring_state st = { 5, 64 };
	struct vhu_vring_addr a = { .index = 2 };
	uint64_t v = 7;
	int before = count_fds();
	int efd = eventfd(0, EFD_CLOEXEC);

	assert_int_not_equal(request_ack(f, VHU_SET_VRING_NUM, &st, 8, NULL, 0), 0);
	assert_int_not_equal(request_ack(f, VHU_SET_VRING_BASE, &st, 8, NULL, 0), 0);
	assert_int_not_equal(request_ack(f, VHU_SET_VRING_ENABLE, &st, 8, NULL, 0), 0);
	assert_int_not_equal(request_ack(f, VHU_SET_VRING_ADDR, &a, sizeof(a), NULL, 0), 0);
	assert_int_not_equal(request_ack(f, VHU_SET_VRING_KICK, &v, 8, &efd, 1), 0);
	/* Reserved bits in the vring-file u64. */
	v = 0 | (1ull << 20);
	assert_int_not_equal(request_ack(f, VHU_SET_VRING_CALL, &v, 8, &efd, 1), 0);
	close(efd);
	assert_int_equal(count_fds(), before);
	/* GET_VRING_BASE owes a reply we cannot give: connection ends. */
	send_msg(f, VHU_GET_VRING_BASE, VHU_VERSION, &st, 8, NULL, 0);
	assert_int_equal(backend_step(f), -EPROTO);
}

static void test_bad_sizes(void **state)
{
	struct fixture *f = *state;
	uint8_t junk[64] = { 0 };

	assert_int_not_equal(request_ack(f, VHU_SET_FEATURES, junk, 4, NULL, 0), 0);
	assert_int_not_equal(request_ack(f, VHU_SET_VRING_NUM, junk, 12, NULL, 0), 0);
	assert_int_not_equal(request_ack(f, VHU_SET_VRING_ADDR, junk, 32, NULL, 0), 0);
	assert_int_not_equal(request_ack(f, VHU_SET_OWNER, junk, 8, NULL, 0), 0);
}

static void test_vring_num(void **state)
{
	struct fixture *f = *state;
	struct vhu_vring_state st = { 0, 0 };
	unsigned bad[] = { 0, 3, 100, 512, 65536, 0xffffffffu };

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		st.num = bad[i];
		assert_int_not_equal(request_ack(f, VHU_SET_VRING_NUM, &st, 8, NULL, 0), 0);
	}
	st.num = 256;
	assert_int_equal(request_ack(f, VHU_SET_VRING_NUM, &st, 8, NULL, 0), 0);
	st.num = 0x10000; /* reserved bits of a split-ring base */
	assert_int_not_equal(request_ack(f, VHU_SET_VRING_BASE, &st, 8, NULL, 0), 0);
	st.num = 2; /* enable takes 0 or 1 */
	assert_int_not_equal(request_ack(f, VHU_SET_VRING_ENABLE, &st, 8, NULL, 0), 0);
}

static void test_mem_table_malformed(void **state)
{
	struct fixture *f = *state;
	int before = count_fds();
	struct {
		struct vhu_mem_table_hdr h;
		struct vhu_mem_region r[2];
	} __attribute__((packed)) mt = { { 2, 0 }, {
		{ 0, 1 << 20, 0x10000000, 0 },
		{ 1 << 19, 1 << 20, 0x20000000, 0 },    /* overlaps region 0 */
	} };
	int fds[2] = { make_memfd(1 << 20), make_memfd(1 << 20) };

	/* nregions != number of fds */
	assert_int_not_equal(request_ack(f, VHU_SET_MEM_TABLE, &mt, sizeof(mt), fds, 1), 0);
	/* size does not match nregions */
	assert_int_not_equal(request_ack(f, VHU_SET_MEM_TABLE, &mt, sizeof(mt) - 8, fds, 2), 0);
	/* zero and too many regions */
	mt.h.nregions = 0;
	assert_int_not_equal(request_ack(f, VHU_SET_MEM_TABLE, &mt, 8, NULL, 0), 0);
	mt.h.nregions = VHU_MAX_TABLE_REGIONS + 1;
	assert_int_not_equal(request_ack(f, VHU_SET_MEM_TABLE, &mt, sizeof(mt), fds, 2), 0);
	/* overlapping regions */
	mt.h.nregions = 2;
	assert_int_not_equal(request_ack(f, VHU_SET_MEM_TABLE, &mt, sizeof(mt), fds, 2), 0);
	/* size overflow */
	mt.r[1].guest_phys_addr = 2 << 20;
	mt.r[1].memory_size = UINT64_MAX - (1 << 20);
	assert_int_not_equal(request_ack(f, VHU_SET_MEM_TABLE, &mt, sizeof(mt), fds, 2), 0);
	/* region larger than its memfd */
	mt.h.nregions = 1;
	mt.r[0].memory_size = 4 << 20;
	assert_int_not_equal(request_ack(f, VHU_SET_MEM_TABLE, &mt, 8 + 32, fds, 1), 0);
	/* ADD_MEM_REG without an fd, REM_MEM_REG of an unknown region */
	struct {
		uint64_t pad;
		struct vhu_mem_region r;
	} __attribute__((packed)) one = { 0, { 0, 1 << 20, 0x10000000, 0 } };
	assert_int_not_equal(request_ack(f, VHU_ADD_MEM_REG, &one, sizeof(one), NULL, 0), 0);
	assert_int_not_equal(request_ack(f, VHU_ADD_MEM_REG, &one, sizeof(one) - 1, fds, 1), 0);
	assert_int_not_equal(request_ack(f, VHU_REM_MEM_REG, &one, sizeof(one), NULL, 0), 0);
	for (int i = 0; i < 2; i++)
		close(fds[i]);
	/* every fd the backend received was closed */
	assert_int_equal(count_fds(), before);
	/* and a good table still works afterwards */
	fds[0] = make_memfd(1 << 20);
	assert_int_equal(request_ack(f, VHU_ADD_MEM_REG, &one, sizeof(one), fds, 1), 0);
	close(fds[0]);
	assert_int_equal(gm_table_nregions(f->dev->mem), 1);
	assert_int_equal(request_ack(f, VHU_REM_MEM_REG, &one, sizeof(one), NULL, 0), 0);
	assert_int_equal(gm_table_nregions(f->dev->mem), 0);
	assert_int_equal(count_fds(), before);
}

static void test_protocol_features_unoffered(void **state)
{
	struct fixture *f = *state;
	uint64_t pf = VHD_BIT(VHU_PF_INBAND_NOTIFICATIONS);

	assert_int_not_equal(request_ack(f, VHU_SET_PROTOCOL_FEATURES, &pf, 8, NULL, 0), 0);
	pf = VHD_BIT(VHU_PF_XEN_MMAP);
	assert_int_not_equal(request_ack(f, VHU_SET_PROTOCOL_FEATURES, &pf, 8, NULL, 0), 0);
	pf = 0xffff;
	assert_int_equal(request_ack(f, VHU_SET_STATUS, &pf, 8, NULL, 0), 1);
	pf = VIRTIO_STATUS_FEATURES_OK;
	assert_int_equal(request_ack(f, VHU_SET_STATUS, &pf, 8, NULL, 0), 0);
	assert_int_equal(request_u64(f, VHU_GET_STATUS), VIRTIO_STATUS_FEATURES_OK);
}

static void test_backend_channel(void **state)
{
	struct fixture *f = *state;
	int sv[2];
	struct vhu_hdr h;
	uint64_t pf = VHD_BIT(VHU_PF_CONFIG) | VHD_BIT(VHU_PF_BACKEND_REQ) |
		      VHD_BIT(VHU_PF_REPLY_ACK);

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(request_ack(f, VHU_SET_PROTOCOL_FEATURES, &pf, 8, NULL, 0), 0);
	assert_int_equal(request_ack(f, VHU_SET_BACKEND_REQ_FD, NULL, 0, &sv[1], 1), 0);
	close(sv[1]);
	assert_int_equal(vu_dev_config_changed(f->dev), 0);
	assert_int_equal(recv(sv[0], &h, sizeof(h), MSG_DONTWAIT), sizeof(h));
	assert_int_equal(h.request, VHU_BACKEND_CONFIG_CHANGE_MSG);
	/* Without NEED_REPLY: we never wait for the frontend (deadlock). */
	assert_int_equal(h.flags, VHU_VERSION);
	assert_int_equal(h.size, 0);
	close(sv[0]);
}

static void test_backend_channel_needs_config(void **state)
{
	struct fixture *f = *state;
	int sv[2];
	uint64_t pf = VHD_BIT(VHU_PF_BACKEND_REQ) | VHD_BIT(VHU_PF_REPLY_ACK);

	/* A device without config space has no config to announce. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(request_ack(f, VHU_SET_PROTOCOL_FEATURES, &pf, 8, NULL, 0), 0);
	assert_int_equal(request_ack(f, VHU_SET_BACKEND_REQ_FD, NULL, 0, &sv[1], 1), 0);
	close(sv[1]);
	assert_int_equal(vu_dev_config_changed(f->dev), -ENOTCONN);
	close(sv[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_features, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_reply_ack_only_when_asked, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_config, setup_config, teardown),
		cmocka_unit_test_setup_teardown(test_get_config_without_config, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_ring_lifecycle, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_features_without_bit30_enable_rings, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_call_fd_replaced_and_nofd, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_bad_version, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_oversized, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_payload, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_header, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_eof, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_too_many_fds_closed, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_unexpected_fds_closed, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_request, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_bad_queue_index, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_bad_sizes, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_vring_num, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_mem_table_malformed, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_protocol_features_unoffered, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_backend_channel, setup_config, teardown),
		cmocka_unit_test_setup_teardown(test_backend_channel_needs_config, setup_plain, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
