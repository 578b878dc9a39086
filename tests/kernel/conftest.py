from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness import ProcessTree
from tests.monitor_harness import Monitor, running_monitor


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/kernel/" in str(item.fspath):
            item.add_marker(pytest.mark.kernel)


@pytest.fixture(scope="session", autouse=True)
def _root() -> None:
    # Fail, never skip: CI runs as root, and a skipped kernel tier would hide a broken monitor.
    assert os.geteuid() == 0, "the kernel tests load BPF programs: run them as root"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("kernel")


@pytest.fixture(scope="module")
def monitor(workdir: Path) -> Iterator[Monitor]:
    """One monitor for a module's tests, default config plus an ignored prefix; it holds the
    documents of this test process's tree only (the whole host's, kept for a module's life,
    took 18 GB once)."""
    ignored = workdir / "ignored"
    ignored.mkdir()
    config = {"filters": {"ignore_path_prefixes": ["/proc/", "/sys/", "/dev/null",
                                                   f"{ignored}/"],
                          "ignore_comms": ["ignoreme"]}}
    with running_monitor(workdir / "run", config, keep=ProcessTree()) as mon:
        yield mon
