"""The monitor's own pid as the kernel side sees it: the host pid, in every PID namespace.

BPF programs see host pids (tgids of the initial PID namespace). Inside a container the
monitor's `os.getpid()` is its pid in the container's namespace, a different number: compared
with it, the kernel side would not recognise the monitor and would record its own writes to
events.jsonl, which make more writes, without end. So, once at start-up, a task iterator
(selfpid.bpf.c) lists every process as (host pid, pid in its own namespace, namespace inode);
ours is the row whose namespace is /proc/self/ns/pid and whose pid there is getpid(). The
kernel side then compares a tgid per event, as before: no cost on the hot path. In the
initial PID namespace getpid() already is the host pid: no iterator is loaded there, so a host
that cannot create BPF iterators still runs the monitor outside containers.
"""

from __future__ import annotations

import os
import struct
from contextlib import ExitStack

from . import _libbpf as bpf
from .abi import selfpid_object
from .errors import BpfLoadError, HostError

__all__ = ["host_pid", "in_initial_pid_namespace"]

_ROW = struct.Struct("<III")  # struct self_row in selfpid.bpf.c: pid, ns_pid, pidns
_INIT_PIDNS_INO = 0xEFFFFFFC  # the kernel's PROC_PID_INIT_INO, fixed since Linux 3.8


def in_initial_pid_namespace() -> bool:
    """True when our pids (and our /proc) are the host's."""
    try:
        return os.stat("/proc/self/ns/pid").st_ino == _INIT_PIDNS_INO
    except OSError as exc:
        raise HostError(f"/proc/self/ns/pid: {exc.strerror}: is /proc mounted?") from None


def host_pid() -> int:
    """Our pid in the initial PID namespace (equal to os.getpid() outside containers)."""
    pid = os.getpid()
    if in_initial_pid_namespace():
        return pid
    try:
        pidns = os.stat("/proc/self/ns/pid").st_ino
    except OSError as exc:
        raise HostError(f"/proc/self/ns/pid: {exc.strerror}: is /proc mounted?") from None
    for host, ns_pid, ns in _task_pids():
        if ns_pid == pid and ns == pidns:
            return host
    raise BpfLoadError(
        f"find own process: no task with pid {pid} in PID namespace {pidns}"
        " (is /proc this namespace's? mount it anew after unshare --pid)"
    )


def _task_pids() -> list[tuple[int, int, int]]:
    """Every process as (host pid, pid in its own namespace, that namespace's inode)."""
    path = selfpid_object()
    with ExitStack() as stack:
        obj = bpf.check_ptr(bpf.lib.bpf_object__open_file(str(path).encode(), None),
                            f"open {path}")
        stack.callback(bpf.lib.bpf_object__close, obj)
        bpf.check_rc(bpf.lib.bpf_object__load(obj), f"load {path.name}")
        prog = bpf.check_ptr(bpf.lib.bpf_object__find_program_by_name(obj, b"dump_task_pids"),
                             "find program dump_task_pids")
        link = bpf.check_ptr(bpf.lib.bpf_program__attach_iter(prog, None),
                             "attach task iterator dump_task_pids (needs Linux >= 5.8)")
        stack.callback(bpf.lib.bpf_link__destroy, link)
        fd = bpf.lib.bpf_iter_create(bpf.lib.bpf_link__fd(link))
        if fd < 0:
            raise BpfLoadError(f"read task iterator: {os.strerror(-fd)} (errno {-fd})")
        with os.fdopen(fd, "rb") as f:
            data = f.read()
    usable = len(data) - len(data) % _ROW.size
    return list(_ROW.iter_unpack(data[:usable]))
