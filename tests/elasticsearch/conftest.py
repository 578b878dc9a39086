"""Two real Elasticsearch nodes for the session: plain HTTP, and HTTPS with basic auth.

They come from scripts/elasticsearch.py (downloaded once by `make test`), start in parallel on the
first test that needs one, and are always stopped at the end of the session.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from elasticsearch import Elasticsearch

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "elasticsearch.py"


def _load_script() -> ModuleType:
    # Loaded by path under another name: putting scripts/ on sys.path would shadow the client.
    spec = importlib.util.spec_from_file_location("ebpf_monitor_es_script", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


es_script = _load_script()


@pytest.fixture(scope="session")
def es_servers() -> Iterator[dict[str, Any]]:
    """Start both nodes at once (each takes ~30 s, mostly JVM warm-up)."""
    es_script.fetch()
    with ThreadPoolExecutor(2) as pool:
        futures = {"plain": pool.submit(es_script.start, tls=False),
                   "tls": pool.submit(es_script.start, tls=True)}
        servers: dict[str, Any] = {}
        errors: list[BaseException] = []
        for name, future in futures.items():
            try:
                servers[name] = future.result()
            except BaseException as exc:  # stop whatever did start, then fail
                errors.append(exc)
    try:
        if errors:
            raise errors[0]
        yield servers
    finally:
        for server in servers.values():
            es_script.stop(server)


@pytest.fixture(scope="session")
def es_plain(es_servers: dict[str, Any]) -> Any:
    return es_servers["plain"]


@pytest.fixture(scope="session")
def es_tls(es_servers: dict[str, Any]) -> Any:
    return es_servers["tls"]


@pytest.fixture(scope="session")
def plain_client(es_plain: Any) -> Iterator[Elasticsearch]:
    client = Elasticsearch(es_plain.url, request_timeout=30)
    yield client
    client.close()


@pytest.fixture(scope="session")
def tls_client(es_tls: Any) -> Iterator[Elasticsearch]:
    client = Elasticsearch(es_tls.url, ca_certs=str(es_tls.ca),
                           basic_auth=(es_tls.user, es_tls.password), request_timeout=30)
    yield client
    client.close()


@pytest.fixture
def index_name(plain_client: Elasticsearch) -> Iterator[str]:
    """A fresh index prefix per test; its indices are deleted afterwards."""
    name = f"test-{uuid.uuid4().hex[:12]}"
    yield name
    plain_client.indices.delete(index=f"{name}*", ignore_unavailable=True)
    plain_client.options(ignore_status=404).indices.delete_index_template(name=name)


@pytest.fixture(scope="session")
def other_ca(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA that signed nothing the server presents."""
    where = tmp_path_factory.mktemp("other-ca")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=unrelated CA", "-keyout", str(where / "ca.key"),
         "-out", str(where / "ca.crt")],
        check=True, capture_output=True,
    )
    return where / "ca.crt"
