"""The fleet store: the same questions asked of Elasticsearch, where a fleet's events live.

Each walk step fetches the documents that name the frontier's nodes (one terms query per
node kind, paged with a point in time and search_after, no cap), runs them through the same
`Extractor` the local index uses, and keeps the flows that touch the frontier. Process
parents are resolved by the same rules: the fork record naming the child (`pick_fork`), else
`pick_parent` over the ppid candidates' first documents.
Round trips are what a query costs on a big index, so lookups for a whole frontier go
together: one composite aggregation for all its processes' rows, and the per-process
searches (fork records, ppid candidates, children) as one `_msearch` of the same bodies.
All query bodies live in this module.
"""

from __future__ import annotations

import contextlib
import logging
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from elasticsearch import ApiError, Elasticsearch, TransportError

from ...config import ElasticsearchConfig
from ...errors import ProvenanceError
from ...sinks.elasticsearch.client import make_client, quiet_transport_loggers
from ..extract import (
    EXECS,
    FORKS,
    READS,
    RELEVANT,
    SYMLINKS,
    TARGETS,
    Extractor,
    Fork,
    parse_time_ns,
    target_flow,
)
from ..graphdata import FORK_SKEW_NS, FORK_WINDOW_NS, make_node, pick_fork, pick_parent
from ..model import Edge, Node
from ..source import ProcessRow

__all__ = ["FleetSource"]

log = logging.getLogger(__name__)

PAGE = 10_000  # the most one search returns under the default index.max_result_window
BUCKETS = 1000  # composite aggregation buckets per page
BATCH = 200  # searches per _msearch request
#: The fields extract.Extractor reads: the rest of each document (event ids, group, file
#: name/directory, error, ...) is not sent (about half of a document's bytes).
SOURCE = ["@timestamp", "event.action", "event.outcome", "event.category", "host.name",
          "process.pid", "process.name", "process.start", "process.entity_id",
          "process.parent.pid", "process.executable", "process.args", "process.exit_code",
          "user.id", "user.name", "user.effective", "file.path", "file.target_path",
          "ebpf.bytes", "ebpf.fd", "ebpf.flags", "ebpf.child_pid", "ebpf.thread",
          "ebpf.pid_ns", "ebpf.io", "ebpf.io_uring", "ebpf.socket", "ebpf.from", "ebpf.to",
          "ebpf.exec", "ebpf.memfd", "ebpf.cred", "ebpf.cap", "ebpf.secure_exec", "ebpf.ptrace",
          "ebpf.process_vm", "process.user", "process.real_user", "process.saved_user",
          "process.group", "process.real_group", "process.saved_group", "Target.process.pid",
          "source.port", "destination.ip", "destination.port"]
KEEP_ALIVE = "2m"
_ALIASES = frozenset(("rename", "link", "symlink"))  # edges that join two names of a file
_SORT = [{"@timestamp": {"order": "asc", "format": "strict_date_optional_time_nanos"}},
         {"_shard_doc": "asc"}]


def _terms(field: str, values: list[Any]) -> dict[str, Any]:
    return {"terms": {field: values}}


_BY_ENTITY = [{"e": {"terms": {"field": "process.entity_id"}}}]
#: Per process entity: its first document, and its last exit record.
_FIRST_AND_EXIT = {
    "first": {"top_hits": {"size": 1, "sort": [{"@timestamp": "asc"}],
                           "_source": ["@timestamp", "host", "process", "user"]}},
    "exit": {"filter": {"term": {"event.action": "exit"}}, "aggs": {
        "doc": {"top_hits": {"size": 1, "sort": [{"@timestamp": "desc"}],
                             "_source": ["@timestamp", "process.exit_code"]}}}}}


def _fork_query(row: ProcessRow) -> dict[str, Any]:
    """Fork records that may name this process as the child (graphdata.pick_fork decides)."""
    return {"bool": {"filter": [
        {"term": {"host.name": row.host}}, {"term": {"ebpf.child_pid": row.pid}},
        {"range": {"@timestamp": {
            "gte": (row.start_ns - FORK_SKEW_NS) // 1_000_000,
            "lte": (row.start_ns + FORK_WINDOW_NS) // 1_000_000 + 1,
            "format": "epoch_millis"}}}]}}


def _parent_query(row: ProcessRow) -> dict[str, Any]:
    """Processes that had this process's ppid on its host and started before it."""
    return {"bool": {"filter": [
        {"term": {"host.name": row.host}}, {"term": {"process.pid": row.ppid}},
        {"range": {"process.start": {"lte": row.start_ns // 1_000_000 + 1,
                                     "format": "epoch_millis"}}}]}}


def _children_query(row: ProcessRow) -> dict[str, Any]:
    """Processes that report this process's pid as their ppid, started after it."""
    return {"bool": {"filter": [
        {"term": {"host.name": row.host}}, {"term": {"process.parent.pid": row.pid}},
        {"range": {"process.start": {"gte": row.start_ns // 1_000_000,
                                     "format": "epoch_millis"}}}]}}


def _forked_query(fork: Fork) -> dict[str, Any]:
    """Processes a fork record may have made (its host and child pid, around its time)."""
    _, host, pid, ts = fork
    return {"bool": {"filter": [
        {"term": {"host.name": host}}, {"term": {"process.pid": pid}},
        {"range": {"process.start": {
            "gte": (ts - FORK_WINDOW_NS) // 1_000_000,
            "lte": (ts + FORK_SKEW_NS) // 1_000_000 + 1,
            "format": "epoch_millis"}}}]}}


def _file_queries(paths: list[str]) -> list[dict[str, Any]]:
    """The documents that can make a flow touching these file nodes (extract.py): a path in
    `file.path` (memfds as /proc names them), a rename's or link's target, an exec's file, a
    move's end, an AF_UNIX address; a socket by inode; a memfd by name; and every symlink
    with a relative target (its resolved target is computed, not stored)."""
    sockets = [int(p[8:-1]) for p in paths
               if p.startswith("socket:[") and p.endswith("]") and p[8:-1].isdigit()]
    memfds = [p[6:] for p in paths if p.startswith("memfd:")]
    named = paths + [f"/memfd:{m} (deleted)" for m in memfds]
    out = [_terms("file.path", named), _terms("file.target_path", paths),
           {"bool": {"filter": [_terms("process.executable", paths),
                                _terms("event.action", sorted(EXECS))]}},
           _terms("ebpf.exec.file_path", paths), _terms("ebpf.from.path", named),
           _terms("ebpf.to.path", named), _terms("ebpf.socket.path", paths),
           {"bool": {"filter": [_terms("event.action", sorted(SYMLINKS))],
                     "must_not": [{"prefix": {"file.target_path": "/"}}]}}]
    if sockets:
        out += [_terms("ebpf.socket.inode", sockets), _terms("ebpf.socket.peer_inode", sockets)]
    if memfds:
        out.append(_terms("ebpf.memfd.name", memfds))
    return out


class FleetSource:
    """EdgeSource over an Elasticsearch index (pattern `<es_index>*`)."""

    def __init__(self, client: Elasticsearch, index: str) -> None:
        self.client = client
        self.index = f"{index}*"
        self.events_read = 0
        self.skipped = 0
        self._procs: dict[str, ProcessRow | None] = {}
        self._info: dict[str, dict[str, Any]] = {}
        self._execs: dict[str, list[dict[str, Any]]] = {}
        self._creds: dict[str, list[dict[str, Any]]] = {}
        self._pids: dict[tuple[str, int], list[ProcessRow]] = {}
        try:
            self.pit = self.client.open_point_in_time(index=self.index,
                                                      keep_alive=KEEP_ALIVE)["id"]
        except (ApiError, TransportError) as exc:
            raise ProvenanceError(f"elasticsearch {self.index}: {_why(exc)}") from None
        self.listening = self._listening()

    @classmethod
    def from_config(cls, es: ElasticsearchConfig) -> FleetSource:
        client = make_client(es)
        quiet_transport_loggers()
        return cls(client, es.es_index)

    def close(self) -> None:
        with contextlib.suppress(ApiError, TransportError):  # else it expires on its own
            self.client.close_point_in_time(id=self.pit)
        self.client.close()

    # ---- paging --------------------------------------------------------------------------

    def _send(self, bodies: list[dict[str, Any]]) -> list[Any]:
        """The responses to these searches on the point in time: one round trip per BATCH
        (`_msearch`; a single body goes as a plain search)."""
        out: list[Any] = []
        for at in range(0, len(bodies), BATCH):
            part = bodies[at:at + BATCH]
            try:
                if len(part) == 1:
                    resps = [self.client.search(body=part[0])]
                else:
                    resps = self.client.msearch(
                        searches=[x for body in part for x in ({}, body)])["responses"]
            except (ApiError, TransportError) as exc:
                raise ProvenanceError(f"elasticsearch {self.index}: {_why(exc)}") from None
            for resp in resps:
                if "error" in resp:  # one search of an _msearch failed
                    err = resp["error"]
                    why = err.get("reason") or err.get("type") if isinstance(err, dict) else err
                    raise ProvenanceError(f"elasticsearch {self.index}: {resp.get('status')}"
                                          f" {why}")
                self.pit = resp.get("pit_id", self.pit)
            out += resps
        return out

    def _hits_body(self, query: dict[str, Any], after: list[Any] | None) -> dict[str, Any]:
        body: dict[str, Any] = {"query": query, "size": PAGE, "sort": _SORT,
                                "pit": {"id": self.pit, "keep_alive": KEEP_ALIVE},
                                "track_total_hits": False, "_source": SOURCE}
        if after is not None:
            body["search_after"] = after
        return body

    def _search(self, query: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Every matching document in time order, page by page; no cap."""
        after: list[Any] | None = None
        while True:
            hits = self._send([self._hits_body(query, after)])[0]["hits"]["hits"]
            for hit in hits:
                self.events_read += 1
                yield hit["_source"]
            if len(hits) < PAGE:
                return
            after = hits[-1]["sort"]

    def _search_many(self, queries: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
        """`_search` of each query, their pages fetched together."""
        out: list[list[dict[str, Any]]] = [[] for _ in queries]
        todo: dict[int, list[Any] | None] = dict.fromkeys(range(len(queries)))
        while todo:
            idx = list(todo)
            resps = self._send([self._hits_body(queries[i], todo[i]) for i in idx])
            todo = {}
            for i, resp in zip(idx, resps, strict=True):
                hits = resp["hits"]["hits"]
                self.events_read += len(hits)
                out[i] += [hit["_source"] for hit in hits]
                if len(hits) >= PAGE:
                    todo[i] = hits[-1]["sort"]
        return out

    def _composite_many(self, specs: list[tuple[dict[str, Any], list[dict[str, Any]]]],
                        aggs: dict[str, Any] | None = None) -> list[list[dict[str, Any]]]:
        """Every bucket of a composite aggregation per (query, sources), pages fetched
        together; a page with fewer than BUCKETS buckets is the last."""
        out: list[list[dict[str, Any]]] = [[] for _ in specs]
        todo: dict[int, dict[str, Any] | None] = dict.fromkeys(range(len(specs)))
        while todo:
            idx = list(todo)
            bodies = []
            for i in idx:
                comp: dict[str, Any] = {"size": BUCKETS, "sources": specs[i][1]}
                if todo[i] is not None:
                    comp["after"] = todo[i]
                agg: dict[str, Any] = {"composite": comp}
                if aggs:
                    agg["aggs"] = aggs
                bodies.append({"query": specs[i][0], "size": 0, "aggs": {"c": agg},
                               "pit": {"id": self.pit, "keep_alive": KEEP_ALIVE}})
            todo = {}
            for i, resp in zip(idx, self._send(bodies), strict=True):
                c = resp["aggregations"]["c"]
                out[i] += c["buckets"]
                if len(c["buckets"]) >= BUCKETS and c.get("after_key") is not None:
                    todo[i] = c["after_key"]
        return out

    def _listening(self) -> set[tuple[str, int]]:
        found: set[tuple[str, int]] = set()
        specs = []
        for field, actions in (("source.port", ["listen"]),
                               ("destination.port", ["accept", "accept4"])):
            q = {"bool": {"filter": [_terms("event.action", actions),
                                     {"term": {"event.outcome": "success"}}]}}
            specs.append((q, [{"h": {"terms": {"field": "host.name"}}},
                              {"p": {"terms": {"field": field}}}]))
        for buckets in self._composite_many(specs):
            for b in buckets:
                found.add((str(b["key"]["h"]), int(b["key"]["p"])))
        return found

    # ---- documents of nodes ----------------------------------------------------------------

    def _node_query(self, ids: list[str], since: int, until: int) -> dict[str, Any] | None:
        should: list[dict[str, Any]] = []
        entities = [i[8:] for i in ids if i.startswith("process:")]
        paths = [i[5:] for i in ids if i.startswith("file:")]
        ports = [int(i[7:]) for i in ids if i.startswith("listen:")]
        if entities:
            should.append(_terms("process.entity_id", entities))
            should += self._targeting(entities)
        if paths:
            should += _file_queries(paths)
        for i in ids:
            if i.startswith("endpoint:"):
                ip, _, port = i[9:].rpartition(":")
                should.append({"bool": {"filter": [{"term": {"destination.ip": ip}},
                                                   {"term": {"destination.port": int(port)}}]}})
        if ports:
            should += [_terms("source.port", ports),
                       {"bool": {"filter": [_terms("destination.port", ports),
                                            _terms("event.action", ["accept", "accept4"])]}}]
        if not should:
            return None
        return {"bool": {"should": should, "minimum_should_match": 1, "filter": [
            _terms("event.action", sorted(RELEVANT)),
            {"range": {"@timestamp": {"gte": since, "lte": until,
                                      "format": "epoch_millis"}}}]}}

    def _targeting(self, entities: list[str]) -> list[dict[str, Any]]:
        """Calls on these processes by others: their pid on their host in their lifetime."""
        out: list[dict[str, Any]] = []
        self._resolve(entities)
        for e in entities:
            row = self.process(e)
            if row is None:
                continue
            when: dict[str, Any] = {"gte": row.start_ns // 1_000_000, "format": "epoch_millis"}
            if row.end_ns is not None:
                when["lte"] = row.end_ns // 1_000_000 + 1
            out.append({"bool": {"filter": [
                {"term": {"host.name": row.host}}, {"term": {"Target.process.pid": row.pid}},
                _terms("event.action", sorted(TARGETS)), {"range": {"@timestamp": when}}]}})
        return out

    def _target_entity(self, host: str, pid: int, ts: int) -> str | None:
        """As the local index resolves a target pid: the process with that pid on that host
        alive at `ts`, the latest started."""
        key = (host, pid)
        if key not in self._pids:
            self._pids[key] = self._process_rows({"bool": {"filter": [
                {"term": {"host.name": host}}, {"term": {"process.pid": pid}}]}}, whole=True)
        best: ProcessRow | None = None
        for row in self._pids[key]:
            if row.start_ns <= ts and (row.end_ns is None or row.end_ns >= ts) and (
                    best is None or (row.start_ns, row.entity) > (best.start_ns, best.entity)):
                best = row
        return best.entity if best is not None else None

    def _flows(self, ids: list[str], since: int, until: int) -> Extractor:
        ex = Extractor(listening=set(self.listening))
        # ES compares dates in ms here: widen by 1 ms and cut exactly below.
        query = self._node_query(ids, since // 1_000_000, -(-until // 1_000_000))
        if query is not None:
            ex.feed_all(self._search(query))
        for t in ex.targets:
            target = self._target_entity(t[1], t[2], t[3])
            if target is not None:
                ex.flows.append(target_flow(t, target))
        self.skipped += ex.skipped
        for info in ex.procs.values():
            self._execs.setdefault(info.entity, []).extend(
                e for e in info.execs if e not in self._execs.get(info.entity, []))
            self._creds.setdefault(info.entity, []).extend(
                c for c in info.creds if c not in self._creds.get(info.entity, []))
        return ex

    def _fork_edges(self, entities: list[str], *, parents: bool) -> list[tuple[str, str, int]]:
        """(parent, child, child start) for the parents or the children of `entities`."""
        out = []
        if parents:
            self._resolve(entities)
            for e in entities:
                row = self.process(e)
                if row is not None and row.parent:
                    out.append((row.parent, e, row.start_ns))
        else:
            for kid in self.children(entities):
                out.append((str(kid.parent), kid.entity, kid.start_ns))
        return out

    def _edges(self, bounds: dict[str, int], since: int, until: int, *, into: bool) -> list[Edge]:
        if not bounds:
            return []
        ex = self._flows(list(bounds), since, until)
        flows = list(ex.flows)
        procs = [i[8:] for i in bounds if i.startswith("process:")]
        for parent, child, start in self._fork_edges(procs, parents=into):
            flows.append(("process:" + parent, "process:" + child, "fork", start, 1, 0))
        agg: dict[tuple[str, str, str], list[int]] = {}
        for src, dst, action, ts, cnt, nbytes in flows:
            node = dst if into else src
            bound = bounds.get(node)
            if bound is None or ts < since or ts > until:
                continue
            if (into and ts > bound) or (not into and ts < bound):
                continue
            cur = agg.get((src, dst, action))
            if cur is None:
                agg[src, dst, action] = [ts, ts, cnt, nbytes]
            else:
                cur[0] = min(cur[0], ts)
                cur[1] = max(cur[1], ts)
                cur[2] += cnt
                cur[3] += nbytes
        return [Edge(src=s, dst=d, action=a, first_ns=v[0], last_ns=v[1], count=v[2],
                     bytes=v[3]) for (s, d, a), v in agg.items()]

    def edges_in(self, bounds: dict[str, int], since: int, until: int) -> list[Edge]:
        return self._edges(bounds, since, until, into=True)

    def edges_out(self, bounds: dict[str, int], since: int, until: int) -> list[Edge]:
        return self._edges(bounds, since, until, into=False)

    def readers(self, file_ids: list[str], at_least: int | None = None) -> dict[str, int]:
        paths = [i[5:] for i in file_ids]
        if not paths:
            return {}
        counts: dict[str, int] = defaultdict(int)
        seen: dict[str, set[str]] = defaultdict(set)
        queries = []
        for field, actions in (("file.path", sorted(READS)), ("process.executable",
                                                               sorted(EXECS))):
            q = {"bool": {"filter": [_terms(field, paths), _terms("event.action", actions)]}}
            if field == "process.executable":
                q["bool"]["filter"].append({"term": {"event.outcome": "success"}})
            queries.append((field, q))
        if at_least is None:  # every reader, page by page
            for buckets in self._composite_many(
                    [(q, [{"f": {"terms": {"field": field}}}, *_BY_ENTITY])
                     for field, q in queries]):
                for b in buckets:
                    seen[str(b["key"]["f"])].add(str(b["key"]["e"]))
        else:
            # At most `at_least` readers per file and field: a file read by thousands of
            # processes is one bucket list, not pages of them. A truncated list has
            # `at_least` readers already, so the union's size is exact below it and at
            # least it otherwise, on any number of shards.
            bodies = [{"query": q, "size": 0, "pit": {"id": self.pit, "keep_alive": KEEP_ALIVE},
                       "aggs": {"f": {"terms": {"field": field, "size": len(paths)}, "aggs": {
                           "e": {"terms": {"field": "process.entity_id",
                                           "size": max(at_least, 1)}}}}}}
                      for field, q in queries]
            for resp in self._send(bodies):
                for fb in resp["aggregations"]["f"]["buckets"]:
                    seen[str(fb["key"])].update(str(e["key"]) for e in fb["e"]["buckets"])
        for path, ents in seen.items():
            counts["file:" + path] = len(ents)
        return dict(counts)

    # ---- processes ---------------------------------------------------------------------------

    def _process_rows(self, query: dict[str, Any], *, whole: bool = False) -> list[ProcessRow]:
        """One row per entity matching `query`, from its first document and its exit;
        `whole`: the query selects all of each entity's documents (by entity or pid), so the
        row is kept as the node's attributes."""
        return self._rows_many([query], whole=whole)[0]

    def _rows_many(self, queries: list[dict[str, Any]], *,
                   whole: bool = False) -> list[list[ProcessRow]]:
        """`_process_rows` of each query, in shared round trips."""
        out = []
        for buckets in self._composite_many([(q, _BY_ENTITY) for q in queries],
                                            _FIRST_AND_EXIT):
            out.append([self._row(b, whole) for b in buckets])
        return out

    def _row(self, b: dict[str, Any], whole: bool) -> ProcessRow:
        entity = str(b["key"]["e"])
        first = b["first"]["hits"]["hits"][0]["_source"]
        proc = first.get("process") or {}
        ts = parse_time_ns(first["@timestamp"])
        start = proc.get("start")
        exits = b["exit"]["doc"]["hits"]["hits"]
        end = parse_time_ns(exits[0]["_source"]["@timestamp"]) if exits else None
        row = ProcessRow(entity=entity, host=str((first.get("host") or {}).get("name") or ""),
                         pid=int(proc.get("pid") or 0),
                         ppid=int((proc.get("parent") or {}).get("pid") or 0),
                         start_ns=parse_time_ns(start) if isinstance(start, str) else ts,
                         end_ns=end, parent=None)
        if not whole:  # a candidate query sees only some documents (those with a ppid, ...)
            return row
        self._info[entity] = {
            "entity": entity, "host": row.host, "pid": row.pid, "ppid": row.ppid,
            "start_ns": row.start_ns, "first_ns": ts, "name": proc.get("name") or "",
            "executable": proc.get("executable") or "", "end_ns": end,
            "exit_code": (exits[0]["_source"].get("process") or {}).get("exit_code")
            if exits else None}
        return row

    def _forks_many(self, queries: list[dict[str, Any]]) -> list[list[Fork]]:
        """The fork records among the fork documents matching each query (extract.py
        decides)."""
        out = []
        for docs in self._search_many([{"bool": {"filter": [
                q, _terms("event.action", sorted(FORKS))]}} for q in queries]):
            ex = Extractor()
            ex.feed_all(docs)
            out.append(ex.forks)
        return out

    def _resolve(self, entities: list[str]) -> None:
        """Look up, with parents, each of `entities` not looked up yet: their rows in one
        composite aggregation, then their fork records, then the ppid candidates of those
        no fork record names, each as one _msearch of the per-process searches."""
        todo = [e for e in dict.fromkeys(entities) if e not in self._procs]
        if not todo:
            return
        rows = {r.entity: r for r in self._process_rows(_terms("process.entity_id", todo),
                                                         whole=True)}
        found = [rows[e] for e in todo if e in rows]
        orphans = []
        for row, forks in zip(found, self._forks_many([_fork_query(r) for r in found]),
                              strict=True):
            row.parent = pick_fork(row, forks)
            if row.parent is None:
                orphans.append(row)
        for row, cands in zip(orphans, self._rows_many([_parent_query(r) for r in orphans]),
                              strict=True):
            row.parent = pick_parent(row, cands)
        for e in todo:
            self._procs[e] = rows.get(e)

    def process(self, entity: str) -> ProcessRow | None:
        self._resolve([entity])
        return self._procs[entity]

    def processes_by_pid(self, pid: int) -> list[ProcessRow]:
        rows = self._process_rows({"term": {"process.pid": pid}}, whole=True)
        return sorted(rows, key=lambda r: (r.start_ns, r.entity))

    def children(self, entities: list[str]) -> list[ProcessRow]:
        self._resolve(entities)
        mes = [(e, me) for e in entities if (me := self._procs.get(e)) is not None]
        # Candidates: processes reporting the pid as ppid (else reparented later), and the
        # children each one's fork records name, though they report another ppid (orphans).
        cands = [[kid for kid in rows if kid.ppid == me.pid] for (_, me), rows in zip(
            mes, self._rows_many([_children_query(me) for _, me in mes]), strict=True)]
        forked = [(i, fork) for i, forks in enumerate(self._forks_many(
            [_terms("process.entity_id", [e]) for e, _ in mes])) for fork in forks]
        for (i, _), rows in zip(forked, self._rows_many([_forked_query(f) for _, f in forked]),
                                strict=True):
            cands[i] += rows
        self._resolve([kid.entity for rows in cands for kid in rows])
        kids: list[ProcessRow] = []
        seen: set[str] = set()
        for (e, _), rows in zip(mes, cands, strict=True):
            for kid in rows:
                full = self._procs.get(kid.entity)
                if full is not None and full.parent == e and full.entity not in seen:
                    seen.add(full.entity)
                    kids.append(full)
        return sorted(kids, key=lambda r: (r.start_ns, r.entity))

    def exists(self, node_id: str) -> bool:
        if node_id.startswith("process:"):
            return self.process(node_id[8:]) is not None
        ex = self._flows([node_id], 0, 2**62)
        return any(node_id in (f[0], f[1]) for f in ex.flows)

    def describe(self, ids: list[str], sample: int) -> dict[str, Node]:
        if not ids:
            return {}
        ex = self._flows(ids, 0, 2**62)
        flows = list(ex.flows)
        procs = [i[8:] for i in ids if i.startswith("process:")]
        self._resolve(procs)
        for parent, child, start in (self._fork_edges(procs, parents=True)
                                     + self._fork_edges(procs, parents=False)):
            flows.append(("process:" + parent, "process:" + child, "fork", start, 1, 0))
        wanted = set(ids)
        actions: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        events: dict[str, list[tuple[int, str, str, int]]] = defaultdict(list)
        seen_fork: set[tuple[str, str]] = set()
        for src, dst, action, ts, cnt, nbytes in flows:
            if action == "fork":
                if (src, dst) in seen_fork:
                    continue
                seen_fork.add((src, dst))
            for node, other in ((src, dst), (dst, src)):
                if node in wanted:
                    actions[node][action] += cnt
                    events[node].append((ts, action, other, nbytes))
        out: dict[str, Node] = {}
        for i in ids:
            entity = i[8:] if i.startswith("process:") else None
            if entity is not None:
                self.process(entity)
            info = self._info.get(entity) if entity else None
            if i not in actions and info is None:
                continue
            evs = sorted(events.get(i, []), key=lambda e: (e[0], e[1], e[2]))[:sample]
            aliases = [o[5:] for _, a, o, _ in events.get(i, []) if a in _ALIASES]
            proc = None
            if info is not None:
                upd = ex.procs.get(str(entity))
                proc = upd.as_row() if upd is not None else dict(info)
            out[i] = make_node(
                i, proc=proc, execs=sorted(self._execs.get(str(entity), []),
                                           key=lambda e: e["time_ns"]) if entity else [],
                creds=sorted(self._creds.get(str(entity), []), key=lambda c: (
                    c["time_ns"], c["action"], c["before"], c["after"])) if entity else [],
                aliases=aliases, actions=dict(actions.get(i, {})),
                events=[{"time_ns": ts, "action": a,
                         "detail": str(o) + (f" {b} B" if b else "")} for ts, a, o, b in evs],
                sample=sample)
        return out


def _why(exc: Exception) -> str:
    if isinstance(exc, ApiError):
        return f"{exc.status_code} {exc.error}"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
