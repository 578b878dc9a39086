// SPDX-License-Identifier: GPL-2.0
/* Acting on another process: kill, tkill, tgkill, pidfd_send_signal (the signal and the
 * target), ptrace (request, target, addr, data), process_vm_readv/writev (target, iovec counts;
 * the bytes moved are the return value). Arguments read at exit from the saved registers. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "common.bpf.h"

#define PID_FS_MAGIC 0x50494446

/* The host pid of the process a pidfd refers to; 0 when the fd is no pidfd (pidfs keeps the
 * struct pid in the inode's i_private). */
static __always_inline __u32 pidfd_host_pid(int fd)
{
	struct file *f = file_of_fd(fd);
	struct inode *inode;
	struct pid *pid;

	if (!f)
		return 0;
	inode = BPF_CORE_READ(f, f_inode);
	if (BPF_CORE_READ(inode, i_sb, s_magic) != PID_FS_MAGIC)
		return 0;
	pid = BPF_CORE_READ(inode, i_private);
	if (!pid)
		return 0;
	return BPF_CORE_READ(pid, numbers[0].nr);
}

static __always_inline int target_exit(struct trace_event_raw_sys_exit *ctx, __u16 action)
{
	struct start_args a;
	struct target_event *e;

	if (!exit_args(&a))
		return 0;
	e = scratch(0);
	if (!e)
		return 0;
	__builtin_memset(e, 0, sizeof(*e));
	fill_header(&e->h, EK_TARGET, action, ctx->ret);
	switch (action) {
	case EA_KILL:
		e->pid = a.args[0];
		e->request = (int)a.args[1];
		break;
	case EA_TKILL:
		e->tid = a.args[0];
		e->request = (int)a.args[1];
		break;
	case EA_TGKILL:
		e->pid = a.args[0];
		e->tid = a.args[1];
		e->request = (int)a.args[2];
		break;
	case EA_PIDFD_SEND_SIGNAL:
		e->pidfd = a.args[0];
		e->pidfd_pid = pidfd_host_pid(a.args[0]);
		e->request = (int)a.args[1];
		e->value = a.args[3];
		break;
	case EA_PTRACE:
		e->request = (long)a.args[0];
		e->pid = a.args[1];
		e->addr = a.args[2];
		e->value = a.args[3];
		break;
	default: /* process_vm_readv/writev(pid, local, liovcnt, remote, riovcnt, flags) */
		e->pid = a.args[0];
		e->local_iovcnt = a.args[2];
		e->remote_iovcnt = a.args[4];
	}
	emit(e, sizeof(*e));
	return 0;
}

SYSCALL_EXIT_HOOK(kill, target_exit, EA_KILL)
SYSCALL_EXIT_HOOK(tkill, target_exit, EA_TKILL)
SYSCALL_EXIT_HOOK(tgkill, target_exit, EA_TGKILL)
SYSCALL_EXIT_HOOK(pidfd_send_signal, target_exit, EA_PIDFD_SEND_SIGNAL)
SYSCALL_EXIT_HOOK(ptrace, target_exit, EA_PTRACE)
SYSCALL_EXIT_HOOK(process_vm_readv, target_exit, EA_PROCESS_VM_READV)
SYSCALL_EXIT_HOOK(process_vm_writev, target_exit, EA_PROCESS_VM_WRITEV)

char LICENSE[] SEC("license") = "GPL";
