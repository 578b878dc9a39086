"""The index template the Elasticsearch sink installs: field types of the ECS documents.

`properties()` holds the mapping by hand for now; the field registry beside the builders
(issue #10, item 3) is to generate its body, so the mapping, the builders and docs/schema.md
state each field once.
"""

from __future__ import annotations

from typing import Any

__all__ = ["index_template", "properties"]

_LONG_STRING = 8191
"""ignore_above for long keywords: 8191 chars of 4 UTF-8 bytes fit Lucene's 32766-byte term."""


def _kw(*, text: bool = False) -> dict[str, Any]:
    mapping: dict[str, Any] = {"type": "keyword", "ignore_above": _LONG_STRING}
    if text:
        mapping["fields"] = {"text": {"type": "text"}}
    return mapping


_LONG: dict[str, Any] = {"type": "long"}
_KEYWORD: dict[str, Any] = {"type": "keyword", "ignore_above": 1024}
_NANOS: dict[str, Any] = {"type": "date_nanos"}


def properties() -> dict[str, Any]:
    """The `properties` of the template's mapping (a new dict at each call)."""
    return {
        "@timestamp": _NANOS,
        "event": {"properties": {
            name: _KEYWORD
            for name in ("id", "kind", "action", "category", "type", "outcome", "dataset", "module")
        }},
        "host": {"properties": {"name": _KEYWORD, "hostname": _KEYWORD, "id": _KEYWORD}},
        "process": {"properties": {
            "pid": _LONG,
            "thread": {"properties": {"id": _LONG}},
            "name": _KEYWORD,
            "executable": _kw(text=True),
            "args": _kw(),
            "args_count": _LONG,
            "command_line": _kw(text=True),
            "start": _NANOS,
            "entity_id": _KEYWORD,
            "exit_code": _LONG,
            "working_directory": _kw(text=True),
            "parent": {"properties": {
                "pid": _LONG,
                "entity_id": _KEYWORD,
                "name": _KEYWORD,
                "executable": _kw(text=True),
                "start": _NANOS,
            }},
        }},
        "user": {"properties": {"id": _KEYWORD, "name": _KEYWORD}},
        "group": {"properties": {"id": _KEYWORD, "name": _KEYWORD}},
        "file": {"properties": {
            "path": _kw(text=True),
            "target_path": _kw(text=True),
            "name": _KEYWORD,
            "directory": _kw(text=True),
        }},
        "source": {"properties": {"ip": {"type": "ip"}, "port": _LONG}},
        "destination": {"properties": {"ip": {"type": "ip"}, "port": _LONG}},
        "network": {"properties": {
            "transport": _KEYWORD, "type": _KEYWORD, "iana_number": _KEYWORD,
        }},
        "error": {"properties": {"code": _KEYWORD, "message": _kw(text=True)}},
        "ebpf": {"properties": {
            "syscall": _KEYWORD,
            "ret": _LONG,
            "fd": _LONG,
            "flags": _KEYWORD,
            "mode": _LONG,
            "bytes_requested": _LONG,
            "bytes": _LONG,
            "child_pid": _LONG,
            "pid_ns": {"properties": {"pid": _LONG, "tid": _LONG, "ppid": _LONG, "inode": _LONG}},
            "truncated": {"type": "boolean"},
            "socket": {"properties": {"family": _KEYWORD, "type": _KEYWORD, "protocol": _LONG}},
            "lost": {"type": "object", "dynamic": True},  # one long per loss kind
            "raw_path": _kw(),
        }},
    }


def index_template(es_index: str) -> dict[str, Any]:
    """The composable template for `es_index` and its daily indices.

    Priority grows with the prefix length so that two monitors with nested prefixes
    (`ebpf`, `ebpf-events`) do not collide at equal priority.
    """
    return {
        "index_patterns": [f"{es_index}*"],
        "priority": 100 + len(es_index),
        "template": {"mappings": {
            "dynamic": True,
            # Fields we did not foresee: strings as keywords, not text + keyword.
            "dynamic_templates": [{"strings_as_keyword": {
                "match_mapping_type": "string",
                "mapping": {"type": "keyword", "ignore_above": 1024},
            }}],
            "properties": properties(),
        }},
        "_meta": {"managed_by": "ebpf-monitor"},
    }
