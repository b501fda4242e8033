/*
 * t_caps - capget/capset: the v1/v2/v3 headers (EINVAL with the kernel's version written back
 * for another, the NULL-data probe), root's sets (CAP_KILL and CAP_CHOWN effective) against a
 * user's (empty), ESRCH/EINVAL pids, capset dropping a capability (seen by capget), and EPERM
 * for raising one past the permitted set or setting another process's. Changes are made in
 * forked children.
 */
#define UTEST_PROGRAM "t_caps"
#include "utest.h"

struct cap_header { unsigned version; int pid; };
struct cap_data { unsigned effective, permitted, inheritable; };

#define V1 0x19980330u
#define V2 0x20071026u
#define V3 0x20080522u
#define CAP_CHOWN 0
#define CAP_KILL 5

static long capget_(struct cap_header *h, struct cap_data *d) { return syscall(SYS_capget, h, d); }
static long capset_(struct cap_header *h, struct cap_data *d) { return syscall(SYS_capset, h, d); }


static int user_sets(void)
{
	struct cap_header h = { V3, 0 };
	struct cap_data d[2];
	memset(d, 0xff, sizeof d);
	if (capget_(&h, d) != 0)
		return 1;
	if (d[0].effective || d[0].permitted || d[1].effective || d[1].permitted)
		return 2;
	/* Raising anything: EPERM. */
	d[0].effective = d[0].permitted = 1u << CAP_KILL;
	if (capset_(&h, d) != -1 || errno != EPERM)
		return 3;
	return 0;
}

static int drop_chown(void)
{
	struct cap_header h = { V3, 0 };
	struct cap_data d[2];
	if (capget_(&h, d) != 0)
		return 1;
	d[0].effective &= ~(1u << CAP_CHOWN);
	if (capset_(&h, d) != 0)
		return 2;
	struct cap_data e[2];
	if (capget_(&h, e) != 0 || (e[0].effective & (1u << CAP_CHOWN)) || !(e[0].permitted & (1u << CAP_CHOWN)))
		return 3;
	/* Back into effective (still permitted): allowed. */
	e[0].effective |= 1u << CAP_CHOWN;
	if (capset_(&h, e) != 0)
		return 4;
	/* Out of permitted, then back: EPERM. */
	e[0].effective &= ~(1u << CAP_CHOWN);
	e[0].permitted &= ~(1u << CAP_CHOWN);
	if (capset_(&h, e) != 0)
		return 5;
	e[0].permitted |= 1u << CAP_CHOWN;
	if (capset_(&h, e) != -1 || errno != EPERM)
		return 6;
	/* Effective beyond permitted: EPERM. */
	e[0].permitted &= ~(1u << CAP_CHOWN);
	e[0].effective |= 1u << CAP_CHOWN;
	if (capset_(&h, e) != -1 || errno != EPERM)
		return 7;
	return 0;
}

int main(int argc, char **argv)
{
	utest_init(argc, argv);
	struct cap_header h = { 0x12345678, 0 };
	struct cap_data d[2];
	CHECK_ERR("capget.badversion", capget_(&h, d), EINVAL);
	CHECKF("capget.badversion.writeback", h.version == V3, "version=%x", h.version);
	h.version = 0x12345678;
	CHECK_RET("capget.badversion.probe", capget_(&h, NULL), 0);
	CHECKF("capget.probe.writeback", h.version == V3, "version=%x", h.version);
	h.version = V3;
	CHECK_RET("capget.probe", capget_(&h, NULL), 0);
	h.pid = -5;
	CHECK_ERR("capget.negpid", capget_(&h, d), EINVAL);
	h.pid = UTEST_BADPID;
	CHECK_ERR("capget.nosuch", capget_(&h, d), ESRCH);
	CHECK_ERR("capget.efault", capget_((struct cap_header *)8, d), EFAULT);
	h.pid = 0;
	memset(d, 0, sizeof d);
	CHECK_RET("capget.v3", capget_(&h, d), 0);
	if (geteuid() == 0) {
		CHECKF("capget.root", (d[0].effective & (1u << CAP_KILL)) && (d[0].permitted & (1u << CAP_CHOWN)),
		       "eff=%x perm=%x", d[0].effective, d[0].permitted);
	} else {
		utest_ok("capget.root");
	}
	struct cap_data v1 = { 0, 0, 0 };
	h.version = V1;
	CHECK_RET("capget.v1", capget_(&h, &v1), 0);
	CHECK_EQ("capget.v1.same", v1.effective, d[0].effective);
	h.version = V2;
	h.pid = getpid();
	struct cap_data d2[2];
	CHECK_RET("capget.v2.self", capget_(&h, d2), 0);
	CHECK_EQ("capget.v2.same", d2[0].permitted, d[0].permitted);
	h.version = V3;
	h.pid = getppid() > 1 ? getppid() : 1;
	CHECK_ERR("capset.otherpid", capset_(&h, d), EPERM);
	h.pid = 0;
	h.version = 7;
	CHECK_ERR("capset.badversion", capset_(&h, d), EINVAL);
	CHECK_EQ("capset.badversion.writeback", h.version, V3);
	if (geteuid() == 0) {
		CHECK_EQ("capset.drop", utest_in_child(drop_chown, 0), 0);
		CHECK_EQ("caps.user", utest_in_child(user_sets, 1), 0);
	} else {
		CHECK_EQ("caps.user", utest_in_child(user_sets, 0), 0);
	}
	return utest_done();
}
