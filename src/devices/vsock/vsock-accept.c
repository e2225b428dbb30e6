/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Accepting host connections for one vsock device (vsock-mux-int.h): the
 * listeners (uds_path, its _seqpacket twin, the --forward-listen AF_VSOCK
 * ports), hybrid clients until their CONNECT line, and the connection
 * each becomes.  Runs on the device's worker thread like the rest of the
 * engine.
 */
#include "config.h"
#include "devices/vsock/vsock-mux.h"
#include "devices/vsock/vsock-mux-int.h"
#include "devices/vsock/vsock-conn.h"
#include "devices/vsock/vsock-host.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static uint32_t alloc_port(struct vsock_mux *m, uint32_t peer_port)
{
	for (unsigned tries = 0; tries < 2 * VSOCK_MAX_CONNS + 2; tries++) {
		uint32_t p = m->next_port++;
		if (m->next_port == 0xffffffffu || m->next_port < VSOCK_LOCAL_PORT_BASE)
			m->next_port = VSOCK_LOCAL_PORT_BASE;
		if (!mux_lookup(m, p, peer_port))
			return p;
	}
	return 0;       /* unreachable: at most VSOCK_MAX_CONNS are in use */
}

/* A host socket wants to reach guest port `port`.  hybrid: a uds_path
 * client (owed "OK"), else an AF_VSOCK one. */
static void open_host_conn(struct vsock_mux *m, int fd, int type, uint32_t port, bool hybrid)
{
	uint16_t vtype = type == SOCK_SEQPACKET ? VSOCK_TYPE_SEQPACKET : VSOCK_TYPE_STREAM;
	struct vsock_conn *c;

	if (vtype == VSOCK_TYPE_SEQPACKET && !mux_seqpacket(m)) {
		LOG_INFO("%s: host SEQPACKET client for guest port %u: the guest did not negotiate SEQPACKET; closed",
			 m->name, port);
		close(fd);
		return;
	}
	if (m->n_conns >= VSOCK_MAX_CONNS) {
		vhd_log_ratelimited(&m->log_budget, 10, VHD_LOG_WARN,
				    "%s: %u connections open; closing a host client for guest port %u",
				    m->name, m->n_conns, port);
		close(fd);
		return;
	}
	c = vsock_conn_new(&m->cfg, vtype, VSOCK_CID_HOST, alloc_port(m, port), port, fd);
	if (!c || mux_conn_add(m, c) < 0) {
		if (c)
			vsock_conn_free(c);
		else
			close(fd);
		return;
	}
	vsock_conn_start_host(c, hybrid);
	c->deadline_ns = mux_now_ns() + VSOCK_CONNECT_TIMEOUT_NS;
	LOG_DEBUG("%s: host client -> guest port %u as host port %u", m->name, port, c->local_port);
	mux_sync_conn(m, c);
}

void mux_client_free(struct vsock_mux *m, struct mux_client *cl, bool close_fd)
{
	vhd_loop_del(&cl->h);
	if (close_fd)
		close(cl->h.fd);
	if (cl->prev)
		cl->prev->next = cl->next;
	else
		m->clients = cl->next;
	if (cl->next)
		cl->next->prev = cl->prev;
	m->n_clients--;
	free(cl);
}

static void client_cb(struct vhd_handler *h, uint32_t events)
{
	struct mux_client *cl = h->opaque;
	struct vsock_mux *m = cl->m;
	uint32_t port;
	int fd = h->fd, type = cl->type;
	int r = vsock_read_connect(fd, type, &port);

	if (r == -EAGAIN)
		return;
	if (r < 0) {
		if (r == -EINVAL)
			vhd_log_ratelimited(&m->log_budget, 10, VHD_LOG_WARN,
					    "%s: host client sent no valid 'CONNECT <port>' line; closed",
					    m->name);
		mux_client_free(m, cl, true);
		return;
	}
	mux_client_free(m, cl, false);
	open_host_conn(m, fd, type, port, true);
	mux_rx(m);
}

static void pause_accept(struct vsock_mux *m)
{
	for (unsigned i = 0; i < m->n_listeners; i++)
		vhd_loop_del(&m->listeners[i].h);
	m->accept_paused = true;
	mux_arm_timer(m);
}

static void listener_cb(struct vhd_handler *h, uint32_t events)
{
	struct mux_listener *l = h->opaque;
	struct vsock_mux *m = l->m;

	for (int i = 0; i < MUX_ACCEPT_BURST; i++) {
		int fd = accept4(h->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		struct mux_client *cl;

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				vhd_log_ratelimited(&m->log_budget, 10, VHD_LOG_ERROR,
						    "%s: accept: %s; pausing host connections",
						    m->name, strerror(errno));
				pause_accept(m);
			}
			break;
		}
		if (l->kind == L_VSOCK) {
			open_host_conn(m, fd, SOCK_STREAM, l->port, false);
			continue;
		}
		if (m->n_clients >= VSOCK_MAX_CLIENTS) {
			vhd_log_ratelimited(&m->log_budget, 10, VHD_LOG_WARN,
					    "%s: %u host clients still owe their CONNECT line; closing a new one",
					    m->name, m->n_clients);
			close(fd);
			continue;
		}
		cl = calloc(1, sizeof(*cl));
		if (!cl) {
			close(fd);
			continue;
		}
		cl->h.fd = fd;
		cl->h.cb = client_cb;
		cl->h.opaque = cl;
		cl->m = m;
		cl->type = l->kind == L_UDS_SEQPACKET ? SOCK_SEQPACKET : SOCK_STREAM;
		cl->deadline_ns = mux_now_ns() + VSOCK_CONNECT_TIMEOUT_NS;
		if (vhd_loop_add(m->loop, &cl->h, EPOLLIN) < 0) {
			close(fd);
			free(cl);
			continue;
		}
		cl->next = m->clients;
		if (m->clients)
			m->clients->prev = cl;
		m->clients = cl;
		m->n_clients++;
		mux_arm_timer(m);
	}
	mux_rx(m);
}

void mux_listen_start(struct vsock_mux *m)
{
	for (unsigned i = 0; i < m->n_listeners; i++)
		if (!m->listeners[i].h.loop && vhd_loop_add(m->loop, &m->listeners[i].h, EPOLLIN) < 0)
			LOG_ERR("%s: cannot watch a host listener: %s", m->name, strerror(errno));
	m->listening = true;
	m->accept_paused = false;
}

void mux_listen_stop(struct vsock_mux *m)
{
	for (unsigned i = 0; i < m->n_listeners; i++)
		vhd_loop_del(&m->listeners[i].h);
	m->listening = false;
}

/* Close the host clients whose CONNECT line is overdue; true if some
 * are still waiting (the timer must run again). */
bool mux_clients_expire(struct vsock_mux *m, uint64_t now)
{
	struct mux_client *cl, *ncl;
	bool again = false;

	for (cl = m->clients; cl; cl = ncl) {
		ncl = cl->next;
		if (now >= cl->deadline_ns) {
			vhd_log_ratelimited(&m->log_budget, 10, VHD_LOG_WARN,
					    "%s: host client sent no CONNECT line within %llu s; closed",
					    m->name, VSOCK_CONNECT_TIMEOUT_NS / 1000000000ull);
			mux_client_free(m, cl, true);
		} else {
			again = true;
		}
	}
	return again;
}

int mux_add_listener(struct vsock_mux *m, enum listener_kind kind, int fd,
			const char *path, uint32_t port)
{
	struct mux_listener *l = &m->listeners[m->n_listeners++];

	l->h.fd = fd;
	l->h.cb = listener_cb;
	l->h.opaque = l;
	l->m = m;
	l->kind = kind;
	l->port = port;
	if (path) {
		l->path = strdup(path);
		if (!l->path)
			return -ENOMEM;
	}
	return 0;
}
