/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * The truncation guard of Unix guest memory.
 *
 * A region is an mmap of a file the frontend passed.  We check its size
 * when we map it, but the frontend keeps its own fd and may shrink the file
 * afterwards (only F_SEAL_SHRINK on its side prevents that; QEMU seals its
 * memory-backend-memfd by default, not a memory-backend-file).  Touching a
 * page past the new end raises SIGBUS, which would kill the backend and
 * every other guest it serves.
 *
 * Promise: while a range is guarded, a SIGBUS at an address inside it
 * does not kill the process.  The handler puts a private zero page (of the
 * range's page size) over the faulting page and the access is retried:
 * reads of the lost memory give zeros, writes go nowhere the guest can see.
 * The count of replaced pages is reported when the guard is removed, so the
 * owner can log it.  A SIGBUS anywhere else goes on to the handler that was
 * installed before ours (the sanitizers'), or to the default action, so real
 * bugs still end the process with a core dump.
 *
 * The handler is process-wide; every new guard (re)installs it if someone
 * replaced it, and that someone's handler becomes the one foreign faults go
 * on to.  Guards
 * live in a fixed table (GM_SIGBUS_GUARDS slots) read lock-free from the
 * handler; any thread may add or remove them.  A range must stay mapped
 * until its guard is removed.
 */
#ifndef VHD_MEM_SIGBUS_H
#define VHD_MEM_SIGBUS_H

#include <stddef.h>

#define GM_SIGBUS_GUARDS 1024u

struct gm_sigbus_guard;

/* Guard [base, base + len) (page_size: the mapping's page size, a power of
 * two; base and len multiples of it).  NULL when the table is full or the
 * handler cannot be installed (the range is then unguarded, as before). */
struct gm_sigbus_guard *gm_sigbus_guard_add(void *base, size_t len, size_t page_size);

/* Stop guarding.  Returns how many pages the handler replaced.  NULL is
 * accepted (returns 0). */
unsigned long gm_sigbus_guard_del(struct gm_sigbus_guard *g);

#endif
