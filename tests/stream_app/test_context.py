"""The one private Faust API the agents use (stream_app.context), checked on the pinned Faust."""

from __future__ import annotations

from stream_app.context import current_event, event_context


class FakeEvent:
    """Any object: Faust keeps a weak reference to the current event."""


def test_event_context_sets_and_restores_faust_current_event():
    outer, inner = FakeEvent(), FakeEvent()
    assert current_event() is None
    with event_context(outer):
        assert current_event() is outer
        with event_context(inner):
            assert current_event() is inner
        assert current_event() is outer
    assert current_event() is None
