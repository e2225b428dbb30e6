/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/* Host-side sockets and memory figures of test runs (vhu-host.h). */
#include "config.h"
#include "vhu-host.h"

#include <errno.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int unix_addr(struct sockaddr_un *sa, const char *path)
{
	int n = snprintf(sa->sun_path, sizeof(sa->sun_path), "%s", path);

	sa->sun_family = AF_UNIX;
	return n < 0 || (size_t)n >= sizeof(sa->sun_path) ? -ENAMETOOLONG : 0;
}

int vhu_unix_listen(const char *path, int type, int backlog)
{
	struct sockaddr_un sa;
	int fd, r = unix_addr(&sa, path);

	if (r < 0)
		return r;
	fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, backlog) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

int vhu_unix_connect(const char *path, int type)
{
	struct sockaddr_un sa;
	int fd, r = unix_addr(&sa, path);

	if (r < 0)
		return r;
	fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

long vhu_rss_anon_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "RssAnon: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}
