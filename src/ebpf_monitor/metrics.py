"""The Prometheus endpoint (`metrics.listen`): the pipeline's counters, read at scrape time.

Nothing on the hot path: a collector reads the counters the pipeline, the decoder, the BPF drop
map and the sinks keep anyway, when a scrape comes, from the server's own thread. Names are
stable (docs/service.md lists them); tests and benchmarks read figures from here rather than
matching log lines.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from .errors import ConfigError

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

    from .pipeline import Pipeline

__all__ = ["MetricsServer"]

log = logging.getLogger(__name__)

PREFIX = "ebpf_monitor"


class _PipelineCollector(Collector):
    def __init__(self, pipeline: Pipeline) -> None:
        self.p = pipeline
        main = threading.main_thread().ident
        self._reader_clock = time.pthread_getcpuclockid(main) if main is not None else None

    def collect(self) -> Iterator[Metric]:
        p = self.p
        events = CounterMetricFamily(f"{PREFIX}_events", "Documents written, by record kind",
                                     labels=["kind"])
        dec = p.decoder
        for kind, n in enumerate(list(dec.by_kind)):
            if kind in dec.names:
                events.add_metric([dec.names[kind]], n)
        yield events
        drops = CounterMetricFamily(f"{PREFIX}_kernel_drops",
                                    "Records lost to a full ring buffer, by CPU and kind",
                                    labels=["cpu", "kind"])
        try:
            for (cpu, kind_name), n in sorted(p.bpf.drops_by_cpu().items()):
                drops.add_metric([str(cpu), kind_name], n)
        except Exception as exc:  # the map is gone at shutdown
            log.debug("metrics: drops: %s", exc)
        yield drops
        room = CounterMetricFamily(f"{PREFIX}_kernel_drops_with_room",
                                   "Of those, records lost while less than half the ring was"
                                   " pending (not a full ring), by CPU and kind",
                                   labels=["cpu", "kind"])
        try:
            for (cpu, kind_name), n in sorted(p.bpf.drops_by_cpu(with_room=True).items()):
                room.add_metric([str(cpu), kind_name], n)
        except Exception as exc:  # the map is gone at shutdown
            log.debug("metrics: drops with room: %s", exc)
        yield room
        # Also counts the ids record each exec sends: folded into the exec's document.
        yield CounterMetricFamily(f"{PREFIX}_filtered",
                                  "Records dropped in user space by a filter, or folded into "
                                  "the next record's document", value=dec.filtered)
        yield CounterMetricFamily(f"{PREFIX}_decode_errors", "Records that could not be decoded",
                                  value=dec.errors)
        yield CounterMetricFamily(f"{PREFIX}_lost_at_stop",
                                  "Records left in the ring when the stop's drain gave up",
                                  value=p.left_at_stop)
        written = CounterMetricFamily(f"{PREFIX}_sink_written",
                                      "Documents a sink has written (indexed, for Elasticsearch)",
                                      labels=["sink"])
        failed = CounterMetricFamily(f"{PREFIX}_sink_failed",
                                     "Documents a sink could not write (disk full, spool bound)",
                                     labels=["sink"])
        pending = GaugeMetricFamily(f"{PREFIX}_sink_pending",
                                    "Documents accepted by a sink and not yet written",
                                    labels=["sink"])
        spool = GaugeMetricFamily(f"{PREFIX}_spool_bytes",
                                  "Bytes waiting in a sink's disk spool", labels=["sink"])
        for sink in p.sinks:
            stats = sink.stats()
            written.add_metric([sink.name], stats.written)
            failed.add_metric([sink.name], stats.failed)
            pending.add_metric([sink.name], stats.pending)
            if stats.spooled_bytes is not None:
                spool.add_metric([sink.name], stats.spooled_bytes)
        yield from (written, failed, pending, spool)
        try:
            backlog = p.reader.pending()
        except ValueError:  # the ring is unmapped at shutdown
            backlog = 0
        yield GaugeMetricFamily(f"{PREFIX}_ring_backlog_bytes",
                                "Bytes in the ring buffer not read yet", value=backlog)
        yield GaugeMetricFamily(f"{PREFIX}_ring_size_bytes", "Size of the ring buffer",
                                value=p.reader.size)
        if self._reader_clock is not None:
            try:
                seconds = time.clock_gettime(self._reader_clock)
            except OSError:
                seconds = 0.0
            yield CounterMetricFamily(f"{PREFIX}_reader_cpu_seconds",
                                      "CPU time of the reader thread (ring, decode, sinks)",
                                      value=seconds)


class MetricsServer:
    """Serves /metrics on (address, port) until closed."""

    def __init__(self, pipeline: Pipeline, address: tuple[str, int]) -> None:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(_PipelineCollector(pipeline))
        host, port = address
        try:
            server, thread = start_http_server(port, addr=host, registry=registry)
        except OSError as exc:
            raise ConfigError(f"metrics.listen: cannot listen on {host}:{port}:"
                              f" {exc.strerror}") from None
        self._server: WSGIServer = server
        self._thread = thread
        self.port = int(server.server_address[1])
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{self.port}/metrics"
        log.info("metrics at %s", self.url)
        if not ipaddress.ip_address(host).is_loopback:
            log.warning("metrics.listen %s is not a loopback address: whoever reaches it can"
                        " read the host's activity figures", host)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
