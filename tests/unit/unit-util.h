/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Helpers shared by the cmocka unit tests: counting this process's open
 * file descriptors, so a test can assert that every fd handed to the code
 * under test was closed or kept exactly as promised.
 * Include after <cmocka.h>.
 */
#ifndef VHD_UNIT_UTIL_H
#define VHD_UNIT_UTIL_H

#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>

/* Entries of /proc/self/fd (the directory's own fd included, every time,
 * so differences between two calls are exact). */
static inline int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static inline bool fd_is_open(int fd)
{
	return fcntl(fd, F_GETFD) != -1;
}

#endif
