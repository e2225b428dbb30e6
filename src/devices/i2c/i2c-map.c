/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/* --device-list parsing and the address map (promises in i2c-map.h). */
#include "config.h"
#include "vhost-device.h"
#include "i2c-map.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_adapter(char *entry, struct i2c_adapter_spec *s, bool *seen,
			 char *err, size_t errlen)
{
	/* strsep, not strtok: "80::81" has an empty address to refuse. */
	char *rest = entry, *tok = strsep(&rest, ":");

	if (!*tok) {
		snprintf(err, errlen, "empty bus name in an adapter entry");
		return -1;
	}
	if (strlen(tok) >= sizeof(s->bus)) {
		snprintf(err, errlen, "bus '%s': name too long", tok);
		return -1;
	}
	snprintf(s->bus, sizeof(s->bus), "%s", tok);
	s->naddrs = 0;
	while ((tok = strsep(&rest, ":"))) {
		unsigned long long a;

		if (vhd_parse_u64(tok, I2C_ADDR_MIN, I2C_ADDR_MAX, &a) < 0) {
			snprintf(err, errlen, "bus '%s': address '%s': expected a decimal 7-bit "
				 "address, %u..%u", s->bus, tok, I2C_ADDR_MIN, I2C_ADDR_MAX);
			return -1;
		}
		if (seen[a]) {
			snprintf(err, errlen, "address %llu (0x%02llx) is given twice", a, a);
			return -1;
		}
		seen[a] = true;
		s->addrs[s->naddrs++] = (uint8_t)a;
	}
	if (s->naddrs == 0) {
		snprintf(err, errlen, "bus '%s': no address given (BUS:ADDR[:ADDR...])", s->bus);
		return -1;
	}
	return 0;
}

int i2c_map_parse(const char *list, struct i2c_adapter_spec *specs, unsigned max,
		  unsigned *n, char *err, size_t errlen)
{
	char *copy = strdup(list), *save = NULL, *entry;
	bool seen[128] = { false };
	unsigned count = 0;
	int r = 0;

	if (!copy) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* strtok_r would skip empty entries: refuse them explicitly. */
	if (!*list || list[0] == ',' || list[strlen(list) - 1] == ',' || strstr(list, ",,")) {
		snprintf(err, errlen, "empty adapter entry in '%s'", list);
		free(copy);
		return -1;
	}
	for (entry = strtok_r(copy, ",", &save); entry; entry = strtok_r(NULL, ",", &save)) {
		if (count == max) {
			snprintf(err, errlen, "more than %u adapters", max);
			r = -1;
			break;
		}
		if (parse_adapter(entry, &specs[count], seen, err, errlen) < 0) {
			r = -1;
			break;
		}
		for (unsigned i = 0; i < count; i++)
			if (strcmp(specs[i].bus, specs[count].bus) == 0) {
				snprintf(err, errlen, "bus '%s' is given twice", specs[i].bus);
				r = -1;
			}
		if (r < 0)
			break;
		count++;
	}
	free(copy);
	if (r == 0)
		*n = count;
	return r;
}

int i2c_map_add(struct i2c_map *m, struct i2c_adapter *a)
{
	if (m->nadapters == I2C_MAX_ADAPTERS)
		return -ENOSPC;
	for (unsigned i = 0; i < m->nadapters; i++)
		if (strcmp(m->adapters[i]->name, a->name) == 0)
			return -EEXIST;
	for (unsigned k = 0; k < 128; k++)
		if (a->client[k] && m->by_addr[k])
			return -EEXIST;
	for (unsigned k = 0; k < 128; k++)
		if (a->client[k])
			m->by_addr[k] = a;
	m->adapters[m->nadapters++] = a;
	return 0;
}

int i2c_map_open(struct i2c_map *m, const struct i2c_adapter_spec *specs, unsigned n,
		 const char *sysfs_root, const struct i2c_sys_ops *sys, char *err, size_t errlen)
{
	memset(m, 0, sizeof(*m));
	for (unsigned i = 0; i < n; i++) {
		struct i2c_adapter *a;
		int r = i2c_adapter_open(&specs[i], sysfs_root, sys, &a, err, errlen);

		if (r == 0 && (r = i2c_map_add(m, a)) < 0) {
			/* A number and a name that resolve to one bus. */
			snprintf(err, errlen, "bus '%s' is %s, given twice", specs[i].bus, a->name);
			i2c_adapter_close(a);
		}
		if (r < 0) {
			i2c_map_close(m);
			return r;
		}
	}
	return 0;
}

void i2c_map_close(struct i2c_map *m)
{
	for (unsigned i = 0; i < m->nadapters; i++)
		i2c_adapter_close(m->adapters[i]);
	memset(m, 0, sizeof(*m));
}
