/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * The virtio-input config space (virtio 1.2, 5.8.4 "Device configuration
 * layout"): the driver writes select and subsel, then reads size and u.
 * Answered from a libevdev description of the device -- a real evdev
 * node's or one built from an evemu recording (input-evemu.h) -- so both
 * sources give the guest the same complete picture: name, serial, ids,
 * property bits, the code bitmap of every event type and the range of
 * every absolute axis.
 */
#ifndef VHD_INPUT_CONFIG_H
#define VHD_INPUT_CONFIG_H

#include <stddef.h>
#include <stdint.h>

struct libevdev;

#define VIRTIO_INPUT_CFG_UNSET 0x00
#define VIRTIO_INPUT_CFG_ID_NAME 0x01
#define VIRTIO_INPUT_CFG_ID_SERIAL 0x02
#define VIRTIO_INPUT_CFG_ID_DEVIDS 0x03
#define VIRTIO_INPUT_CFG_PROP_BITS 0x10
#define VIRTIO_INPUT_CFG_EV_BITS 0x11
#define VIRTIO_INPUT_CFG_ABS_INFO 0x12

/* select u8, subsel u8, size u8, reserved[5], u[128]. */
#define VIRTIO_INPUT_CONFIG_SIZE 136
#define VIRTIO_INPUT_CFG_U 8
#define VIRTIO_INPUT_CFG_U_SIZE 128

/* Fill buf[0..136) for (select, subsel): select and subsel echoed, size
 * = the bytes of u that mean something (0: nothing for this selection,
 * e.g. an event type the device lacks), u zero-padded.  Unknown selects
 * answer size 0 (5.8.5: "the device MUST set size to 0"). */
void input_config_fill(const struct libevdev *ev, uint8_t select, uint8_t subsel,
		       uint8_t buf[VIRTIO_INPUT_CONFIG_SIZE]);

/* The status queue (5.8.6.2): the driver sends struct virtio_input_event
 * (le16 type, le16 code, le32 value) with LED, sound and force-feedback
 * state.  Decode the first 8 of len readable bytes: 0, or -1 when fewer. */
int input_status_parse(const uint8_t *buf, size_t len, uint16_t *type, uint16_t *code,
		       int32_t *value);

/* What the device does with a status event: write it to the device
 * (APPLY: an EV_LED, EV_SND or EV_FF code the device has), ignore its type
 * (OTHER_TYPE: Linux passes every event its input core sends, EV_MSC
 * among them -- normal) or refuse a code the device lacks (NO_CODE). */
enum input_status {
	INPUT_STATUS_APPLY,
	INPUT_STATUS_OTHER_TYPE,
	INPUT_STATUS_NO_CODE,
};
enum input_status input_status_check(const struct libevdev *ev, uint16_t type, uint16_t code);

#endif
