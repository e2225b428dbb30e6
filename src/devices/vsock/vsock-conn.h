/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * One vsock connection between a guest socket and a host socket (a Unix
 * or AF_VSOCK stream/seqpacket fd): the state machine of virtio 1.2
 * 5.10.6, credit-based flow control both ways, and the host-side I/O.
 *
 * The connection does not know queues or event loops.  Its owner (the
 * multiplexer, vsock-mux.c) feeds it guest packets, host fd events and
 * writable rx buffers, and after each call looks at what it wants:
 * vsock_conn_events() (the epoll mask for its fd), vsock_conn_has_rx()
 * (a packet for the guest is ready), vsock_conn_state() (DEAD: free it;
 * DRAINING: unlink it from the lookup table).
 *
 * Promises:
 *  - Guest -> host: a byte accepted from the guest is written to the host
 *    in order, exactly once, unless the host socket fails.  Bytes the host
 *    does not take at once wait in a buffer that never exceeds the window
 *    we advertise (buf_alloc = tx_buffer_size): a guest that sends beyond
 *    its credit is reset, not buffered.  fwd_cnt counts bytes the host
 *    took; a CREDIT_UPDATE goes out when the guest's view of our free
 *    space has dropped below half the window and we freed some since.
 *  - Host -> guest: data is read from the host socket straight into the
 *    guest's rx buffer, never more than the guest's credit
 *    (peer_buf_alloc - (tx_cnt - peer_fwd_cnt)) allows; with no credit
 *    the socket is not read (the host writer blocks: back-pressure) and a
 *    CREDIT_REQUEST goes out, once until the guest's fwd_cnt moves.  SEQPACKET messages that do not fit one
 *    rx buffer or the credit go through a bounce buffer of at most
 *    min(tx_buffer_size, peer buf_alloc) bytes; larger messages reset the
 *    connection.
 *  - Close: host EOF -> SHUTDOWN(SEND) (plus RCV if the host closed both
 *    ways); guest SHUTDOWN(SEND) -> shutdown(SHUT_WR) once its bytes are
 *    written; guest SHUTDOWN(RCV) -> shutdown(SHUT_RD), so host writes fail
 *    rather than block.  When neither side will send any more, the device
 *    sends RST and closes the host socket (the spec's clean disconnect).
 *    A guest RST with bytes still buffered leaves the connection DRAINING
 *    until they are written, then it dies.
 *  - Every guest packet that breaks the protocol for this connection
 *    (data before the handshake, a second REQUEST, data after SHUTDOWN,
 *    credit violations, a type change) resets it: RST to the guest, host
 *    socket closed.  Nothing a guest sends makes it crash or grow.
 */
#ifndef VHD_VSOCK_CONN_H
#define VHD_VSOCK_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "devices/vsock/vsock-pkt.h"
#include "devices/vsock/vsock-ring.h"

/* Settings shared by the connections of one device. */
struct vsock_conn_cfg {
	uint64_t guest_cid;
	uint32_t buf_alloc;         /* tx_buffer_size */
	const char *name;           /* device name, for logs */
	unsigned log_budget;        /* rate limit of guest-caused messages */
};

enum vsock_conn_state {
	VSOCK_CONN_HOST_CONNECTING,  /* guest REQUEST; host connect in progress */
	VSOCK_CONN_GUEST_CONNECTING, /* host client; REQUEST to the guest */
	VSOCK_CONN_ESTABLISHED,
	VSOCK_CONN_RESETTING,        /* RST owed to the guest, then dead */
	VSOCK_CONN_DRAINING,         /* guest gone; flushing bytes to the host */
	VSOCK_CONN_DEAD,             /* free it */
};

/* Control packets owed to the guest. */
#define VSOCK_P_REQUEST        0x01u
#define VSOCK_P_RESPONSE       0x02u
#define VSOCK_P_SHUTDOWN       0x04u
#define VSOCK_P_CREDIT_UPDATE  0x08u
#define VSOCK_P_CREDIT_REQUEST 0x10u

struct vsock_conn {
	struct vsock_conn_cfg *cfg;
	enum vsock_conn_state state;
	uint16_t type;
	uint64_t local_cid;          /* our side (2 = host) */
	uint32_t local_port;
	uint32_t peer_port;          /* the guest's port */
	int fd;                      /* host socket, -1 once closed */

	/* guest -> host */
	uint32_t buf_alloc;          /* window we advertise */
	uint32_t rx_cnt;             /* bytes received from the guest */
	uint32_t fwd_cnt;            /* bytes the host took */
	uint32_t fwd_cnt_sent;       /* fwd_cnt the guest last saw */
	struct vsock_ring txbuf;
	char hello[24];              /* "OK <port>\n" owed to a host client */
	uint8_t hello_len, hello_off;
	bool hybrid;                 /* host client of uds_path: owed "OK" */

	/* host -> guest */
	uint32_t peer_buf_alloc;
	uint32_t peer_fwd_cnt;
	uint32_t tx_cnt;             /* bytes sent to the guest */
	bool host_readable;          /* readiness seen, not yet drained */
	bool host_eof;               /* read returned end of file */
	bool host_hup;               /* host closed both directions */
	bool host_rdhup;             /* host shut its sending side (EOF ahead) */
	bool credit_req_sent;
	uint32_t credit_req_fwd;     /* guest fwd_cnt when we asked */
	uint8_t *bounce;             /* SEQPACKET message in transit */
	uint32_t bounce_len, bounce_off;
	bool bounce_eor;

	/* shutdown */
	uint32_t peer_shut;          /* SHUTDOWN flags the guest sent */
	uint32_t our_shut;           /* SHUTDOWN flags we sent */
	uint32_t shut_owed;          /* flags of the pending SHUTDOWN */
	bool host_wr_closed;         /* shutdown(SHUT_WR) done */
	unsigned pending;            /* VSOCK_P_* */

	uint64_t deadline_ns;        /* connect timeout (0 = none) */

	/* Owner's links (the multiplexer's). */
	struct vsock_conn *hnext;    /* hash chain */
	bool hashed;
	struct vsock_conn *rx_next, *rx_prev;
	bool on_rx_list;
	struct vsock_conn *all_next, *all_prev;
	uint32_t ev_mask;            /* mask registered for fd */
	void *owner;
	void *ev;                    /* owner's handler for fd */
};

/* A connection; fd is owned from now on (closed on reset/free). */
struct vsock_conn *vsock_conn_new(struct vsock_conn_cfg *cfg, uint16_t type,
				  uint64_t local_cid, uint32_t local_port,
				  uint32_t peer_port, int fd);
/* Closes the fd if still open and frees everything. */
void vsock_conn_free(struct vsock_conn *c);

/* Guest-initiated: the guest's REQUEST `req` was accepted and fd is the
 * host socket, connected (in_progress false: RESPONSE is owed) or still
 * connecting (HOST_CONNECTING until vsock_conn_host_event reports it). */
void vsock_conn_start_guest(struct vsock_conn *c, const struct vsock_hdr *req,
			    bool in_progress);
/* Host-initiated: a REQUEST is owed to the guest.  hybrid: the host
 * client came through uds_path with "CONNECT <port>" and, once the guest
 * answers, gets "OK <local_port>\n"; an AF_VSOCK client (--forward-listen)
 * gets nothing but the stream. */
void vsock_conn_start_host(struct vsock_conn *c, bool hybrid);

/* A guest packet for this connection (checked by vsock_pkt_check, the
 * addresses match).  iov/n/total: the whole readable chain, payload at
 * offset VSOCK_HDR_SIZE. */
void vsock_conn_guest_pkt(struct vsock_conn *c, const struct vsock_hdr *h,
			  const struct iovec *iov, unsigned n);

/* epoll events on the host fd. */
void vsock_conn_host_event(struct vsock_conn *c, uint32_t events);

/* Write the next packet for the guest into a writable chain of `cap`
 * bytes (header, then payload).  Returns the bytes written, 0 if there
 * is nothing to send now. */
size_t vsock_conn_fill(struct vsock_conn *c, const struct iovec *iov, unsigned n,
		       size_t cap);

/* Give up on the connection: RST owed to the guest (unless `silent`:
 * the guest does not know it), host socket closed. */
void vsock_conn_reset(struct vsock_conn *c, bool silent, const char *why);

bool vsock_conn_has_rx(const struct vsock_conn *c);
uint32_t vsock_conn_events(const struct vsock_conn *c);
static inline enum vsock_conn_state vsock_conn_state(const struct vsock_conn *c)
{
	return c->state;
}
/* Credit the guest gives us now. */
uint32_t vsock_conn_peer_credit(const struct vsock_conn *c);
/* Bytes buffered for the host. */
static inline uint32_t vsock_conn_buffered(const struct vsock_conn *c)
{
	return c->rx_cnt - c->fwd_cnt;
}
const char *vsock_conn_state_str(enum vsock_conn_state s);

#endif
