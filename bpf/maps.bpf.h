/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every map of the monitor, and the types of their values. Defined __weak, so that
 * `bpftool gen object` keeps one copy when several concern files include this.
 * Included by common.bpf.h after the load-time settings.
 */
#ifndef EBPF_MONITOR_MAPS_BPF_H
#define EBPF_MONITOR_MAPS_BPF_H

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024 * 1024);
} em_events SEC(".maps") __weak;

/* Failed ring-buffer writes, per CPU and per record kind: the drop record. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, EK_MAX);
	__type(key, __u32);
	__type(value, __u64);
} em_drops SEC(".maps") __weak;

/* The part of em_drops that failed while less than half the ring was pending: not a full
 * ring. Seen when the reader's store of the consumer position passed through 0 (fixed in
 * ringbuf.py); the ring's lock (an rqspinlock since 6.15) can also give up, after 250 ms.
 * em_drops minus this is the drops "without room": the reader too slow for the ring. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, EK_MAX);
	__type(key, __u32);
	__type(value, __u64);
} em_drops_room SEC(".maps") __weak;

struct start_args {
	__u64 args[5];
};

/* Exec path and argv read at enter (the old mm is gone by the time exec succeeds). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, EXEC_ENTRIES);
	__type(key, __u32);
	__type(value, struct exec_event);
} em_execs SEC(".maps") __weak;

/* When a task was created (sched_process_fork), by its tid, until the parent's clone exit
 * stamps the fork record with it: a child's exec or exit can reach the ring before its
 * parent's syscall returns (vfork), and must not carry an earlier time than its creation. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, __u64);
} em_fork_time SEC(".maps") __weak;

struct fd_info {
	__u16 target;   /* enum fd_target */
	__u16 ignored;  /* filtered path: drop the fd's reads and writes too */
	__u16 path_len;
	__u16 _pad;
	/* The struct file it named, and that file's inode: an fd closed without close(2) (exec's
	 * O_CLOEXEC, close_range) and reused for a pipe or eventfd no longer matches, so a stale
	 * entry is never believed. The inode too, because a freed struct file is often reused at
	 * the same address for the next file opened (slab LIFO). */
	__u64 file;
	__u64 inode;
	struct sock_info sock;
	/* capture.read_write "first": totals since the fd was seen, sent when it goes away.
	 * Atomic adds: threads share fds. */
	__u64 reads;
	__u64 writes;
	__u64 bytes_read;
	__u64 bytes_written;
	__u64 ino;      /* FI_UNTRACKED: inode, device and type, as rw_event carries them */
	__u32 dev;
	__u32 imode;
	__u64 seen;     /* FI_* bits; 64-bit: clang 14's default BPF CPU has no 32-bit fetch ops */
	char path[PATH_LEN];
};

enum fd_info_bit {
	FI_READ_SENT = 1 << 0,  /* the fd's first read-type call went out as rw_event */
	FI_WRITE_SENT = 1 << 1,
	FI_UNTRACKED = 1 << 2,  /* made at its first I/O, not at open: no path */
};

/* What each open fd refers to, by (pid << 32 | fd); filled at open/socket/accept, cut at close. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, FD_ENTRIES);
	__type(key, __u64);
	__type(value, struct fd_info);
} em_fds SEC(".maps") __weak;

/* "first" mode: the highest fd of a process with counted I/O, so exit and exec look at
 * fds 0..max_fd only, and only for processes that did I/O. */
struct io_proc {
	__u64 max_fd; /* 64-bit for the compare-and-swap, as fd_info.seen */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, IO_PROC_ENTRIES);
	__type(key, __u32);
	__type(value, struct io_proc);
} em_io_procs SEC(".maps") __weak;

struct scratch {
	__u8 buf[SCRATCH_LEN];
};

/* Records are built here, then copied out with only their filled bytes. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 3); /* 0: the record, 1: an fd_info, 2: path building */
	__type(key, __u32);
	__type(value, struct scratch);
} em_scratch SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, struct comm_key);
	__type(value, __u8);
} em_ign_comm SEC(".maps") __weak;

/* capture.exec_env_vars: the environment variables an exec record keeps, by name. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, ENV_NAMES_MAX);
	__type(key, struct env_key);
	__type(value, __u8);
} em_env_names SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 256);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct prefix_key);
	__type(value, __u8);
} em_ign_path SEC(".maps") __weak;

static __always_inline void *scratch(__u32 slot)
{
	return bpf_map_lookup_elem(&em_scratch, &slot);
}

#endif /* EBPF_MONITOR_MAPS_BPF_H */
