/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * vhost-user-frontend input: play the guest of a vhost-user-input backend:
 *
 *   vhost-user-frontend input SOCKET [--timeout MS] [--events N]
 *                                    [--status TYPE:CODE:VALUE]...
 *
 * Prints the device's config space as a driver reads it (name, serial,
 * ids, property bits, each event type's codes, each axis's range), sends
 * the --status events on the status queue (an LED: --status 17:1:1), then
 * with --events N prints N events as the guest receives them, one a line
 * ("event TYPE CODE VALUE").  Numbers are evdev's (linux/input-event-codes.h).
 * Exit status 0, 1 (command line), 2 (the device failed or N events did not
 * come within the timeout).
 */
#include "config.h"
#include "vhu-input.h"

#include <endian.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROG "vhost-user-frontend input"
#define MAX_STATUS 32

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: " PROG " SOCKET [options]\n"
		"Play the guest of a vhost-user-input backend: print its config space, send\n"
		"status events, print the events it delivers.\n"
		"Options:\n"
		"  --events N           print N events (\"event TYPE CODE VALUE\"), then exit\n"
		"  --status T:C:V       send the event type T, code C, value V on the status\n"
		"                       queue (repeatable; an LED on: 17:CODE:1)\n"
		"  --timeout MS         give up after MS ms without an answer or an event\n"
		"                       (default 5000)\n"
		"  -h, --help           this help\n");
}

static int number(const char *s, long min, long max, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(s, &end, 0);
	return (!*s || (*end && *end != ':') || errno || *out < min || *out > max) ? -1 : 0;
}

static int parse_status(const char *arg, long v[3])
{
	const char *p = arg;

	for (int i = 0; i < 3; i++) {
		if (number(p, i == 2 ? INT32_MIN : 0, i == 2 ? INT32_MAX : 0xffff, &v[i]) < 0)
			return -1;
		p = strchr(p, ':');
		if ((i < 2) != (p != NULL))
			return -1;
		if (p)
			p++;
	}
	return 0;
}

static int describe(struct vhu_input *d)
{
	uint8_t u[128], n;
	int r;

	if ((r = vhu_input_config(d, VHU_INPUT_CFG_ID_NAME, 0, u, &n)) < 0)
		return r;
	printf("name: %.*s\n", n, (const char *)u);
	if ((r = vhu_input_config(d, VHU_INPUT_CFG_ID_SERIAL, 0, u, &n)) < 0)
		return r;
	printf("serial: %.*s\n", n, (const char *)u);
	if ((r = vhu_input_config(d, VHU_INPUT_CFG_ID_DEVIDS, 0, u, &n)) < 0)
		return r;
	if (n >= 8)
		printf("ids: bus 0x%04x vendor 0x%04x product 0x%04x version 0x%04x\n",
		       u[0] | u[1] << 8, u[2] | u[3] << 8, u[4] | u[5] << 8, u[6] | u[7] << 8);
	if ((r = vhu_input_config(d, VHU_INPUT_CFG_PROP_BITS, 0, u, &n)) < 0)
		return r;
	printf("properties:");
	for (unsigned b = 0; b < n * 8u; b++)
		if (u[b / 8] & (1u << (b % 8)))
			printf(" %u", b);
	printf("\n");
	for (unsigned t = 1; t < 0x20; t++) {
		uint8_t bits[128], nb;

		if ((r = vhu_input_config(d, VHU_INPUT_CFG_EV_BITS, (uint8_t)t, bits, &nb)) < 0)
			return r;
		if (!nb)
			continue;
		printf("type %u:", t);
		for (unsigned c = 0; c < nb * 8u; c++)
			if (bits[c / 8] & (1u << (c % 8)))
				printf(" %u", c);
		printf("\n");
		if (t != 3)
			continue;
		for (unsigned c = 0; c < nb * 8u; c++) {
			int32_t a[5];

			if (!(bits[c / 8] & (1u << (c % 8))))
				continue;
			if ((r = vhu_input_config(d, VHU_INPUT_CFG_ABS_INFO, (uint8_t)c, u, &n)) < 0)
				return r;
			if (n < 20)
				continue;
			memcpy(a, u, sizeof(a));
			printf("abs %u: min %d max %d fuzz %d flat %d resolution %d\n", c,
			       (int32_t)le32toh((uint32_t)a[0]), (int32_t)le32toh((uint32_t)a[1]),
			       (int32_t)le32toh((uint32_t)a[2]), (int32_t)le32toh((uint32_t)a[3]),
			       (int32_t)le32toh((uint32_t)a[4]));
		}
	}
	fflush(stdout);
	return 0;
}

int vhu_input_cmd(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "events", required_argument, NULL, 'n' },
		{ "status", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	long status[MAX_STATUS][3], v, events = 0, timeout = 5000;
	unsigned nstatus = 0;
	const char *sock = NULL;
	struct vhu_input_opts o;
	struct vhu_input *d = NULL;
	char err[256] = "";
	int opt, r;

	optind = 1;
	for (;;) {
		while (optind < argc && argv[optind][0] != '-') {
			if (sock) {
				fprintf(stderr, PROG ": unexpected argument '%s'\n", argv[optind]);
				return 1;
			}
			sock = argv[optind++];
		}
		opt = getopt_long(argc, argv, "+h", opts, NULL);
		if (opt == -1)
			break;
		switch (opt) {
		case 'n':
			if (number(optarg, 1, 1 << 20, &events) < 0 || strchr(optarg, ':')) {
				fprintf(stderr, PROG ": --events '%s': expected 1..1048576\n", optarg);
				return 1;
			}
			break;
		case 's':
			if (nstatus == MAX_STATUS || parse_status(optarg, status[nstatus]) < 0) {
				fprintf(stderr, PROG ": --status '%s': expected TYPE:CODE:VALUE "
					"(at most %u)\n", optarg, MAX_STATUS);
				return 1;
			}
			nstatus++;
			break;
		case 't':
			if (number(optarg, 1, 1 << 30, &v) < 0 || strchr(optarg, ':')) {
				fprintf(stderr, PROG ": --timeout '%s': expected milliseconds\n", optarg);
				return 1;
			}
			timeout = v;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (!sock) {
		usage(stderr);
		return 1;
	}
	vhu_input_defaults(&o, sock);
	o.connect_ms = (int)timeout;
	if (vhu_input_open(&o, &d, err, sizeof(err)) < 0) {
		fprintf(stderr, PROG ": %s\n", err);
		return 2;
	}
	vhu_conn_set_timeout(vhu_input_session(d)->c, (int)timeout);
	r = describe(d);
	for (unsigned i = 0; r == 0 && i < nstatus; i++)
		r = vhu_input_status(d, (uint16_t)status[i][0], (uint16_t)status[i][1],
				     (int32_t)status[i][2], (int)timeout);
	if (r == 0 && events)
		vhu_input_post(d, 64);
	for (long got = 0; r == 0 && got < events;) {
		struct vhu_input_event ev[64];
		int n = vhu_input_read(d, ev, 64, (int)timeout);

		if (n < 0) {
			r = n;
			break;
		}
		if (n == 0) {
			fprintf(stderr, PROG ": %ld of %ld events within %ld ms\n", got, events,
				timeout);
			r = -ETIMEDOUT;
			break;
		}
		for (int i = 0; i < n && got < events; i++, got++)
			printf("event %u %u %d\n", ev[i].type, ev[i].code, ev[i].value);
		fflush(stdout);
		vhu_input_post(d, (unsigned)n);
	}
	if (r < 0 && r != -ETIMEDOUT)
		fprintf(stderr, PROG ": %s%s%s\n", strerror(-r),
			*vhu_conn_error(vhu_input_session(d)->c) ? ": " : "",
			vhu_conn_error(vhu_input_session(d)->c));
	vhu_input_close(d);
	return r < 0 ? 2 : 0;
}
