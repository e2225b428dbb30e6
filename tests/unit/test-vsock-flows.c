/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Unit tests of the sibling flow table (src/devices/vsock/vsock-flows.h):
 * REQUEST adds, RST removes, repeats and unknown flows change nothing,
 * deletion keeps every other flow findable (backward shift across probe
 * runs), the bound is enforced, and drain reports every flow once.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devices/vsock/vsock-flows.h"

struct seen {
	unsigned n;
	uint8_t *hit;              /* by local_port */
	uint64_t cid_sum;
};

static void count(const struct vsock_flow *fl, void *opaque)
{
	struct seen *s = opaque;

	s->n++;
	s->cid_sum += fl->peer_cid;
	if (s->hit)
		s->hit[fl->local_port]++;
}

static int add(struct vsock_flows *f, uint32_t lp, uint64_t cid, uint32_t pp)
{
	return vsock_flows_note(f, VSOCK_OP_REQUEST, VSOCK_TYPE_STREAM, lp, cid, pp);
}

static int rst(struct vsock_flows *f, uint32_t lp, uint64_t cid, uint32_t pp)
{
	return vsock_flows_note(f, VSOCK_OP_RST, VSOCK_TYPE_STREAM, lp, cid, pp);
}

static void test_add_remove(void **state)
{
	struct vsock_flows f;
	struct seen s = { 0 };

	(void)state;
	vsock_flows_init(&f);
	assert_int_equal(add(&f, 1000, 5, 80), 0);
	assert_int_equal(add(&f, 1000, 5, 80), 0);     /* repeated REQUEST */
	assert_int_equal(add(&f, 1000, 6, 80), 0);     /* other peer CID */
	assert_int_equal(add(&f, 1001, 5, 80), 0);
	assert_int_equal(f.count, 3);
	/* Data and control packets change nothing. */
	assert_int_equal(vsock_flows_note(&f, VSOCK_OP_RW, VSOCK_TYPE_STREAM, 1000, 5, 80), 0);
	assert_int_equal(vsock_flows_note(&f, VSOCK_OP_SHUTDOWN, VSOCK_TYPE_STREAM, 1000, 5, 80), 0);
	assert_int_equal(f.count, 3);
	/* An RST for a flow nobody has is ignored; one for a flow removes it. */
	assert_int_equal(rst(&f, 1000, 5, 81), 0);
	assert_int_equal(f.count, 3);
	assert_int_equal(rst(&f, 1000, 5, 80), 0);
	assert_int_equal(f.count, 2);
	/* CID 0 is never a sibling. */
	assert_int_equal(add(&f, 7, 0, 7), 0);
	assert_int_equal(f.count, 2);
	vsock_flows_drain(&f, count, &s);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.cid_sum, 11);
	assert_int_equal(f.count, 0);
	assert_null(f.slot);
}

/* Many flows with removals in between: every flow left is still found
 * (the probe runs survive deletion) and reported exactly once. */
static void test_many_with_deletes(void **state)
{
	enum { N = 5000 };
	struct vsock_flows f;
	uint8_t *hit = calloc(N, 1);
	struct seen s = { .hit = hit };
	unsigned left = 0;

	(void)state;
	assert_non_null(hit);
	vsock_flows_init(&f);
	for (uint32_t i = 0; i < N; i++)
		assert_int_equal(add(&f, i, 3 + i % 7, 1024 + i % 13), 0);
	for (uint32_t i = 0; i < N; i += 3)
		assert_int_equal(rst(&f, i, 3 + i % 7, 1024 + i % 13), 0);
	for (uint32_t i = 0; i < N; i++)
		left += i % 3 != 0;
	assert_int_equal(f.count, left);
	/* Each remaining flow is found: a repeated REQUEST adds nothing. */
	for (uint32_t i = 0; i < N; i++)
		if (i % 3)
			assert_int_equal(add(&f, i, 3 + i % 7, 1024 + i % 13), 0);
	assert_int_equal(f.count, left);
	vsock_flows_drain(&f, count, &s);
	assert_int_equal(s.n, left);
	for (uint32_t i = 0; i < N; i++)
		assert_int_equal(hit[i], i % 3 ? 1 : 0);
	free(hit);
}

static void test_bound(void **state)
{
	struct vsock_flows f;

	(void)state;
	vsock_flows_init(&f);
	for (uint32_t i = 0; i < VSOCK_FLOWS_MAX; i++)
		assert_int_equal(add(&f, i, 4, 1), 0);
	assert_true(vsock_flows_full(&f));
	assert_int_equal(add(&f, VSOCK_FLOWS_MAX, 4, 1), -ENOSPC);
	assert_int_equal(add(&f, 0, 4, 1), 0);         /* known flow: fine */
	assert_int_equal(rst(&f, 0, 4, 1), 0);
	assert_false(vsock_flows_full(&f));
	assert_int_equal(add(&f, VSOCK_FLOWS_MAX, 4, 1), 0);
	vsock_flows_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_remove),
		cmocka_unit_test(test_many_with_deletes),
		cmocka_unit_test(test_bound),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
