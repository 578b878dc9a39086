"""Every field a document can hold, stated once: name, Elasticsearch type, meaning, and which
`event.action`s write it.

The Elasticsearch mapping (`es_properties`) and the field table of docs/schema.md
(`markdown_table`, written by scripts/schema_doc.py) are generated from this list; the unit
tier checks it against the documents the builders make of the golden batch, both ways
(tests/unit/test_fields.py): a field a builder writes is here, a field here is written.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from .abi_consts import (
    ARGS_LEN,
    ENV_ENTRY_LEN,
    ENV_LEN,
    MMSG_MAX_SUM,
    PATH_LEN,
    READ_ACTIONS,
    TASK_COMM_LEN,
    WRITE_ACTIONS,
)

__all__ = ["FIELDS", "Field", "es_properties", "markdown_table"]

EXEC = ("execve", "execveat")
FORK = ("fork", "vfork", "clone", "clone3")
EXIT = ("exit",)
OPEN = ("open", "openat", "openat2", "creat")
SEND_RECV = ("sendto", "recvfrom", "sendmsg", "recvmsg")
"""The socket calls among events.h's reads and writes."""
READ = tuple(a for a in READ_ACTIONS if a not in SEND_RECV)
WRITE = tuple(a for a in WRITE_ACTIONS if a not in SEND_RECV)
"""Reads and writes as events.h classes them (RW_READ_ACTIONS, RW_WRITE_ACTIONS), less the
socket calls."""
UNLINK = ("unlink", "unlinkat", "rmdir")
RENAME = ("rename", "renameat", "renameat2")
SOCKET = ("socket",)
NET = ("connect", "bind", "listen", "accept", "accept4")
CLOSE = ("close",)
"""An fd's read/write totals (capture.read_write "first")."""
PIPE = ("pipe", "pipe2")
SOCKETPAIR = ("socketpair",)
XFER = ("sendfile64", "splice", "tee", "copy_file_range")
"""Data moved between two fds in the kernel: one document naming both ends."""
MMSG = ("sendmmsg", "recvmmsg")
URING = ("io_uring_setup", "io_uring")
"""io_uring_setup, and an io_uring operation shown as no syscall (`io_uring`)."""
URING_OPS = ("read", "readv", "write", "writev", "openat", "openat2", "connect", "sendto",
             "sendmsg", "recvfrom", "recvmsg", "accept4", "io_uring")
"""Actions an io_uring operation's document may take (the syscall it does the work of)."""
SETID = ("setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid", "setfsuid",
         "setfsgid")
CAPSET = ("capset",)
CRED = SETID + CAPSET
"""Credential changes (schema/cred.py)."""
SIGNALS = ("kill", "tkill", "tgkill", "pidfd_send_signal")
PTRACE = ("ptrace",)
PROCESS_VM = ("process_vm_readv", "process_vm_writev")
TARGET = SIGNALS + PTRACE + PROCESS_VM
"""Calls on another process (schema/target.py)."""
MOUNTS = ("mount", "umount2")
ROOT = ("chroot", "pivot_root")
NS_MOUNT = ("setns", "unshare", *MOUNTS, *ROOT)
"""Namespace and mount changes (schema/mount.py)."""
BPF = ("bpf",)
"""bpf(2) program loads (schema/kcode.py)."""
FILELESS = ("memfd_create", "userfaultfd")
MMAP = ("mmap", "mprotect", "pkey_mprotect")
"""mmap/mprotect/pkey_mprotect asking for PROT_EXEC (schema/execmap.py)."""
KMOD_LOAD = ("init_module", "finit_module")
KMOD = (*KMOD_LOAD, "delete_module")
"""Kernel modules loaded and removed (schema/kmod.py)."""
CHDIR = ("chdir", "fchdir")
"""Working-directory changes (schema/paths.py)."""
LOSS = ("loss",)
CHMOD = ("chmod", "fchmod", "fchmodat", "fchmodat2")
CHOWN = ("chown", "fchown", "lchown", "fchownat")
ATTR = CHMOD + CHOWN
"""File attribute changes (issue #12)."""
BY_FD = ("fchmod", "fchown", "ftruncate")
"""Changes of an fd."""
LINK = ("link", "linkat", "symlink", "symlinkat")
MKNOD = ("mkdir", "mkdirat", "mknod", "mknodat")
TRUNCATE = ("truncate", "ftruncate")
NAMES = LINK + MKNOD + TRUNCATE
"""New names and truncation (issue #12)."""
EVENTS = (EXEC + FORK + EXIT + OPEN + READ + WRITE + UNLINK + RENAME + SOCKET + NET + SEND_RECV
          + CLOSE
          + PIPE + SOCKETPAIR
          + XFER + MMSG
          + URING + ATTR + NAMES
          + CRED + TARGET + NS_MOUNT + BPF + FILELESS
          + MMAP + KMOD + CHDIR)
"""Every action of a document about a process's event (all but `loss`)."""
ALL = EVENTS + LOSS
IO = READ + WRITE + SEND_RECV
"""Reads and writes: of a file, or (the same records) of a socket."""
SOCKETS = SOCKET + NET + IO + CLOSE + SOCKETPAIR + XFER + MMSG + ("io_uring",)
"""Actions whose document may describe a socket."""
FILES = OPEN + READ + WRITE + UNLINK + RENAME + CLOSE + PIPE + ("io_uring",)
"""Actions whose document may name a file."""

_LONG_STRING = 8191
"""ignore_above for long keywords: 8191 chars of 4 UTF-8 bytes fit Lucene's 32766-byte term."""

MAPPINGS: dict[str, dict[str, Any]] = {
    "keyword": {"type": "keyword", "ignore_above": 1024},
    "long keyword": {"type": "keyword", "ignore_above": _LONG_STRING},
    "keyword+text": {"type": "keyword", "ignore_above": _LONG_STRING,
                     "fields": {"text": {"type": "text"}}},
    "long": {"type": "long"},
    "date_nanos": {"type": "date_nanos"},
    "ip": {"type": "ip"},
    "boolean": {"type": "boolean"},
    "object": {"type": "object", "dynamic": True},
}
"""Elasticsearch mapping by the registry's type name. "long keyword": paths and arguments
(up to 8191 characters); "keyword+text": those people search by word too (`<field>.text`);
"object": keys of their own (loss counts by record kind)."""


class Field(NamedTuple):
    """One document field (dotted name)."""

    name: str
    type: str
    """A key of MAPPINGS."""
    meaning: str
    actions: tuple[str, ...]
    """The `event.action`s whose documents may hold it (when it applies: `error` on failures)."""
    many: bool = False
    """An array of values."""


def _f(name: str, type_: str, actions: tuple[str, ...], meaning: str, *,
       many: bool = False) -> Field:
    return Field(name, type_, meaning, actions, many)


FIELDS: tuple[Field, ...] = (
    _f("@timestamp", "date_nanos", ALL, "wall-clock time of the event, ISO 8601 UTC with "
       "nanoseconds; the kernel's monotonic clock plus the boot offset (re-read every minute, "
       "so NTP steps are followed). Fork family: when the kernel created the child "
       "(sched_process_fork), not when the parent's syscall returned, so no document of the "
       "child is earlier (a vfork child execs before its parent returns)"),
    _f("event.id", "keyword", ALL, "deterministic id: `<host+boot hash>-<ktime hex>-<tid hex>` "
       "(`loss`: `<host+boot hash>-loss-<source>-<ktime hex>`); the Elasticsearch `_id`"),
    _f("event.kind", "keyword", ALL, "`event`; `metric` for `loss` records"),
    _f("event.action", "keyword", ALL, "the syscall (`execve`, `execveat`, `fork`, `vfork`, "
       "`clone`, `clone3`, `open`, `openat`, `openat2`, `creat`, `read`, `readv`, `pread64`, "
       "`preadv`, `preadv2`, `write`, `writev`, `pwrite64`, `pwritev`, `pwritev2`, `unlink`, "
       "`unlinkat`, `rmdir`, `rename`, `renameat`, `renameat2`, `socket`, `connect`, `bind`, "
       "`listen`, `accept`, `accept4`, `sendto`, `recvfrom`, `sendmsg`, `recvmsg`, `pipe`, "
       "`pipe2`, `socketpair`, `sendfile64`, `splice`, `tee`, `copy_file_range`, `sendmmsg`, "
       "`recvmmsg`, `io_uring_setup`, `chmod`, `fchmod`, `fchmodat`, `fchmodat2`, `chown`, "
       "`fchown`, `lchown`, `fchownat`, `link`, `linkat`, `symlink`, `symlinkat`, `mkdir`, "
       "`mkdirat`, `mknod`, `mknodat`, `truncate`, `ftruncate`, `setuid`, "
       "`setgid`, `setreuid`, `setregid`, `setresuid`, `setresgid`, `setfsuid`, `setfsgid`, "
       "`capset`, `kill`, `tkill`, `tgkill`, `pidfd_send_signal`, `ptrace`, `process_vm_readv`, "
       "`process_vm_writev`, `setns`, `unshare`, `mount`, `umount2`, `chroot`, `pivot_root`, "
       "`bpf` (BPF_PROG_LOAD only), `memfd_create`, `userfaultfd`, `mmap`, `mprotect`, "
       "`pkey_mprotect` "
       "(PROT_EXEC asked for only), `init_module`, `finit_module`, `delete_module`, `chdir`, "
       "`fchdir`; an "
       "operation submitted "
       "through io_uring takes the action of the syscall it does the work of, else "
       "`io_uring`), `exit` for "
       "process exit, `close` for an fd's read/write totals (`capture.read_write: \"first\"` "
       "only), `loss` for dropped events"),
    _f("event.category", "keyword", ALL, "`process`, `file`, `network`, `configuration` "
       "(mount, umount2, bpf), `driver` (init_module, finit_module, delete_module) (`host` for "
       "`loss`)",
       many=True),
    _f("event.type", "keyword", ALL, "`start` (exec, process fork), `end` (exit), `info` "
       "(thread creation, socket, bind, listen, socket I/O, `close` totals, signals, userfaultfd, "
       "`loss`), `access` (open, read, ptrace reads, process_vm_readv), `change` (write, "
       "rename, chmod, chown, truncate, set*id, capset, ptrace writes: POKE*/SET*, "
       "process_vm_writev, setns, unshare, chroot, pivot_root, bpf, chdir, fchdir), "
       "`creation` (pipe, "
       "pipe2, link, symlink, mkdir, mknod, memfd_create, mount), `deletion` (unlink, rmdir, "
       "umount2), `connection`+`start` (connect, accept, socketpair), "
       "`access`+`change` (sendfile64, splice, tee, copy_file_range), `info` (sendmmsg, "
       "recvmmsg, io_uring_setup, io_uring); `change` also for mmap, mprotect, pkey_mprotect; "
       "`start` for "
       "init_module, finit_module, `end` for delete_module", many=True),
    _f("event.outcome", "keyword", ALL, "`success` / `failure` from the return value; "
       "`unknown` for a non-blocking connect (EINPROGRESS); `failure` for `loss`; setfsuid/"
       "setfsgid (which return the old id either way): whether the id is now the one asked"),
    _f("host.name", "keyword", ALL, "the monitor's host name"),
    _f("message", "keyword", LOSS, "`loss` records: how many events were lost, and where"),
    _f("process.pid", "long", EVENTS, "process id (the kernel's tgid)"),
    _f("process.thread.id", "long", EVENTS, "thread id (the kernel's pid)"),
    _f("process.name", "keyword", EVENTS, f"comm, at most {TASK_COMM_LEN - 1} bytes"),
    _f("process.executable", "keyword+text", EVENTS, "the exec'd path (absolute; from the exec "
       "event, else `/proc/<pid>/exe`; absent when neither is known)"),
    _f("process.working_directory", "keyword+text", EVENTS, "the working directory at the "
       "process's exec or its last successful chdir/fchdir (named in the kernel from its "
       "`fs->pwd`: symlinks resolved), inherited by a forked child; for a process seen doing "
       "neither, `/proc/<pid>/cwd` read once. In a chdir's own document, the new one"),
    _f("process.hash.sha256", "keyword", EXEC + EXIT, "`capture.hash_executables`: sha256 of "
       "the executed file (the inode that runs, from `/proc/<pid>/exe`), computed once per "
       "(device, inode, mtime) by a worker thread: in the exec document when the file was "
       "hashed before, else in the process's exit document; absent when not known by then"),
    _f("process.env_vars", "keyword", EXEC, "exec events only: the environment entries "
       "named in `capture.exec_env_vars` (by default LD_PRELOAD, LD_LIBRARY_PATH, LD_AUDIT, "
       "GLIBC_TUNABLES, the proxy variables, PYTHONPATH), as `NAME=value`, read in the kernel "
       f"at exec (at most {ENV_LEN // 1024} KiB in all, {ENV_ENTRY_LEN - 1} bytes each; an "
       "entry cut or left out sets "
       "`ebpf.truncated`); never the whole environment", many=True),
    _f("process.args", "long keyword", EXEC, "exec events only: argv as passed (up to "
       f"`capture.max_args` entries and {ARGS_LEN // 1024} KiB)", many=True),
    _f("process.args_count", "long", EXEC, "exec events only: entries of `process.args`"),
    _f("process.command_line", "keyword+text", EXEC, "exec events only: `process.args` joined "
       "by spaces"),
    _f("process.start", "date_nanos", EVENTS, "start time of the process"),
    _f("process.entity_id", "keyword", EVENTS, "hash of host, boot id, start time and pid: "
       "unique even when a pid is reused"),
    _f("process.parent.pid", "long", EVENTS, "the parent process id"),
    _f("process.user.id", "keyword", EXEC + CRED, "exec and credential changes: the effective "
       "uid after the call (ECS: `process.user` is the effective user); exec: the ids the exec "
       "left (a set-uid file's owner)"),
    _f("process.user.name", "keyword", EXEC + CRED, "its name"),
    _f("process.real_user.id", "keyword", EXEC + CRED, "likewise, the real uid"),
    _f("process.real_user.name", "keyword", EXEC + CRED, "its name"),
    _f("process.saved_user.id", "keyword", EXEC + CRED, "likewise, the saved set-user-id"),
    _f("process.saved_user.name", "keyword", EXEC + CRED, "its name"),
    _f("process.group.id", "keyword", EXEC + CRED, "likewise, the effective gid"),
    _f("process.group.name", "keyword", EXEC + CRED, "its name"),
    _f("process.real_group.id", "keyword", EXEC + CRED, "likewise, the real gid"),
    _f("process.real_group.name", "keyword", EXEC + CRED, "its name"),
    _f("process.saved_group.id", "keyword", EXEC + CRED, "likewise, the saved set-group-id"),
    _f("process.saved_group.name", "keyword", EXEC + CRED, "its name"),
    _f("process.thread.capabilities.effective", "keyword", EXEC + CAPSET, "capset, and an exec "
       "that changed ids or raised capabilities (`ebpf.secure_exec`): the effective capability "
       "set after it, as names (`CAP_SYS_ADMIN`, ...)", many=True),
    _f("process.thread.capabilities.permitted", "keyword", EXEC + CAPSET, "likewise, the "
       "permitted set", many=True),
    _f("process.parent.entity_id", "keyword", EVENTS, "the parent's `process.entity_id` "
       "(from the parent's start time, read in the kernel: real_parent's group leader); absent "
       "when the parent pid is 0"),
    _f("process.tty.char_device.major", "long", EVENTS, "the controlling terminal's major "
       "number (136: a pseudo-terminal `/dev/pts/N`, 4: a virtual console); absent without a "
       "terminal"),
    _f("process.tty.char_device.minor", "long", EVENTS, "its minor number (`N` of "
       "`/dev/pts/N`)"),
    _f("process.session_leader.pid", "long", EVENTS, "the pid of the session's leader (the "
       "session id, as the host sees it); absent when the kernel has none"),
    _f("process.session_leader.entity_id", "keyword", EVENTS, "the session leader's "
       "`process.entity_id` (from its start time, read in the kernel from the task that holds "
       "the session's pid); absent once the leader has exited (the session id stays)"),
    _f("container.id", "keyword", EVENTS, "the container the process runs in, from its cgroup "
       "path: docker (`docker-<id>.scope`, `/docker/<id>`), containerd (`cri-containerd-<id>"
       ".scope`), CRI-O (`crio-<id>.scope`), podman (`libpod-<id>.scope`), a Kubernetes pod's "
       "container under the cgroupfs driver (`.../pod<uid>/<id>`); absent outside a "
       "container"),
    _f("container.name", "keyword", EVENTS, "systemd-nspawn (and machined) containers: the "
       "machine name of `machine-<name>.scope`"),
    _f("container.runtime", "keyword", EVENTS, "`docker`, `containerd`, `cri-o`, `podman` or "
       "`systemd-nspawn`; absent when the path does not say (Kubernetes, cgroupfs driver)"),
    _f("orchestrator.type", "keyword", EVENTS, "`kubernetes` for a process in a pod's cgroup "
       "(`kubepods...-pod<uid>.slice` or `/kubepods/.../pod<uid>`)"),
    _f("orchestrator.resource.type", "keyword", EVENTS, "`pod`"),
    _f("orchestrator.resource.id", "keyword", EVENTS, "the pod's uid"),
    _f("process.exit_code", "long", EXIT, "exit events: the exit status, or 128+signal when "
       "killed"),
    _f("user.id", "keyword", EVENTS, "real uid (a string, per ECS)"),
    _f("user.name", "keyword", EVENTS, "its name (names cached; null when the id has none)"),
    _f("user.effective.id", "keyword", EVENTS, "the effective uid, when it differs (setuid)"),
    _f("user.effective.name", "keyword", EVENTS, "its name"),
    _f("group.id", "keyword", EVENTS, "real gid"),
    _f("group.name", "keyword", EVENTS, "its name"),
    _f("file.path", "keyword+text", FILES + ATTR + NAMES + MMAP + ("finit_module",) + CHDIR,
       "the file of an open, read, write, unlink, rename (old path), chmod, chown, "
       "truncate, the name a link, symlink, mkdir or mknod makes, the file an mmap/mprotect "
       "makes executable or a finit_module loads, the directory a chdir was given (as given, "
       "made absolute; a relative one that succeeded: the new cwd) "
       "(fchmod/fchown/ftruncate/fchdir and AT_EMPTY_PATH: the fd's own path, "
       "walked in the kernel from its `struct file`; absent for a bad fd); relative paths are "
       "made absolute in the kernel from the cwd or the dir fd. "
       "Reads and writes name the path their fd was opened with (tracked in the kernel from "
       "open/dup to close, checked against the fd's current `struct file` and its inode so a "
       "stale entry is never used); an fd opened before the monitor saw it (inherited, or "
       "opened before start) that names a linked file, directory or device is named in the "
       "kernel at its first read or write (its path in the process's mount namespace, as an "
       "open would give it) and tracked from then on; the rest (pipes, sockets, deleted files) "
       "from `/proc/<pid>/fd`, or `pipe:[inode]` / `socket:[inode]` once the process is "
       "gone. Pipes made by pipe/pipe2 while the monitor runs: `pipe:[inode]` for the pipe "
       "call and every read and write of either end (tracked in the kernel)"),
    _f("file.name", "keyword", FILES + ATTR + NAMES + MMAP + ("finit_module",) + CHDIR,
       "the last part of `file.path`"),
    _f("file.directory", "keyword+text", FILES + ATTR + NAMES + MMAP + ("finit_module",) + CHDIR,
       "`file.path` without its last part"),
    _f("file.inode", "keyword", MMAP, "mmap/mprotect of a file: its inode (a string, per ECS)"),
    _f("file.device", "keyword", MMAP, "its file system's device, `major:minor` as "
       "/proc/self/mountinfo shows it"),
    _f("file.target_path", "keyword+text", RENAME + LINK, "renames: the new path; symlinks: the "
       "text the link holds, as given (not resolved: it may be relative to the link's "
       "directory or name nothing); hard links: the existing file the new name is for"),
    _f("file.type", "keyword", LINK + MKNOD, "symlink: `symlink`; mkdir: `dir`; mknod: the "
       "type asked for, `file` (also for type 0), `fifo`, `char_device`, `block_device`, "
       "`socket`"),
    _f("file.mode", "keyword", CHMOD + MKNOD, "chmod family: the mode asked for, as ECS writes "
       "it: the permission bits in octal (`0640`, `4755`); the mode before the call is not "
       "recorded (gone by the syscall's exit, where the hook runs). mkdir/mknod: the mode "
       "asked for, before the process's umask"),
    _f("file.uid", "keyword", CHOWN, "chown family: the owner asked for (absent when the call "
       "leaves it unchanged, -1); the owner before is not recorded"),
    _f("file.owner", "keyword", CHOWN, "its name (null when the id has none)"),
    _f("file.gid", "keyword", CHOWN, "chown family: the group asked for (absent when left "
       "unchanged)"),
    _f("file.group", "keyword", CHOWN, "its name"),
    _f("source.ip", "ip", SOCKETS, "the local end (the peer for accept, which the peer "
       "initiated)"),
    _f("source.port", "long", SOCKETS, "its port"),
    _f("destination.ip", "ip", SOCKETS, "the remote end (the local end for accept)"),
    _f("destination.port", "long", SOCKETS, "its port"),
    _f("network.transport", "keyword", SOCKETS, "`tcp`/`udp`/`mptcp`/..."),
    _f("network.type", "keyword", SOCKETS, "`ipv4`/`ipv6`"),
    _f("network.iana_number", "keyword", SOCKETS, "the IANA protocol number (`6` for MPTCP, "
       "whose Linux-internal number 262 stays in `ebpf.socket.protocol`)"),
    _f("error.code", "keyword", EVENTS, "failures: the errno name (`ENOENT`)"),
    _f("error.message", "keyword+text", EVENTS, "failures: its message "
       "(`No such file or directory`)"),
    _f("ebpf.syscall", "keyword", tuple(a for a in EVENTS if a != "close"),
       "same as `event.action` for syscalls"),
    _f("ebpf.ret", "long", tuple(a for a in EVENTS if a != "close"), "the raw return value"),
    _f("ebpf.fd", "long", OPEN + SOCKET + NET + IO + CLOSE + PIPE + SOCKETPAIR + MMSG + URING
       + BY_FD + ("fchdir",), "the fd used or returned (pipe, pipe2: the read end; "
       "socketpair: the first socket)"),
    _f("ebpf.peer_fd", "long", PIPE + SOCKETPAIR, "pipe, pipe2: the write end; socketpair: the "
       "second socket"),
    _f("ebpf.dfd", "long", ATTR + MKNOD, "*at calls: the directory fd a relative path was "
       "taken from (absent for AT_FDCWD); with AT_EMPTY_PATH the fd of the file itself"),
    _f("ebpf.flags", "keyword", OPEN + UNLINK + RENAME + ATTR + LINK
       + ("pipe2", "splice", "tee", "copy_file_range"), "open and pipe2 flags as names "
       "by the kernel's values for the architecture (events.h `enum open_flag`: `O_WRONLY`, "
       "`O_CREAT`, `O_LARGEFILE`, `O_CLOEXEC`, ...; composites `O_SYNC`/`O_TMPFILE` before "
       "their parts; unknown bits in hex); splice and tee flags likewise (`SPLICE_F_MOVE`, "
       "...); unlinkat/renameat2 flags as a number; chmod/chown family and linkat: "
       "`AT_SYMLINK_NOFOLLOW`, `AT_SYMLINK_FOLLOW`, `AT_EMPTY_PATH` (lchown: "
       "`AT_SYMLINK_NOFOLLOW`, which it means), unknown bits in hex", many=True),
    _f("ebpf.device.major", "long", MKNOD, "mknod of a `char_device`/`block_device`: the "
       "device number asked for, major"),
    _f("ebpf.device.minor", "long", MKNOD, "likewise, minor"),
    _f("ebpf.length", "long", TRUNCATE, "truncate/ftruncate: the length asked for"),
    _f("ebpf.mode", "long", OPEN, "open mode when O_CREAT is set"),
    _f("ebpf.bytes_requested", "long", IO + XFER, "read/write/send/recv and the moves "
       "(sendfile64, splice, tee, copy_file_range): the count asked for (not given for "
       "vectored calls)"),
    _f("ebpf.bytes", "long", IO + XFER + MMSG, "read/write/send/recv and the moves: the bytes "
       f"done; sendmmsg/recvmmsg: the sum of the messages' lengths (of the first "
       f"{MMSG_MAX_SUM})"),
    _f("ebpf.from.fd", "long", XFER, "moves: the fd data was taken from (sendfile64's in_fd, "
       "splice/tee/copy_file_range's fd_in)"),
    _f("ebpf.from.path", "keyword", XFER, "moves: what that fd names, as `file.path` of "
       "a read would (a file's path, `pipe:[inode]`, ...); absent for a socket, which "
       "`ebpf.socket`/`source`/`destination` describe, and for a bad fd"),
    _f("ebpf.to.fd", "long", XFER, "moves: the fd data was put into"),
    _f("ebpf.to.path", "keyword", XFER, "moves: what that fd names, likewise"),
    _f("ebpf.io_uring.opcode", "keyword", URING_OPS, "an operation submitted through "
       "io_uring: its opcode (`READ`, `OPENAT`, `NOP`, ...; `OP_<n>` past the names known)"),
    _f("ebpf.io_uring.user_data", "long", URING_OPS, "io_uring: the submitter's tag of the "
       "operation (matches its completion in the process's own records)"),
    _f("ebpf.io_uring.fixed_file", "boolean", URING_OPS, "io_uring: the fd is an index into "
       "the ring's registered files (`.fixed_file_index`), not an fd"),
    _f("ebpf.io_uring.fixed_file_index", "long", URING_OPS, "io_uring: that index"),
    _f("ebpf.io_uring.sq_thread", "boolean", URING_OPS, "io_uring: submitted by the kernel's "
       "SQPOLL thread (no io_uring_enter call)"),
    _f("ebpf.io_uring.entries", "long", ("io_uring_setup",), "io_uring_setup: the submission "
       "queue entries asked for"),
    _f("ebpf.io_uring.setup_flags", "keyword", ("io_uring_setup",), "io_uring_setup: "
       "`IORING_SETUP_*` flags", many=True),
    _f("ebpf.messages", "long", MMSG, "sendmmsg/recvmmsg: the messages sent or received"),
    _f("ebpf.messages_offered", "long", MMSG, "sendmmsg/recvmmsg: the vector's length (vlen)"),
    _f("ebpf.io.reads", "long", CLOSE, "read-type (read, readv, pread64, preadv, preadv2, "
       "recvfrom, recvmsg) calls on the fd, failed ones and the first one (sent as its own "
       "event) included"),
    _f("ebpf.io.writes", "long", CLOSE, "write-type (write, writev, pwrite64, pwritev, "
       "pwritev2, sendto, sendmsg) calls on the fd, likewise"),
    _f("ebpf.io.bytes_read", "long", CLOSE, "the sum of the positive returns of the reads"),
    _f("ebpf.io.bytes_written", "long", CLOSE, "the sum of the positive returns of the writes"),
    _f("ebpf.io.end", "keyword", CLOSE, "how the fd went away: `close` (close(2), or dup2/dup3 "
       "onto it), `exit` (open when the process exited), `exec` (O_CLOEXEC, closed by an "
       "exec), `stale` (closed earlier without close(2), e.g. close_range; noticed when the fd "
       "number was used again or at exit)"),
    _f("ebpf.child_pid", "long", FORK, "fork family: the new process"),
    _f("ebpf.child_tid", "long", FORK, "fork family: the new thread"),
    _f("ebpf.clone_flags", "long", FORK, "fork family: the clone flags"),
    _f("ebpf.thread", "boolean", FORK, "fork family: a thread, not a process, was created"),
    _f("ebpf.exit_signal", "long", EXIT, "exit: the signal that killed the process"),
    _f("ebpf.pid_ns.pid", "long", EVENTS, "only for a process in a PID namespace other than "
       "the host's (a container): its pid as seen inside that namespace (what `ps` there "
       "shows). `process.pid`, `process.thread.id` and `process.parent.pid` are always the "
       "host's"),
    _f("ebpf.pid_ns.tid", "long", EVENTS, "likewise, its thread id"),
    _f("ebpf.pid_ns.ppid", "long", EVENTS, "likewise, its parent pid (0 when the parent is "
       "outside the namespace, as for a container's init)"),
    _f("ebpf.pid_ns.inode", "long", EVENTS, "the namespace's inode (`stat -L -c %i "
       "/proc/<pid>/ns/pid`, the number in `ls -l /proc/<pid>/ns/pid`)"),
    _f("ebpf.secure_exec", "boolean", EXEC, "exec: the exec changed the ids or raised "
       "capabilities (a set-uid/set-gid file, file capabilities: the kernel's AT_SECURE)"),
    _f("ebpf.exec.unlinked", "boolean", EXEC, "exec: the exec'd file had no link left (nlink "
       "0): a memfd or a deleted file; `process.executable` is then the path given to exec "
       "(`/proc/self/fd/3`, `/dev/fd/3`)"),
    _f("ebpf.exec.memfd", "keyword", EXEC, "exec of a memfd: the name memfd_create gave it"),
    _f("ebpf.exec.deleted", "boolean", EXEC, "exec of a deleted file"),
    _f("ebpf.exec.file_path", "keyword", EXEC, "that file as the kernel still names it: "
       "`memfd:<name>`, or the deleted file's old path"),
    _f("ebpf.cred.args", "long", SETID, "set*id: the ids asked for, in the syscall's order "
       "(`-1`: leave that id as it is)", many=True),
    _f("ebpf.cred.fsuid", "long", CRED, "credential changes: the file-system uid after the call "
       "(ECS has no field for it)"),
    _f("ebpf.cred.fsgid", "long", CRED, "likewise, the file-system gid"),
    *(_f(f"ebpf.cred.before.{k}", "long", CRED, f"credential changes: the {what} before the "
         "call (read at its entry)") for k, what in (
        ("uid", "real uid"), ("euid", "effective uid"), ("suid", "saved uid"),
        ("fsuid", "file-system uid"), ("gid", "real gid"), ("egid", "effective gid"),
        ("sgid", "saved gid"), ("fsgid", "file-system gid"))),
    _f("ebpf.cap.pid", "long", CAPSET, "capset: the header's pid (0: the caller)"),
    _f("ebpf.cap.version", "keyword", CAPSET, "capset: the header's version (`0x20080522`); "
       "read at exit, so a version the kernel refused reads as the one it wrote back"),
    *(_f(f"ebpf.cap.requested.{k}", "keyword", CAPSET, f"capset: the {k} set asked for, as "
         "names", many=True) for k in ("effective", "permitted", "inheritable")),
    _f("ebpf.cap.inheritable", "keyword", CAPSET, "capset: the inheritable set after the call "
       "(ECS has no field for it)", many=True),
    *(_f(f"ebpf.cap.before.{k}", "keyword", CAPSET, f"capset: the {k} set before the call",
         many=True) for k in ("effective", "permitted", "inheritable")),
    _f("Target.process.pid", "long", TARGET, "calls on another process: its pid as the caller "
       "gave it (in the caller's PID namespace); pidfd_send_signal: the pidfd's process, its "
       "host pid resolved in the kernel; ptrace PTRACE_TRACEME: the parent. Elastic Defend's "
       "`Target.process` (ECS has no target field set); absent for kill of a group or of all"),
    _f("Target.process.thread.id", "long", ("tkill", "tgkill"), "tkill/tgkill: the thread"),
    _f("ebpf.signal.number", "long", SIGNALS, "signals: the signal number (0: a probe)"),
    _f("ebpf.signal.name", "keyword", SIGNALS, "its name (`SIGKILL`, `SIGRTMIN+n`; `0`)"),
    _f("ebpf.signal.flags", "long", ("pidfd_send_signal",), "pidfd_send_signal: its flags, "
       "when set"),
    _f("ebpf.kill_scope", "keyword", ("kill",), "kill: `process` (pid > 0), `process_group` "
       "(0: the caller's, < -1: `ebpf.kill_pgid`'s), `all` (-1)"),
    _f("ebpf.kill_pgid", "long", ("kill",), "kill of a process group: the group (0: the "
       "caller's own)"),
    _f("ebpf.pidfd", "long", ("pidfd_send_signal",), "pidfd_send_signal: the fd"),
    _f("ebpf.ptrace.request", "keyword", PTRACE, "ptrace: the request (`PTRACE_ATTACH`, ...; "
       "a number when unknown)"),
    _f("ebpf.ptrace.addr", "keyword", PTRACE, "ptrace: addr, in hex"),
    _f("ebpf.ptrace.data", "keyword", PTRACE, "ptrace: data, in hex (POKE*: the word "
       "written; PEEK*: where the word read went)"),
    _f("ebpf.process_vm.local_iovcnt", "long", PROCESS_VM, "process_vm_readv/writev: iovecs "
       "on the caller's side"),
    _f("ebpf.process_vm.remote_iovcnt", "long", PROCESS_VM, "likewise, on the target's side"),
    _f("ebpf.process_vm.bytes", "long", PROCESS_VM, "the bytes moved (the return value)"),
    _f("ebpf.ns.fd", "long", ("setns",), "setns: the fd"),
    _f("ebpf.ns.type", "keyword", ("setns",), "setns: the namespace types asked for "
       "(`CLONE_NEWNET`, ...; `any` for 0)", many=True),
    _f("ebpf.ns.inode", "long", ("setns",), "setns: the namespace's inode, when the fd is a "
       "`/proc/<pid>/ns/*` file (as `ebpf.pid_ns.inode` names one)"),
    _f("ebpf.ns.flags", "keyword", ("unshare",), "unshare: the flags as names (`CLONE_NEWNS`, "
       "...; unknown bits in hex)", many=True),
    _f("ebpf.mount.source", "long keyword", ("mount",), "mount: the source as given (a device, "
       "`tmpfs`, ...; empty when none), made absolute for a bind or a move"),
    _f("ebpf.mount.target", "long keyword", MOUNTS, "mount, umount2: the mount point, made "
       "absolute in the kernel"),
    _f("ebpf.mount.fstype", "keyword", ("mount",), "mount: the file system type, when given"),
    _f("ebpf.mount.flags", "keyword", MOUNTS, "mount: `MS_*` names; umount2: `MNT_*`, "
       "`UMOUNT_NOFOLLOW`", many=True),
    _f("ebpf.root.path", "long keyword", ROOT, "chroot: the new root; pivot_root: new_root; "
       "made absolute in the kernel (a relative path after a successful call resolves against "
       "the new root)"),
    _f("ebpf.root.put_old", "long keyword", ("pivot_root",), "pivot_root: where the old root "
       "went"),
    _f("ebpf.bpf.command", "keyword", BPF, "bpf(2): the command (only `BPF_PROG_LOAD` is "
       "recorded)"),
    _f("ebpf.bpf.prog_type", "keyword", BPF, "the program type (`SOCKET_FILTER`, `KPROBE`, "
       "`XDP`, ...: enum bpf_prog_type without its prefix; a number when unknown)"),
    _f("ebpf.bpf.insn_cnt", "long", BPF, "its instruction count"),
    _f("ebpf.bpf.prog_flags", "long", BPF, "its BPF_F_* load flags"),
    _f("ebpf.bpf.prog_name", "keyword", BPF, "the name it was given (at most 15 bytes)"),
    _f("ebpf.bpf.prog_fd", "long", BPF, "the new program's fd (the return value)"),
    _f("ebpf.memfd.name", "keyword", ("memfd_create",), "memfd_create: the name given (the "
       "file shows as `/memfd:<name>` in /proc/<pid>/fd and maps)"),
    _f("ebpf.memfd.flags", "keyword", ("memfd_create",), "its flags (`MFD_CLOEXEC`, "
       "`MFD_ALLOW_SEALING`, `MFD_EXEC`, ...)", many=True),
    _f("ebpf.memfd.fd", "long", ("memfd_create",), "the new fd"),
    _f("ebpf.userfaultfd.flags", "keyword", ("userfaultfd",), "userfaultfd: its flags "
       "(`O_CLOEXEC`, `O_NONBLOCK`, `UFFD_USER_MODE_ONLY`)", many=True),
    _f("ebpf.userfaultfd.fd", "long", ("userfaultfd",), "the new fd"),
    _f("ebpf.mmap.address", "keyword", MMAP, "mmap/mprotect with PROT_EXEC: where, in hex "
       "(mmap: the address mapped, or the one asked for when the call failed; mprotect: "
       "start)"),
    _f("ebpf.mmap.length", "long", MMAP, "the length asked for, in bytes"),
    _f("ebpf.mmap.prot", "keyword", MMAP, "the protection asked for (`PROT_READ`, "
       "`PROT_WRITE`, `PROT_EXEC`, ...)", many=True),
    _f("ebpf.mmap.prot_before", "keyword", MMAP[1:], "mprotect, pkey_mprotect: the protection "
       "of the memory at start before the call (read at entry from its vma; `PROT_NONE` for none); "
       "absent when nothing was mapped there", many=True),
    _f("ebpf.mmap.range_part", "boolean", MMAP[1:], "mprotect, pkey_mprotect over several "
       "memory regions: this document is one region's part of the call's range (`address` "
       "and `length` are the part's; file, `prot_before` and `anonymous` the region's); "
       "without `prot_before`, the rest of a range past its first 8 regions"),
    _f("ebpf.mmap.flags", "keyword", ("mmap",), "mmap: the mapping type and flags "
       "(`MAP_PRIVATE`, `MAP_SHARED`, `MAP_ANONYMOUS`, `MAP_FIXED`, ...)", many=True),
    _f("ebpf.mmap.fd", "long", ("mmap",), "mmap of a file: the fd given"),
    _f("ebpf.mmap.offset", "long", ("mmap",), "mmap of a file: the offset given, in bytes"),
    _f("ebpf.mmap.anonymous", "boolean", MMAP, "anonymous memory (mmap with MAP_ANONYMOUS; "
       "mprotect of memory no file backs): shellcode is staged so, JIT compilers work so"),
    _f("ebpf.mmap.unlinked", "boolean", MMAP, "the mapped file had no link left (nlink 0): a "
       "memfd or a deleted file"),
    _f("ebpf.mmap.memfd", "keyword", MMAP, "a memfd mapped: the name memfd_create gave it "
       "(`file.path` is then absent)"),
    _f("ebpf.mmap.deleted", "boolean", MMAP, "a deleted file mapped (`file.path`: its old "
       "path)"),
    _f("ebpf.module.name", "keyword", KMOD, "delete_module: the name given; init_module, "
       "finit_module: the module's name as the kernel read it from the image (absent when the "
       "load failed before)"),
    _f("ebpf.module.args", "keyword", KMOD_LOAD, "init_module, finit_module: the parameters "
       "string (at most 255 bytes)"),
    _f("ebpf.module.size", "long", ("init_module",), "init_module: the image's length"),
    _f("ebpf.module.fd", "long", ("finit_module",), "finit_module: the fd (its file: "
       "`file.*`)"),
    _f("ebpf.module.flags", "keyword", ("finit_module", "delete_module"), "finit_module: "
       "`MODULE_INIT_*`; delete_module: `O_NONBLOCK`, `O_TRUNC` (forced)", many=True),
    _f("ebpf.cgroup.id", "long", EVENTS, "the process's cgroup v2 id (the inode of its "
       "cgroup directory; `stat -c %i /sys/fs/cgroup/<path>`)"),
    _f("ebpf.cgroup.path", "keyword", EVENTS, "that cgroup's path below the cgroup2 mount "
       "(`0::` line of `/proc/<pid>/cgroup`), named once per id; absent when the cgroup was "
       "gone before it was named, and on hosts without cgroup v2"),
    _f("ebpf.mnt_ns.inode", "long", EVENTS, "the mount namespace's inode (`/proc/<pid>/ns/"
       "mnt`)"),
    _f("ebpf.net_ns.inode", "long", EVENTS, "the network namespace's inode (`/proc/<pid>/ns/"
       "net`)"),
    _f("ebpf.backlog", "long", ("listen",), "listen: the backlog"),
    _f("ebpf.socket.family", "keyword", SOCKETS, "socket events and socket I/O: `AF_INET`, "
       "`AF_INET6`, `AF_UNIX`, ..."),
    _f("ebpf.socket.type", "keyword", SOCKETS, "`SOCK_STREAM`, `SOCK_DGRAM`, ..."),
    _f("ebpf.socket.protocol", "long", SOCKETS, "the protocol number as Linux has it (262 for "
       "MPTCP)"),
    _f("ebpf.socket.inode", "long", SOCKETS, "AF_UNIX sockets: the socket's inode (`ss -x`'s "
       "local inode, `socket:[inode]` in /proc/<pid>/fd); socketpair: the first socket's"),
    _f("ebpf.socket.peer_inode", "long", SOCKETS, "AF_UNIX sockets: the connected peer's inode "
       "(absent while the peer is not accepted yet, or gone); socketpair: the second socket's. "
       "A record of one end has `inode` = the other end's `peer_inode`"),
    _f("ebpf.socket.path", "keyword", NET, "AF_UNIX bind, connect: the path asked for (as "
       "given, relative or not); listen, accept: the socket's bound path; an abstract name as "
       "`@name` (as `ss` shows it)"),
    _f("ebpf.inode.mode", "keyword", ATTR, "fd-based attribute changes (fchmod, fchown, "
       "AT_EMPTY_PATH): the inode's whole mode at the syscall's exit, in octal (`100644`: "
       "type and permissions): the result of a success, the unchanged mode of a failure"),
    _f("ebpf.inode.uid", "keyword", ATTR, "likewise, the inode's owner at exit"),
    _f("ebpf.inode.gid", "keyword", ATTR, "likewise, the inode's group at exit"),
    _f("ebpf.raw_path", "long keyword", OPEN + UNLINK + ATTR + MKNOD + TRUNCATE + ("chdir",),
       "a relative path the kernel could not resolve, as the process gave it; chdir: a "
       "relative path, as given"),
    _f("ebpf.real_path", "keyword", EXEC + OPEN + CHDIR,
       "the file's real path when it differs from `file.path` (exec: from "
       "`process.executable`; none for a script, whose interpreter the kernel holds by then)"
       " (the path as given, made absolute): opens (`creat` too): walked in the kernel from "
       "the opened file's dentry up to the root of the process's mount namespace, so a "
       "symlink on the way (`/bin/x` on a merged-/usr host is `/usr/bin/x`; "
       "`/proc/self/root/etc/shadow` is `/etc/shadow`), `..` and a chroot (its files get "
       "their path in the namespace) show; a bind mount is a place of its own (no "
       "difference); absent when the file has no name there (pipes, anonymous inodes, a "
       "detached mount) or it is longer than 511 bytes. chdir/fchdir: the new working "
       "directory. Reads and writes of the fd carry only `file.path`"),
    _f("ebpf.truncated", "boolean", EXEC + OPEN + RENAME + ATTR + NAMES + MOUNTS + ROOT
       + ("memfd_create",) + MMAP + KMOD + CHDIR, f"a path ({PATH_LEN - 1} bytes; a memfd "
       f"name: 255; module parameters: 255) or argv ({ARGS_LEN // 1024} KiB) was cut, "
       "or an exec's kept environment entry"),
    _f("ebpf.lost.source", "keyword", LOSS, "where events were lost: `ring_buffer`, "
       "`shutdown` or a sink's name"),
    _f("ebpf.lost.count", "long", LOSS, "how many since the last `loss` record"),
    _f("ebpf.lost.by_kind", "object", LOSS, "the same, by record kind (`open`, `rw`, ...)"),
    _f("ebpf.lost.total", "long", LOSS, "how many in all"),
    _f("ebpf.lost.with_room", "long", LOSS, "`ring_buffer` only: of `.count`, the writes that "
       "failed while less than half the ring was pending (the kernel refused them with the ring "
       "not full)"),
    _f("ebpf.lost.without_room", "long", LOSS, "`ring_buffer` only: the rest of `.count` (a "
       "full ring: the reader fell behind)"),
)


def es_properties() -> dict[str, Any]:
    """The `properties` of the index template's mapping, every field of FIELDS in place.

    The same as the hand-written mapping it replaces for every field written, less the fields
    nothing writes (process.working_directory, process.parent.entity_id/name/executable/start,
    event.dataset/module, host.hostname/id), plus explicit types for the fields that were left
    to dynamic mapping (user.effective.*, ebpf.child_tid/clone_flags/thread/exit_signal/
    backlog, ebpf.io.*, ebpf.lost.*, message): the types dynamic mapping gave them, so a new
    index maps alike. `ebpf.lost` stays open to new keys (`by_kind`)."""
    root: dict[str, Any] = {}
    for f in FIELDS:
        *parents, leaf = f.name.split(".")
        node = root
        for part in parents:
            node = node.setdefault(part, {"properties": {}})["properties"]
        node[leaf] = dict(MAPPINGS[f.type])
    # loss records: counts by kind under keys of their own, as before
    root["ebpf"]["properties"]["lost"].update({"type": "object", "dynamic": True})
    return root


_DOC_TYPES = {"keyword+text": "keyword (+ `.text`)", "long keyword": "keyword",
              "date_nanos": "date (ns)", "boolean": "bool"}


_GROUPS = {ALL: "all", EVENTS: "all but loss", tuple(a for a in EVENTS if a != "close"):
           "all but loss, close", EXEC: "exec", FORK: "fork", EXIT: "exit", OPEN: "open",
           IO: "read, write", CLOSE: "close", LOSS: "loss", RENAME: "rename",
           SOCKETS: "socket, net, read, write, close, socketpair, moves, mmsg, io_uring",
           FILES: "open, read, write, unlink, rename, close, pipe, io_uring",
           OPEN + UNLINK + RENAME: "open, unlink, rename",
           OPEN + SOCKET + NET + IO + CLOSE: "open, socket, net, read, write, close",
           OPEN + UNLINK: "open, unlink", EXEC + OPEN + RENAME: "exec, open, rename",
           CHMOD: "chmod", CHOWN: "chown", ATTR: "chmod, chown", LINK: "link",
           FILES + ATTR + NAMES: "open, read, write, unlink, rename, close, chmod, chown, link, "
           "mkdir, mknod, truncate", OPEN + SOCKET + NET + IO + CLOSE + BY_FD: "open, socket, "
           "net, read, write, close, fchmod, fchown, ftruncate", OPEN + UNLINK + RENAME + ATTR
           + LINK: "open, unlink, rename, chmod, chown, linkat", RENAME + LINK: "rename, link",
           LINK + MKNOD: "link, mkdir, mknod", CHMOD + MKNOD: "chmod, mkdir, mknod", ATTR + MKNOD:
           "chmod, chown, mkdir, mknod", MKNOD: "mkdir, mknod", TRUNCATE: "truncate",
           OPEN + UNLINK + ATTR + MKNOD + TRUNCATE: "open, unlink, chmod, chown, mkdir, mknod, "
           "truncate", EXEC + OPEN + RENAME + ATTR + NAMES: "exec, open, rename, chmod, chown, "
           "link, mkdir, mknod, truncate",
           CRED: "set*id, capset", SETID: "set*id", CAPSET: "capset",
           EXEC + CRED: "exec, set*id, capset", EXEC + CAPSET: "exec, capset",
           TARGET: "signals, ptrace, process_vm_*", SIGNALS: "signals",
           PROCESS_VM: "process_vm_*", MOUNTS: "mount, umount2", ROOT: "chroot, pivot_root",
           EXEC + OPEN + RENAME + MOUNTS + ROOT + ("memfd_create",): "exec, open, rename, "
           "mount, umount2, chroot, pivot_root, memfd_create", FILELESS: "memfd_create, "
           "userfaultfd", CHDIR: "chdir, fchdir",
           FILES + ATTR + NAMES + MMAP + ("finit_module",) + CHDIR: "open, read, write, unlink, "
           "rename, close, chmod, chown, link, mkdir, mknod, truncate, mmap, mprotect, "
           "pkey_mprotect, finit_module, chdir",
           MMAP: "mmap, mprotect, pkey_mprotect", KMOD: "init_module, finit_module, delete_module",
           KMOD_LOAD: "init_module, finit_module",
           OPEN + SOCKET + NET + IO + CLOSE + PIPE + SOCKETPAIR + MMSG + URING + BY_FD
           + ("fchdir",): "open, socket, net, read, write, close, pipe, socketpair, mmsg, "
           "io_uring, fchmod, fchown, ftruncate, fchdir",
           OPEN + UNLINK + ATTR + MKNOD + TRUNCATE + ("chdir",): "open, unlink, chmod, chown, "
           "mkdir, mknod, truncate, chdir", EXEC + OPEN + CHDIR: "exec, open, chdir"}
"""How the table names a field's actions; families as docs/schema.md's examples name them
(net: connect, bind, listen, accept; read, write: of files and sockets, send/recv included)."""


def markdown_table() -> str:
    """The field table of docs/schema.md."""
    rows = ["| field | type | written by | meaning |", "|---|---|---|---|"]
    for f in FIELDS:
        kind = _DOC_TYPES.get(f.type, f.type) + ("[]" if f.many else "")
        actions = _GROUPS.get(f.actions) or ", ".join(f.actions)
        rows.append(f"| `{f.name}` | {kind} | {actions} | {f.meaning} |")
    return "\n".join(rows) + "\n"
