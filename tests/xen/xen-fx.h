/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * The files of the fake Xen (tests/xen/fakexen.h) for one backend process,
 * shared by the Xen integration tests.
 *
 *  - fx_create(): a private directory with the shared statistics page
 *    (mapped here, st) and an empty grant table file.
 *  - fx_attach(): the guest RAM is `m` (our memfd, reached by the backend
 *    as /proc/<our pid>/fd/<n> through the symlink fx.ram, so it may be
 *    attached after the backend started: the shim opens the RAM and the
 *    grant table only at its first map), and ref i grants page i
 *    read-write.  fx_set_grant() changes one ref afterwards.
 *  - fx_env_push()/fx_env_pop(): the environment a backend is started in
 *    (LD_PRELOAD of libfakexen.so, the FAKEXEN_* paths, ASan told that the
 *    shim comes first), then the previous environment back.
 *
 * Functions return 0 or -errno.
 */
#ifndef VHD_TEST_XEN_FX_H
#define VHD_TEST_XEN_FX_H

#include <stddef.h>
#include <stdint.h>

#include "fakexen.h"
#include "vhu-frontend.h"

struct fx {
	char dir[64];
	char ram[128];          /* symlink to the guest RAM */
	char gnttab[128];
	char stats_path[128];
	struct fakexen_stats *st;
	int gnt_fd;
	char *old_asan;         /* between fx_env_push and fx_env_pop */
};

int fx_create(struct fx *x);
int fx_attach(struct fx *x, const struct vhu_mem *m);
int fx_set_grant(struct fx *x, size_t ref, uint32_t flags);
void fx_destroy(struct fx *x);

void fx_env_push(struct fx *x);
void fx_env_pop(struct fx *x);

/* A counter of the statistics page, read as the shim writes it. */
static inline uint64_t fx_ld(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_SEQ_CST);
}

#endif
