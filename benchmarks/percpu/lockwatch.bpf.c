// SPDX-License-Identifier: GPL-2.0
/*
 * Counts the slow path of the kernel's resilient spin lock (rqspinlock, which guards a BPF ring
 * buffer's reserve since 6.15) and how often it gave up: a ring-buffer write whose lock was
 * given up is a drop with the ring far from full. [0] queued slow path taken, [1] of them
 * failed; [2] test-and-set path (hypervisor, no paravirt spinlocks) taken, [3] of them failed.
 * All rqspinlock users are counted (BPF hash/LPM maps take it too), not only rings.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} lockstats SEC(".maps");

static __always_inline void bump(__u32 key)
{
	__u64 *c = bpf_map_lookup_elem(&lockstats, &key);

	if (c)
		*c += 1;
}

SEC("kretprobe/resilient_queued_spin_lock_slowpath")
int BPF_KRETPROBE(queued_ret, int ret)
{
	bump(0);
	if (ret)
		bump(1);
	return 0;
}

SEC("kretprobe/resilient_tas_spin_lock")
int BPF_KRETPROBE(tas_ret, int ret)
{
	bump(2);
	if (ret)
		bump(3);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
