/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * The virtio console's multiport control protocol (virtio 1.2, 5.3.6.2
 * "Multiport Device Operation") for one port, and the byte buffers between
 * the guest and the host side.  Pure logic, no I/O: unit-tested in
 * tests/unit/test-console.c.
 *
 * A control message is struct virtio_console_control (le32 id, le16 event,
 * le16 value), followed for PORT_NAME by the name and for RESIZE by struct
 * virtio_console_resize (le16 cols, le16 rows).
 */
#ifndef VHD_CONSOLE_PROTO_H
#define VHD_CONSOLE_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VIRTIO_CONSOLE_F_SIZE 0
#define VIRTIO_CONSOLE_F_MULTIPORT 1

#define VIRTIO_CONSOLE_DEVICE_READY 0
#define VIRTIO_CONSOLE_DEVICE_ADD 1
#define VIRTIO_CONSOLE_DEVICE_REMOVE 2
#define VIRTIO_CONSOLE_PORT_READY 3
#define VIRTIO_CONSOLE_CONSOLE_PORT 4
#define VIRTIO_CONSOLE_RESIZE 5
#define VIRTIO_CONSOLE_PORT_OPEN 6
#define VIRTIO_CONSOLE_PORT_NAME 7

#define CON_CTRL_HDR 8
#define CON_NAME_MAX 64
#define CON_MSG_MAX (CON_CTRL_HDR + CON_NAME_MAX)
#define CON_MSGQ_LEN 16

struct con_msg {
	uint8_t bytes[CON_MSG_MAX];
	uint32_t len;
};

/* Control messages waiting for the driver's control receive buffers. */
struct con_msgq {
	struct con_msg m[CON_MSGQ_LEN];
	unsigned head, count;
	unsigned lost;                  /* dropped: the driver took none */
};

/* The port (id 0) as the control protocol sees it. */
struct con_port {
	char name[CON_NAME_MAX + 1];    /* PORT_NAME ("" : none sent) */
	bool console;                   /* CONSOLE_PORT */
	bool device_ready;              /* DEVICE_READY(1) seen */
	bool port_ready;                /* PORT_READY(0, 1) seen */
	bool guest_open;                /* PORT_OPEN from the driver */
	bool host_open;                 /* the host side is connected */
	uint16_t cols, rows;            /* 0: size unknown */
};

void con_msgq_put(struct con_msgq *q, uint32_t id, uint16_t event, uint16_t value,
		  const void *extra, size_t extra_len);
const struct con_msg *con_msgq_peek(const struct con_msgq *q);
void con_msgq_pop(struct con_msgq *q);

/* Parse one driver->device message.  0, or -1 (shorter than the header). */
int con_ctrl_parse(const uint8_t *buf, size_t len, uint32_t *id, uint16_t *event,
		   uint16_t *value);

/* Act on one driver->device message: update the port, queue the device's
 * answers (DEVICE_ADD after DEVICE_READY; CONSOLE_PORT, PORT_NAME,
 * RESIZE and PORT_OPEN after PORT_READY).  Returns 1 when the guest opened
 * the port, 0 otherwise, -1 for a message the device refuses (unknown
 * port, an event only the device sends): ignored, the caller logs it. */
int con_ctrl_handle(struct con_port *p, struct con_msgq *q, uint32_t id, uint16_t event,
		    uint16_t value);

/* The host side connected or went away: PORT_OPEN to the driver once the
 * port is ready. */
void con_host_open(struct con_port *p, struct con_msgq *q, bool open);
/* A new terminal size: RESIZE to the driver once the port is ready. */
void con_resize(struct con_port *p, struct con_msgq *q, uint16_t cols, uint16_t rows);

/* A byte FIFO of fixed capacity. */
struct con_buf {
	uint8_t *data;
	size_t cap, head, len;
};

int con_buf_init(struct con_buf *b, size_t cap);
void con_buf_free(struct con_buf *b);
static inline size_t con_buf_room(const struct con_buf *b) { return b->cap - b->len; }
/* Append up to n bytes; returns how many fit. */
size_t con_buf_put(struct con_buf *b, const void *src, size_t n);
/* The longest contiguous run at the front: *p and its length. */
size_t con_buf_front(const struct con_buf *b, const uint8_t **p);
void con_buf_consume(struct con_buf *b, size_t n);

#endif
