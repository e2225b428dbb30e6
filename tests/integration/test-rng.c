/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Integration: vhost-device-rng driven over its real socket by
 * libvhu-frontend.  Negotiated values, data, file sources (content and
 * end of file), rate limiting, memory layouts, stop/restart of the ring.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "it-util.h"

struct fixture {
	struct backend be;
	char sock[160];
};

static int start_rng(void **state, const char *const *args, unsigned nsockets)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	if (backend_start(&f->be, "vhost-device-rng", true, nsockets, args) < 0) {
		free(f);
		return -1;
	}
	backend_socket(&f->be, true, 0, f->sock, sizeof(f->sock));
	*state = f;
	return 0;
}

static int setup_default(void **state)
{
	return start_rng(state, NULL, 1);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (f) {
		/* SIGTERM must end it cleanly (exit 0). */
		int st = backend_stop(&f->be);
		free(f);
		*state = NULL;
		if (st != 0) {
			fprintf(stderr, "backend exit status %d after SIGTERM\n", st);
			return -1;
		}
	}
	return 0;
}

/* ---- negotiation -------------------------------------------------------- */

static void test_negotiation(void **state)
{
	struct fixture *f = *state;
	const uint64_t want_features = VHD_BIT(VIRTIO_F_VERSION_1) |
		VHD_BIT(VIRTIO_RING_F_INDIRECT_DESC) | VHD_BIT(VIRTIO_RING_F_EVENT_IDX) |
		VHD_BIT(VIRTIO_F_NOTIFY_ON_EMPTY) | VHD_BIT(VIRTIO_F_RING_PACKED) |
		VHD_BIT(VHOST_USER_F_PROTOCOL_FEATURES);
	const uint64_t want_protocol = VHD_BIT(VHU_PF_MQ) | VHD_BIT(VHU_PF_REPLY_ACK) |
		VHD_BIT(VHU_PF_BACKEND_REQ) | VHD_BIT(VHU_PF_RESET_DEVICE) |
		VHD_BIT(VHU_PF_CONFIGURE_MEM_SLOTS) | VHD_BIT(VHU_PF_STATUS);
	const struct vhu_info *in;
	struct vhu_conn *c;
	uint64_t status = 0;
	uint8_t cfg[8];

	assert_int_equal(vhu_connect(f->sock, 30000, &c), 0);
	/* Every message acknowledged: a refusal anywhere fails here. */
	vhu_conn_set_ack_all(c, true);
	assert_int_equal(vhu_negotiate(c, ~0ull, ~0ull), 0);
	in = vhu_conn_info(c);
	assert_int_equal(in->features, want_features);
	/* No CONFIG: QEMU 7.2.0-7.2.2 crash when an rng backend offers it. */
	assert_int_equal(in->protocol, want_protocol);
	assert_false(in->protocol & VHD_BIT(VHU_PF_CONFIG));
	assert_int_equal(in->queue_num, 1);
	assert_int_equal(in->max_mem_slots, VHU_MAX_MEM_SLOTS);
	assert_int_equal(in->acked_features, want_features);
	assert_true(vhu_backend_channel(c) >= 0);
	/* SET_FEATURES made the library set FEATURES_OK; the backend keeps it. */
	assert_int_equal(vhu_get_u64(c, VHU_GET_STATUS, &status), 0);
	assert_int_equal(status, VIRTIO_STATUS_FEATURES_OK);
	assert_int_equal(vhu_set_u64(c, VHU_SET_STATUS, 0xf), 0);
	assert_int_equal(vhu_get_u64(c, VHU_GET_STATUS, &status), 0);
	assert_int_equal(status, 0xf);
	/* GET_CONFIG without CONFIG: the protocol's refusal, an empty config. */
	assert_int_equal(vhu_get_config(c, 0, sizeof(cfg), cfg), -EIO);
	assert_int_equal(vhu_ping(c), 0);
	vhu_close(c);
}

/* A frontend like QEMU 7.2 after a reconnect of vhost-user-rng (the
 * behaviour docs/architecture.md, "The connection state machine", allows):
 * no GET_FEATURES / SET_PROTOCOL_FEATURES / SET_OWNER, straight to
 * SET_FEATURES and the rings, and legacy-style features without bit 30
 * (rings enabled at once, no SET_VRING_ENABLE). */
static void test_minimal_frontend(void **state)
{
	struct fixture *f = *state;
	struct vhu_vq_opts vo = { .num = 8 };
	struct vhu_conn *c;
	struct vhu_mem *m;
	struct vhu_vq *q;
	uint8_t *buf;
	uint32_t len;
	void *tok;

	assert_int_equal(vhu_connect(f->sock, 30000, &c), 0);
	assert_int_equal(vhu_set_u64(c, VHU_SET_FEATURES, VHD_BIT(VIRTIO_F_VERSION_1)), 0);
	assert_int_equal(vhu_mem_create(1 << 20, 0, 0, &m), 0);
	assert_int_equal(vhu_send_mem(c, m, false), 0);
	assert_int_equal(vhu_vq_create(c, m, 0, &vo, &q), 0);
	/* acked_features is 0 in the library: no EVENT_IDX, no ENABLE sent. */
	assert_int_equal(vhu_vq_start(q), 0);
	buf = vhu_mem_alloc(m, 512, 64);
	assert_non_null(buf);
	struct vhu_sg sg = { vhu_mem_gpa(m, buf), 512 };
	assert_true(vhu_vq_add(q, NULL, 0, &sg, 1, buf, false) >= 0);
	assert_true(vhu_vq_publish_kick(q, false) >= 0);
	assert_int_equal(vhu_vq_wait(q, 30000, 0), 1);
	assert_int_equal(vhu_vq_get_used(q, &len, &tok), 1);
	assert_int_equal(len, 512);
	assert_ptr_equal(tok, buf);
	vhu_close(c);
	vhu_vq_destroy(q);
	vhu_mem_destroy(m);
}

/* ---- data --------------------------------------------------------------- */

/* 1 MiB of plausible random data: every byte value present, none far
 * above its expected count (a constant, a counter or a short repeating
 * pattern all fail). */
static void check_random(const uint8_t *d, size_t n)
{
	size_t hist[256] = { 0 };
	size_t expect = n / 256;

	for (size_t i = 0; i < n; i++)
		hist[d[i]]++;
	for (unsigned v = 0; v < 256; v++) {
		if (hist[v] < expect / 2 || hist[v] > expect * 3 / 2)
			fail_msg("byte 0x%02x appears %zu times in %zu bytes (expected ~%zu)",
				 v, hist[v], n, expect);
	}
	/* No 64-byte block equals the one before it. */
	for (size_t i = 64; i + 64 <= n; i += 64)
		assert_memory_not_equal(d + i - 64, d + i, 64);
}

static void test_data_1mib(void **state)
{
	struct fixture *f = *state;
	const size_t n = 1u << 20;
	uint8_t *a = calloc(1, n), *b = calloc(1, n);
	struct vhu_session_opts o;
	struct vhu_session *s;
	size_t got;

	assert_non_null(a);
	assert_non_null(b);
	it_opts(&o, f->sock);
	s = it_open(&o);
	assert_int_equal(it_pump(s, a, n, 4096, false, &got), 0);
	assert_int_equal(got, n);
	check_random(a, n);
	/* A second read on the same connection, small indirect buffers. */
	assert_int_equal(it_pump(s, b, n, 64, true, &got), 0);
	assert_int_equal(got, n);
	check_random(b, n);
	assert_memory_not_equal(a, b, 4096);
	assert_int_equal(vhu_vq_stats(s->vq[0])->used, n / 4096 + n / 64);
	vhu_session_close(s);

	/* And a new connection gets new data too. */
	s = it_open(&o);
	memset(a, 0, n);
	assert_int_equal(it_pump(s, a, 65536, 65536, false, &got), 0);
	assert_int_equal(got, 65536);
	assert_memory_not_equal(a, b, 65536);
	vhu_session_close(s);
	free(a);
	free(b);
}

/* Two regions (the second at a GPA above a hole, mmap_offset != 0), sent
 * with ADD_MEM_REG; one buffer in each region, one crossing nothing. */
static void run_two_regions(const char *sock, bool add_mem_reg)
{
	struct vhu_session_opts o;
	struct vhu_session *s;
	uint8_t *lo, *hi;
	int r;

	it_opts(&o, sock);
	o.mem_size = 2u << 20;
	o.mem_split = 1u << 20;
	o.mem_hole = 256u << 20;
	o.add_mem_reg = add_mem_reg;
	s = it_open(&o);
	assert_int_equal(vhu_mem_nregions(s->m), 2);
	lo = vhu_mem_alloc(s->m, 4096, 64);
	/* Fill the rest of the first region. */
	assert_non_null(vhu_mem_alloc(s->m, (1u << 20) - vhu_mem_mark(s->m), 1));
	hi = vhu_mem_alloc(s->m, 4096, 64);
	assert_non_null(lo);
	assert_non_null(hi);
	assert_true(vhu_mem_gpa(s->m, hi) >= (1u << 20) + (256u << 20));
	assert_true(vhu_mem_gpa(s->m, lo) < (1u << 20));
	memset(lo, 0, 4096);
	memset(hi, 0, 4096);
	r = it_read_one(s, lo, 4096, 30000);
	assert_int_equal(r, 4096);
	r = it_read_one(s, hi, 4096, 30000);
	assert_int_equal(r, 4096);
	assert_memory_not_equal(lo, hi, 4096);
	for (const uint8_t *p = hi; p < hi + 64; p += 8)
		if (p[0] | p[1] | p[2] | p[3] | p[4] | p[5] | p[6] | p[7])
			goto ok;
	fail_msg("the buffer in the second region was not written");
ok:
	vhu_session_close(s);
}

static void test_two_regions_mem_table(void **state)
{
	run_two_regions(((struct fixture *)*state)->sock, false);
}

static void test_two_regions_add_mem_reg(void **state)
{
	run_two_regions(((struct fixture *)*state)->sock, true);
}

/* GET_VRING_BASE reports how many requests the device took; the ring
 * restarts from there (as after QMP stop/cont) and keeps serving. */
static void test_stop_restart(void **state)
{
	struct fixture *f = *state;
	struct vhu_session_opts o;
	struct vhu_session *s;
	uint8_t *buf;
	uint16_t base = 0;
	size_t got;

	it_opts(&o, f->sock);
	s = it_open(&o);
	assert_int_equal(it_pump(s, NULL, 10 * 512, 512, false, &got), 0);
	assert_int_equal(got, 10 * 512);
	assert_int_equal(vhu_vq_stop(s->vq[0], &base), 0);
	assert_int_equal(base, 10);
	/* Stopped: a request is not served (nobody watches the kick). */
	buf = vhu_mem_alloc(s->m, 256, 64);
	assert_int_equal(it_read_one(s, buf, 256, 300), -ETIMEDOUT);
	/* Restart with the base: the pending request is served first. */
	assert_int_equal(vhu_vq_start(s->vq[0]), 0);
	assert_int_equal(vhu_vq_publish_kick(s->vq[0], true), 1);
	assert_int_equal(vhu_vq_wait(s->vq[0], 30000, 0), 1);
	uint32_t len;
	void *tok;
	assert_int_equal(vhu_vq_get_used(s->vq[0], &len, &tok), 1);
	assert_int_equal(len, 256);
	assert_ptr_equal(tok, buf);
	assert_int_equal(it_pump(s, NULL, 4096, 512, false, &got), 0);
	assert_int_equal(vhu_vq_stop(s->vq[0], &base), 0);
	assert_int_equal(base, 10 + 1 + 8);
	vhu_session_close(s);
}

/* Without EVENT_IDX the device uses VRING_USED_F_NO_NOTIFY and honours
 * VRING_AVAIL_F_NO_INTERRUPT; a burst must still complete. */
static void test_no_event_idx(void **state)
{
	struct fixture *f = *state;
	struct vhu_session_opts o;
	struct vhu_session *s;
	size_t got;

	it_opts(&o, f->sock);
	o.features = VHD_BIT(VIRTIO_F_VERSION_1);
	s = it_open(&o);
	assert_false(vhu_has_feature(s->c, VIRTIO_RING_F_EVENT_IDX));
	assert_int_equal(it_pump(s, NULL, 256 * 1024, 128, false, &got), 0);
	assert_int_equal(got, 256 * 1024);
	vhu_session_close(s);
}

/* ---- file sources ------------------------------------------------------- */

static uint8_t pattern(size_t i)
{
	return (uint8_t)((i * 131 + (i >> 8) * 7 + 3) & 0xff);
}

static void write_pattern(const char *path, size_t n)
{
	FILE *fp = fopen(path, "wb");

	assert_non_null(fp);
	for (size_t i = 0; i < n; i++)
		fputc(pattern(i), fp);
	assert_int_equal(fclose(fp), 0);
}

struct file_fixture {
	struct fixture f;
	char file[160];
	size_t size;
};

static int setup_file(void **state, size_t size)
{
	char dir[] = "/tmp/vhd-it-src-XXXXXX", file[160];
	const char *args[] = { "-f", file, NULL };
	struct file_fixture *ff;
	void *inner = NULL;

	if (!mkdtemp(dir))
		return -1;
	snprintf(file, sizeof(file), "%s/source", dir);
	write_pattern(file, size);
	if (start_rng(&inner, args, 1) < 0) {
		unlink(file);
		rmdir(dir);
		return -1;
	}
	ff = realloc(inner, sizeof(*ff));
	if (!ff)
		return -1;
	memcpy(ff->file, file, sizeof(file));
	ff->size = size;
	*state = ff;
	return 0;
}

static int setup_file_64k(void **state)
{
	return setup_file(state, 65536);
}

static int setup_file_1000(void **state)
{
	return setup_file(state, 1000);
}

static int teardown_file(void **state)
{
	struct file_fixture *ff = *state;
	char dir[160];

	if (ff) {
		snprintf(dir, sizeof(dir), "%s", ff->file);
		unlink(ff->file);
		*strrchr(dir, '/') = '\0';
		rmdir(dir);
	}
	return teardown(state);
}

/* The bytes are the file's, in order, whatever the request size: a 4 KiB
 * part (read into guest memory directly) then 100-byte requests (served
 * from the backend's buffer), then odd sizes. */
static void test_file_content(void **state)
{
	struct file_fixture *ff = *state;
	uint8_t *d = calloc(1, ff->size);
	struct vhu_session_opts o;
	struct vhu_session *s;
	size_t got;

	assert_non_null(d);
	it_opts(&o, ff->f.sock);
	s = it_open(&o);
	assert_int_equal(it_pump(s, d, 16384, 4096, false, &got), 0);
	assert_int_equal(got, 16384);
	assert_int_equal(it_pump(s, d + 16384, 16384, 100, false, &got), 0);
	assert_int_equal(got, 16384);
	vhu_session_close(s);
	/* Another connection continues where the file is. */
	s = it_open(&o);
	assert_int_equal(it_pump(s, d + 32768, ff->size - 32768, 999, true, &got), 0);
	assert_int_equal(got, ff->size - 32768);
	for (size_t i = 0; i < ff->size; i++)
		if (d[i] != pattern(i))
			fail_msg("byte %zu is 0x%02x, the file has 0x%02x", i, d[i], pattern(i));
	vhu_session_close(s);
	free(d);
}

/* End of file (documented in src/devices/rng/rng.c): the request that
 * reaches EOF completes with the bytes there were; a request for which no
 * byte is left is not completed (given back to the ring, never completed
 * empty); the connection keeps answering, and GET_VRING_BASE shows the
 * waiting request was not consumed. */
static void test_file_eof(void **state)
{
	struct file_fixture *ff = *state;
	struct vhu_session_opts o;
	struct vhu_session *s;
	uint8_t *a, *b;
	uint16_t base = 0xffff;

	it_opts(&o, ff->f.sock);
	s = it_open(&o);
	a = vhu_mem_alloc(s->m, 4096, 64);
	b = vhu_mem_alloc(s->m, 4096, 64);
	assert_int_equal(it_read_one(s, a, 4096, 30000), (int)ff->size);
	for (size_t i = 0; i < ff->size; i++)
		assert_int_equal(a[i], pattern(i));
	/* The second request: the backend says (in its log) that it found
	 * no byte and gave the request back; the ping after it is answered
	 * by the same loop, so nothing about that request is still on its
	 * way: it is not completed (no "nothing within N ms"). */
	{
		struct vhu_sg sg = { vhu_mem_gpa(s->m, b), 4096 };

		assert_true(vhu_vq_add(s->vq[0], NULL, 0, &sg, 1, b, false) >= 0);
		assert_true(vhu_vq_publish_kick(s->vq[0], false) >= 0);
	}
	assert_int_equal(backend_wait_log(&ff->f.be, "reached end of file", 30000), 0);
	assert_int_equal(vhu_ping(s->c), 0);
	assert_int_equal(vhu_vq_wait(s->vq[0], 0, 0), 0);
	assert_int_equal(vhu_vq_in_flight(s->vq[0]), 1);
	assert_int_equal(vhu_vq_stop(s->vq[0], &base), 0);
	assert_int_equal(base, 1);
	vhu_session_close(s);
	/* Still answering a new frontend (which also waits for data). */
	it_opts(&o, ff->f.sock);
	s = it_open(&o);
	assert_int_equal(vhu_ping(s->c), 0);
	vhu_session_close(s);
}

/* ---- rate limiting ------------------------------------------------------ */

/* Milliseconds a reader with small buffers takes for `bytes`.
 *
 * The backend starts a new period, with a fresh quota, only when at least
 * one period passed since the last one started (src/devices/rng/rng.c).
 * The first period may have started before the read, so reading k quotas
 * needs k periods and takes at least (k - 2) whole periods.  That lower
 * bound holds however busy the machine is (load only makes reads later);
 * there is no upper bound but the failure bound, 30 s without data. */
static double ms_to_read(const char *sock, uint64_t bytes)
{
	struct vhu_session_opts o;
	struct vhu_session *s;
	struct vhu_pump_opts po = {
		.buf_size = 256, .depth = 16, .batch = 1,
		.max_bytes = bytes, .idle_timeout_ms = 30000,
	};
	struct vhu_pump_result res;
	struct timespec a, b;

	it_opts(&o, sock);
	s = it_open(&o);
	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_int_equal(vhu_pump_read(s->vq[0], s->m, &po, &res), 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	vhu_session_close(s);
	assert_true(res.bytes >= bytes);
	return (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
}

static int setup_rate(void **state)
{
	static const char *const args[] = { "-p", "200", "-m", "4096", NULL };

	return start_rng(state, args, 1);
}

static int setup_rate_2(void **state)
{
	static const char *const args[] = { "-c", "2", "-p", "200", "-m", "4096", NULL };

	return start_rng(state, args, 2);
}

/* -p 200 -m 4096: 6 quotas of 4096 take at least 4 periods (800 ms). */
static void test_rate_limit(void **state)
{
	struct fixture *f = *state;
	double ms = ms_to_read(f->sock, 6 * 4096);

	fprintf(stderr, "rate: 24576 bytes in %.0f ms (at least 800 ms)\n", ms);
	if (ms < 800)
		fail_msg("24576 bytes in %.0f ms with -p 200 -m 4096: the limit is not kept "
			 "(at most 4096 bytes per 200 ms)", ms);
}

/* -c 2: the quota is divided equally, 2048 per period and socket: 6 of
 * them take at least 800 ms (with an undivided quota of 4096 the same
 * bytes are 3 quotas: at least 200 ms only). */
static void test_rate_limit_two_sockets(void **state)
{
	struct fixture *f = *state;
	char sock1[160];

	for (unsigned i = 0; i < 2; i++) {
		double ms;

		backend_socket(&f->be, true, i, sock1, sizeof(sock1));
		ms = ms_to_read(sock1, 6 * 2048);
		fprintf(stderr, "rate: socket %u: 12288 bytes in %.0f ms (at least 800 ms)\n", i, ms);
		if (ms < 800)
			fail_msg("socket %u: 12288 bytes in %.0f ms with -c 2 -p 200 -m 4096: the "
				 "quota is not divided (at most 2048 bytes per 200 ms)", i, ms);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_negotiation, setup_default, teardown),
		cmocka_unit_test_setup_teardown(test_minimal_frontend, setup_default, teardown),
		cmocka_unit_test_setup_teardown(test_data_1mib, setup_default, teardown),
		cmocka_unit_test_setup_teardown(test_two_regions_mem_table, setup_default, teardown),
		cmocka_unit_test_setup_teardown(test_two_regions_add_mem_reg, setup_default, teardown),
		cmocka_unit_test_setup_teardown(test_stop_restart, setup_default, teardown),
		cmocka_unit_test_setup_teardown(test_no_event_idx, setup_default, teardown),
		cmocka_unit_test_setup_teardown(test_file_content, setup_file_64k, teardown_file),
		cmocka_unit_test_setup_teardown(test_file_eof, setup_file_1000, teardown_file),
		cmocka_unit_test_setup_teardown(test_rate_limit, setup_rate, teardown),
		cmocka_unit_test_setup_teardown(test_rate_limit_two_sockets, setup_rate_2, teardown),
	};

	return cmocka_run_group_tests_name("integration: vhost-device-rng", tests, NULL, NULL);
}
