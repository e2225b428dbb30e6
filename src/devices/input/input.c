/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * vhost-device-input: the virtio input device (virtio 1.2, 5.8 "Input
 * Device", device ID 18), command-line compatible with the Rust
 * vhost-device-input (-s, -e/--event-list; socket i, PATH<i>, serves
 * event device i).  QEMU's frontend is vhost-user-input-pci.
 *
 * Differences from the Rust backend, on purpose:
 *  - the config space is complete: serial (ID_SERIAL), property bits
 *    (PROP_BITS), every event type's bitmap, including the kernel->device
 *    types LED and SND, and ABS_INFO of every axis, so absolute pointers
 *    and touchscreens get their ranges (input-config.h);
 *  - the status queue is served: LED, sound and force-feedback events
 *    from the guest are written to the evdev device;
 *  - events wait for the guest's buffers, bounded (--max-pending), and
 *    only whole reports are delivered; an overflow drops whole reports
 *    behind a SYN_DROPPED, as evdev does (input-batch.h);
 *  - an --event-list entry may be an evemu recording (input-evemu.h),
 *    replayed into the guest with its timing: input where the host has
 *    no input device;
 *  - -g/--grab takes the device for the guest alone (EVIOCGRAB), and QEMU's
 *    --evdev-path/--no-grab conventions are understood (grab by default);
 *  - events are delivered with or without EVENT_IDX.
 *
 * One instance per socket; its evdev fd (or replay timer) lives on the
 * connection's event loop, so there is no thread per device.  Held
 * requests (vhost-device.h): event buffers are held until a report is
 * complete, and completed in the order they were popped, so a queue stop
 * always gives every held buffer back to the ring.
 */
#include "config.h"
#include "vhost-device.h"
#include "input-batch.h"
#include "input-config.h"
#include "input-evemu.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <libevdev/libevdev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define INPUT_QUEUE_SIZE 1024
#define INPUT_EVENTQ 0
#define INPUT_STATUSQ 1
#define INPUT_DEFAULT_MAX_PENDING 4096
#define INPUT_MAX_SOURCES 64
/* Events read from an evdev fd per wake-up, so a flooding device cannot
 * keep the worker from its other instances. */
#define INPUT_READ_BUDGET 1024

#define OPT_MAX_PENDING 0x100
#define OPT_EVDEV_PATH 0x101
#define OPT_NO_GRAB 0x102

/* One --event-list entry, opened at start-up and shared by nobody: each
 * socket has its own. */
struct input_src {
	const char *path;
	bool recording;
	int fd;                         /* evdev node, -1 for a recording */
	bool writable;                  /* opened read-write: status events go back */
	struct libevdev *evdev;         /* the node's, or the recording's description */
	struct input_recording rec;
};

struct input_opts {
	char *list;                     /* the --event-list entries, joined */
	bool grab;
	/* QEMU's vhost-user.rst "Input backend" conventions: --evdev-path
	 * names one device, grabbed unless --no-grab. */
	bool evdev_path;
	bool no_grab;
	unsigned long long max_pending;
	struct input_src src[INPUT_MAX_SOURCES];
	unsigned nsrc;
};

struct input_dev {
	struct input_src *src;
	struct input_batch batch;
	/* Per connection. */
	unsigned log_budget;            /* warnings about buffers */
	unsigned status_budget;         /* warnings about status events */
	unsigned applied_budget;        /* status events applied (info) */
	struct vu_dev *dev;
	uint8_t select, subsel;
	struct vhd_handler evdev_h;     /* the node's fd on the connection's loop */
	bool watching;
	struct vhd_timer *replay_timer;
	bool replay_started;
	size_t replay_next;
	uint64_t replay_t0;
	struct vq_elem **held;          /* event buffers, in pop order */
	unsigned nheld;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- delivering reports into held buffers ---------------------------- */

static void write_event(struct vq_elem *e, const struct input_ev *ev)
{
	struct {
		uint16_t type, code;
		uint32_t value;
	} le = { htole16(ev->type), htole16(ev->code), htole32(ev->value) };

	iov_from_buf(e->wr, e->n_wr, 0, &le, sizeof(le));
}

/* Deliver every waiting report that the held buffers can take whole. */
static void flush(struct input_dev *d)
{
	struct virtqueue *q;
	struct input_ev evs[INPUT_QUEUE_SIZE];
	unsigned pushed = 0;

	if (!d->dev || !d->held || !vu_queue_processable(d->dev, INPUT_EVENTQ))
		return;
	q = vu_dev_queue(d->dev, INPUT_EVENTQ);
	while (input_batch_waiting(&d->batch)) {
		unsigned n = input_batch_next_len(&d->batch);

		if (n > q->num) {
			/* More events than the ring has entries: it can never
			 * go whole, so it goes as an overflow. */
			vhd_log_ratelimited(&d->log_budget, 5, VHD_LOG_WARN,
					    "%s: a report of %u events does not fit the guest's ring "
					    "of %u: dropped", vu_dev_name(d->dev), n, q->num);
			input_batch_drop_next(&d->batch);
			continue;
		}
		if (n > d->nheld)
			break;          /* wait for buffers: never half a report */
		input_batch_pop(&d->batch, evs, INPUT_QUEUE_SIZE);
		for (unsigned i = 0; i < n; i++) {
			write_event(d->held[i], &evs[i]);
			vq_push(q, d->held[i], 8);
		}
		memmove(d->held, d->held + n, (d->nheld - n) * sizeof(d->held[0]));
		d->nheld -= n;
		pushed += n;
	}
	if (pushed)
		vq_notify(q);
}

static void add_event(struct input_dev *d, uint16_t type, uint16_t code, int32_t value)
{
	input_batch_add(&d->batch, type, code, (uint32_t)value);
}

/* ---- sources: an evdev node, or a recording replayed by a timer ------- */

static void unwatch(struct input_dev *d)
{
	if (d->watching) {
		vhd_loop_del(&d->evdev_h);
		d->watching = false;
	}
}

static void evdev_readable(struct vhd_handler *h, uint32_t events)
{
	struct input_dev *d = h->opaque;
	struct libevdev *ev = d->src->evdev;
	struct input_event ie;
	unsigned budget = INPUT_READ_BUDGET;
	int rc = -EAGAIN;

	(void)events;
	while (budget--) {
		rc = libevdev_next_event(ev, LIBEVDEV_READ_FLAG_NORMAL, &ie);
		if (rc == LIBEVDEV_READ_STATUS_SYNC) {
			/* The kernel's buffer overflowed: pass the loss on,
			 * then the state changes libevdev computed since. */
			add_event(d, INPUT_EV_SYN, INPUT_SYN_DROPPED, 0);
			while ((rc = libevdev_next_event(ev, LIBEVDEV_READ_FLAG_SYNC, &ie)) ==
			       LIBEVDEV_READ_STATUS_SYNC)
				add_event(d, ie.type, ie.code, ie.value);
			if (rc == -EAGAIN)
				continue;
		}
		if (rc != LIBEVDEV_READ_STATUS_SUCCESS)
			break;
		add_event(d, ie.type, ie.code, ie.value);
	}
	if (rc < 0 && rc != -EAGAIN) {
		LOG_ERR("%s: reading %s: %s; no more events from it", vu_dev_name(d->dev),
			d->src->path, strerror(-rc));
		unwatch(d);
	}
	flush(d);
}

static void replay_timer_cb(struct vhd_timer *t, void *opaque)
{
	struct input_dev *d = opaque;
	const struct input_recording *r = &d->src->rec;
	uint64_t now = now_ns();

	while (d->replay_next < r->nev) {
		const struct input_rec_event *e = &r->ev[d->replay_next];
		uint64_t due = d->replay_t0 + (e->t_us - r->ev[0].t_us) * 1000u;

		if (due > now) {
			vhd_timer_arm(t, due - now);
			break;
		}
		add_event(d, e->type, e->code, e->value);
		d->replay_next++;
	}
	if (d->replay_next == r->nev)
		LOG_INFO("%s: replay of %s finished: %zu events, %llu reports dropped",
			 vu_dev_name(d->dev), d->src->path, r->nev,
			 (unsigned long long)d->batch.dropped_reports);
	flush(d);
}

/* ---- the queues ------------------------------------------------------- */

static bool take_buffer(struct vu_dev *dev, struct virtqueue *q, struct vq_elem *e,
			void *opaque)
{
	struct input_dev *d = opaque;

	if (e->n_rd || e->wr_len < 8) {
		/* Not an event buffer (5.8.6.1: one writable virtio_input_event):
		 * give it back empty rather than hold what cannot be filled. */
		vhd_log_ratelimited(&d->log_budget, 5, VHD_LOG_WARN,
				    "%s: event buffer with %u readable and %u writable bytes: "
				    "completed empty", vu_dev_name(dev), e->rd_len, e->wr_len);
		vq_push(q, e, 0);
		return true;
	}
	/* The core pops no more than the ring holds, so held[] fits. */
	d->held[d->nheld++] = e;
	return true;
}

/* Write one guest->device event to the evdev node (5.8.6.2: the status
 * queue carries LED and sound state, and force-feedback plays). */
static void status_event(struct input_dev *d, uint16_t type, uint16_t code, int32_t value)
{
	struct input_src *s = d->src;
	struct input_event ie = { .type = type, .code = code, .value = value };

	switch (input_status_check(s->evdev, type, code)) {
	case INPUT_STATUS_OTHER_TYPE:
		/* Normal (input-config.h), so not a warning. */
		vhd_log_ratelimited(&d->status_budget, 20, VHD_LOG_INFO,
				    "%s: status event of type %u ignored (only LED, SND and FF "
				    "go to a device)", vu_dev_name(d->dev), type);
		return;
	case INPUT_STATUS_NO_CODE:
		vhd_log_ratelimited(&d->status_budget, 20, VHD_LOG_WARN,
				    "%s: status event %u/%u ignored: the device has no such code",
				    vu_dev_name(d->dev), type, code);
		return;
	case INPUT_STATUS_APPLY:
		break;
	}
	vhd_log_ratelimited(&d->applied_budget, 64, VHD_LOG_INFO,
			    "%s: status from the guest: %s %s = %d%s", vu_dev_name(d->dev),
			    libevdev_event_type_get_name(type) ? libevdev_event_type_get_name(type) : "?",
			    libevdev_event_code_get_name(type, code)
				    ? libevdev_event_code_get_name(type, code) : "?",
			    value, s->recording ? " (a recording: not written anywhere)" : "");
	if (s->recording)
		return;
	if (!s->writable) {
		vhd_log_ratelimited(&d->status_budget, 20, VHD_LOG_WARN,
				    "%s: %s is open read-only: status event dropped",
				    vu_dev_name(d->dev), s->path);
		return;
	}
	if (write(s->fd, &ie, sizeof(ie)) != (ssize_t)sizeof(ie))
		vhd_log_ratelimited(&d->status_budget, 20, VHD_LOG_WARN,
				    "%s: writing the status event to %s: %s", vu_dev_name(d->dev),
				    s->path, strerror(errno));
}

static bool handle_status(struct vu_dev *dev, struct virtqueue *q, struct vq_elem *e,
			  void *opaque)
{
	struct input_dev *d = opaque;
	uint8_t b[8];
	uint16_t type, code;
	int32_t value;

	(void)dev;
	if (input_status_parse(b, iov_to_buf(e->rd, e->n_rd, 0, b, sizeof(b)), &type, &code,
			       &value) < 0)
		vhd_log_ratelimited(&d->status_budget, 20, VHD_LOG_WARN,
				    "%s: status buffer of %u readable bytes: ignored",
				    vu_dev_name(d->dev), e->rd_len);
	else
		status_event(d, type, code, value);
	vq_push(q, e, 0);
	return true;
}

static void input_queue_kick(struct vu_dev *dev, unsigned q)
{
	struct input_dev *d = vu_dev_priv(dev);

	if (q == INPUT_STATUSQ) {
		vu_queue_process(dev, q, handle_status, d);
		return;
	}
	if (!d->held)
		return;         /* connected() could not allocate */
	vu_queue_process(dev, q, take_buffer, d);
	if (d->src->recording && !d->replay_started && d->replay_timer) {
		/* The recording plays from the moment the guest can take
		 * events: the first time its event queue runs. */
		d->replay_started = true;
		d->replay_t0 = now_ns();
		d->replay_next = 0;
		vhd_timer_arm(d->replay_timer, 0);
	}
	flush(d);
}

static uint32_t input_elem_cancel(struct vu_dev *dev, unsigned q, struct vq_elem *e,
				  bool give_back)
{
	struct input_dev *d = vu_dev_priv(dev);

	(void)q;
	(void)give_back;
	for (unsigned i = 0; i < d->nheld; i++)
		if (d->held[i] == e) {
			memmove(&d->held[i], &d->held[i + 1], (d->nheld - i - 1) * sizeof(d->held[0]));
			d->nheld--;
			break;
		}
	return 0;
}

static void input_connected(struct vu_dev *dev)
{
	struct input_dev *d = vu_dev_priv(dev);

	d->dev = dev;
	d->log_budget = d->status_budget = d->applied_budget = 0;
	d->select = d->subsel = 0;
	d->nheld = 0;
	d->replay_started = false;
	d->held = calloc(INPUT_QUEUE_SIZE, sizeof(*d->held));
	if (!d->held) {
		LOG_ERR("%s: out of memory: no events will be delivered", vu_dev_name(dev));
		return;
	}
	if (d->src->recording) {
		d->replay_timer = vhd_timer_new(vu_dev_loop(dev), replay_timer_cb, d);
		if (!d->replay_timer)
			LOG_ERR("%s: out of memory: %s will not be replayed", vu_dev_name(dev),
				d->src->path);
	} else if (d->src->fd >= 0) {
		d->evdev_h.fd = d->src->fd;
		d->evdev_h.cb = evdev_readable;
		d->evdev_h.opaque = d;
		if (vhd_loop_add(vu_dev_loop(dev), &d->evdev_h, EPOLLIN) < 0)
			LOG_ERR("%s: cannot watch %s: no events will be delivered",
				vu_dev_name(dev), d->src->path);
		else
			d->watching = true;
	}
}

static void input_reset(struct vu_dev *dev)
{
	struct input_dev *d = vu_dev_priv(dev);

	unwatch(d);
	vhd_timer_free(d->replay_timer);
	d->replay_timer = NULL;
	/* A new connection is a new guest: nothing of this one's input. */
	input_batch_clear(&d->batch);
	free(d->held);
	d->held = NULL;
	d->nheld = 0;
	d->dev = NULL;
}

static int input_get_config(struct vu_dev *dev, uint8_t *buf)
{
	struct input_dev *d = vu_dev_priv(dev);

	input_config_fill(d->src->evdev, d->select, d->subsel, buf);
	return 0;
}

/* Only select (offset 0) and subsel (1) are the driver's to write
 * (5.8.4); the rest of a write (QEMU writes the whole 136 bytes) is
 * read-only and ignored. */
static int input_set_config(struct vu_dev *dev, const uint8_t *data, uint32_t offset,
			    uint32_t size)
{
	struct input_dev *d = vu_dev_priv(dev);

	for (uint32_t i = 0; i < size && offset + i < 2; i++) {
		if (offset + i == 0)
			d->select = data[i];
		else
			d->subsel = data[i];
	}
	return 0;
}

/* ---- instances and the command line ---------------------------------- */

static int input_instance_new(void *ctx, unsigned index, unsigned count, void **priv)
{
	struct input_opts *o = ctx;
	struct input_dev *d;

	(void)count;
	if (index >= o->nsrc)
		return -1;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -1;
	if (input_batch_init(&d->batch, (unsigned)o->max_pending) < 0) {
		free(d);
		return -1;
	}
	d->src = &o->src[index];
	*priv = d;
	return 0;
}

static void input_instance_free(void *priv)
{
	struct input_dev *d = priv;

	vhd_timer_free(d->replay_timer);
	free(d->held);
	input_batch_free(&d->batch);
	free(d);
}

/* "builtin:keyboard": a keyboard that sends nothing (its LEDs still
 * reach the log), so a service unit starts before it is configured. */
#define INPUT_BUILTIN_KEYBOARD "builtin:keyboard"

static int builtin_keyboard(struct input_recording *r, char *err, size_t errlen)
{
	char text[1024];
	int n = snprintf(text, sizeof(text),
			 "N: vhost-device-input keyboard\n"
			 "I: 0006 0000 0000 0001\n"      /* BUS_VIRTUAL */
			 "B: 01 fe ff ff ff ff ff ff ff\n"  /* KEY_ESC .. */
			 "B: 01 ff ff ff ff ff ff ff ff\n"
			 "B: 01 ff ff ff ff ff ff ff ff\n"
			 "B: 01 ff ff ff ff ff ff ff ff\n"  /* .. KEY_UNKNOWN (240) */
			 "B: 11 07 00 00 00 00 00 00 00\n"  /* NUML CAPSL SCROLLL */
			 "B: 14 03 00 00 00 00 00 00 00\n"); /* REP_DELAY PERIOD */

	return input_evemu_parse(text, (size_t)n, r, err, errlen);
}

static int open_source(struct input_src *s, bool grab)
{
	struct stat st;
	char err[256];
	int rc;

	s->fd = -1;
	if (!strcmp(s->path, INPUT_BUILTIN_KEYBOARD)) {
		s->recording = true;
		if (builtin_keyboard(&s->rec, err, sizeof(err)) < 0) {
			fprintf(stderr, "vhost-device-input: %s: %s\n", s->path, err);
			return -1;
		}
		s->evdev = s->rec.dev;
		return 0;
	}
	if (stat(s->path, &st) < 0) {
		fprintf(stderr, "vhost-device-input: --event-list '%s': %s\n", s->path,
			strerror(errno));
		return -1;
	}
	if (S_ISREG(st.st_mode)) {
		s->recording = true;
		if (input_evemu_load(s->path, &s->rec, err, sizeof(err)) < 0) {
			fprintf(stderr, "vhost-device-input: --event-list '%s': not an evemu "
				"recording: %s\n", s->path, err);
			return -1;
		}
		s->evdev = s->rec.dev;
		vhd_log(VHD_LOG_INFO, "%s: recording of \"%s\", %zu events", s->path,
			libevdev_get_name(s->evdev), s->rec.nev);
		return 0;
	}
	if (!S_ISCHR(st.st_mode)) {
		fprintf(stderr, "vhost-device-input: --event-list '%s': neither an event device "
			"nor an evemu recording\n", s->path);
		return -1;
	}
	s->fd = open(s->path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	s->writable = s->fd >= 0;
	if (s->fd < 0 && (errno == EACCES || errno == EPERM || errno == EROFS))
		s->fd = open(s->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (s->fd < 0) {
		fprintf(stderr, "vhost-device-input: --event-list '%s': %s\n", s->path,
			strerror(errno));
		return -1;
	}
	rc = libevdev_new_from_fd(s->fd, &s->evdev);
	if (rc < 0) {
		fprintf(stderr, "vhost-device-input: --event-list '%s': not an event device: %s\n",
			s->path, strerror(-rc));
		return -1;
	}
	if (grab && (rc = libevdev_grab(s->evdev, LIBEVDEV_GRAB)) < 0) {
		fprintf(stderr, "vhost-device-input: --grab '%s': %s (another program grabbed it?)\n",
			s->path, strerror(-rc));
		return -1;
	}
	if (!s->writable)
		vhd_log(VHD_LOG_WARN, "%s: open read-only: LEDs and sounds from the guest are "
			"dropped", s->path);
	vhd_log(VHD_LOG_INFO, "%s: \"%s\"%s", s->path, libevdev_get_name(s->evdev),
		grab ? ", grabbed" : "");
	return 0;
}

static void close_sources(struct input_opts *o)
{
	for (unsigned i = 0; i < o->nsrc; i++) {
		struct input_src *s = &o->src[i];

		if (s->recording)
			input_recording_free(&s->rec);
		else if (s->evdev)
			libevdev_free(s->evdev);
		if (s->fd >= 0)
			close(s->fd);
	}
	o->nsrc = 0;
	free(o->list);
	o->list = NULL;
}

static int input_parse_option(void *ctx, int key, const char *arg)
{
	struct input_opts *o = ctx;

	switch (key) {
	case OPT_EVDEV_PATH:
		o->evdev_path = true;
		/* One more entry, as -e. */
		__attribute__((fallthrough));
	case 'e': {
		/* Repeating -e adds entries, as one comma-separated list. */
		size_t old = o->list ? strlen(o->list) : 0;
		char *n;

		if (!*arg) {
			fprintf(stderr, "vhost-device-input: --event-list: empty\n");
			return -1;
		}
		n = realloc(o->list, old + strlen(arg) + 2);
		if (!n)
			return -1;
		if (old)
			n[old++] = ',';
		strcpy(n + old, arg);
		o->list = n;
		return 0;
	}
	case 'g':
		o->grab = true;
		return 0;
	case OPT_NO_GRAB:
		o->no_grab = true;
		return 0;
	case OPT_MAX_PENDING:
		if (vhd_parse_u64(arg, 2, 1u << 20, &o->max_pending) < 0) {
			fprintf(stderr, "vhost-device-input: --max-pending '%s': expected 2..%u\n",
				arg, 1u << 20);
			return -1;
		}
		return 0;
	default:
		return -1;
	}
}

static int input_check_options(void *ctx, unsigned socket_count)
{
	struct input_opts *o = ctx;
	char *save = NULL, *tok;

	(void)socket_count;
	if (!o->list) {
		fprintf(stderr, "vhost-device-input: -e/--event-list is required\n");
		return -1;
	}
	if (o->grab && o->no_grab) {
		fprintf(stderr, "vhost-device-input: --grab and --no-grab exclude each other\n");
		return -1;
	}
	/* The QEMU convention grabs by default; the Rust command line (-e)
	 * does not. */
	if (o->evdev_path && !o->no_grab)
		o->grab = true;
	for (tok = strtok_r(o->list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (o->nsrc == INPUT_MAX_SOURCES) {
			fprintf(stderr, "vhost-device-input: --event-list: at most %u devices\n",
				INPUT_MAX_SOURCES);
			return -1;
		}
		o->src[o->nsrc].path = tok;
		o->src[o->nsrc].fd = -1;
		o->nsrc++;
		if (open_source(&o->src[o->nsrc - 1], o->grab) < 0)
			return -1;
	}
	if (!o->nsrc) {
		fprintf(stderr, "vhost-device-input: --event-list names no device\n");
		return -1;
	}
	return 0;
}

static unsigned input_socket_count(void *ctx)
{
	return ((struct input_opts *)ctx)->nsrc;
}

static const struct option input_options[] = {
	{ "event-list", required_argument, NULL, 'e' },
	{ "grab", no_argument, NULL, 'g' },
	{ "max-pending", required_argument, NULL, OPT_MAX_PENDING },
	{ "evdev-path", required_argument, NULL, OPT_EVDEV_PATH },
	{ "no-grab", no_argument, NULL, OPT_NO_GRAB },
	{ NULL, 0, NULL, 0 },
};

/* The vhost-user.json features of type "input" (--print-capabilities). */
static const char *const input_capabilities[] = { "evdev-path", "no-grab", NULL };

/* Sandbox (docs/security.md): libevdev reads the evdev node opened at
 * start-up and resynchronises after SYN_DROPPED, --grab takes it, LEDs go
 * back to it: evdev ioctls (type 'E', <linux/input.h>). */
static int input_sandbox(void *ctx, struct vhd_sandbox *sb)
{
	(void)ctx;
	return vhd_sandbox_allow_ioctl(sb, 'E');
}

static const struct vu_device_ops input_ops = {
	.name = "input",
	.summary = "vhost-user input device (virtio-input): the guest sees a host evdev device\n"
		   "(/dev/input/eventN) or an evemu recording replayed with its timing.",
	.virtio_id = 18,        /* VIRTIO_ID_INPUT */
	.num_queues = 2,
	.max_queue_size = INPUT_QUEUE_SIZE,
	.config_size = VIRTIO_INPUT_CONFIG_SIZE,
	.capabilities = input_capabilities,
	.socket_naming = VU_SOCKETS_SUFFIXED,
	.options = input_options,
	.short_options = "e:g",
	.options_help =
		"  -e, --event-list LIST    comma-separated event devices, one per socket (PATH0,\n"
		"                           PATH1, ...): an evdev node (/dev/input/eventN) or an\n"
		"                           evemu recording (evemu-record's output), replayed\n"
		"                           into the guest once its event queue runs, or\n"
		"                           builtin:keyboard (a keyboard that sends nothing)\n"
		"  -g, --grab               grab the evdev devices (EVIOCGRAB): the host no\n"
		"                           longer sees their events\n"
		"      --max-pending N      events kept while the guest has no buffers, 2..1048576\n"
		"                           (default 4096); beyond, whole reports are dropped\n"
		"                           behind a SYN_DROPPED\n"
		"      --evdev-path PATH    QEMU's convention (vhost-user.rst, \"Input backend\"):\n"
		"                           an entry as -e, and the devices are grabbed unless\n"
		"                           --no-grab\n"
		"      --no-grab            with --evdev-path: do not grab the device\n",
	.parse_option = input_parse_option,
	.check_options = input_check_options,
	.socket_count = input_socket_count,
	.instance_new = input_instance_new,
	.instance_free = input_instance_free,
	.connected = input_connected,
	.reset = input_reset,
	.queue_kick = input_queue_kick,
	.elem_cancel = input_elem_cancel,
	.get_config = input_get_config,
	.set_config = input_set_config,
	.sandbox = input_sandbox,
};

int main(int argc, char **argv)
{
	struct input_opts o = { .max_pending = INPUT_DEFAULT_MAX_PENDING };
	int st = vhd_main(&input_ops, &o, argc, argv);

	close_sources(&o);
	return st;
}
