/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * libvhu-frontend, console part: a small virtio-console *guest driver*
 * (virtio 1.2, 5.3) on top of a vhu_session, for the tests of
 * vhost-device-console (no QEMU release has its vhost-user frontend).
 * Written from the spec, as Linux's virtio_console lays out its buffers:
 * one port (queues 0/1 its receive/transmit, 2/3 control receive/
 * transmit), control messages struct virtio_console_control (8 bytes)
 * plus a name or a size.
 */
#ifndef VHD_VHU_CONSOLE_H
#define VHD_VHU_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vhu-frontend.h"

#define VHU_CON_DEVICE_READY 0
#define VHU_CON_DEVICE_ADD 1
#define VHU_CON_PORT_READY 3
#define VHU_CON_CONSOLE_PORT 4
#define VHU_CON_RESIZE 5
#define VHU_CON_PORT_OPEN 6
#define VHU_CON_PORT_NAME 7

struct vhu_console;

struct vhu_console_opts {
	const char *path;
	int connect_ms;         /* default 5000 */
	unsigned queue_size;    /* default 128 */
	bool no_multiport;      /* do not ack VIRTIO_CONSOLE_F_MULTIPORT */
	/* As vhu_session_opts.send_mem (Xen grant tables); NULL: memfd. */
	bool xen_mmap;
	int (*send_mem)(void *opaque, struct vhu_session *s);
	void *send_mem_opaque;
};

struct vhu_console_msg {
	uint32_t id;
	uint16_t event, value;
	uint8_t extra[64];
	uint32_t extra_len;
};

void vhu_console_defaults(struct vhu_console_opts *o, const char *path);
int vhu_console_open(const struct vhu_console_opts *o, struct vhu_console **out, char *err,
		     size_t errlen);
void vhu_console_close(struct vhu_console *d);
struct vhu_session *vhu_console_session(struct vhu_console *d);

/* Config space: cols, rows, max_nr_ports. */
int vhu_console_config(struct vhu_console *d, uint16_t *cols, uint16_t *rows, uint32_t *ports);
/* Send one control message and wait until the device used it. */
int vhu_console_send(struct vhu_console *d, uint32_t id, uint16_t event, uint16_t value,
		     int timeout_ms);
/* The next control message from the device (control receive buffers are
 * posted at open and re-posted).  1, 0 on timeout, -errno. */
int vhu_console_recv(struct vhu_console *d, struct vhu_console_msg *m, int timeout_ms);
/* Give the device n receive buffers of size bytes for port data. */
int vhu_console_rx_post(struct vhu_console *d, unsigned n, uint32_t size);
/* Port data the device sent: wait up to timeout_ms for the first used
 * buffer, then take what is there; returns the bytes (0 on timeout). */
int vhu_console_read(struct vhu_console *d, uint8_t *buf, size_t cap, int timeout_ms);
/* Send len bytes on the port (buffers of at most 4096 bytes, as Linux)
 * and wait until the device used them all. */
int vhu_console_write(struct vhu_console *d, const void *data, size_t len, int timeout_ms);
/* Receive buffers the device holds. */
unsigned vhu_console_rx_posted(const struct vhu_console *d);

#endif
