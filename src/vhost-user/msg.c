/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
#include "config.h"
#include "vhost-user/msg.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

void vu_msg_close_fds(struct vu_msg *msg)
{
	for (unsigned i = 0; i < msg->nfds; i++) {
		if (msg->fds[i] >= 0)
			close(msg->fds[i]);
		msg->fds[i] = -1;
	}
	msg->nfds = 0;
}

void vu_msg_rx_init(struct vu_msg_rx *rx)
{
	rx->got = 0;
	rx->msg.nfds = 0;
}

void vu_msg_rx_drop(struct vu_msg_rx *rx)
{
	vu_msg_close_fds(&rx->msg);
	rx->got = 0;
}

/* Keep the SCM_RIGHTS fds of one recvmsg; false if the message now has
 * more than VHU_MAX_FDS or the kernel cut them (MSG_CTRUNC: too many for
 * our buffer, or a security module dropped some). */
static bool take_fds(struct msghdr *mh, struct vu_msg *msg)
{
	bool ok = !(mh->msg_flags & MSG_CTRUNC);

	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (msg->nfds < VHU_MAX_FDS) {
				msg->fds[msg->nfds++] = fd;
			} else {
				close(fd);
				ok = false;
			}
		}
	}
	return ok;
}

/* The framing checks, as soon as the header is complete. */
static int check_header(const struct vhu_hdr *hdr)
{
	if ((hdr->flags & VHU_VERSION_MASK) != VHU_VERSION)
		return -EPROTO;
	if (hdr->size > VHU_MAX_PAYLOAD)
		return -EMSGSIZE;
	return 0;
}

int vu_msg_rx_step(int sock, struct vu_msg_rx *rx)
{
	struct vu_msg *msg = &rx->msg;
	union {
		char buf[CMSG_SPACE(VHU_MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	int ret;

	if (rx->got == 0)
		msg->nfds = 0;  /* the previous message's fds are its handler's */
	for (;;) {
		bool in_hdr = rx->got < VHU_HDR_SIZE;
		size_t want = in_hdr ? VHU_HDR_SIZE - rx->got
				     : VHU_HDR_SIZE + msg->hdr.size - rx->got;
		struct iovec iov = {
			.iov_base = in_hdr ? (char *)&msg->hdr + rx->got
					   : (char *)msg->payload.raw + (rx->got - VHU_HDR_SIZE),
			.iov_len = want,
		};
		struct msghdr mh = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
		};
		ssize_t r;

		if (want == 0)
			break;
		/* fds may come with any byte a sendmsg carried; a message's
		 * bytes are read with recvmsg only, so none is dropped. */
		r = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return -EAGAIN;
		if (r < 0) {
			ret = -errno;
			goto fail;
		}
		if (!take_fds(&mh, msg)) {
			ret = -EBADMSG;
			goto fail;
		}
		if (r == 0) {
			ret = -ECONNRESET;
			goto fail;
		}
		rx->got += (size_t)r;
		if (in_hdr && rx->got == VHU_HDR_SIZE) {
			ret = check_header(&msg->hdr);
			if (ret < 0)
				goto fail;
		}
	}
	/* Zero the unread tail of small payloads: handlers read fixed-size
	 * structs only after checking size, but this keeps stale bytes of a
	 * previous message from ever being visible. */
	if (msg->hdr.size < sizeof(struct vhu_vring_addr))
		memset(msg->payload.raw + msg->hdr.size, 0,
		       sizeof(struct vhu_vring_addr) - msg->hdr.size);
	rx->got = 0;
	return 0;
fail:
	vu_msg_rx_drop(rx);
	return ret;
}

int vu_msg_recv(int sock, struct vu_msg *msg)
{
	struct vu_msg_rx rx;
	int r;

	vu_msg_rx_init(&rx);
	while ((r = vu_msg_rx_step(sock, &rx)) == -EAGAIN) {
		struct pollfd p = { .fd = sock, .events = POLLIN };

		if (poll(&p, 1, -1) < 0 && errno != EINTR) {
			r = -errno;
			vu_msg_rx_drop(&rx);
			break;
		}
	}
	if (r == 0)
		*msg = rx.msg;
	else
		msg->nfds = 0;
	return r;
}

int vu_msg_send(int sock, const struct vhu_hdr *hdr, const void *payload,
		const int *fds, unsigned nfds)
{
	union {
		char buf[CMSG_SPACE(VHU_MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov[2] = {
		{ .iov_base = (void *)hdr, .iov_len = VHU_HDR_SIZE },
		{ .iov_base = (void *)payload, .iov_len = hdr->size },
	};
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = hdr->size ? 2 : 1 };
	size_t total = VHU_HDR_SIZE + hdr->size, sent = 0;

	if (nfds > VHU_MAX_FDS)
		return -EINVAL;
	if (nfds) {
		memset(ctl.buf, 0, sizeof(ctl.buf));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
	}
	while (sent < total) {
		ssize_t r = sendmsg(sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return errno == EWOULDBLOCK ? -EAGAIN : -errno;
		}
		sent += (size_t)r;
		if (sent == total)
			break;
		/* Short write: continue with the rest, fds already went. */
		mh.msg_control = NULL;
		mh.msg_controllen = 0;
		size_t skip = (size_t)r;
		while (skip && mh.msg_iovlen) {
			if (skip >= mh.msg_iov->iov_len) {
				skip -= mh.msg_iov->iov_len;
				mh.msg_iov++;
				mh.msg_iovlen--;
			} else {
				mh.msg_iov->iov_base = (char *)mh.msg_iov->iov_base + skip;
				mh.msg_iov->iov_len -= skip;
				skip = 0;
			}
		}
	}
	return 0;
}

int vu_msg_reply(int sock, uint32_t req, const void *payload, uint32_t size)
{
	struct vhu_hdr hdr = {
		.request = req,
		.flags = VHU_VERSION | VHU_FLAG_REPLY,
		.size = size,
	};
	return vu_msg_send(sock, &hdr, payload, NULL, 0);
}

int vu_msg_reply_u64(int sock, uint32_t req, uint64_t value)
{
	return vu_msg_reply(sock, req, &value, sizeof(value));
}
