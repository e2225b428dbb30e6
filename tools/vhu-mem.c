/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * libvhu-frontend: guest memory (contract in vhu-frontend.h).
 *
 * One memfd, one shared mapping.  With a split the memory is described as
 * two regions, each sent with its own fd (the same memfd twice), the
 * second at mmap_offset = split: the layout QEMU sends for a q35 guest, so
 * a backend's mmap_offset and multi-region translation are exercised.
 */
#include "config.h"
#include "vhu-frontend.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct vhu_mem {
	int fd;
	uint8_t *base;
	size_t size;
	size_t split;           /* 0: one region */
	uint64_t hole;          /* gpa of region 1 = split + hole */
	size_t next;            /* allocator: next free offset */
	bool grant;             /* gpa = VHU_XEN_GRANT_ADDR | offset */
};

int vhu_mem_create(size_t size, size_t split, uint64_t hole, struct vhu_mem **out)
{
	long page = sysconf(_SC_PAGESIZE);
	struct vhu_mem *m;

	*out = NULL;
	if (size == 0 || split >= size || (split && split % (size_t)page) ||
	    (hole && !split) || hole % (uint64_t)page)
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->fd = memfd_create("vhu-guest-ram", MFD_CLOEXEC);
	if (m->fd < 0)
		goto fail;
	if (ftruncate(m->fd, (off_t)size) < 0)
		goto fail;
	m->base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, m->fd, 0);
	if (m->base == MAP_FAILED) {
		m->base = NULL;
		goto fail;
	}
	m->size = size;
	m->split = split;
	m->hole = hole;
	*out = m;
	return 0;
fail:;
	int err = -errno;
	if (m->fd >= 0)
		close(m->fd);
	free(m);
	return err;
}

void vhu_mem_destroy(struct vhu_mem *m)
{
	if (!m)
		return;
	if (m->base)
		munmap(m->base, m->size);
	if (m->fd >= 0)
		close(m->fd);
	free(m);
}

void *vhu_mem_base(const struct vhu_mem *m)
{
	return m->base;
}

size_t vhu_mem_size(const struct vhu_mem *m)
{
	return m->size;
}

int vhu_mem_fd(const struct vhu_mem *m)
{
	return m->fd;
}

unsigned vhu_mem_nregions(const struct vhu_mem *m)
{
	return m->split ? 2 : 1;
}

struct vhu_mem_region vhu_mem_region(const struct vhu_mem *m, unsigned i)
{
	struct vhu_mem_region r = { 0 };

	if (i == 0) {
		r.guest_phys_addr = 0;
		r.memory_size = m->split ? m->split : m->size;
		r.userspace_addr = (uint64_t)(uintptr_t)m->base;
		r.mmap_offset = 0;
	} else if (i == 1 && m->split) {
		r.guest_phys_addr = m->split + m->hole;
		r.memory_size = m->size - m->split;
		r.userspace_addr = (uint64_t)(uintptr_t)(m->base + m->split);
		r.mmap_offset = m->split;
	}
	return r;
}

void *vhu_mem_alloc(struct vhu_mem *m, size_t size, size_t align)
{
	size_t off;

	if (align == 0 || (align & (align - 1)) || size == 0)
		return NULL;
	off = (m->next + align - 1) & ~(align - 1);
	if (off < m->next || off > m->size || size > m->size - off)
		return NULL;
	/* A buffer must be contiguous in guest-physical space too. */
	if (m->split && off < m->split && off + size > m->split) {
		off = m->split;     /* page aligned, so any align <= page holds */
		if (size > m->size - off)
			return NULL;
	}
	m->next = off + size;
	return m->base + off;
}

size_t vhu_mem_avail(const struct vhu_mem *m)
{
	return m->size - m->next;
}

uint64_t vhu_mem_gpa(const struct vhu_mem *m, const void *p)
{
	const uint8_t *b = p;
	size_t off;

	if (b < m->base || b >= m->base + m->size)
		return UINT64_MAX;
	off = (size_t)(b - m->base);
	if (m->grant)
		return VHU_XEN_GRANT_ADDR | off;
	if (m->split && off >= m->split)
		return off + m->hole;
	return off;
}

void *vhu_mem_ptr(const struct vhu_mem *m, uint64_t gpa, size_t len)
{
	uint64_t lo = 0, hi = m->split ? m->split : m->size, adj = 0;

	if (m->grant) {
		if (!(gpa & VHU_XEN_GRANT_ADDR))
			return NULL;
		gpa &= ~VHU_XEN_GRANT_ADDR;
	}
	if (m->split && gpa >= m->split + m->hole) {
		lo = m->split + m->hole;
		hi = m->size + m->hole;
		adj = m->hole;
	}
	if (gpa < lo || gpa >= hi || len > hi - gpa)
		return NULL;
	return m->base + (gpa - adj);
}

int vhu_mem_set_grant_addressing(struct vhu_mem *m, bool on)
{
	if (on && m->split)
		return -EINVAL;
	m->grant = on;
	return 0;
}

/* r[0..n) in the XEN_MMAP layout, each with the memory's fd. */
static int send_xen_layout(struct vhu_conn *c, const struct vhu_mem *m,
			   const struct vhu_mem_region_xen *r, unsigned n,
			   bool use_add_mem_reg)
{
	uint32_t flags = vhu_has_protocol(c, VHU_PF_REPLY_ACK) ? VHU_FLAG_NEED_REPLY : 0;
	struct {
		struct vhu_mem_table_hdr h;
		struct vhu_mem_region_xen r[VHU_MAX_FDS];
	} __attribute__((packed)) tab;
	int fds[VHU_MAX_FDS];

	memset(&tab, 0, sizeof(tab));
	tab.h.nregions = n;

	if (!vhu_has_protocol(c, VHU_PF_XEN_MMAP))
		return -ENOTSUP;
	if (n == 0 || n > VHU_MAX_FDS)
		return -EINVAL;
	if (use_add_mem_reg) {
		if (!vhu_has_protocol(c, VHU_PF_CONFIGURE_MEM_SLOTS))
			return -ENOTSUP;
		for (unsigned i = 0; i < n; i++) {
			struct {
				struct vhu_mem_single_hdr h;
				struct vhu_mem_region_xen r;
			} __attribute__((packed)) msg = { { 0 }, r[i] };
			int e = vhu_request(c, VHU_ADD_MEM_REG, flags, &msg, sizeof(msg),
					    &m->fd, 1, NULL, 0);

			if (e < 0)
				return e;
		}
		return 0;
	}
	for (unsigned i = 0; i < n; i++) {
		tab.r[i] = r[i];
		fds[i] = m->fd;
	}
	return vhu_request(c, VHU_SET_MEM_TABLE, flags, &tab,
			   (uint32_t)(sizeof(tab.h) + n * sizeof(tab.r[0])), fds, n,
			   NULL, 0);
}

int vhu_send_mem_xen(struct vhu_conn *c, const struct vhu_mem *m,
		     const struct vhu_xen_region *r, unsigned n, bool use_add_mem_reg)
{
	struct vhu_mem_region_xen x[VHU_MAX_FDS];

	if (n == 0 || n > VHU_MAX_FDS)
		return -EINVAL;
	for (unsigned i = 0; i < n; i++)
		x[i] = (struct vhu_mem_region_xen){
			.guest_phys_addr = r[i].gpa, .memory_size = r[i].size,
			.userspace_addr = r[i].uva, .mmap_offset = 0,
			.xen_mmap_flags = r[i].flags, .domid = r[i].domid,
		};
	return send_xen_layout(c, m, x, n, use_add_mem_reg);
}

/* XEN_MMAP acked: the usual regions in the 40-byte layout, flags 0. */
static int send_mem_xen_plain(struct vhu_conn *c, const struct vhu_mem *m,
			      bool use_add_mem_reg)
{
	struct vhu_mem_region_xen x[2];
	unsigned n = vhu_mem_nregions(m);

	for (unsigned i = 0; i < n; i++) {
		struct vhu_mem_region r = vhu_mem_region(m, i);

		x[i] = (struct vhu_mem_region_xen){
			.guest_phys_addr = r.guest_phys_addr, .memory_size = r.memory_size,
			.userspace_addr = r.userspace_addr, .mmap_offset = r.mmap_offset,
		};
	}
	return send_xen_layout(c, m, x, n, use_add_mem_reg);
}

int vhu_send_mem(struct vhu_conn *c, const struct vhu_mem *m, bool use_add_mem_reg)
{
	uint32_t flags = vhu_has_protocol(c, VHU_PF_REPLY_ACK) ? VHU_FLAG_NEED_REPLY : 0;
	unsigned n = vhu_mem_nregions(m);
	int fds[2] = { m->fd, m->fd };
	int r;

	if (vhu_has_protocol(c, VHU_PF_XEN_MMAP))
		return send_mem_xen_plain(c, m, use_add_mem_reg);

	if (use_add_mem_reg) {
		if (!vhu_has_protocol(c, VHU_PF_CONFIGURE_MEM_SLOTS))
			return -ENOTSUP;
		for (unsigned i = 0; i < n; i++) {
			struct {
				struct vhu_mem_single_hdr h;
				struct vhu_mem_region r;
			} __attribute__((packed)) msg = { { 0 }, vhu_mem_region(m, i) };

			r = vhu_request(c, VHU_ADD_MEM_REG, flags, &msg, sizeof(msg),
					&m->fd, 1, NULL, 0);
			if (r < 0)
				return r;
		}
		return 0;
	}

	struct {
		struct vhu_mem_table_hdr h;
		struct vhu_mem_region r[2];
	} __attribute__((packed)) tab;

	memset(&tab, 0, sizeof(tab));
	tab.h.nregions = n;

	for (unsigned i = 0; i < n; i++)
		tab.r[i] = vhu_mem_region(m, i);
	return vhu_request(c, VHU_SET_MEM_TABLE, flags, &tab,
			   (uint32_t)(sizeof(tab.h) + n * sizeof(tab.r[0])), fds, n,
			   NULL, 0);
}

size_t vhu_mem_mark(const struct vhu_mem *m)
{
	return m->next;
}

void vhu_mem_release(struct vhu_mem *m, size_t mark)
{
	if (mark <= m->next)
		m->next = mark;
}
