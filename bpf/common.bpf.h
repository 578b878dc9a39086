/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared by the concern files: maps (__weak, so `bpftool gen object` links one copy), settings,
 * the self/comm filters, path filters and the emit path with per-CPU drop counters.
 */
#ifndef EBPF_MONITOR_COMMON_BPF_H
#define EBPF_MONITOR_COMMON_BPF_H

#include "events.h"
#include "pidns.bpf.h"

#define AT_FDCWD -100
#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define AF_INET 2
#define AF_INET6 10
#define CLONE_VM 0x00000100
#define CLONE_VFORK 0x00004000
#define CLONE_THREAD 0x00010000
#define SIGCHLD 17
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

/* Start an fd_info's "first"-mode part afresh (open, socket, connect/bind/accept). */
static __always_inline void fd_info_clear_io(struct fd_info *fi)
{
	fi->reads = 0;
	fi->writes = 0;
	fi->bytes_read = 0;
	fi->bytes_written = 0;
	fi->ino = 0;
	fi->dev = 0;
	fi->imode = 0;
	fi->seen = 0;
}

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
}

static __always_inline void count_drop(__u32 kind)
{
	__u64 *count = bpf_map_lookup_elem(&em_drops, &kind);

	if (count)
		*count += 1;
}

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
		/* Wake only the record that crosses the threshold: a wake-up (irq_work) per record
		 * while the reader catches up cost ~3.5 us each here, more than all the rest. */
		__u64 avail = bpf_ringbuf_query(&em_events, BPF_RB_AVAIL_DATA);

		flags = avail < targ_wakeup_bytes && avail + size >= targ_wakeup_bytes ?
				BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
	}
	h->size = size;
	if (bpf_ringbuf_output(&em_events, rec, size, flags))
		count_drop(h->kind < EK_MAX ? h->kind : 0);
}

/* Read a user path into dst (PATH_LEN bytes); returns its length without the NUL, or -1. */
static __always_inline int read_user_path(char *dst, const char *src, __u16 *flags, __u16 bit)
{
	long n = bpf_probe_read_user_str(dst, PATH_LEN, src);

	if (n <= 0) {
		dst[0] = 0;
		return n == 0 ? 0 : -1;
	}
	if (n == PATH_LEN)
		*flags |= bit;
	return n - 1;
}

/* Names ending in ".so" or holding ".so." followed by a digit: what ld.so opens. */
static __always_inline bool is_shared_library(const char *path, int len)
{
	if (len < 4 || len >= PATH_LEN)
		return false;
	if (path[(len - 3) & (PATH_LEN - 1)] == '.' && path[(len - 2) & (PATH_LEN - 1)] == 's' &&
	    path[(len - 1) & (PATH_LEN - 1)] == 'o')
		return true;
	for (int i = 0; i < 32; i++) {
		int at = len - 5 - i;

		if (at < 1)
			break;
		if (path[at & (PATH_LEN - 1)] == '/')
			break;
		if (path[at & (PATH_LEN - 1)] == '.' && path[(at + 1) & (PATH_LEN - 1)] == 's' &&
		    path[(at + 2) & (PATH_LEN - 1)] == 'o' && path[(at + 3) & (PATH_LEN - 1)] == '.') {
			char d = path[(at + 4) & (PATH_LEN - 1)];

			if (d >= '0' && d <= '9')
				return true;
		}
	}
	return false;
}

/* True when `path` (len bytes) starts with a configured prefix. */
static __always_inline bool path_prefix_ignored(const char *path, int len)
{
	struct prefix_key key = {};

	if (!targ_path_filter || len <= 0)
		return false;
	if (len > PREFIX_LEN)
		len = PREFIX_LEN;
	bpf_probe_read_kernel(&key.data, sizeof(key.data), path);
	key.prefixlen = len * 8;
	return bpf_map_lookup_elem(&em_ign_path, &key) != NULL;
}

static __always_inline bool path_ignored(const char *path, int len)
{
	if (path_prefix_ignored(path, len))
		return true;
	return targ_skip_shlib && is_shared_library(path, len);
}

static __always_inline __u64 fd_key(__u32 pid, int fd)
{
	return ((__u64)pid << 32) | (__u32)fd;
}

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

/* The struct file behind fd in the current task, or NULL. */
static __always_inline struct file *file_of_fd(int fd)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct fdtable *fdt = task->files->fdt;
	struct file **fds;
	struct file *f = NULL;
	unsigned int max;

	if (!fdt || fd < 0)
		return NULL;
	max = fdt->max_fds;
	if ((unsigned int)fd >= max)
		return NULL;
	fds = fdt->fd;
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	return f;
}

/* Point an fd entry at f (see struct fd_info). */
static __always_inline void fd_info_set_file(struct fd_info *fi, struct file *f)
{
	fi->file = (__u64)f;
	fi->inode = f ? (__u64)BPF_CORE_READ(f, f_inode) : 0;
}

/* True when the entry still names f, the file now behind its fd. */
static __always_inline bool fd_info_current(const struct fd_info *fi, struct file *f)
{
	return f && fi->file == (__u64)f && fi->inode == (__u64)BPF_CORE_READ(f, f_inode);
}

static __always_inline void fill_sock(struct sock_info *si, struct socket *sock)
{
	struct sock *sk = BPF_CORE_READ(sock, sk);

	si->type = BPF_CORE_READ(sock, type);
	if (!sk)
		return;
	si->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	si->protocol = BPF_CORE_READ(sk, sk_protocol);
	si->lport = BPF_CORE_READ(sk, __sk_common.skc_num);
	si->rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (si->family == AF_INET) {
		BPF_CORE_READ_INTO(&si->laddr, sk, __sk_common.skc_rcv_saddr);
		BPF_CORE_READ_INTO(&si->raddr, sk, __sk_common.skc_daddr);
	} else if (si->family == AF_INET6) {
		BPF_CORE_READ_INTO(&si->laddr, sk, __sk_common.skc_v6_rcv_saddr);
		BPF_CORE_READ_INTO(&si->raddr, sk, __sk_common.skc_v6_daddr);
	}
}

/* Fill si from the socket behind fd; false when fd is not a socket. */
static __always_inline bool sock_of_fd(int fd, struct sock_info *si)
{
	struct file *f = file_of_fd(fd);
	umode_t mode;

	if (!f)
		return false;
	mode = BPF_CORE_READ(f, f_inode, i_mode);
	if ((mode & S_IFMT) != S_IFSOCK)
		return false;
	fill_sock(si, BPF_CORE_READ(f, private_data));
	return true;
}

/* Copy a user sockaddr's address and port into the local or remote half of si. */
static __always_inline bool read_sockaddr(struct sock_info *si, const void *uaddr, bool remote)
{
	struct sockaddr_in6 sa = {};
	__u16 family = 0;

	if (!uaddr || bpf_probe_read_user(&family, sizeof(family), uaddr))
		return false;
	if (family == AF_INET) {
		struct sockaddr_in *in = (void *)&sa;

		if (bpf_probe_read_user(in, sizeof(*in), uaddr))
			return false;
		si->family = AF_INET;
		if (remote) {
			si->rport = bpf_ntohs(in->sin_port);
			__builtin_memcpy(si->raddr, &in->sin_addr, 4);
		} else {
			si->lport = bpf_ntohs(in->sin_port);
			__builtin_memcpy(si->laddr, &in->sin_addr, 4);
		}
		return true;
	}
	if (family == AF_INET6) {
		if (bpf_probe_read_user(&sa, sizeof(sa), uaddr))
			return false;
		si->family = AF_INET6;
		if (remote) {
			si->rport = bpf_ntohs(sa.sin6_port);
			__builtin_memcpy(si->raddr, &sa.sin6_addr, 16);
		} else {
			si->lport = bpf_ntohs(sa.sin6_port);
			__builtin_memcpy(si->laddr, &sa.sin6_addr, 16);
		}
		return true;
	}
	si->family = family;
	return false;
}

/* Send an fd's "first"-mode totals, if it had any I/O. Builds in scratch slot 0. */
static __always_inline void emit_io_summary(int fd, const struct fd_info *fi, __u16 end)
{
	struct io_summary_event *e;
	__u32 size;

	if (!fi->reads && !fi->writes)
		return;
	e = scratch(0);
	if (!e)
		return;
	fill_header(&e->h, EK_IO_SUMMARY, EA_CLOSE, 0);
	if (fi->seen & FI_UNTRACKED)
		e->h.flags |= EF_FD_UNTRACKED;
	e->fd = fd;
	e->target = fi->target;
	e->end = end;
	e->_pad[0] = e->_pad[1] = e->_pad[2] = 0;
	e->reads = fi->reads;
	e->writes = fi->writes;
	e->bytes_read = fi->bytes_read;
	e->bytes_written = fi->bytes_written;
	e->ino = fi->ino;
	e->dev = fi->dev;
	e->imode = fi->imode;
	__builtin_memcpy(&e->sock, &fi->sock, sizeof(e->sock));
	e->path_len = 0;
	size = offsetof(struct io_summary_event, path);
	if (fi->target == FT_FILE && fi->path_len) {
		e->path_len = fi->path_len & (PATH_LEN - 1);
		bpf_probe_read_kernel_str(e->path, PATH_LEN, fi->path);
		size += e->path_len + 1;
	}
	emit(e, size);
}

/* The fd behind key goes away now (close(2), dup2 onto it): send its totals. An entry whose
 * file is no longer the fd's was closed earlier without close(2). */
static __always_inline void io_flush_fd(__u64 key, int fd)
{
	struct fd_info *fi = bpf_map_lookup_elem(&em_fds, &key);

	if (fi)
		emit_io_summary(fd, fi, fd_info_current(fi, file_of_fd(fd)) ? IE_CLOSE : IE_STALE);
}

/* "first" mode, before fd gets a new entry: an entry still there was left by an fd closed
 * without close(2) (close_range, exec); send its totals and drop it, so they are neither lost
 * nor sent twice. `fresh`: the syscall made a new fd (open, socket, accept), so even an entry
 * that looks current (same address and inode reused) is the old file's. Call before the
 * caller's record is built: the summary uses scratch slot 0. */
static __always_inline void io_retire_stale(__u32 pid, int fd, bool fresh)
{
	__u64 key = fd_key(pid, fd);
	struct fd_info *fi;

	if (targ_read_write != RW_FIRST || fd < 0)
		return;
	fi = bpf_map_lookup_elem(&em_fds, &key);
	if (!fi || (!fresh && fd_info_current(fi, file_of_fd(fd))))
		return;
	emit_io_summary(fd, fi, IE_STALE);
	bpf_map_delete_elem(&em_fds, &key);
}

struct io_flush_ctx {
	__u32 pid;
	__u16 end; /* IE_EXIT: every entry; IE_EXEC: those exec closed */
};

/* bpf_loop callback over fds 0..max_fd of a process that exits or execs. */
static long io_flush_step(__u32 fd, void *data)
{
	struct io_flush_ctx *c = data;
	__u64 key = fd_key(c->pid, fd);
	struct fd_info *fi = bpf_map_lookup_elem(&em_fds, &key);
	bool open;

	if (!fi)
		return 0;
	open = fd_info_current(fi, file_of_fd(fd));
	if (c->end == IE_EXEC) {
		if (open)
			return 0; /* survives the exec: keeps counting */
		emit_io_summary(fd, fi, IE_EXEC);
	} else {
		emit_io_summary(fd, fi, open ? IE_EXIT : IE_STALE);
	}
	bpf_map_delete_elem(&em_fds, &key);
	return 0;
}

/* Exit (the whole process) or exec: flush the fds that go away, if the process counted any.
 * The fd table is still intact at sched_process_exit (exit_files comes later in do_exit). */
static __always_inline void io_flush_process(__u32 pid, __u16 end)
{
	struct io_flush_ctx c = { .pid = pid, .end = end };
	struct io_proc *p;
	__u32 n;

	if (targ_read_write != RW_FIRST)
		return;
	p = bpf_map_lookup_elem(&em_io_procs, &pid);
	if (!p)
		return;
	n = p->max_fd + 1;
	if (n > IO_FLUSH_MAX_FDS)
		n = IO_FLUSH_MAX_FDS;
	bpf_loop(n, io_flush_step, &c, 0);
	if (end == IE_EXIT)
		bpf_map_delete_elem(&em_io_procs, &pid);
}

struct walk_ctx {
	struct dentry *dentry;
	struct vfsmount *vfsmnt;
	struct mount *mnt;
	int pos;  /* the path so far starts at buf[pos] and ends at buf[DIR_BUF] */
	int done; /* 1: reached the root; -1: too long */
};

/* One step up the tree, as d_path() walks it: a dentry, or a mount crossing. A bpf_loop
 * callback, so the verifier checks one step instead of PATH_DEPTH unrolled copies. */
static long walk_step(__u32 i, void *data)
{
	struct walk_ctx *w = data;
	/* Locals first: CO-RE reads relocate every step of their expression, and walk_ctx is
	 * ours, not the kernel's. */
	struct dentry *dentry = w->dentry;
	struct mount *mnt = w->mnt;
	struct vfsmount *vfsmnt = w->vfsmnt;
	struct dentry *root = BPF_CORE_READ(vfsmnt, mnt_root);
	struct dentry *parent = BPF_CORE_READ(dentry, d_parent);
	__u32 slot = 2, len;
	char *buf;
	int pos;

	if (dentry == root || dentry == parent) {
		struct mount *up = BPF_CORE_READ(mnt, mnt_parent);

		if (dentry != root || up == mnt) { /* the global root */
			w->done = 1;
			return 1;
		}
		w->dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
		w->mnt = up;
		w->vfsmnt = (void *)up + bpf_core_field_offset(struct mount, mnt);
		return 0;
	}
	buf = bpf_map_lookup_elem(&em_scratch, &slot);
	if (!buf)
		return 1;
	len = BPF_CORE_READ(dentry, d_name.len) & NAME_MASK;
	pos = w->pos - (int)(len + 1);
	if (pos < 0) {
		w->done = -1;
		return 1;
	}
	w->pos = pos;
	bpf_probe_read_kernel(&buf[(pos + 1) & (DIR_BUF - 1)], len, BPF_CORE_READ(dentry, d_name.name));
	buf[pos & (DIR_BUF - 1)] = '/';
	w->dentry = parent;
	return 0;
}

/* Write the absolute path of a kernel `struct path` just below buf[DIR_BUF] (scratch slot 2);
 * returns where it starts, or -1 when it is too deep or too long. */
static __always_inline int build_dir_path(const struct path *p)
{
	struct walk_ctx w = {};

	w.dentry = BPF_CORE_READ(p, dentry);
	w.vfsmnt = BPF_CORE_READ(p, mnt);
	w.mnt = (void *)w.vfsmnt - bpf_core_field_offset(struct mount, mnt);
	w.pos = DIR_BUF;
	bpf_loop(PATH_DEPTH, walk_step, &w, 0);
	if (w.done != 1)
		return -1;
	return w.pos == DIR_BUF ? DIR_BUF - 1 : w.pos; /* the root itself: "/" */
}

/* Make a relative path (len bytes in path, a PATH_LEN buffer) absolute against the cwd or the
 * dir fd, in the kernel: the process may be gone before user space could look. Returns the
 * new length; on failure the path stays relative (user space tries /proc). */
static __always_inline int resolve_relative(char *path, int len, int dfd, __u16 *flags, __u16 bit)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct path base;
	__u32 slot = 2;
	char *buf;
	int pos;
	long n;

	if (len <= 0 || path[0] == '/')
		return len;
	buf = bpf_map_lookup_elem(&em_scratch, &slot);
	if (!buf)
		return len;
	if (dfd == AT_FDCWD) {
		if (BPF_CORE_READ_INTO(&base, task, fs, pwd))
			return len;
	} else {
		struct file *f = file_of_fd(dfd);

		if (!f || BPF_CORE_READ_INTO(&base, f, f_path))
			return len;
	}
	pos = build_dir_path(&base);
	if (pos < 0)
		return len;
	if (pos == DIR_BUF - 1)
		buf[pos] = '/';
	/* dir at [pos, DIR_BUF), then "/" and the relative path, then copy back. */
	buf[DIR_BUF] = '/';
	bpf_probe_read_kernel_str(&buf[DIR_BUF + 1], PATH_LEN, path);
	n = bpf_probe_read_kernel_str(path, PATH_LEN, &buf[pos & (DIR_BUF - 1)]);
	if (n <= 0)
		return len;
	if (n == PATH_LEN)
		*flags |= bit;
	return n - 1;
}

/* One-line exit hook over a shared handler (which reads the arguments with exit_args or
 * syscall_args); the name follows the hook. */
#define SYSCALL_EXIT_HOOK(name, exit_fn, action)                                           \
	SEC("tracepoint/syscalls/sys_exit_" #name)                                         \
	int tracepoint__syscalls__sys_exit_##name(struct trace_event_raw_sys_exit *ctx)   \
	{                                                                                   \
		return exit_fn(ctx, action);                                                \
	}

#endif /* EBPF_MONITOR_COMMON_BPF_H */
