/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * vhost-device-template: the teaching example.  To start a new device,
 * copy this directory and its lines in src/devices/devices.am (binary,
 * sources, LDADD), and follow docs/writing-a-device.md: its steps name the
 * functions here that show them.  Include only vhost-device.h and your own
 * headers (tests/check-includes.sh enforces it).
 *
 * A complete small device: one queue; each request is a chain with a
 * device-readable part followed by a device-writable part.  The device
 * copies the readable bytes into the writable buffers (XOR-ed with
 * --xor-byte, default 0: a plain echo), and completes the request with the
 * number of bytes written: min(readable, writable).  (The Rust template
 * only logs chains and never completes them; a driver would hang.)
 *
 * It shows each part a device has:
 *  - options: --xor-byte and --queue-threads (parse_option), kept in the
 *    context struct template_opts that main() gives vhd_main() and the
 *    core passes back to parse_option and instance_new (no file-scope
 *    variables);
 *  - a config space (8 bytes: le64 count of completed requests), which
 *    makes the core offer VHOST_USER_PROTOCOL_F_CONFIG;
 *  - per-socket state (instance_new/instance_free) that survives
 *    reconnects, and per-connection reset;
 *  - the queue loop (vu_queue_process) with a handler that validates the
 *    request before touching it;
 *  - held requests (vhost-device.h, "Held requests"): queue 1 does the
 *    same echo, but keeps each request for the number of milliseconds in
 *    its first 4 readable bytes (le32; 0xffffffff: until the queue stops)
 *    and completes due requests from a timer in the event loop, newest
 *    first -- so a batch completes in reverse order of arrival.  When the
 *    queue stops, elem_cancel drops the device's reference; the core gives
 *    the request back or completes it with 0 bytes (nothing echoed: the
 *    template's "cancelled").
 */
#include "config.h"
#include "vhost-device.h"

#include <endian.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TEMPLATE_QUEUE_SIZE 1024
#define TEMPLATE_NUM_QUEUES 2
#define TEMPLATE_HELD_QUEUE 1
#define HOLD_UNTIL_STOP 0xffffffffu
#define TEMPLATE_CONFIG_SIZE 8
/* Bytes copied per step: the echo works through a small bounce buffer so
 * readable and writable buffers that overlap in guest memory (a hostile
 * driver can do that) are never passed to memcpy together. */
#define TEMPLATE_CHUNK 4096

/* The options (vhd_main's ctx): filled on the main thread, read-only once
 * the instances exist. */
struct template_opts {
	unsigned long long xor_byte;
	/* --queue-threads: each queue on a thread of its own
	 * (vhost-device.h, "Threads"). */
	bool queue_threads;
};

#define OPT_QUEUE_THREADS 0x100

/* A request held on queue 1. */
struct held_req {
	struct vq_elem *e;
	uint64_t due_ns;          /* UINT64_MAX: until the queue stops */
};

struct template_dev {
	unsigned index;
	uint8_t xor_byte;         /* --xor-byte */
	bool queue_threads;       /* --queue-threads */
	/* Reported in the config space.  Atomic: with --queue-threads both
	 * queue threads count, and GET_CONFIG reads it on a third. */
	uint64_t completed;
	unsigned log_budget[TEMPLATE_NUM_QUEUES];   /* one per queue (thread) */
	/* Queue 1, per connection: held requests in arrival order, and the
	 * timer that completes them (on the event loop of the connection). */
	struct vu_dev *dev;
	struct vhd_timer *hold_timer;
	struct held_req *held;
	unsigned nheld;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Echo e's readable bytes into its writable ones; returns the count. */
static void count_completed(struct template_dev *t)
{
	__atomic_fetch_add(&t->completed, 1, __ATOMIC_RELAXED);
}

static uint32_t echo(struct template_dev *t, struct vu_dev *dev, unsigned q,
		     struct vq_elem *e)
{
	uint8_t chunk[TEMPLATE_CHUNK];
	size_t n = e->rd_len < e->wr_len ? e->rd_len : e->wr_len;
	size_t off = 0;

	if (e->n_wr == 0) {
		/* Nowhere to answer: complete it empty, tell the log once. */
		vhd_log_ratelimited(&t->log_budget[q], 5, VHD_LOG_WARN,
				    "%s: request without writable buffers", vu_dev_name(dev));
		return 0;
	}
	while (off < n) {
		size_t step = n - off < sizeof(chunk) ? n - off : sizeof(chunk);
		iov_to_buf(e->rd, e->n_rd, off, chunk, step);
		if (t->xor_byte)
			for (size_t i = 0; i < step; i++)
				chunk[i] ^= t->xor_byte;
		iov_from_buf(e->wr, e->n_wr, off, chunk, step);
		off += step;
	}
	return (uint32_t)n;
}

static bool handle_request(struct vu_dev *dev, struct virtqueue *q,
			   struct vq_elem *e, void *opaque)
{
	struct template_dev *t = opaque;

	vq_push(q, e, echo(t, dev, q->index, e));
	count_completed(t);
	return true;
}

/* Arm the hold timer for the earliest due request (if any). */
static void hold_rearm(struct template_dev *t)
{
	uint64_t first = UINT64_MAX, now;

	for (unsigned i = 0; i < t->nheld; i++)
		if (t->held[i].due_ns < first)
			first = t->held[i].due_ns;
	if (first == UINT64_MAX) {
		vhd_timer_disarm(t->hold_timer);
		return;
	}
	now = now_ns();
	vhd_timer_arm(t->hold_timer, first > now ? first - now : 0);
}

/* Queue 1: keep the request; the timer completes it. */
static bool hold_request(struct vu_dev *dev, struct virtqueue *q,
			 struct vq_elem *e, void *opaque)
{
	struct template_dev *t = opaque;
	uint32_t hold_ms = 0, le;

	if (iov_to_buf(e->rd, e->n_rd, 0, &le, sizeof(le)) == sizeof(le))
		hold_ms = le32toh(le);
	/* At most one held request per ring entry: the core refuses more
	 * pops than the ring holds, so the array (sized at connect) fits. */
	t->held[t->nheld].e = e;
	t->held[t->nheld].due_ns = hold_ms == HOLD_UNTIL_STOP ? UINT64_MAX
				   : now_ns() + (uint64_t)hold_ms * 1000000u;
	t->nheld++;
	return true;
}

static void hold_timer_cb(struct vhd_timer *timer, void *opaque)
{
	struct template_dev *t = opaque;
	struct virtqueue *q;
	uint64_t now = now_ns();
	unsigned done = 0;

	if (!t->nheld)
		return;     /* released by a stop meanwhile */
	q = vu_dev_queue(t->dev, TEMPLATE_HELD_QUEUE);

	/* Newest first: a batch that fell due together completes in reverse
	 * order of arrival, which is what the held queue is there to show. */
	for (unsigned i = t->nheld; i-- > 0;) {
		struct vq_elem *e = t->held[i].e;

		if (t->held[i].due_ns > now)
			continue;
		memmove(&t->held[i], &t->held[i + 1], (t->nheld - i - 1) * sizeof(t->held[0]));
		t->nheld--;
		vq_push(q, e, echo(t, t->dev, TEMPLATE_HELD_QUEUE, e));
		count_completed(t);
		done++;
	}
	if (done)
		vq_notify(q);
	hold_rearm(t);
}

static void template_queue_kick(struct vu_dev *dev, unsigned q)
{
	struct template_dev *t = vu_dev_priv(dev);

	if (q != TEMPLATE_HELD_QUEUE) {
		vu_queue_process(dev, q, handle_request, t);
		return;
	}
	if (!t->held || !t->hold_timer)
		return;     /* connected() could not allocate: never hold */
	vu_queue_process(dev, q, hold_request, t);
	hold_rearm(t);
}

/* The core releases a held request (the queue stops): forget it.  The
 * template has no status byte; a completion writes nothing (0 bytes). */
static uint32_t template_elem_cancel(struct vu_dev *dev, unsigned q, struct vq_elem *e,
				     bool give_back)
{
	struct template_dev *t = vu_dev_priv(dev);

	for (unsigned i = 0; i < t->nheld; i++)
		if (t->held[i].e == e) {
			memmove(&t->held[i], &t->held[i + 1],
				(t->nheld - i - 1) * sizeof(t->held[0]));
			t->nheld--;
			break;
		}
	return 0;
}

static void template_connected(struct vu_dev *dev)
{
	struct template_dev *t = vu_dev_priv(dev);

	t->dev = dev;
	t->nheld = 0;
	if (!t->held)
		t->held = calloc(TEMPLATE_QUEUE_SIZE, sizeof(*t->held));
	/* On the loop of the queue's thread: the connection's, or with
	 * --queue-threads its own (which ends with the connection). */
	if (!t->hold_timer)
		t->hold_timer = vhd_timer_new(vu_queue_loop(dev, TEMPLATE_HELD_QUEUE),
					      hold_timer_cb, t);
	if (!t->held || !t->hold_timer)
		LOG_ERR("%s: out of memory: queue %u will not be served",
			vu_dev_name(dev), TEMPLATE_HELD_QUEUE);
}

static void template_reset(struct vu_dev *dev)
{
	struct template_dev *t = vu_dev_priv(dev);

	/* Queues are stopped: the core released every held request.  The
	 * timer goes with the connection (its loop may be a queue thread's). */
	vhd_timer_free(t->hold_timer);
	t->hold_timer = NULL;
	t->nheld = 0;
	/* Per-connection memory: an idle socket holds none. */
	free(t->held);
	t->held = NULL;
}

static int template_get_config(struct vu_dev *dev, uint8_t *buf)
{
	struct template_dev *t = vu_dev_priv(dev);
	uint64_t le = htole64(__atomic_load_n(&t->completed, __ATOMIC_RELAXED));

	memcpy(buf, &le, sizeof(le));
	return 0;
}

static int template_instance_new(void *ctx, unsigned index, unsigned count, void **priv)
{
	const struct template_opts *opt = ctx;
	struct template_dev *t = calloc(1, sizeof(*t));

	if (!t)
		return -1;
	t->index = index;
	t->xor_byte = (uint8_t)opt->xor_byte;
	t->queue_threads = opt->queue_threads;
	*priv = t;
	return 0;
}

static void template_instance_free(void *priv)
{
	struct template_dev *t = priv;

	vhd_timer_free(t->hold_timer);
	free(t->held);
	free(t);
}

static int template_parse_option(void *ctx, int key, const char *arg)
{
	struct template_opts *opt = ctx;

	if (key == 'x') {
		if (vhd_parse_u64(arg, 0, 255, &opt->xor_byte) < 0) {
			fprintf(stderr, "vhost-device-template: --xor-byte '%s': expected 0..255\n", arg);
			return -1;
		}
		return 0;
	}
	if (key == OPT_QUEUE_THREADS) {
		opt->queue_threads = true;
		return 0;
	}
	return -1;
}

static unsigned template_queue_thread(void *priv, unsigned q)
{
	const struct template_dev *t = priv;

	return t->queue_threads ? q + 1 : 0;
}

static const struct option template_options[] = {
	{ "xor-byte", required_argument, NULL, 'x' },
	{ "queue-threads", no_argument, NULL, OPT_QUEUE_THREADS },
	{ NULL, 0, NULL, 0 },
};

/* vhd_main() checks this table before anything else (vhd_ops_check): a
 * missing queue_kick, a config_size without get_config or an option that
 * clashes with a common one is a start-up error naming the fault. */
static const struct vu_device_ops template_ops = {
	/* identity */
	.name = "template",
	.summary = "vhost-user template device: echoes each request's readable bytes into its\n"
		   "writable buffers (the teaching example of vhost-device-c).  Queue 0 answers\n"
		   "at once; queue 1 holds each request for the milliseconds in its first 4\n"
		   "readable bytes (le32, 0xffffffff = until the queue stops) and completes due\n"
		   "requests newest first.",
	.virtio_id = 0,         /* no virtio ID of its own: set one when you copy it */
	.num_queues = TEMPLATE_NUM_QUEUES,
	.max_queue_size = TEMPLATE_QUEUE_SIZE,
	.config_size = TEMPLATE_CONFIG_SIZE,
	/* command line */
	.socket_naming = VU_SOCKETS_EXACT,
	.options = template_options,
	.short_options = "x:",
	.options_help =
		"  -x, --xor-byte N         XOR every echoed byte with N, 0..255 (default 0)\n"
		"      --queue-threads      serve each queue on a thread of its own\n",
	.parse_option = template_parse_option,
	/* runtime */
	.instance_new = template_instance_new,
	.instance_free = template_instance_free,
	.queue_thread = template_queue_thread,
	.connected = template_connected,
	.reset = template_reset,
	.queue_kick = template_queue_kick,
	.elem_cancel = template_elem_cancel,
	.get_config = template_get_config,
};

int main(int argc, char **argv)
{
	struct template_opts opt = { .xor_byte = 0 };

	return vhd_main(&template_ops, &opt, argc, argv);
}
