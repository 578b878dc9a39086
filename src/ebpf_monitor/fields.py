"""Every field a document can hold, stated once: name, Elasticsearch type, meaning, and which
`event.action`s write it.

The Elasticsearch mapping (`es_properties`) and the field table of docs/schema.md
(`markdown_table`, written by scripts/schema_doc.py) are generated from this list; the unit
tier checks it against the documents the builders make of the golden batch, both ways
(tests/unit/test_fields.py): a field a builder writes is here, a field here is written.
"""

from __future__ import annotations

from typing import Any, NamedTuple

__all__ = ["FIELDS", "Field", "es_properties", "markdown_table"]

EXEC = ("execve", "execveat")
FORK = ("fork", "vfork", "clone", "clone3")
EXIT = ("exit",)
OPEN = ("open", "openat", "openat2", "creat")
READ = ("read", "readv", "pread64", "preadv", "preadv2")
WRITE = ("write", "writev", "pwrite64", "pwritev", "pwritev2")
UNLINK = ("unlink", "unlinkat", "rmdir")
RENAME = ("rename", "renameat", "renameat2")
SOCKET = ("socket",)
NET = ("connect", "bind", "listen", "accept", "accept4")
SEND_RECV = ("sendto", "recvfrom", "sendmsg", "recvmsg")
CLOSE = ("close",)
"""An fd's read/write totals (capture.read_write "first")."""
LOSS = ("loss",)
EVENTS = (EXEC + FORK + EXIT + OPEN + READ + WRITE + UNLINK + RENAME + SOCKET + NET + SEND_RECV
          + CLOSE)
"""Every action of a document about a process's event (all but `loss`)."""
ALL = EVENTS + LOSS
IO = READ + WRITE + SEND_RECV
"""Reads and writes: of a file, or (the same records) of a socket."""
SOCKETS = SOCKET + NET + IO + CLOSE
"""Actions whose document may describe a socket."""
FILES = OPEN + READ + WRITE + UNLINK + RENAME + CLOSE
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
       "`listen`, `accept`, `accept4`, `sendto`, `recvfrom`, `sendmsg`, `recvmsg`), `exit` for "
       "process exit, `close` for an fd's read/write totals (`capture.read_write: \"first\"` "
       "only), `loss` for dropped events"),
    _f("event.category", "keyword", ALL, "`process`, `file`, `network` (`host` for `loss`)",
       many=True),
    _f("event.type", "keyword", ALL, "`start` (exec, process fork), `end` (exit), `info` "
       "(thread creation, socket, bind, listen, socket I/O, `close` totals, `loss`), `access` "
       "(open, read), `change` (write, rename), `deletion` (unlink, rmdir), "
       "`connection`+`start` (connect, accept)", many=True),
    _f("event.outcome", "keyword", ALL, "`success` / `failure` from the return value; "
       "`unknown` for a non-blocking connect (EINPROGRESS); `failure` for `loss`"),
    _f("host.name", "keyword", ALL, "the monitor's host name"),
    _f("message", "keyword", LOSS, "`loss` records: how many events were lost, and where"),
    _f("process.pid", "long", EVENTS, "process id (the kernel's tgid)"),
    _f("process.thread.id", "long", EVENTS, "thread id (the kernel's pid)"),
    _f("process.name", "keyword", EVENTS, "comm, at most 15 bytes"),
    _f("process.executable", "keyword+text", EVENTS, "the exec'd path (absolute; from the exec "
       "event, else `/proc/<pid>/exe`; absent when neither is known)"),
    _f("process.working_directory", "keyword+text", EVENTS, "the working directory at the "
       "process's exec (named in the kernel from its `fs->pwd`), inherited by a forked child; "
       "for a process not seen exec'ing, `/proc/<pid>/cwd` read once. A later chdir is not "
       "followed"),
    _f("process.hash.sha256", "keyword", EXEC + EXIT, "`capture.hash_executables`: sha256 of "
       "the executed file (the inode that runs, from `/proc/<pid>/exe`), computed once per "
       "(device, inode, mtime) by a worker thread: in the exec document when the file was "
       "hashed before, else in the process's exit document; absent when not known by then"),
    _f("process.env_vars", "keyword", EXEC, "exec events only: the environment entries "
       "named in `capture.exec_env_vars` (by default LD_PRELOAD, LD_LIBRARY_PATH, LD_AUDIT, "
       "GLIBC_TUNABLES, the proxy variables, PYTHONPATH), as `NAME=value`, read in the kernel "
       "at exec (at most 1 KiB in all, 511 bytes each; an entry cut or left out sets "
       "`ebpf.truncated`); never the whole environment", many=True),
    _f("process.args", "long keyword", EXEC, "exec events only: argv as passed (up to "
       "`capture.max_args` entries and 4 KiB)", many=True),
    _f("process.args_count", "long", EXEC, "exec events only: entries of `process.args`"),
    _f("process.command_line", "keyword+text", EXEC, "exec events only: `process.args` joined "
       "by spaces"),
    _f("process.start", "date_nanos", EVENTS, "start time of the process"),
    _f("process.entity_id", "keyword", EVENTS, "hash of host, boot id, start time and pid: "
       "unique even when a pid is reused"),
    _f("process.parent.pid", "long", EVENTS, "the parent process id"),
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
    _f("file.path", "keyword+text", FILES, "the file of an open, read, write, unlink or rename "
       "(old path); relative paths are made absolute in the kernel from the cwd or the dir fd. "
       "Reads and writes name the path their fd was opened with (tracked in the kernel from "
       "open/dup to close, checked against the fd's current `struct file` and its inode so a "
       "stale entry is never used); fds opened before the monitor saw them (inherited, pipes) "
       "are named from `/proc/<pid>/fd`, or `pipe:[inode]` / `socket:[inode]` once the process "
       "is gone"),
    _f("file.name", "keyword", FILES, "the last part of `file.path`"),
    _f("file.directory", "keyword+text", FILES, "`file.path` without its last part"),
    _f("file.target_path", "keyword+text", RENAME, "renames: the new path"),
    _f("source.ip", "ip", SOCKETS, "the local end (the peer for accept, which the peer "
       "initiated)"),
    _f("source.port", "long", SOCKETS, "its port"),
    _f("destination.ip", "ip", SOCKETS, "the remote end (the local end for accept)"),
    _f("destination.port", "long", SOCKETS, "its port"),
    _f("network.transport", "keyword", SOCKETS, "`tcp`/`udp`/..."),
    _f("network.type", "keyword", SOCKETS, "`ipv4`/`ipv6`"),
    _f("network.iana_number", "keyword", SOCKETS, "the protocol number"),
    _f("error.code", "keyword", EVENTS, "failures: the errno name (`ENOENT`)"),
    _f("error.message", "keyword+text", EVENTS, "failures: its message "
       "(`No such file or directory`)"),
    _f("ebpf.syscall", "keyword", tuple(a for a in EVENTS if a != "close"),
       "same as `event.action` for syscalls"),
    _f("ebpf.ret", "long", tuple(a for a in EVENTS if a != "close"), "the raw return value"),
    _f("ebpf.fd", "long", OPEN + SOCKET + NET + IO + CLOSE, "the fd used or returned"),
    _f("ebpf.flags", "keyword", OPEN + UNLINK + RENAME, "open flags as names (`O_WRONLY`, "
       "`O_CREAT`, ...); unlinkat/renameat2 flags as a number", many=True),
    _f("ebpf.mode", "long", OPEN, "open mode when O_CREAT is set"),
    _f("ebpf.bytes_requested", "long", IO, "read/write/send/recv: the count asked for (not "
       "given for vectored calls)"),
    _f("ebpf.bytes", "long", IO, "read/write/send/recv: the bytes done"),
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
    _f("ebpf.socket.protocol", "long", SOCKETS, "the protocol number"),
    _f("ebpf.raw_path", "long keyword", OPEN + UNLINK, "a relative path the kernel could not "
       "resolve, as the process gave it"),
    _f("ebpf.truncated", "boolean", EXEC + OPEN + RENAME, "a path (511 bytes) or argv (4 KiB) "
       "was cut, or an exec's kept environment entry"),
    _f("ebpf.lost.source", "keyword", LOSS, "where events were lost: `ring_buffer`, "
       "`shutdown` or a sink's name"),
    _f("ebpf.lost.count", "long", LOSS, "how many since the last `loss` record"),
    _f("ebpf.lost.by_kind", "object", LOSS, "the same, by record kind (`open`, `rw`, ...)"),
    _f("ebpf.lost.total", "long", LOSS, "how many in all"),
    _f("ebpf.lost.with_room", "long", LOSS, "`ring_buffer` only: of `.count`, the writes that "
       "failed while less than half the ring was pending (the ring's lock gave up, not a full "
       "ring)"),
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
           SOCKETS: "socket, net, read, write, close", FILES: "open, read, write, unlink, "
           "rename, close", OPEN + UNLINK + RENAME: "open, unlink, rename",
           OPEN + SOCKET + NET + IO + CLOSE: "open, socket, net, read, write, close",
           OPEN + UNLINK: "open, unlink", EXEC + OPEN + RENAME: "exec, open, rename"}
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
