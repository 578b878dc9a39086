"""Stores the walk runs on: `local` (DuckDB built from the JSON-lines files), `fleet`
(Elasticsearch, queried where the events live)."""
