/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Guest memory, Xen kinds: regions a Xen frontend (xen-vhost-frontend)
 * describes with VHOST_USER_PROTOCOL_F_XEN_MMAP flags instead of memfds.
 *
 *   flags 0x1  foreign: the guest's RAM by guest frame number, mapped
 *              whole when the region enters its first table
 *              (xenforeignmemory_map of every gfn, read-write).
 *   flags 0x2  grant, mapped in advance (the frontend uses it for the
 *              vrings): the consecutive grant refs of the region mapped
 *              once, read-write.
 *   flags 0xA  grant + no-advance-map (everything else the guest grants):
 *              nothing mapped up front; each request's buffers are mapped
 *              by map_segs() with ONE xengnttab_map_domain_grant_refs call
 *              per direction and domid, however many of the frontend's
 *              no-advance regions they lie in (the table code groups them
 *              by kind and domid) -- device-readable buffers PROT_READ
 *              only, since the guest grants them read-only -- and
 *              unmapped by unmap_segs() before the used entry is
 *              published (a guest that finds its grant still mapped when
 *              it ends access declares the device broken).
 *   anything else is rejected (gm_xen_kind() returns NULL): GRANT with
 *   FOREIGN, NO_ADVANCE without GRANT, unknown bits (0x100, "bit 8" of
 *   the spec text, included).
 *
 * Addresses: a grant address is 1<<63 | ref<<12 | offset.  All arithmetic
 * is in 4 KiB Xen pages and keeps the in-page offset, so neither regions
 * nor buffers need to be page aligned: a buffer [a, a+len) needs the refs
 * (a>>12) .. ((a+len-1)>>12) and lives at map + (a & 0xfff).  Several
 * buffers mapped in one call are laid out one after the other, each
 * starting on its own page of the mapping; refs are never shared between
 * buffers (adjacent descriptors are independent grants).
 *
 * Handles: one process-wide xengnttab and one xenforeignmemory handle,
 * opened when the first region of that type is mapped (so after the
 * daemon forked) and closed when the last such region is gone.  A region
 * keeps the handle in r->priv and counts as a user, so a request mapped
 * from an old table can still unmap after the table was replaced.  The
 * libxen Linux implementations keep no mutable state in the handle (each
 * map/unmap is its own ioctl + mmap), so workers share them without a lock.
 * libxen's own messages go through our log (rate-limited: a guest that
 * grants garbage makes libxen log errors).
 *
 * Kernel page size.  Xen pages are always 4 KiB; an arm64 Linux kernel
 * may use 16 KiB or 64 KiB pages.  What the Linux drivers do then:
 *   - privcmd (foreign maps) packs the 4 KiB gfns densely, several per
 *     kernel page (xen_xlate_remap_gfn_array), and libxenforeignmemory
 *     mmaps num * 4 KiB rounded up: gfn i is at map + i * 4 KiB whatever
 *     the page size, so foreign regions need nothing special.
 *   - gntdev maps each grant into a kernel page of its own (the 4 KiB
 *     grant at the start of it) and its mmap must cover exactly one kernel
 *     page per grant, while libxengnttab mmaps count * 4 KiB: with larger
 *     pages only a map of ONE grant succeeds, and two grants are never
 *     adjacent in the process.  So, when the host page is larger than
 *     4 KiB ("one grant per page" mode):
 *       * a grant region mapped in advance must lie inside one 4 KiB
 *         grant: larger ones cannot be made contiguous, and check()
 *         refuses them, naming the page size;
 *       * per-request buffers are cut at every 4 KiB grant boundary
 *         (seg_granule: one iovec per grant piece) and each piece is
 *         mapped by its own one-grant call.
 *     With 4 KiB pages nothing of this applies: one call per direction,
 *     each buffer contiguous.
 *   The page size is read with sysconf(_SC_PAGESIZE) (the unit test
 *   replaces it, as it replaces libxen); a size that is not a power-of-two
 *   multiple of 4 KiB is refused when the first handle is opened.
 *
 * The fds that come with the regions (/dev/xen/privcmd, /dev/xen/gntdev)
 * are not used: libxen opens its own.  The table code closes them.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <xenforeignmemory.h>
#include <xengnttab.h>
#include <xentoollog.h>

#include "log.h"
#include "mem/mem-backend.h"
#include "mem/mem-xen.h"

/* Frontend/guest-caused problems: the first few at WARN, then quiet. */
static unsigned xen_log_budget;
#define XEN_BAD(...) do { \
	if (!vhd_log_ratelimited(&xen_log_budget, 32, VHD_LOG_WARN, __VA_ARGS__)) \
		LOG_DEBUG(__VA_ARGS__); \
} while (0)

/* ---- libxen logging ---------------------------------------------------- */

static unsigned xtl_log_budget;

__attribute__((format(printf, 5, 0)))
static void xtl_vmessage(struct xentoollog_logger *lg, xentoollog_level level,
			 int errnoval, const char *context, const char *format,
			 va_list al)
{
	char msg[512];
	enum vhd_log_level l;

	if (level < XTL_WARN) {
		if (vhd_log_get_level() < VHD_LOG_DEBUG)
			return;
		l = VHD_LOG_DEBUG;
	} else {
		l = level == XTL_WARN ? VHD_LOG_WARN : VHD_LOG_ERROR;
	}
	vsnprintf(msg, sizeof(msg), format, al);
	if (errnoval >= 0)
		vhd_log_ratelimited(&xtl_log_budget, 32, l, "xen: %s: %s: %s",
				    context ? context : "libxen", msg,
				    strerror(errnoval));
	else
		vhd_log_ratelimited(&xtl_log_budget, 32, l, "xen: %s: %s",
				    context ? context : "libxen", msg);
}

static void xtl_destroy(struct xentoollog_logger *lg)
{
}

static struct xentoollog_logger xtl_logger = {
	.vmessage = xtl_vmessage,
	.destroy = xtl_destroy,
};

/* ---- shared handles ---------------------------------------------------- */

/* A library handle shared by every region of the process that needs it:
 * opened by the first user, closed when the last one is gone.  One piece
 * of code for the grant table (xengnttab) and foreign memory
 * (xenforeignmemory) handles. */
struct shared_handle {
	void *h;
	unsigned users;
	void *(*open)(void);
	void (*close)(void *h);
	const char *what;          /* for the error: the device and call */
	const char *needs;         /* the device node it needs */
};

static pthread_mutex_t handles_lock = PTHREAD_MUTEX_INITIALIZER;

/* The host kernel's page size (see the top of this file). */
static uint64_t host_page(void)
{
	long ps = sysconf(_SC_PAGESIZE);

	return ps > 0 ? (uint64_t)ps : 0;
}

/* Does gntdev map one grant per kernel page larger than a grant? */
static bool grant_per_page(void)
{
	return host_page() > GM_XEN_PAGE_SIZE;
}

/* A page size the mapping code is right for: a power-of-two multiple of
 * 4 KiB (4, 16 and 64 KiB are what Linux on arm64 offers).  Called with
 * handles_lock held, when a handle is opened. */
static int check_page_size(void)
{
	static uint64_t told;
	uint64_t ps = host_page();

	if (ps < GM_XEN_PAGE_SIZE || (ps & (ps - 1))) {
		LOG_ERR("guest-mem: xen: the host page size is %llu bytes: Xen mappings need a power-of-two multiple of 4096",
			(unsigned long long)ps);
		return -EOPNOTSUPP;
	}
	if (ps > GM_XEN_PAGE_SIZE && told != ps) {
		told = ps;
		LOG_INFO("guest-mem: xen: host page size %llu KiB: each 4 KiB grant is mapped into a page of its own (one grant per map call; grant regions mapped in advance must fit one grant)",
			 (unsigned long long)ps / 1024);
	}
	return 0;
}

static int handle_get(struct shared_handle *s, void **out)
{
	int e = 0;

	pthread_mutex_lock(&handles_lock);
	if (!s->h) {
		e = check_page_size();
		if (e < 0) {
			pthread_mutex_unlock(&handles_lock);
			return e;
		}
		errno = 0;
		s->h = s->open();
		if (!s->h) {
			e = errno ? -errno : -EIO;
			LOG_ERR("guest-mem: xen: cannot open %s: %s (needs %s)",
				s->what, strerror(-e), s->needs);
		}
	}
	if (!e) {
		s->users++;
		*out = s->h;
	}
	pthread_mutex_unlock(&handles_lock);
	return e;
}

static void handle_put(struct shared_handle *s)
{
	pthread_mutex_lock(&handles_lock);
	if (s->users && --s->users == 0) {
		s->close(s->h);
		s->h = NULL;
	}
	pthread_mutex_unlock(&handles_lock);
}

static void *gnt_open(void) { return xengnttab_open(&xtl_logger, 0); }
static void gnt_close(void *h) { xengnttab_close(h); }
static void *fmem_open(void) { return xenforeignmemory_open(&xtl_logger, 0); }
static void fmem_close(void *h) { xenforeignmemory_close(h); }

static struct shared_handle gnt_shared = {
	.open = gnt_open, .close = gnt_close,
	.what = "the grant table device (xengnttab_open)", .needs = "/dev/xen/gntdev",
};
static struct shared_handle fmem_shared = {
	.open = fmem_open, .close = fmem_close,
	.what = "the foreign memory device (xenforeignmemory_open)", .needs = "/dev/xen/privcmd",
};

static int gnt_get(xengnttab_handle **out)
{
	void *h;
	int e = handle_get(&gnt_shared, &h);

	if (!e)
		*out = h;
	return e;
}

static void gnt_put(void)
{
	handle_put(&gnt_shared);
}

static int fmem_get(xenforeignmemory_handle **out)
{
	void *h;
	int e = handle_get(&fmem_shared, &h);

	if (!e)
		*out = h;
	return e;
}

static void fmem_put(void)
{
	handle_put(&fmem_shared);
}

/* ---- address arithmetic ------------------------------------------------ */

/* 4 KiB pages covering [a, a+len); len > 0 and a+len-1 does not wrap. */
static inline uint64_t pages_of(uint64_t a, uint64_t len)
{
	return ((a + len - 1) >> GM_XEN_PAGE_SHIFT) -
	       (a >> GM_XEN_PAGE_SHIFT) + 1;
}

/* Grant address without the grant bit. */
static inline uint64_t gnt_addr(uint64_t a)
{
	return a & ~GM_XEN_GRANT_ADDR_OFF;
}

/* ---- checks common to every Xen region ---------------------------------- */

static int xen_check_common(const struct gm_region_desc *d, const char *what)
{
	if (d->mmap_offset) {
		XEN_BAD("guest-mem: xen %s region gpa 0x%llx: mmap_offset 0x%llx (must be 0)",
			what, (unsigned long long)d->gpa,
			(unsigned long long)d->mmap_offset);
		return -EINVAL;
	}
	if (d->domid >= GM_XEN_DOMID_LIMIT) {
		XEN_BAD("guest-mem: xen %s region gpa 0x%llx: domid 0x%x is reserved, not a guest",
			what, (unsigned long long)d->gpa, d->domid);
		return -EINVAL;
	}
	return 0;
}

static int grant_check_refs(const struct gm_region_desc *d, const char *what)
{
	uint64_t a = gnt_addr(d->gpa);
	int e = xen_check_common(d, what);

	if (e < 0)
		return e;
	/* Grant refs are 32 bits: the region's last page must have one. */
	if (d->size - 1 > UINT64_MAX - a ||
	    ((a + d->size - 1) >> GM_XEN_PAGE_SHIFT) > UINT32_MAX) {
		XEN_BAD("guest-mem: xen %s region gpa 0x%llx size 0x%llx: grant refs beyond 32 bits",
			what, (unsigned long long)d->gpa,
			(unsigned long long)d->size);
		return -EINVAL;
	}
	/* Linux grant DMA addresses always carry bit 63; a grant region
	 * without it means the frontend and guest disagree on the mode. */
	if (!(d->gpa & GM_XEN_GRANT_ADDR_OFF))
		XEN_BAD("guest-mem: xen %s region gpa 0x%llx domid %u: grant region without bit 63 (foreign/grant mode mismatch?)",
			what, (unsigned long long)d->gpa, d->domid);
	return 0;
}

/* Fill refs[] with the refs of [a, a+len) (grant address, bit 63 or not). */
static inline uint32_t fill_refs(uint32_t *refs, uint64_t a, uint64_t len)
{
	uint64_t first = gnt_addr(a) >> GM_XEN_PAGE_SHIFT;
	uint64_t n = pages_of(gnt_addr(a), len);

	for (uint64_t i = 0; i < n; i++)
		refs[i] = (uint32_t)(first + i);
	return (uint32_t)n;
}

/* ---- foreign (0x1) ------------------------------------------------------ */

static int foreign_check(const struct gm_region_desc *d)
{
	int e = xen_check_common(d, "foreign");

	if (e < 0)
		return e;
	if (d->gpa + d->size > (1ull << GM_XEN_MAX_PHYS_BITS)) {
		XEN_BAD("guest-mem: xen foreign region gpa 0x%llx size 0x%llx: beyond 2^%u (a grant address sent as foreign?)",
			(unsigned long long)d->gpa,
			(unsigned long long)d->size, GM_XEN_MAX_PHYS_BITS);
		return -EINVAL;
	}
	return 0;
}

static int foreign_map(struct gm_region *r, int fd)
{
	const struct gm_region_desc *d = &r->desc;
	uint64_t n64 = pages_of(d->gpa, d->size);
	uint64_t first = d->gpa >> GM_XEN_PAGE_SHIFT;
	xenforeignmemory_handle *h = NULL;
	xen_pfn_t *gfns = NULL;
	int *err = NULL, e;
	size_t n;
	void *p;

	if (n64 > SIZE_MAX / sizeof(xen_pfn_t) ||
	    n64 > SIZE_MAX / GM_XEN_PAGE_SIZE)
		return -ENOMEM;
	n = (size_t)n64;
	e = fmem_get(&h);
	if (e < 0)
		return e;
	gfns = malloc(n * sizeof(*gfns));
	err = calloc(n, sizeof(*err));
	if (!gfns || !err) {
		e = -ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < n; i++)
		gfns[i] = (xen_pfn_t)(first + i);
	errno = 0;
	p = xenforeignmemory_map(h, d->domid, PROT_READ | PROT_WRITE, n, gfns,
				 err);
	if (!p) {
		e = errno ? -errno : -EIO;
		XEN_BAD("guest-mem: xen foreign region gpa 0x%llx size 0x%llx domid %u: mapping %zu pages failed: %s",
			(unsigned long long)d->gpa, (unsigned long long)d->size,
			d->domid, n, strerror(-e));
		goto fail;
	}
	/* With err[] the map may half succeed; a page that failed would
	 * fault on first touch, so the region is all or nothing. */
	for (size_t i = 0; i < n; i++) {
		if (!err[i])
			continue;
		e = err[i] > 0 ? -err[i] : (err[i] < 0 ? err[i] : -EIO);
		XEN_BAD("guest-mem: xen foreign region gpa 0x%llx domid %u: gfn 0x%llx not mappable: %s",
			(unsigned long long)d->gpa, d->domid,
			(unsigned long long)gfns[i], strerror(-e));
		xenforeignmemory_unmap(h, p, n);
		goto fail;
	}
	free(gfns);
	free(err);
	r->priv = h;
	r->map_base = p;
	r->map_len = n;                 /* pages */
	r->host = (uint8_t *)p + (d->gpa & GM_XEN_PAGE_MASK);
	LOG_DEBUG("guest-mem: xen foreign region gpa 0x%llx size 0x%llx domid %u: %zu pages at %p",
		  (unsigned long long)d->gpa, (unsigned long long)d->size,
		  d->domid, n, (void *)r->host);
	return 0;

fail:
	free(gfns);
	free(err);
	fmem_put();
	return e;
}

static void foreign_unmap(struct gm_region *r)
{
	if (!r->map_base)
		return;
	if (xenforeignmemory_unmap(r->priv, r->map_base, r->map_len) < 0)
		LOG_ERR("guest-mem: xen foreign region gpa 0x%llx: unmap of %zu pages at %p: %s",
			(unsigned long long)r->desc.gpa, r->map_len,
			r->map_base, strerror(errno));
	r->map_base = NULL;
	r->host = NULL;
	fmem_put();
}

/* The table code already compared every field: the same gfns of the same
 * domain are the same memory (the privcmd fd that came with the region
 * says nothing, every open of /dev/xen/privcmd looks alike).  Re-mapping
 * a whole guest on every SET_MEM_TABLE would be slow. */
static bool foreign_same(const struct gm_region *r,
			 const struct gm_region_desc *d, int fd)
{
	return true;
}

/* ---- grant, mapped in advance (0x2) ------------------------------------ */

static int grant_check(const struct gm_region_desc *d)
{
	int e = grant_check_refs(d, "grant");

	if (e < 0)
		return e;
	if (pages_of(gnt_addr(d->gpa), d->size) > GM_XEN_MAX_MAP_PAGES) {
		XEN_BAD("guest-mem: xen grant region gpa 0x%llx size 0x%llx: more than %u pages to map in advance",
			(unsigned long long)d->gpa,
			(unsigned long long)d->size, GM_XEN_MAX_MAP_PAGES);
		return -EINVAL;
	}
	/* One grant per kernel page: a region spanning two grants cannot
	 * be made contiguous (top of this file). */
	if (grant_per_page() && pages_of(gnt_addr(d->gpa), d->size) > 1) {
		XEN_BAD("guest-mem: xen grant region gpa 0x%llx size 0x%llx domid %u: spans %llu grants, but on this kernel (page size %llu KiB) gntdev maps each 4 KiB grant into a page of its own, so a region mapped in advance must fit one grant",
			(unsigned long long)d->gpa, (unsigned long long)d->size,
			d->domid,
			(unsigned long long)pages_of(gnt_addr(d->gpa), d->size),
			(unsigned long long)host_page() / 1024);
		return -EINVAL;
	}
	return 0;
}

static int grant_map(struct gm_region *r, int fd)
{
	const struct gm_region_desc *d = &r->desc;
	xengnttab_handle *h = NULL;
	uint32_t *refs, n;
	void *p;
	int e;

	e = gnt_get(&h);
	if (e < 0)
		return e;
	refs = malloc(pages_of(gnt_addr(d->gpa), d->size) * sizeof(*refs));
	if (!refs) {
		gnt_put();
		return -ENOMEM;
	}
	n = fill_refs(refs, d->gpa, d->size);
	errno = 0;
	p = xengnttab_map_domain_grant_refs(h, n, d->domid, refs,
					    PROT_READ | PROT_WRITE);
	if (!p) {
		e = errno ? -errno : -EIO;
		XEN_BAD("guest-mem: xen grant region gpa 0x%llx size 0x%llx domid %u: mapping refs %u..%u failed: %s",
			(unsigned long long)d->gpa, (unsigned long long)d->size,
			d->domid, refs[0], refs[n - 1], strerror(-e));
		free(refs);
		gnt_put();
		return e;
	}
	free(refs);
	r->priv = h;
	r->map_base = p;
	r->map_len = n;                 /* pages */
	r->host = (uint8_t *)p + (d->gpa & GM_XEN_PAGE_MASK);
	LOG_DEBUG("guest-mem: xen grant region gpa 0x%llx size 0x%llx domid %u: %u refs at %p",
		  (unsigned long long)d->gpa, (unsigned long long)d->size,
		  d->domid, n, (void *)r->host);
	return 0;
}

static void grant_unmap(struct gm_region *r)
{
	if (!r->map_base)
		return;
	if (xengnttab_unmap(r->priv, r->map_base, (uint32_t)r->map_len) < 0)
		LOG_ERR("guest-mem: xen grant region gpa 0x%llx: unmap of %zu pages at %p: %s",
			(unsigned long long)r->desc.gpa, r->map_len,
			r->map_base, strerror(errno));
	r->map_base = NULL;
	r->host = NULL;
	gnt_put();
}

/* ---- grant, mapped per request (0xA) ------------------------------------ */

/* A request's mappings of one direction: one map of `count` refs, or
 * (one grant per page) n maps of one ref each. */
struct grant_req_map {
	uint32_t count;         /* refs per mapping */
	unsigned n;             /* mappings in addr[] */
	void *addr[];
};

static int grant_defer_check(const struct gm_region_desc *d)
{
	return grant_check_refs(d, "grant (no-advance)");
}

static int grant_defer_map(struct gm_region *r, int fd)
{
	/* Nothing to map: just hold the handle for the requests. */
	return gnt_get((xengnttab_handle **)&r->priv);
}

static void grant_defer_unmap(struct gm_region *r)
{
	gnt_put();
	r->priv = NULL;
}

static void grant_unmap_segs(struct gm_region *r, void *cookie);

/* One grant per kernel page: map each segment (inside one grant, the
 * table code cut them at grant boundaries: seg_granule) with its own
 * one-ref call. */
static int grant_map_segs_per_page(struct gm_region *r, struct gm_seg *segs,
				   unsigned n, bool writable, void **cookie)
{
	struct grant_req_map *m;
	int prot = writable ? PROT_READ | PROT_WRITE : PROT_READ;

	for (unsigned i = 0; i < n; i++)
		if (pages_of(gnt_addr(segs[i].gpa), segs[i].iov->iov_len) != 1)
			return -EIO;    /* a table-code bug, not the guest's */
	m = malloc(sizeof(*m) + n * sizeof(m->addr[0]));
	if (!m)
		return -ENOMEM;
	m->count = 1;
	m->n = 0;
	for (unsigned i = 0; i < n; i++) {
		uint64_t a = gnt_addr(segs[i].gpa);
		uint32_t ref = (uint32_t)(a >> GM_XEN_PAGE_SHIFT);
		uint8_t *p;

		errno = 0;
		p = xengnttab_map_domain_grant_refs(r->priv, 1, r->desc.domid,
						    &ref, prot);
		if (!p) {
			int e = errno ? -errno : -EIO;

			XEN_BAD("guest-mem: xen grant domid %u: mapping %s ref %u (piece %u of %u) failed: %s",
				r->desc.domid, writable ? "writable" : "read-only",
				ref, i + 1, n, strerror(-e));
			grant_unmap_segs(r, m);
			return e;
		}
		m->addr[m->n++] = p;
		segs[i].iov->iov_base = p + (a & GM_XEN_PAGE_MASK);
	}
	*cookie = m;
	return 0;
}

/* segs[] may lie in several no-advance regions of r's domid: only
 * r->desc.domid and the process-wide handle in r->priv are used, both the
 * same for every region of the group (mem-backend.h). */
static int grant_map_segs(struct gm_region *r, struct gm_seg *segs, unsigned n,
			  bool writable, void **cookie)
{
	uint32_t stack_refs[64], *refs = stack_refs;
	struct grant_req_map *m;
	uint64_t total = 0;
	uint32_t k = 0;
	uint8_t *p;
	int e;

	*cookie = NULL;
	for (unsigned i = 0; i < n; i++)
		total += pages_of(gnt_addr(segs[i].gpa), segs[i].iov->iov_len);
	if (total == 0)
		return -EFAULT;
	if (total > GM_XEN_MAX_MAP_PAGES) {
		XEN_BAD("guest-mem: xen grant domid %u: a request needs %llu pages of %s buffers (at most %u per map)",
			r->desc.domid, (unsigned long long)total,
			writable ? "writable" : "readable", GM_XEN_MAX_MAP_PAGES);
		return -E2BIG;
	}
	if (grant_per_page())
		return grant_map_segs_per_page(r, segs, n, writable, cookie);
	m = malloc(sizeof(*m) + sizeof(m->addr[0]));
	if (!m)
		return -ENOMEM;
	if (total > sizeof(stack_refs) / sizeof(stack_refs[0])) {
		refs = malloc(total * sizeof(*refs));
		if (!refs) {
			free(m);
			return -ENOMEM;
		}
	}
	for (unsigned i = 0; i < n; i++)
		k += fill_refs(refs + k, segs[i].gpa, segs[i].iov->iov_len);
	errno = 0;
	p = xengnttab_map_domain_grant_refs(r->priv, k, r->desc.domid, refs,
					    writable ? PROT_READ | PROT_WRITE
						     : PROT_READ);
	if (!p) {
		e = errno ? -errno : -EIO;
		XEN_BAD("guest-mem: xen grant domid %u: mapping %u %s refs (first %u, %u buffers) failed: %s",
			r->desc.domid, k, writable ? "writable" : "read-only",
			refs[0], n, strerror(-e));
		if (refs != stack_refs)
			free(refs);
		free(m);
		return e;
	}
	if (refs != stack_refs)
		free(refs);
	/* Buffer i starts on its own first page of the mapping. */
	k = 0;
	for (unsigned i = 0; i < n; i++) {
		uint64_t a = gnt_addr(segs[i].gpa);

		segs[i].iov->iov_base = p + (size_t)k * GM_XEN_PAGE_SIZE +
					(a & GM_XEN_PAGE_MASK);
		k += (uint32_t)pages_of(a, segs[i].iov->iov_len);
	}
	m->addr[0] = p;
	m->count = k;
	m->n = 1;
	*cookie = m;
	return 0;
}

static void grant_unmap_segs(struct gm_region *r, void *cookie)
{
	struct grant_req_map *m = cookie;

	if (!m)
		return;
	/* Failing here means a bug of ours (wrong address or count): the
	 * grant stays mapped and the guest will find out.  Say so loudly. */
	for (unsigned i = 0; i < m->n; i++)
		if (xengnttab_unmap(r->priv, m->addr[i], m->count) < 0)
			LOG_ERR("guest-mem: xen grant domid %u: unmap of %u pages at %p: %s",
				r->desc.domid, m->count, m->addr[i], strerror(errno));
	free(m);
}

/* Per-request grant pieces never cross a 4 KiB grant boundary when each
 * grant gets a kernel page of its own. */
static uint64_t grant_seg_granule(void)
{
	return grant_per_page() ? GM_XEN_PAGE_SIZE : 0;
}

/* ---- kinds ------------------------------------------------------------- */

static const struct gm_kind kind_foreign = {
	.name = "xen-foreign",
	.check = foreign_check,
	.map = foreign_map,
	.unmap = foreign_unmap,
	.same = foreign_same,
};

/* No same(): a re-sent vring region is mapped again.  That is cheap (a
 * few pages), and a grant region has no identity to compare: every open
 * of /dev/xen/gntdev looks alike. */
static const struct gm_kind kind_grant = {
	.name = "xen-grant",
	.check = grant_check,
	.map = grant_map,
	.unmap = grant_unmap,
};

static const struct gm_kind kind_grant_defer = {
	.name = "xen-grant-no-advance",
	.deferred = true,
	.check = grant_defer_check,
	.map = grant_defer_map,
	.unmap = grant_defer_unmap,
	.map_segs = grant_map_segs,
	.unmap_segs = grant_unmap_segs,
	.seg_granule = grant_seg_granule,
};

const struct gm_kind *gm_xen_kind(uint32_t xen_flags)
{
	switch (xen_flags) {
	case GM_XEN_FLAG_FOREIGN:
		return &kind_foreign;
	case GM_XEN_FLAG_GRANT:
		return &kind_grant;
	case GM_XEN_FLAG_GRANT | GM_XEN_FLAG_NO_ADVANCE:
		return &kind_grant_defer;
	default:
		/* 0 is the unix kind's; FOREIGN|GRANT, NO_ADVANCE without
		 * GRANT or with FOREIGN, and unknown bits are invalid. */
		return NULL;
	}
}
