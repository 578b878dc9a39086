"""Exception tree; the CLI turns each into one line on stderr and an exit status.

    MonitorError                 base; exit status 1 unless a subclass says otherwise
    ├── ConfigError              bad config file or value (exit 2)
    ├── EnvironmentError_        not root, no BTF, no BPF in the kernel (exit 1)
    ├── BpfLoadError             libbpf open/load/attach failed, naming the step (exit 1)
    ├── ProvenanceError          a provenance query cannot be answered: bad node, no index (exit 2)
    └── SinkError                storage problem
        ├── SinkUnavailable      transient: retry later, spool meanwhile
        └── SinkRejected         permanent for that document: dead-letter it
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
]


class MonitorError(Exception):
    """Anything the monitor reports as one line instead of a traceback."""

    exit_status = 1


class ConfigError(MonitorError):
    """The configuration cannot be used; the message names the key."""

    exit_status = 2


class HostError(MonitorError):
    """The host cannot run the monitor (privileges, BTF, BPF support)."""


class BpfLoadError(MonitorError):
    """A libbpf step failed; the message names the step and the errno."""


class SinkError(MonitorError):
    """A storage backend failed."""


class SinkUnavailable(SinkError):
    """The backend cannot take documents now; retry later."""


class SinkRejected(SinkError):
    """The backend refused a document for good."""


class ProvenanceError(MonitorError):
    """A provenance query or index run cannot go on; the message names the node, file or key."""

    exit_status = 2
