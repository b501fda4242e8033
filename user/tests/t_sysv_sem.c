/*
 * t_sysv_sem - System V semaphores: semget's rules (nsems limits, IPC_EXCL, ENOENT),
 * semctl's GETVAL/SETVAL/GETALL/SETALL/GETPID/GETNCNT/GETZCNT/IPC_STAT/IPC_SET/IPC_INFO/
 * SEM_INFO/SEM_STAT with ERANGE at SEMVMX, semop's all-or-nothing operations, IPC_NOWAIT
 * (EAGAIN), E2BIG past SEMOPM, EFBIG for a number out of range, semtimedop's timeout
 * (EAGAIN) and bad timespec (EINVAL), SEM_UNDO applied when a process exits, and across fork:
 * a blocked semop woken by another process, EIDRM on removal, EINTR after a handler.
 */
#define UTEST_PROGRAM "t_sysv_sem"
#include "utest.h"

#include <sys/ipc.h>
#include <sys/sem.h>

union semun {
	int val;
	struct semid_ds *buf;
	unsigned short *array;
	struct seminfo *info;
};

static int op1(int id, int num, int op, int flags)
{
	struct sembuf b = { (unsigned short)num, (short)op, (short)flags };
	return semop(id, &b, 1);
}

static int val(int id, int num)
{
	return semctl(id, num, GETVAL);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
}

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_usr1(int sig)
{
	(void)sig;
}

/* A child blocked in semop(id, num, op): exits 0 on success or with the errno. */
static pid_t blocked(int id, int num, int op)
{
	pid_t pid = fork();
	if (pid == 0) {
		struct sigaction sa = { 0 };
		sa.sa_handler = on_usr1;
		sa.sa_flags = SA_RESTART;
		sigaction(SIGUSR1, &sa, NULL);
		_exit(op1(id, num, op, 0) == 0 ? 0 : errno);
	}
	return pid;
}

static int child_status(pid_t pid)
{
	int st = 0;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	key_t key = 0x5e171000 + (getpid() & 0xffff);
	semctl(semget(key, 0, 0), 0, IPC_RMID);

	CHECK_ERR("get.enoent", semget(key, 1, 0600), ENOENT);
	CHECK_ERR("get.zero", semget(key, 0, IPC_CREAT | 0600), EINVAL);
	CHECK_ERR("get.too_many", semget(key, 32001, IPC_CREAT | 0600), EINVAL);
	CHECK_ERR("get.negative", semget(key, -1, IPC_CREAT | 0600), EINVAL);
	int id = semget(key, 3, IPC_CREAT | 0600);
	CHECK("get.create", id >= 0);
	CHECK_EQ("get.same", semget(key, 2, 0), id);
	CHECK_EQ("get.any_nsems", semget(key, 0, 0), id);
	CHECK_ERR("get.more_nsems", semget(key, 4, 0), EINVAL);
	CHECK_ERR("get.excl", semget(key, 3, IPC_CREAT | IPC_EXCL | 0600), EEXIST);

	/* values */
	CHECK_EQ("getval.zero", val(id, 0), 0);
	CHECK_OK("setval", semctl(id, 1, SETVAL, (union semun){ .val = 5 }));
	CHECK_EQ("getval", val(id, 1), 5);
	CHECK_ERR("setval.erange", semctl(id, 1, SETVAL, (union semun){ .val = 32768 }), ERANGE);
	CHECK_ERR("setval.negative", semctl(id, 1, SETVAL, (union semun){ .val = -1 }), ERANGE);
	CHECK_ERR("getval.range", semctl(id, 3, GETVAL), EINVAL);
	unsigned short all[3] = { 1, 2, 3 }, got[3] = { 0 };
	CHECK_OK("setall", semctl(id, 0, SETALL, (union semun){ .array = all }));
	CHECK_OK("getall", semctl(id, 0, GETALL, (union semun){ .array = got }));
	CHECK("getall.values", got[0] == 1 && got[1] == 2 && got[2] == 3);
	CHECK_ERR("getall.efault", semctl(id, 0, GETALL, (union semun){ .array = (void *)8 }), EFAULT);

	/* semop */
	struct sembuf two[2] = { { 0, -1, 0 }, { 1, -3, IPC_NOWAIT } };
	CHECK_ERR("op.atomic_eagain", semop(id, two, 2), EAGAIN);
	CHECK("op.atomic_unchanged", val(id, 0) == 1 && val(id, 1) == 2);
	two[1].sem_op = -2;
	CHECK_OK("op.atomic", semop(id, two, 2));
	CHECK("op.atomic_applied", val(id, 0) == 0 && val(id, 1) == 0);
	CHECK_EQ("op.getpid", semctl(id, 0, GETPID), getpid());
	CHECK_ERR("op.nowait", op1(id, 0, -1, IPC_NOWAIT), EAGAIN);
	CHECK_ERR("op.zero_nowait", op1(id, 2, 0, IPC_NOWAIT), EAGAIN);
	CHECK_OK("op.zero_ready", op1(id, 0, 0, 0));
	CHECK_ERR("op.efbig", op1(id, 3, 1, 0), EFBIG);
	CHECK_ERR("op.nsops0", semop(id, two, 0), EINVAL);
	static struct sembuf many[501];
	CHECK_ERR("op.e2big", semop(id, many, 501), E2BIG);
	CHECK_ERR("op.badid", op1(id + 1000 * 32768, 0, 1, 0), EINVAL);
	CHECK_ERR("op.efault", semop(id, (void *)8, 1), EFAULT);
	CHECK_OK("op.max", op1(id, 0, 32767, 0));
	CHECK_ERR("op.erange", op1(id, 0, 1, 0), ERANGE);
	CHECK_OK("op.back", semctl(id, 0, SETVAL, (union semun){ .val = 0 }));

	/* semtimedop */
	struct timespec ts = { 0, 50000000 };
	long t0 = now_ms();
	CHECK_ERR("timed.eagain", semtimedop(id, &(struct sembuf){ 0, -1, 0 }, 1, &ts), EAGAIN);
	CHECK("timed.waited", now_ms() - t0 >= 40);
	ts.tv_nsec = 1000000000;
	CHECK_ERR("timed.einval", semtimedop(id, &(struct sembuf){ 0, -1, 0 }, 1, &ts), EINVAL);
	ts.tv_nsec = 0;
	CHECK_OK("timed.ready", semtimedop(id, &(struct sembuf){ 2, -3, 0 }, 1, &ts));

	/* blocking and wake-up, ncnt and zcnt */
	pid_t pid = blocked(id, 0, -2);
	sleep_ms(50);
	CHECK_EQ("ncnt", semctl(id, 0, GETNCNT), 1);
	CHECK_OK("wake.part", op1(id, 0, 1, 0));
	sleep_ms(20);
	CHECK_OK("still_blocked", kill(pid, 0));
	CHECK_OK("wake.rest", op1(id, 0, 1, 0));
	CHECK_EQ("block.woken", child_status(pid), 0);
	CHECK_EQ("ncnt.after", semctl(id, 0, GETNCNT), 0);
	CHECK_OK("zcnt.setup", op1(id, 1, 1, 0));
	pid = blocked(id, 1, 0);
	sleep_ms(50);
	CHECK_EQ("zcnt", semctl(id, 1, GETZCNT), 1);
	CHECK_OK("zcnt.wake", op1(id, 1, -1, 0));
	CHECK_EQ("zcnt.woken", child_status(pid), 0);

	/* SEM_UNDO at exit */
	pid = fork();
	if (pid == 0)
		_exit(op1(id, 2, 4, SEM_UNDO) == 0 && val(id, 2) == 4 ? 0 : 1);
	CHECK_EQ("undo.child", child_status(pid), 0);
	CHECK_EQ("undo.applied", val(id, 2), 0);
	semctl(id, 2, SETVAL, (union semun){ .val = 3 });
	pid = fork();
	if (pid == 0)
		_exit(op1(id, 2, -2, SEM_UNDO) == 0 ? 0 : 1);
	CHECK_EQ("undo.child2", child_status(pid), 0);
	CHECK_EQ("undo.restored", val(id, 2), 3);
	/* a process blocked on a semaphore a dying process held with SEM_UNDO gets it */
	semctl(id, 2, SETVAL, (union semun){ .val = 1 });
	int p2c[2];
	CHECK_OK("pipe", pipe(p2c));
	pid_t holder = fork();
	if (holder == 0) {
		char c;
		op1(id, 2, -1, SEM_UNDO);
		read(p2c[0], &c, 1);
		_exit(0);
	}
	sleep_ms(30);
	pid = blocked(id, 2, -1);
	sleep_ms(30);
	CHECK_OK("undo.waiter_blocked", kill(pid, 0));
	write(p2c[1], "x", 1);
	CHECK_EQ("undo.holder", child_status(holder), 0);
	CHECK_EQ("undo.waiter_woken", child_status(pid), 0);
	close(p2c[0]);
	close(p2c[1]);

	/* EINTR, never restarted */
	pid = blocked(id, 0, -100);
	sleep_ms(50);
	kill(pid, SIGUSR1);
	CHECK_EQ("block.eintr", child_status(pid), EINTR);

	/* stat, set, info */
	struct semid_ds ds;
	CHECK_OK("stat", semctl(id, 0, IPC_STAT, (union semun){ .buf = &ds }));
	CHECK("stat.fields", ds.sem_nsems == 3 && (ds.sem_perm.mode & 0777) == 0600 && ds.sem_perm.__key == key && ds.sem_otime > 0);
	ds.sem_perm.mode = 0604;
	CHECK_OK("set", semctl(id, 0, IPC_SET, (union semun){ .buf = &ds }));
	CHECK_OK("set.stat", semctl(id, 0, IPC_STAT, (union semun){ .buf = &ds }));
	CHECK_EQ("set.mode", ds.sem_perm.mode & 0777, 0604);
	struct seminfo si;
	int max = semctl(0, 0, IPC_INFO, (union semun){ .info = &si });
	CHECK("info", max >= 0 && si.semmsl == 32000 && si.semopm == 500 && si.semvmx == 32767);
	max = semctl(0, 0, SEM_INFO, (union semun){ .info = &si });
	CHECK("info.used", max >= 0 && si.semusz >= 1 && si.semaem >= 3);
	int found = 0;
	for (int i = 0; i <= max; i++)
		if (semctl(i, 0, SEM_STAT, (union semun){ .buf = &ds }) == id)
			found = 1;
	CHECK("sem_stat.finds_id", found);
	CHECK_ERR("ctl.badcmd", semctl(id, 0, 99), EINVAL);

	/* another user: may read (0604), not alter or remove */
	pid = fork();
	if (pid == 0) {
		if (setgid(1000) || setuid(1000))
			_exit(90);
		if (semctl(id, 0, GETVAL) < 0)
			_exit(1);
		if (op1(id, 0, 1, 0) != -1 || errno != EACCES)
			_exit(2);
		if (op1(id, 0, 0, IPC_NOWAIT) != 0)
			_exit(3);
		if (semctl(id, 0, SETVAL, (union semun){ .val = 1 }) != -1 || errno != EACCES)
			_exit(4);
		if (semctl(id, 0, IPC_RMID) != -1 || errno != EPERM)
			_exit(5);
		_exit(0);
	}
	CHECK_EQ("perm.other_user", child_status(pid), 0);

	/* removal while waiting */
	pid = blocked(id, 0, -1);
	sleep_ms(50);
	CHECK_OK("rmid", semctl(id, 0, IPC_RMID));
	CHECK_EQ("block.eidrm", child_status(pid), EIDRM);
	CHECK_ERR("rmid.gone", semctl(id, 0, GETVAL), EINVAL);
	CHECK_ERR("rmid.key_gone", semget(key, 1, 0), ENOENT);
	return utest_done();
}
