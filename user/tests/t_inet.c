/*
 * t_inet - the interface side of AF_INET: the ioctls ifconfig uses on lo (SIOCGIFCONF,
 * SIOCGIFFLAGS, SIOCGIFADDR, SIOCGIFNETMASK, SIOCGIFMTU, SIOCGIFINDEX, SIOCGIFNAME,
 * SIOCGIFHWADDR; ENODEV; EPERM for changes by a non-root user), /proc/net/{dev,tcp,udp,route},
 * socket() errors, and ICMP echo to 127.0.0.1 through a raw socket (and a ping socket where
 * the system allows one).  Loopback only; passes on Linux too.
 */
#define UTEST_PROGRAM "t_inet"
#include "utest.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>

static int ifreq_for(int fd, unsigned long req, const char *name, struct ifreq *r)
{
	memset(r, 0, sizeof *r);
	snprintf(r->ifr_name, sizeof r->ifr_name, "%s", name);
	return ioctl(fd, req, r);
}

static in_addr_t addr_of(struct ifreq *r)
{
	return ((struct sockaddr_in *)&r->ifr_addr)->sin_addr.s_addr;
}

static void check_ioctls(int fd, const char *kind)
{
	char name[64];
	struct ifreq r;
	snprintf(name, sizeof name, "%s.flags", kind);
	CHECK_RET(name, ifreq_for(fd, SIOCGIFFLAGS, "lo", &r), 0);
	snprintf(name, sizeof name, "%s.flags_value", kind);
	CHECKF(name, (r.ifr_flags & (IFF_UP | IFF_LOOPBACK | IFF_RUNNING)) == (IFF_UP | IFF_LOOPBACK | IFF_RUNNING), "%#x", r.ifr_flags);
	snprintf(name, sizeof name, "%s.addr", kind);
	CHECKF(name, ifreq_for(fd, SIOCGIFADDR, "lo", &r) == 0 && addr_of(&r) == htonl(INADDR_LOOPBACK) && r.ifr_addr.sa_family == AF_INET, "%s", strerror(errno));
	snprintf(name, sizeof name, "%s.netmask", kind);
	CHECKF(name, ifreq_for(fd, SIOCGIFNETMASK, "lo", &r) == 0 && addr_of(&r) == htonl(0xff000000), "%s", strerror(errno));
	snprintf(name, sizeof name, "%s.mtu", kind);
	CHECKF(name, ifreq_for(fd, SIOCGIFMTU, "lo", &r) == 0 && r.ifr_mtu == 65536, "mtu %d", r.ifr_mtu);
	snprintf(name, sizeof name, "%s.index", kind);
	CHECKF(name, ifreq_for(fd, SIOCGIFINDEX, "lo", &r) == 0 && r.ifr_ifindex == 1, "index %d", r.ifr_ifindex);
	memset(&r, 0, sizeof r);
	r.ifr_ifindex = 1;
	snprintf(name, sizeof name, "%s.name", kind);
	CHECKF(name, ioctl(fd, SIOCGIFNAME, &r) == 0 && strcmp(r.ifr_name, "lo") == 0, "%s", r.ifr_name);
	snprintf(name, sizeof name, "%s.hwaddr", kind);
	CHECKF(name, ifreq_for(fd, SIOCGIFHWADDR, "lo", &r) == 0 && r.ifr_hwaddr.sa_family == ARPHRD_LOOPBACK, "family %d", r.ifr_hwaddr.sa_family);
	snprintf(name, sizeof name, "%s.nodev", kind);
	CHECK_ERR(name, ifreq_for(fd, SIOCGIFFLAGS, "nosuchif0", &r), ENODEV);
	snprintf(name, sizeof name, "%s.efault", kind);
	CHECK_ERR(name, ioctl(fd, SIOCGIFFLAGS, (void *)8), EFAULT);
}

static void check_ifconf(int fd)
{
	struct ifconf c = { .ifc_len = 0, .ifc_buf = NULL };
	CHECK_RET("ifconf.size", ioctl(fd, SIOCGIFCONF, &c), 0);
	CHECKF("ifconf.size_value", c.ifc_len >= (int)sizeof(struct ifreq) && c.ifc_len % sizeof(struct ifreq) == 0, "%d", c.ifc_len);
	struct ifreq reqs[16];
	c.ifc_len = sizeof reqs;
	c.ifc_req = reqs;
	CHECK_RET("ifconf.list", ioctl(fd, SIOCGIFCONF, &c), 0);
	int found = 0;
	for (int i = 0; i < c.ifc_len / (int)sizeof(struct ifreq); i++)
		if (strcmp(reqs[i].ifr_name, "lo") == 0 && addr_of(&reqs[i]) == htonl(INADDR_LOOPBACK))
			found = 1;
	CHECK("ifconf.lists_lo", found);
	c.ifc_len = sizeof(struct ifreq) - 1;
	CHECK_RET("ifconf.too_small", ioctl(fd, SIOCGIFCONF, &c), 0);
	CHECK_EQ("ifconf.too_small_len", c.ifc_len, 0);
}

static void check_unprivileged(void)
{
	if (geteuid() != 0)
		return;
	pid_t pid = fork();
	if (pid == 0) {
		if (setuid(1000) < 0)
			_exit(3);
		int fd = socket(AF_INET, SOCK_DGRAM, 0);
		struct ifreq r;
		ifreq_for(fd, SIOCGIFFLAGS, "lo", &r);
		if (ioctl(fd, SIOCSIFFLAGS, &r) == 0 || errno != EPERM)
			_exit(1);
		if (socket(AF_INET, SOCK_RAW, IPPROTO_ICMP) >= 0 || errno != EPERM)
			_exit(2);
		_exit(0);
	}
	CHECK_EQ("ioctl.set_needs_root", utest_wait(pid), 0);
}

static int file_contains(const char *path, const char *needle)
{
	static char buf[65536];
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	size_t len = 0;
	ssize_t n;
	while (len < sizeof buf - 1 && (n = read(fd, buf + len, sizeof buf - 1 - len)) > 0)
		len += n;
	buf[len] = 0;
	close(fd);
	return strstr(buf, needle) != NULL;
}

static void check_proc(void)
{
	/* The test image's init mounts nothing: mount proc for the test (and only then). */
	int mounted = access("/proc/net/dev", R_OK) < 0 && mount("proc", "/proc", "proc", 0, NULL) == 0;
	CHECK_EQ("proc.dev_lo", file_contains("/proc/net/dev", "lo:"), 1);
	CHECK_EQ("proc.route_header", file_contains("/proc/net/route", "Iface\tDestination\tGateway"), 1);
	int l = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(47123) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int one = 1;
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	bind(l, (struct sockaddr *)&a, sizeof a);
	listen(l, 1);
	CHECK_EQ("proc.tcp_listener", file_contains("/proc/net/tcp", "0100007F:B813 00000000:0000 0A"), 1);
	close(l);
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	bind(u, (struct sockaddr *)&a, sizeof a);
	CHECK_EQ("proc.udp_bound", file_contains("/proc/net/udp", "0100007F:B813"), 1);
	close(u);
	if (mounted)
		umount("/proc");
}

static unsigned short icmp_sum(const void *p, int len)
{
	const unsigned short *w = p;
	unsigned sum = 0;
	for (; len > 1; len -= 2)
		sum += *w++;
	if (len)
		sum += *(const unsigned char *)w;
	sum = (sum >> 16) + (sum & 0xffff);
	sum += sum >> 16;
	return ~sum;
}

static void check_ping(void)
{
	int fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
	if (fd < 0) {
		CHECKF("ping.raw_socket", errno == EPERM, "%s", strerror(errno));
		return;
	}
	unsigned char pkt[64] = { 0 };
	struct icmphdr *h = (struct icmphdr *)pkt;
	h->type = ICMP_ECHO;
	h->un.echo.id = htons(0x1234);
	h->un.echo.sequence = htons(7);
	memcpy(pkt + 8, "exo-ping", 8);
	h->checksum = icmp_sum(pkt, sizeof pkt);
	struct sockaddr_in to = { .sin_family = AF_INET };
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK_RET("ping.send", sendto(fd, pkt, sizeof pkt, 0, (struct sockaddr *)&to, sizeof to), (long)sizeof pkt);
	int replied = 0;
	for (int i = 0; i < 10 && !replied; i++) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 1000) != 1)
			break;
		unsigned char in[256];
		struct sockaddr_in from;
		socklen_t len = sizeof from;
		ssize_t n = recvfrom(fd, in, sizeof in, 0, (struct sockaddr *)&from, &len);
		if (n < 28)
			continue;
		struct ip *iph = (struct ip *)in;
		struct icmphdr *r = (struct icmphdr *)(in + iph->ip_hl * 4);
		if (r->type == ICMP_ECHOREPLY && r->un.echo.id == htons(0x1234) && r->un.echo.sequence == htons(7) &&
		    from.sin_addr.s_addr == htonl(INADDR_LOOPBACK) && memcmp((char *)r + 8, "exo-ping", 8) == 0)
			replied = 1;
	}
	CHECK("ping.raw_reply", replied);
	CHECK_ERR("ping.raw_no_dest", send(fd, pkt, sizeof pkt, 0), EDESTADDRREQ);
	close(fd);

	/* A ping socket, where allowed (Linux: net.ipv4.ping_group_range). */
	fd = socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
	if (fd < 0)
		return;
	h->checksum = 0;
	CHECK_RET("ping.dgram_send", sendto(fd, pkt, sizeof pkt, 0, (struct sockaddr *)&to, sizeof to), (long)sizeof pkt);
	struct pollfd p = { .fd = fd, .events = POLLIN };
	unsigned char in[256] = { 0 };
	ssize_t n = poll(&p, 1, 2000) == 1 ? recv(fd, in, sizeof in, 0) : -1;
	CHECKF("ping.dgram_reply", n == (ssize_t)sizeof pkt && in[0] == ICMP_ECHOREPLY && memcmp(in + 8, "exo-ping", 8) == 0, "n %zd type %d", n, in[0]);
	close(fd);
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	int u = socket(AF_INET, SOCK_DGRAM, 0), t = socket(AF_INET, SOCK_STREAM, 0);
	check_ioctls(u, "udp");
	check_ioctls(t, "tcp");
	check_ifconf(u);
	check_unprivileged();
	check_proc();
	int sv[2];
	CHECK_ERR("socketpair.inet", socketpair(AF_INET, SOCK_STREAM, 0, sv), EOPNOTSUPP);
	CHECK_ERR("socket.bad_type", socket(AF_INET, SOCK_SEQPACKET, 0), ESOCKTNOSUPPORT);
	check_ping();
	close(u);
	close(t);
	return utest_done();
}
