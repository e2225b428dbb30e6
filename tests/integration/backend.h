/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Integration tests: run a real backend binary from $VHD_BUILDDIR.
 *
 * Promise: a backend started here never outlives the test process.  It is
 * stopped by backend_stop() (SIGTERM, then SIGKILL after 30 s, then
 * reaped), by an atexit handler for any left running, and, if the test
 * process dies, by the kernel (PR_SET_PDEATHSIG).  Its stderr goes to a
 * log file that backend_stop() copies to our stderr, prefixed, so a
 * failing test shows what the backend said.
 *
 * With $VHD_TEST_EXEC_WRAPPER set (a path), the backend runs as
 * "WRAPPER BINARY ARGS...": the arm64 pass (scripts/arm64-check.sh) sets
 * it to qemu-aarch64, which runs the cross-built backends without
 * binfmt_misc.  The pid is then the emulator's, which is the backend.
 */
#ifndef VHD_TEST_BACKEND_H
#define VHD_TEST_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct backend {
	pid_t pid;
	char dir[64];           /* private temporary directory */
	char base[128];         /* -s argument: dir/sock */
	char log[128];
};

/* Make b's private temporary directory and log path (no process yet). */
int backend_init(struct backend *b);
/*
 * After backend_init: start $VHD_BUILDDIR/<binary> <args...> (args ends
 * with NULL) and wait (30 s at most) until every path of wait_for (NULL-
 * terminated) exists.  For devices with their own socket options.
 * 0 or -errno; on failure the process is gone (the directory stays until
 * backend_stop).
 */
int backend_spawn(struct backend *b, const char *binary, const char *const *args,
		  const char *const *wait_for);
/*
 * Start $VHD_BUILDDIR/<binary> -s dir/sock <args...> (args ends with
 * NULL) and wait (30 s at most) until the sockets exist: dir/sock0 ..
 * dir/sock<nsockets-1> when suffixed, else dir/sock.  0 or -errno.
 */
int backend_start(struct backend *b, const char *binary, bool suffixed,
		  unsigned nsockets, const char *const *args);
/* Socket path i (suffixed) or the exact path (i ignored); static buffer
 * inside b is not used: the result is written to out. */
void backend_socket(const struct backend *b, bool suffixed, unsigned i,
		    char *out, size_t len);
/* Stop, reap, remove the directory.  Returns the exit status seen
 * (>= 0), or -1 if it had to be killed.  Safe to call twice. */
int backend_stop(struct backend *b);
/* Still running? */
bool backend_alive(const struct backend *b);
/* Wait until the backend's log has a line containing needle (an event the
 * backend reports only in its log): 0, -ETIMEDOUT after timeout_ms (a
 * failure bound), -ECHILD if the backend ended. */
int backend_wait_log(const struct backend *b, const char *needle, int timeout_ms);

/* Open file descriptors of the process (/proc/PID/fd), -errno. */
int proc_fd_count(pid_t pid);
/* utime + stime of the process, in clock ticks; -errno. */
long long proc_cpu_ticks(pid_t pid);

/* A path under the backend's directory (for test files). */
void backend_file(const struct backend *b, const char *name, char *out, size_t len);

#endif
