"""`coea groups fit` / `coea groups report` end to end (tiny configs)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from app.cli.groups_cmd import groups, similarity_report, subset_size

pytestmark = pytest.mark.slow  # each test fits a small DSIE


def _run(args: list[str]) -> str:
    result = CliRunner().invoke(groups, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_fit_and_report_on_synthetic(tmp_path):
    art, rep = tmp_path / "artifact", tmp_path / "report"
    fit_args = ["fit", "--dataset", "synthetic", "--out", str(art), "--tiny", "--quiet"]
    out = _run(fit_args + ["--synthetic-users", "300", "--synthetic-groups", "6", "--groups", "6"])
    assert "reconstruction loss" in out and "code usage per level" in out
    assert (art / "manifest.json").is_file() and (art / "summary.json").is_file()
    out = _run(["report", "--artifact", str(art), "--dataset", "synthetic", "--out", str(rep)])
    report = json.loads((rep / "groups-synthetic.json").read_text())
    assert report["intra"] > report["inter"] + 0.1, report
    assert len(report["matrix"]) == 2 * len(report["groups"]) == 12  # only 6 groups exist
    assert (rep / "groups-synthetic.png").stat().st_size > 10_000


def test_fit_and_report_on_ml100k(ml100k, tmp_path):
    art, rep = tmp_path / "artifact", tmp_path / "report"
    data = ["--dataset", "ml-100k", "--path", str(ml100k)]
    _run(["fit", *data, "--out", str(art), "--tiny", "--quiet", "--groups", "20", "--epochs", "4"])
    _run(["report", "--artifact", str(art), *data, "--out", str(rep)])
    report = json.loads((rep / "groups-ml100k.json").read_text())
    assert len(report["groups"]) == 10 and report["intra"] > report["inter"], report


def test_subset_size_adapts_to_small_groups():
    assert subset_size([100] * 12, 10, 30) == 30
    assert subset_size([40, 30, 30, 24, 20, 20, 20, 20, 18, 16, 4], 10, 30) == 8
    assert subset_size([5, 3], 10, 30) == 1


def test_similarity_report_separates_clustered_data():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(12, 16)) * 3
    labels = np.repeat(np.arange(12), 20)
    u = centres[labels] + rng.normal(size=(240, 16))
    rep = similarity_report(u, labels, n_pick=10, max_subset=30, seed=0)
    assert rep["subset_size"] == 10 and len(rep["matrix"]) == 20
    assert rep["intra"] > 0.9 and rep["inter"] < 0.5
    shuffled = similarity_report(u, rng.permutation(labels), 10, 30, 0)
    assert shuffled["intra"] - shuffled["inter"] < 0.3  # no structure, no gap
