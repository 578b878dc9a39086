"""A BPF object older than the Python code is named as such, not met with a KeyError."""

from __future__ import annotations

import pytest

from ebpf_monitor.abi import enum_values
from ebpf_monitor.errors import BpfLoadError


class TestStaleObject:
    """An enumerator the object lacks asks for a rebuild, in one line."""

    def test_missing_enumerator_names_enum_and_fix(self) -> None:
        flags = enum_values("event_flag")
        assert flags["EF_THREAD"] >= 0
        with pytest.raises(BpfLoadError, match=r"'event_flag' has no EF_NOT_THERE.*make bpf"):
            flags["EF_NOT_THERE"]
