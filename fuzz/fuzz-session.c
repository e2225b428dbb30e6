/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Fuzz target: a whole vhost-user session (QEMU's vhost-user spec,
 * "Message Specification" and "Communication") against the real core.
 *
 * The input is a script of records; the target plays the frontend on one
 * end of a socketpair and runs the core's connection on the other, exactly
 * as a worker does: vu_msg_rx_step() assembles messages from the stream,
 * vu_dev_handle_message() handles them, replies are read and dropped.
 * Records:
 *   op % 4 == 0  a message: 12 header bytes from the input (any request,
 *                flags and size), then up to `size` payload bytes, sent
 *                with (op >> 2) & 7 fds attached: memfds of 256 KiB whose
 *                first bytes come from the input (guest memory for
 *                SET_MEM_TABLE: rings and buffers the walker then reads),
 *                or eventfds, as (op >> 5) says;
 *   op % 4 == 1  a kick of queue (op >> 2) & 1: the device's queue_kick
 *                runs if the core says the queue is processable, as the
 *                core's kick handler does; the device pops every request
 *                (the ring walker on fuzzed memory), writes into it and
 *                pushes it now or holds it, per the current mode;
 *   op % 4 == 2  the mode: (op >> 2) says which requests are held;
 *   op % 4 == 3  raw bytes (a count, then that many) into the stream:
 *                messages cut anywhere, garbage between messages.
 * The session ends when the input does, or when the core says the
 * connection cannot continue; vu_dev_destroy() then stops the queues and
 * releases held requests through elem_cancel, as on a disconnect.
 */
#include "config.h"
#include "fuzz/fuzz.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "vhost-user/msg.h"
#include "vhost-user/vu-dev.h"
#include "vq/virtqueue.h"

#define MEM_SIZE  (256u * 1024u)
#define NQ        2
#define MAX_HELD  16

struct fuzz_dev {
	struct vq_elem *held[NQ][MAX_HELD];
	uint8_t mode;
	uint8_t config[16];
};

static struct fuzz_dev fd_state;

static bool handle(struct vu_dev *dev, struct virtqueue *q, struct vq_elem *e, void *opaque)
{
	static const uint8_t fill[64] = { 0xa5 };
	unsigned qi = (unsigned)(uintptr_t)opaque;
	size_t n = e->wr_len < sizeof(fill) ? e->wr_len : sizeof(fill);

	(void)dev;
	iov_from_buf(e->wr, e->n_wr, 0, fill, n);
	/* Hold some requests (mode bit per queue), to be released by the
	 * core's stop rule or completed by a later kick. */
	if (fd_state.mode & (1u << qi)) {
		for (unsigned i = 0; i < MAX_HELD; i++)
			if (!fd_state.held[qi][i]) {
				fd_state.held[qi][i] = e;
				return true;
			}
	}
	vq_push(q, e, (uint32_t)n);
	return true;
}

static void f_kick(struct vu_dev *dev, unsigned q)
{
	struct virtqueue *vq = vu_dev_queue(dev, q);

	/* Complete held requests out of order (last first), unless the
	 * mode says keep holding. */
	if (!(fd_state.mode & (4u << q))) {
		for (unsigned i = MAX_HELD; i-- > 0;)
			if (fd_state.held[q][i]) {
				vq_push(vq, fd_state.held[q][i], 0);
				fd_state.held[q][i] = NULL;
			}
		vq_notify(vq);
	}
	vu_queue_process(dev, q, handle, (void *)(uintptr_t)q);
}

static uint32_t f_cancel(struct vu_dev *dev, unsigned q, struct vq_elem *e, bool give_back)
{
	(void)dev;
	(void)give_back;
	for (unsigned i = 0; i < MAX_HELD; i++)
		if (fd_state.held[q][i] == e)
			fd_state.held[q][i] = NULL;
	return 0;
}

static int f_get_config(struct vu_dev *dev, uint8_t *buf)
{
	(void)dev;
	memcpy(buf, fd_state.config, sizeof(fd_state.config));
	return 0;
}

static int f_set_config(struct vu_dev *dev, const uint8_t *data, uint32_t off, uint32_t size)
{
	(void)dev;
	if (off > sizeof(fd_state.config) || size > sizeof(fd_state.config) - off)
		return -EINVAL;
	memcpy(fd_state.config + off, data, size);
	return 0;
}

static const struct vu_device_ops fuzz_ops = {
	.name = "fuzz", .summary = "fuzz target", .virtio_id = 4,
	.num_queues = NQ, .max_queue_size = 256,
	.config_size = sizeof(fd_state.config),
	.queue_kick = f_kick, .elem_cancel = f_cancel,
	.get_config = f_get_config, .set_config = f_set_config,
};

static int new_memfd(struct fuzz_in *in)
{
	int fd = memfd_create("fuzz-guest", MFD_CLOEXEC);
	uint16_t n = fuzz_u16(in);
	void *p;

	if (fd < 0)
		return -1;
	if (ftruncate(fd, MEM_SIZE) != 0) {
		close(fd);
		return -1;
	}
	if (n > in->left)
		n = (uint16_t)in->left;
	if (n) {
		p = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (p != MAP_FAILED) {
			fuzz_take(in, p, n);
			munmap(p, MEM_SIZE);
		}
	}
	return fd;
}

/* Send one record's bytes (with fds) from the frontend end. */
static void send_bytes(int fe, const void *buf, size_t len, const int *fds, unsigned nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 8)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { (void *)buf, len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (!len)
		return;
	if (nfds) {
		memset(&ctl, 0, sizeof(ctl));
		m.msg_control = ctl.buf;
		m.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	/* The socket may be full when the core stopped reading (a broken
	 * connection): what does not fit is dropped, as by a peer. */
	(void)sendmsg(fe, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
}

/* Read and drop what the core sent back (closing any fds). */
static void drain(int fe)
{
	char buf[8192];
	union {
		char buf[CMSG_SPACE(sizeof(int) * 8)];
		struct cmsghdr align;
	} ctl;

	for (;;) {
		struct iovec iov = { buf, sizeof(buf) };
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
				    .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };
		ssize_t r = recvmsg(fe, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

		if (r <= 0)
			return;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
				int *p = (int *)CMSG_DATA(c);
				size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
				for (size_t i = 0; i < k; i++)
					close(p[i]);
			}
	}
}

/* Let the core read and handle what arrived; false once the connection
 * must close. */
static bool pump(struct vu_dev *dev, struct vu_msg_rx *rx, int be)
{
	for (;;) {
		int r = vu_msg_rx_step(be, rx);

		if (r == -EAGAIN)
			return true;
		if (r < 0)
			return false;
		if (vu_dev_handle_message(dev, &rx->msg) < 0)
			return false;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	static struct vu_msg_rx rx;
	struct vhd_loop *loop;
	struct vu_dev *dev;
	int sv[2];
	bool alive = true;

	vhd_log_set_level(VHD_LOG_ERROR);
	memset(&fd_state, 0, sizeof(fd_state));
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0)
		return 0;
	loop = vhd_loop_new();
	dev = loop ? vu_dev_new(&fuzz_ops, NULL, "fuzz.sock", sv[1], loop, 0) : NULL;
	if (!dev)
		goto out;
	vu_msg_rx_init(&rx);

	while (alive && in.left) {
		uint8_t op = fuzz_u8(&in);

		switch (op & 3) {
		case 0: {
			uint8_t buf[12 + VHU_MAX_PAYLOAD];
			struct vhu_hdr h;
			unsigned nfds = (op >> 2) & 7, got = 0;
			int fds[8];
			size_t plen;

			fuzz_take(&in, &h, sizeof(h));
			plen = h.size < VHU_MAX_PAYLOAD ? h.size : VHU_MAX_PAYLOAD;
			if (plen > in.left)
				plen = in.left;
			memcpy(buf, &h, sizeof(h));
			fuzz_take(&in, buf + sizeof(h), plen);
			for (unsigned i = 0; i < nfds; i++) {
				int fd = (op & 0x20) ? new_memfd(&in)
						     : eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
				if (fd >= 0)
					fds[got++] = fd;
			}
			send_bytes(sv[0], buf, sizeof(h) + plen, fds, got);
			for (unsigned i = 0; i < got; i++)
				close(fds[i]);
			break;
		}
		case 1: {
			unsigned q = (op >> 2) & 1;

			if (vu_queue_processable(dev, q))
				f_kick(dev, q);
			break;
		}
		case 2:
			fd_state.mode = op >> 2;
			break;
		case 3: {
			uint8_t raw[256];
			uint8_t n = fuzz_u8(&in);

			fuzz_take(&in, raw, n);
			send_bytes(sv[0], raw, n, NULL, 0);
			break;
		}
		}
		alive = pump(dev, &rx, sv[1]);
		drain(sv[0]);
	}
	vu_msg_rx_drop(&rx);
	vu_dev_destroy(dev);
out:
	if (loop)
		vhd_loop_free(loop);
	close(sv[0]);
	close(sv[1]);
	return 0;
}
