"""The one blending rule shared by every exploration method."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from evaluation.blend import BlendConfig, blend


def test_exploration_fills_reserved_slots() -> None:
    base = ["b1", "b2", "b3", "b4", "b5"]
    path = ["e1", "e2", "e3"]
    assert blend(base, path, 5) == ["b1", "e1", "b2", "e2", "b3"]


def test_duplicates_are_skipped_and_runs_out_gracefully() -> None:
    base = ["a", "b", "c", "d"]
    path = ["a", "x"]  # "a" already placed by the base at slot 1
    assert blend(base, path, 4) == ["a", "x", "b", "c"]
    assert blend(base, [], 3) == ["a", "b", "c"]
    assert blend(["a"], ["x", "y"], 4) == ["a", "x", "y"]  # both sources exhausted


def test_custom_slots() -> None:
    cfg = BlendConfig(explore_slots=(1,))
    assert blend(["a", "b"], ["x"], 2, cfg) == ["x", "a"]


names = st.lists(st.sampled_from(list("abcdefghij")), unique=True, max_size=10)


@given(base=names, path=names, k=st.integers(1, 10))
def test_blend_is_distinct_and_prefix_consistent(base, path, k) -> None:
    out = blend(base, path, k)
    assert len(out) == len(set(out)) <= k
    assert set(out) <= set(base) | set(path)
    assert blend(base, path, 10)[:k] == out


def test_path_stats_count_paths_shorter_than_the_exploration_slots_of_the_top_k():
    from evaluation.methods.explorer import path_stats

    paths = {"a": ["x", "y", "z"], "b": ["x"], "c": []}  # "d" has no path at all
    stats = path_stats(paths, ["a", "b", "c", "d"], BlendConfig())  # slots 2 and 4 in the top 5
    assert stats == {"mean_length": 1.0, "empty_share": 0.5, "short_share@5": 0.75}
    one_slot = path_stats(paths, ["a", "b", "c", "d"], BlendConfig((2, 6)))
    assert one_slot["short_share@5"] == 0.5  # only the empty paths miss the one slot
    assert path_stats(paths, [], BlendConfig()) == {}
