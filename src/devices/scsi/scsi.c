/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * vhost-device-scsi: the SCSI host device (virtio 1.2, 5.6 "SCSI Host
 * Device", device ID 8) serving raw images or block devices as target 0,
 * LUN 0..N-1, command-line compatible with the Rust vhost-device-scsi
 * (-s, -r/--read-only, --solid-state, IMAGE...).  QEMU's
 * vhost-user-scsi-pci drives it.
 *
 * Queues: 0 control (task management and asynchronous-notification
 * requests, 5.6.6.2), 1 event (buffers held: no event is ever sent, so
 * none is missed), 2.. request queues (--num-queues of them; 5.6.6.1).
 * Commands are decoded by scsi-cdb.c; reads, writes and cache flushes go
 * to an io_uring per request queue straight between the image and the
 * guest's buffers and complete in any order (vhost-device.h, "Held
 * requests"); the rare commands with a parameter list (UNMAP, WRITE SAME,
 * VERIFY with BYTCHK, MODE SELECT) run synchronously.
 *
 * Beyond the Rust backend: writes to read-only images are refused with
 * DATA PROTECT and the image is opened O_RDONLY; block devices; 4096-byte
 * blocks; READ/WRITE(6/12/16), VERIFY, WRITE SAME(10), UNMAP, MODE SELECT,
 * VPD 80h/83h; the REPORT LUNS well-known LUN; task management and AN
 * requests answered; concurrent I/O.
 */
#include "config.h"
#include "vhost-device.h"
#include "scsi-cdb.h"
#include "scsi-disk.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_scsi.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define SCSI_CTRL_Q          0
#define SCSI_EVENT_Q         1
#define SCSI_FIRST_REQ_Q     2
#define SCSI_MAX_REQ_QUEUES  16
#define SCSI_MAX_LUNS        256
#define SCSI_QUEUE_SIZE      1024
#define SCSI_URING_ENTRIES   256
/* virtio 5.6.6.2: a TMF's success (Linux's uapi header lacks the name). */
#define VIRTIO_SCSI_S_FUNCTION_COMPLETE 0
#define REQ_HDR  sizeof(struct virtio_scsi_cmd_req)     /* 51: cdb_size 32 */
#define RESP_HDR sizeof(struct virtio_scsi_cmd_resp)    /* 108: sense_size 96 */

/* The options (vhd_main's ctx). */
struct scsi_opts {
	/* main()'s own copy of the ops table: --num-queues sets num_queues
	 * before any connection reads it (vu-dev reads it per connection). */
	struct vu_device_ops *ops;
	struct scsi_disk_opts disk;
	unsigned long long num_queues;
	unsigned nimages;
	const char *images[SCSI_MAX_LUNS];
	struct scsi_disk disks[SCSI_MAX_LUNS];
};

struct scsi_rq;
struct scsi_tmf;

/* A command whose host operation is in flight. */
struct scsi_req {
	struct scsi_req *next, *prev;
	struct vq_elem *e;
	uint64_t tag;
	unsigned lun;
	struct scsi_disk *d;
	struct scsi_cmd cmd;
	struct iovec *iov;         /* the data part of e's buffers, advanced on short I/O */
	unsigned niov;
	struct iovec iov1;         /* iov when it is one buffer (no allocation) */
	uint64_t off;              /* file offset of the next byte */
	uint32_t left;             /* bytes still to transfer */
	uint32_t resid;
	bool aborted;              /* by a TMF: completes as ABORTED */
	struct scsi_tmf *tmf;      /* the TMF waiting for this one */
};

/* A request queue of one connection: used on its queue's thread (or by
 * the worker while that thread is parked, vhost-device.h "Threads"),
 * except `head` and the requests' aborted/tmf, which the control queue's
 * TMFs read and mark from the worker: those under `lock`. */
struct scsi_rq {
	struct scsi_dev *s;
	unsigned q;
	bool up;                   /* ring made and in the event loop */
	struct io_uring ring;
	struct vhd_handler h;      /* the ring's fd: readable while completions wait */
	pthread_mutex_t lock;
	struct scsi_req *head;     /* in flight */
	unsigned inflight;         /* sqes not yet reaped */
	unsigned log_budget;
	uint8_t buf[SCSI_DATA_IN_MAX];
};

/* A task management function waiting for the tasks it aborts. */
struct scsi_tmf {
	struct scsi_tmf *next;
	struct vq_elem *e;
	/* Tasks not yet completed, plus one while they are being marked
	 * (atomic: tasks complete on their queues' threads). */
	unsigned waiting;
};

struct scsi_dev {
	struct scsi_opts *o;
	struct scsi_target tgt;
	struct vu_dev *dev;
	struct scsi_rq rq[SCSI_MAX_REQ_QUEUES];
	struct vq_elem **events;   /* event queue buffers, held */
	unsigned nevents;
	unsigned log_budget;       /* the worker's (control, event queues) */
	/* TMFs whose last task completed, on whatever thread: the worker
	 * completes them (the control queue is its), woken by tmf_h. */
	pthread_mutex_t tmf_lock;
	struct scsi_tmf *tmf_done;
	struct vhd_handler tmf_h;
	bool tmf_h_up;
};

/* ---- LUN addressing (virtio 5.6.6.1) ----------------------------------- */

enum lun_kind { LUN_BAD_TARGET, LUN_OK };

static enum lun_kind decode_lun(const struct scsi_dev *s, const uint8_t *l,
				enum scsi_target_lu *which, unsigned *lun)
{
	unsigned v;

	/* Byte 0 is 1, byte 1 the target; we are target 0 only. */
	if (l[0] != 1 || l[1] != 0)
		return LUN_BAD_TARGET;
	*which = SCSI_LU_ABSENT;
	*lun = 0;
	if (l[4] | l[5] | l[6] | l[7])
		return LUN_OK;
	if (l[2] == 0xc1 && l[3] == 0x01) {     /* REPORT LUNS W-LUN, as Linux sends it */
		*which = SCSI_LU_WLUN_REPORT;
		return LUN_OK;
	}
	switch (l[2] >> 6) {
	case 0:                 /* peripheral device addressing, bus 0 */
		if (l[2])
			return LUN_OK;
		v = l[3];
		break;
	case 1:                 /* flat space addressing */
		v = (unsigned)(l[2] & 0x3f) << 8 | l[3];
		break;
	default:
		return LUN_OK;
	}
	*lun = v;
	if (v < s->tgt.nluns)
		*which = SCSI_LU_PRESENT;
	return LUN_OK;
}

/* ---- completing a command ------------------------------------------------ */

static void write_resp(struct vq_elem *e, uint8_t response, const struct scsi_cmd *cmd,
		       uint32_t resid)
{
	struct virtio_scsi_cmd_resp r;

	memset(&r, 0, sizeof(r));
	r.response = response;
	r.resid = htole32(resid);
	if (cmd) {
		r.status = cmd->status;
		if (cmd->status == SCSI_STATUS_CHECK_CONDITION) {
			r.sense_len = htole32(cmd->sense_len);
			memcpy(r.sense, cmd->sense, cmd->sense_len);
		}
	}
	iov_from_buf(e->wr, e->n_wr, 0, &r, sizeof(r));
}

static void tmf_release(struct scsi_dev *s, struct scsi_tmf *t);

static void req_free(struct scsi_req *r)
{
	if (r->iov != &r->iov1)
		free(r->iov);
	free(r);
}

static void req_complete(struct scsi_rq *rq, struct scsi_req *r)
{
	struct virtqueue *q = vu_dev_queue(rq->s->dev, rq->q);
	uint32_t written = RESP_HDR;
	struct scsi_tmf *t;
	bool aborted;

	pthread_mutex_lock(&rq->lock);
	if (r->prev)
		r->prev->next = r->next;
	else
		rq->head = r->next;
	if (r->next)
		r->next->prev = r->prev;
	t = r->tmf;
	aborted = r->aborted;
	pthread_mutex_unlock(&rq->lock);
	if (r->cmd.status != SCSI_STATUS_GOOD)
		r->resid = r->cmd.dir == SCSI_DIR_IN
			   ? r->e->wr_len - (uint32_t)RESP_HDR : r->resid;
	else if (r->cmd.dir == SCSI_DIR_IN)
		written += r->cmd.xfer;
	write_resp(r->e, aborted ? VIRTIO_SCSI_S_ABORTED : VIRTIO_SCSI_S_OK, &r->cmd, r->resid);
	vq_push(q, r->e, written);
	/* The TMF completes after this task's used entry is visible. */
	if (t)
		tmf_release(rq->s, t);
	req_free(r);
}

/* ---- the io_uring of a request queue ------------------------------------ */

static int rq_prep(struct scsi_rq *rq, struct scsi_req *r)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&rq->ring);
	int fd = r->d->fd;

	if (!sqe) {
		io_uring_submit(&rq->ring);
		sqe = io_uring_get_sqe(&rq->ring);
		if (!sqe)
			return -EBUSY;
	}
	switch (r->cmd.io) {
	case SCSI_IO_READ:
		/* One buffer (Linux's layout for a page-sized transfer): a
		 * plain read, no iovec array for the kernel to copy in. */
		if (r->niov == 1)
			io_uring_prep_read(sqe, fd, r->iov->iov_base, (unsigned)r->iov->iov_len,
					   r->off);
		else
			io_uring_prep_readv(sqe, fd, r->iov, r->niov, r->off);
		break;
	case SCSI_IO_WRITE:
		if (r->niov == 1)
			io_uring_prep_write(sqe, fd, r->iov->iov_base, (unsigned)r->iov->iov_len,
					    r->off);
		else
			io_uring_prep_writev(sqe, fd, r->iov, r->niov, r->off);
		/* FUA (or WCE off): on the medium before GOOD (SBC-3 5.41). */
		if (r->cmd.fua)
			sqe->rw_flags = RWF_DSYNC;
		break;
	default:
		/* SYNCHRONIZE CACHE covers every write that completed before
		 * it was received (SBC-3 5.22); a write completes only after
		 * its own I/O finished, so no drain is needed. */
		io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
		break;
	}
	io_uring_sqe_set_data(sqe, r);
	rq->inflight++;
	return 0;
}

/* Skip n bytes of an iovec array. */
static void iov_skip(struct iovec **iov, unsigned *n, size_t skip)
{
	while (*n && skip >= (*iov)->iov_len) {
		skip -= (*iov)->iov_len;
		(*iov)++;
		(*n)--;
	}
	if (*n) {
		(*iov)->iov_base = (uint8_t *)(*iov)->iov_base + skip;
		(*iov)->iov_len -= skip;
	}
}

static int pread_all(int fd, uint8_t *b, size_t n, uint64_t off);
static int pwrite_all(int fd, const uint8_t *b, size_t n, uint64_t off);
static void *bounce_alloc(size_t n);

/* The kernel could not reach a guest buffer (-EFAULT: the frontend cut
 * its memory file under the mapping).  Do the rest of the transfer here
 * through a bounce buffer: our own accesses to such memory are caught by
 * the core's guard (docs/architecture.md), which logs the loss, so the
 * request completes as with any other device.  0 or -errno. */
static int req_bounce(struct scsi_req *r)
{
	uint8_t *b = bounce_alloc(r->left);
	int rc;

	if (!b)
		return -ENOMEM;
	if (r->cmd.io == SCSI_IO_READ) {
		rc = pread_all(r->d->fd, b, r->left, r->off);
		if (rc == 0)
			iov_from_buf(r->iov, r->niov, 0, b, r->left);
	} else {
		iov_to_buf(r->iov, r->niov, 0, b, r->left);
		rc = pwrite_all(r->d->fd, b, r->left, r->off);
		if (rc == 0 && r->cmd.fua && fdatasync(r->d->fd) < 0)
			rc = -errno;
	}
	free(b);
	return rc;
}

/* One completion: true when r is finished. */
static bool req_io_done(struct scsi_rq *rq, struct scsi_req *r, int res)
{
	bool writing = r->cmd.io == SCSI_IO_WRITE;

	if (res == -EFAULT && r->cmd.io != SCSI_IO_FLUSH) {
		res = req_bounce(r);
		if (res < 0)
			scsi_sense_errno(&r->cmd, -res, writing);
		return true;
	}
	if (res == -EINTR || res == -EAGAIN)
		return rq_prep(rq, r) < 0 ? (scsi_sense_errno(&r->cmd, EIO, writing), true) : false;
	if (res < 0) {
		scsi_sense_errno(&r->cmd, -res, writing);
		return true;
	}
	if (r->cmd.io == SCSI_IO_FLUSH)
		return true;
	if (res == 0) {
		/* The file shrank under us. */
		scsi_sense_errno(&r->cmd, EIO, writing);
		return true;
	}
	if ((uint32_t)res < r->left) {
		struct iovec *iov = r->iov;
		unsigned n = r->niov;

		iov_skip(&iov, &n, (size_t)res);
		memmove(r->iov, iov, n * sizeof(*iov));
		r->niov = n;
		r->left -= (uint32_t)res;
		r->off += (uint64_t)res;
		if (rq_prep(rq, r) == 0)
			return false;
		scsi_sense_errno(&r->cmd, EIO, writing);
	}
	return true;
}

static unsigned rq_reap(struct scsi_rq *rq)
{
	struct io_uring_cqe *cqe;
	unsigned done = 0;

	while (io_uring_peek_cqe(&rq->ring, &cqe) == 0) {
		struct scsi_req *r = io_uring_cqe_get_data(cqe);
		int res = cqe->res;

		io_uring_cqe_seen(&rq->ring, cqe);
		rq->inflight--;
		if (req_io_done(rq, r, res)) {
			req_complete(rq, r);
			done++;
		}
	}
	io_uring_submit(&rq->ring);
	return done;
}

/* The ring's fd polls readable while completions wait in it: reaping
 * them is all the acknowledgement it needs (no eventfd to read). */
static void rq_event(struct vhd_handler *h, uint32_t events)
{
	struct scsi_rq *rq = h->opaque;

	(void)events;
	if (rq_reap(rq))
		vq_notify(vu_dev_queue(rq->s->dev, rq->q));
}

/* Wait for every operation of the queue to end, completing the requests
 * (their effect happened: vhost-device.h, "Held requests", 1). */
static void rq_drain(struct scsi_rq *rq)
{
	unsigned done = 0;

	while (rq->up && rq->inflight) {
		int rc = io_uring_submit_and_wait(&rq->ring, 1);

		if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
			LOG_ERR("%s: q%u: io_uring wait: %s", vu_dev_name(rq->s->dev), rq->q,
				strerror(-rc));
			break;
		}
		done += rq_reap(rq);
	}
	if (done)
		vq_notify(vu_dev_queue(rq->s->dev, rq->q));
}

static int rq_setup(struct scsi_dev *s, struct scsi_rq *rq, unsigned q)
{
	int rc;

	if (rq->up)
		return 0;
	rq->s = s;
	rq->q = q;
	rc = io_uring_queue_init(SCSI_URING_ENTRIES, &rq->ring, 0);
	if (rc < 0) {
		LOG_ERR("%s: q%u: io_uring_queue_init: %s", vu_dev_name(s->dev), q, strerror(-rc));
		return rc;
	}
	/* Completions are waited for on the ring's own fd (io_uring(7):
	 * it polls readable while the completion queue is not empty),
	 * level-triggered: when rq_kick already reaped what its submit
	 * completed (page-cache reads complete inside it), the wake-up
	 * that completion queued finds the queue empty and epoll drops it
	 * without returning to us, where a registered eventfd would stay
	 * readable and cost a wake-up, a read and a look per batch. */
	rq->h.fd = rq->ring.ring_fd;
	rq->h.cb = rq_event;
	rq->h.opaque = rq;
	if (vhd_loop_add(vu_queue_loop(s->dev, q), &rq->h, EPOLLIN) < 0) {
		io_uring_queue_exit(&rq->ring);
		return -EIO;
	}
	rq->up = true;
	return 0;
}

static void rq_teardown(struct scsi_rq *rq)
{
	if (!rq->up)
		return;
	vhd_loop_del(&rq->h);
	io_uring_queue_exit(&rq->ring);
	rq->up = false;
	rq->head = NULL;
	rq->inflight = 0;
}

/* ---- synchronous operations (parameter lists) ----------------------------- */

#define SYNC_CHUNK (1u << 20)

static void *bounce_alloc(size_t n)
{
	void *p = NULL;

	/* Aligned for O_DIRECT. */
	return posix_memalign(&p, 4096, n) ? NULL : p;
}

static int pwrite_all(int fd, const uint8_t *b, size_t n, uint64_t off)
{
	while (n) {
		ssize_t w = pwrite(fd, b, n, (off_t)off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		b += w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

static int pread_all(int fd, uint8_t *b, size_t n, uint64_t off)
{
	while (n) {
		ssize_t r = pread(fd, b, n, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EIO;
		b += r;
		n -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

/* Write `block` repeated over [off, off + len). */
static int write_pattern(int fd, const uint8_t *block, uint32_t bs, uint64_t off, uint64_t len)
{
	size_t cap = len < SYNC_CHUNK ? (size_t)len : SYNC_CHUNK;
	uint8_t *b = bounce_alloc(cap);
	int rc = 0;

	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < cap; i += bs)
		memcpy(b + i, block, bs);
	while (len && rc == 0) {
		size_t n = len < cap ? (size_t)len : cap;

		rc = pwrite_all(fd, b, n, off);
		off += n;
		len -= n;
	}
	free(b);
	return rc;
}

/* Zeros over the range: a hole when unmap is allowed (reads as zeros:
 * LBPRZ), else allocated zeros; written out where the file system
 * cannot do either. */
static int zero_range(struct scsi_disk *d, uint64_t off, uint64_t len, bool unmap)
{
	static const uint8_t zero[4096];

	if (unmap && fallocate(d->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			       (off_t)off, (off_t)len) == 0)
		return 0;
	if (!d->is_blk && fallocate(d->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
				    (off_t)off, (off_t)len) == 0)
		return 0;
	return write_pattern(d->fd, zero, d->lu.block_size, off, len);
}

static bool all_zero(const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

static int do_write_same(struct scsi_disk *d, struct scsi_cmd *cmd, const uint8_t *block)
{
	uint32_t bs = d->lu.block_size;
	uint64_t off = cmd->lba * bs, len = (uint64_t)cmd->nblocks * bs;
	int rc;

	if (all_zero(block, bs))
		rc = zero_range(d, off, len, cmd->ws_unmap);
	else
		rc = write_pattern(d->fd, block, bs, off, len);
	if (rc == 0 && cmd->fua && fdatasync(d->fd) < 0)
		rc = -errno;
	return rc;
}

static int do_verify(struct scsi_disk *d, struct scsi_cmd *cmd, const struct iovec *iov,
		     unsigned niov)
{
	uint32_t bs = d->lu.block_size;
	uint64_t off = cmd->lba * bs, len = (uint64_t)cmd->nblocks * bs, pos = 0;
	size_t cap = len < SYNC_CHUNK ? (size_t)len : SYNC_CHUNK;
	uint8_t *medium = bounce_alloc(cap), *want = malloc(cap);
	int rc = 0;

	if (!medium || !want) {
		rc = -ENOMEM;
		goto out;
	}
	if (cmd->bytchk == 3) {         /* one block compared with each */
		iov_to_buf(iov, niov, 0, want, bs);
		for (size_t i = bs; i < cap; i += bs)
			memcpy(want + i, want, bs);
	}
	while (pos < len) {
		size_t n = len - pos < cap ? (size_t)(len - pos) : cap;

		rc = pread_all(d->fd, medium, n, off + pos);
		if (rc < 0)
			goto out;
		if (cmd->bytchk == 1)
			iov_to_buf(iov, niov, pos, want, n);
		if (memcmp(medium, want, n)) {
			scsi_set_sense(cmd, SK_MISCOMPARE, ASC_MISCOMPARE_DURING_VERIFY);
			goto out;
		}
		pos += n;
	}
out:
	free(medium);
	free(want);
	return rc;
}

static int do_unmap(struct scsi_disk *d, const struct scsi_lu *lu, struct scsi_cmd *cmd,
		    const uint8_t *p)
{
	uint64_t *l = calloc(SCSI_UNMAP_MAX_DESC, sizeof(*l));
	uint32_t *nb = calloc(SCSI_UNMAP_MAX_DESC, sizeof(*nb));
	int n, rc = 0;

	if (!l || !nb) {
		rc = -ENOMEM;
		goto out;
	}
	n = scsi_unmap_parse(lu, p, cmd->xfer, l, nb, SCSI_UNMAP_MAX_DESC, cmd);
	for (int i = 0; i < n && rc == 0; i++)
		if (nb[i])
			rc = zero_range(d, l[i] * lu->block_size,
					(uint64_t)nb[i] * lu->block_size, true);
out:
	free(l);
	free(nb);
	return rc;
}

/* Commands whose parameter list is copied out of the guest's buffers. */
static void run_sync(struct scsi_disk *d, struct scsi_lu *lu, struct scsi_cmd *cmd,
		     const struct iovec *iov, unsigned niov)
{
	uint8_t *p = NULL;
	int rc = 0;

	if (cmd->io != SCSI_IO_VERIFY && cmd->xfer) {
		p = malloc(cmd->xfer);
		if (!p) {
			scsi_sense_errno(cmd, ENOMEM, true);
			return;
		}
		iov_to_buf(iov, niov, 0, p, cmd->xfer);
	}
	switch (cmd->io) {
	case SCSI_IO_MODE_SELECT:
		if (scsi_mode_select(lu, p, cmd->xfer, cmd) == 0)
			__atomic_store_n(&d->wce, lu->wce, __ATOMIC_RELAXED);
		break;
	case SCSI_IO_UNMAP:
		rc = do_unmap(d, lu, cmd, p);
		break;
	case SCSI_IO_WRITE_SAME: {
		uint8_t *blk = p;

		if (cmd->ws_ndob) {
			blk = calloc(1, lu->block_size);
			if (!blk) {
				rc = -ENOMEM;
				break;
			}
		}
		rc = do_write_same(d, cmd, blk);
		if (blk != p)
			free(blk);
		break;
	}
	case SCSI_IO_VERIFY:
		rc = do_verify(d, cmd, iov, niov);
		break;
	default:
		break;
	}
	if (rc < 0)
		scsi_sense_errno(cmd, -rc, cmd->io != SCSI_IO_VERIFY);
	free(p);
}

/* ---- request queues -------------------------------------------------------- */

/* A copy of iov[0..n) from byte `skip`, `len` bytes long. */
static struct iovec *iov_slice(const struct iovec *iov, unsigned n, size_t skip, size_t len,
			       unsigned *nout)
{
	struct iovec *out = calloc(n ? n : 1, sizeof(*out));
	unsigned k = 0;

	if (!out)
		return NULL;
	for (unsigned i = 0; i < n && len; i++) {
		size_t l = iov[i].iov_len;

		if (skip >= l) {
			skip -= l;
			continue;
		}
		out[k].iov_base = (uint8_t *)iov[i].iov_base + skip;
		out[k].iov_len = l - skip < len ? l - skip : len;
		len -= out[k].iov_len;
		skip = 0;
		k++;
	}
	*nout = k;
	return out;
}

/* r's data buffers: iov[0..n) from byte `skip`, `len` bytes long, in
 * r->iov1 when that is one buffer (a page-sized transfer, as Linux lays
 * it out), else in an array of their own.  NULL when out of memory. */
static struct iovec *req_slice(struct scsi_req *r, const struct iovec *iov, unsigned n,
			       size_t skip, size_t len)
{
	unsigned i = 0;

	while (i < n && skip >= iov[i].iov_len)
		skip -= iov[i++].iov_len;
	if (i < n && len <= iov[i].iov_len - skip) {
		r->iov1.iov_base = (uint8_t *)iov[i].iov_base + skip;
		r->iov1.iov_len = len;
		r->niov = len ? 1 : 0;
		return &r->iov1;
	}
	return iov_slice(iov + i, n - i, skip, len, &r->niov);
}

/* Complete e at once with `response` and the command's status. */
static void answer(struct virtqueue *q, struct vq_elem *e, uint8_t response,
		   const struct scsi_cmd *cmd, uint32_t resid, uint32_t data)
{
	write_resp(e, response, cmd, resid);
	vq_push(q, e, (uint32_t)RESP_HDR + data);
}

static bool handle_cmd(struct vu_dev *dev, struct virtqueue *q, struct vq_elem *e, void *opaque)
{
	struct scsi_rq *rq = opaque;
	struct scsi_dev *s = rq->s;
	struct virtio_scsi_cmd_req req;
	enum scsi_target_lu which;
	struct scsi_disk *d = NULL;
	struct scsi_lu lu;
	struct scsi_cmd cmd;
	struct scsi_req *r;
	uint32_t out_len, in_len;
	unsigned lun;

	if (e->rd_len < REQ_HDR || e->wr_len < RESP_HDR) {
		/* Not a virtio-scsi request (5.6.6.1 fixes both headers). */
		vhd_log_ratelimited(&rq->log_budget, 5, VHD_LOG_WARN,
				    "%s: q%u: request with %u readable / %u writable bytes, "
				    "expected at least %zu / %zu", vu_dev_name(dev), q->index,
				    e->rd_len, e->wr_len, REQ_HDR, RESP_HDR);
		vq_push(q, e, 0);
		return true;
	}
	iov_to_buf(e->rd, e->n_rd, 0, &req, sizeof(req));
	out_len = e->rd_len - (uint32_t)REQ_HDR;
	in_len = e->wr_len - (uint32_t)RESP_HDR;
	if (decode_lun(s, req.lun, &which, &lun) == LUN_BAD_TARGET) {
		answer(q, e, VIRTIO_SCSI_S_BAD_TARGET, NULL, in_len + out_len, 0);
		return true;
	}
	if (out_len && in_len) {        /* bidirectional: not supported */
		answer(q, e, VIRTIO_SCSI_S_FAILURE, NULL, in_len + out_len, 0);
		return true;
	}
	if (which == SCSI_LU_PRESENT) {
		d = &s->o->disks[lun];
		lu = d->lu;
		lu.wce = __atomic_load_n(&d->wce, __ATOMIC_RELAXED);
	}
	scsi_decode(&s->tgt, which, d ? &lu : NULL, req.cdb, sizeof(req.cdb), &cmd, rq->buf);
	if (cmd.status != SCSI_STATUS_GOOD) {
		answer(q, e, VIRTIO_SCSI_S_OK, &cmd, in_len + out_len, 0);
		return true;
	}
	/* The transfer must fit the buffers the driver gave, in the
	 * direction the command moves data (as QEMU's virtio-scsi). */
	if ((cmd.dir == SCSI_DIR_IN && (cmd.xfer > in_len || out_len)) ||
	    (cmd.dir == SCSI_DIR_OUT && (cmd.xfer > out_len || in_len))) {
		answer(q, e, VIRTIO_SCSI_S_OVERRUN, NULL, in_len + out_len, 0);
		return true;
	}
	if (cmd.io == SCSI_IO_NONE) {
		uint32_t n = cmd.dir == SCSI_DIR_IN ? cmd.data_len : 0;

		iov_from_buf(e->wr, e->n_wr, RESP_HDR, cmd.data, n);
		answer(q, e, VIRTIO_SCSI_S_OK, &cmd, in_len + out_len - n, n);
		return true;
	}
	if (cmd.io != SCSI_IO_READ && cmd.io != SCSI_IO_WRITE && cmd.io != SCSI_IO_FLUSH) {
		unsigned niov = 0;
		struct iovec *iov = iov_slice(e->rd, e->n_rd, REQ_HDR, cmd.xfer, &niov);

		if (!iov)
			scsi_sense_errno(&cmd, ENOMEM, true);
		else
			run_sync(d, &lu, &cmd, iov, niov);
		free(iov);
		answer(q, e, VIRTIO_SCSI_S_OK, &cmd, out_len - cmd.xfer, 0);
		return true;
	}
	r = calloc(1, sizeof(*r));
	if (r && cmd.dir != SCSI_DIR_NONE)
		r->iov = cmd.dir == SCSI_DIR_IN
			 ? req_slice(r, e->wr, e->n_wr, RESP_HDR, cmd.xfer)
			 : req_slice(r, e->rd, e->n_rd, REQ_HDR, cmd.xfer);
	if (!r || (cmd.dir != SCSI_DIR_NONE && !r->iov)) {
		if (r)
			free(r);
		scsi_sense_errno(&cmd, ENOMEM, true);
		answer(q, e, VIRTIO_SCSI_S_OK, &cmd, in_len + out_len, 0);
		return true;
	}
	r->e = e;
	r->tag = le64toh(req.tag);
	r->lun = lun;
	r->d = d;
	r->cmd = cmd;
	r->off = cmd.lba * lu.block_size;
	r->left = cmd.xfer;
	r->resid = (cmd.dir == SCSI_DIR_IN ? in_len : out_len) - cmd.xfer;
	if (rq_prep(rq, r) < 0) {
		req_free(r);
		scsi_sense_errno(&cmd, ENOMEM, true);
		answer(q, e, VIRTIO_SCSI_S_OK, &cmd, in_len + out_len, 0);
		return true;
	}
	pthread_mutex_lock(&rq->lock);
	r->next = rq->head;
	if (rq->head)
		rq->head->prev = r;
	rq->head = r;
	pthread_mutex_unlock(&rq->lock);
	return true;
}

static void rq_kick(struct scsi_dev *s, unsigned q)
{
	struct scsi_rq *rq = &s->rq[q - SCSI_FIRST_REQ_Q];

	if (rq_setup(s, rq, q) < 0) {
		vq_mark_broken(vu_dev_queue(s->dev, q), "no io_uring for this queue");
		return;
	}
	vu_queue_process(s->dev, q, handle_cmd, rq);
	/* One submit for every command of this kick; what it completed
	 * (page-cache reads and writes complete inside it) is pushed and
	 * notified now, in the same turn, rather than after another trip
	 * through the event loop. */
	io_uring_submit(&rq->ring);
	if (rq_reap(rq))
		vq_notify(vu_dev_queue(s->dev, q));
}

/* ---- control queue (virtio 5.6.6.2) -------------------------------------- */

/* Complete the TMFs whose tasks all completed (on the worker). */
static void tmf_flush(struct scsi_dev *s)
{
	struct virtqueue *q = vu_dev_queue(s->dev, SCSI_CTRL_Q);
	uint8_t resp = VIRTIO_SCSI_S_FUNCTION_COMPLETE;
	struct scsi_tmf *t;

	pthread_mutex_lock(&s->tmf_lock);
	t = s->tmf_done;
	s->tmf_done = NULL;
	pthread_mutex_unlock(&s->tmf_lock);
	if (!t)
		return;
	while (t) {
		struct scsi_tmf *next = t->next;

		iov_from_buf(t->e->wr, t->e->n_wr, 0, &resp, 1);
		vq_push(q, t->e, 1);
		free(t);
		t = next;
	}
	vq_notify(q);
}

static void tmf_event(struct vhd_handler *h, uint32_t events)
{
	uint64_t v;

	(void)events;
	if (read(h->fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		LOG_WARN("TMF eventfd: %s", strerror(errno));
	tmf_flush(h->opaque);
}

/* Drop one of t's references; the last one hands t to the worker. */
static void tmf_release(struct scsi_dev *s, struct scsi_tmf *t)
{
	uint64_t one = 1;

	if (__atomic_sub_fetch(&t->waiting, 1, __ATOMIC_ACQ_REL))
		return;
	pthread_mutex_lock(&s->tmf_lock);
	t->next = s->tmf_done;
	s->tmf_done = t;
	pthread_mutex_unlock(&s->tmf_lock);
	if (s->tmf_h_up && write(s->tmf_h.fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		LOG_WARN("TMF eventfd: %s", strerror(errno));
}

/* Mark the tasks a TMF aborts (all LUNs when lun < 0, one tag when
 * has_tag); with t, t waits for them.  Returns how many are in flight. */
static unsigned mark_tasks(struct scsi_dev *s, int lun, bool has_tag, uint64_t tag,
			   struct scsi_tmf *t)
{
	unsigned n = 0;

	for (unsigned i = 0; i < SCSI_MAX_REQ_QUEUES; i++) {
		struct scsi_rq *rq = &s->rq[i];

		pthread_mutex_lock(&rq->lock);
		for (struct scsi_req *r = rq->head; r; r = r->next) {
			if ((lun >= 0 && r->lun != (unsigned)lun) || (has_tag && r->tag != tag))
				continue;
			if (r->tmf)     /* already awaited by another TMF */
				continue;
			n++;
			if (t) {
				r->aborted = true;
				r->tmf = t;
				__atomic_add_fetch(&t->waiting, 1, __ATOMIC_RELAXED);
			}
		}
		pthread_mutex_unlock(&rq->lock);
	}
	return n;
}

static void handle_tmf(struct scsi_dev *s, struct virtqueue *q, struct vq_elem *e)
{
	struct virtio_scsi_ctrl_tmf_req req;
	enum scsi_target_lu which;
	unsigned lun;
	uint8_t resp = VIRTIO_SCSI_S_FUNCTION_COMPLETE;
	uint64_t tag;
	int scope;
	struct scsi_tmf *t;

	iov_to_buf(e->rd, e->n_rd, 0, &req, sizeof(req));
	tag = le64toh(req.tag);
	if (decode_lun(s, req.lun, &which, &lun) == LUN_BAD_TARGET) {
		resp = VIRTIO_SCSI_S_BAD_TARGET;
		goto reply;
	}
	if (which != SCSI_LU_PRESENT && le32toh(req.subtype) != VIRTIO_SCSI_T_TMF_I_T_NEXUS_RESET) {
		resp = VIRTIO_SCSI_S_INCORRECT_LUN;
		goto reply;
	}
	scope = (int)lun;
	switch (le32toh(req.subtype)) {
	case VIRTIO_SCSI_T_TMF_QUERY_TASK:
		resp = mark_tasks(s, scope, true, tag, NULL) ? VIRTIO_SCSI_S_FUNCTION_SUCCEEDED
							     : VIRTIO_SCSI_S_FUNCTION_COMPLETE;
		goto reply;
	case VIRTIO_SCSI_T_TMF_QUERY_TASK_SET:
		resp = mark_tasks(s, scope, false, 0, NULL) ? VIRTIO_SCSI_S_FUNCTION_SUCCEEDED
							    : VIRTIO_SCSI_S_FUNCTION_COMPLETE;
		goto reply;
	case VIRTIO_SCSI_T_TMF_ABORT_TASK:
	case VIRTIO_SCSI_T_TMF_ABORT_TASK_SET:
	case VIRTIO_SCSI_T_TMF_CLEAR_TASK_SET:
	case VIRTIO_SCSI_T_TMF_LOGICAL_UNIT_RESET:
	case VIRTIO_SCSI_T_TMF_I_T_NEXUS_RESET:
		break;
	default:                /* CLEAR ACA: NACA is never accepted */
		resp = VIRTIO_SCSI_S_FUNCTION_REJECTED;
		goto reply;
	}
	if (le32toh(req.subtype) == VIRTIO_SCSI_T_TMF_I_T_NEXUS_RESET)
		scope = -1;
	if (le32toh(req.subtype) == VIRTIO_SCSI_T_TMF_LOGICAL_UNIT_RESET)
		__atomic_store_n(&s->o->disks[lun].wce, s->o->disks[lun].lu.wce, __ATOMIC_RELAXED);
	/* The aborted tasks complete (as ABORTED) before the TMF does: the
	 * driver counts on it (virtio 5.6.6.2). Host I/O cannot be called
	 * back, so the TMF waits for it to end. */
	t = calloc(1, sizeof(*t));
	if (!t) {
		resp = VIRTIO_SCSI_S_FAILURE;
		goto reply;
	}
	t->e = e;
	t->waiting = 1;         /* ours, while marking */
	if (mark_tasks(s, scope, le32toh(req.subtype) == VIRTIO_SCSI_T_TMF_ABORT_TASK, tag, t)) {
		/* Held until its tasks complete (maybe already, on their
		 * threads: then the eventfd brings it back here). */
		tmf_release(s, t);
		return;
	}
	free(t);
reply:
	iov_from_buf(e->wr, e->n_wr, 0, &resp, 1);
	vq_push(q, e, 1);
}

static bool handle_ctrl(struct vu_dev *dev, struct virtqueue *q, struct vq_elem *e, void *opaque)
{
	struct scsi_dev *s = opaque;
	uint32_t type = 0;

	iov_to_buf(e->rd, e->n_rd, 0, &type, sizeof(type));
	type = le32toh(type);
	if (e->rd_len >= sizeof(struct virtio_scsi_ctrl_tmf_req) && e->wr_len >= 1 &&
	    type == VIRTIO_SCSI_T_TMF) {
		handle_tmf(s, q, e);
		return true;
	}
	if (e->rd_len >= sizeof(struct virtio_scsi_ctrl_an_req) &&
	    e->wr_len >= sizeof(struct virtio_scsi_ctrl_an_resp) &&
	    (type == VIRTIO_SCSI_T_AN_QUERY || type == VIRTIO_SCSI_T_AN_SUBSCRIBE)) {
		/* No asynchronous notification class is supported: the
		 * events actually reported are none (5.6.6.2.2). */
		struct virtio_scsi_ctrl_an_resp r = { .event_actual = 0,
						      .response = VIRTIO_SCSI_S_OK };

		iov_from_buf(e->wr, e->n_wr, 0, &r, sizeof(r));
		vq_push(q, e, sizeof(r));
		return true;
	}
	vhd_log_ratelimited(&s->log_budget, 5, VHD_LOG_WARN,
			    "%s: control request of type %u with %u/%u bytes refused",
			    vu_dev_name(dev), type, e->rd_len, e->wr_len);
	vq_push(q, e, 0);
	return true;
}

/* ---- event queue (virtio 5.6.6.3) ------------------------------------------ */

/* Buffers are kept for events; we report none (no hotplug, no
 * parameter change), so none is ever missed either. */
static bool hold_event(struct vu_dev *dev, struct virtqueue *q, struct vq_elem *e, void *opaque)
{
	struct scsi_dev *s = opaque;

	(void)dev;
	if (!s->events) {
		s->events = calloc(SCSI_QUEUE_SIZE, sizeof(*s->events));
		if (!s->events) {
			vq_push(q, e, 0);
			return true;
		}
	}
	if (s->nevents >= SCSI_QUEUE_SIZE) {
		vq_push(q, e, 0);
		return true;
	}
	s->events[s->nevents++] = e;
	return true;
}

/* ---- the ops ------------------------------------------------------------------ */

static void scsi_queue_kick(struct vu_dev *dev, unsigned q)
{
	struct scsi_dev *s = vu_dev_priv(dev);

	if (q == SCSI_CTRL_Q)
		vu_queue_process(dev, q, handle_ctrl, s);
	else if (q == SCSI_EVENT_Q)
		vu_queue_process(dev, q, hold_event, s);
	else
		rq_kick(s, q);
}

static void scsi_queue_stop(struct vu_dev *dev, unsigned q)
{
	struct scsi_dev *s = vu_dev_priv(dev);

	if (q >= SCSI_FIRST_REQ_Q) {
		rq_drain(&s->rq[q - SCSI_FIRST_REQ_Q]);
	} else if (q == SCSI_CTRL_Q) {
		/* Held TMFs wait for I/O on the request queues: finish it so
		 * they complete before their queue goes. */
		for (unsigned i = 0; i < SCSI_MAX_REQ_QUEUES; i++)
			rq_drain(&s->rq[i]);
		tmf_flush(s);
	}
}

static uint32_t scsi_elem_cancel(struct vu_dev *dev, unsigned q, struct vq_elem *e,
				 bool give_back)
{
	struct scsi_dev *s = vu_dev_priv(dev);

	(void)give_back;
	if (q == SCSI_EVENT_Q)
		for (unsigned i = 0; i < s->nevents; i++)
			if (s->events[i] == e) {
				s->events[i] = s->events[--s->nevents];
				break;
			}
	return 0;
}

static void scsi_connected(struct vu_dev *dev)
{
	struct scsi_dev *s = vu_dev_priv(dev);
	int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

	s->dev = dev;
	s->tmf_h.fd = fd;
	s->tmf_h.cb = tmf_event;
	s->tmf_h.opaque = s;
	s->tmf_h_up = fd >= 0 && vhd_loop_add(vu_dev_loop(dev), &s->tmf_h, EPOLLIN) == 0;
	if (!s->tmf_h_up) {
		/* TMFs then complete when the control queue stops. */
		LOG_ERR("%s: TMF eventfd: %s", vu_dev_name(dev), strerror(errno));
		if (fd >= 0)
			close(fd);
	}
}

static void scsi_reset(struct vu_dev *dev)
{
	struct scsi_dev *s = vu_dev_priv(dev);

	for (unsigned i = 0; i < SCSI_MAX_REQ_QUEUES; i++)
		rq_teardown(&s->rq[i]);
	if (s->tmf_h_up) {
		vhd_loop_del(&s->tmf_h);
		close(s->tmf_h.fd);
		s->tmf_h_up = false;
	}
	free(s->events);
	s->events = NULL;
	s->nevents = 0;
	/* A new driver starts from the power-on mode pages. */
	for (unsigned i = 0; i < s->tgt.nluns; i++)
		__atomic_store_n(&s->o->disks[i].wce, s->o->disks[i].lu.wce, __ATOMIC_RELAXED);
}

static int scsi_instance_new(void *ctx, unsigned index, unsigned count, void **priv)
{
	struct scsi_opts *o = ctx;
	struct scsi_dev *s = calloc(1, sizeof(*s));

	(void)index;
	(void)count;
	if (!s)
		return -1;
	s->o = o;
	s->tgt.nluns = o->nimages;
	pthread_mutex_init(&s->tmf_lock, NULL);
	for (unsigned i = 0; i < SCSI_MAX_REQ_QUEUES; i++)
		pthread_mutex_init(&s->rq[i].lock, NULL);
	*priv = s;
	return 0;
}

static void scsi_instance_free(void *priv)
{
	struct scsi_dev *s = priv;

	for (unsigned i = 0; i < SCSI_MAX_REQ_QUEUES; i++) {
		rq_teardown(&s->rq[i]);
		pthread_mutex_destroy(&s->rq[i].lock);
	}
	pthread_mutex_destroy(&s->tmf_lock);
	free(s->events);
	free(s);
}

/* With several request queues, each on a thread of its own
 * (vhost-device.h, "Threads"); control and event queues on the worker. */
static unsigned scsi_queue_thread(void *priv, unsigned q)
{
	const struct scsi_dev *s = priv;

	return q >= SCSI_FIRST_REQ_Q && s->o->num_queues > 1 ? q - 1 : 0;
}

enum {
	OPT_SOLID_STATE = 0x100,
	OPT_BLOCK_SIZE,
	OPT_NUM_QUEUES,
	OPT_DIRECT,
};

static int scsi_parse_option(void *ctx, int key, const char *arg)
{
	struct scsi_opts *o = ctx;
	unsigned long long v;

	switch (key) {
	case 'r':
		o->disk.read_only = true;
		return 0;
	case OPT_SOLID_STATE:
		o->disk.solid_state = true;
		return 0;
	case OPT_DIRECT:
		o->disk.direct = true;
		return 0;
	case OPT_BLOCK_SIZE:
		if (vhd_parse_u64(arg, 512, 4096, &v) < 0 || (v != 512 && v != 4096)) {
			fprintf(stderr, "vhost-device-scsi: --block-size '%s': expected 512 or 4096\n",
				arg);
			return -1;
		}
		o->disk.block_size = (uint32_t)v;
		return 0;
	case OPT_NUM_QUEUES:
		if (vhd_parse_u64(arg, 1, SCSI_MAX_REQ_QUEUES, &o->num_queues) < 0) {
			fprintf(stderr, "vhost-device-scsi: --num-queues '%s': expected 1..%u\n",
				arg, SCSI_MAX_REQ_QUEUES);
			return -1;
		}
		o->ops->num_queues = SCSI_FIRST_REQ_Q + (unsigned)o->num_queues;
		return 0;
	}
	return -1;
}

static int scsi_parse_operand(void *ctx, const char *arg)
{
	struct scsi_opts *o = ctx;

	if (o->nimages >= SCSI_MAX_LUNS) {
		fprintf(stderr, "vhost-device-scsi: at most %u images (LUNs 0..%u)\n",
			SCSI_MAX_LUNS, SCSI_MAX_LUNS - 1);
		return -1;
	}
	o->images[o->nimages++] = arg;
	return 0;
}

static int scsi_check_options(void *ctx, unsigned socket_count)
{
	struct scsi_opts *o = ctx;
	char err[512];

	if (socket_count != 1) {
		fprintf(stderr, "vhost-device-scsi: the images belong to one guest: "
			"--socket-count must be 1\n");
		return -1;
	}
	if (!o->nimages) {
		fprintf(stderr, "vhost-device-scsi: no image given (IMAGE... are LUN 0, 1, ...)\n"
			"Try 'vhost-device-scsi --help'.\n");
		return -1;
	}
	if (!o->disk.read_only)
		vhd_log(VHD_LOG_INFO, "images are writable (-r serves them read-only)");
	for (unsigned i = 0; i < o->nimages; i++) {
		if (scsi_disk_open(&o->disks[i], o->images[i], i, &o->disk, err, sizeof(err)) < 0) {
			fprintf(stderr, "vhost-device-scsi: LUN %u: %s\n", i, err);
			while (i--)
				scsi_disk_close(&o->disks[i]);
			o->nimages = 0;
			return -1;
		}
		vhd_log(VHD_LOG_INFO, "LUN %u: %s, %llu blocks of %u bytes%s", i, o->images[i],
			(unsigned long long)o->disks[i].lu.nblocks, o->disk.block_size,
			o->disk.read_only ? ", read-only" : "");
	}
	return 0;
}

static const struct option scsi_options[] = {
	{ "read-only", no_argument, NULL, 'r' },
	{ "solid-state", no_argument, NULL, OPT_SOLID_STATE },
	{ "block-size", required_argument, NULL, OPT_BLOCK_SIZE },
	{ "num-queues", required_argument, NULL, OPT_NUM_QUEUES },
	{ "direct", no_argument, NULL, OPT_DIRECT },
	{ NULL, 0, NULL, 0 },
};

static const char *const scsi_capabilities[] = { NULL };

/* Sandbox (docs/security.md): each connection's request queues set up
 * an io_uring (liburing: setup, mmap of its rings, enter; completions
 * are waited for on the ring's fd, nothing is registered); UNMAP, WRITE SAME and MODE SELECT's cache setting need
 * fallocate and fdatasync on the images opened at start-up. */
static int scsi_sandbox(void *ctx, struct vhd_sandbox *sb)
{
	static const char *const calls[] = {
		"io_uring_setup", "io_uring_enter",
		"fallocate", "fdatasync", "fsync", NULL,
	};

	(void)ctx;
	return vhd_sandbox_allow(sb, calls);
}

static const struct vu_device_ops scsi_ops = {
	.name = "scsi",
	.summary = "vhost-user SCSI host (virtio-scsi): raw images or block devices as\n"
		   "target 0, LUN 0..N-1, in the order given.",
	.virtio_id = VIRTIO_ID_SCSI,
	.num_queues = SCSI_FIRST_REQ_Q + 1,
	.max_queue_size = SCSI_QUEUE_SIZE,
	/* No device feature: no hotplug or parameter-change events are
	 * sent, and no T10 PI.  No config space: QEMU's vhost-user-scsi
	 * makes it from its own properties. */
	.features = 0,
	.config_size = 0,
	.capabilities = scsi_capabilities,
	.socket_naming = VU_SOCKETS_EXACT,
	.options = scsi_options,
	.short_options = "r",
	.options_help =
		"  -r, --read-only          serve every image read-only (opened O_RDONLY; writes\n"
		"                           fail with DATA PROTECT)\n"
		"      --solid-state        report non-rotating media (VPD B1h rotation rate 1)\n"
		"      --block-size N       logical block size, 512 or 4096 (default 512)\n"
		"      --num-queues N       request queues offered, 1..16 (default 1)\n"
		"      --direct             open the images with O_DIRECT (bypass the host's\n"
		"                           page cache)\n"
		"Operands:\n"
		"  IMAGE...                 raw image files or block devices, LUN 0, 1, ... of\n"
		"                           target 0 (at most 256)\n",
	.parse_option = scsi_parse_option,
	.operands_usage = "IMAGE...",
	.parse_operand = scsi_parse_operand,
	.check_options = scsi_check_options,
	.instance_new = scsi_instance_new,
	.instance_free = scsi_instance_free,
	.queue_thread = scsi_queue_thread,
	.connected = scsi_connected,
	.reset = scsi_reset,
	.queue_kick = scsi_queue_kick,
	.queue_stop = scsi_queue_stop,
	.elem_cancel = scsi_elem_cancel,
	.sandbox = scsi_sandbox,
};

int main(int argc, char **argv)
{
	static struct scsi_opts o;
	struct vu_device_ops ops = scsi_ops;
	int st;

	o.ops = &ops;
	o.disk.block_size = 512;
	o.num_queues = 1;
	st = vhd_main(&ops, &o, argc, argv);
	/* The workers are gone: nobody uses the images any more. */
	for (unsigned i = 0; i < o.nimages; i++)
		scsi_disk_close(&o.disks[i]);
	return st;
}
