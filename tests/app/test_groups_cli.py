"""`coea groups fit` / `coea groups report` end to end (tiny configs)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from app.cli.groups_cmd import groups

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


def test_a_movielens_dataset_needs_a_path(tmp_path):
    args = ["fit", "--dataset", "ml-100k", "--out", str(tmp_path), "--tiny", "--quiet"]
    result = CliRunner().invoke(groups, args)
    assert result.exit_code == 2 and "--path is required for --dataset ml-100k" in result.output
