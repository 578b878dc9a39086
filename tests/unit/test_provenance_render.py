"""Provenance outputs: DOT, GraphML, PROV-JSON and the HTML page, each checked by a real reader."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path

import networkx as nx
import pytest
from prov.model import ProvDocument
from prov.serializers.provjson import ProvJSONSerializer

from ebpf_monitor.errors import MonitorError
from ebpf_monitor.provenance.model import Edge, Node, Slice
from ebpf_monitor.provenance.render import FORMATS, render
from ebpf_monitor.provenance.render import html as html_mod
from ebpf_monitor.provenance.render.graphml import NAMESPACE as GRAPHML_NS
from tests.chromium import open_page

T0 = 1_764_466_500_123_456_789  # wall-clock ns
# A file name an attacker chose: quote, backslash, newline, markup, a control character.
ODD = 'file:/tmp/pay"load\\x\n<img src=x onerror=alert(1)>\x01.'
SERVER, DROPPER, SCRIPT, SHELL = ("endpoint:127.0.0.1:4444", "process:h-1700000000-100",
                                  "file:/tmp/run.sh", "process:h-1700000005-200")
SECRET, EXFIL, LISTEN = "file:/home/alice/secret", "endpoint:127.0.0.1:5555", "listen:8080"


def attack_slice() -> Slice:
    """The issue's attack story, built by hand: payload received, written, renamed, run, sent."""
    nodes = {
        SERVER: Node(SERVER, "endpoint", "127.0.0.1:4444",
                     {"ip": "127.0.0.1", "port": 4444, "transport": "tcp"}),
        DROPPER: Node(DROPPER, "process", "python3",
                      {"pid": 100, "ppid": 1, "executable": "/usr/bin/python3",
                       "args": ["python3", "drop.py"], "user": "alice", "start": T0,
                       "end": T0 + 4_000_000, "exit_code": 0, "host": "h"},
                      [{"time_ns": T0 + 1000, "action": "connect", "detail": "127.0.0.1:4444"},
                       {"time_ns": T0 + 2000, "action": "write", "detail": ODD[5:]}]),
        ODD: Node(ODD, "file", ODD.rsplit("/", 1)[1], {"path": ODD[5:], "aliases": []}),
        SCRIPT: Node(SCRIPT, "file", "run.sh", {"path": "/tmp/run.sh", "aliases": [ODD[5:]]}),
        SHELL: Node(SHELL, "process", "sh",
                    {"pid": 200, "ppid": 100, "executable": "/bin/sh",
                     "args": ["sh", "/tmp/run.sh"], "user": "alice", "start": T0 + 5_000_000,
                     "end": None, "exit_code": None, "host": "h"},
                    [{"time_ns": T0 + 6_000_000, "action": "read",
                      "detail": "/home/alice/secret"}]),
        SECRET: Node(SECRET, "file", "secret", {"path": "/home/alice/secret", "aliases": []}),
        EXFIL: Node(EXFIL, "endpoint", "127.0.0.1:5555",
                    {"ip": "127.0.0.1", "port": 5555, "transport": "tcp"}),
        LISTEN: Node(LISTEN, "endpoint", ":8080", {"port": 8080, "transport": "tcp"}),
    }
    edges = [
        Edge(SERVER, DROPPER, "recv", T0 + 1500, T0 + 1900, 3, 12_345),
        Edge(DROPPER, ODD, "write", T0 + 2000, T0 + 2000, 1, 12_345),
        Edge(ODD, SCRIPT, "rename", T0 + 3000, T0 + 3000, 1, 0),
        Edge(DROPPER, SHELL, "fork", T0 + 5_000_000, T0 + 5_000_000, 1, 0),
        Edge(SCRIPT, SHELL, "exec", T0 + 5_000_100, T0 + 5_000_100, 1, 0),
        Edge(SECRET, SHELL, "read", T0 + 6_000_000, T0 + 6_000_500, 2, 300),
        Edge(SHELL, EXFIL, "send", T0 + 7_000_000, T0 + 7_000_000, 1, 300),
        Edge(SHELL, SCRIPT, "unlink", T0 + 8_000_000, T0 + 8_000_000, 1, 0),
        Edge(LISTEN, SHELL, "accept", T0 + 9_000_000, T0 + 9_000_000, 1, 0),
    ]
    return Slice(f"lineage {EXFIL}", [EXFIL], nodes, edges, events_read=1234,
                 hidden={"shared libraries": 17, "/proc": 4}, skipped=2)


def empty_slice() -> Slice:
    return Slice("impact endpoint:10.0.0.1:1", ["endpoint:10.0.0.1:1"], {}, [])


class TestFormats:
    """The format registry the CLI's --format chooses from."""

    def test_every_format_is_registered(self) -> None:
        """All six output formats are known by their --format names."""
        assert set(FORMATS) == {"text", "json", "dot", "graphml", "prov", "html"}

    def test_unknown_format_names_the_known_ones(self) -> None:
        """An unknown format is one ValueError naming the formats there are."""
        with pytest.raises(ValueError, match=r"unknown output format 'svg' \(known: text, json"):
            render(attack_slice(), "svg")


def _dot_svg(text: str) -> ET.Element:
    dot = shutil.which("dot")
    assert dot, "graphviz not installed: make deps installs it"
    out = subprocess.run([dot, "-Tsvg"], input=text, capture_output=True, text=True, check=False)
    assert out.returncode == 0 and not out.stderr, out.stderr
    return ET.fromstring(out.stdout)


SVG = "{http://www.w3.org/2000/svg}"


class TestDot:
    """Graphviz DOT output, laid out by the real `dot`."""

    def test_graphviz_draws_every_node_and_edge(self) -> None:
        """dot -Tsvg accepts the output and draws each node (id kept) and each flow once."""
        s = attack_slice()
        svg = _dot_svg(render(s, "dot"))
        groups = list(svg.iter(f"{SVG}g"))
        nodes = {g.get("id") for g in groups if g.get("class") == "node"}
        # DOT has no way to keep a newline in an id: it comes back as the two characters \n.
        assert nodes == {i.replace("\n", "\\n").replace("\x01", "\\x01") for i in s.nodes}
        assert sum(g.get("class") == "edge" for g in groups) == len(s.edges)

    def test_colour_and_shape_by_kind(self) -> None:
        """Processes, files and endpoints get their own fill colour; the query's root is doubled."""
        svg = _dot_svg(render(attack_slice(), "dot"))
        fills: dict[str, set[str]] = {}
        for g in svg.iter(f"{SVG}g"):
            if g.get("class") == "node":
                shapes = [c for c in g.iter() if c.tag in (f"{SVG}polygon", f"{SVG}path")]
                fills[str(g.get("id"))] = {str(c.get("fill")) for c in shapes} - {"none"}
        assert fills[DROPPER] == fills[SHELL] == {"#4e79a7"}
        assert fills[SCRIPT] == fills[SECRET] == {"#f28e2b"}
        assert fills[SERVER] == {"#59a14f"}
        root = next(g for g in svg.iter(f"{SVG}g") if g.get("id") == EXFIL)
        assert len([c for c in root.iter() if c.tag == f"{SVG}polygon"]) == 2  # peripheries=2

    def test_labels_keep_odd_names_as_text(self) -> None:
        """Quotes, backslashes and markup in a file name reach the drawing as plain text."""
        svg = _dot_svg(render(attack_slice(), "dot"))
        texts = " ".join(t.text or "" for t in svg.iter(f"{SVG}text"))
        assert 'pay"load\\x' in texts
        assert "recv x3, 12.1 KiB" in texts

    def test_empty_slice(self) -> None:
        """An empty answer is still a graph Graphviz accepts."""
        svg = _dot_svg(render(empty_slice(), "dot"))
        assert not [g for g in svg.iter(f"{SVG}g") if g.get("class") == "node"]


G = f"{{{GRAPHML_NS}}}"


class TestGraphml:
    """GraphML output: declared, typed keys, read back by networkx."""

    def test_every_data_uses_a_declared_key_of_its_element(self) -> None:
        """Each <data> names a <key> declared for its element, and typed values parse as such."""
        root = ET.fromstring(render(attack_slice(), "graphml"))
        assert root.tag == f"{G}graphml"
        keys = {k.get("id"): k for k in root.findall(f"{G}key")}
        graph = root.find(f"{G}graph")
        assert graph is not None and graph.get("edgedefault") == "directed"
        seen = 0
        for element, domain in [(graph, "graph"), *((n, "node") for n in graph.findall(f"{G}node")),
                                *((e, "edge") for e in graph.findall(f"{G}edge"))]:
            for d in element.findall(f"{G}data"):
                key = keys[d.get("key")]
                assert key.get("for") == domain
                typ, text = key.get("attr.type"), d.text or ""
                if typ == "long":
                    int(text)
                elif typ == "boolean":
                    assert text in ("true", "false")
                seen += 1
        assert seen > 50
        types = {k.get("attr.name") + "@" + k.get("for", ""): k.get("attr.type")
                 for k in keys.values()}
        assert types["pid@node"] == types["bytes@edge"] == types["first_ns@edge"] == "long"
        assert types["root@node"] == "boolean"
        assert types["exit_code@node"] == "long"  # None on a live process is left out, not "null"

    def test_networkx_reads_the_same_graph(self) -> None:
        """networkx's GraphML reader gets every node, flow and typed attribute back."""
        s = attack_slice()
        g = nx.read_graphml(io.BytesIO(render(s, "graphml").encode()))
        assert isinstance(g, nx.DiGraph)
        # XML 1.0 cannot hold \x01: it is the one character written as visible text.
        assert set(g.nodes) == {i.replace("\x01", "\\x01") for i in s.nodes}
        assert g.number_of_edges() == len(s.edges)
        assert g.nodes[SHELL]["pid"] == 200 and g.nodes[SHELL]["user"] == "alice"
        assert g.nodes[EXFIL]["root"] is True
        assert json.loads(g.nodes[SHELL]["events"])[0]["action"] == "read"
        edge = g.edges[SECRET, SHELL]
        assert (edge["action"], edge["count"], edge["bytes"]) == ("read", 2, 300)
        assert edge["first_ns"] == T0 + 6_000_000
        assert g.graph["query"] == f"lineage {EXFIL}" and g.graph["events_read"] == 1234

    def test_empty_slice(self) -> None:
        """An empty answer is a valid, empty GraphML graph."""
        g = nx.read_graphml(io.BytesIO(render(empty_slice(), "graphml").encode()))
        assert g.number_of_nodes() == 0


class TestProvJson:
    """W3C PROV-JSON output, by the spec's structure and through the `prov` library."""

    def doc(self) -> dict[str, dict[str, dict[str, object]]]:
        return json.loads(render(attack_slice(), "prov"))

    def test_elements_by_prov_type(self) -> None:
        """Processes are activities, files and endpoints entities, users agents."""
        doc = self.doc()
        assert set(doc["activity"]) == {"proc:h-1700000000-100", "proc:h-1700000005-200"}
        assert "file:/tmp/run.sh" in doc["entity"] and "net:127.0.0.1%3A5555" in doc["entity"]
        assert "net:listen%3A8080" in doc["entity"]
        assert set(doc["agent"]) == {"user:alice"}
        shell = doc["activity"]["proc:h-1700000005-200"]
        assert shell["prov:startTime"] == "2025-11-30T01:35:00.128456789Z"
        assert "prov:endTime" not in shell  # still running
        assert shell["ebpf:pid"] == 200

    def test_relations_follow_the_flow(self) -> None:
        """Reads are used, writes wasGeneratedBy, fork wasInformedBy, unlink wasInvalidatedBy."""
        doc = self.doc()

        def pairs(kind: str, a: str, b: str) -> set[tuple[object, object, object]]:
            return {(r[a], r[b], r["ebpf:action"]) for r in doc[kind].values()}

        assert ("proc:h-1700000005-200", "file:/home/alice/secret", "read") in pairs(
            "used", "prov:activity", "prov:entity")
        assert ("proc:h-1700000000-100", "net:127.0.0.1%3A4444", "recv") in pairs(
            "used", "prov:activity", "prov:entity")
        assert ("net:127.0.0.1%3A5555", "proc:h-1700000005-200", "send") in pairs(
            "wasGeneratedBy", "prov:entity", "prov:activity")
        assert pairs("wasInformedBy", "prov:informed", "prov:informant") == {
            ("proc:h-1700000005-200", "proc:h-1700000000-100", "fork")}
        assert pairs("wasInvalidatedBy", "prov:entity", "prov:activity") == {
            ("file:/tmp/run.sh", "proc:h-1700000005-200", "unlink")}
        (derived,) = doc["wasDerivedFrom"].values()
        assert derived["prov:generatedEntity"] == "file:/tmp/run.sh"
        assert len(doc["wasAssociatedWith"]) == 2

    def test_every_reference_is_declared(self) -> None:
        """Relations name only declared elements, every prefix is declared, times are dates."""
        doc = self.doc()
        declared = {q for kind in ("entity", "activity", "agent") for q in doc[kind]}
        prefixes = set(doc["prefix"])
        refs = ("prov:activity", "prov:entity", "prov:agent", "prov:informed", "prov:informant",
                "prov:generatedEntity", "prov:usedEntity")
        for kind, records in doc.items():
            if kind in ("prefix", "entity", "activity", "agent"):
                continue
            for rid, rec in records.items():
                assert rid.startswith("_:")
                for ref in refs:
                    if ref in rec:
                        assert rec[ref] in declared
                if "prov:time" in rec:
                    datetime.fromisoformat(str(rec["prov:time"]))
        for q in declared:
            assert q.split(":", 1)[0] in prefixes
            assert re.fullmatch(r"[A-Za-z0-9._~/%-]*[^.]", q.split(":", 1)[1]), q

    def test_prov_library_reads_it(self) -> None:
        """The `prov` library loads the document with every record and writes PROV-N from it."""
        text = render(attack_slice(), "prov")
        doc = ProvJSONSerializer(ProvDocument()).deserialize(io.StringIO(text))
        records = doc.get_records()
        assert len(records) == 8 + 1 + 9 + 2  # elements, agent, relations, associations
        provn = doc.get_provn()
        assert "wasInformedBy(proc:h-1700000005-200, proc:h-1700000000-100" in provn
        assert "used(proc:h-1700000005-200, file:/home/alice/secret" in provn

    def test_empty_slice(self) -> None:
        """An empty answer is a PROV document with its prefixes only."""
        doc = json.loads(render(empty_slice(), "prov"))
        assert set(doc) == {"prefix"}


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("html") / "attack.html"
    path.write_text(render(attack_slice(), "html"), encoding="utf-8")
    return path


class TestHtmlPage:
    """The self-contained page, opened in a real headless Chromium."""

    def test_draws_every_node_coloured_by_kind(self, page: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
        """Every node of the slice is drawn inside the viewport, filled with its kind's colour."""
        view = open_page(page, "provenance-attack")
        with capsys.disabled():
            print(f"\n  screenshot: {view.screenshot}")
        drawn = {n["id"]: n for n in view.drawn["nodes"]}
        assert set(drawn) == set(attack_slice().nodes)
        colours = {"process": "rgb(78,121,167)", "file": "rgb(242,142,43)",
                   "endpoint": "rgb(89,161,79)"}
        vp = view.drawn["viewport"]
        for n in drawn.values():
            assert n["colour"] == colours[n["kind"]]
            assert 0 <= n["x"] <= vp["w"] and 0 <= n["y"] <= vp["h"], n
        assert len({(n["x"], n["y"]) for n in drawn.values()}) == len(drawn)  # laid out
        assert view.drawn["edges"] == list(range(9))

    def test_markup_in_names_stays_text(self, page: Path) -> None:
        """A file name holding an <img onerror> tag is shown as text, never parsed as markup."""
        view = open_page(page, "provenance-odd-name", fragment="select=" + ODD.replace(
            "\n", "%0A").replace("#", "%23"))
        assert "<img" not in view.dom
        assert "&lt;img src=x onerror=alert(1)&gt;" in view.dom
        assert view.drawn["selected"] == [ODD]

    def test_selecting_a_node_shows_its_events(self, page: Path) -> None:
        """Selecting a process lists its attributes, flows in and out, and its events."""
        view = open_page(page, "provenance-selected", fragment=f"select={SHELL}")
        assert view.drawn["selected"] == [SHELL]
        details = view.dom.split('<aside id="details">', 1)[1].split("</aside>", 1)[0]
        assert "<h2>sh</h2>" in details
        assert "/home/alice/secret" in details and "read x2, 300 B" in details
        assert '<table id="events"><tr><td>2025-11-30T01:35:00.129456789Z</td><td>read</td>' in (
            details)
        assert "2025-11-30T01:35:00.128456789Z" in details  # start shown as a time, not ns

    def test_time_slider_shows_flows_up_to_a_time(self, page: Path) -> None:
        """At the third step only the first three flows and the nodes they touch are shown."""
        view = open_page(page, "provenance-time-3", fragment="time=3")
        assert view.drawn["edges"] == [0, 1, 2]
        assert {n["id"] for n in view.drawn["nodes"]} == {SERVER, DROPPER, ODD, SCRIPT, EXFIL}
        assert view.drawn["time"] == "2025-11-30T01:35:00.123459789Z"

    def test_page_is_self_contained(self, page: Path) -> None:
        """The page inlines the library and forbids every request, so it opens offline."""
        text = page.read_text(encoding="utf-8")
        assert "default-src 'none'" in text
        assert not re.search(r"<(script|link|img)[^>]+(src|href)=", text)
        assert "Cytoscape Consortium" in text  # the library's licence header travels with it

    def test_empty_slice_still_renders(self, tmp_path: Path) -> None:
        """An answer with no nodes opens as an empty drawing, not a script error."""
        path = tmp_path / "empty.html"
        path.write_text(render(empty_slice(), "html"), encoding="utf-8")
        view = open_page(path, "provenance-empty")
        assert view.drawn["nodes"] == [] and view.drawn["edges"] == []

    def test_missing_library_is_one_clear_error(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Without the bundled cytoscape.js the renderer says what is missing and how to get it."""
        monkeypatch.setattr(html_mod, "LIBRARY", ("_vendor", "absent.js"))
        with pytest.raises(MonitorError, match=r"bundled cytoscape.js missing .*make js") as exc:
            render(attack_slice(), "html")
        assert "\n" not in str(exc.value)
