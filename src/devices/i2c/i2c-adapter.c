/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Host adapters: the Linux i2c-dev kind (/dev/i2c-N, see
 * Documentation/i2c/dev-interface.rst of Linux) and opening any kind from
 * a -l entry.  The promises are in i2c-adapter.h.
 */
#include "config.h"
#include "vhost-device.h"
#include "i2c-adapter.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/i2c-dev.h>

static int real_open(const char *path, int flags)
{
	return open(path, flags);
}

static int real_ioctl(int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg);
}

static int real_close(int fd)
{
	return close(fd);
}

const struct i2c_sys_ops i2c_sys_real = { real_open, real_ioctl, real_close };

struct i2c_dev_priv {
	const struct i2c_sys_ops *sys;
	int fd;
};

void i2c_adapter_init(struct i2c_adapter *a, const struct i2c_adapter_ops *ops,
		      unsigned long funcs, const char *name)
{
	a->ops = ops;
	a->funcs = funcs;
	snprintf(a->name, sizeof(a->name), "%s", name);
	memset(a->client, 0, sizeof(a->client));
	pthread_mutex_init(&a->lock, NULL);
}

static int dev_ioctl(struct i2c_adapter *a, unsigned long req, void *arg)
{
	struct i2c_dev_priv *p = a->priv;

	return p->sys->ioctl(p->fd, req, arg);
}

static int dev_rdwr(struct i2c_adapter *a, struct i2c_msg *msgs, unsigned n)
{
	struct i2c_rdwr_ioctl_data d = { .msgs = msgs, .nmsgs = n };
	int r;

	r = dev_ioctl(a, I2C_RDWR, &d);
	if (r < 0)
		return -errno;
	/* I2C_RDWR returns the number of messages carried out. */
	return (unsigned)r == n ? 0 : -EIO;
}

static int dev_smbus(struct i2c_adapter *a, uint16_t addr, uint8_t read_write,
		     uint8_t command, uint32_t size, union i2c_smbus_data *data)
{
	struct i2c_smbus_ioctl_data d = {
		.read_write = read_write, .command = command, .size = size, .data = data,
	};

	/* The SMBus ioctl takes its address from the fd: set it first. */
	if (dev_ioctl(a, I2C_SLAVE, (void *)(uintptr_t)addr) < 0)
		return -errno;
	if (dev_ioctl(a, I2C_SMBUS, &d) < 0)
		return -errno;
	return 0;
}

static void dev_close(struct i2c_adapter *a)
{
	struct i2c_dev_priv *p = a->priv;

	if (p) {
		p->sys->close(p->fd);
		free(p);
	}
}

static const struct i2c_adapter_ops dev_ops = {
	.rdwr = dev_rdwr,
	.smbus = dev_smbus,
	.close = dev_close,
};

/* A bus number, or the number of the one adapter whose sysfs name is
 * `name` (Rust's vhost-device-i2c accepts both). */
static int bus_number(const char *bus, const char *sysfs_root, unsigned *out,
		      char *err, size_t errlen)
{
	unsigned long long n;
	char dir[256];
	DIR *d;
	struct dirent *de;
	int found = 0;

	if (vhd_parse_u64(bus, 0, 1u << 20, &n) == 0) {
		*out = (unsigned)n;
		return 0;
	}
	snprintf(dir, sizeof(dir), "%s/bus/i2c/devices", sysfs_root);
	d = opendir(dir);
	if (!d) {
		snprintf(err, errlen, "adapter '%s': cannot list %s: %s", bus, dir, strerror(errno));
		return -ENOENT;
	}
	while ((de = readdir(d))) {
		char path[1024], name[128];
		unsigned num;
		FILE *f;
		size_t len;

		if (sscanf(de->d_name, "i2c-%u", &num) != 1)
			continue;
		snprintf(path, sizeof(path), "%s/%s/name", dir, de->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		len = fread(name, 1, sizeof(name) - 1, f);
		fclose(f);
		name[len] = 0;
		if (len && name[len - 1] == '\n')
			name[len - 1] = 0;
		if (strcmp(name, bus) == 0) {
			*out = num;
			found++;
		}
	}
	closedir(d);
	if (found == 1)
		return 0;
	snprintf(err, errlen, found ? "adapter name '%s' matches %d adapters: use the bus number"
				    : "no I2C adapter is named '%s' (and it is not a bus number)",
		 bus, found);
	return found ? -EINVAL : -ENOENT;
}

static int dev_open(const char *bus, const char *sysfs_root, const struct i2c_sys_ops *sys,
		    struct i2c_adapter **out, char *err, size_t errlen)
{
	struct i2c_adapter *a;
	struct i2c_dev_priv *p;
	char path[64];
	unsigned long funcs = 0;
	unsigned num;
	int fd, r;

	r = bus_number(bus, sysfs_root, &num, err, errlen);
	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "/dev/i2c-%u", num);
	fd = sys->open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return r;
	}
	if (sys->ioctl(fd, I2C_FUNCS, &funcs) < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: I2C_FUNCS: %s", path, strerror(errno));
		sys->close(fd);
		return r;
	}
	if (!(funcs & (I2C_FUNC_I2C | I2C_FUNC_SMBUS_EMUL_ALL))) {
		snprintf(err, errlen, "%s: the adapter offers neither I2C transfers nor SMBus operations",
			 path);
		sys->close(fd);
		return -EOPNOTSUPP;
	}
	a = calloc(1, sizeof(*a));
	p = calloc(1, sizeof(*p));
	if (!a || !p) {
		free(a);
		free(p);
		sys->close(fd);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	p->sys = sys;
	p->fd = fd;
	i2c_adapter_init(a, &dev_ops, funcs, path);
	a->priv = p;
	*out = a;
	return 0;
}

int i2c_adapter_open(const struct i2c_adapter_spec *spec, const char *sysfs_root,
		     const struct i2c_sys_ops *sys, struct i2c_adapter **out,
		     char *err, size_t errlen)
{
	struct i2c_adapter *a = NULL;
	int r = 0;

	if (strcmp(spec->bus, "sim") == 0 || strcmp(spec->bus, "sim-smbus") == 0) {
		a = i2c_sim_new(strcmp(spec->bus, "sim-smbus") == 0);
		if (!a) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
	} else {
		r = dev_open(spec->bus, sysfs_root, sys, &a, err, errlen);
		if (r < 0)
			return r;
	}
	for (unsigned i = 0; i < spec->naddrs; i++)
		a->client[spec->addrs[i]] = true;
	*out = a;
	return 0;
}

void i2c_adapter_close(struct i2c_adapter *a)
{
	if (!a)
		return;
	if (a->ops->close)
		a->ops->close(a);
	pthread_mutex_destroy(&a->lock);
	free(a);
}
