/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * The sandbox: a seccomp allow-list installed once start-up is over
 * (docs/security.md).
 *
 * vhd_main() calls vhd_sandbox_install() after the listening sockets exist
 * and the device's instances (its host resources) are made, before the
 * worker threads start.  The filter holds the core's own system calls
 * (event loop, vhost-user messages and their fds, guest memory mappings,
 * eventfd, timerfd, threads, logging, signals, exit) plus what the device
 * adds through its `sandbox` hook (vhost-device.h: vhd_sandbox_allow*).
 * It applies to every thread of the process (also those a device started
 * already) and to every thread made later.
 *
 * Promises:
 *  - A call outside the list never runs: the calling thread gets SIGSYS,
 *    whose handler writes one line "<program>: error: sandbox: system
 *    call NAME (NR) is not allowed ..." to stderr and ends the process
 *    with exit status VHD_SANDBOX_EXIT_STATUS.  The handler only reads a
 *    name table filled before the filter was loaded and calls write(2) and
 *    _exit(2), so it is async-signal-safe.
 *  - Threads are created only as threads: clone(2) without CLONE_THREAD
 *    (fork) is refused like any other call outside the list, and clone3(2)
 *    fails with ENOSYS so that the C library falls back to clone(2), whose
 *    flags a filter can read.  No exec; no file opened by path unless a
 *    device (or Xen memory) asks for it, and then never created or
 *    truncated.  (Sanitizer builds, detected at compile time, allow what
 *    their run-time needs at exit; docs/security.md.)
 *  - mode VHD_SANDBOX_AUTO installs the filter where the system can; where
 *    it cannot (a kernel without seccomp filters, a user-mode emulator such
 *    as qemu-user, which refuses filters so that its own calls stay
 *    possible) it logs one warning saying so and returns 0.  Mode ON
 *    returns -1 there.  Mode OFF does nothing.
 *  - Returns 0, or -1 with the reason printed (a device's hook failed, the
 *    filter cannot be built or loaded).
 */
#ifndef VHD_SANDBOX_H
#define VHD_SANDBOX_H

#include "vhost-device.h"

enum vhd_sandbox_mode {
	VHD_SANDBOX_AUTO = 0,   /* default: on where the system supports it */
	VHD_SANDBOX_ON,         /* required: refuse to run without it */
	VHD_SANDBOX_OFF,        /* debugging */
};

/* The exit status of a process the sandbox stopped: 128 + SIGSYS, what a
 * shell shows for a process killed by SIGSYS. */
#define VHD_SANDBOX_EXIT_STATUS 159

/* Parse "auto|on|off".  0 with *mode set, or -1. */
int vhd_sandbox_parse_mode(const char *s, enum vhd_sandbox_mode *mode);

/* Build and load the filter: the core's list, the device's hook (called
 * with ctx), `xen` when Xen memory may be offered (its device nodes are
 * opened on the first Xen region).  prog: argv[0], for the messages.  On
 * the main thread only. */
int vhd_sandbox_install(enum vhd_sandbox_mode mode, const char *prog,
			const struct vu_device_ops *ops, void *ctx, bool xen);

#endif
