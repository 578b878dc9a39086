"""`file` text written directly for plain paths is orjson's text of the same fields."""

from __future__ import annotations

import random

import orjson

from ebpf_monitor.schema.file import _file_json, file_fields


class TestFileText:
    """The direct `"file":{...}` text equals orjson's for every path, plain or not."""

    def test_random_paths_match_orjson(self) -> None:
        """Paths of slashes, dots, quotes, backslashes, control, DEL and non-ASCII chars."""
        rnd = random.Random(1)
        alphabet = '/ab."\\\x00\x1f\x7f é\u2028x'
        paths = ["", "/", "//", "a", "/a", "a/", "/a/b/c.txt", "relative/x"] + [
            "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 8)))
            for _ in range(50_000)]
        for path in paths:
            assert _file_json(path) == '"file":' + orjson.dumps(file_fields(path)).decode()
