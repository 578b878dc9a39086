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
	__u32 slot = 1;
	struct fd_info *fi = bpf_map_lookup_elem(&em_scratch, &slot);
	__u64 args[1] = { ino };
	long n;

	if (!fi)
		return;
	fi->target = FT_FILE;
	fi->ignored = 0;
	fi->_pad = 0;
	fd_info_set_file(fi, file_of_fd(fd));
	__builtin_memset(&fi->sock, 0, sizeof(fi->sock));
	fd_info_clear_io(fi);
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
