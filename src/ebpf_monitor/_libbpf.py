"""ctypes bindings to the system libbpf.so.1: the only module that names libbpf symbols.

libbpf 1.x returns NULL (or a negative errno) and sets errno on failure; `_check*` turn that into
BpfLoadError naming the step.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
from ctypes import (
    CFUNCTYPE,
    POINTER,
    c_bool,
    c_char_p,
    c_int,
    c_long,
    c_size_t,
    c_uint32,
    c_uint64,
    c_void_p,
)
from functools import cache
from typing import Any

from .errors import BpfLoadError, HostError

__all__ = [
    "BTF_KIND_ARRAY",
    "BTF_KIND_CONST",
    "BTF_KIND_DATASEC",
    "BTF_KIND_ENUM",
    "BTF_KIND_FUNC",
    "BTF_KIND_INT",
    "BTF_KIND_STRUCT",
    "BTF_KIND_TYPEDEF",
    "BTF_KIND_VAR",
    "BTF_KIND_VOLATILE",
    "check_ptr",
    "check_rc",
    "lib",
    "libc",
    "set_print",
]

log = logging.getLogger("ebpf_monitor.libbpf")

BTF_KIND_INT = 1
BTF_KIND_ARRAY = 3
BTF_KIND_STRUCT = 4
BTF_KIND_ENUM = 6
BTF_KIND_TYPEDEF = 8
BTF_KIND_VOLATILE = 9
BTF_KIND_CONST = 10
BTF_KIND_FUNC = 12
BTF_KIND_VAR = 14
BTF_KIND_DATASEC = 15

_PRINT_FN = CFUNCTYPE(c_int, c_int, c_char_p, c_void_p)


def _load() -> ctypes.CDLL:
    try:
        return ctypes.CDLL("libbpf.so.1", use_errno=True)
    except OSError:
        raise HostError(
            "libbpf.so.1 not found: install the libbpf1 package (apt-get install libbpf1)"
        ) from None


_SIGNATURES: dict[str, tuple[Any, list[Any]]] = {
    "libbpf_set_print": (c_void_p, [_PRINT_FN]),
    "libbpf_num_possible_cpus": (c_int, []),
    "bpf_object__open_file": (c_void_p, [c_char_p, c_void_p]),
    "bpf_object__load": (c_int, [c_void_p]),
    "bpf_object__close": (None, [c_void_p]),
    "bpf_object__btf": (c_void_p, [c_void_p]),
    "bpf_object__next_program": (c_void_p, [c_void_p, c_void_p]),
    "bpf_object__next_map": (c_void_p, [c_void_p, c_void_p]),
    "bpf_object__find_map_by_name": (c_void_p, [c_void_p, c_char_p]),
    "bpf_program__name": (c_char_p, [c_void_p]),
    "bpf_program__section_name": (c_char_p, [c_void_p]),
    "bpf_program__set_autoload": (c_int, [c_void_p, c_bool]),
    "bpf_program__autoload": (c_bool, [c_void_p]),
    "bpf_program__attach": (c_void_p, [c_void_p]),
    "bpf_link__destroy": (c_int, [c_void_p]),
    "bpf_object__find_program_by_name": (c_void_p, [c_void_p, c_char_p]),
    "bpf_program__attach_iter": (c_void_p, [c_void_p, c_void_p]),
    "bpf_link__fd": (c_int, [c_void_p]),
    "bpf_iter_create": (c_int, [c_int]),
    "bpf_map__name": (c_char_p, [c_void_p]),
    "bpf_map__fd": (c_int, [c_void_p]),
    "bpf_map__set_max_entries": (c_int, [c_void_p, c_uint32]),
    "bpf_map__max_entries": (c_uint32, [c_void_p]),
    "bpf_map__value_size": (c_uint32, [c_void_p]),
    "bpf_map__initial_value": (c_void_p, [c_void_p, POINTER(c_size_t)]),
    "bpf_map__set_initial_value": (c_int, [c_void_p, c_void_p, c_size_t]),
    "bpf_map_update_elem": (c_int, [c_int, c_void_p, c_void_p, c_uint64]),
    "bpf_map_lookup_elem": (c_int, [c_int, c_void_p, c_void_p]),
    "bpf_map_delete_elem": (c_int, [c_int, c_void_p]),
    "libbpf_get_error": (c_long, [c_void_p]),
    "btf__parse": (c_void_p, [c_char_p, c_void_p]),
    "btf__free": (None, [c_void_p]),
    "btf__type_cnt": (c_uint32, [c_void_p]),
    "btf__type_by_id": (c_void_p, [c_void_p, c_uint32]),
    "btf__name_by_offset": (c_char_p, [c_void_p, c_uint32]),
    "btf__find_by_name_kind": (c_int, [c_void_p, c_char_p, c_uint32]),
    "btf__resolve_size": (c_long, [c_void_p, c_uint32]),
}


@cache
def _libbpf() -> ctypes.CDLL:
    lib = _load()
    for name, (restype, argtypes) in _SIGNATURES.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes
    return lib


@cache
def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    libc.vsnprintf.restype = c_int
    libc.vsnprintf.argtypes = [c_char_p, c_size_t, c_char_p, c_void_p]
    return libc


# Loaded on first use, not at import: importing the package (unit tests, check-config) needs
# neither libbpf nor the ldconfig run behind find_library.
lib: ctypes.CDLL
libc: ctypes.CDLL


def __getattr__(name: str) -> ctypes.CDLL:
    if name == "lib":
        return _libbpf()
    if name == "libc":
        return _libc()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_LEVELS = {0: logging.WARNING, 1: logging.INFO, 2: logging.DEBUG}
_print_ref: Any = None


def set_print(debug: bool) -> None:
    """Route libbpf's messages to our logger; its debug chatter only with -v."""
    global _print_ref

    def _print(level: int, fmt: bytes, args: int) -> int:
        pylevel = _LEVELS.get(level, logging.DEBUG)
        if pylevel == logging.DEBUG and not debug:
            return 0
        buf = ctypes.create_string_buffer(2048)
        _libc().vsnprintf(buf, len(buf), fmt, args)
        text = buf.value.decode("utf-8", "replace").rstrip()
        if text:
            # libbpf warns about its own fallbacks; keep them, but below warning unless -v.
            log.log(pylevel if debug else logging.DEBUG, "%s", text)
        return 0

    _print_ref = _PRINT_FN(_print)
    _libbpf().libbpf_set_print(_print_ref)


def check_ptr(ptr: int | None, step: str) -> int:
    """Raise BpfLoadError naming `step` when libbpf returned NULL."""
    if not ptr:
        err = ctypes.get_errno()
        raise BpfLoadError(f"{step}: {os.strerror(err) if err else 'failed'} (errno {err})")
    return ptr


def check_rc(rc: int, step: str) -> None:
    """Raise BpfLoadError naming `step` when libbpf returned a negative errno."""
    if rc < 0:
        raise BpfLoadError(f"{step}: {os.strerror(-rc)} (errno {-rc})")

