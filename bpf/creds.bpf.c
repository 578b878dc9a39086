// SPDX-License-Identifier: GPL-2.0
/* Credentials: setuid, setgid, setreuid, setregid, setresuid, setresgid, setfsuid, setfsgid,
 * capset. The ids asked for are read at exit from the saved registers (syscall_args); the
 * task's cred at exit is `after`. `before` needs the cred at entry: commit_creds() replaces it
 * and the old one is gone by exit, so these syscalls (and only they) get enter programs that
 * keep it per thread (em_cred_before). They are rare calls (a login, sudo, a daemon dropping
 * privileges): an enter program on them costs nothing the hot paths pay (benchmarks/findings.md
 * "Issue 12"). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "common.bpf.h"
#include "cred.bpf.h"

#define CRED_ENTRIES 4096
#define LINUX_CAPABILITY_VERSION_1 0x19980330

/* The cred at entry, by thread id; taken at exit. LRU: a thread killed inside the call
 * leaves nothing behind for long. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, CRED_ENTRIES);
	__type(key, __u32);
	__type(value, struct cred_ids);
} em_cred_before SEC(".maps");

static __always_inline int cred_enter(void)
{
	struct cred_ids ids;
	__u32 tid = current_tid();

	if (task_filtered())
		return 0;
	cred_read(&ids, bpf_get_current_task_btf());
	bpf_map_update_elem(&em_cred_before, &tid, &ids, BPF_ANY);
	return 0;
}

/* capset's user data: v1 one struct of 32-bit sets, v2/v3 two (low and high words). */
struct cap_data {
	__u32 effective;
	__u32 permitted;
	__u32 inheritable;
};

static __always_inline int cred_exit(struct trace_event_raw_sys_exit *ctx, __u16 action)
{
	struct start_args a;
	struct cred_event *e;
	struct cred_ids *before;
	__u32 tid = current_tid();

	if (!exit_args(&a))
		return 0;
	e = scratch(0);
	if (!e)
		return 0;
	__builtin_memset(e, 0, offsetof(struct cred_event, path) + 1);
	fill_header(&e->h, EK_CRED, action, ctx->ret);
	switch (action) {
	case EA_SETUID: case EA_SETGID: case EA_SETFSUID: case EA_SETFSGID:
		e->nargs = 1;
		break;
	case EA_SETREUID: case EA_SETREGID:
		e->nargs = 2;
		break;
	case EA_SETRESUID: case EA_SETRESGID:
		e->nargs = 3;
		break;
	case EA_CAPSET: {
		struct cap_data d[2] = {};
		__u32 hdr[2] = {};

		bpf_probe_read_user(hdr, sizeof(hdr), (void *)a.args[0]);
		e->cap_version = hdr[0];
		e->cap_pid = hdr[1];
		if (a.args[1]) {
			if (hdr[0] == LINUX_CAPABILITY_VERSION_1)
				bpf_probe_read_user(d, sizeof(d[0]), (void *)a.args[1]);
			else
				bpf_probe_read_user(d, sizeof(d), (void *)a.args[1]);
		}
		e->cap_effective = (__u64)d[1].effective << 32 | d[0].effective;
		e->cap_permitted = (__u64)d[1].permitted << 32 | d[0].permitted;
		e->cap_inheritable = (__u64)d[1].inheritable << 32 | d[0].inheritable;
		break;
	}
	}
	if (e->nargs >= 1)
		e->arg0 = a.args[0];
	if (e->nargs >= 2)
		e->arg1 = a.args[1];
	if (e->nargs >= 3)
		e->arg2 = a.args[2];
	before = bpf_map_lookup_elem(&em_cred_before, &tid);
	if (before) {
		e->before = *before;
		e->flags |= CRF_BEFORE;
		bpf_map_delete_elem(&em_cred_before, &tid);
	}
	cred_read(&e->after, bpf_get_current_task_btf());
	emit(e, offsetof(struct cred_event, path) + 1);
	return 0;
}

#define CRED_HOOKS(name, action)                                                            \
	SEC("tracepoint/syscalls/sys_enter_" #name)                                         \
	int tracepoint__syscalls__sys_enter_##name(struct trace_event_raw_sys_enter *ctx)  \
	{                                                                                   \
		return cred_enter();                                                        \
	}                                                                                   \
	SYSCALL_EXIT_HOOK(name, cred_exit, action)

CRED_HOOKS(setuid, EA_SETUID)
CRED_HOOKS(setgid, EA_SETGID)
CRED_HOOKS(setreuid, EA_SETREUID)
CRED_HOOKS(setregid, EA_SETREGID)
CRED_HOOKS(setresuid, EA_SETRESUID)
CRED_HOOKS(setresgid, EA_SETRESGID)
CRED_HOOKS(setfsuid, EA_SETFSUID)
CRED_HOOKS(setfsgid, EA_SETFSGID)
CRED_HOOKS(capset, EA_CAPSET)

char LICENSE[] SEC("license") = "GPL";
