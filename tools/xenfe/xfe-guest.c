/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * xen-vhost-frontend: one guest's ioreq server.  Created with the guest's
 * first device: an ioreq server without buffered ioreqs, its ioreq page
 * mapped with xenforeignmemory_map_resource, one event channel bound to
 * each vCPU's port; each device then maps its 0x200-byte MMIO window into
 * the server.  Torn down in reverse order with the last device.
 *
 * The ioreq protocol (xen/hvm/ioreq.h): on a notification of vCPU v's
 * port, vcpu_ioreq[v] in state READY is taken (INPROCESS), answered, set
 * to IORESP_READY and the port notified.  Barriers as the Xen device
 * models place them: read the request after seeing READY, publish the
 * answer before IORESP_READY.
 *
 * Interrupts: xendevicemodel_set_irq_level (an Arm SPI) follows the
 * device's InterruptStatus: raised when it becomes non-zero, lowered when
 * the driver acknowledges everything.
 *
 * Fast paths (Linux 6.7+ privcmd): IOCTL_PRIVCMD_IRQFD makes the kernel
 * raise the SPI when the backend signals the call eventfd, and
 * IOCTL_PRIVCMD_IOEVENTFD makes it complete QueueNotify writes itself by
 * signalling the kick eventfd.  Tried once per process; if the kernel
 * does not have them (ENOTTY, EINVAL, ENOENT, EOPNOTSUPP) the relay in
 * this process does the same work.  Which one is used is logged once.
 */
#include "config.h"
#include "xfe.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <xen/hvm/dm_op.h>
#include <xen/hvm/hvm_op.h>
#include <xen/memory.h>

#include "log.h"

/* Linux include/uapi/xen/privcmd.h (6.7); Debian 12's headers predate
 * them, so the layout is declared here. */
struct xfe_privcmd_irqfd {
	uint64_t dm_op;                 /* pointer to a struct xen_dm_op */
	uint32_t size;
	uint32_t fd;
	uint32_t flags;
	uint16_t dom;
	uint8_t pad[2];
};
struct xfe_privcmd_ioeventfd {
	uint64_t ioreq;                 /* pointer to the ioreq page */
	uint64_t ports;                 /* pointer to the per-vCPU ports */
	uint64_t addr;
	uint32_t addr_len;
	uint32_t event_fd;
	uint32_t vcpus;
	uint32_t vq;
	uint32_t flags;
	uint16_t dom;
	uint8_t pad[2];
};
#define XFE_PRIVCMD_IRQFD       _IOW('P', 8, struct xfe_privcmd_irqfd)
#define XFE_PRIVCMD_IOEVENTFD   _IOW('P', 9, struct xfe_privcmd_ioeventfd)
#define XFE_PRIVCMD_DEASSIGN    1u

#define GUEST_FMT "dom%u"

/* ---- life cycle ------------------------------------------------------------ */

static void guest_destroy(struct xfe_guest *g)
{
	struct xfe *x = g->x;

	if (g->xce) {
		xfe_ev_del(x, xenevtchn_fd(g->xce));
		for (unsigned i = 0; g->ports && i < g->nvcpus; i++)
			if (g->ports[i] != (evtchn_port_t)~0u)
				xenevtchn_unbind(g->xce, g->ports[i]);
		xenevtchn_close(g->xce);
	}
	if (g->ioserv_on)
		xendevicemodel_set_ioreq_server_state(x->xdm, g->domid, g->ioserv, 0);
	if (g->res)
		xenforeignmemory_unmap_resource(x->xfm, g->res);
	if (g->ioserv_created)
		xendevicemodel_destroy_ioreq_server(x->xdm, g->domid, g->ioserv);
	free(g->ports);
	free(g);
}

static int guest_create(struct xfe *x, uint32_t domid, struct xfe_guest **out)
{
	struct xfe_guest *g = calloc(1, sizeof(*g));
	void *addr = NULL;
	int r;

	if (!g)
		return -ENOMEM;
	g->x = x;
	g->domid = domid;
	if (xendevicemodel_nr_vcpus(x->xdm, domid, &g->nvcpus) < 0 || g->nvcpus == 0) {
		r = -errno;
		vhd_log(VHD_LOG_ERROR, GUEST_FMT ": cannot count its vCPUs: %s (does the domain exist?)",
			domid, strerror(errno));
		goto fail;
	}
	if (xendevicemodel_create_ioreq_server(x->xdm, domid, HVM_IOREQSRV_BUFIOREQ_OFF,
					       &g->ioserv) < 0) {
		r = -errno;
		vhd_log(VHD_LOG_ERROR, GUEST_FMT ": cannot create an ioreq server: %s (Xen needs "
			"CONFIG_IOREQ_SERVER=y)", domid, strerror(errno));
		goto fail;
	}
	g->ioserv_created = true;
	g->res = xenforeignmemory_map_resource(x->xfm, domid, XENMEM_resource_ioreq_server,
					       g->ioserv, XENMEM_resource_ioreq_server_frame_ioreq(0),
					       1, &addr, PROT_READ | PROT_WRITE, 0);
	if (!g->res) {
		r = -errno;
		vhd_log(VHD_LOG_ERROR, GUEST_FMT ": cannot map the ioreq page: %s", domid,
			strerror(errno));
		goto fail;
	}
	g->iopage = addr;
	if (g->nvcpus > 4096 / sizeof(ioreq_t)) {
		r = -E2BIG;
		vhd_log(VHD_LOG_ERROR, GUEST_FMT ": %u vCPUs do not fit one ioreq page", domid,
			g->nvcpus);
		goto fail;
	}
	if (xendevicemodel_set_ioreq_server_state(x->xdm, domid, g->ioserv, 1) < 0) {
		r = -errno;
		vhd_log(VHD_LOG_ERROR, GUEST_FMT ": cannot enable the ioreq server: %s", domid,
			strerror(errno));
		goto fail;
	}
	g->ioserv_on = true;
	g->ports = malloc(g->nvcpus * sizeof(*g->ports));
	g->xce = xenevtchn_open(NULL, 0);
	if (!g->ports || !g->xce) {
		r = g->ports ? -errno : -ENOMEM;
		vhd_log(VHD_LOG_ERROR, GUEST_FMT ": cannot open event channels: %s", domid,
			strerror(-r));
		goto fail;
	}
	for (unsigned i = 0; i < g->nvcpus; i++)
		g->ports[i] = (evtchn_port_t)~0u;
	for (unsigned i = 0; i < g->nvcpus; i++) {
		xenevtchn_port_or_error_t p =
			xenevtchn_bind_interdomain(g->xce, domid, g->iopage->vcpu_ioreq[i].vp_eport);

		if (p < 0) {
			r = -errno;
			vhd_log(VHD_LOG_ERROR, GUEST_FMT ": cannot bind vCPU %u's event channel %u: %s",
				domid, i, g->iopage->vcpu_ioreq[i].vp_eport, strerror(errno));
			goto fail;
		}
		g->ports[i] = (evtchn_port_t)p;
	}
	g->ev = (struct xfe_ev){ XFE_EV_EVTCHN, g, 0 };
	r = xfe_ev_add(x, xenevtchn_fd(g->xce), &g->ev);
	if (r < 0)
		goto fail;
	vhd_log(VHD_LOG_INFO, GUEST_FMT ": ioreq server %u, %u vCPU%s", domid, g->ioserv,
		g->nvcpus, g->nvcpus == 1 ? "" : "s");
	*out = g;
	return 0;
fail:
	guest_destroy(g);
	return r;
}

struct xfe_guest *xfe_guest_get(struct xfe *x, uint32_t domid, uint64_t ram)
{
	struct xfe_guest *g;

	for (g = x->guests; g; g = g->next)
		if (g->domid == domid)
			break;
	if (!g) {
		if (guest_create(x, domid, &g) < 0)
			return NULL;
		g->next = x->guests;
		x->guests = g;
	}
	if (ram && !g->ram)
		g->ram = ram;
	return g;
}

void xfe_guest_put_if_empty(struct xfe_guest *g)
{
	struct xfe_guest **pp;

	if (g->devs)
		return;
	for (pp = &g->x->guests; *pp; pp = &(*pp)->next)
		if (*pp == g) {
			*pp = g->next;
			break;
		}
	vhd_log(VHD_LOG_INFO, GUEST_FMT ": no device left, ioreq server destroyed", g->domid);
	guest_destroy(g);
}

int xfe_guest_map_range(struct xfe_dev *d)
{
	struct xfe_guest *g = d->g;

	if (d->range_mapped)
		return 0;
	if (xendevicemodel_map_io_range_to_ioreq_server(d->x->xdm, g->domid, g->ioserv, 1,
							d->spec.base,
							d->spec.base + XFE_MMIO_SIZE - 1) < 0) {
		vhd_log(VHD_LOG_ERROR, GUEST_FMT ": cannot claim MMIO 0x%llx-0x%llx: %s "
			"(another device model has it?)", g->domid,
			(unsigned long long)d->spec.base,
			(unsigned long long)(d->spec.base + XFE_MMIO_SIZE - 1), strerror(errno));
		return -errno;
	}
	d->range_mapped = true;
	return 0;
}

void xfe_guest_unmap_range(struct xfe_dev *d)
{
	if (!d->range_mapped)
		return;
	xendevicemodel_unmap_io_range_from_ioreq_server(d->x->xdm, d->g->domid, d->g->ioserv, 1,
							d->spec.base,
							d->spec.base + XFE_MMIO_SIZE - 1);
	d->range_mapped = false;
}

/* ---- interrupts -------------------------------------------------------------- */

void xfe_dev_set_irq(struct xfe_dev *d)
{
	bool level = xfe_mmio_irq_pending(&d->mmio);

	if (level == d->irq_line)
		return;
	d->x->st.irq_ops++;
	if (xendevicemodel_set_irq_level(d->x->xdm, d->spec.domid, d->spec.irq, level) < 0) {
		vhd_log_ratelimited(&d->log_budget, 8, VHD_LOG_WARN,
				    "dom%u dev %u: set_irq_level(%u, %d): %s", d->spec.domid,
				    d->spec.devid, d->spec.irq, level, strerror(errno));
		return;
	}
	d->irq_line = level;
}

/* ---- ioreqs --------------------------------------------------------------------- */

static struct xfe_dev *dev_at(struct xfe_guest *g, uint64_t addr)
{
	for (struct xfe_dev *d = g->devs; d; d = d->next)
		if (d->range_mapped && addr >= d->spec.base && addr - d->spec.base < XFE_MMIO_SIZE)
			return d;
	return NULL;
}

static void handle_ioreq(struct xfe_guest *g, ioreq_t *req)
{
	bool write = req->dir == IOREQ_WRITE;
	struct xfe_dev *d;
	uint64_t data;

	g->x->st.ioreqs++;
	if (req->type != IOREQ_TYPE_COPY) {
		/* Port I/O, PCI config, invalidate, time offset: nothing of
		 * ours; reads of ports read as all ones, like a bus without a
		 * device. */
		if (!write && req->type == IOREQ_TYPE_PIO && !req->data_is_ptr)
			req->data = ~0ull;
		return;
	}
	d = dev_at(g, req->addr);
	if (!d || req->data_is_ptr || req->count != 1 ||
	    (req->size != 1 && req->size != 2 && req->size != 4 && req->size != 8)) {
		/* String (rep) MMIO or an access outside our windows: x86
		 * only, never from a virtio-mmio driver.  Reads answer 0. */
		vhd_log_ratelimited(&g->log_budget, 4, VHD_LOG_WARN,
				    GUEST_FMT ": unsupported MMIO access at 0x%llx (size %u, count %u%s)",
				    g->domid, (unsigned long long)req->addr, req->size, req->count,
				    req->data_is_ptr ? ", data in memory" : "");
		if (!write && !req->data_is_ptr)
			req->data = 0;
		return;
	}
	data = write ? req->data : 0;
	xfe_dev_access(d, (uint32_t)(req->addr - d->spec.base), req->size, write, &data);
	if (!write)
		req->data = data;
}

void xfe_guest_evtchn(struct xfe_guest *g)
{
	xenevtchn_port_or_error_t port = xenevtchn_pending(g->xce);

	if (port < 0)
		return;
	xenevtchn_unmask(g->xce, (evtchn_port_t)port);
	for (unsigned v = 0; v < g->nvcpus; v++) {
		ioreq_t *req = &g->iopage->vcpu_ioreq[v];

		if (g->ports[v] != (evtchn_port_t)port)
			continue;
		/* The hypervisor writes the state last (a bit-field: read it
		 * through a compiler barrier, then order the other fields). */
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		if (req->state != STATE_IOREQ_READY)
			continue;
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		req->state = STATE_IOREQ_INPROCESS;
		handle_ioreq(g, req);
		__atomic_thread_fence(__ATOMIC_RELEASE);
		req->state = STATE_IORESP_READY;
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		g->x->st.notifies++;
		xenevtchn_notify(g->xce, (evtchn_port_t)port);
	}
}

/* ---- fast paths ------------------------------------------------------------------- */

static bool no_such_ioctl(int err)
{
	return err == ENOTTY || err == EINVAL || err == ENOENT || err == EOPNOTSUPP;
}

static void log_path(struct xfe *x, const char *what, bool fast, int err)
{
	if (fast)
		vhd_log(VHD_LOG_INFO, "%s: the kernel's privcmd does it (Linux 6.7+)", what);
	else
		vhd_log(VHD_LOG_INFO, "%s: relayed by this process (privcmd: %s)", what,
			err ? strerror(err) : "not available");
	(void)x;
}

void xfe_guest_fast_paths(struct xfe_dev *d, unsigned q)
{
	struct xfe *x = d->x;
	struct xen_dm_op op = { .op = XEN_DMOP_set_irq_level };
	int err = 0;

	op.u.set_irq_level.irq = d->spec.irq;
	op.u.set_irq_level.level = 1;
	if (x->fast_irqfd != 0 && x->privcmd_fd >= 0) {
		struct xfe_privcmd_irqfd a = {
			.dm_op = (uintptr_t)&op, .size = sizeof(op), .fd = (uint32_t)d->call[q],
			.dom = (uint16_t)d->spec.domid,
		};
		if (ioctl(x->privcmd_fd, XFE_PRIVCMD_IRQFD, &a) == 0) {
			d->irqfd[q] = true;
			d->mmio.int_vring_always = true;
		} else {
			err = errno;
		}
		if (x->fast_irqfd < 0) {
			if (!d->irqfd[q] && !no_such_ioctl(err))
				vhd_log(VHD_LOG_WARN, "IOCTL_PRIVCMD_IRQFD failed: %s", strerror(err));
			x->fast_irqfd = d->irqfd[q];
			log_path(x, "interrupts", d->irqfd[q], err);
		}
	} else if (x->fast_irqfd < 0) {
		x->fast_irqfd = 0;
		log_path(x, "interrupts", false, 0);
	}
	if (!d->irqfd[q]) {
		d->ev_call[q] = (struct xfe_ev){ XFE_EV_CALL, d, q };
		xfe_ev_add(x, d->call[q], &d->ev_call[q]);
	}
	err = 0;
	if (x->fast_ioeventfd != 0 && x->privcmd_fd >= 0) {
		struct xfe_privcmd_ioeventfd a = {
			.ioreq = (uintptr_t)d->g->iopage, .ports = (uintptr_t)d->g->ports,
			.addr = d->spec.base + XFE_REG_QUEUE_NOTIFY, .addr_len = 4,
			.event_fd = (uint32_t)d->kick[q], .vcpus = d->g->nvcpus, .vq = q,
			.dom = (uint16_t)d->spec.domid,
		};
		if (ioctl(x->privcmd_fd, XFE_PRIVCMD_IOEVENTFD, &a) == 0)
			d->ioeventfd[q] = true;
		else
			err = errno;
		if (x->fast_ioeventfd < 0) {
			x->fast_ioeventfd = d->ioeventfd[q];
			log_path(x, "queue notifications", d->ioeventfd[q], err);
		}
	} else if (x->fast_ioeventfd < 0) {
		x->fast_ioeventfd = 0;
		log_path(x, "queue notifications", false, 0);
	}
}

void xfe_guest_fast_paths_off(struct xfe_dev *d, unsigned q)
{
	struct xfe *x = d->x;

	if (d->irqfd[q]) {
		struct xen_dm_op op = { .op = XEN_DMOP_set_irq_level };
		struct xfe_privcmd_irqfd a = {
			.dm_op = (uintptr_t)&op, .size = sizeof(op), .fd = (uint32_t)d->call[q],
			.flags = XFE_PRIVCMD_DEASSIGN, .dom = (uint16_t)d->spec.domid,
		};
		op.u.set_irq_level.irq = d->spec.irq;
		op.u.set_irq_level.level = 1;
		ioctl(x->privcmd_fd, XFE_PRIVCMD_IRQFD, &a);
		d->irqfd[q] = false;
	} else {
		xfe_ev_del(x, d->call[q]);
	}
	if (d->ioeventfd[q]) {
		struct xfe_privcmd_ioeventfd a = {
			.ioreq = (uintptr_t)d->g->iopage, .ports = (uintptr_t)d->g->ports,
			.addr = d->spec.base + XFE_REG_QUEUE_NOTIFY, .addr_len = 4,
			.event_fd = (uint32_t)d->kick[q], .vcpus = d->g->nvcpus, .vq = q,
			.flags = XFE_PRIVCMD_DEASSIGN, .dom = (uint16_t)d->spec.domid,
		};
		ioctl(x->privcmd_fd, XFE_PRIVCMD_IOEVENTFD, &a);
		d->ioeventfd[q] = false;
	}
}
