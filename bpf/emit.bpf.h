/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Building a record's header and sending records to the ring buffer: the one place where a
 * record can be lost, counted per CPU and kind (em_drops, em_drops_room).
 */
#ifndef EBPF_MONITOR_EMIT_BPF_H
#define EBPF_MONITOR_EMIT_BPF_H

/* The context every event carries (cgroup, namespaces, parent start, terminal, session and
 * its leader's start):
 * plain loads through BTF pointers (a NULL on the way, as for an exiting task's nsproxy, reads
 * 0), one helper call (two without targ_direct_loads). */
static __always_inline void fill_context(struct event_header *h, struct task_struct *task)
{
	struct signal_struct *sig = task->signal;
	struct tty_struct *tty = sig->tty;
	struct pid *session = sig->pids[PIDTYPE_SID];
	struct upid up;

	h->cgroup_id = bpf_get_current_cgroup_id();
	h->parent_start_ns = task->real_parent->group_leader->start_time;
	h->mntns = task->nsproxy->mnt_ns->ns.inum;
	h->netns = task->nsproxy->net_ns->ns.inum;
	h->tty = 0;
	if (tty)
		h->tty = (__u32)tty->driver->major << 20 |
			 (((__u32)tty->driver->minor_start + (__u32)tty->index) & 0xfffff);
	h->sid = session && pid_upid(session, 0, &up) ? up.nr : 0;
	/* The leader is the task still holding the session's pid as its own (PIDTYPE_PID);
	 * none once it has exited. */
	h->sid_start_ns = 0;
	if (session) {
		struct hlist_node *first = session->tasks[PIDTYPE_PID].first;

		if (first) {
			/* container_of: an address the verifier no longer types. */
			void *leader = (void *)first - bpf_core_field_offset(struct task_struct,
									       pid_links);

			if (targ_direct_loads)
				h->sid_start_ns = kcast(leader, struct task_struct)->start_time;
			else
				h->sid_start_ns = BPF_CORE_READ((struct task_struct *)leader,
								start_time);
		}
	}
}

static __always_inline void fill_header(struct event_header *h, __u16 kind, __u16 action,
					__s64 ret)
{
	/* A BTF pointer: the field reads below are plain (fault-guarded) loads, not helper calls. */
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u64 uid_gid = bpf_get_current_uid_gid();

	h->kind = kind;
	h->action = action;
	h->flags = 0;
	h->pid = pid_tgid >> 32;
	h->tid = (__u32)pid_tgid;
	h->ppid = task->real_parent->tgid;
	h->uid = (__u32)uid_gid;
	h->gid = uid_gid >> 32;
	h->euid = task->cred->euid.val;
	h->ktime_ns = bpf_ktime_get_ns();
	h->start_ns = task->group_leader->start_time;
	h->ret = ret;
	bpf_get_current_comm(&h->comm, sizeof(h->comm));
	fill_pid_ns(h, task);
	fill_context(h, task);
}

/* emit() masks sizes with SCRATCH_LEN - 1, and the header's size field is a __u16. */
_Static_assert(sizeof(struct exec_event) < SCRATCH_LEN && SCRATCH_LEN <= 65536,
	       "records fit the scratch slot and the header's size field");

/* Count a failed write, per CPU and kind, and separately when it failed with room: less than
 * half the ring pending (asked only on this failure path, so writes that succeed pay nothing). */
static __always_inline void count_drop(__u32 kind)
{
	__u64 pending = bpf_ringbuf_query(&em_events, BPF_RB_AVAIL_DATA);
	__u64 ring = bpf_ringbuf_query(&em_events, BPF_RB_RING_SIZE);
	__u64 *count = bpf_map_lookup_elem(&em_drops, &kind);

	if (count)
		*count += 1;
	if (pending < ring / 2) {
		count = bpf_map_lookup_elem(&em_drops_room, &kind);
		if (count)
			*count += 1;
	}
}

/* The consumer position (+1, so that 0 means none) at which a record last woke the reader. */
volatile __u64 em_woken_at __weak = 0;

/* Send `size` bytes of a record. Wake the reader only when targ_wakeup_bytes become pending: a
 * wake-up per event costs more than the event itself (KERNEL-NOTES); the reader polls anyway. */
static __always_inline void emit(void *rec, __u32 size)
{
	struct event_header *h = rec;
	__u64 flags = 0;

	if (em_paused)
		return;
	size &= SCRATCH_LEN - 1;
	if (size < sizeof(*h))
		return;
	if (targ_wakeup_bytes) {
		/* Wake once per position of the reader: the first record to find the threshold
		 * reached since the reader last moved wakes it. A test of "this record crosses the
		 * threshold" alone can be passed by no record at all (two CPUs each see the ring
		 * below it, both writes together cross it), and the reader then sleeps through the
		 * backlog until its poll timeout. A wake-up (irq_work) per record while the reader
		 * catches up cost ~3.5 us each here, more than all the rest: this gives one per
		 * batch the reader takes. Two CPUs may both wake: harmless. */
		__u64 avail = bpf_ringbuf_query(&em_events, BPF_RB_AVAIL_DATA);
		__u64 mark = bpf_ringbuf_query(&em_events, BPF_RB_CONS_POS) + 1;

		flags = BPF_RB_NO_WAKEUP;
		if (avail + size >= targ_wakeup_bytes && em_woken_at != mark) {
			em_woken_at = mark;
			flags = BPF_RB_FORCE_WAKEUP;
		}
	}
	h->size = size;
	if (bpf_ringbuf_output(&em_events, rec, size, flags)) {
		if (flags == BPF_RB_FORCE_WAKEUP)
			em_woken_at = 0; /* no record, no wake-up: leave it to the next one */
		count_drop(h->kind < EK_MAX ? h->kind : 0);
	}
}

#endif /* EBPF_MONITOR_EMIT_BPF_H */
