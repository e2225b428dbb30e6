/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Queue threads and the pause handshake (contract in vu-qthread.h, rules
 * for devices in vhost-device.h, "Threads").
 */
#include "config.h"
#include "vhost-user/vu-qthread.h"
#include "vhost-user/vu-dev.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct vu_qthread {
	struct vu_dev *dev;
	unsigned index;               /* 1..n */
	struct vhd_loop *loop;
	struct vhd_handler pause_h;   /* eventfd: "park now" */
	struct vhd_timer *sched_timer;
	pthread_t tid;
	bool started;

	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool pause_req;               /* connection thread wants it parked */
	bool parked;                  /* it is parked (in pause_cb) */
	bool quit;                    /* leave the loop when resumed */
};

struct vu_qthreads {
	unsigned n;
	struct vu_qthread t[];
};

/* On the queue thread: park until resumed. */
static void pause_cb(struct vhd_handler *h, uint32_t events)
{
	struct vu_qthread *t = h->opaque;
	uint64_t v;
	bool quit;

	if (read(h->fd, &v, sizeof(v)) < 0) {
		/* EAGAIN: a request already served */
	}
	pthread_mutex_lock(&t->mu);
	if (t->pause_req) {
		t->parked = true;
		pthread_cond_broadcast(&t->cv);
		while (t->pause_req)
			pthread_cond_wait(&t->cv, &t->mu);
		t->parked = false;
	}
	quit = t->quit;
	pthread_mutex_unlock(&t->mu);
	if (quit)
		vhd_loop_stop(t->loop);   /* our own loop: no race */
}

static void sched_cb(struct vhd_timer *timer, void *opaque)
{
	struct vu_qthread *t = opaque;

	vu_dev_run_scheduled(t->dev, t->index);
}

static void *thread_main(void *arg)
{
	struct vu_qthread *t = arg;
	sigset_t all;

	/* Signals belong to the main thread (docs/architecture.md).  Not
	 * the faults this thread itself raises: a blocked SIGBUS kills the
	 * process instead of reaching the truncation guard (mem-sigbus.h),
	 * and the others would bypass the sanitizers' handlers. */
	sigfillset(&all);
	sigdelset(&all, SIGBUS);
	sigdelset(&all, SIGSEGV);
	sigdelset(&all, SIGFPE);
	sigdelset(&all, SIGILL);
	sigdelset(&all, SIGSYS);        /* the sandbox's report (daemon/sandbox.h) */
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	vhd_loop_run(t->loop);
	return NULL;
}

int vu_qthreads_create(struct vu_dev *dev)
{
	const struct vu_device_ops *ops = dev->ops;
	struct vu_qthreads *qt;
	unsigned n = 0;

	dev->qt = NULL;
	if (!ops->queue_thread)
		return 0;
	for (unsigned i = 0; i < dev->nvqs; i++) {
		unsigned k = ops->queue_thread(dev->priv, i);

		if (k > dev->nvqs) {
			LOG_ERR("%s: queue %u mapped to thread %u (at most %u): on the connection thread",
				dev->name, i, k, dev->nvqs);
			k = 0;
		}
		dev->qs[i].thread = k;
		if (k > n)
			n = k;
	}
	if (!n)
		return 0;
	qt = calloc(1, sizeof(*qt) + n * sizeof(qt->t[0]));
	if (!qt)
		return -ENOMEM;
	qt->n = n;
	dev->qt = qt;
	for (unsigned k = 0; k < n; k++) {
		struct vu_qthread *t = &qt->t[k];

		t->dev = dev;
		t->index = k + 1;
		t->pause_h.fd = -1;
		pthread_mutex_init(&t->mu, NULL);
		pthread_cond_init(&t->cv, NULL);
	}
	for (unsigned k = 0; k < n; k++) {
		struct vu_qthread *t = &qt->t[k];

		t->loop = vhd_loop_new();
		if (!t->loop)
			goto fail;
		t->pause_h.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		t->pause_h.cb = pause_cb;
		t->pause_h.opaque = t;
		t->sched_timer = vhd_timer_new(t->loop, sched_cb, t);
		if (t->pause_h.fd < 0 || !t->sched_timer ||
		    vhd_loop_add(t->loop, &t->pause_h, EPOLLIN) < 0)
			goto fail;
	}
	return 0;
fail:
	LOG_ERR("%s: cannot create queue threads: %s", dev->name, strerror(errno));
	vu_qthreads_destroy(dev);
	return -ENOMEM;
}

int vu_qthreads_start(struct vu_dev *dev)
{
	struct vu_qthreads *qt = dev->qt;

	if (!qt)
		return 0;
	for (unsigned k = 0; k < qt->n; k++) {
		int r = pthread_create(&qt->t[k].tid, NULL, thread_main, &qt->t[k]);

		if (r) {
			LOG_ERR("%s: cannot start queue thread %u: %s", dev->name, k + 1,
				strerror(r));
			return -r;
		}
		qt->t[k].started = true;
	}
	return 0;
}

static void pause_one(struct vu_qthread *t)
{
	uint64_t one = 1;

	pthread_mutex_lock(&t->mu);
	t->pause_req = true;
	pthread_mutex_unlock(&t->mu);
	if (!t->started)
		return;
	if (write(t->pause_h.fd, &one, sizeof(one)) < 0) {
		/* counter full: a wake-up is pending anyway */
	}
	pthread_mutex_lock(&t->mu);
	while (!t->parked)
		pthread_cond_wait(&t->cv, &t->mu);
	pthread_mutex_unlock(&t->mu);
}

void vu_qthreads_pause(struct vu_dev *dev)
{
	if (!dev->qt || dev->qt_paused)
		return;
	for (unsigned k = 0; k < dev->qt->n; k++)
		pause_one(&dev->qt->t[k]);
	dev->qt_paused = true;
}

void vu_qthreads_resume(struct vu_dev *dev)
{
	if (!dev->qt || !dev->qt_paused)
		return;
	for (unsigned k = 0; k < dev->qt->n; k++) {
		struct vu_qthread *t = &dev->qt->t[k];

		pthread_mutex_lock(&t->mu);
		t->pause_req = false;
		pthread_cond_broadcast(&t->cv);
		pthread_mutex_unlock(&t->mu);
	}
	dev->qt_paused = false;
}

void vu_qthreads_destroy(struct vu_dev *dev)
{
	struct vu_qthreads *qt = dev->qt;

	if (!qt)
		return;
	vu_qthreads_pause(dev);
	for (unsigned k = 0; k < qt->n; k++) {
		struct vu_qthread *t = &qt->t[k];

		pthread_mutex_lock(&t->mu);
		t->quit = true;
		pthread_mutex_unlock(&t->mu);
	}
	vu_qthreads_resume(dev);
	for (unsigned k = 0; k < qt->n; k++) {
		struct vu_qthread *t = &qt->t[k];

		if (t->started)
			pthread_join(t->tid, NULL);
		vhd_timer_free(t->sched_timer);
		if (t->pause_h.fd >= 0) {
			vhd_loop_del(&t->pause_h);
			close(t->pause_h.fd);
		}
		vhd_loop_free(t->loop);
		pthread_mutex_destroy(&t->mu);
		pthread_cond_destroy(&t->cv);
	}
	free(qt);
	dev->qt = NULL;
	dev->qt_paused = false;
}

struct vhd_loop *vu_qthreads_loop(struct vu_dev *dev, unsigned q)
{
	unsigned k = dev->qs[q].thread;

	return k && dev->qt ? dev->qt->t[k - 1].loop : dev->loop;
}

void vu_qthreads_schedule(struct vu_dev *dev, unsigned q)
{
	struct vu_qthread *t = &dev->qt->t[dev->qs[q].thread - 1];

	if (!vhd_timer_armed(t->sched_timer))
		vhd_timer_arm(t->sched_timer, 0);
}
