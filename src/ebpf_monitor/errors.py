"""Exception tree; the CLI turns each into one line on stderr and an exit status.

    MonitorError                 base; exit status 1 unless a subclass says otherwise
    ├── ConfigError              bad config file or value (exit 2)
    │   └── UnsafePathError      a path it writes could be redirected by another user (exit 2)
    ├── EnvironmentError_        not root, no BTF, no BPF in the kernel (exit 1)
    ├── BpfLoadError             libbpf open/load/attach failed, naming the step (exit 1)
    ├── ProvenanceError          a provenance query cannot be answered: bad node, no index (exit 2)
    └── SinkError                storage problem
        ├── SinkUnavailable      transient: retry later, spool meanwhile
        └── SinkRejected         permanent for that document: dead-letter it

Where the sink errors are raised and caught: sinks/elasticsearch/errors.py.
"""

from __future__ import annotations

__all__ = [
    "BpfLoadError",
    "ConfigError",
    "HostError",
    "MonitorError",
    "ProvenanceError",
    "SinkError",
    "SinkRejected",
    "SinkUnavailable",
    "UnsafePathError",
]


class MonitorError(Exception):
    """Anything the monitor reports as one line instead of a traceback."""

    exit_status = 1


class ConfigError(MonitorError):
    """The configuration cannot be used; the message names the key."""

    exit_status = 2


class UnsafePathError(ConfigError):
    """A link, or a file or directory others can write, where the monitor writes: refused
    (exit 2: a restart cannot fix it; the message says what will)."""


class HostError(MonitorError):
    """The host cannot run the monitor (privileges, BTF, BPF support)."""


class BpfLoadError(MonitorError):
    """A libbpf step failed; the message names the step and the errno."""


class SinkError(MonitorError):
    """A storage backend failed."""


class SinkUnavailable(SinkError):
    """The backend cannot take documents now; retry later."""


class SinkRejected(SinkError):
    """The backend refused a document for good: it goes to the dead letter with `reason`,
    `status` (the backend's HTTP status for it; 0 when refused before sending) and `doc_id`."""

    def __init__(self, reason: str, *, status: int = 0, doc_id: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.doc_id = doc_id


class ProvenanceError(MonitorError):
    """A provenance query or index run cannot go on; the message names the node, file or key."""

    exit_status = 2
