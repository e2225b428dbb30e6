/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Integration: vhost-device-can -c 2 -d "vcan0 vcan1" (src/devices/can/),
 * driven by libvhu-frontend's virtio-can guest driver (tools/vhu-can.h)
 * over real sockets, with the other end of each bus a raw CAN socket of
 * this program.  Needs vcan0 and vcan1 (up) and CAN_RAW, which the build
 * machines lack: tests/vm/can-vcan.test runs this program and the backend
 * inside our guest kernel (exit 77 elsewhere).
 *
 * Covered: the controller mode (STOPPED at first, START/STOP, tx refused
 * while stopped); classic, extended, FD and RTR frames both ways; no echo
 * of the guest's own frames; every malformed tx field refused and nothing
 * sent; frame types not negotiated refused on tx and never delivered on
 * rx; LATE_TX_ACK; the interface going down (bus-off bit, config-change
 * notification, START refused until it is up), the interface deleted and
 * created again, and a bus-off error frame;
 * two sockets on two interfaces at once; a reconnect resets the
 * controller.  Ordering is proved with marker frames, never with waits:
 * "nothing arrived" means "the marker sent afterwards arrived first".
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
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/can.h>
#include <linux/can/error.h>
#include <linux/can/raw.h>

#include "backend.h"
#include "it-util.h"
#include "vhu-can.h"

#define TMO 30000  /* a failure bound only (docs/testing.md, busy machines) */
#define F_ALL (VHU_CAN_F_CLASSIC | VHU_CAN_F_FD | VHU_CAN_F_RTR)

static const char *const ifs[2] = { "vcan0", "vcan1" };

struct fixture {
	struct backend be;
	char sock[2][160];
};

/* ---- the other end of the bus: a raw CAN socket ------------------------ */

static int peer_open(const char *ifname)
{
	struct sockaddr_can a = { .can_family = AF_CAN };
	int on = 1, fd = socket(PF_CAN, SOCK_RAW | SOCK_CLOEXEC, CAN_RAW);

	assert_true(fd >= 0);
	assert_int_equal(setsockopt(fd, SOL_CAN_RAW, CAN_RAW_FD_FRAMES, &on, sizeof(on)), 0);
	a.can_ifindex = (int)if_nametoindex(ifname);
	assert_true(a.can_ifindex > 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

static void peer_send(int fd, uint32_t id, bool fd_frame, uint8_t len, uint8_t seed)
{
	struct canfd_frame f = { .can_id = id, .len = len };
	size_t n = fd_frame ? CANFD_MTU : CAN_MTU;

	for (unsigned i = 0; i < len && !(id & CAN_RTR_FLAG); i++)
		f.data[i] = (uint8_t)(seed + i);
	assert_int_equal(write(fd, &f, n), (ssize_t)n);
}

/* Next frame on the peer socket (fails the test after TMO). */
static size_t peer_recv(int fd, struct canfd_frame *f)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;

	assert_int_equal(poll(&p, 1, TMO), 1);
	n = read(fd, f, sizeof(*f));
	assert_true(n == CAN_MTU || n == CANFD_MTU);
	return (size_t)n;
}

/* Interface flags through an AF_UNIX socket: the guest kernel has no
 * INET.  0 or -1 with errno. */
static int if_up(const char *ifname, bool up)
{
	struct ifreq ifr;
	int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0), r = -1;

	if (s < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
		if (up)
			ifr.ifr_flags |= IFF_UP;
		else
			ifr.ifr_flags &= ~IFF_UP;
		r = ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	close(s);
	return r;
}

static void set_link(const char *ifname, bool up)
{
	assert_int_equal(if_up(ifname, up), 0);
}

/* ---- the guest side ------------------------------------------------------ */

static struct vhu_can *open_can(struct fixture *f, unsigned i, uint64_t features)
{
	struct vhu_can_opts o = { .path = f->sock[i], .connect_ms = TMO, .features = features };
	struct vhu_can *d = NULL;
	char err[256] = "";

	if (vhu_can_open(&o, &d, err, sizeof(err)) < 0)
		fail_msg("open %s: %s", f->sock[i], err);
	return d;
}

static uint8_t control(struct vhu_can *d, uint16_t type)
{
	uint8_t r = 0xee;
	int e = vhu_can_control(d, type, &r, TMO);

	if (e < 0)
		fail_msg("control 0x%x: %s (%s)", type, strerror(-e), vhu_can_error(d));
	return r;
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

/* The guest's next frame is the peer's marker id (nothing came before). */
static void expect_marker(struct vhu_can *d, int peer, uint32_t marker)
{
	struct vhu_can_frame fr;

	peer_send(peer, marker, false, 1, 0x77);
	recv_frame(d, &fr);
	if (fr.can_id != marker)
		fail_msg("guest received frame 0x%x before the marker 0x%x", fr.can_id, marker);
}

/* The peer's next frame is the guest's marker (nothing came before). */
static void expect_peer_marker(struct vhu_can *d, int peer, uint32_t marker)
{
	struct canfd_frame f;

	assert_int_equal(send_frame(d, marker, 0, 1, 0x55), 0);
	peer_recv(peer, &f);
	if (f.can_id != marker)
		fail_msg("peer received frame 0x%x before the marker 0x%x", f.can_id, marker);
}

static uint16_t status(struct vhu_can *d)
{
	uint16_t s = 0xffff;

	assert_int_equal(vhu_can_status(d, &s), 0);
	return s;
}

/* ---- fixture ------------------------------------------------------------- */

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *args[] = { "-c", "2", "-d", "vcan0 vcan1", "-v", NULL };

	if (!f)
		return -1;
	if (backend_start(&f->be, "vhost-device-can", true, 2, args) < 0) {
		free(f);
		return -1;
	}
	for (unsigned i = 0; i < 2; i++)
		backend_socket(&f->be, true, i, f->sock[i], sizeof(f->sock[i]));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	int st = backend_stop(&f->be);

	free(f);
	return st == 0 ? 0 : -1;
}

/* ---- tests ----------------------------------------------------------------- */

static void test_controller_mode(void **state)
{
	struct vhu_can *d = open_can(*state, 0, F_ALL);
	int peer = peer_open(ifs[0]);

	assert_int_equal(status(d), 0);
	/* "Initially the CAN controller is in the STOPPED state." */
	assert_int_equal(send_frame(d, 0x100, 0, 1, 0), 1);
	assert_int_equal(control(d, VHU_CAN_START), 0);
	assert_int_equal(control(d, VHU_CAN_START), 0);        /* already started */
	assert_int_equal(control(d, 0x0203), 1);               /* unknown type */
	uint8_t r = 0xee;
	assert_int_equal(vhu_can_send_raw(d, NULL, 0, &r, TMO), 0);
	assert_int_equal(r, 1);                                /* empty tx request */
	expect_peer_marker(d, peer, 0x101);
	assert_int_equal(control(d, VHU_CAN_STOP), 0);
	assert_int_equal(send_frame(d, 0x102, 0, 1, 0), 1);
	assert_int_equal(control(d, VHU_CAN_START), 0);
	expect_peer_marker(d, peer, 0x103);                    /* 0x102 never went out */
	close(peer);
	vhu_can_close(d);
}

static void test_tx_frames(void **state)
{
	struct vhu_can *d = open_can(*state, 0, F_ALL);
	int peer = peer_open(ifs[0]);
	static const struct { uint32_t id, flags; uint16_t len; } t[] = {
		{ 0x123, 0, 8 }, { 0x7ff, 0, 0 }, { 0x1abcdef0, VHU_CAN_FLAG_EXT, 5 },
		{ 0x321, VHU_CAN_FLAG_FD, 64 }, { 0x10000, VHU_CAN_FLAG_FD | VHU_CAN_FLAG_EXT, 12 },
		{ 0x55, VHU_CAN_FLAG_RTR, 4 }, { 0x1555, VHU_CAN_FLAG_RTR | VHU_CAN_FLAG_EXT, 0 },
	};

	assert_int_equal(control(d, VHU_CAN_START), 0);
	for (unsigned i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct canfd_frame f;
		uint32_t id = t[i].id | (t[i].flags & VHU_CAN_FLAG_EXT ? CAN_EFF_FLAG : 0) |
			      (t[i].flags & VHU_CAN_FLAG_RTR ? CAN_RTR_FLAG : 0);
		size_t n;

		assert_int_equal(send_frame(d, t[i].id, t[i].flags, t[i].len, (uint8_t)i), 0);
		n = peer_recv(peer, &f);
		assert_int_equal(n, t[i].flags & VHU_CAN_FLAG_FD ? CANFD_MTU : CAN_MTU);
		assert_int_equal(f.can_id, id);
		assert_int_equal(f.len, t[i].len);
		for (unsigned k = 0; k < t[i].len && !(t[i].flags & VHU_CAN_FLAG_RTR); k++)
			assert_int_equal(f.data[k], (uint8_t)(i + k));
	}
	close(peer);
	vhu_can_close(d);
}

static void test_rx_frames(void **state)
{
	struct vhu_can *d = open_can(*state, 0, F_ALL);
	int peer = peer_open(ifs[0]);
	static const struct { uint32_t id; bool fd; uint8_t len; uint32_t flags; } t[] = {
		{ 0x123, false, 8, 0 }, { 0x1abcdef0 | CAN_EFF_FLAG, false, 3, VHU_CAN_FLAG_EXT },
		{ 0x200, true, 48, VHU_CAN_FLAG_FD }, { 0x201, true, 0, VHU_CAN_FLAG_FD },
		{ 0x42 | CAN_RTR_FLAG, false, 6, VHU_CAN_FLAG_RTR },
	};

	assert_int_equal(control(d, VHU_CAN_START), 0);
	for (unsigned i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		peer_send(peer, t[i].id, t[i].fd, t[i].len, (uint8_t)(0x30 + i));
	for (unsigned i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct vhu_can_frame fr;

		recv_frame(d, &fr);
		assert_int_equal(fr.can_id, t[i].id & CAN_EFF_MASK);
		assert_int_equal(fr.flags, t[i].flags);
		assert_int_equal(fr.len, t[i].len);
		for (unsigned k = 0; k < t[i].len && !(t[i].flags & VHU_CAN_FLAG_RTR); k++)
			assert_int_equal(fr.data[k], (uint8_t)(0x30 + i + k));
	}
	close(peer);
	vhu_can_close(d);
}

/* More frames than rx buffers: the backend keeps them until the guest
 * posts buffers again, in order. */
static void test_rx_backlog(void **state)
{
	struct vhu_can_opts o = { .path = ((struct fixture *)*state)->sock[0],
				  .connect_ms = TMO, .features = F_ALL, .rx_bufs = 4 };
	struct vhu_can *d = NULL;
	char err[256];
	int peer = peer_open(ifs[0]);

	assert_int_equal(vhu_can_open(&o, &d, err, sizeof(err)), 0);
	assert_int_equal(control(d, VHU_CAN_START), 0);
	for (unsigned i = 0; i < 40; i++)
		peer_send(peer, 0x300 + i, false, 2, (uint8_t)i);
	for (unsigned i = 0; i < 40; i++) {
		struct vhu_can_frame fr;

		recv_frame(d, &fr);
		assert_int_equal(fr.can_id, 0x300 + i);
		assert_int_equal(fr.data[0], (uint8_t)i);
	}
	close(peer);
	vhu_can_close(d);
}

/* The guest never receives its own frames (the Rust backend echoes them). */
static void test_no_echo(void **state)
{
	for (unsigned late = 0; late < 2; late++) {
		struct vhu_can *d = open_can(*state, 0, F_ALL | (late ? VHU_CAN_F_LATE_TX_ACK : 0));
		int peer = peer_open(ifs[0]);
		struct canfd_frame f;

		assert_int_equal(control(d, VHU_CAN_START), 0);
		for (unsigned i = 0; i < 5; i++) {
			assert_int_equal(send_frame(d, 0x400 + i, i & 1 ? VHU_CAN_FLAG_FD : 0, 8,
						    (uint8_t)i), 0);
			peer_recv(peer, &f);
			assert_int_equal(f.can_id, 0x400 + i);
		}
		expect_marker(d, peer, 0x4ff);
		close(peer);
		vhu_can_close(d);
	}
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
	struct vhu_can *d = open_can(*state, 0, F_ALL);
	int peer = peer_open(ifs[0]);
	uint8_t b[VHU_CAN_MSG_MAX + 8], r;
	size_t n;

	assert_int_equal(control(d, VHU_CAN_START), 0);
#define REFUSED(len_) do { r = 0xee; assert_int_equal(vhu_can_send_raw(d, b, (len_), &r, TMO), 0); \
		if (r != 1) fail_msg("line %d: result %u", __LINE__, r); } while (0)
	n = raw_msg(b, VHU_CAN_TX, 8, 0, 1);
	REFUSED(15);                                        /* short header */
	REFUSED(n - 1);                                     /* sdu short */
	REFUSED(VHU_CAN_MSG_MAX + 1);                       /* too long */
	n = raw_msg(b, VHU_CAN_RX, 8, 0, 1);
	REFUSED(n);                                         /* msg_type */
	n = raw_msg(b, VHU_CAN_TX, 1, 0x1, 1);
	REFUSED(n);                                         /* undefined flag */
	n = raw_msg(b, VHU_CAN_TX, 1, 0x80000000u, 1);
	REFUSED(n);
	n = raw_msg(b, VHU_CAN_TX, 2, VHU_CAN_FLAG_RTR | VHU_CAN_FLAG_FD, 1);
	REFUSED(n);                                         /* RTR with FD */
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
	expect_peer_marker(d, peer, 0x5ff);
	close(peer);
	vhu_can_close(d);
}

/* Types the driver did not negotiate: refused on tx, not delivered on rx. */
static void test_not_negotiated(void **state)
{
	struct vhu_can *d = open_can(*state, 0, VHU_CAN_F_CLASSIC);
	int peer = peer_open(ifs[0]);

	assert_int_equal(control(d, VHU_CAN_START), 0);
	assert_int_equal(send_frame(d, 0x600, VHU_CAN_FLAG_FD, 12, 0), 1);
	assert_int_equal(send_frame(d, 0x601, VHU_CAN_FLAG_RTR, 2, 0), 1);
	expect_peer_marker(d, peer, 0x6ff);
	peer_send(peer, 0x602, true, 16, 0);
	peer_send(peer, 0x603 | CAN_RTR_FLAG, false, 2, 0);
	expect_marker(d, peer, 0x6fe);
	close(peer);
	vhu_can_close(d);

	d = open_can(*state, 0, VHU_CAN_F_FD);
	peer = peer_open(ifs[0]);
	assert_int_equal(control(d, VHU_CAN_START), 0);
	assert_int_equal(send_frame(d, 0x610, 0, 1, 0), 1);      /* classic */
	assert_int_equal(send_frame(d, 0x611, VHU_CAN_FLAG_FD, 1, 0), 0);
	struct canfd_frame f;
	peer_recv(peer, &f);
	assert_int_equal(f.can_id, 0x611);
	peer_send(peer, 0x612, false, 1, 0);                      /* classic: dropped */
	peer_send(peer, 0x613, true, 1, 0);
	struct vhu_can_frame fr;
	recv_frame(d, &fr);
	assert_int_equal(fr.can_id, 0x613);
	close(peer);
	vhu_can_close(d);
}

static void test_late_tx_ack(void **state)
{
	struct vhu_can *d = open_can(*state, 0, F_ALL | VHU_CAN_F_LATE_TX_ACK);
	int peer = peer_open(ifs[0]);
	struct canfd_frame f;

	assert_int_equal(control(d, VHU_CAN_START), 0);
	for (unsigned i = 0; i < 20; i++) {
		assert_int_equal(send_frame(d, 0x700 + i, i % 3 == 0 ? VHU_CAN_FLAG_FD : 0,
					    i % 9, (uint8_t)i), 0);
		peer_recv(peer, &f);
		assert_int_equal(f.can_id, 0x700 + i);
	}
	/* The same frame twice: each confirmation completes one request. */
	assert_int_equal(send_frame(d, 0x720, 0, 2, 1), 0);
	assert_int_equal(send_frame(d, 0x720, 0, 2, 1), 0);
	close(peer);
	vhu_can_close(d);
}

/* The interface goes down: bus-off bit, a config-change notification, tx
 * refused; START refused while down, accepted once up (bit cleared). */
static void test_down_is_busoff(void **state)
{
	struct vhu_can *d = open_can(*state, 0, F_ALL);
	int peer;

	assert_int_equal(control(d, VHU_CAN_START), 0);
	set_link(ifs[0], false);
	assert_int_equal(vhu_can_wait_config_change(d, TMO), 0);
	assert_int_equal(status(d), VHU_CAN_BUSOFF);
	assert_int_equal(send_frame(d, 0x080, 0, 1, 0), 1);
	assert_int_equal(control(d, VHU_CAN_START), 1);
	assert_int_equal(status(d), VHU_CAN_BUSOFF);
	set_link(ifs[0], true);
	assert_int_equal(control(d, VHU_CAN_START), 0);
	assert_int_equal(status(d), 0);
	peer = peer_open(ifs[0]);
	expect_peer_marker(d, peer, 0x08f);
	expect_marker(d, peer, 0x08e);
	close(peer);
	vhu_can_close(d);
}

/* A bus-off error frame (what a real controller reports) stops the
 * controller the same way.  vcan passes error frames written by a
 * socket to the sockets that asked for them. */
static void test_busoff_error_frame(void **state)
{
	struct vhu_can *d = open_can(*state, 0, F_ALL);
	int peer = peer_open(ifs[0]);
	struct can_frame ef = { .can_id = CAN_ERR_FLAG | CAN_ERR_BUSOFF, .len = CAN_ERR_DLC };

	assert_int_equal(control(d, VHU_CAN_START), 0);
	assert_int_equal(write(peer, &ef, CAN_MTU), CAN_MTU);
	assert_int_equal(vhu_can_wait_config_change(d, TMO), 0);
	assert_int_equal(status(d), VHU_CAN_BUSOFF);
	assert_int_equal(send_frame(d, 0x090, 0, 1, 0), 1);
	assert_int_equal(control(d, VHU_CAN_START), 0);
	assert_int_equal(status(d), 0);
	expect_peer_marker(d, peer, 0x09f);
	close(peer);
	vhu_can_close(d);
}

/* The interface disappears (deleted) under a started controller: bus-off
 * and a notification, START refused while it is gone; once a new vcan1
 * exists (another ifindex) START binds to it.  busybox's ip deletes and
 * creates links over netlink. */
static void test_interface_gone(void **state)
{
	struct vhu_can *d = open_can(*state, 1, F_ALL);
	int peer;

	assert_int_equal(control(d, VHU_CAN_START), 0);
	assert_int_equal(system("ip link del dev vcan1"), 0);
	assert_int_equal(vhu_can_wait_config_change(d, TMO), 0);
	assert_int_equal(status(d), VHU_CAN_BUSOFF);
	assert_int_equal(send_frame(d, 0x0d0, 0, 1, 0), 1);
	assert_int_equal(control(d, VHU_CAN_START), 1);
	assert_int_equal(system("ip link add dev vcan1 type vcan"), 0);
	set_link(ifs[1], true);
	assert_int_equal(control(d, VHU_CAN_START), 0);
	assert_int_equal(status(d), 0);
	peer = peer_open(ifs[1]);
	expect_peer_marker(d, peer, 0x0d1);
	expect_marker(d, peer, 0x0d2);
	close(peer);
	vhu_can_close(d);
}

/* Two sockets, two interfaces, at once: each guest sees its own bus. */
static void test_two_sockets(void **state)
{
	struct vhu_can *d0 = open_can(*state, 0, F_ALL), *d1 = open_can(*state, 1, F_ALL);
	int p0 = peer_open(ifs[0]), p1 = peer_open(ifs[1]);
	struct vhu_can_frame fr;
	struct canfd_frame f;

	assert_int_equal(control(d0, VHU_CAN_START), 0);
	assert_int_equal(control(d1, VHU_CAN_START), 0);
	peer_send(p1, 0x0a1, true, 20, 1);
	recv_frame(d1, &fr);
	assert_int_equal(fr.can_id, 0x0a1);
	expect_marker(d0, p0, 0x0a2);         /* vcan1's frame did not reach guest 0 */
	assert_int_equal(send_frame(d0, 0x0a3, 0, 4, 3), 0);
	peer_recv(p0, &f);
	assert_int_equal(f.can_id, 0x0a3);
	expect_peer_marker(d1, p1, 0x0a4);    /* guest 0's frame did not reach vcan1 */
	close(p0);
	close(p1);
	vhu_can_close(d0);
	vhu_can_close(d1);
}

/* A new connection starts from a STOPPED controller with a clear status. */
static void test_reconnect(void **state)
{
	struct vhu_can *d = open_can(*state, 0, F_ALL);

	assert_int_equal(control(d, VHU_CAN_START), 0);
	vhu_can_close(d);
	d = open_can(*state, 0, F_ALL);
	assert_int_equal(status(d), 0);
	assert_int_equal(send_frame(d, 0x0b0, 0, 1, 0), 1);
	vhu_can_close(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_controller_mode),
		cmocka_unit_test(test_tx_frames),
		cmocka_unit_test(test_rx_frames),
		cmocka_unit_test(test_rx_backlog),
		cmocka_unit_test(test_no_echo),
		cmocka_unit_test(test_tx_refused),
		cmocka_unit_test(test_not_negotiated),
		cmocka_unit_test(test_late_tx_ack),
		cmocka_unit_test(test_down_is_busoff),
		cmocka_unit_test(test_busoff_error_frame),
		cmocka_unit_test(test_interface_gone),
		cmocka_unit_test(test_two_sockets),
		cmocka_unit_test(test_reconnect),
	};

	if (!if_nametoindex(ifs[0]) || !if_nametoindex(ifs[1])) {
		fprintf(stderr, "test-can: needs vcan0 and vcan1 (run by tests/vm/can-vcan.test "
			"inside the guest)\n");
		return 77;
	}
	/* Up, as the guest's busybox ip cannot set them up (no INET). */
	for (unsigned i = 0; i < 2; i++)
		if (if_up(ifs[i], true) < 0) {
			fprintf(stderr, "test-can: setting %s up: %s\n", ifs[i], strerror(errno));
			return 1;
		}
	return cmocka_run_group_tests_name("integration: vhost-device-can on vcan", tests,
					   setup, teardown);
}
