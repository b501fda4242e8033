/*
 * t_unix_errors - hostile arguments to the socket calls on AF_UNIX sockets: bad domains,
 * types, protocols and flags; EBADF and ENOTSOCK; EFAULT for bad buffers, names, msghdrs,
 * iovecs and option pointers; EINVAL for bad lengths; ENOPROTOOPT/EOPNOTSUPP for unknown
 * options; EISCONN/ENOTCONN/EOPNOTSUPP/EPROTOTYPE; a flood of sockets closed again; and
 * the descriptors and sockets all given back (/proc/net/unix_stats when present).
 */
#define UTEST_PROGRAM "t_unix_errors"
#include "utest.h"

#include <fcntl.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

#define BAD ((void *)8)

static void check_creation(void)
{
	CHECK_ERR("bad_domain", socket(12345, SOCK_STREAM, 0), EAFNOSUPPORT);
	CHECK_ERR("bad_type", socket(AF_UNIX, 9, 0), ESOCKTNOSUPPORT);
	CHECK_ERR("bad_protocol", socket(AF_UNIX, SOCK_STREAM, 7), EPROTONOSUPPORT);
	CHECK_ERR("bad_type_flags", socket(AF_UNIX, SOCK_STREAM | 0x100000, 0), EINVAL);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	CHECK("socket_flags", s >= 0 && (fcntl(s, F_GETFD) & FD_CLOEXEC) && (fcntl(s, F_GETFL) & O_NONBLOCK));
	close(s);
	CHECK_RET("protocol_pf_unix", (s = socket(AF_UNIX, SOCK_DGRAM, PF_UNIX)) >= 0, 1);
	close(s);
	CHECK_ERR("socketpair_efault", syscall(SYS_socketpair, AF_UNIX, SOCK_STREAM, 0, BAD), EFAULT);
	CHECK_ERR("socketpair_inet", socketpair(AF_INET, SOCK_STREAM, 0, (int[2]){ 0, 0 }), EOPNOTSUPP);
}

static void check_descriptors(void)
{
	char buf[4];
	int f = open("/", O_RDONLY);
	CHECK_ERR("ebadf_send", send(999, buf, 1, 0), EBADF);
	CHECK_ERR("ebadf_bind", bind(-1, BAD, 3), EBADF);
	CHECK_ERR("enotsock_send", send(f, buf, 1, 0), ENOTSOCK);
	CHECK_ERR("enotsock_recv", recv(f, buf, 1, 0), ENOTSOCK);
	struct sockaddr_un un = { .sun_family = AF_UNIX, .sun_path = "/x" };
	CHECK_ERR("enotsock_connect", connect(f, (struct sockaddr *)&un, sizeof un), ENOTSOCK);
	/* Linux reads connect's address before it looks at the descriptor's kind. */
	CHECK_ERR("connect_efault_before_enotsock", connect(f, BAD, 3), EFAULT);
	CHECK_ERR("enotsock_listen", listen(f, 1), ENOTSOCK);
	CHECK_ERR("enotsock_getsockopt", getsockopt(f, SOL_SOCKET, SO_TYPE, buf, &(socklen_t){ 4 }), ENOTSOCK);
	close(f);
}

static void check_faults(void)
{
	int sv[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	char buf[8];
	CHECK_ERR("send_efault", send(sv[0], BAD, 4, 0), EFAULT);
	write(sv[0], "abcd", 4);
	CHECK_ERR("recv_efault", recv(sv[1], BAD, 4, 0), EFAULT);
	CHECK_RET("data_kept_after_efault", recv(sv[1], buf, 8, 0), 4);
	CHECK_ERR("sendmsg_bad_msghdr", syscall(SYS_sendmsg, sv[0], BAD, 0), EFAULT);
	CHECK_ERR("recvmsg_bad_msghdr", syscall(SYS_recvmsg, sv[1], BAD, MSG_DONTWAIT), EFAULT);
	struct iovec v = { BAD, 4 };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1 };
	CHECK_ERR("sendmsg_bad_iov_base", sendmsg(sv[0], &m, 0), EFAULT);
	m.msg_iov = BAD;
	CHECK_ERR("sendmsg_bad_iov", syscall(SYS_sendmsg, sv[0], &m, 0), EFAULT);
	m.msg_iov = &v;
	m.msg_iovlen = 100000;
	CHECK_ERR("sendmsg_too_many_iov", syscall(SYS_sendmsg, sv[0], &m, 0), EMSGSIZE);
	CHECK_ERR("getsockopt_bad_len_ptr", getsockopt(sv[0], SOL_SOCKET, SO_TYPE, buf, BAD), EFAULT);
	CHECK_ERR("getsockopt_bad_value", getsockopt(sv[0], SOL_SOCKET, SO_TYPE, BAD, &(socklen_t){ 4 }), EFAULT);
	CHECK_ERR("getsockopt_negative_len", getsockopt(sv[0], SOL_SOCKET, SO_TYPE, buf, &(socklen_t){ (socklen_t)-1 }), EINVAL);
	CHECK_ERR("setsockopt_bad_value", setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, BAD, 4), EFAULT);
	CHECK_ERR("getsockname_bad_len", getsockname(sv[0], (struct sockaddr *)buf, BAD), EFAULT);
	CHECK_ERR("getpeername_bad_addr", getpeername(sv[0], BAD, &(socklen_t){ 16 }), EFAULT);
	CHECK_ERR("unknown_option", getsockopt(sv[0], SOL_SOCKET, 9999, buf, &(socklen_t){ 4 }), ENOPROTOOPT);
	CHECK_ERR("unknown_set_option", setsockopt(sv[0], SOL_SOCKET, 9999, &(int){ 1 }, 4), ENOPROTOOPT);
	CHECK_ERR("set_so_type", setsockopt(sv[0], SOL_SOCKET, SO_TYPE, &(int){ 1 }, 4), ENOPROTOOPT);
	CHECK_ERR("sendto_on_stream", sendto(sv[0], "x", 1, 0, (struct sockaddr *)&(struct sockaddr_un){ .sun_family = AF_UNIX, .sun_path = "/x" }, 5), EISCONN);
	/* The name is looked up first: nobody there. */
	CHECK_ERR("connect_connected_pair", connect(sv[0], (struct sockaddr *)&(struct sockaddr_un){ .sun_family = AF_UNIX, .sun_path = "\0exo-none" }, 11), ECONNREFUSED);
	CHECK_ERR("listen_connected", listen(sv[0], 1), EINVAL);
	int err = -1;
	socklen_t el = sizeof err;
	CHECK_RET("so_error", getsockopt(sv[0], SOL_SOCKET, SO_ERROR, &err, &el), 0);
	CHECK_EQ("so_error_zero", err, 0);
	close(sv[0]);
	close(sv[1]);
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK_ERR("send_unconnected", send(s, "x", 1, MSG_NOSIGNAL), ENOTCONN);
	CHECK_ERR("recv_unconnected", recv(s, buf, 1, MSG_DONTWAIT), EINVAL);
	CHECK_ERR("sendto_unconnected_stream", sendto(s, "x", 1, MSG_NOSIGNAL, (struct sockaddr *)&(struct sockaddr_un){ .sun_family = AF_UNIX, .sun_path = "/x" }, 5), EOPNOTSUPP);
	CHECK_ERR("connect_bad_addr", connect(s, BAD, 10), EFAULT);
	CHECK_ERR("connect_negative_len", connect(s, (struct sockaddr *)buf, -1), EINVAL);
	CHECK_ERR("bind_huge_len", bind(s, (struct sockaddr *)buf, 100000), EINVAL);
	close(s);
}

static void check_flood(void)
{
	long in0 = -1, so0 = -1, in1 = -1, so1 = -1;
	FILE *f = fopen("/proc/net/unix_stats", "r");
	if (f) {
		if (fscanf(f, "inflight %ld sockets %ld", &in0, &so0) != 2)
			in0 = -1;
		fclose(f);
	}
	int fds[400], n = 0;
	signal(SIGPIPE, SIG_IGN); /* writes to pairs whose other end closed first */
	for (; n < 200; n++)
		if (socketpair(AF_UNIX, n % 2 ? SOCK_STREAM : SOCK_DGRAM, 0, &fds[2 * n]) != 0)
			break;
	CHECKF("flood_created", n == 200, "n=%d errno=%d", n, errno);
	for (int i = 0; i < 2 * n; i++) {
		write(fds[i], "data", 4);
		close(fds[i]);
	}
	f = fopen("/proc/net/unix_stats", "r");
	if (f) {
		if (fscanf(f, "inflight %ld sockets %ld", &in1, &so1) != 2)
			in1 = -2;
		fclose(f);
		CHECKF("flood_freed", in1 == in0 && so1 == so0, "sockets %ld -> %ld", so0, so1);
	}
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	check_creation();
	check_descriptors();
	check_faults();
	check_flood();
	return utest_done();
}
