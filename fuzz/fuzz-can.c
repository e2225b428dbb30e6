/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Fuzz target: virtio-can messages (virtio 1.4, "CAN Device") through the
 * device's real translation code (can-frame.c), what vhost-device-can runs
 * on every tx request, control request and frame read from the bus:
 * can_tx_parse() on any bytes under any acked features, can_ctrl_parse(),
 * and can_rx_encode() of any frame the socket could give.
 *
 * Input: records of one op byte (op % 3: 0 tx, 1 control, 2 rx), a
 * features byte (the low four feature bits), a length byte, then that many
 * bytes.  Checks: a parsed tx frame is what a raw socket takes (a classic
 * frame's DLC at most 8, an FD frame's length a CAN FD length, the can_id
 * within its 11 or 29 bits); an rx message fits VIRTIO_CAN_MSG_MAX and
 * carries a type the driver negotiated.
 */
#include "config.h"
#include "fuzz/fuzz.h"

#include <stdlib.h>
#include <linux/can.h>

#include "log.h"
#include "devices/can/can-frame.h"

static void tx(const uint8_t *buf, size_t len, uint64_t features)
{
	struct can_msg m;
	const char *why = NULL;

	if (can_tx_parse(buf, len, features, &m, &why) != VIRTIO_CAN_RESULT_OK) {
		if (!why)
			abort();
		return;
	}
	if (m.fd) {
		if (!(features & (1u << VIRTIO_CAN_F_CAN_FD)) || !can_fd_len_valid(m.f.len))
			abort();
	} else if (m.f.len > CAN_MAX_DLEN || !(features & (1u << VIRTIO_CAN_F_CAN_CLASSIC))) {
		abort();
	}
	if (m.f.can_id & CAN_EFF_FLAG) {
		if ((m.f.can_id & CAN_EFF_MASK) != (m.f.can_id & ~(CAN_EFF_FLAG | CAN_RTR_FLAG)))
			abort();
	} else if (m.f.can_id & ~(CAN_SFF_MASK | CAN_RTR_FLAG)) {
		abort();
	}
	if ((m.f.can_id & CAN_RTR_FLAG) && !(features & (1u << VIRTIO_CAN_F_RTR_FRAMES)))
		abort();
}

static void rx(const uint8_t *buf, size_t len, uint64_t features)
{
	struct canfd_frame f;
	uint8_t out[VIRTIO_CAN_MSG_MAX];
	size_t n = len > CAN_MTU ? CANFD_MTU : CAN_MTU, used;

	memset(&f, 0, sizeof(f));
	memcpy(&f, buf, len < sizeof(f) ? len : sizeof(f));
	used = can_rx_encode(&f, n, features, out);
	if (used > VIRTIO_CAN_MSG_MAX || (used && used < VIRTIO_CAN_HDR_SIZE))
		abort();
	if (used && (out[0] | out[1] << 8) != VIRTIO_CAN_RX)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };

	vhd_log_set_level(VHD_LOG_ERROR);
	while (in.left) {
		uint8_t op = fuzz_u8(&in) % 3, feat = fuzz_u8(&in) & 0xf, len = fuzz_u8(&in);
		uint8_t *buf = malloc(len ? len : 1);

		if (!buf)
			abort();
		fuzz_take(&in, buf, len);
		if (op == 0)
			tx(buf, len, feat);
		else if (op == 1)
			(void)can_ctrl_parse(buf, len);
		else
			rx(buf, len, feat);
		free(buf);
	}
	return 0;
}
