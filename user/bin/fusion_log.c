/*
 * fusion_log - example program: a multicast log fan-out over a Fusion multicast ring
 * (fusion_chan.h). One publisher writes log records (level, sequence number, text); three
 * subscriber processes read them independently: one writes them to a file, one counts them by
 * level, one prints the errors. The publisher never waits for anybody: a subscriber that falls
 * behind loses the oldest records and reports how many (lag). Each subscriber prints one
 * summary line ("received + lost = published" must hold), the publisher one more.
 *
 * Usage: fusion_log [records (default 10000)] [ring slots, power of two 8..65536 (default
 *                   1024)] [output file (default /tmp/fusion_log.txt)] [publisher pause
 *                   every 64 records, microseconds (default 0)]
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/wait.h>
#include "fusion_chan.h"

#define MS 1000000ull
enum { DEBUG, INFO, WARN, ERROR, LEVELS };
static const char *level_name[LEVELS] = { "DEBUG", "INFO", "WARN", "ERROR" };

/* A record fits one slot (56 bytes): level, sequence number, text. */
struct record {
	uint8_t level;
	uint8_t pad[3];
	uint32_t seq;
	char text[48];
};

static int level_of(uint32_t seq)
{
	return seq % 97 == 0 ? ERROR : seq % 13 == 0 ? WARN : seq % 3 == 0 ? DEBUG : INFO;
}

enum { SUB_FILE, SUB_COUNT, SUB_ERRORS, SUBS };
static const char *sub_name[SUBS] = { "file", "count", "errors" };

static int subscriber(int role, int fd, int ready, const char *path)
{
	struct fusion_mc_sub s;
	if (fusion_mc_sub_open(&s, fd, 1))
		return 10;
	FILE *out = NULL;
	if (role == SUB_FILE && !(out = fopen(path, "w")))
		return 11;
	if (write(ready, "r", 1) != 1)
		return 12;
	unsigned long received = 0, by_level[LEVELS] = { 0 }, out_of_order = 0, shown = 0;
	uint32_t last = 0;
	int have_last = 0;
	for (;;) {
		struct record r;
		long n = fusion_mc_recv_wait(&s, &r, sizeof r, NULL, 20000 * MS);
		if (n == -ENOBUFS)
			continue; /* lag: counted in s.lost */
		if (n < 0)
			break; /* EPIPE: the publisher is gone and everything was read */
		if (n != sizeof r || r.level >= LEVELS)
			continue;
		if (have_last && r.seq <= last)
			out_of_order++;
		last = r.seq;
		have_last = 1;
		received++;
		by_level[r.level]++;
		if (role == SUB_FILE)
			fprintf(out, "%s %u %.*s\n", level_name[r.level], r.seq, (int)sizeof r.text, r.text);
		if (role == SUB_ERRORS && r.level == ERROR && shown++ < 5)
			printf("fusion_log: errors: ERROR %u %.*s\n", r.seq, (int)sizeof r.text, r.text);
	}
	if (out)
		fclose(out);
	char line[256];
	int len = snprintf(line, sizeof line,
			   "fusion_log: subscriber=%s received=%lu lost=%lu lag_events=%lu out_of_order=%lu debug=%lu "
			   "info=%lu warn=%lu error=%lu\n",
			   sub_name[role], received, (unsigned long)s.lost, (unsigned long)s.lag_events, out_of_order,
			   by_level[DEBUG], by_level[INFO], by_level[WARN], by_level[ERROR]);
	fflush(stdout);
	if (write(1, line, (size_t)len) != len)
		return 13;
	return out_of_order ? 14 : 0;
}

int main(int argc, char **argv)
{
	long records = argc > 1 ? atol(argv[1]) : 10000;
	long slots = argc > 2 ? atol(argv[2]) : 1024;
	const char *path = argc > 3 ? argv[3] : "/tmp/fusion_log.txt";
	long pause_us = argc > 4 ? atol(argv[4]) : 0;
	if (argc > 5 || records < 0 || slots < 8 || slots > 65536 || (slots & (slots - 1)) || pause_us < 0) {
		fprintf(stderr, "usage: fusion_log [records] [ring slots 8..65536, a power of two] [output file] "
				"[pause every 64 records, us]\n");
		return 2;
	}
	int fds[2];
	int e = fusion_mc_create((uint32_t)slots, O_CLOEXEC, fds);
	struct fusion_ring pub;
	if (e || (e = fusion_mc_pub_open(&pub, fds[0]))) {
		fprintf(stderr, "fusion_log: multicast ring: %s\n", strerror(-e));
		return 1;
	}
	int ready[2];
	if (pipe(ready))
		return 1;
	pid_t pids[SUBS];
	for (int i = 0; i < SUBS; i++) {
		fflush(stdout);
		pids[i] = fork();
		if (pids[i] == 0) {
			close(fds[0]);
			close(ready[0]);
			_exit(subscriber(i, fds[1], ready[1], path));
		}
	}
	close(fds[1]);
	close(ready[1]);
	char c;
	for (int i = 0; i < SUBS; i++)
		if (read(ready[0], &c, 1) != 1)
			break;
	close(ready[0]);

	unsigned long by_level[LEVELS] = { 0 };
	for (uint32_t seq = 0; seq < (uint32_t)records; seq++) {
		struct record r = { 0 };
		r.level = (uint8_t)level_of(seq);
		r.seq = seq;
		snprintf(r.text, sizeof r.text, "request %u handled by worker %u", seq * 7 + 1, seq % 5);
		by_level[r.level]++;
		e = fusion_mc_publish(&pub, &r, sizeof r, FUSION_MSG_DATA);
		if (e && e != -EPIPE) {
			fprintf(stderr, "fusion_log: publish: %s\n", strerror(-e));
			break;
		}
		if (pause_us && seq % 64 == 63) {
			struct timespec ts = { 0, pause_us * 1000 };
			nanosleep(&ts, NULL);
		}
	}
	fusion_close(&pub); /* the subscribers read what is left, then see EPIPE */
	int failed = 0;
	for (int i = 0; i < SUBS; i++) {
		int s;
		waitpid(pids[i], &s, 0);
		if (!WIFEXITED(s) || WEXITSTATUS(s)) {
			failed++;
			fprintf(stderr, "fusion_log: subscriber %s: status 0x%x\n", sub_name[i], s);
		}
	}
	printf("fusion_log: published=%ld debug=%lu info=%lu warn=%lu error=%lu slots=%ld failed_subscribers=%d %s\n",
	       records, by_level[DEBUG], by_level[INFO], by_level[WARN], by_level[ERROR], slots, failed,
	       failed ? "FAIL" : "ok");
	return failed != 0;
}
