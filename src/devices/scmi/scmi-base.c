/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * The SCMI base protocol (DEN0056 4.2), version 2.0: what the agent
 * learns first -- the vendor, the protocols implemented (only the sensor
 * protocol), and the agents (DISCOVER_AGENT: the platform is agent 0, the
 * guest agent 1).  Error notifications and permissions (BASE_NOTIFY_ERRORS,
 * SET_*_PERMISSIONS, RESET_AGENT_CONFIGURATION) are optional for a single
 * agent and answered NOT_SUPPORTED.
 */
#include "config.h"
#include "scmi-msg.h"

#define VENDOR "vhost-device-c"
#define SUB_VENDOR "virtio-scmi"
/* DISCOVER_IMPLEMENTATION_VERSION: vendor-defined; 1.0 of this backend. */
#define IMPLEMENTATION_VERSION 0x00010000u
#define NUM_AGENTS 1           /* besides the platform */
#define AGENT_GUEST 1
#define AGENT_SELF 0xffffffffu

static const uint8_t protocols[] = { SCMI_PROTO_SENSOR };

/* The commands of this protocol and their parameter sizes. */
static int base_param_size(unsigned msg)
{
	switch (msg) {
	case SCMI_PROTOCOL_VERSION:
	case SCMI_PROTOCOL_ATTRIBUTES:
	case SCMI_BASE_DISCOVER_VENDOR:
	case SCMI_BASE_DISCOVER_SUB_VENDOR:
	case SCMI_BASE_DISCOVER_IMPLEMENTATION_VERSION:
		return 0;
	case SCMI_PROTOCOL_MESSAGE_ATTRIBUTES:
	case SCMI_BASE_DISCOVER_LIST_PROTOCOLS:
	case SCMI_BASE_DISCOVER_AGENT:
		return 4;
	default:
		return -1;
	}
}

static int list_protocols(struct scmi_req *r)
{
	uint32_t skip = scmi_param(r, 0), n, word;

	if (skip > sizeof(protocols))
		return SCMI_INVALID_PARAMETERS;
	n = (uint32_t)sizeof(protocols) - skip;
	if (!scmi_put32(r, n))
		return SCMI_COMMS_ERROR;
	/* The list is bytes, padded to a whole le32 (4.2.2.7). */
	for (uint32_t i = 0; i < n; i += 4) {
		word = 0;
		for (uint32_t j = 0; j < 4 && i + j < n; j++)
			word |= (uint32_t)protocols[skip + i + j] << (8 * j);
		if (!scmi_put32(r, word))
			return SCMI_COMMS_ERROR;
	}
	return SCMI_SUCCESS;
}

static int discover_agent(struct scmi_req *r)
{
	uint32_t id = scmi_param(r, 0);

	if (id == AGENT_SELF)
		id = AGENT_GUEST;
	if (id > NUM_AGENTS)
		return SCMI_NOT_FOUND;
	if (!scmi_put32(r, id) || !scmi_put_name(r, id == 0 ? "platform" : "OSPM"))
		return SCMI_COMMS_ERROR;
	return SCMI_SUCCESS;
}

int scmi_base_handle(struct scmi_agent *a, struct scmi_req *r)
{
	unsigned msg = SCMI_HDR_MSG_ID(r->hdr);
	int want = base_param_size(msg);
	bool ok = true;

	(void)a;
	if (want < 0)
		return SCMI_NOT_SUPPORTED;
	if (r->plen != (size_t)want)
		return SCMI_PROTOCOL_ERROR;
	switch (msg) {
	case SCMI_PROTOCOL_VERSION:
		ok = scmi_put32(r, SCMI_BASE_VERSION);
		break;
	case SCMI_PROTOCOL_ATTRIBUTES:
		ok = scmi_put32(r, NUM_AGENTS << 8 | (uint32_t)sizeof(protocols));
		break;
	case SCMI_PROTOCOL_MESSAGE_ATTRIBUTES:
		if (scmi_param(r, 0) > 0xff || base_param_size(scmi_param(r, 0)) < 0)
			return SCMI_NOT_FOUND;
		ok = scmi_put32(r, 0);
		break;
	case SCMI_BASE_DISCOVER_VENDOR:
		ok = scmi_put_name(r, VENDOR);
		break;
	case SCMI_BASE_DISCOVER_SUB_VENDOR:
		ok = scmi_put_name(r, SUB_VENDOR);
		break;
	case SCMI_BASE_DISCOVER_IMPLEMENTATION_VERSION:
		ok = scmi_put32(r, IMPLEMENTATION_VERSION);
		break;
	case SCMI_BASE_DISCOVER_LIST_PROTOCOLS:
		return list_protocols(r);
	case SCMI_BASE_DISCOVER_AGENT:
		return discover_agent(r);
	}
	return ok ? SCMI_SUCCESS : SCMI_COMMS_ERROR;
}
