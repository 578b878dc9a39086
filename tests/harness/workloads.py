"""Known workloads, in one place: Python programs for the tests, the C loops for benchmarks.

Each Python workload is the source of a program run by a fresh interpreter (`run_workload`), so
its pid is its own and its exit marks the end of its events.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

__all__ = ["FILE_WORK", "FORK_EXEC", "OPEN_LOOP", "TCP_WORK", "WORKLOAD_C", "build_c_workload",
           "run_workload", "start_workload"]

# argv: path, count[, pause]: open+close `path` count times, sleeping `pause` s every 100.
OPEN_LOOP = """
import os, sys, time
p, n = sys.argv[1], int(sys.argv[2])
pause = float(sys.argv[3]) if len(sys.argv) > 3 else 0
for i in range(n):
    os.close(os.open(p, os.O_RDONLY))
    if pause and i % 100 == 0:
        time.sleep(pause)
"""

# A fork and an exec of /bin/echo; prints the child's pid.
FORK_EXEC = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execv("/bin/echo", ["echo", "hello", "wörld", "a b"])
os.waitpid(pid, 0)  # before printing: echo shares our stdout
print(pid, flush=True)
"""

# argv: dir, n: create/write n bytes/read/rename/unlink in dir, and open a missing file.
FILE_WORK = """
import os, sys
d = sys.argv[1]
n = int(sys.argv[2])
a, b = os.path.join(d, "a.txt"), os.path.join(d, "b name.txt")
fd = os.open(a, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o640)
assert os.write(fd, b"x" * n) == n
os.close(fd)
fd = os.open(a, os.O_RDONLY)
assert len(os.read(fd, 65536)) == n
os.close(fd)
os.rename(a, b)
os.unlink(b)
try:
    os.open(os.path.join(d, "missing"), os.O_RDONLY)
except FileNotFoundError:
    pass
"""

# argv: host: a TCP connect/accept and 100 bytes each way; prints server and client ports.
TCP_WORK = """
import socket, sys
family = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
srv = socket.socket(family, socket.SOCK_STREAM)
srv.bind((sys.argv[1], 0))
srv.listen(5)
cli = socket.socket(family, socket.SOCK_STREAM)
cli.connect(srv.getsockname()[:2])
conn, peer = srv.accept()
cli.sendall(b"ping" * 25)
assert conn.recv(1000) == b"ping" * 25
print(srv.getsockname()[1], cli.getsockname()[1], flush=True)
"""

# The benchmarks' loops (open, forkexec, tcp, paced, count), in C so the loop costs little.
WORKLOAD_C = Path(__file__).resolve().parents[2] / "benchmarks" / "workload.c"


def start_workload(code: str, *args: str) -> subprocess.Popen[bytes]:
    """Start Python code in a fresh process; the caller waits for it."""
    return subprocess.Popen([sys.executable, "-c", code, *args])


def run_workload(code: str, *args: str) -> tuple[int, str]:
    """Run Python code in a fresh process; returns (its pid, its stdout)."""
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    return proc.pid, out.decode()


def build_c_workload(out: Path) -> Path:
    """Compile benchmarks/workload.c to `out` (gcc -O2) and return it."""
    subprocess.run(["gcc", "-O2", "-Wall", "-o", str(out), str(WORKLOAD_C)], check=True,
                   capture_output=True, text=True)
    return out
