/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Integration: the worker pool (docs/architecture.md, "Threads and
 * ownership").  One worker serves many sockets, so a frontend that stops
 * in the middle of a message must not hold up the others on its worker;
 * and the thread count stays the pool's, whatever the guest count.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "backend.h"
#include "it-util.h"

#define NSOCK 4

struct fixture {
	struct backend be;
	char sock[NSOCK][160];
};

static int start(void **state, const char *workers)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *args[] = { "-c", "4", "--workers", workers, NULL };

	if (!f || backend_start(&f->be, "vhost-device-rng", true, NSOCK, args) < 0) {
		free(f);
		return -1;
	}
	for (unsigned i = 0; i < NSOCK; i++)
		backend_socket(&f->be, true, i, f->sock[i], sizeof(f->sock[i]));
	*state = f;
	return 0;
}

static int setup_one(void **state) { return start(state, "1"); }
static int setup_two(void **state) { return start(state, "2"); }

static int teardown(void **state)
{
	struct fixture *f = *state;
	int st = backend_stop(&f->be);

	free(f);
	return st == 0 ? 0 : -1;
}

/* Threads of the backend (/proc/PID/status). */
static int thread_count(pid_t pid)
{
	char path[64], line[256];
	int n = -1;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	fp = fopen(path, "r");
	if (!fp)
		return -1;
	while (fgets(line, sizeof(line), fp))
		if (sscanf(line, "Threads: %d", &n) == 1)
			break;
	fclose(fp);
	return n;
}

/* A round trip on every socket: every worker runs (the socket files exist
 * before the pool is started), so the thread count is settled. */
static void ping_each(const char (*sock)[160], unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct vhu_conn *c;

		assert_int_equal(vhu_connect(sock[i], 3000, &c), 0);
		assert_int_equal(vhu_ping(c), 0);
		vhu_close(c);
	}
}

/* The other frontend on the same (only) worker is answered while the
 * first one's message is incomplete. */
static void assert_other_served(struct fixture *f)
{
	struct vhu_conn *b;

	assert_int_equal(vhu_connect(f->sock[1], 3000, &b), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(vhu_ping(b), 0);
	it_assert_rng_serves(f->sock[2]);
	vhu_close(b);
}

/* Half a header, then nothing: the worker goes on serving others; the
 * rest arrives and the message is answered. */
static void test_stalled_header(void **state)
{
	struct fixture *f = *state;
	struct vhu_hdr h = { .request = VHU_GET_FEATURES, .flags = VHU_VERSION, .size = 0 };
	struct vhu_conn *a;
	uint64_t features = 0;

	assert_int_equal(vhu_connect(f->sock[0], 3000, &a), 0);
	assert_int_equal(vhu_ping(a), 0);
	assert_int_equal(vhu_send_raw(a, &h, 6, NULL, 0), 0);
	assert_other_served(f);
	assert_int_equal(vhu_send_raw(a, (const char *)&h + 6, sizeof(h) - 6, NULL, 0), 0);
	assert_int_equal(vhu_recv_reply(a, VHU_GET_FEATURES, &features, sizeof(features)), 0);
	assert_true(features & (1ull << 32));      /* VIRTIO_F_VERSION_1 */
	vhu_close(a);
}

/* Header and fd (SCM_RIGHTS with the first bytes), payload later: the fd
 * is kept with the message being assembled and counted by the same
 * checks as ever (SET_VRING_CALL wants exactly one). */
static void test_stalled_payload_with_fd(void **state)
{
	struct fixture *f = *state;
	struct vhu_hdr h = {
		.request = VHU_SET_VRING_CALL,
		.flags = VHU_VERSION | VHU_FLAG_NEED_REPLY,
		.size = 8,
	};
	uint64_t index = 0, ack = 99;
	struct vhu_conn *a;
	int efd = eventfd(0, EFD_CLOEXEC);

	assert_true(efd >= 0);
	assert_int_equal(vhu_connect(f->sock[0], 3000, &a), 0);
	assert_int_equal(vhu_init(a, 0), 0);
	assert_int_equal(vhu_send_raw(a, &h, sizeof(h), &efd, 1), 0);
	assert_other_served(f);
	assert_int_equal(vhu_send_raw(a, &index, 4, NULL, 0), 0);
	assert_other_served(f);
	assert_int_equal(vhu_send_raw(a, (const char *)&index + 4, 4, NULL, 0), 0);
	assert_int_equal(vhu_recv_reply(a, VHU_SET_VRING_CALL, &ack, sizeof(ack)), 0);
	assert_int_equal(ack, 0);
	assert_int_equal(vhu_ping(a), 0);
	close(efd);
	vhu_close(a);
}

/* A frontend that leaves mid-message costs only its connection: the
 * socket takes the next frontend. */
static void test_leaves_mid_message(void **state)
{
	struct fixture *f = *state;
	struct vhu_hdr h = { .request = VHU_GET_FEATURES, .flags = VHU_VERSION, .size = 0 };
	struct vhu_conn *a;

	assert_int_equal(vhu_connect(f->sock[0], 3000, &a), 0);
	assert_int_equal(vhu_send_raw(a, &h, 5, NULL, 0), 0);
	vhu_close(a);
	it_assert_rng_serves(f->sock[0]);
	assert_other_served(f);
}

/* Four guests connected, two workers: the process has the main thread
 * and the pool, no thread per guest.  Counted relative to the idle
 * process, which may have threads of its own (a sanitizer's). */
static void test_threads_fixed(void **state)
{
	struct fixture *f = *state;
	struct vhu_conn *c[NSOCK];
	int idle;

	ping_each(f->sock, NSOCK);
	idle = thread_count(f->be.pid);
	assert_true(idle >= 1 + 2);
	for (unsigned i = 0; i < NSOCK; i++) {
		assert_int_equal(vhu_connect(f->sock[i], 3000, &c[i]), 0);
		assert_int_equal(vhu_ping(c[i]), 0);
	}
	assert_int_equal(thread_count(f->be.pid), idle);
	for (unsigned i = 0; i < NSOCK; i++)
		assert_int_equal(vhu_ping(c[i]), 0);
	for (unsigned i = 0; i < NSOCK; i++)
		vhu_close(c[i]);
	for (unsigned i = 0; i < NSOCK; i++)
		it_assert_rng_serves(f->sock[i]);
}

/* Round trips on the connection while the other guest's queue runs. */
static void *pinger(void *arg)
{
	struct vhu_conn *c = arg;

	for (int i = 0; i < 500; i++)
		if (vhu_ping(c) != 0)
			return (void *)1;
	return NULL;
}

/* One echo of `len` bytes on queue 0 of the template. */
static void echo_once(struct vhu_session *s, unsigned round)
{
	enum { LEN = 128 };
	size_t mark = vhu_mem_mark(s->m);
	uint8_t *rd = vhu_mem_alloc(s->m, LEN, 64), *wr = vhu_mem_alloc(s->m, LEN, 64);
	struct vhu_sg o, in;
	uint32_t len = 0;
	void *tok = NULL;

	assert_non_null(rd);
	assert_non_null(wr);
	for (unsigned i = 0; i < LEN; i++)
		rd[i] = (uint8_t)(round + i);
	o = (struct vhu_sg){ vhu_mem_gpa(s->m, rd), LEN };
	in = (struct vhu_sg){ vhu_mem_gpa(s->m, wr), LEN };
	assert_true(vhu_vq_add(s->vq[0], &o, 1, &in, 1, rd, false) >= 0);
	assert_true(vhu_vq_publish_kick(s->vq[0], false) >= 0);
	while (vhu_vq_get_used(s->vq[0], &len, &tok) != 1)
		if (vhu_vq_wait(s->vq[0], 5000, 0) != 1)
			fail_msg("round %u: no completion within 5 s", round);
	assert_ptr_equal(tok, rd);
	assert_int_equal(len, LEN);
	assert_memory_equal(wr, rd, LEN);
	vhu_mem_release(s->m, mark);
}

/*
 * Queue threads under the pool: two template guests with --queue-threads
 * on one worker.  While guest A's queue thread echoes, guest B's messages
 * (each pausing B's queue threads, on the worker that also serves A)
 * keep coming from another thread: neither stalls, and both connections
 * end cleanly.
 */
static void test_queue_threads_shared_worker(void **state)
{
	struct backend be;
	const char *args[] = { "-c", "2", "--workers", "1", "--queue-threads", NULL };
	char sock[2][160];
	struct vhu_session_opts o;
	struct vhu_session *a, *b;
	pthread_t t;
	void *res;
	int one;

	(void)state;
	assert_int_equal(backend_start(&be, "vhost-device-template", true, 2, args), 0);
	for (unsigned i = 0; i < 2; i++)
		backend_socket(&be, true, i, sock[i], sizeof(sock[i]));
	it_opts(&o, sock[0]);
	a = it_open(&o);
	one = thread_count(be.pid);
	it_opts(&o, sock[1]);
	b = it_open(&o);
	/* The second guest adds its two queue threads, and no worker. */
	assert_int_equal(thread_count(be.pid), one + 2);
	assert_int_equal(pthread_create(&t, NULL, pinger, b->c), 0);
	for (unsigned r = 0; r < 300; r++)
		echo_once(a, r);
	assert_int_equal(pthread_join(t, &res), 0);
	assert_null(res);
	echo_once(b, 0);
	vhu_session_close(a);
	vhu_session_close(b);
	it_opts(&o, sock[0]);
	a = it_open(&o);
	echo_once(a, 1);
	vhu_session_close(a);
	assert_int_equal(backend_stop(&be), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_stalled_header, setup_one, teardown),
		cmocka_unit_test_setup_teardown(test_stalled_payload_with_fd, setup_one, teardown),
		cmocka_unit_test_setup_teardown(test_leaves_mid_message, setup_one, teardown),
		cmocka_unit_test_setup_teardown(test_threads_fixed, setup_two, teardown),
		cmocka_unit_test(test_queue_threads_shared_worker),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
