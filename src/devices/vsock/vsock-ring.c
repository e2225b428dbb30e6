/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Per-connection guest->host buffer (vsock-ring.h).
 */
#include "config.h"
#include "devices/vsock/vsock-ring.h"
#include "vhost-device.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* First allocation: a whole 64 KiB packet fits, and the default window
 * (65536) is one allocation; larger windows double from there. */
#define RING_MIN_CAP 65536u

void vsock_ring_init(struct vsock_ring *r, uint32_t max)
{
	memset(r, 0, sizeof(*r));
	r->max = max;
}

void vsock_ring_free(struct vsock_ring *r)
{
	free(r->data);
	free(r->msgs);
	vsock_ring_init(r, r->max);
}

/* Make room for `need` bytes in total; the content is linearised into
 * the new allocation. */
static int ring_grow(struct vsock_ring *r, uint32_t need)
{
	uint32_t cap = r->cap ? r->cap : RING_MIN_CAP;
	struct iovec v[2];
	unsigned k;
	uint8_t *d;
	size_t off = 0;

	while (cap < need)
		cap = cap > r->max / 2 ? r->max : cap * 2;
	if (cap > r->max)
		cap = r->max;
	if (cap < need)
		return -ENOBUFS;
	d = malloc(cap);
	if (!d)
		return -ENOMEM;
	k = vsock_ring_peek(r, r->len, v);
	for (unsigned i = 0; i < k; i++) {
		memcpy(d + off, v[i].iov_base, v[i].iov_len);
		off += v[i].iov_len;
	}
	free(r->data);
	r->data = d;
	r->cap = cap;
	r->head = 0;
	return 0;
}

static void ring_copy_in(struct vsock_ring *r, const struct iovec *iov, unsigned n,
			 size_t off, const void *flat, size_t len)
{
	uint32_t tail = (r->head + r->len) % r->cap;
	size_t done = 0;

	/* Everything in uint32_t: len fits (ring_reserve checked it against
	 * max), and tail + chunk <= cap. */
	while (done < len) {
		uint32_t chunk = r->cap - tail;
		if (chunk > len - done)
			chunk = (uint32_t)(len - done);
		if (flat)
			memcpy(r->data + tail, (const uint8_t *)flat + done, chunk);
		else
			iov_to_buf(iov, n, off + done, r->data + tail, chunk);
		done += chunk;
		tail = (tail + chunk) % r->cap;
	}
	r->len += (uint32_t)len;
	r->partial += (uint32_t)len;     /* used by SEQPACKET only */
}

static int ring_reserve(struct vsock_ring *r, size_t len)
{
	if (len > r->max || r->len + len > r->max)
		return -ENOBUFS;
	if (r->len + len > r->cap)
		return ring_grow(r, (uint32_t)(r->len + len));
	return 0;
}

int vsock_ring_push(struct vsock_ring *r, const struct iovec *iov, unsigned n,
		    size_t off, size_t len)
{
	int e;

	if (len == 0)
		return 0;
	e = ring_reserve(r, len);
	if (e)
		return e;
	ring_copy_in(r, iov, n, off, NULL, len);
	return 0;
}

int vsock_ring_push_buf(struct vsock_ring *r, const void *buf, size_t len)
{
	int e;

	if (len == 0)
		return 0;
	e = ring_reserve(r, len);
	if (e)
		return e;
	ring_copy_in(r, NULL, 0, 0, buf, len);
	return 0;
}

unsigned vsock_ring_peek(const struct vsock_ring *r, uint32_t len, struct iovec out[2])
{
	uint32_t first;

	if (len > r->len)
		len = r->len;
	if (len == 0)
		return 0;
	first = r->cap - r->head;
	if (first >= len) {
		out[0].iov_base = r->data + r->head;
		out[0].iov_len = len;
		return 1;
	}
	out[0].iov_base = r->data + r->head;
	out[0].iov_len = first;
	out[1].iov_base = r->data;
	out[1].iov_len = len - first;
	return 2;
}

void vsock_ring_consume(struct vsock_ring *r, uint32_t n)
{
	if (n > r->len)
		n = r->len;
	r->len -= n;
	r->head = r->len ? (r->head + n) % r->cap : 0;
}

/* One sendmsg of the ring's first len bytes (len <= r->len), without
 * blocking: bytes sent, -EAGAIN when the socket is full, or -errno. */
static ssize_t send_head(struct vsock_ring *r, int fd, uint32_t len)
{
	struct iovec v[2];
	struct msghdr m = { .msg_iov = v, .msg_iovlen = vsock_ring_peek(r, len, v) };
	ssize_t w;

	do {
		w = sendmsg(fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
	} while (w < 0 && errno == EINTR);
	if (w < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return w;
}

ssize_t vsock_ring_write_fd(struct vsock_ring *r, int fd)
{
	size_t total = 0;

	while (r->len) {
		uint32_t len = r->len;
		ssize_t w = send_head(r, fd, len);

		if (w == -EAGAIN)
			break;
		if (w < 0)
			return w;
		vsock_ring_consume(r, (uint32_t)w);
		total += (size_t)w;
		if ((size_t)w < len)
			break;      /* the socket is full */
	}
	return (ssize_t)total;
}

int vsock_ring_end_msg(struct vsock_ring *r)
{
	if (r->msg_count >= VSOCK_RING_MAX_MSGS)
		return -ENOBUFS;
	if (r->msg_count == r->msg_cap) {
		uint32_t cap = r->msg_cap ? r->msg_cap * 2 : 16;
		uint32_t *m = malloc(cap * sizeof(*m));
		if (!m)
			return -ENOMEM;
		for (uint32_t i = 0; i < r->msg_count; i++)
			m[i] = r->msgs[(r->msg_head + i) % r->msg_cap];
		free(r->msgs);
		r->msgs = m;
		r->msg_cap = cap;
		r->msg_head = 0;
	}
	r->msgs[(r->msg_head + r->msg_count) % r->msg_cap] = r->partial;
	r->msg_count++;
	r->partial = 0;
	return 0;
}

bool vsock_ring_has_msgs(const struct vsock_ring *r)
{
	return r->msg_count != 0;
}

ssize_t vsock_ring_send_msgs(struct vsock_ring *r, int fd)
{
	size_t total = 0;

	while (r->msg_count) {
		uint32_t len = r->msgs[r->msg_head];
		ssize_t w = send_head(r, fd, len);

		if (w == -EAGAIN)
			break;
		if (w < 0)
			return w;
		/* A SEQPACKET socket takes a message whole or not at all. */
		vsock_ring_consume(r, len);
		r->msg_head = (r->msg_head + 1) % r->msg_cap;
		r->msg_count--;
		total += len;
	}
	return (ssize_t)total;
}
