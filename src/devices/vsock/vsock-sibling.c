/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Sibling relay between devices of one process (vsock-sibling.h).
 */
#include "config.h"
#include "devices/vsock/vsock-sibling.h"
#include "vhost-device.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* Written on the main thread before the workers start, read-only after. */
static struct vsock_sib *registry[VSOCK_SIB_MAX];

static void wake(int efd)
{
	uint64_t one = 1;

	if (write(efd, &one, sizeof(one)) < 0) {
		/* counter saturated: the reader is woken anyway */
	}
}

int vsock_sib_register(const struct vsock_vm *vm, struct vsock_sib **out)
{
	struct vsock_sib *s;
	unsigned i;

	for (i = 0; i < VSOCK_SIB_MAX && registry[i]; i++)
		;
	if (i == VSOCK_SIB_MAX)
		return -ENOSPC;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->efd < 0) {
		int e = -errno;
		free(s);
		return e;
	}
	pthread_mutex_init(&s->lock, NULL);
	s->index = i;
	s->vm = vm;
	registry[i] = s;
	*out = s;
	return 0;
}

static void drop_all(struct vsock_sib *s)
{
	struct vsock_sib_msg *m = s->head;

	while (m) {
		struct vsock_sib_msg *next = m->next;
		free(m);
		m = next;
	}
	s->head = s->tail = NULL;
	s->bytes = 0;
}

/* Called with s->lock held; returns the waiters to wake. */
static uint64_t take_waiters(struct vsock_sib *s)
{
	uint64_t w = s->waiters;

	s->waiters = 0;
	return w;
}

static void wake_waiters(uint64_t w)
{
	for (unsigned i = 0; w && i < VSOCK_SIB_MAX; i++, w >>= 1)
		if ((w & 1) && registry[i])
			wake(registry[i]->efd);
}

void vsock_sib_unregister(struct vsock_sib *s)
{
	if (!s)
		return;
	registry[s->index] = NULL;
	drop_all(s);
	pthread_mutex_destroy(&s->lock);
	close(s->efd);
	free(s);
}

struct vsock_sib *vsock_sib_lookup(const struct vsock_sib *from, uint64_t cid)
{
	for (unsigned i = 0; i < VSOCK_SIB_MAX; i++) {
		struct vsock_sib *s = registry[i];
		if (s && s != from && s->vm->guest_cid == cid)
			return vsock_vms_share_group(from->vm, s->vm) ? s : NULL;
	}
	return NULL;
}

static struct vsock_sib *find_cid(uint64_t cid)
{
	for (unsigned i = 0; i < VSOCK_SIB_MAX; i++)
		if (registry[i] && registry[i]->vm->guest_cid == cid)
			return registry[i];
	return NULL;
}

void vsock_sib_set_active(struct vsock_sib *s, bool active)
{
	struct vsock_sib_msg *dropped = NULL;
	uint64_t w = 0;

	pthread_mutex_lock(&s->lock);
	s->active = active;
	if (!active) {
		dropped = s->head;
		s->head = s->tail = NULL;
		s->bytes = 0;
		w = take_waiters(s);
	}
	pthread_mutex_unlock(&s->lock);
	wake_waiters(w);
	/* Packets this guest will never see: their senders get RST, as for
	 * a guest that is not there (outside our lock: the sender's mailbox
	 * has its own). */
	while (dropped) {
		struct vsock_sib_msg *next = dropped->next;
		struct vsock_sib *to = find_cid(dropped->h.src_cid);

		if (to && to != s && dropped->h.op != VSOCK_OP_RST) {
			struct vsock_hdr rst;

			vsock_hdr_reply(&dropped->h, VSOCK_OP_RST, &rst);
			vsock_sib_send_rst(s, to, &rst);
		}
		free(dropped);
		dropped = next;
	}
}

static int relay(struct vsock_sib *from, struct vsock_sib *to, const struct vsock_hdr *h,
		 const struct iovec *iov, unsigned n, bool bounded)
{
	size_t size = sizeof(struct vsock_sib_msg) + h->len;
	struct vsock_sib_msg *m;
	bool was_empty;

	/* Copy outside the lock; the receiver's worker must not wait for
	 * a sender's memcpy. */
	m = malloc(size);
	if (!m)
		return -ENOMEM;
	m->next = NULL;
	m->h = *h;
	m->off = 0;
	if (h->len)
		iov_to_buf(iov, n, VSOCK_HDR_SIZE, m->data, h->len);

	pthread_mutex_lock(&to->lock);
	if (!to->active) {
		pthread_mutex_unlock(&to->lock);
		free(m);
		return -ECONNREFUSED;
	}
	if (bounded && to->head && to->bytes + size > VSOCK_SIB_MAILBOX_BYTES) {
		to->waiters |= 1ull << from->index;
		pthread_mutex_unlock(&to->lock);
		free(m);
		return -EAGAIN;
	}
	was_empty = to->head == NULL;
	if (to->tail)
		to->tail->next = m;
	else
		to->head = m;
	to->tail = m;
	to->bytes += size;
	pthread_mutex_unlock(&to->lock);
	if (was_empty)
		wake(to->efd);
	return 0;
}

int vsock_sib_send(struct vsock_sib *from, struct vsock_sib *to,
		   const struct vsock_hdr *h, const struct iovec *iov, unsigned n)
{
	return relay(from, to, h, iov, n, true);
}

int vsock_sib_send_rst(struct vsock_sib *from, struct vsock_sib *to, const struct vsock_hdr *h)
{
	struct vsock_hdr rst = *h;

	rst.op = VSOCK_OP_RST;
	rst.len = 0;
	return relay(from, to, &rst, NULL, 0, false);
}

bool vsock_sib_pending(struct vsock_sib *s)
{
	bool r;

	pthread_mutex_lock(&s->lock);
	r = s->head != NULL;
	pthread_mutex_unlock(&s->lock);
	return r;
}

bool vsock_sib_peek(struct vsock_sib *s, struct vsock_hdr *h)
{
	struct vsock_sib_msg *m;

	pthread_mutex_lock(&s->lock);
	m = s->head;
	pthread_mutex_unlock(&s->lock);
	/* The head is ours alone (senders only append behind it). */
	if (!m || m->off)
		return false;
	*h = m->h;
	return true;
}

/* Unlink the head (ours alone) and wake senders waiting for room. */
static void pop_head(struct vsock_sib *s, struct vsock_sib_msg *m)
{
	uint64_t w = 0;

	pthread_mutex_lock(&s->lock);
	s->head = m->next;
	if (!s->head)
		s->tail = NULL;
	s->bytes -= sizeof(*m) + m->h.len;
	if (s->waiters && s->bytes < VSOCK_SIB_MAILBOX_BYTES / 2)
		w = take_waiters(s);
	pthread_mutex_unlock(&s->lock);
	free(m);
	wake_waiters(w);
}

void vsock_sib_drop_head(struct vsock_sib *s)
{
	struct vsock_sib_msg *m;

	pthread_mutex_lock(&s->lock);
	m = s->head;
	pthread_mutex_unlock(&s->lock);
	if (m)
		pop_head(s, m);
}

size_t vsock_sib_fill(struct vsock_sib *s, const struct iovec *iov, unsigned n, size_t cap,
		      struct vsock_hdr *out)
{
	struct vsock_sib_msg *m;
	struct vsock_hdr h;
	uint32_t chunk;
	bool last;

	if (cap < VSOCK_HDR_SIZE)
		return 0;
	pthread_mutex_lock(&s->lock);
	m = s->head;
	pthread_mutex_unlock(&s->lock);
	if (!m)
		return 0;
	/* The head is ours alone (senders only append behind it). */
	chunk = m->h.len - m->off;
	if (chunk > cap - VSOCK_HDR_SIZE)
		chunk = (uint32_t)(cap - VSOCK_HDR_SIZE);
	if (chunk == 0 && m->h.len != 0)
		return 0;       /* a header-only buffer cannot carry data */
	last = m->off + chunk == m->h.len;
	h = m->h;
	h.len = chunk;
	if (!last)
		h.flags &= ~(VSOCK_SEQ_EOM | VSOCK_SEQ_EOR);
	vsock_hdr_write(iov, n, cap, &h);
	if (chunk)
		iov_from_buf(iov, n, VSOCK_HDR_SIZE, m->data + m->off, chunk);
	m->off += chunk;
	if (out)
		*out = h;
	if (last)
		pop_head(s, m);
	return VSOCK_HDR_SIZE + chunk;
}

void vsock_sib_ack(struct vsock_sib *s)
{
	uint64_t v;

	if (read(s->efd, &v, sizeof(v)) < 0) {
		/* nothing to drain */
	}
}
