"""The provenance benchmark's event generator: copies of a recorded mix that do not collide."""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks"))
import provenance as bench  # noqa: E402  (benchmarks/ is not a package)

WORK = "/tmp/prov-mix-test/w"


def doc(ts: str, action: str, entity: str, pid: int, **extra: object) -> dict[str, object]:
    return {"@timestamp": ts, "event": {"id": f"abc-{pid:x}-{action}", "action": action},
            "process": {"pid": pid, "entity_id": entity, "start": ts, "parent": {"pid": 1}},
            **extra}


@pytest.fixture
def mix(tmp_path: Path) -> bench.Mix:
    docs = [
        doc("2026-11-30T01:00:00.000000001Z", "execve", "a" * 24, 10,
            file={"path": f"{WORK}/run.sh"}),
        doc("2026-11-30T01:00:00.500000000Z", "write", "a" * 24, 10,
            file={"path": "/tmp/ccXYZ.s"}, destination={"ip": "127.0.0.1", "port": 40000}),
        doc("2026-11-30T01:00:01.000000000Z", "read", "b" * 24, 11,
            file={"path": "pipe:[1234]"}),
        doc("2026-11-30T01:00:02.000000000Z", "openat", "b" * 24, 11,
            file={"path": "/usr/lib/libc.so.6"}, destination={"ip": "10.0.0.1", "port": 443}),
    ]
    path = tmp_path / "mix.jsonl"
    path.write_text("\n".join(json.dumps(d) for d in [{"mix": {"work": WORK}}, *docs]) + "\n")
    return bench.load_mix(path)


class TestReplay:
    """Replaying a mix into N events for the provenance benchmark."""

    def test_copies_get_fresh_ids_times_and_temp_names(self, mix: bench.Mix,
                                                       tmp_path: Path) -> None:
        """Each copy has its own entity and event ids, later times, its own temporary files,
        pipes and ephemeral ports; shared system files and fixed ports stay as recorded."""
        info = bench.Replayer(mix).write(10, tmp_path / "ev", origin_ns=1_700_000_000 * 10**9)
        lines: list[bytes] = []
        for name in ("events.jsonl.3.gz", "events.jsonl.2.gz"):
            lines += gzip.decompress((tmp_path / "ev" / name).read_bytes()).splitlines()
        for name in ("events.jsonl.1", "events.jsonl"):
            lines += (tmp_path / "ev" / name).read_bytes().splitlines()
        docs = [json.loads(line) for line in lines]
        assert len(docs) == info["events"] == 10
        assert len({d["event"]["id"] for d in docs}) == 10
        entities = [d["process"]["entity_id"] for d in docs]
        assert len(set(entities)) == 5  # 2 processes x 2 copies, and the third copy's first
        assert all(len(e) == 24 and int(e, 16) >= 0 for e in entities)
        stamps = [d["@timestamp"] for d in docs]
        assert stamps == sorted(stamps) and len(set(stamps)) == 10
        paths = [d["file"]["path"] for d in docs]
        assert paths[0] == f"/tmp/r000000/{WORK[5:]}/run.sh"
        assert paths[4] == f"/tmp/r000001/{WORK[5:]}/run.sh"
        assert paths[5] == "/tmp/r000001/ccXYZ.s"
        assert paths[2] != paths[6] and paths[6].startswith("pipe:[")
        assert paths[3] == paths[7] == "/usr/lib/libc.so.6"
        ports = [d["destination"]["port"] for d in docs if "destination" in d]
        assert ports[0] != ports[2] and ports[1] == ports[3] == 443

    def test_targets_name_the_copy(self, mix: bench.Mix) -> None:
        """Query targets of copy k are that copy's paths and ports."""
        mix.docs[1]["process"]["args"] = ["python3", "-c", "sys.stdin"]
        mix.docs[1]["event"]["action"] = "sendto"
        mix.docs[0]["process"]["args"] = ["python3", "-c", "sys.stdin"]
        t = bench.targets(mix, 5)
        assert t.lineage == f"/tmp/r000005/{WORK[5:]}/project/prog"
        assert t.ancestry == "000005" + "a" * 18
        port = int(t.attack[1].rsplit(":", 1)[1])
        assert port >= bench.EPHEMERAL and port != 40000
