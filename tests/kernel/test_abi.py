"""The events.h ABI: Python's record layouts against the C compiler, and the unit tier's
recorded copy (tests/unit/abi.json) against the built object."""

from __future__ import annotations

import re
import struct
import subprocess
import sys

import pytest

from ebpf_monitor.abi import Layout, describe, enum_values, layout, monitor_object
from tests.harness import REPO

pytestmark = pytest.mark.kernel

ABI_C = REPO / "bpf" / "abi.bpf.c"
DECLS = re.findall(r"^(struct|enum) (\w+) abi_\w+;", ABI_C.read_text(), re.M)
STRUCTS = [name for kind, name in DECLS if kind == "struct"]
ENUMS = [name for kind, name in DECLS if kind == "enum"]


def struct_fields(lay: Layout) -> dict[str, tuple[int, int]]:
    """Field name -> (offset, size) as Python's Struct reads the record."""
    out = {}
    names = iter(lay.fields)
    pos = 0
    for count, code in re.findall(r"(\d*)([xbBhHiIqQs])", lay.struct.format[1:]):
        n = int(count or 1)
        if code == "x":
            pos += n
            continue
        size = n if code == "s" else struct.calcsize("<" + code)
        out[next(names)] = (pos, size)
        pos += size
    return out


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, int]:
    """offsetof/sizeof of every field, sizeof of every struct and every enumerator's value, as
    the C compiler (host target) lays events.h out; keys like "open_event.h.pid"."""
    paths = describe(monitor_object(), STRUCTS, ENUMS)  # only for the fields' C names
    lines = []
    for name, rec in paths["structs"].items():
        lines.append(f'printf("{name} %zu\\n", sizeof(struct {name}));')
        for _, path, _, _ in rec["members"]:
            lines.append(f'printf("{name}.{path} %zu %zu\\n", offsetof(struct {name}, {path}),'
                         f" sizeof(((struct {name} *)0)->{path}));")
    for names in paths["enums"].values():
        lines += [f'printf("{e} %lld\\n", (long long){e});' for e in names]
    work = tmp_path_factory.mktemp("abi")
    src = work / "layout.c"
    src.write_text("#include <stddef.h>\n#include <stdio.h>\n#include <linux/types.h>\n"
                   '#include "events.h"\nint main(void) {\n' + "\n".join(lines)
                   + "\nreturn 0;\n}\n")
    subprocess.run(["clang", "-I", str(REPO / "bpf"), "-o", str(work / "layout"), str(src)],
                   check=True)
    out = subprocess.run([str(work / "layout")], check=True, capture_output=True, text=True)
    values: dict[str, int] = {}
    for line in out.stdout.splitlines():
        key, *nums = line.split()
        values[key] = int(nums[0])
        if len(nums) > 1:
            values[key + ":size"] = int(nums[1])
    return values


class TestLayout:
    @pytest.mark.parametrize("name", STRUCTS)
    def test_fields_where_the_compiler_puts_them(self, name: str,
                                                 compiled: dict[str, int]) -> None:
        """Every field Python unpacks sits at the offset and has the size the C compiler gives
        it, and the fixed part ends where the variable tail starts."""
        lay = layout(name)
        fields = struct_fields(lay)
        assert fields, name
        for field, (offset, size) in fields.items():
            key = next(k for k in compiled if not k.endswith(":size")
                       and k.startswith(f"{name}.") and k[len(name) + 1:].replace(".", "_")
                       == field)
            assert (offset, size) == (compiled[key], compiled[key + ":size"]), key
        assert lay.size == compiled[name]
        tail = [k for k in (f"{name}.data", f"{name}.path") if k in compiled]
        assert lay.tail_offset == (compiled[tail[0]] if tail else compiled[name])

    @pytest.mark.parametrize("name", ENUMS)
    def test_enumerators(self, name: str, compiled: dict[str, int]) -> None:
        """Each enumerator has the value the C compiler gives it."""
        values = enum_values(name)
        assert values
        assert {e: compiled[e] for e in values} == values


class TestRecordedCopy:
    def test_unit_fixture_matches_the_object(self) -> None:
        """tests/unit/abi.json, which the unit tier decodes with, is the built object's ABI
        (else: scripts/abi_fixture.py rewrites it)."""
        proc = subprocess.run([sys.executable, str(REPO / "scripts" / "abi_fixture.py"),
                               "--check"], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr

