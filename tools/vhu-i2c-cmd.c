/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * vhost-user-frontend i2c: play the guest of a vhost-user-i2c backend and
 * send one I2C transfer written as i2ctransfer(8) takes it:
 *
 *   vhost-user-frontend i2c SOCKET [--timeout MS] MSG...
 *   MSG = w<LEN>@<ADDR> BYTE...   (LEN bytes written to ADDR)
 *       | r<LEN>@<ADDR>           (LEN bytes read from ADDR)
 *
 * The messages form one transfer (each but the last with FAIL_NEXT, as
 * Linux's i2c_transfer sends them).  Each read's bytes are printed on one
 * line ("0x01 0x02"), as i2ctransfer does.  Exit status 0, 1 (command
 * line), 2 (the transfer failed: how many messages went through is said).
 */
#include "config.h"
#include "vhu-i2c.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROG "vhost-user-frontend i2c"
#define MAX_MSGS 42             /* what one I2C_RDWR carries */

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: " PROG " SOCKET [options] MSG...\n"
		"Send one I2C transfer to a vhost-user-i2c backend, as i2ctransfer(8):\n"
		"  MSG = w<LEN>@<ADDR> BYTE...  write LEN bytes to the 7-bit address ADDR\n"
		"      | r<LEN>@<ADDR>          read LEN bytes from ADDR (printed as 0x.. on a line)\n"
		"  LEN 0 is a zero-length message (SMBus quick); numbers in C syntax.\n"
		"Options:\n"
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

/* Parse MSG... into m[]; bytes for writes live in buf. */
static int parse(char **argv, int argc, struct vhu_i2c_msg *m, unsigned *n, uint8_t *buf,
		 size_t cap)
{
	size_t used = 0;
	int i = 0;

	*n = 0;
	while (i < argc) {
		char kind = argv[i][0], *at = strchr(argv[i], '@'), tmp[16];
		unsigned long len, addr;

		if ((kind != 'w' && kind != 'r') || !at || (size_t)(at - argv[i]) >= sizeof(tmp))
			return bad("expected w<LEN>@<ADDR> or r<LEN>@<ADDR>, not", argv[i]);
		memcpy(tmp, argv[i] + 1, (size_t)(at - argv[i] - 1));
		tmp[at - argv[i] - 1] = 0;
		if (number(tmp, 8192, &len) < 0 || number(at + 1, 0x7f, &addr) < 0)
			return bad("bad length or address in", argv[i]);
		if (*n == MAX_MSGS || used + len > cap)
			return bad("too many messages or bytes at", argv[i]);
		m[*n] = (struct vhu_i2c_msg){ .addr = (uint16_t)addr, .read = kind == 'r',
					      .len = (uint32_t)len, .buf = buf + used };
		i++;
		for (unsigned long k = 0; kind == 'w' && k < len; k++, i++) {
			unsigned long b;

			if (i >= argc || number(argv[i], 0xff, &b) < 0)
				return bad("expected a byte value for", argv[i - 1 - (int)k]);
			buf[used + k] = (uint8_t)b;
		}
		used += len;
		(*n)++;
	}
	if (*n == 0)
		return bad("no message given", "");
	return 0;
}

int vhu_i2c_cmd(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static uint8_t buf[1 << 16];
	struct vhu_i2c_msg m[MAX_MSGS];
	struct vhu_i2c_opts o;
	struct vhu_i2c *d = NULL;
	const char *socket = NULL;
	unsigned long timeout = 5000;
	char err[512] = "";
	unsigned n;
	int opt, r;

	/* argv[0] is "i2c"; SOCKET may come before or after the options. */
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
		default:
			return 1;
		}
	}
	if (!socket && optind < argc)
		socket = argv[optind++];
	if (!socket)
		return bad("missing", "SOCKET");
	r = parse(argv + optind, argc - optind, m, &n, buf, sizeof(buf));
	if (r)
		return r;
	vhu_i2c_defaults(&o, socket);
	o.connect_ms = (int)timeout;
	r = vhu_i2c_open(&o, &d, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, PROG ": %s: %s\n", socket, err);
		return 2;
	}
	r = vhu_i2c_transfer(d, m, n, (int)timeout);
	if (r < 0) {
		fprintf(stderr, PROG ": %s: %s %s\n", socket, strerror(-r), vhu_i2c_error(d));
		vhu_i2c_close(d);
		return 2;
	}
	for (unsigned i = 0; i < (unsigned)r; i++) {
		if (!m[i].read || m[i].len == 0)
			continue;
		for (unsigned k = 0; k < m[i].len; k++)
			printf(k ? " 0x%02x" : "0x%02x", m[i].buf[k]);
		printf("\n");
	}
	vhu_i2c_close(d);
	if ((unsigned)r < n) {
		fprintf(stderr, PROG ": the transfer failed: %d of %u messages went through\n", r, n);
		return 2;
	}
	return 0;
}
