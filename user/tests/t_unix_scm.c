/*
 * t_unix_scm - control messages over AF_UNIX sockets: SCM_RIGHTS (a pipe end passed and used,
 * several descriptors, MSG_CMSG_CLOEXEC, MSG_PEEK duplicates, descriptors that do not fit
 * closed with MSG_CTRUNC, EBADF, EINVAL for malformed lists and more than SCM_MAX_FD, a passed
 * socket used by the receiver), descriptors riding on a stream (a read stops after them), the
 * in-flight cycles (a socket sent over itself, two sockets sent to each other: refused or
 * freed — the socket and in-flight counts return to their baseline in /proc/net/unix_stats
 * when it exists), SCM_CREDENTIALS with SO_PASSCRED (received even when none were sent, EPERM
 * for a forged pid), and /proc/net/unix.
 */
#define UTEST_PROGRAM "t_unix_scm"
#include "utest.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/utsname.h>

static int send_fds(int s, const int *fds, int n, const char *data, size_t len)
{
	char ctl[CMSG_SPACE(sizeof(int) * 300)];
	memset(ctl, 0, sizeof ctl);
	struct iovec v = { (void *)data, len };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)n) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)n);
	memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)n);
	/* Raw: musl's sendmsg refuses control data over 1 KiB (ENOMEM). */
	return (int)syscall(SYS_sendmsg, s, &m, 0);
}

/* Receives into `fds` (at most `max`); returns the byte count, *n the descriptors, *flags. */
static int recv_fds(int s, int *fds, int max, int *n, int *flags, size_t space, int rflags)
{
	char ctl[CMSG_SPACE(sizeof(int) * 300)];
	char data[64];
	struct iovec v = { data, sizeof data };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = space };
	int r = (int)recvmsg(s, &m, rflags);
	*n = 0;
	*flags = m.msg_flags;
	if (r < 0)
		return r;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			for (int i = 0; i < k && *n < max; i++)
				memcpy(&fds[(*n)++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
		}
	}
	return r;
}

/* (in flight, sockets alive) from /proc/net/unix_stats; -1 when the file is absent (Linux). */
static int stats(long *inflight, long *sockets)
{
	FILE *f = fopen("/proc/net/unix_stats", "r");
	if (!f)
		return -1;
	int ok = fscanf(f, "inflight %ld sockets %ld", inflight, sockets) == 2;
	fclose(f);
	return ok ? 0 : -1;
}

/* Running under Exo-OS (uname's release says "exo"); procfs mounted by this test. */
static int exo, mounted_proc;

static int open_fds(void)
{
	int n = 0;
	for (int fd = 0; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			n++;
	return n;
}

static void check_rights(int type, const char *tag)
{
	char name[64];
#define N(x) (snprintf(name, sizeof name, "%s_%s", tag, x), name)
	int sv[2], p[2], got[8], n, flags;
	socketpair(AF_UNIX, type, 0, sv);
	pipe(p);
	CHECK_RET(N("send_pipe_end"), send_fds(sv[0], &p[1], 1, "x", 1), 1);
	close(p[1]);
	CHECK_RET(N("recv_pipe_end"), recv_fds(sv[1], got, 8, &n, &flags, CMSG_SPACE(sizeof(int) * 8), MSG_CMSG_CLOEXEC), 1);
	CHECK_EQ(N("one_fd"), n, 1);
	CHECK_EQ(N("cmsg_cloexec"), n == 1 ? fcntl(got[0], F_GETFD) & FD_CLOEXEC : -1, FD_CLOEXEC);
	CHECK_RET(N("write_passed_end"), write(got[0], "via", 3), 3);
	char buf[8];
	CHECK_RET(N("read_pipe"), read(p[0], buf, 8), 3);
	close(got[0]);
	/* Several at once; peek duplicates them. */
	int three[3] = { p[0], p[0], p[0] };
	CHECK_RET(N("send_three"), send_fds(sv[0], three, 3, "y", 1), 1);
	CHECK_RET(N("peek_three"), recv_fds(sv[1], got, 8, &n, &flags, CMSG_SPACE(sizeof(int) * 8), MSG_PEEK), 1);
	CHECK_EQ(N("peek_three_n"), n, 3);
	for (int i = 0; i < n; i++)
		close(got[i]);
	CHECK_RET(N("recv_three"), recv_fds(sv[1], got, 8, &n, &flags, CMSG_SPACE(sizeof(int) * 8), 0), 1);
	CHECK_EQ(N("recv_three_n"), n, 3);
	CHECK_EQ(N("no_cloexec"), fcntl(got[0], F_GETFD) & FD_CLOEXEC, 0);
	for (int i = 0; i < n; i++)
		close(got[i]);
	/* No room: MSG_CTRUNC, the descriptors that do not fit are closed (not installed). */
	{
		int before = open_fds();
		send_fds(sv[0], three, 3, "z", 1);
		CHECK_RET(N("recv_no_room"), recv_fds(sv[1], got, 8, &n, &flags, CMSG_LEN(sizeof(int)), 0), 1);
		CHECK(N("ctrunc_one_fits"), n == 1 && (flags & MSG_CTRUNC));
		close(got[0]);
		CHECK_EQ(N("ctrunc_rest_closed"), open_fds(), before);
		send_fds(sv[0], three, 3, "z", 1);
		CHECK_RET(N("read_drops_fds"), read(sv[1], buf, 1), 1);
		CHECK_EQ(N("read_drops_closed"), open_fds(), before);
		/* Bad descriptors and malformed lists. */
		int bad = 999;
		CHECK_ERR(N("send_ebadf"), send_fds(sv[0], &bad, 1, "b", 1), EBADF);
		int many[254];
		for (int i = 0; i < 254; i++)
			many[i] = p[0];
		CHECK_ERR(N("send_too_many"), send_fds(sv[0], many, 254, "m", 1), EINVAL);
		CHECK_RET(N("send_max"), send_fds(sv[0], many, 253, "m", 1), 1);
		int got253[260];
		CHECK_RET(N("recv_max"), recv_fds(sv[1], got253, 260, &n, &flags, CMSG_SPACE(sizeof(int) * 260), 0), 1);
		CHECK_EQ(N("recv_max_n"), n, 253);
		for (int i = 0; i < n; i++)
			close(got253[i]);
	}
	char ctl[64];
	memset(ctl, 0, sizeof ctl);
	struct iovec v = { "q", 1 };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl };
	struct cmsghdr *c = (struct cmsghdr *)ctl;
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = sizeof ctl + 8;
	CHECK_ERR(N("cmsg_len_too_long"), sendmsg(sv[0], &m, 0), EINVAL);
	c->cmsg_len = 8;
	CHECK_ERR(N("cmsg_len_too_short"), sendmsg(sv[0], &m, 0), EINVAL);
	c->cmsg_len = CMSG_LEN(4);
	c->cmsg_type = 77;
	CHECK_ERR(N("cmsg_bad_type"), sendmsg(sv[0], &m, 0), EINVAL);
	m.msg_control = (void *)8;
	/* Raw: musl copies msg_control itself. */
	CHECK_ERR(N("cmsg_efault"), syscall(SYS_sendmsg, sv[0], &m, 0), EFAULT);
	close(p[0]);
	close(sv[0]);
	close(sv[1]);
#undef N
}

static void check_stream_marks(void)
{
	int sv[2], p[2], got[4], n, flags;
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	pipe(p);
	CHECK_RET("stream_plain", write(sv[0], "aa", 2), 2);
	CHECK_RET("stream_with_fd", send_fds(sv[0], &p[0], 1, "bb", 2), 2);
	CHECK_RET("stream_plain2", write(sv[0], "cc", 2), 2);
	/* A read runs into the bytes that carry a descriptor, takes it, and stops after them. */
	CHECK_RET("stream_read_to_fd", recv_fds(sv[1], got, 4, &n, &flags, CMSG_SPACE(16), 0), 4);
	CHECK_EQ("stream_read_to_fd_n", n, 1);
	if (n > 0)
		close(got[0]);
	CHECK_RET("stream_read_after_fd", recv_fds(sv[1], got, 4, &n, &flags, CMSG_SPACE(16), 0), 2);
	/* Two messages with descriptors: never in one read. */
	send_fds(sv[0], &p[0], 1, "dd", 2);
	send_fds(sv[0], &p[0], 1, "ee", 2);
	CHECK_RET("stream_one_fd_message", recv_fds(sv[1], got, 4, &n, &flags, CMSG_SPACE(16), 0), 2);
	CHECK_EQ("stream_one_fd_message_n", n, 1);
	if (n > 0)
		close(got[0]);
	CHECK_RET("stream_second_fd_message", recv_fds(sv[1], got, 4, &n, &flags, CMSG_SPACE(16), 0), 2);
	if (n > 0)
		close(got[0]);
	CHECK_RET("stream_zero_bytes_with_fd", send_fds(sv[0], &p[0], 1, "", 0), 0);
	close(p[0]);
	close(p[1]);
	close(sv[0]);
	close(sv[1]);
}

static void check_sockets_in_flight(void)
{
	long in0 = 0, so0 = 0, in1 = 0, so1 = 0;
	int have = stats(&in0, &so0) == 0;
	if (exo)
		CHECK("unix_stats_present", have);
	int fds_before = open_fds();
	/* A socket passed and used by the receiver. */
	int sv[2], inner[2], got[2], n, flags;
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	socketpair(AF_UNIX, SOCK_STREAM, 0, inner);
	CHECK_RET("send_socket", send_fds(sv[0], &inner[1], 1, "s", 1), 1);
	close(inner[1]);
	recv_fds(sv[1], got, 2, &n, &flags, CMSG_SPACE(8), 0);
	CHECK_EQ("recv_socket", n, 1);
	CHECK_RET("use_passed_socket", write(got[0], "hey", 3), 3);
	char buf[4];
	CHECK_RET("read_through_passed", read(inner[0], buf, 4), 3);
	close(got[0]);
	close(inner[0]);
	/* A socket sent over itself, then closed: refused (Exo-OS) or collected (Linux). */
	int r1 = send_fds(sv[0], &sv[1], 1, "c", 1);
	CHECKF("self_cycle_refused_or_sent", r1 == 1 || (r1 == -1 && errno == ETOOMANYREFS), "r=%d errno=%d", r1, errno);
	/* Two sockets sent to each other. */
	int a[2], b[2];
	socketpair(AF_UNIX, SOCK_DGRAM, 0, a);
	socketpair(AF_UNIX, SOCK_DGRAM, 0, b);
	int ra = send_fds(a[0], &b[1], 1, "1", 1);
	int rb = send_fds(b[0], &a[1], 1, "2", 1);
	CHECKF("pair_cycle_refused_or_sent", ra == 1 && (rb == 1 || errno == ETOOMANYREFS), "ra=%d rb=%d errno=%d", ra, rb, errno);
	close(a[0]);
	close(a[1]);
	close(b[0]);
	close(b[1]);
	close(sv[0]);
	close(sv[1]);
	/* A socket in flight receives no descriptors; one that carries is not sent. */
	int c[2], d[2], p[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, c);
	socketpair(AF_UNIX, SOCK_STREAM, 0, d);
	pipe(p);
	send_fds(c[0], &p[0], 1, "p", 1); /* c[1] now carries */
	if (have)
		CHECK_ERR("carrier_not_sent", send_fds(d[0], &c[1], 1, "c", 1), ETOOMANYREFS);
	else
		send_fds(d[0], &c[1], 1, "c", 1);
	/* ... and a socket in flight receives none. */
	int e[2], f[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, e);
	socketpair(AF_UNIX, SOCK_STREAM, 0, f);
	CHECK_RET("send_idle_socket", send_fds(f[0], &e[1], 1, "e", 1), 1);
	if (have)
		CHECK_ERR("in_flight_receives_none", send_fds(e[0], &p[0], 1, "p", 1), ETOOMANYREFS);
	close(e[0]);
	close(e[1]);
	close(f[0]);
	close(f[1]);
	close(c[0]);
	close(c[1]);
	close(d[0]);
	close(d[1]);
	close(p[0]);
	close(p[1]);
	CHECK_EQ("fds_back_to_baseline", open_fds(), fds_before);
	if (have) {
		stats(&in1, &so1);
		CHECKF("inflight_back_to_baseline", in1 == in0 && so1 == so0, "inflight %ld->%ld sockets %ld->%ld", in0, in1, so0, so1);
	}
}

static void check_credentials(void)
{
	int sv[2];
	socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
	int on = 1;
	CHECK_RET("passcred_on", setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof on), 0);
	CHECK_RET("send_no_creds", send(sv[0], "c", 1, 0), 1);
	char data[8], ctl[CMSG_SPACE(sizeof(struct ucred))];
	struct iovec v = { data, sizeof data };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl };
	CHECK_RET("recv_creds", recvmsg(sv[1], &m, 0), 1);
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	struct ucred u = { 0, 0, 0 };
	if (c && c->cmsg_type == SCM_CREDENTIALS)
		memcpy(&u, CMSG_DATA(c), sizeof u);
	CHECKF("creds_values", c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS && u.pid == getpid() && u.uid == getuid() && u.gid == getgid(), "pid %d uid %u gid %u", u.pid, u.uid, u.gid);
	/* Sent credentials: our own pass, a forged pid does not (unless root, who may). */
	char sctl[CMSG_SPACE(sizeof(struct ucred))];
	memset(sctl, 0, sizeof sctl);
	struct msghdr sm = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = sctl, .msg_controllen = sizeof sctl };
	v.iov_len = 1;
	struct cmsghdr *sc = CMSG_FIRSTHDR(&sm);
	sc->cmsg_level = SOL_SOCKET;
	sc->cmsg_type = SCM_CREDENTIALS;
	sc->cmsg_len = CMSG_LEN(sizeof(struct ucred));
	struct ucred mine = { getpid(), getuid(), getgid() };
	memcpy(CMSG_DATA(sc), &mine, sizeof mine);
	CHECK_RET("send_own_creds", sendmsg(sv[0], &sm, 0), 1);
	v.iov_len = sizeof data;
	m.msg_controllen = sizeof ctl;
	recvmsg(sv[1], &m, 0);
	pid_t pid = fork();
	if (pid == 0) {
		if (setgid(1000) || setuid(1000))
			_exit(3);
		struct ucred forged = { 1, 1000, 1000 };
		memcpy(CMSG_DATA(sc), &forged, sizeof forged);
		_exit(sendmsg(sv[0], &sm, 0) == -1 && errno == EPERM ? 0 : 1);
	}
	int st = utest_wait(pid);
	if (getuid() == 0)
		CHECK_EQ("forged_pid_eperm", WEXITSTATUS(st), 0);
	/* SO_PASSCRED reads back; SO_PEERCRED of a socketpair. */
	int val = 0;
	socklen_t vl = sizeof val;
	getsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &val, &vl);
	CHECK_EQ("passcred_get", val, 1);
	struct ucred pc;
	socklen_t pl = sizeof pc;
	CHECK_RET("peercred_pair", getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &pc, &pl), 0);
	CHECK("peercred_pair_values", pc.pid == getpid() && pc.uid == geteuid());
	close(sv[0]);
	close(sv[1]);
	/* A stream: credentials on each read with SO_PASSCRED. */
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof on);
	write(sv[0], "ab", 2);
	write(sv[0], "cd", 2);
	m.msg_controllen = sizeof ctl;
	CHECK_RET("stream_creds_merged", recvmsg(sv[1], &m, 0), 4);
	c = CMSG_FIRSTHDR(&m);
	CHECK("stream_creds_cmsg", c && c->cmsg_type == SCM_CREDENTIALS);
	close(sv[0]);
	close(sv[1]);
}

static void check_proc(void)
{
	struct sockaddr_un a;
	memset(&a, 0, sizeof a);
	a.sun_family = AF_UNIX;
	snprintf(a.sun_path, sizeof a.sun_path, "/tmp/t_unix_scm.%d", (int)getpid());
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	bind(s, (struct sockaddr *)&a, sizeof a);
	listen(s, 1);
	FILE *f = fopen("/proc/net/unix", "r");
	char line[512];
	int header = 0, found = 0;
	if (f) {
		header = fgets(line, sizeof line, f) && strncmp(line, "Num       RefCount Protocol Flags    Type St Inode Path", 54) == 0;
		while (fgets(line, sizeof line, f))
			if (strstr(line, a.sun_path) && strstr(line, " 00010000 0001 01 "))
				found = 1;
		fclose(f);
	}
	CHECK("proc_net_unix_header", header);
	CHECK("proc_net_unix_listener", found);
	close(s);
	unlink(a.sun_path);
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	struct utsname un;
	exo = uname(&un) == 0 && strstr(un.release, "exo") != NULL;
	if (exo && access("/proc/net/unix", R_OK) != 0)
		mounted_proc = CHECK_OK("mount_proc", mount("proc", "/proc", "proc", 0, NULL)) ? 1 : 0;
	check_rights(SOCK_STREAM, "stream");
	check_rights(SOCK_DGRAM, "dgram");
	check_rights(SOCK_SEQPACKET, "seqpacket");
	check_stream_marks();
	check_sockets_in_flight();
	check_credentials();
	check_proc();
	if (mounted_proc)
		CHECK_OK("umount_proc", umount("/proc"));
	return utest_done();
}
