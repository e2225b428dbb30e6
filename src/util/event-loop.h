/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Event loop: epoll over fds plus timers (timerfd), one loop per worker
 * thread.  Callbacks run on the loop's thread, one at a time.
 *
 * Promises:
 *  - A handler may remove itself or any other handler (ev_del) from inside
 *    a callback, and free it right after: events of the same epoll batch
 *    for a removed handler are dropped, never delivered.
 *  - ev_stop() may be called from any thread (it writes an eventfd).
 *  - Timers are one-shot, re-armable, and cost one timerfd each.
 */
#ifndef VHD_EVENT_LOOP_H
#define VHD_EVENT_LOOP_H

#include <stdbool.h>
#include <stdint.h>

struct ev_loop;
struct ev_handler;

typedef void (*ev_cb)(struct ev_handler *h, uint32_t events);

/* Embedded in the caller's object; the loop never allocates it. */
struct ev_handler {
	int fd;
	ev_cb cb;
	void *opaque;
	struct ev_loop *loop;   /* set while registered */
};

struct ev_loop *ev_loop_new(void);
void ev_loop_free(struct ev_loop *loop);

/* Register h (fd, cb, opaque set by the caller) for EPOLLIN etc. */
int ev_add(struct ev_loop *loop, struct ev_handler *h, uint32_t events);
int ev_mod(struct ev_handler *h, uint32_t events);
/* Unregister (no-op if not registered).  Does not close the fd. */
void ev_del(struct ev_handler *h);

/* Run until ev_stop.  Returns 0, or -errno if epoll itself fails. */
int ev_run(struct ev_loop *loop);
void ev_stop(struct ev_loop *loop);
bool ev_stopped(const struct ev_loop *loop);

/* Timers. */
struct ev_timer;
typedef void (*ev_timer_cb)(struct ev_timer *t, void *opaque);
struct ev_timer *ev_timer_new(struct ev_loop *loop, ev_timer_cb cb, void *opaque);
/* Fire once after ns nanoseconds (ns == 0: as soon as possible). */
int ev_timer_arm(struct ev_timer *t, uint64_t ns);
void ev_timer_disarm(struct ev_timer *t);
bool ev_timer_armed(const struct ev_timer *t);
void ev_timer_free(struct ev_timer *t);   /* NULL is fine */

#endif
