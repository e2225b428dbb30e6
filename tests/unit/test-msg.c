/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Unit: non-blocking message assembly (src/vhost-user/msg.h).  A message
 * arrives in pieces -- byte by byte, fds with the first byte -- and is
 * returned once whole, with the framing checks made as soon as the header
 * is complete; every failure closes the fds received so far.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vhost-user/msg.h"
#include "unit-util.h"

struct fx {
	int fe, be;                 /* frontend end, backend end */
	struct vu_msg_rx rx;
};

static int setup(void **state)
{
	static struct fx f;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	f.fe = sv[0];
	f.be = sv[1];
	vu_msg_rx_init(&f.rx);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	vu_msg_rx_drop(&f->rx);
	close(f->fe);
	close(f->be);
	return 0;
}

/* Send len bytes, with fds on the first one. */
static void send_bytes(int sock, const void *bytes, size_t len, const int *fds, unsigned nfds)
{
	union {
		char buf[CMSG_SPACE(64 * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = (void *)bytes, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (nfds) {
		memset(ctl.buf, 0, sizeof(ctl.buf));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
	}
	assert_int_equal(sendmsg(sock, &mh, MSG_NOSIGNAL), (ssize_t)len);
}

struct wire {
	struct vhu_hdr hdr;
	uint8_t payload[16];
} __attribute__((packed));

/* Byte by byte, the fd with the first byte, then a second message right
 * behind it in the same socket buffer: each comes out whole, the second
 * not mixed into the first. */
static void test_byte_by_byte(void **state)
{
	struct fx *f = *state;
	struct wire w = { .hdr = { .request = VHU_SET_VRING_CALL, .flags = VHU_VERSION, .size = 8 } };
	struct vhu_hdr next = { .request = VHU_GET_FEATURES, .flags = VHU_VERSION, .size = 0 };
	int efd = eventfd(0, EFD_CLOEXEC);
	size_t total = VHU_HDR_SIZE + 8;

	memset(w.payload, 0xab, 8);
	for (size_t i = 0; i < total; i++) {
		send_bytes(f->fe, (uint8_t *)&w + i, 1, i == 0 ? &efd : NULL, i == 0);
		if (i + 1 < total)
			assert_int_equal(vu_msg_rx_step(f->be, &f->rx), -EAGAIN);
	}
	send_bytes(f->fe, &next, sizeof(next), NULL, 0);
	assert_int_equal(vu_msg_rx_step(f->be, &f->rx), 0);
	assert_int_equal(f->rx.msg.hdr.request, VHU_SET_VRING_CALL);
	assert_int_equal(f->rx.msg.hdr.size, 8);
	assert_int_equal(f->rx.msg.nfds, 1);
	assert_int_equal(f->rx.msg.payload.raw[7], 0xab);
	vu_msg_close_fds(&f->rx.msg);
	assert_int_equal(vu_msg_rx_step(f->be, &f->rx), 0);
	assert_int_equal(f->rx.msg.hdr.request, VHU_GET_FEATURES);
	assert_int_equal(f->rx.msg.nfds, 0);
	assert_int_equal(vu_msg_rx_step(f->be, &f->rx), -EAGAIN);
	close(efd);
}

/* Bad version bits and an oversized payload are refused as soon as the
 * header is complete, before any payload arrives; the fd that came with
 * the header is closed. */
static void check_bad_header(struct fx *f, struct vhu_hdr h, int want)
{
	int efd = eventfd(0, EFD_CLOEXEC);
	int before = count_fds();

	send_bytes(f->fe, &h, 6, &efd, 1);
	close(efd);
	assert_int_equal(vu_msg_rx_step(f->be, &f->rx), -EAGAIN);
	assert_int_equal(count_fds(), before);          /* held by rx */
	send_bytes(f->fe, (uint8_t *)&h + 6, 6, NULL, 0);
	assert_int_equal(vu_msg_rx_step(f->be, &f->rx), want);
	assert_int_equal(count_fds(), before - 1);      /* closed */
}

static void test_bad_version(void **state)
{
	check_bad_header(*state, (struct vhu_hdr){ .request = 1, .flags = 0x2, .size = 0 }, -EPROTO);
}

static void test_too_large(void **state)
{
	check_bad_header(*state, (struct vhu_hdr){ .request = 1, .flags = VHU_VERSION,
						   .size = VHU_MAX_PAYLOAD + 1 }, -EMSGSIZE);
}

/* The frontend leaves mid-payload: -ECONNRESET, the fd closed. */
static void test_eof_mid_message(void **state)
{
	struct fx *f = *state;
	struct vhu_hdr h = { .request = VHU_SET_VRING_CALL, .flags = VHU_VERSION, .size = 8 };
	int efd = eventfd(0, EFD_CLOEXEC);
	uint32_t half = 0;
	int before;

	send_bytes(f->fe, &h, sizeof(h), &efd, 1);
	close(efd);
	send_bytes(f->fe, &half, sizeof(half), NULL, 0);
	assert_int_equal(vu_msg_rx_step(f->be, &f->rx), -EAGAIN);
	before = count_fds();           /* the fd is held by rx now */
	shutdown(f->fe, SHUT_WR);
	assert_int_equal(vu_msg_rx_step(f->be, &f->rx), -ECONNRESET);
	assert_int_equal(count_fds(), before - 1);
}

/* More than VHU_MAX_FDS over one message (in two batches): -EBADMSG and
 * every one closed. */
static void test_too_many_fds(void **state)
{
	struct fx *f = *state;
	struct vhu_hdr h = { .request = VHU_SET_MEM_TABLE, .flags = VHU_VERSION, .size = 8 };
	int fds[VHU_MAX_FDS];
	uint64_t payload = 0;
	int before = count_fds();

	for (unsigned i = 0; i < VHU_MAX_FDS; i++)
		fds[i] = eventfd(0, EFD_CLOEXEC);
	send_bytes(f->fe, &h, sizeof(h), fds, VHU_MAX_FDS);
	send_bytes(f->fe, &payload, 4, fds, 1);
	send_bytes(f->fe, (uint8_t *)&payload + 4, 4, NULL, 0);
	for (unsigned i = 0; i < VHU_MAX_FDS; i++)
		close(fds[i]);
	assert_int_equal(vu_msg_rx_step(f->be, &f->rx), -EBADMSG);
	assert_int_equal(count_fds(), before);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_byte_by_byte, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_version, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_large, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eof_mid_message, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_many_fds, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
