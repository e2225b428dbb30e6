/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Helpers of the vhost-device-vsock integration tests and benchmark:
 * run the backend with its own options (it has no -s), host-side Unix
 * sockets with timeouts, a reproducible byte stream and its checksum,
 * host threads.
 *
 * Promise: a backend started here never outlives the test process
 * (SIGKILL at exit and PR_SET_PDEATHSIG), and its log is copied to our
 * stderr when it is stopped.
 */
#ifndef VHD_TEST_VSOCK_UTIL_H
#define VHD_TEST_VSOCK_UTIL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "backend.h"
#include "vhu-host.h"

/* The backend process: tests/integration/backend.h (backend_init,
 * backend_file, backend_alive, backend_stop, proc_fd_count). */

/* After backend_init: start $VHD_BUILDDIR/vhost-device-vsock with args
 * (NULL-terminated) and wait until every file of wait_for (NULL-
 * terminated names in the backend's directory) exists.  0 or -errno.
 * $VHD_VSOCK_BACKEND_ARGS (one argument, e.g. --log-level=debug) is
 * appended. */
int vt_backend_start(struct backend *b, const char *const *args,
		     const char *const *wait_for);
/* Host-side Unix sockets and the backend's RssAnon: tools/vhu-host.h
 * (vhu_unix_listen, vhu_unix_connect, vhu_rss_anon_kib).  Accept with a
 * timeout in ms: fd or -errno, blocking. */
int vt_accept(int lfd, int timeout_ms);
/* Full write/read with a timeout per call: bytes done, or -errno. */
ssize_t vt_write_all(int fd, const void *buf, size_t len, int timeout_ms);
ssize_t vt_read_all(int fd, void *buf, size_t len, int timeout_ms);
/* Read one "...\n" line (at most cap-1 bytes, NUL-terminated). */
ssize_t vt_read_line(int fd, char *buf, size_t cap, int timeout_ms);
/* Hybrid vsock handshake: CONNECT port, expect "OK <n>"; *host_port = n.
 * fd, or -errno (-ECONNRESET when the device closed without OK). */
int vt_hybrid_connect(const char *uds_path, uint32_t port, uint32_t *host_port,
		      int timeout_ms);

/* A reproducible byte stream (xorshift) and a checksum (FNV-1a 64). */
struct vt_stream {
	uint64_t state;
	uint64_t pos;
};
void vt_stream_init(struct vt_stream *s, uint64_t seed);
void vt_stream_fill(struct vt_stream *s, uint8_t *buf, size_t len);
#define VT_FNV_INIT 0xcbf29ce484222325ull
uint64_t vt_fnv(uint64_t h, const uint8_t *p, size_t len);
/* Checksum of the first len bytes of stream `seed`. */
uint64_t vt_stream_sum(uint64_t seed, uint64_t len);
/* Read to end of stream, adding the count to *got and the bytes to the
 * checksum *sum.  From a host socket: 0 at end of file or -errno.  From a
 * guest connection (vhu_vsock_recv, timeout_ms per call): 0 at the peer's
 * end of stream or recv's error. */
int vt_sock_recv_all(int fd, uint64_t *got, uint64_t *sum);
struct vhu_vsock_conn;
ssize_t vt_guest_recv_all(struct vhu_vsock_conn *c, int timeout_ms, uint64_t *got,
			  uint64_t *sum);

int64_t vt_now_ms(void);
double vt_now_s(void);
void vt_sleep_ms(unsigned ms);

#endif
