#!/usr/bin/env python3
"""Write tests/unit/abi.json: the events.h layouts and enumerators from the built BPF object.

    .venv/bin/python scripts/abi_fixture.py [--check]

The unit tests decode with this recorded description, so they run without a BPF build; the
kernel tier (tests/kernel/test_abi.py) fails when it no longer matches the object, and this
script is how to refresh it after changing bpf/events.h (`make bpf` first). The types are the
ones bpf/abi.bpf.c keeps in the object's BTF.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from ebpf_monitor.abi import describe, monitor_object

REPO = Path(__file__).resolve().parents[1]
ABI_C = REPO / "bpf" / "abi.bpf.c"
FIXTURE = REPO / "tests" / "unit" / "abi.json"


def abi_types(source: Path = ABI_C) -> tuple[list[str], list[str]]:
    """(structs, enums) declared as globals in abi.bpf.c, in file order."""
    decls = re.findall(r"^(struct|enum) (\w+) abi_\w+;", source.read_text(), re.M)
    return ([n for k, n in decls if k == "struct"], [n for k, n in decls if k == "enum"])


def current(obj: Path | None = None) -> dict[str, Any]:
    """The description of the built object."""
    structs, enums = abi_types()
    return describe(obj or monitor_object(), structs, enums)


def render(description: dict[str, Any]) -> str:
    """Indented JSON with each member ([offset, path, code, size]) on one line."""
    text = json.dumps(description, indent=1, sort_keys=True)
    return re.sub(r"\[\s+([^\[\]{}]*?)\s+\]",
                  lambda m: "[" + re.sub(r",\s+", ", ", m[1]) + "]", text) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--check", action="store_true", help="only say whether it is up to date")
    args = p.parse_args(argv)
    if not monitor_object().exists():
        print(f"abi_fixture.py: {monitor_object()} missing: run make bpf first", file=sys.stderr)
        return 1
    text = render(current())
    if args.check:
        if FIXTURE.read_text() != text:
            print(f"abi_fixture.py: {FIXTURE} is out of date: run {sys.argv[0]}",
                  file=sys.stderr)
            return 1
        return 0
    FIXTURE.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
