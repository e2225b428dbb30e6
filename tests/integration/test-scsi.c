/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Integration: vhost-device-scsi (src/devices/scsi/) over a real socket,
 * driven by libvhu-frontend's virtio-scsi guest driver (tools/vhu-scsi.h).
 *
 * Backend: two raw images (LUN 0: 8 MiB, LUN 1: 1 MiB), writable; a
 * second backend with -r serves a read-only one.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backend.h"
#include "vhu-scsi.h"

#define TMO 30000  /* a failure bound only (docs/testing.md, busy machines) */
#define LUN0_SIZE (8u << 20)
#define LUN1_SIZE (1u << 20)

/* virtio 5.6.6.1 / 5.6.6.2 */
#define S_OK 0
#define S_OVERRUN 1
#define S_ABORTED 2
#define S_BAD_TARGET 3
#define S_FUNCTION_COMPLETE 0
#define S_FUNCTION_SUCCEEDED 10
#define S_INCORRECT_LUN 12
#define TMF_ABORT_TASK 0
#define TMF_ABORT_TASK_SET 1
#define TMF_QUERY_TASK 6

struct fixture {
	struct backend be;
	char img[2][160];
	struct vhu_scsi *d;
};

static int make_image(const char *path, off_t size)
{
	int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);

	if (fd < 0 || ftruncate(fd, size) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static int start(struct fixture *f, bool read_only, unsigned nreq)
{
	const char *args[10];
	struct vhu_scsi_opts o = { .path = f->be.base, .connect_ms = TMO, .queue_size = 128,
				   .mem_size = 64u << 20, .request_queues = nreq };
	const char *wait_for[2] = { f->be.base, NULL };
	unsigned n = 0;
	char err[256] = "";

	if (backend_init(&f->be) < 0)
		return -1;
	backend_file(&f->be, "lun0.img", f->img[0], sizeof(f->img[0]));
	backend_file(&f->be, "lun1.img", f->img[1], sizeof(f->img[1]));
	if (make_image(f->img[0], LUN0_SIZE) < 0 || make_image(f->img[1], LUN1_SIZE) < 0)
		return -1;
	args[n++] = "-s";
	args[n++] = f->be.base;
	if (read_only)
		args[n++] = "-r";
	if (nreq > 1) {
		args[n++] = "--num-queues";
		args[n++] = nreq == 2 ? "2" : "3";
	}
	args[n++] = f->img[0];
	args[n++] = f->img[1];
	args[n] = NULL;
	if (backend_spawn(&f->be, "vhost-device-scsi", args, wait_for) < 0)
		return -1;
	if (vhu_scsi_open_opts(&o, &f->d, err, sizeof(err)) < 0) {
		fprintf(stderr, "open: %s\n", err);
		return -1;
	}
	return 0;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f || start(f, false, 1) < 0)
		return -1;
	*state = f;
	return 0;
}

static int setup_mq(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f || start(f, false, 2) < 0)
		return -1;
	*state = f;
	return 0;
}

static int setup_ro(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f || start(f, true, 1) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	int st;

	vhu_scsi_close(f->d);
	unlink(f->img[0]);
	unlink(f->img[1]);
	st = backend_stop(&f->be);
	free(f);
	return st == 0 ? 0 : -1;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void cmd_init(struct vhu_scsi_cmd *c, unsigned lun, const uint8_t *cdb, size_t n)
{
	memset(c, 0, sizeof(*c));
	vhu_scsi_lun(c->lun, 0, lun);
	memcpy(c->cdb, cdb, n);
}

/* READ(16)/WRITE(16) of n blocks at lba. */
static void rw16(struct vhu_scsi_cmd *c, unsigned lun, bool write, uint64_t lba, uint32_t n,
		 void *buf, bool fua)
{
	uint8_t cdb[16] = { write ? 0x8a : 0x88, fua ? 0x08 : 0 };

	for (int i = 0; i < 8; i++)
		cdb[2 + i] = (uint8_t)(lba >> (56 - 8 * i));
	put32(cdb + 10, n);
	cmd_init(c, lun, cdb, sizeof(cdb));
	if (write) {
		c->out = buf;
		c->out_len = n * 512;
	} else {
		c->in = buf;
		c->in_len = n * 512;
	}
}

static void run(struct fixture *f, struct vhu_scsi_cmd *c)
{
	assert_int_equal(vhu_scsi_run(f->d, c, TMO), 0);
}

static void check_good(const struct vhu_scsi_cmd *c)
{
	assert_int_equal(c->response, S_OK);
	assert_int_equal(c->status, 0);
}

static void check_sense(const struct vhu_scsi_cmd *c, uint8_t key, uint16_t asc)
{
	assert_int_equal(c->response, S_OK);
	assert_int_equal(c->status, 2);
	assert_true(c->sense_len >= 14);
	assert_int_equal(c->sense[0] & 0x7f, 0x70);
	assert_int_equal(c->sense[2] & 0x0f, key);
	assert_int_equal(c->sense[12] << 8 | c->sense[13], asc);
}

static void fill(uint8_t *b, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)((i * 131 + seed * 7 + (i >> 9)) ^ seed);
}

static void test_identity(void **state)
{
	struct fixture *f = *state;
	struct vhu_scsi_cmd c;
	uint8_t data[256];
	const uint8_t inq[6] = { 0x12, 0, 0, 0, 96, 0 };
	const uint8_t vpd80[6] = { 0x12, 1, 0x80, 0, 255, 0 };
	const uint8_t rc16[16] = { 0x9e, 0x10, [13] = 32 };
	const uint8_t luns[12] = { 0xa0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0 };
	const uint8_t tur[6] = { 0 };

	cmd_init(&c, 0, inq, sizeof(inq));
	c.in = data;
	c.in_len = 96;
	run(f, &c);
	check_good(&c);
	assert_int_equal(c.resid, 0);
	assert_int_equal(c.used_len, 108 + 96);
	assert_int_equal(data[0], 0);
	assert_memory_equal(data + 8, "VHD-C   ", 8);

	cmd_init(&c, 1, vpd80, sizeof(vpd80));
	c.in = data;
	c.in_len = 255;
	run(f, &c);
	check_good(&c);
	assert_int_equal(data[3], 8);
	assert_memory_equal(data + 4, "lun1.img", 8);
	assert_int_equal(c.resid, 255 - 12);

	cmd_init(&c, 0, rc16, sizeof(rc16));
	c.in = data;
	c.in_len = 32;
	run(f, &c);
	check_good(&c);
	assert_int_equal(get32(data + 4), LUN0_SIZE / 512 - 1);
	assert_int_equal(get32(data + 8), 512);

	cmd_init(&c, 0, luns, sizeof(luns));
	c.in = data;
	c.in_len = 256;
	run(f, &c);
	check_good(&c);
	assert_int_equal(get32(data), 16);

	/* LUN 5: absent; target 1: not there at all. */
	cmd_init(&c, 5, tur, sizeof(tur));
	run(f, &c);
	check_sense(&c, 5, 0x2500);
	cmd_init(&c, 0, tur, sizeof(tur));
	vhu_scsi_lun(c.lun, 1, 0);
	run(f, &c);
	assert_int_equal(c.response, S_BAD_TARGET);
	/* The REPORT LUNS well-known LUN, as Linux addresses it. */
	cmd_init(&c, 0, luns, sizeof(luns));
	c.lun[2] = 0xc1;
	c.lun[3] = 0x01;
	c.in = data;
	c.in_len = 256;
	run(f, &c);
	check_good(&c);
	assert_int_equal(get32(data), 16);
}

static void test_pattern(void **state)
{
	struct fixture *f = *state;
	const uint32_t chunk = 128;         /* blocks: 64 KiB */
	uint8_t *w = malloc(LUN0_SIZE), *r = malloc(LUN0_SIZE), *file = malloc(LUN0_SIZE);
	struct vhu_scsi_cmd c;
	int fd;

	assert_non_null(w);
	assert_non_null(r);
	assert_non_null(file);
	fill(w, LUN0_SIZE, 1);
	for (uint32_t b = 0; b < LUN0_SIZE / 512; b += chunk) {
		rw16(&c, 0, true, b, chunk, w + b * 512, b == 0);
		run(f, &c);
		check_good(&c);
	}
	for (uint32_t b = 0; b < LUN0_SIZE / 512; b += chunk) {
		rw16(&c, 0, false, b, chunk, r + b * 512, false);
		run(f, &c);
		check_good(&c);
		assert_int_equal(c.used_len, 108 + chunk * 512);
	}
	assert_memory_equal(w, r, LUN0_SIZE);
	/* And on the medium. */
	fd = open(f->img[0], O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, file, LUN0_SIZE, 0), LUN0_SIZE);
	close(fd);
	assert_memory_equal(w, file, LUN0_SIZE);
	free(w);
	free(r);
	free(file);
}

/* 32 commands in flight at once, reads and writes of distinct ranges. */
static void test_in_flight(void **state)
{
	struct fixture *f = *state;
	struct vhu_scsi_cmd c[32], *done;
	uint8_t *buf = malloc(32 * 65536), *chk = malloc(65536);
	uint8_t zero[512] = { 0 };
	const uint8_t sync[10] = { 0x35 };
	struct vhu_scsi_cmd s;

	assert_non_null(buf);
	for (unsigned i = 0; i < 32; i++) {
		fill(buf + i * 65536, 65536, 100 + i);
		rw16(&c[i], 0, true, i * 128, 128, buf + i * 65536, false);
		c[i].tag = i;
		assert_int_equal(vhu_scsi_add(f->d, &c[i]), 0);
	}
	assert_int_equal(vhu_scsi_kick(f->d), 0);
	for (unsigned i = 0; i < 32; i++) {
		assert_int_equal(vhu_scsi_collect(f->d, &done, TMO), 0);
		check_good(done);
	}
	cmd_init(&s, 0, sync, sizeof(sync));
	run(f, &s);
	check_good(&s);
	/* Now read them all back at once (and one past the end of LUN 1). */
	memset(buf, 0, 32 * 65536);
	for (unsigned i = 0; i < 31; i++) {
		rw16(&c[i], 0, false, i * 128, 128, buf + i * 65536, false);
		assert_int_equal(vhu_scsi_add(f->d, &c[i]), 0);
	}
	rw16(&c[31], 1, false, LUN1_SIZE / 512, 1, zero, false);
	assert_int_equal(vhu_scsi_add(f->d, &c[31]), 0);
	assert_int_equal(vhu_scsi_kick(f->d), 0);
	for (unsigned i = 0; i < 32; i++)
		assert_int_equal(vhu_scsi_collect(f->d, &done, TMO), 0);
	for (unsigned i = 0; i < 31; i++) {
		check_good(&c[i]);
		fill(chk, 65536, 100 + i);
		assert_memory_equal(buf + i * 65536, chk, 65536);
	}
	check_sense(&c[31], 5, 0x2100);
	free(buf);
	free(chk);
}

static void test_sense_paths(void **state)
{
	struct fixture *f = *state;
	struct vhu_scsi_cmd c;
	uint8_t data[2048];
	const uint8_t bogus[6] = { 0xff };
	const uint8_t rd10[10] = { 0x28, 0, 0, 0, 0, 0, 0, 0, 2, 0 };
	const uint8_t ms[6] = { 0x1a, 0, 0x08, 0, 255, 0 };

	cmd_init(&c, 0, bogus, sizeof(bogus));
	run(f, &c);
	check_sense(&c, 5, 0x2000);
	/* A data-in buffer smaller than the transfer: overrun. */
	cmd_init(&c, 0, rd10, sizeof(rd10));
	c.in = data;
	c.in_len = 512;
	run(f, &c);
	assert_int_equal(c.response, S_OVERRUN);
	/* Larger: the residual says what was not transferred. */
	c.in_len = 2048;
	c.done = false;
	run(f, &c);
	check_good(&c);
	assert_int_equal(c.resid, 1024);
	/* Data the wrong way. */
	cmd_init(&c, 0, rd10, sizeof(rd10));
	c.out = data;
	c.out_len = 1024;
	run(f, &c);
	assert_int_equal(c.response, S_OVERRUN);
	/* MODE SENSE: writable, write cache on. */
	cmd_init(&c, 0, ms, sizeof(ms));
	c.in = data;
	c.in_len = 255;
	run(f, &c);
	check_good(&c);
	assert_int_equal(data[2] & 0x80, 0);
	assert_int_equal(data[4 + 8 + 2] & 0x04, 0x04);
	assert_int_equal(c.resid, 255 - (4 + 8 + 20));
}

static void test_read_only(void **state)
{
	struct fixture *f = *state;
	struct vhu_scsi_cmd c;
	uint8_t data[4096];
	const uint8_t ms[6] = { 0x1a, 0, 0x3f, 0, 255, 0 };
	const uint8_t unmap[10] = { 0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0 };

	memset(data, 0x5a, sizeof(data));
	rw16(&c, 0, true, 0, 8, data, false);
	run(f, &c);
	check_sense(&c, 7, 0x2700);
	rw16(&c, 1, false, 0, 8, data, false);
	run(f, &c);
	check_good(&c);
	cmd_init(&c, 0, ms, sizeof(ms));
	c.in = data;
	c.in_len = 255;
	run(f, &c);
	check_good(&c);
	assert_int_equal(data[2] & 0x80, 0x80);
	cmd_init(&c, 0, unmap, sizeof(unmap));
	c.out = data;
	c.out_len = 24;
	run(f, &c);
	check_sense(&c, 7, 0x2700);
}

static long blocks_of(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return (long)st.st_blocks;
}

static void test_unmap_hole(void **state)
{
	struct fixture *f = *state;
	struct vhu_scsi_cmd c;
	uint8_t *w = malloc(1u << 20), *r = malloc(1u << 20), param[24] = { 0, 22, 0, 16 };
	const uint8_t unmap[10] = { 0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0 };
	long before, after;
	int fd;

	assert_non_null(w);
	fill(w, 1u << 20, 7);
	rw16(&c, 0, true, 2048, 2048, w, true);          /* [1 MiB, 2 MiB) */
	run(f, &c);
	check_good(&c);
	before = blocks_of(f->img[0]);
	assert_true(before >= 2048);
	put32(param + 8 + 4, 2048);                       /* lba 2048 */
	put32(param + 8 + 8, 2048);                       /* 2048 blocks */
	cmd_init(&c, 0, unmap, sizeof(unmap));
	c.out = param;
	c.out_len = sizeof(param);
	run(f, &c);
	check_good(&c);
	after = blocks_of(f->img[0]);
	assert_true(after <= before - 2048);
	fd = open(f->img[0], O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(lseek(fd, 1 << 20, SEEK_HOLE), 1 << 20);
	close(fd);
	rw16(&c, 0, false, 2048, 2048, r, false);
	run(f, &c);
	check_good(&c);
	memset(w, 0, 1u << 20);
	assert_memory_equal(w, r, 1u << 20);
	free(w);
	free(r);
}

static void test_write_same_verify(void **state)
{
	struct fixture *f = *state;
	struct vhu_scsi_cmd c;
	uint8_t blk[512], data[8 * 512];
	uint8_t ws[16] = { 0x93, 0, [9] = 16, [13] = 8 };  /* lba 16, 8 blocks */
	uint8_t vf[10] = { 0x2f, 0x02, 0, 0, 0, 16, 0, 0, 8, 0 };
	uint8_t msel[24];
	const uint8_t ms[6] = { 0x1a, 0x08, 0x08, 0, 24, 0 };

	fill(blk, sizeof(blk), 3);
	cmd_init(&c, 0, ws, sizeof(ws));
	c.out = blk;
	c.out_len = 512;
	run(f, &c);
	check_good(&c);
	for (unsigned i = 0; i < 8; i++)
		memcpy(data + i * 512, blk, 512);
	cmd_init(&c, 0, vf, sizeof(vf));
	c.out = data;
	c.out_len = sizeof(data);
	run(f, &c);
	check_good(&c);
	data[1000] ^= 1;
	c.done = false;
	run(f, &c);
	check_sense(&c, 0xe, 0x1d00);

	/* MODE SELECT: write cache off, as sd's cache_type does. */
	cmd_init(&c, 0, ms, sizeof(ms));
	c.in = msel;
	c.in_len = sizeof(msel);
	run(f, &c);
	check_good(&c);
	msel[0] = msel[2] = 0;
	msel[4 + 2] &= (uint8_t)~0x04;
	{
		uint8_t sel[6] = { 0x15, 0x10, 0, 0, sizeof(msel), 0 };

		cmd_init(&c, 0, sel, sizeof(sel));
		c.out = msel;
		c.out_len = sizeof(msel);
		run(f, &c);
		check_good(&c);
	}
	cmd_init(&c, 0, ms, sizeof(ms));
	c.in = msel;
	c.in_len = sizeof(msel);
	run(f, &c);
	check_good(&c);
	assert_int_equal(msel[4 + 2] & 0x04, 0);
}

/* ABORT TASK SET while commands are in flight: the TMF completes after
 * every command it covers (virtio 5.6.6.2), each OK or ABORTED. */
static void test_tmf(void **state)
{
	struct fixture *f = *state;
	struct vhu_scsi_cmd c[16], *done;
	uint8_t *buf = calloc(16, 1u << 19), lun[8], resp = 0xff;
	unsigned collected = 0;
	uint32_t actual = 99;

	assert_non_null(buf);
	vhu_scsi_lun(lun, 0, 0);
	for (unsigned i = 0; i < 16; i++) {
		rw16(&c[i], 0, true, (i % 8) * 1024, 1024, buf + i * (1u << 19), true);
		c[i].tag = 1000 + i;
		assert_int_equal(vhu_scsi_add(f->d, &c[i]), 0);
	}
	assert_int_equal(vhu_scsi_kick(f->d), 0);
	assert_int_equal(vhu_scsi_tmf_post(f->d, TMF_ABORT_TASK_SET, lun, 0), 0);
	assert_int_equal(vhu_scsi_tmf_wait(f->d, &resp, TMO), 0);
	assert_int_equal(resp, S_FUNCTION_COMPLETE);
	/* Every command popped before the TMF is complete already: what is
	 * left is what the device had not yet taken, and completes too. */
	while (collected < 16) {
		assert_int_equal(vhu_scsi_collect(f->d, &done, TMO), 0);
		assert_true(done->response == S_OK || done->response == S_ABORTED);
		collected++;
	}
	/* Nothing in flight: QUERY TASK says so, ABORT TASK completes. */
	assert_int_equal(vhu_scsi_tmf_post(f->d, TMF_QUERY_TASK, lun, 1000), 0);
	assert_int_equal(vhu_scsi_tmf_wait(f->d, &resp, TMO), 0);
	assert_int_equal(resp, S_FUNCTION_COMPLETE);
	assert_int_equal(vhu_scsi_tmf_post(f->d, TMF_ABORT_TASK, lun, 1000), 0);
	assert_int_equal(vhu_scsi_tmf_wait(f->d, &resp, TMO), 0);
	assert_int_equal(resp, S_FUNCTION_COMPLETE);
	vhu_scsi_lun(lun, 0, 9);
	assert_int_equal(vhu_scsi_tmf_post(f->d, TMF_ABORT_TASK_SET, lun, 0), 0);
	assert_int_equal(vhu_scsi_tmf_wait(f->d, &resp, TMO), 0);
	assert_int_equal(resp, S_INCORRECT_LUN);
	vhu_scsi_lun(lun, 3, 0);
	assert_int_equal(vhu_scsi_tmf_post(f->d, TMF_ABORT_TASK_SET, lun, 0), 0);
	assert_int_equal(vhu_scsi_tmf_wait(f->d, &resp, TMO), 0);
	assert_int_equal(resp, S_BAD_TARGET);
	/* AN: no event class is supported. */
	assert_int_equal(vhu_scsi_an(f->d, 2, 0x10, &actual, &resp, TMO), 0);
	assert_int_equal(actual, 0);
	assert_int_equal(resp, S_OK);
	free(buf);
}

/* A stop (GET_VRING_BASE) with commands in flight: every popped command
 * is completed, so used entries = the base the backend reports; the
 * rest is taken after the restart.  None lost, none repeated. */
static void test_stop_in_flight(void **state)
{
	struct fixture *f = *state;
	struct vhu_session *s = vhu_scsi_session(f->d);
	struct vhu_scsi_cmd c[32], *done;
	uint8_t *buf = calloc(32, 65536);
	uint16_t base = 0;
	unsigned got = 0;

	assert_non_null(buf);
	for (unsigned i = 0; i < 32; i++) {
		rw16(&c[i], 0, i & 1, i * 128, 128, buf + i * 65536, false);
		assert_int_equal(vhu_scsi_add(f->d, &c[i]), 0);
	}
	assert_int_equal(vhu_scsi_kick(f->d), 0);
	assert_int_equal(vhu_vq_stop(s->vq[2], &base), 0);
	while (vhu_vq_has_used(s->vq[2])) {
		assert_int_equal(vhu_scsi_collect(f->d, &done, TMO), 0);
		check_good(done);
		got++;
	}
	assert_int_equal(got, base);
	assert_int_equal(vhu_vq_start(s->vq[2]), 0);
	assert_int_equal(vhu_vq_publish_kick(s->vq[2], true) >= 0, true);
	while (got < 32) {
		assert_int_equal(vhu_scsi_collect(f->d, &done, TMO), 0);
		check_good(done);
		got++;
	}
	for (unsigned i = 0; i < 32; i++)
		assert_true(c[i].done);
	free(buf);
}

/* --num-queues 2: both request queues on threads of their own, commands
 * in flight on both, a TMF covering both, and a stop of each with
 * commands in flight. */
static void test_two_queues(void **state)
{
	struct fixture *f = *state;
	struct vhu_session *s = vhu_scsi_session(f->d);
	struct vhu_scsi_cmd c[32], *done;
	uint8_t *buf = calloc(32, 65536), *chk = malloc(65536), lun[8], resp = 0xff;
	uint16_t base[2] = { 0, 0 };
	unsigned got = 0;

	assert_non_null(buf);
	assert_non_null(chk);
	for (unsigned i = 0; i < 32; i++) {
		fill(buf + i * 65536, 65536, 200 + i);
		rw16(&c[i], 0, true, i * 128, 128, buf + i * 65536, false);
		c[i].queue = i & 1;
		assert_int_equal(vhu_scsi_add(f->d, &c[i]), 0);
	}
	assert_int_equal(vhu_scsi_kick(f->d), 0);
	for (unsigned i = 0; i < 32; i++) {
		assert_int_equal(vhu_scsi_collect(f->d, &done, TMO), 0);
		check_good(done);
	}
	memset(buf, 0, 32 * 65536);
	for (unsigned i = 0; i < 32; i++) {
		rw16(&c[i], 0, false, i * 128, 128, buf + i * 65536, false);
		c[i].queue = (i >> 2) & 1;
		c[i].tag = 500 + i;
		assert_int_equal(vhu_scsi_add(f->d, &c[i]), 0);
	}
	assert_int_equal(vhu_scsi_kick(f->d), 0);
	vhu_scsi_lun(lun, 0, 0);
	assert_int_equal(vhu_scsi_tmf_post(f->d, TMF_ABORT_TASK_SET, lun, 0), 0);
	assert_int_equal(vhu_scsi_tmf_wait(f->d, &resp, TMO), 0);
	assert_int_equal(resp, S_FUNCTION_COMPLETE);
	for (unsigned i = 0; i < 32; i++) {
		assert_int_equal(vhu_scsi_collect(f->d, &done, TMO), 0);
		assert_true(done->response == S_OK || done->response == S_ABORTED);
		assert_int_equal(done->status, 0);
	}
	/* Aborted or not, the reads were done: the data is there. */
	for (unsigned i = 0; i < 32; i++) {
		fill(chk, 65536, 200 + i);
		assert_memory_equal(buf + i * 65536, chk, 65536);
	}
	/* Stop both request queues with commands in flight. */
	for (unsigned i = 0; i < 32; i++) {
		rw16(&c[i], 0, false, i * 128, 128, buf + i * 65536, false);
		c[i].queue = i & 1;
		assert_int_equal(vhu_scsi_add(f->d, &c[i]), 0);
	}
	assert_int_equal(vhu_scsi_kick(f->d), 0);
	assert_int_equal(vhu_vq_stop(s->vq[2], &base[0]), 0);
	assert_int_equal(vhu_vq_stop(s->vq[3], &base[1]), 0);
	while (vhu_vq_has_used(s->vq[2]) || vhu_vq_has_used(s->vq[3])) {
		assert_int_equal(vhu_scsi_collect(f->d, &done, TMO), 0);
		check_good(done);
		got++;
	}
	/* 32 chains per queue before this batch: used = popped = base - 32. */
	assert_int_equal(got, (unsigned)base[0] - 32 + (unsigned)base[1] - 32);
	assert_int_equal(vhu_vq_start(s->vq[2]), 0);
	assert_int_equal(vhu_vq_start(s->vq[3]), 0);
	assert_int_equal(vhu_scsi_kick(f->d), 0);
	assert_true(vhu_vq_publish_kick(s->vq[2], true) >= 0);
	assert_true(vhu_vq_publish_kick(s->vq[3], true) >= 0);
	while (got < 32) {
		assert_int_equal(vhu_scsi_collect(f->d, &done, TMO), 0);
		check_good(done);
		got++;
	}
	free(buf);
	free(chk);
}

/* Run the binary with args; its exit status, stderr in err. */
static int run_binary(const char *const *args, char *err, size_t errlen)
{
	char bin[512], log[] = "/tmp/vhd-scsi-err-XXXXXX";
	const char *argv[16];
	int fd = mkstemp(log), st = -1;
	unsigned n = 0;
	ssize_t got;
	pid_t pid;

	assert_true(fd >= 0);
	snprintf(bin, sizeof(bin), "%s/vhost-device-scsi", VHD_BUILDDIR);
	argv[n++] = bin;
	for (; args[n - 1] && n < 15; n++)
		argv[n] = args[n - 1];
	argv[n] = NULL;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(fd, 2);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	got = pread(fd, err, errlen - 1, 0);
	err[got > 0 ? got : 0] = 0;
	close(fd);
	unlink(log);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Images that cannot be served: exit status 1, a message naming the path
 * and the reason, and no socket. */
static void test_bad_images(void **state)
{
	struct backend be;
	char sock[160], dir[160], odd[160], empty[160], good[160], odd6k[160], err[1024];
	struct stat st;

	(void)state;
	assert_int_equal(backend_init(&be), 0);
	backend_file(&be, "s.sock", sock, sizeof(sock));
	backend_file(&be, "d", dir, sizeof(dir));
	backend_file(&be, "odd.img", odd, sizeof(odd));
	backend_file(&be, "empty.img", empty, sizeof(empty));
	backend_file(&be, "good.img", good, sizeof(good));
	backend_file(&be, "6k.img", odd6k, sizeof(odd6k));
	assert_int_equal(mkdir(dir, 0755), 0);
	assert_int_equal(make_image(odd, 1000), 0);
	assert_int_equal(make_image(empty, 0), 0);
	assert_int_equal(make_image(good, 8192), 0);
	assert_int_equal(make_image(odd6k, 6144), 0);
	{
		const char *a[] = { "-s", sock, good, "/nonexistent/x.img", NULL };

		assert_int_equal(run_binary(a, err, sizeof(err)), 1);
		assert_non_null(strstr(err, "LUN 1: '/nonexistent/x.img': No such file"));
	}
	{
		const char *a[] = { "-s", sock, dir, NULL };

		assert_int_equal(run_binary(a, err, sizeof(err)), 1);
		assert_non_null(strstr(err, "is a directory"));
	}
	{
		const char *a[] = { "-s", sock, odd, NULL };

		assert_int_equal(run_binary(a, err, sizeof(err)), 1);
		assert_non_null(strstr(err, "not a multiple of the block size (512)"));
	}
	{
		const char *a[] = { "-s", sock, "--block-size", "4096", good, odd6k, NULL };

		assert_int_equal(run_binary(a, err, sizeof(err)), 1);
		assert_non_null(strstr(err, "not a multiple of the block size (4096)"));
	}
	{
		const char *a[] = { "-s", sock, empty, NULL };

		assert_int_equal(run_binary(a, err, sizeof(err)), 1);
		assert_non_null(strstr(err, "is zero"));
	}
	{
		const char *a[] = { "-s", sock, NULL };

		assert_int_equal(run_binary(a, err, sizeof(err)), 1);
		assert_non_null(strstr(err, "no image given"));
	}
	{
		const char *a[] = { "-s", sock, "--block-size", "1024", good, NULL };

		assert_int_equal(run_binary(a, err, sizeof(err)), 1);
		assert_non_null(strstr(err, "expected 512 or 4096"));
	}
	{
		const char *a[] = { "-s", sock, "-c", "2", good, NULL };

		assert_int_equal(run_binary(a, err, sizeof(err)), 1);
		assert_non_null(strstr(err, "--socket-count must be 1"));
	}
	assert_int_equal(stat(sock, &st), -1);     /* never created */
	unlink(odd);
	unlink(empty);
	unlink(good);
	unlink(odd6k);
	rmdir(dir);
	backend_stop(&be);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_images),
		cmocka_unit_test_setup_teardown(test_identity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pattern, setup, teardown),
		cmocka_unit_test_setup_teardown(test_in_flight, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sense_paths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_only, setup_ro, teardown),
		cmocka_unit_test_setup_teardown(test_unmap_hole, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_same_verify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tmf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_in_flight, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_queues, setup_mq, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
