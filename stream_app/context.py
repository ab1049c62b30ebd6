"""Table access on behalf of a given event.

Faust picks a table's local RocksDB partition and changelog partition from the *current*
event. The events agent processes a batch (`Stream.take_events`) and writes each user once per
batch, so it makes each write's own event current. Faust offers no public setter for that:
this module is the one place that touches the private context variable (checked against
faust-streaming 0.15.3 by tests/stream_app/test_context.py).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from faust.streams import _current_event, current_event


@contextmanager
def event_context(event: Any) -> Iterator[None]:
    """Make ``event`` Faust's current event inside the block."""
    token = _current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        _current_event.reset(token)


__all__ = ["current_event", "event_context"]
