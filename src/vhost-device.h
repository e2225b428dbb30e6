/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * The public core API: the only header a device under src/devices/ needs.
 *
 * A device is a `struct vu_device_ops` table plus a main() that calls
 * vhd_main().  The core owns everything else: the command line common to
 * all devices, the listening sockets, a pool of worker threads serving
 * all sockets (a worker's event loop serves the frontend connections given
 * to it, their kick eventfds and the devices' timers), the vhost-user
 * protocol, guest memory and the rings.
 *
 * Threading promise (without queue_thread): every callback of one device instance during one
 * connection runs on that connection's worker thread, and the connections
 * of one instance never overlap, so a device needs no locks for its own
 * state.  A new connection may be served by another worker: handlers and
 * timers a device puts on vu_dev_loop() are made in connected (or later)
 * and freed in reset, never kept from one connection to the next.  One
 * worker serves many instances, so a callback must not block (wait for
 * another instance, sleep): it would stall the other guests of that
 * worker.  State shared between instances (a common host resource) is the
 * device's to protect.
 *
 * Threads (optional, for devices with several busy queues, e.g. SCSI
 * request queues): queue_thread(priv, q) maps queue q to 0 (the
 * connection's worker, the default) or to queue thread k = 1..num_queues;
 * the core starts one thread per distinct k for each connection and ends
 * them with it.  Then, for a queue q on thread k:
 *  - queue_kick(q) and everything the device runs on vu_queue_loop(dev, q)
 *    (its timers and fds for that queue) run on thread k;
 *  - vq_* calls on q, vu_queue_process(q), vu_queue_schedule(q) and
 *    vu_queue_processable(q) are made on thread k only;
 *  - every other callback (connected, reset, queue_start, queue_stop,
 *    elem_cancel, get/set_config) runs on the connection's worker while
 *    ALL queue threads of the connection are paused (parked between two
 *    events of their loops), so they may touch any queue's state;
 *  - state a device shares between queues on different threads (counters,
 *    a host resource) is the device's to protect (atomics, a lock); state
 *    of one queue used only from its thread and from the callbacks above
 *    needs no lock.
 * A queue thread's loop ends with the connection: timers and handlers the
 * device added to vu_queue_loop() of such a queue must be freed in reset.
 * The core pauses the queue threads around every vhost-user message, so
 * rings, kick fds and the memory table change only while they are parked.
 *
 * Lifecycle of an instance (one per socket):
 *   instance_new (at start-up, before the socket exists)
 *   { connection: connected [queue_start / queue_kick* / queue_stop]* reset }*
 *   instance_free (at exit)
 * RESET_DEVICE (and RESET_OWNER) end a "connection" in this sense and
 * begin a new one on the same socket: the device sees reset then
 * connected, exactly as for a disconnect and a reconnect.  (The vhost-user
 * connection itself keeps what the spec keeps: ownership, protocol
 * features, the backend channel and the memory table.)
 * queue_kick is called when the driver kicked, when a queue becomes
 * processable (started + enabled + rings valid) and when the device asks
 * for it (vu_queue_schedule).
 *
 * Held requests.  A device may keep popped elements (vq_pop) for as long
 * as it likes and complete them (vq_push) in any order: an interrupt that
 * has not happened, an rx buffer waiting for data, a period of sound,
 * asynchronous I/O.  The core tracks every popped-not-pushed element of a
 * queue itself, so none can be forgotten.  When a queue stops running --
 * SET_VRING_ENABLE 0, GET_VRING_BASE, its rings leaving guest memory,
 * RESET_DEVICE, disconnect -- there is one behaviour:
 *   1. queue_stop runs.  The device completes here what it can, and MUST
 *      complete every request whose effect already happened (a write
 *      done, data consumed): what it still holds afterwards may be
 *      repeated.  It must also stop touching held elements' buffers
 *      (cancel or wait for asynchronous I/O).
 *   2. The core releases what is still held.  The held elements popped
 *      after the last completed one (a suffix of the popped sequence) are
 *      given back: the next avail index is rewound over them and the
 *      driver's requests will be popped again after the restart.  The
 *      others cannot be given back on a split ring (rewinding over them
 *      would repeat completed requests) and are completed as cancelled:
 *      elem_cancel writes the device's own cancelled status (GPIO's IRQ
 *      INVALID, say) and returns the bytes written; without elem_cancel
 *      they complete with 0 bytes.  elem_cancel is called for every
 *      released element, given back or not, so the device drops its own
 *      references; after it returns the element is gone.
 *   3. The driver is notified of the completions; GET_VRING_BASE then
 *      reports the (possibly rewound) next avail index.  Used idx and that
 *      index have moved by the same amount since the ring started, which
 *      is also what QEMU assumes after a lost connection (it restarts the
 *      ring from used->idx).  (A ring that left guest memory cannot take
 *      completions: those are dropped.)
 * Pushing an element twice, or one released by the core, is a device
 * bug: vq_push looks the element up by address among the queue's held
 * ones, finds it absent, logs and ignores it without reading it
 * (virtqueue.h).
 * The device's reset callback runs after every queue stopped, so it never
 * sees a held element.
 */
#ifndef VHD_VHOST_DEVICE_H
#define VHD_VHOST_DEVICE_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The headers below are part of the public API, reached only through this
 * one: logging (log.h), the vhost-user wire constants (proto.h), the ring
 * calls vq_pop/vq_push/vq_unpop and struct vq_elem (virtqueue.h, which
 * brings guest-mem.h's segment types) and the worker's event loop
 * (event-loop.h: fd watches and timers).  A device includes none of them
 * itself, nor any other core header: tests/check-includes.sh fails
 * 'make check' when a file under src/devices/ does (docs/architecture.md,
 * "Layers").
 */
#include "log.h"
#include "vhost-user/proto.h"
#include "vq/virtqueue.h"
#include "util/event-loop.h"

struct vu_dev;      /* one frontend connection (opaque) */
struct vhd_sandbox; /* the seccomp allow-list being built (opaque) */

/* How -s/--socket-path is turned into socket file names. */
enum vu_socket_naming {
	/* PATH0 .. PATH(N-1), suffix appended even when N = 1 (rng, gpio,
	 * i2c, spi, can, console in the Rust suite). */
	VU_SOCKETS_SUFFIXED,
	/* PATH exactly; with -c N > 1, PATH0 .. PATH(N-1). */
	VU_SOCKETS_EXACT,
};

/* Most queues a device may have (QEMU's VIRTIO_QUEUE_MAX). */
#define VHD_MAX_QUEUES 1024u

/*
 * A device.  vhd_main() checks the table (vhd_ops_check) before it parses
 * the command line or creates anything, so a mistake here is a clear
 * start-up error, never a NULL call on the first request.
 *
 * `ctx` is the device's own pointer, given to vhd_main() and passed back
 * to every command-line callback and to instance_new: the device keeps its
 * options there (usually a struct on main()'s stack), not in file-scope
 * variables, so its callbacks can be unit-tested in-process.
 */
struct vu_device_ops {
	/* ---- identity: what the frontend and the user see ---------------- */
	const char *name;          /* "rng": binary vhost-device-<name>, JSON type */
	const char *summary;       /* one line for --help */
	uint32_t virtio_id;
	unsigned num_queues;       /* 1..VHD_MAX_QUEUES */
	/* SET_VRING_NUM above this is refused; a power of two, at most
	 * VQ_MAX_SIZE. */
	unsigned max_queue_size;
	/* Device feature bits; the core adds VERSION_1, INDIRECT_DESC,
	 * EVENT_IDX, NOTIFY_ON_EMPTY and PROTOCOL_FEATURES. */
	uint64_t features;
	/* Size of the config space (at most VHU_CONFIG_MAX_SIZE); 0 = none.
	 * Non-zero makes the core offer VHOST_USER_PROTOCOL_F_CONFIG, so set
	 * it only for devices whose QEMU frontend wants it (vsock, gpio,
	 * input).  Non-zero requires get_config, and get_config/set_config
	 * require it. */
	uint32_t config_size;
	/* Capability features for --print-capabilities (may be NULL). */
	const char *const *capabilities;

	/* ---- command line: parsed on the main thread, before any socket -- */
	/* How -s/--socket-path is turned into socket file names. */
	enum vu_socket_naming socket_naming;
	/* Device options (may be NULL).  `options` ends with a zero entry;
	 * each entry has flag NULL, and a val that is neither a common
	 * option's key nor 0, ':' or '?'.  `short_options` lists getopt
	 * letters ("p:m:f:"), each of which must be the val of a long entry
	 * with the same has_arg; the common letters s c v h V are taken.
	 * `options_help` is printed under "Device options". */
	const struct option *options;
	const char *short_options;     /* getopt letters for options, or "" */
	const char *options_help;
	/* One option.  Return 0, or -1 after printing what is wrong.
	 * Required when there are options. */
	int (*parse_option)(void *ctx, int key, const char *arg);
	/* Operands: the arguments that are not options (scsi's image paths),
	 * given in order after the options were parsed.  NULL: operands are
	 * refused.  `operands_usage` ("IMAGE...") follows the usage line of
	 * --help; required with parse_operand.  0, or -1 after printing. */
	const char *operands_usage;
	int (*parse_operand)(void *ctx, const char *arg);
	/* All options parsed; socket_count known.  Check combinations and
	 * open shared host resources.  Return 0, or -1 after printing. */
	int (*check_options)(void *ctx, unsigned socket_count);
	/* Devices whose sockets are not "-s PATH [-c N]" (vsock: --socket,
	 * repeated --vm, --config) return their own list here, after
	 * check_options: *paths is a malloc'ed array of malloc'ed strings
	 * (the core frees them), one instance per path.  With this hook -s
	 * and -c are refused.  Return 0, or -1 after printing. */
	int (*socket_paths)(void *ctx, char ***paths, unsigned *count);
	/* Devices whose socket count follows from their own options (input:
	 * one socket per --event-list entry) return it here, after
	 * check_options: -s PATH then names PATH0..PATH<N-1> (suffixed
	 * naming), -c must be absent or equal, --fd needs N = 1.  May be
	 * NULL (the count is -c's). */
	unsigned (*socket_count)(void *ctx);

	/* ---- runtime: instances, connections, queues ---------------------- */
	/* One instance per socket, created on the main thread after the
	 * options; *priv is what vu_dev_priv() returns.  0 or -1 (printed). */
	int (*instance_new)(void *ctx, unsigned index, unsigned count, void **priv);
	void (*instance_free)(void *priv);
	/* Per-instance limit for SET_VRING_NUM when instances differ
	 * (vsock --vm queue_size=); NULL = max_queue_size. */
	unsigned (*instance_max_queue_size)(void *priv);
	/* Which thread serves queue q: 0 = the connection's worker (also
	 * when this is NULL), k = 1..num_queues = queue thread k (see
	 * "Threads" above).  Asked once per connection. */
	unsigned (*queue_thread)(void *priv, unsigned q);

	/* Called once per connection when the device may start using its
	 * event loop (timers); may be NULL. */
	void (*connected)(struct vu_dev *dev);
	/* Connection gone or RESET_DEVICE: forget guest state.  Queues are
	 * already stopped.  May be NULL. */
	void (*reset)(struct vu_dev *dev);

	void (*queue_start)(struct vu_dev *dev, unsigned q);   /* may be NULL */
	void (*queue_kick)(struct vu_dev *dev, unsigned q);    /* required */
	void (*queue_stop)(struct vu_dev *dev, unsigned q);    /* may be NULL */
	/* A held element of queue q is released by the core (see "Held
	 * requests" above).  Forget e.  give_back false: write the device's
	 * cancelled status into e->wr if it has one and return the bytes
	 * written; give_back true: the request will be popped again, the
	 * result is ignored.  Do not push or unpop e.  May be NULL for a
	 * device that never holds elements past queue_stop. */
	uint32_t (*elem_cancel)(struct vu_dev *dev, unsigned q, struct vq_elem *e,
				bool give_back);

	/* Config space: fill buf[0..config_size).  0 or -errno. */
	int (*get_config)(struct vu_dev *dev, uint8_t *buf);
	/* Frontend writes [offset, offset+size).  May be NULL (read-only). */
	int (*set_config)(struct vu_dev *dev, const uint8_t *data,
			  uint32_t offset, uint32_t size);

	/* ---- sandbox: the system calls made after start-up --------------- */
	/* The device's additions to the core's seccomp allow-list
	 * (docs/security.md), with the vhd_sandbox_allow* calls below: what
	 * its callbacks and libraries call once the sockets exist and every
	 * instance_new has run (host sockets, ioctls, opening files, io_uring,
	 * ...).  Called once on the main thread, with ctx, before the worker
	 * threads start; whatever it does not allow kills the process with a
	 * log line naming the call.  0, or -1 (printed).  NULL: the core's list
	 * is enough. */
	int (*sandbox)(void *ctx, struct vhd_sandbox *sb);
};

/* Run the program: check the ops table, parse the command line, create
 * the sockets, serve until SIGTERM/SIGINT.  ctx is passed to the
 * command-line callbacks and to instance_new.  Returns the exit status
 * (1 for a faulty ops table, with a message naming the device and the
 * fault). */
int vhd_main(const struct vu_device_ops *ops, void *ctx, int argc, char **argv);

/* Check an ops table as vhd_main() does first.  0, or -1 with err filled
 * ("device 'rng': ..." naming the fault).  For a device's unit tests. */
int vhd_ops_check(const struct vu_device_ops *ops, char *err, size_t errlen);

/* ---- what a device may call ---------------------------------------- */

void *vu_dev_priv(struct vu_dev *dev);           /* instance_new's *priv */
struct virtqueue *vu_dev_queue(struct vu_dev *dev, unsigned q);
struct vhd_loop *vu_dev_loop(struct vu_dev *dev);
/* The event loop of queue q's thread (vu_dev_loop unless the device
 * put q on a queue thread): timers and fds that serve q go here. */
struct vhd_loop *vu_queue_loop(struct vu_dev *dev, unsigned q);
const char *vu_dev_name(const struct vu_dev *dev);  /* socket path, for logs */
uint64_t vu_dev_features(const struct vu_dev *dev); /* acked virtio features */
/* True when the queue is started, enabled and its rings are valid. */
bool vu_queue_processable(struct vu_dev *dev, unsigned q);
/* Run queue_kick for q soon (from the loop), e.g. after a timer. */
void vu_queue_schedule(struct vu_dev *dev, unsigned q);
/* Tell the frontend the config space changed (BACKEND_CONFIG_CHANGE_MSG,
 * sent without NEED_REPLY so it cannot deadlock).  0 or -errno. */
int vu_dev_config_changed(struct vu_dev *dev);

/* ---- helpers for a device's options and host sockets ------------------ */

/* Parse an unsigned decimal number in [min, max] (no sign, no spaces, no
 * trailing characters).  0 with *out set, or -1 (nothing printed: the
 * caller names the option). */
int vhd_parse_u64(const char *s, unsigned long long min, unsigned long long max,
		  unsigned long long *out);

/* Listen on a Unix socket path the way every backend socket is opened (the
 * vhost-user sockets, vsock's uds_path): a stale socket file left by a dead
 * process is replaced; a live one (someone accepts) and a file that is not
 * a socket are refused, so two backends never steal each other's path.
 * Returns a listening socket of `type` (SOCK_STREAM or SOCK_SEQPACKET),
 * non-blocking and close-on-exec, or -errno with err filled (what was wrong
 * and what to do, without a program name): -ENAMETOOLONG, -EEXIST (not a
 * socket), -EADDRINUSE (in use), or bind/listen's error. */
int vhd_unix_listen(const char *path, int type, int backlog, char *err, size_t errlen);

/* A socket file, or the slave of a pseudo-terminal (/dev/pts/N), this
 * device made at start-up -- in an option callback, check_options or
 * instance_new, i.e. before vhd_main() changes the user -- that a program
 * running as the --user/--group target must reach (connect(2) on a Unix
 * socket needs write permission on its file; the file is root's).  The
 * core copies the path; before dropping the ids (and before the sandbox)
 * it gives the file to the target user and group the way it gives the
 * vhost-user sockets: only a socket (or a pty slave), never through a
 * symlink (docs/security.md, "Running as another user"); anything else at
 * the path then makes the start-up fail.  Without --user/--group nothing
 * is chowned.  Main thread only, before the workers start; called once
 * start-up is over it does nothing (what the process makes then is the
 * target's already).  0, or -1 with the reason printed (out of memory;
 * more than VHD_STARTUP_PATHS_MAX paths: two per socket at the largest
 * --socket-count, with room). */
#define VHD_STARTUP_PATHS_MAX 4096
int vhd_startup_path(const char *path);

/* ---- the sandbox hook's calls (docs/security.md) ---------------------- */

/* Allow the system calls named in `names` (NULL-terminated, libseccomp's
 * names: "io_uring_enter", "connect") with any arguments.  A name that is
 * not a system call of this architecture ("open" on arm64) is skipped; an
 * unknown name is an error.  0, or -1 (printed). */
int vhd_sandbox_allow(struct vhd_sandbox *sb, const char *const *names);
/* Allow ioctl(2) requests of one type (_IOC_TYPE(request): 'E' evdev,
 * 'A' ALSA PCM, 0xB4 GPIO, 0x89 socket ioctls, 'T' terminals, 0x07 I2C,
 * 'k' spidev).  0 or -1. */
int vhd_sandbox_allow_ioctl(struct vhd_sandbox *sb, unsigned type);
/* Allow socket(2) for one address family (AF_UNIX, AF_VSOCK, AF_CAN,
 * AF_INET).  0 or -1. */
int vhd_sandbox_allow_socket(struct vhd_sandbox *sb, int family);
/* Allow open(2)/openat(2) of existing files (never O_CREAT, O_TRUNC or
 * O_TMPFILE), for libraries that open device nodes or configuration
 * after start-up (ALSA).  0 or -1. */
int vhd_sandbox_allow_open(struct vhd_sandbox *sb);

/*
 * The usual queue loop: pop every available element and hand it to
 * `handle` (which may vq_push it, keep it to push later -- see "Held
 * requests" -- or vq_unpop it and return false to stop), with
 * EVENT_IDX-correct notification suppression, then notify once.  Returns
 * the number of elements handled.  A device pushing held elements later
 * calls vq_notify itself.
 *
 * A handler that stops early (a quota, back-pressure, a host resource
 * with no data) must arrange to be run again itself -- a timer, an fd
 * watch, vu_queue_schedule() -- because with EVENT_IDX the driver has
 * already been told it need not kick for the buffers that are waiting.
 */
typedef bool (*vu_elem_handler)(struct vu_dev *dev, struct virtqueue *q,
				struct vq_elem *e, void *opaque);
unsigned vu_queue_process(struct vu_dev *dev, unsigned q,
			  vu_elem_handler handle, void *opaque);

#endif
