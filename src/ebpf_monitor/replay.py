"""`ebpf-monitor replay FILE...`: (re)index JSON-lines event files into Elasticsearch.

For backfill after an outage that outlived the spool, or moving to a new cluster. Idempotent:
each document goes in with `op_type: create` and `_id = event.id`, so what is already indexed
answers 409 and is counted as present, never duplicated. Gzipped files (rotated by logrotate)
are read as they are.

Each line is parsed here (reading input): `document_from_line` makes the `Document` the sinks
take (id and UTC day beside the text), so the index name and id come from the same place as
for live documents.
"""

from __future__ import annotations

import gzip
import logging
import os
import re
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import orjson
from elasticsearch.helpers import streaming_bulk

from .config import Config, ElasticsearchConfig
from .document import Document
from .errors import MonitorError
from .sinks.elasticsearch import index_template, make_client
from .sinks.elasticsearch.records import today

__all__ = ["document_from_json", "document_from_line", "index_for", "replay", "utc_day"]

log = logging.getLogger(__name__)


_DAY = re.compile(r"(\d{4})-(\d{2})-(\d{2})T[^+]*Z\Z")


def utc_day(stamp: object) -> str:
    """`YYYY.MM.DD` of an ISO 8601 @timestamp in UTC (offsets converted), "" when it is not
    a time with a zone."""
    if not isinstance(stamp, str):
        return ""
    m = _DAY.match(stamp)
    if m:
        return f"{m[1]}.{m[2]}.{m[3]}"
    try:
        # fromisoformat takes at most 6 fraction digits: cut the rest.
        parsed = datetime.fromisoformat(re.sub(r"(\.\d{6})\d+", r"\1", stamp))
    except ValueError:
        return ""
    if parsed.tzinfo is None:
        return ""
    return parsed.astimezone(UTC).strftime("%Y.%m.%d")


def document_from_json(doc: Any) -> Document:
    """The Document of a parsed event document: id ("" when it has none), UTC day, and its
    text written again on one line."""
    event = doc.get("event") if isinstance(doc, dict) else None
    doc_id = event.get("id") if isinstance(event, dict) else None
    day = utc_day(doc.get("@timestamp")) if isinstance(doc, dict) else ""
    return Document(doc_id if isinstance(doc_id, str) else "", day, orjson.dumps(doc).decode())


def document_from_line(line: bytes | str) -> Document:
    """The Document of one stored JSON line; ValueError when it is not an event document."""
    try:
        parsed = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"not a JSON document: {exc}") from None
    doc = document_from_json(parsed)
    if not doc.id:
        raise ValueError("document has no event.id")
    return doc


def index_for(es: ElasticsearchConfig, doc: Document) -> str:
    """`es_index`, or `es_index-YYYY.MM.DD` from the document's day (today's when it has
    none: the mapping then rejects it)."""
    if not es.daily_indices:
        return es.es_index
    return f"{es.es_index}-{doc.day or today()}"


class _Progress:
    """A one-line progress bar on a terminal, a line every 5 s otherwise."""

    def __init__(self, total: int, stream: IO[str]) -> None:
        self.total = max(total, 1)
        self.stream = stream
        self.tty = stream.isatty()
        self.start = self.last = time.monotonic()

    def update(self, done_bytes: int, docs: int, *, final: bool = False) -> None:
        now = time.monotonic()
        if not final and now - self.last < (0.2 if self.tty else 5.0):
            return
        self.last = now
        frac = min(done_bytes / self.total, 1.0)
        rate = docs / max(now - self.start, 1e-9)
        bar = "#" * int(frac * 30)
        line = f"[{bar:<30}] {frac:6.1%} {docs} documents {rate:,.0f}/s"
        if self.tty:
            self.stream.write("\r" + line + ("\n" if final else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


class _Reader:
    """Bulk actions from the files, keeping count of bytes read for the progress bar."""

    def __init__(self, paths: list[Path], config: Config) -> None:
        self.paths = paths
        self.config = config
        self.bytes_done = 0
        self.bad_lines = 0

    def actions(self) -> Iterator[dict[str, Any]]:
        es = self.config.es_config
        before = 0
        for path in self.paths:
            with open(path, "rb") as raw:
                gzipped = raw.read(2) == b"\x1f\x8b"
                raw.seek(0)
                stream: IO[bytes] = (gzip.GzipFile(fileobj=raw) if gzipped  # type: ignore[assignment]
                                     else raw)
                for lineno, line in enumerate(stream, 1):
                    self.bytes_done = before + raw.tell()
                    if not line.strip():
                        continue
                    try:
                        doc = document_from_line(line)
                    except ValueError:
                        self.bad_lines += 1
                        log.warning("%s:%d: not an event document, skipped", path, lineno)
                        continue
                    yield {"_op_type": "create", "_index": index_for(es, doc), "_id": doc.id,
                           "_source": doc.json}
            before += path.stat().st_size
            self.bytes_done = before


def replay(paths: list[Path], config: Config) -> int:
    """Index every document of `paths`; returns the exit status (0: all present now)."""
    for path in paths:
        if not path.is_file():
            raise MonitorError(f"{path}: no such file")
        if not os.access(path, os.R_OK):
            raise MonitorError(f"{path}: permission denied")
    es = config.es_config
    client = make_client(es)
    try:
        client.indices.put_index_template(name=es.es_index, **index_template(es.es_index))
    except Exception as exc:
        raise MonitorError(f"elasticsearch: cannot install the index template: {exc}") from None
    reader = _Reader(paths, config)
    progress = _Progress(sum(p.stat().st_size for p in paths), sys.stderr)
    created = present = failed = 0
    for ok, item in streaming_bulk(client, reader.actions(), chunk_size=es.batch_size,
                                   raise_on_error=False, raise_on_exception=True,
                                   max_retries=8, initial_backoff=1, max_backoff=30):
        result = next(iter(item.values()))
        if ok:
            created += 1
        elif result.get("status") == 409:
            present += 1
        else:
            failed += 1
            log.error("%s: %s", result.get("_id"), result.get("error"))
        progress.update(reader.bytes_done, created + present + failed)
    progress.update(reader.bytes_done, created + present + failed, final=True)
    print(f"replay: {created} indexed, {present} already present, {failed} failed,"
          f" {reader.bad_lines} lines skipped", file=sys.stderr)
    client.close()
    return 0 if failed == 0 and reader.bad_lines == 0 else 1
