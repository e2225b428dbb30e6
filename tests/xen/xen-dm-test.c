/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * End-to-end tests of our Xen device model without Xen: a simulated guest
 * (tests/xen/xsim-guest.h, its virtio-mmio driver; xsim-vsock.h, its
 * vsock driver) -> the simulated hypervisor (xsim.h: ioreqs, event
 * channels, interrupt lines) -> the real xen-vhost-frontend (with
 * libfakexen.so) -> our real vhost-device-rng and vhost-device-vsock
 * (with the fake libxen over the guest's RAM).  Devices come from a fake
 * xenstored written as libxl 4.18 writes virtio=[...] devices
 * (xsim-world.h), or from the command line as with Xen 4.17.
 *
 * Scenarios, each in a fresh world:
 *  - rng, grant mappings (grant_usage=1): probe (magic, version 2,
 *    device 4), VERSION_1 and ACCESS_PLATFORM offered, one queue; random
 *    data from a source file of a known pattern lands in guest RAM at
 *    the right place and length; the cost of one request in ioreqs,
 *    event channel notifications, interrupts and map calls is printed;
 *  - rng, foreign mappings (grant_usage=0): the same through
 *    xenforeignmemory, no grant map at all;
 *  - rng from the command line (-d ..., --no-xenstore);
 *  - vsock, grants: a stream both ways to a host Unix socket, a connect
 *    to a port nobody listens on refused;
 *  - hot-plug and unplug through xenstore while another device runs;
 *  - two guests in one frontend (rng in one, vsock in the other, at the
 *    same MMIO base), used in turn;
 *  - a backend killed mid-stream and restarted on its socket: the
 *    requests in flight complete after the replay, or the guest sees a
 *    clean reset (DEVICE_NEEDS_RESET or Status 0) and re-initialises --
 *    never a hang;
 *  - the device model killed and restarted: the guest's accesses fail
 *    (never hang) meanwhile, then the device is back reset and works;
 *  - a hostile guest writing every register with bad values at every
 *    size: the device model survives and the other device keeps working.
 *
 * Every wait is bounded by T_MS only as a failure bound.
 * Exit status: 0 pass, 1 fail, 77 skip (no /proc/self/fd, which the
 * fake libxen needs to open the guest RAM).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_mmio.h>

#include "test-vsock-util.h"
#include "xsim-guest.h"
#include "xsim-vsock.h"
#include "xsim-world.h"

#define T_MS 30000
#define DOMID 5
#define RAM (16u << 20)
#define BASE0 0x2000000ull
#define BASE1 0x2000200ull
#define IRQ0 33
#define IRQ1 34
#define GUEST_CID 3
#define RQ 4096u

#define EXPECT(cond, ...) do { \
	if (!(cond)) { \
		fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
		fprintf(stderr, __VA_ARGS__); \
		fputc('\n', stderr); \
		goto out; \
	} \
} while (0)

static char source[128];        /* the rng source file: a known pattern */

/* Byte k of the source: consecutive bytes count up modulo 251, so any
 * piece of it is recognisable and 0xff never occurs. */
static int make_source(void)
{
	static uint8_t buf[1 << 16];
	int fd;

	snprintf(source, sizeof(source), "/tmp/vhd-xdm-src-%d", (int)getpid());
	fd = open(source, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	for (unsigned k = 0; k < sizeof(buf); k++)
		buf[k] = (uint8_t)(k % 251);
	/* 16 MiB: more than all the tests ask for together. */
	for (unsigned i = 0; i < 256; i++)
		if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf)) {
			close(fd);
			return -EIO;
		}
	close(fd);
	return 0;
}

/* A buffer the device filled: len bytes of the pattern, the rest
 * untouched (0xff as the guest left it). */
static bool pattern_ok(const uint8_t *p, uint32_t len, uint32_t cap)
{
	for (uint32_t i = 0; i < len; i++)
		if (p[i] == 0xff || (i && p[i] != (p[i - 1] + 1) % 251))
			return false;
	for (uint32_t i = len; i < cap; i++)
		if (p[i] != 0xff)
			return false;
	return true;
}

/* One rng backend serving rng.sock0 .. rng.sock<n-1> (it appends the
 * index to its -s path), the names the frontend looks for. */
static int start_rng(struct xw *w, struct backend *b, unsigned n)
{
	char base[128], cnt[16], want[2][128];
	const char *args[] = { "-s", base, "-c", cnt, "--xen", "on", "-f", source, NULL };
	const char *wait_for[3] = { want[0], n > 1 ? want[1] : NULL, NULL };

	if (n < 1 || n > 2)
		return -EINVAL;
	snprintf(base, sizeof(base), "%s/rng.sock", w->dir);
	snprintf(cnt, sizeof(cnt), "%u", n);
	for (unsigned i = 0; i < n; i++)
		xw_sock(w, "rng", i, want[i], sizeof(want[i]));
	return xw_backend(w, b, "vhost-device-rng", args, wait_for);
}

static int start_vsock(struct xw *w, struct backend *b, const char *uds)
{
	char sock[128];
	const char *args[] = { "--socket", sock, "--uds-path", uds, "--guest-cid", "3",
			       "--xen", "on", NULL };
	const char *wait_for[] = { sock, uds, NULL };

	xw_sock(w, "vsock", 0, sock, sizeof(sock));
	return xw_backend(w, b, "vhost-device-vsock", args, wait_for);
}

/* Counters of one moment: the hypervisor's, the guest's register
 * accesses and the fake libxen's map calls (backends and frontend). */
struct cost {
	struct xsim_stats s;
	uint64_t acc, be_maps, fe_maps;
};

static void cost_now(struct xw *w, struct xg *g, struct cost *c)
{
	xsim_get_stats(w->sim, &c->s);
	c->acc = g->accesses;
	c->be_maps = fx_ld(&w->fx.st->gnt_maps) + fx_ld(&w->fx.st->fm_maps);
	c->fe_maps = fx_ld(&w->fe_st->gnt_maps) + fx_ld(&w->fe_st->fm_maps);
}

static void cost_print(const char *what, unsigned n, const struct cost *a, const struct cost *b)
{
	printf("cost of %s (per request, %u requests): %.2f ioreqs, %.2f event channel "
	       "notifications to the device model and %.2f from it, %.2f interrupts "
	       "(%.2f set_irq_level calls, raise and lower), %.2f map calls in the backend, "
	       "%.2f in the frontend\n",
	       what, n, (double)(b->s.ioreqs - a->s.ioreqs) / n,
	       (double)(b->s.evtchn_to_dm - a->s.evtchn_to_dm) / n,
	       (double)(b->s.evtchn_from_dm - a->s.evtchn_from_dm) / n,
	       (double)(b->s.irq_asserts - a->s.irq_asserts) / n,
	       (double)(b->s.irq_sets - a->s.irq_sets) / n,
	       (double)(b->be_maps - a->be_maps) / n, (double)(b->fe_maps - a->fe_maps) / n);
}

/* One rng request of `len` bytes: the data checked in guest memory. */
static int rng_request(struct xg *g, uint8_t *buf, uint32_t len)
{
	struct xg_buf b = { buf, len, true };
	uint16_t head;
	uint32_t used;
	int h, r;

	memset(buf, 0xff, len);
	h = xg_add(g, 0, &b, 1);
	if (h < 0)
		return h;
	r = xg_kick(g, 0);
	if (r < 0)
		return r;
	/* Sleep until the interrupt, as Linux's virtio-rng does: the
	 * costs printed are those of a request with its interrupt. */
	r = xg_get_irq(g, 0, &head, &used);
	if (r < 0)
		return r;
	if (head != h || used == 0 || used > len || !pattern_ok(buf, used, len))
		return -EPROTO;
	return (int)used;
}

/* Wait until the device appears at base, probe it and start it. */
static int bring_up(struct xw *w, struct xg *g, uint64_t base, unsigned irq, bool grant,
		    uint32_t want_id, unsigned nq)
{
	uint32_t id;
	int r;

	xg_init(g, w->sim, w->domid, base, irq, w->ram, grant, w->ram_gpa);
	g->timeout_ms = T_MS;
	r = xsim_wait_claimed(w->sim, w->domid, base, true, T_MS);
	if (r < 0)
		return r;
	r = xg_probe(g, &id);
	if (r < 0)
		return r;
	if (id != want_id)
		return -ENODEV;
	return nq ? xg_start(g, 0, nq) : 0;
}

/* ---- rng ---------------------------------------------------------------- */

static int rng_round(bool grant, bool cmdline)
{
	struct xw w;
	struct backend b = { .pid = -1 };
	struct xg g;
	struct cost c0, c1;
	uint8_t *buf;
	char spec[160];
	const char *extra[] = { "-d", spec, "--no-xenstore", NULL };
	int r, ret = -1, n = 0;

	r = xw_create(&w, DOMID, RAM, 1);
	EXPECT(r == 0, "world: %s", strerror(-r));
	r = start_rng(&w, &b, 1);
	EXPECT(r == 0, "rng backend: %s", strerror(-r));
	if (cmdline) {
		snprintf(spec, sizeof(spec), "domid=%u,type=rng,base=%#llx,irq=%u,%s,ram=%uM",
			 DOMID, (unsigned long long)BASE0, IRQ0, grant ? "grant" : "foreign",
			 RAM >> 20);
		r = xw_fe_start(&w, extra);
	} else {
		r = xw_fe_start(&w, grant ? NULL : (const char *const[]){ "--foreign-mapping",
									   NULL });
		if (r == 0)
			r = xw_plug(&w, 0, VIRTIO_ID_RNG, BASE0, IRQ0, grant);
	}
	EXPECT(r == 0, "frontend: %s", strerror(-r));
	r = bring_up(&w, &g, BASE0, IRQ0, grant, VIRTIO_ID_RNG, 1);
	EXPECT(r == 0, "bringing the rng device up: %s", strerror(-r));
	buf = vhu_mem_alloc(w.ram, RQ, 4096);
	EXPECT(buf, "guest buffer");
	/* The first request maps what stays mapped; measure the next. */
	r = rng_request(&g, buf, RQ);
	EXPECT(r > 0, "first request: %s", strerror(-r));
	cost_now(&w, &g, &c0);
	for (n = 0; n < 16; n++) {
		r = rng_request(&g, buf, RQ);
		EXPECT(r > 0, "request %d: %s", n, strerror(-r));
	}
	cost_now(&w, &g, &c1);
	printf("[rng, %s, %s] 17 requests of %u bytes: data from the source in guest RAM\n",
	       grant ? "grant" : "foreign", cmdline ? "command line" : "xenstore", RQ);
	cost_print(grant ? "an rng request (grant)" : "an rng request (foreign)", 16, &c0, &c1);
	if (grant) {
		EXPECT(fx_ld(&w.fx.st->fm_maps) == 0, "foreign maps in grant mode");
		EXPECT(fx_ld(&w.fx.st->gnt_maps) > 0, "no grant map in grant mode");
	} else {
		EXPECT(fx_ld(&w.fx.st->gnt_maps) == 0, "grant maps in foreign mode");
		EXPECT(fx_ld(&w.fx.st->fm_maps) > 0, "no foreign map in foreign mode");
	}
	EXPECT(fx_ld(&w.fx.st->gnt_invalid) == 0 && fx_ld(&w.fx.st->gnt_refused) == 0 &&
	       fx_ld(&w.fx.st->fm_bad_gfns) == 0, "bad maps by the backend");
	/* The guest resets the device: the rings go back (Status reads 0). */
	EXPECT(xg_reset(&g) == 0, "reset");
	EXPECT(backend_alive(&b) && backend_alive(&w.fe), "a process died");
	ret = 0;
out:
	if (w.sim) {
		r = xw_fe_stop(&w);
		if (r != 0 && ret == 0) {
			fprintf(stderr, "FAIL: frontend exit status %d\n", r);
			ret = -1;
		}
	}
	if (b.pid > 0 && backend_stop(&b) != 0 && ret == 0) {
		fprintf(stderr, "FAIL: backend exit status\n");
		ret = -1;
	}
	xw_destroy(&w);
	return ret;
}

/* ---- vsock -------------------------------------------------------------- */

#define XFER (1u << 20)
#define PORT_G2H 1234
#define PORT_H2G 5000

struct host {
	pthread_t t;
	char path[160];
	int lfd;
	int err;
	uint64_t got, sum;
	uint32_t host_port;
};

static void *g2h_sink(void *arg)
{
	struct host *h = arg;
	static uint8_t buf[1 << 16];
	int fd = vt_accept(h->lfd, T_MS);

	if (fd < 0) {
		h->err = fd;
		return NULL;
	}
	h->sum = VT_FNV_INIT;
	for (;;) {
		ssize_t n = vt_read_all(fd, buf, sizeof(buf), T_MS);

		if (n < 0) {
			h->err = (int)n;
			break;
		}
		if (n == 0)
			break;
		h->sum = vt_fnv(h->sum, buf, (size_t)n);
		h->got += (uint64_t)n;
		if ((size_t)n < sizeof(buf))
			break;
	}
	close(fd);
	return NULL;
}

static void *h2g_source(void *arg)
{
	struct host *h = arg;
	static uint8_t buf[1 << 16];
	struct vt_stream s;
	int fd = vt_hybrid_connect(h->path, PORT_H2G, &h->host_port, T_MS);

	if (fd < 0) {
		h->err = fd;
		return NULL;
	}
	vt_stream_init(&s, 7);
	while (h->got < XFER) {
		size_t n = sizeof(buf);

		vt_stream_fill(&s, buf, n);
		if (vt_write_all(fd, buf, n, T_MS) != (ssize_t)n) {
			h->err = -EIO;
			break;
		}
		h->got += n;
	}
	shutdown(fd, SHUT_WR);
	vt_read_all(fd, buf, 1, T_MS);
	close(fd);
	return NULL;
}

static int vsock_round(void)
{
	struct xw w;
	struct backend b = { .pid = -1 };
	struct xg g;
	struct xv v;
	struct host h = { .lfd = -1 };
	struct cost c0, c1;
	char uds[128];
	uint8_t *out = NULL;
	struct vt_stream s;
	bool thread = false;
	long got;
	int r, ret = -1;

	r = xw_create(&w, DOMID, RAM, 2);
	EXPECT(r == 0, "world: %s", strerror(-r));
	snprintf(uds, sizeof(uds), "%s/vm.vsock", w.dir);
	r = start_vsock(&w, &b, uds);
	EXPECT(r == 0, "vsock backend: %s", strerror(-r));
	r = xw_fe_start(&w, NULL);
	EXPECT(r == 0, "frontend: %s", strerror(-r));
	r = xw_plug(&w, 0, VIRTIO_ID_VSOCK, BASE0, IRQ0, true);
	EXPECT(r == 0, "plug: %s", strerror(-r));
	r = bring_up(&w, &g, BASE0, IRQ0, true, VIRTIO_ID_VSOCK, 0);
	EXPECT(r == 0, "bringing the vsock device up: %s", strerror(-r));
	r = xv_open(&v, &g);
	EXPECT(r == 0, "vsock driver: %s", strerror(-r));
	EXPECT(v.cid == GUEST_CID, "CID %llu in the config space", (unsigned long long)v.cid);

	/* guest -> host */
	out = malloc(XFER);
	EXPECT(out, "malloc");
	vt_stream_init(&s, 3);
	vt_stream_fill(&s, out, XFER);
	snprintf(h.path, sizeof(h.path), "%s_%u", uds, PORT_G2H);
	h.lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	{
		struct sockaddr_un a = { .sun_family = AF_UNIX };

		if (strlen(h.path) < sizeof(a.sun_path))
			memcpy(a.sun_path, h.path, strlen(h.path) + 1);
		EXPECT(h.lfd >= 0 && bind(h.lfd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
		       listen(h.lfd, 1) == 0, "host listener");
	}
	EXPECT(pthread_create(&h.t, NULL, g2h_sink, &h) == 0, "thread");
	thread = true;
	r = xv_connect(&v, PORT_G2H);
	EXPECT(r == 0, "connect to the host: %s", strerror(-r));
	cost_now(&w, &g, &c0);
	r = xv_send(&v, out, XFER);
	EXPECT(r == 0, "send: %s", strerror(-r));
	cost_now(&w, &g, &c1);
	r = xv_close(&v);
	EXPECT(r == 0, "close: %s", strerror(-r));
	pthread_join(h.t, NULL);
	thread = false;
	EXPECT(h.err == 0 && h.got == XFER && h.sum == vt_fnv(VT_FNV_INIT, out, XFER),
	       "host got %llu bytes (err %d), checksum %s", (unsigned long long)h.got, h.err,
	       h.sum == vt_fnv(VT_FNV_INIT, out, XFER) ? "ok" : "wrong");
	printf("[vsock, grant] guest->host: 1 MiB, checksum ok, %llu tx packets\n",
	       (unsigned long long)v.pkts_tx);
	cost_print("a vsock tx packet of 4 KiB (grant)", XFER / XV_PAYLOAD, &c0, &c1);
	close(h.lfd);
	h.lfd = -1;
	unlink(h.path);

	/* host -> guest */
	memset(&h, 0, sizeof(h));
	h.lfd = -1;
	snprintf(h.path, sizeof(h.path), "%s", uds);
	v.in = out;
	v.in_cap = XFER;
	EXPECT(pthread_create(&h.t, NULL, h2g_source, &h) == 0, "thread");
	thread = true;
	r = xv_accept(&v, PORT_H2G);
	EXPECT(r == 0, "accept: %s", strerror(-r));
	got = xv_recv(&v, XFER);
	EXPECT(got == XFER, "guest received %ld bytes", got);
	EXPECT(vt_fnv(VT_FNV_INIT, out, XFER) == vt_stream_sum(7, XFER), "guest-side checksum");
	r = xv_close(&v);
	EXPECT(r == 0, "close: %s", strerror(-r));
	pthread_join(h.t, NULL);
	thread = false;
	EXPECT(h.err == 0, "host side: %s", strerror(-h.err));
	printf("[vsock, grant] host->guest: 1 MiB, checksum ok (OK %u)\n", h.host_port);

	/* Nobody listens on 4444: RST. */
	r = xv_connect(&v, 4444);
	EXPECT(r == -ECONNREFUSED, "connect to a closed port: %s", strerror(-r));
	EXPECT(fx_ld(&w.fx.st->gnt_invalid) == 0 && fx_ld(&w.fx.st->gnt_refused) == 0,
	       "bad grant maps by the backend");
	EXPECT(backend_alive(&b) && backend_alive(&w.fe), "a process died");
	ret = 0;
out:
	if (thread) {
		if (h.lfd >= 0)
			shutdown(h.lfd, SHUT_RDWR);
		pthread_join(h.t, NULL);
	}
	if (h.lfd >= 0) {
		close(h.lfd);
		unlink(h.path);
	}
	free(out);
	if (w.sim && xw_fe_stop(&w) != 0 && ret == 0) {
		fprintf(stderr, "FAIL: frontend exit status\n");
		ret = -1;
	}
	if (b.pid > 0 && backend_stop(&b) != 0 && ret == 0) {
		fprintf(stderr, "FAIL: backend exit status\n");
		ret = -1;
	}
	xw_destroy(&w);
	return ret;
}

/* ---- hot-plug, restarts, a hostile guest -------------------------------- */

/* A world with one rng backend serving `nsock` sockets and the frontend
 * watching xenstore, device 0 plugged and up on g. */
static int rng_world(struct xw *w, struct backend *b, struct xg *g, unsigned nsock,
		     uint8_t **buf)
{
	int r = xw_create(w, DOMID, RAM, 1);

	if (r == 0)
		r = start_rng(w, b, nsock);
	if (r == 0)
		r = xw_fe_start(w, NULL);
	if (r == 0)
		r = xw_plug(w, 0, VIRTIO_ID_RNG, BASE0, IRQ0, true);
	if (r == 0)
		r = bring_up(w, g, BASE0, IRQ0, true, VIRTIO_ID_RNG, 1);
	if (r == 0) {
		*buf = vhu_mem_alloc(w->ram, 2 * RQ, 4096);
		r = *buf ? rng_request(g, *buf, RQ) : -ENOMEM;
	}
	return r < 0 ? r : 0;
}

static int rng_world_end(struct xw *w, struct backend *b, int ret)
{
	if (w->sim && xw_fe_stop(w) != 0 && ret == 0) {
		fprintf(stderr, "FAIL: frontend exit status\n");
		ret = -1;
	}
	if (b->pid > 0 && backend_stop(b) != 0 && ret == 0) {
		fprintf(stderr, "FAIL: backend exit status\n");
		ret = -1;
	}
	xw_destroy(w);
	return ret;
}

static int hotplug_round(void)
{
	struct xw w;
	struct backend b = { .pid = -1 };
	struct xg g0, g1;
	uint8_t *buf = NULL, *buf1;
	uint64_t v = 0;
	int r, ret = -1;

	r = rng_world(&w, &b, &g0, 2, &buf);
	EXPECT(r == 0, "rng world: %s", strerror(-r));
	buf1 = buf + RQ;
	for (int round = 0; round < 2; round++) {
		r = xw_plug(&w, 1, VIRTIO_ID_RNG, BASE1, IRQ1, true);
		EXPECT(r == 0, "plug: %s", strerror(-r));
		r = bring_up(&w, &g1, BASE1, IRQ1, true, VIRTIO_ID_RNG, 1);
		EXPECT(r == 0, "round %d: hot-plugged device: %s", round, strerror(-r));
		EXPECT(rng_request(&g1, buf1, RQ) > 0, "request on the hot-plugged device");
		EXPECT(rng_request(&g0, buf, RQ) > 0, "request on device 0 meanwhile");
		r = xw_unplug(&w, 1);
		EXPECT(r == 0, "unplug: %s", strerror(-r));
		r = xsim_wait_claimed(w.sim, DOMID, BASE1, false, T_MS);
		EXPECT(r == 0, "round %d: the unplugged device's range is still claimed", round);
		r = xsim_mmio(w.sim, DOMID, 0, BASE1, 4, false, &v);
		EXPECT(r == -ENODEV, "access to the unplugged device: %d", r);
		EXPECT(rng_request(&g0, buf, RQ) > 0, "device 0 after the unplug");
	}
	EXPECT(backend_alive(&b) && backend_alive(&w.fe), "a process died");
	printf("[hot-plug] device 1 plugged, used, unplugged twice while device 0 ran\n");
	ret = 0;
out:
	return rng_world_end(&w, &b, ret);
}

/* Requests in flight while the backend is gone; it comes back on its
 * socket.  Either every request completes (the frontend replayed the
 * device state) or the guest sees a reset and starts again. */
static int backend_restart_round(void)
{
	struct xw w;
	struct backend b = { .pid = -1 };
	struct xg g;
	uint8_t *buf = NULL, *bufs;
	struct xg_buf xb[4];
	bool seen[XG_QSIZE] = { false };
	unsigned done = 0;
	const char *how = NULL;
	int st, r, ret = -1;

	r = rng_world(&w, &b, &g, 1, &buf);
	EXPECT(r == 0, "rng world: %s", strerror(-r));
	bufs = vhu_mem_alloc(w.ram, 4 * 1024, 4096);
	EXPECT(bufs, "buffers");
	kill(b.pid, SIGKILL);
	waitpid(b.pid, &st, 0);
	b.pid = -1;
	backend_stop(&b);       /* removes its directory */
	memset(bufs, 0xff, 4 * 1024);
	for (int i = 0; i < 4; i++) {
		xb[i] = (struct xg_buf){ bufs + i * 1024, 1024, true };
		r = xg_add(&g, 0, &xb[i], 1);
		EXPECT(r >= 0, "add");
		r = xg_kick(&g, 0);
		EXPECT(r == 0, "kick while the backend is away: %s", strerror(-r));
	}
	r = start_rng(&w, &b, 1);
	EXPECT(r == 0, "restarting the backend: %s", strerror(-r));
	while (done < 4) {
		uint16_t head;
		uint32_t len, status;

		r = xg_poll(&g, 0, &head, &len);
		EXPECT(r >= 0, "used ring after the restart: %s", strerror(-r));
		if (r) {
			EXPECT(!seen[head], "chain %u completed twice", head);
			seen[head] = true;
			done++;
			continue;
		}
		r = xg_rd(&g, VIRTIO_MMIO_STATUS, &status);
		EXPECT(r == 0, "Status: %s", strerror(-r));
		if (status == 0 || (status & VIRTIO_CONFIG_S_NEEDS_RESET)) {
			how = "the guest saw a reset";
			break;
		}
		r = xg_wait_irq(&g);
		EXPECT(r == 0, "hung: %u of 4 requests back, no interrupt (%s)", done,
		       strerror(-r));
	}
	if (!how) {
		how = "the requests in flight completed after the replay";
		for (int i = 0; i < 4; i++)
			EXPECT(pattern_ok(bufs + i * 1024, 1024, 1024) ||
			       bufs[i * 1024] != 0xff, "request %d: no data", i);
	} else {
		EXPECT(xg_start(&g, 0, 1) == 0, "re-initialising after the reset");
	}
	for (int i = 0; i < 4; i++) {
		r = rng_request(&g, buf, RQ);
		EXPECT(r > 0, "request %d after the backend restart: %s", i, strerror(-r));
	}
	EXPECT(backend_alive(&w.fe), "the frontend died");
	printf("[backend restart] killed with 4 requests pending: %s; the device works\n", how);
	ret = 0;
out:
	return rng_world_end(&w, &b, ret);
}

static int frontend_restart_round(void)
{
	struct xw w;
	struct backend b = { .pid = -1 };
	struct xg g;
	uint8_t *buf = NULL;
	uint64_t v = 0;
	uint32_t status = ~0u, id;
	int r, dead, ret = -1;

	r = rng_world(&w, &b, &g, 1, &buf);
	EXPECT(r == 0, "rng world: %s", strerror(-r));
	xw_fe_kill(&w);
	dead = xsim_mmio(w.sim, DOMID, 0, BASE0 + VIRTIO_MMIO_STATUS, 4, false, &v);
	EXPECT(dead == -EPIPE || dead == -ENODEV,
	       "an access with the device model gone: %d (must fail, not hang)", dead);
	r = xw_fe_start(&w, NULL);
	EXPECT(r == 0, "restarting the frontend: %s", strerror(-r));
	r = xsim_wait_claimed(w.sim, DOMID, BASE0, true, T_MS);
	EXPECT(r == 0, "the device did not come back");
	r = xg_probe(&g, &id);
	EXPECT(r == 0 && id == VIRTIO_ID_RNG, "probe after the restart: %s", strerror(-r));
	r = xg_rd(&g, VIRTIO_MMIO_STATUS, &status);
	EXPECT(r == 0 && status == 0, "Status after the restart: 0x%x (want reset, 0)", status);
	r = xg_start(&g, 0, 1);
	EXPECT(r == 0, "re-initialising: %s", strerror(-r));
	r = rng_request(&g, buf, RQ);
	EXPECT(r > 0, "request after the restart: %s", strerror(-r));
	printf("[frontend restart] guest accesses failed (%s) while it was gone; "
	       "back reset, works\n", dead == -EPIPE ? "EPIPE" : "unclaimed");
	ret = 0;
out:
	return rng_world_end(&w, &b, ret);
}

/* Every register of device 0 written with bad values at every size, and
 * a queue set up on garbage addresses, while device 1 keeps working. */
static int hostile_round(void)
{
	static const uint64_t vals[] = { 0, ~0ull, 0x5a5a5a5a5a5a5a5aull, 0x80000000ull,
					 0xffff, 0x10000, 7 };
	struct xw w;
	struct backend b = { .pid = -1 };
	struct xg g0, g1;
	uint8_t *buf = NULL, *buf1;
	uint64_t n = 0, v;
	int r, ret = -1;

	r = rng_world(&w, &b, &g0, 2, &buf);
	EXPECT(r == 0, "rng world: %s", strerror(-r));
	buf1 = buf + RQ;
	r = xw_plug(&w, 1, VIRTIO_ID_RNG, BASE1, IRQ1, true);
	EXPECT(r == 0, "plug");
	r = bring_up(&w, &g1, BASE1, IRQ1, true, VIRTIO_ID_RNG, 1);
	EXPECT(r == 0, "device 1: %s", strerror(-r));
	for (unsigned size = 1; size <= 8; size *= 2) {
		for (unsigned off = 0; off < 0x200; off += size)
			for (unsigned k = 0; k < sizeof(vals) / sizeof(vals[0]); k++) {
				v = vals[k];
				r = xsim_mmio(w.sim, DOMID, 0, BASE0 + off, size, true, &v);
				EXPECT(r == 0, "write of 0x%llx to 0x%x (size %u): %s",
				       (unsigned long long)vals[k], off, size, strerror(-r));
				r = xsim_mmio(w.sim, DOMID, 0, BASE0 + off, size, false, &v);
				EXPECT(r == 0, "read of 0x%x (size %u): %s", off, size,
				       strerror(-r));
				n += 2;
			}
		r = rng_request(&g1, buf1, RQ);
		EXPECT(r > 0, "device 1 after size-%u writes to device 0: %s", size,
		       strerror(-r));
	}
	/* A queue on garbage: a grant address naming no grant, a huge
	 * size, DRIVER_OK and a notify. */
	{
		static const struct { unsigned off; uint32_t val; } seq[] = {
			{ VIRTIO_MMIO_STATUS, 0 },
			{ VIRTIO_MMIO_STATUS, 1 }, { VIRTIO_MMIO_STATUS, 3 },
			{ VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1 },
			{ VIRTIO_MMIO_DRIVER_FEATURES, 3 },
			{ VIRTIO_MMIO_STATUS, 11 },
			{ VIRTIO_MMIO_QUEUE_SEL, 0 }, { VIRTIO_MMIO_QUEUE_NUM, 0x8000 },
			{ VIRTIO_MMIO_QUEUE_DESC_LOW, 0xdead0000 },
			{ VIRTIO_MMIO_QUEUE_DESC_HIGH, 0x80ffffff },
			{ VIRTIO_MMIO_QUEUE_AVAIL_LOW, 0x1 },
			{ VIRTIO_MMIO_QUEUE_AVAIL_HIGH, 0xffffffff },
			{ VIRTIO_MMIO_QUEUE_USED_LOW, 0x3 },
			{ VIRTIO_MMIO_QUEUE_USED_HIGH, 0 },
			{ VIRTIO_MMIO_QUEUE_READY, 1 },
			{ VIRTIO_MMIO_STATUS, 15 },
			{ VIRTIO_MMIO_QUEUE_NOTIFY, 0 }, { VIRTIO_MMIO_QUEUE_NOTIFY, 0xffff },
			{ VIRTIO_MMIO_INTERRUPT_ACK, ~0u },
			{ VIRTIO_MMIO_QUEUE_SEL, 0xffffffff }, { VIRTIO_MMIO_QUEUE_READY, 1 },
			{ VIRTIO_MMIO_QUEUE_NOTIFY, 0 },
		};

		for (unsigned k = 0; k < sizeof(seq) / sizeof(seq[0]); k++) {
			v = seq[k].val;
			r = xsim_mmio(w.sim, DOMID, 0, BASE0 + seq[k].off, 4, true, &v);
			EXPECT(r == 0, "garbage queue step %u: %s", k, strerror(-r));
			n++;
		}
	}
	r = rng_request(&g1, buf1, RQ);
	EXPECT(r > 0, "device 1 after the garbage queue: %s", strerror(-r));
	EXPECT(backend_alive(&w.fe), "the frontend died");
	EXPECT(backend_alive(&b), "the backend died");
	/* Device 0 recovers with a reset and a proper start. */
	xg_init(&g0, w.sim, DOMID, BASE0, IRQ0, w.ram, true, w.ram_gpa);
	g0.timeout_ms = T_MS;
	r = xg_start(&g0, 0, 1);
	EXPECT(r == 0, "device 0 after the hostile guest: %s", strerror(-r));
	r = rng_request(&g0, buf, RQ);
	EXPECT(r > 0, "device 0 request after its reset: %s", strerror(-r));
	printf("[hostile guest] %llu bad register accesses at sizes 1-8 and a queue on "
	       "garbage: the device model and the other device carried on\n",
	       (unsigned long long)n);
	ret = 0;
out:
	return rng_world_end(&w, &b, ret);
}

/* Two guests in one frontend process: domain 5 with rng, domain 6 with
 * vsock at the same MMIO base (each domain has its own address space and
 * its own ioreq server), used in turn. */
static int two_guests_round(void)
{
	struct xw w;
	struct xw_guest g6 = { .fx = { .gnt_fd = -1 } };
	struct backend b = { .pid = -1 }, b6 = { .pid = -1 };
	struct xg g, gv;
	struct xv v;
	struct host h = { .lfd = -1 };
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	uint8_t *buf = NULL, *out = NULL;
	char uds[128], sock[128];
	const char *args[] = { "--socket", sock, "--uds-path", uds, "--guest-cid", "3",
			       "--xen", "on", NULL };
	const char *wait_for[] = { sock, uds, NULL };
	const size_t len = 256 * 1024;
	bool thread = false, g6_up = false;
	struct xsim_stats st;
	int r, ret = -1;

	r = rng_world(&w, &b, &g, 1, &buf);
	EXPECT(r == 0, "rng world: %s", strerror(-r));
	r = xw_guest_add(&w, &g6, 6, RAM, 2);
	EXPECT(r == 0, "second guest: %s", strerror(-r));
	g6_up = true;
	snprintf(uds, sizeof(uds), "%s/vm6.vsock", w.dir);
	xw_sock(&w, "vsock", 0, sock, sizeof(sock));
	r = xw_guest_backend(&w, &g6, &b6, "vhost-device-vsock", args, wait_for);
	EXPECT(r == 0, "vsock backend of guest 6: %s", strerror(-r));
	r = xw_guest_plug(&w, &g6, 0, VIRTIO_ID_VSOCK, BASE0, IRQ0, true);
	EXPECT(r == 0, "plug");
	xg_init(&gv, w.sim, 6, BASE0, IRQ0, g6.ram, true, w.ram_gpa);
	gv.timeout_ms = T_MS;
	EXPECT(xsim_wait_claimed(w.sim, 6, BASE0, true, T_MS) == 0, "guest 6's device");
	{
		uint32_t id;

		r = xg_probe(&gv, &id);
		EXPECT(r == 0 && id == VIRTIO_ID_VSOCK, "guest 6 probe: %s", strerror(-r));
	}
	r = xv_open(&v, &gv);
	EXPECT(r == 0, "guest 6 vsock: %s", strerror(-r));
	EXPECT(rng_request(&g, buf, RQ) > 0, "guest 5 rng while guest 6 started");

	out = malloc(len);
	EXPECT(out, "malloc");
	for (size_t k = 0; k < len; k++)
		out[k] = (uint8_t)(k * 13 + 1);
	snprintf(h.path, sizeof(h.path), "%s_%u", uds, PORT_G2H);
	h.lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	EXPECT(strlen(h.path) < sizeof(a.sun_path), "path");
	memcpy(a.sun_path, h.path, strlen(h.path) + 1);
	EXPECT(h.lfd >= 0 && bind(h.lfd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	       listen(h.lfd, 1) == 0, "host listener");
	EXPECT(pthread_create(&h.t, NULL, g2h_sink, &h) == 0, "thread");
	thread = true;
	r = xv_connect(&v, PORT_G2H);
	EXPECT(r == 0, "guest 6 connect: %s", strerror(-r));
	for (size_t off = 0; off < len; off += 64 * 1024) {
		r = xv_send(&v, out + off, 64 * 1024);
		EXPECT(r == 0, "guest 6 send: %s", strerror(-r));
		EXPECT(rng_request(&g, buf, RQ) > 0, "guest 5 rng between guest 6's sends");
	}
	r = xv_close(&v);
	EXPECT(r == 0, "guest 6 close: %s", strerror(-r));
	pthread_join(h.t, NULL);
	thread = false;
	EXPECT(h.err == 0 && h.got == len && h.sum == vt_fnv(VT_FNV_INIT, out, len),
	       "host got %llu bytes from guest 6 (err %d)", (unsigned long long)h.got, h.err);
	xsim_get_stats(w.sim, &st);
	EXPECT(st.servers_live == 2, "%llu ioreq servers, want one per guest",
	       (unsigned long long)st.servers_live);
	EXPECT(backend_alive(&w.fe) && backend_alive(&b) && backend_alive(&b6), "a process died");
	printf("[two guests] one frontend, two ioreq servers: guest 5 rng and guest 6 vsock "
	       "(256 KiB to the host) at the same MMIO base, interleaved\n");
	ret = 0;
out:
	if (thread) {
		shutdown(h.lfd, SHUT_RDWR);
		pthread_join(h.t, NULL);
	}
	if (h.lfd >= 0) {
		close(h.lfd);
		unlink(h.path);
	}
	free(out);
	if (b6.pid > 0 && backend_stop(&b6) != 0 && ret == 0) {
		fprintf(stderr, "FAIL: guest 6's backend exit status\n");
		ret = -1;
	}
	ret = rng_world_end(&w, &b, ret);
	if (g6_up)
		xw_guest_destroy(&g6);
	return ret;
}

int main(void)
{
	int fails = 0;

	signal(SIGPIPE, SIG_IGN);
	if (access("/proc/self/fd", R_OK) < 0) {
		fprintf(stderr, "SKIP: no /proc/self/fd\n");
		return 77;
	}
	{
		const char *bd = getenv("VHD_BUILDDIR");
		char fe[512];

		snprintf(fe, sizeof(fe), "%s/tools/xen-vhost-frontend", bd ? bd : VHD_BUILDDIR);
		if (access(fe, X_OK) < 0) {
			fprintf(stderr, "SKIP: %s not built\n", fe);
			return 77;
		}
	}
	if (make_source() < 0) {
		fprintf(stderr, "FAIL: source file\n");
		return 1;
	}
	fails += rng_round(true, false) < 0;
	fails += rng_round(false, false) < 0;
	fails += rng_round(true, true) < 0;
	fails += vsock_round() < 0;
	fails += hotplug_round() < 0;
	fails += backend_restart_round() < 0;
	fails += frontend_restart_round() < 0;
	fails += hostile_round() < 0;
	fails += two_guests_round() < 0;
	unlink(source);
	if (fails) {
		fprintf(stderr, "%d scenario(s) failed\n", fails);
		return 1;
	}
	printf("device model end to end: all checks passed\n");
	return 0;
}
