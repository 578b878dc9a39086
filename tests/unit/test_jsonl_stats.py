"""The JSON-lines sink's counters: reading them changes nothing; loss records get their own."""

from __future__ import annotations

import resource
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from ebpf_monitor.document import Document
from ebpf_monitor.sinks import jsonl
from ebpf_monitor.sinks.base import WrittenStats, stats_items
from ebpf_monitor.sinks.elasticsearch.sink import ElasticsearchStats
from ebpf_monitor.sinks.jsonl import JsonlSink, JsonlStats

DOC = Document("1", "", '{"event":{"id":"1"}}')


@contextmanager
def file_size_limit(size: int) -> Iterator[None]:
    """Writes past `size` bytes of any file fail with EFBIG: a real write error on demand."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    old = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, old)


class TestJsonlStats:
    """stats() is side-effect free and counts every lost event; the loss count ends spells."""

    def test_stats_have_no_side_effect(self, tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
        """During and after a failing spell, stats() reports all lost events and leaves the
        spell open; losses_to_record() ends it and gives the loss record its count."""
        monkeypatch.setattr(jsonl, "RECOVERY_SECONDS", 0.0)
        path = tmp_path / "events.jsonl"
        path.write_bytes(b"x" * 4095 + b"\n")
        with JsonlSink(path) as sink:
            with file_size_limit(4096):
                sink.write([DOC] * 3)
            assert sink.stats() == JsonlStats(written=0, failed=3, failing=1, failing_lost=3)
            sink.write([DOC])  # writes work again
            first = sink.stats()
            assert sink.stats() == first == JsonlStats(written=1, failed=3, failing=1,
                                                       failing_lost=3)
            assert "writing again" not in caplog.text
            assert sink.losses_to_record() == 3
            assert "writing again; 3 events lost in this spell (3 in all)" in caplog.text
            assert sink.stats() == JsonlStats(written=1, failed=3, failing=0, failing_lost=0)
        assert path.stat().st_size == 4096 + len(DOC.json) + 1  # the failed batch cut back

    def test_open_spell_counts_at_shutdown_only(self, tmp_path: Path) -> None:
        """While writes still fail, the loss count leaves the open spell out until the final
        report, which includes it."""
        path = tmp_path / "events.jsonl"
        path.write_bytes(b"x" * 4095 + b"\n")
        with JsonlSink(path) as sink, file_size_limit(4096):
            sink.write([DOC] * 2)
            assert sink.losses_to_record() == 0
            assert sink.losses_to_record(final=True) == 2
            assert sink.stats().failed == 2


class TestStatsLine:
    """The stats line prints each sink's typed counters by name, in the order declared."""

    def test_items_in_order(self, tmp_path: Path) -> None:
        """The JSON-lines, Elasticsearch and stdout stats read as the line always had them."""
        with JsonlSink(tmp_path / "events.jsonl") as sink:
            sink.write([DOC] * 2)
            assert list(stats_items(sink.stats())) == [
                ("written", 2), ("failed", 0), ("failing", 0), ("failing_lost", 0)]
        es = ElasticsearchStats(indexed=5, duplicates=1, pending=2, spooled_bytes=9)
        assert [k for k, _ in stats_items(es)] == [
            "indexed", "duplicates", "retried", "dead_lettered", "pending", "spooled_bytes",
            "failed", "failing"]
        assert (es.written, es.pending, es.spooled_bytes) == (5, 2, 9)
        assert list(stats_items(WrittenStats(written=3))) == [("written", 3)]
        assert WrittenStats(written=3).spooled_bytes is None
