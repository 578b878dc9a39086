"""Synthetic ECS documents and sink configs for the Elasticsearch tests."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import pytest

from ebpf_monitor.config import ElasticsearchConfig
from ebpf_monitor.document import Document
from ebpf_monitor.replay import document_from_json
from tests.harness import WaitTimeout, wait_until

BASE_NS = 1_795_758_000_000_000_000  # 2026-11-27T05:40:00Z in ns


def texts(docs: list[dict[str, Any]]) -> list[Document]:
    """Documents as the sinks take them: id and UTC day beside the JSON text, one line each
    (made as `ebpf-monitor replay` makes them from stored lines)."""
    return [document_from_json(d) for d in docs]


def stamp(ns: int) -> str:
    """ISO 8601 UTC with 9 fraction digits, as schema.py writes them."""
    secs, frac = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{frac:09d}Z"


def connect_doc(i: int, *, ns: int | None = None, dest_ip: str = "10.0.0.1") -> dict[str, Any]:
    """A `connect` event; `i` makes its id, time (i ms apart) and ports unique."""
    when = BASE_NS + i * 1_000_000 if ns is None else ns
    return {
        "@timestamp": stamp(when),
        "event": {"id": f"{i:016x}", "kind": "event", "action": "connect",
                  "category": ["network"], "type": ["connection", "start"], "outcome": "success"},
        "host": {"name": "testhost"},
        "process": {"pid": 1000 + i, "thread": {"id": 1000 + i}, "name": "curl",
                    "executable": "/usr/bin/curl", "args": ["curl", "-s", "http://x/"],
                    "args_count": 3, "command_line": "curl -s http://x/",
                    "start": stamp(BASE_NS - 1_000_000_000), "entity_id": f"testhost:{i}",
                    "parent": {"pid": 1, "entity_id": "testhost:1"}},
        "user": {"id": "0", "name": "root"},
        "group": {"id": "0", "name": "root"},
        "source": {"ip": "127.0.0.1", "port": 40000 + i},
        "destination": {"ip": dest_ip, "port": 443},
        "network": {"transport": "tcp", "type": "ipv4" if ":" not in dest_ip else "ipv6",
                    "iana_number": "6"},
        "ebpf": {"syscall": "connect", "ret": 0, "fd": 3, "truncated": False,
                 "socket": {"family": "AF_INET", "type": "SOCK_STREAM", "protocol": 6}},
    }


def open_doc(i: int) -> dict[str, Any]:
    """A failed `openat` event, exercising the file and error fields."""
    return {
        "@timestamp": stamp(BASE_NS + i),
        "event": {"id": f"open{i:012x}", "kind": "event", "action": "openat",
                  "category": ["file"], "type": ["access"], "outcome": "failure"},
        "host": {"name": "testhost"},
        "process": {"pid": 7, "thread": {"id": 7}, "name": "cat", "executable": "/usr/bin/cat",
                    "args": ["cat", "/tmp/missing file"], "args_count": 2},
        "file": {"path": "/tmp/missing file", "name": "missing file", "directory": "/tmp"},
        "error": {"code": "ENOENT", "message": "No such file or directory"},
        "ebpf": {"syscall": "openat", "ret": -2, "flags": ["O_RDONLY", "O_CLOEXEC"],
                 "mode": 0, "lost": {"ring": 3}},
    }


def plain_config(server: Any, index: str, **overrides: Any) -> ElasticsearchConfig:
    settings: dict[str, Any] = {"es_host": "127.0.0.1", "es_port": server.port,
                                "es_index": index, "flush_interval": 0.2}
    settings.update(overrides)
    return ElasticsearchConfig(**settings)


def tls_config(server: Any, index: str, **overrides: Any) -> ElasticsearchConfig:
    settings: dict[str, Any] = {"secure": True, "ca_certs": server.ca, "es_user": server.user,
                                "es_password": server.password}
    settings.update(overrides)
    return plain_config(server, index, **settings)


def wait_for(check: Callable[[], bool], timeout: float = 20.0) -> bool:
    """Whether `check` became true within `timeout` (the sink works in its own thread); the
    harness's wait_until, for tests that assert on the outcome."""
    try:
        return wait_until(check, timeout=timeout, what="the sink's condition")
    except WaitTimeout:
        return False


def logged(caplog: pytest.LogCaptureFixture, text: str, level: int = logging.ERROR) -> bool:
    return any(text in r.getMessage() and r.levelno >= level for r in caplog.records)
