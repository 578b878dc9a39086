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
#define ENV_LEN 1024      /* bytes of an exec's kept environment entries, NULs included */
#define ENV_ENTRY_LEN 512 /* bytes of one kept NAME=value entry, NUL included */
#define ENV_NAME_LEN 32   /* bytes of an environment variable name key (NUL-padded) */
#define ENV_SCAN_MAX 256  /* environment entries looked at per exec, at most */

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
	EK_MAX = 11,
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
enum rw_read_action {
	RWR_READ = EA_READ, RWR_READV = EA_READV, RWR_PREAD64 = EA_PREAD64, RWR_PREADV = EA_PREADV,
	RWR_PREADV2 = EA_PREADV2, RWR_RECVFROM = EA_RECVFROM, RWR_RECVMSG = EA_RECVMSG,
};
enum rw_write_action {
	RWW_WRITE = EA_WRITE, RWW_WRITEV = EA_WRITEV, RWW_PWRITE64 = EA_PWRITE64,
	RWW_PWRITEV = EA_PWRITEV, RWW_PWRITEV2 = EA_PWRITEV2, RWW_SENDTO = EA_SENDTO,
	RWW_SENDMSG = EA_SENDMSG,
};

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
	ABI_ENV_NAME_LEN = ENV_NAME_LEN,
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
	__u32 _pad;
	/* argv, then the path, then the cwd at the exec (NUL-terminated; absent when it could
	 * not be named), then the kept environment entries; only the filled part is sent. While
	 * the exec is saved between enter and exit, the entries wait at ENV_AT. */
	char data[2 * ARGS_LEN + 2 * PATH_LEN + 2 * ENV_LEN];
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
	__u16 _pad[3];
	char path[PATH_LEN];
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
