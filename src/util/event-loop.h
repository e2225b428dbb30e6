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
