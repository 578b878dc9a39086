"""Context-manager plumbing shared by the concrete sinks."""

from __future__ import annotations

from types import TracebackType
from typing import Self

__all__ = ["SinkContext"]


class SinkContext:
    """`with sink:` closes it, whatever happened inside."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
