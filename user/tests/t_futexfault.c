/*
 * t_futexfault - FUTEX_WAIT on words whose page is not mapped in yet: the kernel reads the word
 * (faulting the page in) without holding its futex table lock, after queueing the waiter, so
 * no wake-up between the read and the sleep is lost. Checks EAGAIN/ETIMEDOUT on fresh
 * private and shared anonymous pages, EFAULT after munmap, and many wait/wake rounds on a fresh
 * page each, racing the waker against the waiter's fault.
 */
#define UTEST_PROGRAM "t_futexfault"
#include "utest.h"

#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>

#define ROUNDS 200
#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_PRIVATE_FLAG 128
#define FUTEX_WAIT_PRIVATE (FUTEX_WAIT | FUTEX_PRIVATE_FLAG)

static long futex(volatile uint32_t *addr, int op, uint32_t val, const struct timespec *ts)
{
	return syscall(SYS_futex, addr, op, val, ts, NULL, 0);
}

static void *fresh_page(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

struct round {
	volatile uint32_t *word;
	long result;
	int err;
};

static void *waiter(void *arg)
{
	struct round *r = arg;
	struct timespec limit = { 3, 0 };
	errno = 0;
	r->result = futex(r->word, FUTEX_WAIT, 0, &limit);
	r->err = errno;
	return NULL;
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	struct timespec short_wait = { 0, 20 * 1000 * 1000 };

	volatile uint32_t *w = fresh_page();
	CHECK_ERR("fresh_mismatch", futex(w, FUTEX_WAIT, 1, NULL), EAGAIN);
	munmap((void *)w, 4096);
	w = fresh_page();
	CHECK_ERR("fresh_timeout", futex(w, FUTEX_WAIT_PRIVATE, 0, &short_wait), ETIMEDOUT);
	munmap((void *)w, 4096);
	CHECK_ERR("unmapped", futex(w, FUTEX_WAIT, 0, &short_wait), EFAULT);

	volatile uint32_t *f = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (f != MAP_FAILED) {
		CHECK_ERR("shared_mismatch", futex(f, FUTEX_WAIT, 7, NULL), EAGAIN);
		munmap((void *)f, 4096);
		f = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		CHECK_ERR("shared_timeout", futex(f, FUTEX_WAIT, 0, &short_wait), ETIMEDOUT);
		munmap((void *)f, 4096);
	} else {
		utest_fail("shared_mismatch", "mmap: %s", utest_errname(errno));
	}

	/* Wait/wake rounds, each on a page the waiter touches first through the futex call. */
	int lost = 0, bad = 0, woke = 0, raced = 0;
	char detail[128] = "";
	for (int i = 0; i < ROUNDS; i++) {
		struct round r = { fresh_page(), 0, 0 };
		if (!r.word) {
			bad++;
			break;
		}
		pthread_t t;
		if (pthread_create(&t, NULL, waiter, &r) != 0) {
			bad++;
			munmap((void *)r.word, 4096);
			break;
		}
		if (i & 1)
			sched_yield();
		/* Change the word first, then wake: the waiter either sees 1 or is woken. */
		__atomic_store_n(r.word, 1, __ATOMIC_SEQ_CST);
		futex(r.word, FUTEX_WAKE, 1, NULL);
		pthread_join(t, NULL);
		if (r.result == 0)
			woke++;
		else if (r.err == EAGAIN)
			raced++;
		else if (r.err == ETIMEDOUT)
			lost++;
		else if (!bad++)
			snprintf(detail, sizeof detail, "round %d: %ld errno %s", i, r.result, utest_errname(r.err));
		munmap((void *)r.word, 4096);
	}
	CHECKF("rounds", lost == 0 && bad == 0, "%d lost wake-ups, %d errors %s (woken %d, EAGAIN %d)", lost,
	       bad, detail, woke, raced);
	return utest_done();
}
