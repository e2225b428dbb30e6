/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/* Built without libgpiod: only simulated chips (configure's summary says so). */
#include "config.h"
#include "gpio-chip.h"

#include <errno.h>
#include <stdio.h>

const bool gpio_host_supported = false;

int gpio_host_open(const char *spec, struct gpio_chip **out, char *err, size_t errlen)
{
	(void)out;
	snprintf(err, errlen, "cannot open GPIO chip '%s': this vhost-device-gpio was built "
		 "without libgpiod, only simulated chips (sN) are available", spec);
	return -ENOTSUP;
}
