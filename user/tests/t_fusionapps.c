/*
 * t_fusionapps - runs the Fusion Ring example programs and checks what they print:
 * /bin/fusion_kv (key-value server with request/reply clients, one client's ring end granted)
 * and /bin/fusion_log (multicast log fan-out: received + lost = published for every
 * subscriber, the file subscriber's file has one line per record it received, the counts add
 * up), with a roomy ring and with a tiny one that forces lag. Also their usage lines.
 * On Linux (ENOSYS) one "not_exo" case.
 */
#include "utest.h"
#include "fusion.h"
#include "fusion_utest.h"

static unsigned long field(const char *line, const char *name)
{
	char key[32];
	snprintf(key, sizeof key, " %s=", name);
	const char *p = strstr(line, key);
	return p ? strtoul(p + strlen(key), NULL, 10) : (unsigned long)-1;
}

static char out[65536];

static void t_kv(void)
{
	char *argv[] = { "/bin/fusion_kv", "3", "2000", "40", NULL };
	int st = utest_run_capture(argv, out, sizeof out);
	const char *line = strstr(out, "fusion_kv: clients=");
	CHECKF("kv_runs", WIFEXITED(st) && WEXITSTATUS(st) == 0 && line && strstr(line, " ok\n"), "%s; output: %.300s",
	       utest_wstr(st), out);
	if (line)
		CHECKF("kv_summary",
		       field(line, "requests") == 6000 && field(line, "gets") + field(line, "puts") + field(line, "dels") == 6000 &&
			       field(line, "hits") + field(line, "misses") == field(line, "gets") && field(line, "bad") == 0 &&
			       field(line, "granted_clients") == 1 && field(line, "failed_clients") == 0,
		       "summary: %.300s", line);
	char *bad[] = { "/bin/fusion_kv", "0", NULL };
	st = utest_run_capture(bad, out, sizeof out);
	CHECKF("kv_usage", WIFEXITED(st) && WEXITSTATUS(st) == 2 && strstr(out, "usage: fusion_kv"), "%s: %.200s",
	       utest_wstr(st), out);
}

/* Checks fusion_log's output for `records`; returns the total lost over the subscribers. */
static long check_log(const char *name, char *const argv[], long records, const char *path)
{
	int st = utest_run_capture(argv, out, sizeof out);
	const char *pub = strstr(out, "fusion_log: published=");
	int ok = WIFEXITED(st) && WEXITSTATUS(st) == 0 && pub && strstr(pub, " ok\n");
	long lost_total = 0;
	char detail[256] = "";
	static const char *subs[] = { "file", "count", "errors" };
	unsigned long file_received = 0;
	for (int i = 0; i < 3 && ok; i++) {
		char key[64];
		snprintf(key, sizeof key, "subscriber=%s ", subs[i]);
		const char *l = strstr(out, key);
		if (!l) {
			ok = 0;
			snprintf(detail, sizeof detail, "no line for %s", subs[i]);
			break;
		}
		unsigned long rec = field(l - 1, "received"), lost = field(l - 1, "lost");
		unsigned long sum = field(l - 1, "debug") + field(l - 1, "info") + field(l - 1, "warn") + field(l - 1, "error");
		if (rec + lost != (unsigned long)records || sum != rec || field(l - 1, "out_of_order") != 0) {
			ok = 0;
			snprintf(detail, sizeof detail, "%s: received %lu lost %lu levels %lu", subs[i], rec, lost, sum);
		}
		if (lost == 0 && i == 1 && field(l - 1, "error") != field(pub - 1, "error"))
			ok = 0, snprintf(detail, sizeof detail, "error count differs");
		if (i == 0)
			file_received = rec;
		lost_total += (long)lost;
	}
	if (ok) {
		FILE *f = fopen(path, "r");
		unsigned long lines = 0;
		int ch;
		while (f && (ch = fgetc(f)) != EOF)
			lines += ch == '\n';
		if (f)
			fclose(f);
		unlink(path);
		if (lines != file_received)
			ok = 0, snprintf(detail, sizeof detail, "file has %lu lines, subscriber received %lu", lines, file_received);
	}
	CHECKF(name, ok, "%s %s; output: %.400s", utest_wstr(st), detail, out);
	return lost_total;
}

static void t_log(void)
{
	char *roomy[] = { "/bin/fusion_log", "3000", "8192", "/tmp/t_fusionapps.log", NULL };
	long lost = check_log("log_fanout", roomy, 3000, "/tmp/t_fusionapps.log");
	CHECKF("log_no_lag_when_roomy", lost == 0, "lost %ld records with 8192 slots", lost);
	CHECK("log_errors_printed", strstr(out, "fusion_log: errors: ERROR 97 ") != NULL);
	char *tiny[] = { "/bin/fusion_log", "200000", "16", "/tmp/t_fusionapps.log", NULL };
	lost = check_log("log_lag_counted", tiny, 200000, "/tmp/t_fusionapps.log");
	utest_printf("# t_fusionapps: a 16-slot ring lost %ld of 3 x 200000 records to lag\n", lost);
	char *bad[] = { "/bin/fusion_log", "10", "12", NULL };
	int st = utest_run_capture(bad, out, sizeof out);
	CHECKF("log_usage", WIFEXITED(st) && WEXITSTATUS(st) == 2 && strstr(out, "usage: fusion_log"), "%s: %.200s",
	       utest_wstr(st), out);
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	fusion_utest_require();
	t_kv();
	t_log();
	return utest_done();
}
