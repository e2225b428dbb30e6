/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * The simulated chip (-l sN): N lines named "sim-0".."sim-<N-1>", each
 * with a direction, an output value and an external level (the "pull",
 * low at start) that a line configured as input reads.  A change of the
 * pull on an input line with edge detection is an edge, reported through
 * the line's eventfd as a host chip reports it through its line request
 * fd.
 *
 * Control socket (docs/gpio.md, "Simulated chips"): with --sim-socket,
 * chip i listens on PATH<i> (SOCK_STREAM); one client at a time sends
 * text lines and gets one line back for each:
 *   set LINE 0|1   drive the pull of LINE          -> "ok"
 *   get LINE       the level on the pin (the output value of an output
 *                  line, else the pull)            -> "0" or "1"
 *   mode LINE      what the guest made of LINE     -> none|in|out|edges
 *   lines          the number of lines             -> "N"
 * or "error <why>".  A thread per chip serves it (not per line); the
 * state it shares with the device's thread is under the chip's lock.
 */
#include "config.h"
#include "vhost-device.h"
#include "gpio-chip.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

struct sim_line {
	enum gpio_mode mode;
	int out;
	int pull;
	unsigned rising, falling;
	int efd;                /* in GPIO_MODE_IN_EDGES, else -1 */
};

struct sim_chip {
	pthread_mutex_t lock;
	struct sim_line *lines;
	unsigned n;
	int listen_fd, stop_fd;
	bool thread_running;
	pthread_t thread;
	char *path;
};

static int level(const struct sim_line *l)
{
	return l->mode == GPIO_MODE_OUT ? l->out : l->pull;
}

static int sim_configure(struct gpio_chip *c, unsigned line, enum gpio_mode mode, int value)
{
	struct sim_chip *s = c->impl;
	struct sim_line *l = &s->lines[line];
	int r = 0;

	pthread_mutex_lock(&s->lock);
	if (mode == GPIO_MODE_IN_EDGES && l->efd < 0) {
		l->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (l->efd < 0)
			r = -errno;
	} else if (mode != GPIO_MODE_IN_EDGES && l->efd >= 0) {
		close(l->efd);
		l->efd = -1;
	}
	if (r == 0) {
		l->mode = mode;
		l->rising = l->falling = 0;
		if (mode == GPIO_MODE_OUT)
			l->out = value;
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}

static int sim_get_value(struct gpio_chip *c, unsigned line)
{
	struct sim_chip *s = c->impl;
	int v;

	pthread_mutex_lock(&s->lock);
	v = level(&s->lines[line]);
	pthread_mutex_unlock(&s->lock);
	return v;
}

static int sim_set_value(struct gpio_chip *c, unsigned line, int value)
{
	struct sim_chip *s = c->impl;

	pthread_mutex_lock(&s->lock);
	s->lines[line].out = value;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static int sim_event_fd(struct gpio_chip *c, unsigned line)
{
	struct sim_chip *s = c->impl;
	int fd;

	pthread_mutex_lock(&s->lock);
	fd = s->lines[line].efd;
	pthread_mutex_unlock(&s->lock);
	return fd;
}

static int sim_read_events(struct gpio_chip *c, unsigned line, unsigned *rising,
			   unsigned *falling)
{
	struct sim_chip *s = c->impl;
	struct sim_line *l = &s->lines[line];
	uint64_t v;

	pthread_mutex_lock(&s->lock);
	if (l->efd >= 0 && read(l->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		LOG_WARN("simulated chip: line %u: eventfd read: %s", line, strerror(errno));
	*rising = l->rising;
	*falling = l->falling;
	l->rising = l->falling = 0;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

/* The control socket's "set": an edge for an input line watching edges. */
static void sim_drive(struct sim_chip *s, unsigned line, int v)
{
	struct sim_line *l = &s->lines[line];
	int before;
	uint64_t one = 1;

	pthread_mutex_lock(&s->lock);
	before = level(l);
	l->pull = v;
	if (l->mode == GPIO_MODE_IN_EDGES && before != v) {
		if (v)
			l->rising++;
		else
			l->falling++;
		if (write(l->efd, &one, sizeof(one)) < 0)
			LOG_WARN("simulated chip: line %u: eventfd write: %s", line, strerror(errno));
	}
	pthread_mutex_unlock(&s->lock);
}

void gpio_sim_drive(struct gpio_chip *c, unsigned line, int v)
{
	sim_drive(c->impl, line, v);
}

static const char *const mode_names[] = {
	[GPIO_MODE_NONE] = "none", [GPIO_MODE_IN] = "in",
	[GPIO_MODE_OUT] = "out", [GPIO_MODE_IN_EDGES] = "edges",
};

static bool parse_line(struct sim_chip *s, const char *arg, unsigned *line)
{
	unsigned long long v;

	if (vhd_parse_u64(arg, 0, s->n - 1, &v) < 0)
		return false;
	*line = (unsigned)v;
	return true;
}

/* One command line (NUL-terminated, no newline); the answer into out. */
static void sim_command(struct sim_chip *s, char *cmd, char *out, size_t outlen)
{
	char *save = NULL;
	char *verb = strtok_r(cmd, " \t", &save);
	char *a1 = verb ? strtok_r(NULL, " \t", &save) : NULL;
	char *a2 = a1 ? strtok_r(NULL, " \t", &save) : NULL;
	char *extra = a2 ? strtok_r(NULL, " \t", &save) : NULL;
	unsigned line;
	unsigned long long v;

	if (!verb) {
		snprintf(out, outlen, "error empty command\n");
	} else if (!strcmp(verb, "lines") && !a1) {
		snprintf(out, outlen, "%u\n", s->n);
	} else if (!strcmp(verb, "set") && a1 && a2 && !extra) {
		if (!parse_line(s, a1, &line) || vhd_parse_u64(a2, 0, 1, &v) < 0) {
			snprintf(out, outlen, "error usage: set LINE 0|1 (LINE < %u)\n", s->n);
			return;
		}
		sim_drive(s, line, (int)v);
		snprintf(out, outlen, "ok\n");
	} else if ((!strcmp(verb, "get") || !strcmp(verb, "mode")) && a1 && !a2) {
		if (!parse_line(s, a1, &line)) {
			snprintf(out, outlen, "error no line '%s' (lines 0..%u)\n", a1, s->n - 1);
			return;
		}
		pthread_mutex_lock(&s->lock);
		if (verb[0] == 'g')
			snprintf(out, outlen, "%d\n", level(&s->lines[line]));
		else
			snprintf(out, outlen, "%s\n", mode_names[s->lines[line].mode]);
		pthread_mutex_unlock(&s->lock);
	} else {
		snprintf(out, outlen, "error unknown command (set LINE 0|1, get LINE, mode LINE, lines)\n");
	}
}

/* Serve one client until it closes or the chip stops; false on stop. */
static bool sim_serve_client(struct sim_chip *s, int fd)
{
	char buf[256], out[128];
	size_t have = 0;

	for (;;) {
		struct pollfd p[2] = { { fd, POLLIN, 0 }, { s->stop_fd, POLLIN, 0 } };
		ssize_t n;
		char *nl;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return false;
		}
		if (p[1].revents)
			return false;
		n = read(fd, buf + have, sizeof(buf) - 1 - have);
		if (n <= 0)
			return true;
		have += (size_t)n;
		buf[have] = 0;
		while ((nl = memchr(buf, '\n', have))) {
			size_t len = (size_t)(nl - buf) + 1;

			*nl = 0;
			if (nl > buf && nl[-1] == '\r')
				nl[-1] = 0;
			sim_command(s, buf, out, sizeof(out));
			if (send(fd, out, strlen(out), MSG_NOSIGNAL) < 0)
				return true;
			memmove(buf, buf + len, have - len);
			have -= len;
		}
		if (have == sizeof(buf) - 1) {
			/* A line longer than any command: not a client of ours. */
			(void)!send(fd, "error line too long\n", 20, MSG_NOSIGNAL);
			return true;
		}
	}
}

static void *sim_control_thread(void *opaque)
{
	struct sim_chip *s = opaque;

	for (;;) {
		struct pollfd p[2] = { { s->listen_fd, POLLIN, 0 }, { s->stop_fd, POLLIN, 0 } };
		int fd;
		bool go_on;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			LOG_ERR("simulated chip %s: poll: %s", s->path, strerror(errno));
			return NULL;
		}
		if (p[1].revents)
			return NULL;
		fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		go_on = sim_serve_client(s, fd);
		close(fd);
		if (!go_on)
			return NULL;
	}
}

static void sim_close(struct gpio_chip *c)
{
	struct sim_chip *s = c->impl;
	uint64_t one = 1;

	if (!s)
		return;
	if (s->thread_running) {
		if (write(s->stop_fd, &one, sizeof(one)) < 0)
			LOG_WARN("simulated chip %s: cannot stop: %s", s->path, strerror(errno));
		pthread_join(s->thread, NULL);
	}
	if (s->listen_fd >= 0) {
		close(s->listen_fd);
		unlink(s->path);
	}
	if (s->stop_fd >= 0)
		close(s->stop_fd);
	for (unsigned i = 0; s->lines && i < s->n; i++)
		if (s->lines[i].efd >= 0)
			close(s->lines[i].efd);
	free(s->lines);
	free(s->path);
	pthread_mutex_destroy(&s->lock);
	free(s);
	c->impl = NULL;
}

static const struct gpio_chip_ops sim_ops = {
	.configure = sim_configure,
	.get_value = sim_get_value,
	.set_value = sim_set_value,
	.event_fd = sim_event_fd,
	.read_events = sim_read_events,
	.close = sim_close,
};

static int sim_start_control(struct sim_chip *s, const char *path, char *err, size_t errlen)
{
	char why[256];
	int r;

	s->path = strdup(path);
	if (!s->path)
		return -ENOMEM;
	s->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (s->stop_fd < 0) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		return -errno;
	}
	r = vhd_unix_listen(path, SOCK_STREAM, 4, why, sizeof(why));
	if (r < 0) {
		snprintf(err, errlen, "control socket %s: %s", path, why);
		return r;
	}
	s->listen_fd = r;
	/* Made at start-up (check_options): under --user the tests and users
	 * driving the lines run as that user too (vhost-device.h). */
	if (vhd_startup_path(path) < 0) {
		snprintf(err, errlen, "control socket %s: cannot record it for --user/--group", path);
		return -ENOMEM;
	}
	r = pthread_create(&s->thread, NULL, sim_control_thread, s);
	if (r) {
		snprintf(err, errlen, "control thread: %s", strerror(r));
		return -r;
	}
	s->thread_running = true;
	return 0;
}

int gpio_sim_open(unsigned n, const char *control, struct gpio_chip **out,
		  char *err, size_t errlen)
{
	struct gpio_chip *c = calloc(1, sizeof(*c));
	struct sim_chip *s = calloc(1, sizeof(*s));
	int r = -ENOMEM;

	if (!c || !s) {
		free(c);
		free(s);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	pthread_mutex_init(&s->lock, NULL);
	s->n = n;
	s->listen_fd = s->stop_fd = -1;
	c->ops = &sim_ops;
	c->impl = s;
	c->nlines = n;
	snprintf(c->desc, sizeof(c->desc), "simulated chip of %u lines", n);
	s->lines = calloc(n, sizeof(*s->lines));
	if (!s->lines || gpio_chip_alloc_names(c) < 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (unsigned i = 0; i < n; i++) {
		char name[32];

		s->lines[i].efd = -1;
		snprintf(name, sizeof(name), "sim-%u", i);
		free(c->names[i]);
		c->names[i] = strdup(name);
		if (!c->names[i]) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
	}
	if (control && (r = sim_start_control(s, control, err, errlen)) < 0)
		goto fail;
	*out = c;
	return 0;
fail:
	gpio_chip_close(c);
	return r;
}
