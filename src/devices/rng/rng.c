/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * vhost-device-rng: virtio entropy device (virtio 1.x, 5.4).
 *
 * One queue; every request is a chain of device-writable buffers which we
 * fill from the entropy source.  The used length is the number of bytes
 * written (short reads of the source give short requests, which drivers
 * accept).  Command line compatible with the Rust vhost-device-rng:
 *   -s/--socket-path, -c/--socket-count (PATH0..PATH<N-1>),
 *   -p/--period MS (1..65536, default 65536),
 *   -m/--max-bytes N per period (default unlimited), divided equally among
 *      the sockets,
 *   -f/--rng-source FILE (alias --filename; default /dev/urandom).
 *
 * Rate limiting never sleeps: when a socket's quota for the period is used
 * up the queue pauses and a timer in the worker's event loop resumes it at
 * the start of the next period.  The quota belongs to the socket, so a
 * frontend cannot reset it by reconnecting.
 *
 * The source: read directly into guest memory for requests of 4 KiB and
 * more; smaller requests are served from a per-socket buffer so a 64-byte
 * request does not cost a system call.  End of file: bytes already read
 * are delivered; a request for which no byte is left is given back to the
 * ring (not completed empty, which a driver would spin on) and the queue
 * waits, logged once.  A non-blocking source (a FIFO) that has no data is
 * polled in the event loop.
 */
#include "config.h"
#include "vhost-device.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define RNG_VIRTIO_ID        4
#define RNG_QUEUE_SIZE       1024
#define RNG_PERIOD_MAX_MS    65536ull
#define RNG_DIRECT_MIN       4096u     /* read straight into guest memory */
#define RNG_BUF_SIZE         16384u    /* largest read-ahead for small requests */
#define RNG_RA_MIN           256u      /* first read-ahead of a connection */

enum { OPT_FILENAME = 0x2000 };

/* The options (vhd_main's ctx), shared by all sockets: filled on the main
 * thread before any worker starts, read-only afterwards. */
struct rng_opts {
	const char *source_path;
	unsigned long long period_ms;
	unsigned long long max_bytes;     /* 0 = unlimited */
	int source_fd;
	bool source_pollable;             /* non-blocking, not a file */
};

struct rng {
	const struct rng_opts *opt;
	unsigned index;
	uint64_t quota;           /* bytes per period; 0 = unlimited */
	uint64_t remaining;
	uint64_t period_start_ns;
	struct vu_dev *dev;       /* current connection (worker thread only) */
	struct vhd_timer *timer;   /* next period */
	struct vhd_handler src_h;  /* source readable (pollable sources) */
	bool eof;
	unsigned log_budget;
	uint8_t *buf;             /* read-ahead (ra_size bytes) while not drained */
	size_t buf_off, buf_len;
	size_t ra_size;           /* next read-ahead size */
	uint64_t bytes_served;
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Read up to len bytes from the source.  >0 bytes, 0 EOF, -EAGAIN, -errno.
 * Concurrent read(2) calls of several workers on the shared fd are safe:
 * Linux serialises the file position of regular files, so no byte is
 * handed to two guests. */
static ssize_t source_read(const struct rng_opts *opt, void *dst, size_t len)
{
	ssize_t r;

	do {
		r = read(opt->source_fd, dst, len);
	} while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : r;
}

static void src_ready_cb(struct vhd_handler *h, uint32_t events)
{
	struct rng *rng = h->opaque;

	vhd_loop_del(h);
	if (rng->dev)
		vu_queue_schedule(rng->dev, 0);
}

static void timer_cb(struct vhd_timer *t, void *opaque)
{
	struct rng *rng = opaque;

	if (rng->dev)
		vu_queue_schedule(rng->dev, 0);
}

/* The read-ahead buffer for small requests exists only while it holds
 * bytes, and starts small: an idle guest that once asked for 64 bytes
 * keeps a few hundred at most, not RNG_BUF_SIZE (docs/benchmarks.md,
 * "Scale").  Each time a guest drains it, the next is twice as large, up
 * to RNG_BUF_SIZE, so a guest asking for many small requests soon reads
 * the source 16 KiB at a time. */
static void drop_buffer(struct rng *rng, bool drained)
{
	free(rng->buf);
	rng->buf = NULL;
	rng->buf_off = rng->buf_len = 0;
	if (drained && rng->ra_size < RNG_BUF_SIZE)
		rng->ra_size *= 2;
}

/* A new read-ahead buffer: bytes read (> 0), 0 at end of file, -ENOMEM
 * (then the caller reads straight into the request), other -errno. */
static ssize_t refill(struct rng *rng)
{
	ssize_t r;

	if (rng->ra_size < RNG_RA_MIN)
		rng->ra_size = RNG_RA_MIN;
	rng->buf = malloc(rng->ra_size);
	if (!rng->buf)
		return -ENOMEM;
	r = source_read(rng->opt, rng->buf, rng->ra_size);
	if (r <= 0) {
		drop_buffer(rng, false);
		return r;
	}
	rng->buf_off = 0;
	rng->buf_len = (size_t)r;
	return r;
}

/* Fill up to `want` bytes of the element's writable buffers.  Returns the
 * bytes written (>= 0), or -EAGAIN / -errno when nothing could be read. */
static ssize_t fill(struct rng *rng, struct vq_elem *e, size_t want)
{
	size_t done = 0;

	for (unsigned i = 0; i < e->n_wr && done < want; i++) {
		uint8_t *p = e->wr[i].iov_base;
		size_t len = e->wr[i].iov_len;

		if (len > want - done)
			len = want - done;
		while (len) {
			ssize_t r;
			size_t n;

			if (rng->buf_len == 0 && len < RNG_DIRECT_MIN) {
				r = refill(rng);
				if (r <= 0 && r != -ENOMEM)
					return done ? (ssize_t)done : (r == 0 ? 0 : r);
			}
			if (rng->buf_len) {
				n = len < rng->buf_len ? len : rng->buf_len;
				memcpy(p, rng->buf + rng->buf_off, n);
				rng->buf_off += n;
				rng->buf_len -= n;
				if (!rng->buf_len)
					drop_buffer(rng, true);
			} else {
				r = source_read(rng->opt, p, len);
				if (r <= 0)
					return done ? (ssize_t)done : (r == 0 ? 0 : r);
				n = (size_t)r;
			}
			p += n;
			len -= n;
			done += n;
		}
	}
	return (ssize_t)done;
}

/* Start a new period if the current one is over; false when the quota
 * is used up (the timer is armed for the next period). */
static bool quota_available(struct rng *rng)
{
	uint64_t now, period_ns;

	if (!rng->quota)
		return true;
	now = now_ns();
	period_ns = rng->opt->period_ms * 1000000ull;
	if (now - rng->period_start_ns >= period_ns) {
		rng->period_start_ns = now;
		rng->remaining = rng->quota;
	}
	if (rng->remaining)
		return true;
	if (!vhd_timer_armed(rng->timer))
		vhd_timer_arm(rng->timer, rng->period_start_ns + period_ns - now);
	return false;
}

static bool handle_request(struct vu_dev *dev, struct virtqueue *q,
			   struct vq_elem *e, void *opaque)
{
	struct rng *rng = opaque;
	size_t want = e->wr_len;
	ssize_t got;

	if (e->n_rd) {
		/* The spec says requests are device-writable only; a
		 * readable part is a driver bug we can ignore safely. */
		vhd_log_ratelimited(&rng->log_budget, 5, VHD_LOG_WARN,
				    "%s: request with %u readable bytes; ignoring them",
				    vu_dev_name(dev), e->rd_len);
	}
	if (want == 0) {
		vq_push(q, e, 0);
		return true;
	}
	if (!quota_available(rng)) {
		vq_unpop(q, e);
		return false;
	}
	if (rng->quota && want > rng->remaining)
		want = (size_t)rng->remaining;

	got = fill(rng, e, want);
	if (got <= 0) {
		vq_unpop(q, e);
		if (got == -EAGAIN && rng->opt->source_pollable) {
			if (!rng->src_h.loop)
				vhd_loop_add(vu_dev_loop(dev), &rng->src_h, EPOLLIN);
		} else if (got == 0) {
			if (!rng->eof)
				LOG_ERR("%s: rng source %s reached end of file; requests wait",
					vu_dev_name(dev), rng->opt->source_path);
			rng->eof = true;
		} else {
			vhd_log_ratelimited(&rng->log_budget, 5, VHD_LOG_ERROR,
					    "%s: reading %s: %s", vu_dev_name(dev),
					    rng->opt->source_path, strerror((int)-got));
		}
		return false;
	}
	if (rng->quota)
		rng->remaining -= (uint64_t)got;
	rng->bytes_served += (uint64_t)got;
	vq_push(q, e, (uint32_t)got);
	return true;
}

static void rng_queue_kick(struct vu_dev *dev, unsigned q)
{
	struct rng *rng = vu_dev_priv(dev);

	vu_queue_process(dev, q, handle_request, rng);
}

static void rng_connected(struct vu_dev *dev)
{
	struct rng *rng = vu_dev_priv(dev);

	rng->dev = dev;
	if (!rng->timer)
		rng->timer = vhd_timer_new(vu_dev_loop(dev), timer_cb, rng);
}

static void rng_reset(struct vu_dev *dev)
{
	struct rng *rng = vu_dev_priv(dev);

	/* The next connection may be served by another worker thread
	 * (vhost-device.h, "Threading promise"): nothing stays on this
	 * connection's loop. */
	vhd_timer_free(rng->timer);
	rng->timer = NULL;
	vhd_loop_del(&rng->src_h);
	/* Bytes already read stay for the next connection: with a file
	 * source the guest sees the file in order across reconnections.
	 * The next connection starts with a small read-ahead again. */
	rng->ra_size = RNG_RA_MIN;
}

static int rng_instance_new(void *ctx, unsigned index, unsigned count, void **priv)
{
	const struct rng_opts *opt = ctx;
	struct rng *rng = calloc(1, sizeof(*rng));

	if (!rng)
		return -1;
	rng->opt = opt;
	rng->index = index;
	rng->quota = opt->max_bytes / count;   /* the Rust suite divides equally */
	rng->remaining = rng->quota;
	rng->period_start_ns = now_ns();
	rng->src_h.fd = opt->source_fd;
	rng->src_h.cb = src_ready_cb;
	rng->src_h.opaque = rng;
	*priv = rng;
	return 0;
}

static void rng_instance_free(void *priv)
{
	struct rng *rng = priv;

	vhd_loop_del(&rng->src_h);
	vhd_timer_free(rng->timer);
	free(rng->buf);
	free(rng);
}

static int rng_parse_option(void *ctx, int key, const char *arg)
{
	struct rng_opts *opt = ctx;

	switch (key) {
	case 'p':
		if (vhd_parse_u64(arg, 1, RNG_PERIOD_MAX_MS, &opt->period_ms) < 0) {
			fprintf(stderr, "vhost-device-rng: --period '%s': expected milliseconds from 1 to %llu\n",
				arg, RNG_PERIOD_MAX_MS);
			return -1;
		}
		return 0;
	case 'm':
		if (vhd_parse_u64(arg, 1, UINT64_MAX, &opt->max_bytes) < 0) {
			fprintf(stderr, "vhost-device-rng: --max-bytes '%s': expected a number of bytes >= 1\n",
				arg);
			return -1;
		}
		return 0;
	case 'f':
	case OPT_FILENAME:
		if (!*arg) {
			fprintf(stderr, "vhost-device-rng: --rng-source: empty path\n");
			return -1;
		}
		opt->source_path = arg;
		return 0;
	}
	return -1;
}

static int rng_check_options(void *ctx, unsigned count)
{
	struct rng_opts *opt = ctx;
	struct stat st;

	if (opt->max_bytes && opt->max_bytes / count == 0) {
		fprintf(stderr, "vhost-device-rng: --max-bytes %llu divided among %u sockets leaves 0 bytes per socket\n",
			opt->max_bytes, count);
		return -1;
	}
	opt->source_fd = open(opt->source_path, O_RDONLY | O_CLOEXEC);
	if (opt->source_fd < 0) {
		fprintf(stderr, "vhost-device-rng: cannot open rng source %s: %s\n",
			opt->source_path, strerror(errno));
		return -1;
	}
	if (fstat(opt->source_fd, &st) < 0) {
		fprintf(stderr, "vhost-device-rng: cannot stat rng source %s: %s\n",
			opt->source_path, strerror(errno));
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		fprintf(stderr, "vhost-device-rng: rng source %s is a directory\n",
			opt->source_path);
		return -1;
	}
	/* FIFOs and sockets may have nothing to give: poll them instead of
	 * blocking the worker.  Files and /dev/urandom never block. */
	if (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)) {
		fcntl(opt->source_fd, F_SETFL, fcntl(opt->source_fd, F_GETFL) | O_NONBLOCK);
		opt->source_pollable = true;
	}
	return 0;
}

static const struct option rng_options[] = {
	{ "period", required_argument, NULL, 'p' },
	{ "max-bytes", required_argument, NULL, 'm' },
	{ "rng-source", required_argument, NULL, 'f' },
	{ "filename", required_argument, NULL, OPT_FILENAME },
	{ NULL, 0, NULL, 0 },
};

static const struct vu_device_ops rng_ops = {
	/* identity */
	.name = "rng",
	.summary = "vhost-user virtio-rng (entropy) device backend.",
	.virtio_id = RNG_VIRTIO_ID,
	.num_queues = 1,
	.max_queue_size = RNG_QUEUE_SIZE,
	.features = 0,
	.config_size = 0,       /* QEMU's rng frontend must not see F_CONFIG */
	/* command line */
	.socket_naming = VU_SOCKETS_SUFFIXED,
	.options = rng_options,
	.short_options = "p:m:f:",
	.options_help =
		"  -p, --period MS          rate-limit period in milliseconds, 1..65536 (default 65536)\n"
		"  -m, --max-bytes N        bytes allowed per period, divided equally among the\n"
		"                           sockets (default: unlimited)\n"
		"  -f, --rng-source FILE    entropy source (default /dev/urandom); alias --filename\n",
	.parse_option = rng_parse_option,
	.check_options = rng_check_options,
	/* runtime */
	.instance_new = rng_instance_new,
	.instance_free = rng_instance_free,
	.connected = rng_connected,
	.reset = rng_reset,
	.queue_kick = rng_queue_kick,
};

int main(int argc, char **argv)
{
	struct rng_opts opt = {
		.source_path = "/dev/urandom",
		.period_ms = RNG_PERIOD_MAX_MS,
		.source_fd = -1,
	};
	int r = vhd_main(&rng_ops, &opt, argc, argv);

	if (opt.source_fd >= 0)
		close(opt.source_fd);
	return r;
}
