"""The tail every generator of a committed file shares: write it, or with --check only say
whether it is current (abi_fixture.py, gen_records.py, schema_doc.py; `make abi` runs them all).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REGENERATE = "make abi"
"""The one command that rewrites every generated file (Makefile)."""


def parser(doc: str) -> argparse.ArgumentParser:
    """The generator's command line: its docstring's first paragraph and --check."""
    p = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    p.add_argument("--check", action="store_true",
                   help="only say whether the files are up to date (exit 1 when not)")
    return p


def check_or_write(outputs: dict[Path, str], *, check: bool, script: str) -> int:
    """Each file of `outputs` (path -> its text): compared, or rewritten where it differs (an
    unchanged file keeps its time, so make does not rebuild what includes it). 1 when a check
    finds one stale."""
    stale = [path for path, text in outputs.items()
             if not path.exists() or path.read_text() != text]
    if check:
        for path in stale:
            print(f"{script}: {path.relative_to(REPO)} is out of date: run {REGENERATE}",
                  file=sys.stderr)
        return 1 if stale else 0
    for path in stale:
        path.write_text(outputs[path])
    return 0
