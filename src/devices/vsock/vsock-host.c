/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Host-side sockets of the Unix (hybrid) and AF_VSOCK backends
 * (vsock-host.h).
 */
#include "config.h"
#include "devices/vsock/vsock-host.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

int vsock_uds_connect(const char *uds_path, uint32_t port, int type)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int n, fd, e;

	n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", uds_path, port);
	if (n < 0 || (size_t)n >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* A Unix connect completes at once or fails: it never stays in
	 * progress (EAGAIN means the listener's backlog is full). */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

int vsock_parse_connect(const char *line, size_t len, uint32_t *port)
{
	unsigned long long v = 0;
	size_t i = 8;

	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len < 9 || strncasecmp(line, "connect ", 8))
		return -EINVAL;
	for (; i < len; i++) {
		if (line[i] < '0' || line[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned)(line[i] - '0');
		if (v > 0xffffffffull)
			return -EINVAL;
	}
	*port = (uint32_t)v;
	return 0;
}

int vsock_read_connect(int fd, int type, uint32_t *port)
{
	char buf[VSOCK_CONNECT_LINE_MAX];
	const char *nl;
	ssize_t r;

	if (type == SOCK_SEQPACKET) {
		/* One message is the whole line. */
		do {
			r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);
		} while (r < 0 && errno == EINTR);
		if (r < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? -EAGAIN : -errno;
		if (r == 0)
			return -ECONNRESET;
		if ((size_t)r > sizeof(buf))
			return -EINVAL;
		return vsock_parse_connect(buf, (size_t)r, port);
	}
	do {
		r = recv(fd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? -EAGAIN : -errno;
	if (r == 0)
		return -ECONNRESET;
	nl = memchr(buf, '\n', (size_t)r);
	if (!nl)
		return (size_t)r >= sizeof(buf) ? -EINVAL : -EAGAIN;
	/* Consume exactly the line: what follows is the client's data. */
	r = recv(fd, buf, (size_t)(nl - buf) + 1, MSG_DONTWAIT);
	if (r != nl - buf + 1)
		return r < 0 ? -errno : -EIO;
	return vsock_parse_connect(buf, (size_t)r, port);
}

int vsock_vsock_connect(uint32_t cid, uint32_t port, int type, bool *in_progress)
{
	struct sockaddr_vm sa = {
		.svm_family = AF_VSOCK,
		.svm_cid = cid,
		.svm_port = port,
	};
	int fd, e;

	fd = socket(AF_VSOCK, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	*in_progress = false;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno == EINPROGRESS) {
			*in_progress = true;
			return fd;
		}
		e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

int vsock_vsock_listen(uint32_t port, char *err, size_t errlen)
{
	struct sockaddr_vm sa = {
		.svm_family = AF_VSOCK,
		.svm_cid = VMADDR_CID_ANY,
		.svm_port = port,
	};
	int fd, e;

	fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 128) < 0) {
		e = errno;
		snprintf(err, errlen, "cannot listen on vsock port %u: %s", port, strerror(e));
		if (fd >= 0)
			close(fd);
		return -e;
	}
	return fd;
}
