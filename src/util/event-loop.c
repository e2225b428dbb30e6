/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
#include "config.h"
#include "util/event-loop.h"
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define EV_BATCH 64
/* Adaptive polling: first budget, growth factor (QEMU's IOThread values). */
#define POLL_START_NS 4000u
#define POLL_GROW     2u

static uint64_t poll_max_default;

struct vhd_loop {
	int epfd;
	struct vhd_handler wake_h;      /* eventfd: vhd_loop_stop, vhd_loop_post */
	volatile bool stopped;
	pthread_mutex_t post_mu;
	struct vhd_post *post_head, **post_tail;
	/* Handlers removed during the current batch: their pending events are
	 * skipped, because the owner may already have freed them. */
	struct vhd_handler *removed[EV_BATCH];
	unsigned n_removed;
	bool overflow;                 /* more removals than fit: drop batch */
	bool in_batch;

	struct vhd_poller *pollers;
	struct vhd_poller *poll_next;   /* iteration cursor (removal-safe) */
	uint64_t poll_max_ns, poll_ns;
	struct vhd_poll_stats stats;
};

struct vhd_timer {
	struct vhd_handler h;
	vhd_timer_cb cb;
	void *opaque;
	bool armed;
};

/* Take the whole post queue, then run it: a posted function may post
 * again (to this loop too) without deadlocking. */
static void run_posts(struct vhd_loop *loop)
{
	struct vhd_post *p;

	pthread_mutex_lock(&loop->post_mu);
	p = loop->post_head;
	loop->post_head = NULL;
	loop->post_tail = &loop->post_head;
	pthread_mutex_unlock(&loop->post_mu);
	while (p && !__atomic_load_n(&loop->stopped, __ATOMIC_SEQ_CST)) {
		struct vhd_post *next = p->next;
		p->next = NULL;
		p->fn(p);
		p = next;
	}
}

static void wake_cb(struct vhd_handler *h, uint32_t events)
{
	uint64_t v;
	if (read(h->fd, &v, sizeof(v)) < 0) {
		/* spurious wake-up: nothing to drain */
	}
	run_posts(h->opaque);
}

struct vhd_loop *vhd_loop_new(void)
{
	struct vhd_loop *loop = calloc(1, sizeof(*loop));
	if (!loop)
		return NULL;
	pthread_mutex_init(&loop->post_mu, NULL);
	loop->post_tail = &loop->post_head;
	loop->poll_max_ns = poll_max_default;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	loop->wake_h.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (loop->epfd < 0 || loop->wake_h.fd < 0)
		goto fail;
	loop->wake_h.cb = wake_cb;
	loop->wake_h.opaque = loop;
	if (vhd_loop_add(loop, &loop->wake_h, EPOLLIN) < 0)
		goto fail;
	return loop;
fail:
	LOG_ERR("event loop: cannot create epoll/eventfd: %s", strerror(errno));
	if (loop->epfd >= 0)
		close(loop->epfd);
	if (loop->wake_h.fd >= 0)
		close(loop->wake_h.fd);
	pthread_mutex_destroy(&loop->post_mu);
	free(loop);
	return NULL;
}

void vhd_loop_free(struct vhd_loop *loop)
{
	if (!loop)
		return;
	close(loop->wake_h.fd);
	close(loop->epfd);
	pthread_mutex_destroy(&loop->post_mu);
	free(loop);
}

int vhd_loop_add(struct vhd_loop *loop, struct vhd_handler *h, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = h };

	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, h->fd, &ev) < 0)
		return -errno;
	h->loop = loop;
	return 0;
}

int vhd_loop_mod(struct vhd_handler *h, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = h };

	if (!h->loop)
		return -EINVAL;
	if (epoll_ctl(h->loop->epfd, EPOLL_CTL_MOD, h->fd, &ev) < 0)
		return -errno;
	return 0;
}

void vhd_loop_del(struct vhd_handler *h)
{
	struct vhd_loop *loop = h->loop;

	if (!loop)
		return;
	epoll_ctl(loop->epfd, EPOLL_CTL_DEL, h->fd, NULL);
	h->loop = NULL;
	if (loop->in_batch) {
		if (loop->n_removed < EV_BATCH)
			loop->removed[loop->n_removed++] = h;
		else
			loop->overflow = true;
	}
}

static bool was_removed(const struct vhd_loop *loop, const struct vhd_handler *h)
{
	for (unsigned i = 0; i < loop->n_removed; i++)
		if (loop->removed[i] == h)
			return true;
	return false;
}

/* ---- adaptive polling ------------------------------------------------- */

void vhd_loop_set_poll_max(uint64_t max_ns)
{
	poll_max_default = max_ns;
}

void vhd_loop_poll_stats(const struct vhd_loop *loop, struct vhd_poll_stats *st)
{
	*st = loop->stats;
	st->poll_ns = loop->poll_ns;
}

void vhd_loop_add_poller(struct vhd_loop *loop, struct vhd_poller *p)
{
	if (p->loop)
		return;
	p->loop = loop;
	p->prev = NULL;
	p->next = loop->pollers;
	if (loop->pollers)
		loop->pollers->prev = p;
	loop->pollers = p;
}

void vhd_loop_del_poller(struct vhd_poller *p)
{
	struct vhd_loop *loop = p->loop;

	if (!loop)
		return;
	if (loop->poll_next == p)
		loop->poll_next = p->next;
	if (p->prev)
		p->prev->next = p->next;
	else
		loop->pollers = p->next;
	if (p->next)
		p->next->prev = p->prev;
	p->prev = p->next = NULL;
	p->loop = NULL;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Call fn on every poller (one may remove itself or another).  With
 * notify: notify(p, on) for each; returns true if any said true (on) /
 * made progress (poll). */
static bool each_poller(struct vhd_loop *loop, int what, bool on)
{
	bool any = false;

	for (struct vhd_poller *p = loop->pollers; p; p = loop->poll_next) {
		loop->poll_next = p->next;
		if (what == 0 ? p->poll(p) : p->notify(p, on))
			any = true;
	}
	loop->poll_next = NULL;
	return any;
}

/* Poll for at most poll_ns with notifications off, then turn them on
 * and look once more.  True if work was found (the loop then does not
 * sleep). */
static bool poll_window(struct vhd_loop *loop, uint64_t t0)
{
	bool found = false;

	loop->stats.windows++;
	each_poller(loop, 1, false);
	do {
		found = each_poller(loop, 0, false);
	} while (!found && !__atomic_load_n(&loop->stopped, __ATOMIC_RELAXED) &&
		 now_ns() - t0 < loop->poll_ns);
	/* Notifications on, then re-check: work that arrived while they
	 * were off sent no notification. */
	if (each_poller(loop, 1, true) && each_poller(loop, 0, false))
		found = true;
	if (found)
		loop->stats.hits++;
	return found;
}

/* QEMU's rule: block_ns is how long the loop waited for something to
 * happen (polling included). */
static void poll_adjust(struct vhd_loop *loop, uint64_t block_ns)
{
	if (block_ns <= loop->poll_ns)
		return;                         /* the sweet spot */
	if (block_ns > loop->poll_max_ns) {
		loop->poll_ns = 0;              /* idle: do not poll next time */
		return;
	}
	if (loop->poll_ns < loop->poll_max_ns) {
		uint64_t g = loop->poll_ns ? loop->poll_ns * POLL_GROW : POLL_START_NS;

		loop->poll_ns = g < loop->poll_max_ns ? g : loop->poll_max_ns;
	}
}

int vhd_loop_run(struct vhd_loop *loop)
{
	struct epoll_event evs[EV_BATCH];

	while (!__atomic_load_n(&loop->stopped, __ATOMIC_SEQ_CST)) {
		bool polling = loop->poll_max_ns && loop->pollers;
		uint64_t t0 = polling ? now_ns() : 0;
		bool found = polling && loop->poll_ns && poll_window(loop, t0);
		int n = epoll_wait(loop->epfd, evs, EV_BATCH, found ? 0 : -1);

		if (polling && loop->pollers)
			poll_adjust(loop, now_ns() - t0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			LOG_ERR("event loop: epoll_wait: %s", strerror(errno));
			return -errno;
		}
		loop->in_batch = true;
		loop->n_removed = 0;
		loop->overflow = false;
		for (int i = 0; i < n && !__atomic_load_n(&loop->stopped, __ATOMIC_SEQ_CST); i++) {
			struct vhd_handler *h = evs[i].data.ptr;
			/* A handler removed earlier in this batch may be freed;
			 * a removed one re-added is skipped too, harmlessly: its
			 * fd is level-triggered and reported again. */
			if (loop->overflow)
				break;
			if (was_removed(loop, h))
				continue;
			h->cb(h, evs[i].events);
		}
		loop->in_batch = false;
	}
	if (loop->poll_max_ns)
		LOG_INFO("event loop: adaptive polling: %llu windows, %llu found work",
			 (unsigned long long)loop->stats.windows,
			 (unsigned long long)loop->stats.hits);
	return 0;
}

static void wake(struct vhd_loop *loop)
{
	uint64_t one = 1;
	if (write(loop->wake_h.fd, &one, sizeof(one)) < 0) {
		/* counter full: the loop is woken anyway */
	}
}

void vhd_loop_stop(struct vhd_loop *loop)
{
	__atomic_store_n(&loop->stopped, true, __ATOMIC_SEQ_CST);
	wake(loop);
}

void vhd_loop_post(struct vhd_loop *loop, struct vhd_post *p)
{
	p->next = NULL;
	pthread_mutex_lock(&loop->post_mu);
	*loop->post_tail = p;
	loop->post_tail = &p->next;
	pthread_mutex_unlock(&loop->post_mu);
	wake(loop);
}

bool vhd_loop_stopped(const struct vhd_loop *loop)
{
	return __atomic_load_n(&loop->stopped, __ATOMIC_SEQ_CST);
}

static void timer_cb(struct vhd_handler *h, uint32_t events)
{
	struct vhd_timer *t = h->opaque;
	uint64_t expirations;

	if (read(h->fd, &expirations, sizeof(expirations)) < 0)
		return;         /* re-armed or disarmed meanwhile */
	t->armed = false;
	t->cb(t, t->opaque);
}

struct vhd_timer *vhd_timer_new(struct vhd_loop *loop, vhd_timer_cb cb, void *opaque)
{
	struct vhd_timer *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->h.fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (t->h.fd < 0) {
		free(t);
		return NULL;
	}
	t->h.cb = timer_cb;
	t->h.opaque = t;
	t->cb = cb;
	t->opaque = opaque;
	if (vhd_loop_add(loop, &t->h, EPOLLIN) < 0) {
		close(t->h.fd);
		free(t);
		return NULL;
	}
	return t;
}

int vhd_timer_arm(struct vhd_timer *t, uint64_t ns)
{
	struct itimerspec its = { 0 };

	if (ns == 0)
		ns = 1;         /* 0 would disarm */
	its.it_value.tv_sec = (time_t)(ns / 1000000000u);
	its.it_value.tv_nsec = (long)(ns % 1000000000u);
	if (timerfd_settime(t->h.fd, 0, &its, NULL) < 0)
		return -errno;
	t->armed = true;
	return 0;
}

void vhd_timer_disarm(struct vhd_timer *t)
{
	struct itimerspec its = { 0 };
	timerfd_settime(t->h.fd, 0, &its, NULL);
	t->armed = false;
}

bool vhd_timer_armed(const struct vhd_timer *t)
{
	return t->armed;
}

void vhd_timer_free(struct vhd_timer *t)
{
	if (!t)
		return;
	vhd_loop_del(&t->h);
	close(t->h.fd);
	free(t);
}
