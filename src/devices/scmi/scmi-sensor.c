/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * The SCMI sensor management protocol (DEN0056 4.7), version 3.0, as
 * Linux's drivers/firmware/arm_scmi/sensors.c reads it at probe:
 * PROTOCOL_ATTRIBUTES, SENSOR_DESCRIPTION_GET (paginated to the response
 * buffer), SENSOR_LIST_UPDATE_INTERVALS and SENSOR_AXIS_DESCRIPTION_GET;
 * then SENSOR_CONFIG_GET/SET, SENSOR_READING_GET (synchronous, one
 * timestamped reading per axis) and SENSOR_CONTINUOUS_UPDATE_NOTIFY.
 * Sensors have no trip points, so the trip-point commands are not
 * implemented (NOT_SUPPORTED), nor are the extended names (names fit the
 * 16-byte short form).
 *
 * Descriptor layouts: an axis sensor's descriptor is the 28-byte base
 * (its ranges are on its axes); a scalar sensor's carries the extended
 * attributes (power, resolution, range: 52 bytes); every axis descriptor
 * has them (48 bytes).  Bit 8 of attributes_low says so each time.
 */
#include "config.h"
#include "scmi-msg.h"

#define SENSOR_DESC_BASE 28
#define SENSOR_DESC_EXT (SENSOR_DESC_BASE + 24)
#define AXIS_DESC_EXT 48
#define READING_SIZE 16

/* Update intervals (DEN0056 4.7.2.8): 10 ms .. 10 s in steps of 10 ms,
 * given as a segment.  An interval word is secs in bits 20:5 and a
 * power-of-ten exponent in bits 4:0. */
#define INTERVAL(secs, exp) ((uint32_t)(secs) << 5 | ((uint32_t)(exp) & 0x1fu))
#define MIN_INTERVAL_NS 10000000ull
#define MAX_INTERVAL_NS 10000000000ull

static const uint32_t intervals[3] = {
	INTERVAL(1, -2),        /* lowest: 10 ms */
	INTERVAL(10, 0),        /* highest: 10 s */
	INTERVAL(1, -2),        /* step: 10 ms */
};

static int sensor_param_size(unsigned msg)
{
	switch (msg) {
	case SCMI_PROTOCOL_VERSION:
	case SCMI_PROTOCOL_ATTRIBUTES:
		return 0;
	case SCMI_PROTOCOL_MESSAGE_ATTRIBUTES:
	case SCMI_SENSOR_DESCRIPTION_GET:
	case SCMI_SENSOR_CONFIG_GET:
		return 4;
	case SCMI_SENSOR_READING_GET:
	case SCMI_SENSOR_AXIS_DESCRIPTION_GET:
	case SCMI_SENSOR_LIST_UPDATE_INTERVALS:
	case SCMI_SENSOR_CONFIG_SET:
	case SCMI_SENSOR_CONTINUOUS_UPDATE_NOTIFY:
		return 8;
	default:
		return -1;
	}
}

uint64_t scmi_cfg_interval_ns(uint32_t config)
{
	uint64_t ns = (uint64_t)SCMI_CFG_SECS(config) * 1000000000u;
	int exp = SCMI_CFG_EXP(config);

	for (; exp < 0 && ns; exp++)
		ns /= 10;
	for (; exp > 0 && ns < MAX_INTERVAL_NS; exp--)
		ns *= 10;
	if (ns < MIN_INTERVAL_NS)
		return MIN_INTERVAL_NS;
	return ns > MAX_INTERVAL_NS ? MAX_INTERVAL_NS : ns;
}

static uint32_t exp5(int e)
{
	return (uint32_t)e & 0x1fu;
}

static bool put64(struct scmi_req *r, int64_t v)
{
	return scmi_put32(r, (uint32_t)(uint64_t)v) &&
	       scmi_put32(r, (uint32_t)((uint64_t)v >> 32));
}

/* Resolution word: 1 unit of 10^scale (bits 26:0 value, 31:27 exp). */
static uint32_t resolution(const struct scmi_sensor *s)
{
	return 1u | exp5(s->scale) << 27;
}

static size_t sensor_desc_size(const struct scmi_sensor *s)
{
	return s->num_axes ? SENSOR_DESC_BASE : SENSOR_DESC_EXT;
}

static bool put_sensor_desc(struct scmi_req *r, unsigned id, const struct scmi_sensor *s)
{
	/* attributes_low: bit 30 continuous update notifications, bits
	 * 14:10 timestamp exponent, bit 9 timestamps, bit 8 extended
	 * attributes; no asynchronous read (31), no trip points (7:0). */
	uint32_t low = 1u << 30 | exp5(SCMI_TSTAMP_EXP) << 10 | 1u << 9 |
		       (s->num_axes ? 0 : 1u << 8);
	/* attributes_high: bits 21:16 axes, 15:11 unit exponent, bit 8
	 * multi-axis, 7:0 sensor class. */
	uint32_t high = (uint32_t)s->num_axes << 16 | exp5(s->scale) << 11 |
			(s->num_axes ? 1u << 8 : 0) | s->sclass;
	bool ok = scmi_put32(r, id) && scmi_put32(r, low) && scmi_put32(r, high) &&
		  scmi_put_name(r, s->name);

	if (ok && !s->num_axes)
		ok = scmi_put32(r, 0) /* power: unknown */ && scmi_put32(r, resolution(s)) &&
		     put64(r, s->min) && put64(r, s->max);
	return ok;
}

static int description_get(struct scmi_agent *a, struct scmi_req *r)
{
	const struct scmi_sensor_set *set = a->set;
	uint32_t first = scmi_param(r, 0), n = 0;
	size_t room;

	if (first > set->n)
		return SCMI_INVALID_PARAMETERS;
	/* As many descriptors as the response buffer holds (4.7.2.5: the
	 * agent asks again from num_returned on). */
	room = r->cap >= 4 ? r->cap - 4 : 0;
	while (first + n < set->n && sensor_desc_size(set->sensors[first + n]) <= room) {
		room -= sensor_desc_size(set->sensors[first + n]);
		n++;
	}
	if (n == 0 && first < set->n)
		return SCMI_COMMS_ERROR;
	/* num_returned (15:0), num_remaining (31:16) */
	if (!scmi_put32(r, n | (set->n - first - n) << 16))
		return SCMI_COMMS_ERROR;
	for (uint32_t i = 0; i < n; i++)
		if (!put_sensor_desc(r, first + i, set->sensors[first + i]))
			return SCMI_COMMS_ERROR;
	return SCMI_SUCCESS;
}

static int axis_description_get(struct scmi_agent *a, struct scmi_req *r)
{
	uint32_t id = scmi_param(r, 0), first = scmi_param(r, 1), n;
	const struct scmi_sensor *s;

	if (id >= a->set->n)
		return SCMI_NOT_FOUND;
	s = a->set->sensors[id];
	if (!s->num_axes)
		return SCMI_NOT_SUPPORTED;
	if (first >= s->num_axes)
		return SCMI_INVALID_PARAMETERS;
	n = s->num_axes - first;
	if (r->cap < 4 + AXIS_DESC_EXT)
		return SCMI_COMMS_ERROR;
	if (n > (r->cap - 4) / AXIS_DESC_EXT)
		n = (uint32_t)((r->cap - 4) / AXIS_DESC_EXT);
	/* num_axis_flags: returned (5:0), remaining (31:26) */
	if (!scmi_put32(r, n | (s->num_axes - first - n) << 26))
		return SCMI_COMMS_ERROR;
	for (uint32_t i = first; i < first + n; i++) {
		/* bit 8 of attributes_low: extended attributes follow */
		bool ok = scmi_put32(r, i) && scmi_put32(r, 1u << 8) &&
			  scmi_put32(r, exp5(s->scale) << 11 | s->sclass) &&
			  scmi_put_name(r, s->axis_name[i]) && scmi_put32(r, resolution(s)) &&
			  put64(r, s->min) && put64(r, s->max);
		if (!ok)
			return SCMI_COMMS_ERROR;
	}
	return SCMI_SUCCESS;
}

static int list_update_intervals(struct scmi_agent *a, struct scmi_req *r)
{
	if (scmi_param(r, 0) >= a->set->n)
		return SCMI_NOT_FOUND;
	/* A segment is one triplet, asked for from index 0. */
	if (scmi_param(r, 1) != 0)
		return SCMI_OUT_OF_RANGE;
	/* 3 returned (11:0), segmented (12), none remaining (31:16) */
	if (!scmi_put32(r, 3u | 1u << 12))
		return SCMI_COMMS_ERROR;
	for (unsigned i = 0; i < 3; i++)
		if (!scmi_put32(r, intervals[i]))
			return SCMI_COMMS_ERROR;
	return SCMI_SUCCESS;
}

/* Read sensor id and append its readings (value, timestamp per axis). */
static int put_readings(struct scmi_agent *a, struct scmi_req *r, unsigned id)
{
	struct scmi_sensor *s = a->set->sensors[id];
	int64_t v[SCMI_MAX_AXES] = { 0 };
	unsigned n = s->num_axes ? s->num_axes : 1;
	uint64_t ts;

	if (r->cap - r->len < (size_t)n * READING_SIZE)
		return SCMI_COMMS_ERROR;
	if (s->ops->read(s, v) < 0)
		return SCMI_HARDWARE_ERROR;
	ts = (a->st[id].config & SCMI_CFG_TIMESTAMP) ? scmi_now_ns() : 0;
	for (unsigned i = 0; i < n; i++)
		if (!put64(r, v[i]) || !put64(r, (int64_t)ts))
			return SCMI_COMMS_ERROR;
	return SCMI_SUCCESS;
}

static int reading_get(struct scmi_agent *a, struct scmi_req *r)
{
	uint32_t id = scmi_param(r, 0), flags = scmi_param(r, 1);

	if (id >= a->set->n)
		return SCMI_NOT_FOUND;
	if (flags & ~1u)
		return SCMI_INVALID_PARAMETERS;
	if (flags & 1u)
		return SCMI_NOT_SUPPORTED;      /* asynchronous read: not offered */
	return put_readings(a, r, id);
}

static int config_set(struct scmi_agent *a, struct scmi_req *r)
{
	uint32_t id = scmi_param(r, 0), config = scmi_param(r, 1);
	struct scmi_sensor_state *st;

	if (id >= a->set->n)
		return SCMI_NOT_FOUND;
	if ((config & SCMI_CFG_RESERVED) || SCMI_CFG_ROUND(config) == 3)
		return SCMI_INVALID_PARAMETERS;
	st = &a->st[id];
	/* An interval of 0 keeps the current one: Linux's SCMI IIO driver
	 * sets the sampling frequency first, then enables the sensor with a
	 * configuration word that has no interval. */
	if (SCMI_CFG_SECS(config) == 0)
		config = (config & 0x7ffu) | (st->config & ~0x7ffu);
	config &= ~(3u << 9);           /* rounding is an instruction, not state */
	st->config = config;
	st->next_due_ns = scmi_now_ns() + scmi_cfg_interval_ns(config);
	a->notify_changed = true;
	return SCMI_SUCCESS;
}

static int continuous_update_notify(struct scmi_agent *a, struct scmi_req *r)
{
	uint32_t id = scmi_param(r, 0), ctl = scmi_param(r, 1);

	if (id >= a->set->n)
		return SCMI_NOT_FOUND;
	if (ctl & ~1u)
		return SCMI_INVALID_PARAMETERS;
	if ((ctl & 1u) && !a->p2a)
		return SCMI_NOT_SUPPORTED;      /* nowhere to send them */
	a->st[id].notify = ctl & 1u;
	a->st[id].next_due_ns = scmi_now_ns() + scmi_cfg_interval_ns(a->st[id].config);
	a->notify_changed = true;
	return SCMI_SUCCESS;
}

int scmi_sensor_handle(struct scmi_agent *a, struct scmi_req *r)
{
	unsigned msg = SCMI_HDR_MSG_ID(r->hdr);
	int want = sensor_param_size(msg);

	if (want < 0)
		return SCMI_NOT_SUPPORTED;
	if (r->plen != (size_t)want)
		return SCMI_PROTOCOL_ERROR;
	switch (msg) {
	case SCMI_PROTOCOL_VERSION:
		return scmi_put32(r, SCMI_SENSOR_VERSION) ? SCMI_SUCCESS : SCMI_COMMS_ERROR;
	case SCMI_PROTOCOL_ATTRIBUTES:
		/* num_sensors (15:0), max pending asynchronous commands
		 * (23:16, none), then no shared-memory statistics. */
		return scmi_put32(r, a->set->n) && scmi_put32(r, 0) && scmi_put32(r, 0) &&
		       scmi_put32(r, 0) ? SCMI_SUCCESS : SCMI_COMMS_ERROR;
	case SCMI_PROTOCOL_MESSAGE_ATTRIBUTES:
		if (scmi_param(r, 0) > 0xff || sensor_param_size(scmi_param(r, 0)) < 0)
			return SCMI_NOT_FOUND;
		return scmi_put32(r, 0) ? SCMI_SUCCESS : SCMI_COMMS_ERROR;
	case SCMI_SENSOR_DESCRIPTION_GET:
		return description_get(a, r);
	case SCMI_SENSOR_AXIS_DESCRIPTION_GET:
		return axis_description_get(a, r);
	case SCMI_SENSOR_LIST_UPDATE_INTERVALS:
		return list_update_intervals(a, r);
	case SCMI_SENSOR_READING_GET:
		return reading_get(a, r);
	case SCMI_SENSOR_CONFIG_GET:
		if (scmi_param(r, 0) >= a->set->n)
			return SCMI_NOT_FOUND;
		return scmi_put32(r, a->st[scmi_param(r, 0)].config) ? SCMI_SUCCESS
								      : SCMI_COMMS_ERROR;
	case SCMI_SENSOR_CONFIG_SET:
		return config_set(a, r);
	case SCMI_SENSOR_CONTINUOUS_UPDATE_NOTIFY:
		return continuous_update_notify(a, r);
	}
	return SCMI_NOT_SUPPORTED;
}

long scmi_sensor_update_notification(struct scmi_agent *a, unsigned id, uint8_t *buf,
				     size_t cap)
{
	struct scmi_req r = { .out = buf, .cap = cap };
	int status;

	/* Header (type 3, notification), agent_id (0: raised by the
	 * platform), sensor_id, then the readings (4.7.3.2). */
	if (!scmi_put32(&r, SCMI_HDR(SCMI_SENSOR_UPDATE_EVENT, SCMI_TYPE_NOTIFICATION,
				      SCMI_PROTO_SENSOR, 0)) ||
	    !scmi_put32(&r, 0) || !scmi_put32(&r, id))
		return 0;
	status = put_readings(a, &r, id);
	if (status == SCMI_HARDWARE_ERROR)
		return -1;
	return status == SCMI_SUCCESS ? (long)r.len : 0;
}
