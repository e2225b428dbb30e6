/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * SCMI messages (Arm DEN0056, 4.1 "Protocol layer"; virtio 1.3, 5.17
 * "SCMI Device"): a request on the cmdq is a le32 header and le32
 * parameters; the response repeats the header, then an int32 status and
 * the return values.  A notification on the eventq is a header of type 3
 * and its payload.
 *
 * Promises: scmi_handle() never reads past the request nor writes past
 * the response capacity; every request with a header gets an answer of
 * header + status at least when the capacity allows 8 bytes; a parameter
 * block of the wrong size is PROTOCOL_ERROR, an unknown protocol or
 * command NOT_SUPPORTED, a response that does not fit COMMS_ERROR.  It
 * does no I/O besides the sensors' read callbacks and keeps its state in
 * struct scmi_agent (one per connection).
 */
#ifndef VHD_SCMI_MSG_H
#define VHD_SCMI_MSG_H

#include "scmi-sensor-dev.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Header fields (DEN0056 4.1.2 "Message header format"). */
#define SCMI_HDR_MSG_ID(h)    ((h) & 0xffu)
#define SCMI_HDR_TYPE(h)      (((h) >> 8) & 0x3u)
#define SCMI_HDR_PROTO(h)     (((h) >> 10) & 0xffu)
#define SCMI_HDR_TOKEN(h)     (((h) >> 18) & 0x3ffu)
#define SCMI_HDR(msg, type, proto, token) \
	((uint32_t)(msg) | (uint32_t)(type) << 8 | (uint32_t)(proto) << 10 | \
	 (uint32_t)(token) << 18)

#define SCMI_TYPE_COMMAND 0
#define SCMI_TYPE_NOTIFICATION 3

#define SCMI_PROTO_BASE 0x10
#define SCMI_PROTO_SENSOR 0x15

/* Commands every protocol has (DEN0056 4.1.4). */
#define SCMI_PROTOCOL_VERSION 0x0
#define SCMI_PROTOCOL_ATTRIBUTES 0x1
#define SCMI_PROTOCOL_MESSAGE_ATTRIBUTES 0x2

/* Base protocol (DEN0056 4.2). */
#define SCMI_BASE_VERSION 0x20000u
#define SCMI_BASE_DISCOVER_VENDOR 0x3
#define SCMI_BASE_DISCOVER_SUB_VENDOR 0x4
#define SCMI_BASE_DISCOVER_IMPLEMENTATION_VERSION 0x5
#define SCMI_BASE_DISCOVER_LIST_PROTOCOLS 0x6
#define SCMI_BASE_DISCOVER_AGENT 0x7

/* Sensor protocol (DEN0056 4.7). */
#define SCMI_SENSOR_VERSION 0x30000u
#define SCMI_SENSOR_DESCRIPTION_GET 0x3
#define SCMI_SENSOR_TRIP_POINT_NOTIFY 0x4
#define SCMI_SENSOR_TRIP_POINT_CONFIG 0x5
#define SCMI_SENSOR_READING_GET 0x6
#define SCMI_SENSOR_AXIS_DESCRIPTION_GET 0x7
#define SCMI_SENSOR_LIST_UPDATE_INTERVALS 0x8
#define SCMI_SENSOR_CONFIG_GET 0x9
#define SCMI_SENSOR_CONFIG_SET 0xA
#define SCMI_SENSOR_CONTINUOUS_UPDATE_NOTIFY 0xB
#define SCMI_SENSOR_UPDATE_EVENT 0x1      /* notification message id */

/* Status codes (DEN0056 4.1.4 "Status codes"). */
enum scmi_status {
	SCMI_SUCCESS = 0,
	SCMI_NOT_SUPPORTED = -1,
	SCMI_INVALID_PARAMETERS = -2,
	SCMI_DENIED = -3,
	SCMI_NOT_FOUND = -4,
	SCMI_OUT_OF_RANGE = -5,
	SCMI_BUSY = -6,
	SCMI_COMMS_ERROR = -7,
	SCMI_GENERIC_ERROR = -8,
	SCMI_HARDWARE_ERROR = -9,
	SCMI_PROTOCOL_ERROR = -10,
};

/* Sensor configuration word (DEN0056 4.7.2.10 SENSOR_CONFIG_GET). */
#define SCMI_CFG_ENABLED 0x1u
#define SCMI_CFG_TIMESTAMP 0x2u
#define SCMI_CFG_RESERVED 0x1fcu            /* bits 8:2 */
#define SCMI_CFG_ROUND(c) (((c) >> 9) & 0x3u)
#define SCMI_CFG_SECS(c) ((c) >> 16)
#define SCMI_CFG_EXP(c) ((int)(((c) >> 11) & 0x1fu) - (((c) & 0x8000u) ? 32 : 0))
/* Default update interval 100 ms: 1 x 10^-1 s. */
#define SCMI_CFG_DEFAULT (1u << 16 | 0x1fu << 11)

/* Timestamps are in nanoseconds: exponent -9 (DEN0056 4.7.2.5,
 * attributes_low bits 14:10). */
#define SCMI_TSTAMP_EXP (-9)

/* Largest request: header + two parameters (no command takes more). */
#define SCMI_MAX_REQUEST 12
/* Responses are built in a buffer of this size at most. */
#define SCMI_MAX_RESPONSE 1024

/* One sensor's state as one agent (connection) configured it. */
struct scmi_sensor_state {
	uint32_t config;
	bool notify;               /* CONTINUOUS_UPDATE_NOTIFY enabled */
	uint64_t next_due_ns;      /* next notification (when due) */
};

/* One agent: the guest on one connection. */
struct scmi_agent {
	const struct scmi_sensor_set *set;
	struct scmi_sensor_state *st;   /* set->n entries */
	/* Set when a command changed what notifications are due; the
	 * transport re-plans its timer and clears it. */
	bool notify_changed;
	/* The event queue exists (VIRTIO_SCMI_F_P2A_CHANNELS acked): without
	 * it CONTINUOUS_UPDATE_NOTIFY is NOT_SUPPORTED. */
	bool p2a;
};

/* 0, or -ENOMEM. */
int scmi_agent_init(struct scmi_agent *a, const struct scmi_sensor_set *set);
/* Forget the guest's configuration (a new connection). */
void scmi_agent_reset(struct scmi_agent *a);
void scmi_agent_free(struct scmi_agent *a);

/* Answer one request.  Returns the response length (0 when the request
 * has no header or the capacity is under 8 bytes: nothing to answer). */
size_t scmi_handle(struct scmi_agent *a, const uint8_t *req, size_t req_len,
		   uint8_t *resp, size_t resp_cap);

/* Build a SENSOR_UPDATE notification for sensor id into buf (DEN0056
 * 4.7.3.2).  Returns its length, 0 if cap is too small, or -1 if the read
 * failed. */
long scmi_sensor_update_notification(struct scmi_agent *a, unsigned id, uint8_t *buf,
				     size_t cap);
/* Nanoseconds between two notifications of a sensor with this config. */
uint64_t scmi_cfg_interval_ns(uint32_t config);

/* ---- inside the protocol layer -------------------------------------- */

/* A request being answered: its parameters, and the response under
 * construction (after header and status). */
struct scmi_req {
	uint32_t hdr;
	const uint8_t *params;
	size_t plen;
	uint8_t *out;              /* return values go here */
	size_t cap;                /* room for return values */
	size_t len;                /* return values written */
};

/* Parameter i (le32). The caller checked plen. */
uint32_t scmi_param(const struct scmi_req *r, unsigned i);
/* Append return values; false when they do not fit (COMMS_ERROR). */
bool scmi_put32(struct scmi_req *r, uint32_t v);
bool scmi_put_name(struct scmi_req *r, const char *name);

/* Protocol handlers: return the status; on SCMI_SUCCESS r->len is the
 * return values' length. */
int scmi_base_handle(struct scmi_agent *a, struct scmi_req *r);
int scmi_sensor_handle(struct scmi_agent *a, struct scmi_req *r);

uint64_t scmi_now_ns(void);

#endif
