/*
 * t_unix_names - AF_UNIX names and connections: bind/listen/accept4/connect on filesystem
 * paths (the S_IFSOCK node, umask, EADDRINUSE, EACCES without write permission, ENOENT,
 * ECONNREFUSED, EPROTOTYPE, mknod'ed socket nodes) and on abstract names; autobind (bind with
 * only the family); getsockname/getpeername/accept's address; SO_PEERCRED; SO_ACCEPTCONN;
 * listen backlogs (EAGAIN for a non-blocking connect, a blocked connect let in by accept);
 * seqpacket connections. Works under /tmp.
 */
#define UTEST_PROGRAM "t_unix_names"
#include "utest.h"

#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

static char dir[64];

static socklen_t path_addr(struct sockaddr_un *a, const char *name)
{
	memset(a, 0, sizeof *a);
	a->sun_family = AF_UNIX;
	snprintf(a->sun_path, sizeof a->sun_path, "%s/%s", dir, name);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(a->sun_path) + 1);
}

static socklen_t abstract_addr(struct sockaddr_un *a, const char *name)
{
	memset(a, 0, sizeof *a);
	a->sun_family = AF_UNIX;
	size_t n = strlen(name);
	memcpy(a->sun_path + 1, name, n);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
}

static void check_paths(void)
{
	struct sockaddr_un a, got;
	socklen_t len = path_addr(&a, "srv"), glen;
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	umask(027);
	CHECK_RET("bind_path", bind(s, (struct sockaddr *)&a, len), 0);
	umask(022);
	struct stat st;
	CHECK_RET("stat_node", stat(a.sun_path, &st), 0);
	CHECK("node_is_socket", S_ISSOCK(st.st_mode));
	CHECK_EQ("node_mode_umask", st.st_mode & 0777, 0750);
	CHECK_ERR("bind_twice_same_path", bind(s, (struct sockaddr *)&a, len), EADDRINUSE);
	struct sockaddr_un other;
	socklen_t olen = path_addr(&other, "other");
	CHECK_ERR("bind_twice", bind(s, (struct sockaddr *)&other, olen), EINVAL);
	CHECK_ERR("bind_twice_no_node", access(other.sun_path, F_OK), ENOENT);
	int s2 = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK_ERR("bind_in_use", bind(s2, (struct sockaddr *)&a, len), EADDRINUSE);
	glen = sizeof got;
	CHECK_RET("getsockname_path", getsockname(s, (struct sockaddr *)&got, &glen), 0);
	CHECK_EQ("getsockname_len", glen, len);
	CHECK("getsockname_path_bytes", strcmp(got.sun_path, a.sun_path) == 0);
	/* Nobody listens yet. */
	CHECK_ERR("connect_not_listening", connect(s2, (struct sockaddr *)&a, len), ECONNREFUSED);
	int v = 1;
	socklen_t vl = sizeof v;
	getsockopt(s, SOL_SOCKET, SO_ACCEPTCONN, &v, &vl);
	CHECK_EQ("acceptconn_before", v, 0);
	CHECK_RET("listen", listen(s, 5), 0);
	vl = sizeof v;
	getsockopt(s, SOL_SOCKET, SO_ACCEPTCONN, &v, &vl);
	CHECK_EQ("acceptconn_after", v, 1);
	CHECK_RET("connect_path", connect(s2, (struct sockaddr *)&a, len), 0);
	CHECK_ERR("connect_again", connect(s2, (struct sockaddr *)&a, len), EISCONN);
	CHECK_RET("send_before_accept", write(s2, "hi", 2), 2);
	struct sockaddr_un peer;
	socklen_t plen = sizeof peer;
	int c = accept4(s, (struct sockaddr *)&peer, &plen, SOCK_CLOEXEC);
	CHECK("accept4", c >= 0);
	CHECK_EQ("accept_unnamed_peer_len", plen, sizeof(sa_family_t));
	CHECK_EQ("accept4_cloexec", fcntl(c, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	char buf[8];
	CHECK_RET("read_accepted", read(c, buf, 8), 2);
	glen = sizeof got;
	CHECK_RET("getpeername_client", getpeername(s2, (struct sockaddr *)&got, &glen), 0);
	CHECK("getpeername_is_server_path", glen == len && strcmp(got.sun_path, a.sun_path) == 0);
	glen = sizeof got;
	CHECK_RET("getsockname_accepted", getsockname(c, (struct sockaddr *)&got, &glen), 0);
	CHECK("accepted_has_listener_name", strcmp(got.sun_path, a.sun_path) == 0);
	struct ucred cr;
	socklen_t crl = sizeof cr;
	CHECK_RET("peercred", getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cr, &crl), 0);
	CHECK("peercred_values", crl == sizeof cr && cr.pid == getpid() && cr.uid == geteuid() && cr.gid == getegid());
	crl = sizeof cr;
	getsockopt(s2, SOL_SOCKET, SO_PEERCRED, &cr, &crl);
	CHECK_EQ("peercred_of_listener", cr.pid, getpid());
	/* Truncated names: the full length is reported. */
	glen = 4;
	memset(&got, 0, sizeof got);
	CHECK_RET("getsockname_short", getsockname(s, (struct sockaddr *)&got, &glen), 0);
	CHECK_EQ("getsockname_short_len", glen, len);
	CHECK_ERR("getpeername_unconnected", getpeername(s, (struct sockaddr *)&got, &glen), ENOTCONN);
	close(c);
	close(s2);
	/* Wrong type: EPROTOTYPE. */
	int d = socket(AF_UNIX, SOCK_DGRAM, 0);
	CHECK_ERR("connect_prototype", connect(d, (struct sockaddr *)&a, len), EPROTOTYPE);
	close(d);
	/* The listener gone: the node stays, nobody answers. */
	close(s);
	s2 = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK_ERR("connect_after_close", connect(s2, (struct sockaddr *)&a, len), ECONNREFUSED);
	CHECK_RET("unlink_node", unlink(a.sun_path), 0);
	CHECK_ERR("connect_enoent", connect(s2, (struct sockaddr *)&a, len), ENOENT);
	/* A regular file: ECONNREFUSED; a missing directory: ENOENT. */
	struct sockaddr_un f;
	socklen_t flen = path_addr(&f, "file");
	close(open(f.sun_path, O_CREAT | O_WRONLY, 0644));
	CHECK_ERR("connect_regular_file", connect(s2, (struct sockaddr *)&f, flen), ECONNREFUSED);
	CHECK_ERR("bind_existing_file", bind(s2, (struct sockaddr *)&f, flen), EADDRINUSE);
	unlink(f.sun_path);
	flen = path_addr(&f, "nodir/x");
	CHECK_ERR("bind_missing_dir", bind(s2, (struct sockaddr *)&f, flen), ENOENT);
	/* mknod makes a socket node nobody is bound to. */
	flen = path_addr(&f, "mknod");
	CHECK_RET("mknod_sock", mknod(f.sun_path, S_IFSOCK | 0666, 0), 0);
	CHECK_RET("stat_mknod", stat(f.sun_path, &st), 0);
	CHECK("mknod_is_socket", S_ISSOCK(st.st_mode));
	CHECK_ERR("connect_mknod", connect(s2, (struct sockaddr *)&f, flen), ECONNREFUSED);
	CHECK_ERR("open_socket_node", open(f.sun_path, O_RDONLY), ENXIO);
	unlink(f.sun_path);
	close(s2);
}

static void check_permissions(void)
{
	if (geteuid() != 0)
		return;
	struct sockaddr_un a;
	socklen_t len = path_addr(&a, "perm");
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	bind(s, (struct sockaddr *)&a, len);
	listen(s, 1);
	chmod(a.sun_path, 0644);
	chmod(dir, 0755);
	pid_t pid = fork();
	if (pid == 0) {
		if (setgid(1000) || setuid(1000))
			_exit(2);
		int c = socket(AF_UNIX, SOCK_STREAM, 0);
		if (connect(c, (struct sockaddr *)&a, len) == 0 || errno != EACCES)
			_exit(1);
		_exit(0);
	}
	CHECK_EQ("connect_eacces", WEXITSTATUS(utest_wait(pid)), 0);
	chmod(a.sun_path, 0666);
	pid = fork();
	if (pid == 0) {
		if (setgid(1000) || setuid(1000))
			_exit(2);
		int c = socket(AF_UNIX, SOCK_STREAM, 0);
		if (connect(c, (struct sockaddr *)&a, len) != 0)
			_exit(1);
		_exit(0);
	}
	CHECK_EQ("connect_with_write_permission", WEXITSTATUS(utest_wait(pid)), 0);
	close(s);
	unlink(a.sun_path);
}

static void check_abstract(void)
{
	struct sockaddr_un a, got;
	char name[32];
	snprintf(name, sizeof name, "exo-test-%d", (int)getpid());
	socklen_t len = abstract_addr(&a, name), glen;
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK_RET("bind_abstract", bind(s, (struct sockaddr *)&a, len), 0);
	int s2 = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK_ERR("bind_abstract_in_use", bind(s2, (struct sockaddr *)&a, len), EADDRINUSE);
	glen = sizeof got;
	getsockname(s, (struct sockaddr *)&got, &glen);
	CHECK("getsockname_abstract", glen == len && got.sun_path[0] == 0 && memcmp(got.sun_path + 1, name, strlen(name)) == 0);
	CHECK_ERR("connect_abstract_refused", connect(s2, (struct sockaddr *)&a, len), ECONNREFUSED);
	listen(s, 1);
	CHECK_RET("connect_abstract", connect(s2, (struct sockaddr *)&a, len), 0);
	int c = accept(s, NULL, NULL);
	CHECK("accept_abstract", c >= 0);
	/* A longer name is another name. */
	struct sockaddr_un b = a;
	int s3 = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK_ERR("connect_abstract_longer", connect(s3, (struct sockaddr *)&b, len + 1), ECONNREFUSED);
	close(c);
	close(s2);
	close(s);
	/* Released names are free again. */
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK_RET("bind_abstract_reuse", bind(s, (struct sockaddr *)&a, len), 0);
	close(s);
	close(s3);
	/* Autobind: bind with only the family. */
	s = socket(AF_UNIX, SOCK_DGRAM, 0);
	sa_family_t fam = AF_UNIX;
	CHECK_RET("autobind", bind(s, (struct sockaddr *)&fam, sizeof fam), 0);
	glen = sizeof got;
	getsockname(s, (struct sockaddr *)&got, &glen);
	int hex = glen == offsetof(struct sockaddr_un, sun_path) + 6 && got.sun_path[0] == 0;
	for (int i = 1; hex && i < 6; i++)
		hex = strchr("0123456789abcdef", got.sun_path[i]) != NULL;
	CHECKF("autobind_name", hex, "len %u", (unsigned)glen);
	close(s);
	/* Unbound sockets: just the family. */
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	glen = sizeof got;
	getsockname(s, (struct sockaddr *)&got, &glen);
	CHECK_EQ("getsockname_unbound", glen, sizeof(sa_family_t));
	/* Bad addresses. */
	CHECK_ERR("bind_short", bind(s, (struct sockaddr *)&a, 1), EINVAL);
	CHECK_ERR("bind_long", bind(s, (struct sockaddr *)&a, sizeof a + 1), EINVAL);
	a.sun_family = AF_INET;
	CHECK_ERR("bind_family", bind(s, (struct sockaddr *)&a, len), EINVAL);
	CHECK_ERR("connect_family", connect(s, (struct sockaddr *)&a, len), EINVAL);
	CHECK_ERR("connect_short", connect(s, (struct sockaddr *)&a, 2), EINVAL);
	CHECK_ERR("bind_efault", bind(s, (struct sockaddr *)8, len), EFAULT);
	CHECK_ERR("listen_unbound", listen(s, 1), EINVAL);
	close(s);
}

static void check_backlog(void)
{
	struct sockaddr_un a;
	char name[32];
	snprintf(name, sizeof name, "exo-backlog-%d", (int)getpid());
	socklen_t len = abstract_addr(&a, name);
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	bind(s, (struct sockaddr *)&a, len);
	listen(s, 1);
	struct pollfd p = { s, POLLIN, 0 };
	CHECK_RET("listener_not_readable", poll(&p, 1, 0), 0);
	int c[8], n = 0;
	for (; n < 8; n++) {
		c[n] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (connect(c[n], (struct sockaddr *)&a, len) != 0)
			break;
	}
	CHECKF("backlog_full_eagain", n >= 1 && n < 8 && errno == EAGAIN, "n=%d errno=%d", n, errno);
	CHECK_RET("listener_readable", poll(&p, 1, 0), 1);
	/* A blocking connect waits until accept makes room. */
	pid_t pid = fork();
	if (pid == 0) {
		int x = socket(AF_UNIX, SOCK_STREAM, 0);
		_exit(connect(x, (struct sockaddr *)&a, len) == 0 ? 0 : 1);
	}
	utest_sleep_ms(50);
	int acc = accept(s, NULL, NULL);
	CHECK("accept_frees_room", acc >= 0);
	CHECK_EQ("blocked_connect_done", WEXITSTATUS(utest_wait(pid)), 0);
	close(acc);
	for (int i = 0; i <= n && i < 8; i++)
		close(c[i]);
	/* Non-blocking accept. */
	int s2 = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_un b;
	socklen_t blen = abstract_addr(&b, "exo-accept-nb");
	bind(s2, (struct sockaddr *)&b, blen);
	listen(s2, 4);
	CHECK_ERR("accept_eagain", accept(s2, NULL, NULL), EAGAIN);
	CHECK_ERR("accept_not_listening", accept(socket(AF_UNIX, SOCK_STREAM, 0), NULL, NULL), EINVAL);
	close(s2);
	/* Closing a listener resets the connections it never accepted. */
	int x = socket(AF_UNIX, SOCK_STREAM, 0);
	while (accept(s, NULL, NULL) >= 0 && 0)
		;
	close(s);
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	bind(s, (struct sockaddr *)&a, len);
	listen(s, 4);
	connect(x, (struct sockaddr *)&a, len);
	close(s);
	char buf[4];
	CHECK_ERR("unaccepted_reset", read(x, buf, 4), ECONNRESET);
	close(x);
}

static void check_seqpacket(void)
{
	struct sockaddr_un a;
	socklen_t len = abstract_addr(&a, "exo-seqpacket");
	int s = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	CHECK_RET("seqpacket_bind", bind(s, (struct sockaddr *)&a, len), 0);
	CHECK_RET("seqpacket_listen", listen(s, 2), 0);
	int c = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	CHECK_ERR("seqpacket_send_unconnected", send(c, "x", 1, 0), ENOTCONN);
	CHECK_RET("seqpacket_connect", connect(c, (struct sockaddr *)&a, len), 0);
	int d = accept(s, NULL, NULL);
	CHECK_RET("seqpacket_send1", send(c, "first", 5, 0), 5);
	CHECK_RET("seqpacket_send2", send(c, "second", 6, 0), 6);
	char buf[16];
	CHECK_RET("seqpacket_record1", recv(d, buf, sizeof buf, 0), 5);
	struct iovec v = { buf, 3 };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1 };
	CHECK_RET("seqpacket_truncated", recvmsg(d, &m, 0), 3);
	CHECK("seqpacket_msg_trunc", m.msg_flags & MSG_TRUNC);
	close(c);
	CHECK_RET("seqpacket_eof", recv(d, buf, sizeof buf, 0), 0);
	CHECK_ERR("seqpacket_epipe", send(d, "x", 1, MSG_NOSIGNAL), EPIPE);
	/* Linux raises no SIGPIPE for seqpacket (nor datagram) sockets: the process survives. */
	CHECK_ERR("seqpacket_epipe_no_sigpipe", send(d, "x", 1, 0), EPIPE);
	close(d);
	close(s);
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	umask(022);
	snprintf(dir, sizeof dir, "/tmp/t_unix_names.%d", (int)getpid());
	if (!CHECK_RET("mkdir_tmp", mkdir(dir, 0755), 0))
		return utest_done();
	check_paths();
	check_permissions();
	check_abstract();
	check_backlog();
	check_seqpacket();
	CHECK_RET("rmdir_tmp", rmdir(dir), 0);
	return utest_done();
}
