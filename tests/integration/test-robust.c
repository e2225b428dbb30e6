/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Integration: a hostile or clumsy frontend against vhost-device-rng.
 * Malformed messages (each followed by a fresh connection proving the
 * backend still serves, and no fd leaked), 100 disconnect/reconnect
 * cycles at every stage, the socket path present at every moment, and
 * corrupted rings (the queue stops, the connection keeps answering).
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
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "it-util.h"

struct fixture {
	struct backend be;
	char sock[160];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f || backend_start(&f->be, "vhost-device-rng", true, 1, NULL) < 0) {
		free(f);
		return -1;
	}
	backend_socket(&f->be, true, 0, f->sock, sizeof(f->sock));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	int st = 0;

	if (f) {
		st = backend_stop(&f->be);
		free(f);
		*state = NULL;
	}
	if (st != 0)
		fprintf(stderr, "backend exit status %d after SIGTERM\n", st);
	return st == 0 ? 0 : -1;
}

/* Backend fds while exactly one connection (ours, synced) is open: the
 * previous connection is fully torn down once the backend answers this
 * one, since it serves one connection at a time. */
static int probe_fds(struct fixture *f)
{
	struct vhu_conn *c;
	int n;

	assert_int_equal(vhu_connect(f->sock, 30000, &c), 0);
	assert_int_equal(vhu_ping(c), 0);
	n = proc_fd_count(f->be.pid);
	vhu_close(c);
	assert_true(n > 0);
	return n;
}

/* ---- malformed messages --------------------------------------------------- */

enum stage { RAW, NEGOTIATED, MEMORY, RUNNING };
enum expect {
	EXP_NACK,       /* REPLY_ACK u64 != 0, connection goes on */
	EXP_CLOSED,     /* backend closes the connection */
	EXP_CHECKED,    /* the case checked the answer itself; goes on */
	EXP_ANY,        /* nothing to check (we close) */
};

struct ctx {
	struct vhu_conn *c;
	struct vhu_mem *m;
	struct vhu_vq *q;
};

struct mcase {
	const char *name;
	enum stage stage;
	enum expect expect;
	uint32_t req;                   /* for EXP_NACK: the reply's request */
	void (*send)(struct ctx *x);
};

#define NR VHU_FLAG_NEED_REPLY

static void send_hdr(struct ctx *x, uint32_t req, uint32_t flags, uint32_t size)
{
	struct vhu_hdr h = { .request = req, .flags = flags, .size = size };

	assert_int_equal(vhu_send_raw(x->c, &h, sizeof(h), NULL, 0), 0);
}

static void m_version_2(struct ctx *x) { send_hdr(x, VHU_GET_FEATURES, 0x2, 0); }
static void m_version_0(struct ctx *x) { send_hdr(x, VHU_GET_FEATURES, 0x0, 0); }
static void m_size_4097(struct ctx *x) { send_hdr(x, VHU_SET_FEATURES, 0x1, 4097); }
static void m_size_huge(struct ctx *x) { send_hdr(x, VHU_SET_MEM_TABLE, 0x1 | NR, 0xffffffffu); }

static void m_truncated_payload(struct ctx *x)
{
	uint8_t b[12 + 4] = { 0 };
	struct vhu_hdr h = { VHU_SET_FEATURES, 0x1, 8 };

	memcpy(b, &h, sizeof(h));
	assert_int_equal(vhu_send_raw(x->c, b, sizeof(b), NULL, 0), 0);
}

static void m_truncated_header(struct ctx *x)
{
	struct vhu_hdr h = { VHU_SET_OWNER, 0x1, 0 };

	assert_int_equal(vhu_send_raw(x->c, &h, 6, NULL, 0), 0);
}

static void m_unknown_request(struct ctx *x)
{
	uint64_t v = 1;

	assert_int_equal(vhu_send(x->c, 99, NR, &v, sizeof(v), NULL, 0), 0);
}

static void m_unsupported_with_fd(struct ctx *x)
{
	struct vhu_log l = { 4096, 0 };
	int fd = eventfd(0, EFD_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(vhu_send(x->c, VHU_SET_LOG_BASE, NR, &l, sizeof(l), &fd, 1), 0);
	close(fd);
}

static void send_state(struct ctx *x, uint32_t req, uint32_t index, uint32_t num)
{
	struct vhu_vring_state s = { index, num };

	assert_int_equal(vhu_send(x->c, req, NR, &s, sizeof(s), NULL, 0), 0);
}

static void m_num_index_5(struct ctx *x) { send_state(x, VHU_SET_VRING_NUM, 5, 64); }
static void m_num_not_pow2(struct ctx *x) { send_state(x, VHU_SET_VRING_NUM, 0, 100); }
static void m_num_zero(struct ctx *x) { send_state(x, VHU_SET_VRING_NUM, 0, 0); }
static void m_num_too_big(struct ctx *x) { send_state(x, VHU_SET_VRING_NUM, 0, 2048); }
static void m_base_reserved(struct ctx *x) { send_state(x, VHU_SET_VRING_BASE, 0, 0x10000); }
static void m_enable_2(struct ctx *x) { send_state(x, VHU_SET_VRING_ENABLE, 0, 2); }
static void m_num_running(struct ctx *x) { send_state(x, VHU_SET_VRING_NUM, 0, 32); }

static void m_get_base_index_5(struct ctx *x)
{
	struct vhu_vring_state s = { 5, 0 };

	assert_int_equal(vhu_send(x->c, VHU_GET_VRING_BASE, 0, &s, sizeof(s), NULL, 0), 0);
}

static void m_get_features_payload(struct ctx *x)
{
	uint64_t v = 0;

	assert_int_equal(vhu_send(x->c, VHU_GET_FEATURES, 0, &v, sizeof(v), NULL, 0), 0);
}

static void m_set_features_short(struct ctx *x)
{
	uint32_t v = 1;

	assert_int_equal(vhu_send(x->c, VHU_SET_FEATURES, NR, &v, sizeof(v), NULL, 0), 0);
}

static void m_protocol_not_offered(struct ctx *x)
{
	uint64_t v = VHD_BIT(VHU_PF_CONFIG);

	assert_int_equal(vhu_send(x->c, VHU_SET_PROTOCOL_FEATURES, NR, &v, sizeof(v), NULL, 0), 0);
}

static void m_owner_with_fd(struct ctx *x)
{
	int fd = eventfd(0, EFD_CLOEXEC);

	assert_int_equal(vhu_send(x->c, VHU_SET_OWNER, NR, NULL, 0, &fd, 1), 0);
	close(fd);
}

static void m_status_not_byte(struct ctx *x)
{
	uint64_t v = 0x100;

	assert_int_equal(vhu_send(x->c, VHU_SET_STATUS, NR, &v, sizeof(v), NULL, 0), 0);
}

static void send_file(struct ctx *x, uint32_t req, uint64_t v, unsigned nfds)
{
	int fds[2] = { eventfd(0, EFD_CLOEXEC), eventfd(0, EFD_CLOEXEC) };

	assert_int_equal(vhu_send(x->c, req, NR, &v, sizeof(v), fds, nfds), 0);
	close(fds[0]);
	close(fds[1]);
}

static void m_kick_index_5(struct ctx *x) { send_file(x, VHU_SET_VRING_KICK, 5, 1); }
static void m_kick_reserved(struct ctx *x) { send_file(x, VHU_SET_VRING_KICK, 0x200, 1); }
static void m_kick_no_fd(struct ctx *x) { send_file(x, VHU_SET_VRING_KICK, 0, 0); }
static void m_call_two_fds(struct ctx *x) { send_file(x, VHU_SET_VRING_CALL, 0, 2); }

static void m_too_many_fds(struct ctx *x)
{
	int fds[40];
	uint64_t v = 0;

	for (unsigned i = 0; i < 40; i++)
		fds[i] = eventfd(0, EFD_CLOEXEC);
	assert_int_equal(vhu_send(x->c, VHU_SET_VRING_CALL, NR, &v, sizeof(v), fds, 40), 0);
	for (unsigned i = 0; i < 40; i++)
		close(fds[i]);
}

/* A memory table of n region descriptions (any contents) with nfds fds. */
static void send_table(struct ctx *x, uint32_t nregions, const struct vhu_mem_region *r,
		       unsigned ndesc, unsigned nfds)
{
	uint8_t buf[8 + 64 * sizeof(struct vhu_mem_region)];
	struct vhu_mem_table_hdr h = { nregions, 0 };
	int fds[8];

	assert_true(ndesc <= 64 && nfds <= 8);
	for (unsigned i = 0; i < 8; i++)
		fds[i] = vhu_mem_fd(x->m);
	memcpy(buf, &h, sizeof(h));
	if (ndesc)
		memcpy(buf + 8, r, ndesc * sizeof(*r));
	assert_int_equal(vhu_send(x->c, VHU_SET_MEM_TABLE, NR, buf,
				  (uint32_t)(8 + ndesc * sizeof(*r)), fds, nfds), 0);
}

static void m_table_fd_mismatch(struct ctx *x)
{
	struct vhu_mem_region r[2] = { vhu_mem_region(x->m, 0), vhu_mem_region(x->m, 0) };

	r[1].guest_phys_addr = 1ull << 32;
	r[1].userspace_addr += 1ull << 40;
	send_table(x, 2, r, 2, 1);
}

static void m_table_overlap(struct ctx *x)
{
	struct vhu_mem_region r[2] = { vhu_mem_region(x->m, 0), vhu_mem_region(x->m, 0) };

	/* Disjoint file ranges, gpa ranges overlapping by one page. */
	r[0].memory_size = 1u << 20;
	r[1].memory_size = 1u << 20;
	r[1].guest_phys_addr = (1u << 20) - 4096;
	r[1].userspace_addr += (1u << 20);
	r[1].mmap_offset = 1u << 20;
	send_table(x, 2, r, 2, 2);
}

static void m_table_zero_regions(struct ctx *x) { send_table(x, 0, NULL, 0, 0); }

/* One more region than the backend allows (fully described, with one fd
 * so that the region count, not the fd limit, is what is refused). */
static void m_table_too_many_regions(struct ctx *x)
{
	enum { N = VHU_MAX_TABLE_REGIONS + 1 };
	struct vhu_mem_region r[N];

	for (unsigned i = 0; i < N; i++) {
		r[i] = vhu_mem_region(x->m, 0);
		r[i].memory_size = 4096;
		r[i].guest_phys_addr = i * 4096ull;
		r[i].userspace_addr += i * 4096ull;
		r[i].mmap_offset = i * 4096ull;
	}
	send_table(x, N, r, N, 1);
}

static void m_table_size_mismatch(struct ctx *x)
{
	struct vhu_mem_region r[1] = { vhu_mem_region(x->m, 0) };

	send_table(x, 2, r, 1, 2);
}

static void m_table_zero_size(struct ctx *x)
{
	struct vhu_mem_region r[1] = { vhu_mem_region(x->m, 0) };

	r[0].memory_size = 0;
	send_table(x, 1, r, 1, 1);
}

/* A region that runs past the end of the file: mapping it "works" and
 * the first access is a SIGBUS, so it must be refused up front. */
static void m_table_past_eof(struct ctx *x)
{
	struct vhu_mem_region r[1] = { vhu_mem_region(x->m, 0) };

	r[0].mmap_offset = vhu_mem_size(x->m) / 2;
	send_table(x, 1, r, 1, 1);
}

static void m_table_gpa_wraps(struct ctx *x)
{
	struct vhu_mem_region r[1] = { vhu_mem_region(x->m, 0) };

	r[0].guest_phys_addr = UINT64_MAX - 4095;
	send_table(x, 1, r, 1, 1);
}

static void send_single(struct ctx *x, uint32_t req, struct vhu_mem_region r, unsigned nfds)
{
	struct {
		struct vhu_mem_single_hdr h;
		struct vhu_mem_region r;
	} __attribute__((packed)) msg = { { 0 }, r };
	int fds[2] = { vhu_mem_fd(x->m), vhu_mem_fd(x->m) };

	assert_int_equal(vhu_send(x->c, req, NR, &msg, sizeof(msg), fds, nfds), 0);
}

static void m_add_reg_no_fd(struct ctx *x) { send_single(x, VHU_ADD_MEM_REG, vhu_mem_region(x->m, 0), 0); }
static void m_add_reg_two_fds(struct ctx *x) { send_single(x, VHU_ADD_MEM_REG, vhu_mem_region(x->m, 0), 2); }

static void m_rem_reg_unknown(struct ctx *x)
{
	struct vhu_mem_region r = vhu_mem_region(x->m, 0);

	r.guest_phys_addr += 1ull << 36;
	send_single(x, VHU_REM_MEM_REG, r, 0);
}

static void send_addr(struct ctx *x, uint64_t desc, uint64_t avail, uint64_t used)
{
	struct vhu_vring_addr a = { 0, 0, desc, used, avail, 0 };

	assert_int_equal(vhu_send(x->c, VHU_SET_VRING_ADDR, NR, &a, sizeof(a), NULL, 0), 0);
}

static void m_addr_outside(struct ctx *x)
{
	uint64_t base = (uint64_t)(uintptr_t)vhu_mem_base(x->m);

	assert_int_equal(vhu_set_state(x->c, VHU_SET_VRING_NUM, 0, 64), 0);
	/* The used ring just past the end of guest memory. */
	send_addr(x, base, base + 4096, base + vhu_mem_size(x->m));
}

static void m_addr_straddles_end(struct ctx *x)
{
	uint64_t base = (uint64_t)(uintptr_t)vhu_mem_base(x->m);

	assert_int_equal(vhu_set_state(x->c, VHU_SET_VRING_NUM, 0, 64), 0);
	/* The descriptor table (1 KiB) starting 512 bytes before the end. */
	send_addr(x, base + vhu_mem_size(x->m) - 512, base + 4096, base + 8192);
}

static void m_addr_misaligned(struct ctx *x)
{
	uint64_t base = (uint64_t)(uintptr_t)vhu_mem_base(x->m);

	assert_int_equal(vhu_set_state(x->c, VHU_SET_VRING_NUM, 0, 64), 0);
	send_addr(x, base + 8, base + 4096, base + 8192);
}

static void m_get_config_rng(struct ctx *x)
{
	uint8_t cfg[8];

	/* No CONFIG offered: the refusal is an empty config. */
	assert_int_equal(vhu_get_config(x->c, 0, sizeof(cfg), cfg), -EIO);
}

static void m_config_bad_size(struct ctx *x)
{
	struct vhu_config_hdr h = { 0, 200, 0 };  /* says 200 bytes, carries 0 */
	struct vhu_hdr rh;
	uint8_t buf[64];

	assert_int_equal(vhu_send(x->c, VHU_GET_CONFIG, 0, &h, sizeof(h), NULL, 0), 0);
	assert_int_equal(vhu_recv_any(x->c, &rh, buf, sizeof(buf)), 12);
	assert_int_equal(rh.flags, 0x5);
	assert_int_equal(rh.request, VHU_GET_CONFIG);
	assert_int_equal(rh.size, 12);
}

static const struct mcase cases[] = {
	{ "version bits 2", RAW, EXP_CLOSED, 0, m_version_2 },
	{ "version bits 0", RAW, EXP_CLOSED, 0, m_version_0 },
	{ "payload size 4097", RAW, EXP_CLOSED, 0, m_size_4097 },
	{ "payload size 0xffffffff", RAW, EXP_CLOSED, 0, m_size_huge },
	{ "truncated payload, then close", RAW, EXP_ANY, 0, m_truncated_payload },
	{ "truncated header, then close", RAW, EXP_ANY, 0, m_truncated_header },
	{ "unknown request 99 with NEED_REPLY", RAW, EXP_NACK, 99, m_unknown_request },
	{ "SET_LOG_BASE (not offered) with an fd", NEGOTIATED, EXP_NACK, VHU_SET_LOG_BASE, m_unsupported_with_fd },
	{ "GET_FEATURES with a payload", RAW, EXP_CLOSED, 0, m_get_features_payload },
	{ "SET_FEATURES with 4 bytes", RAW, EXP_NACK, VHU_SET_FEATURES, m_set_features_short },
	{ "SET_PROTOCOL_FEATURES not offered", RAW, EXP_NACK, VHU_SET_PROTOCOL_FEATURES, m_protocol_not_offered },
	{ "SET_OWNER with an fd", RAW, EXP_NACK, VHU_SET_OWNER, m_owner_with_fd },
	{ "SET_STATUS 0x100", NEGOTIATED, EXP_NACK, VHU_SET_STATUS, m_status_not_byte },
	{ "SET_VRING_NUM on index 5", NEGOTIATED, EXP_NACK, VHU_SET_VRING_NUM, m_num_index_5 },
	{ "SET_VRING_NUM 100 (not a power of 2)", NEGOTIATED, EXP_NACK, VHU_SET_VRING_NUM, m_num_not_pow2 },
	{ "SET_VRING_NUM 0", NEGOTIATED, EXP_NACK, VHU_SET_VRING_NUM, m_num_zero },
	{ "SET_VRING_NUM 2048 (max 1024)", NEGOTIATED, EXP_NACK, VHU_SET_VRING_NUM, m_num_too_big },
	{ "SET_VRING_NUM while running", RUNNING, EXP_NACK, VHU_SET_VRING_NUM, m_num_running },
	{ "SET_VRING_BASE 0x10000", NEGOTIATED, EXP_NACK, VHU_SET_VRING_BASE, m_base_reserved },
	{ "SET_VRING_ENABLE 2", NEGOTIATED, EXP_NACK, VHU_SET_VRING_ENABLE, m_enable_2 },
	{ "GET_VRING_BASE on index 5", NEGOTIATED, EXP_CLOSED, 0, m_get_base_index_5 },
	{ "SET_VRING_KICK on index 5", NEGOTIATED, EXP_NACK, VHU_SET_VRING_KICK, m_kick_index_5 },
	{ "SET_VRING_KICK reserved bit 9", NEGOTIATED, EXP_NACK, VHU_SET_VRING_KICK, m_kick_reserved },
	{ "SET_VRING_KICK without fd or NOFD", NEGOTIATED, EXP_NACK, VHU_SET_VRING_KICK, m_kick_no_fd },
	{ "SET_VRING_CALL with 2 fds", NEGOTIATED, EXP_NACK, VHU_SET_VRING_CALL, m_call_two_fds },
	{ "40 fds on one message", NEGOTIATED, EXP_CLOSED, 0, m_too_many_fds },
	{ "SET_MEM_TABLE 2 regions, 1 fd", NEGOTIATED, EXP_NACK, VHU_SET_MEM_TABLE, m_table_fd_mismatch },
	{ "SET_MEM_TABLE overlapping regions", NEGOTIATED, EXP_NACK, VHU_SET_MEM_TABLE, m_table_overlap },
	{ "SET_MEM_TABLE 0 regions", NEGOTIATED, EXP_NACK, VHU_SET_MEM_TABLE, m_table_zero_regions },
	{ "SET_MEM_TABLE with VHU_MAX_TABLE_REGIONS + 1 regions", NEGOTIATED, EXP_NACK, VHU_SET_MEM_TABLE, m_table_too_many_regions },
	{ "SET_MEM_TABLE nregions 2, 1 described", NEGOTIATED, EXP_NACK, VHU_SET_MEM_TABLE, m_table_size_mismatch },
	{ "SET_MEM_TABLE region of size 0", NEGOTIATED, EXP_NACK, VHU_SET_MEM_TABLE, m_table_zero_size },
	{ "SET_MEM_TABLE region past end of file", NEGOTIATED, EXP_NACK, VHU_SET_MEM_TABLE, m_table_past_eof },
	{ "SET_MEM_TABLE gpa wraps around", NEGOTIATED, EXP_NACK, VHU_SET_MEM_TABLE, m_table_gpa_wraps },
	{ "ADD_MEM_REG with 0 fds", NEGOTIATED, EXP_NACK, VHU_ADD_MEM_REG, m_add_reg_no_fd },
	{ "ADD_MEM_REG with 2 fds", NEGOTIATED, EXP_NACK, VHU_ADD_MEM_REG, m_add_reg_two_fds },
	{ "REM_MEM_REG of an unknown region", MEMORY, EXP_NACK, VHU_REM_MEM_REG, m_rem_reg_unknown },
	{ "SET_VRING_ADDR outside memory", MEMORY, EXP_NACK, VHU_SET_VRING_ADDR, m_addr_outside },
	{ "SET_VRING_ADDR across the end of memory", MEMORY, EXP_NACK, VHU_SET_VRING_ADDR, m_addr_straddles_end },
	{ "SET_VRING_ADDR misaligned", MEMORY, EXP_NACK, VHU_SET_VRING_ADDR, m_addr_misaligned },
	{ "GET_CONFIG on rng (no CONFIG)", NEGOTIATED, EXP_CHECKED, 0, m_get_config_rng },
	{ "GET_CONFIG size field != payload", RAW, EXP_CHECKED, 0, m_config_bad_size },
};

static void run_case(struct fixture *f, const struct mcase *mc)
{
	struct vhu_vq_opts vo = { .num = 64 };
	struct ctx x = { 0 };
	struct vhu_hdr h;
	uint64_t v = 0;
	int r;

	fprintf(stderr, "case: %s\n", mc->name);
	assert_int_equal(vhu_connect(f->sock, 30000, &x.c), 0);
	vhu_conn_set_timeout(x.c, 30000);
	assert_int_equal(vhu_mem_create(2u << 20, 0, 0, &x.m), 0);
	if (mc->stage >= NEGOTIATED) {
		vhu_conn_set_ack_all(x.c, true);
		assert_int_equal(vhu_negotiate(x.c, ~0ull, VHU_FRONTEND_PROTOCOL &
					       ~VHD_BIT(VHU_PF_BACKEND_REQ)), 0);
		vhu_conn_set_ack_all(x.c, false);
	}
	if (mc->stage >= MEMORY)
		assert_int_equal(vhu_send_mem(x.c, x.m, false), 0);
	if (mc->stage >= RUNNING) {
		assert_int_equal(vhu_vq_create(x.c, x.m, 0, &vo, &x.q), 0);
		assert_int_equal(vhu_vq_start(x.q), 0);
	}

	mc->send(&x);

	switch (mc->expect) {
	case EXP_NACK:
		r = vhu_recv_any(x.c, &h, &v, sizeof(v));
		if (r < 0)
			fail_msg("%s: no reply: %s", mc->name, vhu_conn_error(x.c));
		assert_int_equal(h.flags, VHU_VERSION | VHU_FLAG_REPLY);
		assert_int_equal(h.request, mc->req);
		assert_int_equal(h.size, 8);
		if (v == 0)
			fail_msg("%s: the backend accepted it (REPLY_ACK 0)", mc->name);
		/* fallthrough */
	case EXP_CHECKED:
		if (vhu_ping(x.c) < 0)
			fail_msg("%s: connection no longer answers: %s", mc->name,
				 vhu_conn_error(x.c));
		break;
	case EXP_CLOSED:
		if (vhu_wait_closed(x.c, 30000) < 0)
			fail_msg("%s: %s", mc->name, vhu_conn_error(x.c));
		break;
	case EXP_ANY:
		break;
	}
	vhu_close(x.c);
	vhu_vq_destroy(x.q);
	vhu_mem_destroy(x.m);
	assert_true(backend_alive(&f->be));
	it_assert_rng_serves(f->sock);
}

static void test_malformed(void **state)
{
	struct fixture *f = *state;
	int before, after;

	it_assert_rng_serves(f->sock);      /* lazily created state exists */
	before = probe_fds(f);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(f, &cases[i]);
	after = probe_fds(f);
	/* Every fd sent with a refused message was closed. */
	assert_int_equal(after, before);
}

/* ---- reconnects ------------------------------------------------------------ */

/* 100 frontends, each leaving at a different stage (right after
 * connecting, after negotiating, with memory, with buffers in flight,
 * after a full read); the backend keeps serving and its fd count does
 * not grow. */
static void test_reconnect_cycles(void **state)
{
	struct fixture *f = *state;
	int before, after;

	it_assert_rng_serves(f->sock);
	before = probe_fds(f);
	for (unsigned i = 0; i < 100; i++) {
		struct vhu_session_opts o;
		struct vhu_session *s;
		struct vhu_conn *c;
		size_t got;

		switch (i % 5) {
		case 0:
			assert_int_equal(vhu_connect(f->sock, 30000, &c), 0);
			vhu_close(c);
			break;
		case 1:
			assert_int_equal(vhu_connect(f->sock, 30000, &c), 0);
			assert_int_equal(vhu_negotiate(c, ~0ull, VHU_FRONTEND_PROTOCOL), 0);
			vhu_close(c);
			break;
		case 2:
			it_opts(&o, f->sock);
			o.nqueues = 0;
			o.mem_split = 1u << 20;
			s = it_open(&o);
			vhu_session_close(s);
			break;
		case 3: {
			/* Buffers in flight when the frontend goes away. */
			it_opts(&o, f->sock);
			s = it_open(&o);
			for (unsigned k = 0; k < 16; k++) {
				uint8_t *b = vhu_mem_alloc(s->m, 65536, 64);
				struct vhu_sg sg = { vhu_mem_gpa(s->m, b), 65536 };
				assert_true(vhu_vq_add(s->vq[0], NULL, 0, &sg, 1, b, false) >= 0);
			}
			assert_true(vhu_vq_publish_kick(s->vq[0], false) >= 0);
			vhu_session_close(s);
			break;
		}
		case 4:
			it_opts(&o, f->sock);
			o.add_mem_reg = true;
			s = it_open(&o);
			assert_int_equal(it_pump(s, NULL, 8192, 512, false, &got), 0);
			vhu_session_close(s);
			break;
		}
	}
	it_assert_rng_serves(f->sock);
	after = probe_fds(f);
	if (after > before)
		fail_msg("backend fds grew from %d to %d over 100 connections", before, after);
}

/* ---- the socket stays bound ---------------------------------------------- */

struct watcher {
	const char *path;
	volatile bool stop;
	volatile unsigned checks, missing;
};

static void *watch(void *arg)
{
	struct watcher *w = arg;

	while (!w->stop) {
		struct stat st;

		if (stat(w->path, &st) < 0 || !S_ISSOCK(st.st_mode))
			w->missing++;
		w->checks++;
	}
	return NULL;
}

static bool is_socket(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

/* Wait until the watcher has looked again (30 s: a failure bound; the
 * watcher thread may not run for a while on a busy machine). */
static void watcher_step(struct watcher *w)
{
	unsigned seen = w->checks;
	int64_t t0 = it_now_ms();

	while (w->checks == seen && it_now_ms() - t0 < 30000)
		sched_yield();
}

static void test_socket_stays_bound(void **state)
{
	struct fixture *f = *state;
	struct watcher w = { .path = f->sock };
	unsigned main_missing = 0;
	pthread_t t;

	assert_int_equal(pthread_create(&t, NULL, watch, &w), 0);
	watcher_step(&w);
	for (unsigned i = 0; i < 50; i++) {
		struct vhu_conn *c;

		assert_int_equal(vhu_connect(f->sock, 0, &c), 0);
		if (i % 2)
			assert_int_equal(vhu_ping(c), 0);
		else
			m_version_0(&(struct ctx){ .c = c });   /* dropped by the backend */
		vhu_close(c);
		main_missing += !is_socket(f->sock);
		watcher_step(&w);
	}
	it_assert_rng_serves(f->sock);
	w.stop = true;
	pthread_join(t, NULL);
	assert_int_equal(main_missing, 0);
	assert_true(w.checks >= 50);
	assert_int_equal(w.missing, 0);
}

/* ---- corrupted rings --------------------------------------------------------- */

/* After a ring violation: no completion, the error eventfd fires, the
 * connection answers, a valid request is not served either (sticky),
 * GET_VRING_BASE points at the offending head, and a ring set up again
 * (new rings in the same memory) serves. */
static void check_broken(struct fixture *f, struct vhu_session *s, uint16_t bad_head_idx)
{
	struct pollfd p = { .fd = vhu_vq_err_fd(s->vq[0]), .events = POLLIN };
	struct vhu_vq_opts vo = { .num = 16, .err_fd = true };
	struct vhu_vq *q2;
	uint16_t base = 0;
	uint8_t *buf;

	/* The error eventfd is the event; the backend signals it as it
	 * gives up on the ring, and the ping after it is answered by the
	 * same loop: a completion of the bad request would be there by now
	 * (no "nothing within N ms"). */
	assert_int_equal(poll(&p, 1, 30000), 1);
	assert_int_equal(vhu_ping(s->c), 0);
	assert_int_equal(vhu_vq_wait(s->vq[0], 0, 0), 0);
	buf = vhu_mem_alloc(s->m, 512, 64);
	/* A kick the backend ignores leaves no trace to wait for: this one
	 * stays a short window (it cannot fail with a correct backend, only
	 * miss a late completion of a broken one). */
	assert_int_equal(it_read_one(s, buf, 512, 300), -ETIMEDOUT);
	assert_true(backend_alive(&f->be));
	assert_int_equal(vhu_vq_stop(s->vq[0], &base), 0);
	assert_int_equal(base, bad_head_idx);

	assert_int_equal(vhu_vq_create(s->c, s->m, 0, &vo, &q2), 0);
	assert_int_equal(vhu_vq_start(q2), 0);
	vhu_vq_destroy(s->vq[0]);
	s->vq[0] = q2;
	assert_int_equal(it_read_one(s, buf, 512, 30000), 512);
	vhu_session_close(s);
	it_assert_rng_serves(f->sock);
}

static struct vhu_session *good_session(struct fixture *f)
{
	struct vhu_session_opts o;
	struct vhu_session *s;
	uint8_t *buf;

	it_opts(&o, f->sock);
	o.vq.num = 16;
	s = it_open(&o);
	buf = vhu_mem_alloc(s->m, 512, 64);
	assert_int_equal(it_read_one(s, buf, 512, 30000), 512);
	return s;
}

static void test_ring_desc_outside_memory(void **state)
{
	struct fixture *f = *state;
	struct vhu_session *s = good_session(f);
	struct vring_desc d = { .addr = 1ull << 40, .len = 512, .flags = VRING_DESC_F_WRITE };

	assert_true(vhu_vq_add_raw(s->vq[0], &d, 1, NULL) >= 0);
	assert_true(vhu_vq_publish_kick(s->vq[0], true) >= 0);
	check_broken(f, s, 1);
}

static void test_ring_desc_straddles_end(void **state)
{
	struct fixture *f = *state;
	struct vhu_session *s = good_session(f);
	struct vring_desc d = { .len = 8192, .flags = VRING_DESC_F_WRITE };

	d.addr = vhu_mem_size(s->m) - 4096;     /* gpa == offset: one region */
	assert_true(vhu_vq_add_raw(s->vq[0], &d, 1, NULL) >= 0);
	assert_true(vhu_vq_publish_kick(s->vq[0], true) >= 0);
	check_broken(f, s, 1);
}

static void test_ring_chain_loop(void **state)
{
	struct fixture *f = *state;
	struct vhu_session *s = good_session(f);
	uint8_t *b = vhu_mem_alloc(s->m, 128, 64);
	struct vring_desc d[2] = {
		{ .addr = vhu_mem_gpa(s->m, b), .len = 64, .flags = VRING_DESC_F_WRITE },
		{ .addr = vhu_mem_gpa(s->m, b + 64), .len = 64, .flags = VRING_DESC_F_WRITE },
	};
	struct vring_desc *t = vhu_vq_desc(s->vq[0]);
	int head = vhu_vq_add_raw(s->vq[0], d, 2, NULL);
	uint16_t second;

	assert_true(head >= 0);
	/* The last descriptor points back at the head. */
	second = le16toh(t[head].next);
	t[second].flags = htole16(VRING_DESC_F_WRITE | VRING_DESC_F_NEXT);
	t[second].next = htole16((uint16_t)head);
	assert_true(vhu_vq_publish_kick(s->vq[0], true) >= 0);
	check_broken(f, s, 1);
}

static void test_ring_zero_length(void **state)
{
	struct fixture *f = *state;
	struct vhu_session *s = good_session(f);
	uint8_t *b = vhu_mem_alloc(s->m, 64, 64);
	struct vring_desc d = { .addr = vhu_mem_gpa(s->m, b), .len = 0, .flags = VRING_DESC_F_WRITE };

	assert_true(vhu_vq_add_raw(s->vq[0], &d, 1, NULL) >= 0);
	assert_true(vhu_vq_publish_kick(s->vq[0], true) >= 0);
	check_broken(f, s, 1);
}

/* avail->idx moved by more than the queue size. */
static void test_ring_avail_jump(void **state)
{
	struct fixture *f = *state;
	struct vhu_session *s = good_session(f);
	uint64_t one = 1;

	__atomic_store_n(&vhu_vq_avail(s->vq[0])->idx, htole16(1 + 16 + 1), __ATOMIC_RELEASE);
	assert_int_equal(write(vhu_vq_kick_fd(s->vq[0]), &one, sizeof(one)), sizeof(one));
	check_broken(f, s, 1);
}

/* A head index >= queue size in the avail ring. */
static void test_ring_head_out_of_range(void **state)
{
	struct fixture *f = *state;
	struct vhu_session *s = good_session(f);
	struct vring_avail *a = vhu_vq_avail(s->vq[0]);
	uint64_t one = 1;

	a->ring[1 % 16] = htole16(16);
	__atomic_store_n(&a->idx, htole16(2), __ATOMIC_RELEASE);
	assert_int_equal(write(vhu_vq_kick_fd(s->vq[0]), &one, sizeof(one)), sizeof(one));
	check_broken(f, s, 1);
}

/* ---- guest memory that shrinks under the backend ------------------------------ */

/* The frontend truncates its memfd after SET_MEM_TABLE and asks for bytes
 * in the part that is gone.  Without the truncation guard the backend dies
 * of SIGBUS; with it the request completes (into a zero page), the
 * connection and other frontends keep being served, and the loss is
 * logged when the region is unmapped. */
static void test_memory_file_shrunk(void **state)
{
	struct fixture *f = *state;
	struct vhu_session *s = good_session(f);
	size_t size = vhu_mem_size(s->m);
	struct vring_desc d = { .len = 4096, .flags = VRING_DESC_F_WRITE };
	uint8_t *buf;
	uint32_t len = 0;
	void *tok;

	/* Rings and earlier buffers sit at the start; cut the last 64 KiB. */
	assert_int_equal(ftruncate(vhu_mem_fd(s->m), (off_t)(size - 65536)), 0);
	d.addr = size - 4096;   /* gpa == offset: one region */
	assert_true(vhu_vq_add_raw(s->vq[0], &d, 1, NULL) >= 0);
	assert_true(vhu_vq_publish_kick(s->vq[0], true) >= 0);
	assert_int_equal(vhu_vq_wait(s->vq[0], 30000, 0), 1);
	assert_int_equal(vhu_vq_get_used(s->vq[0], &len, &tok), 1);
	assert_int_equal(len, 4096);
	assert_true(backend_alive(&f->be));
	/* The same connection still serves memory that is there. */
	buf = vhu_mem_alloc(s->m, 512, 64);
	assert_int_equal(it_read_one(s, buf, 512, 30000), 512);
	vhu_session_close(s);
	it_assert_rng_serves(f->sock);
	assert_true(backend_alive(&f->be));
	assert_int_equal(backend_wait_log(&f->be, "shrank its memory file", 30000), 0);
}

/* ---- a call fd that blocks ------------------------------------------------ */

/* Wait for a used entry by watching the ring itself (the call fd is not
 * ours to poll here); the bound only turns a hang into a failure. */
static bool wait_used(struct vhu_vq *q, int bound_ms)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!vhu_vq_has_used(q)) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 > bound_ms)
			return false;
		sched_yield();
	}
	return true;
}

/* The frontend passes the write end of a full pipe as the call fd, where
 * a blocking write never returns.  The backend still takes the fd (and
 * signals it at once, the ring running), completes requests while the
 * driver asks for an interrupt after each one, and answers messages on
 * the same connection: a notification cannot stall its worker. */
static void test_call_fd_blocks(void **state)
{
	struct fixture *f = *state;
	struct vhu_session *s = good_session(f);
	struct vhu_vq *q = s->vq[0];
	static char junk[4096];
	int p[2], fl;

	assert_int_equal(pipe(p), 0);
	fl = fcntl(p[1], F_GETFL);
	assert_int_equal(fcntl(p[1], F_SETFL, fl | O_NONBLOCK), 0);
	while (write(p[1], junk, sizeof(junk)) > 0)
		;
	assert_int_equal(errno, EAGAIN);
	assert_int_equal(fcntl(p[1], F_SETFL, fl), 0);  /* hand over a blocking fd */
	assert_int_equal(vhu_set_vring_file(s->c, VHU_SET_VRING_CALL, 0, p[1]), 0);
	assert_int_equal(vhu_ping(s->c), 0);
	for (int i = 0; i < 8; i++) {
		uint8_t *buf = vhu_mem_alloc(s->m, 256, 64);
		struct vhu_sg sg = { vhu_mem_gpa(s->m, buf), 256 };
		struct vring_used *u = vhu_vq_used(q);
		uint32_t len = 0;
		void *tok = NULL;

		/* Interrupt wanted for the next used entry (EVENT_IDX's
		 * used_event sits after the avail ring; without EVENT_IDX
		 * the flag decides). */
		vhu_vq_avail(q)->ring[vhu_vq_num(q)] = u->idx;
		__atomic_store_n(&vhu_vq_avail(q)->flags, 0, __ATOMIC_RELEASE);
		assert_true(vhu_vq_add(q, NULL, 0, &sg, 1, buf, false) >= 0);
		assert_true(vhu_vq_publish_kick(q, true) >= 0);
		assert_true(wait_used(q, 30000));
		assert_int_equal(vhu_vq_get_used(q, &len, &tok), 1);
		assert_int_equal(len, 256);
		assert_int_equal(vhu_ping(s->c), 0);
	}
	close(p[0]);
	close(p[1]);
	vhu_session_close(s);
	it_assert_rng_serves(f->sock);
	assert_true(backend_alive(&f->be));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reconnect_cycles, setup, teardown),
		cmocka_unit_test_setup_teardown(test_socket_stays_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ring_desc_outside_memory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ring_desc_straddles_end, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ring_chain_loop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ring_zero_length, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ring_avail_jump, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ring_head_out_of_range, setup, teardown),
		cmocka_unit_test_setup_teardown(test_memory_file_shrunk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_call_fd_blocks, setup, teardown),
	};

	return cmocka_run_group_tests_name("integration: hostile frontends", tests, NULL, NULL);
}
