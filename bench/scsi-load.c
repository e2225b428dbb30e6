/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Load generator of bench/bench-scsi.sh: the same I/O pattern either
 * through vhost-device-scsi (libvhu-frontend's virtio-scsi driver,
 * tools/vhu-scsi.h, playing the guest) or straight on the image with
 * io_uring (the limit the device is measured against).
 *
 *   scsi-load vhost SOCKET SIZE MODE BS QD SECONDS [SPIN_US]
 *   scsi-load raw   IMAGE  SIZE MODE BS QD SECONDS
 *
 * MODE: randread (BS-aligned random offsets), seqread, seqwrite
 * (sequential, wrapping at SIZE).  SPIN_US (vhost side, default 0): the
 * guest spins on its used ring that long before it sleeps on the call
 * eventfd, as a polling driver.  QD requests are kept in flight for
 * SECONDS.  Prints "bytes B seconds S ios N".  Data is not checked (the
 * tests do that); the vhost side leaves it in guest memory, as a guest
 * would, and the raw side in its buffers.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vhu-scsi.h"

enum mode { RANDREAD, SEQREAD, SEQWRITE };

struct gen {
	enum mode mode;
	uint64_t size, next;
	uint32_t bs;
	uint64_t rng;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t next_off(struct gen *g)
{
	uint64_t off;

	if (g->mode == RANDREAD) {
		g->rng ^= g->rng << 13;
		g->rng ^= g->rng >> 7;
		g->rng ^= g->rng << 17;
		return (g->rng % (g->size / g->bs)) * g->bs;
	}
	off = g->next;
	g->next = off + g->bs >= g->size ? 0 : off + g->bs;
	return off;
}

static void fill_cmd(struct vhu_scsi_cmd *c, const struct gen *g, uint64_t off)
{
	uint64_t lba = off / 512;
	uint32_t n = g->bs / 512;
	bool write = g->mode == SEQWRITE;

	memset(c, 0, sizeof(*c));
	vhu_scsi_lun(c->lun, 0, 0);
	c->cdb[0] = write ? 0x8a : 0x88;
	for (int i = 0; i < 8; i++)
		c->cdb[2 + i] = (uint8_t)(lba >> (56 - 8 * i));
	for (int i = 0; i < 4; i++)
		c->cdb[10 + i] = (uint8_t)(n >> (24 - 8 * i));
	if (write)
		c->out_len = g->bs;     /* data left in guest memory */
	else
		c->in_len = g->bs;
}

static int run_vhost(const char *sock, struct gen *g, unsigned qd, double secs,
		     unsigned spin_us)
{
	struct vhu_scsi_opts o = { .path = sock, .connect_ms = 10000, .queue_size = 256,
				   .mem_size = (size_t)qd * g->bs + (8u << 20) };
	struct vhu_scsi_cmd *c = calloc(qd, sizeof(*c)), *done;
	struct vhu_scsi *d = NULL;
	char err[256] = "";
	uint64_t bytes = 0, ios = 0;
	double t0, t1;

	if (!c || vhu_scsi_open_opts(&o, &d, err, sizeof(err)) < 0) {
		fprintf(stderr, "scsi-load: %s\n", err[0] ? err : "out of memory");
		return 1;
	}
	vhu_scsi_set_spin(d, spin_us * 1000u);
	t0 = now_s();
	for (unsigned i = 0; i < qd; i++) {
		fill_cmd(&c[i], g, next_off(g));
		if (vhu_scsi_add(d, &c[i]) < 0)
			return 1;
	}
	vhu_scsi_kick(d);
	for (;;) {
		int r = vhu_scsi_collect(d, &done, 10000);
		unsigned again = 0;

		/* Take every completion there is, then kick once. */
		while (r == 0) {
			if (done->response || done->status) {
				fprintf(stderr, "scsi-load: response %u status %u\n", done->response,
					done->status);
				return 1;
			}
			bytes += g->bs;
			ios++;
			fill_cmd(done, g, next_off(g));
			if (vhu_scsi_add(d, done) < 0)
				return 1;
			again++;
			r = vhu_scsi_collect(d, &done, 0);
		}
		if (r != -ETIMEDOUT) {
			fprintf(stderr, "scsi-load: collect: %s\n", strerror(-r));
			return 1;
		}
		if (!again) {
			fprintf(stderr, "scsi-load: no completion for 10 s\n");
			return 1;
		}
		t1 = now_s();
		if (t1 - t0 >= secs)
			break;
		vhu_scsi_kick(d);
	}
	printf("bytes %llu seconds %.3f ios %llu\n", (unsigned long long)bytes, t1 - t0,
	       (unsigned long long)ios);
	vhu_scsi_close(d);
	free(c);
	return 0;
}

static int run_raw(const char *path, struct gen *g, unsigned qd, double secs)
{
	struct io_uring ring;
	struct io_uring_cqe *cqe;
	uint8_t *bufs = NULL;
	uint64_t bytes = 0, ios = 0;
	double t0, t1;
	int fd = open(path, g->mode == SEQWRITE ? O_RDWR : O_RDONLY);

	if (fd < 0 || posix_memalign((void **)&bufs, 4096, (size_t)qd * g->bs) ||
	    io_uring_queue_init(qd * 2, &ring, 0) < 0) {
		perror("scsi-load raw");
		return 1;
	}
	memset(bufs, 0x5a, (size_t)qd * g->bs);
	t0 = now_s();
	for (unsigned i = 0; i < qd; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

		if (g->mode == SEQWRITE)
			io_uring_prep_write(sqe, fd, bufs + (size_t)i * g->bs, g->bs, next_off(g));
		else
			io_uring_prep_read(sqe, fd, bufs + (size_t)i * g->bs, g->bs, next_off(g));
		io_uring_sqe_set_data(sqe, (void *)(uintptr_t)i);
	}
	io_uring_submit(&ring);
	for (;;) {
		unsigned seen = 0;

		if (io_uring_wait_cqe(&ring, &cqe) < 0)
			return 1;
		do {
			unsigned i = (unsigned)(uintptr_t)io_uring_cqe_get_data(cqe);
			struct io_uring_sqe *sqe;

			if (cqe->res != (int)g->bs) {
				fprintf(stderr, "scsi-load raw: result %d\n", cqe->res);
				return 1;
			}
			io_uring_cqe_seen(&ring, cqe);
			bytes += g->bs;
			ios++;
			seen++;
			sqe = io_uring_get_sqe(&ring);
			if (g->mode == SEQWRITE)
				io_uring_prep_write(sqe, fd, bufs + (size_t)i * g->bs, g->bs, next_off(g));
			else
				io_uring_prep_read(sqe, fd, bufs + (size_t)i * g->bs, g->bs, next_off(g));
			io_uring_sqe_set_data(sqe, (void *)(uintptr_t)i);
		} while (io_uring_peek_cqe(&ring, &cqe) == 0);
		t1 = now_s();
		if (t1 - t0 >= secs)
			break;
		io_uring_submit(&ring);
	}
	printf("bytes %llu seconds %.3f ios %llu\n", (unsigned long long)bytes, t1 - t0,
	       (unsigned long long)ios);
	io_uring_queue_exit(&ring);
	close(fd);
	free(bufs);
	return 0;
}

int main(int argc, char **argv)
{
	struct gen g = { .rng = 0x9e3779b97f4a7c15ull };
	unsigned qd;
	double secs;
	unsigned spin_us = 0;

	if (argc != 8 && !(argc == 9 && !strcmp(argv[1], "vhost"))) {
		fprintf(stderr, "usage: scsi-load vhost SOCKET SIZE MODE BS QD SECONDS [SPIN_US]\n"
				"       scsi-load raw IMAGE SIZE MODE BS QD SECONDS\n");
		return 2;
	}
	g.size = strtoull(argv[3], NULL, 10);
	g.mode = !strcmp(argv[4], "randread") ? RANDREAD
		 : !strcmp(argv[4], "seqread") ? SEQREAD : SEQWRITE;
	g.bs = (uint32_t)strtoul(argv[5], NULL, 10);
	qd = (unsigned)strtoul(argv[6], NULL, 10);
	secs = strtod(argv[7], NULL);
	if (argc == 9)
		spin_us = (unsigned)strtoul(argv[8], NULL, 10);
	if (!g.bs || g.bs % 512 || g.size < g.bs || !qd || qd > 128 || spin_us > 1000000) {
		fprintf(stderr, "scsi-load: bad arguments\n");
		return 2;
	}
	return !strcmp(argv[1], "vhost") ? run_vhost(argv[2], &g, qd, secs, spin_us)
					  : run_raw(argv[2], &g, qd, secs);
}
