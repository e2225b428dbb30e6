/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/* The virtio-input config space from a libevdev description:
 * input-config.h. */
#include "config.h"
#include "input-config.h"

#include <endian.h>
#include <libevdev/libevdev.h>
#include <string.h>

static uint8_t put_string(uint8_t *u, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	/* Not NUL-terminated when it fills u: size says how long it is. */
	if (n > VIRTIO_INPUT_CFG_U_SIZE)
		n = VIRTIO_INPUT_CFG_U_SIZE;
	memcpy(u, s ? s : "", n);
	return (uint8_t)n;
}

/* A bitmap's size is up to its last non-zero byte (5.8.4: "size ... the
 * number of bytes of the bitmap"); 0 when empty: the driver reads "not
 * supported". */
static uint8_t bitmap_size(const uint8_t *u)
{
	for (unsigned i = VIRTIO_INPUT_CFG_U_SIZE; i > 0; i--)
		if (u[i - 1])
			return (uint8_t)i;
	return 0;
}

static void set_bit(uint8_t *u, unsigned bit)
{
	if (bit < VIRTIO_INPUT_CFG_U_SIZE * 8)
		u[bit / 8] |= (uint8_t)(1u << (bit % 8));
}

static uint8_t ev_bits(const struct libevdev *ev, uint8_t type, uint8_t *u)
{
	int max;

	/* EV_SYN has no codes a driver could use. */
	if (type == 0 || !libevdev_has_event_type(ev, type))
		return 0;
	max = libevdev_event_type_get_max(type);
	for (int code = 0; code <= max; code++)
		if (libevdev_has_event_code(ev, type, (unsigned)code))
			set_bit(u, (unsigned)code);
	return bitmap_size(u);
}

static void put_le32(uint8_t *p, int32_t v)
{
	uint32_t le = htole32((uint32_t)v);

	memcpy(p, &le, 4);
}

static void put_le16(uint8_t *p, int v)
{
	uint16_t le = htole16((uint16_t)v);

	memcpy(p, &le, 2);
}

void input_config_fill(const struct libevdev *ev, uint8_t select, uint8_t subsel,
		       uint8_t buf[VIRTIO_INPUT_CONFIG_SIZE])
{
	uint8_t *u = buf + VIRTIO_INPUT_CFG_U;
	/* libevdev's getters take a non-const pointer; they only read. */
	struct libevdev *d = (struct libevdev *)ev;
	uint8_t size = 0;

	memset(buf, 0, VIRTIO_INPUT_CONFIG_SIZE);
	buf[0] = select;
	buf[1] = subsel;
	switch (select) {
	case VIRTIO_INPUT_CFG_ID_NAME:
		if (subsel == 0)
			size = put_string(u, libevdev_get_name(d));
		break;
	case VIRTIO_INPUT_CFG_ID_SERIAL:
		if (subsel == 0)
			size = put_string(u, libevdev_get_uniq(d));
		break;
	case VIRTIO_INPUT_CFG_ID_DEVIDS:
		if (subsel == 0) {
			put_le16(u + 0, libevdev_get_id_bustype(d));
			put_le16(u + 2, libevdev_get_id_vendor(d));
			put_le16(u + 4, libevdev_get_id_product(d));
			put_le16(u + 6, libevdev_get_id_version(d));
			size = 8;
		}
		break;
	case VIRTIO_INPUT_CFG_PROP_BITS:
		if (subsel == 0) {
			for (unsigned p = 0; p <= INPUT_PROP_MAX; p++)
				if (libevdev_has_property(d, p))
					set_bit(u, p);
			size = bitmap_size(u);
		}
		break;
	case VIRTIO_INPUT_CFG_EV_BITS:
		size = ev_bits(d, subsel, u);
		break;
	case VIRTIO_INPUT_CFG_ABS_INFO:
		if (subsel <= ABS_MAX && libevdev_has_event_code(d, EV_ABS, subsel)) {
			const struct input_absinfo *a = libevdev_get_abs_info(d, subsel);

			if (a) {
				put_le32(u + 0, a->minimum);
				put_le32(u + 4, a->maximum);
				put_le32(u + 8, a->fuzz);
				put_le32(u + 12, a->flat);
				put_le32(u + 16, a->resolution);
				size = 20;
			}
		}
		break;
	default:
		break;
	}
	buf[2] = size;
}

int input_status_parse(const uint8_t *buf, size_t len, uint16_t *type, uint16_t *code,
		       int32_t *value)
{
	uint16_t t, c;
	uint32_t v;

	if (len < 8)
		return -1;
	memcpy(&t, buf, 2);
	memcpy(&c, buf + 2, 2);
	memcpy(&v, buf + 4, 4);
	*type = le16toh(t);
	*code = le16toh(c);
	*value = (int32_t)le32toh(v);
	return 0;
}

enum input_status input_status_check(const struct libevdev *ev, uint16_t type, uint16_t code)
{
	if (type != EV_LED && type != EV_SND && type != EV_FF)
		return INPUT_STATUS_OTHER_TYPE;
	if (!libevdev_has_event_code(ev, type, code))
		return INPUT_STATUS_NO_CODE;
	return INPUT_STATUS_APPLY;
}
