"""Index naming, spool records and the template of the Elasticsearch sink, without a server."""

from __future__ import annotations

import re

import orjson
import pytest
from elastic_transport import ConnectionTimeout

from ebpf_monitor.config import ElasticsearchConfig
from ebpf_monitor.document import Document
from ebpf_monitor.errors import SinkError, SinkRejected, SinkUnavailable
from ebpf_monitor.replay import document_from_json, document_from_line, index_for, utc_day
from ebpf_monitor.sinks.elasticsearch import index_template
from ebpf_monitor.sinks.elasticsearch.errors import rejected, unavailable
from ebpf_monitor.sinks.elasticsearch.records import FORMAT, decode, encode, today


def index_name(es: ElasticsearchConfig, doc: dict[str, object]) -> str:
    """The index a parsed document goes to, as replay names it."""
    return index_for(es, document_from_json(doc))


class TestIndexName:
    def test_single_index(self) -> None:
        """Without daily_indices every document goes to es_index."""
        es = ElasticsearchConfig(es_index="ebpf")
        assert index_name(es, {"@timestamp": "2026-11-27T05:40:00.123456789Z"}) == "ebpf"

    def test_daily_from_utc_stamp(self) -> None:
        """The date comes from the nanosecond UTC stamp as written."""
        es = ElasticsearchConfig(es_index="ebpf", daily_indices=True)
        doc = {"@timestamp": "2026-11-27T23:59:59.999999999Z"}
        assert index_name(es, doc) == "ebpf-2026.11.27"

    def test_daily_converts_offsets_to_utc(self) -> None:
        """A stamp with an offset is filed under its UTC date."""
        es = ElasticsearchConfig(es_index="ebpf", daily_indices=True)
        doc = {"@timestamp": "2026-11-27T23:30:00.123456789-02:00"}
        assert index_name(es, doc) == "ebpf-2026.11.28"

    def test_daily_without_time(self) -> None:
        """No usable @timestamp still yields a daily index name (the mapping rejects the doc)."""
        es = ElasticsearchConfig(es_index="ebpf", daily_indices=True)
        assert index_name(es, {"@timestamp": "soon"}).startswith("ebpf-20")
        assert index_name(es, {}).startswith("ebpf-20")

    def test_offset_after_z_is_not_a_utc_day(self) -> None:
        """Only a stamp ending in Z is filed by its text; anything else is parsed."""
        assert utc_day("2020-01-01T23:30:00Z-05:00") == ""
        assert utc_day("2020-01-01T23:30:00") == ""  # no zone: no day


DOCS: list[dict[str, object]] = [
    {"@timestamp": "2026-11-27T23:59:59.999999999Z", "event": {"id": "ab-1", "kind": "x"}},
    {"@timestamp": "2026-11-27T23:30:00.123456789-02:00", "event": {"id": "ab-2"}},
    {"@timestamp": "soon", "event": {"id": "ab-3"}},
    {"event": {"id": "ab-4"}, "@timestamp": "2026-11-27T01:00:00Z"},
]


class TestDocumentFromLine:
    """replay reads stored lines into Documents: id and day beside the text."""

    @pytest.mark.parametrize("doc", DOCS)
    def test_id_day_text(self, doc: dict[str, object]) -> None:
        text = orjson.dumps(doc).decode()
        got = document_from_line(text)
        assert got.id == doc["event"]["id"]  # type: ignore[index]
        assert got.json == text
        assert got.day == utc_day(doc.get("@timestamp"))
        assert re.fullmatch(r"(\d{4}\.\d{2}\.\d{2})?", got.day)

    def test_other_writers_text_made_one_line(self) -> None:
        """A pretty-printed document is indexed from one line: the spool and the bulk body are
        line-based."""
        doc = {"@timestamp": "2026-11-27T01:00:00Z", "event": {"id": "x-1"}}
        got = document_from_line(orjson.dumps(doc, option=orjson.OPT_INDENT_2))
        assert (got.id, got.day) == ("x-1", "2026.11.27")
        assert "\n" not in got.json and orjson.loads(got.json) == doc

    @pytest.mark.parametrize(("text", "why"), [
        ('{"@timestamp":"2026-11-27T00:00:00Z","event":{"kind":"event"}}', "no event.id"),
        ('{"@timestamp":"2026-11-27T00:00:00Z","event":{"id":""}}', "no event.id"),
        ('{"@timestamp":"2026-11-27T00:00:00Z",', "not a JSON document"),
    ])
    def test_refused(self, text: str, why: str) -> None:
        with pytest.raises(ValueError, match=why):
            document_from_line(text)


class TestSpoolRecords:
    """Spool records keep id and day beside the text (format 2); format 1 is still read."""

    def test_round_trip_without_parsing(self) -> None:
        """A format-2 record gives the id, the daily index and the text back unchanged."""
        es = ElasticsearchConfig(es_index="ebpf", daily_indices=True)
        text = '{"not":"parsed"}'  # no event.id in the text: the id comes from beside it
        record = encode(Document("id-1", "2026.11.27", text))
        assert FORMAT == 2 and record.startswith(b"2\t")
        item = decode(record, es)
        assert (item.index, item.doc_id, item.source) == ("ebpf-2026.11.27", "id-1",
                                                          text.encode())
        assert orjson.loads(item.action) == {"create": {"_index": "ebpf-2026.11.27",
                                                        "_id": "id-1"}}
        assert decode(record, ElasticsearchConfig(es_index="ebpf")).index == "ebpf"

    def test_no_day_is_today(self) -> None:
        """A document without a day is spooled under today's (the mapping rejects it)."""
        es = ElasticsearchConfig(es_index="ebpf", daily_indices=True)
        before = today()
        index = decode(encode(Document("id-2", "", "{}")), es).index
        assert index in {f"ebpf-{before}", f"ebpf-{today()}"}

    def test_newlines_folded(self) -> None:
        """A multi-line text becomes one record; JSON's meaning is unchanged."""
        doc = {"event": {"id": "x"}, "a": [1, 2]}
        text = orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode()
        record = encode(Document("x", "2026.11.27", text))
        assert b"\n" not in record
        assert orjson.loads(decode(record, ElasticsearchConfig()).source) == doc

    @pytest.mark.parametrize(("doc", "why"), [
        (Document("", "2026.11.27", "{}"), "document has no event.id"),
        (Document("a\tb", "2026.11.27", "{}"), "tab or a newline"),
        (Document("x", "2026.11.27", ""), "document is not a JSON object"),
        (Document("x", "2026.11.27", "[1]"), "document is not a JSON object"),
    ])
    def test_refused(self, doc: Document, why: str) -> None:
        """Documents that cannot be indexed idempotently raise SinkRejected (status 0)."""
        with pytest.raises(SinkRejected, match=why) as caught:
            encode(doc)
        assert caught.value.status == 0 and why in caught.value.reason

    def test_format_1_still_read(self) -> None:
        """A spool from before format 2 (action line, tab, text) is sent as it was named."""
        action = orjson.dumps({"create": {"_index": "old-2026.11.01", "_id": "v1-id"}})
        item = decode(action + b"\t" + b'{"event":{"id":"v1-id"}}',
                      ElasticsearchConfig(es_index="new", daily_indices=True))
        assert (item.index, item.doc_id) == ("old-2026.11.01", "v1-id")
        assert item.source == b'{"event":{"id":"v1-id"}}'

    @pytest.mark.parametrize("record", [
        b"garbage", b"2\tonly-id", b'{"create":{}}\t{}',
        b"2\t\xffid\t2026.01.01\t{}",  # not UTF-8: once a traceback that ended all delivery
        b"2\tid\t2026.01.\xff1\t{}", b"2\tid\t2026.1.1\t{}", b"2\tid\tx/../y\t{}",
        b"2\tid\t2026.01.01\t", b"2\tid\t2026.01.01\tnull", b"2\tid\t2026.01.01\t\xff{",
        b'{"create":{"_index":"i","_id":"x"}}\t', b'{"create":{"_index":"i","_id":"x"}}\t"s"',
    ])
    def test_unreadable_record_rejected(self, record: bytes) -> None:
        """A line that is no record of either format (foreign, or damaged: bad UTF-8, a day
        that is not YYYY.MM.DD, a text that is not a JSON object) is refused, for the dead
        letter, as SinkRejected and never another exception."""
        with pytest.raises(SinkRejected, match="unreadable spool record"):
            decode(record, ElasticsearchConfig())


class TestTemplate:
    def test_patterns_and_priority(self) -> None:
        """The template covers es_index and its daily indices; longer prefixes win."""
        template = index_template("ebpf-events")
        assert template["index_patterns"] == ["ebpf-events*"]
        assert template["priority"] > index_template("ebpf")["priority"]

    def test_key_types(self) -> None:
        """Nanosecond time, ip addresses, numeric ports, keyword paths with a text sub-field."""
        props = index_template("x")["template"]["mappings"]["properties"]
        assert props["@timestamp"]["type"] == "date_nanos"
        assert props["source"]["properties"]["ip"]["type"] == "ip"
        assert props["destination"]["properties"]["port"]["type"] == "long"
        path = props["file"]["properties"]["path"]
        assert path["type"] == "keyword" and path["fields"]["text"]["type"] == "text"


class TestErrorMapping:
    """Bulk-item answers and failed requests become the exception tree's sink errors."""

    def test_item_error_is_sink_rejected(self) -> None:
        """A permanent item error keeps the server's reason, cause and status."""
        result = {"status": 400, "error": {
            "type": "document_parsing_exception", "reason": "[1:2] failed to parse",
            "caused_by": {"type": "illegal_argument_exception", "reason": "bad ip"}}}
        exc = rejected(result, "id-9")
        assert isinstance(exc, SinkRejected) and isinstance(exc, SinkError)
        assert (exc.status, exc.doc_id) == (400, "id-9")
        assert str(exc) == exc.reason == ("document_parsing_exception: [1:2] failed to parse"
                                          " (caused by illegal_argument_exception: bad ip)")
        assert rejected({"status": 503}, "x").reason == "HTTP 503"

    def test_request_failure_is_sink_unavailable(self) -> None:
        """A transport failure becomes SinkUnavailable with the one-line reason."""
        exc = unavailable(ConnectionTimeout("timed out"))
        assert isinstance(exc, SinkUnavailable) and str(exc) == "request timed out"
