/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Unit tests of vhost-device-gpio's modules: --device-list parsing and
 * opening (gpio-list.c), the request decoder and the request and
 * interrupt rules (gpio-state.c) on the real simulated chip (gpio-sim.c)
 * with an environment that records completions and fd watches, and the
 * names blob (gpio-chip.c).
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
#include <stdio.h>
#include <unistd.h>

#include "devices/gpio/gpio-chip.h"
#include "devices/gpio/gpio-list.h"
#include "devices/gpio/gpio-proto.h"
#include "devices/gpio/gpio-state.h"

/* ---- --device-list -------------------------------------------------- */

static void test_list_parse(void **state)
{
	struct gpio_entry e[8];
	unsigned n;
	char err[256];

	assert_int_equal(gpio_list_parse("3:s4:6:s1", e, 8, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 4);
	assert_int_equal(e[0].kind, GPIO_ENTRY_HOST);
	assert_string_equal(e[0].spec, "3");
	assert_int_equal(e[1].kind, GPIO_ENTRY_SIM);
	assert_int_equal(e[1].sim_lines, 4);
	assert_string_equal(e[2].spec, "6");
	assert_int_equal(e[3].sim_lines, 1);
	assert_int_equal(gpio_list_parse("/dev/gpiochip2:gpio-sim.0-node0", e, 8, &n, err,
					 sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_string_equal(e[0].spec, "/dev/gpiochip2");
	assert_string_equal(e[1].spec, "gpio-sim.0-node0");
	assert_int_equal(gpio_list_parse("s1024", e, 8, &n, err, sizeof(err)), 0);
	assert_int_equal(e[0].sim_lines, 1024);
	/* Not "s" and digits: a label. */
	assert_int_equal(gpio_list_parse("s-1:sx", e, 8, &n, err, sizeof(err)), 0);
	assert_int_equal(e[0].kind, GPIO_ENTRY_HOST);
	assert_string_equal(e[1].spec, "sx");
}

static void test_list_parse_errors(void **state)
{
	static const char *const bad[] = {
		"", ":", "s1:", ":s1", "s1::s2", "s0", "s1025", "s1x", "s1 ",
		"s99999999999999999999",
	};
	struct gpio_entry e[2];
	unsigned n;
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		if (gpio_list_parse(bad[i], e, 2, &n, err, sizeof(err)) == 0)
			fail_msg("'%s' accepted", bad[i]);
		assert_true(err[0] != 0);
	}
	/* More entries than room. */
	assert_int_equal(gpio_list_parse("s1:s1:s1", e, 2, &n, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "more than 2"));
}

static void test_list_open(void **state)
{
	struct gpio_entry e[4];
	struct gpio_chip *chips[4];
	unsigned n;
	char err[256];

	assert_int_equal(gpio_list_parse("s2:s3", e, 4, &n, err, sizeof(err)), 0);
	assert_int_equal(gpio_list_open(e, n, NULL, chips, err, sizeof(err)), 0);
	assert_int_equal(chips[0]->nlines, 2);
	assert_int_equal(chips[1]->nlines, 3);
	gpio_chip_close(chips[0]);
	gpio_chip_close(chips[1]);
	/* A host chip that does not exist: nothing left open, a message. */
	assert_int_equal(gpio_list_parse("s2:/nonexistent/gpiochip9", e, 4, &n, err,
					 sizeof(err)), 0);
	err[0] = 0;
	assert_int_equal(gpio_list_open(e, n, NULL, chips, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/gpiochip9"));
}

/* ---- names blob ------------------------------------------------------ */

static void test_names_blob(void **state)
{
	struct gpio_chip *c;
	char err[128], blob[64];

	assert_int_equal(gpio_sim_open(3, NULL, &c, err, sizeof(err)), 0);
	assert_int_equal(gpio_chip_names_size(c), 18);
	gpio_chip_names(c, blob);
	assert_memory_equal(blob, "sim-0\0sim-1\0sim-2\0", 18);
	/* Lines without names: a NUL each; none named at all: size 0. */
	c->names[1][0] = 0;
	assert_int_equal(gpio_chip_names_size(c), 13);
	gpio_chip_names(c, blob);
	assert_memory_equal(blob, "sim-0\0\0sim-2\0", 13);
	c->names[0][0] = c->names[2][0] = 0;
	assert_int_equal(gpio_chip_names_size(c), 0);
	gpio_chip_close(c);
}

/* ---- request decoder ------------------------------------------------- */

static void test_request_parse(void **state)
{
	uint8_t b[9] = { 0x05, 0x00, 0x34, 0x12, 0x01, 0x00, 0x00, 0x80, 0 };
	struct gpio_request r;

	assert_int_equal(gpio_request_parse(b, 8, &r), 0);
	assert_int_equal(r.type, VIRTIO_GPIO_MSG_SET_VALUE);
	assert_int_equal(r.gpio, 0x1234);
	assert_int_equal(r.value, 0x80000001u);
	assert_int_equal(gpio_request_parse(b, 7, &r), -1);
	assert_int_equal(gpio_request_parse(b, 9, &r), -1);
	assert_int_equal(gpio_request_parse(b, 0, &r), -1);
}

/* ---- state rules ----------------------------------------------------- */

struct rec {
	unsigned ncomplete;
	unsigned line[16];
	void *buf[16];
	uint8_t status[16];
	int watched_fd[8];
	unsigned nwatch, nunwatch;
	bool fail_watch;
};

static void rec_complete(void *opaque, unsigned line, void *buf, uint8_t status)
{
	struct rec *r = opaque;

	assert_true(r->ncomplete < 16);
	r->line[r->ncomplete] = line;
	r->buf[r->ncomplete] = buf;
	r->status[r->ncomplete++] = status;
}

static int rec_watch(void *opaque, unsigned line, int fd)
{
	struct rec *r = opaque;

	if (r->fail_watch)
		return -ENOMEM;
	assert_true(fd >= 0);
	r->watched_fd[line] = fd;
	r->nwatch++;
	return 0;
}

static void rec_unwatch(void *opaque, unsigned line)
{
	struct rec *r = opaque;

	r->watched_fd[line] = -1;
	r->nunwatch++;
}

struct fx {
	struct gpio_chip *chip;
	struct gpio_state st;
	struct gpio_state_env env;
	struct rec rec;
};

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[128];

	if (!f || gpio_sim_open(8, NULL, &f->chip, err, sizeof(err)) < 0)
		return -1;
	f->env = (struct gpio_state_env){ &f->rec, rec_complete, rec_watch, rec_unwatch };
	if (gpio_state_init(&f->st, f->chip, &f->env) < 0)
		return -1;
	f->st.irq_feature = true;
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	gpio_state_reset(&f->st);
	gpio_state_free(&f->st);
	gpio_chip_close(f->chip);
	free(f);
	return 0;
}

static uint8_t ex(struct fx *f, uint16_t type, uint16_t gpio, uint32_t value, uint8_t *v)
{
	struct gpio_request r = { type, gpio, value };
	uint8_t dummy;

	return gpio_request_exec(&f->st, &r, v ? v : &dummy);
}

#define OK VIRTIO_GPIO_STATUS_OK
#define ERR VIRTIO_GPIO_STATUS_ERR

static void test_values_and_directions(void **state)
{
	struct fx *f = *state;
	uint8_t v = 0xee;

	assert_int_equal(ex(f, VIRTIO_GPIO_MSG_GET_DIRECTION, 0, 0, &v), OK);
	assert_int_equal(v, VIRTIO_GPIO_DIRECTION_NONE);
	assert_int_equal(ex(f, VIRTIO_GPIO_MSG_GET_VALUE, 0, 0, &v), ERR);
	assert_int_equal(v, 0);
	assert_int_equal(ex(f, VIRTIO_GPIO_MSG_SET_VALUE, 0, 1, NULL), OK);
	assert_int_equal(f->chip->ops->get_value(f->chip, 0), 0);      /* not an output yet */
	assert_int_equal(ex(f, VIRTIO_GPIO_MSG_SET_DIRECTION, 0, VIRTIO_GPIO_DIRECTION_OUT,
			    NULL), OK);
	assert_int_equal(f->chip->ops->get_value(f->chip, 0), 1);      /* the stored value */
	assert_int_equal(ex(f, VIRTIO_GPIO_MSG_GET_VALUE, 0, 0, &v), OK);
	assert_int_equal(v, 1);
	assert_int_equal(ex(f, VIRTIO_GPIO_MSG_SET_VALUE, 0, 0, NULL), OK);
	assert_int_equal(f->chip->ops->get_value(f->chip, 0), 0);
	assert_int_equal(ex(f, VIRTIO_GPIO_MSG_SET_VALUE, 0, 2, NULL), ERR);
	assert_int_equal(ex(f, VIRTIO_GPIO_MSG_SET_DIRECTION, 0, 3, NULL), ERR);
	assert_int_equal(ex(f, VIRTIO_GPIO_MSG_GET_DIRECTION, 8, 0, &v), ERR);
	assert_int_equal(ex(f, 0, 0, 0, NULL), ERR);
	assert_int_equal(ex(f, 7, 0, 0, NULL), ERR);
	assert_int_equal(ex(f, VIRTIO_GPIO_MSG_GET_LINE_NAMES, 0, 0, NULL), ERR);  /* not here */
	/* Input reads the pull. */
	gpio_sim_drive(f->chip, 1, 1);
	assert_int_equal(ex(f, VIRTIO_GPIO_MSG_SET_DIRECTION, 1, VIRTIO_GPIO_DIRECTION_IN,
			    NULL), OK);
	assert_int_equal(ex(f, VIRTIO_GPIO_MSG_GET_VALUE, 1, 0, &v), OK);
	assert_int_equal(v, 1);
	/* NONE forgets the stored value. */
	assert_int_equal(ex(f, VIRTIO_GPIO_MSG_SET_VALUE, 1, 1, NULL), OK);
	assert_int_equal(ex(f, VIRTIO_GPIO_MSG_SET_DIRECTION, 1, VIRTIO_GPIO_DIRECTION_NONE,
			    NULL), OK);
	assert_int_equal(f->st.lines[1].value, 0);
	gpio_sim_drive(f->chip, 1, 0);
}

static void test_irq_type_rules(void **state)
{
	struct fx *f = *state;
	int buf;

	assert_int_equal(ex(f, VIRTIO_GPIO_MSG_SET_IRQ_TYPE, 2, 1, NULL), ERR);   /* not input */
	assert_int_equal(ex(f, VIRTIO_GPIO_MSG_SET_DIRECTION, 2, VIRTIO_GPIO_DIRECTION_IN,
			    NULL), OK);
	f->st.irq_feature = false;
	assert_int_equal(ex(f, VIRTIO_GPIO_MSG_SET_IRQ_TYPE, 2, 1, NULL), ERR);
	f->st.irq_feature = true;
	for (uint32_t t = 5; t < 64; t++)
		if (t != 8)
			assert_int_equal(ex(f, VIRTIO_GPIO_MSG_SET_IRQ_TYPE, 2, t, NULL), ERR);
	/* A watch that cannot be added: refused, line back to plain input. */
	f->rec.fail_watch = true;
	assert_int_equal(ex(f, VIRTIO_GPIO_MSG_SET_IRQ_TYPE, 2, 3, NULL), ERR);
	assert_int_equal(f->chip->ops->event_fd(f->chip, 2), -1);
	f->rec.fail_watch = false;
	assert_int_equal(ex(f, VIRTIO_GPIO_MSG_SET_IRQ_TYPE, 2, 3, NULL), OK);
	assert_int_equal(f->rec.nwatch, 1);
	assert_int_equal(f->rec.watched_fd[2], f->chip->ops->event_fd(f->chip, 2));
	assert_int_equal(ex(f, VIRTIO_GPIO_MSG_SET_IRQ_TYPE, 2, 3, NULL), OK);
	assert_int_equal(f->rec.nwatch, 1);
	assert_int_equal(ex(f, VIRTIO_GPIO_MSG_SET_IRQ_TYPE, 2, 1, NULL), ERR);
	assert_int_equal(ex(f, VIRTIO_GPIO_MSG_SET_DIRECTION, 2, VIRTIO_GPIO_DIRECTION_OUT,
			    NULL), ERR);
	/* Input again while enabled: nothing changes. */
	assert_int_equal(ex(f, VIRTIO_GPIO_MSG_SET_DIRECTION, 2, VIRTIO_GPIO_DIRECTION_IN,
			    NULL), OK);
	assert_int_equal(f->st.lines[2].irq_type, 3);
	/* Unmask, then disable: the buffer completes INVALID, watch gone. */
	assert_int_equal(gpio_irq_unmask(&f->st, 2, &buf), 0);
	assert_int_equal(f->rec.ncomplete, 0);
	assert_int_equal(ex(f, VIRTIO_GPIO_MSG_SET_IRQ_TYPE, 2, 0, NULL), OK);
	assert_int_equal(f->rec.ncomplete, 1);
	assert_ptr_equal(f->rec.buf[0], &buf);
	assert_int_equal(f->rec.status[0], VIRTIO_GPIO_IRQ_STATUS_INVALID);
	assert_int_equal(f->rec.nunwatch, 1);
	assert_int_equal(f->chip->ops->event_fd(f->chip, 2), -1);
}

static void test_unmask_rules(void **state)
{
	struct fx *f = *state;
	int a, b;

	assert_int_equal(gpio_irq_unmask(&f->st, 8, &a), -1);
	assert_int_equal(gpio_irq_unmask(&f->st, 0xffffffffu, &a), -1);
	assert_int_equal(gpio_irq_unmask(&f->st, 3, &a), -1);       /* not enabled */
	ex(f, VIRTIO_GPIO_MSG_SET_DIRECTION, 3, VIRTIO_GPIO_DIRECTION_IN, NULL);
	ex(f, VIRTIO_GPIO_MSG_SET_IRQ_TYPE, 3, VIRTIO_GPIO_IRQ_TYPE_EDGE_RISING, NULL);
	assert_int_equal(gpio_irq_unmask(&f->st, 3, &a), 0);
	assert_int_equal(gpio_irq_unmask(&f->st, 3, &b), -1);       /* one per line */
	/* elem_cancel's forget */
	assert_false(gpio_irq_forget(&f->st, &b));
	assert_true(gpio_irq_forget(&f->st, &a));
	assert_null(f->st.lines[3].held);
	assert_int_equal(gpio_irq_unmask(&f->st, 3, &b), 0);
	assert_int_equal(f->rec.ncomplete, 0);
}

static void test_edges(void **state)
{
	struct fx *f = *state;
	int a;

	ex(f, VIRTIO_GPIO_MSG_SET_DIRECTION, 4, VIRTIO_GPIO_DIRECTION_IN, NULL);
	ex(f, VIRTIO_GPIO_MSG_SET_IRQ_TYPE, 4, VIRTIO_GPIO_IRQ_TYPE_EDGE_FALLING, NULL);
	assert_int_equal(gpio_irq_unmask(&f->st, 4, &a), 0);
	gpio_sim_drive(f->chip, 4, 1);                  /* rising: ignored */
	gpio_irq_events(&f->st, 4);
	assert_int_equal(f->rec.ncomplete, 0);
	assert_false(f->st.lines[4].latched);
	gpio_sim_drive(f->chip, 4, 0);
	gpio_irq_events(&f->st, 4);
	assert_int_equal(f->rec.ncomplete, 1);
	assert_int_equal(f->rec.line[0], 4);
	assert_int_equal(f->rec.status[0], VIRTIO_GPIO_IRQ_STATUS_VALID);
	/* Masked: latched, delivered at the unmask. */
	gpio_sim_drive(f->chip, 4, 1);
	gpio_sim_drive(f->chip, 4, 0);
	gpio_irq_events(&f->st, 4);
	assert_true(f->st.lines[4].latched);
	assert_int_equal(gpio_irq_unmask(&f->st, 4, &a), 0);
	assert_int_equal(f->rec.ncomplete, 2);
	assert_false(f->st.lines[4].latched);
	assert_null(f->st.lines[4].held);
	/* SET_DIRECTION NONE discards a latched edge. */
	gpio_sim_drive(f->chip, 4, 1);
	gpio_sim_drive(f->chip, 4, 0);
	gpio_irq_events(&f->st, 4);
	assert_true(f->st.lines[4].latched);
	ex(f, VIRTIO_GPIO_MSG_SET_DIRECTION, 4, VIRTIO_GPIO_DIRECTION_NONE, NULL);
	assert_false(f->st.lines[4].latched);
	assert_int_equal(f->st.lines[4].irq_type, 0);
}

static void test_level(void **state)
{
	struct fx *f = *state;
	int a;

	ex(f, VIRTIO_GPIO_MSG_SET_DIRECTION, 5, VIRTIO_GPIO_DIRECTION_IN, NULL);
	ex(f, VIRTIO_GPIO_MSG_SET_IRQ_TYPE, 5, VIRTIO_GPIO_IRQ_TYPE_LEVEL_HIGH, NULL);
	/* High while masked: not latched. */
	gpio_sim_drive(f->chip, 5, 1);
	gpio_sim_drive(f->chip, 5, 0);
	gpio_irq_events(&f->st, 5);
	assert_false(f->st.lines[5].latched);
	assert_int_equal(gpio_irq_unmask(&f->st, 5, &a), 0);
	assert_int_equal(f->rec.ncomplete, 0);
	gpio_sim_drive(f->chip, 5, 1);
	gpio_irq_events(&f->st, 5);
	assert_int_equal(f->rec.ncomplete, 1);
	/* Still high: fires on each unmask. */
	assert_int_equal(gpio_irq_unmask(&f->st, 5, &a), 0);
	assert_int_equal(f->rec.ncomplete, 2);
	assert_int_equal(f->rec.status[1], VIRTIO_GPIO_IRQ_STATUS_VALID);
	gpio_sim_drive(f->chip, 5, 0);
	gpio_irq_events(&f->st, 5);
	assert_int_equal(gpio_irq_unmask(&f->st, 5, &a), 0);
	assert_int_equal(f->rec.ncomplete, 2);
	/* The level low type on a low line with a held buffer: at once. */
	ex(f, VIRTIO_GPIO_MSG_SET_IRQ_TYPE, 5, VIRTIO_GPIO_IRQ_TYPE_NONE, NULL);
	assert_int_equal(f->rec.ncomplete, 3);
	assert_int_equal(f->rec.status[2], VIRTIO_GPIO_IRQ_STATUS_INVALID);
	ex(f, VIRTIO_GPIO_MSG_SET_IRQ_TYPE, 5, VIRTIO_GPIO_IRQ_TYPE_LEVEL_LOW, NULL);
	assert_int_equal(gpio_irq_unmask(&f->st, 5, &a), 0);
	assert_int_equal(f->rec.ncomplete, 4);
	assert_int_equal(f->rec.status[3], VIRTIO_GPIO_IRQ_STATUS_VALID);
}

static void test_reset_releases(void **state)
{
	struct fx *f = *state;

	ex(f, VIRTIO_GPIO_MSG_SET_DIRECTION, 6, VIRTIO_GPIO_DIRECTION_IN, NULL);
	ex(f, VIRTIO_GPIO_MSG_SET_IRQ_TYPE, 6, VIRTIO_GPIO_IRQ_TYPE_EDGE_BOTH, NULL);
	ex(f, VIRTIO_GPIO_MSG_SET_VALUE, 7, 1, NULL);
	ex(f, VIRTIO_GPIO_MSG_SET_DIRECTION, 7, VIRTIO_GPIO_DIRECTION_OUT, NULL);
	gpio_state_reset(&f->st);
	assert_int_equal(f->rec.nunwatch, 1);
	assert_int_equal(f->chip->ops->event_fd(f->chip, 6), -1);
	/* Released: the output no longer drives the pin. */
	assert_int_equal(f->chip->ops->get_value(f->chip, 7), 0);
	for (unsigned i = 0; i < 8; i++) {
		assert_int_equal(f->st.lines[i].dir, 0);
		assert_int_equal(f->st.lines[i].irq_type, 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list_parse),
		cmocka_unit_test(test_list_parse_errors),
		cmocka_unit_test(test_list_open),
		cmocka_unit_test(test_names_blob),
		cmocka_unit_test(test_request_parse),
		cmocka_unit_test_setup_teardown(test_values_and_directions, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_irq_type_rules, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_unmask_rules, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_edges, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_level, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_reset_releases, fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
