/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * The virtio-snd device model (virtio 1.2, 5.14 "Sound Device"), without
 * any ring: what the device offers (streams, formats, rates, channel
 * maps), the control requests (5.14.6.4 jack, 5.14.6.6 PCM, 5.14.6.9
 * channel map), the PCM command state machine (5.14.6.6.1) and the clock
 * that completes I/O messages at the stream's real rate (5.14.6.8).
 *
 * I/O messages are held as opaque cookies (the device's vq_elem) in a
 * FIFO per stream; a running stream consumes bytes at channels * sample
 * bytes * rate per second from the moment it started (or from the moment
 * a message arrived on an empty FIFO: an underrun does not let later
 * messages catch up), and a message completes when all its bytes have
 * been consumed: never earlier than its duration of real time.  This is
 * the null backend's clock; unit tests drive it with explicit times.
 */
#ifndef VHD_SOUND_PCM_H
#define VHD_SOUND_PCM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/virtio_snd.h>

#define VIRTIO_ID_SOUND 25
/* Ring size: the Rust backend's (the Linux driver drops messages when a
 * queue is full, so a small ring keeps it honest), and the bound on the
 * messages one stream can hold. */
#define SND_QUEUE_SIZE 64
#define SND_MAX_STREAMS_DIR 16           /* per direction */
#define SND_MAX_STREAMS (2 * SND_MAX_STREAMS_DIR)
/* The largest info item size a query may ask for (the structures are 24
 * or 32 bytes; a newer driver may ask for more, padded with zeros). */
#define SND_MAX_INFO_SIZE 1024
#define SND_RESP_MAX (sizeof(struct virtio_snd_hdr) + SND_MAX_STREAMS * SND_MAX_INFO_SIZE)
#define SND_CHANNELS_MIN 1
#define SND_CHANNELS_MAX 6

/* Config space as QEMU's vhost-user-snd reads it: jacks, streams, chmaps
 * and controls (VIRTIO_SND_F_CTLS, not offered: 0). */
struct vsnd_config {
	uint32_t jacks, streams, chmaps, controls;   /* little endian */
};
#define SND_CONFIG_SIZE 16

enum vsnd_state {
	SND_ST_NONE,        /* no parameters yet (after reset) */
	SND_ST_PARAMS,      /* SET_PARAMETERS done */
	SND_ST_PREPARED,
	SND_ST_RUNNING,
	SND_ST_STOPPED,
	SND_ST_RELEASED,
};

/* What the command line offers. */
struct vsnd_caps {
	unsigned n_out, n_in;        /* output streams come first in the IDs */
	uint64_t formats;            /* 1 << VIRTIO_SND_PCM_FMT_* */
	uint64_t rates;              /* 1 << VIRTIO_SND_PCM_RATE_* */
	uint32_t pcm_features;       /* 1 << VIRTIO_SND_PCM_F_*, offered in PCM_INFO */
};

struct vsnd_io {
	void *cookie;
	uint32_t bytes;              /* payload */
};

struct vsnd_stream {
	uint8_t dir;                 /* VIRTIO_SND_D_* */
	enum vsnd_state state;
	uint32_t buffer_bytes, period_bytes;
	uint8_t channels, format, rate;
	uint32_t features;           /* selected by SET_PARAMETERS */
	uint64_t byte_rate;          /* bytes per second once parameters are set */
	uint64_t t0_ns;              /* clock origin of the current run */
	uint64_t consumed;           /* bytes completed since t0 */
	struct vsnd_io io[SND_QUEUE_SIZE];
	unsigned head, n;            /* FIFO */
	uint32_t head_off;           /* host backend: bytes of the head done */
};

/* A held message leaves the model: complete it with this status; for an
 * input stream fill its payload from byte `filled` on with the format's
 * silence (a host backend has written the captured frames before it: the
 * head's head_off; the null clock fills nothing, filled is 0).
 * latency: bytes still held for the stream after it. */
typedef void (*vsnd_complete_fn)(void *opaque, unsigned stream, uint8_t dir, void *cookie,
				uint32_t status, uint32_t latency, uint32_t filled);

/* A host audio backend (ALSA): the PCM commands reach it once the state
 * machine allowed them; a failing prepare or start answers IO_ERR (the
 * stream keeps its previous state).  With hooks, the model's clock is
 * off: the backend moves the messages (vsnd_io_head, vsnd_io_pop). */
struct vsnd_hooks {
	int (*prepare)(void *opaque, unsigned stream);     /* 0 or -errno */
	int (*start)(void *opaque, unsigned stream);
	void (*stop)(void *opaque, unsigned stream);
	void (*release)(void *opaque, unsigned stream);
	/* A message was queued on a running stream. */
	void (*queued)(void *opaque, unsigned stream);
};

/* The device reports an event (5.14.6.2, struct virtio_snd_event). */
typedef void (*vsnd_event_fn)(void *opaque, uint32_t code, uint32_t data);

struct vsnd_model {
	struct vsnd_caps caps;
	vsnd_event_fn event;         /* NULL: events are not sent */
	unsigned nstreams;
	struct vsnd_stream s[SND_MAX_STREAMS];
	vsnd_complete_fn complete;
	void *opaque;
	const struct vsnd_hooks *hooks;   /* NULL: the null backend's clock */
	void *hooks_opaque;
	uint8_t resp[SND_RESP_MAX];
};

/* Names of formats and rates for the command line. */
int vsnd_format_parse(const char *name);          /* code or -1 */
int vsnd_rate_parse(const char *hz);              /* code or -1 */
unsigned vsnd_rate_hz(unsigned code);             /* 0 if unknown */
unsigned vsnd_format_bytes(unsigned code);        /* physical bytes per sample, 0 if not offered */
/* Parse a comma-separated list into a bit map; -1 on a bad name (*bad
 * points at it). */
int vsnd_parse_list(const char *list, bool rates, uint64_t *out, const char **bad);
/* Default offer: the Rust backend's (U8, S16, S24, S32; 8000 .. 48000 Hz). */
#define SND_DEFAULT_FORMATS ((1ull << VIRTIO_SND_PCM_FMT_U8) | (1ull << VIRTIO_SND_PCM_FMT_S16) | \
			     (1ull << VIRTIO_SND_PCM_FMT_S24) | (1ull << VIRTIO_SND_PCM_FMT_S32))
#define SND_DEFAULT_RATES ((1ull << VIRTIO_SND_PCM_RATE_8000) | (1ull << VIRTIO_SND_PCM_RATE_11025) | \
			   (1ull << VIRTIO_SND_PCM_RATE_16000) | (1ull << VIRTIO_SND_PCM_RATE_22050) | \
			   (1ull << VIRTIO_SND_PCM_RATE_32000) | (1ull << VIRTIO_SND_PCM_RATE_44100) | \
			   (1ull << VIRTIO_SND_PCM_RATE_48000))
/* The byte a sample of this format is silent with (U8: 0x80; the other
 * offered formats are signed or float, silent at 0). */
uint8_t vsnd_silence_byte(unsigned format);

void vsnd_model_init(struct vsnd_model *m, const struct vsnd_caps *caps,
		    vsnd_complete_fn complete, void *opaque);
/* Every stream back to SND_ST_NONE with no message held (the rings are
 * stopped: the core released the messages). */
void vsnd_model_reset(struct vsnd_model *m);
void vsnd_config(const struct vsnd_model *m, struct vsnd_config *c);
unsigned vsnd_chmaps(const struct vsnd_model *m);

/*
 * One control request: req[0..req_len) is the device-readable part (as
 * much as the caller copied, at least 4 bytes for a code), wr_cap the
 * size of the device-writable part.  The response (status header plus
 * any info items) is left in m->resp; returns its length, never more
 * than wr_cap (a response that does not fit becomes BAD_MSG; wr_cap < 4:
 * 0, nothing to write).  RELEASE completes the stream's held messages
 * first (5.14.6.6.5).  now: CLOCK_MONOTONIC ns, for START.
 */
size_t vsnd_ctl(struct vsnd_model *m, const uint8_t *req, size_t req_len, size_t wr_cap,
	       uint64_t now);
uint32_t vsnd_resp_status(const struct vsnd_model *m);

/* An I/O message on the tx (dir OUTPUT) or rx (dir INPUT) queue for
 * stream_id with `bytes` of payload: VIRTIO_SND_S_OK if it is now held,
 * else the status to complete it with at once. */
uint32_t vsnd_io_add(struct vsnd_model *m, uint8_t dir, uint32_t stream_id, uint32_t bytes,
		    void *cookie, uint64_t now);
/* Complete every held message whose bytes have been consumed by now;
 * returns how many. */
unsigned vsnd_io_collect(struct vsnd_model *m, uint64_t now);
/* When the next held message falls due (absolute ns), UINT64_MAX if none
 * (no running stream holds one). */
uint64_t vsnd_next_due(const struct vsnd_model *m);
/* Forget a held message (the core releases it); true if it was held. */
bool vsnd_io_forget(struct vsnd_model *m, void *cookie, unsigned *stream);
/* Messages held for a stream. */
unsigned vsnd_io_held(const struct vsnd_model *m, unsigned stream);
/* Host backends: the oldest held message of a stream (NULL if none). */
struct vsnd_io *vsnd_io_head(struct vsnd_model *m, unsigned stream);
/* Complete the oldest held message with status; latency in bytes. */
void vsnd_io_pop(struct vsnd_model *m, unsigned stream, uint32_t status, uint32_t latency);
void vsnd_model_set_hooks(struct vsnd_model *m, const struct vsnd_hooks *h, void *opaque);
/* Events go to fn(m's opaque, ...). */
void vsnd_model_set_event(struct vsnd_model *m, vsnd_event_fn fn);
/* A host backend's under- or overrun on a stream: a PCM_XRUN event if
 * the driver selected VIRTIO_SND_PCM_F_EVT_XRUNS for it (5.14.6.6.2);
 * true if the event was passed on. */
bool vsnd_xrun(struct vsnd_model *m, unsigned stream);

#endif
