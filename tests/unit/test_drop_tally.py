"""Loss records of the ring buffer: their with-room part while the kernel keeps counting."""

from __future__ import annotations

from collections.abc import Callable

import orjson
import pytest

from ebpf_monitor.enrich import Enricher
from ebpf_monitor.pipeline import DropTally
from ebpf_monitor.schema import loss_document


class StandInCounters:
    """Stands in for BpfMonitor's drop counter reader (the BPF maps cannot be made to count
    between two reads on demand): cumulative counters by kind, and a hook that runs between
    the read of the with-room counter and the read of the total, as the kernel may."""

    def __init__(self) -> None:
        self.total: dict[str, int] = {}
        self.with_room: dict[str, int] = {}
        self.between: Callable[[], None] | None = None

    def drop(self, kind: str, *, room: bool) -> None:
        self.total[kind] = self.total.get(kind, 0) + 1
        if room:
            self.with_room[kind] = self.with_room.get(kind, 0) + 1

    def drops_with_room(self) -> dict[str, int]:
        found = dict(self.with_room)
        if self.between is not None:
            self.between()
            self.between = None
        return found

    def drops(self) -> dict[str, int]:
        return dict(self.total)


def _documents(counters: StandInCounters, tally: DropTally) -> list[dict[str, int]]:
    taken = tally.take(counters)
    if taken is None:
        return []
    new, total, with_room = taken
    doc = loss_document(Enricher(host_name="t"), 1, new, source="ring_buffer", total=total,
                        with_room=with_room)
    return [orjson.loads(doc.json)["ebpf"]["lost"]]


class TestDropTally:
    """Each loss record's with-room part stays within its count; none is lost overall."""

    def test_with_room_drops_between_the_reads(self) -> None:
        """Two with-room drops counted in one record's total but only in the next reading's
        with-room counter: that next record (one drop) says at most one with room, the third
        the other, and no record has a negative without-room part."""
        counters = StandInCounters()
        tally = DropTally()

        def two_with_room() -> None:
            counters.drop("open", room=True)
            counters.drop("open", room=True)

        counters.between = two_with_room
        docs = _documents(counters, tally)
        counters.drop("rw", room=False)
        docs += _documents(counters, tally)
        assert _documents(counters, tally) == []  # nothing new: no record
        counters.drop("rw", room=False)
        docs += _documents(counters, tally)
        assert [(d["count"], d["with_room"], d["without_room"]) for d in docs] == [
            (2, 0, 2), (1, 1, 0), (1, 1, 0)]
        assert sum(d["with_room"] for d in docs) == sum(counters.with_room.values())
        assert sum(d["count"] for d in docs) == docs[-1]["total"] == 4

    def test_counters_at_rest(self) -> None:
        """With nothing counting between the reads, each record takes its own drops."""
        counters = StandInCounters()
        tally = DropTally()
        counters.drop("open", room=True)
        counters.drop("open", room=False)
        counters.drop("exec", room=False)
        assert _documents(counters, tally) == [
            {"source": "ring_buffer", "count": 3, "by_kind": {"open": 2, "exec": 1},
             "total": 3, "with_room": 1, "without_room": 2}]
        assert tally.with_room_reported == 1


class TestLossDocument:
    """A loss record refuses a with-room part outside 0..count."""

    @pytest.mark.parametrize("with_room", [-1, 2])
    def test_out_of_range(self, with_room: int) -> None:
        """More drops with room than drops, or fewer than none, is a bug, not a record."""
        with pytest.raises(AssertionError):
            loss_document(Enricher(host_name="t"), 1, {"rw": 1}, source="ring_buffer",
                          total=1, with_room=with_room)
