/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * xen-vhost-frontend: a Xen device model for virtio-mmio devices whose
 * backends are vhost-user processes (docs/xen.md, "The device model";
 * man/xen-vhost-frontend.8).  This file: the command line and the event
 * loop (one thread, epoll).
 *
 * Exit status: 0 after SIGINT/SIGTERM, 1 bad command line, 2 start-up
 * failed (no xenstore, no Xen, a command-line device that cannot be set
 * up).
 */
#include "config.h"
#include "xfe.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define EXIT_USAGE 1
#define EXIT_START 2


static void usage(FILE *f)
{
	fprintf(f,
		"Usage: " XFE_PROG " --socket-path PREFIX [options]\n"
		"       " XFE_PROG " --no-xenstore -d SPEC [-d SPEC...] [options]\n"
		"\n"
		"A Xen device model: virtio-mmio devices for Xen guests, each served by a\n"
		"vhost-user backend started with Xen memory on.  Devices come from xenstore\n"
		"(Xen 4.18+ virtio=[...] lines) and from -d.\n"
		"\n"
		"Options:\n"
		"  -s, --socket-path PREFIX  connect a device to <PREFIX><name>.sock<N>; N counts\n"
		"                            the devices of that type this process serves\n"
		"      --foreign-mapping     foreign mappings for devices that do not say\n"
		"                            (xenstore grant_usage, -d grant|foreign); default grants\n"
		"  -d, --device SPEC         a device without xenstore (Xen 4.17):\n"
		"                            domid=N,type=T,base=ADDR,irq=SPI[,grant|foreign]\n"
		"                            [,socket=PATH][,ram=SIZE][,queue-size=N]\n"
		"      --no-xenstore         do not use xenstore (only -d devices; give ram=\n"
		"                            for foreign mappings)\n"
		"  -v, --verbose             more log (twice: debug)\n"
		"  -h, --help                this text\n"
		"  -V, --version             the version\n"
		"\n"
		"Device types (name: virtio id):");
	for (const struct xfe_type *t = xfe_types(); t->name; t++)
		fprintf(f, " %s:%u", t->name, t->id);
	fprintf(f, "\n\nSIGUSR1 logs the counters (ioreqs, event channel notifications,\n"
		"interrupt operations, kicks, calls, vhost-user messages, maps).\n");
}

/* ---- the loop ----------------------------------------------------------------- */

int64_t xfe_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int xfe_ev_add(struct xfe *x, int fd, struct xfe_ev *ev)
{
	struct epoll_event e = { .events = EPOLLIN, .data.ptr = ev };

	if (ev->kind == XFE_EV_BACKEND)
		e.events = EPOLLRDHUP;          /* replies are read synchronously */
	if (epoll_ctl(x->epfd, EPOLL_CTL_ADD, fd, &e) < 0) {
		if (errno == EEXIST)
			return epoll_ctl(x->epfd, EPOLL_CTL_MOD, fd, &e) < 0 ? -errno : 0;
		return -errno;
	}
	return 0;
}

void xfe_ev_del(struct xfe *x, int fd)
{
	if (fd >= 0)
		epoll_ctl(x->epfd, EPOLL_CTL_DEL, fd, NULL);
}

void xfe_arm_timer(struct xfe *x)
{
	int64_t next = INT64_MAX, now = xfe_now_ms();
	struct itimerspec its = { 0 };

	for (struct xfe_guest *g = x->guests; g; g = g->next)
		for (struct xfe_dev *d = g->devs; d; d = d->next)
			if (!d->gone && !d->c && d->retry_at_ms < next)
				next = d->retry_at_ms;
	if (next != INT64_MAX) {
		int64_t in = next > now ? next - now : 1;

		its.it_value.tv_sec = in / 1000;
		its.it_value.tv_nsec = (in % 1000) * 1000000;
	}
	timerfd_settime(x->timerfd, 0, &its, NULL);
}

static void log_stats(const struct xfe *x)
{
	const struct xfe_stats *s = &x->st;

	vhd_log(VHD_LOG_INFO, "counters: %llu ioreqs, %llu event channel notifications, "
		"%llu set_irq_level, %llu kicks, %llu calls, %llu vhost-user messages, "
		"%llu guest memory maps",
		(unsigned long long)s->ioreqs, (unsigned long long)s->notifies,
		(unsigned long long)s->irq_ops, (unsigned long long)s->kicks,
		(unsigned long long)s->calls, (unsigned long long)s->vhost_msgs,
		(unsigned long long)s->map_calls);
}

static void on_signal(struct xfe *x)
{
	struct signalfd_siginfo si;

	while (read(x->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGUSR1)
			log_stats(x);
		else
			x->stop = true;
	}
}

static void dispatch(struct xfe *x, struct epoll_event *e)
{
	struct xfe_ev *ev = e->data.ptr;
	struct xfe_dev *d = ev->obj;
	uint64_t n;

	switch (ev->kind) {
	case XFE_EV_SIGNAL:
		on_signal(x);
		break;
	case XFE_EV_TIMER:
		if (read(x->timerfd, &n, sizeof(n)) < 0 && errno != EAGAIN)
			break;
		xfe_dev_retry_all(x);
		break;
	case XFE_EV_XENSTORE:
		xfe_xs_event(x);
		break;
	case XFE_EV_EVTCHN:
		xfe_guest_evtchn(ev->obj);
		break;
	case XFE_EV_CALL:
		if (!d->gone)
			xfe_dev_call(d, ev->idx);
		break;
	case XFE_EV_BACKEND:
		if (!d->gone && d->c)
			xfe_dev_disconnect(d, "closed the connection");
		break;
	case XFE_EV_BACKEND_REQ:
		if (!d->gone && d->c && d->req_fd >= 0)
			xfe_dev_backend_req(d);
		break;
	}
}

static int loop(struct xfe *x)
{
	struct epoll_event ev[32];

	while (!x->stop) {
		int n = epoll_wait(x->epfd, ev, 32, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			vhd_log(VHD_LOG_ERROR, "epoll_wait: %s", strerror(errno));
			return -errno;
		}
		for (int i = 0; i < n && !x->stop; i++)
			dispatch(x, &ev[i]);
		xfe_dev_sweep(x);
	}
	return 0;
}

/* ---- set-up ----------------------------------------------------------------- */

static int parse_args(int argc, char **argv, struct xfe_opts *o)
{
	enum { OPT_FOREIGN = 256, OPT_NO_XS };
	static const struct option longopts[] = {
		{ "socket-path", required_argument, NULL, 's' },
		{ "foreign-mapping", no_argument, NULL, OPT_FOREIGN },
		{ "device", required_argument, NULL, 'd' },
		{ "no-xenstore", no_argument, NULL, OPT_NO_XS },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	char err[256];
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":s:d:vhV", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			o->socket_prefix = optarg;
			break;
		case OPT_FOREIGN:
			o->foreign = true;
			break;
		case 'd':
			if (o->ndev == sizeof(o->dev) / sizeof(o->dev[0])) {
				fprintf(stderr, XFE_PROG ": at most %zu -d devices\n",
					sizeof(o->dev) / sizeof(o->dev[0]));
				return EXIT_USAGE;
			}
			if (xfe_parse_devspec(optarg, &o->dev[o->ndev], err, sizeof(err)) < 0) {
				fprintf(stderr, XFE_PROG ": -d %s: %s\n", optarg, err);
				return EXIT_USAGE;
			}
			o->dev[o->ndev].devid = o->ndev;
			o->ndev++;
			break;
		case OPT_NO_XS:
			o->no_xenstore = true;
			break;
		case 'v':
			o->verbose++;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf(XFE_PROG " (vhost-device-c) " PACKAGE_VERSION "\n");
			exit(0);
		case ':':
			fprintf(stderr, XFE_PROG ": option %s needs a value (see --help)\n",
				argv[optind - 1]);
			return EXIT_USAGE;
		default:
			fprintf(stderr, XFE_PROG ": unknown option '%s' (see --help)\n",
				argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, XFE_PROG ": unexpected argument '%s' (see --help)\n", argv[optind]);
		return EXIT_USAGE;
	}
	if (o->no_xenstore && o->ndev == 0) {
		fprintf(stderr, XFE_PROG ": --no-xenstore and no -d device: nothing to serve\n");
		return EXIT_USAGE;
	}
	if (!o->socket_prefix) {
		bool all_named = o->no_xenstore;

		for (unsigned i = 0; i < o->ndev; i++)
			all_named = all_named && o->dev[i].socket[0];
		if (!all_named) {
			fprintf(stderr, XFE_PROG ": --socket-path PREFIX is needed (devices connect "
				"to <PREFIX><name>.sock<N>), unless every -d has socket= and "
				"--no-xenstore is given\n");
			return EXIT_USAGE;
		}
	}
	return 0;
}

static int setup(struct xfe *x)
{
	sigset_t set;

	x->epfd = epoll_create1(EPOLL_CLOEXEC);
	x->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	x->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (x->epfd < 0 || x->timerfd < 0 || x->sigfd < 0) {
		vhd_log(VHD_LOG_ERROR, "epoll/timerfd/signalfd: %s", strerror(errno));
		return -errno;
	}
	x->ev_sig = (struct xfe_ev){ XFE_EV_SIGNAL, x, 0 };
	x->ev_timer = (struct xfe_ev){ XFE_EV_TIMER, x, 0 };
	if (xfe_ev_add(x, x->sigfd, &x->ev_sig) < 0 || xfe_ev_add(x, x->timerfd, &x->ev_timer) < 0)
		return -errno;
	x->xdm = xendevicemodel_open(NULL, 0);
	x->xfm = xenforeignmemory_open(NULL, 0);
	if (!x->xdm || !x->xfm) {
		vhd_log(VHD_LOG_ERROR, "cannot open %s: %s (run in dom0 or a driver domain, as root)",
			x->xdm ? "libxenforeignmemory" : "libxendevicemodel", strerror(errno));
		return -errno;
	}
	/* For the Linux 6.7+ irqfd/ioeventfd ioctls only: without it every
	 * notification is relayed here. */
	x->privcmd_fd = open("/dev/xen/privcmd", O_RDWR | O_CLOEXEC);
	x->fast_irqfd = x->fast_ioeventfd = -1;
	return 0;
}

static void teardown(struct xfe *x)
{
	for (struct xfe_guest *g = x->guests; g; g = g->next)
		for (struct xfe_dev *d = g->devs; d; d = d->next)
			xfe_dev_remove(d);
	xfe_dev_sweep(x);
	log_stats(x);
	if (x->xs)
		xs_close(x->xs);
	if (x->xgt)
		xengnttab_close(x->xgt);
	if (x->xfm)
		xenforeignmemory_close(x->xfm);
	if (x->xdm)
		xendevicemodel_close(x->xdm);
	if (x->privcmd_fd >= 0)
		close(x->privcmd_fd);
	close(x->sigfd);
	close(x->timerfd);
	close(x->epfd);
}

int main(int argc, char **argv)
{
	static struct xfe x;
	int r;

	vhd_log_set_program(XFE_PROG);
	r = parse_args(argc, argv, &x.o);
	if (r)
		return r;
	vhd_log_set_level(x.o.verbose >= 2 ? VHD_LOG_DEBUG : x.o.verbose ? VHD_LOG_INFO
									   : VHD_LOG_WARN);
	x.privcmd_fd = -1;
	if (setup(&x) < 0) {
		teardown(&x);
		return EXIT_START;
	}
	if (!x.o.no_xenstore && xfe_xs_open(&x) < 0) {
		teardown(&x);
		return EXIT_START;
	}
	for (unsigned i = 0; i < x.o.ndev; i++) {
		if (xfe_dev_add(&x, &x.o.dev[i], false) < 0) {
			vhd_log(VHD_LOG_ERROR, "device %u (-d) of dom%u cannot be set up", i,
				x.o.dev[i].domid);
			teardown(&x);
			return EXIT_START;
		}
	}
	r = loop(&x);
	teardown(&x);
	return r < 0 ? EXIT_START : 0;
}
