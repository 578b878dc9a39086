// SPDX-License-Identifier: GPL-2.0
/*
 * Shared ring vs one ring per CPU, in isolation from the product's object (issue 10, item 5).
 *
 * One program on sys_enter_openat sends a record like the product's open record (header +
 * path) either into one shared BPF ring buffer (targ_percpu = 0, the product's design) or into
 * the ring of the current CPU, looked up in an ARRAY_OF_MAPS (targ_percpu = 1, Falco's modern
 * probe). Wake-ups follow the product's emit() (bpf/emit.bpf.h): the first record to find
 * targ_wakeup_bytes pending since the reader last moved wakes it.
 *
 * Each failed write is taken apart, to prove or disprove why the kernel refused it:
 * - with less than half the ring pending (the product's em_drops_room rule), or not;
 * - by the ring's own rule, from its state read through BTF right after the failure: would
 *   this record have fit (producer + len - consumer and producer + len - pending_pos both
 *   within the ring)? If it would, the reserve failed on its lock (rqspinlock since 6.15);
 * - by the time spent inside the failing helper: the rqspinlock gives up only after 1 ms of
 *   spinning (deadlock checks) or 250 ms (timeout), while a full ring fails in ~100 ns.
 * The time around every write is taken in both modes (two clock reads per record, the same
 * cost for both).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#define PATH_LEN 256
#define MAX_CPUS 64
#define SLOW_NS 1000000ULL /* 1 ms: the rqspinlock's first deadlock check */

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

enum counter {
	C_SENT,          /* records written */
	C_DROPS,         /* failed writes */
	C_DROPS_ROOM,    /* ... with less than half the ring pending (the product's rule) */
	C_MAX_PENDING,   /* the most data pending at any drop */
	C_NO_RING,       /* no ring for this CPU */
	C_DROPS_FIT,     /* failed writes that the ring's state says would have fit */
	C_DROPS_SLOW,    /* failed writes that spent >= 1 ms in the helper */
	C_MAX_FAIL_NS,   /* the longest failing helper call */
	C_OK_SLOW,       /* writes that succeeded after >= 1 ms in the helper */
	C_MAX_OK_NS,     /* the longest successful helper call */
	C_LOCK_WAITS,    /* lock:contention_begin on a ring's lock */
	C_LOCK_FAILS,    /* lock:contention_end with an error on a ring's lock */
	C_ANY_LOCK_FAILS, /* lock:contention_end with an error, any lock */
	C_MAX,
};

/* Per CPU, see enum counter. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, C_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rec);
} scratch SEC(".maps");

/* Per ring: the consumer position (+1) at which a record last woke the reader. */
__u64 woken_at[MAX_CPUS];
/* Per ring: the address of its lock, as lock:contention_* report it. */
__u64 lock_addr[MAX_CPUS];

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

/* Would a record of `size` bytes fit the ring now, by the kernel's own test in
 * __bpf_ringbuf_reserve? Read through the map's BTF (struct bpf_ringbuf_map). */
static __always_inline bool would_fit(void *map, __u32 size)
{
	struct bpf_ringbuf *rb = ((struct bpf_ringbuf_map *)map)->rb;
	__u64 len = (size + 8 + 7) & ~7ULL;
	__u64 mask = rb->mask;
	__u64 cons = rb->consumer_pos;
	__u64 prod = rb->producer_pos;
	__u64 pend = rb->pending_pos;

	return prod + len - cons <= mask && prod + len - pend <= mask;
}

SEC("tracepoint/syscalls/sys_enter_openat")
int on_openat(struct trace_event_raw_sys_enter *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 zero = 0, cpu, slot;
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
			bump(C_NO_RING, 1);
			return 0;
		}
		slot = cpu & (MAX_CPUS - 1);
	} else {
		rb = &shared;
		slot = 0;
	}
	__u64 avail = bpf_ringbuf_query(rb, BPF_RB_AVAIL_DATA);
	__u64 mark = bpf_ringbuf_query(rb, BPF_RB_CONS_POS) + 1;
	__u64 flags = BPF_RB_NO_WAKEUP;

	if (avail + size >= targ_wakeup_bytes && woken_at[slot] != mark) {
		woken_at[slot] = mark;
		flags = BPF_RB_FORCE_WAKEUP;
	}
	if (!lock_addr[slot])
		lock_addr[slot] = (__u64)&((struct bpf_ringbuf_map *)rb)->rb->spinlock;
	__u64 t0 = bpf_ktime_get_ns();
	long err = bpf_ringbuf_output(rb, r, size, flags);
	__u64 took = bpf_ktime_get_ns() - t0;

	if (err) {
		if (flags == BPF_RB_FORCE_WAKEUP)
			woken_at[slot] = 0;
		avail = bpf_ringbuf_query(rb, BPF_RB_AVAIL_DATA);
		bump(C_DROPS, 1);
		if (avail < bpf_ringbuf_query(rb, BPF_RB_RING_SIZE) / 2)
			bump(C_DROPS_ROOM, 1);
		note_max(C_MAX_PENDING, avail);
		if (would_fit(rb, size))
			bump(C_DROPS_FIT, 1);
		if (took >= SLOW_NS)
			bump(C_DROPS_SLOW, 1);
		note_max(C_MAX_FAIL_NS, took);
	} else {
		bump(C_SENT, 1);
		if (took >= SLOW_NS)
			bump(C_OK_SLOW, 1);
		note_max(C_MAX_OK_NS, took);
	}
	return 0;
}

static __always_inline bool ring_lock(__u64 addr)
{
	for (int i = 0; i < MAX_CPUS; i++)
		if (lock_addr[i] == addr)
			return true;
	return false;
}

/* The rqspinlock reports here only from its queue (a third contender, or NMI); the usual
 * waiter of a 2-CPU host takes the pending bit and is not reported, neither when it gives up. */
SEC("tracepoint/lock/contention_begin")
int on_contention_begin(struct trace_event_raw_contention_begin *ctx)
{
	if (ring_lock((__u64)ctx->lock_addr))
		bump(C_LOCK_WAITS, 1);
	return 0;
}

SEC("tracepoint/lock/contention_end")
int on_contention_end(struct trace_event_raw_contention_end *ctx)
{
	if (!ctx->ret)
		return 0;
	bump(C_ANY_LOCK_FAILS, 1);
	if (ring_lock((__u64)ctx->lock_addr))
		bump(C_LOCK_FAILS, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
