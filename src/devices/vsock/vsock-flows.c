/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * The sibling connections of one guest (vsock-flows.h): a small open-
 * addressing hash table with linear probing and backward-shift deletion,
 * kept at most half full.
 */
#include "config.h"
#include "devices/vsock/vsock-flows.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define FLOWS_MIN_CAP 64u

void vsock_flows_init(struct vsock_flows *f)
{
	memset(f, 0, sizeof(*f));
}

void vsock_flows_free(struct vsock_flows *f)
{
	free(f->slot);
	vsock_flows_init(f);
}

bool vsock_flows_full(const struct vsock_flows *f)
{
	return f->count >= VSOCK_FLOWS_MAX;
}

static size_t hash(uint32_t local_port, uint64_t peer_cid, uint32_t peer_port)
{
	uint64_t k = ((uint64_t)local_port << 32 | peer_port) ^ (peer_cid * 0x9e3779b97f4a7c15ull);

	k ^= k >> 31;
	k *= 0xbf58476d1ce4e5b9ull;
	return (size_t)(k ^ (k >> 29));
}

/* The slot holding the flow, or the free slot where it would go. */
static size_t find(const struct vsock_flows *f, uint32_t local_port, uint64_t peer_cid,
		   uint32_t peer_port)
{
	size_t mask = f->cap - 1, i = hash(local_port, peer_cid, peer_port) & mask;

	while (f->slot[i].peer_cid &&
	       !(f->slot[i].peer_cid == peer_cid && f->slot[i].local_port == local_port &&
		 f->slot[i].peer_port == peer_port))
		i = (i + 1) & mask;
	return i;
}

static int grow(struct vsock_flows *f)
{
	size_t ncap = f->cap ? f->cap * 2 : FLOWS_MIN_CAP;
	struct vsock_flows n = { .cap = ncap };

	n.slot = calloc(ncap, sizeof(*n.slot));
	if (!n.slot)
		return -ENOMEM;
	for (size_t i = 0; i < f->cap; i++)
		if (f->slot[i].peer_cid)
			n.slot[find(&n, f->slot[i].local_port, f->slot[i].peer_cid,
				    f->slot[i].peer_port)] = f->slot[i];
	n.count = f->count;
	free(f->slot);
	*f = n;
	return 0;
}

static void del_at(struct vsock_flows *f, size_t i)
{
	size_t mask = f->cap - 1, j = i;

	/* Backward shift: move later members of the probe run into the hole
	 * when their home slot is not between the hole and them. */
	for (;;) {
		size_t home;

		j = (j + 1) & mask;
		if (!f->slot[j].peer_cid)
			break;
		home = hash(f->slot[j].local_port, f->slot[j].peer_cid, f->slot[j].peer_port) & mask;
		if (((j - home) & mask) >= ((j - i) & mask)) {
			f->slot[i] = f->slot[j];
			i = j;
		}
	}
	f->slot[i].peer_cid = 0;
	f->count--;
}

int vsock_flows_note(struct vsock_flows *f, uint16_t op, uint16_t type, uint32_t local_port,
		     uint64_t peer_cid, uint32_t peer_port)
{
	size_t i;

	/* A sibling's CID is never 0 (virtio 1.2, 5.10.4: CIDs 0-2 are not
	 * guests), so 0 can mark a free slot. */
	if (peer_cid == 0)
		return 0;
	if (op == VSOCK_OP_REQUEST) {
		if (f->cap && f->slot[find(f, local_port, peer_cid, peer_port)].peer_cid)
			return 0;       /* a repeated REQUEST */
		if (vsock_flows_full(f))
			return -ENOSPC;
		if ((f->count + 1) * 2 > f->cap && grow(f) < 0)
			return -ENOMEM;
		i = find(f, local_port, peer_cid, peer_port);
		f->slot[i] = (struct vsock_flow){ .peer_cid = peer_cid, .local_port = local_port,
						  .peer_port = peer_port, .type = type };
		f->count++;
	} else if (op == VSOCK_OP_RST && f->count) {
		i = find(f, local_port, peer_cid, peer_port);
		if (f->slot[i].peer_cid)
			del_at(f, i);
	}
	return 0;
}

void vsock_flows_drain(struct vsock_flows *f,
		       void (*fn)(const struct vsock_flow *fl, void *opaque), void *opaque)
{
	for (size_t i = 0; i < f->cap; i++)
		if (f->slot[i].peer_cid)
			fn(&f->slot[i], opaque);
	vsock_flows_free(f);
}
