"""Kernel module documents (schema/kmod.py) from HAND-BUILT records: the development host's
kernel has no module support, so the mmap-mod-kmod-handbuilt fixture is packed field by field
with the events.h layout (scripts/golden_build_kmod.py), not recorded."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from . import golden

FIXTURE = "mmap-mod-kmod-handbuilt"


@pytest.fixture(scope="module")
def docs() -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in golden.extra_documents(FIXTURE)]


class TestKmodDocuments:
    """init_module, finit_module, delete_module, each as success and failure."""

    def test_same_documents(self) -> None:
        """Every document equals the one written with the fixture, line for line."""
        assert golden.extra_documents(FIXTURE) == golden.extra_expected(FIXTURE)

    def test_init_module(self, docs: list[dict[str, Any]]) -> None:
        """A load from memory: the name the kernel found, the parameters, the image's size;
        a refused one (EPERM) has no name."""
        ok, refused = docs[0], docs[1]
        assert ok["event"]["category"] == ["driver"]
        assert ok["event"]["type"] == ["start"]
        assert ok["ebpf"]["module"] == {"name": "em_hello", "args": 'debug=1 name="two words"',
                                        "size": 16384}
        assert "file" not in ok
        assert refused["error"]["code"] == "EPERM"
        assert refused["ebpf"]["module"] == {"args": "", "size": 12}

    def test_finit_module(self, docs: list[dict[str, Any]]) -> None:
        """A load from a file: the file (odd name) in `file`, the fd, the flags by name; the
        parameters cut at 255 bytes are marked."""
        ok, exists = docs[2], docs[3]
        assert ok["file"]["name"] == "em_fs.ko.zst"
        assert ok["file"]["directory"] == "/usr/lib/modules/6.18.44/kernel/fs/em test"
        assert ok["ebpf"]["module"] == {"name": "em_fs", "args": "", "fd": 3,
                                        "flags": ["MODULE_INIT_COMPRESSED_FILE"]}
        assert exists["error"]["code"] == "EEXIST"
        assert exists["ebpf"]["module"]["flags"] == ["MODULE_INIT_IGNORE_VERMAGIC",
                                                     "MODULE_INIT_COMPRESSED_FILE"]
        assert exists["ebpf"]["module"]["args"] == "x" * 255
        assert exists["ebpf"]["truncated"] is True

    def test_delete_module(self, docs: list[dict[str, Any]]) -> None:
        """A removal: the name given and the flags; a forced one of a missing module fails."""
        ok, missing = docs[4], docs[5]
        assert ok["event"]["type"] == ["end"]
        assert ok["ebpf"]["module"] == {"name": "em_fs", "flags": ["O_NONBLOCK"]}
        assert missing["error"]["code"] == "ENOENT"
        assert missing["ebpf"]["module"] == {"name": "no_such_module",
                                             "flags": ["O_NONBLOCK", "O_TRUNC"]}
