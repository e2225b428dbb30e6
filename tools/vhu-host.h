/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * The host side of a test or benchmark run: plain Unix sockets standing for
 * host programs, and the backend's private memory.  Shared by
 * `vhost-user-frontend vsock` and the integration tests.
 *
 * The fds are blocking and close-on-exec.  Functions return an fd or a
 * value, or -errno.
 */
#ifndef VHU_HOST_H
#define VHU_HOST_H

#include <sys/types.h>

/* Listen at path (any file there is removed first: test paths only). */
int vhu_unix_listen(const char *path, int type, int backlog);
int vhu_unix_connect(const char *path, int type);
/* RssAnon of the process in KiB (its private memory: guest memory it maps
 * is shared and not counted), -1 on error. */
long vhu_rss_anon_kib(pid_t pid);

#endif
