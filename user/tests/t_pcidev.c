/*
 * t_pcidev - /proc/bus/pci/devices, the PCI function list in Linux's format (what lspci-style
 * tools parse): one line per function, 18 tab-separated fields (bus+devfn, vendor+device, irq,
 * 7 region starts and 7 sizes as right-aligned 16-column hex, driver name); /proc/bus and
 * /proc/bus/pci list their entries; the file is read-only.  On Exo-OS (uname release containing
 * "exo", q35 machine) the test mounts proc if needed and also checks the q35 host bridge
 * (00:00.0, 8086:29c0) and ISA bridge (00:1f.0, 8086:2918).  On a host Linux only the format is
 * checked (skipped with a note when the host has no PCI bus).
 */
#define UTEST_PROGRAM "t_pcidev"
#include "utest.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/utsname.h>

static char text[64 * 1024];

static int has_entry(const char *dir, const char *name)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	struct dirent *e;
	int found = 0;
	while ((e = readdir(d)) != NULL)
		found |= strcmp(e->d_name, name) == 0;
	closedir(d);
	return found;
}

/* Checks one line; returns 1 when its format is right and sets *ids to vendor<<16|device. */
static int line_ok(char *line, unsigned *slot, unsigned *ids)
{
	char *fields[20];
	int n = 0;
	char *p = line;
	for (;;) {
		if (n == 20)
			return 0;
		fields[n++] = p;
		char *tab = strchr(p, '\t');
		if (!tab)
			break;
		*tab = 0;
		p = tab + 1;
	}
	if (n != 18 || strlen(fields[0]) != 4 || strlen(fields[1]) != 8)
		return 0;
	for (int i = 3; i < 17; i++)
		if (strlen(fields[i]) != 16)
			return 0;
	char *end;
	*slot = (unsigned)strtoul(fields[0], &end, 16);
	if (*end)
		return 0;
	*ids = (unsigned)strtoul(fields[1], &end, 16);
	return *end == 0;
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	struct utsname u;
	int on_exo = uname(&u) == 0 && strstr(u.release, "exo") != NULL;
	int mounted = 0;
	if (on_exo && access("/proc/self", F_OK) != 0)
		mounted = CHECK_OK("mount.proc", mount("proc", "/proc", "proc", 0, NULL));
	int fd = open("/proc/bus/pci/devices", O_RDONLY);
	if (fd < 0 && !on_exo && errno == ENOENT) {
		utest_printf("# no /proc/bus/pci on this host: skipped\n");
		return utest_done();
	}
	CHECKF("open", fd >= 0, "errno %s", utest_errname(errno));
	size_t len = 0;
	for (;;) {
		/* Small reads: the text must come out whole across read calls. */
		ssize_t got = read(fd, text + len, sizeof text - 1 - len < 100 ? sizeof text - 1 - len : 100);
		if (got <= 0)
			break;
		len += (size_t)got;
	}
	text[len] = 0;
	close(fd);
	CHECK("not_empty", len > 0 && text[len - 1] == '\n');
	int lines = 0, bad = 0, host_bridge = 0, isa_bridge = 0;
	unsigned last = 0;
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		unsigned slot, ids;
		if (!line_ok(line, &slot, &ids)) {
			bad++;
			continue;
		}
		if (lines > 0 && slot <= last)
			bad++;
		last = slot;
		lines++;
		host_bridge |= slot == 0x0000 && ids == 0x808629c0;
		isa_bridge |= slot == 0x00f8 && ids == 0x80862918;
	}
	CHECKF("lines", lines > 0 && bad == 0, "%d lines, %d malformed or out of order", lines, bad);
	if (on_exo) {
		CHECK("q35.host_bridge", host_bridge);
		CHECK("q35.isa_bridge", isa_bridge);
	}
	CHECK("dir.proc_bus", has_entry("/proc/bus", "pci"));
	CHECK("dir.proc_bus_pci", has_entry("/proc/bus/pci", "devices"));
	struct stat st;
	CHECK("stat.regular", stat("/proc/bus/pci/devices", &st) == 0 && S_ISREG(st.st_mode));
	CHECK("stat.dir", stat("/proc/bus/pci", &st) == 0 && S_ISDIR(st.st_mode));
	/* Read-only: opening for writing is refused, or (root bypasses the mode bits) writing is. */
	errno = 0;
	int w = open("/proc/bus/pci/devices", O_WRONLY);
	if (w >= 0) {
		errno = 0;
		long r = write(w, "x", 1);
		CHECKF("write.refused", r < 0, "write returned %ld", r);
		close(w);
	} else {
		CHECKF("write.refused", errno == EACCES || errno == EROFS || errno == EPERM, "open O_WRONLY errno %s",
		       utest_errname(errno));
	}
	CHECK_ERR("enoent", open("/proc/bus/pci/nosuch", O_RDONLY), ENOENT);
	if (mounted)
		CHECK_OK("umount.proc", umount2("/proc", MNT_FORCE));
	return utest_done();
}
