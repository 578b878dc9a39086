"""The record layouts of bpf/events.h, read from BTF: no hand-kept mirror of the C structs.

`abi.bpf.c`, linked into monitor.bpf.o, keeps every events.h type in the object's BTF: the
layouts Python decodes with are those of the very object it loads. Each
record struct becomes a `struct.Struct` over its fixed fields plus the offset of its variable
tail (`data` or `path`); nested structs are flattened with a `_` (h_pid, sock_lport, ...).

`describe` writes those layouts and enumerators out as plain data; `recorded` decodes with such
a description instead: the unit tests run on a clone without a BPF build from a committed one
(tests/unit/abi.json, checked against the built object by the kernel tier).
"""

from __future__ import annotations

import ctypes
import struct
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from . import _libbpf as bpf
from .errors import BpfLoadError

__all__ = ["Btf", "Layout", "constants", "describe", "enum_values", "layout", "monitor_object",
           "python_name", "recorded", "rw_actions", "selfpid_object"]

_INT_FORMATS = {(1, False): "B", (1, True): "b", (2, False): "H", (2, True): "h",
                (4, False): "I", (4, True): "i", (8, False): "Q", (8, True): "q"}
_TAIL_FIELDS = ("data", "path")
_Struct = struct.Struct


def _package_file(name: str) -> Path:
    return Path(str(resources.files("ebpf_monitor") / "bpf" / name))


def monitor_object() -> Path:
    """The compiled programs shipped in the package."""
    return _package_file("monitor.bpf.o")


def selfpid_object() -> Path:
    """The one-shot task iterator that finds the monitor's host pid (selfpid.py)."""
    return _package_file("selfpid.bpf.o")


@dataclass(frozen=True)
class Member:
    name: str
    type_id: int
    offset: int  # bytes


class Btf:
    """Just enough of a BTF reader for structs, ints, arrays, enums and data sections."""

    def __init__(self, handle: int, *, owned: bool) -> None:
        self._h = handle
        self._owned = owned

    @classmethod
    def parse(cls, path: Path) -> Btf:
        handle = bpf.lib.btf__parse(str(path).encode(), None)
        if not handle or bpf.lib.libbpf_get_error(handle):
            raise BpfLoadError(f"{path}: cannot read BTF (rebuild with `make bpf`)")
        return cls(handle, owned=True)

    def close(self) -> None:
        if self._owned and self._h:
            bpf.lib.btf__free(self._h)
            self._h = 0

    def _words(self, type_id: int, count: int) -> list[int]:
        ptr = bpf.lib.btf__type_by_id(self._h, type_id)
        if not ptr:
            raise BpfLoadError(f"BTF type {type_id} not found")
        return list(ctypes.cast(ptr, ctypes.POINTER(ctypes.c_uint32))[:count])

    def name(self, offset: int) -> str:
        raw = bpf.lib.btf__name_by_offset(self._h, offset)
        return raw.decode() if raw else ""

    def kind(self, type_id: int) -> int:
        return (self._words(type_id, 2)[1] >> 24) & 0x1F

    def vlen(self, type_id: int) -> int:
        return self._words(type_id, 2)[1] & 0xFFFF

    def find(self, name: str, kind: int) -> int:
        type_id = bpf.lib.btf__find_by_name_kind(self._h, name.encode(), kind)
        if type_id < 0:
            raise BpfLoadError(f"BTF has no {name!r} (kind {kind}): rebuild with `make bpf`")
        return int(type_id)

    def has(self, name: str, kind: int) -> bool:
        return int(bpf.lib.btf__find_by_name_kind(self._h, name.encode(), kind)) > 0

    def size(self, type_id: int) -> int:
        return int(bpf.lib.btf__resolve_size(self._h, type_id))

    def resolve(self, type_id: int) -> int:
        """Skip typedefs and qualifiers."""
        while self.kind(type_id) in (bpf.BTF_KIND_TYPEDEF, bpf.BTF_KIND_VOLATILE,
                                     bpf.BTF_KIND_CONST):
            type_id = self._words(type_id, 3)[2]
        return type_id

    def members(self, type_id: int) -> list[Member]:
        n = self.vlen(type_id)
        words = self._words(type_id, 3 + 3 * n)
        out = []
        for i in range(n):
            name_off, mtype, moff = words[3 + 3 * i: 6 + 3 * i]
            if moff % 8:
                raise BpfLoadError("bit fields are not part of the ABI")
            out.append(Member(self.name(name_off), mtype, moff // 8))
        return out

    def int_signed(self, type_id: int) -> bool:
        return bool((self._words(type_id, 4)[3] >> 24) & 1)

    def array(self, type_id: int) -> tuple[int, int]:
        """(element type, element count)."""
        words = self._words(type_id, 6)
        return words[3], words[5]

    def enum(self, type_id: int) -> dict[str, int]:
        n = self.vlen(type_id)
        words = self._words(type_id, 3 + 2 * n)
        values = {}
        for i in range(n):
            name_off, val = words[3 + 2 * i], words[4 + 2 * i]
            values[self.name(name_off)] = ctypes.c_int32(val).value
        return values

    def datasec(self, name: str) -> dict[str, tuple[int, int]]:
        """Variables of a data section: name -> (offset, size)."""
        sec = self.find(name, bpf.BTF_KIND_DATASEC)
        n = self.vlen(sec)
        words = self._words(sec, 3 + 3 * n)
        out = {}
        for i in range(n):
            var, off, size = words[3 + 3 * i: 6 + 3 * i]
            out[self.name(self._words(var, 1)[0])] = (off, size)
        return out


@dataclass(frozen=True)
class Layout:
    """One record kind: its fixed part as a Struct and where its variable tail starts."""

    name: str
    fields: tuple[str, ...]
    struct: struct.Struct
    tail_offset: int  # == struct.size when the record has no tail
    size: int
    offsets: tuple[int, ...] = ()  # of each of `fields`
    codes: tuple[str, ...] = ()  # struct format code of each of `fields`

    def reader(self, field: str) -> _Struct:
        """A Struct that reads only `field` at its offset within the record (e.g. the header's
        kind), for `unpack_from(data, record_offset)`."""
        i = self.fields.index(field)
        return _Struct(f"<{self.offsets[i]}x{self.codes[i]}")


# One fixed field: (offset, C path such as "h.pid", struct format code or "pad", size).
_Item = tuple[int, str, str, int]


def _flatten(btf: Btf, type_id: int, base: int, prefix: str, out: list[_Item]) -> None:
    for m in btf.members(type_id):
        tid = btf.resolve(m.type_id)
        kind = btf.kind(tid)
        path = f"{prefix}{m.name}"
        off = base + m.offset
        if m.name.startswith("_"):
            out.append((off, path, "pad", btf.size(tid)))  # explicit padding, never read
        elif kind == bpf.BTF_KIND_STRUCT:
            _flatten(btf, tid, off, f"{path}.", out)
        elif kind == bpf.BTF_KIND_INT or kind == bpf.BTF_KIND_ENUM:
            size = btf.size(tid)
            signed = kind == bpf.BTF_KIND_INT and btf.int_signed(tid)
            out.append((off, path, _INT_FORMATS[(size, signed)], size))
        elif kind == bpf.BTF_KIND_ARRAY:
            size = btf.size(tid)
            out.append((off, path, f"{size}s", size))  # comm, addresses, paths: bytes
        else:
            raise BpfLoadError(f"unsupported BTF kind {kind} for {path}")


def _btf_items(btf: Btf, name: str) -> tuple[list[_Item], int]:
    sid = btf.find(name, bpf.BTF_KIND_STRUCT)
    items: list[_Item] = []
    _flatten(btf, sid, 0, "", items)
    return items, btf.size(sid)


def _layout(name: str, items: list[_Item], total: int) -> Layout:
    items = list(items)
    tail = total
    if items and items[-1][1] in _TAIL_FIELDS:
        tail = items.pop()[0]
    fmt = ["<"]
    names = []
    offsets = []
    codes = []
    pos = 0
    for off, path, code, size in items:
        if off > pos:
            fmt.append(f"{off - pos}x")
        if code == "pad":
            fmt.append(f"{size}x")
        else:
            fmt.append(code)
            names.append(path.replace(".", "_"))
            offsets.append(off)
            codes.append(code)
        pos = off + size
    if tail > pos:
        fmt.append(f"{tail - pos}x")
    st = struct.Struct("".join(fmt))
    if st.size != tail:
        raise BpfLoadError(f"{name}: layout from BTF is {st.size} bytes, expected {tail}")
    return Layout(name, tuple(names), st, tail, total, tuple(offsets), tuple(codes))


def python_name(field: str) -> str:
    """A record field's attribute name in records.py: the layout's name, `_` added where a
    tuple method holds it (rw_event's `count` is `count_`)."""
    return f"{field}_" if field in ("count", "index") else field


@cache
def _abi_btf() -> Btf:
    return Btf.parse(monitor_object())


_recorded: dict[str, Any] | None = None


@cache
def layout(name: str) -> Layout:
    """Layout of an events.h struct, e.g. layout("open_event")."""
    if _recorded is not None:
        rec = _recorded["structs"][name]
        return _layout(name, [tuple(m) for m in rec["members"]], rec["size"])
    return _layout(name, *_btf_items(_abi_btf(), name))


class Enumerators(dict[str, int]):
    """An enum's names and values; a name the object lacks is a stale build, said in one line
    (not a KeyError from deep in start-up)."""

    def __init__(self, enum: str, values: dict[str, int]) -> None:
        super().__init__(values)
        self.enum = enum

    def __missing__(self, key: str) -> int:
        raise BpfLoadError(f"BTF enum {self.enum!r} has no {key}: the BPF object is older than "
                           "the Python code, rebuild with `make bpf`")


@cache
def enum_values(name: str) -> Enumerators:
    """Enumerators of an events.h enum, e.g. enum_values("event_action")."""
    if _recorded is not None:
        return Enumerators(name, _recorded["enums"][name])
    btf = _abi_btf()
    return Enumerators(name, btf.enum(btf.find(name, bpf.BTF_KIND_ENUM)))


def rw_actions() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(reads, writes): events.h's read/write classes (RW_READ_ACTIONS, RW_WRITE_ACTIONS, in BTF
    as `enum rw_read_action` / `rw_write_action`) as action names (RWR_PREAD64 -> pread64), by
    value."""
    def names(enum: str) -> tuple[str, ...]:
        by_value = sorted(enum_values(enum).items(), key=lambda nv: nv[1])
        return tuple(name.split("_", 1)[1].lower() for name, _ in by_value)

    return names("rw_read_action"), names("rw_write_action")


def constants() -> dict[str, int | tuple[str, ...]]:
    """What abi_consts.py holds, for code that runs without the object (config validation, the
    field registry, provenance): every `enum abi_const` enumerator without its `ABI_`, and the
    read/write classes (rw_actions)."""
    consts = sorted(enum_values("abi_const").items())
    out: dict[str, int | tuple[str, ...]] = {k.removeprefix("ABI_"): v for k, v in consts}
    out["READ_ACTIONS"], out["WRITE_ACTIONS"] = rw_actions()
    return out


def describe(path: Path, structs: Iterable[str], enums: Iterable[str]) -> dict[str, Any]:
    """The layouts and enumerators of an object's BTF as plain (JSON) data."""
    btf = Btf.parse(path)
    try:
        out: dict[str, Any] = {"structs": {}, "enums": {}}
        for name in structs:
            items, total = _btf_items(btf, name)
            out["structs"][name] = {"size": total, "members": [list(i) for i in items]}
        for name in enums:
            out["enums"][name] = btf.enum(btf.find(name, bpf.BTF_KIND_ENUM))
        return out
    finally:
        btf.close()


@contextmanager
def recorded(description: dict[str, Any]) -> Iterator[None]:
    """Decode with `description` (from `describe`) in place of the loaded object's BTF."""
    global _recorded
    before = _recorded
    _recorded = description
    layout.cache_clear()
    enum_values.cache_clear()
    try:
        yield
    finally:
        _recorded = before
        layout.cache_clear()
        enum_values.cache_clear()
