"""Names read from /proc/<pid>, and their absence where host pids do not name our /proc's."""

from __future__ import annotations

import os
import sys

from ebpf_monitor.enrich import Enricher

from .recorded_abi import enum

AT_FDCWD = enum("abi_const")["ABI_AT_FDCWD"]


class TestProcLookups:
    """In the initial PID namespace /proc names the process; in another one, nothing is read."""

    def test_on_in_initial_namespace(self) -> None:
        """The executable and a relative path come from /proc/<pid>."""
        en = Enricher(host_name="h")
        assert en.executable(os.getpid(), 1) == os.path.realpath(sys.executable)
        assert en.resolve(os.getpid(), AT_FDCWD, "x") == os.path.join(os.getcwd(), "x")

    def test_off_in_a_pid_namespace(self) -> None:
        """No executable, the relative path as given, an fd unnamed: never another's."""
        en = Enricher(host_name="h", proc_lookups=False)
        assert en.executable(os.getpid(), 1) is None
        assert en.resolve(os.getpid(), AT_FDCWD, "x") == "x"
        assert en.untracked_fd(os.getpid(), 0, 0, 0) is None
        assert en.untracked_fd(os.getpid(), 0, 0, 7, 0o010000) == "pipe:[7]"
