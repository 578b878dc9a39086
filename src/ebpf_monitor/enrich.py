"""What the kernel record lacks: wall-clock time, names for ids, process identity, full paths.

Every cache here is bounded (oldest entry evicted first) and keyed so that a reused pid or fd can
never pick up a stale answer: processes by (pid, start time), untracked fds by inode.
Bytes from the kernel become text in one place, `text()`: valid UTF-8 as is, any other byte as
a `\\xNN` escape, a backslash doubled, so an odd file name is never lost or guessed at and
`text_bytes()` gives the exact bytes back (docs/schema.md, "Text policy").
"""

from __future__ import annotations

import errno
import grp
import hashlib
import os
import pwd
import re
import socket
import stat
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import orjson

from .abi import enum_values
from .cgroups import CgroupResolver, container_of, container_of_lines

__all__ = ["Enricher", "readlink", "text", "text_bytes"]

_CACHE_MAX = 65536


# Valid UTF-8 that still breaks a line for some reader (C1 controls such as NEL, the Unicode line
# and paragraph separators) or drives a terminal (C1 CSI): escaped by its bytes, like invalid UTF-8.
# C0 controls and DEL need nothing here: JSON escapes C0, and neither breaks a JSON line.
_LINE_BREAKING = re.compile("[\x80-\x9f\u2028\u2029]")
_ESCAPE = re.compile(rb"\\(?:(\\)|x([0-9a-f]{2}))")


def _escape_bytes(m: re.Match[str]) -> str:
    return "".join(f"\\x{b:02x}" for b in m[0].encode())


def text(raw: bytes) -> str:
    """Kernel bytes as text, reversibly: a backslash becomes `\\\\`, a byte that is not valid
    UTF-8 (or belongs to a line-breaking code point) `\\xNN`; everything else is kept."""
    if 92 in raw:  # a backslash (an int test: several times faster than b"\\" in raw)
        raw = raw.replace(b"\\", b"\\\\")
    if raw.isascii():
        return raw.decode()
    s = raw.decode("utf-8", "backslashreplace")
    return _LINE_BREAKING.sub(_escape_bytes, s) if _LINE_BREAKING.search(s) else s


def _unescape(m: re.Match[bytes]) -> bytes:
    return b"\\" if m[1] else bytes((int(m[2], 16),))


def text_bytes(value: str) -> bytes:
    """The exact bytes a `text()` string stands for (the inverse of `text`)."""
    return _ESCAPE.sub(_unescape, value.encode())


def readlink(path: str) -> str:
    """A /proc link's target under the same text policy as the kernel's bytes (`os.readlink`
    would hand back lone surrogates for invalid UTF-8, which no JSON encoder takes)."""
    return text(os.readlink(os.fsencode(path)))


def _boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            return f.read().strip().replace("-", "")
    except OSError:
        return "0" * 32


class _Bounded(OrderedDict[Any, Any]):
    """A dict that forgets its least recently written entry past `limit`.

    An OrderedDict, not a dict: a dict's `next(iter(d))` after many deletions walks the
    deleted slots at the front (O(n) per eviction, ~0.3 µs/event on a mix of many paths);
    `popitem(last=False)` is O(1). A write to a present key moves it to the end, so an entry
    written again (an exec generation, a renewed lookup) is not the next one out."""

    def __init__(self, limit: int = _CACHE_MAX) -> None:
        super().__init__()
        self.limit = limit

    def put(self, key: Any, value: Any) -> Any:
        if key in self:
            self.move_to_end(key)
        elif len(self) >= self.limit:
            self.popitem(last=False)
        self[key] = value
        return value


def _cached_name(cache: _Bounded, key: int, lookup: Callable[[], str]) -> str | None:
    """A user or group name by id; an unknown id is None, and remembered as such too."""
    if key in cache:
        return cache[key]  # type: ignore[no-any-return]
    try:
        name: str | None = lookup()
    except KeyError:
        name = None
    return cache.put(key, name)  # type: ignore[no-any-return]


class Enricher:
    """What the host tells about a record: wall-clock time, names of ids, process identity,
    /proc lookups. The reader's own state (executables seen, fds, document parts) is
    state.ProcessTable's."""

    def __init__(self, *, host_name: str | None = None, proc_lookups: bool = True) -> None:
        # /proc/<pid> by the host pids of events names the right process only when our /proc
        # is the initial PID namespace's; inside a container it may name another one.
        self.proc_lookups = proc_lookups
        self.at_fdcwd = enum_values("abi_const")["ABI_AT_FDCWD"]
        """The dfd of a path relative to the cwd (events.h)."""
        self.host_name = host_name or socket.gethostname()
        self.host = {"name": self.host_name}
        self.host_text = "\"host\":" + orjson.dumps(self.host).decode() + ","
        self.boot_id = _boot_id()
        # The id prefix ties event ids to this boot: ktime restarts at zero on reboot.
        self.id_prefix = hashlib.blake2b(
            f"{self.host_name}/{self.boot_id}".encode(), digest_size=6
        ).hexdigest()
        self.resync_clock()
        self._seconds: dict[str, str] = {}  # Unix seconds (digits) -> date-time
        self._stamps: dict[str, tuple[str, str]] = {}  # Unix seconds -> (date-time, day)
        self._users = _Bounded(4096)
        self._groups = _Bounded(4096)
        self._procs = _Bounded()
        self._comms = _Bounded(8192)
        self._errors: dict[int, dict[str, str]] = {}
        self.cgroups = CgroupResolver()
        self._containers = _Bounded(16384)
        self.context_texts = _Bounded(16384)
        """`ebpf`'s cgroup and namespace text per (cgroup id, mnt ns, net ns), see schema."""

    def cgroup_path(self, pid: int, cgid: int) -> str | None:
        """The cgroup v2 path of a cgroup id (cached per id; None when unknown)."""
        if not self.proc_lookups:
            return None
        return self.cgroups.path(pid, cgid)

    def container(self, pid: int, start_ns: int, cgid: int) -> dict[str, Any] | None:
        """`container` (and `orchestrator`) of a process, from its cgroup v2 path, or on a
        host whose v2 holds no processes (v1, hybrid), from its v1 paths (per process)."""
        path = self.cgroup_path(pid, cgid)
        if path is not None and path != "/":
            return container_of(path)
        if not self.proc_lookups:
            return None
        key = (pid, start_ns)
        if key in self._containers:
            return self._containers[key]  # type: ignore[no-any-return]
        lines = self.cgroups.proc_lines(pid)
        return self._containers.put(  # type: ignore[no-any-return]
            key, container_of_lines(lines) if lines else None)

    def resync_clock(self) -> None:
        """Wall minus monotonic: kernel ktime_ns + offset = Unix ns (redone when NTP steps)."""
        self.offset_ns = time.time_ns() - time.monotonic_ns()

    def timestamp(self, ktime_ns: int) -> str:
        """ISO 8601 UTC with nanoseconds; the date-time part is cached per second.

        Hot path: the decimal digits of the Unix ns are split, not divided (an int divmod and
        a `:09d` format cost twice as much): the last nine are the fraction, zero-padded."""
        ns = ktime_ns + self.offset_ns
        digits = str(ns)
        prefix = self._seconds.get(digits[:-9])
        if prefix is None:
            if ns < 1_000_000_000:  # not a real wall-clock time: no second digits to split off
                return f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(0))}.{ns:09d}Z"
            if len(self._seconds) > 1024:
                self._seconds.clear()
            prefix = time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(ns // 1_000_000_000))
            self._seconds[digits[:-9]] = prefix
        return f"{prefix}{digits[-9:]}Z"

    def stamp(self, ktime_ns: int) -> tuple[str, str]:
        """(`timestamp`, its UTC day as an index name wants it: "YYYY.MM.DD"); the same
        per-second cache, which holds the day beside the date-time."""
        ns = ktime_ns + self.offset_ns
        digits = str(ns)
        found = self._stamps.get(digits[:-9])
        if found is None:
            ts = self.timestamp(ktime_ns)
            day = ts[:10].replace("-", ".")
            if ns < 1_000_000_000:
                return ts, day
            if len(self._stamps) > 1024:
                self._stamps.clear()
            found = self._stamps[digits[:-9]] = (ts[:-10], day)
        return f"{found[0]}{digits[-9:]}Z", found[1]

    def comm(self, raw: bytes) -> str:
        name = self._comms.get(raw)
        if name is None:
            name = self._comms.put(raw, text(raw.split(b"\0", 1)[0]))
        return name  # type: ignore[no-any-return]

    def user_name(self, uid: int) -> str | None:
        return _cached_name(self._users, uid, lambda: pwd.getpwuid(uid).pw_name)

    def group_name(self, gid: int) -> str | None:
        return _cached_name(self._groups, gid, lambda: grp.getgrgid(gid).gr_name)

    def process_ids(self, pid: int, start_ns: int) -> tuple[str, str]:
        """(entity_id, start timestamp): host + boot + start time + pid, never pid alone."""
        key = (pid, start_ns)
        found = self._procs.get(key)
        if found is None:
            entity = hashlib.blake2b(
                f"{self.host_name}/{self.boot_id}/{start_ns}/{pid}".encode(), digest_size=12
            ).hexdigest()
            found = self._procs.put(key, (entity, self.timestamp(start_ns)))
        return found  # type: ignore[no-any-return]

    def executable(self, pid: int, start_ns: int) -> str | None:
        """The binary of a running process from /proc (best effort; the caller caches)."""
        if not self.proc_lookups:
            return None
        try:
            return readlink(f"/proc/{pid}/exe")
        except OSError:
            return None

    def cwd(self, pid: int) -> str | None:
        """The working directory of a running process from /proc (best effort)."""
        if not self.proc_lookups:
            return None
        try:
            return readlink(f"/proc/{pid}/cwd")
        except OSError:
            return None

    def resolve(self, pid: int, dfd: int, path: str) -> str:
        """Absolute form of a relative path, from the process's cwd or dir fd (best effort)."""
        if path.startswith("/") or not path or not self.proc_lookups:
            return path
        link = f"/proc/{pid}/cwd" if dfd == self.at_fdcwd else f"/proc/{pid}/fd/{dfd}"
        try:
            base = readlink(link)
        except OSError:
            return path
        return os.path.normpath(os.path.join(base, path))

    def untracked_fd(self, pid: int, fd: int, dev: int, ino: int, imode: int = 0) -> str | None:
        """Name an fd opened before we saw it (the caller caches by inode). Pipes and sockets
        are named from their inode when the process is already gone."""
        try:
            if not self.proc_lookups:
                raise FileNotFoundError
            return readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            if stat.S_ISFIFO(imode):
                return f"pipe:[{ino}]"
            if stat.S_ISSOCK(imode):
                return f"socket:[{ino}]"
            return None

    def error(self, ret: int) -> dict[str, str]:
        """The `error` object of a failed syscall; shared, like every cached part."""
        found = self._errors.get(ret)
        if found is None:
            code = -ret
            found = {"code": errno.errorcode.get(code, str(code)), "message": os.strerror(code)}
            if len(self._errors) < 4096:
                self._errors[ret] = found
        return found
