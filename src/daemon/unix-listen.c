/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/* Listening on a Unix socket path (vhd_unix_listen in vhost-device.h). */
#include "config.h"
#include "vhost-device.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

int vhd_unix_listen(const char *path, int type, int backlog, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX }, tmp = { .sun_family = AF_UNIX };
	struct sockaddr_un *bound = &sa;
	struct stat st;
	int fd, e;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "%s: path too long for a Unix socket (%zu bytes allowed)",
			 path, sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (lstat(path, &st) == 0) {
		int probe;

		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "%s exists and is not a socket; remove it or choose another path",
				 path);
			return -EEXIST;
		}
		probe = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
		if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(probe);
			snprintf(err, errlen, "%s is in use by another process", path);
			return -EADDRINUSE;
		}
		if (probe >= 0)
			close(probe);
		unlink(path);           /* stale: nobody accepts */
	}
	/* The path appears only once the socket listens: between bind() and
	 * listen() a connect() to it is refused, and frontends (QEMU, libvirt,
	 * our tests) take the path's appearance as "ready".  So bind a
	 * private name next to it, listen, and rename() into place (atomic;
	 * a Unix socket is reached through its inode).  A path too long for
	 * the extra suffix is bound directly. */
	if (snprintf(tmp.sun_path, sizeof(tmp.sun_path), "%s.%ld.tmp", path, (long)getpid()) <
	    (int)sizeof(tmp.sun_path))
		bound = &tmp;
	fd = socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd >= 0 && bound == &tmp)
		unlink(tmp.sun_path);
	if (fd < 0 || bind(fd, (struct sockaddr *)bound, sizeof(*bound)) < 0 ||
	    listen(fd, backlog) < 0 ||
	    (bound == &tmp && rename(tmp.sun_path, path) < 0)) {
		e = errno;
		snprintf(err, errlen, "cannot listen on %s: %s", path, strerror(e));
		if (fd >= 0) {
			if (bound == &tmp)
				unlink(tmp.sun_path);
			close(fd);
		}
		return -e;
	}
	return fd;
}
