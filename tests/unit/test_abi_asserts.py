"""bpf/abi_asserts.h (compile-time layout checks) and tests/unit/abi.json say the same."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from tests.harness import REPO

# Appended, not first: scripts/elasticsearch.py must not shadow the client package.
sys.path.append(str(REPO / "scripts"))
import abi_fixture

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
    """The compile-time checks are generated from, and agree with, the recorded layouts."""

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

    def test_generated_file_is_current(self) -> None:
        """abi_asserts.h is what scripts/abi_fixture.py writes from abi.json's description,
        line for line (`make abi` rewrites both from one BTF)."""
        want = abi_fixture.render_asserts(json.loads(FIXTURE.read_text()))
        assert ASSERTS.read_text() == want, "run make abi"

    def test_a_moved_member_changes_the_asserts(self) -> None:
        """A member at another offset, or a struct of another size, in the description is
        another assert: the generator writes what BTF says, not what the file held."""
        description = json.loads(FIXTURE.read_text())
        header = description["structs"]["event_header"]
        header["members"][1][0] += 8
        header["size"] += 8
        text = abi_fixture.render_asserts(description)
        assert f"ABI_AT(event_header, {header['members'][1][1]}, " \
               f"{header['members'][1][0]});" in text
        assert f"ABI_SIZE(event_header, {header['size']});" in text
        assert text != ASSERTS.read_text()
