"""ECS documents, one builder per record kind, written straight to JSON text. See docs/schema.md.

A builder takes a typed record (records.py, generated from events.h), its variable tail and the
Enricher, and returns a `Document` (id, index day, one line of JSON); it reads the process/fd
table (state.py) and never writes it: the decoder hands each record to its kind's observer
first (exec, open), which is where the table learns. By family: process.py
(exec, fork, exit), file.py (open, read/write, an fd's totals, unlink, rename), net.py (socket,
connect/bind/listen/accept and every socket's endpoints, AF_UNIX ones with their path), ipc.py
(pipe, pipe2, socketpair, sendfile/splice/tee/copy_file_range, sendmmsg/recvmmsg), uring.py
(io_uring), attr.py (chmod, chown families), names.py (link, symlink, mkdir, mknod, truncate),
cred.py (set*id, capset, the ids an exec left), target.py (signals, ptrace,
process_vm_*), mount.py (setns, unshare, mount, umount2, chroot, pivot_root), kcode.py (bpf
program loads, memfd_create, userfaultfd), execmap.py (mmap/mprotect making memory executable),
kmod.py (kernel modules), paths.py (chdir, fchdir), loss.py; what they share in _common.py.
"""

from __future__ import annotations

from ..abi import enum_values
from ..state import ProcessTable
from ._common import Abi, Builder, Observer, open_flag_names
from .attr import attr_builder
from .cred import cred_builder, cred_observer
from .execmap import execmap_builder
from .file import (
    io_summary_builder,
    open_builder,
    open_observer,
    rename_builder,
    rw_builder,
    unlink_builder,
)
from .ipc import fdpair_builder, mmsg_builder, xfer_builder
from .kcode import fileless_builder, kcode_builder
from .kmod import kmod_builder
from .loss import loss_document
from .mount import mount_builder
from .names import link_builder, mknod_builder, truncate_builder
from .net import net_builder, socket_builder
from .paths import chdir_builder, chdir_observer
from .process import exec_builder, exec_observer, exit_builder, fork_builder, fork_observer
from .target import target_builder
from .uring import uring_builder

__all__ = ["Builder", "Observer", "builders", "loss_document", "observers", "open_flag_names"]


def builders(table: ProcessTable) -> dict[int, Builder]:
    """Builder per record kind (enum event_kind value), reading `table`."""
    abi = Abi.load()
    kinds = enum_values("event_kind")
    return {
        kinds["EK_EXEC"]: exec_builder(abi, table),
        kinds["EK_FORK"]: fork_builder(abi, table),
        kinds["EK_EXIT"]: exit_builder(abi, table),
        kinds["EK_OPEN"]: open_builder(abi, table),
        kinds["EK_RW"]: rw_builder(abi, table),
        kinds["EK_UNLINK"]: unlink_builder(abi, table),
        kinds["EK_RENAME"]: rename_builder(abi, table),
        kinds["EK_SOCKET"]: socket_builder(abi, table),
        kinds["EK_NET"]: net_builder(abi, table),
        kinds["EK_IO_SUMMARY"]: io_summary_builder(abi, table),
        kinds["EK_FDPAIR"]: fdpair_builder(abi, table),
        kinds["EK_UNIX_NET"]: net_builder(abi, table),
        kinds["EK_XFER"]: xfer_builder(abi, table),
        kinds["EK_MMSG"]: mmsg_builder(abi, table),
        kinds["EK_URING"]: uring_builder(abi, table),
        kinds["EK_ATTR"]: attr_builder(abi, table),
        kinds["EK_LINK"]: link_builder(abi, table),
        kinds["EK_MKNOD"]: mknod_builder(abi, table),
        kinds["EK_TRUNCATE"]: truncate_builder(abi, table),
        kinds["EK_CRED"]: cred_builder(abi, table),
        kinds["EK_TARGET"]: target_builder(abi, table),
        kinds["EK_MOUNT"]: mount_builder(abi, table),
        kinds["EK_KCODE"]: kcode_builder(abi, table),
        kinds["EK_FILELESS"]: fileless_builder(abi, table),
        kinds["EK_MMAP"]: execmap_builder(abi, table),
        kinds["EK_KMOD"]: kmod_builder(abi, table),
        kinds["EK_CHDIR"]: chdir_builder(abi, table),
    }


def observers(table: ProcessTable) -> dict[int, Observer]:
    """The kinds that tell `table` something (exec, fork, open, chdir), each one's observer."""
    abi = Abi.load()
    kinds = enum_values("event_kind")
    return {kinds["EK_EXEC"]: exec_observer(abi, table),
            kinds["EK_FORK"]: fork_observer(abi, table),
            kinds["EK_OPEN"]: open_observer(abi, table),
            kinds["EK_CRED"]: cred_observer(abi, table),
            kinds["EK_CHDIR"]: chdir_observer(abi, table)}
