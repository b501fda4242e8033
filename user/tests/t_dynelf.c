/*
 * t_dynelf - how execve starts a program, static or dynamically linked (PT_INTERP).
 *
 * Built three ways (user/tests/DYNAMIC): musl static (t_dynelf), glibc dynamic (t_dynelf.dyn,
 * started by /lib64/ld-linux-x86-64.so.2) and musl dynamic (t_dynelf.musl-dyn, started by
 * /lib/ld-musl-x86_64.so.1).  Each checks what the kernel handed its loader: the auxiliary
 * vector (AT_PHDR, AT_ENTRY, AT_BASE, AT_EXECFN, AT_RANDOM, AT_SECURE …), that the loader's own
 * ELF header sits at AT_BASE, that relro was write-protected (mprotect of the loader's
 * mappings), threads with TLS, dlopen/dlsym, and the errors of exec with a missing (ENOENT)
 * short (EIO) or non-ELF (ELIBBAD) interpreter.  The same binaries pass on Linux.
 */
#define UTEST_PROGRAM "t_dynelf"
#include "utest.h"

#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/auxv.h>
#include <sys/stat.h>

extern char _start[];

static const Elf64_Phdr *phdrs;
static unsigned long phnum, bias;

/* Finds the first program header of `type`, or NULL. */
static const Elf64_Phdr *find_phdr(unsigned type)
{
	for (unsigned long i = 0; i < phnum; i++)
		if (phdrs[i].p_type == type)
			return &phdrs[i];
	return NULL;
}

static void check_auxv(const char *self)
{
	CHECK_EQ("pagesz", getauxval(AT_PAGESZ), 4096);
	CHECK_EQ("phent", getauxval(AT_PHENT), sizeof(Elf64_Phdr));
	CHECK("random", getauxval(AT_RANDOM) != 0);
	CHECK_EQ("secure", getauxval(AT_SECURE), 0);
	CHECK("hwcap", getauxval(AT_HWCAP) != 0);
	const char *execfn = (const char *)getauxval(AT_EXECFN);
	CHECKF("execfn", execfn && strcmp(execfn, self) == 0, "AT_EXECFN %s, argv[0] %s", execfn ? execfn : "(null)", self);
	CHECKF("entry", getauxval(AT_ENTRY) == (unsigned long)_start, "AT_ENTRY %#lx, _start %p", getauxval(AT_ENTRY), (void *)_start);
	CHECK_EQ("uid", getauxval(AT_UID), getuid());
	CHECK_EQ("euid", getauxval(AT_EUID), geteuid());
}

/* The program headers at AT_PHDR describe this program: the load bias they give puts _start in
 * an executable PT_LOAD segment. */
static void check_phdrs(void)
{
	phdrs = (const Elf64_Phdr *)getauxval(AT_PHDR);
	phnum = getauxval(AT_PHNUM);
	const Elf64_Phdr *self = find_phdr(PT_PHDR);
	if (self)
		bias = (unsigned long)phdrs - self->p_vaddr;
	else
		bias = 0; /* ET_EXEC without PT_PHDR: addresses are absolute */
	int found = 0;
	for (unsigned long i = 0; i < phnum; i++) {
		const Elf64_Phdr *p = &phdrs[i];
		unsigned long start = bias + p->p_vaddr;
		if (p->p_type == PT_LOAD && (p->p_flags & PF_X) && (unsigned long)_start >= start && (unsigned long)_start < start + p->p_memsz)
			found = 1;
	}
	CHECKF("phdr", phdrs && phnum > 0 && found, "AT_PHDR %p, %lu headers, _start in an executable segment: %d", (void *)phdrs, phnum, found);
}

/* A dynamically linked program starts in its loader: AT_BASE is where the loader's ELF header
 * is mapped; a static one has AT_BASE 0. */
static int check_interp(void)
{
	const Elf64_Phdr *interp = find_phdr(PT_INTERP);
	unsigned long base = getauxval(AT_BASE);
	if (!interp) {
		CHECKF("base", base == 0, "static program with AT_BASE %#lx", base);
		return 0;
	}
	const char *path = (const char *)(bias + interp->p_vaddr);
	const unsigned char *ehdr = (const unsigned char *)base;
	CHECKF("base", base != 0 && (base & 4095) == 0 && memcmp(ehdr, ELFMAG, SELFMAG) == 0, "AT_BASE %#lx (interpreter %s)", base, path);
	/* The loader is not the program: its entry is elsewhere. */
	const Elf64_Ehdr *loader = (const Elf64_Ehdr *)base;
	CHECKF("loader_entry", base && base + loader->e_entry != (unsigned long)_start, "loader entry %#lx", base ? base + loader->e_entry : 0);
	return 1;
}

/* Relro: the loader made the whole pages of PT_GNU_RELRO read-only; a store there faults. */
static void check_relro(int dynamic)
{
	const Elf64_Phdr *relro = find_phdr(PT_GNU_RELRO);
	if (!dynamic || !relro) {
		utest_ok("relro");
		return;
	}
	unsigned long start = (bias + relro->p_vaddr) & ~4095UL;
	unsigned long end = (bias + relro->p_vaddr + relro->p_memsz) & ~4095UL;
	if (end <= start) {
		utest_ok("relro"); /* no whole page to protect */
		return;
	}
	pid_t pid = fork();
	if (pid == 0) {
		volatile char *p = (volatile char *)start;
		*p = *p;
		_exit(0);
	}
	utest_check_signaled("relro", utest_wait(pid), SIGSEGV);
}

static __thread int tls_value = 42;

static void *thread_main(void *arg)
{
	int ok = tls_value == 42;
	tls_value = (int)(long)arg;
	return (void *)(long)(ok && tls_value == (int)(long)arg);
}

static void check_threads(void)
{
	pthread_t t[3];
	int ok = 1;
	for (long i = 0; i < 3; i++)
		ok = ok && pthread_create(&t[i], NULL, thread_main, (void *)(i + 100)) == 0;
	for (int i = 0; i < 3; i++) {
		void *r = NULL;
		ok = ok && pthread_join(t[i], &r) == 0 && r == (void *)1;
	}
	CHECKF("threads_tls", ok && tls_value == 42, "threads or TLS wrong (main's tls %d)", tls_value);
}

/* dlopen: glibc loads libm.so.6 from its default directories; musl resolves symbols of the
 * program and its C library through dlopen(NULL). Static musl has no dynamic loader. */
static void check_dlopen(int dynamic)
{
	if (!dynamic) {
		utest_ok("dlopen");
		return;
	}
#ifdef __GLIBC__
	void *h = dlopen("libm.so.6", RTLD_NOW);
	double (*cosine)(double) = h ? (double (*)(double))dlsym(h, "cos") : NULL;
	CHECKF("dlopen", cosine && cosine(0.0) == 1.0, "dlopen libm.so.6: %s", h ? "no cos" : dlerror());
	if (h)
		dlclose(h);
#else
	void *h = dlopen(NULL, RTLD_NOW);
	size_t (*len)(const char *) = h ? (size_t (*)(const char *))dlsym(h, "strlen") : NULL;
	CHECKF("dlopen", len && len("four") == 4, "dlopen(NULL)/dlsym strlen failed");
#endif
}

/* A copy of this program whose PT_INTERP names another file of the same length. */
static int copy_with_interp(const char *self, const char *new_interp, const char *out)
{
	int fd = open(self, O_RDONLY);
	if (fd < 0)
		return -1;
	static char buf[4 << 20];
	ssize_t n = read(fd, buf, sizeof buf);
	close(fd);
	const Elf64_Phdr *interp = find_phdr(PT_INTERP);
	if (n <= 0 || !interp || interp->p_offset + strlen(new_interp) + 1 > (size_t)n)
		return -1;
	memcpy(buf + interp->p_offset, new_interp, strlen(new_interp) + 1);
	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	if (fd < 0)
		return -1;
	int ok = write(fd, buf, n) == n;
	close(fd);
	return ok ? 0 : -1;
}

static int exec_errno(const char *path)
{
	pid_t pid = fork();
	if (pid == 0) {
		char *argv[] = {(char *)path, NULL};
		execv(path, argv);
		_exit(errno);
	}
	int st = utest_wait(pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void check_bad_interpreters(const char *self, int dynamic)
{
	if (!dynamic) {
		utest_ok("interp_missing");
		utest_ok("interp_short");
		utest_ok("interp_not_elf");
		return;
	}
	const Elf64_Phdr *interp = find_phdr(PT_INTERP);
	size_t len = strlen((const char *)(bias + interp->p_vaddr));
	char name[256] = "/tmp/";
	for (size_t i = 5; i < len && i < sizeof name - 1; i++)
		name[i] = 'q';
	name[len] = 0;
	unlink(name);
	const char *prog = "/tmp/t_dynelf-badinterp";
	int made = copy_with_interp(self, name, prog);
	int e = made == 0 ? exec_errno(prog) : -1;
	CHECKF("interp_missing", e == ENOENT, "copy %d, exec errno %d (%s)", made, e, e > 0 ? utest_errname(e) : "-");
	/* Shorter than an ELF header: Linux's read of the header fails (EIO). */
	int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	int w = fd >= 0 && write(fd, "#!not an elf file\n", 18) == 18;
	if (fd >= 0)
		close(fd);
	e = made == 0 && w ? exec_errno(prog) : -1;
	CHECKF("interp_short", e == EIO, "exec errno %d (%s)", e, e > 0 ? utest_errname(e) : "-");
	/* A whole header's worth of bytes that are not ELF: ELIBBAD. */
	static char junk[256];
	memset(junk, 'j', sizeof junk);
	fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	w = fd >= 0 && write(fd, junk, sizeof junk) == (ssize_t)sizeof junk;
	if (fd >= 0)
		close(fd);
	e = made == 0 && w ? exec_errno(prog) : -1;
	CHECKF("interp_not_elf", e == ELIBBAD, "exec errno %d (%s)", e, e > 0 ? utest_errname(e) : "-");
	unlink(name);
	unlink(prog);
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	check_auxv(argv[0]);
	check_phdrs();
	int dynamic = check_interp();
	check_relro(dynamic);
	check_threads();
	check_dlopen(dynamic);
	check_bad_interpreters(argv[0], dynamic);
	return utest_done();
}
