/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Fuzz target: SCMI commands (Arm DEN0056; virtio 1.3, 5.17 "SCMI
 * Device") through vhost-device-scmi's real message layer (scmi-msg.c,
 * scmi-base.c, scmi-sensor.c) over its real fake sensors, one agent per
 * input.  The input is a flag byte (bit 0: the event queue exists) and a
 * sequence of records: u8 capacity/4 of the response buffer, u8 request
 * length, the request bytes (header and parameters), then u8 a sensor id
 * whose update notification is built.  Checked: the answer fits the
 * buffer, repeats the request's header and always has a status when
 * there is a header and room for one; an error has no return values.
 */
#include "config.h"
#include "fuzz/fuzz.h"

#include <stdlib.h>

#include "log.h"
#include "devices/scmi/scmi-msg.h"

static uint32_t le32_at(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct scmi_sensor_set set = { NULL, 0 };
	struct scmi_agent a;
	char err[128];
	static uint8_t req[256], resp[SCMI_MAX_RESPONSE];

	vhd_log_set_level(VHD_LOG_ERROR);
	if (scmi_sensor_add(&set, "fake,name=acc", err, sizeof(err)) < 0 ||
	    scmi_sensor_add(&set, "fake,name=gyro", err, sizeof(err)) < 0 ||
	    scmi_agent_init(&a, &set) < 0)
		abort();
	a.p2a = fuzz_u8(&in) & 1;
	while (in.left) {
		size_t cap = (size_t)fuzz_u8(&in) * 4, len = fuzz_u8(&in), got;
		long n;

		fuzz_take(&in, req, len);
		got = scmi_handle(&a, req, len, resp, cap);
		if (got > cap)
			abort();
		if (len >= 4 && cap >= 8) {
			if (got < 8 || le32_at(resp) != le32_at(req))
				abort();
			if (le32_at(resp + 4) != 0 && got != 8)
				abort();
		} else if (got != 0) {
			abort();
		}
		n = scmi_sensor_update_notification(&a, fuzz_u8(&in) % set.n, resp, cap);
		if (n > (long)cap)
			abort();
	}
	scmi_agent_free(&a);
	scmi_sensor_set_free(&set);
	return 0;
}
