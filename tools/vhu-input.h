/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * libvhu-frontend, input part: a small virtio-input *guest driver* on top
 * of a vhu_session, so a test or the vhost-user-frontend command can play
 * the guest of a vhost-user-input backend.
 *
 * Written from the virtio spec (5.8 "Input Device"), independently of the
 * backend, laid out as Linux's virtio_input driver does: the event queue
 * (0) gets one 8-byte device-writable buffer per event, the status queue
 * (1) one 8-byte device-readable buffer per event; the config space is
 * read by writing select and subsel, then reading the 136 bytes.
 *
 * Blocking calls take a timeout in ms and return -ETIMEDOUT.  Not
 * thread-safe.
 */
#ifndef VHD_VHU_INPUT_H
#define VHD_VHU_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vhu-frontend.h"

#define VHU_INPUT_CFG_ID_NAME 0x01
#define VHU_INPUT_CFG_ID_SERIAL 0x02
#define VHU_INPUT_CFG_ID_DEVIDS 0x03
#define VHU_INPUT_CFG_PROP_BITS 0x10
#define VHU_INPUT_CFG_EV_BITS 0x11
#define VHU_INPUT_CFG_ABS_INFO 0x12

struct vhu_input;

struct vhu_input_event {
	uint16_t type;
	uint16_t code;
	int32_t value;
};

struct vhu_input_opts {
	const char *path;
	int connect_ms;         /* default 5000 */
	unsigned queue_size;    /* default 64 (both queues) */
	bool no_event_idx;
	/* As vhu_session_opts.send_mem (Xen grant tables); NULL: memfd. */
	bool xen_mmap;
	int (*send_mem)(void *opaque, struct vhu_session *s);
	void *send_mem_opaque;
};

void vhu_input_defaults(struct vhu_input_opts *o, const char *path);
int vhu_input_open(const struct vhu_input_opts *o, struct vhu_input **out, char *err,
		   size_t errlen);
void vhu_input_close(struct vhu_input *d);
struct vhu_session *vhu_input_session(struct vhu_input *d);

/* Select (select, subsel) and read the answer: u[0..128) and *size.
 * 0, or -EPROTO when the device does not echo select/subsel. */
int vhu_input_config(struct vhu_input *d, uint8_t select, uint8_t subsel, uint8_t u[128],
		     uint8_t *size);

/* Give the device n more event buffers (at most the free ones) and kick.
 * Returns the number posted. */
int vhu_input_post(struct vhu_input *d, unsigned n);
/* Event buffers the device holds (posted, not yet used). */
unsigned vhu_input_posted(const struct vhu_input *d);
/* Collect used event buffers into ev[0..max): wait up to timeout_ms for
 * the first, then take what is there without waiting.  Returns the count
 * (0 on timeout), or -EPROTO for a used length other than 8 (the entry
 * is counted in *bad_len if given and skipped). */
int vhu_input_read(struct vhu_input *d, struct vhu_input_event *ev, unsigned max,
		   int timeout_ms);
/* Send one status event (guest -> device) and wait until it is used. */
int vhu_input_status(struct vhu_input *d, uint16_t type, uint16_t code, int32_t value,
		     int timeout_ms);
const char *vhu_input_error(const struct vhu_input *d);

#endif
