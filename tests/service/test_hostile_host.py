"""The monitor as root on a host with hostile users and odd file systems: it never writes
through another user's link, runs once per directory, and says what is wrong in one line."""

from __future__ import annotations

import errno
import json
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.monitor_harness import running_monitor

MONITOR = [sys.executable, "-m", "ebpf_monitor"]
NOBODY = 65534


def run_monitor(config: dict[str, Any], workdir: Path, *args: str
                ) -> subprocess.CompletedProcess[str]:
    """The real CLI on a config; it is expected to refuse before loading BPF."""
    path = workdir / "config.json"
    path.write_text(json.dumps(config))
    path.chmod(0o600)
    return subprocess.run([*MONITOR, *args, "--config", str(path)], capture_output=True,
                          text=True, timeout=120)


def assert_one_line(proc: subprocess.CompletedProcess[str], status: int, text: str) -> None:
    assert proc.returncode == status, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("ebpf-monitor: "), proc.stderr
    assert text in proc.stderr, proc.stderr


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A root-owned 0755 directory another user can reach (pytest's tmp_path is 0700)."""
    path = Path(tempfile.mkdtemp(prefix="ebpf-monitor-hostile-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


@pytest.fixture
def victim(shared_dir: Path) -> Path:
    path = shared_dir / "victim"
    path.write_bytes(b"root's secret\npartial")
    path.chmod(0o600)
    return path


class TestPlantedLink:
    """uid 65534 plants `events.jsonl -> a root-owned file` in an events_dir it can write."""

    def test_refused_and_target_untouched(self, shared_dir: Path, victim: Path) -> None:
        """The monitor refuses, with one line, both the open directory and the link left in
        it once the directory is fixed; the root-owned 0600 target keeps every byte."""
        ev = shared_dir / "ev"
        ev.mkdir()
        ev.chmod(0o777)
        subprocess.run(["ln", "-s", str(victim), str(ev / "events.jsonl")], check=True,
                       user=NOBODY, group=NOBODY, extra_groups=[])
        assert (ev / "events.jsonl").lstat().st_uid == NOBODY
        config = {"events_dir": str(ev)}
        proc = run_monitor(config, shared_dir)
        assert_one_line(proc, 2, f"events_dir: {ev} is writable by group or others (mode 777):"
                                 f" run chmod go-w {ev}")
        ev.chmod(0o755)
        proc = run_monitor(config, shared_dir)
        assert_one_line(proc, 2, f"{ev}/events.jsonl: is a symbolic link; the monitor never"
                                 " writes through one: remove it")
        assert victim.read_bytes() == b"root's secret\npartial"
        assert stat.S_IMODE(victim.stat().st_mode) == 0o600

    def test_check_config_says_the_same(self, shared_dir: Path, victim: Path) -> None:
        """check-config reports the planted link as start does."""
        ev = shared_dir / "ev"
        ev.mkdir(mode=0o755)
        (ev / "events.jsonl").symlink_to(victim)
        proc = run_monitor({"events_dir": str(ev)}, shared_dir, "check-config")
        assert_one_line(proc, 2, "events.jsonl: is a symbolic link")

    def test_config_in_open_directory_refused(self, shared_dir: Path) -> None:
        """A config file in a directory others can write is refused like a writable one."""
        etc = shared_dir / "etc"
        etc.mkdir()
        etc.chmod(0o777)
        proc = run_monitor({"events_dir": str(shared_dir / "ev")}, etc)
        assert_one_line(proc, 2, f"directory {etc} is writable by group or others")


class TestOneMonitorPerDirectory:
    """A second monitor on the same directories exits 1 naming the first one's pid."""

    def test_second_instance_refused(self, tmp_path: Path) -> None:
        """Same config, or only events_dir shared: refused before it touches any file."""
        with running_monitor(tmp_path / "first") as first:
            config = json.loads(first.config_path.read_text())
            proc = run_monitor(config, tmp_path)
            assert_one_line(proc, 1, f"another ebpf-monitor (pid {first.pid}) is running on"
                                     " this directory")
            other_state = {**config, "output_dir": str(tmp_path / "state2")}
            proc = run_monitor(other_state, tmp_path)
            assert_one_line(proc, 1, f"(pid {first.pid})")
            assert first.proc is not None and first.proc.poll() is None
            assert not list(first.events_dir.glob("events.jsonl.partial-*"))
        assert first.proc.returncode == 0


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    mnt = tmp_path / "fs"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=0755", "tmpfs", str(mnt)],
                   check=True)
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=True)


class TestUnwritableEventsDir:
    """Read-only, immutable, a directory in the file's place, a NUL: one line, no traceback."""

    def test_read_only_mount(self, tmp_path: Path, small_fs: Path) -> None:
        """events_dir on a read-only mount: exit 1 naming the directory, at start and in
        check-config."""
        subprocess.run(["mount", "-o", "remount,ro", str(small_fs)], check=True)
        for path in (small_fs, small_fs / "ev"):
            for args in ((), ("check-config",)):
                proc = run_monitor({"events_dir": str(path)}, tmp_path, *args)
                assert_one_line(proc, 1, f"events_dir: {small_fs} is on a read-only file system")

    def test_immutable(self, tmp_path: Path) -> None:
        """An immutable events_dir: exit 1 with the chattr that fixes it."""
        ev = tmp_path / "ev"
        ev.mkdir(mode=0o750)
        subprocess.run(["chattr", "+i", str(ev)], check=True)
        try:
            proc = run_monitor({"events_dir": str(ev)}, tmp_path)
        finally:
            subprocess.run(["chattr", "-i", str(ev)], check=True)
        assert_one_line(proc, 1, f"events_dir: {ev} is immutable or append-only: run chattr")

    def test_events_file_is_a_directory(self, tmp_path: Path) -> None:
        """events.jsonl that is a directory: exit 2 naming it."""
        ev = tmp_path / "ev"
        (ev / "events.jsonl").mkdir(parents=True)
        ev.chmod(0o750)
        proc = run_monitor({"events_dir": str(ev)}, tmp_path)
        assert_one_line(proc, 2, f"{ev}/events.jsonl: is a directory")

    def test_nul_byte(self, tmp_path: Path) -> None:
        """A NUL byte in events_dir: exit 2 naming the key."""
        proc = run_monitor({"events_dir": f"{tmp_path}/a\0b"}, tmp_path)
        assert_one_line(proc, 2, "events_dir: a path cannot hold a NUL byte")


class TestWritableFileRepaired:
    def test_mode_repaired(self, tmp_path: Path) -> None:
        """An existing 0666 events.jsonl is set to 0640 at start, and stderr says so."""
        ev = tmp_path / "mon" / "events"
        ev.mkdir(parents=True, mode=0o750)
        (ev / "events.jsonl").write_text("")
        (ev / "events.jsonl").chmod(0o666)
        with running_monitor(tmp_path / "mon") as mon:
            assert stat.S_IMODE((ev / "events.jsonl").stat().st_mode) == 0o640
        assert "was writable by group or others (mode 666): set to 640" in mon.stderr()


def _fill(path: Path) -> None:
    """Write `path` until the file system is full."""
    block = b"\0" * 65536
    with open(path, "wb", buffering=0) as f:
        try:
            while True:
                f.write(block)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    with open(path, "ab", buffering=0) as f:  # the last few bytes too
        try:
            while True:
                f.write(b"\0" * 512)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC


def _opens(n: int) -> None:
    subprocess.run([sys.executable, "-c", f"for _ in range({n}): open('/etc/hostname').close()"],
                   check=True)


class TestDiskFull:
    """Every failing spell is logged at its start and its end, with the loss record's count."""

    SPELL_END = re.compile(r"writing again; (\d+) events lost in this spell \((\d+) in all\)")

    def test_two_spells(self, tmp_path: Path, small_fs: Path) -> None:
        """Two disk-full spells on a real tmpfs: two start lines, two end lines, and two loss
        records with the same counts; the totals add up."""
        ev = small_fs / "ev"
        with running_monitor(tmp_path / "mon", {"events_dir": str(ev)}) as mon:
            records: list[dict[str, Any]] = []
            # Space comes back by growing the file system (remount), not by deleting the
            # filler: the whole host's events (other work included) would fill freed space
            # again before the spell could end.
            for spell, grown in ((1, "64m"), (2, "1g")):
                _fill(small_fs / f"filler{spell}")
                _opens(2000)  # events that cannot be written
                wait_until(lambda s=spell: mon.stderr().count("cannot write events: disk full")
                           == s, f"spell {spell} to start")
                subprocess.run(["mount", "-o", f"remount,size={grown}", str(small_fs)],
                               check=True)
                for _ in range(2):
                    _opens(50)  # events that can, more than a second apart from the failure
                wait_until(lambda s=spell: len(self.SPELL_END.findall(mon.stderr())) == s,
                           f"spell {spell} to end", timeout=120)

                def loss_records() -> list[dict[str, Any]]:
                    lines = (ev / "events.jsonl").read_bytes().splitlines()
                    return [d for d in map(json.loads, lines)
                            if d["event"]["action"] == "loss"
                            and d["ebpf"]["lost"]["source"] == "jsonl"]

                wait_until(lambda s=spell: len(loss_records()) == s,
                           f"loss record {spell}")
                records = loss_records()
        ends = [(int(n), int(total)) for n, total in self.SPELL_END.findall(mon.stderr())]
        assert [(r["ebpf"]["lost"]["count"], r["ebpf"]["lost"]["total"]) for r in records] == ends
        assert ends[0][0] > 0 and ends[1][0] > 0
        assert ends[1][1] == ends[0][0] + ends[1][0]
        assert mon.stderr().count("cannot write events: disk full") == 2

    def test_stop_during_a_spell(self, tmp_path: Path, small_fs: Path) -> None:
        """Stopped while writes still fail: the open spell is logged with its count, exit 0."""
        with running_monitor(tmp_path / "mon", {"events_dir": str(small_fs / "ev")}) as mon:
            _fill(small_fs / "filler")
            _opens(2000)
            wait_until(lambda: "cannot write events: disk full" in mon.stderr(), "the spell")
        assert mon.proc is not None and mon.proc.returncode == 0
        m = re.search(r"closing while writes fail: (\d+) events lost in this spell"
                      r" \((\d+) in all\)", mon.stderr())
        assert m is not None, mon.stderr()
        assert int(m[1]) == int(m[2]) > 0
