/*
 * disktest - writes a known set of files on a file system and checks it later, for the storage
 * stage of `cargo xtask test` (xtask/src/storagetests.rs): the files are written in one boot
 * and checked in the next, after a power-off, and after a crash.
 *
 *   disktest write DIR       create files, directories, links, symlinks, holes; set modes,
 *                            owners and times; rename, unlink, truncate; then sync
 *   disktest check DIR       verify every byte and attribute `write` left
 *   disktest crash DIR       write and fsync files, print "disktest: fsynced", then keep writing
 *                            other files until the machine is killed
 *   disktest aftercrash DIR  verify the files `crash` fsynced
 *   disktest fat DIR         a FAT subset of `write` (no links, modes or owners) + `check`
 *
 * Prints "disktest <mode> ok" on success, "disktest: FAIL ..." lines otherwise (exit 1).
 * Runs on Linux too.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

static int failures;
static char root[512];

#define FAIL(...) do { printf("disktest: FAIL " __VA_ARGS__); printf("\n"); failures++; } while (0)

static const char *p(const char *rel)
{
	static char buf[4][1024];
	static int n;
	char *b = buf[n++ % 4];
	snprintf(b, 1024, "%s/%s", root, rel);
	return b;
}

/* Byte `i` of the content of file `seed`. */
static unsigned char byte_at(unsigned seed, uint64_t i)
{
	uint64_t x = (i / 8 + 1) * 0x9e3779b97f4a7c15ull ^ ((uint64_t)seed << 32 | seed);
	x ^= x >> 31; x *= 0xbf58476d1ce4e5b9ull; x ^= x >> 29;
	return (unsigned char)(x >> ((i % 8) * 8));
}

static void fill(unsigned seed, uint64_t off, unsigned char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = byte_at(seed, off + i);
}

static unsigned char chunk[65536];

/* Writes `len` bytes of content `seed` at `off` of `rel` (created with `mode`). */
static int put(const char *rel, unsigned seed, uint64_t off, uint64_t len, int flags)
{
	int fd = open(p(rel), O_WRONLY | O_CREAT | flags, 0644);
	if (fd < 0) { FAIL("open %s: %s", rel, strerror(errno)); return -1; }
	for (uint64_t done = 0; done < len;) {
		size_t n = len - done < sizeof chunk ? (size_t)(len - done) : sizeof chunk;
		fill(seed, off + done, chunk, n);
		ssize_t w = pwrite(fd, chunk, n, (off_t)(off + done));
		if (w <= 0) { FAIL("write %s: %s", rel, strerror(errno)); close(fd); return -1; }
		done += (uint64_t)w;
	}
	return fd;
}

static void put_close(const char *rel, unsigned seed, uint64_t len)
{
	int fd = put(rel, seed, 0, len, O_TRUNC);
	if (fd >= 0) close(fd);
}

/* Checks that `rel` holds `len` bytes: content `seed` in [from, to), zeros elsewhere. */
static void expect_content(const char *rel, unsigned seed, uint64_t len, uint64_t from, uint64_t to)
{
	int fd = open(p(rel), O_RDONLY);
	if (fd < 0) { FAIL("open %s: %s", rel, strerror(errno)); return; }
	struct stat st;
	if (fstat(fd, &st) || (uint64_t)st.st_size != len) {
		FAIL("%s: size %lld, expected %llu", rel, (long long)st.st_size, (unsigned long long)len);
		close(fd);
		return;
	}
	static unsigned char want[65536];
	for (uint64_t done = 0; done < len;) {
		size_t n = len - done < sizeof chunk ? (size_t)(len - done) : sizeof chunk;
		ssize_t r = read(fd, chunk, n);
		if (r <= 0) { FAIL("read %s at %llu: %s", rel, (unsigned long long)done, r ? strerror(errno) : "EOF"); break; }
		for (ssize_t i = 0; i < r; i++) {
			uint64_t at = done + (uint64_t)i;
			want[i] = at >= from && at < to ? byte_at(seed, at) : 0;
		}
		if (memcmp(chunk, want, (size_t)r)) {
			for (ssize_t i = 0; i < r; i++)
				if (chunk[i] != want[i]) {
					FAIL("%s: byte %llu is %u, expected %u", rel, (unsigned long long)(done + i), chunk[i], want[i]);
					break;
				}
			break;
		}
		done += (uint64_t)r;
	}
	close(fd);
}

static void expect_file(const char *rel, unsigned seed, uint64_t len)
{
	expect_content(rel, seed, len, 0, len);
}

static void expect_attr(const char *rel, unsigned mode, unsigned uid, unsigned gid, unsigned nlink, long mtime)
{
	struct stat st;
	if (lstat(p(rel), &st)) { FAIL("lstat %s: %s", rel, strerror(errno)); return; }
	if ((st.st_mode & 07777) != mode) FAIL("%s: mode %o, expected %o", rel, st.st_mode & 07777, mode);
	if (st.st_uid != uid || st.st_gid != gid) FAIL("%s: owner %u:%u, expected %u:%u", rel, st.st_uid, st.st_gid, uid, gid);
	if (nlink && st.st_nlink != nlink) FAIL("%s: %lu links, expected %u", rel, (unsigned long)st.st_nlink, nlink);
	if (mtime && st.st_mtime != mtime) FAIL("%s: mtime %ld, expected %ld", rel, (long)st.st_mtime, mtime);
}

static void expect_absent(const char *rel)
{
	struct stat st;
	if (lstat(p(rel), &st) == 0 || errno != ENOENT) FAIL("%s still exists", rel);
}

static void expect_link(const char *rel, const char *target)
{
	char buf[512];
	ssize_t n = readlink(p(rel), buf, sizeof buf - 1);
	if (n < 0) { FAIL("readlink %s: %s", rel, strerror(errno)); return; }
	buf[n] = 0;
	if (strcmp(buf, target)) FAIL("%s -> %s, expected %s", rel, buf, target);
}

#define SLOW_TARGET "a/target/long/enough/not/to/fit/in/the/inode/itself/so/it/needs/a/data/block/of/its/own"
#define MANY 300
#define BIG (5u << 20)
#define HOLE_AT (10u << 20)
#define MTIME 1700000000L

static void do_write(int full)
{
	const uint64_t sizes[] = { 0, 1, 1023, 1024, 4096, 12 * 1024 + 1, 300 * 1024 };
	char name[64];
	mkdir(p("d1"), 0755);
	mkdir(p("d1/d2"), 0750);
	mkdir(p("d1/d2/d3"), 0700);
	for (unsigned i = 0; i < sizeof sizes / sizeof *sizes; i++) {
		snprintf(name, sizeof name, "d1/size%u", i);
		put_close(name, i, sizes[i]);
	}
	put_close("big", 100, BIG);
	int fd = put("append", 101, 0, 5000, O_TRUNC);
	if (fd >= 0) close(fd);
	fd = open(p("append"), O_WRONLY | O_APPEND);
	if (fd >= 0) {
		fill(101, 5000, chunk, 7000);
		if (write(fd, chunk, 7000) != 7000) FAIL("append: %s", strerror(errno));
		close(fd);
	}
	mkdir(p("many"), 0755);
	for (unsigned i = 0; i < MANY; i++) {
		snprintf(name, sizeof name, "many/file-with-a-longish-name-%04u", i);
		put_close(name, 1000 + i, i % 7 * 100);
	}
	for (unsigned i = 0; i < MANY; i += 3) {
		snprintf(name, sizeof name, "many/file-with-a-longish-name-%04u", i);
		if (unlink(p(name))) FAIL("unlink %s: %s", name, strerror(errno));
	}
	put_close("d1/moved-from", 200, 3000);
	if (rename(p("d1/moved-from"), p("d1/d2/d3/moved-to"))) FAIL("rename: %s", strerror(errno));
	mkdir(p("dir-from"), 0755);
	put_close("dir-from/inside", 201, 10);
	if (rename(p("dir-from"), p("d1/d2/dir-to"))) FAIL("rename dir: %s", strerror(errno));
	put_close("trunc-down", 300, 100000);
	if (truncate(p("trunc-down"), 5000)) FAIL("truncate: %s", strerror(errno));
	put_close("trunc-up", 301, 3000);
	if (truncate(p("trunc-up"), 70000)) FAIL("truncate up: %s", strerror(errno));
	fd = put("sparse", 302, HOLE_AT, 4096, O_TRUNC);
	if (fd >= 0) close(fd);
	put_close("gone", 303, 50000);
	if (unlink(p("gone"))) FAIL("unlink gone: %s", strerror(errno));
	mkdir(p("rmdir-me"), 0755);
	if (rmdir(p("rmdir-me"))) FAIL("rmdir: %s", strerror(errno));
	if (full) {
		if (link(p("d1/size4"), p("d1/d2/hardlink"))) FAIL("link: %s", strerror(errno));
		if (symlink("d1/size2", p("fast-link"))) FAIL("symlink: %s", strerror(errno));
		if (symlink(SLOW_TARGET, p("slow-link"))) FAIL("symlink slow: %s", strerror(errno));
		if (chmod(p("d1/size3"), 0604)) FAIL("chmod: %s", strerror(errno));
		if (chown(p("d1/size5"), 1000, 100)) FAIL("chown: %s", strerror(errno));
		struct timeval tv[2] = { { MTIME - 10, 0 }, { MTIME, 0 } };
		if (utimes(p("d1/size6"), tv)) FAIL("utimes: %s", strerror(errno));
	}
	sync();
}

static void do_check(int full)
{
	const uint64_t sizes[] = { 0, 1, 1023, 1024, 4096, 12 * 1024 + 1, 300 * 1024 };
	char name[64];
	for (unsigned i = 0; i < sizeof sizes / sizeof *sizes; i++) {
		snprintf(name, sizeof name, "d1/size%u", i);
		expect_file(name, i, sizes[i]);
	}
	expect_file("big", 100, BIG);
	expect_file("append", 101, 12000);
	for (unsigned i = 0; i < MANY; i++) {
		snprintf(name, sizeof name, "many/file-with-a-longish-name-%04u", i);
		if (i % 3 == 0)
			expect_absent(name);
		else
			expect_file(name, 1000 + i, i % 7 * 100);
	}
	expect_absent("d1/moved-from");
	expect_file("d1/d2/d3/moved-to", 200, 3000);
	expect_absent("dir-from");
	expect_file("d1/d2/dir-to/inside", 201, 10);
	expect_file("trunc-down", 300, 5000);
	expect_content("trunc-up", 301, 70000, 0, 3000);
	expect_content("sparse", 302, HOLE_AT + 4096, HOLE_AT, HOLE_AT + 4096);
	expect_absent("gone");
	expect_absent("rmdir-me");
	if (full) {
		struct stat st;
		if (stat(p("sparse"), &st) == 0 && st.st_blocks * 512 > 64 * 1024)
			FAIL("sparse: %lld blocks allocated, expected a hole", (long long)st.st_blocks);
		expect_attr("d1", 0755, 0, 0, 3, 0);
		expect_attr("d1/d2", 0750, 0, 0, 4, 0);
		expect_attr("d1/d2/d3", 0700, 0, 0, 2, 0);
		expect_attr("d1/size4", 0644, 0, 0, 2, 0);
		expect_file("d1/d2/hardlink", 4, 4096);
		expect_link("fast-link", "d1/size2");
		expect_link("slow-link", SLOW_TARGET);
		expect_file("fast-link", 2, 1023);
		expect_attr("d1/size3", 0604, 0, 0, 1, 0);
		expect_attr("d1/size5", 0644, 1000, 100, 1, 0);
		expect_attr("d1/size6", 0644, 0, 0, 1, MTIME);
	}
}

#define CRASH_FILES 8

static void do_crash(void)
{
	char name[64];
	mkdir(p("crash"), 0755);
	for (unsigned i = 0; i < CRASH_FILES; i++) {
		snprintf(name, sizeof name, "crash/synced%u", i);
		int fd = put(name, 500 + i, 0, 20000 + i * 40000, O_TRUNC);
		if (fd < 0) continue;
		if (fsync(fd)) FAIL("fsync %s: %s", name, strerror(errno));
		close(fd);
	}
	int dir = open(p("crash"), O_RDONLY | O_DIRECTORY);
	if (dir < 0 || fsync(dir)) FAIL("fsync crash/: %s", strerror(errno));
	if (dir >= 0) close(dir);
	printf("disktest: fsynced\n");
	fflush(stdout);
	for (unsigned round = 0;; round++) {
		snprintf(name, sizeof name, "crash/unsynced%u", round % 50);
		put_close(name, 600 + round, 100000);
		if (round % 50 == 49) {
			for (unsigned i = 0; i < 50; i++) {
				snprintf(name, sizeof name, "crash/unsynced%u", i);
				unlink(p(name));
			}
		}
	}
}

static void do_aftercrash(void)
{
	char name[64];
	for (unsigned i = 0; i < CRASH_FILES; i++) {
		snprintf(name, sizeof name, "crash/synced%u", i);
		expect_file(name, 500 + i, 20000 + i * 40000);
	}
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: disktest write|check|crash|aftercrash|fat DIR\n");
		return 2;
	}
	snprintf(root, sizeof root, "%s", argv[2]);
	const char *mode = argv[1];
	if (!strcmp(mode, "write"))
		do_write(1);
	else if (!strcmp(mode, "check"))
		do_check(1);
	else if (!strcmp(mode, "crash"))
		do_crash();
	else if (!strcmp(mode, "aftercrash"))
		do_aftercrash();
	else if (!strcmp(mode, "fat")) {
		do_write(0);
		do_check(0);
	} else if (!strcmp(mode, "fatcheck"))
		do_check(0);
	else {
		fprintf(stderr, "disktest: unknown mode %s\n", mode);
		return 2;
	}
	printf("disktest %s %s\n", mode, failures ? "FAILED" : "ok");
	return failures ? 1 : 0;
}
