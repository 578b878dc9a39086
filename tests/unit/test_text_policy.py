"""The text policy: kernel bytes become text reversibly, and never break a JSON line."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import orjson
import pytest

from ebpf_monitor.enrich import readlink, text, text_bytes

pytestmark = pytest.mark.unit

SAMPLES = [
    b"/tmp/plain",
    b"/tmp/caf\xe9",  # Latin-1, invalid UTF-8
    b"/tmp/caf\\xe9",  # the four characters \xe9
    b"/tmp/caf\\\\xe9",  # a backslash pair, then x e 9
    b"/tmp/back\\slash\\",
    b"\\",
    b"\\\\\\",
    b"/tmp/\xe2\x82\xac",  # the euro sign, valid UTF-8
    b"/tmp/l\xe2\x80\xa8s\xe2\x80\xa9p",  # U+2028, U+2029
    b"/tmp/nel\xc2\x85csi\xc2\x9b",  # C1 controls NEL and CSI
    b"/tmp/\xed\xa0\x80\xed\xb0\x80",  # a surrogate pair, encoded (invalid UTF-8)
    b"/tmp/\xf0\x9f\x98\x80",  # an emoji, valid 4-byte UTF-8
    b"/tmp/\xf0\x9f\x98",  # a cut 4-byte sequence
    b"/tmp/new\nline\r\x0b\x0c\x1c\x1d\x1e\x7f\x00nul",
    b"/tmp/q\"uote\t",
    bytes(range(256)),
    b"",
]


class TestTextPolicy:
    """Bytes to text and back."""

    @pytest.mark.parametrize("raw", SAMPLES)
    def test_round_trip(self, raw: bytes) -> None:
        """Every byte string comes back exactly from its text."""
        assert text_bytes(text(raw)) == raw

    def test_distinct_bytes_distinct_text(self) -> None:
        """The byte 0xE9 and the four characters \\xe9 no longer print the same."""
        assert text(b"caf\xe9") == "caf\\xe9"
        assert text(b"caf\\xe9") == "caf\\\\xe9"
        assert len({text(raw) for raw in SAMPLES}) == len(SAMPLES)

    def test_all_two_byte_strings_round_trip(self) -> None:
        """Exhaustively, every string of two bytes (so every pairing of escapes) round-trips."""
        seen = set()
        for a in range(256):
            for b in range(256):
                raw = bytes((a, b))
                t = text(raw)
                assert text_bytes(t) == raw
                seen.add(t)
        assert len(seen) == 65536

    def test_valid_utf8_kept(self) -> None:
        """Valid UTF-8 other than backslash and line-breaking code points is kept as is."""
        assert text("/tmp/été/€/😀".encode()) == "/tmp/été/€/😀"

    @pytest.mark.parametrize("raw", SAMPLES)
    def test_one_json_line(self, raw: bytes) -> None:
        """Encoded as JSON, the text holds no character any reader takes for a line break."""
        line = orjson.dumps({"path": text(raw)}).decode()
        assert line.splitlines() == [line]  # str.splitlines knows every Unicode line break
        assert not re.search("[\u0080-\u009f\u2028\u2029]", line)
        assert text_bytes(json.loads(line)["path"]) == raw

    def test_readlink_same_policy(self, tmp_path: Path) -> None:
        """A /proc-style link target follows the same policy, backslash included."""
        link = tmp_path / "link"
        target = b"/tmp/caf\xe9\\x\xe2\x80\xa8"
        os.symlink(target, os.fsencode(link))
        assert readlink(str(link)) == "/tmp/caf\\xe9\\\\x\\xe2\\x80\\xa8"
        assert text_bytes(readlink(str(link))) == target
