"""The Elasticsearch sink's dead letter and bulk worker on faults that need no server: the
dead letter stays JSON lines, and no record or bug ends delivery silently."""

from __future__ import annotations

import socket
from pathlib import Path

import orjson
import pytest

from ebpf_monitor.config import ElasticsearchConfig
from ebpf_monitor.errors import SinkRejected
from ebpf_monitor.sinks.elasticsearch import ElasticsearchSink, worker
from ebpf_monitor.sinks.elasticsearch.dead_letter import DeadLetter
from ebpf_monitor.spool import Spool


def _unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _sink_over(tmp_path: Path, records: list[bytes]) -> ElasticsearchSink:
    """A sink whose spool already holds `records` (left by an earlier run); its server is never
    reached in these tests, the records being all set aside before a bulk is made."""
    spool = tmp_path / "spool"
    spool.mkdir(mode=0o750)
    (spool / f"{1:016d}.seg").write_bytes(b"\n".join(records) + b"\n")
    es = ElasticsearchConfig(es_host="127.0.0.1", es_port=_unused_port(), es_index="t",
                             flush_interval=0.05)
    return ElasticsearchSink(es, dead_letter_path=tmp_path / "dl.jsonl", spool_dir=spool,
                             close_timeout=1.0)


def _dead_lines(tmp_path: Path) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in (tmp_path / "dl.jsonl").read_bytes().splitlines()]


class TestDeadLetterLines:
    """Every dead-letter line is one JSON object, whatever text was rejected."""

    @pytest.mark.parametrize(("text", "document"), [
        (b'{"a":1}', {"a": 1}),
        (b'{"@timestamp":"20', '{"@timestamp":"20'),  # cut short: kept as a string
        (b"", ""),
        (b'{"a":1} x', '{"a":1} x'),
        (b'{"a":\r\n1,\r"b":\n2}', {"a": 1, "b": 2}),  # JSON across lines: one line
        (b"\xff{", "\\xff{"),
    ])
    def test_document_as_json_or_string(self, tmp_path: Path, text: bytes,
                                        document: object) -> None:
        """Valid JSON is embedded as it is, anything else as a JSON string."""
        dead = DeadLetter(tmp_path / "dl.jsonl", "http://x")
        try:
            dead.add(text, SinkRejected("refused", status=400), is_json=True)
        finally:
            dead.close()
        assert _dead_lines(tmp_path) == [{"reason": "refused", "status": 400,
                                          "document": document}]


class TestWorkerNeverStuck:
    """A bad record is set aside and delivery goes on; a worker that ends says so."""

    def test_damaged_records_set_aside(self, tmp_path: Path) -> None:
        """Records that are not UTF-8 or hold no JSON object go to the dead letter as text;
        the worker keeps running."""
        damaged = [b"2\t\xffid\t2026.01.01\t{}", b"2\tid\t2026.01.01\t",
                   b"2\tid\t20260101\t{}"]
        with _sink_over(tmp_path, damaged) as sink:
            assert sink.drain(30)
            stats = sink.stats()
        assert (stats.dead_lettered, stats.pending, stats.failing) == (3, 0, 0)
        lines = _dead_lines(tmp_path)
        assert [line["document"] for line in lines] == [
            "2\t\\xffid\t2026.01.01\t{}", "2\tid\t2026.01.01\t", "2\tid\t20260101\t{}"]
        assert {line["reason"] for line in lines} == {"unreadable spool record"}

    def test_unexpected_error_per_record(self, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
        """An error no record should cause (a bug) sets that record aside with one log line."""
        def broken(record: bytes, es: ElasticsearchConfig) -> worker.Item:
            raise ValueError("a bug")

        monkeypatch.setattr(worker, "decode", broken)
        with _sink_over(tmp_path, [b"2\tid-1\t2026.01.01\t{}", b"2\tid-2\t2026.01.01\t{}"]) \
                as sink:
            assert sink.drain(30)
            assert (sink.stats().dead_lettered, sink.stats().failing) == (2, 0)
        assert {line["reason"] for line in _dead_lines(tmp_path)} == {
            "unreadable spool record (ValueError: a bug)"}

    def test_stopped_worker_reported(self, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
        """If the worker thread ends anyway, drain() returns False instead of waiting, and the
        stats and last_error say so."""
        def broken(self: Spool, cursor: object, count: int) -> None:
            raise RuntimeError("a bug")

        monkeypatch.setattr(Spool, "ack", broken)
        with _sink_over(tmp_path, [b"garbage"]) as sink:
            assert not sink.drain(600)
            assert sink.stats().failing == 1
            assert sink.last_error == "sink worker stopped: RuntimeError: a bug"
