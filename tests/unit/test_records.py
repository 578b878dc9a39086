"""The typed records (records.py) are those of events.h, and the decoder refuses stale ones."""

from __future__ import annotations

import json
import sys
from typing import NamedTuple

import pytest

from ebpf_monitor import abi_consts, decode
from ebpf_monitor.errors import BpfLoadError
from tests.harness import REPO

from .recorded_abi import ABI_JSON, enum

# Appended, not first: scripts/elasticsearch.py must not shadow the client package.
sys.path.append(str(REPO / "scripts"))
import gen_records


class TestRecords:
    """records.py is generated from the recorded events.h layouts and checked at start."""

    def test_generated_file_is_current(self) -> None:
        """records.py equals what scripts/gen_records.py makes of tests/unit/abi.json."""
        want = gen_records.render(json.loads(ABI_JSON.read_text()))
        assert gen_records.RECORDS_PY.read_text() == want, "run scripts/gen_records.py"

    def test_constants_file_is_current(self) -> None:
        """abi_consts.py equals what scripts/gen_records.py makes of tests/unit/abi.json."""
        want = gen_records.render_consts(json.loads(ABI_JSON.read_text()))
        assert gen_records.CONSTS_PY.read_text() == want, "run make abi"

    def test_every_kind_has_a_record(self) -> None:
        """Each record kind names a struct (EK_OPEN -> open_event) with a record class."""
        for name in decode.struct_of_kind().values():
            assert decode.record_class(name)._fields[0] == "h_kind"

    def test_stale_record_refused(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A record class whose fields differ from the object's stops the start, naming it."""

        class Stale(NamedTuple):
            h_kind: int

        monkeypatch.setitem(decode.RECORDS, "open_event", Stale)  # type: ignore[arg-type]
        with pytest.raises(BpfLoadError, match=r"struct open_event .*gen_records\.py"):
            decode.record_class("open_event")

    def test_constants_are_the_objects(self) -> None:
        """Every constant of abi_consts.py is the (recorded) object's: the start check passes."""
        decode.check_constants()
        assert enum("abi_const")["ABI_AT_FDCWD"] == abi_consts.AT_FDCWD
        assert abi_consts.READ_ACTIONS[0] == "read" and abi_consts.WRITE_ACTIONS[0] == "write"

    @pytest.mark.parametrize(("name", "value"), [("PATH_LEN", 256), ("READ_ACTIONS", ("read",)),
                                                 ("WRITE_ACTIONS", ())])
    def test_stale_constant_refused(self, monkeypatch: pytest.MonkeyPatch, name: str,
                                    value: object) -> None:
        """A constant that differs from the object's stops the start, naming it."""
        monkeypatch.setattr(abi_consts, name, value)
        with pytest.raises(BpfLoadError, match=rf"abi_consts\.py .*\({name}\).*make abi"):
            decode.check_constants()
