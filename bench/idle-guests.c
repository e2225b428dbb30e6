/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * idle-guests BASE N MODE: be N idle frontends (QEMU's role, through
 * libvhu-frontend of tools/) on the sockets BASE0 .. BASE<N-1> of one
 * backend, for bench-scale.sh.  MODE:
 *   negotiated  connect and negotiate features (a guest whose driver has
 *               not started the device yet);
 *   rings       also guest memory and queue 0 started (ring of 64), one
 *               64-byte request served (a guest whose driver runs but
 *               asks nothing more).
 * Prints "ready" when all are set up, then holds them until stdin ends.
 * Exit status 0, or 2 with the failing step on stderr.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "vhu-frontend.h"

static int one_request(struct vhu_session *s)
{
	struct vhu_pump_opts p = {
		.buf_size = 64, .depth = 1, .batch = 1, .max_bytes = 64,
		.idle_timeout_ms = 30000,
	};
	struct vhu_pump_result res;

	return vhu_pump_read(s->vq[0], s->m, &p, &res);
}

int main(int argc, char **argv)
{
	struct rlimit rl;
	unsigned n;
	bool rings;
	char path[4200], err[512], buf[64];
	void **held;

	if (argc != 4 || (strcmp(argv[3], "negotiated") && strcmp(argv[3], "rings"))) {
		fprintf(stderr, "usage: idle-guests BASE N negotiated|rings\n");
		return 1;
	}
	n = (unsigned)strtoul(argv[2], NULL, 10);
	rings = !strcmp(argv[3], "rings");
	held = calloc(n ? n : 1, sizeof(*held));
	/* Several fds per guest (socket, memfd, kick/call/err eventfds). */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	for (unsigned i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s%u", argv[1], i);
		if (rings) {
			struct vhu_session_opts o;
			struct vhu_session *s = NULL;

			vhu_session_defaults(&o, path);
			o.connect_ms = 10000;
			o.timeout_ms = 30000;
			o.vq.num = 64;
			o.mem_size = 1u << 20;
			if (vhu_session_open(&o, &s, err, sizeof(err)) < 0) {
				fprintf(stderr, "idle-guests: %s: %s\n", path, err);
				return 2;
			}
			if (one_request(s) < 0) {
				fprintf(stderr, "idle-guests: %s: no request served\n", path);
				return 2;
			}
			held[i] = s;
		} else {
			struct vhu_session_opts o;
			struct vhu_conn *c;

			vhu_session_defaults(&o, path);   /* QEMU's feature wishes */
			if (vhu_connect(path, 10000, &c) < 0 ||
			    (vhu_conn_set_timeout(c, 30000), vhu_negotiate(c, o.features, o.protocol)) < 0) {
				fprintf(stderr, "idle-guests: %s: cannot connect and negotiate\n", path);
				return 2;
			}
			held[i] = c;
		}
	}
	printf("ready\n");
	fflush(stdout);
	while (read(0, buf, sizeof(buf)) > 0)
		;
	for (unsigned i = 0; i < n; i++) {
		if (rings)
			vhu_session_close(held[i]);
		else
			vhu_close(held[i]);
	}
	free(held);
	return 0;
}
