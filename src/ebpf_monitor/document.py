"""One finished ECS document as the pipeline carries it from the builders to the sinks.

A builder knows a document's id and time when it writes the JSON text, so it hands them on
beside the text: no sink ever takes them back out of the text (issue #10, item 3).
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["Document"]


class Document(NamedTuple):
    """A document's deterministic `event.id`, the UTC day of its `@timestamp` as an index name
    wants it (`YYYY.MM.DD`, "" when the document has no usable time), and its JSON text (one
    line, no newline)."""

    id: str
    day: str
    json: str
