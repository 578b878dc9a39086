"""ECS documents, one builder per record kind, written straight to JSON text. See docs/schema.md.

A builder takes a typed record (records.py, generated from events.h), its variable tail and the
Enricher, and returns a `Document` (id, index day, one line of JSON). By family: process.py
(exec, fork, exit), file.py (open, read/write, an fd's totals, unlink, rename), net.py (socket,
connect/bind/listen/accept and every socket's endpoints), loss.py; what they share in _common.py.
"""

from __future__ import annotations

from ..abi import enum_values
from ..enrich import text
from ._common import Abi, Builder, open_flag_names
from .file import io_summary_builder, open_builder, rename_builder, rw_builder, unlink_builder
from .loss import loss_document
from .net import net_builder, socket_builder
from .process import exec_builder, exit_builder, fork_builder

__all__ = ["Builder", "builders", "loss_document", "open_flag_names"]


def builders(*, ignored_prefixes: tuple[str, ...] = ()) -> dict[int, Builder]:
    """Builder per record kind (enum event_kind value)."""
    abi = Abi.load()
    # Paths reach the prefix test as text() (a backslash doubled); the kernel matched the raw
    # bytes. The prefixes get the same escaping, once, so both filter the same paths.
    ignored_prefixes = tuple(text(p.encode()) for p in ignored_prefixes)
    kinds = enum_values("event_kind")
    return {
        kinds["EK_EXEC"]: exec_builder(abi),
        kinds["EK_FORK"]: fork_builder(abi),
        kinds["EK_EXIT"]: exit_builder(abi),
        kinds["EK_OPEN"]: open_builder(abi),
        kinds["EK_RW"]: rw_builder(abi, ignored_prefixes),
        kinds["EK_UNLINK"]: unlink_builder(abi),
        kinds["EK_RENAME"]: rename_builder(abi),
        kinds["EK_SOCKET"]: socket_builder(abi),
        kinds["EK_NET"]: net_builder(abi),
        kinds["EK_IO_SUMMARY"]: io_summary_builder(abi, ignored_prefixes),
    }
