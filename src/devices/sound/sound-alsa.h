/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * The ALSA backend of vhost-device-sound: each stream of the device is an
 * ALSA PCM (any PCM name, "default" unless --alsa-device says otherwise)
 * opened non-blocking at PREPARE with the stream's parameters; its poll
 * descriptors are watched in the connection's event loop while the
 * stream runs with messages held.  A playback message completes when ALSA
 * has taken all its frames (ALSA's buffer then paces the driver at the
 * device's rate), a capture message when it has been filled; the latency
 * field is ALSA's delay.  Under- and overruns are recovered
 * (snd_pcm_recover) and the stream goes on.  A PCM without a clock of its
 * own (ALSA's null PCM, the file plugin over it) is paced by the host
 * clock instead: its frames move as real time reaches them (docs/sound.md,
 * "Pacing").
 */
#ifndef VHD_SOUND_ALSA_H
#define VHD_SOUND_ALSA_H

#include "vhost-device.h"
#include "sound-pcm.h"

struct vsnd_alsa;

/* Per connection: streams of model m on loop.  notify(opaque) runs after
 * the backend moved messages from a poll event (the device notifies the
 * driver of what was completed). */
struct vsnd_alsa *vsnd_alsa_new(struct vsnd_model *m, const char *pcm_name, struct vhd_loop *loop,
			      void (*notify)(void *opaque), void *opaque);
/* Close every PCM and drop every watch (connection end). */
void vsnd_alsa_free(struct vsnd_alsa *a);
/* Move data for every running stream (after control requests). */
void vsnd_alsa_service_all(struct vsnd_alsa *a);
/* Stop touching the held messages of one direction (their ring stops). */
void vsnd_alsa_quiesce(struct vsnd_alsa *a, uint8_t dir);
extern const struct vsnd_hooks vsnd_alsa_hooks;

#endif
