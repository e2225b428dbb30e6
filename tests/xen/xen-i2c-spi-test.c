/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Integration test of vhost-device-i2c and vhost-device-spi over Xen grant
 * mappings, without Xen: each real binary runs with the fake libxen
 * (tests/xen/libfakexen.so, LD_PRELOAD, set up by xen-fx.c as for
 * xen-rng-test and xen-vsock-test) and this program plays the Xen frontend
 * and the guest's driver (libvhu-frontend's tools/vhu-i2c.h and
 * tools/vhu-spi.h, opened with their xen_mmap/send_mem options).
 *
 * Memory as xen-vhost-frontend describes it: XEN_MMAP acked, one grant
 * region (flags 0x2, mapped once) per vring at its exact address and size,
 * the rest of the guest memory as no-advance grant regions (0xA) cut into
 * 1/16ths, so that every request's buffers are mapped and unmapped per
 * request, read-only for what the device reads.  Descriptors carry grant
 * addresses (1<<63 | offset; ref i grants page i).
 *
 * Per device, with its own backend:
 *   - i2c (-l sim:80): 64 EEPROM write / write-then-read round trips of
 *     16..128 bytes, every byte checked, an absent address answered ERR;
 *   - spi (-l loopback): transfers of 1 byte to 64 KiB, rx == tx checked;
 *   - read-only map calls at least one per request; no invalid or refused
 *     grant map, no bad unmap; once idle only the 3 vrings mapped;
 *   - after the guest left: every gnttab handle closed, nothing alive or
 *     leaked, maps == unmaps; the backend exits 0 on SIGTERM (under ASan:
 *     no leaks).
 *
 * Exit status: 0 pass, 1 fail, 77 skip (no /proc/self/fd access, which the
 * shim needs to open our memfd).
 */
#include "config.h"

#include <errno.h>
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
#include "vhu-i2c.h"
#include "vhu-spi.h"
#include "xen-fx.h"
#include "xen-rig.h"

#define NRINGS 3u               /* one queue: desc, avail, used */
/* Every wait's failure bound, never a pass condition. */
#define T_MS 30000

#define EXPECT(cond, ...) do { \
	if (!(cond)) { \
		fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
		fprintf(stderr, __VA_ARGS__); \
		fputc('\n', stderr); \
		goto out; \
	} \
} while (0)

/* ---- the devices' traffic ------------------------------------------------- */

/* Returns the number of requests sent, or -1. */
static int i2c_traffic(struct vhu_i2c *d)
{
	uint8_t w[129], back[128], ptr;
	int reqs = 0;

	for (unsigned r = 0; r < 64; r++) {
		unsigned len = 16 + (r * 37) % 113;
		struct vhu_i2c_msg wm = { .addr = 0x50, .len = len + 1, .buf = w };
		struct vhu_i2c_msg rm[2] = {
			{ .addr = 0x50, .len = 1, .buf = &ptr },
			{ .addr = 0x50, .read = true, .len = len, .buf = back },
		};

		w[0] = ptr = (uint8_t)(r * 3);
		for (unsigned i = 1; i <= len; i++)
			w[i] = (uint8_t)(r * 11 + i);
		memset(back, 0, sizeof(back));
		EXPECT(vhu_i2c_transfer(d, &wm, 1, T_MS) == 1, "round %u: write: %s", r,
		       vhu_i2c_error(d));
		EXPECT(vhu_i2c_transfer(d, rm, 2, T_MS) == 2, "round %u: read: %s", r,
		       vhu_i2c_error(d));
		EXPECT(memcmp(back, w + 1, len) == 0, "round %u: %u bytes read back differ", r, len);
		reqs += 3;
	}
	struct vhu_i2c_msg absent = { .addr = 0x51, .len = 1, .buf = &ptr };
	EXPECT(vhu_i2c_transfer(d, &absent, 1, T_MS) == 0 && absent.status == 1,
	       "absent address: status %u", absent.status);
	return reqs + 1;
out:
	return -1;
}

static int spi_traffic(struct vhu_spi *d)
{
	static const uint32_t lens[] = { 1, 3, 64, 4095, 4096, 4097, 20000, 65536 };
	uint8_t *tx = malloc(65536), *rx = malloc(65536);
	int reqs = -1;

	EXPECT(tx && rx, "memory");
	for (unsigned i = 0; i < 65536; i++)
		tx[i] = (uint8_t)(i * 13 + 5);
	reqs = 0;
	for (unsigned l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
		struct vhu_spi_xfer x = { .bits_per_word = 8, .mode = l & 3, .freq = 1000000,
					  .tx = tx, .rx = rx, .len = lens[l] };
		int r;

		memset(rx, 0, lens[l]);
		r = vhu_spi_submit(d, &x, 1, T_MS);
		EXPECT(r == 0 && x.result == 0, "%u bytes: %s, result %u", lens[l],
		       r ? vhu_spi_error(d) : "", x.result);
		EXPECT(memcmp(rx, tx, lens[l]) == 0, "%u bytes: rx differs from tx", lens[l]);
		reqs++;
	}
	free(tx);
	free(rx);
	return reqs;
out:
	free(tx);
	free(rx);
	return -1;
}

/* ---- one device ------------------------------------------------------------ */

static int run(const char *dev)
{
	bool i2c = strcmp(dev, "i2c") == 0;
	struct backend b = { 0 };
	struct fx x;
	struct xen_rig rig = { .x = &x, .nvq = 1, .pieces = 16 };
	struct vhu_i2c *di = NULL;
	struct vhu_spi *ds = NULL;
	char base[128], sock[140], binary[32], err[512] = "";
	const char *args[] = { "-s", base, "-l", i2c ? "sim:80" : "loopback", "--xen", "on", NULL };
	const char *wait_for[] = { sock, NULL };
	uint64_t ro0;
	bool inited = false;
	int r, reqs, st, ret = -1;

	r = fx_create(&x);
	EXPECT(r == 0, "fake Xen files: %s", strerror(-r));
	EXPECT(backend_init(&b) == 0, "backend directory");
	inited = true;
	backend_file(&b, "d.sock", base, sizeof(base));
	snprintf(sock, sizeof(sock), "%s0", base);
	snprintf(binary, sizeof(binary), "vhost-device-%s", dev);
	fx_env_push(&x);
	r = backend_spawn(&b, binary, args, wait_for);
	fx_env_pop(&x);
	EXPECT(r == 0, "starting %s: %s", binary, strerror(-r));

	if (i2c) {
		struct vhu_i2c_opts o;

		vhu_i2c_defaults(&o, sock);
		o.connect_ms = T_MS;
		o.xen_mmap = true;
		o.send_mem = xen_rig_send_mem;
		o.send_mem_opaque = &rig;
		r = vhu_i2c_open(&o, &di, err, sizeof(err));
	} else {
		struct vhu_spi_opts o = { .path = sock, .connect_ms = T_MS, .xen_mmap = true,
					  .send_mem = xen_rig_send_mem, .send_mem_opaque = &rig };

		r = vhu_spi_open(&o, &ds, err, sizeof(err));
	}
	EXPECT(r == 0, "opening the %s driver over grant memory: %s", dev, err);
	EXPECT(rig.n > 8, "only %u regions", rig.n);
	EXPECT(xen_rig_wait_live(&x, NRINGS), "after open: %llu grant mappings alive, want the %u vrings",
	       (unsigned long long)fx_ld(&x.st->gnt_live), NRINGS);
	ro0 = fx_ld(&x.st->gnt_ro_maps);
	reqs = i2c ? i2c_traffic(di) : spi_traffic(ds);
	if (reqs < 0)
		goto out;
	EXPECT(xen_rig_wait_live(&x, NRINGS), "idle: %llu grant mappings alive, want the %u vrings",
	       (unsigned long long)fx_ld(&x.st->gnt_live), NRINGS);
	/* Every request's readable part (header, write data) mapped
	 * read-only, per request. */
	EXPECT(fx_ld(&x.st->gnt_ro_maps) - ro0 >= (uint64_t)reqs,
	       "%llu read-only map calls for %d requests",
	       (unsigned long long)(fx_ld(&x.st->gnt_ro_maps) - ro0), reqs);
	EXPECT(xen_rig_check_maps(&x) == 0, "bad grant maps or unmaps");
	printf("%s: %d requests over %u grant regions, %llu map calls (%llu read-only)\n", dev,
	       reqs, rig.n, (unsigned long long)fx_ld(&x.st->gnt_maps),
	       (unsigned long long)fx_ld(&x.st->gnt_ro_maps));
	vhu_i2c_close(di);
	vhu_spi_close(ds);
	di = NULL;
	ds = NULL;
	EXPECT(xen_rig_check_closed(&x) == 0, "grant mappings after the guest left");
	EXPECT(backend_alive(&b), "backend died");
	ret = 0;
out:
	vhu_i2c_close(di);
	vhu_spi_close(ds);
	if (inited) {
		st = backend_stop(&b);
		if (st != 0 && ret == 0) {
			fprintf(stderr, "FAIL: %s exit status %d on SIGTERM\n", dev, st);
			ret = -1;
		}
	}
	fx_destroy(&x);
	return ret;
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	if (access("/proc/self/fd", R_OK) < 0) {
		fprintf(stderr, "SKIP: no /proc/self/fd\n");
		return 77;
	}
	if (run("i2c") < 0 || run("spi") < 0)
		return 1;
	printf("i2c and spi over Xen grant mappings: all checks passed\n");
	return 0;
}
