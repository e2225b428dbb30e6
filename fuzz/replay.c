/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * The main() of a fuzz target built without libFuzzer (fuzz/fuzz.h): each
 * argument is a file, or a directory whose files are read, and every file
 * is fed to LLVMFuzzerTestOneInput once.  Exit 0 when all ran (a crash or
 * a sanitizer report ends the process with its own status), 1 when an
 * argument cannot be read or there was nothing to run.
 */
#include "config.h"
#include "fuzz/fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	if (!f) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
		fprintf(stderr, "replay: %s: cannot size it\n", path);
		fclose(f);
		return -1;
	}
	buf = malloc(n ? (size_t)n : 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "replay: %s: cannot read it\n", path);
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t)n);
	free(buf);
	return 0;
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
	unsigned ran = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;

		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
			return 1;
		}
		if (!S_ISDIR(st.st_mode)) {
			if (run_file(argv[i]) < 0)
				return 1;
			ran++;
			continue;
		}
		/* In name order, so a failure names the same input each run. */
		DIR *d = opendir(argv[i]);
		struct dirent *e;
		size_t n = 0, cap = 0;
		char **list = NULL;

		if (!d) {
			fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
			return 1;
		}
		while ((e = readdir(d))) {
			if (e->d_name[0] == '.')
				continue;
			if (n == cap) {
				cap = cap ? cap * 2 : 64;
				list = realloc(list, cap * sizeof(*list));
				if (!list)
					return 1;
			}
			if (asprintf(&list[n], "%s/%s", argv[i], e->d_name) < 0)
				return 1;
			n++;
		}
		closedir(d);
		qsort(list, n, sizeof(*list), cmp);
		for (size_t k = 0; k < n; k++) {
			if (run_file(list[k]) < 0)
				return 1;
			free(list[k]);
			ran++;
		}
		free(list);
	}
	if (!ran) {
		fprintf(stderr, "replay: no input given (usage: %s FILE|DIR...)\n", argv[0]);
		return 1;
	}
	printf("replay: %u inputs ran\n", ran);
	return 0;
}
