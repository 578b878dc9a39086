"""The monitor and the processes it watches inside PID namespaces (containers)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ebpf_monitor.selfpid import host_pid, in_initial_pid_namespace
from tests.monitor_harness import REPO, Doc, Monitor, running_monitor, wait_until

# --kill-child: the monitor dies with unshare (setpriv's pdeathsig reaches only unshare).
UNSHARE = ("unshare", "--pid", "--fork", "--mount-proc", "--kill-child")

# Prints its pid as it sees it, then opens a marker file (an event to find).
WORKLOAD = """
import os, sys, threading
print(os.getpid(), os.getppid(), flush=True)
def work():
    print(threading.get_native_id(), flush=True)
    open(sys.argv[1], "w").close()
t = threading.Thread(target=work); t.start(); t.join()
"""


def _ns_pid_of(host_pid: int) -> list[int]:
    """NSpid of a live process: its pid in each namespace from the host's down."""
    for line in Path(f"/proc/{host_pid}/status").read_text().splitlines():
        if line.startswith("NSpid:"):
            return [int(x) for x in line.split()[1:]]
    raise AssertionError(f"no NSpid for {host_pid}")


class TestSelfRecognition:
    """A monitor in its own PID namespace knows its host pid and ignores its own activity."""

    def test_host_pid_on_the_host(self) -> None:
        """In the initial namespace the host pid is getpid()."""
        assert in_initial_pid_namespace()
        assert host_pid() == os.getpid()

    def test_host_pid_on_the_host_needs_no_bpf(self) -> None:
        """Without the capabilities to load a task iterator, the host side still gets getpid()."""
        code = ("from ebpf_monitor.selfpid import host_pid; import os;"
                " print(host_pid(), os.getpid())")
        # Root without any capability after exec: loading BPF programs fails with EPERM.
        out = subprocess.run(["setpriv", "--inh-caps=-all", "--bounding-set=-all",
                              sys.executable, "-c", code], cwd=REPO, capture_output=True,
                             text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        host, pid = out.stdout.split()
        assert host == pid

    def test_host_pid_found_inside_a_namespace(self) -> None:
        """selfpid.host_pid() inside `unshare --pid` is the host's pid of that process."""
        code = ("from ebpf_monitor.selfpid import host_pid; import os, sys;"
                " print(host_pid(), os.getpid(), flush=True); sys.stdin.read()")
        proc = subprocess.Popen([*UNSHARE, sys.executable, "-c", code], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True, cwd=REPO)
        try:
            assert proc.stdout is not None
            host, inside = (int(x) for x in proc.stdout.readline().split())
            assert inside == 1
            assert host != inside
            assert _ns_pid_of(host) == [host, inside]  # that host pid is this very process
        finally:
            proc.communicate("", timeout=30)
        assert proc.returncode == 0

    def test_own_writes_not_recorded(self, tmp_path: Path) -> None:
        """Its writes to events.jsonl make no events: no feedback loop, no growth by itself."""
        # Only what the checks below look at is held: the monitor records the whole host, and
        # under other jobs' load (15-40k events/s here) it lags and its file outgrows memory.
        events_file = str(tmp_path / "run" / "events" / "events.jsonl")
        monitor_pid: list[int] = []

        def checked(d: Doc) -> bool:
            return (d.get("process", {}).get("pid") in monitor_pid
                    or d.get("file", {}).get("path") == events_file)

        with running_monitor(tmp_path / "run", prefix=UNSHARE, keep=checked) as mon:
            host_pid = mon.pid
            monitor_pid.append(host_pid)  # before anything is read
            assert str(mon.events_file) == events_file
            assert _ns_pid_of(host_pid)[-1] == 1  # really in another namespace
            # Each marker's events make the monitor write; the next marker is recorded after
            # those writes would have been. A lagging monitor gets a longer deadline.
            for i in range(3):
                marker = tmp_path / f"marker-{i}"
                subprocess.run(["touch", str(marker)], check=True)
                mon.wait_for(lambda d, m=str(marker): d.get("file", {}).get("path") == m,
                             timeout=120)
            docs = mon.events()
        own = [d for d in docs if d.get("process", {}).get("pid") == host_pid]
        assert own == [], f"{len(own)} events of the monitor itself, e.g. {own[:1]}"
        # The file is touched only by this test, reading it.
        touched = {d["process"]["pid"] for d in docs
                   if d.get("file", {}).get("path") == str(mon.events_file)}
        assert touched <= {os.getpid()}
        assert mon.proc is not None and mon.proc.returncode == 0, mon.stderr()


# Stands in for a monitor that hangs on stop: ignores SIGINT and SIGTERM.
STUBBORN = ("import signal, sys; [signal.signal(s, signal.SIG_IGN) for s in"
            " (signal.SIGINT, signal.SIGTERM)]; print('up', flush=True); signal.pause()")


def _gone(pid: int) -> bool:
    """No such process, or only its zombie left."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


class TestStopTimeout:
    """A process under a forking wrapper that will not stop is killed, not only the wrapper."""

    def test_killed_under_wrapper(self, tmp_path: Path) -> None:
        """stop() past its timeout leaves no process of the wrapper's child running."""
        # No --kill-child here: the harness alone must get the child.
        mon = Monitor(tmp_path, {}, command=[sys.executable, "-c", STUBBORN],
                      prefix=("unshare", "--pid", "--fork"))
        mon.launch()
        pid = 0
        try:
            wait_until(lambda: mon.stdout_path.read_text() == "up\n", timeout=30,
                       what="the stand-in to start", seen=mon.stderr_tail)
            pid = mon.pid
            mon.stop(timeout=0.5, strict=False)
            wait_until(lambda: _gone(pid), timeout=10, what=f"pid {pid} to be gone")
        finally:
            if pid and not _gone(pid):
                os.kill(pid, 9)

    def test_unshare_prefix_kills_its_child(self, tmp_path: Path) -> None:
        """With UNSHARE, killing only the wrapper ends the process it forked as well."""
        mon = Monitor(tmp_path, {}, command=[sys.executable, "-c", STUBBORN], prefix=UNSHARE)
        mon.launch()
        pid = 0
        try:
            wait_until(lambda: mon.stdout_path.read_text() == "up\n", timeout=30,
                       what="the stand-in to start", seen=mon.stderr_tail)
            pid = mon.pid
            assert mon.proc is not None
            mon.proc.kill()
            mon.proc.wait()
            wait_until(lambda: _gone(pid), timeout=10, what=f"pid {pid} to be gone")
        finally:
            if pid and not _gone(pid):
                os.kill(pid, 9)
            mon.stop(strict=False)


def _marker_docs(mon: Monitor, marker: Path) -> list[Doc]:
    docs = mon.wait_for(lambda d: d.get("file", {}).get("path") == str(marker))
    return [d for d in docs if d.get("file", {}).get("path") == str(marker)]


class TestNamespacePids:
    """Events of a process in another PID namespace carry its pids there under ebpf.pid_ns."""

    def test_pid_as_seen_inside(self, monitor: Monitor, tmp_path: Path) -> None:
        """ebpf.pid_ns pid/tid/ppid are what the process saw; process.pid stays the host's."""
        marker = tmp_path / "in-namespace"
        out = subprocess.run(["unshare", "--pid", "--fork", sys.executable, "-c", WORKLOAD,
                              str(marker)], check=True, capture_output=True, text=True).stdout
        pid, ppid, tid = (int(x) for x in out.split())
        (doc,) = _marker_docs(monitor, marker)
        ns = doc["ebpf"]["pid_ns"]
        assert (ns["pid"], ns["tid"], ns["ppid"]) == (pid, tid, ppid)
        assert (pid, ppid) == (1, 0)  # the namespace's first process; its parent is outside
        assert doc["process"]["pid"] != pid and doc["process"]["thread"]["id"] != tid
        assert ns["inode"] > 0 and ns["inode"] != os.stat("/proc/self/ns/pid").st_ino

    def test_child_inside_has_parent_inside(self, monitor: Monitor, tmp_path: Path) -> None:
        """A child of the namespace's first process names it (pid 1) as its parent there."""
        marker = tmp_path / "child"
        code = ("import subprocess, sys; sys.stdout.flush();"
                f" subprocess.run([sys.executable, '-c', {WORKLOAD!r}, sys.argv[1]], check=True)")
        out = subprocess.run(["unshare", "--pid", "--fork", sys.executable, "-c", code,
                              str(marker)], check=True, capture_output=True, text=True).stdout
        pid, ppid, tid = (int(x) for x in out.split())
        (doc,) = _marker_docs(monitor, marker)
        ns = doc["ebpf"]["pid_ns"]
        assert (ns["pid"], ns["tid"], ns["ppid"]) == (pid, tid, ppid)
        assert ppid == 1 and pid > 1

    def test_host_process_has_none(self, monitor: Monitor, tmp_path: Path) -> None:
        """A process of the initial namespace gets no ebpf.pid_ns."""
        marker = tmp_path / "host"
        subprocess.run(["touch", str(marker)], check=True)
        (doc,) = _marker_docs(monitor, marker)
        assert "pid_ns" not in doc["ebpf"]
