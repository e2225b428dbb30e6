/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * libvhu-frontend, i2c part: a small virtio-i2c *guest driver* on top of a
 * vhu_session, so a test or the vhost-user-frontend command can play the
 * guest of a vhost-user-i2c backend.
 *
 * Written from the virtio spec (5.19 "I2C Adapter Device"), independently
 * of the backend: each message is one chain laid out as Linux's
 * i2c-virtio driver does (out header, buffer, in header in separate
 * descriptors); the messages of one call are added together and made
 * visible with one kick, and the device's answer is checked (every chain
 * completed, used length = read length + 1 for a read, 1 for a write).
 *
 * Blocking calls take a timeout in ms and return -ETIMEDOUT.  Not
 * thread-safe.
 */
#ifndef VHD_VHU_I2C_H
#define VHD_VHU_I2C_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vhu-frontend.h"

#define VHU_I2C_FLAGS_FAIL_NEXT 1u
#define VHU_I2C_FLAGS_M_RD 2u

struct vhu_i2c;

struct vhu_i2c_msg {
	uint16_t addr;          /* 7-bit */
	bool read;
	bool fail_next;         /* VIRTIO_I2C_FLAGS_FAIL_NEXT on this chain */
	uint32_t len;           /* 0: a zero-length request (no buffer) */
	uint8_t *buf;           /* caller's memory: written bytes / read result */
	uint8_t status;         /* out: the device's status (0 OK, 1 ERR) */
};

struct vhu_i2c_opts {
	const char *path;
	int connect_ms;         /* default 5000 */
	unsigned queue_size;    /* default 256 */
	bool no_zero_length;    /* do not ack VIRTIO_I2C_F_ZERO_LENGTH_REQUEST */
	bool no_event_idx;
	/* As vhu_session_opts.send_mem (Xen grant tables); NULL: memfd. */
	bool xen_mmap;
	int (*send_mem)(void *opaque, struct vhu_session *s);
	void *send_mem_opaque;
};

void vhu_i2c_defaults(struct vhu_i2c_opts *o, const char *path);
int vhu_i2c_open(const struct vhu_i2c_opts *o, struct vhu_i2c **out, char *err, size_t errlen);
void vhu_i2c_close(struct vhu_i2c *d);
struct vhu_session *vhu_i2c_session(struct vhu_i2c *d);

/* Submit msgs[0..n) as n chains with one kick (each msg's own fail_next)
 * and wait until all are used.  Fills status, and buf for successful
 * reads.  0, -ETIMEDOUT, -EPROTO (a used length that does not fit the
 * chain; err_detail says which), -ENOSPC (ring or memory too small). */
int vhu_i2c_submit(struct vhu_i2c *d, struct vhu_i2c_msg *msgs, unsigned n, int timeout_ms);
/* The same in two steps, for tests that publish a transfer in parts:
 * post adds and kicks (calls may follow each other, up to
 * VHU_I2C_MAX_POSTED chains; msgs must stay valid), wait collects every
 * chain posted so far. */
#define VHU_I2C_MAX_POSTED 256
int vhu_i2c_post(struct vhu_i2c *d, struct vhu_i2c_msg *msgs, unsigned n);
int vhu_i2c_wait(struct vhu_i2c *d, int timeout_ms);
/* One transfer as Linux's i2c_transfer() sends it: every message but the
 * last with FAIL_NEXT.  Returns the number of messages that succeeded
 * before the first failure (n: all), or -errno. */
int vhu_i2c_transfer(struct vhu_i2c *d, struct vhu_i2c_msg *msgs, unsigned n, int timeout_ms);
/* The last -EPROTO's explanation. */
const char *vhu_i2c_error(const struct vhu_i2c *d);

#endif
