"""The monitor's figures as Prometheus serves them (config `metrics.listen`)."""

from __future__ import annotations

import re
import urllib.request

from .monitor import Monitor

__all__ = ["Samples", "metric", "scrape_metrics"]

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape_metrics(mon: Monitor) -> Samples:
    """The monitor's Prometheus figures (config `metrics.listen`, e.g. "127.0.0.1:0"), by
    (sample name, sorted labels)."""
    from prometheus_client.parser import text_string_to_metric_families

    m = re.search(r"metrics at (http://\S+)", mon.stderr())
    assert m, "the monitor logs its metrics URL when metrics.listen is set"
    with urllib.request.urlopen(m[1], timeout=10) as resp:
        text = resp.read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def metric(samples: Samples, name: str, **labels: str) -> float:
    """The sum of `name` over the samples whose labels include `labels`."""
    want = set(labels.items())
    return sum(v for (n, lab), v in samples.items() if n == name and want <= set(lab))
