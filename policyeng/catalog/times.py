"""Times and ages of catalog copies, as every warning and report words them."""

from __future__ import annotations

from datetime import datetime, timezone


def describe_age(seconds: float) -> str:
    """An age for people: ``42 s``, ``12 min``, ``3 h 5 min``, ``4 days``."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 2 * 86400:
        hours, minutes = divmod(seconds // 60, 60)
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{seconds // 86400} days"


def iso_time(timestamp: float) -> str:
    """A fetch time as the catalog reports it: UTC, ISO 8601, to the second."""
    return datetime.fromtimestamp(timestamp, timezone.utc).isoformat(timespec="seconds")


def age_of(fetched_at: str | None) -> float:
    """Seconds since an ISO date or timestamp (a bare date counts from its midnight, UTC)."""
    if not fetched_at:
        return 0.0
    when = datetime.fromisoformat(fetched_at)
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return (datetime.now(timezone.utc) - when).total_seconds()
