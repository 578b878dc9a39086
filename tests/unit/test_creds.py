"""Credential documents (schema/cred.py) from the recorded hooks-proc fixture."""

from __future__ import annotations

import struct

import orjson
import pytest

from ebpf_monitor.abi import enum_values
from ebpf_monitor.decode import Decoder
from ebpf_monitor.ringbuf import Batch
from ebpf_monitor.schema.cred import CAPABILITIES, cap_names

from . import golden

FIXTURE = "hooks-proc"


@pytest.fixture(scope="module")
def docs() -> list[dict]:
    return [orjson.loads(line) for line in golden.extra_documents(FIXTURE)]


class TestCredFixture:
    """The recorded credential records make the recorded documents, and what they say."""

    def test_same_documents(self) -> None:
        """Every document equals the one recorded, line for line."""
        got, want = golden.extra_documents(FIXTURE), golden.extra_expected(FIXTURE)
        assert len(got) == len(want)
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            assert g == w, f"document {i} of {FIXTURE} differs"

    def test_exec_ids_not_a_document(self, docs: list[dict]) -> None:
        """The ids an exec left become fields of the exec document, not a document."""
        execs = [d for d in docs if d["event"]["action"] == "execve"]
        assert len(execs) == 8  # cred_work, its set-uid exec, target_work, bpf_work,
        # fileless_work and its two children, mount_work
        assert all("real_user" in d["process"] for d in execs)
        execs = [d for d in execs if d["process"]["pid"] == execs[0]["process"]["pid"]]
        setuid_exec = execs[1]
        assert setuid_exec["process"]["user"]["id"] == "0"
        assert setuid_exec["process"]["real_user"]["id"] == "65534"
        assert setuid_exec["ebpf"]["secure_exec"] is True

    def test_setfsuid_outcome(self, docs: list[dict]) -> None:
        """setfsuid returns the old id either way: its outcome is from the id after it."""
        (fs,) = [d for d in docs if d["event"]["action"] == "setfsuid"]
        assert fs["event"]["outcome"] == "success" and fs["ebpf"]["cred"]["fsuid"] == 4242

    def test_lost_ids_record_not_reused(self) -> None:
        """An exec whose ids record is missing gets none, not the previous exec's ids."""
        with golden.fixed_host():
            batch = golden.load_batch(golden.extra_records_path(FIXTURE))
            kinds = enum_values("event_kind")
            # The kind is the header's first u16. Drop the ids record sent just before the
            # second exec (cred_work's exec of the set-uid binary).
            execs_at = [i for i, (o, _) in enumerate(batch.spans)
                        if struct.unpack_from("<H", batch.data, o)[0] == kinds["EK_EXEC"]]
            lost = execs_at[1] - 1
            assert struct.unpack_from("<H", batch.data, batch.spans[lost][0])[0] \
                == kinds["EK_CRED"]
            spans = [s for i, s in enumerate(batch.spans) if i != lost]
            dec = Decoder(golden.fixed_enricher())
            out = [orjson.loads(d.json) for d in dec.decode(Batch(batch.data, spans))]
        execs = [d for d in out if d["event"]["action"] == "execve"][:2]
        assert "real_user" in execs[0]["process"]
        assert "real_user" not in execs[1]["process"]


class TestCapNames:
    """Capability sets as names."""

    def test_names(self) -> None:
        """Bits name the capabilities of linux/capability.h; unknown bits by number."""
        assert cap_names(0) == []
        assert cap_names(1 << 21 | 1) == ["CAP_CHOWN", "CAP_SYS_ADMIN"]
        assert cap_names(1 << 40) == ["CAP_CHECKPOINT_RESTORE"]
        assert cap_names(1 << 63) == ["CAP_63"]
        assert len(CAPABILITIES) == 41
