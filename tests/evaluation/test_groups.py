"""evaluation.groups: the Figure 3 group check (subset sizes, similarity, report files)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from evaluation.groups import (
    group_report,
    load_users,
    similarity_report,
    subset_size,
    write_report,
)


def _clustered(seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(12, 16)) * 3
    labels = np.repeat(np.arange(12), 20)
    return centres[labels] + rng.normal(size=(240, 16)), labels, rng


def test_subset_size_adapts_to_small_groups():
    assert subset_size([100] * 12, 10, 30) == 30
    assert subset_size([40, 30, 30, 24, 20, 20, 20, 20, 18, 16, 4], 10, 30) == 8
    assert subset_size([5, 3], 10, 30) == 1


def test_similarity_report_separates_clustered_data():
    u, labels, rng = _clustered()
    rep = similarity_report(u, labels, n_pick=10, max_subset=30, seed=0)
    assert rep["subset_size"] == 10 and len(rep["matrix"]) == 20
    assert rep["intra"] > 0.9 and rep["inter"] < 0.5
    shuffled = similarity_report(u, rng.permutation(labels), 10, 30, 0)
    assert shuffled["intra"] - shuffled["inter"] < 0.3  # no structure, no gap


class _Model:
    """What group_report asks of a fitted DSIE: assign (group, cold_start) and embed."""

    def __init__(self, u: np.ndarray, labels: np.ndarray, cold: set[int]):
        self.u, self.labels, self.cold = u, labels, cold

    def assign(self, users):
        return [
            SimpleNamespace(group=int(self.labels[i]), cold_start=i in self.cold) for i in users
        ]

    def embed(self, users):
        return self.u[list(users)]


def test_group_report_leaves_cold_start_users_out():
    u, labels, _ = _clustered()
    users = list(range(len(u)))
    cold = set(range(0, 240, 20))  # one user of each group
    rep = group_report(_Model(u, labels, cold), users, 10, 30, 0)
    warm = [i for i in users if i not in cold]
    assert rep == similarity_report(u[warm], labels[warm], 10, 30, 0)
    assert rep["subset_size"] == 9  # 19 warm users per group


def test_write_report_writes_json_and_heat_map(tmp_path):
    u, labels, _ = _clustered()
    rep = similarity_report(u, labels, 4, 5, 0)
    json_path, png_path = write_report(rep, tmp_path / "out", "ml-100k")
    assert json_path.name == "groups-ml100k.json" and png_path.name == "groups-ml100k.png"
    assert json.loads(json_path.read_text())["intra"] == rep["intra"]
    assert png_path.stat().st_size > 1_000


def test_load_users_of_the_planted_population_and_a_movielens_set(ml100k):
    data = {"synthetic_users": 60, "synthetic_groups": 3, "seed": 0}
    users, item_categories, labels = load_users("synthetic", None, data)
    assert len(users) == 60 and len(labels) == 60 and item_categories
    data = {"tau": 5, "click_threshold": 4.0, "short_k": 10, "mode": "genre"}
    users, item_categories, labels = load_users("ml-100k", str(ml100k), data)
    assert len(users) == 943 and labels is None and len(item_categories) == 1682
    with pytest.raises(ValueError, match="--path is required"):
        load_users("ml-1m", None, data)
