/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * LD_PRELOAD shim for test-cli.sh: fstat() of the file named by
 * VHD_FAIL_FSTAT_PATH fails with EIO, so a program's handling of a failed
 * fstat (vhost-device-rng's --rng-source) can be exercised; every other
 * call goes to the C library.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int is_target(int fd)
{
	const char *want = getenv("VHD_FAIL_FSTAT_PATH");
	char link[64], path[PATH_MAX];
	ssize_t n;

	if (!want)
		return 0;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	if (n < 0)
		return 0;
	path[n] = 0;
	return strcmp(path, want) == 0;
}

int fstat(int fd, struct stat *st)
{
	static int (*real)(int, struct stat *);

	if (is_target(fd)) {
		errno = EIO;
		return -1;
	}
	if (!real)
		real = (int (*)(int, struct stat *))dlsym(RTLD_NEXT, "fstat");
	return real(fd, st);
}

int fstat64(int fd, struct stat64 *st)
{
	static int (*real)(int, struct stat64 *);

	if (is_target(fd)) {
		errno = EIO;
		return -1;
	}
	if (!real)
		real = (int (*)(int, struct stat64 *))dlsym(RTLD_NEXT, "fstat64");
	return real(fd, st);
}
