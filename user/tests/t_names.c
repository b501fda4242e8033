/*
 * t_names - file-name syscalls, success and exact errno: mkdir/mkdirat (EEXIST, ENOENT, ENOTDIR,
 * ENAMETOOLONG), rmdir/unlink/unlinkat (ENOTEMPTY, EINVAL for ".", EISDIR, AT_REMOVEDIR),
 * rename/renameat/renameat2 (replace rules, ENOTEMPTY/ENOTDIR/EISDIR/EINVAL, RENAME_NOREPLACE,
 * RENAME_EXCHANGE), link/linkat (link counts, EPERM for directories, AT_SYMLINK_FOLLOW),
 * symlink/readlink (targets, truncation, dangling links, ELOOP, O_NOFOLLOW, lstat vs stat),
 * *at calls with dirfds (ENOTDIR, EBADF, AT_FDCWD), getcwd/chdir/fchdir, and path resolution
 * ("." "..", "//", trailing slashes, ".." at "/").  Works in a private directory under /tmp.
 */
#define UTEST_PROGRAM "t_names"
#include "utest.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE 1
#define RENAME_EXCHANGE 2
#endif

static char dir[64];

/* Creates (or truncates) path with the given contents; returns 0 or -1. */
static int put(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* Contents of path (up to 63 bytes) in a static buffer, or "<errno name>" when it fails. */
static const char *get(const char *path)
{
	static char buf[64];
	int fd = open(path, O_RDONLY);
	if (fd < 0) {
		snprintf(buf, sizeof buf, "<%s>", utest_errname(errno));
		return buf;
	}
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	buf[n < 0 ? 0 : n] = 0;
	return buf;
}

static ino_t ino(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? st.st_ino : 0;
}

static mode_t lmode(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0 ? st.st_mode : 0;
}

static long nlink(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0 ? (long)st.st_nlink : -1;
}

static void rmtree(const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return;
	if (S_ISDIR(st.st_mode)) {
		chmod(path, 0700);
		DIR *d = opendir(path);
		struct dirent *de;
		char sub[4200];
		while (d && (de = readdir(d))) {
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
				snprintf(sub, sizeof sub, "%s/%s", path, de->d_name);
				rmtree(sub);
			}
		}
		if (d)
			closedir(d);
		rmdir(path);
	} else {
		unlink(path);
	}
}

static void check_mkdir(void)
{
	char name[300], path[4200];
	struct stat st;
	put("f", "file");
	CHECK_RET("mkdir", mkdir("d", 0755), 0);
	CHECKF("mkdir.is_dir", S_ISDIR(lmode("d")) && nlink("d") == 2, "mode=%o nlink=%ld", lmode("d"),
	       nlink("d"));
	CHECK_ERR("mkdir.eexist", mkdir("d", 0755), EEXIST);
	CHECK_ERR("mkdir.eexist_file", mkdir("f", 0755), EEXIST);
	CHECK_ERR("mkdir.enoent", mkdir("nope/x", 0755), ENOENT);
	CHECK_ERR("mkdir.enotdir", mkdir("f/x", 0755), ENOTDIR);
	CHECK_ERR("mkdir.empty", mkdir("", 0755), ENOENT);
	long before = nlink("d");
	CHECK_RET("mkdir.trailing_slash", mkdir("d/s/", 0755), 0);
	CHECK_RET("mkdir.trailing_slashes", mkdir("d/t//", 0755), 0);
	CHECK_EQ("mkdir.parent_nlink", nlink("d"), before + 2);
	int dfd = open("d", O_RDONLY | O_DIRECTORY);
	CHECK_RET("mkdirat", mkdirat(dfd, "at", 0700), 0);
	CHECKF("mkdirat.where", stat("d/at", &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700,
	       "stat d/at: errno %s mode %o", utest_errname(errno), st.st_mode);
	CHECK_ERR("mkdirat.eexist", mkdirat(dfd, "at", 0700), EEXIST);
	CHECK_RET("mkdirat.fdcwd", mkdirat(AT_FDCWD, "d/cwd", 0700), 0);
	close(dfd);

	memset(name, 'n', 255);
	name[255] = 0;
	CHECK_RET("mkdir.name_255", mkdir(name, 0755), 0);
	CHECK_RET("rmdir.name_255", rmdir(name), 0);
	name[255] = 'n', name[256] = 0;
	CHECK_ERR("mkdir.name_256", mkdir(name, 0755), ENAMETOOLONG);
	CHECK_ERR("open.name_256", open(name, O_RDONLY), ENAMETOOLONG);
	CHECK_ERR("stat.name_256", stat(name, &st), ENAMETOOLONG);
	/* 4095 bytes is the longest path (PATH_MAX counts the NUL); 4096 is too long. */
	for (int i = 0; i < 4096; i += 2)
		path[i] = '.', path[i + 1] = '/';
	memcpy(path + 4092, "d/x", 4);
	CHECKF("mkdir.path_4095", strlen(path) == 4095 && mkdir(path, 0755) == 0, "errno %s",
	       utest_errname(errno));
	memcpy(path + 4092, "d/xy", 5);
	CHECK_ERR("mkdir.path_4096", mkdir(path, 0755), ENAMETOOLONG);
	CHECK_ERR("stat.path_4096", stat(path, &st), ENAMETOOLONG);
	rmdir("d/x");
}

static void check_remove(void)
{
	put("d/s/inner", "x");
	CHECK_ERR("rmdir.enotempty", rmdir("d/s"), ENOTEMPTY);
	CHECK_ERR("rmdir.enotdir", rmdir("f"), ENOTDIR);
	CHECK_ERR("rmdir.enoent", rmdir("nothere"), ENOENT);
	CHECK_ERR("rmdir.dot", rmdir("."), EINVAL);
	CHECK_ERR("rmdir.dir_dot", rmdir("d/t/."), EINVAL);
	CHECK_ERR("rmdir.dotdot", rmdir("d/t/.."), ENOTEMPTY);
	CHECK_RET("rmdir.trailing_slash", rmdir("d/t/"), 0);
	CHECK_ERR("unlink.dir_eisdir", unlink("d/s"), EISDIR);
	CHECK_ERR("unlink.file_slash", unlink("f/"), ENOTDIR);
	CHECK_ERR("unlink.enoent", unlink("nothere"), ENOENT);
	CHECK_ERR("unlink.enotdir", unlink("f/x"), ENOTDIR);
	CHECK_RET("unlink", unlink("d/s/inner"), 0);
	CHECK_ERR("unlink.gone", access("d/s/inner", F_OK), ENOENT);
	int dfd = open("d", O_RDONLY | O_DIRECTORY);
	put("d/g", "g");
	CHECK_ERR("unlinkat.removedir_file", unlinkat(dfd, "g", AT_REMOVEDIR), ENOTDIR);
	CHECK_ERR("unlinkat.dir_no_flag", unlinkat(dfd, "s", 0), EISDIR);
	CHECK_ERR("unlinkat.bad_flags", unlinkat(dfd, "g", 0x1), EINVAL);
	CHECK_RET("unlinkat.file", unlinkat(dfd, "g", 0), 0);
	CHECK_RET("unlinkat.removedir", unlinkat(dfd, "s", AT_REMOVEDIR), 0);
	CHECK_ERR("unlinkat.removedir_gone", access("d/s", F_OK), ENOENT);
	close(dfd);
}

static void check_rename(void)
{
	put("a", "A");
	put("b", "B");
	ino_t ia = ino("a");
	CHECK_RET("rename.file_over_file", rename("a", "b"), 0);
	CHECKF("rename.replaced", !strcmp(get("b"), "A") && ino("b") == ia && access("a", F_OK) < 0,
	       "b=\"%s\" ino %lu vs %lu", get("b"), (unsigned long)ino("b"), (unsigned long)ia);
	CHECK_ERR("rename.enoent", rename("a", "c"), ENOENT);
	CHECK_RET("rename.self", rename("b", "b"), 0);
	CHECK_EQ("rename.self_kept", ino("b"), ia);
	link("b", "b2");
	CHECK_RET("rename.hardlink_same_inode", rename("b", "b2"), 0);
	CHECKF("rename.hardlink_both_kept", ino("b") == ia && ino("b2") == ia, "b %lu b2 %lu",
	       (unsigned long)ino("b"), (unsigned long)ino("b2"));
	unlink("b2");

	mkdir("p", 0755), mkdir("q", 0755), mkdir("p/sub", 0755), put("p/m", "m");
	ino_t ip = ino("p");
	CHECK_RET("rename.dir_over_empty_dir", rename("p", "q"), 0);
	CHECKF("rename.dir_moved", ino("q") == ip && !strcmp(get("q/m"), "m") && access("p", F_OK) < 0,
	       "q/m=\"%s\"", get("q/m"));
	mkdir("e", 0755), put("e/x", "x");
	CHECK_ERR("rename.dir_over_nonempty", rename("q", "e"), ENOTEMPTY);
	CHECK_ERR("rename.dir_over_file", rename("q", "b"), ENOTDIR);
	CHECK_ERR("rename.file_over_dir", rename("b", "q"), EISDIR);
	CHECK_ERR("rename.into_own_subdir", rename("q", "q/sub/x"), EINVAL);
	CHECK_ERR("rename.into_itself", rename("q", "q/x"), EINVAL);
	CHECK_ERR("rename.onto_ancestor", rename("q/sub", "q"), ENOTEMPTY);
	CHECK_ERR("rename.file_slash", rename("b/", "c"), ENOTDIR);
	CHECK_RET("rename.dir_slashes", rename("q/", "r/"), 0);
	CHECK_EQ("rename.dir_slashes_moved", ino("r"), ip);
	CHECK_ERR("rename.missing_parent", rename("b", "nope/b"), ENOENT);

	int d1 = open("r", O_RDONLY | O_DIRECTORY), d2 = open("e", O_RDONLY | O_DIRECTORY);
	CHECK_RET("renameat", renameat(d1, "m", d2, "m2"), 0);
	CHECKF("renameat.moved", !strcmp(get("e/m2"), "m") && access("r/m", F_OK) < 0, "e/m2=\"%s\"",
	       get("e/m2"));
	CHECK_SYSERR("renameat.bad_dirfd", syscall(SYS_renameat, 999, "x", d2, "y"), EBADF);
	put("c", "C");
	CHECK_SYSERR("renameat2.noreplace", syscall(SYS_renameat2, AT_FDCWD, "c", AT_FDCWD, "b",
						    RENAME_NOREPLACE), EEXIST);
	CHECKF("renameat2.noreplace_kept", !strcmp(get("b"), "A") && !strcmp(get("c"), "C"), "b=%s",
	       get("b"));
	CHECK_RET("renameat2.noreplace_new", syscall(SYS_renameat2, AT_FDCWD, "c", d1, "c", RENAME_NOREPLACE), 0);
	CHECK_RET("renameat2.noreplace_moved", strcmp(get("r/c"), "C"), 0);
	CHECK_RET("renameat2.exchange", syscall(SYS_renameat2, d1, "c", AT_FDCWD, "b", RENAME_EXCHANGE), 0);
	CHECKF("renameat2.exchanged", !strcmp(get("b"), "C") && !strcmp(get("r/c"), "A"), "b=%s r/c=%s",
	       get("b"), get("r/c"));
	CHECK_RET("renameat2.exchange_dir_file", syscall(SYS_renameat2, AT_FDCWD, "e", AT_FDCWD, "b",
							  RENAME_EXCHANGE), 0);
	CHECKF("renameat2.exchanged_types", S_ISDIR(lmode("b")) && S_ISREG(lmode("e")), "b %o e %o",
	       lmode("b"), lmode("e"));
	CHECK_SYSERR("renameat2.exchange_missing", syscall(SYS_renameat2, AT_FDCWD, "e", AT_FDCWD,
							    "missing", RENAME_EXCHANGE), ENOENT);
	CHECK_SYSERR("renameat2.exchange_noreplace", syscall(SYS_renameat2, AT_FDCWD, "e", AT_FDCWD, "b",
							      RENAME_EXCHANGE | RENAME_NOREPLACE), EINVAL);
	CHECK_SYSERR("renameat2.bad_flags", syscall(SYS_renameat2, AT_FDCWD, "e", AT_FDCWD, "z", 0x80), EINVAL);
	close(d1), close(d2);
	rmtree("b"), rmtree("e"), rmtree("r");
}

static void check_links(void)
{
	struct stat st;
	put("h", "hh");
	CHECK_RET("link", link("h", "h2"), 0);
	CHECKF("link.nlink", nlink("h") == 2 && nlink("h2") == 2 && ino("h") == ino("h2"), "nlink %ld %ld",
	       nlink("h"), nlink("h2"));
	int fd = open("h", O_RDONLY);
	CHECKF("link.fstat_nlink", fstat(fd, &st) == 0 && st.st_nlink == 2, "nlink %lu", (unsigned long)st.st_nlink);
	CHECK_ERR("link.eexist", link("h", "h2"), EEXIST);
	CHECK_ERR("link.dir_eperm", link("d", "dlink"), EPERM);
	CHECK_ERR("link.enoent", link("missing", "x"), ENOENT);
	CHECK_ERR("link.new_parent_missing", link("h", "nope/x"), ENOENT);
	CHECK_RET("link.unlink_one", unlink("h2"), 0);
	CHECKF("link.nlink_back", nlink("h") == 1 && fstat(fd, &st) == 0 && st.st_nlink == 1, "nlink %ld",
	       nlink("h"));
	close(fd);
	symlink("h", "hs");
	CHECK_RET("linkat.nofollow", linkat(AT_FDCWD, "hs", AT_FDCWD, "hl", 0), 0);
	CHECKF("linkat.nofollow_is_link", S_ISLNK(lmode("hl")) && nlink("hs") == 2, "mode %o", lmode("hl"));
	CHECK_RET("linkat.follow", linkat(AT_FDCWD, "hs", AT_FDCWD, "hf", AT_SYMLINK_FOLLOW), 0);
	CHECKF("linkat.follow_is_target", S_ISREG(lmode("hf")) && ino("hf") == ino("h") && nlink("h") == 2,
	       "mode %o nlink %ld", lmode("hf"), nlink("h"));
	int dfd = open("d", O_RDONLY | O_DIRECTORY);
	CHECK_RET("linkat.dirfd", linkat(AT_FDCWD, "h", dfd, "hd", 0), 0);
	CHECK_EQ("linkat.dirfd_same", ino("d/hd"), ino("h"));
	CHECK_ERR("linkat.bad_flags", linkat(AT_FDCWD, "h", AT_FDCWD, "hx", 0x1), EINVAL);
	CHECK_ERR("linkat.bad_dirfd", linkat(999, "h", AT_FDCWD, "hx", 0), EBADF);
	close(dfd);
	unlink("hs"), unlink("hl"), unlink("hf"), unlink("d/hd");
}

static void check_symlinks(void)
{
	char abs[128], buf[128];
	struct stat st, lst;
	snprintf(abs, sizeof abs, "%s/f", dir);
	CHECK_RET("symlink.absolute", symlink(abs, "la"), 0);
	CHECK_RET("symlink.relative", symlink("f", "lr"), 0);
	memset(buf, 0, sizeof buf);
	CHECK_RET("readlink", readlink("la", buf, sizeof buf), (long)strlen(abs));
	CHECKF("readlink.text", !strcmp(buf, abs), "got \"%s\"", buf);
	CHECK_RET("readlink.relative", readlink("lr", buf, sizeof buf), 1);
	memset(buf, 'X', sizeof buf);
	CHECK_RET("readlink.truncates", readlink("la", buf, 3), 3);
	CHECKF("readlink.no_nul", !memcmp(buf, abs, 3) && buf[3] == 'X', "buf \"%.4s\"", buf);
	CHECK_SYSERR("readlink.size0", syscall(SYS_readlink, "la", buf, 0), EINVAL);
	CHECK_ERR("readlink.not_link", readlink("f", buf, sizeof buf), EINVAL);
	CHECK_ERR("readlink.dir", readlink("d", buf, sizeof buf), EINVAL);
	CHECK_ERR("readlink.enoent", readlink("nolink", buf, sizeof buf), ENOENT);
	int dfd = open(".", O_RDONLY | O_DIRECTORY);
	CHECK_RET("readlinkat", readlinkat(dfd, "lr", buf, sizeof buf), 1);
	CHECKF("symlink.abs_resolves", !strcmp(get("la"), "file"), "got \"%s\"", get("la"));
	CHECKF("symlink.rel_resolves", !strcmp(get("lr"), "file"), "got \"%s\"", get("lr"));
	CHECK_RET("symlinkat", symlinkat("../f", dfd, "d/up"), 0);
	CHECKF("symlink.rel_to_link_dir", !strcmp(get("d/up"), "file"), "got \"%s\"", get("d/up"));
	CHECK_ERR("symlink.eexist", symlink("x", "la"), EEXIST);
	CHECK_ERR("symlink.empty_target", symlink("", "le"), ENOENT);
	CHECK_RET("stat.follows", stat("la", &st), 0);
	CHECK_RET("lstat", lstat("la", &lst), 0);
	CHECKF("stat.is_target", S_ISREG(st.st_mode) && st.st_ino == ino("f") && st.st_size == 4, "mode %o",
	       st.st_mode);
	CHECKF("lstat.is_link", S_ISLNK(lst.st_mode) && lst.st_ino != st.st_ino &&
	       lst.st_size == (off_t)strlen(abs), "mode %o size %ld", lst.st_mode, (long)lst.st_size);

	symlink("missing", "ldang");
	CHECK_ERR("symlink.dangling_open", open("ldang", O_RDONLY), ENOENT);
	CHECK_ERR("symlink.dangling_stat", stat("ldang", &st), ENOENT);
	CHECKF("symlink.dangling_lstat", S_ISLNK(lmode("ldang")), "mode %o", lmode("ldang"));
	CHECK_ERR("symlink.dangling_excl", open("ldang", O_WRONLY | O_CREAT | O_EXCL, 0644), EEXIST);
	CHECK_ERR("symlink.mkdir_over", mkdir("ldang", 0755), EEXIST);
	symlink("loopb", "loopa"), symlink("loopa", "loopb");
	CHECK_ERR("symlink.loop_open", open("loopa", O_RDONLY), ELOOP);
	CHECK_ERR("symlink.loop_stat", stat("loopb", &st), ELOOP);
	CHECK_ERR("symlink.loop_component", stat("loopa/x", &st), ELOOP);
	CHECK_ERR("open.nofollow_link", open("lr", O_RDONLY | O_NOFOLLOW), ELOOP);
	int fd = open("f", O_RDONLY | O_NOFOLLOW);
	CHECKF("open.nofollow_file", fd >= 0, "errno %s", utest_errname(errno));
	close(fd);
	symlink("d", "ld");
	CHECK_ERR("open.nofollow_link_in_dir", open("ld/up", O_RDONLY | O_NOFOLLOW), ELOOP);
	fd = open("ld/at", O_RDONLY | O_NOFOLLOW | O_DIRECTORY);
	CHECKF("open.nofollow_only_last", fd >= 0, "errno %s", utest_errname(errno));
	close(fd);
	CHECK_ERR("rmdir.symlink_to_dir", rmdir("ld"), ENOTDIR);
	CHECKF("lstat.trailing_slash_follows", S_ISDIR(lmode("ld/")), "mode %o", lmode("ld/"));
	CHECKF("symlink.dir_component", ino("ld/at") == ino("d/at") && ino("d/at"), "ino %lu",
	       (unsigned long)ino("ld/at"));
	CHECK_RET("unlink.symlink", unlink("ld"), 0);
	CHECKF("unlink.symlink_kept_target", S_ISDIR(lmode("d")) && !lmode("ld"), "d %o", lmode("d"));
	close(dfd);
	unlink("la"), unlink("lr"), unlink("ldang"), unlink("loopa"), unlink("loopb"), unlink("d/up");
}

static void check_at(void)
{
	struct stat st, st2;
	int dfd = open("d", O_RDONLY | O_DIRECTORY), ffd = open("f", O_RDONLY);
	int fd = openat(dfd, "new", O_RDWR | O_CREAT | O_EXCL, 0644);
	CHECKF("openat.dirfd", fd >= 0 && access("d/new", F_OK) == 0, "fd %d errno %s", fd, utest_errname(errno));
	close(fd);
	CHECK_RET("fstatat.dirfd", fstatat(dfd, "new", &st, 0), 0);
	CHECKF("fstatat.same", stat("d/new", &st2) == 0 && st.st_ino == st2.st_ino, "ino %lu vs %lu",
	       (unsigned long)st.st_ino, (unsigned long)st2.st_ino);
	CHECK_RET("mkdirat.dirfd", mkdirat(dfd, "sub", 0755), 0);
	CHECK("mkdirat.dirfd_where", S_ISDIR(lmode("d/sub")));
	CHECK_ERR("openat.file_dirfd", openat(ffd, "x", O_RDONLY), ENOTDIR);
	CHECK_ERR("mkdirat.file_dirfd", mkdirat(ffd, "x", 0755), ENOTDIR);
	CHECK_ERR("fstatat.file_dirfd", fstatat(ffd, "x", &st, 0), ENOTDIR);
	CHECK_ERR("unlinkat.file_dirfd", unlinkat(ffd, "x", 0), ENOTDIR);
	CHECK_ERR("openat.bad_dirfd", openat(999, "x", O_RDONLY), EBADF);
	CHECK_ERR("mkdirat.bad_dirfd", mkdirat(999, "x", 0755), EBADF);
	CHECK_SYSERR("fstatat.bad_dirfd", syscall(SYS_newfstatat, 999, "x", &st, 0), EBADF);
	CHECK_ERR("unlinkat.bad_dirfd", unlinkat(999, "x", 0), EBADF);
	CHECK_ERR("openat.negative_dirfd", openat(-5, "x", O_RDONLY), EBADF);
	char abs[128];
	snprintf(abs, sizeof abs, "%s/f", dir);
	fd = openat(999, abs, O_RDONLY);
	CHECKF("openat.absolute_ignores_dirfd", fd >= 0, "errno %s", utest_errname(errno));
	close(fd);
	fd = openat(AT_FDCWD, "f", O_RDONLY);
	CHECKF("openat.fdcwd", fd >= 0, "errno %s", utest_errname(errno));
	close(fd);
	int pfd = open("d", O_PATH | O_DIRECTORY);
	fd = openat(pfd, "new", O_RDONLY);
	CHECKF("openat.opath_dirfd", fd >= 0, "errno %s", utest_errname(errno));
	close(fd), close(pfd);
	CHECK_RET("unlinkat.dirfd", unlinkat(dfd, "new", 0), 0);
	close(dfd), close(ffd);
}

static void check_cwd(void)
{
	char cwd[256], want[256];
	mkdir("c1", 0755);
	CHECK_RET("chdir", chdir("c1"), 0);
	snprintf(want, sizeof want, "%s/c1", dir);
	CHECKF("getcwd", getcwd(cwd, sizeof cwd) && !strcmp(cwd, want), "cwd=%s want %s", cwd, want);
	snprintf(cwd, sizeof cwd, "%s/c2", dir);
	CHECK_RET("rename.cwd", rename(want, cwd), 0);
	snprintf(want, sizeof want, "%s/c2", dir);
	CHECKF("getcwd.after_rename", syscall(SYS_getcwd, cwd, sizeof cwd) > 0 && !strcmp(cwd, want),
	       "cwd=%s want %s", cwd, want);
	CHECK_RET("chdir.dotdot", chdir(".."), 0);
	CHECKF("getcwd.dotdot", getcwd(cwd, sizeof cwd) && !strcmp(cwd, dir), "cwd=%s", cwd);
	int dfd = open("c2", O_RDONLY | O_DIRECTORY), ffd = open("f", O_RDONLY);
	CHECK_RET("fchdir", fchdir(dfd), 0);
	CHECKF("fchdir.getcwd", getcwd(cwd, sizeof cwd) && !strcmp(cwd, want), "cwd=%s", cwd);
	CHECK_ERR("fchdir.file", fchdir(ffd), ENOTDIR);
	CHECK_ERR("fchdir.bad_fd", fchdir(999), EBADF);
	CHECK_ERR("chdir.file", chdir("../f"), ENOTDIR);
	CHECK_ERR("chdir.enoent", chdir("../nothere"), ENOENT);
	CHECK_ERR("chdir.empty", chdir(""), ENOENT);
	CHECK_RET("rmdir.cwd", rmdir(want), 0);
	CHECK_SYSERR("getcwd.removed", syscall(SYS_getcwd, cwd, sizeof cwd), ENOENT);
	CHECK_ERR("open.in_removed_cwd", open("x", O_RDWR | O_CREAT, 0644), ENOENT);
	CHECK_RET("chdir.root", chdir("/"), 0);
	CHECK_RET("chdir.root_dotdot", chdir(".."), 0);
	CHECKF("getcwd.root_dotdot", getcwd(cwd, sizeof cwd) && !strcmp(cwd, "/"), "cwd=%s", cwd);
	CHECKF("stat.root_dotdot", ino("/..") == ino("/") && ino("/../..") == ino("/"), "%lu vs %lu",
	       (unsigned long)ino("/.."), (unsigned long)ino("/"));
	CHECKF("stat.root_dotdot_tmp", ino("/../../tmp") == ino("/tmp") && ino("/tmp"), "%lu vs %lu",
	       (unsigned long)ino("/../../tmp"), (unsigned long)ino("/tmp"));
	chdir(dir);
	close(dfd), close(ffd);
}

static void check_resolution(void)
{
	char path[192];
	struct stat st;
	put("d/sub/k", "kk");
	ino_t ik = ino("d/sub/k");
	CHECKF("path.dot", ino("./d/./sub/./k") == ik, "ino %lu", (unsigned long)ino("./d/./sub/./k"));
	CHECKF("path.dotdot", ino("d/sub/../sub/k") == ik, "ino %lu", (unsigned long)ino("d/sub/../sub/k"));
	CHECKF("path.double_slash", ino("d//sub///k") == ik, "ino %lu", (unsigned long)ino("d//sub///k"));
	snprintf(path, sizeof path, "/%s//d/sub/k", dir);
	CHECKF("path.leading_slashes", ino(path) == ik, "ino %lu", (unsigned long)ino(path));
	CHECK_ERR("path.dotdot_through_file", stat("f/..", &st), ENOTDIR);
	CHECK_ERR("path.dot_after_file", stat("f/.", &st), ENOTDIR);
	CHECK_ERR("path.missing_then_dotdot", stat("nope/../f", &st), ENOENT);
	CHECK_ERR("open.trailing_slash_file", open("f/", O_RDONLY), ENOTDIR);
	CHECK_ERR("stat.trailing_slash_file", stat("f/", &st), ENOTDIR);
	CHECK_ERR("open.creat_trailing_slash", open("newf/", O_WRONLY | O_CREAT, 0644), EISDIR);
	CHECK_ERR("open.creat_slash_gone", access("newf", F_OK), ENOENT);
	int fd = open("d/", O_RDONLY);
	CHECKF("open.trailing_slash_dir", fd >= 0, "errno %s", utest_errname(errno));
	close(fd);
	CHECK_ERR("open.empty", open("", O_RDONLY), ENOENT);
	CHECK_ERR("stat.empty", stat("", &st), ENOENT);
	CHECK_ERR("open.enotdir_middle", open("f/x/y", O_RDONLY), ENOTDIR);
	unlink("d/sub/k");
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	umask(022);
	snprintf(dir, sizeof dir, "/tmp/t_names.%d", (int)getpid());
	if (!CHECK_RET("mkdir_tmp", mkdir(dir, 0755), 0) || !CHECK_RET("chdir_tmp", chdir(dir), 0))
		return utest_done();
	check_mkdir();
	check_remove();
	check_rename();
	check_links();
	check_symlinks();
	check_at();
	check_cwd();
	check_resolution();
	chdir("/");
	rmtree(dir);
	CHECK_ERR("cleanup", access(dir, F_OK), ENOENT);
	return utest_done();
}
