/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * vsock-tool: the guest half of the vsock guest tests, a static program
 * (busybox has no AF_VSOCK tool).  It talks AF_VSOCK through the guest's
 * virtio_vsock driver and checks every byte with CRC-32 (the host side,
 * Python's zlib.crc32, computes the same).
 *
 *   vsock-tool send CID PORT BYTES
 *       connect, send BYTES pseudo-random bytes, shut down sending; the
 *       host answers "<crc32 hex> <bytes>\n" of what it received, which
 *       must match what was sent.
 *   vsock-tool recv PORT
 *       listen on PORT, accept one connection, read "<bytes> <crc32 hex>\n"
 *       then the bytes until end of file; check count and CRC; answer
 *       "OK\n" (or "BAD ...\n").
 *   vsock-tool seq CID PORT SIZE...
 *       SOCK_SEQPACKET: send one message per SIZE; the host echoes each;
 *       every echo must come back as one message of the same size and
 *       bytes (no merging, no splitting).
 *   vsock-tool cid
 *       print the guest's CID (IOCTL_VM_SOCKETS_GET_LOCAL_CID on /dev/vsock),
 *       which the device reports in its config space.
 *   vsock-tool refused CID PORT
 *       the connect must fail with ECONNREFUSED or ECONNRESET: the device
 *       answered with RST.  A device that never answers makes the connect
 *       fail with ETIMEDOUT, at the connect timeout, which is raised from
 *       Linux's 2 s to TIMEOUT_MS for every connect here: on a busy host
 *       a correct answer can take longer than 2 s of guest time.
 *
 * Prints one line "vsock-tool: ok ..." or "vsock-tool: FAIL ..." and exits
 * 0 or 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#define TIMEOUT_MS 60000

static uint32_t crc_table[256];

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
}

/* zlib.crc32 compatible: crc = crc32(data, crc). */
static uint32_t crc32_update(uint32_t crc, const uint8_t *p, size_t len)
{
	crc = ~crc;
	while (len--)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static uint64_t rng_state = 0x123456789abcdefull;

static void fill_random(uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		uint64_t x = rng_state;
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		rng_state = x;
		p[i] = (uint8_t)(x >> 24);
	}
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int die(const char *fmt, ...)
{
	va_list ap;

	printf("vsock-tool: FAIL ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	exit(1);
}

static int wait_io(int fd, short ev)
{
	struct pollfd p = { .fd = fd, .events = ev };
	int r;

	do {
		r = poll(&p, 1, TIMEOUT_MS);
	} while (r < 0 && errno == EINTR);
	return r;
}

static void write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t w;
		if (wait_io(fd, POLLOUT) <= 0)
			die("write: no progress for %d s", TIMEOUT_MS / 1000);
		w = write(fd, p, len);
		if (w < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			die("write: %s", strerror(errno));
		}
		p += w;
		len -= (size_t)w;
	}
}

/* Read until '\n' or EOF, one byte at a time (the line is short). */
static void read_line(int fd, char *buf, size_t cap)
{
	size_t n = 0;

	while (n + 1 < cap) {
		ssize_t r;
		if (wait_io(fd, POLLIN) <= 0)
			die("no answer line within %d s", TIMEOUT_MS / 1000);
		r = read(fd, buf + n, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			die("read: %s", strerror(errno));
		if (r == 0 || buf[n] == '\n')
			break;
		n++;
	}
	buf[n] = 0;
}

/* Only an answer ends a connect, or TIMEOUT_MS (a failure bound). */
static void set_connect_timeout(int fd)
{
	struct timeval tv = { .tv_sec = TIMEOUT_MS / 1000 };

	if (setsockopt(fd, AF_VSOCK, SO_VM_SOCKETS_CONNECT_TIMEOUT_OLD, &tv, sizeof(tv)) < 0)
		die("setting the connect timeout: %s", strerror(errno));
}

static int vsock_connect(unsigned cid, unsigned port, int type)
{
	struct sockaddr_vm sa = { .svm_family = AF_VSOCK, .svm_cid = cid, .svm_port = port };
	int fd = socket(AF_VSOCK, type, 0);

	if (fd < 0)
		die("socket(AF_VSOCK): %s", strerror(errno));
	set_connect_timeout(fd);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("connect to %u:%u: %s", cid, port, strerror(errno));
	return fd;
}

static int cmd_send(unsigned cid, unsigned port, size_t bytes)
{
	static uint8_t buf[65536];
	uint32_t crc = 0;
	size_t done = 0;
	char line[128], want[128];
	double t0 = now(), dt;
	int fd = vsock_connect(cid, port, SOCK_STREAM);

	while (done < bytes) {
		size_t n = bytes - done < sizeof(buf) ? bytes - done : sizeof(buf);
		fill_random(buf, n);
		crc = crc32_update(crc, buf, n);
		write_all(fd, buf, n);
		done += n;
	}
	if (shutdown(fd, SHUT_WR) < 0)
		die("shutdown: %s", strerror(errno));
	read_line(fd, line, sizeof(line));
	dt = now() - t0;
	snprintf(want, sizeof(want), "%08x %zu", crc, bytes);
	if (strcmp(line, want))
		die("sent %zu bytes with CRC %08x, the host says it got '%s'", bytes, crc, line);
	close(fd);
	printf("vsock-tool: ok sent %zu bytes to %u:%u, CRC %08x confirmed by the host, %.2f s\n",
	       bytes, cid, port, crc, dt);
	return 0;
}

static int cmd_recv(unsigned port)
{
	struct sockaddr_vm sa = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = port };
	struct sockaddr_vm peer;
	socklen_t plen = sizeof(peer);
	static uint8_t buf[65536];
	unsigned long want_bytes, want_crc;
	char line[128];
	size_t got = 0;
	uint32_t crc = 0;
	double t0;
	int lfd = socket(AF_VSOCK, SOCK_STREAM, 0), fd;

	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 4) < 0)
		die("listen on port %u: %s", port, strerror(errno));
	/* Tell the script we listen (it then lets the host connect). */
	printf("vsock-tool: listening on %u\n", port);
	fflush(stdout);
	if (wait_io(lfd, POLLIN) <= 0)
		die("nobody connected to port %u within %d s", port, TIMEOUT_MS / 1000);
	fd = accept(lfd, (struct sockaddr *)&peer, &plen);
	if (fd < 0)
		die("accept: %s", strerror(errno));
	if (peer.svm_cid != VMADDR_CID_HOST)
		die("peer CID %u, expected the host (2)", peer.svm_cid);
	read_line(fd, line, sizeof(line));
	if (sscanf(line, "%lu %lx", &want_bytes, &want_crc) != 2)
		die("bad header line '%s'", line);
	t0 = now();
	for (;;) {
		ssize_t r;
		if (wait_io(fd, POLLIN) <= 0)
			die("no data for %d s after %zu bytes", TIMEOUT_MS / 1000, got);
		r = read(fd, buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			die("read after %zu bytes: %s", got, strerror(errno));
		if (r == 0)
			break;
		crc = crc32_update(crc, buf, (size_t)r);
		got += (size_t)r;
	}
	if (got != want_bytes || crc != want_crc) {
		snprintf(line, sizeof(line), "BAD %zu %08x\n", got, crc);
		write_all(fd, line, strlen(line));
		die("received %zu bytes with CRC %08x from host port %u, expected %lu bytes with CRC %08lx",
		    got, crc, peer.svm_port, want_bytes, want_crc);
	}
	write_all(fd, "OK\n", 3);
	close(fd);
	close(lfd);
	printf("vsock-tool: ok received %zu bytes from host port %u, CRC %08x, %.2f s\n",
	       got, peer.svm_port, crc, now() - t0);
	return 0;
}

static int cmd_seq(unsigned cid, unsigned port, int n, char **sizes)
{
	static uint8_t out[65536], in[65536 + 16];
	int fd = vsock_connect(cid, port, SOCK_SEQPACKET);

	for (int i = 0; i < n; i++) {
		unsigned long size = strtoul(sizes[i], NULL, 10);
		ssize_t r;

		if (size > sizeof(out))
			die("message size %lu too large", size);
		fill_random(out, size);
		if (send(fd, out, size, 0) != (ssize_t)size)
			die("send of a %lu-byte message: %s", size, strerror(errno));
		if (wait_io(fd, POLLIN) <= 0)
			die("no echo of the %lu-byte message", size);
		/* MSG_TRUNC: the real length even if the buffer were short. */
		r = recv(fd, in, sizeof(in), MSG_TRUNC);
		if (r < 0)
			die("recv: %s", strerror(errno));
		if ((unsigned long)r != size)
			die("sent a %lu-byte message, the echo came back as %zd bytes", size, r);
		if (memcmp(in, out, size))
			die("the echo of the %lu-byte message differs", size);
	}
	close(fd);
	printf("vsock-tool: ok %d SEQPACKET messages echoed with their boundaries\n", n);
	return 0;
}

static int cmd_refused(unsigned cid, unsigned port)
{
	struct sockaddr_vm sa = { .svm_family = AF_VSOCK, .svm_cid = cid, .svm_port = port };
	int fd = socket(AF_VSOCK, SOCK_STREAM, 0);
	double t0 = now(), dt;
	int r, e;

	if (fd < 0)
		die("socket(AF_VSOCK): %s", strerror(errno));
	set_connect_timeout(fd);
	r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	e = errno;
	dt = now() - t0;
	if (r == 0)
		die("connect to %u:%u succeeded; expected a refusal", cid, port);
	if (e != ECONNREFUSED && e != ECONNRESET)
		die("connect to %u:%u failed with '%s' after %.2f s; expected a refusal (RST)",
		    cid, port, strerror(e), dt);
	printf("vsock-tool: ok connect to %u:%u refused (%s) in %.3f s\n", cid, port, strerror(e), dt);
	return 0;
}

static int cmd_cid(void)
{
	unsigned int cid = 0;
	int fd = open("/dev/vsock", O_RDONLY);

	if (fd < 0)
		die("/dev/vsock: %s (no vsock transport?)", strerror(errno));
	if (ioctl(fd, IOCTL_VM_SOCKETS_GET_LOCAL_CID, &cid) < 0)
		die("IOCTL_VM_SOCKETS_GET_LOCAL_CID: %s", strerror(errno));
	close(fd);
	printf("%u\n", cid);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	crc_init();
	if (argc == 5 && !strcmp(argv[1], "send"))
		return cmd_send((unsigned)atoi(argv[2]), (unsigned)atoi(argv[3]),
				(size_t)strtoul(argv[4], NULL, 10));
	if (argc == 3 && !strcmp(argv[1], "recv"))
		return cmd_recv((unsigned)atoi(argv[2]));
	if (argc >= 5 && !strcmp(argv[1], "seq"))
		return cmd_seq((unsigned)atoi(argv[2]), (unsigned)atoi(argv[3]), argc - 4, argv + 4);
	if (argc == 2 && !strcmp(argv[1], "cid"))
		return cmd_cid();
	if (argc == 4 && !strcmp(argv[1], "refused"))
		return cmd_refused((unsigned)atoi(argv[2]), (unsigned)atoi(argv[3]));
	fprintf(stderr, "usage: vsock-tool send CID PORT BYTES | recv PORT | seq CID PORT SIZE... | cid | refused CID PORT\n");
	return 2;
}
