/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * The simulated guest's virtio-vsock driver (virtio 1.2 5.10), one stream
 * connection at a time, over the guest virtio-mmio driver (xsim-guest.h):
 * rx buffers of header and payload in one buffer (the layout of Linux >=
 * 6.2), one-buffer tx packets, credit accounting both ways (5.10.6.3),
 * CREDIT_UPDATE when the device has used half our buffer space.
 *
 * Functions return 0 (or a count) or -errno: -ECONNREFUSED on RST to a
 * request, -ECONNRESET on RST of a connection, -EPROTO when the device
 * broke the protocol (a packet for no connection we have, too long, or
 * beyond our credit).
 */
#ifndef VHD_TEST_XSIM_VSOCK_H
#define VHD_TEST_XSIM_VSOCK_H

#include <stddef.h>
#include <stdint.h>

#include "xsim-guest.h"

#define XV_RX 32
#define XV_PAYLOAD 4096u

struct xv {
	struct xg *g;
	uint64_t cid;
	uint8_t *rx[XV_RX];
	uint16_t rx_head[XG_QSIZE];     /* rx buffer index of a chain head */
	uint8_t *tx[XG_QSIZE];          /* tx buffer of each descriptor */
	unsigned tx_busy;
	/* The connection. */
	int state;                      /* 0 none, 1 connecting, 2 open, 3 closed */
	uint32_t lport, pport, listen_port;
	uint32_t peer_buf_alloc, peer_fwd_cnt, tx_cnt;
	uint32_t fwd_cnt, fwd_sent, rx_cnt;
	bool peer_shut;
	/* Received stream: the caller's buffer. */
	uint8_t *in;
	size_t in_cap, in_len;
	uint64_t pkts_rx, pkts_tx;
};

/* Start the device (3 queues), read the CID, post the rx buffers. */
int xv_open(struct xv *v, struct xg *g);
int xv_connect(struct xv *v, uint32_t port);
int xv_accept(struct xv *v, uint32_t port);
int xv_send(struct xv *v, const void *p, size_t len);
/* Receive until `want` bytes in total arrived into in[] or the peer shut
 * down: the bytes held. */
long xv_recv(struct xv *v, size_t want);
/* SHUTDOWN both ways and wait for the device's RST. */
int xv_close(struct xv *v);

#endif
