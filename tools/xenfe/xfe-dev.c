/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * xen-vhost-frontend: a device's life cycle.  Added (from xenstore or the
 * command line), it joins its guest (whose ioreq server is created with
 * the first device) and connects to its backend; its MMIO window is
 * claimed in the ioreq server once the backend has answered (its features
 * and queue count are the device's identity).  A backend that is not
 * there, or goes away, is retried: after 50 ms, doubling to 1 s.
 * Removal resets the backend's rings, releases the window, and destroys
 * the guest's ioreq server with its last device.
 */
#include "config.h"
#include "xfe.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"

#define DEFAULT_QUEUE_SIZE 256

static struct xfe_dev *find(struct xfe *x, uint32_t domid, uint64_t base)
{
	for (struct xfe_guest *g = x->guests; g; g = g->next)
		for (struct xfe_dev *d = g->devs; d; d = d->next)
			if (!d->gone && d->spec.domid == domid && d->spec.base == base)
				return d;
	return NULL;
}

/* The lowest N not used by a live device of this type in this process:
 * two guests with an rng each use rng.sock0 and rng.sock1. */
static int free_index(struct xfe *x, const struct xfe_type *t)
{
	for (int n = 0;; n++) {
		bool used = false;

		for (struct xfe_guest *g = x->guests; g && !used; g = g->next)
			for (struct xfe_dev *d = g->devs; d && !used; d = d->next)
				used = !d->gone && d->spec.type == t && d->sock_index == n;
		if (!used)
			return n;
	}
}

static int make_eventfds(struct xfe_dev *d)
{
	for (unsigned q = 0; q < XFE_MAX_QUEUES; q++) {
		d->kick[q] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		d->call[q] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (d->kick[q] < 0 || d->call[q] < 0)
			return -errno;
	}
	return 0;
}

static void try_connect(struct xfe_dev *d)
{
	if (xfe_dev_connect(d) < 0) {
		d->retry_at_ms = xfe_now_ms() + d->retry_ms;
		d->retry_ms = d->retry_ms >= 500 ? 1000 : d->retry_ms * 2;
		return;
	}
	d->retry_ms = 50;
	if (!d->range_mapped && xfe_guest_map_range(d) < 0)
		xfe_dev_remove(d);
}

int xfe_dev_add(struct xfe *x, const struct xfe_devspec *spec, bool from_xs)
{
	struct xfe_dev *d;
	struct xfe_guest *g;
	uint64_t ram = spec->ram;
	int r;

	if (find(x, spec->domid, spec->base)) {
		vhd_log(VHD_LOG_ERROR, "dom%u: two devices at MMIO base 0x%llx: the second is ignored",
			spec->domid, (unsigned long long)spec->base);
		return -EEXIST;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->x = x;
	d->spec = *spec;
	d->from_xenstore = from_xs;
	d->req_fd = -1;
	for (unsigned q = 0; q < XFE_MAX_QUEUES; q++)
		d->kick[q] = d->call[q] = -1;
	if (d->spec.grant < 0)
		d->spec.grant = !x->o.foreign;
	d->qmax = spec->queue_size ? spec->queue_size : DEFAULT_QUEUE_SIZE;
	if (spec->socket[0]) {
		d->sock_index = -1;
		snprintf(d->sock, sizeof(d->sock), "%s", spec->socket);
	} else {
		d->sock_index = free_index(x, spec->type);
		r = xfe_socket_name(d->sock, sizeof(d->sock), x->o.socket_prefix ? x->o.socket_prefix : "",
				    spec->type, (unsigned)d->sock_index);
		if (r < 0) {
			vhd_log(VHD_LOG_ERROR, "dom%u dev %u: socket name too long (--socket-path)",
				spec->domid, spec->devid);
			free(d);
			return r;
		}
	}
	r = make_eventfds(d);
	if (r < 0) {
		vhd_log(VHD_LOG_ERROR, "dom%u dev %u: eventfd: %s", spec->domid, spec->devid,
			strerror(-r));
		goto fail;
	}
	if (!ram && x->xs)
		ram = xfe_xs_guest_ram(x, spec->domid);
	g = xfe_guest_get(x, spec->domid, ram);
	if (!g) {
		r = -ENODEV;
		goto fail;
	}
	d->g = g;
	d->next = g->devs;
	g->devs = d;
	vhd_log(VHD_LOG_INFO, "dom%u dev %u: %s at 0x%llx irq %u, %s, backend %s", spec->domid,
		spec->devid, spec->type->name, (unsigned long long)spec->base, spec->irq,
		d->spec.grant ? "grants" : "foreign mappings", d->sock);
	d->retry_ms = 50;
	try_connect(d);
	xfe_arm_timer(x);
	return 0;
fail:
	for (unsigned q = 0; q < XFE_MAX_QUEUES; q++) {
		if (d->kick[q] >= 0)
			close(d->kick[q]);
		if (d->call[q] >= 0)
			close(d->call[q]);
	}
	free(d);
	return r;
}

/* Unregister and release what the device holds now; the memory goes at
 * the end of the loop's batch (events of this batch may still name it). */
void xfe_dev_remove(struct xfe_dev *d)
{
	if (d->gone)
		return;
	d->gone = true;
	vhd_log(VHD_LOG_INFO, "dom%u dev %u: %s at 0x%llx removed", d->spec.domid, d->spec.devid,
		d->spec.type->name, (unsigned long long)d->spec.base);
	xfe_guest_unmap_range(d);
	if (d->c) {
		xfe_dev_stop_rings(d);
		xfe_ev_del(d->x, vhu_conn_fd(d->c));
		if (d->req_fd >= 0)
			xfe_ev_del(d->x, d->req_fd);
		vhu_close(d->c);
		d->c = NULL;
	}
	if (d->irq_line) {
		xendevicemodel_set_irq_level(d->x->xdm, d->spec.domid, d->spec.irq, 0);
		d->irq_line = false;
	}
	for (unsigned q = 0; q < XFE_MAX_QUEUES; q++)
		if (d->q_started[q] || d->irqfd[q] || d->ioeventfd[q])
			xfe_guest_fast_paths_off(d, q);
}

/* Free the removed devices (and guests left without any). */
void xfe_dev_sweep(struct xfe *x)
{
	struct xfe_guest *g = x->guests, *gnext;

	for (; g; g = gnext) {
		struct xfe_dev **pp = &g->devs;

		gnext = g->next;
		while (*pp) {
			struct xfe_dev *d = *pp;

			if (!d->gone) {
				pp = &d->next;
				continue;
			}
			*pp = d->next;
			for (unsigned q = 0; q < XFE_MAX_QUEUES; q++) {
				if (d->kick[q] >= 0)
					close(d->kick[q]);
				if (d->call[q] >= 0)
					close(d->call[q]);
			}
			free(d);
		}
		xfe_guest_put_if_empty(g);
	}
}

void xfe_dev_retry_all(struct xfe *x)
{
	int64_t now = xfe_now_ms();

	for (struct xfe_guest *g = x->guests; g; g = g->next)
		for (struct xfe_dev *d = g->devs; d; d = d->next)
			if (!d->gone && !d->c && d->retry_at_ms <= now)
				try_connect(d);
	xfe_arm_timer(x);
}
