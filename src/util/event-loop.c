/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
#include "config.h"
#include "util/event-loop.h"
#include "log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define EV_BATCH 64

struct vhd_loop {
	int epfd;
	struct vhd_handler stop_h;      /* eventfd written by vhd_loop_stop */
	volatile bool stopped;
	/* Handlers removed during the current batch: their pending events are
	 * skipped, because the owner may already have freed them. */
	struct vhd_handler *removed[EV_BATCH];
	unsigned n_removed;
	bool overflow;                 /* more removals than fit: drop batch */
	bool in_batch;
};

struct vhd_timer {
	struct vhd_handler h;
	vhd_timer_cb cb;
	void *opaque;
	bool armed;
};

static void stop_cb(struct vhd_handler *h, uint32_t events)
{
	uint64_t v;
	if (read(h->fd, &v, sizeof(v)) < 0) {
		/* spurious wake-up: nothing to drain */
	}
	__atomic_store_n(&((struct vhd_loop *)h->opaque)->stopped, true, __ATOMIC_RELAXED);
}

struct vhd_loop *vhd_loop_new(void)
{
	struct vhd_loop *loop = calloc(1, sizeof(*loop));
	if (!loop)
		return NULL;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	loop->stop_h.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (loop->epfd < 0 || loop->stop_h.fd < 0)
		goto fail;
	loop->stop_h.cb = stop_cb;
	loop->stop_h.opaque = loop;
	if (vhd_loop_add(loop, &loop->stop_h, EPOLLIN) < 0)
		goto fail;
	return loop;
fail:
	LOG_ERR("event loop: cannot create epoll/eventfd: %s", strerror(errno));
	if (loop->epfd >= 0)
		close(loop->epfd);
	if (loop->stop_h.fd >= 0)
		close(loop->stop_h.fd);
	free(loop);
	return NULL;
}

void vhd_loop_free(struct vhd_loop *loop)
{
	if (!loop)
		return;
	close(loop->stop_h.fd);
	close(loop->epfd);
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

int vhd_loop_run(struct vhd_loop *loop)
{
	struct epoll_event evs[EV_BATCH];

	while (!__atomic_load_n(&loop->stopped, __ATOMIC_RELAXED)) {
		int n = epoll_wait(loop->epfd, evs, EV_BATCH, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			LOG_ERR("event loop: epoll_wait: %s", strerror(errno));
			return -errno;
		}
		loop->in_batch = true;
		loop->n_removed = 0;
		loop->overflow = false;
		for (int i = 0; i < n && !__atomic_load_n(&loop->stopped, __ATOMIC_RELAXED); i++) {
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
	return 0;
}

void vhd_loop_stop(struct vhd_loop *loop)
{
	uint64_t one = 1;
	__atomic_store_n(&loop->stopped, true, __ATOMIC_RELAXED);   /* any thread */
	if (write(loop->stop_h.fd, &one, sizeof(one)) < 0) {
		/* counter full: the loop is woken anyway */
	}
}

bool vhd_loop_stopped(const struct vhd_loop *loop)
{
	return __atomic_load_n(&loop->stopped, __ATOMIC_RELAXED);
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
