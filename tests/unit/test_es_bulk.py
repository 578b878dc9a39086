"""The bulk worker's request bodies (bulk.py) and the client's pass-through serializer, without
a server: the body is byte for byte what the client made from per-document lines before, and
the rare paths (dead letter, retry subsets, halves) read each document back unchanged."""

from __future__ import annotations

import orjson
from elasticsearch.serializer import NdjsonSerializer

from ebpf_monitor.config import ElasticsearchConfig
from ebpf_monitor.document import Document
from ebpf_monitor.sinks.elasticsearch.bulk import Bulk
from ebpf_monitor.sinks.elasticsearch.client import BodyAsIs, make_client
from ebpf_monitor.sinks.elasticsearch.records import Item, decode, encode

ES = ElasticsearchConfig(es_index="ebpf", daily_indices=True)
DOCS = [
    Document("id-1", "2026.11.27", '{"event":{"id":"id-1"},"message":"a"}'),
    Document('id-"2\\', "2026.11.28", '{"event":{"id":"x"},"file":{"path":"/t\\u00e9\\n"}}'),
    Document("id-3", "", '{"event":{"id":"id-3"}}'),
    Document("id-4", "2026.11.28", '{"event":{"id":"id-4"},"process":{"name":"\\u2603"}}'),
]


def _items() -> list[Item]:
    return [decode(encode(doc), ES) for doc in DOCS]


class TestBulkBody:
    """A bulk's body is the NDJSON the client made from action and source lines before."""

    def test_same_bytes_as_stock_serializer(self) -> None:
        """Action line and source per document, in order, each line ending in a newline."""
        items = _items()
        expected = NdjsonSerializer().dumps([line for it in items
                                             for line in (it.action, bytes(it.source))])
        assert Bulk.of(items).body == expected
        assert len(Bulk.of(items)) == len(DOCS)

    def test_documents_read_back(self) -> None:
        """Source, id and index of each document come back as they were spooled."""
        items = _items()
        bulk = Bulk.of(items)
        for pos, item in enumerate(items):
            assert bulk.source(pos) == item.source
            assert bulk.doc_id(pos) == item.doc_id
            assert bulk.index(pos) == item.index
        assert bulk.doc_id(1) == 'id-"2\\'
        assert orjson.loads(bulk.source(1))["file"]["path"] == "/t\u00e9\n"

    def test_subsets_keep_documents_and_retry_counts(self) -> None:
        """A retry subset and the halves of a refused bulk hold the same documents' lines and
        their 5xx counts; the whole range is the bulk itself."""
        items = _items()
        bulk = Bulk.of(items)
        bulk.tries[1] = 3
        bulk.tries[3] = 1
        sub = bulk.take([1, 3])
        assert sub.body == Bulk.of([items[1], items[3]]).body
        assert sub.tries == {0: 3, 1: 1}
        assert [sub.doc_id(0), sub.doc_id(1)] == [items[1].doc_id, items[3].doc_id]
        first, second = bulk.part(0, 2), bulk.part(2, 4)
        assert first.body + second.body == bulk.body
        assert (first.tries, second.tries) == ({1: 3}, {1: 1})
        assert bulk.part(0, 10) is bulk
        assert len(bulk.take([])) == 0

    def test_action_lines_as_orjson_writes_them(self) -> None:
        """Action lines formatted by hand are orjson's bytes, escaped names included."""
        names = ["ebpf-2026.11.27", "id-1", 'id-"2\\', "a\x01b\x7f", "\u00e9\u2603/", "t\tb"]
        for index in names[:2]:
            for doc_id in names:
                item = Item(index, doc_id, b"{}")
                assert item.action == orjson.dumps({"create": {"_index": index,
                                                               "_id": doc_id}})

    def test_retry_counts_from_items(self) -> None:
        """Items that already had 5xx answers keep their counts in the bulk."""
        items = _items()
        items[2].tries = 2
        assert Bulk.of(items).tries == {2: 2}


class TestBodyAsIs:
    """The client sends a made body without copying it; anything else as the stock one does."""

    def test_bytes_pass_through(self) -> None:
        body = Bulk.of(_items()).body
        assert BodyAsIs().dumps(body) is body

    def test_other_input_as_stock(self) -> None:
        ops = [{"create": {"_id": "a"}}, b'{"x":1}', "{}"]
        assert BodyAsIs().dumps(ops) == NdjsonSerializer().dumps(ops)
        assert BodyAsIs().dumps(b'{"x":1}') == b'{"x":1}\n'  # no final newline: added

    def test_client_uses_it_for_bulk_bodies(self) -> None:
        """The sink's client serializes both NDJSON mimetypes (plain and compatibility mode)
        with it."""
        client = make_client(ElasticsearchConfig())
        try:
            serializers = client.transport.serializers
            for mimetype in ("application/x-ndjson", "application/vnd.elasticsearch+x-ndjson"):
                assert isinstance(serializers.get_serializer(mimetype), BodyAsIs)
        finally:
            client.close()
