/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Unit tests of vhost-device-i2c's modules: --device-list parsing
 * (i2c-map.c), request validation (i2c-xfer.c, with hand-built chains
 * split across iovecs), transactions (FAIL_NEXT groups, each with its own
 * status) against a fake adapter that records every call, the SMBus
 * mapping of SMBus-only adapters, and the simulated EEPROM (i2c-sim.c).
 */
#include "config.h"

#include <endian.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/i2c-dev.h>

#include "devices/i2c/i2c-map.h"
#include "devices/i2c/i2c-xfer.h"

/* ---- a fake adapter: records calls, fails chosen addresses ---------- */

struct fake {
	unsigned rdwr_calls, smbus_calls;
	unsigned last_n;
	struct i2c_msg last_msgs[I2C_MAX_MSGS];
	struct i2c_smbus_op last_op;
	bool nak[128];           /* this address does not answer */
	uint8_t fill;            /* what reads return */
	uint8_t block_count;     /* the count an SMBus block read returns */
};

static int fake_rdwr(struct i2c_adapter *a, struct i2c_msg *msgs, unsigned n)
{
	struct fake *f = a->priv;

	f->rdwr_calls++;
	f->last_n = n;
	memcpy(f->last_msgs, msgs, n * sizeof(*msgs));
	for (unsigned i = 0; i < n; i++)
		if (f->nak[msgs[i].addr])
			return -ENXIO;
	for (unsigned i = 0; i < n; i++)
		if (msgs[i].flags & I2C_M_RD)
			memset(msgs[i].buf, f->fill + i, msgs[i].len);
	return 0;
}

static int fake_smbus(struct i2c_adapter *a, uint16_t addr, uint8_t rw, uint8_t cmd,
		      uint32_t size, union i2c_smbus_data *data)
{
	struct fake *f = a->priv;

	f->smbus_calls++;
	f->last_op = (struct i2c_smbus_op){ .addr = addr, .read_write = rw, .command = cmd,
					    .size = size, .data = *data };
	if (f->nak[addr])
		return -ENXIO;
	if (rw == I2C_SMBUS_READ) {
		if (size == I2C_SMBUS_WORD_DATA)
			data->word = 0xbeef;
		else if (size == I2C_SMBUS_I2C_BLOCK_DATA)
			for (unsigned i = 1; i <= data->block[0]; i++)
				data->block[i] = (uint8_t)(0x40 + i);
		else if (size == I2C_SMBUS_BLOCK_DATA) {
			/* The device chooses the count; the buffer is
			 * I2C_SMBUS_BLOCK_MAX + 2 bytes, whatever it says. */
			data->block[0] = f->block_count;
			for (unsigned i = 1; i < sizeof(data->block); i++)
				data->block[i] = (uint8_t)(0x40 + i);
		} else
			data->byte = f->fill;
	}
	return 0;
}

static const struct i2c_adapter_ops fake_ops = { .rdwr = fake_rdwr, .smbus = fake_smbus };

struct rig {
	struct i2c_map m;
	struct fake f1, f2;
};

/* Adapter "one" (funcs given) with 0x20, 0x21; adapter "two" (full I2C)
 * with 0x50. */
static struct rig *rig_new(unsigned long funcs1)
{
	struct rig *r = calloc(1, sizeof(*r));
	struct i2c_adapter *a1 = calloc(1, sizeof(*a1)), *a2 = calloc(1, sizeof(*a2));

	assert_non_null(r);
	i2c_adapter_init(a1, &fake_ops, funcs1, "one");
	i2c_adapter_init(a2, &fake_ops, I2C_FUNC_I2C | I2C_FUNC_SMBUS_EMUL, "two");
	a1->priv = &r->f1;
	a2->priv = &r->f2;
	a1->client[0x20] = a1->client[0x21] = true;
	a2->client[0x50] = true;
	assert_int_equal(i2c_map_add(&r->m, a1), 0);
	assert_int_equal(i2c_map_add(&r->m, a2), 0);
	r->f1.fill = 0xa0;
	r->f2.fill = 0xb0;
	r->f1.block_count = r->f2.block_count = 3;
	return r;
}

static void rig_free(struct rig *r)
{
	i2c_map_close(&r->m);
	free(r);
}

static uint8_t bufs[I2C_MAX_MSGS + 1][64];

static struct i2c_req req(unsigned i, uint16_t addr, bool read, uint32_t len, bool fail_next)
{
	memset(bufs[i], 0x11 * (i + 1), sizeof(bufs[i]));
	return (struct i2c_req){ .valid = true, .addr = addr, .read = read, .len = len,
				 .fail_next = fail_next, .buf = bufs[i],
				 .status = 0xee };
}

/* ---- --device-list ---------------------------------------------------- */

static void test_parse_list(void **state)
{
	struct i2c_adapter_spec s[I2C_MAX_ADAPTERS];
	unsigned n = 0;
	char err[256];

	(void)state;
	assert_int_equal(i2c_map_parse("2:32:21,3:10:23", s, 16, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_string_equal(s[0].bus, "2");
	assert_int_equal(s[0].naddrs, 2);
	assert_int_equal(s[0].addrs[0], 32);
	assert_int_equal(s[0].addrs[1], 21);
	assert_string_equal(s[1].bus, "3");
	assert_int_equal(s[1].addrs[1], 23);
	/* An adapter name with spaces (sysfs names), and the bounds. */
	assert_int_equal(i2c_map_parse("i915 gmbus dpd:3:119", s, 16, &n, err, sizeof(err)), 0);
	assert_string_equal(s[0].bus, "i915 gmbus dpd");
	assert_int_equal(s[0].addrs[0], 3);
	assert_int_equal(s[0].addrs[1], 119);

	static const char *const bad[] = {
		"", "sim", "sim:", ":80", "sim:80,", ",sim:80", "sim:80,,3:81", "sim:2",
		"sim:120", "sim:128", "sim:0x50", "sim:-5", "sim:80:80", "sim:80,3:80",
		"sim:80,sim:81", "sim:80::81", "sim: 80",
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		if (i2c_map_parse(bad[i], s, 16, &n, err, sizeof(err)) == 0)
			fail_msg("'%s' was accepted", bad[i]);
		assert_true(err[0] != 0);
	}
}

static void test_map_open_sim(void **state)
{
	struct i2c_adapter_spec s[2];
	struct i2c_map m;
	unsigned n;
	char err[256];

	(void)state;
	assert_int_equal(i2c_map_parse("sim:80:81,sim-smbus:32", s, 2, &n, err, sizeof(err)), 0);
	assert_int_equal(i2c_map_open(&m, s, n, "/nonexistent", &i2c_sys_real, err, sizeof(err)), 0);
	assert_int_equal(m.nadapters, 2);
	assert_ptr_equal(i2c_map_lookup(&m, 80), m.adapters[0]);
	assert_ptr_equal(i2c_map_lookup(&m, 81), m.adapters[0]);
	assert_ptr_equal(i2c_map_lookup(&m, 32), m.adapters[1]);
	assert_null(i2c_map_lookup(&m, 82));
	assert_null(i2c_map_lookup(&m, 300));
	assert_true(m.adapters[0]->funcs & I2C_FUNC_I2C);
	assert_false(m.adapters[1]->funcs & I2C_FUNC_I2C);
	i2c_map_close(&m);
	/* An adapter name that sysfs does not know. */
	assert_int_equal(i2c_map_parse("no such bus:80", s, 2, &n, err, sizeof(err)), 0);
	assert_true(i2c_map_open(&m, s, n, "/nonexistent", &i2c_sys_real, err, sizeof(err)) < 0);
}

/* ---- request validation -------------------------------------------- */

struct chain {
	uint8_t mem[256];
	struct iovec rd[4], wr[4];
	struct vq_elem e;
};

/* A chain: header (addr<<1, flags) + wlen write bytes as readable
 * iovecs split at every `split` bytes; rlen+status writable bytes likewise. */
static void chain_make(struct chain *c, uint16_t wire_addr, uint32_t flags, uint32_t wlen,
		       uint32_t wr_total, unsigned split)
{
	uint16_t a = htole16(wire_addr);
	uint32_t fl = htole32(flags);
	uint32_t rd_total = 8 + wlen;

	memset(c, 0, sizeof(*c));
	memcpy(c->mem, &a, 2);
	memcpy(c->mem + 4, &fl, 4);
	for (uint32_t i = 0; i < wlen; i++)
		c->mem[8 + i] = (uint8_t)(0x30 + i);
	memset(c->mem + 128, 0x77, 128);
	for (uint32_t off = 0; off < rd_total && c->e.n_rd < 4; c->e.n_rd++) {
		uint32_t l = c->e.n_rd == 3 || rd_total - off < split ? rd_total - off : split;
		c->rd[c->e.n_rd] = (struct iovec){ c->mem + off, l };
		off += l;
	}
	for (uint32_t off = 0; off < wr_total && c->e.n_wr < 4; c->e.n_wr++) {
		uint32_t l = c->e.n_wr == 3 || wr_total - off < split ? wr_total - off : split;
		c->wr[c->e.n_wr] = (struct iovec){ c->mem + 128 + off, l };
		off += l;
	}
	c->e.rd = c->rd;
	c->e.wr = c->wr;
	c->e.rd_len = rd_total;
	c->e.wr_len = wr_total;
}

static void test_parse_request(void **state)
{
	struct chain c;
	struct i2c_req r;

	(void)state;
	/* A write of 3 bytes to 0x50, header split across iovecs. */
	chain_make(&c, 0x50 << 1, VIRTIO_I2C_FLAGS_FAIL_NEXT, 3, 1, 3);
	assert_int_equal(i2c_req_parse(&r, &c.e, true), 0);
	assert_true(r.valid);
	assert_true(r.fail_next);
	assert_false(r.read);
	assert_int_equal(r.addr, 0x50);
	assert_int_equal(r.len, 3);
	assert_memory_equal(r.buf, "\x30\x31\x32", 3);
	r.status = VIRTIO_I2C_MSG_OK;
	assert_int_equal(i2c_req_finish(&r), 1);
	assert_int_equal(c.mem[128], VIRTIO_I2C_MSG_OK);

	/* A read of 5 bytes: data then status, split 2 by 2. */
	chain_make(&c, 0x20 << 1, VIRTIO_I2C_FLAGS_M_RD, 0, 6, 2);
	assert_int_equal(i2c_req_parse(&r, &c.e, true), 0);
	assert_true(r.valid);
	assert_true(r.read);
	assert_int_equal(r.len, 5);
	memcpy(r.buf, "abcde", 5);
	r.status = VIRTIO_I2C_MSG_OK;
	assert_int_equal(i2c_req_finish(&r), 6);
	assert_memory_equal(c.mem + 128, "abcde\0", 6);

	/* A failed read leaves the buffer alone and reports ERR. */
	chain_make(&c, 0x20 << 1, VIRTIO_I2C_FLAGS_M_RD, 0, 3, 8);
	assert_int_equal(i2c_req_parse(&r, &c.e, true), 0);
	r.status = VIRTIO_I2C_MSG_ERR;
	assert_int_equal(i2c_req_finish(&r), 3);
	assert_memory_equal(c.mem + 128, "\x77\x77\x01", 3);

	/* Zero-length requests: only with the feature. */
	chain_make(&c, 0x20 << 1, 0, 0, 1, 8);
	assert_int_equal(i2c_req_parse(&r, &c.e, true), 0);
	assert_true(r.valid);
	assert_int_equal(r.len, 0);
	i2c_req_finish(&r);
	assert_int_equal(i2c_req_parse(&r, &c.e, false), 0);
	assert_false(r.valid);
	i2c_req_finish(&r);
}

static void test_parse_malformed(void **state)
{
	struct chain c;
	struct i2c_req r;

	(void)state;
	/* Short header: no flags known, not part of a group. */
	chain_make(&c, 0x20 << 1, VIRTIO_I2C_FLAGS_FAIL_NEXT, 0, 1, 8);
	c.e.rd_len = 7;
	c.rd[0].iov_len = 7;
	assert_int_equal(i2c_req_parse(&r, &c.e, true), 0);
	assert_false(r.valid);
	assert_false(r.fail_next);
	assert_int_equal(i2c_req_finish(&r), 1);
	assert_int_equal(c.mem[128], VIRTIO_I2C_MSG_ERR);

	/* Each of these is refused, but keeps its FAIL_NEXT. */
	struct { uint16_t addr; uint32_t flags, wlen, wr; } bad[] = {
		{ 0x20 << 1 | 1, 1, 0, 1 },             /* odd address */
		{ 0x100 << 1, 1, 0, 1 },                /* 10-bit address */
		{ 0x20 << 1, 1 | 4, 0, 1 },             /* reserved flag */
		{ 0x20 << 1, 1 | VIRTIO_I2C_FLAGS_M_RD, 2, 3 },  /* read with write data */
		{ 0x20 << 1, 1, 2, 3 },                 /* write with read room */
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		chain_make(&c, bad[i].addr, bad[i].flags, bad[i].wlen, bad[i].wr, 64);
		assert_int_equal(i2c_req_parse(&r, &c.e, true), 0);
		if (r.valid)
			fail_msg("case %u accepted", i);
		assert_true(r.fail_next);
		i2c_req_finish(&r);
	}
	/* No writable byte at all: nowhere to put a status. */
	chain_make(&c, 0x20 << 1, 0, 1, 0, 64);
	assert_int_equal(i2c_req_parse(&r, &c.e, true), 0);
	assert_false(r.valid);
	assert_int_equal(i2c_req_finish(&r), 0);
	/* Longer than i2c-dev takes. */
	chain_make(&c, 0x20 << 1, VIRTIO_I2C_FLAGS_M_RD, 0, 1, 64);
	c.e.wr_len = I2C_MAX_MSG_LEN + 2;
	assert_int_equal(i2c_req_parse(&r, &c.e, true), 0);
	assert_false(r.valid);
}

/* ---- transactions ----------------------------------------------------- */

/* Two unrelated requests: one to a device that NAKs, one to a working
 * device: each its own transaction and status (the Rust backend fails
 * both). */
static void test_separate_transactions(void **state)
{
	struct rig *g = rig_new(I2C_FUNC_I2C | I2C_FUNC_SMBUS_EMUL);
	struct i2c_req a = req(0, 0x20, false, 2, false), b = req(1, 0x50, true, 4, false);

	(void)state;
	g->f1.nak[0x20] = true;
	assert_int_equal(i2c_exec_group(&g->m, &a, 1), -ENXIO);
	assert_int_equal(i2c_exec_group(&g->m, &b, 1), 0);
	assert_int_equal(a.status, VIRTIO_I2C_MSG_ERR);
	assert_int_equal(b.status, VIRTIO_I2C_MSG_OK);
	assert_int_equal(g->f1.rdwr_calls, 1);
	assert_int_equal(g->f2.rdwr_calls, 1);
	assert_int_equal(g->f2.last_n, 1);
	assert_int_equal(g->f2.last_msgs[0].addr, 0x50);
	assert_int_equal(g->f2.last_msgs[0].flags, I2C_M_RD);
	assert_int_equal(g->f2.last_msgs[0].len, 4);
	assert_memory_equal(bufs[1], "\xb0\xb0\xb0\xb0", 4);
	rig_free(g);
}

/* A FAIL_NEXT group is one I2C_RDWR with all its messages, in order. */
static void test_group_one_rdwr(void **state)
{
	struct rig *g = rig_new(I2C_FUNC_I2C);
	struct i2c_req r[3] = {
		req(0, 0x20, false, 1, true), req(1, 0x21, false, 3, true), req(2, 0x20, true, 2, false),
	};

	(void)state;
	assert_int_equal(i2c_exec_group(&g->m, r, 3), 0);
	assert_int_equal(g->f1.rdwr_calls, 1);
	assert_int_equal(g->f1.smbus_calls, 0);
	assert_int_equal(g->f1.last_n, 3);
	assert_int_equal(g->f1.last_msgs[1].addr, 0x21);
	assert_int_equal(g->f1.last_msgs[1].len, 3);
	assert_ptr_equal(g->f1.last_msgs[1].buf, bufs[1]);
	assert_int_equal(g->f1.last_msgs[2].flags, I2C_M_RD);
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(r[i].status, VIRTIO_I2C_MSG_OK);
	/* One NAK fails the whole group. */
	g->f1.nak[0x21] = true;
	assert_int_equal(i2c_exec_group(&g->m, r, 3), -ENXIO);
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(r[i].status, VIRTIO_I2C_MSG_ERR);
	rig_free(g);
}

/* Only configured addresses are reached; a group may not span adapters;
 * a malformed member fails its group without any transfer. */
static void test_group_refused(void **state)
{
	struct rig *g = rig_new(I2C_FUNC_I2C);
	struct i2c_req a = req(0, 0x22, false, 1, false);
	struct i2c_req span[2] = { req(0, 0x20, false, 1, true), req(1, 0x50, true, 1, false) };
	struct i2c_req bad[2] = { req(0, 0x20, false, 1, true), req(1, 0x20, true, 1, false) };

	(void)state;
	assert_int_equal(i2c_exec_group(&g->m, &a, 1), -ENXIO);
	assert_int_equal(a.status, VIRTIO_I2C_MSG_ERR);
	assert_int_equal(i2c_exec_group(&g->m, span, 2), -ENXIO);
	assert_int_equal(span[0].status, VIRTIO_I2C_MSG_ERR);
	assert_int_equal(span[1].status, VIRTIO_I2C_MSG_ERR);
	bad[1].valid = false;
	assert_int_equal(i2c_exec_group(&g->m, bad, 2), -ENXIO);
	assert_int_equal(bad[0].status, VIRTIO_I2C_MSG_ERR);
	assert_int_equal(g->f1.rdwr_calls + g->f2.rdwr_calls, 0);
	rig_free(g);
}

/* A lone zero-length message is SMBus QUICK, also on an I2C adapter. */
static void test_zero_length_quick(void **state)
{
	struct rig *g = rig_new(I2C_FUNC_I2C | I2C_FUNC_SMBUS_QUICK);
	struct i2c_req w = req(0, 0x20, false, 0, false), r = req(1, 0x21, true, 0, false);

	(void)state;
	assert_int_equal(i2c_exec_group(&g->m, &w, 1), 0);
	assert_int_equal(g->f1.last_op.size, I2C_SMBUS_QUICK);
	assert_int_equal(g->f1.last_op.read_write, I2C_SMBUS_WRITE);
	assert_int_equal(i2c_exec_group(&g->m, &r, 1), 0);
	assert_int_equal(g->f1.last_op.read_write, I2C_SMBUS_READ);
	assert_int_equal(g->f1.last_op.addr, 0x21);
	assert_int_equal(g->f1.smbus_calls, 2);
	assert_int_equal(g->f1.rdwr_calls, 0);
	g->f1.nak[0x20] = true;
	assert_int_equal(i2c_exec_group(&g->m, &w, 1), -ENXIO);
	assert_int_equal(w.status, VIRTIO_I2C_MSG_ERR);
	rig_free(g);
}

/* SMBus mapping: each shape, the bytes it carries, and what an adapter
 * without the function answers. */
static void test_smbus_map(void **state)
{
	unsigned long all = I2C_FUNC_SMBUS_EMUL_ALL;
	struct i2c_smbus_op op;
	struct i2c_req r[2];

	(void)state;
	r[0] = req(0, 0x20, true, 1, false);
	assert_int_equal(i2c_smbus_map(r, 1, all, &op), 0);
	assert_int_equal(op.size, I2C_SMBUS_BYTE);
	assert_int_equal(op.read_write, I2C_SMBUS_READ);
	assert_int_equal(i2c_smbus_map(r, 1, all & ~I2C_FUNC_SMBUS_READ_BYTE, &op), -EOPNOTSUPP);

	r[0] = req(0, 0x20, false, 1, false);
	bufs[0][0] = 0x42;
	assert_int_equal(i2c_smbus_map(r, 1, all, &op), 0);
	assert_int_equal(op.size, I2C_SMBUS_BYTE);
	assert_int_equal(op.command, 0x42);

	r[0] = req(0, 0x20, false, 2, false);
	memcpy(bufs[0], "\x10\x99", 2);
	assert_int_equal(i2c_smbus_map(r, 1, all, &op), 0);
	assert_int_equal(op.size, I2C_SMBUS_BYTE_DATA);
	assert_int_equal(op.command, 0x10);
	assert_int_equal(op.data.byte, 0x99);
	/* Without byte data: the same two bytes as an I2C block write. */
	assert_int_equal(i2c_smbus_map(r, 1, all & ~I2C_FUNC_SMBUS_WRITE_BYTE_DATA, &op), 0);
	assert_int_equal(op.size, I2C_SMBUS_I2C_BLOCK_DATA);
	assert_int_equal(op.data.block[0], 1);
	assert_int_equal(op.data.block[1], 0x99);

	r[0] = req(0, 0x20, false, 3, false);
	memcpy(bufs[0], "\x10\x34\x12", 3);
	assert_int_equal(i2c_smbus_map(r, 1, all, &op), 0);
	assert_int_equal(op.size, I2C_SMBUS_WORD_DATA);
	assert_int_equal(op.data.word, 0x1234);

	/* 10 bytes: I2C block write of 9 after the command. */
	r[0] = req(0, 0x20, false, 10, false);
	assert_int_equal(i2c_smbus_map(r, 1, all, &op), 0);
	assert_int_equal(op.size, I2C_SMBUS_I2C_BLOCK_DATA);
	assert_int_equal(op.data.block[0], 9);
	assert_memory_equal(op.data.block + 1, bufs[0] + 1, 9);
	/* Without I2C block: an SMBus block write when byte 1 is the count. */
	bufs[0][1] = 8;
	assert_int_equal(i2c_smbus_map(r, 1, I2C_FUNC_SMBUS_WRITE_BLOCK_DATA, &op), 0);
	assert_int_equal(op.size, I2C_SMBUS_BLOCK_DATA);
	assert_int_equal(op.data.block[0], 8);
	assert_memory_equal(op.data.block + 1, bufs[0] + 2, 8);
	bufs[0][1] = 7;
	assert_int_equal(i2c_smbus_map(r, 1, I2C_FUNC_SMBUS_WRITE_BLOCK_DATA, &op), -EOPNOTSUPP);
	/* 34 bytes: more than any SMBus block. */
	r[0] = req(0, 0x20, false, 34, false);
	assert_int_equal(i2c_smbus_map(r, 1, all, &op), -EOPNOTSUPP);
	/* A read of more than one byte without a command. */
	r[0] = req(0, 0x20, true, 2, false);
	assert_int_equal(i2c_smbus_map(r, 1, all, &op), -EOPNOTSUPP);

	/* Register reads: command write + read of 1, 2, 5 bytes. */
	r[0] = req(0, 0x20, false, 1, true);
	bufs[0][0] = 0x07;
	r[1] = req(1, 0x20, true, 1, false);
	assert_int_equal(i2c_smbus_map(r, 2, all, &op), 0);
	assert_int_equal(op.size, I2C_SMBUS_BYTE_DATA);
	assert_int_equal(op.command, 0x07);
	assert_int_equal(op.read_write, I2C_SMBUS_READ);
	r[1].len = 2;
	assert_int_equal(i2c_smbus_map(r, 2, all, &op), 0);
	assert_int_equal(op.size, I2C_SMBUS_WORD_DATA);
	r[1].len = 5;
	assert_int_equal(i2c_smbus_map(r, 2, all, &op), 0);
	assert_int_equal(op.size, I2C_SMBUS_I2C_BLOCK_DATA);
	assert_int_equal(op.data.block[0], 5);
	/* A count and a full block (33 bytes): more than an I2C block read
	 * carries, so an SMBus block read; none at all without one. */
	r[1].len = 33;
	assert_int_equal(i2c_smbus_map(r, 2, all, &op), 0);
	assert_int_equal(op.size, I2C_SMBUS_BLOCK_DATA);
	assert_int_equal(op.read_write, I2C_SMBUS_READ);
	assert_int_equal(i2c_smbus_map(r, 2, all & ~I2C_FUNC_SMBUS_READ_BLOCK_DATA, &op),
			 -EOPNOTSUPP);
	/* Shorter reads too, where the adapter has no I2C block read. */
	r[1].len = 5;
	assert_int_equal(i2c_smbus_map(r, 2, all & ~I2C_FUNC_SMBUS_READ_I2C_BLOCK, &op), 0);
	assert_int_equal(op.size, I2C_SMBUS_BLOCK_DATA);
	r[1].len = 34;
	assert_int_equal(i2c_smbus_map(r, 2, all, &op), -EOPNOTSUPP);
	/* To another address, or three messages: not one SMBus operation. */
	r[1] = req(1, 0x21, true, 1, false);
	assert_int_equal(i2c_smbus_map(r, 2, all, &op), -EOPNOTSUPP);
	struct i2c_req three[3] = { req(0, 0x20, false, 1, true), req(1, 0x20, false, 1, true),
				    req(2, 0x20, true, 1, false) };
	assert_int_equal(i2c_smbus_map(three, 3, all, &op), -EOPNOTSUPP);
}

/* On an SMBus-only adapter the results land in the read request, and what
 * cannot be mapped fails only its own transaction. */
static void test_smbus_exec(void **state)
{
	struct rig *g = rig_new(I2C_FUNC_SMBUS_EMUL);
	struct i2c_req w[2] = { req(0, 0x20, false, 1, true), req(1, 0x20, true, 2, false) };
	struct i2c_req blk[2] = { req(2, 0x21, false, 1, true), req(3, 0x21, true, 4, false) };
	struct i2c_req odd = req(4, 0x21, true, 3, false);

	(void)state;
	assert_int_equal(i2c_exec_group(&g->m, w, 2), 0);
	assert_int_equal(g->f1.last_op.size, I2C_SMBUS_WORD_DATA);
	assert_memory_equal(bufs[1], "\xef\xbe", 2);
	assert_int_equal(w[1].status, VIRTIO_I2C_MSG_OK);
	assert_int_equal(i2c_exec_group(&g->m, blk, 2), 0);
	assert_int_equal(g->f1.last_op.size, I2C_SMBUS_I2C_BLOCK_DATA);
	assert_memory_equal(bufs[3], "\x41\x42\x43\x44", 4);
	assert_int_equal(i2c_exec_group(&g->m, &odd, 1), -EOPNOTSUPP);
	assert_int_equal(odd.status, VIRTIO_I2C_MSG_ERR);
	assert_int_equal(g->f1.smbus_calls, 2);
	assert_int_equal(g->f1.rdwr_calls, 0);
	rig_free(g);
}

/* SMBus block read on an adapter that has it and no I2C block read: the
 * guest reads the count, then the block; a read longer than the block
 * gets 0xff past its end, a shorter one its beginning. */
static void test_smbus_block_read(void **state)
{
	struct rig *g = rig_new(I2C_FUNC_SMBUS_READ_BLOCK_DATA);
	struct i2c_req lng[2] = { req(0, 0x20, false, 1, true), req(1, 0x20, true, 6, false) };
	struct i2c_req shrt[2] = { req(2, 0x20, false, 1, true), req(3, 0x20, true, 2, false) };
	struct i2c_req full[2] = { req(4, 0x21, false, 1, true), req(5, 0x21, true, 33, false) };
	uint8_t want[33];

	(void)state;
	bufs[0][0] = 0x30;
	assert_int_equal(i2c_exec_group(&g->m, lng, 2), 0);
	assert_int_equal(g->f1.last_op.size, I2C_SMBUS_BLOCK_DATA);
	assert_int_equal(g->f1.last_op.read_write, I2C_SMBUS_READ);
	assert_int_equal(g->f1.last_op.command, 0x30);
	assert_memory_equal(bufs[1], "\x03\x41\x42\x43\xff\xff", 6);
	assert_int_equal(lng[1].status, VIRTIO_I2C_MSG_OK);
	assert_int_equal(i2c_exec_group(&g->m, shrt, 2), 0);
	assert_memory_equal(bufs[3], "\x03\x41", 2);
	assert_int_equal(bufs[3][2], 0x44);  /* untouched past the read */
	/* A count over the SMBus maximum (a broken adapter driver) is
	 * clamped: never read past the block. */
	g->f1.block_count = 200;
	assert_int_equal(i2c_exec_group(&g->m, full, 2), 0);
	want[0] = I2C_SMBUS_BLOCK_MAX;
	for (unsigned i = 1; i < sizeof(want); i++)
		want[i] = (uint8_t)(0x40 + i);
	assert_memory_equal(bufs[5], want, sizeof(want));
	rig_free(g);
}

/* ---- the simulated EEPROM ------------------------------------------- */

static void test_sim_eeprom(void **state)
{
	struct i2c_adapter *a = i2c_sim_new(false), *s = i2c_sim_new(true);
	uint8_t w[5] = { 0xfe, 1, 2, 3, 4 }, ptr = 0xfe, rd[4];
	struct i2c_msg wr = { 0x50, 0, 5, w };
	struct i2c_msg rr[2] = { { 0x50, 0, 1, &ptr }, { 0x50, I2C_M_RD, 4, rd } };
	union i2c_smbus_data d;

	(void)state;
	a->client[0x50] = s->client[0x50] = true;
	/* Write 4 bytes at 0xfe: wraps to 0x00. Read back from 0xfe. */
	assert_int_equal(a->ops->rdwr(a, &wr, 1), 0);
	assert_int_equal(a->ops->rdwr(a, rr, 2), 0);
	assert_memory_equal(rd, "\x01\x02\x03\x04", 4);
	/* Reads continue from the pointer: 0x02 was never written. */
	assert_int_equal(a->ops->rdwr(a, &rr[1], 1), 0);
	assert_memory_equal(rd, "\xff\xff\xff\xff", 4);
	/* An absent device NAKs. */
	rr[0].addr = 0x51;
	assert_int_equal(a->ops->rdwr(a, rr, 2), -ENXIO);

	assert_false(s->funcs & I2C_FUNC_I2C);
	d.byte = 0x5a;
	assert_int_equal(s->ops->smbus(s, 0x50, I2C_SMBUS_WRITE, 0x10, I2C_SMBUS_BYTE_DATA, &d), 0);
	d.word = 0;
	assert_int_equal(s->ops->smbus(s, 0x50, I2C_SMBUS_READ, 0x10, I2C_SMBUS_WORD_DATA, &d), 0);
	assert_int_equal(d.word, 0xff5a);
	memcpy(d.block, "\x03xyz", 4);
	assert_int_equal(s->ops->smbus(s, 0x50, I2C_SMBUS_WRITE, 0x20, I2C_SMBUS_I2C_BLOCK_DATA, &d), 0);
	d.block[0] = 3;
	assert_int_equal(s->ops->smbus(s, 0x50, I2C_SMBUS_READ, 0x20, I2C_SMBUS_I2C_BLOCK_DATA, &d), 0);
	assert_memory_equal(d.block + 1, "xyz", 3);
	assert_int_equal(s->ops->smbus(s, 0x50, I2C_SMBUS_READ, 0x20, I2C_SMBUS_BYTE, &d), 0);
	assert_int_equal(d.byte, 0xff);      /* the pointer had moved to 0x23 */
	assert_int_equal(s->ops->smbus(s, 0x50, I2C_SMBUS_WRITE, 0, I2C_SMBUS_QUICK, &d), 0);
	assert_int_equal(s->ops->smbus(s, 0x52, I2C_SMBUS_WRITE, 0, I2C_SMBUS_QUICK, &d), -ENXIO);
	i2c_adapter_close(a);
	i2c_adapter_close(s);
}

/* ---- the i2c-dev kind through a fake kernel ---------------------------- */

#define KFD 33

static struct {
	unsigned long funcs;
	unsigned nioctl;
	unsigned long req[8];
	unsigned long slave;
	struct i2c_msg msgs[4];
	uint8_t bytes[4][8];
	unsigned nmsgs;
	struct i2c_smbus_ioctl_data smbus;
	union i2c_smbus_data smbus_data;
	char opened[64];
	bool closed;
} kf;

static int kf_open(const char *path, int flags)
{
	(void)flags;
	if (strcmp(path, "/dev/i2c-3")) {
		errno = ENOENT;
		return -1;
	}
	snprintf(kf.opened, sizeof(kf.opened), "%s", path);
	return KFD;
}

static int kf_close(int fd)
{
	assert_int_equal(fd, KFD);
	kf.closed = true;
	return 0;
}

static int kf_ioctl(int fd, unsigned long req, void *arg)
{
	assert_int_equal(fd, KFD);
	if (kf.nioctl < 8)
		kf.req[kf.nioctl++] = req;
	switch (req) {
	case I2C_FUNCS:
		*(unsigned long *)arg = kf.funcs;
		return 0;
	case I2C_SLAVE:
		kf.slave = (unsigned long)(uintptr_t)arg;
		return 0;
	case I2C_RDWR: {
		struct i2c_rdwr_ioctl_data *d = arg;

		kf.nmsgs = d->nmsgs;
		for (unsigned i = 0; i < d->nmsgs && i < 4; i++) {
			kf.msgs[i] = d->msgs[i];
			if (d->msgs[i].flags & I2C_M_RD)
				memset(d->msgs[i].buf, 0x60 + i, d->msgs[i].len);
			else
				memcpy(kf.bytes[i], d->msgs[i].buf, d->msgs[i].len < 8 ? d->msgs[i].len : 8);
		}
		return (int)d->nmsgs;
	}
	case I2C_SMBUS: {
		struct i2c_smbus_ioctl_data *d = arg;

		kf.smbus = *d;
		kf.smbus_data = *d->data;
		if (d->read_write == I2C_SMBUS_READ)
			d->data->word = 0xc0de;
		return 0;
	}
	}
	errno = ENOTTY;
	return -1;
}

static const struct i2c_sys_ops kf_sys = { kf_open, kf_ioctl, kf_close };

static void mkfile(const char *dir, const char *sub, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/bus/i2c/devices/%s", dir, sub);
	assert_int_equal(mkdir(path, 0755), 0);
	strcat(path, "/name");
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* Adapter names resolved through a sysfs tree of our own; the adapter is
 * opened and asked I2C_FUNCS; a group is one I2C_RDWR with its messages. */
static void test_dev_adapter_i2c(void **state)
{
	char root[] = "/tmp/vhd-i2c-sysfs.XXXXXX", p[256], err[256];
	struct i2c_adapter_spec spec = { .naddrs = 1, .addrs = { 0x50 } };
	struct i2c_adapter *a = NULL;
	struct i2c_map m;

	(void)state;
	memset(&kf, 0, sizeof(kf));
	kf.funcs = I2C_FUNC_I2C | I2C_FUNC_SMBUS_EMUL;
	assert_non_null(mkdtemp(root));
	snprintf(p, sizeof(p), "%s/bus", root);
	assert_int_equal(mkdir(p, 0755), 0);
	strcat(p, "/i2c");
	assert_int_equal(mkdir(p, 0755), 0);
	strcat(p, "/devices");
	assert_int_equal(mkdir(p, 0755), 0);
	mkfile(root, "i2c-3", "fake adapter\n");
	mkfile(root, "i2c-4", "twin\n");
	mkfile(root, "i2c-5", "twin\n");
	mkfile(root, "3-0050", "eeprom\n");         /* a client, not an adapter */

	snprintf(spec.bus, sizeof(spec.bus), "twin");
	assert_int_equal(i2c_adapter_open(&spec, root, &kf_sys, &a, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "matches 2 adapters"));
	snprintf(spec.bus, sizeof(spec.bus), "eeprom");
	assert_int_equal(i2c_adapter_open(&spec, root, &kf_sys, &a, err, sizeof(err)), -ENOENT);
	snprintf(spec.bus, sizeof(spec.bus), "fake adapter");
	assert_int_equal(i2c_adapter_open(&spec, root, &kf_sys, &a, err, sizeof(err)), 0);
	assert_string_equal(kf.opened, "/dev/i2c-3");
	assert_int_equal(kf.req[0], I2C_FUNCS);
	assert_string_equal(a->name, "/dev/i2c-3");
	assert_true(a->client[0x50]);

	memset(&m, 0, sizeof(m));
	assert_int_equal(i2c_map_add(&m, a), 0);
	struct i2c_req r[2] = { req(0, 0x50, false, 2, true), req(1, 0x50, true, 3, false) };
	memcpy(bufs[0], "\x10\x20", 2);
	assert_int_equal(i2c_exec_group(&m, r, 2), 0);
	assert_int_equal(kf.nioctl, 2);
	assert_int_equal(kf.req[1], I2C_RDWR);
	assert_int_equal(kf.nmsgs, 2);
	assert_int_equal(kf.msgs[0].addr, 0x50);
	assert_int_equal(kf.msgs[0].flags, 0);
	assert_int_equal(kf.msgs[0].len, 2);
	assert_memory_equal(kf.bytes[0], "\x10\x20", 2);
	assert_int_equal(kf.msgs[1].flags, I2C_M_RD);
	assert_int_equal(kf.msgs[1].len, 3);
	assert_memory_equal(bufs[1], "\x61\x61\x61", 3);
	i2c_map_close(&m);
	assert_true(kf.closed);

	/* The same bus by number and by name: refused. */
	struct i2c_adapter_spec two[2] = { { .bus = "3", .naddrs = 1, .addrs = { 0x50 } },
					  { .bus = "fake adapter", .naddrs = 1, .addrs = { 0x51 } } };
	assert_true(i2c_map_open(&m, two, 2, root, &kf_sys, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "given twice"));
	/* An adapter that can do neither. */
	kf.funcs = I2C_FUNC_10BIT_ADDR;
	assert_int_equal(i2c_adapter_open(&two[0], root, &kf_sys, &a, err, sizeof(err)), -EOPNOTSUPP);
	snprintf(p, sizeof(p), "rm -rf '%s'", root);
	assert_int_equal(system(p), 0);
}

/* An SMBus-only adapter: I2C_SLAVE with the address, then I2C_SMBUS with
 * the mapped operation; a read's result lands in the read request. */
static void test_dev_adapter_smbus(void **state)
{
	struct i2c_adapter_spec spec = { .bus = "3", .naddrs = 1, .addrs = { 0x20 } };
	struct i2c_adapter *a = NULL;
	struct i2c_map m;
	char err[256];

	(void)state;
	memset(&kf, 0, sizeof(kf));
	kf.funcs = I2C_FUNC_SMBUS_BYTE_DATA | I2C_FUNC_SMBUS_WORD_DATA;
	assert_int_equal(i2c_adapter_open(&spec, "/nonexistent", &kf_sys, &a, err, sizeof(err)), 0);
	memset(&m, 0, sizeof(m));
	assert_int_equal(i2c_map_add(&m, a), 0);
	struct i2c_req w = req(0, 0x20, false, 2, false);
	memcpy(bufs[0], "\x07\x99", 2);
	assert_int_equal(i2c_exec_group(&m, &w, 1), 0);
	assert_int_equal(kf.req[1], I2C_SLAVE);
	assert_int_equal(kf.slave, 0x20);
	assert_int_equal(kf.req[2], I2C_SMBUS);
	assert_int_equal(kf.smbus.read_write, I2C_SMBUS_WRITE);
	assert_int_equal(kf.smbus.command, 0x07);
	assert_int_equal(kf.smbus.size, I2C_SMBUS_BYTE_DATA);
	assert_int_equal(kf.smbus_data.byte, 0x99);
	struct i2c_req rr[2] = { req(0, 0x20, false, 1, true), req(1, 0x20, true, 2, false) };
	bufs[0][0] = 0x08;
	assert_int_equal(i2c_exec_group(&m, rr, 2), 0);
	assert_int_equal(kf.smbus.read_write, I2C_SMBUS_READ);
	assert_int_equal(kf.smbus.command, 0x08);
	assert_int_equal(kf.smbus.size, I2C_SMBUS_WORD_DATA);
	assert_memory_equal(bufs[1], "\xde\xc0", 2);
	/* No I2C block on this adapter: a 3-byte read fails, no ioctl. */
	unsigned before = kf.nioctl;
	rr[1] = req(1, 0x20, true, 3, false);
	assert_int_equal(i2c_exec_group(&m, rr, 2), -EOPNOTSUPP);
	assert_int_equal(kf.nioctl, before);
	i2c_map_close(&m);
}

/* FAIL_NEXT grouping (i2c_group_add): members wait for the group's end;
 * a group longer than I2C_MAX_MSGS fails as a whole up to its real end,
 * and the next group is judged on its own. */
static void test_group_add(void **state)
{
	static struct i2c_group g;
	bool overlong;

	(void)state;
	memset(&g, 0, sizeof(g));
	/* A group of three: two linked members, then the last. */
	for (unsigned i = 0; i < 3; i++) {
		struct i2c_req *r = i2c_group_slot(&g);

		*r = (struct i2c_req){ .valid = true, .fail_next = i < 2 };
		assert_int_equal(i2c_group_add(&g, &overlong), i == 2);
		assert_false(overlong);
	}
	assert_int_equal(g.n, 3);
	for (unsigned i = 0; i < 3; i++)
		assert_true(g.req[i].valid);
	g.n = 0;

	/* I2C_MAX_MSGS linked members: the last slot ends it, all fail. */
	for (unsigned i = 0; i < I2C_MAX_MSGS; i++) {
		*i2c_group_slot(&g) = (struct i2c_req){ .valid = true, .fail_next = true };
		assert_int_equal(i2c_group_add(&g, &overlong), i == I2C_MAX_MSGS - 1);
	}
	assert_true(overlong);
	for (unsigned i = 0; i < I2C_MAX_MSGS; i++)
		assert_false(g.req[i].valid);
	g.n = 0;
	/* The rest of that group (one more linked, then its end) fails too,
	 * without a second overlong report. */
	*i2c_group_slot(&g) = (struct i2c_req){ .valid = true, .fail_next = true };
	assert_false(i2c_group_add(&g, &overlong));
	*i2c_group_slot(&g) = (struct i2c_req){ .valid = true };
	assert_true(i2c_group_add(&g, &overlong));
	assert_false(overlong);
	assert_false(g.req[0].valid);
	assert_false(g.req[1].valid);
	g.n = 0;
	/* The next group is whole again. */
	*i2c_group_slot(&g) = (struct i2c_req){ .valid = true };
	assert_true(i2c_group_add(&g, &overlong));
	assert_true(g.req[0].valid);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_list),
		cmocka_unit_test(test_map_open_sim),
		cmocka_unit_test(test_parse_request),
		cmocka_unit_test(test_parse_malformed),
		cmocka_unit_test(test_separate_transactions),
		cmocka_unit_test(test_group_one_rdwr),
		cmocka_unit_test(test_group_refused),
		cmocka_unit_test(test_group_add),
		cmocka_unit_test(test_zero_length_quick),
		cmocka_unit_test(test_smbus_map),
		cmocka_unit_test(test_smbus_block_read),
		cmocka_unit_test(test_smbus_exec),
		cmocka_unit_test(test_sim_eeprom),
		cmocka_unit_test(test_dev_adapter_i2c),
		cmocka_unit_test(test_dev_adapter_smbus),
	};

	return cmocka_run_group_tests_name("unit: vhost-device-i2c", tests, NULL, NULL);
}
