// SPDX-License-Identifier: GPL-2.0
/* Code into the kernel, and memory that is no file: bpf(2) program loads (type, instruction
 * count, flags, name) by any process but the monitor (excluded by pid, as for every event);
 * other bpf(2) commands are not sent. memfd_create (name, flags) and userfaultfd (flags). The
 * module syscalls are in kmod.bpf.c, mmap/mprotect with PROT_EXEC in execmap.bpf.c. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "common.bpf.h"

#define CMD_BPF_PROG_LOAD 5
#define ATTR_NAME_OFF 48 /* union bpf_attr: prog_name follows prog_flags (at 44) */

static __always_inline int bpf_exit(struct trace_event_raw_sys_exit *ctx, __u16 action)
{
	struct start_args a;
	struct kcode_event *e;
	__u32 attr[12] = {};

	if (!exit_args(&a) || a.args[0] != CMD_BPF_PROG_LOAD)
		return 0;
	e = scratch(0);
	if (!e)
		return 0;
	fill_header(&e->h, EK_KCODE, action, ctx->ret);
	bpf_probe_read_user(attr, sizeof(attr), (void *)a.args[1]);
	e->prog_type = attr[0];
	e->insn_cnt = attr[1];
	e->prog_flags = attr[11];
	e->attr_size = a.args[2];
	__builtin_memset(e->prog_name, 0, sizeof(e->prog_name));
	if (a.args[2] >= ATTR_NAME_OFF + sizeof(e->prog_name))
		bpf_probe_read_user(e->prog_name, sizeof(e->prog_name),
				    (void *)a.args[1] + ATTR_NAME_OFF);
	e->prog_name[15] = 0;
	emit(e, sizeof(*e));
	return 0;
}

SYSCALL_EXIT_HOOK(bpf, bpf_exit, EA_BPF)

/* Name a new memfd in the fd table as /proc names it ("/memfd:NAME (deleted)"), so its reads,
 * writes and moves are named by the kernel: the /proc lookup user space falls back on loses
 * the race with a process that is gone before its records are read. */
static __always_inline void track_memfd(const struct fileless_event *e, int fd)
{
	static const char prefix[] = "/memfd:";
	static const char suffix[] = " (deleted)";
	__u64 key = fd_key(e->h.pid, fd);
	__u32 n = e->path_len, end;
	struct fd_info *fi;

	if (n > 255)
		return;
	end = sizeof(prefix) - 1 + n;
	fi = fd_info_new_file(file_of_fd(fd));
	if (!fi)
		return;
	__builtin_memcpy(fi->path, prefix, sizeof(prefix) - 1);
	bpf_probe_read_kernel(&fi->path[sizeof(prefix) - 1], n, e->path);
	if (end > PATH_LEN - sizeof(suffix))
		return;
	__builtin_memcpy(&fi->path[end], suffix, sizeof(suffix));
	fi->path_len = end + sizeof(suffix) - 1;
	bpf_map_update_elem(&em_fds, &key, fi, BPF_ANY);
}

/* memfd_create(name, flags), userfaultfd(flags): code or data that never touches a file. */
static __always_inline int fileless_exit(struct trace_event_raw_sys_exit *ctx, __u16 action)
{
	struct start_args a;
	struct fileless_event *e;
	long n;

	if (!exit_args(&a))
		return 0;
	e = scratch(0);
	if (!e)
		return 0;
	fill_header(&e->h, EK_FILELESS, action, ctx->ret);
	e->_pad = 0;
	e->path_len = 0;
	e->path[0] = 0;
	if (action == EA_MEMFD_CREATE) {
		e->flags = a.args[1];
		n = bpf_probe_read_user_str(e->path, sizeof(e->path), (void *)a.args[0]);
		e->path_len = n > 0 ? n - 1 : 0;
		if (n == sizeof(e->path))
			e->h.flags |= EF_PATH_TRUNCATED;
	} else {
		e->flags = a.args[0];
	}
	emit(e, offsetof(struct fileless_event, path) + (e->path_len & 255) + 1);
	if (action == EA_MEMFD_CREATE && ctx->ret >= 0)
		track_memfd(e, ctx->ret);
	return 0;
}

SYSCALL_EXIT_HOOK(memfd_create, fileless_exit, EA_MEMFD_CREATE)
SYSCALL_EXIT_HOOK(userfaultfd, fileless_exit, EA_USERFAULTFD)

char LICENSE[] SEC("license") = "GPL";
