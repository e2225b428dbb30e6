/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Unit tests of the vsock connection state machine (vsock-conn.c) and its
 * guest->host buffer (vsock-ring.c).  The host side is a real socketpair:
 * the test reads and writes the "host application" end.
 *
 * Covered: every op in every state (a table), credit both ways (exact
 * window, violation, CREDIT_REQUEST when starved, CREDIT_UPDATE after
 * half the window), ordering through the buffer, back-pressure on a host
 * that stops reading, shutdown in each direction and half-close, RST
 * with buffered bytes (draining), the host-initiated handshake and its
 * "OK <port>" line, SEQPACKET boundaries both ways (fragments, bounce
 * buffer, empty messages, oversize messages), and the ring's limits.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "devices/vsock/vsock-conn.h"
#include "devices/vsock/vsock-ring.h"

#define GUEST_CID  3
#define GUEST_PORT 1234
#define HOST_PORT  5000

struct env {
	struct vsock_conn_cfg cfg;
	struct vsock_conn *c;
	int host;                   /* the host application's end */
	uint32_t g_fwd_cnt;         /* guest's bytes consumed (for headers) */
	uint32_t g_buf_alloc;
};

static struct env *env_new(uint16_t type, uint32_t buf_alloc)
{
	struct env *e = calloc(1, sizeof(*e));
	int sv[2];

	assert_non_null(e);
	assert_int_equal(socketpair(AF_UNIX, (type == VSOCK_TYPE_SEQPACKET ? SOCK_SEQPACKET : SOCK_STREAM)
				    | SOCK_NONBLOCK, 0, sv), 0);
	e->cfg.guest_cid = GUEST_CID;
	e->cfg.buf_alloc = buf_alloc;
	e->cfg.name = "test";
	e->host = sv[1];
	e->g_buf_alloc = 1u << 20;
	e->c = vsock_conn_new(&e->cfg, type, 2, HOST_PORT, GUEST_PORT, sv[0]);
	assert_non_null(e->c);
	return e;
}

static void env_free(struct env *e)
{
	vsock_conn_free(e->c);
	close(e->host);
	free(e);
}

static struct vsock_hdr ghdr(struct env *e, uint16_t op, uint32_t flags, uint32_t len)
{
	struct vsock_hdr h = {
		.src_cid = GUEST_CID, .dst_cid = 2, .src_port = GUEST_PORT, .dst_port = HOST_PORT,
		.len = len, .type = e->c->type, .op = op, .flags = flags,
		.buf_alloc = e->g_buf_alloc, .fwd_cnt = e->g_fwd_cnt,
	};
	return h;
}

/* A guest packet, its chain split after 10 bytes to exercise iovecs. */
static void gsend(struct env *e, uint16_t op, uint32_t flags, const void *data, uint32_t len)
{
	struct vsock_hdr h = ghdr(e, op, flags, len);
	uint8_t *buf = malloc(VSOCK_HDR_SIZE + len + 1);
	struct iovec iov[2];

	assert_non_null(buf);
	vsock_hdr_encode(&h, buf);
	if (len)
		memcpy(buf + VSOCK_HDR_SIZE, data, len);
	iov[0].iov_base = buf;
	iov[0].iov_len = 10;
	iov[1].iov_base = buf + 10;
	iov[1].iov_len = VSOCK_HDR_SIZE + len - 10;
	vsock_conn_guest_pkt(e->c, &h, iov, 2);
	free(buf);
}

/* Next packet for the guest into a buffer of cap bytes (in two pieces:
 * header and payload, as Linux < 6.2 posts them).  Returns the payload
 * length, or -1 if there was none. */
static int gfill(struct env *e, struct vsock_hdr *h, uint8_t *payload, size_t cap)
{
	uint8_t hb[VSOCK_HDR_SIZE];
	uint8_t *pb = malloc(cap > VSOCK_HDR_SIZE ? cap - VSOCK_HDR_SIZE : 1);
	struct iovec iov[2] = {
		{ hb, VSOCK_HDR_SIZE },
		{ pb, cap > VSOCK_HDR_SIZE ? cap - VSOCK_HDR_SIZE : 0 },
	};
	size_t n = vsock_conn_fill(e->c, iov, 2, cap);
	int r = -1;

	if (n) {
		assert_true(n >= VSOCK_HDR_SIZE);
		vsock_hdr_decode(hb, h);
		assert_int_equal(h->len, n - VSOCK_HDR_SIZE);
		assert_int_equal(h->src_cid, 2);
		assert_int_equal(h->dst_cid, GUEST_CID);
		assert_int_equal(h->src_port, e->c->local_port);
		assert_int_equal(h->dst_port, GUEST_PORT);
		if (payload)
			memcpy(payload, pb, n - VSOCK_HDR_SIZE);
		r = (int)(n - VSOCK_HDR_SIZE);
	}
	free(pb);
	return r;
}

static uint16_t fill_op(struct env *e)
{
	struct vsock_hdr h;

	return gfill(e, &h, NULL, 4096) < 0 ? 0 : h.op;
}

/* Guest-initiated and answered: RESPONSE sent. */
static void establish(struct env *e)
{
	struct vsock_hdr req = ghdr(e, VSOCK_OP_REQUEST, 0, 0);

	vsock_conn_start_guest(e->c, &req, false);
	assert_int_equal(fill_op(e), VSOCK_OP_RESPONSE);
	assert_int_equal(vsock_conn_state(e->c), VSOCK_CONN_ESTABLISHED);
}

static ssize_t host_read(struct env *e, void *buf, size_t len)
{
	return recv(e->host, buf, len, MSG_DONTWAIT);
}

/* Read everything available from the host end. */
static size_t host_drain(struct env *e, uint8_t *buf, size_t cap)
{
	size_t got = 0;
	ssize_t r;

	while (got < cap && (r = host_read(e, buf + got, cap - got)) > 0)
		got += (size_t)r;
	return got;
}

static bool host_closed(struct env *e)
{
	char b;
	return recv(e->host, &b, 1, MSG_DONTWAIT | MSG_PEEK) == 0;
}

/* Shrink the connection's socket so the host end fills up quickly. */
static void small_socket(struct env *e)
{
	int sz = 4096;
	setsockopt(e->c->fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	setsockopt(e->host, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
}

/* ---- every op in every state ------------------------------------------- */

enum st { S_HOST_CONNECTING, S_GUEST_CONNECTING, S_ESTABLISHED, S_RESETTING,
	  S_DRAINING, S_DEAD, S_COUNT };

static void make_state(struct env *e, enum st s)
{
	struct vsock_hdr req = ghdr(e, VSOCK_OP_REQUEST, 0, 0);
	static uint8_t big[65536];

	switch (s) {
	case S_HOST_CONNECTING:
		vsock_conn_start_guest(e->c, &req, true);
		assert_int_equal(vsock_conn_state(e->c), VSOCK_CONN_HOST_CONNECTING);
		assert_int_equal(vsock_conn_events(e->c), EPOLLOUT);
		break;
	case S_GUEST_CONNECTING:
		vsock_conn_start_host(e->c, true);
		assert_int_equal(fill_op(e), VSOCK_OP_REQUEST);
		assert_int_equal(vsock_conn_state(e->c), VSOCK_CONN_GUEST_CONNECTING);
		break;
	case S_ESTABLISHED:
		establish(e);
		break;
	case S_RESETTING:
		establish(e);
		vsock_conn_reset(e->c, false, "test");
		assert_int_equal(vsock_conn_state(e->c), VSOCK_CONN_RESETTING);
		break;
	case S_DRAINING:
		small_socket(e);
		establish(e);
		gsend(e, VSOCK_OP_RW, 0, big, sizeof(big));
		assert_true(vsock_conn_buffered(e->c) > 0);
		gsend(e, VSOCK_OP_RST, 0, NULL, 0);
		assert_int_equal(vsock_conn_state(e->c), VSOCK_CONN_DRAINING);
		break;
	case S_DEAD:
		establish(e);
		gsend(e, VSOCK_OP_RST, 0, NULL, 0);
		assert_int_equal(vsock_conn_state(e->c), VSOCK_CONN_DEAD);
		break;
	default:
		break;
	}
}

static void test_every_op_every_state(void **state)
{
	static const enum vsock_conn_state expect[S_COUNT][8] = {
		/*                     -, REQUEST, RESPONSE, RST, SHUTDOWN, RW, CREDIT_UPDATE, CREDIT_REQUEST */
		[S_HOST_CONNECTING] = { 0, VSOCK_CONN_RESETTING, VSOCK_CONN_RESETTING, VSOCK_CONN_DEAD,
					VSOCK_CONN_RESETTING, VSOCK_CONN_RESETTING,
					VSOCK_CONN_HOST_CONNECTING, VSOCK_CONN_HOST_CONNECTING },
		[S_GUEST_CONNECTING] = { 0, VSOCK_CONN_RESETTING, VSOCK_CONN_ESTABLISHED, VSOCK_CONN_DEAD,
					 VSOCK_CONN_RESETTING, VSOCK_CONN_RESETTING,
					 VSOCK_CONN_GUEST_CONNECTING, VSOCK_CONN_GUEST_CONNECTING },
		[S_ESTABLISHED] = { 0, VSOCK_CONN_RESETTING, VSOCK_CONN_RESETTING, VSOCK_CONN_DEAD,
				    VSOCK_CONN_RESETTING /* both ways shut: done */,
				    VSOCK_CONN_ESTABLISHED, VSOCK_CONN_ESTABLISHED, VSOCK_CONN_ESTABLISHED },
		[S_RESETTING] = { 0, VSOCK_CONN_RESETTING, VSOCK_CONN_RESETTING, VSOCK_CONN_DEAD,
				  VSOCK_CONN_RESETTING, VSOCK_CONN_RESETTING, VSOCK_CONN_RESETTING,
				  VSOCK_CONN_RESETTING },
		[S_DRAINING] = { 0, VSOCK_CONN_DRAINING, VSOCK_CONN_DRAINING, VSOCK_CONN_DRAINING,
				 VSOCK_CONN_DRAINING, VSOCK_CONN_DRAINING, VSOCK_CONN_DRAINING,
				 VSOCK_CONN_DRAINING },
		[S_DEAD] = { 0, VSOCK_CONN_DEAD, VSOCK_CONN_DEAD, VSOCK_CONN_DEAD, VSOCK_CONN_DEAD,
			     VSOCK_CONN_DEAD, VSOCK_CONN_DEAD, VSOCK_CONN_DEAD },
	};

	for (int s = 0; s < S_COUNT; s++) {
		for (uint16_t op = VSOCK_OP_REQUEST; op <= VSOCK_OP_CREDIT_REQUEST; op++) {
			struct env *e = env_new(VSOCK_TYPE_STREAM, 65536);
			enum vsock_conn_state got;
			uint8_t buf[16];

			make_state(e, (enum st)s);
			if (op == VSOCK_OP_RW)
				gsend(e, op, 0, "hello", 5);
			else
				gsend(e, op, op == VSOCK_OP_SHUTDOWN ? VSOCK_SHUTDOWN_BOTH : 0, NULL, 0);
			got = vsock_conn_state(e->c);
			if (got != expect[s][op])
				fail_msg("state %d, op %s: got %s, expected %s", s, vsock_op_str(op),
					 vsock_conn_state_str(got), vsock_conn_state_str(expect[s][op]));
			/* What the guest hears next. */
			switch (got) {
			case VSOCK_CONN_RESETTING:
				assert_true(vsock_conn_has_rx(e->c));
				assert_int_equal(fill_op(e), VSOCK_OP_RST);
				assert_int_equal(vsock_conn_state(e->c), VSOCK_CONN_DEAD);
				assert_true(host_closed(e));
				break;
			case VSOCK_CONN_DEAD:
				assert_false(vsock_conn_has_rx(e->c));
				assert_int_equal(fill_op(e), 0);
				if (s != S_DRAINING)
					assert_true(host_closed(e));
				break;
			case VSOCK_CONN_ESTABLISHED:
				if (s == S_GUEST_CONNECTING) {
					/* The host client learns the port the guest sees. */
					assert_int_equal(host_read(e, buf, sizeof(buf)), 8);
					assert_memory_equal(buf, "OK 5000\n", 8);
				}
				if (op == VSOCK_OP_RW) {
					assert_int_equal(host_read(e, buf, sizeof(buf)), 5);
					assert_memory_equal(buf, "hello", 5);
				}
				if (op == VSOCK_OP_CREDIT_REQUEST)
					assert_int_equal(fill_op(e), VSOCK_OP_CREDIT_UPDATE);
				else
					assert_int_equal(fill_op(e), 0);
				break;
			case VSOCK_CONN_HOST_CONNECTING:
			case VSOCK_CONN_GUEST_CONNECTING:
			case VSOCK_CONN_DRAINING:
				assert_int_equal(fill_op(e), 0);
				assert_false(host_closed(e));
				break;
			}
			env_free(e);
		}
	}
}

/* ---- handshakes ---------------------------------------------------------- */

static void test_host_connect_completion(void **state)
{
	struct env *e = env_new(VSOCK_TYPE_STREAM, 65536);
	struct vsock_hdr req = ghdr(e, VSOCK_OP_REQUEST, 0, 0);

	vsock_conn_start_guest(e->c, &req, true);
	assert_false(vsock_conn_has_rx(e->c));
	vsock_conn_host_event(e->c, EPOLLOUT);       /* connect done, SO_ERROR 0 */
	assert_int_equal(vsock_conn_state(e->c), VSOCK_CONN_ESTABLISHED);
	assert_true(vsock_conn_has_rx(e->c));
	assert_int_equal(fill_op(e), VSOCK_OP_RESPONSE);
	env_free(e);

	/* A hung-up connect is a refusal: RST. */
	e = env_new(VSOCK_TYPE_STREAM, 65536);
	req = ghdr(e, VSOCK_OP_REQUEST, 0, 0);
	vsock_conn_start_guest(e->c, &req, true);
	vsock_conn_host_event(e->c, EPOLLOUT | EPOLLHUP);
	assert_int_equal(vsock_conn_state(e->c), VSOCK_CONN_RESETTING);
	assert_int_equal(fill_op(e), VSOCK_OP_RST);
	env_free(e);
}

static void test_host_initiated(void **state)
{
	struct env *e = env_new(VSOCK_TYPE_STREAM, 65536);
	struct vsock_hdr h;
	uint8_t buf[64];

	/* The client may send data before OK: it waits in the socket. */
	assert_int_equal(send(e->host, "early", 5, 0), 5);
	vsock_conn_start_host(e->c, true);
	assert_true(vsock_conn_has_rx(e->c));
	assert_int_equal(gfill(e, &h, NULL, 4096), 0);
	assert_int_equal(h.op, VSOCK_OP_REQUEST);
	assert_int_equal(h.buf_alloc, 65536);
	assert_int_equal(h.type, VSOCK_TYPE_STREAM);
	/* Not readable before the guest answered. */
	assert_int_equal(vsock_conn_events(e->c), 0);
	vsock_conn_host_event(e->c, EPOLLIN);
	assert_int_equal(fill_op(e), 0);
	e->g_buf_alloc = 4096;
	gsend(e, VSOCK_OP_RESPONSE, 0, NULL, 0);
	assert_int_equal(vsock_conn_state(e->c), VSOCK_CONN_ESTABLISHED);
	assert_int_equal(host_read(e, buf, sizeof(buf)), 8);
	assert_memory_equal(buf, "OK 5000\n", 8);
	assert_true(vsock_conn_events(e->c) & EPOLLIN);
	vsock_conn_host_event(e->c, EPOLLIN);
	assert_int_equal(gfill(e, &h, buf, 4096), 5);
	assert_int_equal(h.op, VSOCK_OP_RW);
	assert_memory_equal(buf, "early", 5);
	env_free(e);

	/* A guest RST instead of RESPONSE: the client sees EOF, no OK. */
	e = env_new(VSOCK_TYPE_STREAM, 65536);
	vsock_conn_start_host(e->c, true);
	assert_int_equal(fill_op(e), VSOCK_OP_REQUEST);
	gsend(e, VSOCK_OP_RST, 0, NULL, 0);
	assert_int_equal(vsock_conn_state(e->c), VSOCK_CONN_DEAD);
	assert_true(host_closed(e));
	env_free(e);

	/* Reset before the REQUEST went out: the guest is not told. */
	e = env_new(VSOCK_TYPE_STREAM, 65536);
	vsock_conn_start_host(e->c, true);
	vsock_conn_reset(e->c, false, "test");
	assert_int_equal(vsock_conn_state(e->c), VSOCK_CONN_DEAD);
	env_free(e);
}

/* An AF_VSOCK client (--forward-listen) has no handshake: after the
 * guest's RESPONSE the first bytes it reads are the guest's, no "OK". */
static void test_host_initiated_vsock(void **state)
{
	struct env *e = env_new(VSOCK_TYPE_STREAM, 65536);
	uint8_t buf[64];

	vsock_conn_start_host(e->c, false);
	assert_int_equal(fill_op(e), VSOCK_OP_REQUEST);
	gsend(e, VSOCK_OP_RESPONSE, 0, NULL, 0);
	assert_int_equal(vsock_conn_state(e->c), VSOCK_CONN_ESTABLISHED);
	gsend(e, VSOCK_OP_RW, 0, "data", 4);
	assert_int_equal(host_read(e, buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "data", 4);
	env_free(e);
}

/* ---- guest -> host ------------------------------------------------------ */

static void test_g2h_order_and_credit(void **state)
{
	struct env *e = env_new(VSOCK_TYPE_STREAM, 65536);
	static uint8_t data[65536 + 1], got[65536 + 1];
	struct vsock_hdr h;
	size_t n = 0;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 3);
	small_socket(e);
	establish(e);
	/* The host does not read: bytes wait in the buffer, up to the
	 * window exactly. */
	for (size_t off = 0; off < 65536; off += 8192)
		gsend(e, VSOCK_OP_RW, 0, data + off, 8192);
	assert_int_equal(vsock_conn_state(e->c), VSOCK_CONN_ESTABLISHED);
	assert_true(vsock_conn_buffered(e->c) > 0);
	assert_true(vsock_conn_buffered(e->c) <= 65536);
	assert_true(e->c->txbuf.len <= 65536);
	assert_true(vsock_conn_events(e->c) & EPOLLOUT);
	/* The host reads a little; the rest flows on EPOLLOUT, in order. */
	while (n < 65536) {
		ssize_t r = host_read(e, got + n, 65536 - n);
		if (r > 0)
			n += (size_t)r;
		vsock_conn_host_event(e->c, EPOLLOUT);
	}
	assert_memory_equal(got, data, 65536);
	assert_int_equal(vsock_conn_buffered(e->c), 0);
	/* All of the window came back: the guest is told. */
	assert_true(vsock_conn_has_rx(e->c));
	assert_int_equal(gfill(e, &h, NULL, 4096), 0);
	assert_int_equal(h.op, VSOCK_OP_CREDIT_UPDATE);
	assert_int_equal(h.fwd_cnt, 65536);
	assert_int_equal(h.buf_alloc, 65536);
	env_free(e);
}

static void test_g2h_credit_violation(void **state)
{
	struct env *e = env_new(VSOCK_TYPE_STREAM, 16384);
	static uint8_t data[16385];

	small_socket(e);
	establish(e);
	/* Fill the host socket so nothing more leaves. */
	while (send(e->c->fd, data, sizeof(data), MSG_DONTWAIT) > 0)
		;
	gsend(e, VSOCK_OP_RW, 0, data, 16384);
	assert_int_equal(vsock_conn_state(e->c), VSOCK_CONN_ESTABLISHED);
	assert_int_equal(vsock_conn_buffered(e->c), 16384);
	/* One byte beyond the credit resets. */
	gsend(e, VSOCK_OP_RW, 0, data, 1);
	assert_int_equal(vsock_conn_state(e->c), VSOCK_CONN_RESETTING);
	assert_int_equal(fill_op(e), VSOCK_OP_RST);
	env_free(e);

	/* One packet larger than the whole window. */
	e = env_new(VSOCK_TYPE_STREAM, 16384);
	establish(e);
	gsend(e, VSOCK_OP_RW, 0, data, 16385);
	assert_int_equal(vsock_conn_state(e->c), VSOCK_CONN_RESETTING);
	env_free(e);
}

static void test_credit_update_threshold(void **state)
{
	struct env *e = env_new(VSOCK_TYPE_STREAM, 65536);
	static uint8_t data[32768], sink[65536];
	struct vsock_hdr h;

	establish(e);
	/* A quarter of the window consumed: no update yet. */
	gsend(e, VSOCK_OP_RW, 0, data, 16384);
	assert_false(vsock_conn_has_rx(e->c));
	/* Past half: an update, carrying fwd_cnt. */
	gsend(e, VSOCK_OP_RW, 0, data, 20000);
	assert_true(vsock_conn_has_rx(e->c));
	assert_int_equal(gfill(e, &h, NULL, 4096), 0);
	assert_int_equal(h.op, VSOCK_OP_CREDIT_UPDATE);
	assert_int_equal(h.fwd_cnt, 36384);
	assert_false(vsock_conn_has_rx(e->c));
	assert_int_equal(host_drain(e, sink, sizeof(sink)), 36384);
	env_free(e);
}

/* ---- host -> guest ------------------------------------------------------ */

static void test_h2g_credit_and_backpressure(void **state)
{
	struct env *e = env_new(VSOCK_TYPE_STREAM, 65536);
	static uint8_t data[10000], got[10000];
	struct vsock_hdr h;
	size_t n = 0;
	int r;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i ^ (i >> 8));
	e->g_buf_alloc = 3000;
	establish(e);
	assert_int_equal(send(e->host, data, sizeof(data), 0), (ssize_t)sizeof(data));
	assert_true(vsock_conn_events(e->c) & EPOLLIN);
	vsock_conn_host_event(e->c, EPOLLIN);
	/* The guest's window (3000) bounds what is read. */
	while ((r = gfill(e, &h, got + n, 1024 + VSOCK_HDR_SIZE)) > 0) {
		assert_int_equal(h.op, VSOCK_OP_RW);
		n += (size_t)r;
	}
	assert_int_equal(n, 3000);
	/* Starved: one CREDIT_REQUEST, and the socket is not watched. */
	assert_int_equal(h.op, VSOCK_OP_CREDIT_REQUEST);
	assert_int_equal(fill_op(e), 0);
	assert_false(vsock_conn_events(e->c) & EPOLLIN);
	assert_false(vsock_conn_has_rx(e->c));
	/* The guest consumed 3000: credit for 3000 more. */
	e->g_fwd_cnt = 3000;
	gsend(e, VSOCK_OP_CREDIT_UPDATE, 0, NULL, 0);
	assert_true(vsock_conn_has_rx(e->c));
	while ((r = gfill(e, &h, got + n, 65536)) > 0 && h.op == VSOCK_OP_RW)
		n += (size_t)r;
	assert_int_equal(n, 6000);
	e->g_fwd_cnt = 6000;
	e->g_buf_alloc = 1u << 20;
	gsend(e, VSOCK_OP_CREDIT_UPDATE, 0, NULL, 0);
	while ((r = gfill(e, &h, got + n, 65536)) > 0 && h.op == VSOCK_OP_RW)
		n += (size_t)r;
	assert_int_equal(n, sizeof(data));
	assert_memory_equal(got, data, sizeof(data));
	/* Drained: watching the socket again. */
	assert_true(vsock_conn_events(e->c) & EPOLLIN);
	env_free(e);
}

static void test_h2g_eof_and_close(void **state)
{
	struct env *e = env_new(VSOCK_TYPE_STREAM, 65536);
	struct vsock_hdr h;
	uint8_t buf[64];

	establish(e);
	/* Half-close from the host: SHUTDOWN(SEND) after the data. */
	assert_int_equal(send(e->host, "bye", 3, 0), 3);
	shutdown(e->host, SHUT_WR);
	vsock_conn_host_event(e->c, EPOLLIN | EPOLLRDHUP);
	assert_int_equal(gfill(e, &h, buf, 4096), 3);
	assert_int_equal(gfill(e, &h, buf, 4096), 0);
	assert_int_equal(h.op, VSOCK_OP_SHUTDOWN);
	assert_int_equal(h.flags, VSOCK_SHUTDOWN_SEND);
	/* The guest may still send. */
	gsend(e, VSOCK_OP_RW, 0, "more", 4);
	assert_int_equal(host_read(e, buf, sizeof(buf)), 4);
	/* The guest closes: done both ways, RST, host socket closed. */
	gsend(e, VSOCK_OP_SHUTDOWN, VSOCK_SHUTDOWN_BOTH, NULL, 0);
	assert_int_equal(vsock_conn_state(e->c), VSOCK_CONN_RESETTING);
	assert_int_equal(fill_op(e), VSOCK_OP_RST);
	assert_true(host_closed(e));
	env_free(e);

	/* The host closes its socket: SHUTDOWN(SEND|RCV). */
	e = env_new(VSOCK_TYPE_STREAM, 65536);
	establish(e);
	close(e->host);
	e->host = socket(AF_UNIX, SOCK_STREAM, 0);
	vsock_conn_host_event(e->c, EPOLLIN | EPOLLHUP);
	assert_int_equal(gfill(e, &h, buf, 4096), 0);
	assert_int_equal(h.op, VSOCK_OP_SHUTDOWN);
	assert_int_equal(h.flags, VSOCK_SHUTDOWN_BOTH);
	/* Data the guest sends now hits a closed socket: RST. */
	gsend(e, VSOCK_OP_RW, 0, "x", 1);
	assert_int_equal(vsock_conn_state(e->c), VSOCK_CONN_RESETTING);
	env_free(e);
}

static void test_guest_shutdown_directions(void **state)
{
	struct env *e = env_new(VSOCK_TYPE_STREAM, 65536);
	struct vsock_hdr h;
	uint8_t buf[64];

	establish(e);
	/* SEND: the host reads the data, then EOF; it can still answer. */
	gsend(e, VSOCK_OP_RW, 0, "abc", 3);
	gsend(e, VSOCK_OP_SHUTDOWN, VSOCK_SHUTDOWN_SEND, NULL, 0);
	assert_int_equal(host_read(e, buf, sizeof(buf)), 3);
	assert_int_equal(host_read(e, buf, sizeof(buf)), 0);
	assert_int_equal(send(e->host, "reply", 5, 0), 5);
	vsock_conn_host_event(e->c, EPOLLIN);
	assert_int_equal(gfill(e, &h, buf, 4096), 5);
	assert_memory_equal(buf, "reply", 5);
	/* Data after SHUTDOWN(SEND) is a protocol error. */
	gsend(e, VSOCK_OP_RW, 0, "x", 1);
	assert_int_equal(vsock_conn_state(e->c), VSOCK_CONN_RESETTING);
	env_free(e);

	/* RCV: host writes fail instead of piling up. */
	e = env_new(VSOCK_TYPE_STREAM, 65536);
	establish(e);
	gsend(e, VSOCK_OP_SHUTDOWN, VSOCK_SHUTDOWN_RCV, NULL, 0);
	assert_int_equal(vsock_conn_state(e->c), VSOCK_CONN_ESTABLISHED);
	assert_false(vsock_conn_events(e->c) & EPOLLIN);
	assert_int_equal(send(e->host, "x", 1, MSG_NOSIGNAL), -1);
	assert_int_equal(errno, EPIPE);
	/* The guest can still send. */
	gsend(e, VSOCK_OP_RW, 0, "ok", 2);
	assert_int_equal(host_read(e, buf, sizeof(buf)), 2);
	env_free(e);
}

static void test_rst_drains(void **state)
{
	struct env *e = env_new(VSOCK_TYPE_STREAM, 262144);
	static uint8_t data[200000], got[200000];
	size_t n = 0;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 13);
	small_socket(e);
	establish(e);
	gsend(e, VSOCK_OP_RW, 0, data, sizeof(data));
	assert_true(vsock_conn_buffered(e->c) > 0);
	gsend(e, VSOCK_OP_RST, 0, NULL, 0);
	assert_int_equal(vsock_conn_state(e->c), VSOCK_CONN_DRAINING);
	assert_false(vsock_conn_has_rx(e->c));
	assert_int_equal(vsock_conn_events(e->c), EPOLLOUT);
	while (vsock_conn_state(e->c) == VSOCK_CONN_DRAINING) {
		ssize_t r = host_read(e, got + n, sizeof(got) - n);
		if (r > 0)
			n += (size_t)r;
		vsock_conn_host_event(e->c, EPOLLOUT);
	}
	assert_int_equal(vsock_conn_state(e->c), VSOCK_CONN_DEAD);
	n += host_drain(e, got + n, sizeof(got) - n);
	assert_int_equal(n, sizeof(data));
	assert_memory_equal(got, data, sizeof(data));
	assert_true(host_closed(e));
	env_free(e);
}

static void test_type_change_resets(void **state)
{
	struct env *e = env_new(VSOCK_TYPE_STREAM, 65536);
	struct vsock_hdr h = ghdr(e, VSOCK_OP_RW, 0, 0);
	uint8_t buf[VSOCK_HDR_SIZE];
	struct iovec iov = { buf, sizeof(buf) };

	establish(e);
	h.type = VSOCK_TYPE_SEQPACKET;
	vsock_hdr_encode(&h, buf);
	vsock_conn_guest_pkt(e->c, &h, &iov, 1);
	assert_int_equal(vsock_conn_state(e->c), VSOCK_CONN_RESETTING);
	env_free(e);
}

/* ---- SEQPACKET ----------------------------------------------------------- */

static void test_seq_g2h_boundaries(void **state)
{
	struct env *e = env_new(VSOCK_TYPE_SEQPACKET, 65536);
	uint8_t buf[256];

	establish(e);
	/* One message in three fragments, then a whole one, then an empty one. */
	gsend(e, VSOCK_OP_RW, 0, "frag1-", 6);
	gsend(e, VSOCK_OP_RW, 0, "frag2-", 6);
	assert_int_equal(host_read(e, buf, sizeof(buf)), -1);      /* nothing yet */
	gsend(e, VSOCK_OP_RW, VSOCK_SEQ_EOM, "end", 3);
	gsend(e, VSOCK_OP_RW, VSOCK_SEQ_EOM | VSOCK_SEQ_EOR, "whole", 5);
	gsend(e, VSOCK_OP_RW, VSOCK_SEQ_EOM, NULL, 0);
	assert_int_equal(host_read(e, buf, sizeof(buf)), 15);
	assert_memory_equal(buf, "frag1-frag2-end", 15);
	assert_int_equal(host_read(e, buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "whole", 5);
	assert_int_equal(host_read(e, buf, sizeof(buf)), 0);       /* empty message */
	assert_int_equal(host_read(e, buf, sizeof(buf)), -1);
	env_free(e);
}

static void test_seq_h2g_fragments(void **state)
{
	struct env *e = env_new(VSOCK_TYPE_SEQPACKET, 65536);
	static uint8_t msg[10000], got[10000];
	struct vsock_hdr h;
	size_t n = 0;
	int r;

	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)(i * 31);
	establish(e);
	/* Small message: straight into one buffer, EOM. */
	assert_int_equal(send(e->host, "hi", 2, 0), 2);
	assert_int_equal(send(e->host, msg, sizeof(msg), 0), (ssize_t)sizeof(msg));
	assert_int_equal(send(e->host, "", 0, 0), 0);
	vsock_conn_host_event(e->c, EPOLLIN);
	assert_int_equal(gfill(e, &h, got, 4096), 2);
	assert_int_equal(h.op, VSOCK_OP_RW);
	assert_int_equal(h.flags & VSOCK_SEQ_EOM, VSOCK_SEQ_EOM);
	/* 10000 bytes through 4 KiB buffers: three pieces, EOM on the last. */
	while ((r = gfill(e, &h, got + n, 4096)) > 0) {
		n += (size_t)r;
		if (n < sizeof(msg))
			assert_int_equal(h.flags & VSOCK_SEQ_EOM, 0);
		else
			break;
	}
	assert_int_equal(n, sizeof(msg));
	assert_int_equal(h.flags & VSOCK_SEQ_EOM, VSOCK_SEQ_EOM);
	assert_memory_equal(got, msg, sizeof(msg));
	/* The empty message. */
	assert_int_equal(gfill(e, &h, got, 4096), 0);
	assert_int_equal(h.op, VSOCK_OP_RW);
	assert_int_equal(h.flags & VSOCK_SEQ_EOM, VSOCK_SEQ_EOM);
	/* Then end of file. */
	shutdown(e->host, SHUT_WR);
	vsock_conn_host_event(e->c, EPOLLIN | EPOLLRDHUP);
	assert_int_equal(gfill(e, &h, got, 4096), 0);
	assert_int_equal(h.op, VSOCK_OP_SHUTDOWN);
	env_free(e);
}

static void test_seq_h2g_too_large(void **state)
{
	struct env *e = env_new(VSOCK_TYPE_SEQPACKET, 4096);
	static uint8_t msg[5000];

	establish(e);
	assert_int_equal(send(e->host, msg, sizeof(msg), 0), (ssize_t)sizeof(msg));
	vsock_conn_host_event(e->c, EPOLLIN);
	assert_int_equal(fill_op(e), VSOCK_OP_RST);
	assert_int_equal(vsock_conn_state(e->c), VSOCK_CONN_DEAD);
	env_free(e);
}

/* ---- ring ---------------------------------------------------------------- */

static void test_ring(void **state)
{
	struct vsock_ring r;
	uint8_t data[300], out[300];
	struct iovec v[2];
	unsigned k;

	for (unsigned i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)i;
	vsock_ring_init(&r, 200000);
	assert_int_equal(vsock_ring_push_buf(&r, data, 300), 0);
	assert_int_equal(r.cap, 65536);
	/* Wrap around many times; bytes come out in order. */
	for (unsigned round = 0; round < 1000; round++) {
		k = vsock_ring_peek(&r, 300, v);
		size_t off = 0;
		for (unsigned i = 0; i < k; i++) {
			memcpy(out + off, v[i].iov_base, v[i].iov_len);
			off += v[i].iov_len;
		}
		assert_int_equal(off, 300);
		assert_memory_equal(out, data, 300);
		vsock_ring_consume(&r, 300);
		assert_int_equal(vsock_ring_push_buf(&r, data, 300), 0);
	}
	assert_int_equal(r.cap, 65536);
	/* Grows (wrapped content linearised, in order), up to max and not
	 * beyond. */
	for (unsigned i = 0; i < 665; i++)
		assert_int_equal(vsock_ring_push_buf(&r, data, 300), 0);
	assert_int_equal(r.len, 666 * 300);
	assert_int_equal(r.cap, 200000);
	assert_int_equal(vsock_ring_push_buf(&r, data, 300), -ENOBUFS);
	for (unsigned i = 0; i < 666; i++) {
		k = vsock_ring_peek(&r, 300, v);
		size_t off = 0;
		for (unsigned j = 0; j < k; j++) {
			memcpy(out + off, v[j].iov_base, v[j].iov_len);
			off += v[j].iov_len;
		}
		assert_memory_equal(out, data, 300);
		vsock_ring_consume(&r, 300);
	}
	assert_int_equal(r.len, 0);
	vsock_ring_free(&r);
	assert_int_equal(r.len, 0);
	assert_null(r.data);

	/* Messages: at most VSOCK_RING_MAX_MSGS queued. */
	vsock_ring_init(&r, 1u << 20);
	for (unsigned i = 0; i < VSOCK_RING_MAX_MSGS; i++)
		assert_int_equal(vsock_ring_end_msg(&r), 0);
	assert_int_equal(vsock_ring_end_msg(&r), -ENOBUFS);
	vsock_ring_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_op_every_state),
		cmocka_unit_test(test_host_connect_completion),
		cmocka_unit_test(test_host_initiated),
		cmocka_unit_test(test_host_initiated_vsock),
		cmocka_unit_test(test_g2h_order_and_credit),
		cmocka_unit_test(test_g2h_credit_violation),
		cmocka_unit_test(test_credit_update_threshold),
		cmocka_unit_test(test_h2g_credit_and_backpressure),
		cmocka_unit_test(test_h2g_eof_and_close),
		cmocka_unit_test(test_guest_shutdown_directions),
		cmocka_unit_test(test_rst_drains),
		cmocka_unit_test(test_type_change_resets),
		cmocka_unit_test(test_seq_g2h_boundaries),
		cmocka_unit_test(test_seq_h2g_fragments),
		cmocka_unit_test(test_seq_h2g_too_large),
		cmocka_unit_test(test_ring),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
