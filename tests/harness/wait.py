"""One way to wait: a condition, a deadline, and a message saying what was awaited and seen."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

__all__ = ["WaitTimeout", "wait_until"]

T = TypeVar("T")

POLL_S = 0.05
_MAX_SEEN = 3000  # characters of "seen" in a failure message


class WaitTimeout(AssertionError):
    """The awaited condition never held: an assertion failure of the test that waited."""


def wait_until(probe: Callable[[], T | None], *, timeout: float, what: str,
               seen: Callable[[], object] | None = None, interval: float = POLL_S) -> T:
    """The first truthy result of `probe`, polled until `timeout` seconds have passed.

    `what` names the condition ("READY=1 on the notify socket"); `seen` describes the state on
    failure (the last events, a stderr tail). A probe may raise to give up early, e.g. when the
    process that should make the condition true has exited.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() >= deadline:
            detail = ""
            if seen is not None:
                text = str(seen())
                if len(text) > _MAX_SEEN:
                    text = "..." + text[-_MAX_SEEN:]
                detail = f"; seen: {text}"
            raise WaitTimeout(f"waited {timeout:g} s for {what}{detail}")
        time.sleep(interval)
