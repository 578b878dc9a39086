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

ABI_AT(attr_event, h, 0);
ABI_AT(attr_event, dfd, 128);
ABI_AT(attr_event, at_flags, 132);
ABI_AT(attr_event, mode, 136);
ABI_AT(attr_event, uid, 140);
ABI_AT(attr_event, gid, 144);
ABI_AT(attr_event, imode, 148);
ABI_AT(attr_event, iuid, 152);
ABI_AT(attr_event, igid, 156);
ABI_AT(attr_event, inode, 160);
ABI_AT(attr_event, path_len, 162);
ABI_AT(attr_event, _pad, 164);
ABI_AT(attr_event, path, 168);
ABI_SIZE(attr_event, 680);

ABI_AT(chdir_event, h, 0);
ABI_AT(chdir_event, fd, 128);
ABI_AT(chdir_event, path_len, 132);
ABI_AT(chdir_event, cwd_len, 134);
ABI_AT(chdir_event, data, 136);
ABI_SIZE(chdir_event, 1160);

ABI_AT(cred_event, h, 0);
ABI_AT(cred_event, flags, 128);
ABI_AT(cred_event, nargs, 132);
ABI_AT(cred_event, arg0, 136);
ABI_AT(cred_event, arg1, 140);
ABI_AT(cred_event, arg2, 144);
ABI_AT(cred_event, cap_pid, 148);
ABI_AT(cred_event, cap_version, 152);
ABI_AT(cred_event, _pad, 156);
ABI_AT(cred_event, cap_effective, 160);
ABI_AT(cred_event, cap_permitted, 168);
ABI_AT(cred_event, cap_inheritable, 176);
ABI_AT(cred_event, before, 184);
ABI_AT(cred_event, after, 240);
ABI_AT(cred_event, path_len, 296);
ABI_AT(cred_event, _pad2, 298);
ABI_AT(cred_event, path, 304);
ABI_SIZE(cred_event, 816);

ABI_AT(cred_ids, uid, 0);
ABI_AT(cred_ids, euid, 4);
ABI_AT(cred_ids, suid, 8);
ABI_AT(cred_ids, fsuid, 12);
ABI_AT(cred_ids, gid, 16);
ABI_AT(cred_ids, egid, 20);
ABI_AT(cred_ids, sgid, 24);
ABI_AT(cred_ids, fsgid, 28);
ABI_AT(cred_ids, cap_effective, 32);
ABI_AT(cred_ids, cap_permitted, 40);
ABI_AT(cred_ids, cap_inheritable, 48);
ABI_SIZE(cred_ids, 56);

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
ABI_AT(event_header, sid_start_ns, 120);
ABI_SIZE(event_header, 128);

ABI_AT(exec_event, h, 0);
ABI_AT(exec_event, argc, 128);
ABI_AT(exec_event, path_len, 132);
ABI_AT(exec_event, args_len, 134);
ABI_AT(exec_event, env_len, 136);
ABI_AT(exec_event, env_count, 138);
ABI_AT(exec_event, real_len, 140);
ABI_AT(exec_event, _pad, 142);
ABI_AT(exec_event, data, 144);
ABI_SIZE(exec_event, 11920);

ABI_AT(exit_event, h, 0);
ABI_AT(exit_event, exit_code, 128);
ABI_AT(exit_event, _pad, 132);
ABI_SIZE(exit_event, 136);

ABI_AT(fdpair_event, h, 0);
ABI_AT(fdpair_event, fd0, 128);
ABI_AT(fdpair_event, fd1, 132);
ABI_AT(fdpair_event, ino0, 136);
ABI_AT(fdpair_event, ino1, 144);
ABI_AT(fdpair_event, family, 152);
ABI_AT(fdpair_event, type, 156);
ABI_AT(fdpair_event, protocol, 160);
ABI_AT(fdpair_event, flags, 164);
ABI_SIZE(fdpair_event, 168);

ABI_AT(fileless_event, h, 0);
ABI_AT(fileless_event, flags, 128);
ABI_AT(fileless_event, path_len, 132);
ABI_AT(fileless_event, _pad, 134);
ABI_AT(fileless_event, path, 136);
ABI_SIZE(fileless_event, 392);

ABI_AT(fork_event, h, 0);
ABI_AT(fork_event, child_pid, 128);
ABI_AT(fork_event, child_tid, 132);
ABI_AT(fork_event, clone_flags, 136);
ABI_SIZE(fork_event, 144);

ABI_AT(io_summary_event, h, 0);
ABI_AT(io_summary_event, fd, 128);
ABI_AT(io_summary_event, target, 132);
ABI_AT(io_summary_event, path_len, 134);
ABI_AT(io_summary_event, end, 136);
ABI_AT(io_summary_event, _pad, 138);
ABI_AT(io_summary_event, reads, 144);
ABI_AT(io_summary_event, writes, 152);
ABI_AT(io_summary_event, bytes_read, 160);
ABI_AT(io_summary_event, bytes_written, 168);
ABI_AT(io_summary_event, ino, 176);
ABI_AT(io_summary_event, dev, 184);
ABI_AT(io_summary_event, imode, 188);
ABI_AT(io_summary_event, sock, 192);
ABI_AT(io_summary_event, path, 240);
ABI_SIZE(io_summary_event, 752);

ABI_AT(kcode_event, h, 0);
ABI_AT(kcode_event, prog_type, 128);
ABI_AT(kcode_event, insn_cnt, 132);
ABI_AT(kcode_event, prog_flags, 136);
ABI_AT(kcode_event, attr_size, 140);
ABI_AT(kcode_event, prog_name, 144);
ABI_SIZE(kcode_event, 160);

ABI_AT(link_event, h, 0);
ABI_AT(link_event, olddfd, 128);
ABI_AT(link_event, newdfd, 132);
ABI_AT(link_event, flags, 136);
ABI_AT(link_event, old_len, 140);
ABI_AT(link_event, new_len, 142);
ABI_AT(link_event, data, 144);
ABI_SIZE(link_event, 1168);

ABI_AT(mknod_event, h, 0);
ABI_AT(mknod_event, dfd, 128);
ABI_AT(mknod_event, mode, 132);
ABI_AT(mknod_event, dev, 136);
ABI_AT(mknod_event, path_len, 140);
ABI_AT(mknod_event, _pad, 142);
ABI_AT(mknod_event, path, 144);
ABI_SIZE(mknod_event, 656);

ABI_AT(mmsg_event, h, 0);
ABI_AT(mmsg_event, fd, 128);
ABI_AT(mmsg_event, vlen, 132);
ABI_AT(mmsg_event, bytes_done, 136);
ABI_AT(mmsg_event, flags, 144);
ABI_AT(mmsg_event, target, 148);
ABI_AT(mmsg_event, _pad, 150);
ABI_AT(mmsg_event, sock, 152);
ABI_SIZE(mmsg_event, 200);

ABI_AT(mount_event, h, 0);
ABI_AT(mount_event, fd, 128);
ABI_AT(mount_event, nstype, 132);
ABI_AT(mount_event, flags, 136);
ABI_AT(mount_event, ns_inode, 144);
ABI_AT(mount_event, len1, 152);
ABI_AT(mount_event, len2, 154);
ABI_AT(mount_event, _pad, 156);
ABI_AT(mount_event, fstype, 160);
ABI_AT(mount_event, data, 192);
ABI_SIZE(mount_event, 1216);

ABI_AT(net_event, h, 0);
ABI_AT(net_event, fd, 128);
ABI_AT(net_event, backlog, 132);
ABI_AT(net_event, sock, 136);
ABI_SIZE(net_event, 184);

ABI_AT(open_event, h, 0);
ABI_AT(open_event, dfd, 128);
ABI_AT(open_event, mode, 132);
ABI_AT(open_event, flags, 136);
ABI_AT(open_event, path_len, 144);
ABI_AT(open_event, real_len, 146);
ABI_AT(open_event, _pad, 148);
ABI_AT(open_event, path, 152);
ABI_SIZE(open_event, 1176);

ABI_AT(rename_event, h, 0);
ABI_AT(rename_event, olddfd, 128);
ABI_AT(rename_event, newdfd, 132);
ABI_AT(rename_event, flags, 136);
ABI_AT(rename_event, old_len, 140);
ABI_AT(rename_event, new_len, 142);
ABI_AT(rename_event, data, 144);
ABI_SIZE(rename_event, 1168);

ABI_AT(rw_event, h, 0);
ABI_AT(rw_event, fd, 128);
ABI_AT(rw_event, target, 132);
ABI_AT(rw_event, path_len, 134);
ABI_AT(rw_event, count, 136);
ABI_AT(rw_event, ino, 144);
ABI_AT(rw_event, dev, 152);
ABI_AT(rw_event, imode, 156);
ABI_AT(rw_event, sock, 160);
ABI_AT(rw_event, path, 208);
ABI_SIZE(rw_event, 720);

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
ABI_AT(socket_event, family, 128);
ABI_AT(socket_event, type, 132);
ABI_AT(socket_event, protocol, 136);
ABI_AT(socket_event, _pad, 140);
ABI_SIZE(socket_event, 144);

ABI_AT(target_event, h, 0);
ABI_AT(target_event, pid, 128);
ABI_AT(target_event, tid, 132);
ABI_AT(target_event, pidfd, 136);
ABI_AT(target_event, pidfd_pid, 140);
ABI_AT(target_event, request, 144);
ABI_AT(target_event, addr, 152);
ABI_AT(target_event, value, 160);
ABI_AT(target_event, local_iovcnt, 168);
ABI_AT(target_event, remote_iovcnt, 172);
ABI_SIZE(target_event, 176);

ABI_AT(truncate_event, h, 0);
ABI_AT(truncate_event, fd, 128);
ABI_AT(truncate_event, path_len, 132);
ABI_AT(truncate_event, _pad, 134);
ABI_AT(truncate_event, length, 136);
ABI_AT(truncate_event, path, 144);
ABI_SIZE(truncate_event, 656);

ABI_AT(unix_net_event, h, 0);
ABI_AT(unix_net_event, fd, 128);
ABI_AT(unix_net_event, backlog, 132);
ABI_AT(unix_net_event, sock, 136);
ABI_AT(unix_net_event, path_len, 184);
ABI_AT(unix_net_event, _pad, 186);
ABI_AT(unix_net_event, path, 192);
ABI_SIZE(unix_net_event, 320);

ABI_AT(unlink_event, h, 0);
ABI_AT(unlink_event, dfd, 128);
ABI_AT(unlink_event, flags, 132);
ABI_AT(unlink_event, path_len, 136);
ABI_AT(unlink_event, _pad, 138);
ABI_AT(unlink_event, path, 144);
ABI_SIZE(unlink_event, 656);

ABI_AT(uring_event, h, 0);
ABI_AT(uring_event, fd, 128);
ABI_AT(uring_event, opcode, 132);
ABI_AT(uring_event, target, 134);
ABI_AT(uring_event, entries, 136);
ABI_AT(uring_event, flags, 140);
ABI_AT(uring_event, user_data, 144);
ABI_AT(uring_event, ino, 152);
ABI_AT(uring_event, dev, 160);
ABI_AT(uring_event, imode, 164);
ABI_AT(uring_event, sock, 168);
ABI_AT(uring_event, path_len, 216);
ABI_AT(uring_event, _pad, 218);
ABI_AT(uring_event, path, 224);
ABI_SIZE(uring_event, 736);

ABI_AT(xfer_end, fd, 0);
ABI_AT(xfer_end, target, 4);
ABI_AT(xfer_end, path_len, 6);
ABI_AT(xfer_end, ino, 8);
ABI_AT(xfer_end, dev, 16);
ABI_AT(xfer_end, imode, 20);
ABI_AT(xfer_end, sock, 24);
ABI_SIZE(xfer_end, 72);

ABI_AT(xfer_event, h, 0);
ABI_AT(xfer_event, src, 128);
ABI_AT(xfer_event, dst, 200);
ABI_AT(xfer_event, count, 272);
ABI_AT(xfer_event, flags, 280);
ABI_AT(xfer_event, _pad, 284);
ABI_AT(xfer_event, data, 288);
ABI_SIZE(xfer_event, 1312);
#undef ABI_AT
#undef ABI_SIZE
#endif /* EBPF_MONITOR_ABI_ASSERTS_H */
