/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Integration: vhost-device-scmi (src/devices/scmi/) driven by
 * libvhu-frontend's virtio-scmi agent (tools/vhu-scmi.h) over a real
 * socket: several fake and IIO sensors (a fake sysfs tree in a temporary
 * directory), no sensors at all, malformed chains, continuous-update
 * notifications on the event queue (held buffers, dropped updates when
 * there is none, a reconnect with buffers held), and a driver that did not
 * ack VIRTIO_SCMI_F_P2A_CHANNELS.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "it-util.h"
#include "vhu-scmi.h"

#define TMO 30000  /* a failure bound only (docs/testing.md, busy machines) */
#define SENSOR VHU_SCMI_PROTO_SENSOR
#define BASE VHU_SCMI_PROTO_BASE

struct fixture {
	struct backend be;
	char sock[160];
	char iio[64];           /* fake sysfs directory */
};

static void put_file(const char *dir, const char *name, const char *text)
{
	char path[256];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static int start(void **state, bool with_sensors)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char accel[160], temp[160];
	const char *args[] = { "-d", "fake,name=acc", "-d", accel, "-d", "fake,name=gyro",
			       "-d", temp, NULL };

	if (!f)
		return -1;
	snprintf(f->iio, sizeof(f->iio), "/tmp/test-scmi-XXXXXX");
	if (!mkdtemp(f->iio))
		return -1;
	put_file(f->iio, "name", "iio-accel\n");
	put_file(f->iio, "in_accel_x_raw", "10\n");
	put_file(f->iio, "in_accel_y_raw", "20\n");
	put_file(f->iio, "in_accel_z_raw", "-30\n");
	put_file(f->iio, "in_accel_scale", "0.5\n");
	put_file(f->iio, "in_accel_offset", "1\n");
	put_file(f->iio, "in_temp_raw", "42000\n");
	snprintf(accel, sizeof(accel), "iio,path=%s,channel=in_accel", f->iio);
	snprintf(temp, sizeof(temp), "iio,path=%s,channel=in_temp,name=board", f->iio);
	if (backend_start(&f->be, "vhost-device-scmi", false, 1,
			  with_sensors ? args : (const char *[]){ NULL }) < 0) {
		free(f);
		return -1;
	}
	backend_socket(&f->be, false, 0, f->sock, sizeof(f->sock));
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return start(state, true);
}

static int setup_none(void **state)
{
	return start(state, false);
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	int st = backend_stop(&f->be);
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->iio);
	if (system(cmd) != 0)
		st = -1;
	free(f);
	return st == 0 ? 0 : -1;
}

static struct vhu_scmi *open_agent(struct fixture *f, bool p2a)
{
	struct vhu_scmi_opts o;
	struct vhu_scmi *d = NULL;
	char err[256] = "";

	vhu_scmi_defaults(&o, f->sock);
	o.connect_ms = TMO;
	o.no_p2a = !p2a;
	if (vhu_scmi_open(&o, &d, err, sizeof(err)) < 0)
		fail_msg("open: %s", err);
	return d;
}

static int32_t cmd(struct vhu_scmi *d, unsigned proto, unsigned msg, const uint32_t *p,
		   unsigned np)
{
	int32_t st = 1;

	if (vhu_scmi_cmd(d, proto, msg, p, np, &st, NULL, 0, NULL, TMO) < 0)
		fail_msg("proto 0x%x msg 0x%x: %s", proto, msg, vhu_scmi_error(d));
	return st;
}

static void read_sensor(struct vhu_scmi *d, uint32_t id, int64_t *v, unsigned want)
{
	struct vhu_scmi_reading r[3];
	unsigned n;
	int32_t st;

	assert_int_equal(vhu_scmi_read(d, id, r, 3, &n, &st, TMO), 0);
	assert_int_equal(st, 0);
	assert_int_equal(n, want);
	for (unsigned i = 0; i < n; i++)
		v[i] = r[i].value;
}

/* Every sensor listed as configured, each read with the values its
 * kind produces. */
static void test_sensors(void **state)
{
	struct fixture *f = *state;
	struct vhu_scmi *d = open_agent(f, true);
	struct vhu_scmi_sensor *s;
	unsigned n;
	int64_t v[3];

	if (vhu_scmi_sensors(d, &s, &n, TMO) < 0)
		fail_msg("%s", vhu_scmi_error(d));
	assert_int_equal(n, 4);
	assert_string_equal(s[0].name, "acc");
	assert_string_equal(s[1].name, "iio-accel");
	assert_string_equal(s[2].name, "gyro");
	assert_string_equal(s[3].name, "board");
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(s[i].id, i);
		assert_int_equal(s[i].num_axes, 3);
		assert_int_equal(s[i].type, 0x59);
		assert_true(s[i].notify);
		assert_true(s[i].timestamped);
		assert_int_equal(s[i].tstamp_exp, -9);
	}
	assert_string_equal(s[1].axis[2].name, "iio-accel_Z");
	assert_string_equal(s[2].axis[0].name, "gyro_X");
	assert_int_equal(s[3].num_axes, 0);
	assert_int_equal(s[3].type, 0x02);          /* degrees Celsius */
	/* (raw + 1) * 0.5 m/s^2 in 10^-4 units */
	assert_int_equal(s[1].scale, -4);
	read_sensor(d, 1, v, 3);
	assert_int_equal(v[0], 55000);
	assert_int_equal(v[1], 105000);
	assert_int_equal(v[2], -145000);
	/* 42000 m°C without a scale file: 42 °C in 10^-6 units */
	assert_int_equal(s[3].scale, -6);
	read_sensor(d, 3, v, 1);
	assert_int_equal(v[0], 42000000);
	put_file(f->iio, "in_temp_raw", "-5000\n");
	read_sensor(d, 3, v, 1);
	assert_int_equal(v[0], -5000000);
	/* two fakes, each counting its own readings */
	for (int64_t k = 0; k < 3; k++) {
		read_sensor(d, 0, v, 3);
		assert_int_equal(v[0], k);
		assert_int_equal(v[2], 2000 + k);
	}
	read_sensor(d, 2, v, 3);
	assert_int_equal(v[0], 0);
	assert_int_equal(v[1], 1000);
	free(s);
	vhu_scmi_close(d);
}

static void test_no_sensors(void **state)
{
	struct fixture *f = *state;
	struct vhu_scmi *d = open_agent(f, true);
	struct vhu_scmi_sensor *s;
	unsigned n = 99;
	uint8_t ret[16];
	int32_t st;

	/* The sensor protocol is listed, and has nothing. */
	assert_int_equal(vhu_scmi_cmd(d, BASE, 0x6, (uint32_t[]){ 0 }, 1, &st, ret, sizeof(ret),
				      NULL, TMO), 0);
	assert_int_equal(st, 0);
	assert_int_equal(ret[0], 1);
	assert_int_equal(ret[4], 0x15);
	assert_int_equal(vhu_scmi_sensors(d, &s, &n, TMO), 0);
	assert_int_equal(n, 0);
	free(s);
	assert_int_equal(cmd(d, SENSOR, 0x3, (uint32_t[]){ 0 }, 1), 0);
	assert_int_equal(cmd(d, SENSOR, 0x6, (uint32_t[]){ 0, 0 }, 2), -4);    /* NOT_FOUND */
	vhu_scmi_close(d);
}

/* Malformed chains, answered as the protocol says or completed empty. */
static void test_bad_requests(void **state)
{
	struct fixture *f = *state;
	struct vhu_scmi *d = open_agent(f, true);
	uint32_t hdr = htole32(0x3 | 0x10 << 10 | 7 << 18);   /* DISCOVER_VENDOR */
	uint8_t req[64] = { 0 }, resp[64];
	uint32_t len, le;

	memcpy(req, &hdr, 4);
	/* no writable buffer: nothing to answer */
	assert_int_equal(vhu_scmi_raw(d, req, 4, NULL, 0, &len, TMO), 0);
	assert_int_equal(len, 0);
	/* no header */
	assert_int_equal(vhu_scmi_raw(d, req, 3, resp, sizeof(resp), &len, TMO), 0);
	assert_int_equal(len, 0);
	/* room for the status only: COMMS_ERROR */
	assert_int_equal(vhu_scmi_raw(d, req, 4, resp, 12, &len, TMO), 0);
	assert_int_equal(len, 8);
	memcpy(&le, resp + 4, 4);
	assert_int_equal((int32_t)le32toh(le), -7);
	/* a request longer than any command: PROTOCOL_ERROR */
	assert_int_equal(vhu_scmi_raw(d, req, sizeof(req), resp, sizeof(resp), &len, TMO), 0);
	assert_int_equal(len, 8);
	memcpy(&le, resp + 4, 4);
	assert_int_equal((int32_t)le32toh(le), -10);
	/* the same, right: the vendor */
	assert_int_equal(vhu_scmi_raw(d, req, 4, resp, sizeof(resp), &len, TMO), 0);
	assert_int_equal(len, 24);
	assert_string_equal((char *)resp + 8, "vhost-device-c");
	/* a protocol not implemented (clock) */
	assert_int_equal(cmd(d, 0x14, 0x0, NULL, 0), -1);
	assert_true(backend_alive(&f->be));
	vhu_scmi_close(d);
}

static void enable(struct vhu_scmi *d, uint32_t id, uint32_t ms)
{
	/* ms x 10^-3 s, timestamps and sensor enabled */
	assert_int_equal(cmd(d, SENSOR, 0xa, (uint32_t[]){ id, ms << 16 | 0x1du << 11 | 3 }, 2),
			 0);
	assert_int_equal(cmd(d, SENSOR, 0xb, (uint32_t[]){ id, 1 }, 2), 0);
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t le;

	memcpy(&le, p, 4);
	return le32toh(le);
}

/* Wait for one notification; return its sensor and first value. */
static uint32_t next_update(struct vhu_scmi *d, int64_t *x, uint64_t *ts)
{
	uint8_t ev[VHU_SCMI_RESP_SIZE];
	uint32_t len;

	if (vhu_scmi_next_event(d, ev, sizeof(ev), &len, TMO) < 0)
		fail_msg("no notification: %s", vhu_scmi_error(d));
	assert_int_equal(get32(ev), 0x1 | 3 << 8 | 0x15 << 10);
	assert_true(len == 12 + 48 || len == 12 + 16);
	*x = (int64_t)((uint64_t)get32(ev + 12) | (uint64_t)get32(ev + 16) << 32);
	*ts = (uint64_t)get32(ev + 20) | (uint64_t)get32(ev + 24) << 32;
	return get32(ev + 8);
}

static void test_notifications(void **state)
{
	struct fixture *f = *state;
	struct vhu_scmi *d = open_agent(f, true);
	int64_t last[4] = { -1, -1, -1, -1 }, x, v[3];
	uint64_t ts, last_ts[4] = { 0 };
	unsigned seen[4] = { 0 };

	/* No buffer yet: the update is dropped, and said so. */
	enable(d, 0, 10);
	assert_int_equal(backend_wait_log(&f->be, "no event buffer", TMO), 0);
	assert_int_equal(vhu_scmi_post_events(d, 8, VHU_SCMI_RESP_SIZE), 0);
	enable(d, 2, 10);
	/* Both sensors' updates arrive, each series rising. */
	while (seen[0] < 5 || seen[2] < 5) {
		uint32_t id = next_update(d, &x, &ts);

		assert_true(id == 0 || id == 2);
		assert_true(x > last[id]);
		assert_true(ts > last_ts[id]);
		last[id] = x;
		last_ts[id] = ts;
		seen[id]++;
	}
	/* Off: no more samples are taken (two readings in a row are
	 * consecutive), and config says enabled still. */
	assert_int_equal(cmd(d, SENSOR, 0xb, (uint32_t[]){ 0, 0 }, 2), 0);
	assert_int_equal(cmd(d, SENSOR, 0xb, (uint32_t[]){ 2, 0 }, 2), 0);
	read_sensor(d, 0, v, 3);
	x = v[0];
	read_sensor(d, 0, v, 3);
	assert_int_equal(v[0], x + 1);
	vhu_scmi_close(d);

	/* A reconnect with buffers held: a new agent, default config
	 * (nothing due), and updates work again. */
	d = open_agent(f, true);
	assert_int_equal(vhu_scmi_post_events(d, 4, VHU_SCMI_RESP_SIZE), 0);
	assert_int_equal(cmd(d, SENSOR, 0x9, (uint32_t[]){ 0 }, 1), 0);
	enable(d, 3, 10);
	assert_int_equal(next_update(d, &x, &ts), 3);
	assert_int_equal(x, 42000000);
	vhu_scmi_close(d);
}

/* Without VIRTIO_SCMI_F_P2A_CHANNELS there is no event queue to use. */
static void test_no_p2a(void **state)
{
	struct fixture *f = *state;
	struct vhu_scmi *d = open_agent(f, false);

	assert_int_equal(cmd(d, SENSOR, 0xb, (uint32_t[]){ 0, 1 }, 2), -1);
	assert_int_equal(cmd(d, SENSOR, 0xb, (uint32_t[]){ 0, 0 }, 2), 0);
	assert_int_equal(cmd(d, SENSOR, 0x0, NULL, 0), 0);
	vhu_scmi_close(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sensors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_sensors, setup_none, teardown),
		cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_notifications, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_p2a, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
