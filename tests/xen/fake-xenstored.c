/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/* A tiny in-memory xenstored for tests (fake-xenstored.h). */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <xen/io/xs_wire.h>

#include "fake-xenstored.h"

#define FXS_MAX_CONN 32
#define FXS_MAX_TX 16
#define DOM0_PATH "/local/domain/0"

struct node {
	char *path;
	char *val;
	size_t len;
};

struct store {
	struct node *n;
	size_t count, cap;
};

/* A logged change of a transaction: a write (val != NULL or mkdir) or a
 * removal, replayed on commit. */
enum { OP_WRITE, OP_MKDIR, OP_RM };
struct txop {
	int op;
	char *path;
	char *val;
	size_t len;
};

struct tx {
	uint32_t id;
	int conn;               /* index, -1: free */
	struct store copy;
	struct txop *ops;
	size_t nops, capops;
};

struct watch {
	struct watch *next;
	char *path;             /* absolute */
	char *token;
	bool relative;
};

struct conn {
	int fd;                 /* -1: free */
	struct watch *watches;
	struct xsd_sockmsg hdr;
	size_t got;             /* bytes of header + payload read */
	char buf[XENSTORE_PAYLOAD_MAX + 1];
};

struct fxs {
	pthread_t thr;
	int lfd, wake[2];
	char path[108];
	struct store st;
	struct conn c[FXS_MAX_CONN];
	struct tx tx[FXS_MAX_TX];
	uint32_t next_tx;
	uint64_t events;
	unsigned nconn;
};

/* ---- the store ---------------------------------------------------------- */

static struct node *st_find(struct store *s, const char *p)
{
	for (size_t i = 0; i < s->count; i++)
		if (!strcmp(s->n[i].path, p))
			return &s->n[i];
	return NULL;
}

static int st_set(struct store *s, const char *p, const char *v, size_t len, bool keep)
{
	struct node *n = st_find(s, p);
	char *nv = malloc(len + 1);

	if (!nv)
		return -ENOMEM;
	memcpy(nv, v, len);
	nv[len] = 0;
	if (n) {
		if (keep) {
			free(nv);
			return 0;
		}
		free(n->val);
		n->val = nv;
		n->len = len;
		return 0;
	}
	if (s->count == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct node *t = realloc(s->n, cap * sizeof(*t));

		if (!t) {
			free(nv);
			return -ENOMEM;
		}
		s->n = t;
		s->cap = cap;
	}
	s->n[s->count].path = strdup(p);
	if (!s->n[s->count].path) {
		free(nv);
		return -ENOMEM;
	}
	s->n[s->count].val = nv;
	s->n[s->count].len = len;
	s->count++;
	return 0;
}

/* Write p (creating its missing ancestors empty, as xenstored does). */
static int st_write(struct store *s, const char *p, const char *v, size_t len, bool mkdir)
{
	char tmp[XENSTORE_ABS_PATH_MAX + 1];
	int r;

	snprintf(tmp, sizeof(tmp), "%s", p);
	for (char *q = tmp + 1; (q = strchr(q, '/')); q++) {
		*q = 0;
		r = st_set(s, tmp, "", 0, true);
		*q = '/';
		if (r < 0)
			return r;
	}
	return st_set(s, p, v, len, mkdir);
}

static bool below(const char *p, const char *top)
{
	size_t l = strlen(top);

	if (!strcmp(top, "/"))
		return true;
	return !strncmp(p, top, l) && (p[l] == 0 || p[l] == '/');
}

static void st_rm(struct store *s, const char *p)
{
	for (size_t i = 0; i < s->count;) {
		if (below(s->n[i].path, p)) {
			free(s->n[i].path);
			free(s->n[i].val);
			s->n[i] = s->n[--s->count];
		} else {
			i++;
		}
	}
}

static void st_free(struct store *s)
{
	st_rm(s, "/");
	free(s->n);
	memset(s, 0, sizeof(*s));
}

static int st_copy(struct store *d, struct store *s)
{
	memset(d, 0, sizeof(*d));
	for (size_t i = 0; i < s->count; i++)
		if (st_set(d, s->n[i].path, s->n[i].val, s->n[i].len, false) < 0) {
			st_free(d);
			return -ENOMEM;
		}
	return 0;
}

/* ---- messages ----------------------------------------------------------- */

static int send_all(int fd, const void *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p = (const char *)p + w;
		n -= (size_t)w;
	}
	return 0;
}

static void reply(struct fxs *s, int ci, uint32_t type, const struct xsd_sockmsg *req,
		  const void *body, size_t len)
{
	struct xsd_sockmsg h = { type, req ? req->req_id : 0, req ? req->tx_id : 0,
				 (uint32_t)len };

	if (s->c[ci].fd < 0)
		return;
	/* A dead client: its poll reports the hang-up. */
	if (send_all(s->c[ci].fd, &h, sizeof(h)) == 0 && len)
		(void)send_all(s->c[ci].fd, body, len);
}

static void reply_err(struct fxs *s, int ci, const struct xsd_sockmsg *req, int e)
{
	const char *name = e == ENOENT ? "ENOENT" : e == EEXIST ? "EEXIST" :
			   e == ENOMEM ? "ENOMEM" : e == E2BIG ? "E2BIG" :
			   e == ENOSPC ? "ENOSPC" : e == EACCES ? "EACCES" : "EINVAL";

	reply(s, ci, XS_ERROR, req, name, strlen(name) + 1);
}

static void reply_ok(struct fxs *s, int ci, const struct xsd_sockmsg *req)
{
	reply(s, ci, req->type, req, "OK", 3);
}

/* Absolute form of a client path, validated as xenstored does
 * (characters, no empty component, no trailing slash, length). */
static int resolve(const char *p, char *out, size_t cap, bool *rel)
{
	size_t n = strlen(p);

	*rel = p[0] != '/';
	if (p[0] == '@') {          /* special watch paths */
		if (n >= cap)
			return -EINVAL;
		memcpy(out, p, n + 1);
		return 0;
	}
	if (!n || n > (*rel ? XENSTORE_REL_PATH_MAX : XENSTORE_ABS_PATH_MAX))
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		char c = p[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || strchr("-/_@", c)))
			return -EINVAL;
		if (c == '/' && i + 1 < n && p[i + 1] == '/')
			return -EINVAL;
	}
	if (n > 1 && p[n - 1] == '/')
		return -EINVAL;
	if (snprintf(out, cap, "%s%s", *rel ? DOM0_PATH "/" : "", p) >= (int)cap)
		return -EINVAL;
	return 0;
}

static void fire(struct fxs *s, const char *changed, bool removed)
{
	for (int ci = 0; ci < FXS_MAX_CONN; ci++) {
		if (s->c[ci].fd < 0)
			continue;
		for (struct watch *w = s->c[ci].watches; w; w = w->next) {
			const char *ev;
			char buf[XENSTORE_ABS_PATH_MAX + 256];
			size_t l;

			if (below(changed, w->path))
				ev = changed;
			else if (removed && below(w->path, changed))
				ev = w->path;
			else
				continue;
			if (w->relative && !strncmp(ev, DOM0_PATH "/", strlen(DOM0_PATH "/")))
				ev += strlen(DOM0_PATH "/");
			l = (size_t)snprintf(buf, sizeof(buf), "%s%c%s", ev, 0, w->token) + 1;
			if (l > sizeof(buf))
				continue;
			reply(s, ci, XS_WATCH_EVENT, NULL, buf, l);
			__atomic_add_fetch(&s->events, 1, __ATOMIC_SEQ_CST);
		}
	}
}

static struct tx *find_tx(struct fxs *s, int ci, uint32_t id)
{
	for (int i = 0; i < FXS_MAX_TX; i++)
		if (s->tx[i].conn == ci && s->tx[i].id == id)
			return &s->tx[i];
	return NULL;
}

static void tx_free(struct tx *t)
{
	st_free(&t->copy);
	for (size_t i = 0; i < t->nops; i++) {
		free(t->ops[i].path);
		free(t->ops[i].val);
	}
	free(t->ops);
	memset(t, 0, sizeof(*t));
	t->conn = -1;
}

static int tx_log(struct tx *t, int op, const char *p, const char *v, size_t len)
{
	struct txop *o;

	if (t->nops == t->capops) {
		size_t cap = t->capops ? t->capops * 2 : 16;
		struct txop *n = realloc(t->ops, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		t->ops = n;
		t->capops = cap;
	}
	o = &t->ops[t->nops];
	o->op = op;
	o->path = strdup(p);
	o->val = malloc(len + 1);
	if (!o->path || !o->val) {
		free(o->path);
		free(o->val);
		return -ENOMEM;
	}
	memcpy(o->val, v, len);
	o->len = len;
	t->nops++;
	return 0;
}

/* Apply one change to the live store (firing watches) or log it in a
 * transaction's copy. */
static int apply(struct fxs *s, struct tx *t, int op, const char *p, const char *v, size_t len)
{
	struct store *st = t ? &t->copy : &s->st;
	int r = 0;

	if (op == OP_RM) {
		char parent[XENSTORE_ABS_PATH_MAX + 1];
		char *slash;

		if (!st_find(st, p)) {
			/* xenstored: removing a missing node is fine if its
			 * parent exists. */
			snprintf(parent, sizeof(parent), "%s", p);
			slash = strrchr(parent, '/');
			if (slash && slash != parent)
				*slash = 0;
			else if (slash)
				slash[1] = 0;
			return st_find(st, parent) ? 0 : -ENOENT;
		}
		if (!strcmp(p, "/"))
			return -EINVAL;
		st_rm(st, p);
	} else {
		r = st_write(st, p, v, len, op == OP_MKDIR);
	}
	if (r < 0)
		return r;
	if (t)
		return tx_log(t, op, p, v, len);
	fire(s, p, op == OP_RM);
	return 0;
}

static void handle(struct fxs *s, int ci)
{
	struct conn *c = &s->c[ci];
	struct xsd_sockmsg *h = &c->hdr;
	char *body = c->buf;
	size_t len = h->len;
	char abs[XENSTORE_ABS_PATH_MAX + 64];
	struct tx *t = NULL;
	bool rel;
	int r;

	body[len] = 0;              /* buf has one spare byte */
	if (h->tx_id && h->type != XS_TRANSACTION_START) {
		t = find_tx(s, ci, h->tx_id);
		if (!t) {
			reply_err(s, ci, h, ENOENT);
			return;
		}
	}
	switch (h->type) {
	case XS_READ: {
		struct node *n;

		if (resolve(body, abs, sizeof(abs), &rel) < 0) {
			reply_err(s, ci, h, EINVAL);
			return;
		}
		n = st_find(t ? &t->copy : &s->st, abs);
		if (!n)
			reply_err(s, ci, h, ENOENT);
		else
			reply(s, ci, XS_READ, h, n->val, n->len);
		return;
	}
	case XS_WRITE:
	case XS_MKDIR:
	case XS_RM: {
		size_t pl = strnlen(body, len);

		if (pl == len && h->type == XS_WRITE) {
			reply_err(s, ci, h, EINVAL);
			return;
		}
		if (resolve(body, abs, sizeof(abs), &rel) < 0 || abs[0] != '/') {
			reply_err(s, ci, h, EINVAL);
			return;
		}
		r = apply(s, t, h->type == XS_WRITE ? OP_WRITE :
			  h->type == XS_MKDIR ? OP_MKDIR : OP_RM, abs,
			  h->type == XS_WRITE ? body + pl + 1 : "",
			  h->type == XS_WRITE ? len - pl - 1 : 0);
		if (r < 0)
			reply_err(s, ci, h, -r);
		else
			reply_ok(s, ci, h);
		return;
	}
	case XS_DIRECTORY: {
		struct store *st = t ? &t->copy : &s->st;
		char out[XENSTORE_PAYLOAD_MAX];
		size_t ol = 0, al;

		if (resolve(body, abs, sizeof(abs), &rel) < 0 || !st_find(st, abs)) {
			reply_err(s, ci, h, ENOENT);
			return;
		}
		al = strcmp(abs, "/") ? strlen(abs) : 0;
		for (size_t i = 0; i < st->count; i++) {
			const char *p = st->n[i].path;
			size_t nl;

			if (strncmp(p, abs, al) || p[al] != '/' || !p[al + 1] ||
			    strchr(p + al + 1, '/'))
				continue;
			nl = strlen(p + al + 1) + 1;
			if (ol + nl > sizeof(out)) {
				reply_err(s, ci, h, E2BIG);
				return;
			}
			memcpy(out + ol, p + al + 1, nl);
			ol += nl;
		}
		reply(s, ci, XS_DIRECTORY, h, out, ol);
		return;
	}
	case XS_WATCH:
	case XS_UNWATCH: {
		size_t pl = strnlen(body, len);
		const char *tok = body + pl + 1;
		struct watch **pp, *w;

		if (pl >= len || strnlen(tok, len - pl - 1) >= len - pl - 1 ||
		    resolve(body, abs, sizeof(abs), &rel) < 0) {
			reply_err(s, ci, h, EINVAL);
			return;
		}
		for (pp = &c->watches; *pp; pp = &(*pp)->next)
			if (!strcmp((*pp)->path, abs) && !strcmp((*pp)->token, tok))
				break;
		if (h->type == XS_UNWATCH) {
			if (!*pp) {
				reply_err(s, ci, h, ENOENT);
				return;
			}
			w = *pp;
			*pp = w->next;
			free(w->path);
			free(w->token);
			free(w);
			reply_ok(s, ci, h);
			return;
		}
		if (*pp) {
			reply_err(s, ci, h, EEXIST);
			return;
		}
		w = calloc(1, sizeof(*w));
		if (!w || !(w->path = strdup(abs)) || !(w->token = strdup(tok))) {
			if (w)
				free(w->path);
			free(w);
			reply_err(s, ci, h, ENOMEM);
			return;
		}
		w->relative = rel && abs[0] == '/';
		w->next = c->watches;
		c->watches = w;
		reply_ok(s, ci, h);
		/* xenstored fires every new watch once, with its own path. */
		{
			char buf[XENSTORE_ABS_PATH_MAX + 256];
			size_t l = (size_t)snprintf(buf, sizeof(buf), "%s%c%s", body, 0, tok) + 1;

			if (l <= sizeof(buf)) {
				reply(s, ci, XS_WATCH_EVENT, NULL, buf, l);
				__atomic_add_fetch(&s->events, 1, __ATOMIC_SEQ_CST);
			}
		}
		return;
	}
	case XS_RESET_WATCHES:
		while (c->watches) {
			struct watch *w = c->watches;

			c->watches = w->next;
			free(w->path);
			free(w->token);
			free(w);
		}
		reply_ok(s, ci, h);
		return;
	case XS_TRANSACTION_START: {
		char id[16];
		int i;

		for (i = 0; i < FXS_MAX_TX && s->tx[i].conn >= 0; i++)
			;
		if (i == FXS_MAX_TX || st_copy(&s->tx[i].copy, &s->st) < 0) {
			reply_err(s, ci, h, ENOSPC);
			return;
		}
		s->tx[i].conn = ci;
		s->tx[i].id = ++s->next_tx ? s->next_tx : ++s->next_tx;
		snprintf(id, sizeof(id), "%u", s->tx[i].id);
		reply(s, ci, XS_TRANSACTION_START, h, id, strlen(id) + 1);
		return;
	}
	case XS_TRANSACTION_END:
		if (!t) {
			reply_err(s, ci, h, EINVAL);
			return;
		}
		if (!strcmp(body, "T"))
			for (size_t i = 0; i < t->nops; i++)
				(void)apply(s, NULL, t->ops[i].op, t->ops[i].path,
					    t->ops[i].val, t->ops[i].len);
		tx_free(t);
		reply_ok(s, ci, h);
		return;
	case XS_GET_DOMAIN_PATH: {
		char *end;
		unsigned long d = strtoul(body, &end, 10);

		if (!*body || *end || d > 0x7ff0) {
			reply_err(s, ci, h, EINVAL);
			return;
		}
		snprintf(abs, sizeof(abs), "/local/domain/%lu", d);
		reply(s, ci, XS_GET_DOMAIN_PATH, h, abs, strlen(abs) + 1);
		return;
	}
	case XS_GET_PERMS:
		if (resolve(body, abs, sizeof(abs), &rel) < 0 ||
		    !st_find(t ? &t->copy : &s->st, abs)) {
			reply_err(s, ci, h, ENOENT);
			return;
		}
		reply(s, ci, XS_GET_PERMS, h, "n0", 3);
		return;
	case XS_SET_PERMS:
		reply_ok(s, ci, h);
		return;
	default:
		reply_err(s, ci, h, EINVAL);
		return;
	}
}

static void conn_close(struct fxs *s, int ci)
{
	struct conn *c = &s->c[ci];

	for (int i = 0; i < FXS_MAX_TX; i++)
		if (s->tx[i].conn == ci)
			tx_free(&s->tx[i]);
	while (c->watches) {
		struct watch *w = c->watches;

		c->watches = w->next;
		free(w->path);
		free(w->token);
		free(w);
	}
	close(c->fd);
	c->fd = -1;
	c->got = 0;
	__atomic_sub_fetch(&s->nconn, 1, __ATOMIC_SEQ_CST);
}

/* Read what is there; handle each complete message. */
static void conn_read(struct fxs *s, int ci)
{
	struct conn *c = &s->c[ci];
	size_t want = c->got < sizeof(c->hdr) ? sizeof(c->hdr) : sizeof(c->hdr) + c->hdr.len;
	ssize_t n;

	if (c->got < sizeof(c->hdr))
		n = read(c->fd, (char *)&c->hdr + c->got, want - c->got);
	else
		n = read(c->fd, c->buf + (c->got - sizeof(c->hdr)), want - c->got);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		conn_close(s, ci);
		return;
	}
	c->got += (size_t)n;
	if (c->got == sizeof(c->hdr) && c->hdr.len > XENSTORE_PAYLOAD_MAX) {
		conn_close(s, ci);
		return;
	}
	if (c->got >= sizeof(c->hdr) && c->got == sizeof(c->hdr) + c->hdr.len) {
		handle(s, ci);
		c->got = 0;
	}
}

static void *fxs_thread(void *arg)
{
	struct fxs *s = arg;

	for (;;) {
		struct pollfd p[FXS_MAX_CONN + 2];
		int idx[FXS_MAX_CONN + 2];
		nfds_t n = 0;

		p[n++] = (struct pollfd){ s->wake[0], POLLIN, 0 };
		p[n++] = (struct pollfd){ s->lfd, POLLIN, 0 };
		for (int i = 0; i < FXS_MAX_CONN; i++)
			if (s->c[i].fd >= 0) {
				idx[n] = i;
				p[n++] = (struct pollfd){ s->c[i].fd, POLLIN, 0 };
			}
		if (poll(p, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[0].revents)
			break;
		if (p[1].revents & POLLIN) {
			int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
			int i;

			for (i = 0; fd >= 0 && i < FXS_MAX_CONN && s->c[i].fd >= 0; i++)
				;
			if (fd >= 0 && i < FXS_MAX_CONN) {
				s->c[i].fd = fd;
				s->c[i].got = 0;
				__atomic_add_fetch(&s->nconn, 1, __ATOMIC_SEQ_CST);
			} else if (fd >= 0) {
				close(fd);
			}
		}
		for (nfds_t k = 2; k < n; k++)
			if (p[k].revents)
				conn_read(s, idx[k]);
	}
	return NULL;
}

int fxs_start(const char *path, struct fxs **out)
{
	struct fxs *s = calloc(1, sizeof(*s));
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int r;

	if (!s)
		return -ENOMEM;
	if (strlen(path) >= sizeof(a.sun_path)) {
		free(s);
		return -ENAMETOOLONG;
	}
	snprintf(s->path, sizeof(s->path), "%s", path);
	for (int i = 0; i < FXS_MAX_CONN; i++)
		s->c[i].fd = -1;
	for (int i = 0; i < FXS_MAX_TX; i++)
		s->tx[i].conn = -1;
	if (st_write(&s->st, "/", "", 0, false) < 0)
		goto fail_mem;
	s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->lfd < 0)
		goto fail;
	memcpy(a.sun_path, path, strlen(path) + 1);
	unlink(path);
	if (bind(s->lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s->lfd, 16) < 0 ||
	    pipe2(s->wake, O_CLOEXEC) < 0)
		goto fail;
	r = pthread_create(&s->thr, NULL, fxs_thread, s);
	if (r) {
		errno = r;
		goto fail;
	}
	*out = s;
	return 0;
fail:
	r = -errno;
	if (s->lfd >= 0)
		close(s->lfd);
	st_free(&s->st);
	free(s);
	return r;
fail_mem:
	free(s);
	return -ENOMEM;
}

void fxs_stop(struct fxs *s)
{
	if (!s)
		return;
	(void)!write(s->wake[1], "x", 1);
	pthread_join(s->thr, NULL);
	for (int i = 0; i < FXS_MAX_CONN; i++)
		if (s->c[i].fd >= 0)
			conn_close(s, i);
	close(s->lfd);
	close(s->wake[0]);
	close(s->wake[1]);
	unlink(s->path);
	st_free(&s->st);
	free(s);
}

uint64_t fxs_events_sent(struct fxs *s)
{
	return __atomic_load_n(&s->events, __ATOMIC_SEQ_CST);
}

unsigned fxs_connections(struct fxs *s)
{
	return __atomic_load_n(&s->nconn, __ATOMIC_SEQ_CST);
}
