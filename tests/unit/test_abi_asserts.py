"""bpf/abi_asserts.h (compile-time layout checks) and tests/unit/abi.json say the same."""

from __future__ import annotations

import json
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ASSERTS = REPO / "bpf" / "abi_asserts.h"
FIXTURE = Path(__file__).with_name("abi.json")

def _asserted() -> tuple[dict[str, int], dict[tuple[str, str], int]]:
    text = ASSERTS.read_text()
    sizes = {m[1]: int(m[2]) for m in re.finditer(r"^ABI_SIZE\((\w+), (\d+)\);", text, re.M)}
    offsets = {(m[1], m[2]): int(m[3])
               for m in re.finditer(r"^ABI_AT\((\w+), (\w+), (\d+)\);", text, re.M)}
    return sizes, offsets


def _recorded() -> tuple[dict[str, int], dict[tuple[str, str], int]]:
    structs = json.loads(FIXTURE.read_text())["structs"]
    sizes = {name: s["size"] for name, s in structs.items()}
    offsets: dict[tuple[str, str], int] = {}
    for name, s in structs.items():
        for off, member, _fmt, _size in s["members"]:
            offsets.setdefault((name, member.split(".")[0]), off)
    return sizes, offsets


class TestAbiAsserts:
    def test_every_recorded_layout_is_asserted(self) -> None:
        """Each struct and top-level member of abi.json has its size/offset asserted in C."""
        sizes, offsets = _asserted()
        want_sizes, want_offsets = _recorded()
        assert {k: sizes.get(k) for k in want_sizes} == want_sizes
        assert {k: offsets.get(k) for k in want_offsets} == want_offsets

    def test_no_assert_for_an_unrecorded_struct(self) -> None:
        """The C side asserts no struct the recorded ABI lacks."""
        sizes, _ = _asserted()
        assert set(sizes) - set(_recorded()[0]) == set()
