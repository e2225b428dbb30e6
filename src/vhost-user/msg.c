/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
#include "config.h"
#include "vhost-user/msg.h"

#include <errno.h>
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

static int read_full(int sock, void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t r = recv(sock, (char *)buf + done, len - done, 0);
		if (r == 0)
			return -ECONNRESET;
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		done += (size_t)r;
	}
	return 0;
}

int vu_msg_recv(int sock, struct vu_msg *msg)
{
	union {
		char buf[CMSG_SPACE(VHU_MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = &msg->hdr, .iov_len = VHU_HDR_SIZE };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
	};
	ssize_t r;
	int ret;

	msg->nfds = 0;
	do {
		r = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	} while (r < 0 && errno == EINTR);
	if (r == 0)
		return -ECONNRESET;
	if (r < 0)
		return -errno;

	/* Collect fds first so that every later failure closes them. */
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (msg->nfds < VHU_MAX_FDS)
				msg->fds[msg->nfds++] = fd;
			else
				close(fd);
		}
	}
	if (mh.msg_flags & MSG_CTRUNC) {
		/* More fds than we have room for (or an LSM dropped some): the
		 * message is not what the peer sent. */
		ret = -EBADMSG;
		goto fail;
	}
	if ((size_t)r < VHU_HDR_SIZE) {
		ret = read_full(sock, (char *)&msg->hdr + r, VHU_HDR_SIZE - (size_t)r);
		if (ret < 0)
			goto fail;
	}
	if ((msg->hdr.flags & VHU_VERSION_MASK) != VHU_VERSION) {
		ret = -EPROTO;
		goto fail;
	}
	if (msg->hdr.size > VHU_MAX_PAYLOAD) {
		ret = -EMSGSIZE;
		goto fail;
	}
	if (msg->hdr.size) {
		ret = read_full(sock, msg->payload.raw, msg->hdr.size);
		if (ret < 0)
			goto fail;
	}
	/* Zero the unread tail of small payloads: handlers read fixed-size
	 * structs only after checking size, but this keeps stale bytes of a
	 * previous message from ever being visible. */
	if (msg->hdr.size < sizeof(struct vhu_vring_addr))
		memset(msg->payload.raw + msg->hdr.size, 0,
		       sizeof(struct vhu_vring_addr) - msg->hdr.size);
	return 0;
fail:
	vu_msg_close_fds(msg);
	return ret;
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
		ssize_t r = sendmsg(sock, &mh, MSG_NOSIGNAL);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
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
