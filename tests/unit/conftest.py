from __future__ import annotations

from collections.abc import Iterator

import pytest

from ebpf_monitor import abi

from .recorded_abi import description


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/unit/" in str(item.fspath):
            item.add_marker(pytest.mark.unit)


@pytest.fixture(scope="module", autouse=True)
def _recorded_abi() -> Iterator[None]:
    """Record layouts from the committed abi.json, not the BPF object: the unit tier runs on a
    clone without a BPF build."""
    with abi.recorded(description()):
        yield
