/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * The PipeWire backend of vhost-device-sound (sound-pipewire.h).
 *
 * Threads: the connection's worker owns the device model and the held
 * messages; PipeWire's thread loop runs the stream objects and its data
 * thread calls the process callbacks.  They share only a byte ring per
 * stream, under a mutex held for a copy at most, and an eventfd the
 * process callbacks write after moving bytes: its handler, on the worker,
 * completes messages.  Stream objects are created, (de)activated and
 * destroyed by the worker with the thread loop locked (PipeWire's rule
 * for a pw_thread_loop).
 *
 * Playback: the worker copies held messages into the ring as far as it
 * has room (the ring is the driver's buffer_bytes, as ALSA's buffer is in
 * sound-alsa.c) and remembers where each message ends; the process
 * callback gives the graph what the ring holds (silence when it runs dry)
 * and counts what it took; a message completes when its last byte has
 * been taken.  Capture: the process callback appends what the graph gave
 * (dropping what does not fit: an overrun) and the worker fills the head
 * message from the ring.
 */
#include "config.h"
#include "vhost-device.h"
#include "sound-pipewire.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <pipewire/pipewire.h>
#include <spa/param/audio/format-utils.h>

/* The largest ring: a driver's buffer is a fraction of a second, and
 * SET_PARAMETERS may ask for any size (5.14.6.6.3): this bounds what a
 * guest can make us allocate per stream. */
#define RING_MAX (4u << 20)

struct pw_strm {
	struct vsnd_pw *p;
	unsigned id;
	struct pw_stream *stream;
	struct spa_hook listener;
	unsigned frame_bytes;
	uint8_t dir, silence;
	/* Shared with the process callback, under lock. */
	pthread_mutex_t lock;
	uint8_t *ring;
	uint64_t cap;
	uint64_t rd, wr;             /* cumulative bytes */
	bool running;                /* the callback moves bytes */
	uint64_t xruns;              /* playback ran dry / capture overran */
	bool error;                  /* the stream went to PW_STREAM_STATE_ERROR */
	/* Worker only. */
	unsigned npushed;            /* held messages (from the head) in the ring */
	uint32_t push_off;           /* bytes of the next one in the ring */
	uint64_t end[SND_QUEUE_SIZE];   /* by FIFO slot: ring position after it */
	uint64_t xruns_seen;
	unsigned log_budget;
};

struct vsnd_pw {
	struct vsnd_model *m;
	const char *target;
	struct vhd_loop *loop;
	void (*notify)(void *opaque);
	void *opaque;
	int efd;
	struct vhd_handler h;
	struct pw_thread_loop *tl;
	struct pw_context *ctx;
	struct pw_core *core;
	struct pw_strm s[SND_MAX_STREAMS];
};

static void wake(struct vsnd_pw *p)
{
	uint64_t one = 1;

	/* A full counter already means "wake up": EAGAIN is fine. */
	if (write(p->efd, &one, sizeof(one)) < 0) {
	}
}

static enum spa_audio_format spa_format(uint8_t f)
{
	switch (f) {
	case VIRTIO_SND_PCM_FMT_S8: return SPA_AUDIO_FORMAT_S8;
	case VIRTIO_SND_PCM_FMT_U8: return SPA_AUDIO_FORMAT_U8;
	case VIRTIO_SND_PCM_FMT_S16: return SPA_AUDIO_FORMAT_S16_LE;
	/* virtio's S24 is 24 bits in a 4-byte sample (vsnd_format_bytes). */
	case VIRTIO_SND_PCM_FMT_S24: return SPA_AUDIO_FORMAT_S24_32_LE;
	case VIRTIO_SND_PCM_FMT_S32: return SPA_AUDIO_FORMAT_S32_LE;
	case VIRTIO_SND_PCM_FMT_FLOAT: return SPA_AUDIO_FORMAT_F32_LE;
	case VIRTIO_SND_PCM_FMT_FLOAT64: return SPA_AUDIO_FORMAT_F64_LE;
	}
	return SPA_AUDIO_FORMAT_UNKNOWN;
}

/* Copy between the ring and a flat buffer, wrapping. */
static void ring_out(const struct pw_strm *st, uint64_t at, uint8_t *dst, uint32_t n)
{
	uint64_t o = at % st->cap;
	uint32_t first = (uint32_t)(st->cap - o < n ? st->cap - o : n);

	memcpy(dst, st->ring + o, first);
	memcpy(dst + first, st->ring, n - first);
}

static void ring_in(struct pw_strm *st, uint64_t at, const uint8_t *src, uint32_t n)
{
	uint64_t o = at % st->cap;
	uint32_t first = (uint32_t)(st->cap - o < n ? st->cap - o : n);

	memcpy(st->ring + o, src, first);
	memcpy(st->ring, src + first, n - first);
}

/* PipeWire's data thread: one graph cycle. */
static void on_process(void *data)
{
	struct pw_strm *st = data;
	struct pw_buffer *b = pw_stream_dequeue_buffer(st->stream);
	struct spa_data *d;
	uint32_t n;

	if (!b)
		return;
	d = &b->buffer->datas[0];
	if (!d->data) {
		pw_stream_queue_buffer(st->stream, b);
		return;
	}
	pthread_mutex_lock(&st->lock);
	if (!st->ring) {
		pthread_mutex_unlock(&st->lock);
		pw_stream_queue_buffer(st->stream, b);
		return;
	}
	if (st->dir == VIRTIO_SND_D_OUTPUT) {
		uint32_t want = d->maxsize, have;

		if (b->requested && b->requested * st->frame_bytes < want)
			want = (uint32_t)(b->requested * st->frame_bytes);
		want -= want % st->frame_bytes;
		have = st->running ? (uint32_t)(st->wr - st->rd) : 0;
		n = have < want ? have : want;
		ring_out(st, st->rd, d->data, n);
		st->rd += n;
		if (n < want) {
			memset((uint8_t *)d->data + n, st->silence, want - n);
			if (st->running)
				st->xruns++;
		}
		d->chunk->offset = 0;
		d->chunk->stride = (int32_t)st->frame_bytes;
		d->chunk->size = want;
	} else {
		uint32_t off = d->chunk->offset % d->maxsize;
		uint32_t size = d->chunk->size, room = (uint32_t)(st->cap - (st->wr - st->rd));

		if (size > d->maxsize - off)
			size = d->maxsize - off;
		n = st->running ? (size < room ? size : room) : 0;
		ring_in(st, st->wr, (const uint8_t *)d->data + off, n);
		st->wr += n;
		if (st->running && n < size)
			st->xruns++;
	}
	pthread_mutex_unlock(&st->lock);
	pw_stream_queue_buffer(st->stream, b);
	if (n)
		wake(st->p);
}

/* The thread loop's thread. */
static void on_state(void *data, enum pw_stream_state old, enum pw_stream_state state,
		     const char *error)
{
	struct pw_strm *st = data;

	(void)old;
	(void)error;
	if (state == PW_STREAM_STATE_ERROR) {
		pthread_mutex_lock(&st->lock);
		st->error = true;
		pthread_mutex_unlock(&st->lock);
		wake(st->p);
	}
}

static const struct pw_stream_events stream_events = {
	PW_VERSION_STREAM_EVENTS,
	.state_changed = on_state,
	.process = on_process,
};

/* Destroy the pw_stream and the ring (worker). */
static void close_stream(struct pw_strm *st)
{
	struct vsnd_pw *p = st->p;

	if (st->stream) {
		pw_thread_loop_lock(p->tl);
		pw_stream_destroy(st->stream);
		pw_thread_loop_unlock(p->tl);
		st->stream = NULL;
	}
	/* No callback runs for a destroyed stream; the lock covers one that
	 * PipeWire's data thread might still be finishing. */
	pthread_mutex_lock(&st->lock);
	free(st->ring);
	st->ring = NULL;
	st->rd = st->wr = 0;
	st->running = false;
	st->error = false;
	pthread_mutex_unlock(&st->lock);
	st->npushed = 0;
	st->push_off = 0;
}

/* Forget what is in the ring: held messages start over (STOP, a ring
 * stop).  The callback then sees an empty ring. */
static void drop_ring(struct pw_strm *st)
{
	pthread_mutex_lock(&st->lock);
	st->rd = st->wr;
	pthread_mutex_unlock(&st->lock);
	st->npushed = 0;
	st->push_off = 0;
}

static void complete_all_err(struct pw_strm *st)
{
	while (vsnd_io_head(st->p->m, st->id))
		vsnd_io_pop(st->p->m, st->id, VIRTIO_SND_S_IO_ERR, 0);
	st->npushed = 0;
	st->push_off = 0;
}

/* Worker: complete what PipeWire has taken, put more into the ring. */
static void service_out(struct pw_strm *st)
{
	struct vsnd_model *m = st->p->m;
	struct vsnd_stream *s = &m->s[st->id];
	uint64_t rd, wr;

	pthread_mutex_lock(&st->lock);
	rd = st->rd;
	wr = st->wr;
	pthread_mutex_unlock(&st->lock);
	while (st->npushed && rd >= st->end[s->head]) {
		st->npushed--;
		vsnd_io_pop(m, st->id, VIRTIO_SND_S_OK, (uint32_t)(wr - rd));
	}
	while (st->npushed < s->n) {
		unsigned slot = (s->head + st->npushed) % SND_QUEUE_SIZE;
		struct vsnd_io *io = &s->io[slot];
		struct vq_elem *e = io->cookie;
		uint32_t left = io->bytes - st->push_off, room, n;
		uint8_t buf[4096];

		room = (uint32_t)(st->cap - (wr - rd));
		n = left < room ? left : room;
		if (n > sizeof(buf))
			n = sizeof(buf);
		if (n) {
			iov_to_buf(e->rd, e->n_rd, sizeof(struct virtio_snd_pcm_xfer) + st->push_off,
				   buf, n);
			pthread_mutex_lock(&st->lock);
			ring_in(st, st->wr, buf, n);
			st->wr += n;
			wr = st->wr;
			rd = st->rd;
			pthread_mutex_unlock(&st->lock);
			st->push_off += n;
			left -= n;
		}
		if (left) {
			if (!n)
				break;          /* the ring is full */
			continue;
		}
		st->end[slot] = wr;
		st->npushed++;
		st->push_off = 0;
	}
}

/* Worker: fill held capture messages from the ring. */
static void service_in(struct pw_strm *st)
{
	struct vsnd_model *m = st->p->m;
	struct vsnd_stream *s = &m->s[st->id];

	for (;;) {
		struct vsnd_io *io = vsnd_io_head(m, st->id);
		uint32_t left, n;
		uint64_t avail;
		uint8_t buf[4096];

		if (!io)
			return;
		left = io->bytes - s->head_off;
		if (left < st->frame_bytes) {
			/* Done (a trailing partial frame is not a frame). */
			pthread_mutex_lock(&st->lock);
			avail = st->wr - st->rd;
			pthread_mutex_unlock(&st->lock);
			vsnd_io_pop(m, st->id, VIRTIO_SND_S_OK, (uint32_t)avail);
			continue;
		}
		pthread_mutex_lock(&st->lock);
		avail = st->wr - st->rd;
		n = left < avail ? left : (uint32_t)avail;
		if (n > sizeof(buf))
			n = sizeof(buf);
		n -= n % st->frame_bytes;
		ring_out(st, st->rd, buf, n);
		st->rd += n;
		pthread_mutex_unlock(&st->lock);
		if (!n)
			return;
		iov_from_buf(((struct vq_elem *)io->cookie)->wr, ((struct vq_elem *)io->cookie)->n_wr,
			     s->head_off, buf, n);
		s->head_off += n;
	}
}

static void service(struct pw_strm *st)
{
	struct vsnd_model *m = st->p->m;
	struct vsnd_stream *s = &m->s[st->id];
	uint64_t xruns;
	bool error;

	if (!st->stream || s->state != SND_ST_RUNNING)
		return;
	pthread_mutex_lock(&st->lock);
	xruns = st->xruns;
	error = st->error;
	pthread_mutex_unlock(&st->lock);
	if (error) {
		vhd_log_ratelimited(&st->log_budget, 5, VHD_LOG_WARN,
				    "sound: stream %u: the PipeWire stream failed", st->id);
		complete_all_err(st);
		return;
	}
	if (xruns != st->xruns_seen) {
		vhd_log_ratelimited(&st->log_budget, 5, VHD_LOG_INFO, "sound: stream %u: %s",
				    st->id, s->dir == VIRTIO_SND_D_OUTPUT ? "underrun" : "overrun");
		st->xruns_seen = xruns;
	}
	if (s->dir == VIRTIO_SND_D_OUTPUT)
		service_out(st);
	else
		service_in(st);
}

static void on_wake(struct vhd_handler *h, uint32_t events)
{
	struct vsnd_pw *p = h->opaque;
	uint64_t v;

	(void)events;
	if (read(p->efd, &v, sizeof(v)) < 0) {
	}
	vsnd_pw_service_all(p);
	p->notify(p->opaque);
}

/* The thread loop, context and core: once per connection, at the first
 * PREPARE (a daemon is needed only when a stream is used). */
static int ensure_core(struct vsnd_pw *p)
{
	if (p->core)
		return 0;
	if (!p->tl) {
		p->tl = pw_thread_loop_new("vhd-sound-pw", NULL);
		if (!p->tl)
			return -ENOMEM;
		p->ctx = pw_context_new(pw_thread_loop_get_loop(p->tl), NULL, 0);
		if (!p->ctx || pw_thread_loop_start(p->tl) < 0) {
			LOG_WARN("sound: cannot start a PipeWire thread loop");
			return -EIO;
		}
	}
	pw_thread_loop_lock(p->tl);
	p->core = pw_context_connect(p->ctx, NULL, 0);
	pw_thread_loop_unlock(p->tl);
	if (!p->core) {
		LOG_WARN("sound: cannot connect to the PipeWire daemon: %s", strerror(errno));
		return -EIO;
	}
	return 0;
}

static int pw_prepare(void *opaque, unsigned id)
{
	struct vsnd_pw *p = opaque;
	struct pw_strm *st = &p->s[id];
	struct vsnd_stream *s = &p->m->s[id];
	struct spa_audio_info_raw info;
	uint8_t pod[1024];
	struct spa_pod_builder b = SPA_POD_BUILDER_INIT(pod, sizeof(pod));
	const struct spa_pod *params[1];
	struct pw_properties *props;
	unsigned rate = vsnd_rate_hz(s->rate);
	char name[64];
	int err;

	close_stream(st);
	if ((err = ensure_core(p)) < 0)
		return err;
	st->frame_bytes = vsnd_format_bytes(s->format) * s->channels;
	st->silence = vsnd_silence_byte(s->format);
	st->dir = s->dir;
	/* buffer_bytes is the driver's word (any value at least a period):
	 * at least a frame, at most RING_MAX. */
	st->cap = s->buffer_bytes < RING_MAX ? s->buffer_bytes : RING_MAX;
	st->cap -= st->cap % st->frame_bytes;
	if (st->cap < st->frame_bytes)
		st->cap = st->frame_bytes;
	pthread_mutex_lock(&st->lock);
	st->ring = malloc(st->cap);
	pthread_mutex_unlock(&st->lock);
	if (!st->ring)
		return -ENOMEM;
	snprintf(name, sizeof(name), "vhost-device-sound.%u", id);
	props = pw_properties_new(PW_KEY_MEDIA_TYPE, "Audio",
				  PW_KEY_MEDIA_CATEGORY,
				  s->dir == VIRTIO_SND_D_OUTPUT ? "Playback" : "Capture",
				  PW_KEY_MEDIA_ROLE, "Game", PW_KEY_NODE_NAME, name, NULL);
	if (!props)
		return -ENOMEM;
	/* The guest's period is the graph's wish for this node. */
	pw_properties_setf(props, PW_KEY_NODE_LATENCY, "%u/%u", s->period_bytes / st->frame_bytes,
			   rate);
	if (p->target)
		pw_properties_set(props, PW_KEY_TARGET_OBJECT, p->target);
	memset(&info, 0, sizeof(info));
	info.format = spa_format(s->format);
	info.rate = rate;
	info.channels = s->channels;
	if (s->channels == 1) {
		info.position[0] = SPA_AUDIO_CHANNEL_MONO;
	} else if (s->channels == 2) {
		/* The channel map this device reports (sound-pcm.c). */
		info.position[0] = SPA_AUDIO_CHANNEL_FL;
		info.position[1] = SPA_AUDIO_CHANNEL_FR;
	} else {
		info.flags = SPA_AUDIO_FLAG_UNPOSITIONED;
	}
	params[0] = spa_format_audio_raw_build(&b, SPA_PARAM_EnumFormat, &info);

	pw_thread_loop_lock(p->tl);
	st->stream = pw_stream_new(p->core, name, props);
	if (st->stream) {
		pw_stream_add_listener(st->stream, &st->listener, &stream_events, st);
		err = pw_stream_connect(st->stream,
					s->dir == VIRTIO_SND_D_OUTPUT ? PW_DIRECTION_OUTPUT
								      : PW_DIRECTION_INPUT,
					PW_ID_ANY,
					PW_STREAM_FLAG_AUTOCONNECT | PW_STREAM_FLAG_MAP_BUFFERS |
					PW_STREAM_FLAG_RT_PROCESS | PW_STREAM_FLAG_INACTIVE,
					params, 1);
	} else {
		err = -errno;
	}
	pw_thread_loop_unlock(p->tl);
	if (err < 0) {
		LOG_WARN("sound: stream %u: cannot create the PipeWire stream: %s", id,
			 strerror(-err));
		close_stream(st);
		return err;
	}
	return 0;
}

static int pw_start(void *opaque, unsigned id)
{
	struct vsnd_pw *p = opaque;
	struct pw_strm *st = &p->s[id];

	if (!st->stream)
		return -EIO;
	drop_ring(st);
	pthread_mutex_lock(&st->lock);
	st->running = true;
	pthread_mutex_unlock(&st->lock);
	pw_thread_loop_lock(p->tl);
	pw_stream_set_active(st->stream, true);
	pw_thread_loop_unlock(p->tl);
	return 0;
}

static void pw_stop(void *opaque, unsigned id)
{
	struct vsnd_pw *p = opaque;
	struct pw_strm *st = &p->s[id];

	if (!st->stream)
		return;
	pw_thread_loop_lock(p->tl);
	pw_stream_set_active(st->stream, false);
	pw_thread_loop_unlock(p->tl);
	pthread_mutex_lock(&st->lock);
	st->running = false;
	pthread_mutex_unlock(&st->lock);
	/* After START the held messages play from their start again. */
	drop_ring(st);
	p->m->s[id].head_off = 0;
}

static void pw_release(void *opaque, unsigned id)
{
	struct vsnd_pw *p = opaque;

	close_stream(&p->s[id]);
}

static void pw_queued(void *opaque, unsigned id)
{
	struct vsnd_pw *p = opaque;

	service(&p->s[id]);
}

const struct vsnd_hooks vsnd_pw_hooks = {
	.prepare = pw_prepare,
	.start = pw_start,
	.stop = pw_stop,
	.release = pw_release,
	.queued = pw_queued,
};

static pthread_once_t pw_once = PTHREAD_ONCE_INIT;

static void pw_init_once(void)
{
	pw_init(NULL, NULL);
}

struct vsnd_pw *vsnd_pw_new(struct vsnd_model *m, const char *target, struct vhd_loop *loop,
			    void (*notify)(void *opaque), void *opaque)
{
	struct vsnd_pw *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	pthread_once(&pw_once, pw_init_once);
	p->m = m;
	p->target = target;
	p->loop = loop;
	p->notify = notify;
	p->opaque = opaque;
	p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (p->efd < 0) {
		free(p);
		return NULL;
	}
	p->h.fd = p->efd;
	p->h.cb = on_wake;
	p->h.opaque = p;
	if (vhd_loop_add(loop, &p->h, EPOLLIN) < 0) {
		close(p->efd);
		free(p);
		return NULL;
	}
	for (unsigned i = 0; i < SND_MAX_STREAMS; i++) {
		p->s[i].p = p;
		p->s[i].id = i;
		pthread_mutex_init(&p->s[i].lock, NULL);
	}
	return p;
}

void vsnd_pw_free(struct vsnd_pw *p)
{
	if (!p)
		return;
	for (unsigned i = 0; i < SND_MAX_STREAMS; i++)
		close_stream(&p->s[i]);
	if (p->tl)
		pw_thread_loop_stop(p->tl);
	if (p->core)
		pw_core_disconnect(p->core);
	if (p->ctx)
		pw_context_destroy(p->ctx);
	if (p->tl)
		pw_thread_loop_destroy(p->tl);
	for (unsigned i = 0; i < SND_MAX_STREAMS; i++)
		pthread_mutex_destroy(&p->s[i].lock);
	vhd_loop_del(&p->h);
	close(p->efd);
	free(p);
}

void vsnd_pw_service_all(struct vsnd_pw *p)
{
	for (unsigned i = 0; i < p->m->nstreams; i++)
		service(&p->s[i]);
}

void vsnd_pw_quiesce(struct vsnd_pw *p, uint8_t dir)
{
	/* The core gives the held messages back: nothing of them may stay
	 * in the ring, and a new message starts a new count. */
	for (unsigned i = 0; i < p->m->nstreams; i++)
		if (p->m->s[i].dir == dir)
			drop_ring(&p->s[i]);
}
