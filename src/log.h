/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Logging.  One line per event to stderr: "<program>: <level>: <message>".
 * Thread-safe (one write(2) per line).  Messages carry their context
 * themselves: which socket, queue, field and value.
 *
 * Guest- or frontend-caused errors must not flood the log: use
 * vhd_log_ratelimited() with a per-object counter, or log once and set a
 * sticky state (a broken queue).
 */
#ifndef VHD_LOG_H
#define VHD_LOG_H

#include <stdarg.h>
#include <stdbool.h>

enum vhd_log_level {
	VHD_LOG_ERROR = 0,
	VHD_LOG_WARN = 1,
	VHD_LOG_INFO = 2,
	VHD_LOG_DEBUG = 3,
};

/* Program name shown in front of each line (default "vhost-device"). */
void vhd_log_set_program(const char *name);
void vhd_log_set_level(enum vhd_log_level level);
enum vhd_log_level vhd_log_get_level(void);
/* Parse "error|warn|info|debug" (or 0-3).  -1 if unknown. */
int vhd_log_parse_level(const char *s);

void vhd_log(enum vhd_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void vhd_vlog(enum vhd_log_level level, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/* Logs the first `burst` calls made with the same counter, then one line
 * saying further messages are suppressed, then nothing.  Returns true if
 * this call was logged.  The counter is the caller's (per queue, per
 * connection), so one noisy guest cannot silence another. */
bool vhd_log_ratelimited(unsigned *counter, unsigned burst,
			 enum vhd_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#define LOG_ERR(...)   vhd_log(VHD_LOG_ERROR, __VA_ARGS__)
#define LOG_WARN(...)  vhd_log(VHD_LOG_WARN, __VA_ARGS__)
#define LOG_INFO(...)  vhd_log(VHD_LOG_INFO, __VA_ARGS__)
#define LOG_DEBUG(...) do { if (vhd_log_get_level() >= VHD_LOG_DEBUG) \
		vhd_log(VHD_LOG_DEBUG, __VA_ARGS__); } while (0)

#endif
