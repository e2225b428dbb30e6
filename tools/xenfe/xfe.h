/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * xen-vhost-frontend internals: the objects and who owns what.
 *
 *  - struct xfe: the process.  One epoll loop (single thread) and the
 *    process-wide libxen handles (xendevicemodel, xenforeignmemory,
 *    xenstore, privcmd for the fast paths).  Owns the guests.
 *  - struct xfe_guest: one guest domain, created with its first device and
 *    destroyed with its last.  Owns the ioreq server, the mapped ioreq
 *    page, the event-channel handle bound to each vCPU's port, and the
 *    devices.
 *  - struct xfe_dev: one virtio-mmio device of a guest.  Owns its register
 *    file (xfe-mmio.h), its vhost-user connection (libvhu-frontend), its
 *    kick and call eventfds (which outlive backend restarts), and its
 *    MMIO range in the ioreq server (mapped once the backend answered).
 *
 * Every file descriptor the loop waits on is registered with a struct
 * xfe_ev naming its owner; objects are freed only from the loop itself,
 * never while an event of theirs is being handled.
 *
 * The libxen calls are those of the libxen-dev 4.17 headers, nothing
 * else: the tests run this program over a simulated hypervisor that
 * implements exactly that API (docs/xen.md, "The device model").
 */
#ifndef VHD_XFE_H
#define VHD_XFE_H

#include <stdbool.h>
#include <stdint.h>

#include <xendevicemodel.h>
#include <xenevtchn.h>
#include <xenforeignmemory.h>
#include <xengnttab.h>
#include <xenstore.h>
#include <xen/hvm/ioreq.h>

#include "vhu-frontend.h"
#include "xfe-conf.h"
#include "xfe-mmio.h"

#define XFE_PROG "xen-vhost-frontend"

enum xfe_ev_kind {
	XFE_EV_SIGNAL, XFE_EV_TIMER, XFE_EV_XENSTORE,
	XFE_EV_EVTCHN,          /* a guest's ioreq notifications */
	XFE_EV_CALL,            /* a queue's call eventfd (relay path) */
	XFE_EV_BACKEND,         /* the vhost-user socket: hang-up */
	XFE_EV_BACKEND_REQ,     /* the backend channel: CONFIG_CHANGE_MSG */
};

struct xfe_ev {
	enum xfe_ev_kind kind;
	void *obj;
	unsigned idx;
};

struct xfe_stats {
	uint64_t ioreqs;                /* MMIO accesses handled */
	uint64_t notifies;              /* xenevtchn_notify calls */
	uint64_t irq_ops;               /* xendevicemodel_set_irq_level calls */
	uint64_t kicks;                 /* kick eventfd writes (relay) */
	uint64_t calls;                 /* call eventfd wake-ups (relay) */
	uint64_t map_calls;             /* guest memory maps (replay only) */
	uint64_t vhost_msgs;            /* vhost-user requests sent */
};

struct xfe_guest;

struct xfe_dev {
	struct xfe *x;
	struct xfe_guest *g;
	struct xfe_dev *next;           /* in the guest's list */
	struct xfe_devspec spec;
	bool from_xenstore;
	bool seen;                      /* during a xenstore rescan */
	bool gone;                      /* removal requested */
	int sock_index;                 /* N of <prefix><name>.sock<N>, -1 explicit */
	char sock[108];
	struct vhu_conn *c;             /* NULL while the backend is away */
	bool ever_connected;
	bool range_mapped;
	unsigned nq;
	uint16_t qmax;
	struct xfe_mmio mmio;
	uint64_t backend_features;      /* first connection's GET_FEATURES */
	bool features_set;              /* SET_FEATURES done for this driver */
	bool started;                   /* rings handed to the backend */
	bool q_started[XFE_MAX_QUEUES];
	uint16_t q_base[XFE_MAX_QUEUES];
	int kick[XFE_MAX_QUEUES], call[XFE_MAX_QUEUES];
	bool irqfd[XFE_MAX_QUEUES], ioeventfd[XFE_MAX_QUEUES];
	bool irq_line;                  /* level last set */
	struct xfe_ev ev_backend, ev_req, ev_call[XFE_MAX_QUEUES];
	int req_fd;                     /* backend channel registered, -1 none */
	unsigned log_budget;
	int64_t retry_at_ms;            /* next reconnect attempt */
	unsigned retry_ms;
};

struct xfe_guest {
	struct xfe *x;
	struct xfe_guest *next;
	uint32_t domid;
	uint64_t ram;                   /* bytes, 0 if unknown */
	ioservid_t ioserv;
	bool ioserv_created, ioserv_on;
	xenforeignmemory_resource_handle *res;
	shared_iopage_t *iopage;
	unsigned nvcpus;
	xenevtchn_handle *xce;
	evtchn_port_t *ports;           /* local port of each vCPU, or ~0 */
	struct xfe_ev ev;
	struct xfe_dev *devs;
	unsigned log_budget;
};

struct xfe_opts {
	const char *socket_prefix;
	bool foreign;                   /* --foreign-mapping */
	bool no_xenstore;
	int verbose;
	unsigned ndev;
	struct xfe_devspec dev[64];
};

struct xfe {
	struct xfe_opts o;
	int epfd, sigfd, timerfd;
	struct xfe_ev ev_sig, ev_timer, ev_xs;
	xendevicemodel_handle *xdm;
	xenforeignmemory_handle *xfm;
	xengnttab_handle *xgt;          /* opened on first use (replay) */
	struct xs_handle *xs;
	uint32_t self_domid;
	char xs_root[96];               /* /local/domain/<self>/backend/virtio */
	unsigned xs_log_budget;         /* unusable xenstore devices (every rescan) */
	int privcmd_fd;                 /* -1: no fast paths */
	int fast_irqfd, fast_ioeventfd; /* -1 unknown, 0 no, 1 yes */
	struct xfe_guest *guests;
	struct xfe_stats st;
	bool stop;
};

/* xfe-main.c: the loop's registry. */
int xfe_ev_add(struct xfe *x, int fd, struct xfe_ev *ev);
void xfe_ev_del(struct xfe *x, int fd);
int64_t xfe_now_ms(void);
void xfe_arm_timer(struct xfe *x);

/* xfe-guest.c */
struct xfe_guest *xfe_guest_get(struct xfe *x, uint32_t domid, uint64_t ram);
void xfe_guest_put_if_empty(struct xfe_guest *g);
int xfe_guest_map_range(struct xfe_dev *d);
void xfe_guest_unmap_range(struct xfe_dev *d);
void xfe_guest_evtchn(struct xfe_guest *g);
void xfe_dev_set_irq(struct xfe_dev *d);
void xfe_guest_fast_paths(struct xfe_dev *d, unsigned q);
void xfe_guest_fast_paths_off(struct xfe_dev *d, unsigned q);

/* xfe-backend.c */
int xfe_dev_connect(struct xfe_dev *d);
void xfe_dev_disconnect(struct xfe_dev *d, const char *why);
void xfe_dev_access(struct xfe_dev *d, uint32_t off, unsigned size, bool write,
		    uint64_t *data);
void xfe_dev_call(struct xfe_dev *d, unsigned q);
void xfe_dev_backend_req(struct xfe_dev *d);
void xfe_dev_stop_rings(struct xfe_dev *d);

/* xfe-dev.c: life cycle */
int xfe_dev_add(struct xfe *x, const struct xfe_devspec *spec, bool from_xs);
void xfe_dev_remove(struct xfe_dev *d);
void xfe_dev_retry_all(struct xfe *x);
void xfe_dev_sweep(struct xfe *x);

/* xfe-xs.c */
int xfe_xs_open(struct xfe *x);
void xfe_xs_event(struct xfe *x);
uint64_t xfe_xs_guest_ram(struct xfe *x, uint32_t domid);

#endif
