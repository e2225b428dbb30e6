/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Guest memory tables: validation, copy-on-write tables of shared
 * reference-counted regions, and address translation (guest-mem.h).
 * How a region's memory is reached is the region kind's business
 * (mem-backend.h); this file never maps anything itself.
 *
 * A table is a small array of slots sorted by gpa.  Each slot caches the
 * region's gpa range and host pointer so that the per-request lookup
 * (gm_map_chain) is a linear scan over at most GM_MAX_REGIONS entries
 * that are all in one or two cache lines for the usual 1-4 regions, with
 * no locks and no writes to shared memory other than the table reference.
 */
#include "config.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "mem/guest-mem.h"
#include "mem/mem-backend.h"

struct gm_slot {
	uint64_t gpa;
	uint64_t end;           /* gpa + size, exclusive; never wraps */
	uint8_t *host;          /* host address of gpa; NULL if deferred */
	struct gm_region *r;
};

struct gm_table {
	unsigned n;
	bool deferred;          /* some region is mapped per request */
	struct gm_slot s[GM_MAX_REGIONS];
	/* Last, so that workers on other cores bumping it per request do
	 * not keep invalidating the cache line holding the first slots. */
	atomic_uint ref;
};

/* Per-request state of deferred mappings (m->priv), one entry per
 * (direction, kind, domid) group that had segments.  A group holds at
 * least one deferred region of its own, so a direction has at most
 * GM_MAX_REGIONS groups. */
struct gm_defer_map {
	unsigned n;
	struct {
		struct gm_region *r;    /* the group's representative */
		void *cookie;
	} e[2 * GM_MAX_REGIONS];
};

static const struct gm_kind *test_override;

/* Frontend-caused errors: detail at WARN for the first few, DEBUG after
 * (the caller logs one rate-limited summary line per rejected message). */
static unsigned gm_log_budget;
#define GM_BAD(...) do { \
	if (!vhd_log_ratelimited(&gm_log_budget, 32, VHD_LOG_WARN, __VA_ARGS__)) \
		LOG_DEBUG(__VA_ARGS__); \
} while (0)

void gm_kind_set_test_override(const struct gm_kind *k)
{
	test_override = k;
}

/* ---- regions ---------------------------------------------------------- */

static struct gm_region *region_ref(struct gm_region *r)
{
	atomic_fetch_add_explicit(&r->ref, 1, memory_order_relaxed);
	return r;
}

static void region_unref(struct gm_region *r)
{
	if (!r)
		return;
	if (atomic_fetch_sub_explicit(&r->ref, 1, memory_order_acq_rel) != 1)
		return;
	r->kind->unmap(r);
	free(r);
}

static bool desc_equal(const struct gm_region_desc *a,
		       const struct gm_region_desc *b)
{
	return a->gpa == b->gpa && a->size == b->size && a->uva == b->uva &&
	       a->mmap_offset == b->mmap_offset &&
	       a->xen_flags == b->xen_flags && a->domid == b->domid;
}

static int kind_for(uint32_t xen_flags, const struct gm_kind **out)
{
	if (xen_flags == 0) {
		*out = &gm_kind_unix;
		return 0;
	}
	if (test_override) {
		*out = test_override;
		return 0;
	}
#ifdef HAVE_XEN
	*out = gm_xen_kind(xen_flags);
	if (!*out) {
		GM_BAD("guest-mem: invalid Xen mmap flags 0x%x", xen_flags);
		return -EINVAL;
	}
	return 0;
#else
	GM_BAD("guest-mem: region with Xen mmap flags 0x%x, but built without Xen support",
	       xen_flags);
	return -EOPNOTSUPP;
#endif
}

/* Everything about one description that does not need the other regions. */
static int desc_check(const struct gm_region_desc *d, int fd,
		      const struct gm_kind **kind)
{
	int r;

	if (fd < 0) {
		GM_BAD("guest-mem: region gpa 0x%llx: no fd (%d)",
		       (unsigned long long)d->gpa, fd);
		return -EBADF;
	}
	if (d->size == 0) {
		GM_BAD("guest-mem: region gpa 0x%llx has size 0",
		       (unsigned long long)d->gpa);
		return -EINVAL;
	}
	/* A region reaching exactly 2^64 is rejected too: ends never wrap. */
	if (d->size > UINT64_MAX - d->gpa || d->size > UINT64_MAX - d->uva ||
	    d->size > UINT64_MAX - d->mmap_offset) {
		GM_BAD("guest-mem: region gpa 0x%llx size 0x%llx uva 0x%llx offset 0x%llx overflows 64 bits",
		       (unsigned long long)d->gpa, (unsigned long long)d->size,
		       (unsigned long long)d->uva,
		       (unsigned long long)d->mmap_offset);
		return -EINVAL;
	}
	r = kind_for(d->xen_flags, kind);
	if (r < 0)
		return r;
	if ((*kind)->check) {
		r = (*kind)->check(d);
		if (r < 0)
			return r;
	}
	return 0;
}

static bool ranges_overlap(uint64_t a, uint64_t as, uint64_t b, uint64_t bs)
{
	/* Both ends are known not to wrap. */
	return a < b + bs && b < a + as;
}

/* -EINVAL if a and b may not live in one table. */
static int desc_conflict(const struct gm_region_desc *a, bool a_direct,
			 const struct gm_region_desc *b, bool b_direct)
{
	if (ranges_overlap(a->gpa, a->size, b->gpa, b->size)) {
		GM_BAD("guest-mem: regions gpa 0x%llx+0x%llx and 0x%llx+0x%llx overlap",
		       (unsigned long long)a->gpa, (unsigned long long)a->size,
		       (unsigned long long)b->gpa, (unsigned long long)b->size);
		return -EINVAL;
	}
	/* Deferred regions have no frontend mapping (uva 0): skip them. */
	if (a_direct && b_direct &&
	    ranges_overlap(a->uva, a->size, b->uva, b->size)) {
		GM_BAD("guest-mem: regions uva 0x%llx+0x%llx and 0x%llx+0x%llx overlap",
		       (unsigned long long)a->uva, (unsigned long long)a->size,
		       (unsigned long long)b->uva, (unsigned long long)b->size);
		return -EINVAL;
	}
	return 0;
}

/* A region for d backed by fd (borrowed: the caller closes it): one of
 * old's if identical and backed by the same file, else a new mapping. */
static int region_get(const struct gm_table *old, const struct gm_region_desc *d,
		      const struct gm_kind *kind, int fd, struct gm_region **out)
{
	struct gm_region *r;
	int e;

	if (old && kind->same) {
		for (unsigned i = 0; i < old->n; i++) {
			r = old->s[i].r;
			if (r->kind == kind && desc_equal(&r->desc, d) &&
			    kind->same(r, d, fd)) {
				*out = region_ref(r);
				return 0;
			}
		}
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	atomic_init(&r->ref, 1);
	r->kind = kind;
	r->desc = *d;
	e = kind->map(r, fd);
	if (e < 0) {
		free(r);
		return e;
	}
	if (!kind->deferred && !r->host) {
		/* A kind bug, not the frontend's: keep the invariant. */
		LOG_ERR("guest-mem: %s kind mapped region gpa 0x%llx without a host address",
			kind->name, (unsigned long long)d->gpa);
		kind->unmap(r);
		free(r);
		return -EIO;
	}
	*out = r;
	return 0;
}

/* ---- tables ----------------------------------------------------------- */

static struct gm_table *table_alloc(void)
{
	struct gm_table *t = calloc(1, sizeof(*t));

	if (t)
		atomic_init(&t->ref, 1);
	return t;
}

/* A new table holding regs[0..n) (references are taken over, also on
 * failure).  Regions must not overlap. */
static int table_build(struct gm_region **regs, unsigned n,
		       struct gm_table **out)
{
	struct gm_table *t = table_alloc();

	if (!t) {
		for (unsigned i = 0; i < n; i++)
			region_unref(regs[i]);
		return -ENOMEM;
	}
	/* Insertion sort by gpa: n <= 32. */
	for (unsigned i = 0; i < n; i++) {
		struct gm_region *r = regs[i];
		unsigned j = i;

		while (j > 0 && t->s[j - 1].gpa > r->desc.gpa) {
			t->s[j] = t->s[j - 1];
			j--;
		}
		t->s[j] = (struct gm_slot){
			.gpa = r->desc.gpa,
			.end = r->desc.gpa + r->desc.size,
			.host = r->host,
			.r = r,
		};
		if (r->kind->deferred)
			t->deferred = true;
	}
	t->n = n;
	*out = t;
	return 0;
}

struct gm_table *gm_table_new_empty(void)
{
	return table_alloc();
}

struct gm_table *gm_table_ref(struct gm_table *t)
{
	if (t)
		atomic_fetch_add_explicit(&t->ref, 1, memory_order_relaxed);
	return t;
}

void gm_table_unref(struct gm_table *t)
{
	if (!t)
		return;
	if (atomic_fetch_sub_explicit(&t->ref, 1, memory_order_acq_rel) != 1)
		return;
	for (unsigned i = 0; i < t->n; i++)
		region_unref(t->s[i].r);
	free(t);
}

unsigned gm_table_nregions(const struct gm_table *t)
{
	return t ? t->n : 0;
}

static void close_fds(const int *fds, unsigned from, unsigned to)
{
	for (unsigned i = from; i < to; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

int gm_table_set(const struct gm_table *old, const struct gm_region_desc *descs,
		 const int *fds, unsigned n, struct gm_table **out)
{
	const struct gm_kind *kinds[GM_MAX_REGIONS];
	struct gm_region *regs[GM_MAX_REGIONS];
	unsigned i, j;
	int r;

	*out = NULL;
	if (n > GM_MAX_REGIONS) {
		GM_BAD("guest-mem: table of %u regions (at most %u)", n,
		       GM_MAX_REGIONS);
		r = -E2BIG;
		goto fail;
	}
	for (i = 0; i < n; i++) {
		r = desc_check(&descs[i], fds[i], &kinds[i]);
		if (r < 0)
			goto fail;
	}
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++) {
			r = desc_conflict(&descs[i], !kinds[i]->deferred,
					  &descs[j], !kinds[j]->deferred);
			if (r < 0)
				goto fail;
		}
	for (i = 0; i < n; i++) {
		r = region_get(old, &descs[i], kinds[i], fds[i], &regs[i]);
		close(fds[i]);
		if (r < 0) {
			close_fds(fds, i + 1, n);
			for (j = 0; j < i; j++)
				region_unref(regs[j]);
			return r;
		}
	}
	return table_build(regs, n, out);

fail:
	close_fds(fds, 0, n);
	return r;
}

int gm_table_add(const struct gm_table *old, const struct gm_region_desc *desc,
		 int fd, struct gm_table **out)
{
	struct gm_region *regs[GM_MAX_REGIONS];
	const struct gm_kind *kind;
	unsigned n = gm_table_nregions(old);
	int r;

	*out = NULL;
	if (n >= GM_MAX_REGIONS) {
		GM_BAD("guest-mem: ADD region gpa 0x%llx: table already has %u regions",
		       (unsigned long long)desc->gpa, n);
		r = -E2BIG;
		goto fail;
	}
	r = desc_check(desc, fd, &kind);
	if (r < 0)
		goto fail;
	for (unsigned i = 0; i < n; i++) {
		const struct gm_region *o = old->s[i].r;

		r = desc_conflict(&o->desc, !o->kind->deferred, desc,
				  !kind->deferred);
		if (r < 0)
			goto fail;
	}
	/* A new region never equals an old one (it would overlap). */
	r = region_get(NULL, desc, kind, fd, &regs[n]);
	close(fd);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < n; i++)
		regs[i] = region_ref(old->s[i].r);
	return table_build(regs, n + 1, out);

fail:
	if (fd >= 0)
		close(fd);
	return r;
}

int gm_table_remove(const struct gm_table *old, const struct gm_region_desc *desc,
		    struct gm_table **out)
{
	struct gm_region *regs[GM_MAX_REGIONS];
	unsigned n = gm_table_nregions(old), k = 0, hit = n;

	*out = NULL;
	for (unsigned i = 0; i < n; i++) {
		const struct gm_region_desc *d = &old->s[i].r->desc;

		if (d->gpa == desc->gpa && d->size == desc->size &&
		    d->uva == desc->uva) {
			hit = i;
			break;
		}
	}
	if (hit == n) {
		GM_BAD("guest-mem: REM region gpa 0x%llx size 0x%llx uva 0x%llx: no such region",
		       (unsigned long long)desc->gpa,
		       (unsigned long long)desc->size,
		       (unsigned long long)desc->uva);
		return -ENOENT;
	}
	for (unsigned i = 0; i < n; i++)
		if (i != hit)
			regs[k++] = region_ref(old->s[i].r);
	return table_build(regs, k, out);
}

/* ---- translation ------------------------------------------------------ */

/* The slot containing gpa a, or NULL.  Slots are sorted and disjoint. */
static inline const struct gm_slot *find_gpa(const struct gm_table *t,
					     uint64_t a)
{
	for (unsigned i = 0; i < t->n; i++) {
		const struct gm_slot *s = &t->s[i];

		if (a < s->gpa)
			return NULL;
		if (a < s->end)
			return s;
	}
	return NULL;
}

void *gm_uva_to_ptr(const struct gm_table *t, uint64_t uva, uint64_t len)
{
	if (!t)
		return NULL;
	for (unsigned i = 0; i < t->n; i++) {
		const struct gm_slot *s = &t->s[i];
		const struct gm_region_desc *d = &s->r->desc;
		uint64_t off;

		if (!s->host || uva < d->uva || uva - d->uva >= d->size)
			continue;
		off = uva - d->uva;
		/* Regions do not overlap in uva: no other region can hold it. */
		if (len > d->size - off)
			return NULL;
		return s->host + off;
	}
	return NULL;
}

/* Deferred segments collected while translating one request, in chain
 * order (readable buffers first). */
struct gm_defer {
	struct gm_seg *segs;    /* room for one per iovec */
	unsigned n;
};

/* Bytes from a (inside slot s) that one iovec can hold, at most left:
 * up to the slot's end, and for a deferred kind with a granule not across
 * a multiple of it (mem-backend.h, seg_granule). */
static uint64_t piece_len(const struct gm_slot *s, uint64_t a, uint64_t left)
{
	uint64_t chunk = s->end - a, g;

	if (!s->host && s->r->kind->seg_granule &&
	    (g = s->r->kind->seg_granule()) != 0 && g - (a & (g - 1)) < chunk)
		chunk = g - (a & (g - 1));
	return chunk < left ? chunk : left;
}

/* Translate list b[0..n) into iov[*k..), advancing *k.  df may be NULL
 * if the table has no deferred region. */
static int map_list(const struct gm_table *t, const struct gm_buf *b,
		    unsigned n, struct iovec *iov, unsigned cap, unsigned *k,
		    struct gm_defer *df)
{
	for (unsigned i = 0; i < n; i++) {
		uint64_t a = b[i].addr, left = b[i].len;

		if (left == 0 || left - 1 > UINT64_MAX - a)
			return -EFAULT;
		while (left) {
			const struct gm_slot *s = find_gpa(t, a);
			uint64_t chunk;

			if (!s)
				return -EFAULT;
			if (*k == cap)
				return -ENOBUFS;
			chunk = piece_len(s, a, left);
			iov[*k].iov_len = (size_t)chunk;
			if (s->host) {
				iov[*k].iov_base = s->host + (a - s->gpa);
			} else {
				iov[*k].iov_base = NULL;
				df->segs[df->n++] = (struct gm_seg){
					.gpa = a, .iov = &iov[*k], .r = s->r,
				};
			}
			(*k)++;
			a += chunk;
			left -= chunk;
		}
	}
	return 0;
}

/* Unmap every group in dm, last mapped first. */
static void defer_unmap_all(struct gm_defer_map *dm)
{
	while (dm->n > 0) {
		dm->n--;
		dm->e[dm->n].r->kind->unmap_segs(dm->e[dm->n].r,
						 dm->e[dm->n].cookie);
	}
}

static void defer_unmap(struct gm_defer_map *dm)
{
	defer_unmap_all(dm);
	free(dm);
}

/* Segments of one group may be mapped by one kind call: the kind sees
 * only what their regions share (mem-backend.h). */
static bool same_group(const struct gm_region *a, const struct gm_region *b)
{
	return a->kind == b->kind && a->desc.domid == b->desc.domid;
}

/*
 * Map the deferred segments segs[0..n) of one direction with one kind
 * call per (kind, domid) group, not per region: xen-vhost-frontend cuts a
 * guest's grant space into many regions, and a chain touching two of them
 * must still cost one map.  Groups are mapped in the order of their first
 * segment, each group's segments in chain order.  tmp has room for n.
 * What was mapped is recorded in dm, also on failure.
 */
static int defer_map_dir(struct gm_seg *segs, unsigned n, bool writable,
			 struct gm_seg *tmp, struct gm_defer_map *dm)
{
	struct gm_region *grp[GM_MAX_REGIONS];
	unsigned ng = 0;

	for (unsigned i = 0; i < n; i++) {
		unsigned g = 0;

		while (g < ng && !same_group(grp[g], segs[i].r))
			g++;
		if (g < ng)
			continue;
		/* Each group has a deferred region of its own: cannot
		 * overflow while tables hold at most GM_MAX_REGIONS. */
		if (ng == GM_MAX_REGIONS)
			return -EIO;
		grp[ng++] = segs[i].r;
	}
	for (unsigned g = 0; g < ng; g++) {
		struct gm_seg *gs = segs;
		unsigned cnt = n;
		int e;

		if (ng > 1) {
			cnt = 0;
			for (unsigned i = 0; i < n; i++)
				if (same_group(grp[g], segs[i].r))
					tmp[cnt++] = segs[i];
			gs = tmp;
		}
		e = grp[g]->kind->map_segs(grp[g], gs, cnt, writable,
					   &dm->e[dm->n].cookie);
		if (e < 0)
			return e;
		dm->e[dm->n++].r = grp[g];
	}
	return 0;
}

/* The slow path for tables with deferred regions (Xen grants). */
static int map_chain_deferred(struct gm_table *t,
			      const struct gm_buf *rd, unsigned n_rd,
			      const struct gm_buf *wr, unsigned n_wr,
			      struct iovec *iov, unsigned iov_cap,
			      unsigned *nr, unsigned *nw, void **priv)
{
	size_t cap = iov_cap ? iov_cap : 1;
	struct gm_defer df = { 0 };
	struct gm_defer_map *dm;
	struct gm_seg *tmp;
	unsigned k = 0, kr, dr;
	int e = -ENOMEM;

	/* One allocation for the collected segments and the group scratch. */
	df.segs = calloc(cap, 2 * sizeof(*df.segs));
	dm = calloc(1, sizeof(*dm));
	if (!df.segs || !dm)
		goto out;
	tmp = df.segs + cap;
	e = map_list(t, rd, n_rd, iov, iov_cap, &k, &df);
	if (e < 0)
		goto out;
	kr = k;
	dr = df.n;
	e = map_list(t, wr, n_wr, iov, iov_cap, &k, &df);
	if (e < 0)
		goto out;
	e = defer_map_dir(df.segs, dr, false, tmp, dm);
	if (e == 0)
		e = defer_map_dir(df.segs + dr, df.n - dr, true, tmp, dm);
	if (e < 0)
		goto out;
	*nr = kr;
	*nw = k - kr;
	if (dm->n) {
		*priv = dm;
		dm = NULL;
	}
out:
	if (dm)
		defer_unmap(dm);
	free(df.segs);
	return e;
}

int gm_map_chain(struct gm_table *t,
		 const struct gm_buf *rd, unsigned n_rd,
		 const struct gm_buf *wr, unsigned n_wr,
		 struct iovec *iov, unsigned iov_cap,
		 unsigned *n_rd_iov, unsigned *n_wr_iov,
		 struct gm_mapping *m)
{
	unsigned k = 0, kr;
	int e;

	m->table = NULL;
	m->priv = NULL;
	if (!t)
		return -EFAULT;
	if (t->deferred) {
		e = map_chain_deferred(t, rd, n_rd, wr, n_wr, iov, iov_cap,
				       n_rd_iov, n_wr_iov, &m->priv);
		if (e < 0)
			return e;
	} else {
		e = map_list(t, rd, n_rd, iov, iov_cap, &k, NULL);
		if (e < 0)
			return e;
		kr = k;
		e = map_list(t, wr, n_wr, iov, iov_cap, &k, NULL);
		if (e < 0)
			return e;
		*n_rd_iov = kr;
		*n_wr_iov = k - kr;
	}
	m->table = gm_table_ref(t);
	return 0;
}

void gm_unmap_chain(struct gm_mapping *m)
{
	if (!m)
		return;
	if (m->priv) {
		defer_unmap(m->priv);
		m->priv = NULL;
	}
	gm_table_unref(m->table);
	m->table = NULL;
}

int gm_read(struct gm_table *t, uint64_t gpa, void *dst, size_t len)
{
	/* In rounds of at most GM_MAX_REGIONS pieces: a piece ends at a slot
	 * end, or (deferred kinds with a granule) at a granule boundary, so
	 * a long range may have more pieces than there are regions. */
	struct iovec iov[GM_MAX_REGIONS];
	struct gm_seg segs[GM_MAX_REGIONS], tmp[GM_MAX_REGIONS];
	uint8_t *out = dst;
	int e = 0;

	if (len == 0)
		return 0;
	if (!t || (uint64_t)len - 1 > UINT64_MAX - gpa)
		return -EFAULT;
	while (len && e == 0) {
		struct gm_defer_map dm = { .n = 0 };
		struct gm_defer df = { .segs = segs };
		unsigned k = 0;

		while (len && k < GM_MAX_REGIONS) {
			const struct gm_slot *s = find_gpa(t, gpa);
			uint64_t chunk;

			if (!s)
				return -EFAULT;
			chunk = piece_len(s, gpa, len);
			iov[k].iov_len = (size_t)chunk;
			if (s->host) {
				iov[k].iov_base = s->host + (gpa - s->gpa);
			} else {
				iov[k].iov_base = NULL;
				df.segs[df.n++] = (struct gm_seg){
					.gpa = gpa, .iov = &iov[k], .r = s->r,
				};
			}
			k++;
			gpa += chunk;
			len -= (size_t)chunk;
		}
		/* Deferred pieces: one read-only map per (kind, domid)
		 * group, as for a request (an indirect table across two Xen
		 * gap regions). */
		if (df.n)
			e = defer_map_dir(df.segs, df.n, false, tmp, &dm);
		if (e == 0)
			for (unsigned i = 0; i < k; i++) {
				memcpy(out, iov[i].iov_base, iov[i].iov_len);
				out += iov[i].iov_len;
			}
		defer_unmap_all(&dm);
	}
	return e < 0 ? -EFAULT : 0;
}
