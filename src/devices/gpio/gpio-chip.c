/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/* What every chip implementation shares (gpio-chip.h). */
#include "config.h"
#include "gpio-chip.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int gpio_chip_alloc_names(struct gpio_chip *c)
{
	c->names = calloc(c->nlines ? c->nlines : 1, sizeof(*c->names));
	if (!c->names)
		return -ENOMEM;
	for (unsigned i = 0; i < c->nlines; i++) {
		c->names[i] = strdup("");
		if (!c->names[i])
			return -ENOMEM;
	}
	return 0;
}

size_t gpio_chip_names_size(const struct gpio_chip *c)
{
	size_t n = 0;
	bool any = false;

	for (unsigned i = 0; i < c->nlines; i++) {
		n += strlen(c->names[i]) + 1;
		any |= c->names[i][0] != 0;
	}
	return any ? n : 0;
}

void gpio_chip_names(const struct gpio_chip *c, char *buf)
{
	for (unsigned i = 0; i < c->nlines; i++) {
		size_t len = strlen(c->names[i]) + 1;

		memcpy(buf, c->names[i], len);
		buf += len;
	}
}

void gpio_chip_close(struct gpio_chip *c)
{
	if (!c)
		return;
	if (c->names)
		for (unsigned i = 0; i < c->nlines; i++)
			free(c->names[i]);
	free(c->names);
	c->names = NULL;
	if (c->ops && c->ops->close)
		c->ops->close(c);
	free(c);
}
