/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/* evemu recordings: input-evemu.h. */
#include "config.h"
#include "input-evemu.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libevdev/libevdev.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct parser {
	const char *p, *end;            /* the rest of the current line */
	unsigned line;
	char *err;
	size_t errlen;
};

static int fail(struct parser *ps, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int fail(struct parser *ps, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(ps->err, ps->errlen, "line %u: ", ps->line);

	if (n >= 0 && (size_t)n < ps->errlen) {
		va_start(ap, fmt);
		vsnprintf(ps->err + n, ps->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static void skip_blanks(struct parser *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t'))
		ps->p++;
}

/* The line has nothing more but blanks or a trailing comment. */
static bool at_end(struct parser *ps)
{
	skip_blanks(ps);
	return ps->p == ps->end || *ps->p == '#' || *ps->p == '\r';
}

/* An unsigned number in base 10 or 16 (no prefix, no sign), <= max. */
static int get_unsigned(struct parser *ps, int base, unsigned long long max,
			unsigned long long *out)
{
	unsigned long long v = 0;
	const char *s;

	skip_blanks(ps);
	s = ps->p;
	while (ps->p < ps->end && (base == 16 ? isxdigit((unsigned char)*ps->p)
					      : isdigit((unsigned char)*ps->p))) {
		unsigned d = isdigit((unsigned char)*ps->p) ? (unsigned)(*ps->p - '0')
			     : (unsigned)(tolower((unsigned char)*ps->p) - 'a' + 10);

		if (v > (ULLONG_MAX - d) / (unsigned)base)
			return -1;
		v = v * (unsigned)base + d;
		ps->p++;
	}
	if (ps->p == s || v > max)
		return -1;
	*out = v;
	return 0;
}

static int get_signed(struct parser *ps, long long min, long long max, long long *out)
{
	bool neg = false;
	unsigned long long v;

	skip_blanks(ps);
	if (ps->p < ps->end && (*ps->p == '-' || *ps->p == '+')) {
		neg = *ps->p == '-';
		ps->p++;
	}
	if (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t'))
		return -1;
	if (get_unsigned(ps, 10, (unsigned long long)LLONG_MAX, &v) < 0)
		return -1;
	*out = neg ? -(long long)v : (long long)v;
	return *out < min || *out > max ? -1 : 0;
}

static bool has_bit(const uint8_t *bytes, unsigned bit)
{
	return bytes[bit / 8] & (1u << (bit % 8));
}

static int parse_name(struct parser *ps, struct input_recording *r)
{
	char name[256];
	const char *e = ps->end;
	size_t n;

	skip_blanks(ps);
	while (e > ps->p && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
		e--;
	n = (size_t)(e - ps->p);
	if (n == 0)
		return fail(ps, "N: an empty device name");
	if (n >= sizeof(name))
		n = sizeof(name) - 1;
	memcpy(name, ps->p, n);
	name[n] = 0;
	if (memchr(name, 0, n))
		return fail(ps, "N: a NUL byte in the name");
	libevdev_set_name(r->dev, name);
	return 0;
}

static int parse_ids(struct parser *ps, struct input_recording *r)
{
	unsigned long long v[4];

	for (unsigned i = 0; i < 4; i++)
		if (get_unsigned(ps, 16, 0xffff, &v[i]) < 0)
			return fail(ps, "I: expected four hex numbers up to ffff");
	if (!at_end(ps))
		return fail(ps, "I: unexpected text after the ids");
	libevdev_set_id_bustype(r->dev, (int)v[0]);
	libevdev_set_id_vendor(r->dev, (int)v[1]);
	libevdev_set_id_product(r->dev, (int)v[2]);
	libevdev_set_id_version(r->dev, (int)v[3]);
	return 0;
}

static int get_8_bytes(struct parser *ps, uint8_t b[8], const char *what)
{
	unsigned long long v;

	for (unsigned i = 0; i < 8; i++) {
		if (get_unsigned(ps, 16, 0xff, &v) < 0)
			return fail(ps, "%s: expected 8 hex bytes", what);
		b[i] = (uint8_t)v;
	}
	if (!at_end(ps))
		return fail(ps, "%s: unexpected text after 8 bytes", what);
	return 0;
}

static int parse_props(struct parser *ps, struct input_recording *r, unsigned *pbytes)
{
	uint8_t b[8];

	if (get_8_bytes(ps, b, "P") < 0)
		return -1;
	for (unsigned i = 0; i < 64; i++) {
		unsigned prop = *pbytes * 8 + i;

		if (!has_bit(b, i))
			continue;
		if (prop > INPUT_PROP_MAX)
			return fail(ps, "P: property %u is beyond INPUT_PROP_MAX", prop);
		libevdev_enable_property(r->dev, prop);
	}
	if (*pbytes < 1024)
		*pbytes += 8;
	return 0;
}

static int enable_code(struct libevdev *dev, unsigned type, unsigned code)
{
	struct input_absinfo abs = { .minimum = 0, .maximum = 1 };
	int rep = type == EV_REP && code == REP_DELAY ? 250 : 33;

	if (type == EV_ABS)
		return libevdev_enable_event_code(dev, type, code, &abs);
	if (type == EV_REP)
		return libevdev_enable_event_code(dev, type, code, &rep);
	return libevdev_enable_event_code(dev, type, code, NULL);
}

static int parse_bits(struct parser *ps, struct input_recording *r, unsigned mbytes[EV_CNT])
{
	unsigned long long type;
	uint8_t b[8];
	int max;

	if (get_unsigned(ps, 16, EV_MAX, &type) < 0)
		return fail(ps, "B: expected an event type (hex, up to %x)", EV_MAX);
	if (get_8_bytes(ps, b, "B") < 0)
		return -1;
	max = libevdev_event_type_get_max((unsigned)type);
	if (type != EV_SYN && (b[0] | b[1] | b[2] | b[3] | b[4] | b[5] | b[6] | b[7]) &&
	    libevdev_enable_event_type(r->dev, (unsigned)type) < 0)
		return fail(ps, "B: event type %llx cannot be enabled", type);
	for (unsigned i = 0; i < 64; i++) {
		unsigned code = mbytes[type] * 8 + i;

		if (!has_bit(b, i) || type == EV_SYN)
			continue;
		if (max < 0 || code > (unsigned)max)
			return fail(ps, "B: code %u of type %llx is beyond its maximum", code, type);
		if (enable_code(r->dev, (unsigned)type, code) < 0)
			return fail(ps, "B: code %u of type %llx cannot be enabled", code, type);
	}
	if (mbytes[type] < 1024)
		mbytes[type] += 8;
	return 0;
}

static int parse_abs(struct parser *ps, struct input_recording *r)
{
	unsigned long long code;
	long long v[5] = { 0 };
	struct input_absinfo a;
	unsigned n = 0;

	if (get_unsigned(ps, 16, ABS_MAX, &code) < 0)
		return fail(ps, "A: expected an axis (hex, up to %x)", ABS_MAX);
	while (n < 5 && !at_end(ps)) {
		if (get_signed(ps, INT32_MIN, INT32_MAX, &v[n]) < 0)
			return fail(ps, "A: expected min max fuzz flat [resolution] (decimal)");
		n++;
	}
	if (n < 4 || !at_end(ps))
		return fail(ps, "A: expected min max fuzz flat [resolution] (decimal)");
	if (v[0] > v[1])
		return fail(ps, "A: axis %llx: minimum %lld above maximum %lld", code, v[0], v[1]);
	a = (struct input_absinfo){ .minimum = (int32_t)v[0], .maximum = (int32_t)v[1],
				    .fuzz = (int32_t)v[2], .flat = (int32_t)v[3],
				    .resolution = (int32_t)v[4] };
	if (libevdev_enable_event_code(r->dev, EV_ABS, (unsigned)code, &a) < 0)
		return fail(ps, "A: axis %llx cannot be enabled", code);
	return 0;
}

static int parse_state(struct parser *ps, char kind)
{
	unsigned long long code;
	long long state;

	if (get_unsigned(ps, 16, kind == 'L' ? LED_MAX : SW_MAX, &code) < 0 ||
	    get_signed(ps, INT32_MIN, INT32_MAX, &state) < 0 || !at_end(ps))
		return fail(ps, "%c: expected a code (hex) and a state", kind);
	return 0;
}

static int parse_event(struct parser *ps, struct input_recording *r, size_t *cap)
{
	unsigned long long sec, usec, type, code;
	long long value;
	const char *dot;
	struct input_rec_event *e;
	uint64_t t;

	if (get_unsigned(ps, 10, 1ull << 40, &sec) < 0 || ps->p >= ps->end || *ps->p != '.')
		return fail(ps, "E: expected a time sec.usec");
	dot = ++ps->p;
	if (get_unsigned(ps, 10, 999999, &usec) < 0 || ps->p - dot != 6)
		return fail(ps, "E: expected six digits of microseconds");
	if (get_unsigned(ps, 16, 0xffff, &type) < 0 || get_unsigned(ps, 16, 0xffff, &code) < 0)
		return fail(ps, "E: expected an event type and code (hex)");
	if (get_signed(ps, INT32_MIN, UINT32_MAX, &value) < 0 || !at_end(ps))
		return fail(ps, "E: expected a value (decimal)");
	if (r->nev == *cap) {
		size_t ncap = *cap ? *cap * 2 : 256;
		struct input_rec_event *n = realloc(r->ev, ncap * sizeof(*n));

		if (!n)
			return fail(ps, "out of memory");
		r->ev = n;
		*cap = ncap;
	}
	t = sec * 1000000u + usec;
	/* Never back in time: a spliced recording plays its events at once. */
	if (r->nev && t < r->ev[r->nev - 1].t_us)
		t = r->ev[r->nev - 1].t_us;
	e = &r->ev[r->nev++];
	e->t_us = t;
	e->type = (uint16_t)type;
	e->code = (uint16_t)code;
	e->value = (int32_t)(uint32_t)(long long)value;
	return 0;
}

int input_evemu_parse(const char *text, size_t len, struct input_recording *r,
		      char *err, size_t errlen)
{
	struct parser ps = { .p = text, .end = text, .line = 0, .err = err, .errlen = errlen };
	const char *end = text + len;
	unsigned mbytes[EV_CNT] = { 0 }, pbytes = 0;
	bool have_name = false, have_ids = false;
	size_t cap = 0;

	memset(r, 0, sizeof(*r));
	r->dev = libevdev_new();
	if (!r->dev) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (const char *s = text; s < end;) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		int rc = 0;

		ps.line++;
		ps.p = s;
		ps.end = nl ? nl : end;
		s = nl ? nl + 1 : end;
		if (memchr(ps.p, 0, (size_t)(ps.end - ps.p))) {
			rc = fail(&ps, "a NUL byte: not a text file");
			goto out;
		}
		skip_blanks(&ps);
		if (at_end(&ps))
			continue;          /* blank or comment */
		if (ps.end - ps.p < 2 || ps.p[1] != ':') {
			rc = fail(&ps, "expected N:, I:, P:, B:, A:, L:, S: or E:");
			goto out;
		}
		char kind = ps.p[0];

		ps.p += 2;
		if (kind != 'E' && r->nev) {
			rc = fail(&ps, "%c: a description line after the first event", kind);
			goto out;
		}
		switch (kind) {
		case 'N':
			rc = parse_name(&ps, r);
			have_name = true;
			break;
		case 'I':
			rc = parse_ids(&ps, r);
			have_ids = true;
			break;
		case 'P':
			rc = parse_props(&ps, r, &pbytes);
			break;
		case 'B':
			rc = parse_bits(&ps, r, mbytes);
			break;
		case 'A':
			rc = parse_abs(&ps, r);
			break;
		case 'L':
		case 'S':
			rc = parse_state(&ps, kind);
			break;
		case 'E':
			if (!have_name || !have_ids)
				rc = fail(&ps, "an event before the N: and I: lines");
			else
				rc = parse_event(&ps, r, &cap);
			break;
		default:
			rc = fail(&ps, "expected N:, I:, P:, B:, A:, L:, S: or E:");
			break;
		}
out:
		if (rc < 0) {
			input_recording_free(r);
			return -1;
		}
	}
	if (!have_name || !have_ids) {
		snprintf(err, errlen, "not an evemu recording: no %s line",
			 !have_name ? "N: (device name)" : "I: (device ids)");
		input_recording_free(r);
		return -1;
	}
	return 0;
}

int input_evemu_load(const char *path, struct input_recording *r, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *buf;
	size_t got = 0;
	int rc;

	if (fd < 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (unsigned long long)st.st_size > INPUT_EVEMU_MAX_BYTES) {
		snprintf(err, errlen, "not a regular file of at most %u MiB",
			 INPUT_EVEMU_MAX_BYTES >> 20);
		close(fd);
		return -1;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		snprintf(err, errlen, "out of memory");
		close(fd);
		return -1;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	rc = input_evemu_parse(buf, got, r, err, errlen);
	free(buf);
	return rc;
}

void input_recording_free(struct input_recording *r)
{
	if (r->dev)
		libevdev_free(r->dev);
	free(r->ev);
	memset(r, 0, sizeof(*r));
}
