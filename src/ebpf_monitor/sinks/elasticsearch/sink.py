"""Elasticsearch sink: documents to the disk spool, bulk `create` requests from a thread.

`write()` only appends the documents, as spool records (records.py: id and day beside the
text), to the disk spool (spool.py); the bulk worker (worker.py) sends them and acknowledges
them to the spool once Elasticsearch has answered for every document. An outage, a slow
cluster or a SIGKILL therefore loses nothing that reached the spool.

Each document is indexed with `_op_type: create` and `_id = event.id`, so a batch sent twice
(a retry after a lost answer) is indexed once: the second copy answers 409, counted as indexed.
Documents refused for good (SinkRejected: no event.id, a mapping conflict, ...) go to the
dead-letter file (dead_letter.py) with the reason.

Memory stays flat during an outage: documents wait on disk, bounded by the spool's `max_bytes`
(oldest dropped and counted past it). Documents left at close stay in the spool for the next
start.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ...config import ElasticsearchConfig
from ...errors import SinkRejected
from ...spool import Spool
from .._mixin import SinkContext
from ..base import Document
from .client import make_client, quiet_transport_loggers, server_url
from .dead_letter import DeadLetter
from .records import encode
from .worker import BulkWorker

__all__ = ["ElasticsearchSink", "ElasticsearchStats"]

log = logging.getLogger(__name__)

CLOSE_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class ElasticsearchStats:
    """Counters of the Elasticsearch sink, in the stats line's order. `failed` counts the
    documents lost to the spool's bound (a `loss` record); rejected ones are `dead_lettered`."""

    indexed: int = 0
    duplicates: int = 0
    retried: int = 0
    dead_lettered: int = 0
    pending: int = 0
    spooled_bytes: int | None = 0
    failed: int = 0
    failing: int = 0
    """1 when the bulk worker has stopped (a bug): documents wait in the spool."""

    @property
    def written(self) -> int:
        return self.indexed


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
        self._close_timeout = close_timeout
        self._client = make_client(es)
        self.url = server_url(es)
        self._dead_letter = DeadLetter(dead_letter_path, self.url)
        self.spool = Spool(spool_dir if spool_dir is not None
                           else dead_letter_path.parent / "spool", max_bytes=spool_max_bytes)
        quiet_transport_loggers()
        if es.secure and not es.verify_certs:
            log.warning("elasticsearch %s: verify_certs is false: the server certificate is not"
                        " checked, anyone on the path can read and alter events", self.url)
        self._worker = BulkWorker(es, self._client, self.spool, self.url, self._reject)

    # --- the Sink interface ---------------------------------------------------------------

    def write(self, batch: Sequence[Document]) -> None:
        if not batch:
            return
        records = []
        for doc in batch:
            try:
                records.append(encode(doc))
            except SinkRejected as exc:
                self._reject(doc.json.encode(), exc, True)
        self._worker.append(records)

    def flush(self) -> None:
        """Nothing to force: documents leave within `flush_interval` (or in full bulks).

        The pipeline calls this after every batch; forcing a bulk each time would make bulk
        sizes follow ring reads and `flush_interval` meaningless. `drain()` and `close()` push.
        """

    def drain(self, timeout: float) -> bool:
        """Flush and wait until nothing is pending; False if `timeout` ran out first."""
        return self._worker.drain(timeout)

    def reopen(self) -> None:
        # Nothing to reopen on the network side; the dead-letter file follows logrotate.
        self._dead_letter.reopen()

    def close(self) -> None:
        """Send what is left within `close_timeout`, then stop; log what was not indexed."""
        if self._worker.closing:
            return
        done = self._worker.stop(self._close_timeout)
        if not done:
            log.error("elasticsearch %s: closing with %d documents not indexed (%s); they stay"
                      " in the spool %s for the next start", self.url, self.pending,
                      self.last_error or "server slow", self.spool.directory)
        self.spool.close()
        self._client.close()
        self._dead_letter.close()

    @property
    def pending(self) -> int:
        return self.spool.pending_records()

    @property
    def last_error(self) -> str | None:
        """Why the server cannot be reached now, or None."""
        return self._worker.last_error

    @property
    def last_rejected(self) -> SinkRejected | None:
        """The latest document refused for good, or None."""
        return self._dead_letter.last

    def stats(self) -> ElasticsearchStats:
        w = self._worker
        return ElasticsearchStats(
            indexed=w.indexed, duplicates=w.duplicates, retried=w.retried,
            dead_lettered=self._dead_letter.count, pending=self.pending,
            spooled_bytes=self.spool.pending_bytes(),
            failed=self.spool.dropped,  # lost to the spool's bound: a `loss` record
            failing=int(w.stopped is not None),
        )

    def _reject(self, text: bytes, why: SinkRejected, is_json: bool) -> None:
        self._dead_letter.add(text, why, is_json=is_json)
