/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Unit tests of vhost-device-scmi's modules: message framing (scmi-msg.c),
 * every command of the base (scmi-base.c) and sensor (scmi-sensor.c)
 * protocols with every status it can answer, the exact parameter sizes,
 * pagination to the response buffer, the notification builder, -d parsing
 * (scmi-devspec.c) and the IIO reader (scmi-iio.c) against a fake sysfs
 * tree in a temporary directory.
 */
#include "config.h"

#include <endian.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "devices/scmi/scmi-msg.h"

#define BASE SCMI_PROTO_BASE
#define SENSOR SCMI_PROTO_SENSOR
#define FULL (8 + 128)            /* Linux's response buffer */

/* ---- fixtures ---------------------------------------------------------- */

struct fx {
	struct scmi_sensor_set set;
	struct scmi_agent a;
	uint8_t resp[SCMI_MAX_RESPONSE];
	size_t len;
	int32_t status;
};

static int failing_read(struct scmi_sensor *s, int64_t *v)
{
	(void)s;
	(void)v;
	return -EIO;
}

static void failing_free(struct scmi_sensor *s)
{
	free(s);
}

static const struct scmi_sensor_ops failing_ops = { failing_read, failing_free };

/* A scalar sensor whose reads fail. */
static struct scmi_sensor *failing_sensor(void)
{
	struct scmi_sensor *s = calloc(1, sizeof(*s));

	strcpy(s->name, "broken");
	s->sclass = SCMI_CLASS_TEMPERATURE_C;
	s->scale = -3;
	s->ops = &failing_ops;
	return s;
}

static void add(struct fx *f, const char *spec)
{
	char err[256];

	assert_int_equal(scmi_sensor_add(&f->set, spec, err, sizeof(err)), 0);
}

/* Sensors: 0 acc (fake), 1 gyro (fake), 2 broken (scalar, failing). */
static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct scmi_sensor **grown;

	add(f, "fake,name=acc");
	add(f, "fake,name=gyro");
	grown = realloc(f->set.sensors, 3 * sizeof(*grown));
	assert_non_null(grown);
	f->set.sensors = grown;
	f->set.sensors[f->set.n++] = failing_sensor();
	assert_int_equal(scmi_agent_init(&f->a, &f->set), 0);
	*state = f;
	return 0;
}

static int setup_empty(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_int_equal(scmi_agent_init(&f->a, &f->set), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	scmi_agent_free(&f->a);
	scmi_sensor_set_free(&f->set);
	free(f);
	return 0;
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t le;

	memcpy(&le, p, 4);
	return le32toh(le);
}

static int64_t get64(const uint8_t *p)
{
	return (int64_t)((uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32);
}

/* Send header (proto, msg, token 0x155) + params, with a response buffer
 * of cap bytes; check the echoed header; return the status. */
static int32_t send_cap(struct fx *f, unsigned proto, unsigned msg, const uint32_t *p,
			unsigned np, size_t cap)
{
	uint8_t req[64];
	uint32_t hdr = SCMI_HDR(msg, SCMI_TYPE_COMMAND, proto, 0x155), le;

	le = htole32(hdr);
	memcpy(req, &le, 4);
	for (unsigned i = 0; i < np; i++) {
		le = htole32(p[i]);
		memcpy(req + 4 + 4 * i, &le, 4);
	}
	memset(f->resp, 0xee, sizeof(f->resp));
	f->len = scmi_handle(&f->a, req, 4 + 4 * np, f->resp, cap);
	assert_true(f->len >= 8);
	assert_int_equal(get32(f->resp), hdr);
	f->status = (int32_t)get32(f->resp + 4);
	if (f->status != SCMI_SUCCESS)
		assert_int_equal(f->len, 8);    /* an error has no return values */
	return f->status;
}

static int32_t send(struct fx *f, unsigned proto, unsigned msg, const uint32_t *p, unsigned np)
{
	return send_cap(f, proto, msg, p, np, FULL);
}

#define RET(f, off) get32((f)->resp + 8 + (off))

/* ---- framing ----------------------------------------------------------- */

static void test_framing(void **state)
{
	struct fx *f = *state;
	uint8_t req[8] = { 0 }, resp[16];
	uint32_t hdr;

	/* No header, or no room for header + status: nothing to answer. */
	assert_int_equal(scmi_handle(&f->a, req, 3, resp, sizeof(resp)), 0);
	assert_int_equal(scmi_handle(&f->a, req, 4, resp, 7), 0);
	/* The token comes back. */
	hdr = htole32(SCMI_HDR(0, 0, BASE, 0x3ff));
	memcpy(req, &hdr, 4);
	assert_int_equal(scmi_handle(&f->a, req, 4, resp, 12), 12);
	assert_int_equal(get32(resp), SCMI_HDR(0, 0, BASE, 0x3ff));
	assert_int_equal(get32(resp + 8), SCMI_BASE_VERSION);
	/* A type other than command (here a notification's). */
	hdr = htole32(SCMI_HDR(0, SCMI_TYPE_NOTIFICATION, BASE, 1));
	memcpy(req, &hdr, 4);
	assert_int_equal(scmi_handle(&f->a, req, 4, resp, 16), 8);
	assert_int_equal((int32_t)get32(resp + 4), SCMI_PROTOCOL_ERROR);
	/* Protocols not implemented: performance (0x13), clock (0x14). */
	assert_int_equal(send(f, 0x13, 0, NULL, 0), SCMI_NOT_SUPPORTED);
	assert_int_equal(send(f, 0x14, 0, NULL, 0), SCMI_NOT_SUPPORTED);
	/* Commands not implemented. */
	assert_int_equal(send(f, BASE, 0x8, (uint32_t[]){ 1 }, 1), SCMI_NOT_SUPPORTED);
	assert_int_equal(send(f, BASE, 0xb, NULL, 0), SCMI_NOT_SUPPORTED);
	assert_int_equal(send(f, SENSOR, 0x4, (uint32_t[]){ 0, 1 }, 2), SCMI_NOT_SUPPORTED);
	assert_int_equal(send(f, SENSOR, 0x5, (uint32_t[]){ 0, 1, 0, 0 }, 4), SCMI_NOT_SUPPORTED);
	assert_int_equal(send(f, SENSOR, 0xc, (uint32_t[]){ 0 }, 1), SCMI_NOT_SUPPORTED);
	assert_int_equal(send(f, SENSOR, 0xff, NULL, 0), SCMI_NOT_SUPPORTED);
}

/* Every implemented command, with one parameter word too few and too
 * many: PROTOCOL_ERROR. */
static void test_exact_sizes(void **state)
{
	static const struct {
		unsigned proto, msg, np;
	} cmds[] = {
		{ BASE, 0x0, 0 }, { BASE, 0x1, 0 }, { BASE, 0x2, 1 }, { BASE, 0x3, 0 },
		{ BASE, 0x4, 0 }, { BASE, 0x5, 0 }, { BASE, 0x6, 1 }, { BASE, 0x7, 1 },
		{ SENSOR, 0x0, 0 }, { SENSOR, 0x1, 0 }, { SENSOR, 0x2, 1 }, { SENSOR, 0x3, 1 },
		{ SENSOR, 0x6, 2 }, { SENSOR, 0x7, 2 }, { SENSOR, 0x8, 2 }, { SENSOR, 0x9, 1 },
		{ SENSOR, 0xa, 2 }, { SENSOR, 0xb, 2 },
	};
	struct fx *f = *state;
	uint32_t p[4] = { 0 };
	uint8_t req[7] = { 0 }, resp[16];
	uint32_t hdr = htole32(SCMI_HDR(0x2, 0, BASE, 0));

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		assert_int_equal(send(f, cmds[i].proto, cmds[i].msg, p, cmds[i].np + 1),
				 SCMI_PROTOCOL_ERROR);
		if (cmds[i].np)
			assert_int_equal(send(f, cmds[i].proto, cmds[i].msg, p, cmds[i].np - 1),
					 SCMI_PROTOCOL_ERROR);
		/* and the right size is not a PROTOCOL_ERROR */
		assert_int_not_equal(send(f, cmds[i].proto, cmds[i].msg, p, cmds[i].np),
				     SCMI_PROTOCOL_ERROR);
	}
	/* A parameter that is not a whole word. */
	memcpy(req, &hdr, 4);
	assert_int_equal(scmi_handle(&f->a, req, 7, resp, sizeof(resp)), 8);
	assert_int_equal((int32_t)get32(resp + 4), SCMI_PROTOCOL_ERROR);
}

/* ---- base protocol ----------------------------------------------------- */

static void test_base(void **state)
{
	struct fx *f = *state;

	assert_int_equal(send(f, BASE, 0x0, NULL, 0), SCMI_SUCCESS);
	assert_int_equal(f->len, 12);
	assert_int_equal(RET(f, 0), 0x20000);
	/* one protocol, one agent */
	assert_int_equal(send(f, BASE, 0x1, NULL, 0), SCMI_SUCCESS);
	assert_int_equal(RET(f, 0), 0x0101);
	/* message attributes: implemented 0..7, not 8, not > 0xff */
	for (uint32_t m = 0; m <= 7; m++) {
		assert_int_equal(send(f, BASE, 0x2, &m, 1), SCMI_SUCCESS);
		assert_int_equal(RET(f, 0), 0);
	}
	assert_int_equal(send(f, BASE, 0x2, (uint32_t[]){ 8 }, 1), SCMI_NOT_FOUND);
	assert_int_equal(send(f, BASE, 0x2, (uint32_t[]){ 0x100 }, 1), SCMI_NOT_FOUND);
	assert_int_equal(send(f, BASE, 0x3, NULL, 0), SCMI_SUCCESS);
	assert_int_equal(f->len, 8 + 16);
	assert_string_equal((char *)f->resp + 8, "vhost-device-c");
	assert_int_equal(send(f, BASE, 0x4, NULL, 0), SCMI_SUCCESS);
	assert_string_equal((char *)f->resp + 8, "virtio-scmi");
	assert_int_equal(send(f, BASE, 0x5, NULL, 0), SCMI_SUCCESS);
	assert_int_equal(f->len, 12);
	/* protocol list: padded to a word */
	assert_int_equal(send(f, BASE, 0x6, (uint32_t[]){ 0 }, 1), SCMI_SUCCESS);
	assert_int_equal(f->len, 16);
	assert_int_equal(RET(f, 0), 1);
	assert_int_equal(RET(f, 4), 0x15);
	assert_int_equal(send(f, BASE, 0x6, (uint32_t[]){ 1 }, 1), SCMI_SUCCESS);
	assert_int_equal(f->len, 12);
	assert_int_equal(RET(f, 0), 0);
	assert_int_equal(send(f, BASE, 0x6, (uint32_t[]){ 2 }, 1), SCMI_INVALID_PARAMETERS);
	/* agents: 0 the platform, 1 the guest, 0xffffffff the caller */
	assert_int_equal(send(f, BASE, 0x7, (uint32_t[]){ 0 }, 1), SCMI_SUCCESS);
	assert_int_equal(f->len, 8 + 4 + 16);
	assert_int_equal(RET(f, 0), 0);
	assert_string_equal((char *)f->resp + 12, "platform");
	assert_int_equal(send(f, BASE, 0x7, (uint32_t[]){ 0xffffffff }, 1), SCMI_SUCCESS);
	assert_int_equal(RET(f, 0), 1);
	assert_string_equal((char *)f->resp + 12, "OSPM");
	assert_int_equal(send(f, BASE, 0x7, (uint32_t[]){ 2 }, 1), SCMI_NOT_FOUND);
}

/* A response buffer too small for the return values: COMMS_ERROR. */
static void test_comms_error(void **state)
{
	struct fx *f = *state;

	assert_int_equal(send_cap(f, BASE, 0x0, NULL, 0, 11), SCMI_COMMS_ERROR);
	assert_int_equal(send_cap(f, BASE, 0x3, NULL, 0, 8 + 15), SCMI_COMMS_ERROR);
	assert_int_equal(send_cap(f, BASE, 0x7, (uint32_t[]){ 0 }, 1, 8 + 19), SCMI_COMMS_ERROR);
	assert_int_equal(send_cap(f, BASE, 0x6, (uint32_t[]){ 0 }, 1, 8 + 4), SCMI_COMMS_ERROR);
	assert_int_equal(send_cap(f, SENSOR, 0x1, NULL, 0, 8 + 12), SCMI_COMMS_ERROR);
	assert_int_equal(send_cap(f, SENSOR, 0x3, (uint32_t[]){ 0 }, 1, 8 + 4 + 27),
			 SCMI_COMMS_ERROR);
	assert_int_equal(send_cap(f, SENSOR, 0x7, (uint32_t[]){ 0, 0 }, 2, 8 + 4 + 47),
			 SCMI_COMMS_ERROR);
	assert_int_equal(send_cap(f, SENSOR, 0x6, (uint32_t[]){ 0, 0 }, 2, 8 + 47),
			 SCMI_COMMS_ERROR);
	assert_int_equal(send_cap(f, SENSOR, 0x8, (uint32_t[]){ 0, 0 }, 2, 8 + 15),
			 SCMI_COMMS_ERROR);
	assert_int_equal(send_cap(f, SENSOR, 0x9, (uint32_t[]){ 0 }, 1, 8 + 3),
			 SCMI_COMMS_ERROR);
}

/* ---- sensor protocol ---------------------------------------------------- */

static void test_sensor_attributes(void **state)
{
	struct fx *f = *state;

	assert_int_equal(send(f, SENSOR, 0x0, NULL, 0), SCMI_SUCCESS);
	assert_int_equal(RET(f, 0), 0x30000);
	assert_int_equal(send(f, SENSOR, 0x1, NULL, 0), SCMI_SUCCESS);
	assert_int_equal(f->len, 8 + 16);
	assert_int_equal(RET(f, 0), 3);
	for (uint32_t m = 0; m <= 0xb; m++) {
		int32_t st = send(f, SENSOR, 0x2, &m, 1);

		assert_int_equal(st, m == 4 || m == 5 ? SCMI_NOT_FOUND : SCMI_SUCCESS);
	}
	assert_int_equal(send(f, SENSOR, 0x2, (uint32_t[]){ 0xc }, 1), SCMI_NOT_FOUND);
}

static void test_description(void **state)
{
	struct fx *f = *state;
	uint32_t low, high;

	/* All three in Linux's buffer: 28 + 28 + 52 bytes. */
	assert_int_equal(send(f, SENSOR, 0x3, (uint32_t[]){ 0 }, 1), SCMI_SUCCESS);
	assert_int_equal(f->len, 8 + 4 + 28 + 28 + 52);
	assert_int_equal(RET(f, 0), 3);                  /* 3 returned, 0 remaining */
	assert_int_equal(RET(f, 4), 0);                  /* id */
	low = RET(f, 8);
	high = RET(f, 12);
	assert_int_equal(low >> 30 & 1, 1);              /* continuous updates */
	assert_int_equal(low >> 31, 0);                  /* no async read */
	assert_int_equal(low >> 9 & 1, 1);               /* timestamps */
	assert_int_equal(low >> 10 & 0x1f, (uint32_t)-9 & 0x1f);
	assert_int_equal(low >> 8 & 1, 0);               /* no extended attrs */
	assert_int_equal(low & 0xff, 0);                 /* no trip points */
	assert_int_equal(high & 0xff, 0x59);             /* m/s^2 */
	assert_int_equal(high >> 8 & 1, 1);              /* axes */
	assert_int_equal(high >> 16 & 0x3f, 3);
	assert_int_equal(high >> 11 & 0x1f, (uint32_t)-3 & 0x1f);
	assert_string_equal((char *)f->resp + 8 + 4 + 12, "acc");
	assert_string_equal((char *)f->resp + 8 + 4 + 28 + 12, "gyro");
	/* the scalar one has its extended attributes */
	assert_int_equal(RET(f, 4 + 56), 2);
	assert_int_equal(RET(f, 4 + 56 + 4) >> 8 & 1, 1);
	assert_int_equal(RET(f, 4 + 56 + 8) >> 8 & 1, 0);
	assert_string_equal((char *)f->resp + 8 + 4 + 56 + 12, "broken");

	/* Paged to the buffer: room for one 28-byte descriptor. */
	assert_int_equal(send_cap(f, SENSOR, 0x3, (uint32_t[]){ 0 }, 1, 8 + 4 + 28 + 27),
			 SCMI_SUCCESS);
	assert_int_equal(RET(f, 0), 1 | 2 << 16);
	assert_int_equal(send_cap(f, SENSOR, 0x3, (uint32_t[]){ 1 }, 1, 8 + 4 + 28 + 51),
			 SCMI_SUCCESS);
	assert_int_equal(RET(f, 0), 1 | 1 << 16);
	assert_int_equal(RET(f, 4), 1);
	assert_int_equal(send_cap(f, SENSOR, 0x3, (uint32_t[]){ 2 }, 1, 8 + 4 + 52),
			 SCMI_SUCCESS);
	assert_int_equal(RET(f, 0), 1);
	/* Past the end: nothing left; further: INVALID_PARAMETERS. */
	assert_int_equal(send(f, SENSOR, 0x3, (uint32_t[]){ 3 }, 1), SCMI_SUCCESS);
	assert_int_equal(RET(f, 0), 0);
	assert_int_equal(send(f, SENSOR, 0x3, (uint32_t[]){ 4 }, 1), SCMI_INVALID_PARAMETERS);
	assert_int_equal(send(f, SENSOR, 0x3, (uint32_t[]){ 0xffffffff }, 1),
			 SCMI_INVALID_PARAMETERS);
}

static void test_axis_description(void **state)
{
	struct fx *f = *state;

	assert_int_equal(send(f, SENSOR, 0x7, (uint32_t[]){ 0, 0 }, 2), SCMI_SUCCESS);
	/* 2 of 48 bytes fit in 128: 2 returned, 1 remaining */
	assert_int_equal(f->len, 8 + 4 + 2 * 48);
	assert_int_equal(RET(f, 0), 2 | 1u << 26);
	assert_int_equal(RET(f, 4), 0);
	assert_int_equal(RET(f, 8) >> 8 & 1, 1);         /* extended attributes */
	assert_int_equal(RET(f, 12) & 0xff, 0x59);
	assert_string_equal((char *)f->resp + 8 + 4 + 12, "acc_X");
	assert_string_equal((char *)f->resp + 8 + 4 + 48 + 12, "acc_Y");
	assert_int_equal(send(f, SENSOR, 0x7, (uint32_t[]){ 0, 2 }, 2), SCMI_SUCCESS);
	assert_int_equal(RET(f, 0), 1);
	assert_int_equal(RET(f, 4), 2);
	assert_string_equal((char *)f->resp + 8 + 4 + 12, "acc_Z");
	assert_int_equal(send(f, SENSOR, 0x7, (uint32_t[]){ 0, 3 }, 2), SCMI_INVALID_PARAMETERS);
	assert_int_equal(send(f, SENSOR, 0x7, (uint32_t[]){ 2, 0 }, 2), SCMI_NOT_SUPPORTED);
	assert_int_equal(send(f, SENSOR, 0x7, (uint32_t[]){ 3, 0 }, 2), SCMI_NOT_FOUND);
}

static void test_reading(void **state)
{
	struct fx *f = *state;

	for (int64_t k = 0; k < 3; k++) {
		assert_int_equal(send(f, SENSOR, 0x6, (uint32_t[]){ 1, 0 }, 2), SCMI_SUCCESS);
		assert_int_equal(f->len, 8 + 3 * 16);
		assert_int_equal(get64(f->resp + 8), k);
		assert_int_equal(get64(f->resp + 8 + 16), 1000 + k);
		assert_int_equal(get64(f->resp + 8 + 32), 2000 + k);
		assert_int_equal(get64(f->resp + 8 + 8), 0);     /* timestamps off */
	}
	/* Sensor 0 counts on its own. */
	assert_int_equal(send(f, SENSOR, 0x6, (uint32_t[]){ 0, 0 }, 2), SCMI_SUCCESS);
	assert_int_equal(get64(f->resp + 8), 0);
	/* Timestamps on. */
	assert_int_equal(send(f, SENSOR, 0xa, (uint32_t[]){ 0, SCMI_CFG_DEFAULT | 3 }, 2),
			 SCMI_SUCCESS);
	assert_int_equal(send(f, SENSOR, 0x6, (uint32_t[]){ 0, 0 }, 2), SCMI_SUCCESS);
	assert_true(get64(f->resp + 8 + 8) > 0);
	assert_int_equal(get64(f->resp + 8 + 8), get64(f->resp + 8 + 24));
	/* Errors. */
	assert_int_equal(send(f, SENSOR, 0x6, (uint32_t[]){ 3, 0 }, 2), SCMI_NOT_FOUND);
	assert_int_equal(send(f, SENSOR, 0x6, (uint32_t[]){ 0, 1 }, 2), SCMI_NOT_SUPPORTED);
	assert_int_equal(send(f, SENSOR, 0x6, (uint32_t[]){ 0, 2 }, 2), SCMI_INVALID_PARAMETERS);
	assert_int_equal(send(f, SENSOR, 0x6, (uint32_t[]){ 2, 0 }, 2), SCMI_HARDWARE_ERROR);
}

static void test_config(void **state)
{
	struct fx *f = *state;
	uint32_t cfg = 5u << 16 | ((uint32_t)-2 & 0x1f) << 11;     /* 50 ms */

	assert_int_equal(send(f, SENSOR, 0x9, (uint32_t[]){ 0 }, 1), SCMI_SUCCESS);
	assert_int_equal(f->len, 12);
	assert_int_equal(RET(f, 0), SCMI_CFG_DEFAULT);
	assert_int_equal(scmi_cfg_interval_ns(RET(f, 0)), 100000000);
	assert_int_equal(send(f, SENSOR, 0x9, (uint32_t[]){ 3 }, 1), SCMI_NOT_FOUND);
	/* set, with rounding "auto": stored without it */
	assert_int_equal(send(f, SENSOR, 0xa, (uint32_t[]){ 1, cfg | 2u << 9 | 1 }, 2),
			 SCMI_SUCCESS);
	assert_int_equal(f->len, 8);
	assert_true(f->a.notify_changed);
	assert_int_equal(send(f, SENSOR, 0x9, (uint32_t[]){ 1 }, 1), SCMI_SUCCESS);
	assert_int_equal(RET(f, 0), cfg | 1);
	assert_int_equal(scmi_cfg_interval_ns(RET(f, 0)), 50000000);
	/* interval 0 keeps the interval */
	assert_int_equal(send(f, SENSOR, 0xa, (uint32_t[]){ 1, 3 }, 2), SCMI_SUCCESS);
	assert_int_equal(send(f, SENSOR, 0x9, (uint32_t[]){ 1 }, 1), SCMI_SUCCESS);
	assert_int_equal(RET(f, 0), cfg | 3);
	/* the other sensor is untouched */
	assert_int_equal(send(f, SENSOR, 0x9, (uint32_t[]){ 0 }, 1), SCMI_SUCCESS);
	assert_int_equal(RET(f, 0), SCMI_CFG_DEFAULT);
	/* reserved bits, rounding 3, unknown sensor */
	for (unsigned b = 2; b <= 8; b++)
		assert_int_equal(send(f, SENSOR, 0xa, (uint32_t[]){ 1, cfg | 1u << b }, 2),
				 SCMI_INVALID_PARAMETERS);
	assert_int_equal(send(f, SENSOR, 0xa, (uint32_t[]){ 1, cfg | 3u << 9 }, 2),
			 SCMI_INVALID_PARAMETERS);
	assert_int_equal(send(f, SENSOR, 0xa, (uint32_t[]){ 3, cfg }, 2), SCMI_NOT_FOUND);
	/* a new agent starts from the defaults */
	scmi_agent_reset(&f->a);
	assert_int_equal(send(f, SENSOR, 0x9, (uint32_t[]){ 1 }, 1), SCMI_SUCCESS);
	assert_int_equal(RET(f, 0), SCMI_CFG_DEFAULT);
}

static void test_intervals(void **state)
{
	struct fx *f = *state;

	assert_int_equal(send(f, SENSOR, 0x8, (uint32_t[]){ 0, 0 }, 2), SCMI_SUCCESS);
	assert_int_equal(f->len, 8 + 16);
	assert_int_equal(RET(f, 0), 3 | 1u << 12);
	assert_int_equal(RET(f, 4), 1u << 5 | 0x1e);    /* 1 x 10^-2 s */
	assert_int_equal(RET(f, 8), 10u << 5);          /* 10 s */
	assert_int_equal(send(f, SENSOR, 0x8, (uint32_t[]){ 0, 1 }, 2), SCMI_OUT_OF_RANGE);
	assert_int_equal(send(f, SENSOR, 0x8, (uint32_t[]){ 3, 0 }, 2), SCMI_NOT_FOUND);
	/* the clamps of the notification interval */
	assert_int_equal(scmi_cfg_interval_ns(1u << 16 | 0x1du << 11), 10000000);   /* 1 ms */
	assert_int_equal(scmi_cfg_interval_ns(100u << 16), 10000000000ull);        /* 100 s */
	assert_int_equal(scmi_cfg_interval_ns(1u << 16 | 1u << 11), 10000000000ull); /* 10 s */
	assert_int_equal(scmi_cfg_interval_ns(0xffffu << 16 | 0xfu << 11), 10000000000ull);
}

static void test_notify(void **state)
{
	struct fx *f = *state;
	uint8_t buf[64];

	f->a.notify_changed = false;
	assert_int_equal(send(f, SENSOR, 0xb, (uint32_t[]){ 1, 1 }, 2), SCMI_SUCCESS);
	assert_int_equal(f->len, 8);
	assert_true(f->a.notify_changed);
	assert_true(f->a.st[1].notify);
	assert_int_equal(send(f, SENSOR, 0xb, (uint32_t[]){ 1, 0 }, 2), SCMI_SUCCESS);
	assert_false(f->a.st[1].notify);
	assert_int_equal(send(f, SENSOR, 0xb, (uint32_t[]){ 1, 2 }, 2), SCMI_INVALID_PARAMETERS);
	assert_int_equal(send(f, SENSOR, 0xb, (uint32_t[]){ 3, 1 }, 2), SCMI_NOT_FOUND);
	/* without an event queue there is nowhere to send them */
	f->a.p2a = false;
	assert_int_equal(send(f, SENSOR, 0xb, (uint32_t[]){ 1, 1 }, 2), SCMI_NOT_SUPPORTED);
	assert_int_equal(send(f, SENSOR, 0xb, (uint32_t[]){ 1, 0 }, 2), SCMI_SUCCESS);
	f->a.p2a = true;

	/* The notification: header, agent, sensor, readings. */
	assert_int_equal(scmi_sensor_update_notification(&f->a, 1, buf, sizeof(buf)), 12 + 48);
	assert_int_equal(get32(buf), SCMI_HDR(1, 3, SENSOR, 0));
	assert_int_equal(get32(buf + 4), 0);
	assert_int_equal(get32(buf + 8), 1);
	assert_int_equal(get64(buf + 12), 0);
	assert_int_equal(get64(buf + 12 + 16), 1000);
	assert_int_equal(scmi_sensor_update_notification(&f->a, 1, buf, 12 + 47), 0);
	assert_int_equal(scmi_sensor_update_notification(&f->a, 1, buf, 11), 0);
	assert_int_equal(scmi_sensor_update_notification(&f->a, 2, buf, sizeof(buf)), -1);
}

/* No sensors: the protocol is there, with nothing in it. */
static void test_no_sensors(void **state)
{
	struct fx *f = *state;

	assert_int_equal(send(f, SENSOR, 0x1, NULL, 0), SCMI_SUCCESS);
	assert_int_equal(RET(f, 0), 0);
	assert_int_equal(send(f, SENSOR, 0x3, (uint32_t[]){ 0 }, 1), SCMI_SUCCESS);
	assert_int_equal(f->len, 12);
	assert_int_equal(RET(f, 0), 0);
	assert_int_equal(send(f, SENSOR, 0x3, (uint32_t[]){ 1 }, 1), SCMI_INVALID_PARAMETERS);
	assert_int_equal(send(f, SENSOR, 0x6, (uint32_t[]){ 0, 0 }, 2), SCMI_NOT_FOUND);
	assert_int_equal(send(f, SENSOR, 0x9, (uint32_t[]){ 0 }, 1), SCMI_NOT_FOUND);
	assert_int_equal(send(f, SENSOR, 0xb, (uint32_t[]){ 0, 1 }, 2), SCMI_NOT_FOUND);
}

/* ---- -d parsing -------------------------------------------------------- */

static void expect_bad(const char *spec, const char *needle)
{
	struct scmi_sensor_set set = { NULL, 0 };
	char err[512] = "";

	assert_int_equal(scmi_sensor_add(&set, spec, err, sizeof(err)), -1);
	if (!strstr(err, needle))
		fail_msg("'%s': error '%s' lacks '%s'", spec, err, needle);
	assert_int_equal(set.n, 0);
}

static void test_devspec(void **state)
{
	struct scmi_sensor_set set = { NULL, 0 };
	char err[256];

	(void)state;
	assert_int_equal(scmi_sensor_add(&set, "fake", err, sizeof(err)), 0);
	assert_int_equal(scmi_sensor_add(&set, "fake,name=0123456789abcde", err, sizeof(err)), 0);
	assert_int_equal(set.n, 2);
	assert_string_equal(set.sensors[0]->name, "fake");
	assert_string_equal(set.sensors[1]->name, "0123456789abcde");
	/* the axis names keep the letter after the last '_' */
	assert_string_equal(set.sensors[1]->axis_name[2], "0123456789abc_Z");
	scmi_sensor_set_free(&set);

	expect_bad("", "empty device");
	expect_bad("gpu", "unknown device 'gpu'");
	expect_bad("fake,name=0123456789abcdef", "1 to 15 characters");
	expect_bad("fake,name=", "1 to 15 characters");
	expect_bad("fake,colour=red", "unknown property 'colour=red'");
	expect_bad("iio,channel=in_accel", "path= and channel= are required");
	expect_bad("iio,path=/tmp", "path= and channel= are required");
	expect_bad("iio,path=/nonexistent,channel=in_accel", "neither");
	expect_bad("iio,path=/tmp,channel=in_accel,speed=1", "unknown property 'speed=1'");
	expect_bad("fake,a=1,b=2,c=3,d=4,e=5,f=6,g=7,h=8,i=9", "more than 8 properties");
}

/* ---- IIO against a fake sysfs directory ------------------------------- */

static void put_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static void test_iio(void **state)
{
	char dir[] = "/tmp/test-scmi-iio-XXXXXX", spec[512], err[512] = "", cmd[600];
	struct scmi_sensor_set set = { NULL, 0 };
	struct scmi_agent a;
	struct fx f;
	int64_t v[3];

	(void)state;
	assert_non_null(mkdtemp(dir));
	put_file(dir, "name", "lsm6dsx_accel\n");
	put_file(dir, "in_accel_x_raw", "100\n");
	put_file(dir, "in_accel_y_raw", "-200\n");
	put_file(dir, "in_accel_z_raw", "16384\n");
	put_file(dir, "in_accel_scale", "0.000598\n");  /* m/s^2 per step */
	put_file(dir, "in_temp_raw", "2500\n");
	put_file(dir, "in_temp_offset", "500\n");
	put_file(dir, "in_temp_scale", "10\n");          /* 10 milli-degC per step */

	/* 3 axes; scale 0.000598 -> 10^-7 units: 100 steps = 0.0598 m/s^2 */
	snprintf(spec, sizeof(spec), "iio,path=%s,channel=in_accel", dir);
	if (scmi_sensor_add(&set, spec, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_string_equal(set.sensors[0]->name, "lsm6dsx_accel");
	assert_string_equal(set.sensors[0]->axis_name[0], "lsm6dsx_accel_X");
	assert_int_equal(set.sensors[0]->num_axes, 3);
	assert_int_equal(set.sensors[0]->sclass, SCMI_CLASS_METERS_SEC_SQUARED);
	assert_int_equal(set.sensors[0]->scale, -7);
	assert_int_equal(set.sensors[0]->ops->read(set.sensors[0], v), 0);
	assert_int_equal(v[0], 598000);
	assert_int_equal(v[1], -1196000);
	assert_int_equal(v[2], 16384 * 5980);
	/* _raw is read each time */
	put_file(dir, "in_accel_x_raw", "1\n");
	assert_int_equal(set.sensors[0]->ops->read(set.sensors[0], v), 0);
	assert_int_equal(v[0], 5980);

	/* scalar: (2500 + 500) * 10 m°C = 30 °C, in 10^-5 units */
	snprintf(spec, sizeof(spec), "iio,path=%s,channel=in_temp,name=board", dir);
	if (scmi_sensor_add(&set, spec, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_string_equal(set.sensors[1]->name, "board");
	assert_int_equal(set.sensors[1]->num_axes, 0);
	assert_int_equal(set.sensors[1]->sclass, SCMI_CLASS_TEMPERATURE_C);
	assert_int_equal(set.sensors[1]->scale, -5);
	assert_int_equal(set.sensors[1]->ops->read(set.sensors[1], v), 0);
	assert_int_equal(v[0], 3000000);

	/* through the protocol: a reading, then the file goes away */
	assert_int_equal(scmi_agent_init(&a, &set), 0);
	f.a = a;
	assert_int_equal(send(&f, SENSOR, 0x6, (uint32_t[]){ 1, 0 }, 2), SCMI_SUCCESS);
	assert_int_equal(f.len, 8 + 16);
	assert_int_equal(get64(f.resp + 8), 3000000);
	put_file(dir, "in_temp_raw", "oops\n");
	assert_int_equal(send(&f, SENSOR, 0x6, (uint32_t[]){ 1, 0 }, 2), SCMI_HARDWARE_ERROR);
	snprintf(cmd, sizeof(cmd), "%s/in_temp_raw", dir);
	unlink(cmd);
	assert_int_equal(send(&f, SENSOR, 0x6, (uint32_t[]){ 1, 0 }, 2), SCMI_HARDWARE_ERROR);
	scmi_agent_free(&f.a);
	scmi_sensor_set_free(&set);

	/* a scale that is not a number */
	put_file(dir, "in_accel_scale", "fast\n");
	snprintf(spec, sizeof(spec), "iio,path=%s,channel=in_accel", dir);
	assert_int_equal(scmi_sensor_add(&set, spec, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a number"));
	/* neither _x.._z nor plain _raw */
	snprintf(spec, sizeof(spec), "iio,path=%s,channel=in_magn", dir);
	assert_int_equal(scmi_sensor_add(&set, spec, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "neither"));

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_framing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exact_sizes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_base, setup, teardown),
		cmocka_unit_test_setup_teardown(test_comms_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sensor_attributes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_description, setup, teardown),
		cmocka_unit_test_setup_teardown(test_axis_description, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reading, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_intervals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_notify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_sensors, setup_empty, teardown),
		cmocka_unit_test(test_devspec),
		cmocka_unit_test(test_iio),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
