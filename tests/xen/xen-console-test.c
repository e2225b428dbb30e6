/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Integration test of vhost-device-console (-b network) over Xen grant
 * mappings, without Xen: the real binary runs with the fake libxen
 * (tests/xen/libfakexen.so, LD_PRELOAD, set up by xen-fx.c) and this
 * program plays the Xen frontend (the grant table of xen-rig.h: the twelve
 * vrings of the four queues as in-advance regions, the rest in eighths as
 * no-advance pieces) and the guest's virtio-console driver
 * (tools/vhu-console.h, opened with its xen_mmap/send_mem options), so
 * every buffer is mapped and unmapped per request.
 *
 * Checked (virtio 1.2, 5.3.6.2 "Multiport Device Operation"):
 *   - the multiport set-up through grant-mapped control buffers:
 *     DEVICE_READY answered by DEVICE_ADD, PORT_READY by CONSOLE_PORT and
 *     PORT_NAME "console0", a TCP client's connect by PORT_OPEN;
 *   - 64 KiB host -> guest into 4 KiB receive buffers and 64 KiB guest ->
 *     host in 4 KiB transmit buffers, every byte checked;
 *   - at least one read-only map per transmit buffer (what the device
 *     reads is mapped read-only); no invalid or refused grant map;
 *   - after the guest left: every gnttab handle closed, nothing alive or
 *     leaked, maps == unmaps, no bad unmap; the backend exits 0 on
 *     SIGTERM (under ASan: no leaks).
 *
 * Exit status: 0 pass, 1 fail, 77 skip (no /proc/self/fd access, which the
 * shim needs to open our memfd).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "backend.h"
#include "vhu-console.h"
#include "vhu-frontend.h"
#include "xen-fx.h"
#include "xen-rig.h"

#define NQ 4u                   /* port 0 rx/tx, control rx/tx */
#define NRINGS (3u * NQ)
#define T_MS XEN_RIG_T_MS
#define BIG (64u << 10)
#define BUF 4096u

#define EXPECT(cond, ...) do { \
	if (!(cond)) { \
		fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
		fprintf(stderr, __VA_ARGS__); \
		fputc('\n', stderr); \
		goto out; \
	} \
} while (0)

/* Not test-console's range (20000 + pid % 20000): both may run at once. */
static int tcp_port(void)
{
	return 40000 + (int)(getpid() % 20000);
}

static int tcp_connect(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* The next control message is (event, value) for port 0. */
static bool ctrl_is(struct vhu_console *d, uint16_t event, uint16_t value,
		    struct vhu_console_msg *m)
{
	if (vhu_console_recv(d, m, T_MS) != 1)
		return false;
	if (m->id != 0 || m->event != event || m->value != value) {
		fprintf(stderr, "control message port %u event %u value %u, expected %u/%u\n",
			m->id, m->event, m->value, event, value);
		return false;
	}
	return true;
}

static int handshake(struct vhu_console *d)
{
	struct vhu_console_msg m;
	uint16_t cols, rows;
	uint32_t ports = 0;

	EXPECT(vhu_console_config(d, &cols, &rows, &ports) == 0 && ports == 1, "config: %u ports",
	       ports);
	EXPECT(vhu_console_send(d, 0, VHU_CON_DEVICE_READY, 1, T_MS) == 0, "DEVICE_READY");
	EXPECT(ctrl_is(d, VHU_CON_DEVICE_ADD, 0, &m), "no DEVICE_ADD");
	EXPECT(vhu_console_send(d, 0, VHU_CON_PORT_READY, 1, T_MS) == 0, "PORT_READY");
	EXPECT(ctrl_is(d, VHU_CON_CONSOLE_PORT, 1, &m), "no CONSOLE_PORT");
	EXPECT(ctrl_is(d, VHU_CON_PORT_NAME, 0, &m), "no PORT_NAME");
	EXPECT(m.extra_len == strlen("console0") && memcmp(m.extra, "console0", m.extra_len) == 0,
	       "port name of %u bytes", m.extra_len);
	return 0;
out:
	return -1;
}

static void pattern(uint8_t *b, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(i * 7 + seed + (i >> 9));
}

/* Host -> guest: BIG bytes written to the TCP client reach the guest's
 * receive buffers (re-posted, 8 held at a time). */
static int to_guest(struct vhu_console *d, int fd, uint8_t *out, uint8_t *in)
{
	size_t got = 0;
	int64_t t0 = xen_rig_now_ms();

	pattern(out, BIG, 3);
	EXPECT(write(fd, out, BIG) == (ssize_t)BIG, "TCP write: %s", strerror(errno));
	while (got < BIG) {
		int r;

		if (vhu_console_rx_posted(d) < 8)
			vhu_console_rx_post(d, 8 - vhu_console_rx_posted(d), BUF);
		r = vhu_console_read(d, in + got, BIG - got, 1000);
		EXPECT(r >= 0, "guest read: %d", r);
		got += (size_t)r;
		EXPECT(xen_rig_now_ms() - t0 < T_MS, "only %zu of %u bytes reached the guest", got,
		       BIG);
	}
	EXPECT(memcmp(in, out, BIG) == 0, "host -> guest bytes differ");
	return 0;
out:
	return -1;
}

/* Guest -> host: BIG bytes in BUF-sized transmit buffers reach the TCP
 * client. */
static int to_host(struct vhu_console *d, int fd, uint8_t *out, uint8_t *in)
{
	size_t got = 0;

	pattern(out, BIG, 11);
	EXPECT(vhu_console_write(d, out, BIG, T_MS) == 0, "guest write");
	while (got < BIG) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t r;

		EXPECT(poll(&p, 1, T_MS) == 1, "only %zu of %u bytes reached the host", got, BIG);
		r = read(fd, in + got, BIG - got);
		EXPECT(r > 0, "TCP read: %zd %s", r, strerror(errno));
		got += (size_t)r;
	}
	EXPECT(memcmp(in, out, BIG) == 0, "guest -> host bytes differ");
	return 0;
out:
	return -1;
}

int main(void)
{
	static uint8_t out[BIG], in[BIG];
	struct backend b = { 0 };
	struct fx x;
	struct xen_rig rig = { .x = &x, .nvq = NQ, .pieces = 8 };
	struct vhu_console_opts o;
	struct vhu_console *d = NULL;
	struct vhu_console_msg m;
	char port[16], sock[160], err[512] = "";
	const char *args[] = { "-v", "-b", "network", "-p", port, "--xen", "on", NULL };
	bool started = false;
	uint64_t ro0;
	int r, fd = -1, st, ret = 1;

	signal(SIGPIPE, SIG_IGN);
	if (access("/proc/self/fd", R_OK) < 0) {
		fprintf(stderr, "SKIP: no /proc/self/fd\n");
		return 77;
	}
	r = fx_create(&x);
	EXPECT(r == 0, "fake Xen files: %s", strerror(-r));
	snprintf(port, sizeof(port), "%d", tcp_port());
	fx_env_push(&x);
	r = backend_start(&b, "vhost-device-console", true, 1, args);
	fx_env_pop(&x);
	EXPECT(r == 0, "starting vhost-device-console: %s", strerror(-r));
	started = true;
	backend_socket(&b, true, 0, sock, sizeof(sock));

	vhu_console_defaults(&o, sock);
	o.connect_ms = T_MS;
	o.xen_mmap = true;
	o.send_mem = xen_rig_send_mem;
	o.send_mem_opaque = &rig;
	r = vhu_console_open(&o, &d, err, sizeof(err));
	EXPECT(r == 0, "opening the console driver over grant memory: %s", err);
	EXPECT(rig.n > NRINGS, "only %u regions", rig.n);
	EXPECT(xen_rig_wait_live(&x, NRINGS), "after open: %llu grant mappings alive, want the %u vrings",
	       (unsigned long long)fx_ld(&x.st->gnt_live), NRINGS);
	if (handshake(d) < 0)
		goto out;

	/* A client connects: the device opens the port (PORT_OPEN 1); the
	 * guest opens its end. */
	fd = tcp_connect(tcp_port());
	EXPECT(fd >= 0, "connecting to port %d: %s", tcp_port(), strerror(errno));
	EXPECT(ctrl_is(d, VHU_CON_PORT_OPEN, 1, &m), "no PORT_OPEN for the TCP client");
	EXPECT(backend_wait_log(&b, "TCP client connected", T_MS) == 0, "client not seen");
	EXPECT(vhu_console_send(d, 0, VHU_CON_PORT_OPEN, 1, T_MS) == 0, "guest PORT_OPEN");

	ro0 = fx_ld(&x.st->gnt_ro_maps);
	if (to_guest(d, fd, out, in) < 0 || to_host(d, fd, out, in) < 0)
		goto out;
	EXPECT(fx_ld(&x.st->gnt_ro_maps) - ro0 >= BIG / BUF,
	       "%llu read-only map calls for %u transmit buffers",
	       (unsigned long long)(fx_ld(&x.st->gnt_ro_maps) - ro0), BIG / BUF);
	EXPECT(xen_rig_check_maps(&x) == 0, "bad grant maps or unmaps");
	printf("console: %u bytes each way over %u grant regions, %llu map calls (%llu read-only)\n",
	       BIG, rig.n, (unsigned long long)fx_ld(&x.st->gnt_maps),
	       (unsigned long long)fx_ld(&x.st->gnt_ro_maps));
	vhu_console_close(d);
	d = NULL;
	EXPECT(xen_rig_check_closed(&x) == 0, "grant mappings after the guest left");
	EXPECT(backend_alive(&b), "backend died");
	ret = 0;
out:
	vhu_console_close(d);
	if (fd >= 0)
		close(fd);
	if (started) {
		st = backend_stop(&b);
		if (st != 0 && ret == 0) {
			fprintf(stderr, "FAIL: vhost-device-console exit status %d on SIGTERM\n", st);
			ret = 1;
		}
	}
	fx_destroy(&x);
	if (ret == 0)
		printf("console over Xen grant mappings: all checks passed\n");
	return ret;
}
