"""ECS documents, one builder per record kind, written straight to JSON text. See docs/schema.md.

A builder takes a typed record (records.py, generated from events.h), its variable tail and the
Enricher, and returns a `Document` (id, index day, one line of JSON); it reads the process/fd
table (state.py) and never writes it: the decoder hands each record to its kind's observer
first (exec, open), which is where the table learns. By family: process.py
(exec, fork, exit), file.py (open, read/write, an fd's totals, unlink, rename), net.py (socket,
connect/bind/listen/accept and every socket's endpoints), loss.py; what they share in _common.py.
"""

from __future__ import annotations

from ..abi import enum_values
from ..state import ProcessTable
from ._common import Abi, Builder, Observer, open_flag_names
from .file import (
    io_summary_builder,
    open_builder,
    open_observer,
    rename_builder,
    rw_builder,
    unlink_builder,
)
from .loss import loss_document
from .net import net_builder, socket_builder
from .process import exec_builder, exec_observer, exit_builder, fork_builder, fork_observer

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
    }


def observers(table: ProcessTable) -> dict[int, Observer]:
    """The kinds that tell `table` something (exec, fork, open), each one's observer."""
    abi = Abi.load()
    kinds = enum_values("event_kind")
    return {kinds["EK_EXEC"]: exec_observer(abi, table),
            kinds["EK_FORK"]: fork_observer(abi, table),
            kinds["EK_OPEN"]: open_observer(abi, table)}
