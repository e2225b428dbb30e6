/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Fuzz target: vhost-device-input's evemu recording parser and what the
 * device does with a recording (virtio 1.2, 5.8 "Input Device"), through
 * its real code: input_evemu_parse() (input-evemu.c) on any text, then,
 * for a recording it accepts, the config space answered from the parsed
 * description (input_config_fill, input-config.c) for every select and
 * the subsels that matter, status queue buffers decoded and judged
 * against it (input_status_parse, input_status_check), and the
 * recording's events through the report queue (input-batch.c) as the
 * device's flush loop takes them: whole reports when a guest ring of
 * `ring` entries holds `bufs` free buffers, longer reports dropped.
 *
 * Input: two bytes (ring size 1..64, buffers given per round 0..63), a
 * count byte n (% 8) and n status buffers (a length byte % 9, then that
 * many bytes), then the recording's text.
 * Checks: a parsed recording's times never decrease; config answers echo
 * select/subsel with a size within u[128] and zero padding after it; a
 * status buffer decodes iff it has 8 bytes, and is applied only for an
 * LED, sound or force-feedback code the description has; a report taken
 * ends with SYN_REPORT or is a lone SYN_DROPPED, never longer than the
 * ring; the queue never holds more than its bound.
 */
#include "config.h"
#include "fuzz/fuzz.h"

#include <stdlib.h>
#include <libevdev/libevdev.h>

#include "log.h"
#include "devices/input/input-batch.h"
#include "devices/input/input-config.h"
#include "devices/input/input-evemu.h"

#define BATCH_MAX 256u

static void config(const struct input_recording *r)
{
	static const uint8_t sel[] = {
		VIRTIO_INPUT_CFG_UNSET, VIRTIO_INPUT_CFG_ID_NAME, VIRTIO_INPUT_CFG_ID_SERIAL,
		VIRTIO_INPUT_CFG_ID_DEVIDS, VIRTIO_INPUT_CFG_PROP_BITS, VIRTIO_INPUT_CFG_EV_BITS,
		VIRTIO_INPUT_CFG_ABS_INFO, 0x77 };
	uint8_t buf[VIRTIO_INPUT_CONFIG_SIZE];

	for (unsigned s = 0; s < sizeof(sel); s++)
		for (unsigned sub = 0; sub < 0x20; sub++) {
			memset(buf, 0xee, sizeof(buf));
			input_config_fill(r->dev, sel[s], (uint8_t)sub, buf);
			if (buf[0] != sel[s] || buf[1] != sub || buf[2] > VIRTIO_INPUT_CFG_U_SIZE)
				abort();
			for (unsigned i = VIRTIO_INPUT_CFG_U + buf[2]; i < sizeof(buf); i++)
				if (buf[i])
					abort();
		}
}

static void take(struct input_batch *b, unsigned ring, unsigned *bufs)
{
	struct input_ev out[BATCH_MAX];

	while (input_batch_waiting(b)) {
		unsigned n = input_batch_next_len(b), got;

		if (n == 0 || n > BATCH_MAX)
			abort();
		if (n > ring) {
			input_batch_drop_next(b);
			continue;
		}
		if (n > *bufs)
			return;
		got = input_batch_pop(b, out, BATCH_MAX);
		if (got != n || out[n - 1].type != INPUT_EV_SYN ||
		    (out[n - 1].code != INPUT_SYN_REPORT &&
		     (out[n - 1].code != INPUT_SYN_DROPPED || n != 1)))
			abort();
		*bufs -= n;
	}
}

/* One status queue buffer of len readable bytes. */
static void status_event(const struct input_recording *r, const uint8_t *buf, size_t len)
{
	uint16_t type, code;
	int32_t value;

	if (input_status_parse(buf, len, &type, &code, &value) < 0) {
		if (len >= 8)
			abort();
		return;
	}
	if (len < 8)
		abort();
	if (input_status_check(r->dev, type, code) == INPUT_STATUS_APPLY &&
	    (!(type == EV_LED || type == EV_SND || type == EV_FF) ||
	     !libevdev_has_event_code(r->dev, type, code)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	unsigned ring = fuzz_u8(&in) % 64 + 1, per_round = fuzz_u8(&in) % 64, bufs = 0;
	unsigned nstatus = fuzz_u8(&in) % 8;
	uint8_t status[8][9];
	struct input_recording r = { 0 };
	struct input_batch b;
	char err[256];

	vhd_log_set_level(VHD_LOG_ERROR);
	for (unsigned i = 0; i < nstatus; i++) {
		status[i][8] = fuzz_u8(&in) % 9;
		fuzz_take(&in, status[i], status[i][8]);
	}
	if (input_evemu_parse((const char *)in.p, in.left, &r, err, sizeof(err)) != 0)
		return 0;
	for (unsigned i = 0; i < nstatus; i++)
		status_event(&r, status[i], status[i][8]);
	for (size_t i = 1; i < r.nev; i++)
		if (r.ev[i].t_us < r.ev[i - 1].t_us)
			abort();
	config(&r);
	if (input_batch_init(&b, BATCH_MAX) != 0)
		abort();
	for (size_t i = 0; i < r.nev; i++) {
		input_batch_add(&b, r.ev[i].type, r.ev[i].code, (uint32_t)r.ev[i].value);
		if (input_batch_waiting(&b) > BATCH_MAX)
			abort();
		if (i % 4 == 3) {
			bufs += per_round;
			if (bufs > ring)
				bufs = ring;
		}
		take(&b, ring, &bufs);
	}
	bufs = ring;
	take(&b, ring, &bufs);
	input_batch_free(&b);
	input_recording_free(&r);
	return 0;
}
