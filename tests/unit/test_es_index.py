"""Index naming and the template of the Elasticsearch sink, without a server."""

from __future__ import annotations

import re

import orjson
import pytest

from ebpf_monitor.config import ElasticsearchConfig
from ebpf_monitor.sinks.elasticsearch import bulk_target, index_name, index_template


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


DOCS: list[dict[str, object]] = [
    {"@timestamp": "2026-11-27T23:59:59.999999999Z", "event": {"id": "ab-1", "kind": "x"}},
    {"@timestamp": "2026-11-27T23:30:00.123456789-02:00", "event": {"id": "ab-2"}},
    {"@timestamp": "soon", "event": {"id": "ab-3"}},
    {"event": {"id": "ab-4"}, "@timestamp": "2026-11-27T01:00:00Z"},
]


class TestBulkTarget:
    """The sink reads index and _id from a document's text; it must agree with parsing it."""

    @pytest.mark.parametrize("daily", [False, True])
    @pytest.mark.parametrize("doc", DOCS)
    def test_same_as_parsed(self, doc: dict[str, object], daily: bool) -> None:
        es = ElasticsearchConfig(es_index="ebpf", daily_indices=daily)
        text = orjson.dumps(doc).decode()
        index, doc_id, source = bulk_target(es, text)
        assert doc_id == doc["event"]["id"]  # type: ignore[index]
        assert source == text
        if not daily:
            assert index == "ebpf"
        else:
            assert re.fullmatch(r"ebpf-\d{4}\.\d{2}\.\d{2}", index), index
            if doc["@timestamp"] != "soon":  # no time: today's index, whenever that is
                assert index == index_name(es, doc)

    def test_other_writers_text_made_one_line(self) -> None:
        """A pretty-printed document (an embedding caller's) is indexed from one line: the
        spool and the bulk body are line-based."""
        doc = {"@timestamp": "2026-11-27T01:00:00Z", "event": {"id": "x-1"}}
        pretty = orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode()
        index, doc_id, source = bulk_target(ElasticsearchConfig(es_index="ebpf"), pretty)
        assert (index, doc_id) == ("ebpf", "x-1")
        assert "\n" not in source and orjson.loads(source) == doc

    def test_offset_after_z_is_not_a_utc_day(self) -> None:
        """Only a stamp ending in Z is filed by its text; anything else is parsed."""
        es = ElasticsearchConfig(es_index="ebpf", daily_indices=True)
        doc = {"@timestamp": "2020-01-01T23:30:00Z-05:00", "event": {"id": "x-2"}}
        index, _, _ = bulk_target(es, orjson.dumps(doc).decode())
        assert index == index_name(es, doc)

    @pytest.mark.parametrize(("text", "why"), [
        ('{"@timestamp":"2026-11-27T00:00:00Z","event":{"kind":"event"}}', "no event.id"),
        ('{"@timestamp":"2026-11-27T00:00:00Z","event":{"id":""}}', "no event.id"),
        ('{"@timestamp":"2026-11-27T00:00:00Z",', "not a JSON document"),
    ])
    def test_refused(self, text: str, why: str) -> None:
        with pytest.raises(ValueError, match=why):
            bulk_target(ElasticsearchConfig(es_index="ebpf"), text)


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
