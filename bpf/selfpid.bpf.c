// SPDX-License-Identifier: GPL-2.0
/* Run once at start-up, before the monitor's own object loads: list every process as
 * (host pid, pid in its own PID namespace, that namespace's inode), so user space can find
 * its own host pid from what it knows (getpid() and /proc/self/ns/pid), which inside a
 * container differ from the host pid the kernel side compares with. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "pidns.bpf.h"

struct self_row {
	__u32 pid;    /* host pid (tgid) */
	__u32 ns_pid; /* the same process's pid in its own PID namespace */
	__u32 pidns;  /* that namespace's inode, as stat(/proc/<pid>/ns/pid) gives it */
};

SEC("iter/task")
int dump_task_pids(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	struct self_row row;
	struct upid up;
	struct pid *p;

	if (!task || task->pid != task->tgid)
		return 0; /* one row per process: its leader */
	p = task->thread_pid;
	if (!pid_upid(p, BPF_CORE_READ(p, level), &up))
		return 0;
	row.pid = task->tgid;
	row.ns_pid = up.nr;
	row.pidns = BPF_CORE_READ(up.ns, ns.inum);
	bpf_seq_write(ctx->meta->seq, &row, sizeof(row));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
