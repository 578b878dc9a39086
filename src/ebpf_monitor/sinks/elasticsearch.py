"""Elasticsearch sink: bulk `create` requests from a background thread, through a disk spool.

`write()` only appends the documents, ready-made as bulk lines, to the disk spool (spool.py);
one worker thread reads bulks of `batch_size` from it, at least every `flush_interval` seconds,
and acknowledges them to the spool once Elasticsearch has answered for every document. An
outage, a slow cluster or a SIGKILL therefore loses nothing that reached the spool.

Each document is indexed with `_op_type: create` and `_id = event.id`, so a batch sent twice
(a retry after a lost answer) is indexed once: the second copy answers 409, counted as indexed.

Per-item outcomes of a bulk request:
- 2xx, and 409 on create: indexed.
- 429: retried with capped exponential backoff, for as long as it takes.
- 5xx: retried the same way, at most `MAX_ITEM_RETRIES` times, then dead-lettered.
- anything else (400 mapping conflict, ...): written to the dead-letter JSON-lines file.

A whole request that fails (connection refused, TLS, 401, timeout, 5xx) keeps its documents and is
retried with backoff; the failure is logged once per distinct reason and recovery once.

Memory stays flat during an outage: documents wait on disk, bounded by the spool's `max_bytes`
(oldest dropped and counted past it). Documents left at close stay in the spool for the next
start.

Catching up (a backlog of at least CATCHUP_BATCHES big bulks, after an outage or a restart): up
to CATCHUP_BATCHES bulks of up to CATCHUP_BATCH_SIZE documents go out at once, each on its own
connection, and are acknowledged to the spool in the order read once all have answered; the
indices written get a relaxed refresh_interval (CATCHUP_REFRESH) until the backlog is gone, then
their own value back. One `batch_size` bulk at a time left the node idle while we waited for
each answer and read the spool (benchmarks/es_catchup.py, benchmarks/findings.md).
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import re
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import orjson
from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport import ConnectionTimeout, TlsError, TransportError
from elasticsearch import (
    ApiError,
    AuthenticationException,
    AuthorizationException,
    Elasticsearch,
)

from .. import ownfiles
from .._safedir import SafeDir
from ..config import ElasticsearchConfig
from ..errors import ConfigError, MonitorError, SinkUnavailable
from ..spool import Cursor, Spool
from ._mixin import SinkContext
from .base import Document

__all__ = ["ElasticsearchSink", "bulk_target", "index_name", "index_template"]

log = logging.getLogger(__name__)

MAX_ITEM_RETRIES = 8
"""5xx answers for one document before it is dead-lettered (429 is retried without limit)."""
BACKOFF_BASE = 0.5
BACKOFF_CAP = 30.0
CLOSE_TIMEOUT = 10.0
CATCHUP_BATCHES = 4
"""Bulk requests in flight at once while a backlog lasts (parallel_bulk's default threads)."""
CATCHUP_BATCH_SIZE = 5000
"""Documents per bulk while catching up (~3-5 MB: Elastic's advice for a bulk's size); never
fewer than batch_size. The spool hands out at most one read (4 MiB) per bulk."""
CATCHUP_REFRESH = "30s"
"""refresh_interval of the indices written while catching up (default 1 s): fewer refreshes
leave the node's CPU to indexing. Not -1: if we die mid-catch-up, documents still become
searchable. Each index gets its own former value back when the backlog is gone."""

_LONG_STRING = 8191
"""ignore_above for long keywords: 8191 chars of 4 UTF-8 bytes fit Lucene's 32766-byte term."""

_DAY = re.compile(r"(\d{4})-(\d{2})-(\d{2})T[^+]*Z\Z")
# The start of a document from schema.py: UTC day (when the time is one) and event.id.
_HEAD = re.compile(r'\{"@timestamp":"(?:(\d{4})-(\d{2})-(\d{2})T[^"+]*Z(?="))?[^"]*",'
                   r'"event":\{"id":"([^"\\]+)"')


def _kw(*, text: bool = False) -> dict[str, Any]:
    mapping: dict[str, Any] = {"type": "keyword", "ignore_above": _LONG_STRING}
    if text:
        mapping["fields"] = {"text": {"type": "text"}}
    return mapping


_LONG: dict[str, Any] = {"type": "long"}
_KEYWORD: dict[str, Any] = {"type": "keyword", "ignore_above": 1024}
_NANOS: dict[str, Any] = {"type": "date_nanos"}

_PROPERTIES: dict[str, Any] = {
    "@timestamp": _NANOS,
    "event": {"properties": {
        name: _KEYWORD
        for name in ("id", "kind", "action", "category", "type", "outcome", "dataset", "module")
    }},
    "host": {"properties": {"name": _KEYWORD, "hostname": _KEYWORD, "id": _KEYWORD}},
    "process": {"properties": {
        "pid": _LONG,
        "thread": {"properties": {"id": _LONG}},
        "name": _KEYWORD,
        "executable": _kw(text=True),
        "args": _kw(),
        "args_count": _LONG,
        "command_line": _kw(text=True),
        "start": _NANOS,
        "entity_id": _KEYWORD,
        "exit_code": _LONG,
        "working_directory": _kw(text=True),
        "parent": {"properties": {
            "pid": _LONG,
            "entity_id": _KEYWORD,
            "name": _KEYWORD,
            "executable": _kw(text=True),
            "start": _NANOS,
        }},
    }},
    "user": {"properties": {"id": _KEYWORD, "name": _KEYWORD}},
    "group": {"properties": {"id": _KEYWORD, "name": _KEYWORD}},
    "file": {"properties": {
        "path": _kw(text=True),
        "target_path": _kw(text=True),
        "name": _KEYWORD,
        "directory": _kw(text=True),
    }},
    "source": {"properties": {"ip": {"type": "ip"}, "port": _LONG}},
    "destination": {"properties": {"ip": {"type": "ip"}, "port": _LONG}},
    "network": {"properties": {
        "transport": _KEYWORD, "type": _KEYWORD, "iana_number": _KEYWORD,
    }},
    "error": {"properties": {"code": _KEYWORD, "message": _kw(text=True)}},
    "ebpf": {"properties": {
        "syscall": _KEYWORD,
        "ret": _LONG,
        "fd": _LONG,
        "flags": _KEYWORD,
        "mode": _LONG,
        "bytes_requested": _LONG,
        "bytes": _LONG,
        "child_pid": _LONG,
        "pid_ns": {"properties": {"pid": _LONG, "tid": _LONG, "ppid": _LONG, "inode": _LONG}},
        "truncated": {"type": "boolean"},
        "socket": {"properties": {"family": _KEYWORD, "type": _KEYWORD, "protocol": _LONG}},
        "lost": {"type": "object", "dynamic": True},  # one long per loss kind
        "raw_path": _kw(),
    }},
}


def index_template(es_index: str) -> dict[str, Any]:
    """The composable template for `es_index` and its daily indices.

    Priority grows with the prefix length so that two monitors with nested prefixes
    (`ebpf`, `ebpf-events`) do not collide at equal priority.
    """
    return {
        "index_patterns": [f"{es_index}*"],
        "priority": 100 + len(es_index),
        "template": {"mappings": {
            "dynamic": True,
            # Fields we did not foresee: strings as keywords, not text + keyword.
            "dynamic_templates": [{"strings_as_keyword": {
                "match_mapping_type": "string",
                "mapping": {"type": "keyword", "ignore_above": 1024},
            }}],
            "properties": _PROPERTIES,
        }},
        "_meta": {"managed_by": "ebpf-monitor"},
    }


def index_name(es: ElasticsearchConfig, doc: dict[str, Any]) -> str:
    """`es_index`, or `es_index-YYYY.MM.DD` from a parsed document's UTC @timestamp."""
    if not es.daily_indices:
        return es.es_index
    stamp = doc.get("@timestamp")
    day: str | None = None
    if isinstance(stamp, str):
        m = _DAY.match(stamp)
        if m:
            day = f"{m[1]}.{m[2]}.{m[3]}"
        else:
            try:
                # fromisoformat takes at most 6 fraction digits: cut the rest.
                parsed = datetime.fromisoformat(re.sub(r"(\.\d{6})\d+", r"\1", stamp))
                if parsed.tzinfo is not None:
                    day = parsed.astimezone(UTC).strftime("%Y.%m.%d")
            except ValueError:
                pass
    if day is None:
        # No usable time: today's index; the mapping then rejects it into the dead letter.
        day = datetime.now(UTC).strftime("%Y.%m.%d")
    return f"{es.es_index}-{day}"


def bulk_target(es: ElasticsearchConfig, doc: Document) -> tuple[str, str, Document]:
    """(index, _id, source) of a document; ValueError when it cannot be indexed idempotently.

    Documents from schema.py start with their time and id, so a match on the text is enough;
    anything else (a time with an offset, another writer's document) is parsed, and written
    again on one line (a spool record and a bulk source are one line each)."""
    m = _HEAD.match(doc)
    if m is not None and (m[1] or not es.daily_indices) and "\n" not in doc:
        index = f"{es.es_index}-{m[1]}.{m[2]}.{m[3]}" if es.daily_indices else es.es_index
        return index, m[4], doc
    try:
        parsed = orjson.loads(doc)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"not a JSON document: {exc}") from None
    event = parsed.get("event") if isinstance(parsed, dict) else None
    doc_id = event.get("id") if isinstance(event, dict) else None
    if not isinstance(doc_id, str) or not doc_id:
        raise ValueError("document has no event.id")
    return index_name(es, parsed), doc_id, orjson.dumps(parsed).decode()


def _describe(exc: Exception) -> str:
    """One short reason an operator can act on."""
    if isinstance(exc, AuthenticationException):
        return "authentication failed (HTTP 401): check es_user and the password or es_api_key"
    if isinstance(exc, AuthorizationException):
        return f"not authorized (HTTP 403): {_api_reason(exc)}"
    text = _chain_text(exc)
    if isinstance(exc, TlsError):
        m = re.search(r"certificate verify failed: [^(\]'\"]*", text)
        if m:
            return m.group(0).strip()
        return f"TLS error: {exc.message}"
    if isinstance(exc, ConnectionTimeout):
        return "request timed out"
    if isinstance(exc, TransportConnectionError):
        if "Connection refused" in text:
            return "connection refused"
        if "Name or service not known" in text or "NameResolutionError" in text:
            return "host name not found"
        return f"connection failed: {exc.message}"
    if isinstance(exc, ApiError):
        return f"HTTP {exc.meta.status}: {_api_reason(exc)}"
    return f"{type(exc).__name__}: {exc}"


def _chain_text(exc: BaseException) -> str:
    """The messages of an exception and its causes: the transport hides urllib3's in `message`."""
    parts: list[str] = []
    seen: BaseException | None = exc
    for _ in range(6):
        if seen is None:
            break
        parts.append(str(getattr(seen, "message", "")) or str(seen))
        seen = seen.__cause__ or seen.__context__
    return " | ".join(parts)


def _api_reason(exc: ApiError) -> str:
    body = exc.body
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            return f"{error.get('type')}: {error.get('reason')}"
        if error is not None:
            return str(error)
    return str(exc.message)


def _item_reason(result: dict[str, Any]) -> str:
    error = result.get("error")
    if isinstance(error, dict):
        reason = f"{error.get('type')}: {error.get('reason')}"
        cause = error.get("caused_by")
        if isinstance(cause, dict):
            reason += f" (caused by {cause.get('type')}: {cause.get('reason')})"
        return reason
    return str(error) if error is not None else f"HTTP {result.get('status')}"


class _Item:
    """A document on its way, as its two bulk lines; parsed again only to dead-letter it."""

    __slots__ = ("action", "source", "tries")

    def __init__(self, action: bytes, source: bytes) -> None:
        self.action = action
        self.source = source
        self.tries = 0

    @property
    def doc(self) -> Any:
        try:
            return orjson.loads(self.source)
        except orjson.JSONDecodeError:
            return self.source.decode("utf-8", "backslashreplace")


class _TooBig(Exception):
    """A catch-up bulk timed out: send its documents again in smaller bulks."""


_SEP = b"\t"  # between the action and the source in a spool record: never raw in JSON


class ElasticsearchSink(SinkContext):
    """Send documents to Elasticsearch without ever blocking the caller for long."""

    name = "elasticsearch"

    def __init__(
        self,
        es: ElasticsearchConfig,
        *,
        dead_letter_path: Path,
        spool_dir: Path | None = None,
        spool_max_bytes: int = 1024 * 1024 * 1024,
        close_timeout: float = CLOSE_TIMEOUT,
    ) -> None:
        self._es = es
        self._dead_letter_path = dead_letter_path
        self._close_timeout = close_timeout
        self._client = self._make_client(es)
        self.url = self._url(es)

        self.indexed = 0
        self.duplicates = 0
        self.retried = 0
        self.dead_lettered = 0

        self._cond = threading.Condition()
        self._count_lock = threading.Lock()  # counters and the dead letter: bulks run in parallel
        self._pool: ThreadPoolExecutor | None = None  # made at the first backlog
        self._relaxed: dict[str, Any] = {}  # index -> its refresh_interval before catch-up
        self._catchup_size = CATCHUP_BATCH_SIZE
        self._relax_failed = False
        self.spool = Spool(spool_dir if spool_dir is not None
                           else dead_letter_path.parent / "spool", max_bytes=spool_max_bytes)
        self._oldest = 0.0  # monotonic time the oldest pending document arrived
        self._flush_requested = False
        self._closing = False
        self._abort = threading.Event()
        self._wakeup = threading.Event()  # cuts a backoff sleep short (close, abort)
        self._reopen_dead_letter = False
        self._last_error: str | None = None
        self._template_ready = False
        self._dead_letter_fd = -1

        _quiet_transport_loggers()
        if es.secure and not es.verify_certs:
            log.warning("elasticsearch %s: verify_certs is false: the server certificate is not"
                        " checked, anyone on the path can read and alter events", self.url)
        self._thread = threading.Thread(target=self._run, name="es-sink", daemon=True)
        self._thread.start()

    # --- construction ---------------------------------------------------------------------

    @staticmethod
    def _url(es: ElasticsearchConfig) -> str:
        host = es.es_host
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"  # IPv6 literal
        return f"{'https' if es.secure else 'http'}://{host}:{es.es_port}"

    @classmethod
    def _make_client(cls, es: ElasticsearchConfig) -> Elasticsearch:
        for key in ("ca_certs", "client_cert", "client_key"):
            path = getattr(es, key)
            if es.secure and path is not None and not Path(path).is_file():
                raise ConfigError(f"es_config.{key}: {path}: no such file")
        kwargs: dict[str, Any] = {
            "request_timeout": es.request_timeout,
            "max_retries": 0,  # we retry, with backoff and counting
            "retry_on_timeout": False,
        }
        if es.es_api_key is not None:
            kwargs["api_key"] = es.es_api_key.get_secret_value()
        elif es.es_user is not None:
            kwargs["basic_auth"] = (es.es_user, es.password() or "")
        if es.secure:
            kwargs["verify_certs"] = es.verify_certs
            kwargs["ssl_show_warn"] = False  # we log our own warning, once
            if es.ca_certs is not None:
                kwargs["ca_certs"] = str(es.ca_certs)
            if es.client_cert is not None and es.client_key is not None:
                kwargs["client_cert"] = str(es.client_cert)
                kwargs["client_key"] = str(es.client_key)
        try:
            return Elasticsearch(cls._url(es), **kwargs)
        except (ValueError, OSError) as exc:
            raise ConfigError(f"es_config: cannot set up the client: {exc}") from None

    # --- the Sink interface ---------------------------------------------------------------

    def write(self, batch: Sequence[Document]) -> None:
        if not batch:
            return
        records = [r for r in map(self._encode, batch) if r is not None]
        with self._cond:
            if self._closing:
                raise SinkUnavailable("elasticsearch: sink is closed")
            if not self.spool.pending_records():
                self._oldest = time.monotonic()  # starts the flush_interval clock
            self.spool.append(records)
            self._cond.notify_all()

    def flush(self) -> None:
        """Nothing to force: documents leave within `flush_interval` (or in full bulks).

        The pipeline calls this after every batch; forcing a bulk each time would make bulk
        sizes follow ring reads and `flush_interval` meaningless. `drain()` and `close()` push.
        """

    def drain(self, timeout: float) -> bool:
        """Flush and wait until nothing is pending; False if `timeout` ran out first."""
        deadline = time.monotonic() + timeout
        with self._cond:
            self._flush_requested = True
            self._cond.notify_all()
            while self.spool.pending_records():
                left = deadline - time.monotonic()
                if left <= 0 or not self._thread.is_alive():
                    return False
                self._cond.wait(min(left, 0.1))
        return True

    def reopen(self) -> None:
        # Nothing to reopen on the network side; the dead-letter file follows logrotate.
        self._reopen_dead_letter = True

    def close(self) -> None:
        """Send what is left within `close_timeout`, then stop; log what was not indexed."""
        with self._cond:
            if self._closing:
                return
            self._closing = True
            self._cond.notify_all()
        self._wakeup.set()
        done = self.drain(self._close_timeout)
        self._abort.set()
        self._wakeup.set()
        with self._cond:
            self._cond.notify_all()
        self._thread.join(self._es.request_timeout + 1.0)
        if not done:
            log.error("elasticsearch %s: closing with %d documents not indexed (%s); they stay"
                      " in the spool %s for the next start", self.url, self.pending,
                      self._last_error or "server slow", self.spool.directory)
        self.spool.close()
        self._client.close()
        if self._dead_letter_fd >= 0:
            os.close(self._dead_letter_fd)
            self._dead_letter_fd = -1

    @property
    def pending(self) -> int:
        return self.spool.pending_records()

    @property
    def last_error(self) -> str | None:
        """Why the server cannot be reached now, or None."""
        return self._last_error

    def stats(self) -> dict[str, int]:
        return {
            "indexed": self.indexed,
            "duplicates": self.duplicates,
            "retried": self.retried,
            "dead_lettered": self.dead_lettered,
            "pending": self.pending,
            "spooled_bytes": self.spool.pending_bytes(),
            "failed": self.spool.dropped,  # lost to the spool's bound: a `loss` record
        }

    # --- worker ---------------------------------------------------------------------------

    def _next_batches(self) -> list[tuple[list[_Item], Cursor]] | None:
        """One batch as _next_batch; while a backlog lasts, up to CATCHUP_BATCHES big ones."""
        first = self._next_batch()
        if first is None:
            return None
        batches = [first]
        big = self._big_bulk()
        while (len(batches) < CATCHUP_BATCHES and not self._closing
               and self.spool.pending_records() - sum(len(b[0]) for b in batches) >= big):
            records, cursor = self.spool.read(big)
            if not records:
                break
            batches.append((self._items(records), cursor))
        return batches

    def _next_batch(self) -> tuple[list[_Item], Cursor] | None:
        """Wait for a full batch, a flush, or the interval; None when it is time to stop."""
        with self._cond:
            while True:
                if self._abort.is_set():
                    return None
                pending = self.spool.pending_records()
                if pending:
                    due = self._oldest + self._es.flush_interval
                    now = time.monotonic()
                    if (pending >= self._es.batch_size or self._flush_requested
                            or self._closing or now >= due):
                        break
                    self._cond.wait(due - now)
                else:
                    self._flush_requested = False
                    if self._closing:
                        return None
                    self._cond.wait(1.0)
        big = self._backlog()
        size = self._big_bulk() if big else self._es.batch_size
        records, cursor = self.spool.read(size)
        with self._cond:
            self._oldest = time.monotonic()
        return self._items(records), cursor

    @staticmethod
    def _items(records: list[bytes]) -> list[_Item]:
        items = []
        for record in records:
            action, _, source = record.partition(_SEP)
            items.append(_Item(action, source))
        return items

    def _run(self) -> None:
        try:
            while True:
                work = self._next_batches()
                if work is None:
                    return
                if not work[0][0]:
                    self.spool.rewind()  # the spool moved under us (bound): read afresh
                    continue
                if len(work) == 1:
                    sent = [self._send(work[0][0])]
                else:
                    self._relax_refresh(work)
                    if self._pool is None:
                        self._pool = ThreadPoolExecutor(CATCHUP_BATCHES - 1,
                                                        thread_name_prefix="es-bulk")
                    # The first bulk on this thread, the others on the pool's.
                    later = [self._pool.submit(self._send, items) for items, _ in work[1:]]
                    sent = [self._send(work[0][0])] + [f.result() for f in later]
                # Acknowledged in spool order, up to the first one aborted (at close): the
                # rest is read again at the next start; their ids make repeats harmless.
                for ok, (items, cursor) in zip(sent, work, strict=True):
                    if not ok:
                        self.spool.rewind()
                        break
                    self.spool.ack(cursor, len(items))
                if self._relaxed and not self._backlog():
                    self._restore_refresh()  # caught up (the tail goes as usual)
                with self._cond:
                    self._cond.notify_all()
        except Exception:
            log.exception("elasticsearch %s: sink worker failed", self.url)
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
            if self._relaxed and self._last_error is None:
                self._restore_refresh()  # stopped mid-catch-up, the node still reachable

    def _backlog(self) -> bool:
        return self.spool.pending_records() >= CATCHUP_BATCHES * self._big_bulk()

    def _big_bulk(self) -> int:
        """Documents per catch-up bulk: CATCHUP_BATCH_SIZE, halved at each bulk that timed out
        (a slow node), never below batch_size."""
        return max(self._es.batch_size, min(CATCHUP_BATCH_SIZE, self._catchup_size))

    def _relax_refresh(self, work: list[tuple[list[_Item], Cursor]]) -> None:
        """Catching up: refresh the indices these bulks go to every CATCHUP_REFRESH."""
        if self._relax_failed:
            return
        names = set()
        for items, _ in work:  # a backlog spans a day boundary at most once or twice
            for item in (items[0], items[-1]):
                with contextlib.suppress(orjson.JSONDecodeError, AttributeError, TypeError):
                    names.add(orjson.loads(item.action)["create"]["_index"])
        names -= self._relaxed.keys()
        if not names:
            return
        try:
            current = self._client.indices.get_settings(
                index=",".join(sorted(names)), name="index.refresh_interval",
                ignore_unavailable=True, allow_no_indices=True)
            existing = [n for n in sorted(names) if n in current.body]
            if not existing:
                return  # created by the first bulk: relaxed at the next round
            for name in existing:
                self._relaxed[name] = (current.body[name].get("settings", {})
                                       .get("index", {}).get("refresh_interval"))
            self._client.indices.put_settings(index=",".join(existing),
                                              settings={"index.refresh_interval":
                                                        CATCHUP_REFRESH})
            log.info("elasticsearch %s: catching up on %d documents; refresh every %s until"
                     " done", self.url, self.pending, CATCHUP_REFRESH)
        except (TransportError, ApiError) as exc:
            # No `manage` privilege, or the node is busy: catch up without it.
            self._relax_failed = True
            log.info("elasticsearch %s: cannot relax refresh_interval while catching up: %s",
                     self.url, _describe(exc))

    def _restore_refresh(self) -> None:
        """Caught up: each relaxed index gets its former refresh_interval (null: default)."""
        relaxed, self._relaxed = self._relaxed, {}
        for name, value in relaxed.items():
            try:
                self._client.indices.put_settings(index=name, settings={
                    "index.refresh_interval": value})
            except (TransportError, ApiError) as exc:
                log.warning("elasticsearch %s: could not restore refresh_interval of %s to"
                            " %s: %s", self.url, name, value or "the default", _describe(exc))

    def _encode(self, doc: Document) -> bytes | None:
        """The spool record of a document: bulk action, tab, source."""
        try:
            target = bulk_target(self._es, doc)
        except ValueError as exc:
            self._dead_letter(doc, str(exc), 0)
            return None
        index, doc_id, source = target
        action = orjson.dumps({"create": {"_index": index, "_id": doc_id}})
        return action + _SEP + source.encode()

    def _send(self, items: list[_Item]) -> bool:
        """Deliver or dead-letter every item, in bulks that a slow node answers within
        request_timeout; False if aborted first."""
        pos = 0
        while pos < len(items):
            chunk = items[pos: pos + max(self._es.batch_size, self._big_bulk())]
            try:
                if not self._send_bulk(chunk):
                    return False
            except _TooBig:
                continue  # the same documents again, in smaller bulks
            pos += len(chunk)
        return True

    def _send_bulk(self, items: list[_Item]) -> bool:
        """One bulk (and its retries); _TooBig when a bigger-than-batch_size bulk timed out."""
        attempt = 0
        while items:
            if self._abort.is_set():
                return False
            try:
                if not self._template_ready:
                    self._put_template()
                response = self._client.bulk(
                    operations=cast(Any, [line for it in items for line in (it.action, it.source)]),
                    filter_path="errors,items.*.status,items.*.error",
                )
            except (TransportError, ApiError) as exc:
                if isinstance(exc, ConnectionTimeout) and len(items) > self._es.batch_size:
                    with self._count_lock:
                        self._catchup_size = min(self._catchup_size, len(items) // 2)
                    log.info("elasticsearch %s: a bulk of %d documents timed out; catching up"
                             " with bulks of %d", self.url, len(items), self._big_bulk())
                    raise _TooBig from None
                self._failed(exc, len(items), attempt)
                self._sleep(attempt)
                attempt += 1
                continue
            results = response.body.get("items", [])
            if len(results) != len(items):
                self._failed(RuntimeError(f"bulk answered {len(results)} items for"
                                          f" {len(items)}"), len(items), attempt)
                self._sleep(attempt)
                attempt += 1
                continue
            self._recovered()
            items = self._sort_results(items, results)
            if items:
                with self._count_lock:
                    self.retried += len(items)
                self._sleep(attempt)
                attempt += 1
        return True

    def _sort_results(self, items: list[_Item], results: list[dict[str, Any]]) -> list[_Item]:
        """Count what landed, dead-letter what never will; return what to retry."""
        retry: list[_Item] = []
        indexed = duplicates = 0
        for item, wrapped in zip(items, results, strict=True):
            result: dict[str, Any] = next(iter(wrapped.values()), {})
            status = int(result.get("status", 0))
            if 200 <= status < 300:
                indexed += 1
            elif status == 409:
                indexed += 1  # created by an earlier try of this batch
                duplicates += 1
            elif status == 429:
                retry.append(item)
            elif status >= 500 and item.tries < MAX_ITEM_RETRIES:
                item.tries += 1
                retry.append(item)
            else:
                self._dead_letter(item.doc, _item_reason(result), status)
        with self._count_lock:
            self.indexed += indexed
            self.duplicates += duplicates
        return retry

    def _put_template(self) -> None:
        name = self._es.es_index
        self._client.indices.put_index_template(name=name, **index_template(name))
        self._template_ready = True

    def _sleep(self, attempt: int) -> None:
        delay = min(BACKOFF_CAP, BACKOFF_BASE * 2.0 ** min(attempt, 16))
        delay *= random.uniform(0.5, 1.0)  # jitter: monitors on many hosts do not retry in step
        if self._closing:
            self._abort.wait(min(delay, 1.0))  # keep trying within the close deadline
        elif self._wakeup.wait(delay):
            self._wakeup.clear()

    def _failed(self, exc: Exception, count: int, attempt: int) -> None:
        reason = _describe(exc)
        if reason != self._last_error:
            log.error("elasticsearch %s: %s; keeping %d documents, retrying", self.url, reason,
                      self.pending or count)
            self._last_error = reason
        else:
            log.debug("elasticsearch %s: %s (attempt %d)", self.url, reason, attempt + 1)

    def _recovered(self) -> None:
        if self._last_error is not None:
            log.warning("elasticsearch %s: reachable again; %d documents pending", self.url,
                        self.pending)
            self._last_error = None

    def _dead_letter(self, doc: Any, reason: str, status: int, *, raw: bool = False) -> None:
        record: dict[str, Any] = {"reason": reason, "status": status,
                                  "document": repr(doc) if raw else doc}
        line = orjson.dumps(record, default=repr) + b"\n"
        with self._count_lock:
            self._dead_letter_line(line, reason)

    def _dead_letter_line(self, line: bytes, reason: str) -> None:
        try:
            if self._reopen_dead_letter and self._dead_letter_fd >= 0:
                os.close(self._dead_letter_fd)
                self._dead_letter_fd = -1
            self._reopen_dead_letter = False
            if self._dead_letter_fd < 0:
                # Never through a link planted in the directory (_safedir.py).
                directory = SafeDir(self._dead_letter_path.parent, what="events_dir")
                try:
                    self._dead_letter_fd = directory.open(
                        self._dead_letter_path.name, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
                finally:
                    directory.close()
                ownfiles.note(self._dead_letter_fd)
            os.write(self._dead_letter_fd, line)
        except (OSError, MonitorError) as exc:
            why = exc.strerror if isinstance(exc, OSError) else str(exc)
            log.error("%s: cannot write dead letter (%s): %s", self._dead_letter_path,
                      why, reason)
        self.dead_lettered += 1
        if self.dead_lettered == 1 or self.dead_lettered % 1000 == 0:
            log.warning("elasticsearch %s: %d documents rejected so far, see %s (last: %s)",
                        self.url, self.dead_lettered, self._dead_letter_path, reason)


def _quiet_transport_loggers() -> None:
    # The transport logs a warning per failed request; our single line per outage says it all.
    for name in ("elastic_transport.transport", "elastic_transport.node_pool"):
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.ERROR)
