/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * The ALSA backend of vhost-device-sound (sound-alsa.h).  Everything runs
 * on the connection's worker: PCMs are non-blocking, and a stream's poll
 * descriptors are in the event loop only while it runs with a message
 * held (a playback PCM is writable most of the time: watching it with
 * nothing to write would spin).
 */
#include "config.h"
#include "vhost-device.h"
#include "sound-alsa.h"

#include <alsa/asoundlib.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_PFDS 4
#define CHUNK 4096

struct alsa_stream {
	struct vsnd_alsa *a;
	unsigned id;
	snd_pcm_t *pcm;
	unsigned frame_bytes;
	struct pollfd pfd[MAX_PFDS];
	struct vhd_handler h[MAX_PFDS];
	unsigned npfd;
	bool watched;
	unsigned log_budget;
	/* The host clock's bound (clock_allows()). */
	struct vhd_timer *timer;
	unsigned rate;
	uint64_t buffer_frames, period_frames;
	bool clockless;              /* paced by the host clock (clock_allows()) */
	uint64_t t0_ns;              /* 0: the run's clock has not started */
	uint64_t frames;             /* frames moved since t0_ns */
};

struct vsnd_alsa {
	struct vsnd_model *m;
	const char *name;
	struct vhd_loop *loop;
	void (*notify)(void *opaque);
	void *opaque;
	struct alsa_stream s[SND_MAX_STREAMS];
};

static snd_pcm_format_t alsa_format(uint8_t f)
{
	switch (f) {
	case VIRTIO_SND_PCM_FMT_S8: return SND_PCM_FORMAT_S8;
	case VIRTIO_SND_PCM_FMT_U8: return SND_PCM_FORMAT_U8;
	case VIRTIO_SND_PCM_FMT_S16: return SND_PCM_FORMAT_S16_LE;
	case VIRTIO_SND_PCM_FMT_S24: return SND_PCM_FORMAT_S24_LE;
	case VIRTIO_SND_PCM_FMT_S32: return SND_PCM_FORMAT_S32_LE;
	case VIRTIO_SND_PCM_FMT_FLOAT: return SND_PCM_FORMAT_FLOAT_LE;
	case VIRTIO_SND_PCM_FMT_FLOAT64: return SND_PCM_FORMAT_FLOAT64_LE;
	}
	return SND_PCM_FORMAT_UNKNOWN;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Frames of the run by the host clock at now (whole frames elapsed since
 * t0_ns; microseconds keep the product far from overflow: 2^64 us of
 * 768 kHz is 760 years). */
static uint64_t clock_frames(const struct alsa_stream *st, uint64_t now)
{
	return (now - st->t0_ns) / 1000u * st->rate / 1000000u;
}

/* A PCM without a clock of its own (ALSA's null PCM, and the file plugin
 * over it) takes and gives frames at once; the stream then runs by the
 * host clock instead (docs/sound.md, "Pacing"): frames go to and come
 * from the PCM as real time reaches them, so a playback message completes
 * when its frames have been played and a capture message when its frames
 * have been captured, as with the null backend.  A PCM is found clockless
 * by what it reports right after a transfer: no delay after frames were
 * written (a card has them queued), or a full buffer still available
 * after frames were read (a card has just been drained, or would have
 * overrun).  Cards keep their own pacing: the host clock's drift never
 * touches them.  Returns the frames the bound lets through now
 * (UINT64_MAX: no bound, or its clock has not started: playback starts
 * it with its first frames). */
static uint64_t clock_allows(const struct alsa_stream *st, uint64_t now)
{
	uint64_t lim;

	if (!st->clockless || !st->t0_ns)
		return UINT64_MAX;
	lim = clock_frames(st, now);
	return lim > st->frames ? lim - st->frames : 0;
}

/* After a transfer: does the PCM have a clock (clock_allows())? */
static void check_clock(struct alsa_stream *st)
{
	snd_pcm_sframes_t d = -1;

	if (st->a->m->s[st->id].dir == VIRTIO_SND_D_OUTPUT)
		st->clockless = snd_pcm_delay(st->pcm, &d) == 0 && d == 0;
	else
		st->clockless = snd_pcm_avail(st->pcm) >= (snd_pcm_sframes_t)st->buffer_frames;
	if (st->clockless)
		LOG_INFO("sound: stream %u: ALSA PCM '%s' has no clock of its own: "
			 "paced by the host clock", st->id, st->a->name);
}

/* Nanoseconds from now until the bound lets `want` more frames through. */
static uint64_t clock_wait_ns(const struct alsa_stream *st, uint64_t now, uint64_t want)
{
	uint64_t need = st->frames + want;
	/* Rounded up: at the due time clock_frames() has reached `need`. */
	uint64_t due = st->t0_ns + (need * 1000000u + st->rate - 1) / st->rate * 1000u + 1000u;

	return due > now ? due - now : 0;
}

/* A new run of the clock (PREPARE, START, STOP, recovery); capture starts
 * it at once, playback with its first frames. */
static void clock_reset(struct alsa_stream *st, bool start_now)
{
	st->frames = 0;
	st->t0_ns = start_now ? now_ns() : 0;
	if (st->timer)
		vhd_timer_disarm(st->timer);
}

static void unwatch(struct alsa_stream *st)
{
	if (!st->watched)
		return;
	for (unsigned i = 0; i < st->npfd; i++)
		vhd_loop_del(&st->h[i]);
	st->watched = false;
}

/* Nothing wakes the stream: neither its poll descriptors nor the clock's
 * timer (it has no message to move, is not running, or its ring stops).
 * The clock's run is kept: what was moved still counts (docs/sound.md,
 * "Pacing"). */
static void quiet(struct alsa_stream *st)
{
	unwatch(st);
	if (st->timer)
		vhd_timer_disarm(st->timer);
}

static void service(struct alsa_stream *st);

static void on_poll(struct vhd_handler *h, uint32_t events)
{
	struct alsa_stream *st = h->opaque;

	(void)events;
	service(st);
	st->a->notify(st->a->opaque);
}

static void watch(struct alsa_stream *st)
{
	if (st->watched || !st->pcm)
		return;
	for (unsigned i = 0; i < st->npfd; i++) {
		st->h[i].fd = st->pfd[i].fd;
		st->h[i].cb = on_poll;
		st->h[i].opaque = st;
		if (vhd_loop_add(st->a->loop, &st->h[i], (uint32_t)st->pfd[i].events) < 0)
			st->h[i].loop = NULL;       /* a shared fd: watched once */
	}
	st->watched = true;
}

static void on_timer(struct vhd_timer *t, void *opaque)
{
	struct alsa_stream *st = opaque;

	(void)t;
	service(st);
	st->a->notify(st->a->opaque);
}

/* Sleep on the clock, not on the PCM (which would wake at once). */
static void wait_clock(struct alsa_stream *st, uint64_t ns)
{
	unwatch(st);
	if (!st->timer)
		st->timer = vhd_timer_new(st->a->loop, on_timer, st);
	if (!st->timer || vhd_timer_arm(st->timer, ns) < 0)
		watch(st);      /* out of memory: the PCM's own pacing only */
}

static void close_pcm(struct alsa_stream *st)
{
	unwatch(st);
	clock_reset(st, false);
	if (st->pcm) {
		snd_pcm_close(st->pcm);
		st->pcm = NULL;
	}
}

/* ALSA's delay, or for playback the frames taken ahead of the clock if
 * more (a PCM without a clock reports no delay). */
static uint32_t latency_bytes(struct alsa_stream *st)
{
	snd_pcm_sframes_t d = 0;
	uint64_t f;

	if (snd_pcm_delay(st->pcm, &d) < 0 || d < 0)
		d = 0;
	f = (uint64_t)d;
	if (st->t0_ns && st->a->m->s[st->id].dir == VIRTIO_SND_D_OUTPUT) {
		uint64_t c = clock_frames(st, now_ns());

		if (st->frames > c && st->frames - c > f)
			f = st->frames - c;
	}
	if (f > st->buffer_frames)
		f = st->buffer_frames;
	return (uint32_t)(f * st->frame_bytes);
}

/* An xrun or a suspend: recover and go on (a capture PCM must be
 * started again).  false if ALSA cannot. */
static bool recover(struct alsa_stream *st, int err)
{
	struct vsnd_stream *s = &st->a->m->s[st->id];

	vhd_log_ratelimited(&st->log_budget, 5, VHD_LOG_INFO, "sound: stream %u: %s, recovering",
			    st->id, snd_strerror(err));
	/* An xrun (not a suspend) is the driver's to know (5.14.6.2). */
	if (err == -EPIPE)
		vsnd_xrun(st->a->m, st->id);
	if (snd_pcm_recover(st->pcm, err, 1) < 0)
		return false;
	if (s->dir == VIRTIO_SND_D_INPUT)
		snd_pcm_start(st->pcm);
	clock_reset(st, s->dir == VIRTIO_SND_D_INPUT);
	return true;
}

/* Move as much as ALSA takes (playback) or has (capture) right now. */
static void service(struct alsa_stream *st)
{
	struct vsnd_model *m = st->a->m;
	struct vsnd_stream *s = &m->s[st->id];
	uint8_t buf[CHUNK];

	if (!st->pcm || s->state != SND_ST_RUNNING) {
		quiet(st);
		return;
	}
	for (;;) {
		struct vsnd_io *io = vsnd_io_head(m, st->id);
		struct vq_elem *e;
		uint32_t left, n;
		uint64_t now, ok, want;
		snd_pcm_sframes_t r;

		if (!io) {
			quiet(st);
			return;
		}
		e = io->cookie;
		left = io->bytes - s->head_off;
		if (left < st->frame_bytes) {
			/* Done (a trailing partial frame is not a frame). */
			vsnd_io_pop(m, st->id, VIRTIO_SND_S_OK, latency_bytes(st));
			continue;
		}
		n = left < CHUNK ? left : CHUNK;
		n -= n % st->frame_bytes;
		/* The clock's bound: wait for a period's worth (or the rest
		 * of the message) rather than wake for every frame. */
		now = now_ns();
		ok = clock_allows(st, now);
		want = left / st->frame_bytes;
		if (want > st->period_frames)
			want = st->period_frames;
		if (ok < want) {
			wait_clock(st, clock_wait_ns(st, now, want));
			return;
		}
		if (n / st->frame_bytes > ok)
			n = (uint32_t)ok * st->frame_bytes;
		if (s->dir == VIRTIO_SND_D_OUTPUT) {
			iov_to_buf(e->rd, e->n_rd, sizeof(struct virtio_snd_pcm_xfer) + s->head_off,
				   buf, n);
			r = snd_pcm_writei(st->pcm, buf, n / st->frame_bytes);
		} else {
			/* Some PCMs (ALSA's null) report frames read without
			 * writing them: what reaches the driver is then
			 * silence, never the bytes of an earlier chunk. */
			memset(buf, vsnd_silence_byte(s->format), n);
			r = snd_pcm_readi(st->pcm, buf, n / st->frame_bytes);
			if (r > 0)
				iov_from_buf(e->wr, e->n_wr, s->head_off, buf,
					     (size_t)r * st->frame_bytes);
		}
		if (r == -EAGAIN) {
			watch(st);
			return;
		}
		if (r == 0) {
			/* No frame and no error (the file plugin's infile at
			 * its end): try again a period later, not at once. */
			wait_clock(st, (st->period_frames * 1000000u / st->rate) * 1000u);
			return;
		}
		if (r == -EPIPE || r == -ESTRPIPE || r == -EINTR) {
			if (recover(st, (int)r))
				continue;
		}
		if (r < 0) {
			vhd_log_ratelimited(&st->log_budget, 5, VHD_LOG_WARN,
					    "sound: stream %u: %s", st->id, snd_strerror((int)r));
			vsnd_io_pop(m, st->id, VIRTIO_SND_S_IO_ERR, 0);
			continue;
		}
		if (!st->t0_ns)
			st->t0_ns = now;
		st->frames += (uint64_t)r;
		if (!st->clockless)
			check_clock(st);
		s->head_off += (uint32_t)r * st->frame_bytes;
	}
}

static int alsa_prepare(void *opaque, unsigned id)
{
	struct vsnd_alsa *a = opaque;
	struct alsa_stream *st = &a->s[id];
	struct vsnd_stream *s = &a->m->s[id];
	snd_pcm_hw_params_t *hw;
	snd_pcm_sw_params_t *sw;
	snd_pcm_uframes_t period, buffer;
	unsigned rate = vsnd_rate_hz(s->rate);
	int err, n;

	close_pcm(st);
	st->frame_bytes = vsnd_format_bytes(s->format) * s->channels;
	err = snd_pcm_open(&st->pcm, a->name,
			   s->dir == VIRTIO_SND_D_OUTPUT ? SND_PCM_STREAM_PLAYBACK
							 : SND_PCM_STREAM_CAPTURE,
			   SND_PCM_NONBLOCK);
	if (err < 0) {
		st->pcm = NULL;
		LOG_WARN("sound: stream %u: cannot open ALSA PCM '%s': %s", id, a->name,
			 snd_strerror(err));
		return err;
	}
	period = s->period_bytes / st->frame_bytes;
	buffer = s->buffer_bytes / st->frame_bytes;
	snd_pcm_hw_params_alloca(&hw);
	snd_pcm_sw_params_alloca(&sw);
	if ((err = snd_pcm_hw_params_any(st->pcm, hw)) < 0 ||
	    (err = snd_pcm_hw_params_set_access(st->pcm, hw, SND_PCM_ACCESS_RW_INTERLEAVED)) < 0 ||
	    (err = snd_pcm_hw_params_set_format(st->pcm, hw, alsa_format(s->format))) < 0 ||
	    (err = snd_pcm_hw_params_set_channels(st->pcm, hw, s->channels)) < 0 ||
	    (err = snd_pcm_hw_params_set_rate(st->pcm, hw, rate, 0)) < 0 ||
	    (err = snd_pcm_hw_params_set_period_size_near(st->pcm, hw, &period, NULL)) < 0 ||
	    (err = snd_pcm_hw_params_set_buffer_size_near(st->pcm, hw, &buffer)) < 0 ||
	    (err = snd_pcm_hw_params(st->pcm, hw)) < 0 ||
	    (err = snd_pcm_sw_params_current(st->pcm, sw)) < 0 ||
	    /* Playback starts with the first frames written after START. */
	    (err = snd_pcm_sw_params_set_start_threshold(st->pcm, sw, 1)) < 0 ||
	    (err = snd_pcm_sw_params(st->pcm, sw)) < 0 ||
	    (err = snd_pcm_prepare(st->pcm)) < 0) {
		LOG_WARN("sound: stream %u: ALSA PCM '%s' refuses the parameters: %s", id,
			 a->name, snd_strerror(err));
		close_pcm(st);
		return err;
	}
	n = snd_pcm_poll_descriptors(st->pcm, st->pfd, MAX_PFDS);
	if (n <= 0) {
		close_pcm(st);
		return -EIO;
	}
	st->npfd = (unsigned)n;
	st->rate = rate;
	st->period_frames = period ? period : 1;
	st->buffer_frames = buffer;
	st->clockless = false;
	clock_reset(st, false);
	return 0;
}

static int alsa_start(void *opaque, unsigned id)
{
	struct vsnd_alsa *a = opaque;
	struct alsa_stream *st = &a->s[id];

	if (!st->pcm)
		return -EIO;
	/* After a STOP (snd_pcm_drop) the PCM must be prepared again. */
	if (snd_pcm_state(st->pcm) != SND_PCM_STATE_PREPARED && snd_pcm_prepare(st->pcm) < 0)
		return -EIO;
	if (a->m->s[id].dir == VIRTIO_SND_D_INPUT && snd_pcm_start(st->pcm) < 0)
		return -EIO;
	clock_reset(st, a->m->s[id].dir == VIRTIO_SND_D_INPUT);
	return 0;
}

static void alsa_stop(void *opaque, unsigned id)
{
	struct vsnd_alsa *a = opaque;
	struct alsa_stream *st = &a->s[id];

	unwatch(st);
	clock_reset(st, false);
	if (st->pcm)
		snd_pcm_drop(st->pcm);
}

static void alsa_release(void *opaque, unsigned id)
{
	struct vsnd_alsa *a = opaque;

	close_pcm(&a->s[id]);
}

static void alsa_queued(void *opaque, unsigned id)
{
	struct vsnd_alsa *a = opaque;

	service(&a->s[id]);
}

const struct vsnd_hooks vsnd_alsa_hooks = {
	.prepare = alsa_prepare,
	.start = alsa_start,
	.stop = alsa_stop,
	.release = alsa_release,
	.queued = alsa_queued,
};

struct vsnd_alsa *vsnd_alsa_new(struct vsnd_model *m, const char *pcm_name, struct vhd_loop *loop,
			      void (*notify)(void *opaque), void *opaque)
{
	struct vsnd_alsa *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->m = m;
	a->name = pcm_name;
	a->loop = loop;
	a->notify = notify;
	a->opaque = opaque;
	for (unsigned i = 0; i < SND_MAX_STREAMS; i++) {
		a->s[i].a = a;
		a->s[i].id = i;
	}
	return a;
}

void vsnd_alsa_free(struct vsnd_alsa *a)
{
	if (!a)
		return;
	for (unsigned i = 0; i < SND_MAX_STREAMS; i++) {
		close_pcm(&a->s[i]);
		vhd_timer_free(a->s[i].timer);
	}
	free(a);
}

void vsnd_alsa_service_all(struct vsnd_alsa *a)
{
	for (unsigned i = 0; i < a->m->nstreams; i++)
		if (a->s[i].pcm && a->m->s[i].state == SND_ST_RUNNING)
			service(&a->s[i]);
}

void vsnd_alsa_quiesce(struct vsnd_alsa *a, uint8_t dir)
{
	for (unsigned i = 0; i < a->m->nstreams; i++)
		if (a->m->s[i].dir == dir)
			quiet(&a->s[i]);
}
