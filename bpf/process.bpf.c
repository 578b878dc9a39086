// SPDX-License-Identifier: GPL-2.0
/* Process lifecycle: exec (never filtered), fork/vfork/clone/clone3, exit. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "common.bpf.h"
#include "cred.bpf.h"

/* Offset of the path inside exec_event.data: right after argv, at most ARGS_LEN. */
static __always_inline __u32 exec_path_off(const struct exec_event *e)
{
	__u32 off = e->args_len;

	/* args_len <= ARGS_LEN; the mask (kept by the barrier) proves to the verifier that the
	 * path fits. */
	barrier_var(off);
	return off & (2 * ARGS_LEN - 1);
}

#define ENV_AT (2 * ARGS_LEN + 2 * PATH_LEN) /* where kept entries wait in a saved exec */

/* One environment entry (a bpf_loop callback): kept when its name is in em_env_names. The
 * exec being built is scratch slot 0 (exec_enter's). */
static long env_step(__u32 i, void *data)
{
	const char *const *envp = *(const char *const **)data;
	struct exec_event *e = scratch(0);
	struct env_key key = {};
	const char *s = NULL;
	__u32 off, eq = ENV_NAME_LEN, j;
	long n;

	if (!e || bpf_probe_read_user(&s, sizeof(s), &envp[i]) || !s)
		return 1;
	if (bpf_probe_read_user_str(key.name, sizeof(key.name), s) <= 0)
		return 0;
	for (j = 0; j < ENV_NAME_LEN; j++) {
		if (key.name[j] == '=') {
			eq = j;
			break;
		}
	}
	if (eq == ENV_NAME_LEN) /* no '=' in the first 31 bytes: no name we keep */
		return 0;
	for (j = 0; j < ENV_NAME_LEN; j++)
		if (j >= eq)
			key.name[j] = 0;
	if (!bpf_map_lookup_elem(&em_env_names, &key))
		return 0;
	off = e->env_len;
	if (off >= ENV_LEN) {
		e->h.flags |= EF_ENV_TRUNCATED;
		return 1;
	}
	n = bpf_probe_read_user_str(&e->data[ENV_AT + (off & (ENV_LEN - 1))], ENV_ENTRY_LEN, s);
	if (n <= 0)
		return 0;
	if (n == ENV_ENTRY_LEN || off + n > ENV_LEN) { /* cut, or no room left: leave it out */
		e->h.flags |= EF_ENV_TRUNCATED;
		return 0;
	}
	e->env_len = off + n;
	e->env_count++;
	return 0;
}

/* Save path and argv at enter: on success the caller's memory is gone before exit. */
static __always_inline int exec_enter(const char *filename, const char *const *argv,
				      const char *const *envp, __u16 action)
{
	struct exec_event *e = scratch(0);
	__u32 tid = current_tid();
	__u32 off = 0, i;
	long n;

	if (!e)
		return 0;
	e->h.kind = EK_EXEC;
	e->h.action = action;
	e->h.flags = 0;
	e->argc = 0;
	for (i = 0; i < ARG_MAX_COUNT; i++) {
		const char *arg = NULL;

		if (bpf_probe_read_user(&arg, sizeof(arg), &argv[i]) || !arg)
			break;
		if (i >= targ_max_args || off >= ARGS_LEN) {
			e->h.flags |= EF_ARGS_TRUNCATED;
			break;
		}
		/* data holds 2 * ARGS_LEN: a read starting below ARGS_LEN always fits. */
		n = bpf_probe_read_user_str(&e->data[off & (ARGS_LEN - 1)], ARGS_LEN, arg);
		if (n <= 0)
			break;
		off += n;
		e->argc++;
	}
	if (off > ARGS_LEN) {
		off = ARGS_LEN;
		e->h.flags |= EF_ARGS_TRUNCATED;
	}
	e->args_len = off;
	e->env_len = 0;
	e->env_count = 0;
	if (envp)
		bpf_loop(ENV_SCAN_MAX, env_step, &envp, 0);
	/* The path as the caller gave it, kept for failed execs; success replaces it. */
	n = bpf_probe_read_user_str(&e->data[exec_path_off(e)], PATH_LEN, filename);
	e->path_len = n > 0 ? n - 1 : 0;
	if (n == PATH_LEN)
		e->h.flags |= EF_PATH_TRUNCATED;
	bpf_map_update_elem(&em_execs, &tid, e, BPF_ANY);
	return 0;
}

/* Put the cwd after the path (at `off`) as a NUL-terminated string, if it can be named;
 * returns the bytes of data to send. One walk per exec (process.working_directory). */
static __always_inline __u32 exec_cwd(struct exec_event *e, __u32 off)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u32 at = off + (e->path_len & (PATH_LEN - 1)) + 1;
	__u32 slot = 2;
	struct path pwd;
	char *buf;
	long n;
	int pos;

	if (BPF_CORE_READ_INTO(&pwd, task, fs, pwd))
		return at;
	buf = bpf_map_lookup_elem(&em_scratch, &slot);
	if (!buf)
		return at;
	pos = build_dir_path(&pwd);
	if (pos < 0)
		return at;
	if (pos == DIR_BUF - 1)
		buf[pos] = '/';
	buf[DIR_BUF] = 0;
	barrier_var(at);
	if (at > 2 * ARGS_LEN + PATH_LEN)
		return at;
	n = bpf_probe_read_kernel_str(&e->data[at], PATH_LEN, &buf[pos & (DIR_BUF - 1)]);
	return n > 0 && n < PATH_LEN ? at + n : at; /* a cut cwd is left out */
}

/* Move the kept environment entries from ENV_AT to `at` (right after the cwd), through
 * scratch slot 2; returns the bytes of data to send. */
static __always_inline __u32 exec_env(struct exec_event *e, __u32 at)
{
	__u32 slot = 2, len = e->env_len;
	char *buf;

	if (!len || len > ENV_LEN)
		return at;
	barrier_var(len);
	len &= 2 * ENV_LEN - 1; /* for the verifier: the test above is forgotten by then */
	buf = bpf_map_lookup_elem(&em_scratch, &slot);
	if (!buf)
		return at;
	barrier_var(at);
	if (at > ENV_AT)
		return at;
	if (bpf_probe_read_kernel(buf, len, &e->data[ENV_AT]) ||
	    bpf_probe_read_kernel(&e->data[at], len, buf))
		return at;
	return at + len;
}

/* Send a saved exec with the current task's header; kpath (kernel) replaces the path if set,
 * and `file` (the exec'd file) adds its real path when it differs. */
static __always_inline void exec_emit(struct exec_event *saved, __s64 ret, const char *kpath,
				      struct file *file)
{
	struct exec_event *e = scratch(0);
	__u16 action, flags;
	__u32 off, at;

	if (!e)
		return;
	bpf_probe_read_kernel(e, sizeof(*e), saved);
	action = e->h.action;
	flags = e->h.flags;
	fill_header(&e->h, EK_EXEC, action, ret);
	off = exec_path_off(e);
	if (kpath) {
		long n = bpf_probe_read_kernel_str(&e->data[off], PATH_LEN, kpath);

		flags &= ~EF_PATH_TRUNCATED;
		e->path_len = n > 0 ? n - 1 : 0;
		if (n == PATH_LEN)
			flags |= EF_PATH_TRUNCATED;
		/* "./tool": name it from the cwd now, while the process surely exists. */
		e->path_len = resolve_relative(&e->data[off], e->path_len, ABI_AT_FDCWD, &flags,
					       EF_PATH_TRUNCATED);
	}
	e->h.flags = flags;
	e->real_len = 0;
	e->_pad = 0;
	at = exec_env(e, exec_cwd(e, off));
	barrier_var(at);
	if (file && e->path_len && at <= 2 * ARGS_LEN + 2 * PATH_LEN + 2 * ENV_LEN) {
		e->real_len = real_path_if_differs(&e->data[at], &e->data[off], e->path_len, file);
		if (e->real_len)
			at += (e->real_len & (PATH_LEN - 1)) + 1;
	}
	emit(e, offsetof(struct exec_event, data) + at);
}

/* The file an exec ran, or NULL for a script: by sched_process_exec bprm->file is its
 * interpreter's (binfmt_script gave bprm->interp a name of its own then). */
static __always_inline struct file *exec_file(struct linux_binprm *bprm)
{
	if (BPF_CORE_READ(bprm, interp) != BPF_CORE_READ(bprm, filename))
		return NULL;
	return BPF_CORE_READ(bprm, file);
}

SEC("tracepoint/syscalls/sys_enter_execve")
int tracepoint__syscalls__sys_enter_execve(struct trace_event_raw_sys_enter *ctx)
{
	return exec_enter((const char *)ctx->args[0], (const char *const *)ctx->args[1],
			  (const char *const *)ctx->args[2], EA_EXECVE);
}

SEC("tracepoint/syscalls/sys_enter_execveat")
int tracepoint__syscalls__sys_enter_execveat(struct trace_event_raw_sys_enter *ctx)
{
	return exec_enter((const char *)ctx->args[1], (const char *const *)ctx->args[2],
			  (const char *const *)ctx->args[3], EA_EXECVEAT);
}

/* Success: the execing thread may have changed tid (de_thread), hence old_pid. */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(handle_sched_process_exec, struct task_struct *p, pid_t old_pid,
	     struct linux_binprm *bprm)
{
	__u32 key = old_pid;
	struct exec_event *saved = bpf_map_lookup_elem(&em_execs, &key);
	struct exec_event *e;

	/* Exec closed the O_CLOEXEC fds without close(2): their totals go out here. */
	io_flush_process(current_pid(), IE_EXEC);
	/* The ids the exec left, just before the exec record (same CPU: ring order kept). */
	cred_exec_emit(bprm);
	if (saved) {
		exec_emit(saved, 0, BPF_CORE_READ(bprm, filename), exec_file(bprm));
		bpf_map_delete_elem(&em_execs, &key);
		return 0;
	}
	/* Exec began before we attached: no argv, but the exec itself is still reported. */
	e = scratch(0);
	if (!e)
		return 0;
	e->h.action = EA_EXECVE;
	e->h.flags = EF_ARGS_TRUNCATED;
	e->argc = 0;
	e->args_len = 0;
	e->path_len = 0;
	e->env_len = 0;
	e->env_count = 0;
	bpf_map_update_elem(&em_execs, &key, e, BPF_ANY);
	saved = bpf_map_lookup_elem(&em_execs, &key);
	if (saved) {
		exec_emit(saved, 0, BPF_CORE_READ(bprm, filename), exec_file(bprm));
		bpf_map_delete_elem(&em_execs, &key);
	}
	return 0;
}

/* Failure is reported at exit; success was reported by sched_process_exec. */
static __always_inline int exec_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u32 tid = current_tid();
	struct exec_event *saved = bpf_map_lookup_elem(&em_execs, &tid);

	if (!saved)
		return 0;
	if (ctx->ret < 0)
		exec_emit(saved, ctx->ret, NULL, NULL);
	bpf_map_delete_elem(&em_execs, &tid);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_execve")
int tracepoint__syscalls__sys_exit_execve(struct trace_event_raw_sys_exit *ctx)
{
	return exec_exit(ctx);
}

SEC("tracepoint/syscalls/sys_exit_execveat")
int tracepoint__syscalls__sys_exit_execveat(struct trace_event_raw_sys_exit *ctx)
{
	return exec_exit(ctx);
}

/* fork family: the parent's exit reports the child, with the clone flags from its arguments. */
static __always_inline int fork_exit(struct trace_event_raw_sys_exit *ctx, __u16 action)
{
	struct start_args args;
	struct fork_event *e;
	__s64 ret = ctx->ret; /* read once: the verifier refuses a ctx pointer moved by CSE */
	__u64 flags = 0;

	if (ret == 0 || !exit_args(&args)) /* ret 0: the child's side */
		return 0;
	e = scratch(0);
	if (!e)
		return 0;
	switch (action) {
	case EA_FORK:
		flags = SIGCHLD;
		break;
	case EA_VFORK:
		flags = CLONE_VFORK | CLONE_VM | SIGCHLD;
		break;
	case EA_CLONE:
		flags = args.args[0];
		break;
	case EA_CLONE3:
		bpf_probe_read_user(&flags, sizeof(flags), (void *)args.args[0]);
		break;
	}
	fill_header(&e->h, EK_FORK, action, ret);
	/* Stamp the record with the child's creation (sched_process_fork), not this exit. Only
	 * in the initial PID namespace: elsewhere ret is the child's pid in the caller's. */
	if (ret > 0 && !e->h.pidns) {
		__u32 child = ret;
		__u64 *born = bpf_map_lookup_elem(&em_fork_time, &child);

		if (born) {
			if (*born >= e->h.start_ns && *born <= e->h.ktime_ns)
				e->h.ktime_ns = *born;
			bpf_map_delete_elem(&em_fork_time, &child);
		}
	}
	e->clone_flags = flags;
	e->child_tid = ret > 0 ? ret : 0;
	e->child_pid = e->child_tid;
	if (flags & CLONE_THREAD) {
		e->h.flags |= EF_THREAD;
		e->child_pid = e->h.pid;
	}
	emit(e, sizeof(*e));
	return 0;
}

/* A task is created: note when, for the parent's fork record (fork_exit). Kernel threads
 * (no syscall exit to take it) and filtered processes note nothing. */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(handle_sched_process_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 tid = child->pid;
	__u64 now;

	if ((parent->flags & PF_KTHREAD_FLAG) || task_filtered())
		return 0;
	now = bpf_ktime_get_ns();
	bpf_map_update_elem(&em_fork_time, &tid, &now, BPF_ANY);
	return 0;
}

SYSCALL_EXIT_HOOK(fork, fork_exit, EA_FORK)
SYSCALL_EXIT_HOOK(vfork, fork_exit, EA_VFORK)
SYSCALL_EXIT_HOOK(clone, fork_exit, EA_CLONE)
SYSCALL_EXIT_HOOK(clone3, fork_exit, EA_CLONE3)

/* Process exit: report once, when the last thread of the group goes (signal->live hits 0).
 * That thread may be any of them (an io_uring SQPOLL thread `iou-sqp-<pid>`, a worker that
 * renamed itself), so the exit is judged by ignore_comms and named by the process's name: the
 * group leader's comm (the exec's name; a leader gone before its threads stays a zombie with
 * its task_struct until the group is reaped). */
#define SIGNAL_GROUP_EXIT 0x00000004 /* include/linux/sched/signal.h */

SEC("raw_tp/sched_process_exit")
int BPF_PROG(handle_sched_process_exit, struct task_struct *p)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct comm_key name = {};
	struct exit_event *e;
	__u32 code;

	if (task->signal->live.counter != 0)
		return 0;
	/* Before the exit record: a process's events precede its exit. Before the filter too: a
	 * process that counted I/O and then exec'd into an ignored name still owes its totals
	 * (and its map entries). */
	io_flush_process(current_pid(), IE_EXIT);
	if (current_pid() == targ_self_pid)
		return 0;
	bpf_probe_read_kernel_str(name.comm, sizeof(name.comm), task->group_leader->comm);
	if (targ_comm_filter && bpf_map_lookup_elem(&em_ign_comm, &name))
		return 0;
	e = scratch(0);
	if (!e)
		return 0;
	/* The process's status, as wait(2) reports it: a group exit's code (exit_group, a fatal
	 * signal) when there was one; an SQPOLL thread killed with its process ends with 0. */
	code = (task->signal->flags & SIGNAL_GROUP_EXIT) ? task->signal->group_exit_code
							 : task->exit_code;
	fill_header(&e->h, EK_EXIT, EA_EXIT, code);
	__builtin_memcpy(e->h.comm, name.comm, sizeof(e->h.comm));
	e->exit_code = code;
	e->_pad = 0;
	emit(e, sizeof(*e));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
