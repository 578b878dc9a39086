"""The index template the Elasticsearch sink installs: field types of the ECS documents.

The properties come from the field registry beside the builders (`fields.py`), so the
mapping, the builders and docs/schema.md state each field once.
"""

from __future__ import annotations

from typing import Any

from ...fields import es_properties

__all__ = ["index_template", "properties"]


def properties() -> dict[str, Any]:
    """The mapping's properties, from the field registry (every field stated once)."""
    return es_properties()


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
