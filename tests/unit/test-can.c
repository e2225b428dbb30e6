/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Unit tests of vhost-device-can's message module (src/devices/can/
 * can-frame.h): every field of a tx frame against the negotiated features
 * (virtio CAN, "CAN Message Transmission"), the frames handed to the raw
 * socket, and the rx encoding of socket frames (types the driver did not
 * negotiate are never encoded).
 */
#include "config.h"

#include <endian.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "devices/can/can-frame.h"

#define F_CLASSIC (1ull << VIRTIO_CAN_F_CAN_CLASSIC)
#define F_FD (1ull << VIRTIO_CAN_F_CAN_FD)
#define F_RTR (1ull << VIRTIO_CAN_F_RTR_FRAMES)
#define F_ALL (F_CLASSIC | F_FD | F_RTR)

static size_t msg(uint8_t *b, uint16_t type, uint16_t len, uint32_t flags, uint32_t id)
{
	uint16_t t = htole16(type), l = htole16(len);
	uint32_t f = htole32(flags), i = htole32(id);

	memset(b, 0, VIRTIO_CAN_MSG_MAX + 1);
	memcpy(b, &t, 2);
	memcpy(b + 2, &l, 2);
	memcpy(b + 8, &f, 4);
	memcpy(b + 12, &i, 4);
	for (unsigned k = 0; k < len && k < VIRTIO_CAN_MAX_DLEN; k++)
		b[16 + k] = (uint8_t)(0xa0 + k);
	return VIRTIO_CAN_HDR_SIZE + len;
}

static uint8_t parse(const uint8_t *b, size_t n, uint64_t feat, struct can_msg *m)
{
	const char *why = NULL;
	uint8_t r = can_tx_parse(b, n, feat, m, &why);

	assert_non_null(why);
	if (r != VIRTIO_CAN_RESULT_OK)
		assert_true(why[0] != 0);
	return r;
}

static void test_tx_valid(void **state)
{
	uint8_t b[VIRTIO_CAN_MSG_MAX + 1];
	struct can_msg m;
	size_t n;

	n = msg(b, VIRTIO_CAN_TX, 8, 0, 0x7ff);
	assert_int_equal(parse(b, n, F_CLASSIC, &m), VIRTIO_CAN_RESULT_OK);
	assert_false(m.fd);
	assert_int_equal(m.f.can_id, 0x7ff);
	assert_int_equal(m.f.len, 8);
	assert_int_equal(m.f.data[0], 0xa0);
	assert_int_equal(m.f.data[7], 0xa7);

	n = msg(b, VIRTIO_CAN_TX, 0, VIRTIO_CAN_FLAGS_EXTENDED, 0x1fffffff);
	assert_int_equal(parse(b, n, F_CLASSIC, &m), VIRTIO_CAN_RESULT_OK);
	assert_int_equal(m.f.can_id, 0x1fffffff | CAN_EFF_FLAG);
	assert_int_equal(m.f.len, 0);

	static const unsigned fdl[] = { 0, 5, 8, 12, 16, 20, 24, 32, 48, 64 };
	for (unsigned i = 0; i < sizeof(fdl) / sizeof(fdl[0]); i++) {
		n = msg(b, VIRTIO_CAN_TX, (uint16_t)fdl[i], VIRTIO_CAN_FLAGS_FD, 0x123);
		assert_int_equal(parse(b, n, F_FD, &m), VIRTIO_CAN_RESULT_OK);
		assert_true(m.fd);
		assert_int_equal(m.f.len, fdl[i]);
		if (fdl[i])
			assert_int_equal(m.f.data[fdl[i] - 1], 0xa0 + fdl[i] - 1);
	}

	/* RTR: length is the requested DLC, no data needs to follow. */
	msg(b, VIRTIO_CAN_TX, 4, VIRTIO_CAN_FLAGS_RTR, 0x42);
	assert_int_equal(parse(b, VIRTIO_CAN_HDR_SIZE, F_CLASSIC | F_RTR, &m), VIRTIO_CAN_RESULT_OK);
	assert_int_equal(m.f.can_id, 0x42 | CAN_RTR_FLAG);
	assert_int_equal(m.f.len, 4);
	assert_int_equal(m.f.data[0], 0);

	/* A classic 8-byte frame may carry its DLC 8..15. */
	n = msg(b, VIRTIO_CAN_TX, 8, 0, 1);
	b[4] = 12;
	assert_int_equal(parse(b, n, F_CLASSIC, &m), VIRTIO_CAN_RESULT_OK);
	assert_int_equal(((struct can_frame *)&m.f)->len8_dlc, 12);
	b[4] = 8;
	assert_int_equal(parse(b, n, F_CLASSIC, &m), VIRTIO_CAN_RESULT_OK);
	assert_int_equal(((struct can_frame *)&m.f)->len8_dlc, 0);
}

static void expect_refused(uint8_t *b, size_t n, uint64_t feat)
{
	struct can_msg m;

	assert_int_equal(parse(b, n, feat, &m), VIRTIO_CAN_RESULT_NOT_OK);
}

static void test_tx_refused(void **state)
{
	uint8_t b[VIRTIO_CAN_MSG_MAX + 1];
	size_t n;

	n = msg(b, VIRTIO_CAN_TX, 8, 0, 1);
	expect_refused(b, 15, F_ALL);                         /* short header */
	expect_refused(b, n - 1, F_ALL);                      /* sdu short */
	expect_refused(b, VIRTIO_CAN_MSG_MAX + 1, F_ALL);     /* longer than any */
	n = msg(b, VIRTIO_CAN_RX, 8, 0, 1);
	expect_refused(b, n, F_ALL);                          /* msg_type */
	n = msg(b, 0, 8, 0, 1);
	expect_refused(b, n, F_ALL);
	for (unsigned bit = 0; bit < 32; bit++) {
		uint32_t f = 1u << bit;

		if (f & VIRTIO_CAN_FLAGS_KNOWN)
			continue;
		n = msg(b, VIRTIO_CAN_TX, 1, f, 1);
		expect_refused(b, n, F_ALL);                  /* undefined flag */
	}
	n = msg(b, VIRTIO_CAN_TX, 8, VIRTIO_CAN_FLAGS_FD, 1);
	expect_refused(b, n, F_CLASSIC | F_RTR);              /* FD not negotiated */
	n = msg(b, VIRTIO_CAN_TX, 8, 0, 1);
	expect_refused(b, n, F_FD);                           /* classic not negotiated */
	n = msg(b, VIRTIO_CAN_TX, 2, VIRTIO_CAN_FLAGS_RTR, 1);
	expect_refused(b, n, F_CLASSIC | F_FD);               /* RTR not negotiated */
	n = msg(b, VIRTIO_CAN_TX, 2, VIRTIO_CAN_FLAGS_RTR | VIRTIO_CAN_FLAGS_FD, 1);
	expect_refused(b, n, F_ALL);                          /* RTR with FD */
	n = msg(b, VIRTIO_CAN_TX, 9, VIRTIO_CAN_FLAGS_RTR, 1);
	expect_refused(b, n, F_ALL);                          /* RTR DLC > 8 */
	n = msg(b, VIRTIO_CAN_TX, 1, 0, 0x800);
	expect_refused(b, n, F_ALL);                          /* standard id > 11 bits */
	n = msg(b, VIRTIO_CAN_TX, 1, VIRTIO_CAN_FLAGS_EXTENDED, 0x20000000);
	expect_refused(b, n, F_ALL);                          /* extended id > 29 bits */
	n = msg(b, VIRTIO_CAN_TX, 1, VIRTIO_CAN_FLAGS_EXTENDED, 0x80000001);
	expect_refused(b, n, F_ALL);                          /* the 3 top bits */
	n = msg(b, VIRTIO_CAN_TX, 9, 0, 1);
	expect_refused(b, n, F_ALL);                          /* classic > 8 */
	static const unsigned badfd[] = { 9, 10, 11, 13, 15, 17, 25, 33, 47, 63, 65, 2048 };
	for (unsigned i = 0; i < sizeof(badfd) / sizeof(badfd[0]); i++) {
		n = msg(b, VIRTIO_CAN_TX, (uint16_t)badfd[i], VIRTIO_CAN_FLAGS_FD, 1);
		expect_refused(b, n > VIRTIO_CAN_MSG_MAX ? VIRTIO_CAN_MSG_MAX : n, F_ALL);
	}
	n = msg(b, VIRTIO_CAN_TX, 1, 0, 1);
	b[5] = 1;                                             /* padding */
	expect_refused(b, n, F_ALL);
	n = msg(b, VIRTIO_CAN_TX, 1, 0, 1);
	b[6] = 1;                                             /* reserved_xl_priority */
	expect_refused(b, n, F_ALL);
	n = msg(b, VIRTIO_CAN_TX, 7, 0, 1);
	b[4] = 9;                                             /* DLC with length != 8 */
	expect_refused(b, n, F_ALL);
	n = msg(b, VIRTIO_CAN_TX, 8, 0, 1);
	b[4] = 16;                                            /* DLC over 15 */
	expect_refused(b, n, F_ALL);
	n = msg(b, VIRTIO_CAN_TX, 8, 0, 1);
	b[4] = 3;                                             /* DLC under 8 */
	expect_refused(b, n, F_ALL);
	n = msg(b, VIRTIO_CAN_TX, 8, VIRTIO_CAN_FLAGS_FD, 1);
	b[4] = 9;                                             /* DLC on FD */
	expect_refused(b, n, F_ALL);
}

static uint32_t le32_at(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return le32toh(v);
}

static void test_rx_encode(void **state)
{
	uint8_t out[VIRTIO_CAN_MSG_MAX];
	struct canfd_frame f = { .can_id = 0x123, .len = 3, .data = { 1, 2, 3 } };

	assert_int_equal(can_rx_encode(&f, CAN_MTU, F_CLASSIC, out), 19);
	assert_int_equal(out[0] | out[1] << 8, VIRTIO_CAN_RX);
	assert_int_equal(out[2] | out[3] << 8, 3);
	assert_int_equal(le32_at(out + 8), 0);
	assert_int_equal(le32_at(out + 12), 0x123);
	assert_memory_equal(out + 16, "\1\2\3", 3);

	f.can_id = 0x1abcdef0 | CAN_EFF_FLAG;
	f.len = 64;
	assert_int_equal(can_rx_encode(&f, CANFD_MTU, F_FD, out), 80);
	assert_int_equal(le32_at(out + 8), VIRTIO_CAN_FLAGS_FD | VIRTIO_CAN_FLAGS_EXTENDED);
	assert_int_equal(le32_at(out + 12), 0x1abcdef0);
	assert_int_equal(can_rx_encode(&f, CANFD_MTU, F_CLASSIC | F_RTR, out), 0);

	/* RTR: length = DLC, no data copied. */
	f = (struct canfd_frame){ .can_id = 0x10 | CAN_RTR_FLAG, .len = 5, .data = { 9 } };
	assert_int_equal(can_rx_encode(&f, CAN_MTU, F_ALL, out), 21);
	assert_int_equal(le32_at(out + 8), VIRTIO_CAN_FLAGS_RTR);
	assert_int_equal(out[16], 0);
	assert_int_equal(can_rx_encode(&f, CAN_MTU, F_CLASSIC | F_FD, out), 0);

	/* Classic not negotiated, error frames, odd sizes: never encoded. */
	f = (struct canfd_frame){ .can_id = 1, .len = 1 };
	assert_int_equal(can_rx_encode(&f, CAN_MTU, F_FD, out), 0);
	f.can_id = CAN_ERR_FLAG | 0x40;
	assert_int_equal(can_rx_encode(&f, CAN_MTU, F_ALL, out), 0);
	f.can_id = 1;
	assert_int_equal(can_rx_encode(&f, 10, F_ALL, out), 0);
	f.len = 9;
	assert_int_equal(can_rx_encode(&f, CAN_MTU, F_ALL, out), 0);
	f.len = 13;
	assert_int_equal(can_rx_encode(&f, CANFD_MTU, F_ALL, out), 0);
	/* A classic 8-byte frame's DLC 9..15 travels in reserved_classic_dlc. */
	f = (struct canfd_frame){ .can_id = 1, .len = 8 };
	((struct can_frame *)&f)->len8_dlc = 15;
	assert_int_equal(can_rx_encode(&f, CAN_MTU, F_CLASSIC, out), 24);
	assert_int_equal(out[4], 15);
}

static void test_ctrl_parse(void **state)
{
	uint8_t b[2] = { 0x01, 0x02 };

	assert_int_equal(can_ctrl_parse(b, 2), VIRTIO_CAN_SET_CTRL_MODE_START);
	assert_int_equal(can_ctrl_parse(b, 1), -1);
	assert_true(can_fd_len_valid(64));
	assert_false(can_fd_len_valid(63));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tx_valid),
		cmocka_unit_test(test_tx_refused),
		cmocka_unit_test(test_rx_encode),
		cmocka_unit_test(test_ctrl_parse),
	};

	return cmocka_run_group_tests_name("vhost-device-can messages", tests, NULL, NULL);
}
