/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * vhd_ops_check: the start-up check of a device's ops table (declared in
 * vhost-device.h).  Every rule here stands for a fault that would
 * otherwise show up later and worse: a NULL call on the first kick or
 * GET_CONFIG, a config buffer overrun, a ring size a split ring cannot
 * have (virtio 1.2, 2.7 "Split Virtqueues": Queue Size is a power of 2,
 * at most 32768), or a device option that silently shadows a common one.
 */
#include "config.h"
#include "daemon/cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int fault(char *err, size_t errlen, const struct vu_device_ops *ops,
		 const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fault(char *err, size_t errlen, const struct vu_device_ops *ops,
		 const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(err, errlen, "device '%s': ",
		     ops && ops->name && *ops->name ? ops->name : "(unnamed)");
	if (n >= 0 && (size_t)n < errlen) {
		va_start(ap, fmt);
		vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static bool is_pow2(unsigned v)
{
	return v && !(v & (v - 1));
}

/* Printable form of an option key for messages: 'x' or 0x2000. */
static const char *key_str(int key, char *buf, size_t len)
{
	if (key > ' ' && key < 0x7f)
		snprintf(buf, len, "'%c'", key);
	else
		snprintf(buf, len, "0x%x", (unsigned)key);
	return buf;
}

static int check_identity(const struct vu_device_ops *ops, char *err, size_t errlen)
{
	if (!ops->name || !*ops->name)
		return fault(err, errlen, ops, "no name");
	if (!ops->summary)
		return fault(err, errlen, ops, "no summary (the --help line)");
	if (ops->num_queues == 0 || ops->num_queues > VHD_MAX_QUEUES)
		return fault(err, errlen, ops, "num_queues %u: expected 1..%u",
			     ops->num_queues, VHD_MAX_QUEUES);
	if (!is_pow2(ops->max_queue_size) || ops->max_queue_size > VQ_MAX_SIZE)
		return fault(err, errlen, ops,
			     "max_queue_size %u: expected a power of two from 1 to %u",
			     ops->max_queue_size, VQ_MAX_SIZE);
	if (ops->config_size > VHU_CONFIG_MAX_SIZE)
		return fault(err, errlen, ops, "config_size %u: at most %u bytes",
			     ops->config_size, VHU_CONFIG_MAX_SIZE);
	if (ops->config_size && !ops->get_config)
		return fault(err, errlen, ops, "config_size %u without get_config",
			     ops->config_size);
	if (!ops->config_size && (ops->get_config || ops->set_config))
		return fault(err, errlen, ops, "%s without config_size",
			     ops->get_config ? "get_config" : "set_config");
	if (ops->socket_naming != VU_SOCKETS_SUFFIXED &&
	    ops->socket_naming != VU_SOCKETS_EXACT)
		return fault(err, errlen, ops, "socket_naming %d is not a vu_socket_naming",
			     (int)ops->socket_naming);
	if (!ops->queue_kick)
		return fault(err, errlen, ops, "no queue_kick (every device serves its queues)");
	if (ops->socket_count && ops->socket_paths)
		return fault(err, errlen, ops, "socket_count and socket_paths exclude each other");
	return 0;
}

/* The long entry whose val is key, or NULL. */
static const struct option *long_by_key(const struct option *opts, int key)
{
	for (size_t i = 0; opts && opts[i].name; i++)
		if (opts[i].val == key)
			return &opts[i];
	return NULL;
}

static int check_long_options(const struct vu_device_ops *ops, char *err, size_t errlen)
{
	size_t ncore;
	const struct option *core = vhd_cli_core_options(&ncore);
	const struct option *o = ops->options;
	char kb[16];

	for (size_t i = 0; o && o[i].name; i++) {
		if (!*o[i].name)
			return fault(err, errlen, ops, "option entry %zu has an empty name", i);
		if (o[i].flag)
			return fault(err, errlen, ops,
				     "option --%s sets a flag; the core dispatches by val to parse_option",
				     o[i].name);
		if (o[i].has_arg != no_argument && o[i].has_arg != required_argument &&
		    o[i].has_arg != optional_argument)
			return fault(err, errlen, ops, "option --%s: has_arg %d", o[i].name,
				     o[i].has_arg);
		if (o[i].val == 0 || o[i].val == ':' || o[i].val == '?' || o[i].val == -1)
			return fault(err, errlen, ops,
				     "option --%s: val %s is reserved by getopt", o[i].name,
				     key_str(o[i].val, kb, sizeof(kb)));
		for (size_t j = 0; j < ncore; j++) {
			if (!strcmp(o[i].name, core[j].name))
				return fault(err, errlen, ops,
					     "option --%s clashes with the common option --%s",
					     o[i].name, core[j].name);
			if (o[i].val == core[j].val)
				return fault(err, errlen, ops,
					     "option --%s: val %s is the key of the common option --%s",
					     o[i].name, key_str(o[i].val, kb, sizeof(kb)),
					     core[j].name);
		}
		for (size_t j = 0; j < i; j++)
			if (!strcmp(o[i].name, o[j].name))
				return fault(err, errlen, ops, "option --%s is listed twice",
					     o[i].name);
	}
	return 0;
}

static int check_short_options(const struct vu_device_ops *ops, char *err, size_t errlen)
{
	const char *s = ops->short_options ? ops->short_options : "";
	/* The core builds ":" VHD_CLI_CORE_SHORT + this into 128 bytes. */
	size_t room = 128 - 2 - strlen(VHD_CLI_CORE_SHORT);

	if (strlen(s) > room)
		return fault(err, errlen, ops, "short_options longer than %zu characters", room);
	for (size_t i = 0; s[i]; ) {
		unsigned char c = (unsigned char)s[i];
		int want = no_argument;
		const struct option *lo;
		size_t n = 1;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
			return fault(err, errlen, ops,
				     "short_options \"%s\": '%c' at %zu is not an option letter",
				     s, c, i);
		if (strchr(VHD_CLI_CORE_SHORT, c))
			return fault(err, errlen, ops,
				     "short option -%c clashes with a common option", c);
		if (s[i + 1] == ':') {
			want = required_argument;
			n = 2;
			if (s[i + 2] == ':') {
				want = optional_argument;
				n = 3;
			}
		}
		for (size_t j = 0; j < i; j++)
			if ((unsigned char)s[j] == c)
				return fault(err, errlen, ops,
					     "short option -%c is listed twice", c);
		lo = long_by_key(ops->options, c);
		if (!lo)
			return fault(err, errlen, ops,
				     "short option -%c has no long option entry with val '%c'",
				     c, c);
		if (lo->has_arg != want)
			return fault(err, errlen, ops,
				     "short option -%c and --%s disagree on taking an argument",
				     c, lo->name);
		i += n;
	}
	return 0;
}

static int check_command_line(const struct vu_device_ops *ops, char *err, size_t errlen)
{
	bool any = (ops->options && ops->options[0].name) ||
		   (ops->short_options && *ops->short_options);

	if (any && !ops->parse_option)
		return fault(err, errlen, ops, "options without parse_option");
	if (!ops->parse_operand != !ops->operands_usage)
		return fault(err, errlen, ops, "parse_operand and operands_usage go together");
	if (ops->options && ops->options[0].name && !ops->options_help)
		return fault(err, errlen, ops, "options without options_help (--help would hide them)");
	if (check_long_options(ops, err, errlen) < 0)
		return -1;
	return check_short_options(ops, err, errlen);
}

int vhd_ops_check(const struct vu_device_ops *ops, char *err, size_t errlen)
{
	if (!ops)
		return fault(err, errlen, ops, "no ops table");
	if (check_identity(ops, err, errlen) < 0)
		return -1;
	return check_command_line(ops, err, errlen);
}
