"""The recorded golden batch still makes exactly the documents it made when recorded."""

from __future__ import annotations

import orjson
import pytest

from ebpf_monitor.abi import layout

from . import golden
from .recorded_abi import enum


class TestGoldenBatch:
    """Recorded records of every kind decode to the recorded documents, ids and all."""

    @pytest.mark.parametrize("mode", golden.MODES)
    def test_same_documents(self, mode: str) -> None:
        """Every document equals the one recorded, line for line."""
        got = golden.documents(mode)
        want = golden.expected(mode)
        assert len(got) == len(want)
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            assert g == w, f"document {i} of {mode} differs"

    def test_every_kind_recorded(self) -> None:
        """The batch (and the fixtures of later kinds) covers every record kind, so no builder
        goes unchecked."""
        kinds = {v for k, v in enum("event_kind").items() if k != "EK_MAX"}
        seen: set[int] = set()
        with golden.fixed_host():
            header = layout("event_header")
            kind_i = header.fields.index("kind")
            for mode in golden.MODES + golden.FIXTURES:
                batch = golden.load_records(mode)
                seen |= {header.struct.unpack_from(batch.data, o)[kind_i]
                         for o, _ in batch.spans}
        assert kinds <= seen

    def test_documents_cover_actions(self) -> None:
        """The recorded documents include failures, relative paths and every family."""
        actions = set()
        outcomes = set()
        for mode in golden.MODES:
            for line in golden.expected(mode):
                doc = orjson.loads(line)
                actions.add(doc["event"]["action"])
                outcomes.add(doc["event"]["outcome"])
        assert {"execve", "clone", "exit", "openat", "read", "write", "unlink", "rename",
                "socket", "connect", "accept4", "bind", "listen", "close", "loss"} <= actions
        assert {"success", "failure"} <= outcomes
