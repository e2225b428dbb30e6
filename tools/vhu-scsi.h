/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * libvhu-frontend, scsi part: a small virtio-scsi *guest driver* on top of
 * a vhu_session, so a test can play the guest of a vhost-user-scsi
 * backend.
 *
 * Written from the virtio spec (5.6 "SCSI Host Device"), independently of
 * the backend: a command is one chain laid out as Linux's virtio_scsi
 * does (request header, data-out | response header, data-in, each part
 * in its own descriptor) on request queue 0 (virtqueue 2); task
 * management functions go to the control queue (virtqueue 0).  Queue 1
 * (events) is started and given no buffers unless asked.
 *
 * Commands are posted (several may be in flight, completed in any
 * order) and collected one by one.  Blocking calls take a timeout in ms
 * and return -ETIMEDOUT.  Not thread-safe.
 */
#ifndef VHD_VHU_SCSI_H
#define VHD_VHU_SCSI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vhu-frontend.h"

#define VHU_SCSI_SENSE_MAX 96
#define VHU_SCSI_MAX_POSTED 256

struct vhu_scsi;

struct vhu_scsi_cmd {
	uint8_t lun[8];            /* virtio LUN bytes; vhu_scsi_lun() fills them */
	uint64_t tag;
	uint8_t cdb[32];
	/* Data-out, out_len bytes, and data-in capacity in_len, in the
	 * caller's memory (copied to and from guest memory); NULL with a
	 * length: guest memory only, no copy (load generators). */
	const void *out;
	uint32_t out_len;
	void *in;
	uint32_t in_len;
	unsigned queue;            /* request queue 0.. (virtqueue 2 + queue) */
	/* Results. */
	bool done;
	uint32_t used_len;
	uint8_t response;          /* VIRTIO_SCSI_S_* */
	uint8_t status;            /* SCSI status */
	uint32_t resid;
	uint32_t sense_len;
	uint8_t sense[VHU_SCSI_SENSE_MAX];
	void *priv;
};

/* LUN bytes of target `target`, LUN `lun`, as Linux addresses them. */
void vhu_scsi_lun(uint8_t out[8], unsigned target, unsigned lun);

/* Connect and start the three queues of size queue_size with mem_size
 * bytes of guest memory (0: 16 MiB). */
int vhu_scsi_open(const char *path, int connect_ms, unsigned queue_size, size_t mem_size,
		  struct vhu_scsi **out, char *err, size_t errlen);

/* The same with Xen memory: XEN_MMAP wanted, and send_mem describes the
 * memory (vhu_session_opts.send_mem: grant tables). */
struct vhu_scsi_opts {
	const char *path;
	int connect_ms;
	unsigned queue_size;
	size_t mem_size;
	unsigned request_queues;   /* 0: 1 */
	bool xen_mmap;
	int (*send_mem)(void *opaque, struct vhu_session *s);
	void *send_mem_opaque;
};
int vhu_scsi_open_opts(const struct vhu_scsi_opts *o, struct vhu_scsi **out, char *err,
		       size_t errlen);
void vhu_scsi_close(struct vhu_scsi *d);
struct vhu_session *vhu_scsi_session(struct vhu_scsi *d);

/* Add one command's chain on its queue (not yet visible); vhu_scsi_kick
 * publishes and kicks every request queue. */
int vhu_scsi_add(struct vhu_scsi *d, struct vhu_scsi_cmd *c);
int vhu_scsi_kick(struct vhu_scsi *d);
/* Collect one completion of any request queue: *done = the command. */
int vhu_scsi_collect(struct vhu_scsi *d, struct vhu_scsi_cmd **done, int timeout_ms);
/* Post one command and wait for it. */
int vhu_scsi_run(struct vhu_scsi *d, struct vhu_scsi_cmd *c, int timeout_ms);
/* How vhu_scsi_collect waits for a completion: spin on the used ring for
 * up to spin_ns before sleeping on the call eventfd, as a polling guest
 * driver would (0, the default: sleep at once). */
void vhu_scsi_set_spin(struct vhu_scsi *d, unsigned spin_ns);
/* Commands posted and not collected. */
unsigned vhu_scsi_in_flight(const struct vhu_scsi *d);

/* A task management function on the control queue: posted and kicked
 * at once; vhu_scsi_tmf_wait collects its one-byte response. */
int vhu_scsi_tmf_post(struct vhu_scsi *d, uint32_t subtype, const uint8_t lun[8], uint64_t tag);
bool vhu_scsi_tmf_done(struct vhu_scsi *d);
int vhu_scsi_tmf_wait(struct vhu_scsi *d, uint8_t *response, int timeout_ms);
/* An AN query/subscribe (type 1 or 2): event_actual and response. */
int vhu_scsi_an(struct vhu_scsi *d, uint32_t type, uint32_t requested, uint32_t *actual,
		uint8_t *response, int timeout_ms);

#endif
