/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * The virtio-mmio version 2 register file (virtio 1.2, 4.2.2), contract
 * in xfe-mmio.h.  Pure: state in, answer and actions out.
 */
#include "config.h"
#include "xfe-mmio.h"

#include <string.h>

/* Feature bits (virtio 1.2, 6 "Reserved Feature Bits"). */
#define F_INDIRECT_DESC         28
#define F_EVENT_IDX             29
#define F_VERSION_1             32
#define F_ACCESS_PLATFORM       33
#define F_IN_ORDER              35
#define F_ORDER_PLATFORM        36
#define BIT(n)                  (1ull << (n))

/* Refusal kinds, one bit each in m->logged. */
enum refusal {
	R_SIZE, R_UNKNOWN_READ, R_UNKNOWN_WRITE, R_STATUS, R_FEATURES_LATE,
	R_FEATURES_BAD, R_QUEUE_SEL, R_QUEUE_NUM, R_QUEUE_LIVE, R_NOTIFY,
	R_CONFIG_ACCESS, R_QUEUE_READY_OFF, R_QUEUE_RESET,
};

static const char *const refusal_text[] = {
	[R_SIZE] = "control register accessed with a size other than 4 or unaligned (virtio 4.2.2.2): read as 0, write ignored",
	[R_UNKNOWN_READ] = "read of a write-only or unknown register: answered 0",
	[R_UNKNOWN_WRITE] = "write to a read-only or unknown register: ignored",
	[R_STATUS] = "status write the spec forbids (clearing bits, FEATURES_OK without DRIVER, DRIVER_OK without FEATURES_OK, reserved bits): ignored",
	[R_FEATURES_LATE] = "DriverFeatures written after FEATURES_OK: ignored",
	[R_FEATURES_BAD] = "driver accepted features not offered, or not VERSION_1 (or ACCESS_PLATFORM with grants): FEATURES_OK refused",
	[R_QUEUE_SEL] = "queue register of a queue the device does not have: read as 0, write ignored",
	[R_QUEUE_NUM] = "QueueNum zero, not a power of two or above QueueNumMax: ignored",
	[R_QUEUE_LIVE] = "queue register written while the queue is ready: ignored",
	[R_NOTIFY] = "QueueNotify for a queue that is not ready or before DRIVER_OK: ignored",
	[R_CONFIG_ACCESS] = "config space access of a size other than 1, 2, 4, 8 or unaligned: read as 0, write ignored",
	[R_QUEUE_READY_OFF] = "QueueReady cleared after DRIVER_OK: ignored (reset the device instead)",
	[R_QUEUE_RESET] = "QueueReset written but VIRTIO_F_RING_RESET is not offered: ignored",
};

static void refuse(struct xfe_mmio *m, struct xfe_mmio_result *res, enum refusal r)
{
	if (m->logged & (1u << r))
		return;
	m->logged |= 1u << r;
	res->log = refusal_text[r];
}

uint64_t xfe_mmio_offer(uint64_t backend_features, bool grant)
{
	/* Device-specific bits (0-23, and 50-63 kept for future devices)
	 * and the ring-layout bits a vhost-user backend implements itself.
	 * Not passed: vhost-user's own bits (PROTOCOL_FEATURES 30,
	 * LOG_ALL 26), transport bits this device model does not implement
	 * (NOTIFICATION_DATA, RING_RESET, SR_IOV, ADMIN_VQ ...), and
	 * RING_PACKED: a packed ring's state (wrap counters) lives in the
	 * backend and could not be replayed after a backend restart. */
	uint64_t keep = 0xffffffull | (~0ull << 50) | BIT(F_INDIRECT_DESC) |
			BIT(F_EVENT_IDX) | BIT(F_IN_ORDER) | BIT(F_ORDER_PLATFORM);
	/* ACCESS_PLATFORM is offered in both modes, as the Rust
	 * xen-vhost-frontend does: with grants the guest needs it (its DMA
	 * API puts grant addresses in the rings), with foreign mappings its
	 * DMA API gives guest-physical addresses, which is what the backend
	 * maps.  Only grant mode requires it (features_acceptable). */
	(void)grant;
	return (backend_features & keep) | BIT(F_VERSION_1) | BIT(F_ACCESS_PLATFORM);
}

void xfe_mmio_init(struct xfe_mmio *m, uint32_t device_id, uint64_t backend_features,
		   unsigned nqueues, uint16_t queue_num_max, bool grant)
{
	memset(m, 0, sizeof(*m));
	m->device_id = device_id;
	m->grant = grant;
	m->device_features = xfe_mmio_offer(backend_features, grant);
	m->nqueues = nqueues > XFE_MAX_QUEUES ? XFE_MAX_QUEUES : nqueues;
	m->queue_num_max = queue_num_max;
	xfe_mmio_reset(m);
}

void xfe_mmio_reset(struct xfe_mmio *m)
{
	m->driver_features = 0;
	m->driver_features_hi = false;
	m->dev_features_sel = m->drv_features_sel = 0;
	m->queue_sel = 0;
	m->shm_sel = 0;
	m->status = 0;
	m->interrupt_status = 0;
	memset(m->q, 0, sizeof(m->q));
	/* QueueNum defaults to the maximum, as QEMU's virtio-mmio. */
	for (unsigned i = 0; i < m->nqueues; i++)
		m->q[i].num = m->queue_num_max;
}

bool xfe_mmio_running(const struct xfe_mmio *m)
{
	return (m->status & XFE_ST_DRIVER_OK) && !(m->status & XFE_ST_NEEDS_RESET);
}

bool xfe_mmio_irq_pending(const struct xfe_mmio *m)
{
	return m->interrupt_status != 0;
}

bool xfe_mmio_raise(struct xfe_mmio *m, uint32_t bits)
{
	uint32_t old = m->interrupt_status;

	bits &= XFE_INT_VRING | XFE_INT_CONFIG;
	if (bits & XFE_INT_CONFIG)
		m->config_generation++;
	m->interrupt_status |= bits;
	return m->interrupt_status != old;
}

bool xfe_mmio_needs_reset(struct xfe_mmio *m)
{
	bool running = m->status & XFE_ST_DRIVER_OK;

	m->status |= XFE_ST_NEEDS_RESET;
	/* 2.1.2: after DRIVER_OK the device must send a config change
	 * notification when it sets DEVICE_NEEDS_RESET. */
	return running ? xfe_mmio_raise(m, XFE_INT_CONFIG) : false;
}

void xfe_mmio_features_done(struct xfe_mmio *m, bool ok)
{
	if (!ok)
		m->status &= ~XFE_ST_FEATURES_OK;
}

static struct xfe_queue *sel_queue(struct xfe_mmio *m, struct xfe_mmio_result *res)
{
	if (m->queue_sel >= m->nqueues) {
		refuse(m, res, R_QUEUE_SEL);
		return NULL;
	}
	return &m->q[m->queue_sel];
}

static uint32_t read_reg(struct xfe_mmio *m, uint32_t off, struct xfe_mmio_result *res)
{
	struct xfe_queue *q;

	switch (off) {
	case XFE_REG_MAGIC:
		return XFE_MMIO_MAGIC;
	case XFE_REG_VERSION:
		return XFE_MMIO_VERSION;
	case XFE_REG_DEVICE_ID:
		return m->device_id;
	case XFE_REG_VENDOR_ID:
		return XFE_MMIO_VENDOR;
	case XFE_REG_DEVICE_FEATURES:
		if (m->dev_features_sel > 1)
			return 0;       /* bits 64 and up: none offered */
		return (uint32_t)(m->device_features >> (32 * m->dev_features_sel));
	case XFE_REG_QUEUE_NUM_MAX:
		/* 4.2.2: 0 when the queue is not available. */
		return m->queue_sel < m->nqueues ? m->queue_num_max : 0;
	case XFE_REG_QUEUE_READY:
		q = sel_queue(m, res);
		return q ? q->ready : 0;
	case XFE_REG_INTERRUPT_STATUS:
		if (m->int_vring_always && xfe_mmio_running(m))
			return m->interrupt_status | XFE_INT_VRING;
		return m->interrupt_status;
	case XFE_REG_STATUS:
		return m->status;
	case XFE_REG_SHM_LEN_LOW:
	case XFE_REG_SHM_LEN_HIGH:
	case XFE_REG_SHM_BASE_LOW:
	case XFE_REG_SHM_BASE_HIGH:
		/* 4.2.2: a region that does not exist has length -1. */
		return 0xffffffffu;
	case XFE_REG_QUEUE_RESET:
		return 0;
	case XFE_REG_CONFIG_GENERATION:
		return m->config_generation;
	default:
		refuse(m, res, R_UNKNOWN_READ);
		return 0;
	}
}

static bool pow2(uint32_t v)
{
	return v && !(v & (v - 1));
}

/* 3.1.1 step 5: check what the driver accepted before keeping FEATURES_OK. */
static bool features_acceptable(const struct xfe_mmio *m)
{
	uint64_t f = m->driver_features;

	if ((f & ~m->device_features) || m->driver_features_hi)
		return false;
	if (!(f & BIT(F_VERSION_1)))
		return false;
	/* Without ACCESS_PLATFORM the guest would put guest-physical
	 * addresses in rings the backend reads through grants. */
	if (m->grant && !(f & BIT(F_ACCESS_PLATFORM)))
		return false;
	return true;
}

static void write_status(struct xfe_mmio *m, uint32_t v, struct xfe_mmio_result *res)
{
	const uint32_t known = XFE_ST_ACKNOWLEDGE | XFE_ST_DRIVER | XFE_ST_DRIVER_OK |
			       XFE_ST_FEATURES_OK | XFE_ST_NEEDS_RESET | XFE_ST_FAILED;
	uint32_t old = m->status, added = v & ~old;

	if (v == 0) {
		xfe_mmio_reset(m);
		res->act |= XFE_ACT_RESET;
		if (old && m->interrupt_status == 0)
			res->act |= XFE_ACT_IRQ_UPDATE;
		return;
	}
	/* 2.1.2: the driver MUST NOT clear a device status bit; the device
	 * sets NEEDS_RESET, the driver only echoes it back. */
	if ((v & ~known) || (old & ~v) || (added & XFE_ST_NEEDS_RESET) ||
	    ((added & XFE_ST_FEATURES_OK) &&
	     (v & (XFE_ST_ACKNOWLEDGE | XFE_ST_DRIVER)) != (XFE_ST_ACKNOWLEDGE | XFE_ST_DRIVER)) ||
	    ((added & XFE_ST_DRIVER_OK) && !(v & XFE_ST_FEATURES_OK)) ||
	    ((added & XFE_ST_DRIVER) && !(v & XFE_ST_ACKNOWLEDGE))) {
		refuse(m, res, R_STATUS);
		return;
	}
	if (added & XFE_ST_FEATURES_OK) {
		if (!features_acceptable(m)) {
			refuse(m, res, R_FEATURES_BAD);
			/* Keep the other bits; FEATURES_OK stays clear, and so
			 * DRIVER_OK cannot follow. */
			v &= ~(XFE_ST_FEATURES_OK | XFE_ST_DRIVER_OK);
			m->status = v;
			return;
		}
		res->act |= XFE_ACT_FEATURES;
	}
	m->status = v;
	if ((added & XFE_ST_DRIVER_OK) && !(v & XFE_ST_NEEDS_RESET))
		res->act |= XFE_ACT_START;
}

static void write_queue(struct xfe_mmio *m, uint32_t off, uint32_t v,
			struct xfe_mmio_result *res)
{
	struct xfe_queue *q = sel_queue(m, res);

	if (!q)
		return;
	if (off == XFE_REG_QUEUE_READY) {
		if (v & 1) {
			if (q->ready)
				return;
			q->ready = true;
			if (xfe_mmio_running(m)) {
				res->act |= XFE_ACT_QUEUE_START;
				res->queue = m->queue_sel;
			}
		} else if (q->ready && (m->status & XFE_ST_DRIVER_OK)) {
			refuse(m, res, R_QUEUE_READY_OFF);
		} else {
			q->ready = false;
		}
		return;
	}
	if (q->ready) {
		refuse(m, res, R_QUEUE_LIVE);
		return;
	}
	switch (off) {
	case XFE_REG_QUEUE_NUM:
		if (!pow2(v) || v > m->queue_num_max) {
			refuse(m, res, R_QUEUE_NUM);
			return;
		}
		q->num = (uint16_t)v;
		break;
	case XFE_REG_QUEUE_DESC_LOW:
		q->desc = (q->desc & ~0xffffffffull) | v;
		break;
	case XFE_REG_QUEUE_DESC_HIGH:
		q->desc = (q->desc & 0xffffffffull) | ((uint64_t)v << 32);
		break;
	case XFE_REG_QUEUE_DRIVER_LOW:
		q->driver = (q->driver & ~0xffffffffull) | v;
		break;
	case XFE_REG_QUEUE_DRIVER_HIGH:
		q->driver = (q->driver & 0xffffffffull) | ((uint64_t)v << 32);
		break;
	case XFE_REG_QUEUE_DEVICE_LOW:
		q->device = (q->device & ~0xffffffffull) | v;
		break;
	case XFE_REG_QUEUE_DEVICE_HIGH:
		q->device = (q->device & 0xffffffffull) | ((uint64_t)v << 32);
		break;
	}
}

static void write_reg(struct xfe_mmio *m, uint32_t off, uint32_t v,
		      struct xfe_mmio_result *res)
{
	switch (off) {
	case XFE_REG_DEVICE_FEATURES_SEL:
		m->dev_features_sel = v;
		return;
	case XFE_REG_DRIVER_FEATURES_SEL:
		m->drv_features_sel = v;
		return;
	case XFE_REG_DRIVER_FEATURES:
		if (m->status & XFE_ST_FEATURES_OK) {
			refuse(m, res, R_FEATURES_LATE);
			return;
		}
		if (m->drv_features_sel == 0)
			m->driver_features = (m->driver_features & ~0xffffffffull) | v;
		else if (m->drv_features_sel == 1)
			m->driver_features = (m->driver_features & 0xffffffffull) |
					     ((uint64_t)v << 32);
		else if (v)
			m->driver_features_hi = true;   /* bits >= 64: never offered */
		return;
	case XFE_REG_QUEUE_SEL:
		m->queue_sel = v;
		return;
	case XFE_REG_QUEUE_NUM:
	case XFE_REG_QUEUE_READY:
	case XFE_REG_QUEUE_DESC_LOW:
	case XFE_REG_QUEUE_DESC_HIGH:
	case XFE_REG_QUEUE_DRIVER_LOW:
	case XFE_REG_QUEUE_DRIVER_HIGH:
	case XFE_REG_QUEUE_DEVICE_LOW:
	case XFE_REG_QUEUE_DEVICE_HIGH:
		write_queue(m, off, v, res);
		return;
	case XFE_REG_QUEUE_NOTIFY:
		/* Without NOTIFICATION_DATA the value is the queue index. */
		if (v >= m->nqueues || !m->q[v].ready || !xfe_mmio_running(m)) {
			refuse(m, res, R_NOTIFY);
			return;
		}
		res->act |= XFE_ACT_NOTIFY;
		res->queue = v;
		return;
	case XFE_REG_INTERRUPT_ACK:
		if (m->interrupt_status & v) {
			m->interrupt_status &= ~v;
			res->act |= XFE_ACT_IRQ_UPDATE;
		}
		return;
	case XFE_REG_STATUS:
		write_status(m, v, res);
		return;
	case XFE_REG_SHM_SEL:
		m->shm_sel = v;
		return;
	case XFE_REG_QUEUE_RESET:
		refuse(m, res, R_QUEUE_RESET);
		return;
	default:
		refuse(m, res, R_UNKNOWN_WRITE);
		return;
	}
}

static bool config_access_ok(uint32_t off, unsigned size)
{
	if (size != 1 && size != 2 && size != 4 && size != 8)
		return false;
	if (off & (size - 1))
		return false;
	return off + size <= XFE_MMIO_SIZE;
}

uint64_t xfe_mmio_read(struct xfe_mmio *m, uint32_t off, unsigned size,
		       struct xfe_mmio_result *res)
{
	memset(res, 0, sizeof(*res));
	if (off >= XFE_MMIO_SIZE) {
		refuse(m, res, R_UNKNOWN_READ);
		return 0;
	}
	if (off >= XFE_MMIO_CONFIG) {
		if (!config_access_ok(off, size)) {
			refuse(m, res, R_CONFIG_ACCESS);
			return 0;
		}
		res->act = XFE_ACT_CONFIG_READ;
		res->cfg_off = off - XFE_MMIO_CONFIG;
		res->cfg_size = size;
		return 0;
	}
	if (size != 4 || (off & 3)) {
		refuse(m, res, R_SIZE);
		return 0;
	}
	return read_reg(m, off, res);
}

void xfe_mmio_write(struct xfe_mmio *m, uint32_t off, unsigned size, uint64_t value,
		    struct xfe_mmio_result *res)
{
	memset(res, 0, sizeof(*res));
	if (off >= XFE_MMIO_SIZE) {
		refuse(m, res, R_UNKNOWN_WRITE);
		return;
	}
	if (off >= XFE_MMIO_CONFIG) {
		if (!config_access_ok(off, size)) {
			refuse(m, res, R_CONFIG_ACCESS);
			return;
		}
		res->act = XFE_ACT_CONFIG_WRITE;
		res->cfg_off = off - XFE_MMIO_CONFIG;
		res->cfg_size = size;
		res->value = size == 8 ? value : value & ((1ull << (8 * size)) - 1);
		return;
	}
	if (size != 4 || (off & 3)) {
		refuse(m, res, R_SIZE);
		return;
	}
	write_reg(m, off, (uint32_t)value, res);
}
