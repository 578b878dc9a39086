"""Provenance analysis over recorded events: graph model, backends, time-respecting queries."""
