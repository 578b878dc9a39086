// SPDX-License-Identifier: GPL-2.0
/* Files: open family, read/write family (path of the fd), unlink, rename, and the fd map upkeep
 * (close, dup). Everything is read at exit: the arguments from the saved user registers
 * (syscall_args), paths through those pointers. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
/* The open hooks' path walks and file reads by direct loads (see common.bpf.h). */
#define EM_DIRECT_LOADS
#include "common.bpf.h"

#define O_WRONLY 01
#define O_CREAT 0100
#define O_TRUNC 01000
#define OWN_FILE_ENTRIES 4096

/* ---- the monitor's own files ---- */

/* filters.ignore_own_files: events.jsonl (and its rotated copies while they exist), the spool
 * segments and the dead letter, by (device, inode), kept current by user space (ownfiles.py).
 * Reading them (cat, tail -f, a log shipper, logrotate's gzip) would feed back into the stream. */
const volatile __u8 targ_own_files = 0;

struct own_file_key {
	__u64 ino;
	__u32 dev; /* the superblock's s_dev, as /proc/self/mountinfo shows it */
	__u32 _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, OWN_FILE_ENTRIES);
	__type(key, struct own_file_key);
	__type(value, __u8);
} em_own_files SEC(".maps");

static __always_inline bool own_file(struct file *f)
{
	struct own_file_key key = {};
	struct inode *inode;

	if (!targ_own_files || !f)
		return false;
	inode = file_inode_of(f);
	if (targ_direct_loads) {
		inode = kcast(inode, struct inode);
		key.ino = inode->i_ino;
		key.dev = inode->i_sb->s_dev;
	} else {
		key.ino = BPF_CORE_READ(inode, i_ino);
		key.dev = BPF_CORE_READ(inode, i_sb, s_dev);
	}
	return bpf_map_lookup_elem(&em_own_files, &key) != NULL;
}

/* ---- open family ---- */

static __always_inline int open_exit(struct trace_event_raw_sys_exit *ctx, __u16 action)
{
	struct start_args a;
	struct open_event *e;
	struct fd_info *fi;
	const char *upath;
	__s32 dfd = ABI_AT_FDCWD;
	__u64 flags = 0;
	__u32 mode = 0;
	int len;

	if (!exit_args(&a))
		return 0;
	io_retire_stale(current_pid(), ctx->ret, true);
	e = scratch(0);
	if (!e)
		return 0;
	switch (action) {
	case EA_OPEN:
		upath = (const char *)a.args[0];
		flags = a.args[1];
		mode = a.args[2];
		break;
	case EA_CREAT:
		upath = (const char *)a.args[0];
		flags = O_CREAT | O_WRONLY | O_TRUNC;
		mode = a.args[1];
		break;
	case EA_OPENAT:
		dfd = a.args[0];
		upath = (const char *)a.args[1];
		flags = a.args[2];
		mode = a.args[3];
		break;
	default: { /* openat2: flags and mode live in struct open_how */
		struct open_how how = {};

		dfd = a.args[0];
		upath = (const char *)a.args[1];
		bpf_probe_read_user(&how, sizeof(how), (void *)a.args[2]);
		flags = how.flags;
		mode = how.mode;
	}
	}
	fill_header(&e->h, EK_OPEN, action, ctx->ret);
	len = read_user_path(e->path, upath, &e->h.flags, EF_PATH_TRUNCATED);
	if (len < 0)
		len = 0;
	len = resolve_relative(e->path, len, dfd, &e->h.flags, EF_PATH_TRUNCATED);
	e->dfd = dfd;
	e->mode = mode;
	e->flags = flags;
	e->path_len = len;
	e->real_len = 0;
	e->_pad[0] = e->_pad[1] = 0;

	struct file *f = ctx->ret >= 0 ? file_of_fd(ctx->ret) : NULL;
	char *real = &e->path[(len + 1) & (2 * PATH_LEN - 1)];

	if (f && len > 0)
		e->real_len = real_path_if_differs(real, e->path, len, f);

	/* Dropped only when every name of the file is filtered: /proc/self/root/etc/shadow is
	 * /etc/shadow, and a /usr/lib prefix does not hide /lib/x (merged /usr) unless /lib/ is
	 * filtered too. The shared-library test looks at names, both of them. */
	bool ignored = path_ignored(e->path, len) &&
		       (!e->real_len || path_ignored(real, e->real_len));

	/* Marks the fd ignored too, so its reads and writes go unrecorded. */
	if (!ignored && own_file(f))
		ignored = true;

	if (ctx->ret >= 0) {
		__u64 key = fd_key(e->h.pid, ctx->ret);

		fi = fd_info_new_file(f);
		if (fi) {
			fi->ignored = ignored;
			fi->path_len = len;
			bpf_probe_read_kernel_str(fi->path, PATH_LEN, e->path);
			bpf_map_update_elem(&em_fds, &key, fi, BPF_ANY);
		}
	}
	if (!ignored) {
		__u32 size = offsetof(struct open_event, path) + (len & (PATH_LEN - 1)) + 1;

		if (e->real_len)
			size += (e->real_len & (PATH_LEN - 1)) + 1;
		emit(e, size);
	}
	return 0;
}

SYSCALL_EXIT_HOOK(open, open_exit, EA_OPEN)
SYSCALL_EXIT_HOOK(creat, open_exit, EA_CREAT)
SYSCALL_EXIT_HOOK(openat, open_exit, EA_OPENAT)
SYSCALL_EXIT_HOOK(openat2, open_exit, EA_OPENAT2)

/* ---- read/write family: the fd's path or peer comes from em_fds ---- */

static __always_inline bool is_read_action(__u16 action)
{
#define RW_CASE(name) case EA_##name:
	switch (action) {
	RW_READ_ACTIONS(RW_CASE)
		return true;
	}
#undef RW_CASE
	return false;
}

/* Raise the process's highest counted fd, so exit and exec know how far to look. */
static __always_inline void io_note_fd(__u32 pid, int fd)
{
	struct io_proc zero = {}, *p;

	bpf_map_update_elem(&em_io_procs, &pid, &zero, BPF_NOEXIST);
	p = bpf_map_lookup_elem(&em_io_procs, &pid);
	if (!p)
		return;
	/* Threads may race here; a few tries settle it. */
	for (int i = 0; i < 4; i++) {
		__u64 old = p->max_fd;

		if ((__u64)fd <= old || __sync_val_compare_and_swap(&p->max_fd, old, fd) == old)
			break;
	}
}

/* An fd seen first at its I/O (inherited, or opened before start) that names a file with a
 * path in this namespace (a regular file, a directory, a device, still linked): named here,
 * once, and tracked as if its open had been seen, so a short-lived child writing to an fd
 * its shell opened is named even when it is gone before user space could read /proc, and a
 * filtered name (/dev/pts/) costs nothing from its second call on. NULL for the rest (pipes,
 * sockets, anonymous inodes, memfds, deleted files: user space names those). */
static __always_inline struct fd_info *io_track_inherited(__u64 key, struct file *f)
{
	struct inode *inode = BPF_CORE_READ(f, f_inode);
	__u32 type = BPF_CORE_READ(inode, i_mode) & S_IFMT;
	struct fd_info *fi;
	int len;

	if (type != S_IFREG && type != S_IFDIR && type != S_IFCHR && type != S_IFBLK)
		return NULL;
	if (BPF_CORE_READ(inode, __i_nlink) == 0)
		return NULL;
	fi = fd_info_new_file(f);
	if (!fi)
		return NULL;
	len = file_path_in_ns(fi->path, f);
	if (len <= 0)
		return NULL;
	fi->path_len = len;
	fi->ignored = path_ignored(fi->path, len);
	bpf_map_update_elem(&em_fds, &key, fi, BPF_ANY);
	return bpf_map_lookup_elem(&em_fds, &key);
}

/* "first" mode, an fd seen first at its I/O (inherited, pipe): an entry without a path, so
 * later calls add up too; inode fields let user space name it as rw_event does today. */
static __always_inline struct fd_info *io_track_untracked(__u64 key, int fd, struct file *f)
{
	struct fd_info *fi = fd_info_new_file(f);

	if (!fi)
		return NULL;
	fi->path_len = 0;
	fi->path[0] = 0;
	if (sock_of_fd(fd, &fi->sock)) {
		fi->target = FT_SOCKET;
	} else {
		fi->target = FT_UNKNOWN;
		fi->seen = FI_UNTRACKED;
		fi->ino = BPF_CORE_READ(f, f_inode, i_ino);
		fi->dev = BPF_CORE_READ(f, f_inode, i_sb, s_dev);
		fi->imode = BPF_CORE_READ(f, f_inode, i_mode);
	}
	bpf_map_update_elem(&em_fds, &key, fi, BPF_ANY);
	return bpf_map_lookup_elem(&em_fds, &key);
}

/* "first" mode: count the call on the fd's entry; true when it is the fd's first call of its
 * direction, the one sent as rw_event. */
static __always_inline bool io_count_first(__u64 key, int fd, struct fd_info *fi, struct file *f,
					   __u16 action, __s64 ret)
{
	bool is_read = is_read_action(action);
	__u64 bit = is_read ? FI_READ_SENT : FI_WRITE_SENT;

	if (!fi) {
		if (!f)
			return true; /* closed meanwhile by another thread: nothing to count on */
		fi = io_track_untracked(key, fd, f);
		if (!fi)
			return true;
	}
	if (is_read) {
		__sync_fetch_and_add(&fi->reads, 1);
		if (ret > 0)
			__sync_fetch_and_add(&fi->bytes_read, ret);
	} else {
		__sync_fetch_and_add(&fi->writes, 1);
		if (ret > 0)
			__sync_fetch_and_add(&fi->bytes_written, ret);
	}
	/* Plain test first: after the first call this is the whole cost. */
	if (fi->seen & bit)
		return false;
	if (__sync_fetch_and_or(&fi->seen, bit) & bit)
		return false; /* another thread sent it */
	io_note_fd(key >> 32, fd);
	return true;
}

static __always_inline int io_exit(struct trace_event_raw_sys_exit *ctx, __u16 action)
{
	struct start_args a;
	struct rw_event *e;
	struct fd_info *fi;
	struct file *f;
	__u64 key;
	int fd;
	__u32 size;

	if (!targ_read_write || !exit_args(&a))
		return 0;
	fd = a.args[0];
	key = fd_key(current_pid(), fd);
	fi = bpf_map_lookup_elem(&em_fds, &key);
	f = file_of_fd(fd);
	if (fi && !fd_info_current(fi, f)) {
		/* stale entry: the fd now names another file, or none */
		if (targ_read_write == RW_FIRST) {
			emit_io_summary(fd, fi, IE_STALE);
			bpf_map_delete_elem(&em_fds, &key);
		}
		fi = NULL;
	}
	/* Opened before we saw it (inherited by `cat < events.jsonl`, or before our start). */
	if (!fi && own_file(f))
		return 0;
	if (!fi && f)
		fi = io_track_inherited(key, f);
	if (fi && fi->ignored)
		return 0;
	if (targ_read_write == RW_FIRST) {
		if (!io_count_first(key, fd, fi, f, action, ctx->ret))
			return 0;
		if (fi && (fi->seen & FI_UNTRACKED))
			fi = NULL; /* named as an untracked fd below, as in "all" mode */
	}
	e = scratch(0);
	if (!e)
		return 0;
	fill_header(&e->h, EK_RW, action, ctx->ret);
	e->fd = fd;
	e->count = 0;
	e->ino = 0;
	e->dev = 0;
	e->imode = 0;
	e->path_len = 0;
	e->path[0] = 0;
	switch (action) {
	case EA_READ: case EA_WRITE: case EA_PREAD64: case EA_PWRITE64:
	case EA_SENDTO: case EA_RECVFROM:
		e->count = a.args[2];
		break;
	}
	if (fi) {
		e->target = fi->target;
		__builtin_memcpy(&e->sock, &fi->sock, sizeof(e->sock));
		if (fi->target == FT_FILE) {
			bpf_probe_read_kernel_str(e->path, PATH_LEN, fi->path);
			e->path_len = fi->path_len & (PATH_LEN - 1);
		}
	} else {
		__builtin_memset(&e->sock, 0, sizeof(e->sock));
		e->target = FT_UNKNOWN;
		if (sock_of_fd(fd, &e->sock)) {
			e->target = FT_SOCKET;
		} else {
			/* Opened before we saw it (inherited, or before start): user space names it. */
			if (f) {
				e->ino = BPF_CORE_READ(f, f_inode, i_ino);
				e->dev = BPF_CORE_READ(f, f_inode, i_sb, s_dev);
				e->imode = BPF_CORE_READ(f, f_inode, i_mode);
			}
			e->h.flags |= EF_FD_UNTRACKED;
		}
	}
	/* An explicit address (sendto/recvfrom) beats what the fd was connected to. */
	if ((action == EA_SENDTO || action == EA_RECVFROM) && a.args[4]) {
		if (read_sockaddr(&e->sock, (void *)a.args[4], true))
			e->h.flags |= EF_ADDR_FROM_ARG;
	} else if (action == EA_SENDMSG || action == EA_RECVMSG) {
		struct user_msghdr msg = {};

		if (!bpf_probe_read_user(&msg, sizeof(msg), (void *)a.args[1]) && msg.msg_name &&
		    read_sockaddr(&e->sock, msg.msg_name, true))
			e->h.flags |= EF_ADDR_FROM_ARG;
	}
	size = offsetof(struct rw_event, path);
	if (e->path_len)
		size += e->path_len + 1;
	emit(e, size);
	return 0;
}

SYSCALL_EXIT_HOOK(read, io_exit, EA_READ)
SYSCALL_EXIT_HOOK(readv, io_exit, EA_READV)
SYSCALL_EXIT_HOOK(pread64, io_exit, EA_PREAD64)
SYSCALL_EXIT_HOOK(preadv, io_exit, EA_PREADV)
SYSCALL_EXIT_HOOK(preadv2, io_exit, EA_PREADV2)
SYSCALL_EXIT_HOOK(write, io_exit, EA_WRITE)
SYSCALL_EXIT_HOOK(writev, io_exit, EA_WRITEV)
SYSCALL_EXIT_HOOK(pwrite64, io_exit, EA_PWRITE64)
SYSCALL_EXIT_HOOK(pwritev, io_exit, EA_PWRITEV)
SYSCALL_EXIT_HOOK(pwritev2, io_exit, EA_PWRITEV2)
SYSCALL_EXIT_HOOK(sendto, io_exit, EA_SENDTO)
SYSCALL_EXIT_HOOK(recvfrom, io_exit, EA_RECVFROM)
SYSCALL_EXIT_HOOK(sendmsg, io_exit, EA_SENDMSG)
SYSCALL_EXIT_HOOK(recvmsg, io_exit, EA_RECVMSG)

/* ---- unlink and rename ---- */

static __always_inline int unlink_exit(struct trace_event_raw_sys_exit *ctx, __u16 action)
{
	struct start_args a;
	struct unlink_event *e;
	const char *upath;
	int len;

	if (!exit_args(&a))
		return 0;
	e = scratch(0);
	if (!e)
		return 0;
	fill_header(&e->h, EK_UNLINK, action, ctx->ret);
	e->dfd = ABI_AT_FDCWD;
	e->flags = 0;
	upath = (const char *)a.args[0];
	if (action == EA_UNLINKAT) {
		e->dfd = a.args[0];
		upath = (const char *)a.args[1];
		e->flags = a.args[2];
	}
	len = read_user_path(e->path, upath, &e->h.flags, EF_PATH_TRUNCATED);
	if (len < 0)
		len = 0;
	len = resolve_relative(e->path, len, e->dfd, &e->h.flags, EF_PATH_TRUNCATED);
	if (path_ignored(e->path, len))
		return 0;
	e->path_len = len;
	e->_pad[0] = e->_pad[1] = e->_pad[2] = 0;
	emit(e, offsetof(struct unlink_event, path) + (len & (PATH_LEN - 1)) + 1);
	return 0;
}

SYSCALL_EXIT_HOOK(unlink, unlink_exit, EA_UNLINK)
SYSCALL_EXIT_HOOK(unlinkat, unlink_exit, EA_UNLINKAT)
SYSCALL_EXIT_HOOK(rmdir, unlink_exit, EA_RMDIR)

static __always_inline int rename_exit(struct trace_event_raw_sys_exit *ctx, __u16 action)
{
	struct start_args a;
	struct rename_event *e;
	const char *oldp, *newp;
	int olen, nlen;
	__u32 off;

	if (!exit_args(&a))
		return 0;
	e = scratch(0);
	if (!e)
		return 0;
	fill_header(&e->h, EK_RENAME, action, ctx->ret);
	e->olddfd = ABI_AT_FDCWD;
	e->newdfd = ABI_AT_FDCWD;
	e->flags = 0;
	if (action == EA_RENAME) {
		oldp = (const char *)a.args[0];
		newp = (const char *)a.args[1];
	} else {
		e->olddfd = a.args[0];
		oldp = (const char *)a.args[1];
		e->newdfd = a.args[2];
		newp = (const char *)a.args[3];
		if (action == EA_RENAMEAT2)
			e->flags = a.args[4];
	}
	olen = read_user_path(e->data, oldp, &e->h.flags, EF_PATH_TRUNCATED);
	if (olen < 0)
		olen = 0;
	olen = resolve_relative(e->data, olen, e->olddfd, &e->h.flags, EF_PATH_TRUNCATED);
	off = (olen + 1) & (PATH_LEN - 1);
	nlen = read_user_path(&e->data[off], newp, &e->h.flags, EF_PATH2_TRUNCATED);
	if (nlen < 0)
		nlen = 0;
	nlen = resolve_relative(&e->data[off], nlen, e->newdfd, &e->h.flags, EF_PATH2_TRUNCATED);
	/* Dropped only when both ends are filtered: a move out of an ignored tree matters. */
	if (path_ignored(e->data, olen) && path_ignored(&e->data[off], nlen))
		return 0;
	e->old_len = olen;
	e->new_len = nlen;
	emit(e, offsetof(struct rename_event, data) + off + (nlen & (PATH_LEN - 1)) + 1);
	return 0;
}

SYSCALL_EXIT_HOOK(rename, rename_exit, EA_RENAME)
SYSCALL_EXIT_HOOK(renameat, rename_exit, EA_RENAMEAT)
SYSCALL_EXIT_HOOK(renameat2, rename_exit, EA_RENAMEAT2)

/* ---- fd map upkeep: close drops the entry, dup copies it ---- */

SEC("tracepoint/syscalls/sys_enter_close")
int tracepoint__syscalls__sys_enter_close(struct trace_event_raw_sys_enter *ctx)
{
	__u64 key = fd_key(current_pid(), ctx->args[0]);

	if (targ_read_write == RW_FIRST)
		io_flush_fd(key, ctx->args[0]);
	bpf_map_delete_elem(&em_fds, &key);
	return 0;
}

/* newfd now names what oldfd names: copy the entry, or drop a stale one. */
static __always_inline int dup_exit(struct trace_event_raw_sys_exit *ctx, __u16 kind)
{
	struct start_args a;
	struct fd_info *fi;
	__u64 oldkey, newkey;
	__u32 pid = current_pid();

	/* Not filtered: the fd map serves every process. */
	if (ctx->ret < 0)
		return 0;
	syscall_args(&a);
	/* fcntl: only F_DUPFD and F_DUPFD_CLOEXEC make a new fd. */
	if (kind == 1 && a.args[1] != F_DUPFD && a.args[1] != F_DUPFD_CLOEXEC)
		return 0;
	oldkey = fd_key(pid, a.args[0]);
	newkey = fd_key(pid, ctx->ret);
	if (oldkey == newkey)
		return 0;
	if (targ_read_write == RW_FIRST) {
		/* dup2/dup3 onto an open fd closed it: its totals go out now. */
		fi = bpf_map_lookup_elem(&em_fds, &newkey);
		if (fi)
			emit_io_summary(ctx->ret, fi, IE_CLOSE);
	}
	fi = bpf_map_lookup_elem(&em_fds, &oldkey);
	if (fi && targ_read_write == RW_FIRST) {
		__u32 slot = 1;
		struct fd_info *copy = bpf_map_lookup_elem(&em_scratch, &slot);

		if (!copy)
			return 0;
		/* Totals are per fd: the new one starts at zero. */
		bpf_probe_read_kernel(copy, sizeof(*copy), fi);
		copy->reads = copy->writes = copy->bytes_read = copy->bytes_written = 0;
		copy->seen &= FI_UNTRACKED;
		bpf_map_update_elem(&em_fds, &newkey, copy, BPF_ANY);
	} else if (fi) {
		bpf_map_update_elem(&em_fds, &newkey, fi, BPF_ANY);
	} else {
		bpf_map_delete_elem(&em_fds, &newkey);
	}
	return 0;
}

SYSCALL_EXIT_HOOK(dup, dup_exit, 0)
SYSCALL_EXIT_HOOK(dup2, dup_exit, 0)
SYSCALL_EXIT_HOOK(dup3, dup_exit, 0)
SYSCALL_EXIT_HOOK(fcntl, dup_exit, 1)
