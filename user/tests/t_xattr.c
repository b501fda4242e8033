/*
 * t_xattr - extended attributes (setxattr, lsetxattr, fsetxattr, getxattr, lgetxattr,
 * fgetxattr, listxattr, llistxattr, flistxattr, removexattr, lremovexattr, fremovexattr) with
 * Linux's errors: XATTR_CREATE/XATTR_REPLACE, size-0 queries, ERANGE for a small buffer or a bad
 * name, E2BIG, ENODATA, EINVAL, EOPNOTSUPP for unknown namespaces and procfs, EPERM for user.*
 * on symlinks, EBADF for O_PATH descriptors, EROFS on a read-only mount, and as an unprivileged
 * user EACCES / EPERM / ENODATA and the hidden trusted.* names. Works in its own directory under
 * /tmp (tmpfs on Exo-OS; tmpfs or ext4 on a Linux host).
 */
#include "utest.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>

static char dir[64];

static char *in_dir(const char *name)
{
	static char buf[4][256];
	static int n;
	char *p = buf[n++ % 4];
	snprintf(p, 256, "%s/%s", dir, name);
	return p;
}

/* Whether the NUL-separated list holds name. */
static int listed(const char *list, long len, const char *name)
{
	for (long at = 0; at < len; at += strlen(list + at) + 1)
		if (strcmp(list + at, name) == 0)
			return 1;
	return 0;
}

static void basics(void)
{
	char *f = in_dir("f");
	char buf[64];
	int fd = open(f, O_CREAT | O_RDWR, 0644);
	CHECK("basics.open", fd >= 0);
	CHECK_RET("basics.set", setxattr(f, "user.a", "hello", 5, 0), 0);
	CHECK_RET("basics.size", getxattr(f, "user.a", NULL, 0), 5);
	memset(buf, 0, sizeof buf);
	CHECK_RET("basics.get", getxattr(f, "user.a", buf, sizeof buf), 5);
	CHECK("basics.value", memcmp(buf, "hello", 5) == 0);
	CHECK_ERR("basics.erange", getxattr(f, "user.a", buf, 4), ERANGE);
	CHECK_ERR("basics.create_exists", setxattr(f, "user.a", "x", 1, XATTR_CREATE), EEXIST);
	CHECK_ERR("basics.replace_missing", setxattr(f, "user.b", "x", 1, XATTR_REPLACE), ENODATA);
	CHECK_RET("basics.replace", setxattr(f, "user.a", "hi", 2, XATTR_REPLACE), 0);
	CHECK_RET("basics.replaced", getxattr(f, "user.a", buf, sizeof buf), 2);
	CHECK_ERR("basics.badflags", setxattr(f, "user.a", "x", 1, 4), EINVAL);
	CHECK_RET("basics.empty_value", setxattr(f, "user.empty", NULL, 0, XATTR_CREATE), 0);
	CHECK_RET("basics.empty_get", getxattr(f, "user.empty", buf, sizeof buf), 0);
	CHECK_ERR("basics.missing", getxattr(f, "user.none", buf, sizeof buf), ENODATA);
	CHECK_ERR("basics.noent", getxattr(in_dir("nope"), "user.a", buf, sizeof buf), ENOENT);

	char list[256];
	long n = listxattr(f, NULL, 0);
	CHECK("basics.list_size", n >= (long)(sizeof "user.a" + sizeof "user.empty"));
	long m = listxattr(f, list, sizeof list);
	CHECK_EQ("basics.list_len", m, n);
	CHECK("basics.list_a", listed(list, m, "user.a"));
	CHECK("basics.list_empty", listed(list, m, "user.empty"));
	CHECK_ERR("basics.list_erange", listxattr(f, list, 3), ERANGE);

	CHECK_RET("basics.remove", removexattr(f, "user.empty"), 0);
	CHECK_ERR("basics.remove_again", removexattr(f, "user.empty"), ENODATA);
	m = listxattr(f, list, sizeof list);
	CHECK("basics.list_after_remove", m > 0 && !listed(list, m, "user.empty"));

	/* Descriptor forms. */
	CHECK_RET("fd.set", fsetxattr(fd, "user.fd", "1", 1, 0), 0);
	CHECK_RET("fd.get", fgetxattr(fd, "user.fd", buf, sizeof buf), 1);
	m = flistxattr(fd, list, sizeof list);
	CHECK("fd.list", m > 0 && listed(list, m, "user.fd"));
	CHECK_RET("fd.remove", fremovexattr(fd, "user.fd"), 0);
	CHECK_ERR("fd.ebadf", fgetxattr(-1, "user.a", buf, sizeof buf), EBADF);
	int pathfd = open(f, O_PATH);
	CHECK_ERR("fd.opath_get", fgetxattr(pathfd, "user.a", buf, sizeof buf), EBADF);
	CHECK_ERR("fd.opath_set", fsetxattr(pathfd, "user.a", "1", 1, 0), EBADF);
	close(pathfd);
	close(fd);

	/* Pipes have no attributes; user.* on a FIFO is refused first. */
	int p[2];
	CHECK_OK("pipe.create", pipe(p));
	CHECK_ERR("pipe.get_user", fgetxattr(p[0], "user.a", buf, sizeof buf), ENODATA);
	CHECK_ERR("pipe.set_user", fsetxattr(p[1], "user.a", "1", 1, 0), EPERM);
	CHECK_RET("pipe.list", flistxattr(p[0], list, sizeof list), 0);
	close(p[0]);
	close(p[1]);

	/* Directories hold user attributes too. */
	CHECK_OK("dir.mkdir", mkdir(in_dir("d"), 0755));
	CHECK_RET("dir.set", setxattr(in_dir("d"), "user.d", "dd", 2, 0), 0);
	CHECK_RET("dir.get", getxattr(in_dir("d"), "user.d", buf, sizeof buf), 2);
}

static void names(void)
{
	char *f = in_dir("f");
	char buf[64], longname[300];
	CHECK_ERR("names.empty", setxattr(f, "", "x", 1, 0), ERANGE);
	memset(longname, 'a', sizeof longname);
	memcpy(longname, "user.", 5);
	longname[256] = 0;
	CHECK_ERR("names.too_long_set", setxattr(f, longname, "x", 1, 0), ERANGE);
	CHECK_ERR("names.too_long_get", getxattr(f, longname, buf, sizeof buf), ERANGE);
	longname[255] = 0;
	CHECK_RET("names.max_len", setxattr(f, longname, "x", 1, 0), 0);
	CHECK_RET("names.max_len_remove", removexattr(f, longname), 0);
	CHECK_ERR("names.bare_prefix", setxattr(f, "user.", "x", 1, 0), EINVAL);
	CHECK_ERR("names.unknown_ns", setxattr(f, "foo.bar", "x", 1, 0), EOPNOTSUPP);
	CHECK_ERR("names.unknown_ns_get", getxattr(f, "foo.bar", buf, sizeof buf), EOPNOTSUPP);
	CHECK_ERR("names.no_prefix", setxattr(f, "user", "x", 1, 0), EOPNOTSUPP);
	CHECK_ERR("names.efault", setxattr(f, (char *)8, "x", 1, 0), EFAULT);
	static char big[65537];
	CHECK_ERR("names.e2big", setxattr(f, "user.big", big, sizeof big, 0), E2BIG);
}

static void symlinks(void)
{
	char *l = in_dir("l");
	char buf[64];
	CHECK_OK("symlink.create", symlink("f", l));
	/* Following the link reaches f's attributes. */
	CHECK_RET("symlink.follow", getxattr(l, "user.a", buf, sizeof buf), 2);
	CHECK_ERR("symlink.lset_user", lsetxattr(l, "user.x", "1", 1, 0), EPERM);
	CHECK_ERR("symlink.lget_user", lgetxattr(l, "user.a", buf, sizeof buf), ENODATA);
	CHECK_ERR("symlink.lremove_user", lremovexattr(l, "user.a"), EPERM);
	if (geteuid() == 0) {
		CHECK_RET("symlink.trusted", lsetxattr(l, "trusted.t", "1", 1, 0), 0);
		CHECK_RET("symlink.trusted_get", lgetxattr(l, "trusted.t", buf, sizeof buf), 1);
		char list[256];
		long m = llistxattr(l, list, sizeof list);
		CHECK("symlink.llist", m > 0 && listed(list, m, "trusted.t"));
		CHECK_RET("symlink.trusted_remove", lremovexattr(l, "trusted.t"), 0);
		CHECK_ERR("symlink.trusted_missing", lgetxattr(l, "trusted.t", buf, sizeof buf), ENODATA);
	}
}

/* Many attributes on one file end with ENOSPC (a per-inode cap), never a crash. */
static void space(void)
{
	char *f = in_dir("full");
	static char value[4000];
	char name[32];
	int fd = open(f, O_CREAT | O_RDWR, 0644);
	close(fd);
	int i, err = 0;
	for (i = 0; i < 4096; i++) {
		snprintf(name, sizeof name, "user.n%d", i);
		if (setxattr(f, name, value, sizeof value, 0) != 0) {
			err = errno;
			break;
		}
	}
	CHECKF("space.enospc", err == ENOSPC, "after %d attributes: errno %d", i, err);
	CHECK_OK("space.unlink", unlink(f));
}

/* procfs has no attributes: EOPNOTSUPP to get or set, an empty list. */
static void procfs(void)
{
	char *p = in_dir("proc");
	char buf[64];
	mkdir(p, 0755);
	int mounted = mount("proc", p, "proc", 0, NULL) == 0;
	char file[300];
	snprintf(file, sizeof file, "%s/self/status", mounted ? p : "/proc");
	CHECK_ERR("procfs.get", getxattr(file, "user.a", buf, sizeof buf), EOPNOTSUPP);
	CHECK_ERR("procfs.trusted", getxattr(file, "trusted.a", buf, sizeof buf), geteuid() == 0 ? EOPNOTSUPP : ENODATA);
	CHECK_RET("procfs.list", listxattr(file, buf, sizeof buf), 0);
	if (mounted)
		umount(p);
	rmdir(p);
}

/* A tmpfs remounted read-only refuses changes (EROFS) and still answers reads. */
static void readonly(void)
{
	char *m = in_dir("ro");
	char buf[64];
	mkdir(m, 0755);
	if (mount("tmpfs", m, "tmpfs", 0, NULL) != 0) {
		utest_ok("readonly.skipped_no_mount");
		rmdir(m);
		return;
	}
	char file[300];
	snprintf(file, sizeof file, "%s/x", m);
	int fd = open(file, O_CREAT | O_RDWR, 0644);
	close(fd);
	CHECK_RET("readonly.set", setxattr(file, "user.a", "1", 1, 0), 0);
	CHECK_OK("readonly.remount", mount("tmpfs", m, "tmpfs", MS_REMOUNT | MS_RDONLY, NULL));
	CHECK_ERR("readonly.set_erofs", setxattr(file, "user.b", "1", 1, 0), EROFS);
	CHECK_ERR("readonly.remove_erofs", removexattr(file, "user.a"), EROFS);
	CHECK_RET("readonly.get", getxattr(file, "user.a", buf, sizeof buf), 1);
	umount(m);
	rmdir(m);
}

/* As uid 1000: permissions, trusted.* and security.* rules, sticky directories. */
static void unprivileged(void)
{
	if (geteuid() != 0)
		return;
	char *ro = in_dir("rootfile"), *secret = in_dir("secret"), *sticky = in_dir("sticky"), *mine = in_dir("mine");
	int fd = open(ro, O_CREAT | O_RDWR, 0644);
	close(fd);
	fd = open(secret, O_CREAT | O_RDWR, 0600);
	close(fd);
	CHECK_RET("user.prep1", setxattr(ro, "user.pub", "p", 1, 0), 0);
	CHECK_RET("user.prep2", setxattr(ro, "trusted.hidden", "h", 1, 0), 0);
	CHECK_RET("user.prep3", setxattr(secret, "user.s", "s", 1, 0), 0);
	CHECK_OK("user.prep4", mkdir(sticky, 01777));
	CHECK_OK("user.prep5", chmod(sticky, 01777));
	CHECK_OK("user.prep6", chmod(dir, 0777));

	/* Results: each child case writes its errno (0 = success) to the pipe. */
	int p[2];
	if (pipe(p) != 0)
		return;
	pid_t pid = fork();
	if (pid == 0) {
		char buf[64], list[256];
		int r[12];
		close(p[0]);
		if (setgid(1000) || setuid(1000))
			_exit(2);
		r[0] = setxattr(ro, "user.x", "1", 1, 0) ? errno : 0;                      /* EACCES */
		r[1] = getxattr(ro, "user.pub", buf, sizeof buf) == 1 ? 0 : errno;         /* 0 */
		r[2] = getxattr(secret, "user.s", buf, sizeof buf) < 0 ? errno : 0;        /* EACCES */
		r[3] = setxattr(ro, "trusted.x", "1", 1, 0) ? errno : 0;                   /* EPERM */
		r[4] = getxattr(ro, "trusted.hidden", buf, sizeof buf) < 0 ? errno : 0;    /* ENODATA */
		long n = listxattr(ro, list, sizeof list);
		r[5] = n > 0 && listed(list, n, "user.pub") && !listed(list, n, "trusted.hidden") ? 0 : 1;
		r[6] = setxattr(sticky, "user.x", "1", 1, 0) ? errno : 0;                  /* EPERM */
		fd = open(mine, O_CREAT | O_RDWR, 0600);
		close(fd);
		r[7] = setxattr(mine, "user.x", "1", 1, 0) ? errno : 0;                    /* 0 */
		r[8] = setxattr(mine, "security.x", "1", 1, 0) ? errno : 0;                /* EPERM */
		r[9] = removexattr(ro, "user.pub") ? errno : 0;                            /* EACCES */
		r[10] = listxattr(secret, list, sizeof list) >= 0 ? 0 : errno;             /* 0: no read needed */
		r[11] = removexattr(ro, "trusted.hidden") ? errno : 0;                     /* EPERM */
		if (write(p[1], r, sizeof r) != sizeof r)
			_exit(3);
		_exit(0);
	}
	close(p[1]);
	int r[12];
	memset(r, -1, sizeof r);
	long got = read(p[0], r, sizeof r);
	close(p[0]);
	int status;
	waitpid(pid, &status, 0);
	CHECK_EQ("user.child", got, (long)sizeof r);
	CHECK_EQ("user.set_no_write", r[0], EACCES);
	CHECK_EQ("user.get_readable", r[1], 0);
	CHECK_EQ("user.get_no_read", r[2], EACCES);
	CHECK_EQ("user.set_trusted", r[3], EPERM);
	CHECK_EQ("user.get_trusted", r[4], ENODATA);
	CHECK_EQ("user.list_hides_trusted", r[5], 0);
	CHECK_EQ("user.sticky_dir", r[6], EPERM);
	CHECK_EQ("user.own_file", r[7], 0);
	CHECK_EQ("user.set_security", r[8], EPERM);
	CHECK_EQ("user.remove_no_write", r[9], EACCES);
	CHECK_EQ("user.list_no_read", r[10], 0);
	CHECK_EQ("user.remove_trusted", r[11], EPERM);
}

static void cleanup(void)
{
	const char *names[] = { "f", "l", "rootfile", "secret", "mine" };
	for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++)
		unlink(in_dir(names[i]));
	rmdir(in_dir("d"));
	rmdir(in_dir("sticky"));
	rmdir(dir);
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	mkdir("/tmp", 01777);
	strcpy(dir, "/tmp/t_xattr.XXXXXX");
	if (!mkdtemp(dir)) {
		utest_fail("setup", "mkdtemp: errno %d", errno);
		return utest_done();
	}
	basics();
	names();
	symlinks();
	space();
	procfs();
	readonly();
	unprivileged();
	cleanup();
	return utest_done();
}
