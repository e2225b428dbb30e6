/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * The host side of vhost-device-can: SocketCAN network interfaces
 * (Documentation/networking/can.rst) and the raw socket a started
 * controller uses.
 *
 * Promises: can_if_check() tells apart an interface that does not exist,
 * one that is not a CAN interface and one that is down (the last is not
 * an error: it is reported, and a START fails until it is up).
 * can_sock_open() returns a non-blocking, close-on-exec CAN_RAW socket
 * bound to the interface, with FD frames when asked, its own frames
 * looped back (MSG_CONFIRM) only when asked (VIRTIO_CAN_F_LATE_TX_ACK),
 * and bus-off error frames enabled.  Nothing here keeps state.
 */
#ifndef VHD_CAN_HOST_H
#define VHD_CAN_HOST_H

#include <stdbool.h>
#include <stddef.h>

/* Interface names are at most IFNAMSIZ - 1 = 15 bytes. */
#define CAN_IFNAME_MAX 16

/* 0 with *up set, or -errno with err filled: -ENODEV (no such
 * interface), -EINVAL (bad name), -EPROTOTYPE (not a CAN interface). */
int can_if_check(const char *name, bool *up, char *err, size_t errlen);

/* 0 and *fd, or -errno with err filled (-ENETDOWN when the interface is
 * down). */
int can_sock_open(const char *name, bool fd_frames, bool recv_own, int *fd,
		  char *err, size_t errlen);

#endif
