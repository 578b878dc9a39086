"""The Elasticsearch sink's records in the disk spool (spool.py), and the documents read back.

Format 2 (written since issue #10): one line per document, the id and UTC day kept beside the
text, so sending (and resending after a restart) never parses the document again:

    2 TAB <event.id> TAB <day YYYY.MM.DD> TAB <JSON text>

The index is named when the bulk goes out (`es_index` or `es_index-<day>`). The day is today's
when the document had none: the mapping then rejects it into the dead letter under today's day.

Format 1 (before): the bulk action line, a tab, the JSON text:

    {"create":{"_index":"<index>","_id":"<event.id>"}} TAB <JSON text>

A spool left by an older version at start is still sent: `decode` recognises a format-1
record by its leading `{` and parses its action line (only that line) for index and id; those
documents keep the index named when they were spooled.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import orjson

from ...config import ElasticsearchConfig
from ...errors import SinkRejected
from ..base import Document

__all__ = ["FORMAT", "Item", "decode", "encode", "today"]

FORMAT = 2
_TAG = b"2\t"
_SEP = b"\t"
_DAY = re.compile(rb"\d{4}\.\d{2}\.\d{2}")


def today() -> str:
    """Today's UTC day as an index name wants it."""
    return datetime.now(UTC).strftime("%Y.%m.%d")


def encode(doc: Document) -> bytes:
    """The format-2 spool record of `doc`; SinkRejected (status 0) when it cannot be indexed
    idempotently or would not stay one record."""
    doc_id, day, text = doc
    if not doc_id:
        raise SinkRejected("document has no event.id")
    if "\t" in doc_id or "\n" in doc_id or "\t" in day or "\n" in day:
        raise SinkRejected("event.id or day holds a tab or a newline", doc_id=doc_id)
    if not text.startswith("{"):
        raise SinkRejected("document is not a JSON object", doc_id=doc_id)
    if "\n" in text:
        # JSON has raw newlines only as whitespace between tokens (never inside a string):
        # the same document on one line, as the spool and the bulk body need it.
        text = text.replace("\r\n", " ").replace("\n", " ")
    return b"".join((_TAG, doc_id.encode(), _SEP, (day or today()).encode(), _SEP,
                     text.encode()))


class Item:
    """A document on its way: its bulk action (made once), source, and 5xx answers so far."""

    __slots__ = ("action", "doc_id", "index", "source", "tries")

    def __init__(self, index: str, doc_id: str, source: bytes) -> None:
        self.index = index
        self.doc_id = doc_id
        self.source = source
        self.action = orjson.dumps({"create": {"_index": index, "_id": doc_id}})
        self.tries = 0


def decode(record: bytes, es: ElasticsearchConfig) -> Item:
    """The item of a spool record of either format; SinkRejected (status 0) for a record that
    is neither (a foreign line in the spool directory, a damaged one), which then goes to the
    dead letter as text: one bad record must never stop delivery of the others."""
    if record.startswith(_TAG):
        parts = record.split(_SEP, 3)
        if len(parts) != 4 or not parts[1]:
            raise SinkRejected("unreadable spool record")
        _, raw_id, raw_day, source = parts
        if raw_day and not _DAY.fullmatch(raw_day):
            raise SinkRejected("unreadable spool record")
        try:
            doc_id, day = raw_id.decode(), raw_day.decode() or today()
        except UnicodeDecodeError:
            raise SinkRejected("unreadable spool record") from None
        _check_source(source)
        index = f"{es.es_index}-{day}" if es.daily_indices else es.es_index
        return Item(index, doc_id, source)
    return _decode_v1(record)


def _check_source(source: bytes) -> None:
    """A document's text is a JSON object: anything else (empty, cut before its `{`) would
    make the bulk body invalid; the cheap check here, the full one only in the dead letter."""
    if not source.startswith(b"{"):
        raise SinkRejected("unreadable spool record")


def _decode_v1(record: bytes) -> Item:
    """Compatibility reader for format 1: parses the action line for index and id."""
    action, _, source = record.partition(_SEP)
    try:
        create = orjson.loads(action)["create"]
        index, doc_id = create["_index"], create["_id"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        raise SinkRejected("unreadable spool record") from None
    if not isinstance(index, str) or not isinstance(doc_id, str) or not doc_id:
        raise SinkRejected("unreadable spool record")
    _check_source(source)
    return Item(index, doc_id, source)
