/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * The bytes a guest sent on one connection that the host socket has not
 * taken yet, plus (SEQPACKET) where its messages end.
 *
 * Promises:
 *  - Never holds more than `max` bytes: vsock_ring_push() refuses what
 *    does not fit (the caller checks the guest's credit first, so for an
 *    honest guest it always fits).  Memory grows on demand, from 64 KiB by
 *    doubling, up to `max`, and is released by vsock_ring_free().
 *  - Bytes leave in the order they came (FIFO), never duplicated.
 *  - At most VSOCK_RING_MAX_MSGS complete messages are queued; the
 *    message-length queue grows on demand too.
 */
#ifndef VHD_VSOCK_RING_H
#define VHD_VSOCK_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#define VSOCK_RING_MAX_MSGS 4096u

struct vsock_ring {
	uint8_t *data;
	uint32_t cap;          /* allocated bytes */
	uint32_t max;          /* limit */
	uint32_t head;         /* offset of the oldest byte */
	uint32_t len;          /* bytes held */
	/* SEQPACKET: lengths of complete messages, oldest first. */
	uint32_t *msgs;
	uint32_t msg_cap, msg_head, msg_count;
	uint32_t partial;      /* bytes of the message being assembled */
};

void vsock_ring_init(struct vsock_ring *r, uint32_t max);
void vsock_ring_free(struct vsock_ring *r);

/* Append len bytes taken from the iovecs at byte offset off.
 * 0, -ENOBUFS (would exceed max), -ENOMEM. */
int vsock_ring_push(struct vsock_ring *r, const struct iovec *iov, unsigned n,
		    size_t off, size_t len);
/* Append from a flat buffer (tests, bounce copies). */
int vsock_ring_push_buf(struct vsock_ring *r, const void *buf, size_t len);

/* Up to two iovecs describing the oldest `len` bytes (len <= r->len).
 * Returns the count. */
unsigned vsock_ring_peek(const struct vsock_ring *r, uint32_t len, struct iovec out[2]);
/* Drop the oldest n bytes (n <= r->len). */
void vsock_ring_consume(struct vsock_ring *r, uint32_t n);

/* Stream: writev as much as the fd takes.  Bytes written (>= 0; 0 when
 * the fd would block or there was nothing), or -errno. */
ssize_t vsock_ring_write_fd(struct vsock_ring *r, int fd);

/* SEQPACKET: the bytes pushed since the last end of message form one
 * message.  -ENOBUFS if VSOCK_RING_MAX_MSGS are queued, -ENOMEM. */
int vsock_ring_end_msg(struct vsock_ring *r);
/* Send queued complete messages, one sendmsg each.  Returns the bytes
 * sent (>= 0; stops at the first that would block), or -errno. */
ssize_t vsock_ring_send_msgs(struct vsock_ring *r, int fd);
bool vsock_ring_has_msgs(const struct vsock_ring *r);

#endif
