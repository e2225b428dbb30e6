/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * The command line every device shares (-s/--socket-path, -c/--socket-count,
 * --fd, --workers, --poll, --poll-max-us, --print-capabilities, -v/--verbose, --log-level,
 * --xen, --sandbox, --user, --group, -h, -V) merged
 * with the device's own options.
 *
 * Promise: every argument error is reported with a message naming the
 * option and value and makes vhd_cli_parse() return 1 (the exit status)
 * before any socket or file is created.
 */
#ifndef VHD_CLI_H
#define VHD_CLI_H

#include <stdbool.h>

#include "vhost-device.h"
#include "daemon/privdrop.h"
#include "daemon/sandbox.h"

struct vhd_options {
	const char *socket_path;
	unsigned socket_count;
	bool socket_count_given;
	int fd;                    /* --fd, -1 if not given */
	unsigned workers;          /* --workers, 0 = one per usable CPU */
	uint64_t poll_max_ns;      /* --poll adaptive: the longest poll; 0 = off */
	bool print_capabilities;
	char **socket_names;       /* socket_count entries (NULL with --fd) */
	uint64_t extra_protocol;   /* protocol features decided by options (XEN_MMAP) */
	enum vhd_sandbox_mode sandbox;  /* --sandbox, default auto */
	struct vhd_privdrop privdrop;   /* --user, --group (resolved) */
};

/* Parse argv (ops already checked by vhd_ops_check; ctx is the device's,
 * passed to its callbacks).  Returns -1 to go on, or an exit status (0
 * after --help, --version, --print-capabilities; 1 on an error). */
int vhd_cli_parse(const struct vu_device_ops *ops, void *ctx, int argc, char **argv,
		  struct vhd_options *o);

/* The common options, for vhd_ops_check (device options must not clash):
 * the long table (*n entries, no terminator) and the getopt letters. */
const struct option *vhd_cli_core_options(size_t *n);
#define VHD_CLI_CORE_SHORT "s:c:vhV"
void vhd_cli_free(struct vhd_options *o);

#endif
