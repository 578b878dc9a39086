// SPDX-License-Identifier: GPL-2.0
/* Names: link, linkat, symlink, symlinkat, mkdir, mkdirat, mknod, mknodat, truncate, ftruncate.
 * Read at exit like every file hook: arguments from the saved user registers, paths made
 * absolute in the kernel (dfd + path; an fd's own path for ftruncate and linkat's
 * AT_EMPTY_PATH). A symlink's text is kept as given: it is not a path to resolve. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "common.bpf.h"

static __always_inline int link_exit(struct trace_event_raw_sys_exit *ctx, __u16 action)
{
	struct start_args a;
	struct link_event *e;
	const char *oldp, *newp;
	struct file *f;
	bool symlink = action == EA_SYMLINK || action == EA_SYMLINKAT;
	int olen, nlen;
	__u32 off;

	if (!exit_args(&a))
		return 0;
	e = scratch(0);
	if (!e)
		return 0;
	fill_header(&e->h, EK_LINK, action, ctx->ret);
	e->olddfd = ABI_AT_FDCWD;
	e->newdfd = ABI_AT_FDCWD;
	e->flags = 0;
	oldp = (const char *)a.args[0];
	newp = (const char *)a.args[1];
	if (action == EA_LINKAT) {
		e->olddfd = a.args[0];
		oldp = (const char *)a.args[1];
		e->newdfd = a.args[2];
		newp = (const char *)a.args[3];
		e->flags = a.args[4];
	} else if (action == EA_SYMLINKAT) {
		e->newdfd = a.args[1];
		newp = (const char *)a.args[2];
	}
	olen = read_user_path(e->data, oldp, &e->h.flags, EF_PATH_TRUNCATED);
	if (olen < 0)
		olen = 0;
	if (symlink)
		; /* the link's text, as given */
	else if (olen == 0 && (e->flags & ATF_EMPTY_PATH))
		olen = fd_path_str(e->data, e->olddfd, &f, &e->h.flags, EF_PATH_TRUNCATED);
	else
		olen = resolve_relative(e->data, olen, e->olddfd, &e->h.flags, EF_PATH_TRUNCATED);
	off = (olen + 1) & (PATH_LEN - 1);
	nlen = read_user_path(&e->data[off], newp, &e->h.flags, EF_PATH2_TRUNCATED);
	if (nlen < 0)
		nlen = 0;
	nlen = resolve_relative(&e->data[off], nlen, e->newdfd, &e->h.flags, EF_PATH2_TRUNCATED);
	/* The new name decides; a hard link out of an ignored tree (old) matters. */
	if (path_ignored(&e->data[off], nlen) && (symlink || path_ignored(e->data, olen)))
		return 0;
	e->old_len = olen;
	e->new_len = nlen;
	emit(e, offsetof(struct link_event, data) + off + (nlen & (PATH_LEN - 1)) + 1);
	return 0;
}

SYSCALL_EXIT_HOOK(link, link_exit, EA_LINK)
SYSCALL_EXIT_HOOK(linkat, link_exit, EA_LINKAT)
SYSCALL_EXIT_HOOK(symlink, link_exit, EA_SYMLINK)
SYSCALL_EXIT_HOOK(symlinkat, link_exit, EA_SYMLINKAT)

static __always_inline int mknod_exit(struct trace_event_raw_sys_exit *ctx, __u16 action)
{
	struct start_args a;
	struct mknod_event *e;
	const char *upath;
	int len;

	if (!exit_args(&a))
		return 0;
	e = scratch(0);
	if (!e)
		return 0;
	fill_header(&e->h, EK_MKNOD, action, ctx->ret);
	e->dfd = ABI_AT_FDCWD;
	e->dev = 0;
	switch (action) {
	case EA_MKDIR:
		upath = (const char *)a.args[0];
		e->mode = a.args[1];
		break;
	case EA_MKDIRAT:
		e->dfd = a.args[0];
		upath = (const char *)a.args[1];
		e->mode = a.args[2];
		break;
	case EA_MKNOD:
		upath = (const char *)a.args[0];
		e->mode = a.args[1];
		e->dev = a.args[2];
		break;
	default: /* mknodat */
		e->dfd = a.args[0];
		upath = (const char *)a.args[1];
		e->mode = a.args[2];
		e->dev = a.args[3];
	}
	len = read_user_path(e->path, upath, &e->h.flags, EF_PATH_TRUNCATED);
	if (len < 0)
		len = 0;
	len = resolve_relative(e->path, len, e->dfd, &e->h.flags, EF_PATH_TRUNCATED);
	if (path_ignored(e->path, len))
		return 0;
	e->path_len = len;
	e->_pad = 0;
	emit(e, offsetof(struct mknod_event, path) + (len & (PATH_LEN - 1)) + 1);
	return 0;
}

SYSCALL_EXIT_HOOK(mkdir, mknod_exit, EA_MKDIR)
SYSCALL_EXIT_HOOK(mkdirat, mknod_exit, EA_MKDIRAT)
SYSCALL_EXIT_HOOK(mknod, mknod_exit, EA_MKNOD)
SYSCALL_EXIT_HOOK(mknodat, mknod_exit, EA_MKNODAT)

static __always_inline int truncate_exit(struct trace_event_raw_sys_exit *ctx, __u16 action)
{
	struct start_args a;
	struct truncate_event *e;
	struct file *f;
	int len;

	if (!exit_args(&a))
		return 0;
	e = scratch(0);
	if (!e)
		return 0;
	fill_header(&e->h, EK_TRUNCATE, action, ctx->ret);
	e->length = a.args[1];
	if (action == EA_FTRUNCATE) {
		e->fd = a.args[0];
		/* A bad fd (or ABI_AT_FDCWD's number) names nothing. */
		len = e->fd == ABI_AT_FDCWD ? 0 :
			fd_path_str(e->path, e->fd, &f, &e->h.flags, EF_PATH_TRUNCATED);
	} else {
		e->fd = ABI_AT_FDCWD;
		len = read_user_path(e->path, (const char *)a.args[0], &e->h.flags,
				     EF_PATH_TRUNCATED);
		if (len < 0)
			len = 0;
		len = resolve_relative(e->path, len, ABI_AT_FDCWD, &e->h.flags, EF_PATH_TRUNCATED);
	}
	if (path_ignored(e->path, len))
		return 0;
	e->path_len = len;
	e->_pad = 0;
	emit(e, offsetof(struct truncate_event, path) + (len & (PATH_LEN - 1)) + 1);
	return 0;
}

SYSCALL_EXIT_HOOK(truncate, truncate_exit, EA_TRUNCATE)
SYSCALL_EXIT_HOOK(ftruncate, truncate_exit, EA_FTRUNCATE)
