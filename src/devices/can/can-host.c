/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/* SocketCAN interfaces and raw sockets (promises in can-host.h). */
#include "config.h"
#include "vhost-device.h"
#include "can-host.h"

#include <errno.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/can.h>
#include <linux/can/error.h>
#include <linux/can/raw.h>

/* Interface ioctls work on any socket; AF_UNIX exists everywhere (the
 * host may have no PF_CAN at all). */
static int if_ioctl(unsigned long req, const char *name, struct ifreq *ifr)
{
	int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0), r = 0;

	if (s < 0)
		return -errno;
	memset(ifr, 0, sizeof(*ifr));
	snprintf(ifr->ifr_name, sizeof(ifr->ifr_name), "%s", name);
	if (ioctl(s, req, ifr) < 0)
		r = -errno;
	close(s);
	return r;
}

int can_if_check(const char *name, bool *up, char *err, size_t errlen)
{
	struct ifreq ifr;
	int r;

	if (!*name || strlen(name) >= CAN_IFNAME_MAX || strchr(name, '/') || strchr(name, ':')) {
		snprintf(err, errlen, "'%s' is not a network interface name", name);
		return -EINVAL;
	}
	r = if_ioctl(SIOCGIFHWADDR, name, &ifr);
	if (r == -ENODEV) {
		snprintf(err, errlen, "no network interface '%s' (create it first, e.g. "
			 "'ip link add dev %s type vcan')", name, name);
		return r;
	}
	if (r < 0) {
		snprintf(err, errlen, "interface '%s': %s", name, strerror(-r));
		return r;
	}
	if (ifr.ifr_hwaddr.sa_family != ARPHRD_CAN) {
		snprintf(err, errlen, "'%s' is not a CAN interface (link type %u, CAN is %u)",
			 name, (unsigned)ifr.ifr_hwaddr.sa_family, (unsigned)ARPHRD_CAN);
		return -EPROTOTYPE;
	}
	r = if_ioctl(SIOCGIFFLAGS, name, &ifr);
	if (r < 0) {
		snprintf(err, errlen, "interface '%s': %s", name, strerror(-r));
		return r;
	}
	*up = ifr.ifr_flags & IFF_UP;
	return 0;
}

static int sockopt(int fd, int opt, const void *v, socklen_t len, const char *what,
		   char *err, size_t errlen)
{
	if (setsockopt(fd, SOL_CAN_RAW, opt, v, len) == 0)
		return 0;
	snprintf(err, errlen, "setting %s: %s", what, strerror(errno));
	return -errno;
}

int can_sock_open(const char *name, bool fd_frames, bool recv_own, int *out,
		  char *err, size_t errlen)
{
	struct sockaddr_can addr = { .can_family = AF_CAN };
	/* Bus-off (and controller restarts) as error frames: a real
	 * controller's unsolicited stop (virtio "BusOff Indication"). */
	can_err_mask_t errs = CAN_ERR_BUSOFF;
	int on = 1, own = recv_own, fd, r;
	bool up;

	r = can_if_check(name, &up, err, errlen);
	if (r < 0)
		return r;
	if (!up) {
		snprintf(err, errlen, "interface '%s' is down", name);
		return -ENETDOWN;
	}
	fd = socket(PF_CAN, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, CAN_RAW);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "CAN_RAW socket: %s%s", strerror(errno),
			 errno == EAFNOSUPPORT ? " (no SocketCAN: load can-raw)" : "");
		return r;
	}
	addr.can_ifindex = (int)if_nametoindex(name);
	/* Our own frames come back only with recv_own, flagged MSG_CONFIRM:
	 * the tx confirmation of VIRTIO_CAN_F_LATE_TX_ACK; they are never
	 * given to the guest.  Frames of other sockets on this host (the
	 * interface's local loopback) are bus traffic and are. */
	r = sockopt(fd, CAN_RAW_RECV_OWN_MSGS, &own, sizeof(own), "CAN_RAW_RECV_OWN_MSGS",
		    err, errlen);
	if (r == 0 && fd_frames)
		r = sockopt(fd, CAN_RAW_FD_FRAMES, &on, sizeof(on), "CAN_RAW_FD_FRAMES",
			    err, errlen);
	if (r == 0)
		r = sockopt(fd, CAN_RAW_ERR_FILTER, &errs, sizeof(errs), "CAN_RAW_ERR_FILTER",
			    err, errlen);
	if (r == 0 && (addr.can_ifindex == 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)) {
		r = -errno;
		snprintf(err, errlen, "binding to '%s': %s", name, strerror(errno));
	}
	if (r < 0) {
		close(fd);
		return r;
	}
	*out = fd;
	return 0;
}
