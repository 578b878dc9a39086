"""The compiled per-event loop (fastpath.py) on live records and in the running monitor."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import orjson
import pytest

from ebpf_monitor.config import Config
from ebpf_monitor.decode import Decoder
from ebpf_monitor.enrich import Enricher
from ebpf_monitor.loader import BpfMonitor
from ebpf_monitor.ringbuf import Batch, RingReader
from tests.harness import Monitor, run_workload, wait_until
from tests.harness.workloads import FILE_WORK, FORK_EXEC, TCP_WORK

# Relative paths, a pipe (fds the kernel did not see opened), a rename, odd names.
SHELL_WORK = r"""
cd "$1"
printf 'x\n' > rel.txt; cat rel.txt | wc -c > /dev/null; cat "$1/rel.txt" > /dev/null
mv rel.txt "$(printf 'caf\303\251 \\ \"q\".txt')"; touch "$(printf 'bad\377name')"
rm -f "$(printf 'bad\377name')"
"""


def _live_batch(read_write: str, workdir: Path) -> tuple[Batch, set[int]]:
    """Records of the workloads, straight from the kernel (this process's own are filtered),
    and the pids of the Python workloads (the batch also holds whatever else the host ran)."""
    cfg = Config.model_validate({"capture": {"read_write": read_write}})
    mon = BpfMonitor(capture=cfg.capture, filters=cfg.filters, self_pid=os.getpid())
    try:
        reader = RingReader(mon.ring_fd, mon.ring_size)
        try:
            reader.read()
            pids = {run_workload(FILE_WORK, str(workdir), "1000")[0],
                    run_workload(FORK_EXEC)[0],
                    run_workload(TCP_WORK, "127.0.0.1")[0],
                    run_workload(TCP_WORK, "::1")[0]}
            subprocess.run(["sh", "-c", SHELL_WORK, "sh", str(workdir)], check=True)
            return reader.read(), pids
        finally:
            reader.close()
    finally:
        mon.close()


class TestLiveRecords:
    """Records from the kernel in each capture mode render the same in C and in Python."""

    @pytest.mark.parametrize("read_write", ["all", "first", "none"])
    def test_identical(self, read_write: str, tmp_path: Path) -> None:
        """Byte for byte, with the workloads' opens of absolute paths made in C."""
        batch, pids = _live_batch(read_write, tmp_path)
        ignored = tuple(Config().filters.ignore_path_prefixes)
        out = []
        for compiled in (False, True):
            # No /proc lookups: the processes may be gone between the two passes.
            en = Enricher(proc_lookups=False)
            en.offset_ns = 1_700_000_000 * 10**9
            dec = Decoder(en, ignored_prefixes=ignored, compiled=compiled)
            out.append((dec.decode(batch), dec))
        (want, py), (got, c) = out
        assert want == got
        assert (py.by_kind, py.filtered, py.errors) == (c.by_kind, c.filtered, c.errors)
        assert c.fast is not None and len(want) > 100
        # Counted on the workloads' own documents: the host's other processes (whatever else
        # runs) bring kinds the C leaves to Python, in any number.
        opens = [d for d in (orjson.loads(doc.json) for doc in want)
                 if d["event"]["action"] == "openat" and d["process"]["pid"] in pids
                 and d.get("file", {}).get("path", "").startswith("/")]
        assert len(opens) > 100
        assert c.fast.made >= len(opens)


class TestRunningMonitor:
    """The monitor uses the compiled core, and its documents are what the workload did."""

    def test_stats_count_compiled_documents(self, monitor: Monitor, tmp_path: Path) -> None:
        """The stats line counts documents made in C; the workload's file events are exact."""
        n = 4321
        pid, _ = run_workload(FILE_WORK, str(tmp_path), str(n))
        docs = monitor.events_of(pid)
        path = str(tmp_path / "a.txt")
        opens = [d for d in docs if d["event"]["action"] == "openat"
                 and d.get("file", {}).get("path") == path]
        writes = [d for d in docs if d["event"]["action"] == "write"]
        assert [o["ebpf"]["ret"] >= 0 for o in opens] == [True, True]
        assert opens[0]["ebpf"]["mode"] == 0o640
        assert [w["ebpf"]["bytes"] for w in writes] == [n]
        assert writes[0]["file"]["path"] == path
        assert writes[0]["event"]["id"].endswith(f"-{pid:x}")

        def compiled() -> int | None:
            found = re.findall(r"stats: .* compiled=(\d+)", monitor.stderr())
            return int(found[-1]) if found and int(found[-1]) > 0 else None

        made = wait_until(compiled, timeout=20, what="a stats line with compiled=N > 0")
        assert made > 0
