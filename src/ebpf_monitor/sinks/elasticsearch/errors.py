"""Elasticsearch's failures mapped onto the monitor's exception tree (errors.py).

- A request that fails as a whole (connection refused, TLS, 401/403, timeout, 5xx, an answer
  that does not match the request) is `SinkUnavailable`: `unavailable()` makes it, the bulk
  worker (worker.py) raises it from `_post` and catches it in `_send_bulk`, which keeps the
  documents, logs the message once per distinct reason and retries with backoff.
- A bulk item answered with a permanent error (400 mapping conflict, 5xx past
  MAX_ITEM_RETRIES, ...) is `SinkRejected`: `rejected()` makes it from the item's answer, the
  worker hands it with the document to the sink, which writes both to the dead letter
  (dead_letter.py). A document refused before sending (no event.id) is a `SinkRejected`
  raised by records.encode and caught in the sink's `write`.

The messages are one line an operator can act on.
"""

from __future__ import annotations

import re
from typing import Any

from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport import ConnectionTimeout, TlsError
from elasticsearch import ApiError, AuthenticationException, AuthorizationException

from ...errors import SinkRejected, SinkUnavailable

__all__ = ["describe", "rejected", "unavailable"]


def unavailable(exc: Exception) -> SinkUnavailable:
    """A failed request as SinkUnavailable, its message the reason `describe` gives."""
    return SinkUnavailable(describe(exc))


def rejected(result: dict[str, Any], doc_id: str) -> SinkRejected:
    """A bulk item's answer (`{"status": ..., "error": ...}`) as SinkRejected."""
    return SinkRejected(_item_reason(result), status=int(result.get("status", 0)),
                        doc_id=doc_id)


def describe(exc: Exception) -> str:
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
