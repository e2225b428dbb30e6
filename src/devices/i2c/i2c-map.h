/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * The guest's view of the host's I2C buses: -l/--device-list, as the Rust
 * vhost-device-i2c takes it, and the address -> adapter map.  The guest
 * sees one virtio-i2c adapter; each of its 7-bit addresses reaches the one
 * host adapter it was configured on, and an address that was not
 * configured reaches nothing.
 *
 * Syntax: ADAPTER[,ADAPTER...], ADAPTER = BUS:ADDR[:ADDR...], BUS = a bus
 * number (/dev/i2c-N), an adapter name (sysfs), "sim" or "sim-smbus";
 * ADDR = decimal 3..119 (0x03..0x77).  A bus given twice and an address
 * given twice (on any bus) are refused.
 */
#ifndef VHD_I2C_MAP_H
#define VHD_I2C_MAP_H

#include "i2c-adapter.h"

#define I2C_MAX_ADAPTERS 16

struct i2c_map {
	unsigned nadapters;
	struct i2c_adapter *adapters[I2C_MAX_ADAPTERS];
	struct i2c_adapter *by_addr[128];
};

/* Parse a --device-list into specs (nothing opened).  0 with *n set, or
 * -1 with err filled. */
int i2c_map_parse(const char *list, struct i2c_adapter_spec *specs, unsigned max,
		  unsigned *n, char *err, size_t errlen);
/* Open the adapters of specs (see i2c_adapter_open) and build the map.
 * 0, or -errno with err filled and nothing left open. */
int i2c_map_open(struct i2c_map *m, const struct i2c_adapter_spec *specs, unsigned n,
		 const char *sysfs_root, const struct i2c_sys_ops *sys, char *err, size_t errlen);
/* Add an adapter the caller made (tests); takes ownership.  Its clients
 * must not be in the map already.  0 or -EEXIST/-ENOSPC. */
int i2c_map_add(struct i2c_map *m, struct i2c_adapter *a);
void i2c_map_close(struct i2c_map *m);

/* The adapter a 7-bit address was configured on, or NULL. */
static inline struct i2c_adapter *i2c_map_lookup(const struct i2c_map *m, unsigned addr)
{
	return addr < 128 ? m->by_addr[addr] : NULL;
}

#endif
