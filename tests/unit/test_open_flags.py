"""Open flags named by the kernel's values (events.h enum open_flag), not libc's."""

from __future__ import annotations

from ebpf_monitor.schema import open_flag_names

from .recorded_abi import enum


class TestOpenFlags:
    """Every flag bit the kernel defines has its name; composites before their parts."""

    def test_largefile(self) -> None:
        """0x8000 (x86_64: Python's os.O_LARGEFILE is 0 there) is O_LARGEFILE."""
        assert open_flag_names(0x8000 | 0o100 | 2) == ["O_RDWR", "O_CREAT", "O_LARGEFILE"]

    def test_every_kernel_flag_named(self) -> None:
        """Each enumerator of open_flag comes out under its name, nothing left in hex."""
        for name, value in enum("open_flag").items():
            names = open_flag_names(value)
            assert names[0] == "O_RDONLY" and name.replace("OF_", "O_", 1) in names, name
            assert not [n for n in names if n.startswith("0x")], name

    def test_composites(self) -> None:
        """O_SYNC is named instead of O_DSYNC, O_TMPFILE instead of O_DIRECTORY; the parts
        alone keep their own names."""
        flags = enum("open_flag")
        assert open_flag_names(flags["OF_SYNC"]) == ["O_RDONLY", "O_SYNC"]
        assert open_flag_names(flags["OF_TMPFILE"] | 2) == ["O_RDWR", "O_TMPFILE"]
        assert open_flag_names(flags["OF_DSYNC"]) == ["O_RDONLY", "O_DSYNC"]
        assert open_flag_names(flags["OF_DIRECTORY"]) == ["O_RDONLY", "O_DIRECTORY"]

    def test_unknown_bits_in_hex(self) -> None:
        """A bit the kernel does not define stays visible, in hex, after the names."""
        assert open_flag_names(0x40000000 | 0x2000 | 3) == ["O_ACCMODE", "O_ASYNC",
                                                           "0x40000000"]
