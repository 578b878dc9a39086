// SPDX-License-Identifier: GPL-2.0
/* io_uring: operations submitted through a ring never pass the syscall tracepoints of the calls
 * they stand for (read, write, openat, connect, send...), so they are watched here: the
 * io_uring_setup syscall, and each operation from its submission (io_uring_submit_req: the
 * submitter is current), through the lookup of its fd (io_uring_file_get: the fd table names
 * it) to its completion (io_uring_complete: the result), one record per operation, sent at
 * completion. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "common.bpf.h"

#define URING_PENDING 4096
#define REQ_F_FIXED_FILE 1    /* REQ_F_FIXED_FILE_BIT = IOSQE_FIXED_FILE_BIT = 0 */
#define IORING_CQE_F_MORE 2   /* more completions of this (multishot) request follow */
#define IORING_SETUP_SQPOLL 2

/* Operations submitted, not yet completed, by request address. An operation never completed
 * (its ring torn down first) is evicted in time (LRU). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, URING_PENDING);
	__type(key, __u64);
	__type(value, struct uring_event);
} em_uring_pending SEC(".maps");

SEC("tracepoint/syscalls/sys_exit_io_uring_setup")
int tracepoint__syscalls__sys_exit_io_uring_setup(struct trace_event_raw_sys_exit *ctx)
{
	struct start_args a;
	struct uring_event *e;
	__u32 flags = 0;

	if (!exit_args(&a))
		return 0;
	e = scratch(0);
	if (!e)
		return 0;
	__builtin_memset(e, 0, offsetof(struct uring_event, path));
	fill_header(&e->h, EK_URING, EA_IO_URING_SETUP, ctx->ret);
	e->fd = ctx->ret;
	e->entries = a.args[0];
	/* struct io_uring_params: sq_entries, cq_entries, flags */
	if (a.args[1])
		bpf_probe_read_user(&flags, sizeof(flags), (const char *)a.args[1] + 8);
	e->flags = flags;
	emit(e, offsetof(struct uring_event, path));
	return 0;
}

/* The fd's name as io_exit finds it: its tracked path, its socket, or its inode. False when
 * the fd's path is filtered (its I/O is not recorded, as io_exit's). */
static __always_inline bool uring_describe_fd(struct uring_event *e, __u32 pid, int fd)
{
	__u64 key = fd_key(pid, fd);
	struct fd_info *fi = bpf_map_lookup_elem(&em_fds, &key);
	struct file *f = file_of_fd(fd);

	if (fi && fd_info_current(fi, f) && fi->target == FT_FILE) {
		if (fi->ignored)
			return false;
		e->target = FT_FILE;
		e->path_len = fi->path_len & (PATH_LEN - 1);
		bpf_probe_read_kernel_str(e->path, PATH_LEN, fi->path);
		return true;
	}
	if (sock_of_fd(fd, &e->sock)) {
		e->target = FT_SOCKET;
		return true;
	}
	if (f) {
		e->ino = BPF_CORE_READ(f, f_inode, i_ino);
		e->dev = BPF_CORE_READ(f, f_inode, i_sb, s_dev);
		e->imode = BPF_CORE_READ(f, f_inode, i_mode);
	}
	return true;
}

#define PF_IO_WORKER 0x00000010

/* task_filtered, but a ring's kernel thread (SQPOLL: comm `iou-sqp-<pid>`) is judged by its
 * process's name, so ignore_comms covers what it submits. */
static __always_inline bool uring_filtered(void)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct comm_key key = {};

	if (!(task->flags & PF_IO_WORKER))
		return task_filtered();
	if (current_pid() == targ_self_pid)
		return true;
	if (!targ_comm_filter)
		return false;
	bpf_probe_read_kernel_str(key.comm, sizeof(key.comm), task->group_leader->comm);
	return bpf_map_lookup_elem(&em_ign_comm, &key) != NULL;
}

SEC("tp_btf/io_uring_submit_req")
int BPF_PROG(io_uring_submit_req, struct io_kiocb *req)
{
	struct uring_event *e;
	__u64 key = (__u64)req;
	__u16 opcode;
	int len;

	if (uring_filtered())
		return 0;
	e = scratch(0);
	if (!e)
		return 0;
	__builtin_memset(e, 0, offsetof(struct uring_event, path));
	e->path[0] = 0;
	fill_header(&e->h, EK_URING, EA_IO_URING, 0);
	opcode = BPF_CORE_READ(req, opcode);
	e->opcode = opcode;
	/* No fd until io_uring_file_get names it. req->cqe.fd is the SQE's fd only for an opcode
	 * that needs a file (io_init_req sets it then); for others (NOP, TIMEOUT, ...) it is what
	 * the request's memory last held, e.g. 0, which named the submitter's stdin. */
	e->fd = -1;
	e->user_data = BPF_CORE_READ(req, cqe.user_data);
	if (BPF_CORE_READ(req, flags) & REQ_F_FIXED_FILE) {
		e->flags |= EU_FIXED_FILE;
		e->fd = BPF_CORE_READ(req, cqe.fd); /* an index, no lookup to trace */
	}
	if (BPF_CORE_READ(req, ctx, flags) & IORING_SETUP_SQPOLL)
		e->flags |= EU_SQ_THREAD;
	if ((opcode == IORING_OP_OPENAT || opcode == IORING_OP_OPENAT2) &&
	    bpf_core_type_exists(struct io_open)) {
		struct io_open *op = (struct io_open *)&req->cmd;
		const char *name = BPF_CORE_READ(op, filename, name);

		len = bpf_probe_read_kernel_str(e->path, PATH_LEN, name) - 1;
		if (len < 0)
			len = 0;
		if (len == PATH_LEN - 1)
			e->h.flags |= EF_PATH_TRUNCATED;
		len = resolve_relative(e->path, len, BPF_CORE_READ(op, dfd), &e->h.flags,
				       EF_PATH_TRUNCATED);
		e->path_len = len;
		e->target = FT_FILE;
		e->fd = BPF_CORE_READ(op, dfd);
	}
	if (opcode == IORING_OP_CONNECT && bpf_core_type_exists(struct io_connect)) {
		struct io_connect *op = (struct io_connect *)&req->cmd;

		if (read_sockaddr(&e->sock, BPF_CORE_READ(op, addr), true))
			e->flags |= EU_ADDR;
	}
	bpf_map_update_elem(&em_uring_pending, &key, e, BPF_ANY);
	return 0;
}

/* The fd an operation works on, as the kernel looks it up (io_file_get_normal, at issue: in
 * the submitter, its SQPOLL thread or an io-wq worker, which share its fd table): named here, or
 * the operation dropped when its path is filtered. The first lookup is the SQE's fd (splice and
 * tee look up their input fd after it). */
SEC("tp_btf/io_uring_file_get")
int BPF_PROG(io_uring_file_get, struct io_kiocb *req, int fd)
{
	__u64 key = (__u64)req;
	struct uring_event *e = bpf_map_lookup_elem(&em_uring_pending, &key);

	if (!e || e->fd >= 0)
		return 0;
	e->fd = fd;
	if (!uring_describe_fd(e, e->h.pid, fd)) {
		bpf_map_delete_elem(&em_uring_pending, &key);
		return 0;
	}
	/* The socket's ends replaced the address a connect asked for: take it again. */
	if ((e->flags & EU_ADDR) && bpf_core_type_exists(struct io_connect)) {
		struct io_connect *op = (struct io_connect *)&req->cmd;

		read_sockaddr(&e->sock, BPF_CORE_READ(op, addr), true);
	}
	return 0;
}

/* An openat through the ring made fd h.ret: enter it in em_fds as open_exit does, so later
 * reads and writes (through the ring or not) name its path. Only in the submitter's process
 * (the fd table is current's). Scratch slot 1. */
static __always_inline void uring_track_open(const struct uring_event *e, bool ignored)
{
	__u32 pid = e->h.pid;
	int fd = e->h.ret;
	__u64 key = fd_key(pid, fd);
	__u32 slot = 1;
	struct fd_info *fi;

	fi = bpf_map_lookup_elem(&em_scratch, &slot);
	if (!fi)
		return;
	fi->target = FT_FILE;
	fi->ignored = ignored;
	fi->path_len = e->path_len & (PATH_LEN - 1);
	fi->_pad = 0;
	fd_info_set_file(fi, file_of_fd(e->h.ret));
	__builtin_memset(&fi->sock, 0, sizeof(fi->sock));
	fd_info_clear_io(fi);
	bpf_probe_read_kernel_str(fi->path, PATH_LEN, e->path);
	/* May build a summary in scratch slot 0, over e: e is not read after this. */
	io_retire_stale(pid, fd, true);
	bpf_map_update_elem(&em_fds, &key, fi, BPF_ANY);
}

SEC("tp_btf/io_uring_complete")
int BPF_PROG(io_uring_complete, struct io_ring_ctx *ring, void *req, struct io_uring_cqe *cqe)
{
	__u64 key = (__u64)req;
	struct uring_event *p = bpf_map_lookup_elem(&em_uring_pending, &key);
	struct uring_event *e;
	__u32 cflags;

	if (!p)
		return 0;
	e = scratch(0);
	if (!e)
		return 0;
	bpf_probe_read_kernel(e, sizeof(*e), p);
	cflags = BPF_CORE_READ(cqe, flags);
	if (!(cflags & IORING_CQE_F_MORE))
		bpf_map_delete_elem(&em_uring_pending, &key);
	e->h.ret = BPF_CORE_READ(cqe, res);
	if (e->opcode == IORING_OP_OPENAT || e->opcode == IORING_OP_OPENAT2) {
		/* As open_exit: a filtered path is not sent, and its fd's I/O neither. */
		bool ignored = path_ignored(e->path, e->path_len & (PATH_LEN - 1));

		if (!ignored)
			emit(e, offsetof(struct uring_event, path) + (e->path_len & (PATH_LEN - 1)) + 1);
		if (e->h.ret >= 0 && current_pid() == e->h.pid)
			uring_track_open(e, ignored);
		return 0;
	}
	emit(e, offsetof(struct uring_event, path) + (e->path_len & (PATH_LEN - 1)) + 1);
	return 0;
}
