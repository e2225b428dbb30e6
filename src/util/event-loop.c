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
#include <unistd.h>

#define EV_BATCH 64

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

int vhd_loop_run(struct vhd_loop *loop)
{
	struct epoll_event evs[EV_BATCH];

	while (!__atomic_load_n(&loop->stopped, __ATOMIC_SEQ_CST)) {
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
