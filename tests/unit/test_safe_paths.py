"""Files the monitor writes are never reached through a link or a directory others can write."""

from __future__ import annotations

import json
import os
import stat
from contextlib import ExitStack
from pathlib import Path

import pytest

from ebpf_monitor._safedir import SafeDir, check_dir
from ebpf_monitor.document import Document
from ebpf_monitor.errors import ConfigError, HostError, UnsafePathError
from ebpf_monitor.sinks.jsonl import JsonlSink
from ebpf_monitor.spool import Spool

DOC = Document("1", "", '{"event":{"id":"1"}}')


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    """A file an attacker would like the monitor to overwrite."""
    path = tmp_path / "victim"
    path.write_bytes(b"precious\npartial")
    path.chmod(0o600)
    return path


def unchanged(victim: Path) -> bool:
    return victim.read_bytes() == b"precious\npartial"


class TestEventsFile:
    """The JSON-lines sink refuses what it must not write through."""

    def test_symlink_refused(self, tmp_path: Path, victim: Path) -> None:
        """events.jsonl planted as a link to another file: refused, the target untouched."""
        ev = tmp_path / "ev"
        ev.mkdir(mode=0o750)
        (ev / "events.jsonl").symlink_to(victim)
        with pytest.raises(UnsafePathError, match=r"events\.jsonl: is a symbolic link"):
            JsonlSink(ev / "events.jsonl")
        assert unchanged(victim)

    def test_world_writable_dir_refused(self, tmp_path: Path, victim: Path) -> None:
        """An existing events_dir others can write is refused with the fix in the message."""
        ev = tmp_path / "ev"
        ev.mkdir()
        ev.chmod(0o777)
        (ev / "events.jsonl").symlink_to(victim)
        with pytest.raises(UnsafePathError, match=r"writable by group or others \(mode 777\):"
                           r" run chmod go-w"):
            JsonlSink(ev / "events.jsonl")
        assert unchanged(victim)

    def test_sticky_dir_refused_too(self, tmp_path: Path) -> None:
        """A sticky world-writable events_dir (like /tmp) is refused: others can still plant
        the names the monitor will create."""
        ev = tmp_path / "ev"
        ev.mkdir()
        ev.chmod(0o1777)
        with pytest.raises(UnsafePathError, match="mode 1777"):
            JsonlSink(ev / "events.jsonl")

    def test_created_dir_mode(self, tmp_path: Path) -> None:
        """A missing events_dir (and its missing parents) is created 0750."""
        path = tmp_path / "a" / "b" / "events.jsonl"
        with JsonlSink(path) as sink:
            sink.write([DOC])
        for d in (tmp_path / "a", tmp_path / "a" / "b"):
            assert stat.S_IMODE(d.stat().st_mode) == 0o750
        assert stat.S_IMODE(path.stat().st_mode) == 0o640

    def test_writable_file_repaired(self, tmp_path: Path, caplog: pytest.LogCaptureFixture
                                    ) -> None:
        """An existing events.jsonl others can write is set to 0640, and the log says so."""
        path = tmp_path / "events.jsonl"
        path.write_text("")
        path.chmod(0o666)
        with JsonlSink(path) as sink:
            sink.write([DOC])
        assert stat.S_IMODE(path.stat().st_mode) == 0o640
        assert "was writable by group or others (mode 666): set to 640" in caplog.text

    def test_hard_link_refused(self, tmp_path: Path, victim: Path) -> None:
        """A hard link to another file is not the monitor's file: refused, target untouched."""
        os.link(victim, tmp_path / "events.jsonl")
        with pytest.raises(UnsafePathError, match="hard links"):
            JsonlSink(tmp_path / "events.jsonl")
        assert unchanged(victim)

    def test_fifo_refused_without_hanging(self, tmp_path: Path) -> None:
        """A FIFO under the file's name is refused at once (no open(2) that blocks)."""
        os.mkfifo(tmp_path / "events.jsonl")
        with pytest.raises(UnsafePathError, match="not a regular file"):
            JsonlSink(tmp_path / "events.jsonl")

    def test_directory_in_place_of_file(self, tmp_path: Path) -> None:
        """events.jsonl that is a directory: one line naming it."""
        (tmp_path / "events.jsonl").mkdir()
        with pytest.raises(UnsafePathError, match=r"events\.jsonl: is a directory"):
            JsonlSink(tmp_path / "events.jsonl")

    def test_partial_line_set_aside_safely(self, tmp_path: Path, victim: Path) -> None:
        """The set-aside file of a torn last line is created afresh, never through a link
        planted under a name it could take."""
        path = tmp_path / "events.jsonl"
        path.write_bytes(b'{"a":1}\n{"b":')
        with JsonlSink(path):
            pass
        assert path.read_bytes() == b'{"a":1}\n'
        (aside,) = tmp_path.glob("events.jsonl.partial-*")
        assert aside.read_bytes() == b'{"b":' and not aside.is_symlink()

    def test_reopen_refuses_planted_link(self, tmp_path: Path, victim: Path,
                                         caplog: pytest.LogCaptureFixture) -> None:
        """A link in place of the rotated file: reopen keeps writing the old file instead."""
        path = tmp_path / "events.jsonl"
        with JsonlSink(path) as sink:
            path.rename(tmp_path / "events.jsonl.1")
            path.symlink_to(victim)
            sink.reopen()
            sink.write([DOC])
        assert "cannot reopen after rotation" in caplog.text
        assert (tmp_path / "events.jsonl.1").read_text() == DOC.json + "\n"
        assert unchanged(victim)


class TestDirectoryWalk:
    """Links and foreign directories on the way to a directory."""

    def test_link_in_private_dir_followed(self, tmp_path: Path) -> None:
        """A link the administrator made (in a directory only root can write) is followed."""
        real = tmp_path / "real"
        real.mkdir(mode=0o750)
        (tmp_path / "alias").symlink_to(real)
        with JsonlSink(tmp_path / "alias" / "events.jsonl") as sink:
            sink.write([DOC])
        assert (real / "events.jsonl").read_text() == DOC.json + "\n"

    def test_not_a_directory(self, tmp_path: Path) -> None:
        """events_dir naming a regular file is a config error naming the key."""
        (tmp_path / "file").write_text("")
        with pytest.raises(UnsafePathError, match=r"events_dir: .*/file is not a directory"):
            check_dir(tmp_path / "file", what="events_dir")
        with pytest.raises(UnsafePathError) as err:
            SafeDir(tmp_path / "file" / "sub", what="events_dir")
        assert err.value.exit_status == 2

    def test_world_writable_ancestor_refused(self, tmp_path: Path) -> None:
        """A directory on the way that others can write (not sticky) is refused: they could
        swap the next component for a link."""
        (tmp_path / "open").mkdir()
        (tmp_path / "open").chmod(0o777)
        with pytest.raises(UnsafePathError, match=r"writable by others .* not sticky"):
            SafeDir(tmp_path / "open" / "ev", what="events_dir")
        assert not (tmp_path / "open" / "ev").exists()

    def test_group_writable_ancestor_follows_only_root_links(self, tmp_path: Path) -> None:
        """A directory on the way that a group other than root's can write (/var/log on Ubuntu
        is root:syslog 0775, /var/mail root:mail 2775) is walked through, but a member's link
        in it is not followed (it could point at /etc/logrotate.d), nor a member's directory."""
        shared = tmp_path / "mail"
        shared.mkdir()
        os.chown(shared, 0, 65534)
        shared.chmod(0o2775)
        SafeDir(shared / "ev", what="events_dir").close()
        target = tmp_path / "etc-logrotate.d"
        target.mkdir(mode=0o755)
        (shared / "planted").symlink_to(target)
        os.chown(shared / "planted", 65534, 65534, follow_symlinks=False)
        with pytest.raises(UnsafePathError, match="symbolic link of uid 65534"):
            SafeDir(shared / "planted", what="events_dir")
        with pytest.raises(UnsafePathError, match="symbolic link of uid 65534"):
            check_dir(shared / "planted", what="events_dir")
        (shared / "theirs").mkdir()
        os.chown(shared / "theirs", 65534, 65534)
        with pytest.raises(UnsafePathError, match="owned by uid 65534"):
            SafeDir(shared / "theirs", what="events_dir")
        assert list(target.iterdir()) == []

    def test_root_group_writable_ancestor_accepted(self, tmp_path: Path) -> None:
        """Group write for root's own group (gid 0) gives nobody else a way in."""
        shared = tmp_path / "rootgroup"
        shared.mkdir()
        os.chown(shared, 0, 0)
        shared.chmod(0o775)
        SafeDir(shared / "ev", what="events_dir").close()

    def test_group_link_in_sticky_group_dir_refused(self, tmp_path: Path) -> None:
        """In a sticky directory a group can write, a link of a group member is not followed;
        root's own link there is."""
        shared = tmp_path / "shared"
        shared.mkdir()
        os.chown(shared, 0, 65534)
        shared.chmod(0o1775)
        real = tmp_path / "real"
        real.mkdir(mode=0o750)
        (shared / "planted").symlink_to(real)
        os.chown(shared / "planted", 65534, 65534, follow_symlinks=False)
        with pytest.raises(UnsafePathError, match="symbolic link of uid 65534"):
            SafeDir(shared / "planted", what="events_dir")
        (shared / "mine").symlink_to(real)
        directory = SafeDir(shared / "mine", what="events_dir")
        try:
            assert os.fstat(directory.fd).st_ino == real.stat().st_ino
        finally:
            directory.close()

    def test_unusable_name_is_a_config_error(self, tmp_path: Path) -> None:
        """A path that cannot work as configured (a name past NAME_MAX) exits 2, from the
        start's open as from check-config, like an unsafe path; it is not a host problem."""
        from ebpf_monitor.cli import main

        long = tmp_path / ("x" * 300) / "ev"
        with pytest.raises(ConfigError, match="File name too long") as started:
            SafeDir(long, what="events_dir")
        with pytest.raises(ConfigError, match="File name too long") as checked:
            check_dir(long, what="events_dir")
        assert started.value.exit_status == checked.value.exit_status == 2
        config = tmp_path / "config.json"
        config.write_text(json.dumps({"events_dir": str(long)}))
        config.chmod(0o600)
        assert main(["check-config", "--config", str(config)]) == 2

    def test_nul_byte(self, tmp_path: Path) -> None:
        """A NUL byte in a path is a one-line config error, not a ValueError."""
        with pytest.raises(ConfigError, match="NUL byte"):
            SafeDir(Path(f"{tmp_path}/a\0b"), what="events_dir")

    def test_check_creates_nothing(self, tmp_path: Path) -> None:
        """check_dir (check-config) checks what exists and creates nothing."""
        check_dir(tmp_path / "x" / "y", what="events_dir")
        assert not (tmp_path / "x").exists()


class TestSpoolFiles:
    """The spool's segments and cursor are opened without following links."""

    def test_segment_link_refused(self, tmp_path: Path, victim: Path) -> None:
        """A segment planted as a link: the spool refuses to start, the target untouched."""
        spool = tmp_path / "spool"
        spool.mkdir(mode=0o750)
        (spool / "0000000000000001.seg").symlink_to(victim)
        with pytest.raises(UnsafePathError, match="symbolic link"):
            Spool(spool, max_bytes=1 << 30)
        assert unchanged(victim)

    def test_cursor_tmp_link_replaced_not_followed(self, tmp_path: Path, victim: Path) -> None:
        """A link left at cursor.tmp is replaced by a new file, never written through."""
        spool = tmp_path / "spool"
        sp = Spool(spool, max_bytes=1 << 30)
        (spool / "cursor.tmp").symlink_to(victim)
        sp.append([b"a", b"b"])
        lines, cursor = sp.read(10)
        sp.ack(cursor, len(lines))
        sp.close()
        assert unchanged(victim)
        assert (spool / "cursor").read_text().split() == [str(cursor.segment),
                                                           str(cursor.offset)]
        assert not (spool / "cursor").is_symlink()


class TestLock:
    """One monitor per directory."""

    def test_second_lock_names_holder(self, tmp_path: Path) -> None:
        """A second lock on the same directory fails, naming the holder's pid; it is free
        again once the holder closes."""
        first = SafeDir(tmp_path, what="events_dir")
        first.lock()
        second = SafeDir(tmp_path, what="events_dir")
        with pytest.raises(HostError, match=rf"another ebpf-monitor \(pid {os.getpid()}\)"):
            second.lock()
        first.close()
        second.lock()
        second.close()

    def test_two_names_for_one_directory(self, tmp_path: Path) -> None:
        """output_dir a link to events_dir: the monitor locks that directory once, not
        against itself; a second monitor is still refused."""
        from ebpf_monitor.cli import _lock_dirs
        from ebpf_monitor.config import Config

        (tmp_path / "real").mkdir(mode=0o750)
        (tmp_path / "alias").symlink_to(tmp_path / "real")
        config = Config(events_dir=tmp_path / "real", output_dir=tmp_path / "alias")
        with ExitStack() as stack:
            _lock_dirs(config, stack)
            with ExitStack() as other, pytest.raises(HostError, match="another ebpf-monitor"):
                _lock_dirs(config, other)
