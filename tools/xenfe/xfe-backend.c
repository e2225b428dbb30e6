/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * xen-vhost-frontend: the vhost-user side of one device.  The guest's
 * register accesses (xfe-mmio.h) become vhost-user messages, sent through
 * libvhu-frontend (tools/vhu-frontend.h):
 *  - FEATURES_OK    -> SET_FEATURES (and SET_STATUS with the STATUS
 *                      protocol feature);
 *  - DRIVER_OK      -> SET_MEM_TABLE in the XEN_MMAP layout, then per ready
 *                      queue SET_VRING_NUM/BASE/ADDR/KICK/CALL/ENABLE;
 *  - status 0       -> SET_VRING_ENABLE(0) + GET_VRING_BASE per queue,
 *                      RESET_DEVICE if offered;
 *  - config space   -> GET_CONFIG / SET_CONFIG;
 *  - QueueNotify    -> a write to the queue's kick eventfd.
 * And a backend that went away gets the same state replayed when it is
 * back (docs/xen.md, "The device model").
 *
 * Addresses (docs/xen.md, "What the frontend sends"): userspace_addr =
 * guest_phys_addr in every region, and SET_VRING_ADDR carries the guest's
 * own ring addresses, so a backend that translates ring addresses through
 * the table's userspace addresses and one that takes them as guest
 * addresses find the same place.  This program never maps guest memory
 * except one page to read a used index when it replays rings.
 */
#include "config.h"
#include "xfe.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "xfe-memtable.h"

#define GRANT_ADDR      (1ull << 63)

#define DEV_FMT "dom%u dev %u (%s @ 0x%llx)"
#define DEV_ARGS(d) (d)->spec.domid, (d)->spec.devid, (d)->spec.type->name, \
	(unsigned long long)(d)->spec.base

static uint64_t want_protocol(void)
{
	return VHD_BIT(VHU_PF_MQ) | VHD_BIT(VHU_PF_REPLY_ACK) | VHD_BIT(VHU_PF_BACKEND_REQ) |
	       VHD_BIT(VHU_PF_CONFIG) | VHD_BIT(VHU_PF_RESET_DEVICE) | VHD_BIT(VHU_PF_STATUS) |
	       VHD_BIT(VHU_PF_XEN_MMAP);
}

static bool grant_mode(const struct xfe_dev *d)
{
	return d->spec.grant != 0;
}

static void fail_device(struct xfe_dev *d, const char *what)
{
	vhd_log_ratelimited(&d->log_budget, 8, VHD_LOG_ERROR,
			    DEV_FMT ": %s: the device now reads NEEDS_RESET", DEV_ARGS(d), what);
	if (xfe_mmio_needs_reset(&d->mmio))
		xfe_dev_set_irq(d);
}

static int request(struct xfe_dev *d, uint32_t req, const void *p, uint32_t size,
		   const int *fds, unsigned nfds)
{
	uint32_t flags = vhu_has_protocol(d->c, VHU_PF_REPLY_ACK) ? VHU_FLAG_NEED_REPLY : 0;

	d->x->st.vhost_msgs++;
	return vhu_request(d->c, req, flags, p, size, fds, nfds, NULL, 0);
}

/* ---- memory table (layout: xfe-memtable.h) ---------------------------------- */

static int send_mem_table(struct xfe_dev *d)
{
	struct {
		struct vhu_mem_table_hdr h;
		struct vhu_mem_region_xen r[VHU_MAX_TABLE_REGIONS];
	} __attribute__((packed)) msg;
	int fds[VHU_MAX_TABLE_REGIONS], fd, r;
	unsigned n = 0;
	char why[200];

	memset(&msg, 0, sizeof(msg));
	r = grant_mode(d) ? xfe_memtable_grant(&d->mmio, d->spec.domid, d->g->ram, msg.r, &n,
					       why, sizeof(why))
			  : xfe_memtable_foreign(xfe_arch_native(), d->spec.domid, d->g->ram, msg.r,
						 &n, why, sizeof(why));
	if (r < 0) {
		fail_device(d, why);
		return r;
	}
	/* One fd per region (docs/xen.md): the backend closes them. */
	fd = open(grant_mode(d) ? "/dev/xen/gntdev" : "/dev/xen/privcmd", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		snprintf(why, sizeof(why), "cannot open %s for the memory table: %s",
			 grant_mode(d) ? "/dev/xen/gntdev" : "/dev/xen/privcmd", strerror(-r));
		fail_device(d, why);
		return r;
	}
	for (unsigned i = 0; i < n; i++)
		fds[i] = fd;
	msg.h.nregions = n;
	r = request(d, VHU_SET_MEM_TABLE, &msg,
		    (uint32_t)(sizeof(msg.h) + n * sizeof(msg.r[0])), fds, n);
	close(fd);
	return r;
}

/* ---- rings ----------------------------------------------------------------- */

/*
 * The used index of a split ring, read from guest memory through a
 * one-page read-only mapping: after a backend restart, requests the old
 * backend took but never completed are handed to the new one again
 * (avail index from used->idx, as QEMU does without inflight tracking).
 */
static int read_used_idx(struct xfe_dev *d, unsigned q, uint16_t *idx)
{
	uint64_t a = d->mmio.q[q].device + 2;   /* used->idx, virtio 2.7.8 */
	uint16_t v;
	void *p;

	if ((a & 0xfff) > 0xffe)
		return -EINVAL;                 /* straddles two pages: a hostile ring */
	d->x->st.map_calls++;
	if (grant_mode(d)) {
		uint32_t ref = (uint32_t)((a & ~GRANT_ADDR) >> 12);

		if (!d->x->xgt)
			d->x->xgt = xengnttab_open(NULL, 0);
		if (!d->x->xgt)
			return -errno;
		p = xengnttab_map_domain_grant_refs(d->x->xgt, 1, d->spec.domid, &ref, PROT_READ);
		if (!p)
			return -errno;
		memcpy(&v, (char *)p + (a & 0xfff), sizeof(v));
		xengnttab_unmap(d->x->xgt, p, 1);
	} else {
		xen_pfn_t gfn = a >> 12;

		p = xenforeignmemory_map(d->x->xfm, d->spec.domid, PROT_READ, 1, &gfn, NULL);
		if (!p)
			return -errno;
		memcpy(&v, (char *)p + (a & 0xfff), sizeof(v));
		xenforeignmemory_unmap(d->x->xfm, p, 1);
	}
	*idx = le16toh(v);
	return 0;
}

static int start_queue(struct xfe_dev *d, unsigned q)
{
	const struct xfe_queue *vq = &d->mmio.q[q];
	struct vhu_vring_addr a = {
		.index = q, .flags = 0,
		.desc_uaddr = vq->desc, .used_uaddr = vq->device, .avail_uaddr = vq->driver,
	};
	int r;

	d->x->st.vhost_msgs += 3;
	if ((r = vhu_set_state(d->c, VHU_SET_VRING_NUM, q, vq->num)) < 0 ||
	    (r = vhu_set_state(d->c, VHU_SET_VRING_BASE, q, d->q_base[q])) < 0 ||
	    (r = request(d, VHU_SET_VRING_ADDR, &a, sizeof(a), NULL, 0)) < 0)
		return r;
	d->x->st.vhost_msgs += 2;
	if ((r = vhu_set_vring_file(d->c, VHU_SET_VRING_KICK, q, d->kick[q])) < 0 ||
	    (r = vhu_set_vring_file(d->c, VHU_SET_VRING_CALL, q, d->call[q])) < 0)
		return r;
	if (vhu_has_feature(d->c, VHOST_USER_F_PROTOCOL_FEATURES)) {
		d->x->st.vhost_msgs++;
		r = vhu_set_state(d->c, VHU_SET_VRING_ENABLE, q, 1);
		if (r < 0)
			return r;
	}
	d->q_started[q] = true;
	xfe_guest_fast_paths(d, q);
	return 0;
}

static int send_status(struct xfe_dev *d)
{
	if (!vhu_has_protocol(d->c, VHU_PF_STATUS))
		return 0;
	d->x->st.vhost_msgs++;
	return vhu_set_u64(d->c, VHU_SET_STATUS, d->mmio.status & 0xff);
}

/* DRIVER_OK, or a replay: memory, then every ready queue. */
static int start_device(struct xfe_dev *d)
{
	int r = send_mem_table(d);

	if (r < 0)
		return r;
	for (unsigned q = 0; q < d->nq; q++) {
		if (!d->mmio.q[q].ready || d->q_started[q])
			continue;
		r = start_queue(d, q);
		if (r < 0)
			return r;
	}
	d->started = true;
	return send_status(d);
}

void xfe_dev_stop_rings(struct xfe_dev *d)
{
	for (unsigned q = 0; q < d->nq; q++) {
		uint64_t junk;

		if (!d->q_started[q])
			continue;
		xfe_guest_fast_paths_off(d, q);
		if (d->c) {
			if (vhu_has_feature(d->c, VHOST_USER_F_PROTOCOL_FEATURES))
				vhu_set_state(d->c, VHU_SET_VRING_ENABLE, q, 0);
			struct vhu_vring_state s = { .index = q };
			if (vhu_request(d->c, VHU_GET_VRING_BASE, 0, &s, sizeof(s), NULL, 0,
					&s, sizeof(s)) == 0)
				d->q_base[q] = (uint16_t)s.num;
			d->x->st.vhost_msgs += 2;
		}
		d->q_started[q] = false;
		/* A call the backend made before it stopped belongs to the old
		 * driver: drop it. */
		while (read(d->call[q], &junk, sizeof(junk)) == sizeof(junk))
			;
	}
	d->started = false;
}

/* Status 0 (virtio 1.2 2.1.2, 4.2.3.1): the backend forgets the rings. */
static void reset_device(struct xfe_dev *d)
{
	xfe_dev_stop_rings(d);
	memset(d->q_base, 0, sizeof(d->q_base));
	d->features_set = false;
	if (!d->c)
		return;
	if (vhu_has_protocol(d->c, VHU_PF_RESET_DEVICE)) {
		d->x->st.vhost_msgs++;
		request(d, VHU_RESET_DEVICE, NULL, 0, NULL, 0);
	} else {
		send_status(d);
	}
}

/* ---- config space ---------------------------------------------------------- */

static uint64_t config_read(struct xfe_dev *d, uint32_t off, uint32_t size)
{
	uint8_t b[8] = { 0 };
	uint64_t v = 0;

	/* The backend refusing (or absent) reads as zeros: every access has
	 * an answer. */
	if (d->c && vhu_has_protocol(d->c, VHU_PF_CONFIG)) {
		d->x->st.vhost_msgs++;
		if (vhu_get_config(d->c, off, size, b) < 0)
			memset(b, 0, sizeof(b));
	}
	for (unsigned i = 0; i < size; i++)
		v |= (uint64_t)b[i] << (8 * i);   /* config space is little-endian */
	return v;
}

static void config_write(struct xfe_dev *d, uint32_t off, uint32_t size, uint64_t v)
{
	struct {
		struct vhu_config_hdr h;
		uint8_t data[8];
	} __attribute__((packed)) msg = { .h = { .offset = off, .size = size, .flags = 0 } };

	if (!d->c || !vhu_has_protocol(d->c, VHU_PF_CONFIG))
		return;
	for (unsigned i = 0; i < size; i++)
		msg.data[i] = (uint8_t)(v >> (8 * i));
	d->x->st.vhost_msgs++;
	request(d, VHU_SET_CONFIG, &msg, (uint32_t)(sizeof(msg.h) + size), NULL, 0);
}

/* ---- the guest's accesses ----------------------------------------------------- */

static void do_actions(struct xfe_dev *d, const struct xfe_mmio_result *res)
{
	int r;

	if (res->act & XFE_ACT_RESET)
		reset_device(d);
	if (res->act & XFE_ACT_FEATURES) {
		bool ok = true;

		if (d->c) {
			d->x->st.vhost_msgs++;
			r = vhu_set_features(d->c, d->mmio.driver_features);
			ok = r == 0;
			if (!ok)
				vhd_log_ratelimited(&d->log_budget, 8, VHD_LOG_WARN,
						    DEV_FMT ": the backend refused features 0x%llx: %s",
						    DEV_ARGS(d),
						    (unsigned long long)d->mmio.driver_features,
						    vhu_conn_error(d->c));
		}
		/* Backend away: the features are a subset of what it offered;
		 * they are sent when it is back. */
		xfe_mmio_features_done(&d->mmio, ok);
		d->features_set = ok;
	}
	if ((res->act & XFE_ACT_START) && d->c) {
		r = start_device(d);
		if (r < 0 && d->c)
			fail_device(d, vhu_conn_error(d->c));
	}
	if ((res->act & XFE_ACT_QUEUE_START) && d->c && d->started) {
		/* A queue set up after DRIVER_OK: the table names its rings
		 * (grant mode), so it is sent again first. */
		r = send_mem_table(d);
		if (r == 0)
			r = start_queue(d, res->queue);
		if (r < 0 && d->c)
			fail_device(d, vhu_conn_error(d->c));
	}
	if (res->act & XFE_ACT_NOTIFY) {
		uint64_t one = 1;

		d->x->st.kicks++;
		if (write(d->kick[res->queue], &one, sizeof(one)) < 0)
			vhd_log_ratelimited(&d->log_budget, 8, VHD_LOG_WARN,
					    DEV_FMT ": kick of queue %u: %s", DEV_ARGS(d),
					    res->queue, strerror(errno));
	}
	if (res->act & XFE_ACT_CONFIG_WRITE)
		config_write(d, res->cfg_off, res->cfg_size, res->value);
	if (res->act & (XFE_ACT_IRQ_UPDATE | XFE_ACT_RESET))
		xfe_dev_set_irq(d);
}

void xfe_dev_access(struct xfe_dev *d, uint32_t off, unsigned size, bool write,
		    uint64_t *data)
{
	struct xfe_mmio_result res;

	if (write) {
		xfe_mmio_write(&d->mmio, off, size, *data, &res);
	} else {
		*data = xfe_mmio_read(&d->mmio, off, size, &res);
		if (res.act & XFE_ACT_CONFIG_READ)
			*data = config_read(d, res.cfg_off, res.cfg_size);
	}
	if (res.log)
		vhd_log(VHD_LOG_WARN, DEV_FMT ": guest %s of %u bytes at offset 0x%x: %s",
			DEV_ARGS(d), write ? "write" : "read", size, off, res.log);
	do_actions(d, &res);
	/* The connection may have died during the exchange: noticed by the
	 * loop (EPOLLRDHUP), or here if a request failed on it. */
}

void xfe_dev_call(struct xfe_dev *d, unsigned q)
{
	uint64_t n;

	if (read(d->call[q], &n, sizeof(n)) != sizeof(n))
		return;
	d->x->st.calls++;
	if (!xfe_mmio_running(&d->mmio))
		return;
	xfe_mmio_raise(&d->mmio, XFE_INT_VRING);
	xfe_dev_set_irq(d);
}

/* The backend channel (vhost-user.rst, "Back-end message types"): only
 * CONFIG_CHANGE_MSG means something to a virtio-mmio device. */
void xfe_dev_backend_req(struct xfe_dev *d)
{
	struct vhu_hdr h;
	uint8_t payload[VHU_MAX_PAYLOAD];
	ssize_t r = recv(d->req_fd, &h, sizeof(h), MSG_DONTWAIT);
	uint64_t ack;

	if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
		xfe_ev_del(d->x, d->req_fd);
		d->req_fd = -1;
		return;
	}
	if (r != (ssize_t)sizeof(h) || h.size > sizeof(payload)) {
		xfe_dev_disconnect(d, "malformed message on the backend channel");
		return;
	}
	if (h.size && recv(d->req_fd, payload, h.size, MSG_WAITALL) != (ssize_t)h.size) {
		xfe_dev_disconnect(d, "short message on the backend channel");
		return;
	}
	ack = 0;
	if (h.request == VHU_BACKEND_CONFIG_CHANGE_MSG) {
		if (xfe_mmio_raise(&d->mmio, XFE_INT_CONFIG) || xfe_mmio_irq_pending(&d->mmio))
			xfe_dev_set_irq(d);
	} else {
		ack = 1;        /* not supported */
	}
	if (h.flags & VHU_FLAG_NEED_REPLY) {
		struct {
			struct vhu_hdr h;
			uint64_t v;
		} __attribute__((packed)) rep = {
			{ h.request, VHU_VERSION | VHU_FLAG_REPLY, sizeof(uint64_t) }, ack
		};
		if (send(d->req_fd, &rep, sizeof(rep), MSG_NOSIGNAL) < 0)
			xfe_dev_disconnect(d, "cannot answer on the backend channel");
	}
}

/* ---- connection ------------------------------------------------------------- */

void xfe_dev_disconnect(struct xfe_dev *d, const char *why)
{
	if (!d->c)
		return;
	vhd_log(VHD_LOG_WARN, DEV_FMT ": backend %s: %s; reconnecting", DEV_ARGS(d), d->sock,
		why);
	for (unsigned q = 0; q < d->nq; q++)
		if (d->q_started[q])
			xfe_guest_fast_paths_off(d, q);
	memset(d->q_started, 0, sizeof(d->q_started));
	d->started = false;
	xfe_ev_del(d->x, vhu_conn_fd(d->c));
	if (d->req_fd >= 0)
		xfe_ev_del(d->x, d->req_fd);
	d->req_fd = -1;
	vhu_close(d->c);
	d->c = NULL;
	d->retry_ms = 50;
	d->retry_at_ms = xfe_now_ms() + d->retry_ms;
	xfe_arm_timer(d->x);
}

/* Replay everything the guest's driver had set up (vhost-user.rst,
 * "Starting and stopping rings"; the rings restart at the guest's used
 * index). */
static int replay(struct xfe_dev *d)
{
	uint64_t offered = vhu_conn_info(d->c)->features;
	uint64_t need = d->mmio.driver_features & ~(VHD_BIT(VIRTIO_F_ACCESS_PLATFORM) |
						   VHD_BIT(VIRTIO_F_VERSION_1));
	int r;

	if (!d->features_set)
		return 0;
	if ((offered & need) != need) {
		fail_device(d, "the restarted backend no longer offers the features the driver accepted");
		return 0;
	}
	d->x->st.vhost_msgs++;
	r = vhu_set_features(d->c, d->mmio.driver_features);
	if (r < 0 || !xfe_mmio_running(&d->mmio))
		return r;
	if (d->mmio.driver_features & VHD_BIT(VIRTIO_F_RING_PACKED)) {
		fail_device(d, "a packed ring cannot be replayed (its state is the backend's)");
		return 0;
	}
	for (unsigned q = 0; q < d->nq; q++) {
		if (!d->mmio.q[q].ready)
			continue;
		r = read_used_idx(d, q, &d->q_base[q]);
		if (r < 0) {
			fail_device(d, "cannot read a used index from guest memory");
			return 0;
		}
	}
	vhd_log(VHD_LOG_INFO, DEV_FMT ": replaying the running device to the backend",
		DEV_ARGS(d));
	return start_device(d);
}

static void adopt_backend_channel(struct xfe_dev *d)
{
	int fd = vhu_backend_channel(d->c);

	d->req_fd = -1;
	if (fd < 0)
		return;
	d->ev_req = (struct xfe_ev){ XFE_EV_BACKEND_REQ, d, 0 };
	if (xfe_ev_add(d->x, fd, &d->ev_req) == 0)
		d->req_fd = fd;
}

int xfe_dev_connect(struct xfe_dev *d)
{
	struct vhu_conn *c;
	const struct vhu_info *in;
	int r = vhu_connect(d->sock, 0, &c);

	if (r < 0)
		return r;
	d->c = c;
	d->x->st.vhost_msgs += 4;
	r = vhu_init(c, want_protocol());
	if (r < 0)
		goto fail;
	in = vhu_conn_info(c);
	if (!vhu_has_protocol(c, VHU_PF_XEN_MMAP)) {
		vhd_log(VHD_LOG_ERROR, DEV_FMT ": backend %s does not offer XEN_MMAP (protocol "
			"feature 17): start it with --xen on (docs/xen.md)", DEV_ARGS(d), d->sock);
		r = -EPROTONOSUPPORT;
		goto fail;
	}
	if (!d->ever_connected) {
		unsigned nq = d->spec.type->nqueues;

		if (in->queue_num)
			nq = in->queue_num < XFE_MAX_QUEUES ? (unsigned)in->queue_num : XFE_MAX_QUEUES;
		d->nq = nq;
		d->backend_features = in->features;
		xfe_mmio_init(&d->mmio, d->spec.type->id, in->features, nq, d->qmax,
			      grant_mode(d));
	}
	d->ev_backend = (struct xfe_ev){ XFE_EV_BACKEND, d, 0 };
	r = xfe_ev_add(d->x, vhu_conn_fd(c), &d->ev_backend);
	if (r < 0)
		goto fail;
	adopt_backend_channel(d);
	if (d->ever_connected) {
		r = replay(d);
		if (r < 0) {
			xfe_dev_disconnect(d, vhu_conn_error(c));
			return r;
		}
	}
	vhd_log(VHD_LOG_INFO, DEV_FMT ": backend %s connected (%u queue%s, %s mappings)",
		DEV_ARGS(d), d->sock, d->nq, d->nq == 1 ? "" : "s",
		grant_mode(d) ? "grant" : "foreign");
	d->ever_connected = true;
	return 0;
fail:
	if (*vhu_conn_error(c))
		vhd_log_ratelimited(&d->log_budget, 8, VHD_LOG_WARN, DEV_FMT ": backend %s: %s",
				    DEV_ARGS(d), d->sock, vhu_conn_error(c));
	vhu_close(c);
	d->c = NULL;
	return r;
}
