/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * xen-vhost-frontend: devices from xenstore.  libxl (Xen 4.18+) writes a
 * virtio=[...] device under this domain's
 * backend/virtio/<frontend domid>/<devid>/ with the keys type
 * ("virtio,device<hex id>"), base, irq, grant_usage and state (1,
 * Initialising).  One watch on backend/virtio; every event rescans the
 * directory (cheap, and immune to the order in which libxl writes the
 * keys): a device is taken once type, base, irq and state all exist, its
 * state then set to 2 (InitWait, the xenbus handshake libxl expects for
 * virtio: it does not wait for Connected), and removed when its directory
 * is gone or its state is Closing (5) or later.
 */
#include "config.h"
#include "xfe.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define WATCH_TOKEN "xfe-virtio"

static char *read_key(struct xfe *x, const char *dir, const char *key)
{
	char path[256];
	unsigned len;

	snprintf(path, sizeof(path), "%s/%s", dir, key);
	return xs_read(x->xs, XBT_NULL, path, &len);
}

uint64_t xfe_xs_guest_ram(struct xfe *x, uint32_t domid)
{
	char path[96];
	unsigned len;
	uint64_t kib = 0;
	char *s;

	snprintf(path, sizeof(path), "/local/domain/%u/memory/static-max", domid);
	s = xs_read(x->xs, XBT_NULL, path, &len);
	if (s && xfe_parse_u64(s, &kib) == 0 && kib < (1ull << 40)) {
		free(s);
		return kib << 10;
	}
	free(s);
	return 0;
}

static struct xfe_dev *find_xs(struct xfe *x, uint32_t domid, uint32_t devid)
{
	for (struct xfe_guest *g = x->guests; g; g = g->next)
		for (struct xfe_dev *d = g->devs; d; d = d->next)
			if (!d->gone && d->from_xenstore && d->spec.domid == domid &&
			    d->spec.devid == devid)
				return d;
	return NULL;
}

/* 1: a complete device description, 0: not (yet), or going away. */
static int read_device(struct xfe *x, const char *dir, uint32_t fe, uint32_t devid,
		       struct xfe_devspec *s, unsigned *state)
{
	char *type = read_key(x, dir, "type"), *base = read_key(x, dir, "base");
	char *irq = read_key(x, dir, "irq"), *st = read_key(x, dir, "state");
	char *gu = read_key(x, dir, "grant_usage");
	uint64_t v, b, i;
	uint32_t id;
	int r = 0;

	memset(s, 0, sizeof(*s));
	s->domid = fe;
	s->devid = devid;
	s->grant = -1;
	if (!type || !base || !irq || !st || xfe_parse_u64(st, &v) || v == 0 || v >= 5)
		goto out;
	*state = (unsigned)v;
	if (xfe_parse_compatible(type, &id) < 0 || !(s->type = xfe_type_by_id(id))) {
		vhd_log_ratelimited(&x->xs_log_budget, 8, VHD_LOG_WARN,
				    "%s: type '%s' is not a device this program knows: skipped",
				    dir, type);
		goto out;
	}
	if (xfe_parse_u64(base, &b) < 0 || (b & 0x1ff) || b > (1ull << 48) || xfe_parse_u64(irq, &i) < 0 ||
	    i > 1019) {
		vhd_log_ratelimited(&x->xs_log_budget, 8, VHD_LOG_WARN,
				    "%s: base '%s' or irq '%s' unusable: skipped", dir, base, irq);
		goto out;
	}
	s->base = b;
	s->irq = (uint32_t)i;
	if (gu && xfe_parse_u64(gu, &v) == 0)
		s->grant = v != 0;
	r = 1;
out:
	free(type);
	free(base);
	free(irq);
	free(st);
	free(gu);
	return r;
}

static void scan(struct xfe *x)
{
	unsigned nfe = 0;
	char **fes = xs_directory(x->xs, XBT_NULL, x->xs_root, &nfe);

	for (struct xfe_guest *g = x->guests; g; g = g->next)
		for (struct xfe_dev *d = g->devs; d; d = d->next)
			d->seen = false;
	for (unsigned i = 0; fes && i < nfe; i++) {
		char fedir[160];
		unsigned ndev = 0;
		char **devs;
		uint32_t fe, dummy;

		snprintf(fedir, sizeof(fedir), "%s/%s", x->xs_root, fes[i]);
		if (xfe_parse_backend_path(x->xs_root, fedir, &fe, &dummy) != 1)
			continue;
		devs = xs_directory(x->xs, XBT_NULL, fedir, &ndev);
		for (unsigned j = 0; devs && j < ndev; j++) {
			char dir[200];
			struct xfe_devspec s;
			struct xfe_dev *d;
			uint32_t fe2 = 0, devid = 0;
			unsigned state = 0;

			snprintf(dir, sizeof(dir), "%s/%s", fedir, devs[j]);
			if (xfe_parse_backend_path(x->xs_root, dir, &fe2, &devid) != 2)
				continue;
			if (!read_device(x, dir, fe, devid, &s, &state))
				continue;
			d = find_xs(x, fe, devid);
			if (d) {
				d->seen = true;
				continue;
			}
			if (xfe_dev_add(x, &s, true) == 0) {
				char path[220];

				d = find_xs(x, fe, devid);
				if (d)
					d->seen = true;
				snprintf(path, sizeof(path), "%s/state", dir);
				if (state == 1 && !xs_write(x->xs, XBT_NULL, path, "2", 1))
					vhd_log(VHD_LOG_WARN, "%s: cannot write InitWait: %s", path,
						strerror(errno));
			}
		}
		free(devs);
	}
	free(fes);
	for (struct xfe_guest *g = x->guests; g; g = g->next)
		for (struct xfe_dev *d = g->devs; d; d = d->next)
			if (d->from_xenstore && !d->seen && !d->gone)
				xfe_dev_remove(d);
}

void xfe_xs_event(struct xfe *x)
{
	bool any = false;
	char **w;

	while ((w = xs_check_watch(x->xs))) {
		any = true;
		free(w);
	}
	if (any)
		scan(x);
}

int xfe_xs_open(struct xfe *x)
{
	unsigned len;
	uint64_t v;
	char *s;

	x->xs = xs_open(0);
	if (!x->xs) {
		vhd_log(VHD_LOG_ERROR, "cannot reach xenstore: %s (run in dom0 or a driver domain "
			"with xenstored; or --no-xenstore with -d devices)", strerror(errno));
		return -errno;
	}
	s = xs_read(x->xs, XBT_NULL, "domid", &len);
	if (!s || xfe_parse_u64(s, &v) < 0 || v >= 0x7ff0) {
		vhd_log(VHD_LOG_ERROR, "xenstore has no usable 'domid' for this domain (%s)",
			s ? s : strerror(errno));
		free(s);
		return -ENOENT;
	}
	free(s);
	x->self_domid = (uint32_t)v;
	snprintf(x->xs_root, sizeof(x->xs_root), "/local/domain/%u/backend/virtio",
		 x->self_domid);
	if (x->o.no_xenstore)
		return 0;
	if (!xs_watch(x->xs, x->xs_root, WATCH_TOKEN)) {
		vhd_log(VHD_LOG_ERROR, "cannot watch %s: %s", x->xs_root, strerror(errno));
		return -errno;
	}
	x->ev_xs = (struct xfe_ev){ XFE_EV_XENSTORE, x, 0 };
	if (xfe_ev_add(x, xs_fileno(x->xs), &x->ev_xs) < 0)
		return -errno;
	vhd_log(VHD_LOG_INFO, "watching %s for virtio devices", x->xs_root);
	scan(x);
	return 0;
}
