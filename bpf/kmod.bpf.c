// SPDX-License-Identifier: GPL-2.0
/* Kernel modules: init_module (an image in memory), finit_module (a file, named from its fd in
 * the kernel), delete_module (a name). A kernel built without module support (CONFIG_MODULES
 * off, as the development host's) has none of these tracepoints: the loader skips the hooks
 * with one log line and the rest runs; the programs are still verified there by a load test
 * (tests/kernel/test_kmod.py).
 *
 * A load's module name lives in the image (its .modinfo / this_module), not in the arguments:
 * it is taken from the module/module_load tracepoint, which load_module() fires in the caller's
 * context before the syscall returns, kept per thread until the syscall's exit. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "common.bpf.h"

#define KMOD_ENTRIES 256

struct kmod_name {
	char name[MODULE_NAME_LEN];
};

/* The name module_load saw, by thread id, until init_module/finit_module's exit. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, KMOD_ENTRIES);
	__type(key, __u32);
	__type(value, struct kmod_name);
} em_kmod_names SEC(".maps");

/* The module_load tracepoint's record (include/trace/events/module.h; its format file:
 * the common fields, `unsigned int taints`, `__data_loc char[] name`). A kernel without modules
 * has no such type in its BTF, hence this local layout. */
struct module_load_args {
	__u64 common;
	__u32 taints;
	__u32 name_loc; /* __data_loc: offset in the low 16 bits, length in the high */
};

SEC("tracepoint/module/module_load")
int tracepoint__module__module_load(struct module_load_args *ctx)
{
	struct kmod_name n = {};
	__u32 tid = current_tid();

	if (task_filtered())
		return 0;
	bpf_probe_read_kernel_str(n.name, sizeof(n.name), (void *)ctx + (ctx->name_loc & 0xffff));
	bpf_map_update_elem(&em_kmod_names, &tid, &n, BPF_ANY);
	return 0;
}

static __always_inline int kmod_exit(struct trace_event_raw_sys_exit *ctx, __u16 action)
{
	struct start_args a;
	struct kmod_event *e;
	struct kmod_name *n;
	const char *uargs = NULL;
	__u32 tid = current_tid();
	__u32 at;
	long len;

	if (!exit_args(&a))
		return 0;
	e = scratch(0);
	if (!e)
		return 0;
	fill_header(&e->h, EK_KMOD, action, ctx->ret);
	e->len = 0;
	e->fd = -1;
	e->flags = 0;
	e->_pad = 0;
	e->path_len = 0;
	e->args_len = 0;
	e->data[0] = 0;
	__builtin_memset(e->name, 0, sizeof(e->name));
	switch (action) {
	case EA_INIT_MODULE: /* (umod, len, uargs) */
		e->len = a.args[1];
		uargs = (const char *)a.args[2];
		break;
	case EA_FINIT_MODULE: { /* (fd, uargs, flags) */
		struct file *f;

		e->fd = a.args[0];
		e->flags = a.args[2];
		uargs = (const char *)a.args[1];
		e->path_len = fd_path_str(e->data, e->fd, &f, &e->h.flags, EF_PATH_TRUNCATED);
		break;
	}
	default: /* delete_module (name, flags) */
		e->flags = a.args[1];
		bpf_probe_read_user_str(e->name, sizeof(e->name), (const char *)a.args[0]);
	}
	if (action != EA_DELETE_MODULE) {
		n = bpf_map_lookup_elem(&em_kmod_names, &tid);
		if (n) {
			__builtin_memcpy(e->name, n->name, sizeof(e->name));
			bpf_map_delete_elem(&em_kmod_names, &tid);
		}
	}
	e->name[MODULE_NAME_LEN - 1] = 0;
	at = (e->path_len & (PATH_LEN - 1)) + 1;
	e->data[at & (2 * PATH_LEN - 1)] = 0;
	if (uargs) {
		len = bpf_probe_read_user_str(&e->data[at & (2 * PATH_LEN - 1)], MODULE_ARGS_LEN,
					      uargs);
		if (len > 0)
			e->args_len = len - 1;
		if (len == MODULE_ARGS_LEN)
			e->h.flags |= EF_PATH2_TRUNCATED;
	}
	emit(e, offsetof(struct kmod_event, data) + at + (e->args_len & (MODULE_ARGS_LEN - 1)) + 1);
	return 0;
}

SYSCALL_EXIT_HOOK(init_module, kmod_exit, EA_INIT_MODULE)
SYSCALL_EXIT_HOOK(finit_module, kmod_exit, EA_FINIT_MODULE)
SYSCALL_EXIT_HOOK(delete_module, kmod_exit, EA_DELETE_MODULE)

char LICENSE[] SEC("license") = "GPL";
