"""Documents of namespace and mount changes: setns, unshare, mount, umount2, chroot,
pivot_root. ECS has no fields for them: `ebpf.ns.*`, `ebpf.mount.*`, `ebpf.root.*`. Mount and
umount2 are `configuration` `creation`/`deletion` (they change the system's file namespace);
the others change the calling process (`process` `change`)."""

from __future__ import annotations

from typing import Any

from ..document import Document
from ..enrich import Enricher, text
from ..records import MountEvent
from ..state import ProcessTable
from ._common import CAT_PROCESS, Abi, Builder, actor, base, document, members

__all__ = ["clone_flag_names", "mount_builder", "mount_flag_names", "umount_flag_names"]

_CLONE = {0x80: "CLONE_NEWTIME", 0x100: "CLONE_VM", 0x200: "CLONE_FS", 0x400: "CLONE_FILES",
          0x800: "CLONE_SIGHAND", 0x1000: "CLONE_PIDFD", 0x2000: "CLONE_PTRACE",
          0x4000: "CLONE_VFORK", 0x8000: "CLONE_PARENT", 0x10000: "CLONE_THREAD",
          0x20000: "CLONE_NEWNS", 0x40000: "CLONE_SYSVSEM", 0x80000: "CLONE_SETTLS",
          0x100000: "CLONE_PARENT_SETTID", 0x200000: "CLONE_CHILD_CLEARTID",
          0x400000: "CLONE_DETACHED", 0x800000: "CLONE_UNTRACED",
          0x1000000: "CLONE_CHILD_SETTID", 0x2000000: "CLONE_NEWCGROUP",
          0x4000000: "CLONE_NEWUTS", 0x8000000: "CLONE_NEWIPC", 0x10000000: "CLONE_NEWUSER",
          0x20000000: "CLONE_NEWPID", 0x40000000: "CLONE_NEWNET", 0x80000000: "CLONE_IO"}
_MS = {1: "MS_RDONLY", 2: "MS_NOSUID", 4: "MS_NODEV", 8: "MS_NOEXEC", 16: "MS_SYNCHRONOUS",
       32: "MS_REMOUNT", 64: "MS_MANDLOCK", 128: "MS_DIRSYNC", 256: "MS_NOSYMFOLLOW",
       1024: "MS_NOATIME", 2048: "MS_NODIRATIME", 4096: "MS_BIND", 8192: "MS_MOVE",
       16384: "MS_REC", 32768: "MS_SILENT", 1 << 16: "MS_POSIXACL", 1 << 17: "MS_UNBINDABLE",
       1 << 18: "MS_PRIVATE", 1 << 19: "MS_SLAVE", 1 << 20: "MS_SHARED",
       1 << 21: "MS_RELATIME", 1 << 22: "MS_KERNMOUNT", 1 << 23: "MS_I_VERSION",
       1 << 24: "MS_STRICTATIME", 1 << 25: "MS_LAZYTIME"}
_MS_MGC_MSK, _MS_MGC_VAL = 0xFFFF0000, 0xC0ED0000
"""The old magic in mount flags' upper half, which the kernel drops."""
_MNT = {1: "MNT_FORCE", 2: "MNT_DETACH", 4: "MNT_EXPIRE", 8: "UMOUNT_NOFOLLOW"}
_CONFIGURATION = ("configuration",)


def _names(flags: int, table: dict[int, str]) -> list[str]:
    out = [name for bit, name in table.items() if flags & bit]
    rest = flags & ~sum(table)
    if rest:
        out.append(f"0x{rest:x}")
    return out


def clone_flag_names(flags: int) -> list[str]:
    return _names(flags, _CLONE)


def mount_flag_names(flags: int) -> list[str]:
    if flags & _MS_MGC_MSK == _MS_MGC_VAL:
        flags &= ~_MS_MGC_MSK
    return _names(flags, _MS)


def umount_flag_names(flags: int) -> list[str]:
    return _names(flags, _MNT)


def mount_builder(abi: Abi, table: ProcessTable) -> Builder:
    actions = abi.actions
    truncated = abi.ef_path_truncated | abi.ef_path2_truncated

    def build(v: MountEvent, tail: bytes, en: Enricher) -> Document:
        action = actions[v.h_action]
        path1 = text(tail[: v.len1])
        path2 = text(tail[v.len1 + 1: v.len1 + 1 + v.len2])
        category, etype = CAT_PROCESS, ("change",)
        eb: dict[str, Any] = {}
        if action == "setns":
            ns: dict[str, Any] = {"fd": v.fd, "type": clone_flag_names(v.nstype) or ["any"]}
            if v.ns_inode:
                ns["inode"] = v.ns_inode
            eb["ns"] = ns
        elif action == "unshare":
            eb["ns"] = {"flags": clone_flag_names(v.flags)}
        elif action == "mount":
            category, etype = _CONFIGURATION, ("creation",)
            fstype = text(v.fstype.split(b"\0", 1)[0])
            m: dict[str, Any] = {"source": path1, "target": path2,
                                 "flags": mount_flag_names(v.flags)}
            if fstype:
                m["fstype"] = fstype
            eb["mount"] = m
        elif action == "umount2":
            category, etype = _CONFIGURATION, ("deletion",)
            eb["mount"] = {"target": path1, "flags": umount_flag_names(v.flags)}
        elif action == "chroot":
            eb["root"] = {"path": path1}
        else:  # pivot_root
            eb["root"] = {"path": path1, "put_old": path2}
        event, own = base(v, en, action, category, etype)
        own["ebpf"].update(eb)
        if v.h_flags & truncated:
            own["ebpf"]["truncated"] = True
        return document(v, en, event, actor(v, en, table).text, members(own))

    return build
