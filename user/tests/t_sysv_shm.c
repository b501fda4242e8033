/*
 * t_sysv_shm - System V shared memory: shmget's rules (size 0 EINVAL, larger than an existing
 * segment EINVAL, IPC_EXCL, ENOENT), shmat (page-rounded sizes, SHM_RDONLY faults on a store,
 * SHM_RND, EINVAL for an unaligned address or an overlap without SHM_REMAP), shmdt (EINVAL
 * where nothing is attached), shm_nattch/shm_lpid/shm_cpid/shm_atime/shm_dtime, IPC_RMID
 * that destroys the segment at the last detach (SHM_DEST, key gone at once), attachments
 * inherited by fork and dropped at exec and exit, sharing between processes by key, IPC_SET,
 * IPC_INFO/SHM_INFO/SHM_STAT, SHM_LOCK, and permission checks for another user.
 */
#define UTEST_PROGRAM "t_sysv_shm"
#include "utest.h"

#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>

static int child_status(pid_t pid)
{
	int st = 0;
	waitpid(pid, &st, 0);
	if (WIFSIGNALED(st))
		return 200 + WTERMSIG(st);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static long nattch(int id)
{
	struct shmid_ds ds;
	if (shmctl(id, IPC_STAT, &ds) != 0)
		return -1;
	return (long)ds.shm_nattch;
}

int main(int argc, char **argv)
{
	if (argc > 2 && strcmp(argv[1], "--exec-child") == 0) {
		/* Re-executed: the attachments of the old image are gone; wait for the parent. */
		char ch;
		read(atoi(argv[2]), &ch, 1);
		return 0;
	}
	utest_init(argc, argv);
	key_t key = 0x5e172000 + (getpid() & 0xffff);
	shmctl(shmget(key, 1, 0), IPC_RMID, NULL);

	CHECK_ERR("get.enoent", shmget(key, 4096, 0600), ENOENT);
	CHECK_ERR("get.size0", shmget(key, 0, IPC_CREAT | 0600), EINVAL);
	int id = shmget(key, 10000, IPC_CREAT | 0600);
	CHECK("get.create", id >= 0);
	CHECK_EQ("get.same", shmget(key, 5000, 0), id);
	CHECK_EQ("get.size0_existing", shmget(key, 0, 0), id);
	CHECK_ERR("get.bigger", shmget(key, 10001, 0), EINVAL);
	CHECK_ERR("get.excl", shmget(key, 10000, IPC_CREAT | IPC_EXCL | 0600), EEXIST);

	struct shmid_ds ds;
	CHECK_OK("stat", shmctl(id, IPC_STAT, &ds));
	CHECK("stat.fields", ds.shm_segsz == 10000 && ds.shm_nattch == 0 && ds.shm_cpid == getpid() &&
		(ds.shm_perm.mode & 0777) == 0600 && ds.shm_perm.__key == key && ds.shm_atime == 0);

	/* attach: the whole last page is there, zero-filled */
	char *a = shmat(id, NULL, 0);
	CHECK("attach", a != (void *)-1);
	CHECK("attach.zero", a[0] == 0 && a[12287] == 0);
	strcpy(a, "hello");
	a[12287] = 7;
	CHECK_EQ("nattch.1", nattch(id), 1);
	char *b = shmat(id, NULL, SHM_RDONLY);
	CHECK("attach.second", b != (void *)-1 && b != a);
	CHECK("attach.shared", strcmp(b, "hello") == 0 && b[12287] == 7);
	CHECK_EQ("nattch.2", nattch(id), 2);
	CHECK_OK("stat.after_attach", shmctl(id, IPC_STAT, &ds));
	CHECK("stat.atime_lpid", ds.shm_atime > 0 && ds.shm_lpid == getpid());

	/* read-only attachments fault on a store */
	pid_t pid = fork();
	if (pid == 0) {
		b[0] = 'x';
		_exit(0);
	}
	CHECK_EQ("rdonly.segv", child_status(pid), 200 + SIGSEGV);
	CHECK_OK("detach.second", shmdt(b));
	CHECK_EQ("nattch.back", nattch(id), 1);
	CHECK_ERR("detach.again", shmdt(b), EINVAL);
	CHECK_ERR("detach.unaligned", shmdt(a + 1), EINVAL);
	CHECK_ERR("detach.inside", shmdt(a + 4096), EINVAL);
	CHECK_OK("stat.dtime", shmctl(id, IPC_STAT, &ds));
	CHECK("stat.dtime.value", ds.shm_dtime > 0);

	/* addresses */
	CHECK("at.unaligned", shmat(id, b + 1, 0) == (void *)-1 && errno == EINVAL);
	char *c = shmat(id, b + 1, SHM_RND);
	CHECK("at.rnd", c == b);
	CHECK("at.rnd.data", c != (void *)-1 && strcmp(c, "hello") == 0);
	CHECK("at.overlap", shmat(id, c, 0) == (void *)-1 && errno == EINVAL);
	char *d = shmat(id, c, SHM_REMAP);
	CHECK("at.remap", d == c);
	CHECK_OK("at.remap.detach", shmdt(d));
	CHECK("at.badid", shmat(id + 1000 * 32768, NULL, 0) == (void *)-1 && errno == EINVAL);
	CHECK("at.negid", shmat(-1, NULL, 0) == (void *)-1 && errno == EINVAL);

	/* fork inherits, exit drops */
	int p[2], back[2];
	CHECK_OK("pipe", pipe(p) | pipe(back));
	pid = fork();
	if (pid == 0) {
		char ch;
		a[100] = 'c';
		write(back[1], "r", 1);
		read(p[0], &ch, 1);
		_exit(0);
	}
	char ch;
	read(back[0], &ch, 1);
	CHECK_EQ("fork.nattch", nattch(id), 2);
	CHECK_EQ("fork.store_seen", a[100], 'c');
	write(p[1], "x", 1);
	CHECK_EQ("fork.child", child_status(pid), 0);
	CHECK_EQ("exit.nattch", nattch(id), 1);
	close(p[0]);
	close(p[1]);
	close(back[0]);
	close(back[1]);

	/* exec drops attachments */
	CHECK_OK("exec.pipe", pipe(p));
	pid = fork();
	if (pid == 0) {
		char fdarg[16];
		snprintf(fdarg, sizeof fdarg, "%d", p[0]);
		execl(argv[0], argv[0], "--exec-child", fdarg, (char *)NULL);
		_exit(99);
	}
	long during = -1;
	for (int i = 0; i < 200 && during != 1; i++) {
		usleep(5000);
		during = nattch(id);
	}
	CHECK_EQ("exec.nattch", during, 1);
	write(p[1], "x", 1);
	CHECK_EQ("exec.child", child_status(pid), 0);
	close(p[0]);
	close(p[1]);

	/* another process attaches by key */
	pid = fork();
	if (pid == 0) {
		if (shmdt(a) != 0)
			_exit(1);
		int other = shmget(key, 0, 0);
		char *e = shmat(other, NULL, 0);
		if (e == (void *)-1)
			_exit(2);
		if (strcmp(e, "hello") != 0)
			_exit(3);
		strcpy(e + 200, "from child");
		_exit(0);
	}
	CHECK_EQ("key.child", child_status(pid), 0);
	CHECK("key.data", strcmp(a + 200, "from child") == 0);

	/* set, info, stat by index, lock */
	ds.shm_perm.mode = 0640;
	CHECK_OK("set", shmctl(id, IPC_SET, &ds));
	CHECK_OK("set.stat", shmctl(id, IPC_STAT, &ds));
	CHECK_EQ("set.mode", ds.shm_perm.mode & 0777, 0640);
	struct shminfo si;
	int max = shmctl(0, IPC_INFO, (struct shmid_ds *)&si);
	CHECK("info", max >= 0 && si.shmmni > 0 && si.shmmax > 0 && si.shmmin == 1);
	struct shm_info su;
	max = shmctl(0, SHM_INFO, (struct shmid_ds *)&su);
	CHECK("info.used", max >= 0 && su.used_ids >= 1 && su.shm_tot >= 3);
	int found = 0;
	for (int i = 0; i <= max; i++)
		if (shmctl(i, SHM_STAT, &ds) == id)
			found = 1;
	CHECK("shm_stat.finds_id", found);
	CHECK_OK("lock", shmctl(id, SHM_LOCK, NULL));
	CHECK_OK("lock.stat", shmctl(id, IPC_STAT, &ds));
	CHECK("lock.flag", ds.shm_perm.mode & SHM_LOCKED);
	CHECK_OK("unlock", shmctl(id, SHM_UNLOCK, NULL));
	CHECK_ERR("ctl.badcmd", shmctl(id, 99, &ds), EINVAL);
	CHECK_ERR("ctl.efault", shmctl(id, IPC_STAT, (void *)8), EFAULT);

	/* another user */
	pid = fork();
	if (pid == 0) {
		if (setgid(1000) || setuid(1000))
			_exit(90);
		if (shmat(id, NULL, 0) != (void *)-1 || errno != EACCES)
			_exit(1);
		if (shmat(id, NULL, SHM_RDONLY) != (void *)-1 || errno != EACCES)
			_exit(2);
		if (shmctl(id, IPC_RMID, NULL) != -1 || errno != EPERM)
			_exit(3);
		if (shmget(key, 0, 0) != id)
			_exit(4);
		_exit(0);
	}
	CHECK_EQ("perm.other_user", child_status(pid), 0);

	/* IPC_RMID while attached: gone at the last detach */
	CHECK_OK("rmid", shmctl(id, IPC_RMID, NULL));
	CHECK_ERR("rmid.key_gone", shmget(key, 0, 0), ENOENT);
	CHECK_OK("rmid.stat", shmctl(id, IPC_STAT, &ds));
	CHECK("rmid.dest", (ds.shm_perm.mode & SHM_DEST) && ds.shm_perm.__key == IPC_PRIVATE && ds.shm_nattch == 1);
	CHECK("rmid.still_mapped", strcmp(a, "hello") == 0);
	CHECK_OK("rmid.detach", shmdt(a));
	CHECK_ERR("rmid.destroyed", shmctl(id, IPC_STAT, &ds), EINVAL);

	/* a private segment removed with no attachment goes at once */
	int priv = shmget(IPC_PRIVATE, 1, 0600);
	CHECK("private", priv >= 0);
	CHECK_OK("private.rmid", shmctl(priv, IPC_RMID, NULL));
	CHECK("private.gone", shmat(priv, NULL, 0) == (void *)-1 && errno == EINVAL);
	return utest_done();
}
