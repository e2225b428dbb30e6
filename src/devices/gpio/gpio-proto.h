/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * virtio-gpio wire format (virtio 1.2+, "GPIO Device", device ID 41):
 * message types, directions, interrupt types, statuses and the layouts of
 * the config space and the two queues' buffers.
 */
#ifndef VHD_GPIO_PROTO_H
#define VHD_GPIO_PROTO_H

#include <stdint.h>

#define VIRTIO_ID_GPIO 41

#define VIRTIO_GPIO_F_IRQ 0

#define GPIO_REQUESTQ 0
#define GPIO_EVENTQ 1

/* requestq message types ("requestq Operation") */
#define VIRTIO_GPIO_MSG_GET_LINE_NAMES 0x0001
#define VIRTIO_GPIO_MSG_GET_DIRECTION  0x0002
#define VIRTIO_GPIO_MSG_SET_DIRECTION  0x0003
#define VIRTIO_GPIO_MSG_GET_VALUE      0x0004
#define VIRTIO_GPIO_MSG_SET_VALUE      0x0005
#define VIRTIO_GPIO_MSG_SET_IRQ_TYPE   0x0006

#define VIRTIO_GPIO_STATUS_OK  0x0
#define VIRTIO_GPIO_STATUS_ERR 0x1

#define VIRTIO_GPIO_DIRECTION_NONE 0x00
#define VIRTIO_GPIO_DIRECTION_OUT  0x01
#define VIRTIO_GPIO_DIRECTION_IN   0x02

#define VIRTIO_GPIO_IRQ_TYPE_NONE         0x00
#define VIRTIO_GPIO_IRQ_TYPE_EDGE_RISING  0x01
#define VIRTIO_GPIO_IRQ_TYPE_EDGE_FALLING 0x02
#define VIRTIO_GPIO_IRQ_TYPE_EDGE_BOTH    0x03
#define VIRTIO_GPIO_IRQ_TYPE_LEVEL_HIGH   0x04
#define VIRTIO_GPIO_IRQ_TYPE_LEVEL_LOW    0x08

/* eventq response status ("eventq Operation") */
#define VIRTIO_GPIO_IRQ_STATUS_INVALID 0x0
#define VIRTIO_GPIO_IRQ_STATUS_VALID   0x1

#define GPIO_CONFIG_SIZE 8      /* le16 ngpio, u8 padding[2], le32 gpio_names_size */
#define GPIO_REQUEST_SIZE 8     /* le16 type, le16 gpio, le32 value */
#define GPIO_RESPONSE_SIZE 2    /* u8 status, u8 value */
#define GPIO_IRQ_REQUEST_SIZE 2 /* le16 gpio */
#define GPIO_IRQ_RESPONSE_SIZE 1 /* u8 status */

/* ngpio is a le16: a chip with more lines cannot be described. */
#define GPIO_MAX_LINES 65535u

#endif
