/*
 * t_hello - first smoke test of a libc on Exo-OS (built with musl and with glibc).
 *
 * Prints "hello from <libc>", checks malloc (small and several MiB), four pthreads returning
 * computed values and per-thread __thread variables.  Invoked as "t_hello exit N" it exits with
 * status N right after printing the greeting (t_exec uses this to check exit statuses).
 */
#define UTEST_PROGRAM "t_hello"
#include "utest.h"

#include <pthread.h>

#define NTHREADS 4

static __thread int tls_init = 1234; /* .tdata: initialised per thread */
static __thread long tls_zero;      /* .tbss: zero per thread */

struct targ {
	int id;
	long result;
	void *tls_addr;
	int tls_ok;
};

static long work(int id)
{
	long sum = 0;
	for (long i = 0; i <= (id + 1) * 100000L; i++)
		sum += i;
	return sum;
}

static void *thread_main(void *p)
{
	struct targ *a = p;
	int ok = (tls_init == 1234 && tls_zero == 0);
	tls_init = 1000 + a->id;
	tls_zero = a->id * 7L;
	a->tls_addr = &tls_init;
	long r = work(a->id);
	sched_yield();
	ok = ok && tls_init == 1000 + a->id && tls_zero == a->id * 7L;
	a->tls_ok = ok;
	a->result = r;
	return (void *)(long)(a->id * 11 + 5);
}

static void check_malloc(void)
{
	char *small = malloc(100);
	int ok = small != NULL;
	if (ok) {
		for (int i = 0; i < 100; i++)
			small[i] = (char)i;
		for (int i = 0; i < 100; i++)
			ok = ok && small[i] == (char)i;
	}
	CHECKF("malloc_small", ok, "malloc(100)=%p or contents wrong", (void *)small);

	size_t big = 8u << 20;
	unsigned char *p = malloc(big);
	ok = p != NULL;
	if (ok) {
		for (size_t i = 0; i < big; i += 512)
			p[i] = (unsigned char)(i >> 9);
		for (size_t i = 0; i < big; i += 512)
			if (p[i] != (unsigned char)(i >> 9)) {
				ok = 0;
				break;
			}
	}
	CHECKF("malloc_large", ok, "malloc(8 MiB)=%p or contents wrong", (void *)p);

	unsigned char *q = p ? realloc(p, big * 2) : NULL;
	ok = q != NULL;
	if (ok) {
		for (size_t i = 0; i < big; i += 512)
			if (q[i] != (unsigned char)(i >> 9)) {
				ok = 0;
				break;
			}
		q[big * 2 - 1] = 0x5a;
		ok = ok && q[big * 2 - 1] == 0x5a;
	}
	CHECKF("realloc_large", ok, "realloc to 16 MiB=%p or contents lost", (void *)q);
	free(q ? q : p);

	int *z = calloc(1 << 20, sizeof(int));
	ok = z != NULL;
	for (int i = 0; ok && i < (1 << 20); i += 97)
		ok = z[i] == 0;
	CHECKF("calloc_zeroed", ok, "calloc=%p or not zeroed", (void *)z);
	free(z);
	free(small);

	/* Many allocations of varied size, freed in a different order. */
	void *ptrs[512];
	ok = 1;
	for (int i = 0; i < 512; i++) {
		ptrs[i] = malloc((size_t)(i * 37 % 4000) + 1);
		if (!ptrs[i])
			ok = 0;
		else
			memset(ptrs[i], i & 0xff, (size_t)(i * 37 % 4000) + 1);
	}
	for (int i = 0; i < 512 && ok; i++)
		ok = ((unsigned char *)ptrs[i])[0] == (i & 0xff);
	for (int i = 0; i < 512; i += 2)
		free(ptrs[i]);
	for (int i = 1; i < 512; i += 2)
		free(ptrs[i]);
	CHECK("malloc_many", ok);
}

static void check_threads(void)
{
	pthread_t th[NTHREADS];
	struct targ args[NTHREADS];
	int created = 0;
	for (int i = 0; i < NTHREADS; i++) {
		args[i] = (struct targ){ .id = i };
		int r = pthread_create(&th[i], NULL, thread_main, &args[i]);
		if (r != 0) {
			utest_fail("pthread_create", "thread %d: error %s/%d", i, utest_errname(r), r);
			break;
		}
		created++;
	}
	if (created == NTHREADS)
		utest_ok("pthread_create");
	int ok = 1;
	char detail[256] = "";
	for (int i = 0; i < created; i++) {
		void *ret = NULL;
		int r = pthread_join(th[i], &ret);
		if (r != 0 || ret != (void *)(long)(i * 11 + 5)) {
			ok = 0;
			snprintf(detail, sizeof detail, "thread %d: join=%d ret=%p", i, r, ret);
		} else if (args[i].result != work(i)) {
			ok = 0;
			snprintf(detail, sizeof detail, "thread %d: result %ld expected %ld", i,
				 args[i].result, work(i));
		}
	}
	CHECKF("pthread_join", ok && created == NTHREADS, "%s", detail);

	ok = created == NTHREADS;
	for (int i = 0; i < created; i++) {
		ok = ok && args[i].tls_ok && args[i].tls_addr != (void *)&tls_init;
		for (int j = 0; j < i; j++)
			ok = ok && args[i].tls_addr != args[j].tls_addr;
	}
	ok = ok && tls_init == 1234 && tls_zero == 0;
	CHECKF("tls_distinct", ok, "per-thread __thread values/addresses not distinct (main %d/%ld)",
	       tls_init, tls_zero);
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	printf("hello from %s\n", UTEST_LIBC);
	fflush(stdout);
	if (argc >= 3 && strcmp(argv[1], "exit") == 0)
		exit(atoi(argv[2]));

	CHECK("argv0", argc >= 1 && argv[0] != NULL && argv[argc] == NULL);
	check_malloc();
	check_threads();
	return utest_done();
}
