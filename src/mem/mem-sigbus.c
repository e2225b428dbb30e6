/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * The truncation guard of Unix guest memory (mem-sigbus.h).
 *
 * Why a handler and not sigsetjmp around every access: guest memory is read
 * and written by memcpy, by readv/sendmsg in the kernel (which returns
 * EFAULT, not a signal) and by the virtqueue code through plain pointers;
 * wrapping them all would cost every access for a case that only a broken
 * or hostile frontend creates.  Replacing the lost page costs nothing until
 * it happens.
 *
 * Async-signal safety: the handler only does atomic loads, one mmap(2)
 * (a plain system call on Linux) and an atomic add.
 */
#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "mem/mem-sigbus.h"

struct gm_sigbus_guard {
	atomic_int state;               /* FREE, CLAIMED (being set up), ACTIVE */
	_Atomic uintptr_t start;
	_Atomic size_t len;
	_Atomic size_t page;
	atomic_ulong hits;
};

enum { FREE, CLAIMED, ACTIVE };

static struct gm_sigbus_guard guards[GM_SIGBUS_GUARDS];
static struct sigaction previous;
static pthread_mutex_t install_lock = PTHREAD_MUTEX_INITIALIZER;

static bool patch(uintptr_t addr)
{
	for (unsigned i = 0; i < GM_SIGBUS_GUARDS; i++) {
		struct gm_sigbus_guard *g = &guards[i];
		uintptr_t start, page;
		void *p;

		if (atomic_load_explicit(&g->state, memory_order_acquire) != ACTIVE)
			continue;
		start = atomic_load_explicit(&g->start, memory_order_relaxed);
		if (addr - start >= atomic_load_explicit(&g->len, memory_order_relaxed))
			continue;
		page = atomic_load_explicit(&g->page, memory_order_relaxed);
		p = mmap((void *)(addr & ~(page - 1)), page, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		if (p == MAP_FAILED)
			return false;
		atomic_fetch_add_explicit(&g->hits, 1, memory_order_relaxed);
		return true;
	}
	return false;
}

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	if (si && si->si_code == BUS_ADRERR && patch((uintptr_t)si->si_addr))
		return;         /* the access is retried on the zero page */
	/* Not ours: whoever was there before decides. */
	if (previous.sa_flags & SA_SIGINFO) {
		if (previous.sa_sigaction) {
			previous.sa_sigaction(sig, si, uc);
			return;
		}
	} else if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN) {
		previous.sa_handler(sig);
		return;
	}
	/* Default action on return: the faulting access runs again and the
	 * process ends with SIGBUS, as it would have without us. */
	signal(SIGBUS, SIG_DFL);
}

/* Install the handler unless it is in place.  Checked on every new guard,
 * not once: whoever set a SIGBUS handler after us (a test framework, a
 * library) becomes the handler we pass foreign faults to. */
static bool install(void)
{
	struct sigaction cur, sa;
	bool ok = true;

	pthread_mutex_lock(&install_lock);
	if (sigaction(SIGBUS, NULL, &cur) < 0) {
		ok = false;
	} else if (!(cur.sa_flags & SA_SIGINFO) || cur.sa_sigaction != on_sigbus) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = on_sigbus;
		sa.sa_flags = SA_SIGINFO | SA_RESTART;
		sigemptyset(&sa.sa_mask);
		ok = sigaction(SIGBUS, &sa, &previous) == 0;
	}
	pthread_mutex_unlock(&install_lock);
	return ok;
}

struct gm_sigbus_guard *gm_sigbus_guard_add(void *base, size_t len, size_t page_size)
{
	if (!len || !page_size || (page_size & (page_size - 1)) || !install())
		return NULL;
	for (unsigned i = 0; i < GM_SIGBUS_GUARDS; i++) {
		struct gm_sigbus_guard *g = &guards[i];
		int expect = FREE;

		if (!atomic_compare_exchange_strong(&g->state, &expect, CLAIMED))
			continue;
		atomic_store_explicit(&g->start, (uintptr_t)base, memory_order_relaxed);
		atomic_store_explicit(&g->len, len, memory_order_relaxed);
		atomic_store_explicit(&g->page, page_size, memory_order_relaxed);
		atomic_store_explicit(&g->hits, 0, memory_order_relaxed);
		atomic_store_explicit(&g->state, ACTIVE, memory_order_release);
		return g;
	}
	return NULL;
}

unsigned long gm_sigbus_guard_del(struct gm_sigbus_guard *g)
{
	unsigned long hits;

	if (!g)
		return 0;
	atomic_store_explicit(&g->state, CLAIMED, memory_order_release);
	hits = atomic_load_explicit(&g->hits, memory_order_relaxed);
	atomic_store_explicit(&g->state, FREE, memory_order_release);
	return hits;
}
