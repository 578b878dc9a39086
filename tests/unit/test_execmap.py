"""Documents of mmap/mprotect with PROT_EXEC (schema/execmap.py) from the recorded mmap-mod
fixture (scripts/golden_record_execmap.py: tests/kernel/execmap_work.c under the monitor)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from ebpf_monitor.config import parse_config
from ebpf_monitor.errors import ConfigError
from ebpf_monitor.schema.execmap import map_flag_names, prot_names

from . import golden

FIXTURE = "mmap-mod"


@pytest.fixture(scope="module")
def docs() -> list[dict[str, Any]]:
    """The workload program's documents (the Python that ran it, a pyenv build outside
    filters.library_prefixes, has its libraries' mappings recorded too)."""
    return [d for d in (orjson.loads(line) for line in golden.extra_documents(FIXTURE))
            if d["event"]["action"] in ("mmap", "mprotect", "pkey_mprotect")
            and d["process"]["name"] == "execmap_work"]


class TestExecMapFixture:
    """The recorded records make the recorded documents, and they say what the program did."""

    def test_same_documents(self) -> None:
        """Every document equals the one recorded, line for line."""
        assert golden.extra_documents(FIXTURE) == golden.extra_expected(FIXTURE)

    def test_the_ten_calls(self, docs: list[dict[str, Any]]) -> None:
        """execmap_work.c's ten PROT_EXEC calls in order, no library mapping among them."""
        assert [(d["event"]["action"], d["event"]["outcome"]) for d in docs] == [
            ("mmap", "success"), ("mmap", "failure"), ("mmap", "failure"), ("mmap", "success"),
            ("mprotect", "success"), ("mprotect", "failure"), ("mprotect", "success"),
            ("mmap", "success"), ("mmap", "success"), ("pkey_mprotect", "success")]
        assert [d.get("error", {}).get("code") for d in docs] == [
            None, "EACCES", "EBADF", None, None, "ENOMEM", None, None, None, None]
        assert docs[0]["file"]["name"] == "payload ü.so"
        assert docs[4]["ebpf"]["mmap"]["prot_before"] == ["PROT_READ", "PROT_WRITE"]
        assert docs[7]["ebpf"]["mmap"]["memfd"] == "em code"
        assert docs[8]["ebpf"]["mmap"]["deleted"] is True


class TestNames:
    """Protection and mapping flags are named as the kernel defines them."""

    def test_prot(self) -> None:
        """Bits by name in bit order, PROT_NONE for 0, unknown bits in hex."""
        assert prot_names(0) == ["PROT_NONE"]
        assert prot_names(7) == ["PROT_READ", "PROT_WRITE", "PROT_EXEC"]
        assert prot_names(0x4 | 0x100) == ["PROT_EXEC", "0x100"]

    def test_map_flags(self) -> None:
        """The type first (shared, private, shared-validate), then the flags, rest in hex."""
        assert map_flag_names(0x22) == ["MAP_PRIVATE", "MAP_ANONYMOUS"]
        assert map_flag_names(0x3 | 0x100000) == ["MAP_SHARED_VALIDATE", "MAP_FIXED_NOREPLACE"]
        assert map_flag_names(0x812) == ["MAP_PRIVATE", "MAP_FIXED", "MAP_DENYWRITE"]
        assert map_flag_names(0x1 | 0x80000000) == ["MAP_SHARED", "0x80000000"]


class TestConfig:
    """The exec-mapping settings: defaults, and one clear line for a bad value."""

    def test_defaults(self) -> None:
        """Anonymous and file mappings recorded, libraries under the usual directories not."""
        cfg = parse_config({})
        assert cfg.capture.exec_mappings == "all"
        assert cfg.filters.ignore_library_mappings is True
        assert "/usr/lib/" in cfg.filters.library_prefixes

    def test_bad_values(self) -> None:
        """An unknown mode, a non-boolean switch, too many prefixes: a ConfigError naming the
        key."""
        for data, key in (({"capture": {"exec_mappings": "some"}}, "capture.exec_mappings"),
                          ({"filters": {"ignore_library_mappings": "no"}},
                           "filters.ignore_library_mappings"),
                          ({"filters": {"library_prefixes": [f"/l{i}/" for i in range(65)]}},
                           "filters.library_prefixes")):
            with pytest.raises(ConfigError) as err:
                parse_config(data)
            assert key in str(err.value) and "\n" not in str(err.value)
