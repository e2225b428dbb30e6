/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * The engine of one vsock device (one guest): routes the guest's tx
 * packets to host connections, siblings or RST replies, fills the rx
 * queue from them, and owns the host listeners.
 *
 * Everything here runs on the device's worker thread; only the sibling
 * mailbox (vsock-sibling.c) is shared.
 *
 * Promises:
 *  - The rx queue is shared fairly: connections with something to send
 *    take turns (round robin), after RST replies and sibling packets.
 *  - Bounded memory whatever the guest or host peers do: per connection
 *    at most tx_buffer_size of buffered bytes (see vsock-conn.h), at most
 *    VSOCK_MAX_CONNS connections and VSOCK_MAX_CLIENTS host clients still
 *    writing their CONNECT line, and VSOCK_RST_QUEUE queued RST replies;
 *    when that queue is full the tx queue pauses until the guest takes
 *    the RSTs (back-pressure, nothing dropped).
 *  - A guest REQUEST to the host that cannot be connected is answered
 *    with RST at once (rust-vmm/vhost-device#963).
 */
#ifndef VHD_VSOCK_MUX_H
#define VHD_VSOCK_MUX_H

#include <stdbool.h>
#include <stdint.h>

#include "vhost-device.h"
#include "devices/vsock/vsock-config.h"

#define VSOCK_QUEUE_RX    0
#define VSOCK_QUEUE_TX    1
#define VSOCK_QUEUE_EVENT 2

#define VSOCK_MAX_CONNS    1024u
#define VSOCK_MAX_CLIENTS  128u
#define VSOCK_RST_QUEUE    256u
/* A host client has this long to send its CONNECT line, and the guest
 * this long to answer a REQUEST; a host AF_VSOCK connect this long. */
#define VSOCK_CONNECT_TIMEOUT_NS (10ull * 1000000000ull)
/* First host-side port handed to host-initiated connections. */
#define VSOCK_LOCAL_PORT_BASE 0x40000000u

struct vsock_mux;

/* At start-up (main thread): bind the host listeners, join the sibling
 * registry.  0, or -1 with err filled. */
int vsock_mux_new(const struct vsock_vm *vm, struct vsock_mux **out, char *err, size_t errlen);
/* At exit: close everything, remove the Unix sockets we created. */
void vsock_mux_free(struct vsock_mux *m);

/* Frontend connected / gone (vu_device_ops connected / reset). */
void vsock_mux_connected(struct vsock_mux *m, struct vu_dev *dev);
void vsock_mux_reset(struct vsock_mux *m);

/* Queue kicks. */
void vsock_mux_kick(struct vsock_mux *m, unsigned q);

const struct vsock_vm *vsock_mux_vm(const struct vsock_mux *m);

#endif
