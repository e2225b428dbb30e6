/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Device descriptions for xen-vhost-frontend: parsing only (contract in
 * xfe-conf.h).
 */
#include "config.h"
#include "xfe-conf.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Names as the Rust xen-vhost-frontend's supported_devices.rs where it
 * has one; ids (decimal) from virtio 1.2, 5 "Device Types".  libxl's type
 * key writes them in hex: i2c (34) is "virtio,device22", gpio (41)
 * "virtio,device29". */
static const struct xfe_type types[] = {
	{ "console", 3, 2 },
	{ "rng", 4, 1 },
	{ "scsi", 8, 3 },
	{ "input", 18, 2 },
	{ "vsock", 19, 3 },
	{ "sound", 25, 4 },
	{ "fs", 26, 2 },
	{ "scmi", 32, 2 },
	{ "i2c", 34, 1 },
	{ "can", 36, 3 },
	{ "gpio", 41, 2 },
	{ NULL, 0, 0 },
};

const struct xfe_type *xfe_types(void)
{
	return types;
}

const struct xfe_type *xfe_type_by_id(uint32_t id)
{
	for (const struct xfe_type *t = types; t->name; t++)
		if (t->id == id)
			return t;
	return NULL;
}

int xfe_parse_u64(const char *s, uint64_t *v)
{
	char *end;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	errno = 0;
	*v = strtoull(s, &end, 0);
	if (errno || *end)
		return -EINVAL;
	return 0;
}

int xfe_parse_size(const char *s, uint64_t *v)
{
	char buf[32], *end;
	size_t n = s ? strlen(s) : 0;
	unsigned shift = 0;

	if (n == 0 || n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, n + 1);
	switch (buf[n - 1]) {
	case 'k': case 'K': shift = 10; break;
	case 'm': case 'M': shift = 20; break;
	case 'g': case 'G': shift = 30; break;
	}
	if (shift)
		buf[--n] = '\0';
	if (n == 0 || buf[0] < '0' || buf[0] > '9')
		return -EINVAL;
	errno = 0;
	*v = strtoull(buf, &end, 0);
	if (errno || *end || (shift && *v > (UINT64_MAX >> shift)))
		return -EINVAL;
	*v <<= shift;
	return 0;
}

int xfe_parse_compatible(const char *s, uint32_t *id)
{
	static const char pfx[] = "virtio,device";
	char *end;
	unsigned long v;

	if (!s || strncmp(s, pfx, sizeof(pfx) - 1) != 0)
		return -EINVAL;
	s += sizeof(pfx) - 1;
	if (!*s || !((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') ||
		     (*s >= 'A' && *s <= 'F')))
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 16);
	if (errno || *end || v > 0xffff)
		return -EINVAL;
	*id = (uint32_t)v;
	return 0;
}

const struct xfe_type *xfe_type_by_name(const char *name)
{
	uint64_t v;
	uint32_t id;

	for (const struct xfe_type *t = types; t->name; t++)
		if (strcmp(t->name, name) == 0)
			return t;
	if (xfe_parse_compatible(name, &id) == 0)
		return xfe_type_by_id(id);
	if (xfe_parse_u64(name, &v) == 0 && v <= 0xffff)
		return xfe_type_by_id((uint32_t)v);
	return NULL;
}

enum xfe_arch xfe_arch_native(void)
{
#if defined(__aarch64__) || defined(__arm__)
	return XFE_ARCH_ARM;
#else
	return XFE_ARCH_X86;
#endif
}

void xfe_ram_layout(enum xfe_arch arch, uint64_t ram, struct xfe_ram *out)
{
	/* Arm: GUEST_RAM0 at 1 GiB, 3 GiB long, GUEST_RAM1 at 8 GiB
	 * (public/arch-arm.h).  x86 HVM: RAM from 0 up to the MMIO hole at
	 * 0xf0000000 (hvmloader's default), the rest above 4 GiB. */
	uint64_t b0 = arch == XFE_ARCH_ARM ? 0x40000000ull : 0;
	uint64_t max0 = arch == XFE_ARCH_ARM ? 0xc0000000ull : 0xf0000000ull;
	uint64_t b1 = arch == XFE_ARCH_ARM ? 0x200000000ull : 0x100000000ull;

	memset(out, 0, sizeof(*out));
	if (ram == 0)
		return;
	out->nbanks = 1;
	out->base[0] = b0;
	out->size[0] = ram < max0 ? ram : max0;
	if (ram > max0) {
		out->nbanks = 2;
		out->base[1] = b1;
		out->size[1] = ram - max0;
	}
}

static int say(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int say(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int devspec_item(struct xfe_devspec *d, char *item, unsigned *seen,
			char *err, size_t errlen)
{
	char *val = strchr(item, '=');
	uint64_t v;

	if (val)
		*val++ = '\0';
	if (!val && strcmp(item, "grant") == 0) {
		d->grant = 1;
		return 0;
	}
	if (!val && strcmp(item, "foreign") == 0) {
		d->grant = 0;
		return 0;
	}
	if (!val)
		return say(err, errlen, "'%s' is not key=value (nor 'grant' or 'foreign')", item);
	if (strcmp(item, "domid") == 0) {
		if (xfe_parse_u64(val, &v) || v == 0 || v >= 0x7ff0)
			return say(err, errlen, "domid=%s: give the guest's domain id (1..32751, see 'xl list')", val);
		d->domid = (uint32_t)v;
		*seen |= 1;
	} else if (strcmp(item, "type") == 0) {
		d->type = xfe_type_by_name(val);
		if (!d->type)
			return say(err, errlen, "type=%s: unknown device type (see --help for the list)", val);
		*seen |= 2;
	} else if (strcmp(item, "base") == 0) {
		/* libxl gives each device 0x200 bytes (GUEST_VIRTIO_MMIO_BASE
		 * + n * 0x200, public/arch-arm.h). */
		if (xfe_parse_u64(val, &v) || (v & 0x1ff) || v > (1ull << 48))
			return say(err, errlen, "base=%s: give the MMIO base address, a multiple of 0x200 (e.g. 0x2000000)", val);
		d->base = v;
		*seen |= 4;
	} else if (strcmp(item, "irq") == 0) {
		if (xfe_parse_u64(val, &v) || v > 1019)
			return say(err, errlen, "irq=%s: give the guest interrupt (an Arm SPI, 32..1019)", val);
		d->irq = (uint32_t)v;
		*seen |= 8;
	} else if (strcmp(item, "socket") == 0) {
		if (!*val || strlen(val) >= sizeof(d->socket))
			return say(err, errlen, "socket=%s: a socket path of 1..%zu bytes", val,
				   sizeof(d->socket) - 1);
		strcpy(d->socket, val);
	} else if (strcmp(item, "ram") == 0) {
		if (xfe_parse_size(val, &v) || v < 4096 || (v & 0xfff))
			return say(err, errlen, "ram=%s: the guest's memory size, a multiple of 4 KiB (e.g. 512M)", val);
		d->ram = v;
	} else if (strcmp(item, "queue-size") == 0) {
		if (xfe_parse_u64(val, &v) || v == 0 || v > 32768 || (v & (v - 1)))
			return say(err, errlen, "queue-size=%s: a power of two, 1..32768", val);
		d->queue_size = (uint16_t)v;
	} else {
		return say(err, errlen, "unknown key '%s' (domid, type, base, irq, grant, foreign, socket, ram, queue-size)", item);
	}
	return 0;
}

int xfe_parse_devspec(const char *s, struct xfe_devspec *d, char *err, size_t errlen)
{
	char buf[512], *save = NULL, *item;
	unsigned seen = 0;
	int r;

	memset(d, 0, sizeof(*d));
	d->domid = XFE_NO_DOMID;
	d->grant = -1;
	if (!s || strlen(s) >= sizeof(buf))
		return say(err, errlen, "device specification missing or too long");
	strcpy(buf, s);
	for (item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		r = devspec_item(d, item, &seen, err, errlen);
		if (r < 0)
			return r;
	}
	if (seen != 15)
		return say(err, errlen, "'%s' lacks %s%s%s%s(a device needs domid=, type=, base= and irq=)",
			   s, seen & 1 ? "" : "domid= ", seen & 2 ? "" : "type= ",
			   seen & 4 ? "" : "base= ", seen & 8 ? "" : "irq= ");
	return 0;
}

int xfe_parse_backend_path(const char *root, const char *path, uint32_t *fe, uint32_t *devid)
{
	size_t n = strlen(root);
	uint64_t v;
	char part[16];
	const char *p, *slash;
	int depth = 0;

	if (strncmp(path, root, n) != 0)
		return -EINVAL;
	p = path + n;
	if (*p == '\0')
		return 0;
	if (*p != '/')
		return -EINVAL;
	while (*p == '/' && depth < 2) {
		p++;
		slash = strchr(p, '/');
		n = slash ? (size_t)(slash - p) : strlen(p);
		if (n == 0 || n >= sizeof(part))
			return -EINVAL;
		memcpy(part, p, n);
		part[n] = '\0';
		for (size_t i = 0; i < n; i++)
			if (part[i] < '0' || part[i] > '9')
				return -EINVAL;
		if (xfe_parse_u64(part, &v) || v > 0xffffffffull)
			return -EINVAL;
		if (depth == 0)
			*fe = (uint32_t)v;
		else
			*devid = (uint32_t)v;
		depth++;
		p += n;
	}
	return depth;
}

int xfe_socket_name(char *buf, size_t len, const char *prefix, const struct xfe_type *t,
		    unsigned n)
{
	int r = snprintf(buf, len, "%s%s.sock%u", prefix, t->name, n);

	return r < 0 || (size_t)r >= len ? -ENAMETOOLONG : 0;
}
