"""Open, configure, load and attach the BPF object; undo in reverse.

Mirrors a libbpf skeleton's main(): one step per libbpf call, each failure naming its step.
Optional hooks (syscalls this kernel or architecture lacks) are switched off before load.
"""

from __future__ import annotations

import ctypes
import errno
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

from . import _libbpf as bpf
from .abi import Btf, enum_values, layout, monitor_object, rw_actions
from .config import CaptureConfig, FilterConfig
from .errors import BpfLoadError, HostError

__all__ = ["BpfMonitor", "check_host"]

log = logging.getLogger(__name__)

EXEC_MAP_HOOKS = ("mmap", "mprotect", "pkey_mprotect")
"""Syscalls whose hooks capture.exec_mappings "none" leaves unloaded."""
TRACEFS = (Path("/sys/kernel/tracing"), Path("/sys/kernel/debug/tracing"))
KERNEL_BTF = Path("/sys/kernel/btf/vmlinux")
DIRECT_LOADS_ENV = "EBPF_MONITOR_DIRECT_LOADS"
"""Set to 0 to run the helper-read paths older kernels use (the kernel tests check both)."""


def check_host() -> None:
    """The one-line reasons a run cannot start: privileges, BTF, tracefs."""
    if os.geteuid() != 0:
        raise HostError("must run as root: loading BPF programs needs CAP_BPF and CAP_PERFMON")
    if not Path("/sys/kernel/btf/vmlinux").exists():
        raise HostError(
            "/sys/kernel/btf/vmlinux missing: this kernel has no BTF (CONFIG_DEBUG_INFO_BTF=y"
            " is required for CO-RE)"
        )
    if not monitor_object().exists():
        raise HostError(f"{monitor_object()} missing: build the BPF programs with `make bpf`")
    _ensure_tracefs()


def _tracefs() -> Path | None:
    for root in TRACEFS:
        if (root / "events").is_dir():
            return root
    return None


def _ensure_tracefs() -> None:
    # Tracepoint attachment looks up event ids in tracefs; some hosts do not mount it.
    if _tracefs() is not None:
        return
    rc = bpf.libc.mount(b"tracefs", b"/sys/kernel/tracing", b"tracefs", 0, None)
    if rc != 0 or _tracefs() is None:
        err = ctypes.get_errno()
        raise HostError(
            f"tracefs is not mounted at /sys/kernel/tracing and mounting it failed:"
            f" {os.strerror(err)}"
        )


def direct_loads() -> bool:
    """Whether the programs may read kernel memory by direct loads through bpf_rdonly_cast()
    (a weak kfunc, 6.2+; common.bpf.h targ_direct_loads) instead of bpf_probe_read_kernel:
    when the running kernel's BTF has it, unless EBPF_MONITOR_DIRECT_LOADS=0."""
    if os.environ.get(DIRECT_LOADS_ENV) == "0":
        return False
    btf = Btf.parse(KERNEL_BTF)
    try:
        return btf.has("bpf_rdonly_cast", bpf.BTF_KIND_FUNC)
    finally:
        btf.close()


def _syscall_tracepoint_exists(section: str) -> bool:
    root = _tracefs()
    if root is not None and section.startswith("tp_btf/io_uring_"):
        # Optional: a kernel built without io_uring has none of its tracepoints.
        return (root / "events" / "io_uring" / section.removeprefix("tp_btf/")).is_dir()
    if root is None or not section.startswith("tracepoint/"):
        return True
    return (root / "events" / section.removeprefix("tracepoint/")).is_dir()


class BpfMonitor:
    """The loaded object: its ring buffer fd, its drop counters, and the way back out."""

    def __init__(self, *, capture: CaptureConfig, filters: FilterConfig, self_pid: int) -> None:
        self._stack = ExitStack()
        self._links: list[int] = []
        self.skipped: list[str] = []
        self.attached = 0
        path = monitor_object()
        obj = bpf.check_ptr(bpf.lib.bpf_object__open_file(str(path).encode(), None),
                            f"open {path}")
        self._obj = obj
        self._stack.callback(bpf.lib.bpf_object__close, obj)
        try:
            self._configure(capture, filters, self_pid)
            bpf.check_rc(bpf.lib.bpf_object__load(obj), "load BPF programs (run with -v for"
                         " the verifier log)")
            self._fill_filters(filters)
            self._fill_env_names(capture.exec_env_vars)
            self._attach()
        except BaseException:
            self.close()
            raise

    # ---- before load ----

    def _map(self, name: str) -> int:
        return bpf.check_ptr(bpf.lib.bpf_object__find_map_by_name(self._obj, name.encode()),
                             f"find map {name}")

    def _programs(self) -> list[tuple[int, str, str]]:
        progs = []
        prog = bpf.lib.bpf_object__next_program(self._obj, None)
        while prog:
            progs.append((prog, bpf.lib.bpf_program__name(prog).decode(),
                          bpf.lib.bpf_program__section_name(prog).decode()))
            prog = bpf.lib.bpf_object__next_program(self._obj, prog)
        return progs

    def _configure(self, capture: CaptureConfig, filters: FilterConfig, self_pid: int) -> None:
        self.ring_size = _ring_size(capture.ring_buffer_bytes)
        direct = direct_loads()
        if not direct:
            log.info("path walks read kernel memory by helper calls (no bpf_rdonly_cast in this"
                     " kernel, before 6.2, or %s=0)", DIRECT_LOADS_ENV)
        bpf.check_rc(bpf.lib.bpf_map__set_max_entries(self._map("em_events"), self.ring_size),
                     "size ring buffer")
        rodata = {
            "targ_self_pid": self_pid,
            "targ_max_args": capture.max_args,
            "targ_wakeup_bytes": capture.wakeup_bytes,
            "targ_comm_filter": int(bool(filters.ignore_comms)),
            "targ_path_filter": int(bool(filters.ignore_path_prefixes)),
            "targ_skip_shlib": int(filters.ignore_shared_libraries),
            "targ_read_write": enum_values("rw_mode")[f"RW_{capture.read_write.upper()}"],
            "targ_own_files": int(filters.ignore_own_files),
            "targ_real_paths": int(capture.real_paths),
            "targ_direct_loads": int(direct),
            "targ_exec_maps": enum_values("exec_map_mode")[f"XM_{capture.exec_mappings.upper()}"],
            "targ_lib_filter": int(filters.ignore_library_mappings
                                   and bool(filters.library_prefixes)),
        }
        self._set_rodata(rodata)
        reads, writes = rw_actions()
        for prog, name, section in self._programs():
            hook = section.rsplit("/", 1)[-1]
            syscall = hook.removeprefix("sys_enter_").removeprefix("sys_exit_")
            if ((capture.read_write == "none" and (syscall in reads or syscall in writes))
                    or (capture.exec_mappings == "none" and syscall in EXEC_MAP_HOOKS)):
                bpf.lib.bpf_program__set_autoload(prog, False)
            elif not _syscall_tracepoint_exists(section):
                # Optional: e.g. open/creat/rename do not exist on arm64, openat2 before 5.6.
                bpf.lib.bpf_program__set_autoload(prog, False)
                self.skipped.append(name)
        if self.skipped:
            log.info("hooks not on this kernel, skipped: %s", ", ".join(sorted(self.skipped)))

    def _internal_map(self, section: str) -> int:
        m = bpf.lib.bpf_object__next_map(self._obj, None)
        while m:
            if bpf.lib.bpf_map__name(m).decode().endswith(section):
                return int(m)
            m = bpf.lib.bpf_object__next_map(self._obj, m)
        raise BpfLoadError(f"the object has no {section} map: rebuild with `make bpf`")

    def _btf(self) -> Btf:
        return Btf(bpf.check_ptr(bpf.lib.bpf_object__btf(self._obj), "read object BTF"),
                   owned=False)

    def _set_rodata(self, values: dict[str, int]) -> None:
        rodata = self._internal_map(".rodata")
        size = ctypes.c_size_t()
        base = bpf.check_ptr(bpf.lib.bpf_map__initial_value(rodata, ctypes.byref(size)),
                             "set settings: read .rodata")
        layout = self._btf().datasec(".rodata")
        for name, value in values.items():
            if name not in layout:
                raise BpfLoadError(f"set settings: {name} missing from the object")
            off, width = layout[name]
            if off + width > size.value:
                raise BpfLoadError(f"set settings: {name} outside .rodata")
            ctypes.memmove(base + off, value.to_bytes(width, "little"), width)

    # ---- after load ----

    def _fill_env_names(self, names: list[str]) -> None:
        """capture.exec_env_vars: the names an exec record keeps (em_env_names)."""
        fd = bpf.lib.bpf_map__fd(self._map("em_env_names"))
        one = ctypes.c_uint8(1)
        key = layout("env_key")  # the name, NUL-padded
        for name in names:
            bpf.check_rc(bpf.lib.bpf_map_update_elem(fd, key.struct.pack(name.encode()),
                                                     ctypes.byref(one), 0),
                         f"set capture.exec_env_vars {name!r}")

    def _fill_filters(self, filters: FilterConfig) -> None:
        comm_fd = bpf.lib.bpf_map__fd(self._map("em_ign_comm"))
        one = ctypes.c_uint8(1)
        comm_key = layout("comm_key")  # the name, NUL-padded
        for comm in filters.ignore_comms:
            key = comm_key.struct.pack(comm.encode())  # config.CommName: it fits
            bpf.check_rc(bpf.lib.bpf_map_update_elem(comm_fd, key, ctypes.byref(one), 0),
                         f"set filters.ignore_comms {comm!r}")
        self._fill_prefixes("em_ign_path", filters.ignore_path_prefixes,
                            "filters.ignore_path_prefixes")
        if filters.ignore_library_mappings:
            self._fill_prefixes("em_lib_path", filters.library_prefixes,
                                "filters.library_prefixes")

    def _fill_prefixes(self, map_name: str, prefixes: list[str], key_name: str) -> None:
        """An LPM trie of path prefixes: prefix_key is the prefix's length in bits, then its
        bytes as the key's tail."""
        prefix_len = enum_values("abi_const")["ABI_PREFIX_LEN"]
        fd = bpf.lib.bpf_map__fd(self._map(map_name))
        one = ctypes.c_uint8(1)
        prefix_key = layout("prefix_key")
        for prefix in prefixes:
            raw = prefix.encode()
            if len(raw) >= prefix_len:  # config.PathPrefix refuses it; never cut one short
                raise BpfLoadError(f"{key_name} {prefix!r}: {len(raw)} bytes, the kernel"
                                   f" keeps at most {prefix_len - 1}")
            key = prefix_key.struct.pack(len(raw) * 8) + raw.ljust(
                prefix_key.size - prefix_key.tail_offset, b"\0")
            bpf.check_rc(bpf.lib.bpf_map_update_elem(fd, key, ctypes.byref(one), 0),
                         f"set {key_name} {prefix!r}")

    def _attach(self) -> None:
        for prog, name, _section in self._programs():
            if not bpf.lib.bpf_program__autoload(prog):
                continue
            link = bpf.lib.bpf_program__attach(prog)
            if not link or bpf.lib.libbpf_get_error(link):
                err = ctypes.get_errno()
                raise BpfLoadError(f"attach {name}: {os.strerror(err)} (errno {err})")
            self._links.append(link)
        self.attached = len(self._links)

    @property
    def ring_fd(self) -> int:
        return int(bpf.lib.bpf_map__fd(self._map("em_events")))

    def drops(self) -> dict[str, int]:
        """Failed ring-buffer writes so far, by record kind, summed over CPUs."""
        return _sum_cpus(self.drops_by_cpu())

    def drops_with_room(self) -> dict[str, int]:
        """The part of drops() that failed while less than half the ring was pending: not a
        reader too slow for the ring (bpf/maps.bpf.h says what it can be)."""
        return _sum_cpus(self.drops_by_cpu(with_room=True))

    def drops_by_cpu(self, *, with_room: bool = False) -> dict[tuple[int, str], int]:
        """Failed ring-buffer writes so far by (CPU, record kind), for the metrics; `with_room`:
        only those that failed with less than half the ring pending."""
        fd = bpf.lib.bpf_map__fd(self._map("em_drops_room" if with_room else "em_drops"))
        ncpu = bpf.lib.libbpf_num_possible_cpus()
        values = (ctypes.c_uint64 * ncpu)()
        out = {}
        for name, kind in enum_values("event_kind").items():
            if name == "EK_MAX":
                continue
            key = ctypes.c_uint32(kind)
            if bpf.lib.bpf_map_lookup_elem(fd, ctypes.byref(key), values) == 0:
                for cpu in range(ncpu):
                    out[cpu, name.removeprefix("EK_").lower()] = int(values[cpu])
        return out

    def update_own_file(self, key: bytes, add: bool) -> None:
        """Add or remove a (device, inode) key of em_own_files (ownfiles.py); OSError if not."""
        fd = bpf.lib.bpf_map__fd(self._map("em_own_files"))
        buf = ctypes.create_string_buffer(key, len(key))
        if add:
            one = ctypes.c_uint8(1)
            rc = bpf.lib.bpf_map_update_elem(fd, buf, ctypes.byref(one), 0)
        else:
            rc = bpf.lib.bpf_map_delete_elem(fd, buf)
        if rc < 0 and (add or -rc != errno.ENOENT):  # libbpf returns -errno
            raise OSError(-rc, os.strerror(-rc))

    def pause(self) -> None:
        """Stop emitting now (the programs stay attached); what is in the ring stays readable."""
        bss = self._internal_map(".bss")
        off, width = self._btf().datasec(".bss")["em_paused"]
        value = bytearray(bpf.lib.bpf_map__value_size(bss))
        value[off: off + width] = (1).to_bytes(width, "little")
        buf = (ctypes.c_char * len(value)).from_buffer(value)
        key = ctypes.c_uint32(0)
        bpf.check_rc(bpf.lib.bpf_map_update_elem(bpf.lib.bpf_map__fd(bss), ctypes.byref(key),
                                                 buf, 0), "pause programs")

    def detach(self) -> None:
        """Remove the hooks. Each removal waits for an RCU grace period (~70 ms here), so they
        go in parallel: ~2.5 s instead of ~6 s for the whole set."""
        links, self._links = self._links, []
        if links:
            with ThreadPoolExecutor(max_workers=len(links)) as pool:
                list(pool.map(bpf.lib.bpf_link__destroy, links))

    def close(self) -> None:
        self.detach()
        self._stack.close()


RING_PER_CPU = 32 * 1024 * 1024
RING_MIN, RING_MAX = 64 * 1024 * 1024, 256 * 1024 * 1024


def _sum_cpus(by_cpu: dict[tuple[int, str], int]) -> dict[str, int]:
    out: dict[str, int] = {}
    for (_cpu, kind), n in by_cpu.items():
        out[kind] = out.get(kind, 0) + n
    return out


def _ring_size(requested: int | None) -> int:
    """The ring's size: a power of two (the kernel's rule), a page at least.

    By default it scales with the CPUs that fill it, as peers size per-CPU buffers. 64 MiB on
    this 2-CPU host holds ~500k open records: the backlog of a 2 s open+close loop at full
    speed while the reader catches up (32 MiB dropped a few records there). The reader maps
    the data area once (ringbuf.py), so the ring counts once in the monitor's RSS."""
    if requested is None:
        requested = min(max(RING_PER_CPU * (os.cpu_count() or 1), RING_MIN), RING_MAX)
    size = max(requested, os.sysconf("SC_PAGE_SIZE"))
    return 1 << (size - 1).bit_length()

