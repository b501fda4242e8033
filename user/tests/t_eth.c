/*
 * t_eth - the Ethernet interface when the machine has a network card on QEMU's user network
 * (restrict=on: guest 10.0.2.15/24, gateway 10.0.2.2): the address arrives (DHCP or ip=),
 * ifconfig's ioctls describe eth0, /proc/net/dev lists it, the gateway answers ICMP echo, and
 * the host's own address works through loopback (TCP to 10.0.2.15, ping of 10.0.2.15).
 * Without such an interface (the host, or a machine without a card) every case is skipped.
 */
#define UTEST_PROGRAM "t_eth"
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

static char ifname[IFNAMSIZ];

/* The interface holding 10.0.2.15, waiting up to `ms` for DHCP. */
static int find_iface(int fd, int ms)
{
	for (int waited = 0; waited <= ms; waited += 100) {
		struct ifreq reqs[16];
		struct ifconf c = { .ifc_len = sizeof reqs, .ifc_req = reqs };
		if (ioctl(fd, SIOCGIFCONF, &c) == 0) {
			for (int i = 0; i < c.ifc_len / (int)sizeof(struct ifreq); i++) {
				struct sockaddr_in *a = (struct sockaddr_in *)&reqs[i].ifr_addr;
				if (a->sin_addr.s_addr == inet_addr("10.0.2.15")) {
					snprintf(ifname, sizeof ifname, "%s", reqs[i].ifr_name);
					return 1;
				}
			}
		}
		utest_sleep_ms(100);
	}
	return 0;
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

/* One echo to `dst` through a raw socket; 1 when the reply came within 3 s. */
static int ping(const char *dst, int seq)
{
	int fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
	if (fd < 0)
		return 0;
	unsigned char pkt[64] = { 0 };
	struct icmphdr *h = (struct icmphdr *)pkt;
	h->type = ICMP_ECHO;
	h->un.echo.id = htons(0x4242);
	h->un.echo.sequence = htons(seq);
	h->checksum = icmp_sum(pkt, sizeof pkt);
	struct sockaddr_in to = { .sin_family = AF_INET };
	to.sin_addr.s_addr = inet_addr(dst);
	int ok = 0;
	if (sendto(fd, pkt, sizeof pkt, 0, (struct sockaddr *)&to, sizeof to) == (ssize_t)sizeof pkt) {
		for (int i = 0; i < 10 && !ok; i++) {
			struct pollfd p = { .fd = fd, .events = POLLIN };
			if (poll(&p, 1, 3000) != 1)
				break;
			unsigned char in[256];
			ssize_t n = recv(fd, in, sizeof in, 0);
			if (n < 28)
				continue;
			struct ip *iph = (struct ip *)in;
			struct icmphdr *r = (struct icmphdr *)(in + iph->ip_hl * 4);
			ok = r->type == ICMP_ECHOREPLY && r->un.echo.id == htons(0x4242) && r->un.echo.sequence == htons(seq) &&
			     iph->ip_src.s_addr == to.sin_addr.s_addr;
		}
	}
	close(fd);
	return ok;
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (!find_iface(fd, 5000)) {
		utest_ok("skipped.no_user_network");
		return utest_done();
	}
	struct ifreq r;
	memset(&r, 0, sizeof r);
	snprintf(r.ifr_name, sizeof r.ifr_name, "%s", ifname);
	CHECK_RET("ioctl.flags", ioctl(fd, SIOCGIFFLAGS, &r), 0);
	CHECKF("ioctl.flags_value", (r.ifr_flags & (IFF_UP | IFF_RUNNING | IFF_BROADCAST)) == (IFF_UP | IFF_RUNNING | IFF_BROADCAST) && !(r.ifr_flags & IFF_LOOPBACK), "%#x", r.ifr_flags);
	CHECK_RET("ioctl.hwaddr", ioctl(fd, SIOCGIFHWADDR, &r), 0);
	CHECKF("ioctl.hwaddr_ether", r.ifr_hwaddr.sa_family == ARPHRD_ETHER && (r.ifr_hwaddr.sa_data[0] & 1) == 0, "family %d", r.ifr_hwaddr.sa_family);
	CHECK_RET("ioctl.netmask", ioctl(fd, SIOCGIFNETMASK, &r), 0);
	CHECK_EQ("ioctl.netmask_value", ((struct sockaddr_in *)&r.ifr_netmask)->sin_addr.s_addr, inet_addr("255.255.255.0"));
	CHECK_RET("ioctl.brdaddr", ioctl(fd, SIOCGIFBRDADDR, &r), 0);
	CHECK_EQ("ioctl.brdaddr_value", ((struct sockaddr_in *)&r.ifr_broadaddr)->sin_addr.s_addr, inet_addr("10.0.2.255"));
	CHECK_RET("ioctl.mtu", ioctl(fd, SIOCGIFMTU, &r), 0);
	CHECK_EQ("ioctl.mtu_value", r.ifr_mtu, 1500);

	int mounted = access("/proc/net/dev", R_OK) < 0 && mount("proc", "/proc", "proc", 0, NULL) == 0;
	char buf[4096] = { 0 };
	int pf = open("/proc/net/dev", O_RDONLY);
	if (pf >= 0) {
		read(pf, buf, sizeof buf - 1);
		close(pf);
	}
	char want[32];
	snprintf(want, sizeof want, "%s:", ifname);
	CHECK("proc.dev_lists_it", strstr(buf, want) != NULL);
	if (mounted)
		umount("/proc");

	CHECK("ping.gateway", ping("10.0.2.2", 1));
	CHECK("ping.self", ping("10.0.2.15", 2));

	/* TCP to the host's own Ethernet address goes through loopback. */
	int l = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET };
	bind(l, (struct sockaddr *)&a, sizeof a);
	listen(l, 1);
	socklen_t len = sizeof a;
	getsockname(l, (struct sockaddr *)&a, &len);
	a.sin_addr.s_addr = inet_addr("10.0.2.15");
	int c = socket(AF_INET, SOCK_STREAM, 0);
	CHECK_RET("tcp.self_connect", connect(c, (struct sockaddr *)&a, sizeof a), 0);
	int s = accept(l, NULL, NULL);
	struct sockaddr_in me;
	len = sizeof me;
	getsockname(s, (struct sockaddr *)&me, &len);
	CHECK_EQ("tcp.self_local_addr", me.sin_addr.s_addr, inet_addr("10.0.2.15"));
	CHECK_RET("tcp.self_send", send(c, "eth", 3, 0), 3);
	CHECK_RET("tcp.self_recv", recv(s, buf, sizeof buf, 0), 3);
	close(s);
	close(c);
	close(l);
	close(fd);
	return utest_done();
}
