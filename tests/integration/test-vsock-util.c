/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/* Helpers of the vsock integration tests (test-vsock-util.h). */
#include "config.h"
#include "test-vsock-util.h"
#include "vhu-vsock.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int64_t vt_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double vt_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void vt_sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int vt_backend_start(struct backend *b, const char *const *args,
		     const char *const *wait_for)
{
	const char *argv[64];
	char paths[16][256];
	const char *wait_paths[17];
	const char *extra = getenv("VHD_VSOCK_BACKEND_ARGS");
	unsigned argc = 0, n = 0;

	for (unsigned i = 0; args && args[i] && argc < 62; i++)
		argv[argc++] = args[i];
	/* VHD_VSOCK_BACKEND_ARGS="--log-level=debug": one extra argument. */
	if (extra && *extra)
		argv[argc++] = extra;
	argv[argc] = NULL;
	for (; wait_for && wait_for[n] && n < 16; n++) {
		backend_file(b, wait_for[n], paths[n], sizeof(paths[n]));
		wait_paths[n] = paths[n];
	}
	wait_paths[n] = NULL;
	return backend_spawn(b, "vhost-device-vsock", argv, wait_paths);
}

static int wait_fd(int fd, short events, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	int r;

	do {
		r = poll(&p, 1, timeout_ms);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	return r == 0 ? -ETIMEDOUT : 0;
}

int vt_accept(int lfd, int timeout_ms)
{
	int r = wait_fd(lfd, POLLIN, timeout_ms);

	if (r < 0)
		return r;
	r = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	return r < 0 ? -errno : r;
}

ssize_t vt_write_all(int fd, const void *buf, size_t len, int timeout_ms)
{
	size_t done = 0;

	while (done < len) {
		ssize_t w;
		int r = wait_fd(fd, POLLOUT, timeout_ms);

		if (r < 0)
			return done ? (ssize_t)done : r;
		w = send(fd, (const uint8_t *)buf + done, len - done, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return done ? (ssize_t)done : -errno;
		}
		done += (size_t)w;
	}
	return (ssize_t)done;
}

ssize_t vt_read_all(int fd, void *buf, size_t len, int timeout_ms)
{
	size_t done = 0;

	while (done < len) {
		ssize_t r;
		int e = wait_fd(fd, POLLIN, timeout_ms);

		if (e < 0)
			return done ? (ssize_t)done : e;
		r = recv(fd, (uint8_t *)buf + done, len - done, MSG_DONTWAIT);
		if (r < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return done ? (ssize_t)done : -errno;
		}
		if (r == 0)
			break;
		done += (size_t)r;
	}
	return (ssize_t)done;
}

ssize_t vt_read_line(int fd, char *buf, size_t cap, int timeout_ms)
{
	size_t n = 0;

	while (n + 1 < cap) {
		ssize_t r = vt_read_all(fd, buf + n, 1, timeout_ms);
		if (r < 0)
			return r;
		if (r == 0)
			break;
		if (buf[n++] == '\n')
			break;
	}
	buf[n] = 0;
	return (ssize_t)n;
}

int vt_hybrid_connect(const char *uds_path, uint32_t port, uint32_t *host_port,
		      int timeout_ms)
{
	char line[64];
	unsigned long v;
	char *end;
	int fd = vhu_unix_connect(uds_path, SOCK_STREAM);
	ssize_t r;

	if (fd < 0)
		return fd;
	snprintf(line, sizeof(line), "CONNECT %u\n", port);
	if (vt_write_all(fd, line, strlen(line), timeout_ms) != (ssize_t)strlen(line)) {
		close(fd);
		return -EIO;
	}
	r = vt_read_line(fd, line, sizeof(line), timeout_ms);
	if (r <= 0 || strncmp(line, "OK ", 3)) {
		close(fd);
		return r < 0 ? (int)r : -ECONNRESET;
	}
	v = strtoul(line + 3, &end, 10);
	if (*end != '\n') {
		close(fd);
		return -EPROTO;
	}
	if (host_port)
		*host_port = (uint32_t)v;
	return fd;
}

void vt_stream_init(struct vt_stream *s, uint64_t seed)
{
	s->state = seed * 0x9e3779b97f4a7c15ull + 1;
	s->pos = 0;
}

void vt_stream_fill(struct vt_stream *s, uint8_t *buf, size_t len)
{
	/* Byte i of the stream depends only on (seed, i): 8-byte words of
	 * a xorshift sequence, so any chunking gives the same bytes. */
	for (size_t i = 0; i < len; i++) {
		if ((s->pos & 7) == 0) {
			uint64_t x = s->state;
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			s->state = x;
		}
		buf[i] = (uint8_t)(s->state >> (8 * (s->pos & 7)));
		s->pos++;
	}
}

uint64_t vt_fnv(uint64_t h, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

uint64_t vt_stream_sum(uint64_t seed, uint64_t len)
{
	struct vt_stream s;
	uint8_t buf[65536];
	uint64_t h = VT_FNV_INIT;

	vt_stream_init(&s, seed);
	while (len) {
		size_t n = len < sizeof(buf) ? (size_t)len : sizeof(buf);
		vt_stream_fill(&s, buf, n);
		h = vt_fnv(h, buf, n);
		len -= n;
	}
	return h;
}

int vt_sock_recv_all(int fd, uint64_t *got, uint64_t *sum)
{
	uint8_t buf[65536];

	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		*sum = vt_fnv(*sum, buf, (size_t)n);
		*got += (uint64_t)n;
	}
}

ssize_t vt_guest_recv_all(struct vhu_vsock_conn *c, int timeout_ms, uint64_t *got,
			  uint64_t *sum)
{
	uint8_t buf[65536];
	ssize_t n;

	while ((n = vhu_vsock_recv(c, buf, sizeof(buf), timeout_ms, NULL, NULL)) > 0) {
		*sum = vt_fnv(*sum, buf, (size_t)n);
		*got += (uint64_t)n;
	}
	return n;
}
