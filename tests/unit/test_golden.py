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

    @pytest.mark.parametrize("mode", golden.MODES)
    def test_compiled_path(self, mode: str) -> None:
        """With the compiled core (fastpath.py) on, the same documents, ids and days too, and
        the core rendered the kinds it has programs for."""
        dec, got = golden.decoded(mode, compiled=True)
        assert dec.fast is not None, "the compiled core is not built (make setup)"
        assert dec.fast.made > 0
        _, want = golden.decoded(mode, compiled=False)
        assert got == want  # Document values: id, day and JSON
        lines = golden.documents(mode, compiled=True)
        assert lines == golden.expected(mode)

    @pytest.mark.parametrize("compiled", [False, True], ids=["python", "compiled"])
    @pytest.mark.parametrize("name", golden.extra_names())
    def test_same_extra_documents(self, name: str, compiled: bool) -> None:
        """A fixture of later kinds (issue #12) makes the documents recorded with it, with and
        without the compiled core."""
        got = golden.extra_documents(name, compiled=compiled)
        want = golden.extra_expected(name)
        assert len(got) == len(want)
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            assert g == w, f"document {i} of {name} differs"

    def test_every_kind_recorded(self) -> None:
        """The batch (and the fixtures of later kinds) covers every record kind, so no builder
        goes unchecked."""
        kinds = {v for k, v in enum("event_kind").items() if k != "EK_MAX"}
        seen: set[int] = set()
        with golden.fixed_host():
            header = layout("event_header")
            kind_i = header.fields.index("kind")
            batches = [golden.load_records(mode) for mode in golden.MODES]
            batches += [golden.load_batch(golden.extra_records_path(name))
                        for name in golden.extra_names()]
            for batch in batches:
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
