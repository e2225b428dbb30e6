/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * vhost-user-frontend can: play the guest of a vhost-user CAN backend:
 * start its controller, send frames written as cansend(1) of can-utils
 * takes them, print frames received as candump(1) prints them, stop:
 *
 *   vhost-user-frontend can SOCKET [--timeout MS] [--dump N] [FRAME...]
 *   FRAME = <id>#<data>       classic; id 3 hex digits (11 bits) or 8 (29 bits),
 *                             data 0..8 hex bytes ('.' between bytes allowed)
 *         | <id>#R[<dlc>]     remote request, DLC 0..8
 *         | <id>##<f><data>   CAN FD, f a flags nibble (BRS/ESI: virtio-can
 *                             carries neither, so it is ignored), 0..64 bytes
 *
 * Exit status 0, 1 (command line), 2 (the device refused a frame or the
 * START, or the protocol failed).  The config status is printed when it
 * says bus-off.
 */
#include "config.h"
#include "vhu-can.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROG "vhost-user-frontend can"
#define MAX_FRAMES 256

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: " PROG " SOCKET [options] [FRAME...]\n"
		"Start the controller of a vhost-user CAN backend, send each FRAME (cansend(1)\n"
		"syntax), print --dump N received frames (candump(1) style), stop it:\n"
		"  FRAME = <id>#<data>      classic: id of 3 hex digits (11 bits) or 8 (29 bits),\n"
		"                           0..8 data bytes in hex ('.' between bytes allowed)\n"
		"        | <id>#R[<dlc>]    remote request frame, DLC 0..8\n"
		"        | <id>##<f><data>  CAN FD (f: flags nibble, ignored), 0..64 bytes\n"
		"Options:\n"
		"  --dump N             print the first N frames received, then stop\n"
		"  --timeout MS         give up after MS ms without an answer (default 5000;\n"
		"                       --dump waits that long for each frame)\n"
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

static int hexval(char c)
{
	return isdigit((unsigned char)c) ? c - '0'
	       : isxdigit((unsigned char)c) ? tolower((unsigned char)c) - 'a' + 10 : -1;
}

static bool fd_len_ok(unsigned n)
{
	return n <= 8 || n == 12 || n == 16 || n == 20 || n == 24 || n == 32 || n == 48 ||
	       n == 64;
}

/* One cansend frame.  0 or -1. */
static int parse_frame(const char *s, struct vhu_can_frame *f)
{
	const char *hash = strchr(s, '#'), *p;
	size_t idlen = hash ? (size_t)(hash - s) : 0;
	unsigned max = 8;

	memset(f, 0, sizeof(*f));
	if (!hash || (idlen != 3 && idlen != 8))
		return -1;
	for (size_t i = 0; i < idlen; i++) {
		int v = hexval(s[i]);

		if (v < 0)
			return -1;
		f->can_id = f->can_id << 4 | (uint32_t)v;
	}
	if (idlen == 8) {
		if (f->can_id > 0x1fffffff)
			return -1;
		f->flags |= VHU_CAN_FLAG_EXT;
	} else if (f->can_id > 0x7ff) {
		return -1;
	}
	p = hash + 1;
	if (*p == 'R' || *p == 'r') {
		f->flags |= VHU_CAN_FLAG_RTR;
		if (!p[1])
			return 0;
		if (p[2] || hexval(p[1]) < 0 || hexval(p[1]) > 8)
			return -1;
		f->len = (uint16_t)hexval(p[1]);
		return 0;
	}
	if (*p == '#') {
		if (hexval(p[1]) < 0)
			return -1;
		f->flags |= VHU_CAN_FLAG_FD;
		max = 64;
		p += 2;
	}
	while (*p) {
		int hi, lo;

		if (*p == '.') {
			p++;
			continue;
		}
		hi = hexval(p[0]);
		lo = hi < 0 ? -1 : hexval(p[1]);
		if (lo < 0 || f->len == max)
			return -1;
		f->data[f->len++] = (uint8_t)(hi << 4 | lo);
		p += 2;
	}
	return (f->flags & VHU_CAN_FLAG_FD) && !fd_len_ok(f->len) ? -1 : 0;
}

static void print_frame(const struct vhu_can_frame *f)
{
	if (f->flags & VHU_CAN_FLAG_EXT)
		printf("%08X  ", f->can_id);
	else
		printf("%03X  ", f->can_id);
	printf(f->flags & VHU_CAN_FLAG_FD ? "[%02u] " : " [%u] ", f->len);
	if (f->flags & VHU_CAN_FLAG_RTR) {
		printf(" remote request\n");
		return;
	}
	for (unsigned i = 0; i < f->len; i++)
		printf(" %02X", f->data[i]);
	printf("\n");
}

static int run(struct vhu_can *d, const struct vhu_can_frame *fr, unsigned n, char **text,
	       unsigned long dump, int timeout)
{
	uint16_t st = 0;
	uint8_t res = 0xee;
	int r = vhu_can_control(d, VHU_CAN_START, &res, timeout);

	if (r < 0 || res != 0) {
		fprintf(stderr, PROG ": START: %s\n", r < 0 ? strerror(-r) :
			"refused (the interface may be down: see the backend's log)");
		return 2;
	}
	for (unsigned i = 0; i < n; i++) {
		r = vhu_can_send(d, &fr[i], &res, timeout);
		if (r < 0 || res != 0) {
			fprintf(stderr, PROG ": %s: %s\n", text[i],
				r < 0 ? strerror(-r) : "refused (VIRTIO_CAN_RESULT_NOT_OK)");
			return 2;
		}
	}
	for (unsigned long i = 0; i < dump; i++) {
		struct vhu_can_frame f;

		r = vhu_can_recv(d, &f, timeout);
		if (r < 0) {
			fprintf(stderr, PROG ": receiving frame %lu: %s %s\n", i + 1, strerror(-r),
				vhu_can_error(d));
			return 2;
		}
		print_frame(&f);
	}
	if (vhu_can_status(d, &st) == 0 && st)
		printf("status: 0x%04x%s\n", st, st & VHU_CAN_BUSOFF ? " (bus-off)" : "");
	vhu_can_control(d, VHU_CAN_STOP, &res, timeout);
	return 0;
}

int vhu_can_cmd(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "timeout", required_argument, NULL, 't' },
		{ "dump", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct vhu_can_frame fr[MAX_FRAMES];
	struct vhu_can_opts o = { .features = VHU_CAN_F_CLASSIC | VHU_CAN_F_FD | VHU_CAN_F_RTR };
	struct vhu_can *d = NULL;
	const char *socket = NULL;
	unsigned long timeout = 5000, dump = 0;
	char err[512] = "";
	unsigned n = 0;
	int opt, r;

	/* argv[0] is "can"; SOCKET may come before or after the options. */
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
		case 'd':
			if (number(optarg, 1000000, &dump) < 0)
				return bad("--dump: expected a frame count, not", optarg);
			break;
		default:
			return 1;
		}
	}
	if (!socket && optind < argc)
		socket = argv[optind++];
	if (!socket)
		return bad("missing", "SOCKET");
	for (int i = optind; i < argc; i++) {
		if (n == MAX_FRAMES)
			return bad("too many frames at", argv[i]);
		if (parse_frame(argv[i], &fr[n++]) < 0)
			return bad("expected <id>#<data>, <id>#R[<dlc>] or <id>##<flags><data>, not",
				   argv[i]);
	}
	o.path = socket;
	o.connect_ms = (int)timeout;
	r = vhu_can_open(&o, &d, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, PROG ": %s: %s\n", socket, err);
		return 2;
	}
	r = run(d, fr, n, argv + optind, dump, (int)timeout);
	vhu_can_close(d);
	return r;
}
