/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * vhost-device-sound: virtio-snd device (virtio 1.2, 5.14 "Sound
 * Device"), command-line compatible with the Rust vhost-device-sound
 * (--socket, --socket-fd, --backend), driven by QEMU 10.0's
 * vhost-user-snd(-pci).
 *
 * Queues: control 0, event 1, tx 2, rx 3 (5.14.2).  Control requests are
 * answered at once (sound-pcm.c: the PCM state machine).  I/O messages
 * are held (vhost-device.h, "Held requests") and completed by a timer in
 * the connection's event loop when the stream's clock has consumed their
 * bytes: a period of playback completes no earlier than a period of real
 * time after it started playing, and a capture buffer no earlier than its
 * duration (the Rust null backend completes them at once).  Event buffers
 * are held: this device has no jack or period events to send.
 *
 * What it does that the Rust backend does not: the number of output and
 * input streams and the formats and rates offered are options; I/O runs
 * at the stream's real rate with the latency field filled; RELEASE
 * completes the stream's pending messages (5.14.6.6.5.1); requests in a
 * state the state machine forbids are answered BAD_MSG.
 *
 * Backends: null (a clock: playback discarded, capture returns silence),
 * ALSA (sound-alsa.c, when configure found libasound2-dev) and PipeWire
 * (sound-pipewire.c, when configure found libpipewire-0.3-dev).
 * GStreamer is not available in this program.
 */
#include "config.h"
#include "vhost-device.h"
#include "sound-pcm.h"
#ifdef VHD_SOUND_ALSA
#include "sound-alsa.h"
#endif
#ifdef VHD_SOUND_PIPEWIRE
#include "sound-pipewire.h"
#endif

#include <endian.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <string.h>
#include <time.h>

#define SND_NUM_QUEUES VIRTIO_SND_VQ_MAX
#define PROG "vhost-device-sound"

enum {
	OPT_SOCKET = 0x100,
	OPT_BACKEND,
	OPT_OUT_STREAMS,
	OPT_IN_STREAMS,
	OPT_FORMATS,
	OPT_RATES,
	OPT_ALSA_DEVICE,
	OPT_PW_TARGET,
};

/* The options (vhd_main's ctx). */
struct sound_opts {
	const char *socket;
	bool fd_given;               /* --socket-fd (or the core's --fd) */
	const char *backend;
	bool alsa;                   /* --backend alsa */
	const char *alsa_device;     /* --alsa-device, default "default" */
	bool pipewire;               /* --backend pipewire */
	const char *pw_target;       /* --pipewire-target, NULL: PipeWire's choice */
	struct vsnd_caps caps;
};

/* Event buffers held for the events the device reports (5.14.6.2); a
 * driver posts a handful (Linux: as many as the ring has).  Beyond this
 * many they are held unused until the queue stops. */
#define SND_EVENT_HELD 64

struct sound_dev {
	const struct sound_opts *opt;
	struct vu_dev *dev;          /* the current connection */
	struct vhd_timer *timer;
	struct vq_elem *ev[SND_EVENT_HELD];  /* FIFO of held event buffers */
	unsigned ev_head, ev_n;
	bool notify[SND_NUM_QUEUES];
	unsigned log_budget;
#ifdef VHD_SOUND_ALSA
	struct vsnd_alsa *alsa;       /* per connection, with --backend alsa */
#endif
#ifdef VHD_SOUND_PIPEWIRE
	struct vsnd_pw *pw;           /* per connection, with --backend pipewire */
#endif
	struct vsnd_model m;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Write the format's silence into wr[from..len) of e. */
static void fill_silence(struct vq_elem *e, uint32_t from, uint32_t len, uint8_t byte)
{
	uint8_t chunk[4096];

	memset(chunk, byte, sizeof(chunk));
	for (uint32_t off = from; off < len;) {
		uint32_t step = len - off < sizeof(chunk) ? len - off : (uint32_t)sizeof(chunk);

		iov_from_buf(e->wr, e->n_wr, off, chunk, step);
		off += step;
	}
}

/* Write the trailing virtio_snd_pcm_status of an I/O message (5.14.6.8)
 * and, for capture, the payload after the `filled` bytes a host backend
 * has written (silence); returns the used length: the status alone for
 * playback, payload and status for capture.  e->wr_len >= 8. */
static uint32_t io_finish(struct vq_elem *e, uint8_t dir, uint8_t silence, uint32_t status,
			  uint32_t latency, uint32_t filled)
{
	struct virtio_snd_pcm_status st = { htole32(status), htole32(latency) };
	uint32_t payload = e->wr_len - (uint32_t)sizeof(st);

	iov_from_buf(e->wr, e->n_wr, payload, &st, sizeof(st));
	if (dir == VIRTIO_SND_D_OUTPUT)
		return sizeof(st);
	fill_silence(e, filled < payload ? filled : payload, payload, silence);
	return e->wr_len;
}

static void complete_io(void *opaque, unsigned stream, uint8_t dir, void *cookie,
			uint32_t status, uint32_t latency, uint32_t filled)
{
	struct sound_dev *sd = opaque;
	unsigned q = dir == VIRTIO_SND_D_OUTPUT ? VIRTIO_SND_VQ_TX : VIRTIO_SND_VQ_RX;
	struct vq_elem *e = cookie;

	vq_push(vu_dev_queue(sd->dev, q), e,
		io_finish(e, dir, vsnd_silence_byte(sd->m.s[stream].format), status, latency,
			  filled));
	sd->notify[q] = true;
}

static void flush_notify(struct sound_dev *sd)
{
	for (unsigned q = 0; q < SND_NUM_QUEUES; q++)
		if (sd->notify[q]) {
			sd->notify[q] = false;
			vq_notify(vu_dev_queue(sd->dev, q));
		}
}

#if defined(VHD_SOUND_ALSA) || defined(VHD_SOUND_PIPEWIRE)
static void backend_notify(void *opaque)
{
	flush_notify(opaque);
}
#endif

static void rearm(struct sound_dev *sd)
{
	uint64_t due = vsnd_next_due(&sd->m), now;

	if (!sd->timer)
		return;
	if (due == UINT64_MAX) {
		vhd_timer_disarm(sd->timer);
		return;
	}
	now = now_ns();
	vhd_timer_arm(sd->timer, due > now ? due - now : 0);
}

static void timer_cb(struct vhd_timer *t, void *opaque)
{
	struct sound_dev *sd = opaque;

	(void)t;
	vsnd_io_collect(&sd->m, now_ns());
	flush_notify(sd);
	rearm(sd);
}

static bool handle_ctl(struct vu_dev *dev, struct virtqueue *q, struct vq_elem *e, void *opaque)
{
	struct sound_dev *sd = opaque;
	uint8_t req[64];
	size_t len = iov_to_buf(e->rd, e->n_rd, 0, req, sizeof(req));
	size_t n = vsnd_ctl(&sd->m, req, len, e->wr_len, now_ns());

	if (n == 0)
		vhd_log_ratelimited(&sd->log_budget, 5, VHD_LOG_WARN,
				    "%s: control request without room for a status", vu_dev_name(dev));
	else if (len >= 4) {
		uint32_t code;

		memcpy(&code, req, sizeof(code));
		LOG_DEBUG("%s: control request 0x%x: status 0x%x", vu_dev_name(dev),
			  le32toh(code), vsnd_resp_status(&sd->m));
	}
	iov_from_buf(e->wr, e->n_wr, 0, sd->m.resp, n);
	vq_push(q, e, (uint32_t)n);
	return true;
}

static bool handle_io(struct vu_dev *dev, struct virtqueue *q, struct vq_elem *e, void *opaque)
{
	struct sound_dev *sd = opaque;
	uint8_t dir = q->index == VIRTIO_SND_VQ_TX ? VIRTIO_SND_D_OUTPUT : VIRTIO_SND_D_INPUT;
	uint32_t le = 0, status, bytes;
	const uint32_t st_size = sizeof(struct virtio_snd_pcm_status);

	if (e->wr_len < st_size) {
		/* Nowhere to put a status: the message is malformed beyond
		 * answering (5.14.6.8). */
		vhd_log_ratelimited(&sd->log_budget, 5, VHD_LOG_WARN,
				    "%s: I/O message without room for a status", vu_dev_name(dev));
		vq_push(q, e, 0);
		return true;
	}
	if (e->rd_len < sizeof(struct virtio_snd_pcm_xfer)) {
		vq_push(q, e, io_finish(e, dir, 0, VIRTIO_SND_S_BAD_MSG, 0, 0));
		return true;
	}
	iov_to_buf(e->rd, e->n_rd, 0, &le, sizeof(le));
	bytes = dir == VIRTIO_SND_D_OUTPUT ? e->rd_len - (uint32_t)sizeof(le) : e->wr_len - st_size;
	status = vsnd_io_add(&sd->m, dir, le32toh(le), bytes, e, now_ns());
	if (status != VIRTIO_SND_S_OK)
		vq_push(q, e, io_finish(e, dir, 0, status, 0, 0));
	return true;
}

/* Event buffers wait for an event (5.14.6.2): a PCM_XRUN from a host
 * backend (vsnd_xrun()).  What is still held when the queue stops is
 * released by the core. */
static bool hold_event(struct vu_dev *dev, struct virtqueue *q, struct vq_elem *e, void *opaque)
{
	struct sound_dev *sd = opaque;

	if (e->wr_len < sizeof(struct virtio_snd_event)) {
		vhd_log_ratelimited(&sd->log_budget, 5, VHD_LOG_WARN,
				    "%s: event buffer of %u bytes, an event needs %zu",
				    vu_dev_name(dev), e->wr_len, sizeof(struct virtio_snd_event));
		vq_push(q, e, 0);
		sd->notify[VIRTIO_SND_VQ_EVENT] = true;
		return true;
	}
	if (sd->ev_n < SND_EVENT_HELD)
		sd->ev[(sd->ev_head + sd->ev_n++) % SND_EVENT_HELD] = e;
	return true;
}

static void send_event(void *opaque, uint32_t code, uint32_t data)
{
	struct sound_dev *sd = opaque;
	struct virtio_snd_event ev;
	struct vq_elem *e;

	if (!sd->ev_n) {
		vhd_log_ratelimited(&sd->log_budget, 5, VHD_LOG_INFO,
				    "%s: event 0x%x (stream %u) not sent: no event buffer held",
				    vu_dev_name(sd->dev), code, data);
		return;
	}
	e = sd->ev[sd->ev_head];
	sd->ev_head = (sd->ev_head + 1) % SND_EVENT_HELD;
	sd->ev_n--;
	memset(&ev, 0, sizeof(ev));
	ev.hdr.code = htole32(code);
	ev.data = htole32(data);
	iov_from_buf(e->wr, e->n_wr, 0, &ev, sizeof(ev));
	vq_push(vu_dev_queue(sd->dev, VIRTIO_SND_VQ_EVENT), e, sizeof(ev));
	sd->notify[VIRTIO_SND_VQ_EVENT] = true;
}

/* Drop e from the held event buffers (the core releases it). */
static void forget_event(struct sound_dev *sd, struct vq_elem *e)
{
	unsigned n = 0;

	for (unsigned i = 0; i < sd->ev_n; i++) {
		struct vq_elem *x = sd->ev[(sd->ev_head + i) % SND_EVENT_HELD];

		if (x != e)
			sd->ev[(sd->ev_head + n++) % SND_EVENT_HELD] = x;
	}
	sd->ev_n = n;
}

static void sound_queue_kick(struct vu_dev *dev, unsigned q)
{
	struct sound_dev *sd = vu_dev_priv(dev);

	switch (q) {
	case VIRTIO_SND_VQ_CONTROL:
		vu_queue_process(dev, q, handle_ctl, sd);
		break;
	case VIRTIO_SND_VQ_EVENT:
		vu_queue_process(dev, q, hold_event, sd);
		flush_notify(sd);
		return;
	default:
		if (!sd->timer)
			return;     /* out of memory at connect: never hold */
		vu_queue_process(dev, q, handle_io, sd);
		break;
	}
#ifdef VHD_SOUND_ALSA
	/* START: ALSA takes the held messages now. */
	if (sd->alsa && q == VIRTIO_SND_VQ_CONTROL)
		vsnd_alsa_service_all(sd->alsa);
#endif
#ifdef VHD_SOUND_PIPEWIRE
	if (sd->pw && q == VIRTIO_SND_VQ_CONTROL)
		vsnd_pw_service_all(sd->pw);
#endif
	/* RELEASE completed I/O messages; START or new messages moved the
	 * next due time. */
	flush_notify(sd);
	rearm(sd);
}

static void sound_queue_stop(struct vu_dev *dev, unsigned q)
{
	struct sound_dev *sd = vu_dev_priv(dev);

	/* The core's stop rule (vhost-device.h, "Held requests"): what has
	 * been played is completed; the rest is released by the core. */
	if (q == VIRTIO_SND_VQ_TX || q == VIRTIO_SND_VQ_RX) {
		vsnd_io_collect(&sd->m, now_ns());
#ifdef VHD_SOUND_ALSA
		if (sd->alsa)
			vsnd_alsa_quiesce(sd->alsa, q == VIRTIO_SND_VQ_TX ? VIRTIO_SND_D_OUTPUT
									  : VIRTIO_SND_D_INPUT);
#endif
#ifdef VHD_SOUND_PIPEWIRE
		if (sd->pw)
			vsnd_pw_quiesce(sd->pw, q == VIRTIO_SND_VQ_TX ? VIRTIO_SND_D_OUTPUT
								      : VIRTIO_SND_D_INPUT);
#endif
		flush_notify(sd);
	}
}

static uint32_t sound_elem_cancel(struct vu_dev *dev, unsigned q, struct vq_elem *e,
				  bool give_back)
{
	struct sound_dev *sd = vu_dev_priv(dev);
	unsigned stream;

	if (q == VIRTIO_SND_VQ_EVENT)
		forget_event(sd, e);
	if (q != VIRTIO_SND_VQ_TX && q != VIRTIO_SND_VQ_RX)
		return 0;
	if (!vsnd_io_forget(&sd->m, e, &stream) || give_back)
		return 0;
	return io_finish(e, sd->m.s[stream].dir, vsnd_silence_byte(sd->m.s[stream].format),
			 VIRTIO_SND_S_IO_ERR, 0, 0);
}

static void sound_connected(struct vu_dev *dev)
{
	struct sound_dev *sd = vu_dev_priv(dev);

	sd->dev = dev;
	vsnd_model_reset(&sd->m);
	sd->timer = vhd_timer_new(vu_dev_loop(dev), timer_cb, sd);
#ifdef VHD_SOUND_ALSA
	if (sd->opt->alsa && sd->timer) {
		sd->alsa = vsnd_alsa_new(&sd->m, sd->opt->alsa_device, vu_dev_loop(dev),
					 backend_notify, sd);
		if (!sd->alsa) {
			vhd_timer_free(sd->timer);
			sd->timer = NULL;
		} else {
			vsnd_model_set_hooks(&sd->m, &vsnd_alsa_hooks, sd->alsa);
		}
	}
#endif
#ifdef VHD_SOUND_PIPEWIRE
	if (sd->opt->pipewire && sd->timer) {
		sd->pw = vsnd_pw_new(&sd->m, sd->opt->pw_target, vu_dev_loop(dev), backend_notify,
				     sd);
		if (!sd->pw) {
			vhd_timer_free(sd->timer);
			sd->timer = NULL;
		} else {
			vsnd_model_set_hooks(&sd->m, &vsnd_pw_hooks, sd->pw);
		}
	}
#endif
	if (!sd->timer)
		LOG_ERR("%s: out of memory: PCM I/O will not be served", vu_dev_name(dev));
}

static void sound_reset(struct vu_dev *dev)
{
	struct sound_dev *sd = vu_dev_priv(dev);

	/* Queues are stopped and every held message released: streams go
	 * back to their initial state (a reset device, virtio 1.2 2.4). */
	vhd_timer_free(sd->timer);
	sd->timer = NULL;
#ifdef VHD_SOUND_ALSA
	vsnd_alsa_free(sd->alsa);
	sd->alsa = NULL;
	vsnd_model_set_hooks(&sd->m, NULL, NULL);
#endif
#ifdef VHD_SOUND_PIPEWIRE
	vsnd_pw_free(sd->pw);
	sd->pw = NULL;
	vsnd_model_set_hooks(&sd->m, NULL, NULL);
#endif
	vsnd_model_reset(&sd->m);
	memset(sd->notify, 0, sizeof(sd->notify));
	sd->ev_head = sd->ev_n = 0;
}

static int sound_get_config(struct vu_dev *dev, uint8_t *buf)
{
	struct sound_dev *sd = vu_dev_priv(dev);
	struct vsnd_config c;

	vsnd_config(&sd->m, &c);
	memcpy(buf, &c, sizeof(c));
	return 0;
}

static int sound_instance_new(void *ctx, unsigned index, unsigned count, void **priv)
{
	const struct sound_opts *opt = ctx;
	struct sound_dev *sd = calloc(1, sizeof(*sd));

	(void)index; (void)count;
	if (!sd)
		return -1;
	sd->opt = opt;
	vsnd_model_init(&sd->m, &opt->caps, complete_io, sd);
	vsnd_model_set_event(&sd->m, send_event);
	*priv = sd;
	return 0;
}

static void sound_instance_free(void *priv)
{
	struct sound_dev *sd = priv;

	vhd_timer_free(sd->timer);
#ifdef VHD_SOUND_ALSA
	vsnd_alsa_free(sd->alsa);
#endif
#ifdef VHD_SOUND_PIPEWIRE
	vsnd_pw_free(sd->pw);
#endif
	free(sd);
}

__attribute__((format(printf, 1, 2)))
static void sound_err(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '" PROG " --help'.\n");
}

static int sound_parse_option(void *ctx, int key, const char *arg)
{
	struct sound_opts *o = ctx;
	unsigned long long v;
	const char *bad;

	switch (key) {
	case OPT_SOCKET:
		if (!*arg) {
			sound_err("--socket: empty path");
			return -1;
		}
		o->socket = arg;
		return 0;
	case OPT_BACKEND:
		if (!strcmp(arg, "null")) {
			o->backend = arg;       /* the last --backend wins */
			o->alsa = false;
			o->pipewire = false;
			return 0;
		}
		if (!strcmp(arg, "alsa")) {
#ifdef VHD_SOUND_ALSA
			o->backend = arg;
			o->alsa = true;
			o->pipewire = false;
			return 0;
#else
			sound_err("--backend alsa: this build has no ALSA (configure found no libasound2-dev)");
			return -1;
#endif
		}
		if (!strcmp(arg, "pipewire")) {
#ifdef VHD_SOUND_PIPEWIRE
			o->backend = arg;
			o->alsa = false;
			o->pipewire = true;
			return 0;
#else
			sound_err("--backend pipewire: this build has no PipeWire (configure found no libpipewire-0.3-dev)");
			return -1;
#endif
		}
		if (!strcmp(arg, "gstreamer")) {
			sound_err("--backend gstreamer: not available in this program (null, alsa or pipewire)");
			return -1;
		}
		sound_err("--backend '%s': expected null, alsa, pipewire or gstreamer", arg);
		return -1;
	case OPT_OUT_STREAMS:
	case OPT_IN_STREAMS:
		if (vhd_parse_u64(arg, 0, SND_MAX_STREAMS_DIR, &v) < 0) {
			sound_err("--%s '%s': expected 0..%u",
				  key == OPT_OUT_STREAMS ? "output-streams" : "input-streams", arg,
				  SND_MAX_STREAMS_DIR);
			return -1;
		}
		if (key == OPT_OUT_STREAMS)
			o->caps.n_out = (unsigned)v;
		else
			o->caps.n_in = (unsigned)v;
		return 0;
	case OPT_ALSA_DEVICE:
		if (!*arg) {
			sound_err("--alsa-device: empty PCM name");
			return -1;
		}
		o->alsa_device = arg;
		return 0;
	case OPT_PW_TARGET:
		if (!*arg) {
			sound_err("--pipewire-target: empty node name");
			return -1;
		}
		o->pw_target = arg;
		return 0;
	case OPT_FORMATS:
		if (vsnd_parse_list(arg, false, &o->caps.formats, &bad) < 0) {
			sound_err("--formats: bad format '%s' (expected a comma-separated list of "
				  "s8, u8, s16, s24, s32, float, float64)", bad);
			return -1;
		}
		return 0;
	case OPT_RATES:
		if (vsnd_parse_list(arg, true, &o->caps.rates, &bad) < 0) {
			sound_err("--rates: bad rate '%s' (expected a comma-separated list of "
				  "5512, 8000, 11025, 16000, 22050, 32000, 44100, 48000, 64000, "
				  "88200, 96000, 176400, 192000, 384000)", bad);
			return -1;
		}
		return 0;
	}
	return -1;
}

static int sound_check_options(void *ctx, unsigned socket_count)
{
	struct sound_opts *o = ctx;

	(void)socket_count;
	if (!o->backend) {
		sound_err("missing --backend (null)");
		return -1;
	}
	if (o->socket && o->fd_given) {
		sound_err("--socket and --socket-fd exclude each other");
		return -1;
	}
	if (o->alsa_device && !o->alsa) {
		sound_err("--alsa-device needs --backend alsa");
		return -1;
	}
	if (!o->alsa_device)
		o->alsa_device = "default";
	/* ALSA reports under- and overruns (sound-alsa.c): the driver may
	 * ask for them as events. */
	if (o->alsa)
		o->caps.pcm_features |= 1u << VIRTIO_SND_PCM_F_EVT_XRUNS;
	if (o->pw_target && !o->pipewire) {
		sound_err("--pipewire-target needs --backend pipewire");
		return -1;
	}
	if (!o->caps.n_out && !o->caps.n_in) {
		sound_err("no streams: --output-streams and --input-streams are both 0");
		return -1;
	}
	return 0;
}

static int sound_socket_paths(void *ctx, char ***paths, unsigned *count)
{
	struct sound_opts *o = ctx;
	char **p;

	if (!o->socket) {
		sound_err("missing --socket (or --socket-fd)");
		return -1;
	}
	p = calloc(1, sizeof(*p));
	if (!p || !(p[0] = strdup(o->socket))) {
		free(p);
		return -1;
	}
	*paths = p;
	*count = 1;
	return 0;
}

static const struct option sound_options[] = {
	{ "socket", required_argument, NULL, OPT_SOCKET },
	{ "backend", required_argument, NULL, OPT_BACKEND },
	{ "output-streams", required_argument, NULL, OPT_OUT_STREAMS },
	{ "input-streams", required_argument, NULL, OPT_IN_STREAMS },
	{ "formats", required_argument, NULL, OPT_FORMATS },
	{ "rates", required_argument, NULL, OPT_RATES },
	{ "alsa-device", required_argument, NULL, OPT_ALSA_DEVICE },
	{ "pipewire-target", required_argument, NULL, OPT_PW_TARGET },
	{ NULL, 0, NULL, 0 },
};

/* Sandbox (docs/security.md): the null backend needs nothing beyond the
 * core.  With --backend alsa, alsa-lib opens the PCM when the guest sets
 * a stream's parameters: it reads its configuration files, opens the
 * device nodes (/dev/snd/pcm*, control*, timer), may load a plugin, and
 * drives them with ALSA ioctls ('A' PCM, 'U' control, 'T' timer). */
static int sound_sandbox(void *ctx, struct vhd_sandbox *sb)
{
	static const char *const alsa_calls[] = {
		"access", "faccessat", "faccessat2", "stat", "lstat", "statx", "readlink",
		"readlinkat", "getdents64", "getuid", "geteuid", "getgid", "getegid",
		"uname", "getcwd", "pipe2", "dup", "dup3", "sysinfo", "shmget", "shmat",
		"shmdt", "shmctl",
		/* alsa-lib's file plugin (an output file named in the user's ALSA
		 * configuration) creates and truncates its file when the PCM is
		 * opened, at the stream's PREPARE. */
		"open", "openat", "creat",
		NULL,
	};
	/* libpipewire is set up at the first PREPARE (docs/sound.md): it
	 * reads its client.conf, dlopens its SPA plugins and modules, looks
	 * the user up (/etc/passwd), names its threads through /proc, connects
	 * to the daemon's Unix socket, and shares buffers through memfds it
	 * may mlock.  The list is what it was seen to call (strace of
	 * tests/integration/test-sound's PipeWire tests). */
	static const char *const pw_calls[] = {
		"connect", "getsockopt", "setsockopt", "getsockname", "getpeername",
		"memfd_create", "ftruncate", "mlock", "munlock", "prctl", "readlink",
		"uname", "getuid", "geteuid", "getgid", "getegid", "access",
		"faccessat", "faccessat2", "stat", "lstat", "statx", "newfstatat",
		"fstatfs", "statfs", "getdents64", "sched_getaffinity",
		"sched_setscheduler", "sched_getscheduler", "sched_getparam",
		"getrandom", "lseek", "pread64", "dup", "dup3", "pipe2", "getcwd",
		NULL,
	};
	const struct sound_opts *o = ctx;

	if (o->pipewire)
		return vhd_sandbox_allow(sb, pw_calls) < 0 || vhd_sandbox_allow_open(sb) < 0 ||
		       vhd_sandbox_allow_socket(sb, AF_UNIX) < 0 ||
		       /* its log asks whether stderr is a terminal */
		       vhd_sandbox_allow_ioctl(sb, 'T') < 0 ? -1 : 0;
	if (!o->alsa)
		return 0;
	if (vhd_sandbox_allow(sb, alsa_calls) < 0 || vhd_sandbox_allow_open(sb) < 0 ||
	    vhd_sandbox_allow_ioctl(sb, 'A') < 0 || vhd_sandbox_allow_ioctl(sb, 'U') < 0 ||
	    vhd_sandbox_allow_ioctl(sb, 'T') < 0)
		return -1;
	return 0;
}

static const struct vu_device_ops sound_ops = {
	.name = "sound",
	.summary = "vhost-user virtio-snd backend: PCM playback and capture streams served at\n"
		   "their real rate by the chosen audio backend.",
	.virtio_id = VIRTIO_ID_SOUND,
	.num_queues = SND_NUM_QUEUES,
	.max_queue_size = SND_QUEUE_SIZE,
	.config_size = SND_CONFIG_SIZE,
	.socket_naming = VU_SOCKETS_EXACT,
	.options = sound_options,
	.short_options = "",
	.options_help =
		"      --socket PATH        vhost-user Unix socket to listen on\n"
		"      --socket-fd FD       an inherited listening socket instead of --socket\n"
		"                           (the same as the common --fd)\n"
		"      --backend NAME       audio backend, required: null (a clock: playback\n"
		"                           discarded, capture silent), alsa or pipewire\n"
		"                           (gstreamer is not available)\n"
		"      --alsa-device PCM    the ALSA PCM of every stream (default \"default\")\n"
		"      --pipewire-target NODE  the PipeWire node every stream links to\n"
		"                           (target.object; default: PipeWire's choice)\n"
		"      --output-streams N   playback streams offered, 0..16 (default 1)\n"
		"      --input-streams N    capture streams offered, 0..16 (default 1)\n"
		"      --formats LIST       sample formats offered: s8,u8,s16,s24,s32,float,float64\n"
		"                           (default u8,s16,s24,s32)\n"
		"      --rates LIST         frame rates offered in Hz (default\n"
		"                           8000,11025,16000,22050,32000,44100,48000)\n",
	.parse_option = sound_parse_option,
	.check_options = sound_check_options,
	.socket_paths = sound_socket_paths,
	.instance_new = sound_instance_new,
	.instance_free = sound_instance_free,
	.connected = sound_connected,
	.reset = sound_reset,
	.queue_kick = sound_queue_kick,
	.queue_stop = sound_queue_stop,
	.elem_cancel = sound_elem_cancel,
	.get_config = sound_get_config,
	.sandbox = sound_sandbox,
};

int main(int argc, char **argv)
{
	struct sound_opts opt = {
		.caps = { .n_out = 1, .n_in = 1, .formats = SND_DEFAULT_FORMATS,
			  .rates = SND_DEFAULT_RATES },
	};
	char **args = calloc((size_t)argc + 1, sizeof(*args));
	char *owned = NULL;
	int rc;

	if (!args)
		return 1;
	/* The Rust backend's --socket-fd is the core's --fd: spell it so
	 * before the core parses the command line. */
	for (int i = 0; i < argc; i++) {
		args[i] = argv[i];
		if (i == 0)
			continue;
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "--socket-fd")) {
			args[i] = (char *)"--fd";
			opt.fd_given = true;
		} else if (!strncmp(argv[i], "--socket-fd=", 12) && !owned) {
			if (asprintf(&owned, "--fd=%s", argv[i] + 12) < 0) {
				free(args);
				return 1;
			}
			args[i] = owned;
			opt.fd_given = true;
		} else if (!strcmp(argv[i], "--fd") || !strncmp(argv[i], "--fd=", 5)) {
			opt.fd_given = true;
		}
	}
	for (int i = 0; i < argc; i++)
		if (!args[i])
			args[i] = argv[i];
	rc = vhd_main(&sound_ops, &opt, argc, args);
	free(owned);
	free(args);
	return rc;
}
