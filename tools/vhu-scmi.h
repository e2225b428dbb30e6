/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * libvhu-frontend, scmi part: a small virtio-scmi *guest driver* on top of
 * a vhu_session, so a test or the vhost-user-frontend command can play the
 * SCMI agent of a vhost-user-scmi backend.
 *
 * Written from the virtio spec (5.17 "SCMI Device") and Arm's SCMI
 * specification (DEN0056), independently of the backend: a command is one
 * chain (request readable, response writable, in separate descriptors as
 * Linux's scmi virtio transport lays them out); the response must repeat
 * the request's header.  Event buffers are writable buffers on the eventq,
 * put back on the ring as soon as a notification was taken from one.
 *
 * Blocking calls take a timeout in ms and return -ETIMEDOUT.  Not
 * thread-safe.
 */
#ifndef VHD_VHU_SCMI_H
#define VHD_VHU_SCMI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vhu-frontend.h"

#define VHU_SCMI_PROTO_BASE 0x10
#define VHU_SCMI_PROTO_SENSOR 0x15
/* Linux's virtio transport: 128 bytes of return values. */
#define VHU_SCMI_RESP_SIZE (8 + 128)
#define VHU_SCMI_NAME 16
#define VHU_SCMI_MAX_AXES 63

struct vhu_scmi;

struct vhu_scmi_opts {
	const char *path;
	int connect_ms;         /* default 5000 */
	unsigned queue_size;    /* default 256 */
	bool no_p2a;            /* do not ack VIRTIO_SCMI_F_P2A_CHANNELS */
	bool no_event_idx;
	/* As vhu_session_opts.send_mem (Xen grant tables); NULL: memfd. */
	bool xen_mmap;
	int (*send_mem)(void *opaque, struct vhu_session *s);
	void *send_mem_opaque;
};

struct vhu_scmi_axis {
	char name[VHU_SCMI_NAME];
	uint8_t type;
	int scale;
};

struct vhu_scmi_sensor {
	uint32_t id;
	char name[VHU_SCMI_NAME];
	uint8_t type;           /* SCMI sensor class */
	int scale;              /* power-of-ten exponent of a value */
	bool notify;            /* continuous update notifications */
	bool timestamped;
	int tstamp_exp;
	unsigned num_axes;      /* 0: scalar */
	struct vhu_scmi_axis axis[VHU_SCMI_MAX_AXES];
};

struct vhu_scmi_reading {
	int64_t value;
	uint64_t timestamp;
};

void vhu_scmi_defaults(struct vhu_scmi_opts *o, const char *path);
int vhu_scmi_open(const struct vhu_scmi_opts *o, struct vhu_scmi **out, char *err,
		  size_t errlen);
void vhu_scmi_close(struct vhu_scmi *d);
struct vhu_session *vhu_scmi_session(struct vhu_scmi *d);

/* One raw exchange: req[0..req_len) readable, a writable buffer of
 * resp_cap bytes (0: none); *resp_len is the used length.  0,
 * -ETIMEDOUT, -ENOSPC. */
int vhu_scmi_raw(struct vhu_scmi *d, const void *req, size_t req_len, void *resp,
		 size_t resp_cap, uint32_t *resp_len, int timeout_ms);
/* One command: header (proto, msg, a fresh token) and le32 params; the
 * response buffer is VHU_SCMI_RESP_SIZE as Linux's.  *status is the
 * SCMI status; the return values (at most ret_cap bytes) go to ret and
 * their length to *ret_len (may be NULL).  0, -ETIMEDOUT, -EPROTO (the
 * response's header or length is wrong; vhu_scmi_error says how). */
int vhu_scmi_cmd(struct vhu_scmi *d, unsigned proto, unsigned msg, const uint32_t *params,
		 unsigned nparams, int32_t *status, void *ret, size_t ret_cap, size_t *ret_len,
		 int timeout_ms);

/* Every sensor, from SENSOR_DESCRIPTION_GET and
 * SENSOR_AXIS_DESCRIPTION_GET as the agent pages through them.  *out is
 * malloc'ed (free it).  0 or -errno (-EREMOTEIO: a non-SUCCESS status). */
int vhu_scmi_sensors(struct vhu_scmi *d, struct vhu_scmi_sensor **out, unsigned *n,
		     int timeout_ms);
/* SENSOR_READING_GET: up to max readings (one per axis, or one). */
int vhu_scmi_read(struct vhu_scmi *d, uint32_t id, struct vhu_scmi_reading *r, unsigned max,
		  unsigned *n, int32_t *status, int timeout_ms);

/* Put n event buffers of size bytes on the eventq.  0 or -errno. */
int vhu_scmi_post_events(struct vhu_scmi *d, unsigned n, size_t size);
/* Wait for the next notification; copy it (header included) to buf and
 * put its buffer back.  0, -ETIMEDOUT. */
int vhu_scmi_next_event(struct vhu_scmi *d, void *buf, size_t cap, uint32_t *len,
			int timeout_ms);

const char *vhu_scmi_error(const struct vhu_scmi *d);
const char *vhu_scmi_status_name(int32_t status);

#endif
