/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Fuzz target: vsock packets (virtio 1.2+, 5.10 "Socket Device") through
 * the device's real packet checks (vsock-pkt.c) and one connection's state
 * machine (vsock-conn.c: credit, shutdown, RST, SEQPACKET messages, the
 * guest->host buffer) whose host side is a real socketpair.
 *
 * The input is a script of records:
 *   op % 4 == 0  a guest packet: a chain (fuzz-elem.h) whose readable
 *                bytes are the 44-byte header and payload; checked by
 *                vsock_pkt_check as the multiplexer does, and if it
 *                passes, handed to the connection (addresses forced to
 *                the connection's own, as the multiplexer's lookup does);
 *   op % 4 == 1  host bytes: a count, then that many, written by the host
 *                application; then the connection's host events;
 *   op % 4 == 2  the host application reads what it has (or, with bit 2,
 *                shuts down its writing side, with bit 3 closes);
 *   op % 4 == 3  the guest offers a receive buffer of a size from the
 *                input: vsock_conn_fill writes the next packet into it.
 * The connection is STREAM or SEQPACKET (first byte), started as a guest-
 * or host-initiated connection (second byte).
 */
#include "config.h"
#include "fuzz/fuzz.h"
#include "fuzz/fuzz-elem.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "devices/vsock/vsock-conn.h"
#include "devices/vsock/vsock-pkt.h"

#define GUEST_CID 3
#define GUEST_PORT 1234
#define HOST_PORT 5000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct vsock_conn_cfg cfg = { .guest_cid = GUEST_CID, .name = "fuzz" };
	uint8_t setup = fuzz_u8(&in), start = fuzz_u8(&in);
	uint16_t type = (setup & 1) ? VSOCK_TYPE_SEQPACKET : VSOCK_TYPE_STREAM;
	struct vsock_conn *c;
	int sv[2], host;

	vhd_log_set_level(VHD_LOG_ERROR);
	cfg.buf_alloc = (setup & 2) ? 4096 : 65536;
	if (socketpair(AF_UNIX, (type == VSOCK_TYPE_SEQPACKET ? SOCK_SEQPACKET : SOCK_STREAM) |
		       SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0)
		return 0;
	host = sv[1];
	c = vsock_conn_new(&cfg, type, 2, HOST_PORT, GUEST_PORT, sv[0]);
	if (!c) {
		close(sv[0]);
		close(host);
		return 0;
	}
	if (start & 1) {
		vsock_conn_start_host(c, start & 2);
	} else {
		struct vsock_hdr req = { .src_cid = GUEST_CID, .dst_cid = 2,
					 .src_port = GUEST_PORT, .dst_port = HOST_PORT,
					 .type = type, .op = VSOCK_OP_REQUEST,
					 .buf_alloc = fuzz_u32(&in), .fwd_cnt = 0 };
		vsock_conn_start_guest(c, &req, start & 2);
	}

	while (in.left) {
		uint8_t op = fuzz_u8(&in);
		struct fuzz_elem fe;

		switch (op & 3) {
		case 0: {
			struct vsock_hdr h;

			if (fuzz_elem_make(&fe, &in) == 0 &&
			    vsock_hdr_read(fe.e.rd, fe.e.n_rd, fe.e.rd_len, &h) == 0 &&
			    vsock_pkt_check(&h, fe.e.rd_len, GUEST_CID, true) == VSOCK_PKT_OK) {
				h.src_port = GUEST_PORT;
				h.dst_port = HOST_PORT;
				h.type = type;
				vsock_conn_guest_pkt(c, &h, fe.e.rd, fe.e.n_rd);
			}
			fuzz_elem_free(&fe);
			break;
		}
		case 1: {
			uint8_t buf[256];
			uint8_t n = fuzz_u8(&in);

			fuzz_take(&in, buf, n);
			if (host >= 0)
				(void)send(host, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL);
			vsock_conn_host_event(c, vsock_conn_events(c) | EPOLLIN);
			break;
		}
		case 2: {
			uint8_t buf[65536];

			if (host < 0)
				break;
			if (op & 8) {
				close(host);
				host = -1;
			} else if (op & 4) {
				shutdown(host, SHUT_WR);
			} else {
				while (recv(host, buf, sizeof(buf), MSG_DONTWAIT) > 0)
					;
			}
			vsock_conn_host_event(c, vsock_conn_events(c) | EPOLLOUT |
					      ((op & 8) ? EPOLLHUP : 0) | ((op & 4) ? EPOLLRDHUP : 0));
			break;
		}
		case 3: {
			/* Any size a driver can post: header-less to 64 KiB. */
			size_t cap = fuzz_u16(&in);
			static uint8_t rx[65536];
			struct iovec iov[2];
			size_t split = cap / 3;

			iov[0] = (struct iovec){ rx, split };
			iov[1] = (struct iovec){ rx + split, cap - split };
			if (vsock_conn_fill(c, iov, 2, cap) > cap)
				abort();
			break;
		}
		}
		if (vsock_conn_state(c) == VSOCK_CONN_DEAD)
			break;
	}
	vsock_conn_free(c);
	if (host >= 0)
		close(host);
	return 0;
}
