/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * One vsock connection: state machine, credit, host socket I/O
 * (vsock-conn.h has the promises).
 */
#include "config.h"
#include "devices/vsock/vsock-conn.h"
#include "vhost-device.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

/* iovecs handed to one readv/sendmsg straight from guest memory; a chain
 * with more pieces goes the rest of the way through the buffer. */
#define CONN_MAX_IOV 64

#define CLOG(c, lvl, fmt, ...) \
	vhd_log_ratelimited(&(c)->cfg->log_budget, 20, lvl, \
			    "%s: vsock %llu:%u <-> %llu:%u: " fmt, (c)->cfg->name, \
			    (unsigned long long)(c)->cfg->guest_cid, (c)->peer_port, \
			    (unsigned long long)(c)->local_cid, (c)->local_port, ##__VA_ARGS__)

#define CDEBUG(c, fmt, ...) \
	LOG_DEBUG("%s: vsock %llu:%u <-> %llu:%u: " fmt, (c)->cfg->name, \
		  (unsigned long long)(c)->cfg->guest_cid, (c)->peer_port, \
		  (unsigned long long)(c)->local_cid, (c)->local_port, ##__VA_ARGS__)

const char *vsock_conn_state_str(enum vsock_conn_state s)
{
	switch (s) {
	case VSOCK_CONN_HOST_CONNECTING: return "host-connecting";
	case VSOCK_CONN_GUEST_CONNECTING: return "guest-connecting";
	case VSOCK_CONN_ESTABLISHED: return "established";
	case VSOCK_CONN_RESETTING: return "resetting";
	case VSOCK_CONN_DRAINING: return "draining";
	case VSOCK_CONN_DEAD: return "dead";
	}
	return "?";
}

struct vsock_conn *vsock_conn_new(struct vsock_conn_cfg *cfg, uint16_t type,
				  uint64_t local_cid, uint32_t local_port,
				  uint32_t peer_port, int fd)
{
	struct vsock_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->cfg = cfg;
	c->type = type;
	c->local_cid = local_cid;
	c->local_port = local_port;
	c->peer_port = peer_port;
	c->fd = fd;
	c->buf_alloc = cfg->buf_alloc;
	c->state = VSOCK_CONN_ESTABLISHED;
	vsock_ring_init(&c->txbuf, cfg->buf_alloc);
	return c;
}

static void close_host(struct vsock_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	vsock_ring_free(&c->txbuf);
	free(c->bounce);
	c->bounce = NULL;
	c->bounce_len = c->bounce_off = 0;
	c->host_readable = false;
	c->hello_len = c->hello_off = 0;
}

void vsock_conn_free(struct vsock_conn *c)
{
	if (!c)
		return;
	close_host(c);
	free(c);
}

uint32_t vsock_conn_peer_credit(const struct vsock_conn *c)
{
	uint32_t in_flight = c->tx_cnt - c->peer_fwd_cnt;

	return in_flight >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - in_flight;
}

static bool bounce_pending(const struct vsock_conn *c)
{
	return c->bounce && c->bounce_off < c->bounce_len;
}

/* Bytes that can go to the host now (not a half-assembled message). */
static bool write_pending(const struct vsock_conn *c)
{
	if (c->hello_off < c->hello_len)
		return true;
	if (c->type == VSOCK_TYPE_SEQPACKET)
		return vsock_ring_has_msgs(&c->txbuf);
	return c->txbuf.len != 0;
}

/* The host can produce data for the guest in this state. */
static bool host_may_send(const struct vsock_conn *c)
{
	return c->state == VSOCK_CONN_ESTABLISHED && c->fd >= 0 && !c->host_eof &&
	       !(c->peer_shut & VSOCK_SHUTDOWN_RCV);
}

void vsock_conn_reset(struct vsock_conn *c, bool silent, const char *why)
{
	if (c->state == VSOCK_CONN_DEAD || c->state == VSOCK_CONN_RESETTING)
		return;
	/* A guest that never saw our REQUEST, or that reset itself, must not
	 * get an RST for a connection it does not know. */
	if (c->state == VSOCK_CONN_DRAINING ||
	    (c->state == VSOCK_CONN_GUEST_CONNECTING && (c->pending & VSOCK_P_REQUEST)))
		silent = true;
	if (why)
		CDEBUG(c, "reset (%s) in state %s", why, vsock_conn_state_str(c->state));
	close_host(c);
	c->pending = 0;
	c->state = silent ? VSOCK_CONN_DEAD : VSOCK_CONN_RESETTING;
}

static void host_failed(struct vsock_conn *c, int err, const char *what)
{
	CDEBUG(c, "host socket %s: %s", what, strerror(err));
	vsock_conn_reset(c, false, "host socket failed");
}

/* Ask with CREDIT_REQUEST (Linux answers with a CREDIT_UPDATE at once)
 * when the host has data and the guest left us no credit: once, until the
 * guest's fwd_cnt moves, so a guest that does not read gets one request,
 * not one per packet.  (Asking earlier, at half the window, measured
 * slower: the extra packets cost more than the round trips they save.) */
static void credit_request_check(struct vsock_conn *c)
{
	if (c->credit_req_sent && c->peer_fwd_cnt != c->credit_req_fwd)
		c->credit_req_sent = false;
	if (host_may_send(c) && (c->host_readable || bounce_pending(c)) &&
	    vsock_conn_peer_credit(c) == 0 && !c->credit_req_sent) {
		c->pending |= VSOCK_P_CREDIT_REQUEST;
		c->credit_req_sent = true;
		c->credit_req_fwd = c->peer_fwd_cnt;
	}
}

/* Tell the guest about freed space when its view of our window has
 * dropped below half and we freed some since we last told it. */
static void credit_update_check(struct vsock_conn *c)
{
	uint32_t unacked = c->fwd_cnt - c->fwd_cnt_sent;
	uint32_t view_used = c->rx_cnt - c->fwd_cnt_sent;

	if (c->state != VSOCK_CONN_ESTABLISHED || (c->peer_shut & VSOCK_SHUTDOWN_SEND))
		return;
	if (unacked && c->buf_alloc - view_used < c->buf_alloc / 2)
		c->pending |= VSOCK_P_CREDIT_UPDATE;
}

/* Neither side will send any more: RST (the spec's clean disconnect). */
static void check_done(struct vsock_conn *c)
{
	bool guest_done, host_done;

	if (c->state != VSOCK_CONN_ESTABLISHED)
		return;
	guest_done = (c->peer_shut & VSOCK_SHUTDOWN_SEND) && c->host_wr_closed;
	host_done = (c->our_shut & VSOCK_SHUTDOWN_SEND) || (c->peer_shut & VSOCK_SHUTDOWN_RCV);
	if (guest_done && host_done) {
		CDEBUG(c, "closed in both directions");
		vsock_conn_reset(c, false, NULL);
	}
}

static void maybe_shut_wr(struct vsock_conn *c)
{
	if (!(c->peer_shut & VSOCK_SHUTDOWN_SEND) || c->host_wr_closed || c->fd < 0 ||
	    write_pending(c))
		return;
	/* A message the guest never finished cannot be sent: drop it. */
	if (c->txbuf.len) {
		CLOG(c, VHD_LOG_WARN, "guest shut down with an unfinished message of %u bytes; dropped",
		     c->txbuf.len);
		c->fwd_cnt += c->txbuf.len;
		vsock_ring_consume(&c->txbuf, c->txbuf.len);
		c->txbuf.partial = 0;
	}
	shutdown(c->fd, SHUT_WR);
	c->host_wr_closed = true;
}

/* Write what is buffered for the host. */
static void flush_host(struct vsock_conn *c)
{
	ssize_t w;

	if (c->fd < 0)
		return;
	while (c->hello_off < c->hello_len) {
		w = send(c->fd, c->hello + c->hello_off, c->hello_len - c->hello_off,
			 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			host_failed(c, errno, "write");
			return;
		}
		c->hello_off += (uint8_t)w;
	}
	if (c->type == VSOCK_TYPE_SEQPACKET)
		w = vsock_ring_send_msgs(&c->txbuf, c->fd);
	else
		w = vsock_ring_write_fd(&c->txbuf, c->fd);
	if (w < 0) {
		host_failed(c, (int)-w, "write");
		return;
	}
	c->fwd_cnt += (uint32_t)w;
	if (c->state == VSOCK_CONN_DRAINING) {
		if (!write_pending(c)) {
			CDEBUG(c, "drained after the guest's RST");
			close_host(c);
			c->state = VSOCK_CONN_DEAD;
		}
		return;
	}
	credit_update_check(c);
	maybe_shut_wr(c);
	check_done(c);
}

void vsock_conn_start_guest(struct vsock_conn *c, const struct vsock_hdr *req,
			    bool in_progress)
{
	c->peer_buf_alloc = req->buf_alloc;
	c->peer_fwd_cnt = req->fwd_cnt;
	if (in_progress) {
		c->state = VSOCK_CONN_HOST_CONNECTING;
	} else {
		c->state = VSOCK_CONN_ESTABLISHED;
		c->pending |= VSOCK_P_RESPONSE;
	}
}

void vsock_conn_start_host(struct vsock_conn *c, bool hybrid)
{
	c->hybrid = hybrid;
	c->state = VSOCK_CONN_GUEST_CONNECTING;
	c->pending |= VSOCK_P_REQUEST;
}

static void guest_rst(struct vsock_conn *c)
{
	if (c->state == VSOCK_CONN_ESTABLISHED && c->fd >= 0 && !c->host_wr_closed &&
	    write_pending(c)) {
		/* Bytes the guest sent (within its credit) are delivered. */
		CDEBUG(c, "guest reset with %u bytes buffered: draining", vsock_conn_buffered(c));
		free(c->bounce);
		c->bounce = NULL;
		c->bounce_len = c->bounce_off = 0;
		c->pending = 0;
		c->state = VSOCK_CONN_DRAINING;
		return;
	}
	CDEBUG(c, "guest reset in state %s", vsock_conn_state_str(c->state));
	close_host(c);
	c->pending = 0;
	c->state = VSOCK_CONN_DEAD;
}

static void guest_shutdown(struct vsock_conn *c, uint32_t flags)
{
	uint32_t fresh = flags & VSOCK_SHUTDOWN_BOTH & ~c->peer_shut;

	c->peer_shut |= fresh;
	if (fresh & VSOCK_SHUTDOWN_RCV) {
		/* Nobody will read: host writes fail instead of blocking. */
		if (c->fd >= 0)
			shutdown(c->fd, SHUT_RD);
		free(c->bounce);
		c->bounce = NULL;
		c->bounce_len = c->bounce_off = 0;
		c->host_readable = false;
		c->pending &= ~VSOCK_P_CREDIT_REQUEST;
	}
	if (fresh & VSOCK_SHUTDOWN_SEND) {
		c->pending &= ~VSOCK_P_CREDIT_UPDATE;
		maybe_shut_wr(c);
	}
	check_done(c);
}

static void guest_rw(struct vsock_conn *c, const struct vsock_hdr *h,
		     const struct iovec *iov, unsigned n)
{
	uint32_t used = c->rx_cnt - c->fwd_cnt;
	struct iovec sl[CONN_MAX_IOV];
	size_t done = 0, len = h->len;
	bool eom = c->type == VSOCK_TYPE_SEQPACKET && (h->flags & VSOCK_SEQ_EOM);
	int e;

	if (c->peer_shut & VSOCK_SHUTDOWN_SEND) {
		CLOG(c, VHD_LOG_WARN, "data after the guest's SHUTDOWN(SEND); resetting");
		vsock_conn_reset(c, false, "data after shutdown");
		return;
	}
	if (len > c->buf_alloc - used) {
		CLOG(c, VHD_LOG_WARN, "credit violation: %zu bytes sent with %u bytes of credit; resetting",
		     len, c->buf_alloc - used);
		vsock_conn_reset(c, false, "credit violation");
		return;
	}
	c->rx_cnt += (uint32_t)len;
	/* Fast path: nothing queued before these bytes, so they may go to the
	 * host straight from guest memory. */
	if (!write_pending(c) && c->txbuf.len == 0 && c->fd >= 0 &&
	    (c->type == VSOCK_TYPE_STREAM ? len > 0 : eom)) {
		unsigned k = vsock_iov_slice(iov, n, VSOCK_HDR_SIZE, len, sl, CONN_MAX_IOV);
		size_t covered = 0;
		for (unsigned i = 0; i < k; i++)
			covered += sl[i].iov_len;
		if (c->type == VSOCK_TYPE_STREAM || covered == len) {
			struct msghdr m = { .msg_iov = sl, .msg_iovlen = k };
			ssize_t w;
			do {
				w = sendmsg(c->fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
			} while (w < 0 && errno == EINTR);
			if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
				host_failed(c, errno, "write");
				return;
			}
			if (w > 0 || (w == 0 && eom)) {
				done = (size_t)w;
				c->fwd_cnt += (uint32_t)w;
				if (eom) {
					/* A SEQPACKET send is all or nothing. */
					credit_update_check(c);
					return;
				}
			}
		}
	}
	if (done < len) {
		e = vsock_ring_push(&c->txbuf, iov, n, VSOCK_HDR_SIZE + done, len - done);
		if (e) {
			CLOG(c, VHD_LOG_WARN, "cannot buffer %zu bytes: %s; resetting", len - done,
			     strerror(-e));
			vsock_conn_reset(c, false, "buffer");
			return;
		}
	}
	if (eom) {
		e = vsock_ring_end_msg(&c->txbuf);
		if (e) {
			CLOG(c, VHD_LOG_WARN, "more than %u messages waiting for the host; resetting",
			     VSOCK_RING_MAX_MSGS);
			vsock_conn_reset(c, false, "message queue");
			return;
		}
	}
	if (c->txbuf.len || write_pending(c))
		flush_host(c);
	else
		credit_update_check(c);
}

/* SHUTDOWN and data are only valid on an established connection; before
 * that the guest broke the protocol and the connection is reset. */
static bool established_or_reset(struct vsock_conn *c, const char *what, const char *reason)
{
	if (c->state == VSOCK_CONN_ESTABLISHED)
		return true;
	CLOG(c, VHD_LOG_WARN, "%s in state %s; resetting", what, vsock_conn_state_str(c->state));
	vsock_conn_reset(c, false, reason);
	return false;
}

void vsock_conn_guest_pkt(struct vsock_conn *c, const struct vsock_hdr *h,
			  const struct iovec *iov, unsigned n)
{
	if (c->state == VSOCK_CONN_DEAD || c->state == VSOCK_CONN_DRAINING)
		return;
	if (h->op == VSOCK_OP_RST) {
		if (c->state == VSOCK_CONN_RESETTING) {
			c->state = VSOCK_CONN_DEAD;     /* ours is not needed */
			return;
		}
		guest_rst(c);
		return;
	}
	if (c->state == VSOCK_CONN_RESETTING)
		return;                 /* the RST goes out anyway */
	if (h->type != c->type) {
		CLOG(c, VHD_LOG_WARN, "packet of type %u on a connection of type %u; resetting",
		     h->type, c->type);
		vsock_conn_reset(c, false, "type changed");
		return;
	}
	/* Every packet carries the guest's credit. */
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;

	switch (h->op) {
	case VSOCK_OP_REQUEST:
		CLOG(c, VHD_LOG_WARN, "REQUEST on an existing connection; resetting");
		vsock_conn_reset(c, false, "duplicate request");
		return;
	case VSOCK_OP_RESPONSE:
		if (c->state != VSOCK_CONN_GUEST_CONNECTING || (c->pending & VSOCK_P_REQUEST)) {
			CLOG(c, VHD_LOG_WARN, "unexpected RESPONSE in state %s; resetting",
			     vsock_conn_state_str(c->state));
			vsock_conn_reset(c, false, "unexpected response");
			return;
		}
		c->state = VSOCK_CONN_ESTABLISHED;
		c->deadline_ns = 0;
		/* The port the guest sees as its peer: see docs/vsock.md.
		 * Only the hybrid handshake has an answer line. */
		if (c->hybrid)
			c->hello_len = (uint8_t)snprintf(c->hello, sizeof(c->hello),
							 "OK %u\n", c->local_port);
		c->hello_off = 0;
		flush_host(c);
		return;
	case VSOCK_OP_SHUTDOWN:
		if (established_or_reset(c, "SHUTDOWN", "early shutdown"))
			guest_shutdown(c, h->flags);
		return;
	case VSOCK_OP_RW:
		if (established_or_reset(c, "data", "early data"))
			guest_rw(c, h, iov, n);
		return;
	case VSOCK_OP_CREDIT_UPDATE:
		return;                 /* credit taken above */
	case VSOCK_OP_CREDIT_REQUEST:
		if (c->state == VSOCK_CONN_ESTABLISHED)
			c->pending |= VSOCK_P_CREDIT_UPDATE;
		return;
	default:
		vsock_conn_reset(c, false, "unknown op");
		return;
	}
}

void vsock_conn_host_event(struct vsock_conn *c, uint32_t events)
{
	if (c->fd < 0)
		return;
	if (c->state == VSOCK_CONN_HOST_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof(err);

		if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err == 0 && (events & EPOLLHUP))
			err = ECONNREFUSED;
		if (err) {
			CDEBUG(c, "host connect failed: %s", strerror(err));
			vsock_conn_reset(c, false, "connect failed");
			return;
		}
		c->state = VSOCK_CONN_ESTABLISHED;
		c->deadline_ns = 0;
		c->pending |= VSOCK_P_RESPONSE;
		return;
	}
	if (events & EPOLLHUP)
		c->host_hup = true;
	if (events & (EPOLLHUP | EPOLLRDHUP))
		c->host_rdhup = true;
	if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) && write_pending(c))
		flush_host(c);
	if (c->fd >= 0 && c->state == VSOCK_CONN_ESTABLISHED &&
	    (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) && host_may_send(c))
		c->host_readable = true;
	credit_request_check(c);
}

/* The host closed its sending side: owe SHUTDOWN(SEND), and RCV too if it
 * closed the socket (then guest writes would only fail later). */
/* A read of the host socket failed with err: drained for now (wait for
 * the next EPOLLIN), or the host side is broken. */
static void host_read_error(struct vsock_conn *c, int err)
{
	if (err == EAGAIN || err == EWOULDBLOCK)
		c->host_readable = false;
	else
		host_failed(c, err, "read");
}

static void host_eof(struct vsock_conn *c)
{
	struct pollfd p = { .fd = c->fd, .events = 0 };

	c->host_eof = true;
	c->host_readable = false;
	if (poll(&p, 1, 0) == 1 && (p.revents & POLLHUP))
		c->host_hup = true;
	c->shut_owed |= VSOCK_SHUTDOWN_SEND | (c->host_hup ? VSOCK_SHUTDOWN_RCV : 0);
	c->pending |= VSOCK_P_SHUTDOWN;
	CDEBUG(c, "host end of file%s", c->host_hup ? " (closed)" : "");
}

/* Room for payload: the rx buffer after the header, bounded by credit. */
static size_t payload_room(const struct vsock_conn *c, size_t cap)
{
	size_t room = cap - VSOCK_HDR_SIZE;
	uint32_t credit = vsock_conn_peer_credit(c);

	return room < credit ? room : credit;
}

/* Data packet from the bounce buffer.  Returns the payload length or -1. */
static ssize_t fill_from_bounce(struct vsock_conn *c, const struct iovec *iov, unsigned n,
				size_t cap, struct vsock_hdr *h)
{
	size_t room = payload_room(c, cap), chunk = c->bounce_len - c->bounce_off;

	if (room == 0)
		return -1;
	if (chunk > room)
		chunk = room;
	iov_from_buf(iov, n, VSOCK_HDR_SIZE, c->bounce + c->bounce_off, chunk);
	c->bounce_off += (uint32_t)chunk;
	h->op = VSOCK_OP_RW;
	h->len = (uint32_t)chunk;
	if (c->bounce_off == c->bounce_len) {
		h->flags = VSOCK_SEQ_EOM | (c->bounce_eor ? VSOCK_SEQ_EOR : 0);
		free(c->bounce);
		c->bounce = NULL;
		c->bounce_len = c->bounce_off = 0;
	}
	c->tx_cnt += (uint32_t)chunk;
	return (ssize_t)chunk;
}

static ssize_t fill_seqpacket(struct vsock_conn *c, const struct iovec *iov, unsigned n,
			      size_t cap, struct vsock_hdr *h)
{
	struct iovec sl[CONN_MAX_IOV];
	struct msghdr m = { 0 };
	uint32_t limit;
	size_t room, covered = 0;
	ssize_t r;
	unsigned k = 0;

	if (bounce_pending(c))
		return fill_from_bounce(c, iov, n, cap, h);
	if (!c->host_readable)
		return -1;
	do {
		r = recv(c->fd, NULL, 0, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT);
	} while (r < 0 && errno == EINTR);
	if (r < 0) {
		host_read_error(c, errno);
		return -1;
	}
	if (r == 0) {
		/* An empty message and end of file both read as 0 bytes; a
		 * hung-up socket tells them apart. */
		struct pollfd p = { .fd = c->fd, .events = POLLRDHUP };
		if (poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP))) {
			host_eof(c);
			return -1;
		}
		if (recv(c->fd, NULL, 0, MSG_DONTWAIT) < 0 && errno != EAGAIN) {
			host_failed(c, errno, "read");
			return -1;
		}
		h->op = VSOCK_OP_RW;
		h->len = 0;
		h->flags = VSOCK_SEQ_EOM;
		return 0;
	}
	limit = c->buf_alloc < c->peer_buf_alloc ? c->buf_alloc : c->peer_buf_alloc;
	if ((size_t)r > limit) {
		CLOG(c, VHD_LOG_WARN, "host message of %zd bytes exceeds the %u-byte limit; resetting",
		     r, limit);
		vsock_conn_reset(c, false, "message too large");
		return -1;
	}
	room = payload_room(c, cap);
	if (room == 0)
		return -1;
	if ((size_t)r <= room) {
		k = vsock_iov_slice(iov, n, VSOCK_HDR_SIZE, (size_t)r, sl, CONN_MAX_IOV);
		for (unsigned i = 0; i < k; i++)
			covered += sl[i].iov_len;
	}
	if (covered == (size_t)r) {
		/* Whole message straight into the guest's buffer. */
		m.msg_iov = sl;
		m.msg_iovlen = k;
		do {
			r = recvmsg(c->fd, &m, MSG_DONTWAIT);
		} while (r < 0 && errno == EINTR);
		if (r < 0) {
			host_failed(c, errno, "read");
			return -1;
		}
		h->op = VSOCK_OP_RW;
		h->len = (uint32_t)r;
		h->flags = VSOCK_SEQ_EOM | ((m.msg_flags & MSG_EOR) ? VSOCK_SEQ_EOR : 0);
		c->tx_cnt += (uint32_t)r;
		return r;
	}
	c->bounce = malloc((size_t)r);
	if (!c->bounce) {
		CLOG(c, VHD_LOG_ERROR, "out of memory for a %zd-byte message; resetting", r);
		vsock_conn_reset(c, false, "out of memory");
		return -1;
	}
	{
		struct iovec one = { .iov_base = c->bounce, .iov_len = (size_t)r };
		m.msg_iov = &one;
		m.msg_iovlen = 1;
		do {
			r = recvmsg(c->fd, &m, MSG_DONTWAIT);
		} while (r < 0 && errno == EINTR);
	}
	if (r < 0) {
		host_failed(c, errno, "read");
		return -1;
	}
	c->bounce_len = (uint32_t)r;
	c->bounce_off = 0;
	c->bounce_eor = (m.msg_flags & MSG_EOR) != 0;
	return fill_from_bounce(c, iov, n, cap, h);
}

static ssize_t fill_stream(struct vsock_conn *c, const struct iovec *iov, unsigned n,
			   size_t cap, struct vsock_hdr *h)
{
	struct iovec sl[CONN_MAX_IOV];
	size_t room = payload_room(c, cap), covered = 0;
	unsigned k;
	ssize_t r;

	if (!c->host_readable || room == 0)
		return -1;
	k = vsock_iov_slice(iov, n, VSOCK_HDR_SIZE, room, sl, CONN_MAX_IOV);
	for (unsigned i = 0; i < k; i++)
		covered += sl[i].iov_len;
	do {
		r = readv(c->fd, sl, (int)k);
	} while (r < 0 && errno == EINTR);
	if (r < 0) {
		host_read_error(c, errno);
		return -1;
	}
	if (r == 0) {
		host_eof(c);
		return -1;
	}
	/* A short read means the socket was emptied, unless end of file is
	 * known to follow: then read on until it shows. */
	if ((size_t)r < covered && !c->host_rdhup)
		c->host_readable = false;
	h->op = VSOCK_OP_RW;
	h->len = (uint32_t)r;
	c->tx_cnt += (uint32_t)r;
	return r;
}

size_t vsock_conn_fill(struct vsock_conn *c, const struct iovec *iov, unsigned n, size_t cap)
{
	struct vsock_hdr h = {
		.src_cid = c->local_cid,
		.dst_cid = c->cfg->guest_cid,
		.src_port = c->local_port,
		.dst_port = c->peer_port,
		.type = c->type,
	};
	ssize_t payload = -1;

	if (cap < VSOCK_HDR_SIZE)
		return 0;
	switch (c->state) {
	case VSOCK_CONN_RESETTING:
		h.op = VSOCK_OP_RST;
		c->state = VSOCK_CONN_DEAD;
		goto out;
	case VSOCK_CONN_DEAD:
	case VSOCK_CONN_DRAINING:
	case VSOCK_CONN_HOST_CONNECTING:
		return 0;
	default:
		break;
	}
	if (c->pending & VSOCK_P_REQUEST) {
		c->pending &= ~VSOCK_P_REQUEST;
		h.op = VSOCK_OP_REQUEST;
		goto out;
	}
	if (c->pending & VSOCK_P_RESPONSE) {
		c->pending &= ~VSOCK_P_RESPONSE;
		h.op = VSOCK_OP_RESPONSE;
		goto out;
	}
	if (host_may_send(c)) {
		payload = c->type == VSOCK_TYPE_SEQPACKET ? fill_seqpacket(c, iov, n, cap, &h)
							   : fill_stream(c, iov, n, cap, &h);
		if (payload >= 0)
			goto out;
		if (c->state == VSOCK_CONN_RESETTING)
			return vsock_conn_fill(c, iov, n, cap);
		credit_request_check(c);
	}
	if (c->pending & VSOCK_P_SHUTDOWN) {
		c->pending &= ~VSOCK_P_SHUTDOWN;
		h.op = VSOCK_OP_SHUTDOWN;
		h.flags = c->shut_owed;
		c->our_shut |= c->shut_owed;
		c->shut_owed = 0;
		goto out;
	}
	if (c->pending & VSOCK_P_CREDIT_UPDATE) {
		h.op = VSOCK_OP_CREDIT_UPDATE;
		goto out;
	}
	if (c->pending & VSOCK_P_CREDIT_REQUEST) {
		c->pending &= ~VSOCK_P_CREDIT_REQUEST;
		h.op = VSOCK_OP_CREDIT_REQUEST;
		goto out;
	}
	return 0;
out:
	h.buf_alloc = c->buf_alloc;
	h.fwd_cnt = c->fwd_cnt;
	/* Every packet tells the guest our fwd_cnt. */
	c->fwd_cnt_sent = c->fwd_cnt;
	c->pending &= ~VSOCK_P_CREDIT_UPDATE;
	vsock_hdr_write(iov, n, cap, &h);
	if (h.op == VSOCK_OP_SHUTDOWN)
		check_done(c);
	return VSOCK_HDR_SIZE + (payload > 0 ? (size_t)payload : 0);
}

bool vsock_conn_has_rx(const struct vsock_conn *c)
{
	switch (c->state) {
	case VSOCK_CONN_RESETTING:
		return true;
	case VSOCK_CONN_DEAD:
	case VSOCK_CONN_DRAINING:
	case VSOCK_CONN_HOST_CONNECTING:
		return false;
	default:
		break;
	}
	if (c->pending)
		return true;
	if (host_may_send(c) && (c->host_readable || bounce_pending(c)))
		return vsock_conn_peer_credit(c) > 0;
	return false;
}

uint32_t vsock_conn_events(const struct vsock_conn *c)
{
	uint32_t m = 0;

	if (c->fd < 0)
		return 0;
	switch (c->state) {
	case VSOCK_CONN_HOST_CONNECTING:
		return EPOLLOUT;
	case VSOCK_CONN_ESTABLISHED:
		if (host_may_send(c) && !c->host_readable && !bounce_pending(c) &&
		    vsock_conn_peer_credit(c) > 0)
			m |= EPOLLIN | EPOLLRDHUP;
		if (write_pending(c))
			m |= EPOLLOUT;
		return m;
	case VSOCK_CONN_DRAINING:
		return write_pending(c) ? EPOLLOUT : 0;
	default:
		return 0;
	}
}
