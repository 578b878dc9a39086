#!/usr/bin/env python3
"""Carry the recorded golden records and fastpath batches into the header of issue 12 (cgroup
id, parent start, mount and net namespaces, terminal, session leader: 32 bytes after `pidns`).

    .venv/bin/python scripts/golden_add_context.py OLD_HEADER_SIZE
    .venv/bin/python scripts/golden_add_context.py --exec-env   # exec_event's env fields
    .venv/bin/python scripts/golden_record.py --documents

--exec-env: exec records gain env_len, env_count and padding (8 bytes after args_len); the
workload's own exec keeps one entry, `LD_PRELOAD=/golden/preload.so` (fixed, so that the
golden documents hold `process.env_vars`), the others none.

Re-recording the workload would change every pid and time in the golden documents; carrying
the same records over changes only what the new fields add, so a diff of the old and new
documents shows the added fields alone. The values put in: the parent's start time from the
batch's own records (the parent's start_ns; for a parent outside the batch, a fixed time before
the earliest start), this host's mount and net namespace inodes, and fixed cgroup, terminal and
session values that tests/unit/golden.py names (GOLDEN_CGROUPS: the workload in a cgroup named
as docker names it, its children in a Kubernetes pod's containerd scope, theirs in a
systemd-nspawn machine's).
"""

from __future__ import annotations

import gzip
import os
import pickle
import struct
import sys
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.unit import golden  # noqa: E402

NEW = struct.Struct("<QQIIII")
MNT, NET = 4026531832, 4026531833  # this host's initial namespaces when recorded
TTY = 136 << 20 | 3                  # /dev/pts/3


def _carry(recs: list[bytes], old: int) -> list[bytes]:
    starts: dict[int, int] = {}
    for rec in recs:
        pid, start = struct.unpack_from("<I", rec, 8)[0], struct.unpack_from("<Q", rec, 40)[0]
        starts.setdefault(pid, start)
    first = struct.unpack_from("<I", recs[0], 8)[0] if recs else 0  # the workload itself
    before = min(starts.values(), default=0) - 1_234_567_890
    out = []
    for rec in recs:
        pid, ppid = struct.unpack_from("<I", rec, 8)[0], struct.unpack_from("<I", rec, 16)[0]
        cgid = (golden.CGROUP_WORKLOAD if pid == first else golden.CGROUP_CHILD
                if ppid == first else golden.CGROUP_GRANDCHILD)
        extra = NEW.pack(cgid, starts.get(ppid, before), MNT, NET, TTY, first)
        new = bytearray(rec[:old] + extra + rec[old:])
        struct.pack_into("<H", new, 4, len(new))
        out.append(bytes(new))
    return out


def _exec_env(recs: list[bytes]) -> list[bytes]:
    out, first = [], True
    for rec in recs:
        if struct.unpack_from("<H", rec, 0)[0] == 1:  # EK_EXEC
            env = b""
            if first:
                env, first = b"LD_PRELOAD=/golden/preload.so\0", False
            new = bytearray(rec[:128] + struct.pack("<HHI", len(env), 1 if env else 0, 0)
                            + rec[128:] + env)
            struct.pack_into("<H", new, 4, len(new))
            rec = bytes(new)
        out.append(rec)
    return out


def main() -> int:
    if sys.argv[1] == "--exec-env":
        return _rewrite(_exec_env)
    old = int(sys.argv[1])
    return _rewrite(lambda recs: _carry(recs, old))


def _rewrite(change: Callable[[list[bytes]], list[bytes]]) -> int:
    for mode in golden.MODES:
        path = golden.records_path(mode)
        raw = gzip.decompress(path.read_bytes())
        recs, pos = [], 0
        while pos < len(raw):
            (n,) = struct.unpack_from("<I", raw, pos)
            recs.append(raw[pos + 4: pos + 4 + n])
            pos += 4 + n
        recs = change(recs)
        path.write_bytes(gzip.compress(
            b"".join(struct.pack("<I", len(r)) + r for r in recs), mtime=0))
    batches = REPO / "tests/unit/batches"
    for name in sorted(os.listdir(batches)):
        data, spans = pickle.loads(gzip.decompress((batches / name).read_bytes()))
        recs = change([data[o: o + n] for o, n in spans])
        new_data = bytearray()
        new_spans = []
        for r in recs:
            new_spans.append((len(new_data), len(r)))
            new_data += r + b"\0" * (-len(r) % 8)
        (batches / name).write_bytes(gzip.compress(
            pickle.dumps((bytes(new_data), new_spans)), mtime=0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
