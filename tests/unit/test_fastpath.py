"""The compiled per-event loop (fastpath.py, _fastcore.c) against the Python builders."""

from __future__ import annotations

import gzip
import logging
import pickle
import random
import struct
import sys
from pathlib import Path

import orjson
import pytest

import ebpf_monitor
from ebpf_monitor import fastpath
from ebpf_monitor.abi import layout
from ebpf_monitor.config import Config
from ebpf_monitor.decode import Decoder
from ebpf_monitor.document import Document
from ebpf_monitor.enrich import Enricher
from ebpf_monitor.ringbuf import Batch

from .recorded_abi import enum

BATCHES = Path(__file__).with_name("batches")
KINDS = enum("event_kind")
IGNORED = tuple(Config().filters.ignore_path_prefixes)
COVERED = [KINDS[k] for k in ("EK_OPEN", "EK_RW", "EK_SOCKET", "EK_NET")]
"""The kinds with a program in fastpath.py."""


def _decoder(*, compiled: bool) -> Decoder:
    # No /proc lookups: both decoders must see the same answers, whatever runs on the host.
    en = Enricher(host_name="testhost", proc_lookups=False)
    en.offset_ns = 1_700_000_000 * 10**9
    dec = Decoder(en, ignored_prefixes=IGNORED, compiled=compiled)
    if compiled:
        assert dec.fast is not None, "the compiled core is not built (make setup)"
    return dec


def _both(batches: list[Batch]) -> tuple[list[Document], list[Document], Decoder, Decoder]:
    py, c = _decoder(compiled=False), _decoder(compiled=True)
    want = [d for b in batches for d in py.decode(b)]
    got = [d for b in batches for d in c.decode(b)]
    return want, got, py, c


def _first_difference(want: list[Document], got: list[Document]) -> str:
    for i, (a, b) in enumerate(zip(want, got, strict=False)):
        if a != b:
            return f"document {i}:\n{a}\n{b}"
    return f"{len(want)} documents against {len(got)}"


def _recorded(mode: str) -> Batch:
    data, spans = pickle.loads(gzip.decompress((BATCHES / f"{mode}.pkl.gz").read_bytes()))
    return Batch(data, spans)


def _chunks(batch: Batch, n: int) -> list[Batch]:
    return [Batch(batch.data, batch.spans[i: i + n]) for i in range(0, len(batch.spans), n)]


class TestRecordedBatches:
    """A recorded batch of every record kind, per capture mode, renders byte for byte alike."""

    @pytest.mark.parametrize("mode", ["all", "first", "none"])
    def test_identical(self, mode: str) -> None:
        """C + fallback and the builders alone give the same documents, counts and order."""
        batch = _recorded(mode)
        want, got, py, c = _both(_chunks(batch, 300))
        assert want == got, _first_difference(want, got)
        assert (py.by_kind, py.filtered, py.errors, py.decoded) == (
            c.by_kind, c.filtered, c.errors, c.decoded)
        assert c.fast is not None
        # The C rendered most of the batch; every kind is in it.
        kinds_seen = {batch.data[o] | batch.data[o + 1] << 8 for o, _ in batch.spans}
        expected = {"EK_EXEC", "EK_FORK", "EK_EXIT", "EK_OPEN", "EK_UNLINK", "EK_RENAME",
                    "EK_SOCKET", "EK_NET"} | ({"EK_RW"} if mode != "none" else set()) | (
            {"EK_IO_SUMMARY"} if mode == "first" else set())
        assert {KINDS[k] for k in expected} <= kinds_seen
        assert c.fast.made >= sum(py.by_kind[k] for k in COVERED) * 9 // 10
        assert any('"pid_ns"' in d.json for d in got)  # a process in its own PID namespace
        # Document values, as the builders make them: the C's id and day are the JSON's.
        assert all(type(d) is Document for d in got)
        for d in got:
            head = orjson.loads(d.json)
            assert d.id == head["event"]["id"]
            assert d.day == head["@timestamp"][:10].replace("-", ".")

    def test_shuffled(self) -> None:
        """Out of order (no neighbour alike) the caches still give the same text."""
        batch = _recorded("all")
        spans = list(batch.spans)
        random.Random(7).shuffle(spans)
        want, got, _, _ = _both(_chunks(Batch(batch.data, spans), 257))
        assert want == got, _first_difference(want, got)


def _mutants(batch: Batch, rng: random.Random, n: int) -> Batch:
    """Records of the kinds the C renders, with random bytes flipped, random lengths, and
    records of random bytes under those kinds."""
    opens = [s for s in batch.spans if batch.data[s[0]] | batch.data[s[0] + 1] << 8 in COVERED]
    data = bytearray()
    spans = []
    for _ in range(n):
        choice = rng.random()
        if choice < 0.6:
            off, length = rng.choice(opens)
            rec = bytearray(batch.data[off: off + length])
            for _ in range(rng.randint(1, 4)):
                rec[rng.randrange(len(rec))] = rng.randrange(256)
            if rng.random() < 0.2:
                rec = rec[: rng.randrange(len(rec) + 1)]
        elif choice < 0.8:
            rec = bytearray(rng.randbytes(rng.randrange(0, 400)))
            if len(rec) >= 2:
                rec[0:2] = struct.pack("<H", rng.choice(COVERED))
        else:
            off, length = rng.choice(batch.spans)
            rec = bytearray(batch.data[off: off + length])
        spans.append((len(data), len(rec)))
        data += rec + b"\0" * (-len(rec) % 8)
    return Batch(bytes(data), spans)


class TestFuzz:
    """Random and mutated records: no crash, and the same documents as the builders make."""

    @pytest.mark.parametrize("seed", range(6))
    def test_mutated(self, seed: int, caplog: pytest.LogCaptureFixture) -> None:
        """Every record is either rendered identically in C or handed to Python."""
        caplog.set_level(logging.CRITICAL)  # the builders log the undecodable ones
        batch = _mutants(_recorded("all" if seed % 2 else "first"), random.Random(seed), 3000)
        want, got, py, c = _both(_chunks(batch, 500))
        assert want == got, _first_difference(want, got)
        assert (py.filtered, py.errors) == (c.filtered, c.errors)

    def test_tiny_records(self) -> None:
        """Records of 0 and 1 bytes, the last one at the very end of the data: counted as
        errors, never read past."""
        dec = _decoder(compiled=True)
        assert dec.decode(Batch(b"\0" * 8 + b"\4", [(0, 0), (8, 1), (9, 0)])) == []
        assert dec.errors == 3

    def test_bad_spans(self) -> None:
        """Spans outside the data are refused, not read."""
        dec = _decoder(compiled=True)
        with pytest.raises(ValueError, match="outside the data"):
            dec.decode(Batch(b"\0" * 16, [(8, 16)]))


class TestPrograms:
    """Programs are checked once, when the core is made."""

    def test_bad_operand(self) -> None:
        """An op reading past any record, or an unknown op, is refused up front."""
        from ebpf_monitor import _fastcore

        for quad in [(fastpath.LIT, 5, 0, 0), (fastpath.DEC, 0, 3, 0), (99, 0, 0, 0),
                     (fastpath.FRAG, 1, 0, 0)]:
            with pytest.raises(ValueError, match="bad op or operand"):
                _fastcore.Core({1: struct.pack("<4i", *quad)}, [b"x"], [lambda *a: ""], [4],
                               str, Document)

    def test_document_type(self) -> None:
        """The document type must be a tuple type (the core fills its three items)."""
        from ebpf_monitor import _fastcore

        with pytest.raises(TypeError, match="tuple type"):
            _fastcore.Core({}, [], [], [], str, dict)

    @pytest.mark.parametrize("name", ["event_header", "open_event", "rw_event"])
    def test_field_offsets(self, name: str) -> None:
        """Offsets and signs from the recorded BTF layout read what struct.unpack reads."""
        lay = layout(name)
        f = fastpath._fields(lay)
        sample: list[object] = []
        for i, field in enumerate(lay.fields):
            width = f[field][1] & 0xFF
            sample.append(bytes([i + 1]) * width if width > 8 else -(i + 1) if
                          f[field][1] & fastpath._SIGNED else i + 1)
        rec = lay.struct.pack(*sample)
        for i, (field, (off, spec)) in enumerate(f.items()):
            assert lay.fields[i] == field
            width = spec & 0xFF
            raw = rec[off: off + width]
            got = raw if width > 8 else int.from_bytes(raw, "little",
                                                       signed=bool(spec & fastpath._SIGNED))
            assert got == sample[i], field


class TestWithoutExtension:
    """Without the compiled core the builders run alone, and the log says so once."""

    def test_fallback_to_python(self, monkeypatch: pytest.MonkeyPatch,
                                caplog: pytest.LogCaptureFixture) -> None:
        """An import failure is one warning line; the documents are the same."""
        monkeypatch.setitem(sys.modules, "ebpf_monitor._fastcore", None)
        monkeypatch.delattr(ebpf_monitor, "_fastcore", raising=False)
        with caplog.at_level(logging.WARNING, logger="ebpf_monitor.fastpath"):
            dec = Decoder(Enricher(host_name="testhost", proc_lookups=False),
                          ignored_prefixes=IGNORED)
        assert dec.fast is None
        assert [r.getMessage() for r in caplog.records if "compiled core" in r.getMessage()]
        batch = _recorded("all")
        dec.enricher.offset_ns = 1_700_000_000 * 10**9
        assert dec.decode(batch) == _decoder(compiled=False).decode(batch)


class TestRingWalk:
    """The ring walk in C finds the records ringbuf.py's Python loop finds."""

    @pytest.mark.parametrize("seed", range(4))
    def test_same_spans(self, seed: int) -> None:
        """Discarded, busy and cut-off records, and random bytes, alike."""
        from ebpf_monitor import _fastcore, ringbuf

        rng = random.Random(seed)
        for _ in range(200):
            data = bytearray()
            for _ in range(rng.randrange(12)):
                length = rng.randrange(300)
                flags = rng.choice([0, 0, 0, 1 << 30, 1 << 31])
                data += struct.pack("<II", length | flags, 0) + rng.randbytes(length)
                data += b"\0" * (-len(data) % 8)
            if rng.random() < 0.3:
                data = data[: rng.randrange(len(data) + 1)]
            if rng.random() < 0.1:
                data = bytearray(rng.randbytes(rng.randrange(64)))
            raw = bytes(data)
            assert _fastcore.walk(raw) == ringbuf._spans(raw, len(raw))
