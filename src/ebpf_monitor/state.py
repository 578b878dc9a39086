"""The process/fd table: what the records tell about processes and their fds, learnt in ring
order before any document is built, and the caches the documents are made with (the
Enricher keeps its own: ids, names, clock).

Data flows one way: the decoder hands each record to its kind's observer here first (`exec`
notes the new executable and a new generation of the process, `open` of a relative path the
path its fd stands for); the builders then only read what observers wrote (`executable`,
`path_of`, `fd_name`); what they add is kept apart (/proc answers, the actor and `file`
document parts), memoised, never taught. A document is a function of its record and this
context. One resolver names every path (`path_of` for a path argument, `fd_name` for an fd)
and one filter drops the ignored prefixes the kernel could not see (`fd_name`).

Every cache is bounded (oldest first out) and keyed so that a reused pid or fd never picks up a
stale answer: processes by (pid, start time), untracked fds by inode, relative opens by (pid,
start time, fd) and used only for the raw path they were opened with. What the table cannot
tell apart: a later open of the same relative path on the same fd whose record was lost (the
reads then name the earlier open's directory); only a per-open identity carried by the
kernel in read/write records would.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, Final

from .enrich import Enricher, _Bounded, text
from .exehash import ExecHasher

__all__ = ["IGNORED", "Ignored", "ProcessTable"]

class Ignored(Enum):
    """The type of IGNORED: an object no path can be, compared by identity."""

    IGNORED = "ignored"


IGNORED: Final = Ignored.IGNORED
"""`fd_name` of an fd whose path is filtered."""


class ProcessTable:
    """Per-process and per-fd state of the reader, and the document caches."""

    def __init__(self, en: Enricher, *, ignored_prefixes: tuple[str, ...] = ()) -> None:
        self.en = en
        # Paths reach the prefix test as text() (a backslash doubled); the kernel matched the
        # raw bytes. The prefixes get the same escaping, once, so both filter the same paths.
        self.ignored_prefixes = tuple(text(p.encode()) for p in ignored_prefixes)
        self._exes = _Bounded()
        """Executables by process, as exec records named them (observers write)."""
        self._proc_exes = _Bounded()
        """Executables by process, as /proc named them when no exec was seen (builders)."""
        self.exec_gen = _Bounded()
        """Execs seen per process (pid, start time): an exec's ids are its generation's."""
        self.actor_gen = _Bounded()
        """Execs and successful chdirs seen per process (pid, start time): keys the actor
        cache, whose process names the executable and the working directory."""
        self._opened = _Bounded()
        """(raw path, absolute path) of relative opens by (pid, start time, fd)."""
        self._untracked = _Bounded()
        self.hasher: ExecHasher | None = None
        """capture.hash_executables: the sha256 worker (exehash.py), else None."""
        self._exe_keys = _Bounded()
        self._cwds = _Bounded()
        """pid -> (start_ns, or None: a forked child not seen yet; its working directory)."""
        self.actors = _Bounded(16384)
        """Document parts shared by many events (who did it, per thread), see schema."""
        self.files = _Bounded(16384)
        """`file` objects by path: reads and writes name the same few paths over and over."""
        self._exec_creds = _Bounded()

    # ---- observers: the only writers, called in ring order before the record's document ----

    def exec_seen(self, pid: int, start_ns: int, executable: str,
                  cwd: str | None = None) -> None:
        self._exes.put((pid, start_ns), executable)
        if cwd is not None:
            self._cwds.put(pid, (start_ns, cwd))
        # Cached process objects of this pid name the old executable: key a new generation.
        self.exec_gen.put((pid, start_ns), self.exec_gen.get((pid, start_ns), 0) + 1)
        self._new_actor(pid, start_ns)

    def _new_actor(self, pid: int, start_ns: int) -> None:
        self.actor_gen.put((pid, start_ns), self.actor_gen.get((pid, start_ns), 0) + 1)

    def chdir_seen(self, pid: int, start_ns: int, cwd: str) -> None:
        """A successful chdir/fchdir: the process's (every thread's: they share it unless one
        unshared CLONE_FS) working directory from now on."""
        self._cwds.put(pid, (start_ns, cwd))
        self._new_actor(pid, start_ns)

    def exec_hash_request(self, pid: int, start_ns: int, executable: str) -> None:
        """A successful exec: ask for the executed file's sha256 (computed off this thread)."""
        if self.hasher is not None:
            self._exe_keys.put((pid, start_ns), self.hasher.request(
                pid, executable, proc=self.en.proc_lookups))

    def exec_hash(self, pid: int, start_ns: int) -> str | None:
        """The sha256 of the file the process exec'd, when already computed."""
        if self.hasher is None:
            return None
        return self.hasher.known(self._exe_keys.get((pid, start_ns)))

    def forked(self, pid: int, start_ns: int, child_pid: int, ktime_ns: int) -> None:
        """A new process inherits its parent's working directory (until its own exec).

        The clone record is stamped at the parent's syscall exit, so the child may have
        exec'd before it (vfork): an entry of the child itself (started after the parent, by
        the clone's time) is kept."""
        mine = self._cwds.get(child_pid)
        if mine is not None and mine[0] is not None and start_ns < mine[0] <= ktime_ns:
            return
        found = self.working_directory(pid, start_ns, lookup=False)
        if found is not None:
            self._cwds.put(child_pid, (None, found))

    def opened(self, pid: int, start_ns: int, fd: int, raw: str, resolved: str) -> None:
        """An open of a relative path: its fd's later reads/writes carry the raw path."""
        self._opened.put((pid, start_ns, fd), (raw, resolved))

    def exec_creds_seen(self, pid: int, start_ns: int, creds: Any) -> None:
        """The ids a successful exec left (the record sent just before its exec record)."""
        self._exec_creds.put((pid, start_ns), (self.exec_gen.get((pid, start_ns), 0), creds))

    # ---- readers ----

    def exec_creds(self, pid: int, start_ns: int) -> Any:
        """The ids of the exec now being built (exec_seen has counted it), or None: noted for
        this generation only, so an exec whose ids record was lost never gets an older one's."""
        found = self._exec_creds.get((pid, start_ns))
        if found is None or found[0] != self.exec_gen.get((pid, start_ns), 0) - 1:
            return None
        return found[1]

    def executable(self, pid: int, start_ns: int) -> str | None:
        """The binary of a process seen exec'ing, else read once from /proc (best effort)."""
        key = (pid, start_ns)
        if key in self._exes:
            return self._exes[key]  # type: ignore[no-any-return]
        if key in self._proc_exes:
            return self._proc_exes[key]  # type: ignore[no-any-return]
        return self._proc_exes.put(  # type: ignore[no-any-return]
            key, self.en.executable(pid, start_ns))

    def working_directory(self, pid: int, start_ns: int, *, lookup: bool = True) -> str | None:
        """The cwd of a process at its exec (the kernel names it) or its last chdir/fchdir,
        inherited at fork, else read once from /proc (best effort)."""
        found = self._cwds.get(pid)
        if found is not None:
            if found[0] == start_ns:
                return found[1]  # type: ignore[no-any-return]
            if found[0] is None:  # the fork's child, first seen now
                self._cwds.put(pid, (start_ns, found[1]))
                return found[1]  # type: ignore[no-any-return]
        if not lookup:
            return None
        return self._cwds.put(pid, (start_ns, self.en.cwd(pid)))[1]  # type: ignore[no-any-return]

    def path_of(self, pid: int, dfd: int, raw: str) -> str:
        """A path argument made absolute (the kernel did most already): the cwd or dir fd."""
        return raw if raw[:1] == "/" else self.en.resolve(pid, dfd, raw)

    def opened_path(self, pid: int, start_ns: int, fd: int, raw: str) -> str:
        """The absolute path of an fd opened with the relative `raw` (as `opened` noted);
        `raw` itself when the open noted for this process's fd was of another path or none
        was seen."""
        found = self._opened.get((pid, start_ns, fd))
        return found[1] if found is not None and found[0] == raw else raw

    def fd_name(self, pid: int, start_ns: int, fd: int, file_path: bytes | None, dev: int,
                ino: int, imode: int) -> str | Ignored | None:
        """What names an fd in a read/write or totals record: the path it was opened with
        (`file_path`, as the kernel tracked it), or, for an fd opened before we saw it, its
        /proc (or pipe:/socket:) name; None when nothing names it; IGNORED when that name is
        filtered (the kernel could not filter what it could not name)."""
        if file_path is not None:
            # = text(raw_b), its common case inlined (hot path)
            raw = (file_path.decode() if file_path.isascii() and 92 not in file_path
                   else text(file_path))
            return raw if raw[:1] == "/" else self.opened_path(pid, start_ns, fd, raw)
        key = (pid, fd, dev, ino)
        if key in self._untracked:
            path: str | None = self._untracked[key]
        else:
            path = self._untracked.put(key, self.en.untracked_fd(pid, fd, dev, ino, imode))
        if path is not None and path.startswith(self.ignored_prefixes):
            return IGNORED
        return path

    def cached(self) -> dict[str, Any]:
        """Sizes of the caches (for a look from a debugger or a test)."""
        return {"executables": len(self._exes), "proc_executables": len(self._proc_exes),
                "exec_gen": len(self.exec_gen), "actor_gen": len(self.actor_gen),
                "opened": len(self._opened), "untracked": len(self._untracked),
                "cwds": len(self._cwds),
                "actors": len(self.actors), "files": len(self.files),
                "exec_creds": len(self._exec_creds)}
