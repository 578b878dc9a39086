"""The bulk worker: one thread that reads the spool, sends bulk `create` requests and
acknowledges what Elasticsearch answered for.

It reads bulks of `batch_size` from the spool, at least every `flush_interval` seconds, and
acknowledges them once every document has an answer. Per-item outcomes of a bulk request:
- 2xx, and 409 on create: indexed (409: an earlier try of the same id got in).
- 429: retried with capped exponential backoff, for as long as it takes.
- 5xx: retried the same way, at most `MAX_ITEM_RETRIES` times, then rejected.
- anything else (400 mapping conflict, ...): rejected. Rejections (SinkRejected, errors.py)
  go to the `reject` callback, the sink's dead letter.
A whole request that fails (SinkUnavailable) keeps its documents and is retried with backoff;
the failure is logged once per distinct reason and recovery once. A whole request refused for
its content (a 4xx other than 401/403/404/405/407/408/429: a bulk body Elasticsearch cannot
parse, too large, ...) is sent again in halves until the offending document is alone, and that
one is rejected; an unexpected error while sending a bulk is handled the same way, so no one
document can hold the spool's head forever. The thread never ends on a bad record; if it ends
anyway, `stopped` says why (and the stats' `failing`), and drain() returns at once.

Catching up (a backlog of at least CATCHUP_BATCHES big bulks, after an outage or a restart): up
to CATCHUP_BATCHES bulks of up to CATCHUP_BATCH_SIZE documents go out at once, each on its own
connection, and are acknowledged to the spool in the order read once all have answered; the
indices written get a relaxed refresh_interval (CATCHUP_REFRESH) until the backlog is gone, then
their own value back. One `batch_size` bulk at a time left the node idle while we waited for
each answer and read the spool (benchmarks/es_catchup.py, benchmarks/findings.md).

Memory: a bulk in flight is one body (bulk.py), made from one spool read of records without
copying the documents on the way, sent by the client without a copy; it holds at most
BULK_BYTES of spool records, so the bulks in flight hold at most CATCHUP_BATCHES x BULK_BYTES
whatever the documents' size; after each catch-up round the memory it freed goes back to the
kernel (malloc_trim), instead of staying in the thread's arena as holes (findings: "Issue 10:
Elasticsearch monitor memory", and its second pass).
"""

from __future__ import annotations

import ctypes
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

from elastic_transport import ConnectionTimeout, TransportError
from elasticsearch import ApiError, Elasticsearch

from ...config import ElasticsearchConfig
from ...errors import SinkRejected, SinkUnavailable
from ...spool import Cursor, Spool
from .bulk import Bulk
from .errors import describe, rejected, unavailable
from .mapping import index_template
from .records import Item, decode

__all__ = ["BulkWorker"]

log = logging.getLogger(__name__)

MAX_ITEM_RETRIES = 8
"""5xx answers for one document before it is dead-lettered (429 is retried without limit)."""
BACKOFF_BASE = 0.5
BACKOFF_CAP = 30.0
CATCHUP_BATCHES = 4
"""Bulk requests in flight at once while a backlog lasts (parallel_bulk's default threads)."""
CATCHUP_BATCH_SIZE = 5000
"""Documents per bulk while catching up, at most; never fewer than batch_size."""
BULK_BYTES = 2 * 1024 * 1024
"""Spool bytes one bulk reads at most (a document longer than that goes alone): the bulks in
flight hold at most CATCHUP_BATCHES x BULK_BYTES of documents, whatever their size or count
(findings: "Issue 10: Elasticsearch monitor memory, second pass")."""
CATCHUP_REFRESH = "30s"
"""refresh_interval of the indices written while catching up (default 1 s): fewer refreshes
leave the node's CPU to indexing. Not -1: if we die mid-catch-up, documents still become
searchable. Each index gets its own former value back when the backlog is gone."""


TRIM_INTERVAL = 1.0
"""Seconds between two heap trims at most: each one costs page faults when the memory is used
again (the reader's batch buffers too), so fast rounds of small bulks do not trim each time."""


def _heap_trim() -> Callable[[], object]:
    """glibc's malloc_trim(0): the freed pages inside the heap go back to the kernel. After a
    catch-up round the bodies and spool reads just freed (several MiB, in the es-sink thread's
    arena) would otherwise stay in RSS, and the next round's pieces do not fit the holes they
    leave (findings: "Issue 10: Elasticsearch monitor memory, second pass")."""
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):  # not glibc: nothing to give back this way
        return lambda: None
    trim.argtypes = [ctypes.c_size_t]
    return lambda: trim(0)


_trim_heap = _heap_trim()

Reject = Callable[[bytes, SinkRejected, bool], None]
"""Where rejected documents go: (text, why, whether the text is a document's JSON)."""


class _TooBig(Exception):
    """A catch-up bulk timed out: send its documents again in smaller bulks."""


class _BadBulk(Exception):
    """Elasticsearch refused a bulk request as a whole for what it holds."""

    def __init__(self, why: SinkRejected) -> None:
        super().__init__(why.reason)
        self.why = why


_NOT_CONTENT = frozenset((401, 403, 404, 405, 407, 408, 429))
"""Request-level 4xx that say nothing about the documents (credentials, a wrong URL or proxy,
a timeout, too many requests): the documents wait and the request is retried."""


class BulkWorker:
    """Moves the spool's records into Elasticsearch on its own thread; `append` is the only
    call on the pipeline's thread, and it never waits on the network."""

    def __init__(self, es: ElasticsearchConfig, client: Elasticsearch, spool: Spool, url: str,
                 reject: Reject) -> None:
        self._es = es
        self._client = client
        self.spool = spool
        self.url = url
        self._reject = reject

        self.indexed = 0
        self.duplicates = 0
        self.retried = 0

        self._cond = threading.Condition()
        self._count_lock = threading.Lock()  # counters: bulks run in parallel
        self._pool: ThreadPoolExecutor | None = None  # made at the first backlog
        self._relaxed: dict[str, Any] = {}  # index -> its refresh_interval before catch-up
        self._catchup_size = CATCHUP_BATCH_SIZE
        self._relax_failed = False
        self._oldest = 0.0  # monotonic time the oldest pending document arrived
        self._flush_requested = False
        self._closing = False
        self._abort = threading.Event()
        self._wakeup = threading.Event()  # cuts a backoff sleep short (close, abort)
        self._last_error: str | None = None
        self._template_ready = False
        self._trimmed = 0.0  # monotonic time of the last heap trim
        self.stopped: str | None = None  # why the thread ended before close, if it did
        self._thread = threading.Thread(target=self._run, name="es-sink", daemon=True)
        self._thread.start()

    # --- the pipeline's side --------------------------------------------------------------

    def append(self, records: Sequence[bytes]) -> None:
        """Spool `records` for sending; SinkUnavailable once closing."""
        with self._cond:
            if self._closing:
                raise SinkUnavailable("elasticsearch: sink is closed")
            if not self.spool.pending_records():
                self._oldest = time.monotonic()  # starts the flush_interval clock
            self.spool.append(records)
            self._cond.notify_all()

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

    def stop(self, timeout: float) -> bool:
        """Send what is left within `timeout`, then stop the thread; False if some is left
        (True at a second call)."""
        with self._cond:
            if self._closing:
                return True
            self._closing = True
            self._cond.notify_all()
        self._wakeup.set()
        done = self.drain(timeout)
        self._abort.set()
        self._wakeup.set()
        with self._cond:
            self._cond.notify_all()
        self._thread.join(self._es.request_timeout + 1.0)
        return done

    @property
    def closing(self) -> bool:
        return self._closing

    @property
    def last_error(self) -> str | None:
        """Why the server cannot be reached now (or the worker stopped), or None."""
        return self.stopped or self._last_error

    # --- the thread -----------------------------------------------------------------------

    def _next_batches(self) -> list[tuple[Bulk, int, Cursor]] | None:
        """One batch as _next_batch; while a backlog lasts, up to CATCHUP_BATCHES big ones."""
        first = self._next_batch()
        if first is None:
            return None
        batches = [first]
        big = self._big_bulk()
        while (len(batches) < CATCHUP_BATCHES and not self._closing
               and self.spool.pending_records() - sum(b[1] for b in batches) >= big):
            records, cursor = self.spool.read(big, BULK_BYTES)
            if not records:
                break
            batches.append(self._items(records, cursor))
            del records  # in the bulk's body now
        return batches

    def _next_batch(self) -> tuple[Bulk, int, Cursor] | None:
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
        size = self._big_bulk() if self._backlog() else self._es.batch_size
        records, cursor = self.spool.read(size, BULK_BYTES)
        with self._cond:
            self._oldest = time.monotonic()
        return self._items(records, cursor)

    def _items(self, records: list[bytes], cursor: Cursor) -> tuple[Bulk, int, Cursor]:
        """The bulk of spool records (unreadable ones rejected here), their count and the
        cursor past them."""
        return Bulk.of(self._decoded(records)), len(records), cursor

    def _decoded(self, records: list[bytes]) -> Iterator[Item]:
        """The items of spool records, one at a time (each gone once in the bulk's body)."""
        for record in records:
            try:
                yield decode(record, self._es)
            except SinkRejected as exc:
                self._reject(record, exc, False)
            except Exception as exc:  # a bug must not stop delivery: set the record aside
                log.error("elasticsearch %s: cannot read a spool record (%s: %s); set aside",
                          self.url, type(exc).__name__, exc)
                self._reject(record, SinkRejected(f"unreadable spool record"
                                                  f" ({type(exc).__name__}: {exc})"), False)

    def _run(self) -> None:
        try:
            while True:
                work = self._next_batches()
                if work is None:
                    return
                if not work[0][1]:
                    self.spool.rewind()  # the spool moved under us (bound): read afresh
                    continue
                if len(work) == 1:
                    sent = [self._send(work[0][0])]
                else:
                    self._relax_refresh([bulk for bulk, _, _ in work])
                    if self._pool is None:
                        self._pool = ThreadPoolExecutor(CATCHUP_BATCHES - 1,
                                                        thread_name_prefix="es-bulk")
                    # The first bulk on this thread, the others on the pool's.
                    later = [self._pool.submit(self._send, bulk) for bulk, _, _ in work[1:]]
                    sent = [self._send(work[0][0])] + [f.result() for f in later]
                # Acknowledged in spool order, up to the first one aborted (at close): the
                # rest is read again at the next start; their ids make repeats harmless.
                for ok, (_, count, cursor) in zip(sent, work, strict=True):
                    if not ok:
                        self.spool.rewind()
                        break
                    self.spool.ack(cursor, count)
                catching_up = len(work) > 1
                del work  # answered: not held while the next bulks are read and wait
                if catching_up and time.monotonic() - self._trimmed >= TRIM_INTERVAL:
                    _trim_heap()  # what this round freed, out of RSS before the next one
                    self._trimmed = time.monotonic()
                if self._relaxed and not self._backlog():
                    self._restore_refresh()  # caught up (the tail goes as usual)
                with self._cond:
                    self._cond.notify_all()
        except Exception as exc:
            self.stopped = f"sink worker stopped: {type(exc).__name__}: {exc}"
            log.error("elasticsearch %s: %s; %d documents stay in the spool for the next start",
                      self.url, self.stopped, self.spool.pending_records())
            log.debug("elasticsearch %s: sink worker failure", self.url, exc_info=True)
        finally:
            with self._cond:
                self._cond.notify_all()  # drain() returns at once
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

    def _relax_refresh(self, work: list[Bulk]) -> None:
        """Catching up: refresh the indices these bulks go to every CATCHUP_REFRESH."""
        if self._relax_failed:
            return
        names = set()
        for bulk in work:  # a backlog spans a day boundary at most once or twice
            for pos in {0, len(bulk) - 1} if bulk else ():
                names.add(bulk.index(pos))
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
                     " done", self.url, self.spool.pending_records(), CATCHUP_REFRESH)
        except (TransportError, ApiError) as exc:
            # No `manage` privilege, or the node is busy: catch up without it.
            self._relax_failed = True
            log.info("elasticsearch %s: cannot relax refresh_interval while catching up: %s",
                     self.url, describe(exc))

    def _restore_refresh(self) -> None:
        """Caught up: each relaxed index gets its former refresh_interval (null: default)."""
        relaxed, self._relaxed = self._relaxed, {}
        for name, value in relaxed.items():
            try:
                self._client.indices.put_settings(index=name, settings={
                    "index.refresh_interval": value})
            except (TransportError, ApiError) as exc:
                log.warning("elasticsearch %s: could not restore refresh_interval of %s to"
                            " %s: %s", self.url, name, value or "the default", describe(exc))

    def _send(self, bulk: Bulk) -> bool:
        """Deliver or reject every document, in bulks that a slow node answers within
        request_timeout; False if aborted first."""
        pos = 0
        while pos < len(bulk):
            chunk = bulk.part(pos, pos + max(self._es.batch_size, self._big_bulk()))
            try:
                if not self._send_bulk(chunk):
                    return False
            except _TooBig:
                continue  # the same documents again, in smaller bulks
            pos += len(chunk)
        return True

    def _send_bulk(self, items: Bulk, *, split: bool = False) -> bool:
        """One bulk (and its retries); _TooBig when a bigger-than-batch_size bulk timed out.
        `split`: a part of a bulk refused as a whole."""
        attempt = 0
        while items:
            if self._abort.is_set():
                return False
            try:
                results = self._post(items)
                self._recovered()
                items = self._sort_results(items, results)
            except SinkUnavailable as exc:
                self._failed(exc, len(items), attempt)
                self._sleep(attempt)
                attempt += 1
                continue
            except _BadBulk as exc:
                self._recovered()
                return self._split(items, exc.why, split)
            except _TooBig:
                raise
            except Exception as exc:  # a bug, or an answer we cannot read: never stop here
                why = SinkRejected(f"cannot send ({type(exc).__name__}: {exc})")
                return self._split(items, why, split)
            if items:
                with self._count_lock:
                    self.retried += len(items)
                self._sleep(attempt)
                attempt += 1
        return True

    def _split(self, items: Bulk, why: SinkRejected, split: bool) -> bool:
        """A bulk refused as a whole: its halves go again until the document at fault is alone,
        which is rejected; False if aborted first."""
        if not split:
            log.warning("elasticsearch %s: a bulk of %d documents was refused (%s); sending it"
                        " in parts to set the offending documents aside", self.url, len(items),
                        why.reason)
        if len(items) == 1:
            self._reject(items.source(0), SinkRejected(why.reason, status=why.status,
                                                       doc_id=items.doc_id(0)), True)
            return True
        half = len(items) // 2
        return (self._send_bulk(items.part(0, half), split=True)
                and self._send_bulk(items.part(half, len(items)), split=True))

    def _post(self, items: Bulk) -> list[dict[str, Any]]:
        """One bulk request: an answer per item; SinkUnavailable when the request as a whole
        failed, _BadBulk when it was refused for its content, _TooBig when a catch-up bulk
        timed out."""
        if not self._template_ready:
            try:
                self._put_template()
            except (TransportError, ApiError) as exc:
                raise unavailable(exc) from exc  # never the documents' fault
        try:
            # The body as it is: the client's serializer passes bytes through (client.py).
            response = self._client.bulk(operations=cast(Any, items.body),
                                         filter_path="errors,items.*.status,items.*.error")
        except (TransportError, ApiError) as exc:
            if isinstance(exc, ConnectionTimeout) and len(items) > self._es.batch_size:
                with self._count_lock:
                    self._catchup_size = min(self._catchup_size, len(items) // 2)
                log.info("elasticsearch %s: a bulk of %d documents timed out; catching up"
                         " with bulks of %d", self.url, len(items), self._big_bulk())
                raise _TooBig from None
            if (isinstance(exc, ApiError) and 400 <= exc.meta.status < 500
                    and exc.meta.status not in _NOT_CONTENT):
                raise _BadBulk(SinkRejected(describe(exc), status=exc.meta.status)) from None
            raise unavailable(exc) from exc
        results: list[dict[str, Any]] = response.body.get("items", [])
        if len(results) != len(items):
            raise SinkUnavailable(f"RuntimeError: bulk answered {len(results)} items for"
                                  f" {len(items)}")
        return results

    def _sort_results(self, items: Bulk, results: list[dict[str, Any]]) -> Bulk:
        """Count what landed, reject what never will; return what to retry."""
        retry: list[int] = []
        indexed = duplicates = 0
        tries = items.tries
        for pos, wrapped in enumerate(results):
            result: dict[str, Any] = next(iter(wrapped.values()), {})
            status = int(result.get("status", 0))
            if 200 <= status < 300:
                indexed += 1
            elif status == 409:
                indexed += 1  # created by an earlier try of this batch
                duplicates += 1
            elif status == 429:
                retry.append(pos)
            elif status >= 500 and tries.get(pos, 0) < MAX_ITEM_RETRIES:
                tries[pos] = tries.get(pos, 0) + 1
                retry.append(pos)
            else:
                self._reject(items.source(pos), rejected(result, items.doc_id(pos)), True)
        with self._count_lock:
            self.indexed += indexed
            self.duplicates += duplicates
        return items.take(retry)

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

    def _failed(self, exc: SinkUnavailable, count: int, attempt: int) -> None:
        reason = str(exc)
        if reason != self._last_error:
            log.error("elasticsearch %s: %s; keeping %d documents, retrying", self.url, reason,
                      self.spool.pending_records() or count)
            self._last_error = reason
        else:
            log.debug("elasticsearch %s: %s (attempt %d)", self.url, reason, attempt + 1)

    def _recovered(self) -> None:
        if self._last_error is not None:
            log.warning("elasticsearch %s: reachable again; %d documents pending", self.url,
                        self.spool.pending_records())
            self._last_error = None
