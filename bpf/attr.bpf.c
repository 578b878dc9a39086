// SPDX-License-Identifier: GPL-2.0
/* File attributes: the chmod and chown families. Read at exit like every file hook: the
 * arguments from the saved user registers, the path through its pointer made absolute in the
 * kernel (dfd + path; an fd's own path for fchmod/fchown and AT_EMPTY_PATH). The mode and
 * owner before the call are gone by exit; fd-based calls carry the inode's mode/owner after
 * it (the result of a success, the unchanged values of a failure). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "common.bpf.h"

static __always_inline int attr_exit(struct trace_event_raw_sys_exit *ctx, __u16 action)
{
	struct start_args a;
	struct attr_event *e;
	const char *upath = NULL;
	struct file *f = NULL;
	int len = 0;

	if (!exit_args(&a))
		return 0;
	e = scratch(0);
	if (!e)
		return 0;
	fill_header(&e->h, EK_ATTR, action, ctx->ret);
	e->dfd = ABI_AT_FDCWD;
	e->at_flags = 0;
	e->mode = 0;
	e->uid = 0;
	e->gid = 0;
	switch (action) {
	case EA_CHMOD:
		upath = (const char *)a.args[0];
		e->mode = a.args[1];
		break;
	case EA_FCHMOD:
		e->dfd = a.args[0];
		e->mode = a.args[1];
		break;
	case EA_FCHMODAT:
	case EA_FCHMODAT2:
		e->dfd = a.args[0];
		upath = (const char *)a.args[1];
		e->mode = a.args[2];
		if (action == EA_FCHMODAT2)
			e->at_flags = a.args[3];
		break;
	case EA_CHOWN:
	case EA_LCHOWN:
		upath = (const char *)a.args[0];
		e->uid = a.args[1];
		e->gid = a.args[2];
		if (action == EA_LCHOWN)
			e->at_flags = ATF_SYMLINK_NOFOLLOW; /* what lchown means */
		break;
	case EA_FCHOWN:
		e->dfd = a.args[0];
		e->uid = a.args[1];
		e->gid = a.args[2];
		break;
	default: /* fchownat */
		e->dfd = a.args[0];
		upath = (const char *)a.args[1];
		e->uid = a.args[2];
		e->gid = a.args[3];
		e->at_flags = a.args[4];
	}
	if (upath) {
		len = read_user_path(e->path, upath, &e->h.flags, EF_PATH_TRUNCATED);
		if (len < 0)
			len = 0;
	}
	if (!upath || (len == 0 && (e->at_flags & ATF_EMPTY_PATH)))
		len = fd_path_str(e->path, e->dfd, &f, &e->h.flags, EF_PATH_TRUNCATED);
	else
		len = resolve_relative(e->path, len, e->dfd, &e->h.flags, EF_PATH_TRUNCATED);
	if (path_ignored(e->path, len))
		return 0;
	e->inode = AI_NONE;
	e->imode = e->iuid = e->igid = 0;
	if (f) {
		struct inode *ino = BPF_CORE_READ(f, f_inode);

		e->inode = AI_AFTER;
		e->imode = BPF_CORE_READ(ino, i_mode);
		e->iuid = BPF_CORE_READ(ino, i_uid.val);
		e->igid = BPF_CORE_READ(ino, i_gid.val);
	}
	e->path_len = len;
	e->_pad = 0;
	emit(e, offsetof(struct attr_event, path) + (len & (PATH_LEN - 1)) + 1);
	return 0;
}

SYSCALL_EXIT_HOOK(chmod, attr_exit, EA_CHMOD)
SYSCALL_EXIT_HOOK(fchmod, attr_exit, EA_FCHMOD)
SYSCALL_EXIT_HOOK(fchmodat, attr_exit, EA_FCHMODAT)
SYSCALL_EXIT_HOOK(fchmodat2, attr_exit, EA_FCHMODAT2)
SYSCALL_EXIT_HOOK(chown, attr_exit, EA_CHOWN)
SYSCALL_EXIT_HOOK(fchown, attr_exit, EA_FCHOWN)
SYSCALL_EXIT_HOOK(lchown, attr_exit, EA_LCHOWN)
SYSCALL_EXIT_HOOK(fchownat, attr_exit, EA_FCHOWNAT)
