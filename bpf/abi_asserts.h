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
ABI_AT(attr_event, dfd, 120);
ABI_AT(attr_event, at_flags, 124);
ABI_AT(attr_event, mode, 128);
ABI_AT(attr_event, uid, 132);
ABI_AT(attr_event, gid, 136);
ABI_AT(attr_event, imode, 140);
ABI_AT(attr_event, iuid, 144);
ABI_AT(attr_event, igid, 148);
ABI_AT(attr_event, inode, 152);
ABI_AT(attr_event, path_len, 154);
ABI_AT(attr_event, _pad, 156);
ABI_AT(attr_event, path, 160);
ABI_SIZE(attr_event, 672);

ABI_AT(cred_event, h, 0);
ABI_AT(cred_event, flags, 120);
ABI_AT(cred_event, nargs, 124);
ABI_AT(cred_event, arg0, 128);
ABI_AT(cred_event, arg1, 132);
ABI_AT(cred_event, arg2, 136);
ABI_AT(cred_event, cap_pid, 140);
ABI_AT(cred_event, cap_version, 144);
ABI_AT(cred_event, _pad, 148);
ABI_AT(cred_event, cap_effective, 152);
ABI_AT(cred_event, cap_permitted, 160);
ABI_AT(cred_event, cap_inheritable, 168);
ABI_AT(cred_event, before, 176);
ABI_AT(cred_event, after, 232);
ABI_AT(cred_event, path_len, 288);
ABI_AT(cred_event, _pad2, 290);
ABI_AT(cred_event, path, 296);
ABI_SIZE(cred_event, 808);

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

ABI_AT(fdpair_event, h, 0);
ABI_AT(fdpair_event, fd0, 120);
ABI_AT(fdpair_event, fd1, 124);
ABI_AT(fdpair_event, ino0, 128);
ABI_AT(fdpair_event, ino1, 136);
ABI_AT(fdpair_event, family, 144);
ABI_AT(fdpair_event, type, 148);
ABI_AT(fdpair_event, protocol, 152);
ABI_AT(fdpair_event, flags, 156);
ABI_SIZE(fdpair_event, 160);

ABI_AT(fileless_event, h, 0);
ABI_AT(fileless_event, flags, 120);
ABI_AT(fileless_event, path_len, 124);
ABI_AT(fileless_event, _pad, 126);
ABI_AT(fileless_event, path, 128);
ABI_SIZE(fileless_event, 384);

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

ABI_AT(kcode_event, h, 0);
ABI_AT(kcode_event, prog_type, 120);
ABI_AT(kcode_event, insn_cnt, 124);
ABI_AT(kcode_event, prog_flags, 128);
ABI_AT(kcode_event, attr_size, 132);
ABI_AT(kcode_event, prog_name, 136);
ABI_SIZE(kcode_event, 152);

ABI_AT(kmod_event, h, 0);
ABI_AT(kmod_event, len, 120);
ABI_AT(kmod_event, fd, 128);
ABI_AT(kmod_event, flags, 132);
ABI_AT(kmod_event, name, 136);
ABI_AT(kmod_event, path_len, 192);
ABI_AT(kmod_event, args_len, 194);
ABI_AT(kmod_event, _pad, 196);
ABI_AT(kmod_event, data, 200);
ABI_SIZE(kmod_event, 968);

ABI_AT(link_event, h, 0);
ABI_AT(link_event, olddfd, 120);
ABI_AT(link_event, newdfd, 124);
ABI_AT(link_event, flags, 128);
ABI_AT(link_event, old_len, 132);
ABI_AT(link_event, new_len, 134);
ABI_AT(link_event, data, 136);
ABI_SIZE(link_event, 1160);

ABI_AT(mknod_event, h, 0);
ABI_AT(mknod_event, dfd, 120);
ABI_AT(mknod_event, mode, 124);
ABI_AT(mknod_event, dev, 128);
ABI_AT(mknod_event, path_len, 132);
ABI_AT(mknod_event, _pad, 134);
ABI_AT(mknod_event, path, 136);
ABI_SIZE(mknod_event, 648);

ABI_AT(mmap_event, h, 0);
ABI_AT(mmap_event, addr, 120);
ABI_AT(mmap_event, len, 128);
ABI_AT(mmap_event, offset, 136);
ABI_AT(mmap_event, ino, 144);
ABI_AT(mmap_event, dev, 152);
ABI_AT(mmap_event, prot, 156);
ABI_AT(mmap_event, flags, 160);
ABI_AT(mmap_event, fd, 164);
ABI_AT(mmap_event, prot_before, 168);
ABI_AT(mmap_event, mflags, 172);
ABI_AT(mmap_event, path_len, 174);
ABI_AT(mmap_event, path, 176);
ABI_SIZE(mmap_event, 688);

ABI_AT(mmsg_event, h, 0);
ABI_AT(mmsg_event, fd, 120);
ABI_AT(mmsg_event, vlen, 124);
ABI_AT(mmsg_event, bytes_done, 128);
ABI_AT(mmsg_event, flags, 136);
ABI_AT(mmsg_event, target, 140);
ABI_AT(mmsg_event, _pad, 142);
ABI_AT(mmsg_event, sock, 144);
ABI_SIZE(mmsg_event, 192);

ABI_AT(mount_event, h, 0);
ABI_AT(mount_event, fd, 120);
ABI_AT(mount_event, nstype, 124);
ABI_AT(mount_event, flags, 128);
ABI_AT(mount_event, ns_inode, 136);
ABI_AT(mount_event, len1, 144);
ABI_AT(mount_event, len2, 146);
ABI_AT(mount_event, _pad, 148);
ABI_AT(mount_event, fstype, 152);
ABI_AT(mount_event, data, 184);
ABI_SIZE(mount_event, 1208);

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

ABI_AT(target_event, h, 0);
ABI_AT(target_event, pid, 120);
ABI_AT(target_event, tid, 124);
ABI_AT(target_event, pidfd, 128);
ABI_AT(target_event, pidfd_pid, 132);
ABI_AT(target_event, request, 136);
ABI_AT(target_event, addr, 144);
ABI_AT(target_event, value, 152);
ABI_AT(target_event, local_iovcnt, 160);
ABI_AT(target_event, remote_iovcnt, 164);
ABI_SIZE(target_event, 168);

ABI_AT(truncate_event, h, 0);
ABI_AT(truncate_event, fd, 120);
ABI_AT(truncate_event, path_len, 124);
ABI_AT(truncate_event, _pad, 126);
ABI_AT(truncate_event, length, 128);
ABI_AT(truncate_event, path, 136);
ABI_SIZE(truncate_event, 648);

ABI_AT(unix_net_event, h, 0);
ABI_AT(unix_net_event, fd, 120);
ABI_AT(unix_net_event, backlog, 124);
ABI_AT(unix_net_event, sock, 128);
ABI_AT(unix_net_event, path_len, 176);
ABI_AT(unix_net_event, _pad, 178);
ABI_AT(unix_net_event, path, 184);
ABI_SIZE(unix_net_event, 312);

ABI_AT(unlink_event, h, 0);
ABI_AT(unlink_event, dfd, 120);
ABI_AT(unlink_event, flags, 124);
ABI_AT(unlink_event, path_len, 128);
ABI_AT(unlink_event, _pad, 130);
ABI_AT(unlink_event, path, 136);
ABI_SIZE(unlink_event, 648);

ABI_AT(uring_event, h, 0);
ABI_AT(uring_event, fd, 120);
ABI_AT(uring_event, opcode, 124);
ABI_AT(uring_event, target, 126);
ABI_AT(uring_event, entries, 128);
ABI_AT(uring_event, flags, 132);
ABI_AT(uring_event, user_data, 136);
ABI_AT(uring_event, ino, 144);
ABI_AT(uring_event, dev, 152);
ABI_AT(uring_event, imode, 156);
ABI_AT(uring_event, sock, 160);
ABI_AT(uring_event, path_len, 208);
ABI_AT(uring_event, _pad, 210);
ABI_AT(uring_event, path, 216);
ABI_SIZE(uring_event, 728);

ABI_AT(xfer_end, fd, 0);
ABI_AT(xfer_end, target, 4);
ABI_AT(xfer_end, path_len, 6);
ABI_AT(xfer_end, ino, 8);
ABI_AT(xfer_end, dev, 16);
ABI_AT(xfer_end, imode, 20);
ABI_AT(xfer_end, sock, 24);
ABI_SIZE(xfer_end, 72);

ABI_AT(xfer_event, h, 0);
ABI_AT(xfer_event, src, 120);
ABI_AT(xfer_event, dst, 192);
ABI_AT(xfer_event, count, 264);
ABI_AT(xfer_event, flags, 272);
ABI_AT(xfer_event, _pad, 276);
ABI_AT(xfer_event, data, 280);
ABI_SIZE(xfer_event, 1304);
#undef ABI_AT
#undef ABI_SIZE
#endif /* EBPF_MONITOR_ABI_ASSERTS_H */
