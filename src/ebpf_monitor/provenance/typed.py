"""The index's fast reader: a chunk of lines decoded by msgspec into typed structs, fed to the
Extractor's rules without dict lookups.

Per-line `orjson.loads` into dicts plus the Extractor's `.get()` chains were most of the
index's time. Here one C call (`Decoder.decode_lines`) turns a whole chunk into structs that
hold only the fields extract.Extractor reads, in the types the monitor writes them; the
structs are not tracked by the garbage collector (they hold no cycles), which is what keeps a
chunk's worth of them cheap.

Exactness: a typed field accepts only what the Extractor would treat the same way (an
integer field refuses floats and bools, a string field numbers; `null` only where the
Extractor treats it as absent). A chunk with any line the schema refuses (or that is not
valid UTF-8, which msgspec does not check in fields it skips) is read line by line: each
line through the structs when it can be, else through orjson and `Extractor.feed`, so a
malformed line stays a counted skip and an odd one gets the Extractor's own answer.
`TypedExtractor._feed_doc` mirrors `Extractor._feed` statement by statement (the same
order, so an exception leaves the same partial effect); tests/unit/test_provenance_sqlindex.py
compares the index this builds with the Extractor route's on odd and malformed files.

Known difference: a number beyond the float range (`1e400`) in a field the index does not
read is accepted here and refused by orjson (the monitor writes no such number).
"""

from __future__ import annotations

from typing import Any

import msgspec
import orjson
from msgspec import UNSET, Raw, Struct, UnsetType, field

from .extract import (
    ACCEPTS,
    CHANGES,
    CREDS,
    EXECS,
    FORKS,
    LINKS,
    MMSGS,
    MOVES,
    OPENS,
    PIPES,
    READS,
    RELEVANT,
    RENAMES,
    SYMLINKS,
    TARGETS,
    UNLINKS,
    WRITES,
    Extractor,
    ProcInfo,
    cred_entry,
    endpoint_id,
    file_id,
    file_node,
    listen_id,
    parse_time_ns,
    process_id,
    secure_exec,
    socket_nodes,
    symlink_target,
    target_edge,
    unix_path_node,
)

__all__ = ["TypedExtractor", "decode_chunk"]


_NONE = Raw()  # an absent field kept raw


def _json(raw: Raw) -> Any:
    """A field kept raw, decoded as the Extractor's document holds it (absent: None)."""
    return orjson.loads(memoryview(raw)) if raw else None


class _Event(Struct, gc=False):
    action: str | None = None
    outcome: str | None = None
    category: list[str] | None = None


class _Parent(Struct, gc=False):
    pid: int | None = None


class _Process(Struct, gc=False):
    entity_id: str | None = None
    pid: int | None = None
    parent: _Parent | None = None
    start: str | None = None
    name: str | None = None
    executable: str | None = None
    args: list[str] | None = None
    exit_code: int | None = None
    # Exec and credential documents only, kept undecoded until a credential change reads
    # them (`_json`, as the Extractor sees them): most documents never need them.
    user: Raw = _NONE
    real_user: Raw = _NONE
    saved_user: Raw = _NONE
    group: Raw = _NONE
    real_group: Raw = _NONE
    saved_group: Raw = _NONE


class _Host(Struct, gc=False):
    name: str | None = None


class _Effective(Struct, gc=False):
    id: str | None = None
    name: str | None = None


class _User(Struct, gc=False):
    id: str | None = None
    name: str | None = None
    effective: _Effective | None = None


class _Io(Struct, gc=False):
    reads: int | None = None
    bytes_read: int | None = None
    writes: int | None = None
    bytes_written: int | None = None


class _End(Struct, gc=False):
    path: str | None = None


class _Socket(Struct, gc=False):
    inode: int | None = None
    peer_inode: int | None = None
    path: str | None = None


class _Exec(Struct, gc=False):
    file_path: str | None = None


class _Memfd(Struct, gc=False):
    name: str | None = None


class _Ptrace(Struct, gc=False):
    request: str | int | None = None


class _Vm(Struct, gc=False):
    bytes: int | None = None


class _TargetProcess(Struct, gc=False):
    pid: int | None = None


class _Target(Struct, gc=False):
    process: _TargetProcess | None = None


class _Ebpf(Struct, gc=False):
    child_pid: int | None = None
    thread: bool | None = None
    pid_ns: Any = UNSET  # only its presence counts ("pid_ns" in ebpf), null included
    flags: list[str] | int | None = None  # unlinkat's flags are a number
    bytes: int | None = None
    fd: int | UnsetType = UNSET  # absent: -1; null: the Extractor's TypeError (refused here)
    io: _Io | None = None
    io_uring: Raw = _NONE  # only its truth counts (ebpf.get("io_uring")), null included
    socket: _Socket | None = None
    from_: _End | None = field(default=None, name="from")
    to: _End | None = None
    exec: _Exec | None = None
    memfd: _Memfd | None = None
    cred: Raw = _NONE
    cap: Raw = _NONE
    secure_exec: Raw = _NONE
    ptrace: _Ptrace | None = None
    process_vm: _Vm | None = None


class _File(Struct, gc=False):
    path: str | None = None
    target_path: str | None = None


class _Address(Struct, gc=False):
    ip: str | None = None
    port: int | None = None


class _Doc(Struct, gc=False):
    timestamp: str = field(name="@timestamp")
    event: _Event
    process: _Process | None = None
    host: _Host | None = None
    user: _User | None = None
    ebpf: _Ebpf | None = None
    file: _File | None = None
    destination: _Address | None = None
    source: _Address | None = None
    target: _Target | None = field(default=None, name="Target")


_DECODER = msgspec.json.Decoder(_Doc)
_NO_EBPF = _Ebpf()
_NO_IO = _Io()
_NO_FILE = _File()
_NO_ADDRESS = _Address()
_NO_SOCKET = _Socket()
_NO_END = _End()
_PLAIN_OPENS = OPENS - {"creat"}  # a flow only with O_CREAT
_REFUSED = (msgspec.DecodeError, RecursionError)  # ValidationError is a DecodeError


def _utf8(data: bytes) -> bool:
    if data.isascii():
        return True
    try:
        data.decode()
    except UnicodeDecodeError:
        return False
    return True


def _user(doc: _Doc) -> str:
    user = doc.user
    if user is None:
        return ""
    name = user.name
    uid = user.id
    eff = user.effective
    text = name if name else (f"uid {uid}" if uid is not None else "")
    if eff is not None and eff.id is not None:
        text += f" (euid {eff.name or eff.id})"
    return text


def decode_chunk(data: bytes) -> list[_Doc] | None:
    """Every line of a chunk in one call, or None when some line needs the line-by-line way
    (not UTF-8, or refused by the schema). It reads no extractor state, so the index's
    workers decode a chunk while the previous one is still going through the rules."""
    if _utf8(data):
        try:
            return _DECODER.decode_lines(data)
        except _REFUSED:
            pass
    return None


class TypedExtractor(Extractor):
    """An Extractor that also takes raw chunks of JSON lines (`feed_lines`)."""

    whole = False  # the last feed_lines decoded its chunk in one call (not line by line)

    def feed_lines(self, data: bytes) -> None:
        """Every line of `data` (lines split by \\n; blank ones ignored, as the index always
        did), in order."""
        self.feed_decoded(data, decode_chunk(data))

    def feed_decoded(self, data: bytes, docs: list[_Doc] | None) -> None:
        """`feed_lines` with the chunk already through `decode_chunk`."""
        if docs is not None:
            self._feed_many(docs)
            self.whole = True
            return
        self.whole = False
        for line in data.split(b"\n"):
            if not line.strip():
                continue
            if _utf8(line):
                try:
                    doc = _DECODER.decode(line)
                except _REFUSED:
                    pass
                else:
                    self._feed_typed(doc)
                    continue
            try:
                parsed = orjson.loads(line)
            except orjson.JSONDecodeError:
                self.skipped += 1
                continue
            self.feed(parsed)

    def _feed_many(self, docs: list[_Doc]) -> None:
        """`_feed_typed` for each, with a short way for the documents that carry no flow
        (most are plain opens) of a process already seen in this chunk: they only count, as
        in `Extractor._feed` (the timestamp is still parsed: a bad one is a skip)."""
        procs = self.procs
        feed = self._feed_doc
        errors = (KeyError, TypeError, ValueError, AttributeError, IndexError)
        counted = latest = 0  # the short way's documents, added once at the end
        for doc in docs:
            try:
                proc = doc.process
                event = doc.event
                action = event.action
                if proc is not None and proc.entity_id:
                    info = procs.get(proc.entity_id)
                    if info is None or (not info.executable and proc.executable):
                        feed(doc)  # a new process, or the first naming its executable
                        continue
                    if action in RELEVANT:
                        if action not in _PLAIN_OPENS:
                            feed(doc)
                            continue
                        ebpf = doc.ebpf or _NO_EBPF
                        flags = ebpf.flags
                        if event.outcome == "success" and (doc.file or _NO_FILE).path and (
                                isinstance(flags, int) or (flags and "O_CREAT" in flags)):
                            feed(doc)  # a create (or the TypeError of numeric flags)
                            continue
                ts = parse_time_ns(doc.timestamp)
                counted += 1
                if ts > latest:
                    latest = ts
            except errors:
                self.skipped += 1
        self.documents += counted
        if latest > self.max_ns:
            self.max_ns = latest

    def _feed_typed(self, doc: _Doc) -> None:
        try:
            self._feed_doc(doc)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError):
            self.skipped += 1

    def _proc_typed(self, doc: _Doc, ts: int) -> ProcInfo | None:
        proc = doc.process
        if proc is None:
            return None
        entity = proc.entity_id
        if not entity:
            return None
        info = self.procs.get(entity)
        if info is None:
            start = proc.start
            host = doc.host
            parent = proc.parent
            info = ProcInfo(
                entity=entity, host=(host.name or "") if host is not None else "",
                pid=proc.pid or 0, ppid=(parent.pid or 0) if parent is not None else 0,
                start_ns=parse_time_ns(start) if start is not None else ts, first_ns=ts,
                name=proc.name or "", executable=proc.executable or "", user=_user(doc))
            self.procs[entity] = info
        elif not info.executable and proc.executable:
            info.executable = proc.executable
        return info

    def _feed_doc(self, doc: _Doc) -> None:
        """extract.Extractor._feed on a struct: keep the two in step."""
        event = doc.event
        action = event.action
        ts = parse_time_ns(doc.timestamp)
        self.documents += 1
        if ts > self.max_ns:
            self.max_ns = ts
        info = self._proc_typed(doc, ts)
        if info is None or action not in RELEVANT:
            return
        me = process_id(info.entity)
        outcome = event.outcome
        ebpf = doc.ebpf or _NO_EBPF
        if action in READS or action in WRITES:
            self._io_typed(doc, info, me, action in READS, ts, ebpf,
                           not ebpf.io_uring or not _json(ebpf.io_uring))
        elif action == "close":
            self._close_typed(doc, info, me, ts, ebpf)
        elif action in EXECS:
            if outcome != "success":
                return
            proc = doc.process
            assert proc is not None  # info came from it
            exe = proc.executable or ""
            info.executable = exe or info.executable
            info.name = proc.name or info.name
            info.user = _user(doc) or info.user
            info.execs.append({"time_ns": ts, "executable": exe,
                               "args": list(proc.args or []), "user": _user(doc)})
            if ebpf.secure_exec and _json(ebpf.secure_exec) is True:
                user = doc.user
                info.creds.append(secure_exec(ts, None if user is None else {
                    "name": user.name, "id": user.id}, _json(proc.user)))
            ran = ebpf.exec.file_path if ebpf.exec is not None else None
            if ran:
                self.flows.append((file_node(ran), me, "exec", ts, 1, 0))
            elif exe:
                self.flows.append((file_id(exe), me, "exec", ts, 1, 0))
        elif action in FORKS:
            child = ebpf.child_pid
            if child and not ebpf.thread and ebpf.pid_ns is UNSET:
                self.forks.append((info.entity, info.host, child, ts))
        elif action == "exit":
            self.pending.pop(info.entity, None)
            info.end_ns = ts
            proc = doc.process
            assert proc is not None
            info.exit_code = proc.exit_code
        elif action in OPENS:
            flags = ebpf.flags or []
            path = (doc.file or _NO_FILE).path
            if outcome == "success" and path and (action == "creat" or "O_CREAT" in flags):  # type: ignore[operator]
                self.flows.append((me, file_id(path), "create", ts, 1, 0))
        elif action in RENAMES:
            f = doc.file or _NO_FILE
            if outcome == "success" and f.path and f.target_path:
                self.flows.append((file_id(f.path), file_id(f.target_path), "rename", ts, 1, 0))
        elif action in UNLINKS:
            path = (doc.file or _NO_FILE).path
            if outcome == "success" and path:
                self.flows.append((me, file_id(path), "unlink", ts, 1, 0))
        elif action == "connect":
            dst = doc.destination or _NO_ADDRESS
            if outcome in ("success", "unknown") and dst.ip:
                self.flows.append((me, endpoint_id(dst.ip, dst.port), "connect", ts, 1, 0))
            elif outcome == "success":
                node = unix_path_node((ebpf.socket or _NO_SOCKET).path)
                if node is not None:
                    self.flows.append((me, node, "connect", ts, 1, 0))
        elif action in ACCEPTS:
            local = doc.destination or _NO_ADDRESS  # accept: destination is the local end
            if outcome == "success" and local.port:
                self.listening.add((info.host, local.port))
                self.flows.append((listen_id(local.port), me, "accept", ts, 1, 0))
            elif outcome == "success":
                node = unix_path_node((ebpf.socket or _NO_SOCKET).path)
                if node is not None:
                    self.flows.append((node, me, "accept", ts, 1, 0))
        elif action == "listen":
            port = (doc.source or _NO_ADDRESS).port
            if outcome == "success" and port:
                self.listening.add((info.host, port))
        elif action in CREDS:
            proc = doc.process
            assert proc is not None
            info.creds.append(cred_entry(action, outcome, ts, _json(ebpf.cred), _json(ebpf.cap), (
                _json(proc.real_user), _json(proc.user), _json(proc.saved_user),
                _json(proc.real_group), _json(proc.group), _json(proc.saved_group))))
        elif outcome != "success":
            return
        elif action in MOVES:
            self._move_typed(doc, info, me, ts, ebpf)
        elif action in MMSGS:
            self._io_typed(doc, info, me, action == "recvmmsg", ts, ebpf, False)
        elif action in CHANGES:
            path = (doc.file or _NO_FILE).path
            if path:
                self.flows.append((me, file_node(path), CHANGES[action], ts, 1, 0))
        elif action in PIPES:
            path = (doc.file or _NO_FILE).path
            if path:
                self.flows.append((me, file_node(path), "create", ts, 1, 0))
        elif action == "socketpair":
            sock = ebpf.socket or _NO_SOCKET
            for inode in (sock.inode, sock.peer_inode):
                if inode:
                    self.flows.append((me, f"file:socket:[{inode}]", "create", ts, 1, 0))
        elif action in LINKS or action in SYMLINKS:
            f = doc.file or _NO_FILE
            path, target = f.path, f.target_path
            if path and target:
                if action in LINKS:
                    self.flows.append((file_node(target), file_node(path), "link", ts, 1, 0))
                else:
                    self.flows.append((file_id(symlink_target(path, target)), file_id(path),
                                       "symlink", ts, 1, 0))
        elif action == "memfd_create":
            name = ebpf.memfd.name if ebpf.memfd is not None else None
            if name is not None:
                self.flows.append((me, "file:memfd:" + name, "create", ts, 1, 0))
        elif action in TARGETS:
            aim = doc.target.process if doc.target is not None else None
            pid = aim.pid if aim is not None else None
            if pid and (action == "pidfd_send_signal" or ebpf.pid_ns is UNSET):
                edge, nbytes, into = target_edge(
                    action, ebpf.ptrace.request if ebpf.ptrace is not None else None,
                    ebpf.process_vm.bytes if ebpf.process_vm is not None else None)
                self.targets.append((info.entity, info.host, pid, ts, edge, nbytes, into))

    def _sockets_typed(self, doc: _Doc, info: ProcInfo, read: bool) -> list[str]:
        sock = (doc.ebpf or _NO_EBPF).socket or _NO_SOCKET
        inode = sock.inode
        if inode:
            return socket_nodes(inode, sock.peer_inode or None, read)
        local = doc.source or _NO_ADDRESS
        remote = doc.destination or _NO_ADDRESS
        lport = local.port
        if lport and (info.host, lport) in self.listening:
            return [listen_id(lport)]
        if remote.ip:
            return [endpoint_id(remote.ip, remote.port)]
        return []

    def _objects_typed(self, doc: _Doc, info: ProcInfo, read: bool) -> tuple[list[str], bool]:
        if "network" in (doc.event.category or ()):
            return self._sockets_typed(doc, info, read), True
        path = (doc.file or _NO_FILE).path
        return ([file_node(path)] if path else []), False

    def _io_typed(self, doc: _Doc, info: ProcInfo, me: str, read: bool, ts: int,
                  ebpf: _Ebpf, counted: bool) -> None:
        objs, sock = self._objects_typed(doc, info, read)
        if not objs:
            return
        nbytes = ebpf.bytes or 0
        fd = ebpf.fd if not isinstance(ebpf.fd, UnsetType) else -1
        for obj in objs:
            if counted:
                key = (fd, obj, "r" if read else "w")
                mine = self.pending.get(info.entity)
                if mine is None:
                    mine = self.pending[info.entity] = {}
                seen = mine.get(key)
                if seen is None:
                    mine[key] = [1, nbytes]
                else:
                    seen[0] += 1
                    seen[1] += nbytes
            self._emit(me, obj, read, sock, ts, 1, nbytes)

    def _close_typed(self, doc: _Doc, info: ProcInfo, me: str, ts: int, ebpf: _Ebpf) -> None:
        io = ebpf.io or _NO_IO
        fd = ebpf.fd if not isinstance(ebpf.fd, UnsetType) else -1
        for read, calls, total in ((True, io.reads, io.bytes_read),
                                   (False, io.writes, io.bytes_written)):
            objs, sock = self._objects_typed(doc, info, read)
            if not objs:
                continue
            for obj in objs:
                mine = self.pending.get(info.entity) or {}
                seen = mine.pop((fd, obj, "r" if read else "w"), [0, 0])
                count = max((calls or 0) - seen[0], 0)
                nbytes = max((total or 0) - seen[1], 0)
                if count or nbytes:
                    self._emit(me, obj, read, sock, ts, count, nbytes)

    def _move_typed(self, doc: _Doc, info: ProcInfo, me: str, ts: int, ebpf: _Ebpf) -> None:
        src = (ebpf.from_ or _NO_END).path
        dst = (ebpf.to or _NO_END).path
        nbytes = ebpf.bytes or 0
        froms = [file_node(src)] if src else (self._sockets_typed(doc, info, True) if dst else [])
        tos = [file_node(dst)] if dst else (self._sockets_typed(doc, info, False) if src else [])
        for obj in froms:
            self.flows.append((obj, me, "move", ts, 1, nbytes))
        for obj in tos:
            self.flows.append((me, obj, "move", ts + 1, 1, nbytes))
