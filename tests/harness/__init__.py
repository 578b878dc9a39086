"""One harness for every tier that runs the real monitor, and for the benchmarks.

`Monitor` starts the monitor under a notify socket and is ready at its READY=1; `events()` reads
the events file incrementally; `wait_until` is the one way to wait (condition, deadline, and a
message saying what was awaited and what was seen); `stop` has a timeout. Workloads live in
`workloads`.
"""

from __future__ import annotations

from .events import (
    Doc,
    EventsReader,
    Keep,
    ProcessTree,
    TooManyEvents,
    actions,
    read_events,
)
from .metrics import metric, scrape_metrics
from .monitor import (
    MONITOR,
    REPO,
    SERVICE_COMMAND,
    Monitor,
    MonitorExited,
    StopTimeout,
    running_monitor,
    signal_name,
)
from .notify import NotifyListener
from .wait import WaitTimeout, wait_until
from .workloads import run_workload, start_workload

__all__ = [
    "MONITOR",
    "REPO",
    "SERVICE_COMMAND",
    "Doc",
    "EventsReader",
    "Keep",
    "Monitor",
    "MonitorExited",
    "NotifyListener",
    "ProcessTree",
    "StopTimeout",
    "TooManyEvents",
    "WaitTimeout",
    "actions",
    "metric",
    "read_events",
    "run_workload",
    "running_monitor",
    "scrape_metrics",
    "signal_name",
    "start_workload",
    "wait_until",
]
