#!/usr/bin/env python3
"""Build the mmap-mod-kmod-handbuilt fixture: HAND-BUILT kmod_event records (init_module,
finit_module, delete_module; success and failure), not recorded. The development host's kernel
has no module support (no /proc/modules, no module tracepoints), so no real record can be made
there; these are packed field by field with the events.h layout of tests/unit/abi.json, the
header's values those of a real record of the same host (a root shell's), and carry what the
kernel side would send: the name module_load saw, the fd's path, the parameters. Then the
documents made from them, host inputs fixed as for the golden batch.

    .venv/bin/python scripts/golden_build_kmod.py               # records + documents
    .venv/bin/python scripts/golden_build_kmod.py --documents   # rewrite the documents

Re-record from a real workload on a kernel with modules when one is at hand.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))
sys.path.insert(0, str(REPO / "src"))

import golden_record  # noqa: E402

NAME = "mmap-mod-kmod-handbuilt"
EPERM, ENOENT, EEXIST = 1, 2, 17


def kmod_record(action: str, ret: int, ktime: int, *, name: bytes = b"", path: bytes = b"",
                args: bytes | None = None, fd: int = -1, flags: int = 0, size: int = 0,
                hflags: int = 0) -> bytes:
    """One kmod_event as the kernel side sends it (only the filled tail)."""
    from ebpf_monitor.abi import enum_values, layout

    lay = layout("kmod_event")
    tail = path + b"\0" + (args if args is not None else b"") + b"\0"
    values: dict[str, Any] = {
        "h_kind": enum_values("event_kind")["EK_KMOD"],
        "h_action": enum_values("event_action")[f"EA_{action.upper()}"],
        "h_size": lay.tail_offset + len(tail), "h_flags": hflags,
        "h_pid": 4242, "h_tid": 4242, "h_ppid": 4200, "h_uid": 0, "h_gid": 0, "h_euid": 0,
        "h_ktime_ns": ktime, "h_start_ns": 5_000_000_000, "h_ret": ret,
        "h_comm": b"insmod", "h_cgroup_id": 0x1F00, "h_parent_start_ns": 4_000_000_000,
        "h_mntns": 4026531841, "h_netns": 4026531840, "h_tty": 136 << 20 | 1, "h_sid": 4200,
        "len": size, "fd": fd, "flags": flags, "name": name,
        "path_len": len(path), "args_len": len(args or b""),
    }
    fixed = lay.struct.pack(*(values.get(f, b"" if code.endswith("s") else 0)
                              for f, code in zip(lay.fields, lay.codes, strict=True)))
    return fixed + tail


def build(_tmp: Path) -> list[bytes]:
    from tests.unit import golden

    from ebpf_monitor.abi import enum_values

    module_dir = b"/usr/lib/modules/6.18.44/kernel/fs/em test"
    with golden.fixed_host():
        truncated = enum_values("event_flag")["EF_PATH2_TRUNCATED"]
        return [
            kmod_record("init_module", 0, 6_000_000_000, name=b"em_hello",
                        args=b"debug=1 name=\"two words\"", size=16384),
            kmod_record("init_module", -EPERM, 6_100_000_000, args=b"", size=12),
            kmod_record("finit_module", 0, 6_200_000_000, name=b"em_fs",
                        path=module_dir + b"/em_fs.ko.zst", args=b"", fd=3, flags=4),
            kmod_record("finit_module", -EEXIST, 6_300_000_000, name=b"em_fs",
                        path=module_dir + b"/em_fs.ko.zst", args=b"x" * 255, fd=3,
                        flags=4 | 2, hflags=truncated),
            kmod_record("delete_module", 0, 6_400_000_000, name=b"em_fs", flags=0o4000),
            kmod_record("delete_module", -ENOENT, 6_500_000_000, name=b"no_such_module",
                        flags=0o4000 | 0o1000),
        ]


if __name__ == "__main__":
    sys.exit(golden_record.extra_main(__doc__ or "", NAME, build))
