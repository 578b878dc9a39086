#!/usr/bin/env python3
"""Record the hooks-file fixture: ring records of the file attribute/name kinds (issue #12)
from a real run of tests/kernel/workloads/file_ops.c, and the documents made of them.

    sudo .venv/bin/python scripts/golden_record_file_ops.py              # records + documents
    .venv/bin/python scripts/golden_record_file_ops.py --documents       # only the documents

Same method as scripts/golden_record.py (capture.read_write "all", the workload's process tree
kept, host inputs fixed by tests/unit/golden.py); the unit tier compares the documents
(tests/unit/test_golden.py) and checks the field registry against them (test_fields.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "scripts"))
import golden_record  # noqa: E402

NAME = "hooks-file"
SOURCE = REPO / "tests" / "kernel" / "workloads" / "file_ops.c"
GROUPS = ("attr", "names")


def record(tmp: Path) -> list[bytes]:
    binary = tmp / "file_ops"
    subprocess.run(["gcc", "-O2", "-Wall", "-o", str(binary), str(SOURCE)], check=True)
    # The Python workload of golden_record becomes the C one, one group per child.
    workload = (
        "import os, sys\n"
        f"for g in {GROUPS!r}:\n"
        "    os.mkdir(g)\n"
        "    pid = os.fork()\n"
        "    if pid == 0:\n"
        f"        os.execv({str(binary)!r}, ['file_ops', g, g])\n"
        "    os.waitpid(pid, 0)\n")
    inherited = os.open(tmp / "unused", os.O_RDWR | os.O_CREAT, 0o600)
    return golden_record._records("all", inherited, tmp, workload)


if __name__ == "__main__":
    sys.exit(golden_record.extra_main(__doc__ or "", NAME, record))
