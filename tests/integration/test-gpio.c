/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Integration: vhost-device-gpio (src/devices/gpio/) with simulated chips,
 * driven by libvhu-frontend's virtio-gpio guest driver (tools/vhu-gpio.h)
 * over a real socket, the input levels driven through the chips' control
 * sockets (docs/gpio.md, "Simulated chips").
 *
 * Backend: -c 2 -l s8:s64 --sim-socket DIR/ctl: socket 0 has 8 lines
 * (control DIR/ctl0), socket 1 has 64 (DIR/ctl1).
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
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "backend.h"
#include "it-util.h"
#include "vhu-gpio.h"

#define TMO 30000  /* a failure bound only (docs/testing.md, busy machines) */

#define OK 0
#define ERR 1

struct fixture {
	struct backend be;
	char sock[2][160];
	char ctl[2][200];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char ctlbase[160];
	const char *args[] = { "-s", NULL, "-c", "2", "-l", "s8:s64", "--sim-socket", ctlbase,
			       NULL };
	const char *wait_for[3];

	if (!f || backend_init(&f->be) < 0) {
		free(f);
		return -1;
	}
	args[1] = f->be.base;
	backend_file(&f->be, "ctl", ctlbase, sizeof(ctlbase));
	for (unsigned i = 0; i < 2; i++) {
		backend_socket(&f->be, true, i, f->sock[i], sizeof(f->sock[i]));
		snprintf(f->ctl[i], sizeof(f->ctl[i]), "%s%u", ctlbase, i);
		wait_for[i] = f->sock[i];
	}
	wait_for[2] = NULL;
	if (backend_spawn(&f->be, "vhost-device-gpio", args, wait_for) < 0) {
		backend_stop(&f->be);
		free(f);
		return -1;
	}
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

/* One command on a chip's control socket; the answer without newline. */
static void ctl(struct fixture *f, unsigned chip, const char *cmd, char *ans, size_t len)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	size_t got = 0;

	assert_true(fd >= 0);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", f->ctl[chip]);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(write(fd, cmd, strlen(cmd)), (ssize_t)strlen(cmd));
	assert_int_equal(write(fd, "\n", 1), 1);
	while (got + 1 < len) {
		ssize_t n = read(fd, ans + got, len - 1 - got);

		assert_true(n > 0);
		got += (size_t)n;
		if (ans[got - 1] == '\n')
			break;
	}
	close(fd);
	assert_true(got > 0 && ans[got - 1] == '\n');
	ans[got - 1] = 0;
}

static void drive(struct fixture *f, unsigned chip, unsigned line, int v)
{
	char cmd[64], ans[64];

	snprintf(cmd, sizeof(cmd), "set %u %d", line, v);
	ctl(f, chip, cmd, ans, sizeof(ans));
	assert_string_equal(ans, "ok");
}

static void expect_ctl(struct fixture *f, unsigned chip, const char *cmd, const char *want)
{
	char ans[160];

	ctl(f, chip, cmd, ans, sizeof(ans));
	assert_string_equal(ans, want);
}

static struct vhu_gpio *open_gpio(struct fixture *f, unsigned chip, bool irq)
{
	struct vhu_gpio_opts o;
	struct vhu_gpio *d = NULL;
	char err[256] = "";

	vhu_gpio_defaults(&o, f->sock[chip]);
	o.connect_ms = TMO;
	o.no_irq = !irq;
	if (vhu_gpio_open(&o, &d, err, sizeof(err)) < 0)
		fail_msg("open: %s", err);
	return d;
}

/* A request that must be answered with `status` (and value if OK). */
static uint8_t rq(struct vhu_gpio *d, uint16_t type, uint16_t line, uint32_t value,
		  uint8_t status)
{
	uint8_t st = 0xee, v = 0xee;
	int r = vhu_gpio_request(d, type, line, value, &st, &v, TMO);

	if (r < 0)
		fail_msg("request %u line %u value %u: %s (%s)", type, line, value,
			 strerror(-r), vhu_gpio_error(d));
	if (st != status)
		fail_msg("request %u line %u value %u: status %u, expected %u", type, line,
			 value, st, status);
	if (status == ERR)
		assert_int_equal(v, 0);
	return v;
}

static void irq_expect(struct vhu_gpio *d, uint32_t line, uint8_t status)
{
	uint32_t got;
	uint8_t st;
	int r = vhu_gpio_irq_wait(d, TMO, &got, &st);

	if (r < 0)
		fail_msg("waiting for line %u's interrupt buffer: %s (%s)", line, strerror(-r),
			 vhu_gpio_error(d));
	assert_int_equal(got, line);
	assert_int_equal(st, status);
}

/* ---- requestq ------------------------------------------------------- */

static void test_config_and_names(void **state)
{
	struct vhu_gpio *d = open_gpio(*state, 0, true);
	const char **names;
	uint8_t st;
	char want[16];

	assert_int_equal(vhu_gpio_ngpio(d), 8);
	/* "sim-0".."sim-7", each with its NUL */
	assert_int_equal(vhu_gpio_names_size(d), 8 * 6);
	assert_int_equal(vhu_gpio_line_names(d, &st, &names, TMO), 0);
	assert_int_equal(st, OK);
	for (unsigned i = 0; i < 8; i++) {
		snprintf(want, sizeof(want), "sim-%u", i);
		assert_string_equal(names[i], want);
	}
	vhu_gpio_close(d);
	d = open_gpio(*state, 1, true);
	assert_int_equal(vhu_gpio_ngpio(d), 64);
	vhu_gpio_close(d);
}

static void test_direction_and_value(void **state)
{
	struct fixture *f = *state;
	struct vhu_gpio *d = open_gpio(f, 0, true);

	assert_int_equal(rq(d, VHU_GPIO_GET_DIRECTION, 2, 0, OK), VHU_GPIO_DIR_NONE);
	/* A value set before the direction is the output's first value
	 * ("Set Value"). */
	rq(d, VHU_GPIO_SET_VALUE, 2, 1, OK);
	expect_ctl(f, 0, "mode 2", "none");
	rq(d, VHU_GPIO_SET_DIRECTION, 2, VHU_GPIO_DIR_OUT, OK);
	expect_ctl(f, 0, "mode 2", "out");
	expect_ctl(f, 0, "get 2", "1");
	assert_int_equal(rq(d, VHU_GPIO_GET_DIRECTION, 2, 0, OK), VHU_GPIO_DIR_OUT);
	assert_int_equal(rq(d, VHU_GPIO_GET_VALUE, 2, 0, OK), 1);
	rq(d, VHU_GPIO_SET_VALUE, 2, 0, OK);
	expect_ctl(f, 0, "get 2", "0");
	/* The pull does not move an output. */
	drive(f, 0, 2, 1);
	assert_int_equal(rq(d, VHU_GPIO_GET_VALUE, 2, 0, OK), 0);
	/* As an input the line reads the pull. */
	rq(d, VHU_GPIO_SET_DIRECTION, 2, VHU_GPIO_DIR_IN, OK);
	assert_int_equal(rq(d, VHU_GPIO_GET_DIRECTION, 2, 0, OK), VHU_GPIO_DIR_IN);
	assert_int_equal(rq(d, VHU_GPIO_GET_VALUE, 2, 0, OK), 1);
	drive(f, 0, 2, 0);
	assert_int_equal(rq(d, VHU_GPIO_GET_VALUE, 2, 0, OK), 0);
	/* NONE releases the line and forgets it. */
	rq(d, VHU_GPIO_SET_DIRECTION, 2, VHU_GPIO_DIR_NONE, OK);
	expect_ctl(f, 0, "mode 2", "none");
	rq(d, VHU_GPIO_GET_VALUE, 2, 0, ERR);
	vhu_gpio_close(d);
}

static void test_request_errors(void **state)
{
	struct vhu_gpio *d = open_gpio(*state, 0, true);
	static const uint16_t types[] = { VHU_GPIO_GET_DIRECTION, VHU_GPIO_SET_DIRECTION,
					  VHU_GPIO_GET_VALUE, VHU_GPIO_SET_VALUE,
					  VHU_GPIO_SET_IRQ_TYPE };

	/* gpio >= ngpio, for every type that names a line */
	for (unsigned i = 0; i < 5; i++) {
		rq(d, types[i], 8, 0, ERR);
		rq(d, types[i], 0xffff, 0, ERR);
	}
	rq(d, 0, 0, 0, ERR);                    /* no such type */
	rq(d, 7, 0, 0, ERR);
	rq(d, 0xffff, 0, 0, ERR);
	rq(d, VHU_GPIO_SET_DIRECTION, 0, 3, ERR);
	rq(d, VHU_GPIO_SET_DIRECTION, 0, 0x80000002u, ERR);
	rq(d, VHU_GPIO_SET_VALUE, 0, 2, ERR);
	rq(d, VHU_GPIO_GET_VALUE, 0, 0, ERR);   /* not activated */
	/* Interrupts: only on inputs, only the spec's types, a change goes
	 * through NONE. */
	rq(d, VHU_GPIO_SET_IRQ_TYPE, 0, VHU_GPIO_IRQ_EDGE_RISING, ERR);     /* direction none */
	rq(d, VHU_GPIO_SET_DIRECTION, 0, VHU_GPIO_DIR_OUT, OK);
	rq(d, VHU_GPIO_SET_IRQ_TYPE, 0, VHU_GPIO_IRQ_EDGE_RISING, ERR);     /* an output */
	rq(d, VHU_GPIO_SET_DIRECTION, 0, VHU_GPIO_DIR_IN, OK);
	for (uint32_t t = 5; t < 16; t++)
		if (t != VHU_GPIO_IRQ_LEVEL_LOW)
			rq(d, VHU_GPIO_SET_IRQ_TYPE, 0, t, ERR);
	rq(d, VHU_GPIO_SET_IRQ_TYPE, 0, VHU_GPIO_IRQ_EDGE_BOTH, OK);
	rq(d, VHU_GPIO_SET_IRQ_TYPE, 0, VHU_GPIO_IRQ_EDGE_BOTH, OK);        /* same: no change */
	rq(d, VHU_GPIO_SET_IRQ_TYPE, 0, VHU_GPIO_IRQ_LEVEL_HIGH, ERR);      /* not via NONE */
	rq(d, VHU_GPIO_SET_DIRECTION, 0, VHU_GPIO_DIR_OUT, ERR);            /* IRQ enabled */
	rq(d, VHU_GPIO_SET_IRQ_TYPE, 0, VHU_GPIO_IRQ_NONE, OK);
	rq(d, VHU_GPIO_SET_IRQ_TYPE, 0, VHU_GPIO_IRQ_LEVEL_HIGH, OK);
	rq(d, VHU_GPIO_SET_IRQ_TYPE, 0, VHU_GPIO_IRQ_NONE, OK);
	rq(d, VHU_GPIO_SET_IRQ_TYPE, 0, VHU_GPIO_IRQ_NONE, OK);
	vhu_gpio_close(d);
}

/* Without VIRTIO_GPIO_F_IRQ there are no interrupts. */
static void test_no_irq_feature(void **state)
{
	struct vhu_gpio *d = open_gpio(*state, 0, false);

	rq(d, VHU_GPIO_SET_DIRECTION, 1, VHU_GPIO_DIR_IN, OK);
	rq(d, VHU_GPIO_SET_IRQ_TYPE, 1, VHU_GPIO_IRQ_EDGE_RISING, ERR);
	rq(d, VHU_GPIO_SET_IRQ_TYPE, 1, VHU_GPIO_IRQ_NONE, ERR);
	vhu_gpio_close(d);
}

static void put_req(uint8_t *b, uint16_t type, uint16_t gpio, uint32_t value)
{
	type = htole16(type);
	gpio = htole16(gpio);
	value = htole32(value);
	memcpy(b, &type, 2);
	memcpy(b + 2, &gpio, 2);
	memcpy(b + 4, &value, 4);
}

static void test_malformed_requests(void **state)
{
	struct vhu_gpio *d = open_gpio(*state, 0, true);
	uint8_t rd[16], wr[64];
	uint32_t used;

	put_req(rd, VHU_GPIO_GET_DIRECTION, 0, 0);
	/* A request of 7 or 9 bytes: ERR, answered in full. */
	assert_int_equal(vhu_gpio_raw(d, rd, 7, 2, wr, &used, TMO), 0);
	assert_int_equal(used, 2);
	assert_int_equal(wr[0], ERR);
	assert_int_equal(vhu_gpio_raw(d, rd, 9, 2, wr, &used, TMO), 0);
	assert_int_equal(used, 2);
	assert_int_equal(wr[0], ERR);
	/* Nothing readable. */
	assert_int_equal(vhu_gpio_raw(d, rd, 0, 2, wr, &used, TMO), 0);
	assert_int_equal(used, 2);
	assert_int_equal(wr[0], ERR);
	/* No room for an answer: completed empty. */
	assert_int_equal(vhu_gpio_raw(d, rd, 8, 0, NULL, &used, TMO), 0);
	assert_int_equal(used, 0);
	/* Room for the status only: ERR. */
	assert_int_equal(vhu_gpio_raw(d, rd, 8, 1, wr, &used, TMO), 0);
	assert_int_equal(used, 1);
	assert_int_equal(wr[0], ERR);
	/* A longer response buffer: the 2 bytes of the response. */
	assert_int_equal(vhu_gpio_raw(d, rd, 8, 64, wr, &used, TMO), 0);
	assert_int_equal(used, 2);
	assert_int_equal(wr[0], OK);
	assert_int_equal(wr[2], 0xee);
	/* GET_LINE_NAMES into a buffer not 1 + gpio_names_size. */
	put_req(rd, VHU_GPIO_GET_LINE_NAMES, 0, 0);
	assert_int_equal(vhu_gpio_raw(d, rd, 8, 48, wr, &used, TMO), 0);
	assert_int_equal(wr[0], ERR);
	assert_int_equal(vhu_gpio_raw(d, rd, 8, 50, wr, &used, TMO), 0);
	assert_int_equal(wr[0], ERR);
	assert_int_equal(vhu_gpio_raw(d, rd, 8, 49, wr, &used, TMO), 0);
	assert_int_equal(used, 49);
	assert_int_equal(wr[0], OK);
	assert_memory_equal(wr + 1, "sim-0", 6);
	/* Still serving. */
	assert_int_equal(rq(d, VHU_GPIO_GET_DIRECTION, 0, 0, OK), VHU_GPIO_DIR_NONE);
	vhu_gpio_close(d);
}

/* ---- interrupts ----------------------------------------------------- */

static void arm(struct vhu_gpio *d, uint16_t line, uint32_t type)
{
	rq(d, VHU_GPIO_SET_DIRECTION, line, VHU_GPIO_DIR_IN, OK);
	rq(d, VHU_GPIO_SET_IRQ_TYPE, line, type, OK);
}

static void unmask(struct vhu_gpio *d, uint16_t line)
{
	assert_int_equal(vhu_gpio_irq_unmask(d, line), 0);
}

/* Disabling returns a held buffer INVALID: also shows that nothing fired
 * it before. */
static void disable_expect_invalid(struct vhu_gpio *d, uint16_t line)
{
	rq(d, VHU_GPIO_SET_IRQ_TYPE, line, VHU_GPIO_IRQ_NONE, OK);
	irq_expect(d, line, VHU_GPIO_IRQ_INVALID);
}

static void test_edge_rising_falling(void **state)
{
	struct fixture *f = *state;
	struct vhu_gpio *d = open_gpio(f, 0, true);

	drive(f, 0, 3, 0);
	arm(d, 3, VHU_GPIO_IRQ_EDGE_RISING);
	unmask(d, 3);
	drive(f, 0, 3, 1);
	irq_expect(d, 3, VHU_GPIO_IRQ_VALID);
	/* A falling edge does not fire a rising interrupt... */
	unmask(d, 3);
	drive(f, 0, 3, 0);
	disable_expect_invalid(d, 3);
	/* ...and the falling type fires on it. */
	rq(d, VHU_GPIO_SET_IRQ_TYPE, 3, VHU_GPIO_IRQ_EDGE_FALLING, OK);
	unmask(d, 3);
	drive(f, 0, 3, 1);
	drive(f, 0, 3, 0);
	irq_expect(d, 3, VHU_GPIO_IRQ_VALID);
	unmask(d, 3);
	drive(f, 0, 3, 1);
	disable_expect_invalid(d, 3);
	drive(f, 0, 3, 0);
	vhu_gpio_close(d);
}

static void test_edge_both_and_latch(void **state)
{
	struct fixture *f = *state;
	struct vhu_gpio *d = open_gpio(f, 0, true);

	drive(f, 0, 4, 0);
	arm(d, 4, VHU_GPIO_IRQ_EDGE_BOTH);
	unmask(d, 4);
	drive(f, 0, 4, 1);
	irq_expect(d, 4, VHU_GPIO_IRQ_VALID);
	unmask(d, 4);
	drive(f, 0, 4, 0);
	irq_expect(d, 4, VHU_GPIO_IRQ_VALID);
	/* An edge while masked is latched ("MUST latch an edge interrupt if
	 * the interrupt is enabled but still masked") and delivered on
	 * unmask.  The GET_VALUE round trip after the drive makes sure the
	 * edge reached the backend's loop before the buffer does: it reads
	 * the level the edge set. */
	drive(f, 0, 4, 1);
	assert_int_equal(rq(d, VHU_GPIO_GET_VALUE, 4, 0, OK), 1);
	unmask(d, 4);
	irq_expect(d, 4, VHU_GPIO_IRQ_VALID);
	/* Disabling discards a latched edge. */
	drive(f, 0, 4, 0);
	assert_int_equal(rq(d, VHU_GPIO_GET_VALUE, 4, 0, OK), 0);
	rq(d, VHU_GPIO_SET_IRQ_TYPE, 4, VHU_GPIO_IRQ_NONE, OK);
	rq(d, VHU_GPIO_SET_IRQ_TYPE, 4, VHU_GPIO_IRQ_EDGE_BOTH, OK);
	unmask(d, 4);
	disable_expect_invalid(d, 4);
	vhu_gpio_close(d);
}

static void test_level(void **state)
{
	struct fixture *f = *state;
	struct vhu_gpio *d = open_gpio(f, 0, true);

	/* LEVEL_HIGH: fires while high, once per buffer. */
	drive(f, 0, 5, 0);
	arm(d, 5, VHU_GPIO_IRQ_LEVEL_HIGH);
	unmask(d, 5);
	drive(f, 0, 5, 1);
	irq_expect(d, 5, VHU_GPIO_IRQ_VALID);
	/* Still high: the re-queued buffer fires at once, and again. */
	unmask(d, 5);
	irq_expect(d, 5, VHU_GPIO_IRQ_VALID);
	unmask(d, 5);
	irq_expect(d, 5, VHU_GPIO_IRQ_VALID);
	/* Low: a held buffer waits; a level is not latched while masked. */
	drive(f, 0, 5, 0);
	unmask(d, 5);
	disable_expect_invalid(d, 5);
	drive(f, 0, 5, 1);
	drive(f, 0, 5, 0);
	rq(d, VHU_GPIO_SET_IRQ_TYPE, 5, VHU_GPIO_IRQ_LEVEL_HIGH, OK);
	unmask(d, 5);
	disable_expect_invalid(d, 5);

	/* LEVEL_LOW: the line is low now, so enabling with a buffer held
	 * fires at once. */
	rq(d, VHU_GPIO_SET_IRQ_TYPE, 5, VHU_GPIO_IRQ_LEVEL_LOW, OK);
	unmask(d, 5);
	irq_expect(d, 5, VHU_GPIO_IRQ_VALID);
	drive(f, 0, 5, 1);
	assert_int_equal(rq(d, VHU_GPIO_GET_VALUE, 5, 0, OK), 1);
	unmask(d, 5);
	drive(f, 0, 5, 0);
	irq_expect(d, 5, VHU_GPIO_IRQ_VALID);
	drive(f, 0, 5, 1);
	assert_int_equal(rq(d, VHU_GPIO_GET_VALUE, 5, 0, OK), 1);
	unmask(d, 5);
	/* SET_DIRECTION NONE discards the line: its buffer comes back
	 * INVALID too. */
	rq(d, VHU_GPIO_SET_DIRECTION, 5, VHU_GPIO_DIR_NONE, OK);
	irq_expect(d, 5, VHU_GPIO_IRQ_INVALID);
	drive(f, 0, 5, 0);
	vhu_gpio_close(d);
}

/* Buffers the device must hand back INVALID at once. */
static void test_hostile_event_buffers(void **state)
{
	struct fixture *f = *state;
	struct vhu_gpio *d = open_gpio(f, 0, true);

	/* No such line. */
	assert_int_equal(vhu_gpio_irq_unmask_raw(d, 0, 8), 0);
	irq_expect(d, VHU_GPIO_RAW_LINE(0), VHU_GPIO_IRQ_INVALID);
	assert_int_equal(vhu_gpio_irq_unmask_raw(d, 0, 0xffff), 0);
	irq_expect(d, VHU_GPIO_RAW_LINE(0), VHU_GPIO_IRQ_INVALID);
	/* Interrupt not enabled ("unmasked without being enabled"). */
	unmask(d, 6);
	irq_expect(d, 6, VHU_GPIO_IRQ_INVALID);
	/* A second buffer for a line: the extra one goes back, the first
	 * stays and fires. */
	drive(f, 0, 6, 0);
	arm(d, 6, VHU_GPIO_IRQ_EDGE_RISING);
	unmask(d, 6);
	assert_int_equal(vhu_gpio_irq_unmask_raw(d, 1, 6), 0);
	irq_expect(d, VHU_GPIO_RAW_LINE(1), VHU_GPIO_IRQ_INVALID);
	drive(f, 0, 6, 1);
	irq_expect(d, 6, VHU_GPIO_IRQ_VALID);
	drive(f, 0, 6, 0);
	vhu_gpio_close(d);
}

/* 64 lines with interrupts armed at once; each fires once, in any order. */
static void test_64_lines(void **state)
{
	struct fixture *f = *state;
	struct vhu_gpio *d = open_gpio(f, 1, true);
	uint16_t lines[64];
	bool seen[64] = { false };

	for (unsigned i = 0; i < 64; i++) {
		lines[i] = (uint16_t)i;
		arm(d, (uint16_t)i, i % 2 ? VHU_GPIO_IRQ_EDGE_RISING : VHU_GPIO_IRQ_LEVEL_HIGH);
	}
	assert_int_equal(vhu_gpio_irq_unmask_many(d, lines, 64), 0);
	assert_int_equal(vhu_gpio_irq_in_flight(d), 64);
	/* Drive them in reverse order: completions come out of order. */
	for (unsigned i = 64; i-- > 0;)
		drive(f, 1, i, 1);
	for (unsigned i = 0; i < 64; i++) {
		uint32_t line;
		uint8_t st;

		assert_int_equal(vhu_gpio_irq_wait(d, TMO, &line, &st), 0);
		assert_true(line < 64);
		assert_false(seen[line]);
		assert_int_equal(st, VHU_GPIO_IRQ_VALID);
		seen[line] = true;
	}
	for (unsigned i = 0; i < 64; i++)
		drive(f, 1, i, 0);
	vhu_gpio_close(d);
}

/* A queue stop completes held buffers INVALID (or gives them back), and a
 * new connection starts from released lines. */
static void test_stop_and_reconnect(void **state)
{
	struct fixture *f = *state;
	struct vhu_gpio *d = open_gpio(f, 0, true);
	struct vhu_session *s = vhu_gpio_session(d);
	uint16_t base;

	arm(d, 7, VHU_GPIO_IRQ_EDGE_RISING);
	unmask(d, 7);
	/* A request round trip: the buffer is with the device now. */
	assert_int_equal(rq(d, VHU_GPIO_GET_DIRECTION, 7, 0, OK), VHU_GPIO_DIR_IN);
	assert_int_equal(vhu_vq_stop(s->vq[1], &base), 0);
	/* The only popped buffer, none completed after it: given back (the
	 * next avail index rewound to it), so it will be popped again. */
	assert_int_equal(base, 0);
	expect_ctl(f, 0, "mode 7", "edges");
	vhu_gpio_close(d);
	/* The backend's reset released the line; a new guest sees NONE. */
	d = open_gpio(f, 0, true);
	assert_int_equal(rq(d, VHU_GPIO_GET_DIRECTION, 7, 0, OK), VHU_GPIO_DIR_NONE);
	expect_ctl(f, 0, "mode 7", "none");
	vhu_gpio_close(d);
}

/* A completed buffer before a held one: the held one cannot be given back
 * and completes INVALID at the stop. */
static void test_stop_completes_invalid(void **state)
{
	struct fixture *f = *state;
	struct vhu_gpio *d = open_gpio(f, 0, true);
	struct vhu_session *s = vhu_gpio_session(d);
	uint16_t base;

	drive(f, 0, 1, 0);
	drive(f, 0, 0, 0);
	arm(d, 0, VHU_GPIO_IRQ_EDGE_RISING);
	arm(d, 1, VHU_GPIO_IRQ_EDGE_RISING);
	unmask(d, 0);
	unmask(d, 1);
	assert_int_equal(rq(d, VHU_GPIO_GET_DIRECTION, 1, 0, OK), VHU_GPIO_DIR_IN);
	drive(f, 0, 1, 1);
	irq_expect(d, 1, VHU_GPIO_IRQ_VALID);
	assert_int_equal(vhu_vq_stop(s->vq[1], &base), 0);
	assert_int_equal(base, 2);
	irq_expect(d, 0, VHU_GPIO_IRQ_INVALID);
	vhu_gpio_close(d);
	drive(f, 0, 1, 0);
}

static void test_control_socket_errors(void **state)
{
	struct fixture *f = *state;

	expect_ctl(f, 0, "lines", "8");
	expect_ctl(f, 1, "lines", "64");
	expect_ctl(f, 0, "set 8 1", "error usage: set LINE 0|1 (LINE < 8)");
	expect_ctl(f, 0, "set 0 2", "error usage: set LINE 0|1 (LINE < 8)");
	expect_ctl(f, 0, "get x", "error no line 'x' (lines 0..7)");
	expect_ctl(f, 0, "frob", "error unknown command (set LINE 0|1, get LINE, mode LINE, lines)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_and_names),
		cmocka_unit_test(test_direction_and_value),
		cmocka_unit_test(test_request_errors),
		cmocka_unit_test(test_no_irq_feature),
		cmocka_unit_test(test_malformed_requests),
		cmocka_unit_test(test_edge_rising_falling),
		cmocka_unit_test(test_edge_both_and_latch),
		cmocka_unit_test(test_level),
		cmocka_unit_test(test_hostile_event_buffers),
		cmocka_unit_test(test_64_lines),
		cmocka_unit_test(test_stop_and_reconnect),
		cmocka_unit_test(test_stop_completes_invalid),
		cmocka_unit_test(test_control_socket_errors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
