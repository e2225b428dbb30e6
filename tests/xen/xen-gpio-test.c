/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Integration test of vhost-device-gpio over Xen grant mappings, without
 * Xen: the real binary runs with the fake libxen (tests/xen/libfakexen.so,
 * LD_PRELOAD, set up by xen-fx.c as for xen-i2c-spi-test) on a simulated
 * chip (-l s8 --sim-socket), and this program plays the Xen frontend and
 * the guest's driver (libvhu-frontend's tools/vhu-gpio.h, opened with its
 * xen_mmap/send_mem options).
 *
 * Memory as xen-vhost-frontend describes it: XEN_MMAP acked, one grant
 * region (flags 0x2, mapped once) per vring of both queues at its exact
 * address and size, the rest of the guest memory as no-advance grant
 * regions (0xA) cut into 1/16ths, so that every request's buffers are
 * mapped per request.  Descriptors carry grant addresses (1<<63 | offset).
 *
 * Checked:
 *   - the line names; 64 rounds of set value / output / read back, the
 *     pin seen through the control socket; errors answered ERR;
 *   - interrupts: a rising edge, a level-high interrupt, and a buffer held
 *     across idle time (its grants stay mapped while held: more than the 6
 *     vrings alive) returned INVALID when the interrupt is disabled (back
 *     to the 6 vrings);
 *   - no invalid or refused grant map, no bad unmap; after the guest left
 *     every gnttab handle closed, nothing alive or leaked, maps == unmaps;
 *     the backend exits 0 on SIGTERM (under ASan: no leaks).
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
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "vhu-frontend.h"
#include "vhu-gpio.h"
#include "xen-fx.h"
#include "xen-rig.h"

#define NRINGS 6u               /* two queues: desc, avail, used each */
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

/* ---- the simulated chip's control socket ----------------------------------- */

/* One command; the answer (without newline) in ans.  0 or -1. */
static int ctl(const char *path, const char *cmd, char *ans, size_t len)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	size_t got = 0;

	if (fd < 0)
		return -1;
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    write(fd, cmd, strlen(cmd)) != (ssize_t)strlen(cmd) || write(fd, "\n", 1) != 1) {
		close(fd);
		return -1;
	}
	while (got + 1 < len) {
		ssize_t n = read(fd, ans + got, len - 1 - got);

		if (n <= 0)
			break;
		got += (size_t)n;
		if (ans[got - 1] == '\n')
			break;
	}
	close(fd);
	if (got == 0 || ans[got - 1] != '\n')
		return -1;
	ans[got - 1] = 0;
	return 0;
}

/* ---- the traffic ------------------------------------------------------------ */

static bool req_ok(struct vhu_gpio *d, uint16_t type, uint16_t line, uint32_t value,
		   uint8_t want_status, uint8_t *value_out)
{
	uint8_t st = 0xee;

	return vhu_gpio_request(d, type, line, value, &st, value_out, T_MS) == 0 &&
	       st == want_status;
}

static bool irq_got(struct vhu_gpio *d, uint32_t line, uint8_t status)
{
	uint32_t got;
	uint8_t st;

	return vhu_gpio_irq_wait(d, T_MS, &got, &st) == 0 && got == line && st == status;
}

/* Returns the number of requests sent, or -1. */
static int traffic(struct vhu_gpio *d, const char *ctlpath, struct fx *x)
{
	const char **names;
	char cmd[64], ans[64];
	uint8_t st, v;
	int reqs = 0;

	EXPECT(vhu_gpio_ngpio(d) == 8, "%u lines", vhu_gpio_ngpio(d));
	EXPECT(vhu_gpio_line_names(d, &st, &names, T_MS) == 0 && st == 0, "names: %s",
	       vhu_gpio_error(d));
	EXPECT(!strcmp(names[0], "sim-0") && !strcmp(names[7], "sim-7"), "names %s %s",
	       names[0], names[7]);
	reqs++;
	for (unsigned r = 0; r < 64; r++) {
		uint16_t line = (uint16_t)(r % 8);
		uint8_t val = (uint8_t)((r / 8) & 1);

		EXPECT(req_ok(d, VHU_GPIO_SET_VALUE, line, val, 0, NULL), "round %u: set value", r);
		EXPECT(req_ok(d, VHU_GPIO_SET_DIRECTION, line, VHU_GPIO_DIR_OUT, 0, NULL),
		       "round %u: output", r);
		EXPECT(req_ok(d, VHU_GPIO_GET_VALUE, line, 0, 0, &v) && v == val,
		       "round %u: read back %u", r, v);
		snprintf(cmd, sizeof(cmd), "get %u", line);
		EXPECT(ctl(ctlpath, cmd, ans, sizeof(ans)) == 0 && ans[0] == '0' + val,
		       "round %u: pin %s", r, ans);
		EXPECT(req_ok(d, VHU_GPIO_SET_VALUE, line, 2, 1, NULL), "round %u: value 2", r);
		reqs += 4;
	}
	for (uint16_t line = 0; line < 8; line++) {
		EXPECT(req_ok(d, VHU_GPIO_SET_DIRECTION, line, VHU_GPIO_DIR_NONE, 0, NULL), "none");
		reqs++;
	}

	/* A rising edge. */
	EXPECT(ctl(ctlpath, "set 3 0", ans, sizeof(ans)) == 0, "control");
	EXPECT(req_ok(d, VHU_GPIO_SET_DIRECTION, 3, VHU_GPIO_DIR_IN, 0, NULL), "input");
	EXPECT(req_ok(d, VHU_GPIO_SET_IRQ_TYPE, 3, VHU_GPIO_IRQ_EDGE_RISING, 0, NULL), "irq");
	EXPECT(vhu_gpio_irq_unmask(d, 3) == 0, "unmask");
	EXPECT(ctl(ctlpath, "set 3 1", ans, sizeof(ans)) == 0, "control");
	EXPECT(irq_got(d, 3, VHU_GPIO_IRQ_VALID), "rising edge: %s", vhu_gpio_error(d));
	EXPECT(req_ok(d, VHU_GPIO_SET_IRQ_TYPE, 3, VHU_GPIO_IRQ_NONE, 0, NULL), "irq off");
	/* Level high, the line high: fires at the unmask. */
	EXPECT(req_ok(d, VHU_GPIO_SET_IRQ_TYPE, 3, VHU_GPIO_IRQ_LEVEL_HIGH, 0, NULL), "irq");
	EXPECT(vhu_gpio_irq_unmask(d, 3) == 0, "unmask");
	EXPECT(irq_got(d, 3, VHU_GPIO_IRQ_VALID), "level high: %s", vhu_gpio_error(d));
	/* Held across idle time: its grants stay mapped, then INVALID. */
	EXPECT(ctl(ctlpath, "set 3 0", ans, sizeof(ans)) == 0, "control");
	EXPECT(vhu_gpio_irq_unmask(d, 3) == 0, "unmask");
	EXPECT(req_ok(d, VHU_GPIO_GET_VALUE, 3, 0, 0, &v) && v == 0, "line low");
	EXPECT(fx_ld(&x->st->gnt_live) > NRINGS, "a held buffer: %llu grant mappings alive",
	       (unsigned long long)fx_ld(&x->st->gnt_live));
	EXPECT(req_ok(d, VHU_GPIO_SET_IRQ_TYPE, 3, VHU_GPIO_IRQ_NONE, 0, NULL), "irq off");
	EXPECT(irq_got(d, 3, VHU_GPIO_IRQ_INVALID), "disabled: %s", vhu_gpio_error(d));
	EXPECT(xen_rig_wait_live(x, NRINGS), "after the held buffer: %llu grant mappings alive",
	       (unsigned long long)fx_ld(&x->st->gnt_live));
	return reqs + 10;
out:
	return -1;
}

static int run(void)
{
	struct backend b = { 0 };
	struct fx x;
	struct xen_rig rig = { .x = &x, .nvq = 2, .pieces = 16 };
	struct vhu_gpio *d = NULL;
	struct vhu_gpio_opts o;
	char base[128], sock[140], ctlbase[128], ctlpath[140], err[512] = "";
	const char *args[] = { "-s", base, "-l", "s8", "--sim-socket", ctlbase, "--xen", "on",
			       NULL };
	const char *wait_for[] = { sock, NULL };
	bool inited = false;
	int r, reqs, st, ret = -1;

	r = fx_create(&x);
	EXPECT(r == 0, "fake Xen files: %s", strerror(-r));
	EXPECT(backend_init(&b) == 0, "backend directory");
	inited = true;
	backend_file(&b, "d.sock", base, sizeof(base));
	backend_file(&b, "ctl", ctlbase, sizeof(ctlbase));
	snprintf(sock, sizeof(sock), "%s0", base);
	snprintf(ctlpath, sizeof(ctlpath), "%s0", ctlbase);
	fx_env_push(&x);
	r = backend_spawn(&b, "vhost-device-gpio", args, wait_for);
	fx_env_pop(&x);
	EXPECT(r == 0, "starting vhost-device-gpio: %s", strerror(-r));

	vhu_gpio_defaults(&o, sock);
	o.connect_ms = T_MS;
	o.xen_mmap = true;
	o.send_mem = xen_rig_send_mem;
	o.send_mem_opaque = &rig;
	r = vhu_gpio_open(&o, &d, err, sizeof(err));
	EXPECT(r == 0, "opening the gpio driver over grant memory: %s", err);
	EXPECT(rig.n > 8, "only %u regions", rig.n);
	EXPECT(xen_rig_wait_live(&x, NRINGS), "after open: %llu grant mappings alive, want the %u vrings",
	       (unsigned long long)fx_ld(&x.st->gnt_live), NRINGS);
	reqs = traffic(d, ctlpath, &x);
	if (reqs < 0)
		goto out;
	EXPECT(xen_rig_check_maps(&x) == 0, "bad grant maps or unmaps");
	printf("gpio: %d requests over %u grant regions, %llu map calls (%llu read-only)\n",
	       reqs, rig.n, (unsigned long long)fx_ld(&x.st->gnt_maps),
	       (unsigned long long)fx_ld(&x.st->gnt_ro_maps));
	vhu_gpio_close(d);
	d = NULL;
	EXPECT(xen_rig_check_closed(&x) == 0, "grant mappings after the guest left");
	EXPECT(backend_alive(&b), "backend died");
	ret = 0;
out:
	vhu_gpio_close(d);
	if (inited) {
		st = backend_stop(&b);
		if (st != 0 && ret == 0) {
			fprintf(stderr, "FAIL: gpio exit status %d on SIGTERM\n", st);
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
	printf("gpio over Xen grant mappings: all checks passed\n");
	return 0;
}
