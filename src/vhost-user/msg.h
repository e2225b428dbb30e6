/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * vhost-user message framing: one message = 12-byte header + payload, fds
 * as SCM_RIGHTS with the message's first byte(s) (QEMU's vhost-user spec,
 * "Message Specification").
 *
 * Nothing here blocks: a worker thread serves many connections
 * (docs/architecture.md, "Threads and ownership"), so one frontend that
 * stops in the middle of a message must not hold the others up.
 *
 * Promises:
 *  - vu_msg_rx_step() assembles one message from whatever the socket has
 *    (never reading past the end of the message): -EAGAIN until the whole
 *    message is there, then 0 with rx->msg complete; the next call starts
 *    the next message.  It never returns a message whose fds were
 *    truncated (MSG_CTRUNC, or more than VHU_MAX_FDS over the message) and
 *    it closes every fd it received on every failure path.  Bad version
 *    bits, size > cap, EOF mid-message are errors (-EPROTO, -EMSGSIZE,
 *    -ECONNRESET), checked as soon as the header is complete: the caller
 *    cannot resynchronise a byte stream and must close the connection.
 *  - vu_msg_send() never blocks: a message the socket cannot take whole
 *    right now fails with -EAGAIN (possibly sent in part), and the caller
 *    closes the connection.  vhost-user is request/reply, a frontend
 *    reads each reply before its next request (QEMU: vhost_user_read
 *    after vhost_user_write), so replies never pile up in a socket buffer
 *    of ours unless the peer stopped reading -- a broken peer.
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

/* A message being assembled; allocated with the connection. */
struct vu_msg_rx {
	struct vu_msg msg;
	size_t got;                /* header + payload bytes received so far */
};

/* Start empty (no fds held). */
void vu_msg_rx_init(struct vu_msg_rx *rx);
/* Read what is there without blocking.  0: rx->msg is one whole message
 * (its fds owned by it); -EAGAIN: not yet, call again when the socket is
 * readable; -ECONNRESET on EOF (also mid-message), -EPROTO bad version
 * bits, -EMSGSIZE payload over VHU_MAX_PAYLOAD, -EBADMSG truncated fds,
 * other -errno from recvmsg. */
int vu_msg_rx_step(int sock, struct vu_msg_rx *rx);
/* Close the fds of a partly received message (connection ends). */
void vu_msg_rx_drop(struct vu_msg_rx *rx);

/* Read one whole message, waiting (poll) for the socket as long as it
 * takes: for tests and tools that own their thread.  Same results as
 * vu_msg_rx_step but never -EAGAIN. */
int vu_msg_recv(int sock, struct vu_msg *msg);

/* Send header + payload (+ fds) without blocking.  0, -EAGAIN if the
 * socket buffer is full (the message may be cut: close the connection),
 * or -errno. */
int vu_msg_send(int sock, const struct vhu_hdr *hdr, const void *payload,
		const int *fds, unsigned nfds);

/* Send a reply to `req` with the given payload. */
int vu_msg_reply(int sock, uint32_t req, const void *payload, uint32_t size);
int vu_msg_reply_u64(int sock, uint32_t req, uint64_t value);

void vu_msg_close_fds(struct vu_msg *msg);

#endif
