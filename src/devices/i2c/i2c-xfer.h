/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * virtio-i2c requests (virtio 1.2+, 5.19 "I2C Adapter Device") and the
 * transactions they form.
 *
 * A request is a descriptor chain: a device-readable out header (8 bytes:
 * le16 addr = 7-bit address << 1, le16 padding, le32 flags), a buffer
 * (device-readable for a write, device-writable for a read, absent for a
 * zero-length request) and a device-writable in header (u8 status).  The
 * header sizes and lengths are checked as hostile input, however the
 * driver splits them into descriptors: readable part = header (+ write
 * data), writable part = (read data +) status.
 *
 * Requests linked by VIRTIO_I2C_FLAGS_FAIL_NEXT (every request of the group
 * but the last has it) are one transaction: one I2C_RDWR with all their
 * messages, or one SMBus operation when the adapter cannot do plain I2C.
 * Requests not linked that way are separate transactions, each with its
 * own status: a failing device never fails another device's request
 * (the Rust backend merges everything of one kick).
 */
#ifndef VHD_I2C_XFER_H
#define VHD_I2C_XFER_H

#include "vhost-device.h"
#include "i2c-map.h"

#define VIRTIO_ID_I2C_ADAPTER 34
#define VIRTIO_I2C_F_ZERO_LENGTH_REQUEST 0
#define VIRTIO_I2C_FLAGS_FAIL_NEXT (1u << 0)
#define VIRTIO_I2C_FLAGS_M_RD (1u << 1)
#define VIRTIO_I2C_MSG_OK 0
#define VIRTIO_I2C_MSG_ERR 1
#define VIRTIO_I2C_OUT_HDR_SIZE 8

struct i2c_req {
	struct vq_elem *elem;   /* NULL in unit tests */
	bool valid;             /* well-formed (else answered ERR) */
	bool fail_next;
	bool read;
	uint16_t addr;          /* 7-bit */
	uint32_t len;
	uint8_t *buf;           /* len bytes (malloc'ed, or the test's) */
	uint8_t status;
};

/* Parse and check e.  Always fills r (r->valid says whether it may be
 * carried out; fail_next is taken from any readable header so that a
 * malformed member still belongs to its group).  A write's data is copied
 * out of guest memory, a read gets a zeroed buffer.  -ENOMEM only. */
int i2c_req_parse(struct i2c_req *r, struct vq_elem *e, bool zero_len_ok);
/* Write the status (and a successful read's data) into the guest's
 * buffers; returns the used length.  Frees r->buf. */
uint32_t i2c_req_finish(struct i2c_req *r);

/* One SMBus operation (the I2C_SMBUS ioctl's arguments). */
struct i2c_smbus_op {
	uint16_t addr;
	uint8_t read_write;     /* I2C_SMBUS_READ / I2C_SMBUS_WRITE */
	uint8_t command;
	uint32_t size;          /* I2C_SMBUS_QUICK ... I2C_SMBUS_I2C_BLOCK_DATA */
	union i2c_smbus_data data;
};

/* Express a transaction of n valid requests as one SMBus operation the
 * adapter's funcs offer, reproducing the bytes on the bus exactly.
 * 0 with *op filled, or -EOPNOTSUPP. */
int i2c_smbus_map(const struct i2c_req *reqs, unsigned n, unsigned long funcs,
		  struct i2c_smbus_op *op);
/* Carry out one transaction (n >= 1 requests, n <= I2C_MAX_MSGS) and set
 * every request's status: all OK or all ERR (a group fails as a whole:
 * FAIL_NEXT).  Only addresses in the map are reached; all must be on one
 * adapter.  Returns 0 or the -errno of the failure. */
int i2c_exec_group(const struct i2c_map *m, struct i2c_req *reqs, unsigned n);

/*
 * The FAIL_NEXT group a queue is collecting.  The driver publishes each
 * request of a transaction as it adds it and kicks once, so a group may
 * end in a later kick: the requests so far are held here.  Use:
 *   r = i2c_group_slot(g); i2c_req_parse(r, ...) (r->valid as it says);
 *   if (i2c_group_add(g, &overlong)) { i2c_exec_group(map, g->req, g->n);
 *       finish each g->req[i]; g->n = 0; }
 * A group that outgrows I2C_MAX_MSGS (one I2C_RDWR's limit) fails as a
 * whole: that part is answered ERR (overlong set once, for the caller's
 * log) and so is every later member up to the group's real end.
 */
struct i2c_group {
	struct i2c_req req[I2C_MAX_MSGS];
	unsigned n;
	bool overlong;          /* outgrew I2C_MAX_MSGS: fail the rest */
};

static inline struct i2c_req *i2c_group_slot(struct i2c_group *g)
{
	return &g->req[g->n];
}
/* Count the request parsed into i2c_group_slot(g).  True when the group
 * is complete and must be carried out now; *overlong is true when this
 * request made the group fail for its length. */
bool i2c_group_add(struct i2c_group *g, bool *overlong);

#endif
