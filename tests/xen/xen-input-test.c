/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Integration test of vhost-device-input over Xen grant mappings, without
 * Xen: the real binary replays the keyboard recording
 * (tests/integration/test-input-keyboard.evemu) with the fake libxen
 * (tests/xen/libfakexen.so, LD_PRELOAD, set up by xen-fx.c) and this
 * program plays the Xen frontend (the grant table of xen-rig.h: the six
 * vrings of the two queues as in-advance regions, the rest in sixteen
 * no-advance pieces) and the guest's virtio-input driver
 * (tools/vhu-input.h, opened with its xen_mmap/send_mem options).
 *
 * Checked (virtio 1.2, 5.8.6 "Device Operation"):
 *   - the recording's 9 events, in order, reach the event buffers the
 *     guest posted in grant-mapped memory, whole reports, no report
 *     dropped (the backend's log);
 *   - a status event (EV_LED LED_CAPSL 1) written by the guest reaches
 *     the backend through a read-only grant map;
 *   - no invalid or refused grant map, no bad unmap;
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
#include "vhu-input.h"
#include "xen-fx.h"
#include "xen-rig.h"

#define NQ 2u                   /* event, status */
#define NRINGS (3u * NQ)
#define T_MS XEN_RIG_T_MS

#define EV_SYN 0
#define EV_KEY 1
#define EV_MSC 4
#define EV_LED 0x11
#define SYN_REPORT 0
#define KEY_ENTER 28
#define KEY_A 30
#define LED_CAPSL 1

#define EXPECT(cond, ...) do { \
	if (!(cond)) { \
		fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
		fprintf(stderr, __VA_ARGS__); \
		fputc('\n', stderr); \
		goto out; \
	} \
} while (0)

/* The keyboard recording: 9 events, 4 reports. */
static const struct vhu_input_event keyboard[] = {
	{ EV_MSC, 4, 30 }, { EV_KEY, KEY_A, 1 }, { EV_SYN, SYN_REPORT, 0 },
	{ EV_KEY, KEY_A, 0 }, { EV_SYN, SYN_REPORT, 0 },
	{ EV_KEY, KEY_ENTER, 1 }, { EV_SYN, SYN_REPORT, 0 },
	{ EV_KEY, KEY_ENTER, 0 }, { EV_SYN, SYN_REPORT, 0 },
};
#define NEV (sizeof(keyboard) / sizeof(keyboard[0]))

static int events(struct vhu_input *d)
{
	struct vhu_input_event ev[NEV];
	unsigned got = 0;
	int64_t t0 = xen_rig_now_ms();

	EXPECT(vhu_input_post(d, 32) == 32, "posting 32 event buffers");
	while (got < NEV) {
		int r = vhu_input_read(d, ev + got, NEV - got, 1000);

		EXPECT(r >= 0, "read: %d %s", r, vhu_input_error(d));
		got += (unsigned)r;
		EXPECT(xen_rig_now_ms() - t0 < T_MS, "only %u of %zu events", got, NEV);
	}
	for (unsigned i = 0; i < NEV; i++)
		EXPECT(ev[i].type == keyboard[i].type && ev[i].code == keyboard[i].code &&
		       ev[i].value == keyboard[i].value, "event %u: %u/%u/%d, expected %u/%u/%d", i,
		       ev[i].type, ev[i].code, ev[i].value, keyboard[i].type, keyboard[i].code,
		       keyboard[i].value);
	return 0;
out:
	return -1;
}

int main(void)
{
	struct backend b = { 0 };
	struct fx x;
	struct xen_rig rig = { .x = &x, .nvq = NQ, .pieces = 16 };
	struct vhu_input_opts o;
	struct vhu_input *d = NULL;
	const char *src = getenv("VHD_SRCDIR");
	char rec[512], sock[160], err[512] = "";
	const char *args[] = { "-v", "-e", rec, "--xen", "on", NULL };
	bool started = false;
	uint64_t ro0;
	int r, st, ret = 1;

	signal(SIGPIPE, SIG_IGN);
	if (access("/proc/self/fd", R_OK) < 0) {
		fprintf(stderr, "SKIP: no /proc/self/fd\n");
		return 77;
	}
	snprintf(rec, sizeof(rec), "%s/tests/integration/test-input-keyboard.evemu",
		 src ? src : "..");
	r = fx_create(&x);
	EXPECT(r == 0, "fake Xen files: %s", strerror(-r));
	fx_env_push(&x);
	r = backend_start(&b, "vhost-device-input", true, 1, args);
	fx_env_pop(&x);
	EXPECT(r == 0, "starting vhost-device-input: %s", strerror(-r));
	started = true;
	backend_socket(&b, true, 0, sock, sizeof(sock));

	vhu_input_defaults(&o, sock);
	o.connect_ms = T_MS;
	o.xen_mmap = true;
	o.send_mem = xen_rig_send_mem;
	o.send_mem_opaque = &rig;
	r = vhu_input_open(&o, &d, err, sizeof(err));
	EXPECT(r == 0, "opening the input driver over grant memory: %s", err);
	EXPECT(rig.n > 16, "only %u regions", rig.n);
	EXPECT(xen_rig_wait_live(&x, NRINGS), "after open: %llu grant mappings alive, want the %u vrings",
	       (unsigned long long)fx_ld(&x.st->gnt_live), NRINGS);

	if (events(d) < 0)
		goto out;
	EXPECT(backend_wait_log(&b, "finished: 9 events, 0 reports dropped", T_MS) == 0,
	       "the backend did not report the whole recording delivered");

	/* The status buffer is device-readable: mapped read-only. */
	ro0 = fx_ld(&x.st->gnt_ro_maps);
	EXPECT(vhu_input_status(d, EV_LED, LED_CAPSL, 1, T_MS) == 0, "status: %s",
	       vhu_input_error(d));
	EXPECT(backend_wait_log(&b, "status from the guest: EV_LED LED_CAPSL = 1", T_MS) == 0,
	       "the status event did not reach the backend");
	EXPECT(fx_ld(&x.st->gnt_ro_maps) > ro0, "the status buffer was not mapped read-only");
	EXPECT(xen_rig_check_maps(&x) == 0, "bad grant maps or unmaps");
	printf("input: %zu events and 1 status over %u grant regions, %llu map calls (%llu read-only)\n",
	       NEV, rig.n, (unsigned long long)fx_ld(&x.st->gnt_maps),
	       (unsigned long long)fx_ld(&x.st->gnt_ro_maps));
	vhu_input_close(d);
	d = NULL;
	EXPECT(xen_rig_check_closed(&x) == 0, "grant mappings after the guest left");
	EXPECT(backend_alive(&b), "backend died");
	ret = 0;
out:
	vhu_input_close(d);
	if (started) {
		st = backend_stop(&b);
		if (st != 0 && ret == 0) {
			fprintf(stderr, "FAIL: vhost-device-input exit status %d on SIGTERM\n", st);
			ret = 1;
		}
	}
	fx_destroy(&x);
	if (ret == 0)
		printf("input over Xen grant mappings: all checks passed\n");
	return ret;
}
