"""`ebpf-monitor replay`: backfill from event files, idempotently, gzip included."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch

from tests.elasticsearch.es_helpers import connect_doc


def config_file(tmp_path: Path, server: Any, index: str) -> Path:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"events_dir": str(tmp_path / "ev"),
                                "es_config": {"es_host": "127.0.0.1", "es_port": server.port,
                                              "es_index": index, "batch_size": 100}}))
    path.chmod(0o600)
    return path


def replay(config: Path, *files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ebpf_monitor", "replay", "--config",
                           str(config), *map(str, files)], capture_output=True, text=True,
                          timeout=300)


class TestReplay:
    def test_backfill_twice_no_duplicates(self, es_plain: Any, plain_client: Elasticsearch,
                                          index_name: str, tmp_path: Path) -> None:
        """A plain and a gzipped file go in; a second replay adds nothing and says so."""
        docs = [connect_doc(i) for i in range(347)]
        plain = tmp_path / "events.jsonl.1"
        plain.write_bytes(b"".join(json.dumps(d).encode() + b"\n" for d in docs[:200]))
        zipped = tmp_path / "events.jsonl.2.gz"
        zipped.write_bytes(gzip.compress(
            b"".join(json.dumps(d).encode() + b"\n" for d in docs[200:])))
        config = config_file(tmp_path, es_plain, index_name)

        first = replay(config, plain, zipped)
        assert first.returncode == 0, first.stderr
        assert "347 indexed, 0 already present, 0 failed" in first.stderr
        plain_client.indices.refresh(index=index_name)
        assert plain_client.count(index=index_name)["count"] == 347

        second = replay(config, zipped, plain)
        assert second.returncode == 0, second.stderr
        assert "0 indexed, 347 already present, 0 failed" in second.stderr
        plain_client.indices.refresh(index=index_name)
        assert plain_client.count(index=index_name)["count"] == 347

    def test_bad_lines_and_missing_file(self, es_plain: Any, index_name: str,
                                        tmp_path: Path) -> None:
        """Garbage lines are skipped and counted (exit 1); a missing file is one line, exit 1."""
        path = tmp_path / "mixed.jsonl"
        path.write_text(json.dumps(connect_doc(1)) + "\nnot json\n")
        config = config_file(tmp_path, es_plain, index_name)
        proc = replay(config, path)
        assert proc.returncode == 1
        assert "1 indexed, 0 already present, 0 failed, 1 lines skipped" in proc.stderr
        missing = replay(config, tmp_path / "nope.jsonl")
        assert missing.returncode == 1
        assert missing.stderr.strip().endswith("nope.jsonl: no such file")
        assert "Traceback" not in missing.stderr
