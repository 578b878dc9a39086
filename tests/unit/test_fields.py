"""The field registry (fields.py) against the documents the builders make, the Elasticsearch
mapping it replaces, and docs/schema.md."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any

import orjson

from ebpf_monitor import fields
from ebpf_monitor.fields import FIELDS, MAPPINGS, es_properties
from tests.harness import REPO

from . import golden
from .recorded_abi import enum

# Appended, not first: scripts/elasticsearch.py must not shadow the client package.
sys.path.append(str(REPO / "scripts"))
import schema_doc

REGISTRY = {f.name: f for f in FIELDS}
OBJECTS = {f.name for f in FIELDS if f.type == "object"}
NOT_WRITTEN = {"process.parent.name",
               "process.parent.executable", "process.parent.start", "event.dataset",
               "event.module", "host.hostname", "host.id"}
"""Fields of the hand-written mapping that no builder ever wrote."""
PRE_ISSUE_12 = set(fields.EXEC + fields.FORK + fields.EXIT + fields.FILES + fields.SOCKETS
                   + fields.LOSS)
"""The actions of the hand-written mapping's time: fields only later actions write (issue 12)
were never mapped dynamically and take the registry's types (paths: long keywords)."""


def _paths(value: Any, prefix: str = "") -> Iterator[str]:
    """Dotted paths of a document's values (an array is its field; an object field's own keys
    are its business)."""
    if isinstance(value, dict) and prefix.rstrip(".") not in OBJECTS:
        for key, sub in value.items():
            yield from _paths(sub, f"{prefix}{key}.")
    else:
        yield prefix.rstrip(".")


def _written() -> dict[str, set[str]]:
    """Field -> the actions of the golden documents that hold it."""
    out: dict[str, set[str]] = {}
    lines = [line for mode in golden.MODES for line in golden.documents(mode)]
    lines += [line for name in golden.extra_names() for line in golden.extra_documents(name)]
    for line in lines:
        doc = orjson.loads(line)
        for path in _paths(doc):
            out.setdefault(path, set()).add(doc["event"]["action"])
    return out


def _leaves(props: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out = {}
    for key, value in props.items():
        if "properties" in value:
            out.update(_leaves(value["properties"], f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


class TestFieldRegistry:
    """Every field written is registered, every registered field is written, by its actions."""

    def test_builders_write_only_registered_fields(self) -> None:
        """A field in a golden document is in the registry, for that document's action."""
        for path, actions in _written().items():
            assert path in REGISTRY, f"{path} is written but not in fields.py"
            stray = actions - set(REGISTRY[path].actions)
            assert not stray, f"{path} written by {sorted(stray)}, not declared in fields.py"

    def test_registry_holds_only_written_fields(self) -> None:
        """Each registered field is written by some golden document."""
        unwritten = set(REGISTRY) - set(_written())
        assert not unwritten, f"fields.py holds fields nothing writes: {sorted(unwritten)}"

    def test_types_known(self) -> None:
        """Every field's type has a mapping; names are unique."""
        assert len(REGISTRY) == len(FIELDS)
        assert all(f.type in MAPPINGS for f in FIELDS)


    def test_action_families_are_events_h(self) -> None:
        """The registry's action families name every action of events.h once, and its reads
        and writes, socket calls included, are events.h's read/write classes."""
        actions = {k.removeprefix("EA_").lower() for k in enum("event_action")} - {"max"}
        assert sorted(fields.EVENTS) == sorted(actions | {"exit"})
        reads = {k.removeprefix("RWR_").lower() for k in enum("rw_read_action")}
        writes = {k.removeprefix("RWW_").lower() for k in enum("rw_write_action")}
        assert sorted(fields.IO) == sorted(reads | writes)
        assert set(fields.READ) <= reads and set(fields.WRITE) <= writes


class TestElasticsearchMapping:
    """es_properties() is the hand-written mapping, less what nothing wrote, plus what dynamic
    mapping typed alike."""

    def test_same_as_hand_written(self) -> None:
        """Every field the old mapping typed and something writes is typed the same."""
        before = _leaves(json.loads((golden.HERE / "es-properties-before.json").read_text()))
        after = _leaves(es_properties())
        lost = es_properties()["ebpf"]["properties"]["lost"]
        for name, mapping in before.items():
            if name == "ebpf.lost":  # open to new keys as before; its own fields now typed
                assert {k: lost[k] for k in mapping} == mapping
            elif name in NOT_WRITTEN:
                assert name not in after
            else:
                assert after[name] == mapping, name

    def test_additions_are_what_dynamic_mapping_gave(self) -> None:
        """Fields left to dynamic mapping before get the type it gave them (the template's
        strings_as_keyword for strings, long for numbers, boolean)."""
        before = _leaves(json.loads((golden.HERE / "es-properties-before.json").read_text()))
        dynamic = [MAPPINGS["keyword"], MAPPINGS["long"], MAPPINGS["boolean"]]
        for name, mapping in _leaves(es_properties()).items():
            if name not in before and not name.startswith("ebpf.lost.") \
                    and set(REGISTRY[name].actions) & PRE_ISSUE_12:
                assert mapping in dynamic, name
        assert es_properties()["ebpf"]["properties"]["lost"]["dynamic"] is True


class TestSchemaDoc:
    """docs/schema.md's field table is the registry's."""

    def test_schema_md_current(self) -> None:
        """The generated section is what scripts/schema_doc.py would write."""
        page = schema_doc.SCHEMA_MD.read_text()
        assert schema_doc.render(page) == page, "run scripts/schema_doc.py"
