/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Device descriptions for xen-vhost-frontend, pure parsing: the device
 * type table, the -d/--device specification, the xenstore keys libxl
 * writes for virtio=[...] (docs/xen.md, "The device model"), the watch
 * paths, the socket name of a device, and the guest's RAM layout.
 *
 * Promises: no I/O, no allocation; every parser returns 0 or -EINVAL and
 * then writes a sentence saying what was wrong into err (errlen bytes).
 */
#ifndef VHD_XFE_CONF_H
#define VHD_XFE_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct xfe_type {
	const char *name;       /* socket name: <prefix><name>.sock<N> */
	uint32_t id;            /* virtio device id */
	unsigned nqueues;       /* if the backend does not say (GET_QUEUE_NUM) */
};

/* By name ("rng") or virtio id; NULL if unknown. */
const struct xfe_type *xfe_type_by_name(const char *name);
const struct xfe_type *xfe_type_by_id(uint32_t id);
/* The whole table (for --help), terminated by a NULL name. */
const struct xfe_type *xfe_types(void);

/* Xen's guest memory map (public/arch-arm.h; x86 HVM below the MMIO hole
 * and above 4 GiB) for a guest of ram bytes: up to two banks. */
struct xfe_ram {
	unsigned nbanks;
	uint64_t base[2], size[2];
};
enum xfe_arch { XFE_ARCH_ARM, XFE_ARCH_X86 };
void xfe_ram_layout(enum xfe_arch arch, uint64_t ram, struct xfe_ram *out);
enum xfe_arch xfe_arch_native(void);

#define XFE_NO_DOMID 0xffffffffu

struct xfe_devspec {
	uint32_t domid;         /* the guest (front end) */
	uint32_t devid;         /* xenstore devid; command line: its index */
	const struct xfe_type *type;
	uint64_t base;          /* MMIO base */
	uint32_t irq;
	int grant;              /* 1 grant, 0 foreign, -1 not said */
	uint64_t ram;           /* guest RAM bytes, 0 not said */
	uint16_t queue_size;    /* QueueNumMax, 0: default */
	char socket[108];       /* explicit socket path, "" for the naming rule */
};

/*
 * -d/--device "domid=N,type=T,base=A,irq=I[,grant|foreign][,socket=PATH]
 * [,ram=SIZE][,queue-size=N]".  T: a name of the table, a virtio id, or
 * "virtio,device<hex>"; A: decimal or 0x hex, a multiple of 0x200; SIZE: bytes with an optional
 * K, M or G suffix (powers of 1024).
 */
int xfe_parse_devspec(const char *s, struct xfe_devspec *d, char *err, size_t errlen);

/* "virtio,device22" (the DT compatible libxl writes, hex) -> 0x22. */
int xfe_parse_compatible(const char *s, uint32_t *id);
/* Numbers as libxl writes them: "%#x" or decimal (4.17 disks). */
int xfe_parse_u64(const char *s, uint64_t *v);
/* "512M" -> bytes. */
int xfe_parse_size(const char *s, uint64_t *v);

/* A watch path under "<domain path>/backend/virtio": returns 2 with fe and
 * devid for ".../backend/virtio/<fe>/<devid>[/...]", 1 with fe for
 * ".../backend/virtio/<fe>", 0 for the directory itself, -EINVAL for
 * anything else. */
int xfe_parse_backend_path(const char *root, const char *path, uint32_t *fe, uint32_t *devid);

/* The socket of instance n of a type: "<prefix><name>.sock<n>". */
int xfe_socket_name(char *buf, size_t len, const char *prefix, const struct xfe_type *t,
		    unsigned n);

#endif
