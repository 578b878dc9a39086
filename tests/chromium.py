"""Open a page in a real headless Chromium (Debian's `chromium`) and read back what it drew.

The page under test writes what it drew into `<pre id="drawn" data-state="ready">` once its
layout has run. `--virtual-time-budget` lets Chromium run the page's timers until it is idle
(virtual time: no wall-clock wait), then `--dump-dom` prints the DOM; a second run takes the
screenshot, kept as an artefact for a person to look at.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
ARTEFACTS = REPO / "build" / "test-artefacts"

# Root needs --no-sandbox; the rest keeps Chromium off the network and away from any profile.
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars", "--window-size=1280,800",
]


def chromium() -> str:
    path = shutil.which("chromium")
    assert path, "chromium not installed: make deps installs the Debian package"
    return path


@dataclass
class PageView:
    dom: str
    drawn: dict[str, Any]
    screenshot: Path


class _Drawn(HTMLParser):
    """The text and data-state of the element with id="drawn"."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.inside = False
        self.state: str | None = None
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id") == "drawn":
            self.inside, self.state = True, a.get("data-state")

    def handle_endtag(self, tag: str) -> None:
        if self.inside and tag == "pre":
            self.inside = False

    def handle_data(self, data: str) -> None:
        if self.inside:
            self.text.append(data)


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        return subprocess.run(
            [chromium(), *FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True, text=True, timeout=180, check=False,
        )


def open_page(page: Path, name: str, fragment: str = "", budget_ms: int = 20000) -> PageView:
    """Load `page` (with an optional #fragment), return its DOM, what it drew, a screenshot."""
    url = page.resolve().as_uri() + (f"#{fragment}" if fragment else "")
    budget = f"--virtual-time-budget={budget_ms}"
    dumped = _run([budget, "--dump-dom", url])
    assert dumped.returncode == 0, f"chromium failed: {dumped.stderr[-2000:]}"
    parser = _Drawn()
    parser.feed(dumped.stdout)
    assert parser.state == "ready", (
        f"page never reported its drawing (data-state={parser.state}); DOM tail:"
        f" {dumped.stdout[-1500:]}")
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTEFACTS / f"{name}.png"
    shot.unlink(missing_ok=True)
    taken = _run([budget, f"--screenshot={shot}", url])
    assert taken.returncode == 0 and shot.stat().st_size > 0, (
        f"no screenshot: {taken.stderr[-2000:]}")
    return PageView(dumped.stdout, json.loads("".join(parser.text)), shot)
