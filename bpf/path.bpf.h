/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Paths: reading user paths, the prefix and shared-library filters, and making a relative
 * path absolute in the kernel by walking dentries and mounts as d_path() does.
 * Needs file_of_fd (fdtrack.bpf.h).
 */
#ifndef EBPF_MONITOR_PATH_BPF_H
#define EBPF_MONITOR_PATH_BPF_H

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

/* Walk a kernel `struct path` up to its root (w: zeroed by the caller); the path is written
 * just below buf[DIR_BUF] (scratch slot 2) and w->mnt is the mount the walk ended on. Returns
 * where the path starts, or -1 when it is too deep or too long. */
static __always_inline int walk_path(const struct path *p, struct walk_ctx *w)
{
	w->dentry = BPF_CORE_READ(p, dentry);
	w->vfsmnt = BPF_CORE_READ(p, mnt);
	w->mnt = (void *)w->vfsmnt - bpf_core_field_offset(struct mount, mnt);
	w->pos = DIR_BUF;
	bpf_loop(PATH_DEPTH, walk_step, w, 0);
	if (w->done != 1)
		return -1;
	return w->pos == DIR_BUF ? DIR_BUF - 1 : w->pos; /* the root itself: "/" */
}

/* Write the absolute path of a kernel `struct path` just below buf[DIR_BUF] (scratch slot 2);
 * returns where it starts, or -1 when it is too deep or too long. */
static __always_inline int build_dir_path(const struct path *p)
{
	struct walk_ctx w = {};

	return walk_path(p, &w);
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
	if (dfd == ABI_AT_FDCWD) {
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

/* The absolute path of a kernel `struct path` into path (PATH_LEN bytes), walked as d_path()
 * does; returns its length, or 0 (path "") when it cannot be named (too deep). */
static __always_inline int kpath_str(char *path, const struct path *p, __u16 *flags, __u16 bit)
{
	__u32 slot = 2;
	char *buf;
	int pos;
	long n;

	path[0] = 0;
	buf = bpf_map_lookup_elem(&em_scratch, &slot);
	if (!buf)
		return 0;
	pos = build_dir_path(p);
	if (pos < 0)
		return 0;
	if (pos == DIR_BUF - 1)
		buf[pos] = '/';
	buf[DIR_BUF] = 0;
	n = bpf_probe_read_kernel_str(path, PATH_LEN, &buf[pos & (DIR_BUF - 1)]);
	if (n <= 0) {
		path[0] = 0;
		return 0;
	}
	if (n == PATH_LEN)
		*flags |= bit;
	return n - 1;
}

/* The path of what fd names (AT_FDCWD: the cwd), as kpath_str; *filep gets its struct file
 * (NULL for the cwd or a bad fd). For fchmod & co. and AT_EMPTY_PATH. */
static __always_inline int fd_path_str(char *path, int fd, struct file **filep, __u16 *flags,
				       __u16 bit)
{
	struct path p;

	*filep = NULL;
	path[0] = 0;
	if (fd == ABI_AT_FDCWD) {
		struct task_struct *task = (struct task_struct *)bpf_get_current_task();

		if (BPF_CORE_READ_INTO(&p, task, fs, pwd))
			return 0;
	} else {
		struct file *f = file_of_fd(fd);

		if (!f || BPF_CORE_READ_INTO(&p, f, f_path))
			return 0;
		*filep = f;
	}
	return kpath_str(path, &p, flags, bit);
}

/* The fields of a dentry one step up needs, d_parent to d_name.name: contiguous in every
 * kernel this runs on (checked per load through CO-RE offsets; one read instead of three). */
struct dentry_up {
	struct dentry *parent;
	__u32 hash;
	__u32 len;
	const unsigned char *name;
};

struct same_ctx {
	struct dentry *dentry;
	struct dentry *root; /* the current mount's mnt_root, read once per mount */
	struct mount *mnt;
	const char *given;   /* a map value, PATH_LEN bytes */
	int pos;             /* given[0, pos) is still to be matched */
	int done;            /* 1: reached the root with every name matched; -1: a difference */
};

/* One step of same_path: as walk_step, but the name is compared with the given path's
 * bytes just before pos instead of being copied out. */
static long same_step(__u32 i, void *data)
{
	struct same_ctx *w = data;
	struct dentry *dentry = w->dentry;
	struct mount *mnt = w->mnt;
	struct dentry_up up;
	__u32 slot = 2, len;
	const char *given;
	char *nb;
	int pos, k;

	if (bpf_core_field_offset(struct dentry, d_name) ==
	    bpf_core_field_offset(struct dentry, d_parent) + 8) {
		if (bpf_probe_read_kernel(&up, sizeof(up),
					  (void *)dentry + bpf_core_field_offset(struct dentry, d_parent)))
			goto differs;
	} else {
		up.parent = BPF_CORE_READ(dentry, d_parent);
		up.len = BPF_CORE_READ(dentry, d_name.len);
		up.name = BPF_CORE_READ(dentry, d_name.name);
	}
	if (dentry == w->root || dentry == up.parent) {
		struct mount *upm = BPF_CORE_READ(mnt, mnt_parent);

		if (dentry != w->root || upm == mnt) { /* the global root */
			w->done = 1;
			return 1;
		}
		w->dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
		w->mnt = upm;
		w->root = BPF_CORE_READ(upm, mnt.mnt_root);
		return 0;
	}
	nb = bpf_map_lookup_elem(&em_scratch, &slot);
	if (!nb)
		goto differs;
	given = w->given;
	len = up.len & NAME_MASK;
	pos = w->pos - (int)(len + 1);
	if (pos < 0 || given[pos & (PATH_LEN - 1)] != '/')
		goto differs;
	if (bpf_probe_read_kernel(nb, len, up.name))
		goto differs;
	/* 8 bytes at a time; the bytes past the name in nb and past pos in given are not ours. */
	for (k = 0; k < (NAME_MASK + 1) / 8; k++) {
		int at = k * 8;
		__u64 a, b, diff;

		if (at >= (int)len)
			break;
		a = *(__u64 *)(nb + (at & NAME_MASK));
		b = *(__u64 *)(given + ((pos + 1 + at) & (PATH_LEN - 1)));
		diff = a ^ b;
		if ((int)len - at < 8)
			diff &= (1ULL << (((int)len - at) * 8)) - 1;
		if (diff)
			goto differs;
	}
	w->pos = pos;
	w->dentry = up.parent;
	return 0;
differs:
	w->done = -1;
	return 1;
}

/* True when the path of `p`, walked as walk_path does, is the given absolute path (len
 * bytes in a map value) and ends on mount `ns_root`: every name on the way is compared, none
 * copied: the common case of real_path_if_differs, ~0.4 us cheaper than building the path. */
static __always_inline bool same_path(const struct path *p, const char *given, int len,
				      struct mount *ns_root)
{
	struct same_ctx w = {};
	struct vfsmount *vfsmnt = p->mnt; /* p: a copy on the stack, no helper to read it */

	if (len <= 0 || len >= PATH_LEN || given[0] != '/')
		return false;
	w.dentry = p->dentry;
	w.root = BPF_CORE_READ(vfsmnt, mnt_root);
	w.mnt = (void *)vfsmnt - bpf_core_field_offset(struct mount, mnt);
	w.given = given;
	w.pos = len;
	bpf_loop(PATH_DEPTH, same_step, &w, 0);
	if (w.done != 1 || w.mnt != ns_root)
		return false;
	return w.pos == 0 || (w.pos == 1 && len == 1); /* "/" itself: no name on the way */
}

/* capture.real_paths: the compare below costs about 0.7 us per open (benchmarks/findings.md). */
const volatile __u8 targ_real_paths __weak = 1;

/* The real path of an open file `f` into dst (PATH_LEN bytes free), when it differs from the
 * absolute path it was opened by (`given`, len bytes, in a map value); returns its length, or
 * 0 when the two are the same, or when the file cannot be named in the current task's mount
 * namespace: the walk must end on that namespace's root mount, which a pseudo file system's
 * (pipes, anonymous inodes), a detached mount's or another namespace's file does not; a
 * chroot is walked through (its files get their path in the namespace). A bind mount is a
 * place of its own (the walk follows the mount the file was opened through): no difference. */
static __always_inline int real_path_if_differs(char *dst, const char *given, int len,
						struct file *f)
{
	if (!targ_real_paths)
		return 0;

	struct walk_ctx w = {};
	struct path p;
	__u32 slot = 2;
	char *buf;
	int pos, rlen;

	/* Direct (fault-safe) loads from the BTF task: three helper calls fewer than
	 * BPF_CORE_READ(task, nsproxy, mnt_ns, root). */
	struct mount *ns_root = bpf_get_current_task_btf()->nsproxy->mnt_ns->root;

	buf = bpf_map_lookup_elem(&em_scratch, &slot);
	if (!buf || BPF_CORE_READ_INTO(&p, f, f_path))
		return 0;
	if (same_path(&p, given, len, ns_root))
		return 0;
	pos = walk_path(&p, &w);
	if (pos < 0 || w.mnt != ns_root)
		return 0;
	if (pos == DIR_BUF - 1)
		buf[pos] = '/';
	rlen = DIR_BUF - pos;
	if (rlen >= PATH_LEN)
		return 0;
	if (rlen == len) {
		/* The common case: the same bytes. Compared a word at a time (little-endian: the
		 * mask keeps a last word's first bytes); the bytes past either end are not ours. */
		int i;

		for (i = 0; i < PATH_LEN / 8; i++) {
			int at = i * 8;
			__u64 a, b, diff;

			if (at >= len)
				return 0;
			a = *(__u64 *)(given + (at & (PATH_LEN - 1)));
			b = *(__u64 *)(buf + ((pos + at) & (2 * DIR_BUF - 1)));
			diff = a ^ b;
			if (len - at < 8)
				diff &= (1ULL << ((len - at) * 8)) - 1;
			if (diff)
				break;
		}
		if (i == PATH_LEN / 8)
			return 0;
	}
	buf[DIR_BUF] = 0;
	if (bpf_probe_read_kernel_str(dst, PATH_LEN, &buf[pos & (DIR_BUF - 1)]) != rlen + 1)
		return 0;
	return rlen;
}

/* The path of an open file `f` in the current task's mount namespace into dst (PATH_LEN
 * bytes), as an open of it would have given it; 0 when it has none there (another namespace's
 * or a detached mount's file, a pseudo file system's) or when it does not fit whole. For an
 * fd the process got before we saw it (inherited, or opened before start). */
static __always_inline int file_path_in_ns(char *dst, struct file *f)
{
	struct mount *ns_root = bpf_get_current_task_btf()->nsproxy->mnt_ns->root;
	struct walk_ctx w = {};
	struct path p;
	__u32 slot = 2;
	char *buf;
	int pos, len;
	long n;

	buf = bpf_map_lookup_elem(&em_scratch, &slot);
	if (!buf || BPF_CORE_READ_INTO(&p, f, f_path))
		return 0;
	pos = walk_path(&p, &w);
	if (pos < 0 || w.mnt != ns_root)
		return 0;
	if (pos == DIR_BUF - 1)
		buf[pos] = '/';
	len = DIR_BUF - pos;
	if (len >= PATH_LEN)
		return 0;
	buf[DIR_BUF] = 0;
	n = bpf_probe_read_kernel_str(dst, PATH_LEN, &buf[pos & (DIR_BUF - 1)]);
	return n == len + 1 ? len : 0;
}

#endif /* EBPF_MONITOR_PATH_BPF_H */
