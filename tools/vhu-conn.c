/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * libvhu-frontend: the connection, message exchange with QEMU-strict
 * reply validation, and the realize/start negotiation (contract in
 * vhu-frontend.h).
 *
 * Every wait has a deadline (the connection's timeout), so a backend that
 * never answers turns into -ETIMEDOUT, never into a hung test.
 */
#include "config.h"
#include "vhu-frontend.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

struct vhu_conn {
	int fd;
	int backend_fd;             /* our end of the backend channel */
	int timeout_ms;
	bool ack_all;
	struct vhu_info info;
	char err[256];
};

static int fail(struct vhu_conn *c, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Record what went wrong; returns err (a -errno) for `return fail(...)`. */
static int fail(struct vhu_conn *c, int err, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof(c->err))
		snprintf(c->err + n, sizeof(c->err) - (size_t)n, ": %s", strerror(-err));
	return err;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- connection -------------------------------------------------------- */

static struct vhu_conn *conn_new(int fd)
{
	struct vhu_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->fd = fd;
	c->backend_fd = -1;
	c->timeout_ms = VHU_DEFAULT_TIMEOUT_MS;
	return c;
}

int vhu_connect(const char *path, int retry_ms, struct vhu_conn **out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int64_t deadline = now_ms() + (retry_ms > 0 ? retry_ms : 0);
	int fd, err;

	*out = NULL;
	if (!path || strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	for (;;) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			break;
		err = -errno;
		close(fd);
		/* Not there yet, or there but not listening yet: the backend
		 * is starting.  Anything else will not get better. */
		if ((err != -ENOENT && err != -ECONNREFUSED && err != -EAGAIN) ||
		    now_ms() >= deadline)
			return err;
		nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000 * 1000 }, NULL);
	}
	*out = conn_new(fd);
	if (!*out) {
		close(fd);
		return -ENOMEM;
	}
	return 0;
}

int vhu_adopt(int fd, struct vhu_conn **out)
{
	*out = fd < 0 ? NULL : conn_new(fd);
	if (fd < 0)
		return -EBADF;
	return *out ? 0 : -ENOMEM;
}

void vhu_close(struct vhu_conn *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	if (c->backend_fd >= 0)
		close(c->backend_fd);
	free(c);
}

int vhu_conn_fd(const struct vhu_conn *c)
{
	return c->fd;
}

void vhu_conn_set_timeout(struct vhu_conn *c, int timeout_ms)
{
	c->timeout_ms = timeout_ms;
}

const char *vhu_conn_error(const struct vhu_conn *c)
{
	return c->err;
}

void vhu_conn_set_ack_all(struct vhu_conn *c, bool on)
{
	c->ack_all = on;
}

const struct vhu_info *vhu_conn_info(const struct vhu_conn *c)
{
	return &c->info;
}

bool vhu_has_feature(const struct vhu_conn *c, unsigned bit)
{
	return bit < 64 && (c->info.acked_features & VHD_BIT(bit));
}

bool vhu_has_protocol(const struct vhu_conn *c, unsigned bit)
{
	return bit < 64 && (c->info.acked_protocol & VHD_BIT(bit));
}

int vhu_backend_channel(const struct vhu_conn *c)
{
	return c->backend_fd;
}

/* ---- sending ------------------------------------------------------------ */

/* The kernel's limit (SCM_MAX_FD): more than a backend accepts, so tests
 * can send too many. */
#define SEND_MAX_FDS 253

static int send_iov(struct vhu_conn *c, struct iovec *iov, int iovcnt,
		    const int *fds, unsigned nfds)
{
	union {
		char buf[CMSG_SPACE(SEND_MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = (size_t)iovcnt };

	if (nfds > SEND_MAX_FDS)
		return -EINVAL;
	if (nfds) {
		memset(ctl.buf, 0, sizeof(ctl.buf));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, nfds * sizeof(int));
	}
	while (mh.msg_iovlen) {
		ssize_t r = sendmsg(c->fd, &mh, MSG_NOSIGNAL);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		/* The fds went with the first byte. */
		mh.msg_control = NULL;
		mh.msg_controllen = 0;
		while (r > 0 && mh.msg_iovlen) {
			if ((size_t)r >= mh.msg_iov->iov_len) {
				r -= (ssize_t)mh.msg_iov->iov_len;
				mh.msg_iov++;
				mh.msg_iovlen--;
			} else {
				mh.msg_iov->iov_base = (char *)mh.msg_iov->iov_base + r;
				mh.msg_iov->iov_len -= (size_t)r;
				r = 0;
			}
		}
		while (mh.msg_iovlen && mh.msg_iov->iov_len == 0) {
			mh.msg_iov++;
			mh.msg_iovlen--;
		}
	}
	return 0;
}

int vhu_send(struct vhu_conn *c, uint32_t req, uint32_t extra_flags,
	     const void *payload, uint32_t size, const int *fds, unsigned nfds)
{
	struct vhu_hdr hdr = {
		.request = req,
		.flags = VHU_VERSION | extra_flags,
		.size = size,
	};
	struct iovec iov[2] = {
		{ .iov_base = &hdr, .iov_len = VHU_HDR_SIZE },
		{ .iov_base = (void *)payload, .iov_len = payload ? size : 0 },
	};
	int r;

	if (size && !payload)
		return fail(c, -EINVAL, "%s: %u payload bytes but no payload",
			    vhu_request_name(req), size);
	r = send_iov(c, iov, size ? 2 : 1, fds, nfds);
	if (r < 0)
		return fail(c, r, "sending %s", vhu_request_name(req));
	return 0;
}

int vhu_send_raw(struct vhu_conn *c, const void *bytes, size_t len,
		 const int *fds, unsigned nfds)
{
	struct iovec iov = { .iov_base = (void *)bytes, .iov_len = len };
	int r = send_iov(c, &iov, 1, fds, nfds);

	if (r < 0)
		return fail(c, r, "sending %zu raw bytes", len);
	return 0;
}

/* ---- receiving ---------------------------------------------------------- */

/* Wait until readable or the deadline passes. */
static int wait_readable(int fd, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - now_ms();
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int r;

		if (left < 0)
			left = 0;
		r = poll(&p, 1, (int)(left > 0x7fffffff ? 0x7fffffff : left));
		if (r > 0)
			return 0;
		if (r == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

/* Read exactly len bytes (closing any fds attached) before the deadline. */
static int read_full(int fd, void *buf, size_t len, int64_t deadline)
{
	size_t done = 0;

	while (done < len) {
		union {
			char buf[CMSG_SPACE(VHU_MAX_FDS * sizeof(int))];
			struct cmsghdr align;
		} ctl;
		struct iovec iov = { .iov_base = (char *)buf + done, .iov_len = len - done };
		struct msghdr mh = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
		};
		ssize_t r;
		int w = wait_readable(fd, deadline);

		if (w < 0)
			return w;
		r = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		/* Replies we understand carry no fds; never leak one. */
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
			if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
				continue;
			size_t n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (size_t i = 0; i < n; i++) {
				int f;
				memcpy(&f, CMSG_DATA(cm) + i * sizeof(int), sizeof(f));
				close(f);
			}
		}
		if (r == 0)
			return -ECONNRESET;
		done += (size_t)r;
	}
	return 0;
}

int vhu_recv_any(struct vhu_conn *c, struct vhu_hdr *hdr, void *payload, uint32_t cap)
{
	int64_t deadline = now_ms() + c->timeout_ms;
	uint8_t sink[256];
	uint32_t keep, left;
	int r;

	r = read_full(c->fd, hdr, VHU_HDR_SIZE, deadline);
	if (r < 0)
		return fail(c, r, "reading a reply header");
	if (hdr->size > VHU_MAX_PAYLOAD)
		return fail(c, -EPROTO, "reply to %s announces %u payload bytes",
			    vhu_request_name(hdr->request), hdr->size);
	keep = hdr->size < cap ? hdr->size : cap;
	if (keep) {
		r = read_full(c->fd, payload, keep, deadline);
		if (r < 0)
			return fail(c, r, "reading the payload of a reply to %s",
				    vhu_request_name(hdr->request));
	}
	for (left = hdr->size - keep; left; ) {
		uint32_t n = left < sizeof(sink) ? left : (uint32_t)sizeof(sink);
		r = read_full(c->fd, sink, n, deadline);
		if (r < 0)
			return fail(c, r, "reading the payload of a reply to %s",
				    vhu_request_name(hdr->request));
		left -= n;
	}
	return (int)keep;
}

int vhu_recv_reply(struct vhu_conn *c, uint32_t req, void *payload, uint32_t size)
{
	uint8_t buf[VHU_MAX_PAYLOAD];
	struct vhu_hdr hdr;
	int r = vhu_recv_any(c, &hdr, buf, sizeof(buf));

	if (r < 0) {
		if (r == -ECONNRESET || r == -ETIMEDOUT)
			return fail(c, r, "waiting for the reply to %s", vhu_request_name(req));
		return r;
	}
	/* QEMU's vhost_user_read_header() and per-request checks. */
	if (hdr.flags != (VHU_VERSION | VHU_FLAG_REPLY))
		return fail(c, -EPROTO, "reply to %s has flags 0x%x instead of 0x5",
			    vhu_request_name(req), hdr.flags);
	if (hdr.request != req)
		return fail(c, -EPROTO, "reply to %s is for request %u (%s)",
			    vhu_request_name(req), hdr.request,
			    vhu_request_name(hdr.request));
	if (hdr.size != size)
		return fail(c, -EPROTO, "reply to %s has %u payload bytes instead of %u",
			    vhu_request_name(req), hdr.size, size);
	if (size)
		memcpy(payload, buf, size);
	return 0;
}

int vhu_wait_closed(struct vhu_conn *c, int timeout_ms)
{
	uint8_t b;
	int r = read_full(c->fd, &b, 1, now_ms() + timeout_ms);

	if (r == -ECONNRESET)
		return 0;
	if (r == 0)
		return fail(c, -EPROTO, "expected the backend to close the connection, it sent data");
	return fail(c, r, "expected the backend to close the connection");
}

/* ---- requests ----------------------------------------------------------- */

int vhu_request(struct vhu_conn *c, uint32_t req, uint32_t extra_flags,
		const void *payload, uint32_t size, const int *fds, unsigned nfds,
		void *reply, uint32_t reply_size)
{
	bool ack;
	uint64_t v;
	int r;

	if (!reply && c->ack_all && vhu_has_protocol(c, VHU_PF_REPLY_ACK))
		extra_flags |= VHU_FLAG_NEED_REPLY;
	ack = !reply && (extra_flags & VHU_FLAG_NEED_REPLY);
	r = vhu_send(c, req, extra_flags, payload, size, fds, nfds);
	if (r < 0)
		return r;
	if (reply)
		return vhu_recv_reply(c, req, reply, reply_size);
	if (!ack)
		return 0;
	r = vhu_recv_reply(c, req, &v, sizeof(v));
	if (r < 0)
		return r;
	if (v != 0)
		return fail(c, -EIO, "backend refused %s (REPLY_ACK %llu)",
			    vhu_request_name(req), (unsigned long long)v);
	return 0;
}

int vhu_get_u64(struct vhu_conn *c, uint32_t req, uint64_t *value)
{
	return vhu_request(c, req, 0, NULL, 0, NULL, 0, value, sizeof(*value));
}

int vhu_set_u64(struct vhu_conn *c, uint32_t req, uint64_t value)
{
	return vhu_request(c, req, 0, &value, sizeof(value), NULL, 0, NULL, 0);
}

int vhu_set_state(struct vhu_conn *c, uint32_t req, uint32_t index, uint32_t num)
{
	struct vhu_vring_state s = { .index = index, .num = num };

	return vhu_request(c, req, 0, &s, sizeof(s), NULL, 0, NULL, 0);
}

int vhu_set_vring_file(struct vhu_conn *c, uint32_t req, unsigned index, int fd)
{
	uint64_t v = (index & VHU_VRING_IDX_MASK) | (fd < 0 ? VHU_VRING_NOFD_MASK : 0);

	return vhu_request(c, req, 0, &v, sizeof(v), fd < 0 ? NULL : &fd,
			   fd < 0 ? 0 : 1, NULL, 0);
}

int vhu_ping(struct vhu_conn *c)
{
	uint64_t f;

	return vhu_get_u64(c, VHU_GET_FEATURES, &f);
}

int vhu_get_config(struct vhu_conn *c, uint32_t offset, uint32_t size, void *buf)
{
	uint8_t msg[sizeof(struct vhu_config_hdr) + VHU_CONFIG_MAX_SIZE] = { 0 };
	struct vhu_config_hdr h = { .offset = offset, .size = size, .flags = 0 };
	struct vhu_config_hdr rh;
	uint8_t rbuf[VHU_MAX_PAYLOAD];
	struct vhu_hdr hdr;
	uint32_t len = (uint32_t)sizeof(h) + size;
	int r;

	if (size == 0 || size > VHU_CONFIG_MAX_SIZE)
		return fail(c, -EINVAL, "GET_CONFIG of %u bytes (1..%u)", size,
			    VHU_CONFIG_MAX_SIZE);
	memcpy(msg, &h, sizeof(h));
	r = vhu_send(c, VHU_GET_CONFIG, 0, msg, len, NULL, 0);
	if (r < 0)
		return r;
	r = vhu_recv_any(c, &hdr, rbuf, sizeof(rbuf));
	if (r < 0)
		return r;
	if (hdr.flags != (VHU_VERSION | VHU_FLAG_REPLY) || hdr.request != VHU_GET_CONFIG)
		return fail(c, -EPROTO, "reply to GET_CONFIG has request %u flags 0x%x",
			    hdr.request, hdr.flags);
	if (hdr.size == sizeof(rh)) {
		memcpy(&rh, rbuf, sizeof(rh));
		if (rh.size == 0)
			return fail(c, -EIO, "backend refused GET_CONFIG offset %u size %u",
				    offset, size);
	}
	if (hdr.size != len)
		return fail(c, -EPROTO, "reply to GET_CONFIG has %u bytes instead of %u",
			    hdr.size, len);
	memcpy(&rh, rbuf, sizeof(rh));
	if (rh.offset != offset || rh.size != size)
		return fail(c, -EPROTO, "reply to GET_CONFIG echoes offset %u size %u, asked %u/%u",
			    rh.offset, rh.size, offset, size);
	memcpy(buf, rbuf + sizeof(rh), size);
	return 0;
}

/* ---- negotiation -------------------------------------------------------- */

int vhu_init(struct vhu_conn *c, uint64_t want_protocol)
{
	struct vhu_info *in = &c->info;
	uint64_t again;
	int r;

	memset(in, 0, sizeof(*in));
	r = vhu_get_u64(c, VHU_GET_FEATURES, &in->features);
	if (r < 0)
		return r;
	if (in->features & VHD_BIT(VHOST_USER_F_PROTOCOL_FEATURES)) {
		r = vhu_get_u64(c, VHU_GET_PROTOCOL_FEATURES, &in->protocol);
		if (r < 0)
			return r;
		in->acked_protocol = in->protocol & want_protocol & VHU_FRONTEND_PROTOCOL;
		r = vhu_set_u64(c, VHU_SET_PROTOCOL_FEATURES, in->acked_protocol);
		if (r < 0)
			return r;
		if (vhu_has_protocol(c, VHU_PF_MQ)) {
			r = vhu_get_u64(c, VHU_GET_QUEUE_NUM, &in->queue_num);
			if (r < 0)
				return r;
		}
		if (vhu_has_protocol(c, VHU_PF_CONFIGURE_MEM_SLOTS)) {
			r = vhu_get_u64(c, VHU_GET_MAX_MEM_SLOTS, &in->max_mem_slots);
			if (r < 0)
				return r;
		}
		if (vhu_has_protocol(c, VHU_PF_BACKEND_REQ)) {
			int sv[2];

			if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
				return fail(c, -errno, "socketpair for the backend channel");
			r = vhu_request(c, VHU_SET_BACKEND_REQ_FD,
					vhu_has_protocol(c, VHU_PF_REPLY_ACK) ? VHU_FLAG_NEED_REPLY : 0,
					NULL, 0, &sv[1], 1, NULL, 0);
			close(sv[1]);
			if (r < 0) {
				close(sv[0]);
				return r;
			}
			if (c->backend_fd >= 0)
				close(c->backend_fd);
			c->backend_fd = sv[0];
		}
	}
	r = vhu_request(c, VHU_SET_OWNER, 0, NULL, 0, NULL, 0, NULL, 0);
	if (r < 0)
		return r;
	r = vhu_get_u64(c, VHU_GET_FEATURES, &again);
	if (r < 0)
		return r;
	if (again != in->features)
		return fail(c, -EPROTO, "GET_FEATURES changed from 0x%llx to 0x%llx",
			    (unsigned long long)in->features, (unsigned long long)again);
	return 0;
}

int vhu_set_features(struct vhu_conn *c, uint64_t want_features)
{
	struct vhu_info *in = &c->info;
	uint64_t f = in->features & (want_features | VHD_BIT(VHOST_USER_F_PROTOCOL_FEATURES));
	uint64_t st;
	int r;

	r = vhu_set_u64(c, VHU_SET_FEATURES, f);
	if (r < 0)
		return r;
	in->acked_features = f;
	if (vhu_has_protocol(c, VHU_PF_STATUS)) {
		r = vhu_get_u64(c, VHU_GET_STATUS, &st);
		if (r < 0)
			return r;
		if (!(st & VIRTIO_STATUS_FEATURES_OK)) {
			r = vhu_set_u64(c, VHU_SET_STATUS, st | VIRTIO_STATUS_FEATURES_OK);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

int vhu_negotiate(struct vhu_conn *c, uint64_t want_features, uint64_t want_protocol)
{
	int r = vhu_init(c, want_protocol);

	return r < 0 ? r : vhu_set_features(c, want_features);
}
