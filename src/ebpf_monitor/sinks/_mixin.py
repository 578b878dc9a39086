"""Context-manager plumbing shared by the concrete sinks."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from .base import SinkStats

__all__ = ["SinkContext"]


class SinkContext:
    """`with sink:` closes it, whatever happened inside."""

    def close(self) -> None:
        raise NotImplementedError

    def stats(self) -> SinkStats:
        raise NotImplementedError

    def losses_to_record(self, *, final: bool = False) -> int:
        """Events lost so far that `loss` records should carry: by default all `failed`."""
        return self.stats().failed

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
