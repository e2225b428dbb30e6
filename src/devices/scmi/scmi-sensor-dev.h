/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * The sensors vhost-device-scmi exposes, whatever their kind (-d fake,
 * -d iio): a name, an SCMI sensor class and unit exponent, zero (a scalar)
 * to three axes, and a read callback.
 *
 * Promises: a sensor is made on the main thread while the options are
 * parsed and freed at exit; read() may be called from any worker thread at
 * once for one sensor (the fake's counter is atomic, IIO reads are plain
 * sysfs reads), and never blocks longer than a sysfs read.
 */
#ifndef VHD_SCMI_SENSOR_DEV_H
#define VHD_SCMI_SENSOR_DEV_H

#include <stddef.h>
#include <stdint.h>

/* SCMI names are 16 bytes including the NUL (DEN0056 4.7.2.5). */
#define SCMI_NAME_SIZE 16
#define SCMI_MAX_AXES 3

/* SCMI sensor classes (DEN0056 table "Sensor types", from DMTF DSP0249). */
enum {
	SCMI_CLASS_NONE = 0x00,
	SCMI_CLASS_TEMPERATURE_C = 0x02,
	SCMI_CLASS_VOLTAGE = 0x05,
	SCMI_CLASS_CURRENT = 0x06,
	SCMI_CLASS_POWER = 0x07,
	SCMI_CLASS_LUX = 0x0D,
	SCMI_CLASS_GAUSS = 0x2D,
	SCMI_CLASS_PERCENTAGE = 0x41,
	SCMI_CLASS_PASCALS = 0x42,
	SCMI_CLASS_RADIANS_SEC = 0x57,
	SCMI_CLASS_METERS_SEC_SQUARED = 0x59,
};

struct scmi_sensor;

struct scmi_sensor_ops {
	/* Fill values[0..max(num_axes,1)) in units of 10^scale.  0, or
	 * -errno (the host resource failed: the agent gets HARDWARE_ERROR). */
	int (*read)(struct scmi_sensor *s, int64_t *values);
	void (*free)(struct scmi_sensor *s);
};

struct scmi_sensor {
	char name[SCMI_NAME_SIZE];
	uint8_t sclass;            /* SCMI_CLASS_* */
	int8_t scale;              /* power-of-ten exponent, -16..15 */
	unsigned num_axes;         /* 0 (scalar) or 1..SCMI_MAX_AXES */
	char axis_name[SCMI_MAX_AXES][SCMI_NAME_SIZE];
	int64_t min, max;          /* range of a value (every axis) */
	const struct scmi_sensor_ops *ops;
	void *priv;
};

/* The sensors of the device, in -d order: sensor id i is sensors[i]
 * (Linux indexes its table by the id, so ids are 0..n-1). */
struct scmi_sensor_set {
	struct scmi_sensor **sensors;
	unsigned n;
};

/* Parse one -d argument ("fake,name=acc", "iio,path=...,channel=in_accel")
 * and append the sensor.  0, or -1 with err filled. */
int scmi_sensor_add(struct scmi_sensor_set *set, const char *spec, char *err, size_t errlen);
void scmi_sensor_set_free(struct scmi_sensor_set *set);
/* The text --help-devices prints. */
extern const char scmi_devices_help[];

/* Kinds: each parses its own properties (already split, `props` has n
 * "key=value" strings) into *out.  0, or -1 with err filled. */
int scmi_fake_new(char *const *props, unsigned n, struct scmi_sensor **out,
		  char *err, size_t errlen);
int scmi_iio_new(char *const *props, unsigned n, struct scmi_sensor **out,
		 char *err, size_t errlen);

/* Set s->axis_name[i] to "<name>_X" (.._Y, .._Z): Linux's SCMI IIO driver
 * takes an axis' IIO modifier from the letter after the last '_'. */
void scmi_sensor_name_axes(struct scmi_sensor *s);

#endif
