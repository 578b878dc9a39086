"""What the benchmarks run: their sizes and the workloads, each returning operations per second.

The syscall loops are benchmarks/workload.c (built at run time, as the tests' harness builds it);
the others are a C build and a tar of a tree.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.harness import REPO
from tests.harness.workloads import build_c_workload

__all__ = ["FULL", "SETTLE_S", "SMOKE", "Sizes", "Workloads", "log", "sh"]

# Every setup pauses this long before each workload (see runner.settle).
SETTLE_S = 1.0


@dataclass(frozen=True)
class Sizes:
    rounds: int
    loop_secs: float  # each syscall loop runs this long
    c_files: int  # files in the generated C project
    tar_dir: str  # tree archived by the tar workload
    rates: tuple[int, ...]  # paced open rates for the capacity table
    paced_secs: float
    fill_events: int  # events queued while the reader is stopped (drain test)
    es_docs: int


FULL = Sizes(rounds=5, loop_secs=2.0, c_files=24, tar_dir="/usr/include/linux",
             rates=(10_000, 50_000, 100_000, 150_000, 200_000, 250_000, 300_000),
             paced_secs=4.0, fill_events=300_000, es_docs=200_000)
SMOKE = Sizes(rounds=1, loop_secs=0.3, c_files=3, tar_dir=str(REPO / "bpf"), rates=(10_000,),
              paced_secs=1.0, fill_events=5_000, es_docs=2_000)


def sh(cmd: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kw)


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


class Workloads:
    def __init__(self, work: Path, sizes: Sizes) -> None:
        self.work = work
        self.sizes = sizes
        self.bin = build_c_workload(work / "workload")
        self.target = work / "target.txt"
        self.target.write_text("x\n")
        self.project = work / "cproject"
        self._make_project(sizes.c_files)
        self.tar_out = work / "out.tar"

    def _make_project(self, n: int) -> None:
        self.project.mkdir(exist_ok=True)
        objs = []
        for i in range(n):
            body = "\n".join(
                f"int f{i}_{j}(int x) {{ int s = 0; for (int k = 0; k < x; k++) s += k * {j};"
                f" return s ^ {i}; }}" for j in range(40))
            (self.project / f"m{i}.c").write_text(f"#include <stdio.h>\n{body}\n")
            objs.append(f"m{i}.o")
        (self.project / "main.c").write_text("int main(void) { return 0; }\n")
        (self.project / "Makefile").write_text(
            f"OBJS := main.o {' '.join(objs)}\nprog: $(OBJS)\n\t$(CC) -o $@ $^\n"
            "%.o: %.c\n\t$(CC) -O1 -c -o $@ $<\nclean:\n\trm -f prog *.o\n")

    def _loop(self, *args: str) -> float:
        out = sh([str(self.bin), *args]).stdout.split()
        return int(out[0]) / float(out[1])

    def open_close(self) -> float:
        return self._loop("open", str(self.sizes.loop_secs), str(self.target))

    def fork_exec(self) -> float:
        return self._loop("forkexec", str(self.sizes.loop_secs))

    def tcp(self) -> float:
        return self._loop("tcp", str(self.sizes.loop_secs))

    def gcc_make(self) -> float:
        sh(["make", "-s", "-C", str(self.project), "clean"])
        t0 = time.monotonic()
        sh(["make", "-s", "-j2", "-C", str(self.project)])
        return 1 / (time.monotonic() - t0)

    def tar(self) -> float:
        """Archives made per second, repeated for loop_secs (one tar of the tree takes ~15 ms
        here: a single one was a sample of the host's noise, not of the setup)."""
        cmd = ["tar", "cf", str(self.tar_out), "-C", str(Path(self.sizes.tar_dir).parent),
               Path(self.sizes.tar_dir).name]
        t0 = time.monotonic()
        n = 0
        while n == 0 or time.monotonic() - t0 < self.sizes.loop_secs:
            sh(cmd)
            self.tar_out.unlink()
            n += 1
        return n / (time.monotonic() - t0)

    def all(self) -> dict[str, Callable[[], float]]:
        return {
            "open+close loop": self.open_close,
            "fork+exec loop": self.fork_exec,
            "TCP connect/accept loop": self.tcp,
            "gcc/make build (C project)": self.gcc_make,
            "tar of a source tree": self.tar,
        }

