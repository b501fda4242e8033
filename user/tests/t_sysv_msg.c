/*
 * t_sysv_msg - System V message queues: msgget's key rules (IPC_PRIVATE, IPC_CREAT,
 * IPC_EXCL, ENOENT, EACCES), msgsnd/msgrcv with msgtyp 0 / > 0 / < 0, MSG_EXCEPT,
 * MSG_NOERROR and E2BIG, IPC_NOWAIT (EAGAIN on a full queue, ENOMSG on an empty one),
 * msgctl's IPC_STAT/IPC_SET/IPC_RMID/IPC_INFO/MSG_INFO/MSG_STAT, permission checks for a
 * non-root user, and across fork: a blocked receiver woken by a send, EIDRM when the queue is
 * removed under it, EINTR (never restarted, even with SA_RESTART) after a signal handler.
 */
#define UTEST_PROGRAM "t_sysv_msg"
#include "utest.h"

#include <sys/ipc.h>
#include <sys/msg.h>

#ifndef MSG_COPY
#define MSG_COPY 040000
#endif
#ifndef MSG_STAT_ANY
#define MSG_STAT_ANY 13
#endif

struct msg {
	long mtype;
	char text[8192];
};

static struct msg m;

static int snd(int id, long type, const char *text, int flags)
{
	m.mtype = type;
	size_t len = strlen(text);
	memcpy(m.text, text, len);
	return msgsnd(id, &m, len, flags);
}

/* Receives into m; returns the length (or -1). */
static long rcv(int id, size_t size, long type, int flags)
{
	memset(&m, 0, sizeof m);
	return msgrcv(id, &m, size, type, flags);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
}

static void on_usr1(int sig)
{
	(void)sig;
}

/* A child blocked in msgrcv on `id`: exits with the errno it got, 100 + length on success. */
static pid_t blocked_receiver(int id)
{
	pid_t pid = fork();
	if (pid == 0) {
		struct sigaction sa = { 0 };
		sa.sa_handler = on_usr1;
		sa.sa_flags = SA_RESTART;
		sigaction(SIGUSR1, &sa, NULL);
		long n = rcv(id, sizeof m.text, 0, 0);
		_exit(n >= 0 ? 100 + (int)n : errno);
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
	key_t key = 0x5e170000 + (getpid() & 0xffff);
	msgctl(msgget(key, 0), IPC_RMID, NULL);

	/* get rules */
	CHECK_ERR("get.enoent", msgget(key, 0600), ENOENT);
	int id = msgget(key, IPC_CREAT | 0600);
	CHECK("get.create", id >= 0);
	CHECK_EQ("get.same", msgget(key, 0), id);
	CHECK_EQ("get.creat_existing", msgget(key, IPC_CREAT | 0600), id);
	CHECK_ERR("get.excl", msgget(key, IPC_CREAT | IPC_EXCL | 0600), EEXIST);
	int priv = msgget(IPC_PRIVATE, 0600);
	int priv2 = msgget(IPC_PRIVATE, 0600);
	CHECK("get.private", priv >= 0 && priv2 >= 0 && priv != priv2 && priv != id);

	/* selection */
	CHECK_OK("snd.a", snd(id, 3, "three", 0));
	CHECK_OK("snd.b", snd(id, 1, "one", 0));
	CHECK_OK("snd.c", snd(id, 2, "two", 0));
	CHECK_OK("snd.d", snd(id, 1, "uno", 0));
	CHECK_EQ("rcv.type", rcv(id, 100, 1, 0), 3);
	CHECK("rcv.type.text", m.mtype == 1 && strcmp(m.text, "one") == 0);
	CHECK_EQ("rcv.except", rcv(id, 100, 3, MSG_EXCEPT), 3);
	CHECK("rcv.except.text", m.mtype == 2 && strcmp(m.text, "two") == 0);
	CHECK_EQ("rcv.lowest", rcv(id, 100, -5, 0), 3);
	CHECK("rcv.lowest.text", m.mtype == 1 && strcmp(m.text, "uno") == 0);
	CHECK_ERR("rcv.none_of_type", rcv(id, 100, 7, IPC_NOWAIT), ENOMSG);
	CHECK_ERR("rcv.e2big", rcv(id, 2, 0, 0), E2BIG);
	CHECK_EQ("rcv.noerror", rcv(id, 2, 0, MSG_NOERROR), 2);
	CHECK("rcv.noerror.text", m.mtype == 3 && memcmp(m.text, "th", 2) == 0 && m.text[2] == 0);
	CHECK_ERR("rcv.empty_nowait", rcv(id, 100, 0, IPC_NOWAIT), ENOMSG);

	/* argument errors */
	CHECK_ERR("snd.mtype0", snd(id, 0, "x", 0), EINVAL);
	m.mtype = 1;
	CHECK_ERR("snd.too_big", msgsnd(id, &m, 8193, 0), EINVAL);
	CHECK_ERR("snd.badid", snd(id + 1000 * 32768, 1, "x", 0), EINVAL);
	CHECK_ERR("snd.negid", snd(-1, 1, "x", 0), EINVAL);
	CHECK_ERR("snd.efault", msgsnd(id, (void *)8, 4, 0), EFAULT);
	CHECK_ERR("rcv.copy_needs_nowait", rcv(id, 100, 0, MSG_COPY), EINVAL);

	/* a full queue */
	memset(m.text, 'x', sizeof m.text);
	m.mtype = 5;
	CHECK_OK("full.1", msgsnd(id, &m, 8192, IPC_NOWAIT));
	CHECK_OK("full.2", msgsnd(id, &m, 8192, IPC_NOWAIT));
	CHECK_ERR("full.eagain", msgsnd(id, &m, 1, IPC_NOWAIT), EAGAIN);

	/* stat */
	struct msqid_ds ds;
	CHECK_OK("stat", msgctl(id, IPC_STAT, &ds));
	CHECK("stat.fields", ds.msg_qnum == 2 && ds.__msg_cbytes == 16384 && ds.msg_qbytes == 16384 &&
		ds.msg_lspid == getpid() && (ds.msg_perm.mode & 0777) == 0600 && ds.msg_perm.__key == key &&
		ds.msg_perm.uid == geteuid() && ds.msg_perm.cuid == geteuid() && ds.msg_stime > 0);
	CHECK_EQ("rcv.after_full", rcv(id, sizeof m.text, 5, 0), 8192);
	CHECK_OK("stat.lrpid", msgctl(id, IPC_STAT, &ds));
	CHECK("stat.lrpid.value", ds.msg_lrpid == getpid() && ds.msg_qnum == 1 && ds.msg_rtime > 0);
	rcv(id, sizeof m.text, 0, 0);

	/* set */
	ds.msg_perm.mode = 0644;
	ds.msg_qbytes = 100;
	CHECK_OK("set", msgctl(id, IPC_SET, &ds));
	CHECK_OK("set.stat", msgctl(id, IPC_STAT, &ds));
	CHECK("set.values", (ds.msg_perm.mode & 0777) == 0644 && ds.msg_qbytes == 100);
	m.mtype = 1;
	CHECK_ERR("set.qbytes_applies", msgsnd(id, &m, 101, IPC_NOWAIT), EAGAIN);
	ds.msg_qbytes = 16384;
	CHECK_OK("set.restore", msgctl(id, IPC_SET, &ds));
	CHECK_ERR("ctl.badcmd", msgctl(id, 99, &ds), EINVAL);
	CHECK_ERR("ctl.efault", msgctl(id, IPC_STAT, (void *)8), EFAULT);

	/* info and index stat */
	struct msginfo info;
	int max = msgctl(0, IPC_INFO, (struct msqid_ds *)&info);
	CHECK("info", max >= 0 && info.msgmax == 8192 && info.msgmnb == 16384 && info.msgmni > 0);
	max = msgctl(0, MSG_INFO, (struct msqid_ds *)&info);
	CHECK("info.used", max >= 0 && info.msgpool >= 3);
	int found = 0;
	for (int i = 0; i <= max; i++) {
		struct msqid_ds s;
		int got = msgctl(i, MSG_STAT, &s);
		if (got == id)
			found = 1;
	}
	CHECK("msg_stat.finds_id", found);

	/* MSG_COPY (Linux needs CONFIG_CHECKPOINT_RESTORE; ENOSYS otherwise) */
	snd(id, 9, "copy", 0);
	long n = rcv(id, 100, 0, MSG_COPY | IPC_NOWAIT);
	CHECK("copy", (n == 4 && m.mtype == 9) || (n == -1 && errno == ENOSYS));
	CHECK_EQ("copy.left_in_queue", rcv(id, 100, 0, IPC_NOWAIT), 4);

	/* permissions for another user */
	pid_t pid = fork();
	if (pid == 0) {
		if (setgid(1000) || setuid(1000))
			_exit(90);
		struct msqid_ds s;
		if (msgget(key, 0600) != -1 || errno != EACCES)
			_exit(1);
		if (msgget(key, 0) != id)
			_exit(2);
		if (snd(id, 1, "x", IPC_NOWAIT) != -1 || errno != EACCES)
			_exit(3);
		if (msgctl(id, IPC_STAT, &s) != 0) /* mode 0644: others may read */
			_exit(4);
		if (msgctl(id, IPC_RMID, NULL) != -1 || errno != EPERM)
			_exit(5);
		if (msgctl(priv, IPC_STAT, &s) != -1 || errno != EACCES)
			_exit(6);
		if (msgctl(priv, MSG_STAT_ANY, &s) == -1 && errno != EINVAL)
			_exit(7);
		_exit(0);
	}
	CHECK_EQ("perm.other_user", child_status(pid), 0);

	/* a blocked receiver is woken by a send */
	pid = blocked_receiver(id);
	sleep_ms(50);
	snd(id, 4, "wake", 0);
	CHECK_EQ("block.woken", child_status(pid), 104);

	/* a blocked sender is woken by a receive */
	m.mtype = 1;
	memset(m.text, 'y', 8192);
	msgsnd(id, &m, 8192, 0);
	msgsnd(id, &m, 8192, 0);
	pid = fork();
	if (pid == 0)
		_exit(snd(id, 2, "late", 0) == 0 ? 0 : errno);
	sleep_ms(50);
	CHECK_OK("block.sender.waiting", kill(pid, 0));
	rcv(id, sizeof m.text, 1, 0);
	CHECK_EQ("block.sender.woken", child_status(pid), 0);
	rcv(id, sizeof m.text, 1, 0);
	CHECK_EQ("block.sender.sent", rcv(id, 100, 2, IPC_NOWAIT), 4);

	/* EINTR, not restarted */
	pid = blocked_receiver(id);
	sleep_ms(50);
	kill(pid, SIGUSR1);
	CHECK_EQ("block.eintr", child_status(pid), EINTR);

	/* removal while waiting */
	pid = blocked_receiver(priv2);
	sleep_ms(50);
	CHECK_OK("rmid", msgctl(priv2, IPC_RMID, NULL));
	CHECK_EQ("block.eidrm", child_status(pid), EIDRM);
	CHECK_ERR("rmid.gone", msgctl(priv2, IPC_STAT, &ds), EINVAL);
	CHECK_ERR("rmid.twice", msgctl(priv2, IPC_RMID, NULL), EINVAL);

	CHECK_OK("cleanup", msgctl(id, IPC_RMID, NULL) | msgctl(priv, IPC_RMID, NULL));
	CHECK_ERR("cleanup.key_gone", msgget(key, 0), ENOENT);
	return utest_done();
}
