// SPDX-License-Identifier: GPL-2.0
/* Network: socket, connect, bind, listen, accept/accept4. Endpoints come from the kernel socket
 * behind the fd where it has them (both ends after connect/accept), else from the argument. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "common.bpf.h"

/* Remember what a socket fd is, so its reads and writes name their peer. */
static __always_inline void track_socket(__u32 pid, int fd, const struct sock_info *si)
{
	__u32 slot = 1;
	__u64 key = fd_key(pid, fd);
	struct fd_info *fi = bpf_map_lookup_elem(&em_scratch, &slot);

	if (!fi)
		return;
	if (targ_read_write == RW_FIRST) {
		/* connect/bind on a socket already counted: new ends, same totals. */
		struct fd_info *cur = bpf_map_lookup_elem(&em_fds, &key);

		if (cur && fd_info_current(cur, file_of_fd(fd))) {
			__builtin_memcpy(&cur->sock, si, sizeof(*si));
			return;
		}
	}
	fi->target = FT_SOCKET;
	fi->ignored = 0;
	fi->path_len = 0;
	fi->_pad = 0;
	fd_info_set_file(fi, file_of_fd(fd));
	__builtin_memcpy(&fi->sock, si, sizeof(*si));
	fd_info_clear_io(fi);
	fi->path[0] = 0;
	bpf_map_update_elem(&em_fds, &key, fi, BPF_ANY);
}

static __always_inline int socket_exit(struct trace_event_raw_sys_exit *ctx, __u16 action)
{
	struct start_args a;
	struct socket_event *e;
	struct sock_info si = {};

	if (!exit_args(&a))
		return 0;
	io_retire_stale(current_pid(), ctx->ret, true);
	e = scratch(0);
	if (!e)
		return 0;
	fill_header(&e->h, EK_SOCKET, action, ctx->ret);
	e->family = a.args[0];
	e->type = a.args[1];
	e->protocol = a.args[2];
	e->_pad = 0;
	if (ctx->ret >= 0) {
		if (!sock_of_fd(ctx->ret, &si))
			si.family = e->family;
		track_socket(e->h.pid, ctx->ret, &si);
	}
	emit(e, sizeof(*e));
	return 0;
}

/* The sun_path bytes of a Unix socket's own bound address (listen, accept), into buf. */
static __always_inline __u32 unix_own_path(int fd, char *buf)
{
	struct file *f = file_of_fd(fd);
	struct socket *sock;
	struct unix_sock *us;
	struct unix_address *ua;
	int len;

	if (!f)
		return 0;
	sock = BPF_CORE_READ(f, private_data);
	us = (struct unix_sock *)BPF_CORE_READ(sock, sk);
	ua = BPF_CORE_READ(us, addr);
	if (!ua)
		return 0; /* unnamed (a socketpair, an autobind not yet done) */
	len = BPF_CORE_READ(ua, len) - (int)sizeof(__u16);
	if (len <= 0)
		return 0;
	if (len > SUN_PATH_LEN - 1)
		len = SUN_PATH_LEN - 1;
	bpf_probe_read_kernel(buf, len & (SUN_PATH_LEN - 1), ua->name[0].sun_path);
	return len & (SUN_PATH_LEN - 1);
}

/* An AF_UNIX socket's record goes out as a unix_net_event: the net_event built in scratch slot
 * 0 plus its path (connect and bind: the address asked for; listen and accept: the socket's
 * own). */
static __always_inline void emit_unix(struct net_event *ne, __u16 action,
				      const struct start_args *a)
{
	struct unix_net_event *e = (struct unix_net_event *)ne;
	__u32 len = 0;

	e->h.kind = EK_UNIX_NET;
	e->_pad[0] = e->_pad[1] = e->_pad[2] = 0;
	if (action == EA_CONNECT || action == EA_BIND) {
		__u32 alen = a->args[2];

		if (a->args[1] && alen > sizeof(__u16)) {
			len = alen - sizeof(__u16);
			if (len > SUN_PATH_LEN - 1)
				len = SUN_PATH_LEN - 1;
			len &= SUN_PATH_LEN - 1;
			if (bpf_probe_read_user(e->path, len,
						(const char *)a->args[1] + sizeof(__u16)))
				len = 0;
		}
	} else if (e->fd >= 0) {
		len = unix_own_path(e->fd, e->path);
	}
	e->path_len = len;
	emit(e, offsetof(struct unix_net_event, path) + (len & (SUN_PATH_LEN - 1)));
}

static __always_inline int net_exit(struct trace_event_raw_sys_exit *ctx, __u16 action)
{
	struct start_args a;
	struct net_event *e;
	int fd;

	if (!exit_args(&a))
		return 0;
	if (action == EA_ACCEPT || action == EA_ACCEPT4)
		io_retire_stale(current_pid(), ctx->ret, true);
	else if (action == EA_CONNECT || action == EA_BIND)
		io_retire_stale(current_pid(), a.args[0], false);
	e = scratch(0);
	if (!e)
		return 0;
	fill_header(&e->h, EK_NET, action, ctx->ret);
	__builtin_memset(&e->sock, 0, sizeof(e->sock));
	e->backlog = 0;
	fd = a.args[0];
	switch (action) {
	case EA_ACCEPT:
	case EA_ACCEPT4:
		/* The new fd's socket has both ends; fall back to the peer argument. */
		e->fd = ctx->ret;
		if (ctx->ret < 0 || !sock_of_fd(ctx->ret, &e->sock)) {
			if (ctx->ret >= 0 && a.args[1] && read_sockaddr(&e->sock, (void *)a.args[1], true))
				e->h.flags |= EF_ADDR_FROM_ARG;
		}
		if (ctx->ret >= 0)
			track_socket(e->h.pid, ctx->ret, &e->sock);
		break;
	case EA_CONNECT:
		e->fd = fd;
		sock_of_fd(fd, &e->sock);
		/* The argument is what was asked for, even when the connect failed or is pending. */
		if (read_sockaddr(&e->sock, (void *)a.args[1], true))
			e->h.flags |= EF_ADDR_FROM_ARG;
		track_socket(e->h.pid, fd, &e->sock);
		break;
	case EA_BIND:
		e->fd = fd;
		sock_of_fd(fd, &e->sock);
		read_sockaddr(&e->sock, (void *)a.args[1], false);
		track_socket(e->h.pid, fd, &e->sock);
		break;
	default: /* listen */
		e->fd = fd;
		e->backlog = a.args[1];
		sock_of_fd(fd, &e->sock);
		break;
	}
	if (e->sock.family == FAM_UNIX)
		emit_unix(e, action, &a);
	else
		emit(e, sizeof(*e));
	return 0;
}

SYSCALL_EXIT_HOOK(socket, socket_exit, EA_SOCKET)
SYSCALL_EXIT_HOOK(connect, net_exit, EA_CONNECT)
SYSCALL_EXIT_HOOK(bind, net_exit, EA_BIND)
SYSCALL_EXIT_HOOK(listen, net_exit, EA_LISTEN)
SYSCALL_EXIT_HOOK(accept, net_exit, EA_ACCEPT)
SYSCALL_EXIT_HOOK(accept4, net_exit, EA_ACCEPT4)
