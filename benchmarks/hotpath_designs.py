#!/usr/bin/env python3
"""Per-event cost of three reader designs on one recorded batch (issue 10, item 4).

    benchmarks/hotpath.py record FILE                  # root: record a batch (as before)
    benchmarks/hotpath_designs.py FILE [--rounds 7]    # compare the designs on it
    benchmarks/hotpath_designs.py --record-varied FILE # root: a batch of many paths and
                                                       # processes (tar, find, cat, sort)

  a  today's path: Decoder (struct.unpack + one builder call per record) + the jsonl encoding;
  b  columnar: the batch's open records (96% of the recorded mix) decoded at once into a numpy
     structured array whose dtype comes from the object's BTF (abi.layout), enriched by joining
     on the batch's few distinct actors, paths, seconds, flags and errors (each looked up once
     with today's cached helpers), then serialised per event by a Python f-string over the
     columns and precomputed fragments (b-fstring), or by polars' concat_str (b-polars);
  c  the same columns and fragments rendered by a small C extension (benchmarks/fastdoc/render.c,
     built here with the system compiler): a template of ops written in Python, no JSON or
     layout knowledge in C.

Every other record (exec, fork, sockets, read/write, relative-path opens...) goes through
today's builder, in order; an exec ends a segment (it changes what later records of its process
show). Each design's output must be byte-identical to (a)'s, checked every round. Rounds
alternate the order of the designs; the table gives the median µs per event and the median of
the per-round ratios to (a). polars' write_ndjson is timed on a flat frame of the open
records' columns for reference only (its documents are not ours).
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import importlib.util
import io
import os
import pickle
import random
import statistics
import subprocess
import sys
import sysconfig
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

try:
    import numpy as np
except ImportError:
    sys.exit("hotpath_designs.py needs numpy (prototype only, not a project dependency):"
             " .venv/bin/pip install numpy==2.4.6 polars==2.1.0")

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
BUILD = REPO / "build" / "bench"

from ebpf_monitor import schema  # noqa: E402
from ebpf_monitor.abi import Layout, enum_values, layout  # noqa: E402
from ebpf_monitor.config import Config  # noqa: E402
from ebpf_monitor.decode import Decoder  # noqa: E402
from ebpf_monitor.enrich import Enricher  # noqa: E402
from ebpf_monitor.pipeline import READ_CHUNK  # noqa: E402
from ebpf_monitor.ringbuf import Batch  # noqa: E402
from ebpf_monitor.sinks.jsonl import _encode  # noqa: E402

_NP_CODES = {"B": "u1", "b": "i1", "H": "<u2", "h": "<i2", "I": "<u4", "i": "<i4",
             "Q": "<u8", "q": "<i8"}


def build_ext(source: str, module: str) -> Any:
    """Compile a C file of benchmarks/fastdoc against this Python (needs its headers: the
    python3-dev package on Debian) and import it."""
    src = REPO / "benchmarks" / "fastdoc" / source
    so = BUILD / f"{module}{sysconfig.get_config_var('EXT_SUFFIX')}"
    if not so.exists() or so.stat().st_mtime < src.stat().st_mtime:
        BUILD.mkdir(parents=True, exist_ok=True)
        subprocess.run(["cc", "-O2", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC",
                        f"-I{sysconfig.get_paths()['include']}", str(src), "-o", str(so)],
                       check=True)
    if str(BUILD) not in sys.path:
        sys.path.insert(0, str(BUILD))
    return __import__(module)


def dtype_of(lay: Layout) -> np.dtype[Any]:
    """numpy dtype of a record's fixed part, from the struct format abi.py built from BTF."""
    names, formats, offsets = [], [], []
    pos = 0
    fields = iter(lay.fields)
    for count, code in _tokens(lay.struct.format):
        if code == "x":
            pos += count
        elif code == "s":
            names.append(next(fields))
            formats.append(f"S{count}")
            offsets.append(pos)
            pos += count
        else:
            for _ in range(count):
                names.append(next(fields))
                formats.append(_NP_CODES[code])
                offsets.append(pos)
                pos += np.dtype(_NP_CODES[code]).itemsize
    return np.dtype({"names": names, "formats": formats, "offsets": offsets,
                     "itemsize": lay.tail_offset})


def _tokens(fmt: str) -> list[tuple[int, str]]:
    out, num = [], ""
    for ch in fmt.lstrip("<"):
        if ch.isdigit():
            num += ch
        else:
            out.append((int(num or 1), ch))
            num = ""
    return out


class Columns:
    """One segment's absolute-path open records as columns, and the fragment tables they index.

    Every table entry comes from today's cached helpers in schema.py, looked up once per
    distinct value in the segment, so the text is the same as the builders'."""

    def __init__(self, en: Enricher, data: bytes, buf: np.ndarray[Any, Any],
                 offs: np.ndarray[Any, Any], lay: Layout, dt: np.dtype[Any],
                 key_slices: list[tuple[int, int]]) -> None:
        t = {}
        t0 = time.perf_counter()
        fixed = buf[offs[:, None] + np.arange(lay.tail_offset)]
        rec = fixed.view(dt)[:, 0]
        tail = lay.tail_offset
        plens = rec["path_len"].tolist()
        paths = [data[o + tail: o + tail + n] for o, n in zip(offs.tolist(), plens, strict=True)]
        t1 = time.perf_counter()
        t["decode"] = t1 - t0
        # Join on distinct values: each is enriched once.
        index: dict[bytes, int] = {}
        file_idx = np.fromiter((index.setdefault(p, len(index)) for p in paths), np.int64,
                               len(paths))
        self.files = [schema._file_text(en, p.decode("utf-8", "backslashreplace"))
                      for p in index]
        ns = rec["h_ktime_ns"].astype(np.int64) + en.offset_ns
        secs = ns // 1_000_000_000
        self.frac = ns - secs * 1_000_000_000
        usecs, sec_idx = np.unique(secs, return_inverse=True)
        self.seconds = [time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(int(s))) for s in usecs]
        width = sum(b - a for a, b in key_slices)
        keys = np.ascontiguousarray(np.concatenate([fixed[:, a:b] for a, b in key_slices],
                                                   axis=1)).view(f"V{width}")[:, 0]
        _, first, actor_idx = np.unique(keys, return_index=True, return_inverse=True)
        self.actors = [schema._actor(lay.struct.unpack_from(data, int(offs[j])), en).text
                       for j in first.tolist()]
        ret = rec["h_ret"].astype(np.int64)
        action = rec["h_action"].astype(np.int64)
        uact, act_idx = np.unique(action, return_inverse=True)
        self.action_names = [schema.ACTIONS[a] for a in uact.tolist()]
        evkey = act_idx * 2 + (ret < 0)
        uev, ev_idx = np.unique(evkey, return_inverse=True)
        self.events = [schema._event_frag(self.action_names[k // 2], schema.CAT_FILE,
                                          schema.TYPE_ACCESS, "failure" if k % 2 else "success")
                       for k in uev.tolist()]
        flags = rec["flags"].astype(np.int64)
        uflags, flags_idx = np.unique(flags, return_inverse=True)
        self.flag_texts = [schema._flags_text(f) for f in uflags.tolist()]
        uret, err_idx = np.unique(ret, return_inverse=True)
        self.errors = [schema._error_text(en, r) if r < 0 else "" for r in uret.tolist()]
        t["enrich"] = time.perf_counter() - t1
        self.cols = {
            "sec": sec_idx.astype(np.int64), "frac": self.frac, "ktime": rec["h_ktime_ns"]
            .astype(np.int64), "tid": rec["h_tid"].astype(np.int64), "ev": ev_idx.astype(
                np.int64), "actor": actor_idx.astype(np.int64), "file": file_idx,
            "act": act_idx.astype(np.int64), "ret": ret, "flags": flags_idx.astype(np.int64),
            "creat": flags & os.O_CREAT, "mode": rec["mode"].astype(np.int64),
            "trunc": rec["h_flags"].astype(np.int64) & schema.EF_PATH_TRUNCATED,
            "err": err_idx.astype(np.int64)}
        self.n = len(offs)
        self.times = t


# ---- serialisers over Columns --------------------------------------------------------------

def fstring(c: Columns, id_prefix: str) -> list[str]:
    """Per event, a Python f-string over the columns' values and the fragment tables."""
    sec, act, fl, ev, ac, fi, er = (c.seconds, c.action_names, c.flag_texts, c.events, c.actors,
                                   c.files, c.errors)
    k = c.cols
    out = []
    for s, fr, kt, tid, e, a, f, ai, ret, fx, cr, mode, tr, ei in zip(
            *(k[n].tolist() for n in ("sec", "frac", "ktime", "tid", "ev", "actor", "file", "act",
                                      "ret", "flags", "creat", "mode", "trunc", "err")),
            strict=True):
        more = f',"mode":{mode}' if cr else ""
        if ret >= 0:
            more += f',"fd":{ret}'
        if tr:
            more += ',"truncated":true'
        out.append(f'{{"@timestamp":"{sec[s]}{fr:09d}Z","event":{{"id":"{id_prefix}-{kt:x}-'
                   f'{tid:x}",{ev[e]}}},{ac[a]},{fi[f]},"ebpf":{{"syscall":"{act[ai]}",'
                   f'"ret":{ret},"flags":{fl[fx]}{more}}}{er[ei] if ret < 0 else ""}}}')
    return out


def polars_concat(c: Columns, id_prefix: str) -> list[str]:
    """polars' concat_str over the columns; tables gathered by index (hex from Python: polars
    has no integer-to-hex expression)."""
    import polars as pl

    k = c.cols
    df = pl.DataFrame({n: k[n] for n in k} | {
        "khex": [f"{x:x}" for x in k["ktime"].tolist()],
        "thex": [f"{x:x}" for x in k["tid"].tolist()]})

    def tab(name: str, table: list[str]) -> pl.Expr:
        return pl.lit(pl.Series(table, dtype=pl.String)).gather(pl.col(name))

    ret = pl.col("ret")
    expr = pl.concat_str([
        pl.lit('{"@timestamp":"'), tab("sec", c.seconds),
        pl.col("frac").cast(pl.String).str.zfill(9), pl.lit(f'Z","event":{{"id":"{id_prefix}-'),
        pl.col("khex"), pl.lit("-"), pl.col("thex"), pl.lit('",'), tab("ev", c.events),
        pl.lit("},"), tab("actor", c.actors), pl.lit(","), tab("file", c.files),
        pl.lit(',"ebpf":{"syscall":"'), tab("act", c.action_names), pl.lit('","ret":'),
        ret.cast(pl.String), pl.lit(',"flags":'), tab("flags", c.flag_texts),
        pl.when(pl.col("creat") != 0).then(pl.concat_str([pl.lit(',"mode":'),
                                                           pl.col("mode").cast(pl.String)]))
        .otherwise(pl.lit("")),
        pl.when(ret >= 0).then(pl.concat_str([pl.lit(',"fd":'), ret.cast(pl.String)]))
        .otherwise(pl.lit("")),
        pl.when(pl.col("trunc") != 0).then(pl.lit(',"truncated":true')).otherwise(pl.lit("")),
        pl.lit("}"),
        pl.when(ret < 0).then(tab("err", c.errors)).otherwise(pl.lit("")),
        pl.lit("}")])
    return df.select(expr.alias("doc")).to_series().to_list()


def compiled(fastdoc: Any) -> Callable[[Columns, str], list[str]]:
    """The C template renderer: the program below is the open document, op by op."""
    lits: list[bytes] = []
    tables = ["sec", "ev", "actor", "file", "act", "flags", "err"]
    cols = ["sec", "frac", "ktime", "tid", "ev", "actor", "file", "act", "ret", "flags",
            "creat", "mode", "trunc", "err"]
    LIT, FRAG, DEC, HEX, PAD9, SKIP_NEG, SKIP_NONNEG, SKIP_ZERO = range(8)
    prog: list[tuple[int, int, int]] = []

    def lit(s: str) -> None:
        lits.append(s.encode())
        prog.append((LIT, len(lits) - 1, 0))

    def frag(name: str) -> None:
        prog.append((FRAG, tables.index(name), cols.index(name)))

    def num(op: int, name: str) -> None:
        prog.append((op, cols.index(name), 0))

    def skip(op: int, name: str, n: int) -> None:
        prog.append((op, cols.index(name), n))

    lit('{"@timestamp":"')
    frag("sec")
    num(PAD9, "frac")
    id_lit = len(lits)
    lit("")  # `Z","event":{"id":"<id prefix>-`, set per call
    num(HEX, "ktime")
    lit("-")
    num(HEX, "tid")
    lit('",')
    frag("ev")
    lit("},")
    frag("actor")
    lit(",")
    frag("file")
    lit(',"ebpf":{"syscall":"')
    frag("act")
    lit('","ret":')
    num(DEC, "ret")
    lit(',"flags":')
    frag("flags")
    skip(SKIP_ZERO, "creat", 2)
    lit(',"mode":')
    num(DEC, "mode")
    skip(SKIP_NEG, "ret", 2)
    lit(',"fd":')
    num(DEC, "ret")
    skip(SKIP_ZERO, "trunc", 1)
    lit(',"truncated":true')
    lit("}")
    skip(SKIP_NONNEG, "ret", 1)
    frag("err")
    lit("}")
    program = np.array(prog, dtype=np.int32).tobytes()

    def render(c: Columns, id_prefix: str) -> list[str]:
        lits[id_lit] = f'Z","event":{{"id":"{id_prefix}-'.encode()
        tabs = [[s.encode() for s in t] for t in (c.seconds, c.events, c.actors, c.files,
                                                   c.action_names, c.flag_texts, c.errors)]
        return fastdoc.render(program, lits, tabs, [c.cols[n] for n in cols], c.n)  # type: ignore[no-any-return]

    return render


# ---- design c: ring bytes to lines in C, fragments from Python -----------------------------

class Core:
    """Open and file read/write documents as programs for benchmarks/fastdoc/core.c; every
    other record (and a relative path, a socket read...) goes to today's builder, in place."""

    LIT, DEC, HEX, TS, KEY, KEY_TAIL, KEY_NEG, FRAG, SKIP_NEG, SKIP_NONNEG, SKIP_NOBITS, \
        GUARD_BYTE = range(12)
    OPEN_EVENT, RW_EVENT, ACTOR, FILE, ACTION, FLAGS, ERROR, SECONDS = range(8)
    SIGNED = 0x100

    def __init__(self, core: Any, en: Enricher, dec: Decoder) -> None:
        self.core, self.en, self.dec = core, en, dec
        kinds = enum_values("event_kind")
        self.k_exec = kinds["EK_EXEC"]
        self.lits: list[bytes] = []
        self.id_lits: list[int] = []
        open_lay, rw_lay = layout("open_event"), layout("rw_event")
        self.programs = {kinds["EK_OPEN"]: self._open_program(open_lay),
                         kinds["EK_RW"]: self._rw_program(rw_lay)}
        self.caches: list[dict[bytes, bytes]] = [{} for _ in range(7)]
        self.times = {"spans array": 0.0, "fallback (today's builders)": 0.0}
        self.fallbacks = 0

        def maker(lay: Layout, make: Callable[[tuple[Any, ...], bytes], str]
                  ) -> Callable[[bytes, int, int], str]:
            st, tail = lay.struct, lay.tail_offset

            def made(data: bytes, off: int, length: int) -> str:
                return make(st.unpack_from(data, off), data[off + tail: off + length])

            return made

        def outcome(v: tuple[Any, ...]) -> str:
            return "failure" if v[schema.RET] < 0 else "success"

        def rw_type(v: tuple[Any, ...]) -> tuple[str, ...]:
            read = schema.ACTIONS[v[schema.ACTION]] in schema._READ_ACTIONS
            return schema.TYPE_ACCESS if read else schema.TYPE_CHANGE

        flags_i = open_lay.fields.index("flags")
        self.makers: list[Callable[..., str]] = [
            maker(open_lay, lambda v, tail: schema._event_frag(
                schema.ACTIONS[v[schema.ACTION]], schema.CAT_FILE, schema.TYPE_ACCESS,
                outcome(v))),
            maker(rw_lay, lambda v, tail: schema._event_frag(
                schema.ACTIONS[v[schema.ACTION]], schema.CAT_FILE, rw_type(v), outcome(v))),
            maker(open_lay, lambda v, tail: schema._actor(v, en).text),  # header only
            # The path's bytes are the key, whichever kind: open_event's path_len and tail
            # offset name them (rw_event's differ; its path comes from its own key op).
            lambda data, off, length: schema._file_text(en, self._path(data, off)),
            maker(open_lay, lambda v, tail: schema.ACTIONS[v[schema.ACTION]]),
            maker(open_lay, lambda v, tail: schema._flags_text(v[flags_i])),
            maker(open_lay, lambda v, tail: schema._error_text(en, v[schema.RET])),
            lambda sec: time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(sec)),
        ]
        self._path_at = {kinds["EK_OPEN"]: (open_lay.tail_offset, open_lay.struct,
                                            open_lay.fields.index("path_len")),
                         kinds["EK_RW"]: (rw_lay.tail_offset, rw_lay.struct,
                                          rw_lay.fields.index("path_len"))}

    def _path(self, data: bytes, off: int) -> str:
        tail, st, plen_i = self._path_at[data[off] | data[off + 1] << 8]
        n = st.unpack_from(data, off)[plen_i]
        return data[off + tail: off + tail + n].decode("utf-8", "backslashreplace")

    def _builder(self, lay: Layout) -> tuple[list[tuple[int, int, int, int]],
                                             Callable[..., None]]:
        """An empty program and its op writers, with field offsets from this layout's BTF."""
        f = dtype_of(lay).fields
        assert f is not None
        prog: list[tuple[int, int, int, int]] = []

        def op(code: int, a: int = 0, b: int = 0, c: int = 0) -> None:
            prog.append((code, a, b, c))

        def at(name: str) -> int:
            return int(f[name][1])

        def width(name: str) -> int:
            return int(f[name][0].itemsize)

        def emit(kind: str, *args: Any) -> None:
            """lit(text) | key(fields...) | neg(field) | frag(cache)
            | num(op, field[, signed]) | skip(op, field, n[, mask]) | raw(op, a, b, c)."""
            if kind == "lit":
                self.lits.append(args[0].encode())
                op(self.LIT, len(self.lits) - 1)
            elif kind == "key":
                for n in args:
                    op(self.KEY, at(n), width(n))
            elif kind == "neg":
                op(self.KEY_NEG, at(args[0]), width(args[0]))
            elif kind == "frag":
                op(self.FRAG, args[0])
            elif kind == "num":
                code, name = args[0], args[1]
                op(code, at(name), width(name) | (self.SIGNED if len(args) > 2 else 0))
            elif kind == "skip":
                code, name, n = args[0], args[1], args[2]
                if code == self.SKIP_NOBITS:
                    op(code, at(name), width(name) | n << 16, args[3])
                else:
                    op(code, at(name), width(name), n)
            elif kind == "raw":
                op(*args)

        return prog, emit

    def _head(self, emit: Callable[..., None], event_cache: int, at_ktime: int) -> None:
        """`{"@timestamp":...,"event":{...},<actor>` (schema._document's head)."""
        emit("lit", '{"@timestamp":"')
        emit("raw", self.TS, at_ktime, 8, self.SECONDS)
        self.id_lits.append(len(self.lits))
        emit("lit", "")  # 'Z","event":{"id":"<id prefix>-', set per call
        emit("num", self.HEX, "h_ktime_ns")
        emit("lit", "-")
        emit("num", self.HEX, "h_tid")
        emit("lit", '",')
        emit("key", "h_action")
        emit("neg", "h_ret")
        emit("frag", event_cache)
        emit("lit", "},")
        emit("key", "h_pid", "h_tid", "h_ppid", "h_uid", "h_gid", "h_euid", "h_start_ns",
             "h_comm")
        emit("frag", self.ACTOR)

    def _open_program(self, lay: Layout) -> bytes:
        prog, emit = self._builder(lay)
        f = dtype_of(lay).fields
        assert f is not None
        tail = lay.tail_offset
        emit("raw", self.GUARD_BYTE, tail, ord("/"))  # relative paths: today's builder
        self._head(emit, self.OPEN_EVENT, int(f["h_ktime_ns"][1]))
        emit("lit", ",")
        emit("raw", self.KEY_TAIL, tail, int(f["path_len"][1]))
        emit("frag", self.FILE)
        emit("lit", ',"ebpf":{"syscall":"')
        emit("key", "h_action")
        emit("frag", self.ACTION)
        emit("lit", '","ret":')
        emit("num", self.DEC, "h_ret", True)
        emit("lit", ',"flags":')
        emit("key", "flags")
        emit("frag", self.FLAGS)
        emit("skip", self.SKIP_NOBITS, "flags", 2, os.O_CREAT)
        emit("lit", ',"mode":')
        emit("num", self.DEC, "mode")
        emit("skip", self.SKIP_NEG, "h_ret", 2)
        emit("lit", ',"fd":')
        emit("num", self.DEC, "h_ret", True)
        emit("skip", self.SKIP_NOBITS, "h_flags", 1, schema.EF_PATH_TRUNCATED)
        emit("lit", ',"truncated":true')
        emit("lit", "}")
        emit("skip", self.SKIP_NONNEG, "h_ret", 2)
        emit("key", "h_ret")
        emit("frag", self.ERROR)
        emit("lit", "}")
        return np.array(prog, dtype=np.int32).tobytes()

    def _rw_program(self, lay: Layout) -> bytes:
        """A file read/write whose record carries an absolute path (schema._rw_builder's
        file branch); sockets, untracked fds and relative paths go to today's builder."""
        prog, emit = self._builder(lay)
        f = dtype_of(lay).fields
        assert f is not None
        tail, target = lay.tail_offset, int(f["target"][1])
        emit("raw", self.GUARD_BYTE, target, schema.FT_FILE & 0xFF)
        emit("raw", self.GUARD_BYTE, target + 1, schema.FT_FILE >> 8)
        emit("raw", self.GUARD_BYTE, tail, ord("/"))
        self._head(emit, self.RW_EVENT, int(f["h_ktime_ns"][1]))
        emit("lit", ',"ebpf":{"syscall":"')
        emit("key", "h_action")
        emit("frag", self.ACTION)
        emit("lit", '","ret":')
        emit("num", self.DEC, "h_ret", True)
        emit("lit", ',"fd":')
        emit("num", self.DEC, "fd", True)
        emit("skip", self.SKIP_NOBITS, "count", 2, -1)
        emit("lit", ',"bytes_requested":')
        emit("num", self.DEC, "count")
        emit("skip", self.SKIP_NEG, "h_ret", 2)
        emit("lit", ',"bytes":')
        emit("num", self.DEC, "h_ret", True)
        emit("lit", "},")
        emit("raw", self.KEY_TAIL, tail, int(f["path_len"][1]))
        emit("frag", self.FILE)
        emit("skip", self.SKIP_NONNEG, "h_ret", 2)
        emit("key", "h_ret")
        emit("frag", self.ERROR)
        emit("lit", "}")
        return np.array(prog, dtype=np.int32).tobytes()

    def run(self, batch: Batch) -> bytes:
        data, table, en, actors = batch.data, self.dec._table, self.en, self.caches[self.ACTOR]

        times = self.times

        def fallback(off: int, length: int) -> str | None:
            t0 = time.perf_counter()
            kind = data[off] | data[off + 1] << 8
            st, tail_off, build = table[kind]
            doc = build(st.unpack_from(data, off), data[off + tail_off: off + length], en)
            if kind == self.k_exec:
                actors.clear()  # the process's executable (and exec_gen) changed
            self.fallbacks += 1
            times["fallback (today's builders)"] += time.perf_counter() - t0
            return doc

        for i in self.id_lits:
            self.lits[i] = f'Z","event":{{"id":"{en.id_prefix}-'.encode()
        t0 = time.perf_counter()
        spans = np.array(batch.spans, dtype=np.int64)
        times["spans array"] += time.perf_counter() - t0
        return self.core.render(data, spans, self.programs, self.lits, self.caches,  # type: ignore[no-any-return]
                                self.makers, fallback, en.offset_ns)


# ---- one batch through a design ------------------------------------------------------------

class Design:
    """Splits a batch into segments at exec records; absolute-path opens go columnar, the rest
    through today's builders in order."""

    def __init__(self, en: Enricher, dec: Decoder,
                 serialise: Callable[[Columns, str], list[str]]) -> None:
        self.en = en
        self.dec = dec
        self.serialise = serialise
        kinds = enum_values("event_kind")
        self.k_open, self.k_exec = kinds["EK_OPEN"], kinds["EK_EXEC"]
        self.lay = layout("open_event")
        self.dt = dtype_of(self.lay)
        hdr = dtype_of(layout("event_header"))
        # What names the actor (schema._actor's key, minus exec_gen, which segments fix).
        self.key_slices = []
        for name in ("pid", "tid", "ppid", "uid", "gid", "euid", "start_ns", "comm"):
            ftype, off = hdr.fields[name][:2]  # type: ignore[index]
            self.key_slices.append((off, off + ftype.itemsize))
        self.times = {"decode": 0.0, "enrich": 0.0, "serialise": 0.0, "other_kinds": 0.0,
                      "split": 0.0}

    def run(self, batch: Batch) -> list[str]:
        t0 = time.perf_counter()
        data, en, table = batch.data, self.en, self.dec._table
        buf = np.frombuffer(data, np.uint8)
        spans = np.array(batch.spans, dtype=np.int64).reshape(-1, 2)
        offs = spans[:, 0]
        kinds = buf[offs].astype(np.int64) | buf[offs + 1].astype(np.int64) << 8
        columnar = (kinds == self.k_open) & (buf[offs + self.lay.tail_offset] == ord("/")) & (
            spans[:, 1] > self.lay.tail_offset)
        bounds = np.flatnonzero(kinds == self.k_exec).tolist()
        out: list[str | None] = [None] * len(spans)
        self.times["split"] += time.perf_counter() - t0
        start = 0
        for end in [*bounds, len(spans)]:
            seg = np.arange(start, end)
            cidx = seg[columnar[start:end]]
            if len(cidx):
                cols = Columns(en, data, buf, offs[cidx], self.lay, self.dt, self.key_slices)
                self.times["decode"] += cols.times["decode"]
                self.times["enrich"] += cols.times["enrich"]
                t1 = time.perf_counter()
                docs = self.serialise(cols, en.id_prefix)
                for i, d in zip(cidx.tolist(), docs, strict=True):
                    out[i] = d
                self.times["serialise"] += time.perf_counter() - t1
            t1 = time.perf_counter()
            rest = seg[~columnar[start:end]].tolist()
            if end < len(spans):
                rest.append(end)  # the exec itself, after its segment
            for i in rest:
                off, length = batch.spans[i]
                st, tail_off, build = table[data[off] | data[off + 1] << 8]
                out[i] = build(st.unpack_from(data, off), data[off + tail_off: off + length], en)
            self.times["other_kinds"] += time.perf_counter() - t1
            start = end + 1
        return [d for d in out if d is not None]


def split(batch: Batch, chunk: int) -> list[Batch]:
    """The batch as the pipeline would read it: ~`chunk` bytes of ring at a time."""
    out: list[Batch] = []
    cur: list[tuple[int, int]] = []
    size = 0
    for off, length in batch.spans:
        step = (length + 8 + 7) & ~7  # with the ring's record header, 8-byte aligned
        if cur and size + step > chunk:
            out.append(Batch(batch.data, cur))
            cur, size = [], 0
        cur.append((off, length))
        size += step
    if cur:
        out.append(Batch(batch.data, cur))
    return out


def heap_kept() -> None:
    """As cli.py does: keep freed batch buffers in the heap (findings, heap kept)."""
    libc = ctypes.CDLL(None)
    libc.mallopt(-3, 32 * 1024 * 1024)  # M_MMAP_THRESHOLD
    libc.mallopt(-1, 16 * 1024 * 1024)  # M_TRIM_THRESHOLD


def baseline_parts(chunks: list[Batch], dec: Decoder) -> dict[str, float]:
    """Today's path split: unpack only (decode), unpack + build (enrich + format), encode."""
    table = dec._table
    t0 = time.perf_counter()
    for batch in chunks:
        data = batch.data
        for off, length in batch.spans:
            st, tail_off, _ = table[data[off] | data[off + 1] << 8]
            st.unpack_from(data, off)
            data[off + tail_off: off + length]
    t1 = time.perf_counter()
    docs = [dec.decode(batch) for batch in chunks]
    t2 = time.perf_counter()
    for d in docs:
        _encode(d)
    t3 = time.perf_counter()
    return {"decode": t1 - t0, "build": (t2 - t1) - (t1 - t0), "encode": t3 - t2}


def ndjson_reference(c: Columns) -> float:
    """polars write_ndjson of the open records' columns (flat; not our documents)."""
    import polars as pl

    df = pl.DataFrame({n: c.cols[n] for n in c.cols})
    t0 = time.perf_counter()
    df.write_ndjson(io.BytesIO())
    return time.perf_counter() - t0


def record_varied(path: Path) -> None:
    """A batch unlike hotpath.py's (one file opened 20,000 times): thousands of paths, reads
    and writes, several processes at once."""
    import tempfile

    from ebpf_monitor.loader import BpfMonitor
    from ebpf_monitor.ringbuf import RingReader

    cfg = Config()
    mon = BpfMonitor(capture=cfg.capture, filters=cfg.filters, self_pid=os.getpid())
    try:
        reader = RingReader(mon.ring_fd, mon.ring_size)
        reader.read()
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(["tar", "cf", f"{tmp}/i.tar", "-C", "/usr/include", "."], check=True)
            subprocess.run(["tar", "xf", f"{tmp}/i.tar", "-C", tmp], check=True)
            subprocess.run(f"find {tmp} -type f -name '*.h' | head -3000 | xargs cat | sort"
                           " > /dev/null", shell=True, check=True)
            batch = reader.read()
        reader.close()
    finally:
        mon.close()
    path.write_bytes(pickle.dumps((batch.data, batch.spans)))
    print(f"recorded {len(batch.spans)} records, {len(batch.data)} bytes", file=sys.stderr)


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "--record-varied":
        record_varied(Path(sys.argv[2]))
        return 0
    p = argparse.ArgumentParser()
    p.add_argument("file", type=Path)
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--shuffle", type=int, metavar="SEED",
                   help="shuffle the records first (no two neighbours alike)")
    p.add_argument("--chunk", type=int, default=READ_CHUNK,
                   help="bytes of ring per batch, as the pipeline reads (default %(default)s)")
    args = p.parse_args()
    data, spans = pickle.loads(args.file.read_bytes())
    if args.shuffle is not None:
        # Worst case for neighbour locality (the C core's last-key memo, numpy's runs): the
        # same records in a random order; exec segments and caches behave as before.
        random.Random(args.shuffle).shuffle(spans)
    batch = Batch(data, spans)
    n = len(spans)
    chunks = split(batch, args.chunk)
    heap_kept()
    en = Enricher()
    dec = Decoder(en, ignored_prefixes=tuple(Config().filters.ignore_path_prefixes))
    fastdoc = build_ext("render.c", "_fastdoc")
    core = Core(build_ext("core.c", "_fastcore"), en, dec)
    designs: dict[str, Callable[[], bytes]] = {
        "a today": lambda: b"".join([_encode(dec.decode(c)) for c in chunks])}
    parts: dict[str, Design] = {}
    serialisers = [("b columnar+f-string", fstring), ("b columnar+polars", polars_concat),
                   ("c columnar+C render", compiled(fastdoc))]
    if importlib.util.find_spec("polars") is None:
        print("polars not installed: its design is left out", file=sys.stderr)
        del serialisers[1]
    for name, ser in serialisers:
        d = parts[name] = Design(en, dec, ser)
        designs[name] = (  # type: ignore[misc]
            lambda d=d: b"".join([_encode(d.run(c)) for c in chunks]))
    designs["c ring->lines in C"] = lambda: b"".join([core.run(c) for c in chunks])
    designs["a today"]()  # warms today's caches, which the designs share: after one pass a
    want = designs["a today"]()  # process is named alike whatever the order of its records
    for name, fn in designs.items():
        got = fn()
        if got != want:
            a, b = want.split(b"\n"), got.split(b"\n")
            bad = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y),
                       min(len(a), len(b)) - 1)
            print(f"{name}: NOT byte-identical (line {bad}):\n{a[bad][:400]!r}\n"
                  f"{b[bad][:400]!r}")
            return 1
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)  # as cli.py does
    for d in parts.values():
        d.times = dict.fromkeys(d.times, 0.0)
    core.times = dict.fromkeys(core.times, 0.0)
    core.fallbacks = 0
    core_total = 0.0
    per: dict[str, list[float]] = {k: [] for k in designs}
    ratios: dict[str, list[float]] = {k: [] for k in designs}
    base_parts: list[dict[str, float]] = []
    names = list(designs)
    for r in range(args.rounds):
        order = names if r % 2 == 0 else names[::-1]
        took = {}
        for name in order:
            t0 = time.perf_counter()
            got = designs[name]()
            took[name] = time.perf_counter() - t0
            if name == "c ring->lines in C":
                core_total += took[name]
            if got != want:
                print(f"{name}: output changed in round {r}")
                return 1
        for name in names:
            per[name].append(1e6 * took[name] / n)
            ratios[name].append(took["a today"] / took[name])
        base_parts.append(baseline_parts(chunks, dec))
    print(f"records={n} in {len(chunks)} batches of <= {args.chunk} bytes, rounds={args.rounds}"
          " (every design byte-identical to today's, every round)")
    print(f"{'design':24} {'µs/event':>9} {'events/s':>9} {'x faster':>9}  (spread of µs/event)")
    for name in names:
        us = statistics.median(per[name])
        print(f"{name:24} {us:9.2f} {1e6 / us:9.0f} {statistics.median(ratios[name]):9.2f}  "
              f"({min(per[name]):.2f}-{max(per[name]):.2f})")
    print("\nwhere the time goes, µs/event (median round for today; mean over rounds otherwise)")
    bp = {k: statistics.median(p[k] for p in base_parts) * 1e6 / n for k in base_parts[0]}
    print("a today: " + ", ".join(f"{k} {v:.2f}" for k, v in bp.items()))
    for name, d in parts.items():
        print(f"{name}: " + ", ".join(f"{k} {v * 1e6 / n / args.rounds:.2f}"
                                      for k, v in d.times.items()))
    py = sum(core.times.values())
    print("c ring->lines in C: " + ", ".join(f"{k} {v * 1e6 / n / args.rounds:.2f}"
                                             for k, v in core.times.items())
          + f", C with cache misses made in Python {(core_total - py) * 1e6 / n / args.rounds:.2f}"
          f" ({core.fallbacks // args.rounds} records of {n} fell back per round)")
    opens = Columns(en, data, np.frombuffer(data, np.uint8), np.array(
        [o for o, _ in spans if data[o] == parts["c columnar+C render"].k_open]),
        layout("open_event"), parts["c columnar+C render"].dt,
        parts["c columnar+C render"].key_slices)
    if importlib.util.find_spec("polars") is None:
        return 0
    ref = statistics.median(ndjson_reference(opens) for _ in range(5))
    print(f"\nreference: polars write_ndjson of {opens.n} open records' 14 flat int columns: "
          f"{1e6 * ref / opens.n:.2f} µs/event")
    return 0


if __name__ == "__main__":
    sys.exit(main())
