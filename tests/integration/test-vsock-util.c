/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/* Helpers of the vsock integration tests (test-vsock-util.h). */
#include "config.h"
#include "test-vsock-util.h"

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
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_RUNNING 8

static pid_t running[MAX_RUNNING];
static bool atexit_set;

static void kill_all(void)
{
	for (unsigned i = 0; i < MAX_RUNNING; i++)
		if (running[i] > 0) {
			kill(running[i], SIGKILL);
			waitpid(running[i], NULL, 0);
			running[i] = 0;
		}
}

static void track(pid_t pid, bool add)
{
	for (unsigned i = 0; i < MAX_RUNNING; i++) {
		if (add && running[i] == 0) {
			running[i] = pid;
			return;
		}
		if (!add && running[i] == pid) {
			running[i] = 0;
			return;
		}
	}
}

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

int vt_backend_init(struct vt_backend *b)
{
	memset(b, 0, sizeof(*b));
	b->pid = -1;
	snprintf(b->dir, sizeof(b->dir), "/tmp/vhd-vsock-XXXXXX");
	if (!mkdtemp(b->dir))
		return -errno;
	snprintf(b->log, sizeof(b->log), "%s/backend.log", b->dir);
	return 0;
}

void vt_path(const struct vt_backend *b, const char *name, char *out, size_t len)
{
	snprintf(out, len, "%s/%s", b->dir, name);
}

bool vt_backend_alive(const struct vt_backend *b)
{
	return b->pid > 0 && waitpid(b->pid, NULL, WNOHANG) == 0;
}

int vt_backend_start(struct vt_backend *b, const char *const *args,
		     const char *const *wait_for)
{
	const char *builddir = getenv("VHD_BUILDDIR");
	const char *argv[64];
	unsigned argc = 0;
	pid_t parent = getpid();
	char prog[512];

	if (!builddir)
		builddir = VHD_BUILDDIR;
	snprintf(prog, sizeof(prog), "%s/vhost-device-vsock", builddir);
	argv[argc++] = prog;
	for (unsigned i = 0; args && args[i] && argc < 62; i++)
		argv[argc++] = args[i];
	/* VHD_VSOCK_BACKEND_ARGS="--log-level debug": one extra argument. */
	if (getenv("VHD_VSOCK_BACKEND_ARGS") && *getenv("VHD_VSOCK_BACKEND_ARGS"))
		argv[argc++] = getenv("VHD_VSOCK_BACKEND_ARGS");
	argv[argc] = NULL;
	if (!atexit_set) {
		atexit(kill_all);
		atexit_set = true;
	}
	fflush(NULL);
	b->pid = fork();
	if (b->pid < 0)
		return -errno;
	if (b->pid == 0) {
		int fd = open(b->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		if (fd >= 0)
			dup2(fd, STDERR_FILENO);
		fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (fd >= 0) {
			dup2(fd, STDIN_FILENO);
			dup2(fd, STDOUT_FILENO);
		}
		execv(prog, (char *const *)argv);
		_exit(127);
	}
	track(b->pid, true);
	for (unsigned waited = 0;; waited += 5) {
		bool all = true;

		for (unsigned i = 0; wait_for && wait_for[i]; i++) {
			char p[256];
			struct stat st;

			vt_path(b, wait_for[i], p, sizeof(p));
			if (stat(p, &st) < 0)
				all = false;
		}
		if (all)
			return 0;
		if (!vt_backend_alive(b)) {
			fprintf(stderr, "vsock test: %s exited before creating its sockets\n", prog);
			b->pid = -1;
			vt_backend_stop(b);
			return -ECHILD;
		}
		if (waited >= 5000) {
			fprintf(stderr, "vsock test: %s created its sockets not within 5 s\n", prog);
			vt_backend_stop(b);
			return -ETIMEDOUT;
		}
		vt_sleep_ms(5);
	}
}

static void dump_log(const struct vt_backend *b)
{
	char line[1024];
	FILE *f = fopen(b->log, "r");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		fprintf(stderr, "[backend %d] %s%s", (int)b->pid, line,
			strchr(line, '\n') ? "" : "\n");
	fclose(f);
}

static void remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		char p[512];

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		unlink(p);
	}
	closedir(d);
	rmdir(dir);
}

int vt_backend_stop(struct vt_backend *b)
{
	int status = 0, ret = -1;

	if (b->pid > 0) {
		kill(b->pid, SIGTERM);
		for (unsigned waited = 0;; waited += 10) {
			pid_t r = waitpid(b->pid, &status, WNOHANG);
			if (r == b->pid) {
				ret = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
				break;
			}
			if (waited >= 5000) {
				kill(b->pid, SIGKILL);
				waitpid(b->pid, &status, 0);
				ret = -1;
				break;
			}
			vt_sleep_ms(10);
		}
		track(b->pid, false);
		/* VHD_VSOCK_TEST_LOG=1: show the backend's log even when it
		 * ended well. */
		if (ret != 0 || (getenv("VHD_VSOCK_TEST_LOG") && !strcmp(getenv("VHD_VSOCK_TEST_LOG"), "1")))
			dump_log(b);
	}
	b->pid = -1;
	if (b->dir[0])
		remove_dir(b->dir);
	b->dir[0] = 0;
	return ret;
}

long vt_rss_kib(pid_t pid)
{
	char p[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(p, sizeof(p), "/proc/%d/status", (int)pid);
	f = fopen(p, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "RssAnon: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

int vt_fd_count(pid_t pid)
{
	char p[64];
	DIR *d;
	struct dirent *e;
	int n = 0;

	snprintf(p, sizeof(p), "/proc/%d/fd", (int)pid);
	d = opendir(p);
	if (!d)
		return -errno;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

int vt_listen(const char *path, int type)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 128) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	return fd;
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

int vt_connect(const char *path, int type)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	return fd;
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
	int fd = vt_connect(uds_path, SOCK_STREAM);
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
