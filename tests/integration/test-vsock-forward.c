/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Integration tests of vhost-device-vsock's AF_VSOCK host backend
 * (--forward-cid / --forward-listen): the real binary, driven over its
 * vhost-user socket by libvhu-frontend's vsock guest driver, with real
 * AF_VSOCK sockets on the host side.
 *
 * The host peers live on the local CID (1, vsock_loopback), so the tests
 * need a kernel with CONFIG_VSOCKETS_LOOPBACK.  Debian's host kernels have
 * it as a module; the machines CI runs on do not, so there the program
 * exits 77 (automake's SKIP), and tests/vm/vsock-forward.test runs it
 * inside our guest kernel, which has it built in and where a skip is a
 * failure.
 *
 * Covered: guest -> host (CID 2 port P becomes forward_cid:P) and host ->
 * guest (a connection to a --forward-listen port reaches the guest's same
 * port), 4 MiB each way on both with a checksum, both listen ports of a
 * "+"-separated list, an immediate RST when nobody listens at
 * forward_cid:P, end of stream both ways, and a device that never broke
 * our credit or sent a malformed packet.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#include "vhu-vsock.h"
#include "test-vsock-util.h"

#define T_MS 30000              /* a failure bound; this runs under TCG too */
#define MIB (1024u * 1024u)
#define BULK (4u * MIB)

/* Host ports on the local CID.  The listen ports are the backend's
 * --forward-listen; the others are where our own loopback listeners sit. */
#define PORT_PROBE 47001
#define PORT_G2H 47010
#define PORT_REFUSED 47013
#define PORT_LISTEN_A 47011
#define PORT_LISTEN_B 47012

/* The host peer: a thread on an AF_VSOCK socket.  It lives in the
 * fixture, not on a test's stack, so that teardown can still wait for it
 * when a failed assertion left the test early. */
struct peer {
	pthread_t t;
	bool running;
	int fd;                     /* connected socket */
	int lfd;                    /* or a listener to accept from first */
	uint32_t connect_port;      /* or a port on CID 1 to connect to first */
	uint64_t send_seed, send_bytes;
	uint64_t got, sum;          /* what it read until end of stream */
	int err;
};

struct fixture {
	struct backend be;
	char sock[128];
	struct vhu_vsock *v;
	struct peer peer;
};

static void loopback_addr(struct sockaddr_vm *sa, uint32_t port)
{
	memset(sa, 0, sizeof(*sa));
	sa->svm_family = AF_VSOCK;
	sa->svm_cid = VMADDR_CID_LOCAL;
	sa->svm_port = port;
}

/* A stream listener on the local CID (1).  fd or -errno. */
static int loopback_listen(uint32_t port)
{
	struct sockaddr_vm sa;
	int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	loopback_addr(&sa, port);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 8) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

/* A blocking connect to the local CID with a timeout.  fd or -errno. */
static int loopback_connect(uint32_t port, int timeout_ms)
{
	struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000 };
	struct sockaddr_vm sa;
	int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	setsockopt(fd, AF_VSOCK, SO_VM_SOCKETS_CONNECT_TIMEOUT_OLD, &tv, sizeof(tv));
	loopback_addr(&sa, port);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

/* vsock_loopback is there: a listener on CID 1 and a connect to it.  Only
 * CID 1 is used: the machine's own vsock transport (if any) is left alone. */
static bool vsock_loopback_works(void)
{
	int l = loopback_listen(PORT_PROBE), c;

	if (l < 0)
		return false;
	c = loopback_connect(PORT_PROBE, 500);
	if (c >= 0)
		close(c);
	close(l);
	return c >= 0;
}

static int setup(void **state)
{
	struct fixture *f;
	struct vhu_vsock_opts o;
	char err[512] = "";
	char listen[32];

	f = calloc(1, sizeof(*f));
	if (!f || backend_init(&f->be) < 0)
		return -1;
	backend_file(&f->be, "vhost.sock", f->sock, sizeof(f->sock));
	snprintf(listen, sizeof(listen), "%u+%u", PORT_LISTEN_A, PORT_LISTEN_B);
	if (vt_backend_start(&f->be, (const char *const[]){ "--socket", f->sock,
			     "--forward-cid", "1", "--forward-listen", listen, NULL },
			     (const char *const[]){ "vhost.sock", NULL }) < 0)
		return -1;
	vhu_vsock_defaults(&o, f->sock);
	o.rx_buf_size = 65536 + 44;
	if (vhu_vsock_open(&o, &f->v, err, sizeof(err)) < 0)
		fail_msg("opening the vsock guest driver on %s: %s", f->sock, err);
	*state = f;
	return 0;
}

/* ---- the host peer ------------------------------------------------------- */

/* Connect or accept; read and checksum everything until the guest's end
 * of stream; then send send_bytes of stream send_seed and shut down
 * writing.  (One direction after the other: two sides that both write
 * everything before reading would wait for each other's credit forever.)
 * Every receive and send times out after T_MS. */
static void peer_io(struct peer *p, uint8_t *buf, size_t cap)
{
	struct timeval tv = { .tv_sec = T_MS / 1000 };
	struct vt_stream s;
	uint64_t sent = 0;
	int fd;

	if (p->lfd >= 0)
		fd = vt_accept(p->lfd, T_MS);
	else
		fd = loopback_connect(p->connect_port, T_MS);
	if (fd < 0) {
		p->err = fd;
		return;
	}
	p->fd = fd;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	p->sum = VT_FNV_INIT;
	p->err = vt_sock_recv_all(fd, &p->got, &p->sum);
	if (p->err)
		return;
	vt_stream_init(&s, p->send_seed);
	while (sent < p->send_bytes) {
		size_t n = p->send_bytes - sent < cap ? (size_t)(p->send_bytes - sent) : cap;

		vt_stream_fill(&s, buf, n);
		if (vt_write_all(fd, buf, n, T_MS) != (ssize_t)n) {
			p->err = -EIO;
			return;
		}
		sent += n;
	}
	shutdown(fd, SHUT_WR);
}

static void *peer_run(void *arg)
{
	struct peer *p = arg;
	uint8_t *buf = malloc(65536);

	if (buf)
		peer_io(p, buf, 65536);
	else
		p->err = -ENOMEM;
	free(buf);
	return NULL;
}

static void peer_start(struct fixture *f, int lfd, uint32_t connect_port, uint64_t seed)
{
	struct peer *p = &f->peer;

	*p = (struct peer){ .fd = -1, .lfd = lfd, .connect_port = connect_port,
			    .send_seed = seed, .send_bytes = BULK };
	assert_int_equal(pthread_create(&p->t, NULL, peer_run, p), 0);
	p->running = true;
}

/* Wait for the peer (it ends within a few T_MS whatever happened) and
 * close its sockets. */
static void peer_join(struct peer *p)
{
	if (!p->running)
		return;
	pthread_join(p->t, NULL);
	p->running = false;
	if (p->fd >= 0)
		close(p->fd);
	if (p->lfd >= 0)
		close(p->lfd);
	p->fd = p->lfd = -1;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	unsigned long long viol = 0, bad = 0;
	int st;

	/* The guest goes first: a peer still waiting on it sees the
	 * connection end (or its own timeout) and returns. */
	if (f->v) {
		viol = vhu_vsock_stats(f->v)->credit_violations;
		bad = vhu_vsock_stats(f->v)->bad_pkts;
		vhu_vsock_close(f->v);
	}
	peer_join(&f->peer);
	st = backend_stop(&f->be);
	free(f);
	if (viol || bad)
		fail_msg("device misbehaved: %llu credit violations, %llu bad packets", viol, bad);
	/* Exit status 0 also means: no leak report under ASan. */
	assert_int_equal(st, 0);
	return 0;
}

/* The guest's half: send BULK of stream gseed and shut down sending, read
 * until the peer's end of stream, checking BULK of stream hseed, close. */
static void guest_exchange(struct vhu_vsock_conn *c, uint64_t gseed, uint64_t hseed)
{
	static uint8_t buf[65536];
	struct vt_stream s;
	uint64_t sent = 0, got = 0, sum = VT_FNV_INIT;
	ssize_t n;

	vt_stream_init(&s, gseed);
	while (sent < BULK) {
		vt_stream_fill(&s, buf, sizeof(buf));
		assert_int_equal(vhu_vsock_send(c, buf, sizeof(buf), false, T_MS), sizeof(buf));
		sent += sizeof(buf);
	}
	assert_int_equal(vhu_vsock_shutdown(c, VIRTIO_VSOCK_SHUTDOWN_SEND), 0);
	n = vt_guest_recv_all(c, T_MS, &got, &sum);
	assert_int_equal(n, 0);         /* end of stream, not an error */
	assert_int_equal(got, BULK);
	assert_true(sum == vt_stream_sum(hseed, BULK));
	assert_int_equal(vhu_vsock_close_conn(c, T_MS), 0);
}

static void peer_check(struct peer *p, uint64_t guest_seed)
{
	peer_join(p);
	assert_int_equal(p->err, 0);
	assert_int_equal(p->got, BULK);
	assert_true(p->sum == vt_stream_sum(guest_seed, BULK));
}

/* ---- the tests -------------------------------------------------------------- */

/* Guest -> host: the guest connects to CID 2 port P; the device connects to
 * forward_cid:P (our listener on CID 1), then 4 MiB each way. */
static void test_g2h(void **state)
{
	struct fixture *f = *state;
	struct vhu_vsock_conn *c;
	double t0 = vt_now_s();
	int lfd = loopback_listen(PORT_G2H);

	assert_true(lfd >= 0);
	peer_start(f, lfd, 0, 11);
	assert_int_equal(vhu_vsock_connect(f->v, 2, PORT_G2H, VIRTIO_VSOCK_TYPE_STREAM, T_MS, &c), 0);
	assert_int_equal(vhu_vsock_conn_peer_cid(c), 2);
	guest_exchange(c, 12, 11);
	peer_check(&f->peer, 12);
	print_message("guest -> host: 4 MiB each way in %.2f s\n", vt_now_s() - t0);
}

/* Host -> guest: a connection to each --forward-listen port reaches the
 * guest's same port, then 4 MiB each way. */
static void test_h2g(void **state)
{
	struct fixture *f = *state;
	const uint32_t ports[] = { PORT_LISTEN_A, PORT_LISTEN_B };

	for (unsigned i = 0; i < 2; i++) {
		struct vhu_vsock_conn *c;
		double t0 = vt_now_s();

		assert_int_equal(vhu_vsock_listen(f->v, ports[i]), 0);
		peer_start(f, -1, ports[i], 21 + i);
		assert_int_equal(vhu_vsock_accept(f->v, ports[i], T_MS, &c), 0);
		assert_int_equal(vhu_vsock_conn_local_port(c), ports[i]);
		guest_exchange(c, 31 + i, 21 + i);
		peer_check(&f->peer, 31 + i);
		print_message("host -> guest port %u: 4 MiB each way in %.2f s\n", ports[i],
			      vt_now_s() - t0);
	}
}

/* Nobody listens at forward_cid:P: the guest gets RST (the Rust backend
 * sends none and leaves the guest to time out, rust-vmm/vhost-device#963),
 * and the device goes on working.  -ECONNREFUSED means the RST came; a
 * connect left unanswered ends with -ETIMEDOUT at T_MS.  No "within N ms":
 * on a busy machine (or under TCG) any answer can be late. */
static void test_refused(void **state)
{
	struct fixture *f = *state;
	struct vhu_vsock_conn *c;
	int64_t t0 = vt_now_ms();
	int l;

	assert_int_equal(vhu_vsock_connect(f->v, 2, PORT_REFUSED, VIRTIO_VSOCK_TYPE_STREAM,
					   T_MS, &c), -ECONNREFUSED);
	print_message("refused in %lld ms\n", (long long)(vt_now_ms() - t0));
	l = loopback_listen(PORT_REFUSED);
	assert_true(l >= 0);
	assert_int_equal(vhu_vsock_connect(f->v, 2, PORT_REFUSED, VIRTIO_VSOCK_TYPE_STREAM,
					   T_MS, &c), 0);
	vhu_vsock_reset_conn(c);
	close(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_g2h, setup, teardown),
		cmocka_unit_test_setup_teardown(test_h2g, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
	};
	if (!vsock_loopback_works()) {
		/* 77: automake's SKIP, so the summary says nothing ran. */
		printf("AF_VSOCK loopback (CONFIG_VSOCKETS_LOOPBACK) not available here: "
		       "skipped; tests/vm/vsock-forward.test runs this program in a guest\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
