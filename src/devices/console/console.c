/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * vhost-device-console: the virtio console (virtio 1.2, 5.3 "Console
 * Device", device ID 3), command-line compatible with the Rust
 * vhost-device-console (-s, -c, -b/--backend nested|network,
 * -p/--tcp-port, -q/--max-queue-size; sockets PATH0..PATH<N-1>).  No QEMU
 * release has a vhost-user console frontend (the Rust README uses
 * vhost-user-test-device-pci); tools/vhu-console.c drives it in the tests.
 *
 * One port per socket (max_nr_ports 1, queues: port 0 receive/transmit,
 * control receive/transmit), a console port named console<i>.
 * Differences from the Rust backend, on purpose:
 *  - PORT_NAME carries the port's name (the Rust one sends it empty);
 *  - VIRTIO_CONSOLE_F_SIZE: the terminal's size in the config space and
 *    RESIZE control messages when it changes (nested backend on a tty);
 *  - a third backend, pty: a pseudo-terminal per socket (path logged,
 *    --pty-link makes a stable symlink);
 *  - nested: the terminal is raw and restored on every exit path; Ctrl-C
 *    goes to the guest, Ctrl-] q quits (Ctrl-] Ctrl-] sends a Ctrl-]);
 *  - host input typed before the guest opens the port is kept (64 KiB),
 *    and input waits for the guest's buffers instead of being dropped;
 *    guest output waits for a slow host (back-pressure, nothing lost).
 */
#include "config.h"
#include "vhost-device.h"
#include "console-proto.h"

#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#define CON_MAX_SOCKETS 64
#define CON_RXQ 0
#define CON_TXQ 1
#define CON_CTRL_RXQ 2
#define CON_CTRL_TXQ 3
#define CON_BUF (64u << 10)
#define CON_CONFIG_SIZE 12
#define CON_ESCAPE 0x1d          /* Ctrl-] */

#define OPT_PTY_LINK 0x100

enum con_backend { CON_NESTED, CON_NETWORK, CON_PTY };

struct console_opts {
	enum con_backend backend;
	unsigned long long tcp_port;
	unsigned long long max_queue_size;
	const char *pty_link;
	unsigned count;
	/* Opened at start-up, one per socket. */
	int listen_fd[CON_MAX_SOCKETS];
	int pty_master[CON_MAX_SOCKETS], pty_slave[CON_MAX_SOCKETS];
	char pty_path[CON_MAX_SOCKETS][64];
	bool link_made[CON_MAX_SOCKETS];
	/* nested: the terminal to give back. */
	bool tty;
	struct termios saved;
	int saved_fl0, saved_fl1;
};

/* The nested backend's terminal as it was, for every way out (the end of
 * main, exit(), a fatal signal): static, not on main()'s stack, since
 * atexit handlers run after main() returned. */
static struct {
	volatile sig_atomic_t active;
	bool tty;
	struct termios saved;
	int fl0, fl1;
} g_term;

struct con_dev {
	struct console_opts *o;
	unsigned index;
	char name[CON_NAME_MAX + 1];
	/* Host side, kept across connections. */
	int host_fd;                    /* client / pty master / stdin; -1 */
	int out_fd;                     /* where guest output goes: stdout or host_fd */
	bool host_eof;
	bool esc;                       /* nested: Ctrl-] seen */
	struct con_buf in, out;         /* host->guest, guest->host */
	struct con_port port;
	struct con_msgq msgq;
	unsigned log_budget;
	/* Per connection. */
	struct vu_dev *dev;
	struct vhd_handler listen_h, host_h, out_h, winch_h;
	bool listen_on, host_on, out_on, winch_on;
	uint32_t host_events;
	int winch_fd;
};

/* ---- host side ------------------------------------------------------------ */

static void set_events(struct con_dev *d, struct vhd_handler *h, bool *on, uint32_t ev)
{
	if (!d->dev)
		return;
	if (*on && ev == 0) {
		vhd_loop_del(h);
		*on = false;
	} else if (*on) {
		vhd_loop_mod(h, ev);
	} else if (ev && vhd_loop_add(vu_dev_loop(d->dev), h, ev) == 0) {
		*on = true;
	}
}

/* Which events the host fd(s) should wait for now. */
static void host_interest(struct con_dev *d)
{
	uint32_t ev = 0, oev = 0;

	if (d->host_fd >= 0 && !d->host_eof && con_buf_room(&d->in))
		ev |= EPOLLIN;
	if (d->out.len && d->out_fd >= 0) {
		if (d->out_fd == d->host_fd)
			ev |= EPOLLOUT;
		else
			oev = EPOLLOUT;
	}
	if (d->host_fd >= 0) {
		d->host_h.fd = d->host_fd;
		set_events(d, &d->host_h, &d->host_on, ev);
	}
	if (d->out_fd >= 0 && d->out_fd != d->host_fd) {
		d->out_h.fd = d->out_fd;
		set_events(d, &d->out_h, &d->out_on, oev);
	}
}

static void flush_ctrl(struct con_dev *d);
static void flush_rx(struct con_dev *d);

/* The driver acked MULTIPORT (known once features are set, so asked
 * each time, not at connect). */
static bool multiport(const struct con_dev *d)
{
	return d->dev && (vu_dev_features(d->dev) & (1ull << VIRTIO_CONSOLE_F_MULTIPORT));
}

static void host_gone(struct con_dev *d)
{
	if (d->o->backend == CON_NETWORK) {
		set_events(d, &d->host_h, &d->host_on, 0);
		close(d->host_fd);
		d->host_fd = d->out_fd = -1;
		/* What the client sent and the guest did not take yet goes
		 * with it; what the guest wrote for it too. */
		con_buf_consume(&d->out, d->out.len);
		con_host_open(&d->port, &d->msgq, false);
		LOG_INFO("%s: TCP client gone", d->name);
		if (d->dev) {
			d->listen_h.fd = d->o->listen_fd[d->index];
			set_events(d, &d->listen_h, &d->listen_on, EPOLLIN);
		}
		flush_ctrl(d);
	} else {
		/* stdin at its end: keep writing to stdout. */
		d->host_eof = true;
		host_interest(d);
	}
}

/* Write out[] to the host; false when the host is gone. */
static bool write_host(struct con_dev *d)
{
	while (d->out.len && d->out_fd >= 0) {
		const uint8_t *p;
		size_t n = con_buf_front(&d->out, &p);
		ssize_t w = write(d->out_fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN)
			break;
		if (w <= 0) {
			if (d->o->backend == CON_NETWORK) {
				host_gone(d);
				return false;
			}
			/* stdout or the pty cannot take it: drop, keep going. */
			vhd_log_ratelimited(&d->log_budget, 5, VHD_LOG_WARN, "%s: writing: %s: "
					    "guest output dropped", d->name, strerror(errno));
			con_buf_consume(&d->out, d->out.len);
			break;
		}
		con_buf_consume(&d->out, (size_t)w);
	}
	return true;
}

/* Bytes the host typed, through the nested escape: Ctrl-] q quits. */
static void take_input(struct con_dev *d, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t c = b[i];

		if (d->o->backend == CON_NESTED) {
			if (d->esc) {
				d->esc = false;
				if (c == 'q' || c == 'Q') {
					LOG_INFO("%s: Ctrl-] q: quitting", d->name);
					kill(getpid(), SIGTERM);
					continue;
				}
				if (c != CON_ESCAPE) {
					uint8_t e = CON_ESCAPE;

					con_buf_put(&d->in, &e, 1);
				}
			} else if (c == CON_ESCAPE) {
				d->esc = true;
				continue;
			}
		}
		con_buf_put(&d->in, &c, 1);
	}
}

static void host_cb(struct vhd_handler *h, uint32_t events)
{
	struct con_dev *d = h->opaque;

	if (events & EPOLLOUT) {
		if (!write_host(d))
			return;
		/* Room again: the guest's transmit queue may go on. */
		vu_queue_schedule(d->dev, CON_TXQ);
	}
	if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && h->fd == d->host_fd) {
		/* Read no more than fits (escape pairs take two bytes). */
		uint8_t buf[4096];
		size_t room = con_buf_room(&d->in);
		ssize_t r;

		if (room == 0)
			goto out;
		r = read(d->host_fd, buf, room < sizeof(buf) ? room : sizeof(buf));
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			goto out;
		if (r <= 0) {
			host_gone(d);
			return;
		}
		take_input(d, buf, (size_t)r);
		flush_rx(d);
	}
out:
	host_interest(d);
}

static void listen_cb(struct vhd_handler *h, uint32_t events)
{
	struct con_dev *d = h->opaque;
	int fd = accept4(h->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	(void)events;
	if (fd < 0)
		return;
	/* One client at a time, as the Rust backend: the next waits in
	 * the backlog until this one leaves. */
	set_events(d, &d->listen_h, &d->listen_on, 0);
	d->host_fd = d->out_fd = fd;
	d->host_eof = false;
	LOG_INFO("%s: TCP client connected", d->name);
	con_host_open(&d->port, &d->msgq, true);
	flush_ctrl(d);
	host_interest(d);
}

static void winch_cb(struct vhd_handler *h, uint32_t events)
{
	struct con_dev *d = h->opaque;
	struct signalfd_siginfo si;
	struct winsize ws;

	(void)events;
	while (read(h->fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) < 0 && ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) < 0)
		return;
	if (ws.ws_col == d->port.cols && ws.ws_row == d->port.rows)
		return;
	con_resize(&d->port, &d->msgq, ws.ws_col, ws.ws_row);
	LOG_INFO("%s: terminal is now %ux%u", d->name, ws.ws_col, ws.ws_row);
	if (multiport(d))
		flush_ctrl(d);
	else if (vu_dev_features(d->dev) & (1ull << VIRTIO_CONSOLE_F_SIZE))
		vu_dev_config_changed(d->dev);
}

/* ---- the queues ------------------------------------------------------------ */

static bool guest_open(const struct con_dev *d)
{
	return !multiport(d) || d->port.guest_open;
}

static bool fill_rx(struct vu_dev *dev, struct virtqueue *q, struct vq_elem *e, void *opaque)
{
	struct con_dev *d = opaque;
	uint32_t done = 0;

	(void)dev;
	if (!d->in.len) {
		vq_unpop(q, e);
		return false;
	}
	while (done < e->wr_len && d->in.len) {
		const uint8_t *p;
		size_t n = con_buf_front(&d->in, &p);

		if (n > e->wr_len - done)
			n = e->wr_len - done;
		iov_from_buf(e->wr, e->n_wr, done, p, n);
		con_buf_consume(&d->in, n);
		done += (uint32_t)n;
	}
	vq_push(q, e, done);
	return true;
}

static void flush_rx(struct con_dev *d)
{
	if (!d->dev || !d->in.len || !guest_open(d))
		return;
	vu_queue_process(d->dev, CON_RXQ, fill_rx, d);
	host_interest(d);
}

static bool take_tx(struct vu_dev *dev, struct virtqueue *q, struct vq_elem *e, void *opaque)
{
	struct con_dev *d = opaque;
	size_t n = e->rd_len;

	(void)dev;
	if (d->out_fd < 0) {
		/* Nobody on the host side (network without a client): the
		 * bytes go nowhere, as on a serial line without a cable. */
		vq_push(q, e, 0);
		return true;
	}
	if (n > con_buf_room(&d->out)) {
		if (d->out.len) {
			/* Wait for the host to take what is buffered. */
			vq_unpop(q, e);
			return false;
		}
		vhd_log_ratelimited(&d->log_budget, 5, VHD_LOG_WARN, "%s: a transmit buffer of "
				    "%zu bytes: only the first %u sent", d->name, n, CON_BUF);
		n = CON_BUF;
	}
	for (size_t off = 0; off < n;) {
		uint8_t chunk[4096];
		size_t step = n - off < sizeof(chunk) ? n - off : sizeof(chunk);

		iov_to_buf(e->rd, e->n_rd, off, chunk, step);
		con_buf_put(&d->out, chunk, step);
		off += step;
	}
	vq_push(q, e, 0);
	return true;
}

static bool take_ctrl(struct vu_dev *dev, struct virtqueue *q, struct vq_elem *e, void *opaque)
{
	struct con_dev *d = opaque;
	uint8_t b[CON_CTRL_HDR];
	uint32_t id;
	uint16_t event, value;
	int r;

	(void)dev;
	if (iov_to_buf(e->rd, e->n_rd, 0, b, sizeof(b)) != sizeof(b) ||
	    con_ctrl_parse(b, sizeof(b), &id, &event, &value) < 0) {
		vhd_log_ratelimited(&d->log_budget, 5, VHD_LOG_WARN,
				    "%s: control message of %u bytes: ignored", d->name, e->rd_len);
	} else if ((r = con_ctrl_handle(&d->port, &d->msgq, id, event, value)) < 0) {
		vhd_log_ratelimited(&d->log_budget, 5, VHD_LOG_WARN,
				    "%s: control event %u for port %u: ignored", d->name, event, id);
	} else {
		LOG_DEBUG("%s: control event %u port %u value %u", d->name, event, id, value);
		if (event == VIRTIO_CONSOLE_PORT_OPEN)
			LOG_INFO("%s: the guest %s the port", d->name,
				 d->port.guest_open ? "opened" : "closed");
	}
	vq_push(q, e, 0);
	return true;
}

static bool give_ctrl(struct vu_dev *dev, struct virtqueue *q, struct vq_elem *e, void *opaque)
{
	struct con_dev *d = opaque;
	const struct con_msg *m = con_msgq_peek(&d->msgq);
	uint32_t n;

	(void)dev;
	if (!m) {
		vq_unpop(q, e);
		return false;
	}
	n = m->len < e->wr_len ? m->len : e->wr_len;
	iov_from_buf(e->wr, e->n_wr, 0, m->bytes, n);
	vq_push(q, e, n);
	con_msgq_pop(&d->msgq);
	return true;
}

static void flush_ctrl(struct con_dev *d)
{
	if (multiport(d) && d->msgq.count)
		vu_queue_process(d->dev, CON_CTRL_RXQ, give_ctrl, d);
}

static void console_queue_kick(struct vu_dev *dev, unsigned q)
{
	struct con_dev *d = vu_dev_priv(dev);

	switch (q) {
	case CON_RXQ:
		flush_rx(d);
		break;
	case CON_TXQ:
		vu_queue_process(dev, q, take_tx, d);
		write_host(d);
		host_interest(d);
		break;
	case CON_CTRL_TXQ:
		vu_queue_process(dev, q, take_ctrl, d);
		flush_ctrl(d);
		flush_rx(d);            /* the port may have opened */
		break;
	case CON_CTRL_RXQ:
		flush_ctrl(d);
		break;
	default:
		break;
	}
}

static void console_connected(struct vu_dev *dev)
{
	struct con_dev *d = vu_dev_priv(dev);

	d->dev = dev;
	d->log_budget = 0;
	/* A new guest: its driver announces itself again. */
	d->port.device_ready = d->port.port_ready = d->port.guest_open = false;
	d->msgq.head = d->msgq.count = 0;
	d->listen_h = (struct vhd_handler){ .fd = -1, .cb = listen_cb, .opaque = d };
	d->host_h = (struct vhd_handler){ .fd = -1, .cb = host_cb, .opaque = d };
	d->out_h = (struct vhd_handler){ .fd = -1, .cb = host_cb, .opaque = d };
	d->winch_h = (struct vhd_handler){ .fd = -1, .cb = winch_cb, .opaque = d };
	if (d->o->backend == CON_NETWORK && d->host_fd < 0) {
		d->listen_h.fd = d->o->listen_fd[d->index];
		set_events(d, &d->listen_h, &d->listen_on, EPOLLIN);
	}
	if (d->o->backend == CON_NESTED && d->o->tty) {
		sigset_t set;

		sigemptyset(&set);
		sigaddset(&set, SIGWINCH);
		d->winch_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
		d->winch_h.fd = d->winch_fd;
		if (d->winch_fd >= 0)
			set_events(d, &d->winch_h, &d->winch_on, EPOLLIN);
	}
	host_interest(d);
}

static void console_reset(struct vu_dev *dev)
{
	struct con_dev *d = vu_dev_priv(dev);

	set_events(d, &d->listen_h, &d->listen_on, 0);
	set_events(d, &d->host_h, &d->host_on, 0);
	set_events(d, &d->out_h, &d->out_on, 0);
	set_events(d, &d->winch_h, &d->winch_on, 0);
	if (d->winch_fd >= 0)
		close(d->winch_fd);
	d->winch_fd = -1;
	d->dev = NULL;
	/* Host input not yet taken stays for the next guest (bounded);
	 * guest output not yet written still goes out on the next one. */
}

static int console_get_config(struct vu_dev *dev, uint8_t *buf)
{
	struct con_dev *d = vu_dev_priv(dev);
	uint16_t cols = htole16(d->port.cols), rows = htole16(d->port.rows);
	uint32_t ports = htole32(1), emerg = 0;

	memcpy(buf, &cols, 2);
	memcpy(buf + 2, &rows, 2);
	memcpy(buf + 4, &ports, 4);
	memcpy(buf + 8, &emerg, 4);
	return 0;
}

static unsigned console_instance_max_queue_size(void *priv)
{
	return (unsigned)((struct con_dev *)priv)->o->max_queue_size;
}

/* ---- instances, options, the terminal ------------------------------------- */

static int console_instance_new(void *ctx, unsigned index, unsigned count, void **priv)
{
	struct console_opts *o = ctx;
	struct con_dev *d = calloc(1, sizeof(*d));

	(void)count;
	if (!d)
		return -1;
	if (con_buf_init(&d->in, CON_BUF) < 0 || con_buf_init(&d->out, CON_BUF) < 0) {
		con_buf_free(&d->in);
		free(d);
		return -1;
	}
	d->o = o;
	d->index = index;
	d->winch_fd = -1;
	snprintf(d->name, sizeof(d->name), "console%u", index);
	snprintf(d->port.name, sizeof(d->port.name), "console%u", index);
	d->port.console = true;
	d->host_fd = d->out_fd = -1;
	switch (o->backend) {
	case CON_NESTED:
		d->host_fd = STDIN_FILENO;
		d->out_fd = STDOUT_FILENO;
		d->port.host_open = true;
		if (o->tty) {
			struct winsize ws;

			if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 ||
			    ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0) {
				d->port.cols = ws.ws_col;
				d->port.rows = ws.ws_row;
			}
		}
		break;
	case CON_PTY:
		d->host_fd = d->out_fd = o->pty_master[index];
		d->port.host_open = true;
		break;
	case CON_NETWORK:
		break;
	}
	*priv = d;
	return 0;
}

static void console_instance_free(void *priv)
{
	struct con_dev *d = priv;

	if (d->o->backend == CON_NETWORK && d->host_fd >= 0)
		close(d->host_fd);
	con_buf_free(&d->in);
	con_buf_free(&d->out);
	free(d);
}

/* Give the terminal back once (tcsetattr and fcntl are async-signal-safe). */
static void restore_terminal(void)
{
	if (!g_term.active)
		return;
	g_term.active = 0;
	if (g_term.tty)
		tcsetattr(STDIN_FILENO, TCSANOW, &g_term.saved);
	fcntl(STDIN_FILENO, F_SETFL, g_term.fl0);
	fcntl(STDOUT_FILENO, F_SETFL, g_term.fl1);
}

/* A fatal signal: the terminal back, then die of it as usual. */
static void fatal_signal(int sig)
{
	restore_terminal();
	signal(sig, SIG_DFL);
	raise(sig);
}

static int setup_nested(struct console_opts *o)
{
	struct termios raw;

	o->saved_fl0 = fcntl(STDIN_FILENO, F_GETFL);
	o->saved_fl1 = fcntl(STDOUT_FILENO, F_GETFL);
	if (o->saved_fl0 < 0 || o->saved_fl1 < 0) {
		fprintf(stderr, "vhost-device-console: nested: no stdin/stdout\n");
		return -1;
	}
	/* The file status flags are shared with whoever gave us the
	 * terminal or the pipes: given back too. */
	g_term.fl0 = o->saved_fl0;
	g_term.fl1 = o->saved_fl1;
	g_term.active = 1;
	atexit(restore_terminal);
	if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &o->saved) == 0) {
		static const int fatal[] = { SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL, SIGQUIT,
					     SIGHUP };

		o->tty = true;
		g_term.tty = true;
		g_term.saved = o->saved;
		for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
			signal(fatal[i], fatal_signal);
		raw = o->saved;
		/* Raw: every byte, Ctrl-C included, goes to the guest. */
		cfmakeraw(&raw);
		tcsetattr(STDIN_FILENO, TCSANOW, &raw);
		fprintf(stderr, "vhost-device-console: the terminal is the guest's; Ctrl-] q quits\r\n");
	}
	fcntl(STDIN_FILENO, F_SETFL, o->saved_fl0 | O_NONBLOCK);
	if (!o->tty || !(o->saved_fl1 & O_NONBLOCK))
		fcntl(STDOUT_FILENO, F_SETFL, o->saved_fl1 | O_NONBLOCK);
	return 0;
}

static int open_network(struct console_opts *o)
{
	for (unsigned i = 0; i < o->count; i++) {
		struct sockaddr_in a = { .sin_family = AF_INET,
					 .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
					 .sin_port = htons((uint16_t)(o->tcp_port + i)) };
		int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

		if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
		    bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 4) < 0) {
			fprintf(stderr, "vhost-device-console: 127.0.0.1:%llu: %s\n",
				o->tcp_port + i, strerror(errno));
			if (fd >= 0)
				close(fd);
			return -1;
		}
		o->listen_fd[i] = fd;
	}
	return 0;
}

static int open_ptys(struct console_opts *o)
{
	for (unsigned i = 0; i < o->count; i++) {
		int m = posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
		const char *name;
		struct termios t;

		if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0 || !(name = ptsname(m))) {
			fprintf(stderr, "vhost-device-console: pty: %s\n", strerror(errno));
			if (m >= 0)
				close(m);
			return -1;
		}
		o->pty_master[i] = m;
		snprintf(o->pty_path[i], sizeof(o->pty_path[i]), "%s", name);
		/* Our own slave end, raw, kept open: the guest's bytes pass
		 * unchanged, and the master never reads EIO when the user's
		 * program closes its end. */
		o->pty_slave[i] = open(o->pty_path[i], O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (o->pty_slave[i] >= 0 && tcgetattr(o->pty_slave[i], &t) == 0) {
			cfmakeraw(&t);
			tcsetattr(o->pty_slave[i], TCSANOW, &t);
		}
		/* grantpt made the slave root's (crw--w----): under --user the
		 * core gives it to the user, whose terminal program opens it
		 * (vhost-device.h, vhd_startup_path).  The TCP listeners of
		 * the network backend have no file. */
		if (vhd_startup_path(o->pty_path[i]) < 0)
			return -1;
		if (o->pty_link) {
			char link[4096];
			struct stat st;

			snprintf(link, sizeof(link), "%s%u", o->pty_link, i);
			if (lstat(link, &st) == 0 && !S_ISLNK(st.st_mode)) {
				fprintf(stderr, "vhost-device-console: --pty-link: %s exists and is "
					"not a symbolic link\n", link);
				return -1;
			}
			unlink(link);
			if (symlink(o->pty_path[i], link) < 0) {
				fprintf(stderr, "vhost-device-console: --pty-link %s: %s\n", link,
					strerror(errno));
				return -1;
			}
			o->link_made[i] = true;
			fprintf(stderr, "vhost-device-console: console%u: pty %s (%s)\n", i,
				o->pty_path[i], link);
		} else {
			fprintf(stderr, "vhost-device-console: console%u: pty %s\n", i, o->pty_path[i]);
		}
	}
	return 0;
}

static int console_parse_option(void *ctx, int key, const char *arg)
{
	struct console_opts *o = ctx;

	switch (key) {
	case 'b':
		if (!strcmp(arg, "nested"))
			o->backend = CON_NESTED;
		else if (!strcmp(arg, "network"))
			o->backend = CON_NETWORK;
		else if (!strcmp(arg, "pty"))
			o->backend = CON_PTY;
		else {
			fprintf(stderr, "vhost-device-console: --backend '%s': expected nested, "
				"network or pty\n", arg);
			return -1;
		}
		return 0;
	case 'p':
		if (vhd_parse_u64(arg, 1, 65535, &o->tcp_port) < 0) {
			fprintf(stderr, "vhost-device-console: --tcp-port '%s': expected 1..65535\n",
				arg);
			return -1;
		}
		return 0;
	case 'q':
		if (vhd_parse_u64(arg, 1, 32768, &o->max_queue_size) < 0 ||
		    (o->max_queue_size & (o->max_queue_size - 1))) {
			fprintf(stderr, "vhost-device-console: --max-queue-size '%s': expected a "
				"power of two, 1..32768\n", arg);
			return -1;
		}
		return 0;
	case OPT_PTY_LINK:
		if (!*arg) {
			fprintf(stderr, "vhost-device-console: --pty-link: empty path\n");
			return -1;
		}
		o->pty_link = arg;
		return 0;
	default:
		return -1;
	}
}

static int console_check_options(void *ctx, unsigned socket_count)
{
	struct console_opts *o = ctx;

	if (socket_count > CON_MAX_SOCKETS) {
		fprintf(stderr, "vhost-device-console: at most %u sockets\n", CON_MAX_SOCKETS);
		return -1;
	}
	o->count = socket_count;
	/* Accepted and unused with the other backends, so that one service
	 * unit serves them all. */
	if (o->pty_link && o->backend != CON_PTY)
		o->pty_link = NULL;
	switch (o->backend) {
	case CON_NESTED:
		if (socket_count != 1) {
			fprintf(stderr, "vhost-device-console: the nested backend serves one "
				"socket (--socket-count 1): there is one terminal\n");
			return -1;
		}
		return setup_nested(o);
	case CON_NETWORK:
		if (o->tcp_port + socket_count - 1 > 65535) {
			fprintf(stderr, "vhost-device-console: --tcp-port %llu + %u sockets goes "
				"past 65535\n", o->tcp_port, socket_count);
			return -1;
		}
		return open_network(o);
	case CON_PTY:
		return open_ptys(o);
	}
	return -1;
}

static void close_all(struct console_opts *o)
{
	for (unsigned i = 0; i < CON_MAX_SOCKETS; i++) {
		if (o->listen_fd[i] >= 0)
			close(o->listen_fd[i]);
		if (o->pty_master[i] >= 0)
			close(o->pty_master[i]);
		if (o->pty_slave[i] >= 0)
			close(o->pty_slave[i]);
		if (o->link_made[i]) {
			char link[4096];

			snprintf(link, sizeof(link), "%s%u", o->pty_link, i);
			unlink(link);
		}
	}
	restore_terminal();
}

static const struct option console_options[] = {
	{ "backend", required_argument, NULL, 'b' },
	{ "tcp-port", required_argument, NULL, 'p' },
	{ "max-queue-size", required_argument, NULL, 'q' },
	{ "pty-link", required_argument, NULL, OPT_PTY_LINK },
	{ NULL, 0, NULL, 0 },
};

/* Sandbox (docs/security.md): the terminal's size (TIOCGWINSZ) and mode
 * (restored at exit) are terminal ioctls (type 'T'); SIGWINCH is read
 * through a signalfd made per connection; the network backend accepts its
 * clients (core calls). */
static int console_sandbox(void *ctx, struct vhd_sandbox *sb)
{
	static const char *const calls[] = { "signalfd4", "signalfd", NULL };

	(void)ctx;
	if (vhd_sandbox_allow(sb, calls) < 0 || vhd_sandbox_allow_ioctl(sb, 'T') < 0)
		return -1;
	return 0;
}

static const struct vu_device_ops console_ops = {
	.name = "console",
	.summary = "vhost-user console device (virtio-console, one port per socket): the guest's\n"
		   "console on this terminal (nested), a TCP client (network) or a pty.",
	.virtio_id = 3,         /* VIRTIO_ID_CONSOLE */
	.num_queues = 4,
	.max_queue_size = 32768,
	.features = (1ull << VIRTIO_CONSOLE_F_SIZE) | (1ull << VIRTIO_CONSOLE_F_MULTIPORT),
	.config_size = CON_CONFIG_SIZE,
	.socket_naming = VU_SOCKETS_SUFFIXED,
	.options = console_options,
	.short_options = "b:p:q:",
	.options_help =
		"  -b, --backend KIND       nested (this terminal, one socket; Ctrl-] q quits),\n"
		"                           network (127.0.0.1:PORT+i, one TCP client at a time)\n"
		"                           or pty (a pseudo-terminal per socket; default nested)\n"
		"  -p, --tcp-port PORT      first TCP port of the network backend (default 12345)\n"
		"  -q, --max-queue-size N   largest queue size, a power of two (default 128)\n"
		"      --pty-link PATH      pty backend: a symbolic link PATH<i> to socket i's pty\n"
		"                           (unused with the other backends)\n",
	.parse_option = console_parse_option,
	.check_options = console_check_options,
	.instance_new = console_instance_new,
	.instance_free = console_instance_free,
	.instance_max_queue_size = console_instance_max_queue_size,
	.connected = console_connected,
	.reset = console_reset,
	.queue_kick = console_queue_kick,
	.get_config = console_get_config,
	.sandbox = console_sandbox,
};

int main(int argc, char **argv)
{
	struct console_opts o = { .backend = CON_NESTED, .tcp_port = 12345, .max_queue_size = 128 };
	sigset_t set;
	int st;

	for (unsigned i = 0; i < CON_MAX_SOCKETS; i++)
		o.listen_fd[i] = o.pty_master[i] = o.pty_slave[i] = -1;
	/* SIGWINCH is read through a signalfd on the event loop: blocked in
	 * every thread (the workers inherit this mask). */
	sigemptyset(&set);
	sigaddset(&set, SIGWINCH);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	st = vhd_main(&console_ops, &o, argc, argv);
	close_all(&o);
	return st;
}
