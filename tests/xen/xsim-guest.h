/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * The simulated guest's virtio-mmio driver: what a Linux guest's
 * virtio_mmio.c and virtio_ring.c do, reduced to what the tests need,
 * issuing every register access as a vCPU access through the simulated
 * hypervisor (xsim_mmio) to the device model.
 *
 *  - probe: MagicValue, Version 2, DeviceID (virtio 1.2 4.2.3.1.1);
 *  - initialisation (3.1.1): reset, ACKNOWLEDGE, DRIVER, feature
 *    negotiation with both feature words, FEATURES_OK read back, queue
 *    set-up (4.2.3.2), DRIVER_OK;
 *  - split virtqueues in guest RAM (2.7): chains of buffers, QueueNotify,
 *    and the interrupt handler: wait for the line, read InterruptStatus,
 *    write InterruptACK, collect used entries;
 *  - reset.
 *
 * Guest RAM is a vhu_mem; the device sees an address for each byte of it
 * as the guest's DMA layer would give it: with grants (grant = true) the
 * Linux grant-dma address 1<<63 | ref<<12 | offset, ref i granting page i
 * of the RAM (tests/xen/xen-fx.c fx_attach); with foreign mappings the
 * guest-physical address ram_gpa + offset.
 *
 * Functions return 0 (or a count) or -errno; -EPROTO when the device
 * broke the virtio-mmio contract (wrong magic, a feature missing, a
 * used entry naming no chain in flight).
 */
#ifndef VHD_TEST_XSIM_GUEST_H
#define VHD_TEST_XSIM_GUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vhu-frontend.h"
#include "xsim.h"

#define XG_MAX_QUEUES 4
#define XG_QSIZE 64

struct xg_vq {
	unsigned num;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t avail_idx, last_used;
	uint16_t free[XG_QSIZE];
	unsigned nfree;
	uint16_t chain_len[XG_QSIZE];   /* descriptors of the chain at a head */
	bool in_flight[XG_QSIZE];
};

struct xg {
	struct xsim *sim;
	uint32_t domid;
	unsigned vcpu;
	uint64_t base;                  /* MMIO base */
	unsigned irq;
	struct vhu_mem *ram;
	uint64_t ram_gpa;
	bool grant;
	uint64_t irq_seen;              /* assertions handled */
	uint64_t offered, acked;        /* features */
	uint32_t isr;                   /* InterruptStatus bits seen */
	struct xg_vq q[XG_MAX_QUEUES];
	unsigned nq;
	int timeout_ms;
	uint64_t accesses;              /* register accesses made */
};

struct xg_buf {
	void *p;
	uint32_t len;
	bool write;                     /* device writes it */
};

void xg_init(struct xg *g, struct xsim *sim, uint32_t domid, uint64_t base, unsigned irq,
	     struct vhu_mem *ram, bool grant, uint64_t ram_gpa);
uint64_t xg_dma(const struct xg *g, const void *p);

int xg_rd(struct xg *g, unsigned off, uint32_t *v);
int xg_wr(struct xg *g, unsigned off, uint32_t v);
int xg_rd8(struct xg *g, unsigned off, uint8_t *v);     /* config bytes */

/* Probe: 0 and *device_id, or -ENODEV (nothing there), -EPROTO. */
int xg_probe(struct xg *g, uint32_t *device_id);
/* Initialise with nq queues, acking want & offered, VERSION_1 (which
 * must be offered) and ACCESS_PLATFORM if offered (it must be, with
 * grants). */
int xg_start(struct xg *g, uint64_t want, unsigned nq);
/* Write 0 to Status and check it reads back 0. */
int xg_reset(struct xg *g);

/* Put a chain (readable buffers first) on queue q: its head. */
int xg_add(struct xg *g, unsigned q, const struct xg_buf *b, unsigned n);
int xg_kick(struct xg *g, unsigned q);
/* The next used entry of queue q, waiting for interrupts up to the
 * timeout: 0 with *head and *len. */
int xg_get(struct xg *g, unsigned q, uint16_t *head, uint32_t *len);
/* A used entry now, without waiting: 1 found, 0 none. */
int xg_poll(struct xg *g, unsigned q, uint16_t *head, uint32_t *len);
/* Wait for the next interrupt (one not handled yet), then run the
 * handler: read InterruptStatus, write InterruptACK. */
int xg_wait_irq(struct xg *g);
/* As a guest that sleeps until the interrupt (Linux virtio-rng): wait
 * for an interrupt, then look at the used ring, until an entry is there. */
int xg_get_irq(struct xg *g, unsigned q, uint16_t *head, uint32_t *len);

#endif
