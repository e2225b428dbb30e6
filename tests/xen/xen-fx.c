/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/* The fake Xen's files for one backend process (xen-fx.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "xen-fx.h"

#define PG 4096u

int fx_create(struct fx *x)
{
	void *p;
	int fd;

	memset(x, 0, sizeof(*x));
	x->gnt_fd = -1;
	snprintf(x->dir, sizeof(x->dir), "/tmp/vhd-xen-XXXXXX");
	if (!mkdtemp(x->dir))
		return -errno;
	snprintf(x->ram, sizeof(x->ram), "%s/ram", x->dir);
	snprintf(x->gnttab, sizeof(x->gnttab), "%s/gnttab", x->dir);
	snprintf(x->stats_path, sizeof(x->stats_path), "%s/stats", x->dir);
	x->gnt_fd = open(x->gnttab, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (x->gnt_fd < 0)
		return -errno;
	fd = open(x->stats_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, sizeof(*x->st)) < 0) {
		close(fd);
		return -errno;
	}
	p = mmap(NULL, sizeof(*x->st), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return -errno;
	x->st = p;
	return 0;
}

int fx_attach(struct fx *x, const struct vhu_mem *m)
{
	size_t pages = vhu_mem_size(m) / PG;
	char target[64];
	int r;

	snprintf(target, sizeof(target), "/proc/%d/fd/%d", (int)getpid(), vhu_mem_fd(m));
	unlink(x->ram);
	if (symlink(target, x->ram) < 0)
		return -errno;
	for (size_t i = 0; i < pages; i++) {
		r = fx_set_grant(x, i, FAKEXEN_GRANT_VALID);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Ref `ref` grants page `ref` with these flags. */
int fx_set_grant(struct fx *x, size_t ref, uint32_t flags)
{
	struct fakexen_grant g = { flags, 0, ref };

	if (pwrite(x->gnt_fd, &g, sizeof(g), (off_t)(ref * sizeof(g))) != sizeof(g))
		return -EIO;
	return 0;
}

void fx_destroy(struct fx *x)
{
	if (x->st)
		munmap(x->st, sizeof(*x->st));
	x->st = NULL;
	if (x->gnt_fd >= 0)
		close(x->gnt_fd);
	x->gnt_fd = -1;
	unlink(x->ram);
	unlink(x->gnttab);
	unlink(x->stats_path);
	rmdir(x->dir);
}

void fx_env_push(struct fx *x)
{
	const char *bd = getenv("VHD_BUILDDIR");
	const char *old = getenv("ASAN_OPTIONS");
	char so[512], asan[512];

	snprintf(so, sizeof(so), "%s/tests/xen/libfakexen.so", bd ? bd : VHD_BUILDDIR);
	setenv("LD_PRELOAD", so, 1);
	setenv("FAKEXEN_RAM", x->ram, 1);
	setenv("FAKEXEN_GNTTAB", x->gnttab, 1);
	setenv("FAKEXEN_STATS", x->stats_path, 1);
	setenv("FAKEXEN_DOMID", "5", 1);
	setenv("FAKEXEN_RAM_GFN", "0", 1);
	/* The shim is preloaded ahead of the ASan runtime. */
	free(x->old_asan);
	x->old_asan = old ? strdup(old) : NULL;
	snprintf(asan, sizeof(asan), "%s%sverify_asan_link_order=0",
		 old ? old : "", old ? ":" : "");
	setenv("ASAN_OPTIONS", asan, 1);
}

void fx_env_pop(struct fx *x)
{
	unsetenv("LD_PRELOAD");
	unsetenv("FAKEXEN_RAM");
	unsetenv("FAKEXEN_GNTTAB");
	unsetenv("FAKEXEN_STATS");
	unsetenv("FAKEXEN_DOMID");
	unsetenv("FAKEXEN_RAM_GFN");
	if (x->old_asan)
		setenv("ASAN_OPTIONS", x->old_asan, 1);
	else
		unsetenv("ASAN_OPTIONS");
	free(x->old_asan);
	x->old_asan = NULL;
}
