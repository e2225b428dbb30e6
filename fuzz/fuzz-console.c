/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Fuzz target: the virtio console's multiport control protocol (virtio
 * 1.2, 5.3.6.2 "Multiport Device Operation") and its byte FIFOs, through
 * the device's real code (console-proto.c), as vhost-device-console runs
 * it for the control transmit queue, the control receive queue and the
 * host side of its one port.
 *
 * Input: records of one op byte, then its operands:
 *   op % 6 == 0  a driver control message: a length byte, then that many
 *                bytes (con_ctrl_parse of the first 8, con_ctrl_handle);
 *   1            the host side connects or goes away (one byte);
 *   2            a terminal size (cols, rows: le16 each);
 *   3            the driver gives a control receive buffer of a length
 *                byte's size: the oldest waiting message is taken;
 *   4            host bytes arrive: a length byte, put into the FIFO;
 *   5            the guest consumes a length byte's worth of the FIFO.
 * Checks: the control queue never holds more than CON_MSGQ_LEN messages,
 * each at most CON_MSG_MAX bytes with an event the device may send; the
 * FIFO never holds more than its capacity and its front run lies inside it.
 */
#include "config.h"
#include "fuzz/fuzz.h"

#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "devices/console/console-proto.h"

#define FIFO_CAP 1024u

static void check_msgq(const struct con_msgq *q)
{
	const struct con_msg *m = con_msgq_peek(q);
	uint16_t event;

	if (q->count > CON_MSGQ_LEN || (q->count == 0) != (m == NULL))
		abort();
	if (!m)
		return;
	if (m->len < CON_CTRL_HDR || m->len > CON_MSG_MAX)
		abort();
	event = (uint16_t)(m->bytes[4] | m->bytes[5] << 8);
	/* The device sends only these (5.3.6.2). */
	if (event != VIRTIO_CONSOLE_DEVICE_ADD && event != VIRTIO_CONSOLE_DEVICE_REMOVE &&
	    event != VIRTIO_CONSOLE_CONSOLE_PORT && event != VIRTIO_CONSOLE_RESIZE &&
	    event != VIRTIO_CONSOLE_PORT_OPEN && event != VIRTIO_CONSOLE_PORT_NAME)
		abort();
}

static void check_fifo(const struct con_buf *b)
{
	const uint8_t *p;
	size_t n = con_buf_front(b, &p);

	if (b->len > b->cap || n > b->len || (n && (p < b->data || p + n > b->data + b->cap)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct con_port port = { 0 };
	struct con_msgq q = { 0 };
	struct con_buf fifo;
	uint8_t buf[256];

	vhd_log_set_level(VHD_LOG_ERROR);
	snprintf(port.name, sizeof(port.name), "console0");
	port.console = true;
	if (con_buf_init(&fifo, FIFO_CAP) < 0)
		abort();
	while (in.left) {
		uint8_t op = fuzz_u8(&in) % 6, len;
		uint32_t id;
		uint16_t event, value;
		const uint8_t *p;

		switch (op) {
		case 0:
			len = fuzz_u8(&in);
			fuzz_take(&in, buf, len);
			if (con_ctrl_parse(buf, len, &id, &event, &value) == 0) {
				int r = con_ctrl_handle(&port, &q, id, event, value);

				if (r < -1 || r > 1)
					abort();
			}
			break;
		case 1:
			con_host_open(&port, &q, fuzz_u8(&in) & 1);
			break;
		case 2: {
			uint16_t cols = fuzz_u16(&in), rows = fuzz_u16(&in);

			con_resize(&port, &q, cols, rows);
			break;
		}
		case 3:
			len = fuzz_u8(&in);
			if (con_msgq_peek(&q)) {
				const struct con_msg *m = con_msgq_peek(&q);
				uint32_t n = m->len < len ? m->len : len;

				memcpy(buf, m->bytes, n);
				con_msgq_pop(&q);
			}
			break;
		case 4:
			len = fuzz_u8(&in);
			fuzz_take(&in, buf, len);
			if (con_buf_put(&fifo, buf, len) > len)
				abort();
			break;
		default:
			len = fuzz_u8(&in);
			if (con_buf_front(&fifo, &p) >= len)
				con_buf_consume(&fifo, len);
			else
				con_buf_consume(&fifo, con_buf_front(&fifo, &p));
			break;
		}
		check_msgq(&q);
		check_fifo(&fifo);
	}
	con_buf_free(&fifo);
	return 0;
}
