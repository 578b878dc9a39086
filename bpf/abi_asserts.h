/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The record layouts user space relies on, checked at compile time: the size of every events.h
 * struct and the offset of each member, as tests/unit/abi.json records them (the unit tests
 * decode with that file; tests/unit/test_abi_asserts.py keeps the two in step). A layout
 * change fails the build here first: change these, then run scripts/abi_fixture.py.
 * Included by abi.bpf.c, the object that carries the layouts to Python.
 */
#ifndef EBPF_MONITOR_ABI_ASSERTS_H
#define EBPF_MONITOR_ABI_ASSERTS_H

#include "events.h"

#define ABI_SIZE(type, n) _Static_assert(sizeof(struct type) == (n), "size of struct " #type)
#define ABI_AT(type, member, n) \
	_Static_assert(__builtin_offsetof(struct type, member) == (n), #type "." #member)

/* The filter-map keys loader.py packs by the layouts it reads from BTF. */
_Static_assert(TASK_COMM_LEN == 16, "comm: 16 bytes");
ABI_AT(comm_key, comm, 0);
ABI_SIZE(comm_key, 16);
ABI_AT(env_key, name, 0);
ABI_SIZE(env_key, 32);
ABI_AT(prefix_key, prefixlen, 0);
ABI_AT(prefix_key, data, 4);
ABI_SIZE(prefix_key, 68);

ABI_AT(event_header, kind, 0);
ABI_AT(event_header, action, 2);
ABI_AT(event_header, size, 4);
ABI_AT(event_header, flags, 6);
ABI_AT(event_header, pid, 8);
ABI_AT(event_header, tid, 12);
ABI_AT(event_header, ppid, 16);
ABI_AT(event_header, uid, 20);
ABI_AT(event_header, gid, 24);
ABI_AT(event_header, euid, 28);
ABI_AT(event_header, ktime_ns, 32);
ABI_AT(event_header, start_ns, 40);
ABI_AT(event_header, ret, 48);
ABI_AT(event_header, comm, 56);
ABI_AT(event_header, ns_pid, 72);
ABI_AT(event_header, ns_tid, 76);
ABI_AT(event_header, ns_ppid, 80);
ABI_AT(event_header, pidns, 84);
ABI_AT(event_header, cgroup_id, 88);
ABI_AT(event_header, parent_start_ns, 96);
ABI_AT(event_header, mntns, 104);
ABI_AT(event_header, netns, 108);
ABI_AT(event_header, tty, 112);
ABI_AT(event_header, sid, 116);
ABI_SIZE(event_header, 120);

ABI_AT(exec_event, h, 0);
ABI_AT(exec_event, argc, 120);
ABI_AT(exec_event, path_len, 124);
ABI_AT(exec_event, args_len, 126);
ABI_AT(exec_event, env_len, 128);
ABI_AT(exec_event, env_count, 130);
ABI_AT(exec_event, _pad, 132);
ABI_AT(exec_event, data, 136);
ABI_SIZE(exec_event, 11400);

ABI_AT(exit_event, h, 0);
ABI_AT(exit_event, exit_code, 120);
ABI_AT(exit_event, _pad, 124);
ABI_SIZE(exit_event, 128);

ABI_AT(fork_event, h, 0);
ABI_AT(fork_event, child_pid, 120);
ABI_AT(fork_event, child_tid, 124);
ABI_AT(fork_event, clone_flags, 128);
ABI_SIZE(fork_event, 136);

ABI_AT(io_summary_event, h, 0);
ABI_AT(io_summary_event, fd, 120);
ABI_AT(io_summary_event, target, 124);
ABI_AT(io_summary_event, path_len, 126);
ABI_AT(io_summary_event, end, 128);
ABI_AT(io_summary_event, _pad, 130);
ABI_AT(io_summary_event, reads, 136);
ABI_AT(io_summary_event, writes, 144);
ABI_AT(io_summary_event, bytes_read, 152);
ABI_AT(io_summary_event, bytes_written, 160);
ABI_AT(io_summary_event, ino, 168);
ABI_AT(io_summary_event, dev, 176);
ABI_AT(io_summary_event, imode, 180);
ABI_AT(io_summary_event, sock, 184);
ABI_AT(io_summary_event, path, 232);
ABI_SIZE(io_summary_event, 744);

ABI_AT(net_event, h, 0);
ABI_AT(net_event, fd, 120);
ABI_AT(net_event, backlog, 124);
ABI_AT(net_event, sock, 128);
ABI_SIZE(net_event, 176);

ABI_AT(open_event, h, 0);
ABI_AT(open_event, dfd, 120);
ABI_AT(open_event, mode, 124);
ABI_AT(open_event, flags, 128);
ABI_AT(open_event, path_len, 136);
ABI_AT(open_event, _pad, 138);
ABI_AT(open_event, path, 144);
ABI_SIZE(open_event, 656);

ABI_AT(rename_event, h, 0);
ABI_AT(rename_event, olddfd, 120);
ABI_AT(rename_event, newdfd, 124);
ABI_AT(rename_event, flags, 128);
ABI_AT(rename_event, old_len, 132);
ABI_AT(rename_event, new_len, 134);
ABI_AT(rename_event, data, 136);
ABI_SIZE(rename_event, 1160);

ABI_AT(rw_event, h, 0);
ABI_AT(rw_event, fd, 120);
ABI_AT(rw_event, target, 124);
ABI_AT(rw_event, path_len, 126);
ABI_AT(rw_event, count, 128);
ABI_AT(rw_event, ino, 136);
ABI_AT(rw_event, dev, 144);
ABI_AT(rw_event, imode, 148);
ABI_AT(rw_event, sock, 152);
ABI_AT(rw_event, path, 200);
ABI_SIZE(rw_event, 712);

ABI_AT(sock_info, family, 0);
ABI_AT(sock_info, type, 2);
ABI_AT(sock_info, protocol, 4);
ABI_AT(sock_info, lport, 6);
ABI_AT(sock_info, rport, 8);
ABI_AT(sock_info, _pad, 10);
ABI_AT(sock_info, laddr, 16);
ABI_AT(sock_info, raddr, 32);
ABI_SIZE(sock_info, 48);

ABI_AT(socket_event, h, 0);
ABI_AT(socket_event, family, 120);
ABI_AT(socket_event, type, 124);
ABI_AT(socket_event, protocol, 128);
ABI_AT(socket_event, _pad, 132);
ABI_SIZE(socket_event, 136);

ABI_AT(unlink_event, h, 0);
ABI_AT(unlink_event, dfd, 120);
ABI_AT(unlink_event, flags, 124);
ABI_AT(unlink_event, path_len, 128);
ABI_AT(unlink_event, _pad, 130);
ABI_AT(unlink_event, path, 136);
ABI_SIZE(unlink_event, 648);

#undef ABI_AT
#undef ABI_SIZE

#endif /* EBPF_MONITOR_ABI_ASSERTS_H */
