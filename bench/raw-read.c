/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * raw-read FILE BUF_SIZE SECONDS: read FILE with read(2) calls of
 * BUF_SIZE bytes for SECONDS seconds and print "bytes SECONDS_MEASURED".
 * The baseline bench-rng.sh puts beside the vhost-user figure: the same
 * source, buffer size and duration, without vhost-user in between.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	unsigned long long total = 0, reads = 0;
	double start, end, t;
	size_t size;
	char *buf, *e;
	int fd;

	if (argc != 4) {
		fprintf(stderr, "usage: raw-read FILE BUF_SIZE SECONDS\n");
		return 1;
	}
	size = strtoul(argv[2], &e, 10);
	if (*e || size == 0 || size > (64u << 20)) {
		fprintf(stderr, "raw-read: bad buffer size '%s'\n", argv[2]);
		return 1;
	}
	t = strtod(argv[3], &e);
	if (*e || !(t > 0)) {
		fprintf(stderr, "raw-read: bad duration '%s'\n", argv[3]);
		return 1;
	}
	fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	buf = malloc(size);
	if (fd < 0 || !buf) {
		fprintf(stderr, "raw-read: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	start = now();
	end = start + t;
	for (;;) {
		ssize_t r = read(fd, buf, size);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			fprintf(stderr, "raw-read: %s: %s\n", argv[1], r ? strerror(errno) : "end of file");
			return 1;
		}
		total += (unsigned long long)r;
		/* Check the clock every so often, as the frontend does. */
		if (++reads % 64 == 0 && now() >= end)
			break;
	}
	printf("%llu %.6f\n", total, now() - start);
	free(buf);
	close(fd);
	return 0;
}
