/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Integration on the host: vhost-device-can -c 2 -d "fakecan0 fakecan1"
 * through tests/integration/test-can-fakeif (the host has no SocketCAN:
 * a preloaded shim fakes the interfaces at the system-call layer, and a
 * started controller's raw socket is a Unix SEQPACKET socket connected to
 * the bus this program plays), driven by libvhu-frontend's virtio-can
 * guest driver (tools/vhu-can.h).  The backend's own code runs unchanged.
 *
 * Covered here, on every 'make check': the controller mode (STOPPED at
 * first, START connects, STOP disconnects, tx refused while stopped);
 * classic, extended, FD and RTR frames both ways, a classic DLC of 9..15;
 * every malformed tx field refused with nothing on the bus; types not
 * negotiated; the rx backlog; two sockets on two interfaces; the bus going
 * away (bus-off, config-change notification, START again); a reconnect.
 * What needs the kernel's CAN stack (no echo, LATE_TX_ACK's MSG_CONFIRM,
 * an interface going down, error frames) is tested on vcan in the guest:
 * tests/integration/test-can.c, tests/vm/can-vcan.test.  "Nothing
 * arrived" is proved by a marker frame sent afterwards arriving first.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/can.h>

#include "backend.h"
#include "it-util.h"
#include "vhu-can.h"

#define TMO 30000  /* a failure bound only (docs/testing.md, busy machines) */
#define F_ALL (VHU_CAN_F_CLASSIC | VHU_CAN_F_FD | VHU_CAN_F_RTR)

struct bus {
	int lis;                /* where the shim connects fakecanN */
	int conn;               /* the started controller's socket, -1 */
};

struct fixture {
	struct backend be;
	char sock[2][160];
	struct bus bus[2];
};

/* ---- the bus ------------------------------------------------------------- */

static int bus_listen(const char *dir, unsigned i)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	snprintf(a.sun_path, sizeof(a.sun_path), "%s/fakecan%u", dir, i);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 4) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The controller just started: take its connection. */
static void bus_accept(struct bus *b)
{
	struct pollfd p = { .fd = b->lis, .events = POLLIN };

	if (b->conn >= 0)
		close(b->conn);
	assert_int_equal(poll(&p, 1, TMO), 1);
	b->conn = accept(b->lis, NULL, NULL);
	assert_true(b->conn >= 0);
}

static void bus_send(struct bus *b, uint32_t id, bool fd, uint8_t len, uint8_t seed)
{
	struct canfd_frame f = { .can_id = id, .len = len };
	size_t n = fd ? CANFD_MTU : CAN_MTU;

	for (unsigned i = 0; i < len && !(id & CAN_RTR_FLAG); i++)
		f.data[i] = (uint8_t)(seed + i);
	assert_int_equal(write(b->conn, &f, n), (ssize_t)n);
}

/* Next frame from the controller; 0 when it closed its socket. */
static size_t bus_recv(struct bus *b, struct canfd_frame *f)
{
	struct pollfd p = { .fd = b->conn, .events = POLLIN };
	ssize_t n;

	assert_int_equal(poll(&p, 1, TMO), 1);
	n = read(b->conn, f, sizeof(*f));
	assert_true(n == 0 || n == CAN_MTU || n == CANFD_MTU);
	return (size_t)n;
}

/* ---- the guest ------------------------------------------------------------ */

static struct vhu_can *open_can_n(struct fixture *f, unsigned i, uint64_t features,
				  unsigned rx_bufs)
{
	struct vhu_can_opts o = { .path = f->sock[i], .connect_ms = TMO, .features = features,
				  .rx_bufs = rx_bufs };
	struct vhu_can *d = NULL;
	char err[256] = "";

	if (vhu_can_open(&o, &d, err, sizeof(err)) < 0)
		fail_msg("open %s: %s", f->sock[i], err);
	return d;
}

static struct vhu_can *open_can(struct fixture *f, unsigned i, uint64_t features)
{
	return open_can_n(f, i, features, 0);
}

static uint8_t control(struct vhu_can *d, uint16_t type)
{
	uint8_t r = 0xee;
	int e = vhu_can_control(d, type, &r, TMO);

	if (e < 0)
		fail_msg("control 0x%x: %s (%s)", type, strerror(-e), vhu_can_error(d));
	return r;
}

/* START, and the bus takes the controller's connection. */
static void start(struct fixture *f, struct vhu_can *d, unsigned i)
{
	assert_int_equal(control(d, VHU_CAN_START), 0);
	bus_accept(&f->bus[i]);
}

static uint8_t send_frame(struct vhu_can *d, uint32_t id, uint32_t flags, uint16_t len,
			  uint8_t seed)
{
	struct vhu_can_frame fr = { .can_id = id, .flags = flags, .len = len };
	uint8_t r = 0xee;
	int e;

	for (unsigned i = 0; i < len && i < 64; i++)
		fr.data[i] = (uint8_t)(seed + i);
	e = vhu_can_send(d, &fr, &r, TMO);
	if (e < 0)
		fail_msg("send: %s (%s)", strerror(-e), vhu_can_error(d));
	return r;
}

static void recv_frame(struct vhu_can *d, struct vhu_can_frame *fr)
{
	int e = vhu_can_recv(d, fr, TMO);

	if (e < 0)
		fail_msg("recv: %s (%s)", strerror(-e), vhu_can_error(d));
}

static void expect_marker(struct vhu_can *d, struct bus *b, uint32_t marker)
{
	struct vhu_can_frame fr;

	bus_send(b, marker, false, 1, 0x77);
	recv_frame(d, &fr);
	if (fr.can_id != marker)
		fail_msg("guest received frame 0x%x before the marker 0x%x", fr.can_id, marker);
}

static void expect_bus_marker(struct vhu_can *d, struct bus *b, uint32_t marker)
{
	struct canfd_frame f;

	assert_int_equal(send_frame(d, marker, 0, 1, 0x55), 0);
	assert_int_equal(bus_recv(b, &f), CAN_MTU);
	if (f.can_id != marker)
		fail_msg("bus received frame 0x%x before the marker 0x%x", f.can_id, marker);
}

static uint16_t status(struct vhu_can *d)
{
	uint16_t s = 0xffff;

	assert_int_equal(vhu_can_status(d, &s), 0);
	return s;
}

/* ---- fixture ---------------------------------------------------------------- */

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char base[128];
	const char *args[] = { "-s", base, "-c", "2", "-d", "fakecan0 fakecan1", NULL };
	const char *wait_for[3] = { f ? f->sock[0] : NULL, f ? f->sock[1] : NULL, NULL };
	int r;

	if (!f || backend_init(&f->be) < 0)
		return -1;
	backend_file(&f->be, "can.sock", base, sizeof(base));
	for (unsigned i = 0; i < 2; i++) {
		snprintf(f->sock[i], sizeof(f->sock[i]), "%s%u", base, i);
		f->bus[i].conn = -1;
		f->bus[i].lis = bus_listen(f->be.dir, i);
		if (f->bus[i].lis < 0)
			return -1;
	}
	setenv("VHD_FAKECAN_BUS", f->be.dir, 1);
	r = backend_spawn(&f->be, "tests/integration/test-can-fakeif", args, wait_for);
	unsetenv("VHD_FAKECAN_BUS");
	if (r < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	int st = backend_stop(&f->be);

	for (unsigned i = 0; i < 2; i++) {
		if (f->bus[i].conn >= 0)
			close(f->bus[i].conn);
		close(f->bus[i].lis);
	}
	free(f);
	return st == 0 ? 0 : -1;
}

/* ---- tests ------------------------------------------------------------------- */

static void test_controller_mode(void **state)
{
	struct fixture *f = *state;
	struct vhu_can *d = open_can(f, 0, F_ALL);
	struct canfd_frame fr;
	uint8_t r = 0xee;

	assert_int_equal(status(d), 0);
	/* "Initially the CAN controller is in the STOPPED state." */
	assert_int_equal(send_frame(d, 0x100, 0, 1, 0), 1);
	start(f, d, 0);
	assert_int_equal(control(d, VHU_CAN_START), 0);        /* already started */
	assert_int_equal(control(d, 0x0203), 1);               /* unknown type */
	assert_int_equal(vhu_can_send_raw(d, NULL, 0, &r, TMO), 0);
	assert_int_equal(r, 1);                                /* empty tx request */
	expect_bus_marker(d, &f->bus[0], 0x101);               /* 0x100 never went out */
	assert_int_equal(control(d, VHU_CAN_STOP), 0);
	assert_int_equal(bus_recv(&f->bus[0], &fr), 0);        /* STOP closed the socket */
	assert_int_equal(send_frame(d, 0x102, 0, 1, 0), 1);
	start(f, d, 0);
	expect_bus_marker(d, &f->bus[0], 0x103);
	vhu_can_close(d);
}

static void test_frames_both_ways(void **state)
{
	struct fixture *f = *state;
	struct vhu_can *d = open_can(f, 0, F_ALL);
	struct bus *b = &f->bus[0];
	static const struct { uint32_t id, flags; uint16_t len; } t[] = {
		{ 0x123, 0, 8 }, { 0x7ff, 0, 0 }, { 0x1abcdef0, VHU_CAN_FLAG_EXT, 5 },
		{ 0x321, VHU_CAN_FLAG_FD, 64 }, { 0x10000, VHU_CAN_FLAG_FD | VHU_CAN_FLAG_EXT, 12 },
		{ 0x55, VHU_CAN_FLAG_RTR, 4 }, { 0x1555, VHU_CAN_FLAG_RTR | VHU_CAN_FLAG_EXT, 0 },
	};

	start(f, d, 0);
	for (unsigned i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uint32_t id = t[i].id | (t[i].flags & VHU_CAN_FLAG_EXT ? CAN_EFF_FLAG : 0) |
			      (t[i].flags & VHU_CAN_FLAG_RTR ? CAN_RTR_FLAG : 0);
		bool fd = t[i].flags & VHU_CAN_FLAG_FD;
		struct vhu_can_frame g;
		struct canfd_frame c;

		/* guest -> bus */
		assert_int_equal(send_frame(d, t[i].id, t[i].flags, t[i].len, (uint8_t)i), 0);
		assert_int_equal(bus_recv(b, &c), fd ? CANFD_MTU : CAN_MTU);
		assert_int_equal(c.can_id, id);
		assert_int_equal(c.len, t[i].len);
		for (unsigned k = 0; k < t[i].len && !(t[i].flags & VHU_CAN_FLAG_RTR); k++)
			assert_int_equal(c.data[k], (uint8_t)(i + k));
		/* bus -> guest */
		bus_send(b, id, fd, (uint8_t)t[i].len, (uint8_t)(0x40 + i));
		recv_frame(d, &g);
		assert_int_equal(g.can_id, t[i].id);
		assert_int_equal(g.flags, t[i].flags);
		assert_int_equal(g.len, t[i].len);
		for (unsigned k = 0; k < t[i].len && !(t[i].flags & VHU_CAN_FLAG_RTR); k++)
			assert_int_equal(g.data[k], (uint8_t)(0x40 + i + k));
	}
	/* A classic DLC of 9..15 (8 bytes) both ways. */
	struct vhu_can_frame dl = { .can_id = 0x99, .len = 8, .classic_dlc = 13 };
	struct can_frame cf = { .can_id = 0x98, .len = 8, .len8_dlc = 15 };
	struct canfd_frame c;
	uint8_t r = 0xee;
	assert_int_equal(vhu_can_send(d, &dl, &r, TMO), 0);
	assert_int_equal(r, 0);
	assert_int_equal(bus_recv(b, &c), CAN_MTU);
	assert_int_equal(((struct can_frame *)&c)->len8_dlc, 13);
	assert_int_equal(write(b->conn, &cf, CAN_MTU), CAN_MTU);
	recv_frame(d, &dl);
	assert_int_equal(dl.can_id, 0x98);
	assert_int_equal(dl.classic_dlc, 15);
	vhu_can_close(d);
}

static size_t raw_msg(uint8_t *b, uint16_t type, uint16_t len, uint32_t flags, uint32_t id)
{
	uint16_t t = htole16(type), l = htole16(len);
	uint32_t fl = htole32(flags), i = htole32(id);

	memset(b, 0, VHU_CAN_MSG_MAX + 8);
	memcpy(b, &t, 2);
	memcpy(b + 2, &l, 2);
	memcpy(b + 8, &fl, 4);
	memcpy(b + 12, &i, 4);
	return VHU_CAN_HDR + (len > 64 ? 64 : len);
}

/* Every malformed field: NOT_OK, and nothing reaches the bus. */
static void test_tx_refused(void **state)
{
	struct fixture *f = *state;
	struct vhu_can *d = open_can(f, 0, F_ALL);
	uint8_t b[VHU_CAN_MSG_MAX + 8], r;
	size_t n;

	start(f, d, 0);
#define REFUSED(len_) do { r = 0xee; \
		assert_int_equal(vhu_can_send_raw(d, b, (len_), &r, TMO), 0); \
		if (r != 1) fail_msg("line %d: result %u", __LINE__, r); } while (0)
	n = raw_msg(b, VHU_CAN_TX, 8, 0, 1);
	REFUSED(15);                                        /* short header */
	REFUSED(n - 1);                                     /* sdu short */
	REFUSED(VHU_CAN_MSG_MAX + 1);                       /* too long */
	n = raw_msg(b, VHU_CAN_RX, 8, 0, 1);
	REFUSED(n);                                         /* msg_type */
	for (unsigned bit = 0; bit < 32; bit++) {
		if ((1u << bit) & (VHU_CAN_FLAG_EXT | VHU_CAN_FLAG_FD | VHU_CAN_FLAG_RTR))
			continue;
		n = raw_msg(b, VHU_CAN_TX, 1, 1u << bit, 1);
		REFUSED(n);                                 /* undefined flag */
	}
	n = raw_msg(b, VHU_CAN_TX, 2, VHU_CAN_FLAG_RTR | VHU_CAN_FLAG_FD, 1);
	REFUSED(n);                                         /* RTR with FD */
	n = raw_msg(b, VHU_CAN_TX, 9, VHU_CAN_FLAG_RTR, 1);
	REFUSED(n);                                         /* RTR DLC > 8 */
	n = raw_msg(b, VHU_CAN_TX, 1, 0, 0x800);
	REFUSED(n);                                         /* 11-bit id range */
	n = raw_msg(b, VHU_CAN_TX, 1, VHU_CAN_FLAG_EXT, 0x20000000);
	REFUSED(n);                                         /* 29-bit id range */
	n = raw_msg(b, VHU_CAN_TX, 9, 0, 1);
	REFUSED(n);                                         /* classic length */
	n = raw_msg(b, VHU_CAN_TX, 13, VHU_CAN_FLAG_FD, 1);
	REFUSED(n);                                         /* FD length */
	n = raw_msg(b, VHU_CAN_TX, 1, 0, 1);
	b[5] = 1;
	REFUSED(n);                                         /* padding */
	n = raw_msg(b, VHU_CAN_TX, 1, 0, 1);
	b[7] = 1;
	REFUSED(n);                                         /* reserved_xl_priority */
	n = raw_msg(b, VHU_CAN_TX, 7, 0, 1);
	b[4] = 9;
	REFUSED(n);                                         /* reserved_classic_dlc */
#undef REFUSED
	expect_bus_marker(d, &f->bus[0], 0x5ff);
	vhu_can_close(d);
}

/* Types the driver did not negotiate: refused on tx, not delivered on rx. */
static void test_not_negotiated(void **state)
{
	struct fixture *f = *state;
	struct vhu_can *d = open_can(f, 0, VHU_CAN_F_CLASSIC);
	struct canfd_frame c;
	struct vhu_can_frame g;

	start(f, d, 0);
	assert_int_equal(send_frame(d, 0x600, VHU_CAN_FLAG_FD, 12, 0), 1);
	assert_int_equal(send_frame(d, 0x601, VHU_CAN_FLAG_RTR, 2, 0), 1);
	expect_bus_marker(d, &f->bus[0], 0x6ff);
	bus_send(&f->bus[0], 0x602, true, 16, 0);
	bus_send(&f->bus[0], 0x603 | CAN_RTR_FLAG, false, 2, 0);
	expect_marker(d, &f->bus[0], 0x6fe);
	vhu_can_close(d);

	d = open_can(f, 0, VHU_CAN_F_FD);
	start(f, d, 0);
	assert_int_equal(send_frame(d, 0x610, 0, 1, 0), 1);      /* classic */
	assert_int_equal(send_frame(d, 0x611, VHU_CAN_FLAG_FD, 1, 0), 0);
	assert_int_equal(bus_recv(&f->bus[0], &c), CANFD_MTU);
	assert_int_equal(c.can_id, 0x611);
	bus_send(&f->bus[0], 0x612, false, 1, 0);                 /* classic: dropped */
	bus_send(&f->bus[0], 0x613, true, 1, 0);
	recv_frame(d, &g);
	assert_int_equal(g.can_id, 0x613);
	vhu_can_close(d);
}

/* More frames than rx buffers: kept until the guest posts more, in order. */
static void test_rx_backlog(void **state)
{
	struct fixture *f = *state;
	struct vhu_can *d = open_can_n(f, 0, F_ALL, 4);

	start(f, d, 0);
	for (unsigned i = 0; i < 100; i++)
		bus_send(&f->bus[0], 0x300 + i, i % 2, 2, (uint8_t)i);
	for (unsigned i = 0; i < 100; i++) {
		struct vhu_can_frame g;

		recv_frame(d, &g);
		assert_int_equal(g.can_id, 0x300 + i);
		assert_int_equal(g.data[1], (uint8_t)(i + 1));
	}
	vhu_can_close(d);
}

/* Two sockets, two interfaces, at once: each guest sees its own bus. */
static void test_two_sockets(void **state)
{
	struct fixture *f = *state;
	struct vhu_can *d0 = open_can(f, 0, F_ALL), *d1 = open_can(f, 1, F_ALL);
	struct vhu_can_frame g;
	struct canfd_frame c;

	start(f, d0, 0);
	start(f, d1, 1);
	bus_send(&f->bus[1], 0x0a1, true, 20, 1);
	recv_frame(d1, &g);
	assert_int_equal(g.can_id, 0x0a1);
	expect_marker(d0, &f->bus[0], 0x0a2);
	assert_int_equal(send_frame(d0, 0x0a3, 0, 4, 3), 0);
	assert_int_equal(bus_recv(&f->bus[0], &c), CAN_MTU);
	assert_int_equal(c.can_id, 0x0a3);
	expect_bus_marker(d1, &f->bus[1], 0x0a4);
	vhu_can_close(d0);
	vhu_can_close(d1);
}

/* The bus goes away under a started controller: bus-off, a config-change
 * notification, tx refused; START connects again and clears the bit. */
static void test_bus_gone(void **state)
{
	struct fixture *f = *state;
	struct vhu_can *d = open_can(f, 0, F_ALL);

	start(f, d, 0);
	close(f->bus[0].conn);
	f->bus[0].conn = -1;
	assert_int_equal(vhu_can_wait_config_change(d, TMO), 0);
	assert_int_equal(status(d), VHU_CAN_BUSOFF);
	assert_int_equal(send_frame(d, 0x0c0, 0, 1, 0), 1);
	start(f, d, 0);
	assert_int_equal(status(d), 0);
	expect_bus_marker(d, &f->bus[0], 0x0c1);
	expect_marker(d, &f->bus[0], 0x0c2);
	vhu_can_close(d);
}

/* A new connection starts from a STOPPED controller with a clear status;
 * the old connection's socket is closed. */
static void test_reconnect(void **state)
{
	struct fixture *f = *state;
	struct vhu_can *d = open_can(f, 0, F_ALL);
	struct canfd_frame c;

	start(f, d, 0);
	vhu_can_close(d);
	assert_int_equal(bus_recv(&f->bus[0], &c), 0);
	d = open_can(f, 0, F_ALL);
	assert_int_equal(status(d), 0);
	assert_int_equal(send_frame(d, 0x0b0, 0, 1, 0), 1);
	start(f, d, 0);
	expect_bus_marker(d, &f->bus[0], 0x0b1);
	vhu_can_close(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_controller_mode),
		cmocka_unit_test(test_frames_both_ways),
		cmocka_unit_test(test_tx_refused),
		cmocka_unit_test(test_not_negotiated),
		cmocka_unit_test(test_rx_backlog),
		cmocka_unit_test(test_two_sockets),
		cmocka_unit_test(test_bus_gone),
		cmocka_unit_test(test_reconnect),
	};

	return cmocka_run_group_tests_name("integration: vhost-device-can on fake interfaces",
					   tests, setup, teardown);
}
