/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Guest-to-guest ("sibling") traffic between the devices of one process.
 *
 * Two devices may be served by different worker threads (or by the same
 * one: a mutex is never held across a wait, and the eventfd is
 * non-blocking, so a sender and its receiver on one thread work too), so
 * a packet from guest A to guest B may cross threads: A appends a copy to B's mailbox (a mutex-guarded
 * FIFO) and writes B's eventfd; B's event loop delivers it into B's rx
 * queue.  Packets are relayed, not terminated: the two guests do their own
 * credit accounting end to end.
 *
 * Promises:
 *  - The registry is built before any worker starts (vsock_sib_register
 *    from instance_new on the main thread) and is read-only afterwards.
 *  - A mailbox holds at most VSOCK_SIB_MAILBOX_BYTES (a single packet may
 *    exceed it only when the mailbox is empty).  A sender that finds it
 *    full gets -EAGAIN and is recorded as a waiter; its eventfd is written
 *    when the receiver has drained the mailbox below half.  So a guest
 *    that floods a sibling only stalls its own tx queue.
 *  - A mailbox whose guest is absent (no frontend) refuses packets
 *    (-ECONNREFUSED); what it held when its guest went away is dropped and
 *    each sender gets an RST for it; its waiters are woken.
 *  - RSTs the devices themselves make (vsock_sib_send_rst: for a dropped
 *    packet, a departed guest's connections) are never refused for a full
 *    mailbox: they are few (bounded by what was dropped and by the flow
 *    table, vsock-flows.h) and losing one would leave a guest waiting.
 *  - Packets from one sender arrive in the order sent.
 */
#ifndef VHD_VSOCK_SIBLING_H
#define VHD_VSOCK_SIBLING_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "devices/vsock/vsock-pkt.h"
#include "devices/vsock/vsock-config.h"

#define VSOCK_SIB_MAILBOX_BYTES (1u << 20)
#define VSOCK_SIB_MAX 64        /* devices per process that can be siblings */

struct vsock_sib_msg {
	struct vsock_sib_msg *next;
	struct vsock_hdr h;         /* as the sender wrote it */
	uint32_t off;               /* payload bytes already delivered */
	uint8_t data[];             /* h.len bytes */
};

struct vsock_sib {
	unsigned index;             /* in the registry */
	const struct vsock_vm *vm;
	int efd;                    /* wakes this device's worker */
	pthread_mutex_t lock;
	struct vsock_sib_msg *head, *tail;
	size_t bytes;
	bool active;                /* the guest is there */
	uint64_t waiters;           /* registry indices of blocked senders */
};

/* Create a device's entry (eventfd included) and add it to the registry.
 * 0 or -errno. */
int vsock_sib_register(const struct vsock_vm *vm, struct vsock_sib **out);
/* Remove and free (at exit, workers stopped). */
void vsock_sib_unregister(struct vsock_sib *s);

/* The device of `cid` if it shares a group with `from`; NULL otherwise. */
struct vsock_sib *vsock_sib_lookup(const struct vsock_sib *from, uint64_t cid);

/* Guest present / gone (frontend connected / reset). */
void vsock_sib_set_active(struct vsock_sib *s, bool active);

/* Relay a packet (header h, payload in iov at offset VSOCK_HDR_SIZE)
 * from `from` to `to`.  0, -EAGAIN (full: from is woken later),
 * -ECONNREFUSED (to has no guest), -ENOMEM. */
int vsock_sib_send(struct vsock_sib *from, struct vsock_sib *to,
		   const struct vsock_hdr *h, const struct iovec *iov, unsigned n);

/* An RST made by a device (not relayed from a guest): as vsock_sib_send,
 * but never -EAGAIN. */
int vsock_sib_send_rst(struct vsock_sib *from, struct vsock_sib *to, const struct vsock_hdr *h);

/* Receiver side: is a packet waiting? */
bool vsock_sib_pending(struct vsock_sib *s);
/* The header of the next packet, if one waits and none of it has been
 * delivered yet (true), without taking it. */
bool vsock_sib_peek(struct vsock_sib *s, struct vsock_hdr *h);
/* Drop the next packet (the caller refuses it). */
void vsock_sib_drop_head(struct vsock_sib *s);
/* Write the next packet (or the next piece of it: a payload larger than
 * the buffer is split, EOM staying on the last piece) into a writable
 * chain of `cap` bytes, and its header into *h (may be NULL).  Bytes
 * written, 0 if none waiting. */
size_t vsock_sib_fill(struct vsock_sib *s, const struct iovec *iov, unsigned n, size_t cap,
		      struct vsock_hdr *h);

/* Drain the eventfd (after it polled readable). */
void vsock_sib_ack(struct vsock_sib *s);

#endif
