"""The monitor harness under its first name: everything now lives in tests/harness/."""

from __future__ import annotations

from tests.harness import (
    MONITOR,
    REPO,
    Doc,
    Monitor,
    actions,
    metric,
    read_events,
    run_workload,
    running_monitor,
    scrape_metrics,
    signal_name,
    wait_until,
)

__all__ = ["MONITOR", "REPO", "Doc", "Monitor", "actions", "metric", "read_events", "run_workload",
           "running_monitor", "scrape_metrics", "signal_name", "wait_until"]
