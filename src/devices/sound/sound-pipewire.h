/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * The PipeWire backend of vhost-device-sound: each stream of the device is
 * a pw_stream (created at PREPARE, connected inactive, activated at START)
 * on one pw_thread_loop per connection.  PipeWire's threads never touch
 * the device: they move bytes through a ring per stream and wake the
 * connection's event loop through an eventfd; the worker moves the held
 * messages.  A playback message completes when PipeWire has taken all its
 * bytes from the ring (the graph's clock paces the driver), a capture
 * message when it has been filled from the ring; the latency field is
 * what the ring still holds.
 */
#ifndef VHD_SOUND_PIPEWIRE_H
#define VHD_SOUND_PIPEWIRE_H

#include "vhost-device.h"
#include "sound-pcm.h"

struct vsnd_pw;

/* Per connection: streams of model m on loop.  notify(opaque) runs after
 * the backend moved messages from a wake-up (the device notifies the
 * driver of what was completed).  target: the node every stream links to
 * (target.object), NULL for PipeWire's choice. */
struct vsnd_pw *vsnd_pw_new(struct vsnd_model *m, const char *target, struct vhd_loop *loop,
			    void (*notify)(void *opaque), void *opaque);
/* Destroy every stream and the thread loop (connection end). */
void vsnd_pw_free(struct vsnd_pw *p);
/* Move data for every running stream (after control requests). */
void vsnd_pw_service_all(struct vsnd_pw *p);
/* Stop touching the held messages of one direction (their ring stops). */
void vsnd_pw_quiesce(struct vsnd_pw *p, uint8_t dir);
extern const struct vsnd_hooks vsnd_pw_hooks;

#endif
