"""Documents of calls on another process: signals (kill, tkill, tgkill, pidfd_send_signal),
ptrace and process_vm_readv/writev.

ECS has no field set for the process acted on; Elastic Defend's documents name it
`Target.process.*` (the `process` field set under `Target`), and so do these: `Target.process.pid`
is the pid as the caller gave it (a pid in the caller's PID namespace), or, for a pidfd, the
process's host pid resolved in the kernel; `Target.process.thread.id` the thread of tkill/tgkill.
"""

from __future__ import annotations

import signal
from typing import Any

from ..document import Document
from ..enrich import Enricher
from ..records import TargetEvent
from ..state import ProcessTable
from ._common import (
    CAT_PROCESS,
    TYPE_ACCESS,
    TYPE_CHANGE,
    TYPE_INFO,
    Abi,
    Builder,
    actor,
    base,
    document,
    members,
)

__all__ = ["PTRACE_REQUESTS", "ptrace_request_name", "signal_name", "target_builder"]

PTRACE_REQUESTS = {
    0: "PTRACE_TRACEME", 1: "PTRACE_PEEKTEXT", 2: "PTRACE_PEEKDATA", 3: "PTRACE_PEEKUSER",
    4: "PTRACE_POKETEXT", 5: "PTRACE_POKEDATA", 6: "PTRACE_POKEUSER", 7: "PTRACE_CONT",
    8: "PTRACE_KILL", 9: "PTRACE_SINGLESTEP", 12: "PTRACE_GETREGS", 13: "PTRACE_SETREGS",
    14: "PTRACE_GETFPREGS", 15: "PTRACE_SETFPREGS", 16: "PTRACE_ATTACH", 17: "PTRACE_DETACH",
    18: "PTRACE_GETFPXREGS", 19: "PTRACE_SETFPXREGS", 24: "PTRACE_SYSCALL",
    25: "PTRACE_GET_THREAD_AREA", 26: "PTRACE_SET_THREAD_AREA", 30: "PTRACE_ARCH_PRCTL",
    31: "PTRACE_SYSEMU", 32: "PTRACE_SYSEMU_SINGLESTEP", 33: "PTRACE_SINGLEBLOCK",
    0x4200: "PTRACE_SETOPTIONS", 0x4201: "PTRACE_GETEVENTMSG", 0x4202: "PTRACE_GETSIGINFO",
    0x4203: "PTRACE_SETSIGINFO", 0x4204: "PTRACE_GETREGSET", 0x4205: "PTRACE_SETREGSET",
    0x4206: "PTRACE_SEIZE", 0x4207: "PTRACE_INTERRUPT", 0x4208: "PTRACE_LISTEN",
    0x4209: "PTRACE_PEEKSIGINFO", 0x420A: "PTRACE_GETSIGMASK", 0x420B: "PTRACE_SETSIGMASK",
    0x420C: "PTRACE_SECCOMP_GET_FILTER", 0x420D: "PTRACE_SECCOMP_GET_METADATA",
    0x420E: "PTRACE_GET_SYSCALL_INFO", 0x420F: "PTRACE_GET_RSEQ_CONFIGURATION",
    0x4210: "PTRACE_SET_SYSCALL_USER_DISPATCH_CONFIG",
    0x4211: "PTRACE_GET_SYSCALL_USER_DISPATCH_CONFIG", 0x4212: "PTRACE_SET_SYSCALL_INFO",
}
"""ptrace requests of linux/ptrace.h and asm/ptrace-abi.h (x86_64)."""
_PTRACE_WRITES = frozenset(n for n, name in PTRACE_REQUESTS.items()
                           if "_POKE" in name or ("_SET" in name and name != "PTRACE_SETOPTIONS"))
_SIGNALS = {s.value: s.name for s in signal.Signals if not s.name.startswith("SIG_")}


def ptrace_request_name(request: int) -> str:
    return PTRACE_REQUESTS.get(request, str(request))


def signal_name(number: int) -> str:
    """`SIGKILL`; real-time signals as `SIGRTMIN+n`; 0 (a liveness probe) as `0`."""
    found = _SIGNALS.get(number)
    if found is not None:
        return found
    if signal.SIGRTMIN < number <= signal.SIGRTMAX:
        return f"SIGRTMIN+{number - signal.SIGRTMIN}"
    return str(number)


def target_builder(abi: Abi, table: ProcessTable) -> Builder:
    actions = abi.actions

    def build(v: TargetEvent, tail: bytes, en: Enricher) -> Document:
        action = actions[v.h_action]
        target: dict[str, Any] = {}
        own_ebpf: dict[str, Any] = {}
        etype = TYPE_INFO
        if action == "ptrace":
            req = v.request
            etype = TYPE_CHANGE if req in _PTRACE_WRITES else TYPE_ACCESS
            # TRACEME: the tracer-to-be is the parent; the pid argument is ignored.
            target["pid"] = v.h_ppid if req == 0 else v.pid
            own_ebpf["ptrace"] = {"request": ptrace_request_name(req), "addr": f"0x{v.addr:x}",
                                  "data": f"0x{v.value:x}"}
        elif action.startswith("process_vm_"):
            etype = TYPE_CHANGE if action.endswith("writev") else TYPE_ACCESS
            target["pid"] = v.pid
            vm: dict[str, Any] = {"local_iovcnt": v.local_iovcnt,
                                  "remote_iovcnt": v.remote_iovcnt}
            if v.h_ret >= 0:
                vm["bytes"] = v.h_ret
            own_ebpf["process_vm"] = vm
        else:
            sig: dict[str, Any] = {"number": v.request, "name": signal_name(v.request)}
            if action == "kill":
                if v.pid > 0:
                    target["pid"] = v.pid
                    own_ebpf["kill_scope"] = "process"
                elif v.pid == -1:
                    own_ebpf["kill_scope"] = "all"
                else:  # 0: the caller's own group
                    own_ebpf["kill_scope"] = "process_group"
                    own_ebpf["kill_pgid"] = -v.pid if v.pid else 0
            elif action == "tkill":
                target["thread"] = {"id": v.tid}
            elif action == "tgkill":
                target["pid"] = v.pid
                target["thread"] = {"id": v.tid}
            else:  # pidfd_send_signal
                own_ebpf["pidfd"] = v.pidfd
                if v.pidfd_pid:
                    target["pid"] = v.pidfd_pid
                if v.value:
                    sig["flags"] = v.value
            own_ebpf["signal"] = sig
        event, own = base(v, en, action, CAT_PROCESS, etype)
        own["ebpf"].update(own_ebpf)
        if target:
            own["Target"] = {"process": target}
        return document(v, en, event, actor(v, en, table).text, members(own))

    return build
