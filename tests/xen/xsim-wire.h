/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * The contract between the device-model half of the fake libxen
 * (tests/xen/fakexen-dm.c, in libfakexen.so, loaded into a device model
 * such as xen-vhost-frontend) and the simulated hypervisor
 * (tests/xen/xsim.c, a thread of the test).
 *
 * Environment of the device model process:
 *   FAKEXEN_SIM   the simulator's private directory.  Unset: the
 *                 devicemodel and evtchn calls fail with ENOENT (as
 *                 without /dev/xen) and /dev/xen opens are not touched.
 *
 * In that directory:
 *   hv.sock                 the simulator's datagram socket;
 *   ioreq-<domid>-<id>      the shared_iopage_t of ioreq server <id> of
 *                           <domid> (one page), created by the simulator
 *                           when the server is created;
 *   c-<pid>-<n>, e-<pid>-<n> the shim's sockets: one per process for
 *                           requests (synchronous: one answer each), one
 *                           per xenevtchn handle for events.
 *
 * Every message is one struct xsim_msg datagram.  Requests that have an
 * answer get the same struct back with rc = 0 or -errno and the results
 * filled in; NOTIFY and UNMASK are one-way, like the hypercalls' effect
 * on the other side.  An event delivered to a xenevtchn handle is a
 * datagram of one uint32_t: the local port.
 */
#ifndef VHD_TEST_XSIM_WIRE_H
#define VHD_TEST_XSIM_WIRE_H

#include <stdint.h>

/* HVM_IOREQSRV_BUFIOREQ_OFF of <xen/hvm/hvm_op.h>, visible there to the
 * toolstack only (__XEN_TOOLS__): servers without a buffered ioreq page. */
#define XSIM_BUFIOREQ_OFF 0

enum xsim_op {
	XSIM_NR_VCPUS = 1,      /* domid -> a = vcpus */
	XSIM_CREATE_SERVER,     /* domid, a = handle_bufioreq -> a = id */
	XSIM_SET_STATE,         /* domid, a = id, b = enabled */
	XSIM_MAP_RANGE,         /* domid, a = id, b = is_mmio, x = start, y = end */
	XSIM_UNMAP_RANGE,       /* same */
	XSIM_DESTROY_SERVER,    /* domid, a = id */
	XSIM_SET_IRQ,           /* domid, a = irq, b = level */
	XSIM_MAP_RESOURCE,      /* domid, a = type, b = id, x = frame, y = nr (check only) */
	XSIM_BIND,              /* domid, a = remote port, path = event socket
				 * -> a = local port */
	XSIM_UNBIND,            /* a = local port */
	XSIM_NOTIFY,            /* a = local port (one-way) */
	XSIM_UNMASK,            /* a = local port (one-way) */
};

struct xsim_msg {
	uint32_t op;
	int32_t rc;
	uint32_t domid;
	uint32_t a, b;
	uint32_t seq;           /* echoed: a late answer is recognised */
	uint64_t x, y;
	char path[108];
};

#endif
