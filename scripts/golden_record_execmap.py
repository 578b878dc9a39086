#!/usr/bin/env python3
"""Record the mmap-mod fixture (issue #12): raw ring records of mmap and mprotect asking for
PROT_EXEC, made by tests/kernel/execmap_work.c (a file, a write-only fd: EACCES, a bad fd:
EBADF, RWX anonymous memory, mprotect of anonymous memory and of a file mapping, an unmapped
page: ENOMEM, a memfd, a deleted file), run from a Python workload under the default config
(its interpreter's and the program's shared libraries are not recorded), and the documents
made from them, host inputs fixed as for the golden batch.

    sudo .venv/bin/python scripts/golden_record_execmap.py           # records + documents
    .venv/bin/python scripts/golden_record_execmap.py --documents    # rewrite the documents

Writes tests/unit/golden/mmap-mod-records.bin.gz and mmap-mod-documents.jsonl.gz, which the
unit tier checks (test_golden, test_execmap) and takes as evidence of the fields written
(test_fields).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))
sys.path.insert(0, str(REPO / "src"))

import golden_record  # noqa: E402

NAME = "mmap-mod"
WORKLOAD = textwrap.dedent(r'''
    import subprocess
    subprocess.run([EXECMAP_WORK, "maps", *ARGS], check=True, stdout=subprocess.DEVNULL)
''')


def record(tmp: Path, *args: str) -> list[bytes]:
    """The records of execmap_work.c run with `args` after its directory."""
    work = tmp / "execmap_work"
    subprocess.run(["gcc", "-O2", "-Wall", "-o", str(work),
                    str(REPO / "tests" / "kernel" / "execmap_work.c")], check=True)
    (tmp / "maps").mkdir()
    unused = os.open(tmp, os.O_RDONLY)
    code = WORKLOAD.replace("EXECMAP_WORK", repr(str(work))).replace("ARGS", repr(list(args)))
    return golden_record._records("all", unused, tmp, code)


if __name__ == "__main__":
    sys.exit(golden_record.extra_main(__doc__ or "", NAME, record))
