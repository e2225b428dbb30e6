/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Tests: probes of what the system the tests run on can do, for tests
 * that must skip (saying why) where it cannot.  Header-only.
 */
#ifndef VHD_TESTS_CTRUNC_PROBE_H
#define VHD_TESTS_CTRUNC_PROBE_H

#include <stdbool.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

/* Does this system's recvmsg report MSG_CTRUNC when the fds sent do not
 * fit the receiver's control buffer (and close the ones that did not
 * fit)?  Linux does; QEMU's user-mode emulation, under which the arm64
 * pass runs the tests (docs/testing.md), does not: it hands over what
 * fits without the flag and leaves the rest open in the process.  A test
 * of the backend's reaction to a cut skips where it cannot be cut. */
static inline bool tests_ctrunc_reported(void)
{
	int sv[2], fds[4];
	char byte = 0;
	union {
		char buf[CMSG_SPACE(sizeof(fds))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { &byte, 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	bool reported = false;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return true;    /* cannot tell: let the test itself run */
	for (int i = 0; i < 4; i++)
		fds[i] = eventfd(0, EFD_CLOEXEC);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(c), fds, sizeof(fds));
	if (sendmsg(sv[0], &mh, 0) == 1) {
		/* Room for one fd of the four (CMSG_SPACE rounds up to 8
		 * bytes: two fit). */
		mh.msg_controllen = CMSG_SPACE(sizeof(int));
		if (recvmsg(sv[1], &mh, MSG_CMSG_CLOEXEC) == 1) {
			reported = mh.msg_flags & MSG_CTRUNC;
			for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
				if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
					continue;
				for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
					int fd;

					memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
					close(fd);
				}
			}
		} else {
			reported = true;
		}
	} else {
		reported = true;
	}
	for (int i = 0; i < 4; i++)
		close(fds[i]);
	close(sv[0]);
	close(sv[1]);
	return reported;
}

#endif
