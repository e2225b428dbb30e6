/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Integration test of vhost-device-scmi over Xen grant mappings (Xen on
 * Arm is where SCMI is used), without Xen: the real binary runs with the
 * fake libxen (tests/xen/libfakexen.so, LD_PRELOAD, set up by xen-fx.c as
 * for the other Xen tests) and this program plays the Xen frontend and the
 * guest's SCMI agent (libvhu-frontend's tools/vhu-scmi.h, opened with its
 * xen_mmap/send_mem options).
 *
 * Memory as xen-vhost-frontend describes it: XEN_MMAP acked, one grant
 * region (flags 0x2, mapped once) per vring of both queues at its exact
 * address and size, the rest of the guest memory as no-advance grant
 * regions (0xA) cut into 1/16ths, so that every request's buffers are
 * mapped and unmapped per request, read-only for what the device reads.
 * Descriptors carry grant addresses (1<<63 | offset; ref i grants page i).
 *
 * With two fake sensors (-d fake,name=acc -d fake,name=gyro):
 *   - the sensors listed (descriptions and axes paged through), each read
 *     64 times with the fake's values, every value checked;
 *   - read-only map calls at least one per command; no invalid or refused
 *     grant map, no bad unmap; once idle only the 6 vrings mapped;
 *   - continuous updates into held event buffers (grant-mapped while
 *     held): 8 notifications with rising values;
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
#include <unistd.h>

#include "backend.h"
#include "vhu-frontend.h"
#include "vhu-scmi.h"
#include "xen-fx.h"
#include "xen-rig.h"

#define NQUEUES 2u
#define NRINGS (3u * NQUEUES)   /* desc, avail, used of cmdq and eventq */
#define T_MS XEN_RIG_T_MS

#define EXPECT(cond, ...) do { \
	if (!(cond)) { \
		fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
		fprintf(stderr, __VA_ARGS__); \
		fputc('\n', stderr); \
		goto out; \
	} \
} while (0)

/* ---- the agent's traffic ------------------------------------------------- */

/* Returns the number of commands sent, or -1. */
static int scmi_traffic(struct vhu_scmi *d)
{
	struct vhu_scmi_sensor *s = NULL;
	struct vhu_scmi_reading rd[3];
	unsigned n;
	int32_t st;
	int reqs = 0;

	EXPECT(vhu_scmi_sensors(d, &s, &n, T_MS) == 0, "sensors: %s", vhu_scmi_error(d));
	EXPECT(n == 2 && !strcmp(s[0].name, "acc") && !strcmp(s[1].name, "gyro") &&
	       s[0].num_axes == 3 && !strcmp(s[1].axis[2].name, "gyro_Z"),
	       "%u sensors, not acc and gyro with 3 axes", n);
	/* attributes, 1 description page, 2 axis pages per sensor */
	reqs += 1 + 1 + 2 * 2;
	for (int64_t k = 0; k < 64; k++)
		for (uint32_t id = 0; id < 2; id++) {
			EXPECT(vhu_scmi_read(d, id, rd, 3, &n, &st, T_MS) == 0 && st == 0 && n == 3,
			       "reading %lld of sensor %u: status %d, %u values", (long long)k, id,
			       st, n);
			EXPECT(rd[0].value == k && rd[1].value == 1000 + k && rd[2].value == 2000 + k,
			       "reading %lld of sensor %u: %lld %lld %lld", (long long)k, id,
			       (long long)rd[0].value, (long long)rd[1].value,
			       (long long)rd[2].value);
			reqs++;
		}
	free(s);
	return reqs;
out:
	free(s);
	return -1;
}

/* 8 continuous updates of sensor 1 through held event buffers. */
static int scmi_updates(struct vhu_scmi *d)
{
	/* 10 x 10^-3 s, timestamps and sensor enabled; notifications on */
	uint32_t cfg[2] = { 1, 10u << 16 | 0x1du << 11 | 3 }, on[2] = { 1, 1 }, len;
	uint8_t ev[VHU_SCMI_RESP_SIZE];
	int64_t last = -1, x;
	int32_t st;

	EXPECT(vhu_scmi_post_events(d, 4, sizeof(ev)) == 0, "event buffers");
	EXPECT(vhu_scmi_cmd(d, VHU_SCMI_PROTO_SENSOR, 0xa, cfg, 2, &st, NULL, 0, NULL, T_MS) == 0 &&
	       st == 0, "CONFIG_SET: %d", st);
	EXPECT(vhu_scmi_cmd(d, VHU_SCMI_PROTO_SENSOR, 0xb, on, 2, &st, NULL, 0, NULL, T_MS) == 0 &&
	       st == 0, "CONTINUOUS_UPDATE_NOTIFY: %d", st);
	for (unsigned i = 0; i < 8; i++) {
		EXPECT(vhu_scmi_next_event(d, ev, sizeof(ev), &len, T_MS) == 0,
		       "update %u: %s", i, vhu_scmi_error(d));
		EXPECT(len == 12 + 48 && ev[8] == 1, "update %u: %u bytes, sensor %u", i, len, ev[8]);
		memcpy(&x, ev + 12, 8);
		EXPECT(x > last, "update %u: %lld after %lld", i, (long long)x, (long long)last);
		last = x;
	}
	return 0;
out:
	return -1;
}

/* ---- one device ------------------------------------------------------------ */

static int run(void)
{
	struct backend b = { 0 };
	struct fx x;
	/* xen-vhost-frontend's table (xen-rig.h): the 6 vrings in advance,
	 * the rest in 16 no-advance pieces. */
	struct xen_rig xc = { .x = &x, .nvq = NQUEUES };
	struct vhu_scmi *d = NULL;
	struct vhu_scmi_opts o;
	char base[128], err[512] = "";
	const char *args[] = { "-s", base, "-d", "fake,name=acc", "-d", "fake,name=gyro",
			       "--xen", "on", NULL };
	const char *wait_for[] = { base, NULL };
	uint64_t ro0;
	bool inited = false;
	int r, reqs, st, ret = -1;

	r = fx_create(&x);
	EXPECT(r == 0, "fake Xen files: %s", strerror(-r));
	EXPECT(backend_init(&b) == 0, "backend directory");
	inited = true;
	backend_file(&b, "d.sock", base, sizeof(base));
	fx_env_push(&x);
	r = backend_spawn(&b, "vhost-device-scmi", args, wait_for);
	fx_env_pop(&x);
	EXPECT(r == 0, "starting vhost-device-scmi: %s", strerror(-r));

	vhu_scmi_defaults(&o, base);
	o.connect_ms = T_MS;
	o.xen_mmap = true;
	o.send_mem = xen_rig_send_mem;
	o.send_mem_opaque = &xc;
	r = vhu_scmi_open(&o, &d, err, sizeof(err));
	EXPECT(r == 0, "opening the scmi agent over grant memory: %s", err);
	EXPECT(xc.n > 8, "only %u regions", xc.n);
	EXPECT(xen_rig_wait_live(&x, NRINGS), "after open: %llu grant mappings alive, want the %u vrings",
	       (unsigned long long)fx_ld(&x.st->gnt_live), NRINGS);
	ro0 = fx_ld(&x.st->gnt_ro_maps);
	reqs = scmi_traffic(d);
	if (reqs < 0)
		goto out;
	EXPECT(xen_rig_wait_live(&x, NRINGS), "idle: %llu grant mappings alive, want the %u vrings",
	       (unsigned long long)fx_ld(&x.st->gnt_live), NRINGS);
	/* Every command mapped read-only, per command. */
	EXPECT(fx_ld(&x.st->gnt_ro_maps) - ro0 >= (uint64_t)reqs,
	       "%llu read-only map calls for %d commands",
	       (unsigned long long)(fx_ld(&x.st->gnt_ro_maps) - ro0), reqs);
	if (scmi_updates(d) < 0)
		goto out;
	EXPECT(xen_rig_check_maps(&x) == 0, "bad grant maps or unmaps");
	printf("scmi: %d commands and 8 updates over %u grant regions, %llu map calls "
	       "(%llu read-only)\n", reqs, xc.n, (unsigned long long)fx_ld(&x.st->gnt_maps),
	       (unsigned long long)fx_ld(&x.st->gnt_ro_maps));
	/* The guest leaves with event buffers held. */
	vhu_scmi_close(d);
	d = NULL;
	EXPECT(xen_rig_check_closed(&x) == 0, "after the guest left");
	EXPECT(backend_alive(&b), "backend died");
	ret = 0;
out:
	vhu_scmi_close(d);
	if (inited) {
		st = backend_stop(&b);
		if (st != 0 && ret == 0) {
			fprintf(stderr, "FAIL: scmi exit status %d on SIGTERM\n", st);
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
	if (run() < 0)
		return 1;
	printf("scmi over Xen grant mappings: all checks passed\n");
	return 0;
}
