/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Queue threads: a device may have some of its queues served by threads
 * of their own (vu_device_ops.queue_thread), for devices with several
 * busy request queues.  Internal to the vhost-user layer.
 *
 * The handshake (correctness first): the connection thread *pauses* every
 * queue thread before it touches anything a queue thread uses -- around
 * every vhost-user message, and at connection start and end -- and
 * resumes them afterwards.  A paused thread is parked inside a callback of
 * its own event loop, waiting on a condition variable, so it runs no
 * device callback and holds no ring state; the mutex orders everything
 * the connection thread did before the resume.  So a queue's ring, its
 * kick handler, its scheduled-kick flag and the memory table are only
 * ever used by one thread at a time, without locks on the data path.
 *
 * The connection thread is the pool worker serving the connection
 * (docs/architecture.md, "Threads and ownership"), which also serves other
 * connections.  Pausing cannot deadlock it: a queue thread parks at its
 * next event and never waits for a worker (it takes no lock a worker
 * holds and waits on nothing a worker posts), so a pause waits at most
 * for one callback of this connection's queue threads.
 */
#ifndef VHD_VU_QTHREAD_H
#define VHD_VU_QTHREAD_H

#include <stdbool.h>

struct vu_dev;
struct vu_qthreads;
struct vhd_loop;

/* Create the threads' loops for dev (threads not started yet): 0, or
 * -errno.  dev->qt stays NULL when the device wants no queue thread. */
int vu_qthreads_create(struct vu_dev *dev);
/* Start the threads (after the device's connected callback). */
int vu_qthreads_start(struct vu_dev *dev);
/* Park every queue thread / let them go on.  Idempotent; no-ops
 * without queue threads.  Connection thread only. */
void vu_qthreads_pause(struct vu_dev *dev);
void vu_qthreads_resume(struct vu_dev *dev);
/* Stop and join the threads, free their loops (paused or not). */
void vu_qthreads_destroy(struct vu_dev *dev);

/* The loop that serves queue q (the connection's loop for thread 0). */
struct vhd_loop *vu_qthreads_loop(struct vu_dev *dev, unsigned q);
/* Arm the scheduled-kick timer of queue q's thread. */
void vu_qthreads_schedule(struct vu_dev *dev, unsigned q);

#endif
