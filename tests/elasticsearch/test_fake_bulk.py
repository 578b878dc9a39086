"""Faults a real node will not produce on cue, from a fake bulk endpoint."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson
import pytest

from ebpf_monitor.sinks import ElasticsearchSink
from ebpf_monitor.sinks.elasticsearch import worker as es_sink

from .es_helpers import connect_doc, logged, plain_config, texts, wait_for

pytestmark = pytest.mark.elasticsearch


class FakeBulkServer(ThreadingHTTPServer):
    """A FAKE Elasticsearch: only the template and bulk APIs, with scripted per-item answers.

    `script(doc_id, attempt)` gives the status for a document on its n-th arrival (0-based);
    every document that arrives is recorded in `seen`, created ones in `stored`.
    """

    daemon_threads = True

    def __init__(self, script: Any, port: int = 0) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.script = script
        self.seen: dict[str, int] = {}
        self.stored: dict[str, dict[str, Any]] = {}
        self.bulks = 0
        self.sizes: list[int] = []
        self.lock = threading.Lock()

    @property
    def port(self) -> int:
        return int(self.server_address[1])


class _Handler(BaseHTTPRequestHandler):
    server: FakeBulkServer

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean

    def _reply(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Elastic-Product", "Elasticsearch")  # the client checks it
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_PUT(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.path.startswith("/_index_template/"):
            self._reply(200, {"acknowledged": True})
        elif self.path.startswith("/_bulk"):
            self._bulk(body)
        else:
            self._reply(404, {"error": "not faked"})

    do_POST = do_PUT  # the client sends bulks with PUT; accept both

    def _bulk(self, body: bytes) -> None:
        lines = body.splitlines()
        items = []
        with self.server.lock:
            self.server.bulks += 1
            self.server.sizes.append(len(lines) // 2)
            for action, source in zip(lines[::2], lines[1::2], strict=True):
                doc_id = orjson.loads(action)["create"]["_id"]
                attempt = self.server.seen.get(doc_id, 0)
                self.server.seen[doc_id] = attempt + 1
                status = self.server.script(doc_id, attempt)
                if status == 201 and doc_id in self.server.stored:
                    status = 409
                result: dict[str, Any] = {"status": status}
                if status == 201:
                    self.server.stored[doc_id] = orjson.loads(source)
                else:
                    result["error"] = {"type": f"fake_{status}", "reason": "scripted"}
                items.append({"create": result})
        self._reply(200, {"errors": any(i["create"]["status"] != 201 for i in items),
                          "items": items})


@pytest.fixture
def fake_server(request: pytest.FixtureRequest) -> Iterator[FakeBulkServer]:
    server = FakeBulkServer(request.param)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(es_sink, "BACKOFF_BASE", 0.01)
    monkeypatch.setattr(es_sink, "BACKOFF_CAP", 0.05)


DOCS = [connect_doc(i) for i in range(23)]
EVERY_THIRD = {d["event"]["id"] for d in DOCS[::3]}


def accept_all(doc_id: str, attempt: int) -> int:
    return 201


def throttle_some(doc_id: str, attempt: int) -> int:
    return 429 if doc_id in EVERY_THIRD and attempt < 3 else 201


def always_503(doc_id: str, attempt: int) -> int:
    return 503 if doc_id == DOCS[0]["event"]["id"] else 201


class TestItemRetry:
    @pytest.mark.parametrize("fake_server", [throttle_some], indirect=True)
    def test_429_items_retried(self, fake_server: FakeBulkServer, tmp_path: Path) -> None:
        """Items answered 429 are resent alone until accepted; the others are sent once."""
        config = plain_config(fake_server, "fake")
        with ElasticsearchSink(config, dead_letter_path=tmp_path / "dl.jsonl") as sink:
            sink.write(texts(DOCS))
            assert sink.drain(20)
            stats = sink.stats()
        assert set(fake_server.stored) == {d["event"]["id"] for d in DOCS}
        assert stats.indexed == 23 and stats.dead_lettered == 0
        assert stats.retried == 3 * len(EVERY_THIRD)
        assert all(fake_server.seen[i] == (4 if i in EVERY_THIRD else 1) for i in fake_server.seen)
        assert fake_server.bulks == 4

    @pytest.mark.parametrize("fake_server", [always_503], indirect=True)
    def test_5xx_gives_up(self, fake_server: FakeBulkServer, tmp_path: Path) -> None:
        """An item failing with 5xx on every try is dead-lettered after MAX_ITEM_RETRIES."""
        dead = tmp_path / "dl.jsonl"
        with ElasticsearchSink(plain_config(fake_server, "fake"), dead_letter_path=dead) as sink:
            sink.write(texts(DOCS))
            assert sink.drain(20)
            stats = sink.stats()
        assert stats.indexed == 22 and stats.dead_lettered == 1
        assert fake_server.seen[DOCS[0]["event"]["id"]] == es_sink.MAX_ITEM_RETRIES + 1
        line = orjson.loads(dead.read_bytes())
        assert line["status"] == 503 and line["document"] == DOCS[0]


class TestBatching:
    @pytest.mark.parametrize("fake_server", [accept_all], indirect=True)
    def test_bulk_sizes(self, fake_server: FakeBulkServer, tmp_path: Path) -> None:
        """Documents leave in bulks of batch_size; the remainder waits for flush_interval."""
        config = plain_config(fake_server, "fake", batch_size=10, flush_interval=1.0)
        with ElasticsearchSink(config, dead_letter_path=tmp_path / "dl.jsonl") as sink:
            sink.write(texts(DOCS))
            sink.flush()  # the pipeline calls it after every batch: it must not force a bulk
            assert wait_for(lambda: fake_server.sizes == [10, 10], timeout=5)
            time.sleep(0.3)
            assert fake_server.sizes == [10, 10]
            assert wait_for(lambda: fake_server.sizes == [10, 10, 3], timeout=5)
            # Acknowledged once the answer is read, a moment after the server saw the bulk.
            assert wait_for(lambda: sink.stats().pending == 0, timeout=5)


class TestResume:
    def test_resume_when_reachable(self, tmp_path: Path,
                                   caplog: pytest.LogCaptureFixture) -> None:
        """Documents written while nothing listens are delivered once the server appears."""
        server = FakeBulkServer(lambda doc_id, attempt: 201)
        port = server.port
        server.server_close()  # the port is free now, nothing listens
        sink = ElasticsearchSink(plain_config(server, "fake"),
                                 dead_letter_path=tmp_path / "dl.jsonl")
        try:
            sink.write(texts(DOCS))
            assert wait_for(lambda: logged(caplog, "connection refused"))
            server = FakeBulkServer(lambda doc_id, attempt: 201, port)
            thread = threading.Thread(target=server.serve_forever, daemon=True)
            thread.start()
            assert sink.drain(20)
            assert len(server.stored) == 23
            assert logged(caplog, "reachable again", logging.WARNING)
        finally:
            sink.close()
            server.shutdown()
            server.server_close()
