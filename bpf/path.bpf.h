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
	char *buf; /* scratch slot 2, looked up once per walk */
	int pos;   /* the path so far starts at buf[pos] and ends at buf[DIR_BUF] */
	int done;  /* 1: reached the root; -1: too long */
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
	char *buf = w->buf;
	__u32 len;
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

/* walk_step through direct loads (targ_direct_loads: w's dentry and mount are read-only BTF
 * pointers, see kcast): one helper call per step, the name's copy. */
static long walk_step_direct(__u32 i, void *data)
{
	struct walk_ctx *w = data;
	struct dentry *dentry = w->dentry;
	struct mount *mnt = w->mnt;
	struct dentry *root = mnt->mnt.mnt_root;
	struct dentry *parent = dentry->d_parent;
	char *buf = w->buf;
	__u32 len;
	int pos;

	if (!dentry) { /* a fault reads 0 where a helper would fail */
		w->done = -1;
		return 1;
	}
	if (dentry == root || dentry == parent) {
		struct mount *up = mnt->mnt_parent;

		if (dentry != root || up == mnt) { /* the global root */
			w->done = 1;
			return 1;
		}
		w->dentry = mnt->mnt_mountpoint;
		w->mnt = up;
		return 0;
	}
	len = dentry->d_name.len & NAME_MASK;
	pos = w->pos - (int)(len + 1);
	if (pos < 0) {
		w->done = -1;
		return 1;
	}
	w->pos = pos;
	bpf_probe_read_kernel(&buf[(pos + 1) & (DIR_BUF - 1)], len, dentry->d_name.name);
	buf[pos & (DIR_BUF - 1)] = '/';
	w->dentry = parent;
	return 0;
}

/* Walk a kernel `struct path` (p: a copy on the stack) up to its root (w: zeroed by the
 * caller); the path is written just below buf[DIR_BUF] (scratch slot 2) and w->mnt is the
 * mount the walk ended on. Returns where the path starts, or -1 when it is too deep or too
 * long. */
static __always_inline int walk_path(const struct path *p, struct walk_ctx *w)
{
	__u32 slot = 2;

	w->buf = bpf_map_lookup_elem(&em_scratch, &slot);
	if (!w->buf)
		return -1;
	w->pos = DIR_BUF;
	if (targ_direct_loads) {
		w->dentry = kcast(p->dentry, struct dentry);
		w->mnt = kcast((void *)p->mnt - bpf_core_field_offset(struct mount, mnt),
			       struct mount);
		bpf_loop(PATH_DEPTH, walk_step_direct, w, 0);
	} else {
		w->dentry = p->dentry;
		w->vfsmnt = p->mnt;
		w->mnt = (void *)w->vfsmnt - bpf_core_field_offset(struct mount, mnt);
		bpf_loop(PATH_DEPTH, walk_step, w, 0);
	}
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
	char *nb;            /* scratch slot 2, looked up once per walk: a name read out */
	int pos;             /* given[0, pos) is still to be matched */
	int done;            /* 1: reached the root with every name matched; -1: a difference */
};

/* True when two 8-byte words of strings differ in their first `left` bytes (all 8 when
 * left >= 8; little-endian: the mask keeps a word's first bytes). The bytes past either
 * string's end are not ours, so a last word is compared through the mask. */
static __always_inline bool words_differ(__u64 a, __u64 b, int left)
{
	__u64 diff = a ^ b;

	if (left < 8)
		diff &= (1ULL << (left * 8)) - 1;
	return diff != 0;
}

/* True when the len bytes at nb are given[at, at + len), 8 bytes at a time. */
static __always_inline bool name_equal(const char *nb, const char *given, int at, __u32 len)
{
	for (int k = 0; k < (NAME_MASK + 1) / 8; k++) {
		int off = k * 8;

		if (off >= (int)len)
			break;
		if (words_differ(*(__u64 *)(nb + (off & NAME_MASK)),
				 *(__u64 *)(given + ((at + off) & (PATH_LEN - 1))), (int)len - off))
			return false;
	}
	return true;
}

/* One step of same_path: as walk_step, but the name is compared with the given path's
 * bytes just before pos instead of being copied out. */
static long same_step(__u32 i, void *data)
{
	struct same_ctx *w = data;
	struct dentry *dentry = w->dentry;
	struct mount *mnt = w->mnt;
	struct dentry_up up;
	const char *given;
	__u32 len;
	int pos;

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
	given = w->given;
	len = up.len & NAME_MASK;
	pos = w->pos - (int)(len + 1);
	if (pos < 0 || given[pos & (PATH_LEN - 1)] != '/')
		goto differs;
	if (bpf_probe_read_kernel(w->nb, len, up.name) || !name_equal(w->nb, given, pos + 1, len))
		goto differs;
	w->pos = pos;
	w->dentry = up.parent;
	return 0;
differs:
	w->done = -1;
	return 1;
}

/* True when dentry d's name (len bytes, at `name`) is given[at, at + len), read by direct
 * loads when the name is stored in the dentry itself (d_shortname, 6.14+: every name shorter
 * than DNAME_INLINE_LEN, 40 bytes on 64-bit, unless a rename swapped in a longer one's
 * storage: hence the pointer test, not a length test); else read out with a helper. */
static __always_inline bool dentry_name_equal(struct dentry *d, const unsigned char *name,
					      __u32 len, const char *given, int at, char *nb)
{
	if (bpf_core_field_exists(struct dentry, d_shortname) &&
	    (__u64)name == (__u64)d->d_shortname.string) {
		/* Unrolled: a BTF pointer is read at constant offsets only. len < 40 here. */
#pragma unroll
		for (int k = 0; k < 5; k++) {
			int off = k * 8;

			if (off >= (int)len)
				break;
			if (words_differ(d->d_shortname.words[k],
					 *(__u64 *)(given + ((at + off) & (PATH_LEN - 1))),
					 (int)len - off))
				return false;
		}
		return true;
	}
	return !bpf_probe_read_kernel(nb, len, name) && name_equal(nb, given, at, len);
}

/* same_step through direct loads (targ_direct_loads): w's dentries and mounts are read-only
 * BTF pointers (kcast), so a step makes no helper call but for a long name. */
static long same_step_direct(__u32 i, void *data)
{
	struct same_ctx *w = data;
	struct dentry *dentry = w->dentry;
	struct dentry *parent = dentry->d_parent;
	struct mount *mnt = w->mnt;
	const char *given = w->given;
	__u32 len;
	int pos;

	if (!dentry) /* a fault reads 0 where a helper would fail */
		goto differs;
	if (dentry == w->root || dentry == parent) {
		struct mount *up = mnt->mnt_parent;

		if (dentry != w->root || up == mnt) { /* the global root */
			w->done = 1;
			return 1;
		}
		w->dentry = mnt->mnt_mountpoint;
		w->mnt = up;
		w->root = up->mnt.mnt_root;
		return 0;
	}
	len = dentry->d_name.len & NAME_MASK;
	pos = w->pos - (int)(len + 1);
	if (pos < 0 || given[pos & (PATH_LEN - 1)] != '/' ||
	    !dentry_name_equal(dentry, dentry->d_name.name, len, given, pos + 1, w->nb))
		goto differs;
	w->pos = pos;
	w->dentry = parent;
	return 0;
differs:
	w->done = -1;
	return 1;
}

/* True when the path of open file `f`, walked as walk_path does, is the given absolute path
 * (len bytes in a map value) and ends on mount `ns_root`: every name on the way is compared,
 * none copied: the common case of real_path_if_differs, ~0.4 us cheaper than building the
 * path, and with direct loads another ~0.7 us (benchmarks/findings.md, realpath-direct). */
static __always_inline bool same_path(struct file *f, const char *given, int len,
				      struct mount *ns_root)
{
	struct same_ctx w = {};
	__u32 slot = 2;

	if (len <= 0 || len >= PATH_LEN || given[0] != '/')
		return false;
	w.nb = bpf_map_lookup_elem(&em_scratch, &slot);
	if (!w.nb)
		return false;
	w.given = given;
	w.pos = len;
	if (targ_direct_loads) {
		struct file *tf = kcast(f, struct file);
		struct vfsmount *vfsmnt = tf->f_path.mnt;

		w.dentry = tf->f_path.dentry;
		w.root = vfsmnt->mnt_root;
		w.mnt = kcast((void *)vfsmnt - bpf_core_field_offset(struct mount, mnt),
			      struct mount);
		bpf_loop(PATH_DEPTH, same_step_direct, &w, 0);
	} else {
		struct vfsmount *vfsmnt;
		struct path p;

		if (BPF_CORE_READ_INTO(&p, f, f_path))
			return false;
		vfsmnt = p.mnt;
		w.dentry = p.dentry;
		w.root = BPF_CORE_READ(vfsmnt, mnt_root);
		w.mnt = (void *)vfsmnt - bpf_core_field_offset(struct mount, mnt);
		bpf_loop(PATH_DEPTH, same_step, &w, 0);
	}
	if (w.done != 1 || w.mnt != ns_root)
		return false;
	return w.pos == 0 || (w.pos == 1 && len == 1); /* "/" itself: no name on the way */
}

/* Walk open file f's path as walk_path does (into w->buf, scratch slot 2, ending at
 * buf[DIR_BUF]; "/" itself made explicit); returns where it starts, or -1 when the walk does
 * not end on ns_root (the task's mount namespace: a pseudo file system's, a detached mount's
 * or another namespace's file has no path there) or the path does not fit in PATH_LEN. */
static __always_inline int walk_file_in_ns(struct file *f, struct mount *ns_root,
					   struct walk_ctx *w)
{
	struct path p;
	int pos;

	if (BPF_CORE_READ_INTO(&p, f, f_path))
		return -1;
	pos = walk_path(&p, w);
	if (pos < 0 || w->mnt != ns_root)
		return -1;
	if (pos == DIR_BUF - 1)
		w->buf[pos] = '/';
	if (DIR_BUF - pos >= PATH_LEN)
		return -1;
	return pos;
}

/* capture.real_paths: the compare below costs ~0.1 us per open with direct loads, ~0.75 us
 * with helper reads (benchmarks/findings.md, realpath-direct). */
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
	char *buf;
	int pos, rlen;

	/* Direct (fault-safe) loads from the BTF task: three helper calls fewer than
	 * BPF_CORE_READ(task, nsproxy, mnt_ns, root). */
	struct mount *ns_root = bpf_get_current_task_btf()->nsproxy->mnt_ns->root;

	if (same_path(f, given, len, ns_root))
		return 0;
	/* They differ (a symlink, "..", /proc/self/root), or the walk could not tell: build
	 * the real path with today's walk and compare the whole of it. */
	pos = walk_file_in_ns(f, ns_root, &w);
	if (pos < 0)
		return 0;
	buf = w.buf;
	rlen = DIR_BUF - pos;
	if (rlen == len) {
		/* The common case: the same bytes, compared a word at a time. */
		int i;

		for (i = 0; i < PATH_LEN / 8; i++) {
			int at = i * 8;

			if (at >= len)
				return 0;
			if (words_differ(*(__u64 *)(given + (at & (PATH_LEN - 1))),
					 *(__u64 *)(buf + ((pos + at) & (2 * DIR_BUF - 1))), len - at))
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
	int pos, len;

	pos = walk_file_in_ns(f, ns_root, &w);
	if (pos < 0)
		return 0;
	len = DIR_BUF - pos;
	w.buf[DIR_BUF] = 0;
	if (bpf_probe_read_kernel_str(dst, PATH_LEN, &w.buf[pos & (DIR_BUF - 1)]) != len + 1)
		return 0;
	return len;
}

#endif /* EBPF_MONITOR_PATH_BPF_H */
