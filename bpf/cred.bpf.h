/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Reading a task's credentials into struct cred_ids, and the record an exec sends with the ids
 * it left (process.bpf.c sends it just before the exec record; user space fills the exec
 * document's process.user/real_user/saved_user/group... from it).
 */
#ifndef EBPF_MONITOR_CRED_BPF_H
#define EBPF_MONITOR_CRED_BPF_H

static __always_inline void cred_read(struct cred_ids *out, struct task_struct *task)
{
	const struct cred *c = BPF_CORE_READ(task, cred);

	out->uid = BPF_CORE_READ(c, uid.val);
	out->euid = BPF_CORE_READ(c, euid.val);
	out->suid = BPF_CORE_READ(c, suid.val);
	out->fsuid = BPF_CORE_READ(c, fsuid.val);
	out->gid = BPF_CORE_READ(c, gid.val);
	out->egid = BPF_CORE_READ(c, egid.val);
	out->sgid = BPF_CORE_READ(c, sgid.val);
	out->fsgid = BPF_CORE_READ(c, fsgid.val);
	out->cap_effective = BPF_CORE_READ(c, cap_effective.val);
	out->cap_permitted = BPF_CORE_READ(c, cap_permitted.val);
	out->cap_inheritable = BPF_CORE_READ(c, cap_inheritable.val);
}

/* An exec succeeded: the ids it left, whether it changed them (AT_SECURE), and the exec'd file's
 * name when it has no link left. Built in scratch slot 0 (slot 2 builds the path), sent before
 * the exec record, which is built there next. */
static __always_inline void cred_exec_emit(struct linux_binprm *bprm)
{
	struct cred_event *e = scratch(0);
	struct file *f = BPF_CORE_READ(bprm, file);
	__u32 slot = 2;
	char *buf;
	int pos;
	long n;

	if (!e)
		return;
	__builtin_memset(e, 0, offsetof(struct cred_event, path) + 1);
	fill_header(&e->h, EK_CRED, EA_EXECVE, 0);
	e->flags = CRF_EXEC;
	if (BPF_CORE_READ_BITFIELD_PROBED(bprm, secureexec))
		e->flags |= CRF_SECUREEXEC;
	cred_read(&e->after, bpf_get_current_task_btf());
	/* A file with no link left: name it while the kernel still can (its dentry keeps the
	 * old name; a memfd's is "memfd:<name>"). */
	if (f && BPF_CORE_READ(f, f_inode, __i_nlink) == 0) {
		struct path p;

		e->flags |= CRF_EXEC_UNLINKED;
		buf = bpf_map_lookup_elem(&em_scratch, &slot);
		if (buf && !BPF_CORE_READ_INTO(&p, f, f_path)) {
			pos = build_dir_path(&p);
			/* DIR_BUF - 1: the walk ended at once (a root; a memfd's dentry) */
			if (pos >= 0 && pos < DIR_BUF - 1) {
				buf[DIR_BUF] = 0;
				n = bpf_probe_read_kernel_str(e->path, PATH_LEN,
							      &buf[pos & (DIR_BUF - 1)]);
				e->path_len = n > 0 ? n - 1 : 0;
			}
		}
		/* No path from the walk (a memfd's internal mount): its dentry's name. */
		if (!e->path_len) {
			n = bpf_probe_read_kernel_str(e->path, PATH_LEN,
						      BPF_CORE_READ(f, f_path.dentry, d_name.name));
			e->path_len = n > 0 ? n - 1 : 0;
		}
	}
	emit(e, offsetof(struct cred_event, path) + (e->path_len & (PATH_LEN - 1)) + 1);
}

#endif /* EBPF_MONITOR_CRED_BPF_H */
