// SPDX-License-Identifier: GPL-2.0
/*
 * Shared ring vs one ring per CPU, in isolation from the product's object (issue 10, item 5).
 *
 * One program on sys_enter_openat sends a record like the product's open record (header +
 * path) either into one shared BPF ring buffer (targ_percpu = 0, the product's design) or into
 * the ring of the current CPU, looked up in an ARRAY_OF_MAPS (targ_percpu = 1, Falco's modern
 * probe). Wake-ups follow the product's emit(): only the record crossing targ_wakeup_bytes
 * of pending data wakes the reader. Each failed write is counted per CPU together with how much
 * data was pending in that ring at the moment: a drop with the ring far from full is not a
 * space problem.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define PATH_LEN 256

const volatile __u32 targ_self_pid = 0;
const volatile __u8 targ_percpu = 0;
const volatile __u64 targ_wakeup_bytes = 256 * 1024;

struct rec {
	__u16 kind;
	__u16 size;
	__u32 pid;
	__u32 tid;
	__u32 cpu;
	__u64 ktime_ns;
	char path[PATH_LEN];
};

struct ring {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20); /* template; user space creates the real rings */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);       /* set to the number of possible CPUs before load */
	__type(key, __u32);
	__array(values, struct ring);
} rings SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20); /* resized before load */
} shared SEC(".maps");

/* Per CPU: [0] records sent, [1] drops, [2] drops while less than half the ring was pending,
 * [3] the most data pending at any drop, [4] no ring for this CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 5);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rec);
} scratch SEC(".maps");

static __always_inline void bump(__u32 key, __u64 by)
{
	__u64 *c = bpf_map_lookup_elem(&counts, &key);

	if (c)
		*c += by;
}

static __always_inline void note_max(__u32 key, __u64 v)
{
	__u64 *c = bpf_map_lookup_elem(&counts, &key);

	if (c && v > *c)
		*c = v;
}

SEC("tracepoint/syscalls/sys_enter_openat")
int on_openat(struct trace_event_raw_sys_enter *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 zero = 0, cpu;
	struct rec *r;
	void *rb;
	long n;

	if ((__u32)(id >> 32) == targ_self_pid)
		return 0;
	r = bpf_map_lookup_elem(&scratch, &zero);
	if (!r)
		return 0;
	cpu = bpf_get_smp_processor_id();
	r->kind = 4;
	r->pid = id >> 32;
	r->tid = (__u32)id;
	r->cpu = cpu;
	r->ktime_ns = bpf_ktime_get_ns();
	n = bpf_probe_read_user_str(r->path, sizeof(r->path), (const char *)ctx->args[1]);
	if (n < 0)
		n = 0;
	__u32 size = offsetof(struct rec, path) + n;
	if (size > sizeof(*r))
		size = sizeof(*r);
	r->size = size;

	if (targ_percpu) {
		rb = bpf_map_lookup_elem(&rings, &cpu);
		if (!rb) {
			bump(4, 1);
			return 0;
		}
	} else {
		rb = &shared;
	}
	__u64 avail = bpf_ringbuf_query(rb, BPF_RB_AVAIL_DATA);
	__u64 flags = avail < targ_wakeup_bytes && avail + size >= targ_wakeup_bytes ?
			      BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
	if (bpf_ringbuf_output(rb, r, size, flags)) {
		avail = bpf_ringbuf_query(rb, BPF_RB_AVAIL_DATA);
		bump(1, 1);
		if (avail < bpf_ringbuf_query(rb, BPF_RB_RING_SIZE) / 2)
			bump(2, 1);
		note_max(3, avail);
	} else {
		bump(0, 1);
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
