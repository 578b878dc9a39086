#!/usr/bin/env python3
"""Carry recorded ring records into the header that holds the session leader's start
(`sid_start_ns`, 8 bytes after `sid`, at offset 120 of a 120-byte header), then rewrite the
documents made of them, so a diff of the old and new documents shows the added
`process.session_leader.entity_id` alone.

    .venv/bin/python scripts/golden_add_session.py            # every fixture below
    .venv/bin/python scripts/golden_add_session.py NAME...    # only these extra fixtures

Fixtures: the golden batch (records-{all,first}), each extra fixture (`<name>-records.bin.gz`)
and the fastpath batches (tests/unit/batches). The value put in: the session leader's start
time from the fixture's own records (the start_ns of a record whose pid is the session id),
else 0 (a leader not seen: the kernel writes 0 for one that has exited, and the documents then
carry no entity id). The documents of the golden batch and of each extra fixture carried are
rewritten from the carried records (scripts/golden_record.py --documents does the same for the
batch).
"""

from __future__ import annotations

import gzip
import os
import pickle
import struct
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "src"))

from tests.unit import golden  # noqa: E402

OLD = 120  # bytes of the header before
SID_AT, START_AT, PID_AT, SIZE_AT = 116, 40, 8, 4


def carry(recs: list[bytes]) -> list[bytes]:
    starts: dict[int, int] = {}
    for rec in recs:
        starts.setdefault(struct.unpack_from("<I", rec, PID_AT)[0],
                          struct.unpack_from("<Q", rec, START_AT)[0])
    out = []
    for rec in recs:
        sid = struct.unpack_from("<I", rec, SID_AT)[0]
        new = bytearray(rec[:OLD] + struct.pack("<Q", starts.get(sid, 0) if sid else 0)
                        + rec[OLD:])
        struct.pack_into("<H", new, SIZE_AT, len(new))
        out.append(bytes(new))
    return out


def _read(path: Path) -> list[bytes]:
    raw = gzip.decompress(path.read_bytes())
    recs, pos = [], 0
    while pos < len(raw):
        (n,) = struct.unpack_from("<I", raw, pos)
        recs.append(raw[pos + 4: pos + 4 + n])
        pos += 4 + n
    return recs


def _write(path: Path, recs: list[bytes]) -> None:
    path.write_bytes(gzip.compress(
        b"".join(struct.pack("<I", len(r)) + r for r in recs), mtime=0))


def main() -> int:
    names = sys.argv[1:]
    if not names:
        for mode in golden.MODES:
            _write(golden.records_path(mode), carry(_read(golden.records_path(mode))))
        batches = REPO / "tests/unit/batches"
        for name in sorted(os.listdir(batches)):
            data, spans = pickle.loads(gzip.decompress((batches / name).read_bytes()))
            recs = carry([data[o: o + n] for o, n in spans])
            new_data = bytearray()
            new_spans = []
            for r in recs:
                new_spans.append((len(new_data), len(r)))
                new_data += r + b"\0" * (-len(r) % 8)
            (batches / name).write_bytes(gzip.compress(
                pickle.dumps((bytes(new_data), new_spans)), mtime=0))
        for mode in golden.MODES:
            text = "".join(line + "\n" for line in golden.documents(mode))
            golden.documents_path(mode).write_bytes(gzip.compress(text.encode(), mtime=0))
        names = golden.extra_names()
    for name in names:
        path = golden.extra_records_path(name)
        _write(path, carry(_read(path)))
        text = "".join(line + "\n" for line in golden.extra_documents(name))
        golden.extra_documents_path(name).write_bytes(gzip.compress(text.encode(), mtime=0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
