"""The one compiled part of the package: the reader's per-event loop (src/ebpf_monitor/_fastcore.c).

Everything else is in pyproject.toml. Optional at run time: without it the reader uses the
Python builders (fastpath.py says so in one log line).
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension(
    "ebpf_monitor._fastcore", ["src/ebpf_monitor/_fastcore.c"],
    extra_compile_args=["-O2", "-Wall", "-Wextra", "-Werror=implicit-function-declaration"],
    # No compiler: install anyway; the reader then builds documents in Python (slower).
    optional=True,
)])
