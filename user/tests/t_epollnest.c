/*
 * t_epollnest - the loop and depth check of epoll instances watching epoll instances stays
 * cheap on wide nestings: four layers of W instances, each watching every instance of the
 * layer below: W^3 = 262144 paths from a top instance for W = 64, and the bottom layer
 * watches W pipes each. Adding a top instance to a new epoll must be quick (the check used to
 * walk every path, under a global spin lock, copying the item list of every instance on it:
 * 2 s on TCG before); closing a cycle is still ELOOP, and so is a fifth level (as on Linux).
 */
#define UTEST_PROGRAM "t_epollnest"
#include "utest.h"

#include <sys/epoll.h>

#define W 64
#define LAYERS 4

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int add(int epfd, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };
	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	static int layer[LAYERS][W];
	for (int l = 0; l < LAYERS; l++) {
		for (int i = 0; i < W; i++) {
			layer[l][i] = epoll_create1(EPOLL_CLOEXEC);
			if (layer[l][i] < 0) {
				utest_fail("setup", "epoll_create1: %s", utest_errname(errno));
				return utest_done();
			}
		}
	}
	/* Top-down, so that each addition checks an instance that watches nothing yet. */
	int bad = 0;
	for (int l = 0; l + 1 < LAYERS; l++)
		for (int i = 0; i < W; i++)
			for (int j = 0; j < W; j++)
				if (add(layer[l][i], layer[l + 1][j]) != 0 && !bad)
					bad = errno;
	/* The bottom layer watches W ordinary descriptors each (duplicates of a pipe's read end). */
	int p[2], plain[W];
	if (pipe(p) != 0) {
		utest_fail("setup", "pipe: %s", utest_errname(errno));
		return utest_done();
	}
	for (int j = 0; j < W; j++)
		plain[j] = dup(p[0]);
	/* Linux limits the wake-up paths to one file (EINVAL past 500 at the second level), so
	 * there the bottom watches what it may; a kernel without that limit takes them all. */
	for (int i = 0; i < W; i++)
		for (int j = 0; j < W; j++)
			if (add(layer[LAYERS - 1][i], plain[j]) != 0 && errno != EINVAL && !bad)
				bad = errno;
	CHECKF("setup", bad == 0, "epoll_ctl ADD: %s", utest_errname(bad));

	int top = epoll_create1(EPOLL_CLOEXEC);
	long start = now_ms();
	int r = add(top, layer[0][0]);
	int err = errno;
	long took = now_ms() - start;
	CHECKF("wide_add", r == 0 && took < 1000, "returned %d (%s) after %ld ms", r, utest_errname(r ? err : 0), took);

	/* The bottom watching a top instance closes a cycle. */
	start = now_ms();
	CHECK_ERR("cycle", add(layer[LAYERS - 1][W - 1], layer[0][1]), ELOOP);
	took = now_ms() - start;
	CHECKF("cycle_quick", took < 1000, "took %ld ms", took);

	/* top -> layer 0 -> ... -> layer 3 is four levels below top: one more is too deep. */
	int above = epoll_create1(EPOLL_CLOEXEC);
	CHECK_ERR("too_deep", add(above, top), ELOOP);

	close(above);
	close(top);
	for (int l = 0; l < LAYERS; l++)
		for (int i = 0; i < W; i++)
			close(layer[l][i]);
	for (int j = 0; j < W; j++)
		close(plain[j]);
	close(p[0]);
	close(p[1]);
	return utest_done();
}
