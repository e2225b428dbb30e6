/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/* virtio-can messages (promises in can-frame.h). */
#include "config.h"
#include "vhost-device.h"
#include "can-frame.h"

#include <endian.h>
#include <string.h>

static uint16_t get16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return le16toh(v);
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return le32toh(v);
}

static void put16(uint8_t *p, uint16_t v)
{
	v = htole16(v);
	memcpy(p, &v, 2);
}

static void put32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, 4);
}

static bool has(uint64_t features, unsigned bit)
{
	return (features >> bit) & 1;
}

bool can_fd_len_valid(unsigned len)
{
	switch (len) {
	case 12: case 16: case 20: case 24: case 32: case 48: case 64:
		return true;
	default:
		return len <= CAN_MAX_DLEN;
	}
}

static uint8_t refuse(const char **why, const char *reason)
{
	*why = reason;
	return VIRTIO_CAN_RESULT_NOT_OK;
}

uint8_t can_tx_parse(const uint8_t *buf, size_t len, uint64_t features,
		     struct can_msg *out, const char **why)
{
	uint16_t type, dlen, xl_prio;
	uint8_t classic_dlc, pad;
	uint32_t flags, id;
	bool fd, rtr, ext;

	*why = "";
	if (len < VIRTIO_CAN_HDR_SIZE)
		return refuse(why, "shorter than the 16-byte header");
	type = get16(buf);
	dlen = get16(buf + 2);
	classic_dlc = buf[4];
	pad = buf[5];
	xl_prio = get16(buf + 6);
	flags = get32(buf + 8);
	id = get32(buf + 12);
	if (type != VIRTIO_CAN_TX)
		return refuse(why, "msg_type is not VIRTIO_CAN_TX");
	/* "A CAN frame with an undefined bit set in flags is treated like a
	 * CAN frame for which support has not been negotiated." */
	if (flags & ~VIRTIO_CAN_FLAGS_KNOWN)
		return refuse(why, "undefined flag bits");
	fd = flags & VIRTIO_CAN_FLAGS_FD;
	rtr = flags & VIRTIO_CAN_FLAGS_RTR;
	ext = flags & VIRTIO_CAN_FLAGS_EXTENDED;
	if (fd && !has(features, VIRTIO_CAN_F_CAN_FD))
		return refuse(why, "CAN FD frame, VIRTIO_CAN_F_CAN_FD not negotiated");
	if (!fd && !has(features, VIRTIO_CAN_F_CAN_CLASSIC))
		return refuse(why, "classic frame, VIRTIO_CAN_F_CAN_CLASSIC not negotiated");
	/* "RTR frames are only supported with classic CAN." */
	if (rtr && (fd || !has(features, VIRTIO_CAN_F_RTR_FRAMES)))
		return refuse(why, "RTR frame not negotiated (or with FD)");
	/* "The 3 most significant bits of can_id ... are 0." */
	if (id > (ext ? CAN_EFF_MASK : CAN_SFF_MASK))
		return refuse(why, "can_id out of range");
	if (pad || xl_prio)
		return refuse(why, "reserved fields not zero");
	if (fd ? !can_fd_len_valid(dlen) : dlen > CAN_MAX_DLEN)
		return refuse(why, "length out of range");
	/* reserved_classic_dlc: only a classic 8-byte frame may carry its DLC,
	 * 8..15 (all meaning 8 bytes); anything else is reserved. */
	if (classic_dlc && (fd || dlen != CAN_MAX_DLEN || classic_dlc < 8 || classic_dlc > 15))
		return refuse(why, "reserved_classic_dlc invalid");
	/* An RTR frame's length is the requested DLC: no data follows. */
	if (!rtr && len < (size_t)VIRTIO_CAN_HDR_SIZE + dlen)
		return refuse(why, "sdu shorter than length");
	if (len > VIRTIO_CAN_MSG_MAX)
		return refuse(why, "request longer than a CAN FD message");

	memset(out, 0, sizeof(*out));
	out->fd = fd;
	out->f.can_id = id | (ext ? CAN_EFF_FLAG : 0) | (rtr ? CAN_RTR_FLAG : 0);
	out->f.len = (uint8_t)dlen;
	if (!rtr)
		memcpy(out->f.data, buf + VIRTIO_CAN_HDR_SIZE, dlen);
	if (!fd && classic_dlc > CAN_MAX_DLEN)
		((struct can_frame *)&out->f)->len8_dlc = classic_dlc;
	return VIRTIO_CAN_RESULT_OK;
}

size_t can_rx_encode(const struct canfd_frame *f, size_t n, uint64_t features,
		     uint8_t out[VIRTIO_CAN_MSG_MAX])
{
	bool fd = n == CANFD_MTU, rtr = f->can_id & CAN_RTR_FLAG;
	bool ext = f->can_id & CAN_EFF_FLAG;
	uint32_t flags = 0;
	unsigned len = f->len;

	if ((n != CAN_MTU && n != CANFD_MTU) || (f->can_id & CAN_ERR_FLAG))
		return 0;
	if (fd ? (!has(features, VIRTIO_CAN_F_CAN_FD) || !can_fd_len_valid(len))
	       : (!has(features, VIRTIO_CAN_F_CAN_CLASSIC) || len > CAN_MAX_DLEN))
		return 0;
	if (rtr && (fd || !has(features, VIRTIO_CAN_F_RTR_FRAMES)))
		return 0;
	flags = (ext ? VIRTIO_CAN_FLAGS_EXTENDED : 0) | (fd ? VIRTIO_CAN_FLAGS_FD : 0) |
		(rtr ? VIRTIO_CAN_FLAGS_RTR : 0);
	memset(out, 0, VIRTIO_CAN_MSG_MAX);
	put16(out, VIRTIO_CAN_RX);
	put16(out + 2, (uint16_t)len);
	if (!fd) {
		uint8_t dlc = ((const struct can_frame *)f)->len8_dlc;

		if (len == CAN_MAX_DLEN && dlc > CAN_MAX_DLEN && dlc <= 15)
			out[4] = dlc;
	}
	put32(out + 8, flags);
	put32(out + 12, f->can_id & (ext ? CAN_EFF_MASK : CAN_SFF_MASK));
	if (!rtr)
		memcpy(out + VIRTIO_CAN_HDR_SIZE, f->data, len);
	return VIRTIO_CAN_HDR_SIZE + len;
}

int can_ctrl_parse(const uint8_t *buf, size_t len)
{
	return len < 2 ? -1 : get16(buf);
}
