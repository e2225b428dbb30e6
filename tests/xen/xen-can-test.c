/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Integration test of vhost-device-can over Xen grant mappings, without
 * Xen and without SocketCAN: the real binary runs with the fake libxen
 * (tests/xen/libfakexen.so, set up by xen-fx.c as for the other Xen tests)
 * and, through tests/integration/test-can-fakeif, the shim that fakes the
 * CAN interface "fakecan0" at the system-call layer: its raw socket is a
 * Unix SEQPACKET socket connected to the bus this program plays.  This
 * program is also the Xen frontend and the guest's driver (libvhu-
 * frontend's tools/vhu-can.h, opened with its xen_mmap/send_mem options).
 *
 * Memory as xen-vhost-frontend describes it (as xen-i2c-spi-test): one
 * grant region (0x2) per vring of the three queues, the rest no-advance
 * grant regions (0xA), so every request's buffers are mapped per request
 * -- rx buffers for as long as the device holds them.
 *
 * Checked: START connects the controller to the bus; classic, extended,
 * FD and RTR frames from the guest arrive on the bus byte for byte;
 * frames from the bus reach the guest's held rx buffers; tx requests'
 * readable parts mapped read-only; no invalid or refused grant map, no bad
 * unmap; after the guest left every mapping is gone and every handle
 * closed; the backend exits 0 on SIGTERM (under ASan: no leaks).
 *
 * Exit status: 0 pass, 1 fail, 77 skip (no /proc/self/fd access, which the
 * shim needs to open our memfd).
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <linux/can.h>

#include "backend.h"
#include "vhu-frontend.h"
#include "vhu-can.h"
#include "xen-fx.h"
#include "xen-rig.h"

#define NQUEUES 3u
#define NRINGS (3u * NQUEUES)   /* desc, avail, used of each queue */
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

/* ---- the bus ---------------------------------------------------------------- */

/* Listen where the shim connects fakecan0's socket (VHD_FAKECAN_BUS). */
static int bus_listen(const char *dir)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	snprintf(a.sun_path, sizeof(a.sun_path), "%s/fakecan0", dir);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 4) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static ssize_t bus_read(int fd, struct canfd_frame *f)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (poll(&p, 1, T_MS) != 1)
		return -1;
	return read(fd, f, sizeof(*f));
}

/* Returns the number of tx requests, or -1. */
static int traffic(struct vhu_can *d, int bus)
{
	static const struct { uint32_t id, flags; uint16_t len; } t[] = {
		{ 0x123, 0, 8 }, { 0x1abcdef0, VHU_CAN_FLAG_EXT, 5 }, { 0x321, VHU_CAN_FLAG_FD, 64 },
		{ 0x55, VHU_CAN_FLAG_RTR, 4 }, { 0x7ff, 0, 0 }, { 0x400, VHU_CAN_FLAG_FD, 12 },
	};
	int reqs = 0;

	for (unsigned r = 0; r < 8; r++)
		for (unsigned i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
			struct vhu_can_frame fr = { .can_id = t[i].id, .flags = t[i].flags, .len = t[i].len };
			struct canfd_frame f;
			uint32_t id = t[i].id | (t[i].flags & VHU_CAN_FLAG_EXT ? CAN_EFF_FLAG : 0) |
				      (t[i].flags & VHU_CAN_FLAG_RTR ? CAN_RTR_FLAG : 0);
			bool fd = t[i].flags & VHU_CAN_FLAG_FD;
			uint8_t res = 0xee;
			ssize_t n;

			for (unsigned k = 0; k < 64; k++)
				fr.data[k] = (uint8_t)(r * 7 + i + k);
			EXPECT(vhu_can_send(d, &fr, &res, T_MS) == 0 && res == 0, "tx %u/%u: result %u %s",
			       r, i, res, vhu_can_error(d));
			n = bus_read(bus, &f);
			EXPECT(n == (ssize_t)(fd ? CANFD_MTU : CAN_MTU), "tx %u/%u: %zd bytes on the bus",
			       r, i, n);
			EXPECT(f.can_id == id && f.len == t[i].len, "tx %u/%u: id 0x%x len %u", r, i,
			       f.can_id, f.len);
			EXPECT((t[i].flags & VHU_CAN_FLAG_RTR) || memcmp(f.data, fr.data, f.len) == 0,
			       "tx %u/%u: data differs", r, i);
			reqs++;
		}
	for (unsigned r = 0; r < 48; r++) {
		struct canfd_frame f = { .can_id = 0x200 + r, .len = r % 2 ? 48 : 8 };
		size_t n = r % 2 ? CANFD_MTU : CAN_MTU;
		struct vhu_can_frame fr;

		for (unsigned k = 0; k < f.len; k++)
			f.data[k] = (uint8_t)(r + k * 3);
		EXPECT(write(bus, &f, n) == (ssize_t)n, "bus write");
		EXPECT(vhu_can_recv(d, &fr, T_MS) == 0, "rx %u: %s", r, vhu_can_error(d));
		EXPECT(fr.can_id == f.can_id && fr.len == f.len &&
		       fr.flags == (r % 2 ? VHU_CAN_FLAG_FD : 0u) && memcmp(fr.data, f.data, f.len) == 0,
		       "rx %u: id 0x%x len %u flags 0x%x", r, fr.can_id, fr.len, fr.flags);
	}
	return reqs;
out:
	return -1;
}

static int run(void)
{
	struct backend b = { 0 };
	struct fx x;
	struct xen_rig rig = { .x = &x, .nvq = NQUEUES, .pieces = 16 };
	struct vhu_can *d = NULL;
	char base[128], sock[140], err[512] = "";
	const char *args[] = { "-s", base, "-d", "fakecan0", "--xen", "on", NULL };
	const char *wait_for[] = { sock, NULL };
	struct pollfd p;
	uint8_t res = 0xee;
	uint64_t ro0;
	bool inited = false;
	int r, reqs, st, ret = -1, lis = -1, bus = -1;

	r = fx_create(&x);
	EXPECT(r == 0, "fake Xen files: %s", strerror(-r));
	EXPECT(backend_init(&b) == 0, "backend directory");
	inited = true;
	lis = bus_listen(b.dir);
	EXPECT(lis >= 0, "bus socket in %s: %s", b.dir, strerror(errno));
	backend_file(&b, "d.sock", base, sizeof(base));
	snprintf(sock, sizeof(sock), "%s0", base);
	setenv("VHD_FAKECAN_BUS", b.dir, 1);
	fx_env_push(&x);
	r = backend_spawn(&b, "tests/integration/test-can-fakeif", args, wait_for);
	fx_env_pop(&x);
	unsetenv("VHD_FAKECAN_BUS");
	EXPECT(r == 0, "starting vhost-device-can: %s", strerror(-r));

	struct vhu_can_opts o = { .path = sock, .connect_ms = T_MS, .xen_mmap = true,
				  .features = VHU_CAN_F_CLASSIC | VHU_CAN_F_FD | VHU_CAN_F_RTR,
				  .send_mem = xen_rig_send_mem, .send_mem_opaque = &rig };
	r = vhu_can_open(&o, &d, err, sizeof(err));
	EXPECT(r == 0, "opening the can driver over grant memory: %s", err);
	EXPECT(rig.n > 8, "only %u regions", rig.n);
	EXPECT(vhu_can_control(d, VHU_CAN_START, &res, T_MS) == 0 && res == 0,
	       "START: result %u %s", res, vhu_can_error(d));
	p = (struct pollfd){ .fd = lis, .events = POLLIN };
	EXPECT(poll(&p, 1, T_MS) == 1, "the controller did not connect to the bus");
	bus = accept(lis, NULL, NULL);
	EXPECT(bus >= 0, "accept: %s", strerror(errno));
	ro0 = fx_ld(&x.st->gnt_ro_maps);
	reqs = traffic(d, bus);
	if (reqs < 0)
		goto out;
	/* Every tx request's readable part (the message) mapped read-only. */
	EXPECT(fx_ld(&x.st->gnt_ro_maps) - ro0 >= (uint64_t)reqs,
	       "%llu read-only map calls for %d tx requests",
	       (unsigned long long)(fx_ld(&x.st->gnt_ro_maps) - ro0), reqs);
	EXPECT(xen_rig_check_maps(&x) == 0, "bad grant maps or unmaps");
	printf("can: %d tx and 48 rx frames over %u grant regions, %llu map calls (%llu read-only)\n",
	       reqs, rig.n, (unsigned long long)fx_ld(&x.st->gnt_maps),
	       (unsigned long long)fx_ld(&x.st->gnt_ro_maps));
	vhu_can_close(d);
	d = NULL;
	EXPECT(xen_rig_check_closed(&x) == 0, "grant mappings after the guest left");
	EXPECT(backend_alive(&b), "backend died");
	ret = 0;
out:
	vhu_can_close(d);
	if (bus >= 0)
		close(bus);
	if (lis >= 0)
		close(lis);
	if (inited) {
		st = backend_stop(&b);
		if (st != 0 && ret == 0) {
			fprintf(stderr, "FAIL: vhost-device-can exit status %d on SIGTERM\n", st);
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
	printf("can over Xen grant mappings: all checks passed\n");
	return 0;
}
