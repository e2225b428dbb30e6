/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * libvhu-frontend: names of feature bits, for humans (vhost-user-frontend
 * info).  Transport and vhost bits only: bits 0-23 mean something
 * different for every device type, and a vhost-user frontend cannot know
 * the type from the protocol.
 */
#include "config.h"
#include "vhu-frontend.h"

const char *vhu_feature_name(unsigned bit)
{
	switch (bit) {
	case VIRTIO_F_NOTIFY_ON_EMPTY: return "NOTIFY_ON_EMPTY";
	case VHOST_F_LOG_ALL: return "LOG_ALL";
	case VIRTIO_F_ANY_LAYOUT: return "ANY_LAYOUT";
	case VIRTIO_RING_F_INDIRECT_DESC: return "RING_INDIRECT_DESC";
	case VIRTIO_RING_F_EVENT_IDX: return "RING_EVENT_IDX";
	case VHOST_USER_F_PROTOCOL_FEATURES: return "PROTOCOL_FEATURES";
	case VIRTIO_F_VERSION_1: return "VERSION_1";
	case VIRTIO_F_ACCESS_PLATFORM: return "ACCESS_PLATFORM";
	case VIRTIO_F_RING_PACKED: return "RING_PACKED";
	case 35: return "IN_ORDER";
	case 36: return "ORDER_PLATFORM";
	case 37: return "SR_IOV";
	case 38: return "NOTIFICATION_DATA";
	case 39: return "NOTIF_CONFIG_DATA";
	case 40: return "RING_RESET";
	}
	return NULL;
}

const char *vhu_protocol_feature_name(unsigned bit)
{
	static const char *const names[] = {
		[VHU_PF_MQ] = "MQ",
		[VHU_PF_LOG_SHMFD] = "LOG_SHMFD",
		[VHU_PF_RARP] = "RARP",
		[VHU_PF_REPLY_ACK] = "REPLY_ACK",
		[VHU_PF_NET_MTU] = "NET_MTU",
		[VHU_PF_BACKEND_REQ] = "BACKEND_REQ",
		[VHU_PF_CROSS_ENDIAN] = "CROSS_ENDIAN",
		[VHU_PF_CRYPTO_SESSION] = "CRYPTO_SESSION",
		[VHU_PF_PAGEFAULT] = "PAGEFAULT",
		[VHU_PF_CONFIG] = "CONFIG",
		[VHU_PF_BACKEND_SEND_FD] = "BACKEND_SEND_FD",
		[VHU_PF_HOST_NOTIFIER] = "HOST_NOTIFIER",
		[VHU_PF_INFLIGHT_SHMFD] = "INFLIGHT_SHMFD",
		[VHU_PF_RESET_DEVICE] = "RESET_DEVICE",
		[VHU_PF_INBAND_NOTIFICATIONS] = "INBAND_NOTIFICATIONS",
		[VHU_PF_CONFIGURE_MEM_SLOTS] = "CONFIGURE_MEM_SLOTS",
		[VHU_PF_STATUS] = "STATUS",
		[VHU_PF_XEN_MMAP] = "XEN_MMAP",
		[18] = "SHARED_OBJECT",
		[19] = "DEVICE_STATE",
	};

	if (bit < sizeof(names) / sizeof(names[0]))
		return names[bit];
	return NULL;
}
