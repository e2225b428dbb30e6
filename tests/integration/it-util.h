/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Integration tests: helpers shared by the test programs (cmocka must be
 * included before this header).
 */
#ifndef VHD_TEST_IT_UTIL_H
#define VHD_TEST_IT_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "vhu-frontend.h"

/* Session options for our backends with a small ring and memory. */
void it_opts(struct vhu_session_opts *o, const char *path);

/* Open a session; fails the test (with the library's sentence) if not. */
struct vhu_session *it_open(const struct vhu_session_opts *o);

/* Read exactly `bytes` bytes (buf_size per request) from queue 0 of s
 * into out.  Returns the pump's result code; *got = bytes received. */
int it_pump(struct vhu_session *s, uint8_t *out, size_t bytes, uint32_t buf_size,
	    bool indirect, size_t *got);

/* Post one device-writable buffer (in guest memory) and wait for it.
 * Returns the used length, or -ETIMEDOUT after timeout_ms. */
int it_read_one(struct vhu_session *s, void *buf, uint32_t len, int timeout_ms);

/* A fresh connection to an rng socket reads 4 KiB of non-zero data. */
void it_assert_rng_serves(const char *path);

/* Milliseconds since an arbitrary point (monotonic). */
int64_t it_now_ms(void);
void it_sleep_ms(unsigned ms);

#endif
