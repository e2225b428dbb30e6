/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * The sibling connections one guest takes part in.
 *
 * The sibling relay (vsock-sibling.h) carries packets between guests
 * without terminating their connections, so nothing else knows which
 * connections would be left without a peer when a guest goes away.  This
 * table learns them from the packets relayed in either direction: a
 * REQUEST adds a flow, an RST removes it (Linux ends every connection
 * with an RST, also after a clean SHUTDOWN).  When the guest goes away,
 * the device sends an RST to the peer of every flow left (virtio 1.2,
 * 5.10.6.5: RST for a connection with no socket behind it), so a sibling
 * never waits for an answer that cannot come.
 *
 * Promises:
 *  - At most VSOCK_FLOWS_MAX flows; a REQUEST that would need one more is
 *    refused by the caller (vsock_flows_full) with an RST.
 *  - Used by the device's worker thread only: no locks.
 */
#ifndef VHD_VSOCK_FLOWS_H
#define VHD_VSOCK_FLOWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/vsock/vsock-pkt.h"

#define VSOCK_FLOWS_MAX 16384u

struct vsock_flow {
	uint64_t peer_cid;          /* 0 = free slot */
	uint32_t local_port;        /* the port on this guest's side */
	uint32_t peer_port;
	uint16_t type;              /* VSOCK_TYPE_STREAM / SEQPACKET */
};

struct vsock_flows {
	struct vsock_flow *slot;    /* open addressing, linear probing */
	size_t cap;                 /* power of two, 0 before the first flow */
	size_t count;
};

/* An empty table (no allocation). */
void vsock_flows_init(struct vsock_flows *f);
void vsock_flows_free(struct vsock_flows *f);

/* True when no new flow can be added. */
bool vsock_flows_full(const struct vsock_flows *f);

/* A packet relayed for this guest: `local_port` is the port on this
 * guest's side, the peer the sibling's CID and port.  REQUEST adds the
 * flow (0, or -ENOSPC / -ENOMEM: not recorded), RST removes it, other
 * operations change nothing.  Returns 0 for those. */
int vsock_flows_note(struct vsock_flows *f, uint16_t op, uint16_t type, uint32_t local_port,
		     uint64_t peer_cid, uint32_t peer_port);

/* Call fn for every flow, then empty the table (the guest went away). */
void vsock_flows_drain(struct vsock_flows *f,
		       void (*fn)(const struct vsock_flow *fl, void *opaque), void *opaque);

#endif
