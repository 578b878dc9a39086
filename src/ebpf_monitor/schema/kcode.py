"""Documents of code loaded into the kernel: bpf(2) BPF_PROG_LOAD by a process other than the
monitor. ECS has no fields for it: `ebpf.bpf.*`."""

from __future__ import annotations

from ..document import Document
from ..enrich import Enricher, text
from ..records import KcodeEvent
from ..state import ProcessTable
from ._common import Abi, Builder, actor, base, document, members

__all__ = ["PROG_TYPES", "kcode_builder"]

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
