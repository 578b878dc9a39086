"""Kernel drops told apart by cause: a ring that is full ("without room") against a write that
failed while the ring had room (not for lack of space), in the counters and `loss` records."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

from tests.harness import Monitor, run_workload, wait_until

OPENS = """
import os, sys
for _ in range(int(sys.argv[2])):
    os.close(os.open(sys.argv[1], os.O_RDONLY))
"""
# 256 KiB hold ~1,500 open records: 20,000 opens overflow it many times over.
RING = 256 * 1024
CONFIG = {"capture": {"ring_buffer_bytes": RING, "wakeup_bytes": 1 << 30}}


def _ring_losses(mon: Monitor) -> list[dict[str, Any]]:
    return [d["ebpf"]["lost"] for d in mon.events()
            if d["event"]["action"] == "loss" and d["ebpf"]["lost"]["source"] == "ring_buffer"]


class TestDropRoom:
    def test_full_ring_drops_count_without_room(self, tmp_path: Path) -> None:
        """With the reader stopped (SIGSTOP) a burst fills a tiny ring: every drop then
        happens with the ring full, so the loss records count them all "without room" and
        none "with room", and carry both fields."""
        target = tmp_path / "target"
        target.write_text("x")
        mon = Monitor(tmp_path / "run", CONFIG)
        mon.start()
        try:
            os.kill(mon.pid, signal.SIGSTOP)  # the consumer position cannot move now
            try:
                run_workload(OPENS, str(target), "20000")
            finally:
                os.kill(mon.pid, signal.SIGCONT)
            losses = wait_until(lambda: _ring_losses(mon) or None, timeout=60,
                                what="a ring_buffer loss record after the burst",
                                seen=mon.stderr_tail)
        finally:
            assert mon.stop(signal.SIGTERM) == 0
        losses = _ring_losses(mon)
        for lost in losses:
            assert 0 <= lost["with_room"] <= lost["count"], lost
        assert sum(lost["without_room"] for lost in losses) > 0
        # Drops while the monitor ran (before the stop, from a busy host) could only add
        # drops with room through the ring's lock giving up, which a tracepoint program on
        # this kernel does not see: none at all.
        assert sum(lost["with_room"] for lost in losses) == 0, losses
        assert sum(lost["count"] for lost in losses) == losses[-1]["total"]
        assert "drops_with_room=0" in mon.stderr()
