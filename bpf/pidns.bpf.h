/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A task's pids as seen inside its own PID namespace (the numbers `ps` shows in a container).
 * Shared by the monitor (event headers) and selfpid.bpf.c (finding the monitor's host pid).
 * The kernel keeps one `struct upid` per namespace level in `struct pid`: numbers[0] is the
 * initial namespace's (the host pid), numbers[level] the task's own namespace's.
 */
#ifndef EBPF_MONITOR_PIDNS_BPF_H
#define EBPF_MONITOR_PIDNS_BPF_H

#include "events.h"

/* numbers[level] of p. The array is variable-length, so read it with a helper call at a
 * computed address, not through the BTF pointer. */
static __always_inline bool pid_upid(struct pid *p, unsigned int level, struct upid *out)
{
	__u64 at = (__u64)p + bpf_core_field_offset(struct pid, numbers) +
		   (__u64)level * bpf_core_type_size(struct upid);

	return bpf_probe_read_kernel(out, sizeof(*out), (void *)at) == 0;
}

/* p's number in namespace ns (at `level`), or 0 when p is not in it (a parent outside a
 * container: `ps` there shows 0 too). */
static __always_inline __u32 pid_nr_in(struct pid *p, unsigned int level,
				       struct pid_namespace *ns)
{
	struct upid up;

	if (!p || BPF_CORE_READ(p, level) < level || !pid_upid(p, level, &up) || up.ns != ns)
		return 0;
	return up.nr;
}

/* The header's ns_* fields. Host processes (level 0) cost two loads and leave them 0. */
static __always_inline void fill_pid_ns(struct event_header *h, struct task_struct *task)
{
	struct pid *p = task->thread_pid;
	unsigned int level = p->level;
	struct upid up;

	if (!level || !pid_upid(p, level, &up)) {
		h->ns_pid = h->ns_tid = h->ns_ppid = h->pidns = 0;
		return;
	}
	h->ns_tid = up.nr;
	h->ns_pid = pid_nr_in(BPF_CORE_READ(task, group_leader, thread_pid), level, up.ns);
	h->ns_ppid = pid_nr_in(BPF_CORE_READ(task, real_parent, group_leader, thread_pid), level,
			       up.ns);
	h->pidns = BPF_CORE_READ(up.ns, ns.inum);
}

#endif /* EBPF_MONITOR_PIDNS_BPF_H */
