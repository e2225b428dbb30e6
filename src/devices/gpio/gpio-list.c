/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/* -l/--device-list (gpio-list.h). */
#include "config.h"
#include "vhost-device.h"
#include "gpio-list.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_entry(const char *s, size_t len, struct gpio_entry *e, char *err,
		       size_t errlen)
{
	char tok[128];
	unsigned long long v;

	if (len == 0) {
		snprintf(err, errlen, "empty entry (entries are separated by ':')");
		return -1;
	}
	if (len >= sizeof(tok)) {
		snprintf(err, errlen, "entry '%.*s...' is too long", 20, s);
		return -1;
	}
	memcpy(tok, s, len);
	tok[len] = 0;
	memset(e, 0, sizeof(*e));
	if (tok[0] == 's' && tok[1] >= '0' && tok[1] <= '9') {
		if (vhd_parse_u64(tok + 1, 1, GPIO_SIM_MAX_LINES, &v) < 0) {
			snprintf(err, errlen, "'%s': a simulated chip has 1..%u lines", tok,
				 GPIO_SIM_MAX_LINES);
			return -1;
		}
		e->kind = GPIO_ENTRY_SIM;
		e->sim_lines = (unsigned)v;
		return 0;
	}
	e->kind = GPIO_ENTRY_HOST;
	memcpy(e->spec, tok, len + 1);
	return 0;
}

int gpio_list_parse(const char *list, struct gpio_entry *entries, unsigned max,
		    unsigned *n, char *err, size_t errlen)
{
	const char *p = list;

	*n = 0;
	for (;;) {
		const char *end = strchr(p, ':');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (*n == max) {
			snprintf(err, errlen, "more than %u entries", max);
			return -1;
		}
		if (parse_entry(p, len, &entries[*n], err, errlen) < 0)
			return -1;
		(*n)++;
		if (!end)
			return 0;
		p = end + 1;
	}
}

int gpio_list_open(const struct gpio_entry *entries, unsigned n, const char *sim_socket,
		   struct gpio_chip **chips, char *err, size_t errlen)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		char path[4096];
		int r;

		chips[i] = NULL;
		if (entries[i].kind == GPIO_ENTRY_SIM) {
			if (sim_socket)
				snprintf(path, sizeof(path), "%s%u", sim_socket, i);
			r = gpio_sim_open(entries[i].sim_lines, sim_socket ? path : NULL,
					  &chips[i], err, errlen);
		} else {
			r = gpio_host_open(entries[i].spec, &chips[i], err, errlen);
		}
		if (r < 0)
			goto fail;
		for (unsigned j = 0; j < i; j++)
			if (chips[i]->id[0] && !strcmp(chips[i]->id, chips[j]->id)) {
				snprintf(err, errlen, "entries %u and %u are the same chip (%s): "
					 "each guest needs a chip of its own", j, i, chips[i]->id);
				i++;
				goto fail;
			}
	}
	return 0;
fail:
	while (i-- > 0) {
		gpio_chip_close(chips[i]);
		chips[i] = NULL;
	}
	return -1;
}
