/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * libvhu-frontend, gpio part: a small virtio-gpio *guest driver* on top of
 * a vhu_session (requestq 0, eventq 1), so a test or the
 * vhost-user-frontend command can play the guest of a vhost-user-gpio
 * backend.
 *
 * Written from the virtio spec ("GPIO Device"), independently of the
 * backend, with the buffers Linux's gpio-virtio driver uses: a request is
 * one chain of an 8-byte readable request and a writable response (2
 * bytes, 1 + gpio_names_size for GET_LINE_NAMES), and the used length
 * must be the response's size; an interrupt buffer is a 2-byte readable
 * line number and a 1-byte writable status, one per line at most.
 *
 * Blocking calls take a timeout in ms and return -ETIMEDOUT.  Not
 * thread-safe.
 */
#ifndef VHD_VHU_GPIO_H
#define VHD_VHU_GPIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vhu-frontend.h"

#define VHU_GPIO_F_IRQ 0

#define VHU_GPIO_GET_LINE_NAMES 1
#define VHU_GPIO_GET_DIRECTION 2
#define VHU_GPIO_SET_DIRECTION 3
#define VHU_GPIO_GET_VALUE 4
#define VHU_GPIO_SET_VALUE 5
#define VHU_GPIO_SET_IRQ_TYPE 6

#define VHU_GPIO_DIR_NONE 0
#define VHU_GPIO_DIR_OUT 1
#define VHU_GPIO_DIR_IN 2

#define VHU_GPIO_IRQ_NONE 0
#define VHU_GPIO_IRQ_EDGE_RISING 1
#define VHU_GPIO_IRQ_EDGE_FALLING 2
#define VHU_GPIO_IRQ_EDGE_BOTH 3
#define VHU_GPIO_IRQ_LEVEL_HIGH 4
#define VHU_GPIO_IRQ_LEVEL_LOW 8

#define VHU_GPIO_IRQ_INVALID 0
#define VHU_GPIO_IRQ_VALID 1

/* Extra eventq buffers for hostile tests (a second buffer for a line, a
 * line number out of range). */
#define VHU_GPIO_RAW_IRQ_SLOTS 8

struct vhu_gpio;

struct vhu_gpio_opts {
	const char *path;
	int connect_ms;         /* default 5000 */
	unsigned queue_size;    /* default 256 */
	bool no_irq;            /* do not ack VIRTIO_GPIO_F_IRQ */
	bool no_event_idx;
	bool xen_mmap;          /* as vhu_session_opts.send_mem (Xen grants) */
	int (*send_mem)(void *opaque, struct vhu_session *s);
	void *send_mem_opaque;
};

void vhu_gpio_defaults(struct vhu_gpio_opts *o, const char *path);
/* Connect, negotiate, read the config space, start both queues. */
int vhu_gpio_open(const struct vhu_gpio_opts *o, struct vhu_gpio **out, char *err, size_t errlen);
void vhu_gpio_close(struct vhu_gpio *d);
struct vhu_session *vhu_gpio_session(struct vhu_gpio *d);
unsigned vhu_gpio_ngpio(const struct vhu_gpio *d);
uint32_t vhu_gpio_names_size(const struct vhu_gpio *d);

/* One message other than GET_LINE_NAMES; waits for its answer.  0 with
 * *status (and *value, may be NULL), -ETIMEDOUT, -EPROTO (used length
 * not 2). */
int vhu_gpio_request(struct vhu_gpio *d, uint16_t type, uint16_t gpio, uint32_t value,
		     uint8_t *status, uint8_t *value_out, int timeout_ms);
/* GET_LINE_NAMES: names[i] of ngpio lines point into an internal copy
 * valid until the next call.  0 with *status; -EPROTO on a bad length or
 * a blob that does not hold ngpio strings. */
int vhu_gpio_line_names(struct vhu_gpio *d, uint8_t *status, const char ***names,
			int timeout_ms);
/* Any request: rd_len readable bytes from rd (at most 4096), a writable
 * part of wr_len bytes (at most 4096, 0 for none) copied to wr after; *used
 * the used length.  For malformed-request tests. */
int vhu_gpio_raw(struct vhu_gpio *d, const void *rd, uint32_t rd_len, uint32_t wr_len,
		 void *wr, uint32_t *used, int timeout_ms);

/* Queue line's interrupt buffer (unmask) and kick.  -EBUSY if one is
 * queued already. */
int vhu_gpio_irq_unmask(struct vhu_gpio *d, uint16_t line);
/* Queue up to n at once with one kick (64 lines armed together). */
int vhu_gpio_irq_unmask_many(struct vhu_gpio *d, const uint16_t *lines, unsigned n);
/* A hostile buffer: gpio field as given, in raw slot k (0..7). */
int vhu_gpio_irq_unmask_raw(struct vhu_gpio *d, unsigned k, uint16_t gpio);
/* Collect one completed interrupt buffer: *line (the gpio field it
 * carried; raw slots give VHU_GPIO_RAW_LINE(k)), *status.  0, -ETIMEDOUT,
 * -EPROTO (used length not 1). */
#define VHU_GPIO_RAW_LINE(k) (0x10000u + (k))
int vhu_gpio_irq_wait(struct vhu_gpio *d, int timeout_ms, uint32_t *line, uint8_t *status);
/* Whether line's buffer is with the device. */
bool vhu_gpio_irq_queued(const struct vhu_gpio *d, uint16_t line);
/* Interrupt buffers with the device. */
unsigned vhu_gpio_irq_in_flight(const struct vhu_gpio *d);

const char *vhu_gpio_error(const struct vhu_gpio *d);

#endif
