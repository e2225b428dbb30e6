/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * virtio-vsock packet header: wire format and checks (vsock-pkt.h).
 */
#include "config.h"
#include "devices/vsock/vsock-pkt.h"
#include "vhost-device.h"

#include <endian.h>
#include <errno.h>
#include <string.h>

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return le64toh(v);
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return le32toh(v);
}

static uint16_t get16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return le16toh(v);
}

static void put64(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, 4);
}

static void put16(uint8_t *p, uint16_t v)
{
	v = htole16(v);
	memcpy(p, &v, 2);
}

/* Offsets of struct virtio_vsock_hdr (packed). */
enum {
	O_SRC_CID = 0, O_DST_CID = 8, O_SRC_PORT = 16, O_DST_PORT = 20, O_LEN = 24,
	O_TYPE = 28, O_OP = 30, O_FLAGS = 32, O_BUF_ALLOC = 36, O_FWD_CNT = 40,
};

void vsock_hdr_decode(const uint8_t *w, struct vsock_hdr *h)
{
	h->src_cid = get64(w + O_SRC_CID);
	h->dst_cid = get64(w + O_DST_CID);
	h->src_port = get32(w + O_SRC_PORT);
	h->dst_port = get32(w + O_DST_PORT);
	h->len = get32(w + O_LEN);
	h->type = get16(w + O_TYPE);
	h->op = get16(w + O_OP);
	h->flags = get32(w + O_FLAGS);
	h->buf_alloc = get32(w + O_BUF_ALLOC);
	h->fwd_cnt = get32(w + O_FWD_CNT);
}

void vsock_hdr_encode(const struct vsock_hdr *h, uint8_t *w)
{
	put64(w + O_SRC_CID, h->src_cid);
	put64(w + O_DST_CID, h->dst_cid);
	put32(w + O_SRC_PORT, h->src_port);
	put32(w + O_DST_PORT, h->dst_port);
	put32(w + O_LEN, h->len);
	put16(w + O_TYPE, h->type);
	put16(w + O_OP, h->op);
	put32(w + O_FLAGS, h->flags);
	put32(w + O_BUF_ALLOC, h->buf_alloc);
	put32(w + O_FWD_CNT, h->fwd_cnt);
}

int vsock_hdr_read(const struct iovec *iov, unsigned n, size_t total, struct vsock_hdr *h)
{
	uint8_t w[VSOCK_HDR_SIZE];

	if (total < VSOCK_HDR_SIZE)
		return -EINVAL;
	/* The common case, one descriptor holding the whole header, is
	 * decoded in place; otherwise gather the bytes first. */
	if (n && iov[0].iov_len >= VSOCK_HDR_SIZE) {
		vsock_hdr_decode(iov[0].iov_base, h);
		return 0;
	}
	if (iov_to_buf(iov, n, 0, w, sizeof(w)) != sizeof(w))
		return -EINVAL;
	vsock_hdr_decode(w, h);
	return 0;
}

int vsock_hdr_write(const struct iovec *iov, unsigned n, size_t cap, const struct vsock_hdr *h)
{
	uint8_t w[VSOCK_HDR_SIZE];

	if (cap < VSOCK_HDR_SIZE)
		return -ENOSPC;
	if (n && iov[0].iov_len >= VSOCK_HDR_SIZE) {
		vsock_hdr_encode(h, iov[0].iov_base);
		return 0;
	}
	vsock_hdr_encode(h, w);
	if (iov_from_buf(iov, n, 0, w, sizeof(w)) != sizeof(w))
		return -ENOSPC;
	return 0;
}

enum vsock_pkt_verdict vsock_pkt_check(const struct vsock_hdr *h, size_t total,
				       uint64_t guest_cid, bool seqpacket)
{
	if (total < VSOCK_HDR_SIZE)
		return VSOCK_PKT_SHORT;
	if (h->len > VSOCK_MAX_PKT_LEN)
		return VSOCK_PKT_TOO_LONG;
	if (h->len > total - VSOCK_HDR_SIZE)
		return VSOCK_PKT_TRUNCATED;
	if (h->src_cid != guest_cid)
		return VSOCK_PKT_SPOOFED;
	if (h->dst_cid == VSOCK_CID_HYPERVISOR || h->dst_cid == VSOCK_CID_LOCAL ||
	    h->dst_cid == guest_cid || h->dst_cid > 0xfffffffeull)
		return VSOCK_PKT_BAD_DST;
	if (h->type != VSOCK_TYPE_STREAM &&
	    !(h->type == VSOCK_TYPE_SEQPACKET && seqpacket))
		return VSOCK_PKT_BAD_TYPE;
	if (h->op == VSOCK_OP_INVALID || h->op > VSOCK_OP_CREDIT_REQUEST)
		return VSOCK_PKT_BAD_OP;
	if (h->op != VSOCK_OP_RW && h->len != 0)
		return VSOCK_PKT_PAYLOAD_ON_CTL;
	return VSOCK_PKT_OK;
}

bool vsock_pkt_verdict_rst(enum vsock_pkt_verdict v)
{
	switch (v) {
	case VSOCK_PKT_BAD_DST:
	case VSOCK_PKT_BAD_TYPE:
	case VSOCK_PKT_BAD_OP:
	case VSOCK_PKT_PAYLOAD_ON_CTL:
		return true;
	default:
		return false;
	}
}

const char *vsock_pkt_verdict_str(enum vsock_pkt_verdict v)
{
	switch (v) {
	case VSOCK_PKT_OK: return "ok";
	case VSOCK_PKT_SHORT: return "buffer shorter than the 44-byte header";
	case VSOCK_PKT_TRUNCATED: return "len beyond the buffer";
	case VSOCK_PKT_TOO_LONG: return "len above 1 MiB";
	case VSOCK_PKT_SPOOFED: return "src_cid is not the guest's CID";
	case VSOCK_PKT_BAD_DST: return "reserved destination CID";
	case VSOCK_PKT_BAD_TYPE: return "unknown socket type (or SEQPACKET not negotiated)";
	case VSOCK_PKT_BAD_OP: return "unknown op";
	case VSOCK_PKT_PAYLOAD_ON_CTL: return "payload on a control packet";
	}
	return "?";
}

const char *vsock_op_str(uint16_t op)
{
	static const char *const names[] = {
		"INVALID", "REQUEST", "RESPONSE", "RST", "SHUTDOWN", "RW",
		"CREDIT_UPDATE", "CREDIT_REQUEST",
	};
	return op < sizeof(names) / sizeof(names[0]) ? names[op] : "UNKNOWN";
}

void vsock_hdr_reply(const struct vsock_hdr *req, uint16_t op, struct vsock_hdr *h)
{
	memset(h, 0, sizeof(*h));
	h->src_cid = req->dst_cid;
	h->dst_cid = req->src_cid;
	h->src_port = req->dst_port;
	h->dst_port = req->src_port;
	h->type = req->type;
	h->op = op;
}

unsigned vsock_iov_slice(const struct iovec *iov, unsigned n, size_t off, size_t len,
			 struct iovec *out, unsigned max)
{
	unsigned k = 0;

	for (unsigned i = 0; i < n && k < max && len; i++) {
		size_t l = iov[i].iov_len;
		if (off >= l) {
			off -= l;
			continue;
		}
		l -= off;
		if (l > len)
			l = len;
		out[k].iov_base = (uint8_t *)iov[i].iov_base + off;
		out[k].iov_len = l;
		k++;
		len -= l;
		off = 0;
	}
	return k;
}
