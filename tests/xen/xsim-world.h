/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * One simulated Xen host for the device-model tests: the simulated
 * hypervisor (xsim.h) with one guest domain, a fake xenstored
 * (fake-xenstored.h) seeded as a dom0 toolstack leaves it, the guest's RAM
 * with its grant table (xen-fx.h: ref i grants page i), our
 * xen-vhost-frontend, and backends started with the fake libxen.
 *
 *  - the private directory holds xenstored.sock and the backends'
 *    sockets, named as the frontend looks for them: <dir>/<name>.sock<N>
 *    (the frontend runs with --socket-path <dir>/);
 *  - xenstore: /local/domain/0/domid = 0, /local/domain/<guest>/memory/
 *    static-max = RAM size in KiB; xw_plug() writes a device as libxl
 *    4.18 does for virtio=[...] (both directories, one transaction),
 *    xw_unplug() removes them as libxl does at detach;
 *  - the frontend and the backends are child processes (backend.h:
 *    they never outlive the test, their stderr is in their log).  The
 *    frontend sees the hypervisor through libfakexen.so (FAKEXEN_SIM) and
 *    the guest RAM files (it may map rings itself); its fake-libxen
 *    counters go to <dir>/fe-stats, the backends' to the fx stats file.
 *
 * Functions return 0 or -errno.
 */
#ifndef VHD_TEST_XSIM_WORLD_H
#define VHD_TEST_XSIM_WORLD_H

#include <stdbool.h>
#include <stdint.h>

#include <xenstore.h>

#include "backend.h"
#include "fake-xenstored.h"
#include "xen-fx.h"
#include "xsim.h"

struct xw {
	char dir[64];
	char xs_sock[128];
	struct xsim *sim;
	struct fxs *xsd;
	struct xs_handle *xs;
	uint32_t domid;
	struct vhu_mem *ram;
	uint64_t ram_gpa;               /* guest-physical address of RAM byte 0 */
	struct fx fx;
	struct backend fe;
	bool fe_up;
	char fe_stats_path[128];
	struct fakexen_stats *fe_st;
};

int xw_create(struct xw *w, uint32_t domid, size_t ram_bytes, unsigned vcpus);
void xw_destroy(struct xw *w);

/* xen-vhost-frontend --socket-path <dir>/ -v [extra...]. */
int xw_fe_start(struct xw *w, const char *const *extra);
/* SIGTERM and reap: the exit status (>= 0) or -1 if it had to be killed. */
int xw_fe_stop(struct xw *w);
/* SIGKILL and reap. */
void xw_fe_kill(struct xw *w);

/* A backend with the fake libxen for our guest (args end with NULL;
 * wait_for: absolute paths, NULL-terminated). */
int xw_backend(struct xw *w, struct backend *b, const char *binary, const char *const *args,
	       const char *const *wait_for);

/* <dir>/<name>.sock<n>. */
void xw_sock(const struct xw *w, const char *name, unsigned n, char *out, size_t len);

/* libxl's virtio=[...] attach and detach of device devid. */
int xw_plug(struct xw *w, uint32_t devid, uint32_t virtio_id, uint64_t base, unsigned irq,
	    bool grant);
int xw_unplug(struct xw *w, uint32_t devid);

/*
 * A second guest in the same world (same hypervisor, xenstore and
 * frontend): its domain, its RAM and grant table, its static-max.  Its
 * backends start with xw_guest_backend (the fake libxen of a backend
 * process serves one guest), its devices plug with xw_guest_plug.
 */
struct xw_guest {
	uint32_t domid;
	struct vhu_mem *ram;
	struct fx fx;
};
int xw_guest_add(struct xw *w, struct xw_guest *g, uint32_t domid, size_t ram_bytes,
		 unsigned vcpus);
void xw_guest_destroy(struct xw_guest *g);
int xw_guest_backend(struct xw *w, struct xw_guest *g, struct backend *b, const char *binary,
		     const char *const *args, const char *const *wait_for);
int xw_guest_plug(struct xw *w, struct xw_guest *g, uint32_t devid, uint32_t virtio_id,
		  uint64_t base, unsigned irq, bool grant);

#endif
