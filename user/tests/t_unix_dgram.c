/*
 * t_unix_dgram - AF_UNIX datagram and seqpacket records: socketpair records kept whole,
 * MSG_TRUNC (the flag returns the full length, msg_flags says truncated), MSG_PEEK, zero-length
 * datagrams, sendto/recvfrom between bound sockets (the sender's name), an unbound sender's
 * empty name, connect as a filter (EPERM for others), AF_UNSPEC disconnect, ECONNREFUSED when
 * the receiver is closed, ENOENT/ECONNREFUSED for bad destinations, EMSGSIZE, a bounded queue
 * (EAGAIN), a blocked sender woken by a receive, shutdown, and SOCK_RAW becoming SOCK_DGRAM.
 */
#define UTEST_PROGRAM "t_unix_dgram"
#include "utest.h"

#include <poll.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

static socklen_t abstract_addr(struct sockaddr_un *a, const char *name)
{
	memset(a, 0, sizeof *a);
	a->sun_family = AF_UNIX;
	size_t n = strlen(name);
	memcpy(a->sun_path + 1, name, n);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
}

static void check_records(int type, const char *tag)
{
	int sv[2];
	char buf[64], name[64];
#define N(x) (snprintf(name, sizeof name, "%s_%s", tag, x), name)
	if (!CHECK_RET(N("socketpair"), socketpair(AF_UNIX, type, 0, sv), 0))
		return;
	CHECK_RET(N("send1"), send(sv[0], "first", 5, 0), 5);
	CHECK_RET(N("send2"), send(sv[0], "second!", 7, 0), 7);
	CHECK_RET(N("send_empty"), send(sv[0], "", 0, 0), 0);
	CHECK_RET(N("recv1"), recv(sv[1], buf, sizeof buf, 0), 5);
	CHECK_RET(N("peek2"), recv(sv[1], buf, 3, MSG_PEEK), 3);
	CHECK_RET(N("peek2_trunc_flag"), recv(sv[1], buf, 3, MSG_PEEK | MSG_TRUNC), 7);
	struct iovec v = { buf, 3 };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1 };
	CHECK_RET(N("recv2_truncated"), recvmsg(sv[1], &m, 0), 3);
	CHECK(N("recv2_msg_trunc"), m.msg_flags & MSG_TRUNC);
	CHECK_RET(N("recv_empty"), recv(sv[1], buf, sizeof buf, 0), 0);
	CHECK_ERR(N("recv_dontwait"), recv(sv[1], buf, sizeof buf, MSG_DONTWAIT), EAGAIN);
	/* Iovecs gather into one record and scatter out of it. */
	struct iovec out[2] = { { "ab", 2 }, { "cd", 2 } };
	struct msghdr mo = { .msg_iov = out, .msg_iovlen = 2 };
	CHECK_RET(N("sendmsg_gather"), sendmsg(sv[0], &mo, 0), 4);
	char x[1], y[8];
	struct iovec in[2] = { { x, 1 }, { y, 8 } };
	struct msghdr mi = { .msg_iov = in, .msg_iovlen = 2 };
	CHECK_RET(N("recvmsg_scatter"), recvmsg(sv[1], &mi, 0), 4);
	CHECK(N("recvmsg_scatter_bytes"), x[0] == 'a' && memcmp(y, "bcd", 3) == 0);
	/* A bounded queue: a non-blocking sender stops with EAGAIN. */
	int n = 0;
	while (n < 100000 && send(sv[0], buf, 64, MSG_DONTWAIT) == 64)
		n++;
	CHECKF(N("queue_bounded"), n > 0 && n < 100000 && errno == EAGAIN, "n=%d errno=%d", n, errno);
	struct pollfd p = { sv[0], POLLOUT, 0 };
	CHECK_RET(N("full_not_writable"), poll(&p, 1, 0), 0);
	/* A blocked sender goes on once the receiver takes records. */
	pid_t pid = fork();
	if (pid == 0)
		_exit(send(sv[0], buf, 64, 0) == 64 ? 0 : 1);
	utest_sleep_ms(50);
	while (recv(sv[1], buf, sizeof buf, MSG_DONTWAIT) >= 0)
		;
	CHECK_EQ(N("blocked_sender_woken"), WEXITSTATUS(utest_wait(pid)), 0);
	int big = 1 << 20;
	char *huge = malloc((size_t)big);
	CHECK_ERR(N("emsgsize"), send(sv[0], huge, (size_t)big, 0), EMSGSIZE);
	free(huge);
	close(sv[0]);
	close(sv[1]);
#undef N
}

static void check_addresses(void)
{
	struct sockaddr_un a, b, from;
	socklen_t alen = abstract_addr(&a, "exo-dgram-a"), blen = abstract_addr(&b, "exo-dgram-b"), flen;
	int sa = socket(AF_UNIX, SOCK_DGRAM, 0), sb = socket(AF_UNIX, SOCK_DGRAM, 0), u = socket(AF_UNIX, SOCK_DGRAM, 0);
	char buf[16];
	CHECK_RET("bind_a", bind(sa, (struct sockaddr *)&a, alen), 0);
	CHECK_RET("bind_b", bind(sb, (struct sockaddr *)&b, blen), 0);
	CHECK_RET("sendto_b", sendto(sa, "hi", 2, 0, (struct sockaddr *)&b, blen), 2);
	flen = sizeof from;
	CHECK_RET("recvfrom_a", recvfrom(sb, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen), 2);
	CHECK("recvfrom_sender_name", flen == alen && memcmp(&from, &a, alen) == 0);
	CHECK_RET("sendto_unbound", sendto(u, "u", 1, 0, (struct sockaddr *)&b, blen), 1);
	flen = sizeof from;
	CHECK_RET("recvfrom_unbound", recvfrom(sb, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen), 1);
	CHECK_EQ("recvfrom_unbound_len", flen, 0);
	CHECK_ERR("send_unconnected", send(u, "x", 1, 0), ENOTCONN);
	/* connect: the default destination, and only the peer's records come in. */
	CHECK_RET("connect_b_to_a", connect(sb, (struct sockaddr *)&a, alen), 0);
	CHECK_ERR("sendto_filtered", sendto(u, "x", 1, 0, (struct sockaddr *)&b, blen), EPERM);
	CHECK_RET("send_connected", send(sb, "ok", 2, 0), 2);
	CHECK_RET("recv_from_peer", recv(sa, buf, sizeof buf, 0), 2);
	struct sockaddr_un gp;
	socklen_t gl = sizeof gp;
	CHECK_RET("getpeername_dgram", getpeername(sb, (struct sockaddr *)&gp, &gl), 0);
	CHECK("getpeername_dgram_name", gl == alen && memcmp(&gp, &a, alen) == 0);
	struct sockaddr unspec = { .sa_family = AF_UNSPEC };
	CHECK_RET("disconnect", connect(sb, &unspec, sizeof unspec), 0);
	CHECK_ERR("send_after_disconnect", send(sb, "x", 1, 0), ENOTCONN);
	CHECK_RET("sendto_after_disconnect", sendto(u, "x", 1, 0, (struct sockaddr *)&b, blen), 1);
	recv(sb, buf, sizeof buf, 0);
	/* The receiver closes: ECONNREFUSED once, then not connected. */
	CHECK_RET("connect_u_to_a", connect(u, (struct sockaddr *)&a, alen), 0);
	close(sa);
	CHECK_ERR("send_closed_peer", send(u, "x", 1, 0), ECONNREFUSED);
	CHECK_ERR("send_closed_peer_again", send(u, "x", 1, 0), ENOTCONN);
	CHECK_ERR("sendto_nobody", sendto(u, "x", 1, 0, (struct sockaddr *)&a, alen), ECONNREFUSED);
	struct sockaddr_un p;
	memset(&p, 0, sizeof p);
	p.sun_family = AF_UNIX;
	strcpy(p.sun_path, "/tmp/no/such/socket");
	CHECK_ERR("sendto_enoent", sendto(u, "x", 1, 0, (struct sockaddr *)&p, sizeof p), ENOENT);
	CHECK_ERR("sendto_bad_len", sendto(u, "x", 1, 0, (struct sockaddr *)&p, 1), EINVAL);
	CHECK_ERR("listen_dgram", listen(sb, 1), EOPNOTSUPP);
	CHECK_ERR("accept_dgram", accept(sb, NULL, NULL), EOPNOTSUPP);
	/* Shutdown: reads end, sends fail. */
	CHECK_RET("dgram_shut_rd", shutdown(sb, SHUT_RD), 0);
	CHECK_RET("dgram_read_after_shut", recv(sb, buf, sizeof buf, 0), 0);
	CHECK_ERR("dgram_sendto_shut_receiver", sendto(u, "x", 1, 0, (struct sockaddr *)&b, blen), EPIPE);
	CHECK_RET("dgram_shut_wr", shutdown(u, SHUT_WR), 0);
	CHECK_ERR("dgram_send_after_shut_wr", sendto(u, "x", 1, MSG_NOSIGNAL, (struct sockaddr *)&b, blen), EPIPE);
	close(sb);
	close(u);
	/* SOCK_RAW is a datagram socket. */
	int r = socket(AF_UNIX, SOCK_RAW, 0);
	int type = 0;
	socklen_t tl = sizeof type;
	getsockopt(r, SOL_SOCKET, SO_TYPE, &type, &tl);
	CHECK_EQ("raw_is_dgram", type, SOCK_DGRAM);
	close(r);
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	check_records(SOCK_DGRAM, "dgram");
	check_records(SOCK_SEQPACKET, "seqpacket");
	check_addresses();
	return utest_done();
}
