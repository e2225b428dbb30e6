/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Unit tests of the sibling relay (vsock-sibling.c): group membership in
 * lookups, the mailbox bound and its waiters, wake-ups through the
 * eventfd, splitting of a packet over small rx buffers (EOM on the last
 * piece only), RST to the senders of what an absent guest never got, and
 * two threads sending to one mailbox at once (nothing lost, order kept
 * per sender).
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "devices/vsock/vsock-config.h"
#include "devices/vsock/vsock-sibling.h"

static struct vsock_vm vm_a, vm_b, vm_c;
static struct vsock_sib *a, *b, *c;

static void make_vm(struct vsock_vm *vm, uint64_t cid, const char *groups)
{
	vsock_vm_defaults(vm);
	vm->guest_cid = cid;
	assert_int_equal(vsock_parse_groups(groups, &vm->groups, &vm->n_groups), 0);
}

static int setup(void **state)
{
	make_vm(&vm_a, 3, "g1");
	make_vm(&vm_b, 4, "g1+g2");
	make_vm(&vm_c, 5, "g2");
	if (vsock_sib_register(&vm_a, &a) || vsock_sib_register(&vm_b, &b) ||
	    vsock_sib_register(&vm_c, &c))
		return -1;
	vsock_sib_set_active(a, true);
	vsock_sib_set_active(b, true);
	vsock_sib_set_active(c, true);
	return 0;
}

static int teardown(void **state)
{
	vsock_sib_unregister(a);
	vsock_sib_unregister(b);
	vsock_sib_unregister(c);
	vsock_vm_free(&vm_a);
	vsock_vm_free(&vm_b);
	vsock_vm_free(&vm_c);
	return 0;
}

static struct vsock_hdr hdr(uint64_t src, uint64_t dst, uint16_t op, uint32_t len, uint32_t flags)
{
	struct vsock_hdr h = {
		.src_cid = src, .dst_cid = dst, .src_port = 100, .dst_port = 200,
		.len = len, .type = VSOCK_TYPE_SEQPACKET, .op = op, .flags = flags,
	};
	return h;
}

/* Send with a payload of len bytes of value v. */
static int send_pkt(struct vsock_sib *from, struct vsock_sib *to, uint16_t op, uint32_t len,
		    uint8_t v, uint32_t flags)
{
	struct vsock_hdr h = hdr(from->vm->guest_cid, to->vm->guest_cid, op, len, flags);
	uint8_t *buf = malloc(VSOCK_HDR_SIZE + len);
	struct iovec iov = { buf, VSOCK_HDR_SIZE + len };
	int r;

	memset(buf + VSOCK_HDR_SIZE, v, len);
	r = vsock_sib_send(from, to, &h, &iov, 1);
	free(buf);
	return r;
}

/* Take one packet out of s into a buffer of cap bytes. */
static size_t take(struct vsock_sib *s, struct vsock_hdr *h, uint8_t *payload, size_t cap)
{
	uint8_t *buf = malloc(cap);
	struct iovec iov = { buf, cap };
	size_t n = vsock_sib_fill(s, &iov, 1, cap, NULL);

	if (n) {
		vsock_hdr_decode(buf, h);
		if (payload)
			memcpy(payload, buf + VSOCK_HDR_SIZE, n - VSOCK_HDR_SIZE);
	}
	free(buf);
	return n;
}

static bool readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	return poll(&p, 1, 0) == 1;
}

static void test_lookup_groups(void **state)
{
	assert_ptr_equal(vsock_sib_lookup(a, 4), b);
	assert_ptr_equal(vsock_sib_lookup(b, 3), a);
	assert_ptr_equal(vsock_sib_lookup(b, 5), c);
	assert_null(vsock_sib_lookup(a, 5));    /* no common group */
	assert_null(vsock_sib_lookup(c, 3));
	assert_null(vsock_sib_lookup(a, 3));    /* itself */
	assert_null(vsock_sib_lookup(a, 9));    /* nobody */
}

static void test_split_and_wake(void **state)
{
	struct vsock_hdr h;
	uint8_t got[10000];
	size_t n, total = 0;

	assert_false(readable(b->efd));
	assert_int_equal(send_pkt(a, b, VSOCK_OP_RW, 10000, 0x5a, VSOCK_SEQ_EOM | VSOCK_SEQ_EOR), 0);
	assert_true(readable(b->efd));
	vsock_sib_ack(b);
	assert_false(readable(b->efd));
	assert_true(vsock_sib_pending(b));
	/* A header-only buffer cannot carry the data. */
	assert_int_equal(take(b, &h, NULL, VSOCK_HDR_SIZE), 0);
	/* 4 KiB buffers: three pieces, flags on the last one only. */
	while ((n = take(b, &h, got + total, 4096))) {
		assert_int_equal(h.len, n - VSOCK_HDR_SIZE);
		assert_int_equal(h.src_cid, 3);
		assert_int_equal(h.dst_cid, 4);
		total += h.len;
		if (total < 10000)
			assert_int_equal(h.flags, 0);
		else
			assert_int_equal(h.flags, VSOCK_SEQ_EOM | VSOCK_SEQ_EOR);
	}
	assert_int_equal(total, 10000);
	for (size_t i = 0; i < total; i++)
		assert_int_equal(got[i], 0x5a);
	assert_false(vsock_sib_pending(b));
}

static void test_bound_and_waiters(void **state)
{
	struct vsock_hdr h;
	unsigned sent = 0;

	/* Fill b's mailbox with 64 KiB packets until it refuses. */
	while (send_pkt(a, b, VSOCK_OP_RW, 65536, (uint8_t)sent, 0) == 0)
		sent++;
	assert_true(sent >= VSOCK_SIB_MAILBOX_BYTES / 65536 - 1);
	assert_true(sent <= VSOCK_SIB_MAILBOX_BYTES / 65536 + 1);
	assert_int_equal(send_pkt(a, b, VSOCK_OP_RW, 65536, 0, 0), -EAGAIN);
	assert_true(b->bytes <= VSOCK_SIB_MAILBOX_BYTES);
	vsock_sib_ack(a);
	assert_false(readable(a->efd));
	/* b drains below half: a is woken. */
	for (unsigned i = 0; i < sent / 2 + 1; i++) {
		assert_int_equal(take(b, &h, NULL, 65536 + VSOCK_HDR_SIZE), 65536 + VSOCK_HDR_SIZE);
		assert_int_equal(h.len, 65536);
	}
	assert_true(readable(a->efd));
	assert_int_equal(send_pkt(a, b, VSOCK_OP_RW, 65536, 0, 0), 0);
	while (take(b, &h, NULL, 65536 + VSOCK_HDR_SIZE))
		;
}

static void test_absent_guest(void **state)
{
	struct vsock_hdr h;

	/* b holds a REQUEST and an RST from a when its guest goes away. */
	assert_int_equal(send_pkt(a, b, VSOCK_OP_REQUEST, 0, 0, 0), 0);
	assert_int_equal(send_pkt(a, b, VSOCK_OP_RST, 0, 0, 0), 0);
	vsock_sib_ack(a);
	vsock_sib_set_active(b, false);
	assert_false(vsock_sib_pending(b));
	/* a gets an RST for the REQUEST (none for the RST). */
	assert_true(readable(a->efd));
	assert_int_equal(take(a, &h, NULL, 4096), VSOCK_HDR_SIZE);
	assert_int_equal(h.op, VSOCK_OP_RST);
	assert_int_equal(h.src_cid, 4);
	assert_int_equal(h.dst_cid, 3);
	assert_int_equal(h.src_port, 200);
	assert_int_equal(h.dst_port, 100);
	assert_int_equal(take(a, &h, NULL, 4096), 0);
	/* While absent: refused. */
	assert_int_equal(send_pkt(a, b, VSOCK_OP_REQUEST, 0, 0, 0), -ECONNREFUSED);
	vsock_sib_set_active(b, true);
	assert_int_equal(send_pkt(a, b, VSOCK_OP_REQUEST, 0, 0, 0), 0);
	assert_int_equal(take(b, &h, NULL, 4096), VSOCK_HDR_SIZE);
}

struct sender {
	struct vsock_sib *from;
	unsigned n;
	int err;                /* checked by the main thread */
};

static void *sender_main(void *arg)
{
	struct sender *s = arg;

	for (unsigned i = 0; i < s->n;) {
		struct vsock_hdr h = hdr(s->from->vm->guest_cid, 4, VSOCK_OP_RW, 4, 0);
		uint8_t buf[VSOCK_HDR_SIZE + 4];
		struct iovec iov = { buf, sizeof(buf) };
		int r;

		memcpy(buf + VSOCK_HDR_SIZE, &i, 4);
		r = vsock_sib_send(s->from, b, &h, &iov, 1);
		if (r == -EAGAIN) {
			struct pollfd p = { .fd = s->from->efd, .events = POLLIN };
			poll(&p, 1, 100);
			vsock_sib_ack(s->from);
			continue;
		}
		if (r) {
			s->err = r;
			break;
		}
		i++;
	}
	return NULL;
}

static void test_two_senders(void **state)
{
	struct sender s1 = { a, 20000, 0 }, s2 = { c, 20000, 0 };
	uint32_t next[6] = { 0 };
	pthread_t t1, t2;
	unsigned got = 0;

	/* c (group g2) and a (g1) both reach b. */
	pthread_create(&t1, NULL, sender_main, &s1);
	pthread_create(&t2, NULL, sender_main, &s2);
	while (got < 40000) {
		struct vsock_hdr h;
		uint8_t p[4];
		uint32_t v;

		if (!take(b, &h, p, 64)) {
			struct pollfd pf = { .fd = b->efd, .events = POLLIN };
			poll(&pf, 1, 10);
			vsock_sib_ack(b);
			continue;
		}
		memcpy(&v, p, 4);
		assert_true(h.src_cid == 3 || h.src_cid == 5);
		assert_int_equal(v, next[h.src_cid]);    /* in order, per sender */
		next[h.src_cid]++;
		got++;
	}
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	assert_int_equal(s1.err, 0);
	assert_int_equal(s2.err, 0);
	assert_int_equal(next[3], 20000);
	assert_int_equal(next[5], 20000);
	assert_false(vsock_sib_pending(b));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup_groups),
		cmocka_unit_test(test_split_and_wake),
		cmocka_unit_test(test_bound_and_waiters),
		cmocka_unit_test(test_absent_guest),
		cmocka_unit_test(test_two_senders),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
