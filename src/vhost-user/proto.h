/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * vhost-user wire format: message numbers, flags, feature bits and payload
 * layouts, as QEMU's docs/interop/vhost-user.rst defines them and as QEMU
 * 7.2 to 10 really send them.
 *
 * Contract: pure definitions, no code.  Shared by the backend core, the
 * frontend tool and the tests, so both sides of every test speak from the
 * same table.  All multi-byte fields are in the host's native byte order
 * (vhost-user is not little-endian on the wire; virtio rings are).
 */
#ifndef VHD_VHOST_USER_PROTO_H
#define VHD_VHOST_USER_PROTO_H

#include <stdint.h>

/* ---- header ---------------------------------------------------------- */

struct vhu_hdr {
	uint32_t request;
	uint32_t flags;
	uint32_t size;          /* payload bytes following the header */
} __attribute__((packed));

#define VHU_HDR_SIZE            12u
#define VHU_VERSION             0x1u
#define VHU_VERSION_MASK        0x3u
#define VHU_FLAG_REPLY          0x4u
#define VHU_FLAG_NEED_REPLY     0x8u

/* Largest payload we accept.  The biggest message a non-crypto backend
 * really receives is ~330 bytes; rust-vmm caps at 0x1000 too. */
#define VHU_MAX_PAYLOAD         4096u
/* fds accepted on one message (QEMU sends at most 8; rust-vmm allows 32). */
#define VHU_MAX_FDS             32u
/* Regions in one SET_MEM_TABLE: QEMU sends at most 8, xen-vhost-frontend
 * up to 19 (vring + gap regions); rust-vmm accepts 32. */
#define VHU_MAX_TABLE_REGIONS   32u
/* Slots we report in GET_MAX_MEM_SLOTS (QEMU caps at 512). */
#define VHU_MAX_MEM_SLOTS       32u

/* ---- frontend -> backend requests ------------------------------------ */

enum vhu_request {
	VHU_NONE = 0,
	VHU_GET_FEATURES = 1,
	VHU_SET_FEATURES = 2,
	VHU_SET_OWNER = 3,
	VHU_RESET_OWNER = 4,
	VHU_SET_MEM_TABLE = 5,
	VHU_SET_LOG_BASE = 6,
	VHU_SET_LOG_FD = 7,
	VHU_SET_VRING_NUM = 8,
	VHU_SET_VRING_ADDR = 9,
	VHU_SET_VRING_BASE = 10,
	VHU_GET_VRING_BASE = 11,
	VHU_SET_VRING_KICK = 12,
	VHU_SET_VRING_CALL = 13,
	VHU_SET_VRING_ERR = 14,
	VHU_GET_PROTOCOL_FEATURES = 15,
	VHU_SET_PROTOCOL_FEATURES = 16,
	VHU_GET_QUEUE_NUM = 17,
	VHU_SET_VRING_ENABLE = 18,
	VHU_SEND_RARP = 19,
	VHU_NET_SET_MTU = 20,
	VHU_SET_BACKEND_REQ_FD = 21,
	VHU_IOTLB_MSG = 22,
	VHU_SET_VRING_ENDIAN = 23,
	VHU_GET_CONFIG = 24,
	VHU_SET_CONFIG = 25,
	VHU_CREATE_CRYPTO_SESSION = 26,
	VHU_CLOSE_CRYPTO_SESSION = 27,
	VHU_POSTCOPY_ADVISE = 28,
	VHU_POSTCOPY_LISTEN = 29,
	VHU_POSTCOPY_END = 30,
	VHU_GET_INFLIGHT_FD = 31,
	VHU_SET_INFLIGHT_FD = 32,
	VHU_GPU_SET_SOCKET = 33,
	VHU_RESET_DEVICE = 34,
	VHU_VRING_KICK = 35,
	VHU_GET_MAX_MEM_SLOTS = 36,
	VHU_ADD_MEM_REG = 37,
	VHU_REM_MEM_REG = 38,
	VHU_SET_STATUS = 39,
	VHU_GET_STATUS = 40,
	VHU_GET_SHARED_OBJECT = 41,
	VHU_SET_DEVICE_STATE_FD = 42,
	VHU_CHECK_DEVICE_STATE = 43,
	VHU_REQUEST_MAX
};

/* ---- backend -> frontend requests (backend channel) ------------------- */

enum vhu_backend_request {
	VHU_BACKEND_IOTLB_MSG = 1,
	VHU_BACKEND_CONFIG_CHANGE_MSG = 2,
	VHU_BACKEND_VRING_HOST_NOTIFIER_MSG = 3,
};

/* ---- virtio / vhost feature bits (GET/SET_FEATURES) ------------------ */

#define VIRTIO_F_NOTIFY_ON_EMPTY        24
#define VHOST_F_LOG_ALL                 26
#define VIRTIO_F_ANY_LAYOUT             27
#define VIRTIO_RING_F_INDIRECT_DESC     28
#define VIRTIO_RING_F_EVENT_IDX         29
#define VHOST_USER_F_PROTOCOL_FEATURES  30
#define VIRTIO_F_VERSION_1              32
#define VIRTIO_F_ACCESS_PLATFORM        33
#define VIRTIO_F_RING_PACKED            34

#define VHD_BIT(n) (1ull << (n))

/* ---- protocol feature bits (GET/SET_PROTOCOL_FEATURES) ---------------- */

enum vhu_protocol_feature {
	VHU_PF_MQ = 0,
	VHU_PF_LOG_SHMFD = 1,
	VHU_PF_RARP = 2,
	VHU_PF_REPLY_ACK = 3,
	VHU_PF_NET_MTU = 4,
	VHU_PF_BACKEND_REQ = 5,
	VHU_PF_CROSS_ENDIAN = 6,
	VHU_PF_CRYPTO_SESSION = 7,
	VHU_PF_PAGEFAULT = 8,
	VHU_PF_CONFIG = 9,
	VHU_PF_BACKEND_SEND_FD = 10,
	VHU_PF_HOST_NOTIFIER = 11,
	VHU_PF_INFLIGHT_SHMFD = 12,
	VHU_PF_RESET_DEVICE = 13,
	VHU_PF_INBAND_NOTIFICATIONS = 14,
	VHU_PF_CONFIGURE_MEM_SLOTS = 15,
	VHU_PF_STATUS = 16,
	VHU_PF_XEN_MMAP = 17,
};

/* ---- payloads ---------------------------------------------------------- */

struct vhu_vring_state {
	uint32_t index;
	uint32_t num;
} __attribute__((packed));

/* SET_VRING_KICK/CALL/ERR payload: u64, bits 0-7 index, bit 8 "no fd". */
#define VHU_VRING_IDX_MASK      0xffull
#define VHU_VRING_NOFD_MASK     0x100ull

#define VHU_VRING_F_LOG         0x1u

struct vhu_vring_addr {
	uint32_t index;
	uint32_t flags;
	uint64_t desc_uaddr;
	uint64_t used_uaddr;
	uint64_t avail_uaddr;
	uint64_t log_guest_addr;
} __attribute__((packed));

struct vhu_mem_region {
	uint64_t guest_phys_addr;
	uint64_t memory_size;
	uint64_t userspace_addr;
	uint64_t mmap_offset;
} __attribute__((packed));

/* With XEN_MMAP negotiated every region description grows by 8 bytes. */
struct vhu_mem_region_xen {
	uint64_t guest_phys_addr;
	uint64_t memory_size;
	uint64_t userspace_addr;
	uint64_t mmap_offset;
	uint32_t xen_mmap_flags;
	uint32_t domid;
} __attribute__((packed));

#define VHU_XEN_MMAP_UNIX            0x0u
#define VHU_XEN_MMAP_FOREIGN         0x1u
#define VHU_XEN_MMAP_GRANT           0x2u
/* The spec text says "bit 8"; every implementation uses 0x8. */
#define VHU_XEN_MMAP_NO_ADVANCE_MAP  0x8u

struct vhu_mem_table_hdr {
	uint32_t nregions;
	uint32_t padding;
	/* followed by nregions region descriptions (32 or 40 bytes each) */
} __attribute__((packed));

struct vhu_mem_single_hdr {
	uint64_t padding;
	/* followed by one region description */
} __attribute__((packed));

#define VHU_CONFIG_MAX_SIZE     256u
#define VHU_CONFIG_FLAG_WRITABLE   0x0u
#define VHU_CONFIG_FLAG_MIGRATION  0x1u

struct vhu_config_hdr {
	uint32_t offset;
	uint32_t size;
	uint32_t flags;
	/* followed by size bytes */
} __attribute__((packed));

struct vhu_log {
	uint64_t mmap_size;
	uint64_t mmap_offset;
} __attribute__((packed));

/* virtio device status bits (SET/GET_STATUS) */
#define VIRTIO_STATUS_ACKNOWLEDGE  0x01u
#define VIRTIO_STATUS_DRIVER       0x02u
#define VIRTIO_STATUS_DRIVER_OK    0x04u
#define VIRTIO_STATUS_FEATURES_OK  0x08u
#define VIRTIO_STATUS_NEEDS_RESET  0x40u
#define VIRTIO_STATUS_FAILED       0x80u

/* Human-readable name of a request, for logs; never NULL. */
static inline const char *vhu_request_name(uint32_t req)
{
	static const char *const names[VHU_REQUEST_MAX] = {
		[VHU_NONE] = "NONE",
		[VHU_GET_FEATURES] = "GET_FEATURES",
		[VHU_SET_FEATURES] = "SET_FEATURES",
		[VHU_SET_OWNER] = "SET_OWNER",
		[VHU_RESET_OWNER] = "RESET_OWNER",
		[VHU_SET_MEM_TABLE] = "SET_MEM_TABLE",
		[VHU_SET_LOG_BASE] = "SET_LOG_BASE",
		[VHU_SET_LOG_FD] = "SET_LOG_FD",
		[VHU_SET_VRING_NUM] = "SET_VRING_NUM",
		[VHU_SET_VRING_ADDR] = "SET_VRING_ADDR",
		[VHU_SET_VRING_BASE] = "SET_VRING_BASE",
		[VHU_GET_VRING_BASE] = "GET_VRING_BASE",
		[VHU_SET_VRING_KICK] = "SET_VRING_KICK",
		[VHU_SET_VRING_CALL] = "SET_VRING_CALL",
		[VHU_SET_VRING_ERR] = "SET_VRING_ERR",
		[VHU_GET_PROTOCOL_FEATURES] = "GET_PROTOCOL_FEATURES",
		[VHU_SET_PROTOCOL_FEATURES] = "SET_PROTOCOL_FEATURES",
		[VHU_GET_QUEUE_NUM] = "GET_QUEUE_NUM",
		[VHU_SET_VRING_ENABLE] = "SET_VRING_ENABLE",
		[VHU_SEND_RARP] = "SEND_RARP",
		[VHU_NET_SET_MTU] = "NET_SET_MTU",
		[VHU_SET_BACKEND_REQ_FD] = "SET_BACKEND_REQ_FD",
		[VHU_IOTLB_MSG] = "IOTLB_MSG",
		[VHU_SET_VRING_ENDIAN] = "SET_VRING_ENDIAN",
		[VHU_GET_CONFIG] = "GET_CONFIG",
		[VHU_SET_CONFIG] = "SET_CONFIG",
		[VHU_CREATE_CRYPTO_SESSION] = "CREATE_CRYPTO_SESSION",
		[VHU_CLOSE_CRYPTO_SESSION] = "CLOSE_CRYPTO_SESSION",
		[VHU_POSTCOPY_ADVISE] = "POSTCOPY_ADVISE",
		[VHU_POSTCOPY_LISTEN] = "POSTCOPY_LISTEN",
		[VHU_POSTCOPY_END] = "POSTCOPY_END",
		[VHU_GET_INFLIGHT_FD] = "GET_INFLIGHT_FD",
		[VHU_SET_INFLIGHT_FD] = "SET_INFLIGHT_FD",
		[VHU_GPU_SET_SOCKET] = "GPU_SET_SOCKET",
		[VHU_RESET_DEVICE] = "RESET_DEVICE",
		[VHU_VRING_KICK] = "VRING_KICK",
		[VHU_GET_MAX_MEM_SLOTS] = "GET_MAX_MEM_SLOTS",
		[VHU_ADD_MEM_REG] = "ADD_MEM_REG",
		[VHU_REM_MEM_REG] = "REM_MEM_REG",
		[VHU_SET_STATUS] = "SET_STATUS",
		[VHU_GET_STATUS] = "GET_STATUS",
		[VHU_GET_SHARED_OBJECT] = "GET_SHARED_OBJECT",
		[VHU_SET_DEVICE_STATE_FD] = "SET_DEVICE_STATE_FD",
		[VHU_CHECK_DEVICE_STATE] = "CHECK_DEVICE_STATE",
	};
	if (req < VHU_REQUEST_MAX && names[req])
		return names[req];
	return "UNKNOWN";
}

#endif
