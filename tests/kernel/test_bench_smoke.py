"""The benchmark suite still runs: a smoke run writes its report (timings are never checked)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.kernel


class TestBenchSmoke:
    def test_smoke_run_writes_the_tables(self, tmp_path: Path) -> None:
        """`benchmarks/run.py --smoke` finishes and its report holds the overhead, capacity and
        provenance tables."""
        out = tmp_path / "BENCHMARKS.md"
        proc = subprocess.run(
            [sys.executable, str(REPO / "benchmarks" / "run.py"), "--smoke", "--output", str(out)],
            capture_output=True, text=True, timeout=300, cwd=REPO,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        report = out.read_text()
        assert "| workload | bare ops/s (median) | monitor |" in report
        assert "| open+close loop |" in report
        assert "| target opens/s |" in report
        assert "Peak RSS" in report
        assert "| events | index s | index events/s |" in report  # benchmarks/provenance.py
        assert out.with_suffix(".json").exists()
