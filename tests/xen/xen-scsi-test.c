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
#include "xen-rig.h"

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

int main(void)
{
	struct backend b = { 0 };
	struct fx x;
	struct xen_rig rig = { .x = &x, .nvq = NQ, .pieces = 8 };
	struct vhu_scsi *d = NULL;
	char sock[128], img[128], err[512] = "";
	const char *args[] = { "-s", sock, "--xen", "on", img, NULL };
	const char *wait_for[] = { sock, NULL };
	struct vhu_scsi_opts o = { .path = sock, .connect_ms = T_MS, .queue_size = 64,
				   .mem_size = 4u << 20, .xen_mmap = true,
				   .send_mem = xen_rig_send_mem, .send_mem_opaque = &rig };
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
	EXPECT(rig.n > 9, "only %u regions", rig.n);
	EXPECT(xen_rig_wait_live(&x, NRINGS), "after open: %llu grant mappings alive, want the %u vrings",
	       (unsigned long long)fx_ld(&x.st->gnt_live), NRINGS);
	ro0 = fx_ld(&x.st->gnt_ro_maps);
	reqs = traffic(d);
	if (reqs < 0)
		goto out;
	EXPECT(xen_rig_wait_live(&x, NRINGS), "idle: %llu grant mappings alive, want the %u vrings",
	       (unsigned long long)fx_ld(&x.st->gnt_live), NRINGS);
	EXPECT(fx_ld(&x.st->gnt_ro_maps) - ro0 >= (uint64_t)reqs,
	       "%llu read-only map calls for %d requests",
	       (unsigned long long)(fx_ld(&x.st->gnt_ro_maps) - ro0), reqs);
	EXPECT(xen_rig_check_maps(&x) == 0, "bad grant maps or unmaps");
	printf("scsi: %d requests over %u grant regions, %llu map calls (%llu read-only)\n",
	       reqs, rig.n, (unsigned long long)fx_ld(&x.st->gnt_maps),
	       (unsigned long long)fx_ld(&x.st->gnt_ro_maps));
	vhu_scsi_close(d);
	d = NULL;
	EXPECT(xen_rig_check_closed(&x) == 0, "grant mappings after the guest left");
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
