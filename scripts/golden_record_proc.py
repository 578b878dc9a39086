#!/usr/bin/env python3
"""Record the hooks-proc golden fixture: credential records (set*id, capset, the ids of a
set-uid exec), calls on another process (signals, ptrace, process_vm_*), namespace and mount
changes, and the documents made
from them (tests/unit/golden.py, extra_names()).

    sudo .venv/bin/python scripts/golden_record_proc.py              # records + documents
    .venv/bin/python scripts/golden_record_proc.py --documents       # only the documents

The workloads are the kernel tier's (tests/kernel/test_creds.py, test_targets.py,
test_mounts.py):
cred_work.c (every set*id variant, success and EPERM, capset ok and EINVAL, then an exec of a
set-uid-root copy of `id` as uid 65534) and target_work.c (kill, tkill, tgkill,
pidfd_send_signal, ptrace, process_vm_readv/writev on a child, success and failure),
mount_work.c (setns, unshare, mount, umount2, chroot, pivot_root, in a mount namespace of its
own, success and failure), bpf_work.c (a BPF_PROG_LOAD, one failing, a map lookup), fileless_work.c
(memfd_create, userfaultfd, each ok and failing; /bin/true run from a memfd and from a
deleted file); only
their processes' records are kept.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "scripts"))
import golden_record  # noqa: E402

NAME = "hooks-proc"


def _records(tmp: Path) -> list[bytes]:
    from ebpf_monitor.abi import layout

    for name in ("cred_work", "target_work", "mount_work", "bpf_work", "fileless_work"):
        subprocess.run(["gcc", "-O2", "-Wall", "-o", str(tmp / name),
                        str(REPO / "tests" / "kernel" / f"{name}.c")], check=True)
    tmp.chmod(0o755)  # uid 65534 execs the set-uid copy from here
    suid = tmp / "suid-id"
    shutil.copy2(shutil.which("id") or "/usr/bin/id", suid)
    os.chown(suid, 0, 0)
    suid.chmod(0o4755)

    def run() -> set[int]:
        proc = subprocess.run([str(tmp / "cred_work"), str(suid)], check=True,
                              stdout=subprocess.PIPE)
        pids = {int(proc.stdout.split()[0])}
        proc = subprocess.run([str(tmp / "target_work")], check=True, stdout=subprocess.PIPE)
        pids |= {int(p) for p in proc.stdout.split()}
        proc = subprocess.run([str(tmp / "bpf_work")], check=True, stdout=subprocess.PIPE)
        pids |= {int(p) for p in proc.stdout.split()}
        (tmp / "unlinked").mkdir()
        proc = subprocess.run([str(tmp / "fileless_work"), str(tmp / "unlinked")], check=True,
                              stdout=subprocess.PIPE)
        pids |= {int(p) for p in proc.stdout.split()}
        (tmp / "mnt").mkdir()
        proc = subprocess.run([str(tmp / "mount_work"), str(tmp / "mnt")], check=True,
                              stdout=subprocess.PIPE)
        pids |= {int(p) for p in proc.stdout.split()}
        return pids

    recs, pids = golden_record.ring_records(None, run)
    header = layout("event_header")
    pid_i = header.fields.index("pid")
    return [rec for rec in recs if header.struct.unpack_from(rec)[pid_i] in pids]


if __name__ == "__main__":
    sys.exit(golden_record.extra_main(__doc__ or "", NAME, _records))
