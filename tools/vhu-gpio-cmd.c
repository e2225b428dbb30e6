/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * vhost-user-frontend gpio: play the guest of a vhost-user-gpio backend
 * and run a sequence of steps in one session (lines stay as the steps
 * leave them until the session ends; then the backend releases them):
 *
 *   vhost-user-frontend gpio SOCKET [--timeout MS] STEP...
 *   info              one line per GPIO line: number, name, direction
 *   get LINE          make LINE an input, print its value
 *   set LINE=0|1      make LINE an output driving the value
 *   wait LINE TYPE [N]  enable LINE's interrupt (rising, falling, both,
 *                     high, low), print "LINE armed" once it is enabled
 *                     (a script may make its edge from then on), then
 *                     "LINE event" for each of N interrupts (default 1),
 *                     then disable it
 *   hold              wait until stdin reaches end of file (the lines
 *                     keep their state meanwhile)
 *   latency LINE N CTL  interrupt latency against a simulated chip whose
 *                     control socket is CTL (vhost-device-gpio
 *                     --sim-socket): N edges on LINE, each from the "set"
 *                     sent on CTL to the completed interrupt buffer, beside
 *                     the control socket's own round trip
 *
 * Exit status 0, 1 (command line), 2 (the device refused or failed).
 */
#include "config.h"
#include "vhu-gpio.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define PROG "vhost-user-frontend gpio"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: " PROG " SOCKET [options] STEP...\n"
		"Play the guest of a vhost-user-gpio backend and run the steps in one session:\n"
		"  info                 print every line: number, name, direction\n"
		"  get LINE             make LINE an input and print its value\n"
		"  set LINE=0|1         make LINE an output driving the value\n"
		"  wait LINE TYPE [N]   enable LINE's interrupt of TYPE (rising, falling,\n"
		"                       both, high, low), print 'LINE armed' once enabled,\n"
		"                       'LINE event' for each of N interrupts (default 1),\n"
		"                       then disable it\n"
		"  hold                 keep the lines as they are until stdin is closed\n"
		"  latency LINE N CTL   N edges on LINE made through the simulated chip's\n"
		"                       control socket CTL: print the interrupt latency\n"
		"                       (median, 99th percentile) beside the control\n"
		"                       socket's round trip\n"
		"Options:\n"
		"  --timeout MS         give up after MS ms without an answer or, for\n"
		"                       wait, without an interrupt (default 5000; 0: wait\n"
		"                       for interrupts forever)\n"
		"  -h, --help           this help\n");
}

static int bad(const char *what, const char *arg)
{
	fprintf(stderr, PROG ": %s '%s' (see --help)\n", what, arg);
	return 1;
}

static int number(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 0);
	return (!*s || *end || errno || *s == '-' || *out > max) ? -1 : 0;
}

static const struct { const char *name; uint32_t type; } irq_types[] = {
	{ "rising", VHU_GPIO_IRQ_EDGE_RISING }, { "falling", VHU_GPIO_IRQ_EDGE_FALLING },
	{ "both", VHU_GPIO_IRQ_EDGE_BOTH }, { "high", VHU_GPIO_IRQ_LEVEL_HIGH },
	{ "low", VHU_GPIO_IRQ_LEVEL_LOW },
};

struct run {
	struct vhu_gpio *d;
	int timeout;
	const char *socket;
};

/* One request; 0, or 2 after saying what failed. */
static int req(struct run *x, uint16_t type, uint16_t line, uint32_t value, uint8_t *out,
	       const char *what)
{
	uint8_t st;
	int r = vhu_gpio_request(x->d, type, line, value, &st, out, x->timeout ? x->timeout : 5000);

	if (r < 0) {
		fprintf(stderr, PROG ": %s: %s: %s %s\n", x->socket, what, strerror(-r),
			vhu_gpio_error(x->d));
		return 2;
	}
	if (st != 0) {
		fprintf(stderr, PROG ": %s: %s line %u: the device answered ERR\n", x->socket,
			what, line);
		return 2;
	}
	return 0;
}

static int step_info(struct run *x)
{
	static const char *const dirs[] = { "none", "output", "input" };
	const char **names = NULL;
	uint8_t st = 0, dir;
	int r = 0;

	if (vhu_gpio_names_size(x->d)) {
		r = vhu_gpio_line_names(x->d, &st, &names, x->timeout ? x->timeout : 5000);
		if (r < 0 || st) {
			fprintf(stderr, PROG ": %s: GET_LINE_NAMES: %s\n", x->socket,
				r < 0 ? vhu_gpio_error(x->d) : "the device answered ERR");
			return 2;
		}
	}
	printf("%u lines\n", vhu_gpio_ngpio(x->d));
	for (unsigned i = 0; i < vhu_gpio_ngpio(x->d); i++) {
		if ((r = req(x, VHU_GPIO_GET_DIRECTION, (uint16_t)i, 0, &dir, "GET_DIRECTION")))
			return r;
		printf("line %u: \"%s\" %s\n", i, names ? names[i] : "",
		       dir < 3 ? dirs[dir] : "?");
	}
	return 0;
}

static int step_wait(struct run *x, uint16_t line, uint32_t type, unsigned long n)
{
	int r;

	if ((r = req(x, VHU_GPIO_SET_DIRECTION, line, VHU_GPIO_DIR_IN, NULL, "SET_DIRECTION")) ||
	    (r = req(x, VHU_GPIO_SET_IRQ_TYPE, line, type, NULL, "SET_IRQ_TYPE")))
		return r;
	/* From here on an edge is latched: a script waiting for this line
	 * may make it. */
	printf("%u armed\n", line);
	fflush(stdout);
	for (unsigned long i = 0; i < n; i++) {
		uint32_t got;
		uint8_t st;

		r = vhu_gpio_irq_unmask(x->d, line);
		if (r == 0)
			r = vhu_gpio_irq_wait(x->d, x->timeout ? x->timeout : -1, &got, &st);
		if (r < 0) {
			fprintf(stderr, PROG ": %s: line %u: waiting for an interrupt: %s %s\n",
				x->socket, line, strerror(-r), vhu_gpio_error(x->d));
			return 2;
		}
		if (st != VHU_GPIO_IRQ_VALID) {
			fprintf(stderr, PROG ": %s: line %u: interrupt buffer returned INVALID\n",
				x->socket, line);
			return 2;
		}
		printf("%u event\n", line);
		fflush(stdout);
	}
	return req(x, VHU_GPIO_SET_IRQ_TYPE, line, VHU_GPIO_IRQ_NONE, NULL, "SET_IRQ_TYPE");
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* One "set" on the control connection; 0 when it answered "ok". */
static int ctl_set(int fd, unsigned line, int v)
{
	char cmd[32], ans[16];
	int n = snprintf(cmd, sizeof(cmd), "set %u %d\n", line, v);
	size_t got = 0;

	if (write(fd, cmd, (size_t)n) != n)
		return -1;
	while (got < 3) {
		ssize_t r = read(fd, ans + got, sizeof(ans) - got);

		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return memcmp(ans, "ok\n", 3) ? -1 : 0;
}

static int step_latency(struct run *x, uint16_t line, unsigned long n, const char *ctlpath)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	uint64_t *irq = calloc(n, sizeof(*irq)), *rt = calloc(n, sizeof(*rt));
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), r = 2;

	if (!irq || !rt || fd < 0)
		goto out;
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", ctlpath);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || ctl_set(fd, line, 0) < 0) {
		fprintf(stderr, PROG ": %s: cannot drive the line through it\n", ctlpath);
		goto out;
	}
	if ((r = req(x, VHU_GPIO_SET_DIRECTION, line, VHU_GPIO_DIR_IN, NULL, "SET_DIRECTION")) ||
	    (r = req(x, VHU_GPIO_SET_IRQ_TYPE, line, VHU_GPIO_IRQ_EDGE_BOTH, NULL, "SET_IRQ_TYPE")))
		goto out;
	r = 2;
	for (unsigned long i = 0; i < n; i++) {
		uint64_t t0, t1;
		uint32_t got;
		uint8_t st;

		if (vhu_gpio_irq_unmask(x->d, line) < 0)
			goto out;
		t0 = now_ns();
		if (ctl_set(fd, line, (int)((i + 1) & 1)) < 0)
			goto out;
		t1 = now_ns();
		if (vhu_gpio_irq_wait(x->d, x->timeout ? x->timeout : -1, &got, &st) < 0 ||
		    st != VHU_GPIO_IRQ_VALID) {
			fprintf(stderr, PROG ": edge %lu: no interrupt\n", i);
			goto out;
		}
		irq[i] = now_ns() - t0;
		rt[i] = t1 - t0;
	}
	qsort(irq, n, sizeof(*irq), cmp_u64);
	qsort(rt, n, sizeof(*rt), cmp_u64);
	printf("edges %lu: interrupt latency median %.1f us, p99 %.1f us; control round trip "
	       "median %.1f us; ratio %.2f\n", n, irq[n / 2] / 1e3, irq[n * 99 / 100] / 1e3,
	       rt[n / 2] / 1e3, (double)irq[n / 2] / (double)rt[n / 2]);
	r = req(x, VHU_GPIO_SET_IRQ_TYPE, line, VHU_GPIO_IRQ_NONE, NULL, "SET_IRQ_TYPE");
out:
	if (fd >= 0)
		close(fd);
	free(irq);
	free(rt);
	return r;
}

static int run_steps(struct run *x, char **argv, int argc)
{
	for (int i = 0; i < argc; i++) {
		unsigned long line, v, n = 1;
		char *eq;
		uint8_t val;
		int r = 0;

		if (!strcmp(argv[i], "info")) {
			r = step_info(x);
		} else if (!strcmp(argv[i], "hold")) {
			while (getchar() != EOF)
				;
		} else if (!strcmp(argv[i], "get") && i + 1 < argc) {
			if (number(argv[++i], 65534, &line) < 0)
				return bad("bad line", argv[i]);
			r = req(x, VHU_GPIO_SET_DIRECTION, (uint16_t)line, VHU_GPIO_DIR_IN, NULL,
				"SET_DIRECTION");
			if (!r && !(r = req(x, VHU_GPIO_GET_VALUE, (uint16_t)line, 0, &val,
					    "GET_VALUE")))
				printf("%u\n", val);
		} else if (!strcmp(argv[i], "set") && i + 1 < argc &&
			   (eq = strchr(argv[i + 1], '='))) {
			*eq = 0;
			i++;
			if (number(argv[i], 65534, &line) < 0 || number(eq + 1, 1, &v) < 0)
				return bad("expected LINE=0|1, not", argv[i]);
			r = req(x, VHU_GPIO_SET_VALUE, (uint16_t)line, (uint32_t)v, NULL, "SET_VALUE");
			if (!r)
				r = req(x, VHU_GPIO_SET_DIRECTION, (uint16_t)line, VHU_GPIO_DIR_OUT,
					NULL, "SET_DIRECTION");
		} else if (!strcmp(argv[i], "wait") && i + 2 < argc) {
			size_t t;

			if (number(argv[i + 1], 65534, &line) < 0)
				return bad("bad line", argv[i + 1]);
			for (t = 0; t < sizeof(irq_types) / sizeof(irq_types[0]); t++)
				if (!strcmp(argv[i + 2], irq_types[t].name))
					break;
			if (t == sizeof(irq_types) / sizeof(irq_types[0]))
				return bad("interrupt type rising|falling|both|high|low, not",
					   argv[i + 2]);
			i += 2;
			if (i + 1 < argc && argv[i + 1][0] >= '0' && argv[i + 1][0] <= '9' &&
			    number(argv[++i], 1000000, &n) < 0)
				return bad("bad count", argv[i]);
			r = step_wait(x, (uint16_t)line, irq_types[t].type, n);
		} else if (!strcmp(argv[i], "latency") && i + 3 < argc) {
			if (number(argv[i + 1], 65534, &line) < 0 ||
			    number(argv[i + 2], 10000000, &n) < 0 || n == 0)
				return bad("expected latency LINE N CTL, not", argv[i + 1]);
			r = step_latency(x, (uint16_t)line, n, argv[i + 3]);
			i += 3;
		} else {
			return bad("unknown or incomplete step", argv[i]);
		}
		fflush(stdout);
		if (r)
			return r;
	}
	return 0;
}

int vhu_gpio_cmd(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct vhu_gpio_opts o;
	struct run x = { .timeout = 5000 };
	unsigned long timeout;
	char err[512] = "";
	int opt, r;

	/* argv[0] is "gpio"; SOCKET may come before or after the options. */
	optind = 1;
	if (argc > 1 && argv[1][0] != '-') {
		x.socket = argv[1];
		optind = 2;
	}
	while ((opt = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			usage(stdout);
			return 0;
		case 't':
			if (number(optarg, 3600000, &timeout) < 0)
				return bad("--timeout: expected milliseconds, not", optarg);
			x.timeout = (int)timeout;
			break;
		default:
			return 1;
		}
	}
	if (!x.socket && optind < argc)
		x.socket = argv[optind++];
	if (!x.socket)
		return bad("missing", "SOCKET");
	if (optind == argc)
		return bad("no step given", "");
	vhu_gpio_defaults(&o, x.socket);
	o.connect_ms = x.timeout ? x.timeout : 5000;
	r = vhu_gpio_open(&o, &x.d, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, PROG ": %s: %s\n", x.socket, err);
		return 2;
	}
	r = run_steps(&x, argv + optind, argc - optind);
	vhu_gpio_close(x.d);
	return r;
}
