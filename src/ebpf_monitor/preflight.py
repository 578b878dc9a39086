"""The checks a start makes before it loads BPF, in one place, so check-config makes them too.

Nothing here creates or changes a file: directories that do not exist yet are checked as far
as they exist (the monitor creates the rest, mode 0750).
"""

from __future__ import annotations

import os
from pathlib import Path

from ._safedir import check_dir, check_file
from .config import RING_BYTES_MAX, Config
from .errors import ConfigError

__all__ = ["check", "written_dirs"]


def written_dirs(config: Config) -> dict[Path, str]:
    """Every directory the monitor writes into, with the config key that names it."""
    dirs = {config.state_dir: "output_dir" if config.output_dir else "events_dir"}
    if config.file_logging or config.storage_type == "elasticsearch":
        dirs.setdefault(config.events_dir, "events_dir")  # events.jsonl, the dead letter
    if config.storage_type == "elasticsearch":
        dirs.setdefault(config.spool.dir or config.state_dir / "spool",
                        "spool.dir" if config.spool.dir else "output_dir")
    return dirs


def check(config: Config) -> None:
    """Raise the one-line error a start would give, short of loading BPF."""
    for path, what in written_dirs(config).items():
        check_dir(path, what=what)
    pid_file = config.effective_pid_file
    check_dir(pid_file.parent, what="pid_file")
    if pid_file.is_dir():
        raise ConfigError(f"pid_file: {pid_file} is a directory")
    if config.file_logging:
        check_file(config.events_file, what="events_dir")
    if config.storage_type == "elasticsearch":
        check_file(config.events_dir / "dead-letter.jsonl", what="events_dir")
        _check_elasticsearch(config)
    _check_ring(config.capture.ring_buffer_bytes)


def _check_elasticsearch(config: Config) -> None:
    es = config.es_config
    if es.secure:
        for key in ("ca_certs", "client_cert", "client_key"):
            path = getattr(es, key)
            if path is None:
                continue
            try:
                with open(path, "rb") as f:
                    f.read(1)
            except OSError as exc:
                raise ConfigError(f"es_config.{key}: {path}: {exc.strerror}") from None
    es.password()  # raises naming es_password_env or es_password_file


def _memory_bytes() -> int | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _check_ring(requested: int | None) -> None:
    if requested is None:
        return  # the default scales with the CPUs, 256 MiB at most
    size = 1 << (max(requested, os.sysconf("SC_PAGE_SIZE")) - 1).bit_length()
    if size > RING_BYTES_MAX:  # the model already refuses this; kept for other callers
        raise ConfigError(f"capture.ring_buffer_bytes: at most {RING_BYTES_MAX}")
    memory = _memory_bytes()
    if memory is not None and size > memory // 2:
        raise ConfigError(
            f"capture.ring_buffer_bytes: {requested} rounds up to {size} bytes, more than half"
            f" of this host's memory ({memory} bytes): loading it would fail or starve the host")
