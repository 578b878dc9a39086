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

/* The absolute path of an open file into path (PATH_LEN bytes), walked as d_path() does;
 * returns its length, or 0 when it cannot be named (too deep, no file). */
static __always_inline int file_path(char *path, struct file *f, __u16 *flags, __u16 bit)
{
	struct path p;
	__u32 slot = 2;
	char *buf;
	int pos;
	long n;

	path[0] = 0;
	if (!f || BPF_CORE_READ_INTO(&p, f, f_path))
		return 0;
	buf = bpf_map_lookup_elem(&em_scratch, &slot);
	if (!buf)
		return 0;
	pos = build_dir_path(&p);
	if (pos < 0)
		return 0;
	if (pos == DIR_BUF - 1)
		buf[pos] = '/';
	buf[DIR_BUF] = 0;
	n = bpf_probe_read_kernel_str(path, PATH_LEN, &buf[pos & (DIR_BUF - 1)]);
	if (n <= 0) {
		path[0] = 0;
		return 0;
	}
	if (n == PATH_LEN)
		*flags |= bit;
	return n - 1;
}

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
	e->dfd = AT_FDCWD;
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
	if (!upath || (len == 0 && (e->at_flags & ATF_EMPTY_PATH))) {
		/* The fd itself is the file (AT_FDCWD with AT_EMPTY_PATH: the cwd). */
		if (e->dfd == AT_FDCWD) {
			struct task_struct *task = (struct task_struct *)bpf_get_current_task();
			struct path cwd;

			if (!BPF_CORE_READ_INTO(&cwd, task, fs, pwd)) {
				__u32 slot = 2;
				char *buf = bpf_map_lookup_elem(&em_scratch, &slot);
				int pos = buf ? build_dir_path(&cwd) : -1;

				if (buf && pos >= 0) {
					if (pos == DIR_BUF - 1)
						buf[pos] = '/';
					buf[DIR_BUF] = 0;
					len = bpf_probe_read_kernel_str(e->path, PATH_LEN,
									&buf[pos & (DIR_BUF - 1)]) - 1;
					if (len < 0)
						len = 0;
				}
			}
		} else {
			f = file_of_fd(e->dfd);
			len = file_path(e->path, f, &e->h.flags, EF_PATH_TRUNCATED);
		}
	} else {
		len = resolve_relative(e->path, len, e->dfd, &e->h.flags, EF_PATH_TRUNCATED);
	}
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
