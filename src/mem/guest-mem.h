/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Guest memory: the table of regions a frontend hands us, and the only way
 * the rest of the backend reaches guest memory.
 *
 * Promises:
 *  - A table is immutable once built.  SET_MEM_TABLE, ADD_MEM_REG and
 *    REM_MEM_REG each build a *new* table (copy-on-write); regions shared by
 *    the old and the new table are mapped once and shared.  Tables and
 *    regions are reference-counted (atomically), so a request that mapped
 *    its buffers from the old table keeps them valid until it unmaps, even
 *    after the frontend replaced the table.
 *  - Every function validates guest/frontend-supplied numbers: zero sizes,
 *    u64 overflow of gpa+size, uva+size, mmap_offset+size, overlapping
 *    regions, too many regions, bad fds.  Bad input returns -errno, never
 *    crashes.  Every fd handed in is consumed: kept by a region or closed,
 *    on success and on failure.
 *  - Two address spaces: ring addresses from SET_VRING_ADDR are frontend
 *    virtual addresses (gm_uva_to_ptr); descriptor addresses are guest
 *    physical (gm_map_chain, gm_read).  The ring translation is checked for
 *    the full length and must lie inside one region.
 *  - Descriptor buffers are mapped for the duration of one request and
 *    unmapped before the request is completed: gm_map_chain() takes the
 *    device-readable and the device-writable buffers as two lists, so a Xen
 *    grant backend can map each list with one call (readable ones
 *    read-only).  With the Unix backend the map is pointer arithmetic and
 *    the unmap drops the table reference only.  A buffer that crosses from
 *    one region into an adjacent one becomes two iovecs.
 *
 * Backends: the region kind is chosen per region from its Xen flags
 * (0 = Unix mmap of the fd).  Builds without --enable-xen reject any
 * non-zero flag with -EOPNOTSUPP.
 */
#ifndef VHD_GUEST_MEM_H
#define VHD_GUEST_MEM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* Maximum regions one table holds (ADD_MEM_REG slots). */
#define GM_MAX_REGIONS 32u

/* A region as the frontend described it (native endian, already parsed). */
struct gm_region_desc {
	uint64_t gpa;           /* guest_phys_addr */
	uint64_t size;          /* memory_size */
	uint64_t uva;           /* userspace_addr (frontend virtual) */
	uint64_t mmap_offset;
	uint32_t xen_flags;     /* 0 unless XEN_MMAP was negotiated */
	uint32_t domid;
};

struct gm_table;

/* A guest buffer as one descriptor names it. */
struct gm_buf {
	uint64_t addr;          /* guest physical */
	uint32_t len;
};

/* State of one mapped request; filled by gm_map_chain. */
struct gm_mapping {
	struct gm_table *table; /* reference held while mapped */
	void *priv;             /* backend state (Xen grant maps); NULL for Unix */
};

/* An empty table (no regions).  Returns NULL only on ENOMEM. */
struct gm_table *gm_table_new_empty(void);

/*
 * SET_MEM_TABLE: a new table with exactly these n regions, each mapped from
 * fds[i].  All fds are consumed.  0 or -errno (-EINVAL bad description or
 * overlap, -E2BIG too many, -EBADF bad fd, -ENOMEM/-errno from mmap,
 * -EOPNOTSUPP Xen flags in a non-Xen build).
 * `old` may be NULL; when given, regions identical to one of old's
 * (same gpa, size, uva, mmap_offset, flags, domid and same underlying file)
 * may be reused instead of mapped again.
 */
int gm_table_set(const struct gm_table *old, const struct gm_region_desc *descs,
		 const int *fds, unsigned n, struct gm_table **out);

/* ADD_MEM_REG: old (may be NULL) plus one region from fd (consumed). */
int gm_table_add(const struct gm_table *old, const struct gm_region_desc *desc,
		 int fd, struct gm_table **out);

/* REM_MEM_REG: old minus the region matching gpa, size and uva
 * (mmap_offset ignored).  -ENOENT if none matches. */
int gm_table_remove(const struct gm_table *old, const struct gm_region_desc *desc,
		    struct gm_table **out);

struct gm_table *gm_table_ref(struct gm_table *t);
void gm_table_unref(struct gm_table *t);         /* NULL is fine */
unsigned gm_table_nregions(const struct gm_table *t);

/* Frontend virtual address range -> host pointer, or NULL if the whole
 * [uva, uva+len) is not inside one directly mapped region.  len may be 0
 * (then only uva is checked). */
void *gm_uva_to_ptr(const struct gm_table *t, uint64_t uva, uint64_t len);

/*
 * Map the buffers of one request.  rd[0..n_rd) are device-readable,
 * wr[0..n_wr) device-writable.  iov[] (capacity iov_cap) receives the
 * readable iovecs first (*n_rd_iov of them) and then the writable ones
 * (*n_wr_iov).  On success m holds a table reference until gm_unmap_chain.
 * Returns 0, -EFAULT (a buffer outside guest memory, or zero length),
 * -ENOBUFS (more iovecs needed than iov_cap), -ENOMEM, or a backend -errno.
 * On failure nothing stays mapped and m needs no unmap.
 */
int gm_map_chain(struct gm_table *t,
		 const struct gm_buf *rd, unsigned n_rd,
		 const struct gm_buf *wr, unsigned n_wr,
		 struct iovec *iov, unsigned iov_cap,
		 unsigned *n_rd_iov, unsigned *n_wr_iov,
		 struct gm_mapping *m);

/* Unmap what gm_map_chain mapped and drop its table reference.
 * Idempotent: a zeroed or already unmapped mapping is fine. */
void gm_unmap_chain(struct gm_mapping *m);

/* Copy len bytes of guest memory at gpa into dst (indirect descriptor
 * tables; small headers).  Crosses adjacent regions.  0 or -EFAULT. */
int gm_read(struct gm_table *t, uint64_t gpa, void *dst, size_t len);

#endif
