/*
 * fusion_kv - example program: a key-value server (GET/PUT/DEL over a hash table) answering
 * N client processes over Fusion Rings with request/reply (fusion_chan.h: correlation ids,
 * the call's direct hand-off). Each client has its own ring; client 0 receives its ring end
 * by a GRANT_FD grant over a control ring instead of inheriting it. Clients check every answer
 * against a private model of their own keys. Prints one summary line and exits 0 when every
 * answer was right.
 *
 * Usage: fusion_kv [clients (1..64, default 4)] [requests per client (default 1000)]
 *                  [keys per client (default 32)]
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include "fusion_chan.h"

#define MS 1000000ull
#define TIMEOUT (20000 * MS)
enum { OP_GET = 1, OP_PUT, OP_DEL };
enum { ST_OK = 0, ST_MISSING = 1, ST_BAD = 2 };

/* A request: op, key length, value length, then key and value bytes. */
struct req {
	uint8_t op, klen;
	uint16_t vlen;
	char data[120];
};
struct rep {
	int32_t status;
	char value[100];
};

/* ---- the server's hash table ---- */
struct entry {
	struct entry *next;
	uint16_t klen, vlen;
	char key[24];
	char value[100];
};
#define BUCKETS 1024
static struct entry *table[BUCKETS];

static unsigned hash(const char *k, size_t n)
{
	unsigned h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)k[i]) * 16777619u;
	return h % BUCKETS;
}
static struct entry **lookup(const char *k, size_t n)
{
	struct entry **e = &table[hash(k, n)];
	while (*e && !((*e)->klen == n && !memcmp((*e)->key, k, n)))
		e = &(*e)->next;
	return e;
}

static struct {
	unsigned long gets, puts, dels, hits, misses, bad;
} st;

/* Answers one request; returns the reply length. */
static size_t serve(const struct req *q, size_t len, struct rep *r)
{
	r->status = ST_BAD;
	if (len < 4 || q->klen == 0 || q->klen > 24 || q->vlen > 100 || len != 4u + q->klen + q->vlen) {
		st.bad++;
		return 4;
	}
	struct entry **e = lookup(q->data, q->klen);
	switch (q->op) {
	case OP_GET:
		st.gets++;
		if (!*e) {
			st.misses++;
			r->status = ST_MISSING;
			return 4;
		}
		st.hits++;
		r->status = ST_OK;
		memcpy(r->value, (*e)->value, (*e)->vlen);
		return 4 + (*e)->vlen;
	case OP_PUT:
		st.puts++;
		if (!*e) {
			*e = calloc(1, sizeof **e);
			if (!*e)
				return 4;
			(*e)->klen = q->klen;
			memcpy((*e)->key, q->data, q->klen);
		}
		(*e)->vlen = q->vlen;
		memcpy((*e)->value, q->data + q->klen, q->vlen);
		r->status = ST_OK;
		return 4;
	case OP_DEL:
		st.dels++;
		if (!*e) {
			r->status = ST_MISSING;
			return 4;
		}
		struct entry *dead = *e;
		*e = dead->next;
		free(dead);
		r->status = ST_OK;
		return 4;
	}
	st.bad++;
	return 4;
}

/* ---- a client: random operations on its own keys, checked against a model ---- */
static int client(int id, int fd, int requests, int keys)
{
	struct fusion_ring r;
	struct fusion_rr rr;
	if (fusion_open(&r, fd) || fusion_rr_init(&rr, &r))
		return 10;
	char model[256][100];
	int present[256] = { 0 }, vlen[256] = { 0 };
	uint64_t rng = 0x1234567ull * (uint64_t)(id + 1);
	int wrong = 0;
	for (int i = 0; i < requests; i++) {
		rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
		int k = (int)(rng % (uint64_t)keys);
		int op = (int)((rng >> 20) % 10);
		struct req q;
		q.op = op < 5 ? OP_GET : op < 9 ? OP_PUT : OP_DEL;
		q.klen = (uint8_t)snprintf(q.data, 24, "c%d-k%d", id, k);
		q.vlen = 0;
		if (q.op == OP_PUT) {
			q.vlen = (uint16_t)(1 + (rng >> 32) % 90);
			for (int j = 0; j < q.vlen; j++)
				q.data[q.klen + j] = (char)('a' + (i + j) % 26);
		}
		struct rep a;
		long n = fusion_rr_call(&rr, &q, 4u + q.klen + q.vlen, &a, sizeof a, TIMEOUT);
		if (n < 4)
			return 11;
		if (q.op == OP_GET) {
			if (present[k] ? (a.status != ST_OK || n - 4 != vlen[k] || memcmp(a.value, model[k], (size_t)vlen[k]))
				       : a.status != ST_MISSING)
				wrong++;
		} else if (q.op == OP_PUT) {
			wrong += a.status != ST_OK;
			present[k] = 1;
			vlen[k] = q.vlen;
			memcpy(model[k], q.data + q.klen, q.vlen);
		} else {
			wrong += a.status != (present[k] ? ST_OK : ST_MISSING);
			present[k] = 0;
		}
	}
	fusion_rr_fini(&rr);
	fusion_close(&r);
	return wrong ? 12 : 0;
}

int main(int argc, char **argv)
{
	int clients = argc > 1 ? atoi(argv[1]) : 4;
	int requests = argc > 2 ? atoi(argv[2]) : 1000;
	int keys = argc > 3 ? atoi(argv[3]) : 32;
	if (argc > 4 || clients < 1 || clients > 64 || requests < 0 || keys < 1 || keys > 256) {
		fprintf(stderr, "usage: fusion_kv [clients 1..64] [requests per client] [keys per client 1..256]\n");
		return 2;
	}
	/* Client 0's ring end travels over a control ring. */
	int ctl[2];
	int e = fusion_create_simple(16, 1, 0, FUSION_KIND_DUPLEX, O_CLOEXEC, ctl);
	if (e) {
		fprintf(stderr, "fusion_kv: fusion_create: %s\n", strerror(-e));
		return 1;
	}
	pid_t pids[64];
	struct fusion_ring rings[64];
	int ep = epoll_create1(EPOLL_CLOEXEC);
	for (int c = 0; c < clients; c++) {
		int fds[2];
		if ((e = fusion_create_simple(64, 1, 1, FUSION_KIND_DUPLEX, O_CLOEXEC, fds))) {
			fprintf(stderr, "fusion_kv: fusion_create: %s\n", strerror(-e));
			return 1;
		}
		pids[c] = fork();
		if (pids[c] == 0) {
			int fd = fds[1];
			if (c == 0) {
				close(fds[1]);
				struct fusion_ring cr;
				struct fusion_grant_msg gm;
				unsigned kind = 0;
				if (fusion_open(&cr, ctl[1]))
					_exit(20);
				long n = fusion_recv_wait(&cr, 0, &gm, sizeof gm, &kind, TIMEOUT);
				struct fusion_accepted acc;
				long got = n == sizeof gm && kind == FUSION_MSG_GRANT ? fusion_accept_msg(&cr, &gm, (size_t)n, &acc, O_CLOEXEC) : -1;
				if (got < 0)
					_exit(21);
				fd = (int)got;
				fusion_close(&cr);
			}
			_exit(client(c, fd, requests, keys));
		}
		if (fusion_open(&rings[c], fds[0])) {
			fprintf(stderr, "fusion_kv: fusion_open failed\n");
			return 1;
		}
		if (c == 0) {
			struct fusion_ring cr;
			if (fusion_open(&cr, ctl[0]) ||
			    fusion_send_fd(&cr, 0, fds[1], FUSION_RIGHT_SEND | FUSION_RIGHT_RECV) < 0) {
				fprintf(stderr, "fusion_kv: granting client 0's end failed\n");
				return 1;
			}
			fusion_unmap(&cr);
		}
		close(fds[1]);
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)c };
		epoll_ctl(ep, EPOLL_CTL_ADD, fds[0], &ev);
	}
	close(ctl[1]);

	int open_clients = clients;
	unsigned long served = 0;
	struct req q;
	struct rep a;
	while (open_clients > 0) {
		struct epoll_event evs[16];
		int n = epoll_wait(ep, evs, 16, 20000);
		if (n <= 0) {
			fprintf(stderr, "fusion_kv: epoll_wait=%d: the clients went quiet\n", n);
			break;
		}
		for (int i = 0; i < n; i++) {
			int c = (int)evs[i].data.u32;
			struct fusion_ring *r = &rings[c];
			for (;;) {
				/* Requests and replies carry a 64-bit correlation id first. */
				uint8_t buf[8 + sizeof q];
				long len = fusion_recv(r, 0, buf, sizeof buf, NULL);
				if (len == -EAGAIN)
					break;
				if (len < 0) { /* EPIPE: the client is done */
					epoll_ctl(ep, EPOLL_CTL_DEL, r->fd, NULL);
					open_clients--;
					break;
				}
				if (len < 8)
					continue;
				memcpy(&q, buf + 8, (size_t)len - 8);
				size_t rl = serve(&q, (size_t)len - 8, &a);
				uint8_t out[8 + sizeof a];
				memcpy(out, buf, 8);
				memcpy(out + 8, &a, rl);
				if (fusion_send_wait(r, 0, out, 8 + rl, FUSION_MSG_DATA, TIMEOUT) == 0)
					served++;
			}
		}
	}
	int failed = 0;
	for (int c = 0; c < clients; c++) {
		int s;
		waitpid(pids[c], &s, 0);
		if (!WIFEXITED(s) || WEXITSTATUS(s)) {
			failed++;
			fprintf(stderr, "fusion_kv: client %d: status 0x%x\n", c, s);
		}
		fusion_close(&rings[c]);
	}
	printf("fusion_kv: clients=%d requests=%lu gets=%lu hits=%lu misses=%lu puts=%lu dels=%lu bad=%lu "
	       "granted_clients=1 failed_clients=%d %s\n",
	       clients, served, st.gets, st.hits, st.misses, st.puts, st.dels, st.bad, failed,
	       failed || served != (unsigned long)clients * (unsigned long)requests ? "FAIL" : "ok");
	return failed || served != (unsigned long)clients * (unsigned long)requests;
}
