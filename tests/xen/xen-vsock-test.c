/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Integration test of vhost-device-vsock over Xen grant mappings, without
 * Xen: the real binary runs with the fake libxen (tests/xen/libfakexen.so,
 * LD_PRELOAD, set up as tests/xen/xen-rng-test.c does) and this program
 * plays the Xen frontend and the guest's virtio-vsock driver
 * (libvhu-frontend's tools/vhu-vsock.h, opened with its xen_mmap/send_mem
 * options).  Real Unix sockets on the host side.
 *
 * Memory as xen-vhost-frontend describes it: XEN_MMAP acked, one grant
 * region (flags 0x2, mapped once) per vring at its exact address and size
 * (rx and tx: six), and the rest of the guest memory as no-advance grant
 * regions (0xA) cut into 512 KiB pieces, so that every packet buffer is
 * mapped and unmapped per request and many rx buffers straddle two
 * regions.  Descriptors carry grant addresses (1<<63 | offset; ref i
 * grants page i).  A backend that kept a pointer into a buffer after
 * completing the request would touch an unmapped page (the shim munmaps
 * on unmap): it would crash, or, under ASan, report.
 *
 * Two rounds, each with its own backend and guest: the buffer layout of
 * Linux >= 6.2 (header and payload in one buffer, EVENT_IDX) and that of
 * older guests (header and payload in two descriptors, indirect tx
 * chains, no EVENT_IDX), which adds multi-buffer chains and read-only
 * maps of indirect tables.  In each round:
 *   - after the open only the six vring regions are mapped, one gnttab
 *     handle;
 *   - guest -> host: CID 2 port 1234 reaches the host listener
 *     <uds>_1234; 4 MiB arrive with the right checksum (checked by the
 *     host side), clean close;
 *   - host -> guest: CONNECT 5000 / OK <port> on the uds path, 4 MiB
 *     written by the host arrive in the guest with the right checksum,
 *     the OK port is the peer port the guest sees, clean close;
 *   - a connect to a host port nobody listens on gets RST within 1 s;
 *   - the device never broke our credit nor sent a malformed packet;
 *   - once idle, only the vring mappings are alive; every tx packet was
 *     mapped read-only and every rx packet writable, per request (map
 *     calls >= packets); no invalid or refused grant map;
 *   - after the guest left: every gnttab handle closed, zero grant
 *     mappings alive, zero leaked, zero bad unmaps, maps == unmaps; the
 *     backend is alive and exits 0 on SIGTERM (under ASan: no leaks).
 *
 * Exit status: 0 pass, 1 fail, 77 skip (no /proc/self/fd access, which
 * the shim needs to open our memfd).
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
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "backend.h"
#include "test-vsock-util.h"
#include "vhu-frontend.h"
#include "vhu-vsock.h"
#include "xen-fx.h"
#include "xen-rig.h"

#define PG 4096u
#define GUEST_CID 3u
#define GUEST_CID_STR "3"
#define CHUNK (512u * 1024u)    /* no-advance region pieces */
#define XFER (4u << 20)         /* bytes each way */
/* Every wait's failure bound, never a pass condition. */
#define T_MS 30000
#define PORT_G2H 1234u
#define PORT_H2G 5000u
#define PORT_REFUSED 4321u
#define SEED_G2H 42u
#define SEED_H2G 7u
#define NRINGS 6u               /* rx and tx: desc, avail, used */

/* On failure: say where and why, then leave through `out`. */
#define EXPECT(cond, ...) do { \
	if (!(cond)) { \
		fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
		fprintf(stderr, __VA_ARGS__); \
		fputc('\n', stderr); \
		goto out; \
	} \
} while (0)

/* Start vhost-device-vsock with the shim preloaded and --xen on.  The
 * guest memory does not exist yet (vhu_vsock_open() makes it): xen_rig_send_mem
 * attaches it to the fake once it does. */
static int start_vsock(struct backend *b, struct fx *x, const char *sock,
		       const char *uds)
{
	const char *args[] = { "--socket", sock, "--uds-path", uds,
			       "--guest-cid", GUEST_CID_STR, "--xen", "on", NULL };
	const char *wait_for[] = { "vhost.sock", "vm.vsock", NULL };
	int r;

	fx_env_push(x);
	r = vt_backend_start(b, args, wait_for);
	fx_env_pop(x);
	return r;
}

/* ---- host-side threads ----------------------------------------------------- */

struct job {
	pthread_t t;
	int lfd;                    /* guest -> host: the listener */
	const char *uds;            /* host -> guest: the hybrid socket */
	uint32_t port, host_port;
	uint64_t bytes, got, sum;
	int err;
	int done;                   /* set (atomically) as the thread ends */
};

static void job_done(struct job *j)
{
	__atomic_store_n(&j->done, 1, __ATOMIC_SEQ_CST);
}

/* Wait for a host thread that was started: it ends by itself within its
 * timeouts; the device is served meanwhile, or it could wait for us. */
static void job_finish(struct vhu_vsock *v, struct job *j, bool started)
{
	if (!started)
		return;
	while (!__atomic_load_n(&j->done, __ATOMIC_SEQ_CST))
		vhu_vsock_poll(v, 10);
	pthread_join(j->t, NULL);
}

/* Accept one connection, read to end of file, checksum what came. */
static void *g2h_sink(void *arg)
{
	struct job *j = arg;
	static uint8_t buf[1 << 16];
	int fd = vt_accept(j->lfd, T_MS);

	if (fd < 0) {
		j->err = fd;
		job_done(j);
		return NULL;
	}
	j->sum = VT_FNV_INIT;
	for (;;) {
		ssize_t n = vt_read_all(fd, buf, sizeof(buf), T_MS);

		if (n < 0) {
			j->err = (int)n;
			break;
		}
		if (n == 0)
			break;
		j->sum = vt_fnv(j->sum, buf, (size_t)n);
		j->got += (uint64_t)n;
		if ((size_t)n < sizeof(buf))
			break;      /* end of file inside this read */
	}
	close(fd);
	job_done(j);
	return NULL;
}

/* CONNECT to the guest port, write `bytes` of stream SEED_H2G, half-close,
 * wait (bounded) for the guest to close. */
static void *h2g_source(void *arg)
{
	struct job *j = arg;
	static uint8_t buf[1 << 16];
	struct vt_stream s;
	int fd = vt_hybrid_connect(j->uds, j->port, &j->host_port, T_MS);

	if (fd < 0) {
		j->err = fd;
		job_done(j);
		return NULL;
	}
	vt_stream_init(&s, SEED_H2G);
	while (j->got < j->bytes) {
		size_t n = j->bytes - j->got < sizeof(buf) ? (size_t)(j->bytes - j->got) : sizeof(buf);
		ssize_t w;

		vt_stream_fill(&s, buf, n);
		w = vt_write_all(fd, buf, n, T_MS);
		if (w != (ssize_t)n) {
			j->err = w < 0 ? (int)w : -EIO;
			break;
		}
		j->got += n;
	}
	shutdown(fd, SHUT_WR);
	vt_read_all(fd, buf, 1, T_MS);
	close(fd);
	job_done(j);
	return NULL;
}

/* ---- the scenario ---------------------------------------------------------- */

static void host_port_path(const char *uds, uint32_t port, char *out, size_t len)
{
	snprintf(out, len, "%s_%u", uds, port);
}

static int guest_to_host(struct vhu_vsock *v, const char *uds)
{
	struct job j = { .lfd = -1 };
	struct vhu_vsock_conn *c = NULL;
	static uint8_t buf[65536];
	struct vt_stream s;
	bool started = false;
	char path[160];
	uint64_t sent = 0;
	double t0 = vt_now_s();
	int r, ret = -1;

	host_port_path(uds, PORT_G2H, path, sizeof(path));
	j.lfd = vhu_unix_listen(path, SOCK_STREAM, 128);
	EXPECT(j.lfd >= 0, "listen %s: %s", path, strerror(-j.lfd));
	EXPECT(pthread_create(&j.t, NULL, g2h_sink, &j) == 0, "thread");
	started = true;
	r = vhu_vsock_connect(v, 2, PORT_G2H, VIRTIO_VSOCK_TYPE_STREAM, T_MS, &c);
	EXPECT(r == 0, "guest connect to 2:%u: %s", PORT_G2H, strerror(-r));
	EXPECT(vhu_vsock_conn_peer_cid(c) == 2, "peer CID %llu",
	       (unsigned long long)vhu_vsock_conn_peer_cid(c));
	vt_stream_init(&s, SEED_G2H);
	while (sent < XFER) {
		ssize_t w;

		vt_stream_fill(&s, buf, sizeof(buf));
		w = vhu_vsock_send(c, buf, sizeof(buf), false, T_MS);
		EXPECT(w == (ssize_t)sizeof(buf), "send at byte %llu: %zd",
		       (unsigned long long)sent, w);
		sent += sizeof(buf);
	}
	r = vhu_vsock_close_conn(c, T_MS);
	c = NULL;
	EXPECT(r == 0, "close: no RST from the device");
	pthread_join(j.t, NULL);
	started = false;
	EXPECT(j.err == 0, "host side: %s", strerror(-j.err));
	EXPECT(j.got == XFER, "host got %llu bytes, guest sent %u",
	       (unsigned long long)j.got, XFER);
	EXPECT(j.sum == vt_stream_sum(SEED_G2H, XFER),
	       "host-side checksum 0x%016llx, want 0x%016llx", (unsigned long long)j.sum,
	       (unsigned long long)vt_stream_sum(SEED_G2H, XFER));
	printf("guest->host: 4 MiB, checksum ok, %.2f s\n", vt_now_s() - t0);
	ret = 0;
out:
	if (c)
		vhu_vsock_reset_conn(c);
	/* Only once the host thread is gone is the listener closed. */
	job_finish(v, &j, started);
	if (j.lfd >= 0)
		close(j.lfd);
	return ret;
}

static int host_to_guest(struct vhu_vsock *v, const char *uds)
{
	struct job j = { .uds = uds, .port = PORT_H2G, .bytes = XFER };
	struct vhu_vsock_conn *c = NULL;
	uint64_t got = 0, sum = VT_FNV_INIT;
	uint32_t peer_port;
	bool started = false;
	double t0 = vt_now_s();
	ssize_t n;
	int r, ret = -1;

	r = vhu_vsock_listen(v, PORT_H2G);
	EXPECT(r == 0, "listen: %s", strerror(-r));
	EXPECT(pthread_create(&j.t, NULL, h2g_source, &j) == 0, "thread");
	started = true;
	r = vhu_vsock_accept(v, PORT_H2G, T_MS, &c);
	EXPECT(r == 0, "guest accept on port %u: %s", PORT_H2G, strerror(-r));
	EXPECT(vhu_vsock_conn_peer_cid(c) == 2, "peer CID %llu",
	       (unsigned long long)vhu_vsock_conn_peer_cid(c));
	peer_port = vhu_vsock_conn_peer_port(c);
	n = vt_guest_recv_all(c, T_MS, &got, &sum);
	EXPECT(n == 0, "guest recv after %llu bytes: %s", (unsigned long long)got,
	       strerror(-(int)n));
	r = vhu_vsock_close_conn(c, T_MS);
	c = NULL;
	EXPECT(r == 0, "close: no RST from the device");
	pthread_join(j.t, NULL);
	started = false;
	EXPECT(j.err == 0, "host side: %s", strerror(-j.err));
	EXPECT(j.got == XFER, "host wrote %llu bytes", (unsigned long long)j.got);
	EXPECT(got == XFER, "guest got %llu bytes, host wrote %u", (unsigned long long)got, XFER);
	EXPECT(sum == vt_stream_sum(SEED_H2G, XFER),
	       "guest-side checksum 0x%016llx, want 0x%016llx", (unsigned long long)sum,
	       (unsigned long long)vt_stream_sum(SEED_H2G, XFER));
	/* OK <n> names the port the guest sees as its peer. */
	EXPECT(j.host_port == peer_port, "OK %u, the guest's peer port is %u", j.host_port,
	       peer_port);
	printf("host->guest: 4 MiB, checksum ok, OK %u, %.2f s\n", j.host_port,
	       vt_now_s() - t0);
	ret = 0;
out:
	if (c)
		vhu_vsock_reset_conn(c);
	job_finish(v, &j, started);
	return ret;
}

static int refused(struct vhu_vsock *v)
{
	struct vhu_vsock_conn *c = NULL;
	int r, ret = -1;

	/* -ECONNREFUSED only when the RST came (a connect left unanswered
	 * ends with -ETIMEDOUT): no "within N ms". */
	r = vhu_vsock_connect(v, 2, PORT_REFUSED, VIRTIO_VSOCK_TYPE_STREAM, T_MS, &c);
	EXPECT(r == -ECONNREFUSED, "connect to a port nobody listens on: %s", strerror(-r));
	printf("refused: RST\n");
	ret = 0;
out:
	if (c)
		vhu_vsock_reset_conn(c);
	return ret;
}

/* Serve the guest until the device holds no tx packet and only the vring
 * mappings are alive (it maps nothing while idle); T_MS is the failure
 * bound. */
static bool wait_idle(struct vhu_vsock *v, const struct fx *x)
{
	struct vhu_vq *txq = vhu_vsock_session(v)->vq[1];

	for (int64_t t0 = vt_now_ms(); vt_now_ms() - t0 < T_MS;) {
		vhu_vsock_poll(v, 10);
		if (vhu_vq_in_flight(txq) == 0 && fx_ld(&x->st->gnt_live) == NRINGS)
			return true;
	}
	return false;
}

/* After the guest left: every handle closed, nothing leaked. */
static int check_no_leaks(const struct fx *x, const struct backend *b)
{
	int ret = -1;

	for (int64_t t0 = vt_now_ms(); vt_now_ms() - t0 < T_MS;) {
		if (fx_ld(&x->st->gnt_closes) == fx_ld(&x->st->gnt_opens) && fx_ld(&x->st->gnt_live) == 0)
			break;
		vt_sleep_ms(10);
	}
	EXPECT(fx_ld(&x->st->gnt_closes) == fx_ld(&x->st->gnt_opens),
	       "gnttab handles: %llu opened, %llu closed",
	       (unsigned long long)fx_ld(&x->st->gnt_opens),
	       (unsigned long long)fx_ld(&x->st->gnt_closes));
	EXPECT(fx_ld(&x->st->fm_opens) == 0, "foreign memory used for grant regions");
	EXPECT(fx_ld(&x->st->gnt_live) == 0, "%llu grant mappings alive",
	       (unsigned long long)fx_ld(&x->st->gnt_live));
	EXPECT(fx_ld(&x->st->leaked) == 0, "%llu mappings leaked (still mapped at close)",
	       (unsigned long long)fx_ld(&x->st->leaked));
	EXPECT(fx_ld(&x->st->bad_unmaps) == 0, "%llu bad unmaps",
	       (unsigned long long)fx_ld(&x->st->bad_unmaps));
	EXPECT(fx_ld(&x->st->gnt_maps) == fx_ld(&x->st->gnt_unmaps), "%llu maps, %llu unmaps",
	       (unsigned long long)fx_ld(&x->st->gnt_maps),
	       (unsigned long long)fx_ld(&x->st->gnt_unmaps));
	EXPECT(backend_alive(b), "backend died");
	ret = 0;
out:
	return ret;
}

/* The guest driver's buffer layout in one round. */
struct layout {
	const char *name;
	bool split_hdr, indirect, no_event_idx;
};

/* One backend, one guest: everything above.  The shim opens the guest
 * RAM once per backend process, so each round has its own backend. */
static int run(const struct layout *l)
{
	struct backend b = { 0 };
	struct fx x;
	struct xen_rig rig = { .x = &x, .nvq = 2, .chunk = CHUNK };
	struct vhu_vsock_opts o;
	struct vhu_vsock *v = NULL;
	const struct vhu_vsock_stats *vs;
	char sock[128], uds[128], err[512] = "";
	uint64_t maps0, ro0, maps, ro;
	bool inited = false;
	int r, st, ret = -1;

	r = fx_create(&x);
	EXPECT(r == 0, "fake Xen files: %s", strerror(-r));
	EXPECT(backend_init(&b) == 0, "backend directory");
	inited = true;
	backend_file(&b, "vhost.sock", sock, sizeof(sock));
	backend_file(&b, "vm.vsock", uds, sizeof(uds));
	r = start_vsock(&b, &x, sock, uds);
	EXPECT(r == 0, "starting vhost-device-vsock: %s", strerror(-r));

	vhu_vsock_defaults(&o, sock);
	o.split_hdr = l->split_hdr;
	o.indirect = l->indirect;
	o.no_event_idx = l->no_event_idx;
	o.xen_mmap = true;
	o.send_mem = xen_rig_send_mem;
	o.send_mem_opaque = &rig;
	r = vhu_vsock_open(&o, &v, err, sizeof(err));
	EXPECT(r == 0, "opening the guest driver over grant memory: %s", err);
	vs = vhu_vsock_stats(v);
	EXPECT(rig.n > 8, "only %u regions", rig.n);
	EXPECT(vhu_vsock_cid(v) == GUEST_CID, "config space CID %llu",
	       (unsigned long long)vhu_vsock_cid(v));
	/* The rx buffers are posted: the device may have looked at them,
	 * but holds none while it has nothing to send. */
	EXPECT(wait_idle(v, &x), "after open: %llu grant mappings alive, want the %u vrings",
	       (unsigned long long)fx_ld(&x.st->gnt_live), NRINGS);
	EXPECT(fx_ld(&x.st->gnt_opens) == 1, "%llu gnttab opens",
	       (unsigned long long)fx_ld(&x.st->gnt_opens));
	printf("[%s]\nopen: %u regions (%u vrings), %llu grant mappings alive\n", l->name,
	       rig.n, NRINGS,
	       (unsigned long long)fx_ld(&x.st->gnt_live));
	fflush(stdout);
	maps0 = fx_ld(&x.st->gnt_maps);
	ro0 = fx_ld(&x.st->gnt_ro_maps);

	if (guest_to_host(v, uds) < 0 || host_to_guest(v, uds) < 0 || refused(v) < 0)
		goto out;
	EXPECT(vs->credit_violations == 0 && vs->bad_pkts == 0,
	       "device misbehaved: %llu credit violations, %llu bad packets",
	       (unsigned long long)vs->credit_violations, (unsigned long long)vs->bad_pkts);
	EXPECT(wait_idle(v, &x), "idle: %llu grant mappings alive, want the %u vrings",
	       (unsigned long long)fx_ld(&x.st->gnt_live), NRINGS);
	maps = fx_ld(&x.st->gnt_maps) - maps0;
	ro = fx_ld(&x.st->gnt_ro_maps) - ro0;
	/* Per request: each tx packet mapped read-only, each rx packet
	 * writable, at least once (more when a request was put back). */
	EXPECT(ro >= vs->tx_pkts, "%llu read-only map calls for %llu tx packets",
	       (unsigned long long)ro, (unsigned long long)vs->tx_pkts);
	EXPECT(maps - ro >= vs->rx_pkts, "%llu writable map calls for %llu rx packets",
	       (unsigned long long)(maps - ro), (unsigned long long)vs->rx_pkts);
	EXPECT(fx_ld(&x.st->gnt_invalid) == 0 && fx_ld(&x.st->gnt_refused) == 0 &&
	       fx_ld(&x.st->bad_unmaps) == 0,
	       "%llu invalid and %llu refused grant maps, %llu bad unmaps",
	       (unsigned long long)fx_ld(&x.st->gnt_invalid),
	       (unsigned long long)fx_ld(&x.st->gnt_refused),
	       (unsigned long long)fx_ld(&x.st->bad_unmaps));
	printf("traffic: %llu tx and %llu rx packets, %llu map calls (%llu read-only), %llu pages\n",
	       (unsigned long long)vs->tx_pkts, (unsigned long long)vs->rx_pkts,
	       (unsigned long long)maps, (unsigned long long)ro,
	       (unsigned long long)fx_ld(&x.st->gnt_pages));

	vhu_vsock_close(v);
	v = NULL;
	if (check_no_leaks(&x, &b) < 0)
		goto out;
	printf("after the guest left: %llu maps, %llu unmaps, 0 alive, 0 leaked, 0 bad unmaps\n",
	       (unsigned long long)fx_ld(&x.st->gnt_maps),
	       (unsigned long long)fx_ld(&x.st->gnt_unmaps));
	ret = 0;
out:
	vhu_vsock_close(v);
	if (inited) {
		/* Also removes the directory when the start failed. */
		st = backend_stop(&b);
		if (st != 0 && ret == 0) {
			fprintf(stderr, "FAIL: backend exit status %d on SIGTERM\n", st);
			ret = -1;
		}
	}
	fx_destroy(&x);
	return ret;
}

int main(void)
{
	static const struct layout modern = {
		"Linux >= 6.2 layout: header and payload in one buffer, EVENT_IDX",
		false, false, false,
	};
	static const struct layout old = {
		"Linux < 6.2 layout: split header, indirect tx, no EVENT_IDX",
		true, true, true,
	};

	signal(SIGPIPE, SIG_IGN);
	/* The shim opens our memfd through /proc. */
	if (access("/proc/self/fd", R_OK) < 0) {
		fprintf(stderr, "SKIP: no /proc/self/fd\n");
		return 77;
	}
	if (run(&modern) < 0 || run(&old) < 0)
		return 1;
	printf("vsock over Xen grant mappings: all checks passed\n");
	return 0;
}
