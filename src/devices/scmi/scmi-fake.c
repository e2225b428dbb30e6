/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * -d fake: a 3-axis accelerometer with readings a test can predict.  Its
 * k-th reading (k counts every read of this sensor, by any agent, from 0)
 * is X = k, Y = 1000 + k, Z = 2000 + k in units of 10^-3 m/s^2.
 */
#include "config.h"
#include "scmi-sensor-dev.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fake {
	struct scmi_sensor s;
	uint64_t reads;            /* atomic: instances read it from any worker */
};

static int fake_read(struct scmi_sensor *s, int64_t *values)
{
	struct fake *f = s->priv;
	int64_t k = (int64_t)__atomic_fetch_add(&f->reads, 1, __ATOMIC_RELAXED);

	for (unsigned i = 0; i < SCMI_MAX_AXES; i++)
		values[i] = 1000 * (int64_t)i + k;
	return 0;
}

static void fake_free(struct scmi_sensor *s)
{
	free(s->priv);
}

static const struct scmi_sensor_ops fake_ops = { .read = fake_read, .free = fake_free };

int scmi_fake_new(char *const *props, unsigned n, struct scmi_sensor **out,
		  char *err, size_t errlen)
{
	const char *name = "fake";
	struct fake *f;

	for (unsigned i = 0; i < n; i++) {
		if (!strncmp(props[i], "name=", 5)) {
			name = props[i] + 5;
			continue;
		}
		snprintf(err, errlen, "fake: unknown property '%s' (expected name=)", props[i]);
		return -1;
	}
	if (!*name || strlen(name) >= SCMI_NAME_SIZE) {
		snprintf(err, errlen, "fake: name '%s': expected 1 to %d characters", name,
			 SCMI_NAME_SIZE - 1);
		return -1;
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	strcpy(f->s.name, name);
	f->s.sclass = SCMI_CLASS_METERS_SEC_SQUARED;
	f->s.scale = -3;
	f->s.num_axes = SCMI_MAX_AXES;
	f->s.min = INT32_MIN;
	f->s.max = INT32_MAX;
	f->s.ops = &fake_ops;
	f->s.priv = f;
	scmi_sensor_name_axes(&f->s);
	*out = &f->s;
	return 0;
}
