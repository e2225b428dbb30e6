/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * The host side of vhost-device-i2c: an I2C adapter the guest's requests
 * are carried out on.  Two kinds stand behind one small interface:
 *  - a Linux i2c-dev adapter (/dev/i2c-N): I2C_FUNCS at open, I2C_RDWR
 *    for plain I2C transfers, I2C_SLAVE + I2C_SMBUS for SMBus operations;
 *  - the simulated adapter ("sim", "sim-smbus" on the command line): a
 *    256-byte EEPROM at each configured address (i2c-sim.c).
 * Tests add a third: a fake that records every call (tests/unit).
 *
 * Promises:
 *  - rdwr() runs all messages as one transaction (one STOP at the end,
 *    as I2C_RDWR does) and returns 0 or -errno; it is only called when
 *    funcs has I2C_FUNC_I2C.
 *  - smbus() runs one SMBus operation (the I2C_SMBUS ioctl's arguments)
 *    and returns 0 or -errno; it is only called for an operation whose
 *    I2C_FUNC_SMBUS_* bit is in funcs.
 *  - One adapter may be shared by the workers of several sockets: each
 *    call holds the adapter's lock (I2C_SLAVE then I2C_SMBUS must not be
 *    interleaved with another thread's pair).
 */
#ifndef VHD_I2C_ADAPTER_H
#define VHD_I2C_ADAPTER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/i2c.h>

#define I2C_ADDR_MIN 0x03   /* 0x00-0x02 and 0x78-0x7f are reserved */
#define I2C_ADDR_MAX 0x77
/* What one I2C_RDWR may carry (linux/i2c-dev.h) and one message's limit
 * in drivers/i2c/i2c-dev.c. */
#define I2C_MAX_MSGS 42
#define I2C_MAX_MSG_LEN 8192

struct i2c_adapter;

struct i2c_adapter_ops {
	int (*rdwr)(struct i2c_adapter *a, struct i2c_msg *msgs, unsigned n);
	int (*smbus)(struct i2c_adapter *a, uint16_t addr, uint8_t read_write,
		     uint8_t command, uint32_t size, union i2c_smbus_data *data);
	void (*close)(struct i2c_adapter *a);
};

struct i2c_adapter {
	const struct i2c_adapter_ops *ops;
	unsigned long funcs;          /* I2C_FUNC_* */
	char name[64];                /* for logs: "/dev/i2c-3", "sim" */
	bool client[128];             /* configured 7-bit addresses */
	pthread_mutex_t lock;
	void *priv;                   /* the kind's state */
};

/* The system calls of the i2c-dev kind: the real ones (i2c_sys_real), or
 * a test's fake that stands in for the kernel. */
struct i2c_sys_ops {
	int (*open)(const char *path, int flags);
	int (*ioctl)(int fd, unsigned long req, void *arg);
	int (*close)(int fd);
};
extern const struct i2c_sys_ops i2c_sys_real;

/* The spec a -l entry gives: bus (number, adapter name or sim name) and
 * its addresses. */
struct i2c_adapter_spec {
	char bus[64];
	unsigned naddrs;
	uint8_t addrs[128];
};

/* Open the adapter a spec names: "sim" (full I2C), "sim-smbus" (SMBus
 * operations only), a bus number (/dev/i2c-N) or an adapter name looked up
 * in sysfs_root/bus/i2c/devices/i2c-N/name (sysfs_root "/sys"), through
 * sys (&i2c_sys_real).  Marks the spec's addresses as clients.  0, or
 * -errno with err filled. */
int i2c_adapter_open(const struct i2c_adapter_spec *spec, const char *sysfs_root,
		     const struct i2c_sys_ops *sys, struct i2c_adapter **out,
		     char *err, size_t errlen);
void i2c_adapter_close(struct i2c_adapter *a);

/* Initialise the common fields (for the kinds, and for test fakes). */
void i2c_adapter_init(struct i2c_adapter *a, const struct i2c_adapter_ops *ops,
		      unsigned long funcs, const char *name);

/* The simulated adapter (i2c-sim.c); smbus_only leaves out I2C_FUNC_I2C. */
struct i2c_adapter *i2c_sim_new(bool smbus_only);

#endif
