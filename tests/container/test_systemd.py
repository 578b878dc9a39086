"""The .deb under a real systemd in a container: enable, events, logrotate, restart, stop,
journal, upgrade and purge, in that order, on one booted container."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.harness import wait_until

from .conftest import PATH, Container

UNIT = "ebpf-monitor.service"
EVENTS = "/var/log/ebpf-monitor/events.jsonl"
CONFIG = "/var/config.json"

# The load for the rotation: an open per marker, up to each count read from stdin (the
# test's grants: what is in flight is bounded by counts, not by pacing); at EOF, the count.
MARKERS = """
import sys
d = sys.argv[1]
i = 0
while line := sys.stdin.readline():
    upto = int(line)
    while i < upto:
        open(f"{d}/m{i}", "w").close()
        i += 1
print(i)
"""
BATCH = 500  # markers granted at once: in flight while the file rotates


class Tail:
    """The docs of one events file that mention `token`, read incrementally. The monitor
    records the whole host: only lines naming /var/tmp/ (where every test file is) are kept,
    and only those holding the token parsed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.ino = 0
        self.offset = 0
        self.lines: list[bytes] = []

    def docs(self, token: str) -> list[dict[str, Any]]:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return []
        if st.st_ino != self.ino:
            self.ino, self.offset, self.lines = st.st_ino, 0, []
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            data = f.read()
        data = data[: data.rfind(b"\n") + 1]  # whole lines only
        self.offset += len(data)
        self.lines.extend(line for line in data.splitlines() if b"/var/tmp/" in line)
        raw = token.encode()
        return [json.loads(line) for line in self.lines if raw in line]


OPENS = ("open", "openat", "openat2", "creat")


def _opened(docs: list[dict[str, Any]], path: str) -> list[dict[str, Any]]:
    return [d for d in docs if d.get("file", {}).get("path") == path
            and d["event"]["action"] in OPENS]


def wait_opened(c: Container, path: str, timeout: float = 30) -> dict[str, Any]:
    """The (only) open event of `path` in the current events.jsonl."""
    tail = Tail(c.path(EVENTS))
    found = wait_until(lambda: _opened(tail.docs(path), path), timeout=timeout,
                       what=f"an open of {path} in {EVENTS}")
    assert len(found) == 1, found
    return found[0]


def touch(c: Container) -> tuple[str, int]:
    """Open a fresh file inside through a systemd-run unit; its path and the pid `touch` had."""
    path = f"/var/tmp/touched-{uuid.uuid4().hex}"
    out = c.out("systemd-run", "--wait", "--pipe", "--quiet", "--", "/bin/sh", "-c",
                f"echo $$$$; exec /usr/bin/touch {path}")  # systemd-run expands $$
    return path, int(out.split()[0])


def main_pid(c: Container) -> int:
    return int(c.show(UNIT, "MainPID")["MainPID"])


def assert_running(c: Container) -> None:
    props = c.show(UNIT, "ActiveState", "SubState", "StatusText")
    assert props == {"ActiveState": "active", "SubState": "running",
                     "StatusText": "monitoring"}, c.journal(UNIT)[-3000:]


@pytest.fixture(scope="session")
def installed(container: Container, deb: Path) -> Iterator[Container]:
    """The package installed inside, its config edited (kept across the upgrade), enabled."""
    c = container
    shutil.copyfile(deb, c.path("/root/ebpf-monitor.deb"))
    c.run("dpkg", "-i", "/root/ebpf-monitor.deb")
    config = json.loads(c.path(CONFIG).read_text())
    # Stats every 2 s for the journal test; no read/write events: the monitor records the
    # whole host, whose reads and writes the tests do not need.
    config["stats_interval"] = 2
    config["capture"]["read_write"] = "none"
    c.path(CONFIG).write_text(json.dumps(config, indent=2))
    c.run("systemctl", "enable", "--now", UNIT)
    yield c


class TestService:
    """systemctl, journalctl, logrotate and dpkg drive the service as an admin would."""

    def test_enable_now(self, installed: Container) -> None:
        """enable --now: enabled, active (running) with READY=1 and the status "monitoring"."""
        assert installed.out("systemctl", "is-enabled", UNIT).strip() == "enabled"
        assert_running(installed)

    def test_activity_inside_named(self, installed: Container) -> None:
        """A process inside is recorded with its name, executable, args and pid inside."""
        c = installed
        path, pid_inside = touch(c)
        doc = wait_opened(c, path)
        assert doc["process"]["name"] == "touch"
        assert doc["process"]["executable"] == "/usr/bin/touch"
        assert doc["ebpf"]["pid_ns"]["pid"] == pid_inside
        assert doc["ebpf"]["pid_ns"]["inode"] == c.pidns
        assert doc["process"]["pid"] != pid_inside  # the host's pid
        execs = [d for d in Tail(c.path(EVENTS)).docs(path) if d["event"]["action"] == "execve"
                 and d["process"]["pid"] == doc["process"]["pid"]]  # sh, then touch
        assert execs[-1]["process"]["args"] == ["/usr/bin/touch", path]

    def test_logrotate_loses_nothing(self, installed: Container) -> None:
        """logrotate -f under a steady load: every marker exactly once over both files."""
        c = installed
        d = f"/var/tmp/rotate-{uuid.uuid4().hex}"
        c.run("mkdir", d)
        load = subprocess.Popen(
            ["nsenter", "-t", str(c.init_pid), "-a", "--", "env", "-i", f"PATH={PATH}",
             "systemd-run", "--wait", "--pipe", "--quiet", "--", "python3", "-c", MARKERS, d],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert load.stdin is not None
        stdin = load.stdin

        def grant(upto: int) -> None:
            stdin.write(f"{upto}\n")
            stdin.flush()

        try:
            old = Tail(c.path(EVENTS))
            old_ino = c.path(EVENTS).stat().st_ino
            grant(1)
            _wait(lambda: _opened(old.docs(d), f"{d}/m0"), "first marker before rotation")
            granted = 1 + BATCH
            grant(granted)  # written while logrotate renames the file
            c.run("logrotate", "-f", "/etc/logrotate.d/ebpf-provenance")
            rotated = Tail(c.path(EVENTS + ".1"))
            new = Tail(c.path(EVENTS))
            # The HUP is asynchronous: grant batch after batch, each seen (in either file)
            # before the next, until the reopened file holds a run of markers too.
            for _ in range(100):
                last = f"{d}/m{granted - 1}"
                _wait(lambda m=last: _opened(rotated.docs(m), m) or _opened(new.docs(m), m),
                      f"marker {granted - 1}")
                if (c.path(EVENTS).stat().st_ino != old_ino
                        and len(new.docs(f"{d}/m")) >= 100):
                    break
                granted += BATCH
                grant(granted)
            else:
                raise AssertionError(f"{granted} markers, none 100 in the new events.jsonl")
        finally:
            out, err = load.communicate(timeout=120)  # EOF on stdin: the load ends
        assert load.returncode == 0, err
        count = int(out.split()[0])
        print(f"logrotate under load: {count} markers")
        assert count == granted
        last = f"{d}/m{count - 1}"
        _wait(lambda: _opened(rotated.docs(last), last) or _opened(new.docs(last), last),
              "the last marker")
        docs = rotated.docs(f"{d}/m") + new.docs(f"{d}/m")
        seen: dict[str, int] = {}
        for doc in docs:
            marker = doc.get("file", {}).get("path", "")
            if doc["event"]["action"] in OPENS and marker.startswith(f"{d}/m"):
                seen[marker] = seen.get(marker, 0) + 1
        expected = {f"{d}/m{i}" for i in range(count)}
        assert set(seen) == expected, f"lost: {sorted(expected - set(seen))[:10]}"
        assert [p for p, n in seen.items() if n != 1] == []
        assert rotated.docs(f"{d}/m") and new.docs(f"{d}/m")  # both files hold some
        # The monitor's own reopen is not recorded: nothing of its process at all.
        mine = {"pid": main_pid(c), "inode": c.pidns}
        assert [x for x in docs if {k: x.get("ebpf", {}).get("pid_ns", {}).get(k)
                                    for k in mine} == mine] == []

    def test_restart(self, installed: Container) -> None:
        """systemctl restart: a new main process, running, recording."""
        c = installed
        before = main_pid(c)
        c.run("systemctl", "restart", UNIT)
        assert_running(c)
        assert main_pid(c) != before
        path, _ = touch(c)
        wait_opened(c, path)

    def test_stop_success(self, installed: Container) -> None:
        """systemctl stop ends with Result=success and exit status 0 (no stop timeout)."""
        c = installed
        started = time.monotonic()
        c.run("systemctl", "stop", UNIT)
        took = time.monotonic() - started
        props = c.show(UNIT, "ActiveState", "Result", "ExecMainStatus", "TimeoutStopUSec")
        assert props["ActiveState"] == "inactive"
        assert props["Result"] == "success", c.journal(UNIT)[-3000:]
        assert props["ExecMainStatus"] == "0"
        print(f"systemctl stop took {took:.1f} s (TimeoutStopSec {props['TimeoutStopUSec']})")

    def test_journal(self, installed: Container) -> None:
        """journalctl -u shows the start, the periodic stats and the stop of the monitor."""
        text = installed.journal(UNIT)
        lines = text.splitlines()
        assert any(" hooks attached, events to " in line for line in lines), text
        assert any(": stats: events=" in line for line in lines), text
        assert any(line.endswith(": stopped") for line in lines), text
        assert any(": in a PID namespace: no names from /proc" in line for line in lines)
        assert "Traceback" not in text

    def test_upgrade_keeps_config_restarts(self, installed: Container, deb: Path,
                                           tmp_path: Path) -> None:
        """dpkg -i of a higher version over a running service keeps the edited config and
        runs a new process."""
        c = installed
        c.run("systemctl", "start", UNIT)
        assert_running(c)
        config = c.path(CONFIG).read_text()
        before = main_pid(c)
        old = c.run("dpkg-query", "-W", "-f=${Version}", "ebpf-monitor").stdout.strip()
        # The same tree under a higher version: dpkg runs its real upgrade path (prerm upgrade,
        # postinst configure <old version>), not a reinstall.
        tree = tmp_path / "next"
        subprocess.run(["dpkg-deb", "-R", str(deb), str(tree)], check=True)
        control = tree / "DEBIAN" / "control"
        control.write_text(control.read_text().replace(f"Version: {old}\n",
                                                       f"Version: {old}+next1\n"))
        subprocess.run(["dpkg-deb", "--root-owner-group", "--build", str(tree),
                        str(c.path("/root/ebpf-monitor-next.deb"))], check=True,
                       capture_output=True)
        c.run("dpkg", "-i", "/root/ebpf-monitor-next.deb")
        new = c.run("dpkg-query", "-W", "-f=${Version}", "ebpf-monitor").stdout.strip()
        assert new == f"{old}+next1"
        assert c.path(CONFIG).read_text() == config
        assert_running(c)
        assert main_pid(c) != before
        path, _ = touch(c)
        wait_opened(c, path)

    def test_purge_keeps_events(self, installed: Container) -> None:
        """dpkg --purge stops the service, removes program, unit, config; the events stay."""
        c = installed
        path, _ = touch(c)
        wait_opened(c, path)
        c.run("dpkg", "--purge", "ebpf-monitor")
        assert c.run("systemctl", "is-active", UNIT, check=False).stdout.strip() != "active"
        for gone in ("/opt/ebpf-monitor", "/usr/bin/ebpf-monitor", CONFIG,
                     "/lib/systemd/system/ebpf-monitor.service",
                     "/etc/logrotate.d/ebpf-provenance", "/var/lib/ebpf-monitor"):
            assert not c.path(gone).exists() and not c.path(gone).is_symlink(), gone
        assert _opened(Tail(c.path(EVENTS)).docs(path), path)


def _wait(cond: Any, what: str, timeout: float = 60) -> None:
    wait_until(cond, timeout=timeout, what=what)
