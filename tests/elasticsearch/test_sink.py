"""ElasticsearchSink against real nodes: mapping, searches, duplicates, dead letters, TLS errors."""

from __future__ import annotations

import logging
import socket
import stat
import threading
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from elasticsearch import Elasticsearch

from ebpf_monitor.errors import SinkRejected
from ebpf_monitor.sinks import ElasticsearchSink, Sink
from ebpf_monitor.sinks.elasticsearch import ElasticsearchStats

from .es_helpers import (
    BASE_NS,
    connect_doc,
    logged,
    open_doc,
    plain_config,
    stamp,
    texts,
    tls_config,
    wait_for,
)

pytestmark = pytest.mark.elasticsearch

N = 23  # prime: an off-by-one in batching cannot hide


def _count(client: Elasticsearch, index: str, query: dict[str, Any] | None = None) -> int:
    client.indices.refresh(index=f"{index}*")
    result = client.count(index=f"{index}*", query=query or {"match_all": {}})
    return int(result["count"])


class TestIndexing:
    def test_is_a_sink(self, es_plain: Any, index_name: str, tmp_path: Path) -> None:
        """The sink satisfies the Sink protocol the pipeline relies on."""
        with ElasticsearchSink(plain_config(es_plain, index_name),
                               dead_letter_path=tmp_path / "dl.jsonl") as sink:
            assert isinstance(sink, Sink)
            assert sink.stats() == ElasticsearchStats(indexed=0, duplicates=0, retried=0,
                                                      dead_lettered=0, pending=0,
                                                      spooled_bytes=0, failed=0,
                                                      failing=0)

    def test_documents_searchable(self, es_plain: Any, plain_client: Elasticsearch,
                                  index_name: str, tmp_path: Path) -> None:
        """Every document written is indexed once, under its event.id, in small bulks."""
        docs = [connect_doc(i) for i in range(N)] + [open_doc(i) for i in range(N)]
        config = plain_config(es_plain, index_name, batch_size=7)
        with ElasticsearchSink(config, dead_letter_path=tmp_path / "dl.jsonl") as sink:
            sink.write(texts(docs[:10]))
            sink.write(texts(docs[10:]))
            assert sink.drain(30)
            assert sink.stats().indexed == 2 * N
        assert _count(plain_client, index_name) == 2 * N
        got = plain_client.get(index=index_name, id=docs[3]["event"]["id"])
        assert got["_source"] == docs[3]
        assert not (tmp_path / "dl.jsonl").exists()

    def test_timestamp_range_and_ip_term(self, es_plain: Any, plain_client: Elasticsearch,
                                         index_name: str, tmp_path: Path) -> None:
        """@timestamp keeps nanoseconds for `range`; destination.ip is an ip for `term`."""
        docs = [connect_doc(i, ns=BASE_NS + i, dest_ip="192.0.2.7" if i % 2 else "2001:db8::1")
                for i in range(N)]
        with ElasticsearchSink(plain_config(es_plain, index_name),
                               dead_letter_path=tmp_path / "dl.jsonl") as sink:
            sink.write(texts(docs))
            assert sink.drain(30)
        # Documents 5..9 are 5 ns apart in all: only date_nanos can tell them apart.
        window = {"range": {"@timestamp": {"gte": stamp(BASE_NS + 5), "lte": stamp(BASE_NS + 9)}}}
        assert _count(plain_client, index_name, window) == 5
        assert _count(plain_client, index_name, {"term": {"destination.ip": "192.0.2.7"}}) == 11
        cidr = {"term": {"destination.ip": "2001:db8::/32"}}
        assert _count(plain_client, index_name, cidr) == 12

    def test_mapping(self, es_plain: Any, plain_client: Elasticsearch, index_name: str,
                     tmp_path: Path) -> None:
        """The template gives the explicit types, not dynamic guesses."""
        with ElasticsearchSink(plain_config(es_plain, index_name),
                               dead_letter_path=tmp_path / "dl.jsonl") as sink:
            sink.write(texts([open_doc(0), connect_doc(0)]))
            assert sink.drain(30)
        props = plain_client.indices.get_mapping(index=index_name)[index_name]["mappings"][
            "properties"]
        assert props["@timestamp"]["type"] == "date_nanos"
        assert props["destination"]["properties"]["ip"]["type"] == "ip"
        assert props["source"]["properties"]["port"]["type"] == "long"
        path = props["file"]["properties"]["path"]
        assert path["type"] == "keyword" and path["fields"]["text"]["type"] == "text"
        assert props["process"]["properties"]["args"]["type"] == "keyword"
        assert props["event"]["properties"]["category"]["type"] == "keyword"
        assert props["ebpf"]["properties"]["lost"]["properties"]["ring"]["type"] == "long"
        # The .text multi-field makes paths searchable by word.
        match = {"match": {"file.path.text": "missing"}}
        assert _count(plain_client, index_name, match) == 1

    def test_daily_indices(self, es_plain: Any, plain_client: Elasticsearch, index_name: str,
                           tmp_path: Path) -> None:
        """With daily_indices, each document goes to <es_index>-YYYY.MM.DD of its UTC date."""
        day = 86_400 * 1_000_000_000
        docs = [connect_doc(i, ns=BASE_NS + (i % 3) * day) for i in range(N)]
        config = plain_config(es_plain, index_name, daily_indices=True)
        with ElasticsearchSink(config, dead_letter_path=tmp_path / "dl.jsonl") as sink:
            sink.write(texts(docs))
            assert sink.drain(30)
        counts = {name: _count(plain_client, name)
                  for name in plain_client.indices.get(index=f"{index_name}-*")}
        assert counts == {f"{index_name}-2026.11.27": 8, f"{index_name}-2026.11.28": 8,
                          f"{index_name}-2026.11.29": 7}

    def test_flush_interval(self, es_plain: Any, plain_client: Elasticsearch, index_name: str,
                            tmp_path: Path) -> None:
        """A partial batch goes out after flush_interval without any flush() call."""
        config = plain_config(es_plain, index_name, batch_size=1000, flush_interval=0.5)
        with ElasticsearchSink(config, dead_letter_path=tmp_path / "dl.jsonl") as sink:
            sink.write(texts([connect_doc(1), connect_doc(2)]))
            assert wait_for(lambda: sink.stats().indexed == 2, timeout=10)


class TestDuplicates:
    def test_same_batch_twice(self, es_plain: Any, plain_client: Elasticsearch,
                              index_name: str, tmp_path: Path) -> None:
        """A batch sent again (a retry after a lost answer) is indexed once: 409 is success."""
        docs = [connect_doc(i) for i in range(N)]
        with ElasticsearchSink(plain_config(es_plain, index_name),
                               dead_letter_path=tmp_path / "dl.jsonl") as sink:
            sink.write(texts(docs))
            assert sink.drain(30)
            sink.write(texts(docs))
            assert sink.drain(30)
            stats = sink.stats()
        assert stats.indexed == 2 * N and stats.duplicates == N
        assert stats.dead_lettered == 0
        assert _count(plain_client, index_name) == N
        with ElasticsearchSink(plain_config(es_plain, index_name),
                               dead_letter_path=tmp_path / "dl.jsonl") as sink:
            sink.write(texts(docs))  # and from a new sink, as after a restart
            assert sink.drain(30)
            assert sink.stats().duplicates == N
        assert _count(plain_client, index_name) == N


class TestDeadLetter:
    def test_mapping_violation(self, es_plain: Any, plain_client: Elasticsearch,
                               index_name: str, tmp_path: Path,
                               caplog: pytest.LogCaptureFixture) -> None:
        """A document the mapping rejects is dead-lettered; the rest of its batch is indexed."""
        docs = [connect_doc(i) for i in range(N)]
        docs[5]["destination"]["ip"] = "not-an-ip"
        docs[6]["@timestamp"] = "yesterday"
        dead = tmp_path / "sub" / "dl.jsonl"
        with ElasticsearchSink(plain_config(es_plain, index_name),
                               dead_letter_path=dead) as sink:
            sink.write(texts(docs))
            assert sink.drain(30)
            stats = sink.stats()
        assert stats.indexed == N - 2 and stats.dead_lettered == 2
        assert _count(plain_client, index_name) == N - 2
        lines = [orjson.loads(line) for line in dead.read_bytes().splitlines()]
        assert [line["document"] for line in lines] == [docs[5], docs[6]]
        assert all(line["status"] == 400 for line in lines)
        assert "destination.ip" in lines[0]["reason"]
        assert stat.S_IMODE(dead.stat().st_mode) == 0o640
        assert logged(caplog, "documents rejected so far", logging.WARNING)

    def test_rejection_is_a_sink_rejected(self, es_plain: Any, index_name: str,
                                          tmp_path: Path) -> None:
        """A document the mapping refuses is recorded as SinkRejected: its id, the status and
        the server's reason, the same reason its dead-letter line carries."""
        docs = [connect_doc(i) for i in range(3)]
        docs[1]["source"]["port"] = "not-a-port"
        dead = tmp_path / "dl.jsonl"
        with ElasticsearchSink(plain_config(es_plain, index_name),
                               dead_letter_path=dead) as sink:
            assert sink.last_rejected is None
            sink.write(texts(docs))
            assert sink.drain(30)
            rejected = sink.last_rejected
        assert isinstance(rejected, SinkRejected)
        assert rejected.doc_id == docs[1]["event"]["id"] and rejected.status == 400
        assert "source.port" in rejected.reason and str(rejected) == rejected.reason
        line = orjson.loads(dead.read_bytes())
        assert line == {"reason": rejected.reason, "status": 400, "document": docs[1]}

    def test_no_event_id(self, es_plain: Any, index_name: str, tmp_path: Path) -> None:
        """A document without event.id cannot be indexed idempotently: dead letter, status 0."""
        doc = connect_doc(1)
        del doc["event"]["id"]
        dead = tmp_path / "dl.jsonl"
        with ElasticsearchSink(plain_config(es_plain, index_name),
                               dead_letter_path=dead) as sink:
            sink.write(texts([doc, connect_doc(2)]))
            assert sink.drain(30)
            assert sink.stats().indexed == 1
        line = orjson.loads(dead.read_bytes())
        assert line["status"] == 0 and line["reason"] == "document has no event.id"


    def test_bulk_refused_as_a_whole_is_split(self, es_plain: Any, plain_client: Elasticsearch,
                                              index_name: str, tmp_path: Path,
                                              caplog: pytest.LogCaptureFixture) -> None:
        """A document Elasticsearch refuses for the whole bulk request (an event.id over 512
        bytes: HTTP 400 action_request_validation_exception, not a per-item answer) is found
        by halving the bulk and dead-lettered; its batch is indexed, nothing is retried
        forever."""
        docs = [connect_doc(i) for i in range(N)]
        docs[7]["event"]["id"] = "x" * 600
        dead = tmp_path / "dl.jsonl"
        with ElasticsearchSink(plain_config(es_plain, index_name),
                               dead_letter_path=dead) as sink:
            sink.write(texts(docs))
            assert sink.drain(60)
            stats = sink.stats()
            assert sink.last_error is None
        assert (stats.indexed, stats.dead_lettered, stats.pending) == (N - 1, 1, 0)
        assert _count(plain_client, index_name) == N - 1
        line = orjson.loads(dead.read_bytes())
        assert line["status"] == 400 and line["document"] == docs[7]
        assert "action_request_validation_exception" in line["reason"]
        assert logged(caplog, "sending it in parts", logging.WARNING)

    def test_damaged_spool_records(self, es_plain: Any, plain_client: Elasticsearch,
                                   index_name: str, tmp_path: Path) -> None:
        """Damaged records in the spool (not UTF-8, a text cut short) are dead-lettered, every
        line of the dead letter stays JSON, and the records around them are indexed."""
        spool = tmp_path / "spool"
        spool.mkdir(mode=0o750)
        good = [connect_doc(i) for i in range(N)]
        lines = [b"2\t%s\t2026.01.01\t%s" % (d["event"]["id"].encode(), orjson.dumps(d))
                 for d in good]
        lines.insert(3, b"2\t\xffid\t2026.01.01\t{}")  # once ended all delivery for good
        lines.insert(9, b'2\tcut-1\t2026.01.01\t{"@timestamp":"20')  # Elasticsearch: 400
        (spool / f"{1:016d}.seg").write_bytes(b"\n".join(lines) + b"\n")
        dead = tmp_path / "dl.jsonl"
        with ElasticsearchSink(plain_config(es_plain, index_name), dead_letter_path=dead,
                               spool_dir=spool) as sink:
            assert sink.drain(60)
            stats = sink.stats()
        assert (stats.indexed, stats.dead_lettered, stats.failing) == (N, 2, 0)
        assert _count(plain_client, index_name) == N
        by_reason = {line["reason"]: line for line in map(orjson.loads,
                                                           dead.read_bytes().splitlines())}
        assert by_reason["unreadable spool record"]["document"] == "2\t\\xffid\t2026.01.01\t{}"
        [cut] = [line for reason, line in by_reason.items() if "document_parsing" in reason]
        assert cut["status"] == 400 and cut["document"] == '{"@timestamp":"20'


class TestTls:
    def test_https_basic_auth(self, es_tls: Any, tls_client: Elasticsearch, index_name: str,
                              tmp_path: Path) -> None:
        """Over HTTPS with our CA and the elastic user, documents are indexed."""
        with ElasticsearchSink(tls_config(es_tls, index_name),
                               dead_letter_path=tmp_path / "dl.jsonl") as sink:
            sink.write(texts([connect_doc(i) for i in range(N)]))
            assert sink.drain(30)
        assert _count(tls_client, index_name) == N
        tls_client.indices.delete(index=f"{index_name}*")

    def test_wrong_ca(self, es_tls: Any, other_ca: Path, index_name: str, tmp_path: Path,
                      caplog: pytest.LogCaptureFixture) -> None:
        """A CA that did not sign the server certificate: one clear line, documents kept."""
        config = tls_config(es_tls, index_name, ca_certs=other_ca)
        with ElasticsearchSink(config, dead_letter_path=tmp_path / "dl.jsonl",
                               close_timeout=0.5) as sink:
            sink.write(texts([connect_doc(1)]))
            assert wait_for(lambda: logged(caplog, "certificate verify failed: "))
            assert sink.stats().pending == 1 and sink.stats().indexed == 0
            assert sink.last_error is not None
            assert sink.last_error.startswith("certificate verify failed: ")
        errors = [r.getMessage() for r in caplog.records
                  if "certificate verify failed" in r.getMessage()]
        assert len(errors) == 2, errors  # once per outage (not per retry), once at close
        assert "closing with 1 documents not indexed" in errors[1]

    def test_wrong_password(self, es_tls: Any, index_name: str, tmp_path: Path,
                            caplog: pytest.LogCaptureFixture) -> None:
        """A wrong password is reported as an authentication failure, documents kept."""
        config = tls_config(es_tls, index_name, es_password="wrong-password")
        with ElasticsearchSink(config, dead_letter_path=tmp_path / "dl.jsonl",
                               close_timeout=0.5) as sink:
            sink.write(texts([connect_doc(1)]))
            assert wait_for(lambda: logged(caplog, "authentication failed"))
            assert sink.stats().pending == 1

    def test_verify_certs_off(self, es_tls: Any, tls_client: Elasticsearch, index_name: str,
                              tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
        """verify_certs=false works, warns once in our log, and raises no Python warning."""
        config = tls_config(es_tls, index_name, ca_certs=None, verify_certs=False)
        with ElasticsearchSink(config, dead_letter_path=tmp_path / "dl.jsonl") as sink:
            sink.write(texts([connect_doc(1)]))
            assert sink.drain(30)
        assert logged(caplog, "verify_certs is false", logging.WARNING)
        assert _count(tls_client, index_name) == 1
        tls_client.indices.delete(index=f"{index_name}*")


def _unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class TestUnreachable:
    def test_connection_refused(self, tmp_path: Path,
                                caplog: pytest.LogCaptureFixture) -> None:
        """Nothing listening: 'connection refused' once, documents pending, close is bounded."""
        config = plain_config(type("S", (), {"port": _unused_port()}), "x")
        sink = ElasticsearchSink(config, dead_letter_path=tmp_path / "dl.jsonl",
                                 close_timeout=1.0)
        sink.write(texts([connect_doc(i) for i in range(N)]))
        assert wait_for(lambda: logged(caplog, "connection refused"))
        assert sink.stats().pending == N
        started = time.monotonic()
        sink.close()
        assert time.monotonic() - started < 5
        assert logged(caplog, f"closing with {N} documents not indexed")

    def test_spool_bound(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """An outage longer than the spool holds: the oldest are dropped and counted as
        `failed` (the pipeline turns that into a loss record); write() never refuses."""
        monkeypatch.setattr("ebpf_monitor.spool.SEGMENT_BYTES", 2000)
        config = plain_config(type("S", (), {"port": _unused_port()}), "x", batch_size=10)
        with ElasticsearchSink(config, dead_letter_path=tmp_path / "dl.jsonl",
                               spool_max_bytes=6000, close_timeout=0.2) as sink:
            for i in range(0, 200, 20):
                sink.write(texts([connect_doc(j) for j in range(i, i + 20)]))
            stats = sink.stats()
            assert stats.failed > 0
            assert stats.failed + stats.pending == 200
            # Bounded: the bound, plus at most the segment being written (never dropped).
            assert stats.spooled_bytes is not None
            assert stats.spooled_bytes <= 6000 + 20 * 1000


class TestCatchUp:
    def test_backlog_indexed_once_and_refresh_restored(
            self, es_plain: Any, plain_client: Elasticsearch, index_name: str,
            tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
            caplog: pytest.LogCaptureFixture) -> None:
        """A spooled backlog (an outage) goes out in parallel bulks: every document once, the
        index's own refresh_interval back afterwards."""
        monkeypatch.setattr("ebpf_monitor.sinks.elasticsearch.worker.CATCHUP_BATCH_SIZE", 250)
        caplog.set_level(logging.INFO, logger="ebpf_monitor")
        n = 4001  # > CATCHUP_BATCHES bulks of 250: a backlog; prime, so a cut cannot hide
        docs = [open_doc(i) for i in range(n)]
        spool = tmp_path / "spool"
        down = plain_config(type("S", (), {"port": _unused_port()}), index_name)
        with ElasticsearchSink(down, dead_letter_path=tmp_path / "dl.jsonl", spool_dir=spool,
                               close_timeout=0.1) as sink:
            sink.write(texts(docs[:11]))
        # The index exists with a refresh_interval of its own, as an operator may have set.
        with ElasticsearchSink(plain_config(es_plain, index_name),
                               dead_letter_path=tmp_path / "dl.jsonl",
                               spool_dir=tmp_path / "other") as sink:
            sink.write(texts(docs[:1]))
            assert sink.drain(30)
        plain_client.indices.put_settings(index=index_name,
                                          settings={"index.refresh_interval": "7s"})
        with ElasticsearchSink(down, dead_letter_path=tmp_path / "dl.jsonl", spool_dir=spool,
                               close_timeout=0.1) as sink:
            sink.write(texts(docs[11:]))
        with ElasticsearchSink(plain_config(es_plain, index_name, batch_size=100),
                               dead_letter_path=tmp_path / "dl.jsonl", spool_dir=spool) as sink:
            assert sink.drain(120)
            stats = sink.stats()
        assert stats.indexed == n and stats.dead_lettered == 0
        assert stats.duplicates == 1  # docs[0], indexed by the other sink first
        assert logged(caplog, "catching up on", logging.INFO)
        assert _count(plain_client, index_name) == n
        settings = plain_client.indices.get_settings(index=index_name,
                                                     name="index.refresh_interval")
        assert settings[index_name]["settings"]["index"]["refresh_interval"] == "7s"


    def test_bulks_bounded_by_bytes(
            self, es_plain: Any, plain_client: Elasticsearch, index_name: str,
            tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """A bulk holds at most BULK_BYTES of documents however many the count allows, also
        while catching up, with at most CATCHUP_BATCHES of them at once; a document longer than
        that goes alone; every document is indexed once."""
        from ebpf_monitor.sinks.elasticsearch import worker

        monkeypatch.setattr(worker, "CATCHUP_BATCH_SIZE", 250)
        monkeypatch.setattr(worker, "BULK_BYTES", 64 * 1024)
        docs = [open_doc(i) for i in range(1201)]  # > CATCHUP_BATCHES bulks of 250: a backlog
        for doc in docs:  # ~4 KB each: 250 of them are ~1 MB, 64 KiB holds ~15
            doc["process"]["args"].append("x" * 4000)
        docs[600]["process"]["args"].append("y" * (2 * worker.BULK_BYTES))
        bodies: list[int] = []
        in_flight = [0, 0]  # bulk requests now, most at once
        lock = threading.Lock()
        real_bulk = Elasticsearch.bulk

        def counting_bulk(client: Elasticsearch, *args: Any, **kwargs: Any) -> Any:
            with lock:
                bodies.append(len(kwargs["operations"]))
                in_flight[0] += 1
                in_flight[1] = max(in_flight)
            try:
                return real_bulk(client, *args, **kwargs)
            finally:
                with lock:
                    in_flight[0] -= 1

        down = plain_config(type("S", (), {"port": _unused_port()}), index_name)
        with ElasticsearchSink(down, dead_letter_path=tmp_path / "dl.jsonl",
                               spool_dir=tmp_path / "spool", close_timeout=0.1) as sink:
            sink.write(texts(docs))
        monkeypatch.setattr(Elasticsearch, "bulk", counting_bulk)
        with ElasticsearchSink(plain_config(es_plain, index_name, batch_size=100),
                               dead_letter_path=tmp_path / "dl.jsonl",
                               spool_dir=tmp_path / "spool") as sink:
            assert sink.drain(120)
            stats = sink.stats()
        assert stats.indexed == len(docs) and stats.dead_lettered == 0
        assert _count(plain_client, index_name) == len(docs)
        long = [n for n in bodies if n > 2 * worker.BULK_BYTES]
        assert len(long) == 1  # alone
        # A body: its documents plus an action line each (< 100 bytes here, ~15 per bulk).
        assert max(n for n in bodies if n not in long) <= worker.BULK_BYTES + 15 * 100
        assert 1 <= in_flight[1] <= worker.CATCHUP_BATCHES

class TestSpoolFormat:
    def test_format_1_spool_sent_after_upgrade(self, es_plain: Any, plain_client: Elasticsearch,
                                               index_name: str, tmp_path: Path) -> None:
        """A spool written by the previous version (bulk action, tab, text) is sent at start,
        to the index named then; new documents after it go out as format 2."""
        spool = tmp_path / "spool"
        spool.mkdir(mode=0o750)
        old = [connect_doc(i) for i in range(N)]
        lines = [orjson.dumps({"create": {"_index": f"{index_name}-old",
                                          "_id": d["event"]["id"]}}) + b"\t" + orjson.dumps(d)
                 for d in old]
        lines.append(b"not a spool record")  # a foreign line: dead letter, never a stall
        (spool / f"{1:016d}.seg").write_bytes(b"\n".join(lines) + b"\n")
        dead = tmp_path / "dl.jsonl"
        new = [connect_doc(i) for i in range(N, 2 * N)]
        with ElasticsearchSink(plain_config(es_plain, index_name), dead_letter_path=dead,
                               spool_dir=spool) as sink:
            assert sink.pending == N + 1
            sink.write(texts(new))
            assert sink.drain(30)
            stats = sink.stats()
        assert stats.indexed == 2 * N and stats.dead_lettered == 1
        assert _count(plain_client, f"{index_name}-old") == N
        assert _count(plain_client, index_name) == 2 * N  # the pattern covers both
        line = orjson.loads(dead.read_bytes())
        assert line == {"reason": "unreadable spool record", "status": 0,
                        "document": "not a spool record"}
