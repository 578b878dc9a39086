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

/* An exec succeeded: the ids it left, and whether it changed them (AT_SECURE). Built in scratch
 * slot 2: the exec record is built in slot 0 after this one is sent. */
static __always_inline void cred_exec_emit(struct linux_binprm *bprm)
{
	struct cred_event *e = scratch(2);

	if (!e)
		return;
	__builtin_memset(e, 0, sizeof(*e));
	fill_header(&e->h, EK_CRED, EA_EXECVE, 0);
	e->flags = CRF_EXEC;
	if (BPF_CORE_READ_BITFIELD_PROBED(bprm, secureexec))
		e->flags |= CRF_SECUREEXEC;
	cred_read(&e->after, bpf_get_current_task_btf());
	emit(e, sizeof(*e));
}

#endif /* EBPF_MONITOR_CRED_BPF_H */
