/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * libvhu-frontend, can part: a small virtio-can *guest driver* on top of a
 * vhu_session, so a test or the vhost-user-frontend command can play the
 * guest of a vhost-user CAN backend (no QEMU release has that frontend).
 *
 * Written from the virtio spec ("CAN Device"), independently of the
 * backend: queue 0 tx (struct virtio_can_tx_out, result byte, in separate
 * descriptors), queue 1 rx (the driver keeps rx_bufs buffers of a whole
 * struct virtio_can_rx posted and re-posts each one it reads), queue 2
 * control; the config status; the backend channel's config-change
 * notifications (BACKEND_REQ is asked for).
 */
#ifndef VHD_VHU_CAN_H
#define VHD_VHU_CAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vhu-frontend.h"

#define VHU_CAN_F_CLASSIC (1ull << 0)
#define VHU_CAN_F_FD (1ull << 1)
#define VHU_CAN_F_RTR (1ull << 2)
#define VHU_CAN_F_LATE_TX_ACK (1ull << 3)

#define VHU_CAN_TX 0x0001
#define VHU_CAN_RX 0x0101
#define VHU_CAN_START 0x0201
#define VHU_CAN_STOP 0x0202
#define VHU_CAN_FLAG_EXT 0x8000u
#define VHU_CAN_FLAG_FD 0x4000u
#define VHU_CAN_FLAG_RTR 0x2000u
#define VHU_CAN_BUSOFF 0x1u
#define VHU_CAN_HDR 16
#define VHU_CAN_MSG_MAX 80

struct vhu_can;

/* A frame as virtio-can carries it. */
struct vhu_can_frame {
	uint32_t can_id;        /* 11 or 29 bits, no flags */
	uint32_t flags;         /* VHU_CAN_FLAG_* */
	uint16_t len;           /* data bytes; for RTR the DLC */
	uint8_t classic_dlc;    /* reserved_classic_dlc */
	uint8_t data[64];
};

struct vhu_can_opts {
	const char *path;
	int connect_ms;         /* retry connecting this long */
	uint64_t features;      /* VHU_CAN_F_* wanted (& offered) */
	unsigned rx_bufs;       /* rx buffers kept posted (0: 32) */
	/* As vhu_session_opts.send_mem (Xen grant tables); NULL: memfd. */
	bool xen_mmap;
	int (*send_mem)(void *opaque, struct vhu_session *s);
	void *send_mem_opaque;
};

int vhu_can_open(const struct vhu_can_opts *o, struct vhu_can **out, char *err, size_t errlen);
void vhu_can_close(struct vhu_can *d);
struct vhu_session *vhu_can_session(struct vhu_can *d);
const char *vhu_can_error(const struct vhu_can *d);
/* The config status (GET_CONFIG). */
int vhu_can_status(struct vhu_can *d, uint16_t *status);
/* One control request (VHU_CAN_START, VHU_CAN_STOP, or any type): its
 * result.  0 or -errno. */
int vhu_can_control(struct vhu_can *d, uint16_t type, uint8_t *result, int timeout_ms);
/* Send one frame and wait for its result.  0 or -errno (-EPROTO: the
 * answer was malformed; vhu_can_error says how). */
int vhu_can_send(struct vhu_can *d, const struct vhu_can_frame *f, uint8_t *result,
		 int timeout_ms);
/* Send raw bytes as the device-readable part of a tx request (hostile
 * tests); the result byte follows in its own descriptor. */
int vhu_can_send_raw(struct vhu_can *d, const void *msg, size_t len, uint8_t *result,
		     int timeout_ms);
/* Wait for one received frame (checked: msg_type, flags, used length)
 * and post its buffer again.  0, -ETIMEDOUT, -EPROTO. */
int vhu_can_recv(struct vhu_can *d, struct vhu_can_frame *f, int timeout_ms);
/* Wait for a BACKEND_CONFIG_CHANGE_MSG on the backend channel. */
int vhu_can_wait_config_change(struct vhu_can *d, int timeout_ms);

#endif
