/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Fd tracking: what each open fd of a traced process refers to (em_fds), its socket
 * endpoints, and capture.read_write "first"'s per-fd totals, sent when the fd goes away.
 */
#ifndef EBPF_MONITOR_FDTRACK_BPF_H
#define EBPF_MONITOR_FDTRACK_BPF_H

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

static __always_inline __u64 fd_key(__u32 pid, int fd)
{
	return ((__u64)pid << 32) | (__u32)fd;
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

/* f->f_inode, by a direct load where the kernel allows it (see kcast). */
static __always_inline struct inode *file_inode_of(struct file *f)
{
	if (!f)
		return NULL;
	if (targ_direct_loads)
		return kcast(f, struct file)->f_inode;
	return BPF_CORE_READ(f, f_inode);
}

/* Point an fd entry at f (see struct fd_info). */
static __always_inline void fd_info_set_file(struct fd_info *fi, struct file *f)
{
	fi->file = (__u64)f;
	fi->inode = (__u64)file_inode_of(f);
}

/* A fresh file entry for the fd table, built in scratch slot 1 (too big for the stack): file
 * `f`, no socket, no I/O yet, not ignored; the caller writes the path and its length. */
static __always_inline struct fd_info *fd_info_new_file(struct file *f)
{
	__u32 slot = 1;
	struct fd_info *fi = bpf_map_lookup_elem(&em_scratch, &slot);

	if (!fi)
		return NULL;
	fi->target = FT_FILE;
	fi->ignored = 0;
	fi->_pad = 0;
	fd_info_set_file(fi, f);
	__builtin_memset(&fi->sock, 0, sizeof(fi->sock));
	fd_info_clear_io(fi);
	return fi;
}

/* True when the entry still names f, the file now behind its fd. */
static __always_inline bool fd_info_current(const struct fd_info *fi, struct file *f)
{
	return f && fi->file == (__u64)f && fi->inode == (__u64)file_inode_of(f);
}

static __always_inline void fill_sock(struct sock_info *si, struct socket *sock)
{
	struct sock *sk = BPF_CORE_READ(sock, sk);

	/* Bytes an address does not fill stay zero (an IPv4 address is 4 of the 16). */
	__builtin_memset(si->laddr, 0, sizeof(si->laddr));
	__builtin_memset(si->raddr, 0, sizeof(si->raddr));
	si->type = BPF_CORE_READ(sock, type);
	if (!sk)
		return;
	si->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	si->protocol = BPF_CORE_READ(sk, sk_protocol);
	si->lport = BPF_CORE_READ(sk, __sk_common.skc_num);
	si->rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (si->family == FAM_UNIX) {
		/* No addresses: the socket's inode and its peer's, as `ss -x` shows them, so that
		 * the two ends of a socketpair or a local connection name each other. */
		struct sock *peer = BPF_CORE_READ((struct unix_sock *)sk, peer);
		__u64 ino = BPF_CORE_READ(sock, file, f_inode, i_ino);

		__builtin_memcpy(si->laddr, &ino, sizeof(ino));
		if (peer) {
			ino = BPF_CORE_READ(peer, sk_socket, file, f_inode, i_ino);
			__builtin_memcpy(si->raddr, &ino, sizeof(ino));
		}
	} else if (si->family == FAM_INET) {
		/* Not BPF_CORE_READ_INTO(&si->laddr, ...): that reads sizeof(laddr) = 16 bytes from
		 * the 4-byte field, i.e. also the hash and ports that follow it in sock_common. */
		__be32 laddr = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		__be32 raddr = BPF_CORE_READ(sk, __sk_common.skc_daddr);

		__builtin_memcpy(si->laddr, &laddr, sizeof(laddr));
		__builtin_memcpy(si->raddr, &raddr, sizeof(raddr));
	} else if (si->family == FAM_INET6) {
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

/* One end's address, 16 bytes, recast from the socket's family to the argument's (a dual-stack
 * IPv6 socket given an AF_INET address, or the reverse): an IPv4-mapped ::ffff:a.b.c.d is
 * a.b.c.d as IPv4 and the reverse; anything else is no address of the new family (zeroed). */
static __always_inline void sock_addr_refamily(__u8 *addr, __u16 from, __u16 to)
{
	__u8 v4[4];

	if (from == FAM_INET6 && to == FAM_INET) {
		__u64 head = 0;
		__u16 ffff = 0;

		__builtin_memcpy(&head, addr, 8);
		__builtin_memcpy(&ffff, addr + 10, 2);
		__builtin_memcpy(v4, addr + 12, 4);
		__builtin_memset(addr, 0, 16);
		if (!head && !addr[8] && !addr[9] && ffff == 0xffff)
			__builtin_memcpy(addr, v4, 4);
		return;
	}
	if (from == FAM_INET && to == FAM_INET6) {
		__u32 any = 0;

		__builtin_memcpy(v4, addr, 4);
		__builtin_memcpy(&any, v4, 4);
		__builtin_memset(addr, 0, 16);
		if (any) {
			addr[10] = addr[11] = 0xff;
			__builtin_memcpy(addr + 12, v4, 4);
		}
		return;
	}
	__builtin_memset(addr, 0, 16);
}

/* Copy a user sockaddr's address and port into the local or remote half of si. An IPv4
 * address fills 4 of the 16 bytes, the rest zero. */
static __always_inline bool read_sockaddr(struct sock_info *si, const void *uaddr, bool remote)
{
	struct sockaddr_in6 sa = {};
	__u16 family = 0;
	__u8 *mine, *other;

	if (!uaddr || bpf_probe_read_user(&family, sizeof(family), uaddr))
		return false;
	if (family != FAM_INET && family != FAM_INET6) {
		si->family = family;
		return false;
	}
	if (family == FAM_INET ? bpf_probe_read_user(&sa, sizeof(struct sockaddr_in), uaddr)
			       : bpf_probe_read_user(&sa, sizeof(sa), uaddr))
		return false;
	mine = remote ? si->raddr : si->laddr;
	other = remote ? si->laddr : si->raddr;
	if (si->family && si->family != family)
		sock_addr_refamily(other, si->family, family);
	si->family = family;
	__builtin_memset(mine, 0, 16);
	if (family == FAM_INET) {
		struct sockaddr_in *in = (void *)&sa;

		if (remote)
			si->rport = bpf_ntohs(in->sin_port);
		else
			si->lport = bpf_ntohs(in->sin_port);
		__builtin_memcpy(mine, &in->sin_addr, 4);
		return true;
	}
	if (remote)
		si->rport = bpf_ntohs(sa.sin6_port);
	else
		si->lport = bpf_ntohs(sa.sin6_port);
	__builtin_memcpy(mine, &sa.sin6_addr, 16);
	return true;
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

#endif /* EBPF_MONITOR_FDTRACK_BPF_H */
