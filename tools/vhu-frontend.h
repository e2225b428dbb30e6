/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * libvhu-frontend: a small vhost-user *frontend* (the role QEMU plays),
 * used by the vhost-user-frontend command, the integration tests and the
 * benchmarks.
 *
 * Three objects:
 *  - struct vhu_conn: one connection to a backend's Unix socket.  Sends
 *    requests (with payload and fds) and reads replies, validating them as
 *    strictly as QEMU 7.2 does: flags exactly VERSION|REPLY (0x5), the
 *    request number of the request sent, the exact payload size.  Also
 *    sends arbitrary bytes, for malformed-message tests.
 *  - struct vhu_mem: "guest memory", one memfd mapped once in this
 *    process, described to the backend as one region or as two (gpa
 *    0..split and split..end, each with its own fd and mmap_offset, as
 *    QEMU sends a q35 guest's RAM).  A bump allocator hands out pieces.
 *  - struct vhu_vq: the driver side of one split (or packed) virtqueue living in that
 *    memory: descriptor chains (direct or indirect), publishing with the
 *    barriers of virtio 1.x 2.7.13, kicks that honour VRING_USED_F_NO_NOTIFY
 *    or avail_event (EVENT_IDX), interrupt suppression, waiting on the
 *    call eventfd, and collection of used entries.
 *
 * Addresses, as QEMU sends them: the mem table's userspace_addr and the
 * SET_VRING_ADDR addresses are this process's virtual addresses of the
 * mapping; descriptor addresses are guest-physical.
 *
 * Errors: functions return 0 (or a count) on success and -errno on
 * failure.  -EPROTO: the backend broke the protocol (bad reply);
 * -EIO: the backend answered "failed" (REPLY_ACK non-zero, empty config);
 * -ETIMEDOUT: no answer within the connection's timeout;
 * -ECONNRESET: the backend closed the connection.
 * The library prints nothing; vhu_conn_error() returns a sentence saying
 * what the last failure was, for the caller to show.
 *
 * Not thread-safe: one thread drives a connection and its queues.
 */
#ifndef VHD_VHU_FRONTEND_H
#define VHD_VHU_FRONTEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vhost-user/proto.h"
#include "vq/vring.h"

struct vhu_conn;
struct vhu_mem;
struct vhu_vq;
struct vhu_session;

/* ---- connection ------------------------------------------------------ */

/* Default reply timeout (ms). */
#define VHU_DEFAULT_TIMEOUT_MS 5000

/* Connect to the backend listening on `path`, retrying every 10 ms while
 * the socket does not exist or refuses (the backend may still be
 * starting), for at most retry_ms milliseconds (0: one attempt). */
int vhu_connect(const char *path, int retry_ms, struct vhu_conn **out);
/* Use an already connected socket; the connection owns it from now on. */
int vhu_adopt(int fd, struct vhu_conn **out);
/* Close the socket (and the backend channel) and free.  NULL is a no-op.
 * Queues and memory are separate objects: free them too. */
void vhu_close(struct vhu_conn *c);

int vhu_conn_fd(const struct vhu_conn *c);
void vhu_conn_set_timeout(struct vhu_conn *c, int timeout_ms);
/* The last failure, as a sentence ("" if none). */
const char *vhu_conn_error(const struct vhu_conn *c);

/* When REPLY_ACK is negotiated, also set NEED_REPLY on every request that
 * has no reply of its own, and fail on a non-zero ack: each call then
 * returns only after the backend handled the message (QEMU sets it only
 * on the memory messages and SET_BACKEND_REQ_FD).  Default: off. */
void vhu_conn_set_ack_all(struct vhu_conn *c, bool on);

/* -- messages -- */

/* Send one message: header {req, VERSION | extra_flags, size}, payload,
 * fds as SCM_RIGHTS.  Nothing else is added or checked. */
int vhu_send(struct vhu_conn *c, uint32_t req, uint32_t extra_flags,
	     const void *payload, uint32_t size, const int *fds, unsigned nfds);
/* Send raw bytes (a hand-made header, a truncated message ...), with
 * optional fds on the first byte. */
int vhu_send_raw(struct vhu_conn *c, const void *bytes, size_t len,
		 const int *fds, unsigned nfds);
/* Read one reply and validate it: flags == 0x5, request == req, size ==
 * size exactly (else -EPROTO).  Any fds that came with it are closed. */
int vhu_recv_reply(struct vhu_conn *c, uint32_t req, void *payload, uint32_t size);
/* Read one reply header and up to `cap` payload bytes with no
 * validation; *hdr is filled.  For tests that look at what came back.
 * Returns the payload bytes stored. */
int vhu_recv_any(struct vhu_conn *c, struct vhu_hdr *hdr, void *payload, uint32_t cap);
/* Wait for the backend to close the connection: 0 on EOF, -ETIMEDOUT if
 * it stays open for timeout_ms, -EPROTO if it sends something. */
int vhu_wait_closed(struct vhu_conn *c, int timeout_ms);

/*
 * A request as QEMU issues it.  If `reply` is non-NULL the backend owes a
 * reply of exactly reply_size bytes.  Otherwise, if NEED_REPLY is in
 * extra_flags (or ack_all applies), the u64 ack is read and non-zero gives
 * -EIO.
 */
int vhu_request(struct vhu_conn *c, uint32_t req, uint32_t extra_flags,
		const void *payload, uint32_t size, const int *fds, unsigned nfds,
		void *reply, uint32_t reply_size);

/* Convenience wrappers. */
int vhu_get_u64(struct vhu_conn *c, uint32_t req, uint64_t *value);
int vhu_set_u64(struct vhu_conn *c, uint32_t req, uint64_t value);
int vhu_set_state(struct vhu_conn *c, uint32_t req, uint32_t index, uint32_t num);
/* SET_VRING_KICK/CALL/ERR: fd < 0 sends the NOFD bit. */
int vhu_set_vring_file(struct vhu_conn *c, uint32_t req, unsigned index, int fd);
/* A round trip (GET_FEATURES, as QEMU uses it as a barrier): proves the
 * backend handled everything sent before and still answers. */
int vhu_ping(struct vhu_conn *c);

/* -- negotiation -- */

struct vhu_info {
	uint64_t features;          /* GET_FEATURES */
	uint64_t protocol;          /* GET_PROTOCOL_FEATURES (0 without bit 30) */
	uint64_t acked_features;    /* what we sent in SET_FEATURES */
	uint64_t acked_protocol;    /* what we sent in SET_PROTOCOL_FEATURES */
	uint64_t queue_num;         /* GET_QUEUE_NUM, 0 if MQ not offered */
	uint64_t max_mem_slots;     /* GET_MAX_MEM_SLOTS, 0 if not offered */
};

/* The protocol features this library can speak. */
#define VHU_FRONTEND_PROTOCOL \
	(VHD_BIT(VHU_PF_MQ) | VHD_BIT(VHU_PF_REPLY_ACK) | \
	 VHD_BIT(VHU_PF_BACKEND_REQ) | VHD_BIT(VHU_PF_CONFIG) | \
	 VHD_BIT(VHU_PF_RESET_DEVICE) | VHD_BIT(VHU_PF_CONFIGURE_MEM_SLOTS) | \
	 VHD_BIT(VHU_PF_STATUS) | VHD_BIT(VHU_PF_XEN_MMAP))

/*
 * QEMU 7.2's realize sequence (vhost_user_backend_init, vhost_dev_init):
 * GET_FEATURES,
 * [GET_PROTOCOL_FEATURES, SET_PROTOCOL_FEATURES(offered & want_protocol),
 * GET_QUEUE_NUM if MQ, GET_MAX_MEM_SLOTS if CONFIGURE_MEM_SLOTS,
 * SET_BACKEND_REQ_FD if BACKEND_REQ (we keep the other end)], SET_OWNER,
 * GET_FEATURES.
 */
int vhu_init(struct vhu_conn *c, uint64_t want_protocol);
/* SET_FEATURES(offered & want | bit 30 if offered), then with STATUS
 * GET_STATUS / SET_STATUS(|FEATURES_OK), as QEMU does at start. */
int vhu_set_features(struct vhu_conn *c, uint64_t want_features);
/* vhu_init + vhu_set_features. */
int vhu_negotiate(struct vhu_conn *c, uint64_t want_features, uint64_t want_protocol);
const struct vhu_info *vhu_conn_info(const struct vhu_conn *c);
bool vhu_has_feature(const struct vhu_conn *c, unsigned bit);      /* acked */
bool vhu_has_protocol(const struct vhu_conn *c, unsigned bit);     /* acked */
/* Our end of the backend channel (SET_BACKEND_REQ_FD), -1 if none. */
int vhu_backend_channel(const struct vhu_conn *c);

/* GET_CONFIG of [offset, offset+size): -EIO if the backend answers with
 * an empty config (its way to refuse), -EPROTO on any other size. */
int vhu_get_config(struct vhu_conn *c, uint32_t offset, uint32_t size, void *buf);

/* ---- guest memory ---------------------------------------------------- */

/*
 * A memfd of `size` bytes mapped at one address.  split == 0: one region
 * (gpa 0).  0 < split < size: two regions, [0, split) at gpa 0 and
 * [split, size) at gpa split + hole, mmap_offset split (hole > 0 gives the
 * second region a GPA that differs from its file offset, like the PCI hole
 * of a real guest).  split must be page aligned.
 */
int vhu_mem_create(size_t size, size_t split, uint64_t hole, struct vhu_mem **out);
void vhu_mem_destroy(struct vhu_mem *m);

void *vhu_mem_base(const struct vhu_mem *m);
size_t vhu_mem_size(const struct vhu_mem *m);
int vhu_mem_fd(const struct vhu_mem *m);
unsigned vhu_mem_nregions(const struct vhu_mem *m);
/* Region i as sent on the wire. */
struct vhu_mem_region vhu_mem_region(const struct vhu_mem *m, unsigned i);

/* Bump allocator: `size` bytes aligned to `align` (a power of two, >= 1),
 * never straddling the two regions.  NULL when memory is exhausted. */
void *vhu_mem_alloc(struct vhu_mem *m, size_t size, size_t align);
/* Bytes still free (upper bound for one allocation). */
size_t vhu_mem_avail(const struct vhu_mem *m);

/* Guest-physical address of a pointer into the mapping (UINT64_MAX if
 * outside), and back (NULL if not a valid gpa for len bytes). */
uint64_t vhu_mem_gpa(const struct vhu_mem *m, const void *p);
void *vhu_mem_ptr(const struct vhu_mem *m, uint64_t gpa, size_t len);

/* Describe the memory to the backend: SET_MEM_TABLE (with NEED_REPLY if
 * REPLY_ACK is negotiated, as QEMU), or one ADD_MEM_REG per region if
 * use_add_mem_reg and CONFIGURE_MEM_SLOTS is negotiated (-ENOTSUP if
 * not negotiated). */
int vhu_send_mem(struct vhu_conn *c, const struct vhu_mem *m, bool use_add_mem_reg);

/* -- Xen memory (VHOST_USER_PROTOCOL_F_XEN_MMAP, acked when wanted) --
 * With XEN_MMAP acked, vhu_send_mem() sends the 40/48-byte region layout
 * with flags 0 (plain memfd).  For grant or foreign regions the caller
 * describes the table itself with vhu_send_mem_xen(). */

/* Grant addressing (one-region memory only): from now on vhu_mem_gpa()
 * returns 1<<63 | offset -- the grant address of the page at that offset
 * when ref i grants page i -- and vhu_mem_ptr() accepts such addresses, so
 * descriptors and indirect tables carry grant addresses as a Linux guest
 * using grants writes them.  -EINVAL for two-region memory. */
#define VHU_XEN_GRANT_ADDR (1ull << 63)
int vhu_mem_set_grant_addressing(struct vhu_mem *m, bool on);

struct vhu_xen_region {
	uint64_t gpa;               /* guest address (grant: with bit 63) */
	uint64_t size;
	uint64_t uva;               /* our address of gpa, 0 if not mapped */
	uint32_t flags;             /* xen_mmap_flags: 0x1, 0x2, 0xA, ... */
	uint32_t domid;
};

/* SET_MEM_TABLE of r[0..n) in the XEN_MMAP layout (n <= 32), or one
 * ADD_MEM_REG each; the memory's fd goes with every region (the backend
 * must close it).  -ENOTSUP if XEN_MMAP is not acked. */
int vhu_send_mem_xen(struct vhu_conn *c, const struct vhu_mem *m,
		     const struct vhu_xen_region *r, unsigned n, bool use_add_mem_reg);

/* ---- split virtqueue (driver side) ------------------------------------ */

/* One buffer of a chain: guest-physical address and length. */
struct vhu_sg {
	uint64_t gpa;
	uint32_t len;
};

struct vhu_vq_opts {
	unsigned num;               /* queue size, power of two */
	/* Entries per indirect table (0: no indirect support).  Tables are
	 * allocated in guest memory once, one per ring slot. */
	unsigned max_indirect;
	/* Also create an error eventfd and send SET_VRING_ERR. */
	bool err_fd;
};

/* Allocate the rings of queue `index` (size opts->num) in m and create
 * the kick/call(/err) eventfds.  Nothing is sent yet. */
int vhu_vq_create(struct vhu_conn *c, struct vhu_mem *m, unsigned index,
		  const struct vhu_vq_opts *opts, struct vhu_vq **out);
/* Close the eventfds and free (the ring memory stays in m). */
void vhu_vq_destroy(struct vhu_vq *q);

/* QEMU's start sequence for one ring: SET_VRING_CALL, SET_VRING_ERR,
 * SET_VRING_NUM, SET_VRING_BASE(base), SET_VRING_ADDR, SET_VRING_KICK,
 * then SET_VRING_ENABLE(1) if PROTOCOL_FEATURES was acked.  Memory must
 * have been sent.  EVENT_IDX/INDIRECT use follows the acked features. */
int vhu_vq_start(struct vhu_vq *q);
/* Stop: SET_VRING_ENABLE(0) (if bit 30 acked), GET_VRING_BASE; *base =
 * the backend's next avail index (may be NULL; packed: the low 16 bits,
 * the whole value is vhu_vq_base). */
int vhu_vq_stop(struct vhu_vq *q, uint16_t *base);

unsigned vhu_vq_num(const struct vhu_vq *q);
/* A packed ring (VIRTIO_F_RING_PACKED acked before vhu_vq_create)? */
bool vhu_vq_packed(const struct vhu_vq *q);
/* The SET_VRING_BASE value for the next start: the last GET_VRING_BASE
 * answer (packed: all 32 bits, vhost-user.rst "Ring states"). */
uint32_t vhu_vq_base(const struct vhu_vq *q);
unsigned vhu_vq_num_free(const struct vhu_vq *q);     /* free descriptors */
unsigned vhu_vq_in_flight(const struct vhu_vq *q);    /* chains not collected */
int vhu_vq_kick_fd(const struct vhu_vq *q);
int vhu_vq_call_fd(const struct vhu_vq *q);
int vhu_vq_err_fd(const struct vhu_vq *q);            /* -1 if none */
/* The ring itself, for tests that corrupt it on purpose.  On a packed
 * ring the three areas are the descriptor ring (struct vring_packed_desc),
 * the driver and the device event structures (struct vring_packed_event):
 * cast them. */
struct vring_desc *vhu_vq_desc(const struct vhu_vq *q);
struct vring_avail *vhu_vq_avail(const struct vhu_vq *q);
struct vring_used *vhu_vq_used(const struct vhu_vq *q);

/*
 * Add a chain: out[0..n_out) device-readable, then in[0..n_in)
 * device-writable.  `token` comes back with the used entry.  With
 * indirect (needs INDIRECT_DESC acked and max_indirect >= n_out + n_in)
 * the chain takes one ring slot.  Written into the ring but not visible to
 * the device until vhu_vq_publish().  -ENOSPC: not enough free
 * descriptors.  Returns the head index.
 */
int vhu_vq_add(struct vhu_vq *q, const struct vhu_sg *out, unsigned n_out,
	       const struct vhu_sg *in, unsigned n_in, void *token, bool indirect);
/* Add one chain made of raw descriptors written as given (addr, len,
 * flags; NEXT/next are filled in to link them), for hostile tests. */
int vhu_vq_add_raw(struct vhu_vq *q, const struct vring_desc *descs, unsigned n,
		   void *token);
/* Make the added chains visible: write barrier, then avail->idx. */
void vhu_vq_publish(struct vhu_vq *q);
/* Notify the device if it wants it (full barrier, then avail_event with
 * EVENT_IDX, else !VRING_USED_F_NO_NOTIFY).  Returns 1 if kicked, 0 if
 * suppressed, -errno on a failed write. */
int vhu_vq_kick(struct vhu_vq *q);
/* Publish and kick; an unconditional kick with force. */
int vhu_vq_publish_kick(struct vhu_vq *q, bool force);

/* Collect one used entry: 1 and (*len, *token) if one was there, 0 if
 * none, -EPROTO if the device returned an id that is not in flight. */
int vhu_vq_get_used(struct vhu_vq *q, uint32_t *len, void **token);
/* Is a used entry waiting (one acquire load, no syscall)? */
bool vhu_vq_has_used(const struct vhu_vq *q);
/*
 * Wait until a used entry is there: spin for spin_ns polling used->idx,
 * then ask for an interrupt (used_event, or clearing NO_INTERRUPT),
 * re-check, and poll() the call eventfd.  Interrupts are suppressed again
 * before returning.  1 ready, 0 on timeout (timeout_ms < 0: forever),
 * -errno.
 */
int vhu_vq_wait(struct vhu_vq *q, int timeout_ms, unsigned spin_ns);

struct vhu_vq_stats {
	uint64_t kicks;             /* eventfd writes */
	uint64_t kicks_suppressed;  /* publishes the device did not want */
	uint64_t calls;             /* call eventfd wake-ups */
	uint64_t used;              /* entries collected */
};
const struct vhu_vq_stats *vhu_vq_stats(const struct vhu_vq *q);

/* ---- sessions: the usual set-up in one call ---------------------------- */

struct vhu_session_opts {
	const char *path;           /* socket */
	int connect_ms;             /* retry connecting this long */
	int timeout_ms;             /* reply timeout (0: default) */
	uint64_t features;          /* wanted virtio features (& offered) */
	uint64_t protocol;          /* wanted protocol features (& offered) */
	size_t mem_size;
	size_t mem_split;           /* see vhu_mem_create */
	uint64_t mem_hole;
	bool add_mem_reg;           /* ADD_MEM_REG instead of SET_MEM_TABLE */
	unsigned nqueues;           /* queues 0..nqueues-1 created and started */
	struct vhu_vq_opts vq;
	/*
	 * A memory set-up other than QEMU's, for Xen grant regions (whose
	 * table names each ring's exact address, so it can only be made
	 * once the rings exist).  NULL: vhu_send_mem() before the queues
	 * are created (the default).  Else the queues are created first
	 * (rings allocated, nothing sent), then send_mem(opaque, s) must
	 * describe the memory to the backend (vhu_send_mem_xen ...), then
	 * the queues are started.  The backend sees the same message order
	 * either way.  0 or -errno (then the open fails).
	 */
	int (*send_mem)(void *opaque, struct vhu_session *s);
	void *send_mem_opaque;
};

/* Defaults a driver of our backends uses: VERSION_1, INDIRECT_DESC,
 * EVENT_IDX; protocol MQ, REPLY_ACK, CONFIG, CONFIGURE_MEM_SLOTS, STATUS;
 * 1 queue of 256; mem_size 0 = sized for the rings plus 1 MiB. */
void vhu_session_defaults(struct vhu_session_opts *o, const char *path);

struct vhu_session {
	struct vhu_conn *c;
	struct vhu_mem *m;
	unsigned nvq;
	struct vhu_vq *vq[8];
};

/* Connect, negotiate, create and send memory, create and start the
 * queues (with o->send_mem: create the queues, then send_mem, then start
 * them).  On failure *out is NULL and err says which step failed. */
int vhu_session_open(const struct vhu_session_opts *o, struct vhu_session **out,
		     char *err, size_t errlen);
/* Close the connection, then free queues and memory.  NULL is a no-op. */
void vhu_session_close(struct vhu_session *s);

/* Allocation marks: release everything allocated after a mark (the
 * caller guarantees the device no longer uses it). */
size_t vhu_mem_mark(const struct vhu_mem *m);
void vhu_mem_release(struct vhu_mem *m, size_t mark);

/*
 * Reader pump (the load generator): keep queue q filled with
 * device-writable buffers of buf_size bytes, collect completions and hand
 * each one's data to sink.  Ends when max_bytes were received (buffers
 * are sized so that exactly max_bytes are asked for; in-flight ones are
 * drained), or when duration_ns passed (what arrived by then counts;
 * buffers still in flight stay with the device: stop the queue or close).
 * The queue must have nothing in flight (-EBUSY).  Buffers are allocated
 * in m and released at the end when none is left in flight.
 */
struct vhu_pump_opts {
	uint32_t buf_size;
	unsigned depth;             /* buffers in flight (0: queue size) */
	unsigned batch;             /* refill when this many are free (>= 1) */
	uint64_t max_bytes;         /* 0: no limit */
	uint64_t duration_ns;       /* 0: no limit (one of the two is needed) */
	int idle_timeout_ms;        /* no completion for this long: -ETIMEDOUT */
	unsigned spin_ns;           /* busy-poll before sleeping on the call fd */
	bool indirect;              /* each buffer as a 1-entry indirect table */
	/* Data of one completion, in completion order.  Non-zero stops. */
	int (*sink)(void *opaque, const uint8_t *data, uint32_t len);
	void *opaque;
};

struct vhu_pump_result {
	uint64_t bytes;
	uint64_t requests;          /* completions */
	uint64_t empty;             /* completions with len 0 */
	double seconds;             /* first add to last completion */
};

int vhu_pump_read(struct vhu_vq *q, struct vhu_mem *m, const struct vhu_pump_opts *o,
		  struct vhu_pump_result *res);

/* ---- names (for the command) ------------------------------------------ */

/* Name of a virtio feature bit (transport/vhost bits only; device bits
 * 0-23 give NULL), of a protocol feature bit (NULL if unknown). */
const char *vhu_feature_name(unsigned bit);
const char *vhu_protocol_feature_name(unsigned bit);

#endif
