/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Unit tests of the virtio-vsock packet layer (vsock-pkt.c): the wire
 * layout byte by byte, headers split across iovecs, every verdict of the
 * guest packet check (short buffers, lengths beyond the buffer, spoofed
 * and reserved CIDs, unknown types and ops, payload on control packets),
 * RST replies and iovec slicing.
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "devices/vsock/vsock-pkt.h"

#define GUEST 3ull

static struct vsock_hdr sample(void)
{
	struct vsock_hdr h = {
		.src_cid = 0x0102030405060708ull,
		.dst_cid = 0x1112131415161718ull,
		.src_port = 0x21222324,
		.dst_port = 0x31323334,
		.len = 0x41424344,
		.type = 0x5152,
		.op = 0x6162,
		.flags = 0x71727374,
		.buf_alloc = 0x81828384,
		.fwd_cnt = 0x91929394,
	};
	return h;
}

static void assert_hdr_equal(const struct vsock_hdr *a, const struct vsock_hdr *b)
{
	assert_int_equal(a->src_cid, b->src_cid);
	assert_int_equal(a->dst_cid, b->dst_cid);
	assert_int_equal(a->src_port, b->src_port);
	assert_int_equal(a->dst_port, b->dst_port);
	assert_int_equal(a->len, b->len);
	assert_int_equal(a->type, b->type);
	assert_int_equal(a->op, b->op);
	assert_int_equal(a->flags, b->flags);
	assert_int_equal(a->buf_alloc, b->buf_alloc);
	assert_int_equal(a->fwd_cnt, b->fwd_cnt);
}

static void test_wire_layout(void **state)
{
	struct vsock_hdr h = sample(), back;
	uint8_t w[VSOCK_HDR_SIZE];
	static const uint8_t expect[VSOCK_HDR_SIZE] = {
		0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,  /* src_cid le64 */
		0x18, 0x17, 0x16, 0x15, 0x14, 0x13, 0x12, 0x11,  /* dst_cid */
		0x24, 0x23, 0x22, 0x21,                          /* src_port */
		0x34, 0x33, 0x32, 0x31,                          /* dst_port */
		0x44, 0x43, 0x42, 0x41,                          /* len */
		0x52, 0x51,                                      /* type le16 */
		0x62, 0x61,                                      /* op */
		0x74, 0x73, 0x72, 0x71,                          /* flags */
		0x84, 0x83, 0x82, 0x81,                          /* buf_alloc */
		0x94, 0x93, 0x92, 0x91,                          /* fwd_cnt */
	};

	vsock_hdr_encode(&h, w);
	assert_memory_equal(w, expect, sizeof(expect));
	vsock_hdr_decode(w, &back);
	assert_hdr_equal(&back, &h);
}

/* The header may arrive in pieces of any size. */
static void test_read_split(void **state)
{
	struct vsock_hdr h = sample(), back;
	uint8_t w[VSOCK_HDR_SIZE + 8];
	struct iovec iov[VSOCK_HDR_SIZE + 1];

	vsock_hdr_encode(&h, w);
	for (unsigned first = 1; first < VSOCK_HDR_SIZE; first++) {
		iov[0].iov_base = w;
		iov[0].iov_len = first;
		iov[1].iov_base = w + first;
		iov[1].iov_len = sizeof(w) - first;
		memset(&back, 0, sizeof(back));
		assert_int_equal(vsock_hdr_read(iov, 2, sizeof(w), &back), 0);
		assert_hdr_equal(&back, &h);
	}
	/* One byte per iovec. */
	for (unsigned i = 0; i < VSOCK_HDR_SIZE; i++) {
		iov[i].iov_base = w + i;
		iov[i].iov_len = 1;
	}
	memset(&back, 0, sizeof(back));
	assert_int_equal(vsock_hdr_read(iov, VSOCK_HDR_SIZE, VSOCK_HDR_SIZE, &back), 0);
	assert_hdr_equal(&back, &h);
	/* Too short: 43 bytes. */
	assert_int_equal(vsock_hdr_read(iov, VSOCK_HDR_SIZE - 1, VSOCK_HDR_SIZE - 1, &back), -EINVAL);
	assert_int_equal(vsock_hdr_read(iov, 0, 0, &back), -EINVAL);
}

static void test_write_split(void **state)
{
	struct vsock_hdr h = sample(), back;
	uint8_t a[10], b[100], flat[VSOCK_HDR_SIZE];
	struct iovec iov[2] = { { a, sizeof(a) }, { b, sizeof(b) } };

	assert_int_equal(vsock_hdr_write(iov, 2, sizeof(a) + sizeof(b), &h), 0);
	memcpy(flat, a, sizeof(a));
	memcpy(flat + sizeof(a), b, VSOCK_HDR_SIZE - sizeof(a));
	vsock_hdr_decode(flat, &back);
	assert_hdr_equal(&back, &h);
	/* A buffer that cannot hold the header. */
	iov[1].iov_len = 33;
	assert_int_equal(vsock_hdr_write(iov, 2, 43, &h), -ENOSPC);
}

static struct vsock_hdr good(uint16_t op, uint32_t len)
{
	struct vsock_hdr h = {
		.src_cid = GUEST, .dst_cid = 2, .src_port = 1234, .dst_port = 80,
		.len = len, .type = VSOCK_TYPE_STREAM, .op = op,
	};
	return h;
}

static void test_check_ok(void **state)
{
	for (uint16_t op = VSOCK_OP_REQUEST; op <= VSOCK_OP_CREDIT_REQUEST; op++) {
		struct vsock_hdr h = good(op, 0);
		assert_int_equal(vsock_pkt_check(&h, VSOCK_HDR_SIZE, GUEST, false), VSOCK_PKT_OK);
	}
	struct vsock_hdr h = good(VSOCK_OP_RW, 100);
	assert_int_equal(vsock_pkt_check(&h, VSOCK_HDR_SIZE + 100, GUEST, false), VSOCK_PKT_OK);
	/* A longer buffer than len is fine (the rest is ignored). */
	assert_int_equal(vsock_pkt_check(&h, VSOCK_HDR_SIZE + 4096, GUEST, false), VSOCK_PKT_OK);
	/* To a sibling. */
	h.dst_cid = 4;
	assert_int_equal(vsock_pkt_check(&h, VSOCK_HDR_SIZE + 100, GUEST, false), VSOCK_PKT_OK);
	/* SEQPACKET when negotiated. */
	h.type = VSOCK_TYPE_SEQPACKET;
	assert_int_equal(vsock_pkt_check(&h, VSOCK_HDR_SIZE + 100, GUEST, true), VSOCK_PKT_OK);
}

static void test_check_malformed(void **state)
{
	struct vsock_hdr h = good(VSOCK_OP_RW, 100);

	assert_int_equal(vsock_pkt_check(&h, VSOCK_HDR_SIZE - 1, GUEST, false), VSOCK_PKT_SHORT);
	assert_false(vsock_pkt_verdict_rst(VSOCK_PKT_SHORT));
	/* Length beyond the buffer, by one byte and by a lot. */
	assert_int_equal(vsock_pkt_check(&h, VSOCK_HDR_SIZE + 99, GUEST, false), VSOCK_PKT_TRUNCATED);
	h.len = 0xffffffffu;
	assert_int_equal(vsock_pkt_check(&h, VSOCK_HDR_SIZE + 100, GUEST, false), VSOCK_PKT_TOO_LONG);
	h.len = VSOCK_MAX_PKT_LEN + 1;
	assert_int_equal(vsock_pkt_check(&h, VSOCK_HDR_SIZE + VSOCK_MAX_PKT_LEN + 1, GUEST, false),
			 VSOCK_PKT_TOO_LONG);
	h.len = VSOCK_MAX_PKT_LEN;
	assert_int_equal(vsock_pkt_check(&h, VSOCK_HDR_SIZE + VSOCK_MAX_PKT_LEN, GUEST, false),
			 VSOCK_PKT_OK);
	assert_false(vsock_pkt_verdict_rst(VSOCK_PKT_TRUNCATED));
	assert_false(vsock_pkt_verdict_rst(VSOCK_PKT_TOO_LONG));

	/* Spoofed source: dropped, no RST to a CID that is not the guest's. */
	h = good(VSOCK_OP_REQUEST, 0);
	h.src_cid = 4;
	assert_int_equal(vsock_pkt_check(&h, VSOCK_HDR_SIZE, GUEST, false), VSOCK_PKT_SPOOFED);
	assert_false(vsock_pkt_verdict_rst(VSOCK_PKT_SPOOFED));
	h.src_cid = GUEST | (1ull << 32);
	assert_int_equal(vsock_pkt_check(&h, VSOCK_HDR_SIZE, GUEST, false), VSOCK_PKT_SPOOFED);

	/* Reserved destinations. */
	static const uint64_t bad_dst[] = { 0, 1, GUEST, 0xffffffffull, 1ull << 32 };
	for (unsigned i = 0; i < sizeof(bad_dst) / sizeof(bad_dst[0]); i++) {
		h = good(VSOCK_OP_REQUEST, 0);
		h.dst_cid = bad_dst[i];
		assert_int_equal(vsock_pkt_check(&h, VSOCK_HDR_SIZE, GUEST, false), VSOCK_PKT_BAD_DST);
	}
	assert_true(vsock_pkt_verdict_rst(VSOCK_PKT_BAD_DST));

	/* Types. */
	static const uint16_t bad_type[] = { 0, 3, 0xffff };
	for (unsigned i = 0; i < 3; i++) {
		h = good(VSOCK_OP_REQUEST, 0);
		h.type = bad_type[i];
		assert_int_equal(vsock_pkt_check(&h, VSOCK_HDR_SIZE, GUEST, true), VSOCK_PKT_BAD_TYPE);
	}
	h = good(VSOCK_OP_REQUEST, 0);
	h.type = VSOCK_TYPE_SEQPACKET;
	assert_int_equal(vsock_pkt_check(&h, VSOCK_HDR_SIZE, GUEST, false), VSOCK_PKT_BAD_TYPE);
	assert_true(vsock_pkt_verdict_rst(VSOCK_PKT_BAD_TYPE));

	/* Ops. */
	static const uint16_t bad_op[] = { 0, 8, 0xffff };
	for (unsigned i = 0; i < 3; i++) {
		h = good(bad_op[i], 0);
		assert_int_equal(vsock_pkt_check(&h, VSOCK_HDR_SIZE, GUEST, false), VSOCK_PKT_BAD_OP);
	}
	assert_true(vsock_pkt_verdict_rst(VSOCK_PKT_BAD_OP));

	/* Payload on control ops. */
	for (uint16_t op = VSOCK_OP_REQUEST; op <= VSOCK_OP_CREDIT_REQUEST; op++) {
		if (op == VSOCK_OP_RW)
			continue;
		h = good(op, 1);
		assert_int_equal(vsock_pkt_check(&h, VSOCK_HDR_SIZE + 1, GUEST, false),
				 VSOCK_PKT_PAYLOAD_ON_CTL);
	}
	assert_true(vsock_pkt_verdict_rst(VSOCK_PKT_PAYLOAD_ON_CTL));
	assert_false(vsock_pkt_verdict_rst(VSOCK_PKT_OK));
	assert_string_equal(vsock_op_str(VSOCK_OP_CREDIT_REQUEST), "CREDIT_REQUEST");
	assert_string_equal(vsock_op_str(99), "UNKNOWN");
}

static void test_reply(void **state)
{
	struct vsock_hdr req = good(VSOCK_OP_REQUEST, 0), r;

	req.flags = 7;
	req.buf_alloc = 99;
	vsock_hdr_reply(&req, VSOCK_OP_RST, &r);
	assert_int_equal(r.src_cid, 2);
	assert_int_equal(r.dst_cid, GUEST);
	assert_int_equal(r.src_port, 80);
	assert_int_equal(r.dst_port, 1234);
	assert_int_equal(r.op, VSOCK_OP_RST);
	assert_int_equal(r.type, VSOCK_TYPE_STREAM);
	assert_int_equal(r.len, 0);
	assert_int_equal(r.flags, 0);
	assert_int_equal(r.buf_alloc, 0);
}

static void test_slice(void **state)
{
	uint8_t a[10], b[20], c[30];
	struct iovec iov[3] = { { a, 10 }, { b, 20 }, { c, 30 } }, out[4];
	unsigned k;

	k = vsock_iov_slice(iov, 3, 0, 60, out, 4);
	assert_int_equal(k, 3);
	k = vsock_iov_slice(iov, 3, 15, 100, out, 4);
	assert_int_equal(k, 2);
	assert_ptr_equal(out[0].iov_base, b + 5);
	assert_int_equal(out[0].iov_len, 15);
	assert_ptr_equal(out[1].iov_base, c);
	assert_int_equal(out[1].iov_len, 30);
	k = vsock_iov_slice(iov, 3, 12, 10, out, 4);
	assert_int_equal(k, 1);
	assert_ptr_equal(out[0].iov_base, b + 2);
	assert_int_equal(out[0].iov_len, 10);
	k = vsock_iov_slice(iov, 3, 5, 50, out, 1);
	assert_int_equal(k, 1);
	assert_int_equal(out[0].iov_len, 5);
	assert_int_equal(vsock_iov_slice(iov, 3, 60, 10, out, 4), 0);
	assert_int_equal(vsock_iov_slice(iov, 3, 100, 10, out, 4), 0);
	assert_int_equal(vsock_iov_slice(iov, 3, 0, 0, out, 4), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wire_layout),
		cmocka_unit_test(test_read_split),
		cmocka_unit_test(test_write_split),
		cmocka_unit_test(test_check_ok),
		cmocka_unit_test(test_check_malformed),
		cmocka_unit_test(test_reply),
		cmocka_unit_test(test_slice),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
