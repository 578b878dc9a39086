/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel/user ABI of ebpf-monitor: record kinds, the common header and one struct per kind.
 * Python reads these layouts from the BTF of abi.bpf.o (see src/ebpf_monitor/abi.py), so a field
 * added here reaches user space without a hand-kept mirror. Fixed-width types only.
 */
#ifndef EBPF_MONITOR_EVENTS_H
#define EBPF_MONITOR_EVENTS_H

#define TASK_COMM_LEN 16
#define PATH_LEN 512      /* bytes of one path, NUL included; power of two (masking) */
#define ARGS_LEN 4096     /* bytes of an exec's argv, NULs included; power of two */
#define ARG_MAX_COUNT 128 /* hard bound on argv entries read (targ_max_args picks fewer) */
#define PREFIX_LEN 64     /* bytes of a path-prefix filter key */
#define SUN_PATH_LEN 128  /* bytes kept of a Unix socket's sun_path (108 in Linux) */
#define ENV_LEN 1024      /* bytes of an exec's kept environment entries, NULs included */
#define ENV_ENTRY_LEN 512 /* bytes of one kept NAME=value entry, NUL included */
#define ENV_NAME_LEN 32   /* bytes of an environment variable name key (NUL-padded) */
#define ENV_SCAN_MAX 256  /* environment entries looked at per exec, at most */
#define ENV_NAMES_MAX 64  /* names capture.exec_env_vars may hold (em_env_names) */

/* Record kinds: which struct follows the header. */
enum event_kind {
	EK_EXEC = 1,
	EK_FORK = 2,
	EK_EXIT = 3,
	EK_OPEN = 4,
	EK_RW = 5,     /* read/write/send/recv families */
	EK_UNLINK = 6,
	EK_RENAME = 7,
	EK_SOCKET = 8,
	EK_NET = 9,    /* connect/bind/listen/accept */
	EK_IO_SUMMARY = 10, /* capture.read_write "first": an fd's read/write totals */
	EK_FDPAIR = 11,     /* pipe/pipe2/socketpair: both fds and their inodes */
	EK_UNIX_NET = 12,   /* connect/bind/listen/accept on an AF_UNIX socket: net_event + path */
	EK_XFER = 13,       /* sendfile/splice/tee/copy_file_range: data moved between two fds */
	EK_MMSG = 14,       /* sendmmsg/recvmmsg: messages and bytes on one socket */
	EK_URING = 15,      /* io_uring_setup, and each io_uring operation at its completion */
	EK_ATTR = 16,  /* chmod and chown families */
	EK_LINK = 17,  /* link, symlink families */
	EK_MKNOD = 18, /* mkdir, mknod families */
	EK_TRUNCATE = 19,
	EK_CRED = 20,  /* set*id, capset; and, flagged CRF_EXEC, the ids an exec left */
	EK_TARGET = 21, /* acting on another process: signals, ptrace, process_vm_readv/writev */
	EK_MOUNT = 22, /* setns, unshare, mount, umount2, chroot, pivot_root */
	EK_KCODE = 23, /* code into the kernel: bpf(BPF_PROG_LOAD) */
	EK_FILELESS = 24, /* memfd_create, userfaultfd */
	EK_MMAP = 25,  /* mmap/mprotect making memory executable */
	EK_KMOD = 26,  /* init_module, finit_module, delete_module */
	EK_CHDIR = 27, /* chdir, fchdir: the working directory after the call */
	EK_MAX = 28,
};

/* What happened: the syscall (or lifecycle step); Python names it from these enumerators. */
enum event_action {
	EA_EXECVE = 1, EA_EXECVEAT, EA_FORK, EA_VFORK, EA_CLONE, EA_CLONE3, EA_EXIT,
	EA_OPEN, EA_OPENAT, EA_OPENAT2, EA_CREAT,
	EA_READ, EA_READV, EA_PREAD64, EA_PREADV, EA_PREADV2,
	EA_WRITE, EA_WRITEV, EA_PWRITE64, EA_PWRITEV, EA_PWRITEV2,
	EA_UNLINK, EA_UNLINKAT, EA_RMDIR, EA_RENAME, EA_RENAMEAT, EA_RENAMEAT2,
	EA_SOCKET, EA_CONNECT, EA_BIND, EA_LISTEN, EA_ACCEPT, EA_ACCEPT4,
	EA_SENDTO, EA_RECVFROM, EA_SENDMSG, EA_RECVMSG,
	EA_CLOSE,     /* an fd went away: close(2), dup2 over it, exec or exit (see enum io_end) */
	EA_PIPE, EA_PIPE2, EA_SOCKETPAIR,
	EA_SENDFILE64, EA_SPLICE, EA_TEE, EA_COPY_FILE_RANGE, EA_SENDMMSG, EA_RECVMMSG,
	EA_IO_URING_SETUP,
	EA_IO_URING,  /* an operation submitted through io_uring (user space names it by opcode) */
	EA_CHMOD, EA_FCHMOD, EA_FCHMODAT, EA_FCHMODAT2,
	EA_CHOWN, EA_FCHOWN, EA_LCHOWN, EA_FCHOWNAT,
	EA_LINK, EA_LINKAT, EA_SYMLINK, EA_SYMLINKAT,
	EA_MKDIR, EA_MKDIRAT, EA_MKNOD, EA_MKNODAT,
	EA_TRUNCATE, EA_FTRUNCATE,
	EA_SETUID, EA_SETGID, EA_SETREUID, EA_SETREGID, EA_SETRESUID, EA_SETRESGID,
	EA_SETFSUID, EA_SETFSGID, EA_CAPSET,
	EA_KILL, EA_TKILL, EA_TGKILL, EA_PIDFD_SEND_SIGNAL, EA_PTRACE, EA_PROCESS_VM_READV,
	EA_PROCESS_VM_WRITEV,
	EA_SETNS, EA_UNSHARE, EA_MOUNT, EA_UMOUNT2, EA_CHROOT, EA_PIVOT_ROOT,
	EA_BPF,
	EA_MEMFD_CREATE, EA_USERFAULTFD,
	EA_MMAP, EA_MPROTECT, EA_PKEY_MPROTECT,
	EA_INIT_MODULE, EA_FINIT_MODULE, EA_DELETE_MODULE,
	EA_CHDIR, EA_FCHDIR,
	EA_MAX,
};

/* Header flags. */
enum event_flag {
	EF_PATH_TRUNCATED = 1 << 0,   /* path (or old path) hit PATH_LEN */
	EF_PATH2_TRUNCATED = 1 << 1,  /* new path of a rename hit PATH_LEN */
	EF_ARGS_TRUNCATED = 1 << 2,   /* argv hit ARGS_LEN or the configured count */
	EF_THREAD = 1 << 3,           /* clone created a thread, not a process */
	EF_FD_UNTRACKED = 1 << 4,     /* fd opened before we saw it: path resolved by user space */
	EF_ADDR_FROM_ARG = 1 << 5,    /* remote address taken from the syscall argument */
	EF_ENV_TRUNCATED = 1 << 6,    /* exec: a kept environment entry was cut or left out */
};

/* What an fd refers to, in io and net records. */
enum fd_target {
	FT_UNKNOWN = 0,
	FT_FILE = 1,
	FT_SOCKET = 2,
};

/* capture.read_write, the rodata setting targ_read_write. */
enum rw_mode {
	RW_NONE = 0,
	RW_ALL = 1,   /* one rw_event per call */
	RW_FIRST = 2, /* per fd: the first read and first write as rw_event, then an io_summary */
};

/* How the fd of an io_summary went away. */
enum io_end {
	IE_CLOSE = 0, /* close(2), or dup2/dup3 onto it */
	IE_EXIT = 1,  /* still open when the process exited */
	IE_EXEC = 2,  /* closed by exec (O_CLOEXEC) */
	IE_STALE = 3, /* closed without close(2) earlier (close_range, ...), noticed now */
};

/* Which actions read and which write, for capture.read_write "first" (an fd's first read and
 * first write) and for user space (a file read is an access, a write a change). */
#define RW_READ_ACTIONS(X) X(READ) X(READV) X(PREAD64) X(PREADV) X(PREADV2) X(RECVFROM) X(RECVMSG)
#define RW_WRITE_ACTIONS(X) \
	X(WRITE) X(WRITEV) X(PWRITE64) X(PWRITEV) X(PWRITEV2) X(SENDTO) X(SENDMSG)
/* The enums reach BTF (user space reads them); C tests membership through the lists above
 * (file.bpf.c's is_read_action), so each action is named once. */
#define RWR_ENUMERATOR(name) RWR_##name = EA_##name,
#define RWW_ENUMERATOR(name) RWW_##name = EA_##name,
enum rw_read_action { RW_READ_ACTIONS(RWR_ENUMERATOR) };
enum rw_write_action { RW_WRITE_ACTIONS(RWW_ENUMERATOR) };
#undef RWR_ENUMERATOR
#undef RWW_ENUMERATOR

/* Address families the records carry (sock_info.family, socket_event.family), by their Linux
 * numbers; user space names them by these enumerators (FAM_INET -> AF_INET). */
enum addr_family {
	FAM_UNIX = 1,
	FAM_INET = 2,
	FAM_INET6 = 10,
	FAM_NETLINK = 16,
	FAM_PACKET = 17,
};

/* Constants of the ABI as enumerators, so that they reach BTF (a #define does not). */
enum abi_const {
	ABI_AT_FDCWD = -100,           /* dfd/olddfd/newdfd: relative to the cwd */
	ABI_TASK_COMM_LEN = TASK_COMM_LEN,
	ABI_PATH_LEN = PATH_LEN,
	ABI_ARGS_LEN = ARGS_LEN,
	ABI_PREFIX_LEN = PREFIX_LEN,
	ABI_SUN_PATH_LEN = SUN_PATH_LEN,
	ABI_MMSG_MAX_SUM = 64,
	ABI_ENV_NAME_LEN = ENV_NAME_LEN,
	ABI_ARG_MAX_COUNT = ARG_MAX_COUNT,
	ABI_ENV_LEN = ENV_LEN,
	ABI_ENV_ENTRY_LEN = ENV_ENTRY_LEN,
	ABI_ENV_NAMES_MAX = ENV_NAMES_MAX,
};

/* The *at calls' flags (include/uapi/linux/fcntl.h), named in documents by these enumerators
 * (ATF_SYMLINK_NOFOLLOW -> AT_SYMLINK_NOFOLLOW). */
enum at_flag {
	ATF_SYMLINK_NOFOLLOW = 0x100,
	ATF_REMOVEDIR = 0x200,
	ATF_SYMLINK_FOLLOW = 0x400,
	ATF_NO_AUTOMOUNT = 0x800,
	ATF_EMPTY_PATH = 0x1000,
};

/* Open flag bits as the kernel defines them (include/uapi/asm-generic/fcntl.h; arm64 has its own
 * O_DIRECTORY, O_NOFOLLOW, O_DIRECT, O_LARGEFILE), so user space names them by these
 * enumerators (OF_LARGEFILE -> O_LARGEFILE) and not by its libc's view: on x86_64 Python's
 * os.O_LARGEFILE is 0, yet 0x8000 reaches the syscall (32-bit code, some libcs). The access mode
 * (the low two bits) is named apart; O_SYNC and O_TMPFILE are composites, named before their
 * parts (O_DSYNC, O_DIRECTORY). */
enum open_flag {
	OF_CREAT = 00000100,
	OF_EXCL = 00000200,
	OF_NOCTTY = 00000400,
	OF_TRUNC = 00001000,
	OF_APPEND = 00002000,
	OF_NONBLOCK = 00004000,
	OF_DSYNC = 00010000,
	OF_ASYNC = 00020000,      /* FASYNC */
#ifdef __TARGET_ARCH_arm64
	OF_DIRECTORY = 00040000,
	OF_NOFOLLOW = 00100000,
	OF_DIRECT = 00200000,
	OF_LARGEFILE = 00400000,
#else
	OF_DIRECT = 00040000,
	OF_LARGEFILE = 00100000,
	OF_DIRECTORY = 00200000,
	OF_NOFOLLOW = 00400000,
#endif
	OF_NOATIME = 01000000,
	OF_CLOEXEC = 02000000,
	OF_SYNC = 04000000 | OF_DSYNC,        /* __O_SYNC | O_DSYNC */
	OF_PATH = 010000000,
	OF_TMPFILE = 020000000 | OF_DIRECTORY, /* __O_TMPFILE | O_DIRECTORY */
};

/* What an attr_event's inode fields hold. */
enum attr_inode {
	AI_NONE = 0,  /* path-based call: the inode is not at hand at exit */
	AI_AFTER = 1, /* fd-based call (or AT_EMPTY_PATH): the inode's mode/uid/gid at exit */
};

/* Kernel filter-map values. */
enum filter_flag {
	FILTER_IGNORE = 1,
};

struct event_header {
	__u16 kind;     /* enum event_kind */
	__u16 action;   /* enum event_action */
	__u16 size;     /* bytes of the record, header included */
	__u16 flags;    /* enum event_flag bits */
	__u32 pid;      /* process id (kernel tgid) */
	__u32 tid;      /* thread id (kernel pid) */
	__u32 ppid;     /* parent process id (real_parent's tgid) */
	__u32 uid;      /* real uid */
	__u32 gid;      /* real gid */
	__u32 euid;     /* effective uid */
	__u64 ktime_ns; /* CLOCK_MONOTONIC at the event */
	__u64 start_ns; /* CLOCK_MONOTONIC start of the process (group leader) */
	__s64 ret;      /* syscall return value (or exit status) */
	char comm[TASK_COMM_LEN];
	/* Only for a process in a PID namespace other than the initial one, else all 0: its
	 * pids there (what `ps` in its container shows) and that namespace's inode. */
	__u32 ns_pid;
	__u32 ns_tid;
	__u32 ns_ppid;  /* 0 when the parent is outside that namespace */
	__u32 pidns;    /* inode of /proc/<pid>/ns/pid */
	/* Context of every event (issue 12). */
	__u64 cgroup_id;       /* cgroup v2 id (the inode of its cgroupfs directory) */
	__u64 parent_start_ns; /* CLOCK_MONOTONIC start of the parent (real_parent's leader) */
	__u32 mntns;           /* inode of /proc/<pid>/ns/mnt */
	__u32 netns;           /* inode of /proc/<pid>/ns/net */
	__u32 tty;             /* controlling terminal: major << 20 | minor (kernel dev_t); 0 none */
	__u32 sid;             /* session leader's pid (initial namespace); 0 none */
	__u64 sid_start_ns;    /* CLOCK_MONOTONIC start of the session leader; 0: none, or the
				* leader has exited (its pid stays the session id) */
};

/* A socket's endpoints; ports in host byte order, addresses in network order. */
struct sock_info {
	__u16 family;
	__u16 type;
	__u16 protocol;
	__u16 lport;
	__u16 rport;
	__u16 _pad[3];
	__u8 laddr[16];
	__u8 raddr[16];
};

struct exec_event {
	struct event_header h;
	__u32 argc;          /* argv entries captured */
	__u16 path_len;      /* bytes of the path, NUL excluded */
	__u16 args_len;      /* bytes of argv (at most ARGS_LEN), each entry NUL-terminated */
	__u16 env_len;       /* bytes of the kept environment entries (the record's last bytes) */
	__u16 env_count;     /* entries kept (capture.exec_env_vars), each NUL-terminated */
	__u16 real_len;      /* a successful exec: bytes of the exec'd file's real path (as
			      * open_event's), when it differs from the path; else 0 */
	__u16 _pad;
	/* argv, then the path, then the cwd at the exec (NUL-terminated; absent when it could
	 * not be named), then the kept environment entries, then (real_len) the real path and a
	 * NUL; only the filled part is sent. While the exec is saved between enter and exit, the
	 * entries wait at ENV_AT. */
	char data[2 * ARGS_LEN + 2 * PATH_LEN + 2 * ENV_LEN + PATH_LEN];
};

struct fork_event {
	struct event_header h;
	__u32 child_pid;
	__u32 child_tid;
	__u64 clone_flags;
};

struct exit_event {
	struct event_header h;
	__u32 exit_code;     /* wait(2) status: code << 8 | signal */
	__u32 _pad;
};

struct open_event {
	struct event_header h;
	__s32 dfd;
	__u32 mode;
	__u64 flags;
	__u16 path_len;
	/* Bytes of the real path (NUL excluded): the opened file's own path, walked from its
	 * dentry up to the root of the process's mount namespace, when it differs from the path
	 * as given (a symlink on the way, "..", a chroot); 0 when they are the same or it cannot
	 * be named there (a pseudo file system, a detached mount, too deep or long). */
	__u16 real_len;
	__u16 _pad[2];
	char path[2 * PATH_LEN]; /* the path as given (made absolute), NUL, the real path, NUL */
};

struct rw_event {
	struct event_header h;
	__s32 fd;
	__u16 target;        /* enum fd_target */
	__u16 path_len;
	__u64 count;         /* bytes requested */
	__u64 ino;           /* untracked fds: inode and device, for user space's cache */
	__u32 dev;
	__u32 imode;         /* untracked fds: inode type, so a pipe is named even after exit */
	struct sock_info sock;
	char path[PATH_LEN];
};

/* Totals of one fd in capture.read_write "first" mode, sent when the fd goes away. The
 * header's ktime is the flush time; its ret is 0. */
struct io_summary_event {
	struct event_header h;
	__s32 fd;
	__u16 target;        /* enum fd_target */
	__u16 path_len;
	__u16 end;           /* enum io_end */
	__u16 _pad[3];
	__u64 reads;         /* read-type calls, the one sent as rw_event included */
	__u64 writes;        /* write-type calls, likewise */
	__u64 bytes_read;    /* sum of positive returns */
	__u64 bytes_written;
	__u64 ino;           /* untracked fds (EF_FD_UNTRACKED): as in rw_event */
	__u32 dev;
	__u32 imode;
	struct sock_info sock;
	char path[PATH_LEN];
};

struct unlink_event {
	struct event_header h;
	__s32 dfd;
	__u32 flags;
	__u16 path_len;
	__u16 _pad[3];
	char path[PATH_LEN];
};

struct rename_event {
	struct event_header h;
	__s32 olddfd;
	__s32 newdfd;
	__u32 flags;
	__u16 old_len;
	__u16 new_len;
	char data[2 * PATH_LEN]; /* old path, NUL, new path, NUL */
};

struct socket_event {
	struct event_header h;
	__s32 family;
	__s32 type;
	__s32 protocol;
	__u32 _pad;
};

struct net_event {
	struct event_header h;
	__s32 fd;
	__s32 backlog;       /* listen only */
	struct sock_info sock;
};

/* pipe, pipe2 (fd0 the read end, fd1 the write end, one inode) and socketpair (two sockets,
 * each the other's peer). fds and inodes 0 when the call failed. */
struct fdpair_event {
	struct event_header h;
	__s32 fd0;
	__s32 fd1;
	__u64 ino0;
	__u64 ino1;
	__s32 family;        /* socketpair's arguments; 0 for pipes */
	__s32 type;
	__s32 protocol;
	__u32 flags;         /* pipe2's flags */
};

/* A net_event of an AF_UNIX socket, with the socket's path: connect and bind the address
 * asked for (the argument), listen and accept the socket's own bound address. sun_path as
 * the kernel holds it: an abstract name starts with a NUL; path_len counts sun_path bytes. */
struct unix_net_event {
	struct event_header h;
	__s32 fd;
	__s32 backlog;
	struct sock_info sock;
	__u16 path_len;
	__u16 _pad[3];
	char path[SUN_PATH_LEN];
};

/* One end of an xfer_event: what the fd names, as an rw_event would (target FT_FILE: a
 * tracked path, pipes made while we watched included; FT_SOCKET: sock; else, ino nonzero, an fd
 * opened before we saw it, named by user space). */
struct xfer_end {
	__s32 fd;
	__u16 target;        /* enum fd_target */
	__u16 path_len;
	__u64 ino;
	__u32 dev;
	__u32 imode;
	struct sock_info sock;
};

/* Data moved from src to dst in the kernel (sendfile64, splice, tee, copy_file_range); the
 * header's ret is the bytes moved. */
struct xfer_event {
	struct event_header h;
	struct xfer_end src;
	struct xfer_end dst;
	__u64 count;         /* bytes asked for */
	__u32 flags;         /* splice/tee/copy_file_range flags */
	__u32 _pad;
	char data[2 * PATH_LEN]; /* src path, NUL, dst path, NUL (each only when FT_FILE) */
};

/* sendmmsg/recvmmsg: the header's ret is the messages done; bytes their sum (the first
 * ABI_ABI_MMSG_MAX_SUM messages' msg_len). */
struct mmsg_event {
	struct event_header h;
	__s32 fd;
	__u32 vlen;          /* messages offered */
	__u64 bytes_done;    /* the sum of the messages' msg_len */
	__u32 flags;
	__u16 target;        /* enum fd_target: FT_SOCKET unless fd is no socket */
	__u16 _pad;
	struct sock_info sock;
};

/* uring_event.flags of an operation. */
enum uring_flag {
	EU_FIXED_FILE = 1 << 0, /* fd is an index into the ring's registered files */
	EU_SQ_THREAD = 1 << 1,  /* submitted by the kernel's SQPOLL thread, not a syscall */
	EU_ADDR = 1 << 2,       /* connect: the address asked for is in sock (remote) */
};

/* io_uring. Setup (EA_IO_URING_SETUP): h.ret the ring fd, entries and flags (IORING_SETUP_*)
 * asked for. An operation (EA_IO_URING): described at submission (the submitter's header,
 * time and fd table: fd's name as an rw_event has it; openat/openat2: the path), sent at its
 * completion with h.ret = the completion's result. */
struct uring_event {
	struct event_header h;
	__s32 fd;            /* the operation's fd; setup: the ring fd */
	__u16 opcode;        /* enum io_uring_op (uapi numbers) */
	__u16 target;        /* enum fd_target of fd (FT_FILE also: openat's path) */
	__u32 entries;       /* setup: sq entries asked for */
	__u32 flags;         /* setup: IORING_SETUP_*; operation: enum uring_flag */
	__u64 user_data;
	__u64 ino;           /* untracked fd: as in rw_event */
	__u32 dev;
	__u32 imode;
	struct sock_info sock;
	__u16 path_len;
	__u16 _pad[3];
	char path[PATH_LEN];
};

/* chmod/chown families: the change as given and, for fd-based calls, the inode after it (the
 * mode/owner before the call is gone by exit). mode, uid, gid: as given ((__u32)-1 for an owner
 * left unchanged); a chmod leaves uid/gid 0, a chown mode 0 (the action tells which apply). */
struct attr_event {
	struct event_header h;
	__s32 dfd;           /* AT_FDCWD, the dir fd of the *at calls, or fchmod/fchown's fd */
	__u32 at_flags;      /* enum at_flag bits */
	__u32 mode;
	__u32 uid;
	__u32 gid;
	__u32 imode;         /* enum attr_inode says whether these three are set */
	__u32 iuid;
	__u32 igid;
	__u16 inode;         /* enum attr_inode */
	__u16 path_len;
	__u32 _pad;
	char path[PATH_LEN];
};

/* link/linkat: a new name (new) for an existing file (old, made absolute like new; AT_EMPTY_PATH:
 * olddfd's own path). symlink/symlinkat: a link (new) holding a text (old), kept as given: it is
 * not resolved, it need not even name anything. */
struct link_event {
	struct event_header h;
	__s32 olddfd;        /* AT_FDCWD for link/symlink/symlinkat */
	__s32 newdfd;
	__u32 flags;         /* linkat: enum at_flag bits */
	__u16 old_len;
	__u16 new_len;
	char data[2 * PATH_LEN]; /* old path (or the symlink's text), NUL, new path, NUL */
};

/* mkdir/mkdirat/mknod/mknodat: the mode as given (before the umask; mknod: its S_IFMT type
 * too), mknod's device number as given (dev_t of the syscall, new encoding). */
struct mknod_event {
	struct event_header h;
	__s32 dfd;
	__u32 mode;
	__u32 dev;
	__u16 path_len;
	__u16 _pad;
	char path[PATH_LEN];
};

/* truncate (a path) and ftruncate (an fd, named by its own path), with the length asked for. */
struct truncate_event {
	struct event_header h;
	__s32 fd;            /* ftruncate: the fd; truncate: AT_FDCWD */
	__u16 path_len;
	__u16 _pad;
	__s64 length;
	char path[PATH_LEN];
};

/* A task's credentials (struct cred): ids as the initial user namespace sees them. */
struct cred_ids {
	__u32 uid;      /* real */
	__u32 euid;     /* effective */
	__u32 suid;     /* saved */
	__u32 fsuid;    /* file system */
	__u32 gid;
	__u32 egid;
	__u32 sgid;
	__u32 fsgid;
	__u64 cap_effective;
	__u64 cap_permitted;
	__u64 cap_inheritable;
};

/* cred_event.flags */
enum cred_flag {
	CRF_BEFORE = 1 << 0,      /* `before` was read at the syscall's entry */
	CRF_EXEC = 1 << 1,        /* not a syscall: the ids a successful exec left (sent just
				   * before the exec record, which user space fills from it) */
	CRF_SECUREEXEC = 1 << 2,  /* CRF_EXEC: the exec changed ids or raised capabilities
				   * (set-uid/set-gid file, file capabilities: AT_SECURE) */
	CRF_EXEC_UNLINKED = 1 << 3, /* CRF_EXEC: the exec'd file has no name left (nlink 0): a
				     * deleted file or a memfd; path names it */
};

/* Credential changes: set*id (the ids asked for; -1 = unchanged as the syscall means it),
 * capset (the sets asked for, and its header's target pid). `after` is the task's cred at exit,
 * `before` the one at entry (CRF_BEFORE). */
struct cred_event {
	struct event_header h;
	__u32 flags;          /* enum cred_flag */
	__u32 nargs;          /* ids asked for: 1 (setuid...), 2 (setre*id), 3 (setres*id) */
	__u32 arg0;
	__u32 arg1;
	__u32 arg2;
	__s32 cap_pid;        /* capset: the header's pid */
	__u32 cap_version;    /* capset: the header's version */
	__u32 _pad;
	__u64 cap_effective;  /* capset: asked for */
	__u64 cap_permitted;
	__u64 cap_inheritable;
	struct cred_ids before;
	struct cred_ids after;
	__u16 path_len;       /* CRF_EXEC_UNLINKED: the file's path as the kernel still has it
			       * (a deleted file's old path, `memfd:<name>`), else 0 */
	__u16 _pad2[3];
	char path[PATH_LEN];  /* only the filled part is sent */
};

/* A call on another process: the target as the caller named it (a pid in the caller's PID
 * namespace; kill: 0 or negative for a process group, -1 for every process), a pidfd resolved
 * in the kernel to the process's host pid. */
struct target_event {
	struct event_header h;
	__s32 pid;            /* kill/tgkill/ptrace/process_vm_*: the pid argument; tkill: the tid */
	__s32 tid;            /* tgkill, tkill: the thread */
	__s32 pidfd;          /* pidfd_send_signal: the fd */
	__u32 pidfd_pid;      /* pidfd_send_signal: its process's host pid (0: not a pidfd) */
	__s64 request;        /* ptrace: the request; signals: the signal number */
	__u64 addr;           /* ptrace: addr */
	__u64 value;          /* ptrace: data; pidfd_send_signal: flags ("data" names tails) */
	__u32 local_iovcnt;   /* process_vm_*: the iovec counts */
	__u32 remote_iovcnt;
};

/* Namespaces and mounts. data: the first path (mount: source, as given unless a bind or move
 * names a path; umount2/chroot: the target; pivot_root: new_root), NUL, the second (mount:
 * target; pivot_root: put_old), NUL; paths made absolute in the kernel. */
struct mount_event {
	struct event_header h;
	__s32 fd;             /* setns: the fd */
	__u32 nstype;         /* setns: the namespace type asked for (CLONE_NEW*, 0: any) */
	__u64 flags;          /* unshare: CLONE_*; mount: MS_*; umount2: MNT_* */
	__u64 ns_inode;       /* setns: the namespace's inode when the fd is a /proc/<pid>/ns file */
	__u16 len1;           /* bytes of the first path, NUL excluded */
	__u16 len2;
	__u16 _pad[2];
	char fstype[32];      /* mount: the file system type */
	char data[2 * PATH_LEN];
};

/* A BPF program loaded by a process other than the monitor: bpf(BPF_PROG_LOAD) only (ret is
 * the new program's fd). Fields of the caller's union bpf_attr, read at exit. */
struct kcode_event {
	struct event_header h;
	__u32 prog_type;      /* enum bpf_prog_type */
	__u32 insn_cnt;
	__u32 prog_flags;
	__u32 attr_size;      /* bpf(2)'s size argument: the name is read only when it is given */
	char prog_name[16];   /* BPF_OBJ_NAME_LEN */
};

/* Memory that is no regular file: memfd_create (its name and flags; ret is the fd),
 * userfaultfd (its flags). */
struct fileless_event {
	struct event_header h;
	__u32 flags;
	__u16 path_len;       /* memfd_create: bytes of the name, NUL excluded */
	__u16 _pad;
	char path[256];       /* memfd_create: the name given, only the filled part sent ("path":
			       * the decoder's name for a variable tail) */
};

/* capture.exec_mappings, the rodata setting targ_exec_maps. */
enum exec_map_mode {
	XM_NONE = 0,  /* the mmap/mprotect hooks are not loaded */
	XM_FILES = 1, /* mappings of files only */
	XM_ALL = 2,   /* files and anonymous memory */
};

/* mmap_event.mflags */
enum mmap_flag {
	MMF_FILE = 1 << 0,     /* a file is mapped: path, dev, ino, offset describe it */
	MMF_BEFORE = 1 << 1,   /* mprotect: prot_before holds the vma's prot at entry */
	MMF_UNLINKED = 1 << 2, /* the file has no name left (nlink 0): a memfd or a deleted file */
	MMF_PART = 1 << 3,     /* mprotect over several vmas: this record is one vma's part of the
				* range (addr, len); without MMF_BEFORE, the rest of the range past
				* the vmas looked at */
};

/* mmap or mprotect asking for PROT_EXEC (no other call is sent): memory that can now run code.
 * mmap: its arguments, the file behind fd; mprotect, pkey_mprotect: its arguments and the vma
 * at start: its file and the prot it had at entry; a successful call over several vmas is one
 * record per vma (MMF_PART: addr and len are that vma's part of the range). The header's ret is the
 * address mapped (mmap) or 0 (mprotect), or -errno. */
struct mmap_event {
	struct event_header h;
	__u64 addr;           /* mmap: the address asked for (a hint unless MAP_FIXED*); mprotect:
			       * start */
	__u64 len;
	__u64 offset;         /* a file's offset in bytes (mmap: as given; mprotect: the vma's) */
	__u64 ino;            /* MMF_FILE: the file's inode and device (the superblock's s_dev) */
	__u32 dev;
	__u32 prot;           /* PROT_* asked for */
	__u32 flags;          /* mmap: MAP_*; mprotect: 0 */
	__s32 fd;             /* mmap: fd (-1 with MAP_ANONYMOUS); mprotect: -1 */
	__u32 prot_before;    /* mprotect (MMF_BEFORE): the vma's VM_READ|VM_WRITE|VM_EXEC at entry,
			       * the PROT_* bits' values */
	__u16 mflags;         /* enum mmap_flag */
	__u16 path_len;
	char path[PATH_LEN];  /* MMF_FILE: the file's path, walked in the kernel from its struct
			       * file; only the filled part is sent */
};

#define MODULE_NAME_LEN 56 /* the kernel's: 64 - sizeof(unsigned long) */
#define MODULE_ARGS_LEN 256

/* Kernel modules. init_module (an image in memory: len its bytes), finit_module (a file: fd,
 * its path), delete_module (a name, flags). name: delete_module's argument; for the loads the
 * name the kernel found in the image (the module_load tracepoint, seen in the caller's context
 * before the syscall returns), empty when the load failed before. data: the path (finit_module),
 * NUL, the parameters string (init/finit_module), NUL. */
struct kmod_event {
	struct event_header h;
	__u64 len;            /* init_module: the image's bytes */
	__s32 fd;             /* finit_module: the fd; else -1 */
	__u32 flags;          /* finit_module: MODULE_INIT_*; delete_module: O_NONBLOCK, O_TRUNC */
	char name[MODULE_NAME_LEN];
	__u16 path_len;       /* bytes of the path, NUL excluded */
	__u16 args_len;       /* bytes of the parameters, NUL excluded */
	__u32 _pad;
	char data[PATH_LEN + MODULE_ARGS_LEN];
};

/* chdir (the path as given, made absolute when the call failed: the cwd is unchanged) and
 * fchdir (its fd's path); on success the working directory after the call, as the kernel
 * holds it (symlinks resolved), for user space's process.working_directory. */
struct chdir_event {
	struct event_header h;
	__s32 fd;             /* fchdir: the fd; chdir: AT_FDCWD */
	__u16 path_len;
	__u16 cwd_len;        /* 0: failed, or the cwd could not be named */
	char data[2 * PATH_LEN]; /* path, NUL, cwd, NUL */
};

/* Filter-map key: path prefix for the LPM trie (prefixlen in bits). */
struct prefix_key {
	__u32 prefixlen;
	__u8 data[PREFIX_LEN];
};

/* Key of em_env_names (capture.exec_env_vars): a variable name, NUL-padded. */
struct env_key {
	char name[ENV_NAME_LEN];
};

/* Filter-map key: process name. */
struct comm_key {
	char comm[TASK_COMM_LEN];
};

#endif /* EBPF_MONITOR_EVENTS_H */
