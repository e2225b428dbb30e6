/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Integration: vhost-device-input (src/devices/input/) replaying evemu
 * recordings (tests/integration/test-input-*.evemu), driven by
 * libvhu-frontend's virtio-input guest driver (tools/vhu-input.h) over
 * real sockets: one socket per --event-list entry, the config space of a
 * keyboard and of an absolute pointer, the recording's events in order and
 * no faster than recorded, whole reports only, the overflow rule (whole
 * reports dropped behind SYN_DROPPED), the status queue, malformed event
 * buffers, and a reconnect (a new guest gets the recording from the start).
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
#include <sys/wait.h>

#include "backend.h"
#include "it-util.h"
#include "vhu-input.h"

#define TMO 30000  /* a failure bound only (docs/testing.md, busy machines) */

#define EV_SYN 0
#define EV_KEY 1
#define EV_ABS 3
#define EV_MSC 4
#define EV_LED 0x11
#define EV_REP 0x14
#define SYN_REPORT 0
#define SYN_DROPPED 3
#define KEY_ENTER 28
#define KEY_A 30
#define BTN_LEFT 0x110
#define LED_CAPSL 1

struct fixture {
	struct backend be;
	char kb[160], tablet[160];
};

static void recording(const char *name, char *out, size_t len)
{
	const char *src = getenv("VHD_SRCDIR");

	snprintf(out, len, "%s/tests/integration/%s", src ? src : "..", name);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char list[512], kb[240], tb[240];
	const char *args[] = { "-v", "-e", list, NULL };

	if (!f)
		return -1;
	recording("test-input-keyboard.evemu", kb, sizeof(kb));
	recording("test-input-tablet.evemu", tb, sizeof(tb));
	snprintf(list, sizeof(list), "%s,%s", kb, tb);
	if (backend_start(&f->be, "vhost-device-input", true, 2, args) < 0) {
		free(f);
		return -1;
	}
	backend_socket(&f->be, true, 0, f->kb, sizeof(f->kb));
	backend_socket(&f->be, true, 1, f->tablet, sizeof(f->tablet));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	int st = backend_stop(&f->be);

	free(f);
	return st == 0 ? 0 : -1;
}

static struct vhu_input *open_input(const char *sock)
{
	struct vhu_input_opts o;
	struct vhu_input *d = NULL;
	char err[256] = "";

	vhu_input_defaults(&o, sock);
	o.connect_ms = TMO;
	if (vhu_input_open(&o, &d, err, sizeof(err)) < 0)
		fail_msg("open %s: %s", sock, err);
	return d;
}

static unsigned cfg(struct vhu_input *d, uint8_t sel, uint8_t sub, uint8_t u[128])
{
	uint8_t size = 0;
	int r = vhu_input_config(d, sel, sub, u, &size);

	if (r < 0)
		fail_msg("config %u/%u: %d %s", sel, sub, r, vhu_input_error(d));
	return size;
}

static uint32_t le32_at(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return le32toh(v);
}

static void test_config_keyboard(void **state)
{
	struct fixture *f = *state;
	struct vhu_input *d = open_input(f->kb);
	uint8_t u[128];
	uint16_t ids[4];

	assert_int_equal(cfg(d, VHU_INPUT_CFG_ID_NAME, 0, u), strlen("vhd test keyboard"));
	assert_memory_equal(u, "vhd test keyboard", strlen("vhd test keyboard"));
	assert_int_equal(cfg(d, VHU_INPUT_CFG_ID_SERIAL, 0, u), 0);
	assert_int_equal(cfg(d, VHU_INPUT_CFG_ID_DEVIDS, 0, u), 8);
	memcpy(ids, u, 8);
	assert_int_equal(le16toh(ids[0]), 0x11);
	assert_int_equal(le16toh(ids[3]), 0xab41);
	assert_int_equal(cfg(d, VHU_INPUT_CFG_EV_BITS, EV_KEY, u), 8);
	assert_int_equal(u[3], 0x50);           /* KEY_ENTER, KEY_A */
	assert_int_equal(cfg(d, VHU_INPUT_CFG_EV_BITS, EV_LED, u), 1);
	assert_int_equal(u[0], 0x07);
	assert_int_equal(cfg(d, VHU_INPUT_CFG_EV_BITS, EV_REP, u), 1);
	assert_int_equal(cfg(d, VHU_INPUT_CFG_EV_BITS, EV_ABS, u), 0);
	assert_int_equal(cfg(d, VHU_INPUT_CFG_PROP_BITS, 0, u), 0);
	assert_int_equal(cfg(d, 0x77, 0, u), 0);

	/* QEMU writes the whole config space at offset 0: only select and
	 * subsel count. */
	{
		uint8_t msg[sizeof(struct vhu_config_hdr) + 136] = { 0 };
		struct vhu_config_hdr h = { .offset = 0, .size = 136, .flags = 0 };
		uint8_t back[136];

		memcpy(msg, &h, sizeof(h));
		msg[sizeof(h)] = VHU_INPUT_CFG_EV_BITS;
		msg[sizeof(h) + 1] = EV_LED;
		msg[sizeof(h) + 2] = 99;        /* size: read-only */
		memset(msg + sizeof(h) + 8, 0x5a, 128);
		assert_int_equal(vhu_request(vhu_input_session(d)->c, VHU_SET_CONFIG,
					     VHU_FLAG_NEED_REPLY, msg, sizeof(msg), NULL, 0,
					     NULL, 0), 0);
		assert_int_equal(vhu_get_config(vhu_input_session(d)->c, 0, 136, back), 0);
		assert_int_equal(back[0], VHU_INPUT_CFG_EV_BITS);
		assert_int_equal(back[1], EV_LED);
		assert_int_equal(back[2], 1);
		assert_int_equal(back[8], 0x07);
		assert_int_equal(back[9], 0);
	}
	vhu_input_close(d);
}

static void test_config_tablet(void **state)
{
	struct fixture *f = *state;
	struct vhu_input *d = open_input(f->tablet);
	uint8_t u[128];

	assert_int_equal(cfg(d, VHU_INPUT_CFG_ID_NAME, 0, u), strlen("vhd test tablet"));
	assert_int_equal(cfg(d, VHU_INPUT_CFG_PROP_BITS, 0, u), 1);
	assert_int_equal(u[0], 1);              /* INPUT_PROP_POINTER */
	assert_int_equal(cfg(d, VHU_INPUT_CFG_EV_BITS, EV_ABS, u), 1);
	assert_int_equal(u[0], 0x03);
	assert_int_equal(cfg(d, VHU_INPUT_CFG_EV_BITS, EV_KEY, u), 42);
	assert_int_equal(u[34], 0x03);
	assert_int_equal(u[41], 0x04);
	assert_int_equal(cfg(d, VHU_INPUT_CFG_ABS_INFO, 0, u), 20);
	assert_int_equal(le32_at(u), 0);
	assert_int_equal(le32_at(u + 4), 32767);
	assert_int_equal(le32_at(u + 16), 12);
	assert_int_equal(cfg(d, VHU_INPUT_CFG_ABS_INFO, 1, u), 20);
	assert_int_equal((int32_t)le32_at(u), -100);
	assert_int_equal(le32_at(u + 4), 4095);
	assert_int_equal(le32_at(u + 8), 4);
	assert_int_equal(le32_at(u + 12), 8);
	assert_int_equal(cfg(d, VHU_INPUT_CFG_ABS_INFO, 2, u), 0);
	vhu_input_close(d);
}

/* Read exactly n events (failure bound TMO). */
static void read_n(struct vhu_input *d, struct vhu_input_event *ev, unsigned n)
{
	unsigned got = 0;
	int64_t end = it_now_ms() + TMO;

	while (got < n) {
		int r = vhu_input_read(d, ev + got, n - got, 1000);

		if (r < 0)
			fail_msg("read: %d %s", r, vhu_input_error(d));
		got += (unsigned)r;
		if (it_now_ms() > end)
			fail_msg("only %u of %u events in %d ms", got, n, TMO);
	}
}

static void expect(const struct vhu_input_event *e, uint16_t type, uint16_t code, int32_t value)
{
	if (e->type != type || e->code != code || e->value != value)
		fail_msg("event %u/%u/%d, expected %u/%u/%d", e->type, e->code, e->value,
			 type, code, value);
}

/* The keyboard recording: 9 events, 4 reports over 0.3 s. */
static void expect_keyboard(const struct vhu_input_event *ev)
{
	expect(&ev[0], EV_MSC, 4, 30);
	expect(&ev[1], EV_KEY, KEY_A, 1);
	expect(&ev[2], EV_SYN, SYN_REPORT, 0);
	expect(&ev[3], EV_KEY, KEY_A, 0);
	expect(&ev[4], EV_SYN, SYN_REPORT, 0);
	expect(&ev[5], EV_KEY, KEY_ENTER, 1);
	expect(&ev[6], EV_SYN, SYN_REPORT, 0);
	expect(&ev[7], EV_KEY, KEY_ENTER, 0);
	expect(&ev[8], EV_SYN, SYN_REPORT, 0);
}

static void test_replay_keyboard(void **state)
{
	struct fixture *f = *state;
	struct vhu_input_event ev[16];
	int64_t t0 = it_now_ms();
	struct vhu_input *d = open_input(f->kb);

	assert_int_equal(vhu_input_post(d, 32), 32);
	read_n(d, ev, 9);
	/* The last report was recorded 0.3 s after the first: a replay is
	 * never faster than the recording. */
	assert_true(it_now_ms() - t0 >= 300);
	expect_keyboard(ev);
	assert_int_equal(backend_wait_log(&f->be, "finished: 9 events, 0 reports dropped", TMO), 0);
	vhu_input_close(d);

	/* A new connection is a new guest: the recording plays again. */
	d = open_input(f->kb);
	assert_int_equal(vhu_input_post(d, 32), 32);
	read_n(d, ev, 9);
	expect_keyboard(ev);
	vhu_input_close(d);
}

/* Reports are delivered whole: with 2 buffers posted, the tablet's first
 * report (3 events) waits; a third buffer releases it. */
static void test_whole_reports(void **state)
{
	struct fixture *f = *state;
	struct vhu_input_event ev[16];
	struct vhu_input *d;
	d = open_input(f->tablet);
	assert_int_equal(vhu_input_post(d, 2), 2);
	/* The replay ends (all 7 events waiting in the backend) ... */
	assert_int_equal(backend_wait_log(&f->be, "test-input-tablet.evemu finished", TMO), 0);
	/* ... and a round trip later still nothing was used. */
	assert_int_equal(vhu_ping(vhu_input_session(d)->c), 0);
	assert_false(vhu_vq_has_used(vhu_input_session(d)->vq[0]));
	assert_int_equal(vhu_input_posted(d), 2);
	assert_int_equal(vhu_input_post(d, 1), 1);
	read_n(d, ev, 3);
	expect(&ev[0], EV_ABS, 0, 16384);
	expect(&ev[1], EV_ABS, 1, -50);
	expect(&ev[2], EV_SYN, SYN_REPORT, 0);
	assert_int_equal(vhu_input_post(d, 8), 8);
	read_n(d, ev, 4);
	expect(&ev[0], EV_KEY, BTN_LEFT, 1);
	expect(&ev[1], EV_SYN, SYN_REPORT, 0);
	expect(&ev[2], EV_KEY, BTN_LEFT, 0);
	expect(&ev[3], EV_SYN, SYN_REPORT, 0);
	vhu_input_close(d);
}

/* LED state from the guest reaches the device (here a recording: the
 * backend logs it); other types are refused. */
static void test_status_led(void **state)
{
	struct fixture *f = *state;
	struct vhu_input *d = open_input(f->kb);

	assert_int_equal(vhu_input_status(d, EV_LED, LED_CAPSL, 1, TMO), 0);
	assert_int_equal(backend_wait_log(&f->be, "status from the guest: EV_LED LED_CAPSL = 1",
					  TMO), 0);
	assert_int_equal(vhu_input_status(d, EV_KEY, KEY_A, 1, TMO), 0);
	assert_int_equal(backend_wait_log(&f->be, "status event of type 1 ignored", TMO), 0);
	/* An LED the keyboard does not have. */
	assert_int_equal(vhu_input_status(d, EV_LED, 9, 1, TMO), 0);
	assert_int_equal(backend_wait_log(&f->be, "the device has no such code", TMO), 0);
	vhu_input_close(d);
}

/* Buffers that cannot take an event are completed empty, not held. */
static void test_bad_buffers(void **state)
{
	struct fixture *f = *state;
	struct vhu_input *d = open_input(f->kb);
	struct vhu_session *s = vhu_input_session(d);
	struct vhu_vq *q = s->vq[0];
	uint8_t *small = vhu_mem_alloc(s->m, 4, 8);
	uint8_t *rd = vhu_mem_alloc(s->m, 8, 8);
	struct vhu_sg a = { vhu_mem_gpa(s->m, small), 4 };
	struct vhu_sg b = { vhu_mem_gpa(s->m, rd), 8 };
	uint32_t len = 99;
	void *tok;

	assert_true(vhu_vq_add(q, NULL, 0, &a, 1, small, false) >= 0);
	assert_true(vhu_vq_add(q, &b, 1, NULL, 0, rd, false) >= 0);
	vhu_vq_publish_kick(q, true);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(vhu_vq_wait(q, TMO, 0), 1);
		assert_int_equal(vhu_vq_get_used(q, &len, &tok), 1);
		assert_int_equal(len, 0);
	}
	assert_int_equal(backend_wait_log(&f->be, "completed empty", TMO), 0);
	vhu_input_close(d);
}

/* The overflow rule, on its own backend: --max-pending 8 and ten reports
 * of two events at once with no buffers.  Reports 1-4 wait (8 events), 5
 * overflows: [DROPPED, 5]; 6, 7 join; 8 overflows: [DROPPED, 8]; 9, 10
 * join.  The guest then reads SYN_DROPPED and reports 8, 9, 10. */
static void test_overflow(void **state)
{
	struct backend be;
	char path[200], sock[160], list[220];
	const char *args[] = { "-s", be.base, "-v", "--max-pending", "8", "-e", list, NULL };
	const char *wait_for[] = { sock, NULL };
	struct vhu_input_event ev[16];
	struct vhu_input *d;
	FILE *fp;

	(void)state;
	assert_int_equal(backend_init(&be), 0);
	backend_file(&be, "flood.evemu", path, sizeof(path));
	fp = fopen(path, "w");
	assert_non_null(fp);
	fprintf(fp, "N: flood\nI: 0011 0001 0001 0001\nB: 01 fe ff 00 00 00 00 00 00\n");
	for (int k = 1; k <= 10; k++)
		fprintf(fp, "E: 0.000001 0001 %04x 0001\nE: 0.000001 0000 0000 0000\n", k);
	fclose(fp);
	snprintf(list, sizeof(list), "%s", path);
	backend_socket(&be, true, 0, sock, sizeof(sock));
	/* backend_spawn: the recording lives in the backend's directory. */
	assert_int_equal(backend_spawn(&be, "vhost-device-input", args, wait_for), 0);
	d = open_input(sock);
	assert_int_equal(backend_wait_log(&be, "finished: 20 events, 7 reports dropped", TMO), 0);
	assert_int_equal(vhu_input_post(d, 16), 16);
	read_n(d, ev, 7);
	expect(&ev[0], EV_SYN, SYN_DROPPED, 0);
	expect(&ev[1], EV_KEY, 8, 1);
	expect(&ev[2], EV_SYN, SYN_REPORT, 0);
	expect(&ev[3], EV_KEY, 9, 1);
	expect(&ev[5], EV_KEY, 10, 1);
	expect(&ev[6], EV_SYN, SYN_REPORT, 0);
	assert_int_equal(vhu_ping(vhu_input_session(d)->c), 0);
	assert_false(vhu_vq_has_used(vhu_input_session(d)->vq[0]));
	vhu_input_close(d);
	assert_int_equal(backend_stop(&be), 0);
}

/* Run the binary with args (a shell fragment); its exit status and the
 * first 2 KiB of what it printed. */
static int run_cli(const char *args, char *out, size_t len)
{
	const char *b = getenv("VHD_BUILDDIR");
	char cmd[1024];
	FILE *p;
	size_t n;
	int st;

	snprintf(cmd, sizeof(cmd), "'%s/vhost-device-input' %s 2>&1 </dev/null", b ? b : ".",
		 args);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(out, 1, len - 1, p);
	out[n] = 0;
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Bad command lines are refused before any socket, saying why. */
static void test_cli(void **state)
{
	char kb[240], bad[240], args[1024], out[2048];
	struct backend be;
	FILE *fp;
	static const struct {
		const char *fmt, *needle;
	} cases[] = {
		{ "-s %s/s", "-e/--event-list is required" },
		{ "-s %s/s -e %s/none", "No such file" },
		{ "-s %s/s -e %s/bad.evemu", "line 3" },
		{ "-s %s/s -e /dev/null", "not an event device" },
		{ "-s %s/s -e %s/", "neither an event device" },
		{ "-s %s/s -e builtin:keyboard,builtin:keyboard -c 3", "ask for 2 sockets" },
		{ "--fd 0 -e builtin:keyboard,builtin:keyboard", "--fd serves one socket" },
		{ "-s %s/s --evdev-path builtin:keyboard --grab --no-grab", "exclude each other" },
		{ "-s %s/s -e builtin:keyboard --max-pending 1", "--max-pending '1'" },
	};

	(void)state;
	assert_int_equal(backend_init(&be), 0);
	recording("test-input-keyboard.evemu", kb, sizeof(kb));
	backend_file(&be, "bad.evemu", bad, sizeof(bad));
	fp = fopen(bad, "w");
	assert_non_null(fp);
	fputs("N: x\nI: 0 0 0 0\nA: 00 10 5 0 0\n", fp);
	fclose(fp);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* The formats are the constant table above. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
		snprintf(args, sizeof(args), cases[i].fmt, be.dir, be.dir);
#pragma GCC diagnostic pop
		assert_int_equal(run_cli(args, out, sizeof(out)), 1);
		if (!strstr(out, cases[i].needle))
			fail_msg("'%s': expected '%s' in: %s", args, cases[i].needle, out);
	}
	/* --print-capabilities: QEMU's input features. */
	assert_int_equal(run_cli("--print-capabilities", out, sizeof(out)), 0);
	assert_non_null(strstr(out, "\"type\": \"input\""));
	assert_non_null(strstr(out, "\"evdev-path\", \"no-grab\""));
	backend_stop(&be);      /* no process: removes the directory */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_keyboard),
		cmocka_unit_test(test_config_tablet),
		cmocka_unit_test(test_replay_keyboard),
		cmocka_unit_test(test_whole_reports),
		cmocka_unit_test(test_status_led),
		cmocka_unit_test(test_bad_buffers),
	};
	const struct CMUnitTest solo[] = {
		cmocka_unit_test(test_cli),
		cmocka_unit_test(test_overflow),
	};
	int fails = cmocka_run_group_tests(tests, setup, teardown);

	return fails + cmocka_run_group_tests(solo, NULL, NULL);
}
