"""Documents of kernel modules loaded and removed: init_module, finit_module, delete_module.
ECS has `event.category: driver` for them but no module fields: `ebpf.module.*`; the file a
finit_module loads is `file.*`."""

from __future__ import annotations

from typing import Any

from ..abi import enum_values
from ..document import Document
from ..enrich import Enricher, text
from ..records import KmodEvent
from ..state import ProcessTable
from ._common import Abi, Builder, actor, base, document, members
from .file import file_fields

__all__ = ["kmod_builder", "module_flag_names"]

_CATEGORY = ("driver",)
_LOAD = ("start",)
_DELETE = ("end",)

_INIT_FLAGS = {1: "MODULE_INIT_IGNORE_MODVERSIONS", 2: "MODULE_INIT_IGNORE_VERMAGIC",
               4: "MODULE_INIT_COMPRESSED_FILE"}
"""finit_module's flags (include/uapi/linux/module.h)."""
_DELETE_FLAGS = {0o4000: "O_NONBLOCK", 0o1000: "O_TRUNC"}
"""delete_module's flags (O_TRUNC: forced removal)."""


def module_flag_names(flags: int, table: dict[int, str]) -> list[str]:
    out = [name for bit, name in table.items() if flags & bit]
    rest = flags & ~sum(table)
    if rest:
        out.append(f"0x{rest:x}")
    return out


def kmod_builder(abi: Abi, table: ProcessTable) -> Builder:
    actions = abi.actions
    truncated = abi.ef_path_truncated | abi.ef_path2_truncated
    ea = enum_values("event_action")
    init, finit = ea["EA_INIT_MODULE"], ea["EA_FINIT_MODULE"]

    def build(v: KmodEvent, tail: bytes, en: Enricher) -> Document:
        act = v.h_action
        event, own = base(v, en, actions[act], _CATEGORY,
                          _DELETE if act not in (init, finit) else _LOAD)
        mod: dict[str, Any] = {}
        name = text(v.name.split(b"\0", 1)[0])
        if name:
            mod["name"] = name
        path = text(tail[: v.path_len])
        if act != init and act != finit:
            mod["flags"] = module_flag_names(v.flags, _DELETE_FLAGS)
        else:
            start = v.path_len + 1
            mod["args"] = text(tail[start: start + v.args_len])
            if act == init:
                mod["size"] = v.len
            else:
                mod["fd"] = v.fd
                mod["flags"] = module_flag_names(v.flags, _INIT_FLAGS)
                if path:
                    own["file"] = file_fields(path)
        if v.h_flags & truncated:
            own["ebpf"]["truncated"] = True
        own["ebpf"]["module"] = mod
        return document(v, en, event, actor(v, en, table).text, members(own))

    return build
