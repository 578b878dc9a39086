"""Real paths beside the given ones, the working directory after chdir, the session leader's
entity id: from records to documents, with and without the compiled core (issue 12)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from ebpf_monitor.decode import Decoder
from ebpf_monitor.enrich import Enricher
from ebpf_monitor.ringbuf import Batch

from .recorded_abi import enum
from .test_decode import record

KINDS = enum("event_kind")
ACTIONS = enum("event_action")
AT_FDCWD = enum("abi_const")["ABI_AT_FDCWD"]
PID = 4242  # test_decode.record's


def _decode(compiled: bool, *records: bytes) -> list[dict[str, Any]]:
    dec = Decoder(Enricher(host_name="t", proc_lookups=False), compiled=compiled)
    if compiled:
        assert dec.fast is not None, "the compiled core is not built (make setup)"
    data = b""
    spans = []
    for rec in records:
        spans.append((len(data), len(rec)))
        data += rec + b"\0" * (-len(rec) % 8)
    docs = [orjson.loads(d.json) for d in dec.decode(Batch(data, spans))]
    assert dec.errors == 0
    return docs


def _open(path: bytes, real: bytes = b"", **fields: Any) -> bytes:
    tail = path + b"\0" + (real + b"\0" if real else b"")
    return record("open_event", tail, h_kind=KINDS["EK_OPEN"], h_action=ACTIONS["EA_OPENAT"],
                  h_ret=3, dfd=AT_FDCWD, path_len=len(path), real_len=len(real), **fields)


def _chdir(path: bytes, cwd: bytes, ret: int = 0, **fields: Any) -> bytes:
    return record("chdir_event", path + b"\0" + cwd + b"\0", h_kind=KINDS["EK_CHDIR"],
                  h_action=ACTIONS["EA_CHDIR"], h_ret=ret, fd=AT_FDCWD, path_len=len(path),
                  cwd_len=len(cwd), **fields)


@pytest.mark.parametrize("compiled", [False, True], ids=["python", "compiled"])
class TestRecords:
    """The record fields reach the documents the same way on both paths."""

    def test_real_path(self, compiled: bool) -> None:
        """real_len > 0: ebpf.real_path beside file.path; 0: no field at all."""
        linked, plain = _decode(compiled, _open(b"/bin/x", b"/usr/bin/x"), _open(b"/usr/bin/y"))
        assert linked["file"]["path"] == "/bin/x"
        assert linked["ebpf"]["real_path"] == "/usr/bin/x"
        assert "real_path" not in plain["ebpf"]

    def test_chdir_followed_by_later_events(self, compiled: bool) -> None:
        """An open after a chdir names the new working directory, even one whose actor
        text was cached before it (the compiled core's cache is cleared)."""
        before, moved, after, failed, still = _decode(
            compiled, _open(b"/a"), _chdir(b"/bin", b"/usr/bin"), _open(b"/b"),
            _chdir(b"/missing", b"", ret=-2), _open(b"/c"))
        assert "working_directory" not in before["process"]  # no /proc lookups here
        assert moved["event"]["action"] == "chdir"
        assert moved["file"]["path"] == "/bin"
        assert moved["ebpf"]["real_path"] == "/usr/bin"
        assert moved["process"]["working_directory"] == "/usr/bin"
        assert after["process"]["working_directory"] == "/usr/bin"
        assert failed["error"]["code"] == "ENOENT"
        assert failed["process"]["working_directory"] == "/usr/bin"
        assert still["process"]["working_directory"] == "/usr/bin"

    def test_relative_chdir(self, compiled: bool) -> None:
        """A relative chdir that succeeded: file.path is the new cwd, the argument raw."""
        (doc,) = _decode(compiled, _chdir(b"sub", b"/w/sub"))
        assert doc["file"]["path"] == "/w/sub"
        assert doc["ebpf"]["raw_path"] == "sub"
        assert "real_path" not in doc["ebpf"]

    def test_session_leader(self, compiled: bool) -> None:
        """The leader's start time gives its entity id; none when the leader has exited."""
        en = Enricher(host_name="t")
        alive, gone = _decode(compiled, _open(b"/a", h_sid=77, h_sid_start_ns=5_000),
                              _open(b"/b", h_sid=77))
        assert alive["process"]["session_leader"] == {
            "pid": 77, "entity_id": en.process_ids(77, 5_000)[0]}
        assert gone["process"]["session_leader"] == {"pid": 77}
