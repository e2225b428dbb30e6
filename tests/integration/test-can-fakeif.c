/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * LD_PRELOAD shim: fake CAN interfaces for vhost-device-can on a host
 * without SocketCAN (the build machines have no PF_CAN at all), faked at
 * the system-call layer only, so the backend's own code runs unchanged.
 *
 *  - "fakecanN" (N = 0..9) are CAN interfaces: SIOCGIFHWADDR says
 *    ARPHRD_CAN, SIOCGIFFLAGS says up, if_nametoindex gives 1000 + N;
 *  - socket(PF_CAN, SOCK_RAW, CAN_RAW) gives an AF_UNIX SOCK_SEQPACKET
 *    socket (frame boundaries kept), its SOL_CAN_RAW options are accepted
 *    and ignored, and bind() to fakecanN connects it to the Unix socket
 *    $VHD_FAKECAN_BUS/fakecanN, where the test plays the rest of the bus
 *    (it reads the frames the backend writes and writes frames for it).
 *    Without VHD_FAKECAN_BUS, or with nobody listening, bind fails
 *    (ECONNREFUSED), as START then must.
 * Not faked: MSG_CONFIRM, error frames, interfaces going down; those are
 * tested on vcan in the guest (tests/vm/can-vcan.test).  Every other call
 * goes to the C library.
 *
 * The backend's sandbox (docs/security.md) allows what a real CAN socket
 * needs, and bind() here is a connect(2) the real device never makes: the
 * shim adds that one call to the filter itself, by wrapping libseccomp's
 * seccomp_load(), so the backend's own list stays what production runs.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <linux/can.h>
#include <linux/can/raw.h>

#define FAKE_BASE 1000
#define MAX_FD 4096

static bool fake_fd[MAX_FD];

static int fake_index(const char *name)
{
	if (strncmp(name, "fakecan", 7) || name[7] < '0' || name[7] > '9' || name[8])
		return 0;
	return FAKE_BASE + name[7] - '0';
}

/* The next definition of fn (the C library's, or a sanitizer's). */
#define REAL(fn) \
	static __typeof__(fn) *real; \
	if (!real) \
		real = (__typeof__(fn) *)dlsym(RTLD_NEXT, #fn)

int ioctl(int fd, unsigned long req, ...)
{
	REAL(ioctl);
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if ((req == SIOCGIFHWADDR || req == SIOCGIFFLAGS) && arg &&
	    fake_index(((struct ifreq *)arg)->ifr_name)) {
		struct ifreq *ifr = arg;

		if (req == SIOCGIFHWADDR) {
			memset(&ifr->ifr_hwaddr, 0, sizeof(ifr->ifr_hwaddr));
			ifr->ifr_hwaddr.sa_family = ARPHRD_CAN;
		} else {
			ifr->ifr_flags = IFF_UP | IFF_RUNNING | IFF_NOARP;
		}
		return 0;
	}
	return real(fd, req, arg);
}

unsigned int if_nametoindex(const char *name)
{
	REAL(if_nametoindex);
	int i = fake_index(name);

	return i ? (unsigned int)i : real(name);
}

int socket(int domain, int type, int protocol)
{
	REAL(socket);
	int fd;

	if (domain != PF_CAN)
		return real(domain, type, protocol);
	if ((type & 0xf) != SOCK_RAW || protocol != CAN_RAW) {
		errno = EPROTONOSUPPORT;
		return -1;
	}
	fd = real(AF_UNIX, SOCK_SEQPACKET | (type & (SOCK_NONBLOCK | SOCK_CLOEXEC)), 0);
	if (fd >= 0 && fd < MAX_FD)
		fake_fd[fd] = true;
	return fd;
}

int close(int fd)
{
	REAL(close);

	if (fd >= 0 && fd < MAX_FD)
		fake_fd[fd] = false;
	return real(fd);
}

int setsockopt(int fd, int level, int name, const void *v, socklen_t len)
{
	REAL(setsockopt);

	if (fd >= 0 && fd < MAX_FD && fake_fd[fd] && level == SOL_CAN_RAW)
		return 0;
	return real(fd, level, name, v, len);
}

int bind(int fd, const struct sockaddr *a, socklen_t len)
{
	REAL(bind);
	static __typeof__(connect) *real_connect;
	const struct sockaddr_can *ca = (const struct sockaddr_can *)a;
	const char *bus = getenv("VHD_FAKECAN_BUS");
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	int r, saved;

	if (fd < 0 || fd >= MAX_FD || !fake_fd[fd] || a->sa_family != AF_CAN)
		return real(fd, a, len);
	if (!real_connect)
		real_connect = (__typeof__(connect) *)dlsym(RTLD_NEXT, "connect");
	if (!bus || ca->can_ifindex < FAKE_BASE || ca->can_ifindex > FAKE_BASE + 9) {
		errno = ENODEV;
		return -1;
	}
	snprintf(un.sun_path, sizeof(un.sun_path), "%s/fakecan%d", bus,
		 ca->can_ifindex - FAKE_BASE);
	/* A non-blocking SEQPACKET connect to a listening socket completes at
	 * once (or fails): no EINPROGRESS for Unix sockets. */
	r = real_connect(fd, (struct sockaddr *)&un, sizeof(un));
	saved = errno;
	if (r < 0 && (saved == ENOENT || saved == ECONNREFUSED))
		saved = ECONNREFUSED;
	errno = saved;
	return r;
}

/* The sandbox's filter, just before it is loaded: add connect(2), which
 * bind() above makes (libseccomp's API, found at run time: the shim links
 * only the C library). */
typedef void *vhd_scmp_ctx;
int seccomp_load(vhd_scmp_ctx ctx);
int seccomp_load(vhd_scmp_ctx ctx)
{
	static int (*real_load)(vhd_scmp_ctx);
	static int (*rule_add)(vhd_scmp_ctx, uint32_t, int, unsigned, ...);

	if (!real_load)
		real_load = (int (*)(vhd_scmp_ctx))dlsym(RTLD_NEXT, "seccomp_load");
	if (!rule_add)
		rule_add = (int (*)(vhd_scmp_ctx, uint32_t, int, unsigned, ...))
			dlsym(RTLD_NEXT, "seccomp_rule_add");
	if (!real_load || !rule_add) {
		errno = ENOSYS;
		return -ENOSYS;
	}
	/* SCMP_ACT_ALLOW of <seccomp.h> */
	if (rule_add(ctx, 0x7fff0000U, SYS_connect, 0) < 0)
		return -EINVAL;
	return real_load(ctx);
}
