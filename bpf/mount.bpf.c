// SPDX-License-Identifier: GPL-2.0
/* Namespaces and mounts: setns (fd, type asked, the namespace's inode), unshare (flags), mount
 * (source, target, type, flags), umount2 (target, flags), chroot (path), pivot_root (new root,
 * old root's new place). Paths made absolute in the kernel from the cwd, never filtered by
 * path: a mount over an ignored tree matters most. Arguments read at exit. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "common.bpf.h"

#define NSFS_MAGIC 0x6e736673
#define MS_BIND 4096
#define MS_MOVE 8192

/* One path into e->data at off; relative ones resolved from the cwd when `resolve`. */
static __always_inline int mount_path(struct mount_event *e, __u32 off, const char *upath,
				      __u16 bit, bool resolve)
{
	int len;

	off &= PATH_LEN - 1;
	if (!upath) {
		e->data[off] = 0;
		return 0;
	}
	len = read_user_path(&e->data[off], upath, &e->h.flags, bit);
	if (len < 0)
		len = 0;
	if (resolve)
		len = resolve_relative(&e->data[off], len, ABI_AT_FDCWD, &e->h.flags, bit);
	return len;
}

static __always_inline int mount_exit(struct trace_event_raw_sys_exit *ctx, __u16 action)
{
	struct start_args a;
	struct mount_event *e;
	const char *p1 = NULL, *p2 = NULL;
	bool resolve1 = true;
	__u32 off;
	int len1 = 0, len2 = 0;

	if (!exit_args(&a))
		return 0;
	e = scratch(0);
	if (!e)
		return 0;
	fill_header(&e->h, EK_MOUNT, action, ctx->ret);
	e->fd = 0;
	e->nstype = 0;
	e->flags = 0;
	e->ns_inode = 0;
	e->_pad[0] = e->_pad[1] = 0;
	e->fstype[0] = 0;
	switch (action) {
	case EA_SETNS: {
		struct file *f = file_of_fd(a.args[0]);

		e->fd = a.args[0];
		e->nstype = a.args[1];
		if (f && BPF_CORE_READ(f, f_inode, i_sb, s_magic) == NSFS_MAGIC)
			e->ns_inode = BPF_CORE_READ(f, f_inode, i_ino);
		break;
	}
	case EA_UNSHARE:
		e->flags = a.args[0];
		break;
	case EA_MOUNT:
		p1 = (const char *)a.args[0];
		p2 = (const char *)a.args[1];
		e->flags = a.args[3];
		/* The source is a path only for a bind or a move ("tmpfs", "/dev/sda1", "none"). */
		resolve1 = (a.args[3] & (MS_BIND | MS_MOVE)) != 0;
		if (a.args[2])
			bpf_probe_read_user_str(e->fstype, sizeof(e->fstype), (void *)a.args[2]);
		break;
	case EA_UMOUNT2:
		p1 = (const char *)a.args[0];
		e->flags = a.args[1];
		break;
	case EA_CHROOT:
		p1 = (const char *)a.args[0];
		break;
	default: /* pivot_root(new_root, put_old) */
		p1 = (const char *)a.args[0];
		p2 = (const char *)a.args[1];
	}
	len1 = mount_path(e, 0, p1, EF_PATH_TRUNCATED, resolve1);
	off = (len1 + 1) & (PATH_LEN - 1);
	len2 = mount_path(e, off, p2, EF_PATH2_TRUNCATED, true);
	e->len1 = len1;
	e->len2 = len2;
	emit(e, offsetof(struct mount_event, data) + off + (len2 & (PATH_LEN - 1)) + 1);
	return 0;
}

SYSCALL_EXIT_HOOK(setns, mount_exit, EA_SETNS)
SYSCALL_EXIT_HOOK(unshare, mount_exit, EA_UNSHARE)
SYSCALL_EXIT_HOOK(mount, mount_exit, EA_MOUNT)
SYSCALL_EXIT_HOOK(umount, mount_exit, EA_UMOUNT2) /* umount2(2)'s tracepoint is "umount" */
SYSCALL_EXIT_HOOK(chroot, mount_exit, EA_CHROOT)
SYSCALL_EXIT_HOOK(pivot_root, mount_exit, EA_PIVOT_ROOT)

char LICENSE[] SEC("license") = "GPL";
