/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Integration test of vhost-device-scsi over Xen grant mappings, without
 * Xen: the real binary runs with the fake libxen (tests/xen/libfakexen.so,
 * LD_PRELOAD, set up by xen-fx.c as for the other Xen tests) and this
 * program plays the Xen frontend and the guest's virtio-scsi driver
 * (libvhu-frontend's tools/vhu-scsi.h with its xen_mmap/send_mem options).
 *
 * Memory as xen-vhost-frontend describes it: XEN_MMAP acked, one grant
 * region (flags 0x2, mapped once) per vring of the three queues at its
 * exact address and size, the rest as no-advance grant regions (0xA) cut
 * into eighths, so every request's buffers are mapped and unmapped per
 * request, and the io_uring reads and writes go to grant-mapped pages.
 *
 * Checks: 1 MiB written in 64 KiB WRITE(16)s and read back (16 in flight
 * at once), INQUIRY and READ CAPACITY answered; read-only map calls at
 * least one per request; no invalid or refused grant map, no bad unmap;
 * once idle only the 9 vrings mapped; after the guest left every gnttab
 * handle closed, nothing alive or leaked; the backend exits 0 on SIGTERM.
 *
 * Exit status: 0 pass, 1 fail, 77 skip (no /proc/self/fd access).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "vhu-frontend.h"
#include "vhu-scsi.h"
#include "xen-fx.h"

#define G VHU_XEN_GRANT_ADDR
#define DOMID 5u               /* what xen-fx.c tells the shim */
#define NQ 3u
#define NRINGS (3u * NQ)
#define T_MS 30000             /* every wait's failure bound */
#define DISK (4u << 20)

#define EXPECT(cond, ...) do { \
	if (!(cond)) { \
		fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
		fprintf(stderr, __VA_ARGS__); \
		fputc('\n', stderr); \
		goto out; \
	} \
} while (0)

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct xen_ctx {
	struct fx *x;
	struct vhu_xen_region reg[32];
	unsigned n;
};

struct span {
	uint64_t off, len;
};

/* Each ring its own in-advance grant region; the rest as no-advance
 * regions of size/8 at most.  The region count, or 0. */
static unsigned grant_table(const struct vhu_session *s, struct vhu_xen_region *r, unsigned cap)
{
	const uint8_t *base = vhu_mem_base(s->m);
	uint64_t size = vhu_mem_size(s->m), chunk = size / 8, pos = 0;
	struct span ring[NRINGS];
	unsigned n = 0;

	if (s->nvq != NQ)
		return 0;
	for (unsigned q = 0; q < NQ; q++) {
		uint64_t num = vhu_vq_num(s->vq[q]);

		ring[3 * q] = (struct span){ (uint64_t)((const uint8_t *)vhu_vq_desc(s->vq[q]) - base),
					     16 * num };
		ring[3 * q + 1] = (struct span){ (uint64_t)((const uint8_t *)vhu_vq_avail(s->vq[q]) - base),
						 6 + 2 * num };
		ring[3 * q + 2] = (struct span){ (uint64_t)((const uint8_t *)vhu_vq_used(s->vq[q]) - base),
						 6 + 8 * num };
	}
	for (unsigned i = 1; i < NRINGS; i++)
		for (unsigned j = i; j > 0 && ring[j].off < ring[j - 1].off; j--) {
			struct span t = ring[j];

			ring[j] = ring[j - 1];
			ring[j - 1] = t;
		}
	for (unsigned i = 0; i <= NRINGS; i++) {
		uint64_t end = i < NRINGS ? ring[i].off : size;

		if (end < pos)
			return 0;
		while (pos < end) {
			uint64_t len = end - pos < chunk ? end - pos : chunk;

			if (n == cap)
				return 0;
			r[n++] = (struct vhu_xen_region){ G | pos, len, 0, 0xa, DOMID };
			pos += len;
		}
		if (i < NRINGS) {
			if (n == cap)
				return 0;
			r[n++] = (struct vhu_xen_region){ G | ring[i].off, ring[i].len,
				(uint64_t)(uintptr_t)(base + ring[i].off), 0x2, DOMID };
			pos = ring[i].off + ring[i].len;
		}
	}
	return n;
}

static int xen_send_mem(void *opaque, struct vhu_session *s)
{
	struct xen_ctx *xc = opaque;
	int r;

	if (!vhu_has_protocol(s->c, VHU_PF_XEN_MMAP)) {
		fprintf(stderr, "FAIL: the backend did not offer XEN_MMAP with --xen on\n");
		return -ENOTSUP;
	}
	r = vhu_mem_set_grant_addressing(s->m, true);
	if (r < 0)
		return r;
	r = fx_attach(xc->x, s->m);
	if (r < 0)
		return r;
	xc->n = grant_table(s, xc->reg, sizeof(xc->reg) / sizeof(xc->reg[0]));
	if (xc->n == 0)
		return -E2BIG;
	return vhu_send_mem_xen(s->c, s->m, xc->reg, xc->n, false);
}

static void rw16(struct vhu_scsi_cmd *c, bool write, uint64_t lba, uint32_t n, void *buf)
{
	memset(c, 0, sizeof(*c));
	vhu_scsi_lun(c->lun, 0, 0);
	c->cdb[0] = write ? 0x8a : 0x88;
	for (int i = 0; i < 8; i++)
		c->cdb[2 + i] = (uint8_t)(lba >> (56 - 8 * i));
	for (int i = 0; i < 4; i++)
		c->cdb[10 + i] = (uint8_t)(n >> (24 - 8 * i));
	if (write) {
		c->out = buf;
		c->out_len = n * 512;
	} else {
		c->in = buf;
		c->in_len = n * 512;
	}
}

static bool good(const struct vhu_scsi_cmd *c)
{
	return c->done && c->response == 0 && c->status == 0;
}

/* Requests sent, or -1. */
static int traffic(struct vhu_scsi *d)
{
	static struct vhu_scsi_cmd c[16];
	struct vhu_scsi_cmd *done;
	uint8_t *w = malloc(1u << 20), *r = calloc(1, 1u << 20), inq[96];
	int reqs = -1;

	EXPECT(w && r, "memory");
	for (unsigned i = 0; i < (1u << 20); i++)
		w[i] = (uint8_t)(i * 7 + (i >> 12));
	memset(&c[0], 0, sizeof(c[0]));
	vhu_scsi_lun(c[0].lun, 0, 0);
	c[0].cdb[0] = 0x12;
	c[0].cdb[4] = sizeof(inq);
	c[0].in = inq;
	c[0].in_len = sizeof(inq);
	EXPECT(vhu_scsi_run(d, &c[0], T_MS) == 0 && good(&c[0]), "INQUIRY");
	EXPECT(memcmp(inq + 8, "VHD-C", 5) == 0, "INQUIRY vendor");
	for (unsigned i = 0; i < 16; i++) {
		rw16(&c[i], true, i * 128, 128, w + i * 65536);
		EXPECT(vhu_scsi_add(d, &c[i]) == 0, "add write %u", i);
	}
	EXPECT(vhu_scsi_kick(d) == 0, "kick");
	for (unsigned i = 0; i < 16; i++)
		EXPECT(vhu_scsi_collect(d, &done, T_MS) == 0 && good(done), "write %u", i);
	for (unsigned i = 0; i < 16; i++) {
		rw16(&c[i], false, i * 128, 128, r + i * 65536);
		EXPECT(vhu_scsi_add(d, &c[i]) == 0, "add read %u", i);
	}
	EXPECT(vhu_scsi_kick(d) == 0, "kick");
	for (unsigned i = 0; i < 16; i++)
		EXPECT(vhu_scsi_collect(d, &done, T_MS) == 0 && good(done), "read %u", i);
	EXPECT(memcmp(w, r, 1u << 20) == 0, "1 MiB read back differs");
	reqs = 33;
out:
	free(w);
	free(r);
	return reqs;
}

static bool wait_live(const struct fx *x, uint64_t want)
{
	for (int64_t t0 = now_ms(); now_ms() - t0 < T_MS; usleep(10000))
		if (fx_ld(&x->st->gnt_live) == want)
			return true;
	return false;
}

int main(void)
{
	struct backend b = { 0 };
	struct fx x;
	struct xen_ctx xc = { .x = &x };
	struct vhu_scsi *d = NULL;
	char sock[128], img[128], err[512] = "";
	const char *args[] = { "-s", sock, "--xen", "on", img, NULL };
	const char *wait_for[] = { sock, NULL };
	struct vhu_scsi_opts o = { .path = sock, .connect_ms = T_MS, .queue_size = 64,
				   .mem_size = 4u << 20, .xen_mmap = true,
				   .send_mem = xen_send_mem, .send_mem_opaque = &xc };
	uint64_t ro0;
	bool inited = false;
	int r, reqs, st, ret = 1, fd;

	signal(SIGPIPE, SIG_IGN);
	if (access("/proc/self/fd", R_OK) < 0) {
		fprintf(stderr, "SKIP: no /proc/self/fd\n");
		return 77;
	}
	r = fx_create(&x);
	EXPECT(r == 0, "fake Xen files: %s", strerror(-r));
	EXPECT(backend_init(&b) == 0, "backend directory");
	inited = true;
	backend_file(&b, "scsi.sock", sock, sizeof(sock));
	backend_file(&b, "disk.img", img, sizeof(img));
	fd = open(img, O_CREAT | O_RDWR | O_TRUNC, 0644);
	EXPECT(fd >= 0 && ftruncate(fd, DISK) == 0, "image");
	close(fd);
	fx_env_push(&x);
	r = backend_spawn(&b, "vhost-device-scsi", args, wait_for);
	fx_env_pop(&x);
	EXPECT(r == 0, "starting vhost-device-scsi: %s", strerror(-r));
	r = vhu_scsi_open_opts(&o, &d, err, sizeof(err));
	EXPECT(r == 0, "opening the scsi driver over grant memory: %s", err);
	EXPECT(xc.n > 9, "only %u regions", xc.n);
	EXPECT(wait_live(&x, NRINGS), "after open: %llu grant mappings alive, want the %u vrings",
	       (unsigned long long)fx_ld(&x.st->gnt_live), NRINGS);
	ro0 = fx_ld(&x.st->gnt_ro_maps);
	reqs = traffic(d);
	if (reqs < 0)
		goto out;
	EXPECT(wait_live(&x, NRINGS), "idle: %llu grant mappings alive, want the %u vrings",
	       (unsigned long long)fx_ld(&x.st->gnt_live), NRINGS);
	EXPECT(fx_ld(&x.st->gnt_ro_maps) - ro0 >= (uint64_t)reqs,
	       "%llu read-only map calls for %d requests",
	       (unsigned long long)(fx_ld(&x.st->gnt_ro_maps) - ro0), reqs);
	EXPECT(fx_ld(&x.st->gnt_invalid) == 0 && fx_ld(&x.st->gnt_refused) == 0 &&
	       fx_ld(&x.st->bad_unmaps) == 0, "%llu invalid and %llu refused grant maps, %llu bad unmaps",
	       (unsigned long long)fx_ld(&x.st->gnt_invalid),
	       (unsigned long long)fx_ld(&x.st->gnt_refused),
	       (unsigned long long)fx_ld(&x.st->bad_unmaps));
	printf("scsi: %d requests over %u grant regions, %llu map calls (%llu read-only)\n",
	       reqs, xc.n, (unsigned long long)fx_ld(&x.st->gnt_maps),
	       (unsigned long long)fx_ld(&x.st->gnt_ro_maps));
	vhu_scsi_close(d);
	d = NULL;
	for (int64_t t0 = now_ms(); now_ms() - t0 < T_MS; usleep(10000))
		if (fx_ld(&x.st->gnt_closes) == fx_ld(&x.st->gnt_opens) && fx_ld(&x.st->gnt_live) == 0)
			break;
	EXPECT(fx_ld(&x.st->gnt_closes) == fx_ld(&x.st->gnt_opens), "gnttab: %llu opened, %llu closed",
	       (unsigned long long)fx_ld(&x.st->gnt_opens), (unsigned long long)fx_ld(&x.st->gnt_closes));
	EXPECT(fx_ld(&x.st->gnt_live) == 0 && fx_ld(&x.st->leaked) == 0,
	       "%llu alive, %llu leaked", (unsigned long long)fx_ld(&x.st->gnt_live),
	       (unsigned long long)fx_ld(&x.st->leaked));
	EXPECT(fx_ld(&x.st->gnt_maps) == fx_ld(&x.st->gnt_unmaps), "%llu maps, %llu unmaps",
	       (unsigned long long)fx_ld(&x.st->gnt_maps), (unsigned long long)fx_ld(&x.st->gnt_unmaps));
	EXPECT(backend_alive(&b), "backend died");
	ret = 0;
out:
	vhu_scsi_close(d);
	if (inited) {
		unlink(img);
		st = backend_stop(&b);
		if (st != 0 && ret == 0) {
			fprintf(stderr, "FAIL: exit status %d on SIGTERM\n", st);
			ret = 1;
		}
	}
	fx_destroy(&x);
	if (ret == 0)
		printf("scsi over Xen grant mappings: all checks passed\n");
	return ret;
}
