"""The fast path of the local index: one chunk of JSON lines turned into flows by DuckDB.

`extract.Extractor` is the definition (the Elasticsearch backend runs it too); this module
computes the same results for one chunk in SQL over `read_ndjson`, where a Python loop over
every line could not reach the issue's index rate. What the Extractor does in file order is
done here with the line number (`rn`):

- process facts: the entity's first line gives host, pid, ppid, start; the last successful
  exec with a non-empty value gives executable, name and user, else the first line (the
  executable: the first line that names one); the last exit gives end and exit code;
- a socket's node is `listen:port` only after a listen/accept on that host (an earlier line
  of the chunk, or the `listening` table);
- a `close` record gives the fd's totals minus what its reads/writes since the last reset
  (the previous close of the same fd and object, or the process's exit) counted, the
  `pending` table standing for the earlier chunks at line 0; what is left uncounted at the
  end of the chunk is the new `pending`.

The path is strict: every field the Extractor reads must have the JSON type it expects
(strings, integers, arrays, objects, a timestamp DuckDB and `parse_time_ns` both read the
same way), else `run` returns None and the caller feeds the chunk through the Extractor,
which counts a line it cannot use as skipped. A line DuckDB cannot parse fails the whole
statement the same way. Known difference: DuckDB's JSON reader also accepts trailing commas
and NaN/Infinity literals that orjson refuses; such a line (no JSON writer makes one) is
indexed here where the Extractor would skip it.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

from ..extract import (
    ACCEPTS,
    CHANGES,
    CREDS,
    EXECS,
    FORKS,
    LINKS,
    MMSGS,
    MOVES,
    OPENS,
    PIPES,
    READS,
    RENAMES,
    SYMLINKS,
    TARGETS,
    UNLINKS,
    WRITES,
)

__all__ = ["run"]

_NULL_PIDNS = re.compile(rb'"pid_ns"\s*:\s*null')
#: What only the Extractor reads (issue #12's kinds, docs/provenance.md): their actions, an
#: io_uring operation (not in `pending`), AF_UNIX socket I/O (nodes by inode), an exec of a
#: memfd or deleted file or a secure one, a memfd's /proc name. A chunk holding any goes to the
#: Extractor (found by bytes: an action name written with JSON escapes, which no JSON writer
#: does, would pass unseen).
_EXTRACTOR_ONLY = re.compile(
    rb'"(?:' + b"|".join(sorted(a.encode() for a in (
        MOVES | MMSGS | PIPES | LINKS | SYMLINKS | CREDS | TARGETS | frozenset(CHANGES)
        | frozenset(("socketpair", "memfd_create", "io_uring", "AF_UNIX", "file_path",
                     "peer_inode", "secure_exec")))))
    + rb')"|"/memfd:|"socket"\s*:\s*\{[^}]*"inode"')


def _in(values: frozenset[str]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in sorted(values)) + ")"


_COLUMNS = (
    "{'@timestamp': 'JSON',"
    " 'event': 'STRUCT(action JSON, outcome JSON, category JSON)',"
    " 'host': 'STRUCT(name JSON)',"
    " 'process': 'STRUCT(pid JSON, name JSON, start JSON, entity_id JSON,"
    " parent STRUCT(pid JSON), executable JSON, args JSON, exit_code JSON)',"
    " 'user': 'STRUCT(id JSON, name JSON, effective STRUCT(id JSON, name JSON))',"
    " 'file': 'STRUCT(path JSON, target_path JSON)',"
    " 'ebpf': 'STRUCT(bytes JSON, fd JSON, flags JSON, child_pid JSON, thread JSON,"
    " pid_ns JSON, io STRUCT(reads JSON, writes JSON, bytes_read JSON, bytes_written JSON))',"
    " 'source': 'STRUCT(port JSON)',"
    " 'destination': 'STRUCT(ip JSON, port JSON)'}")

# The raw rows, in file order (CREATE TABLE AS keeps the scan's order: rowid is the line).
# A leaf read as JSON is its JSON text, so its first character is its type; a JSON null
# reads as SQL NULL, like a missing key.
_READ = f"""
CREATE OR REPLACE TEMP TABLE r AS SELECT "@timestamp"::VARCHAR AS st_j, event IS NULL AS no_event,
  event.action::VARCHAR AS a_j, event.outcome::VARCHAR AS o_j, event.category::VARCHAR AS cat_j,
  host.name::VARCHAR AS h_j, process.pid::VARCHAR AS pid_j, process.name::VARCHAR AS name_j,
  process.start::VARCHAR AS start_j, process.entity_id::VARCHAR AS ent_j,
  process.parent.pid::VARCHAR AS ppid_j, process.executable::VARCHAR AS exe_j,
  process.args AS args_j, process.exit_code::VARCHAR AS code_j, user.id::VARCHAR AS uid_j,
  user.name::VARCHAR AS uname_j, user.effective IS NOT NULL AS eff,
  user.effective.id::VARCHAR AS eid_j, user.effective.name::VARCHAR AS ename_j,
  file.path::VARCHAR AS path_j, file.target_path::VARCHAR AS tp_j,
  ebpf.bytes::VARCHAR AS bytes_j, ebpf.fd::VARCHAR AS fd_j, ebpf.flags AS flags_j,
  ebpf.child_pid::VARCHAR AS child_j, ebpf.thread::VARCHAR AS thread_j,
  ebpf.pid_ns IS NOT NULL AS pidns, ebpf.io.reads::VARCHAR AS io_r_j,
  ebpf.io.writes::VARCHAR AS io_w_j, ebpf.io.bytes_read::VARCHAR AS io_br_j,
  ebpf.io.bytes_written::VARCHAR AS io_bw_j, source.port::VARCHAR AS sport_j,
  destination.ip::VARCHAR AS dip_j, destination.port::VARCHAR AS dport_j
FROM read_ndjson(?, columns={_COLUMNS}, format='newline_delimited')
"""

_TS = r"'[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?Z'"


def _str(col: str) -> str:
    """The text of a JSON string leaf (decoded only when it holds an escape)."""
    return (f"CASE WHEN contains({col}, '\\') THEN ({col}::JSON)->>'$'"
            f" ELSE {col}[2:-2] END")


def _ts_ok(col: str) -> str:
    # strptime in _ts_ns raises on a date that does not exist: the chunk falls back
    return f"(regexp_full_match({col}, '\"' || {_TS} || '\"') AND {col}[2:5] <> '0000')"


def _ts_ns(col: str) -> str:
    """parse_time_ns of a timestamp that passed _ts_ok (its JSON text: quotes, no escape)."""
    return (f"(epoch_ns(strptime({col}[2:20], '%Y-%m-%dT%H:%M:%S'))"
            f" + CASE WHEN length({col}) > 22 THEN rpad({col}[22:-3], 9, '0')::BIGINT"
            " ELSE 0 END)")


def _not_str(col: str) -> str:
    return f"({col} IS NOT NULL AND NOT starts_with({col}, '\"'))"


def _not_int(col: str) -> str:
    """A JSON number that is not an integer (DuckDB's cast would round it; Python's int()
    truncates); a string, bool, array or object fails the cast itself (`_int`)."""
    return f"(contains({col}, '.') OR contains({col}, 'e') OR contains({col}, 'E'))"


def _int(col: str, default: str) -> str:
    return f"coalesce({col}::BIGINT, {default})"


_STR = ("a_j", "o_j", "h_j", "name_j", "ent_j", "exe_j", "uid_j", "uname_j", "eid_j", "ename_j",
        "path_j", "tp_j", "dip_j")
_INT = ("pid_j", "ppid_j", "code_j", "sport_j", "dport_j", "bytes_j", "fd_j", "child_j",
        "io_r_j", "io_w_j", "io_br_j", "io_bw_j")

# Any row for which this holds sends the chunk to the Extractor: a field it reads is not of
# the JSON type it expects (or not as DuckDB and Python would both read it).
_BAD = " OR ".join([
    "no_event", f"NOT coalesce({_ts_ok('st_j')}, false)",
    f"(start_j IS NOT NULL AND NOT coalesce({_ts_ok('start_j')}, false))",
    *(_not_str(c) for c in _STR), *(_not_int(c) for c in _INT),
    "(cat_j IS NOT NULL AND NOT starts_with(cat_j, '['))",
    "(args_j IS NOT NULL AND NOT starts_with(args_j::VARCHAR, '['))",
    "(thread_j IS NOT NULL AND thread_j NOT IN ('true', 'false'))",
    # int(None) of a null fd: the Extractor skips the line (a monitor io line has an fd)
    f"(fd_j IS NULL AND {_str('a_j')} IN {_in(READS | WRITES | frozenset(('close',)))})",
    f"(flags_j IS NOT NULL AND NOT starts_with(flags_j::VARCHAR, '[')"
    f" AND {_str('a_j')} IN {_in(OPENS)})",
])

# Typed rows: y; with the host of the entity's first line (ph), the one the Extractor keeps.
_TYPED = f"""
CREATE OR REPLACE TEMP TABLE y AS
WITH t AS (SELECT rowid + 1 AS rn, {_ts_ns('st_j')} AS ts, {_str('a_j')} AS a,
  {_str('o_j')} AS o,
  coalesce(list_contains((cat_j::JSON)->>'$[*]', 'network'), false) AS net,
  {_str('h_j')} AS h, nullif({_str('ent_j')}, '') AS ent, {_int('pid_j', '0')} AS pid,
  {_int('ppid_j', '0')} AS ppid,
  CASE WHEN start_j IS NOT NULL THEN {_ts_ns('start_j')} END AS start_ns,
  coalesce({_str('name_j')}, '') AS name, coalesce({_str('exe_j')}, '') AS exe,
  coalesce(CAST(args_j AS VARCHAR), '[]') AS args, code_j::BIGINT AS code,
  CASE WHEN coalesce({_str('uname_j')}, '') <> '' THEN {_str('uname_j')}
       WHEN uid_j IS NOT NULL THEN 'uid ' || {_str('uid_j')} ELSE '' END
  || CASE WHEN eff AND eid_j IS NOT NULL
       THEN ' (euid ' || coalesce(nullif({_str('ename_j')}, ''), {_str('eid_j')}) || ')'
       ELSE '' END AS usr,
  nullif({_str('path_j')}, '') AS path, nullif({_str('tp_j')}, '') AS tp,
  {_int('fd_j', '-1')} AS fd, {_int('bytes_j', '0')} AS nbytes,
  coalesce(list_contains(flags_j->>'$[*]', 'O_CREAT'), false) AS ocreat,
  {_int('child_j', '0')} AS child, coalesce(thread_j = 'true', false) AS thread, pidns,
  {_int('io_r_j', '0')} AS io_r, {_int('io_w_j', '0')} AS io_w,
  {_int('io_br_j', '0')} AS io_br, {_int('io_bw_j', '0')} AS io_bw,
  {_int('sport_j', '0')} AS sport, nullif({_str('dip_j')}, '') AS dip,
  dport_j::BIGINT AS dport, ({_BAD}) AS bad FROM r)
SELECT *, first_value(coalesce(h, '')) OVER (PARTITION BY ent ORDER BY rn) AS ph FROM t
"""

_IOS = READS | WRITES
_FLOWS = f"""
CREATE OR REPLACE TEMP TABLE lis AS SELECT host, port, min(rn) AS rn FROM (
  SELECT host, port, 0 AS rn FROM listening
  UNION ALL SELECT ph, sport, rn FROM y WHERE ent IS NOT NULL AND a = 'listen'
    AND o = 'success' AND sport <> 0
  UNION ALL SELECT ph, dport, rn FROM y WHERE ent IS NOT NULL AND a IN {_in(ACCEPTS)}
    AND o = 'success' AND coalesce(dport, 0) <> 0) GROUP BY ALL;
CREATE OR REPLACE TEMP TABLE io AS
SELECT y.rn, y.ts, y.a, y.ent, y.fd, y.net, y.nbytes, y.io_r, y.io_w, y.io_br, y.io_bw,
  CASE WHEN NOT y.net THEN 'file:' || y.path
       WHEN y.sport <> 0 AND l.rn < y.rn THEN 'listen:' || y.sport
       WHEN y.dip IS NOT NULL THEN 'endpoint:' || y.dip || ':' || coalesce(y.dport, 0)
  END AS obj
FROM y LEFT JOIN lis l ON l.host = y.ph AND l.port = y.sport
WHERE y.ent IS NOT NULL AND (y.a IN {_in(_IOS)} OR y.a = 'close');
DELETE FROM io WHERE obj IS NULL;
CREATE OR REPLACE TEMP TABLE stage AS
SELECT 'file:' || exe AS src, 'process:' || ent AS dst, 'exec' AS action, ts, 1::BIGINT AS cnt,
  0::BIGINT AS bytes FROM y
  WHERE ent IS NOT NULL AND a IN {_in(EXECS)} AND o = 'success' AND exe <> ''
UNION ALL SELECT 'process:' || ent, 'file:' || path, 'create', ts, 1, 0 FROM y
  WHERE ent IS NOT NULL AND a IN {_in(OPENS)} AND o = 'success' AND path IS NOT NULL
  AND (a = 'creat' OR ocreat)
UNION ALL SELECT 'file:' || path, 'file:' || tp, 'rename', ts, 1, 0 FROM y
  WHERE ent IS NOT NULL AND a IN {_in(RENAMES)} AND o = 'success' AND path IS NOT NULL
  AND tp IS NOT NULL
UNION ALL SELECT 'process:' || ent, 'file:' || path, 'unlink', ts, 1, 0 FROM y
  WHERE ent IS NOT NULL AND a IN {_in(UNLINKS)} AND o = 'success' AND path IS NOT NULL
UNION ALL SELECT 'process:' || ent, 'endpoint:' || dip || ':' || coalesce(dport, 0),
  'connect', ts, 1, 0 FROM y
  WHERE ent IS NOT NULL AND a = 'connect' AND o IN ('success', 'unknown') AND dip IS NOT NULL
UNION ALL SELECT 'listen:' || dport, 'process:' || ent, 'accept', ts, 1, 0 FROM y
  WHERE ent IS NOT NULL AND a IN {_in(ACCEPTS)} AND o = 'success' AND coalesce(dport, 0) <> 0
UNION ALL SELECT obj, 'process:' || ent, CASE WHEN net THEN 'recv' ELSE 'read' END, ts, 1,
  nbytes FROM io WHERE a IN {_in(READS)}
UNION ALL SELECT 'process:' || ent, obj, CASE WHEN net THEN 'send' ELSE 'write' END, ts, 1,
  nbytes FROM io WHERE a IN {_in(WRITES)};
"""

# The read_write "first" remainder; `seen` rows: this chunk's reads/writes plus the carried
# pending at line 0; a reset is a close of the same (entity, fd, object) or the entity's exit.
_CLOSES = f"""
CREATE OR REPLACE TEMP TABLE seen AS
SELECT rn, ent, fd, obj, CASE WHEN a IN {_in(READS)} THEN 'r' ELSE 'w' END AS dir,
  1::BIGINT AS cnt, nbytes FROM io WHERE a <> 'close'
UNION ALL SELECT 0, entity, fd, obj, dir, cnt, bytes FROM pending;
CREATE OR REPLACE TEMP TABLE resets AS
SELECT rn, ent, fd, obj FROM io WHERE a = 'close'
UNION ALL SELECT rn, ent, NULL, NULL FROM y WHERE ent IS NOT NULL AND a = 'exit';
CREATE OR REPLACE TEMP TABLE closes AS
SELECT c.*, coalesce((SELECT max(x.rn) FROM resets x WHERE x.ent = c.ent AND x.rn < c.rn
  AND ((x.fd = c.fd AND x.obj = c.obj) OR x.fd IS NULL)), -1) AS reset
FROM io c WHERE c.a = 'close';
INSERT INTO stage
SELECT CASE WHEN d.dir = 'r' THEN d.obj ELSE 'process:' || d.ent END,
  CASE WHEN d.dir = 'r' THEN 'process:' || d.ent ELSE d.obj END,
  CASE WHEN d.dir = 'r' AND d.net THEN 'recv' WHEN d.dir = 'r' THEN 'read'
       WHEN d.net THEN 'send' ELSE 'write' END, d.ts, d.n, d.b
FROM (SELECT c.rn, c.ts, c.ent, c.obj, c.net, c.dir,
        greatest(c.calls - coalesce(sum(s.cnt), 0), 0) AS n,
        greatest(c.total - coalesce(sum(s.nbytes), 0), 0) AS b
      FROM (SELECT *, 'r' AS dir, io_r AS calls, io_br AS total FROM closes
            UNION ALL SELECT *, 'w', io_w, io_bw FROM closes) c
      LEFT JOIN seen s ON s.ent = c.ent AND s.fd = c.fd AND s.obj = c.obj AND s.dir = c.dir
        AND s.rn > c.reset AND s.rn < c.rn
      GROUP BY c.rn, c.ts, c.ent, c.obj, c.net, c.dir, c.calls, c.total) d WHERE d.n > 0 OR d.b > 0;
CREATE OR REPLACE TEMP TABLE pending_next AS
SELECT s.ent AS entity, s.fd, s.obj, s.dir, sum(s.cnt) AS cnt, sum(s.nbytes) AS bytes
FROM seen s WHERE s.rn > coalesce((SELECT max(x.rn) FROM resets x WHERE x.ent = s.ent
  AND ((x.fd = s.fd AND x.obj = s.obj) OR x.fd IS NULL)), -1)
GROUP BY s.ent, s.fd, s.obj, s.dir;
"""

_PROCS = f"""
CREATE OR REPLACE TEMP TABLE cprocs AS
WITH f AS (SELECT ent, arg_min(ph, rn) AS host, arg_min(pid, rn) AS pid,
    arg_min(ppid, rn) AS ppid, arg_min(coalesce(start_ns, ts), rn) AS start_ns,
    arg_min(ts, rn) AS first_ns, arg_min(name, rn) AS name0, arg_min(usr, rn) AS usr0,
    arg_min(exe, rn) FILTER (WHERE exe <> '') AS exe0,
    arg_max(exe, rn) FILTER (WHERE a IN {_in(EXECS)} AND o = 'success' AND exe <> '') AS exe1,
    arg_max(name, rn) FILTER (WHERE a IN {_in(EXECS)} AND o = 'success' AND name <> '')
      AS name1,
    arg_max(usr, rn) FILTER (WHERE a IN {_in(EXECS)} AND o = 'success' AND usr <> '') AS usr1,
    arg_max(ts, rn) FILTER (WHERE a = 'exit') AS end_ns,
    max(rn) FILTER (WHERE a = 'exit') AS exit_rn
  FROM y WHERE ent IS NOT NULL GROUP BY ent)
SELECT f.ent AS entity, f.host, f.pid, f.ppid, f.start_ns, f.first_ns,
  coalesce(f.name1, f.name0) AS name, coalesce(f.exe1, f.exe0, '') AS executable,
  coalesce(f.usr1, f.usr0) AS user_name, f.end_ns, x.code AS exit_code
FROM f LEFT JOIN y x ON x.rn = f.exit_rn;
CREATE OR REPLACE TEMP TABLE cexecs AS SELECT ent, ts, exe, args, usr FROM y
  WHERE ent IS NOT NULL AND a IN {_in(EXECS)} AND o = 'success' ORDER BY rn;
CREATE OR REPLACE TEMP TABLE cforks AS SELECT ent, ph, child, ts, NULL::VARCHAR AS c FROM y
  WHERE ent IS NOT NULL AND a IN {_in(FORKS)} AND child <> 0 AND NOT thread AND NOT pidns
  ORDER BY rn;
"""


def run(con: duckdb.DuckDBPyConnection, lines_file: Path, data: bytes) -> int | None:
    """Derive the chunk's flows (temp table `stage`), processes (`cprocs`), execs, forks,
    new listening ports (`lis`) and the next `pending` (`pending_next`) from the JSON lines
    in `lines_file` (`data`: the same bytes); the number of documents, or None when the
    chunk needs the Extractor."""
    if b'"pid_ns"' in data and _NULL_PIDNS.search(data):
        return None  # present but null: no fork record for the Extractor, absent for DuckDB
    if _EXTRACTOR_ONLY.search(data):
        return None
    try:
        con.execute(_READ, [str(lines_file)])
        con.execute(_TYPED)
    except duckdb.Error:  # a line DuckDB cannot parse or cast: the Extractor decides
        return None
    bad = con.execute("SELECT count(*) FILTER (WHERE bad), count(*) FROM y").fetchone()
    if bad is None or bad[0]:
        return None
    con.execute(_FLOWS)
    con.execute(_CLOSES)
    con.execute(_PROCS)
    return int(bad[1])
