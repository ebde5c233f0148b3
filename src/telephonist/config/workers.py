"""How many worker processes ``telephonist run`` serves its port from: the ``workers`` key of
the ``twilio_media_streams`` block, or ``--workers`` (which wins).

One process uses one core at most (Python runs one thread of it at a time), so a server on
a machine with more cores takes more calls with more workers. ``auto`` is one per core this
process may run on.
"""

from __future__ import annotations

import os
from typing import Any

from telephonist.errors import ConfigError

__all__ = ["MAX_WORKERS", "available_cores", "parse_workers"]

MAX_WORKERS = 256


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity, as a container sets it)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def parse_workers(value: Any, *, file: str, key: str) -> int | None:
    """A number of workers from a whole number or ``auto`` (None when absent)."""
    if value is None:
        return None
    if isinstance(value, str) and value.strip().lower() == "auto":
        return available_cores()
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_WORKERS:
        raise ConfigError(
            f"must be auto or a whole number from 1 to {MAX_WORKERS}", file=file, key=key
        )
    return value
