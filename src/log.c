/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
#include "config.h"
#include "log.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <stdlib.h>
#include <unistd.h>

static const char *program = "vhost-device";
static volatile int cur_level = VHD_LOG_WARN;

static const char *const level_names[] = { "error", "warning", "info", "debug" };

void vhd_log_set_program(const char *name)
{
	const char *slash = strrchr(name, '/');
	program = slash ? slash + 1 : name;
}

void vhd_log_set_level(enum vhd_log_level level)
{
	cur_level = level;
}

enum vhd_log_level vhd_log_get_level(void)
{
	return (enum vhd_log_level)cur_level;
}

int vhd_log_parse_level(const char *s)
{
	static const char *const alias[] = { "error", "warn", "info", "debug" };
	for (int i = 0; i < 4; i++)
		if (!strcasecmp(s, alias[i]) || !strcasecmp(s, level_names[i]))
			return i;
	if (s[0] >= '0' && s[0] <= '3' && s[1] == '\0')
		return s[0] - '0';
	return -1;
}

void vhd_vlog(enum vhd_log_level level, const char *fmt, va_list ap)
{
	char line[1024];
	int n;

	if ((int)level > cur_level)
		return;
	n = snprintf(line, sizeof(line), "%s: %s: ", program, level_names[level]);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(line))
		vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	n = (int)strnlen(line, sizeof(line) - 2);
	line[n++] = '\n';
	/* One write per line so lines of different threads do not interleave. */
	if (write(STDERR_FILENO, line, (size_t)n) < 0) {
		/* nowhere left to report it */
	}
}

void vhd_log(enum vhd_log_level level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vhd_vlog(level, fmt, ap);
	va_end(ap);
}

bool vhd_log_ratelimited(unsigned *counter, unsigned burst,
			 enum vhd_log_level level, const char *fmt, ...)
{
	va_list ap;
	unsigned c = __atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);

	if (c < burst) {
		va_start(ap, fmt);
		vhd_vlog(level, fmt, ap);
		va_end(ap);
		return true;
	}
	if (c == burst)
		vhd_log(level, "(further messages of this kind suppressed)");
	return false;
}
