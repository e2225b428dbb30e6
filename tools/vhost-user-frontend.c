/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * vhost-user-frontend: talk to a vhost-user backend the way QEMU does.
 *
 *   info SOCKET   what the backend offers (features, protocol features,
 *                 queues, mem slots, config space)
 *   rng SOCKET    read entropy from an rng backend and print throughput
 *   vsock SOCKET  play the guest of a vsock backend and measure it
 *                 (vhu-vsock-cmd.c; its own options, see 'vsock --help')
 *   i2c SOCKET MSG...  one I2C transfer, i2ctransfer(8) syntax
 *                 (vhu-i2c-cmd.c; see 'i2c --help')
 *   can SOCKET [FRAME...]  CAN frames out (cansend(1) syntax) and in
 *                 (vhu-can-cmd.c; see 'can --help')
 *   gpio SOCKET STEP...  play a virtio-gpio guest: list lines, get/set
 *                 values, wait for interrupts (vhu-gpio-cmd.c; 'gpio --help')
 *   input SOCKET ...   config space, status events, events of an input
 *                 device (vhu-input-cmd.c; see 'input --help')
 *   console SOCKET ... the port set-up, text both ways of a console
 *                 (vhu-console-cmd.c; see 'console --help')
 *   scmi SOCKET ...    the SCMI agent: platform, sensors, readings,
 *                 notifications (vhu-scmi-cmd.c; see 'scmi --help')
 *
 * Exit status: 0 success, 1 bad command line, 2 the device or the
 * protocol failed (the message says which step).  The work is done by
 * libvhu-frontend (vhu-frontend.h); this file only parses and prints.
 */
#include "config.h"
#include "vhu-frontend.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROG "vhost-user-frontend"
#define EXIT_USAGE 1
#define EXIT_DEVICE 2

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: " PROG " info SOCKET [options]\n"
		"       " PROG " rng SOCKET [options]\n"
		"       " PROG " vsock SOCKET --uds-path PATH [options]   (see 'vsock --help')\n"
		"       " PROG " i2c SOCKET MSG...   (one I2C transfer; see 'i2c --help')\n"
		"       " PROG " can SOCKET [FRAME...] (CAN frames; see 'can --help')\n"
		"       " PROG " gpio SOCKET STEP... (GPIO lines and interrupts; see 'gpio --help')\n"
		"       " PROG " input SOCKET ...    (an input device; see 'input --help')\n"
		"       " PROG " console SOCKET ...  (a console; see 'console --help')\n"
		"       " PROG " scmi SOCKET ...     (SCMI sensors; see 'scmi --help')\n"
		"       " PROG " --help | --version\n"
		"\n"
		"A vhost-user frontend (the role QEMU plays) for debugging and measuring\n"
		"vhost-user backends.  SOCKET is the backend's listening Unix socket.\n"
		"\n"
		"info: print the virtio features, protocol features, queue count, memory\n"
		"slots and config space the backend offers.\n"
		"  --config-size N      read N config bytes (default: find the size)\n"
		"\n"
		"rng: read random data from an entropy (virtio-rng) backend, print bytes,\n"
		"seconds, MiB/s and requests/s.\n"
		"  --bytes N            read N bytes (suffixes K, M, G; default 1M)\n"
		"  --seconds S          read for S seconds instead\n"
		"  --buf-size B         bytes per request (default 4096)\n"
		"  --queue-size Q       ring size, power of two (default 256)\n"
		"  --batch K            refill the ring K buffers at a time (default 32)\n"
		"  --indirect           each request as an indirect descriptor table\n"
		"  --packed             a packed ring (VIRTIO_F_RING_PACKED) instead of\n"
		"                       a split one\n"
		"  --spin-us N          busy-poll N us before sleeping (default 0)\n"
		"  --out FILE           write the data to FILE ('-': stdout; the\n"
		"                       figures then go to stderr)\n"
		"\n"
		"Common options:\n"
		"  --timeout MS         give up after MS ms without an answer or a\n"
		"                       completion (default 5000); the connection is\n"
		"                       retried for as long while the socket is missing\n"
		"  -h, --help           this help\n"
		"  -V, --version        print the version\n"
		"\n"
		"Exit status: 0 ok, 1 bad command line, 2 device or protocol failure.\n");
}

static int bad_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int bad_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '" PROG " --help'.\n");
	return EXIT_USAGE;
}

/* Unsigned integer with an optional binary suffix K, M or G. */
static int parse_size(const char *s, unsigned long long min, unsigned long long max,
		      unsigned long long *out)
{
	unsigned long long v, mul = 1;
	char *end;

	if (!s || !*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	switch (*end) {
	case 'k': case 'K': mul = 1ull << 10; end++; break;
	case 'm': case 'M': mul = 1ull << 20; end++; break;
	case 'g': case 'G': mul = 1ull << 30; end++; break;
	}
	if (*end || (v && mul > ~0ull / v))
		return -1;
	v *= mul;
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

enum {
	OPT_BYTES = 0x100, OPT_SECONDS, OPT_BUF_SIZE, OPT_QUEUE_SIZE, OPT_BATCH,
	OPT_OUT, OPT_TIMEOUT, OPT_CONFIG_SIZE, OPT_INDIRECT, OPT_SPIN, OPT_PACKED,
};

static const struct option options[] = {
	{ "bytes", required_argument, NULL, OPT_BYTES },
	{ "seconds", required_argument, NULL, OPT_SECONDS },
	{ "buf-size", required_argument, NULL, OPT_BUF_SIZE },
	{ "queue-size", required_argument, NULL, OPT_QUEUE_SIZE },
	{ "batch", required_argument, NULL, OPT_BATCH },
	{ "out", required_argument, NULL, OPT_OUT },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "config-size", required_argument, NULL, OPT_CONFIG_SIZE },
	{ "indirect", no_argument, NULL, OPT_INDIRECT },
	{ "packed", no_argument, NULL, OPT_PACKED },
	{ "spin-us", required_argument, NULL, OPT_SPIN },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

struct args {
	const char *cmd, *socket, *out;
	unsigned long long bytes, buf_size, queue_size, batch, timeout, config_size, spin_us;
	double seconds;
	bool bytes_set, indirect, packed;
};

static void print_bits(uint64_t v, const char *(*name)(unsigned))
{
	for (unsigned b = 0; b < 64; b++) {
		const char *n;

		if (!(v & VHD_BIT(b)))
			continue;
		n = name(b);
		if (n)
			printf("  %2u %s\n", b, n);
		else
			printf("  %2u %s\n", b, b < 24 ? "(device-specific)" : "(unknown)");
	}
}

/* Largest n such that GET_CONFIG(0, n) succeeds: n <= size succeeds. */
static int probe_config_size(struct vhu_conn *c, uint8_t *buf)
{
	unsigned lo = 0, hi = VHU_CONFIG_MAX_SIZE;

	while (lo < hi) {
		unsigned mid = (lo + hi + 1) / 2;
		int r = vhu_get_config(c, 0, mid, buf);

		if (r == 0)
			lo = mid;
		else if (r == -EIO)
			hi = mid - 1;
		else
			return r;
	}
	return (int)lo;
}

static int cmd_info(const struct args *a)
{
	uint8_t cfg[VHU_CONFIG_MAX_SIZE];
	const struct vhu_info *in;
	struct vhu_conn *c;
	int r, size;

	r = vhu_connect(a->socket, (int)a->timeout, &c);
	if (r < 0) {
		fprintf(stderr, PROG ": cannot connect to %s: %s\n", a->socket, strerror(-r));
		return EXIT_DEVICE;
	}
	vhu_conn_set_timeout(c, (int)a->timeout);
	/* Everything but the backend channel, which info does not serve. */
	r = vhu_init(c, VHU_FRONTEND_PROTOCOL & ~VHD_BIT(VHU_PF_BACKEND_REQ));
	if (r < 0)
		goto fail;
	in = vhu_conn_info(c);
	printf("socket: %s\n", a->socket);
	printf("features: 0x%016llx\n", (unsigned long long)in->features);
	print_bits(in->features, vhu_feature_name);
	if (in->features & VHD_BIT(VHOST_USER_F_PROTOCOL_FEATURES)) {
		printf("protocol features: 0x%016llx\n", (unsigned long long)in->protocol);
		print_bits(in->protocol, vhu_protocol_feature_name);
	} else {
		printf("protocol features: not offered\n");
	}
	if (in->protocol & VHD_BIT(VHU_PF_MQ))
		printf("queues: %llu\n", (unsigned long long)in->queue_num);
	else
		printf("queues: not reported (no MQ)\n");
	if (in->protocol & VHD_BIT(VHU_PF_CONFIGURE_MEM_SLOTS))
		printf("max mem slots: %llu\n", (unsigned long long)in->max_mem_slots);
	if (!(in->protocol & VHD_BIT(VHU_PF_CONFIG))) {
		printf("config: not offered\n");
	} else {
		if (a->config_size) {
			size = (int)a->config_size;
			r = vhu_get_config(c, 0, (uint32_t)size, cfg);
		} else {
			size = r = probe_config_size(c, cfg);
			if (size > 0)
				r = vhu_get_config(c, 0, (uint32_t)size, cfg);
		}
		if (r < 0)
			goto fail;
		if (size == 0) {
			printf("config: offered, but GET_CONFIG of 1 byte is refused\n");
		} else {
			printf("config (%d bytes):\n", size);
			for (int i = 0; i < size; i++)
				printf("%s%02x%s", i % 16 == 0 ? "  " : " ", cfg[i],
				       i % 16 == 15 || i == size - 1 ? "\n" : "");
		}
	}
	vhu_close(c);
	return 0;
fail:
	fprintf(stderr, PROG ": %s: %s\n", a->socket, vhu_conn_error(c));
	vhu_close(c);
	return EXIT_DEVICE;
}

static int write_sink(void *opaque, const uint8_t *data, uint32_t len)
{
	return fwrite(data, 1, len, opaque) == len ? 0 : -1;
}

static int cmd_rng(const struct args *a)
{
	struct vhu_session_opts so;
	struct vhu_pump_opts po = { 0 };
	struct vhu_pump_result res;
	struct vhu_session *s;
	FILE *out = NULL, *fig = stdout;
	char err[512];
	int r;

	if (a->out) {
		if (strcmp(a->out, "-") == 0) {
			out = stdout;
			fig = stderr;
		} else if (!(out = fopen(a->out, "wb"))) {
			fprintf(stderr, PROG ": cannot write %s: %s\n", a->out, strerror(errno));
			return EXIT_USAGE;
		}
	}
	vhu_session_defaults(&so, a->socket);
	so.connect_ms = (int)a->timeout;
	so.timeout_ms = (int)a->timeout;
	so.vq.num = (unsigned)a->queue_size;
	so.vq.max_indirect = a->indirect ? 1 : 0;
	if (a->packed)
		so.features |= VHD_BIT(VIRTIO_F_RING_PACKED);
	so.mem_size = (((size_t)a->queue_size * (a->buf_size + 32) + (2u << 20)) + 0xfffff) &
		      ~(size_t)0xfffff;
	r = vhu_session_open(&so, &s, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, PROG ": %s\n", err);
		if (out && out != stdout)
			fclose(out);
		return EXIT_DEVICE;
	}
	if (a->indirect && !vhu_has_feature(s->c, VIRTIO_RING_F_INDIRECT_DESC)) {
		fprintf(stderr, PROG ": %s does not offer RING_INDIRECT_DESC\n", a->socket);
		r = -ENOTSUP;
		goto done;
	}
	if (a->packed && !vhu_vq_packed(s->vq[0])) {
		fprintf(stderr, PROG ": %s does not offer RING_PACKED\n", a->socket);
		r = -ENOTSUP;
		goto done;
	}
	po.buf_size = (uint32_t)a->buf_size;
	po.batch = (unsigned)a->batch;
	po.max_bytes = a->bytes_set ? a->bytes : 0;
	po.duration_ns = a->bytes_set ? 0 : (uint64_t)(a->seconds * 1e9 + 0.5);
	po.idle_timeout_ms = (int)a->timeout;
	po.spin_ns = (unsigned)(a->spin_us * 1000);
	po.indirect = a->indirect;
	po.sink = out ? write_sink : NULL;
	po.opaque = out;
	r = vhu_pump_read(s->vq[0], s->m, &po, &res);
	if (r == -ETIMEDOUT)
		fprintf(stderr, PROG ": %s: no completion for %llu ms after %llu bytes (device stuck or rate-limited?)\n",
			a->socket, a->timeout, (unsigned long long)res.bytes);
	else if (r == -EPROTO)
		fprintf(stderr, PROG ": %s: the device returned a used entry that is not valid\n",
			a->socket);
	else if (r < 0)
		fprintf(stderr, PROG ": %s: reading: %s\n", a->socket, strerror(-r));
	if (r == 0) {
		double mib = (double)res.bytes / (1024.0 * 1024.0);
		double sec = res.seconds > 0 ? res.seconds : 1e-9;

		fprintf(fig, "bytes: %llu\n", (unsigned long long)res.bytes);
		fprintf(fig, "seconds: %.6f\n", res.seconds);
		fprintf(fig, "MiB/s: %.2f\n", mib / sec);
		fprintf(fig, "requests: %llu\n", (unsigned long long)res.requests);
		fprintf(fig, "requests/s: %.0f\n", (double)res.requests / sec);
		fprintf(fig, "kicks: %llu\n", (unsigned long long)vhu_vq_stats(s->vq[0])->kicks);
		fprintf(fig, "calls: %llu\n", (unsigned long long)vhu_vq_stats(s->vq[0])->calls);
	}
done:
	vhu_session_close(s);
	if (out && (fflush(out) != 0 || ferror(out)) && r == 0) {
		fprintf(stderr, PROG ": writing %s: %s\n", a->out, strerror(errno));
		r = -EIO;
	}
	if (out && out != stdout)
		fclose(out);
	return r < 0 ? EXIT_DEVICE : 0;
}

int vhu_vsock_cmd(int argc, char **argv);   /* vhu-vsock-cmd.c */
int vhu_i2c_cmd(int argc, char **argv);     /* vhu-i2c-cmd.c */
int vhu_can_cmd(int argc, char **argv);     /* vhu-can-cmd.c */
int vhu_gpio_cmd(int argc, char **argv);    /* vhu-gpio-cmd.c */
int vhu_input_cmd(int argc, char **argv);   /* vhu-input-cmd.c */
int vhu_console_cmd(int argc, char **argv); /* vhu-console-cmd.c */
int vhu_scmi_cmd_main(int argc, char **argv); /* vhu-scmi-cmd.c */

/* Take the operands (COMMAND, then SOCKET) at optind: up to the next
 * option, or all of them.  0, or bad_usage()'s exit status on a third. */
static int take_operands(struct args *a, int argc, char **argv, bool all)
{
	for (; optind < argc && (all || argv[optind][0] != '-'); optind++) {
		if (!a->cmd)
			a->cmd = argv[optind];
		else if (!a->socket)
			a->socket = argv[optind];
		else
			return bad_usage("unexpected argument '%s'", argv[optind]);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct args a = {
		.bytes = 1u << 20, .buf_size = 4096, .queue_size = 256, .batch = 32,
		.timeout = 5000,
	};
	unsigned long long v;
	int opt;

	/* vsock has options of its own. */
	if (argc > 1 && !strcmp(argv[1], "vsock"))
		return vhu_vsock_cmd(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "i2c"))
		return vhu_i2c_cmd(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "can"))
		return vhu_can_cmd(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "scmi"))
		return vhu_scmi_cmd_main(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "gpio"))
		return vhu_gpio_cmd(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "input"))
		return vhu_input_cmd(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "console"))
		return vhu_console_cmd(argc - 1, argv + 1);
	/* Operands and options in any order: "+" makes getopt stop at each
	 * operand, which we take before asking for the next option. */
	for (;;) {
		if (take_operands(&a, argc, argv, false))
			return EXIT_USAGE;
		opt = getopt_long(argc, argv, "+hV", options, NULL);
		if (opt == -1)
			break;
		switch (opt) {
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf(PROG " (" PACKAGE_NAME ") " PACKAGE_VERSION "\n");
			return 0;
		case OPT_BYTES:
			if (parse_size(optarg, 1, 1ull << 50, &a.bytes) < 0)
				return bad_usage("--bytes '%s': expected a byte count >= 1 (K, M, G allowed)", optarg);
			a.bytes_set = true;
			break;
		case OPT_SECONDS: {
			char *end;
			errno = 0;
			a.seconds = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(a.seconds > 0) || a.seconds > 86400)
				return bad_usage("--seconds '%s': expected a duration in seconds, > 0 and <= 86400", optarg);
			break;
		}
		case OPT_BUF_SIZE:
			if (parse_size(optarg, 1, 1u << 24, &a.buf_size) < 0)
				return bad_usage("--buf-size '%s': expected 1 to 16M bytes", optarg);
			break;
		case OPT_QUEUE_SIZE:
			if (parse_size(optarg, 1, 32768, &v) < 0 || (v & (v - 1)))
				return bad_usage("--queue-size '%s': expected a power of two, 1..32768", optarg);
			a.queue_size = v;
			break;
		case OPT_BATCH:
			if (parse_size(optarg, 1, 32768, &a.batch) < 0)
				return bad_usage("--batch '%s': expected 1..32768", optarg);
			break;
		case OPT_OUT:
			if (!*optarg)
				return bad_usage("--out: empty file name");
			a.out = optarg;
			break;
		case OPT_TIMEOUT:
			if (parse_size(optarg, 1, 3600000, &a.timeout) < 0)
				return bad_usage("--timeout '%s': expected milliseconds, 1..3600000", optarg);
			break;
		case OPT_CONFIG_SIZE:
			if (parse_size(optarg, 1, VHU_CONFIG_MAX_SIZE, &a.config_size) < 0)
				return bad_usage("--config-size '%s': expected 1..256", optarg);
			break;
		case OPT_INDIRECT:
			a.indirect = true;
			break;
		case OPT_PACKED:
			a.packed = true;
			break;
		case OPT_SPIN:
			if (parse_size(optarg, 0, 1000000, &a.spin_us) < 0)
				return bad_usage("--spin-us '%s': expected 0..1000000", optarg);
			break;
		default:
			fprintf(stderr, "Try '" PROG " --help'.\n");
			return EXIT_USAGE;
		}
	}
	/* After "--" everything is an operand. */
	if (take_operands(&a, argc, argv, true))
		return EXIT_USAGE;
	if (!a.cmd)
		return bad_usage("no command given (info or rng)");
	if (strcmp(a.cmd, "info") && strcmp(a.cmd, "rng"))
		return bad_usage("unknown command '%s' (info or rng)", a.cmd);
	if (!a.socket)
		return bad_usage("%s: missing SOCKET", a.cmd);
	if (a.bytes_set && a.seconds > 0)
		return bad_usage("--bytes and --seconds exclude each other");
	if (!strcmp(a.cmd, "info") &&
	    (a.bytes_set || a.seconds > 0 || a.out || a.indirect || a.packed))
		return bad_usage("info: --bytes, --seconds, --out, --indirect and --packed are rng options");
	if (!strcmp(a.cmd, "rng") && a.config_size)
		return bad_usage("rng: --config-size is an info option");
	if (a.seconds > 0)
		a.bytes_set = false;
	else
		a.bytes_set = true;
	return strcmp(a.cmd, "info") == 0 ? cmd_info(&a) : cmd_rng(&a);
}
