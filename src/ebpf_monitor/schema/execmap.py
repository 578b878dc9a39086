"""Documents of memory made executable: mmap, mprotect and pkey_mprotect asking for PROT_EXEC
(the only ones the kernel side sends). `file` names a mapped file as the kernel has it (walked
from its struct file: the path, device and inode; a memfd by its name), `ebpf.mmap` holds what
ECS lacks: the protection asked for (and, for mprotect/pkey_mprotect, the one the memory had),
the mapping flags, the address and length."""

from __future__ import annotations

from typing import Any

from ..abi import enum_values
from ..document import Document
from ..enrich import Enricher, text
from ..records import MmapEvent
from ..state import ProcessTable
from ._common import Abi, Builder, actor, base, document, members
from .file import file_fields

__all__ = ["execmap_builder", "map_flag_names", "prot_names"]

_CATEGORY = ("process",)
_TYPE = ("change",)

_PROT = {0x1: "PROT_READ", 0x2: "PROT_WRITE", 0x4: "PROT_EXEC", 0x8: "PROT_SEM",
         0x01000000: "PROT_GROWSDOWN", 0x02000000: "PROT_GROWSUP"}
"""include/uapi/asm-generic/mman-common.h (x86 and arm64 alike)."""
_MAP_ANONYMOUS = 0x20
_MAP_TYPE = {0x1: "MAP_SHARED", 0x2: "MAP_PRIVATE", 0x3: "MAP_SHARED_VALIDATE"}
_MAP = {0x10: "MAP_FIXED", 0x20: "MAP_ANONYMOUS", 0x40: "MAP_32BIT", 0x100: "MAP_GROWSDOWN",
        0x800: "MAP_DENYWRITE", 0x1000: "MAP_EXECUTABLE", 0x2000: "MAP_LOCKED",
        0x4000: "MAP_NORESERVE", 0x8000: "MAP_POPULATE", 0x10000: "MAP_NONBLOCK",
        0x20000: "MAP_STACK", 0x40000: "MAP_HUGETLB", 0x80000: "MAP_SYNC",
        0x100000: "MAP_FIXED_NOREPLACE", 0x4000000: "MAP_UNINITIALIZED"}
"""Linux's mman-common.h and x86's mman.h (MAP_32BIT: x86 only; arm64 has no bit 0x40). The
huge page size bits (26 and up with MAP_HUGETLB) stay in the hex rest."""


def prot_names(prot: int) -> list[str]:
    """PROT_* names of a protection (`PROT_NONE` for 0), unknown bits in hex."""
    if not prot:
        return ["PROT_NONE"]
    out = [name for bit, name in _PROT.items() if prot & bit]
    rest = prot & ~sum(_PROT)
    if rest:
        out.append(f"0x{rest:x}")
    return out


def map_flag_names(flags: int) -> list[str]:
    """MAP_* names: the mapping type (the low two bits), then the flag bits."""
    out = [_MAP_TYPE.get(flags & 3, "0x0")]
    out += [name for bit, name in _MAP.items() if flags & bit]
    rest = flags & ~(3 | sum(_MAP))
    if rest:
        out.append(f"0x{rest:x}")
    return out


def execmap_builder(abi: Abi, table: ProcessTable) -> Builder:
    actions = abi.actions
    truncated = abi.ef_path_truncated
    mf = enum_values("mmap_flag")
    mmf_file, mmf_before, mmf_unlinked = mf["MMF_FILE"], mf["MMF_BEFORE"], mf["MMF_UNLINKED"]
    mmf_part = mf["MMF_PART"]
    mmap = enum_values("event_action")["EA_MMAP"]

    def build(v: MmapEvent, tail: bytes, en: Enricher) -> Document:
        act = v.h_action
        ret = v.h_ret
        event, own = base(v, en, actions[act], _CATEGORY, _TYPE)
        m: dict[str, Any] = {}
        start = ret if act == mmap and ret >= 0 else v.addr
        m["address"] = f"0x{start:x}"
        m["length"] = v.len
        m["prot"] = prot_names(v.prot)
        if v.mflags & mmf_before:
            m["prot_before"] = prot_names(v.prot_before)
        if v.mflags & mmf_part:
            m["range_part"] = True
        anonymous = bool(v.flags & _MAP_ANONYMOUS) if act == mmap else bool(
            v.mflags & mmf_before and not v.mflags & mmf_file)  # mprotect: of the vma found
        if act == mmap:
            m["flags"] = map_flag_names(v.flags)
            if not anonymous:
                m["fd"] = v.fd
                m["offset"] = v.offset
        if v.mflags & mmf_file:
            name = text(tail[: v.path_len])
            f: dict[str, Any] = {}
            if v.mflags & mmf_unlinked:
                m["unlinked"] = True
                if name.startswith("memfd:"):
                    m["memfd"] = name.removeprefix("memfd:")
                else:
                    m["deleted"] = True
            if name and "memfd" not in m:
                f = file_fields(name)
            f["inode"] = str(v.ino)
            f["device"] = f"{v.dev >> 20}:{v.dev & 0xFFFFF}"  # the kernel's dev_t, as mountinfo
            own["file"] = f
            if v.h_flags & truncated:
                own["ebpf"]["truncated"] = True
        elif anonymous:
            m["anonymous"] = True
        own["ebpf"]["mmap"] = m
        return document(v, en, event, actor(v, en, table).text, members(own))

    return build
