"""ebpf-monitor: who did what to which object, from the kernel, as ECS documents."""

from .config import Config, load_config
from .sinks import Document, Sink

__version__ = "0.1.0"

__all__ = ["Config", "Document", "Sink", "__version__", "load_config"]
