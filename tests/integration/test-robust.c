/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Integration: a hostile or clumsy frontend against every device binary.
 * Malformed messages (each followed by a fresh connection proving the
 * backend still serves, and no fd leaked), 100 disconnect/reconnect
 * cycles at every stage, a soak of 1000 more (fds, threads and memory
 * the same at the end), the socket path present at every moment, and
 * corrupted rings (the queue stops, the connection keeps answering).
 *
 * Each device is a *profile* (the table `profiles` below): how to start
 * it, which queue the ring cases corrupt, its queue size limit and config
 * space, and how to make and check one valid request.  The cases read
 * the profile, never the device's name.  `test-robust NAME` runs the
 * suite for one profile (make check: tests/integration/robust-NAME.test),
 * `test-robust` for all of them.  Adding a device: docs/testing.md,
 * "Robustness profile".
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
#include <linux/virtio_vsock.h>

#include "backend.h"
#include "it-util.h"
#include "../ctrunc-probe.h"

/* ---- profiles ------------------------------------------------------------- */

/* How the backend's vhost-user socket is named on its command line. */
enum sock_style {
	SOCK_SUFFIXED,          /* -s PATH, socket PATH0 (rng) */
	SOCK_EXACT,             /* -s PATH, socket PATH (template) */
	SOCK_OPTION,            /* args name it: "{socket}" (vsock) */
};

struct profile {
	const char *name;
	const char *binary;
	enum sock_style sock;
	const char *args[12];       /* NULL-terminated; for SOCK_OPTION
				     * "{socket}" is the socket path and
				     * "{file}" a spare path in the
				     * backend's directory */
	off_t file_size;            /* non-zero: "{file}" is created this
				     * large first (scsi's image) */
	unsigned nqueues;           /* queues a session starts (0..n-1) */
	unsigned q;                 /* the queue of valid and corrupted
				     * requests: one the device pops from as
				     * soon as it is kicked */
	uint16_t dir;               /* flags of a data descriptor on q:
				     * VRING_DESC_F_WRITE or 0 (readable) */
	unsigned max_queue_size;    /* largest SET_VRING_NUM accepted */
	uint32_t config_size;       /* 0: no config space (GET_CONFIG refused) */
	/* Post one valid request on q (and kick); returns its token. */
	void *(*post)(struct vhu_session *s);
	/* The request of token tok completed with used length len: assert
	 * that the answer is right (waiting up to timeout_ms for any part
	 * of it that comes on another queue). */
	void (*check)(struct vhu_session *s, void *tok, uint32_t len, int timeout_ms);
	/* Post (and kick) a valid request whose device-accessed data of len
	 * bytes is at gpa, a range the frontend must not touch (its file
	 * was cut there); returns the used length the device must report. */
	uint32_t (*post_at)(struct vhu_session *s, uint64_t gpa, uint32_t len);
};

static const struct profile *P;         /* the profile being run */

static struct vhu_vq *pq(struct vhu_session *s) { return s->vq[P->q]; }

static void kick(struct vhu_vq *q)
{
	assert_true(vhu_vq_publish_kick(q, true) >= 0);
}

/* rng: a writable buffer comes back full of random bytes. */
static void *rng_post(struct vhu_session *s)
{
	uint8_t *b = vhu_mem_alloc(s->m, 512, 64);
	struct vhu_sg sg = { vhu_mem_gpa(s->m, b), 512 };

	assert_non_null(b);
	memset(b, 0, 512);
	assert_true(vhu_vq_add(pq(s), NULL, 0, &sg, 1, b, false) >= 0);
	kick(pq(s));
	return b;
}

static void rng_check(struct vhu_session *s, void *tok, uint32_t len, int timeout_ms)
{
	const uint8_t *b = tok;
	unsigned nonzero = 0;

	(void)s;
	(void)timeout_ms;
	assert_int_equal(len, 512);
	for (unsigned i = 0; i < 512; i++)
		nonzero += b[i] != 0;
	/* 512 random bytes: 2 zeros expected; all-zero means no data. */
	assert_true(nonzero > 450);
}

static uint32_t rng_post_at(struct vhu_session *s, uint64_t gpa, uint32_t len)
{
	struct vring_desc d = { .addr = gpa, .len = len, .flags = VRING_DESC_F_WRITE };

	assert_true(vhu_vq_add_raw(pq(s), &d, 1, NULL) >= 0);
	kick(pq(s));
	return len;
}

/* template q0: readable bytes come back echoed in the writable buffer
 * (no --xor-byte). */
static void *template_post(struct vhu_session *s)
{
	static uint8_t seed;
	uint8_t *b = vhu_mem_alloc(s->m, 1024, 64);
	struct vhu_sg rd = { vhu_mem_gpa(s->m, b), 512 };
	struct vhu_sg wr = { vhu_mem_gpa(s->m, b + 512), 512 };

	assert_non_null(b);
	seed++;
	for (unsigned i = 0; i < 512; i++)
		b[i] = (uint8_t)(i * 7 + seed);
	memset(b + 512, 0, 512);
	assert_true(vhu_vq_add(pq(s), &rd, 1, &wr, 1, b, false) >= 0);
	kick(pq(s));
	return b;
}

static void template_check(struct vhu_session *s, void *tok, uint32_t len, int timeout_ms)
{
	const uint8_t *b = tok;

	(void)s;
	(void)timeout_ms;
	assert_int_equal(len, 512);
	assert_memory_equal(b + 512, b, 512);
}

static uint32_t template_post_at(struct vhu_session *s, uint64_t gpa, uint32_t len)
{
	uint8_t *w = vhu_mem_alloc(s->m, len, 64);
	struct vring_desc d[2] = {
		{ .addr = gpa, .len = len },
		{ .addr = vhu_mem_gpa(s->m, w), .len = len, .flags = VRING_DESC_F_WRITE },
	};

	assert_non_null(w);
	assert_true(vhu_vq_add_raw(pq(s), d, 2, NULL) >= 0);
	kick(pq(s));
	return len;
}

/*
 * vsock tx (q1): a REQUEST from the guest (CID 3) to the host (CID 2) on a
 * port where nobody listens (no --uds-path socket for it) is completed on
 * tx with used length 0 and answered by an RST on rx (q0), virtio spec
 * 5.10.6.4 "Device Operation: Connection".  Each request posts the rx
 * buffer for its answer first.
 */
#define VS_HOST_CID 2          /* VMADDR_CID_HOST */
#define VS_GUEST_CID 3
#define VS_HOST_PORT 9999
#define VS_RX_BUF 256

static void vsock_post_rx(struct vhu_session *s, uint8_t *b)
{
	struct vhu_sg sg = { vhu_mem_gpa(s->m, b), VS_RX_BUF };

	assert_true(vhu_vq_add(s->vq[0], NULL, 0, &sg, 1, b, false) >= 0);
	kick(s->vq[0]);
}

static void *vsock_post(struct vhu_session *s)
{
	static uint32_t port = 40000;
	uint8_t *rx = vhu_mem_alloc(s->m, VS_RX_BUF, 64);
	struct virtio_vsock_hdr *h = vhu_mem_alloc(s->m, sizeof(*h), 64);
	struct vhu_sg sg = { vhu_mem_gpa(s->m, h), sizeof(*h) };

	assert_non_null(rx);
	assert_non_null(h);
	vsock_post_rx(s, rx);
	memset(h, 0, sizeof(*h));
	h->src_cid = htole64(VS_GUEST_CID);
	h->dst_cid = htole64(VS_HOST_CID);
	h->src_port = htole32(port++);
	h->dst_port = htole32(VS_HOST_PORT);
	h->type = htole16(VIRTIO_VSOCK_TYPE_STREAM);
	h->op = htole16(VIRTIO_VSOCK_OP_REQUEST);
	h->buf_alloc = htole32(65536);
	assert_true(vhu_vq_add(pq(s), &sg, 1, NULL, 0, h, false) >= 0);
	kick(pq(s));
	return h;
}

/* rx completions that are not our RST (an answer to an earlier packet
 * of the test) give their buffer back and are skipped. */
static void vsock_check(struct vhu_session *s, void *tok, uint32_t len, int timeout_ms)
{
	const struct virtio_vsock_hdr *h = tok;
	int64_t t0 = it_now_ms();

	assert_int_equal(len, 0);
	for (;;) {
		const struct virtio_vsock_hdr *a;
		uint32_t rlen = 0;
		void *rtok = NULL;
		int r = vhu_vq_wait(s->vq[0], timeout_ms, 0);

		if (r <= 0)
			fail_msg("vsock: no RST on rx for the REQUEST from port %u",
				 le32toh(h->src_port));
		assert_int_equal(vhu_vq_get_used(s->vq[0], &rlen, &rtok), 1);
		assert_true(rlen >= sizeof(*a));
		a = rtok;
		if (le16toh(a->op) == VIRTIO_VSOCK_OP_RST && a->dst_port == h->src_port) {
			assert_int_equal(le64toh(a->src_cid), VS_HOST_CID);
			assert_int_equal(le64toh(a->dst_cid), VS_GUEST_CID);
			assert_int_equal(le32toh(a->src_port), VS_HOST_PORT);
			return;
		}
		if (it_now_ms() - t0 > timeout_ms)
			fail_msg("vsock: no RST on rx for the REQUEST from port %u",
				 le32toh(h->src_port));
		vsock_post_rx(s, rtok);
	}
}

/* The header read from the cut range is all zeros: source CID 0 is not
 * the guest's, so the packet is dropped (completed with length 0). */
static uint32_t vsock_post_at(struct vhu_session *s, uint64_t gpa, uint32_t len)
{
	struct vring_desc d = { .addr = gpa, .len = len };

	assert_true(vhu_vq_add_raw(pq(s), &d, 1, NULL) >= 0);
	kick(pq(s));
	return 0;
}

/*
 * i2c (-l sim:80): a 4-byte read from the simulated EEPROM at 0x50, one
 * chain of out header, read buffer and status (virtio spec 5.19.6): used
 * length 5, status OK.  The cut range is the read buffer.
 */
#define I2C_RD 4

static void i2c_hdr(uint8_t *h)
{
	uint16_t addr = htole16(0x50 << 1);
	uint32_t flags = htole32(2);          /* VIRTIO_I2C_FLAGS_M_RD */

	memset(h, 0, 8);
	memcpy(h, &addr, 2);
	memcpy(h + 4, &flags, 4);
}

static void *i2c_post(struct vhu_session *s)
{
	uint8_t *b = vhu_mem_alloc(s->m, 8 + I2C_RD + 1, 64);
	struct vhu_sg out = { vhu_mem_gpa(s->m, b), 8 };
	struct vhu_sg in[2] = { { vhu_mem_gpa(s->m, b + 8), I2C_RD },
				{ vhu_mem_gpa(s->m, b + 8 + I2C_RD), 1 } };

	assert_non_null(b);
	i2c_hdr(b);
	b[8 + I2C_RD] = 0xee;
	assert_true(vhu_vq_add(pq(s), &out, 1, in, 2, b, false) >= 0);
	kick(pq(s));
	return b;
}

static void i2c_check(struct vhu_session *s, void *tok, uint32_t len, int timeout_ms)
{
	const uint8_t *b = tok;

	(void)s;
	(void)timeout_ms;
	assert_int_equal(len, I2C_RD + 1);
	assert_int_equal(b[8 + I2C_RD], 0);   /* VIRTIO_I2C_MSG_OK */
}

static uint32_t i2c_post_at(struct vhu_session *s, uint64_t gpa, uint32_t len)
{
	uint8_t *b = vhu_mem_alloc(s->m, 9, 64);
	struct vring_desc d[3] = {
		{ .addr = vhu_mem_gpa(s->m, b), .len = 8 },
		{ .addr = gpa, .len = len, .flags = VRING_DESC_F_WRITE },
		{ .addr = vhu_mem_gpa(s->m, b + 8), .len = 1, .flags = VRING_DESC_F_WRITE },
	};

	assert_non_null(b);
	i2c_hdr(b);
	assert_true(vhu_vq_add_raw(pq(s), d, 3, NULL) >= 0);
	kick(pq(s));
	return len + 1;     /* the whole writable part: data and status */
}

/*
 * spi (-l loopback): an 8-byte full-duplex transfer, one chain of
 * transfer head, tx, rx and result (virtio spec, "SPI Controller
 * Device"): rx equals tx, result OK, used length 9.  The cut range is the
 * tx buffer (read as zeros, so rx is zeros).
 */
#define SPI_LEN 8

static void *spi_post(struct vhu_session *s)
{
	static uint8_t seed;
	uint8_t *b = vhu_mem_alloc(s->m, 32 + 2 * SPI_LEN + 1, 64);
	struct vhu_sg out[2] = { { vhu_mem_gpa(s->m, b), 32 },
				 { vhu_mem_gpa(s->m, b + 32), SPI_LEN } };
	struct vhu_sg in[2] = { { vhu_mem_gpa(s->m, b + 32 + SPI_LEN), SPI_LEN },
				{ vhu_mem_gpa(s->m, b + 32 + 2 * SPI_LEN), 1 } };

	assert_non_null(b);
	memset(b, 0, 32 + 2 * SPI_LEN + 1);
	b[1] = 8;                               /* bits_per_word */
	seed++;
	for (unsigned i = 0; i < SPI_LEN; i++)
		b[32 + i] = (uint8_t)(seed + i * 3);
	b[32 + 2 * SPI_LEN] = 0xee;
	assert_true(vhu_vq_add(pq(s), out, 2, in, 2, b, false) >= 0);
	kick(pq(s));
	return b;
}

static void spi_check(struct vhu_session *s, void *tok, uint32_t len, int timeout_ms)
{
	const uint8_t *b = tok;

	(void)s;
	(void)timeout_ms;
	assert_int_equal(len, SPI_LEN + 1);
	assert_int_equal(b[32 + 2 * SPI_LEN], 0);    /* VIRTIO_SPI_TRANS_OK */
	assert_memory_equal(b + 32 + SPI_LEN, b + 32, SPI_LEN);
}

static uint32_t spi_post_at(struct vhu_session *s, uint64_t gpa, uint32_t len)
{
	uint8_t *b = vhu_mem_alloc(s->m, 32 + len + 1, 64);
	struct vring_desc d[4] = {
		{ .addr = vhu_mem_gpa(s->m, b), .len = 32 },
		{ .addr = gpa, .len = len },
		{ .addr = vhu_mem_gpa(s->m, b + 32), .len = len, .flags = VRING_DESC_F_WRITE },
		{ .addr = vhu_mem_gpa(s->m, b + 32 + len), .len = 1, .flags = VRING_DESC_F_WRITE },
	};

	assert_non_null(b);
	memset(b, 0, 32);
	b[1] = 8;
	assert_true(vhu_vq_add_raw(pq(s), d, 4, NULL) >= 0);
	kick(pq(s));
	return len + 1;
}

/*
 * can (through tests/integration/test-can-fakeif: a fake CAN interface,
 * the host has no SocketCAN): a valid classic frame on the tx queue of a
 * controller that was never started -- a header (16 bytes) and one data
 * byte readable, the result byte writable -- is answered at once with
 * VIRTIO_CAN_RESULT_NOT_OK ("In the STOPPED state the device marks
 * messages ... as used with VIRTIO_CAN_RESULT_NOT_OK"), used length 1.
 * The cut range is the message itself (read as zeros: msg_type 0, also
 * NOT_OK).
 */
static void *can_post(struct vhu_session *s)
{
	uint8_t *b = vhu_mem_alloc(s->m, 18, 64);
	struct vhu_sg out = { vhu_mem_gpa(s->m, b), 17 };
	struct vhu_sg in = { vhu_mem_gpa(s->m, b + 17), 1 };

	assert_non_null(b);
	memset(b, 0, 18);
	b[0] = 0x01;                            /* VIRTIO_CAN_TX */
	b[2] = 1;                               /* length */
	b[12] = 0x23;                           /* can_id */
	b[16] = 0x5a;
	b[17] = 0xee;
	assert_true(vhu_vq_add(pq(s), &out, 1, &in, 1, b, false) >= 0);
	kick(pq(s));
	return b;
}

static void can_check(struct vhu_session *s, void *tok, uint32_t len, int timeout_ms)
{
	const uint8_t *b = tok;

	(void)s;
	(void)timeout_ms;
	assert_int_equal(len, 1);
	assert_int_equal(b[17], 1);             /* VIRTIO_CAN_RESULT_NOT_OK */
}

static uint32_t can_post_at(struct vhu_session *s, uint64_t gpa, uint32_t len)
{
	uint8_t *b = vhu_mem_alloc(s->m, 1, 64);
	struct vring_desc d[2] = {
		{ .addr = gpa, .len = len },
		{ .addr = vhu_mem_gpa(s->m, b), .len = 1, .flags = VRING_DESC_F_WRITE },
	};

	assert_non_null(b);
	assert_true(vhu_vq_add_raw(pq(s), d, 2, NULL) >= 0);
	kick(pq(s));
	return 1;
}

/*
 * scsi: READ(10) of one block of the (zero) image on request queue 0
 * (virtqueue 2): request header | response header, 512 bytes of data.
 * Good status, used length 108 + 512, also when the data buffer is gone
 * (post_at: the kernel cannot fill it, the device bounces the data).
 */
#define SCSI_REQ 51
#define SCSI_RESP 108

static void scsi_req(uint8_t *h, uint32_t blocks)
{
	memset(h, 0, SCSI_REQ);
	h[0] = 1;                               /* target 0, LUN 0 */
	h[2] = 0x40;
	h[19] = 0x28;                           /* READ(10), LBA 0 */
	h[19 + 7] = (uint8_t)(blocks >> 8);
	h[19 + 8] = (uint8_t)blocks;
}

static void *scsi_post(struct vhu_session *s)
{
	uint8_t *b = vhu_mem_alloc(s->m, 64 + SCSI_RESP + 512, 64);
	struct vhu_sg out = { vhu_mem_gpa(s->m, b), SCSI_REQ };
	struct vhu_sg in[2] = { { vhu_mem_gpa(s->m, b + 64), SCSI_RESP },
				{ vhu_mem_gpa(s->m, b + 64 + SCSI_RESP), 512 } };

	assert_non_null(b);
	scsi_req(b, 1);
	memset(b + 64, 0xee, SCSI_RESP + 512);
	assert_true(vhu_vq_add(pq(s), &out, 1, in, 2, b, false) >= 0);
	kick(pq(s));
	return b;
}

static void scsi_check(struct vhu_session *s, void *tok, uint32_t len, int timeout_ms)
{
	const uint8_t *b = tok;
	uint8_t zero[512] = { 0 };

	(void)s;
	(void)timeout_ms;
	assert_int_equal(len, SCSI_RESP + 512);
	assert_int_equal(b[64 + 10], 0);        /* status GOOD */
	assert_int_equal(b[64 + 11], 0);        /* VIRTIO_SCSI_S_OK */
	assert_memory_equal(b + 64 + SCSI_RESP, zero, 512);
}

static uint32_t scsi_post_at(struct vhu_session *s, uint64_t gpa, uint32_t len)
{
	uint8_t *b = vhu_mem_alloc(s->m, 64 + SCSI_RESP, 64);
	struct vring_desc d[3] = {
		{ .addr = vhu_mem_gpa(s->m, b), .len = SCSI_REQ },
		{ .addr = vhu_mem_gpa(s->m, b + 64), .len = SCSI_RESP, .flags = VRING_DESC_F_WRITE },
		{ .addr = gpa, .len = len, .flags = VRING_DESC_F_WRITE },
	};

	assert_non_null(b);
	scsi_req(b, len / 512);
	assert_true(vhu_vq_add_raw(pq(s), d, 3, NULL) >= 0);
	kick(pq(s));
	return SCSI_RESP + len;
}

/*
 * gpio (-l s8): GET_DIRECTION of line 3, one chain of the 8-byte request
 * and the 2-byte response (virtio spec, "GPIO Device"): status OK,
 * direction NONE, used length 2.  The cut range is the response buffer.
 */
static void *gpio_post(struct vhu_session *s)
{
	uint8_t *b = vhu_mem_alloc(s->m, 10, 64);
	struct vhu_sg out = { vhu_mem_gpa(s->m, b), 8 };
	struct vhu_sg in = { vhu_mem_gpa(s->m, b + 8), 2 };

	assert_non_null(b);
	memset(b, 0, 8);
	b[0] = 2;                               /* VIRTIO_GPIO_MSG_GET_DIRECTION */
	b[2] = 3;                               /* line 3 */
	b[8] = b[9] = 0xee;
	assert_true(vhu_vq_add(pq(s), &out, 1, &in, 1, b, false) >= 0);
	kick(pq(s));
	return b;
}

static void gpio_check(struct vhu_session *s, void *tok, uint32_t len, int timeout_ms)
{
	const uint8_t *b = tok;

	(void)s;
	(void)timeout_ms;
	assert_int_equal(len, 2);
	assert_int_equal(b[8], 0);              /* VIRTIO_GPIO_STATUS_OK */
	assert_int_equal(b[9], 0);              /* VIRTIO_GPIO_DIRECTION_NONE */
}

static uint32_t gpio_post_at(struct vhu_session *s, uint64_t gpa, uint32_t len)
{
	uint8_t *b = vhu_mem_alloc(s->m, 8, 64);
	struct vring_desc d[2] = {
		{ .addr = vhu_mem_gpa(s->m, b), .len = 8 },
		{ .addr = gpa, .len = len, .flags = VRING_DESC_F_WRITE },
	};

	assert_non_null(b);
	memset(b, 0, 8);
	b[0] = 2;
	assert_true(vhu_vq_add_raw(pq(s), d, 2, NULL) >= 0);
	kick(pq(s));
	return 2;           /* status and value */
}

/*
 * sound (--backend null): a PCM_INFO query for stream 0 on the control
 * queue (virtio spec, "Sound Device"): status OK and the output stream's
 * info, used length 4 + 32.  The cut range is the request itself (read as
 * zeros: code 0 is unknown, answered NOT_SUPP in 4 bytes).
 */
#define SND_INFO_RESP (4 + 32)

static void *snd_post(struct vhu_session *s)
{
	uint8_t *b = vhu_mem_alloc(s->m, 16 + SND_INFO_RESP, 64);
	struct vhu_sg out = { vhu_mem_gpa(s->m, b), 16 };
	struct vhu_sg in = { vhu_mem_gpa(s->m, b + 16), SND_INFO_RESP };
	const uint32_t q[4] = { htole32(0x100), 0, htole32(1), htole32(32) };

	assert_non_null(b);
	memcpy(b, q, sizeof(q));
	memset(b + 16, 0xee, SND_INFO_RESP);
	assert_true(vhu_vq_add(pq(s), &out, 1, &in, 1, b, false) >= 0);
	kick(pq(s));
	return b;
}

static void snd_check(struct vhu_session *s, void *tok, uint32_t len, int timeout_ms)
{
	const uint8_t *b = tok;
	uint32_t st;

	(void)s;
	(void)timeout_ms;
	assert_int_equal(len, SND_INFO_RESP);
	memcpy(&st, b + 16, 4);
	assert_int_equal(le32toh(st), 0x8000);          /* VIRTIO_SND_S_OK */
	assert_int_equal(b[16 + 4 + 24], 0);            /* direction: output */
	assert_int_equal(b[16 + 4 + 25], 1);            /* channels_min */
}

static uint32_t snd_post_at(struct vhu_session *s, uint64_t gpa, uint32_t len)
{
	uint8_t *b = vhu_mem_alloc(s->m, 4, 64);
	struct vring_desc d[2] = {
		{ .addr = gpa, .len = len },
		{ .addr = vhu_mem_gpa(s->m, b), .len = 4, .flags = VRING_DESC_F_WRITE },
	};

	assert_non_null(b);
	assert_true(vhu_vq_add_raw(pq(s), d, 2, NULL) >= 0);
	kick(pq(s));
	return 4;
}

/*
 * input (-e builtin:keyboard): the event queue holds its buffers until
 * there are events, so the requests are on the status queue: one
 * 8-byte guest->device event (LED_NUML on), used at once with length 0
 * (virtio spec 5.8.6.2).  The cut range is the event itself.
 */
static void *input_post(struct vhu_session *s)
{
	uint8_t *b = vhu_mem_alloc(s->m, 8, 8);
	struct vhu_sg out = { vhu_mem_gpa(s->m, b), 8 };
	uint16_t type = htole16(0x11), code = htole16(0);
	uint32_t value = htole32(1);

	assert_non_null(b);
	memcpy(b, &type, 2);
	memcpy(b + 2, &code, 2);
	memcpy(b + 4, &value, 4);
	assert_true(vhu_vq_add(pq(s), &out, 1, NULL, 0, b, false) >= 0);
	kick(pq(s));
	return b;
}

static void input_check(struct vhu_session *s, void *tok, uint32_t len, int timeout_ms)
{
	(void)s;
	(void)tok;
	(void)timeout_ms;
	assert_int_equal(len, 0);
}

static uint32_t input_post_at(struct vhu_session *s, uint64_t gpa, uint32_t len)
{
	struct vring_desc d = { .addr = gpa, .len = len };

	assert_true(vhu_vq_add_raw(pq(s), &d, 1, NULL) >= 0);
	kick(pq(s));
	return 0;
}

/*
 * console (-b pty): the requests are driver->device control messages on
 * the control transmit queue (q3): DEVICE_READY, used at once with length
 * 0 (virtio spec 5.3.6.2).  The cut range is the message itself.
 */
static void *console_post(struct vhu_session *s)
{
	uint8_t *b = vhu_mem_alloc(s->m, 8, 8);
	struct vhu_sg out = { vhu_mem_gpa(s->m, b), 8 };
	uint16_t one = htole16(1);

	assert_non_null(b);
	memset(b, 0, 8);                        /* port 0, DEVICE_READY */
	memcpy(b + 6, &one, 2);
	assert_true(vhu_vq_add(pq(s), &out, 1, NULL, 0, b, false) >= 0);
	kick(pq(s));
	return b;
}

/*
 * scmi (-d fake): the requests are SCMI commands on the command queue:
 * the base protocol's PROTOCOL_VERSION, answered at once with header,
 * status SUCCESS and version 2.0: 12 bytes (virtio spec 5.17.6.1).  The
 * cut range is the response buffer of a DISCOVER_VENDOR (24 bytes).
 */
static void *scmi_post(struct vhu_session *s)
{
	uint8_t *b = vhu_mem_alloc(s->m, 4 + 16, 8);
	struct vhu_sg out = { vhu_mem_gpa(s->m, b), 4 };
	struct vhu_sg in = { vhu_mem_gpa(s->m, b + 4), 16 };
	uint32_t hdr = htole32(0x10 << 10 | 5 << 18);

	assert_non_null(b);
	memcpy(b, &hdr, 4);
	memset(b + 4, 0xee, 16);
	assert_true(vhu_vq_add(pq(s), &out, 1, &in, 1, b, false) >= 0);
	kick(pq(s));
	return b;
}

static void scmi_check(struct vhu_session *s, void *tok, uint32_t len, int timeout_ms)
{
	const uint8_t *b = tok;
	uint32_t v[3];

	(void)s;
	(void)timeout_ms;
	assert_int_equal(len, 12);
	memcpy(v, b + 4, sizeof(v));
	assert_int_equal(le32toh(v[0]), 0x10 << 10 | 5 << 18);  /* the request's header */
	assert_int_equal(le32toh(v[1]), 0);                     /* SUCCESS */
	assert_int_equal(le32toh(v[2]), 0x20000);
}

static uint32_t scmi_post_at(struct vhu_session *s, uint64_t gpa, uint32_t len)
{
	uint8_t *b = vhu_mem_alloc(s->m, 4, 8);
	uint32_t hdr = htole32(0x3 | 0x10 << 10);              /* DISCOVER_VENDOR */
	struct vring_desc d[2] = {
		{ .addr = vhu_mem_gpa(s->m, b), .len = 4 },
		{ .addr = gpa, .len = len, .flags = VRING_DESC_F_WRITE },
	};

	assert_non_null(b);
	memcpy(b, &hdr, 4);
	assert_true(vhu_vq_add_raw(pq(s), d, 2, NULL) >= 0);
	kick(pq(s));
	return 8 + 16;
}

static const struct profile profiles[] = {
	{
		.name = "rng", .binary = "vhost-device-rng", .sock = SOCK_SUFFIXED,
		.nqueues = 1, .q = 0, .dir = VRING_DESC_F_WRITE,
		.max_queue_size = 1024, .config_size = 0,
		.post = rng_post, .check = rng_check, .post_at = rng_post_at,
	},
	{
		.name = "template", .binary = "vhost-device-template", .sock = SOCK_EXACT,
		.nqueues = 1, .q = 0, .dir = VRING_DESC_F_WRITE,
		.max_queue_size = 1024, .config_size = 8,
		.post = template_post, .check = template_check, .post_at = template_post_at,
	},
	{
		/* The same device with each queue on a thread of its own
		 * (the core's queue threads, docs/architecture.md). */
		.name = "template-threads", .binary = "vhost-device-template",
		.sock = SOCK_EXACT, .args = { "--queue-threads", NULL },
		.nqueues = 1, .q = 0, .dir = VRING_DESC_F_WRITE,
		.max_queue_size = 1024, .config_size = 8,
		.post = template_post, .check = template_check, .post_at = template_post_at,
	},
	{
		/* --queue-size below the device's own maximum: the limit
		 * of this instance is the one SET_VRING_NUM must enforce. */
		.name = "vsock", .binary = "vhost-device-vsock", .sock = SOCK_OPTION,
		.args = { "--socket", "{socket}", "--uds-path", "{file}", "--guest-cid", "3",
			  "--queue-size", "256", NULL },
		.nqueues = 2, .q = 1, .dir = 0,
		.max_queue_size = 256, .config_size = 8,
		.post = vsock_post, .check = vsock_check, .post_at = vsock_post_at,
	},
	{
		.name = "i2c", .binary = "vhost-device-i2c", .sock = SOCK_SUFFIXED,
		.args = { "-l", "sim:80", NULL },
		.nqueues = 1, .q = 0, .dir = VRING_DESC_F_WRITE,
		.max_queue_size = 1024, .config_size = 0,
		.post = i2c_post, .check = i2c_check, .post_at = i2c_post_at,
	},
	{
		.name = "spi", .binary = "vhost-device-spi", .sock = SOCK_SUFFIXED,
		.args = { "-l", "loopback", NULL },
		.nqueues = 1, .q = 0, .dir = VRING_DESC_F_WRITE,
		.max_queue_size = 1024, .config_size = 32,
		.post = spi_post, .check = spi_check, .post_at = spi_post_at,
	},
	{
		.name = "can", .binary = "tests/integration/test-can-fakeif",
		.sock = SOCK_SUFFIXED, .args = { "-d", "fakecan0", NULL },
		.nqueues = 1, .q = 0, .dir = 0,
		.max_queue_size = 1024, .config_size = 2,
		.post = can_post, .check = can_check, .post_at = can_post_at,
	},
	{
		.name = "scsi", .binary = "vhost-device-scsi", .sock = SOCK_OPTION,
		.args = { "-s", "{socket}", "{file}", NULL }, .file_size = 1 << 20,
		.nqueues = 3, .q = 2, .dir = VRING_DESC_F_WRITE,
		.max_queue_size = 1024, .config_size = 0,
		.post = scsi_post, .check = scsi_check, .post_at = scsi_post_at,
	},
	{
		/* Two request queues, each on a queue thread. */
		.name = "scsi-threads", .binary = "vhost-device-scsi", .sock = SOCK_OPTION,
		.args = { "-s", "{socket}", "--num-queues", "2", "{file}", NULL },
		.file_size = 1 << 20,
		.nqueues = 4, .q = 2, .dir = VRING_DESC_F_WRITE,
		.max_queue_size = 1024, .config_size = 0,
		.post = scsi_post, .check = scsi_check, .post_at = scsi_post_at,
	},
	{
		.name = "gpio", .binary = "vhost-device-gpio", .sock = SOCK_SUFFIXED,
		.args = { "-l", "s8", NULL },
		.nqueues = 2, .q = 0, .dir = VRING_DESC_F_WRITE,
		.max_queue_size = 256, .config_size = 8,
		.post = gpio_post, .check = gpio_check, .post_at = gpio_post_at,
	},
	{
		/* The control queue: answered at once (I/O waits for time). */
		.name = "sound", .binary = "vhost-device-sound", .sock = SOCK_OPTION,
		.args = { "--socket", "{socket}", "--backend", "null", NULL },
		.nqueues = 4, .q = 0, .dir = 0,
		.max_queue_size = 64, .config_size = 16,
		.post = snd_post, .check = snd_check, .post_at = snd_post_at,
	},
	{
		.name = "input", .binary = "vhost-device-input", .sock = SOCK_SUFFIXED,
		.args = { "-e", "builtin:keyboard", NULL },
		.nqueues = 2, .q = 1, .dir = 0,
		.max_queue_size = 1024, .config_size = 136,
		.post = input_post, .check = input_check, .post_at = input_post_at,
	},
	{
		.name = "console", .binary = "vhost-device-console", .sock = SOCK_SUFFIXED,
		.args = { "-b", "pty", "-q", "1024", NULL },
		.nqueues = 4, .q = 3, .dir = 0,
		.max_queue_size = 1024, .config_size = 12,
		.post = console_post, .check = input_check, .post_at = input_post_at,
	},
	{
		.name = "scmi", .binary = "vhost-device-scmi", .sock = SOCK_EXACT,
		.args = { "-d", "fake,name=acc", NULL },
		.nqueues = 2, .q = 0, .dir = VRING_DESC_F_WRITE,
		.max_queue_size = 1024, .config_size = 0,
		.post = scmi_post, .check = scmi_check, .post_at = scmi_post_at,
	},
};

/* One valid request on q, answered within timeout_ms: 0, else -ETIMEDOUT
 * (nothing completed; the request stays posted). */
static int serve_one(struct vhu_session *s, int timeout_ms)
{
	void *tok = P->post(s), *got = NULL;
	uint32_t len = 0;
	int r = vhu_vq_wait(pq(s), timeout_ms, 0);

	if (r == 0)
		return -ETIMEDOUT;
	assert_true(r > 0);
	assert_int_equal(vhu_vq_get_used(pq(s), &len, &got), 1);
	assert_ptr_equal(got, tok);
	P->check(s, tok, len, timeout_ms);
	return 0;
}

static void session_opts(struct vhu_session_opts *o, const char *path)
{
	it_opts(o, path);
	o->nqueues = P->nqueues;
}

/* A fresh connection gets one valid request served. */
static void assert_serves(const char *path)
{
	struct vhu_session_opts o;
	struct vhu_session *s;

	session_opts(&o, path);
	s = it_open(&o);
	assert_int_equal(serve_one(s, 30000), 0);
	vhu_session_close(s);
}

/* ---- the backend ------------------------------------------------------------ */

struct fixture {
	struct backend be;
	char sock[160];
};

static int start_profile(struct fixture *f)
{
	const char *args[16];
	char other[160];
	const char *wait[2] = { f->sock, NULL };
	unsigned n = 0;

	if (P->sock != SOCK_OPTION) {
		if (backend_start(&f->be, P->binary, P->sock == SOCK_SUFFIXED, 1, P->args) < 0)
			return -1;
		backend_socket(&f->be, P->sock == SOCK_SUFFIXED, 0, f->sock, sizeof(f->sock));
		return 0;
	}
	if (backend_init(&f->be) < 0)
		return -1;
	backend_socket(&f->be, false, 0, f->sock, sizeof(f->sock));
	backend_file(&f->be, "other", other, sizeof(other));
	if (P->file_size) {
		int fd = open(other, O_CREAT | O_RDWR | O_TRUNC, 0644);

		if (fd < 0 || ftruncate(fd, P->file_size) < 0) {
			if (fd >= 0)
				close(fd);
			return -1;
		}
		close(fd);
	}
	for (; P->args[n] && n < 15; n++)
		args[n] = !strcmp(P->args[n], "{socket}") ? f->sock
			: !strcmp(P->args[n], "{file}") ? other : P->args[n];
	args[n] = NULL;
	return backend_spawn(&f->be, P->binary, args, wait);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f || start_profile(f) < 0) {
		if (f)
			backend_stop(&f->be);
		free(f);
		return -1;
	}
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
	EXP_ACK,        /* REPLY_ACK u64 == 0 (the limit itself), goes on */
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
	uint32_t req;                   /* for EXP_[N]ACK: the reply's request */
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
static void m_num_largest(struct ctx *x) { send_state(x, VHU_SET_VRING_NUM, 0, P->max_queue_size); }
static void m_num_too_big(struct ctx *x) { send_state(x, VHU_SET_VRING_NUM, 0, 2 * P->max_queue_size); }
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

/* The lowest protocol feature bit this device does not offer. */
static void m_protocol_not_offered(struct ctx *x)
{
	uint64_t offered = 0, v = 1;

	assert_int_equal(vhu_get_u64(x->c, VHU_GET_PROTOCOL_FEATURES, &offered), 0);
	while (offered & v)
		v <<= 1;

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

/* The whole config space is answered; without one (CONFIG not offered)
 * the refusal is an empty config (QEMU's vhost-user spec,
 * VHOST_USER_GET_CONFIG). */
static void m_get_config_all(struct ctx *x)
{
	uint8_t cfg[VHU_CONFIG_MAX_SIZE];

	if (P->config_size)
		assert_int_equal(vhu_get_config(x->c, 0, P->config_size, cfg), 0);
	else
		assert_int_equal(vhu_get_config(x->c, 0, 8, cfg), -EIO);
}

/* One byte past the end of the config space: refused. */
static void m_get_config_past_end(struct ctx *x)
{
	uint8_t cfg[VHU_CONFIG_MAX_SIZE];

	assert_int_equal(vhu_get_config(x->c, 0, P->config_size + 1, cfg), -EIO);
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
	{ "SET_VRING_NUM the largest queue (accepted)", NEGOTIATED, EXP_ACK, VHU_SET_VRING_NUM, m_num_largest },
	{ "SET_VRING_NUM twice the largest queue", NEGOTIATED, EXP_NACK, VHU_SET_VRING_NUM, m_num_too_big },
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
	{ "GET_CONFIG of the whole config space", NEGOTIATED, EXP_CHECKED, 0, m_get_config_all },
	{ "GET_CONFIG one byte past the end", NEGOTIATED, EXP_CHECKED, 0, m_get_config_past_end },
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
		/* Split rings: the ring cases below are written for them
		 * (a packed ring may have any size, for one). */
		assert_int_equal(vhu_negotiate(x.c, ~VHD_BIT(VIRTIO_F_RING_PACKED),
					       VHU_FRONTEND_PROTOCOL &
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
	case EXP_ACK:
		r = vhu_recv_any(x.c, &h, &v, sizeof(v));
		if (r < 0)
			fail_msg("%s: no reply: %s", mc->name, vhu_conn_error(x.c));
		assert_int_equal(h.flags, VHU_VERSION | VHU_FLAG_REPLY);
		assert_int_equal(h.request, mc->req);
		assert_int_equal(h.size, 8);
		if (mc->expect == EXP_NACK && v == 0)
			fail_msg("%s: the backend accepted it (REPLY_ACK 0)", mc->name);
		if (mc->expect == EXP_ACK && v != 0)
			fail_msg("%s: the backend refused it (REPLY_ACK %llu)", mc->name,
				 (unsigned long long)v);
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
	assert_serves(f->sock);
}

static void test_malformed(void **state)
{
	struct fixture *f = *state;
	int before, after;

	assert_serves(f->sock);      /* lazily created state exists */
	before = probe_fds(f);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* The backend sees a cut only through MSG_CTRUNC. */
		if (cases[i].send == m_too_many_fds && !tests_ctrunc_reported()) {
			print_message("SKIP case \"%s\": recvmsg here does not report MSG_CTRUNC for fds that did not fit (QEMU user-mode emulation?); it runs on the native build\n",
				      cases[i].name);
			continue;
		}
		run_case(f, &cases[i]);
	}
	after = probe_fds(f);
	/* Every fd sent with a refused message was closed. */
	assert_int_equal(after, before);
}

/* ---- reconnects ------------------------------------------------------------ */

/* One frontend that leaves at stage i % 6: right after connecting, after
 * negotiating, with memory, with requests in flight, after requests
 * served on ADD_MEM_REG memory (each one checked: none lost), or in the
 * middle of a message. */
static void one_cycle(struct fixture *f, unsigned i)
{
	struct vhu_session_opts o;
	struct vhu_session *s;
	struct vhu_conn *c;

	switch (i % 6) {
	case 5: {
		/* Gone in the middle of a message: half a header. */
		static const uint8_t half[6] = { VHU_GET_FEATURES, 0, 0, 0, 1, 0 };

		assert_int_equal(vhu_connect(f->sock, 30000, &c), 0);
		assert_int_equal(vhu_send_raw(c, half, sizeof(half), NULL, 0), 0);
		vhu_close(c);
		break;
	}
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
		session_opts(&o, f->sock);
		o.nqueues = 0;
		o.mem_split = 1u << 20;
		s = it_open(&o);
		vhu_session_close(s);
		break;
	case 3: {
		/* Requests in flight when the frontend goes away. */
		session_opts(&o, f->sock);
		s = it_open(&o);
		for (unsigned k = 0; k < 16; k++)
			P->post(s);
		vhu_session_close(s);
		break;
	}
	case 4:
		session_opts(&o, f->sock);
		o.add_mem_reg = true;
		s = it_open(&o);
		for (unsigned k = 0; k < 4; k++)
			assert_int_equal(serve_one(s, 30000), 0);
		vhu_session_close(s);
		break;
	}
}

/* 100 such frontends; the backend keeps serving and its fd count does
 * not grow. */
static void test_reconnect_cycles(void **state)
{
	struct fixture *f = *state;
	int before, after;

	assert_serves(f->sock);
	before = probe_fds(f);
	for (unsigned i = 0; i < 100; i++)
		one_cycle(f, i);
	assert_serves(f->sock);
	after = probe_fds(f);
	if (after > before)
		fail_msg("backend fds grew from %d to %d over 100 connections", before, after);
}

/* A field of /proc/PID/status ("Threads:", "RssAnon:"), or -1. */
static long proc_status(pid_t pid, const char *field)
{
	char path[64], line[256];
	long v = -1;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	fp = fopen(path, "r");
	if (!fp)
		return -1;
	while (fgets(line, sizeof(line), fp))
		if (strncmp(line, field, strlen(field)) == 0) {
			v = strtol(line + strlen(field), NULL, 10);
			break;
		}
	fclose(fp);
	return v;
}

struct soak_sample {
	int fds;
	long threads, rss_anon_kib;
};

/* As probe_fds: read while exactly one connection (ours, synced) is
 * open, so the previous one is torn down and this one's queue threads
 * (created with the connection) are counted every time. */
static void soak_sample(struct fixture *f, struct soak_sample *m)
{
	struct vhu_conn *c;

	assert_int_equal(vhu_connect(f->sock, 30000, &c), 0);
	assert_int_equal(vhu_ping(c), 0);
	m->fds = proc_fd_count(f->be.pid);
	m->threads = proc_status(f->be.pid, "Threads:");
	m->rss_anon_kib = proc_status(f->be.pid, "RssAnon:");
	vhu_close(c);
	assert_true(m->fds > 0 && m->threads > 0 && m->rss_anon_kib > 0);
}

/* Soak: VHD_SOAK_CYCLES frontends (default 1000; CI may bound it) leave
 * at every stage in turn -- mid-message, mid-handshake, with memory, with
 * requests in flight -- and others are served every request they posted.
 * After a first round (what a first connection allocates for good:
 * buffers, a worker's caches), the backend's open fds and threads must be
 * the same at the end and its private memory must not grow by more than
 * 256 KiB (allocator noise; a leak of 1 byte per cycle is not caught,
 * one of a page per cycle is).  Figures are printed. */
static void test_soak(void **state)
{
	struct fixture *f = *state;
	const char *env = getenv("VHD_SOAK_CYCLES");
	unsigned long cycles = env && *env ? strtoul(env, NULL, 10) : 1000;
	struct soak_sample first, last;
	int64_t t0;

	for (unsigned i = 0; i < 60; i++)
		one_cycle(f, i);
	soak_sample(f, &first);
	t0 = it_now_ms();
	for (unsigned long i = 0; i < cycles; i++)
		one_cycle(f, (unsigned)i);
	soak_sample(f, &last);
	print_message("soak %s: %lu cycles in %.1f s: fds %d -> %d, threads %ld -> %ld, "
		      "RssAnon %ld -> %ld KiB\n", P->name, cycles,
		      (double)(it_now_ms() - t0) / 1000.0, first.fds, last.fds, first.threads,
		      last.threads, first.rss_anon_kib, last.rss_anon_kib);
	if (last.fds != first.fds)
		fail_msg("backend fds went from %d to %d over %lu connections", first.fds,
			 last.fds, cycles);
	if (last.threads != first.threads)
		fail_msg("backend threads went from %ld to %ld over %lu connections",
			 first.threads, last.threads, cycles);
#if defined(__SANITIZE_ADDRESS__)
	/* AddressSanitizer keeps freed memory in quarantine (256 MiB by
	 * default), so RSS grows without a leak; LeakSanitizer checks the
	 * backend's leaks at its exit instead (backend_stop). */
	print_message("soak %s: memory growth not judged under AddressSanitizer\n", P->name);
#else
	/* Under an emulator (VHD_TEST_EXEC_WRAPPER: the arm64 pass) the
	 * process is the emulator, whose translated code grows on its own:
	 * fds and threads are still judged, memory only natively. */
	if (getenv("VHD_TEST_EXEC_WRAPPER") && *getenv("VHD_TEST_EXEC_WRAPPER"))
		print_message("soak %s: memory growth not judged under an emulator\n", P->name);
	else if (last.rss_anon_kib > first.rss_anon_kib + 256)
		fail_msg("backend private memory grew from %ld to %ld KiB over %lu connections",
			 first.rss_anon_kib, last.rss_anon_kib, cycles);
#endif
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
	struct vhu_hdr v0 = { .request = VHU_GET_FEATURES, .flags = 0x0 };
	unsigned main_missing = 0;
	const char *what = NULL;
	int err = 0;
	pthread_t t;

	/* The path exists from bind() on, but connecting needs listen():
	 * one served request (connect retried) proves it listens. */
	assert_serves(f->sock);
	assert_int_equal(pthread_create(&t, NULL, watch, &w), 0);
	watcher_step(&w);
	/* No assert while the watcher runs (a failure would leave it
	 * reading this stack frame): the first error ends the loop. */
	for (unsigned i = 0; i < 50 && !err; i++) {
		struct vhu_conn *c;

		err = vhu_connect(f->sock, 0, &c);
		if (err < 0) {
			what = "connect";
			break;
		}
		if (i % 2) {
			err = vhu_ping(c);
			what = "GET_FEATURES";
		} else {
			/* Version bits 0: dropped by the backend. */
			err = vhu_send_raw(c, &v0, sizeof(v0), NULL, 0);
			what = "sending a bad header";
		}
		vhu_close(c);
		main_missing += !is_socket(f->sock);
		watcher_step(&w);
	}
	w.stop = true;
	pthread_join(t, NULL);
	if (err < 0)
		fail_msg("%s on %s: %s", what, f->sock, strerror(-err));
	assert_serves(f->sock);
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
	struct pollfd p = { .fd = vhu_vq_err_fd(pq(s)), .events = POLLIN };
	struct vhu_vq_opts vo = { .num = 16, .err_fd = true };
	struct vhu_vq *q2;
	uint16_t base = 0;

	/* The error eventfd is the event; the backend signals it as it
	 * gives up on the ring, and the ping after it is answered by the
	 * same loop: a completion of the bad request would be there by now
	 * (no "nothing within N ms"). */
	assert_int_equal(poll(&p, 1, 30000), 1);
	assert_int_equal(vhu_ping(s->c), 0);
	assert_int_equal(vhu_vq_wait(pq(s), 0, 0), 0);
	/* A kick the backend ignores leaves no trace to wait for: this one
	 * stays a short window (it cannot fail with a correct backend, only
	 * miss a late completion of a broken one). */
	assert_int_equal(serve_one(s, 300), -ETIMEDOUT);
	assert_true(backend_alive(&f->be));
	assert_int_equal(vhu_vq_stop(pq(s), &base), 0);
	assert_int_equal(base, bad_head_idx);

	assert_int_equal(vhu_vq_create(s->c, s->m, P->q, &vo, &q2), 0);
	assert_int_equal(vhu_vq_start(q2), 0);
	vhu_vq_destroy(pq(s));
	s->vq[P->q] = q2;
	assert_int_equal(serve_one(s, 30000), 0);
	vhu_session_close(s);
	assert_serves(f->sock);
}

static struct vhu_session *good_session(struct fixture *f)
{
	struct vhu_session_opts o;
	struct vhu_session *s;

	session_opts(&o, f->sock);
	o.vq.num = 16;
	s = it_open(&o);
	assert_int_equal(serve_one(s, 30000), 0);
	return s;
}

static void test_ring_desc_outside_memory(void **state)
{
	struct fixture *f = *state;
	struct vhu_session *s = good_session(f);
	struct vring_desc d = { .addr = 1ull << 40, .len = 512, .flags = P->dir };

	assert_true(vhu_vq_add_raw(pq(s), &d, 1, NULL) >= 0);
	assert_true(vhu_vq_publish_kick(pq(s), true) >= 0);
	check_broken(f, s, 1);
}

static void test_ring_desc_straddles_end(void **state)
{
	struct fixture *f = *state;
	struct vhu_session *s = good_session(f);
	struct vring_desc d = { .len = 8192, .flags = P->dir };

	d.addr = vhu_mem_size(s->m) - 4096;     /* gpa == offset: one region */
	assert_true(vhu_vq_add_raw(pq(s), &d, 1, NULL) >= 0);
	assert_true(vhu_vq_publish_kick(pq(s), true) >= 0);
	check_broken(f, s, 1);
}

static void test_ring_chain_loop(void **state)
{
	struct fixture *f = *state;
	struct vhu_session *s = good_session(f);
	uint8_t *b = vhu_mem_alloc(s->m, 128, 64);
	struct vring_desc d[2] = {
		{ .addr = vhu_mem_gpa(s->m, b), .len = 64, .flags = P->dir },
		{ .addr = vhu_mem_gpa(s->m, b + 64), .len = 64, .flags = P->dir },
	};
	struct vring_desc *t = vhu_vq_desc(pq(s));
	int head = vhu_vq_add_raw(pq(s), d, 2, NULL);
	uint16_t second;

	assert_true(head >= 0);
	/* The last descriptor points back at the head. */
	second = le16toh(t[head].next);
	t[second].flags = htole16(P->dir | VRING_DESC_F_NEXT);
	t[second].next = htole16((uint16_t)head);
	assert_true(vhu_vq_publish_kick(pq(s), true) >= 0);
	check_broken(f, s, 1);
}

static void test_ring_zero_length(void **state)
{
	struct fixture *f = *state;
	struct vhu_session *s = good_session(f);
	uint8_t *b = vhu_mem_alloc(s->m, 64, 64);
	struct vring_desc d = { .addr = vhu_mem_gpa(s->m, b), .len = 0, .flags = P->dir };

	assert_true(vhu_vq_add_raw(pq(s), &d, 1, NULL) >= 0);
	assert_true(vhu_vq_publish_kick(pq(s), true) >= 0);
	check_broken(f, s, 1);
}

/* avail->idx moved by more than the queue size. */
static void test_ring_avail_jump(void **state)
{
	struct fixture *f = *state;
	struct vhu_session *s = good_session(f);
	uint64_t one = 1;

	__atomic_store_n(&vhu_vq_avail(pq(s))->idx, htole16(1 + 16 + 1), __ATOMIC_RELEASE);
	assert_int_equal(write(vhu_vq_kick_fd(pq(s)), &one, sizeof(one)), sizeof(one));
	check_broken(f, s, 1);
}

/* A head index >= queue size in the avail ring. */
static void test_ring_head_out_of_range(void **state)
{
	struct fixture *f = *state;
	struct vhu_session *s = good_session(f);
	struct vring_avail *a = vhu_vq_avail(pq(s));
	uint64_t one = 1;

	a->ring[1 % 16] = htole16(16);
	__atomic_store_n(&a->idx, htole16(2), __ATOMIC_RELEASE);
	assert_int_equal(write(vhu_vq_kick_fd(pq(s)), &one, sizeof(one)), sizeof(one));
	check_broken(f, s, 1);
}

/* ---- guest memory that shrinks under the backend ------------------------------ */

/* The frontend truncates its memfd after SET_MEM_TABLE and posts a request
 * whose data lies in the part that is gone.  Without the truncation guard
 * the backend dies of SIGBUS; with it the request completes (the device
 * reads or writes a zero page, post_at says what it reports), the
 * connection and other frontends keep being served, and the loss is
 * logged when the region is unmapped. */
static void test_memory_file_shrunk(void **state)
{
	struct fixture *f = *state;
	struct vhu_session *s = good_session(f);
	size_t size = vhu_mem_size(s->m);
	uint32_t want, len = 0;
	void *tok;

	/* Rings and earlier buffers sit at the start; cut the last 64 KiB. */
	assert_int_equal(ftruncate(vhu_mem_fd(s->m), (off_t)(size - 65536)), 0);
	want = P->post_at(s, size - 4096, 4096);        /* gpa == offset: one region */
	assert_int_equal(vhu_vq_wait(pq(s), 30000, 0), 1);
	assert_int_equal(vhu_vq_get_used(pq(s), &len, &tok), 1);
	assert_int_equal(len, want);
	assert_true(backend_alive(&f->be));
	/* The same connection still serves memory that is there. */
	assert_int_equal(serve_one(s, 30000), 0);
	vhu_session_close(s);
	assert_serves(f->sock);
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
	struct vhu_vq *q = pq(s);
	static char junk[4096];
	int p[2], fl;

	assert_int_equal(pipe(p), 0);
	fl = fcntl(p[1], F_GETFL);
	assert_int_equal(fcntl(p[1], F_SETFL, fl | O_NONBLOCK), 0);
	while (write(p[1], junk, sizeof(junk)) > 0)
		;
	assert_int_equal(errno, EAGAIN);
	assert_int_equal(fcntl(p[1], F_SETFL, fl), 0);  /* hand over a blocking fd */
	assert_int_equal(vhu_set_vring_file(s->c, VHU_SET_VRING_CALL, P->q, p[1]), 0);
	assert_int_equal(vhu_ping(s->c), 0);
	for (int i = 0; i < 8; i++) {
		struct vring_used *u = vhu_vq_used(q);
		uint32_t len = 0;
		void *tok = NULL, *req;

		/* Interrupt wanted for the next used entry (EVENT_IDX's
		 * used_event sits after the avail ring; without EVENT_IDX
		 * the flag decides). */
		vhu_vq_avail(q)->ring[vhu_vq_num(q)] = u->idx;
		__atomic_store_n(&vhu_vq_avail(q)->flags, 0, __ATOMIC_RELEASE);
		req = P->post(s);
		assert_true(wait_used(q, 30000));
		assert_int_equal(vhu_vq_get_used(q, &len, &tok), 1);
		assert_ptr_equal(tok, req);
		P->check(s, tok, len, 30000);
		assert_int_equal(vhu_ping(s->c), 0);
	}
	close(p[0]);
	close(p[1]);
	vhu_session_close(s);
	assert_serves(f->sock);
	assert_true(backend_alive(&f->be));
}

static int run_profile(const struct profile *p)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reconnect_cycles, setup, teardown),
		cmocka_unit_test_setup_teardown(test_soak, setup, teardown),
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
	char group[64];

	P = p;
	snprintf(group, sizeof(group), "integration: hostile frontends, %s", p->name);
	return _cmocka_run_group_tests(group, tests, sizeof(tests) / sizeof(tests[0]),
				       NULL, NULL);
}

/* test-robust [PROFILE]: one profile by name, or all of them. */
int main(int argc, char **argv)
{
	const size_t n = sizeof(profiles) / sizeof(profiles[0]);
	int failed = 0;

	if (argc > 2) {
		fprintf(stderr, "usage: %s [PROFILE]\n", argv[0]);
		return 2;
	}
	for (size_t i = 0; i < n; i++) {
		if (argc == 2 && strcmp(argv[1], profiles[i].name))
			continue;
		if (argc == 1) {
			/* All profiles: a device this build lacks (configure left
			 * it out for want of its library, as the arm64 pass's
			 * sysroot does) is named and skipped, not failed.  A
			 * profile asked for by name must run. */
			const char *b = getenv("VHD_BUILDDIR");
			char bin[512];

			snprintf(bin, sizeof(bin), "%s/%s", b ? b : VHD_BUILDDIR,
				 profiles[i].binary);
			if (access(bin, X_OK) != 0) {
				printf("test-robust: profile %s skipped: %s is not built\n",
				       profiles[i].name, bin);
				continue;
			}
		}
		failed += run_profile(&profiles[i]) != 0;
		if (argc == 2)
			return failed;
	}
	if (argc == 2) {
		fprintf(stderr, "%s: no profile '%s' (profiles:", argv[0], argv[1]);
		for (size_t i = 0; i < n; i++)
			fprintf(stderr, " %s", profiles[i].name);
		fprintf(stderr, ")\n");
		return 2;
	}
	return failed;
}
