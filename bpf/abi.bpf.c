// SPDX-License-Identifier: GPL-2.0
/* No programs: one global per events.h type so every layout survives in the BTF of
 * monitor.bpf.o for abi.py (structs used only through pointers or locals are dropped). */
#include "vmlinux.h"
#include "events.h"
#ifndef ABI_NO_ASSERTS /* make abi reads the layouts first, then rewrites the asserts */
#include "abi_asserts.h"
#endif

struct event_header abi_event_header;
struct sock_info abi_sock_info;
struct exec_event abi_exec_event;
struct fork_event abi_fork_event;
struct exit_event abi_exit_event;
struct open_event abi_open_event;
struct rw_event abi_io_event;
struct io_summary_event abi_io_summary_event;
struct unlink_event abi_unlink_event;
struct rename_event abi_rename_event;
struct socket_event abi_socket_event;
struct net_event abi_net_event;
struct fdpair_event abi_fdpair_event;
struct unix_net_event abi_unix_net_event;
struct xfer_end abi_xfer_end;
struct xfer_event abi_xfer_event;
struct mmsg_event abi_mmsg_event;
struct uring_event abi_uring_event;
struct attr_event abi_attr_event;
struct link_event abi_link_event;
struct mknod_event abi_mknod_event;
struct truncate_event abi_truncate_event;
struct cred_ids abi_cred_ids;
struct cred_event abi_cred_event;
struct target_event abi_target_event;
struct mount_event abi_mount_event;
struct kcode_event abi_kcode_event;
struct fileless_event abi_fileless_event;
struct mmap_event abi_mmap_event;
struct kmod_event abi_kmod_event;
struct chdir_event abi_chdir_event;
struct prefix_key abi_prefix_key;
struct comm_key abi_comm_key;
struct env_key abi_env_key;
enum event_kind abi_event_kind;
enum event_action abi_event_action;
enum event_flag abi_event_flag;
enum fd_target abi_fd_target;
enum rw_mode abi_rw_mode;
enum io_end abi_io_end;
enum rw_read_action abi_rw_read_action;
enum rw_write_action abi_rw_write_action;
enum addr_family abi_addr_family;
enum uring_flag abi_uring_flag;
enum abi_const abi_abi_const;
enum at_flag abi_at_flag;
enum open_flag abi_open_flag;
enum attr_inode abi_attr_inode;
enum cred_flag abi_cred_flag;
enum exec_map_mode abi_exec_map_mode;
enum mmap_flag abi_mmap_flag;
