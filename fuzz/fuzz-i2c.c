/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Fuzz target: virtio-i2c requests (virtio 1.2+, 5.19 "I2C Adapter
 * Device") through the device's real parser and transaction code
 * (i2c-xfer.c) against its simulated adapters (i2c-sim.c): a full I2C bus
 * with devices at 0x50 and 0x51, and an SMBus-only one with a device at
 * 0x20, so every shape a guest can send meets the I2C_RDWR path and the
 * SMBus mapping.  The input is a sequence of request chains (fuzz-elem.h)
 * preceded by a flag byte (bit 0: ZERO_LENGTH_REQUEST negotiated);
 * requests are grouped by their FAIL_NEXT flag by the device's own
 * grouping (i2c_group_add), each group carried out, then each request
 * finished (status and read data written into its writable pieces).
 */
#include "config.h"
#include "fuzz/fuzz.h"
#include "fuzz/fuzz-elem.h"

#include "log.h"
#include "devices/i2c/i2c-map.h"
#include "devices/i2c/i2c-xfer.h"

static struct i2c_map *map_get(void)
{
	static struct i2c_map m;
	static bool made;

	if (!made) {
		struct i2c_adapter *full = i2c_sim_new(false), *smbus = i2c_sim_new(true);

		if (!full || !smbus)
			abort();
		full->client[0x50] = full->client[0x51] = true;
		smbus->client[0x20] = true;
		if (i2c_map_add(&m, full) != 0 || i2c_map_add(&m, smbus) != 0)
			abort();
		made = true;
	}
	return &m;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	static struct fuzz_elem elems[I2C_MAX_MSGS];
	static struct i2c_group g;
	struct i2c_map *m = map_get();
	bool zero_ok, overlong;

	vhd_log_set_level(VHD_LOG_ERROR);
	memset(&g, 0, sizeof(g));
	zero_ok = fuzz_u8(&in) & 1;
	while (in.left) {
		struct fuzz_elem *fe = &elems[g.n];
		struct i2c_req *r = i2c_group_slot(&g);

		if (fuzz_elem_make(fe, &in) < 0)
			*r = (struct i2c_req){ .valid = false };  /* out of memory */
		else if (i2c_req_parse(r, &fe->e, zero_ok) < 0)
			r->valid = false;       /* it filled r all the same */
		if (!i2c_group_add(&g, &overlong))
			continue;
		i2c_exec_group(m, g.req, g.n);
		for (unsigned i = 0; i < g.n; i++) {
			uint32_t used = i2c_req_finish(&g.req[i]);

			/* The used length never exceeds what the driver
			 * offered (virtio 2.7.8). */
			if (used > elems[i].e.wr_len)
				abort();
			fuzz_elem_free(&elems[i]);
		}
		g.n = 0;
	}
	/* A group still open when the input ends is given back, as a queue
	 * stop does (i2c.c). */
	while (g.n) {
		g.n--;
		free(g.req[g.n].buf);
		fuzz_elem_free(&elems[g.n]);
	}
	return 0;
}
