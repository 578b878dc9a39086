"""The dead letter: documents Elasticsearch refused for good, one JSON line each.

    {"reason": "<why>", "status": <HTTP status, 0 if refused before sending>,
     "document": <the document's JSON text, as it was handed to the sink>}

The document goes in as its text when it parses as JSON (checked here, on this rare path: a
document cut short in the spool, or answered 400 because it is not JSON, must not break the
file's one-JSON-per-line shape), otherwise as a JSON string, as does text known not to be a
document (an unreadable spool record). Writers are serialised: bulks are answered on several
threads while catching up.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import orjson

from ... import ownfiles
from ..._safedir import SafeDir
from ...errors import MonitorError, SinkRejected

__all__ = ["DeadLetter"]

log = logging.getLogger(__name__)


class DeadLetter:
    """Appends rejected documents to `path` (opened without following links, reopened after
    logrotate); counts them and logs the first and every thousandth."""

    def __init__(self, path: Path, url: str) -> None:
        self.path = path
        self.url = url
        self.count = 0
        self.last: SinkRejected | None = None
        self._lock = threading.Lock()
        self._fd = -1
        self._reopen = False

    def add(self, text: bytes, rejection: SinkRejected, *, is_json: bool = True) -> None:
        """Record `text` (a document's JSON, or any text when not `is_json`) as rejected."""
        head = orjson.dumps({"reason": rejection.reason, "status": rejection.status})
        if is_json and _is_json(text):
            # Raw CR/LF in JSON text are whitespace between tokens: one line, same document.
            document = text.replace(b"\r", b" ").replace(b"\n", b" ")
        else:
            document = orjson.dumps(text.decode("utf-8", "backslashreplace"))
        line = b"".join((head[:-1], b',"document":', document, b"}\n"))
        with self._lock:
            self.last = rejection
            self._write(line, rejection.reason)

    def reopen(self) -> None:
        self._reopen = True

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1

    def _write(self, line: bytes, reason: str) -> None:
        try:
            if self._reopen and self._fd >= 0:
                os.close(self._fd)
                self._fd = -1
            self._reopen = False
            if self._fd < 0:
                # Never through a link planted in the directory (_safedir.py).
                directory = SafeDir(self.path.parent, what="events_dir")
                try:
                    self._fd = directory.open(self.path.name,
                                              os.O_WRONLY | os.O_APPEND | os.O_CREAT)
                finally:
                    directory.close()
                ownfiles.note(self._fd)
            os.write(self._fd, line)
        except (OSError, MonitorError) as exc:
            why = exc.strerror if isinstance(exc, OSError) else str(exc)
            log.error("%s: cannot write dead letter (%s): %s", self.path, why, reason)
        self.count += 1
        if self.count == 1 or self.count % 1000 == 0:
            log.warning("elasticsearch %s: %d documents rejected so far, see %s (last: %s)",
                        self.url, self.count, self.path, reason)


def _is_json(text: bytes) -> bool:
    try:
        orjson.loads(text)
    except orjson.JSONDecodeError:
        return False
    return True
