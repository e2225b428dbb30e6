/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
#include "config.h"
#include "daemon/cli.h"
#include "daemon/sandbox.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

enum {
	OPT_FD = 0x1000,
	OPT_PRINT_CAPS,
	OPT_LOG_LEVEL,
	OPT_XEN,
	OPT_WORKERS,
	OPT_POLL,
	OPT_POLL_MAX,
	OPT_SANDBOX,
	OPT_USER,
	OPT_GROUP,
};

/* --poll adaptive without --poll-max-us: QEMU's IOThread default
 * (poll-max-ns 32768). */
#define POLL_MAX_US_DEFAULT 32u

static const struct option core_options[] = {
	{ "socket-path", required_argument, NULL, 's' },
	{ "socket-count", required_argument, NULL, 'c' },
	{ "fd", required_argument, NULL, OPT_FD },
	{ "workers", required_argument, NULL, OPT_WORKERS },
	{ "poll", required_argument, NULL, OPT_POLL },
	{ "poll-max-us", required_argument, NULL, OPT_POLL_MAX },
	{ "print-capabilities", no_argument, NULL, OPT_PRINT_CAPS },
	{ "verbose", no_argument, NULL, 'v' },
	{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
	{ "xen", required_argument, NULL, OPT_XEN },
	{ "sandbox", required_argument, NULL, OPT_SANDBOX },
	{ "user", required_argument, NULL, OPT_USER },
	{ "group", required_argument, NULL, OPT_GROUP },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
};
#define N_CORE (sizeof(core_options) / sizeof(core_options[0]))

const struct option *vhd_cli_core_options(size_t *n)
{
	*n = N_CORE;
	return core_options;
}

int vhd_parse_u64(const char *s, unsigned long long min, unsigned long long max,
		  unsigned long long *out)
{
	char *end;
	unsigned long long v;

	/* Digits only: strtoull would also skip leading blanks and take a
	 * sign. */
	if (!s || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static void usage(const struct vu_device_ops *ops, const char *prog, FILE *f)
{
	/* Devices with their own socket options (vsock) do not take -s/-c. */
	if (ops->socket_paths)
		fprintf(f,
			"Usage: %s DEVICE-OPTIONS [options]\n"
			"       %s --fd FD [options]\n"
			"       %s --print-capabilities\n"
			"\n%s\n\n"
			"Common options:\n",
			prog, prog, prog, ops->summary);
	else
		fprintf(f,
			"Usage: %s -s PATH [-c N] [options]%s%s\n"
			"       %s --fd FD [options]%s%s\n"
			"       %s --print-capabilities\n"
			"\n%s\n\n"
			"Common options:\n"
			"  -s, --socket-path PATH   vhost-user Unix socket to listen on%s\n"
			"  -c, --socket-count N     serve N guests on N sockets, PATH0..PATH<N-1> (default 1)\n",
			prog, ops->operands_usage ? " " : "",
			ops->operands_usage ? ops->operands_usage : "",
			prog, ops->operands_usage ? " " : "",
			ops->operands_usage ? ops->operands_usage : "",
			prog, ops->summary,
			ops->socket_naming == VU_SOCKETS_SUFFIXED
				? ";\n                           the index is appended: PATH0, PATH1, ..."
				: "");
	fprintf(f,
		"      --fd FD              use an inherited socket FD instead of a socket path:\n"
		"                           a listening socket (accept frontends on it) or a\n"
		"                           connected one (serve it, exit when it closes)\n"
		"      --workers N          worker threads serving all sockets (default: one per\n"
		"                           CPU the process may run on; never more than sockets)\n"
		"      --poll off|adaptive  after serving a ring, poll it for new requests before\n"
		"                           sleeping: off (default) or adaptive (the time grows\n"
		"                           while polling finds work and drops to 0 when idle)\n"
		"      --poll-max-us N      longest poll with --poll adaptive, in microseconds\n"
		"                           (1..1000000, default 32)\n"
		"      --print-capabilities print the vhost-user capabilities JSON and exit\n"
		"  -v, --verbose            more logging (repeat for debug)\n"
		"      --log-level LEVEL    error, warn, info or debug (default warn)\n"
		"      --xen auto|on|off    offer Xen memory regions (VHOST_USER_PROTOCOL_F_XEN_MMAP)\n"
		"                           to frontends: auto = when running on Xen (default)\n"
		"      --sandbox auto|on|off\n"
		"                           the seccomp allow-list of system calls, installed\n"
		"                           after start-up: auto = where the system supports it\n"
		"                           (default), on = refuse to run without it, off = none\n"
		"                           (debugging)\n"
		"      --user NAME|UID      after start-up, run as this user (needs root): its\n"
		"                           primary group too unless --group says; the socket\n"
		"                           files are given to it (docs/security.md)\n"
		"      --group NAME|GID     after start-up, run as this group, the only\n"
		"                           supplementary group too (alone: the user stays)\n"
		"  -h, --help               this help\n"
		"  -V, --version            print the version\n");
	if (ops->options_help)
		fprintf(f, "\nDevice options:\n%s", ops->options_help);
	fprintf(f, "\nThe process serves frontends until SIGTERM or SIGINT, then removes its sockets.\n");
}

/* Whether to offer XEN_MMAP (bit 17).  Offering it to a frontend that
 * does not speak it is dangerous: QEMU >= 8.2 acks bit 17 without changing
 * its region layout.  So "auto" offers it only when this build has the Xen
 * backend and the process runs on Xen (a Xen device node exists). */
static int decide_xen(const char *prog, const char *mode, uint64_t *extra)
{
	bool on_xen = access("/dev/xen/gntdev", F_OK) == 0 ||
		      access("/dev/xen/privcmd", F_OK) == 0;
	bool built = false;
#ifdef HAVE_XEN
	built = true;
#endif
	if (!strcmp(mode, "off"))
		return 0;
	if (!strcmp(mode, "on")) {
		if (!built) {
			fprintf(stderr, "%s: --xen on: this build has no Xen support (configure --enable-xen)\n",
				prog);
			return -1;
		}
		*extra |= VHD_BIT(VHU_PF_XEN_MMAP);
		return 0;
	}
	if (!strcmp(mode, "auto")) {
		if (built && on_xen)
			*extra |= VHD_BIT(VHU_PF_XEN_MMAP);
		return 0;
	}
	fprintf(stderr, "%s: --xen '%s': expected auto, on or off\n", prog, mode);
	return -1;
}

static void print_capabilities(const struct vu_device_ops *ops)
{
	printf("{\n  \"type\": \"%s\"", ops->name);
	if (ops->capabilities && ops->capabilities[0]) {
		printf(",\n  \"features\": [");
		for (unsigned i = 0; ops->capabilities[i]; i++)
			printf("%s\"%s\"", i ? ", " : "", ops->capabilities[i]);
		printf("]");
	}
	printf("\n}\n");
}

void vhd_cli_free(struct vhd_options *o)
{
	if (o->socket_names) {
		for (unsigned i = 0; i < o->socket_count; i++)
			free(o->socket_names[i]);
		free(o->socket_names);
		o->socket_names = NULL;
	}
}

int vhd_cli_parse(const struct vu_device_ops *ops, void *ctx, int argc, char **argv,
		  struct vhd_options *o)
{
	const char *prog = argv[0] ? argv[0] : "vhost-device";
	struct option *longopts;
	char shortopts[128];
	size_t ndev = 0;
	int verbosity = 0, level = -1, c;
	const char *xen_mode = "auto";
	unsigned long long v;
	bool poll_on = false;
	unsigned poll_max_us = 0;
	const char *user_arg = NULL, *group_arg = NULL;
	bool has_primary = false;
	gid_t primary = 0;
	char why[256];

	memset(o, 0, sizeof(*o));
	o->fd = -1;
	o->socket_count = 1;

	/* --print-capabilities ignores every other option (QEMU convention),
	 * so look for it first: a bad other option must not stop it. */
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--print-capabilities")) {
			print_capabilities(ops);
			return 0;
		}

	while (ops->options && ops->options[ndev].name)
		ndev++;
	longopts = calloc(N_CORE + ndev + 1, sizeof(*longopts));
	if (!longopts)
		return 1;
	memcpy(longopts, core_options, sizeof(core_options));
	if (ndev)
		memcpy(longopts + N_CORE, ops->options, ndev * sizeof(*longopts));
	snprintf(shortopts, sizeof(shortopts), ":" VHD_CLI_CORE_SHORT "%s",
		 ops->short_options ? ops->short_options : "");

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (!*optarg) {
				fprintf(stderr, "%s: --socket-path: empty path\n", prog);
				goto fail;
			}
			o->socket_path = optarg;
			break;
		case 'c':
			if (vhd_parse_u64(optarg, 1, 1024, &v) < 0) {
				fprintf(stderr, "%s: --socket-count '%s': expected a number from 1 to 1024\n",
					prog, optarg);
				goto fail;
			}
			o->socket_count = (unsigned)v;
			o->socket_count_given = true;
			break;
		case OPT_FD:
			if (vhd_parse_u64(optarg, 0, 1 << 30, &v) < 0) {
				fprintf(stderr, "%s: --fd '%s': expected a file descriptor number\n",
					prog, optarg);
				goto fail;
			}
			o->fd = (int)v;
			break;
		case OPT_POLL:
			if (!strcmp(optarg, "off")) {
				poll_on = false;
			} else if (!strcmp(optarg, "adaptive")) {
				poll_on = true;
			} else {
				fprintf(stderr, "%s: --poll '%s': expected off or adaptive\n",
					prog, optarg);
				goto fail;
			}
			break;
		case OPT_POLL_MAX:
			if (vhd_parse_u64(optarg, 1, 1000000, &v) < 0) {
				fprintf(stderr, "%s: --poll-max-us '%s': expected a number from 1 to 1000000\n",
					prog, optarg);
				goto fail;
			}
			poll_max_us = (unsigned)v;
			break;
		case OPT_WORKERS:
			if (vhd_parse_u64(optarg, 1, 1024, &v) < 0) {
				fprintf(stderr, "%s: --workers '%s': expected a number from 1 to 1024\n",
					prog, optarg);
				goto fail;
			}
			o->workers = (unsigned)v;
			break;
		case 'v':
			verbosity++;
			break;
		case OPT_LOG_LEVEL:
			level = vhd_log_parse_level(optarg);
			if (level < 0) {
				fprintf(stderr, "%s: --log-level '%s': expected error, warn, info or debug\n",
					prog, optarg);
				goto fail;
			}
			break;
		case OPT_XEN:
			xen_mode = optarg;
			break;
		case OPT_SANDBOX:
			if (vhd_sandbox_parse_mode(optarg, &o->sandbox) < 0) {
				fprintf(stderr, "%s: --sandbox '%s': expected auto, on or off\n",
					prog, optarg);
				goto fail;
			}
			break;
		case OPT_USER:
			user_arg = optarg;
			break;
		case OPT_GROUP:
			group_arg = optarg;
			break;
		case 'h':
			usage(ops, prog, stdout);
			free(longopts);
			return 0;
		case 'V':
			printf("%s (vhost-device-c) %s\n", prog, PACKAGE_VERSION);
			free(longopts);
			return 0;
		case ':':
			fprintf(stderr, "%s: option '%s' needs an argument\n", prog, argv[optind - 1]);
			goto fail;
		case '?':
			if (optopt)
				fprintf(stderr, "%s: unknown option '-%c'\n", prog, optopt);
			else
				fprintf(stderr, "%s: unknown option '%s'\n", prog, argv[optind - 1]);
			fprintf(stderr, "Try '%s --help'.\n", prog);
			goto fail;
		default:
			if (!ops->parse_option || ops->parse_option(ctx, c, optarg) < 0)
				goto fail;
			break;
		}
	}
	if (optind < argc && !ops->parse_operand) {
		fprintf(stderr, "%s: unexpected argument '%s'\nTry '%s --help'.\n", prog,
			argv[optind], prog);
		goto fail;
	}
	for (; optind < argc; optind++)
		if (ops->parse_operand(ctx, argv[optind]) < 0)
			goto fail;
	if (level >= 0)
		vhd_log_set_level((enum vhd_log_level)level);
	else if (verbosity)
		vhd_log_set_level(verbosity >= 2 ? VHD_LOG_DEBUG : VHD_LOG_INFO);

	if (ops->socket_paths && (o->socket_path || o->socket_count_given)) {
		fprintf(stderr, "%s: this device takes its sockets from its own options, not --socket-path/--socket-count\nTry '%s --help'.\n",
			prog, prog);
		goto fail;
	}
	if (o->fd >= 0 && o->socket_path) {
		fprintf(stderr, "%s: --fd and --socket-path exclude each other\n", prog);
		goto fail;
	}
	if (o->fd >= 0 && o->socket_count != 1) {
		fprintf(stderr, "%s: --fd serves one socket; --socket-count must be 1\n", prog);
		goto fail;
	}
	if (o->fd < 0 && !o->socket_path && !ops->socket_paths) {
		fprintf(stderr, "%s: missing --socket-path (or --fd)\nTry '%s --help'.\n", prog, prog);
		goto fail;
	}
	if (poll_max_us && !poll_on) {
		fprintf(stderr, "%s: --poll-max-us needs --poll adaptive\n", prog);
		goto fail;
	}
	o->poll_max_ns = poll_on ? (uint64_t)(poll_max_us ? poll_max_us
							  : POLL_MAX_US_DEFAULT) * 1000u : 0;
	if (decide_xen(prog, xen_mode, &o->extra_protocol) < 0)
		goto fail;
	/* Resolved now, before any socket: an unknown name or a change this
	 * process cannot make is an argument error (privdrop.h). */
	if ((user_arg && vhd_privdrop_resolve_user(&o->privdrop, user_arg, &primary,
						   &has_primary, why, sizeof(why)) < 0) ||
	    (group_arg && vhd_privdrop_resolve_group(&o->privdrop, group_arg, why,
						     sizeof(why)) < 0) ||
	    vhd_privdrop_finish(&o->privdrop, has_primary, primary, why, sizeof(why)) < 0) {
		fprintf(stderr, "%s: %s\n", prog, why);
		goto fail;
	}
	if (ops->check_options && ops->check_options(ctx, o->socket_count) < 0)
		goto fail;
	if (ops->socket_count) {
		unsigned n = ops->socket_count(ctx);

		if (n == 0 || n > 1024 || (o->socket_count_given && n != o->socket_count)) {
			fprintf(stderr, "%s: the device options ask for %u sockets%s\n", prog, n,
				o->socket_count_given ? ", not what --socket-count says" : "");
			goto fail;
		}
		if (o->fd >= 0 && n != 1) {
			fprintf(stderr, "%s: --fd serves one socket; the device options ask for %u\n",
				prog, n);
			goto fail;
		}
		o->socket_count = n;
	}

	if (ops->socket_paths && o->fd < 0) {
		if (ops->socket_paths(ctx, &o->socket_names, &o->socket_count) < 0)
			goto fail;
		for (unsigned i = 0; i < o->socket_count; i++)
			if (strlen(o->socket_names[i]) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
				fprintf(stderr, "%s: socket path '%s' is too long (Unix sockets allow %zu bytes)\n",
					prog, o->socket_names[i],
					sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
				goto fail;
			}
	} else if (o->socket_path) {
		bool suffix = ops->socket_naming == VU_SOCKETS_SUFFIXED || o->socket_count > 1;
		o->socket_names = calloc(o->socket_count, sizeof(char *));
		if (!o->socket_names)
			goto fail;
		for (unsigned i = 0; i < o->socket_count; i++) {
			char *name;
			if (suffix ? asprintf(&name, "%s%u", o->socket_path, i) < 0
				   : (name = strdup(o->socket_path)) == NULL) {
				o->socket_count = i;
				goto fail;
			}
			o->socket_names[i] = name;
			if (strlen(name) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
				fprintf(stderr, "%s: socket path '%s' is too long (%zu bytes; Unix sockets allow %zu)\n",
					prog, name, strlen(name),
					sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
				goto fail;
			}
		}
	}
	free(longopts);
	return -1;
fail:
	vhd_cli_free(o);
	free(longopts);
	return 1;
}
