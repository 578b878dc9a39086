"""The Prometheus endpoint of a real monitor, scraped over HTTP."""

from __future__ import annotations

from pathlib import Path

from tests.harness import metric, run_workload, running_monitor, scrape_metrics, wait_until

OPENS = """
import os, sys
for _ in range(int(sys.argv[2])):
    os.close(os.open(sys.argv[1], os.O_RDONLY))
"""
# A 64 KiB ring read once a second overflows (drops by CPU); Elasticsearch on a port nobody
# listens on keeps documents pending in the spool.
CONFIG = {
    "metrics": {"listen": "127.0.0.1:0"},
    "capture": {"ring_buffer_bytes": 65536, "wakeup_bytes": 1 << 30, "poll_interval_ms": 1000},
    "storage_type": "elasticsearch",
    "es_config": {"es_host": "127.0.0.1", "es_port": 9, "request_timeout": 1},
}

class TestMetrics:
    def test_scrape_reports_pipeline_figures(self, tmp_path: Path) -> None:
        """Events by kind, drops by CPU and kind, sink and spool figures, ring backlog and
        reader CPU time are served, and move with a known workload."""
        target = tmp_path / "target"
        target.write_text("x")
        with running_monitor(tmp_path / "run", CONFIG) as mon:
            before = scrape_metrics(mon)
            run_workload(OPENS, str(target), "20000")
            mon.wait_for(lambda d: d["event"]["action"] == "loss", timeout=60)

            def scraped() -> tuple[list[dict[str, object]], dict[object, float]] | None:
                # A scrape taken after reading the file counts all it holds.
                docs = mon.events()
                after = scrape_metrics(mon)
                written = metric(after, "ebpf_monitor_sink_written_total", sink="jsonl")
                return (docs, after) if written >= len(docs) > 0 else None

            docs, after = wait_until(scraped, timeout=60,
                                     what="the jsonl sink's written count to cover the file")
        for name in ("ebpf_monitor_events_total", "ebpf_monitor_kernel_drops_total",
                     "ebpf_monitor_kernel_drops_with_room_total",
                     "ebpf_monitor_filtered_total", "ebpf_monitor_decode_errors_total",
                     "ebpf_monitor_sink_written_total", "ebpf_monitor_sink_failed_total",
                     "ebpf_monitor_sink_pending", "ebpf_monitor_spool_bytes",
                     "ebpf_monitor_ring_backlog_bytes", "ebpf_monitor_ring_size_bytes",
                     "ebpf_monitor_reader_cpu_seconds_total"):
            assert any(n == name for n, _ in after), name
        # Counted since the start, as the file holds everything since the start. Whose opens
        # got through the tiny ring depends on the host's load: count them all.
        opens = [d for d in docs if d["event"]["action"] in ("open", "openat", "openat2", "creat")]
        events_open = metric(after, "ebpf_monitor_events_total", kind="open")
        assert events_open >= len(opens) > 0
        assert events_open > metric(before, "ebpf_monitor_events_total", kind="open")
        # Drops by CPU add up to at least what the loss records reported (more may follow).
        lost = sum(d["ebpf"]["lost"]["by_kind"].get("open", 0) for d in docs
                   if d["event"]["action"] == "loss")
        by_cpu = {lab: v for (n, lab), v in after.items()
                  if n == "ebpf_monitor_kernel_drops_total" and ("kind", "open") in lab}
        assert {dict(lab)["cpu"] for lab in by_cpu} >= {"0"}
        assert sum(by_cpu.values()) >= lost > 0
        # Drops with room are a part of the drops, per CPU and kind.
        for (n, lab), v in after.items():
            if n == "ebpf_monitor_kernel_drops_with_room_total":
                assert v <= after["ebpf_monitor_kernel_drops_total", lab], lab
        assert metric(after, "ebpf_monitor_sink_pending", sink="elasticsearch") > 0
        assert metric(after, "ebpf_monitor_spool_bytes", sink="elasticsearch") > 0
        assert metric(after, "ebpf_monitor_ring_size_bytes") == 65536
        assert metric(after, "ebpf_monitor_reader_cpu_seconds_total") > 0

    def test_off_by_default(self, tmp_path: Path) -> None:
        """Without metrics.listen no endpoint is started."""
        with running_monitor(tmp_path / "run") as mon:
            run_workload("pass")
        assert "metrics at" not in mon.stderr()
