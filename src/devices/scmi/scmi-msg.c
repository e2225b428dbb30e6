/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * SCMI message framing and dispatch (scmi-msg.h): the header is checked
 * here, the parameters by each command against its exact size.
 */
#include "config.h"
#include "scmi-msg.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

uint64_t scmi_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int scmi_agent_init(struct scmi_agent *a, const struct scmi_sensor_set *set)
{
	a->set = set;
	a->p2a = true;
	a->st = calloc(set->n ? set->n : 1, sizeof(*a->st));
	if (!a->st)
		return -ENOMEM;
	scmi_agent_reset(a);
	return 0;
}

void scmi_agent_reset(struct scmi_agent *a)
{
	for (unsigned i = 0; i < a->set->n; i++) {
		a->st[i].config = SCMI_CFG_DEFAULT;
		a->st[i].notify = false;
		a->st[i].next_due_ns = 0;
	}
	a->notify_changed = true;
}

void scmi_agent_free(struct scmi_agent *a)
{
	free(a->st);
	a->st = NULL;
}

uint32_t scmi_param(const struct scmi_req *r, unsigned i)
{
	uint32_t le;

	memcpy(&le, r->params + 4 * i, sizeof(le));
	return le32toh(le);
}

bool scmi_put32(struct scmi_req *r, uint32_t v)
{
	uint32_t le = htole32(v);

	if (r->cap - r->len < sizeof(le))
		return false;
	memcpy(r->out + r->len, &le, sizeof(le));
	r->len += sizeof(le);
	return true;
}

bool scmi_put_name(struct scmi_req *r, const char *name)
{
	char buf[SCMI_NAME_SIZE] = { 0 };

	if (r->cap - r->len < sizeof(buf))
		return false;
	strncpy(buf, name, sizeof(buf) - 1);
	memcpy(r->out + r->len, buf, sizeof(buf));
	r->len += sizeof(buf);
	return true;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	uint32_t le = htole32(v);

	memcpy(p, &le, sizeof(le));
}

size_t scmi_handle(struct scmi_agent *a, const uint8_t *req, size_t req_len,
		   uint8_t *resp, size_t resp_cap)
{
	struct scmi_req r;
	uint32_t le;
	int status;

	if (req_len < 4 || resp_cap < 8)
		return 0;
	memcpy(&le, req, sizeof(le));
	r = (struct scmi_req){
		.hdr = le32toh(le),
		.params = req + 4,
		.plen = req_len - 4,
		.out = resp + 8,
		.cap = resp_cap - 8,
	};
	if (SCMI_HDR_TYPE(r.hdr) != SCMI_TYPE_COMMAND)
		status = SCMI_PROTOCOL_ERROR;       /* an agent sends commands only */
	else if (SCMI_HDR_PROTO(r.hdr) == SCMI_PROTO_BASE)
		status = scmi_base_handle(a, &r);
	else if (SCMI_HDR_PROTO(r.hdr) == SCMI_PROTO_SENSOR)
		status = scmi_sensor_handle(a, &r);
	else
		status = SCMI_NOT_SUPPORTED;
	if (status != SCMI_SUCCESS)
		r.len = 0;
	/* The response carries the request's header (virtio 5.17.6.1:
	 * the driver matches responses by their token). */
	put_le32(resp, r.hdr);
	put_le32(resp + 4, (uint32_t)status);
	return 8 + r.len;
}
