"""A $NOTIFY_SOCKET like systemd's, so readiness is the monitor's READY=1, not a log line."""

from __future__ import annotations

import socket
import struct
import threading
import time
from pathlib import Path

from .wait import wait_until

__all__ = ["NotifyListener"]


class NotifyListener:
    """Every datagram with its arrival time and sender pid, received on a thread of its own."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.unlink(missing_ok=True)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        # systemd learns the sender from SCM_CREDENTIALS to enforce NotifyAccess=main; so do we.
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.sock.settimeout(0.1)
        self.messages: list[tuple[float, list[str]]] = []
        self.senders: list[int] = []
        self._lock = threading.Lock()
        self._closed = False
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._closed:
            try:
                data, ancdata, _, _ = self.sock.recvmsg(4096, socket.CMSG_SPACE(12))
            except TimeoutError:
                continue
            except OSError:
                return
            sender = 0
            for level, kind, cdata in ancdata:
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                    sender = struct.unpack("iII", cdata[:12])[0]
            with self._lock:
                self.senders.append(sender)
                self.messages.append((time.monotonic(), data.decode().split("\n")))

    def arrival(self, assignment: str) -> float | None:
        """Arrival time of the first datagram carrying e.g. READY=1, if one came."""
        with self._lock:
            for when, lines in self.messages:
                if assignment in lines:
                    return when
        return None

    def wait_for(self, assignment: str, timeout: float) -> float:
        """Arrival time of the first datagram carrying `assignment`, waiting for it."""
        return wait_until(lambda: self.arrival(assignment), timeout=timeout,
                          what=f"{assignment} on {self.path}", seen=lambda: self.messages)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._thread.join()
            self.sock.close()
