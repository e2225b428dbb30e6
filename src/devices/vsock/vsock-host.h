/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Host-side sockets of the two backends.
 *
 * Hybrid vsock over Unix sockets (the Firecracker convention):
 *  - host-initiated: a client connects to uds_path (SOCK_STREAM) and writes
 *    "CONNECT <port>\n"; once the guest accepted, it reads
 *    "OK <host port>\n" and then the stream.  SEQPACKET (our extension):
 *    the same on "<uds_path>_seqpacket" (a SOCK_SEQPACKET socket), the
 *    line and the answer being one message each.
 *  - guest-initiated to CID 2, port P: the device connects to
 *    "<uds_path>_<P>", a SOCK_STREAM or SOCK_SEQPACKET socket as the guest
 *    socket's type.
 * AF_VSOCK forwarding (--forward-cid / --forward-listen): guest
 * connections go to forward_cid:P; host connections accepted on the
 * listen ports go to the guest's same port.
 *
 * Every fd returned is non-blocking and close-on-exec.
 */
#ifndef VHD_VSOCK_HOST_H
#define VHD_VSOCK_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest "CONNECT <port>\n" line read from a host client. */
#define VSOCK_CONNECT_LINE_MAX 64

/* Listening on uds_path: vhd_unix_listen (vhost-device.h). */

/* Connect to "<uds_path>_<port>" (type as the guest socket's).  fd, or
 * -errno (-ENAMETOOLONG, -ENOENT, -ECONNREFUSED, -EAGAIN when the
 * listener's backlog is full ...). */
int vsock_uds_connect(const char *uds_path, uint32_t port, int type);

/* Parse "CONNECT <port>" (case-insensitive keyword, one space, a decimal
 * u32, optional "\r", then "\n" or the end of the message).  0 or
 * -EINVAL. */
int vsock_parse_connect(const char *line, size_t len, uint32_t *port);

/*
 * Read the CONNECT line of a freshly accepted client without consuming
 * anything after it (a client may send data right behind the line).
 * 0 and *port when the line is complete, -EAGAIN when more bytes must
 * come, -EINVAL on a malformed or overlong line, -ECONNRESET on end of
 * file, -errno on a socket error.
 */
int vsock_read_connect(int fd, int type, uint32_t *port);

/* AF_VSOCK: connect to cid:port (non-blocking: *in_progress says whether
 * to wait for EPOLLOUT), listen on VMADDR_CID_ANY:port. */
int vsock_vsock_connect(uint32_t cid, uint32_t port, int type, bool *in_progress);
int vsock_vsock_listen(uint32_t port, char *err, size_t errlen);

#endif
