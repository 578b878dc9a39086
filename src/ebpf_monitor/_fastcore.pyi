"""Types of the compiled core (_fastcore.c); see fastpath.py."""

from collections.abc import Callable

class Core:
    def __init__(self, programs: dict[int, bytes], lits: list[bytes],
                 makers: list[Callable[[bytes, int, int], str | None]], slots: list[int],
                 seconds: Callable[[int], str]) -> None: ...
    def render(self, data: bytes, spans: list[tuple[int, int]],
               fallback: Callable[[bytes, int, int], str | None],
               offset_ns: int) -> list[str]: ...
    def clear(self, i: int) -> None: ...
    def take_made(self) -> dict[int, int]: ...

OP_COUNT: int

def walk(data: bytes) -> tuple[list[tuple[int, int]], int]: ...
