/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Integration test (and benchmark) of the Xen guest-memory backend without
 * Xen: the real vhost-device-rng binary runs with the fake libxen
 * (tests/xen/libfakexen.so, LD_PRELOAD) and this program plays both the
 * Xen frontend and the guest.  The "guest RAM" is the frontend library's
 * memfd, handed to the shim as /proc/<our pid>/fd/<n>; the grant table
 * file grants page i of it as ref i, so a buffer at offset o of the memory
 * has the grant address 1<<63 | o.
 *
 * Scenarios (each with its own backend process):
 *   grant    XEN_MMAP acked; the region table xen-vhost-frontend sends:
 *            one region per vring (flags 0x2, byte-exact, sharing pages)
 *            and the gaps as no-advance regions (0xA) cut into pieces so
 *            the table has more than 8 regions.  Requests of various
 *            sizes, sub-page offsets, across a region boundary, direct
 *            and indirect; after each completion only the vring mappings
 *            may be alive (buffers unmapped before the used entry); the
 *            random bytes are in guest RAM, the bytes around untouched;
 *            at the end zero leaked mappings and zero bad unmaps.
 *   readonly a writable buffer on a read-only grant: refused by "Xen",
 *            the request never completes, nothing leaks, the backend lives.
 *   foreign  one foreign region (0x1) over the whole memory, GPAs, added
 *            with ADD_MEM_REG and removed with REM_MEM_REG (48 bytes).
 *   memfd    XEN_MMAP acked but flags 0: plain memfd, no libxen at all.
 *   qemu     --xen on, frontend does not ack bit 17: 32-byte regions.
 *   auto     --xen auto on a host without /dev/xen: bit 17 not offered.
 *
 * With --bench SECONDS it instead measures RNG throughput (source
 * /dev/zero, so the transport is what is measured) over plain memfd and
 * over grant mappings, and the map calls per request, and prints a table.
 *
 * Exit status: 0 pass, 1 fail, 77 skip (no /proc/self/fd access).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "vhu-frontend.h"
#include "xen-fx.h"
#include "xen-rig.h"

#define G (1ull << 63)
#define PG 4096u
#define DOMID 5u
#define MEM_SIZE (1u << 20)
#define QSIZE 64u

static int failures;

#define CHECK(cond, ...) do { \
	if (!(cond)) { \
		fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
		fprintf(stderr, __VA_ARGS__); \
		fputc('\n', stderr); \
		failures++; \
		return -1; \
	} \
} while (0)

/* Every wait's failure bound (never a pass condition). */
#define T_BOUND_MS 30000

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Start the rng backend with the shim preloaded (x may be NULL: no shim). */
static int start_rng(struct backend *b, struct fx *x, const char *source,
		     const char *xen_mode)
{
	const char *args[] = { "--xen", xen_mode, "-f", source, NULL };
	int r;

	if (x)
		fx_env_push(x);
	r = backend_start(b, "vhost-device-rng", true, 1, args);
	if (x)
		fx_env_pop(x);
	return r;
}

/* ---- frontend set-up ------------------------------------------------------ */

struct fe {
	struct vhu_conn *c;
	struct vhu_mem *m;
	struct vhu_vq *q;
};

static void fe_close(struct fe *f)
{
	vhu_close(f->c);
	vhu_vq_destroy(f->q);
	f->c = NULL;
	f->q = NULL;
}

static const uint64_t FEATURES = VHD_BIT(VIRTIO_F_VERSION_1) |
	VHD_BIT(VIRTIO_RING_F_INDIRECT_DESC);
static const uint64_t PROTOCOL = VHD_BIT(VHU_PF_REPLY_ACK) |
	VHD_BIT(VHU_PF_CONFIGURE_MEM_SLOTS);

static int fe_open_q(struct fe *f, const struct backend *b, bool xen,
		     unsigned num, uint64_t features)
{
	struct vhu_vq_opts o = { .num = num, .max_indirect = 4 };
	char sock[160];
	int r;

	backend_socket(b, true, 0, sock, sizeof(sock));
	r = vhu_connect(sock, T_BOUND_MS, &f->c);
	CHECK(r == 0, "connect %s: %s", sock, strerror(-r));
	r = vhu_negotiate(f->c, features,
			  PROTOCOL | (xen ? VHD_BIT(VHU_PF_XEN_MMAP) : 0));
	CHECK(r == 0, "negotiate: %s", vhu_conn_error(f->c));
	CHECK(vhu_has_protocol(f->c, VHU_PF_XEN_MMAP) == xen,
	      "XEN_MMAP acked %d, wanted %d", vhu_has_protocol(f->c, VHU_PF_XEN_MMAP), xen);
	r = vhu_vq_create(f->c, f->m, 0, &o, &f->q);
	CHECK(r == 0, "vq create: %s", strerror(-r));
	return 0;
}

static int fe_open(struct fe *f, const struct backend *b, bool xen)
{
	return fe_open_q(f, b, xen, QSIZE, FEATURES);
}

/*
 * The grant table as xen-vhost-frontend builds it (xen-rig.h): each ring
 * its own in-advance region at its exact grant address and size, the rest
 * of [1<<63, 1<<63 + size) as no-advance regions of at most `chunk` bytes.
 */
static unsigned grant_table(const struct fe *f, uint64_t chunk,
			    struct vhu_xen_region *r)
{
	return xen_rig_grant_table(f->m, &f->q, 1, chunk, r, XEN_RIG_MAX_REGIONS);
}

/* One RNG request of len bytes at buf; checks the completion, the bytes
 * and (with st) that only `ring_maps` grant mappings are alive when the
 * used entry is seen. */
static int rng_one(struct fe *f, uint8_t *buf, uint32_t len, bool indirect,
		   const struct fakexen_stats *st, uint64_t ring_maps)
{
	struct vhu_sg sg = { vhu_mem_gpa(f->m, buf), len };
	uint32_t ulen = 0;
	void *tok = NULL;
	unsigned same = 0;
	int r;

	memset(buf - 16, 0xaa, len + 32);
	r = vhu_vq_add(f->q, NULL, 0, &sg, 1, buf, indirect);
	CHECK(r >= 0, "vq add: %s", strerror(-r));
	r = vhu_vq_publish_kick(f->q, false);
	CHECK(r >= 0, "kick: %s", strerror(-r));
	r = vhu_vq_wait(f->q, T_BOUND_MS, 0);
	CHECK(r == 1, "no completion for %u bytes at 0x%llx", len,
	      (unsigned long long)sg.gpa);
	/* Read the counters right after seeing the used entry: the backend
	 * must have unmapped the buffer before publishing it. */
	if (st)
		CHECK(fx_ld(&st->gnt_live) == ring_maps,
		      "%llu grant mappings alive after completion (vrings: %llu)",
		      (unsigned long long)fx_ld(&st->gnt_live),
		      (unsigned long long)ring_maps);
	r = vhu_vq_get_used(f->q, &ulen, &tok);
	CHECK(r == 1 && tok == buf, "used entry: r=%d", r);
	CHECK(ulen == len, "used len %u, asked %u", ulen, len);
	for (uint32_t i = 0; i < len; i++)
		same += buf[i] == 0xaa;
	CHECK(same < len / 4 + 4, "%u of %u bytes unchanged: data did not land in guest RAM",
	      same, len);
	for (unsigned i = 1; i <= 16; i++) {
		CHECK(buf[-(int)i] == 0xaa, "byte before the buffer written");
		CHECK(buf[len - 1 + i] == 0xaa, "byte after the buffer written");
	}
	return 0;
}

/* After the frontend left: every handle closed, nothing leaked. */
static int check_no_leaks(const struct fx *x, const struct backend *b)
{
	for (int64_t t0 = now_ms(); now_ms() - t0 < T_BOUND_MS;) {
		if (fx_ld(&x->st->gnt_closes) == fx_ld(&x->st->gnt_opens) &&
		    fx_ld(&x->st->fm_closes) == fx_ld(&x->st->fm_opens))
			break;
		sleep_ms(10);
	}
	CHECK(fx_ld(&x->st->gnt_closes) == fx_ld(&x->st->gnt_opens),
	      "gnttab handles: %llu opened, %llu closed",
	      (unsigned long long)fx_ld(&x->st->gnt_opens),
	      (unsigned long long)fx_ld(&x->st->gnt_closes));
	CHECK(fx_ld(&x->st->fm_closes) == fx_ld(&x->st->fm_opens), "foreign handle left open");
	CHECK(fx_ld(&x->st->gnt_live) == 0, "%llu grant mappings alive",
	      (unsigned long long)fx_ld(&x->st->gnt_live));
	CHECK(fx_ld(&x->st->fm_live) == 0, "foreign mapping alive");
	CHECK(fx_ld(&x->st->leaked) == 0, "%llu mappings leaked",
	      (unsigned long long)fx_ld(&x->st->leaked));
	CHECK(fx_ld(&x->st->bad_unmaps) == 0, "%llu bad unmaps",
	      (unsigned long long)fx_ld(&x->st->bad_unmaps));
	CHECK(fx_ld(&x->st->gnt_maps) == fx_ld(&x->st->gnt_unmaps), "maps != unmaps");
	CHECK(backend_alive(b), "backend died");
	return 0;
}

/* ---- one scenario's rig ----------------------------------------------------- */

/* Guest memory, the fake's files on it, an rng backend (--xen on, source
 * /dev/urandom) and our connection with one queue. */
struct rig {
	struct backend b;
	struct fe f;
	struct fx x;
	bool started;
};

/* grant: descriptors carry grant addresses; ack_xen: ask for XEN_MMAP.
 * 0, or -1 with the failure counted; rig_down() is needed either way. */
static int rig_up(struct rig *g, bool grant, bool ack_xen)
{
	int r;

	memset(g, 0, sizeof(*g));
	g->x.gnt_fd = -1;
	r = vhu_mem_create(MEM_SIZE, 0, 0, &g->f.m);
	CHECK(r == 0, "mem: %s", strerror(-r));
	if (grant)
		CHECK(vhu_mem_set_grant_addressing(g->f.m, true) == 0, "grant addressing");
	CHECK(fx_create(&g->x) == 0 && fx_attach(&g->x, g->f.m) == 0, "fake xen files");
	if (start_rng(&g->b, &g->x, "/dev/urandom", "on") < 0) {
		failures++;
		return -1;
	}
	g->started = true;
	return fe_open(&g->f, &g->b, ack_xen);
}

/* Everything rig_up() made, in reverse.  The backend's exit status (0:
 * clean, and under ASan no leak), 0 when it never started. */
static int rig_down(struct rig *g)
{
	int st = 0;

	fe_close(&g->f);
	if (g->started)
		st = backend_stop(&g->b);
	fx_destroy(&g->x);
	vhu_mem_destroy(g->f.m);
	return st;
}

/* ---- scenarios ------------------------------------------------------------ */

static int scenario_grant(void)
{
	struct vhu_xen_region reg[32];
	unsigned n;
	uint64_t maps0;
	uint8_t *buf;
	struct rig g;
	int r, ret = -1;

	if (rig_up(&g, true, true) < 0)
		goto out;
	n = grant_table(&g.f, 96 * 1024, reg);
	if (n <= 8 || n > 32) {
		fprintf(stderr, "FAIL: grant table has %u regions\n", n);
		failures++;
		goto out;
	}
	r = vhu_send_mem_xen(g.f.c, g.f.m, reg, n, false);
	if (r < 0) {
		fprintf(stderr, "FAIL: SET_MEM_TABLE of %u Xen regions: %s\n", n,
			vhu_conn_error(g.f.c));
		failures++;
		goto out;
	}
	r = vhu_vq_start(g.f.q);
	if (r < 0) {
		fprintf(stderr, "FAIL: vq start: %s\n", vhu_conn_error(g.f.c));
		failures++;
		goto out;
	}
	/* The three vring regions are mapped at once, nothing else. */
	if (fx_ld(&g.x.st->gnt_live) != 3 || fx_ld(&g.x.st->gnt_opens) != 1) {
		fprintf(stderr, "FAIL: after start %llu grant mappings, %llu opens (want 3, 1)\n",
			(unsigned long long)fx_ld(&g.x.st->gnt_live),
			(unsigned long long)fx_ld(&g.x.st->gnt_opens));
		failures++;
		goto out;
	}
	maps0 = fx_ld(&g.x.st->gnt_maps);

	/* Buffers: a gap region's sub-page offset; one page exactly; several
	 * pages from an odd offset; one across a region boundary. */
	buf = vhu_mem_alloc(g.f.m, 256 * 1024, PG);
	if (!buf) {
		fprintf(stderr, "FAIL: no memory for buffers\n");
		failures++;
		goto out;
	}
	if (rng_one(&g.f, buf + 0x123, 64, false, g.x.st, 3) ||
	    rng_one(&g.f, buf + PG, PG, false, g.x.st, 3) ||
	    rng_one(&g.f, buf + 2 * PG + 0xff0, 3 * PG + 40, false, g.x.st, 3) ||
	    rng_one(&g.f, buf + 8 * PG + 7, 100, true, g.x.st, 3))
		goto out;
	/* One writable buffer, direct: one map call each; the indirect
	 * one adds a read-only map of its descriptor table. */
	if (fx_ld(&g.x.st->gnt_maps) - maps0 != 5 || fx_ld(&g.x.st->gnt_ro_maps) != 1) {
		fprintf(stderr, "FAIL: %llu map calls (%llu read-only) for 4 requests, want 5 (1)\n",
			(unsigned long long)(fx_ld(&g.x.st->gnt_maps) - maps0),
			(unsigned long long)fx_ld(&g.x.st->gnt_ro_maps));
		failures++;
		goto out;
	}
	/* Across a 96 KiB region boundary: two iovecs in two no-advance
	 * regions of one domain, still one map call (grouped by domid). */
	{
		uint64_t off = (uint64_t)(buf - (uint8_t *)vhu_mem_base(g.f.m));
		uint64_t bnd = (off / (96 * 1024) + 1) * (96 * 1024);
		bool edge = false;
		uint8_t *p;

		/* The boundaries of the gap pieces start after the used ring;
		 * find the region edge inside our buffer. */
		for (unsigned i = 0; i < n; i++)
			if (reg[i].flags == 0xa && (reg[i].gpa & ~G) > off &&
			    (reg[i].gpa & ~G) < off + 200 * 1024) {
				bnd = reg[i].gpa & ~G;
				break;
			}
		/* One call must not mean "no boundary": a no-advance region
		 * has to end exactly where the next one starts. */
		for (unsigned i = 0; i < n; i++)
			for (unsigned j = 0; j < n; j++)
				edge |= reg[i].flags == 0xa && reg[j].flags == 0xa &&
					(reg[i].gpa & ~G) + reg[i].size == bnd &&
					(reg[j].gpa & ~G) == bnd;
		if (!edge) {
			fprintf(stderr, "FAIL: no boundary of two no-advance regions at 0x%llx\n",
				(unsigned long long)bnd);
			failures++;
			goto out;
		}
		p = (uint8_t *)vhu_mem_base(g.f.m) + bnd - 50;
		maps0 = fx_ld(&g.x.st->gnt_maps);
		if (rng_one(&g.f, p, 100, false, g.x.st, 3))
			goto out;
		if (fx_ld(&g.x.st->gnt_maps) - maps0 != 1) {
			fprintf(stderr, "FAIL: buffer across regions: %llu map calls, want 1\n",
				(unsigned long long)(fx_ld(&g.x.st->gnt_maps) - maps0));
			failures++;
			goto out;
		}
	}
	/* Many in flight through the pump: still nothing left behind. */
	{
		struct vhu_pump_opts po = {
			.buf_size = 512, .depth = 32, .batch = 8,
			.max_bytes = 512 * 2000, .idle_timeout_ms = T_BOUND_MS,
		};
		struct vhu_pump_result pr;

		r = vhu_pump_read(g.f.q, g.f.m, &po, &pr);
		if (r < 0 || pr.bytes != po.max_bytes) {
			fprintf(stderr, "FAIL: pump: %s, %llu bytes\n", strerror(-r),
				(unsigned long long)pr.bytes);
			failures++;
			goto out;
		}
	}
	if (fx_ld(&g.x.st->gnt_live) != 3 || fx_ld(&g.x.st->gnt_invalid) || fx_ld(&g.x.st->gnt_refused)) {
		fprintf(stderr, "FAIL: after the pump: live %llu invalid %llu refused %llu\n",
			(unsigned long long)fx_ld(&g.x.st->gnt_live),
			(unsigned long long)fx_ld(&g.x.st->gnt_invalid),
			(unsigned long long)fx_ld(&g.x.st->gnt_refused));
		failures++;
		goto out;
	}
	fe_close(&g.f);
	if (check_no_leaks(&g.x, &g.b) < 0)
		goto out;
	printf("grant: %u regions, %llu map calls, %llu unmaps, 0 leaked\n", n,
	       (unsigned long long)fx_ld(&g.x.st->gnt_maps),
	       (unsigned long long)fx_ld(&g.x.st->gnt_unmaps));
	ret = 0;
out:
	if (rig_down(&g) != 0 && ret == 0) {
		fprintf(stderr, "FAIL: backend exit status\n");
		failures++;
		ret = -1;
	}
	return ret;
}

static int scenario_readonly(void)
{
	struct vhu_xen_region reg[32];
	unsigned n;
	uint8_t *buf;
	struct rig g;
	int r, ret = -1;

	if (rig_up(&g, true, true) < 0)
		goto out;
	n = grant_table(&g.f, 1 << 20, reg);
	if (vhu_send_mem_xen(g.f.c, g.f.m, reg, n, false) < 0 || vhu_vq_start(g.f.q) < 0) {
		fprintf(stderr, "FAIL: set-up: %s\n", vhu_conn_error(g.f.c));
		failures++;
		goto out;
	}
	buf = vhu_mem_alloc(g.f.m, PG, PG);
	fx_set_grant(&g.x, (size_t)(buf - (uint8_t *)vhu_mem_base(g.f.m)) / PG,
		     FAKEXEN_GRANT_VALID | FAKEXEN_GRANT_READONLY);
	{
		struct vhu_sg sg = { vhu_mem_gpa(g.f.m, buf), 64 };

		vhu_vq_add(g.f.q, NULL, 0, &sg, 1, buf, false);
		vhu_vq_publish_kick(g.f.q, false);
	}
	/* The event is the refused map (fakexen counts it); the ping after
	 * it is answered by the loop that handled the request, so a
	 * completion would be there by now (not "nothing within 300 ms",
	 * which on a busy machine also passed before the backend had even
	 * tried the map). */
	for (int64_t t0 = now_ms(); fx_ld(&g.x.st->gnt_refused) == 0 && now_ms() - t0 < T_BOUND_MS;)
		sleep_ms(1);
	if (vhu_ping(g.f.c) < 0) {
		fprintf(stderr, "FAIL: backend stopped answering\n");
		failures++;
		goto out;
	}
	r = vhu_vq_wait(g.f.q, 0, 0);
	if (r != 0 || fx_ld(&g.x.st->gnt_refused) != 1 || fx_ld(&g.x.st->gnt_live) != 3) {
		fprintf(stderr, "FAIL: read-only grant: wait %d, refused %llu, live %llu\n",
			r, (unsigned long long)fx_ld(&g.x.st->gnt_refused),
			(unsigned long long)fx_ld(&g.x.st->gnt_live));
		failures++;
		goto out;
	}
	if (vhu_ping(g.f.c) < 0) {
		fprintf(stderr, "FAIL: backend stopped answering\n");
		failures++;
		goto out;
	}
	fe_close(&g.f);
	if (check_no_leaks(&g.x, &g.b) < 0)
		goto out;
	printf("readonly: writable map of a read-only grant refused, 0 leaked\n");
	ret = 0;
out:
	rig_down(&g);
	return ret;
}

static int scenario_foreign(void)
{
	struct vhu_xen_region reg;
	uint8_t *buf;
	struct rig g;
	int r, ret = -1;

	if (rig_up(&g, false, true) < 0)
		goto out;
	reg = (struct vhu_xen_region){ 0, MEM_SIZE,
				       (uint64_t)(uintptr_t)vhu_mem_base(g.f.m), 0x1, DOMID };
	/* ADD_MEM_REG: the 48-byte layout. */
	if (vhu_send_mem_xen(g.f.c, g.f.m, &reg, 1, true) < 0 || vhu_vq_start(g.f.q) < 0) {
		fprintf(stderr, "FAIL: set-up: %s\n", vhu_conn_error(g.f.c));
		failures++;
		goto out;
	}
	buf = vhu_mem_alloc(g.f.m, 8 * PG, PG);
	if (rng_one(&g.f, buf + 0x10, 3 * PG, false, NULL, 0) ||
	    rng_one(&g.f, buf + 5 * PG + 1, 77, true, NULL, 0))
		goto out;
	if (fx_ld(&g.x.st->fm_maps) != 1 || fx_ld(&g.x.st->fm_live) != 1 || fx_ld(&g.x.st->gnt_maps)) {
		fprintf(stderr, "FAIL: foreign: %llu maps (%llu live), %llu grant maps\n",
			(unsigned long long)fx_ld(&g.x.st->fm_maps),
			(unsigned long long)fx_ld(&g.x.st->fm_live),
			(unsigned long long)fx_ld(&g.x.st->gnt_maps));
		failures++;
		goto out;
	}
	/* REM_MEM_REG (48 bytes) takes the region away: unmapped at once. */
	{
		struct {
			struct vhu_mem_single_hdr h;
			struct vhu_mem_region_xen r;
		} __attribute__((packed)) rem = { { 0 }, {
			reg.gpa, reg.size, reg.uva, 0, reg.flags, reg.domid } };

		r = vhu_request(g.f.c, VHU_REM_MEM_REG, VHU_FLAG_NEED_REPLY, &rem,
				sizeof(rem), NULL, 0, NULL, 0);
		if (r < 0 || fx_ld(&g.x.st->fm_live) != 0 || fx_ld(&g.x.st->fm_unmaps) != 1) {
			fprintf(stderr, "FAIL: REM_MEM_REG: %s, foreign live %llu unmaps %llu\n",
				r < 0 ? vhu_conn_error(g.f.c) : "ok",
				(unsigned long long)fx_ld(&g.x.st->fm_live),
				(unsigned long long)fx_ld(&g.x.st->fm_unmaps));
			failures++;
			goto out;
		}
	}
	fe_close(&g.f);
	if (check_no_leaks(&g.x, &g.b) < 0)
		goto out;
	printf("foreign: ADD_MEM_REG maps the whole memory once, 0 maps per request, REM_MEM_REG unmaps, 0 leaked\n");
	ret = 0;
out:
	rig_down(&g);
	return ret;
}

/* XEN_MMAP acked with flags 0, or not acked at all: plain memfd. */
static int scenario_plain(bool ack_xen)
{
	uint8_t *buf;
	struct rig g;
	int ret = -1;

	if (rig_up(&g, false, ack_xen) < 0)
		goto out;
	if (vhu_send_mem(g.f.c, g.f.m, false) < 0 || vhu_vq_start(g.f.q) < 0) {
		fprintf(stderr, "FAIL: set-up: %s\n", vhu_conn_error(g.f.c));
		failures++;
		goto out;
	}
	buf = vhu_mem_alloc(g.f.m, 2 * PG, PG);
	if (rng_one(&g.f, buf + 0x20, 1000, false, NULL, 0))
		goto out;
	if (fx_ld(&g.x.st->gnt_opens) || fx_ld(&g.x.st->fm_opens)) {
		fprintf(stderr, "FAIL: plain memory used libxen\n");
		failures++;
		goto out;
	}
	printf("%s: plain memfd regions served, libxen untouched\n",
	       ack_xen ? "memfd (XEN_MMAP, flags 0)" : "qemu (no XEN_MMAP)");
	ret = 0;
out:
	rig_down(&g);
	return ret;
}

/* --xen auto off Xen (no /dev/xen): bit 17 is not even offered. */
static int scenario_auto(void)
{
	struct backend b;
	struct vhu_conn *c = NULL;
	char sock[160];
	int r, ret = -1;

	if (access("/dev/xen/gntdev", F_OK) == 0 || access("/dev/xen/privcmd", F_OK) == 0) {
		printf("auto: running on Xen, not checked\n");
		return 0;
	}
	if (start_rng(&b, NULL, "/dev/urandom", "auto") < 0) {
		failures++;
		return -1;
	}
	backend_socket(&b, true, 0, sock, sizeof(sock));
	r = vhu_connect(sock, 5000, &c);
	if (r == 0)
		r = vhu_init(c, PROTOCOL | VHD_BIT(VHU_PF_XEN_MMAP));
	if (r < 0 || (vhu_conn_info(c)->protocol & VHD_BIT(VHU_PF_XEN_MMAP))) {
		fprintf(stderr, "FAIL: --xen auto off Xen: r=%d, protocol 0x%llx\n", r,
			c ? (unsigned long long)vhu_conn_info(c)->protocol : 0ull);
		failures++;
	} else {
		printf("auto: bit 17 not offered off Xen\n");
		ret = 0;
	}
	vhu_close(c);
	backend_stop(&b);
	return ret;
}

/* ---- benchmark ------------------------------------------------------------- */

struct bench_res {
	double mbps, kreq;
	double maps_per_req;
	double cpu_us;          /* backend CPU time per request */
};

static int bench_one(bool grant, const char *source, uint32_t bufsz, double secs,
		     struct bench_res *res)
{
	struct vhu_xen_region reg[32];
	struct backend b;
	struct fe f = { 0 };
	struct fx x;
	unsigned n;
	uint64_t maps0;
	/* As bench/bench-rng.sh drives it: 256 entries, 32 per kick. */
	struct vhu_pump_opts po = {
		.buf_size = bufsz, .depth = 0, .batch = 32,
		.duration_ns = (uint64_t)(secs * 1e9), .idle_timeout_ms = 5000,
	};
	struct vhu_pump_result pr;
	long long cpu0, cpu1;
	int r, ret = -1;

	if (vhu_mem_create(32u << 20, 0, 0, &f.m) < 0 || fx_create(&x) < 0 || fx_attach(&x, f.m) < 0)
		return -1;
	if (grant)
		vhu_mem_set_grant_addressing(f.m, true);
	if (start_rng(&b, grant ? &x : NULL, source, grant ? "on" : "off") < 0)
		goto out_fx;
	if (fe_open_q(&f, &b, grant, 256,
		      FEATURES | VHD_BIT(VIRTIO_RING_F_EVENT_IDX)) < 0)
		goto out;
	if (grant) {
		n = grant_table(&f, 8u << 20, reg);
		r = vhu_send_mem_xen(f.c, f.m, reg, n, false);
	} else {
		r = vhu_send_mem(f.c, f.m, false);
	}
	if (r < 0 || vhu_vq_start(f.q) < 0)
		goto out;
	maps0 = fx_ld(&x.st->gnt_maps);
	cpu0 = proc_cpu_ticks(b.pid);
	r = vhu_pump_read(f.q, f.m, &po, &pr);
	cpu1 = proc_cpu_ticks(b.pid);
	if (r < 0 || !pr.requests || cpu0 < 0 || cpu1 < 0)
		goto out;
	res->cpu_us = (double)(cpu1 - cpu0) / (double)sysconf(_SC_CLK_TCK) * 1e6 /
		      (double)pr.requests;
	res->mbps = (double)pr.bytes / pr.seconds / 1e6;
	res->kreq = (double)pr.requests / pr.seconds / 1e3;
	res->maps_per_req = (double)(fx_ld(&x.st->gnt_maps) - maps0) / (double)pr.requests;
	ret = 0;
out:
	fe_close(&f);
	backend_stop(&b);
out_fx:
	fx_destroy(&x);
	vhu_mem_destroy(f.m);
	return ret;
}

static int bench(double secs)
{
	/* /dev/zero: the transport alone; /dev/urandom: what a guest gets. */
	static const struct { const char *source; uint32_t size; } runs[] = {
		{ "/dev/zero", 64 }, { "/dev/zero", 4096 }, { "/dev/zero", 65536 },
		{ "/dev/urandom", 64 }, { "/dev/urandom", 4096 },
		{ "/dev/urandom", 65536 },
	};

	printf("| source | request | memfd MB/s | memfd kreq/s | memfd CPU/req | grant MB/s | grant kreq/s | grant CPU/req | grant/memfd | map calls/request |\n");
	printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
	for (unsigned i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
		struct bench_res m = { 0 }, g = { 0 };

		if (bench_one(false, runs[i].source, runs[i].size, secs, &m) < 0 ||
		    bench_one(true, runs[i].source, runs[i].size, secs, &g) < 0) {
			fprintf(stderr, "bench: %s, %u-byte requests failed\n",
				runs[i].source, runs[i].size);
			return 1;
		}
		printf("| %s | %u B | %.1f | %.1f | %.2f µs | %.1f | %.1f | %.2f µs | %.2f | %.2f |\n",
		       runs[i].source, runs[i].size, m.mbps, m.kreq, m.cpu_us,
		       g.mbps, g.kreq, g.cpu_us, g.mbps / m.mbps, g.maps_per_req);
		fflush(stdout);
	}
	return 0;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	/* The shim opens our memfd through /proc. */
	if (access("/proc/self/fd", R_OK) < 0) {
		fprintf(stderr, "SKIP: no /proc/self/fd\n");
		return 77;
	}
	if (argc == 3 && !strcmp(argv[1], "--bench"))
		return bench(atof(argv[2]));

	scenario_grant();
	scenario_readonly();
	scenario_foreign();
	scenario_plain(true);
	scenario_plain(false);
	scenario_auto();
	if (failures) {
		fprintf(stderr, "%d failure(s)\n", failures);
		return 1;
	}
	printf("all Xen scenarios passed\n");
	return 0;
}
