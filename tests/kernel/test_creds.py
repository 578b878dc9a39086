"""Credential changes against real syscalls: set*id and capset (asked, before, after), and the
ids a set-uid exec leaves on the exec document."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness import REPO, Doc, Monitor

CRED_WORK_C = REPO / "tests" / "kernel" / "cred_work.c"
NOBODY = 65534
CRED_ACTIONS = {"setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid",
                "setfsuid", "setfsgid", "capset"}


@pytest.fixture(scope="module")
def cred_work(workdir: Path) -> Path:
    out = workdir / "cred_work"
    subprocess.run(["gcc", "-O2", "-Wall", "-o", str(out), str(CRED_WORK_C)], check=True,
                   capture_output=True, text=True)
    return out


@pytest.fixture(scope="module")
def suid_id() -> Iterator[Path]:
    """A set-uid-root copy of `id` in a directory uid 65534 can reach."""
    d = Path(tempfile.mkdtemp(prefix="em-suid-"))
    d.chmod(0o755)
    binary = d / "suid-id"
    shutil.copy2(shutil.which("id") or "/usr/bin/id", binary)
    os.chown(binary, 0, 0)
    binary.chmod(0o4755)
    yield binary
    shutil.rmtree(d)


def _run(binary: Path, *args: str, argv0: str | None = None) -> int:
    proc = subprocess.run([argv0 or str(binary), *args], executable=str(binary),
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    return int(proc.stdout.split()[0])


def _creds(docs: list[Doc]) -> list[Doc]:
    return [d for d in docs if d["event"]["action"] in CRED_ACTIONS]


class TestCredentials:
    """set*id and capset: each call once, in order, with ids asked, before and after."""

    def test_set_ids(self, monitor: Monitor, cred_work: Path, suid_id: Path) -> None:
        """Every set*id variant, success and EPERM, with the task's ids around it."""
        pid = _run(cred_work, str(suid_id))
        docs = _creds(monitor.events_of(pid))
        assert [d["event"]["action"] for d in docs] == [
            "setresgid", "setresuid", "setuid", "setreuid", "setregid", "setgid", "setfsuid",
            "setfsgid", "capset", "capset", "setresuid", "setuid", "setresgid"]
        for d in docs:
            assert d["event"]["category"] == ["process"] and d["event"]["type"] == ["change"]
        resgid, resuid, bad_setuid, reuid, regid, setgid, fsuid, fsgid = docs[:8]
        assert resgid["ebpf"]["cred"]["args"] == [-1, NOBODY, -1]
        assert resgid["ebpf"]["cred"]["before"]["egid"] == 0
        assert resgid["process"]["group"] == {"id": str(NOBODY), "name": "nogroup"}
        assert resgid["process"]["real_group"]["id"] == "0"
        assert resuid["event"]["outcome"] == "success"
        assert resuid["process"]["user"] == {"id": str(NOBODY), "name": "nobody"}
        assert resuid["process"]["real_user"] == {"id": "0", "name": "root"}
        assert resuid["process"]["saved_user"]["id"] == "0"
        assert resuid["ebpf"]["cred"]["before"]["euid"] == 0
        assert resuid["user"]["effective"]["id"] == str(NOBODY)  # the header's, as elsewhere
        assert bad_setuid["event"]["outcome"] == "failure"
        assert bad_setuid["error"]["code"] == "EPERM"
        assert bad_setuid["ebpf"]["cred"]["args"] == [12345]
        assert bad_setuid["process"]["user"]["id"] == str(NOBODY)  # unchanged
        assert reuid["ebpf"]["cred"]["before"]["euid"] == NOBODY
        assert reuid["process"]["user"]["id"] == "0"
        assert regid["ebpf"]["cred"]["args"] == [0, 0]
        assert setgid["process"]["saved_group"]["id"] == str(NOBODY)
        assert fsuid["ebpf"]["cred"]["args"] == [4242]
        assert fsuid["ebpf"]["cred"]["before"]["fsuid"] == 0
        assert fsuid["ebpf"]["cred"]["fsuid"] == 4242
        assert fsuid["ebpf"]["ret"] == 0  # setfsuid returns the old fsuid
        assert fsgid["ebpf"]["cred"]["fsgid"] == 4343
        drop_all, last_setuid, last_resgid = docs[10:]
        assert drop_all["ebpf"]["cred"]["args"] == [NOBODY] * 3
        assert {drop_all["process"][k]["id"] for k in ("user", "real_user", "saved_user")} \
            == {str(NOBODY)}
        assert last_setuid["error"]["code"] == "EPERM"
        assert last_resgid["ebpf"]["cred"]["args"] == [1, 2, 3]
        assert last_resgid["error"]["code"] == "EPERM"

    def test_capset(self, monitor: Monitor, cred_work: Path) -> None:
        """capset: the sets asked for, before and after; a bad version fails with EINVAL."""
        pid = _run(cred_work)
        ok, bad = [d for d in monitor.events_of(pid) if d["event"]["action"] == "capset"]
        assert ok["event"]["outcome"] == "success"
        cap = ok["ebpf"]["cap"]
        assert cap["version"] == "0x20080522" and cap["pid"] == 0
        assert "CAP_SYS_BOOT" not in cap["requested"]["effective"]
        assert "CAP_SYS_BOOT" in cap["before"]["effective"]
        assert "CAP_SYS_BOOT" in cap["requested"]["permitted"]
        after = ok["process"]["thread"]["capabilities"]
        assert "CAP_SYS_BOOT" not in after["effective"] and "CAP_SYS_BOOT" in after["permitted"]
        assert ok["process"]["thread"]["id"] == pid
        assert bad["error"]["code"] == "EINVAL"
        # Read at exit: on a bad version the kernel has written its own into the header.
        assert bad["ebpf"]["cap"]["version"] == "0x20080522"

    def test_ignored_comm(self, monitor: Monitor, cred_work: Path) -> None:
        """A process named in filters.ignore_comms (its comm is its file's name) has no
        credential documents; nor has the monitor."""
        ignored = cred_work.with_name("ignoreme")
        shutil.copy2(cred_work, ignored)
        pid = _run(ignored)
        # A process run after it, to its exit: the ring holds the ignored one's records first.
        after = _run(cred_work)
        monitor.events_of(after)
        docs = monitor.events()
        assert [d for d in docs if d["event"]["action"] == "execve"
                and d["process"]["pid"] == pid], "the exec is never filtered"
        assert not _creds([d for d in docs if d.get("process", {}).get("pid") == pid])
        assert not _creds([d for d in docs if d.get("process", {}).get("pid") == monitor.pid])


class TestSetIdExec:
    """An exec of a set-uid-root binary by uid 65534: real vs effective ids on the exec."""

    def test_setuid_exec(self, monitor: Monitor, cred_work: Path, suid_id: Path) -> None:
        """The exec document names the effective user root and the real user nobody."""
        pid = _run(cred_work, str(suid_id))
        execs = [d for d in monitor.events_of(pid) if d["event"]["action"] == "execve"
                 and d["process"]["executable"] == str(suid_id)]
        assert len(execs) == 1
        p = execs[0]["process"]
        assert p["user"] == {"id": "0", "name": "root"}
        assert p["real_user"] == {"id": str(NOBODY), "name": "nobody"}
        assert p["saved_user"]["id"] == "0"
        assert p["group"]["id"] == str(NOBODY) and p["real_group"]["id"] == str(NOBODY)
        assert execs[0]["ebpf"]["secure_exec"] is True
        assert "effective" in p["thread"]["capabilities"]
        assert execs[0]["user"]["effective"]["id"] == "0"

    def test_plain_exec(self, monitor: Monitor, cred_work: Path) -> None:
        """An ordinary exec by root: all ids 0, no secure_exec mark, no capability lists."""
        pid = _run(cred_work)
        ex = [d for d in monitor.events_of(pid) if d["event"]["action"] == "execve"]
        assert len(ex) == 1
        p = ex[0]["process"]
        assert p["user"]["id"] == p["real_user"]["id"] == p["saved_user"]["id"] == "0"
        assert "secure_exec" not in ex[0]["ebpf"]
        assert "capabilities" not in p["thread"]
