"""The committed description of the events.h ABI (abi.json), for tests without a BPF build.

scripts/abi_fixture.py writes it from the built object; tests/kernel/test_abi.py fails when the
two differ.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

ABI_JSON = Path(__file__).with_name("abi.json")


@cache
def description() -> dict[str, Any]:
    return json.loads(ABI_JSON.read_text())  # type: ignore[no-any-return]


def enum(name: str) -> dict[str, int]:
    return dict(description()["enums"][name])
