/*
 * t_fusionrust - runs the Rust Fusion Ring example /bin/fusion_echo_rs (user/rust: no_std Rust
 * over exo-fusion, its own runtime) with 20,000 messages and checks its exit status and its
 * line "fusion_echo_rs: 20000 messages ok"; also its usage error (exit 2).
 * On Linux the fusion calls answer ENOSYS (and the Rust program is not built for the host):
 * one "not_exo" case.
 */
#include "utest.h"
#include "fusion.h"

static char out[4096];

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	int fds[2];
	int e = fusion_create_simple(64, 1, 1, 0, 0, fds);
	if (e == -ENOSYS) {
		utest_ok("not_exo");
		return utest_done();
	}
	if (e == 0) {
		close(fds[0]);
		close(fds[1]);
	}

	char *echo[] = { "/bin/fusion_echo_rs", "20000", NULL };
	int64_t t0 = utest_now_ns(CLOCK_MONOTONIC);
	int st = utest_run_capture(echo, out, sizeof out);
	int64_t ms = (utest_now_ns(CLOCK_MONOTONIC) - t0) / 1000000;
	CHECKF("echo_20000", WIFEXITED(st) && WEXITSTATUS(st) == 0 && !strcmp(out, "fusion_echo_rs: 20000 messages ok\n"),
	       "%s; output: %.300s", st <= -1000 ? "run failed" : utest_wstr(st), out);
	printf("# fusion_echo_rs 20000: %ld ms\n", (long)ms);
	fflush(stdout);

	char *bad[] = { "/bin/fusion_echo_rs", "zero", NULL };
	st = utest_run_capture(bad, out, sizeof out);
	CHECKF("usage", WIFEXITED(st) && WEXITSTATUS(st) == 2 && strstr(out, "usage: fusion_echo_rs"), "%s; output: %.200s",
	       st <= -1000 ? "run failed" : utest_wstr(st), out);
	return utest_done();
}
