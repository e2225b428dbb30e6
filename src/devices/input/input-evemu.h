/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * evemu recordings: the text format Debian's evemu-record (evemu-tools)
 * writes -- a device description followed by timed events -- read into a
 * libevdev description (what the config space is made from,
 * input-config.h) and a list of events to replay into the guest.
 *
 * The format, line by line ('#' starts a comment line; an event line may
 * end with a tab and a comment):
 *   # EVEMU 1.3             optional format version
 *   N: <name>               device name (rest of the line)
 *   I: bbbb vvvv pppp rrrr  bus, vendor, product, version (hex)
 *   P: xx xx xx xx xx xx xx xx        property bits, 8 bytes a line,
 *                                     successive lines continue
 *   B: tt xx xx xx xx xx xx xx xx     code bitmap of event type tt, 8
 *                                     bytes a line, continued likewise
 *   A: cc min max fuzz flat [res]     an absolute axis (decimal)
 *   L: cc state / S: cc state         LED / switch state (checked, unused)
 *   E: sec.usec tttt cccc value       an event: type, code (hex), value
 *                                     (signed decimal)
 * Description lines come before the first event.  Everything read is
 * checked: a malformed line fails the whole file with its line number.
 */
#ifndef VHD_INPUT_EVEMU_H
#define VHD_INPUT_EVEMU_H

#include <stddef.h>
#include <stdint.h>

struct libevdev;

struct input_rec_event {
	uint64_t t_us;          /* since the recording's start, never decreasing */
	uint16_t type;
	uint16_t code;
	int32_t value;
};

struct input_recording {
	struct libevdev *dev;           /* the description */
	struct input_rec_event *ev;
	size_t nev;
};

/* Largest recording read (bytes), to bound memory. */
#define INPUT_EVEMU_MAX_BYTES (64u << 20)

/* Parse text[0..len).  0, or -1 with err filled ("line 12: ..."). */
int input_evemu_parse(const char *text, size_t len, struct input_recording *r,
		      char *err, size_t errlen);
/* Read and parse a file.  0, or -1 with err filled. */
int input_evemu_load(const char *path, struct input_recording *r, char *err, size_t errlen);
void input_recording_free(struct input_recording *r);

#endif
