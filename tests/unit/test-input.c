/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Unit tests of vhost-device-input's modules: the evemu recording parser
 * (input-evemu.c) on good recordings and on every malformed line kind,
 * the config space (input-config.c) for each select, and the report
 * batching (input-batch.c): whole reports only, the evdev-like overflow
 * (whole reports dropped behind one SYN_DROPPED), the source's own
 * SYN_DROPPED, reports too long to ever wait.
 */
#include "config.h"

#include <endian.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libevdev/libevdev.h>
#include <stdio.h>

#include "devices/input/input-batch.h"
#include "devices/input/input-config.h"
#include "devices/input/input-evemu.h"

static const char keyboard[] =
	"# EVEMU 1.3\n"
	"# Kernel: 6.1.0\n"
	"N: vhd test keyboard\n"
	"I: 0011 0001 0001 ab41\n"
	"P: 00 00 00 00 00 00 00 00\n"
	"B: 00 13 00 12 00 00 00 00 00\n"
	"B: 01 02 00 00 50 00 00 00 04\n"
	"B: 01 00 00 00 00 00 00 00 00\n"
	"B: 04 10 00 00 00 00 00 00 00\n"
	"B: 11 07 00 00 00 00 00 00 00\n"
	"B: 14 03 00 00 00 00 00 00 00\n"
	"L: 01 1\n"
	"################################\n"
	"#      Waiting for events      #\n"
	"################################\n"
	"E: 0.000001 0004 0004 0030\t# EV_MSC / MSC_SCAN             30\n"
	"E: 0.000001 0001 001e 0001\t# EV_KEY / KEY_A                1\n"
	"E: 0.000001 0000 0000 0000\t# ------------ SYN_REPORT (0) ---------- +0ms\n"
	"E: 1.250000 0001 001e 0000\n"
	"E: 1.250000 0000 0000 0000";       /* no final newline */

static const char tablet[] =
	"N: vhd test tablet\r\n"
	"I: 0003 0627 0001 0001\r\n"
	"P: 01 00 00 00 00 00 00 00\n"
	"B: 01 00 00 00 00 00 00 00 00\n"
	"B: 01 00 00 00 00 00 00 00 00\n"
	"B: 01 00 00 00 00 00 00 00 00\n"
	"B: 01 00 00 00 00 00 00 00 00\n"
	"B: 01 00 00 03 00 00 00 00 00\n"
	"B: 01 00 04 00 00 00 00 00 00\n"
	"B: 03 03 00 00 00 00 00 00 00\n"
	"A: 00 0 32767 0 0 12\n"
	"A: 01 -100 4095 4 8\n"                /* format 1.0: no resolution */
	"E: 3.000000 0003 0001 -050\n"
	"E: 2.000000 0000 0000 0000\n";        /* back in time: played at once */

static void parse_ok(const char *text, struct input_recording *r)
{
	char err[256] = "";

	if (input_evemu_parse(text, strlen(text), r, err, sizeof(err)) < 0)
		fail_msg("parse failed: %s", err);
}

static void test_evemu_keyboard(void **state)
{
	struct input_recording r;

	(void)state;
	parse_ok(keyboard, &r);
	assert_string_equal(libevdev_get_name(r.dev), "vhd test keyboard");
	assert_int_equal(libevdev_get_id_bustype(r.dev), 0x11);
	assert_int_equal(libevdev_get_id_version(r.dev), 0xab41);
	assert_true(libevdev_has_event_code(r.dev, EV_KEY, KEY_ESC));
	assert_true(libevdev_has_event_code(r.dev, EV_KEY, KEY_ENTER));
	assert_true(libevdev_has_event_code(r.dev, EV_KEY, KEY_A));
	assert_true(libevdev_has_event_code(r.dev, EV_KEY, KEY_CAPSLOCK));
	assert_false(libevdev_has_event_code(r.dev, EV_KEY, KEY_B));
	assert_true(libevdev_has_event_code(r.dev, EV_MSC, MSC_SCAN));
	assert_true(libevdev_has_event_code(r.dev, EV_LED, LED_SCROLLL));
	assert_true(libevdev_has_event_type(r.dev, EV_REP));
	assert_false(libevdev_has_event_type(r.dev, EV_ABS));
	assert_int_equal(r.nev, 5);
	assert_int_equal(r.ev[0].t_us, 1);
	assert_int_equal(r.ev[0].type, EV_MSC);
	assert_int_equal(r.ev[0].value, 30);
	assert_int_equal(r.ev[1].code, KEY_A);
	assert_int_equal(r.ev[3].t_us, 1250000);
	assert_int_equal(r.ev[3].value, 0);
	input_recording_free(&r);
}

static void test_evemu_tablet(void **state)
{
	struct input_recording r;
	const struct input_absinfo *a;

	(void)state;
	parse_ok(tablet, &r);
	assert_string_equal(libevdev_get_name(r.dev), "vhd test tablet");
	assert_true(libevdev_has_property(r.dev, INPUT_PROP_POINTER));
	assert_false(libevdev_has_property(r.dev, INPUT_PROP_DIRECT));
	assert_true(libevdev_has_event_code(r.dev, EV_KEY, BTN_LEFT));
	assert_true(libevdev_has_event_code(r.dev, EV_KEY, BTN_RIGHT));
	assert_true(libevdev_has_event_code(r.dev, EV_KEY, BTN_TOUCH));
	a = libevdev_get_abs_info(r.dev, ABS_X);
	assert_non_null(a);
	assert_int_equal(a->maximum, 32767);
	assert_int_equal(a->resolution, 12);
	a = libevdev_get_abs_info(r.dev, ABS_Y);
	assert_non_null(a);
	assert_int_equal(a->minimum, -100);
	assert_int_equal(a->maximum, 4095);
	assert_int_equal(a->fuzz, 4);
	assert_int_equal(a->flat, 8);
	assert_int_equal(r.nev, 2);
	assert_int_equal(r.ev[0].value, -50);
	assert_int_equal(r.ev[1].t_us, 3000000);      /* clamped, never earlier */
	input_recording_free(&r);
}

/* Each malformed recording fails, naming the line. */
static void test_evemu_malformed(void **state)
{
	static const struct {
		const char *text, *needle;
	} bad[] = {
		{ "", "no N:" },
		{ "# only a comment\n", "no N:" },
		{ "N: x\n", "no I:" },
		{ "N: x\nI: 0011 0001 0001\n", "line 2" },
		{ "N: x\nI: 0011 0001 0001 10000\n", "line 2" },
		{ "N: x\nI: 0011 0001 0001 0001 junk\n", "line 2" },
		{ "N:   \nI: 0 0 0 0\n", "line 1" },
		{ "N: x\nI: 0 0 0 0\nP: 00 00 00 00 00 00 00\n", "line 3" },
		{ "N: x\nI: 0 0 0 0\nP: 00 00 00 00 01 00 00 00\n", "line 3" },
		{ "N: x\nI: 0 0 0 0\nB: 01 00 00 00 00 00 00 00\n", "line 3" },
		{ "N: x\nI: 0 0 0 0\nB: 20 00 00 00 00 00 00 00 00\n", "line 3" },
		{ "N: x\nI: 0 0 0 0\nB: 11 00 00 10 00 00 00 00 00\n", "line 3" },
		{ "N: x\nI: 0 0 0 0\nB: 01 1g 00 00 00 00 00 00 00\n", "line 3" },
		{ "N: x\nI: 0 0 0 0\nA: 00 10 5 0 0 0\n", "line 3" },
		{ "N: x\nI: 0 0 0 0\nA: 00 0 5 0\n", "line 3" },
		{ "N: x\nI: 0 0 0 0\nA: 40 0 5 0 0 0\n", "line 3" },
		{ "N: x\nI: 0 0 0 0\nA: 00 0 5 0 0 0 7\n", "line 3" },
		{ "N: x\nI: 0 0 0 0\nA: 00 0 99999999999 0 0 0\n", "line 3" },
		{ "N: x\nI: 0 0 0 0\nL: 01\n", "line 3" },
		{ "N: x\nI: 0 0 0 0\nX: 01\n", "line 3" },
		{ "N: x\nI: 0 0 0 0\nhello\n", "line 3" },
		{ "E: 0.000001 0001 001e 0001\nN: x\nI: 0 0 0 0\n", "line 1" },
		{ "N: x\nI: 0 0 0 0\nE: 0.1 0001 001e 0001\n", "line 3" },
		{ "N: x\nI: 0 0 0 0\nE: 0.000001 0001 001e\n", "line 3" },
		{ "N: x\nI: 0 0 0 0\nE: 0.000001 10001 001e 1\n", "line 3" },
		{ "N: x\nI: 0 0 0 0\nE: 0.000001 0001 001e 1 2\n", "line 3" },
		{ "N: x\nI: 0 0 0 0\nE: 0.000001 0001 001e - 1\n", "line 3" },
		{ "N: x\nI: 0 0 0 0\nE: 0.000001 0001 001e 99999999999\n", "line 3" },
		{ "N: x\nI: 0 0 0 0\nE: 0.000001 0001 001e 1\nB: 01 00 00 00 00 00 00 00 00\n",
		  "line 4" },
		{ "N: x\nI: 0 0 0 0\nE: 0.000001 0001 001e 1\n\0\n", "line 4" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct input_recording r;
		char err[256] = "";
		size_t len = strlen(bad[i].text);

		if (strstr(bad[i].needle, "line 4") && strstr(bad[i].text, "1\n") &&
		    !strstr(bad[i].text, "B:"))
			len += 2;       /* the case with a NUL byte */
		if (input_evemu_parse(bad[i].text, len, &r, err, sizeof(err)) == 0) {
			input_recording_free(&r);
			fail_msg("case %zu parsed: %s", i, bad[i].text);
		}
		if (!strstr(err, bad[i].needle))
			fail_msg("case %zu: '%s' does not say '%s'", i, err, bad[i].needle);
		assert_null(r.dev);
		assert_null(r.ev);
	}
}

/* ---- config space ------------------------------------------------------ */

static void cfg(const struct libevdev *d, uint8_t sel, uint8_t sub, uint8_t buf[136])
{
	memset(buf, 0xa5, 136);
	input_config_fill(d, sel, sub, buf);
	assert_int_equal(buf[0], sel);
	assert_int_equal(buf[1], sub);
	for (unsigned i = 3; i < 8; i++)
		assert_int_equal(buf[i], 0);
	/* Bytes past size are zero. */
	for (unsigned i = 8u + buf[2]; i < 136; i++)
		assert_int_equal(buf[i], 0);
}

static uint32_t le32_at(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return le32toh(v);
}

static void test_config(void **state)
{
	struct input_recording kb, tb;
	uint8_t buf[136];
	uint16_t ids[4];

	(void)state;
	parse_ok(keyboard, &kb);
	parse_ok(tablet, &tb);

	cfg(kb.dev, VIRTIO_INPUT_CFG_ID_NAME, 0, buf);
	assert_int_equal(buf[2], strlen("vhd test keyboard"));
	assert_memory_equal(buf + 8, "vhd test keyboard", buf[2]);
	cfg(kb.dev, VIRTIO_INPUT_CFG_ID_NAME, 1, buf);
	assert_int_equal(buf[2], 0);

	cfg(kb.dev, VIRTIO_INPUT_CFG_ID_SERIAL, 0, buf);
	assert_int_equal(buf[2], 0);
	libevdev_set_uniq(kb.dev, "SN-42");
	cfg(kb.dev, VIRTIO_INPUT_CFG_ID_SERIAL, 0, buf);
	assert_int_equal(buf[2], 5);
	assert_memory_equal(buf + 8, "SN-42", 5);

	/* A name longer than u: cut at 128 bytes, size says so. */
	{
		char longname[200];

		memset(longname, 'n', sizeof(longname) - 1);
		longname[sizeof(longname) - 1] = 0;
		libevdev_set_name(kb.dev, longname);
		cfg(kb.dev, VIRTIO_INPUT_CFG_ID_NAME, 0, buf);
		assert_int_equal(buf[2], 128);
		assert_int_equal(buf[135], 'n');
	}

	cfg(kb.dev, VIRTIO_INPUT_CFG_ID_DEVIDS, 0, buf);
	assert_int_equal(buf[2], 8);
	memcpy(ids, buf + 8, 8);
	assert_int_equal(le16toh(ids[0]), 0x11);
	assert_int_equal(le16toh(ids[1]), 1);
	assert_int_equal(le16toh(ids[2]), 1);
	assert_int_equal(le16toh(ids[3]), 0xab41);

	/* EV_KEY: KEY_ESC (1), KEY_ENTER (28), KEY_A (30), KEY_CAPSLOCK (58). */
	cfg(kb.dev, VIRTIO_INPUT_CFG_EV_BITS, EV_KEY, buf);
	assert_int_equal(buf[2], 8);
	assert_int_equal(buf[8 + 0], 0x02);
	assert_int_equal(buf[8 + 3], 0x50);
	assert_int_equal(buf[8 + 7], 0x04);
	cfg(kb.dev, VIRTIO_INPUT_CFG_EV_BITS, EV_LED, buf);
	assert_int_equal(buf[2], 1);
	assert_int_equal(buf[8], 0x07);
	cfg(kb.dev, VIRTIO_INPUT_CFG_EV_BITS, EV_REP, buf);
	assert_int_equal(buf[2], 1);
	assert_int_equal(buf[8], 0x03);
	cfg(kb.dev, VIRTIO_INPUT_CFG_EV_BITS, EV_MSC, buf);
	assert_int_equal(buf[8], 0x10);
	cfg(kb.dev, VIRTIO_INPUT_CFG_EV_BITS, EV_ABS, buf);
	assert_int_equal(buf[2], 0);               /* not supported */
	cfg(kb.dev, VIRTIO_INPUT_CFG_EV_BITS, EV_SYN, buf);
	assert_int_equal(buf[2], 0);
	cfg(kb.dev, VIRTIO_INPUT_CFG_EV_BITS, 0xff, buf);
	assert_int_equal(buf[2], 0);
	cfg(kb.dev, VIRTIO_INPUT_CFG_PROP_BITS, 0, buf);
	assert_int_equal(buf[2], 0);
	cfg(kb.dev, VIRTIO_INPUT_CFG_ABS_INFO, ABS_X, buf);
	assert_int_equal(buf[2], 0);

	/* The tablet: BTN_LEFT/RIGHT (272, 273) and BTN_TOUCH (330). */
	cfg(tb.dev, VIRTIO_INPUT_CFG_EV_BITS, EV_KEY, buf);
	assert_int_equal(buf[2], 42);
	assert_int_equal(buf[8 + 34], 0x03);
	assert_int_equal(buf[8 + 41], 0x04);
	cfg(tb.dev, VIRTIO_INPUT_CFG_EV_BITS, EV_ABS, buf);
	assert_int_equal(buf[2], 1);
	assert_int_equal(buf[8], 0x03);
	cfg(tb.dev, VIRTIO_INPUT_CFG_PROP_BITS, 0, buf);
	assert_int_equal(buf[2], 1);
	assert_int_equal(buf[8], 1u << INPUT_PROP_POINTER);
	cfg(tb.dev, VIRTIO_INPUT_CFG_PROP_BITS, 1, buf);
	assert_int_equal(buf[2], 0);
	cfg(tb.dev, VIRTIO_INPUT_CFG_ABS_INFO, ABS_X, buf);
	assert_int_equal(buf[2], 20);
	assert_int_equal(le32_at(buf + 8), 0);
	assert_int_equal(le32_at(buf + 12), 32767);
	assert_int_equal(le32_at(buf + 24), 12);
	cfg(tb.dev, VIRTIO_INPUT_CFG_ABS_INFO, ABS_Y, buf);
	assert_int_equal(buf[2], 20);
	assert_int_equal((int32_t)le32_at(buf + 8), -100);
	assert_int_equal(le32_at(buf + 12), 4095);
	assert_int_equal(le32_at(buf + 16), 4);
	assert_int_equal(le32_at(buf + 20), 8);
	cfg(tb.dev, VIRTIO_INPUT_CFG_ABS_INFO, ABS_Z, buf);
	assert_int_equal(buf[2], 0);
	cfg(tb.dev, VIRTIO_INPUT_CFG_ABS_INFO, 0xff, buf);
	assert_int_equal(buf[2], 0);
	cfg(tb.dev, VIRTIO_INPUT_CFG_UNSET, 0, buf);
	assert_int_equal(buf[2], 0);
	cfg(tb.dev, 0x42, 0, buf);
	assert_int_equal(buf[2], 0);

	input_recording_free(&kb);
	input_recording_free(&tb);
}

/* ---- batching ----------------------------------------------------------- */

#define SYN(b) input_batch_add(b, INPUT_EV_SYN, INPUT_SYN_REPORT, 0)
#define KEY(b, c, v) input_batch_add(b, EV_KEY, c, v)

/* Pop the next report and check it: codes of its events, the last being
 * the end (SYN_REPORT, or SYN_DROPPED for a marker). */
static void expect_report(struct input_batch *b, const uint16_t *codes, unsigned n)
{
	struct input_ev out[64];

	assert_int_equal(input_batch_next_len(b), n);
	assert_int_equal(input_batch_pop(b, out, 64), n);
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(out[i].code, codes[i]);
}

static void test_batch_whole_reports(void **state)
{
	struct input_batch b;
	static const uint16_t r1[] = { KEY_A, KEY_B, INPUT_SYN_REPORT };
	static const uint16_t r2[] = { KEY_C, INPUT_SYN_REPORT };

	(void)state;
	assert_int_equal(input_batch_init(&b, 16), 0);
	KEY(&b, KEY_A, 1);
	KEY(&b, KEY_B, 1);
	/* Unfinished: nothing waits yet. */
	assert_int_equal(input_batch_waiting(&b), 0);
	assert_int_equal(input_batch_next_len(&b), 0);
	SYN(&b);
	KEY(&b, KEY_C, 1);
	SYN(&b);
	KEY(&b, KEY_D, 1);          /* the start of a third */
	assert_int_equal(input_batch_waiting(&b), 5);
	{
		struct input_ev small[2];

		/* A caller with room for less than the report gets nothing. */
		assert_int_equal(input_batch_pop(&b, small, 2), 0);
	}
	expect_report(&b, r1, 3);
	expect_report(&b, r2, 2);
	assert_int_equal(input_batch_waiting(&b), 0);
	assert_int_equal(b.dropped_reports, 0);
	input_batch_clear(&b);
	SYN(&b);                    /* the cleared KEY_D is not in it */
	assert_int_equal(input_batch_next_len(&b), 1);
	input_batch_free(&b);
	assert_int_equal(input_batch_init(&b, 1), -EINVAL);
}

/* max 8, reports of 2 events: the fifth report does not fit, so the four
 * waiting go and a SYN_DROPPED stands before it (evdev's rule); the
 * ring wraps around on the way. */
static void test_batch_overflow(void **state)
{
	struct input_batch b;
	static const uint16_t dropped[] = { INPUT_SYN_DROPPED };

	(void)state;
	assert_int_equal(input_batch_init(&b, 8), 0);
	for (uint16_t k = 1; k <= 10; k++) {
		KEY(&b, k, 1);
		SYN(&b);
		if (k == 2) {
			/* Take one out so that the ring wraps later. */
			uint16_t r[] = { 1, INPUT_SYN_REPORT };

			expect_report(&b, r, 2);
		}
	}
	/* 2..5 waited (8 events); 6 overflowed: [DROPPED, 6]; 7, 8 joined
	 * (7 events); 9 overflowed: [DROPPED, 9]; 10 joined. */
	expect_report(&b, dropped, 1);
	{
		uint16_t r9[] = { 9, INPUT_SYN_REPORT }, r10[] = { 10, INPUT_SYN_REPORT };

		expect_report(&b, r9, 2);
		expect_report(&b, r10, 2);
	}
	assert_int_equal(input_batch_waiting(&b), 0);
	assert_int_equal(b.dropped_reports, 4 + 3);
	assert_int_equal(b.drops, 2);
	input_batch_free(&b);
}

static void test_batch_source_dropped(void **state)
{
	struct input_batch b;
	static const uint16_t r1[] = { KEY_A, INPUT_SYN_REPORT };
	static const uint16_t dropped[] = { INPUT_SYN_DROPPED };
	static const uint16_t r2[] = { KEY_C, INPUT_SYN_REPORT };

	(void)state;
	assert_int_equal(input_batch_init(&b, 8), 0);
	KEY(&b, KEY_A, 1);
	SYN(&b);
	KEY(&b, KEY_B, 1);          /* half a report, then the source lost events */
	input_batch_add(&b, INPUT_EV_SYN, INPUT_SYN_DROPPED, 0);
	KEY(&b, KEY_C, 1);
	SYN(&b);
	expect_report(&b, r1, 2);
	expect_report(&b, dropped, 1);
	expect_report(&b, r2, 2);
	assert_int_equal(b.dropped_reports, 1);
	input_batch_free(&b);
}

/* A report longer than max can never wait whole: dropped, marked. */
static void test_batch_too_long(void **state)
{
	struct input_batch b;
	static const uint16_t dropped[] = { INPUT_SYN_DROPPED };
	static const uint16_t r[] = { KEY_Z, INPUT_SYN_REPORT };
	static const uint16_t r1[] = { KEY_A, INPUT_SYN_REPORT };

	(void)state;
	assert_int_equal(input_batch_init(&b, 4), 0);
	for (unsigned i = 0; i < 9; i++)
		KEY(&b, KEY_Q, 1);
	SYN(&b);
	KEY(&b, KEY_Z, 1);
	SYN(&b);
	expect_report(&b, dropped, 1);
	expect_report(&b, r, 2);
	assert_int_equal(b.dropped_reports, 1);

	/* drop_next: the oldest report becomes a marker, the next stays. */
	KEY(&b, KEY_A, 1);
	SYN(&b);
	KEY(&b, KEY_B, 1);
	KEY(&b, KEY_C, 1);
	SYN(&b);
	input_batch_drop_next(&b);
	expect_report(&b, dropped, 1);
	assert_int_equal(input_batch_waiting(&b), 3);
	input_batch_drop_next(&b);
	expect_report(&b, dropped, 1);
	assert_int_equal(input_batch_waiting(&b), 0);
	KEY(&b, KEY_A, 1);
	SYN(&b);
	expect_report(&b, r1, 2);
	input_batch_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_evemu_keyboard),
		cmocka_unit_test(test_evemu_tablet),
		cmocka_unit_test(test_evemu_malformed),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_batch_whole_reports),
		cmocka_unit_test(test_batch_overflow),
		cmocka_unit_test(test_batch_source_dropped),
		cmocka_unit_test(test_batch_too_long),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
