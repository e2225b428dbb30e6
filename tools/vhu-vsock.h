/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * libvhu-frontend, vsock part: a small virtio-vsock *guest driver* on top
 * of a vhu_session, so a test or the vhost-user-frontend command can play
 * the guest of a vhost-user-vsock backend: connect and listen, send and
 * receive with credit-based flow control both ways, SHUTDOWN, RST,
 * SEQPACKET messages, and raw packets for hostile tests.
 *
 * It is written from the virtio spec (5.10) and <linux/virtio_vsock.h>,
 * independently of the backend's code, and it checks the device: every
 * packet's used length against its header, the destination CID and port,
 * and the credit the device must respect (violations are counted in
 * vhu_vsock_stats, never hidden).
 *
 * Queues as QEMU hands them over: rx 0 and tx 1 only (the event queue is
 * the VMM's).  rx buffers are posted at open and re-posted after each
 * packet; tx packets are built in a pool of slots in guest memory.
 *
 * Blocking calls take a timeout in ms (-1: forever) and return -ETIMEDOUT.
 * Not thread-safe: one thread drives one vhu_vsock (two devices may be
 * driven by two threads).
 */
#ifndef VHD_VHU_VSOCK_H
#define VHD_VHU_VSOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/virtio_vsock.h>

#include "vhu-frontend.h"

struct vhu_vsock;
struct vhu_vsock_conn;

struct vhu_vsock_opts {
	const char *path;           /* the backend's vhost-user socket */
	int connect_ms;             /* retry connecting this long (default 5000) */
	unsigned queue_size;        /* rx and tx ring size (default 256) */
	uint32_t rx_buf_size;       /* bytes per rx buffer, header included
				     * (default 4096 + 44, as Linux) */
	unsigned rx_bufs;           /* rx buffers posted (default queue_size) */
	uint32_t buf_alloc;         /* receive window per connection
				     * (default 256 KiB, as Linux) */
	uint32_t max_pkt;           /* largest tx payload (default 64 KiB) */
	unsigned tx_slots;          /* tx packets in flight (default 64) */
	bool seqpacket;             /* negotiate VIRTIO_VSOCK_F_SEQPACKET */
	bool no_event_idx;          /* do not negotiate EVENT_IDX */
	bool indirect;              /* tx chains as indirect tables */
	bool split_hdr;             /* header and payload in separate
				     * descriptors (Linux < 6.2) */
	unsigned spin_ns;           /* busy-poll before sleeping */
	bool credit_61;             /* Linux < 6.8 credit updates: only when
				     * < 64 KiB of the window is left, not
				     * also when the reader drained the queue */
	/* A Xen guest (tests/xen/xen-vsock-test.c): also ask for
	 * VHOST_USER_PROTOCOL_F_XEN_MMAP, and describe the memory with
	 * send_mem instead of a SET_MEM_TABLE of the memfd (see
	 * vhu_session_opts.send_mem: it runs once the rx and tx rings
	 * exist, before they start, and typically turns on grant
	 * addressing and sends a grant region table).  Defaults: off, NULL. */
	bool xen_mmap;
	int (*send_mem)(void *opaque, struct vhu_session *s);
	void *send_mem_opaque;
};

void vhu_vsock_defaults(struct vhu_vsock_opts *o, const char *path);
/* Connect, negotiate, start rx and tx, post rx buffers, read the CID
 * from the config space.  err says which step failed. */
int vhu_vsock_open(const struct vhu_vsock_opts *o, struct vhu_vsock **out,
		   char *err, size_t errlen);
/* Close the vhost-user connection (the backend sees the guest vanish)
 * and free everything, connections included. */
void vhu_vsock_close(struct vhu_vsock *v);

uint64_t vhu_vsock_cid(const struct vhu_vsock *v);
struct vhu_session *vhu_vsock_session(struct vhu_vsock *v);
bool vhu_vsock_seqpacket(const struct vhu_vsock *v);   /* negotiated */
/* Linux < 6.8 credit-update policy (opts.credit_61) in effect. */
bool vhu_vsock_credit_61(const struct vhu_vsock *v);

/* Handle what the device completed; if nothing, wait up to timeout_ms for
 * an rx packet.  Returns the number of packets handled (>= 0) or -errno
 * (-EIO: the device completed an rx buffer wrongly). */
int vhu_vsock_poll(struct vhu_vsock *v, int timeout_ms);

/* ---- connections --------------------------------------------------------- */

/* REQUEST to cid:port from a fresh local port; 0 once the RESPONSE came,
 * -ECONNREFUSED on RST, -ETIMEDOUT. */
int vhu_vsock_connect(struct vhu_vsock *v, uint64_t cid, uint32_t port, uint16_t type,
		      int timeout_ms, struct vhu_vsock_conn **out);
/* Start a connect without waiting: poll, then vhu_vsock_conn_state(). */
int vhu_vsock_connect_start(struct vhu_vsock *v, uint64_t cid, uint32_t port,
			    uint16_t type, struct vhu_vsock_conn **out);
/* Accept REQUESTs to port (answered RESPONSE at once); without a listener
 * REQUESTs are answered RST, as Linux does. */
int vhu_vsock_listen(struct vhu_vsock *v, uint32_t port);
int vhu_vsock_accept(struct vhu_vsock *v, uint32_t port, int timeout_ms,
		     struct vhu_vsock_conn **out);

enum vhu_vsock_conn_state {
	VHU_VSOCK_CONNECTING,
	VHU_VSOCK_CONNECTED,
	VHU_VSOCK_RESET,            /* RST received (or sent) */
	VHU_VSOCK_CLOSED,           /* RST after our close: clean */
};
enum vhu_vsock_conn_state vhu_vsock_conn_state(const struct vhu_vsock_conn *c);
uint32_t vhu_vsock_conn_local_port(const struct vhu_vsock_conn *c);
uint32_t vhu_vsock_conn_peer_port(const struct vhu_vsock_conn *c);
uint64_t vhu_vsock_conn_peer_cid(const struct vhu_vsock_conn *c);
/* SHUTDOWN flags the peer sent. */
uint32_t vhu_vsock_conn_peer_shutdown(const struct vhu_vsock_conn *c);

/* Send len bytes, waiting for credit as needed, in packets of at most
 * max_pkt bytes.  SEQPACKET: one message (EOM on the last packet; eor
 * adds EOR).  Returns len, or -ECONNRESET, -EPIPE (peer shut RCV, or we
 * shut SEND), -ETIMEDOUT (bytes already sent stay sent). */
ssize_t vhu_vsock_send(struct vhu_vsock_conn *c, const void *buf, size_t len,
		       bool eor, int timeout_ms);
/* Receive up to len bytes (SEQPACKET: one message, the rest of a longer
 * one is discarded and *trunc set).  0 at end of stream (peer SHUTDOWN
 * SEND, all data read), -ECONNRESET, -ETIMEDOUT.  eor/trunc may be NULL. */
ssize_t vhu_vsock_recv(struct vhu_vsock_conn *c, void *buf, size_t len, int timeout_ms,
		       bool *eor, bool *trunc);
/* Bytes received and not read yet. */
size_t vhu_vsock_conn_pending(const struct vhu_vsock_conn *c);
/* Deliver received stream data straight to fn instead of buffering it
 * (counted as consumed at once: credit returns without a recv()).
 * fn returns 0 to go on. */
void vhu_vsock_conn_set_sink(struct vhu_vsock_conn *c,
			     int (*fn)(void *opaque, const uint8_t *data, uint32_t len),
			     void *opaque);
/* Our receive window for this connection (default opts.buf_alloc); the
 * next packet we send carries it. */
void vhu_vsock_conn_set_buf_alloc(struct vhu_vsock_conn *c, uint32_t buf_alloc);
/* Credit the peer gives us now. */
uint32_t vhu_vsock_conn_peer_credit(const struct vhu_vsock_conn *c);

int vhu_vsock_shutdown(struct vhu_vsock_conn *c, uint32_t flags);
/* Close as Linux does: SHUTDOWN(RCV|SEND), wait up to timeout_ms for the
 * peer's RST, else send RST.  Frees c.  0 if the peer answered RST. */
int vhu_vsock_close_conn(struct vhu_vsock_conn *c, int timeout_ms);
/* Abort: RST at once.  Frees c. */
void vhu_vsock_reset_conn(struct vhu_vsock_conn *c);

/* ---- raw packets --------------------------------------------------------- */

/* Put one tx chain holding exactly these bytes (a header as the caller
 * made it, maybe malformed) on the tx queue and kick. */
int vhu_vsock_send_raw(struct vhu_vsock *v, const void *bytes, size_t len);
/* Packets from the device that matched no connection and no listener
 * (RST replies, mostly), oldest first: 1 and *h filled, 0 if none came
 * within timeout_ms. */
int vhu_vsock_next_unmatched(struct vhu_vsock *v, struct virtio_vsock_hdr *h, int timeout_ms);

struct vhu_vsock_stats {
	uint64_t rx_pkts, tx_pkts;
	uint64_t rx_bytes, tx_bytes;        /* RW payload, all packets */
	uint64_t credit_violations;         /* device sent beyond our window */
	uint64_t bad_pkts;                  /* used length, CID or op wrong */
	uint64_t credit_updates_sent, credit_updates_rcvd;
	uint64_t unmatched_dropped;         /* unmatched queue overflow */
};
const struct vhu_vsock_stats *vhu_vsock_stats(const struct vhu_vsock *v);

/* Host-byte-order helpers for raw tests. */
void vhu_vsock_hdr_set(struct virtio_vsock_hdr *h, uint64_t src_cid, uint32_t src_port,
		       uint64_t dst_cid, uint32_t dst_port, uint16_t type, uint16_t op,
		       uint32_t len);

#endif
