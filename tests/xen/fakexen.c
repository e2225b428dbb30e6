/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * fakexen: libxengnttab / libxenforeignmemory calls implemented over a
 * "guest RAM" file and a grant-table file, for running a real backend
 * binary on a host without Xen (LD_PRELOAD=tests/xen/libfakexen.so).
 * What it reads, does and counts is described in fakexen.h.
 *
 * Only the calls the backend uses are provided (open, close, map, unmap
 * of both libraries, plus the multi-domain grant map and map2); anything
 * else still resolves to the real library and fails there for lack of
 * /dev/xen.  All calls are thread-safe (one mutex; the backend's workers
 * map concurrently).
 *
 * The backend's sandbox (docs/security.md) lets Xen memory open existing
 * files (the real libraries open the nodes under /dev/xen); this shim
 * also creates and sizes its shared stats file on the first map, so it
 * adds openat and ftruncate to the filter itself, by wrapping libseccomp's
 * seccomp_load(): the backend's own list stays what production runs.
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <xenforeignmemory.h>
#include <xengnttab.h>

#include "fakexen.h"

#define FX_PAGE 4096u
#define FX_MAX_COUNT 65536u     /* gntdev's default per-request limit */

struct xengntdev_handle {
	int id;
};

struct xenforeignmemory_handle {
	int id;
};

struct fx_map {
	struct fx_map *next;
	void *owner;            /* the handle */
	void *addr;
	uint32_t count;
	bool grant;
};

static pthread_mutex_t fx_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fx_map *fx_maps;
static int fx_ram_fd = -1;
static uint64_t fx_ram_pages;
static struct fakexen_stats *fx_st;
static struct fakexen_stats fx_local;   /* when FAKEXEN_STATS is unset */

#define ST_ADD(f, n) __atomic_add_fetch(&fx_st->f, (uint64_t)(n), __ATOMIC_SEQ_CST)
#define ST_SUB(f, n) __atomic_sub_fetch(&fx_st->f, (uint64_t)(n), __ATOMIC_SEQ_CST)

static uint64_t env_u64(const char *name, uint64_t def)
{
	const char *s = getenv(name);

	return s && *s ? strtoull(s, NULL, 0) : def;
}

/* Open the RAM file and the stats file once.  fx_lock held. */
static int fx_init(void)
{
	const char *ram = getenv("FAKEXEN_RAM");
	const char *stats = getenv("FAKEXEN_STATS");
	struct stat st;

	if (!fx_st) {
		fx_st = &fx_local;
		if (stats && *stats) {
			int fd = open(stats, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

			if (fd >= 0 && ftruncate(fd, sizeof(*fx_st)) == 0) {
				void *p = mmap(NULL, sizeof(*fx_st),
					       PROT_READ | PROT_WRITE,
					       MAP_SHARED, fd, 0);

				if (p != MAP_FAILED)
					fx_st = p;
			}
			if (fd >= 0)
				close(fd);
		}
		fx_st->magic = FAKEXEN_STATS_MAGIC;
	}
	if (fx_ram_fd >= 0)
		return 0;
	if (!ram || !*ram)
		return -ENOENT;         /* "no /dev/xen/gntdev" */
	fx_ram_fd = open(ram, O_RDWR | O_CLOEXEC);
	if (fx_ram_fd < 0)
		return -errno;
	if (fstat(fx_ram_fd, &st) < 0) {
		int e = -errno;

		close(fx_ram_fd);
		fx_ram_fd = -1;
		return e;
	}
	fx_ram_pages = (uint64_t)st.st_size / FX_PAGE;
	return 0;
}

/* The grant table file, mapped; re-mapped when it grew.  fx_lock held. */
static int fx_gnt_fd = -1;
static const struct fakexen_grant *fx_gnt;
static uint64_t fx_gnt_n;

static void fx_gnt_remap(void)
{
	const char *path = getenv("FAKEXEN_GNTTAB");
	struct stat st;
	void *p;

	if (fx_gnt_fd < 0) {
		if (!path)
			return;
		fx_gnt_fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fx_gnt_fd < 0)
			return;
	}
	if (fstat(fx_gnt_fd, &st) < 0 ||
	    (uint64_t)st.st_size / sizeof(*fx_gnt) <= fx_gnt_n)
		return;
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fx_gnt_fd, 0);
	if (p == MAP_FAILED)
		return;
	if (fx_gnt)
		munmap((void *)fx_gnt, fx_gnt_n * sizeof(*fx_gnt));
	fx_gnt = p;
	fx_gnt_n = (uint64_t)st.st_size / sizeof(*fx_gnt);
}

/* Read grant ref `ref`: 0 and *g, or -EINVAL.  fx_lock held. */
static int fx_grant(uint32_t ref, struct fakexen_grant *g)
{
	if (ref >= fx_gnt_n)
		fx_gnt_remap();
	if (ref >= fx_gnt_n)
		return -EINVAL;
	*g = fx_gnt[ref];
	if (!(g->flags & FAKEXEN_GRANT_VALID))
		return -EINVAL;
	return 0;
}

/* Map RAM pages page[0..n) contiguously with prot.  fx_lock held. */
static void *fx_map_pages(const uint64_t *page, uint32_t n, int prot)
{
	uint8_t *base = mmap(NULL, (size_t)n * FX_PAGE, PROT_NONE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (base == MAP_FAILED)
		return NULL;
	/* One mmap per run of consecutive file pages. */
	for (uint32_t i = 0, run; i < n; i += run) {
		void *want = base + (size_t)i * FX_PAGE;
		void *p;

		run = 1;
		if (page[i] == UINT64_MAX)
			continue;       /* a failed foreign page: PROT_NONE */
		while (i + run < n && page[i + run] == page[i] + run)
			run++;
		/* MAP_POPULATE: gntdev and privcmd install every PTE at
		 * mmap time, so the backend takes no page faults on them. */
		p = mmap(want, (size_t)run * FX_PAGE, prot,
			 MAP_SHARED | MAP_FIXED | MAP_POPULATE, fx_ram_fd,
			 (off_t)(page[i] * FX_PAGE));
		if (p != want) {
			int e = errno;

			munmap(base, (size_t)n * FX_PAGE);
			errno = e;
			return NULL;
		}
	}
	return base;
}

static int fx_record(void *owner, void *addr, uint32_t count, bool grant)
{
	struct fx_map *m = malloc(sizeof(*m));

	if (!m)
		return -ENOMEM;
	*m = (struct fx_map){ fx_maps, owner, addr, count, grant };
	fx_maps = m;
	return 0;
}

/* Remove the live mapping (owner, addr, count): 0, or -EINVAL. */
static int fx_forget(void *owner, void *addr, uint32_t count, bool grant)
{
	for (struct fx_map **pp = &fx_maps; *pp; pp = &(*pp)->next) {
		struct fx_map *m = *pp;

		if (m->owner != owner || m->addr != addr || m->grant != grant)
			continue;
		if (m->count != count)
			return -EINVAL;
		*pp = m->next;
		free(m);
		return 0;
	}
	return -EINVAL;
}

/* Unmap and count every mapping of owner still alive.  fx_lock held. */
static unsigned fx_reap(void *owner)
{
	unsigned n = 0;

	for (struct fx_map **pp = &fx_maps; *pp;) {
		struct fx_map *m = *pp;

		if (m->owner != owner) {
			pp = &m->next;
			continue;
		}
		munmap(m->addr, (size_t)m->count * FX_PAGE);
		if (m->grant) {
			ST_SUB(gnt_live, 1);
			ST_SUB(gnt_live_pages, m->count);
		} else {
			ST_SUB(fm_live, 1);
		}
		*pp = m->next;
		free(m);
		n++;
	}
	return n;
}

/* ---- libxengnttab -------------------------------------------------------- */

/* A handle of either library (both hold only an id): set the fake up on
 * first use and count the open in the statistics counter at byte offset
 * `opens` (set up only by fx_init).  NULL with errno on failure. */
static void *fx_handle_open(size_t size, size_t opens)
{
	void *h = NULL;
	int e;

	pthread_mutex_lock(&fx_lock);
	e = fx_init();
	/* A device model under the simulator (fakexen-dm.c) opens
	 * libxenforeignmemory for map_resource only: no RAM needed. */
	if (e == -ENOENT && getenv("FAKEXEN_SIM") && !getenv("FAKEXEN_RAM"))
		e = 0;
	if (!e) {
		h = calloc(1, size);
		if (h)
			__atomic_add_fetch((uint64_t *)((char *)fx_st + opens), 1,
					   __ATOMIC_SEQ_CST);
		else
			e = -ENOMEM;
	}
	pthread_mutex_unlock(&fx_lock);
	if (!h)
		errno = -e;
	return h;
}

xengnttab_handle *xengnttab_open(struct xentoollog_logger *logger,
				 unsigned open_flags)
{
	return fx_handle_open(sizeof(xengnttab_handle),
			      offsetof(struct fakexen_stats, gnt_opens));
}

int xengnttab_close(xengnttab_handle *xgt)
{
	unsigned leaked;

	if (!xgt)
		return 0;
	pthread_mutex_lock(&fx_lock);
	leaked = fx_reap(xgt);
	ST_ADD(leaked, leaked);
	ST_ADD(gnt_closes, 1);
	if (getenv("FAKEXEN_VERBOSE"))
		fprintf(stderr, "fakexen: gnttab closed: maps=%llu unmaps=%llu leaked=%u bad_unmaps=%llu refused=%llu\n",
			(unsigned long long)fx_st->gnt_maps,
			(unsigned long long)fx_st->gnt_unmaps, leaked,
			(unsigned long long)fx_st->bad_unmaps,
			(unsigned long long)fx_st->gnt_refused);
	pthread_mutex_unlock(&fx_lock);
	free(xgt);
	return 0;
}

static void *fx_gnt_map(xengnttab_handle *xgt, uint32_t count,
			const uint32_t *domids, uint32_t domid,
			const uint32_t *refs, int prot)
{
	uint32_t want_dom = (uint32_t)env_u64("FAKEXEN_DOMID", 1);
	uint64_t *page = NULL;
	void *p = NULL;
	int e = 0;

	if (!xgt || !refs || count == 0 || count > FX_MAX_COUNT ||
	    !(prot & PROT_READ) || (prot & ~(PROT_READ | PROT_WRITE))) {
		pthread_mutex_lock(&fx_lock);
		if (fx_st)
			ST_ADD(gnt_invalid, 1);
		pthread_mutex_unlock(&fx_lock);
		errno = EINVAL;
		return NULL;
	}
	page = malloc(count * sizeof(*page));
	if (!page) {
		errno = ENOMEM;
		return NULL;
	}
	pthread_mutex_lock(&fx_lock);
	for (uint32_t i = 0; i < count && !e; i++) {
		struct fakexen_grant g = { 0 };
		uint32_t d = domids ? domids[i] : domid;

		if (d != want_dom) {
			e = -ESRCH;
		} else if (fx_grant(refs[i], &g) < 0 || g.gfn >= fx_ram_pages) {
			e = -EINVAL;
		} else if ((g.flags & FAKEXEN_GRANT_READONLY) &&
			   (prot & PROT_WRITE)) {
			e = -EPERM;
			ST_ADD(gnt_refused, 1);
		}
		page[i] = g.gfn;
	}
	if (!e) {
		p = fx_map_pages(page, count, prot);
		if (!p)
			e = -errno;
		else if (fx_record(xgt, p, count, true) < 0) {
			munmap(p, (size_t)count * FX_PAGE);
			p = NULL;
			e = -ENOMEM;
		}
	}
	if (p) {
		ST_ADD(gnt_maps, 1);
		ST_ADD(gnt_pages, count);
		if (!(prot & PROT_WRITE))
			ST_ADD(gnt_ro_maps, 1);
		ST_ADD(gnt_live, 1);
		ST_ADD(gnt_live_pages, count);
	} else if (e != -EPERM) {
		ST_ADD(gnt_invalid, 1);
	}
	pthread_mutex_unlock(&fx_lock);
	free(page);
	if (!p)
		errno = -e;
	return p;
}

void *xengnttab_map_domain_grant_refs(xengnttab_handle *xgt, uint32_t count,
				      uint32_t domid, uint32_t *refs, int prot)
{
	return fx_gnt_map(xgt, count, NULL, domid, refs, prot);
}

void *xengnttab_map_grant_refs(xengnttab_handle *xgt, uint32_t count,
			       uint32_t *domids, uint32_t *refs, int prot)
{
	if (!domids) {
		errno = EINVAL;
		return NULL;
	}
	return fx_gnt_map(xgt, count, domids, 0, refs, prot);
}

void *xengnttab_map_grant_ref(xengnttab_handle *xgt, uint32_t domid,
			      uint32_t ref, int prot)
{
	return fx_gnt_map(xgt, 1, NULL, domid, &ref, prot);
}

int xengnttab_unmap(xengnttab_handle *xgt, void *start_address, uint32_t count)
{
	int e;

	pthread_mutex_lock(&fx_lock);
	e = fx_forget(xgt, start_address, count, true);
	if (!e) {
		munmap(start_address, (size_t)count * FX_PAGE);
		ST_ADD(gnt_unmaps, 1);
		ST_SUB(gnt_live, 1);
		ST_SUB(gnt_live_pages, count);
	} else if (fx_st) {
		ST_ADD(bad_unmaps, 1);
	}
	pthread_mutex_unlock(&fx_lock);
	if (e) {
		errno = -e;
		return -1;
	}
	return 0;
}

/* ---- libxenforeignmemory ------------------------------------------------ */

xenforeignmemory_handle *xenforeignmemory_open(struct xentoollog_logger *logger,
					       unsigned open_flags)
{
	return fx_handle_open(sizeof(xenforeignmemory_handle),
			      offsetof(struct fakexen_stats, fm_opens));
}

int xenforeignmemory_close(xenforeignmemory_handle *fmem)
{
	if (!fmem)
		return 0;
	pthread_mutex_lock(&fx_lock);
	ST_ADD(leaked, fx_reap(fmem));
	ST_ADD(fm_closes, 1);
	pthread_mutex_unlock(&fx_lock);
	free(fmem);
	return 0;
}

void *xenforeignmemory_map2(xenforeignmemory_handle *fmem, uint32_t dom,
			    void *addr, int prot, int flags, size_t pages,
			    const xen_pfn_t arr[], int err[])
{
	uint64_t base = env_u64("FAKEXEN_RAM_GFN", 0);
	uint32_t want_dom = (uint32_t)env_u64("FAKEXEN_DOMID", 1);
	uint64_t *page;
	bool failed = false;
	void *p = NULL;
	int e = 0;

	if (!fmem || !arr || pages == 0 || pages > UINT32_MAX / FX_PAGE) {
		errno = EINVAL;
		return NULL;
	}
	if (dom != want_dom) {
		errno = ESRCH;
		return NULL;
	}
	page = malloc(pages * sizeof(*page));
	if (!page) {
		errno = ENOMEM;
		return NULL;
	}
	pthread_mutex_lock(&fx_lock);
	for (size_t i = 0; i < pages; i++) {
		bool ok = arr[i] >= base && arr[i] - base < fx_ram_pages;

		page[i] = ok ? arr[i] - base : UINT64_MAX;
		if (err)
			err[i] = ok ? 0 : -EINVAL;
		if (!ok) {
			failed = true;
			ST_ADD(fm_bad_gfns, 1);
		}
	}
	if (failed && !err) {
		e = -EINVAL;
	} else {
		p = fx_map_pages(page, (uint32_t)pages, prot);
		if (!p)
			e = -errno;
		else if (fx_record(fmem, p, (uint32_t)pages, false) < 0) {
			munmap(p, pages * FX_PAGE);
			p = NULL;
			e = -ENOMEM;
		}
	}
	if (p) {
		ST_ADD(fm_maps, 1);
		ST_ADD(fm_live, 1);
	}
	pthread_mutex_unlock(&fx_lock);
	free(page);
	if (!p)
		errno = -e;
	return p;
}

void *xenforeignmemory_map(xenforeignmemory_handle *fmem, uint32_t dom,
			   int prot, size_t pages, const xen_pfn_t arr[],
			   int err[])
{
	return xenforeignmemory_map2(fmem, dom, NULL, prot, 0, pages, arr, err);
}

int xenforeignmemory_unmap(xenforeignmemory_handle *fmem, void *addr,
			   size_t pages)
{
	int e;

	pthread_mutex_lock(&fx_lock);
	e = fx_forget(fmem, addr, (uint32_t)pages, false);
	if (!e) {
		munmap(addr, pages * FX_PAGE);
		ST_ADD(fm_unmaps, 1);
		ST_SUB(fm_live, 1);
	} else if (fx_st) {
		ST_ADD(bad_unmaps, 1);
	}
	pthread_mutex_unlock(&fx_lock);
	if (e) {
		errno = -e;
		return -1;
	}
	return 0;
}

/* The sandbox's filter, just before it is loaded (see the top): libseccomp
 * found at run time, so the shim links nothing more. */
typedef void *fx_scmp_ctx;
int seccomp_load(fx_scmp_ctx ctx);
int seccomp_load(fx_scmp_ctx ctx)
{
	static int (*real_load)(fx_scmp_ctx);
	static int (*rule_add)(fx_scmp_ctx, uint32_t, int, unsigned, ...);
	const uint32_t allow = 0x7fff0000U;     /* SCMP_ACT_ALLOW */

	if (!real_load)
		real_load = (int (*)(fx_scmp_ctx))dlsym(RTLD_NEXT, "seccomp_load");
	if (!rule_add)
		rule_add = (int (*)(fx_scmp_ctx, uint32_t, int, unsigned, ...))
			dlsym(RTLD_NEXT, "seccomp_rule_add");
	if (!real_load || !rule_add)
		return -ENOSYS;
	if (rule_add(ctx, allow, SYS_openat, 0) < 0 || rule_add(ctx, allow, SYS_ftruncate, 0) < 0)
		return -EINVAL;
	return real_load(ctx);
}
