/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/* The simulated hypervisor (xsim.h), answering tests/xen/fakexen-dm.c. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <xendevicemodel.h>
#include <xen/hvm/ioreq.h>
#include <xen/memory.h>

#include "xsim-wire.h"
#include "xsim.h"

#define MAX_DOMS 8
#define MAX_SERVERS 8
#define MAX_RANGES 64
#define MAX_VCPUS 8
#define MAX_PORTS 256
#define MAX_IRQ 1024

struct range {
	uint32_t is_mmio;
	uint64_t start, end;
};

struct server {
	bool used, enabled;
	uint16_t id;
	pid_t owner;
	char path[160];
	shared_iopage_t *page;
	uint32_t port[MAX_VCPUS];       /* guest-side ports */
	struct range r[MAX_RANGES];
	unsigned nr;
};

struct dom {
	bool used;
	uint32_t domid;
	unsigned vcpus;
	uint32_t next_port;
	uint16_t next_id;
	struct server sv[MAX_SERVERS];
	unsigned irq_level[MAX_IRQ];
	uint64_t irq_count[MAX_IRQ];
	bool busy[MAX_VCPUS];
	/* The access a vCPU waits for: the guest port it was signalled on,
	 * and, once the device model notified that port with the response
	 * ready, the data (taken then, as Xen completes the ioreq on the
	 * notify). */
	uint32_t wait_port[MAX_VCPUS];
	bool done[MAX_VCPUS];
	uint64_t resp[MAX_VCPUS];
};

struct binding {
	bool used, masked, pending;
	uint32_t domid, remote;
	char path[108];                 /* the handle's event socket */
};

struct xsim {
	char dir[64];
	int fd;                         /* hv.sock */
	int wake[2];
	pthread_t thr;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int timeout_ms;
	struct dom d[MAX_DOMS];
	struct binding b[MAX_PORTS];    /* index = local port */
	struct xsim_stats st;
	char *old_asan;
};

static struct dom *find_dom(struct xsim *s, uint32_t domid)
{
	for (int i = 0; i < MAX_DOMS; i++)
		if (s->d[i].used && s->d[i].domid == domid)
			return &s->d[i];
	return NULL;
}

static struct server *find_sv(struct dom *d, uint32_t id)
{
	for (int i = 0; d && i < MAX_SERVERS; i++)
		if (d->sv[i].used && d->sv[i].id == id)
			return &d->sv[i];
	return NULL;
}

static void sv_destroy(struct xsim *s, struct dom *d, struct server *v)
{
	/* The guest-side ports close: bindings to them stay (the device
	 * model unbinds) but never fire again. */
	munmap(v->page, 4096);
	unlink(v->path);
	s->st.ranges_live -= v->nr;
	s->st.servers_live--;
	memset(v, 0, sizeof(*v));
	(void)d;
	pthread_cond_broadcast(&s->cond);
}

static bool pid_gone(pid_t p)
{
	return p > 0 && kill(p, 0) < 0 && errno == ESRCH;
}

static void reap(struct xsim *s, struct dom *d)
{
	for (int i = 0; i < MAX_SERVERS; i++)
		if (d->sv[i].used && pid_gone(d->sv[i].owner)) {
			sv_destroy(s, d, &d->sv[i]);
			s->st.servers_reaped++;
		}
}

/* The server that claims (is_mmio, addr), enabled or not. */
static struct server *claim(struct dom *d, uint32_t is_mmio, uint64_t a, uint64_t b)
{
	for (int i = 0; d && i < MAX_SERVERS; i++) {
		struct server *v = &d->sv[i];

		for (unsigned k = 0; v->used && k < v->nr; k++)
			if (v->r[k].is_mmio == is_mmio && a <= v->r[k].end && b >= v->r[k].start)
				return v;
	}
	return NULL;
}

/* Deliver an event on local port lp (Xen's evtchn_send to the device
 * model's side): masked ports only remember it.  -EPIPE if the handle
 * is gone.  Lock held. */
static int deliver(struct xsim *s, uint32_t lp)
{
	struct binding *b = &s->b[lp];
	struct sockaddr_un a = { .sun_family = AF_UNIX };

	if (b->masked) {
		b->pending = true;
		return 0;
	}
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", b->path);
	if (sendto(s->fd, &lp, sizeof(lp), MSG_DONTWAIT, (struct sockaddr *)&a,
		   sizeof(a)) != sizeof(lp)) {
		if (errno == EAGAIN) {  /* full queue: an event is pending anyway */
			b->masked = true;
			return 0;
		}
		memset(b, 0, sizeof(*b));
		s->st.bindings_live--;
		return -EPIPE;
	}
	b->masked = true;
	b->pending = false;
	s->st.evtchn_to_dm++;
	return 0;
}

/* The device model notified a port: the vCPU waiting on it gets its
 * response if the ioreq says STATE_IORESP_READY (ioreq.h). */
static void complete(struct xsim *s, struct binding *b)
{
	struct dom *d = find_dom(s, b->domid);

	for (unsigned c = 0; d && c < d->vcpus; c++) {
		if (!d->busy[c] || d->done[c] || d->wait_port[c] != b->remote)
			continue;
		for (int i = 0; i < MAX_SERVERS; i++) {
			struct server *v = &d->sv[i];
			volatile ioreq_t *io;

			if (!v->used || v->port[c] != b->remote)
				continue;
			io = &v->page->vcpu_ioreq[c];
			__atomic_thread_fence(__ATOMIC_SEQ_CST);
			if (io->state != STATE_IORESP_READY)
				continue;
			d->resp[c] = io->data;
			io->state = STATE_IOREQ_NONE;
			__atomic_thread_fence(__ATOMIC_SEQ_CST);
			d->done[c] = true;
		}
	}
}

static pid_t sender_pid(const struct sockaddr_un *a)
{
	const char *base = strrchr(a->sun_path, '/');
	int pid = 0;

	if (base && sscanf(base + 1, "c-%d-", &pid) == 1)
		return pid;
	return 0;
}

static void handle(struct xsim *s, struct xsim_msg *m, const struct sockaddr_un *from)
{
	struct dom *d = find_dom(s, m->domid);
	struct server *v;
	int rc = 0;

	s->st.dm_calls++;
	switch (m->op) {
	case XSIM_NR_VCPUS:
		if (!d)
			rc = -ESRCH;
		else
			m->a = d->vcpus;
		break;
	case XSIM_CREATE_SERVER: {
		int i;
		int fd;

		if (!d) {
			rc = -ESRCH;
			break;
		}
		if (m->a != XSIM_BUFIOREQ_OFF) {
			/* Buffered ioreqs are not simulated. */
			rc = -EOPNOTSUPP;
			break;
		}
		reap(s, d);
		for (i = 0; i < MAX_SERVERS && d->sv[i].used; i++)
			;
		if (i == MAX_SERVERS) {
			rc = -ENOSPC;
			break;
		}
		v = &d->sv[i];
		memset(v, 0, sizeof(*v));
		v->id = d->next_id++;
		{
			char path[sizeof(v->path)];

			snprintf(path, sizeof(path), "%s/ioreq-%u-%u", s->dir, d->domid, v->id);
			memcpy(v->path, path, sizeof(path));
		}
		fd = open(v->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0 || ftruncate(fd, 4096) < 0) {
			rc = -errno;
			if (fd >= 0)
				close(fd);
			break;
		}
		v->page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		close(fd);
		if (v->page == MAP_FAILED) {
			rc = -errno;
			v->page = NULL;
			unlink(v->path);
			break;
		}
		for (unsigned c = 0; c < d->vcpus; c++) {
			v->port[c] = d->next_port++;
			v->page->vcpu_ioreq[c].vp_eport = v->port[c];
		}
		v->used = true;
		v->owner = sender_pid(from);
		m->a = v->id;
		s->st.servers_created++;
		s->st.servers_live++;
		break;
	}
	case XSIM_SET_STATE:
		v = find_sv(d, m->a);
		if (!v)
			rc = -ENOENT;
		else
			v->enabled = m->b;
		pthread_cond_broadcast(&s->cond);
		break;
	case XSIM_MAP_RANGE:
		v = find_sv(d, m->a);
		if (!v)
			rc = -ENOENT;
		else if (m->x > m->y || m->b > 1)
			rc = -EINVAL;
		else if (claim(d, m->b, m->x, m->y))
			rc = -EEXIST;
		else if (v->nr == MAX_RANGES)
			rc = -ENOSPC;
		else {
			v->r[v->nr++] = (struct range){ m->b, m->x, m->y };
			s->st.ranges_live++;
		}
		pthread_cond_broadcast(&s->cond);
		break;
	case XSIM_UNMAP_RANGE:
		v = find_sv(d, m->a);
		rc = -ENOENT;
		for (unsigned k = 0; v && k < v->nr; k++)
			if (v->r[k].is_mmio == m->b && v->r[k].start == m->x &&
			    v->r[k].end == m->y) {
				v->r[k] = v->r[--v->nr];
				s->st.ranges_live--;
				rc = 0;
				break;
			}
		pthread_cond_broadcast(&s->cond);
		break;
	case XSIM_DESTROY_SERVER:
		v = find_sv(d, m->a);
		if (!v) {
			rc = -ENOENT;
			break;
		}
		sv_destroy(s, d, v);
		s->st.servers_destroyed++;
		break;
	case XSIM_SET_IRQ:
		if (!d) {
			rc = -ESRCH;
		} else if (m->a >= MAX_IRQ || m->b > 1) {
			rc = -EINVAL;
		} else {
			d->irq_level[m->a] = m->b;
			s->st.irq_sets++;
			if (m->b) {
				d->irq_count[m->a]++;
				s->st.irq_asserts++;
			}
			pthread_cond_broadcast(&s->cond);
		}
		break;
	case XSIM_MAP_RESOURCE:
		v = find_sv(d, m->b);
		if (!d)
			rc = -ESRCH;
		else if (m->a != XENMEM_resource_ioreq_server || !v)
			rc = -ENOENT;
		else if (m->x != XENMEM_resource_ioreq_server_frame_ioreq(0) || m->y != 1)
			rc = -EINVAL;   /* only the one synchronous page */
		else
			s->st.map_resource++;
		break;
	case XSIM_BIND: {
		uint32_t lp;
		bool ok = false;

		if (!d) {
			rc = -ESRCH;
			break;
		}
		for (int i = 0; i < MAX_SERVERS && !ok; i++)
			for (unsigned c = 0; d->sv[i].used && c < d->vcpus; c++)
				ok |= d->sv[i].port[c] == m->a;
		if (!ok) {
			rc = -EINVAL;   /* no such unbound guest port */
			break;
		}
		for (lp = 1; lp < MAX_PORTS && s->b[lp].used; lp++)
			;
		if (lp == MAX_PORTS) {
			rc = -ENOSPC;
			break;
		}
		s->b[lp] = (struct binding){ .used = true, .domid = m->domid, .remote = m->a };
		snprintf(s->b[lp].path, sizeof(s->b[lp].path), "%s", m->path);
		s->st.bindings_live++;
		m->a = lp;
		break;
	}
	case XSIM_UNBIND:
		if (m->a == 0 || m->a >= MAX_PORTS || !s->b[m->a].used ||
		    strcmp(s->b[m->a].path, m->path)) {
			rc = -EINVAL;
			break;
		}
		memset(&s->b[m->a], 0, sizeof(s->b[0]));
		s->st.bindings_live--;
		break;
	case XSIM_NOTIFY:
		if (m->a && m->a < MAX_PORTS && s->b[m->a].used) {
			s->st.evtchn_from_dm++;
			complete(s, &s->b[m->a]);
			pthread_cond_broadcast(&s->cond);
		}
		return;
	case XSIM_UNMASK:
		if (m->a && m->a < MAX_PORTS && s->b[m->a].used) {
			s->b[m->a].masked = false;
			if (s->b[m->a].pending)
				(void)deliver(s, m->a);
		}
		return;
	default:
		rc = -ENOSYS;
		break;
	}
	m->rc = rc;
	(void)sendto(s->fd, m, sizeof(*m), MSG_DONTWAIT, (const struct sockaddr *)from,
		     sizeof(*from));
}

static void *hv_thread(void *arg)
{
	struct xsim *s = arg;

	for (;;) {
		struct pollfd p[2] = { { s->wake[0], POLLIN, 0 }, { s->fd, POLLIN, 0 } };
		struct sockaddr_un from;
		socklen_t fl = sizeof(from);
		struct xsim_msg m;
		ssize_t n;

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[0].revents)
			break;
		if (!(p[1].revents & POLLIN))
			continue;
		memset(&from, 0, sizeof(from));
		n = recvfrom(s->fd, &m, sizeof(m), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
		if (n != (ssize_t)sizeof(m))
			continue;       /* not ours: ignored, as Xen ignores junk */
		m.path[sizeof(m.path) - 1] = 0;
		pthread_mutex_lock(&s->lock);
		handle(s, &m, &from);
		pthread_mutex_unlock(&s->lock);
	}
	return NULL;
}

int xsim_create(struct xsim **out)
{
	struct xsim *s = calloc(1, sizeof(*s));
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int r;

	if (!s)
		return -ENOMEM;
	s->fd = -1;
	s->timeout_ms = 20000;
	pthread_mutex_init(&s->lock, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&s->cond, &ca);
		pthread_condattr_destroy(&ca);
	}
	snprintf(s->dir, sizeof(s->dir), "/tmp/vhd-xsim-XXXXXX");
	if (!mkdtemp(s->dir)) {
		r = -errno;
		free(s);
		return r;
	}
	snprintf(a.sun_path, sizeof(a.sun_path), "%s/hv.sock", s->dir);
	s->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    pipe2(s->wake, O_CLOEXEC) < 0) {
		r = -errno;
		goto fail;
	}
	r = pthread_create(&s->thr, NULL, hv_thread, s);
	if (r) {
		r = -r;
		goto fail;
	}
	*out = s;
	return 0;
fail:
	if (s->fd >= 0)
		close(s->fd);
	unlink(a.sun_path);
	rmdir(s->dir);
	free(s);
	return r;
}

void xsim_destroy(struct xsim *s)
{
	char p[160];

	if (!s)
		return;
	(void)!write(s->wake[1], "x", 1);
	pthread_join(s->thr, NULL);
	for (int i = 0; i < MAX_DOMS; i++)
		for (int k = 0; k < MAX_SERVERS; k++)
			if (s->d[i].sv[k].used)
				sv_destroy(s, &s->d[i], &s->d[i].sv[k]);
	close(s->fd);
	close(s->wake[0]);
	close(s->wake[1]);
	snprintf(p, sizeof(p), "%s/hv.sock", s->dir);
	unlink(p);
	/* Sockets the shim left behind (its processes are gone). */
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->dir);
		if (!strncmp(s->dir, "/tmp/vhd-xsim-", 14))
			(void)!system(cmd);
	}
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	free(s->old_asan);
	free(s);
}

const char *xsim_dir(const struct xsim *s)
{
	return s->dir;
}

int xsim_add_domain(struct xsim *s, uint32_t domid, unsigned vcpus)
{
	int r = -ENOSPC;

	if (!vcpus || vcpus > MAX_VCPUS)
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	if (find_dom(s, domid)) {
		r = -EEXIST;
	} else {
		for (int i = 0; i < MAX_DOMS; i++)
			if (!s->d[i].used) {
				s->d[i].used = true;
				s->d[i].domid = domid;
				s->d[i].vcpus = vcpus;
				/* Guest ports as a guest would have them: a few
				 * taken by xenstore and the console. */
				s->d[i].next_port = 5;
				s->d[i].next_id = 1;
				r = 0;
				break;
			}
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}

void xsim_set_timeout(struct xsim *s, int ms)
{
	s->timeout_ms = ms;
}

static void deadline_in(struct timespec *t, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, t);
	t->tv_sec += ms / 1000;
	t->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (t->tv_nsec >= 1000000000L) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000L;
	}
}

/* Wait on the condition until the deadline: false when it passed.  The
 * simulator thread broadcasts on every change; the device model's death
 * changes nothing it sees, so waiters also wake each 100 ms to look. */
static bool wait_until(struct xsim *s, const struct timespec *dl)
{
	struct timespec now, t;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec > dl->tv_sec || (now.tv_sec == dl->tv_sec && now.tv_nsec >= dl->tv_nsec))
		return false;
	deadline_in(&t, 100);
	if (t.tv_sec > dl->tv_sec || (t.tv_sec == dl->tv_sec && t.tv_nsec > dl->tv_nsec))
		t = *dl;
	pthread_cond_timedwait(&s->cond, &s->lock, &t);
	return true;
}

static uint8_t io_state(volatile ioreq_t *io)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return io->state;
}

int xsim_mmio(struct xsim *s, uint32_t domid, unsigned vcpu, uint64_t addr,
	      unsigned size, bool write, uint64_t *data)
{
	struct timespec dl;
	struct dom *d;
	struct server *v;
	volatile ioreq_t *io;
	uint32_t lp = 0;
	int r = 0;

	if (size != 1 && size != 2 && size != 4 && size != 8)
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	d = find_dom(s, domid);
	if (!d || vcpu >= d->vcpus) {
		pthread_mutex_unlock(&s->lock);
		return -EINVAL;
	}
	if (d->busy[vcpu]) {
		pthread_mutex_unlock(&s->lock);
		return -EBUSY;          /* one access per vCPU at a time */
	}
	v = claim(d, 1, addr, addr + size - 1);
	if (v && pid_gone(v->owner)) {
		sv_destroy(s, d, v);
		s->st.servers_reaped++;
		v = NULL;
	}
	if (!v || !v->enabled) {
		s->st.unclaimed++;
		pthread_mutex_unlock(&s->lock);
		if (!write)
			*data = size == 8 ? ~0ull : (1ull << (size * 8)) - 1;
		return -ENODEV;
	}
	for (uint32_t i = 1; i < MAX_PORTS; i++)
		if (s->b[i].used && s->b[i].domid == domid && s->b[i].remote == v->port[vcpu])
			lp = i;
	if (!lp) {
		/* Xen would hold the vCPU until the device model binds. */
		pthread_mutex_unlock(&s->lock);
		return -ENOTCONN;
	}
	io = &v->page->vcpu_ioreq[vcpu];
	if (io_state(io) != STATE_IOREQ_NONE) {
		pthread_mutex_unlock(&s->lock);
		return -EBUSY;
	}
	d->busy[vcpu] = true;
	io->addr = addr;
	io->data = write ? *data & (size == 8 ? ~0ull : (1ull << (size * 8)) - 1) : 0;
	io->count = 1;
	io->size = size;
	io->data_is_ptr = 0;
	io->dir = write ? IOREQ_WRITE : IOREQ_READ;
	io->df = 0;
	io->type = IOREQ_TYPE_COPY;
	/* ioreq.h: the request is complete before its state says READY. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	io->state = STATE_IOREQ_READY;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	s->st.ioreqs++;
	d->wait_port[vcpu] = v->port[vcpu];
	d->done[vcpu] = false;
	if (deliver(s, lp) < 0) {
		r = -EPIPE;
		io->state = STATE_IOREQ_NONE;
		goto out;
	}
	deadline_in(&dl, s->timeout_ms);
	for (;;) {
		if (d->done[vcpu])
			break;
		/* The server may have gone (destroyed or its process died)
		 * without answering. */
		if (!v->used || v->page != (shared_iopage_t *)((uintptr_t)io & ~4095ull)) {
			r = -EPIPE;
			goto out;
		}
		if (pid_gone(v->owner)) {
			sv_destroy(s, d, v);
			s->st.servers_reaped++;
			r = -EPIPE;
			goto out;
		}
		if (!wait_until(s, &dl)) {
			r = -ETIMEDOUT;
			io->state = STATE_IOREQ_NONE;
			break;
		}
	}
	if (!r && !write)
		*data = d->resp[vcpu] & (size == 8 ? ~0ull : (1ull << (size * 8)) - 1);
out:
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	d->busy[vcpu] = false;
	d->done[vcpu] = false;
	pthread_mutex_unlock(&s->lock);
	return r;
}

bool xsim_claimed(struct xsim *s, uint32_t domid, uint64_t addr)
{
	struct server *v;
	bool r;

	pthread_mutex_lock(&s->lock);
	v = claim(find_dom(s, domid), 1, addr, addr);
	r = v && v->enabled && !pid_gone(v->owner);
	pthread_mutex_unlock(&s->lock);
	return r;
}

int xsim_wait_claimed(struct xsim *s, uint32_t domid, uint64_t addr, bool want,
		      int timeout_ms)
{
	struct timespec dl;
	int r = 0;

	deadline_in(&dl, timeout_ms);
	pthread_mutex_lock(&s->lock);
	for (;;) {
		struct server *v = claim(find_dom(s, domid), 1, addr, addr);

		if ((v && v->enabled && !pid_gone(v->owner)) == want)
			break;
		if (!wait_until(s, &dl)) {
			r = -ETIMEDOUT;
			break;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}

uint64_t xsim_irq_count(struct xsim *s, uint32_t domid, unsigned irq)
{
	struct dom *d;
	uint64_t n = 0;

	pthread_mutex_lock(&s->lock);
	d = find_dom(s, domid);
	if (d && irq < MAX_IRQ)
		n = d->irq_count[irq];
	pthread_mutex_unlock(&s->lock);
	return n;
}

unsigned xsim_irq_level(struct xsim *s, uint32_t domid, unsigned irq)
{
	struct dom *d;
	unsigned n = 0;

	pthread_mutex_lock(&s->lock);
	d = find_dom(s, domid);
	if (d && irq < MAX_IRQ)
		n = d->irq_level[irq];
	pthread_mutex_unlock(&s->lock);
	return n;
}

int xsim_irq_wait(struct xsim *s, uint32_t domid, unsigned irq, uint64_t seen,
		  int timeout_ms)
{
	struct timespec dl;
	struct dom *d;
	int r = 0;

	if (irq >= MAX_IRQ)
		return -EINVAL;
	deadline_in(&dl, timeout_ms);
	pthread_mutex_lock(&s->lock);
	d = find_dom(s, domid);
	while (d && d->irq_count[irq] <= seen)
		if (!wait_until(s, &dl)) {
			r = -ETIMEDOUT;
			break;
		}
	pthread_mutex_unlock(&s->lock);
	return d ? r : -ESRCH;
}

void xsim_get_stats(struct xsim *s, struct xsim_stats *st)
{
	pthread_mutex_lock(&s->lock);
	*st = s->st;
	pthread_mutex_unlock(&s->lock);
}

void xsim_env_push(struct xsim *s)
{
	const char *bd = getenv("VHD_BUILDDIR");
	const char *old = getenv("ASAN_OPTIONS");
	char so[512], asan[512];

	snprintf(so, sizeof(so), "%s/tests/xen/libfakexen.so", bd ? bd : VHD_BUILDDIR);
	setenv("LD_PRELOAD", so, 1);
	setenv("FAKEXEN_SIM", s->dir, 1);
	free(s->old_asan);
	s->old_asan = old ? strdup(old) : NULL;
	snprintf(asan, sizeof(asan), "%s%sverify_asan_link_order=0", old ? old : "",
		 old ? ":" : "");
	setenv("ASAN_OPTIONS", asan, 1);
}

void xsim_env_pop(struct xsim *s)
{
	unsetenv("LD_PRELOAD");
	unsetenv("FAKEXEN_SIM");
	if (s->old_asan)
		setenv("ASAN_OPTIONS", s->old_asan, 1);
	else
		unsetenv("ASAN_OPTIONS");
	free(s->old_asan);
	s->old_asan = NULL;
}
