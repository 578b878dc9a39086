"""Run the real monitor as a subprocess and read what it wrote: shared by the test tiers."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
MONITOR = [sys.executable, "-m", "ebpf_monitor"]

Doc = dict[str, Any]


class Monitor:
    """One monitor process with its own config, events dir and readiness socket."""

    def __init__(self, workdir: Path, config: dict[str, Any], *, stdout: bool = False) -> None:
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.events_dir = workdir / "events"
        config = {"events_dir": str(self.events_dir), "stats_interval": 1, **config}
        self.config_path = workdir / "config.json"
        self.config_path.write_text(json.dumps(config))
        self.config_path.chmod(0o600)
        self.stdout = stdout
        self.proc: subprocess.Popen[bytes] | None = None
        self.stderr_path = workdir / "monitor.stderr"

    @property
    def events_file(self) -> Path:
        return self.events_dir / "events.jsonl"

    def start(self, timeout: float = 60) -> None:
        sock_path = self.workdir / "notify.sock"
        sock_path.unlink(missing_ok=True)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(str(sock_path))
        sock.settimeout(timeout)
        env = dict(os.environ, NOTIFY_SOCKET=str(sock_path))
        cmd = [*MONITOR, "--config", str(self.config_path)]
        if self.stdout:
            cmd.append("--stdout")
        self._stderr = open(self.stderr_path, "wb")  # noqa: SIM115
        self.stdout_path = self.workdir / "monitor.stdout"
        with open(self.stdout_path, "wb") as out:
            self.proc = subprocess.Popen(cmd, env=env, stderr=self._stderr, stdout=out)
        try:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                try:
                    msg = sock.recv(4096).decode()
                except TimeoutError:
                    break
                if "READY=1" in msg.split("\n"):
                    return
            raise AssertionError(f"monitor never became ready: {self.stderr()}")
        finally:
            sock.close()

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGINT, timeout: float = 60) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self._stderr.close()
        return rc

    def events(self) -> list[Doc]:
        """All events in the current events file, read incrementally (the file grows large,
        and reading it makes events of its own)."""
        try:
            st = self.events_file.stat()
        except FileNotFoundError:
            return []
        cache = getattr(self, "_cache", None)
        if cache is None or cache[0] != st.st_ino or st.st_size < cache[1]:
            cache = (st.st_ino, 0, [])
        ino, offset, docs = cache
        with open(self.events_file, "rb") as f:
            f.seek(offset)
            data = f.read()
        # A batch being written may be half-visible to a concurrent reader: whole lines only.
        data = data[: data.rfind(b"\n") + 1]
        docs.extend(json.loads(line) for line in data.splitlines())
        self._cache = (ino, offset + len(data), docs)
        return list(docs)

    def wait_for(self, predicate: Callable[[Doc], bool], timeout: float = 20) -> list[Doc]:
        """Events so far, once one of them matches (events of a process precede its exit)."""
        deadline = time.monotonic() + timeout
        while True:
            docs = self.events()
            if any(predicate(d) for d in docs):
                return docs
            if time.monotonic() > deadline:
                raise AssertionError("expected event never arrived")
            time.sleep(0.05)

    def events_of(self, pid: int, timeout: float = 20) -> list[Doc]:
        """Every event of process `pid`, waiting until its exit has been recorded."""
        docs = self.wait_for(lambda d: d["event"]["action"] == "exit"
                             and d.get("process", {}).get("pid") == pid, timeout)
        return [d for d in docs if d.get("process", {}).get("pid") == pid]


@contextmanager
def running_monitor(workdir: Path, config: dict[str, Any] | None = None,
                    **kwargs: Any) -> Iterator[Monitor]:
    mon = Monitor(workdir, config or {}, **kwargs)
    mon.start()
    try:
        yield mon
    finally:
        mon.stop()


def run_workload(code: str, *args: str) -> tuple[int, str]:
    """Run Python code in a fresh process; returns (its pid, its stdout)."""
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    return proc.pid, out.decode()


def actions(docs: list[Doc]) -> list[str]:
    return [d["event"]["action"] for d in docs]


def signal_name(sig: int) -> str:
    return signal.Signals(sig).name


def scrape_metrics(mon: Monitor) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The monitor's Prometheus figures (config `metrics.listen`, e.g. "127.0.0.1:0"), by
    (sample name, sorted labels)."""
    import re
    import urllib.request

    from prometheus_client.parser import text_string_to_metric_families

    m = re.search(r"metrics at (http://\S+)", mon.stderr())
    assert m, "the monitor logs its metrics URL when metrics.listen is set"
    with urllib.request.urlopen(m[1], timeout=10) as resp:
        text = resp.read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def metric(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str,
           **labels: str) -> float:
    """The sum of `name` over the samples whose labels include `labels`."""
    want = set(labels.items())
    return sum(v for (n, lab), v in samples.items() if n == name and want <= set(lab))
