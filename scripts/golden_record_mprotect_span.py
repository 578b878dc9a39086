#!/usr/bin/env python3
"""Record the mprotect-span fixture: raw ring records of an mprotect asking for PROT_EXEC over
several vmas (tests/kernel/execmap_work.c's "span" run: a file, anonymous memory and another
file in one range, then ten anonymous vmas), one record per vma, and the documents made from
them, host inputs fixed as for the golden batch. Under the default config the span's lib/ is
no library directory, so all three parts of the first range are recorded.

    sudo .venv/bin/python scripts/golden_record_mprotect_span.py           # records + documents
    .venv/bin/python scripts/golden_record_mprotect_span.py --documents    # rewrite the documents

Writes tests/unit/golden/mprotect-span-records.bin.gz and mprotect-span-documents.jsonl.gz
(checked by test_golden; evidence of ebpf.mmap.range_part for test_fields).
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))
sys.path.insert(0, str(REPO / "src"))

import golden_record  # noqa: E402
import golden_record_execmap  # noqa: E402

NAME = "mprotect-span"


def record(tmp: Path) -> list[bytes]:
    return golden_record_execmap.record(tmp, "span")


if __name__ == "__main__":
    sys.exit(golden_record.extra_main(__doc__ or "", NAME, record))
