/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * The virtio-mmio (version 2) register file of one device, as a pure
 * module: the state is in struct xfe_mmio, an access goes in, the value
 * read (or nothing) and the work the caller must do with the backend come
 * out.  No libxen, no vhost-user, no logging, no allocation.
 *
 * Layout and semantics: virtio 1.2, 4.2.2 "MMIO Device Register Layout".
 *
 * Promises:
 *  - Every access has a defined answer.  The control registers (offsets
 *    below 0x100) answer only 32-bit aligned accesses (4.2.2.2: "The
 *    driver MUST only use 32 bit wide and aligned reads and writes to
 *    access the control registers"); any other size or alignment reads 0
 *    and writes nothing.  Reads of write-only or unknown registers return
 *    0 (SHMLen/SHMBase: all ones, "no such region", 4.2.2); writes to
 *    read-only or unknown registers are ignored.
 *  - Config space [0x100, 0x200) accepts 1, 2, 4 and 8 byte naturally
 *    aligned accesses (4.2.2.2 names 8, 16 and 32 bit fields; 8 is allowed
 *    for 64-bit guests' compilers); the module does not hold the config,
 *    it asks the caller to forward the access (XFE_ACT_CONFIG_*).
 *  - Device status (2.1): the driver cannot clear a bit except by writing
 *    0 (reset); FEATURES_OK needs ACKNOWLEDGE and DRIVER; DRIVER_OK needs
 *    an accepted FEATURES_OK; NEEDS_RESET is the device's; unknown bits
 *    refuse the write.  A refused write leaves the status unchanged.
 *  - Features (3.1.1, 6.1): the driver sees the backend's device-specific
 *    bits and the transport bits this device model can carry, plus
 *    VERSION_1 and ACCESS_PLATFORM (in grant mode the guest must use its
 *    DMA API, which puts grant addresses in the rings).  FEATURES_OK is
 *    kept only if the driver's features are a subset of those, include
 *    VERSION_1 (and ACCESS_PLATFORM in grant mode), and the backend then
 *    accepts them (xfe_mmio_features_done).
 *  - QueueNum above QueueNumMax, zero or not a power of two (2.7: split
 *    rings) is refused; queue registers of a ready queue are read-only
 *    until reset (4.2.2.2).
 *  - Every refusal sets res->log (a sentence) the first time that kind of
 *    refusal happens on this device, so the caller logs once per device.
 */
#ifndef VHD_XFE_MMIO_H
#define VHD_XFE_MMIO_H

#include <stdbool.h>
#include <stdint.h>

#define XFE_MMIO_SIZE           0x200u  /* the window of one device */
#define XFE_MMIO_CONFIG         0x100u  /* device config starts here */
#define XFE_MMIO_MAGIC          0x74726976u     /* "virt" */
#define XFE_MMIO_VERSION        2u
#define XFE_MMIO_VENDOR         0x4d564b4cu     /* as xen-vhost-frontend */
#define XFE_MAX_QUEUES          16u

/* Register offsets (virtio 1.2, 4.2.2). */
enum xfe_mmio_reg {
	XFE_REG_MAGIC = 0x000,
	XFE_REG_VERSION = 0x004,
	XFE_REG_DEVICE_ID = 0x008,
	XFE_REG_VENDOR_ID = 0x00c,
	XFE_REG_DEVICE_FEATURES = 0x010,
	XFE_REG_DEVICE_FEATURES_SEL = 0x014,
	XFE_REG_DRIVER_FEATURES = 0x020,
	XFE_REG_DRIVER_FEATURES_SEL = 0x024,
	XFE_REG_QUEUE_SEL = 0x030,
	XFE_REG_QUEUE_NUM_MAX = 0x034,
	XFE_REG_QUEUE_NUM = 0x038,
	XFE_REG_QUEUE_READY = 0x044,
	XFE_REG_QUEUE_NOTIFY = 0x050,
	XFE_REG_INTERRUPT_STATUS = 0x060,
	XFE_REG_INTERRUPT_ACK = 0x064,
	XFE_REG_STATUS = 0x070,
	XFE_REG_QUEUE_DESC_LOW = 0x080,
	XFE_REG_QUEUE_DESC_HIGH = 0x084,
	XFE_REG_QUEUE_DRIVER_LOW = 0x090,
	XFE_REG_QUEUE_DRIVER_HIGH = 0x094,
	XFE_REG_QUEUE_DEVICE_LOW = 0x0a0,
	XFE_REG_QUEUE_DEVICE_HIGH = 0x0a4,
	XFE_REG_SHM_SEL = 0x0ac,
	XFE_REG_SHM_LEN_LOW = 0x0b0,
	XFE_REG_SHM_LEN_HIGH = 0x0b4,
	XFE_REG_SHM_BASE_LOW = 0x0b8,
	XFE_REG_SHM_BASE_HIGH = 0x0bc,
	XFE_REG_QUEUE_RESET = 0x0c0,
	XFE_REG_CONFIG_GENERATION = 0x0fc,
};

/* InterruptStatus bits (4.2.2). */
#define XFE_INT_VRING           0x1u
#define XFE_INT_CONFIG          0x2u

/* Device status bits (2.1). */
#define XFE_ST_ACKNOWLEDGE      0x01u
#define XFE_ST_DRIVER           0x02u
#define XFE_ST_DRIVER_OK        0x04u
#define XFE_ST_FEATURES_OK      0x08u
#define XFE_ST_NEEDS_RESET      0x40u
#define XFE_ST_FAILED           0x80u

struct xfe_queue {
	uint16_t num;
	bool ready;
	uint64_t desc, driver, device;  /* guest addresses as written */
};

struct xfe_mmio {
	/* identity, fixed from xfe_mmio_init */
	uint32_t device_id;
	uint64_t device_features;       /* what the driver is offered */
	bool grant;                     /* ACCESS_PLATFORM required */
	/* Interrupts are raised behind the device model's back (the privcmd
	 * irqfd path): InterruptStatus always shows "used buffer" while the
	 * device runs, so the driver always looks at its rings. */
	bool int_vring_always;
	unsigned nqueues;
	uint16_t queue_num_max;
	/* driver-visible state, cleared by reset */
	uint64_t driver_features;
	bool driver_features_hi;        /* a bit >= 64 was accepted */
	uint32_t dev_features_sel, drv_features_sel;
	uint32_t queue_sel;
	uint32_t shm_sel;
	uint32_t status;
	uint32_t interrupt_status;
	uint32_t config_generation;     /* survives reset: it only grows */
	struct xfe_queue q[XFE_MAX_QUEUES];
	uint32_t logged;                /* refusal kinds already reported */
};

/* What the caller must do after an access (a bit mask: FEATURES before
 * START when one status write sets both). */
enum xfe_mmio_act {
	XFE_ACT_NOTIFY = 1u << 0,       /* kick queue res->queue */
	XFE_ACT_FEATURES = 1u << 1,     /* SET_FEATURES(driver_features); then
	                                 * xfe_mmio_features_done() */
	XFE_ACT_START = 1u << 2,        /* memory table and every ready queue */
	XFE_ACT_QUEUE_START = 1u << 3,  /* queue res->queue became ready while
	                                 * DRIVER_OK: start it alone */
	XFE_ACT_RESET = 1u << 4,        /* status 0: stop the backend's rings */
	XFE_ACT_CONFIG_READ = 1u << 5,  /* GET_CONFIG(cfg_off, cfg_size); the
	                                 * value is the caller's answer */
	XFE_ACT_CONFIG_WRITE = 1u << 6, /* SET_CONFIG(cfg_off, cfg_size, value) */
	XFE_ACT_IRQ_UPDATE = 1u << 7,   /* interrupt status changed: the line is
	                                 * xfe_mmio_irq_pending() */
};

struct xfe_mmio_result {
	uint32_t act;                   /* enum xfe_mmio_act bits */
	unsigned queue;
	uint32_t cfg_off, cfg_size;
	uint64_t value;                 /* CONFIG_WRITE data (little-endian) */
	const char *log;                /* first refusal of its kind, or NULL */
};

/*
 * backend_features: the backend's GET_FEATURES.  nqueues (1..16) and
 * queue_num_max (a power of two, 1..32768) describe the device.
 */
void xfe_mmio_init(struct xfe_mmio *m, uint32_t device_id, uint64_t backend_features,
		   unsigned nqueues, uint16_t queue_num_max, bool grant);

/* The feature bits a driver can be offered for these backend features. */
uint64_t xfe_mmio_offer(uint64_t backend_features, bool grant);

/* A guest read of `size` bytes at `off` (< XFE_MMIO_SIZE).  Returns the
 * value (for CONFIG_READ: 0, the caller answers). */
uint64_t xfe_mmio_read(struct xfe_mmio *m, uint32_t off, unsigned size,
		       struct xfe_mmio_result *res);
/* A guest write. */
void xfe_mmio_write(struct xfe_mmio *m, uint32_t off, unsigned size, uint64_t value,
		    struct xfe_mmio_result *res);

/* After XFE_ACT_FEATURES: ok = the backend took the features.  If not,
 * FEATURES_OK is cleared (3.1.1: the driver re-reads it). */
void xfe_mmio_features_done(struct xfe_mmio *m, bool ok);
/* The device failed (backend refused to start, or went away for good):
 * set NEEDS_RESET and, with DRIVER_OK, a config-change interrupt (2.1.2).
 * Returns true if the interrupt status changed. */
bool xfe_mmio_needs_reset(struct xfe_mmio *m);
/* Raise interrupt bits (XFE_INT_*); XFE_INT_CONFIG also bumps the config
 * generation (4.2.2.1).  Returns true if the status changed. */
bool xfe_mmio_raise(struct xfe_mmio *m, uint32_t bits);
/* Is the interrupt line asserted (InterruptStatus != 0)? */
bool xfe_mmio_irq_pending(const struct xfe_mmio *m);
/* Back to the state after xfe_mmio_init (identity and generation kept). */
void xfe_mmio_reset(struct xfe_mmio *m);
/* Is the device running (DRIVER_OK, not NEEDS_RESET)? */
bool xfe_mmio_running(const struct xfe_mmio *m);

#endif
