"""Elasticsearch sink, one job per module:

    sink.py         the Sink interface: write to the spool, drain, close, stats
    records.py      spool records (id and day beside the JSON text; format versions)
    worker.py       the bulk worker thread: batching, retries, catch-up, refresh relax
    bulk.py         a bulk request's body, made once, and its documents read back from it
    errors.py       transport, API and bulk-item errors as SinkUnavailable / SinkRejected
    dead_letter.py  the file of documents refused for good
    mapping.py      the index template
    client.py       the client from es_config (shared with replay and provenance)
"""

from __future__ import annotations

from .client import make_client, server_url
from .mapping import index_template
from .sink import ElasticsearchSink, ElasticsearchStats
from .worker import MAX_ITEM_RETRIES

__all__ = ["MAX_ITEM_RETRIES", "ElasticsearchSink", "ElasticsearchStats", "index_template",
           "make_client", "server_url"]
