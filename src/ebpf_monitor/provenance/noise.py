"""Which file nodes a slice hides by default, and why (the reason is what the answer counts)."""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["DEFAULT_NOISE_GLOBS", "DEFAULT_NOISE_PREFIXES", "NoiseRules"]

DEFAULT_NOISE_PREFIXES = (
    "/proc/",
    "/sys/",
    "/dev/",
    "/usr/lib/locale/",
    "/usr/share/locale/",
    "/usr/share/zoneinfo/",
    "/usr/lib/x86_64-linux-gnu/gconv/",
    "/etc/ld.so.",
    "/var/cache/",
    "/etc/localtime",
    "/etc/nsswitch.conf",
    "/etc/passwd",
    "/etc/group",
)
"""Path prefixes whose files are plumbing, not content (kept short: config can add more)."""

DEFAULT_NOISE_GLOBS = (
    "*.so",
    "*.so.*",
    "*/__pycache__/*",
    "*.pyc",
    "*/.cache/*",
)
"""Shell-style patterns: shared libraries, bytecode caches, per-user caches."""


@dataclass(frozen=True, slots=True)
class NoiseRules:
    """Hide a file node when its path matches, or when too many processes read it."""

    prefixes: Sequence[str] = DEFAULT_NOISE_PREFIXES
    globs: Sequence[str] = DEFAULT_NOISE_GLOBS
    popular_readers: int = 50
    """A file read (or exec'd) by at least this many distinct processes is hidden; 0: never."""
    enabled: bool = True

    def reason(self, node_id: str) -> str | None:
        """The rule that hides this node by its name alone, or None."""
        if not self.enabled or not node_id.startswith("file:"):
            return None
        path = node_id[5:]
        for prefix in self.prefixes:
            if path.startswith(prefix):
                return f"path {prefix}*"
        for glob in self.globs:
            if fnmatch.fnmatchcase(path, glob):
                return f"path {glob}"
        return None

    def popular_reason(self, readers: int) -> str | None:
        if self.enabled and self.popular_readers and readers >= self.popular_readers:
            return f"read by >= {self.popular_readers} processes"
        return None
