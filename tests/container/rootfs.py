"""A Debian root file system for the container tier, built once with mmdebstrap and cached.

Like the Elasticsearch download (scripts/elasticsearch.py), it lives under /var/cache, keyed by
what went into it, so later runs (and CI with that directory cached) reuse it. mmdebstrap is
given no mirror: it uses this host's apt sources.

    python3 -m tests.container.rootfs      # build (or find) it and print its path
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

SUITE = "bookworm"
VARIANT = "apt"
# systemd as PID 1 with journald and D-Bus; python3 for the .deb's venv and the tests' load
# generator; logrotate as the package's conffile expects; libbpf1 for the monitor.
PACKAGES = ("systemd", "systemd-sysv", "dbus", "python3", "python3-venv", "logrotate", "libbpf1")


def cache_dir() -> Path:
    return Path(os.environ.get("EBPF_MONITOR_ROOTFS_CACHE", "/var/cache/ebpf-monitor-rootfs"))


def rootfs_path() -> Path:
    key = hashlib.sha256(f"{SUITE}/{VARIANT}/{','.join(PACKAGES)}".encode()).hexdigest()[:12]
    return cache_dir() / f"{SUITE}-{key}"


def ensure_rootfs() -> Path:
    """The cached tree, built now if absent (250 MB; from half a minute to ten on a busy host)."""
    path = rootfs_path()
    if (path / "usr" / "lib" / "systemd" / "systemd").exists():
        return path
    if shutil.which("mmdebstrap") is None:
        raise RuntimeError("mmdebstrap missing: apt-get install mmdebstrap (or make deps)")
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=path.parent))
    try:
        result = subprocess.run(
            ["mmdebstrap", "--quiet", f"--variant={VARIANT}", f"--include={','.join(PACKAGES)}",
             SUITE, str(staging / "root")],
            capture_output=True, text=True, timeout=1800)
        if result.returncode != 0:
            raise RuntimeError(f"mmdebstrap failed:\n{result.stderr[-4000:]}")
        (staging / "root").rename(path)  # whole or not at all
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return path


if __name__ == "__main__":
    print(ensure_rootfs())
    sys.exit(0)
