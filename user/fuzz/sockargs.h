/*
 * sockargs.h - structured arguments for the socket calls (41..55, accept4, recvmmsg, sendmmsg),
 * which random words rarely get past the first check. A worker keeps live sockets at fds
 * 20..27 (open_sock_fds: AF_UNIX stream, datagram and seqpacket pairs, an AF_UNIX listener on
 * an abstract name, and, where the kernel has AF_INET, a TCP listener, a connected TCP pair
 * and a UDP socket on 127.0.0.1), all non-blocking so that a call rarely waits. Addresses,
 * msghdrs, iovecs and control messages (SCM_RIGHTS with random descriptors, SCM_CREDENTIALS)
 * are valid now and then and corrupted otherwise. On a kernel without sockets every call is
 * ENOSYS and the fds stay closed.
 */
#ifndef FUZZ_SOCK_H
#define FUZZ_SOCK_H

#include <stddef.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#define SLOT_SOCK (scratch + 6 * PAGE) /* addresses, msghdrs, iovecs, control, options */

static int sock_port; /* the worker's TCP/UDP port on 127.0.0.1 */

static void put_fd(int fd, int want)
{
	if (fd >= 0 && fd != want) {
		dup2(fd, want);
		close(fd);
	}
}

/* fds 20..27 (reopened with the others now and then). */
static void open_sock_fds(int index)
{
	int sv[2];
	for (int fd = 20; fd < 28; fd++)
		close(fd);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0) {
		put_fd(sv[0], 20);
		put_fd(sv[1], 21);
	}
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, sv) == 0) {
		put_fd(sv[0], 22);
		close(sv[1]); /* 22's peer is gone: sends see ECONNREFUSED */
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv) == 0) {
		put_fd(sv[0], 23);
		close(sv[1]);
	}
	int l = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	int n = snprintf(un.sun_path + 1, sizeof un.sun_path - 1, "fz%d", index);
	if (l >= 0 && bind(l, (struct sockaddr *)&un, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n)) == 0)
		listen(l, 4);
	put_fd(l, 24);
	sock_port = 20000 + index * 8 + (int)(rnd() % 8);
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons((uint16_t)sock_port), .sin_addr.s_addr = htonl(0x7f000001) };
	int t = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (t >= 0) {
		int one = 1;
		setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		if (bind(t, (struct sockaddr *)&in, sizeof in) == 0)
			listen(t, 4);
		put_fd(t, 25);
		int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (c >= 0)
			connect(c, (struct sockaddr *)&in, sizeof in);
		put_fd(c, 26);
	}
	int u = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	if (u >= 0)
		bind(u, (struct sockaddr *)&in, sizeof in);
	put_fd(u, 27);
}

static long gen_sock_fd(void)
{
	return rnd() % 6 ? 20 + (long)(rnd() % 8) : gen_fd();
}

/* An address at p: AF_UNIX (path in the worker's dir, abstract, unterminated), AF_INET
 * (127.0.0.1 or another address, the worker's port or a random one), or junk; its length in *len. */
static long gen_sockaddr(unsigned char *p, long *len)
{
	memset(p, 0, 128);
	switch (rnd() % 6) {
	case 0: {
		struct sockaddr_un *un = (struct sockaddr_un *)p;
		un->sun_family = AF_UNIX;
		int n = snprintf(un->sun_path, sizeof un->sun_path, "%s/s%d", my_dir, (int)(rnd() % 4));
		*len = rnd() % 4 ? (long)(offsetof(struct sockaddr_un, sun_path) + (size_t)n + 1) : (long)(rnd() % 130);
		break;
	}
	case 1: {
		struct sockaddr_un *un = (struct sockaddr_un *)p;
		un->sun_family = AF_UNIX;
		int n = snprintf(un->sun_path + 1, sizeof un->sun_path - 1, "fz%d", (int)(rnd() % 8));
		*len = rnd() % 4 ? (long)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n) : 2;
		break;
	}
	case 2:
	case 3: {
		struct sockaddr_in *in = (struct sockaddr_in *)p;
		in->sin_family = rnd() % 8 ? AF_INET : (sa_family_t)rnd();
		in->sin_port = htons((uint16_t)(rnd() % 2 ? sock_port : (int)(rnd() % 65536)));
		in->sin_addr.s_addr = rnd() % 4 ? htonl(0x7f000001) : (uint32_t)rnd();
		*len = rnd() % 4 ? (long)sizeof *in : gen_size();
		break;
	}
	case 4:
		for (int i = 0; i < 128; i++)
			p[i] = (unsigned char)rnd();
		*len = (long)(rnd() % 130);
		break;
	default:
		*len = gen_size();
		return gen_ptr(0);
	}
	return rnd() % 16 ? (long)p : gen_ptr(0);
}

/* Control messages at c: SCM_RIGHTS with random descriptors, SCM_CREDENTIALS (own or forged),
 * or junk headers; their length in *len. */
static void gen_control(unsigned char *c, long *len)
{
	struct cmsghdr *h = (struct cmsghdr *)c;
	switch (rnd() % 4) {
	case 0: {
		int nfd = (int)(rnd() % 6);
		h->cmsg_level = SOL_SOCKET;
		h->cmsg_type = SCM_RIGHTS;
		h->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfd);
		for (int i = 0; i < nfd; i++)
			((int *)CMSG_DATA(h))[i] = (int)gen_sock_fd();
		*len = (long)CMSG_SPACE(sizeof(int) * (size_t)nfd);
		break;
	}
	case 1: {
		struct ucred cr = { rnd() % 2 ? my_pid : (pid_t)rnd(), rnd() % 2 ? (uid_t)my_uid : 0, 0 };
		h->cmsg_level = SOL_SOCKET;
		h->cmsg_type = SCM_CREDENTIALS;
		h->cmsg_len = CMSG_LEN(sizeof cr);
		memcpy(CMSG_DATA(h), &cr, sizeof cr);
		*len = (long)CMSG_SPACE(sizeof cr);
		break;
	}
	case 2:
		h->cmsg_level = (int)gen_int();
		h->cmsg_type = (int)gen_int();
		h->cmsg_len = (size_t)gen_size();
		*len = (long)(rnd() % 256);
		break;
	default:
		*len = gen_size();
		break;
	}
}

/* A msghdr at m with its iovecs, name and control in the slot. */
static long gen_msghdr(unsigned char *m, int sending)
{
	struct msghdr *h = (struct msghdr *)m;
	struct iovec *iov = (struct iovec *)(m + 64);
	unsigned char *name = m + 256, *ctl = m + 512;
	memset(h, 0, sizeof *h);
	int n = (int)(rnd() % 5);
	for (int i = 0; i < n; i++) {
		iov[i].iov_base = (void *)gen_ptr(!sending);
		iov[i].iov_len = (size_t)(rnd() % 2 ? rnd() % 4096 : (unsigned long)gen_size());
		if ((long)iov[i].iov_base >= (long)(scratch + DATA_FIRST * PAGE))
			iov[i].iov_len = (size_t)confine_len((long)iov[i].iov_base, (long)iov[i].iov_len);
	}
	h->msg_iov = rnd() % 8 ? iov : (struct iovec *)gen_ptr(0);
	h->msg_iovlen = rnd() % 8 ? (size_t)n : (size_t)gen_size();
	if (rnd() % 2) {
		long len;
		h->msg_name = (void *)gen_sockaddr(name, &len);
		h->msg_namelen = (socklen_t)len;
	}
	if (rnd() % 2) {
		long len = (long)(rnd() % 512);
		if (sending)
			gen_control(ctl, &len);
		h->msg_control = rnd() % 8 ? ctl : (void *)gen_ptr(!sending);
		h->msg_controllen = (size_t)len;
	}
	h->msg_flags = (int)gen_flags();
	return rnd() % 12 ? (long)m : gen_ptr(!sending);
}

static long gen_msg_flags(void)
{
	static const long f[] = { 0, MSG_DONTWAIT, MSG_PEEK | MSG_DONTWAIT, MSG_NOSIGNAL | MSG_DONTWAIT, MSG_TRUNC | MSG_DONTWAIT,
				  MSG_WAITALL | MSG_DONTWAIT, MSG_CMSG_CLOEXEC | MSG_DONTWAIT, MSG_OOB, MSG_MORE | MSG_DONTWAIT };
	return rnd() % 8 ? PICK(f) : gen_flags();
}

static long gen_sockopt_name(int level)
{
	static const long so[] = { SO_REUSEADDR, SO_TYPE, SO_ERROR, SO_BROADCAST, SO_SNDBUF, SO_RCVBUF, SO_KEEPALIVE, SO_LINGER,
				   SO_PASSCRED, SO_PEERCRED, SO_RCVTIMEO, SO_SNDTIMEO, SO_ACCEPTCONN, SO_DOMAIN, SO_PROTOCOL, SO_RCVLOWAT };
	static const long tcp[] = { 1 /* NODELAY */, 2 /* MAXSEG */, 3 /* CORK */, 4, 5, 6, 11 /* INFO */ };
	if (rnd() % 8 == 0)
		return gen_int();
	return level == SOL_SOCKET ? PICK(so) : level == IPPROTO_TCP ? PICK(tcp) : (long)(rnd() % 64);
}

/* Fills *nr and a[] with one socket call. */
static void gen_sock(long *nr, long *a)
{
	static const long calls[] = { 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 288, 299, 307 };
	static const long domains[] = { AF_UNIX, AF_INET, AF_INET6, AF_NETLINK, AF_PACKET, 0, 99 };
	static const long types[] = { SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET, SOCK_RAW, 0, 4, 10 };
	static const long levels[] = { SOL_SOCKET, IPPROTO_TCP, IPPROTO_IP, IPPROTO_UDP, IPPROTO_IPV6 };
	unsigned char *slot = SLOT_SOCK;
	long len = 0;
	*nr = PICK(calls);
	for (int k = 0; k < 6; k++)
		a[k] = gen('x');
	a[0] = gen_sock_fd();
	switch (*nr) {
	case 41: /* socket */
	case 53: /* socketpair */
		a[0] = rnd() % 8 ? PICK(domains) : gen_any_int();
		a[1] = (rnd() % 8 ? PICK(types) : gen_flags()) | (rnd() % 2 ? SOCK_NONBLOCK : 0) | (rnd() % 4 ? 0 : SOCK_CLOEXEC);
		a[2] = rnd() % 4 ? 0 : gen_int();
		a[3] = gen_ptr(1);
		break;
	case 42: /* connect */
	case 49: /* bind */
		a[1] = gen_sockaddr(slot, &len);
		a[2] = len;
		break;
	case 43: /* accept */
	case 288: /* accept4 */
	case 51: /* getsockname */
	case 52: /* getpeername */
		*(uint32_t *)(slot + 256) = (uint32_t)(rnd() % 2 ? 128 : gen_size());
		a[1] = rnd() % 4 ? (long)slot : gen_ptr(1);
		a[2] = rnd() % 4 ? (long)(slot + 256) : gen_ptr(1);
		a[3] = rnd() % 2 ? SOCK_NONBLOCK : gen_flags();
		break;
	case 44: /* sendto */
	case 45: /* recvfrom */
		a[1] = gen_ptr(*nr == 45);
		a[2] = rnd() % 2 ? (long)(rnd() % 4096) : gen_size();
		a[2] = confine_len(a[1], a[2]);
		a[3] = gen_msg_flags();
		if (*nr == 44) {
			a[4] = rnd() % 2 ? 0 : gen_sockaddr(slot, &len);
			a[5] = len;
		} else {
			*(uint32_t *)(slot + 256) = 128;
			a[4] = rnd() % 2 ? (long)slot : gen_ptr(1);
			a[5] = rnd() % 4 ? (long)(slot + 256) : gen_ptr(1);
		}
		break;
	case 46: /* sendmsg */
	case 47: /* recvmsg */
		a[1] = gen_msghdr(slot + 1024, *nr == 46);
		a[2] = gen_msg_flags();
		break;
	case 299: /* recvmmsg */
	case 307: /* sendmmsg */
		a[1] = gen_msghdr(slot + 1024, *nr == 307); /* one message (its length word follows) */
		a[2] = rnd() % 4 ? 1 : gen_size();
		a[3] = gen_msg_flags();
		a[4] = 0;
		break;
	case 48: /* shutdown */
		a[1] = rnd() % 8 ? (long)(rnd() % 3) : gen_int();
		break;
	case 50: /* listen */
		a[1] = rnd() % 4 ? (long)(rnd() % 8) : gen_any_int();
		break;
	case 54: /* setsockopt */
	case 55: /* getsockopt */ {
		int level = (int)(rnd() % 8 ? PICK(levels) : gen_int());
		a[1] = level;
		a[2] = gen_sockopt_name(level);
		uint32_t *v = (uint32_t *)(slot + 512);
		v[0] = (uint32_t)(rnd() % 2 ? rnd() % 2 : rnd());
		v[1] = (uint32_t)(rnd() % 1000);
		v[2] = v[3] = 0;
		*(uint32_t *)(slot + 256) = (uint32_t)(rnd() % 2 ? 4 : (unsigned long)gen_size());
		a[3] = rnd() % 8 ? (long)v : gen_ptr(*nr == 55);
		a[4] = *nr == 54 ? (rnd() % 2 ? 4 : rnd() % 2 ? 16 : gen_size()) : (rnd() % 8 ? (long)(slot + 256) : gen_ptr(1));
		break;
	}
	}
}

#endif
