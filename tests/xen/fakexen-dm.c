/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * fakexen, device-model half: libxendevicemodel, libxenevtchn and
 * xenforeignmemory_map_resource() over the simulated hypervisor of
 * tests/xen/xsim.c, plus opens of /dev/xen/ devices that succeed on
 * /dev/null (so that a device model gets region fds to pass on, and its
 * privcmd IRQFD/IOEVENTFD ioctls fail with ENOTTY as on a kernel without
 * them).
 * Built into libfakexen.so with fakexen.c.  The wire is xsim-wire.h.
 *
 * All of it is active only with FAKEXEN_SIM set; without it the calls
 * fail with ENOENT, as the real ones do without /dev/xen.
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <xendevicemodel.h>
#include <xenevtchn.h>
#include <xenforeignmemory.h>
#include <xen/memory.h>

#include "xsim-wire.h"

/* A failure bound only: the simulator answers at once unless it died. */
#define DM_REPLY_MS 20000

struct xendevicemodel_handle {
	int id;
};

struct xenevtchn_handle {
	int fd;
	char path[108];
};

struct xenforeignmemory_resource_handle {
	void *addr;
	size_t len;
};

static pthread_mutex_t dm_lock = PTHREAD_MUTEX_INITIALIZER;
static int dm_fd = -1;
static pid_t dm_pid;
static uint32_t dm_seq;
static unsigned dm_names;

static const char *sim_dir(void)
{
	const char *d = getenv("FAKEXEN_SIM");

	return d && *d ? d : NULL;
}

/* A datagram socket bound to <sim>/<prefix>-<pid>-<n>. */
static int dm_socket(const char *prefix, char *path, size_t cap)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	unsigned n = __atomic_add_fetch(&dm_names, 1, __ATOMIC_SEQ_CST);

	if (fd < 0)
		return -1;
	if (snprintf(a.sun_path, sizeof(a.sun_path), "%s/%s-%d-%u", sim_dir(), prefix,
		     (int)getpid(), n) >= (int)sizeof(a.sun_path)) {
		close(fd);
		errno = ENAMETOOLONG;
		return -1;
	}
	unlink(a.sun_path);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	if (path)
		snprintf(path, cap, "%s", a.sun_path);
	return fd;
}

static int send_hv(int fd, const struct xsim_msg *m)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };

	snprintf(a.sun_path, sizeof(a.sun_path), "%s/hv.sock", sim_dir());
	return sendto(fd, m, sizeof(*m), 0, (struct sockaddr *)&a, sizeof(a)) ==
	       (ssize_t)sizeof(*m) ? 0 : -1;
}

/* One request; the answer in *m.  0, or -1 with errno. */
static int dm_call(struct xsim_msg *m, int oneway)
{
	int r = -1, e = EIO;

	if (!sim_dir()) {
		errno = ENOENT;
		return -1;
	}
	pthread_mutex_lock(&dm_lock);
	if (dm_fd < 0 || dm_pid != getpid()) {
		/* After a fork the child needs its own address. */
		dm_fd = dm_socket("c", NULL, 0);
		dm_pid = getpid();
		if (dm_fd < 0) {
			e = errno;
			goto out;
		}
	}
	m->seq = ++dm_seq;
	if (send_hv(dm_fd, m) < 0) {
		e = errno == ENOENT || errno == ECONNREFUSED ? ENODEV : errno;
		goto out;
	}
	if (oneway) {
		r = 0;
		goto out;
	}
	for (;;) {
		struct pollfd p = { dm_fd, POLLIN, 0 };
		struct xsim_msg ans;
		ssize_t n;

		if (poll(&p, 1, DM_REPLY_MS) <= 0) {
			e = ETIMEDOUT;
			goto out;
		}
		n = recv(dm_fd, &ans, sizeof(ans), 0);
		if (n != (ssize_t)sizeof(ans) || ans.seq != m->seq)
			continue;       /* an answer to an abandoned request */
		*m = ans;
		if (ans.rc < 0) {
			e = -ans.rc;
			goto out;
		}
		r = 0;
		break;
	}
out:
	pthread_mutex_unlock(&dm_lock);
	if (r < 0)
		errno = e;
	return r;
}

/* ---- libxendevicemodel -------------------------------------------------- */

xendevicemodel_handle *xendevicemodel_open(struct xentoollog_logger *logger,
					   unsigned int open_flags)
{
	xendevicemodel_handle *h;

	(void)logger;
	(void)open_flags;
	if (!sim_dir()) {
		errno = ENOENT;
		return NULL;
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		errno = ENOMEM;
	return h;
}

int xendevicemodel_close(xendevicemodel_handle *dmod)
{
	free(dmod);
	return 0;
}

int xendevicemodel_nr_vcpus(xendevicemodel_handle *dmod, domid_t domid, unsigned int *vcpus)
{
	struct xsim_msg m = { .op = XSIM_NR_VCPUS, .domid = domid };

	(void)dmod;
	if (dm_call(&m, 0) < 0)
		return -1;
	*vcpus = m.a;
	return 0;
}

int xendevicemodel_create_ioreq_server(xendevicemodel_handle *dmod, domid_t domid,
				       int handle_bufioreq, ioservid_t *id)
{
	struct xsim_msg m = { .op = XSIM_CREATE_SERVER, .domid = domid,
			      .a = (uint32_t)handle_bufioreq };

	(void)dmod;
	if (dm_call(&m, 0) < 0)
		return -1;
	*id = (ioservid_t)m.a;
	return 0;
}

int xendevicemodel_get_ioreq_server_info(xendevicemodel_handle *dmod, domid_t domid,
					 ioservid_t id, xen_pfn_t *ioreq_gfn,
					 xen_pfn_t *bufioreq_gfn, evtchn_port_t *bufioreq_port)
{
	/* The legacy gfn interface: a device model must use
	 * map_resource, as Xen asks of new ones. */
	(void)dmod; (void)domid; (void)id; (void)ioreq_gfn; (void)bufioreq_gfn;
	(void)bufioreq_port;
	errno = EOPNOTSUPP;
	return -1;
}

static int range_call(uint32_t op, domid_t domid, ioservid_t id, int is_mmio,
		      uint64_t start, uint64_t end)
{
	struct xsim_msg m = { .op = op, .domid = domid, .a = id,
			      .b = (uint32_t)is_mmio, .x = start, .y = end };

	return dm_call(&m, 0);
}

int xendevicemodel_map_io_range_to_ioreq_server(xendevicemodel_handle *dmod,
						domid_t domid, ioservid_t id,
						int is_mmio, uint64_t start, uint64_t end)
{
	(void)dmod;
	return range_call(XSIM_MAP_RANGE, domid, id, is_mmio, start, end);
}

int xendevicemodel_unmap_io_range_from_ioreq_server(xendevicemodel_handle *dmod,
						    domid_t domid, ioservid_t id,
						    int is_mmio, uint64_t start,
						    uint64_t end)
{
	(void)dmod;
	return range_call(XSIM_UNMAP_RANGE, domid, id, is_mmio, start, end);
}

int xendevicemodel_destroy_ioreq_server(xendevicemodel_handle *dmod, domid_t domid,
					ioservid_t id)
{
	struct xsim_msg m = { .op = XSIM_DESTROY_SERVER, .domid = domid, .a = id };

	(void)dmod;
	return dm_call(&m, 0);
}

int xendevicemodel_set_ioreq_server_state(xendevicemodel_handle *dmod, domid_t domid,
					  ioservid_t id, int enabled)
{
	struct xsim_msg m = { .op = XSIM_SET_STATE, .domid = domid, .a = id,
			      .b = (uint32_t)!!enabled };

	(void)dmod;
	return dm_call(&m, 0);
}

int xendevicemodel_set_irq_level(xendevicemodel_handle *dmod, domid_t domid,
				 unsigned int irq, unsigned int level)
{
	struct xsim_msg m = { .op = XSIM_SET_IRQ, .domid = domid, .a = irq, .b = level };

	(void)dmod;
	return dm_call(&m, 0);
}

int xendevicemodel_set_isa_irq_level(xendevicemodel_handle *dmod, domid_t domid,
				     uint8_t irq, unsigned int level)
{
	return xendevicemodel_set_irq_level(dmod, domid, irq, level);
}

int xendevicemodel_restrict(xendevicemodel_handle *dmod, domid_t domid)
{
	(void)dmod;
	(void)domid;
	return 0;
}

/* ---- xenforeignmemory_map_resource -------------------------------------- */

xenforeignmemory_resource_handle *xenforeignmemory_map_resource(
	xenforeignmemory_handle *fmem, domid_t domid, unsigned int type,
	unsigned int id, unsigned long frame, unsigned long nr_frames,
	void **paddr, int prot, int flags)
{
	struct xsim_msg m = { .op = XSIM_MAP_RESOURCE, .domid = domid, .a = type,
			      .b = id, .x = frame, .y = nr_frames };
	xenforeignmemory_resource_handle *res;
	char path[160];
	void *want = paddr ? *paddr : NULL;
	void *p;
	int fd, e;

	(void)fmem;
	/* The simulator checks the resource (only the ioreq server's
	 * synchronous ioreq page, frame 1, exists: servers are created
	 * with HVM_IOREQSRV_BUFIOREQ_OFF). */
	if (dm_call(&m, 0) < 0)
		return NULL;
	snprintf(path, sizeof(path), "%s/ioreq-%u-%u", sim_dir(), (unsigned)domid, id);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	p = mmap(want, nr_frames * 4096, prot, MAP_SHARED | flags, fd, 0);
	e = errno;
	close(fd);
	if (p == MAP_FAILED) {
		errno = e;
		return NULL;
	}
	res = calloc(1, sizeof(*res));
	if (!res) {
		munmap(p, nr_frames * 4096);
		errno = ENOMEM;
		return NULL;
	}
	res->addr = p;
	res->len = nr_frames * 4096;
	if (paddr)
		*paddr = p;
	return res;
}

int xenforeignmemory_unmap_resource(xenforeignmemory_handle *fmem,
				    xenforeignmemory_resource_handle *fres)
{
	(void)fmem;
	if (!fres)
		return 0;
	munmap(fres->addr, fres->len);
	free(fres);
	return 0;
}

/* ---- libxenevtchn ------------------------------------------------------- */

xenevtchn_handle *xenevtchn_open(struct xentoollog_logger *logger, unsigned int flags)
{
	xenevtchn_handle *h;

	(void)logger;
	(void)flags;
	if (!sim_dir()) {
		errno = ENOENT;
		return NULL;
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		errno = ENOMEM;
		return NULL;
	}
	h->fd = dm_socket("e", h->path, sizeof(h->path));
	if (h->fd < 0) {
		int e = errno;

		free(h);
		errno = e;
		return NULL;
	}
	return h;
}

int xenevtchn_close(xenevtchn_handle *xce)
{
	if (!xce)
		return 0;
	/* The simulator drops the bindings whose socket is gone. */
	close(xce->fd);
	unlink(xce->path);
	free(xce);
	return 0;
}

int xenevtchn_fd(xenevtchn_handle *xce)
{
	return xce->fd;
}

int xenevtchn_notify(xenevtchn_handle *xce, evtchn_port_t port)
{
	struct xsim_msg m = { .op = XSIM_NOTIFY, .a = port };

	(void)xce;
	return dm_call(&m, 1);
}

xenevtchn_port_or_error_t xenevtchn_bind_interdomain(xenevtchn_handle *xce, uint32_t domid,
						     evtchn_port_t remote_port)
{
	struct xsim_msg m = { .op = XSIM_BIND, .domid = domid, .a = remote_port };

	snprintf(m.path, sizeof(m.path), "%s", xce->path);
	if (dm_call(&m, 0) < 0)
		return -1;
	return (xenevtchn_port_or_error_t)m.a;
}

int xenevtchn_unbind(xenevtchn_handle *xce, evtchn_port_t port)
{
	struct xsim_msg m = { .op = XSIM_UNBIND, .a = port };

	snprintf(m.path, sizeof(m.path), "%s", xce->path);
	return dm_call(&m, 0);
}

xenevtchn_port_or_error_t xenevtchn_pending(xenevtchn_handle *xce)
{
	uint32_t port;
	ssize_t n;

	/* Blocking unless the caller made the fd non-blocking, as a read
	 * of /dev/xen/evtchn. */
	do
		n = recv(xce->fd, &port, sizeof(port), 0);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(port)) {
		if (n >= 0)
			errno = EIO;
		return -1;
	}
	return (xenevtchn_port_or_error_t)port;
}

int xenevtchn_unmask(xenevtchn_handle *xce, evtchn_port_t port)
{
	struct xsim_msg m = { .op = XSIM_UNMASK, .a = port };

	(void)xce;
	return dm_call(&m, 1);
}

/* ---- /dev/xen ----------------------------------------------------------- */

static int xen_dev(const char *path)
{
	return path && sim_dir() && !strncmp(path, "/dev/xen/", 9);
}

typedef int (*open_fn)(const char *, int, ...);
typedef int (*openat_fn)(int, const char *, int, ...);

static int null_open(int flags)
{
	static open_fn real;

	if (!real)
		real = (open_fn)dlsym(RTLD_NEXT, "open");
	return real("/dev/null", O_RDWR | (flags & O_CLOEXEC));
}

#define OPEN_MODE(flags, mode) do { \
	if ((flags) & (O_CREAT | O_TMPFILE)) { \
		va_list ap; \
		va_start(ap, flags); \
		mode = va_arg(ap, mode_t); \
		va_end(ap); \
	} \
} while (0)

int open(const char *path, int flags, ...)
{
	static open_fn real;
	mode_t mode = 0;

	OPEN_MODE(flags, mode);
	if (xen_dev(path))
		return null_open(flags);
	if (!real)
		real = (open_fn)dlsym(RTLD_NEXT, "open");
	return real(path, flags, mode);
}

int open64(const char *path, int flags, ...)
{
	static open_fn real;
	mode_t mode = 0;

	OPEN_MODE(flags, mode);
	if (xen_dev(path))
		return null_open(flags);
	if (!real)
		real = (open_fn)dlsym(RTLD_NEXT, "open64");
	return real(path, flags, mode);
}

int openat(int dirfd, const char *path, int flags, ...)
{
	static openat_fn real;
	mode_t mode = 0;

	OPEN_MODE(flags, mode);
	if (xen_dev(path))
		return null_open(flags);
	if (!real)
		real = (openat_fn)dlsym(RTLD_NEXT, "openat");
	return real(dirfd, path, flags, mode);
}

int openat64(int dirfd, const char *path, int flags, ...)
{
	static openat_fn real;
	mode_t mode = 0;

	OPEN_MODE(flags, mode);
	if (xen_dev(path))
		return null_open(flags);
	if (!real)
		real = (openat_fn)dlsym(RTLD_NEXT, "openat64");
	return real(dirfd, path, flags, mode);
}

/* _FORTIFY_SOURCE turns open(path, flags) into these. */
int __open_2(const char *path, int flags);
int __open_2(const char *path, int flags)
{
	return open(path, flags);
}

int __open64_2(const char *path, int flags);
int __open64_2(const char *path, int flags)
{
	return open64(path, flags);
}
