"""Kernel module hooks (init_module, finit_module, delete_module, module_load) on a kernel
built without module support: skipped with one log line, the monitor runs; the programs still
pass the verifier here. Their documents are checked in the unit tier against hand-built records
(tests/unit/test_kmod.py): no real record can be made on this host."""

from __future__ import annotations

from pathlib import Path

import pytest

from ebpf_monitor import _libbpf as bpf
from ebpf_monitor.abi import monitor_object
from tests.harness import Monitor

TRACING = Path("/sys/kernel/tracing/events")
KMOD_PROGRAMS = {"tracepoint__syscalls__sys_exit_init_module",
                 "tracepoint__syscalls__sys_exit_finit_module",
                 "tracepoint__syscalls__sys_exit_delete_module",
                 "tracepoint__module__module_load"}
MISSING = not (TRACING / "syscalls" / "sys_exit_finit_module").is_dir()


class TestWithoutModules:
    """A kernel lacking the module tracepoints: the hooks are skipped, the rest attaches."""

    @pytest.mark.skipif(not MISSING, reason="this kernel has module support: the hooks attach")
    def test_skipped_with_one_line(self, monitor: Monitor) -> None:
        """The monitor is up (READY=1 came) and said once which hooks it skipped, naming the
        four module programs."""
        lines = [line for line in monitor.stderr().splitlines()
                 if "hooks not on this kernel, skipped" in line]
        assert len(lines) == 1, monitor.stderr_tail()
        named = {name.strip() for name in lines[0].split("skipped:", 1)[1].split(",")}
        assert named >= KMOD_PROGRAMS
        assert not Path("/proc/modules").exists()
        assert not (TRACING / "module").is_dir()
        assert monitor.proc is not None and monitor.proc.poll() is None


class TestVerifier:
    """The module programs load (pass the verifier) on this kernel, though nothing can attach
    them: a tracepoint program is verified without its tracepoint."""

    def test_kmod_programs_load(self) -> None:
        """Only the four module programs autoloaded, the object loads."""
        obj = bpf.check_ptr(bpf.lib.bpf_object__open_file(str(monitor_object()).encode(), None),
                            "open")
        try:
            names = set()
            prog = bpf.lib.bpf_object__next_program(obj, None)
            while prog:
                name = bpf.lib.bpf_program__name(prog).decode()
                names.add(name)
                bpf.lib.bpf_program__set_autoload(prog, name in KMOD_PROGRAMS)
                prog = bpf.lib.bpf_object__next_program(obj, prog)
            assert names >= KMOD_PROGRAMS
            assert bpf.lib.bpf_object__load(obj) == 0, "the verifier rejected a module program"
        finally:
            bpf.lib.bpf_object__close(obj)
