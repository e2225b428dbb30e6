/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * The virtio-snd device model: control requests, the PCM state machine
 * and the real-rate clock of held I/O messages (sound-pcm.h).  All fields
 * of a request are hostile input: every identifier, count and size is
 * checked before it is used.
 */
#include "config.h"
#include "sound-pcm.h"

#include <endian.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *name;
	uint8_t code;
	uint8_t bytes;
} formats[] = {
	{ "s8", VIRTIO_SND_PCM_FMT_S8, 1 },
	{ "u8", VIRTIO_SND_PCM_FMT_U8, 1 },
	{ "s16", VIRTIO_SND_PCM_FMT_S16, 2 },
	{ "s24", VIRTIO_SND_PCM_FMT_S24, 4 },     /* 24 bits in 32 (5.14.6.6.2) */
	{ "s32", VIRTIO_SND_PCM_FMT_S32, 4 },
	{ "float", VIRTIO_SND_PCM_FMT_FLOAT, 4 },
	{ "float64", VIRTIO_SND_PCM_FMT_FLOAT64, 8 },
};

static const unsigned rates_hz[] = {
	[VIRTIO_SND_PCM_RATE_5512] = 5512, [VIRTIO_SND_PCM_RATE_8000] = 8000,
	[VIRTIO_SND_PCM_RATE_11025] = 11025, [VIRTIO_SND_PCM_RATE_16000] = 16000,
	[VIRTIO_SND_PCM_RATE_22050] = 22050, [VIRTIO_SND_PCM_RATE_32000] = 32000,
	[VIRTIO_SND_PCM_RATE_44100] = 44100, [VIRTIO_SND_PCM_RATE_48000] = 48000,
	[VIRTIO_SND_PCM_RATE_64000] = 64000, [VIRTIO_SND_PCM_RATE_88200] = 88200,
	[VIRTIO_SND_PCM_RATE_96000] = 96000, [VIRTIO_SND_PCM_RATE_176400] = 176400,
	[VIRTIO_SND_PCM_RATE_192000] = 192000, [VIRTIO_SND_PCM_RATE_384000] = 384000,
};
#define N_RATES (sizeof(rates_hz) / sizeof(rates_hz[0]))

int vsnd_format_parse(const char *name)
{
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
		if (!strcmp(name, formats[i].name))
			return formats[i].code;
	return -1;
}

unsigned vsnd_format_bytes(unsigned code)
{
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
		if (formats[i].code == code)
			return formats[i].bytes;
	return 0;
}

uint8_t vsnd_silence_byte(unsigned format)
{
	return format == VIRTIO_SND_PCM_FMT_U8 ? 0x80 : 0;
}

int vsnd_rate_parse(const char *hz)
{
	unsigned long v = 0;

	/* Digits only, no sign or blanks; at most 6 of them. */
	if (!*hz || strlen(hz) > 6)
		return -1;
	for (const char *p = hz; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	for (unsigned i = 0; i < N_RATES; i++)
		if (rates_hz[i] == v)
			return (int)i;
	return -1;
}

unsigned vsnd_rate_hz(unsigned code)
{
	return code < N_RATES ? rates_hz[code] : 0;
}

int vsnd_parse_list(const char *list, bool rates, uint64_t *out, const char **bad)
{
	static char tok[64];
	const char *p = list;
	uint64_t map = 0;

	*bad = list;
	while (*p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		int code;

		if (len == 0 || len >= sizeof(tok)) {
			*bad = p;
			return -1;
		}
		memcpy(tok, p, len);
		tok[len] = 0;
		code = rates ? vsnd_rate_parse(tok) : vsnd_format_parse(tok);
		if (code < 0) {
			*bad = tok;
			return -1;
		}
		map |= 1ull << code;
		p += len;
		if (*p == ',' && !*++p) {
			*bad = "";
			return -1;      /* trailing comma */
		}
	}
	if (!map)
		return -1;
	*out = map;
	return 0;
}

void vsnd_model_init(struct vsnd_model *m, const struct vsnd_caps *caps,
		    vsnd_complete_fn complete, void *opaque)
{
	memset(m, 0, sizeof(*m));
	m->caps = *caps;
	m->nstreams = caps->n_out + caps->n_in;
	m->complete = complete;
	m->opaque = opaque;
	for (unsigned i = 0; i < m->nstreams; i++)
		m->s[i].dir = i < caps->n_out ? VIRTIO_SND_D_OUTPUT : VIRTIO_SND_D_INPUT;
}

void vsnd_model_reset(struct vsnd_model *m)
{
	for (unsigned i = 0; i < m->nstreams; i++) {
		struct vsnd_stream *s = &m->s[i];
		uint8_t dir = s->dir;

		memset(s, 0, sizeof(*s));
		s->dir = dir;
	}
}

/* One channel map per direction that has streams: stereo (FL, FR), as
 * the Rust backend describes its streams. */
unsigned vsnd_chmaps(const struct vsnd_model *m)
{
	return (m->caps.n_out ? 1 : 0) + (m->caps.n_in ? 1 : 0);
}

void vsnd_config(const struct vsnd_model *m, struct vsnd_config *c)
{
	c->jacks = htole32(0);
	c->streams = htole32(m->nstreams);
	c->chmaps = htole32(vsnd_chmaps(m));
	c->controls = htole32(0);
}

static size_t resp_status(struct vsnd_model *m, uint32_t status)
{
	uint32_t le = htole32(status);

	memcpy(m->resp, &le, sizeof(le));
	return sizeof(le);
}

uint32_t vsnd_resp_status(const struct vsnd_model *m)
{
	uint32_t le;

	memcpy(&le, m->resp, sizeof(le));
	return le32toh(le);
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return le32toh(v);
}

/* Complete every held message of stream i with status (RELEASE). */
static void flush_stream(struct vsnd_model *m, unsigned i, uint32_t status)
{
	struct vsnd_stream *s = &m->s[i];

	/* The head may be partly filled by a host backend (head_off). */
	uint32_t filled = s->head_off;

	while (s->n) {
		struct vsnd_io io = s->io[s->head];

		s->head = (s->head + 1) % SND_QUEUE_SIZE;
		s->n--;
		m->complete(m->opaque, i, s->dir, io.cookie, status, 0, filled);
		filled = 0;
	}
}

static void fill_item(struct vsnd_model *m, uint32_t code, uint32_t id, uint8_t *out)
{
	if (code == VIRTIO_SND_R_PCM_INFO) {
		struct virtio_snd_pcm_info pi;

		memset(&pi, 0, sizeof(pi));
		pi.features = htole32(m->caps.pcm_features);
		pi.formats = htole64(m->caps.formats);
		pi.rates = htole64(m->caps.rates);
		pi.direction = m->s[id].dir;
		pi.channels_min = SND_CHANNELS_MIN;
		pi.channels_max = SND_CHANNELS_MAX;
		memcpy(out, &pi, sizeof(pi));
	} else {    /* CHMAP_INFO: id 0 is the first direction that has streams */
		struct virtio_snd_chmap_info ci;

		memset(&ci, 0, sizeof(ci));
		ci.direction = (id == 0 && m->caps.n_out) ? VIRTIO_SND_D_OUTPUT : VIRTIO_SND_D_INPUT;
		ci.channels = 2;
		ci.positions[0] = VIRTIO_SND_CHMAP_FL;
		ci.positions[1] = VIRTIO_SND_CHMAP_FR;
		memcpy(out, &ci, sizeof(ci));
	}
}

/* JACK_INFO, PCM_INFO, CHMAP_INFO (5.14.6.3 "Item Information Request"). */
static size_t query(struct vsnd_model *m, uint32_t code, const uint8_t *req, size_t req_len,
		    size_t wr_cap)
{
	uint32_t start, count, size, items, min_size;
	uint64_t need;

	if (req_len < sizeof(struct virtio_snd_query_info))
		return resp_status(m, VIRTIO_SND_S_BAD_MSG);
	start = rd32(req + 4);
	count = rd32(req + 8);
	size = rd32(req + 12);
	switch (code) {
	case VIRTIO_SND_R_JACK_INFO:
		items = 0;
		min_size = sizeof(struct virtio_snd_jack_info);
		break;
	case VIRTIO_SND_R_PCM_INFO:
		items = m->nstreams;
		min_size = sizeof(struct virtio_snd_pcm_info);
		break;
	default:
		items = vsnd_chmaps(m);
		min_size = sizeof(struct virtio_snd_chmap_info);
		break;
	}
	if (size < min_size || size > SND_MAX_INFO_SIZE || start > items || count > items - start)
		return resp_status(m, VIRTIO_SND_S_BAD_MSG);
	need = sizeof(struct virtio_snd_hdr) + (uint64_t)count * size;
	if (need > wr_cap)
		return resp_status(m, VIRTIO_SND_S_BAD_MSG);
	memset(m->resp, 0, need);
	for (uint32_t i = 0; i < count; i++)
		fill_item(m, code, start + i,
			  m->resp + sizeof(struct virtio_snd_hdr) + (size_t)i * size);
	resp_status(m, VIRTIO_SND_S_OK);
	return need;
}

static uint32_t set_params(struct vsnd_model *m, struct vsnd_stream *s, const uint8_t *req,
			   size_t req_len)
{
	struct virtio_snd_pcm_set_params p;
	uint32_t features;
	unsigned bytes;

	if (req_len < sizeof(p))
		return VIRTIO_SND_S_BAD_MSG;
	memcpy(&p, req, sizeof(p));
	/* 5.14.6.6.3.1: parameters out of what PCM_INFO offered.  The only
	 * feature ever offered is EVT_XRUNS (a host backend that has xruns):
	 * no shared memory, no polling. */
	features = le32toh(p.features);
	if (features & ~m->caps.pcm_features)
		return VIRTIO_SND_S_NOT_SUPP;
	if (p.format >= 64 || !(m->caps.formats & (1ull << p.format)) ||
	    p.rate >= 64 || !(m->caps.rates & (1ull << p.rate)) ||
	    p.channels < SND_CHANNELS_MIN || p.channels > SND_CHANNELS_MAX)
		return VIRTIO_SND_S_NOT_SUPP;
	bytes = vsnd_format_bytes(p.format);
	if (le32toh(p.period_bytes) == 0 || le32toh(p.buffer_bytes) < le32toh(p.period_bytes))
		return VIRTIO_SND_S_BAD_MSG;
	s->buffer_bytes = le32toh(p.buffer_bytes);
	s->period_bytes = le32toh(p.period_bytes);
	s->channels = p.channels;
	s->format = p.format;
	s->rate = p.rate;
	s->features = features;
	s->byte_rate = (uint64_t)vsnd_rate_hz(p.rate) * p.channels * bytes;
	s->state = SND_ST_PARAMS;
	return VIRTIO_SND_S_OK;
}

/*
 * The PCM command state machine (5.14.6.6.1): which command is allowed
 * in which state.  SET_PARAMETERS: initially and after SET_PARAMETERS,
 * PREPARE or RELEASE; PREPARE: after SET_PARAMETERS, PREPARE or RELEASE;
 * START: after PREPARE or STOP; STOP: after START; RELEASE: after PREPARE
 * or STOP.  Anything else is BAD_MSG.
 */
static bool allowed(uint32_t code, enum vsnd_state st)
{
	switch (code) {
	case VIRTIO_SND_R_PCM_SET_PARAMS:
		return st == SND_ST_NONE || st == SND_ST_PARAMS || st == SND_ST_PREPARED ||
		       st == SND_ST_RELEASED;
	case VIRTIO_SND_R_PCM_PREPARE:
		return st == SND_ST_PARAMS || st == SND_ST_PREPARED || st == SND_ST_RELEASED;
	case VIRTIO_SND_R_PCM_START:
		return st == SND_ST_PREPARED || st == SND_ST_STOPPED;
	case VIRTIO_SND_R_PCM_STOP:
		return st == SND_ST_RUNNING;
	case VIRTIO_SND_R_PCM_RELEASE:
		return st == SND_ST_PREPARED || st == SND_ST_STOPPED;
	}
	return false;
}

static uint32_t pcm_command(struct vsnd_model *m, uint32_t code, const uint8_t *req,
			    size_t req_len, uint64_t now)
{
	struct vsnd_stream *s;
	uint32_t id;

	if (req_len < sizeof(struct virtio_snd_pcm_hdr))
		return VIRTIO_SND_S_BAD_MSG;
	id = rd32(req + 4);
	if (id >= m->nstreams)
		return VIRTIO_SND_S_BAD_MSG;
	s = &m->s[id];
	if (!allowed(code, s->state))
		return VIRTIO_SND_S_BAD_MSG;
	switch (code) {
	case VIRTIO_SND_R_PCM_SET_PARAMS:
		return set_params(m, s, req, req_len);
	case VIRTIO_SND_R_PCM_PREPARE:
		if (m->hooks && m->hooks->prepare(m->hooks_opaque, id) < 0)
			return VIRTIO_SND_S_IO_ERR;
		s->state = SND_ST_PREPARED;
		s->head_off = 0;
		break;
	case VIRTIO_SND_R_PCM_START:
		if (m->hooks && m->hooks->start(m->hooks_opaque, id) < 0)
			return VIRTIO_SND_S_IO_ERR;
		s->state = SND_ST_RUNNING;
		/* A new run: the clock starts now.  Bytes of a message partly
		 * consumed before a STOP count again, so a message never
		 * completes early. */
		s->t0_ns = now;
		s->consumed = 0;
		break;
	case VIRTIO_SND_R_PCM_STOP:
		if (m->hooks)
			m->hooks->stop(m->hooks_opaque, id);
		s->state = SND_ST_STOPPED;
		break;
	case VIRTIO_SND_R_PCM_RELEASE:
		/* 5.14.6.6.5.1: the device completes every pending I/O
		 * message of the stream before it answers RELEASE. */
		if (m->hooks)
			m->hooks->release(m->hooks_opaque, id);
		flush_stream(m, id, VIRTIO_SND_S_OK);
		s->head_off = 0;
		s->state = SND_ST_RELEASED;
		break;
	}
	return VIRTIO_SND_S_OK;
}

size_t vsnd_ctl(struct vsnd_model *m, const uint8_t *req, size_t req_len, size_t wr_cap,
	       uint64_t now)
{
	uint32_t code;
	size_t n;

	if (wr_cap < sizeof(struct virtio_snd_hdr))
		return 0;
	if (req_len < sizeof(struct virtio_snd_hdr))
		return resp_status(m, VIRTIO_SND_S_BAD_MSG);
	code = rd32(req);
	switch (code) {
	case VIRTIO_SND_R_JACK_INFO:
	case VIRTIO_SND_R_PCM_INFO:
	case VIRTIO_SND_R_CHMAP_INFO:
		n = query(m, code, req, req_len, wr_cap);
		return n;
	case VIRTIO_SND_R_JACK_REMAP:
		/* There are no jacks, so no jack_id is valid. */
		return resp_status(m, VIRTIO_SND_S_BAD_MSG);
	case VIRTIO_SND_R_PCM_SET_PARAMS:
	case VIRTIO_SND_R_PCM_PREPARE:
	case VIRTIO_SND_R_PCM_RELEASE:
	case VIRTIO_SND_R_PCM_START:
	case VIRTIO_SND_R_PCM_STOP:
		return resp_status(m, pcm_command(m, code, req, req_len, now));
	}
	return resp_status(m, VIRTIO_SND_S_NOT_SUPP);
}

uint32_t vsnd_io_add(struct vsnd_model *m, uint8_t dir, uint32_t stream_id, uint32_t bytes,
		    void *cookie, uint64_t now)
{
	struct vsnd_stream *s;

	if (stream_id >= m->nstreams)
		return VIRTIO_SND_S_BAD_MSG;
	s = &m->s[stream_id];
	if (s->dir != dir)
		return VIRTIO_SND_S_BAD_MSG;
	/* Messages belong to a prepared stream (5.14.6.8): queued before
	 * START (the driver fills the buffer first), during a run, or while
	 * stopped until START or RELEASE. */
	if (s->state != SND_ST_PREPARED && s->state != SND_ST_RUNNING &&
	    s->state != SND_ST_STOPPED)
		return VIRTIO_SND_S_BAD_MSG;
	if (s->n == SND_QUEUE_SIZE)
		return VIRTIO_SND_S_IO_ERR;     /* more than a ring: cannot happen */
	if (s->state == SND_ST_RUNNING && s->n == 0) {
		/* The stream ran dry: play this one from now on. */
		s->t0_ns = now;
		s->consumed = 0;
	}
	s->io[(s->head + s->n) % SND_QUEUE_SIZE] = (struct vsnd_io){ cookie, bytes };
	s->n++;
	if (m->hooks && s->state == SND_ST_RUNNING)
		m->hooks->queued(m->hooks_opaque, stream_id);
	return VIRTIO_SND_S_OK;
}

/* When the head message of a running stream has been consumed: the
 * first nanosecond at which t0 + (consumed + bytes) / byte_rate has
 * passed (rounded up, so never early). */
static uint64_t head_due(const struct vsnd_stream *s)
{
	unsigned __int128 ns;

	if (s->state != SND_ST_RUNNING || !s->n || !s->byte_rate)
		return UINT64_MAX;
	ns = ((unsigned __int128)(s->consumed + s->io[s->head].bytes) * 1000000000u +
	      s->byte_rate - 1) / s->byte_rate;
	if (ns > UINT64_MAX - s->t0_ns)
		return UINT64_MAX;
	return s->t0_ns + (uint64_t)ns;
}

static uint32_t held_bytes(const struct vsnd_stream *s)
{
	uint64_t sum = 0;

	for (unsigned k = 0; k < s->n; k++)
		sum += s->io[(s->head + k) % SND_QUEUE_SIZE].bytes;
	return sum > UINT32_MAX ? UINT32_MAX : (uint32_t)sum;
}

unsigned vsnd_io_collect(struct vsnd_model *m, uint64_t now)
{
	unsigned done = 0;

	if (m->hooks)
		return 0;       /* a host backend moves the messages */
	for (unsigned i = 0; i < m->nstreams; i++) {
		struct vsnd_stream *s = &m->s[i];

		while (head_due(s) <= now) {
			struct vsnd_io io = s->io[s->head];

			s->head = (s->head + 1) % SND_QUEUE_SIZE;
			s->n--;
			s->consumed += io.bytes;
			m->complete(m->opaque, i, s->dir, io.cookie, VIRTIO_SND_S_OK, held_bytes(s),
				    0);
			done++;
		}
	}
	return done;
}

uint64_t vsnd_next_due(const struct vsnd_model *m)
{
	uint64_t first = UINT64_MAX;

	if (m->hooks)
		return UINT64_MAX;
	for (unsigned i = 0; i < m->nstreams; i++) {
		uint64_t d = head_due(&m->s[i]);

		if (d < first)
			first = d;
	}
	return first;
}

bool vsnd_io_forget(struct vsnd_model *m, void *cookie, unsigned *stream)
{
	for (unsigned i = 0; i < m->nstreams; i++) {
		struct vsnd_stream *s = &m->s[i];

		for (unsigned k = 0; k < s->n; k++) {
			unsigned at = (s->head + k) % SND_QUEUE_SIZE;

			if (s->io[at].cookie != cookie)
				continue;
			if (k == 0)
				s->head_off = 0;   /* the new head starts afresh */
			/* Close the gap: shift the later ones down. */
			for (unsigned j = k; j + 1 < s->n; j++)
				s->io[(s->head + j) % SND_QUEUE_SIZE] =
					s->io[(s->head + j + 1) % SND_QUEUE_SIZE];
			s->n--;
			if (stream)
				*stream = i;
			return true;
		}
	}
	return false;
}

unsigned vsnd_io_held(const struct vsnd_model *m, unsigned stream)
{
	return stream < m->nstreams ? m->s[stream].n : 0;
}

struct vsnd_io *vsnd_io_head(struct vsnd_model *m, unsigned stream)
{
	struct vsnd_stream *s = &m->s[stream];

	return s->n ? &s->io[s->head] : NULL;
}

void vsnd_io_pop(struct vsnd_model *m, unsigned stream, uint32_t status, uint32_t latency)
{
	struct vsnd_stream *s = &m->s[stream];
	struct vsnd_io io;
	uint32_t filled = s->head_off;

	if (!s->n)
		return;
	io = s->io[s->head];
	s->head = (s->head + 1) % SND_QUEUE_SIZE;
	s->n--;
	s->head_off = 0;
	m->complete(m->opaque, stream, s->dir, io.cookie, status, latency, filled);
}

void vsnd_model_set_hooks(struct vsnd_model *m, const struct vsnd_hooks *h, void *opaque)
{
	m->hooks = h;
	m->hooks_opaque = opaque;
}

void vsnd_model_set_event(struct vsnd_model *m, vsnd_event_fn fn)
{
	m->event = fn;
}

bool vsnd_xrun(struct vsnd_model *m, unsigned stream)
{
	if (stream >= m->nstreams || !m->event ||
	    !(m->s[stream].features & (1u << VIRTIO_SND_PCM_F_EVT_XRUNS)))
		return false;
	m->event(m->opaque, VIRTIO_SND_EVT_PCM_XRUN, stream);
	return true;
}
