/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Unit tests of vhost-device-console's control protocol and buffers
 * (console-proto.c): the answers to DEVICE_READY and PORT_READY (kind,
 * name, size, host state), PORT_OPEN from the driver, events the driver
 * may not send, resize and host state changes before and after the port
 * is ready, a full message queue, short messages, and the byte FIFO
 * across its wrap-around.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "devices/console/console-proto.h"

static void expect(struct con_msgq *q, uint16_t event, uint16_t value, const void *extra,
		   size_t extra_len)
{
	const struct con_msg *m = con_msgq_peek(q);
	uint32_t id;
	uint16_t ev, val;

	assert_non_null(m);
	assert_int_equal(con_ctrl_parse(m->bytes, m->len, &id, &ev, &val), 0);
	assert_int_equal(id, 0);
	assert_int_equal(ev, event);
	assert_int_equal(val, value);
	assert_int_equal(m->len, 8 + extra_len);
	if (extra_len)
		assert_memory_equal(m->bytes + 8, extra, extra_len);
	con_msgq_pop(q);
}

static void test_handshake(void **state)
{
	struct con_port p = { .console = true, .cols = 80, .rows = 25, .host_open = true };
	struct con_msgq q = { .count = 0 };
	uint8_t size[4] = { 80, 0, 25, 0 };

	(void)state;
	strcpy(p.name, "console0");
	assert_int_equal(con_ctrl_handle(&p, &q, 0, VIRTIO_CONSOLE_DEVICE_READY, 1), 0);
	expect(&q, VIRTIO_CONSOLE_DEVICE_ADD, 0, NULL, 0);
	assert_null(con_msgq_peek(&q));
	assert_int_equal(con_ctrl_handle(&p, &q, 0, VIRTIO_CONSOLE_PORT_READY, 1), 0);
	expect(&q, VIRTIO_CONSOLE_CONSOLE_PORT, 1, NULL, 0);
	expect(&q, VIRTIO_CONSOLE_PORT_NAME, 0, "console0", 8);
	expect(&q, VIRTIO_CONSOLE_RESIZE, 0, size, 4);
	expect(&q, VIRTIO_CONSOLE_PORT_OPEN, 1, NULL, 0);
	assert_null(con_msgq_peek(&q));
	assert_int_equal(con_ctrl_handle(&p, &q, 0, VIRTIO_CONSOLE_PORT_OPEN, 1), 1);
	assert_true(p.guest_open);
	assert_int_equal(con_ctrl_handle(&p, &q, 0, VIRTIO_CONSOLE_PORT_OPEN, 0), 0);
	assert_false(p.guest_open);
	/* Events the driver does not send, and other ports. */
	assert_int_equal(con_ctrl_handle(&p, &q, 0, VIRTIO_CONSOLE_DEVICE_ADD, 0), -1);
	assert_int_equal(con_ctrl_handle(&p, &q, 0, VIRTIO_CONSOLE_RESIZE, 0), -1);
	assert_int_equal(con_ctrl_handle(&p, &q, 0, 99, 0), -1);
	assert_int_equal(con_ctrl_handle(&p, &q, 1, VIRTIO_CONSOLE_PORT_READY, 1), -1);
	assert_int_equal(con_ctrl_handle(&p, &q, 7, VIRTIO_CONSOLE_PORT_OPEN, 1), -1);
	assert_null(con_msgq_peek(&q));
	/* A driver that failed to add the port: nothing is answered. */
	assert_int_equal(con_ctrl_handle(&p, &q, 0, VIRTIO_CONSOLE_PORT_READY, 0), 0);
	assert_null(con_msgq_peek(&q));
}

static void test_state_changes(void **state)
{
	struct con_port p = { .console = true };
	struct con_msgq q = { .count = 0 };
	uint8_t size[4] = { 0x84, 0, 43, 0 };

	(void)state;
	/* Before the port is ready: remembered, not sent. */
	con_host_open(&p, &q, true);
	con_resize(&p, &q, 132, 43);
	assert_null(con_msgq_peek(&q));
	assert_int_equal(con_ctrl_handle(&p, &q, 0, VIRTIO_CONSOLE_PORT_READY, 1), 0);
	expect(&q, VIRTIO_CONSOLE_CONSOLE_PORT, 1, NULL, 0);
	expect(&q, VIRTIO_CONSOLE_RESIZE, 0, size, 4);     /* no name: none sent */
	expect(&q, VIRTIO_CONSOLE_PORT_OPEN, 1, NULL, 0);
	/* After: each change once. */
	con_resize(&p, &q, 132, 43);
	assert_null(con_msgq_peek(&q));
	con_resize(&p, &q, 100, 30);
	size[0] = 100;
	size[2] = 30;
	expect(&q, VIRTIO_CONSOLE_RESIZE, 0, size, 4);
	con_host_open(&p, &q, false);
	con_host_open(&p, &q, false);
	expect(&q, VIRTIO_CONSOLE_PORT_OPEN, 0, NULL, 0);
	assert_null(con_msgq_peek(&q));
}

static void test_msgq_full_and_parse(void **state)
{
	struct con_msgq q = { .count = 0 };
	char longname[100];
	uint32_t id;
	uint16_t ev, val;

	(void)state;
	for (unsigned i = 0; i < CON_MSGQ_LEN + 3; i++)
		con_msgq_put(&q, 0, VIRTIO_CONSOLE_PORT_OPEN, (uint16_t)i, NULL, 0);
	assert_int_equal(q.count, CON_MSGQ_LEN);
	assert_int_equal(q.lost, 3);
	expect(&q, VIRTIO_CONSOLE_PORT_OPEN, 3, NULL, 0);   /* the oldest went */
	memset(longname, 'x', sizeof(longname));
	con_msgq_put(&q, 0, VIRTIO_CONSOLE_PORT_NAME, 0, longname, sizeof(longname));
	assert_int_equal(q.m[(q.head + q.count - 1) % CON_MSGQ_LEN].len, 8 + CON_NAME_MAX);
	assert_int_equal(con_ctrl_parse((const uint8_t *)"1234567", 7, &id, &ev, &val), -1);
}

static void test_buf(void **state)
{
	struct con_buf b;
	const uint8_t *p;
	uint8_t out[16];
	size_t n;

	(void)state;
	assert_int_equal(con_buf_init(&b, 8), 0);
	assert_int_equal(con_buf_put(&b, "abcdef", 6), 6);
	con_buf_consume(&b, 4);
	assert_int_equal(con_buf_room(&b), 6);
	assert_int_equal(con_buf_put(&b, "ghijklmn", 8), 6);   /* wraps, 2 left out */
	assert_int_equal(con_buf_room(&b), 0);
	n = con_buf_front(&b, &p);
	assert_int_equal(n, 4);                                /* ef gh up to the end */
	memcpy(out, p, n);
	con_buf_consume(&b, n);
	n = con_buf_front(&b, &p);
	assert_int_equal(n, 4);
	memcpy(out + 4, p, n);
	assert_memory_equal(out, "efghijkl", 8);
	con_buf_consume(&b, 100);
	assert_int_equal(b.len, 0);
	con_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handshake),
		cmocka_unit_test(test_state_changes),
		cmocka_unit_test(test_msgq_full_and_parse),
		cmocka_unit_test(test_buf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
