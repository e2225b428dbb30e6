/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Guest helper of tests/vm/scsi-pci.test (static: the guest has no libc):
 * Linux AIO with O_DIRECT at queue depth 32 on a block device, with
 * verification -- fio's "--ioengine=libaio --iodepth=32 --verify" in 150
 * lines (Debian's fio drags 80 MB of libraries into the initramfs).
 *
 *   scsi-aio DEV OFFSET_MIB SIZE_MIB
 *
 * Writes every 4 KiB block of the range once, in a shuffled order, 32 in
 * flight, each block stamped with its offset and a checksum; then reads
 * them all back the same way and checks each.  Prints "scsi-aio: ok ..."
 * and exits 0, or says what differed and exits 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define BS 4096
#define DEPTH 32

static void stamp(uint8_t *b, uint64_t off)
{
	uint64_t x = off * 0x9e3779b97f4a7c15ull + 1;

	for (unsigned i = 0; i < BS; i += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(b + i, &x, 8);
	}
	memcpy(b, &off, 8);
}

static int run(int fd, aio_context_t ctx, uint64_t base, uint32_t *order, uint32_t n,
	       bool write, uint8_t *bufs)
{
	struct iocb cb[DEPTH], *cbp[1];
	struct io_event ev[DEPTH];
	uint32_t next = 0, done = 0, inflight = 0;
	int free_slots[DEPTH], nfree = DEPTH;
	uint8_t want[BS];

	for (int i = 0; i < DEPTH; i++)
		free_slots[i] = i;
	while (done < n) {
		while (inflight < DEPTH && next < n) {
			int s = free_slots[--nfree];
			uint64_t off = base + (uint64_t)order[next++] * BS;

			memset(&cb[s], 0, sizeof(cb[s]));
			cb[s].aio_fildes = (uint32_t)fd;
			cb[s].aio_lio_opcode = write ? IOCB_CMD_PWRITE : IOCB_CMD_PREAD;
			cb[s].aio_buf = (uint64_t)(uintptr_t)(bufs + (size_t)s * BS);
			cb[s].aio_nbytes = BS;
			cb[s].aio_offset = (int64_t)off;
			cb[s].aio_data = (uint64_t)s;
			if (write)
				stamp(bufs + (size_t)s * BS, off);
			cbp[0] = &cb[s];
			if (syscall(SYS_io_submit, ctx, 1, cbp) != 1) {
				perror("scsi-aio: io_submit");
				return -1;
			}
			inflight++;
		}
		int got = (int)syscall(SYS_io_getevents, ctx, 1, DEPTH, ev, NULL);

		if (got < 0) {
			if (errno == EINTR)
				continue;
			perror("scsi-aio: io_getevents");
			return -1;
		}
		for (int i = 0; i < got; i++) {
			int s = (int)ev[i].data;

			if (ev[i].res != BS) {
				fprintf(stderr, "scsi-aio: %s at %lld: result %lld\n",
					write ? "write" : "read", (long long)cb[s].aio_offset,
					(long long)ev[i].res);
				return -1;
			}
			if (!write) {
				stamp(want, (uint64_t)cb[s].aio_offset);
				if (memcmp(want, bufs + (size_t)s * BS, BS)) {
					fprintf(stderr, "scsi-aio: verify failed at %lld\n",
						(long long)cb[s].aio_offset);
					return -1;
				}
			}
			free_slots[nfree++] = s;
			inflight--;
			done++;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	aio_context_t ctx = 0;
	uint64_t base;
	uint32_t n, *order;
	uint8_t *bufs;
	int fd;

	if (argc != 4) {
		fprintf(stderr, "usage: scsi-aio DEV OFFSET_MIB SIZE_MIB\n");
		return 2;
	}
	base = strtoull(argv[2], NULL, 10) << 20;
	n = (uint32_t)((strtoull(argv[3], NULL, 10) << 20) / BS);
	fd = open(argv[1], O_RDWR | O_DIRECT);
	if (fd < 0 || n == 0) {
		perror("scsi-aio: open");
		return 1;
	}
	order = calloc(n, sizeof(*order));
	if (!order || posix_memalign((void **)&bufs, BS, (size_t)DEPTH * BS))
		return 1;
	for (uint32_t i = 0; i < n; i++)
		order[i] = i;
	srand((unsigned)time(NULL));
	for (uint32_t i = n - 1; i > 0; i--) {
		uint32_t j = (uint32_t)rand() % (i + 1), t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	if (syscall(SYS_io_setup, DEPTH, &ctx) < 0) {
		perror("scsi-aio: io_setup");
		return 1;
	}
	if (run(fd, ctx, base, order, n, true, bufs) < 0 ||
	    run(fd, ctx, base, order, n, false, bufs) < 0)
		return 1;
	printf("scsi-aio: ok %u blocks of %u bytes written and verified at depth %u\n", n, BS,
	       DEPTH);
	return 0;
}
