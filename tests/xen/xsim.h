/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * xsim: the hypervisor side of a simulated Xen, for running a device
 * model (xen-vhost-frontend) on a host without Xen.  The device model
 * runs with tests/xen/libfakexen.so preloaded and FAKEXEN_SIM pointing at
 * xsim_dir(); its libxendevicemodel, libxenevtchn and map_resource calls
 * arrive here (wire: xsim-wire.h).  A thread of the test answers them.
 *
 * What it keeps, as Xen does for the calls a device model makes
 * (ioreq servers: xen/include/public/hvm/dm_op.h; the ioreq protocol:
 * xen/include/public/hvm/ioreq.h):
 *  - domains (added by the test) with a vCPU count;
 *  - ioreq servers per domain: a shared_iopage_t (a one-page file the
 *    device model maps with map_resource), one guest-side event channel
 *    port per vCPU in vcpu_ioreq[v].vp_eport, an enabled flag, MMIO and
 *    port ranges (overlapping ranges of two servers are refused, EEXIST);
 *  - event channel bindings: local port -> (domain, remote port, the
 *    handle's socket), masked after each delivery until unmasked;
 *  - interrupt lines: the level and the number of assertions
 *    (set_irq_level to 1) of each (domain, irq).
 *
 * The guest side: xsim_mmio() is one vCPU access.  Like Xen it picks the
 * enabled server whose range holds the address, fills that vCPU's ioreq
 * (IOREQ_TYPE_COPY, count 1, data inline), sets STATE_IOREQ_READY,
 * signals the vCPU's port and waits for the device model's notify on that
 * port with STATE_IORESP_READY (a response never notified times out, as
 * a real vCPU would wait forever).  An access no server claims reads all ones and
 * drops writes (-ENODEV).
 *
 * A device model that dies leaves its servers behind in Xen; here a
 * server whose creating process is gone is destroyed at the next access
 * that reaches it or at the next server creation (the toolstack's clean-up),
 * and an access in flight then fails with -EPIPE instead of hanging.
 *
 * Functions return 0 or -errno.
 */
#ifndef VHD_TEST_XSIM_H
#define VHD_TEST_XSIM_H

#include <stdbool.h>
#include <stdint.h>

struct xsim;

struct xsim_stats {
	uint64_t ioreqs;                /* guest accesses sent to a device model */
	uint64_t unclaimed;             /* accesses no server claimed */
	uint64_t evtchn_to_dm;          /* events delivered to the device model */
	uint64_t evtchn_from_dm;        /* notifies by the device model */
	uint64_t irq_sets;              /* set_irq_level calls */
	uint64_t irq_asserts;           /* of which level 1 */
	uint64_t dm_calls;              /* all requests from the device model */
	uint64_t map_resource;
	uint64_t servers_created, servers_destroyed, servers_reaped;
	uint64_t servers_live, ranges_live, bindings_live;
};

/* A private directory, its socket and the thread. */
int xsim_create(struct xsim **out);
void xsim_destroy(struct xsim *s);
const char *xsim_dir(const struct xsim *s);

/* A guest domain with `vcpus` vCPUs (1..8). */
int xsim_add_domain(struct xsim *s, uint32_t domid, unsigned vcpus);

/* Failure bound of one access (default 20 s). */
void xsim_set_timeout(struct xsim *s, int ms);

/* One guest access of `size` (1, 2, 4, 8) bytes on vCPU `vcpu`.
 * Reads store the result in *data.  -ENODEV: unclaimed; -ETIMEDOUT: no
 * answer within the bound; -EPIPE: the device model went away. */
int xsim_mmio(struct xsim *s, uint32_t domid, unsigned vcpu, uint64_t addr,
	      unsigned size, bool write, uint64_t *data);

/* Whether an enabled server claims addr now; wait until that is `want`
 * (-ETIMEDOUT after timeout_ms). */
bool xsim_claimed(struct xsim *s, uint32_t domid, uint64_t addr);
int xsim_wait_claimed(struct xsim *s, uint32_t domid, uint64_t addr, bool want,
		      int timeout_ms);

/* Interrupt line (domid, irq): assertions so far; wait until more than
 * `seen` (-ETIMEDOUT after timeout_ms). */
uint64_t xsim_irq_count(struct xsim *s, uint32_t domid, unsigned irq);
int xsim_irq_wait(struct xsim *s, uint32_t domid, unsigned irq, uint64_t seen,
		  int timeout_ms);
unsigned xsim_irq_level(struct xsim *s, uint32_t domid, unsigned irq);

void xsim_get_stats(struct xsim *s, struct xsim_stats *st);

/* The environment for a device model process (FAKEXEN_SIM, LD_PRELOAD
 * of libfakexen.so, ASan told the shim comes first); pop restores. */
void xsim_env_push(struct xsim *s);
void xsim_env_pop(struct xsim *s);

#endif
