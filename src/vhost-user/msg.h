/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * vhost-user message framing: one message = 12-byte header + payload, fds
 * as SCM_RIGHTS on the header's recvmsg.
 *
 * Promises:
 *  - vu_msg_recv() reads exactly one message or fails; it never returns a
 *    message whose fds were truncated (MSG_CTRUNC) and it closes every fd it
 *    received on every failure path.  Bad version bits, size > cap, short
 *    payload are errors (-EPROTO, -EMSGSIZE, -ECONNRESET): the caller cannot
 *    resynchronise a byte stream and must close the connection.
 *  - vu_msg_close_fds() closes what a message still holds; handlers take
 *    the fds they keep by setting their slot to -1.
 *  - Replies are built with VHU_VERSION|VHU_FLAG_REPLY only: NEED_REPLY is
 *    never echoed (QEMU rejects any other flag value).
 */
#ifndef VHD_VU_MSG_H
#define VHD_VU_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "vhost-user/proto.h"

struct vu_msg {
	struct vhu_hdr hdr;
	union {
		uint64_t u64;
		struct vhu_vring_state state;
		struct vhu_vring_addr addr;
		struct vhu_config_hdr config;
		uint8_t raw[VHU_MAX_PAYLOAD];
	} payload;
	int fds[VHU_MAX_FDS];
	unsigned nfds;
};

/* Read one message from a blocking stream socket.  0 on success;
 * -ECONNRESET on EOF (also mid-message), -EPROTO bad version bits,
 * -EMSGSIZE payload over VHU_MAX_PAYLOAD, -EBADMSG truncated fds,
 * other -errno from recvmsg/read (e.g. -EAGAIN on a receive timeout). */
int vu_msg_recv(int sock, struct vu_msg *msg);

/* Send header + payload (+ fds).  0 or -errno. */
int vu_msg_send(int sock, const struct vhu_hdr *hdr, const void *payload,
		const int *fds, unsigned nfds);

/* Send a reply to `req` with the given payload. */
int vu_msg_reply(int sock, uint32_t req, const void *payload, uint32_t size);
int vu_msg_reply_u64(int sock, uint32_t req, uint64_t value);

void vu_msg_close_fds(struct vu_msg *msg);

#endif
