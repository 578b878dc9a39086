/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared by the concern files: constants, the load-time settings, the self/comm filter and the
 * syscall argument helpers; the rest lives in headers sized to one job, included below:
 * maps.bpf.h, emit.bpf.h, fdtrack.bpf.h, path.bpf.h.
 */
#ifndef EBPF_MONITOR_COMMON_BPF_H
#define EBPF_MONITOR_COMMON_BPF_H

#include "events.h"
#include "pidns.bpf.h"

#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define S_IFREG 0100000
#define S_IFDIR 0040000
#define S_IFCHR 0020000
#define S_IFBLK 0060000
#define CLONE_VM 0x00000100
#define CLONE_VFORK 0x00004000
#define CLONE_THREAD 0x00010000
#define SIGCHLD 17
#define PF_KTHREAD_FLAG 0x00200000 /* task->flags of a kernel thread (PF_KTHREAD) */
#define F_DUPFD 0
#define F_DUPFD_CLOEXEC 1030

#define EXEC_ENTRIES 1024
#define FD_ENTRIES 16384
#define IO_PROC_ENTRIES 8192
#define IO_FLUSH_MAX_FDS 65536 /* fds looked at when a process exits or execs ("first" mode) */
#define SCRATCH_LEN 16384 /* > sizeof(struct exec_event); power of two */
#define DIR_BUF 4096      /* a directory path is built backwards below this offset */
#define PATH_DEPTH 48     /* path components and mount crossings walked, at most */
#define NAME_MASK 255

/* Settings fixed at load (rodata); zero means off. */
const volatile __u32 targ_self_pid __weak = 0;      /* our own process: never traced */
const volatile __u32 targ_max_args __weak = 64;
const volatile __u64 targ_wakeup_bytes __weak = 0;  /* 0: libbpf's default wake-up per event */
const volatile __u8 targ_comm_filter __weak = 0;    /* em_ign_comm has entries */
const volatile __u8 targ_path_filter __weak = 0;    /* em_ign_path has entries */
const volatile __u8 targ_skip_shlib __weak = 0;
const volatile __u8 targ_read_write __weak = RW_ALL; /* enum rw_mode */

/* Set by user space at shutdown: stop emitting at once (detaching ~80 tracepoints takes
 * seconds), so the drain that follows has an end. */
volatile __u32 em_paused __weak = 0;

/* Direct loads of kernel memory a program holds only as a number (a struct file read out of
 * the fd table, a container_of): bpf_rdonly_cast() (kfunc, 6.2+) makes it a read-only BTF
 * pointer whose field reads are plain loads the kernel guards with its exception table (a bad
 * pointer reads 0), as through bpf_get_current_task_btf(), instead of a bpf_probe_read_kernel
 * call each (~30-45 ns here; a path walk makes several per component). Weak: a kernel without
 * it leaves the call unresolved, the loader sees that in the kernel's BTF and leaves
 * targ_direct_loads 0, and the verifier drops the direct branches as dead code (fixed rodata),
 * so the helper reads run instead.
 * One object only, file.bpf.c (the open and read/write hooks), defines EM_DIRECT_LOADS before
 * including this: libbpf 1.1's linker (`bpftool gen object`) fails on an extern function that
 * two of the linked objects declare ("failed to resolve size of underlying type"; fixed in
 * libbpf 1.5, "libbpf: do not resolve size on duplicate FUNCs"). In the others
 * targ_direct_loads is 0 at compile time and only the helper reads are built. */
#ifdef EM_DIRECT_LOADS
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym __weak;
const volatile __u8 targ_direct_loads __weak = 0;

/* ptr (any kernel address) as a read-only `type *`; only under targ_direct_loads. */
#define kcast(ptr, type) ((type *)bpf_rdonly_cast((const void *)(ptr), \
						  bpf_core_type_id_kernel(type)))
#else
#define targ_direct_loads 0
#define kcast(ptr, type) ((type *)(ptr)) /* never reached: targ_direct_loads is 0 */
#endif

#include "maps.bpf.h"

static __always_inline __u32 current_pid(void)
{
	return bpf_get_current_pid_tgid() >> 32;
}

static __always_inline __u32 current_tid(void)
{
	return (__u32)bpf_get_current_pid_tgid();
}

/* True when the current process's non-exec events are not wanted. */
static __always_inline bool task_filtered(void)
{
	if (current_pid() == targ_self_pid)
		return true;
	if (targ_comm_filter) {
		struct comm_key key = {};

		bpf_get_current_comm(&key.comm, sizeof(key.comm));
		if (bpf_map_lookup_elem(&em_ign_comm, &key))
			return true;
	}
	return false;
}

#include "emit.bpf.h"

/* The current syscall's first five arguments, read at its exit from the user registers the
 * entry path saved (task_pt_regs): the syscall does not change them, so no enter program and no
 * per-thread map is needed. Not for execve (the registers are the new image's by then). x86: the
 * 4th argument is in r10 (the macros know). arm64: x0 holds the return value at exit, the
 * 1st argument is orig_x0 (the macros read it). No decoder needs a 6th argument. */
#if !defined(__TARGET_ARCH_x86) && !defined(__TARGET_ARCH_arm64)
#error "syscall_args: only x86 and arm64 are checked (set -D__TARGET_ARCH_x86 or _arm64)"
#endif
static __always_inline void syscall_args(struct start_args *out)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());

	out->args[0] = PT_REGS_PARM1_SYSCALL(regs);
	out->args[1] = PT_REGS_PARM2_SYSCALL(regs);
	out->args[2] = PT_REGS_PARM3_SYSCALL(regs);
	out->args[3] = PT_REGS_PARM4_SYSCALL(regs);
	out->args[4] = PT_REGS_PARM5_SYSCALL(regs);
}

/* The usual exit start: the arguments, unless the process is filtered out. */
static __always_inline bool exit_args(struct start_args *out)
{
	if (task_filtered())
		return false;
	syscall_args(out);
	return true;
}

#include "fdtrack.bpf.h"
#include "path.bpf.h"

/* One-line exit hook over a shared handler (which reads the arguments with exit_args or
 * syscall_args); the name follows the hook. */
#define SYSCALL_EXIT_HOOK(name, exit_fn, action)                                           \
	SEC("tracepoint/syscalls/sys_exit_" #name)                                         \
	int tracepoint__syscalls__sys_exit_##name(struct trace_event_raw_sys_exit *ctx)   \
	{                                                                                   \
		return exit_fn(ctx, action);                                                \
	}

#endif /* EBPF_MONITOR_COMMON_BPF_H */
