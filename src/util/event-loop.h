/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Event loop: epoll over fds plus timers (timerfd), one loop per thread
 * (a pool worker, a queue thread).  Callbacks run on the loop's thread,
 * one at a time.  A utility
 * below the protocol and daemon layers; its names carry the project's
 * vhd_ prefix so they never clash with libev's ev_* API.
 *
 * Promises:
 *  - A handler may remove itself or any other handler (vhd_loop_del) from
 *    inside a callback, and free it right after: events of the same epoll
 *    batch for a removed handler are dropped, never delivered.
 *  - vhd_loop_stop() may be called from any thread (it writes an eventfd).
 *  - vhd_loop_post() may be called from any thread: the loop's thread runs
 *    the posted function soon after, in posting order; the mutex guarding
 *    the post queue orders everything the poster did before the post
 *    before the function runs.  Posts still queued when the loop stops
 *    are not run (their owner cleans up after joining the thread).
 *  - Timers are one-shot, re-armable, and cost one timerfd each.
 *  - Adaptive polling (off unless vhd_loop_set_poll_max was called before
 *    the loop was made): after handling events, before it sleeps, the
 *    loop turns its pollers' notifications off and calls their poll
 *    function for at most poll_ns, stopping at the first that made
 *    progress; then it turns notifications on again, and a poller that
 *    reports work arrived meanwhile is polled once more before the loop
 *    sleeps (no lost wake-up).  poll_ns adapts as QEMU's IOThread
 *    poll-max-ns does: an event that came within poll_max after the loop
 *    went to wait doubles it (from 4 us), a wait longer than poll_max
 *    resets it to 0.  So an idle guest costs no polling at all: after its
 *    last event the loop polls at most once, for at most poll_max.
 */
#ifndef VHD_EVENT_LOOP_H
#define VHD_EVENT_LOOP_H

#include <stdbool.h>
#include <stdint.h>

struct vhd_loop;
struct vhd_handler;

typedef void (*vhd_handler_cb)(struct vhd_handler *h, uint32_t events);

/* Embedded in the caller's object; the loop never allocates it. */
struct vhd_handler {
	int fd;
	vhd_handler_cb cb;
	void *opaque;
	struct vhd_loop *loop;   /* set while registered */
};

struct vhd_loop *vhd_loop_new(void);
void vhd_loop_free(struct vhd_loop *loop);

/* Register h (fd, cb, opaque set by the caller) for EPOLLIN etc. */
int vhd_loop_add(struct vhd_loop *loop, struct vhd_handler *h, uint32_t events);
int vhd_loop_mod(struct vhd_handler *h, uint32_t events);
/* Unregister (no-op if not registered).  Does not close the fd. */
void vhd_loop_del(struct vhd_handler *h);

/* Run until vhd_loop_stop.  Returns 0, or -errno if epoll itself fails. */
int vhd_loop_run(struct vhd_loop *loop);
void vhd_loop_stop(struct vhd_loop *loop);
bool vhd_loop_stopped(const struct vhd_loop *loop);

/* Work handed to the loop's thread.  Embedded in the caller's object; one
 * vhd_post is queued at most once at a time (the caller's protocol makes
 * sure, e.g. one hand-off per connection). */
struct vhd_post;
typedef void (*vhd_post_fn)(struct vhd_post *p);
struct vhd_post {
	struct vhd_post *next;
	vhd_post_fn fn;
};
void vhd_loop_post(struct vhd_loop *loop, struct vhd_post *p);

/* Pollers (adaptive polling).  Embedded in the caller's object. */
struct vhd_poller;
/* Look for work and handle it: true only if it made progress (a poller
 * whose work cannot be taken now must say false, or the loop would keep
 * polling it). */
typedef bool (*vhd_poll_fn)(struct vhd_poller *p);
/* Notifications off (on = false) while the loop polls; back on before it
 * sleeps: then true if work arrived while they were off. */
typedef bool (*vhd_poll_notify_fn)(struct vhd_poller *p, bool on);
struct vhd_poller {
	vhd_poll_fn poll;
	vhd_poll_notify_fn notify;
	void *opaque;
	struct vhd_loop *loop;          /* set while registered */
	struct vhd_poller *prev, *next;
};
/* Register / unregister (no-op if not registered); from the loop's
 * thread.  Unregistering from inside a poll function is allowed. */
void vhd_loop_add_poller(struct vhd_loop *loop, struct vhd_poller *p);
void vhd_loop_del_poller(struct vhd_poller *p);
/* Process-wide polling budget for the loops made afterwards: 0 = off
 * (the default), else the most a loop polls before sleeping. */
void vhd_loop_set_poll_max(uint64_t max_ns);
struct vhd_poll_stats {
	uint64_t windows;               /* polling windows run */
	uint64_t hits;                  /* windows that found work */
	uint64_t poll_ns;               /* the current budget */
};
void vhd_loop_poll_stats(const struct vhd_loop *loop, struct vhd_poll_stats *st);

/* Timers. */
struct vhd_timer;
typedef void (*vhd_timer_cb)(struct vhd_timer *t, void *opaque);
struct vhd_timer *vhd_timer_new(struct vhd_loop *loop, vhd_timer_cb cb, void *opaque);
/* Fire once after ns nanoseconds (ns == 0: as soon as possible). */
int vhd_timer_arm(struct vhd_timer *t, uint64_t ns);
void vhd_timer_disarm(struct vhd_timer *t);
bool vhd_timer_armed(const struct vhd_timer *t);
void vhd_timer_free(struct vhd_timer *t);   /* NULL is fine */

#endif
