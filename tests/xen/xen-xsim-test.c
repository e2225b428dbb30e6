/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Tests of the simulated Xen world itself (no device model of ours):
 *
 *  1. the fake xenstored (fake-xenstored.h) driven by the real
 *     libxenstore through XENSTORED_PATH: write/read/directory/rm,
 *     relative paths under /local/domain/0, GET_DOMAIN_PATH, invalid
 *     paths refused, the initial watch event, watch events for changes
 *     below the watch and for removals, a transaction's writes invisible
 *     (and its watches silent) until commit, an aborted one dropped;
 *  2. the device-model shim (fakexen-dm.c) and the simulated hypervisor
 *     (xsim.h): this program re-executed as a minimal device model
 *     ("responder", using only the real libxendevicemodel,
 *     libxenevtchn and xenforeignmemory_map_resource API under
 *     LD_PRELOAD) answers a four-register device; the guest side reads
 *     and writes it on two vCPUs, an unclaimed address reads all ones,
 *     the device raises its interrupt, /dev/xen/privcmd opens and its
 *     ioctls fail with ENOTTY in the responder, teardown leaves no
 *     server, range or binding; a responder killed with SIGKILL leaves
 *     the guest with -EPIPE/-ENODEV, never a hang, and a new one can
 *     claim the same range.
 *
 * Exit status: 0 pass, 1 fail.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <xendevicemodel.h>
#include <xenevtchn.h>
#include <xenforeignmemory.h>
#include <xenstore.h>
#include <xen/hvm/ioreq.h>
#include <xen/memory.h>

#include "fake-xenstored.h"
#include "xsim-wire.h"
#include "xsim.h"

#define T_MS 20000
#define DOMID 5
#define BASE 0x2000000ull
#define IRQ 33

#define EXPECT(cond, ...) do { \
	if (!(cond)) { \
		fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
		fprintf(stderr, __VA_ARGS__); \
		fputc('\n', stderr); \
		goto out; \
	} \
} while (0)

/* ---- 1. the fake xenstored ---------------------------------------------- */

/* The next watch event within the bound: 0 with path/token copied. */
static int next_event(struct xs_handle *h, char *path, size_t plen, char *tok, size_t tlen,
		      int ms)
{
	struct pollfd p = { xs_fileno(h), POLLIN, 0 };
	unsigned n;
	char **v;

	if (poll(&p, 1, ms) <= 0)
		return -ETIMEDOUT;
	v = xs_read_watch(h, &n);
	if (!v)
		return -EIO;
	snprintf(path, plen, "%s", v[XS_WATCH_PATH]);
	snprintf(tok, tlen, "%s", v[XS_WATCH_TOKEN]);
	free(v);
	return 0;
}

static int test_xenstored(const char *dir)
{
	char sock[128], path[256], tok[64];
	struct fxs *srv = NULL;
	struct xs_handle *h = NULL, *w = NULL;
	xs_transaction_t t;
	unsigned len, n;
	char *v = NULL, **d = NULL;
	int r, ret = -1;

	snprintf(sock, sizeof(sock), "%s/xenstored.sock", dir);
	r = fxs_start(sock, &srv);
	EXPECT(r == 0, "fxs_start: %s", strerror(-r));
	setenv("XENSTORED_PATH", sock, 1);
	h = xs_open(0);
	w = xs_open(0);
	EXPECT(h && w, "xs_open through XENSTORED_PATH: %s", strerror(errno));

	/* Plain nodes, relative paths under /local/domain/0. */
	EXPECT(xs_write(h, XBT_NULL, "domid", "0", 1), "write domid");
	v = xs_read(h, XBT_NULL, "/local/domain/0/domid", &len);
	EXPECT(v && len == 1 && !strcmp(v, "0"), "read back domid");
	free(v);
	v = xs_get_domain_path(h, 5);
	EXPECT(v && !strcmp(v, "/local/domain/5"), "domain path %s", v ? v : "(null)");
	free(v);
	v = NULL;
	EXPECT(!xs_write(h, XBT_NULL, "/bad//path", "x", 1) && errno == EINVAL,
	       "a path with an empty component must be refused");
	EXPECT(!xs_read(h, XBT_NULL, "/nothing/here", &len) && errno == ENOENT,
	       "reading a missing node must fail ENOENT");

	/* A watch fires once at once, then for changes below it. */
	EXPECT(xs_watch(w, "backend/virtio", "tok1"), "watch");
	r = next_event(w, path, sizeof(path), tok, sizeof(tok), T_MS);
	EXPECT(r == 0 && !strcmp(path, "backend/virtio") && !strcmp(tok, "tok1"),
	       "initial watch event: %d %s %s", r, path, tok);
	EXPECT(xs_write(h, XBT_NULL, "/local/domain/0/backend/virtio/5/0/type", "virtio,device4",
			14), "write type");
	r = next_event(w, path, sizeof(path), tok, sizeof(tok), T_MS);
	EXPECT(r == 0 && !strcmp(path, "backend/virtio/5/0/type"),
	       "event for a node below the watch: %s (relative, as watched)", path);
	d = xs_directory(h, XBT_NULL, "backend/virtio/5", &n);
	EXPECT(d && n == 1 && !strcmp(d[0], "0"), "directory of backend/virtio/5");
	free(d);
	d = NULL;

	/* A transaction: nothing visible nor fired until commit. */
	t = xs_transaction_start(h);
	EXPECT(t != XBT_NULL, "transaction start");
	EXPECT(xs_write(h, t, "backend/virtio/5/1/base", "0x2000200", 9), "tx write");
	EXPECT(xs_write(h, t, "backend/virtio/5/1/irq", "34", 2), "tx write");
	v = xs_read(h, t, "backend/virtio/5/1/irq", &len);
	EXPECT(v && !strcmp(v, "34"), "the transaction sees its own write");
	free(v);
	v = xs_read(h, XBT_NULL, "backend/virtio/5/1/irq", &len);
	EXPECT(!v && errno == ENOENT, "a transaction's write is invisible outside it");
	/* A marker written outside, after the transaction's writes: its
	 * event arriving first proves the transaction fired nothing. */
	EXPECT(xs_write(h, XBT_NULL, "backend/virtio/marker", "1", 1), "marker");
	r = next_event(w, path, sizeof(path), tok, sizeof(tok), T_MS);
	EXPECT(r == 0 && !strcmp(path, "backend/virtio/marker"),
	       "transaction fired before commit: %s", path);
	EXPECT(xs_transaction_end(h, t, false), "commit");
	r = next_event(w, path, sizeof(path), tok, sizeof(tok), T_MS);
	EXPECT(r == 0 && !strncmp(path, "backend/virtio/5/1", 18), "commit events: %s", path);
	r = next_event(w, path, sizeof(path), tok, sizeof(tok), T_MS);
	EXPECT(r == 0 && !strncmp(path, "backend/virtio/5/1", 18), "commit events: %s", path);
	v = xs_read(h, XBT_NULL, "backend/virtio/5/1/base", &len);
	EXPECT(v && !strcmp(v, "0x2000200"), "committed");
	free(v);
	v = NULL;

	/* An aborted transaction leaves nothing. */
	t = xs_transaction_start(h);
	EXPECT(t != XBT_NULL && xs_write(h, t, "backend/virtio/5/9/type", "x", 1), "tx 2");
	EXPECT(xs_transaction_end(h, t, true), "abort");
	v = xs_read(h, XBT_NULL, "backend/virtio/5/9/type", &len);
	EXPECT(!v, "aborted write visible");

	/* Removal of an ancestor fires the watch; the node is gone. */
	EXPECT(xs_rm(h, XBT_NULL, "backend/virtio/5/1"), "rm");
	r = next_event(w, path, sizeof(path), tok, sizeof(tok), T_MS);
	EXPECT(r == 0 && !strcmp(path, "backend/virtio/5/1"), "rm event: %s", path);
	v = xs_read(h, XBT_NULL, "backend/virtio/5/1/irq", &len);
	EXPECT(!v && errno == ENOENT, "removed subtree still readable");
	EXPECT(xs_unwatch(w, "backend/virtio", "tok1"), "unwatch");
	printf("xenstored: read/write/dir/rm, watches, transactions ok (%llu events sent)\n",
	       (unsigned long long)fxs_events_sent(srv));
	ret = 0;
out:
	free(v);
	free(d);
	if (h)
		xs_close(h);
	if (w)
		xs_close(w);
	unsetenv("XENSTORED_PATH");
	fxs_stop(srv);
	return ret;
}

/* ---- 2. a minimal device model ------------------------------------------ */

/* Registers of the responder's device (offsets from BASE). */
#define R_MAGIC 0x00    /* reads 0x74726976 */
#define R_SCRATCH 0x08  /* reads what was written */
#define R_IRQ 0x10      /* a write raises IRQ */
#define R_QUIT 0x14     /* a write tears the server down and exits */
#define R_PRIVCMD 0x18  /* reads 1 if /dev/xen/privcmd opened and its
			 * ioctls fail with ENOTTY */

static int responder(void)
{
	xendevicemodel_handle *dm = xendevicemodel_open(NULL, 0);
	xenforeignmemory_handle *fm = xenforeignmemory_open(NULL, 0);
	xenevtchn_handle *xce = xenevtchn_open(NULL, 0);
	xenforeignmemory_resource_handle *res;
	shared_iopage_t *page = NULL;
	evtchn_port_t port[8];
	unsigned vcpus = 0;
	ioservid_t id;
	uint32_t scratch = 0, privcmd_ok = 0;
	bool quit = false;
	int fd;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	fd = open("/dev/xen/privcmd", O_RDWR | O_CLOEXEC);
	if (fd >= 0 && ioctl(fd, 0x00205008 /* an IRQFD-like request */, NULL) < 0 &&
	    errno == ENOTTY)
		privcmd_ok = 1;
	if (fd >= 0)
		close(fd);
	if (!dm || !fm || !xce || xendevicemodel_nr_vcpus(dm, DOMID, &vcpus) < 0 || vcpus > 8 ||
	    xendevicemodel_create_ioreq_server(dm, DOMID, XSIM_BUFIOREQ_OFF, &id) < 0)
		return 2;
	res = xenforeignmemory_map_resource(fm, DOMID, XENMEM_resource_ioreq_server, id,
					    XENMEM_resource_ioreq_server_frame_ioreq(0), 1,
					    (void **)&page, PROT_READ | PROT_WRITE, 0);
	if (!res || xendevicemodel_set_ioreq_server_state(dm, DOMID, id, 1) < 0)
		return 3;
	for (unsigned i = 0; i < vcpus; i++) {
		int p = xenevtchn_bind_interdomain(xce, DOMID, page->vcpu_ioreq[i].vp_eport);

		if (p < 0)
			return 4;
		port[i] = (evtchn_port_t)p;
	}
	if (xendevicemodel_map_io_range_to_ioreq_server(dm, DOMID, id, 1, BASE, BASE + 0x1ff) < 0)
		return 5;
	while (!quit) {
		int p = xenevtchn_pending(xce);
		unsigned v;
		ioreq_t *io;

		if (p < 0)
			return 6;
		xenevtchn_unmask(xce, (evtchn_port_t)p);
		for (v = 0; v < vcpus && port[v] != (evtchn_port_t)p; v++)
			;
		if (v == vcpus)
			continue;
		io = &page->vcpu_ioreq[v];
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (io->state != STATE_IOREQ_READY)
			continue;
		io->state = STATE_IOREQ_INPROCESS;
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (io->type == IOREQ_TYPE_COPY) {
			uint64_t off = io->addr - BASE;

			if (io->dir == IOREQ_READ)
				io->data = off == R_MAGIC ? 0x74726976 : off == R_SCRATCH ? scratch :
					   off == R_PRIVCMD ? privcmd_ok : 0;
			else if (off == R_SCRATCH)
				scratch = (uint32_t)io->data;
			else if (off == R_IRQ)
				xendevicemodel_set_irq_level(dm, DOMID, IRQ, 1);
			else if (off == R_QUIT)
				quit = true;
		}
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		io->state = STATE_IORESP_READY;
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		xenevtchn_notify(xce, (evtchn_port_t)p);
	}
	/* Teardown in the order Xen's device models use. */
	xendevicemodel_unmap_io_range_from_ioreq_server(dm, DOMID, id, 1, BASE, BASE + 0x1ff);
	xendevicemodel_set_ioreq_server_state(dm, DOMID, id, 0);
	xenforeignmemory_unmap_resource(fm, res);
	xendevicemodel_destroy_ioreq_server(dm, DOMID, id);
	for (unsigned i = 0; i < vcpus; i++)
		xenevtchn_unbind(xce, port[i]);
	xenevtchn_close(xce);
	xenforeignmemory_close(fm);
	xendevicemodel_close(dm);
	return 0;
}

static pid_t spawn_responder(struct xsim *s)
{
	/* Under $VHD_TEST_EXEC_WRAPPER (scripts/arm64-check.sh: qemu-aarch64
	 * without binfmt_misc) this program can only be run again through the
	 * wrapper; the emulator answers /proc/self/exe with our own path. */
	const char *wrapper = getenv("VHD_TEST_EXEC_WRAPPER");
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	pid_t pid;

	if (n <= 0)
		return -1;
	self[n] = 0;
	xsim_env_push(s);
	pid = fork();
	if (pid == 0) {
		if (wrapper && *wrapper)
			execl(wrapper, wrapper, self, "--responder", (char *)NULL);
		else
			execl(self, "xen-xsim-test", "--responder", (char *)NULL);
		_exit(127);
	}
	xsim_env_pop(s);
	return pid;
}

static int mmio(struct xsim *s, unsigned vcpu, uint64_t off, bool wr, uint64_t *v)
{
	return xsim_mmio(s, DOMID, vcpu, BASE + off, 4, wr, v);
}

static int test_sim(void)
{
	struct xsim *s = NULL;
	struct xsim_stats st0, st;
	pid_t pid = -1;
	uint64_t v, irqs;
	int r, dead, status, ret = -1;

	r = xsim_create(&s);
	EXPECT(r == 0, "xsim_create: %s", strerror(-r));
	EXPECT(xsim_add_domain(s, DOMID, 2) == 0, "add domain");
	v = 0;
	r = mmio(s, 0, R_MAGIC, false, &v);
	EXPECT(r == -ENODEV && v == 0xffffffff, "unclaimed read: %d 0x%llx", r,
	       (unsigned long long)v);

	pid = spawn_responder(s);
	EXPECT(pid > 0, "fork");
	r = xsim_wait_claimed(s, DOMID, BASE, true, T_MS);
	EXPECT(r == 0, "the responder never claimed its range");
	xsim_get_stats(s, &st0);
	for (unsigned vcpu = 0; vcpu < 2; vcpu++) {
		r = mmio(s, vcpu, R_MAGIC, false, &v);
		EXPECT(r == 0 && v == 0x74726976, "vCPU %u magic: %d 0x%llx", vcpu, r,
		       (unsigned long long)v);
		v = 0x1234 + vcpu;
		EXPECT(mmio(s, vcpu, R_SCRATCH, true, &v) == 0, "scratch write");
		v = 0;
		r = mmio(s, vcpu, R_SCRATCH, false, &v);
		EXPECT(r == 0 && v == 0x1234 + vcpu, "scratch read back 0x%llx",
		       (unsigned long long)v);
	}
	xsim_get_stats(s, &st);
	EXPECT(st.ioreqs - st0.ioreqs == 6 && st.evtchn_to_dm - st0.evtchn_to_dm == 6 &&
	       st.evtchn_from_dm - st0.evtchn_from_dm == 6,
	       "6 accesses: %llu ioreqs, %llu events to, %llu from the device model",
	       (unsigned long long)(st.ioreqs - st0.ioreqs),
	       (unsigned long long)(st.evtchn_to_dm - st0.evtchn_to_dm),
	       (unsigned long long)(st.evtchn_from_dm - st0.evtchn_from_dm));
	r = mmio(s, 0, R_PRIVCMD, false, &v);
	EXPECT(r == 0 && v == 1, "/dev/xen/privcmd in the device model: open or ENOTTY failed");
	r = xsim_mmio(s, DOMID, 0, BASE + 0x200, 4, false, &v);
	EXPECT(r == -ENODEV && v == 0xffffffff, "past the range: %d", r);
	irqs = xsim_irq_count(s, DOMID, IRQ);
	v = 1;
	EXPECT(mmio(s, 0, R_IRQ, true, &v) == 0, "irq write");
	EXPECT(xsim_irq_wait(s, DOMID, IRQ, irqs, T_MS) == 0 &&
	       xsim_irq_level(s, DOMID, IRQ) == 1, "interrupt not raised");
	EXPECT(mmio(s, 0, R_QUIT, true, &v) == 0, "quit write");
	EXPECT(waitpid(pid, &status, 0) == pid, "waitpid");
	pid = -1;
	EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 0, "responder status 0x%x", status);
	xsim_get_stats(s, &st);
	EXPECT(st.servers_live == 0 && st.ranges_live == 0 && st.bindings_live == 0 &&
	       st.servers_destroyed == 1 && st.map_resource == 1,
	       "after teardown: %llu servers, %llu ranges, %llu bindings live",
	       (unsigned long long)st.servers_live, (unsigned long long)st.ranges_live,
	       (unsigned long long)st.bindings_live);
	EXPECT(!xsim_claimed(s, DOMID, BASE), "range still claimed");
	printf("sim: 2 vCPUs, register file, irq, privcmd ENOTTY, clean teardown ok\n");

	/* A device model killed: the guest is never left hanging. */
	pid = spawn_responder(s);
	EXPECT(pid > 0 && xsim_wait_claimed(s, DOMID, BASE, true, T_MS) == 0, "second responder");
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	pid = -1;
	r = mmio(s, 0, R_MAGIC, false, &v);
	EXPECT(r == -EPIPE || r == -ENODEV, "access after the device model died: %d", r);
	dead = r;
	pid = spawn_responder(s);
	EXPECT(pid > 0 && xsim_wait_claimed(s, DOMID, BASE, true, T_MS) == 0,
	       "a new device model could not claim the dead one's range");
	r = mmio(s, 1, R_MAGIC, false, &v);
	EXPECT(r == 0 && v == 0x74726976, "after restart: %d", r);
	v = 1;
	EXPECT(mmio(s, 0, R_QUIT, true, &v) == 0, "quit");
	waitpid(pid, &status, 0);
	pid = -1;
	xsim_get_stats(s, &st);
	EXPECT(st.servers_reaped == 1, "%llu servers reaped", (unsigned long long)st.servers_reaped);
	printf("sim: killed device model -> %s, restart claims the range ok\n",
	       dead == -EPIPE ? "EPIPE" : "unclaimed");
	ret = 0;
out:
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	xsim_destroy(s);
	return ret;
}

int main(int argc, char **argv)
{
	char dir[] = "/tmp/vhd-xsimt-XXXXXX";

	if (argc > 1 && !strcmp(argv[1], "--responder"))
		return responder();
	signal(SIGPIPE, SIG_IGN);
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	if (test_xenstored(dir) < 0 || test_sim() < 0) {
		rmdir(dir);
		return 1;
	}
	rmdir(dir);
	printf("simulated Xen: all checks passed\n");
	return 0;
}
