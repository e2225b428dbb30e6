/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Integration: vhost-device-console (src/devices/console/) driven by
 * libvhu-frontend's virtio-console guest driver (tools/vhu-console.h):
 * the multiport set-up (DEVICE_ADD, CONSOLE_PORT, PORT_NAME, PORT_OPEN),
 * bytes both ways for the network backend (a TCP client), the pty
 * backend (through its --pty-link) and the nested backend (stdin and
 * stdout a pipe pair; its Ctrl-] escape), input typed before the guest
 * opens the port, a slow guest (nothing lost), and F_SIZE: the size of
 * the nested backend's terminal (a pty here) in the config space and a
 * RESIZE when it changes, the terminal given back at exit.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "backend.h"
#include "it-util.h"
#include "vhu-console.h"

#define TMO 30000  /* a failure bound only (docs/testing.md) */

static struct vhu_console *open_con(const char *sock)
{
	struct vhu_console_opts o;
	struct vhu_console *d = NULL;
	char err[256] = "";

	vhu_console_defaults(&o, sock);
	o.connect_ms = TMO;
	if (vhu_console_open(&o, &d, err, sizeof(err)) < 0)
		fail_msg("open %s: %s", sock, err);
	return d;
}

static void expect_msg(struct vhu_console *d, uint16_t event, uint16_t value,
		       struct vhu_console_msg *m)
{
	struct vhu_console_msg local;

	if (!m)
		m = &local;
	assert_int_equal(vhu_console_recv(d, m, TMO), 1);
	if (m->event != event || m->value != value || m->id != 0)
		fail_msg("control message port %u event %u value %u, expected event %u value %u",
			 m->id, m->event, m->value, event, value);
}

/* DEVICE_READY and PORT_READY, and what the device must answer. */
static void handshake(struct vhu_console *d, bool host_open)
{
	struct vhu_console_msg m;
	uint16_t cols, rows;
	uint32_t ports;

	assert_int_equal(vhu_console_config(d, &cols, &rows, &ports), 0);
	assert_int_equal(ports, 1);
	assert_int_equal(vhu_console_send(d, 0, VHU_CON_DEVICE_READY, 1, TMO), 0);
	expect_msg(d, VHU_CON_DEVICE_ADD, 0, NULL);
	assert_int_equal(vhu_console_send(d, 0, VHU_CON_PORT_READY, 1, TMO), 0);
	expect_msg(d, VHU_CON_CONSOLE_PORT, 1, NULL);
	expect_msg(d, VHU_CON_PORT_NAME, 0, &m);
	assert_int_equal(m.extra_len, strlen("console0"));
	assert_memory_equal(m.extra, "console0", m.extra_len);
	if (host_open)
		expect_msg(d, VHU_CON_PORT_OPEN, 1, NULL);
}

/* Read exactly n bytes of port data (re-posting buffers of bsize). */
static void guest_read(struct vhu_console *d, uint8_t *buf, size_t n, uint32_t bsize,
		       unsigned depth)
{
	size_t got = 0;
	int64_t end = it_now_ms() + TMO;

	while (got < n) {
		int r;

		if (vhu_console_rx_posted(d) < depth)
			vhu_console_rx_post(d, depth - vhu_console_rx_posted(d), bsize);
		r = vhu_console_read(d, buf + got, n - got, 1000);
		if (r < 0)
			fail_msg("read: %d", r);
		got += (size_t)r;
		if (it_now_ms() > end)
			fail_msg("only %zu of %zu bytes reached the guest", got, n);
	}
}

static void fd_write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		assert_true(w > 0);
		p += w;
		n -= (size_t)w;
	}
}

static void fd_read_all(int fd, uint8_t *p, size_t n)
{
	while (n) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		ssize_t r;

		assert_int_equal(poll(&pf, 1, TMO), 1);
		r = read(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		assert_true(r > 0);
		p += r;
		n -= (size_t)r;
	}
}

static void pattern(uint8_t *b, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(i * 7 + seed + (i >> 9));
}

static int tcp_port(void)
{
	return 20000 + (int)(getpid() % 20000);
}

static int tcp_connect(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

#define BIG (256u << 10)

static void test_network(void **state)
{
	struct backend be;
	char sock[160], port[16];
	const char *args[] = { "-v", "-b", "network", "-p", port, NULL };
	static uint8_t out[BIG], in[BIG];
	struct vhu_console *d;
	int fd;

	(void)state;
	snprintf(port, sizeof(port), "%d", tcp_port());
	assert_int_equal(backend_start(&be, "vhost-device-console", true, 1, args), 0);
	backend_socket(&be, true, 0, sock, sizeof(sock));
	d = open_con(sock);
	handshake(d, false);

	/* A client connects: PORT_OPEN(1).  What it types before the guest
	 * opens the port is kept. */
	fd = tcp_connect(tcp_port());
	expect_msg(d, VHU_CON_PORT_OPEN, 1, NULL);
	fd_write_all(fd, (const uint8_t *)"early bird", 10);
	assert_int_equal(backend_wait_log(&be, "TCP client connected", TMO), 0);
	assert_int_equal(vhu_console_rx_post(d, 4, 256), 4);
	assert_int_equal(vhu_ping(vhu_console_session(d)->c), 0);
	assert_false(vhu_vq_has_used(vhu_console_session(d)->vq[0]));  /* not open yet */
	assert_int_equal(vhu_console_send(d, 0, VHU_CON_PORT_OPEN, 1, TMO), 0);
	guest_read(d, in, 10, 256, 4);
	assert_memory_equal(in, "early bird", 10);

	/* Guest -> host, 32 KiB at a time (the guest waits while the host
	 * does not read: back-pressure). */
	pattern(out, BIG, 1);
	for (size_t off = 0; off < BIG; off += 32u << 10) {
		assert_int_equal(vhu_console_write(d, out + off, 32u << 10, TMO), 0);
		fd_read_all(fd, in + off, 32u << 10);
	}
	assert_memory_equal(in, out, BIG);

	/* Host -> guest with a slow guest: 4 buffers of 64 bytes at a
	 * time, so the backend's buffer fills and the client is held back;
	 * nothing is lost, nothing reordered. */
	pattern(out, BIG, 2);
	{
		size_t sent = 0, got = 0;

		while (got < BIG) {
			struct pollfd pf = { .fd = fd, .events = POLLOUT };

			if (sent < BIG && poll(&pf, 1, 0) == 1) {
				ssize_t w = send(fd, out + sent, BIG - sent, MSG_DONTWAIT);

				if (w > 0)
					sent += (size_t)w;
			}
			if (vhu_console_rx_posted(d) < 4)
				vhu_console_rx_post(d, 4 - vhu_console_rx_posted(d), 64);
			{
				int r = vhu_console_read(d, in + got, BIG - got, 1000);

				assert_true(r >= 0);
				got += (size_t)r;
			}
		}
		assert_memory_equal(in, out, BIG);
	}

	/* The client leaves: PORT_OPEN(0). */
	close(fd);
	expect_msg(d, VHU_CON_PORT_OPEN, 0, NULL);
	vhu_console_close(d);
	assert_int_equal(backend_stop(&be), 0);
}

static void test_pty(void **state)
{
	struct backend be;
	char sock[160], link[200], link0[210];
	const char *args[] = { "-s", be.base, "-v", "-b", "pty", "--pty-link", link, NULL };
	const char *wait_for[] = { sock, link0, NULL };
	static uint8_t out[BIG], in[BIG];
	struct vhu_console *d;
	struct stat st;
	int fd;

	(void)state;
	assert_int_equal(backend_init(&be), 0);
	backend_socket(&be, true, 0, sock, sizeof(sock));
	backend_file(&be, "tty", link, sizeof(link));
	snprintf(link0, sizeof(link0), "%s0", link);
	assert_int_equal(backend_spawn(&be, "vhost-device-console", args, wait_for), 0);
	assert_int_equal(lstat(link0, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	fd = open(link0, O_RDWR | O_NOCTTY | O_CLOEXEC);
	assert_true(fd >= 0);
	{
		struct termios t;

		assert_int_equal(tcgetattr(fd, &t), 0);
		cfmakeraw(&t);
		assert_int_equal(tcsetattr(fd, TCSANOW, &t), 0);
	}
	d = open_con(sock);
	handshake(d, true);     /* a pty is always open on the host side */
	assert_int_equal(vhu_console_send(d, 0, VHU_CON_PORT_OPEN, 1, TMO), 0);
	pattern(out, 64u << 10, 3);
	assert_int_equal(vhu_console_write(d, out, 64u << 10, TMO), 0);
	fd_read_all(fd, in, 64u << 10);
	assert_memory_equal(in, out, 64u << 10);
	fd_write_all(fd, (const uint8_t *)"hello\003world", 11);
	guest_read(d, in, 11, 256, 8);
	assert_memory_equal(in, "hello\003world", 11);
	close(fd);
	vhu_console_close(d);
	assert_int_equal(backend_stop(&be), 0);
	/* The link goes with the backend. */
	assert_int_equal(lstat(link0, &st), -1);
}

/* The nested backend with stdin/stdout of our choosing. */
struct nested {
	pid_t pid;
	struct backend be;
	char sock[160];
};

static void nested_start(struct nested *n, int in_fd, int out_fd)
{
	const char *b = getenv("VHD_BUILDDIR");
	char bin[512], log[200];
	int64_t end;

	assert_int_equal(backend_init(&n->be), 0);
	backend_socket(&n->be, true, 0, n->sock, sizeof(n->sock));
	backend_file(&n->be, "log", log, sizeof(log));
	snprintf(bin, sizeof(bin), "%s/vhost-device-console", b ? b : ".");
	n->pid = fork();
	assert_true(n->pid >= 0);
	if (n->pid == 0) {
		int lfd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(in_fd, 0);
		dup2(out_fd, 1);
		if (lfd >= 0)
			dup2(lfd, 2);
		{
			/* Under an emulator (VHD_TEST_EXEC_WRAPPER, the arm64
			 * pass: tests/integration/backend.c) the binary runs
			 * through it. */
			const char *w = getenv("VHD_TEST_EXEC_WRAPPER");

			if (w && *w)
				execl(w, w, bin, "-s", n->be.base, "-v", "-b", "nested",
				      (char *)NULL);
			else
				execl(bin, bin, "-s", n->be.base, "-v", "-b", "nested",
				      (char *)NULL);
		}
		_exit(127);
	}
	for (end = it_now_ms() + TMO; access(n->sock, F_OK) != 0;) {
		assert_true(it_now_ms() < end);
		assert_int_equal(waitpid(n->pid, NULL, WNOHANG), 0);
		it_sleep_ms(10);        /* polling for the socket file; bounded above */
	}
}

/* Wait for the nested backend to exit; its status. */
static int nested_wait(struct nested *n)
{
	int st = 0;

	assert_int_equal(waitpid(n->pid, &st, 0), n->pid);
	backend_stop(&n->be);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void test_nested_pipes(void **state)
{
	int to_be[2], from_be[2];
	struct nested n;
	struct vhu_console *d;
	uint8_t buf[64];

	(void)state;
	assert_int_equal(pipe2(to_be, O_CLOEXEC), 0);
	assert_int_equal(pipe2(from_be, O_CLOEXEC), 0);
	nested_start(&n, to_be[0], from_be[1]);
	close(to_be[0]);
	close(from_be[1]);
	d = open_con(n.sock);
	handshake(d, true);
	assert_int_equal(vhu_console_send(d, 0, VHU_CON_PORT_OPEN, 1, TMO), 0);
	assert_int_equal(vhu_console_write(d, "login: ", 7, TMO), 0);
	fd_read_all(from_be[0], buf, 7);
	assert_memory_equal(buf, "login: ", 7);
	/* Ctrl-C goes to the guest; Ctrl-] Ctrl-] is one Ctrl-]. */
	fd_write_all(to_be[1], (const uint8_t *)"root\003\035\035x", 8);
	guest_read(d, buf, 7, 64, 4);
	assert_memory_equal(buf, "root\003\035x", 7);
	/* Ctrl-] q: the backend ends, cleanly. */
	fd_write_all(to_be[1], (const uint8_t *)"\035q", 2);
	assert_int_equal(vhu_wait_closed(vhu_console_session(d)->c, TMO), 0);
	vhu_console_close(d);
	assert_int_equal(nested_wait(&n), 0);
	assert_int_equal(access(n.sock, F_OK), -1);
	close(to_be[1]);
	close(from_be[0]);
}

static void test_nested_tty_resize(void **state)
{
	int master, slave;
	struct winsize ws = { .ws_col = 80, .ws_row = 24 };
	struct termios before, after;
	struct nested n;
	struct vhu_console *d;
	struct vhu_console_msg m;
	uint16_t cols, rows;
	uint32_t ports;

	(void)state;
	assert_int_equal(openpty(&master, &slave, NULL, NULL, &ws), 0);
	assert_int_equal(tcgetattr(slave, &before), 0);
	assert_true(before.c_lflag & ICANON);
	nested_start(&n, slave, slave);
	d = open_con(n.sock);
	assert_int_equal(vhu_console_config(d, &cols, &rows, &ports), 0);
	assert_int_equal(cols, 80);
	assert_int_equal(rows, 24);
	assert_int_equal(vhu_console_send(d, 0, VHU_CON_DEVICE_READY, 1, TMO), 0);
	expect_msg(d, VHU_CON_DEVICE_ADD, 0, NULL);
	assert_int_equal(vhu_console_send(d, 0, VHU_CON_PORT_READY, 1, TMO), 0);
	expect_msg(d, VHU_CON_CONSOLE_PORT, 1, NULL);
	expect_msg(d, VHU_CON_PORT_NAME, 0, NULL);
	expect_msg(d, VHU_CON_RESIZE, 0, &m);
	assert_int_equal(m.extra_len, 4);
	assert_int_equal(m.extra[0] | m.extra[1] << 8, 80);    /* cols, then rows */
	assert_int_equal(m.extra[2] | m.extra[3] << 8, 24);
	expect_msg(d, VHU_CON_PORT_OPEN, 1, NULL);
	/* The terminal is raw while the backend runs. */
	assert_int_equal(tcgetattr(slave, &after), 0);
	assert_false(after.c_lflag & ICANON);
	/* A new size, and the signal a terminal sends its foreground. */
	ws.ws_col = 132;
	ws.ws_row = 43;
	assert_int_equal(ioctl(master, TIOCSWINSZ, &ws), 0);
	kill(n.pid, SIGWINCH);
	expect_msg(d, VHU_CON_RESIZE, 0, &m);
	assert_int_equal(m.extra[0] | m.extra[1] << 8, 132);
	assert_int_equal(m.extra[2] | m.extra[3] << 8, 43);
	assert_int_equal(vhu_console_config(d, &cols, &rows, &ports), 0);
	assert_int_equal(cols, 132);
	vhu_console_close(d);
	kill(n.pid, SIGTERM);
	assert_int_equal(nested_wait(&n), 0);
	/* Given back as it was. */
	assert_int_equal(tcgetattr(slave, &after), 0);
	assert_int_equal(after.c_lflag, before.c_lflag);
	assert_int_equal(after.c_iflag, before.c_iflag);
	assert_int_equal(after.c_oflag, before.c_oflag);
	close(master);
	close(slave);
}

/* Bad command lines are refused before any socket, saying why. */
static void test_cli(void **state)
{
	static const struct {
		const char *args, *needle;
	} cases[] = {
		{ "-s /tmp/vhd-con-cli -b serial", "expected nested, network or pty" },
		{ "-s /tmp/vhd-con-cli -b nested -c 2", "serves one socket" },
		{ "-s /tmp/vhd-con-cli -b network -q 100", "power of two" },
		{ "-s /tmp/vhd-con-cli -b network -p 65535 -c 2", "past 65535" },
		{ "-s /tmp/vhd-con-cli -b network -p 0", "--tcp-port '0'" },
		{ "-s /tmp/vhd-con-cli -b pty --pty-link ''", "empty path" },
	};
	const char *b = getenv("VHD_BUILDDIR");
	const char *w = getenv("VHD_TEST_EXEC_WRAPPER");

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char cmd[512], out[1024];
		FILE *p;
		size_t n;
		int st;

		snprintf(cmd, sizeof(cmd), "%s%s%s'%s/vhost-device-console' %s 2>&1 </dev/null",
			 w && *w ? "'" : "", w && *w ? w : "", w && *w ? "' " : "",
			 b ? b : ".", cases[i].args);
		p = popen(cmd, "r");
		assert_non_null(p);
		n = fread(out, 1, sizeof(out) - 1, p);
		out[n] = 0;
		st = pclose(p);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 1);
		if (!strstr(out, cases[i].needle))
			fail_msg("'%s': expected '%s' in: %s", cases[i].args, cases[i].needle, out);
		assert_int_equal(access("/tmp/vhd-con-cli0", F_OK), -1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cli),
		cmocka_unit_test(test_network),
		cmocka_unit_test(test_pty),
		cmocka_unit_test(test_nested_pipes),
		cmocka_unit_test(test_nested_tty_resize),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
