/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/* Integration tests: shared helpers (see it-util.h). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "it-util.h"

int64_t it_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void it_sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

void it_opts(struct vhu_session_opts *o, const char *path)
{
	vhu_session_defaults(o, path);
	o->connect_ms = 30000;
	o->timeout_ms = 30000;
	o->vq.num = 64;
	o->vq.max_indirect = 8;
	o->vq.err_fd = true;
	o->mem_size = 4u << 20;
}

struct vhu_session *it_open(const struct vhu_session_opts *o)
{
	struct vhu_session *s = NULL;
	char err[512] = "";
	int r = vhu_session_open(o, &s, err, sizeof(err));

	if (r < 0)
		fail_msg("opening a session on %s: %s", o->path, err);
	return s;
}

struct copy_ctx {
	uint8_t *out;
	size_t len, cap;
};

static int copy_sink(void *opaque, const uint8_t *data, uint32_t len)
{
	struct copy_ctx *c = opaque;
	size_t n = len;

	if (n > c->cap - c->len)
		n = c->cap - c->len;
	memcpy(c->out + c->len, data, n);
	c->len += n;
	return 0;
}

int it_pump(struct vhu_session *s, uint8_t *out, size_t bytes, uint32_t buf_size,
	    bool indirect, size_t *got)
{
	struct copy_ctx ctx = { .out = out, .cap = bytes };
	struct vhu_pump_opts po = {
		.buf_size = buf_size, .depth = 32, .batch = 8, .max_bytes = bytes,
		.idle_timeout_ms = 30000, .indirect = indirect,
		.sink = out ? copy_sink : NULL, .opaque = &ctx,
	};
	struct vhu_pump_result res;
	int r = vhu_pump_read(s->vq[0], s->m, &po, &res);

	*got = (size_t)res.bytes;
	return r;
}

int it_read_one(struct vhu_session *s, void *buf, uint32_t len, int timeout_ms)
{
	struct vhu_sg sg = { vhu_mem_gpa(s->m, buf), len };
	uint32_t used = 0;
	void *tok = NULL;
	int r;

	r = vhu_vq_add(s->vq[0], NULL, 0, &sg, 1, buf, false);
	if (r < 0)
		return r;
	r = vhu_vq_publish_kick(s->vq[0], false);
	if (r < 0)
		return r;
	r = vhu_vq_wait(s->vq[0], timeout_ms, 0);
	if (r <= 0)
		return r == 0 ? -ETIMEDOUT : r;
	r = vhu_vq_get_used(s->vq[0], &used, &tok);
	if (r != 1)
		return r < 0 ? r : -EPROTO;
	if (tok != buf)
		return -EPROTO;
	return (int)used;
}

void it_assert_rng_serves(const char *path)
{
	struct vhu_session_opts o;
	struct vhu_session *s;
	uint8_t data[4096];
	size_t got = 0, nonzero = 0;

	it_opts(&o, path);
	s = it_open(&o);
	memset(data, 0, sizeof(data));
	assert_int_equal(it_pump(s, data, sizeof(data), 1024, false, &got), 0);
	assert_int_equal(got, sizeof(data));
	for (size_t i = 0; i < sizeof(data); i++)
		nonzero += data[i] != 0;
	/* 4096 random bytes: ~16 zeros expected; all-zero means no data. */
	assert_true(nonzero > 3900);
	vhu_session_close(s);
}
