/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/* One simulated Xen host for the device-model tests (xsim-world.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "xsim-world.h"

static int xs_put(struct xw *w, xs_transaction_t t, const char *path, const char *val)
{
	return xs_write(w->xs, t, path, val, strlen(val)) ? 0 : -(errno ? errno : EIO);
}

int xw_create(struct xw *w, uint32_t domid, size_t ram_bytes, unsigned vcpus)
{
	char path[128], val[32];
	void *p;
	int fd, r;

	memset(w, 0, sizeof(*w));
	w->fx.gnt_fd = -1;
	w->fe.pid = -1;
	w->domid = domid;
	/* Xen's guest memory map (public/arch-arm.h GUEST_RAM0_BASE on Arm;
	 * x86 HVM RAM from 0), as the frontend computes it. */
#if defined(__aarch64__) || defined(__arm__)
	w->ram_gpa = 0x40000000ull;
#else
	w->ram_gpa = 0;
#endif
	snprintf(w->dir, sizeof(w->dir), "/tmp/vhd-xw-XXXXXX");
	if (!mkdtemp(w->dir))
		return -errno;
	snprintf(w->xs_sock, sizeof(w->xs_sock), "%s/xenstored.sock", w->dir);
	snprintf(w->fe_stats_path, sizeof(w->fe_stats_path), "%s/fe-stats", w->dir);
	fd = open(w->fe_stats_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, sizeof(*w->fe_st)) < 0)
		return fd < 0 ? -errno : -EIO;
	p = mmap(NULL, sizeof(*w->fe_st), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return -errno;
	w->fe_st = p;

	r = xsim_create(&w->sim);
	if (r < 0)
		return r;
	r = xsim_add_domain(w->sim, domid, vcpus);
	if (r < 0)
		return r;
	r = fxs_start(w->xs_sock, &w->xsd);
	if (r < 0)
		return r;
	setenv("XENSTORED_PATH", w->xs_sock, 1);
	w->xs = xs_open(0);
	if (!w->xs)
		return -(errno ? errno : EIO);
	r = xs_put(w, XBT_NULL, "/local/domain/0/domid", "0");
	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "/local/domain/%u/memory/static-max", domid);
	snprintf(val, sizeof(val), "%zu", ram_bytes / 1024);
	r = xs_put(w, XBT_NULL, path, val);
	if (r < 0)
		return r;

	r = vhu_mem_create(ram_bytes, 0, 0, &w->ram);
	if (r < 0)
		return r;
	r = fx_create(&w->fx);
	if (r < 0)
		return r;
	return fx_attach(&w->fx, w->ram);
}

void xw_destroy(struct xw *w)
{
	if (w->fe_up)
		xw_fe_kill(w);
	if (w->xs)
		xs_close(w->xs);
	w->xs = NULL;
	unsetenv("XENSTORED_PATH");
	fxs_stop(w->xsd);
	w->xsd = NULL;
	xsim_destroy(w->sim);
	w->sim = NULL;
	fx_destroy(&w->fx);
	vhu_mem_destroy(w->ram);
	w->ram = NULL;
	if (w->fe_st)
		munmap(w->fe_st, sizeof(*w->fe_st));
	w->fe_st = NULL;
	unlink(w->fe_stats_path);
	unlink(w->xs_sock);
	if (w->dir[0])
		rmdir(w->dir);
}

/* The fake libxen environment for a guest: its fx files, FAKEXEN_DOMID. */
static void fx_env_for(struct xw *w, struct fx *x, uint32_t domid)
{
	char v[32];

	fx_env_push(x);
	snprintf(v, sizeof(v), "%u", domid);
	setenv("FAKEXEN_DOMID", v, 1);
	snprintf(v, sizeof(v), "%llu", (unsigned long long)(w->ram_gpa >> 12));
	setenv("FAKEXEN_RAM_GFN", v, 1);
}

static void fx_env(struct xw *w)
{
	fx_env_for(w, &w->fx, w->domid);
}

int xw_fe_start(struct xw *w, const char *const *extra)
{
	const char *args[32];
	char prefix[80];
	unsigned n = 0;
	int r;

	snprintf(prefix, sizeof(prefix), "%s/", w->dir);
	args[n++] = "--socket-path";
	args[n++] = prefix;
	args[n++] = "-v";
	for (unsigned i = 0; extra && extra[i] && n < 31; i++)
		args[n++] = extra[i];
	args[n] = NULL;
	r = backend_init(&w->fe);
	if (r < 0)
		return r;
	fx_env(w);
	setenv("FAKEXEN_STATS", w->fe_stats_path, 1);
	xsim_env_push(w->sim);  /* after fx: the same LD_PRELOAD, FAKEXEN_SIM added */
	setenv("XENSTORED_PATH", w->xs_sock, 1);
	r = backend_spawn(&w->fe, "tools/xen-vhost-frontend", args, NULL);
	xsim_env_pop(w->sim);
	fx_env_pop(&w->fx);
	setenv("XENSTORED_PATH", w->xs_sock, 1);
	if (r == 0)
		w->fe_up = true;
	return r;
}

int xw_fe_stop(struct xw *w)
{
	int st;

	if (!w->fe_up)
		return 0;
	st = backend_stop(&w->fe);
	w->fe_up = false;
	return st;
}

void xw_fe_kill(struct xw *w)
{
	if (!w->fe_up)
		return;
	if (w->fe.pid > 0) {
		kill(w->fe.pid, SIGKILL);
		/* backend_stop reaps it (a SIGTERM to a dead pid is harmless). */
	}
	(void)backend_stop(&w->fe);
	w->fe_up = false;
}

int xw_backend(struct xw *w, struct backend *b, const char *binary, const char *const *args,
	       const char *const *wait_for)
{
	int r = backend_init(b);

	if (r < 0)
		return r;
	fx_env(w);
	r = backend_spawn(b, binary, args, wait_for);
	fx_env_pop(&w->fx);
	return r;
}

void xw_sock(const struct xw *w, const char *name, unsigned n, char *out, size_t len)
{
	snprintf(out, len, "%s/%s.sock%u", w->dir, name, n);
}

static int plug(struct xw *w, uint32_t domid, uint32_t devid, uint32_t virtio_id,
		uint64_t base, unsigned irq, bool grant)
{
	char be[128], fe[128], p[192], v[64];
	xs_transaction_t t;
	int r = 0;

	snprintf(be, sizeof(be), "/local/domain/0/backend/virtio/%u/%u", domid, devid);
	snprintf(fe, sizeof(fe), "/local/domain/%u/device/virtio/%u", domid, devid);
	/* libxl_device.c / libxl_virtio.c: both directories in one
	 * transaction, so a watcher sees the device whole. */
	t = xs_transaction_start(w->xs);
	if (t == XBT_NULL)
		return -EIO;
#define PUT(dir, key, val) do { \
	snprintf(p, sizeof(p), "%s/%s", dir, key); \
	if (!r) \
		r = xs_put(w, t, p, val); \
} while (0)
	PUT(be, "frontend", fe);
	snprintf(v, sizeof(v), "%u", domid);
	PUT(be, "frontend-id", v);
	PUT(be, "online", "1");
	PUT(be, "state", "1");
	snprintf(v, sizeof(v), "%u", irq);
	PUT(be, "irq", v);
	snprintf(v, sizeof(v), "%#llx", (unsigned long long)base);
	PUT(be, "base", v);
	snprintf(v, sizeof(v), "virtio,device%x", virtio_id);
	PUT(be, "type", v);
	PUT(be, "transport", "mmio");
	PUT(be, "grant_usage", grant ? "1" : "0");
	PUT(fe, "backend", be);
	PUT(fe, "backend-id", "0");
	PUT(fe, "state", "1");
#undef PUT
	if (!xs_transaction_end(w->xs, t, r != 0) && !r)
		r = -EIO;
	return r;
}

int xw_plug(struct xw *w, uint32_t devid, uint32_t virtio_id, uint64_t base, unsigned irq,
	    bool grant)
{
	return plug(w, w->domid, devid, virtio_id, base, irq, grant);
}

int xw_guest_plug(struct xw *w, struct xw_guest *g, uint32_t devid, uint32_t virtio_id,
		  uint64_t base, unsigned irq, bool grant)
{
	return plug(w, g->domid, devid, virtio_id, base, irq, grant);
}

int xw_guest_add(struct xw *w, struct xw_guest *g, uint32_t domid, size_t ram_bytes,
		 unsigned vcpus)
{
	char path[128], val[32];
	int r;

	memset(g, 0, sizeof(*g));
	g->fx.gnt_fd = -1;
	g->domid = domid;
	r = xsim_add_domain(w->sim, domid, vcpus);
	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "/local/domain/%u/memory/static-max", domid);
	snprintf(val, sizeof(val), "%zu", ram_bytes / 1024);
	r = xs_put(w, XBT_NULL, path, val);
	if (r < 0)
		return r;
	r = vhu_mem_create(ram_bytes, 0, 0, &g->ram);
	if (r < 0)
		return r;
	r = fx_create(&g->fx);
	if (r < 0)
		return r;
	return fx_attach(&g->fx, g->ram);
}

void xw_guest_destroy(struct xw_guest *g)
{
	fx_destroy(&g->fx);
	vhu_mem_destroy(g->ram);
	g->ram = NULL;
}

int xw_guest_backend(struct xw *w, struct xw_guest *g, struct backend *b, const char *binary,
		     const char *const *args, const char *const *wait_for)
{
	int r = backend_init(b);

	if (r < 0)
		return r;
	fx_env_for(w, &g->fx, g->domid);
	r = backend_spawn(b, binary, args, wait_for);
	fx_env_pop(&g->fx);
	return r;
}

int xw_unplug(struct xw *w, uint32_t devid)
{
	char be[128], fe[128];
	xs_transaction_t t;
	bool ok;

	snprintf(be, sizeof(be), "/local/domain/0/backend/virtio/%u/%u", w->domid, devid);
	snprintf(fe, sizeof(fe), "/local/domain/%u/device/virtio/%u", w->domid, devid);
	t = xs_transaction_start(w->xs);
	if (t == XBT_NULL)
		return -EIO;
	ok = xs_rm(w->xs, t, fe) && xs_rm(w->xs, t, be);
	if (!xs_transaction_end(w->xs, t, !ok) || !ok)
		return -EIO;
	return 0;
}
