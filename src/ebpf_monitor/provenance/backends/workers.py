"""The default index route's chunks through the rules, in this process or in worker processes.

A chunk's cost is reading it, decoding it (typed.decode_chunk), the Extractor's rules, and
DuckDB's appends; on one core that is about 9 µs an event. Only the rules depend on what came
before: the `listening` ports and the `pending` read/write counts (extract.Extractor) carry
from one chunk to the next; a chunk's process facts (`procs`, with their `creds`) start afresh
with each chunk, as they always did, and calls on another process (`targets`) are rows that
DuckDB matches to their target at the end of the run (local.py `_resolve_targets`), not state.
So N worker processes take chunks in turn (chunk k goes to worker k mod N): each decodes its
chunk while the previous chunk is still in the rules elsewhere, waits for the carried state
from the worker before it, runs the rules, hands the state on, and sends its chunk's rows
to the parent, which stores them in chunk order. The rules run in the same order on the same
state as in one process, so the index is the same (tests/unit/test_provenance_sqlindex.py
runs both against the Extractor route). A rule that carries new state across chunks must be
carried in `_work` too.

With one worker the rules and the decode run in the worker and DuckDB in the parent; with
none (small runs, one CPU) everything runs here.
"""

from __future__ import annotations

import contextlib
import fcntl
import multiprocessing as mp
import queue
import signal
import sys
import threading
import traceback
from collections.abc import Iterator
from multiprocessing.connection import Connection
from typing import Any, NamedTuple

import orjson

from ..extract import Extractor, Flow, Pending
from ..typed import TypedExtractor, decode_chunk

__all__ = ["ChunkRows", "results", "summarize"]

State = tuple[set[tuple[str, int]], Pending]
"""What the rules carry from one chunk to the next: (listening, pending)."""

_PIPE_BYTES = 1 << 20  # a chunk crosses the pipe in 1 MiB writes, not the default 64 KiB


class ChunkRows(NamedTuple):
    """One chunk's results as rows for the index's tables (local.py stores them)."""

    flows: list[Flow]
    procs: list[list[Any]]  # the procs table's columns without `parent`
    execs: list[list[Any]]
    forks: list[list[Any]]
    targets: list[list[Any]]  # calls on another process, matched to a target at the run's end
    creds: list[list[Any]]  # credential changes of this chunk's processes
    pending: list[list[Any]]  # the whole carried `pending` after this chunk
    listening: list[tuple[str, int]]  # ports first seen listening in this chunk
    documents: int
    skipped: int
    whole: bool  # decoded in one call (typed.py), not line by line


def summarize(ex: Extractor, new_listening: set[tuple[str, int]], whole: bool) -> ChunkRows:
    """An Extractor's state after one chunk, as table rows."""
    procs = ex.procs.values()
    return ChunkRows(
        flows=ex.flows,
        procs=[[p.entity, p.host, p.pid, p.ppid, p.start_ns, p.first_ns, p.name, p.executable,
                p.user, p.end_ns, p.exit_code] for p in procs],
        execs=[[p.entity, e["time_ns"], e["executable"], orjson.dumps(e["args"]).decode(),
                e["user"]] for p in procs for e in p.execs],
        forks=[[*f, None] for f in ex.forks],
        targets=[list(t) for t in ex.targets],
        creds=[[p.entity, c["time_ns"], c["action"], c["outcome"], c["before"], c["after"]]
               for p in procs for c in p.creds],
        pending=[[e, *k, *v] for e, mine in ex.pending.items() for k, v in mine.items()],
        listening=sorted(new_listening), documents=ex.documents, skipped=ex.skipped,
        whole=whole)


def _rules(data: bytes, docs: Any, state: State) -> ChunkRows:
    listening, pending = state
    before = set(listening)
    ex = TypedExtractor(listening=listening, pending=pending)
    ex.feed_decoded(data, docs)
    return summarize(ex, listening - before, ex.whole)


def _local(chunks: Iterator[tuple[Any, bytes | None]],
           state: State) -> Iterator[tuple[Any, ChunkRows | None]]:
    for tag, data in chunks:
        yield tag, (None if data is None else _rules(data, decode_chunk(data), state))


def _work(feed: Connection, prev: Connection | None, nxt: Connection | None, out: Connection,
          state: State | None, others: list[Connection]) -> None:
    """A worker: chunks from `feed` until it closes; the carried state from `prev` (or kept
    here when there is one worker), handed to `nxt` as soon as the rules are done."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us
    for conn in others:
        conn.close()
    try:
        while True:
            try:
                data = feed.recv_bytes()
            except EOFError:
                return
            docs = decode_chunk(data)
            if state is None:
                assert prev is not None
                state = prev.recv()
            listening, pending = state
            before = set(listening)
            ex = TypedExtractor(listening=listening, pending=pending)
            ex.feed_decoded(data, docs)
            if nxt is not None:
                # After the last chunk the next worker may have ended already: nobody needs
                # the state then (a worker that died early shows in the parent).
                with contextlib.suppress(BrokenPipeError):
                    nxt.send(state)
                state = None
            out.send(summarize(ex, listening - before, ex.whole))
            del data, docs, ex  # not held while the next chunk arrives and decodes
    except BaseException:  # a bug: the parent raises it
        with contextlib.suppress(OSError):
            out.send(("error", traceback.format_exc()))


class _Ring:
    """N workers in a ring (state goes from worker i to i+1 mod N) and a feeder thread here
    that reads the files and hands out the chunks."""

    def __init__(self, n: int, state: State) -> None:
        # fork: no re-import per worker, and they never touch DuckDB (whose threads make a
        # fork a warning from Python 3.12 on, where the fork server takes over).
        fork = sys.version_info < (3, 12)
        ctx = mp.get_context("fork") if fork else mp.get_context("forkserver")
        for stream in (sys.stdout, sys.stderr):  # else a child flushes our buffered text too
            stream.flush()
        feeds = [ctx.Pipe(duplex=False) for _ in range(n)]  # (worker's end, ours)
        outs = [ctx.Pipe(duplex=False) for _ in range(n)]  # (ours, worker's end)
        links = [ctx.Pipe(duplex=False) for _ in range(n)] if n > 1 else []
        every = [c for pair in (*feeds, *outs, *links) for c in pair]
        for _, writer in (*feeds, *links):
            with contextlib.suppress(OSError):
                fcntl.fcntl(writer.fileno(), fcntl.F_SETPIPE_SZ, _PIPE_BYTES)
        self.procs: list[Any] = []
        for i in range(n):
            mine = [feeds[i][0], outs[i][1]]
            prev = nxt = None
            if links:
                prev, nxt = links[i][0], links[(i + 1) % n][1]
                mine += [prev, nxt]
            # A forked worker holds copies of every pipe end: it closes the others', or a
            # pipe would never see its end (EOF) while another worker lives.
            others = [c for c in every if all(c is not m for m in mine)] if fork else []
            p = ctx.Process(target=_work, args=(feeds[i][0], prev, nxt, outs[i][1],
                                                state if i == 0 else None, others),
                            name=f"ebpf-monitor-index-{i}", daemon=True)
            p.start()
            self.procs.append(p)
        for c in every:
            if all(c is not ours for ours in (*(w for _, w in feeds), *(r for r, _ in outs))):
                c.close()
        self.feeds = [w for _, w in feeds]
        self.outs = [r for r, _ in outs]
        self.error: BaseException | None = None
        self.feeder: threading.Thread | None = None
        self.done = False

    def _feed(self, chunks: Iterator[tuple[Any, bytes | None]],
              order: queue.Queue[tuple[Any, int | None] | None]) -> None:
        k = 0
        try:
            for tag, data in chunks:
                if data is None:
                    order.put((tag, None))
                    continue
                worker = k % len(self.feeds)
                k += 1
                order.put((tag, worker))
                self.feeds[worker].send_bytes(data)
        except BaseException as exc:  # a file that cannot be read: raised in the parent
            self.error = exc
        finally:
            order.put(None)
            for feed in self.feeds:
                feed.close()

    def run(self, chunks: Iterator[tuple[Any, bytes | None]]
            ) -> Iterator[tuple[Any, ChunkRows | None]]:
        order: queue.Queue[tuple[Any, int | None] | None] = queue.Queue()
        self.feeder = threading.Thread(target=self._feed, args=(chunks, order),
                                       name="index-feeder", daemon=True)
        self.feeder.start()
        while (item := order.get()) is not None:
            tag, worker = item
            if worker is None:
                yield tag, None
                continue
            try:
                rows = self.outs[worker].recv()
            except EOFError:
                rows = None
            if not isinstance(rows, ChunkRows):
                detail = rows[1] if isinstance(rows, tuple) else "exited"
                raise RuntimeError(f"index worker {worker}: {detail}")
            yield tag, rows
        self.feeder.join()
        if self.error is not None:
            raise self.error
        self.done = True

    def close(self) -> None:
        """Wait for the workers after a complete run; stop them after a failed one (the
        feeder's writes to them then fail, which ends it)."""
        for conn in self.outs:
            conn.close()
        if self.feeder is None:  # never started: the feeds are still ours to close
            for conn in self.feeds:
                conn.close()
        for p in self.procs:
            if not self.done:
                p.terminate()
            p.join()
        if self.feeder is not None:
            self.feeder.join()


@contextlib.contextmanager
def results(chunks: Iterator[tuple[Any, bytes | None]], state: State,
            workers: int) -> Iterator[Iterator[tuple[Any, ChunkRows | None]]]:
    """(tag, rows) for each (tag, chunk) of `chunks`, in order; a None chunk (a marker the
    caller needs in sequence) comes back as None rows. `state` is carried and updated in this
    process only when workers == 0."""
    if workers <= 0:
        yield _local(chunks, state)
        return
    ring = _Ring(workers, state)
    try:
        yield ring.run(chunks)
    finally:
        ring.close()
