"""Tracking's periodic work: compacting sealed log segments into the lake."""

from __future__ import annotations

from medreach.tracking import lake


def compact_sealed(state, quiet_seconds: float | None = None) -> int:
    """Write the log segments no process writes to any more into the lake; returns the number of events."""
    log = state.event_log
    return lake.compact(log.sealed_segments(quiet_seconds), state.settings.lake_path, log.compacted_dir)


def compact_now(state) -> int:
    """Seal this process's segment and compact it with every other sealed one, without waiting."""
    state.event_log.seal()
    return compact_sealed(state, quiet_seconds=0)
