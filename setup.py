"""The one compiled part of the package: the reader's per-event loop (src/ebpf_monitor/_fastcore.c).

Everything else is in pyproject.toml. Optional at run time: without it the reader uses the
Python builders (fastpath.py says so in one log line).
"""

import os

from setuptools import Extension, setup

# EBPF_MONITOR_PURE=1 builds the pure-Python wheel the .deb ships beside the compiled one, for a
# target whose python3 is not the one the compiled wheel was built for (pip picks the best).
setup(ext_modules=[] if os.environ.get("EBPF_MONITOR_PURE") else [Extension(
    "ebpf_monitor._fastcore", ["src/ebpf_monitor/_fastcore.c"],
    extra_compile_args=["-O2", "-Wall", "-Wextra", "-Werror=implicit-function-declaration"],
    # No compiler: install anyway; the reader then builds documents in Python (slower).
    optional=True,
)])
