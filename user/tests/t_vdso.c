/*
 * t_vdso - the vDSO: AT_SYSINFO_EHDR names an ELF shared object whose dynamic symbols
 * (looked up by name and version LINUX_2.6, through DT_HASH or DT_GNU_HASH, as libcs do)
 * include __vdso_clock_gettime, __vdso_gettimeofday, __vdso_time, __vdso_getcpu and
 * __vdso_clock_getres and their unprefixed aliases; each gives what the system call gives
 * (times interleaved vDSO / syscall / vDSO never go backwards, getcpu agrees with the getcpu
 * syscall, clock_getres is equal), clocks the vDSO does not compute (CPU time, bad ids) come
 * back as the syscall's result; /proc/self/maps shows [vdso] and [vvar]; a fork child and an
 * exec'd program have it too. Passes on Linux as well (user/host-check.sh).
 */
#define UTEST_PROGRAM "t_vdso"
#include "utest.h"

#include <elf.h>
#include <sched.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/utsname.h>
#include <sys/time.h>

#define NS 1000000000LL

typedef int (*cgt_fn)(clockid_t, struct timespec *);
typedef int (*gtod_fn)(struct timeval *, void *);
typedef time_t (*time_fn)(time_t *);
typedef int (*getcpu_fn)(unsigned *, unsigned *, void *);

struct vdso {
	uintptr_t load_offset; /* added to symbol values */
	const Elf64_Sym *syms;
	const char *strings;
	const Elf64_Word *hash;
	const uint32_t *gnu_hash;
	const Elf64_Versym *versym;
	const Elf64_Verdef *verdef;
	size_t nsyms;
};

static size_t gnu_hash_count(const uint32_t *gh)
{
	uint32_t nbuckets = gh[0], symoffset = gh[1], bloom_size = gh[2];
	const uint32_t *buckets = gh + 4 + bloom_size * 2; /* 64-bit bloom words */
	const uint32_t *chain = buckets + nbuckets;
	uint32_t last = 0;
	for (uint32_t i = 0; i < nbuckets; i++)
		if (buckets[i] > last)
			last = buckets[i];
	if (last < symoffset)
		return symoffset;
	while (!(chain[last - symoffset] & 1))
		last++;
	return last + 1;
}

static int vdso_open(struct vdso *v, uintptr_t base)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)base;
	memset(v, 0, sizeof *v);
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_type != ET_DYN)
		return 0;
	const Elf64_Phdr *ph = (const Elf64_Phdr *)(base + eh->e_phoff);
	const Elf64_Dyn *dyn = NULL;
	int have_load = 0;
	for (int i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type == PT_LOAD && !have_load) {
			v->load_offset = base + ph[i].p_offset - ph[i].p_vaddr;
			have_load = 1;
		} else if (ph[i].p_type == PT_DYNAMIC) {
			dyn = (const Elf64_Dyn *)(base + ph[i].p_offset);
		}
	}
	if (!have_load || !dyn)
		return 0;
	for (; dyn->d_tag != DT_NULL; dyn++) {
		uintptr_t p = v->load_offset + dyn->d_un.d_ptr;
		switch (dyn->d_tag) {
		case DT_SYMTAB: v->syms = (const Elf64_Sym *)p; break;
		case DT_STRTAB: v->strings = (const char *)p; break;
		case DT_HASH: v->hash = (const Elf64_Word *)p; break;
		case DT_GNU_HASH: v->gnu_hash = (const uint32_t *)p; break;
		case DT_VERSYM: v->versym = (const Elf64_Versym *)p; break;
		case DT_VERDEF: v->verdef = (const Elf64_Verdef *)p; break;
		}
	}
	if (!v->syms || !v->strings || (!v->hash && !v->gnu_hash))
		return 0;
	v->nsyms = v->hash ? v->hash[1] : gnu_hash_count(v->gnu_hash);
	return 1;
}

/* Whether version index `index` is named `name` in the version definitions. */
static int version_is(const struct vdso *v, unsigned index, const char *name)
{
	const Elf64_Verdef *d = v->verdef;
	for (;;) {
		if (!(d->vd_flags & VER_FLG_BASE) && (d->vd_ndx & 0x7fff) == index) {
			const Elf64_Verdaux *aux = (const Elf64_Verdaux *)((const char *)d + d->vd_aux);
			return strcmp(v->strings + aux->vda_name, name) == 0;
		}
		if (!d->vd_next)
			return 0;
		d = (const Elf64_Verdef *)((const char *)d + d->vd_next);
	}
}

static void *vdso_sym(const struct vdso *v, const char *name, const char *version)
{
	for (size_t i = 0; i < v->nsyms; i++) {
		const Elf64_Sym *s = &v->syms[i];
		int type = ELF64_ST_TYPE(s->st_info), bind = ELF64_ST_BIND(s->st_info);
		if (type != STT_FUNC && type != STT_NOTYPE)
			continue;
		if (bind != STB_GLOBAL && bind != STB_WEAK)
			continue;
		if (s->st_shndx == SHN_UNDEF || strcmp(v->strings + s->st_name, name) != 0)
			continue;
		if (v->versym && v->verdef && !version_is(v, v->versym[i] & 0x7fff, version))
			continue;
		return (void *)(v->load_offset + s->st_value);
	}
	return NULL;
}

static int64_t ts_ns(const struct timespec *t)
{
	return (int64_t)t->tv_sec * NS + t->tv_nsec;
}

static cgt_fn cgt;

/* vDSO, syscall, vDSO for `clk`, `rounds` times: none may go backwards. */
static void check_interleaved(clockid_t clk, const char *clock_name, int rounds)
{
	char name[64];
	snprintf(name, sizeof name, "interleave.%s", clock_name);
	for (int i = 0; i < rounds; i++) {
		struct timespec a, b, c;
		int ra = cgt(clk, &a);
		long rb = syscall(SYS_clock_gettime, clk, &b);
		int rc = cgt(clk, &c);
		if (ra || rb || rc || ts_ns(&a) > ts_ns(&b) || ts_ns(&b) > ts_ns(&c) || a.tv_nsec >= NS || c.tv_nsec >= NS) {
			CHECKF(name, 0, "round %d: rc %d/%ld/%d vdso %lld.%09ld syscall %lld.%09ld vdso %lld.%09ld", i, ra, rb, rc,
			       (long long)a.tv_sec, a.tv_nsec, (long long)b.tv_sec, b.tv_nsec, (long long)c.tv_sec, c.tv_nsec);
			return;
		}
	}
	CHECK(name, 1);
}

static uintptr_t vvar_start; /* where maps_show_vdso saw [vvar] */

/* Whether the maps file shows [vdso] at `base` and a [vvar] line; 0 if unreadable. */
static int maps_show_vdso(uintptr_t base, int *vvar)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int vdso = 0;
	*vvar = 0;
	if (!f)
		return 0;
	while (fgets(line, sizeof line, f)) {
		unsigned long start = strtoul(line, NULL, 16);
		if (strstr(line, "[vdso]") && start == base)
			vdso = 1;
		if (strstr(line, "[vvar]")) {
			*vvar = 1;
			vvar_start = start;
		}
	}
	fclose(f);
	return vdso;
}

/* The checks a fork child or an exec'd program makes: exit 0 when all pass. */
static int quick_check(void)
{
	uintptr_t base = getauxval(AT_SYSINFO_EHDR);
	struct vdso v;
	int vvar;
	if (!base || !vdso_open(&v, base))
		return 1;
	cgt_fn f = (cgt_fn)vdso_sym(&v, "__vdso_clock_gettime", "LINUX_2.6");
	struct timespec a, b;
	if (!f || f(CLOCK_MONOTONIC, &a) != 0 || syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &b) != 0 || ts_ns(&a) > ts_ns(&b))
		return 2;
	if (!maps_show_vdso(base, &vvar) || !vvar)
		return 3;
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--exec-child") == 0)
		return quick_check();
	utest_init(argc, argv);

	uintptr_t base = getauxval(AT_SYSINFO_EHDR);
	if (!CHECKF("auxv.sysinfo_ehdr", base != 0, "no AT_SYSINFO_EHDR"))
		return utest_done();
	struct vdso v;
	if (!CHECK("elf.parse", vdso_open(&v, base)))
		return utest_done();
	CHECK("elf.versioned", v.versym && v.verdef);

	static const char *const names[] = { "clock_gettime", "gettimeofday", "time", "getcpu", "clock_getres" };
	void *prefixed[5];
	char name[96], sym[64];
	for (int i = 0; i < 5; i++) {
		snprintf(sym, sizeof sym, "__vdso_%s", names[i]);
		prefixed[i] = vdso_sym(&v, sym, "LINUX_2.6");
		snprintf(name, sizeof name, "sym.%s", sym);
		CHECK(name, prefixed[i] != NULL);
		snprintf(name, sizeof name, "sym.%s", names[i]);
		void *alias = vdso_sym(&v, names[i], "LINUX_2.6");
		CHECKF(name, alias != NULL && alias == prefixed[i], "%p vs %p", alias, prefixed[i]);
	}
	CHECK("sym.wrong_version", vdso_sym(&v, "__vdso_clock_gettime", "LINUX_9.9") == NULL);
	if (!prefixed[0] || !prefixed[1] || !prefixed[2] || !prefixed[3] || !prefixed[4])
		return utest_done();
	cgt = (cgt_fn)prefixed[0];
	gtod_fn gtod = (gtod_fn)prefixed[1];
	time_fn vtime = (time_fn)prefixed[2];
	getcpu_fn vgetcpu = (getcpu_fn)prefixed[3];
	cgt_fn getres = (cgt_fn)prefixed[4];

	/* Clocks the vDSO computes, and interleaving with the syscall. */
	static const struct { clockid_t id; const char *name; } clocks[] = {
		{ CLOCK_REALTIME, "realtime" }, { CLOCK_MONOTONIC, "monotonic" }, { CLOCK_BOOTTIME, "boottime" },
		{ CLOCK_MONOTONIC_RAW, "monotonic_raw" }, { CLOCK_REALTIME_COARSE, "realtime_coarse" },
		{ CLOCK_MONOTONIC_COARSE, "monotonic_coarse" },
	};
	for (unsigned i = 0; i < sizeof clocks / sizeof *clocks; i++) {
		check_interleaved(clocks[i].id, clocks[i].name, 2000);
		struct timespec r1 = { -1, -1 }, r2 = { -2, -2 };
		int a = getres(clocks[i].id, &r1);
		long b = syscall(SYS_clock_getres, clocks[i].id, &r2);
		snprintf(name, sizeof name, "getres.%s", clocks[i].name);
		CHECKF(name, a == 0 && b == 0 && r1.tv_sec == r2.tv_sec && r1.tv_nsec == r2.tv_nsec,
		       "rc %d/%ld vdso %lld.%09ld syscall %lld.%09ld", a, b, (long long)r1.tv_sec, r1.tv_nsec,
		       (long long)r2.tv_sec, r2.tv_nsec);
	}
	CHECK("getres.null", getres(CLOCK_MONOTONIC, NULL) == 0);

	/* Clocks passed on to the kernel. */
	struct timespec t;
	CHECK("fallback.process_cputime", cgt(CLOCK_PROCESS_CPUTIME_ID, &t) == 0 && t.tv_nsec < NS);
	CHECK("fallback.thread_cputime", cgt(CLOCK_THREAD_CPUTIME_ID, &t) == 0 && t.tv_nsec < NS);
	CHECK_EQ("fallback.bad_clock", cgt(999, &t), -EINVAL);
	CHECK_EQ("fallback.getres_bad_clock", getres(999, &t), -EINVAL);

	/* gettimeofday and time against the syscalls. */
	int ok = 1;
	for (int i = 0; i < 1000 && ok; i++) {
		struct timeval a, c;
		struct timespec b;
		int ra = gtod(&a, NULL);
		syscall(SYS_clock_gettime, CLOCK_REALTIME, &b);
		int rc = gtod(&c, NULL);
		int64_t au = (int64_t)a.tv_sec * 1000000 + a.tv_usec, bu = ts_ns(&b) / 1000, cu = (int64_t)c.tv_sec * 1000000 + c.tv_usec;
		ok = ra == 0 && rc == 0 && au <= bu && bu <= cu && a.tv_usec < 1000000;
		if (!ok)
			CHECKF("gettimeofday.interleave", 0, "round %d: %lld <= %lld <= %lld", i, (long long)au, (long long)bu, (long long)cu);
	}
	if (ok)
		CHECK("gettimeofday.interleave", 1);
	struct timezone tz = { 123, 456 };
	struct timeval tv;
	CHECK("gettimeofday.tz", gtod(&tv, &tz) == 0 && tz.tz_minuteswest == 0 && tz.tz_dsttime == 0);
	CHECK("gettimeofday.null", gtod(NULL, NULL) == 0);
	time_t t1 = vtime(NULL), t2 = (time_t)syscall(SYS_time, NULL), t3, t4 = vtime(&t3);
	CHECKF("time.interleave", t1 <= t2 && t2 <= t4 && t3 == t4 && t1 > 0, "%lld %lld %lld %lld",
	       (long long)t1, (long long)t2, (long long)t3, (long long)t4);

	/* getcpu: the vDSO and the syscall name the same CPU (the thread may move between the
	 * two calls: one agreement in a few tries is enough). */
	long ncpu = sysconf(_SC_NPROCESSORS_CONF);
	int agree = 0, sane = 1;
	for (int i = 0; i < 100 && !agree; i++) {
		unsigned c1 = 9999, n1 = 9999, c2 = 8888, n2 = 8888;
		int r1 = vgetcpu(&c1, &n1, NULL);
		long r2 = syscall(SYS_getcpu, &c2, &n2, NULL);
		sane = sane && r1 == 0 && r2 == 0 && (long)c1 < ncpu && n1 == n2;
		agree = c1 == c2;
	}
	CHECK("getcpu.sane", sane);
	CHECK("getcpu.agrees", agree);
	unsigned only = 9999;
	CHECK("getcpu.null_node", vgetcpu(&only, NULL, NULL) == 0 && (long)only < ncpu);
	CHECK("getcpu.libc", sched_getcpu() >= 0 && sched_getcpu() < ncpu);

	/* libc (musl or glibc) uses the vDSO itself: it agrees with it. */
	struct timespec l, m;
	clock_gettime(CLOCK_MONOTONIC, &l);
	cgt(CLOCK_MONOTONIC, &m);
	CHECK("libc.monotonic", ts_ns(&l) <= ts_ns(&m));

	/* The maps file, fork and exec. Exo-OS's test runner has no /proc mounted: mount it for
	 * the time of these checks (as t_proc does). */
	int vvar, mounted = 0;
	struct utsname u;
	FILE *probe = fopen("/proc/self/maps", "r");
	if (probe)
		fclose(probe);
	else if (uname(&u) == 0 && strstr(u.release, "exo"))
		mounted = CHECK_OK("mount.proc", mount("proc", "/proc", "proc", 0, NULL));
	if (!CHECK("maps.vdso", maps_show_vdso(base, &vvar)) | !CHECK("maps.vvar", vvar)) {
		FILE *f = fopen("/proc/self/maps", "r");
		char line[512];
		utest_printf("# AT_SYSINFO_EHDR %#lx, /proc/self/maps%s:\n", (unsigned long)base, f ? "" : " unreadable");
		while (f && fgets(line, sizeof line, f))
			utest_printf("# %s", line);
		if (f)
			fclose(f);
	}
	/* The data page may not become writable; the code may (a debugger's breakpoint; Linux
	 * 6.15+ may seal it instead: mprotect fails), and a write then changes only the writer's
	 * copy. */
	if (vvar_start)
		CHECK_ERR("mprotect.vvar_write", mprotect((void *)vvar_start, 4096, PROT_READ | PROT_WRITE), EACCES);
	volatile unsigned char *pad = (volatile unsigned char *)base + EI_PAD + 1;
	unsigned char before = *pad;
	pid_t pid = fork();
	if (pid == 0) {
		if (mprotect((void *)base, 4096, PROT_READ | PROT_WRITE | PROT_EXEC) != 0)
			_exit(0); /* sealed */
		*pad = (unsigned char)(before + 1);
		_exit(*pad == (unsigned char)(before + 1) ? 0 : 11);
	}
	utest_check_exit("mprotect.vdso_write_in_child", utest_wait(pid), 0);
	CHECK("mprotect.parent_copy_untouched", *pad == before);
	pid = fork();
	if (pid == 0)
		_exit(getauxval(AT_SYSINFO_EHDR) == base ? quick_check() : 9);
	utest_check_exit("fork.child_has_vdso", utest_wait(pid), 0);
	pid = fork();
	if (pid == 0) {
		char *args[] = { argv[0], "--exec-child", NULL };
		execv(utest_path("/bin/tests/t_vdso"), args);
		_exit(8);
	}
	utest_check_exit("exec.has_vdso", utest_wait(pid), 0);
	if (mounted)
		CHECK_OK("umount.proc", umount("/proc"));
	return utest_done();
}
