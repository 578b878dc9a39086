#!/usr/bin/env python3
"""Record the paths fixture: ring records of opens with a real path beside the given one
(a symlinked directory, a symlinked file, `..`), an exec through a symlink, chdir and fchdir
(success, failure, relative) and a new session, from a real run of the workload below, and
the documents made of them.

    sudo .venv/bin/python scripts/golden_record_paths.py              # records + documents
    .venv/bin/python scripts/golden_record_paths.py --documents       # only the documents

Same method as scripts/golden_record.py (capture.read_write "all", the workload's process tree
kept, host inputs fixed by tests/unit/golden.py); the unit tier compares the documents
(tests/unit/test_golden.py, with and without the compiled core) and checks the field registry
against them (test_fields.py).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "scripts"))
import golden_record  # noqa: E402

NAME = "paths"
WORKLOAD = r"""
import os
W = os.O_WRONLY | os.O_CREAT
os.mkdir("real")
os.symlink("real", "link")
os.close(os.open("real/target", W, 0o644))
os.symlink("real/target", "file-link")
here = os.getcwd()
for p in ("link/via-dir", "file-link", "real/../real/dotdot", "real/plain",
          here + "/link/absolute"):
    os.close(os.open(p, W, 0o644))
os.chdir("link")                     # relative, through a symlink
os.close(os.open("in-cwd", W, 0o644))
try:
    os.chdir("missing")
except FileNotFoundError:
    pass
fd = os.open(here, os.O_RDONLY | os.O_DIRECTORY)
os.fchdir(fd)
os.close(fd)
os.chdir(here + "/link")             # absolute, through a symlink
os.chdir(here)
os.symlink("/usr/bin/true", "true-link")
pid = os.fork()
if pid == 0:
    os.execv(here + "/true-link", ["true-link"])
os.waitpid(pid, 0)
pid = os.fork()
if pid == 0:
    os.setsid()
    os.close(os.open("real/session", W, 0o644))
    os._exit(0)
os.waitpid(pid, 0)
"""


def record(tmp: Path) -> list[bytes]:
    inherited = os.open(tmp / "unused", os.O_RDWR | os.O_CREAT, 0o600)
    return golden_record._records("all", inherited, tmp, WORKLOAD)


if __name__ == "__main__":
    sys.exit(golden_record.extra_main(__doc__ or "", NAME, record))
