/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * vhost-user-frontend vsock: measure a vhost-user-vsock backend with the
 * hybrid (Unix socket) host side, playing the guest through libvhu-vsock
 * and the host through Unix sockets, beside a raw AF_UNIX socketpair doing
 * the same transfer in the same run.
 *
 *   vhost-user-frontend vsock SOCKET --uds-path PATH [options]
 *
 * Figures (one "key: value" line each, for scripts):
 *   raw:        socketpair throughput, writer thread -> reader (MiB/s)
 *   g2h:        guest -> host through the backend (MiB/s, ratio to raw)
 *   h2g:        host -> guest (MiB/s, ratio to raw)
 *   rr:         round trips of --msg-size bytes, guest <-> host echo, and
 *               the same on a socketpair (us: mean, p50, p99)
 *   hold:       --hold connections whose host peer never reads: bytes
 *               the guest got out per connection, and the growth of the
 *               backend's private memory (RssAnon; guest memory it maps
 *               is shared and not counted) per connection (--backend-pid)
 * Every transfer's bytes are counted on the receiving side; the raw, g2h
 * and h2g payload carries a pattern that the receiver checks (a memcmp,
 * as cheap as the copy an application would make).
 */
#include "config.h"
#include "vhu-host.h"
#include "vhu-vsock.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PROG "vhost-user-frontend vsock"

struct opts {
	const char *socket, *uds;
	uint64_t bytes;
	uint32_t write_size;
	uint32_t rx_buf;
	uint64_t rx_pool;
	unsigned queue_size;
	unsigned rr;
	uint32_t msg_size;
	uint32_t port;
	unsigned hold;
	int backend_pid;
	unsigned spin_us;
	uint32_t buf_alloc;
	bool credit_61;
	bool g2h, h2g, do_rr, raw;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The payload: byte i of a transfer is table[i % PATTERN_PERIOD], a
 * pseudo-random table whose period (a prime) is not a multiple of any
 * buffer size, so shifted or repeated buffers show.  Making and checking
 * it costs a memcpy / memcmp, like the application copies it stands for. */
#define PATTERN_PERIOD 65521u
static uint8_t ptable[2 * PATTERN_PERIOD + 65536];

static void pattern_init(void)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;

	for (size_t i = 0; i < PATTERN_PERIOD; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		ptable[i] = (uint8_t)(x >> 32);
	}
	for (size_t i = PATTERN_PERIOD; i < sizeof(ptable); i++)
		ptable[i] = ptable[i - PATTERN_PERIOD];
}

static void pattern(uint8_t *p, uint64_t off, size_t len)
{
	while (len) {
		size_t n = len < 65536 ? len : 65536;
		memcpy(p, ptable + off % PATTERN_PERIOD, n);
		p += n;
		off += n;
		len -= n;
	}
}

static bool pattern_ok(const uint8_t *p, uint64_t off, size_t len)
{
	while (len) {
		size_t n = len < 65536 ? len : 65536;
		if (memcmp(p, ptable + off % PATTERN_PERIOD, n))
			return false;
		p += n;
		off += n;
		len -= n;
	}
	return true;
}

static ssize_t write_all(int fd, const void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t w = write(fd, (const uint8_t *)buf + done, len - done);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		done += (size_t)w;
	}
	return (ssize_t)done;
}

static ssize_t read_full(int fd, void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t r = read(fd, (uint8_t *)buf + done, len - done);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			break;
		done += (size_t)r;
	}
	return (ssize_t)done;
}

/* ---- host-side threads ------------------------------------------------------- */

struct host {
	pthread_t t;
	const struct opts *o;
	int fd;                     /* listener or connected socket */
	uint64_t bytes;
	double t_end;
	int err;
	bool bad;
};

/* Accept one connection and read everything, checking the pattern. */
static void *host_reader(void *arg)
{
	struct host *h = arg;
	uint8_t *buf = malloc(1 << 16);
	int fd = accept4(h->fd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0 || !buf) {
		h->err = -errno;
		free(buf);
		return NULL;
	}
	for (;;) {
		ssize_t r = read(fd, buf, 1 << 16);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (!pattern_ok(buf, h->bytes, (size_t)r))
			h->bad = true;
		h->bytes += (uint64_t)r;
	}
	h->t_end = now();
	close(fd);
	free(buf);
	return NULL;
}

/* Connected (hybrid) already: write o->bytes in write_size pieces. */
static void *host_writer(void *arg)
{
	struct host *h = arg;
	uint8_t *buf = malloc(h->o->write_size);

	if (!buf) {
		h->err = -ENOMEM;
		return NULL;
	}
	while (h->bytes < h->o->bytes) {
		size_t n = h->o->bytes - h->bytes < h->o->write_size ?
			   (size_t)(h->o->bytes - h->bytes) : h->o->write_size;
		ssize_t w;

		pattern(buf, h->bytes, n);
		w = write_all(h->fd, buf, n);
		if (w < 0) {
			h->err = (int)w;
			break;
		}
		h->bytes += n;
	}
	shutdown(h->fd, SHUT_WR);
	free(buf);
	return NULL;
}

/* Accept one connection and echo msg_size-byte messages until EOF. */
static void *host_echo(void *arg)
{
	struct host *h = arg;
	uint8_t *buf = malloc(h->o->msg_size);
	int fd = accept4(h->fd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0 || !buf) {
		h->err = -errno;
		free(buf);
		return NULL;
	}
	while (read_full(fd, buf, h->o->msg_size) == (ssize_t)h->o->msg_size)
		if (write_all(fd, buf, h->o->msg_size) < 0)
			break;
	close(fd);
	free(buf);
	return NULL;
}

/* ---- raw AF_UNIX ------------------------------------------------------------- */

static void *raw_writer(void *arg)
{
	struct host *h = arg;
	uint8_t *buf = malloc(h->o->write_size);

	while (buf && h->bytes < h->o->bytes) {
		size_t n = h->o->bytes - h->bytes < h->o->write_size ?
			   (size_t)(h->o->bytes - h->bytes) : h->o->write_size;
		pattern(buf, h->bytes, n);
		if (write_all(h->fd, buf, n) < 0)
			break;
		h->bytes += n;
	}
	shutdown(h->fd, SHUT_WR);
	free(buf);
	return NULL;
}

static int run_raw(const struct opts *o, double *mibs)
{
	struct host w = { .o = o };
	uint8_t *buf = malloc(1 << 16);
	uint64_t got = 0;
	bool bad = false;
	int sv[2];
	double t0;

	if (!buf || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	w.fd = sv[0];
	t0 = now();
	pthread_create(&w.t, NULL, raw_writer, &w);
	for (;;) {
		ssize_t r = read(sv[1], buf, 1 << 16);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		/* The same check the backend's receivers do: fair cost. */
		if (!pattern_ok(buf, got, (size_t)r))
			bad = true;
		got += (uint64_t)r;
	}
	*mibs = (double)got / (now() - t0) / 1048576.0;
	pthread_join(w.t, NULL);
	close(sv[0]);
	close(sv[1]);
	free(buf);
	if (bad || got != o->bytes) {
		fprintf(stderr, PROG ": raw transfer lost or changed bytes\n");
		return -EIO;
	}
	return 0;
}

static void *raw_echo(void *arg)
{
	struct host *h = arg;
	uint8_t *buf = malloc(h->o->msg_size);

	while (buf && read_full(h->fd, buf, h->o->msg_size) == (ssize_t)h->o->msg_size)
		if (write_all(h->fd, buf, h->o->msg_size) < 0)
			break;
	free(buf);
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void rr_stats(double *t, unsigned n, double *mean, double *p50, double *p99)
{
	double s = 0;

	for (unsigned i = 0; i < n; i++)
		s += t[i];
	qsort(t, n, sizeof(*t), cmp_double);
	*mean = s / n * 1e6;
	*p50 = t[n / 2] * 1e6;
	*p99 = t[(size_t)n * 99 / 100] * 1e6;
}

static int run_raw_rr(const struct opts *o, double *mean, double *p50, double *p99)
{
	struct host e = { .o = o };
	uint8_t *buf = malloc(o->msg_size);
	double *t = calloc(o->rr, sizeof(*t));
	int sv[2];

	if (!buf || !t || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -ENOMEM;
	e.fd = sv[1];
	pthread_create(&e.t, NULL, raw_echo, &e);
	memset(buf, 0x5a, o->msg_size);
	for (unsigned i = 0; i < o->rr; i++) {
		double t0 = now();
		if (write_all(sv[0], buf, o->msg_size) < 0 ||
		    read_full(sv[0], buf, o->msg_size) != (ssize_t)o->msg_size)
			return -EIO;
		t[i] = now() - t0;
	}
	close(sv[0]);
	pthread_join(e.t, NULL);
	close(sv[1]);
	rr_stats(t, o->rr, mean, p50, p99);
	free(t);
	free(buf);
	return 0;
}

/* ---- through the backend ------------------------------------------------------ */

static int run_g2h(const struct opts *o, struct vhu_vsock *v, double *mibs)
{
	struct host h = { .o = o };
	struct vhu_vsock_conn *c;
	uint8_t *buf = malloc(o->write_size);
	char path[200];
	uint64_t sent = 0;
	double t0;
	int r;

	snprintf(path, sizeof(path), "%s_%u", o->uds, o->port);
	if (!buf)
		return -ENOMEM;
	h.fd = vhu_unix_listen(path, SOCK_STREAM, 256);
	if (h.fd < 0) {
		free(buf);
		return h.fd;
	}
	pthread_create(&h.t, NULL, host_reader, &h);
	r = vhu_vsock_connect(v, 2, o->port, VIRTIO_VSOCK_TYPE_STREAM, 5000, &c);
	if (r < 0) {
		fprintf(stderr, PROG ": g2h connect to host port %u: %s\n", o->port, strerror(-r));
		shutdown(h.fd, SHUT_RDWR);
		close(h.fd);
		pthread_cancel(h.t);
		pthread_join(h.t, NULL);
		unlink(path);
		free(buf);
		return r;
	}
	t0 = now();
	while (sent < o->bytes) {
		size_t n = o->bytes - sent < o->write_size ? (size_t)(o->bytes - sent) : o->write_size;
		ssize_t w;

		pattern(buf, sent, n);
		w = vhu_vsock_send(c, buf, n, false, 10000);
		if (w != (ssize_t)n) {
			fprintf(stderr, PROG ": g2h send after %llu bytes: %s\n",
				(unsigned long long)sent, strerror(w < 0 ? (int)-w : EIO));
			r = -EIO;
			break;
		}
		sent += n;
	}
	vhu_vsock_close_conn(c, 5000);
	pthread_join(h.t, NULL);
	close(h.fd);
	unlink(path);
	free(buf);
	if (r == 0 && (h.bad || h.bytes != o->bytes)) {
		fprintf(stderr, PROG ": g2h: the host got %llu of %llu bytes%s\n",
			(unsigned long long)h.bytes, (unsigned long long)o->bytes,
			h.bad ? ", some changed" : "");
		r = -EIO;
	}
	*mibs = (double)h.bytes / (h.t_end - t0) / 1048576.0;
	return r;
}

struct sink {
	uint8_t *buf;               /* the "application buffer" */
	uint64_t got;
	bool bad;
};

/* As recv(2) into an application buffer: one copy, plus the check. */
static int sink_copy(void *opaque, const uint8_t *data, uint32_t len)
{
	struct sink *s = opaque;

	while (len) {
		uint32_t n = len < 65536 ? len : 65536;
		memcpy(s->buf, data, n);
		if (!pattern_ok(s->buf, s->got, n))
			s->bad = true;
		s->got += n;
		data += n;
		len -= n;
	}
	return 0;
}

static int run_h2g(const struct opts *o, struct vhu_vsock *v, double *mibs)
{
	struct host h = { .o = o };
	struct sink s = { .buf = malloc(65536) };
	struct vhu_vsock_conn *c;
	char line[64];
	double t0;
	int r;

	if (!s.buf)
		return -ENOMEM;
	vhu_vsock_listen(v, o->port + 1);
	h.fd = vhu_unix_connect(o->uds, SOCK_STREAM);
	if (h.fd < 0) {
		free(s.buf);
		return h.fd;
	}
	snprintf(line, sizeof(line), "CONNECT %u\n", o->port + 1);
	write_all(h.fd, line, strlen(line));
	r = vhu_vsock_accept(v, o->port + 1, 5000, &c);
	if (r < 0 || read_full(h.fd, line, 3) != 3 || memcmp(line, "OK ", 3)) {
		fprintf(stderr, PROG ": h2g: the hybrid handshake failed\n");
		close(h.fd);
		free(s.buf);
		return -EIO;
	}
	do {    /* the rest of "OK <port>\n" */
		if (read(h.fd, line, 1) != 1)
			break;
	} while (line[0] != '\n');
	vhu_vsock_conn_set_sink(c, sink_copy, &s);
	t0 = now();
	pthread_create(&h.t, NULL, host_writer, &h);
	while (vhu_vsock_conn_peer_shutdown(c) == 0 && vhu_vsock_conn_state(c) == VHU_VSOCK_CONNECTED) {
		r = vhu_vsock_poll(v, 10000);
		if (r <= 0) {
			fprintf(stderr, PROG ": h2g: no data for 10 s after %llu bytes\n",
				(unsigned long long)s.got);
			r = -ETIMEDOUT;
			break;
		}
		r = 0;
	}
	*mibs = (double)s.got / (now() - t0) / 1048576.0;
	pthread_join(h.t, NULL);
	vhu_vsock_close_conn(c, 5000);
	close(h.fd);
	if (r == 0 && (s.bad || s.got != o->bytes)) {
		fprintf(stderr, PROG ": h2g: the guest got %llu of %llu bytes%s\n",
			(unsigned long long)s.got, (unsigned long long)o->bytes,
			s.bad ? ", some changed" : "");
		r = -EIO;
	}
	free(s.buf);
	return r;
}

static int run_rr(const struct opts *o, struct vhu_vsock *v, double *mean, double *p50,
		  double *p99)
{
	struct host h = { .o = o };
	struct vhu_vsock_conn *c;
	uint8_t *buf = malloc(o->msg_size);
	double *t = calloc(o->rr, sizeof(*t));
	char path[200];
	int r;

	if (!buf || !t) {
		r = -ENOMEM;
		goto out_free;
	}
	snprintf(path, sizeof(path), "%s_%u", o->uds, o->port + 2);
	h.fd = vhu_unix_listen(path, SOCK_STREAM, 256);
	if (h.fd < 0) {
		r = h.fd;
		goto out_free;
	}
	if (pthread_create(&h.t, NULL, host_echo, &h) != 0) {
		r = -EAGAIN;
		goto out_listen;
	}
	r = vhu_vsock_connect(v, 2, o->port + 2, VIRTIO_VSOCK_TYPE_STREAM, 5000, &c);
	if (r < 0) {
		fprintf(stderr, PROG ": rr connect to host port %u: %s\n", o->port + 2,
			strerror(-r));
		/* host_echo waits in accept(): shutting the listener down makes
		 * it return (EINVAL), so the thread ends. */
		shutdown(h.fd, SHUT_RDWR);
		pthread_join(h.t, NULL);
		goto out_listen;
	}
	memset(buf, 0xa5, o->msg_size);
	for (unsigned i = 0; i < o->rr && r == 0; i++) {
		double t0 = now();
		size_t got = 0;

		if (vhu_vsock_send(c, buf, o->msg_size, false, 5000) != (ssize_t)o->msg_size)
			r = -EIO;
		while (r == 0 && got < o->msg_size) {
			ssize_t n = vhu_vsock_recv(c, buf + got, o->msg_size - got, 5000, NULL, NULL);
			if (n <= 0)
				r = -EIO;
			else
				got += (size_t)n;
		}
		t[i] = now() - t0;
	}
	vhu_vsock_close_conn(c, 5000);
	pthread_join(h.t, NULL);
	if (r == 0)
		rr_stats(t, o->rr, mean, p50, p99);
out_listen:
	close(h.fd);
	unlink(path);
out_free:
	free(t);
	free(buf);
	return r;
}

/* Connections whose host peer accepts and never reads: how much does the
 * guest get out, and how much does the backend keep? */
static int run_hold(const struct opts *o, struct vhu_vsock *v)
{
	struct vhu_vsock_conn **c = calloc(o->hold, sizeof(*c));
	int *peer = calloc(o->hold, sizeof(*peer));
	uint8_t *buf = malloc(65536);
	char path[200];
	uint64_t total = 0;
	long rss0 = vhu_rss_anon_kib(o->backend_pid), rss1;
	int lfd, r = 0;
	unsigned n = 0;

	snprintf(path, sizeof(path), "%s_%u", o->uds, o->port + 3);
	lfd = vhu_unix_listen(path, SOCK_STREAM, 256);
	if (lfd < 0 || !c || !peer || !buf)
		return -ENOMEM;
	memset(buf, 0x3c, 65536);
	for (; n < o->hold; n++) {
		r = vhu_vsock_connect(v, 2, o->port + 3, VIRTIO_VSOCK_TYPE_STREAM, 5000, &c[n]);
		if (r < 0)
			break;
		peer[n] = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	}
	for (unsigned i = 0; i < n; i++) {
		/* Until the credit stays out for 200 ms. */
		for (;;) {
			ssize_t w = vhu_vsock_send(c[i], buf, 65536, false, 200);
			if (w > 0)
				total += (uint64_t)w;
			if (w != 65536)
				break;
		}
	}
	rss1 = vhu_rss_anon_kib(o->backend_pid);
	printf("hold conns: %u\n", n);
	printf("hold bytes/conn: %llu\n", n ? (unsigned long long)(total / n) : 0ull);
	if (rss0 >= 0 && rss1 >= 0)
		printf("hold backend RSS growth KiB/conn: %.1f\n", n ? (double)(rss1 - rss0) / n : 0.0);
	for (unsigned i = 0; i < n; i++) {
		vhu_vsock_reset_conn(c[i]);
		if (peer[i] >= 0)
			close(peer[i]);
	}
	close(lfd);
	unlink(path);
	free(c);
	free(peer);
	free(buf);
	return r;
}

/* ---- command line ---------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vhost-user-frontend vsock SOCKET --uds-path PATH [options]\n"
		"\n"
		"Play the guest of a vhost-user-vsock backend (hybrid Unix backend at PATH)\n"
		"and its host side, and measure; a raw AF_UNIX socketpair does the same\n"
		"transfer in the same run (the ratio is the figure).\n"
		"  --bytes N          bytes per throughput run (K, M, G; default 256M)\n"
		"  --write-size B     bytes per write on both sides (default 64K)\n"
		"  --rx-buf B         guest rx buffer size, header included (default 64K+44;\n"
		"                     Linux guests post 4K+44)\n"
		"  --rx-pool B        bytes of rx buffers the guest posts (default 1M, as a\n"
		"                     Linux guest: 256 buffers of 4 KiB; at most a full ring)\n"
		"  --queue-size Q     rx and tx ring size (default 256)\n"
		"  --rr N             round trips for the latency figure (default 20000)\n"
		"  --msg-size B       bytes per round trip (default 1)\n"
		"  --hold N           N connections whose host peer never reads (default 0)\n"
		"  --backend-pid PID  report the backend's RSS growth for --hold\n"
		"  --port P           host ports P..P+3 are used (default 9000)\n"
		"  --only LIST        comma list of raw,g2h,h2g,rr (default all)\n"
		"  --spin-us N        busy-poll before sleeping on the call eventfd\n"
		"  --guest-buf-alloc B  the guest's receive window per connection\n"
		"                     (default 256K, as Linux)\n"
		"  --guest-credit-6.1 credit updates as Linux < 6.8: only when less than\n"
		"                     64 KiB of the window is left (default: as Linux >= 6.8,\n"
		"                     also whenever the guest drained its receive queue)\n");
}

static int parse_num(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;
	unsigned long long v, mul = 1;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	if (*end == 'K' || *end == 'k')
		mul = 1024, end++;
	else if (*end == 'M' || *end == 'm')
		mul = 1024 * 1024, end++;
	else if (*end == 'G' || *end == 'g')
		mul = 1024ull * 1024 * 1024, end++;
	if (*end || v > max / mul)
		return -1;
	*out = v * mul;
	return 0;
}

int vhu_vsock_cmd(int argc, char **argv);

int vhu_vsock_cmd(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "uds-path", required_argument, NULL, 'u' },
		{ "bytes", required_argument, NULL, 'b' },
		{ "write-size", required_argument, NULL, 'w' },
		{ "rx-buf", required_argument, NULL, 'x' },
		{ "rx-pool", required_argument, NULL, 'X' },
		{ "queue-size", required_argument, NULL, 'q' },
		{ "rr", required_argument, NULL, 'r' },
		{ "msg-size", required_argument, NULL, 'm' },
		{ "hold", required_argument, NULL, 'H' },
		{ "backend-pid", required_argument, NULL, 'P' },
		{ "port", required_argument, NULL, 'p' },
		{ "only", required_argument, NULL, 'o' },
		{ "spin-us", required_argument, NULL, 's' },
		{ "guest-buf-alloc", required_argument, NULL, 'a' },
		{ "guest-credit-6.1", no_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = {
		.bytes = 256ull << 20, .write_size = 65536, .rx_buf = 65536 + 44, .rx_pool = 1 << 20,
		.queue_size = 256, .rr = 20000, .msg_size = 1, .port = 9000,
		.g2h = true, .h2g = true, .do_rr = true, .raw = true,
	};
	struct vhu_vsock_opts vo;
	struct vhu_vsock *v;
	unsigned long long n;
	double raw = 0, g2h = 0, h2g = 0, m, p50, p99, rm, r50, r99;
	char err[512];
	int c, r, status = 0;

	/* SOCKET first, then options (or options only, for --help). */
	if (argc > 1 && argv[1][0] != '-') {
		o.socket = argv[1];
		argc--;
		argv++;
	}
	optind = 1;
	while ((c = getopt_long(argc, argv, "+h", lo, NULL)) != -1) {
		switch (c) {
		case 'u': o.uds = optarg; break;
		case 'b':
			if (parse_num(optarg, 1ull << 40, &n) < 0 || !n)
				goto bad;
			o.bytes = n;
			break;
		case 'w':
			if (parse_num(optarg, 1u << 24, &n) < 0 || !n)
				goto bad;
			o.write_size = (uint32_t)n;
			break;
		case 'x':
			if (parse_num(optarg, 1u << 20, &n) < 0 || n < 64)
				goto bad;
			o.rx_buf = (uint32_t)n;
			break;
		case 'X':
			if (parse_num(optarg, 1ull << 32, &n) < 0 || !n)
				goto bad;
			o.rx_pool = n;
			break;
		case 'q':
			if (parse_num(optarg, 32768, &n) < 0 || n < 4 || (n & (n - 1)))
				goto bad;
			o.queue_size = (unsigned)n;
			break;
		case 'r':
			if (parse_num(optarg, 100000000, &n) < 0 || !n)
				goto bad;
			o.rr = (unsigned)n;
			break;
		case 'm':
			if (parse_num(optarg, 65536, &n) < 0 || !n)
				goto bad;
			o.msg_size = (uint32_t)n;
			break;
		case 'H':
			if (parse_num(optarg, 1000, &n) < 0)
				goto bad;
			o.hold = (unsigned)n;
			break;
		case 'P':
			if (parse_num(optarg, 1u << 30, &n) < 0)
				goto bad;
			o.backend_pid = (int)n;
			break;
		case 'p':
			if (parse_num(optarg, 0xfffffff0u, &n) < 0)
				goto bad;
			o.port = (uint32_t)n;
			break;
		case 's':
			if (parse_num(optarg, 1000000, &n) < 0)
				goto bad;
			o.spin_us = (unsigned)n;
			break;
		case 'a':
			if (parse_num(optarg, 1u << 30, &n) < 0 || n < 4096)
				goto bad;
			o.buf_alloc = (uint32_t)n;
			break;
		case 'c':
			o.credit_61 = true;
			break;
		case 'o':
			o.raw = strstr(optarg, "raw") != NULL;
			o.g2h = strstr(optarg, "g2h") != NULL;
			o.h2g = strstr(optarg, "h2g") != NULL;
			o.do_rr = strstr(optarg, "rr") != NULL;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			goto bad;
		}
	}
	if (optind != argc || !o.socket || !o.uds) {
		fprintf(stderr, PROG ": expected SOCKET, then options with --uds-path\n");
		goto bad_quiet;
	}

	pattern_init();
	vhu_vsock_defaults(&vo, o.socket);
	vo.queue_size = o.queue_size;
	vo.rx_buf_size = o.rx_buf;
	/* The pool, not the ring, sets how much memory rx cycles through:
	 * Linux's is small and stays in cache, and so is ours. */
	vo.rx_bufs = (unsigned)((o.rx_pool + o.rx_buf - 1) / o.rx_buf);
	if (vo.rx_bufs < 2)
		vo.rx_bufs = 2;
	vo.max_pkt = 65536;
	vo.spin_ns = o.spin_us * 1000;
	if (o.buf_alloc)
		vo.buf_alloc = o.buf_alloc;
	vo.credit_61 = o.credit_61;
	r = vhu_vsock_open(&vo, &v, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, PROG ": %s\n", err);
		return 2;
	}
	printf("guest cid: %llu\n", (unsigned long long)vhu_vsock_cid(v));
	printf("bytes: %llu\nwrite size: %u\nrx buffer: %u\nrx buffers posted: %u\n",
	       (unsigned long long)o.bytes, o.write_size, o.rx_buf,
	       vo.rx_bufs < o.queue_size ? vo.rx_bufs : o.queue_size);
	if (o.raw && (r = run_raw(&o, &raw)) == 0)
		printf("raw MiB/s: %.1f\n", raw);
	if (o.g2h) {
		r = run_g2h(&o, v, &g2h);
		if (r == 0) {
			printf("g2h MiB/s: %.1f\n", g2h);
			if (raw > 0)
				printf("g2h ratio: %.2f\n", g2h / raw);
		} else {
			status = 2;
		}
	}
	if (o.h2g) {
		r = run_h2g(&o, v, &h2g);
		if (r == 0) {
			printf("h2g MiB/s: %.1f\n", h2g);
			if (raw > 0)
				printf("h2g ratio: %.2f\n", h2g / raw);
		} else {
			status = 2;
		}
	}
	if (o.do_rr) {
		r = run_rr(&o, v, &m, &p50, &p99);
		if (r == 0 && run_raw_rr(&o, &rm, &r50, &r99) == 0) {
			printf("rr msg size: %u\n", o.msg_size);
			printf("rr vsock us mean/p50/p99: %.1f %.1f %.1f\n", m, p50, p99);
			printf("rr raw us mean/p50/p99: %.1f %.1f %.1f\n", rm, r50, r99);
		} else {
			status = 2;
		}
	}
	if (o.hold && run_hold(&o, v) < 0)
		status = 2;
	{
		const struct vhu_vsock_stats *st = vhu_vsock_stats(v);
		printf("device credit violations: %llu\nbad packets: %llu\n",
		       (unsigned long long)st->credit_violations,
		       (unsigned long long)st->bad_pkts);
		if (st->credit_violations || st->bad_pkts)
			status = 2;
	}
	vhu_vsock_close(v);
	return status;
bad:
	fprintf(stderr, PROG ": bad option or value\n");
bad_quiet:
	fprintf(stderr, "Try 'vhost-user-frontend vsock --help'.\n");
	return 1;
}
