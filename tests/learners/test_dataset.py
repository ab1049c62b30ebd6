"""D_k accumulation from training windows."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from coea.schemas import TrainingWindow
from learners.dataset import WindowStore


def _tw(user="u1", wid=0, pos=("A",), neg=("B",), short=("A", "C")):
    return TrainingWindow(
        window_id=wid,
        user_id=user,
        long_items=["i1"],
        long_categories=["A"],
        short_categories=list(short),
        short_set=list(dict.fromkeys(short)),
        positives=list(pos),
        negatives=list(neg),
        ts_start=0,
        ts_end=1,
    )


def test_latest_sequences_win_and_feedback_accumulates():
    store = WindowStore()
    assert store.add(_tw(wid=0, pos=("A",), neg=("B", "C")))
    assert not store.add(_tw(user="u2", wid=0))
    assert store.add(_tw(wid=1, pos=("C",), neg=("D",), short=("C", "A")))
    u = store.users["u1"]
    assert u.short_categories == ["C", "A"] and u.windows == 2 and u.last_window == 1
    assert u.positives == ["A", "C"]
    assert u.negatives == ["B", "D"]  # C was clicked later: no longer a negative
    assert store.records == 3 and store.window_ids == {0, 1}


def test_active_since():
    store = WindowStore()
    store.add(_tw(user="a", wid=0))
    store.add(_tw(user="b", wid=3))
    assert [u.user_id for u in store.active_since(1)] == ["b"]


def test_users_idle_past_the_horizon_are_forgotten():
    store = WindowStore()
    for user, wid in (("old", 0), ("mid", 5), ("new", 10)):
        store.add(_tw(user=user, wid=wid))
    assert store.evict_idle(0) == 0 and len(store.users) == 3  # 0: keep everyone
    assert store.evict_idle(5) == 1  # newest window 10: "old" (0) is idle past 5 windows
    assert sorted(store.users) == ["mid", "new"]
    assert store.evict_idle(5) == 0  # "mid" (5) is exactly at the horizon and stays
    store.add(_tw(user="old", wid=11))  # a forgotten user who comes back starts afresh
    assert store.users["old"].windows == 1


@given(
    st.lists(
        st.tuples(
            st.sampled_from("abc"),
            st.integers(0, 5),
            st.lists(st.sampled_from("PQRSTU"), max_size=4),
            st.lists(st.sampled_from("PQRSTU"), max_size=4),
        ),
        max_size=30,
    )
)
def test_snapshot_round_trip_and_caps(events):
    store = WindowStore(cap=3)
    for user, wid, pos, neg in events:
        store.add(_tw(user=user, wid=wid, pos=pos, neg=neg))
    again = WindowStore.from_json(store.to_json())
    assert again == store
    for u in store.users.values():
        assert len(u.negatives) <= 3 and len(u.positives) <= 3
        assert len(set(u.negatives)) == len(u.negatives)


def test_a_re_sent_window_is_skipped():
    store = WindowStore()
    assert store.add(_tw(wid=0, pos=("A",)))
    assert not store.add(_tw(wid=0, pos=("A",)))  # the stream re-sent it after a crash
    assert store.records == 1 and store.duplicates == 1 and store.users["u1"].windows == 1
