/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Listening on a Unix socket path, the way every backend socket is opened
 * (the vhost-user sockets, vsock's uds_path): a stale socket file left by a
 * dead process is replaced; a live one (someone accepts) and a file that is
 * not a socket are refused, so two backends never steal each other's path.
 */
#ifndef VHD_UNIX_LISTEN_H
#define VHD_UNIX_LISTEN_H

#include <stddef.h>

/* A listening socket of `type` (SOCK_STREAM or SOCK_SEQPACKET) at path,
 * non-blocking and close-on-exec.  fd, or -errno with err filled (what was
 * wrong and what to do, without a program name): -ENAMETOOLONG,
 * -EEXIST (not a socket), -EADDRINUSE (in use), or bind/listen's error. */
int vhd_unix_listen(const char *path, int type, int backlog, char *err, size_t errlen);

#endif
