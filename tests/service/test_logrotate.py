"""Real logrotate with the shipped file, pointed at a temp dir, while the monitor runs."""

from __future__ import annotations

import gzip
import json
import subprocess
import threading
import time
from pathlib import Path

from tests.harness import EventsReader, wait_until

from .conftest import LOGROTATE, running_service, wait_for_path


def _rotate(conf: Path, state: Path) -> None:
    result = subprocess.run(["logrotate", "-f", "-s", str(state), str(conf)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def _whole_lines(data: bytes) -> list[dict[str, object]]:
    """Every line parses and the file ends with a newline: nothing was cut."""
    assert data.endswith(b"\n")
    return [json.loads(line) for line in data.splitlines()]


def _paths(docs: list[dict[str, object]]) -> set[str]:
    return {d["file"]["path"] for d in docs if isinstance(d.get("file"), dict)}  # type: ignore[index]


class TestLogrotate:
    def test_rotation_under_load(self, tmp_path: Path) -> None:
        """Rotated files hold complete lines, none is lost, and the monitor writes anew."""
        events, state_dir, load = tmp_path / "events", tmp_path / "state", tmp_path / "load"
        load.mkdir()
        conf = tmp_path / "ebpf-provenance"
        text = (LOGROTATE.read_text()
                .replace("/var/log/ebpf-monitor", str(events))
                .replace("/var/lib/ebpf-monitor", str(state_dir))
                # Always the pid-file branch, even on a host where the real service runs.
                .replace("ebpf-monitor.service", "ebpf-monitor-rotation-test.service"))
        assert "copytruncate" not in text.split("{", 1)[1]
        conf.write_text(text)
        conf.chmod(0o644)
        status = tmp_path / "logrotate.status"
        config = {"events_dir": str(events), "output_dir": str(state_dir), "stats_interval": 60}
        written: list[str] = []
        stop = threading.Event()

        def _load() -> None:  # steady file events, so rotation happens mid-stream
            i = 0
            while not stop.is_set():
                path = load / f"f{i}"
                path.write_text("x")
                written.append(str(path))
                i += 1
                time.sleep(0.002)

        with running_service(tmp_path / "run", config) as svc:
            assert (state_dir / "ebpf-monitor.pid").read_text().strip() == str(svc.pid)
            current = events / "events.jsonl"
            reader = EventsReader(current)

            def load_events(n: int, when: str) -> None:
                """Wait until the current events.jsonl holds `n` of the load's writes."""
                def count() -> int:
                    return sum(1 for d in reader.docs()
                               if d.get("file", {}).get("path", "").startswith(f"{load}/"))
                wait_until(lambda: count() >= n, timeout=60, seen=count,
                           what=f"{n} load events in events.jsonl {when}")

            worker = threading.Thread(target=_load)
            worker.start()
            try:
                # Each of the three files gets some of the load: rotation happens mid-stream.
                load_events(50, "before the first rotation")
                _rotate(conf, status)
                load_events(50, "before the second rotation")
                _rotate(conf, status)
                load_events(50, "after the second rotation")
            finally:
                stop.set()
                worker.join()
            assert (current.stat().st_mode & 0o777) == 0o640  # logrotate's "create"
            after = tmp_path / "after-rotation"
            after.write_text("x")
            wait_for_path(current, str(after))
            assert svc.proc is not None and svc.proc.poll() is None
            wait_for_path(current, written[-1])  # the last load event is on disk
        first = _whole_lines(gzip.decompress((events / "events.jsonl.2.gz").read_bytes()))
        second = _whole_lines((events / "events.jsonl.1").read_bytes())  # delaycompress
        third = _whole_lines(current.read_bytes())
        assert first and second and third
        assert str(after) in _paths(third) and str(after) not in _paths(first + second)
        # Every load write shows up in exactly one of the files: nothing lost to rotation.
        docs = first + second + third
        ids = [d["event"]["id"] for d in docs]  # type: ignore[index]
        assert len(ids) == len(set(ids))
        missing = set(written) - _paths(docs)
        assert not missing, sorted(missing)[:5]
