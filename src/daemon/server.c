/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * The daemon: one worker thread per socket, each with its own event loop
 * that serves one frontend connection at a time (its messages, kick fds
 * and the device's timers), so a device instance needs no locks.
 *
 * The listening socket stays bound for the life of the process: after a
 * frontend disconnects the worker accepts the next one on the same socket
 * (no window where the path is missing).  While a connection is served,
 * further connections wait in the backlog.
 *
 * SIGTERM/SIGINT: the main thread stops every worker, removes the socket
 * files this process created, and returns.
 */
#include "config.h"
#include "vhost-device.h"
#include "daemon/cli.h"
#include "vhost-user/vu-dev.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* A frontend that stalls mid-message for this long is dropped. */
#define MSG_TIMEOUT_SEC 10

struct worker {
	const struct vu_device_ops *ops;
	void *priv;
	char name[128];
	const char *path;           /* socket file we created, or NULL */
	int listen_fd;              /* -1: serve conn_fd only */
	int conn_fd;
	bool exit_on_disconnect;
	struct vhd_loop *loop;
	struct vhd_handler listen_h;
	struct vhd_handler conn_h;
	struct vu_dev *dev;
	struct vu_msg *msg;
	pthread_t thread;
	bool thread_started;
	pthread_t main_thread;
	uint64_t extra_protocol;
};

static volatile int workers_running;

static void end_connection(struct worker *w)
{
	vhd_loop_del(&w->conn_h);
	vu_dev_destroy(w->dev);
	w->dev = NULL;
	close(w->conn_fd);
	w->conn_fd = -1;
	if (w->exit_on_disconnect) {
		vhd_loop_stop(w->loop);
		return;
	}
	/* Ready for the next frontend on the same, still bound, socket. */
	if (vhd_loop_add(w->loop, &w->listen_h, EPOLLIN) < 0) {
		LOG_ERR("%s: cannot watch the listening socket: %s", w->name, strerror(errno));
		vhd_loop_stop(w->loop);
	}
}

static void conn_cb(struct vhd_handler *h, uint32_t events)
{
	struct worker *w = h->opaque;
	int r = vu_msg_recv(w->conn_fd, w->msg);

	if (r == 0)
		r = vu_dev_handle_message(w->dev, w->msg);
	if (r == 0)
		return;
	if (r == -ECONNRESET)
		LOG_INFO("%s: frontend disconnected", w->name);
	else
		LOG_WARN("%s: closing the frontend connection: %s", w->name,
			 r == -EPROTO ? "protocol error" :
			 r == -EMSGSIZE ? "message too large" :
			 r == -EBADMSG ? "file descriptors truncated (too many, or dropped by a security module)" :
			 r == -EAGAIN ? "frontend stalled in the middle of a message" :
			 strerror(-r));
	end_connection(w);
}

static int start_connection(struct worker *w, int fd)
{
	struct timeval tv = { .tv_sec = MSG_TIMEOUT_SEC };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	w->conn_fd = fd;
	w->dev = vu_dev_new(w->ops, w->priv, w->name, fd, w->loop, w->extra_protocol);
	if (!w->dev) {
		LOG_ERR("%s: out of memory for a new connection", w->name);
		close(fd);
		w->conn_fd = -1;
		return -ENOMEM;
	}
	w->conn_h.fd = fd;
	w->conn_h.cb = conn_cb;
	w->conn_h.opaque = w;
	if (vhd_loop_add(w->loop, &w->conn_h, EPOLLIN) < 0) {
		int e = -errno;
		vu_dev_destroy(w->dev);
		w->dev = NULL;
		close(fd);
		w->conn_fd = -1;
		return e;
	}
	return 0;
}

static void listen_cb(struct vhd_handler *h, uint32_t events)
{
	struct worker *w = h->opaque;
	int fd = accept4(w->listen_fd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			LOG_WARN("%s: accept: %s", w->name, strerror(errno));
		return;
	}
	LOG_INFO("%s: frontend connected", w->name);
	/* One frontend at a time: the next waits in the backlog. */
	vhd_loop_del(&w->listen_h);
	if (start_connection(w, fd) < 0 && vhd_loop_add(w->loop, &w->listen_h, EPOLLIN) < 0)
		vhd_loop_stop(w->loop);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	if (w->listen_fd >= 0) {
		if (vhd_loop_add(w->loop, &w->listen_h, EPOLLIN) < 0) {
			LOG_ERR("%s: cannot watch the listening socket: %s", w->name, strerror(errno));
			goto out;
		}
	} else if (start_connection(w, w->conn_fd) < 0) {
		goto out;
	}
	vhd_loop_run(w->loop);
out:
	if (w->dev) {
		vhd_loop_del(&w->conn_h);
		vu_dev_destroy(w->dev);
		w->dev = NULL;
		close(w->conn_fd);
		w->conn_fd = -1;
	}
	vhd_loop_del(&w->listen_h);
	__atomic_fetch_sub(&workers_running, 1, __ATOMIC_SEQ_CST);
	/* Wake the main thread so it notices a worker that ended by itself. */
	pthread_kill(w->main_thread, SIGUSR1);
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
 * (libvirt's vhost-user-gpu style); SO_ACCEPTCONN tells which. */
static int adopt_fd(struct worker *w, int fd, const char *prog)
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
		w->listen_fd = fd;
	} else {
		w->conn_fd = fd;
		w->exit_on_disconnect = true;
	}
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	snprintf(w->name, sizeof(w->name), "fd%d", fd);
	return 0;
}

static void free_workers(struct worker *ws, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct worker *w = &ws[i];
		if (w->listen_fd >= 0)
			close(w->listen_fd);
		if (w->path)
			unlink(w->path);
		if (w->priv && w->ops->instance_free)
			w->ops->instance_free(w->priv);
		vhd_loop_free(w->loop);
		free(w->msg);
	}
	free(ws);
}

int vhd_main(const struct vu_device_ops *ops, void *ctx, int argc, char **argv)
{
	struct vhd_options o;
	struct worker *ws;
	sigset_t set;
	unsigned n;
	int r, status = 0;
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

	n = o.fd >= 0 ? 1 : o.socket_count;
	ws = calloc(n, sizeof(*ws));
	if (!ws) {
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

	for (unsigned i = 0; i < n; i++) {
		struct worker *w = &ws[i];
		w->ops = ops;
		w->listen_fd = -1;
		w->conn_fd = -1;
		w->main_thread = pthread_self();
		w->extra_protocol = o.extra_protocol;
		w->listen_h.cb = listen_cb;
		w->listen_h.opaque = w;
		w->loop = vhd_loop_new();
		w->msg = calloc(1, sizeof(*w->msg));
		if (!w->loop || !w->msg)
			goto fail;
		if (ops->instance_new && ops->instance_new(ctx, i, n, &w->priv) < 0)
			goto fail;
		if (o.fd >= 0) {
			if (adopt_fd(w, o.fd, prog) < 0)
				goto fail;
		} else {
			snprintf(w->name, sizeof(w->name), "%s", o.socket_names[i]);
			w->listen_fd = listen_on(o.socket_names[i], prog);
			if (w->listen_fd < 0)
				goto fail;
			w->path = o.socket_names[i];
		}
		w->listen_h.fd = w->listen_fd;
	}
	for (unsigned i = 0; i < n; i++) {
		__atomic_fetch_add(&workers_running, 1, __ATOMIC_SEQ_CST);
		if (pthread_create(&ws[i].thread, NULL, worker_main, &ws[i]) != 0) {
			__atomic_fetch_sub(&workers_running, 1, __ATOMIC_SEQ_CST);
			fprintf(stderr, "%s: cannot start a worker thread\n", prog);
			status = 1;
			break;
		}
		ws[i].thread_started = true;
		LOG_INFO("%s: listening", ws[i].name);
	}

	while (status == 0 && __atomic_load_n(&workers_running, __ATOMIC_SEQ_CST) > 0) {
		int sig = sigwaitinfo(&set, NULL);
		if (sig == SIGTERM || sig == SIGINT) {
			LOG_INFO("signal %d: shutting down", sig);
			break;
		}
	}
	for (unsigned i = 0; i < n; i++)
		if (ws[i].loop)
			vhd_loop_stop(ws[i].loop);
	for (unsigned i = 0; i < n; i++)
		if (ws[i].thread_started)
			pthread_join(ws[i].thread, NULL);
	free_workers(ws, n);
	vhd_cli_free(&o);
	return status;
fail:
	free_workers(ws, n);
	vhd_cli_free(&o);
	return 1;
}
