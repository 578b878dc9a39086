// SPDX-License-Identifier: GPL-2.0
/* Memory made executable: mmap and mprotect asking for PROT_EXEC, of a file (named from its
 * struct file: path, device, inode) or, with capture.exec_mappings "all", of anonymous memory
 * (shellcode staged in RWX memory, JIT code). mmap is hot (every malloc arena, every file
 * read by mapping): both exits test PROT_EXEC first and leave before any other work.
 *
 * The dynamic loader maps every shared library executable on every exec: mappings of files
 * under filters.library_prefixes (em_lib_path; trusted, root-owned directories) are skipped
 * when filters.ignore_library_mappings is on. By directory, not by name: a library dlopen'ed
 * from /tmp or /dev/shm is exactly what an investigator wants to see. A file with no name left
 * (a memfd, a deleted file) is never skipped.
 *
 * pkey_mprotect is mprotect with a protection key: hooked alike, or it would be the way round.
 *
 * mprotect: the prot the vmas had before the call is gone by exit, so mprotect gets an enter
 * program too, run to completion only for a PROT_EXEC request: it looks up the vmas of the
 * range (bpf_find_vma, one per region, up to MPROT_REGIONS) and keeps each one's bounds, prot
 * and file per thread until the exit. A range over several regions is sent as one record per
 * region (MMF_PART), each judged alone: a library's region first in the range cannot hide the
 * anonymous or file memory after it. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "common.bpf.h"

#define PROT_EXEC 0x4
#define MAP_ANONYMOUS 0x20
#define VM_PROT_BITS 0x7 /* VM_READ | VM_WRITE | VM_EXEC: the values of PROT_READ/WRITE/EXEC */
#define MPROT_ENTRIES 4096
#define MPROT_REGIONS 8 /* vmas described per mprotect; the rest of a range is one record */

/* The 6th syscall argument (mmap's offset), which syscall_args leaves out. arm64: x0 alone is
 * overwritten by the return value. */
#if defined(__TARGET_ARCH_x86)
#define SYSCALL_ARG6(regs) ((regs)->r9)
#else
#define SYSCALL_ARG6(regs) ((regs)->regs[5])
#endif

const volatile __u8 targ_exec_maps = XM_ALL;  /* enum exec_map_mode (XM_NONE: not loaded) */
const volatile __u8 targ_lib_filter = 0;      /* em_lib_path has entries */

/* filters.library_prefixes, when filters.ignore_library_mappings is on. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 64);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct prefix_key);
	__type(value, __u8);
} em_lib_path SEC(".maps");

/* One vma of an mprotect's range, as the enter found it. */
struct vma_part {
	__u64 file;  /* the vma's struct file (0: anonymous) */
	__u64 start; /* its bounds */
	__u64 end;
	__u32 prot;  /* its VM_PROT_BITS */
	__u32 pad;
};

/* What mprotect's enter found, by thread id, for its exit: the vmas from the range's start,
 * in address order, until the range's end, a hole or MPROT_REGIONS. LRU: a thread killed in
 * the call leaves nothing behind for long. */
struct vma_seen {
	__u32 n;     /* parts found (0: no vma at start) */
	__u32 pad;
	struct vma_part part[MPROT_REGIONS];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MPROT_ENTRIES);
	__type(key, __u32);
	__type(value, struct vma_seen);
} em_mprot_seen SEC(".maps");

static __always_inline bool library_path(const char *path, int len)
{
	struct prefix_key key = {};

	if (!targ_lib_filter || len <= 0)
		return false;
	if (len > PREFIX_LEN)
		len = PREFIX_LEN;
	bpf_probe_read_kernel(&key.data, sizeof(key.data), path);
	key.prefixlen = len * 8;
	return bpf_map_lookup_elem(&em_lib_path, &key) != NULL;
}

/* Name the mapped file in e (path, device, inode); false when the mapping is a library's and
 * is not to be sent. *hflags gets EF_PATH_TRUNCATED (the header is filled later). */
static __always_inline bool describe_file(struct mmap_event *e, struct file *f, __u16 *hflags)
{
	struct path p;
	int len = 0;

	e->mflags |= MMF_FILE;
	e->ino = BPF_CORE_READ(f, f_inode, i_ino);
	e->dev = BPF_CORE_READ(f, f_inode, i_sb, s_dev);
	if (BPF_CORE_READ(f, f_inode, __i_nlink) == 0)
		e->mflags |= MMF_UNLINKED;
	e->path[0] = 0;
	if (!BPF_CORE_READ_INTO(&p, f, f_path))
		len = kpath_str(e->path, &p, hflags, EF_PATH_TRUNCATED);
	/* A memfd's dentry is its own root ("/" from the walk): its name, "memfd:<name>". */
	if ((e->mflags & MMF_UNLINKED) && len <= 1) {
		long n = bpf_probe_read_kernel_str(e->path, PATH_LEN,
						   BPF_CORE_READ(f, f_path.dentry, d_name.name));

		len = n > 0 ? n - 1 : 0;
	}
	e->path_len = len;
	return (e->mflags & MMF_UNLINKED) || !library_path(e->path, len);
}

static __always_inline void send_mmap(struct mmap_event *e, __u16 action, __s64 ret, __u16 hflags)
{
	fill_header(&e->h, EK_MMAP, action, ret);
	e->h.flags = hflags;
	emit(e, offsetof(struct mmap_event, path) +
		(e->mflags & MMF_FILE ? (e->path_len & (PATH_LEN - 1)) + 1 : 0));
}

static __always_inline struct mmap_event *fresh_event(void)
{
	struct mmap_event *e = scratch(0);

	if (!e)
		return NULL;
	e->offset = 0;
	e->ino = 0;
	e->dev = 0;
	e->flags = 0;
	e->fd = -1;
	e->prot_before = 0;
	e->mflags = 0;
	e->path_len = 0;
	return e;
}

SEC("tracepoint/syscalls/sys_exit_mmap")
int tracepoint__syscalls__sys_exit_mmap(struct trace_event_raw_sys_exit *ctx)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	__u32 prot = PT_REGS_PARM3_SYSCALL(regs);
	struct mmap_event *e;
	__u16 hflags = 0;
	__u32 flags;
	int fd;

	if (!(prot & PROT_EXEC))
		return 0; /* nearly every mmap: one helper call and a load */
	flags = PT_REGS_PARM4_SYSCALL(regs);
	if ((flags & MAP_ANONYMOUS) && targ_exec_maps != XM_ALL)
		return 0;
	if (task_filtered())
		return 0;
	e = fresh_event();
	if (!e)
		return 0;
	fd = PT_REGS_PARM5_SYSCALL(regs);
	e->addr = PT_REGS_PARM1_SYSCALL(regs);
	e->len = PT_REGS_PARM2_SYSCALL(regs);
	e->prot = prot;
	e->flags = flags;
	if (!(flags & MAP_ANONYMOUS)) {
		struct file *f = file_of_fd(fd);

		e->fd = fd;
		e->offset = SYSCALL_ARG6(regs);
		if (f) {
			if (!describe_file(e, f, &hflags))
				return 0;
		} else if (targ_exec_maps != XM_ALL) {
			return 0; /* no file (a bad fd): nothing was mapped, nothing to name */
		}
	}
	send_mmap(e, EA_MMAP, ctx->ret, hflags);
	return 0;
}

static long vma_seen_cb(struct task_struct *task, struct vm_area_struct *vma, void *data)
{
	struct vma_part *part = data;

	part->prot = vma->vm_flags & VM_PROT_BITS;
	part->file = (__u64)BPF_CORE_READ(vma, vm_file); /* a number: it outlives the callback */
	part->start = vma->vm_start;
	part->end = vma->vm_end;
	return 0;
}

static __always_inline int mprotect_enter(struct trace_event_raw_sys_enter *ctx)
{
	static const struct vma_seen empty;
	struct task_struct *task;
	struct vma_seen *v;
	__u64 at, end;
	__u32 tid, i;

	if (!(ctx->args[2] & PROT_EXEC) || task_filtered())
		return 0;
	tid = current_tid();
	/* A fresh entry, even over one a killed thread of the same id left. */
	if (bpf_map_update_elem(&em_mprot_seen, &tid, &empty, BPF_ANY))
		return 0;
	v = bpf_map_lookup_elem(&em_mprot_seen, &tid);
	if (!v)
		return 0;
	task = bpf_get_current_task_btf();
	at = ctx->args[0];
	end = at + ctx->args[1];
	/* The vma containing `at`, then the one from its end on (-ENOENT: a hole, where the call
	 * fails with ENOMEM; -EBUSY: mmap_lock contended, rare here). */
	for (i = 0; i < MPROT_REGIONS; i++) {
		struct vma_part part = {}; /* the callback's context must be on the stack */

		if (bpf_find_vma(task, at, vma_seen_cb, &part, 0) || part.end <= at)
			break;
		v->part[i] = part;
		v->n = i + 1;
		at = part.end;
		if (at >= end)
			break;
	}
	return 0;
}

/* One record: the part [addr, addr + len) of an mprotect's range, in the vma `part` (NULL:
 * none found there). False when it is not sent (a library's, or anonymous with "files"). */
static __always_inline bool send_mprotect(struct trace_event_raw_sys_exit *ctx, __u16 action,
					  __u64 addr, __u64 len, __u32 prot,
					  const struct vma_part *part, __u16 mflags)
{
	struct mmap_event *e;
	__u16 hflags = 0;

	if ((!part || !part->file) && targ_exec_maps != XM_ALL)
		return false; /* anonymous memory, or no vma at start (the call failed) */
	e = fresh_event();
	if (!e)
		return false;
	e->addr = addr;
	e->len = len;
	e->prot = prot;
	e->mflags = mflags;
	if (part) {
		e->mflags |= MMF_BEFORE;
		e->prot_before = part->prot;
	}
	/* The vma holds a reference on its file; the reads below fault-guard a racing munmap. */
	if (part && part->file && !describe_file(e, (struct file *)part->file, &hflags))
		return false;
	send_mmap(e, action, ctx->ret, hflags);
	return true;
}

/* mprotect(start, len, prot) and pkey_mprotect(start, len, prot, pkey): the same change.
 * One vma, or a failed call: one record of the call as made. A success over several vmas: one
 * record per vma (MMF_PART, addr and len its part of the range), and one for the rest of a
 * range past MPROT_REGIONS vmas (MMF_PART without MMF_BEFORE: not looked at). */
static __always_inline int mprotect_exit(struct trace_event_raw_sys_exit *ctx, __u16 action)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	__u32 prot = PT_REGS_PARM3_SYSCALL(regs);
	__u64 start, end, at;
	struct vma_seen *v;
	__u32 tid, n, i;

	if (!(prot & PROT_EXEC))
		return 0;
	tid = current_tid();
	v = bpf_map_lookup_elem(&em_mprot_seen, &tid);
	n = v ? v->n : 0;
	if (task_filtered())
		goto out;
	start = PT_REGS_PARM1_SYSCALL(regs);
	end = start + PT_REGS_PARM2_SYSCALL(regs);
	if (n <= 1 || ctx->ret < 0 || !v) {
		send_mprotect(ctx, action, start, end - start, prot, n && v ? &v->part[0] : NULL, 0);
		goto out;
	}
	at = start;
	for (i = 0; i < MPROT_REGIONS; i++) {
		const struct vma_part *part = &v->part[i];
		__u64 to;

		if (i >= n || at >= end)
			break;
		to = part->end < end ? part->end : end;
		if (to <= at)
			break;
		send_mprotect(ctx, action, at, to - at, prot, part, MMF_PART);
		at = to;
	}
	if (at < end)
		send_mprotect(ctx, action, at, end - at, prot, NULL, MMF_PART);
out:
	if (v)
		bpf_map_delete_elem(&em_mprot_seen, &tid);
	return 0;
}

SYSCALL_EXIT_HOOK(mprotect, mprotect_exit, EA_MPROTECT)
SYSCALL_EXIT_HOOK(pkey_mprotect, mprotect_exit, EA_PKEY_MPROTECT)

SEC("tracepoint/syscalls/sys_enter_mprotect")
int tracepoint__syscalls__sys_enter_mprotect(struct trace_event_raw_sys_enter *ctx)
{
	return mprotect_enter(ctx);
}

SEC("tracepoint/syscalls/sys_enter_pkey_mprotect")
int tracepoint__syscalls__sys_enter_pkey_mprotect(struct trace_event_raw_sys_enter *ctx)
{
	return mprotect_enter(ctx);
}

char LICENSE[] SEC("license") = "GPL";
