/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * A tiny xenstored for tests on a host without Xen: an in-memory store
 * served on a Unix socket in the xenstored wire protocol
 * (<xen/io/xs_wire.h>), so that the real libxenstore (xs_open with
 * XENSTORED_PATH pointing at the socket) works against it.
 *
 * Every connection is dom0's: relative paths are under /local/domain/0.
 * Requests: READ, WRITE, MKDIR, RM, DIRECTORY, WATCH (with the initial
 * event xenstored sends), UNWATCH, RESET_WATCHES, TRANSACTION_START/END
 * (a transaction works on a copy of the store; commit replays its
 * writes and removals on the live store and fires their watches then, so
 * a watcher sees a libxl-style device directory appear at once; aborts
 * drop it; no conflict detection), GET_DOMAIN_PATH, GET_PERMS (always
 * "n0"), SET_PERMS (accepted, ignored).  Anything else gets EINVAL; a
 * malformed message (payload over XENSTORE_PAYLOAD_MAX) closes the
 * connection, as xenstored does.
 *
 * Watches fire, like xenstored's, for a write or removal of the watched
 * node or of any node below it, and for the removal of an ancestor; the
 * event names the changed node (relative if the watch was relative).
 *
 * The server is one thread of the calling process.
 */
#ifndef VHD_TEST_FAKE_XENSTORED_H
#define VHD_TEST_FAKE_XENSTORED_H

#include <stdint.h>

struct fxs;

/* Listen on `path` (created; an old socket there is replaced). */
int fxs_start(const char *path, struct fxs **out);
/* Stop the thread, close every connection, free the store. */
void fxs_stop(struct fxs *s);

/* Counters, for tests of the fake itself. */
uint64_t fxs_events_sent(struct fxs *s);
unsigned fxs_connections(struct fxs *s);

#endif
