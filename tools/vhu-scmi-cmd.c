/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * vhost-user-frontend scmi: play the SCMI agent (the guest) of a
 * vhost-user-scmi backend:
 *
 *   vhost-user-frontend scmi SOCKET [--timeout MS] [--read ID] [--count N]
 *                                   [--notify ID] [--interval-ms MS]
 *
 * Without --read/--notify: the platform (base protocol: version, vendor,
 * protocols) and every sensor with its axes and one reading, a line each.
 * --read ID: N readings of sensor ID, one line each ("V1 V2 V3").
 * --notify ID: enable sensor ID with timestamps and the interval, ask for
 * its continuous updates and print N of them as they arrive.  Exit status
 * 0, 1 (command line), 2 (the backend failed or answered an error).
 */
#include "config.h"
#include "vhu-scmi.h"

#include <endian.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROG "vhost-user-frontend scmi"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: " PROG " SOCKET [options]\n"
		"Play the SCMI agent of a vhost-user-scmi backend.  Without --read or --notify:\n"
		"print the platform and every sensor with one reading.\n"
		"Options:\n"
		"  --read ID            print --count readings of sensor ID, one line each\n"
		"  --notify ID          enable sensor ID's continuous updates and print --count\n"
		"                       of them as they arrive\n"
		"  --count N            how many (default 1)\n"
		"  --interval-ms MS     update interval for --notify (default 100)\n"
		"  --timeout MS         give up after MS ms without an answer (default 5000)\n"
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

static int fail(struct vhu_scmi *d, const char *what, int r)
{
	fprintf(stderr, PROG ": %s: %s %s\n", what, strerror(-r), vhu_scmi_error(d));
	return 2;
}

static int cmd32(struct vhu_scmi *d, unsigned proto, unsigned msg, const uint32_t *p,
		 unsigned np, void *ret, size_t cap, int timeout)
{
	int32_t st;
	int r = vhu_scmi_cmd(d, proto, msg, p, np, &st, ret, cap, NULL, timeout);

	if (r < 0)
		return fail(d, "command", r);
	if (st != 0) {
		fprintf(stderr, PROG ": protocol 0x%x message 0x%x: %s\n", proto, msg,
			vhu_scmi_status_name(st));
		return 2;
	}
	return 0;
}

static int print_reading(struct vhu_scmi *d, uint32_t id, int timeout)
{
	struct vhu_scmi_reading rd[VHU_SCMI_MAX_AXES];
	unsigned n;
	int32_t st;
	int r = vhu_scmi_read(d, id, rd, VHU_SCMI_MAX_AXES, &n, &st, timeout);

	if (r < 0)
		return fail(d, "SENSOR_READING_GET", r);
	if (st != 0) {
		fprintf(stderr, PROG ": sensor %u: %s\n", id, vhu_scmi_status_name(st));
		return 2;
	}
	for (unsigned i = 0; i < n; i++)
		printf(i ? " %" PRId64 : "%" PRId64, rd[i].value);
	printf("\n");
	return 0;
}

static int show_all(struct vhu_scmi *d, int timeout)
{
	uint32_t v[5] = { 0 };
	char vendor[17] = "", sub[17] = "";
	struct vhu_scmi_sensor *s;
	unsigned n;
	int r;

	if ((r = cmd32(d, VHU_SCMI_PROTO_BASE, 0x0, NULL, 0, &v[0], 4, timeout)) ||
	    (r = cmd32(d, VHU_SCMI_PROTO_BASE, 0x3, NULL, 0, vendor, 16, timeout)) ||
	    (r = cmd32(d, VHU_SCMI_PROTO_BASE, 0x4, NULL, 0, sub, 16, timeout)) ||
	    (r = cmd32(d, VHU_SCMI_PROTO_BASE, 0x5, NULL, 0, &v[1], 4, timeout)) ||
	    (r = cmd32(d, VHU_SCMI_PROTO_BASE, 0x6, &v[4], 1, &v[2], 8, timeout)))
		return r;
	printf("platform: SCMI %u.%u, vendor '%s', sub-vendor '%s', implementation 0x%x, "
	       "protocols:", le32toh(v[0]) >> 16, le32toh(v[0]) & 0xffff, vendor, sub,
	       le32toh(v[1]));
	for (uint32_t i = 0; i < le32toh(v[2]) && i < 4; i++)
		printf(" 0x%02x", (le32toh(v[3]) >> (8 * i)) & 0xff);
	printf("\n");
	r = vhu_scmi_sensors(d, &s, &n, timeout);
	if (r < 0)
		return fail(d, "sensor descriptions", r);
	printf("sensors: %u\n", n);
	for (unsigned i = 0; i < n && !r; i++) {
		printf("sensor %u '%s': class 0x%02x, scale %d, axes %u", s[i].id, s[i].name,
		       s[i].type, s[i].scale, s[i].num_axes);
		for (unsigned k = 0; k < s[i].num_axes; k++)
			printf(k ? " %s" : " (%s", s[i].axis[k].name);
		printf("%s: ", s[i].num_axes ? ")" : "");
		r = print_reading(d, s[i].id, timeout);
	}
	free(s);
	return r;
}

static int notify(struct vhu_scmi *d, uint32_t id, unsigned long count, unsigned long ms,
		  int timeout)
{
	/* Update interval ms x 10^-3 s; sensor and timestamps enabled. */
	uint32_t cfg[2] = { id, (uint32_t)ms << 16 | (uint32_t)(-3 & 0x1f) << 11 | 3u };
	uint32_t on[2] = { id, 1 };
	uint8_t ev[VHU_SCMI_RESP_SIZE];
	uint32_t len;
	int r;

	r = vhu_scmi_post_events(d, 16, sizeof(ev));
	if (r < 0)
		return fail(d, "event buffers", r);
	if ((r = cmd32(d, VHU_SCMI_PROTO_SENSOR, 0xA, cfg, 2, NULL, 0, timeout)) ||
	    (r = cmd32(d, VHU_SCMI_PROTO_SENSOR, 0xB, on, 2, NULL, 0, timeout)))
		return r;
	for (unsigned long i = 0; i < count; i++) {
		r = vhu_scmi_next_event(d, ev, sizeof(ev), &len, timeout);
		if (r < 0)
			return fail(d, "notification", r);
		if (len < 12) {
			fprintf(stderr, PROG ": notification of %u bytes\n", len);
			return 2;
		}
		for (uint32_t off = 12; off + 16 <= len; off += 16) {
			uint64_t lo, hi;

			memcpy(&lo, ev + off, 8);
			(void)hi;
			printf(off > 12 ? " %" PRId64 : "%" PRId64, (int64_t)le64toh(lo));
		}
		printf("\n");
		fflush(stdout);
	}
	return 0;
}

int vhu_scmi_cmd_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "timeout", required_argument, NULL, 't' },
		{ "read", required_argument, NULL, 'r' },
		{ "notify", required_argument, NULL, 'n' },
		{ "count", required_argument, NULL, 'c' },
		{ "interval-ms", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct vhu_scmi_opts o;
	struct vhu_scmi *d = NULL;
	const char *socket = NULL;
	unsigned long timeout = 5000, read_id = 0, notify_id = 0, count = 1, ms = 100;
	bool reading = false, notifying = false;
	char err[512] = "";
	int opt, r = 0;

	/* argv[0] is "scmi"; SOCKET may come before or after the options. */
	optind = 1;
	if (argc > 1 && argv[1][0] != '-') {
		socket = argv[1];
		optind = 2;
	}
	while ((opt = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			usage(stdout);
			return 0;
		case 't':
			if (number(optarg, 600000, &timeout) < 0 || timeout == 0)
				return bad("--timeout: expected milliseconds, not", optarg);
			break;
		case 'r':
			if (number(optarg, 0xffff, &read_id) < 0)
				return bad("--read: expected a sensor id, not", optarg);
			reading = true;
			break;
		case 'n':
			if (number(optarg, 0xffff, &notify_id) < 0)
				return bad("--notify: expected a sensor id, not", optarg);
			notifying = true;
			break;
		case 'c':
			if (number(optarg, 1000000, &count) < 0 || count == 0)
				return bad("--count: expected a number from 1, not", optarg);
			break;
		case 'i':
			if (number(optarg, 65535, &ms) < 0 || ms == 0)
				return bad("--interval-ms: expected 1 to 65535, not", optarg);
			break;
		default:
			return 1;
		}
	}
	if (!socket && optind < argc)
		socket = argv[optind++];
	if (!socket)
		return bad("missing", "SOCKET");
	if (optind < argc)
		return bad("unexpected argument", argv[optind]);
	if (reading && notifying)
		return bad("--read and --notify exclude each other", "");
	vhu_scmi_defaults(&o, socket);
	o.connect_ms = (int)timeout;
	if (vhu_scmi_open(&o, &d, err, sizeof(err)) < 0) {
		fprintf(stderr, PROG ": %s: %s\n", socket, err);
		return 2;
	}
	if (reading)
		for (unsigned long i = 0; i < count && !r; i++)
			r = print_reading(d, (uint32_t)read_id, (int)timeout);
	else if (notifying)
		r = notify(d, (uint32_t)notify_id, count, ms, (int)timeout);
	else
		r = show_all(d, (int)timeout);
	vhu_scmi_close(d);
	return r;
}
