"""The BPF sources write each fact of the ABI once: events.h's enums, used by name."""

from __future__ import annotations

import re
from pathlib import Path

from .recorded_abi import enum

BPF = Path(__file__).resolve().parents[2] / "bpf"
SOURCES = {p.name: p.read_text() for p in sorted(BPF.glob("*.[ch]")) if p.name != "events.h"}


class TestOneSource:
    """No BPF file restates a constant or an action list that events.h's enums hold."""

    def test_no_second_define(self) -> None:
        """AT_FDCWD and the address families are not #defined again next to ABI_AT_FDCWD
        and FAM_*: the code uses the enumerators."""
        linux_names = {k.removeprefix("ABI_") for k in enum("abi_const")} | {
            "AF_" + k.removeprefix("FAM_") for k in enum("addr_family")}
        defined = {(name, m[1]) for name, text in SOURCES.items()
                   for m in re.finditer(r"^\s*#\s*define\s+(\w+)", text, re.M)}
        assert {d for d in defined if d[1] in linux_names} == set()

    def test_no_second_action_list(self) -> None:
        """No run of `case EA_...:` labels lists all the read (or write) actions again: C tests
        membership through events.h's lists (RW_READ_ACTIONS), which its rw_*_action enums
        are made of."""
        lists = [{"EA_" + k.split("_", 1)[1] for k in enum(e)}
                 for e in ("rw_read_action", "rw_write_action")]
        runs = [(name, set(re.findall(r"EA_\w+", m[0]))) for name, text in SOURCES.items()
                for m in re.finditer(r"(?:\bcase\s+EA_\w+\s*:\s*)+", text)]
        assert [(name, run) for name, run in runs if any(run >= want for want in lists)] == []
