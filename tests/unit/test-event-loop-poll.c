/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Unit tests of the event loop's adaptive polling (src/util/event-loop.h):
 * a fake "ring" poller whose work appears with or without a notification
 * (an eventfd standing for the kick).  What must hold whatever the
 * machine's speed: work that arrives while notifications are off is
 * handled before the loop sleeps (no lost wake-up: otherwise the loop
 * would block forever, bounded here by a 30 s timer that fails the test);
 * polling finds work that comes without any notification while the budget
 * allows; an idle loop (an event after a wait longer than the maximum)
 * drops its budget to 0; a loop without pollers or with polling off never
 * runs a window.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "util/event-loop.h"

struct fake_ring {
	struct vhd_poller p;
	struct vhd_handler kick;    /* the "kick" eventfd */
	struct vhd_loop *loop;
	bool notify_on;
	unsigned pending;           /* requests in the ring */
	unsigned done;              /* requests handled */
	unsigned want;              /* stop the loop after this many */
	/* Put one request in the ring, silently, when notifications are
	 * turned off this many times (0: never). */
	unsigned add_at_off;
	unsigned offs;
	/* Or just as they are turned on again (the race a re-check covers:
	 * after the last poll, before the driver could see them on). */
	unsigned add_at_on;
	unsigned ons;
	bool timed_out;
};

static void handle_all(struct fake_ring *r)
{
	r->done += r->pending;
	r->pending = 0;
	if (r->done >= r->want)
		vhd_loop_stop(r->loop);
}

static bool ring_poll(struct vhd_poller *p)
{
	struct fake_ring *r = p->opaque;

	if (!r->pending)
		return false;
	handle_all(r);
	return true;
}

static bool ring_notify(struct vhd_poller *p, bool on)
{
	struct fake_ring *r = p->opaque;

	r->notify_on = on;
	if (!on && ++r->offs == r->add_at_off)
		r->pending++;       /* arrives while notifications are off */
	if (on && ++r->ons == r->add_at_on)
		r->pending++;       /* arrived before they were on: no kick */
	return on && r->pending;
}

static void kick_cb(struct vhd_handler *h, uint32_t events)
{
	struct fake_ring *r = h->opaque;
	uint64_t v;

	(void)events;
	if (read(h->fd, &v, sizeof(v)) < 0)
		return;
	handle_all(r);
}

static void bound_cb(struct vhd_timer *t, void *opaque)
{
	struct fake_ring *r = opaque;

	(void)t;
	r->timed_out = true;
	vhd_loop_stop(r->loop);
}

/* A request with a kick (the driver saw notifications on). */
static void kick(struct fake_ring *r)
{
	uint64_t one = 1;

	r->pending++;
	assert_int_equal(write(r->kick.fd, &one, sizeof(one)), sizeof(one));
}

static void ring_setup(struct fake_ring *r, uint64_t poll_max_ns)
{
	memset(r, 0, sizeof(*r));
	vhd_loop_set_poll_max(poll_max_ns);
	r->loop = vhd_loop_new();
	assert_non_null(r->loop);
	r->kick.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	assert_true(r->kick.fd >= 0);
	r->kick.cb = kick_cb;
	r->kick.opaque = r;
	assert_int_equal(vhd_loop_add(r->loop, &r->kick, EPOLLIN), 0);
	r->p.poll = ring_poll;
	r->p.notify = ring_notify;
	r->p.opaque = r;
	vhd_loop_add_poller(r->loop, &r->p);
}

static void ring_run(struct fake_ring *r)
{
	struct vhd_timer *bound = vhd_timer_new(r->loop, bound_cb, r);

	assert_non_null(bound);
	/* Only a failure bound: the loop stops itself when done. */
	assert_int_equal(vhd_timer_arm(bound, 30ull * 1000000000u), 0);
	assert_int_equal(vhd_loop_run(r->loop), 0);
	vhd_timer_free(bound);
	assert_false(r->timed_out);
}

static void ring_teardown(struct fake_ring *r)
{
	vhd_loop_del_poller(&r->p);
	vhd_loop_del(&r->kick);
	close(r->kick.fd);
	vhd_loop_free(r->loop);
	vhd_loop_set_poll_max(0);
}

/*
 * No lost wake-up: the first kick makes the budget grow (it came at once),
 * the next window turns notifications off and a request arrives silently
 * then; no kick will ever come for it, so the loop must see it when it
 * turns notifications on before sleeping (or while polling).
 */
static void t_silent_arrival_handled(void **state)
{
	struct fake_ring r;
	struct vhd_poll_stats st;

	(void)state;
	ring_setup(&r, 1000000000ull);      /* 1 s: any event grows it */
	r.want = 2;
	r.add_at_off = 1;
	kick(&r);
	ring_run(&r);
	assert_int_equal(r.done, 2);
	vhd_loop_poll_stats(r.loop, &st);
	assert_true(st.windows >= 1);
	assert_true(st.hits >= 1);
	ring_teardown(&r);
}

/* The same request arriving after the window's last poll, before
 * notifications were on: only the re-check before sleeping finds it. */
static void t_arrival_before_reenable_handled(void **state)
{
	struct fake_ring r;
	struct vhd_poll_stats st;

	(void)state;
	ring_setup(&r, 1000000000ull);
	r.want = 2;
	r.add_at_on = 1;
	kick(&r);
	ring_run(&r);
	assert_int_equal(r.done, 2);
	vhd_loop_poll_stats(r.loop, &st);
	assert_true(st.hits >= 1);
	ring_teardown(&r);
}

/* An idle loop: the event that ends a wait longer than the maximum resets
 * the budget to 0, so the next wait has no polling window. */
static void idle_stop_cb(struct vhd_timer *t, void *opaque)
{
	struct fake_ring *r = opaque;

	(void)t;
	vhd_loop_stop(r->loop);
}

static void t_idle_budget_drops_to_zero(void **state)
{
	struct fake_ring r;
	struct vhd_poll_stats st;
	struct vhd_timer *t;

	(void)state;
	ring_setup(&r, 1000);               /* 1 us maximum */
	r.want = 1000;
	kick(&r);
	/* The loop handles the kick, then waits 50 ms (> 1 us) for the
	 * timer: that wait resets the budget. */
	t = vhd_timer_new(r.loop, idle_stop_cb, &r);
	assert_non_null(t);
	assert_int_equal(vhd_timer_arm(t, 50000000u), 0);
	assert_int_equal(vhd_loop_run(r.loop), 0);
	assert_int_equal(r.done, 1);
	vhd_loop_poll_stats(r.loop, &st);
	assert_int_equal(st.poll_ns, 0);
	vhd_timer_free(t);
	ring_teardown(&r);
}

/* Polling off (the default): no window ever, the kick path alone. */
static void t_off_never_polls(void **state)
{
	struct fake_ring r;
	struct vhd_poll_stats st;

	(void)state;
	ring_setup(&r, 0);
	r.want = 3;
	kick(&r);
	kick(&r);
	kick(&r);
	ring_run(&r);
	vhd_loop_poll_stats(r.loop, &st);
	assert_int_equal(st.windows, 0);
	assert_int_equal(r.offs, 0);
	ring_teardown(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_silent_arrival_handled),
		cmocka_unit_test(t_arrival_before_reenable_handled),
		cmocka_unit_test(t_idle_budget_drops_to_zero),
		cmocka_unit_test(t_off_never_polls),
	};

	vhd_log_set_program("test-event-loop-poll");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
