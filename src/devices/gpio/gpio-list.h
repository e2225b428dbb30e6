/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * -l/--device-list: one chip per socket, ':'-separated, as the Rust
 * backend: "N" is /dev/gpiochipN, "sN" a simulated chip of N lines; ours
 * also takes a path ("/dev/gpiochip3") or a chip label ("gpio-sim.0-node0").
 * A label cannot contain ':' (the separator).
 */
#ifndef VHD_GPIO_LIST_H
#define VHD_GPIO_LIST_H

#include <stddef.h>

#include "gpio-chip.h"

/* Most lines of a simulated chip. */
#define GPIO_SIM_MAX_LINES 1024u

enum gpio_entry_kind { GPIO_ENTRY_HOST, GPIO_ENTRY_SIM };

struct gpio_entry {
	enum gpio_entry_kind kind;
	char spec[128];         /* host: number, path or label */
	unsigned sim_lines;     /* sim: N */
};

/* Split list into at most max entries.  0 with *n set, or -1 with err
 * saying which entry is wrong (nothing printed). */
int gpio_list_parse(const char *list, struct gpio_entry *entries, unsigned max,
		    unsigned *n, char *err, size_t errlen);

/* Open the n chips (chip i of a simulated entry gets the control socket
 * "<sim_socket><i>" when sim_socket is not NULL).  Two entries naming the
 * same host chip are refused.  0, or -1 with err filled and nothing left
 * open. */
int gpio_list_open(const struct gpio_entry *entries, unsigned n, const char *sim_socket,
		   struct gpio_chip **chips, char *err, size_t errlen);

#endif
