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
    """A document on its way: its bulk action (made once), source, and 5xx answers so far.

    The source is a view into the spool record, not a copy: the bulk's body (bulk.py) is the
    one copy made of it, while the records of the spool read are still held."""

    __slots__ = ("action", "doc_id", "index", "source", "tries")

    def __init__(self, index: str, doc_id: str, source: bytes | memoryview) -> None:
        self.index = index
        self.doc_id = doc_id
        self.source = source
        self.action = _action(index, doc_id)
        self.tries = 0


_PLAIN = re.compile(r'[^"\\\x00-\x1f]*')
"""A string JSON writes as it is, between quotes (orjson escapes nothing else)."""


def _action(index: str, doc_id: str) -> bytes:
    """The bulk action line, byte for byte what orjson writes; formatted here when neither
    name needs escaping (the usual case). orjson.dumps hands each result back in its 4 KiB
    working buffer: a bulk's action lines held ~4 KiB each until its body was made, 14 MB
    for a 4 MiB bulk (findings: "Issue 10: Elasticsearch monitor memory, second pass")."""
    if _PLAIN.fullmatch(index) and _PLAIN.fullmatch(doc_id):
        return b'{"create":{"_index":"%b","_id":"%b"}}' % (index.encode(), doc_id.encode())
    # A copy of the exact size; the working buffer goes at once.
    return bytes(memoryview(orjson.dumps({"create": {"_index": index, "_id": doc_id}})))


def decode(record: bytes, es: ElasticsearchConfig) -> Item:
    """The item of a spool record of either format; SinkRejected (status 0) for a record that
    is neither (a foreign line in the spool directory, a damaged one), which then goes to the
    dead letter as text: one bad record must never stop delivery of the others."""
    if record.startswith(_TAG):
        # Tag, id, day and text split by hand: split() would copy the text as well.
        after_id = record.find(_SEP, len(_TAG))
        after_day = record.find(_SEP, after_id + 1) if after_id > len(_TAG) else -1
        if after_day < 0:
            raise SinkRejected("unreadable spool record")
        raw_id, raw_day = record[len(_TAG):after_id], record[after_id + 1:after_day]
        source = memoryview(record)[after_day + 1:]
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


def _check_source(source: bytes | memoryview) -> None:
    """A document's text is a JSON object: anything else (empty, cut before its `{`) would
    make the bulk body invalid; the cheap check here, the full one only in the dead letter."""
    if source[:1] != b"{":
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
