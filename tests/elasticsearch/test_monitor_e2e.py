"""The real monitor into a real Elasticsearch: same documents as the file, outages, SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from tests.elasticsearch.conftest import es_script
from tests.harness import Monitor, metric, run_workload, scrape_metrics
from tests.harness.workloads import OPEN_LOOP, TCP_WORK

pytestmark = pytest.mark.kernel


BATCH = 500


def es_config(server: Any, index: str) -> dict[str, Any]:
    # The node's own threads are not recorded: its writes of our documents would be events
    # to index, a feedback loop that keeps the spool from ever draining on a busy host.
    return {"storage_type": "elasticsearch",
            "es_config": {"es_host": "127.0.0.1", "es_port": server.port, "es_index": index,
                          "batch_size": BATCH, "flush_interval": 0.5, "request_timeout": 5},
            "filters": {"ignore_comms": ["java", "elasticsearch[n"]}}


def file_docs(mon: Monitor) -> list[dict[str, Any]]:
    return [json.loads(x) for x in mon.events_file.read_bytes().splitlines()]


def es_ids(client: Elasticsearch, index: str) -> list[str]:
    client.indices.refresh(index=index)
    ids: list[str] = []
    resp = client.search(index=index, scroll="1m", size=5000, source=False,
                         query={"match_all": {}})
    while resp["hits"]["hits"]:
        ids.extend(h["_id"] for h in resp["hits"]["hits"])
        resp = client.scroll(scroll_id=resp["_scroll_id"], scroll="1m")
    return ids


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


@pytest.fixture
def own_es() -> Iterator[Any]:
    """A node of this test's own, which the test may kill and restart."""
    es_script.fetch()
    server = es_script.start()
    box = {"server": server}
    try:
        yield box
    finally:
        es_script.stop(box["server"])


class TestEndToEnd:
    def test_file_and_index_hold_the_same_documents(self, es_plain: Any,
                                                     plain_client: Elasticsearch,
                                                     index_name: str, tmp_path: Path) -> None:
        """The capture workload: ids in Elasticsearch equal ids in events.jsonl; the mapped
        types answer a range on @timestamp and a term on destination.ip."""
        mon = Monitor(tmp_path / "run", es_config(es_plain, index_name))
        mon.start()
        try:
            pid, _ = run_workload(TCP_WORK, "127.0.0.1")
            mon.events_of(pid)
        finally:
            assert mon.stop() == 0
        docs = file_docs(mon)
        ids = es_ids(plain_client, index_name)
        assert len(ids) == len(set(ids))
        assert sorted(ids) == sorted(d["event"]["id"] for d in docs)
        connect = next(d for d in docs if d["event"]["action"] == "connect"
                       and d.get("process", {}).get("pid") == pid)
        hits = plain_client.search(index=index_name, query={"bool": {"filter": [
            {"term": {"destination.ip": "127.0.0.1"}},
            {"term": {"event.action": "connect"}},
            {"range": {"@timestamp": {"gte": connect["@timestamp"],
                                      "lte": connect["@timestamp"]}}},
        ]}})["hits"]["hits"]
        assert [h["_id"] for h in hits] == [connect["event"]["id"]]


class TestOutage:
    N = 20011

    def _run(self, own_es: dict[str, Any], tmp_path: Path, *, sigkill_monitor: bool) -> None:
        target = tmp_path / "target"
        target.write_text("x")
        index = f"outage-{os.getpid()}-{int(sigkill_monitor)}"
        server = own_es["server"]
        mon = Monitor(tmp_path / "run", {**es_config(server, index),
                                         "metrics": {"listen": "127.0.0.1:0"}})
        mon.start()
        try:
            es_script.kill(server)  # the cluster dies
            work = subprocess.Popen([sys.executable, "-c", OPEN_LOOP, str(target),
                                     str(self.N), "0.005"])
            assert work.wait(300) == 0
            mon.events_of(work.pid, timeout=60)
            peak = rss_kib(mon.pid)
            spool = tmp_path / "run" / "events" / "spool"
            assert list(spool.glob("*.seg")), "the outage is spooled on disk"
            if sigkill_monitor:
                assert mon.proc is not None
                mon.proc.send_signal(signal.SIGKILL)
                mon.stop()
            own_es["server"] = server = es_script.restart(server)
            if sigkill_monitor:
                mon.start()  # the spool from before the kill is sent now
            client = Elasticsearch(server.url)
            # Caught up: the sink's own figure, not a count taken once. The host keeps making
            # events while the backlog is indexed; once less than one bulk is pending, the
            # stop's close sends the rest.
            deadline = time.monotonic() + 600
            while metric(scrape_metrics(mon), "ebpf_monitor_sink_pending",
                         sink="elasticsearch") >= BATCH:
                assert time.monotonic() < deadline, "the spool backlog was never indexed"
                time.sleep(0.5)
        finally:
            if mon.proc is not None and mon.proc.poll() is None:
                assert mon.stop() == 0
        assert "not indexed" not in mon.stderr()  # the close sent the rest
        docs = file_docs(mon)
        ids = es_ids(client, index)
        assert len(ids) == len(set(ids)), "duplicates in Elasticsearch"
        assert set(ids) == {d["event"]["id"] for d in docs}
        opens = [d for d in docs if d["event"]["action"] == "openat"
                 and d.get("file", {}).get("path") == str(target)]
        assert len(opens) == self.N
        assert peak < 300 * 1024, f"monitor peak RSS {peak} KiB during the outage"
        print(f"monitor peak RSS during the outage: {peak // 1024} MiB")
        client.close()

    def test_cluster_down_then_back(self, own_es: dict[str, Any], tmp_path: Path) -> None:
        """Elasticsearch killed during a workload and restarted: the index ends with every
        event of the file exactly once; the monitor's memory stays bounded meanwhile."""
        self._run(own_es, tmp_path, sigkill_monitor=False)

    def test_monitor_killed_during_outage(self, own_es: dict[str, Any],
                                          tmp_path: Path) -> None:
        """Same, with the monitor SIGKILLed during the outage and started again."""
        self._run(own_es, tmp_path, sigkill_monitor=True)


class TestSpoolBound:
    def test_bound_reached_gives_a_loss_record(self, tmp_path: Path) -> None:
        """Cluster unreachable and the spool at its (smallest) bound: the oldest spooled
        events are dropped, counted, and a `loss` record names the Elasticsearch path."""
        import socket

        with socket.socket() as s:  # a port where nothing listens
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        target = tmp_path / "target"
        target.write_text("x")
        config = es_config(type("S", (), {"port": port})(), "unreachable")
        config["spool"] = {"max_bytes": 1024 * 1024}
        mon = Monitor(tmp_path / "run", config)
        mon.start()
        try:
            work = subprocess.Popen([sys.executable, "-c", OPEN_LOOP, str(target), "30000",
                                     "0"])
            assert work.wait(300) == 0
            docs = mon.wait_for(lambda d: d["event"]["action"] == "loss", timeout=60)
        finally:
            mon.stop()
        loss = [d for d in docs if d["event"]["action"] == "loss"]
        assert loss[0]["ebpf"]["lost"]["source"] == "elasticsearch"
        assert loss[0]["ebpf"]["lost"]["count"] > 0
        assert "over its bound" in mon.stderr()
        spooled = sum(p.stat().st_size for p in (tmp_path / "run/events/spool").glob("*.seg"))
        assert spooled <= 1024 * 1024 + 2 * 4 * 1024 * 1024
