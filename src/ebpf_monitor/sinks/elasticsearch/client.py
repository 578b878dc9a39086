"""The Elasticsearch client as every part of the monitor builds it from `es_config`.

The sink, `ebpf-monitor replay` and the provenance fleet backend talk to the same cluster with
the same credentials and TLS settings; one function builds their client so they cannot drift.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch
from elasticsearch.serializer import NdjsonSerializer

from ...config import ElasticsearchConfig
from ...errors import ConfigError

__all__ = ["BodyAsIs", "make_client", "quiet_transport_loggers", "server_url"]


def server_url(es: ElasticsearchConfig) -> str:
    """`http(s)://host:port` of the configured node, for the client and for log lines."""
    host = es.es_host
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # IPv6 literal
    return f"{'https' if es.secure else 'http'}://{host}:{es.es_port}"


class BodyAsIs(NdjsonSerializer):
    """NDJSON request bodies: one already made (bytes ending in a newline, the bulk worker's)
    goes as it is. The stock serializer copies it into a buffer and that into new bytes: two
    more copies of every bulk in flight."""

    def dumps(self, data: Any) -> bytes:
        if isinstance(data, bytes) and data.endswith(b"\n"):
            return data
        return super().dumps(data)


def make_client(es: ElasticsearchConfig) -> Elasticsearch:
    """A client for `es`; ConfigError naming the key when a file it names is missing or the
    settings cannot make a client. It never retries on its own: callers retry, with backoff
    and counting."""
    for key in ("ca_certs", "client_cert", "client_key"):
        path = getattr(es, key)
        if es.secure and path is not None and not Path(path).is_file():
            raise ConfigError(f"es_config.{key}: {path}: no such file")
    kwargs: dict[str, Any] = {
        "request_timeout": es.request_timeout,
        "max_retries": 0,  # we retry, with backoff and counting
        "retry_on_timeout": False,
        "serializers": {BodyAsIs.mimetype: BodyAsIs()},
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
        return Elasticsearch(server_url(es), **kwargs)
    except (ValueError, OSError) as exc:
        raise ConfigError(f"es_config: cannot set up the client: {exc}") from None


def quiet_transport_loggers() -> None:
    """The transport logs a warning per failed request; our single line per outage says it
    all."""
    for name in ("elastic_transport.transport", "elastic_transport.node_pool"):
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.ERROR)
