"""Types of the compiled core (_fastcore.c); see fastpath.py."""

from collections.abc import Callable

from .document import Document

class Core:
    def __init__(self, programs: dict[int, bytes], lits: list[bytes],
                 makers: list[Callable[[bytes, int, int], str | None]], slots: list[int],
                 seconds: Callable[[int], str], document: type[Document]) -> None: ...
    def render(self, data: bytes, spans: list[tuple[int, int]],
               fallback: Callable[[bytes, int, int], Document | None],
               offset_ns: int) -> list[Document]: ...
    def clear(self, i: int) -> None: ...
    def take_made(self) -> dict[int, int]: ...

OP_COUNT: int

def walk(data: bytes) -> tuple[list[tuple[int, int]], int]: ...
