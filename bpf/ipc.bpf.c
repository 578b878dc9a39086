// SPDX-License-Identifier: GPL-2.0
/* IPC: pipe, pipe2, socketpair. Both new fds and their inodes go out in one record; a pipe's
 * fds are entered in em_fds under the name `pipe:[inode]` (as /proc/<pid>/fd shows it), so
 * their reads and writes name the pipe from the kernel's table rather than by a /proc lookup
 * afterwards. socketpair's sockets need no entry: every socket record reads the socket's inode
 * and its peer's from the kernel (fill_sock). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "common.bpf.h"

static __always_inline __u64 ino_of_fd(int fd)
{
	struct file *f = file_of_fd(fd);

	return f ? BPF_CORE_READ(f, f_inode, i_ino) : 0;
}

/* Enter a pipe fd in em_fds as a file named pipe:[ino]. */
static __always_inline void track_pipe(__u32 pid, int fd, __u64 ino)
{
	__u64 key = fd_key(pid, fd);
	struct fd_info *fi = fd_info_new_file(file_of_fd(fd));
	__u64 args[1] = { ino };
	long n;

	if (!fi)
		return;
	n = bpf_snprintf(fi->path, PATH_LEN, "pipe:[%llu]", args, sizeof(args));
	if (n <= 1)
		return;
	fi->path_len = n - 1;
	bpf_map_update_elem(&em_fds, &key, fi, BPF_ANY);
}

static __always_inline int fdpair_exit(struct trace_event_raw_sys_exit *ctx, __u16 action)
{
	struct start_args a;
	struct fdpair_event *e;
	int fds[2] = { -1, -1 };
	const int *ufds;
	__u32 pid;

	if (!exit_args(&a))
		return 0;
	pid = current_pid();
	ufds = (const int *)(action == EA_SOCKETPAIR ? a.args[3] : a.args[0]);
	if (ctx->ret == 0 && !bpf_probe_read_user(fds, sizeof(fds), ufds)) {
		io_retire_stale(pid, fds[0], true);
		io_retire_stale(pid, fds[1], true);
	} else {
		fds[0] = fds[1] = -1;
	}
	e = scratch(0);
	if (!e)
		return 0;
	fill_header(&e->h, EK_FDPAIR, action, ctx->ret);
	e->fd0 = fds[0];
	e->fd1 = fds[1];
	e->ino0 = fds[0] >= 0 ? ino_of_fd(fds[0]) : 0;
	e->ino1 = fds[1] >= 0 ? ino_of_fd(fds[1]) : 0;
	e->family = e->type = e->protocol = 0;
	e->flags = 0;
	if (action == EA_SOCKETPAIR) {
		e->family = a.args[0];
		e->type = a.args[1];
		e->protocol = a.args[2];
	} else if (action == EA_PIPE2) {
		e->flags = a.args[1];
	}
	if (action != EA_SOCKETPAIR && fds[0] >= 0) {
		track_pipe(pid, fds[0], e->ino0);
		track_pipe(pid, fds[1], e->ino1);
	}
	emit(e, sizeof(*e));
	return 0;
}

SYSCALL_EXIT_HOOK(pipe, fdpair_exit, EA_PIPE)
SYSCALL_EXIT_HOOK(pipe2, fdpair_exit, EA_PIPE2)
SYSCALL_EXIT_HOOK(socketpair, fdpair_exit, EA_SOCKETPAIR)

/* ---- data moved between fds: sendfile64, splice, tee, copy_file_range ---- */

/* The 6th syscall argument (splice's and copy_file_range's flags); syscall_args reads five. */
static __always_inline __u64 syscall_arg6(void)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());

#if defined(__TARGET_ARCH_x86)
	return BPF_CORE_READ(regs, r9);
#else
	return BPF_CORE_READ(regs, regs[5]);
#endif
}

/* Fill x with what fd names; its tracked path (if any) goes to path. Returns the path's length;
 * *ignored when the fd's path is filtered. */
static __always_inline __u32 describe_end(struct xfer_end *x, char *path, __u32 pid, int fd,
					  bool *ignored)
{
	__u64 key = fd_key(pid, fd);
	struct fd_info *fi = bpf_map_lookup_elem(&em_fds, &key);
	struct file *f = file_of_fd(fd);
	__u32 len;

	x->fd = fd;
	x->target = FT_UNKNOWN;
	x->path_len = 0;
	x->ino = 0;
	x->dev = 0;
	x->imode = 0;
	__builtin_memset(&x->sock, 0, sizeof(x->sock));
	if (fi && fd_info_current(fi, f) && fi->target == FT_FILE) {
		if (fi->ignored)
			*ignored = true;
		len = fi->path_len & (PATH_LEN - 1);
		bpf_probe_read_kernel_str(path, PATH_LEN, fi->path);
		x->target = FT_FILE;
		x->path_len = len;
		return len;
	}
	if (sock_of_fd(fd, &x->sock)) {
		x->target = FT_SOCKET;
		return 0;
	}
	if (f) {
		x->ino = BPF_CORE_READ(f, f_inode, i_ino);
		x->dev = BPF_CORE_READ(f, f_inode, i_sb, s_dev);
		x->imode = BPF_CORE_READ(f, f_inode, i_mode);
	}
	return 0;
}

static __always_inline int xfer_exit(struct trace_event_raw_sys_exit *ctx, __u16 action)
{
	struct start_args a;
	struct xfer_event *e;
	bool ign_src = false, ign_dst = false;
	int src, dst;
	__u32 slen, dlen, off;

	if (!exit_args(&a))
		return 0;
	e = scratch(0);
	if (!e)
		return 0;
	fill_header(&e->h, EK_XFER, action, ctx->ret);
	e->flags = 0;
	e->_pad = 0;
	switch (action) {
	case EA_SENDFILE64: /* (out_fd, in_fd, offset, count) */
		dst = a.args[0];
		src = a.args[1];
		e->count = a.args[3];
		break;
	case EA_TEE: /* (fd_in, fd_out, len, flags) */
		src = a.args[0];
		dst = a.args[1];
		e->count = a.args[2];
		e->flags = a.args[3];
		break;
	default: /* splice, copy_file_range: (fd_in, off_in, fd_out, off_out, len, flags) */
		src = a.args[0];
		dst = a.args[2];
		e->count = a.args[4];
		e->flags = syscall_arg6();
		break;
	}
	slen = describe_end(&e->src, e->data, e->h.pid, src, &ign_src);
	e->data[slen & (PATH_LEN - 1)] = 0;
	off = (slen + 1) & (PATH_LEN - 1);
	dlen = describe_end(&e->dst, &e->data[off], e->h.pid, dst, &ign_dst);
	/* Dropped only when both ends are filtered, as a rename. */
	if (ign_src && ign_dst)
		return 0;
	emit(e, offsetof(struct xfer_event, data) + off + (dlen & (PATH_LEN - 1)) + 1);
	return 0;
}

SYSCALL_EXIT_HOOK(sendfile64, xfer_exit, EA_SENDFILE64)
SYSCALL_EXIT_HOOK(splice, xfer_exit, EA_SPLICE)
SYSCALL_EXIT_HOOK(tee, xfer_exit, EA_TEE)
SYSCALL_EXIT_HOOK(copy_file_range, xfer_exit, EA_COPY_FILE_RANGE)

/* ---- sendmmsg, recvmmsg ---- */

struct mmsg_sum_ctx {
	const struct mmsghdr *vec;
	__u64 bytes;
	__u32 n;
};

static long mmsg_sum_step(__u32 i, void *data)
{
	struct mmsg_sum_ctx *c = data;
	__u32 len = 0;

	if (i >= c->n)
		return 1;
	bpf_probe_read_user(&len, sizeof(len), &c->vec[i].msg_len);
	c->bytes += len;
	return 0;
}

static __always_inline int mmsg_exit(struct trace_event_raw_sys_exit *ctx, __u16 action)
{
	struct start_args a;
	struct mmsg_event *e;
	struct mmsg_sum_ctx c = {};

	if (!exit_args(&a))
		return 0;
	e = scratch(0);
	if (!e)
		return 0;
	fill_header(&e->h, EK_MMSG, action, ctx->ret);
	e->fd = a.args[0];
	e->vlen = a.args[2];
	e->flags = a.args[3];
	e->_pad = 0;
	e->bytes_done = 0;
	__builtin_memset(&e->sock, 0, sizeof(e->sock));
	e->target = sock_of_fd(e->fd, &e->sock) ? FT_SOCKET : FT_UNKNOWN;
	if (ctx->ret > 0 && a.args[1]) {
		struct user_msghdr msg = {};

		c.vec = (const struct mmsghdr *)a.args[1];
		c.n = ctx->ret;
		bpf_loop(ABI_MMSG_MAX_SUM, mmsg_sum_step, &c, 0);
		e->bytes_done = c.bytes;
		/* An explicit address of the first message beats what the socket is connected to. */
		if (!bpf_probe_read_user(&msg, sizeof(msg), (void *)a.args[1]) && msg.msg_name &&
		    read_sockaddr(&e->sock, msg.msg_name, true))
			e->h.flags |= EF_ADDR_FROM_ARG;
	}
	emit(e, sizeof(*e));
	return 0;
}

SYSCALL_EXIT_HOOK(sendmmsg, mmsg_exit, EA_SENDMMSG)
SYSCALL_EXIT_HOOK(recvmmsg, mmsg_exit, EA_RECVMMSG)
