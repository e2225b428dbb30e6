/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * The seccomp allow-list of every backend (sandbox.h; docs/security.md has
 * what each device adds and why).  Built with libseccomp, loaded with
 * TSYNC so that it covers the threads that exist already.
 */
#include "config.h"
#include "daemon/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

/* Sanitizer run-times (ASan's LeakSanitizer at exit, the reports) need
 * more: decided at compile time, so the normal build never allows it. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define VHD_SANITIZER_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
	__has_feature(memory_sanitizer) || __has_feature(leak_sanitizer)
#define VHD_SANITIZER_BUILD 1
#endif
#endif

struct vhd_sandbox {
	scmp_filter_ctx ctx;
	const char *who;        /* "core", "device 'rng'", for errors */
	int failed;
};

/* ---- the SIGSYS handler: names resolved before the filter is loaded --- */

#define NAME_TABLE_SIZE 512
#define NAME_MAX_LEN 32
static char syscall_names[NAME_TABLE_SIZE][NAME_MAX_LEN];
static char prog_name[64] = "vhost-device";

static void fill_name_table(void)
{
	uint32_t arch = seccomp_arch_native();

	for (int nr = 0; nr < NAME_TABLE_SIZE; nr++) {
		char *n = seccomp_syscall_resolve_num_arch(arch, nr);
		if (n) {
			snprintf(syscall_names[nr], NAME_MAX_LEN, "%s", n);
			free(n);
		}
	}
}

/* Async-signal-safe appends (no stdio in a signal handler). */
static size_t put_str(char *buf, size_t at, size_t cap, const char *s)
{
	while (*s && at + 1 < cap)
		buf[at++] = *s++;
	return at;
}

static size_t put_num(char *buf, size_t at, size_t cap, long v)
{
	char tmp[24];
	size_t n = 0;
	unsigned long u = v < 0 ? (unsigned long)-v : (unsigned long)v;

	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u && n < sizeof(tmp));
	if (v < 0 && at + 1 < cap)
		buf[at++] = '-';
	while (n && at + 1 < cap)
		buf[at++] = tmp[--n];
	return at;
}

/*
 * The one call outside the list that is answered instead of fatal: glibc's
 * malloc opens /proc/sys/vm/overcommit_memory the first time it trims a
 * thread's heap (arena.c, check_may_shrink_heap) and copes with a failed
 * open.  The handler makes that openat return EACCES (the syscall was
 * skipped; the return register in the saved context becomes its result).
 */
static const char overcommit_path[] = "/proc/sys/vm/overcommit_memory";

static bool is_overcommit_path(const char *p)
{
	for (size_t i = 0; i < sizeof(overcommit_path); i++)
		if (p[i] != overcommit_path[i])
			return false;
	return true;
}

static bool answer_refused_open(const siginfo_t *si, void *ucv)
{
#if defined(__x86_64__) || defined(__aarch64__)
	ucontext_t *uc = ucv;
	const char *path;

	if (si->si_syscall != __NR_openat || si->si_arch != (unsigned)seccomp_arch_native())
		return false;
#if defined(__x86_64__)
	path = (const char *)uc->uc_mcontext.gregs[REG_RSI];
#else
	path = (const char *)uc->uc_mcontext.regs[1];
#endif
	if (!path || !is_overcommit_path(path))
		return false;
#if defined(__x86_64__)
	uc->uc_mcontext.gregs[REG_RAX] = -EACCES;
#else
	uc->uc_mcontext.regs[0] = (unsigned long long)-EACCES;
#endif
	return true;
#else
	(void)si;
	(void)ucv;
	return false;
#endif
}

static void sigsys_handler(int sig, siginfo_t *si, void *uc)
{
	char line[256];
	size_t n = 0;
	int nr = si->si_syscall;
	ssize_t w;

	(void)sig;
	if (answer_refused_open(si, uc))
		return;
	n = put_str(line, n, sizeof(line), prog_name);
	n = put_str(line, n, sizeof(line), ": error: sandbox: system call ");
	if (si->si_arch == (unsigned)seccomp_arch_native() && nr >= 0 &&
	    nr < NAME_TABLE_SIZE && syscall_names[nr][0])
		n = put_str(line, n, sizeof(line), syscall_names[nr]);
	else
		n = put_str(line, n, sizeof(line), "(unknown)");
	n = put_str(line, n, sizeof(line), " (");
	n = put_num(line, n, sizeof(line), nr);
	n = put_str(line, n, sizeof(line), ") is not allowed; exiting "
		    "(--sandbox off runs without the sandbox, docs/security.md)\n");
	w = write(STDERR_FILENO, line, n);
	(void)w;
	_exit(VHD_SANDBOX_EXIT_STATUS);
}

static int install_handler(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = sigsys_handler;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	return sigaction(SIGSYS, &sa, NULL);
}

/* ---- building the list ---------------------------------------------- */

/* An argument check (libseccomp's SCMP_A<n> macros leave datum_b to a
 * designated initializer, which -Wextra flags outside system headers). */
static struct scmp_arg_cmp arg_cmp(unsigned arg, enum scmp_compare op, uint64_t a, uint64_t b)
{
	struct scmp_arg_cmp c;

	memset(&c, 0, sizeof(c));
	c.arg = arg;
	c.op = op;
	c.datum_a = a;
	c.datum_b = b;
	return c;
}

static int add_rule(struct vhd_sandbox *sb, uint32_t action, const char *name,
		    unsigned n_args, const struct scmp_arg_cmp *args)
{
	int nr = seccomp_syscall_resolve_name(name);
	int r;

	if (nr == __NR_SCMP_ERROR) {
		fprintf(stderr, "%s: sandbox: %s: unknown system call '%s'\n", prog_name,
			sb->who, name);
		sb->failed = 1;
		return -1;
	}
	if (nr < 0)
		return 0;       /* not a system call of this architecture (open on arm64) */
	r = seccomp_rule_add_array(sb->ctx, action, nr, n_args, args);
	/* Allowed already, unconditionally: nothing to narrow. */
	if (r == -EEXIST)
		return 0;
	if (r < 0) {
		fprintf(stderr, "%s: sandbox: %s: cannot add '%s': %s\n", prog_name, sb->who,
			name, strerror(-r));
		sb->failed = 1;
		return -1;
	}
	return 0;
}

int vhd_sandbox_allow(struct vhd_sandbox *sb, const char *const *names)
{
	int r = 0;

	for (; *names; names++)
		if (add_rule(sb, SCMP_ACT_ALLOW, *names, 0, NULL) < 0)
			r = -1;
	return r;
}

int vhd_sandbox_allow_ioctl(struct vhd_sandbox *sb, unsigned type)
{
	/* _IOC_TYPE is bits 8..15 of the request on every Linux
	 * architecture; only the low 32 bits reach the driver. */
	struct scmp_arg_cmp a = arg_cmp(1, SCMP_CMP_MASKED_EQ, 0xff00u, (uint64_t)(type & 0xffu) << 8);

	return add_rule(sb, SCMP_ACT_ALLOW, "ioctl", 1, &a);
}

int vhd_sandbox_allow_socket(struct vhd_sandbox *sb, int family)
{
	struct scmp_arg_cmp a = arg_cmp(0, SCMP_CMP_MASKED_EQ, 0xffffffffu, (uint64_t)(unsigned)family);

	return add_rule(sb, SCMP_ACT_ALLOW, "socket", 1, &a);
}

int vhd_sandbox_allow_open(struct vhd_sandbox *sb)
{
	/* Existing files only: no O_CREAT, O_TRUNC or O_TMPFILE. */
	uint64_t mask = (uint64_t)(O_CREAT | O_TRUNC | (O_TMPFILE & ~O_DIRECTORY));
	struct scmp_arg_cmp at = arg_cmp(2, SCMP_CMP_MASKED_EQ, mask, 0);
	struct scmp_arg_cmp plain = arg_cmp(1, SCMP_CMP_MASKED_EQ, mask, 0);

	if (add_rule(sb, SCMP_ACT_ALLOW, "openat", 1, &at) < 0)
		return -1;
	return add_rule(sb, SCMP_ACT_ALLOW, "open", 1, &plain);
}

/* What the core itself does after start-up, on every thread. */
static const char *const core_calls[] = {
	/* I/O on the connection, kick/call eventfds, timerfds, host fds */
	"read", "write", "readv", "writev", "pread64", "pwrite64", "close",
	"recvmsg", "sendmsg", "recvfrom", "sendto", "accept4", "accept", "shutdown",
	"getsockopt", "getsockname", "getpeername", "fcntl", "fstat", "newfstatat", "lseek",
	/* event loops (one per worker and queue thread) */
	"epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "epoll_pwait2",
	"eventfd2", "timerfd_create", "timerfd_settime", "timerfd_gettime",
	"poll", "ppoll",
	/* guest memory (SET_MEM_TABLE: mmap of the regions' fds), the heap */
	"mmap", "munmap", "mprotect", "madvise", "mremap", "brk",
	/* threads (worker pool, queue threads); clone itself is below */
	"futex", "set_robust_list", "rseq", "sched_yield", "sched_getaffinity",
	"gettid", "getpid", "exit",
	/* signals: the main thread's sigwaitinfo, pthread_kill to wake it, the
	 * SIGBUS truncation guard (mem-sigbus.h), this file's SIGSYS handler */
	"rt_sigprocmask", "rt_sigaction", "rt_sigreturn", "rt_sigtimedwait", "tgkill",
	"sigaltstack", "restart_syscall",
	/* time (when the vDSO falls back), randomness for the C library */
	"clock_gettime", "clock_getres", "clock_nanosleep", "nanosleep", "gettimeofday",
	"getrandom",
	/* exit: socket files removed, the process ends */
	"unlink", "unlinkat", "exit_group",
	NULL,
};

#ifdef VHD_SANITIZER_BUILD
/* LeakSanitizer at exit stops the threads with ptrace from a helper made
 * with clone (no CLONE_THREAD), reads /proc/self/maps and /proc/self/task;
 * the reports symbolize from the binary. */
static const char *const sanitizer_calls[] = {
	"ptrace", "wait4", "waitid", "prctl", "open", "openat", "readlink", "readlinkat",
	"getdents64", "getppid", "sched_setaffinity", "process_vm_readv", "pipe2",
	"dup", "dup2", "dup3", "mincore", "msync", "sysinfo", "uname", "getrlimit",
	"prlimit64", "kill", "statx", "stat", "lstat", "access", "faccessat", "faccessat2",
	"execve", "clone", "clone3", "vfork", "fork", "setrlimit", "getuid", "geteuid",
	"munlock", "mlock", "personality", "arch_prctl", "set_tid_address",
	NULL,
};
#endif

static int core_rules(struct vhd_sandbox *sb, bool xen)
{
	struct scmp_arg_cmp thread = arg_cmp(0, SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD);

	/* kill(2) of this process only: a device may end it as SIGTERM does
	 * (console's Ctrl-] q). */
	struct scmp_arg_cmp self = arg_cmp(0, SCMP_CMP_EQ, (uint64_t)getpid(), 0);

	if (vhd_sandbox_allow(sb, core_calls) < 0 ||
	    add_rule(sb, SCMP_ACT_ALLOW, "kill", 1, &self) < 0)
		return -1;
	/* pthread_create: clone3's flags are in memory a filter cannot read,
	 * so it fails with ENOSYS and glibc falls back to clone. */
	if (add_rule(sb, SCMP_ACT_ERRNO(ENOSYS), "clone3", 0, NULL) < 0 ||
	    add_rule(sb, SCMP_ACT_ALLOW, "clone", 1, &thread) < 0)
		return -1;
#ifdef VHD_SANITIZER_BUILD
	if (vhd_sandbox_allow(sb, sanitizer_calls) < 0)
		return -1;
#endif
	if (xen) {
		/* The Xen handles are opened on the first Xen region
		 * (mem-xen.c): /dev/xen/privcmd (ioctls 'P') and
		 * /dev/xen/gntdev (ioctls 'G'), mapped with mmap. */
		if (vhd_sandbox_allow_open(sb) < 0 ||
		    vhd_sandbox_allow_ioctl(sb, 'P') < 0 ||
		    vhd_sandbox_allow_ioctl(sb, 'G') < 0)
			return -1;
	}
	return 0;
}

int vhd_sandbox_parse_mode(const char *s, enum vhd_sandbox_mode *mode)
{
	if (!strcmp(s, "auto"))
		*mode = VHD_SANDBOX_AUTO;
	else if (!strcmp(s, "on"))
		*mode = VHD_SANDBOX_ON;
	else if (!strcmp(s, "off"))
		*mode = VHD_SANDBOX_OFF;
	else
		return -1;
	return 0;
}

/* Where seccomp filters cannot be loaded at all: no seccomp(2) (ENOSYS),
 * prctl(PR_SET_SECCOMP) refused (EINVAL: qemu-user refuses it), or no
 * TSYNC (EOPNOTSUPP from libseccomp). */
static bool unsupported(int r)
{
	return r == -ENOSYS || r == -EINVAL || r == -EOPNOTSUPP;
}

int vhd_sandbox_install(enum vhd_sandbox_mode mode, const char *prog,
			const struct vu_device_ops *ops, void *ctx, bool xen)
{
	struct vhd_sandbox sb = { .who = "core" };
	const char *base;
	char who[96];
	int r;

	if (mode == VHD_SANDBOX_OFF) {
		LOG_INFO("sandbox: off (--sandbox off)");
		return 0;
	}
#ifdef VHD_SANITIZER_BUILD
	/* LeakSanitizer's exit-time tracer (a clone without CLONE_THREAD,
	 * every signal blocked) dies on a call not yet identified, and the
	 * process then hangs at exit: sanitizer builds install the filter
	 * only when asked (--sandbox on; docs/security.md). */
	if (mode == VHD_SANDBOX_AUTO) {
		LOG_INFO("sandbox: not installed by default in a sanitizer build (--sandbox on installs it)");
		return 0;
	}
#endif
	base = strrchr(prog, '/');
	snprintf(prog_name, sizeof(prog_name), "%s", base ? base + 1 : prog);
	sb.ctx = seccomp_init(SCMP_ACT_TRAP);
	if (!sb.ctx) {
		fprintf(stderr, "%s: sandbox: cannot make a seccomp filter (out of memory)\n",
			prog_name);
		return -1;
	}
	/* A call of another ABI (x32, 32-bit compat) is refused the same way. */
	seccomp_attr_set(sb.ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_TRAP);
	/* The kernel's own errno from seccomp_load (ENOSYS, EINVAL), not
	 * libseccomp's ECANCELED, so that "unsupported here" is recognised. */
	seccomp_attr_set(sb.ctx, SCMP_FLTATR_API_SYSRAWRC, 1);
	r = seccomp_attr_set(sb.ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	/* The lists are built even where the filter cannot be loaded, so a
	 * device's bad list fails everywhere alike. */
	if (core_rules(&sb, xen) == 0 && ops->sandbox) {
		snprintf(who, sizeof(who), "device '%s'", ops->name);
		sb.who = who;
		if (ops->sandbox(ctx, &sb) < 0 && !sb.failed) {
			fprintf(stderr, "%s: sandbox: device '%s' could not give its list\n",
				prog_name, ops->name);
			sb.failed = 1;
		}
	}
	if (sb.failed) {
		seccomp_release(sb.ctx);
		return -1;
	}
	fill_name_table();
	if (r == 0 && install_handler() < 0)
		r = -errno;
	if (r == 0)
		r = seccomp_load(sb.ctx);
	seccomp_release(sb.ctx);
	if (r == 0) {
		LOG_INFO("sandbox: seccomp allow-list installed");
		return 0;
	}
	if (unsupported(r) && mode == VHD_SANDBOX_AUTO) {
		LOG_WARN("sandbox: this system cannot install seccomp filters (%s: no "
			 "seccomp filter support in the kernel, or a user-mode emulator); running "
			 "WITHOUT the sandbox (--sandbox on refuses to run so)", strerror(-r));
		signal(SIGSYS, SIG_DFL);
		return 0;
	}
	fprintf(stderr, "%s: sandbox: cannot install the seccomp filter: %s%s\n", prog_name,
		strerror(-r), unsupported(r) ? " (no seccomp filter support here: --sandbox auto "
		"or off runs without it)" : "");
	signal(SIGSYS, SIG_DFL);
	return -1;
}
