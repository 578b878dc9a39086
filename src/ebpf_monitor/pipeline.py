"""The run loop: read the ring, decode, hand batches to the sinks; signals, stats, shutdown.

Single-threaded on purpose: one reader keeps ring order, and signal handlers only set flags that
the loop acts on between batches (so a SIGHUP rotation never splits a batch).

A ring that producers keep full is never empty, so reading "until empty" would never come back
to the loop: each pump is bounded by PUMP_SLICE seconds, after which the loop serves a stop,
a reopen, drop reports and stats, then reads on. Stop is bounded too: the hooks are paused, the
ring drained for at most `capture.stop_drain_seconds`, and what is still in it then is counted
and recorded as a `loss` record (source "shutdown") instead of holding up the stop.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Protocol

from .config import CaptureConfig
from .decode import Decoder, kind_names, kind_reader
from .document import Document
from .enrich import Enricher
from .loader import BpfMonitor
from .ownfiles import OwnFiles
from .ringbuf import RingReader
from .schema import loss_document
from .sinks.base import Sink, stats_items

__all__ = ["DropCounters", "DropTally", "Pipeline"]

log = logging.getLogger(__name__)

READ_CHUNK = 256 * 1024  # bytes per ring read (~1.3k events): bounds the batch held in memory
PUMP_SLICE = 0.25  # seconds of reading before the loop looks at signals, drops and stats
DROP_CHECK_INTERVAL = 1.0
CLOCK_RESYNC_INTERVAL = 60.0


class DropCounters(Protocol):
    """Cumulative kernel drop counters by kind (BpfMonitor reads them from the BPF maps)."""

    def drops(self) -> dict[str, int]: ...

    def drops_with_room(self) -> dict[str, int]: ...


class DropTally:
    """What of the kernel's cumulative drop counters is already in a `loss` record.

    The two counters are read one after the other while the kernel keeps counting, so a
    drop "with room" can land in the total of one reading and in the with-room count only
    of the next. Each record's with-room part is therefore clamped to its count, and only
    that much is taken as reported: the rest goes to a later record, never below zero or
    above the count, and no with-room drop is lost from the sum."""

    def __init__(self) -> None:
        self.reported: dict[str, int] = {}
        self.with_room_reported = 0  # of those, failed with less than half the ring pending

    def take(self, counters: DropCounters) -> tuple[dict[str, int], int, int] | None:
        """New drops by kind, the total so far and how many of the new ones had room;
        None when nothing new was dropped."""
        # With room first: it then never runs ahead of the total read after it.
        with_room = sum(counters.drops_with_room().values())
        drops = counters.drops()
        new = {k: n - self.reported.get(k, 0) for k, n in drops.items()
               if n > self.reported.get(k, 0)}
        if not new:
            return None
        self.reported = drops
        new_with_room = min(with_room - self.with_room_reported, sum(new.values()))
        self.with_room_reported += new_with_room
        return new, sum(drops.values()), new_with_room


class Pipeline:
    def __init__(self, *, bpf: BpfMonitor, sinks: Sequence[Sink], capture: CaptureConfig,
                 enricher: Enricher, decoder: Decoder, stats_interval: float,
                 own_files: OwnFiles | None = None) -> None:
        self.bpf = bpf
        self.sinks = list(sinks)
        self.enricher = enricher
        self.decoder = decoder
        self.reader = RingReader(bpf.ring_fd, bpf.ring_size)
        self.poll_timeout = capture.poll_interval_ms / 1000
        self.stats_interval = stats_interval
        self.stop_drain = capture.stop_drain_seconds
        self.own_files = own_files
        self.events = 0
        self.left_at_stop = 0  # records still in the ring when the stop's drain gave up
        self.drop_tally = DropTally()
        self.sink_lost_reported: dict[str, int] = {}
        self._stop = False
        self._reopen = False

    # Called from signal handlers: flags only.
    def request_stop(self) -> None:
        self._stop = True

    def request_reopen(self) -> None:
        self._reopen = True

    def run(self) -> None:
        now = time.monotonic()
        next_stats = now + self.stats_interval
        next_drops = now + DROP_CHECK_INTERVAL
        next_clock = now + CLOCK_RESYNC_INTERVAL
        last_events, last_time = 0, now
        while not self._stop:
            self.reader.wait(self.poll_timeout)
            self.pump(time.monotonic() + PUMP_SLICE, until_stop=True)
            if self._reopen:
                self._reopen = False
                for sink in self.sinks:
                    sink.reopen()
            now = time.monotonic()
            if now >= next_drops:
                next_drops = now + DROP_CHECK_INTERVAL
                self.report_drops()
                self.report_sink_losses()
                if self.own_files is not None:
                    self.own_files.sweep()
            if now >= next_clock:
                next_clock = now + CLOCK_RESYNC_INTERVAL
                self.enricher.resync_clock()
            if now >= next_stats:
                next_stats = now + self.stats_interval
                rate = (self.events - last_events) / max(now - last_time, 1e-9)
                last_events, last_time = self.events, now
                self.log_stats(rate)
        self.shutdown()

    def pump(self, deadline: float, *, until_stop: bool = False) -> int:
        """Move what is committed in the ring to the sinks until it is empty or `deadline`
        (monotonic) has passed, or (`until_stop`) a stop is asked for; returns records moved.

        The run loop's pump ends at a stop request: reading on would spend time the stop's
        drain (`capture.stop_drain_seconds`, after the hooks are paused) is meant to bound."""
        moved = 0
        while time.monotonic() < deadline and not (until_stop and self._stop):
            batch = self.reader.read(READ_CHUNK)
            if not batch.spans:
                return moved
            docs = self.decoder.decode(batch)
            self.deliver(docs)
            moved += len(batch)
        return moved

    def deliver(self, docs: list[Document]) -> None:
        if not docs:
            return
        self.events += len(docs)
        for sink in self.sinks:
            sink.write(docs)
            sink.flush()

    def report_drops(self) -> None:
        """Turn new kernel drop counts into a `loss` record, in order with the events."""
        taken = self.drop_tally.take(self.bpf)
        if taken is None:
            return
        new, total, new_with_room = taken
        count = sum(new.values())
        if new_with_room:
            log.warning("ring buffer: %d events lost (%d in all), %d of them with room in the"
                        " ring: the kernel refused them with the ring not full (a bigger ring"
                        " does not help)", count, total, new_with_room)
        if count > new_with_room:
            log.warning("ring buffer full: %d events lost (%d in all): the reader fell behind;"
                        " raise capture.ring_buffer_bytes or filter more",
                        count - new_with_room, total)
        self.deliver([loss_document(self.enricher, time.monotonic_ns(), new,
                                    source="ring_buffer", total=total,
                                    with_room=new_with_room)])

    def report_left_over(self, drained_for: float) -> None:
        """Count, by kind, the records the stop's drain had no time for, and release them:
        a `loss` record and an error line say how many."""
        names = kind_names()
        read_kind = kind_reader().unpack_from
        left: dict[str, int] = {}
        while True:
            batch = self.reader.read(READ_CHUNK)
            if not batch.spans:
                break
            data = batch.data
            for off, _length in batch.spans:
                name = names.get(read_kind(data, off)[0], "unknown")
                left[name] = left.get(name, 0) + 1
        total = sum(left.values())
        if not total:
            return
        self.left_at_stop = total
        log.error("stopping: %d events still in the ring buffer after %.1f s of draining were"
                  " not written (capture.stop_drain_seconds)", total, drained_for)
        self.deliver([loss_document(self.enricher, time.monotonic_ns(), left,
                                    source="shutdown", total=total)])

    def report_sink_losses(self, *, final: bool = False) -> None:
        """Once a sink writes again after failing (disk full), record what it could not write:
        a `loss` record, to every sink, in order with the events. A sink counts only failing
        spells that ended (and were logged); at shutdown an open one counts too."""
        for sink in self.sinks:
            failed = sink.losses_to_record(final=final)
            new = failed - self.sink_lost_reported.get(sink.name, 0)
            if new <= 0:
                continue
            self.sink_lost_reported[sink.name] = failed
            self.deliver([loss_document(self.enricher, time.monotonic_ns(), {"all": new},
                                        source=sink.name, total=failed)])

    def log_stats(self, rate: float) -> None:
        parts = [f"events={self.events}", f"rate={rate:.0f}/s",
                 f"drops={sum(self.drop_tally.reported.values())}",
                 f"drops_with_room={self.drop_tally.with_room_reported}",
                 f"backlog={self.reader.pending()}B",
                 f"filtered={self.decoder.filtered}", f"decode_errors={self.decoder.errors}"]
        if self.decoder.fast is not None:  # documents made by the compiled core (fastpath.py)
            parts.append(f"compiled={self.decoder.fast.made}")
        for sink in self.sinks:
            parts.extend(f"{sink.name}.{k}={v}" for k, v in stats_items(sink.stats()))
        log.info("stats: %s", " ".join(parts))

    def shutdown(self) -> None:
        """Pause the hooks, drain what they already wrote (within `stop_drain`), account for
        what is left, report drops, close the sinks; the slow detach comes after, when nothing
        is left to lose."""
        self.bpf.pause()
        started = time.monotonic()
        self.pump(started + self.stop_drain)
        self.report_left_over(time.monotonic() - started)
        self.report_drops()
        self.report_sink_losses(final=True)
        self.log_stats(0.0)
        for sink in self.sinks:
            try:
                sink.close()
            except Exception as exc:
                log.error("closing %s: %s", sink.name, exc)
        self.reader.close()

