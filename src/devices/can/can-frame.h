/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * virtio-can messages (virtio 1.4 draft, "CAN Device", device ID 36) and
 * their translation to and from SocketCAN frames (linux/can.h).
 *
 * A tx request is struct virtio_can_tx_out (16-byte header: le16 msg_type,
 * le16 length, u8 reserved_classic_dlc, u8 padding, le16
 * reserved_xl_priority, le32 flags, le32 can_id; then sdu[length]) and a
 * one-byte result; an rx buffer receives struct virtio_can_rx (the same
 * header with msg_type VIRTIO_CAN_RX); a control request is le16 msg_type
 * and a one-byte result.
 *
 * Promises: can_tx_parse() checks every field against the negotiated
 * features ("CAN Message Transmission": a frame type not negotiated, an
 * undefined flag, an out-of-range can_id or length are refused with
 * VIRTIO_CAN_RESULT_NOT_OK and never sent) and fills a frame ready for
 * write(2) on a raw socket.  can_rx_encode() refuses (returns 0) frames the
 * driver did not negotiate, so the guest never sees a type it cannot take.
 * Pure functions: no I/O, no state.
 */
#ifndef VHD_CAN_FRAME_H
#define VHD_CAN_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/can.h>

#define VIRTIO_ID_CAN 36

#define VIRTIO_CAN_F_CAN_CLASSIC 0
#define VIRTIO_CAN_F_CAN_FD 1
#define VIRTIO_CAN_F_RTR_FRAMES 2
#define VIRTIO_CAN_F_LATE_TX_ACK 3

#define VIRTIO_CAN_RESULT_OK 0
#define VIRTIO_CAN_RESULT_NOT_OK 1

#define VIRTIO_CAN_TX 0x0001
#define VIRTIO_CAN_RX 0x0101
#define VIRTIO_CAN_SET_CTRL_MODE_START 0x0201
#define VIRTIO_CAN_SET_CTRL_MODE_STOP 0x0202

#define VIRTIO_CAN_FLAGS_EXTENDED 0x8000u
#define VIRTIO_CAN_FLAGS_FD 0x4000u
#define VIRTIO_CAN_FLAGS_RTR 0x2000u
#define VIRTIO_CAN_FLAGS_KNOWN (VIRTIO_CAN_FLAGS_EXTENDED | VIRTIO_CAN_FLAGS_FD | \
				VIRTIO_CAN_FLAGS_RTR)

/* Config space: le16 status. */
#define VIRTIO_CAN_S_CTRL_BUSOFF (1u << 0)
#define VIRTIO_CAN_CONFIG_SIZE 2

#define VIRTIO_CAN_HDR_SIZE 16
#define VIRTIO_CAN_MAX_DLEN 64
#define VIRTIO_CAN_MSG_MAX (VIRTIO_CAN_HDR_SIZE + VIRTIO_CAN_MAX_DLEN)

/* A frame ready for a raw CAN socket: a struct canfd_frame whose first
 * CAN_MTU bytes are a struct can_frame when fd is false. */
struct can_msg {
	struct canfd_frame f;
	bool fd;
};

/* Is len a CAN FD data length (0..8, 12, 16, 20, 24, 32, 48, 64)? */
bool can_fd_len_valid(unsigned len);

/*
 * Parse the device-readable part of a tx request (buf, len bytes) under
 * the acked features.  VIRTIO_CAN_RESULT_OK with *out filled, or
 * VIRTIO_CAN_RESULT_NOT_OK with *why set to a short reason for the log.
 */
uint8_t can_tx_parse(const uint8_t *buf, size_t len, uint64_t features,
		     struct can_msg *out, const char **why);

/*
 * Encode a frame read from the socket (n bytes: CAN_MTU or CANFD_MTU) as a
 * struct virtio_can_rx into out (VIRTIO_CAN_MSG_MAX bytes).  Returns the
 * bytes to report as used (header + data; for an RTR frame header + DLC,
 * zero-filled, as the driver expects the DLC in length), or 0 when the
 * frame must not reach this driver (error frames, a type not negotiated).
 */
size_t can_rx_encode(const struct canfd_frame *f, size_t n, uint64_t features,
		     uint8_t out[VIRTIO_CAN_MSG_MAX]);

/* Control request: the msg_type, or -1 if the request is too short. */
int can_ctrl_parse(const uint8_t *buf, size_t len);

#endif
