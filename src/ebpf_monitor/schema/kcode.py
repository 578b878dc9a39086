"""Documents of code loaded into the kernel: bpf(2) BPF_PROG_LOAD by a process other than the
monitor; and of memory that is no file: memfd_create, userfaultfd. ECS has no fields for them:
`ebpf.bpf.*`, `ebpf.memfd.*`, `ebpf.userfaultfd.*`."""

from __future__ import annotations

from typing import Any

from ..document import Document
from ..enrich import Enricher, text
from ..records import FilelessEvent, KcodeEvent
from ..state import ProcessTable
from ._common import Abi, Builder, actor, base, document, members

__all__ = ["PROG_TYPES", "fileless_builder", "kcode_builder"]

PROG_TYPES = (
    "UNSPEC", "SOCKET_FILTER", "KPROBE", "SCHED_CLS", "SCHED_ACT", "TRACEPOINT", "XDP",
    "PERF_EVENT", "CGROUP_SKB", "CGROUP_SOCK", "LWT_IN", "LWT_OUT", "LWT_XMIT", "SOCK_OPS",
    "SK_SKB", "CGROUP_DEVICE", "SK_MSG", "RAW_TRACEPOINT", "CGROUP_SOCK_ADDR", "LWT_SEG6LOCAL",
    "LIRC_MODE2", "SK_REUSEPORT", "FLOW_DISSECTOR", "CGROUP_SYSCTL",
    "RAW_TRACEPOINT_WRITABLE", "CGROUP_SOCKOPT", "TRACING", "STRUCT_OPS", "EXT", "LSM",
    "SK_LOOKUP", "SYSCALL", "NETFILTER",
)
"""enum bpf_prog_type by value, without the BPF_PROG_TYPE_ prefix."""
_CATEGORY = ("configuration",)
_TYPE = ("change",)


def kcode_builder(abi: Abi, table: ProcessTable) -> Builder:
    actions = abi.actions

    def build(v: KcodeEvent, tail: bytes, en: Enricher) -> Document:
        event, own = base(v, en, actions[v.h_action], _CATEGORY, _TYPE)
        t = v.prog_type
        prog = {"command": "BPF_PROG_LOAD",
                "prog_type": PROG_TYPES[t] if t < len(PROG_TYPES) else str(t),
                "insn_cnt": v.insn_cnt, "prog_flags": v.prog_flags,
                "prog_name": text(v.prog_name.split(b"\0", 1)[0])}
        if v.h_ret >= 0:
            prog["prog_fd"] = v.h_ret
        own["ebpf"]["bpf"] = prog
        return document(v, en, event, actor(v, en, table).text, members(own))

    return build


_MFD = {1: "MFD_CLOEXEC", 2: "MFD_ALLOW_SEALING", 4: "MFD_HUGETLB", 8: "MFD_NOEXEC_SEAL",
        0x10: "MFD_EXEC"}
_UFFD_USER_MODE_ONLY = 1


def _flag_names(flags: int, table: dict[int, str]) -> list[str]:
    out = [name for bit, name in table.items() if flags & bit]
    rest = flags & ~sum(table)
    if rest:
        out.append(f"0x{rest:x}")
    return out


def fileless_builder(abi: Abi, table: ProcessTable) -> Builder:
    """memfd_create (a file with no path: code run from it leaves no file behind) and
    userfaultfd (page faults handled in user space, an exploitation aid)."""
    actions = abi.actions
    truncated = abi.ef_path_truncated
    uffd_bits = {_UFFD_USER_MODE_ONLY: "UFFD_USER_MODE_ONLY",  # and open flags, the kernel's
                 abi.open_flags["OF_NONBLOCK"]: "O_NONBLOCK",
                 abi.open_flags["OF_CLOEXEC"]: "O_CLOEXEC"}

    def build(v: FilelessEvent, tail: bytes, en: Enricher) -> Document:
        action = actions[v.h_action]
        if action == "memfd_create":
            event, own = base(v, en, action, ("file",), ("creation",))
            memfd: dict[str, Any] = {"name": text(tail[: v.path_len]),
                                     "flags": _flag_names(v.flags, _MFD)}
            if v.h_ret >= 0:
                memfd["fd"] = v.h_ret
            if v.h_flags & truncated:
                own["ebpf"]["truncated"] = True
            own["ebpf"]["memfd"] = memfd
        else:
            event, own = base(v, en, action, ("process",), ("info",))
            uffd: dict[str, Any] = {"flags": _flag_names(v.flags, uffd_bits)}
            if v.h_ret >= 0:
                uffd["fd"] = v.h_ret
            own["ebpf"]["userfaultfd"] = uffd
        return document(v, en, event, actor(v, en, table).text, members(own))

    return build
