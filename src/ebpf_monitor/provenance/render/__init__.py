"""Renderers of a provenance Slice, one module per output format, chosen by `--format`.

Each module has `render(s: Slice) -> str`. They are imported on first use: the HTML renderer
reads a bundled JavaScript library, which a terminal query has no reason to load.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import cast

from ..model import Slice

__all__ = ["FORMATS", "render"]

Renderer = Callable[[Slice], str]


def _lazy(module: str) -> Renderer:
    def call(s: Slice) -> str:
        mod = importlib.import_module(f"{__name__}.{module}")
        return cast(Renderer, mod.render)(s)

    call.__name__ = f"render_{module}"
    call.__doc__ = f"Render a slice with {__name__}.{module}."
    return call


#: Output formats by their `--format` name; text is the default.
FORMATS: dict[str, Renderer] = {
    name: _lazy(name) for name in ("text", "json", "dot", "graphml", "prov", "html")
}


def render(s: Slice, fmt: str) -> str:
    """The slice in the named format; ValueError names the known ones for anything else."""
    try:
        renderer = FORMATS[fmt]
    except KeyError:
        raise ValueError(
            f"unknown output format {fmt!r} (known: {', '.join(FORMATS)})") from None
    return renderer(s)
