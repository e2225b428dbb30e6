/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * -d ID[,prop=value...]: the Rust backend's device syntax.  The ID picks
 * the kind (fake, iio); the kind checks its own properties.
 */
#include "config.h"
#include "scmi-sensor-dev.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PROPS 8
#define MAX_SENSORS 0xffff     /* num_sensors is 16 bits (DEN0056 4.7.2.4) */

const char scmi_devices_help[] =
	"Devices for -d/--device ID[,prop=value...] (any number of each):\n"
	"\n"
	"fake   a fake 3-axis accelerometer (m/s^2, unit 10^-3): its k-th reading\n"
	"       (k = 0, 1, ...) is X = k, Y = 1000 + k, Z = 2000 + k\n"
	"       name=NAME   the sensor's name, at most 15 characters (default: fake)\n"
	"\n"
	"iio    a sensor of the host's Industrial I/O subsystem, read from sysfs\n"
	"       path=DIR    the IIO device directory (/sys/bus/iio/devices/iio:deviceN),\n"
	"                   required\n"
	"       channel=CH  the channel prefix (in_accel, in_anglvel, in_temp, ...),\n"
	"                   required: CH_x_raw, CH_y_raw, CH_z_raw make a 3-axis\n"
	"                   sensor, CH_raw a scalar one; CH[_x]_scale and CH_offset\n"
	"                   are applied\n"
	"       name=NAME   the sensor's name, at most 15 characters (default: the\n"
	"                   device's name file)\n";

void scmi_sensor_name_axes(struct scmi_sensor *s)
{
	static const char letter[SCMI_MAX_AXES] = { 'X', 'Y', 'Z' };
	char base[SCMI_NAME_SIZE];

	/* Through a copy: GCC's -Wrestrict (at -O1 with the sanitizers)
	 * cannot tell that two members of *s do not overlap. */
	memcpy(base, s->name, sizeof(base));
	base[sizeof(base) - 1] = 0;
	for (unsigned i = 0; i < s->num_axes; i++)
		snprintf(s->axis_name[i], SCMI_NAME_SIZE, "%.13s_%c", base, letter[i]);
}

int scmi_sensor_add(struct scmi_sensor_set *set, const char *spec, char *err, size_t errlen)
{
	char *copy = strdup(spec), *props[MAX_PROPS], *save = NULL, *kind, *tok;
	struct scmi_sensor *s = NULL, **grown;
	unsigned n = 0;
	int rc = -1;

	if (!copy) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	kind = strtok_r(copy, ",", &save);
	while (kind && (tok = strtok_r(NULL, ",", &save))) {
		if (n == MAX_PROPS) {
			snprintf(err, errlen, "'%s': more than %d properties", spec, MAX_PROPS);
			goto out;
		}
		props[n++] = tok;
	}
	if (set->n == MAX_SENSORS) {
		snprintf(err, errlen, "more than %d devices", MAX_SENSORS);
		goto out;
	}
	if (!kind) {
		snprintf(err, errlen, "empty device: expected ID[,prop=value...]");
		goto out;
	}
	if (!strcmp(kind, "fake")) {
		rc = scmi_fake_new(props, n, &s, err, errlen);
	} else if (!strcmp(kind, "iio")) {
		rc = scmi_iio_new(props, n, &s, err, errlen);
	} else {
		snprintf(err, errlen, "unknown device '%s' (see --help-devices)", kind);
		goto out;
	}
	if (rc < 0)
		goto out;
	rc = -1;
	grown = realloc(set->sensors, (set->n + 1) * sizeof(*grown));
	if (!grown) {
		s->ops->free(s);
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	set->sensors = grown;
	set->sensors[set->n++] = s;
	rc = 0;
out:
	free(copy);
	return rc;
}

void scmi_sensor_set_free(struct scmi_sensor_set *set)
{
	for (unsigned i = 0; i < set->n; i++)
		set->sensors[i]->ops->free(set->sensors[i]);
	free(set->sensors);
	set->sensors = NULL;
	set->n = 0;
}
