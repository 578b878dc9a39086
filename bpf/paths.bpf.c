// SPDX-License-Identifier: GPL-2.0
/* The working directory: chdir and fchdir, so that user space follows a process's cwd after
 * its exec (process.working_directory). Read at exit like every file hook; on success the
 * new cwd is named from the task's fs->pwd, as the kernel holds it. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "common.bpf.h"

static __always_inline int chdir_exit(struct trace_event_raw_sys_exit *ctx, __u16 action)
{
	struct start_args a;
	struct chdir_event *e;
	struct file *f;
	__s64 ret = ctx->ret;
	int len = 0, clen = 0;
	char *cwd;

	if (!exit_args(&a))
		return 0;
	e = scratch(0);
	if (!e)
		return 0;
	fill_header(&e->h, EK_CHDIR, action, ret);
	if (action == EA_CHDIR) {
		e->fd = ABI_AT_FDCWD;
		len = read_user_path(e->data, (const char *)a.args[0], &e->h.flags,
				     EF_PATH_TRUNCATED);
		if (len < 0)
			len = 0;
		/* A relative path is made absolute only when the cwd is still the one it was
		 * relative to: on success the new cwd names it. */
		if (ret < 0)
			len = resolve_relative(e->data, len, ABI_AT_FDCWD, &e->h.flags,
					       EF_PATH_TRUNCATED);
	} else {
		e->fd = a.args[0];
		len = fd_path_str(e->data, e->fd, &f, &e->h.flags, EF_PATH_TRUNCATED);
	}
	cwd = &e->data[(len + 1) & (2 * PATH_LEN - 1)];
	cwd[0] = 0;
	if (ret == 0)
		clen = fd_path_str(cwd, ABI_AT_FDCWD, &f, &e->h.flags, EF_PATH2_TRUNCATED);
	e->path_len = len;
	e->cwd_len = clen;
	emit(e, offsetof(struct chdir_event, data) + (len & (PATH_LEN - 1)) + 1 +
		(clen & (PATH_LEN - 1)) + 1);
	return 0;
}

SYSCALL_EXIT_HOOK(chdir, chdir_exit, EA_CHDIR)
SYSCALL_EXIT_HOOK(fchdir, chdir_exit, EA_FCHDIR)

char LICENSE[] SEC("license") = "GPL";
