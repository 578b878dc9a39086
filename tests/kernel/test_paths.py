"""The real path beside the given one (`ebpf.real_path`), the working directory followed
through chdir/fchdir (`process.working_directory`), and the session leader's entity id
(`process.session_leader.entity_id`) (issue 12)."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ebpf_monitor.loader import DIRECT_LOADS_ENV
from tests.monitor_harness import Doc, Monitor, running_monitor

OPENS = r"""
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
NR = {"open": 2, "creat": 85, "openat": 257, "openat2": 437}  # x86_64
RW = os.O_RDWR | os.O_CREAT


class OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64),
                ("resolve", ctypes.c_uint64)]


for arg in sys.argv[1:]:
    call, path = arg.split(":", 1)
    p = os.fsencode(path)
    if call == "open":
        fd = libc.syscall(NR["open"], p, RW, 0o644)
    elif call == "creat":
        fd = libc.syscall(NR["creat"], p, 0o644)
    elif call == "openat":
        fd = libc.syscall(NR["openat"], -100, p, RW, 0o644)
    elif call == "ro":
        fd = libc.syscall(NR["openat"], -100, p, os.O_RDONLY)
    else:
        how = OpenHow(RW, 0o644, 0)
        fd = libc.syscall(NR["openat2"], -100, p, ctypes.byref(how), ctypes.sizeof(how))
    if fd >= 0:
        os.write(fd, b"x") if call != "ro" else None
        os.close(fd)
"""

# Outside the prefixes this module's monitor ignores (/tmp/, /var/tmp/): not the checkout's
# build/, which may itself be under /tmp (a clean clone there). /dev/shm: a tmpfs every
# Linux host has, where symlinks and bind mounts work.
BASE = Path("/dev/shm")


@pytest.fixture(scope="module")
def base() -> Iterator[Path]:
    """Where these tests make their files: outside /tmp, which their monitor ignores."""
    where = Path(tempfile.mkdtemp(prefix="ebpf-monitor-kernel-paths-", dir=BASE))
    yield where
    shutil.rmtree(where, ignore_errors=True)


@pytest.fixture
def tmp_path(base: Path, request: pytest.FixtureRequest) -> Path:
    """A fresh directory per test, under `base`."""
    return Path(tempfile.mkdtemp(prefix=request.node.name[:40] + "-", dir=base))


@pytest.fixture(scope="module")
def monitor(workdir: Path) -> Iterator[Monitor]:
    """The kernel tier's monitor (tests/kernel/conftest.py: its filters), without reads and
    writes (nothing here checks them) and ignoring /tmp/ and /var/tmp/: on a shared host other
    runs' open loops and readers of other monitors' events files there would flood it (millions
    of events a minute, which the harness keeps in memory). The ignored directory of the
    filter tests is under /tmp/ (workdir)."""
    with running_monitor(workdir / "run", _config(workdir)) as mon:
        yield mon


def _config(workdir: Path) -> dict[str, Any]:
    (workdir / "ignored").mkdir(exist_ok=True)
    return {"capture": {"read_write": "none"},
            "filters": {"ignore_path_prefixes": ["/proc/", "/sys/", "/dev/null", "/tmp/",
                                                 "/var/tmp/"],
                        "ignore_comms": ["ignoreme"]}}


@pytest.fixture(scope="module")
def helper_reads_monitor(workdir: Path) -> Iterator[Monitor]:
    """The same monitor, its path walks reading the kernel by helper calls as on kernels
    without bpf_rdonly_cast (before 6.2): the *HelperReads classes run the tests again on it."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(DIRECT_LOADS_ENV, "0")
        with running_monitor(workdir / "run-helper-reads", _config(workdir)) as mon:
            assert "by helper calls" in mon.stderr_path.read_text()
            yield mon


x86_64 = pytest.mark.skipif(platform.machine() != "x86_64",
                            reason="the workload calls syscalls by their x86_64 numbers")


def _opens(*calls: str, cwd: Path | None = None) -> None:
    subprocess.run([sys.executable, "-c", OPENS, *calls], check=True, cwd=cwd)


def _open_doc(mon: Monitor, path: str) -> Doc:
    """The one open document of `path` (by file.path)."""

    def hit(d: Doc) -> bool:
        return d.get("file", {}).get("path") == path and d["event"]["category"] == ["file"] \
            and "flags" in d["ebpf"]

    docs = [d for d in mon.wait_for(hit, what=f"an open of {path!r}") if hit(d)]
    assert len(docs) == 1, docs
    return docs[0]


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """real/ and link -> real, real/target and file-link -> real/target."""
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to("real")
    (tmp_path / "real" / "target").write_bytes(b"")
    (tmp_path / "file-link").symlink_to(tmp_path / "real" / "target")
    return tmp_path


@x86_64
class TestRealPath:
    """An open names the file as given (file.path) and, when they differ, as the kernel names
    the opened file itself (ebpf.real_path)."""

    @pytest.mark.parametrize("call", ["open", "creat", "openat", "openat2"])
    def test_symlinked_directory(self, monitor: Monitor, tree: Path, call: str) -> None:
        """A path through a symlinked directory: the real one beside it, for every open
        call."""
        given = tree / "link" / f"via-{call}"
        _opens(f"{call}:{given}")
        doc = _open_doc(monitor, str(given))
        assert doc["event"]["action"] == call
        assert doc["ebpf"]["real_path"] == str(tree / "real" / f"via-{call}")

    def test_symlinked_file(self, monitor: Monitor, tree: Path) -> None:
        """A symlink to a file: its target is the real path."""
        _opens(f"openat:{tree / 'file-link'}")
        doc = _open_doc(monitor, str(tree / "file-link"))
        assert doc["ebpf"]["real_path"] == str(tree / "real" / "target")
        assert doc["file"]["name"] == "file-link"

    def test_dotdot(self, monitor: Monitor, tree: Path) -> None:
        """`..` in the given path: the real path has none."""
        given = f"{tree}/real/../real/dotdot"
        _opens(f"openat:{given}")
        assert _open_doc(monitor, given)["ebpf"]["real_path"] == str(tree / "real" / "dotdot")

    def test_plain_path_has_none(self, monitor: Monitor, tree: Path) -> None:
        """A path with no symlink and no `..`: no real path (nor for a failed open)."""
        given = tree / "real" / "plain"
        missing = tree / "real" / "no-dir" / "x"
        _opens(f"openat:{given}", f"openat:{missing}")
        assert "real_path" not in _open_doc(monitor, str(given))["ebpf"]
        failed = _open_doc(monitor, str(missing))
        assert failed["error"]["code"] == "ENOENT"
        assert "real_path" not in failed["ebpf"]

    def test_relative_in_symlinked_cwd(self, monitor: Monitor, tree: Path) -> None:
        """A relative path is made absolute from the cwd as the kernel holds it (symlinks
        resolved), so given and real agree: no real path."""
        _opens("openat:relative", cwd=tree / "link")
        doc = _open_doc(monitor, str(tree / "real" / "relative"))
        assert "real_path" not in doc["ebpf"]

    def test_odd_names(self, monitor: Monitor, tmp_path: Path) -> None:
        """A symlinked directory and a real one with a newline, a tab, a non-UTF-8 byte."""
        real = os.fsencode(tmp_path) + b"/real\tdir\xff"
        os.mkdir(real)
        link = os.fsencode(tmp_path) + b"/odd\nlink \xc3\xa9"
        os.symlink(real, link)
        subprocess.run([sys.executable, "-c", OPENS, b"openat:" + link + b"/f"], check=True)
        given = os.fsdecode(link).replace("\udcff", "\\xff") + "/f"
        doc = _open_doc(monitor, given)
        assert doc["ebpf"]["real_path"] == f"{tmp_path}/real\tdir\\xff/f"

    @pytest.mark.skipif(not os.path.islink("/bin"), reason="/bin is no symlink (no merged /usr)")
    def test_merged_usr(self, monitor: Monitor) -> None:
        """/bin/true on a merged-/usr host (Debian 12): /usr/bin/true beside it, so a rule or
        query on /usr/bin/ finds it."""
        marker = f"/bin/{os.path.basename(os.path.realpath('/bin/true'))}"
        _opens(f"ro:{marker}")
        docs = monitor.wait_for(lambda d: d.get("file", {}).get("path") == marker
                                and "flags" in d["ebpf"])
        mine = [d for d in docs if d.get("file", {}).get("path") == marker
                and d["ebpf"].get("real_path") == os.path.realpath(marker)]
        assert mine

    def test_same_length_name_differs_late(self, monitor: Monitor, tmp_path: Path) -> None:
        """A symlinked directory whose name has the real one's length and differs only in its
        last byte, past the first 8: the kernel's compare of the names sees it."""
        real = tmp_path / ("d" * 21 + "1")
        real.mkdir()
        link = tmp_path / ("d" * 21 + "2")
        link.symlink_to(real.name)
        _opens(f"openat:{link}/late")
        assert _open_doc(monitor, f"{link}/late")["ebpf"]["real_path"] == f"{real}/late"

    def test_long_names(self, monitor: Monitor, tmp_path: Path) -> None:
        """Names too long for the dentry's inline store (40 bytes and up, kept apart): a
        symlink of the real one's length differing in its last byte has a real path, the
        plain path none."""
        real = tmp_path / ("L" * 70 + "1")
        real.mkdir()
        link = tmp_path / ("L" * 70 + "2")
        link.symlink_to(real.name)
        _opens(f"openat:{link}/{'f' * 50}", f"openat:{real}/{'g' * 50}")
        doc = _open_doc(monitor, f"{link}/{'f' * 50}")
        assert doc["ebpf"]["real_path"] == f"{real}/{'f' * 50}"
        assert "real_path" not in _open_doc(monitor, f"{real}/{'g' * 50}")["ebpf"]

    def test_names_exchanged(self, monitor: Monitor, tmp_path: Path) -> None:
        """renameat2(RENAME_EXCHANGE) of a short- and a long-named directory swaps their
        names' storage (the short one moves into the long one's dentry): opens by both names
        afterwards have no real path, and through a symlink the right one."""
        short, long_ = tmp_path / "s", tmp_path / ("x" * 60)
        short.mkdir()
        long_.mkdir()
        (tmp_path / "to-short").symlink_to("s")
        (tmp_path / "to-long").symlink_to(long_.name)
        code = OPENS + (
            "libc.renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int,"
            " ctypes.c_char_p, ctypes.c_uint]\n"
            f"assert libc.renameat2(-100, {bytes(short)!r}, -100, {bytes(long_)!r}, 2) == 0\n"
            "for p in sys.argv[1:]:\n"
            "    os.close(os.open(p.replace('openat:', '', 1) + '-after',"
            " os.O_RDWR | os.O_CREAT, 0o644))\n")
        subprocess.run([sys.executable, "-c", code, f"openat:{short}/plain",
                        f"openat:{long_}/plain", f"openat:{tmp_path}/to-short/linked",
                        f"openat:{tmp_path}/to-long/linked"], check=True)
        for d in (short, long_):
            assert "real_path" not in _open_doc(monitor, f"{d}/plain")["ebpf"]
            assert "real_path" not in _open_doc(monitor, f"{d}/plain-after")["ebpf"]
        for link, d in (("to-short", short), ("to-long", long_)):
            assert _open_doc(monitor, f"{tmp_path}/{link}/linked")["ebpf"][
                "real_path"] == f"{d}/linked"
            assert _open_doc(monitor, f"{tmp_path}/{link}/linked-after")["ebpf"][
                "real_path"] == f"{d}/linked-after"

    def test_chroot(self, monitor: Monitor, tree: Path) -> None:
        """In a chroot the given path is the chroot's and the real one the file's path in the
        namespace (the walk goes through the chroot to the namespace's root), with or without
        a symlink on the way."""
        plain, linked = f"/real/in-chroot-{tree.name}", f"/link/via-chroot-{tree.name}"
        code = OPENS + (f"os.chroot({str(tree)!r})\n"
                        f"for p in ({plain!r}, {linked!r}):\n"
                        "    os.close(os.open(p, RW, 0o644))\n")
        subprocess.run([sys.executable, "-c", code], check=True)
        assert _open_doc(monitor, plain)["ebpf"]["real_path"] == f"{tree}{plain}"
        assert _open_doc(monitor, linked)["ebpf"]["real_path"] == str(
            tree / "real" / f"via-chroot-{tree.name}")

    def test_rename_then_symlink_at_the_old_name(self, monitor: Monitor,
                                                 tmp_path: Path) -> None:
        """Two opens in a directory (the second as the first: nothing may be remembered from
        it), then the directory is renamed and a symlink to it planted at its old name, in the
        same process: the next open by the old name gets the new real path."""
        old, new = tmp_path / "dir", tmp_path / "moved"
        old.mkdir()
        script = (OPENS + "\nos.rename(sys.argv[-2].split(':', 1)[1].rsplit('/', 1)[0], "
                  f"{str(new)!r})\nos.symlink({new.name!r}, {str(old)!r})\n"
                  f"os.close(os.open({str(old / 'after')!r}, os.O_RDWR | os.O_CREAT, 0o644))\n")
        subprocess.run([sys.executable, "-c", script, f"openat:{old}/first",
                        f"openat:{old}/second"], check=True)
        for name in ("first", "second"):
            assert "real_path" not in _open_doc(monitor, f"{old}/{name}")["ebpf"]
        assert _open_doc(monitor, f"{old}/after")["ebpf"]["real_path"] == f"{new}/after"

    def test_bind_mount_in_a_mount_namespace(self, monitor: Monitor, tree: Path) -> None:
        """A bind mount, made in a new mount namespace, is a place of its own: a path through
        it has no real path; a symlink inside still has one (the walk ends on that namespace's
        root mount)."""
        bound = tree / "bound"
        bound.mkdir()
        script = tree / "opens.py"
        script.write_text(OPENS)
        subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                        'mount --bind "$1" "$2" && exec "$0" "$3" "openat:$2/in-bind" '
                        '"openat:$2/../link/in-ns"',
                        sys.executable, str(tree / "real"), str(bound), str(script)],
                       check=True)
        assert "real_path" not in _open_doc(monitor, f"{bound}/in-bind")["ebpf"]
        doc = _open_doc(monitor, f"{bound}/../link/in-ns")
        assert doc["ebpf"]["real_path"] == str(tree / "real" / "in-ns")


@x86_64
class TestRealPathFilters:
    """ignore_path_prefixes drop an open only when every name of the file is ignored."""

    def test_ignored_given_real_outside(self, monitor: Monitor, workdir: Path,
                                        tree: Path) -> None:
        """A link inside an ignored tree to a file outside it is recorded; so is a file
        opened through /proc/self/root (ignored /proc/)."""
        link = workdir / "ignored" / f"to-outside-{tree.name}"
        link.symlink_to(tree / "real" / "target")
        via_proc = f"/proc/self/root{tree}/real/target"
        _opens(f"openat:{link}", f"openat:{via_proc}")
        assert _open_doc(monitor, str(link))["ebpf"]["real_path"] == str(tree / "real" / "target")
        assert _open_doc(monitor, via_proc)["ebpf"]["real_path"] == str(
            tree / "real" / "target")

    def test_real_ignored_given_outside(self, monitor: Monitor, workdir: Path,
                                        tree: Path) -> None:
        """A link outside to an ignored file is recorded (its given name is not ignored);
        a file whose every name is ignored is not, nor a pipe opened by /proc/self/fd (it
        has no name in the namespace)."""
        hidden = workdir / "ignored" / f"hidden-{tree.name}"
        hidden.write_bytes(b"")
        (tree / "to-ignored").symlink_to(hidden)
        marker = tree / "real" / "after"
        code = OPENS + (
            "r, w = os.pipe()\n"
            "os.close(os.open(f'/proc/self/fd/{r}', os.O_RDONLY))\n"
            f"os.close(os.open({str(marker)!r}, os.O_RDONLY | os.O_CREAT, 0o644))\n")
        subprocess.run([sys.executable, "-c", code, f"openat:{tree / 'to-ignored'}",
                        f"openat:{hidden}"], check=True)
        doc = _open_doc(monitor, str(tree / "to-ignored"))
        assert doc["ebpf"]["real_path"] == str(hidden)
        docs = monitor.wait_for(lambda d: d.get("file", {}).get("path") == str(marker))
        pid = doc["process"]["pid"]
        paths = [d.get("file", {}).get("path", "") for d in docs
                 if d.get("process", {}).get("pid") == pid]
        assert str(hidden) not in paths
        assert not [p for p in paths if p.startswith("/proc/self/fd/")]


class TestExecRealPath:
    """A successful exec names the exec'd file itself beside process.executable."""

    def _exec_doc(self, mon: Monitor, path: Path) -> Doc:
        docs = mon.wait_for(lambda d: d["event"]["action"] == "execve"
                            and d["process"].get("executable") == str(path))
        (doc,) = [d for d in docs if d["event"]["action"] == "execve"
                  and d["process"].get("executable") == str(path)]
        return doc

    def test_symlink_script_and_plain(self, monitor: Monitor, tmp_path: Path) -> None:
        """Through a symlink: the target; a script (through a symlink too): none (the kernel
        holds its interpreter's file by then, not the script's); a plain path: none."""
        true = Path(os.path.realpath("/bin/true"))
        (tmp_path / "true-link").symlink_to(true)
        script = tmp_path / "script.sh"
        script.write_text("#!/bin/sh\nexit 0\n")
        script.chmod(0o755)
        (tmp_path / "script-link").symlink_to(script)
        for p in ("true-link", "script-link"):
            subprocess.run([str(tmp_path / p)], check=True)
        subprocess.run([str(true)], check=True)
        assert self._exec_doc(monitor, tmp_path / "true-link")["ebpf"]["real_path"] == str(true)
        assert "real_path" not in self._exec_doc(monitor, tmp_path / "script-link")["ebpf"]
        docs = monitor.wait_for(lambda d: d["event"]["action"] == "execve"
                                and d["process"].get("executable") == str(true))
        assert [d for d in docs if d["event"]["action"] == "execve"
                and d["process"].get("executable") == str(true)
                and "real_path" not in d["ebpf"]]


CHDIR = r"""
import os, sys
a, link, c = sys.argv[1:4]
W = os.O_WRONLY | os.O_CREAT
os.chdir(a)
os.close(os.open("m1", W, 0o644))
os.chdir(link)
os.close(os.open("m2", W, 0o644))
fd = os.open(c, os.O_RDONLY | os.O_DIRECTORY)
os.fchdir(fd)
os.close(fd)
os.close(os.open(os.path.join(c, "m3"), W, 0o644))   # absolute: the compiled core's
try:
    os.chdir("missing")
except FileNotFoundError:
    pass
os.chdir("..")
pid = os.fork()
if pid == 0:
    os.close(os.open("m4", W, 0o644))
    os._exit(0)
os.waitpid(pid, 0)
print(pid, flush=True)
"""


class TestChdir:
    """chdir and fchdir documents, and the working directory of every later event."""

    def test_followed(self, monitor: Monitor, tmp_path: Path) -> None:
        """After chdir (plain, through a symlink, relative) and fchdir, the process's events
        and a child forked later carry the new working directory; a failed chdir changes
        nothing and names the directory it was given."""
        a, real, c = tmp_path / "a dir", tmp_path / "real", tmp_path / "c" / "d"
        for d in (a, real, c):
            d.mkdir(parents=True)
        link = tmp_path / "link"
        link.symlink_to(real)
        out = subprocess.run([sys.executable, "-c", CHDIR, str(a), str(link), str(c)],
                             check=True, capture_output=True, text=True).stdout
        child = int(out)
        m1 = _open_doc(monitor, str(a / "m1"))
        assert m1["process"]["working_directory"] == str(a)
        assert _open_doc(monitor, str(real / "m2"))["process"]["working_directory"] == str(real)
        assert _open_doc(monitor, str(c / "m3"))["process"]["working_directory"] == str(c)
        m4 = _open_doc(monitor, str(c.parent / "m4"))
        assert m4["process"]["pid"] == child
        assert m4["process"]["working_directory"] == str(c.parent)
        pid = m1["process"]["pid"]
        docs = [d for d in monitor.events_of(pid) if d["event"]["action"] in ("chdir", "fchdir")]
        assert [(d["event"]["action"], d["event"]["outcome"]) for d in docs] == [
            ("chdir", "success"), ("chdir", "success"), ("fchdir", "success"),
            ("chdir", "failure"), ("chdir", "success")]
        first, through, by_fd, failed, up = docs
        assert first["file"]["path"] == str(a)
        assert "real_path" not in first["ebpf"]
        assert first["event"]["category"] == ["process"]
        assert first["event"]["type"] == ["change"]
        assert through["file"]["path"] == str(link)
        assert through["ebpf"]["real_path"] == str(real)
        assert through["process"]["working_directory"] == str(real)
        assert by_fd["file"]["path"] == str(c)
        assert isinstance(by_fd["ebpf"]["fd"], int)
        assert failed["error"]["code"] == "ENOENT"
        assert failed["file"]["path"] == str(c / "missing")
        assert failed["process"]["working_directory"] == str(c)
        assert up["file"]["path"] == str(c.parent)
        assert up["ebpf"]["raw_path"] == ".."

    def test_fchdir_bad_fd(self, monitor: Monitor, tmp_path: Path) -> None:
        """fchdir on an fd that is no directory fails (ENOTDIR), named by the fd's path."""
        f = tmp_path / "not-a-dir"
        code = ("import os, sys\nfd = os.open(sys.argv[1], os.O_RDONLY | os.O_CREAT, 0o644)\n"
                "try:\n    os.fchdir(fd)\nexcept NotADirectoryError:\n    pass\n")
        subprocess.run([sys.executable, "-c", code, str(f)], check=True)
        docs = monitor.wait_for(lambda d: d["event"]["action"] == "fchdir"
                                and d.get("file", {}).get("path") == str(f))
        (doc,) = [d for d in docs if d["event"]["action"] == "fchdir"
                  and d.get("file", {}).get("path") == str(f)]
        assert doc["error"]["code"] == "ENOTDIR"
        assert "real_path" not in doc["ebpf"]


SESSION = r"""
import os, sys
leader_m, member_m, orphan_m = sys.argv[1:4]
r, w = os.pipe()
r2, w2 = os.pipe()
pid = os.fork()
if pid == 0:
    os.setsid()
    open(leader_m, "w").close()
    if os.fork() == 0:
        open(member_m, "w").close()
        os.write(w2, b"x")          # the leader may go now
        os.read(r, 1)               # until the leader has exited and been reaped
        open(orphan_m, "w").close()
        os._exit(0)
    os.read(r2, 1)
    os._exit(0)
os.waitpid(pid, 0)
os.write(w, b"x")
"""


class TestSessionLeader:
    """process.session_leader.entity_id is the leader's own process.entity_id."""

    def test_leader_member_and_after_exit(self, monitor: Monitor, tmp_path: Path) -> None:
        """The leader's and a member's events name the leader by its entity id; once the
        leader has exited, the session id alone."""
        marks = [tmp_path / n for n in ("leader", "member", "orphan")]
        subprocess.run([sys.executable, "-c", SESSION, *map(str, marks)], check=True)
        leader, member, orphan = (_open_doc(monitor, str(m)) for m in marks)
        sid = leader["process"]["pid"]
        assert leader["process"]["session_leader"] == {
            "pid": sid, "entity_id": leader["process"]["entity_id"]}
        assert member["process"]["pid"] != sid
        assert member["process"]["session_leader"] == leader["process"]["session_leader"]
        assert orphan["process"]["session_leader"] == {"pid": sid}


class TestRealPathHelperReads(TestRealPath):
    """TestRealPath with the helper-read walk of kernels before 6.2."""

    @pytest.fixture
    def monitor(self, helper_reads_monitor: Monitor) -> Monitor:
        return helper_reads_monitor


class TestRealPathFiltersHelperReads(TestRealPathFilters):
    """TestRealPathFilters with the helper-read walk of kernels before 6.2."""

    @pytest.fixture
    def monitor(self, helper_reads_monitor: Monitor) -> Monitor:
        return helper_reads_monitor


class TestExecRealPathHelperReads(TestExecRealPath):
    """TestExecRealPath with the helper-read walk of kernels before 6.2."""

    @pytest.fixture
    def monitor(self, helper_reads_monitor: Monitor) -> Monitor:
        return helper_reads_monitor


class TestSessionLeaderHelperReads(TestSessionLeader):
    """TestSessionLeader (the leader's start time read by container_of) with helper reads."""

    @pytest.fixture
    def monitor(self, helper_reads_monitor: Monitor) -> Monitor:
        return helper_reads_monitor


@x86_64
class TestRealPathsOff:
    """capture.real_paths false: no walk, no ebpf.real_path, the given path as before."""

    def test_symlinked_directory_without_real_path(self, workdir: Path, tree: Path) -> None:
        config = {"capture": {"read_write": "none", "real_paths": False},
                  "filters": {"ignore_path_prefixes": ["/proc/", "/sys/", "/dev/null", "/tmp/",
                                                       "/var/tmp/"]}}
        with running_monitor(workdir / "run-off", config) as mon:
            given = tree / "link" / "off"
            _opens(f"openat:{given}")
            doc = _open_doc(mon, str(given))
        assert "real_path" not in doc["ebpf"]
