/*
 * t_tcprace - TCP over loopback from many threads at once (run on 2 CPUs in Exo-OS): client
 * threads connect, exchange a message and close while two threads accept from one listener
 * and echo; another thread opens non-blocking connections and closes them before they
 * complete, and one closes sockets another thread is blocked in.  Every exchange must
 * complete, nothing may hang.  Passes on Linux too.
 */
#define UTEST_PROGRAM "t_tcprace"
#include "utest.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/socket.h>

enum { CLIENTS = 4, ROUNDS = 60 };

static int port, lfd;
static volatile int echoed, exchanged, failures, stop, last_stage, last_errno;

static struct sockaddr_in lo(int p)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(p) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

static void *server(void *arg)
{
	(void)arg;
	for (;;) {
		int s = accept(lfd, NULL, NULL);
		if (s < 0)
			return NULL; /* the listener was shut down */
		char buf[8];
		ssize_t n = recv(s, buf, sizeof buf, MSG_WAITALL);
		if (n == 8 && send(s, buf, 8, MSG_NOSIGNAL) == 8)
			__sync_fetch_and_add(&echoed, 1);
		close(s);
	}
}

static void *client(void *arg)
{
	long id = (long)arg;
	for (int i = 0; i < ROUNDS; i++) {
		int c = socket(AF_INET, SOCK_STREAM, 0);
		int one = 1;
		setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		struct sockaddr_in a = lo(port);
		char msg[8], back[8];
		snprintf(msg, sizeof msg, "%ld-%04d", id, i);
		int stage = 0;
		if (connect(c, (struct sockaddr *)&a, sizeof a) == 0 && ++stage && send(c, msg, 8, MSG_NOSIGNAL) == 8 && ++stage &&
		    recv(c, back, 8, MSG_WAITALL) == 8 && ++stage && memcmp(msg, back, 8) == 0) {
			__sync_fetch_and_add(&exchanged, 1);
		} else {
			last_stage = stage;
			last_errno = errno;
			__sync_fetch_and_add(&failures, 1);
		}
		close(c);
	}
	return NULL;
}

/* Non-blocking connects closed at once, to the listener and to a closed port. */
static void *abandoner(void *arg)
{
	(void)arg;
	while (!stop) {
		int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		struct sockaddr_in a = lo(port);
		connect(c, (struct sockaddr *)&a, sizeof a);
		close(c);
		c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		a = lo(1);
		connect(c, (struct sockaddr *)&a, sizeof a);
		close(c);
	}
	return NULL;
}

static int blocked_fd;

static void *blocked_reader(void *arg)
{
	(void)arg;
	char c;
	recv(blocked_fd, &c, 1, 0);
	return NULL;
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	signal(SIGPIPE, SIG_IGN);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a = lo(0);
	bind(lfd, (struct sockaddr *)&a, sizeof a);
	listen(lfd, 64);
	socklen_t len = sizeof a;
	getsockname(lfd, (struct sockaddr *)&a, &len);
	port = ntohs(a.sin_port);

	pthread_t srv[2], cli[CLIENTS], ab;
	for (int i = 0; i < 2; i++)
		pthread_create(&srv[i], NULL, server, NULL);
	pthread_create(&ab, NULL, abandoner, NULL);
	int64_t t0 = utest_now_ns(CLOCK_MONOTONIC);
	for (long i = 0; i < CLIENTS; i++)
		pthread_create(&cli[i], NULL, client, (void *)i);
	for (int i = 0; i < CLIENTS; i++)
		pthread_join(cli[i], NULL);
	long ms = (long)((utest_now_ns(CLOCK_MONOTONIC) - t0) / 1000000);
	stop = 1;
	pthread_join(ab, NULL);
	CHECKF("race.exchanges", exchanged == CLIENTS * ROUNDS && failures == 0, "%d ok, %d failed (%ld ms; last failure at step %d: %s)", exchanged, failures, ms, last_stage, strerror(last_errno));

	/* A second listener-side close: accept() in the servers must return, not hang. */
	shutdown(lfd, SHUT_RDWR);
	for (int i = 0; i < 2; i++)
		pthread_join(srv[i], NULL);
	CHECKF("race.echoed", echoed >= CLIENTS * ROUNDS, "%d", echoed);
	close(lfd);

	/* A thread blocked in recv while its peer goes away gets end of file. */
	int l2 = socket(AF_INET, SOCK_STREAM, 0);
	a = lo(0);
	bind(l2, (struct sockaddr *)&a, sizeof a);
	listen(l2, 1);
	len = sizeof a;
	getsockname(l2, (struct sockaddr *)&a, &len);
	int c = socket(AF_INET, SOCK_STREAM, 0);
	connect(c, (struct sockaddr *)&a, sizeof a);
	int s = accept(l2, NULL, NULL);
	blocked_fd = c;
	pthread_t r;
	pthread_create(&r, NULL, blocked_reader, NULL);
	utest_sleep_ms(50);
	close(s);
	pthread_join(r, NULL);
	CHECK("race.blocked_reader_returns", 1);
	close(c);
	close(l2);
	return utest_done();
}
