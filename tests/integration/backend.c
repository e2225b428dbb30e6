/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/* Integration tests: run a real backend binary (contract in backend.h). */
#include "config.h"
#include "backend.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_RUNNING 16
/* How long a backend may take to create its sockets or to exit on
 * SIGTERM: a failure bound, generous for sanitized binaries on a busy
 * machine. */
#define BACKEND_BOUND_MS 30000

static pid_t running[MAX_RUNNING];
static bool atexit_set;

static void kill_all_at_exit(void)
{
	for (unsigned i = 0; i < MAX_RUNNING; i++) {
		if (running[i] > 0) {
			kill(running[i], SIGKILL);
			waitpid(running[i], NULL, 0);
			running[i] = 0;
		}
	}
}

static void track(pid_t pid, bool add)
{
	for (unsigned i = 0; i < MAX_RUNNING; i++) {
		if (add && running[i] == 0) {
			running[i] = pid;
			return;
		}
		if (!add && running[i] == pid) {
			running[i] = 0;
			return;
		}
	}
}

static void remove_dir(const char *dir);

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void backend_socket(const struct backend *b, bool suffixed, unsigned i,
		    char *out, size_t len)
{
	if (suffixed)
		snprintf(out, len, "%s%u", b->base, i);
	else
		snprintf(out, len, "%s", b->base);
}

void backend_file(const struct backend *b, const char *name, char *out, size_t len)
{
	snprintf(out, len, "%s/%s", b->dir, name);
}

bool backend_alive(const struct backend *b)
{
	return b->pid > 0 && waitpid(b->pid, NULL, WNOHANG) == 0;
}

int backend_init(struct backend *b)
{
	memset(b, 0, sizeof(*b));
	b->pid = -1;
	snprintf(b->dir, sizeof(b->dir), "/tmp/vhd-it-XXXXXX");
	if (!mkdtemp(b->dir)) {
		b->dir[0] = '\0';
		return -errno;
	}
	snprintf(b->base, sizeof(b->base), "%s/sock", b->dir);
	snprintf(b->log, sizeof(b->log), "%s/backend.log", b->dir);
	return 0;
}

/* Does the file start with "#!"? */
static bool is_script(const char *path)
{
	char head[2] = { 0 };
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	bool r;

	if (fd < 0)
		return false;
	r = read(fd, head, 2) == 2 && head[0] == '#' && head[1] == '!';
	close(fd);
	return r;
}

int backend_spawn(struct backend *b, const char *binary, const char *const *args,
		  const char *const *wait_for)
{
	const char *builddir = getenv("VHD_BUILDDIR");
	const char *wrapper = getenv("VHD_TEST_EXEC_WRAPPER");
	char prog[512];
	const char *argv[64];
	unsigned argc = 0;
	pid_t parent = getpid();

	if (!builddir)
		builddir = VHD_BUILDDIR;
	snprintf(prog, sizeof(prog), "%s/%s", builddir, binary);
	if (access(prog, X_OK) < 0) {
		fprintf(stderr, "backend: %s is not an executable: %s\n", prog, strerror(errno));
		return -ENOENT;
	}
	/* $VHD_TEST_EXEC_WRAPPER: a program that runs the backend, as in
	 * "WRAPPER PROG ARGS..." -- the emulator when the binaries are for
	 * another architecture (scripts/arm64-check.sh: qemu-aarch64 user
	 * emulation, without binfmt_misc).  Not for a script (a generated
	 * wrapper such as tests/integration/test-can-fakeif): the host's
	 * shell runs it, and it applies the wrapper to the binary it execs. */
	if (wrapper && *wrapper && !is_script(prog))
		argv[argc++] = wrapper;
	argv[argc++] = prog;
	for (unsigned i = 0; args && args[i]; i++) {
		if (argc == sizeof(argv) / sizeof(argv[0]) - 1)
			return -E2BIG;
		argv[argc++] = args[i];
	}
	argv[argc] = NULL;

	if (!atexit_set) {
		atexit(kill_all_at_exit);
		atexit_set = true;
	}
	fflush(NULL);
	b->pid = fork();
	if (b->pid < 0)
		return -errno;
	if (b->pid == 0) {
		int fd = open(b->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		/* Die with the test, whatever happens to it. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		if (fd >= 0)
			dup2(fd, STDERR_FILENO);
		fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (fd >= 0) {
			dup2(fd, STDIN_FILENO);
			dup2(fd, STDOUT_FILENO);
		}
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	track(b->pid, true);

	/* Wait for every socket file (bind creates it atomically). */
	for (int64_t t0 = now_ms();;) {
		bool all = true;

		for (unsigned i = 0; wait_for && wait_for[i]; i++) {
			struct stat st;

			if (stat(wait_for[i], &st) < 0)
				all = false;
		}
		if (all)
			return 0;
		if (!backend_alive(b)) {
			fprintf(stderr, "backend: %s exited before creating its sockets\n", prog);
			b->pid = -1;
			backend_stop(b);
			return -ECHILD;
		}
		if (now_ms() - t0 >= BACKEND_BOUND_MS) {
			fprintf(stderr, "backend: %s created its sockets not within %d s\n", prog,
				BACKEND_BOUND_MS / 1000);
			backend_stop(b);
			return -ETIMEDOUT;
		}
		sleep_ms(5);
	}
}

int backend_start(struct backend *b, const char *binary, bool suffixed,
		  unsigned nsockets, const char *const *args)
{
	const char *argv[32];
	char (*paths)[160];
	const char **wait_for;
	unsigned argc = 0, n = suffixed ? nsockets : 1;
	int r;

	/* One path per socket the backend must create before it counts as
	 * started (sized from the caller's count: test-fairness waits for 64). */
	if (n == 0 || n > 4096)
		return -E2BIG;
	paths = calloc(n, sizeof(*paths));
	wait_for = calloc(n + 1, sizeof(*wait_for));
	if (!paths || !wait_for) {
		free(paths);
		free(wait_for);
		return -ENOMEM;
	}
	r = backend_init(b);
	if (r < 0)
		goto out;
	argv[argc++] = "-s";
	argv[argc++] = b->base;
	for (unsigned i = 0; args && args[i] && argc < 31; i++)
		argv[argc++] = args[i];
	argv[argc] = NULL;
	for (unsigned i = 0; i < n; i++) {
		backend_socket(b, suffixed, i, paths[i], sizeof(paths[i]));
		wait_for[i] = paths[i];
	}
	wait_for[n] = NULL;
	r = backend_spawn(b, binary, argv, wait_for);
	if (r < 0 && b->dir[0]) {
		remove_dir(b->dir);
		b->dir[0] = '\0';
	}
out:
	free(paths);
	free(wait_for);
	return r;
}

static void dump_log(const struct backend *b)
{
	char line[512];
	FILE *f = fopen(b->log, "r");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		fprintf(stderr, "[backend %d] %s%s", (int)b->pid, line,
			strchr(line, '\n') ? "" : "\n");
	fclose(f);
}

static void remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		char p[512];

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		unlink(p);
	}
	closedir(d);
	rmdir(dir);
}

int backend_stop(struct backend *b)
{
	int status = 0, ret = -1;

	if (b->pid > 0) {
		kill(b->pid, SIGTERM);
		for (int64_t t0 = now_ms(); now_ms() - t0 < BACKEND_BOUND_MS;) {
			pid_t r = waitpid(b->pid, &status, WNOHANG);
			if (r == b->pid) {
				ret = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
				break;
			}
			if (r < 0)
				break;
			sleep_ms(5);
		}
		if (ret < 0) {
			fprintf(stderr, "backend: pid %d ignored SIGTERM for %d s; killing it\n",
				(int)b->pid, BACKEND_BOUND_MS / 1000);
			kill(b->pid, SIGKILL);
			waitpid(b->pid, NULL, 0);
		}
		track(b->pid, false);
		dump_log(b);
		b->pid = 0;
	}
	if (b->dir[0]) {
		remove_dir(b->dir);
		b->dir[0] = '\0';
	}
	return ret;
}

int backend_wait_log(const struct backend *b, const char *needle, int timeout_ms)
{
	for (int64_t t0 = now_ms();;) {
		char line[1024];
		bool found = false;
		FILE *f = fopen(b->log, "r");

		if (f) {
			while (!found && fgets(line, sizeof(line), f))
				found = strstr(line, needle) != NULL;
			fclose(f);
		}
		if (found)
			return 0;
		if (!backend_alive(b))
			return -ECHILD;
		if (now_ms() - t0 >= timeout_ms)
			return -ETIMEDOUT;
		sleep_ms(5);
	}
}

int proc_fd_count(pid_t pid)
{
	char p[64];
	DIR *d;
	struct dirent *e;
	int n = 0;

	snprintf(p, sizeof(p), "/proc/%d/fd", (int)pid);
	d = opendir(p);
	if (!d)
		return -errno;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

long long proc_cpu_ticks(pid_t pid)
{
	char p[64], buf[1024], *s;
	unsigned long long ut, st;
	FILE *f;
	size_t n;

	snprintf(p, sizeof(p), "/proc/%d/stat", (int)pid);
	f = fopen(p, "r");
	if (!f)
		return -errno;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The command name may contain spaces: fields start after ')'. */
	s = strrchr(buf, ')');
	if (!s || sscanf(s + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
			 &ut, &st) != 2)
		return -EINVAL;
	return (long long)(ut + st);
}
