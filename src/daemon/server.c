/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * The daemon: a fixed pool of worker threads (--workers, default one per
 * CPU the process may run on) serves every socket of the process; each
 * worker runs one event loop (docs/architecture.md, "Threads and
 * ownership").
 *
 *  - A listening socket is watched by one worker (socket i by worker
 *    i mod workers).  On accept it stops watching (one frontend per
 *    socket at a time: further connections wait in the backlog, and the
 *    socket stays bound, so its path never goes missing) and hands the
 *    connection to the least-loaded worker (fewest connections).
 *  - That worker serves the connection for its whole life -- its
 *    messages, kick fds and the device's timers -- so every callback of
 *    the instance during a connection runs on one thread.  When the
 *    frontend leaves, the worker frees the connection and hands the
 *    listening socket back to its watcher.  Hand-offs go through
 *    vhd_loop_post, whose mutex orders one thread's work before the
 *    next's.
 *  - The connection's memory (struct conn: vu_dev, rings' state) exists
 *    only while a frontend is connected; its message buffer (4 KiB) only
 *    while a message is on its way in, so idle guests cost little
 *    (docs/benchmarks.md, "Scale").
 *  - Messages are assembled without blocking (vu_msg_rx_step), replies
 *    are sent without blocking (a peer that does not read them is
 *    dropped, msg.h): a stalled frontend costs its own connection only.
 *
 * SIGTERM/SIGINT: the main thread stops every worker; each worker ends
 * the connections it serves; the main thread removes the socket files
 * this process created and returns.
 */
#include "config.h"
#include "vhost-device.h"
#include "daemon/cli.h"
#include "vhost-user/vu-dev.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

struct worker;

/* One device socket and its instance; lives for the whole process. */
struct vsocket {
	const struct vu_device_ops *ops;
	void *priv;
	char name[128];
	const char *path;           /* socket file we created, or NULL */
	int listen_fd;              /* -1: serve one inherited connection */
	bool exit_on_disconnect;
	uint64_t extra_protocol;
	struct worker *watcher;     /* watches listen_fd */
	struct vhd_handler listen_h;
	/* Hand-offs: accepted fd to the serving worker, and back. */
	struct vhd_post start_post;  /* runs on `server` */
	struct vhd_post rearm_post;  /* runs on `watcher` */
	int pending_fd;             /* accepted, not yet taken by `server` */
	struct worker *server;      /* serves the current connection */
};

/* One frontend connection; allocated on connect, freed when it ends. */
struct conn {
	struct vsocket *s;
	struct worker *w;
	int fd;
	struct vhd_handler h;
	struct vu_dev *dev;
	struct conn *next;          /* in w->conns */
	struct vu_msg_rx *rx;       /* NULL between messages */
};

struct worker {
	unsigned index;
	struct vhd_loop *loop;
	pthread_t thread;
	bool thread_started;
	unsigned nconn;             /* atomic: connections served (load) */
	struct conn *conns;         /* this worker's thread only */
};

static pthread_t main_thread;
static volatile int quit_requested;   /* atomic */

/* Ask the main thread to shut the process down (from a worker). */
static void request_exit(void)
{
	__atomic_store_n(&quit_requested, 1, __ATOMIC_SEQ_CST);
	pthread_kill(main_thread, SIGUSR1);
}

static void end_connection(struct conn *c, bool rearm)
{
	struct vsocket *s = c->s;
	struct worker *w = c->w;

	vhd_loop_del(&c->h);
	vu_dev_destroy(c->dev);
	if (c->rx) {
		vu_msg_rx_drop(c->rx);
		free(c->rx);
	}
	close(c->fd);
	for (struct conn **p = &w->conns; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			break;
		}
	free(c);
	__atomic_fetch_sub(&w->nconn, 1, __ATOMIC_SEQ_CST);
	if (!rearm)
		return;
	if (s->exit_on_disconnect) {
		request_exit();
		return;
	}
	/* Ready for the next frontend on the same, still bound, socket. */
	vhd_loop_post(s->watcher->loop, &s->rearm_post);
}

static void conn_cb(struct vhd_handler *h, uint32_t events)
{
	struct conn *c = h->opaque;
	int r;

	if (!c->rx) {
		c->rx = calloc(1, sizeof(*c->rx));
		if (!c->rx) {
			LOG_ERR("%s: out of memory for a message; closing the connection",
				c->s->name);
			end_connection(c, true);
			return;
		}
		vu_msg_rx_init(c->rx);
	}
	r = vu_msg_rx_step(c->fd, c->rx);
	if (r == -EAGAIN && c->rx->got)
		return;         /* the rest of the message comes later */
	if (r == 0)
		r = vu_dev_handle_message(c->dev, &c->rx->msg);
	if (r == 0 || r == -EAGAIN) {
		/* Between messages: nothing to keep. */
		free(c->rx);
		c->rx = NULL;
		return;
	}
	if (r == -ECONNRESET)
		LOG_INFO("%s: frontend disconnected", c->s->name);
	else
		LOG_WARN("%s: closing the frontend connection: %s", c->s->name,
			 r == -EPROTO ? "protocol error" :
			 r == -EMSGSIZE ? "message too large" :
			 r == -EBADMSG ? "file descriptors truncated (too many, or dropped by a security module)" :
			 r == -EAGAIN ? "frontend does not read its replies (socket buffer full)" :
			 strerror(-r));
	end_connection(c, true);
}

/* On the serving worker: set up the connection on fd. */
static int start_connection(struct vsocket *s, struct worker *w, int fd)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (!c) {
		LOG_ERR("%s: out of memory for a new connection", s->name);
		return -ENOMEM;
	}
	c->s = s;
	c->w = w;
	c->fd = fd;
	c->dev = vu_dev_new(s->ops, s->priv, s->name, fd, w->loop, s->extra_protocol);
	if (!c->dev) {
		LOG_ERR("%s: out of memory for a new connection", s->name);
		free(c);
		return -ENOMEM;
	}
	c->h.fd = fd;
	c->h.cb = conn_cb;
	c->h.opaque = c;
	if (vhd_loop_add(w->loop, &c->h, EPOLLIN) < 0) {
		int e = -errno;
		vu_dev_destroy(c->dev);
		free(c);
		return e;
	}
	c->next = w->conns;
	w->conns = c;
	return 0;
}

static void start_post_cb(struct vhd_post *p)
{
	struct vsocket *s = (struct vsocket *)((char *)p - offsetof(struct vsocket, start_post));
	struct worker *w = s->server;
	int fd = s->pending_fd;

	s->pending_fd = -1;
	if (start_connection(s, w, fd) == 0)
		return;
	close(fd);
	__atomic_fetch_sub(&w->nconn, 1, __ATOMIC_SEQ_CST);
	if (s->exit_on_disconnect)
		request_exit();
	else
		vhd_loop_post(s->watcher->loop, &s->rearm_post);
}

static void rearm_post_cb(struct vhd_post *p)
{
	struct vsocket *s = (struct vsocket *)((char *)p - offsetof(struct vsocket, rearm_post));

	if (vhd_loop_add(s->watcher->loop, &s->listen_h, EPOLLIN) < 0) {
		LOG_ERR("%s: cannot watch the listening socket: %s", s->name, strerror(errno));
		request_exit();
	}
}

static struct worker *pool;
static unsigned pool_size;

/* The worker with the fewest connections; ties go to `prefer` (no
 * hand-off across threads), then to the lowest index. */
static struct worker *least_loaded(struct worker *prefer)
{
	struct worker *best = prefer;
	unsigned best_n = __atomic_load_n(&prefer->nconn, __ATOMIC_SEQ_CST);

	for (unsigned i = 0; i < pool_size; i++) {
		unsigned n = __atomic_load_n(&pool[i].nconn, __ATOMIC_SEQ_CST);
		if (n < best_n) {
			best = &pool[i];
			best_n = n;
		}
	}
	return best;
}

/* Hand fd to the least-loaded worker (counted there at once, so the next
 * accept elsewhere sees the load). */
static void hand_off(struct vsocket *s, struct worker *from, int fd)
{
	struct worker *w = least_loaded(from);

	__atomic_fetch_add(&w->nconn, 1, __ATOMIC_SEQ_CST);
	s->server = w;
	s->pending_fd = fd;
	vhd_loop_post(w->loop, &s->start_post);
}

static void listen_cb(struct vhd_handler *h, uint32_t events)
{
	struct vsocket *s = h->opaque;
	int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			LOG_WARN("%s: accept: %s", s->name, strerror(errno));
		return;
	}
	LOG_INFO("%s: frontend connected", s->name);
	/* One frontend at a time: the next waits in the backlog. */
	vhd_loop_del(&s->listen_h);
	hand_off(s, s->watcher, fd);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	if (vhd_loop_run(w->loop) < 0)
		request_exit();
	/* Stopped: end what this worker serves, on its own thread. */
	while (w->conns)
		end_connection(w->conns, false);
	return NULL;
}

/* The listening socket of one device socket (vhd_unix_listen, declared in
 * vhost-device.h); errors are printed with the program's name. */
static int listen_on(const char *path, const char *prog)
{
	char err[600];
	int fd = vhd_unix_listen(path, SOCK_STREAM, 16, err, sizeof(err));

	if (fd < 0) {
		fprintf(stderr, "%s: %s\n", prog, err);
		return -1;
	}
	return fd;
}

/* --fd: a listening socket (libvirt's virtiofsd style) or a connected one
 * (libvirt's vhost-user-gpu style); SO_ACCEPTCONN tells which.  *conn_fd
 * is set for a connected one. */
static int adopt_fd(struct vsocket *s, int fd, const char *prog, int *conn_fd)
{
	int type = 0, acc = 0;
	socklen_t len = sizeof(type);
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
		fprintf(stderr, "%s: --fd %d is not a socket (%s)\n", prog, fd, strerror(errno));
		return -1;
	}
	if (type != SOCK_STREAM || ss.ss_family != AF_UNIX) {
		fprintf(stderr, "%s: --fd %d must be a Unix stream socket\n", prog, fd);
		return -1;
	}
	len = sizeof(acc);
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len) < 0) {
		fprintf(stderr, "%s: --fd %d: %s\n", prog, fd, strerror(errno));
		return -1;
	}
	if (acc) {
		int fl = fcntl(fd, F_GETFL);
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
		s->listen_fd = fd;
	} else {
		*conn_fd = fd;
		s->exit_on_disconnect = true;
	}
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	snprintf(s->name, sizeof(s->name), "fd%d", fd);
	return 0;
}

/* Default pool size: the CPUs this process may run on (taskset, cgroup
 * cpusets), never more than there are sockets. */
static unsigned pool_size_for(unsigned requested, unsigned nsockets)
{
	unsigned n = requested;

	if (!n) {
		cpu_set_t set;
		n = sched_getaffinity(0, sizeof(set), &set) == 0 ? (unsigned)CPU_COUNT(&set) : 1;
	}
	if (n > nsockets)
		n = nsockets;
	return n ? n : 1;
}

/* A guest costs several fds (socket, kick/call/err eventfds, memory
 * regions, timers): hundreds of guests pass the usual soft limit of 1024,
 * so take what the hard limit allows. */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* After every worker is joined: nothing runs but this thread. */
static void free_all(struct vsocket *ss, unsigned n)
{
	for (unsigned i = 0; i < n && ss; i++) {
		struct vsocket *s = &ss[i];
		if (s->pending_fd >= 0)
			close(s->pending_fd);   /* handed off, never taken */
		if (s->listen_fd >= 0) {
			vhd_loop_del(&s->listen_h);
			close(s->listen_fd);
		}
		/* After --user, the directory may not be writable any more
		 * (docs/security.md): the file stays, the exit goes on. */
		if (s->path && unlink(s->path) < 0 && errno != ENOENT)
			LOG_WARN("%s: cannot remove the socket file: %s", s->path, strerror(errno));
		if (s->priv && s->ops->instance_free)
			s->ops->instance_free(s->priv);
	}
	free(ss);
	for (unsigned i = 0; i < pool_size && pool; i++)
		vhd_loop_free(pool[i].loop);
	free(pool);
	pool = NULL;
	pool_size = 0;
}

int vhd_main(const struct vu_device_ops *ops, void *ctx, int argc, char **argv)
{
	struct vhd_options o;
	struct vsocket *ss;
	sigset_t set;
	unsigned n;
	int r, status = 0, conn_fd = -1;
	const char *prog = argc > 0 && argv[0] ? argv[0] : "vhost-device";
	char err[256];

	vhd_log_set_program(prog);
	/* A faulty table is the device author's bug: say so before anything
	 * (even --help) runs, rather than crash on the first request. */
	if (vhd_ops_check(ops, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", prog, err);
		return 1;
	}
	r = vhd_cli_parse(ops, ctx, argc, argv, &o);
	if (r >= 0)
		return r;

	raise_fd_limit();
	n = o.fd >= 0 ? 1 : o.socket_count;
	pool_size = pool_size_for(o.workers, n);
	ss = calloc(n, sizeof(*ss));
	pool = calloc(pool_size, sizeof(*pool));
	if (!ss || !pool) {
		free(ss);
		free(pool);
		vhd_cli_free(&o);
		return 1;
	}
	/* Signals go to the main thread only: block them before any thread. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	main_thread = pthread_self();

	for (unsigned i = 0; i < n; i++) {
		ss[i].listen_fd = -1;
		ss[i].pending_fd = -1;
	}
	/* Before any loop exists: the pool's and the queue threads'. */
	vhd_loop_set_poll_max(o.poll_max_ns);
	for (unsigned i = 0; i < pool_size; i++) {
		pool[i].index = i;
		pool[i].loop = vhd_loop_new();
		if (!pool[i].loop)
			goto fail;
	}
	for (unsigned i = 0; i < n; i++) {
		struct vsocket *s = &ss[i];
		s->ops = ops;
		s->extra_protocol = o.extra_protocol;
		s->watcher = &pool[i % pool_size];
		s->listen_h.cb = listen_cb;
		s->listen_h.opaque = s;
		s->start_post.fn = start_post_cb;
		s->rearm_post.fn = rearm_post_cb;
		if (ops->instance_new && ops->instance_new(ctx, i, n, &s->priv) < 0)
			goto fail;
		if (o.fd >= 0) {
			if (adopt_fd(s, o.fd, prog, &conn_fd) < 0)
				goto fail;
		} else {
			snprintf(s->name, sizeof(s->name), "%s", o.socket_names[i]);
			s->listen_fd = listen_on(o.socket_names[i], prog);
			if (s->listen_fd < 0)
				goto fail;
			s->path = o.socket_names[i];
		}
		s->listen_h.fd = s->listen_fd;
		if (s->listen_fd >= 0 && vhd_loop_add(s->watcher->loop, &s->listen_h, EPOLLIN) < 0) {
			fprintf(stderr, "%s: %s: cannot watch the listening socket: %s\n", prog,
				s->name, strerror(errno));
			goto fail;
		}
	}
	if (conn_fd >= 0)
		hand_off(&ss[0], &pool[0], conn_fd);   /* runs once the worker starts */
	/* Start-up is over: sockets listen, instances hold their host
	 * resources.  --user/--group take effect now, while no worker runs
	 * and before the sandbox (which has no set*id calls); from here on
	 * only the allow-list's calls run (docs/security.md); the workers are
	 * made under it. */
	if (vhd_privdrop_apply(&o.privdrop, prog, o.fd >= 0 ? NULL : o.socket_names, n) < 0)
		goto fail;
	if (vhd_sandbox_install(o.sandbox, prog, ops, ctx,
				o.extra_protocol & VHD_BIT(VHU_PF_XEN_MMAP)) < 0)
		goto fail;
	for (unsigned i = 0; i < pool_size; i++) {
		if (pthread_create(&pool[i].thread, NULL, worker_main, &pool[i]) != 0) {
			fprintf(stderr, "%s: cannot start a worker thread\n", prog);
			status = 1;
			break;
		}
		pool[i].thread_started = true;
	}
	for (unsigned i = 0; i < n && status == 0; i++)
		if (ss[i].listen_fd >= 0)
			LOG_INFO("%s: listening", ss[i].name);
	LOG_INFO("%u sockets served by %u worker threads", n, pool_size);

	while (status == 0 && !__atomic_load_n(&quit_requested, __ATOMIC_SEQ_CST)) {
		int sig = sigwaitinfo(&set, NULL);
		if (sig == SIGTERM || sig == SIGINT) {
			LOG_INFO("signal %d: shutting down", sig);
			break;
		}
	}
	for (unsigned i = 0; i < pool_size; i++)
		vhd_loop_stop(pool[i].loop);
	for (unsigned i = 0; i < pool_size; i++)
		if (pool[i].thread_started)
			pthread_join(pool[i].thread, NULL);
	free_all(ss, n);
	vhd_cli_free(&o);
	return status;
fail:
	free_all(ss, n);
	vhd_cli_free(&o);
	return 1;
}
