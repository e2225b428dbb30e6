/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * virtio-vsock packets (virtio 1.2, 5.10 "Socket Device"): the 44-byte
 * little-endian header that starts every buffer on the rx and tx queues,
 * read from and written to iovecs, and the checks every packet from a
 * guest passes before anything acts on it.
 *
 * Promises:
 *  - vsock_hdr_read() never reads past the readable bytes of the chain;
 *    the header may be split across any number of iovecs (Linux < 6.2
 *    puts the header and the payload in separate descriptors).
 *  - vsock_pkt_check() classifies a guest packet: OK, or a reason that
 *    says what was wrong and what the device does about it (drop it, or
 *    answer RST).  It looks only at the header and the chain's length.
 */
#ifndef VHD_VSOCK_PKT_H
#define VHD_VSOCK_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define VSOCK_HDR_SIZE 44u

#define VSOCK_CID_HYPERVISOR 0ull
#define VSOCK_CID_LOCAL      1ull
#define VSOCK_CID_HOST       2ull

/* Feature bits of the device (virtio 1.2, 5.10.3). */
#define VSOCK_F_STREAM       0
#define VSOCK_F_SEQPACKET    1

enum vsock_type {
	VSOCK_TYPE_STREAM = 1,
	VSOCK_TYPE_SEQPACKET = 2,
};

enum vsock_op {
	VSOCK_OP_INVALID = 0,
	VSOCK_OP_REQUEST = 1,
	VSOCK_OP_RESPONSE = 2,
	VSOCK_OP_RST = 3,
	VSOCK_OP_SHUTDOWN = 4,
	VSOCK_OP_RW = 5,
	VSOCK_OP_CREDIT_UPDATE = 6,
	VSOCK_OP_CREDIT_REQUEST = 7,
};

/* SHUTDOWN flags: what the *sender* will no longer do. */
#define VSOCK_SHUTDOWN_RCV   1u
#define VSOCK_SHUTDOWN_SEND  2u
#define VSOCK_SHUTDOWN_BOTH  3u
/* RW flags of SEQPACKET: end of message, end of record (MSG_EOR). */
#define VSOCK_SEQ_EOM        1u
#define VSOCK_SEQ_EOR        2u

/* The header in host byte order. */
struct vsock_hdr {
	uint64_t src_cid;
	uint64_t dst_cid;
	uint32_t src_port;
	uint32_t dst_port;
	uint32_t len;
	uint16_t type;
	uint16_t op;
	uint32_t flags;
	uint32_t buf_alloc;
	uint32_t fwd_cnt;
};

/* Decode / encode the 44 wire bytes. */
void vsock_hdr_decode(const uint8_t *wire, struct vsock_hdr *h);
void vsock_hdr_encode(const struct vsock_hdr *h, uint8_t *wire);

/* Read the header from the start of an iovec chain holding `total`
 * bytes.  0, or -EINVAL if the chain is shorter than the header. */
int vsock_hdr_read(const struct iovec *iov, unsigned n, size_t total, struct vsock_hdr *h);
/* Write it at the start of a writable chain of `cap` bytes.  0, or
 * -ENOSPC if the chain cannot hold a header. */
int vsock_hdr_write(const struct iovec *iov, unsigned n, size_t cap, const struct vsock_hdr *h);

/* Outcome of the checks on a packet from the guest. */
enum vsock_pkt_verdict {
	VSOCK_PKT_OK = 0,
	VSOCK_PKT_SHORT,          /* chain shorter than the header: drop */
	VSOCK_PKT_TRUNCATED,      /* len beyond the chain's bytes: drop */
	VSOCK_PKT_TOO_LONG,       /* len above VSOCK_MAX_PKT_LEN: drop */
	VSOCK_PKT_SPOOFED,        /* src_cid is not the guest's: drop */
	VSOCK_PKT_BAD_DST,        /* dst_cid reserved (0, 1, the guest's own): RST */
	VSOCK_PKT_BAD_TYPE,       /* unknown type, or SEQPACKET not negotiated: RST */
	VSOCK_PKT_BAD_OP,         /* op 0 or above 7: RST */
	VSOCK_PKT_PAYLOAD_ON_CTL, /* len != 0 on an op other than RW: RST */
};

/* Largest payload accepted in one packet.  Linux sends at most 64 KiB;
 * the connection's credit bounds what is kept. */
#define VSOCK_MAX_PKT_LEN (1u << 20)

/* Check a guest packet read from a chain of `total` readable bytes. */
enum vsock_pkt_verdict vsock_pkt_check(const struct vsock_hdr *h, size_t total,
				       uint64_t guest_cid, bool seqpacket);
/* What the device does: true = answer with RST (unless it is one). */
bool vsock_pkt_verdict_rst(enum vsock_pkt_verdict v);
const char *vsock_pkt_verdict_str(enum vsock_pkt_verdict v);
const char *vsock_op_str(uint16_t op);

/* Fill h as a reply header of the given op to the guest packet `req`
 * (addresses swapped, len 0, flags 0; credit fields left 0). */
void vsock_hdr_reply(const struct vsock_hdr *req, uint16_t op, struct vsock_hdr *h);

/* Sub-chain: the iovecs of `iov` from byte `off` on, at most `max`
 * entries, up to `len` bytes.  Returns the number of entries written to
 * `out` (0 if off is past the end). */
unsigned vsock_iov_slice(const struct iovec *iov, unsigned n, size_t off, size_t len,
			 struct iovec *out, unsigned max);

#endif
