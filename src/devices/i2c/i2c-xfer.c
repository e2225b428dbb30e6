/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/* Request parsing and transactions (promises in i2c-xfer.h). */
#include "config.h"
#include "vhost-device.h"
#include "i2c-xfer.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int i2c_req_parse(struct i2c_req *r, struct vq_elem *e, bool zero_len_ok)
{
	uint8_t hdr[VIRTIO_I2C_OUT_HDR_SIZE];
	uint16_t addr;
	uint32_t flags;

	memset(r, 0, sizeof(*r));
	r->elem = e;
	r->status = VIRTIO_I2C_MSG_ERR;
	if (e->rd_len < sizeof(hdr))
		return 0;
	iov_to_buf(e->rd, e->n_rd, 0, hdr, sizeof(hdr));
	memcpy(&addr, hdr, 2);
	memcpy(&flags, hdr + 4, 4);
	addr = le16toh(addr);
	flags = le32toh(flags);
	r->fail_next = flags & VIRTIO_I2C_FLAGS_FAIL_NEXT;
	r->read = flags & VIRTIO_I2C_FLAGS_M_RD;
	r->addr = addr >> 1;
	/* Reserved flag bits, 10-bit or odd addresses (5.19.6: the address
	 * is the 7-bit one shifted left) and a chain without room for the
	 * status are refused. */
	if ((flags & ~(VIRTIO_I2C_FLAGS_FAIL_NEXT | VIRTIO_I2C_FLAGS_M_RD)) ||
	    (addr & 1) || addr > 0xff || e->wr_len < 1)
		return 0;
	if (r->read) {
		if (e->rd_len != sizeof(hdr))
			return 0;
		r->len = e->wr_len - 1;
	} else {
		if (e->wr_len != 1)
			return 0;
		r->len = e->rd_len - (uint32_t)sizeof(hdr);
	}
	if (r->len > I2C_MAX_MSG_LEN || (r->len == 0 && !zero_len_ok))
		return 0;
	if (r->len) {
		r->buf = calloc(1, r->len);
		if (!r->buf)
			return -ENOMEM;
		if (!r->read)
			iov_to_buf(e->rd, e->n_rd, sizeof(hdr), r->buf, r->len);
	}
	r->valid = true;
	return 0;
}

uint32_t i2c_req_finish(struct i2c_req *r)
{
	struct vq_elem *e = r->elem;
	uint32_t used = 0;

	if (e && e->wr_len >= 1) {
		if (r->valid && r->read && r->status == VIRTIO_I2C_MSG_OK)
			iov_from_buf(e->wr, e->n_wr, 0, r->buf, r->len);
		iov_from_buf(e->wr, e->n_wr, e->wr_len - 1, &r->status, 1);
		/* The status is the last writable byte: the used length
		 * covers everything up to it (virtio 2.7.8). */
		used = e->wr_len;
	}
	free(r->buf);
	r->buf = NULL;
	return used;
}

static bool has(unsigned long funcs, unsigned long f)
{
	return (funcs & f) == f;
}

/* A single write of len bytes: byte, byte data, word data, I2C block or
 * SMBus block write, whichever sends exactly these bytes. */
static int map_write(const struct i2c_req *w, unsigned long funcs, struct i2c_smbus_op *op)
{
	const uint8_t *b = w->buf;
	uint32_t len = w->len;

	op->read_write = I2C_SMBUS_WRITE;
	op->command = b[0];
	if (len == 1 && has(funcs, I2C_FUNC_SMBUS_WRITE_BYTE)) {
		op->size = I2C_SMBUS_BYTE;
		return 0;
	}
	if (len == 2 && has(funcs, I2C_FUNC_SMBUS_WRITE_BYTE_DATA)) {
		op->size = I2C_SMBUS_BYTE_DATA;
		op->data.byte = b[1];
		return 0;
	}
	if (len == 3 && has(funcs, I2C_FUNC_SMBUS_WRITE_WORD_DATA)) {
		op->size = I2C_SMBUS_WORD_DATA;
		op->data.word = (uint16_t)(b[1] | b[2] << 8);
		return 0;
	}
	if (len >= 2 && len - 1 <= I2C_SMBUS_BLOCK_MAX &&
	    has(funcs, I2C_FUNC_SMBUS_WRITE_I2C_BLOCK)) {
		op->size = I2C_SMBUS_I2C_BLOCK_DATA;
		op->data.block[0] = (uint8_t)(len - 1);
		memcpy(op->data.block + 1, b + 1, len - 1);
		return 0;
	}
	/* SMBus block write: command, count, count bytes. */
	if (len >= 3 && b[1] == len - 2 && len - 2 <= I2C_SMBUS_BLOCK_MAX &&
	    has(funcs, I2C_FUNC_SMBUS_WRITE_BLOCK_DATA)) {
		op->size = I2C_SMBUS_BLOCK_DATA;
		memcpy(op->data.block, b + 1, len - 1);
		return 0;
	}
	return -EOPNOTSUPP;
}

/* A one-byte command write then a read of len bytes (a register read):
 * byte data, word data, I2C block read, or SMBus block read. */
static int map_register_read(const struct i2c_req *w, const struct i2c_req *r,
			     unsigned long funcs, struct i2c_smbus_op *op)
{
	op->read_write = I2C_SMBUS_READ;
	op->command = w->buf[0];
	if (r->len == 1 && has(funcs, I2C_FUNC_SMBUS_READ_BYTE_DATA)) {
		op->size = I2C_SMBUS_BYTE_DATA;
		return 0;
	}
	if (r->len == 2 && has(funcs, I2C_FUNC_SMBUS_READ_WORD_DATA)) {
		op->size = I2C_SMBUS_WORD_DATA;
		return 0;
	}
	if (r->len >= 1 && r->len <= I2C_SMBUS_BLOCK_MAX &&
	    has(funcs, I2C_FUNC_SMBUS_READ_I2C_BLOCK)) {
		op->size = I2C_SMBUS_I2C_BLOCK_DATA;
		op->data.block[0] = (uint8_t)r->len;
		return 0;
	}
	/* SMBus block read (SMBus 3.x "Block Write/Read"): after the command
	 * the device sends a count, then that many bytes, so the guest reads
	 * the count as its first byte.  Used when an I2C block read cannot
	 * carry the read: the adapter lacks it, or the read is a count plus a
	 * full block (33 bytes).  smbus_result() says what the guest gets
	 * when its read is longer or shorter than the block. */
	if (r->len >= 1 && r->len <= I2C_SMBUS_BLOCK_MAX + 1 &&
	    has(funcs, I2C_FUNC_SMBUS_READ_BLOCK_DATA)) {
		op->size = I2C_SMBUS_BLOCK_DATA;
		return 0;
	}
	return -EOPNOTSUPP;
}

int i2c_smbus_map(const struct i2c_req *reqs, unsigned n, unsigned long funcs,
		  struct i2c_smbus_op *op)
{
	memset(op, 0, sizeof(*op));
	op->addr = reqs[0].addr;
	if (n == 1 && reqs[0].len == 0) {
		if (!has(funcs, I2C_FUNC_SMBUS_QUICK))
			return -EOPNOTSUPP;
		op->size = I2C_SMBUS_QUICK;
		op->read_write = reqs[0].read ? I2C_SMBUS_READ : I2C_SMBUS_WRITE;
		return 0;
	}
	if (n == 1 && reqs[0].read) {
		if (reqs[0].len != 1 || !has(funcs, I2C_FUNC_SMBUS_READ_BYTE))
			return -EOPNOTSUPP;
		op->size = I2C_SMBUS_BYTE;
		op->read_write = I2C_SMBUS_READ;
		return 0;
	}
	if (n == 1)
		return map_write(&reqs[0], funcs, op);
	if (n == 2 && !reqs[0].read && reqs[0].len == 1 && reqs[1].read &&
	    reqs[1].addr == reqs[0].addr)
		return map_register_read(&reqs[0], &reqs[1], funcs, op);
	return -EOPNOTSUPP;
}

/* A successful SMBus read: its result into the read request's buffer. */
static void smbus_result(const struct i2c_smbus_op *op, struct i2c_req *rd)
{
	switch (op->size) {
	case I2C_SMBUS_BYTE:
	case I2C_SMBUS_BYTE_DATA:
		rd->buf[0] = op->data.byte;
		break;
	case I2C_SMBUS_WORD_DATA:
		rd->buf[0] = op->data.word & 0xff;
		rd->buf[1] = op->data.word >> 8;
		break;
	case I2C_SMBUS_I2C_BLOCK_DATA:
		memcpy(rd->buf, op->data.block + 1, rd->len);
		break;
	case I2C_SMBUS_BLOCK_DATA: {
		/* The count, then the block (the kernel refuses a count over
		 * I2C_SMBUS_BLOCK_MAX; checked again, it indexes block[]).  A
		 * read shorter than the block ends it early, as a master that
		 * NAKs; bytes read past its end are 0xff, what a master clocks
		 * in from a bus the device has released. */
		uint32_t count = op->data.block[0];

		if (count > I2C_SMBUS_BLOCK_MAX)
			count = I2C_SMBUS_BLOCK_MAX;
		memset(rd->buf, 0xff, rd->len);
		rd->buf[0] = (uint8_t)count;
		memcpy(rd->buf + 1, op->data.block + 1,
		       count < rd->len - 1 ? count : rd->len - 1);
		break;
	}
	}
}

static int run_smbus(struct i2c_adapter *a, struct i2c_req *reqs, unsigned n)
{
	struct i2c_smbus_op op;
	int r = i2c_smbus_map(reqs, n, a->funcs, &op);

	if (r < 0)
		return r;
	r = a->ops->smbus(a, op.addr, op.read_write, op.command, op.size, &op.data);
	if (r == 0 && op.read_write == I2C_SMBUS_READ && op.size != I2C_SMBUS_QUICK)
		smbus_result(&op, &reqs[n - 1]);
	return r;
}

static int run_i2c(struct i2c_adapter *a, struct i2c_req *reqs, unsigned n)
{
	struct i2c_msg msgs[I2C_MAX_MSGS];

	for (unsigned i = 0; i < n; i++)
		msgs[i] = (struct i2c_msg){
			.addr = reqs[i].addr,
			.flags = reqs[i].read ? I2C_M_RD : 0,
			.len = (uint16_t)reqs[i].len,
			.buf = reqs[i].buf,
		};
	return a->ops->rdwr(a, msgs, n);
}

int i2c_exec_group(const struct i2c_map *m, struct i2c_req *reqs, unsigned n)
{
	struct i2c_adapter *a = n ? i2c_map_lookup(m, reqs[0].addr) : NULL;
	int r = -EINVAL;

	for (unsigned i = 0; i < n && a; i++)
		if (!reqs[i].valid || i2c_map_lookup(m, reqs[i].addr) != a)
			a = NULL;
	if (a && n <= I2C_MAX_MSGS) {
		pthread_mutex_lock(&a->lock);
		/* A lone zero-length message is SMBus QUICK where the adapter
		 * has it: many I2C controllers refuse zero-length messages
		 * in I2C_RDWR (I2C_AQ_NO_ZERO_LEN) but probe with QUICK. */
		if ((a->funcs & I2C_FUNC_I2C) &&
		    !(n == 1 && reqs[0].len == 0 && has(a->funcs, I2C_FUNC_SMBUS_QUICK)))
			r = run_i2c(a, reqs, n);
		else
			r = run_smbus(a, reqs, n);
		pthread_mutex_unlock(&a->lock);
	} else if (n) {
		r = -ENXIO;
	}
	for (unsigned i = 0; i < n; i++)
		reqs[i].status = r == 0 ? VIRTIO_I2C_MSG_OK : VIRTIO_I2C_MSG_ERR;
	return r;
}

bool i2c_group_add(struct i2c_group *g, bool *overlong)
{
	struct i2c_req *r = &g->req[g->n++];

	*overlong = false;
	if (g->overlong)
		r->valid = false;
	if (r->fail_next && g->n < I2C_MAX_MSGS)
		return false;           /* the group goes on: wait for its end */
	if (r->fail_next) {
		/* More messages than one transfer may carry: this part and
		 * the rest of the group fail (FAIL_NEXT). */
		*overlong = true;
		g->overlong = true;
		for (unsigned i = 0; i < g->n; i++)
			g->req[i].valid = false;
	} else {
		g->overlong = false;
	}
	return true;
}
