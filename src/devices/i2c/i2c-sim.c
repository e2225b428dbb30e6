/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * The simulated adapter: for guests without I2C hardware on the host, and
 * for the tests.  Every configured address holds a 256-byte EEPROM in the
 * style of a 24C02: a write's first byte sets the register pointer, its
 * other bytes are stored from there on; a read returns bytes from the
 * pointer on; the pointer advances with every byte and wraps at 256.  A
 * zero-length message (SMBus QUICK) is acknowledged.  Contents start as
 * 0xff (an erased EEPROM) and live as long as the process: every socket
 * sees the same devices, as with a real adapter.
 *
 * "sim" offers plain I2C transfers (I2C_FUNC_I2C) and the SMBus operations
 * Linux emulates over them; "sim-smbus" offers only SMBus operations
 * (quick, byte, byte data, word data, block data, I2C block), like an
 * SMBus-only host controller, which makes the device map the guest's
 * transfers onto SMBus operations.  SMBus operations are turned into the
 * same bus messages Linux's i2c-core-smbus.c emulation sends.
 */
#include "config.h"
#include "vhost-device.h"
#include "i2c-adapter.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct sim_eeprom {
	uint8_t mem[256];
	uint8_t ptr;
};

struct sim_priv {
	struct sim_eeprom dev[128];
};

static int sim_rdwr(struct i2c_adapter *a, struct i2c_msg *msgs, unsigned n)
{
	struct sim_priv *p = a->priv;

	/* A device that is not there does not acknowledge its address. */
	for (unsigned i = 0; i < n; i++)
		if (msgs[i].addr >= 128 || !a->client[msgs[i].addr] || (msgs[i].flags & ~I2C_M_RD))
			return -ENXIO;
	for (unsigned i = 0; i < n; i++) {
		struct sim_eeprom *e = &p->dev[msgs[i].addr];

		if (msgs[i].flags & I2C_M_RD) {
			for (unsigned k = 0; k < msgs[i].len; k++)
				msgs[i].buf[k] = e->mem[e->ptr++];
		} else if (msgs[i].len) {
			e->ptr = msgs[i].buf[0];
			for (unsigned k = 1; k < msgs[i].len; k++)
				e->mem[e->ptr++] = msgs[i].buf[k];
		}
	}
	return 0;
}

static int sim_smbus(struct i2c_adapter *a, uint16_t addr, uint8_t rw, uint8_t cmd,
		     uint32_t size, union i2c_smbus_data *data)
{
	uint8_t wbuf[I2C_SMBUS_BLOCK_MAX + 2], rbuf[I2C_SMBUS_BLOCK_MAX];
	struct i2c_msg m[2] = {
		{ .addr = addr, .flags = 0, .len = 1, .buf = wbuf },
		{ .addr = addr, .flags = I2C_M_RD, .len = 0, .buf = rbuf },
	};
	bool rd = rw == I2C_SMBUS_READ;
	unsigned n = rd ? 2 : 1;
	int r;

	wbuf[0] = cmd;
	switch (size) {
	case I2C_SMBUS_QUICK:
		m[0].len = 0;
		m[0].flags = rd ? I2C_M_RD : 0;
		n = 1;
		break;
	case I2C_SMBUS_BYTE:
		if (rd) {
			m[0] = m[1];
			m[0].len = 1;
			n = 1;
		}
		break;
	case I2C_SMBUS_BYTE_DATA:
		if (rd)
			m[1].len = 1;
		else {
			wbuf[1] = data->byte;
			m[0].len = 2;
		}
		break;
	case I2C_SMBUS_WORD_DATA:
		if (rd)
			m[1].len = 2;
		else {
			wbuf[1] = data->word & 0xff;
			wbuf[2] = data->word >> 8;
			m[0].len = 3;
		}
		break;
	case I2C_SMBUS_BLOCK_DATA:
		/* The EEPROM has no count byte to send back: only writes. */
		if (rd || data->block[0] == 0 || data->block[0] > I2C_SMBUS_BLOCK_MAX)
			return -EINVAL;
		memcpy(wbuf + 1, data->block, data->block[0] + 1u);
		m[0].len = data->block[0] + 2u;
		break;
	case I2C_SMBUS_I2C_BLOCK_DATA:
		if (data->block[0] == 0 || data->block[0] > I2C_SMBUS_BLOCK_MAX)
			return -EINVAL;
		if (rd)
			m[1].len = data->block[0];
		else {
			memcpy(wbuf + 1, data->block + 1, data->block[0]);
			m[0].len = data->block[0] + 1u;
		}
		break;
	default:
		return -EOPNOTSUPP;
	}
	r = sim_rdwr(a, m, n);
	if (r < 0 || !rd)
		return r;
	switch (size) {
	case I2C_SMBUS_BYTE:
		data->byte = m[0].buf[0];
		break;
	case I2C_SMBUS_BYTE_DATA:
		data->byte = rbuf[0];
		break;
	case I2C_SMBUS_WORD_DATA:
		data->word = (uint16_t)(rbuf[0] | rbuf[1] << 8);
		break;
	case I2C_SMBUS_I2C_BLOCK_DATA:
		memcpy(data->block + 1, rbuf, data->block[0]);
		break;
	}
	return 0;
}

static void sim_close(struct i2c_adapter *a)
{
	free(a->priv);
}

static const struct i2c_adapter_ops sim_ops = {
	.rdwr = sim_rdwr,
	.smbus = sim_smbus,
	.close = sim_close,
};

struct i2c_adapter *i2c_sim_new(bool smbus_only)
{
	struct i2c_adapter *a = calloc(1, sizeof(*a));
	struct sim_priv *p = calloc(1, sizeof(*p));
	unsigned long funcs = I2C_FUNC_SMBUS_QUICK | I2C_FUNC_SMBUS_BYTE |
			      I2C_FUNC_SMBUS_BYTE_DATA | I2C_FUNC_SMBUS_WORD_DATA |
			      I2C_FUNC_SMBUS_WRITE_BLOCK_DATA | I2C_FUNC_SMBUS_I2C_BLOCK;

	if (!a || !p) {
		free(a);
		free(p);
		return NULL;
	}
	for (unsigned i = 0; i < 128; i++)
		memset(p->dev[i].mem, 0xff, sizeof(p->dev[i].mem));
	i2c_adapter_init(a, &sim_ops, smbus_only ? funcs : funcs | I2C_FUNC_I2C,
			 smbus_only ? "sim-smbus" : "sim");
	a->priv = p;
	return a;
}
