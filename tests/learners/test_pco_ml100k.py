"""The ML-100K experiment's pieces end to end on a small slice, through `coea pco run`."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from app.cli.pco_cmd import pco
from learners.pco import artifacts


def test_pco_help_lists_commands():
    result = CliRunner().invoke(pco, ["--help"])
    assert result.exit_code == 0
    assert all(c in result.output for c in ("run", "status", "rollback"))
    assert "KL weight" in CliRunner().invoke(pco, ["run", "--help"]).output


def test_status_and_rollback_explain_missing_runs(tmp_path):
    result = CliRunner().invoke(pco, ["status", "--out", str(tmp_path)])
    assert result.exit_code != 0 and "no complete PCO cycle" in result.output
    result = CliRunner().invoke(pco, ["rollback", "--out", str(tmp_path), "--cycle", "1"])
    assert result.exit_code != 0 and "not a complete cycle" in result.output


@pytest.mark.slow
def test_small_slice_two_cycles_with_and_without_kl(ml100k, tmp_path):
    out, js, png = tmp_path / "run", tmp_path / "r.json", tmp_path / "r.png"
    args = [
        "run", "--path", str(ml100k), "--out", str(out), "--cycles", "2", "--max-users", "100",
        "--dsie-tiny", "--sft-epochs", "1", "--reward-epochs", "1", "--min-samples", "24",
        "--compare-kl", "--json", str(js), "--png", str(png),
    ]  # fmt: skip
    result = CliRunner().invoke(pco, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "with_kl" in result.output and "without_kl" in result.output
    res = json.loads(js.read_text())
    assert set(res["runs"]) == {"with_kl", "without_kl"}
    assert [r["cycle"] for r in res["runs"]["with_kl"]] == [0, 1, 2]
    assert res["stage0"]["reward_heldout_pairs"] > 0 and res["stage0"]["sft_examples"] > 0
    assert res["runs"]["without_kl"][1]["kl_train"] == 0.0
    assert res["runs"]["with_kl"][1]["kl_train"] > 0.0
    assert png.stat().st_size > 10_000
    assert artifacts.complete_cycles(out / "with_kl") == [0, 1, 2]
    status = CliRunner().invoke(pco, ["status", "--out", str(out / "with_kl")])
    assert status.exit_code == 0 and "cycle    2  parent    1" in status.output
