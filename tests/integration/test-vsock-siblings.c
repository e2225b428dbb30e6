/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Integration tests of vhost-device-vsock with several guests in one
 * process (--vm, --config): every VM is its own device with its own
 * socket and CID, guests in a common group reach each other (sibling
 * forwarding across worker threads) and nobody else.  Each guest is a
 * libvhu-frontend vsock driver on its own thread.
 *
 * Covered: traffic between siblings both ways with checksums (4 MiB), a
 * connect across groups and to an unknown or absent CID refused at once
 * (RST), the hybrid Unix backend of each VM kept apart, a guest flooding
 * a sibling that does not read (bounded memory, nothing lost, the flooder
 * is held back), and the same set-up from a YAML --config.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vhu-vsock.h"
#include "test-vsock-util.h"

#define T_MS 30000   /* failure bound only */
#define MIB (1024u * 1024u)
#define NVM 4

/* VMs: CID 3 in group a, CID 4 in a and b, CID 5 in b, CID 6 in c. */
static const struct {
	unsigned cid;
	const char *groups;
} vms[NVM] = { { 3, "a" }, { 4, "a+b" }, { 5, "b" }, { 6, "c" } };

struct fixture {
	struct backend be;
	char sock[NVM][128], uds[NVM][128];
	struct vhu_vsock *v[NVM];
};

static struct vhu_vsock *open_guest(const char *sock)
{
	struct vhu_vsock_opts o;
	struct vhu_vsock *v = NULL;
	char err[512] = "";

	vhu_vsock_defaults(&o, sock);
	if (vhu_vsock_open(&o, &v, err, sizeof(err)) < 0)
		fail_msg("opening the vsock guest driver on %s: %s", sock, err);
	return v;
}

static int start(struct fixture *f, bool yaml, bool one_worker)
{
	const char *args[2 * NVM + 4], *wait[2 * NVM + 1];
	char spec[NVM][512], cfg[160], names[2 * NVM][32];
	unsigned n = 0, w = 0;

	if (backend_init(&f->be) < 0)
		return -1;
	for (unsigned i = 0; i < NVM; i++) {
		snprintf(names[2 * i], sizeof(names[0]), "vm%u.sock", vms[i].cid);
		snprintf(names[2 * i + 1], sizeof(names[0]), "vm%u.vsock", vms[i].cid);
		backend_file(&f->be, names[2 * i], f->sock[i], sizeof(f->sock[i]));
		backend_file(&f->be, names[2 * i + 1], f->uds[i], sizeof(f->uds[i]));
		wait[w++] = names[2 * i];
		wait[w++] = names[2 * i + 1];
		/* Both key spellings, as the Rust backend accepts them. */
		snprintf(spec[i], sizeof(spec[i]),
			 i & 1 ? "guest-cid=%u,socket=%s,uds-path=%s,groups=%s"
			       : "guest_cid=%u,socket=%s,uds_path=%s,groups=%s",
			 vms[i].cid, f->sock[i], f->uds[i], vms[i].groups);
	}
	wait[w] = NULL;
	if (yaml) {
		FILE *fp;

		backend_file(&f->be, "vms.yaml", cfg, sizeof(cfg));
		fp = fopen(cfg, "w");
		if (!fp)
			return -1;
		fprintf(fp, "vms:\n");
		for (unsigned i = 0; i < NVM; i++)
			fprintf(fp, "  - guest_cid: %u\n    socket: %s\n    uds-path: %s\n"
				"    groups: %s\n    tx_buffer_size: 32768\n",
				vms[i].cid, f->sock[i], f->uds[i], vms[i].groups);
		fclose(fp);
		args[n++] = "--config";
		args[n++] = cfg;
	} else {
		for (unsigned i = 0; i < NVM; i++) {
			args[n++] = "--vm";
			args[n++] = spec[i];
		}
	}
	if (one_worker) {
		/* Every guest on one thread: a sender and its receiver share
		 * the worker (vsock-sibling.h: no lock is held across a wait). */
		args[n++] = "--workers";
		args[n++] = "1";
	}
	args[n] = NULL;
	return vt_backend_start(&f->be, args, wait);
}

static int setup_common(void **state, bool yaml, bool one_worker)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f || start(f, yaml, one_worker) < 0)
		return -1;
	/* CID 6 stays without a frontend: an absent guest. */
	for (unsigned i = 0; i < NVM - 1; i++)
		f->v[i] = open_guest(f->sock[i]);
	*state = f;
	return 0;
}

static int setup(void **state) { return setup_common(state, false, false); }
static int setup_yaml(void **state) { return setup_common(state, true, false); }
static int setup_one_worker(void **state) { return setup_common(state, false, true); }

static int teardown(void **state)
{
	struct fixture *f = *state;
	int st;

	for (unsigned i = 0; i < NVM; i++)
		if (f->v[i]) {
			const struct vhu_vsock_stats *s = vhu_vsock_stats(f->v[i]);
			if (s->credit_violations || s->bad_pkts)
				fail_msg("device of CID %u misbehaved: %llu credit violations, %llu bad packets",
					 vms[i].cid, (unsigned long long)s->credit_violations,
					 (unsigned long long)s->bad_pkts);
			vhu_vsock_close(f->v[i]);
		}
	st = backend_stop(&f->be);
	free(f);
	assert_int_equal(st, 0);
	return 0;
}

/* ---- a guest on its own thread: accept, checksum, answer ------------------- */

struct peer {
	pthread_t t;
	struct vhu_vsock *v;
	uint32_t port;
	uint64_t want, sum, got;
	uint64_t reply_seed, reply_bytes;
	uint64_t peer_cid;
	int err;
};

static void *peer_main(void *arg)
{
	struct peer *p = arg;
	struct vhu_vsock_conn *c;
	static __thread uint8_t buf[65536];
	struct vt_stream s;
	ssize_t n;

	p->err = vhu_vsock_listen(p->v, p->port);
	if (!p->err)
		p->err = vhu_vsock_accept(p->v, p->port, T_MS, &c);
	if (p->err)
		return NULL;
	p->peer_cid = vhu_vsock_conn_peer_cid(c);
	p->sum = VT_FNV_INIT;
	while (p->got < p->want && (n = vhu_vsock_recv(c, buf, sizeof(buf), T_MS, NULL, NULL)) > 0) {
		p->sum = vt_fnv(p->sum, buf, (size_t)n);
		p->got += (uint64_t)n;
	}
	vt_stream_init(&s, p->reply_seed);
	for (uint64_t sent = 0; sent < p->reply_bytes;) {
		size_t len = p->reply_bytes - sent < sizeof(buf) ? (size_t)(p->reply_bytes - sent)
								 : sizeof(buf);
		vt_stream_fill(&s, buf, len);
		n = vhu_vsock_send(c, buf, len, false, T_MS);
		if (n != (ssize_t)len) {
			p->err = n < 0 ? (int)n : -EIO;
			break;
		}
		sent += len;
	}
	/* Wait for the other side to close, then close. */
	while (vhu_vsock_recv(c, buf, sizeof(buf), T_MS, NULL, NULL) > 0)
		;
	vhu_vsock_close_conn(c, T_MS);
	return NULL;
}

/* from -> to: send `bytes`, get `reply` bytes back, both checksummed. */
static void exchange(struct vhu_vsock *from, struct vhu_vsock *to, uint64_t to_cid,
		     uint32_t port, uint64_t bytes, uint64_t reply)
{
	struct peer p = { .v = to, .port = port, .want = bytes, .reply_seed = port,
			  .reply_bytes = reply };
	struct vhu_vsock_conn *c;
	static uint8_t buf[65536];
	struct vt_stream s;
	uint64_t got = 0, sum = VT_FNV_INIT;
	ssize_t n;
	int r = -1;

	pthread_create(&p.t, NULL, peer_main, &p);
	/* The listener may not be up yet: retry a refused connect briefly. */
	for (int i = 0; i < 200; i++) {
		r = vhu_vsock_connect(from, to_cid, port, VIRTIO_VSOCK_TYPE_STREAM, T_MS, &c);
		if (r != -ECONNREFUSED)
			break;
		vt_sleep_ms(5);
	}
	assert_int_equal(r, 0);
	vt_stream_init(&s, bytes);
	for (uint64_t sent = 0; sent < bytes; sent += sizeof(buf)) {
		ssize_t w;
		vt_stream_fill(&s, buf, sizeof(buf));
		w = vhu_vsock_send(c, buf, sizeof(buf), false, T_MS);
		assert_int_equal(w, sizeof(buf));
	}
	while (got < reply && (n = vhu_vsock_recv(c, buf, sizeof(buf), T_MS, NULL, NULL)) > 0) {
		sum = vt_fnv(sum, buf, (size_t)n);
		got += (uint64_t)n;
	}
	assert_int_equal(vhu_vsock_close_conn(c, T_MS), 0);
	pthread_join(p.t, NULL);
	assert_int_equal(p.err, 0);
	assert_int_equal(p.peer_cid, vhu_vsock_cid(from));
	assert_int_equal(p.got, bytes);
	assert_true(p.sum == vt_stream_sum(bytes, bytes));
	assert_int_equal(got, reply);
	assert_true(sum == vt_stream_sum(port, reply));
}

static void test_cids(void **state)
{
	struct fixture *f = *state;

	for (unsigned i = 0; i < NVM - 1; i++)
		assert_int_equal(vhu_vsock_cid(f->v[i]), vms[i].cid);
}

static void test_siblings_allowed(void **state)
{
	struct fixture *f = *state;

	exchange(f->v[0], f->v[1], 4, 6000, 4 * MIB, 1 * MIB);     /* 3 -> 4, group a */
	exchange(f->v[1], f->v[0], 3, 6001, 1 * MIB, 4 * MIB);     /* 4 -> 3 */
	exchange(f->v[2], f->v[1], 4, 6002, 2 * MIB, 2 * MIB);     /* 5 -> 4, group b */
}

static void test_siblings_blocked(void **state)
{
	struct fixture *f = *state;
	struct vhu_vsock_conn *c, *m, *a;

	/* 5 listens, but 3 shares no group with it. */
	assert_int_equal(vhu_vsock_listen(f->v[2], 6100), 0);
	assert_int_equal(vhu_vsock_connect(f->v[0], 5, 6100, VIRTIO_VSOCK_TYPE_STREAM, T_MS, &c),
			 -ECONNREFUSED);
	/* CID 6 exists (group c) but shares nothing; CID 9 does not exist. */
	assert_int_equal(vhu_vsock_connect(f->v[0], 6, 6100, VIRTIO_VSOCK_TYPE_STREAM, T_MS, &c),
			 -ECONNREFUSED);
	assert_int_equal(vhu_vsock_connect(f->v[0], 9, 6100, VIRTIO_VSOCK_TYPE_STREAM, T_MS, &c),
			 -ECONNREFUSED);
	/* 5 saw none of it.  A refused packet is refused by the sender's
	 * device before its guest gets the RST, so nothing of it can still be
	 * on its way; a marker from guest 4 (group b) must be the first and
	 * only packet guest 5 receives. */
	assert_int_equal(vhu_vsock_connect_start(f->v[1], 5, 6100, VIRTIO_VSOCK_TYPE_STREAM, &m), 0);
	assert_int_equal(vhu_vsock_accept(f->v[2], 6100, T_MS, &a), 0);
	assert_int_equal(vhu_vsock_conn_peer_cid(a), 4);
	assert_int_equal(vhu_vsock_stats(f->v[2])->rx_pkts, 1);
	vhu_vsock_reset_conn(a);
	vhu_vsock_reset_conn(m);
	/* The other way round too; the marker comes from guest 4 (group a). */
	assert_int_equal(vhu_vsock_listen(f->v[0], 6100), 0);
	assert_int_equal(vhu_vsock_connect(f->v[2], 3, 6100, VIRTIO_VSOCK_TYPE_STREAM, T_MS, &c),
			 -ECONNREFUSED);
	assert_int_equal(vhu_vsock_connect_start(f->v[1], 3, 6100, VIRTIO_VSOCK_TYPE_STREAM, &m), 0);
	assert_int_equal(vhu_vsock_accept(f->v[0], 6100, T_MS, &a), 0);
	assert_int_equal(vhu_vsock_conn_peer_cid(a), 4);
	assert_int_equal(vhu_vsock_stats(f->v[0])->rx_pkts, 4);   /* its own 3 RSTs, the marker */
	vhu_vsock_reset_conn(a);
	vhu_vsock_reset_conn(m);
}

/* A sibling whose guest is absent (no frontend): refused. */
static void test_sibling_absent(void **state)
{
	struct fixture *f = *state;
	struct vhu_vsock_conn *c;

	vhu_vsock_close(f->v[2]);       /* CID 5 goes away */
	f->v[2] = NULL;
	assert_int_equal(vhu_vsock_connect(f->v[1], 5, 6200, VIRTIO_VSOCK_TYPE_STREAM, T_MS, &c),
			 -ECONNREFUSED);
	/* And comes back. */
	f->v[2] = open_guest(f->sock[2]);
	exchange(f->v[1], f->v[2], 5, 6201, 256 * 1024, 256 * 1024);
}

/* Each VM keeps its own host side: guest 3's CID-2 traffic goes to
 * vm3.vsock_P, guest 4's to vm4.vsock_P. */
static void test_own_uds(void **state)
{
	struct fixture *f = *state;
	struct vhu_vsock_conn *c;
	char path[160], b;
	int l3, l4, fd;

	snprintf(path, sizeof(path), "%s_7000", f->uds[0]);
	l3 = vhu_unix_listen(path, SOCK_STREAM, 128);
	snprintf(path, sizeof(path), "%s_7001", f->uds[1]);
	l4 = vhu_unix_listen(path, SOCK_STREAM, 128);
	assert_int_equal(vhu_vsock_connect(f->v[0], 2, 7000, VIRTIO_VSOCK_TYPE_STREAM, T_MS, &c), 0);
	fd = vt_accept(l3, T_MS);
	assert_true(fd >= 0);
	assert_int_equal(vhu_vsock_send(c, "3", 1, false, T_MS), 1);
	assert_int_equal(vt_read_all(fd, &b, 1, T_MS), 1);
	assert_int_equal(b, '3');
	close(fd);
	vhu_vsock_reset_conn(c);
	assert_int_equal(vhu_vsock_connect(f->v[0], 2, 7001, VIRTIO_VSOCK_TYPE_STREAM, T_MS, &c),
			 -ECONNREFUSED);
	assert_int_equal(vhu_vsock_connect(f->v[1], 2, 7001, VIRTIO_VSOCK_TYPE_STREAM, T_MS, &c), 0);
	vhu_vsock_reset_conn(c);
	close(l3);
	close(l4);
}

/* Guest 3 floods guest 4 with 8 MiB of packets for no connection while
 * guest 4 does not serve its rx queue: the mailbox between the two
 * devices stays bounded (guest 3's tx waits), and once guest 4 serves
 * its queue every packet arrives. */
struct flood {
	struct vhu_vsock *v;
	unsigned sent;
	int err;
	volatile bool done;
	volatile bool blocked;      /* a send found the tx ring not moving */
	volatile unsigned blocked_at;
};

#define FLOOD_PKTS 2000u
#define FLOOD_LEN 4096u

static void *flooder(void *arg)
{
	struct flood *fl = arg;
	static uint8_t pkt[44 + FLOOD_LEN];
	struct virtio_vsock_hdr h;

	for (unsigned i = 0; i < FLOOD_PKTS; i++) {
		int r;
		vhu_vsock_hdr_set(&h, 3, 40000, 4, 40000, VIRTIO_VSOCK_TYPE_STREAM,
				  VIRTIO_VSOCK_OP_RW, FLOOD_LEN);
		memcpy(pkt, &h, sizeof(h));
		memset(pkt + sizeof(h), (int)i, FLOOD_LEN);
		for (;;) {
			r = vhu_vsock_send_raw(fl->v, pkt, sizeof(pkt));
			if (r != -ETIMEDOUT || fl->done)
				break;
			if (!fl->blocked) {
				fl->blocked_at = fl->sent;
				fl->blocked = true;
			}
		}
		if (r < 0) {
			fl->err = r;
			break;
		}
		fl->sent++;
	}
	fl->done = true;
	return NULL;
}

static void test_sibling_flood(void **state)
{
	struct fixture *f = *state;
	struct flood fl = { .v = f->v[0] };
	pthread_t t;
	long rss0 = vhu_rss_anon_kib(f->be.pid), rss1;
	unsigned stalled_at;
	int64_t t0;

	pthread_create(&t, NULL, flooder, &fl);
	/* Guest 4 does not serve its rx queue: guest 3 must be held back
	 * (its tx ring stops moving) well before 8 MiB.  Without the bound
	 * the flooder would finish instead. */
	t0 = vt_now_ms();
	while (!fl.blocked && !fl.done && vt_now_ms() - t0 < 60000)
		vt_sleep_ms(10);
	stalled_at = fl.blocked_at;
	rss1 = vhu_rss_anon_kib(f->be.pid);
	print_message("flood: %u of %u packets accepted while the sibling did not read; RSS %ld -> %ld KiB\n",
		      stalled_at, FLOOD_PKTS, rss0, rss1);
	assert_true(fl.blocked);
	assert_true(stalled_at < FLOOD_PKTS);
	assert_true(rss1 - rss0 < 8192);
	/* Guest 4 serves its queue: everything arrives (and is answered with
	 * RST, no connection being there). */
	t0 = vt_now_ms();
	while (vhu_vsock_stats(f->v[1])->rx_pkts < FLOOD_PKTS && vt_now_ms() - t0 < 120000)
		vhu_vsock_poll(f->v[1], 10);
	pthread_join(t, NULL);
	assert_int_equal(fl.err, 0);
	assert_int_equal(fl.sent, FLOOD_PKTS);
	/* Every piece arrived; a 4 KiB payload in a 4 KiB rx buffer is
	 * delivered in two packets (the header takes 44 bytes). */
	assert_true(vhu_vsock_stats(f->v[1])->rx_bytes == (uint64_t)FLOOD_PKTS * FLOOD_LEN);
}

/* ---- a sibling that goes away with connections and requests in flight ---- */

#define BOUND_MS 30000   /* failure bound only: every wait is for an event */

/* Poll guest v until c leaves `from` state; false when the bound passed. */
static bool wait_leaves(struct vhu_vsock *v, struct vhu_vsock_conn *c,
			enum vhu_vsock_conn_state from)
{
	int64_t t0 = vt_now_ms();

	while (vhu_vsock_conn_state(c) == from) {
		if (vt_now_ms() - t0 > BOUND_MS)
			return false;
		if (vhu_vsock_poll(v, 50) < 0)
			return false;
	}
	return true;
}

/* Wait until the device has completed an rx buffer of guest v that the
 * guest has not looked at yet (a packet delivered into its ring). */
static bool wait_rx_delivered(struct vhu_vsock *v)
{
	struct vhu_vq *rx = vhu_vsock_session(v)->vq[0];
	int64_t t0 = vt_now_ms();

	while (!vhu_vq_has_used(rx)) {
		if (vt_now_ms() - t0 > BOUND_MS)
			return false;
		vt_sleep_ms(1);
	}
	return true;
}

/* Guest 4 has an established connection to guest 5 carrying data and a
 * connection request guest 5 never answers; then guest 5's frontend goes
 * away.  Every time, guest 4 gets an RST for both: the request is refused
 * and the established connection reset, whether the packets were still
 * in the relay's mailbox or already in guest 5's rx ring when it left.
 * Even rounds wait until the request sits in guest 5's ring with nothing
 * else in flight (the case a mailbox-only cleanup misses); odd rounds
 * close at once with data behind the request. */
static void test_sibling_departs(void **state)
{
	struct fixture *f = *state;
	static uint8_t data[8192], buf[8192];

	for (unsigned round = 0; round < 24; round++) {
		struct vhu_vsock_conn *c1, *c2, *acc;
		uint32_t port = 6300 + 2 * round;

		assert_int_equal(vhu_vsock_listen(f->v[2], port), 0);
		assert_int_equal(vhu_vsock_connect_start(f->v[1], 5, port, VIRTIO_VSOCK_TYPE_STREAM,
							 &c1), 0);
		/* Guest 5 accepts while guest 4 waits for the RESPONSE. */
		assert_int_equal(vhu_vsock_accept(f->v[2], port, BOUND_MS, &acc), 0);
		assert_true(wait_leaves(f->v[1], c1, VHU_VSOCK_CONNECTING));
		assert_int_equal(vhu_vsock_conn_state(c1), VHU_VSOCK_CONNECTED);
		/* Guest 5 reads all of it, so nothing else is on its way to
		 * guest 5 (and its ring holds only what comes next). */
		assert_int_equal(vhu_vsock_send(c1, data, sizeof(data), false, BOUND_MS),
				 (ssize_t)sizeof(data));
		for (size_t got = 0; got < sizeof(data);) {
			ssize_t n = vhu_vsock_recv(acc, buf, sizeof(buf), BOUND_MS, NULL, NULL);

			assert_true(n > 0);
			got += (size_t)n;
		}
		/* Nobody listens on port + 1, but guest 5 will never say so. */
		assert_int_equal(vhu_vsock_connect_start(f->v[1], 5, port + 1,
							 VIRTIO_VSOCK_TYPE_STREAM, &c2), 0);
		if (round % 2 == 0) {
			/* Only the request is in flight, and it has reached
			 * guest 5's ring: the RSTs can come only from what the
			 * backend remembers of the two connections. */
			assert_true(wait_rx_delivered(f->v[2]));
		} else {
			/* More data behind the request, closed at once. */
			vhu_vsock_send(c1, data, 1024, false, 0);
		}
		vhu_vsock_close(f->v[2]);
		f->v[2] = NULL;

		assert_true(wait_leaves(f->v[1], c2, VHU_VSOCK_CONNECTING));
		assert_int_equal(vhu_vsock_conn_state(c2), VHU_VSOCK_RESET);
		assert_true(wait_leaves(f->v[1], c1, VHU_VSOCK_CONNECTED));
		assert_int_equal(vhu_vsock_conn_state(c1), VHU_VSOCK_RESET);
		vhu_vsock_reset_conn(c1);
		vhu_vsock_reset_conn(c2);
		f->v[2] = open_guest(f->sock[2]);
	}
	/* Guest 5 is served as before. */
	exchange(f->v[1], f->v[2], 5, 6399, 64 * 1024, 64 * 1024);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_cids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_siblings_allowed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_siblings_blocked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sibling_absent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sibling_departs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_own_uds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sibling_flood, setup, teardown),
		cmocka_unit_test_setup_teardown(test_siblings_allowed, setup_yaml, teardown),
		cmocka_unit_test_setup_teardown(test_siblings_allowed, setup_one_worker, teardown),
		cmocka_unit_test_setup_teardown(test_sibling_flood, setup_one_worker, teardown),
		cmocka_unit_test_setup_teardown(test_sibling_departs, setup_one_worker, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
