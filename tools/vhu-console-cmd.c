/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * vhost-user-frontend console: play the guest of a vhost-user-console
 * backend:
 *
 *   vhost-user-frontend console SOCKET [--write TEXT] [--read N] [--timeout MS]
 *
 * Sets the port up as Linux's virtio_console does (DEVICE_READY,
 * PORT_READY, PORT_OPEN), prints what the device said about it (one line
 * per control message: "control EVENT VALUE [name NAME | size COLSxROWS]"),
 * writes TEXT to the port, then prints N bytes the host side sends.
 * Exit status 0, 1 (command line), 2 (the device failed or the bytes did
 * not come within the timeout).
 */
#include "config.h"
#include "vhu-console.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PROG "vhost-user-frontend console"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: " PROG " SOCKET [options]\n"
		"Play the guest of a vhost-user-console backend: set its port up, print the\n"
		"control messages, write text to the host side and print what comes back.\n"
		"Options:\n"
		"  --write TEXT         write TEXT to the port\n"
		"  --read N             print N bytes the host side sends, then exit\n"
		"  --timeout MS         give up after MS ms without an answer (default 5000)\n"
		"  -h, --help           this help\n");
}

static void print_msg(const struct vhu_console_msg *m)
{
	printf("control %u %u", m->event, m->value);
	if (m->event == VHU_CON_PORT_NAME)
		printf(" name %.*s", (int)m->extra_len, (const char *)m->extra);
	if (m->event == VHU_CON_RESIZE && m->extra_len >= 4)
		printf(" size %ux%u", m->extra[0] | m->extra[1] << 8, m->extra[2] | m->extra[3] << 8);
	printf("\n");
}

int vhu_console_cmd(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "write", required_argument, NULL, 'w' },
		{ "read", required_argument, NULL, 'r' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sock = NULL, *text = NULL;
	long nread = 0, timeout = 5000;
	struct vhu_console_opts o;
	struct vhu_console *d = NULL;
	struct vhu_console_msg m;
	char err[256] = "", *end;
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
		case 'w':
			text = optarg;
			break;
		case 'r':
			nread = strtol(optarg, &end, 10);
			if (*end || nread < 1 || nread > (1 << 24)) {
				fprintf(stderr, PROG ": --read '%s': expected 1..16777216\n", optarg);
				return 1;
			}
			break;
		case 't':
			timeout = strtol(optarg, &end, 10);
			if (*end || timeout < 1 || timeout > (1 << 30)) {
				fprintf(stderr, PROG ": --timeout '%s': expected milliseconds\n", optarg);
				return 1;
			}
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
	vhu_console_defaults(&o, sock);
	o.connect_ms = (int)timeout;
	if (vhu_console_open(&o, &d, err, sizeof(err)) < 0) {
		fprintf(stderr, PROG ": %s\n", err);
		return 2;
	}
	r = vhu_console_send(d, 0, VHU_CON_DEVICE_READY, 1, (int)timeout);
	if (r == 0)
		r = vhu_console_send(d, 0, VHU_CON_PORT_READY, 1, (int)timeout);
	/* What the device answered so far: a round trip makes sure it is
	 * all there (the answers are queued while the messages are used). */
	if (r == 0)
		r = vhu_ping(vhu_console_session(d)->c);
	while (r == 0 && vhu_console_recv(d, &m, 0) == 1)
		print_msg(&m);
	if (r == 0)
		r = vhu_console_send(d, 0, VHU_CON_PORT_OPEN, 1, (int)timeout);
	if (r == 0 && text)
		r = vhu_console_write(d, text, strlen(text), (int)timeout);
	if (r == 0 && nread) {
		uint8_t *buf = malloc((size_t)nread);
		long got = 0;

		if (!buf)
			r = -ENOMEM;
		while (r == 0 && got < nread) {
			int n;

			if (vhu_console_rx_posted(d) < 8)
				vhu_console_rx_post(d, 8 - vhu_console_rx_posted(d), 4096);
			n = vhu_console_read(d, buf + got, (size_t)(nread - got), (int)timeout);
			if (n < 0)
				r = n;
			else if (n == 0)
				r = -ETIMEDOUT;
			else
				got += n;
		}
		if (got)
			fwrite(buf, 1, (size_t)got, stdout);
		free(buf);
	}
	fflush(stdout);
	if (r < 0)
		fprintf(stderr, PROG ": %s\n", strerror(-r));
	vhu_console_close(d);
	return r < 0 ? 2 : 0;
}
