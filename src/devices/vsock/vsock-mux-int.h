/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Inside the vsock engine: the state of one device and what its two files
 * share.  vsock-mux.c owns the connection table, rx and tx, the timer and
 * the lifecycle; vsock-accept.c the host listeners and clients.  Nothing
 * outside these two files includes this header: the engine's contract is
 * vsock-mux.h.
 */
#ifndef VHD_VSOCK_MUX_INT_H
#define VHD_VSOCK_MUX_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "vhost-device.h"
#include "devices/vsock/vsock-conn.h"
#include "devices/vsock/vsock-flows.h"
#include "devices/vsock/vsock-mux.h"
#include "devices/vsock/vsock-pkt.h"
#include "devices/vsock/vsock-sibling.h"

#define MUX_BUCKETS 1024u
#define MUX_TIMER_NS (200ull * 1000000ull)
#define MUX_ACCEPT_BURST 16

enum listener_kind { L_UDS_STREAM, L_UDS_SEQPACKET, L_VSOCK };

struct mux_listener {
	struct vhd_handler h;
	struct vsock_mux *m;
	enum listener_kind kind;
	uint32_t port;              /* L_VSOCK: the guest port too */
	char *path;                 /* Unix socket file to remove at exit */
};

/* A host client that has not finished its CONNECT line. */
struct mux_client {
	struct vhd_handler h;
	struct vsock_mux *m;
	int type;                   /* SOCK_STREAM / SOCK_SEQPACKET */
	uint64_t deadline_ns;
	struct mux_client *next, *prev;
};

/* The event-loop handle of a connection's host fd. */
struct mux_fd {
	struct vhd_handler h;
	struct vsock_mux *m;
	struct vsock_conn *c;
};

/* Why the tx queue is paused. */
#define BLOCK_RST 1u    /* RST reply queue full */
#define BLOCK_SIB 2u    /* a sibling's mailbox full */

struct vsock_mux {
	const struct vsock_vm *vm;
	struct vsock_conn_cfg cfg;
	char name[160];
	struct vu_dev *dev;         /* NULL while no frontend */
	struct vhd_loop *loop;

	struct mux_listener *listeners;
	unsigned n_listeners;
	bool listening;
	bool accept_paused;         /* out of fds: retry from the timer */

	struct mux_client *clients;
	unsigned n_clients;

	struct vsock_conn *buckets[MUX_BUCKETS];
	struct vsock_conn *all;
	unsigned n_conns;
	struct vsock_conn *rx_head, *rx_tail;
	unsigned n_rx;

	struct vsock_hdr rstq[VSOCK_RST_QUEUE];
	unsigned rst_head, rst_count;

	unsigned tx_block;
	bool in_tx, tx_again, in_rx;

	struct vhd_timer *timer;
	struct vsock_sib *sib;
	struct vhd_handler sib_h;
	struct vsock_flows flows;   /* the guest's sibling connections */
	uint32_t next_port;
	unsigned log_budget;
};

/* vsock-mux.c */
uint64_t mux_now_ns(void);
/* The guest negotiated VIRTIO_VSOCK_F_SEQPACKET. */
bool mux_seqpacket(const struct vsock_mux *m);
/* Run the timer (deadlines, paused accepts) if it is not armed. */
void mux_arm_timer(struct vsock_mux *m);
struct vsock_conn *mux_lookup(struct vsock_mux *m, uint32_t local_port, uint32_t peer_port);
/* Enter c (it has a host fd) into the table.  0 or -ENOMEM. */
int mux_conn_add(struct vsock_mux *m, struct vsock_conn *c);
/* After every call into a connection: free it when dead, keep its epoll
 * registration and rx-list place in line with what it wants. */
void mux_sync_conn(struct vsock_mux *m, struct vsock_conn *c);
/* Fill the rx queue from what is pending. */
void mux_rx(struct vsock_mux *m);

/* vsock-accept.c */
int mux_add_listener(struct vsock_mux *m, enum listener_kind kind, int fd,
		     const char *path, uint32_t port);
void mux_listen_start(struct vsock_mux *m);
void mux_listen_stop(struct vsock_mux *m);
void mux_client_free(struct vsock_mux *m, struct mux_client *cl, bool close_fd);
bool mux_clients_expire(struct vsock_mux *m, uint64_t now);

#endif
