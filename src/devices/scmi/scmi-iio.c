/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * -d iio: a sensor of the host's Industrial I/O subsystem, read from its
 * sysfs directory (Linux Documentation/ABI/testing/sysfs-bus-iio): the
 * value of an axis is (CH[_x]_raw + CH[_x]_offset) * CH[_x]_scale in the
 * channel type's IIO unit, converted to the SCMI unit of its class and
 * given as an integer in units of 10^scale, with scale chosen at start
 * from CH_scale so three more decimal digits than the raw value has are
 * kept.  _scale and _offset are read once, at start; _raw at every
 * reading.  Continuous updates sample _raw on a timer (scmi-notify.c), not
 * the IIO buffer (/dev/iio:deviceN) as the Rust backend does.
 */
#include "config.h"
#include "scmi-sensor-dev.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct iio {
	struct scmi_sensor s;
	char *raw[SCMI_MAX_AXES];  /* the _raw file of each axis (or the scalar) */
	double mult[SCMI_MAX_AXES];    /* scale * 10^(unit exponent - s.scale) */
	double offset[SCMI_MAX_AXES];
};

/* IIO channel types and their SCMI class; IIO's unit is 10^exp of the
 * SCMI one (temperature in milli degrees Celsius, pressure in kPa, ...). */
static const struct {
	const char *type;
	uint8_t sclass;
	int exp;
} iio_types[] = {
	{ "accel", SCMI_CLASS_METERS_SEC_SQUARED, 0 },
	{ "anglvel", SCMI_CLASS_RADIANS_SEC, 0 },
	{ "magn", SCMI_CLASS_GAUSS, 0 },
	{ "temp", SCMI_CLASS_TEMPERATURE_C, -3 },
	{ "voltage", SCMI_CLASS_VOLTAGE, -3 },
	{ "current", SCMI_CLASS_CURRENT, -3 },
	{ "power", SCMI_CLASS_POWER, -3 },
	{ "pressure", SCMI_CLASS_PASCALS, 3 },
	{ "humidityrelative", SCMI_CLASS_PERCENTAGE, -3 },
	{ "illuminance", SCMI_CLASS_LUX, 0 },
};

/* Read a small sysfs file into buf (NUL-terminated, trailing newline
 * removed).  0 or -errno. */
static int read_attr(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = 0;
	return 0;
}

static char *attr_path(const char *dir, const char *ch, const char *axis, const char *what)
{
	char *p = NULL;

	if (asprintf(&p, "%s/%s%s_%s", dir, ch, axis, what) < 0)
		return NULL;
	return p;
}

/* A number from CH<axis>_<what>, or CH_<what>, or `def` if neither
 * exists.  0, or -1 with err filled (a file that is not a number). */
static int read_number(const char *dir, const char *ch, const char *axis, const char *what,
		       double def, double *out, char *err, size_t errlen)
{
	const char *axes[2] = { axis, "" };
	char buf[64], *end, *p;

	*out = def;
	for (unsigned i = 0; i < 2; i++) {
		int rc;

		p = attr_path(dir, ch, axes[i], what);
		if (!p)
			return -1;
		rc = read_attr(p, buf, sizeof(buf));
		if (rc == -ENOENT) {
			free(p);
			continue;
		}
		errno = 0;
		*out = rc < 0 ? 0 : strtod(buf, &end);
		if (rc < 0 || errno || end == buf || *end || !isfinite(*out)) {
			snprintf(err, errlen, "iio: %s: %s", p,
				 rc < 0 ? strerror(-rc) : "not a number");
			free(p);
			return -1;
		}
		free(p);
		return 0;
	}
	return 0;
}

static int iio_read(struct scmi_sensor *s, int64_t *values)
{
	struct iio *d = s->priv;
	unsigned n = s->num_axes ? s->num_axes : 1;
	char buf[64], *end;

	for (unsigned i = 0; i < n; i++) {
		long long raw;
		double v;

		if (read_attr(d->raw[i], buf, sizeof(buf)) < 0)
			return -EIO;
		errno = 0;
		raw = strtoll(buf, &end, 10);
		if (errno || end == buf || *end)
			return -EIO;
		v = nearbyint(((double)raw + d->offset[i]) * d->mult[i]);
		if (!(v > -9.2e18 && v < 9.2e18))
			return -ERANGE;
		values[i] = (int64_t)v;
	}
	return 0;
}

static void iio_free(struct scmi_sensor *s)
{
	struct iio *d = s->priv;

	for (unsigned i = 0; i < SCMI_MAX_AXES; i++)
		free(d->raw[i]);
	free(d);
}

static const struct scmi_sensor_ops iio_ops = { .read = iio_read, .free = iio_free };

static int class_of(const char *ch, uint8_t *sclass, int *exp)
{
	const char *t = strncmp(ch, "in_", 3) ? ch : ch + 3;
	size_t len = strcspn(t, "0123456789_");

	for (size_t i = 0; i < sizeof(iio_types) / sizeof(iio_types[0]); i++)
		if (strlen(iio_types[i].type) == len && !strncmp(t, iio_types[i].type, len)) {
			*sclass = iio_types[i].sclass;
			*exp = iio_types[i].exp;
			return 0;
		}
	*sclass = SCMI_CLASS_NONE;
	*exp = 0;
	return -1;
}

/* Find the axes: CH_x_raw.. (3 axes) or CH_raw (scalar). */
static int find_axes(struct iio *d, const char *dir, const char *ch, char *err, size_t errlen)
{
	static const char *const axes[SCMI_MAX_AXES] = { "_x", "_y", "_z" };

	for (unsigned i = 0; i < SCMI_MAX_AXES; i++) {
		d->raw[i] = attr_path(dir, ch, axes[i], "raw");
		if (!d->raw[i] || access(d->raw[i], R_OK) < 0)
			break;
		d->s.num_axes = i + 1;
	}
	if (d->s.num_axes == SCMI_MAX_AXES)
		return 0;
	for (unsigned i = 0; i < SCMI_MAX_AXES; i++) {
		free(d->raw[i]);
		d->raw[i] = NULL;
	}
	d->s.num_axes = 0;
	d->raw[0] = attr_path(dir, ch, "", "raw");
	if (d->raw[0] && access(d->raw[0], R_OK) == 0)
		return 0;
	snprintf(err, errlen, "iio: %s has neither %s_x_raw, %s_y_raw and %s_z_raw nor %s_raw",
		 dir, ch, ch, ch, ch);
	return -1;
}

static int setup(struct iio *d, const char *dir, const char *ch, const char *name,
		 char *err, size_t errlen)
{
	static const char *const axes[SCMI_MAX_AXES] = { "_x", "_y", "_z" };
	unsigned n;
	double scale[SCMI_MAX_AXES], biggest = 0;
	int unit_exp, e;

	if (find_axes(d, dir, ch, err, errlen) < 0)
		return -1;
	n = d->s.num_axes ? d->s.num_axes : 1;
	class_of(ch, &d->s.sclass, &unit_exp);
	for (unsigned i = 0; i < n; i++) {
		const char *axis = d->s.num_axes ? axes[i] : "";

		if (read_number(dir, ch, axis, "scale", 1, &scale[i], err, errlen) < 0 ||
		    read_number(dir, ch, axis, "offset", 0, &d->offset[i], err, errlen) < 0)
			return -1;
		scale[i] *= pow(10, unit_exp);
		if (fabs(scale[i]) > biggest)
			biggest = fabs(scale[i]);
	}
	/* Three decimal digits finer than one raw step. */
	e = biggest > 0 ? (int)floor(log10(biggest)) - 3 : 0;
	e = e < -16 ? -16 : e > 15 ? 15 : e;
	d->s.scale = (int8_t)e;
	for (unsigned i = 0; i < n; i++)
		d->mult[i] = scale[i] * pow(10, -e);
	d->s.min = INT64_MIN + 1;
	d->s.max = INT64_MAX;
	if (name) {
		snprintf(d->s.name, SCMI_NAME_SIZE, "%s", name);
	} else {
		char buf[64], *p;

		if (asprintf(&p, "%s/name", dir) < 0)
			return -1;
		if (read_attr(p, buf, sizeof(buf)) < 0 || !*buf)
			snprintf(buf, sizeof(buf), "iio");
		free(p);
		snprintf(d->s.name, SCMI_NAME_SIZE, "%.15s", buf);
	}
	scmi_sensor_name_axes(&d->s);
	return 0;
}

int scmi_iio_new(char *const *props, unsigned n, struct scmi_sensor **out,
		 char *err, size_t errlen)
{
	const char *dir = NULL, *ch = NULL, *name = NULL;
	struct iio *d;

	for (unsigned i = 0; i < n; i++) {
		if (!strncmp(props[i], "path=", 5))
			dir = props[i] + 5;
		else if (!strncmp(props[i], "channel=", 8))
			ch = props[i] + 8;
		else if (!strncmp(props[i], "name=", 5))
			name = props[i] + 5;
		else {
			snprintf(err, errlen,
				 "iio: unknown property '%s' (expected path=, channel=, name=)",
				 props[i]);
			return -1;
		}
	}
	if (!dir || !*dir || !ch || !*ch || strchr(ch, '/')) {
		snprintf(err, errlen, "iio: path= and channel= are required");
		return -1;
	}
	if (name && (!*name || strlen(name) >= SCMI_NAME_SIZE)) {
		snprintf(err, errlen, "iio: name '%s': expected 1 to %d characters", name,
			 SCMI_NAME_SIZE - 1);
		return -1;
	}
	d = calloc(1, sizeof(*d));
	if (!d) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	d->s.ops = &iio_ops;
	d->s.priv = d;
	if (setup(d, dir, ch, name, err, errlen) < 0) {
		iio_free(&d->s);
		return -1;
	}
	*out = &d->s;
	return 0;
}
