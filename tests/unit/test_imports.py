"""Importing the package has no side effects: no libbpf, no BPF object, so this tier runs on a
clone without a BPF build."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import ebpf_monitor

MODULES = sorted(m.name for m in pkgutil.walk_packages(ebpf_monitor.__path__, "ebpf_monitor.")
                 if not m.name.endswith("__main__"))

CHECK = """
import importlib, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
from ebpf_monitor import abi
maps = open("/proc/self/maps").read()
print("libbpf" in maps, abi.layout.cache_info().currsize, abi.enum_values.cache_info().currsize,
      abi._abi_btf.cache_info().currsize)
"""


class TestImports:
    def test_every_module_imports_without_touching_bpf(self) -> None:
        """Every module imports in a fresh interpreter without loading libbpf.so.1 or reading
        a layout from the BPF object."""
        assert "ebpf_monitor.schema" in MODULES and "ebpf_monitor.loader" in MODULES
        out = subprocess.run([sys.executable, "-c", CHECK, *MODULES], capture_output=True,
                             text=True, check=True).stdout.split()
        assert out == ["False", "0", "0", "0"]
